//! The frame grid of a sidecar: `fps` frames per second, or one frame every `hop` samples at a
//! rate; how many frames cover a source, where each frame starts, and its centre time.
//!
//! Definitions (exact, and what the tests pin):
//! - `T = ceil(duration · fps)` frames cover a source of `duration = n / sr` seconds (EnCodec's
//!   frame count: a partial last frame counts). Computed in integers where the grid allows it.
//! - Frame `k` covers `[k / fps, (k + 1) / fps)` seconds; at a sample rate `sr` that is samples
//!   `[floor(k · sr / fps), floor((k + 1) · sr / fps))`. When `sr / fps` is a whole number (the
//!   usual case: 48000/75 = 640, 24000/75 = 320) every frame has exactly that many samples.
//! - A frame's value belongs to its centre, `(k + 0.5) / fps` seconds, when columns are
//!   resampled onto or off the grid.

use serde::Serialize;

/// Largest `fps` a grid accepts.
pub const MAX_FPS: f64 = 1000.0;

/// Where a sidecar's frames lie in time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Grid {
    /// `fps` frames per second (e.g. 75 for EnCodec 24 kHz).
    Fps {
        /// Frames per second, in `(0, MAX_FPS]`.
        fps: f64,
    },
    /// One frame every `hop` samples at `sample_rate_hz` (fps = `sample_rate_hz / hop`).
    Hop {
        /// Samples per frame at `sample_rate_hz`.
        hop: u32,
        /// The rate `hop` is counted at, in Hz.
        sample_rate_hz: u32,
    },
}

impl Eq for Grid {}

impl Grid {
    /// Frames per second.
    pub fn fps(&self) -> f64 {
        match *self {
            Grid::Fps { fps } => fps,
            Grid::Hop { hop, sample_rate_hz } => f64::from(sample_rate_hz) / f64::from(hop),
        }
    }

    /// Checks the grid's numbers; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            Grid::Fps { fps } if !(fps.is_finite() && fps > 0.0 && fps <= MAX_FPS) => {
                Err(format!("fps must be in (0, {MAX_FPS}] frames per second, got {fps}"))
            }
            Grid::Hop { hop: 0, .. } => Err("hop must be at least 1 sample".to_string()),
            Grid::Hop { sample_rate_hz: 0, .. } => Err("sample_rate must be positive".to_string()),
            Grid::Hop { hop, sample_rate_hz } if f64::from(sample_rate_hz) / f64::from(hop) > MAX_FPS => Err(format!(
                "hop {hop} at {sample_rate_hz} Hz gives {} frames per second; at most {MAX_FPS} are allowed",
                f64::from(sample_rate_hz) / f64::from(hop)
            )),
            _ => Ok(()),
        }
    }

    /// `fps` as an exact fraction `num / den` when it is one (integer fps, or any hop grid).
    fn ratio(&self) -> Option<(u128, u128)> {
        match *self {
            Grid::Fps { fps } if fps.fract() == 0.0 && fps >= 1.0 => Some((fps as u128, 1)),
            Grid::Fps { .. } => None,
            Grid::Hop { hop, sample_rate_hz } => Some((u128::from(sample_rate_hz), u128::from(hop))),
        }
    }

    /// `T`: the frames covering `samples` samples at `sample_rate_hz`, `ceil(samples · fps / sr)`.
    ///
    /// ```
    /// use ntsbuild::producers::Grid;
    /// let g = Grid::Fps { fps: 75.0 };
    /// assert_eq!(g.frame_count(48_000 * 60, 48_000), 4500);
    /// assert_eq!(g.frame_count(48_000 * 60 + 1, 48_000), 4501);
    /// assert_eq!(Grid::Hop { hop: 320, sample_rate_hz: 24_000 }.frame_count(24_000, 24_000), 75);
    /// ```
    pub fn frame_count(&self, samples: u64, sample_rate_hz: u32) -> usize {
        if sample_rate_hz == 0 {
            return 0;
        }
        match self.ratio() {
            Some((num, den)) => {
                let top = u128::from(samples) * num;
                let bottom = u128::from(sample_rate_hz) * den;
                usize::try_from(top.div_ceil(bottom)).unwrap_or(usize::MAX)
            }
            None => (samples as f64 * self.fps() / f64::from(sample_rate_hz)).ceil() as usize,
        }
    }

    /// `T` for a duration in seconds: `ceil(duration_s · fps)`, ignoring a excess below 1e-6
    /// frames (so 60.0 s at 75 fps is 4500 frames even when `duration_s` carries rounding).
    pub fn frame_count_for_duration(&self, duration_s: f64) -> usize {
        frames_for_duration(duration_s, self.fps())
    }

    /// First sample of frame `k` at `sample_rate_hz`: `floor(k · sr / fps)`.
    pub fn frame_start(&self, k: usize, sample_rate_hz: u32) -> u64 {
        match self.ratio() {
            Some((num, den)) => {
                let s = (k as u128) * u128::from(sample_rate_hz) * den / num;
                u64::try_from(s).unwrap_or(u64::MAX)
            }
            None => (k as f64 * f64::from(sample_rate_hz) / self.fps()).floor() as u64,
        }
    }

    /// Centre of frame `k` in seconds: `(k + 0.5) / fps`.
    pub fn frame_centre_s(&self, k: usize) -> f64 {
        match *self {
            Grid::Fps { fps } => (k as f64 + 0.5) / fps,
            Grid::Hop { hop, sample_rate_hz } => (k as f64 + 0.5) * f64::from(hop) / f64::from(sample_rate_hz),
        }
    }
}

