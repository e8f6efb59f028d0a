//! Zero-phase Butterworth filters (DOMAIN §G: "Filters Butterworth, zero-phase"), with scipy's
//! `butter(order, …, output='sos')` + `sosfiltfilt` semantics.
//!
//! Design: the analogue Butterworth prototype's poles sit on the unit circle at angles
//! `θ_k = π(N − 2k − 1)/(2N)`, `k < ⌊N/2⌋`, either side of the negative real axis, so each
//! conjugate pair is a second-order section with `Q_k = 1 / (2·cos θ_k)`, and an odd order adds
//! the real pole at −1 as one first-order section. Every section goes
//! through the bilinear transform prewarped at the cutoff, `K = tan(π·fc/fs)`, which is exactly
//! what scipy's `butter` produces (same poles, same gain), grouped into sections.
//!
//! Filtering runs forwards, then backwards over the reversed output, so the magnitude response
//! is `|H|²` (−6 dB at the cutoff instead of −3 dB) and the phase is zero. As in `sosfiltfilt`,
//! the signal is first extended at both ends by an odd reflection of `padlen` samples
//! (`2·x[0] − x[padlen..0]`), and each pass starts from the steady state of a step of the
//! first sample (`sosfilt_zi`), so the ends do not ring.

use crate::dsp::biquad::BiquadCoeffs;

/// Highest accepted order (scipy accepts more; beyond 8 the f64 sections gain nothing here).
pub const MAX_ORDER: usize = 8;

/// Which band a Butterworth filter passes. Frequencies are in Hz.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Band {
    Lowpass {
        cutoff_hz: f64,
    },
    Highpass {
        cutoff_hz: f64,
    },
    /// An order-`N` high-pass at `low_hz` cascaded with an order-`N` low-pass at `high_hz`
    /// (2N poles, like scipy's order-`N` band-pass). scipy's true low-pass-to-band-pass
    /// transform differs slightly near the edges of narrow bands; with the cascade each edge
    /// is exactly the corresponding high-/low-pass edge (−6 dB after filtfilt).
    Bandpass {
        low_hz: f64,
        high_hz: f64,
    },
}

/// Filters `x` with an order-`order` Butterworth `band`, forwards and backwards (zero phase).
///
/// Returns a vector of the same length. Errors (naming the value) when a cutoff is ≤ 0, not
/// finite or ≥ Nyquist (`sample_rate_hz / 2`), when `low_hz ≥ high_hz`, or when `order` is 0
/// or > 8. An empty input gives an empty output.
///
/// ```
/// use ntsbuild::textures::filter::{butter_zero_phase, Band};
/// let dc = vec![0.5f32; 1000];
/// let y = butter_zero_phase(&dc, 44_100, Band::Lowpass { cutoff_hz: 1000.0 }, 4).unwrap();
/// assert_eq!(y.len(), 1000);
/// assert!(y.iter().all(|v| (v - 0.5).abs() < 1e-4));
/// ```
pub fn butter_zero_phase(x: &[f32], sample_rate_hz: u32, band: Band, order: usize) -> Result<Vec<f32>, String> {
    let sections = design(sample_rate_hz, band, order)?;
    if x.is_empty() {
        return Ok(Vec::new());
    }
    let padlen = pad_len(&sections).min(x.len() - 1);
    let mut ext = odd_extension(x, padlen);
    filter_with_steady_start(&sections, &mut ext);
    ext.reverse();
    filter_with_steady_start(&sections, &mut ext);
    ext.reverse();
    Ok(ext[padlen..padlen + x.len()].iter().map(|&v| v as f32).collect())
}

