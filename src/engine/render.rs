//! `render`: build the selected artifacts (and what they need) on `jobs` threads, each with
//! its own database handle; materialize outputs; update `ntsbuild.lock`. A failed artifact
//! does not stop independent ones.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde::Serialize;

use super::db::{Database, Db};
use super::query::{self, BuildError, Built};
use super::select;
use super::targets::ArtifactDecl;
use crate::project::Diagnostics;
use crate::store::fsutil::replace_file;
use crate::store::lockfile::{LOCK_FILE, LockEntry, LockFile};
use crate::store::{Digest, history};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Computed now.
    Built,
    /// Taken from the store without computing (output was missing or edited, or the action
    /// was already cached under a new key).
    Restored,
    /// Already current; nothing done.
    Fresh,
    Failed,
    /// A planned output its inputs cannot give (see `BuildError::Skipped`); the reason is in
    /// `warnings`. Not a failure; nothing is written and a stale output is removed.
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactEvent {
    pub id: String,
    pub status: Status,
    pub digest: Option<Digest>,
    pub key: Option<Digest>,
    pub ms: u64,
    pub error: Option<String>,
    /// Project-relative output path, for materialized artifacts.
    pub output: Option<String>,
    /// Non-fatal problems met while computing it (e.g. truncated audio decoded as far as it goes).
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub built: usize,
    pub restored: usize,
    pub fresh: usize,
    pub failed: usize,
    pub skipped: usize,
    pub ms: u64,
}

/// Receives progress; implemented by the CLI (progress bar, plain lines or JSON).
pub trait Reporter: Sync {
    fn waiting_for_lock(&self) {}
    fn started(&self, _total: usize) {}
    fn artifact(&self, _event: &ArtifactEvent) {}
    /// A sub-artifact found while building (a video segment): not counted in `started`.
    fn sub_artifact(&self, event: &ArtifactEvent) {
        self.artifact(event)
    }
}

pub struct Quiet;
impl Reporter for Quiet {}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{0}")]
    Config(Diagnostics),
    #[error("{0}")]
    Selection(String),
    #[error("{0}")]
    Io(String),
}

/// The outcome of a render.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub events: Vec<ArtifactEvent>,
    pub summary: Summary,
}

#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub jobs: usize,
    /// Write outputs and the lock (false for `audit --rebuild`, which only compares).
    pub materialize: bool,
    /// Build video previews (`--no-previews` leaves them out of the selection).
    pub previews: bool,
    /// Also write each built track's frames as PNGs (`--keep-frames`).
    pub keep_frames: bool,
}

impl Options {
    pub fn new(jobs: usize) -> Options {
        Options { jobs, materialize: true, previews: true, keep_frames: false }
    }
}

pub fn render(db: &Database, ids: &[String], jobs: usize, reporter: &dyn Reporter) -> Result<Outcome, RenderError> {
    render_with(db, ids, Options::new(jobs), reporter)
}

