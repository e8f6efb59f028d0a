//! Anti-alias decimation by 4 with a linear-phase Kaiser-windowed-sinc FIR.
//!
//! Design (all frequencies relative to the *output* rate `fs_out`; the input runs at
//! `4·fs_out`):
//! - passband edge 0.45·fs_out (21.6 kHz at 48 kHz), stopband edge 0.5·fs_out (the output
//!   Nyquist), cutoff in the middle: 0.475·fs_out;
//! - target stopband attenuation 85 dB (≥ 80 dB everywhere above fs_out/2 with margin), Kaiser
//!   `β = 0.1102·(A − 8.7) ≈ 8.41`, length from Kaiser's estimate
//!   `N − 1 ≈ (A − 7.95) / (2.285·Δω)` with `Δω = 2π·0.05/4` ⇒ N = 433 taps (`N − 1` is a
//!   multiple of 8, so the group delay of 216 input samples is exactly 54 output samples);
//! - taps normalised to unit DC gain.
//!
//! The filter is evaluated only at the kept output instants (cost N multiply-adds per output
//! sample) and is **delay-compensated**: output `m` is centred on input `4m`, inputs outside the
//! buffer count as zero. The kernel is computed once per process with a fixed sequence of
//! operations, so results are deterministic.

use std::f64::consts::PI;
use std::sync::OnceLock;

/// Decimation factor.
pub const FACTOR: usize = 4;
/// Number of FIR taps (odd, linear phase).
pub const TAPS: usize = 433;
/// Half length: the group delay in input samples.
const HALF: usize = (TAPS - 1) / 2;
/// Kaiser window β.
const KAISER_BETA: f64 = 8.408;
/// Cutoff in cycles per input sample: 0.475·fs_out / (4·fs_out).
const CUTOFF: f64 = 0.475 / FACTOR as f64;
/// Kernel storage length, padded with zeros to a multiple of 4 for the unrolled dot product.
const PADDED_TAPS: usize = TAPS.div_ceil(4) * 4;

/// Zeroth-order modified Bessel function of the first kind (power series).
fn bessel_i0(x: f64) -> f64 {
    let half_x = x / 2.0;
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..200 {
        term *= half_x / k as f64;
        let t2 = term * term;
        sum += t2;
        if t2 < sum * 1e-20 {
            break;
        }
    }
    sum
}

/// The FIR taps (length [`TAPS`], symmetric, sum 1).
pub fn kernel() -> &'static [f64] {
    &padded_kernel()[..TAPS]
}

fn padded_kernel() -> &'static [f64; PADDED_TAPS] {
    static KERNEL: OnceLock<[f64; PADDED_TAPS]> = OnceLock::new();
    KERNEL.get_or_init(|| {
        let mut h = [0.0; PADDED_TAPS];
        let i0_beta = bessel_i0(KAISER_BETA);
        for (k, tap) in h.iter_mut().take(TAPS).enumerate() {
            let m = k as f64 - HALF as f64;
            let sinc = if m == 0.0 { 2.0 * CUTOFF } else { (2.0 * PI * CUTOFF * m).sin() / (PI * m) };
            let r = m / HALF as f64;
            let window = bessel_i0(KAISER_BETA * (1.0 - r * r).max(0.0).sqrt()) / i0_beta;
            *tap = sinc * window;
        }
        let sum: f64 = h.iter().sum();
        for tap in h.iter_mut() {
            *tap /= sum;
        }
        h
    })
}

/// Magnitude response of the kernel at `freq_over_input_rate` (cycles per input sample).
pub fn response(freq_over_input_rate: f64) -> f64 {
    let w = 2.0 * PI * freq_over_input_rate;
    // Linear phase: H(w) = e^{-jwD} · (h[D] + 2 Σ h[D+k] cos(wk)).
    let h = kernel();
    let mut a = h[HALF];
    for k in 1..=HALF {
        a += 2.0 * h[HALF + k] * (w * k as f64).cos();
    }
    a.abs()
}

