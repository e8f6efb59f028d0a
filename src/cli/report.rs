//! How build events are shown: an indicatif progress bar on a terminal, plain lines
//! otherwise, or one JSON object per line with `--message-format json`.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::Serialize;
use serde_json::json;

use crate::engine::progress::Progress;
use crate::engine::render::{ArtifactEvent, Outcome, Reporter, Status, Summary};
use crate::engine::watch::Observer;
use crate::project::Diagnostics;
use crate::store::Store;

use super::args::MessageFormat;

/// One `--message-format json` line per artifact (fields in this order).
#[derive(Serialize)]
struct ArtifactLine<'a> {
    event: &'static str,
    id: &'a str,
    status: &'static str,
    digest: Option<String>,
    key: Option<String>,
    ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    warnings: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    notes: &'a [String],
}

#[derive(Serialize)]
struct SummaryLine<'a> {
    event: &'static str,
    #[serde(flatten)]
    summary: &'a Summary,
}

pub struct Printer {
    pub format: MessageFormat,
    pub verbose: u8,
    pub quiet: bool,
    /// For `-v`: the store holding each action's description.
    pub store: Option<Store>,
    bars: Mutex<Option<Bars>>,
    /// Without a terminal: when each long artifact's progress was last printed.
    printed: Mutex<BTreeMap<String, Instant>>,
    /// Errors said this run, by cause (the message without its artifact's id): an artifact
    /// failing for a cause already said (every segment of every video when the ONNX Runtime
    /// library is missing) is listed once at the end instead.
    causes: Mutex<BTreeMap<String, Vec<String>>>,
}

/// On a terminal: the render's bar (artifacts done of the total) and one bar per long
/// artifact in progress (frames done, frames per second, time left).
struct Bars {
    multi: MultiProgress,
    main: ProgressBar,
    work: BTreeMap<String, ProgressBar>,
}

/// How often long work is reported without a terminal (a CI log).
const PLAIN_PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// `5 s`, `3 min 20 s`, `1 h 05 min`.
pub fn duration_words(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
    }
}

/// `412/895 frames · 84 fps · 6 s left`.
fn progress_words(p: &Progress) -> String {
    let eta = match p.eta_s {
        Some(eta) if !p.done => format!(" · {} left", duration_words(eta)),
        _ if p.done => format!(" · done in {}", duration_words(p.elapsed_s)),
        _ => String::new(),
    };
    format!("{}/{} frames · {:.0} fps{eta}", p.frames_done, p.frames, p.fps)
}

/// `n` and the noun in the right number: `1 artifact`, `0 artifacts`, `2 artifacts`.
pub fn count(n: usize, singular: &str, plural: &str) -> String {
    format!("{n} {}", if n == 1 { singular } else { plural })
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Built => "built",
        Status::Downloaded => "downloaded",
        Status::Restored => "restored",
        Status::Fresh => "fresh",
        Status::Failed => "failed",
        Status::Skipped => "skipped",
    }
}

impl Printer {
    pub fn new(format: MessageFormat, verbose: u8, quiet: bool, store: Option<Store>) -> Printer {
        Printer {
            format,
            verbose,
            quiet,
            store,
            bars: Mutex::new(None),
            printed: Mutex::default(),
            causes: Mutex::default(),
        }
    }

    fn bars(&self) -> std::sync::MutexGuard<'_, Option<Bars>> {
        self.bars.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn out(&self, line: &str) {
        let bars = self.bars();
        match bars.as_ref() {
            Some(b) => {
                let _ = b.multi.println(line);
            }
            None => {
                let mut o = std::io::stdout().lock();
                let _ = writeln!(o, "{line}");
            }
        }
    }

