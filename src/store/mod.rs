//! The on-disk store: blobs named by blake3 digest, the action cache, the stat cache, the lock
//! file and build history. Every write is atomic; nothing half-written is ever recorded.

pub mod behind;
pub mod cas;
pub mod digest;
pub mod fsutil;
pub mod history;
pub mod lockfile;
pub mod remote;
pub mod remote_url;
pub mod signing;
pub mod stat;

pub use cas::{ActionEntry, BlobAt, BlobError, BlobWriter, Store};
pub use digest::Digest;
pub use lockfile::{LockEntry, LockFile};
pub use remote::{Remote, RemoteError, RemoteOptions};
pub use stat::StatCache;

/// A destination written in pieces that can drop what it was given and start again (a blob
/// copy found corrupt halfway is replaced by bytes made again).
pub trait Rewritable: std::io::Write {
    fn restart(&mut self) -> std::io::Result<()>;
}

impl Rewritable for BlobWriter {
    fn restart(&mut self) -> std::io::Result<()> {
        BlobWriter::restart(self)
    }
}

impl Rewritable for fsutil::TempFile {
    fn restart(&mut self) -> std::io::Result<()> {
        fsutil::TempFile::restart(self)
    }
}
