//! `ntsbuild.lock`: one sorted entry per materialized artifact (id, path, digest, action key).
//!
//! The format is TOML written by hand in a fixed layout — one small block per artifact,
//! sorted by id — so that it is deterministic and merges line by line like `Cargo.lock`.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path;

use serde::Deserialize;

use super::digest::Digest;
use super::fsutil::write_atomic;

pub const LOCK_FILE: &str = "ntsbuild.lock";
const LOCK_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LockEntry {
    pub id: String,
    /// Output path relative to the project root, with `/` separators.
    pub path: String,
    pub digest: Digest,
    pub key: Digest,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockFile {
    pub entries: BTreeMap<String, LockEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    version: u32,
    #[serde(default)]
    artifact: Vec<LockEntry>,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{path}: not a valid lock file ({message}); delete it and run `ntsbuild render` to regenerate it")]
    Parse { path: String, message: String },
}

impl LockFile {
    /// Read the lock at `path`; a missing file is an empty lock.
    pub fn read(path: &Path) -> Result<LockFile, LockError> {
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(LockFile::default()),
            Err(source) => return Err(LockError::Io { path: path.display().to_string(), source }),
        };
        let raw: Raw = toml::from_str(&text)
            .map_err(|e| LockError::Parse { path: path.display().to_string(), message: e.message().to_string() })?;
        if raw.version != LOCK_VERSION {
            return Err(LockError::Parse {
                path: path.display().to_string(),
                message: format!("version {} (this ntsbuild writes version {LOCK_VERSION})", raw.version),
            });
        }
        Ok(LockFile { entries: raw.artifact.into_iter().map(|e| (e.id.clone(), e)).collect() })
    }

    pub fn render(&self) -> String {
        let mut out = String::from(
            "# ntsbuild.lock: the digest and action key of every materialized artifact.\n\
             # Written by `ntsbuild render`, checked by `ntsbuild audit`. Do not edit.\n",
        );
        out.push_str(&format!("version = {LOCK_VERSION}\n"));
        for e in self.entries.values() {
            out.push_str(&format!(
                "\n[[artifact]]\nid = {}\npath = {}\ndigest = \"{}\"\nkey = \"{}\"\n",
                toml_string(&e.id),
                toml_string(&e.path),
                e.digest,
                e.key
            ));
        }
        out
    }

    /// Write atomically; unchanged content is not rewritten (keeps mtimes quiet for watchers).
    pub fn write(&self, path: &Path) -> io::Result<()> {
        let text = self.render();
        if fs::read_to_string(path).is_ok_and(|old| old == text) {
            return Ok(());
        }
        write_atomic(path, text.as_bytes())
    }
}

fn toml_string(s: &str) -> String {
    // serde_json's string escaping is a subset of TOML basic-string escaping.
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_sorted() {
        let mut lock = LockFile::default();
        for id in ["song.demo/song.wav", "kit.demo/kick.wav"] {
            lock.entries.insert(
                id.into(),
                LockEntry {
                    id: id.into(),
                    path: format!("renders/{id}"),
                    digest: Digest::of(id.as_bytes()),
                    key: Digest::of(b"k"),
                },
            );
        }
        let text = lock.render();
        assert!(text.find("kit.demo").unwrap() < text.find("song.demo").unwrap());
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(LOCK_FILE);
        lock.write(&p).unwrap();
        assert_eq!(LockFile::read(&p).unwrap(), lock);
    }
}
