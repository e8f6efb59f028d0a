//! The content-addressed blob store and the action cache under the project's cache dir.
//!
//! Layout: `cas/ab/<digest>` blobs, `actions/ab/<key>.json` action entries,
//! `quarantine/` for blobs found corrupt, `tmp/` never used for finished data.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::digest::Digest;
use super::fsutil::write_atomic_via;

/// Why a blob could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob {0} is missing from the store")]
    Missing(Digest),
    #[error("blob {0} is corrupt (its bytes hash to {1}); moved to quarantine")]
    Corrupt(Digest, Digest),
    #[error("reading blob {0}: {1}")]
    Io(Digest, io::Error),
}

/// What the action cache remembers about one unit of work.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ActionEntry {
    /// The canonical description the key was hashed from (for `explain` and debugging).
    pub desc: serde_json::Value,
    /// The one blob this action produced.
    pub output: Digest,
    pub size: u64,
    /// Blobs this action read (kept alive by `gc` while the action is referenced).
    pub inputs: Vec<Digest>,
    /// Blobs of sub-artifacts its computation read beyond its key's inputs (a video's
    /// segments): not part of the key, but what it was built from, so `gc` keeps them too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<Digest>,
}

/// Handle on a project's store. Cheap to clone; all methods are safe to call from many
/// threads and processes at once (every write is atomic and content-named).
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

fn shard(dir: &Path, hex: &str, suffix: &str) -> PathBuf {
    dir.join(&hex[..2]).join(format!("{hex}{suffix}"))
}

impl Store {
    pub fn open(root: &Path) -> io::Result<Store> {
        fs::create_dir_all(root.join("cas"))?;
        fs::create_dir_all(root.join("actions"))?;
        Ok(Store { root: root.to_path_buf() })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where blobs and action entries are written before being renamed into place (and other
    /// temporary files of a render live; swept at start-up).
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    pub fn blob_path(&self, d: &Digest) -> PathBuf {
        shard(&self.root.join("cas"), &d.hex(), "")
    }

    /// Where the entry of action `key` lives.
    pub fn action_path(&self, key: &Digest) -> PathBuf {
        shard(&self.root.join("actions"), &key.hex(), ".json")
    }

    /// Store `bytes`, returning their digest. A blob already present is not rewritten.
    pub fn put(&self, bytes: &[u8]) -> io::Result<Digest> {
        let d = Digest::of(bytes);
        let path = self.blob_path(&d);
        match fs::metadata(&path) {
            Ok(m) if m.len() == bytes.len() as u64 => {}
            _ => write_atomic_via(&self.tmp_dir(), &path, bytes)?,
        }
        Ok(d)
    }

    /// Whether a blob of the right size is present (no hashing).
    pub fn has(&self, d: &Digest, size: u64) -> bool {
        fs::metadata(self.blob_path(d)).is_ok_and(|m| m.len() == size)
    }

    /// Read a blob and verify its hash. A corrupt blob is moved to quarantine so that the
    /// next lookup treats it as missing and the work is redone.
    pub fn read(&self, d: &Digest) -> Result<Vec<u8>, BlobError> {
        let path = self.blob_path(d);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(BlobError::Missing(*d)),
            Err(e) => return Err(BlobError::Io(*d, e)),
        };
        let actual = Digest::of(&bytes);
        if actual != *d {
            self.quarantine(d);
            return Err(BlobError::Corrupt(*d, actual));
        }
        Ok(bytes)
    }

    /// Mark a blob as used now (its modification time, which `gc --max-size` drops the oldest
    /// of first). Only a blob not marked within the last hour is touched, so a no-op render
    /// writes nothing; a blob that is gone is no error.
    pub fn touch(&self, d: &Digest) {
        const RECENT: std::time::Duration = std::time::Duration::from_secs(3600);
        let path = self.blob_path(d);
        let now = std::time::SystemTime::now();
        let stale = fs::metadata(&path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age > RECENT));
        if stale && let Ok(f) = File::open(&path) {
            let _ = f.set_modified(now);
        }
    }

    /// Move a blob out of the way (into `quarantine/`), keeping it for inspection.
    pub fn quarantine(&self, d: &Digest) {
        let q = self.root.join("quarantine");
        let _ = fs::create_dir_all(&q);
        let _ = fs::rename(self.blob_path(d), q.join(d.hex()));
    }

