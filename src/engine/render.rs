//! `render`: build the selected artifacts (and what they need) on `jobs` threads, each with
//! its own database handle; materialize outputs; update `ntsbuild.lock`. A failed artifact
//! does not stop independent ones.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde::Serialize;

use super::action::ArtifactDecl;
use super::db::{Database, Db, Readers};
use super::error::{BuildError, Built};
pub use super::event::{ArtifactEvent, Status};
use super::flow::{self, AfterRender};
use super::progress::{Progress, Report, Tracker};
use super::query;
use super::select;
use crate::project::Diagnostics;
use crate::store::fsutil::{Durability, TempFile};
use crate::store::history;
use crate::store::lockfile::{LOCK_FILE, LockEntry, LockFile};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub built: usize,
    /// Taken from the remote cache instead of computed.
    pub downloaded: usize,
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
    /// A long artifact (a track video, or its `--keep-frames` PNGs) advanced.
    fn progress(&self, _progress: &Progress) {}
    /// Files written beside the outputs after the render (`--keep-frames`): the folder and how
    /// many files.
    fn wrote(&self, _path: &str, _files: usize) {}
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
    /// An input changed while building (under `watch`): the work in flight was abandoned.
    #[error("cancelled: an input changed")]
    Cancelled,
}

/// The outcome of a render.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub events: Vec<ArtifactEvent>,
    pub summary: Summary,
    /// Results the cache could not keep (`path: why`; see `Store::take_unnamed`): the outputs
    /// stand, their work is done again next time.
    pub unnamed: Vec<String>,
}

impl Outcome {
    /// One line on the results the cache could not keep, if any.
    pub fn unnamed_warning(&self) -> Option<String> {
        let first = self.unnamed.first()?;
        Some(format!(
            "the cache could not keep {} result(s), which will be made again next time (first: {first})",
            self.unnamed.len()
        ))
    }
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
    /// Build only this machine's share (`--shard K/N`); nothing is materialized.
    pub shard: Option<super::select::Shard>,
}

impl Options {
    pub fn new(jobs: usize) -> Options {
        Options { jobs, materialize: true, previews: true, keep_frames: false, shard: None }
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
        selected.retain(|id| !index[id].preview);
    }
    let opts = Options { materialize: opts.materialize && opts.shard.is_none(), ..opts };
    // A shard builds the artifacts it owns, and its share of the segments of those it does not.
    let (selected, shares) = match opts.shard {
        Some(shard) => select::split(&index, &selected, shard),
        None => (selected, Vec::new()),
    };
    let mut order = shares.clone();
    order.extend(select::build_order(&index, &selected));
    let shares: BTreeSet<String> = shares.into_iter().collect();
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
    env.set_shard(opts.shard);
    reporter.started(order.len());

