//! Controls for the video: sidecar columns mapped to per-frame controller and postFX
//! parameters on the video's frame grid.
//!
//! For each mapping, the column is first resampled onto the video grid: video frame `n` is at
//! `n / video_fps` seconds, column frame `k` at its centre `(k + 0.5) / fps`; values between two
//! column frames are interpolated linearly, and held constant before the first and after the
//! last centre (`numpy.interp`). Then the value is mapped — `x · scale + offset`, or linearly
//! from `from = [a, b]` (default: the column's own min and max over the whole source) onto
//! `range = [lo, hi]`, clamped to it (a constant column maps to `lo`) — and finally clamped to
//! the parameter's legal range ([`ControlTarget::limits`]). Computation in float64, stored as
//! float32.

use std::ops::Range;

use serde::Serialize;

use super::table::{NormStats, SidecarTable};

/// `PostFxParams::chroma_shift`'s bound (`|c| ≤ 0.05`, DOMAIN §C).
pub const CHROMA_SHIFT_MAX: f64 = 0.05;

/// A parameter a column can drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlTarget {
    /// Multiplier on the controller's wander strength (1 = unchanged).
    WanderScale,
    /// Added to anchor `k`'s softmax score before the blend (0 = unchanged).
    AnchorBias(u32),
    /// The controller's EMA ceiling α per frame (replaces `smoothing_alpha`).
    SmoothingAlpha,
    /// postFX grain intensity per frame.
    GrainIntensity,
    /// postFX chroma shift per frame (fraction of `min(width, height)`).
    ChromaShift,
    /// postFX vignette strength per frame.
    VignetteStrength,
}

impl ControlTarget {
    /// The recipe keys, in the order tracks are listed.
    pub const KEYS: [&'static str; 6] =
        ["wander_scale", "anchor_bias", "smoothing_alpha", "grain_intensity", "chroma_shift", "vignette_strength"];

    /// The recipe key.
    pub fn key(self) -> &'static str {
        match self {
            ControlTarget::WanderScale => "wander_scale",
            ControlTarget::AnchorBias(_) => "anchor_bias",
            ControlTarget::SmoothingAlpha => "smoothing_alpha",
            ControlTarget::GrainIntensity => "grain_intensity",
            ControlTarget::ChromaShift => "chroma_shift",
            ControlTarget::VignetteStrength => "vignette_strength",
        }
    }

    /// The legal range `(min, max)` every mapped value is clamped to.
    pub fn limits(self) -> (f64, f64) {
        match self {
            ControlTarget::WanderScale => (0.0, 4.0),
            ControlTarget::AnchorBias(_) => (-10.0, 10.0),
            ControlTarget::SmoothingAlpha => (0.35, 0.999),
            ControlTarget::GrainIntensity => (0.0, 1.0),
            ControlTarget::ChromaShift => (-CHROMA_SHIFT_MAX, CHROMA_SHIFT_MAX),
            ControlTarget::VignetteStrength => (0.0, 1.0),
        }
    }

    /// Whether it acts in postFX (changes encoded frames only) rather than the controller
    /// (changes latents, hence decoded frames).
    pub fn is_postfx(self) -> bool {
        matches!(self, ControlTarget::GrainIntensity | ControlTarget::ChromaShift | ControlTarget::VignetteStrength)
    }
}

/// How a column value becomes a parameter value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueMap {
    /// `x · scale + offset`.
    Linear {
        /// Multiplier.
        scale: f64,
        /// Added after scaling.
        offset: f64,
    },
    /// `from[0]..from[1]` (default: the column's min..max) onto `to[0]..to[1]`, clamped.
    Range {
        /// Output range; `to[0] > to[1]` inverts.
        to: [f64; 2],
        /// Input range, or `None` for the column's own min and max.
        from: Option<[f64; 2]>,
    },
}

/// One column driving one parameter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ControlMapping {
    /// The parameter.
    pub target: ControlTarget,
    /// The sidecar column.
    pub column: String,
    /// The value mapping.
    pub map: ValueMap,
}

impl Eq for ControlMapping {}

/// Per-frame parameter tracks on the video grid; `None` where nothing is mapped (the
/// parameter keeps its static setting). Every `Some` track has `frames` values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ControlTracks {
    /// Video frames.
    pub frames: usize,
    /// Multiplier on the wander strength, in [0, 4].
    pub wander_scale: Option<Vec<f32>>,
    /// Per frame, one additive softmax-score bias per anchor (`anchor_count` values; anchors
    /// without a mapping get 0), in [−10, 10].
    pub anchor_bias: Option<Vec<Vec<f32>>>,
    /// EMA ceiling α, in [0.35, 0.999].
    pub smoothing_alpha: Option<Vec<f32>>,
    /// Grain intensity, in [0, 1].
    pub grain_intensity: Option<Vec<f32>>,
    /// Chroma shift, in [−0.05, 0.05].
    pub chroma_shift: Option<Vec<f32>>,
    /// Vignette strength, in [0, 1].
    pub vignette_strength: Option<Vec<f32>>,
}

