//! `audit`: check lock ⇄ store ⇄ outputs by re-hashing everything; `audit --rebuild`:
//! recompute into a scratch store and compare bit for bit with the lock.

use std::collections::BTreeMap;
use std::path::Path;

use rayon::prelude::*;

use super::render::{self, Reporter};
use super::session::{Session, Sources};
use crate::store::lockfile::{LOCK_FILE, LockFile};
use crate::store::{BlobError, Digest, Store};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AuditReport {
    pub checked_entries: usize,
    pub checked_blobs: usize,
    /// One line per mismatch, sorted.
    pub problems: Vec<String>,
}

pub fn audit(root: &Path, store: &Store) -> Result<AuditReport, String> {
    let lock = LockFile::read(&root.join(LOCK_FILE)).map_err(|e| e.to_string())?;
    let mut problems: Vec<String> = lock
        .entries
        .par_iter()
        .flat_map_iter(|(id, e)| {
            let mut p = Vec::new();
            match store.action(&e.key) {
                None => p.push(format!("{id}: action {} is not in the action cache", e.key.short())),
                Some(a) if a.output != e.digest => p.push(format!(
                    "{id}: the action cache says action {} produced {}, the lock says {}",
                    e.key.short(),
                    a.output.short(),
                    e.digest.short()
                )),
                Some(_) => {}
            }
            match std::fs::read(root.join(&e.path)) {
                Ok(bytes) if Digest::of(&bytes) == e.digest => {}
                Ok(bytes) => p.push(format!(
                    "{id}: {} hashes to {}, the lock says {} (edited by hand? `ntsbuild render` restores it)",
                    e.path,
                    Digest::of(&bytes).short(),
                    e.digest.short()
                )),
                Err(err) => p.push(format!("{id}: {}: {err}", e.path)),
            }
            p
        })
        .collect();
    let blobs = store.blobs().map_err(|e| e.to_string())?;
    let referenced: BTreeMap<Digest, &str> = lock.entries.values().map(|e| (e.digest, e.id.as_str())).collect();
    problems.extend(
        blobs
            .par_iter()
            .filter_map(|(d, _, _)| match store.read(d) {
                Ok(_) => None,
                Err(BlobError::Corrupt(_, actual)) => Some(format!(
                    "blob {}{} is corrupt (hashes to {}); moved to quarantine, `ntsbuild render` rebuilds it",
                    d.short(),
                    referenced.get(d).map(|id| format!(" ({id})")).unwrap_or_default(),
                    actual.short()
                )),
                Err(e) => Some(e.to_string()),
            })
            .collect::<Vec<_>>(),
    );
    for (d, id) in &referenced {
        if !blobs.iter().any(|(b, _, _)| b == d) {
            problems.push(format!("{id}: blob {} is missing from the store", d.short()));
        }
    }
    problems.sort();
    Ok(AuditReport { checked_entries: lock.entries.len(), checked_blobs: blobs.len(), problems })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebuildDiff {
    pub id: String,
    pub locked: Option<Digest>,
    pub rebuilt: Option<Digest>,
    pub error: Option<String>,
}

/// Recompute `ids` (all when empty) from scratch in a temporary store and compare with the lock.
pub fn audit_rebuild(
    root: &Path,
    sources: Sources,
    overrides: &[String],
    ids: &[String],
    jobs: usize,
    flows: super::flow::Registry,
    reporter: &dyn Reporter,
) -> Result<(usize, Vec<RebuildDiff>), String> {
    let lock = LockFile::read(&root.join(LOCK_FILE)).map_err(|e| e.to_string())?;
    let scratch = tempfile::Builder::new().prefix("ntsbuild-audit-").tempdir().map_err(|e| e.to_string())?;
    let session = Session::from_sources(root, sources, overrides, super::db::Mode::Build, Some(scratch.path()), flows)
        .map_err(|d| d.to_string())?;
    let opts = render::Options { materialize: false, ..render::Options::new(jobs) };
    let outcome = render::render_with(&session.db, ids, opts, reporter).map_err(|e| e.to_string())?;
    let mut diffs = Vec::new();
    let mut compared = 0;
    for e in &outcome.events {
        let Some(entry) = lock.entries.get(&e.id) else { continue };
        compared += 1;
        if e.digest != Some(entry.digest) {
            diffs.push(RebuildDiff {
                id: e.id.clone(),
                locked: Some(entry.digest),
                rebuilt: e.digest,
                error: e.error.clone(),
            });
        }
    }
    Ok((compared, diffs))
}
