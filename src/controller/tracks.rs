//! Per-frame control tracks for the controller: values that change frame by frame (e.g. made
//! by a param producer from the audio) instead of one setting for the whole track.

/// Smallest per-frame smoothing α a track may hold (the EMA floor of DOMAIN §B).
pub const ALPHA_MIN: f64 = 0.35;
/// Largest per-frame smoothing α a track may hold.
pub const ALPHA_MAX: f64 = 0.999;
/// Largest per-frame wander scale.
pub const WANDER_SCALE_MAX: f64 = 10.0;
/// Largest |per-anchor bias| (in score units; the softmax saturates long before).
pub const ANCHOR_BIAS_MAX: f64 = 100.0;

/// Optional per-frame tracks, indexed by video frame `n` (length = the track's frame count).
/// `None` leaves the controller exactly as without tracks.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ControllerTracks {
    /// Per frame: multiplies the wander strength `base·(0.25 + 1.35·rms + 0.3·onset)`; ≥ 0.
    pub wander_scale: Option<Vec<f32>>,
    /// Per frame × anchor (`n·K + k`, row-major): added to anchor k's score `s_k` before the
    /// softmax.
    pub anchor_bias: Option<Vec<f32>>,
    /// Per frame: the EMA ceiling α for that frame (replaces `smoothing_alpha`), in
    /// [0.35, 0.999].
    pub smoothing_alpha: Option<Vec<f32>>,
}

impl ControllerTracks {
    /// True when no track is set.
    pub fn is_empty(&self) -> bool {
        self.wander_scale.is_none() && self.anchor_bias.is_none() && self.smoothing_alpha.is_none()
    }

    /// Check every track against `frames` video frames and `anchors` anchors: exact lengths,
    /// finite values within range. Each problem names the track, what was found and what is
    /// allowed.
    pub fn validate(&self, frames: usize, anchors: usize) -> Result<(), Vec<String>> {
        let mut errors = Vec::new();
        let mut check = |name: &str, values: &Option<Vec<f32>>, len: usize, what: &str, lo: f64, hi: f64| {
            let Some(values) = values else { return };
            if values.len() != len {
                errors.push(format!("{name} has {} values; expected {len} ({what})", values.len()));
                return;
            }
            if let Some((i, v)) =
                values.iter().enumerate().find(|(_, v)| !(v.is_finite() && (lo..=hi).contains(&f64::from(**v))))
            {
                errors.push(format!("{name}[{i}] is {v}; allowed: finite values in [{lo}, {hi}]"));
            }
        };
        check("wander_scale", &self.wander_scale, frames, "one per video frame", 0.0, WANDER_SCALE_MAX);
        check(
            "anchor_bias",
            &self.anchor_bias,
            frames.saturating_mul(anchors),
            "one per video frame and anchor, frame-major",
            -ANCHOR_BIAS_MAX,
            ANCHOR_BIAS_MAX,
        );
        check("smoothing_alpha", &self.smoothing_alpha, frames, "one per video frame", ALPHA_MIN, ALPHA_MAX);
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }

    /// Wander scale at frame `n` (1 without a track or past its end; non-finite reads as 1).
    pub(crate) fn wander_scale_at(&self, n: usize) -> f64 {
        at(&self.wander_scale, n).map_or(1.0, |v| v.clamp(0.0, WANDER_SCALE_MAX))
    }

    /// Bias of anchor `k` at frame `n` of `k_count` anchors (0 without a track).
    pub(crate) fn anchor_bias_at(&self, n: usize, k: usize, k_count: usize) -> f64 {
        at(&self.anchor_bias, n * k_count + k).map_or(0.0, |v| v.clamp(-ANCHOR_BIAS_MAX, ANCHOR_BIAS_MAX))
    }

    /// The EMA ceiling at frame `n`: the track's value, else `alpha`.
    pub(crate) fn smoothing_alpha_at(&self, n: usize, alpha: f64) -> f64 {
        at(&self.smoothing_alpha, n).map_or(alpha, |v| v.clamp(ALPHA_MIN, ALPHA_MAX))
    }
}

fn at(track: &Option<Vec<f32>>, i: usize) -> Option<f64> {
    track.as_ref()?.get(i).map(|v| f64::from(*v)).filter(|v| v.is_finite())
}