/// The postFX tracks over a range of frames: what an encoded segment's key needs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PostFxControlSlice<'a> {
    /// Grain intensity over the range.
    pub grain_intensity: Option<&'a [f32]>,
    /// Chroma shift over the range.
    pub chroma_shift: Option<&'a [f32]>,
    /// Vignette strength over the range.
    pub vignette_strength: Option<&'a [f32]>,
}

/// The controller's tracks: what the latents' key needs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ControllerControls<'a> {
    /// Wander multiplier.
    pub wander_scale: Option<&'a [f32]>,
    /// Anchor biases.
    pub anchor_bias: Option<&'a [Vec<f32>]>,
    /// EMA ceiling.
    pub smoothing_alpha: Option<&'a [f32]>,
}

impl ControlTracks {
    /// The postFX tracks over `frames` (clipped to the track).
    pub fn postfx_slice(&self, frames: Range<usize>) -> PostFxControlSlice<'_> {
        PostFxControlSlice {
            grain_intensity: cut(self.grain_intensity.as_deref(), &frames),
            chroma_shift: cut(self.chroma_shift.as_deref(), &frames),
            vignette_strength: cut(self.vignette_strength.as_deref(), &frames),
        }
    }

    /// The controller's tracks.
    pub fn controller(&self) -> ControllerControls<'_> {
        ControllerControls {
            wander_scale: self.wander_scale.as_deref(),
            anchor_bias: self.anchor_bias.as_deref(),
            smoothing_alpha: self.smoothing_alpha.as_deref(),
        }
    }

    /// Whether any controller track is set (else only postFX depends on the controls).
    pub fn touches_controller(&self) -> bool {
        self.wander_scale.is_some() || self.anchor_bias.is_some() || self.smoothing_alpha.is_some()
    }
}

/// `track[frames]`, clipped to the track.
fn cut<'a>(track: Option<&'a [f32]>, frames: &Range<usize>) -> Option<&'a [f32]> {
    track.map(|v| {
        let start = frames.start.min(v.len());
        &v[start..frames.end.clamp(start, v.len())]
    })
}

/// Why control tracks could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ControlError {
    /// A mapping names a column the sidecar does not have.
    #[error("{key}: no column `{column}` in the sidecar; its columns: {available}")]
    UnknownColumn {
        /// The parameter key.
        key: &'static str,
        /// The missing column.
        column: String,
        /// The columns there are.
        available: String,
    },
    /// An anchor index past the anchor set.
    #[error("anchor_bias: anchor {anchor} does not exist; the anchor set has {count} anchors (0–{})", count.saturating_sub(1))]
    AnchorOutOfRange {
        /// The index.
        anchor: u32,
        /// Anchors in the set.
        count: usize,
    },
    /// Two mappings drive the same parameter.
    #[error("{0} is mapped twice")]
    Duplicate(String),
    /// The sidecar has no frames.
    #[error("the sidecar has no frames")]
    NoFrames,
    /// The video grid is unusable.
    #[error("video fps must be positive and finite, got {0}")]
    BadFps(f64),
}

/// The video's frame grid on the source's time line: frame `n` shows source time
/// `start_s + n / fps` (`start_s` is the track's trim start).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoGrid {
    /// Video frames.
    pub frames: usize,
    /// Video frames per second.
    pub fps: f64,
    /// Source time of frame 0, in seconds.
    pub start_s: f64,
}

/// Values of `column` (centres at `(k + 0.5) / fps`) at each frame of `grid`.
pub fn resample_to_video(column: &[f32], fps: f64, grid: VideoGrid) -> Vec<f64> {
    let Some(&last) = column.last() else { return vec![0.0; grid.frames] };
    (0..grid.frames)
        .map(|n| {
            let x = (grid.start_s + n as f64 / grid.fps) * fps - 0.5;
            if x <= 0.0 {
                return f64::from(column[0]);
            }
            let i = x.floor() as usize;
            if i + 1 >= column.len() {
                return f64::from(last);
            }
            let frac = x - i as f64;
            f64::from(column[i]) * (1.0 - frac) + f64::from(column[i + 1]) * frac
        })
        .collect()
}

