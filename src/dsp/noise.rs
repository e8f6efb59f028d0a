//! Coloured noise: pink (1/f) noise by spectral shaping of white Gaussian noise.

use realfft::RealFftPlanner;

use crate::dsp::rng::Rng;

/// `len` samples of pink noise (power density ∝ 1/f), peak-normalised to 1.
///
/// White N(0, 1) noise from `rng` (one [`Rng::normal`] per sample), a real FFT of the whole
/// buffer, bin `k ≥ 1` scaled by `1/√k` (amplitude ∝ 1/√f), DC removed, inverse FFT, then the
/// buffer divided by its peak (seed 001's hi-hat air). The spectrum, and so the level of any
/// band after normalisation, depends a little on `len` (the lowest bin is `sr/len`), so callers
/// that want a length-independent sound render one fixed length. Deterministic for a given
/// `len` and stream; a silent or empty result stays all zero.
///
/// ```
/// use ntsbuild::dsp::{noise::pink_noise, rng::Rng};
/// let x = pink_noise(4096, &mut Rng::new(1));
/// assert_eq!(x.len(), 4096);
/// assert!((x.iter().fold(0.0f64, |m, v| m.max(v.abs())) - 1.0).abs() < 1e-12);
/// ```
pub fn pink_noise(len: usize, rng: &mut Rng) -> Vec<f64> {
    let mut x: Vec<f64> = (0..len).map(|_| rng.normal()).collect();
    if len < 2 {
        return vec![0.0; len];
    }
    let mut planner = RealFftPlanner::<f64>::new();
    let forward = planner.plan_fft_forward(len);
    let inverse = planner.plan_fft_inverse(len);
    let mut spectrum = forward.make_output_vec();
    if forward.process(&mut x, &mut spectrum).is_err() {
        return vec![0.0; len];
    }
    spectrum[0] = Default::default();
    for (k, bin) in spectrum.iter_mut().enumerate().skip(1) {
        *bin *= 1.0 / (k as f64).sqrt();
    }
    // A real signal's Nyquist bin (even lengths) and DC must be real for the inverse.
    if len.is_multiple_of(2)
        && let Some(last) = spectrum.last_mut()
    {
        last.im = 0.0;
    }
    if inverse.process(&mut spectrum, &mut x).is_err() {
        return vec![0.0; len];
    }
    let peak = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if peak > 0.0 && peak.is_finite() {
        for v in x.iter_mut() {
            *v /= peak;
        }
    } else {
        x.iter_mut().for_each(|v| *v = 0.0);
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mean power of `x` in the FFT bins of `[lo, hi)` (in cycles per sample).
    fn band_power(x: &[f64], lo: f64, hi: f64) -> f64 {
        let n = x.len();
        let mut planner = RealFftPlanner::<f64>::new();
        let fft = planner.plan_fft_forward(n);
        let mut buf = x.to_vec();
        let mut spec = fft.make_output_vec();
        fft.process(&mut buf, &mut spec).expect("fft");
        let bins: Vec<f64> = spec
            .iter()
            .enumerate()
            .filter(|(k, _)| {
                let f = *k as f64 / n as f64;
                f >= lo && f < hi
            })
            .map(|(_, c)| c.norm_sqr())
            .collect();
        bins.iter().sum::<f64>()
    }

    #[test]
    fn equal_power_per_octave() {
        let x = pink_noise(1 << 16, &mut Rng::new(3));
        // Octaves well inside the spectrum carry equal power (1/f), within noise.
        let a = band_power(&x, 0.01, 0.02);
        let b = band_power(&x, 0.04, 0.08);
        let c = band_power(&x, 0.2, 0.4);
        for (p, q) in [(a, b), (b, c)] {
            let db = 10.0 * (p / q).log10();
            assert!(db.abs() < 1.0, "octave powers differ by {db} dB");
        }
        assert!(x.iter().sum::<f64>().abs() < 1e-6);
    }

    #[test]
    fn deterministic_and_tiny_lengths() {
        assert_eq!(pink_noise(1000, &mut Rng::new(9)), pink_noise(1000, &mut Rng::new(9)));
        assert!(pink_noise(0, &mut Rng::new(1)).is_empty());
        assert_eq!(pink_noise(1, &mut Rng::new(1)), vec![0.0]);
        assert!(pink_noise(3, &mut Rng::new(1)).iter().all(|v| v.is_finite()));
    }
}
