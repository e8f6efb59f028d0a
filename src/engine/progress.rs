//! Progress of long artifacts (a track video): announced with their size in frames when their
//! work starts, then advanced by their parts (video segments) as they finish. Frames done,
//! frames per second and the time left are estimated here, once, for every reporter.
//!
//! A video's frames pass through stages (decoding, then postFX and encoding) of different
//! costs. Each stage's cost per frame is measured from the parts built so far; before a stage
//! has a built part its cost is the prior relative weight its artifact announced, scaled by a
//! measured stage. Parts taken from the cache are not work: they leave the estimate.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

use super::event::ArtifactEvent;

/// What the engine sends a running render besides artifact events.
#[derive(Debug, Clone, PartialEq)]
pub enum Report {
    /// A sub-artifact (a video segment) is done.
    Part(Box<ArtifactEvent>),
    /// Work on a long artifact starts, or (`--keep-frames`) its frames are being written.
    Work(WorkStart),
    /// Frames written so far by work that has no parts (`--keep-frames`): `done` of the total.
    Written { id: String, done: u64 },
    /// Every worker of the render has ended (the last one says so as it exits, even when it
    /// panicked), so the render stops waiting for reports at once. Not progress.
    WorkersDone,
}

/// A long artifact's size, announced when its work starts.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkStart {
    /// The artifact (`album.demo/opening/video.mp4`), or what is written for it.
    pub id: String,
    pub frames: u64,
    /// The parts it is built from (video segments).
    pub parts: u32,
    /// Each stage's name and prior cost per frame relative to the others (decode 1.0,
    /// encode 0.3); only the ratios matter. None: work without parts, advanced by
    /// [`Report::Written`].
    pub stages: Vec<(&'static str, f64)>,
}

/// Which long artifact a part belongs to, the stage it finishes and how many frames it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub of: String,
    pub stage: usize,
    pub frames: u64,
}

/// A snapshot of one long artifact's progress.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progress {
    pub id: String,
    pub frames: u64,
    /// Frames' worth of the work done (the work left to do in this render, scaled to frames).
    pub frames_done: u64,
    pub parts: u32,
    pub parts_done: u32,
    pub fps: f64,
    /// Seconds left, once anything was measured.
    pub eta_s: Option<f64>,
    pub elapsed_s: f64,
    pub done: bool,
}

struct Stage {
    prior: f64,
    /// Frames this stage has to process in this render (cached parts leave it).
    todo: u64,
    built: u64,
    /// Microseconds the built parts took, summed over threads.
    busy_us: u64,
}

struct Work {
    frames: u64,
    parts: u32,
    parts_done: u32,
    started: Instant,
    stages: Vec<Stage>,
    /// Work without parts: frames written so far.
    written: Option<u64>,
    /// The most frames shown done so far: shown progress never goes back when a stage's
    /// measured cost turns out higher than its prior.
    shown: u64,
    finished: bool,
}

impl Work {
    /// Cost per frame of each stage: measured where a part was built, else the prior scaled by
    /// the measured stages (the prior alone when none is measured).
    fn costs(&self) -> Vec<f64> {
        let measured: Vec<(f64, f64)> =
            self.stages.iter().filter(|s| s.built > 0).map(|s| (s.busy_us as f64 / s.built as f64, s.prior)).collect();
        let scale = if measured.is_empty() {
            1.0
        } else {
            measured.iter().map(|(c, p)| c / p.max(1e-9)).sum::<f64>() / measured.len() as f64
        };
        self.stages
            .iter()
            .map(|s| if s.built > 0 { s.busy_us as f64 / s.built as f64 } else { s.prior * scale })
            .collect()
    }

    /// The share of this render's work done, 0 to 1.
    fn fraction(&self) -> f64 {
        if let Some(written) = self.written {
            return if self.frames == 0 { 1.0 } else { written as f64 / self.frames as f64 };
        }
        let costs = self.costs();
        let total: f64 = self.stages.iter().zip(&costs).map(|(s, c)| s.todo as f64 * c).sum();
        let done: f64 = self.stages.iter().zip(&costs).map(|(s, c)| s.built.min(s.todo) as f64 * c).sum();
        if total <= 0.0 { 1.0 } else { (done / total).clamp(0.0, 1.0) }
    }

