//! `render --timings`: the run as a timeline (one bar per artifact and per video segment on the
//! thread that ran it, coloured by status), threads busy over time, the critical path and totals
//! per query kind — as an HTML page like `cargo build --timings`, and as Chrome trace events
//! (`--timings=json`, `--profile FILE`) that Perfetto and `chrome://tracing` open.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::json;

use super::html::{duration, esc, status_colour, status_word};
use crate::engine::action::ArtifactDecl;
use crate::engine::{ArtifactEvent, Status};

/// One computation of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub id: String,
    pub query: String,
    pub status: Status,
    pub thread: usize,
    pub start_us: u64,
    pub us: u64,
    /// Found while building (a video segment), not a declared artifact.
    pub sub: bool,
}

impl Span {
    pub fn end_us(&self) -> u64 {
        self.start_us + self.us
    }
}

/// A render's timings.
#[derive(Debug, Clone)]
pub struct Timings {
    pub spans: Vec<Span>,
    /// Wall time of the whole render.
    pub total_us: u64,
    pub jobs: usize,
    /// Ids on the critical path, first to last.
    pub critical: Vec<String>,
}

/// Totals of one query kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KindTotal {
    pub count: usize,
    pub built: usize,
    pub us: u64,
    pub max_us: u64,
}

impl Timings {
    /// From a render's events; `index` gives the declared artifacts' dependencies.
    pub fn new(
        events: &[ArtifactEvent],
        index: &BTreeMap<String, ArtifactDecl>,
        total_us: u64,
        jobs: usize,
    ) -> Timings {
        let mut spans: Vec<Span> = events
            .iter()
            .map(|e| Span {
                id: e.id.clone(),
                query: if e.query.is_empty() { "(none)".to_string() } else { e.query.to_string() },
                status: e.status,
                thread: e.thread,
                start_us: e.start_us,
                us: e.us,
                sub: !index.contains_key(&e.id),
            })
            .collect();
        spans.sort_by(|a, b| (a.start_us, &a.id).cmp(&(b.start_us, &b.id)));
        let total_us = total_us.max(spans.iter().map(Span::end_us).max().unwrap_or(0));
        let critical = critical_path(&spans, index);
        Timings { spans, total_us, jobs, critical }
    }

    /// Count, built count, total and longest time per query kind, by kind.
    pub fn per_kind(&self) -> BTreeMap<&str, KindTotal> {
        let mut out: BTreeMap<&str, KindTotal> = BTreeMap::new();
        for s in &self.spans {
            let t = out.entry(s.query.as_str()).or_default();
            t.count += 1;
            t.built += usize::from(s.status == Status::Built);
            t.us += s.us;
            t.max_us = t.max_us.max(s.us);
        }
        out
    }

    /// How many threads were busy over time: `(time_us, busy)` at every change.
    pub fn busy_threads(&self) -> Vec<(u64, usize)> {
        // Merge each thread's spans (nested ones overlap), then sweep.
        let mut per_thread: BTreeMap<usize, Vec<(u64, u64)>> = BTreeMap::new();
        for s in self.spans.iter().filter(|s| s.us > 0) {
            per_thread.entry(s.thread).or_default().push((s.start_us, s.end_us()));
        }
        let mut edges: Vec<(u64, i64)> = Vec::new();
        for mut v in per_thread.into_values() {
            v.sort();
            let mut cur: Option<(u64, u64)> = None;
            for (a, b) in v {
                match cur {
                    Some((ca, cb)) if a <= cb => cur = Some((ca, cb.max(b))),
                    Some((ca, cb)) => {
                        edges.extend([(ca, 1), (cb, -1)]);
                        cur = Some((a, b));
                    }
                    None => cur = Some((a, b)),
                }
            }
            if let Some((ca, cb)) = cur {
                edges.extend([(ca, 1), (cb, -1)]);
            }
        }
        edges.sort_by_key(|&(t, d)| (t, d));
        let mut out = vec![(0, 0)];
        let mut busy = 0i64;
        for (t, d) in edges {
            busy += d;
            match out.last_mut() {
                Some(last) if last.0 == t => last.1 = busy.max(0) as usize,
                _ => out.push((t, busy.max(0) as usize)),
            }
        }
        out
    }