/// The second-order sections of the filter, after validating every argument.
fn design(sample_rate_hz: u32, band: Band, order: usize) -> Result<Vec<BiquadCoeffs>, String> {
    if order == 0 || order > MAX_ORDER {
        return Err(format!("order must be between 1 and {MAX_ORDER} (got {order})"));
    }
    if sample_rate_hz == 0 {
        return Err("sample_rate_hz must be > 0 (got 0)".to_string());
    }
    let fs = f64::from(sample_rate_hz);
    match band {
        Band::Lowpass { cutoff_hz } => {
            check_cutoff("cutoff_hz", cutoff_hz, fs)?;
            Ok(butter_sections(cutoff_hz, fs, order, Kind::Low))
        }
        Band::Highpass { cutoff_hz } => {
            check_cutoff("cutoff_hz", cutoff_hz, fs)?;
            Ok(butter_sections(cutoff_hz, fs, order, Kind::High))
        }
        Band::Bandpass { low_hz, high_hz } => {
            check_cutoff("low_hz", low_hz, fs)?;
            check_cutoff("high_hz", high_hz, fs)?;
            if low_hz >= high_hz {
                return Err(format!("low_hz must be < high_hz (got {low_hz} ≥ {high_hz})"));
            }
            let mut sections = butter_sections(low_hz, fs, order, Kind::High);
            sections.extend(butter_sections(high_hz, fs, order, Kind::Low));
            Ok(sections)
        }
    }
}