/// Dot product with four independent accumulators (fixed order, so deterministic);
/// `a.len()` must be a multiple of 4 and `b` at least as long.
#[inline]
fn dot4(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    for (x, y) in a.chunks_exact(4).zip(b.chunks_exact(4)) {
        acc[0] += x[0] * y[0];
        acc[1] += x[1] * y[1];
        acc[2] += x[2] * y[2];
        acc[3] += x[3] * y[3];
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

/// Low-pass and keep every 4th sample: exactly `out_len` outputs, output `m` centred on input
/// `4m` (no added latency). Inputs beyond the slice are zero.
///
/// ```
/// use ntsbuild::dsp::decimate::decimate4;
/// let input = vec![1.0; 4000];
/// let out = decimate4(&input, 1000);
/// assert_eq!(out.len(), 1000);
/// assert!((out[500] - 1.0).abs() < 1e-9); // DC passes with unit gain
/// ```
pub fn decimate4(input: &[f64], out_len: usize) -> Vec<f64> {
    let h = padded_kernel();
    // padded[i + HALF] = input[i]; enough room for the last window.
    let padded_len = FACTOR * out_len + PADDED_TAPS;
    let mut padded = vec![0.0; padded_len];
    let copy = input.len().min(padded_len - HALF);
    padded[HALF..HALF + copy].copy_from_slice(&input[..copy]);
    (0..out_len)
        .map(|m| {
            let start = FACTOR * m;
            dot4(h, &padded[start..start + PADDED_TAPS])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::TAU;

    const SR_OUT: f64 = 48_000.0;
    const SR_IN: f64 = 4.0 * SR_OUT;

    fn db(x: f64) -> f64 {
        20.0 * x.log10()
    }

    fn sine_in(freq_hz: f64, n: usize) -> Vec<f64> {
        (0..n).map(|i| (TAU * freq_hz * i as f64 / SR_IN).sin()).collect()
    }

    /// RMS over the interior (away from the zero-padded edges).
    fn interior_rms(x: &[f64]) -> f64 {
        let inner = &x[200..x.len() - 200];
        (inner.iter().map(|v| v * v).sum::<f64>() / inner.len() as f64).sqrt()
    }

    #[test]
    fn kernel_is_symmetric_with_unit_dc() {
        let h = kernel();
        assert_eq!(h.len(), TAPS);
        for k in 0..TAPS {
            assert!((h[k] - h[TAPS - 1 - k]).abs() < 1e-15);
        }
        assert!((h.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn analytic_stopband_at_least_80_db() {
        // Scan everything from the output Nyquist to the input Nyquist.
        let mut worst: f64 = 0.0;
        let steps = 20_000;
        for i in 0..=steps {
            let f_out = 0.5 + 1.5 * i as f64 / steps as f64; // in units of fs_out
            worst = worst.max(response(f_out / FACTOR as f64));
        }
        assert!(db(worst) <= -80.0, "worst stopband {} dB", db(worst));
    }

    #[test]
    fn analytic_passband_flat() {
        let mut worst: f64 = 0.0;
        for i in 0..=1000 {
            let f_out = 0.45 * i as f64 / 1000.0;
            worst = worst.max(db(response(f_out / FACTOR as f64)).abs());
        }
        assert!(worst < 0.01, "passband ripple {worst} dB");
    }

    #[test]
    fn one_khz_passes_within_0_1_db() {
        let x = sine_in(1000.0, 4 * 24_000);
        let y = decimate4(&x, 24_000);
        let gain_db = db(interior_rms(&y) / std::f64::consts::FRAC_1_SQRT_2);
        assert!(gain_db.abs() < 0.1, "1 kHz gain {gain_db} dB");
    }

    #[test]
    fn sines_above_output_nyquist_attenuated_60_db() {
        for f in [24_500.0, 26_000.0, 30_000.0, 47_000.0, 72_000.0, 95_000.0] {
            let x = sine_in(f, 4 * 24_000);
            let y = decimate4(&x, 24_000);
            let att = db(interior_rms(&y) / std::f64::consts::FRAC_1_SQRT_2);
            assert!(att <= -60.0, "{f} Hz only {att} dB");
        }
    }

    #[test]
    fn no_latency_impulse_lands_on_its_output_sample() {
        let mut x = vec![0.0; 4000];
        x[4 * 300] = 1.0;
        let y = decimate4(&x, 1000);
        let peak = y.iter().enumerate().max_by(|a, b| a.1.abs().total_cmp(&b.1.abs())).map(|(i, _)| i);
        assert_eq!(peak, Some(300));
    }

    #[test]
    fn exact_length_and_short_inputs() {
        assert_eq!(decimate4(&[], 10), vec![0.0; 10]);
        assert_eq!(decimate4(&[1.0; 3], 0).len(), 0);
        assert_eq!(decimate4(&[1.0; 100_000], 5).len(), 5);
    }
}