pub fn render_with(
    db: &Database,
    ids: &[String],
    opts: Options,
    reporter: &dyn Reporter,
) -> Result<Outcome, RenderError> {
    let jobs = opts.jobs;
    let t0 = Instant::now();
    let env = db.env();
    let config = query::config(db).clone().map_err(RenderError::Config)?;
    let index = query::artifact_index(db).clone();
    let mut selected = select::select(&index, ids).map_err(RenderError::Selection)?;
    if !opts.previews {
        selected.retain(|id| !matches!(index[id].recipe, super::targets::Recipe::Preview { .. }));
    }
    let order = select::with_dependencies(&index, &selected);
    let requested: BTreeSet<&str> = selected.iter().map(String::as_str).collect();

    let (_lock, waited) = env.store.lock_build().map_err(|e| RenderError::Io(format!("taking the build lock: {e}")))?;
    if waited {
        reporter.waiting_for_lock();
    }
    env.store.sweep_temp_files();
    if opts.materialize {
        // Leftovers of a killed render: temp files beside outputs and the lock.
        let mut dirs: BTreeSet<std::path::PathBuf> = BTreeSet::from([env.root.clone()]);
        for id in &selected {
            if let Some(parent) = env.root.join(index[id].output_path(&config.settings.output_dir)).parent() {
                dirs.insert(parent.to_path_buf());
            }
        }
        dirs.iter().for_each(|d| {
            crate::store::fsutil::sweep_dir(d);
        });
    }
    env.take_log();
    reporter.started(order.len());

    let output_dir = config.settings.output_dir.clone();
    let next = AtomicUsize::new(0);
    let running = AtomicUsize::new(0);
    let events = Mutex::new(Vec::with_capacity(order.len()));
    let (tx, rx) = std::sync::mpsc::channel();
    env.set_sink(Some(tx));
    std::thread::scope(|s| {
        let workers = jobs.clamp(1, order.len().max(1));
        running.store(workers, Ordering::SeqCst);
        for _ in 0..workers {
            let db = db.clone();
            let (next, running, events, order, index, requested, output_dir) =
                (&next, &running, &events, &order, &index, &requested, &output_dir);
            s.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(id) = order.get(i) else { break };
                    let t = Instant::now();
                    let decl = &index[id];
                    let materialize = opts.materialize && decl.materialized && requested.contains(id.as_str());
                    let mut event = process(&db, decl, materialize.then_some(output_dir.as_str()));
                    event.ms = t.elapsed().as_millis() as u64;
                    reporter.artifact(&event);
                    events.lock().unwrap_or_else(|p| p.into_inner()).push(event);
                }
                running.fetch_sub(1, Ordering::SeqCst);
            });
        }
        // Segments are found while their video builds: report them as they come.
        loop {
            match rx.recv_timeout(std::time::Duration::from_millis(20)) {
                Ok(event) => {
                    reporter.sub_artifact(&event);
                    events.lock().unwrap_or_else(|p| p.into_inner()).push(event);
                }
                Err(_) if running.load(Ordering::SeqCst) == 0 => break,
                Err(_) => {}
            }
        }
    });
    env.set_sink(None);
    for event in rx.try_iter() {
        reporter.sub_artifact(&event);
        events.lock().unwrap_or_else(|p| p.into_inner()).push(event);
    }
    env.clear_memo();
    let mut events = events.into_inner().unwrap_or_else(|p| p.into_inner());
    events.sort_by(|a, b| a.id.cmp(&b.id));

    if opts.materialize {
        update_lock(&env.root, env.store.root(), &events, &index, ids.is_empty())
            .map_err(|e| RenderError::Io(format!("writing {LOCK_FILE}: {e}")))?;
    }
    if opts.materialize {
        super::run_json::write(db, &config, &index, &events)
            .map_err(|e| RenderError::Io(format!("writing run.json: {e}")))?;
    }
    if opts.keep_frames {
        for e in events.iter().filter(|e| e.status != Status::Failed && e.id.ends_with("/video.mp4")) {
            let Some(decl) = index.get(&e.id) else { continue };
            let dir = env.root.join(decl.output_path(&config.settings.output_dir)).with_file_name("frames");
            if let Err(err) = super::segment::export_frames(db, &e.id, &dir) {
                return Err(RenderError::Io(format!("--keep-frames: {err}")));
            }
        }
    }
    let _ = env.stat.save();

    let mut summary = Summary::default();
    for e in &events {
        match e.status {
            Status::Built => summary.built += 1,
            Status::Restored => summary.restored += 1,
            Status::Fresh => summary.fresh += 1,
            Status::Failed => summary.failed += 1,
            Status::Skipped => summary.skipped += 1,
        }
    }
    summary.ms = t0.elapsed().as_millis() as u64;
    Ok(Outcome { events, summary })
}

