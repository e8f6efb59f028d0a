//! What an artifact query returns: the small `Built` handle on success, or why not.

use crate::store::Digest;

/// The handle an artifact query returns: enough to find, verify and key it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Built {
    pub digest: Digest,
    pub key: Digest,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BuildError {
    /// The computation itself failed; `transient` failures (I/O) are retried, never cached.
    Failed { id: String, message: String, transient: bool },
    /// An input artifact failed.
    Upstream { id: String, dep: String },
    /// Plan mode: this artifact would have to be computed. `desc` is its action description
    /// (None when it cannot be known yet because input `upstream` must be rebuilt first).
    NeedsBuild { id: String, desc: Option<String>, upstream: Option<String> },
    /// No such artifact (or the project configuration is invalid).
    Unknown { id: String },
    /// Not an error: a planned output that its inputs cannot give (a texture whose source has
    /// no window passing the gates, a silent flicker, a grade-F file not to be saved).
    Skipped { id: String, reason: String },
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::Failed { id, message, .. } => write!(f, "{id}: {message}"),
            BuildError::Upstream { id, dep } => write!(f, "{id}: not built because its input {dep} failed"),
            BuildError::NeedsBuild { id, .. } => write!(f, "{id}: needs to be built"),
            BuildError::Unknown { id } => write!(f, "{id}: no such artifact"),
            BuildError::Skipped { id, reason } => write!(f, "{id}: not made: {reason}"),
        }
    }
}

impl BuildError {
    pub fn failed(id: &str, message: impl Into<String>) -> BuildError {
        BuildError::Failed { id: id.to_string(), message: message.into(), transient: false }
    }

    pub fn io(id: &str, context: &str, e: impl std::fmt::Display) -> BuildError {
        BuildError::Failed { id: id.to_string(), message: format!("{context}: {e}"), transient: true }
    }
}
