//! Turning the ids on a command line (targets, artifacts, `kind.*` globs) into artifact ids,
//! and ordering a selection with its dependencies so inputs come before what reads them.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use super::action::ArtifactDecl;
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

/// Where a ready artifact goes in the build order: heavy or not, then the latest step that made
/// it ready first, then its place among the selected artifacts and their inputs.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Rank(bool, Reverse<usize>, usize);

/// The order a render takes work in: every input before what reads it and, among the artifacts
/// whose inputs are ready, cheap ones before heavy ones (video), so a small edit shows up
/// before a long rebuild finishes. Deterministic.
pub fn build_order(index: &BTreeMap<String, ArtifactDecl>, selected: &[String]) -> Vec<String> {
    let all = with_dependencies(index, selected);
    let position: BTreeMap<&str, usize> = all.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    let mut waiting: BTreeMap<&str, usize> = BTreeMap::new();
    let mut readers: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for id in &all {
        let deps: Vec<&str> = index
            .get(id)
            .map(|a| a.deps.iter().map(String::as_str).filter(|d| position.contains_key(d)).collect())
            .unwrap_or_default();
        waiting.insert(id, deps.len());
        for d in deps {
            readers.entry(d).or_default().push(id);
        }
    }
    // Among cheap (or among heavy) artifacts, the one whose inputs were placed last comes
    // first: what reads an artifact follows it closely (a texture file right after its bundle),
    // so the workers (see `render::Queue`) take it as soon as its input is built rather than
    // after every other input.
    let rank =
        |id: &str, step: usize| Rank(index.get(id).is_some_and(|a| a.action.heavy()), Reverse(step), position[id]);
    let mut ready: BTreeSet<(Rank, &str)> =
        waiting.iter().filter(|(_, n)| **n == 0).map(|(id, _)| (rank(id, 0), *id)).collect();
    let mut order = Vec::with_capacity(all.len());
    while let Some(next) = ready.pop_first() {
        let id = next.1;
        order.push(id.to_string());
        for r in readers.get(id).into_iter().flatten() {
            if let Some(n) = waiting.get_mut(r) {
                *n -= 1;
                if *n == 0 {
                    ready.insert((rank(r, order.len()), r));
                }
            }
        }
    }
    // A dependency cycle leaves its members waiting: queue them last; building them reports it.
    let placed: BTreeSet<String> = order.iter().cloned().collect();
    order.extend(all.iter().filter(|id| !placed.contains(*id)).cloned());
    order
}

/// `render --shard K/N`: this machine's share of a render split across N machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 0-based (`K - 1`).
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// `K/N` with 1 ≤ K ≤ N ≤ 1000.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let err = || format!("`{s}` is not a shard: expected K/N with 1 ≤ K ≤ N ≤ 1000, e.g. 2/3");
        let (k, n) = s.split_once('/').ok_or_else(err)?;
        let (k, n): (u32, u32) = (k.trim().parse().map_err(|_| err())?, n.trim().parse().map_err(|_| err())?);
        if k == 0 || n == 0 || k > n || n > 1000 {
            return Err(err());
        }
        Ok(Shard { index: k - 1, count: n })
    }

    /// Whether the `i`th unit of a split (a segment) is this shard's.
    pub fn owns(&self, i: u32) -> bool {
        i % self.count == self.index
    }

    pub fn is_last(&self) -> bool {
        self.index + 1 == self.count
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index + 1, self.count)
    }
}

