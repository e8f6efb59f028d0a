//! What a render reports about each artifact (and each sub-artifact such as a video segment).

use serde::Serialize;

use crate::store::Digest;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Computed now.
    Built,
    /// Taken from the store without computing (output was missing or edited, or the action
    /// was already cached under a new key).
    Restored,
    /// Downloaded from the remote cache (verified) instead of computed.
    Downloaded,
    /// Already current; nothing done.
    Fresh,
    Failed,
    /// A planned output its inputs cannot give (see `BuildError::Skipped`); the reason is in
    /// `warnings`. Not a failure; nothing is written and a stale output is removed.
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactEvent {
    pub id: String,
    pub status: Status,
    pub digest: Option<Digest>,
    pub key: Option<Digest>,
    pub ms: u64,
    pub error: Option<String>,
    /// Project-relative output path, for materialized artifacts.
    pub output: Option<String>,
    /// Non-fatal problems met while computing it (e.g. truncated audio decoded as far as it goes).
    pub warnings: Vec<String>,
    /// Details of how it was computed (e.g. which producer made each sidecar column), shown
    /// with `-v`; empty unless it was computed in this render.
    pub notes: Vec<String>,
    /// The query kind that made it (`kit_voice`, `encoded_segment`), for timing reports.
    pub query: &'static str,
    /// The thread that built it (its [`thread_lane`]), for timing reports.
    pub thread: usize,
    /// Microseconds from the start of the render to when its work began.
    pub start_us: u64,
    /// Microseconds its work took (`ms` at a finer grain).
    pub us: u64,
    /// For `Skipped`: whether this render decided it (its inputs were computed now, or a stale
    /// output was removed). A skip known from an earlier run is not news: the human report
    /// leaves it out (`status` and `list` still show it).
    pub decided: bool,
    /// For a part of a long artifact (a video segment): which, its stage and its frames, for
    /// progress.
    pub part: Option<super::progress::Part>,
}

impl ArtifactEvent {
    pub fn new(id: &str, status: Status) -> ArtifactEvent {
        ArtifactEvent {
            id: id.to_string(),
            status,
            digest: None,
            key: None,
            ms: 0,
            error: None,
            output: None,
            warnings: Vec::new(),
            notes: Vec::new(),
            query: "",
            thread: 0,
            start_us: 0,
            us: 0,
            decided: false,
            part: None,
        }
    }
}

/// A small number naming the calling thread while it lives: the lowest number no living thread
/// holds, taken on first call and given back when the thread ends. Timing reports draw one row
/// per lane, so the render's workers and the threads a computation spawns (video segments) get
/// rows of their own without the rows growing with every short-lived thread.
pub fn thread_lane() -> usize {
    use std::collections::BTreeSet;
    use std::sync::Mutex;
    static TAKEN: Mutex<BTreeSet<usize>> = Mutex::new(BTreeSet::new());
    struct Lane(usize);
    impl Drop for Lane {
        fn drop(&mut self) {
            TAKEN.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.0);
        }
    }
    thread_local! {
        static LANE: Lane = {
            let mut taken = TAKEN.lock().unwrap_or_else(|p| p.into_inner());
            let n = (0..).find(|n| !taken.contains(n)).unwrap_or(0);
            taken.insert(n);
            Lane(n)
        };
    }
    LANE.with(|l| l.0)
}

#[cfg(test)]
mod tests {
    use super::thread_lane;

    #[test]
    fn lanes_are_distinct_while_threads_live() {
        let mine = thread_lane();
        assert_eq!(thread_lane(), mine, "stable within a thread");
        let barrier = std::sync::Barrier::new(2);
        let (a, b) = std::thread::scope(|s| {
            let barrier = &barrier;
            let f = move || {
                let l = thread_lane();
                barrier.wait();
                assert_ne!(l, mine);
                l
            };
            let (ha, hb) = (s.spawn(f), s.spawn(f));
            (ha.join().unwrap(), hb.join().unwrap())
        });
        assert_ne!(a, b, "two living threads never share a lane");
        // (That an ended thread's lane is taken again is not asserted here: other tests running
        // renders in this process take lanes meanwhile.)
    }
}
