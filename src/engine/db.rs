//! The salsa database: project inputs (file texts, overrides), the build environment (store,
//! mode) and an execution log that tests and progress reporting read.

use std::any::Any;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use super::budget::Budget;
use super::error::BuildError;
use super::event::ArtifactEvent;
use super::globs::Globs;
use super::progress::Report;
use crate::project::SourceText;
use crate::store::{Digest, StatCache, Store};

/// A value shared through [`BuildEnv::memo`]: one slot per key, locked while it is made, so
/// concurrent users of the same key wait for one computation instead of repeating it.
type MemoSlot = Arc<Mutex<Option<Arc<dyn std::any::Any + Send + Sync>>>>;

/// Everything a build reads from the outside world. Setting a field starts a new revision;
/// salsa re-runs only the queries that read what changed.

#[salsa::input]
pub struct ProjectInputs {
    #[returns(ref)]
    pub project_text: Option<String>,
    #[returns(ref)]
    pub recipes: Vec<SourceText>,
    #[returns(ref)]
    pub overrides: Vec<String>,
    /// Every project file a recipe reads (audio inputs), by project-relative path.
    #[returns(ref)]
    pub files: std::collections::BTreeMap<String, FileInput>,
    /// The project files each source glob matches, by pattern.
    #[returns(ref)]
    pub globs: Globs,
    /// Bumped by `watch` after a run with failures: failed queries read it, so they are retried
    /// on the next change while successful ones stay memoized.
    pub retry_epoch: u64,
}

/// One input file, by content: its digest (None when it is missing or unreadable). `watch`
/// updates it when the file changes; queries that read the file re-run only then.
#[salsa::input]
pub struct FileInput {
    /// As the recipe names it: a project path, or `ROOT:path` in a declared input root.
    #[returns(ref)]
    pub path: String,
    /// Where it is read on this machine. Never part of a key (keys hold `path` and the digest),
    /// so checkouts with an input root at different places share a cache.
    #[returns(ref)]
    pub location: std::path::PathBuf,
    #[returns(copy)]
    pub digest: Option<Digest>,
}

/// Whether queries may compute, or only look things up (`status`, `--dry-run`, `explain`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Build,
    Plan,
    /// `cache pull`: look up locally, else download from the remote cache; never compute.
    Pull,
    /// `cache status`: look up locally, else check the remote cache (entries verified, blobs
    /// only checked for presence); never compute or download a blob.
    Peek,
}

/// What a query did, in order, for progress reporting and incremental tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exec {
    /// The artifact query ran (salsa executed it: an input it read changed, or first run).
    Executed(String),
    /// Its action key was found in the action cache: nothing computed.
    CacheHit(String),
    /// Its work was computed now.
    Computed(String),
    /// Its result was downloaded from the remote cache (verified), nothing computed.
    Downloaded(String),
    /// `cache status`: its result is on the remote cache (not downloaded).
    OnRemote(String),
    /// An audio input was decoded and resampled (`Cx::pcm`): its name, the target rate, which
    /// signals were made (the mixdown alone when nothing in the render reads the channels) and
    /// whether they were kept for every reader (not when the one artifact reading the input
    /// took the mixdown as it was made: `Cx::pcm_tapped`).
    Decoded(String, u32, crate::media::pcm::PcmLayout, bool),
}

