//! How build events are shown: an indicatif progress bar on a terminal, plain lines
//! otherwise, or one JSON object per line with `--message-format json`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use serde_json::json;

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
    bar: Mutex<Option<ProgressBar>>,
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
        Printer { format, verbose, quiet, store, bar: Mutex::new(None) }
    }

    fn out(&self, line: &str) {
        let bar = self.bar.lock().unwrap_or_else(|p| p.into_inner());
        match bar.as_ref() {
            Some(b) => b.println(line),
            None => {
                let mut o = std::io::stdout().lock();
                let _ = writeln!(o, "{line}");
            }
        }
    }

    fn err(&self, line: &str) {
        let bar = self.bar.lock().unwrap_or_else(|p| p.into_inner());
        match bar.as_ref() {
            Some(b) => b.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    pub fn summary(&self, s: &Summary) {
        if let Some(b) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).take() {
            b.finish_and_clear();
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
            let bar = ProgressBar::new(total as u64);
            if let Ok(style) = ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {wide_msg}") {
                bar.set_style(style.progress_chars("=> "));
            }
            *self.bar.lock().unwrap_or_else(|p| p.into_inner()) = Some(bar);
        }
    }

    fn sub_artifact(&self, e: &ArtifactEvent) {
        if let Some(b) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            b.inc_length(1);
        }
        // Segments are many: shown in JSON, with -v, or when they fail.
        if self.format == MessageFormat::Json || self.verbose > 0 || e.error.is_some() {
            self.artifact(e);
        } else if let Some(b) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            b.inc(1);
            b.set_message(e.id.clone());
        }
    }

    fn artifact(&self, e: &ArtifactEvent) {
        if let Some(b) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            b.inc(1);
            b.set_message(e.id.clone());
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
                    self.err(&format!("error: {err}"));
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
    fn counts_agree_in_number() {
        assert_eq!(count(1, "artifact", "artifacts"), "1 artifact");
        assert_eq!(count(0, "artifact", "artifacts"), "0 artifacts");
        assert_eq!(count(13, "blob", "blobs"), "13 blobs");
    }
}
