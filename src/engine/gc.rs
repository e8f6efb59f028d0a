//! `gc`: drop store entries that nothing in the lock needs (optionally keeping the most recently
//! used ones up to a size budget), plus leftovers of killed processes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::store::lockfile::{LOCK_FILE, LockFile};
use crate::store::{Digest, Store};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GcReport {
    pub kept_blobs: usize,
    pub kept_bytes: u64,
    pub removed_blobs: usize,
    pub removed_bytes: u64,
    pub removed_actions: usize,
}

pub fn gc(root: &Path, store: &Store, max_size: Option<u64>) -> Result<GcReport, String> {
    let lock = LockFile::read(&root.join(LOCK_FILE)).map_err(|e| e.to_string())?;
    let keys = store.action_keys().map_err(|e| e.to_string())?;
    let actions: BTreeMap<Digest, _> = keys.iter().filter_map(|k| Some((*k, store.action(k)?))).collect();
    // Which actions produced each blob: the way from a needed blob to the blobs it was made from.
    let mut producers: BTreeMap<Digest, Vec<Digest>> = BTreeMap::new();
    for (k, a) in &actions {
        producers.entry(a.output).or_default().push(*k);
    }
    let mut live: BTreeSet<Digest> = BTreeSet::new();
    let mut stack: Vec<Digest> = lock.entries.values().map(|e| e.digest).collect();
    while let Some(d) = stack.pop() {
        if !live.insert(d) {
            continue;
        }
        for k in producers.get(&d).into_iter().flatten() {
            stack.extend(actions[k].inputs.iter().copied());
        }
    }
    let mut blobs = store.blobs().map_err(|e| e.to_string())?;
    // Most recently written first, so a size budget keeps the newest unreferenced entries.
    blobs.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    let mut report = GcReport::default();
    let mut removed = BTreeSet::new();
    for (d, size, _) in blobs {
        let keep = live.contains(&d) || max_size.is_some_and(|max| report.kept_bytes + size <= max);
        if keep {
            report.kept_blobs += 1;
            report.kept_bytes += size;
        } else if store.remove_blob(&d).is_ok() {
            report.removed_blobs += 1;
            report.removed_bytes += size;
            removed.insert(d);
        }
    }
    let needed_keys: BTreeSet<Digest> = lock.entries.values().map(|e| e.key).collect();
    for (k, a) in &actions {
        if removed.contains(&a.output) || (!store.has(&a.output, a.size) && !needed_keys.contains(k)) {
            store.remove_action(k);
            report.removed_actions += 1;
        }
    }
    store.sweep_temp_files();
    let _ = std::fs::remove_dir_all(store.root().join("quarantine"));
    Ok(report)
}
