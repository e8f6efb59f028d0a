//! RBJ-cookbook biquad filters (transposed direct form II, f64) and a swept band-pass.
//!
//! Coefficients follow Robert Bristow-Johnson's "Audio EQ Cookbook": `w0 = 2π·fc/sr`,
//! `α = sin(w0)/(2Q)`, normalised by `a0`. The cutoff is clamped to
//! `[1e-6·sr, 0.499·sr]` and Q to `≥ 1e-3`, so any finite input gives a stable filter.

use std::f64::consts::TAU;

/// Normalised biquad coefficients (`a0 = 1`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BiquadCoeffs {
    pub b0: f64,
    pub b1: f64,
    pub b2: f64,
    pub a1: f64,
    pub a2: f64,
}

/// `(cos w0, α)` for a clamped cutoff and Q.
fn w0_alpha(cutoff_hz: f64, q: f64, sample_rate_hz: f64) -> (f64, f64) {
    let fc = cutoff_hz.clamp(1e-6 * sample_rate_hz, 0.499 * sample_rate_hz);
    let w0 = TAU * fc / sample_rate_hz;
    let (sin_w0, cos_w0) = w0.sin_cos();
    (cos_w0, sin_w0 / (2.0 * q.max(1e-3)))
}

impl BiquadCoeffs {
    /// Divide through by `a0`.
    fn normalised(b: [f64; 3], a: [f64; 3]) -> Self {
        let inv = 1.0 / a[0];
        Self { b0: b[0] * inv, b1: b[1] * inv, b2: b[2] * inv, a1: a[1] * inv, a2: a[2] * inv }
    }

    /// RBJ low-pass: `H(s) = 1 / (s² + s/Q + 1)`.
    pub fn lowpass(cutoff_hz: f64, q: f64, sample_rate_hz: f64) -> Self {
        let (c, alpha) = w0_alpha(cutoff_hz, q, sample_rate_hz);
        let b1 = 1.0 - c;
        Self::normalised([b1 / 2.0, b1, b1 / 2.0], [1.0 + alpha, -2.0 * c, 1.0 - alpha])
    }

    /// RBJ high-pass: `H(s) = s² / (s² + s/Q + 1)`.
    pub fn highpass(cutoff_hz: f64, q: f64, sample_rate_hz: f64) -> Self {
        let (c, alpha) = w0_alpha(cutoff_hz, q, sample_rate_hz);
        let b1 = -(1.0 + c);
        Self::normalised([-b1 / 2.0, b1, -b1 / 2.0], [1.0 + alpha, -2.0 * c, 1.0 - alpha])
    }

    /// RBJ band-pass with constant 0 dB peak gain: `H(s) = (s/Q) / (s² + s/Q + 1)`.
    pub fn bandpass(center_hz: f64, q: f64, sample_rate_hz: f64) -> Self {
        let (c, alpha) = w0_alpha(center_hz, q, sample_rate_hz);
        Self::normalised([alpha, 0.0, -alpha], [1.0 + alpha, -2.0 * c, 1.0 - alpha])
    }

    /// Magnitude response `|H(e^{jw})|` at `freq_hz` (for tests and plots).
    pub fn magnitude(&self, freq_hz: f64, sample_rate_hz: f64) -> f64 {
        let w = TAU * freq_hz / sample_rate_hz;
        let (s1, c1) = w.sin_cos();
        let (s2, c2) = (2.0 * w).sin_cos();
        let num_re = self.b0 + self.b1 * c1 + self.b2 * c2;
        let num_im = -(self.b1 * s1 + self.b2 * s2);
        let den_re = 1.0 + self.a1 * c1 + self.a2 * c2;
        let den_im = -(self.a1 * s1 + self.a2 * s2);
        (num_re.hypot(num_im)) / (den_re.hypot(den_im))
    }
}

/// A biquad filter with state (transposed direct form II).
///
/// ```
/// use ntsbuild::dsp::biquad::Biquad;
/// let mut lp = Biquad::lowpass(1000.0, 0.707, 48_000.0);
/// // DC passes a low-pass with unit gain once settled.
/// let mut y = 0.0;
/// for _ in 0..10_000 {
///     y = lp.process(1.0);
/// }
/// assert!((y - 1.0).abs() < 1e-9);
/// ```
#[derive(Debug, Clone)]
pub struct Biquad {
    coeffs: BiquadCoeffs,
    s1: f64,
    s2: f64,
}

