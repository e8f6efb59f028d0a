//! `watch`: render, then re-render on every change to `Project.toml` or a recipe, keeping the
//! salsa database warm so only what a change invalidated runs again.

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

/// Whether a changed path can change the build: `Project.toml` or a recipe.
fn relevant(root: &Path, path: &Path) -> bool {
    let Ok(rel) = path.strip_prefix(root) else { return false };
    let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if crate::store::fsutil::is_temp_name(name) {
        return false;
    }
    rel == Path::new(project::settings::PROJECT_FILE)
        || (rel.starts_with(RECIPES_DIR)
            && (rel.extension().is_some_and(|e| e == "toml") || rel == Path::new(RECIPES_DIR)))
}

/// Run until the process is stopped (or the watcher fails). `ids` as for `render`.
pub fn watch(root: &Path, overrides: &[String], ids: &[String], jobs: usize, obs: &dyn Observer) -> Result<(), String> {
    let (tx, rx) = mpsc::channel::<DebounceEventResult>();
    let mut debouncer = new_debouncer(Duration::from_millis(150), None, tx).map_err(|e| e.to_string())?;
    let recipes = root.join(RECIPES_DIR);
    let mut watched = vec![root.to_path_buf()];
    debouncer.watch(root, RecursiveMode::NonRecursive).map_err(|e| format!("watching {}: {e}", root.display()))?;
    let mut recipes_watched = false;
    let mut session: Option<Session> = None;
    let mut last: Option<Sources> = None;
    loop {
        if !recipes_watched && recipes.is_dir() {
            debouncer
                .watch(&recipes, RecursiveMode::Recursive)
                .map_err(|e| format!("watching {}: {e}", recipes.display()))?;
            watched.push(recipes.clone());
            recipes_watched = true;
            obs.watching(&watched);
        }
        match session::read_sources(root) {
            Err(d) => obs.invalid(&d),
            Ok(sources) if last.as_ref() != Some(&sources) => {
                last = Some(sources.clone());
                rebuild(root, sources, overrides, ids, jobs, &mut session, obs);
            }
            Ok(_) => {}
        }
        // Wait for a relevant change, then let a burst of saves settle into one rebuild.
        loop {
            let batch = rx.recv().map_err(|_| "the file watcher stopped".to_string())?;
            let hit = match batch {
                Ok(events) => events.iter().flat_map(|e| e.paths.iter()).any(|p| relevant(root, p)),
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