    /// Every part (or frame written) is in.
    fn complete(&self) -> bool {
        match self.written {
            Some(w) => w >= self.frames,
            None => self.parts_done >= self.parts * self.stages.len() as u32,
        }
    }

    fn snapshot(&mut self, id: &str) -> Progress {
        let elapsed_s = self.started.elapsed().as_secs_f64();
        let complete = self.complete();
        let done = complete || self.finished;
        let fraction = if complete { 1.0 } else { self.fraction() };
        self.shown = self.shown.max((fraction * self.frames as f64).round() as u64);
        let frames_done = self.shown;
        let eta_s = (fraction > 0.0 && elapsed_s > 0.0).then(|| elapsed_s * (1.0 - fraction) / fraction);
        Progress {
            id: id.to_string(),
            frames: self.frames,
            frames_done,
            parts: self.parts,
            parts_done: self.parts_done,
            fps: if elapsed_s > 0.0 { frames_done as f64 / elapsed_s } else { 0.0 },
            eta_s: if done { Some(0.0) } else { eta_s },
            elapsed_s,
            done,
        }
    }
}

/// The long artifacts of one render.
#[derive(Default)]
pub struct Tracker {
    work: BTreeMap<String, Work>,
}

impl Tracker {
    /// Take one report; returns the progress it changed, if any.
    pub fn take(&mut self, report: &Report) -> Option<Progress> {
        match report {
            // Asked for again in the same render (the album joining its tracks): its parts
            // are done or under way already.
            Report::Work(w) if self.work.contains_key(&w.id) => None,
            Report::Work(w) => {
                let mut work = Work {
                    frames: w.frames,
                    parts: w.parts,
                    parts_done: 0,
                    started: Instant::now(),
                    stages: w
                        .stages
                        .iter()
                        .map(|&(_, prior)| Stage { prior, todo: w.frames, built: 0, busy_us: 0 })
                        .collect(),
                    written: w.stages.is_empty().then_some(0),
                    shown: 0,
                    finished: false,
                };
                let snapshot = work.snapshot(&w.id);
                self.work.insert(w.id.clone(), work);
                Some(snapshot)
            }
            Report::WorkersDone => None,
            Report::Written { id, done } => {
                let work = self.work.get_mut(id)?;
                work.written = Some(*done);
                Some(work.snapshot(id))
            }
            Report::Part(event) => {
                let part = event.part.as_ref()?;
                let work = self.work.get_mut(&part.of)?;
                let stage = work.stages.get_mut(part.stage)?;
                work.parts_done += 1;
                if work.finished {
                    return None;
                }
                if event.status == super::event::Status::Built {
                    stage.built += part.frames;
                    stage.busy_us += event.us;
                } else {
                    // Cached, or failed: not work this render does.
                    stage.todo = stage.todo.saturating_sub(part.frames);
                }
                Some(work.snapshot(&part.of))
            }
        }
    }