    let output_dir = config.settings.output_dir.clone();
    env.budget.set_limit(jobs);
    let queue = Queue::new(&order, &index);
    let running = AtomicUsize::new(0);
    let cancelled = AtomicUsize::new(0);
    let events = Mutex::new(Vec::with_capacity(order.len()));
    let (tx, rx) = std::sync::mpsc::channel();
    let wake = tx.clone();
    let tracker = Mutex::new(Tracker::default());
    env.set_sink(Some(tx));
    env.set_epoch(Some(t0));
    // A source whose channels nothing in this render reads is decoded as its mixdown alone; one
    // that a single artifact reads need not be kept for others.
    let mut readers = Readers::default();
    for id in &order {
        let decl = &index[id];
        let channels = decl.action.reads_channels();
        for input in decl.files.iter().chain(&decl.deps) {
            if channels {
                readers.channels.insert(input.clone());
            }
            readers.by_input.entry(input.clone()).or_default().push(id.clone());
        }
    }
    env.set_readers(Some(readers));
    std::thread::scope(|s| {
        let workers = jobs.clamp(1, order.len().max(1));
        running.store(workers, Ordering::SeqCst);
        for _ in 0..workers {
            let db = db.clone();
            let (queue, running, cancelled, events, order, index, requested, output_dir, shares, tracker) =
                (&queue, &running, &cancelled, &events, &order, &index, &requested, &output_dir, &shares, &tracker);
            let wake = &wake;
            s.spawn(move || {
                // Dropped last, after the database handle, also when the work panics.
                let _exit = WorkerExit { running, wake };
                let work = std::panic::AssertUnwindSafe(|| {
                    while let Some(i) = queue.take() {
                        let id = &order[i];
                        let t = Instant::now();
                        let decl = &index[id];
                        let materialize = opts.materialize && decl.materialized && requested.contains(id.as_str());
                        let mut event = match opts.shard {
                            Some(shard) if shares.contains(id) => share(&db, decl, shard),
                            _ => process(&db, decl, materialize.then_some(output_dir.as_str())),
                        };
                        event.us = t.elapsed().as_micros() as u64;
                        event.ms = event.us / 1000;
                        event.start_us = t.duration_since(t0).as_micros() as u64;
                        event.query = decl.action.query();
                        event.thread = super::event::thread_lane();
                        let succeeded = event.status != Status::Failed;
                        let last = tracker.lock().unwrap_or_else(|p| p.into_inner()).finish(id, succeeded);
                        last.inspect(|p| reporter.progress(p));
                        reporter.artifact(&event);
                        events.lock().unwrap_or_else(|p| p.into_inner()).push(event);
                        queue.finished(i);
                    }
                });
                // An input changed under `watch`: stop, and let the next render start over.
                if salsa::Cancelled::catch(work).is_err() {
                    cancelled.fetch_add(1, Ordering::SeqCst);
                    queue.stop();
                }
                drop(db);
            });
        }
        // Segments are found while their video builds: report them as they come, until the
        // last worker says it has ended (`wake` lives here, so the channel stays open).
        while let Ok(report) = rx.recv() {
            if matches!(report, Report::WorkersDone) {
                break;
            }
            take(report, &tracker, reporter, &events);
        }
    });
    drop(wake);
    // Every blob is named before the lock records the render and the build lock is released.
    env.store.settle_all();
    env.set_sink(None);
    env.set_epoch(None);
    env.set_shard(None);
    env.set_readers(None);
    for report in rx.try_iter() {
        take(report, &tracker, reporter, &events);
    }
    if cancelled.load(Ordering::SeqCst) > 0 {
        env.clear_memo();
        return Err(RenderError::Cancelled);
    }
    env.clear_memo();
    let mut events = events.into_inner().unwrap_or_else(|p| p.into_inner());
    events.sort_by(|a, b| a.id.cmp(&b.id));

    if opts.materialize {
        update_lock(&env.root, env.store.root(), &events, &index, ids.is_empty())
            .map_err(|e| RenderError::Io(format!("writing {LOCK_FILE}: {e}")))?;
    }
    // Mark what this render used, for `gc --max-size` (least recently used goes first).
    events.iter().filter_map(|e| e.digest).for_each(|d| env.store.touch(&d));
    if opts.materialize {
        // Written after the render (`--keep-frames`), with progress as it goes.
        let (tx, rx) = std::sync::mpsc::channel::<Report>();
        env.set_sink(Some(tx));
        let written = std::thread::scope(|s| {
            // The render's tracker: a video it saw, read again to write its frames, is not news.
            let tracker = &tracker;
            s.spawn(move || {
                // Ends when the sink is dropped below.
                for report in rx {
                    let progress = tracker.lock().unwrap_or_else(|p| p.into_inner()).take(&report);
                    progress.inspect(|p| reporter.progress(p));
                }
            });
            let cx = AfterRender { db, config: &config, index: &index, events: &events, keep_frames: opts.keep_frames };
            let mut written = Vec::new();
            let result = flow::registry(db).flows().try_for_each(|f| f.after_render(&cx).map(|w| written.extend(w)));
            env.set_sink(None);
            result.map(|()| written)
        });
        for (path, files) in written.map_err(RenderError::Io)? {
            reporter.wrote(&path, files);
        }
    }
    let _ = env.stat.save();

    let mut summary = Summary::default();
    for e in &events {
        match e.status {
            Status::Built => summary.built += 1,
            Status::Downloaded => summary.downloaded += 1,
            Status::Restored => summary.restored += 1,
            Status::Fresh => summary.fresh += 1,
            Status::Failed => summary.failed += 1,
            Status::Skipped => summary.skipped += 1,
        }
    }
    summary.ms = t0.elapsed().as_millis() as u64;
    // Whatever was stored after the lock (frames written, reports) is named too.
    env.store.settle_all();
    Ok(Outcome { events, summary, unnamed: env.store.take_unnamed() })
}

/// A render worker's way out: counts it out of `running` when it ends, normally or by a
/// panic, and the last one out wakes the render's loop.
struct WorkerExit<'a> {
    running: &'a AtomicUsize,
    wake: &'a std::sync::mpsc::Sender<Report>,
}

impl Drop for WorkerExit<'_> {
    fn drop(&mut self) {
        if self.running.fetch_sub(1, Ordering::SeqCst) == 1 {
            let _ = self.wake.send(Report::WorkersDone);
        }
    }
}

