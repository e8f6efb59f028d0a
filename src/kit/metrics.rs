//! Measurements of one-shot drum sounds: level, spectral centroid, decay envelope and a kick's
//! pitch — the numbers the seed engine's reference renders are described by
//! (`shared/reference/seed001-renders/kit_metrics.py`), so ntsbuild's voices can be held to them.

use std::f64::consts::PI;

use realfft::RealFftPlanner;

use crate::dsp::biquad::Biquad;
use crate::dsp::level::lin_to_db;

/// Length of the RMS windows of the envelope, seconds.
pub const ENVELOPE_WINDOW_S: f64 = 0.010;

/// The measurements of one sound.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VoiceMetrics {
    pub duration_s: f64,
    pub peak_db: f64,
    pub rms_db: f64,
    /// Magnitude-weighted mean frequency of the Hann-windowed spectrum of the whole sound.
    pub centroid_hz: f64,
}

/// Level, RMS and centroid of `x` at `sample_rate_hz`.
pub fn measure(x: &[f64], sample_rate_hz: f64) -> VoiceMetrics {
    let n = x.len().max(1) as f64;
    let peak = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let rms = (x.iter().map(|v| v * v).sum::<f64>() / n).sqrt();
    VoiceMetrics {
        duration_s: x.len() as f64 / sample_rate_hz,
        peak_db: lin_to_db(peak),
        rms_db: lin_to_db(rms),
        centroid_hz: centroid_hz(x, sample_rate_hz),
    }
}

/// Symmetric Hann window of `n` points (numpy's `hanning`).
fn hann(n: usize) -> impl Iterator<Item = f64> {
    let denom = (n.max(2) - 1) as f64;
    (0..n).map(move |k| if n == 1 { 1.0 } else { 0.5 - 0.5 * (2.0 * PI * k as f64 / denom).cos() })
}

/// `|rfft(x·w, n_fft)|` for a Hann window `w` over `x` (zero-padded to `n_fft ≥ x.len()`).
fn magnitude_spectrum(x: &[f64], n_fft: usize) -> Vec<f64> {
    let mut buf: Vec<f64> = x.iter().zip(hann(x.len())).map(|(v, w)| v * w).collect();
    buf.resize(n_fft.max(x.len()).max(2), 0.0);
    let mut planner = RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(buf.len());
    let mut spec = fft.make_output_vec();
    if fft.process(&mut buf, &mut spec).is_err() {
        return Vec::new();
    }
    spec.iter().map(|c| c.norm()).collect()
}

/// Spectral centroid: `Σ f·|X(f)| / Σ |X(f)|` over the Hann-windowed spectrum of all of `x`.
pub fn centroid_hz(x: &[f64], sample_rate_hz: f64) -> f64 {
    let mag = magnitude_spectrum(x, x.len());
    let bin_hz = sample_rate_hz / x.len().max(2) as f64;
    let total: f64 = mag.iter().sum();
    if total > 0.0 { mag.iter().enumerate().map(|(k, m)| k as f64 * bin_hz * m).sum::<f64>() / total } else { 0.0 }
}

/// RMS of consecutive windows of [`ENVELOPE_WINDOW_S`] (a last partial window is dropped).
pub fn frame_envelope(x: &[f64], sample_rate_hz: f64) -> Vec<f64> {
    let w = ((ENVELOPE_WINDOW_S * sample_rate_hz) as usize).max(1);
    x.chunks_exact(w).map(|c| (c.iter().map(|v| v * v).sum::<f64>() / w as f64).sqrt()).collect()
}

/// Level in dB, relative to the loudest [`frame_envelope`] window, of the window of
/// [`ENVELOPE_WINDOW_S`] centred on `t_ms` (moved inside the sound near its end).
pub fn envelope_db(x: &[f64], sample_rate_hz: f64, t_ms: f64) -> f64 {
    let reference = frame_envelope(x, sample_rate_hz).into_iter().fold(0.0f64, f64::max);
    let w = ((ENVELOPE_WINDOW_S * sample_rate_hz) as usize).max(1);
    if x.len() < w || reference <= 0.0 {
        return f64::NEG_INFINITY;
    }
    let centre = (t_ms / 1000.0 * sample_rate_hz) as usize;
    let start = centre.saturating_sub(w / 2).min(x.len() - w);
    let seg = &x[start..start + w];
    let rms = (seg.iter().map(|v| v * v).sum::<f64>() / w as f64).sqrt();
    20.0 * (rms / reference + 1e-12).log10()
}

/// Samples from `a_ms` to `b_ms` (clamped to the sound).
fn segment(x: &[f64], sample_rate_hz: f64, a_ms: f64, b_ms: f64) -> &[f64] {
    let a = ((a_ms / 1000.0 * sample_rate_hz) as usize).min(x.len());
    let b = ((b_ms / 1000.0 * sample_rate_hz) as usize).clamp(a, x.len());
    &x[a..b]
}

