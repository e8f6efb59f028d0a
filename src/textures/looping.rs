//! Seamless loops (DOMAIN §G): the equal-power (√) crossfade loop, the correlation search that
//! may trim up to a quarter of a pad, the loop-seam error used by the grades, and linear fades.

use realfft::RealFftPlanner;
use realfft::num_complex::Complex;

use super::{Clip, OUTPUT_RATE_HZ, TextureError};

/// Longest seam `loop_error_db` compares (DOMAIN §G grades: seam `min(N/8, 2048)`).
pub const MAX_SEAM_SAMPLES: usize = 2048;

/// Shortest clip `loop_error_db` measures.
pub const MIN_SEAM_CLIP_SAMPLES: usize = 16;

/// Floor for `loop_error_db`, in dB, so that an exact loop reports a finite number.
pub const LOOP_ERROR_FLOOR_DB: f64 = -200.0;

/// Equal-power (√) crossfade loop (DOMAIN §G): the last `fade` samples are crossfaded into the
/// first `fade` samples and the result is `len − fade` samples long, so that playing it in a
/// loop is seamless. Works per channel of a Clip.
///
/// With `N = len`, `F = fade_samples` and `t_i = i/(F − 1)` (`½` when `F = 1`), for `i < F`:
/// `out[i] = √(1 − t_i)·x[N − F + i] + √t_i·x[i]`, and `out[i] = x[i]` for `F ≤ i < N − F`.
/// So `out[0] = x[N − F]` continues `out[N − F − 1] = x[N − F − 1]` exactly when the loop wraps,
/// and `out[F − 1] = x[F − 1]` continues into `x[F]`. The gains satisfy `g_tail² + g_head² = 1`,
/// which keeps the power of uncorrelated material constant across the seam.
///
/// `fade_samples = 0` returns the clip unchanged; `2·fade_samples > len` is
/// [`TextureError::TooShort`].
pub fn crossfade_loop(clip: &Clip, fade_samples: usize) -> Result<Clip, TextureError> {
    let n = clip.len();
    if fade_samples.saturating_mul(2) > n || n == 0 {
        return Err(TextureError::TooShort {
            need_s: (2 * fade_samples.max(1)) as f64 / f64::from(OUTPUT_RATE_HZ),
            have_s: clip.duration_s(),
        });
    }
    Ok(clip.map_channels(|x| crossfade_channel(x, fade_samples)))
}

fn crossfade_channel(x: &[f32], fade: usize) -> Vec<f32> {
    let n = x.len();
    let mut out = x[..n - fade].to_vec();
    for (i, o) in out.iter_mut().take(fade).enumerate() {
        let t = if fade > 1 { i as f64 / (fade - 1) as f64 } else { 0.5 };
        let (g_tail, g_head) = equal_power_gains(t);
        *o = (g_tail * f64::from(x[n - fade + i]) + g_head * f64::from(x[i])) as f32;
    }
    out
}

/// `(√(1 − t), √t)` for `t` in [0, 1].
fn equal_power_gains(t: f64) -> (f64, f64) {
    let t = t.clamp(0.0, 1.0);
    ((1.0 - t).sqrt(), t.sqrt())
}

/// Correlation trim (DOMAIN §G pads: "a correlation search that may trim ≤ N/4"): returns the
/// loop length `L` in `[N − min(max_trim, N/4), N]` whose end region best matches the start.
///
/// For each candidate `L` the window `x[L − w..L]` (`w = window`) is compared with the start
/// `x[0..w]` by normalised cross-correlation `Σ a·b / √(Σa²·Σb²)`, on the mixdown. The pads
/// pipeline then calls [`crossfade_loop`] with a fade of `w`: the loop ends at `L − w`, and the
/// region following that end, `x[L − w..L]`, is exactly the one crossfaded into the start, so
/// the most similar one gives the least audible seam. Ties keep the longer loop. Candidates
/// must leave `2·w` samples (`L ≥ 2w`) so the window never overlaps the start. Returns `N`
/// when nothing can be searched (`window` 0, too short, silent start). All dot products come
/// from one real FFT, so the search costs `O(M log M)` for `M ≈ N/4 + w`.
pub fn correlation_trim_len(mono: &[f32], max_trim: usize, window: usize) -> usize {
    let n = mono.len();
    let lo = n.saturating_sub(max_trim.min(n / 4)).max(2 * window);
    if window == 0 || lo >= n {
        return n;
    }
    let head: Vec<f64> = mono[..window].iter().map(|&v| f64::from(v)).collect();
    let head_energy: f64 = head.iter().map(|v| v * v).sum();
    if head_energy <= 0.0 {
        return n;
    }
    // Segment covering every candidate window: x[lo − w .. n]; candidate L = lo + k.
    let segment: Vec<f64> = mono[lo - window..n].iter().map(|&v| f64::from(v)).collect();
    let dots = sliding_dots(&segment, &head);
    let mut energy: f64 = segment[..window].iter().map(|v| v * v).sum();
    let mut scores = Vec::with_capacity(dots.len());
    for (k, &dot) in dots.iter().enumerate() {
        if k > 0 {
            energy += segment[k + window - 1].powi(2) - segment[k - 1].powi(2);
        }
        let denom = (energy.max(0.0) * head_energy).sqrt();
        scores.push(if denom > 1e-12 { dot / denom } else { 0.0 });
    }
    let best = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    // Ties (within rounding) keep the longest loop.
    let k = scores.iter().rposition(|&s| s >= best - NCC_TIE).unwrap_or(scores.len() - 1);
    lo + k
}

