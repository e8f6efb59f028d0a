//! `gc`: drop store entries that nothing in the lock needs, plus leftovers of killed processes.
//! What the lock needs is its outputs and everything they were built from, followed through
//! the action entries (inputs, and the sub-artifacts a computation read, such as a video's
//! segments), so a postFX tweak after `gc` decodes nothing. With a size cap, unreferenced
//! entries are kept as a cache as far as the cap allows and the store is brought under it,
//! least recently used first: unreferenced entries, then what the lock's outputs were built
//! from; the lock's outputs themselves are never dropped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::store::lockfile::{LOCK_FILE, LockFile};
use crate::store::{Digest, Store};

/// Blobs of one class: how many, how many bytes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub blobs: usize,
    pub bytes: u64,
}

impl Tally {
    fn add(&mut self, bytes: u64) {
        self.blobs += 1;
        self.bytes += bytes;
    }
}

/// What `gc` kept and dropped, by class.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GcReport {
    /// The blobs of the lock's outputs (never dropped).
    pub kept_outputs: Tally,
    /// Blobs the lock's outputs were built from (features, bundles, video segments, …).
    pub kept_built_from: Tally,
    /// Blobs nothing in the lock needs, kept under `--max-size`.
    pub kept_unreferenced: Tally,
    pub removed_unreferenced: Tally,
    pub removed_built_from: Tally,
    pub removed_actions: usize,
    /// The size cap, when the lock's outputs alone are larger: the store could not be brought
    /// under it.
    pub over_cap: Option<u64>,
}

impl GcReport {
    pub fn kept(&self) -> Tally {
        Tally {
            blobs: self.kept_outputs.blobs + self.kept_built_from.blobs + self.kept_unreferenced.blobs,
            bytes: self.kept_outputs.bytes + self.kept_built_from.bytes + self.kept_unreferenced.bytes,
        }
    }

    pub fn removed(&self) -> Tally {
        Tally {
            blobs: self.removed_unreferenced.blobs + self.removed_built_from.blobs,
            bytes: self.removed_unreferenced.bytes + self.removed_built_from.bytes,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    /// Dropped first.
    Unreferenced,
    BuiltFrom,
    Output,
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
    let outputs: BTreeSet<Digest> = lock.entries.values().map(|e| e.digest).collect();
    let mut live: BTreeSet<Digest> = BTreeSet::new();
    let mut stack: Vec<Digest> = outputs.iter().copied().collect();
    while let Some(d) = stack.pop() {
        if !live.insert(d) {
            continue;
        }
        for k in producers.get(&d).into_iter().flatten() {
            stack.extend(actions[k].inputs.iter().chain(&actions[k].parts).copied());
        }
    }
    let class = |d: &Digest| {
        if outputs.contains(d) {
            Class::Output
        } else if live.contains(d) {
            Class::BuiltFrom
        } else {
            Class::Unreferenced
        }
    };
    let mut blobs = store.blobs().map_err(|e| e.to_string())?;
    // The drop order: unreferenced before what the lock needs, least recently used first
    // (a render marks the blobs it uses; see `Store::touch`).
    blobs.sort_by(|a, b| class(&a.0).cmp(&class(&b.0)).then(a.2.cmp(&b.2)).then(a.0.cmp(&b.0)));
    let mut total: u64 = blobs.iter().map(|b| b.1).sum();
    let mut report = GcReport::default();
    let mut removed = BTreeSet::new();
    for (d, size, _) in blobs {
        let c = class(&d);
        let drop = match (c, max_size) {
            (Class::Output, _) => false,
            (Class::Unreferenced, None) => true,
            (Class::BuiltFrom, None) => false,
            (_, Some(max)) => total > max,
        };
        if drop && store.remove_blob(&d).is_ok() {
            total -= size;
            removed.insert(d);
            match c {
                Class::Unreferenced => report.removed_unreferenced.add(size),
                _ => report.removed_built_from.add(size),
            }
            continue;
        }
        match c {
            Class::Output => report.kept_outputs.add(size),
            Class::BuiltFrom => report.kept_built_from.add(size),
            Class::Unreferenced => report.kept_unreferenced.add(size),
        }
    }
    if let Some(max) = max_size
        && total > max
    {
        report.over_cap = Some(max);
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
