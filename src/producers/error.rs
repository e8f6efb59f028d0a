//! `ProducerError`: why a producer could not give a source its columns, naming both.

use std::fmt;

/// What went wrong.
#[derive(Debug, Clone, PartialEq)]
pub enum ProducerProblem {
    /// A column does not have `T` values.
    WrongLength {
        /// Column name.
        column: String,
        /// Values given.
        got: usize,
        /// `T`.
        expected: usize,
    },
    /// A column holds NaN or ±∞.
    NonFinite {
        /// Column name.
        column: String,
        /// First bad frame.
        frame: usize,
        /// Its value.
        value: f32,
    },
    /// The producer gave no column at all.
    Empty(String),
    /// The whole sidecar would have no column.
    NoColumns,
    /// The source is too short to cover one frame.
    EmptySource,
    /// A column name is not usable.
    BadName(String),
    /// The producer needs the source's audio and none was given.
    NoAudio,
    /// A regex or value in the producer's settings is unusable.
    BadSetting(String),
    /// A plug-in's output was not supplied, or the plug-in failed (its own message).
    Plugin(String),
    /// The source's decoded audio could not be read back.
    Read(String),
}

/// A producer failed for one source.
#[derive(Debug, Clone, PartialEq)]
pub struct ProducerError {
    /// The producer, as [`super::ProducerParams::label`] names it (`producers[1] lin`).
    pub producer: String,
    /// The source's name (its file name or artifact id).
    pub source: String,
    /// What went wrong.
    pub problem: ProducerProblem,
}

impl fmt::Display for ProducerProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProducerProblem::WrongLength { column, got, expected } => {
                write!(f, "column `{column}` has {got} values; the grid has T = {expected} frames")
            }
            ProducerProblem::NonFinite { column, frame, value } => {
                write!(f, "column `{column}` is not finite at frame {frame} ({value})")
            }
            ProducerProblem::Empty(why) => write!(f, "produced no column: {why}"),
            ProducerProblem::NoColumns => write!(f, "the producers gave no column at all"),
            ProducerProblem::EmptySource => write!(f, "the source is empty: it covers no frame of the grid"),
            ProducerProblem::BadName(msg) | ProducerProblem::BadSetting(msg) | ProducerProblem::Plugin(msg) => {
                write!(f, "{msg}")
            }
            ProducerProblem::NoAudio => write!(f, "needs the source's audio, which was not decoded"),
            ProducerProblem::Read(why) => write!(f, "reading the decoded audio: {why}"),
        }
    }
}

impl fmt::Display for ProducerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "producer {} on `{}`: {}", self.producer, self.source, self.problem)
    }
}

impl std::error::Error for ProducerError {}