/// Correlation scores this close to the best count as ties (FFT rounding is ~1e-15).
const NCC_TIE: f64 = 1e-9;

/// `dots[k] = Σ_j segment[k + j]·head[j]` for `k` in `0..=segment.len() − head.len()`, by FFT.
fn sliding_dots(segment: &[f64], head: &[f64]) -> Vec<f64> {
    let m = segment.len().next_power_of_two();
    let mut planner = RealFftPlanner::<f64>::new();
    let forward = planner.plan_fft_forward(m);
    let inverse = planner.plan_fft_inverse(m);
    let spectrum = |x: &[f64]| {
        let mut input = vec![0.0; m];
        input[..x.len()].copy_from_slice(x);
        let mut out = forward.make_output_vec();
        // Buffer lengths come from the plan, so the transform cannot fail.
        let _ = forward.process(&mut input, &mut out);
        out
    };
    let seg_spec = spectrum(segment);
    let head_spec = spectrum(head);
    let mut product: Vec<Complex<f64>> = seg_spec.iter().zip(&head_spec).map(|(a, b)| a * b.conj()).collect();
    // The imaginary parts of DC and Nyquist must be zero for the inverse real FFT.
    if let Some(first) = product.first_mut() {
        first.im = 0.0;
    }
    if let Some(last) = product.last_mut() {
        last.im = 0.0;
    }
    let mut corr = inverse.make_output_vec();
    let _ = inverse.process(&mut product, &mut corr);
    let scale = 1.0 / m as f64;
    corr[..=segment.len() - head.len()].iter().map(|v| v * scale).collect()
}

/// Loop-seam error in dB (DOMAIN §G grades): `20·log10(rms(head − tail))` with the seam
/// `s = min(N/8, 2048)`, head `x[0..s]` and tail `x[N − s..N]`; floored at −200 dB. `None`
/// when the clip is too short to measure (`N < 16`).
pub fn loop_error_db(mono: &[f32]) -> Option<f64> {
    let n = mono.len();
    if n < MIN_SEAM_CLIP_SAMPLES {
        return None;
    }
    let seam = (n / 8).min(MAX_SEAM_SAMPLES);
    let head = &mono[..seam];
    let tail = &mono[n - seam..];
    let sum_sq: f64 = head.iter().zip(tail).map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2)).sum();
    let rms = (sum_sq / seam as f64).sqrt();
    Some((20.0 * rms.log10()).max(LOOP_ERROR_FLOOR_DB))
}

