//! What an artifact is and how it is made. Each artifact kind is one type implementing
//! [`Action`]: its query name, `VERSION`, a typed `Serialize` struct of the parameters its
//! computation reads (hashed into the action key, diffed by `explain`), `compute`, and the few
//! policies a kind may need. The engine core works through [`ActionRef`] and never names a kind.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use super::db::Db;
use super::error::BuildError;
pub use super::select::Shard;
use crate::store::{BlobWriter, Digest};

/// One kind of artifact computation.
pub trait Action: fmt::Debug + PartialEq + Send + Sync + 'static {
    /// The query name in keys and messages (`kit_voice`).
    const QUERY: &'static str;
    /// Bump when what `compute` produces or reads changes (see `docs/caching.md`).
    const VERSION: u32;

    /// The parameters the computation reads, and only those, as one typed struct: hashed into
    /// the action key, printed by `-v`, diffed field by field by `explain`.
    fn key(&self) -> impl Serialize + '_;

    /// Make the artifact's bytes. Inputs are read through `cx` (their bytes, project files).
    fn compute(&self, cx: &Cx<'_>) -> Result<Vec<u8>, BuildError>;

    /// Write the artifact's bytes into the store piece by piece instead of returning them: for
    /// outputs too large to hold at once (a long video). `None`: this kind does not stream and
    /// `compute` makes its bytes. The bytes must be `compute`'s (which still serves, e.g. to
    /// recompute a lost blob).
    fn write(&self, _cx: &Cx<'_>, _out: &mut BlobWriter) -> Option<Result<(), BuildError>> {
        None
    }

    /// Build even when an input failed: the failure becomes part of the key and the output
    /// records it (a texture manifest lists a corrupt source's rows).
    fn tolerates_failed_inputs(&self) -> bool {
        false
    }

    /// Why this planned output is not made, when that is known without computing (read from
    /// the store only, so plan mode can say it too). `inputs` are the key's input digests.
    fn skipped(&self, _cx: &Cx<'_>, _inputs: &BTreeMap<String, Digest>, _key: &Digest) -> Option<String> {
        None
    }

    /// Expensive work (video): scheduled after cheap work that does not depend on it, so a
    /// small edit shows up first.
    fn heavy(&self) -> bool {
        false
    }

    /// Whether computing it may read the channels of an audio input (the channel planes of
    /// [`Cx::pcm`]'s decode, not only its mixdown). A render whose artifacts read no
    /// channels of a compressed source decodes its mixdown alone (less memory and copying); one
    /// that asks anyway gets a decode of its own. Only a flow that reads the mixdown alone says no.
    fn reads_channels(&self) -> bool {
        true
    }

    /// `render --shard`: build this shard's share of the artifact's sub-artifacts (a video's
    /// segments) without the artifact itself; returns what was done, for the report. `None`:
    /// the artifact has no such split.
    fn share(&self, _cx: &Cx<'_>, _shard: Shard) -> Option<Result<String, BuildError>> {
        None
    }

    /// `render --dry-run`: how much work building it is, when its size can be told without
    /// computing (a video's frames and segments, from its audio's declared duration); `Err`
    /// says why not yet. `None`: the artifact has no such size.
    fn estimate(&self, _cx: &Cx<'_>) -> Option<Result<Estimate, String>> {
        None
    }

    /// For audio artifacts: their length as (frames per channel, sample rate) when the recipe
    /// tells it without rendering (an arrangement's, from its tempo map), for estimates of what
    /// is built from them.
    fn audio_length(&self) -> Option<(usize, u32)> {
        None
    }
}

/// The size of an artifact's work, estimated before building it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    pub frames: u64,
    /// The parts (video segments) it is built from.
    pub segments: u32,
    /// What the estimate rests on (`29.8 s of audio/demo.wav at 30 fps`).
    pub basis: String,
}

