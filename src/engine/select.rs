//! Turning the ids on a command line (targets, artifacts, `kind.*` globs) into artifact ids,
//! and ordering a selection with its dependencies so inputs come before what reads them.

use std::collections::{BTreeMap, BTreeSet};

use super::targets::ArtifactDecl;
use crate::project::diagnostic::suggestion;

/// Artifact ids named by `ids` (all artifacts when empty), or an error naming the bad id.
pub fn select(index: &BTreeMap<String, ArtifactDecl>, ids: &[String]) -> Result<Vec<String>, String> {
    if ids.is_empty() {
        return Ok(index.keys().cloned().collect());
    }
    let targets: BTreeSet<&str> = index.values().map(|a| a.target.as_str()).collect();
    let mut out = BTreeSet::new();
    for id in ids {
        let before = out.len();
        if index.contains_key(id) {
            out.insert(id.clone());
        } else if targets.contains(id.as_str()) {
            out.extend(index.values().filter(|a| &a.target == id).map(|a| a.id.clone()));
        } else if id.contains(['*', '?', '[']) {
            let pat = glob::Pattern::new(id).map_err(|e| format!("`{id}` is not a valid pattern: {e}"))?;
            out.extend(index.values().filter(|a| pat.matches(&a.target) || pat.matches(&a.id)).map(|a| a.id.clone()));
            if out.len() == before {
                return Err(format!("`{id}` matches no target or artifact"));
            }
        } else {
            let candidates = targets.iter().copied().chain(index.keys().map(String::as_str));
            let hint = suggestion(id, candidates);
            return Err(format!("no target or artifact `{id}`{hint}; see `ntsbuild list`"));
        }
    }
    Ok(out.into_iter().collect())
}

/// `selected` plus everything it depends on, in dependency order (deterministic).
pub fn with_dependencies(index: &BTreeMap<String, ArtifactDecl>, selected: &[String]) -> Vec<String> {
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    fn visit(id: &str, index: &BTreeMap<String, ArtifactDecl>, seen: &mut BTreeSet<String>, order: &mut Vec<String>) {
        if !seen.insert(id.to_string()) {
            return;
        }
        if let Some(a) = index.get(id) {
            for d in &a.deps {
                visit(d, index, seen, order);
            }
        }
        order.push(id.to_string());
    }
    for id in selected {
        visit(id, index, &mut seen, &mut order);
    }
    order
}
