//! Per-frame postFX tracks: grain, chroma shift and vignette that change frame by frame (e.g.
//! made by a param producer from the audio) instead of one value for the whole track.

use super::PostFxParams;
use super::params::CHROMA_SHIFT_MAX;

/// Optional per-frame values, indexed by the track's video frame index (length = its frame
/// count). A present track replaces that knob of [`PostFxParams`] for each frame; `None` (the
/// default) leaves the knob as set, so output is exactly as without tracks.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PostFxTracks {
    /// Grain intensity per frame, in [0, 1].
    pub grain_intensity: Option<Vec<f32>>,
    /// Chroma shift per frame, |c| ≤ 0.05 (fraction of the frame's short side; sign = direction).
    pub chroma_shift: Option<Vec<f32>>,
    /// Vignette strength per frame, in [0, 1].
    pub vignette_strength: Option<Vec<f32>>,
}

impl PostFxTracks {
    /// True when no track is set.
    pub fn is_empty(&self) -> bool {
        self.grain_intensity.is_none() && self.chroma_shift.is_none() && self.vignette_strength.is_none()
    }

    /// The parameters for frame `frame_index`: `base` with each present track's value for that
    /// frame (a frame past a track's end, or a non-finite value, keeps `base`'s).
    pub fn at(&self, base: &PostFxParams, frame_index: usize) -> PostFxParams {
        let pick = |track: &Option<Vec<f32>>, fallback: f64| {
            track
                .as_ref()
                .and_then(|t| t.get(frame_index))
                .map(|v| f64::from(*v))
                .filter(|v| v.is_finite())
                .unwrap_or(fallback)
        };
        PostFxParams {
            grain_intensity: pick(&self.grain_intensity, base.grain_intensity),
            chroma_shift: pick(&self.chroma_shift, base.chroma_shift),
            vignette_strength: pick(&self.vignette_strength, base.vignette_strength),
            ..*base
        }
    }

    /// Check every track against `frames` video frames: exact length, finite values in range.
    /// Each problem names the track, what was found and what is allowed.
    pub fn validate(&self, frames: usize) -> Result<(), Vec<String>> {
        let mut errors = Vec::new();
        for (name, track, lo, hi) in [
            ("grain_intensity", &self.grain_intensity, 0.0, 1.0),
            ("chroma_shift", &self.chroma_shift, -CHROMA_SHIFT_MAX, CHROMA_SHIFT_MAX),
            ("vignette_strength", &self.vignette_strength, 0.0, 1.0),
        ] {
            let Some(values) = track else { continue };
            if values.len() != frames {
                errors.push(format!("{name} has {} values; expected {frames} (one per video frame)", values.len()));
            } else if let Some((i, v)) =
                values.iter().enumerate().find(|(_, v)| !(v.is_finite() && (lo..=hi).contains(&f64::from(**v))))
            {
                errors.push(format!("{name}[{i}] is {v}; allowed: finite values in [{lo}, {hi}]"));
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}
