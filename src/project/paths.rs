//! Paths named in configuration: relative to the project, or inside a declared input root
//! (`[project] inputs`, named as `ROOT:path`), and never escaping either.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// Check that `rel` is a relative path inside `root` (no `..`, not absolute, and — when it
/// exists — not a symlink that resolves outside the project). Returns the path joined to root.
pub fn resolve_inside(root: &Path, rel: &str) -> Result<PathBuf, String> {
    check_relative(rel)?;
    let joined = root.join(rel);
    // Resolve the longest existing prefix: a symlink anywhere along the way may point outside.
    let mut existing = joined.as_path();
    while !existing.exists() {
        match existing.parent() {
            Some(parent) => existing = parent,
            None => return Ok(joined),
        }
    }
    let real_root = root.canonicalize().map_err(|e| format!("project directory: {e}"))?;
    let real = existing.canonicalize().map_err(|e| format!("`{rel}`: {e}"))?;
    if !real.starts_with(&real_root) {
        return Err(format!("`{rel}` resolves to {} outside the project (through a symlink)", real.display()));
    }
    Ok(joined)
}

/// `ROOT:path` → (`ROOT`, `path`) for a file in a declared input root (`[project] inputs`);
/// `None` for a project path. A root name is letters, digits, `_` and `-`, and comes before any
/// `/`, so `audio/a:b.wav` stays a project path.
pub fn split_input_root(s: &str) -> Option<(&str, &str)> {
    let (name, rel) = s.split_once(':')?;
    let ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    ok.then_some((name, rel))
}

/// Check an input file as a recipe names it: a project path, or `ROOT:path` inside a declared
/// input root (`roots`: name → directory). Lexical only.
pub fn check_input(s: &str, roots: &BTreeMap<String, String>) -> Result<(), String> {
    match split_input_root(s) {
        Some((name, rel)) => {
            if !roots.contains_key(name) {
                let hint = super::diagnostic::suggestion(name, roots.keys().map(String::as_str));
                let declared = if roots.is_empty() {
                    "none are declared; add one as `[project] inputs = { NAME = \"/path/to/dir\" }`".to_string()
                } else {
                    format!("declared in `[project] inputs`: {}", roots.keys().cloned().collect::<Vec<_>>().join(", "))
                };
                return Err(format!("`{s}`: unknown input root `{name}`{hint}; {declared}"));
            }
            check_relative(rel).map_err(|e| format!("`{s}`: {e} (inside input root `{name}`)"))
        }
        None => check_relative(s),
    }
}

/// Where an input file lives on this machine: a project path under `root`, or `ROOT:path`
/// under its declared input root (a relative root is relative to the project), never leaving
/// that root, not even through a symlink.
pub fn resolve_input(root: &Path, roots: &BTreeMap<String, String>, s: &str) -> Result<PathBuf, String> {
    let Some((name, rel)) = split_input_root(s) else { return resolve_inside(root, s) };
    check_input(s, roots)?;
    let dir = root.join(&roots[name]);
    if !dir.is_dir() {
        return Err(format!("`{s}`: input root `{name}` ({}) is not a directory", dir.display()));
    }
    resolve_inside(&dir, rel).map_err(|e| format!("{e} (inside input root `{name}`)"))
}

/// The lexical part of [`resolve_inside`]: relative, no `..`, not empty.
pub fn check_relative(rel: &str) -> Result<(), String> {
    if rel.is_empty() {
        return Err("the path is empty".into());
    }
    let p = Path::new(rel);
    if p.is_absolute() {
        return Err(format!("`{rel}` is absolute; paths are relative to the project directory"));
    }
    for c in p.components() {
        match c {
            Component::ParentDir => return Err(format!("`{rel}` leaves the project directory (`..` is not allowed)")),
            Component::Prefix(_) | Component::RootDir => return Err(format!("`{rel}` is not a relative path")),
            Component::CurDir | Component::Normal(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_escapes() {
        let dir = tempfile::tempdir().unwrap();
        assert!(resolve_inside(dir.path(), "../x.wav").unwrap_err().contains(".."));
        assert!(resolve_inside(dir.path(), "/etc/passwd").unwrap_err().contains("absolute"));
        assert!(resolve_inside(dir.path(), "a/b.wav").is_ok());
        std::os::unix::fs::symlink("/tmp", dir.path().join("out")).unwrap();
        assert!(resolve_inside(dir.path(), "out/x.wav").unwrap_err().contains("symlink"));
    }

    #[test]
    fn input_roots_are_declared_and_kept_inside() {
        let project = tempfile::tempdir().unwrap();
        let library = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(library.path().join("album")).unwrap();
        let roots = BTreeMap::from([("music".to_string(), library.path().display().to_string())]);
        assert_eq!(split_input_root("music:album/t.flac"), Some(("music", "album/t.flac")));
        assert_eq!(split_input_root("audio/a:b.wav"), None);
        let p = resolve_input(project.path(), &roots, "music:album/t.flac").unwrap();
        assert_eq!(p, library.path().join("album/t.flac"));
        assert!(check_input("musik:a.flac", &roots).unwrap_err().contains("did you mean `music`"));
        assert!(check_input("music:../x.flac", &roots).unwrap_err().contains(".."));
        assert!(check_input("music:/etc/passwd", &roots).unwrap_err().contains("absolute"));
        assert!(check_input("x:a.wav", &BTreeMap::new()).unwrap_err().contains("none are declared"));
    }
}
