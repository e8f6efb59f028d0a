//! Build history (each artifact's current and previous action key), for `explain`: one file,
//! `history.json` in the store, rewritten once by a render that built or restored something.
//! A store from before that file kept one small file per artifact (`history/<blake3 of id>.json`);
//! an id the book lacks is still looked up there.

use std::collections::BTreeMap;
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

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Keys {
    key: Digest,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    previous_key: Option<Digest>,
}

const FILE: &str = "history.json";

/// The store's build history, read once.
#[derive(Debug, Default)]
pub struct Book {
    root: PathBuf,
    entries: BTreeMap<String, Keys>,
    /// The per-artifact files of an older store exist.
    legacy: bool,
}

impl Book {
    /// The history of the store at `cache`. A missing or unreadable file is an empty history:
    /// it only explains, nothing is built from it.
    pub fn load(cache: &Path) -> Book {
        let entries = fs::read(cache.join(FILE)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
        Book { root: cache.to_path_buf(), entries, legacy: cache.join("history").is_dir() }
    }

    pub fn get(&self, id: &str) -> Option<History> {
        match self.entries.get(id) {
            Some(k) => Some(History { id: id.to_string(), key: k.key, previous_key: k.previous_key }),
            None if self.legacy => {
                let path = self.root.join("history").join(format!("{}.json", Digest::of(id.as_bytes()).hex()));
                serde_json::from_slice(&fs::read(path).ok()?).ok()
            }
            None => None,
        }
    }

    /// Record that each `id` is now built by its `key` (no change for one that already was), and
    /// write the book when anything changed: one file however many artifacts a render built.
    pub fn record<'a>(mut self, built: impl IntoIterator<Item = (&'a str, Digest)>) -> std::io::Result<()> {
        let mut changed = false;
        for (id, key) in built {
            let old = self.get(id);
            if old.as_ref().is_some_and(|h| h.key == key) {
                self.entries
                    .entry(id.to_string())
                    .or_insert(Keys { key, previous_key: old.and_then(|h| h.previous_key) });
                continue;
            }
            self.entries.insert(id.to_string(), Keys { key, previous_key: old.map(|h| h.key) });
            changed = true;
        }
        if !changed {
            return Ok(());
        }
        let bytes = serde_json::to_vec_pretty(&self.entries).map_err(std::io::Error::other)?;
        replace_file(&self.root.join(FILE), &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> Digest {
        Digest::of(&[n])
    }

    #[test]
    fn a_key_that_changes_keeps_the_one_before_and_an_unchanged_one_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        Book::load(dir.path()).record([("a", key(1)), ("b", key(2))]).unwrap();
        let book = Book::load(dir.path());
        assert_eq!(book.get("a"), Some(History { id: "a".into(), key: key(1), previous_key: None }));
        assert_eq!(book.get("c"), None);

        book.record([("a", key(3)), ("b", key(2))]).unwrap();
        let book = Book::load(dir.path());
        assert_eq!(book.get("a").unwrap().previous_key, Some(key(1)), "the key it was built by before");
        assert_eq!(book.get("b"), Some(History { id: "b".into(), key: key(2), previous_key: None }));

        let torn = b"{\"a\": {\"key\": \"not a dig";
        fs::write(dir.path().join(FILE), torn).unwrap();
        assert_eq!(Book::load(dir.path()).get("a"), None, "an unreadable book is an empty history");
        Book::load(dir.path()).record(std::iter::empty()).unwrap();
        assert_eq!(fs::read(dir.path().join(FILE)).unwrap(), torn, "nothing built, nothing written");
        Book::load(dir.path()).record([("a", key(3))]).unwrap();
        assert_eq!(Book::load(dir.path()).get("a").unwrap().key, key(3), "written whole again");
    }

    #[test]
    fn an_older_stores_file_per_artifact_is_read_and_carried_into_the_book() {
        let dir = tempfile::tempdir().unwrap();
        let legacy = dir.path().join("history");
        fs::create_dir_all(&legacy).unwrap();
        let old = History { id: "a".into(), key: key(1), previous_key: Some(key(0)) };
        let name = format!("{}.json", Digest::of(b"a").hex());
        fs::write(legacy.join(name), serde_json::to_vec(&old).unwrap()).unwrap();

        assert_eq!(Book::load(dir.path()).get("a"), Some(old));
        Book::load(dir.path()).record([("a", key(2))]).unwrap();
        fs::remove_dir_all(&legacy).unwrap();
        assert_eq!(Book::load(dir.path()).get("a").unwrap().previous_key, Some(key(1)));
    }
}
