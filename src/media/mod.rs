//! Media I/O (layer 3): encoding and decoding the formats users' tools read.

pub mod wav;
pub mod zip;