/// The strongest frequency between 20 and 400 Hz in `[a_ms, b_ms)`: the peak of the
/// Hann-windowed spectrum zero-padded to 2^20 points.
pub fn f0_fft_hz(x: &[f64], sample_rate_hz: f64, a_ms: f64, b_ms: f64) -> f64 {
    let seg = segment(x, sample_rate_hz, a_ms, b_ms);
    let n_fft = 1usize << 20;
    let mag = magnitude_spectrum(seg, n_fft);
    let bin_hz = sample_rate_hz / n_fft as f64;
    mag.iter()
        .enumerate()
        .map(|(k, m)| (k as f64 * bin_hz, *m))
        .filter(|(f, _)| *f > 20.0 && *f < 400.0)
        .fold((f64::NAN, -1.0), |best, (f, m)| if m > best.1 { (f, m) } else { best })
        .0
}

/// Mean frequency from the upward zero crossings in `[a_ms, b_ms)` of `x` band-passed to
/// 20–400 Hz without phase shift: 4th-order Butterworth high- and low-pass run forwards and
/// backwards over `x` extended by an odd reflection of 27 samples at each end, each pass
/// starting from the steady state of its first sample (SciPy's `sosfiltfilt` conventions).
/// NaN with fewer than three crossings.
pub fn f0_zero_crossings_hz(x: &[f64], sample_rate_hz: f64, a_ms: f64, b_ms: f64) -> f64 {
    const PAD: usize = 27;
    // Butterworth 4th order = two biquads with Q = 1/(2·cos(π/8)), 1/(2·cos(3π/8)).
    let qs = [0.541_196_100_146_197, 1.306_562_964_876_376_6];
    let run = |y: &mut [f64]| {
        let mut first = y.first().copied().unwrap_or(0.0);
        for q in qs {
            for mut f in [Biquad::highpass(20.0, q, sample_rate_hz), Biquad::lowpass(400.0, q, sample_rate_hz)] {
                f.settle(first);
                f.process_buf(y);
                first = y.first().copied().unwrap_or(0.0);
            }
        }
    };
    if x.len() <= PAD + 1 {
        return f64::NAN;
    }
    let (head, tail) = (x[0], x[x.len() - 1]);
    let mut y: Vec<f64> = (1..=PAD).rev().map(|k| 2.0 * head - x[k]).collect();
    y.extend_from_slice(x);
    y.extend((1..=PAD).map(|k| 2.0 * tail - x[x.len() - 1 - k]));
    run(&mut y);
    y.reverse();
    run(&mut y);
    y.reverse();
    let seg = segment(&y[PAD..PAD + x.len()], sample_rate_hz, a_ms, b_ms);
    let ups: Vec<usize> =
        seg.windows(2).enumerate().filter(|(_, w)| w[0] <= 0.0 && w[1] > 0.0).map(|(i, _)| i).collect();
    match (ups.first(), ups.last()) {
        (Some(&first), Some(&last)) if ups.len() > 2 => {
            (ups.len() - 1) as f64 / ((last - first) as f64 / sample_rate_hz)
        }
        _ => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SR: f64 = 48_000.0;

    fn sine(freq_hz: f64, seconds: f64) -> Vec<f64> {
        (0..(seconds * SR) as usize).map(|n| (2.0 * PI * freq_hz * n as f64 / SR).sin()).collect()
    }

    #[test]
    fn pitch_of_a_sine_both_ways() {
        let x = sine(57.0, 0.5);
        assert!((f0_fft_hz(&x, SR, 150.0, 450.0) - 57.0).abs() < 0.1);
        assert!((f0_zero_crossings_hz(&x, SR, 150.0, 450.0) - 57.0).abs() < 0.5);
        let y = sine(172.0, 0.5);
        assert!((f0_zero_crossings_hz(&y, SR, 5.0, 25.0) - 172.0).abs() < 2.0);
    }

    #[test]
    fn level_centroid_and_envelope() {
        let x: Vec<f64> =
            sine(1000.0, 0.5).iter().enumerate().map(|(n, v)| v * (-(n as f64) / SR / 0.1).exp()).collect();
        let m = measure(&x, SR);
        assert!((m.duration_s - 0.5).abs() < 1e-12);
        assert!(m.peak_db < 0.0 && m.peak_db > -0.1);
        assert!((m.centroid_hz - 1000.0).abs() < 100.0, "{}", m.centroid_hz);
        // e^(−t/0.1) falls 8.69 dB per 100 ms.
        let d = envelope_db(&x, SR, 250.0) - envelope_db(&x, SR, 150.0);
        assert!((d + 8.69).abs() < 0.2, "{d}");
        assert_eq!(envelope_db(&[], SR, 50.0), f64::NEG_INFINITY);
        assert!(f0_zero_crossings_hz(&[0.0; 10], SR, 0.0, 1.0).is_nan());
    }
}
