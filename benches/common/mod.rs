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

/// User and system CPU time used so far by this process's finished (waited-for) children,
/// from `getrusage(RUSAGE_CHILDREN)`: the difference across one `Command::output` is what that
/// child process used. Zero where the call fails.
#[allow(dead_code)] // not every benchmark reports it
pub fn children_cpu() -> (Duration, Duration) {
    #[cfg(unix)]
    {
        // SAFETY: rusage is plain integers, for which all-zero bytes are a valid value.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: getrusage writes the struct it is given and nothing else.
        if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } == 0 {
            let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
            return (time(usage.ru_utime), time(usage.ru_stime));
        }
    }
    (Duration::ZERO, Duration::ZERO)
}

/// Runs `command` to completion: its output, wall time, and its process's user and system CPU
/// time (the change in [`children_cpu`] across the run).
#[allow(dead_code)] // not every benchmark times processes
pub fn timed(
    mut command: std::process::Command,
) -> Result<(std::process::Output, Duration, Duration, Duration), String> {
    let (user0, system0) = children_cpu();
    let start = Instant::now();
    let out = command.output().map_err(|e| e.to_string())?;
    let wall = start.elapsed();
    let (user1, system1) = children_cpu();
    Ok((out, wall, user1.saturating_sub(user0), system1.saturating_sub(system0)))
}
