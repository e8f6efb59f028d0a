//! Anchor latents and the feature → anchor-score projection (DOMAIN §B).

use super::features::FEATURE_DIM;
use crate::dsp::rng::Rng;

/// Elements in one latent (8×16×16).
pub const LATENT_LEN: usize = 2048;

/// Floor applied to every feature standard deviation before dividing by it.
pub(crate) const STD_FLOOR: f32 = 1e-6;

/// K anchor latents, `anchors[k * 2048 + e]` (from `models/anchors/<set>.npz`, shape (K,8,16,16)).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Anchors {
    /// K×2048 row-major; a short buffer reads as 0 for missing elements.
    pub anchors: Vec<f32>,
    /// Anchor count K.
    pub k: usize,
}

impl Anchors {
    /// Element `e` of anchor `k` (0 when out of range or non-finite).
    pub(crate) fn value(&self, k: usize, e: usize) -> f32 {
        self.anchors.get(k * LATENT_LEN + e).copied().filter(|x| x.is_finite()).unwrap_or(0.0)
    }
}

/// Linear map from z-scored features to K anchor scores: `s = P·((f − μ)/σ) + b`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Projection {
    /// K×12 row-major; a short buffer reads as 0.
    pub matrix: Vec<f32>,
    /// K biases; a short buffer reads as 0.
    pub bias: Vec<f32>,
    /// Feature mean μ.
    pub feature_mean: [f32; FEATURE_DIM],
    /// Feature standard deviation σ (floored at 1e-6 when used).
    pub feature_std: [f32; FEATURE_DIM],
}

impl Projection {
    /// Default projection when the anchor set has none: weights N(0, 0.5) (standard deviation
    /// 0.5), bias 0, and μ/σ the per-dimension mean and population standard deviation (ddof 0)
    /// of `features` (the track's own feature vectors; μ = 0, σ = 1 when there are none).
    ///
    /// Draw order: one stream `Rng::new(Rng::derive(seed, "controller/projection"))`, weights in
    /// row-major order (k outer, feature inner), each `0.5 · normal()` (two uniforms per weight).
    /// Pass the anchor set's seed as `seed`, so the projection belongs to the anchor set and
    /// changing `wander_seed` only changes the wander.
    pub fn random(k: usize, seed: u64, features: &[[f32; FEATURE_DIM]]) -> Self {
        let mut rng = Rng::new(Rng::derive(seed, "controller/projection"));
        let matrix = (0..k * FEATURE_DIM).map(|_| (0.5 * rng.normal()) as f32).collect();
        let (feature_mean, feature_std) = mean_std(features);
        Self { matrix, bias: vec![0.0; k], feature_mean, feature_std }
    }

    /// This projection with μ, σ replaced by `features`' own per-dimension mean and population
    /// standard deviation, each σ floored at a tenth of this projection's σ (and at 1e-6), so a
    /// feature that barely moves in the track is not magnified without bound
    /// ([`FeatureScaling::Track`](super::FeatureScaling::Track)). With no features it is unchanged.
    pub fn with_track_scaling(&self, features: &[[f32; FEATURE_DIM]]) -> Self {
        if features.is_empty() {
            return self.clone();
        }
        let (mean, std) = mean_std(features);
        let mut out = self.clone();
        for d in 0..FEATURE_DIM {
            let own = if self.feature_std[d].is_finite() { self.feature_std[d].abs() } else { 0.0 };
            out.feature_mean[d] = mean[d];
            out.feature_std[d] = std[d].max(0.1 * own);
        }
        out
    }

    /// Anchor scores `s_k = Σ_d P[k,d]·(f_d − μ_d)/max(σ_d, 1e-6) + b_k` (f64 accumulation).
    pub(crate) fn scores(&self, k_count: usize, feature: &[f32; FEATURE_DIM], out: &mut [f64]) {
        let mut z = [0.0f64; FEATURE_DIM];
        for (d, zd) in z.iter_mut().enumerate() {
            let sd = if self.feature_std[d].is_finite() { self.feature_std[d].max(STD_FLOOR) } else { 1.0 };
            let mean = if self.feature_mean[d].is_finite() { self.feature_mean[d] } else { 0.0 };
            *zd = (f64::from(feature[d]) - f64::from(mean)) / f64::from(sd);
        }
        self.scores_z(k_count, &z, out);
    }

    /// The floor of feature `d`'s standard deviation under running or track statistics: a
    /// tenth of this projection's σ, and at least 1e-6.
    pub(crate) fn std_floor(&self, d: usize) -> f64 {
        let own = if self.feature_std[d].is_finite() { f64::from(self.feature_std[d].abs()) } else { 0.0 };
        (0.1 * own).max(f64::from(STD_FLOOR))
    }

    /// Anchor scores `s_k = Σ_d P[k,d]·z_d + b_k` of already z-scored features.
    pub(crate) fn scores_z(&self, k_count: usize, z: &[f64; FEATURE_DIM], out: &mut [f64]) {
        for (k, slot) in out.iter_mut().enumerate().take(k_count) {
            let mut s = f64::from(finite_or_zero(self.bias.get(k)));
            for (d, zd) in z.iter().enumerate() {
                s += f64::from(finite_or_zero(self.matrix.get(k * FEATURE_DIM + d))) * zd;
            }
            *slot = s;
        }
    }
}

fn finite_or_zero(v: Option<&f32>) -> f32 {
    v.copied().filter(|x| x.is_finite()).unwrap_or(0.0)
}

/// Per-dimension mean and population standard deviation (f64 accumulation).
fn mean_std(features: &[[f32; FEATURE_DIM]]) -> ([f32; FEATURE_DIM], [f32; FEATURE_DIM]) {
    if features.is_empty() {
        return ([0.0; FEATURE_DIM], [1.0; FEATURE_DIM]);
    }
    let n = features.len() as f64;
    let mut mean = [0.0f32; FEATURE_DIM];
    let mut std = [0.0f32; FEATURE_DIM];
    for d in 0..FEATURE_DIM {
        let m = features.iter().map(|f| f64::from(f[d])).sum::<f64>() / n;
        let var = features.iter().map(|f| (f64::from(f[d]) - m).powi(2)).sum::<f64>() / n;
        mean[d] = m as f32;
        std[d] = var.sqrt() as f32;
    }
    (mean, std)
}
