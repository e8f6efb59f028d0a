//! Feature vectors for the controller: normalise raw librosa features and resample them to the
//! video frame grid (DOMAIN §B).

/// Length of one controller feature vector.
pub const FEATURE_DIM: usize = 12;
/// Number of MFCC rows stored in [`FeatureFrames::mfcc`].
pub const MFCC_COUNT: usize = 13;
/// Number of MFCC coefficients used by the controller (rows 0..8).
const MFCC_USED: usize = 8;

/// Raw per-analysis-frame audio features (librosa values, as stored in `features.npz`).
///
/// The analysis frame count F is `rms.len()`; any other vector that is shorter reads as 0 for the
/// missing frames.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FeatureFrames {
    /// RMS per frame (raw).
    pub rms: Vec<f32>,
    /// Spectral centroid per frame in Hz.
    pub centroid_hz: Vec<f32>,
    /// Spectral flatness per frame.
    pub flatness: Vec<f32>,
    /// Onset strength per frame (raw).
    pub onset: Vec<f32>,
    /// MFCCs, 13×F row-major (`mfcc[c * F + f]`).
    pub mfcc: Vec<f32>,
    /// Audio sample rate in Hz.
    pub sample_rate_hz: u32,
    /// Hop length in samples (frame time = frame · hop / sr).
    pub hop_len: usize,
}

impl From<&crate::features::Features> for FeatureFrames {
    /// The analysis features of a track as the controller reads them (hop = `features::HOP_LEN`).
    fn from(f: &crate::features::Features) -> Self {
        Self {
            rms: f.rms.clone(),
            centroid_hz: f.centroid_hz.clone(),
            flatness: f.flatness.clone(),
            onset: f.onset.clone(),
            mfcc: f.mfcc.clone(),
            sample_rate_hz: f.sample_rate_hz,
            hop_len: crate::features::HOP_LEN,
        }
    }
}

/// Video frame count `ceil(duration_s · fps)`; 0 unless both are finite and positive.
pub fn frame_count(fps: f64, duration_s: f64) -> usize {
    if !fps.is_finite() || !duration_s.is_finite() || fps <= 0.0 || duration_s <= 0.0 {
        return 0;
    }
    let n = (duration_s * fps).ceil();
    if n.is_finite() && n > 0.0 { n as usize } else { 0 }
}

/// Per-video-frame 12-vectors: `[rms, clip(centroid/(sr/2),0,1), flatness, onset/max(onset),
/// tanh(mfcc[0..8]/20)]`, each normalised at analysis-frame rate and then linearly interpolated
/// from frame times `f·hop/sr` to video times `n/fps`, `n` in `0..ceil(duration_s·fps)`.
///
/// Interpolation clamps to the first/last analysis frame outside their time span (numpy `interp`
/// semantics). With no analysis frames, or a zero sample rate / hop, every vector is zero.
/// `onset/max(onset)` is 0 everywhere when the maximum is not positive.
pub fn feature_vectors(frames: &FeatureFrames, fps: f64, duration_s: f64) -> Vec<[f32; FEATURE_DIM]> {
    let n_video = frame_count(fps, duration_s);
    let analysis = normalised_frames(frames);
    let f_count = analysis.len();
    if f_count == 0 || frames.sample_rate_hz == 0 || frames.hop_len == 0 || fps.is_nan() || fps <= 0.0 {
        return vec![[0.0; FEATURE_DIM]; n_video];
    }
    // Analysis frame f sits at f·hop/sr seconds, so video time t maps to position t·sr/hop.
    let frames_per_s = f64::from(frames.sample_rate_hz) / frames.hop_len as f64;
    let last = (f_count - 1) as f64;
    (0..n_video)
        .map(|n| {
            let pos = (n as f64 / fps * frames_per_s).clamp(0.0, last);
            let i0 = pos.floor() as usize;
            let i1 = (i0 + 1).min(f_count - 1);
            let frac = pos - i0 as f64;
            let mut out = [0.0f32; FEATURE_DIM];
            for (d, slot) in out.iter_mut().enumerate() {
                let a = f64::from(analysis[i0][d]);
                let b = f64::from(analysis[i1][d]);
                *slot = (a + (b - a) * frac) as f32;
            }
            out
        })
        .collect()
}

/// The 12 normalised features at analysis-frame rate.
fn normalised_frames(frames: &FeatureFrames) -> Vec<[f32; FEATURE_DIM]> {
    let f_count = frames.rms.len();
    let at = |v: &[f32], i: usize| v.get(i).copied().filter(|x| x.is_finite()).unwrap_or(0.0);
    let nyquist_hz = f64::from(frames.sample_rate_hz) / 2.0;
    let onset_max = (0..f_count).map(|i| at(&frames.onset, i)).fold(0.0f32, f32::max);
    (0..f_count)
        .map(|i| {
            let mut v = [0.0f32; FEATURE_DIM];
            v[0] = at(&frames.rms, i);
            v[1] = if nyquist_hz > 0.0 {
                (f64::from(at(&frames.centroid_hz, i)) / nyquist_hz).clamp(0.0, 1.0) as f32
            } else {
                0.0
            };
            v[2] = at(&frames.flatness, i);
            v[3] = if onset_max > 0.0 { at(&frames.onset, i) / onset_max } else { 0.0 };
            for c in 0..MFCC_USED {
                v[4 + c] = (at(&frames.mfcc, c * f_count + i) / 20.0).tanh();
            }
            v
        })
        .collect()
}