/// Split `selected` deterministically: (artifacts this shard builds, artifacts of which it
/// builds only its share of sub-artifacts). Artifacts that are heavy or read a heavy one (videos
/// and what is made from them) belong to the last shard, which assembles them from every shard's
/// segments; every shard builds its share of the heavy ones' segments. The others are dealt out
/// round-robin in id order. The same selection gives the same split on every machine.
pub fn split(index: &BTreeMap<String, ArtifactDecl>, selected: &[String], shard: Shard) -> (Vec<String>, Vec<String>) {
    let mut late = BTreeSet::new();
    for id in with_dependencies(index, selected) {
        let Some(a) = index.get(&id) else { continue };
        if a.action.heavy() || a.deps.iter().any(|d| late.contains(d)) {
            late.insert(id);
        }
    }
    let mut sorted: Vec<&String> = selected.iter().collect();
    sorted.sort();
    sorted.dedup();
    let (mut owned, mut shares) = (Vec::new(), Vec::new());
    let mut n = 0u32;
    for id in sorted {
        if late.contains(id) {
            if shard.is_last() {
                owned.push(id.clone());
            } else {
                shares.push(id.clone());
            }
        } else {
            if shard.owns(n) {
                owned.push(id.clone());
            }
            n += 1;
        }
    }
    (owned, shares)
}

#[cfg(test)]
pub(crate) mod order_tests {
    use std::collections::BTreeMap;

    use serde::Serialize;

    use super::build_order;
    use crate::engine::action::{Action, ArtifactDecl, Cx};
    use crate::engine::error::BuildError;

    /// An action that is never run: only its cost class matters to the order.
    #[derive(Debug, PartialEq)]
    pub(crate) struct Cost(pub bool);

    impl Action for Cost {
        const QUERY: &'static str = "cost";
        const VERSION: u32 = 1;

        fn key(&self) -> impl Serialize + '_ {}

        fn compute(&self, _cx: &Cx<'_>) -> Result<Vec<u8>, BuildError> {
            Ok(Vec::new())
        }

        fn heavy(&self) -> bool {
            self.0
        }
    }

    /// `(rel, heavy, deps)` declarations of target `t`, by id.
    pub(crate) fn index(decls: &[(&str, bool, &[&str])]) -> BTreeMap<String, ArtifactDecl> {
        decls
            .iter()
            .map(|(rel, heavy, deps)| {
                let decl =
                    ArtifactDecl::new("t", *rel, Cost(*heavy)).deps(deps.iter().map(|d| format!("t/{d}")).collect());
                (decl.id.clone(), decl)
            })
            .collect()
    }

    #[test]
    fn what_reads_an_input_follows_it_and_heavy_work_comes_last() {
        // Two bundles, each cut into files, a manifest over both, and a heavy video with a
        // cheap preview; by id, both bundles come before every file.
        let index = index(&[
            ("bundle_a", false, &[]),
            ("bundle_b", false, &[]),
            ("file_a1", false, &["bundle_a"]),
            ("file_a2", false, &["bundle_a"]),
            ("file_b1", false, &["bundle_b"]),
            ("manifest", false, &["bundle_a", "bundle_b"]),
            ("video", true, &[]),
            ("video_preview", false, &["video"]),
        ]);
        let selected: Vec<String> = index.keys().cloned().collect();
        let order: Vec<String> =
            build_order(&index, &selected).into_iter().map(|id| id.trim_start_matches("t/").to_string()).collect();
        assert_eq!(
            order,
            ["bundle_a", "file_a1", "file_a2", "bundle_b", "file_b1", "manifest", "video", "video_preview"]
        );
    }
}

#[cfg(test)]
mod shard_tests {
    use super::Shard;

    #[test]
    fn shards_parse_and_split_indices() {
        let s = Shard::parse("2/3").unwrap();
        assert_eq!(s, Shard { index: 1, count: 3 });
        assert_eq!(s.to_string(), "2/3");
        assert_eq!((0..7).filter(|&k| s.owns(k)).collect::<Vec<_>>(), [1, 4]);
        assert!(Shard::parse("3/3").unwrap().is_last());
        for bad in ["0/3", "4/3", "3", "a/b", "1/0", "1/1001"] {
            assert!(Shard::parse(bad).unwrap_err().contains("K/N"), "{bad}");
        }
    }
}
