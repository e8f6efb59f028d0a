//! `status`, `render --dry-run` and `explain`: what would be built and why, found by running
//! the queries in plan mode (look-ups only) and comparing action descriptions with the lock.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::db::{Database, Db};
use super::query::{self, BuildError};
use super::render::RenderError;
use super::select;
use crate::store::history;
use crate::store::lockfile::{LOCK_FILE, LockFile};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Fresh,
    /// In the store; only the output file must be written.
    Restore(String),
    /// Must be computed; the reasons, one per changed input.
    Build(Vec<String>),
    Failed(String),
    /// A planned output its inputs cannot give (a texture its source does not have): nothing
    /// to do until an input changes. The reason.
    Skipped(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanItem {
    pub id: String,
    pub state: State,
    /// Whether it was asked for (not only needed by something asked for).
    pub requested: bool,
    pub materialized: bool,
}

/// What `render ids` would do. `db` should be in plan mode.
pub fn plan(db: &Database, ids: &[String]) -> Result<Vec<PlanItem>, RenderError> {
    plan_with(db, ids, &Past::read(db))
}

/// [`plan`] against what `past` remembers (read once by a caller that plans many times).
fn plan_with(db: &Database, ids: &[String], past: &Past) -> Result<Vec<PlanItem>, RenderError> {
    query::config(db).clone().map_err(RenderError::Config)?;
    let index = query::artifact_index(db).clone();
    let selected = select::select(&index, ids).map_err(RenderError::Selection)?;
    let requested: BTreeSet<&String> = selected.iter().collect();
    let output_dir = query::config(db).as_ref().map(|c| c.settings.output_dir.clone()).unwrap_or_default();
    let mut items = Vec::new();
    for id in select::with_dependencies(&index, &selected) {
        let decl = &index[&id];
        let is_requested = requested.contains(&id);
        let state = match query::artifact_by_id(db, &id) {
            Ok(built) if decl.materialized && is_requested => {
                let rel = decl.output_path(&output_dir);
                match db.env().stat.digest(&db.env().root.join(&rel)) {
                    Ok(Some(d)) if d == built.digest => State::Fresh,
                    Ok(Some(d)) if past.lock.entries.get(&id).is_some_and(|e| e.digest == d) => {
                        State::Restore(format!(
                            "{rel} holds another build ({}, e.g. from a --set run); the current one ({}) is in the store",
                            d.short(),
                            built.digest.short()
                        ))
                    }
                    Ok(Some(_)) => {
                        State::Restore(format!("{rel} was modified by hand; it will be restored from the store"))
                    }
                    Ok(None) => State::Restore(format!("{rel} is missing; it will be restored from the store")),
                    Err(e) => State::Failed(format!("reading {rel}: {e}")),
                }
            }
            Ok(_) => State::Fresh,
            Err(e) => unbuilt_state(db, past, &id, e),
        };
        items.push(PlanItem { id, state, requested: is_requested, materialized: decl.materialized });
    }
    Ok(items)
}

/// The state of an artifact whose look-up did not give a current result.
/// What the project and the store remember of earlier builds: the lock, and the build history
/// (read when first needed).
struct Past {
    lock: LockFile,
    history: std::cell::OnceCell<history::Book>,
    store: std::path::PathBuf,
}

impl Past {
    fn read(db: &Database) -> Past {
        let lock = LockFile::read(&db.env().root.join(LOCK_FILE)).unwrap_or_default();
        Past { lock, history: Default::default(), store: db.env().store.root().to_path_buf() }
    }

    fn history(&self) -> &history::Book {
        self.history.get_or_init(|| history::Book::load(&self.store))
    }

    /// The key `id` was last built by: its lock entry's, or the history's.
    fn key(&self, id: &str) -> Option<crate::store::digest::Digest> {
        self.lock.entries.get(id).map(|e| e.key).or_else(|| self.history().get(id).map(|h| h.key))
    }
}

fn unbuilt_state(db: &Database, past: &Past, id: &str, e: BuildError) -> State {
    match e {
        BuildError::Skipped { reason, .. } => State::Skipped(reason),
        // An input of a sub-artifact (a segment's latents) must be built first.
        BuildError::NeedsBuild { id: other, .. } if other != id => {
            State::Build(vec![format!("its input {other} must be built first")])
        }
        BuildError::NeedsBuild { desc, upstream, .. } => State::Build(reasons(db, past, id, desc, upstream)),
        e => State::Failed(e.to_string()),
    }
}

/// What `explain` says about one artifact or sub-artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub id: String,
    pub state: State,
    /// For a current one, why it was last built on this machine: `["first build"]`, the
    /// changed inputs, or empty (rebuilt with identical inputs); `None` when this machine has
    /// no record (its result came from another checkout's store, or before history was kept).
    pub last_build: Option<Vec<String>>,
    /// For a stale one: the stale artifacts upstream whose own inputs changed, with the reasons.
    pub upstream: Vec<(String, Vec<String>)>,
}

