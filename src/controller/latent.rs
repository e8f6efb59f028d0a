//! The per-frame latent recursion of DOMAIN §B: softmax anchor blend + seeded sinusoidal wander,
//! smoothed by an activity-adaptive EMA.

use super::features::FEATURE_DIM;
use super::projection::{Anchors, LATENT_LEN, Projection};
use super::{ControllerParams, FeatureScaling};
use crate::dsp::rng::Rng;
use std::f64::consts::{FRAC_PI_2, TAU};

/// Controller output for N video frames.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Latents {
    /// N×2048 row-major (each row is one 8×16×16 latent).
    pub latents: Vec<f32>,
    /// N×K row-major softmax anchor weights (each row sums to 1 when K > 0).
    pub weights: Vec<f32>,
    /// Frame times `n / fps` in seconds, length N.
    pub frame_times: Vec<f32>,
}

/// Index of each used feature in the 12-vector.
const RMS: usize = 0;
const CENTROID_NORM: usize = 1;
const ONSET: usize = 3;

/// Onset threshold on the normalised onset column: `clip(median + 0.5·(q75 − median), 0.2, 0.75)`
/// with numpy's linear quantiles over all frames; 0.6 when no frame has a positive onset.
pub fn onset_threshold(features: &[[f32; FEATURE_DIM]]) -> f64 {
    let mut onsets: Vec<f64> = features.iter().map(|f| finite(f[ONSET])).collect();
    if !onsets.iter().any(|&o| o > 0.0) {
        return 0.6;
    }
    onsets.sort_by(f64::total_cmp);
    let median = quantile_sorted(&onsets, 0.5);
    let q75 = quantile_sorted(&onsets, 0.75);
    (median + 0.5 * (q75 - median)).clamp(0.2, 0.75)
}

/// Tempo interval in frames: `max(1, floor(fps · max(subdivision, 0.125)))` (1 if not finite).
pub fn tempo_interval_frames(fps: f64, subdivision: f64) -> u64 {
    let frames = (fps * subdivision.max(0.125)).floor();
    if frames.is_finite() && frames >= 1.0 { frames as u64 } else { 1 }
}

/// Run the controller over `features` (one 12-vector per video frame at `fps`).
///
/// Seeding and the exact draw order (content-addressed, never reorder):
/// one stream `Rng::new(params.rng_seed())` (= `anchor_seed ^ wander_seed ^ track_seed.unwrap_or(0)`);
/// 1. 2048 offsets `range(0, 2π)`, element order;
/// 2. 2048 speeds `range(0.05, 0.25)`, element order;
/// 3. one jitter `range(0.8, 1.2)`.
///
/// Per frame n, in this order (all state in f64, outputs rounded to f32):
/// 1. `s = P·((f − μ)/σ) + b (+ anchor_bias[n])`, `w = softmax(s / (τ·(1 + 0.5·rms)))` (max
///    subtracted first), with μ, σ per [`FeatureScaling`] (running statistics: those of
///    frames 0..=n) and τ the `temperature`;
/// 2. `phase += (0.4 + 0.5·centroid_norm)·jitter` (phase starts at 0);
/// 3. tempo sync only: `counter += 1`; if `onset > threshold` or `counter >= interval` then
///    `phase += π/2`, `counter = 0` (counter starts at 0);
/// 4. `strength = base·(0.25 + 1.35·rms + 0.3·onset)·wander_scale[n]`;
/// 5. `a = min(max(α_n − (0.35·rms + 0.25·onset), 0.35), α_n)` (numpy `clip` order), α_n the
///    `smoothing_alpha` track's value or `smoothing_alpha`;
/// 6. per element e: `latent = Σ_k w_k·anchor_k[e] + sin(offset_e + phase·speed_e)·strength`,
///    `ema_e = a·ema_e + (1 − a)·latent` (ema starts at 0); output `ema`.
///
/// Per-frame tracks that are absent leave their step exactly as without them (call
/// [`ControllerTracks::validate`](super::ControllerTracks::validate) first; values past a
/// track's end read as absent). Non-finite feature values read as 0; a non-finite α falls back
/// to 0.9, a non-positive or non-finite τ to 1.
pub fn latents(
    features: &[[f32; FEATURE_DIM]],
    anchors: &Anchors,
    projection: &Projection,
    params: &ControllerParams,
    fps: f64,
) -> Latents {
    let n_frames = features.len();
    let k_count = anchors.k;
    let mut rng = Rng::new(params.rng_seed());
    let offsets: Vec<f64> = (0..LATENT_LEN).map(|_| rng.range(0.0, TAU)).collect();
    let speeds: Vec<f64> = (0..LATENT_LEN).map(|_| rng.range(0.05, 0.25)).collect();
    let jitter = rng.range(0.8, 1.2);

    let threshold = onset_threshold(features);
    let interval = tempo_interval_frames(fps, params.subdivision);
    let base = params.preset.base_strength();
    let alpha = if params.smoothing_alpha.is_finite() { params.smoothing_alpha } else { 0.9 };
    let tau = if params.temperature.is_finite() && params.temperature > 0.0 { params.temperature } else { 1.0 };
    let scaled;
    let projection = match params.feature_scaling {
        FeatureScaling::Projection | FeatureScaling::Running => projection,
        FeatureScaling::Track => {
            scaled = projection.with_track_scaling(features);
            &scaled
        }
    };
    let mut running = match params.feature_scaling {
        FeatureScaling::Running => Some(RunningStats::new(projection, params.scaling_window_s, fps)),
        _ => None,
    };
    let tracks = &params.tracks;

    let mut out = Latents {
        latents: Vec::with_capacity(n_frames * LATENT_LEN),
        weights: Vec::with_capacity(n_frames * k_count),
        frame_times: (0..n_frames).map(|n| if fps > 0.0 { (n as f64 / fps) as f32 } else { 0.0 }).collect(),
    };
    let mut ema = vec![0.0f64; LATENT_LEN];
    let mut blend = vec![0.0f64; LATENT_LEN];
    let mut scores = vec![0.0f64; k_count];
    let mut phase = 0.0f64;
    let mut counter: u64 = 0;

    for (n, raw) in features.iter().enumerate() {
        let mut f = [0.0f32; FEATURE_DIM];
        for (d, slot) in f.iter_mut().enumerate() {
            *slot = finite(raw[d]) as f32;
        }
        let rms = f64::from(f[RMS]);
        let centroid_norm = f64::from(f[CENTROID_NORM]);
        let onset = f64::from(f[ONSET]);

        // 1. anchor weights and blend.
        match running.as_mut() {
            Some(stats) => projection.scores_z(k_count, &stats.push(&f), &mut scores),
            None => projection.scores(k_count, &f, &mut scores),
        }
        if tracks.anchor_bias.is_some() {
            for (k, s) in scores.iter_mut().enumerate() {
                *s += tracks.anchor_bias_at(n, k, k_count);
            }
        }
        let temperature = 1.0 + 0.5 * rms;
        let temperature = tau * if temperature > 0.0 { temperature } else { 1.0 };
        softmax_in_place(&mut scores, temperature);
        out.weights.extend(scores.iter().map(|&w| w as f32));
        blend.fill(0.0);
        for (k, &w) in scores.iter().enumerate() {
            for (e, b) in blend.iter_mut().enumerate() {
                *b += w * f64::from(anchors.value(k, e));
            }
        }

        // 2–3. phase advance and tempo kick.
        phase += (0.4 + 0.5 * centroid_norm) * jitter;
        if params.tempo_sync {
            counter += 1;
            if onset > threshold || counter >= interval {
                phase += FRAC_PI_2;
                counter = 0;
            }
        }

        // 4–6. wander, adaptive EMA.
        let strength = base * (0.25 + 1.35 * rms + 0.3 * onset) * tracks.wander_scale_at(n);
        let alpha = tracks.smoothing_alpha_at(n, alpha);
        let a = (alpha - (0.35 * rms + 0.25 * onset)).max(0.35).min(alpha);
        for e in 0..LATENT_LEN {
            let latent = blend[e] + (offsets[e] + phase * speeds[e]).sin() * strength;
            ema[e] = a * ema[e] + (1.0 - a) * latent;
        }
        out.latents.extend(ema.iter().map(|&v| v as f32));
    }
    out
}