    /// The average number of busy threads in each of `columns` equal slices of the run.
    pub fn busy_per_column(&self, columns: usize) -> Vec<f64> {
        let steps = self.busy_threads();
        let mut avg = vec![0.0f64; columns];
        let per_col = self.total_us.max(1) as f64 / columns.max(1) as f64;
        for (k, &(t, n)) in steps.iter().enumerate() {
            let end = steps.get(k + 1).map_or(self.total_us, |s| s.0).min(self.total_us);
            // In column units.
            let (a, b) = (t as f64 / per_col, end as f64 / per_col);
            let mut c = a.floor() as usize;
            while c < columns && (c as f64) < b {
                let (lo, hi) = (a.max(c as f64), b.min((c + 1) as f64));
                avg[c] += n as f64 * (hi - lo).max(0.0);
                c += 1;
            }
        }
        avg
    }

    /// The Chrome trace event format (JSON object form): one complete event (`ph: X`) per span,
    /// timestamps in microseconds, one named thread per lane.
    pub fn chrome_trace(&self) -> serde_json::Value {
        let critical: BTreeSet<&str> = self.critical.iter().map(String::as_str).collect();
        let mut events = vec![json!({"name": "process_name", "ph": "M", "pid": 1, "tid": 0,
                                     "args": {"name": "ntsbuild render"}})];
        let threads: BTreeSet<usize> = self.spans.iter().map(|s| s.thread).collect();
        for t in threads {
            events.push(json!({"name": "thread_name", "ph": "M", "pid": 1, "tid": t,
                               "args": {"name": format!("thread {t}")}}));
        }
        for s in &self.spans {
            events.push(json!({
                "name": s.id, "cat": s.query, "ph": "X", "ts": s.start_us, "dur": s.us, "pid": 1, "tid": s.thread,
                "args": {"status": status_word(s.status), "critical_path": critical.contains(s.id.as_str())},
            }));
        }
        json!({"traceEvents": events, "displayTimeUnit": "ms",
               "otherData": {"tool": "ntsbuild", "jobs": self.jobs, "total_us": self.total_us}})
    }

    /// The HTML page (self-contained: inline CSS and SVG, no scripts).
    pub fn html(&self, title: &str) -> String {
        let mut h = String::with_capacity(64 * 1024 + self.spans.len() * 300);
        let _ = write!(
            h,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{}</title><style>{CSS}</style></head><body>\n<h1>{}</h1>\n",
            esc(title),
            esc(title)
        );
        self.summary_html(&mut h);
        h.push_str("<h2>Timeline</h2>\n");
        h.push_str(&legend());
        self.timeline_svg(&mut h);
        h.push_str("<h2>Threads busy over time</h2>\n<p>Threads running a computation, averaged per pixel; the dashed line is -j. A thread waiting for work it spawned (a video for its segments) counts as busy, so segments can lift this above -j.</p>\n");
        self.busy_svg(&mut h);
        self.critical_html(&mut h);
        self.kinds_html(&mut h);
        self.slowest_html(&mut h);
        h.push_str("</body></html>\n");
        h
    }

    fn summary_html(&self, h: &mut String) {
        let count = |s: Status| self.spans.iter().filter(|x| x.status == s && !x.sub).count();
        let subs = self.spans.iter().filter(|s| s.sub).count();
        let threads: BTreeSet<usize> = self.spans.iter().map(|s| s.thread).collect();
        let _ = writeln!(
            h,
            "<table class=\"summary\"><tr><th>Total time</th><td>{}</td></tr>\
             <tr><th>Jobs (-j)</th><td>{}</td></tr><tr><th>Threads that ran work</th><td>{}</td></tr>\
             <tr><th>Artifacts</th><td>{} ({} built, {} restored, {} downloaded, {} fresh, {} failed, {} skipped)</td></tr>\
             <tr><th>Segments and other sub-artifacts</th><td>{subs}</td></tr></table>",
            duration(self.total_us),
            self.jobs,
            threads.len(),
            self.spans.len() - subs,
            count(Status::Built),
            count(Status::Restored),
            count(Status::Downloaded),
            count(Status::Fresh),
            count(Status::Failed),
            count(Status::Skipped),
        );
    }

