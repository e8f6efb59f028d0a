//! Layer 2: texture mining (DOMAIN.md §G): pads mined from sustained windows, drones and swells
//! from pad sources, granular clouds, hiss loops and flickers, and the manifest's per-file
//! metrics and grades.
//!
//! Pure functions over in-memory audio at [`OUTPUT_RATE_HZ`]: no I/O, no printing, no global
//! state; every random draw comes from [`crate::dsp::rng::Rng`] seeded by the caller, so the same
//! inputs and seed give the same samples on every run.

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

    /// The mean of the channels, sample by sample.
    pub fn mixdown(&self) -> Vec<f32> {
        match self.channels.len() {
            0 => Vec::new(),
            1 => self.channels[0].clone(),
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
/// analysis reads) and its channels (each resampled), from one decode.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SourceAudio<'a> {
    /// The mono signal every category analyses.
    pub mono: &'a [f32],
    /// The source's channels, in file order (one for a mono file).
    pub channels: &'a [&'a [f32]],
}

impl SourceAudio<'_> {
    /// The clip a texture category renders from: the mixdown unless `stereo`; with `stereo`,
    /// the source's own first two channels. A one-channel source stays one channel: stereo is
    /// never made up from mono.
    ///
    /// ```
    /// use ntsbuild::textures::SourceAudio;
    /// let channels = [&[1.0, 0.0][..], &[0.0, 1.0], &[0.5, 0.5]];
    /// let source = SourceAudio { mono: &[0.5, 0.5], channels: &channels };
    /// assert_eq!(source.clip(false).channels, vec![vec![0.5, 0.5]]);
    /// assert_eq!(source.clip(true).channels, vec![vec![1.0, 0.0], vec![0.0, 1.0]]);
    /// let one = [&[0.25][..]];
    /// let mono = SourceAudio { mono: &[0.25], channels: &one };
    /// assert_eq!(mono.clip(true).channels.len(), 1);
    /// ```
    pub fn clip(&self, stereo: bool) -> Clip {
        if stereo && self.channels.len() > 1 {
            Clip { channels: self.channels.iter().take(2).map(|c| c.to_vec()).collect() }
        } else {
            Clip::mono(self.mono.to_vec())
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