/// The non-salsa state shared by every handle of one database.
#[derive(Debug)]
pub struct BuildEnv {
    pub root: PathBuf,
    pub store: Store,
    pub stat: StatCache,
    pub mode: Mode,
    log: Mutex<Vec<Exec>>,
    /// Ids computed since the log was last taken (a set, for cheap lookups on big projects).
    computed: Mutex<std::collections::HashSet<String>>,
    /// Ids downloaded from the remote cache since the log was last taken.
    downloaded: Mutex<std::collections::HashSet<String>>,
    /// The remote cache tier, when the project uses one (set once, after opening).
    remote: OnceLock<Arc<crate::store::Remote>>,
    /// The share of the running render (`--shard K/N`), if any.
    shard: Mutex<Option<super::select::Shard>>,
    /// Non-fatal problems found while computing, by artifact id (e.g. truncated audio).
    warnings: Mutex<HashMap<String, Vec<String>>>,
    notes: Mutex<HashMap<String, Vec<String>>>,
    /// Actions being computed in this process, by key: two artifacts with the same key (the same
    /// audio analysed for two flows) are computed once.
    inflight: Mutex<HashMap<Digest, Arc<OnceLock<InflightResult>>>>,
    /// Parsed data shared by the queries of one process (loaded decoders, latents being sliced
    /// into segments), by kind and content digest. Never part of a result, only a shortcut.
    memo: Mutex<HashMap<(&'static str, Digest), MemoSlot>>,
    /// Where events of sub-artifacts (video segments) go while a render runs.
    sink: Mutex<Option<std::sync::mpsc::Sender<Report>>>,
    /// When the running render started: sub-artifact events are timed from it.
    epoch: Mutex<Option<std::time::Instant>>,
    /// The flows this project is read and built with: an `engine::flow::Registry`, held
    /// opaquely so the database does not depend on what the flows define.
    pub flows: Arc<dyn Any + Send + Sync>,
    /// The thread budget of the running render (`-j`): every computation holds a permit.
    pub budget: Budget,
    /// Samples a shared decode ([`super::action::Cx::pcm`]) holds in memory before its signals
    /// move to temporary files in the store (never changes a result).
    pcm_memory_samples: std::sync::atomic::AtomicUsize,
    /// What the artifacts of the running render read of their audio inputs; `None` outside a
    /// render (every input's channels may be read, by any number of artifacts).
    readers: Mutex<Option<Arc<Readers>>>,
}

/// What the artifacts of a render read of their audio inputs (project paths and artifact ids),
/// from their declarations.
#[derive(Debug, Default)]
pub struct Readers {
    /// The inputs whose channels an artifact may read, not only the mixdown.
    pub channels: std::collections::HashSet<String>,
    /// Each input's readers: the artifacts that declare it.
    pub by_input: std::collections::HashMap<String, Vec<String>>,
}

type InflightResult = Result<(Digest, u64), BuildError>;

impl BuildEnv {
    pub fn new(root: PathBuf, store: Store, mode: Mode, flows: Arc<dyn Any + Send + Sync>) -> BuildEnv {
        let stat = StatCache::load(&store.root().join("stat.json"));
        BuildEnv {
            root,
            store,
            stat,
            mode,
            log: Mutex::new(Vec::new()),
            computed: Mutex::default(),
            downloaded: Mutex::default(),
            remote: OnceLock::new(),
            shard: Mutex::default(),
            warnings: Mutex::default(),
            notes: Mutex::default(),
            inflight: Mutex::default(),
            memo: Mutex::default(),
            sink: Mutex::default(),
            epoch: Mutex::default(),
            flows,
            budget: Budget::default(),
            pcm_memory_samples: crate::media::spool::DEFAULT_MEMORY_SAMPLES.into(),
            readers: Mutex::new(None),
        }
    }

    /// Samples a shared decode holds in memory before its signals move to temporary files.
    pub fn pcm_memory_samples(&self) -> usize {
        self.pcm_memory_samples.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sets [`Self::pcm_memory_samples`] (for later decodes).
    pub fn set_pcm_memory_samples(&self, samples: usize) {
        self.pcm_memory_samples.store(samples, std::sync::atomic::Ordering::Relaxed);
    }

    /// The value memoized for `(kind, digest)`, made by `make` on first use. Threads asking for
    /// the same key while it is made wait for that one computation; a failed `make` leaves the
    /// slot empty, so the next caller tries again.
    pub fn memo<T: Send + Sync + 'static, E>(
        &self,
        kind: &'static str,
        digest: Digest,
        make: impl FnOnce() -> Result<T, E>,
    ) -> Result<Arc<T>, E> {
        let slot = self.memo.lock().unwrap_or_else(|p| p.into_inner()).entry((kind, digest)).or_default().clone();
        let mut value = slot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = value.clone().and_then(|v| v.downcast::<T>().ok()) {
            return Ok(v);
        }
        let v = Arc::new(make()?);
        *value = Some(v.clone());
        Ok(v)
    }

