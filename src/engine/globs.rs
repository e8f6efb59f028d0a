//! Source globs (`"audio/*.wav"`): expanded against the project directory when a project is
//! opened (and on every `watch` change) into a salsa input, so a new matching file is a new
//! source and the queries that list sources re-run.

use std::collections::BTreeMap;
use std::path::Path;

/// Glob pattern → the project files it matches (sorted).
pub type Globs = BTreeMap<String, Vec<String>>;

/// Expand each pattern against `root`, or against its declared input root for `ROOT:pattern`
/// (matches are then named `ROOT:path`). Only regular files inside the project (or that root)
/// that are named like audio ([`crate::media::formats::named_like_audio`]) match: the text,
/// images, MIDI and analysis files that sample folders hold beside their audio are left out.
pub fn expand<'a>(
    root: &Path,
    input_roots: &BTreeMap<String, String>,
    patterns: impl IntoIterator<Item = &'a str>,
) -> Globs {
    let mut globs = Globs::new();
    let opts =
        glob::MatchOptions { case_sensitive: true, require_literal_separator: true, require_literal_leading_dot: true };
    for g in patterns {
        if globs.contains_key(g) {
            continue;
        }
        let (base, prefix, pattern) = match crate::project::paths::split_input_root(g) {
            Some((name, rel)) => match input_roots.get(name) {
                Some(dir) => (root.join(dir), format!("{name}:"), rel),
                None => (root.to_path_buf(), String::new(), g),
            },
            None => (root.to_path_buf(), String::new(), g),
        };
        let mut found = Vec::new();
        if let Ok(paths) = glob::glob_with(&base.join(pattern).to_string_lossy(), opts) {
            for p in paths.flatten() {
                if !p.is_file() || !crate::media::formats::named_like_audio(&p) {
                    continue;
                }
                if let Ok(rel) = p.strip_prefix(&base) {
                    let rel = rel.to_string_lossy().replace('\\', "/");
                    if crate::project::paths::resolve_inside(&base, &rel).is_ok() {
                        found.push(format!("{prefix}{rel}"));
                    }
                }
            }
        }
        found.sort();
        globs.insert(g.to_string(), found);
    }
    globs
}
