//! Latent controller (DOMAIN §B): audio features → per-frame anchor weights → smoothed latents.
//!
//! Pipeline: [`feature_vectors`] turns raw librosa-style [`FeatureFrames`] into 12-dimensional
//! vectors on the video frame grid; [`latents`] maps them through a [`Projection`] to softmax
//! weights over [`Anchors`], adds a seeded sinusoidal wander and smooths with an adaptive EMA.
//! Everything is deterministic: the bytes are content-addressed.

mod features;
mod latent;
mod look;
mod projection;
#[cfg(test)]
mod tests;
mod tracks;

pub use features::{FEATURE_DIM, FeatureFrames, MFCC_COUNT, feature_vectors, frame_count};
pub use latent::{Latents, latents, onset_threshold, tempo_interval_frames};
pub use look::{AnchorUsage, anchor_usage, mean_abs_change, pearson};
pub use projection::{Anchors, LATENT_LEN, Projection};
pub use tracks::ControllerTracks;

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

/// The `[album.NAME.controller]` settings: defaults and ranges, written once (recipe
/// validation, `list --params` and `docs/settings.md` read them). Presets overlay them.
pub const CONTROLLER_SETTINGS: [crate::schema::SettingSpec; 10] = {
    use crate::schema::{Kind, SettingSpec};
    [
        SettingSpec {
            table: "controller",
            key: "anchor_set",
            kind: Kind::Text { default: "the preset's" },
            unit: "",
            doc: "anchor set name: models/anchors/<name>.npz (letters, digits, `_`, `-`)",
        },
        SettingSpec {
            table: "controller",
            key: "anchors",
            kind: Kind::Text { default: "models/anchors/<anchor_set>.npz" },
            unit: "",
            doc: "anchors file (K,8,16,16), project-relative",
        },
        SettingSpec {
            table: "controller",
            key: "projection",
            kind: Kind::Text { default: "models/anchors/<anchor_set>_projection.npz" },
            unit: "",
            doc: "feature → anchor projection .npz, or \"none\" for the seeded default",
        },
        SettingSpec {
            table: "controller",
            key: "smoothing_alpha",
            kind: Kind::Number { default: 0.9, min: 0.35, max: 0.999 },
            unit: "",
            doc: "EMA ceiling α: higher is smoother (lowered on loud and onset frames)",
        },
        SettingSpec {
            table: "controller",
            key: "wander_seed",
            kind: Kind::Integer { default: 42, min: 0, max: (1 << 53) - 1 },
            unit: "",
            doc: "seed of the wander offsets, speeds and grain",
        },
        SettingSpec {
            table: "controller",
            key: "tempo_sync",
            kind: Kind::Bool { default: false },
            unit: "",
            doc: "kick the wander phase on onsets and every `subdivision`",
        },
        SettingSpec {
            table: "controller",
            key: "subdivision",
            kind: Kind::Number { default: 1.0, min: 0.125, max: 16.0 },
            unit: "s",
            doc: "interval of the tempo-sync phase kick",
        },
        SettingSpec {
            table: "controller",
            key: "temperature",
            kind: Kind::Number { default: DEFAULT_TEMPERATURE, min: 0.05, max: 20.0 },
            unit: "",
            doc: "softmax temperature (multiplies the seed's 1 + 0.5·rms; 1 = the seed's): lower lets one anchor lead",
        },
        SettingSpec {
            table: "controller",
            key: "feature_scaling",
            kind: Kind::Choice { default: "running", choices: &FeatureScaling::NAMES },
            unit: "",
            doc: "statistics that z-score the features: the track's running ones, the whole track's, or the projection file's (the seed's)",
        },
        SettingSpec {
            table: "controller",
            key: "scaling_window_s",
            kind: Kind::Number { default: DEFAULT_SCALING_WINDOW_S, min: 5.0, max: 600.0 },
            unit: "s",
            doc: "forgetting window of the running feature statistics",
        },
    ]
};

/// Which statistics z-score the feature vector before the projection (`s = P·((f − μ)/σ) + b`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FeatureScaling {
    /// Running statistics of the track so far (the default): at frame n, μ and σ² are the mean
    /// and variance of frames 0..=n, forgetting exponentially beyond `scaling_window_s`
    /// (`β = max(1/(n + 1), 1/(window·fps))`, `μ += β·(f − μ)`, `σ² = (1 − β)·(σ² + β·(f − μ_old)²)`),
    /// each σ floored at a tenth of the projection's. Every track spreads its own quiet-to-loud
    /// range over the anchors, whatever its level or genre, and frame n depends on frames ≤ n
    /// only — so an edit late in a track re-renders only from there on.
    #[default]
    Running,
    /// The whole track's mean and standard deviation (σ floored likewise): like `Running` with
    /// an infinite window, but any edit anywhere changes every frame.
    Track,
    /// The projection file's `feature_mean` / `feature_std` (the seed's behaviour): a track far
    /// from those statistics (a loud drum mix, say) pins the weights on one anchor.
    Projection,
}

impl FeatureScaling {
    /// The recipe name of each choice.
    pub const NAMES: [&'static str; 3] = ["running", "track", "projection"];

    /// The scaling for a recipe name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "running" => Some(Self::Running),
            "track" => Some(Self::Track),
            "projection" => Some(Self::Projection),
            _ => None,
        }
    }

    /// The recipe name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Track => "track",
            Self::Projection => "projection",
        }
    }
}

/// Default window of [`FeatureScaling::Running`], in seconds.
pub const DEFAULT_SCALING_WINDOW_S: f64 = 30.0;

/// Default softmax temperature (multiplies the seed's `1 + 0.5·rms`): with running
/// statistics, 0.5 keeps the blend led by one or two anchors (mean largest weight ≈ 0.5 on the
/// demo song and a real recording) without pinning it (a weight above 0.9 on 5–13 % of frames).
pub const DEFAULT_TEMPERATURE: f64 = 0.5;

/// Controller settings (DOMAIN §B defaults in [`Default`], plus the documented tuning knobs
/// `temperature` and `feature_scaling`, and optional per-frame control tracks).
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
    /// Softmax temperature τ: `w = softmax(s / (τ·(1 + 0.5·rms)))`; τ = 1 is the seed's
    /// controller, larger spreads the weights over more anchors (range 0.05–20).
    pub temperature: f64,
    /// Which statistics z-score the features before the projection.
    pub feature_scaling: FeatureScaling,
    /// Forgetting window of [`FeatureScaling::Running`], in seconds (5–600).
    pub scaling_window_s: f64,
    /// Optional per-frame control tracks (from param producers); none ⇒ the plain controller.
    pub tracks: ControllerTracks,
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
            temperature: DEFAULT_TEMPERATURE,
            feature_scaling: FeatureScaling::default(),
            scaling_window_s: DEFAULT_SCALING_WINDOW_S,
            tracks: ControllerTracks::default(),
        }
    }
}

impl ControllerParams {
    /// The single PRNG seed: `anchor_seed ^ wander_seed (^ track_seed)`.
    pub fn rng_seed(&self) -> u64 {
        self.anchor_seed ^ self.wander_seed ^ self.track_seed.unwrap_or(0)
    }
}