/// One report from the engine during the render: a part's event is reported and kept, and
/// the progress it makes (or a long artifact's start) goes to the reporter.
fn take(report: Report, tracker: &Mutex<Tracker>, reporter: &dyn Reporter, events: &Mutex<Vec<ArtifactEvent>>) {
    let progress = tracker.lock().unwrap_or_else(|p| p.into_inner()).take(&report);
    if let Some(progress) = progress {
        reporter.progress(&progress);
    }
    if let Report::Part(event) = report {
        reporter.sub_artifact(&event);
        events.lock().unwrap_or_else(|p| p.into_inner()).push(*event);
    }
}

fn failed(id: &str, e: &BuildError) -> ArtifactEvent {
    let mut event = ArtifactEvent::new(id, Status::Failed);
    event.error = Some(e.to_string());
    event
}

/// A planned output that is not made: its stale file (from a run where it was) goes.
fn skipped(db: &Database, decl: &ArtifactDecl, output_dir: Option<&str>, reason: String) -> ArtifactEvent {
    let mut event = ArtifactEvent::new(&decl.id, Status::Skipped);
    event.warnings = vec![reason];
    event.decided = decl.deps.iter().any(|d| db.env().was_computed(d));
    if let Some(dir) = output_dir {
        let path = db.env().root.join(decl.output_path(dir));
        if path.is_file() {
            event.decided = true;
            if let Err(e) = std::fs::remove_file(&path) {
                event.status = Status::Failed;
                event.error = Some(format!("{}: removing the stale output {}: {e}", decl.id, path.display()));
            }
        }
    }
    event
}

/// `--shard`: build this shard's share of an artifact another shard assembles (a video's
/// segments). Reported as skipped, with what was built; the segments report themselves.
fn share(db: &Database, decl: &ArtifactDecl, shard: super::select::Shard) -> ArtifactEvent {
    let cx = super::action::Cx::new(db, &decl.id, &decl.deps);
    match decl.action.share(&cx, shard) {
        Some(Ok(what)) => {
            let mut event = ArtifactEvent::new(&decl.id, Status::Skipped);
            event.warnings = vec![what];
            event.decided = true;
            event
        }
        Some(Err(e)) => failed(&decl.id, &e),
        None => {
            let mut event = ArtifactEvent::new(&decl.id, Status::Skipped);
            event.warnings = vec![format!("shard {}/{} builds it", shard.count, shard.count)];
            event
        }
    }
}

/// Build one artifact and, when asked, make its output file current.
fn process(db: &Database, decl: &ArtifactDecl, output_dir: Option<&str>) -> ArtifactEvent {
    let built = match query::artifact_by_id(db, &decl.id) {
        Ok(b) => b,
        Err(BuildError::Skipped { reason, .. }) => return skipped(db, decl, output_dir, reason),
        Err(e) => return failed(&decl.id, &e),
    };
    let computed = db.env().was_computed(&decl.id);
    let downloaded = db.env().was_downloaded(&decl.id);
    let mut status = if computed {
        Status::Built
    } else if downloaded {
        Status::Downloaded
    } else {
        Status::Fresh
    };
    let mut output = None;
    if let Some(dir) = output_dir {
        let rel = decl.output_path(dir);
        match materialize(db, decl, &built, &rel) {
            Ok(true) if !computed && !downloaded => status = Status::Restored,
            Ok(_) => {}
            Err(e) => return failed(&decl.id, &e),
        }
        output = Some(rel);
    }
    let mut event = ArtifactEvent::new(&decl.id, status);
    event.digest = Some(built.digest);
    event.key = Some(built.key);
    event.output = output;
    event.warnings = db.env().take_warnings(&decl.id);
    event.notes = db.env().take_notes(&decl.id);
    event
}

/// Hands the build order's items to the workers: the first item not yet taken whose
/// dependencies in this render have all finished (looking at most `LOOKAHEAD` items past the
/// first one not taken), else the first one not taken, whose worker then waits for or builds
/// what it needs (salsa shares a query being computed). So a cheap item whose input was just
/// built (a texture file cut from its bundle) runs while other inputs are still being built,
/// instead of a worker waiting behind an input in progress, or all such items running at the
/// end. Which worker builds what never changes an output.
struct Queue {
    /// Indices into the order of each item's dependencies that are in it too.
    deps: Vec<Vec<usize>>,
    state: Mutex<QueueState>,
}

