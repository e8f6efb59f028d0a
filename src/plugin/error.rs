//! `PluginError`: a plug-in producer failed for one source — which one, on which source, how,
//! and the tail of what it printed to stderr.

use std::fmt;
use std::time::Duration;

/// How a plug-in failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PluginFailure {
    /// The request could not be prepared (temporary files).
    #[error("could not prepare its request: {0}")]
    Prepare(String),
    /// The command could not be started.
    #[error("could not start `{program}`: {detail}")]
    Spawn {
        /// `argv[0]`.
        program: String,
        /// What the OS said.
        detail: String,
    },
    /// It ran past its timeout; its process group was killed.
    #[error("ran longer than its timeout of {0:?} and was killed")]
    Timeout(Duration),
    /// Its answer passed the size cap; its process group was killed.
    #[error("its answer passed the {0}-byte cap and it was killed")]
    OutputTooLarge(u64),
    /// It exited unsuccessfully.
    #[error("exited with {0}")]
    Exit(String),
    /// It left a process holding its output open after exiting.
    #[error("exited but left a process holding its output open")]
    Lingering,
    /// It printed (or wrote) nothing.
    #[error("gave no answer: nothing on stdout and nothing written to {{out}}")]
    Empty,
    /// Its answer is neither an `.npy` nor a JSON object.
    #[error("answered garbage: {0}")]
    Garbage(String),
    /// Its answer is well-formed but wrong (lengths, names, non-finite values).
    #[error("answered wrongly: {0}")]
    BadAnswer(String),
}

/// A plug-in producer failed for one source. Nothing it produced is returned.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginError {
    /// The producer's name (`[producer.NAME]`).
    pub producer: String,
    /// The source's name.
    pub source: String,
    /// What went wrong.
    pub failure: PluginFailure,
    /// The last lines of its stderr (at most [`STDERR_TAIL_BYTES`]).
    pub stderr_tail: String,
}

/// How much of a failing producer's stderr an error keeps.
pub const STDERR_TAIL_BYTES: usize = 2048;

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "producer plugin {} on `{}`: {}", self.producer, self.source, self.failure)?;
        let tail = self.stderr_tail.trim();
        if !tail.is_empty() {
            let lines: Vec<&str> = tail.lines().rev().take(8).collect::<Vec<_>>().into_iter().rev().collect();
            write!(f, "; stderr: {}", lines.join(" | "))?;
        }
        Ok(())
    }
}

impl std::error::Error for PluginError {}

/// The last `STDERR_TAIL_BYTES` of `bytes` as text, starting at a line break when there is one.
pub fn tail_text(bytes: &[u8]) -> String {
    let start = bytes.len().saturating_sub(STDERR_TAIL_BYTES);
    let mut tail = &bytes[start..];
    if start > 0
        && let Some(nl) = tail.iter().position(|&b| b == b'\n')
    {
        tail = &tail[nl + 1..];
    }
    String::from_utf8_lossy(tail).into_owned()
}
