//! Crash-safe file writes: a temp file renamed into place, synced to disk as far as the file's
//! [`Durability`] asks (a killed process never leaves a partial file under the final name either way).

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// What a write promises after a crash of the machine. A killed process loses nothing whatever
/// the durability: the kernel keeps what was written, and the temp name keeps a partial file
/// from being seen under the final one. Each step up costs an fsync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Nothing: after a crash the file may be absent, empty or the previous one. For files that
    /// are checked before being trusted (outputs, action entries, caches).
    Volatile,
    /// The data is on disk before the file gets its name, so the name never shows a partial
    /// file; the rename itself may be lost (the file is then absent). For blobs: an absent blob
    /// is a cache miss, a complete-looking partial one would be a wrong result.
    Data,
    /// Data and name: after a crash the file is the new one, whole (the lock file, pages).
    Full,
}

/// Directories this process made or found, so that writing many files into them does not ask
/// the file system each time (`mkdir` of an existing directory locks its parent for writing).
/// One removed since is made again: a create or rename that finds no directory retries once.
fn known_dirs() -> &'static Mutex<HashSet<PathBuf>> {
    static DIRS: OnceLock<Mutex<HashSet<PathBuf>>> = OnceLock::new();
    DIRS.get_or_init(Default::default)
}

fn ensure_dir(dir: &Path) -> io::Result<()> {
    if known_dirs().lock().unwrap_or_else(|p| p.into_inner()).contains(dir) {
        return Ok(());
    }
    fs::create_dir_all(dir)?;
    known_dirs().lock().unwrap_or_else(|p| p.into_inner()).insert(dir.to_path_buf());
    Ok(())
}

/// `op` on a file in `dir`, made first; when `op` finds no directory (removed since this
/// process saw it), `dir` is made again and `op` retried once.
fn in_dir<T>(dir: &Path, mut op: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    ensure_dir(dir)?;
    match op() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            known_dirs().lock().unwrap_or_else(|p| p.into_inner()).remove(dir);
            ensure_dir(dir)?;
            op()
        }
        result => result,
    }
}

/// A temp-file name unique to this process and call, in `dir` (next to `dest` when `None`).
fn temp_name(dest: &Path, dir: Option<&Path>) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = dest.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temp = format!(".{name}.tmp-{}-{n}", std::process::id());
    match dir {
        Some(d) => d.join(temp),
        None => dest.with_file_name(temp),
    }
}

/// Write `bytes` to `dest` atomically and durably: a reader sees the old file or the whole new
/// one, and after a crash (even of the machine) there is never a partial file at `dest`.
/// For files people rely on as they are: the lock file and the report pages.
pub fn write_atomic(dest: &Path, bytes: &[u8]) -> io::Result<()> {
    write_via_temp(dest, None, bytes, Durability::Full)
}

/// `bytes` written to `dest` through a temp file in `tmp_dir` (same file system as `dest`), so
/// that one directory holds every leftover of a killed process and sweeping it is one listing.
pub fn write_via(tmp_dir: &Path, dest: &Path, bytes: &[u8], durability: Durability) -> io::Result<()> {
    write_via_temp(dest, Some(tmp_dir), bytes, durability)
}

/// Like [`write_atomic`] without the fsync: safe against a killed process (the kernel keeps the
/// data), and for files that are verified before being trusted (outputs, history, caches).
pub fn replace_file(dest: &Path, bytes: &[u8]) -> io::Result<()> {
    write_via_temp(dest, None, bytes, Durability::Volatile)
}

fn write_via_temp(dest: &Path, tmp_dir: Option<&Path>, bytes: &[u8], durability: Durability) -> io::Result<()> {
    let mut file = TempFile::create(dest, tmp_dir)?;
    file.write_all(bytes)?;
    file.commit(dest, durability)
}

/// A file written piece by piece under a temp name (next to `dest`, or in `tmp_dir` on the same
/// file system) and renamed into place by [`TempFile::commit`]; dropped uncommitted, it is
/// removed. Nothing half-written is ever seen under the final name.
pub struct TempFile {
    path: PathBuf,
    file: io::BufWriter<File>,
    committed: bool,
}

impl TempFile {
    /// A temp file for `dest` (its name only names the temp file; the parent is created).
    pub fn create(dest: &Path, tmp_dir: Option<&Path>) -> io::Result<TempFile> {
        let path = temp_name(dest, tmp_dir);
        let file = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => in_dir(dir, || File::create(&path))?,
            _ => File::create(&path)?,
        };
        // Small: most temp files are action entries and small blobs; large writes bypass the buffer.
        Ok(TempFile { path, file: io::BufWriter::with_capacity(64 << 10, file), committed: false })
    }

    /// Drop what was written and start again from an empty file.
    pub fn restart(&mut self) -> io::Result<()> {
        use std::io::Seek;
        self.file.flush()?;
        let file = self.file.get_mut();
        file.set_len(0)?;
        file.seek(io::SeekFrom::Start(0))?;
        Ok(())
    }

    /// Rename the file to `dest` (creating its parent), synced as `durability` asks.
    pub fn commit(mut self, dest: &Path, durability: Durability) -> io::Result<()> {
        self.file.flush()?;
        if durability != Durability::Volatile {
            self.file.get_ref().sync_all()?;
        }
        match dest.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => in_dir(dir, || fs::rename(&self.path, dest))?,
            _ => fs::rename(&self.path, dest)?,
        }
        self.committed = true;
        if durability == Durability::Full { sync_dir(dest) } else { Ok(()) }
    }
}

impl Write for TempFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.file.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn sync_dir(path: &Path) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        // Directory fsync makes the rename durable; some filesystems refuse it, which is harmless.
        if let Ok(dir) = File::open(parent) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

/// Whether a file name is one of our temp files (left behind by a killed process).
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp-")
}

/// Remove temp files in `dir` (not below) left by processes that no longer run. Returns how many.
pub fn sweep_dir(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else { return 0 };
    let mut n = 0;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if is_temp_name(&name) && !owner_alive(&name) && fs::remove_file(e.path()).is_ok() {
            n += 1;
        }
    }
    n
}

/// Whether the process that named a temp file (`.name.tmp-PID-N`) is still running.
fn owner_alive(temp_name: &str) -> bool {
    let pid = temp_name.rsplit(".tmp-").next().and_then(|rest| rest.split('-').next());
    match pid.and_then(|p| p.parse::<u32>().ok()) {
        Some(pid) => pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_removed_after_a_write_is_made_again_by_the_next() {
        let root = tempfile::tempdir().unwrap();
        let tmp = root.path().join("tmp");
        let dest = root.path().join("cas/ab/abc");
        write_via(&tmp, &dest, b"one", Durability::Data).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"one");

        // Both directories are known to this process now; removing them must not fail the next write.
        fs::remove_dir_all(&tmp).unwrap();
        fs::remove_dir_all(root.path().join("cas")).unwrap();
        write_via(&tmp, &dest, b"two", Durability::Volatile).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"two");
        assert_eq!(fs::read_dir(&tmp).unwrap().count(), 0, "no temp file left behind");

        fs::remove_dir_all(root.path().join("cas")).unwrap();
        replace_file(&dest, b"three").unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"three");
    }
}
