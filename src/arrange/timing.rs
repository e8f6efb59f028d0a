//! A song's time frame: its tempo map, length in bars and samples, sample rate and block size.

use std::fmt;

use serde::Serialize;

use super::tempo::{TempoError, TempoMap, TempoParams};

/// Longest song, in seconds (as for drum-pattern songs).
pub const MAX_DURATION_S: f64 = 1800.0;
/// Accepted block sizes.
pub const BLOCK_SIZE_RANGE: (u32, u32) = (16, 16_384);

/// What a song's time frame is made from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimingParams {
    pub tempo: TempoParams,
    pub sample_rate_hz: u32,
    /// Song length in bars (through the meter changes).
    pub bars: u32,
    /// Seconds rendered after the last bar.
    pub tail_s: f64,
    /// Samples per render block: changes speed, never the output (not part of any cache key).
    #[serde(skip)]
    pub block_size: u32,
}

/// Why a time frame is not usable.
#[derive(Debug, Clone, PartialEq)]
pub enum TimingError {
    Tempo(Vec<TempoError>),
    TooLong { duration_s: f64 },
    SampleRate,
}

impl fmt::Display for TimingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimingError::Tempo(errors) => {
                let msgs: Vec<String> = errors.iter().map(ToString::to_string).collect();
                write!(f, "{}", msgs.join("; "))
            }
            TimingError::TooLong { duration_s } => {
                write!(f, "the song lasts {duration_s:.0} s; at most {MAX_DURATION_S} s are allowed")
            }
            TimingError::SampleRate => write!(f, "the sample rate must be at least 8000 Hz"),
        }
    }
}

impl std::error::Error for TimingError {}

/// A validated time frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    pub tempo: TempoMap,
    pub sample_rate_hz: u32,
    pub bars: u32,
    /// Beat at which the last bar ends.
    pub end_beat: f64,
    /// Samples in every stem and in the mix: the bars plus the tail.
    pub length_samples: usize,
    pub block_size: usize,
}

impl Timing {
    pub fn new(p: &TimingParams) -> Result<Timing, TimingError> {
        if p.sample_rate_hz < 8000 {
            return Err(TimingError::SampleRate);
        }
        let tempo = TempoMap::new(&p.tempo).map_err(TimingError::Tempo)?;
        let bars = p.bars.max(1);
        let end_beat = tempo.bar_start_beat(bars + 1);
        let tail_s = if p.tail_s.is_finite() { p.tail_s.clamp(0.0, 30.0) } else { 0.0 };
        let duration_s = tempo.seconds(end_beat) + tail_s;
        if duration_s.is_nan() || duration_s > MAX_DURATION_S {
            return Err(TimingError::TooLong { duration_s });
        }
        let length_samples = (duration_s * f64::from(p.sample_rate_hz)).round() as usize;
        let block_size = p.block_size.clamp(BLOCK_SIZE_RANGE.0, BLOCK_SIZE_RANGE.1) as usize;
        Ok(Timing { tempo, sample_rate_hz: p.sample_rate_hz, bars, end_beat, length_samples, block_size })
    }

    /// The song's length in seconds.
    pub fn duration_s(&self) -> f64 {
        self.length_samples as f64 / f64::from(self.sample_rate_hz)
    }
}
