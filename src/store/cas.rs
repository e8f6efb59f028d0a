//! The content-addressed blob store and the action cache under the project's cache dir.
//!
//! Layout: `cas/ab/<digest>` blobs, `actions/ab/<key>.json` action entries,
//! `quarantine/` for blobs found corrupt, `tmp/` never used for finished data.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::behind::{Entry, Waiting};
use super::digest::Digest;
use super::fsutil::{Durability, TempFile, write_via};

/// Why a blob could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob {0} is missing from the store")]
    Missing(Digest),
    #[error("blob {0} is corrupt (its bytes hash to {1}); moved to quarantine")]
    Corrupt(Digest, Digest),
    #[error("reading blob {0}: {1}")]
    Io(Digest, io::Error),
    #[error("copying blob {0}: {1}")]
    Write(Digest, io::Error),
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

/// Where a blob can be read: see [`Store::blob_at`].
#[allow(clippy::rc_buffer)] // the waiting blob's own bytes, shared, not copied
pub enum BlobAt {
    /// In memory, while the blob is being synced and named.
    Held(Arc<Vec<u8>>),
    /// Its file in the store (which may be missing).
    File(PathBuf),
}

/// Handle on a project's store. Cheap to clone; all methods are safe to call from many
/// threads and processes at once (every write is atomic and content-named).
#[derive(Clone)]
pub struct Store {
    root: PathBuf,
    /// Blobs of [`Store::put_behind`] written but not yet named (shared by the clones).
    waiting: Arc<Waiting>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("root", &self.root).finish_non_exhaustive()
    }
}

fn shard(dir: &Path, hex: &str, suffix: &str) -> PathBuf {
    dir.join(&hex[..2]).join(format!("{hex}{suffix}"))
}