    /// The artifact `id` is done (built, taken from the cache, or failed): its last progress,
    /// if it had work still under way (complete work said so with its last part). A part's
    /// report travels to the render's loop while the artifact's end is taken on its worker, so
    /// the last parts of an artifact that `succeeded` may not be in yet: all its work is done,
    /// and its last progress says so; parts reported after this are ignored.
    pub fn finish(&mut self, id: &str, succeeded: bool) -> Option<Progress> {
        let work = self.work.get_mut(id).filter(|w| !w.finished)?;
        work.finished = true;
        if work.complete() {
            return None;
        }
        if succeeded {
            match &mut work.written {
                Some(written) => *written = work.frames,
                None => work.parts_done = work.parts * work.stages.len() as u32,
            }
        }
        Some(work.snapshot(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::event::Status;

    fn part(of: &str, stage: usize, frames: u64, status: Status, us: u64) -> Report {
        let mut e = ArtifactEvent::new(&format!("{of}/{stage}"), status);
        e.us = us;
        e.part = Some(Part { of: of.to_string(), stage, frames });
        Report::Part(Box::new(e))
    }

    fn start(frames: u64, parts: u32) -> Report {
        Report::Work(WorkStart { id: "v".into(), frames, parts, stages: vec![("decode", 1.0), ("encode", 0.25)] })
    }

    #[test]
    fn frames_done_weigh_each_stage_by_its_cost() {
        let mut t = Tracker::default();
        let p = t.take(&start(100, 2)).unwrap();
        assert_eq!((p.frames, p.frames_done, p.done), (100, 0, false));
        // Half the frames decoded, at the prior's cost ratio: 50·1 of 100·1 + 100·0.25.
        let p = t.take(&part("v", 0, 50, Status::Built, 50_000)).unwrap();
        assert_eq!(p.frames_done, 40);
        // Encoding measured at its prior's cost: 112.5 of 125 frame-costs.
        t.take(&part("v", 0, 50, Status::Built, 50_000));
        let p = t.take(&part("v", 1, 50, Status::Built, 12_500)).unwrap();
        assert_eq!(p.frames_done, 90);
        let p = t.take(&part("v", 1, 50, Status::Built, 12_500)).unwrap();
        assert_eq!((p.frames_done, p.parts_done, p.done, p.eta_s), (100, 4, true, Some(0.0)));
        // Asked for again in the same render, or its artifact done: nothing new to show.
        assert!(t.take(&start(100, 2)).is_none());
        assert!(t.finish("v", true).is_none());
    }

    #[test]
    fn shown_progress_never_goes_back() {
        let mut t = Tracker::default();
        t.take(&start(100, 2));
        let a = t.take(&part("v", 0, 50, Status::Built, 50_000)).unwrap().frames_done;
        t.take(&part("v", 0, 50, Status::Built, 50_000));
        // Encoding costs four times its prior: the estimate falls, the shown count does not.
        let b = t.take(&part("v", 1, 10, Status::Built, 10_000)).unwrap().frames_done;
        assert!(a == 40 && b >= 80, "{a} {b}");
        // An artifact that failed ends its progress where it stood.
        let p = t.finish("v", false).unwrap();
        assert!(p.done && p.frames_done == 80, "{p:?}");
    }

    /// The artifact built while its last part's report was still on its way: its last progress
    /// is whole, said once, and the late part changes nothing.
    #[test]
    fn a_built_artifact_ends_whole_before_its_last_part_is_in() {
        let mut t = Tracker::default();
        t.take(&start(100, 2));
        t.take(&part("v", 0, 50, Status::Built, 50_000));
        t.take(&part("v", 0, 50, Status::Built, 50_000));
        t.take(&part("v", 1, 50, Status::Built, 12_500));
        let p = t.finish("v", true).unwrap();
        assert_eq!((p.frames_done, p.parts_done, p.done, p.eta_s), (100, 4, true, Some(0.0)));
        assert!(t.take(&part("v", 1, 50, Status::Built, 12_500)).is_none());
        assert!(t.finish("v", true).is_none());
    }

    #[test]
    fn cached_parts_are_not_work() {
        let mut t = Tracker::default();
        t.take(&start(100, 2));
        // Every decoding cached (a postFX-only edit): the encodings are all the work.
        t.take(&part("v", 0, 60, Status::Fresh, 5));
        let p = t.take(&part("v", 0, 40, Status::Fresh, 5)).unwrap();
        assert_eq!(p.frames_done, 0);
        let p = t.take(&part("v", 1, 60, Status::Built, 9_000)).unwrap();
        assert_eq!(p.frames_done, 60);
        assert!(p.eta_s.is_some());
    }

    #[test]
    fn written_frames_count_directly_and_unknown_parts_are_ignored() {
        let mut t = Tracker::default();
        t.take(&Report::Work(WorkStart { id: "f".into(), frames: 10, parts: 0, stages: vec![] }));
        let p = t.take(&Report::Written { id: "f".into(), done: 4 }).unwrap();
        assert_eq!((p.frames_done, p.done), (4, false));
        assert!(t.take(&part("other", 0, 5, Status::Built, 1)).is_none());
        assert!(t.take(&Report::Written { id: "f".into(), done: 10 }).unwrap().done);
    }
}
