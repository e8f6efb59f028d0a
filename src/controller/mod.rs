//! Latent controller (DOMAIN §B): audio features → per-frame anchor weights → smoothed latents.
//!
//! Pipeline: [`feature_vectors`] turns raw librosa-style [`FeatureFrames`] into 12-dimensional
//! vectors on the video frame grid; [`latents`] maps them through a [`Projection`] to softmax
//! weights over [`Anchors`], adds a seeded sinusoidal wander and smooths with an adaptive EMA.
//! Everything is deterministic: the bytes are content-addressed.

mod features;
mod latent;
mod projection;
#[cfg(test)]
mod tests;

pub use features::{FEATURE_DIM, FeatureFrames, MFCC_COUNT, feature_vectors, frame_count};
pub use latent::{Latents, latents, onset_threshold, tempo_interval_frames};
pub use projection::{Anchors, LATENT_LEN, Projection};

/// Visual preset; selects the wander strength (`base_strength`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Preset {
    /// Base strength 0.18.
    Pulse,
    /// Base strength 0.18.
    Surge,
    /// Base strength 0.28.
    Drift,
    /// Base strength 0.30.
    Nocturne,
    /// Base strength 0.24.
    Fracture,
    /// Base strength 0.20.
    Lumen,
    /// Any other preset name; base strength 0.22.
    Other(String),
}

impl Preset {
    /// The preset for a name (case-insensitive, surrounding whitespace ignored); unknown names
    /// become [`Preset::Other`] keeping the name as given.
    pub fn from_name(name: &str) -> Self {
        match name.trim().to_ascii_lowercase().as_str() {
            "pulse" => Self::Pulse,
            "surge" => Self::Surge,
            "drift" => Self::Drift,
            "nocturne" => Self::Nocturne,
            "fracture" => Self::Fracture,
            "lumen" => Self::Lumen,
            _ => Self::Other(name.to_string()),
        }
    }

    /// Wander strength base per DOMAIN §B.
    pub fn base_strength(&self) -> f64 {
        match self {
            Self::Pulse | Self::Surge => 0.18,
            Self::Drift => 0.28,
            Self::Nocturne => 0.30,
            Self::Fracture => 0.24,
            Self::Lumen => 0.20,
            Self::Other(_) => 0.22,
        }
    }
}

/// Controller settings (DOMAIN §B defaults in [`Default`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ControllerParams {
    /// Preset selecting the wander base strength.
    pub preset: Preset,
    /// EMA ceiling α (default 0.9); the per-frame coefficient is clipped to [0.35, α].
    pub smoothing_alpha: f64,
    /// Wander seed (default 42).
    pub wander_seed: u64,
    /// Seed of the anchor set.
    pub anchor_seed: u64,
    /// Optional per-track seed, XORed into the PRNG seed when present.
    pub track_seed: Option<u64>,
    /// Kick the phase on onsets / every tempo interval (default off).
    pub tempo_sync: bool,
    /// Tempo interval in seconds before flooring to frames (default 1.0, floored at 0.125).
    pub subdivision: f64,
}

impl Default for ControllerParams {
    fn default() -> Self {
        Self {
            preset: Preset::Other(String::new()),
            smoothing_alpha: 0.9,
            wander_seed: 42,
            anchor_seed: 0,
            track_seed: None,
            tempo_sync: false,
            subdivision: 1.0,
        }
    }
}

impl ControllerParams {
    /// The single PRNG seed: `anchor_seed ^ wander_seed (^ track_seed)`.
    pub fn rng_seed(&self) -> u64 {
        self.anchor_seed ^ self.wander_seed ^ self.track_seed.unwrap_or(0)
    }
}
