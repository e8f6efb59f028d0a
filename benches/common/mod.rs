//! Helpers shared by the benchmarks.

pub mod look;

use std::time::{Duration, Instant};

/// The best of `runs` wall-clock times of `f`, with the last run's result.
#[allow(dead_code)] // not every benchmark times this way
pub fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let out = f();
        best = best.min(start.elapsed());
        last = Some(out);
    }
    (best, last.expect("at least one run"))
}

/// Copies the folder `from` to `to`, recursively.
#[allow(dead_code)] // not every benchmark copies projects
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir").flatten() {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() { copy_dir(&src, &dst) } else { std::fs::copy(&src, &dst).map(|_| ()).expect("copy") }
    }
}

/// What one finished child process took.
#[allow(dead_code)] // not every benchmark reads every field
pub struct Timed {
    /// Its exit status and what it wrote.
    pub output: std::process::Output,
    /// Wall time from its start to its exit.
    pub wall: Duration,
    /// CPU time in user mode.
    pub user: Duration,
    /// CPU time in the kernel.
    pub system: Duration,
    /// Its largest resident set, KiB (`ru_maxrss`; 0 where unknown).
    pub peak_rss_kib: u64,
}

/// Runs `command` to completion (stdin empty, stdout and stderr captured): its output, wall
/// time, and that process's own CPU times and peak memory (`wait4`'s resource usage).
#[allow(dead_code)] // not every benchmark times processes
pub fn timed(mut command: std::process::Command) -> Result<Timed, String> {
    use std::io::Read;
    use std::process::Stdio;
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = command.spawn().map_err(|e| e.to_string())?;
    fn drain(pipe: Option<impl Read>) -> Vec<u8> {
        let mut bytes = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut bytes);
        }
        bytes
    }
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let (stdout, stderr) = std::thread::scope(|scope| {
        let err = scope.spawn(|| drain(stderr));
        (drain(stdout), err.join().unwrap_or_default())
    });
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        let mut status = 0;
        // SAFETY: rusage is plain integers, for which all-zero bytes are a valid value.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let pid = child.id() as libc::pid_t;
        // SAFETY: waits for our own child, writing only the two values it is given.
        if unsafe { libc::wait4(pid, &mut status, 0, &mut usage) } != pid {
            return Err(std::io::Error::last_os_error().to_string());
        }
        let wall = start.elapsed();
        let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
        let output = std::process::Output { status: std::process::ExitStatus::from_raw(status), stdout, stderr };
        Ok(Timed {
            output,
            wall,
            user: time(usage.ru_utime),
            system: time(usage.ru_stime),
            peak_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        })
    }
    #[cfg(not(unix))]
    {
        let status = child.wait().map_err(|e| e.to_string())?;
        let output = std::process::Output { status, stdout, stderr };
        Ok(Timed { output, wall: start.elapsed(), user: Duration::ZERO, system: Duration::ZERO, peak_rss_kib: 0 })
    }
}
