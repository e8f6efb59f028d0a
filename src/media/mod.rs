//! Media I/O (layer 3): encoding and decoding the formats users' tools read.

pub mod analyze;
pub mod decode;
pub mod font;
pub mod npz;
pub mod plot;
pub mod wav;
pub mod wav_lenient;
pub mod zip;