impl Store {
    pub fn open(root: &Path) -> io::Result<Store> {
        fs::create_dir_all(root.join("cas"))?;
        fs::create_dir_all(root.join("actions"))?;
        Ok(Store { root: root.to_path_buf(), waiting: Arc::default() })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where blobs and action entries are written before being renamed into place (and other
    /// temporary files of a render live; swept at start-up).
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Where blob `d` lies once named. A blob of [`Store::put_behind`] may not be there yet:
    /// a reader of the file itself asks [`Store::named_path`].
    pub fn blob_path(&self, d: &Digest) -> PathBuf {
        shard(&self.root.join("cas"), &d.hex(), "")
    }

    /// Where blob `d` can be read in part: its bytes while it waits to be named (see
    /// [`Store::put_behind`]), rather than waiting for its file; else its file.
    pub fn blob_at(&self, d: &Digest) -> BlobAt {
        match self.waiting.get(d) {
            Some(bytes) => BlobAt::Held(bytes),
            None => BlobAt::File(self.named_path(d)),
        }
    }

    /// [`Store::blob_path`], after waiting for the blob to be named if it is being synced.
    pub fn named_path(&self, d: &Digest) -> PathBuf {
        self.waiting.settle(d);
        self.blob_path(d)
    }

    /// Where the entry of action `key` lives.
    pub fn action_path(&self, key: &Digest) -> PathBuf {
        shard(&self.root.join("actions"), &key.hex(), ".json")
    }

    /// Store `bytes`, returning their digest. A blob already present is not rewritten.
    pub fn put(&self, bytes: &[u8]) -> io::Result<Digest> {
        let d = Digest::of(bytes);
        // The same blob being named behind: its file is whole once that is done.
        self.waiting.settle(&d);
        let path = self.blob_path(&d);
        match fs::metadata(&path) {
            Ok(m) if m.len() == bytes.len() as u64 => {}
            _ => write_via(&self.tmp_dir(), &path, bytes, Durability::Data)?,
        }
        Ok(d)
    }

    /// Store `bytes` as [`Store::put`] does, leaving the sync and the naming to a background
    /// thread (see [`super::behind`]): the caller goes on at once. Until it is named the blob
    /// is read from memory ([`Store::read`], [`Store::copy_blob`], [`Store::has`]); a blob too
    /// large to hold, or past what may wait, is synced here. [`Store::settle_all`] waits for
    /// every one; one that could not be named is missing afterwards (a cache miss) and reported
    /// by [`Store::take_unnamed`].
    pub fn put_behind(&self, bytes: Vec<u8>) -> io::Result<Digest> {
        let d = Digest::of(&bytes);
        let path = self.blob_path(&d);
        if fs::metadata(&path).is_ok_and(|m| m.len() == bytes.len() as u64) {
            return Ok(d);
        }
        let bytes = Arc::new(bytes);
        match self.waiting.enter(d, &bytes) {
            Entry::AlreadyWaiting => Ok(d),
            Entry::SyncNow => write_via(&self.tmp_dir(), &path, &bytes, Durability::Data).map(|()| d),
            Entry::Entered => match super::behind::written(&self.tmp_dir(), &path, &bytes) {
                Ok(file) => {
                    self.waiting.name_later(d, file, path);
                    Ok(d)
                }
                Err(e) => {
                    self.waiting.leave(&d, None);
                    Err(e)
                }
            },
        }
    }

    /// Wait until every blob of [`Store::put_behind`] is named (or given up).
    pub fn settle_all(&self) {
        self.waiting.settle_all();
    }

    /// The blobs of [`Store::put_behind`] that could not be synced or named since last asked
    /// (`path: why`): they are missing, so their work is done again next time.
    pub fn take_unnamed(&self) -> Vec<String> {
        self.waiting.take_failures()
    }

    /// A blob written piece by piece (an output too large to hold): hashed as it is written,
    /// stored under its digest by [`BlobWriter::finish`]. Nothing is stored if it is dropped.
    pub fn writer(&self) -> BlobWriter {
        BlobWriter { store: self.clone(), file: None, hasher: blake3::Hasher::new(), size: 0 }
    }

    /// Copy a blob into `out`, verifying its hash on the way; returns its size. A corrupt blob
    /// is quarantined (as by [`Store::read`]) after `out` received its bytes: a caller writing
    /// somewhere that matters writes to a temp file and keeps it only on `Ok`.
    pub fn copy_blob(&self, d: &Digest, out: &mut dyn io::Write) -> Result<u64, BlobError> {
        if let Some(bytes) = self.waiting.get(d) {
            out.write_all(&bytes).map_err(|e| BlobError::Write(*d, e))?;
            return Ok(bytes.len() as u64);
        }
        let mut file = match File::open(self.blob_path(d)) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(BlobError::Missing(*d)),
            Err(e) => return Err(BlobError::Io(*d, e)),
        };
        let mut hasher = blake3::Hasher::new();
        // Pieces of at most 1 MiB; a smaller blob gets a buffer about its own size (zeroing and
        // mapping a whole MiB for every small file cost more than copying it). The loop reads
        // until the end whatever the size says.
        let len = file.metadata().map_or(1 << 20, |m| m.len());
        let mut buf = vec![0u8; len.clamp(1 << 12, 1 << 20) as usize];
        let mut size = 0u64;
        loop {
            let n = match io::Read::read(&mut file, &mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(BlobError::Io(*d, e)),
            };
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(|e| BlobError::Write(*d, e))?;
            size += n as u64;
        }
        let actual = Digest(*hasher.finalize().as_bytes());
        if actual != *d {
            self.quarantine(d);
            return Err(BlobError::Corrupt(*d, actual));
        }
        Ok(size)
    }

    /// Whether a blob of the right size is present (no hashing).
    pub fn has(&self, d: &Digest, size: u64) -> bool {
        if let Some(bytes) = self.waiting.get(d) {
            return bytes.len() as u64 == size;
        }
        fs::metadata(self.blob_path(d)).is_ok_and(|m| m.len() == size)
    }

    /// Read a blob and verify its hash. A corrupt blob is moved to quarantine so that the
    /// next lookup treats it as missing and the work is redone.
    pub fn read(&self, d: &Digest) -> Result<Vec<u8>, BlobError> {
        if let Some(bytes) = self.waiting.get(d) {
            return Ok(bytes.to_vec());
        }
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
        // Not synced: an entry a crash tore does not parse, and one whose blob was lost names a
        // blob `has` does not find; either is a miss.
        write_via(&self.tmp_dir(), &self.action_path(key), &bytes, Durability::Volatile)
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

/// A blob being written: see [`Store::writer`]. The temp file is made at the first write.
pub struct BlobWriter {
    store: Store,
    file: Option<TempFile>,
    hasher: blake3::Hasher,
    size: u64,
}

impl BlobWriter {
    fn file(&mut self) -> io::Result<&mut TempFile> {
        if self.file.is_none() {
            self.file = Some(TempFile::create(Path::new("blob"), Some(&self.store.tmp_dir()))?);
        }
        Ok(self.file.as_mut().expect("just made"))
    }

    /// The digest of what was written so far.
    pub fn digest(&self) -> Digest {
        Digest(*self.hasher.finalize().as_bytes())
    }

    /// Drop what was written and start again.
    pub fn restart(&mut self) -> io::Result<()> {
        if let Some(file) = &mut self.file {
            file.restart()?;
        }
        self.hasher.reset();
        self.size = 0;
        Ok(())
    }

    /// Store what was written under its digest (its data synced before it is named, as
    /// [`Store::put`] does); returns the digest and the size. A blob already present is kept as it is.
    pub fn finish(mut self) -> io::Result<(Digest, u64)> {
        let digest = self.digest();
        let path = self.store.blob_path(&digest);
        self.file()?;
        let file = self.file.take().expect("just made");
        match fs::metadata(&path) {
            Ok(m) if m.len() == self.size => {}
            _ => file.commit(&path, Durability::Data)?,
        }
        Ok((digest, self.size))
    }
}

impl io::Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file()?.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
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

    #[test]
    fn a_blob_written_in_pieces_is_the_blob_put_whole() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut w = store.writer();
        w.write_all(b"discarded").unwrap();
        w.restart().unwrap();
        for piece in bytes.chunks(700_001) {
            w.write_all(piece).unwrap();
        }
        let (d, size) = w.finish().unwrap();
        assert_eq!((d, size), (Digest::of(&bytes), bytes.len() as u64));
        assert_eq!(store.read(&d).unwrap(), bytes);
        // Finishing the same bytes again keeps the blob; an empty writer stores the empty blob.
        let mut again = store.writer();
        again.write_all(&bytes).unwrap();
        assert_eq!(again.finish().unwrap().0, d);
        assert_eq!(store.writer().finish().unwrap(), (Digest::of(b""), 0));
        // A writer dropped unfinished leaves nothing behind.
        let mut dropped = store.writer();
        dropped.write_all(b"half").unwrap();
        drop(dropped);
        assert_eq!(fs::read_dir(store.tmp_dir()).unwrap().count(), 0);
    }

    /// Action entries are not synced to disk: one a crash of the machine left empty or cut short
    /// must read as a miss (never an error or a wrong output), and writing it again mends it.
    #[test]
    fn a_torn_action_entry_is_a_miss_and_is_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let key = Digest::of(b"an action");
        let output = store.put(b"its output").unwrap();
        let entry =
            ActionEntry { desc: serde_json::json!({"query": "q"}), output, size: 10, inputs: vec![], parts: vec![] };
        store.put_action(&key, &entry).unwrap();
        assert_eq!(store.action_output(&key), Some((output, 10)));
        let whole = fs::read(store.action_path(&key)).unwrap();
        for torn in [&whole[..0], &whole[..whole.len() / 2], &whole[..whole.len() - 1]] {
            fs::write(store.action_path(&key), torn).unwrap();
            assert_eq!(store.action_output(&key), None, "{} of {} bytes", torn.len(), whole.len());
            assert!(store.action(&key).is_none());
        }
        store.put_action(&key, &entry).unwrap();
        assert_eq!(store.action(&key), Some(entry));
    }