    /// Drop memoized values (between renders: they can be large).
    pub fn clear_memo(&self) {
        self.memo.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    pub fn set_sink(&self, sink: Option<std::sync::mpsc::Sender<Report>>) {
        *self.sink.lock().unwrap_or_else(|p| p.into_inner()) = sink;
    }

    /// What the running render's artifacts read of their inputs (`None`: no render runs).
    pub fn set_readers(&self, readers: Option<Readers>) {
        *self.readers.lock().unwrap_or_else(|p| p.into_inner()) = readers.map(Arc::new);
    }

    fn readers(&self) -> Option<Arc<Readers>> {
        self.readers.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether something may read the channels of audio input `input` (a project path or an
    /// artifact id), not only its mixdown.
    pub fn channels_read(&self, input: &str) -> bool {
        self.readers().is_none_or(|r| r.channels.contains(input))
    }

    /// Whether artifact `id` is the one artifact of the running render that reads audio input
    /// `input` (false outside a render).
    pub fn only_reader(&self, input: &str, id: &str) -> bool {
        self.readers().is_some_and(|r| r.by_input.get(input).is_some_and(|ids| ids.len() == 1 && ids[0] == id))
    }

    /// Time sub-artifact events from `epoch` (the start of the running render).
    pub fn set_epoch(&self, epoch: Option<std::time::Instant>) {
        *self.epoch.lock().unwrap_or_else(|p| p.into_inner()) = epoch;
    }

    /// Report a sub-artifact (a segment) to the running render, if any. `started` is when its
    /// work began: the event gets its start, duration and thread for timing reports.
    pub fn emit_timed(&self, mut event: ArtifactEvent, started: std::time::Instant) {
        let now = std::time::Instant::now();
        event.us = now.duration_since(started).as_micros() as u64;
        event.ms = event.us / 1000;
        if let Some(epoch) = *self.epoch.lock().unwrap_or_else(|p| p.into_inner()) {
            event.start_us = started.saturating_duration_since(epoch).as_micros() as u64;
        }
        event.thread = super::event::thread_lane();
        self.emit(event);
    }

    /// Report a sub-artifact (a segment) to the running render, if any.
    pub fn emit(&self, event: ArtifactEvent) {
        self.report(Report::Part(Box::new(event)));
    }

    /// Tell the running render, if any, about long work (see [`super::progress`]).
    pub fn report(&self, report: Report) {
        if let Some(tx) = self.sink.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            let _ = tx.send(report);
        }
    }

    /// Put the remote cache tier behind the local store (once; later calls are ignored).
    pub fn set_remote(&self, remote: Arc<crate::store::Remote>) {
        let _ = self.remote.set(remote);
    }

    pub fn remote(&self) -> Option<&Arc<crate::store::Remote>> {
        self.remote.get()
    }

    /// Set by `render` for the length of a `--shard` run.
    pub fn set_shard(&self, shard: Option<super::select::Shard>) {
        *self.shard.lock().unwrap_or_else(|p| p.into_inner()) = shard;
    }

    pub fn shard(&self) -> Option<super::select::Shard> {
        *self.shard.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn log(&self, e: Exec) {
        match &e {
            Exec::Computed(id) => {
                self.computed.lock().unwrap_or_else(|p| p.into_inner()).insert(id.clone());
            }
            Exec::Downloaded(id) => {
                self.downloaded.lock().unwrap_or_else(|p| p.into_inner()).insert(id.clone());
            }
            _ => {}
        }
        self.log.lock().unwrap_or_else(|p| p.into_inner()).push(e);
    }

    pub fn warn(&self, id: &str, message: String) {
        self.warnings.lock().unwrap_or_else(|p| p.into_inner()).entry(id.to_string()).or_default().push(message);
    }

    /// The warnings recorded for `id` since it was last asked (each is reported once).
    pub fn take_warnings(&self, id: &str) -> Vec<String> {
        self.warnings.lock().unwrap_or_else(|p| p.into_inner()).remove(id).unwrap_or_default()
    }

    /// Records a detail of how `id` was computed (shown with `-v`).
    pub fn note(&self, id: &str, message: String) {
        self.notes.lock().unwrap_or_else(|p| p.into_inner()).entry(id.to_string()).or_default().push(message);
    }

    /// The notes recorded for `id` since it was last asked.
    pub fn take_notes(&self, id: &str) -> Vec<String> {
        self.notes.lock().unwrap_or_else(|p| p.into_inner()).remove(id).unwrap_or_default()
    }

    /// Whether `id` was computed (not just found) since the log was last taken.
    pub fn was_computed(&self, id: &str) -> bool {
        self.computed.lock().unwrap_or_else(|p| p.into_inner()).contains(id)
    }

    /// Whether `id` was downloaded from the remote cache since the log was last taken.
    pub fn was_downloaded(&self, id: &str) -> bool {
        self.downloaded.lock().unwrap_or_else(|p| p.into_inner()).contains(id)
    }

    /// Run `f` for action `key` unless another thread of this process is already running it,
    /// in which case wait for and share its result. Returns the result and whether `f` ran here.
    pub fn single_flight(&self, key: Digest, f: impl FnOnce() -> InflightResult) -> (InflightResult, bool) {
        let cell = self.inflight.lock().unwrap_or_else(|p| p.into_inner()).entry(key).or_default().clone();
        let mut ran = false;
        let result = cell
            .get_or_init(|| {
                ran = true;
                f()
            })
            .clone();
        if ran {
            // Later callers find the finished action in the action cache.
            self.inflight.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
        }
        (result, ran)
    }

    pub fn take_log(&self) -> Vec<Exec> {
        self.computed.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.downloaded.lock().unwrap_or_else(|p| p.into_inner()).clear();
        std::mem::take(&mut *self.log.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

#[salsa::db]
pub trait Db: salsa::Database {
    fn env(&self) -> &BuildEnv;
    fn inputs(&self) -> ProjectInputs;
    /// Another handle on the same database, for a worker thread (salsa has no parallel map).
    fn fork(&self) -> Database;
}

#[salsa::db]
#[derive(Clone)]
pub struct Database {
    storage: salsa::Storage<Self>,
    env: Arc<BuildEnv>,
    inputs: Option<ProjectInputs>,
}

impl Database {
    pub fn new(env: BuildEnv) -> Database {
        let mut db = Database { storage: salsa::Storage::default(), env: Arc::new(env), inputs: None };
        db.inputs =
            Some(ProjectInputs::new(&db, None, Vec::new(), Vec::new(), Default::default(), Default::default(), 0));
        db
    }

    pub fn env_arc(&self) -> &Arc<BuildEnv> {
        &self.env
    }
}

#[salsa::db]
impl salsa::Database for Database {}

#[salsa::db]
impl Db for Database {
    fn env(&self) -> &BuildEnv {
        &self.env
    }

    fn inputs(&self) -> ProjectInputs {
        self.inputs.expect("inputs are created in Database::new")
    }

    fn fork(&self) -> Database {
        self.clone()
    }
}