/// `explain ID`: an artifact, every artifact of a target or glob, or a sub-artifact that a
/// flow finds while building (a video segment, as the progress bar names it). `db` should be
/// in plan mode.
pub fn explain(db: &Database, id: &str) -> Result<Vec<Explanation>, RenderError> {
    query::config(db).clone().map_err(RenderError::Config)?;
    let index = query::artifact_index(db).clone();
    // The lock and the history, read once for every artifact explained.
    let past = Past::read(db);
    if !index.contains_key(id)
        && let Some(result) = super::flow::registry(db).sub_artifact(db, &index, id)
    {
        let mut upstream = Vec::new();
        let state = match result {
            Ok(_) => State::Fresh,
            Err(BuildError::Unknown { .. }) => {
                return Err(RenderError::Selection(format!("`{id}` is past the end of its track")));
            }
            Err(e) => {
                if let BuildError::NeedsBuild { id: other, .. } = &e
                    && other != id
                {
                    upstream = stale_upstream(db, &past, other)?;
                }
                unbuilt_state(db, &past, id, e)
            }
        };
        return Ok(vec![explanation(db, &past, id, state, upstream)]);
    }
    let selected = select::select(&index, &[id.to_string()]).map_err(RenderError::Selection)?;
    let mut out = Vec::new();
    for artifact in selected {
        let items = plan_with(db, std::slice::from_ref(&artifact), &past)?;
        let Some(item) = items.iter().find(|i| i.id == artifact) else { continue };
        let mut upstream =
            if matches!(item.state, State::Build(_)) { stale_upstream(db, &past, &artifact)? } else { Vec::new() };
        upstream.retain(|(u, _)| u != &artifact);
        out.push(explanation(db, &past, &artifact, item.state.clone(), upstream));
    }
    Ok(out)
}

fn explanation(
    db: &Database,
    past: &Past,
    id: &str,
    state: State,
    upstream: Vec<(String, Vec<String>)>,
) -> Explanation {
    let last_build = if state == State::Fresh { last_rebuild_reasons(db, past.history(), id) } else { None };
    Explanation { id: id.to_string(), state, last_build, upstream }
}

/// `id` and the artifacts it needs that are stale for a reason of their own, not only because
/// an input must be built first.
fn stale_upstream(db: &Database, past: &Past, id: &str) -> Result<Vec<(String, Vec<String>)>, RenderError> {
    Ok(plan_with(db, &[id.to_string()], past)?
        .into_iter()
        .filter_map(|i| match i.state {
            State::Build(r) if !r.iter().all(|r| r.ends_with("must be built first")) => Some((i.id, r)),
            _ => None,
        })
        .collect())
}

fn reasons(db: &Database, past: &Past, id: &str, desc: Option<String>, upstream: Option<String>) -> Vec<String> {
    if let Some(dep) = upstream {
        return vec![format!("its input {dep} must be built first")];
    }
    let Some(new) = desc.and_then(|d| serde_json::from_str::<Value>(&d).ok()) else {
        return vec!["its action description is unavailable".into()];
    };
    let Some(previous) = past.key(id) else { return vec!["never built".into()] };
    match db.env().store.action(&previous) {
        Some(entry) => {
            let d = diff(&entry.desc, &new);
            if d.is_empty() { vec!["its cached result is missing from the store".into()] } else { d }
        }
        None => vec![format!("its previous build ({}) is no longer in the store", previous.short())],
    }
}

/// Why `id` was last rebuilt: the difference between its previous and current actions.
fn last_rebuild_reasons(db: &Database, history: &history::Book, id: &str) -> Option<Vec<String>> {
    let h = history.get(id)?;
    let now = db.env().store.action(&h.key)?;
    let Some(prev_key) = h.previous_key else { return Some(vec!["first build".into()]) };
    let prev = db.env().store.action(&prev_key)?;
    Some(diff(&prev.desc, &now.desc))
}

fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&p, v, out);
            }
        }
        Value::Array(items) if items.iter().all(|i| !i.is_object()) => {
            out.insert(prefix.to_string(), v.to_string());
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), v, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

fn describe(path: &str) -> String {
    if let Some(dep) = path.strip_prefix("inputs.") {
        format!("input {dep}")
    } else if path == "version" {
        "the computation's VERSION (this ntsbuild computes it differently)".into()
    } else {
        path.strip_prefix("params.").unwrap_or(path).to_string()
    }
}

fn short(v: &str) -> String {
    let v = v.trim_matches('"');
    if v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()) { v[..12].to_string() } else { v.to_string() }
}

/// Human-readable differences between two action descriptions, one line per changed input.
pub fn diff(old: &Value, new: &Value) -> Vec<String> {
    let (mut a, mut b) = (BTreeMap::new(), BTreeMap::new());
    flatten("", old, &mut a);
    flatten("", new, &mut b);
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let mut out = Vec::new();
    for k in keys {
        match (a.get(k), b.get(k)) {
            (Some(x), Some(y)) if x != y => out.push(format!("{} changed: {} → {}", describe(k), short(x), short(y))),
            (None, Some(y)) => out.push(format!("{} added: {}", describe(k), short(y))),
            (Some(x), None) => out.push(format!("{} removed (was {})", describe(k), short(x))),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_names_the_changed_parameter() {
        let a = serde_json::json!({"query":"kit_voice","version":1,"inputs":{},"params":{"voice":{"params":{"punch_decay":0.3,"tune":45.0}}}});
        let b = serde_json::json!({"query":"kit_voice","version":1,"inputs":{},"params":{"voice":{"params":{"punch_decay":0.6,"tune":45.0}}}});
        assert_eq!(diff(&a, &b), vec!["voice.params.punch_decay changed: 0.3 → 0.6"]);
    }
}
