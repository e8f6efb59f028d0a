//! The stat cache: path → (size, mtime, ctime, inode) → digest, so a no-op run hashes nothing.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::digest::Digest;
use super::fsutil::replace_file;
use crate::media::stamp::FileStamp;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    stamp: FileStamp,
    digest: Digest,
}

/// Remembers the digest of files by their stat stamp. Shared by threads; saved at the end
/// of a run. Entries are only hints: a stamp mismatch means "hash it again".
#[derive(Debug, Default)]
pub struct StatCache {
    path: PathBuf,
    entries: Mutex<BTreeMap<PathBuf, Entry>>,
    dirty: Mutex<bool>,
}

impl StatCache {
    pub fn load(path: &Path) -> StatCache {
        let entries = fs::read(path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
        StatCache { path: path.to_path_buf(), entries: Mutex::new(entries), dirty: Mutex::new(false) }
    }

    /// The digest of `file`, from the cache when its stamp is unchanged, else by hashing it.
    /// `Ok(None)` when the file does not exist.
    pub fn digest(&self, file: &Path) -> io::Result<Option<Digest>> {
        let meta = match fs::metadata(file) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let stamp = FileStamp::of(&meta);
        if let Some(e) = self.lock_entries().get(file)
            && e.stamp == stamp
        {
            return Ok(Some(e.digest));
        }
        let digest = Digest::of_file(file)?;
        self.record(file, stamp, digest);
        Ok(Some(digest))
    }

    /// Whether `stamp` (of `file`, e.g. as opened) is the file this cache last hashed to `digest`:
    /// same size, times and inode. A caller reading the open file later then reads that content.
    pub fn vouches(&self, file: &Path, stamp: &FileStamp, digest: &Digest) -> bool {
        self.lock_entries().get(file).is_some_and(|e| e.stamp == *stamp && e.digest == *digest)
    }

    /// Record that `file` (just written by us) has `digest`.
    pub fn record_written(&self, file: &Path, digest: Digest) -> io::Result<()> {
        let stamp = FileStamp::of(&fs::metadata(file)?);
        self.record(file, stamp, digest);
        Ok(())
    }

    fn record(&self, file: &Path, stamp: FileStamp, digest: Digest) {
        self.lock_entries().insert(file.to_path_buf(), Entry { stamp, digest });
        *self.dirty.lock().unwrap_or_else(|e| e.into_inner()) = true;
    }

    fn lock_entries(&self) -> std::sync::MutexGuard<'_, BTreeMap<PathBuf, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Write the cache back if anything changed.
    pub fn save(&self) -> io::Result<()> {
        let mut dirty = self.dirty.lock().unwrap_or_else(|e| e.into_inner());
        if !*dirty {
            return Ok(());
        }
        let entries = self.lock_entries();
        // Drop entries for files that no longer exist, so the cache does not grow forever.
        let live: BTreeMap<_, _> =
            entries.iter().filter(|(p, _)| p.exists()).map(|(p, e)| (p.clone(), e.clone())).collect();
        let bytes = serde_json::to_vec(&live).map_err(io::Error::other)?;
        replace_file(&self.path, &bytes)?;
        *dirty = false;
        Ok(())
    }
}
