//! Layer 2: texture mining (DOMAIN.md §G): pads mined from sustained windows, drones and swells
//! from pad sources, granular clouds, hiss loops and flickers, and the manifest's per-file
//! metrics and grades.
//!
//! Pure functions over in-memory audio at [`OUTPUT_RATE_HZ`]: no I/O, no printing, no global
//! state; every random draw comes from [`crate::dsp::rng::Rng`] seeded by the caller, so the same
//! inputs and seed give the same samples on every run.

use std::borrow::Cow;

pub mod clouds;
pub mod drones;
pub mod filter;
pub mod hiss;
pub mod looping;
pub mod manifest;
pub mod pads;
pub mod settings;

/// Every texture is rendered at 44.1 kHz; the engine resamples sources to this rate first.
pub const OUTPUT_RATE_HZ: u32 = 44_100;

/// Peak below which a result counts as silent (DOMAIN §G: an error, not a file).
pub const SILENCE_PEAK: f32 = 1e-8;

/// Multichannel audio at [`OUTPUT_RATE_HZ`]; every channel has the same length.
#[derive(Clone, Debug, PartialEq)]
pub struct Clip {
    pub channels: Vec<Vec<f32>>,
}

impl Clip {
    /// A one-channel clip.
    pub fn mono(samples: Vec<f32>) -> Self {
        Self { channels: vec![samples] }
    }

    /// Length in samples per channel (0 for a clip without channels).
    pub fn len(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn duration_s(&self) -> f64 {
        self.len() as f64 / f64::from(OUTPUT_RATE_HZ)
    }

    /// The mean of the channels, sample by sample (a one-channel clip's own channel, borrowed).
    pub fn mixdown(&self) -> Cow<'_, [f32]> {
        match self.channels.len() {
            0 => Cow::Borrowed(&[]),
            1 => Cow::Borrowed(&self.channels[0]),
            n => {
                let scale = 1.0 / n as f32;
                (0..self.len()).map(|i| self.channels.iter().map(|c| c[i]).sum::<f32>() * scale).collect()
            }
        }
    }

    /// Absolute peak over all channels.
    pub fn peak(&self) -> f32 {
        self.channels.iter().flatten().fold(0.0f32, |m, &x| m.max(x.abs()))
    }

    /// Samples `start..end` of every channel.
    pub fn slice(&self, start: usize, end: usize) -> Clip {
        Clip { channels: self.channels.iter().map(|c| c[start..end].to_vec()).collect() }
    }

    /// Applies `f` to every channel.
    pub fn map_channels(&self, mut f: impl FnMut(&[f32]) -> Vec<f32>) -> Clip {
        Clip { channels: self.channels.iter().map(|c| f(c)).collect() }
    }
}

/// Whether a category exporting `stereo` renders a source of `channel_count` channels from its
/// first two channels (else from its mixdown, the channel mean every category analyses):
/// stereo is never made up from mono.
///
/// ```
/// use ntsbuild::textures::renders_channels;
/// assert!(renders_channels(true, 2) && renders_channels(true, 6));
/// assert!(!renders_channels(true, 1) && !renders_channels(false, 2));
/// ```
pub fn renders_channels(stereo: bool, channel_count: usize) -> bool {
    stereo && channel_count > 1
}

/// Why a texture could not be made. The engine records these in the manifest (`saved = false`)
/// instead of failing the whole target.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TextureError {
    #[error("the result is silent (peak {peak:.1e} < 1e-8)")]
    Silent { peak: f32 },
    #[error("the source is {have_s:.2} s long; {need_s:.2} s are needed")]
    TooShort { need_s: f64, have_s: f64 },
    #[error("{0}")]
    NoCandidate(String),
}
