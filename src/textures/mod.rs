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

/// A texture source at [`OUTPUT_RATE_HZ`]: its mixdown (the channel mean resampled, what
/// analysis reads) and its channels (each resampled), from one decode. A plane read back from
/// disk is owned and moves into the clip; one held in memory is copied.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceAudio<'a> {
    /// The mono signal every category analyses (may be left empty when
    /// [`SourceAudio::clip_is_stereo`] says the clip comes from the channels).
    pub mono: Cow<'a, [f32]>,
    /// The source's channels, in file order (one for a mono file; may be left empty when the
    /// clip comes from the mixdown).
    pub channels: Vec<Cow<'a, [f32]>>,
}

impl SourceAudio<'_> {
    /// Whether the clip for a `stereo` export of a source with `channel_count` channels is made
    /// of its first two channels (else of the mixdown): stereo is never made up from mono.
    pub fn clip_is_stereo(stereo: bool, channel_count: usize) -> bool {
        stereo && channel_count > 1
    }

    /// The clip a texture category renders from: the mixdown unless `stereo`; with `stereo`,
    /// the source's own first two channels. A one-channel source stays one channel.
    ///
    /// ```
    /// use std::borrow::Cow;
    /// use ntsbuild::textures::SourceAudio;
    /// let channels = vec![Cow::from(&[1.0, 0.0][..]), Cow::from(&[0.0, 1.0][..]), Cow::from(&[0.5, 0.5][..])];
    /// let source = SourceAudio { mono: Cow::from(&[0.5, 0.5][..]), channels };
    /// assert_eq!(source.clone().into_clip(false).channels, vec![vec![0.5, 0.5]]);
    /// assert_eq!(source.into_clip(true).channels, vec![vec![1.0, 0.0], vec![0.0, 1.0]]);
    /// let mono = SourceAudio { mono: Cow::from(&[0.25][..]), channels: vec![Cow::from(&[0.25][..])] };
    /// assert_eq!(mono.into_clip(true).channels.len(), 1);
    /// ```
    pub fn into_clip(self, stereo: bool) -> Clip {
        if Self::clip_is_stereo(stereo, self.channels.len()) {
            Clip { channels: self.channels.into_iter().take(2).map(Cow::into_owned).collect() }
        } else {
            Clip::mono(self.mono.into_owned())
        }
    }
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