impl Biquad {
    /// A filter with the given coefficients and zero state.
    pub fn new(coeffs: BiquadCoeffs) -> Self {
        Self { coeffs, s1: 0.0, s2: 0.0 }
    }

    /// RBJ low-pass filter.
    pub fn lowpass(cutoff_hz: f64, q: f64, sample_rate_hz: f64) -> Self {
        Self::new(BiquadCoeffs::lowpass(cutoff_hz, q, sample_rate_hz))
    }

    /// RBJ high-pass filter.
    pub fn highpass(cutoff_hz: f64, q: f64, sample_rate_hz: f64) -> Self {
        Self::new(BiquadCoeffs::highpass(cutoff_hz, q, sample_rate_hz))
    }

    /// RBJ band-pass filter (0 dB peak).
    pub fn bandpass(center_hz: f64, q: f64, sample_rate_hz: f64) -> Self {
        Self::new(BiquadCoeffs::bandpass(center_hz, q, sample_rate_hz))
    }

    /// The current coefficients.
    pub fn coeffs(&self) -> BiquadCoeffs {
        self.coeffs
    }

    /// Replace the coefficients, keeping the state (for time-varying filters).
    pub fn set_coeffs(&mut self, coeffs: BiquadCoeffs) {
        self.coeffs = coeffs;
    }

    /// Clear the state.
    pub fn reset(&mut self) {
        self.s1 = 0.0;
        self.s2 = 0.0;
    }

    /// Set the state to the steady state of an input that has been `x` forever (the output
    /// then starts at `DC gain · x`), as SciPy's `lfilter_zi` does for zero-phase filtering.
    pub fn settle(&mut self, x: f64) {
        let c = &self.coeffs;
        let den = 1.0 + c.a1 + c.a2;
        let gain = if den != 0.0 { (c.b0 + c.b1 + c.b2) / den } else { 0.0 };
        self.s1 = (gain - c.b0) * x;
        self.s2 = (c.b2 - c.a2 * gain) * x;
    }

    /// Filter one sample.
    #[inline]
    pub fn process(&mut self, x: f64) -> f64 {
        let c = &self.coeffs;
        let y = c.b0 * x + self.s1;
        self.s1 = c.b1 * x - c.a1 * y + self.s2;
        self.s2 = c.b2 * x - c.a2 * y;
        y
    }

    /// Filter a buffer in place.
    pub fn process_buf(&mut self, buf: &mut [f64]) {
        for x in buf {
            *x = self.process(*x);
        }
    }
}

/// A band-pass whose centre glides geometrically from `start_hz` to `end_hz` over `sweep_s`
/// seconds, then stays at `end_hz`: `fc(t) = start·(end/start)^(t/sweep)`, t = n/sr.
/// Coefficients are recomputed every sample during the sweep (the snare wires:
/// 9 kHz → 3.5 kHz over 50 ms, Q 0.8).
#[derive(Debug, Clone)]
pub struct SweptBandpass {
    filter: Biquad,
    start_hz: f64,
    ratio: f64,
    q: f64,
    sample_rate_hz: f64,
    sweep_samples: usize,
    n: usize,
}

impl SweptBandpass {
    /// A swept band-pass starting at `start_hz`.
    pub fn new(start_hz: f64, end_hz: f64, sweep_s: f64, q: f64, sample_rate_hz: f64) -> Self {
        let start_hz = start_hz.max(1e-3);
        let sweep_samples = (sweep_s.max(0.0) * sample_rate_hz).round() as usize;
        Self {
            filter: Biquad::bandpass(start_hz, q, sample_rate_hz),
            start_hz,
            ratio: end_hz.max(1e-3) / start_hz,
            q,
            sample_rate_hz,
            sweep_samples,
            n: 0,
        }
    }

    /// The centre frequency used for sample index `n`.
    pub fn center_hz_at(&self, n: usize) -> f64 {
        if n >= self.sweep_samples {
            self.start_hz * self.ratio
        } else {
            self.start_hz * self.ratio.powf(n as f64 / self.sweep_samples as f64)
        }
    }

