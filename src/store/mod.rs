//! The on-disk store: blobs named by blake3 digest, the action cache, the stat cache, the lock
//! file and build history. Every write is atomic; nothing half-written is ever recorded.

pub mod cas;
pub mod digest;
pub mod fsutil;
pub mod history;
pub mod lockfile;
pub mod remote;
pub mod remote_url;
pub mod signing;
pub mod stat;

pub use cas::{ActionEntry, BlobError, BlobWriter, Store};
pub use digest::Digest;
pub use lockfile::{LockEntry, LockFile};
pub use remote::{Remote, RemoteError, RemoteOptions};
pub use stat::StatCache;
