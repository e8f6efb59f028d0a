//! Paths named in configuration: relative to the project, and never escaping it.

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
}
