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
fn relevant(root: &Path, path: &Path, inputs: &BTreeSet<String>, patterns: &[glob::Pattern]) -> bool {
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
pub fn watch(root: &Path, overrides: &[String], ids: &[String], jobs: usize, obs: &dyn Observer) -> Result<(), String> {
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
    loop {
        add(root.to_path_buf(), RecursiveMode::NonRecursive, &mut watched);
        add(root.join(RECIPES_DIR), RecursiveMode::Recursive, &mut watched);
        match session::read_sources(root) {
            Err(d) => obs.invalid(&d),
            Ok(sources) => rebuild(root, sources, overrides, ids, jobs, &mut session, obs),
        }
        // Input files are watched through their directories (never outputs or the cache).
        if let Some(s) = session.as_ref()
            && let Ok(config) = super::query::config(&s.db).clone()
        {
            let globs = s.db.inputs().globs(&s.db).clone();
            inputs = session::input_files(&config, &globs).into_iter().collect();
            for file in &inputs {
                if let Some(dir) = root.join(file).parent() {
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
        // Wait for a relevant change, then let a burst of saves settle into one rebuild.
        loop {
            let batch = rx.recv().map_err(|_| "the file watcher stopped".to_string())?;
            let hit = match batch {
                Ok(events) => events
                    .iter()
                    // Reading a file (our own reads included) is not a change.
                    .filter(|e| !matches!(e.kind, notify_debouncer_full::notify::EventKind::Access(_)))
                    .flat_map(|e| e.paths.iter())
                    .any(|p| relevant(root, p, &inputs, &patterns)),
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
}

fn rebuild(
    root: &Path,
    sources: Sources,
    overrides: &[String],
    ids: &[String],
    jobs: usize,
    session: &mut Option<Session>,
    obs: &dyn Observer,
) {
    if let Err(d) = project::load(sources.project.as_deref(), &sources.recipes, overrides) {
        // Keep the last good outputs; say what is wrong and wait for the fix.
        obs.invalid(&d);
        return;
    }
    let s = match session {
        Some(s) => {
            session::set_sources(&mut s.db, sources, overrides);
            s
        }
        None => match Session::from_sources(root, sources, overrides, Mode::Build, None) {
            Ok(s) => session.insert(s),
            Err(d) => {
                obs.invalid(&d);
                return;
            }
        },
    };
    match render::render(&s.db, ids, jobs, obs) {
        Ok(outcome) => {
            if outcome.summary.failed > 0 {
                let inputs = s.db.inputs();
                let epoch: u64 = *inputs.retry_epoch(&s.db);
                let inputs = s.db.inputs();
                inputs.set_retry_epoch(&mut s.db).to(epoch + 1);
            }
            obs.rendered(&outcome);
        }
        Err(RenderError::Config(d)) => obs.invalid(&d),
        Err(e) => obs.error(&e.to_string()),
    }
}
