//! `watch`: render, then re-render on every change to `Project.toml` or a recipe, keeping the
//! salsa database warm so only what a change invalidated runs again.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use notify_debouncer_full::notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, new_debouncer};
use salsa::Setter;

use super::db::{Db, Mode};
use super::flow::{self, Registry};
use super::render::{self, Outcome, RenderError, Reporter};
use super::session::{self, RECIPES_DIR, Session, Sources};
use crate::project::{self, Diagnostics};

/// Receives what `watch` has to say; the CLI prints it.
pub trait Observer: Reporter {
    fn rendered(&self, outcome: &Outcome);
    fn invalid(&self, diagnostics: &Diagnostics);
    fn error(&self, message: &str);
    fn watching(&self, paths: &[PathBuf]);
}

/// Whether a changed path can change the build: `Project.toml`, a recipe, an input file or a
/// file a source glob matches.
fn relevant(
    root: &Path,
    path: &Path,
    inputs: &BTreeSet<String>,
    locations: &BTreeSet<PathBuf>,
    patterns: &[glob::Pattern],
) -> bool {
    // A file in a declared input root, outside the project.
    if locations.contains(path) {
        return true;
    }
    let Ok(rel) = path.strip_prefix(root) else { return false };
    let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if crate::store::fsutil::is_temp_name(name) {
        return false;
    }
    rel == Path::new(project::settings::PROJECT_FILE)
        || (rel.starts_with(RECIPES_DIR)
            && (rel.extension().is_some_and(|e| e == "toml") || rel == Path::new(RECIPES_DIR)))
        || rel.to_str().is_some_and(|r| inputs.contains(r) || patterns.iter().any(|p| p.matches(r)))
}

/// Run until the process is stopped (or the watcher fails). `ids` as for `render`.
///
/// Each render runs on its own thread over a clone of the database. A relevant change made
/// while it runs updates the inputs at once: salsa cancels the queries in flight (they unwind
/// and record nothing), the render returns `Cancelled`, and a new render starts from the
/// current inputs — so an edit shows up in seconds, not after a stale rebuild finishes.
pub fn watch(
    root: &Path,
    overrides: &[String],
    ids: &[String],
    jobs: usize,
    flows: Registry,
    obs: &dyn Observer,
) -> Result<(), String> {
    let (tx, rx) = mpsc::channel::<DebounceEventResult>();
    let mut debouncer = new_debouncer(Duration::from_millis(150), None, tx).map_err(|e| e.to_string())?;
    let mut watched: Vec<PathBuf> = Vec::new();
    let mut add = |dir: PathBuf, mode: RecursiveMode, watched: &mut Vec<PathBuf>| {
        if !watched.contains(&dir) && dir.is_dir() && debouncer.watch(&dir, mode).is_ok() {
            watched.push(dir);
            obs.watching(watched);
        }
    };
    let mut session: Option<Session> = None;
    let mut inputs: BTreeSet<String> = BTreeSet::new();
    let mut patterns: Vec<glob::Pattern> = Vec::new();
    let mut locations: BTreeSet<PathBuf> = BTreeSet::new();
    std::thread::scope(|scope| {
        let mut running: Option<std::thread::ScopedJoinHandle<'_, Result<Outcome, RenderError>>> = None;
        loop {
            add(root.to_path_buf(), RecursiveMode::NonRecursive, &mut watched);
            add(root.join(RECIPES_DIR), RecursiveMode::Recursive, &mut watched);
            // Updating the inputs cancels the render in flight (and waits for it to unwind).
            let started = match session::read_sources(root) {
                Err(d) => {
                    obs.invalid(&d);
                    false
                }
                Ok(sources) => update(root, sources, overrides, &flows, &mut session, obs),
            };
            if let Some(handle) = running.take() {
                finish(handle, session.as_mut(), obs);
            }
            if started && let Some(s) = session.as_ref() {
                let db = s.db.clone();
                running = Some(scope.spawn(move || {
                    let run = std::panic::AssertUnwindSafe(|| render::render(&db, ids, jobs, obs));
                    salsa::Cancelled::catch(run).unwrap_or(Err(RenderError::Cancelled))
                }));
            }
            // Input files are watched through their directories (never outputs or the cache).
            if let Some(s) = session.as_ref()
                && let Ok(config) = super::query::config(&s.db).clone()
            {
                let globs = s.db.inputs().globs(&s.db).clone();
                inputs = session::input_files(flow::registry(&s.db), &config, &globs).into_iter().collect();
                locations.clear();
                for file in &inputs {
                    let location = crate::project::paths::resolve_input(root, &config.settings.inputs, file)
                        .unwrap_or_else(|_| root.join(file));
                    if let Some(dir) = location.parent() {
                        locations.insert(location.clone());
                        add(dir.to_path_buf(), RecursiveMode::NonRecursive, &mut watched);
                    }
                }
                // A file added where a source glob looks is a change too.
                patterns = globs.keys().filter_map(|g| glob::Pattern::new(g).ok()).collect();
                for p in &patterns {
                    let literal: PathBuf = Path::new(p.as_str())
                        .components()
                        .take_while(|c| !c.as_os_str().to_string_lossy().contains(['*', '?', '[']))
                        .collect();
                    let dir = if literal.as_os_str() == p.as_str() {
                        literal.parent().map(Path::to_path_buf).unwrap_or_default()
                    } else {
                        literal
                    };
                    add(root.join(dir), RecursiveMode::Recursive, &mut watched);
                }
            }
            // Wait for a relevant change (reporting the render when it ends), then let a burst
            // of saves settle into one update.
            loop {
                if running.as_ref().is_some_and(|h| h.is_finished())
                    && let Some(handle) = running.take()
                {
                    finish(handle, session.as_mut(), obs);
                }
                let batch = match rx.recv_timeout(Duration::from_millis(50)) {
                    Ok(b) => b,
                    Err(mpsc::RecvTimeoutError::Timeout) => continue,
                    Err(mpsc::RecvTimeoutError::Disconnected) => return Err("the file watcher stopped".to_string()),
                };
                let hit = match batch {
                    Ok(events) => events
                        .iter()
                        // Reading a file (our own reads included) is not a change.
                        .filter(|e| !matches!(e.kind, notify_debouncer_full::notify::EventKind::Access(_)))
                        .flat_map(|e| e.paths.iter())
                        .any(|p| relevant(root, p, &inputs, &locations, &patterns)),
                    Err(errors) => {
                        obs.error(&format!(
                            "file watcher: {}",
                            errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ")
                        ));
                        false
                    }
                };
                if hit {
                    while rx.recv_timeout(Duration::from_millis(100)).is_ok() {}
                    break;
                }
            }
        }
    })
}