    pub fn action(&self, key: &Digest) -> Option<ActionEntry> {
        let bytes = fs::read(self.action_path(key)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// What an action produced (digest and size), without parsing its description: the
    /// look-up every cached artifact does on every render.
    pub fn action_output(&self, key: &Digest) -> Option<(Digest, u64)> {
        #[derive(Deserialize)]
        struct Output {
            output: Digest,
            size: u64,
        }
        let bytes = fs::read(self.action_path(key)).ok()?;
        serde_json::from_slice::<Output>(&bytes).ok().map(|o| (o.output, o.size))
    }

    pub fn put_action(&self, key: &Digest, entry: &ActionEntry) -> io::Result<()> {
        let bytes = serde_json::to_vec_pretty(entry).map_err(io::Error::other)?;
        write_atomic_via(&self.tmp_dir(), &self.action_path(key), &bytes)
    }

    pub fn remove_action(&self, key: &Digest) {
        let _ = fs::remove_file(self.action_path(key));
    }

    /// Every blob digest in the store with its size and modification time.
    pub fn blobs(&self) -> io::Result<Vec<(Digest, u64, std::time::SystemTime)>> {
        let mut out = Vec::new();
        for (name, meta) in walk_files(&self.root.join("cas"))? {
            if let Some(d) = Digest::from_hex(&name) {
                out.push((d, meta.len(), meta.modified().unwrap_or(std::time::UNIX_EPOCH)));
            }
        }
        out.sort_by_key(|b| b.0);
        Ok(out)
    }

    /// Every action key in the store.
    pub fn action_keys(&self) -> io::Result<Vec<Digest>> {
        let mut out: Vec<Digest> = walk_files(&self.root.join("actions"))?
            .into_iter()
            .filter_map(|(name, _)| Digest::from_hex(name.strip_suffix(".json")?))
            .collect();
        out.sort();
        Ok(out)
    }

    pub fn remove_blob(&self, d: &Digest) -> io::Result<()> {
        fs::remove_file(self.blob_path(d))
    }

    /// Take the project's build lock, waiting for another process that holds it.
    /// Returns the lock and whether we had to wait.
    pub fn lock_build(&self) -> io::Result<(BuildLock, bool)> {
        let path = self.root.join("build.lock");
        let file = File::options().create(true).truncate(false).write(true).open(path)?;
        let waited = match file.try_lock() {
            Ok(()) => false,
            Err(fs::TryLockError::WouldBlock) => {
                file.lock()?;
                true
            }
            Err(fs::TryLockError::Error(e)) => return Err(e),
        };
        Ok((BuildLock { _file: file }, waited))
    }

    /// Remove temp files left by killed processes: blobs and action entries are written through
    /// `tmp/`, caches and history beside themselves, so three listings find them all.
    pub fn sweep_temp_files(&self) -> usize {
        [self.root.clone(), self.root.join("history"), self.tmp_dir()].iter().map(|d| super::fsutil::sweep_dir(d)).sum()
    }
}

/// Held while a process builds; released when dropped or when the process dies.
#[derive(Debug)]
pub struct BuildLock {
    _file: File,
}

fn walk_paths(dir: &Path) -> io::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let Ok(shards) = fs::read_dir(dir) else { return Ok(out) };
    for shard in shards {
        let shard = shard?;
        if !shard.file_type()?.is_dir() {
            continue;
        }
        for entry in fs::read_dir(shard.path())? {
            let entry = entry?;
            out.push((entry.file_name().to_string_lossy().into_owned(), entry.path()));
        }
    }
    Ok(out)
}

fn walk_files(dir: &Path) -> io::Result<Vec<(String, fs::Metadata)>> {
    let mut out = Vec::new();
    for (name, path) in walk_paths(dir)? {
        if let Ok(meta) = fs::metadata(&path)
            && meta.is_file()
        {
            out.push((name, meta));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_read_and_corruption_is_quarantined() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let d = store.put(b"hello").unwrap();
        assert!(store.has(&d, 5));
        assert_eq!(store.read(&d).unwrap(), b"hello");
        fs::write(store.blob_path(&d), b"jello").unwrap();
        assert!(matches!(store.read(&d), Err(BlobError::Corrupt(..))));
        assert!(matches!(store.read(&d), Err(BlobError::Missing(_))));
        assert!(dir.path().join("quarantine").join(d.hex()).exists());
    }
}