    #[test]
    fn a_blob_is_copied_verified() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let bytes = vec![7u8; 2_500_000];
        let d = store.put(&bytes).unwrap();
        let mut out = Vec::new();
        assert_eq!(store.copy_blob(&d, &mut out).unwrap(), bytes.len() as u64);
        assert_eq!(out, bytes);
        let mut bad = bytes.clone();
        bad[2_000_000] = 8;
        fs::write(store.blob_path(&d), &bad).unwrap();
        assert!(matches!(store.copy_blob(&d, &mut Vec::new()), Err(BlobError::Corrupt(..))));
        assert!(matches!(store.copy_blob(&d, &mut Vec::new()), Err(BlobError::Missing(_))));
    }

    /// A blob put behind the work is there for every reader at once, from memory, and on disk
    /// under its name (nothing left in `tmp/`) once the store is settled.
    #[test]
    fn a_blob_put_behind_is_read_at_once_and_named_when_settled() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let many: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; 10_000 + usize::from(i)]).collect();
        let digests: Vec<Digest> = many.iter().map(|b| store.put_behind(b.clone()).unwrap()).collect();
        for (bytes, d) in many.iter().zip(&digests) {
            assert_eq!(*d, Digest::of(bytes));
            assert!(store.has(d, bytes.len() as u64));
            assert!(!store.has(d, bytes.len() as u64 + 1));
            assert_eq!(&store.read(d).unwrap(), bytes);
            let mut out = Vec::new();
            assert_eq!(store.copy_blob(d, &mut out).unwrap(), bytes.len() as u64);
            assert_eq!(&out, bytes);
        }
        // The same bytes again, and a clone of the handle, while some may still wait.
        assert_eq!(store.clone().put_behind(many[3].clone()).unwrap(), digests[3]);
        store.settle_all();
        for (bytes, d) in many.iter().zip(&digests) {
            assert!(matches!(store.blob_at(d), BlobAt::File(_)));
            assert_eq!(&fs::read(store.blob_path(d)).unwrap(), bytes);
        }
        assert!(store.take_unnamed().is_empty());
        assert_eq!(fs::read_dir(store.tmp_dir()).unwrap().count(), 0);
    }

    /// A blob whose name cannot be made is reported once, read from memory until then (the rest
    /// of its render still finds it), missing afterwards (a miss, never a wrong or partial file),
    /// and its temp file is removed; a blob too large to hold is named at once.
    #[test]
    fn a_blob_that_cannot_be_named_is_reported_and_missing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let bytes = b"cannot be named".to_vec();
        let d = Digest::of(&bytes);
        // A file where the blob's shard directory should be.
        fs::write(store.blob_path(&d).parent().unwrap(), b"in the way").unwrap();
        assert_eq!(store.put_behind(bytes.clone()).unwrap(), d);
        store.settle_all();
        assert_eq!(store.read(&d).unwrap(), bytes);
        assert!(store.has(&d, 15));
        let unnamed = store.take_unnamed();
        assert_eq!(unnamed.len(), 1, "{unnamed:?}");
        assert!(unnamed[0].contains(&d.hex()), "{unnamed:?}");
        assert!(store.take_unnamed().is_empty());
        assert!(!store.has(&d, 15));
        // No blob: its directory is a file.
        assert!(matches!(store.read(&d), Err(BlobError::Io(..))));
        assert_eq!(fs::read_dir(store.tmp_dir()).unwrap().count(), 0);

        let large = vec![5u8; super::super::behind::MAX_BLOB + 1];
        let d = store.put_behind(large.clone()).unwrap();
        assert!(matches!(store.blob_at(&d), BlobAt::File(_)));
        assert_eq!(fs::metadata(store.blob_path(&d)).unwrap().len(), large.len() as u64);
    }
}