    fn err(&self, line: &str) {
        let bars = self.bars();
        match bars.as_ref() {
            Some(b) => b.multi.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    /// Whether `e`'s error is news: false when another artifact failed for the same cause
    /// before in this run (it is then counted for [`Printer::repeated_causes`]).
    fn first_with_cause(&self, e: &ArtifactEvent, error: &str) -> bool {
        // The message less the artifact it starts with (its own id, or the segment a video's
        // encoding read).
        let cause = match error.split_once(": ") {
            Some((id, rest)) if id == e.id || (id.contains('/') && !id.contains(char::is_whitespace)) => rest,
            _ => error,
        };
        // Each says which input failed: short, and different for each artifact.
        if cause.starts_with("not built because") {
            return true;
        }
        let mut causes = self.causes.lock().unwrap_or_else(|p| p.into_inner());
        match causes.get_mut(cause) {
            Some(more) => {
                more.push(e.id.clone());
                false
            }
            None => {
                causes.insert(cause.to_string(), Vec::new());
                true
            }
        }
    }

    /// One line per cause that stopped more than one artifact.
    fn repeated_causes(&self) {
        let causes = std::mem::take(&mut *self.causes.lock().unwrap_or_else(|p| p.into_inner()));
        for more in causes.into_values().filter(|m| !m.is_empty()) {
            let shown: Vec<&str> = more.iter().take(4).map(String::as_str).collect();
            let rest = if more.len() > shown.len() { ", …" } else { "" };
            self.err(&format!(
                "error: the same problem stopped {} more ({}{rest})",
                count(more.len(), "artifact", "artifacts"),
                shown.join(", ")
            ));
        }
    }

    pub fn summary(&self, s: &Summary) {
        if self.format == MessageFormat::Human {
            self.repeated_causes();
        }
        if let Some(b) = self.bars().take() {
            b.work.values().for_each(ProgressBar::finish_and_clear);
            b.main.finish_and_clear();
            let _ = b.multi.clear();
        }
        match self.format {
            MessageFormat::Json => {
                let line = SummaryLine { event: "summary", summary: s };
                self.out(&serde_json::to_string(&line).unwrap_or_default())
            }
            MessageFormat::Human => {
                let skipped = if s.skipped > 0 { format!(", {} skipped", s.skipped) } else { String::new() };
                let downloaded =
                    if s.downloaded > 0 { format!(", {} downloaded", s.downloaded) } else { String::new() };
                self.out(&format!(
                    "{}: {} built{downloaded}, {} restored, {} fresh, {} failed{skipped} in {:.2} s",
                    count(
                        s.built + s.downloaded + s.restored + s.fresh + s.failed + s.skipped,
                        "artifact",
                        "artifacts"
                    ),
                    s.built,
                    s.restored,
                    s.fresh,
                    s.failed,
                    s.ms as f64 / 1000.0
                ))
            }
        }
    }

    /// A warning about the run as a whole (not one artifact's).
    pub fn warning(&self, message: &str) {
        match self.format {
            MessageFormat::Json => self.out(&json!({"event": "warning", "message": message}).to_string()),
            MessageFormat::Human => self.err(&format!("warning: {message}")),
        }
    }

    pub fn diagnostics(&self, d: &Diagnostics) {
        self.err(&d.to_string());
        if self.format == MessageFormat::Json {
            let list: Vec<_> = d
                .0
                .iter()
                .map(|d| json!({"file": d.file, "line": d.line, "column": d.col, "key": d.key, "message": d.message}))
                .collect();
            self.out(&json!({"event":"invalid","diagnostics": list}).to_string());
        }
    }
}

impl Reporter for Printer {
    fn waiting_for_lock(&self) {
        self.err("waiting for another ntsbuild process building this project to finish…");
    }

    fn started(&self, total: usize) {
        if self.format == MessageFormat::Human && !self.quiet && std::io::stderr().is_terminal() {
            let multi = MultiProgress::new();
            let main = multi.add(ProgressBar::new(total as u64));
            if let Ok(style) = ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {wide_msg}") {
                main.set_style(style.progress_chars("=> "));
            }
            main.enable_steady_tick(Duration::from_millis(200));
            *self.bars() = Some(Bars { multi, main, work: BTreeMap::new() });
        }
    }

    fn sub_artifact(&self, e: &ArtifactEvent) {
        // Segments are many: shown in JSON, with -v, or when they fail; their video's own bar
        // shows their progress.
        if self.format == MessageFormat::Json || self.verbose > 0 || e.error.is_some() {
            self.artifact(e);
        }
    }

    fn progress(&self, p: &Progress) {
        if self.quiet && self.format == MessageFormat::Human {
            return;
        }
        if self.format == MessageFormat::Json {
            let mut line = serde_json::to_value(p).unwrap_or_default();
            line["event"] = json!("progress");
            self.out(&line.to_string());
            return;
        }
        let mut bars = self.bars();
        if let Some(b) = bars.as_mut() {
            if p.done {
                if let Some(bar) = b.work.remove(&p.id) {
                    bar.finish_and_clear();
                    b.multi.remove(&bar);
                }
                return;
            }
            let bar = b.work.entry(p.id.clone()).or_insert_with(|| {
                let bar = b.multi.add(ProgressBar::new(p.frames));
                if let Ok(style) = ProgressStyle::with_template("  [{bar:30}] {wide_msg}") {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar
            });
            bar.set_length(p.frames);
            bar.set_position(p.frames_done);
            bar.set_message(format!("{} · {}", progress_words(p), p.id));
            return;
        }
        drop(bars);
        // A log: a line every few seconds per long artifact, and one when it is done.
        let mut printed = self.printed.lock().unwrap_or_else(|e| e.into_inner());
        let since = *printed.entry(p.id.clone()).or_insert_with(Instant::now);
        if p.done && p.elapsed_s >= PLAIN_PROGRESS_EVERY.as_secs_f64() || since.elapsed() >= PLAIN_PROGRESS_EVERY {
            printed.insert(p.id.clone(), Instant::now());
            drop(printed);
            self.err(&format!("{:>8} {}: {}", "progress", p.id, progress_words(p)));
        }
    }

    fn wrote(&self, path: &str, files: usize) {
        match self.format {
            MessageFormat::Json => self.out(&json!({"event": "wrote", "path": path, "files": files}).to_string()),
            MessageFormat::Human if !self.quiet => {
                self.out(&format!("{:>8} {path}/ ({})", "wrote", count(files, "file", "files")))
            }
            MessageFormat::Human => {}
        }
    }

    fn artifact(&self, e: &ArtifactEvent) {
        if let Some(b) = self.bars().as_ref()
            && e.part.is_none()
        {
            b.main.inc(1);
            b.main.set_message(e.id.clone());
        }
        match self.format {
            MessageFormat::Json => {
                let line = ArtifactLine {
                    event: "artifact",
                    id: &e.id,
                    status: status_word(e.status),
                    digest: e.digest.map(|d| d.hex()),
                    key: e.key.map(|d| d.hex()),
                    ms: e.ms,
                    output: e.output.as_deref(),
                    error: e.error.as_deref(),
                    warnings: &e.warnings,
                    notes: &e.notes,
                };
                self.out(&serde_json::to_string(&line).unwrap_or_default());
            }
            MessageFormat::Human => {
                if e.status == Status::Skipped {
                    // Said once, by the render that decided it; `status` and `list` show it after.
                    if !self.quiet && (e.decided || self.verbose > 0) {
                        self.out(&format!("{:>8} {}: {}", "skipped", e.id, e.warnings.join("; ")));
                    }
                    return;
                }
                for w in &e.warnings {
                    self.err(&format!("warning: {}: {w}", e.id));
                }
                if let Some(err) = &e.error {
                    if self.first_with_cause(e, err) {
                        self.err(&format!("error: {err}"));
                    }
                } else if !self.quiet && (e.status != Status::Fresh || self.verbose > 0) {
                    let target = e.output.as_deref().map(|o| format!(" → {o}")).unwrap_or_default();
                    self.out(&format!("{:>8} {}{target} ({} ms)", status_word(e.status), e.id, e.ms));
                }
                if self.verbose > 0 && !self.quiet {
                    for note in &e.notes {
                        self.out(&format!("         {note}"));
                    }
                }
                if self.verbose > 0
                    && let (Some(key), Some(store)) = (e.key, &self.store)
                {
                    let desc = store.action(&key).map(|a| a.desc.to_string()).unwrap_or_default();
                    self.out(&format!("         key {key} = blake3({desc})"));
                }
            }
        }
    }
}

impl Observer for Printer {
    fn rendered(&self, outcome: &Outcome) {
        if let Some(w) = outcome.unnamed_warning() {
            self.warning(&w);
        }
        self.summary(&outcome.summary);
    }

    fn invalid(&self, d: &Diagnostics) {
        self.diagnostics(d);
        if self.format == MessageFormat::Human {
            self.err("keeping the last good outputs; waiting for a fix…");
        }
    }

    fn error(&self, message: &str) {
        self.err(&format!("error: {message}"));
    }

    fn watching(&self, paths: &[PathBuf]) {
        if self.format == MessageFormat::Human && !self.quiet {
            let list: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            self.err(&format!("watching {} (Ctrl-C to stop)", list.join(", ")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn durations_read_as_words() {
        use super::duration_words;
        assert_eq!(duration_words(4.6), "5 s");
        assert_eq!(duration_words(200.0), "3 min 20 s");
        assert_eq!(duration_words(3900.0), "1 h 05 min");
        assert_eq!(duration_words(-1.0), "0 s");
    }

    #[test]
    fn counts_agree_in_number() {
        assert_eq!(count(1, "artifact", "artifacts"), "1 artifact");
        assert_eq!(count(0, "artifact", "artifacts"), "0 artifacts");
        assert_eq!(count(13, "blob", "blobs"), "13 blobs");
    }
}
