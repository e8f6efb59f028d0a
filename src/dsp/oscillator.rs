//! Phase-accumulating oscillators (sine, triangle, band-limited square), phase kept in f64 cycles.

use std::f64::consts::TAU;

/// Oscillator shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waveform {
    /// `sin(2π·p)`.
    Sine,
    /// Sine-aligned triangle: 0 at p = 0, +1 at 0.25, −1 at 0.75.
    Triangle,
    /// +1 for p < 0.5, −1 otherwise (band-limited with PolyBLEP inside [`Oscillator`]).
    Square,
}

impl Waveform {
    /// The naive (not band-limited) shape at phase `p` (in cycles; any real value).
    ///
    /// ```
    /// use ntsbuild::dsp::oscillator::Waveform;
    /// assert_eq!(Waveform::Triangle.value_at(0.25), 1.0);
    /// assert_eq!(Waveform::Square.value_at(0.75), -1.0);
    /// ```
    pub fn value_at(self, p: f64) -> f64 {
        let p = p - p.floor();
        match self {
            Waveform::Sine => (TAU * p).sin(),
            Waveform::Triangle => {
                if p < 0.25 {
                    4.0 * p
                } else if p < 0.75 {
                    2.0 - 4.0 * p
                } else {
                    4.0 * p - 4.0
                }
            }
            Waveform::Square => {
                if p < 0.5 {
                    1.0
                } else {
                    -1.0
                }
            }
        }
    }
}

/// PolyBLEP residual for a unit step at phase 0, `dt` = phase increment per sample.
fn poly_blep(p: f64, dt: f64) -> f64 {
    if dt <= 0.0 {
        0.0
    } else if p < dt {
        let x = p / dt;
        x + x - x * x - 1.0
    } else if p > 1.0 - dt {
        let x = (p - 1.0) / dt;
        x * x + x + x + 1.0
    } else {
        0.0
    }
}

/// A free-running oscillator. [`Oscillator::next`] returns the value at the current phase and
/// then advances the phase by `freq_hz / sample_rate_hz` (wrapped to [0, 1)).
///
/// ```
/// use ntsbuild::dsp::oscillator::{Oscillator, Waveform};
/// let mut osc = Oscillator::new(Waveform::Sine, 0.0);
/// assert_eq!(osc.next(12_000.0, 48_000.0), 0.0);
/// assert!((osc.next(12_000.0, 48_000.0) - 1.0).abs() < 1e-15);
/// ```
#[derive(Debug, Clone)]
pub struct Oscillator {
    waveform: Waveform,
    phase: f64,
}

impl Oscillator {
    /// An oscillator starting at `phase_cycles` (wrapped to [0, 1)).
    pub fn new(waveform: Waveform, phase_cycles: f64) -> Self {
        let phase = if phase_cycles.is_finite() { phase_cycles - phase_cycles.floor() } else { 0.0 };
        Self { waveform, phase }
    }

    /// Current phase in cycles, in [0, 1).
    pub fn phase(&self) -> f64 {
        self.phase
    }

    /// The sample at the current phase, then advance. Squares are PolyBLEP band-limited.
    #[inline]
    pub fn next(&mut self, freq_hz: f64, sample_rate_hz: f64) -> f64 {
        let dt = (freq_hz / sample_rate_hz).abs();
        let p = self.phase;
        let y = match self.waveform {
            Waveform::Square => {
                let mut half = p + 0.5;
                if half >= 1.0 {
                    half -= 1.0;
                }
                self.waveform.value_at(p) + poly_blep(p, dt) - poly_blep(half, dt)
            }
            w => w.value_at(p),
        };
        self.phase = advance(p, freq_hz / sample_rate_hz);
        y
    }
}

/// `phase + increment`, wrapped to [0, 1).
#[inline]
pub fn advance(phase: f64, increment: f64) -> f64 {
    let p = phase + increment;
    let w = p - p.floor();
    // `p - floor(p)` can round up to exactly 1.0 for tiny negative p.
    if w >= 1.0 { 0.0 } else { w }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_stays_wrapped_and_accurate() {
        let mut osc = Oscillator::new(Waveform::Sine, 0.0);
        let sr = 48_000.0;
        for _ in 0..48_000 {
            osc.next(1000.0, sr);
            assert!((0.0..1.0).contains(&osc.phase()));
        }
        // After exactly 1 s of 1 kHz the phase is back at 0 (within f64 accumulation error).
        let p = osc.phase();
        assert!(p.min(1.0 - p) < 1e-9, "phase {p}");
    }

    #[test]
    fn shapes_have_expected_extremes() {
        for w in [Waveform::Sine, Waveform::Triangle, Waveform::Square] {
            let vals: Vec<f64> = (0..1000).map(|i| w.value_at(i as f64 / 1000.0)).collect();
            let max = vals.iter().cloned().fold(f64::MIN, f64::max);
            let min = vals.iter().cloned().fold(f64::MAX, f64::min);
            assert!((max - 1.0).abs() < 1e-9 && (min + 1.0).abs() < 1e-9, "{w:?}");
        }
        assert_eq!(Waveform::Triangle.value_at(0.0), 0.0);
        assert_eq!(Waveform::Triangle.value_at(0.5), 0.0);
    }

    #[test]
    fn blep_square_is_bounded_and_zero_mean() {
        let mut osc = Oscillator::new(Waveform::Square, 0.3);
        let sr = 48_000.0;
        let n = 48_000;
        let mut sum = 0.0;
        for _ in 0..n {
            let y = osc.next(1000.0, sr);
            assert!(y.abs() <= 1.0 + 1e-12);
            sum += y;
        }
        assert!((sum / n as f64).abs() < 1e-3);
    }

    #[test]
    fn advance_wraps_negative_increments() {
        assert_eq!(advance(0.25, -0.5), 0.75);
        let p = advance(0.0, -1e-20);
        assert!((0.0..1.0).contains(&p));
    }
}