    fn timeline_svg(&self, h: &mut String) {
        const W: f64 = 1200.0;
        const LABEL: f64 = 80.0;
        const ROW: f64 = 22.0;
        let critical: BTreeSet<&str> = self.critical.iter().map(String::as_str).collect();
        // Each thread's spans stack by nesting depth (a video waits inside for its segments).
        let mut rows: BTreeMap<usize, Vec<Vec<&Span>>> = BTreeMap::new();
        for s in &self.spans {
            let levels = rows.entry(s.thread).or_default();
            let level =
                levels.iter().position(|l| l.last().is_none_or(|p| p.end_us() <= s.start_us)).unwrap_or(levels.len());
            if level == levels.len() {
                levels.push(Vec::new());
            }
            levels[level].push(s);
        }
        let height: f64 = rows.values().map(|l| l.len() as f64 * ROW + 6.0).sum::<f64>() + 24.0;
        let scale = (W - LABEL) / self.total_us.max(1) as f64;
        let _ = writeln!(
            h,
            "<div class=\"scroll\"><svg class=\"timeline\" width=\"{W}\" height=\"{height:.0}\" \
             viewBox=\"0 0 {W} {height:.0}\" xmlns=\"http://www.w3.org/2000/svg\">"
        );
        axis(h, LABEL, W, self.total_us, height - 4.0);
        let mut y = 4.0;
        for (thread, levels) in &rows {
            let band = levels.len() as f64 * ROW;
            let _ = writeln!(
                h,
                "<text x=\"4\" y=\"{:.1}\" class=\"lane\">thread {thread}</text>\
                 <line x1=\"{LABEL}\" x2=\"{W}\" y1=\"{:.1}\" y2=\"{:.1}\" class=\"grid\"/>",
                y + 15.0,
                y + band + 3.0,
                y + band + 3.0
            );
            for (depth, level) in levels.iter().enumerate() {
                let top = y + depth as f64 * ROW;
                for s in level {
                    let x = LABEL + s.start_us as f64 * scale;
                    let w = (s.us as f64 * scale).max(1.5);
                    let class = if critical.contains(s.id.as_str()) { " class=\"crit\"" } else { "" };
                    let _ = write!(
                        h,
                        "<g><title>{} ({}, {}) {} on thread {thread}, from {}</title>\
                         <rect x=\"{x:.1}\" y=\"{top:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{}\"{class}/>",
                        esc(&s.id),
                        esc(&s.query),
                        status_word(s.status),
                        duration(s.us),
                        duration(s.start_us),
                        ROW - 4.0,
                        status_colour(s.status)
                    );
                    // A label where it fits (about 7 px per character).
                    let chars = ((w - 6.0) / 7.0) as usize;
                    if chars >= 4 {
                        let name = short_label(&s.id, chars);
                        let _ = write!(
                            h,
                            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"bar\">{}</text>",
                            x + 3.0,
                            top + 13.0,
                            esc(&name)
                        );
                    }
                    h.push_str("</g>\n");
                }
            }
            y += band + 6.0;
        }
        h.push_str("</svg></div>\n");
    }

    fn busy_svg(&self, h: &mut String) {
        const W: f64 = 1200.0;
        const LABEL: f64 = 80.0;
        const H: f64 = 140.0;
        let steps = self.busy_threads();
        let most = steps.iter().map(|s| s.1).max().unwrap_or(0).max(self.jobs).max(1);
        let yof = |n: f64| 10.0 + (H - 30.0) * (1.0 - n / most as f64);
        let _ = writeln!(
            h,
            "<div class=\"scroll\"><svg class=\"busy\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" \
             xmlns=\"http://www.w3.org/2000/svg\">"
        );
        for n in 0..=most {
            let _ = writeln!(
                h,
                "<line x1=\"{LABEL}\" x2=\"{W}\" y1=\"{0:.1}\" y2=\"{0:.1}\" class=\"grid\"/>\
                 <text x=\"{1:.1}\" y=\"{2:.1}\" class=\"lane\" text-anchor=\"end\">{n}</text>",
                yof(n as f64),
                LABEL - 6.0,
                yof(n as f64) + 4.0
            );
        }
        // The average number of busy threads in each pixel column (a step line would be all
        // spikes: a thread is idle for a moment between two artifacts).
        let avg = self.busy_per_column((W - LABEL) as usize);
        let mut points = format!("{LABEL:.1},{:.1} ", yof(0.0));
        for (col, v) in avg.iter().enumerate() {
            let _ = write!(points, "{:.1},{:.1} ", LABEL + col as f64 + 0.5, yof(*v));
        }
        let _ = write!(points, "{W:.1},{:.1}", yof(0.0));
        let _ = writeln!(h, "<polygon points=\"{points}\" class=\"busyline\"/>");
        let _ = writeln!(
            h,
            "<line x1=\"{LABEL}\" x2=\"{W}\" y1=\"{0:.1}\" y2=\"{0:.1}\" class=\"jobs\"/>\
             <text x=\"{W}\" y=\"{1:.1}\" class=\"lane\" text-anchor=\"end\">-j {2}</text>",
            yof(self.jobs as f64),
            yof(self.jobs as f64) - 3.0,
            self.jobs
        );
        axis(h, LABEL, W, self.total_us, H - 4.0);
        h.push_str("</svg></div>\n");
    }

