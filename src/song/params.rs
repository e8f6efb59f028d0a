//! Song parameters, their validation, and the step grid (sample-exact hit times).

use std::fmt;

use serde::Serialize;

/// Beats per bar (4/4).
pub const BEATS_PER_BAR: f64 = 4.0;
/// Accepted tempo range.
pub const BPM_RANGE: (f64, f64) = (20.0, 400.0);
/// Accepted bars.
pub const BARS_RANGE: (u32, u32) = (1, 1024);
/// Accepted steps per bar.
pub const STEPS_PER_BAR_RANGE: (u32, u32) = (1, 96);
/// Largest swing.
pub const MAX_SWING: f64 = 0.75;
/// Voice gain range (dB).
pub const GAIN_DB_RANGE: (f64, f64) = (-60.0, 24.0);
/// Longest song grid, in seconds.
pub const MAX_DURATION_S: f64 = 1800.0;

/// A song: a tempo grid and one step pattern per voice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SongParams {
    pub bpm: f64,
    pub bars: u32,
    pub steps_per_bar: u32,
    /// Swing in `[0, 0.75]`: every odd step *within a bar* (1, 3, 5, …) is delayed by
    /// `swing · step_len / 2` (0.5 → a quarter step; 2/3 → triplet feel).
    pub swing: f64,
    pub voices: Vec<SongVoice>,
}

/// One sequenced voice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SongVoice {
    pub name: String,
    /// Velocity per step in `[0, 1]` (0 = rest); repeats when shorter than the song.
    pub steps: Vec<f32>,
    pub gain_db: f64,
    /// −1 (left) … 1 (right), constant-power.
    pub pan: f64,
}

impl SongParams {
    /// Step length in seconds: `60/bpm · 4 / steps_per_bar`.
    pub fn step_len_s(&self) -> f64 {
        60.0 / self.bpm * BEATS_PER_BAR / f64::from(self.steps_per_bar)
    }

    /// Total number of steps: `bars · steps_per_bar`.
    pub fn total_steps(&self) -> u64 {
        u64::from(self.bars) * u64::from(self.steps_per_bar)
    }

    /// Sample index of step `step` (counted from the song start):
    /// `round((step + d) · 240 · sr / (bpm · steps_per_bar))` with `d = swing/2` when
    /// `step mod steps_per_bar` is odd, else 0; `round` is half away from zero. Always
    /// evaluated with exactly this expression, so hit times never drift.
    pub fn step_index(&self, step: u64, sample_rate_hz: u32) -> usize {
        let in_bar = step % u64::from(self.steps_per_bar.max(1));
        let delay = if in_bar % 2 == 1 { self.swing / 2.0 } else { 0.0 };
        let pos = (step as f64 + delay) * 60.0 * BEATS_PER_BAR * f64::from(sample_rate_hz)
            / (self.bpm * f64::from(self.steps_per_bar));
        pos.round().max(0.0) as usize
    }

    /// Length of the grid in samples: the unswung index of step `bars · steps_per_bar`.
    pub fn grid_len(&self, sample_rate_hz: u32) -> usize {
        let pos = self.total_steps() as f64 * 60.0 * BEATS_PER_BAR * f64::from(sample_rate_hz)
            / (self.bpm * f64::from(self.steps_per_bar));
        pos.round().max(0.0) as usize
    }

    /// Check every field; reports all problems at once.
    pub fn validate(&self) -> Result<(), Vec<SongError>> {
        let mut errors = Vec::new();
        let range = |key: &str, v: f64, (lo, hi): (f64, f64)| {
            (!(v.is_finite() && v >= lo && v <= hi)).then(|| SongError::OutOfRange {
                key: key.to_string(),
                value: v,
                min: lo,
                max: hi,
            })
        };
        errors.extend(range("bpm", self.bpm, BPM_RANGE));
        errors.extend(range("bars", f64::from(self.bars), (f64::from(BARS_RANGE.0), f64::from(BARS_RANGE.1))));
        errors.extend(range(
            "steps_per_bar",
            f64::from(self.steps_per_bar),
            (f64::from(STEPS_PER_BAR_RANGE.0), f64::from(STEPS_PER_BAR_RANGE.1)),
        ));
        errors.extend(range("swing", self.swing, (0.0, MAX_SWING)));
        if errors.is_empty() {
            let duration_s = self.total_steps() as f64 * self.step_len_s();
            if duration_s > MAX_DURATION_S {
                errors.push(SongError::TooLong { duration_s, max_s: MAX_DURATION_S });
            }
        }
        for (i, v) in self.voices.iter().enumerate() {
            let key = |field: &str| format!("voices[{i}] ({}).{field}", v.name);
            errors.extend(range(&key("gain_db"), v.gain_db, GAIN_DB_RANGE));
            errors.extend(range(&key("pan"), v.pan, (-1.0, 1.0)));
            if v.steps.is_empty() {
                errors.push(SongError::EmptyPattern { key: key("steps") });
            }
            for (s, &vel) in v.steps.iter().enumerate() {
                errors.extend(range(&key(&format!("steps[{s}]")), f64::from(vel), (0.0, 1.0)));
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

/// A rejected song field; `key` names it relative to the song table.
#[derive(Debug, Clone, PartialEq)]
pub enum SongError {
    OutOfRange { key: String, value: f64, min: f64, max: f64 },
    EmptyPattern { key: String },
    TooLong { duration_s: f64, max_s: f64 },
}

impl fmt::Display for SongError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SongError::OutOfRange { key, value, min, max } => {
                write!(f, "`{key}` = {value} is out of range; allowed {min}..={max}")
            }
            SongError::EmptyPattern { key } => write!(f, "`{key}` has no steps"),
            SongError::TooLong { duration_s, max_s } => {
                write!(f, "song grid is {duration_s:.1} s long; at most {max_s} s allowed")
            }
        }
    }
}

impl std::error::Error for SongError {}
