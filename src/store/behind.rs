//! Blobs stored "behind" the work that made them: written to a temp file at once, then synced
//! and named by a few background threads while the worker goes on (an `fsync` blocks for
//! 0.3–1 ms on an ordinary disk, longer than making a small texture file). Until a blob is
//! named it is served from memory, so every reader in this process sees it at once; the
//! guarantee on disk is unchanged: a blob's data is synced before it gets its name.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

use super::digest::Digest;
use super::fsutil::{Durability, TempFile};

/// A blob larger than this is synced by the thread that made it (the wait is small beside its
/// writing, and it is not held in memory).
pub const MAX_BLOB: usize = 16 << 20;
/// At most this many bytes wait to be named at once; a blob that would pass it is synced by
/// the thread that made it.
pub const MAX_WAITING: usize = 64 << 20;
/// Threads syncing blobs. A file system syncs several files at once (and a journal groups
/// them into one commit), so a few threads keep the disk's queue full.
const THREADS: usize = 4;

/// The blobs of one store that are written but not yet named.
#[derive(Default)]
pub struct Waiting {
    state: Mutex<State>,
    named: Condvar,
}

#[derive(Default)]
// The bytes move in from the computation that made them, not copied into an `Arc<[u8]>`.
#[allow(clippy::rc_buffer)]
struct State {
    blobs: HashMap<Digest, Arc<Vec<u8>>>,
    /// Blobs that could not be synced or named: `path: why`.
    failures: Vec<String>,
    /// Their bytes, up to [`MAX_WAITING`] in all, until the failures are taken (the end of the
    /// render): what reads them in the same render still finds them.
    lost: HashMap<Digest, Arc<Vec<u8>>>,
}

/// The bytes held in `blobs`.
#[allow(clippy::rc_buffer)]
fn size_of(blobs: &HashMap<Digest, Arc<Vec<u8>>>) -> usize {
    blobs.values().map(|b| b.len()).sum()
}

/// What [`Waiting::enter`] decided.
pub enum Entry {
    /// The blob is now waiting: write its temp file and [`Waiting::name_later`] it.
    Entered,
    /// The same blob is already waiting to be named.
    AlreadyWaiting,
    /// Too large, or too much is waiting: sync it now.
    SyncNow,
}

impl Waiting {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The bytes of blob `d` while it waits to be named (or, given up, until the failures are
    /// taken).
    pub fn get(&self, d: &Digest) -> Option<Arc<Vec<u8>>> {
        let s = self.state();
        s.blobs.get(d).or_else(|| s.lost.get(d)).cloned()
    }

    /// Take blob `d` into the waiting set, if it fits.
    pub fn enter(&self, d: Digest, bytes: &Arc<Vec<u8>>) -> Entry {
        let mut s = self.state();
        if s.blobs.contains_key(&d) {
            return Entry::AlreadyWaiting;
        }
        if bytes.len() > MAX_BLOB || size_of(&s.blobs) + bytes.len() > MAX_WAITING {
            return Entry::SyncNow;
        }
        s.blobs.insert(d, Arc::clone(bytes));
        Entry::Entered
    }

    /// Blob `d` left the waiting set: named, or (with `failure`) given up.
    pub fn leave(&self, d: &Digest, failure: Option<String>) {
        let mut s = self.state();
        if let (Some(bytes), Some(why)) = (s.blobs.remove(d), failure) {
            s.failures.push(why);
            if size_of(&s.lost) + bytes.len() <= MAX_WAITING {
                s.lost.insert(*d, bytes);
            }
        }
        drop(s);
        self.named.notify_all();
    }

    /// Sync `file` (holding blob `d`, entered) and rename it to `dest` on a syncing thread.
    pub fn name_later(self: &Arc<Self>, d: Digest, file: TempFile, dest: PathBuf) {
        Syncers::get().submit(Job { waiting: Arc::clone(self), digest: d, file, dest });
    }

    /// Wait until blob `d` is no longer waiting (named, or given up).
    pub fn settle(&self, d: &Digest) {
        let mut s = self.state();
        while s.blobs.contains_key(d) {
            s = self.named.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Wait until no blob is waiting.
    pub fn settle_all(&self) {
        let mut s = self.state();
        while !s.blobs.is_empty() {
            s = self.named.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// The blobs given up since last asked, as `path: why` (their bytes are let go).
    pub fn take_failures(&self) -> Vec<String> {
        let mut s = self.state();
        s.lost.clear();
        std::mem::take(&mut s.failures)
    }
}

/// One blob to sync and name.
struct Job {
    waiting: Arc<Waiting>,
    digest: Digest,
    file: TempFile,
    dest: PathBuf,
}

impl Job {
    fn run(self) {
        // A failed commit removes the temp file: the blob is then missing (a cache miss).
        let failure =
            self.file.commit(&self.dest, Durability::Data).err().map(|e| format!("{}: {e}", self.dest.display()));
        self.waiting.leave(&self.digest, failure);
    }
}

/// The process's syncing threads and their queue (shared by every store).
struct Syncers {
    queue: Mutex<Queue>,
    ready: Condvar,
}

struct Queue {
    jobs: VecDeque<Job>,
    /// Syncing threads started.
    threads: usize,
}

impl Syncers {
    fn get() -> &'static Syncers {
        static SYNCERS: OnceLock<Syncers> = OnceLock::new();
        SYNCERS.get_or_init(|| Syncers {
            queue: Mutex::new(Queue { jobs: VecDeque::new(), threads: 0 }),
            ready: Condvar::new(),
        })
    }

    /// Queue `job`, starting a thread while fewer than [`THREADS`] run; run it here when no
    /// thread runs and none could be started.
    fn submit(&'static self, job: Job) {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if q.threads < THREADS {
            let started = std::thread::Builder::new().name("sync".into()).spawn(move || self.serve());
            if started.is_ok() {
                q.threads += 1;
            } else if q.threads == 0 {
                drop(q);
                return job.run();
            }
        }
        q.jobs.push_back(job);
        drop(q);
        self.ready.notify_one();
    }

    fn serve(&self) {
        loop {
            let job = {
                let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
                loop {
                    if let Some(job) = q.jobs.pop_front() {
                        break job;
                    }
                    q = self.ready.wait(q).unwrap_or_else(|p| p.into_inner());
                }
            };
            // A job that panicked still leaves the waiting set, so nothing waits for it forever.
            let (waiting, digest, dest) = (Arc::clone(&job.waiting), job.digest, job.dest.clone());
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run())).is_err() {
                waiting.leave(&digest, Some(format!("{}: naming it panicked", dest.display())));
            }
        }
    }
}

/// A temp file holding `bytes` for `dest` in `tmp_dir`, written and flushed (so a full disk
/// fails here, in the caller), not yet synced.
pub fn written(tmp_dir: &std::path::Path, dest: &std::path::Path, bytes: &[u8]) -> io::Result<TempFile> {
    let mut file = TempFile::create(dest, Some(tmp_dir))?;
    io::Write::write_all(&mut file, bytes)?;
    io::Write::flush(&mut file)?;
    Ok(file)
}