fn failed(id: &str, e: &BuildError) -> ArtifactEvent {
    ArtifactEvent {
        id: id.to_string(),
        status: Status::Failed,
        digest: None,
        key: None,
        ms: 0,
        error: Some(e.to_string()),
        output: None,
        warnings: vec![],
    }
}

/// A planned output that is not made: its stale file (from a run where it was) goes.
fn skipped(db: &Database, decl: &ArtifactDecl, output_dir: Option<&str>, reason: String) -> ArtifactEvent {
    let mut event = ArtifactEvent {
        id: decl.id.clone(),
        status: Status::Skipped,
        digest: None,
        key: None,
        ms: 0,
        error: None,
        output: None,
        warnings: vec![reason],
    };
    if let Some(dir) = output_dir {
        let path = db.env().root.join(decl.output_path(dir));
        if path.is_file()
            && let Err(e) = std::fs::remove_file(&path)
        {
            event.status = Status::Failed;
            event.error = Some(format!("{}: removing the stale output {}: {e}", decl.id, path.display()));
        }
    }
    event
}

/// Build one artifact and, when asked, make its output file current.
fn process(db: &Database, decl: &ArtifactDecl, output_dir: Option<&str>) -> ArtifactEvent {
    let built = match query::artifact_by_id(db, &decl.id) {
        Ok(b) => b,
        Err(BuildError::Skipped { reason, .. }) => return skipped(db, decl, output_dir, reason),
        Err(e) => return failed(&decl.id, &e),
    };
    let computed = db.env().was_computed(&decl.id);
    let mut status = if computed { Status::Built } else { Status::Fresh };
    let mut output = None;
    if let Some(dir) = output_dir {
        let rel = decl.output_path(dir);
        match materialize(db, decl, &built, &rel) {
            Ok(true) if !computed => status = Status::Restored,
            Ok(_) => {}
            Err(e) => return failed(&decl.id, &e),
        }
        output = Some(rel);
    }
    ArtifactEvent {
        id: decl.id.clone(),
        status,
        digest: Some(built.digest),
        key: Some(built.key),
        ms: 0,
        error: None,
        output,
        warnings: db.env().take_warnings(&decl.id),
    }
}

/// Make `rel` hold the artifact's bytes. Returns whether the file had to be (re)written.
fn materialize(db: &Database, decl: &ArtifactDecl, built: &Built, rel: &str) -> Result<bool, BuildError> {
    let env = db.env();
    let path = env.root.join(rel);
    let current = env.stat.digest(&path).map_err(|e| BuildError::io(&decl.id, &format!("reading {rel}"), e))?;
    if current == Some(built.digest) {
        return Ok(false);
    }
    let bytes = query::artifact_bytes(db, &decl.id)?;
    replace_file(&path, &bytes).map_err(|e| BuildError::io(&decl.id, &format!("writing {rel}"), e))?;
    env.stat.record_written(&path, built.digest).map_err(|e| BuildError::io(&decl.id, &format!("reading {rel}"), e))?;
    Ok(true)
}

fn update_lock(
    root: &Path,
    cache: &Path,
    events: &[ArtifactEvent],
    index: &BTreeMap<String, ArtifactDecl>,
    everything: bool,
) -> std::io::Result<()> {
    let path = root.join(LOCK_FILE);
    let mut lock = LockFile::read(&path).unwrap_or_default();
    for e in events {
        if e.status == Status::Skipped {
            lock.entries.remove(&e.id);
        }
        if let (Some(output), Some(digest), Some(key)) = (&e.output, e.digest, e.key) {
            let entry = LockEntry { id: e.id.clone(), path: output.clone(), digest, key };
            if let Some(old) = lock.entries.insert(e.id.clone(), entry)
                && old.key == key
            {
                continue; // unchanged: no history to record
            }
            history::record(cache, &e.id, key)?;
        }
    }
    if everything {
        lock.entries.retain(|id, _| index.get(id).is_some_and(|a| a.materialized));
    }
    lock.write(&path)
}
