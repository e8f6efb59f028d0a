//! Crash-safe file writes: temp file in the same directory, fsync, rename, fsync the directory.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temp-file name unique to this process and call, in `dir` (next to `dest` when `None`).
fn temp_name(dest: &Path, dir: Option<&Path>) -> std::path::PathBuf {
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
/// For files trusted by name: blobs and action entries.
pub fn write_atomic(dest: &Path, bytes: &[u8]) -> io::Result<()> {
    write_via_temp(dest, None, bytes, true)
}

/// [`write_atomic`] with the temp file in `tmp_dir` (same file system as `dest`), so that one
/// directory holds every leftover of a killed process and sweeping it is one listing.
pub fn write_atomic_via(tmp_dir: &Path, dest: &Path, bytes: &[u8]) -> io::Result<()> {
    fs::create_dir_all(tmp_dir)?;
    write_via_temp(dest, Some(tmp_dir), bytes, true)
}

/// Like [`write_atomic`] without the fsync: safe against a killed process (the kernel keeps the
/// data), and for files that are verified before being trusted (outputs, the lock, caches).
pub fn replace_file(dest: &Path, bytes: &[u8]) -> io::Result<()> {
    write_via_temp(dest, None, bytes, false)
}

fn write_via_temp(dest: &Path, tmp_dir: Option<&Path>, bytes: &[u8], durable: bool) -> io::Result<()> {
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent)?;
    }
    let tmp = temp_name(dest, tmp_dir);
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        if durable {
            f.sync_all()?;
        }
        drop(f);
        fs::rename(&tmp, dest)?;
        if durable { sync_dir(dest) } else { Ok(()) }
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
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