    fn critical_html(&self, h: &mut String) {
        let by_id: BTreeMap<&str, &Span> = self.spans.iter().map(|s| (s.id.as_str(), s)).collect();
        let total: u64 = self.critical.iter().filter_map(|id| by_id.get(id.as_str())).map(|s| s.us).sum();
        let _ = write!(
            h,
            "<h2>Critical path</h2>\n<p>The chain of dependencies that ended last: each artifact's latest-finishing \
             input, back from the last artifact to finish ({} of work). Outlined in the timeline.</p>\n\
             <table class=\"list\"><tr><th>#</th><th>Artifact</th><th>Kind</th><th>Status</th><th>Start</th><th>Time</th></tr>\n",
            duration(total)
        );
        for (n, id) in self.critical.iter().enumerate() {
            let Some(s) = by_id.get(id.as_str()) else { continue };
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td><span class=\"dot\" style=\"background:{}\"></span>{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                n + 1,
                esc(id),
                esc(&s.query),
                status_colour(s.status),
                status_word(s.status),
                duration(s.start_us),
                duration(s.us)
            );
        }
        h.push_str("</table>\n");
    }

    fn kinds_html(&self, h: &mut String) {
        h.push_str(
            "<h2>Totals per query kind</h2>\n<p>Time is summed per computation; a computation that waits for \
             others it needs (a video for its segments) counts its waiting too.</p>\n<table class=\"list\">\
             <tr><th>Query kind</th><th>Count</th><th>Built</th><th>Total time</th><th>Longest</th></tr>\n",
        );
        let mut kinds: Vec<(&str, KindTotal)> = self.per_kind().into_iter().collect();
        kinds.sort_by(|a, b| b.1.us.cmp(&a.1.us).then(a.0.cmp(b.0)));
        for (kind, t) in kinds {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td></tr>",
                esc(kind),
                t.count,
                t.built,
                duration(t.us),
                duration(t.max_us)
            );
        }
        h.push_str("</table>\n");
    }

    fn slowest_html(&self, h: &mut String) {
        let mut spans: Vec<&Span> = self.spans.iter().collect();
        spans.sort_by(|a, b| b.us.cmp(&a.us).then(a.id.cmp(&b.id)));
        let shown = spans.len().min(50);
        let _ = write!(
            h,
            "<h2>Slowest {shown} of {}</h2>\n<table class=\"list\"><tr><th>Artifact</th><th>Kind</th><th>Status</th>\
             <th>Thread</th><th>Start</th><th>Time</th></tr>\n",
            spans.len()
        );
        for s in &spans[..shown] {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td><span class=\"dot\" style=\"background:{}\"></span>{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                esc(&s.id),
                esc(&s.query),
                status_colour(s.status),
                status_word(s.status),
                s.thread,
                duration(s.start_us),
                duration(s.us)
            );
        }
        h.push_str("</table>\n");
    }
}

/// From the declared artifact that finished last, back through its latest-finishing declared
/// dependency, to one with none that ran in this render.
fn critical_path(spans: &[Span], index: &BTreeMap<String, ArtifactDecl>) -> Vec<String> {
    let by_id: BTreeMap<&str, &Span> = spans.iter().filter(|s| !s.sub).map(|s| (s.id.as_str(), s)).collect();
    let Some(mut cur) = by_id.values().max_by(|a, b| a.end_us().cmp(&b.end_us()).then(b.id.cmp(&a.id))).copied() else {
        return Vec::new();
    };
    let mut path = vec![cur.id.clone()];
    let mut seen = BTreeSet::from([cur.id.as_str()]);
    while let Some(decl) = index.get(&cur.id) {
        let next = decl
            .deps
            .iter()
            .filter_map(|d| by_id.get(d.as_str()).copied())
            .filter(|s| !seen.contains(s.id.as_str()))
            .max_by(|a, b| a.end_us().cmp(&b.end_us()).then(b.id.cmp(&a.id)));
        let Some(next) = next else { break };
        seen.insert(next.id.as_str());
        path.push(next.id.clone());
        cur = next;
    }
    path.reverse();
    path
}

/// The end of an id that fits in `chars` characters (`…` in front when cut).
fn short_label(id: &str, chars: usize) -> String {
    let n = id.chars().count();
    if n <= chars {
        return id.to_string();
    }
    let tail: String = id.chars().skip(n + 1 - chars).collect();
    format!("…{tail}")
}