struct QueueState {
    taken: Vec<bool>,
    finished: Vec<bool>,
    /// Every item before it is taken.
    first_open: usize,
    stopped: bool,
}

impl Queue {
    const LOOKAHEAD: usize = 256;

    fn new(order: &[String], index: &BTreeMap<String, ArtifactDecl>) -> Self {
        let mut position: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, id) in order.iter().enumerate() {
            position.entry(id.as_str()).or_insert(i);
        }
        let deps = order
            .iter()
            .map(|id| {
                index.get(id).map_or_else(Vec::new, |decl| {
                    decl.deps.iter().filter_map(|d| position.get(d.as_str()).copied()).collect()
                })
            })
            .collect();
        let n = order.len();
        let state = QueueState { taken: vec![false; n], finished: vec![false; n], first_open: 0, stopped: false };
        Self { deps, state: Mutex::new(state) }
    }

    /// The next item to build, or `None` when every item is taken (or the render stopped).
    fn take(&self) -> Option<usize> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let n = s.taken.len();
        while s.first_open < n && s.taken[s.first_open] {
            s.first_open += 1;
        }
        if s.stopped || s.first_open == n {
            return None;
        }
        let window = s.first_open..n.min(s.first_open + Self::LOOKAHEAD);
        let ready = window
            .into_iter()
            .find(|&i| !s.taken[i] && self.deps[i].iter().all(|&d| s.finished[d]))
            .unwrap_or(s.first_open);
        s.taken[ready] = true;
        Some(ready)
    }

    fn finished(&self, i: usize) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).finished[i] = true;
    }

    /// No item is handed out any more.
    fn stop(&self) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).stopped = true;
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
    let writing = |e: &dyn std::fmt::Display| BuildError::io(&decl.id, &format!("writing {rel}"), e);
    // Copied from the store in pieces, verified on the way; kept only when whole and verified.
    let mut file = TempFile::create(&path, None).map_err(|e| writing(&e))?;
    query::copy_artifact_into(db, &decl.id, &built.digest, &mut file).map_err(|e| match e {
        query::CopyError::Write(e) => writing(&e),
        query::CopyError::Read(e) => writing(&e),
        query::CopyError::Build(e) => e,
    })?;
    file.commit(&path, Durability::Volatile).map_err(|e| writing(&e))?;
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
    let mut records = Vec::new();
    for e in events {
        if e.status == Status::Skipped {
            lock.entries.remove(&e.id);
        }
        let Some(key) = e.key else { continue };
        // History for `explain`: whatever this render computed or restored (intermediates and
        // segments too, and a first build whose lock entry came with the checkout), and every
        // lock entry whose key changed. A no-op render reads and writes none of it.
        let mut record = matches!(e.status, Status::Built | Status::Restored | Status::Downloaded);
        if let (Some(output), Some(digest)) = (&e.output, e.digest) {
            let entry = LockEntry { id: e.id.clone(), path: output.clone(), digest, key };
            let old = lock.entries.insert(e.id.clone(), entry);
            record |= old.is_none_or(|old| old.key != key);
        }
        if record {
            records.push((e.id.as_str(), key));
        }
    }
    if !records.is_empty() {
        history::Book::load(cache).record(records)?;
    }
    if everything {
        lock.entries.retain(|id, _| index.get(id).is_some_and(|a| a.materialized));
    }
    lock.write(&path)
}

#[cfg(test)]
mod tests {
    use super::Queue;
    use crate::engine::select::order_tests::index;

    #[test]
    fn a_worker_takes_ready_work_instead_of_waiting_behind_an_input_in_progress() {
        let index = index(&[("bundle_a", false, &[]), ("file_a", false, &["bundle_a"]), ("bundle_b", false, &[])]);
        let order = ["t/bundle_a", "t/file_a", "t/bundle_b"].map(String::from);
        let queue = Queue::new(&order, &index);
        assert_eq!(queue.take(), Some(0), "the first item");
        // bundle_a is being built: the next worker starts bundle_b rather than wait for it.
        assert_eq!(queue.take(), Some(2));
        queue.finished(0);
        assert_eq!(queue.take(), Some(1));
        assert_eq!(queue.take(), None);

        // Nothing ready: the first item not taken (its worker waits for its input).
        let queue = Queue::new(&order[..2], &index);
        assert_eq!(queue.take(), Some(0));
        assert_eq!(queue.take(), Some(1));
        queue.stop();
        assert_eq!(queue.take(), None);

        let queue = Queue::new(&order, &index);
        queue.stop();
        assert_eq!(queue.take(), None, "a stopped render hands out nothing");
    }
}