/// Linear fade in / out over the given sample counts (clamped to the length).
///
/// Fade-in gain `i / fade_in` for `i < fade_in` (the first sample is silent); fade-out gain
/// `(N − 1 − i) / fade_out` for the last `fade_out` samples (the last sample is silent). Where
/// the two overlap the gains multiply.
pub fn fade_in_out(clip: &mut Clip, fade_in: usize, fade_out: usize) {
    for channel in &mut clip.channels {
        let n = channel.len();
        let fade_in = fade_in.min(n);
        let fade_out = fade_out.min(n);
        for (i, v) in channel.iter_mut().take(fade_in).enumerate() {
            *v = (f64::from(*v) * i as f64 / fade_in as f64) as f32;
        }
        for (i, v) in channel.iter_mut().enumerate().skip(n - fade_out) {
            *v = (f64::from(*v) * (n - 1 - i) as f64 / fade_out as f64) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::rng::Rng;

    fn noise(seed: u64, len: usize) -> Vec<f32> {
        let mut rng = Rng::new(seed);
        (0..len).map(|_| rng.range(-0.5, 0.5) as f32).collect()
    }

    fn sine(period_samples: f64, len: usize) -> Vec<f32> {
        (0..len).map(|i| (std::f64::consts::TAU * i as f64 / period_samples).sin() as f32).collect()
    }

    fn rms(x: &[f32]) -> f64 {
        (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
    }

    #[test]
    fn crossfade_gains_are_equal_power_and_the_result_is_len_minus_fade() {
        let (n, fade) = (1000, 200);
        // Channel 0 carries only the tail, channel 1 only the head: each output is one gain.
        let tail_only: Vec<f32> = (0..n).map(|i| if i >= n - fade { 1.0 } else { 0.0 }).collect();
        let head_only: Vec<f32> = (0..n).map(|i| if i < fade { 1.0 } else { 0.0 }).collect();
        let clip = Clip { channels: vec![tail_only, head_only] };
        let out = crossfade_loop(&clip, fade).unwrap();
        assert_eq!(out.len(), n - fade);
        for i in 0..fade {
            let (g_tail, g_head) = (f64::from(out.channels[0][i]), f64::from(out.channels[1][i]));
            assert!((g_tail * g_tail + g_head * g_head - 1.0).abs() < 1e-6, "at {i}");
        }
        assert_eq!(out.channels[0][0], 1.0);
        assert_eq!(out.channels[1][fade - 1], 1.0);
    }

    #[test]
    fn crossfading_uncorrelated_noise_keeps_the_rms_across_the_seam() {
        let (n, fade) = (40_000, 8_000);
        let mut x = noise(1, n - fade);
        x.extend(noise(2, fade));
        let out = crossfade_loop(&Clip::mono(x), fade).unwrap();
        let body_db = 20.0 * rms(&out.channels[0][fade..]).log10();
        for block in out.channels[0][..fade].chunks(2000) {
            let block_db = 20.0 * rms(block).log10();
            assert!((block_db - body_db).abs() < 1.0, "{block_db} vs {body_db}");
        }
    }

    #[test]
    fn a_looped_sine_is_continuous_across_the_wrap() {
        // 100-sample period; the crossfaded material is in phase, so the wrap is smooth.
        let x = sine(100.0, 10_000);
        let out = crossfade_loop(&Clip::mono(x), 1000).unwrap();
        let y = &out.channels[0];
        assert_eq!(y.len(), 9000);
        let max_step = |s: &[f32]| s.windows(2).map(|w| (w[1] - w[0]).abs()).fold(0.0f32, f32::max);
        let within = max_step(y);
        let wrap = (y[0] - y[y.len() - 1]).abs();
        assert!(wrap <= within * 1.01, "wrap step {wrap} vs {within}");
    }

    #[test]
    fn crossfade_rejects_a_fade_longer_than_half_the_clip() {
        let clip = Clip::mono(vec![0.1; 100]);
        assert!(matches!(crossfade_loop(&clip, 51), Err(TextureError::TooShort { .. })));
        assert!(crossfade_loop(&Clip::mono(Vec::new()), 0).is_err());
        assert_eq!(crossfade_loop(&clip, 0).unwrap(), clip);
        assert_eq!(crossfade_loop(&clip, 50).unwrap().len(), 50);
    }

    #[test]
    fn loop_error_is_low_for_a_whole_period_sine_and_high_for_noise_then_silence() {
        // 16 000 samples of a 100-sample period: seam 2000 = 20 periods, head == tail.
        let good = sine(100.0, 16_000);
        assert!(loop_error_db(&good).unwrap() < -30.0);
        let mut bad = noise(3, 8000);
        bad.extend(vec![0.0; 8000]);
        assert!(loop_error_db(&bad).unwrap() > -30.0);
        assert_eq!(loop_error_db(&[0.0; 15]), None);
        assert_eq!(loop_error_db(&[0.0; 16]), Some(LOOP_ERROR_FLOOR_DB));
    }

    #[test]
    fn correlation_trim_finds_the_period_aligned_end() {
        // A 441-sample period; with 10 000 samples the best end is a whole number of periods.
        let x = sine(441.0, 10_000);
        let len = correlation_trim_len(&x, 2500, 441);
        assert!((7500..=10_000).contains(&len));
        assert_eq!(len % 441, 0, "{len}");
        assert_eq!(len, 441 * 22);
    }

    #[test]
    fn correlation_trim_never_cuts_more_than_a_quarter_and_handles_short_input() {
        let x = noise(4, 4000);
        let len = correlation_trim_len(&x, 4000, 100);
        assert!((3000..=4000).contains(&len));
        assert_eq!(correlation_trim_len(&x, 0, 100), 4000);
        assert_eq!(correlation_trim_len(&x, 1000, 0), 4000);
        assert_eq!(correlation_trim_len(&[0.5; 10], 5, 20), 10);
        assert_eq!(correlation_trim_len(&[], 5, 2), 0);
        assert_eq!(correlation_trim_len(&[0.0; 1000], 250, 10), 1000);
    }

    #[test]
    fn fades_ramp_linearly_and_clamp_to_the_length() {
        let mut clip = Clip::mono(vec![1.0; 10]);
        fade_in_out(&mut clip, 4, 2);
        assert_eq!(clip.channels[0], vec![0.0, 0.25, 0.5, 0.75, 1.0, 1.0, 1.0, 1.0, 0.5, 0.0]);
        let mut short = Clip::mono(vec![1.0; 3]);
        fade_in_out(&mut short, 100, 100);
        assert!(short.channels[0].iter().all(|v| v.is_finite() && *v <= 1.0));
        let mut empty = Clip::mono(Vec::new());
        fade_in_out(&mut empty, 5, 5);
        assert!(empty.is_empty());
    }
}
