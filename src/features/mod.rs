//! Layer 2: librosa-0.11-compatible audio features (rms, centroid, flatness, MFCC, onset).
//!
//! Pure: slices in, [`Features`] out; no files, no printing. Frames are analysed in parallel
//! in fixed-size blocks, so the output bits do not depend on the thread count or on how a
//! stream was chunked. See `DOMAIN.md` §A for the definitions this module reproduces.

pub mod accumulator;
pub mod frame;
pub mod mfcc;
pub mod onset;
pub mod prepare;
pub mod synthetic;

pub use accumulator::FeatureAccumulator;

/// FFT length (and rms frame length) in samples.
pub const N_FFT: usize = 2048;
/// Hop between frames in samples.
pub const HOP_LEN: usize = 512;
/// Number of mel bands.
pub const N_MELS: usize = 128;
/// Number of MFCC coefficients kept.
pub const N_MFCC: usize = 13;
/// Dynamic range kept by `power_to_db(top_db=80)`: dB below the global maximum.
pub const TOP_DB: f32 = 80.0;
/// Power floor of `power_to_db` and of spectral flatness (`amin`).
pub const AMIN_POWER: f32 = 1e-10;

/// Per-frame features of one signal, frame `t` centred on sample `t · HOP_LEN`.
///
/// All vectors hold `frame_count()` values except `mfcc`, which is `N_MFCC × frame_count()`
/// in row-major order (coefficient-major, like librosa's `(13, F)` array). Values are librosa's
/// raw ones (no normalisation). Cache keys: `times`, `rms`, `centroid`, `flatness`, `mfcc`,
/// `onset`.
#[derive(Clone, Debug, PartialEq)]
pub struct Features {
    /// Sample rate the features were computed at.
    pub sample_rate_hz: u32,
    /// Frame times in seconds: `t · HOP_LEN / sample_rate_hz`.
    pub times_s: Vec<f32>,
    /// Root-mean-square of each zero-padded, unwindowed frame.
    pub rms: Vec<f32>,
    /// Spectral centroid in Hz (0 for a silent frame).
    pub centroid_hz: Vec<f32>,
    /// Spectral flatness (geometric / arithmetic mean of the power spectrum).
    pub flatness: Vec<f32>,
    /// MFCCs, `N_MFCC` rows of `frame_count()` values.
    pub mfcc: Vec<f32>,
    /// Onset strength (librosa `onset_strength`, centred).
    pub onset: Vec<f32>,
}

impl Features {
    /// Number of frames, `1 + len / HOP_LEN`.
    pub fn frame_count(&self) -> usize {
        self.rms.len()
    }

    /// MFCC coefficient `k` over all frames (`None` when `k ≥ N_MFCC`).
    pub fn mfcc_row(&self, k: usize) -> Option<&[f32]> {
        let f = self.frame_count();
        self.mfcc.get(k * f..(k + 1) * f)
    }
}

/// Features of a whole mono signal at `sample_rate_hz` (librosa 0.11 semantics, DOMAIN §A).
///
/// ```
/// let sr = 48_000;
/// let tone: Vec<f32> = (0..sr).map(|n| (0.5 * (2.0 * std::f64::consts::PI * 1000.0 * n as f64 / sr as f64).sin()) as f32).collect();
/// let f = ntsbuild::features::features(&tone, sr);
/// assert_eq!(f.frame_count(), 94);
/// assert!((f.rms[47] - 0.35320).abs() < 1e-4);
/// ```
pub fn features(samples: &[f32], sample_rate_hz: u32) -> Features {
    accumulator::features_of_slice(samples, sample_rate_hz)
}
