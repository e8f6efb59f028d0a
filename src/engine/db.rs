//! The salsa database: project inputs (file texts, overrides), the build environment (store,
//! mode) and an execution log that tests and progress reporting read.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use crate::project::SourceText;
use crate::store::{Digest, StatCache, Store};

/// Everything a build reads from the outside world. Setting a field starts a new revision;
/// salsa re-runs only the queries that read what changed.
/// A value shared through [`BuildEnv::memo`].
type MemoValue = Arc<dyn std::any::Any + Send + Sync>;

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
    /// The project files each texture-source glob matches, by pattern.
    #[returns(ref)]
    pub globs: crate::engine::textures::Globs,
    /// Bumped by `watch` after a run with failures: failed queries read it, so they are retried
    /// on the next change while successful ones stay memoized.
    pub retry_epoch: u64,
}

/// One input file, by content: its digest (None when it is missing or unreadable). `watch`
/// updates it when the file changes; queries that read the file re-run only then.
#[salsa::input]
pub struct FileInput {
    #[returns(ref)]
    pub path: String,
    #[returns(copy)]
    pub digest: Option<Digest>,
}

/// Whether queries may compute, or only look things up (`status`, `--dry-run`, `explain`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Build,
    Plan,
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
    /// Non-fatal problems found while computing, by artifact id (e.g. truncated audio).
    warnings: Mutex<HashMap<String, Vec<String>>>,
    /// Actions being computed in this process, by key: two artifacts with the same key (the same
    /// audio analysed for two flows) are computed once.
    inflight: Mutex<HashMap<Digest, Arc<OnceLock<InflightResult>>>>,
    /// Parsed data shared by the queries of one process (loaded decoders, latents being sliced
    /// into segments), by kind and content digest. Never part of a result, only a shortcut.
    memo: Mutex<HashMap<(&'static str, Digest), MemoValue>>,
    /// Where events of sub-artifacts (video segments) go while a render runs.
    sink: Mutex<Option<std::sync::mpsc::Sender<super::render::ArtifactEvent>>>,
}

type InflightResult = Result<(Digest, u64), super::query::BuildError>;

impl BuildEnv {
    pub fn new(root: PathBuf, store: Store, mode: Mode) -> BuildEnv {
        let stat = StatCache::load(&store.root().join("stat.json"));
        BuildEnv {
            root,
            store,
            stat,
            mode,
            log: Mutex::new(Vec::new()),
            computed: Mutex::default(),
            warnings: Mutex::default(),
            inflight: Mutex::default(),
            memo: Mutex::default(),
            sink: Mutex::default(),
        }
    }

    /// The value memoized for `(kind, digest)`, made by `make` on first use (not under the lock,
    /// so two threads may both make it; either result is equal).
    pub fn memo<T: Send + Sync + 'static, E>(
        &self,
        kind: &'static str,
        digest: Digest,
        make: impl FnOnce() -> Result<T, E>,
    ) -> Result<Arc<T>, E> {
        let found = self.memo.lock().unwrap_or_else(|p| p.into_inner()).get(&(kind, digest)).cloned();
        if let Some(v) = found.and_then(|v| v.downcast::<T>().ok()) {
            return Ok(v);
        }
        let v = Arc::new(make()?);
        self.memo.lock().unwrap_or_else(|p| p.into_inner()).insert((kind, digest), v.clone());
        Ok(v)
    }

    /// Drop memoized values (between renders: they can be large).
    pub fn clear_memo(&self) {
        self.memo.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    pub fn set_sink(&self, sink: Option<std::sync::mpsc::Sender<super::render::ArtifactEvent>>) {
        *self.sink.lock().unwrap_or_else(|p| p.into_inner()) = sink;
    }

    /// Report a sub-artifact (a segment) to the running render, if any.
    pub fn emit(&self, event: super::render::ArtifactEvent) {
        if let Some(tx) = self.sink.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            let _ = tx.send(event);
        }
    }

    pub fn log(&self, e: Exec) {
        if let Exec::Computed(id) = &e {
            self.computed.lock().unwrap_or_else(|p| p.into_inner()).insert(id.clone());
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

    /// Whether `id` was computed (not just found) since the log was last taken.
    pub fn was_computed(&self, id: &str) -> bool {
        self.computed.lock().unwrap_or_else(|p| p.into_inner()).contains(id)
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