/// Applies `map` (with the column's statistics for a default `from`) and the target's limits.
pub fn map_value(x: f64, map: &ValueMap, stats: &NormStats, target: ControlTarget) -> f64 {
    let y = match *map {
        ValueMap::Linear { scale, offset } => x * scale + offset,
        ValueMap::Range { to: [lo, hi], from } => {
            let [a, b] = from.unwrap_or([stats.min, stats.max]);
            let u = if b == a { 0.0 } else { ((x - a) / (b - a)).clamp(0.0, 1.0) };
            lo + (hi - lo) * u
        }
    };
    let (min, max) = target.limits();
    if y.is_nan() { min } else { y.clamp(min, max) }
}

/// Per-frame parameter tracks on the video's `grid`, from the sidecar `columns` and the
/// `mappings`; `anchor_count` is the size of the track's anchor set.
pub fn control_tracks(
    columns: &SidecarTable,
    mappings: &[ControlMapping],
    grid: VideoGrid,
    anchor_count: usize,
) -> Result<ControlTracks, ControlError> {
    if !(grid.fps.is_finite() && grid.fps > 0.0) {
        return Err(ControlError::BadFps(grid.fps));
    }
    let frames = grid.frames;
    if columns.frames == 0 {
        return Err(ControlError::NoFrames);
    }
    let mut out = ControlTracks {
        frames,
        wander_scale: None,
        anchor_bias: None,
        smoothing_alpha: None,
        grain_intensity: None,
        chroma_shift: None,
        vignette_strength: None,
    };
    let mut seen = std::collections::BTreeSet::new();
    for m in mappings {
        if !seen.insert(m.target) {
            let what = match m.target {
                ControlTarget::AnchorBias(k) => format!("anchor_bias for anchor {k}"),
                t => t.key().to_string(),
            };
            return Err(ControlError::Duplicate(what));
        }
        let Some(values) = columns.column_named(&m.column) else {
            return Err(ControlError::UnknownColumn {
                key: m.target.key(),
                column: m.column.clone(),
                available: columns.names.join(", "),
            });
        };
        let stats = NormStats::of(&values);
        let track: Vec<f32> = resample_to_video(&values, columns.fps, grid)
            .into_iter()
            .map(|x| map_value(x, &m.map, &stats, m.target) as f32)
            .collect();
        match m.target {
            ControlTarget::WanderScale => out.wander_scale = Some(track),
            ControlTarget::SmoothingAlpha => out.smoothing_alpha = Some(track),
            ControlTarget::GrainIntensity => out.grain_intensity = Some(track),
            ControlTarget::ChromaShift => out.chroma_shift = Some(track),
            ControlTarget::VignetteStrength => out.vignette_strength = Some(track),
            ControlTarget::AnchorBias(k) => {
                if k as usize >= anchor_count {
                    return Err(ControlError::AnchorOutOfRange { anchor: k, count: anchor_count });
                }
                let bias = out.anchor_bias.get_or_insert_with(|| vec![vec![0.0; anchor_count]; frames]);
                for (row, v) in bias.iter_mut().zip(track) {
                    row[k as usize] = v;
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(frames: usize, fps: f64) -> VideoGrid {
        VideoGrid { frames, fps, start_s: 0.0 }
    }

    /// A trimmed track's frame 0 shows the source at the trim start, so it reads the column
    /// from there.
    #[test]
    fn a_trimmed_track_reads_the_column_from_its_trim_start() {
        let v = resample_to_video(&[0.0, 1.0, 2.0, 3.0], 1.0, VideoGrid { frames: 3, fps: 2.0, start_s: 2.5 });
        // 2.5 s is column frame 2's centre; 3.0 s lies halfway to frame 3's; 3.5 s is past the last.
        assert_eq!(v, vec![2.0, 2.5, 3.0]);
    }

    fn table(fps: f64, cols: &[(&str, Vec<f32>)]) -> SidecarTable {
        let frames = cols[0].1.len();
        let mut data = Vec::new();
        for t in 0..frames {
            data.extend(cols.iter().map(|(_, v)| v[t]));
        }
        SidecarTable {
            fps,
            frames,
            names: cols.iter().map(|(n, _)| n.to_string()).collect(),
            data,
            winners: vec![String::new(); cols.len()],
        }
    }

    #[test]
    fn resampling_interpolates_between_centres_and_holds_the_ends() {
        // Column at 2 fps: centres at 0.25 s and 0.75 s. Video at 4 fps: 0, 0.25, 0.5, 0.75, 1.0 s.
        let v = resample_to_video(&[0.0, 1.0], 2.0, grid(5, 4.0));
        assert_eq!(v, vec![0.0, 0.0, 0.5, 1.0, 1.0]);
        assert_eq!(resample_to_video(&[], 2.0, grid(2, 4.0)), vec![0.0, 0.0]);
    }

    #[test]
    fn ranges_map_the_column_span_and_clamp_to_the_parameter() {
        let t = table(75.0, &[("db", vec![-60.0, -30.0, 0.0]), ("k", vec![2.0, 2.0, 2.0])]);
        let maps = [
            ControlMapping {
                target: ControlTarget::GrainIntensity,
                column: "db".into(),
                map: ValueMap::Range { to: [0.0, 0.5], from: None },
            },
            ControlMapping {
                target: ControlTarget::VignetteStrength,
                column: "db".into(),
                map: ValueMap::Linear { scale: 0.1, offset: 1.0 },
            },
            ControlMapping {
                target: ControlTarget::WanderScale,
                column: "k".into(),
                map: ValueMap::Range { to: [0.5, 1.5], from: None },
            },
        ];
        // Video at 150 fps: frame 2n is at column frame n − 0.5 → … exact centres at odd frames.
        let tr = control_tracks(&t, &maps, grid(6, 150.0), 10).unwrap();
        let g = tr.grain_intensity.unwrap();
        assert_eq!(g, vec![0.0, 0.0, 0.125, 0.25, 0.375, 0.5]);
        // -60·0.1 + 1 = −5 → clamped at 0; 0·0.1 + 1 = 1.
        let v = tr.vignette_strength.unwrap();
        assert_eq!((v[0], v[5]), (0.0, 1.0));
        // A constant column maps to the low end.
        assert_eq!(tr.wander_scale.unwrap(), vec![0.5; 6]);
        assert!(tr.anchor_bias.is_none() && tr.smoothing_alpha.is_none() && tr.chroma_shift.is_none());
    }

    #[test]
    fn anchor_biases_fill_one_row_per_frame() {
        let t = table(10.0, &[("a", vec![1.0, 1.0]), ("b", vec![-2.0, -2.0])]);
        let maps = [
            ControlMapping {
                target: ControlTarget::AnchorBias(1),
                column: "a".into(),
                map: ValueMap::Linear { scale: 1.0, offset: 0.0 },
            },
            ControlMapping {
                target: ControlTarget::AnchorBias(3),
                column: "b".into(),
                map: ValueMap::Linear { scale: 1.0, offset: 0.0 },
            },
        ];
        let tr = control_tracks(&t, &maps, grid(3, 30.0), 4).unwrap();
        assert_eq!(tr.anchor_bias.as_ref().unwrap(), &vec![vec![0.0, 1.0, 0.0, -2.0]; 3]);
        assert!(tr.touches_controller());
        let e = control_tracks(&t, &maps, grid(3, 30.0), 3).unwrap_err();
        assert_eq!(e.to_string(), "anchor_bias: anchor 3 does not exist; the anchor set has 3 anchors (0–2)");
    }

    #[test]
    fn errors_name_the_column_and_parameter() {
        let t = table(10.0, &[("a", vec![1.0])]);
        let m = ControlMapping {
            target: ControlTarget::ChromaShift,
            column: "loud".into(),
            map: ValueMap::Linear { scale: 1.0, offset: 0.0 },
        };
        let e = control_tracks(&t, std::slice::from_ref(&m), grid(3, 30.0), 10).unwrap_err();
        assert_eq!(e.to_string(), "chroma_shift: no column `loud` in the sidecar; its columns: a");
        let twice = [ControlMapping { column: "a".into(), ..m.clone() }, ControlMapping { column: "a".into(), ..m }];
        assert!(matches!(control_tracks(&t, &twice, grid(3, 30.0), 10), Err(ControlError::Duplicate(_))));
    }

    #[test]
    fn slices_select_frames_for_segment_keys() {
        let t = table(30.0, &[("a", (0..30).map(|i| i as f32 / 100.0).collect())]);
        let m = ControlMapping {
            target: ControlTarget::GrainIntensity,
            column: "a".into(),
            map: ValueMap::Linear { scale: 1.0, offset: 0.0 },
        };
        let tr = control_tracks(&t, &[m], grid(30, 30.0), 10).unwrap();
        let s = tr.postfx_slice(10..20);
        assert_eq!(s.grain_intensity.map(<[f32]>::len), Some(10));
        assert!(s.chroma_shift.is_none());
        assert_eq!(tr.postfx_slice(25..40).grain_intensity.map(<[f32]>::len), Some(5));
        assert_eq!(tr.postfx_slice(40..50).grain_intensity.map(<[f32]>::len), Some(0));
        assert!(!tr.touches_controller());
    }
}