/// Read the project's new state into the database (creating it on first use). Returns whether
/// it is valid, so a render can start; an invalid project keeps the last good outputs.
fn update(
    root: &Path,
    sources: Sources,
    overrides: &[String],
    flows: &Registry,
    session: &mut Option<Session>,
    obs: &dyn Observer,
) -> bool {
    if let Err(d) = project::load(sources.project.as_deref(), &sources.recipes, overrides, &flows.kinds()) {
        obs.invalid(&d);
        return false;
    }
    match session {
        Some(s) => {
            session::set_sources(&mut s.db, sources, overrides);
            true
        }
        None => match Session::from_sources(root, sources, overrides, Mode::Build, None, flows.clone()) {
            Ok(s) => {
                *session = Some(s);
                true
            }
            Err(d) => {
                obs.invalid(&d);
                false
            }
        },
    }
}

/// Report a render that ended; after failures, bump the retry epoch so failed work is tried
/// again on the next change.
fn finish(
    handle: std::thread::ScopedJoinHandle<'_, Result<Outcome, RenderError>>,
    session: Option<&mut Session>,
    obs: &dyn Observer,
) {
    let result = handle.join().unwrap_or_else(|_| Err(RenderError::Io("the render thread panicked".into())));
    match result {
        Ok(outcome) => {
            if outcome.summary.failed > 0
                && let Some(s) = session
            {
                let epoch: u64 = *s.db.inputs().retry_epoch(&s.db);
                let inputs = s.db.inputs();
                inputs.set_retry_epoch(&mut s.db).to(epoch + 1);
            }
            obs.rendered(&outcome);
        }
        Err(RenderError::Cancelled) => {}
        Err(RenderError::Config(d)) => obs.invalid(&d),
        Err(e) => obs.error(&e.to_string()),
    }
}
