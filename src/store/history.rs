//! Per-artifact build history (current and previous action key), for `explain`.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::digest::Digest;
use super::fsutil::replace_file;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct History {
    pub id: String,
    pub key: Digest,
    pub previous_key: Option<Digest>,
}

fn path(cache: &Path, id: &str) -> PathBuf {
    cache.join("history").join(format!("{}.json", Digest::of(id.as_bytes()).hex()))
}

pub fn read(cache: &Path, id: &str) -> Option<History> {
    serde_json::from_slice(&fs::read(path(cache, id)).ok()?).ok()
}

/// Record that `id` is now built by `key` (no-op when it already was).
pub fn record(cache: &Path, id: &str, key: Digest) -> std::io::Result<()> {
    let old = read(cache, id);
    if old.as_ref().is_some_and(|h| h.key == key) {
        return Ok(());
    }
    let h = History { id: id.to_string(), key, previous_key: old.map(|h| h.key) };
    replace_file(&path(cache, id), &serde_json::to_vec_pretty(&h).map_err(std::io::Error::other)?)
}
