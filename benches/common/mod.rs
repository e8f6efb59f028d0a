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