fn check_cutoff(name: &str, hz: f64, fs: f64) -> Result<(), String> {
    if hz > 0.0 && hz < fs / 2.0 {
        Ok(())
    } else {
        Err(format!("{name} must be > 0 and < Nyquist ({} Hz) (got {hz})", fs / 2.0))
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Low,
    High,
}

/// Bilinear-transformed Butterworth sections: `⌊N/2⌋` biquads with `Q_k = 1/(2 cos θ_k)`,
/// `θ_k = π(N − 2k − 1)/(2N)`, plus one first-order section when `N` is odd.
fn butter_sections(cutoff_hz: f64, fs: f64, order: usize, kind: Kind) -> Vec<BiquadCoeffs> {
    let k = (std::f64::consts::PI * cutoff_hz / fs).tan();
    let n = order as f64;
    let mut sections: Vec<BiquadCoeffs> = (0..order / 2)
        .map(|i| {
            let theta = std::f64::consts::PI * (n - 2.0 * i as f64 - 1.0) / (2.0 * n);
            second_order(k, 1.0 / (2.0 * theta.cos()), kind)
        })
        .collect();
    if order % 2 == 1 {
        sections.push(first_order(k, kind));
    }
    sections
}

/// Bilinear transform of `1/(s² + s/Q + 1)` (low) or `s²/(s² + s/Q + 1)` (high) with `s → (1/K)·(z−1)/(z+1)`.
fn second_order(k: f64, q: f64, kind: Kind) -> BiquadCoeffs {
    let k2 = k * k;
    let norm = 1.0 / (1.0 + k / q + k2);
    let a1 = 2.0 * (k2 - 1.0) * norm;
    let a2 = (1.0 - k / q + k2) * norm;
    match kind {
        Kind::Low => BiquadCoeffs { b0: k2 * norm, b1: 2.0 * k2 * norm, b2: k2 * norm, a1, a2 },
        Kind::High => BiquadCoeffs { b0: norm, b1: -2.0 * norm, b2: norm, a1, a2 },
    }
}

/// Bilinear transform of `1/(s + 1)` (low) or `s/(s + 1)` (high), as a biquad with `b2 = a2 = 0`.
fn first_order(k: f64, kind: Kind) -> BiquadCoeffs {
    let norm = 1.0 / (1.0 + k);
    let a1 = (k - 1.0) * norm;
    match kind {
        Kind::Low => BiquadCoeffs { b0: k * norm, b1: k * norm, b2: 0.0, a1, a2: 0.0 },
        Kind::High => BiquadCoeffs { b0: norm, b1: -norm, b2: 0.0, a1, a2: 0.0 },
    }
}

/// scipy's default: `3·(2·n_sections + 1 − min(#(b2 = 0), #(a2 = 0)))`.
fn pad_len(sections: &[BiquadCoeffs]) -> usize {
    let zero_b2 = sections.iter().filter(|s| s.b2 == 0.0).count();
    let zero_a2 = sections.iter().filter(|s| s.a2 == 0.0).count();
    3 * (2 * sections.len() + 1 - zero_b2.min(zero_a2))
}

/// `[2·x[0] − x[padlen..=1], x, 2·x[n−1] − x[n−2..=n−1−padlen]]` in f64 (`padlen < x.len()`).
fn odd_extension(x: &[f32], padlen: usize) -> Vec<f64> {
    let n = x.len();
    let first = f64::from(x[0]);
    let last = f64::from(x[n - 1]);
    let mut ext = Vec::with_capacity(n + 2 * padlen);
    ext.extend((1..=padlen).rev().map(|i| 2.0 * first - f64::from(x[i])));
    ext.extend(x.iter().map(|&v| f64::from(v)));
    ext.extend((1..=padlen).map(|i| 2.0 * last - f64::from(x[n - 1 - i])));
    ext
}

/// Runs the cascade over `buf` in place (transposed direct form II), each section starting in
/// the steady state it would reach for a constant input equal to `buf[0]` (scipy `sosfilt_zi`).
///
/// Every section's starting state depends on `buf[0]` alone, so all sections run in one pass
/// over the samples (sample `n` goes through section 1, then 2, …): the sections' recurrences
/// overlap in the CPU instead of running one whole pass each, with the same operations per
/// section and sample, so the same bits.
fn filter_with_steady_start(sections: &[BiquadCoeffs], buf: &mut [f64]) {
    let states = steady_states(sections, buf.first().copied().unwrap_or(0.0));
    match sections.len() {
        0 => {}
        1 => cascade::<1>(sections, &states, buf),
        2 => cascade::<2>(sections, &states, buf),
        3 => cascade::<3>(sections, &states, buf),
        4 => cascade::<4>(sections, &states, buf),
        5 => cascade::<5>(sections, &states, buf),
        6 => cascade::<6>(sections, &states, buf),
        _ => {
            for (c, state) in sections.iter().zip(&states) {
                cascade::<1>(std::slice::from_ref(c), std::slice::from_ref(state), buf);
            }
        }
    }
}

/// Each section's `(s1, s2)` after a constant input `level` (scipy `sosfilt_zi`): the level a
/// section passes on is its DC gain times what it receives.
fn steady_states(sections: &[BiquadCoeffs], mut level: f64) -> Vec<(f64, f64)> {
    sections
        .iter()
        .map(|c| {
            let gain = (c.b0 + c.b1 + c.b2) / (1.0 + c.a1 + c.a2);
            let y = gain * level;
            let s2 = c.b2 * level - c.a2 * y;
            let s1 = c.b1 * level - c.a1 * y + s2;
            level = y;
            (s1, s2)
        })
        .collect()
}

/// [`filter_with_steady_start`]'s pass for exactly `N` sections (`sections` and `states` hold
/// `N` each), so their coefficients and states stay in registers.
fn cascade<const N: usize>(sections: &[BiquadCoeffs], states: &[(f64, f64)], buf: &mut [f64]) {
    let c: [BiquadCoeffs; N] = std::array::from_fn(|i| sections[i]);
    let mut s1: [f64; N] = std::array::from_fn(|i| states[i].0);
    let mut s2: [f64; N] = std::array::from_fn(|i| states[i].1);
    for v in buf.iter_mut() {
        let mut x = *v;
        for i in 0..N {
            let out = c[i].b0 * x + s1[i];
            s1[i] = c[i].b1 * x - c[i].a1 * out + s2[i];
            s2[i] = c[i].b2 * x - c[i].a2 * out;
            x = out;
        }
        *v = x;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SR: u32 = 44_100;

    fn sine(freq_hz: f64, len: usize) -> Vec<f32> {
        (0..len).map(|i| (std::f64::consts::TAU * freq_hz * i as f64 / f64::from(SR)).sin() as f32).collect()
    }

    /// Running every section in one pass gives the bits of one whole pass per section, each
    /// section starting from the steady state of the one before.
    #[test]
    fn one_pass_through_the_cascade_gives_the_bits_of_a_pass_per_section() {
        let x: Vec<f64> =
            sine(1234.5, 5000).iter().enumerate().map(|(i, &v)| f64::from(v) + (i % 7) as f64 * 0.01 + 0.3).collect();
        for (band, order) in [
            (Band::Lowpass { cutoff_hz: 3000.0 }, 1),
            (Band::Lowpass { cutoff_hz: 3000.0 }, 4),
            (Band::Lowpass { cutoff_hz: 1500.0 }, 5),
            (Band::Highpass { cutoff_hz: 6000.0 }, 4),
            (Band::Bandpass { low_hz: 4000.0, high_hz: 14_000.0 }, 4),
            (Band::Bandpass { low_hz: 200.0, high_hz: 400.0 }, 7),
        ] {
            let sections = design(SR, band, order).unwrap();
            let mut fused = x.clone();
            filter_with_steady_start(&sections, &mut fused);
            let mut each = x.clone();
            for (c, state) in sections.iter().zip(steady_states(&sections, x[0])) {
                cascade::<1>(std::slice::from_ref(c), &[state], &mut each);
            }
            assert_eq!(
                fused.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                each.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "{band:?} order {order}: {} sections",
                sections.len()
            );
        }
    }

    fn rms(x: &[f32]) -> f64 {
        (x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / x.len().max(1) as f64).sqrt()
    }

    /// Gain in dB of a sine at `freq_hz`, measured on the middle half (away from the ends).
    fn gain_db(band: Band, order: usize, freq_hz: f64) -> f64 {
        let len = 22_050;
        let x = sine(freq_hz, len);
        let y = butter_zero_phase(&x, SR, band, order).unwrap();
        let mid = len / 4..3 * len / 4;
        20.0 * (rms(&y[mid.clone()]) / rms(&x[mid])).log10()
    }

    #[test]
    fn lowpass_is_minus_6_db_at_the_cutoff_flat_below_and_steep_above() {
        let band = Band::Lowpass { cutoff_hz: 1000.0 };
        assert!((gain_db(band, 4, 1000.0) + 6.02).abs() < 0.5, "{}", gain_db(band, 4, 1000.0));
        assert!(gain_db(band, 4, 100.0).abs() < 0.1);
        assert!(gain_db(band, 4, 4000.0) < -80.0, "{}", gain_db(band, 4, 4000.0));
        // Order 5 ("dark"): still −6 dB at the cutoff, and 2·5·20·log10(4) ≈ −120 dB two octaves up.
        assert!((gain_db(band, 5, 1000.0) + 6.02).abs() < 0.5, "{}", gain_db(band, 5, 1000.0));
        assert!(gain_db(band, 5, 100.0).abs() < 0.1);
    }

    #[test]
    fn highpass_is_minus_6_db_at_the_cutoff_for_odd_and_even_orders() {
        for order in [3, 4, 5] {
            let band = Band::Highpass { cutoff_hz: 6000.0 };
            let at_cutoff = gain_db(band, order, 6000.0);
            assert!((at_cutoff + 6.02).abs() < 0.5, "order {order}: {at_cutoff}");
            assert!(gain_db(band, order, 15_000.0).abs() < 0.1);
            assert!(gain_db(band, order, 1500.0) < -50.0);
        }
    }

    #[test]
    fn bandpass_passes_the_middle_and_is_minus_6_db_at_both_edges() {
        let band = Band::Bandpass { low_hz: 4000.0, high_hz: 14_000.0 };
        assert!(gain_db(band, 4, 8000.0).abs() < 0.2);
        assert!((gain_db(band, 4, 4000.0) + 6.02).abs() < 0.5);
        assert!((gain_db(band, 4, 14_000.0) + 6.02).abs() < 0.5);
        assert!(gain_db(band, 4, 500.0) < -60.0);
    }

    /// Multiplies the sections out into one transfer function `(b, a)`.
    fn transfer_function(sections: &[BiquadCoeffs]) -> (Vec<f64>, Vec<f64>) {
        let mul = |p: &[f64], q: &[f64]| {
            let mut out = vec![0.0; p.len() + q.len() - 1];
            for (i, x) in p.iter().enumerate() {
                for (j, y) in q.iter().enumerate() {
                    out[i + j] += x * y;
                }
            }
            out
        };
        sections
            .iter()
            .fold((vec![1.0], vec![1.0]), |(b, a), s| (mul(&b, &[s.b0, s.b1, s.b2]), mul(&a, &[1.0, s.a1, s.a2])))
    }

    #[test]
    fn the_design_matches_scipy_butter() {
        // scipy.signal.butter(2, 0.5): b = [0.29289322, 0.58578644, 0.29289322], a = [1, 0, 0.17157288].
        let (b, a) = transfer_function(&design(SR, Band::Lowpass { cutoff_hz: 11_025.0 }, 2).unwrap());
        for (x, y) in b.iter().zip([0.292_893_22, 0.585_786_44, 0.292_893_22]) {
            assert!((x - y).abs() < 1e-8);
        }
        for (x, y) in a.iter().zip([1.0, 0.0, 0.171_572_88]) {
            assert!((x - y).abs() < 1e-8);
        }
        // scipy.signal.butter(3, 0.5): b = [1/6, 1/2, 1/2, 1/6], a = [1, 0, 1/3, 0].
        let (b, a) = transfer_function(&design(SR, Band::Lowpass { cutoff_hz: 11_025.0 }, 3).unwrap());
        for (x, y) in b.iter().zip([1.0 / 6.0, 0.5, 0.5, 1.0 / 6.0]) {
            assert!((x - y).abs() < 1e-12);
        }
        for (x, y) in a.iter().zip([1.0, 0.0, 1.0 / 3.0, 0.0]) {
            assert!((x - y).abs() < 1e-12);
        }
        // scipy.signal.butter(3, 0.5, 'high'): b = [1/6, −1/2, 1/2, −1/6], a as above.
        let (b, _) = transfer_function(&design(SR, Band::Highpass { cutoff_hz: 11_025.0 }, 3).unwrap());
        for (x, y) in b.iter().zip([1.0 / 6.0, -0.5, 0.5, -1.0 / 6.0]) {
            assert!((x - y).abs() < 1e-12);
        }
    }

    #[test]
    fn a_symmetric_impulse_stays_symmetric_and_centred() {
        let mut x = vec![0.0f32; 2001];
        x[1000] = 1.0;
        let y = butter_zero_phase(&x, SR, Band::Lowpass { cutoff_hz: 2000.0 }, 5).unwrap();
        assert_eq!(y.len(), x.len());
        for i in 0..1000 {
            assert!((y[1000 - i] - y[1000 + i]).abs() < 1e-6, "asymmetric at ±{i}");
        }
        let argmax = (0..y.len()).max_by(|&a, &b| y[a].total_cmp(&y[b])).unwrap();
        assert_eq!(argmax, 1000);
    }

    #[test]
    fn a_constant_passes_a_lowpass_without_ringing_at_the_ends() {
        let x = vec![0.3f32; 5000];
        let y = butter_zero_phase(&x, SR, Band::Lowpass { cutoff_hz: 200.0 }, 8).unwrap();
        assert!(y.iter().all(|v| (v - 0.3).abs() < 1e-4));
    }

    #[test]
    fn short_and_empty_inputs_keep_their_length() {
        for len in [0, 1, 2, 5, 40] {
            let x = sine(440.0, len);
            let y = butter_zero_phase(&x, SR, Band::Bandpass { low_hz: 100.0, high_hz: 1000.0 }, 4).unwrap();
            assert_eq!(y.len(), len);
            assert!(y.iter().all(|v| v.is_finite()));
        }
    }

    #[test]
    fn bad_arguments_are_errors_naming_the_value() {
        let x = [0.0f32; 10];
        let lp = |c| Band::Lowpass { cutoff_hz: c };
        assert!(butter_zero_phase(&x, SR, lp(0.0), 4).unwrap_err().contains("cutoff_hz"));
        assert!(butter_zero_phase(&x, SR, lp(22_050.0), 4).is_err());
        assert!(butter_zero_phase(&x, SR, lp(f64::NAN), 4).is_err());
        assert!(butter_zero_phase(&x, SR, lp(1000.0), 0).unwrap_err().contains("order"));
        assert!(butter_zero_phase(&x, SR, lp(1000.0), 9).is_err());
        let inverted = Band::Bandpass { low_hz: 5000.0, high_hz: 4000.0 };
        assert!(butter_zero_phase(&x, SR, inverted, 4).unwrap_err().contains("low_hz"));
    }
}