/// [`FeatureScaling::Running`]: exponentially forgetting mean and variance of the frames so far.
struct RunningStats {
    mean: [f64; FEATURE_DIM],
    var: [f64; FEATURE_DIM],
    floor: [f64; FEATURE_DIM],
    frames: f64,
    /// `1/(window·fps)`, the weight of a new frame once the window is full.
    min_beta: f64,
}

impl RunningStats {
    fn new(projection: &Projection, window_s: f64, fps: f64) -> Self {
        let span = window_s * fps;
        let min_beta = if span.is_finite() && span >= 1.0 { 1.0 / span } else { 1.0 };
        Self {
            mean: [0.0; FEATURE_DIM],
            var: [0.0; FEATURE_DIM],
            floor: std::array::from_fn(|d| projection.std_floor(d)),
            frames: 0.0,
            min_beta,
        }
    }

    /// Takes frame `f` into the statistics, then z-scores it.
    fn push(&mut self, f: &[f32; FEATURE_DIM]) -> [f64; FEATURE_DIM] {
        self.frames += 1.0;
        let beta = (1.0 / self.frames).max(self.min_beta);
        let mut z = [0.0; FEATURE_DIM];
        for d in 0..FEATURE_DIM {
            let x = f64::from(f[d]);
            let delta = x - self.mean[d];
            self.mean[d] += beta * delta;
            self.var[d] = (1.0 - beta) * (self.var[d] + beta * delta * delta);
            z[d] = (x - self.mean[d]) / self.var[d].sqrt().max(self.floor[d]);
        }
        z
    }
}

/// `w_k = exp(s_k/T − max) / Σ exp(s_j/T − max)`; uniform if the sum is not usable.
fn softmax_in_place(scores: &mut [f64], temperature: f64) {
    if scores.is_empty() {
        return;
    }
    let max = scores.iter().map(|s| s / temperature).fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for s in scores.iter_mut() {
        *s = (*s / temperature - max).exp();
        sum += *s;
    }
    if sum.is_finite() && sum > 0.0 {
        scores.iter_mut().for_each(|s| *s /= sum);
    } else {
        let uniform = 1.0 / scores.len() as f64;
        scores.iter_mut().for_each(|s| *s = uniform);
    }
}

/// Linear-interpolated quantile of sorted, non-empty data (numpy default method).
fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let Some(last) = sorted.len().checked_sub(1) else { return 0.0 };
    let pos = q * last as f64;
    let i0 = pos.floor() as usize;
    let i1 = (i0 + 1).min(last);
    let (a, b) = (sorted[i0.min(last)], sorted[i1]);
    a + (b - a) * (pos - i0 as f64)
}

fn finite(v: f32) -> f64 {
    if v.is_finite() { f64::from(v) } else { 0.0 }
}