fn legend() -> String {
    let mut h = String::from("<p class=\"legend\">");
    for s in [Status::Built, Status::Restored, Status::Downloaded, Status::Fresh, Status::Failed, Status::Skipped] {
        let _ = write!(h, "<span class=\"dot\" style=\"background:{}\"></span>{} ", status_colour(s), status_word(s));
    }
    h.push_str("<span class=\"dot critdot\"></span>critical path</p>\n");
    h
}

/// Time ticks along the bottom of a chart.
fn axis(h: &mut String, left: f64, right: f64, total_us: u64, y: f64) {
    let total = total_us.max(1) as f64;
    // About eight ticks at a round step.
    let raw = total / 8.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(raw).max(1.0);
    let mut t = 0.0;
    while t <= total {
        let x = left + t / total * (right - left);
        let _ = writeln!(
            h,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"0\" y2=\"{:.1}\" class=\"tick\"/>\
             <text x=\"{:.1}\" y=\"{y:.1}\" class=\"lane\">{}</text>",
            y - 12.0,
            x + 2.0,
            duration(t as u64)
        );
        t += step;
    }
}

const CSS: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}\
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}\
table{border-collapse:collapse}th,td{padding:2px 10px;text-align:left;border-bottom:1px solid #e4e4e4}\
td.num{text-align:right;font-variant-numeric:tabular-nums}\
.summary th{font-weight:600;color:#555}\
.scroll{overflow-x:auto}svg text{font:11px system-ui,sans-serif}\
.lane{fill:#555}.bar{fill:#fff;pointer-events:none}.grid{stroke:#eee}.tick{stroke:#f2f2f2}\
.crit{stroke:#000;stroke-width:1.5}.busyline{fill:#f6c9a4;stroke:#e8833a;stroke-width:1}\
.jobs{stroke:#999;stroke-dasharray:4 3}\
.dot{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin:0 4px 0 10px;vertical-align:-1px}\
.critdot{border:2px solid #000;width:.55em;height:.55em}";

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: &str, status: Status, thread: usize, start_us: u64, us: u64) -> ArtifactEvent {
        let mut e = ArtifactEvent::new(id, status);
        e.query = "q";
        e.thread = thread;
        e.start_us = start_us;
        e.us = us;
        e
    }

    #[test]
    fn busy_threads_merge_nested_spans_per_thread() {
        let events = [
            ev("a", Status::Built, 0, 0, 100),
            ev("a/seg", Status::Built, 0, 10, 20), // nested in a: thread 0 stays one busy thread
            ev("b", Status::Built, 1, 50, 100),
            ev("c", Status::Fresh, 1, 200, 0), // no time: not busy
        ];
        let t = Timings::new(&events, &BTreeMap::new(), 300, 2);
        assert_eq!(t.busy_threads(), vec![(0, 1), (50, 2), (100, 1), (150, 0)]);
        let avg = t.busy_per_column(6);
        let want = [1.0, 2.0, 1.0, 0.0, 0.0, 0.0];
        assert!(avg.iter().zip(want).all(|(a, w)| (a - w).abs() < 1e-9), "{avg:?}");
        // A long span stays busy in every column it covers, however the columns round.
        let long = Timings::new(&[ev("x", Status::Built, 0, 0, 999_983)], &BTreeMap::new(), 999_983, 1);
        assert!(long.busy_per_column(1120).iter().all(|v| (v - 1.0).abs() < 1e-6));
        let kinds = t.per_kind();
        assert_eq!(kinds["q"], KindTotal { count: 4, built: 3, us: 220, max_us: 100 });
    }

    #[test]
    fn trace_has_one_complete_event_per_span() {
        let events = [ev("a", Status::Built, 0, 5, 100), ev("b", Status::Restored, 3, 7, 1)];
        let t = Timings::new(&events, &BTreeMap::new(), 200, 4);
        let trace = t.chrome_trace();
        let x: Vec<_> = trace["traceEvents"].as_array().unwrap().iter().filter(|e| e["ph"] == "X").collect();
        assert_eq!(x.len(), 2);
        assert_eq!((x[0]["name"].as_str(), x[0]["ts"].as_u64(), x[0]["dur"].as_u64()), (Some("a"), Some(5), Some(100)));
        assert_eq!((x[1]["tid"].as_u64(), x[1]["args"]["status"].as_str()), (Some(3), Some("restored")));
        let html = t.html("t");
        assert!(html.contains("thread 3") && html.contains(">b<"), "{html}");
    }

    #[test]
    fn labels_keep_the_end_of_long_ids() {
        assert_eq!(short_label("album.demo/opening/video.mp4", 10), "…video.mp4");
        assert_eq!(short_label("kit.x/a.wav", 20), "kit.x/a.wav");
    }
}
