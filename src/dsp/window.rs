//! Analysis windows, computed exactly as `scipy.signal.get_window` does.

use std::f64::consts::PI;

/// Periodic ("DFT-even") Hann window of `len` samples, as
/// `scipy.signal.get_window("hann", len, fftbins=True)` (what librosa's STFT uses).
///
/// scipy builds a symmetric window of `len + 1` points from `linspace(-π, π, len + 1)` and
/// drops the last point; the phase is computed the same way here so the values match to the bit.
///
/// ```
/// let w = ntsbuild::dsp::window::hann_periodic(4);
/// assert_eq!(w, vec![0.0, 0.5, 1.0, 0.5]);
/// ```
pub fn hann_periodic(len: usize) -> Vec<f64> {
    match len {
        0 => Vec::new(),
        1 => vec![1.0],
        _ => {
            // numpy.linspace(-π, π, len + 1): start + i·step, step = 2π / len.
            let step = (PI - (-PI)) / len as f64;
            (0..len)
                .map(|i| {
                    let phase = i as f64 * step + (-PI);
                    0.5 + 0.5 * phase.cos()
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periodic_hann_is_zero_at_start_and_one_at_centre() {
        let w = hann_periodic(2048);
        assert_eq!(w.len(), 2048);
        assert!(w[0].abs() < 1e-15);
        assert!((w[1024] - 1.0).abs() < 1e-15);
        // Periodic: w[k] == w[len - k].
        for k in 1..1024 {
            assert!((w[k] - w[2048 - k]).abs() < 1e-12, "k={k}");
        }
    }
}
