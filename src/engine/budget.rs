//! One thread budget for a whole render (`-j N`): every computation runs holding one of `N`
//! permits, whether a scheduler worker or a video-segment worker started inside it runs it. A
//! thread that waits for work it spawned gives its permit back while it waits, so `-j 1` means
//! one computation at a time end to end, and nested parallelism cannot deadlock.

use std::cell::Cell;
use std::sync::{Condvar, Mutex};

thread_local! {
    /// Whether this thread holds a permit (nested computations on it need no second one).
    static HELD: Cell<bool> = const { Cell::new(false) };
}

#[derive(Debug)]
pub struct Budget {
    state: Mutex<State>,
    freed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    limit: usize,
    used: usize,
    /// The most permits held at once since the last `set_limit`.
    peak: usize,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget { state: Mutex::new(State { limit: 1, ..State::default() }), freed: Condvar::new() }
    }
}

/// A held permit; released when dropped.
#[must_use]
pub struct Permit<'a> {
    budget: Option<&'a Budget>,
}

impl Budget {
    /// Allow `jobs` computations at once (at least one).
    pub fn set_limit(&self, jobs: usize) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.limit = jobs.max(1);
        s.peak = s.used;
        self.freed.notify_all();
    }

    pub fn limit(&self) -> usize {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).limit
    }

    /// The most permits held at once since the limit was last set.
    pub fn peak(&self) -> usize {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).peak
    }

    /// Wait for a permit (immediately granted when this thread already holds one).
    pub fn acquire(&self) -> Permit<'_> {
        if HELD.with(Cell::get) {
            return Permit { budget: None };
        }
        self.take();
        Permit { budget: Some(self) }
    }

    /// Block until a permit is free and mark this thread as holding it.
    fn take(&self) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        while s.used >= s.limit {
            s = self.freed.wait(s).unwrap_or_else(|p| p.into_inner());
        }
        s.used += 1;
        s.peak = s.peak.max(s.used);
        HELD.with(|h| h.set(true));
    }

    fn release(&self) {
        HELD.with(|h| h.set(false));
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.used = s.used.saturating_sub(1);
        self.freed.notify_one();
    }

    /// Run `f` (which waits for other threads' computations) without this thread's permit,
    /// taking it back afterwards.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        if !HELD.with(Cell::get) {
            return f();
        }
        self.release();
        let resume = Resume { budget: self };
        let r = f();
        drop(resume);
        r
    }
}

/// Takes the permit back when `suspend` ends, also when it unwinds.
struct Resume<'a> {
    budget: &'a Budget,
}

impl Drop for Resume<'_> {
    fn drop(&mut self) {
        // The permit given back in `suspend` is held again, and released by the caller's
        // `Permit` as before.
        self.budget.take();
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if let Some(b) = self.budget {
            b.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn never_more_than_the_limit_at_once() {
        let budget = Budget::default();
        budget.set_limit(2);
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..6 {
                s.spawn(|| {
                    let _p = budget.acquire();
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        assert_eq!(most.load(Ordering::SeqCst), 2);
        assert_eq!(budget.peak(), 2);
    }

    #[test]
    fn nested_work_under_a_limit_of_one_does_not_deadlock() {
        let budget = Budget::default();
        budget.set_limit(1);
        let _outer = budget.acquire();
        let _again = budget.acquire(); // the same thread: no second permit needed
        let done = budget
            .suspend(|| std::thread::scope(|s| s.spawn(|| budget.acquire().budget.is_some()).join().unwrap_or(false)));
        assert!(done, "the child got the permit the parent gave back");
        assert_eq!(budget.peak(), 1);
    }
}