/// [`Action`] behind a pointer: what the core stores and calls.
pub trait DynAction: fmt::Debug + Send + Sync {
    fn query(&self) -> &'static str;
    fn version(&self) -> u32;
    /// The key params as JSON (objects sorted by key).
    fn key_json(&self) -> serde_json::Value;
    fn compute(&self, cx: &Cx<'_>) -> Result<Vec<u8>, BuildError>;
    fn write(&self, cx: &Cx<'_>, out: &mut BlobWriter) -> Option<Result<(), BuildError>>;
    fn tolerates_failed_inputs(&self) -> bool;
    fn skipped(&self, cx: &Cx<'_>, inputs: &BTreeMap<String, Digest>, key: &Digest) -> Option<String>;
    fn heavy(&self) -> bool;
    fn reads_channels(&self) -> bool;
    fn share(&self, cx: &Cx<'_>, shard: Shard) -> Option<Result<String, BuildError>>;
    fn estimate(&self, cx: &Cx<'_>) -> Option<Result<Estimate, String>>;
    fn audio_length(&self) -> Option<(usize, u32)>;
    fn as_any(&self) -> &dyn Any;
    fn dyn_eq(&self, other: &dyn DynAction) -> bool;
}

impl<T: Action> DynAction for T {
    fn query(&self) -> &'static str {
        T::QUERY
    }

    fn version(&self) -> u32 {
        T::VERSION
    }

    fn key_json(&self) -> serde_json::Value {
        // Plain data (string-keyed maps, numbers, strings) always serializes.
        serde_json::to_value(self.key()).unwrap_or_default()
    }

    fn compute(&self, cx: &Cx<'_>) -> Result<Vec<u8>, BuildError> {
        Action::compute(self, cx)
    }

    fn write(&self, cx: &Cx<'_>, out: &mut BlobWriter) -> Option<Result<(), BuildError>> {
        Action::write(self, cx, out)
    }

    fn tolerates_failed_inputs(&self) -> bool {
        Action::tolerates_failed_inputs(self)
    }

    fn skipped(&self, cx: &Cx<'_>, inputs: &BTreeMap<String, Digest>, key: &Digest) -> Option<String> {
        Action::skipped(self, cx, inputs, key)
    }

    fn heavy(&self) -> bool {
        Action::heavy(self)
    }
    fn reads_channels(&self) -> bool {
        Action::reads_channels(self)
    }

    fn share(&self, cx: &Cx<'_>, shard: Shard) -> Option<Result<String, BuildError>> {
        Action::share(self, cx, shard)
    }

    fn estimate(&self, cx: &Cx<'_>) -> Option<Result<Estimate, String>> {
        Action::estimate(self, cx)
    }

    fn audio_length(&self) -> Option<(usize, u32)> {
        Action::audio_length(self)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn dyn_eq(&self, other: &dyn DynAction) -> bool {
        other.as_any().downcast_ref::<T>().is_some_and(|o| self == o)
    }
}

/// A shared, comparable handle on an action.
#[derive(Clone)]
pub struct ActionRef(Arc<dyn DynAction>);

impl ActionRef {
    pub fn new(action: impl Action) -> ActionRef {
        ActionRef(Arc::new(action))
    }

    /// The action as its concrete type (a flow reading its own declarations).
    pub fn get<T: Action>(&self) -> Option<&T> {
        self.0.as_any().downcast_ref()
    }
}

impl std::ops::Deref for ActionRef {
    type Target = dyn DynAction;
    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl fmt::Debug for ActionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl PartialEq for ActionRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.dyn_eq(&*other.0)
    }
}

impl Eq for ActionRef {}

/// One artifact of a target: where it goes, what it reads, and the action that makes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactDecl {
    /// `target/relative-path`, e.g. `kit.demo/kick.wav`.
    pub id: String,
    pub target: String,
    /// Path below the target's output dir, e.g. `kick.wav`.
    pub rel: String,
    /// Artifact ids this one reads.
    pub deps: Vec<String>,
    /// Project files this one reads (project-relative paths).
    pub files: Vec<String>,
    /// Whether it is copied into the output dir (false for intermediates such as bundles).
    pub materialized: bool,
    /// A preview (left out by `render --no-previews`).
    pub preview: bool,
    pub action: ActionRef,
}

impl ArtifactDecl {
    /// A materialized artifact `target/rel` with no inputs yet.
    pub fn new(target: &str, rel: impl Into<String>, action: impl Action) -> ArtifactDecl {
        let rel = rel.into();
        ArtifactDecl {
            id: format!("{target}/{rel}"),
            target: target.to_string(),
            rel,
            deps: Vec::new(),
            files: Vec::new(),
            materialized: true,
            preview: false,
            action: ActionRef::new(action),
        }
    }

    pub fn deps(mut self, deps: Vec<String>) -> ArtifactDecl {
        self.deps = deps;
        self
    }

    pub fn files(mut self, files: Vec<String>) -> ArtifactDecl {
        self.files = files;
        self
    }

    /// Not copied into the output dir.
    pub fn intermediate(mut self) -> ArtifactDecl {
        self.materialized = false;
        self
    }

    pub fn preview(mut self) -> ArtifactDecl {
        self.preview = true;
        self
    }

    /// Output path relative to the project: `<output>/<kind>/<name>/<rel>`.
    pub fn output_path(&self, output_dir: &str) -> String {
        let (kind, name) = self.target.split_once('.').unwrap_or((&self.target, ""));
        format!("{}/{kind}/{name}/{}", output_dir.trim_end_matches('/'), self.rel)
    }
}

/// The canonical description of one unit of work; its blake3 is the action key.
#[derive(Debug, Serialize)]
pub struct ActionDesc {
    pub query: &'static str,
    pub version: u32,
    /// Digest of every input, by artifact id (`file:PATH` for project files).
    pub inputs: BTreeMap<String, Digest>,
    /// The parameters the computation reads (and only those).
    pub params: serde_json::Value,
}

impl ActionDesc {
    pub fn of(action: &dyn DynAction, inputs: BTreeMap<String, Digest>) -> ActionDesc {
        ActionDesc { query: action.query(), version: action.version(), inputs, params: action.key_json() }
    }

    pub fn key(&self) -> Digest {
        Digest::of_json(self)
    }
}

/// What a computation sees: the database, its artifact's id and declared inputs. Reading
/// inputs (`dep_bytes`, `file_bytes`, `audio`) is implemented in `query`.
pub struct Cx<'a> {
    pub db: &'a dyn Db,
    pub id: &'a str,
    pub deps: &'a [String],
    /// Blobs of sub-artifacts read (see [`Cx::read_parts`]).
    parts: std::sync::Mutex<Vec<Digest>>,
}

impl<'a> Cx<'a> {
    pub fn new(db: &'a dyn Db, id: &'a str, deps: &'a [String]) -> Cx<'a> {
        Cx { db, id, deps, parts: Default::default() }
    }

    /// Note blobs this computation read that are not in its key (a video's segments, whose key
    /// already follows from the declared inputs): recorded with its action entry, so `gc`
    /// keeps what the output was built from.
    pub fn read_parts(&self, digests: impl IntoIterator<Item = Digest>) {
        self.parts.lock().unwrap_or_else(|p| p.into_inner()).extend(digests);
    }

    /// The parts noted so far, sorted and deduplicated.
    pub fn take_parts(&self) -> Vec<Digest> {
        let mut parts = std::mem::take(&mut *self.parts.lock().unwrap_or_else(|p| p.into_inner()));
        parts.sort();
        parts.dedup();
        parts
    }

    /// A deterministic failure of this artifact (cached as such until an input changes).
    pub fn fail(&self, message: impl Into<String>) -> BuildError {
        BuildError::failed(self.id, message)
    }

    /// A transient failure (I/O): never cached, retried.
    pub fn io(&self, context: &str, e: impl fmt::Display) -> BuildError {
        BuildError::io(self.id, context, e)
    }

    /// A non-fatal problem, reported with this artifact's event.
    pub fn warn(&self, message: impl Into<String>) {
        self.db.env().warn(self.id, message.into());
    }

    /// A detail of how this artifact was computed, reported with its event (`-v`).
    pub fn note(&self, message: impl Into<String>) {
        self.db.env().note(self.id, message.into());
    }

    pub fn root(&self) -> &Path {
        &self.db.env().root
    }
}
