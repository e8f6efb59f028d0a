//! One-pole filters: a low-pass smoother and a DC blocker.

use std::f64::consts::TAU;

/// One-pole low-pass `y += α·(x − y)` with `α = 1 − e^(−2π·fc/sr)`.
#[derive(Debug, Clone)]
pub struct OnePoleLowpass {
    alpha: f64,
    y: f64,
}

impl OnePoleLowpass {
    /// A low-pass at `cutoff_hz` with zero state.
    pub fn new(cutoff_hz: f64, sample_rate_hz: f64) -> Self {
        Self { alpha: Self::alpha(cutoff_hz, sample_rate_hz), y: 0.0 }
    }

    /// `1 − e^(−2π·fc/sr)`, with fc clamped to ≥ 0.
    pub fn alpha(cutoff_hz: f64, sample_rate_hz: f64) -> f64 {
        1.0 - (-TAU * cutoff_hz.max(0.0) / sample_rate_hz).exp()
    }

    /// Change the cutoff, keeping the state.
    pub fn set_cutoff(&mut self, cutoff_hz: f64, sample_rate_hz: f64) {
        self.alpha = Self::alpha(cutoff_hz, sample_rate_hz);
    }

    /// Filter one sample.
    #[inline]
    pub fn process(&mut self, x: f64) -> f64 {
        self.y += self.alpha * (x - self.y);
        self.y
    }
}

/// DC blocker `y[n] = x[n] − x[n−1] + R·y[n−1]` with `R = e^(−2π·fc/sr)`.
///
/// ```
/// use ntsbuild::dsp::onepole::DcBlocker;
/// let mut dc = DcBlocker::new(10.0, 48_000.0);
/// let mut y = 1.0;
/// for _ in 0..48_000 {
///     y = dc.process(0.5); // a constant input decays away
/// }
/// assert!(y.abs() < 1e-6);
/// ```
#[derive(Debug, Clone)]
pub struct DcBlocker {
    r: f64,
    x1: f64,
    y1: f64,
}

impl DcBlocker {
    /// A DC blocker with its −3 dB point near `cutoff_hz`.
    pub fn new(cutoff_hz: f64, sample_rate_hz: f64) -> Self {
        Self { r: (-TAU * cutoff_hz.max(0.0) / sample_rate_hz).exp(), x1: 0.0, y1: 0.0 }
    }

    /// Filter one sample.
    #[inline]
    pub fn process(&mut self, x: f64) -> f64 {
        let y = x - self.x1 + self.r * self.y1;
        self.x1 = x;
        self.y1 = y;
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowpass_step_reaches_63_percent_after_tau() {
        let sr = 48_000.0;
        let fc = 100.0;
        let mut lp = OnePoleLowpass::new(fc, sr);
        let tau_samples = (sr / (TAU * fc)).round() as usize;
        let mut y = 0.0;
        for _ in 0..tau_samples {
            y = lp.process(1.0);
        }
        assert!((y - (1.0 - (-1.0f64).exp())).abs() < 0.01, "{y}");
    }

    #[test]
    fn dc_blocker_passes_audio() {
        let sr = 48_000.0;
        let mut dc = DcBlocker::new(10.0, sr);
        let mut peak: f64 = 0.0;
        for n in 0..48_000 {
            let y = dc.process((TAU * 1000.0 * n as f64 / sr).sin());
            if n > 24_000 {
                peak = peak.max(y.abs());
            }
        }
        assert!((peak - 1.0).abs() < 0.001);
    }
}