/// `ceil(duration_s · fps)`, ignoring an excess below 1e-6 frames; 0 for a non-positive or
/// non-finite product.
pub fn frames_for_duration(duration_s: f64, fps: f64) -> usize {
    let x = duration_s * fps;
    if !x.is_finite() || x <= 0.0 { 0 } else { (x - 1e-6).ceil().max(0.0) as usize }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_count_is_the_ceiling_of_duration_times_fps() {
        let g = Grid::Fps { fps: 75.0 };
        assert_eq!(g.frame_count(0, 48_000), 0);
        assert_eq!(g.frame_count(1, 48_000), 1);
        assert_eq!(g.frame_count(640, 48_000), 1);
        assert_eq!(g.frame_count(641, 48_000), 2);
        assert_eq!(g.frame_count(44_100 * 60, 44_100), 4500);
        // A 44.1 kHz source on a 75 fps grid: 588 samples a frame.
        assert_eq!(g.frame_count(588 * 10 + 1, 44_100), 11);
        // Non-integer fps uses floating point and agrees with the definition.
        let odd = Grid::Fps { fps: 29.97 };
        assert_eq!(odd.frame_count(48_000 * 10, 48_000), 300);
        assert_eq!(odd.frame_count_for_duration(10.0), 300);
        assert_eq!(g.frame_count_for_duration(60.0), 4500);
        assert_eq!(g.frame_count_for_duration(60.0 + 1e-12), 4500);
        assert_eq!(g.frame_count_for_duration(60.001), 4501);
        assert_eq!(g.frame_count_for_duration(0.0), 0);
    }

    #[test]
    fn hop_grids_count_at_their_own_rate() {
        let g = Grid::Hop { hop: 512, sample_rate_hz: 44_100 };
        assert!((g.fps() - 86.132_812_5).abs() < 1e-12);
        assert_eq!(g.frame_count(44_100, 44_100), 87);
        assert_eq!(g.frame_count(1024, 44_100), 2);
        // The same duration at twice the rate gives the same frames.
        assert_eq!(g.frame_count(2048, 88_200), 2);
        assert_eq!(g.frame_start(3, 44_100), 1536);
        assert_eq!(g.frame_start(3, 88_200), 3072);
    }

    #[test]
    fn frames_tile_the_signal_without_gaps() {
        for (g, sr) in
            [(Grid::Fps { fps: 75.0 }, 48_000), (Grid::Fps { fps: 29.97 }, 44_100), (Grid::Fps { fps: 75.0 }, 16_000)]
        {
            let n = 16_000u64 * 3 + 17;
            let t = g.frame_count(n, sr);
            assert_eq!(g.frame_start(0, sr), 0);
            for k in 0..t {
                assert!(g.frame_start(k + 1, sr) > g.frame_start(k, sr));
            }
            // The last frame starts inside the signal and the next one at or past its end.
            assert!(g.frame_start(t - 1, sr) < n);
            assert!(g.frame_start(t, sr) >= n);
        }
        assert_eq!(Grid::Fps { fps: 75.0 }.frame_start(1, 16_000), 213);
        assert_eq!(Grid::Fps { fps: 75.0 }.frame_start(3, 16_000), 640);
    }

    #[test]
    fn validation_names_the_field() {
        assert!(Grid::Fps { fps: 0.0 }.validate().unwrap_err().contains("fps"));
        assert!(Grid::Fps { fps: f64::NAN }.validate().is_err());
        assert!(Grid::Hop { hop: 0, sample_rate_hz: 48_000 }.validate().unwrap_err().contains("hop"));
        assert!(Grid::Hop { hop: 1, sample_rate_hz: 48_000 }.validate().is_err());
        assert!(Grid::Fps { fps: 75.0 }.validate().is_ok());
    }
}