    /// Filter one sample (sample index advances by one).
    #[inline]
    pub fn process(&mut self, x: f64) -> f64 {
        if self.n <= self.sweep_samples {
            let fc = self.center_hz_at(self.n);
            self.filter.set_coeffs(BiquadCoeffs::bandpass(fc, self.q, self.sample_rate_hz));
        }
        self.n = self.n.saturating_add(1);
        self.filter.process(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settled_filter_passes_a_constant_without_transient() {
        for mut f in [Biquad::lowpass(400.0, 0.7, 48_000.0), Biquad::highpass(20.0, 1.3, 48_000.0)] {
            let dc = if f.coeffs().b1 > 0.0 { 0.7 } else { 0.0 };
            f.settle(0.7);
            for _ in 0..100 {
                assert!((f.process(0.7) - dc).abs() < 1e-12);
            }
        }
    }

    const SR: f64 = 48_000.0;

    /// Steady-state gain of a filter for a sine, measured on a long run.
    fn measured_gain(mut f: Biquad, freq_hz: f64) -> f64 {
        let n = 48_000;
        let mut peak: f64 = 0.0;
        for i in 0..n {
            let y = f.process((TAU * freq_hz * i as f64 / SR).sin());
            if i > n / 2 {
                peak = peak.max(y.abs());
            }
        }
        peak
    }

    #[test]
    fn lowpass_response() {
        let c = BiquadCoeffs::lowpass(1000.0, std::f64::consts::FRAC_1_SQRT_2, SR);
        assert!((c.magnitude(0.0, SR) - 1.0).abs() < 1e-12);
        // −3 dB at the cutoff for Q = 1/√2.
        assert!((c.magnitude(1000.0, SR) - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-9);
        assert!(c.magnitude(10_000.0, SR) < 0.02);
        let g = measured_gain(Biquad::new(c), 100.0);
        assert!((g - c.magnitude(100.0, SR)).abs() < 1e-3);
    }

    #[test]
    fn highpass_response() {
        let c = BiquadCoeffs::highpass(1000.0, std::f64::consts::FRAC_1_SQRT_2, SR);
        assert!(c.magnitude(0.0, SR) < 1e-12);
        assert!((c.magnitude(1000.0, SR) - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-9);
        assert!((c.magnitude(20_000.0, SR) - 1.0).abs() < 0.01);
        let g = measured_gain(Biquad::new(c), 5000.0);
        assert!((g - c.magnitude(5000.0, SR)).abs() < 1e-3);
    }

    #[test]
    fn bandpass_has_unit_peak() {
        for q in [0.8, 1.5, 3.0, 5.0] {
            let c = BiquadCoeffs::bandpass(2000.0, q, SR);
            assert!((c.magnitude(2000.0, SR) - 1.0).abs() < 1e-9, "q {q}");
            assert!(c.magnitude(200.0, SR) < 0.5);
            assert!(c.magnitude(0.0, SR) < 1e-12);
        }
    }

    #[test]
    fn out_of_range_cutoff_is_clamped_and_stable() {
        let mut f = Biquad::lowpass(1e9, 0.0, SR);
        for i in 0..1000 {
            let y = f.process(if i == 0 { 1.0 } else { 0.0 });
            assert!(y.is_finite());
        }
    }

    #[test]
    fn sweep_reaches_end_frequency_at_the_right_sample() {
        let sr = 192_000.0;
        let mut bp = SweptBandpass::new(9000.0, 3500.0, 0.05, 0.8, sr);
        assert_eq!(bp.center_hz_at(0), 9000.0);
        assert!((bp.center_hz_at(9600) - 3500.0).abs() < 1e-9);
        assert!(bp.center_hz_at(4800) < 9000.0 && bp.center_hz_at(4800) > 3500.0);
        for i in 0..20_000 {
            let y = bp.process(if i % 7 == 0 { 1.0 } else { -0.1 });
            assert!(y.is_finite());
        }
        let expect = BiquadCoeffs::bandpass(3500.0, 0.8, sr);
        let got = bp.filter.coeffs();
        assert!((got.b0 - expect.b0).abs() < 1e-12 && (got.a1 - expect.a1).abs() < 1e-12);
    }
}
