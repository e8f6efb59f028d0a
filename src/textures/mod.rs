//! Layer 2: texture mining (DOMAIN.md §G): pads mined from sustained windows, drones and swells
//! from pad sources, granular clouds, hiss loops and flickers, and the manifest's per-file
//! metrics and grades.
//!
//! Pure functions over audio at [`OUTPUT_RATE_HZ`] read through [`ClipSource`] (a [`Clip`] in
//! memory, or whatever the engine reads by position: a long source stays on disk and each
//! category reads only the blocks and windows it needs): no I/O of their own, no printing, no
//! global state; every random draw comes from [`crate::dsp::rng::Rng`] seeded by the caller, so the same
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

    /// The mixdown, taking the only channel of a one-channel clip without a copy.
    pub fn into_mixdown(mut self) -> Vec<f32> {
        if self.channels.len() == 1 { self.channels.pop().unwrap_or_default() } else { self.mixdown().into_owned() }
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

/// Audio a texture reads by position, at [`OUTPUT_RATE_HZ`]: every channel has [`len`]
/// samples, and any window of them can be read. A [`Clip`] is one; the engine's reads a
/// decoded source from memory or from its spill file, so mining a long source holds a few
/// blocks of it, not the whole.
///
/// The mixdown of a window ([`Clip::mixdown`]) is the window of the whole mixdown: every
/// category analyses the same samples, bit for bit, however it reads them.
///
/// [`len`]: ClipSource::len
pub trait ClipSource: Sync {
    /// Samples per channel.
    fn len(&self) -> usize;

    /// Whether there is no sample.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Channels (1 for a mixdown).
    fn channel_count(&self) -> usize;

    /// Samples `start .. start + len` of every channel; `Err(Read)` when the range does not lie
    /// inside the source or the samples cannot be read.
    fn read(&self, start: usize, len: usize) -> Result<Clip, TextureError>;
}

impl ClipSource for Clip {
    fn len(&self) -> usize {
        Clip::len(self)
    }

    fn channel_count(&self) -> usize {
        self.channels.len()
    }

    fn read(&self, start: usize, len: usize) -> Result<Clip, TextureError> {
        match start.checked_add(len) {
            Some(end) if end <= Clip::len(self) => Ok(self.slice(start, end)),
            _ => Err(TextureError::Read(format!("samples {start}..+{len} are past the end ({})", Clip::len(self)))),
        }
    }
}

/// Blocks of a source's mixdown read in turn by [`for_each_mixdown_block`].
pub(crate) const MIXDOWN_BLOCK: usize = 1 << 16;

/// Calls `f` with consecutive blocks of `source`'s mixdown (at most [`MIXDOWN_BLOCK`] samples
/// each, in order, covering the whole source).
pub(crate) fn for_each_mixdown_block(source: &dyn ClipSource, mut f: impl FnMut(&[f32])) -> Result<(), TextureError> {
    let n = source.len();
    let mut start = 0;
    while start < n {
        let len = MIXDOWN_BLOCK.min(n - start);
        f(&source.read(start, len)?.into_mixdown());
        start += len;
    }
    Ok(())
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
    /// The source could not be read (a failure of the machine, not of the audio: the engine
    /// fails the build rather than record it).
    #[error("reading the source: {0}")]
    Read(String),
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::dsp::rng::Rng;

    /// A clip read only through [`ClipSource`], keeping the largest read, or failing every read.
    struct Watched {
        clip: Clip,
        largest: AtomicUsize,
        broken: bool,
    }

    impl Watched {
        fn new(clip: Clip) -> Self {
            Self { clip, largest: AtomicUsize::new(0), broken: false }
        }
    }

    impl ClipSource for Watched {
        fn len(&self) -> usize {
            self.clip.len()
        }

        fn channel_count(&self) -> usize {
            self.clip.channels.len()
        }

        fn read(&self, start: usize, len: usize) -> Result<Clip, TextureError> {
            if self.broken {
                return Err(TextureError::Read("the disk went away".to_string()));
            }
            self.largest.fetch_max(len, Ordering::Relaxed);
            ClipSource::read(&self.clip, start, len)
        }
    }

    /// 90 s of a slowly beating stereo chord with a little noise: every category finds
    /// something in it.
    fn long_stereo() -> Clip {
        let sr = f64::from(OUTPUT_RATE_HZ);
        let mut rng = Rng::new(5);
        let n = 90 * OUTPUT_RATE_HZ as usize;
        let channel = |detune: f64, rng: &mut Rng| -> Vec<f32> {
            (0..n)
                .map(|i| {
                    let t = i as f64 / sr;
                    let chord: f64 = [220.0, 277.2, 329.6]
                        .iter()
                        .map(|f| (std::f64::consts::TAU * f * detune * t).sin())
                        .sum::<f64>();
                    (0.02 * chord * (1.0 + 0.3 * (0.2 * t).sin()) + 0.002 * rng.normal()) as f32
                })
                .collect()
        };
        Clip { channels: vec![channel(1.0, &mut rng), channel(1.002, &mut rng)] }
    }

    /// Mining reads a long source in blocks and windows, never whole, and makes exactly what
    /// it makes from the clip in memory.
    #[test]
    fn a_long_source_is_mined_by_position_with_the_same_results() {
        let clip = long_stereo();
        let drone_settings = drones::DroneSettings::default();
        // The drones' window: the longest loop or swell over the slowest stretch, plus margins.
        let drone_window = 10 * MIXDOWN_BLOCK;
        let cloud_settings = clouds::CloudSettings { clouds_per_source: 1, ..clouds::CloudSettings::default() };
        let pad_settings = pads::PadSettings::default();
        let longest_pad = pad_settings.target_durations_s.iter().fold(0.0f64, |m, &d| m.max(d));
        let pad_limit = ((longest_pad * f64::from(OUTPUT_RATE_HZ)) as usize).max(MIXDOWN_BLOCK);

        let watched = Watched::new(clip.clone());
        let pads = pads::mine_pads(&watched, &pad_settings).expect("reads");
        assert!(!pads.pads.is_empty(), "{:?}", pads.rejected);
        assert_eq!(pads, pads::mine_pads(&clip, &pad_settings).expect("reads"));
        assert!(watched.largest.load(Ordering::Relaxed) <= pad_limit);

        let watched = Watched::new(clip.clone());
        let drones = drones::make_drones(&watched, &drone_settings);
        assert!(drones.iter().any(Result::is_ok));
        assert_eq!(drones, drones::make_drones(&clip, &drone_settings));
        assert!(watched.largest.load(Ordering::Relaxed) <= drone_window);

        let watched = Watched::new(clip.clone());
        let cloud = clouds::make_cloud(&watched, &cloud_settings, 4).expect("a cloud");
        assert_eq!(cloud, clouds::make_cloud(&clip, &cloud_settings, 4).expect("a cloud"));
        assert_eq!(cloud.0.channels.len(), 2);
        assert!(watched.largest.load(Ordering::Relaxed) <= MIXDOWN_BLOCK);

        let hiss_settings = hiss::HissSettings::default();
        let watched = Watched::new(clip.clone());
        let made = hiss::make_hiss(Some(&watched), &hiss_settings, 8);
        assert_eq!(made, hiss::make_hiss(Some(&clip), &hiss_settings, 8));
        assert!(watched.largest.load(Ordering::Relaxed) < clip.len() / 10);
    }

    /// A source that cannot be read is a read error from every category, never an empty result.
    #[test]
    fn an_unreadable_source_is_a_read_error_everywhere() {
        let broken = Watched { broken: true, ..Watched::new(long_stereo()) };
        let is_read = |e: &TextureError| matches!(e, TextureError::Read(m) if m.contains("disk went away"));
        assert!(pads::mine_pads(&broken, &pads::PadSettings::default()).is_err_and(|e| is_read(&e)));
        assert!(clouds::CloudSource::new(&broken).is_err_and(|e| is_read(&e)));
        let drones = drones::make_drones(&broken, &drones::DroneSettings::default());
        assert!(!drones.is_empty() && drones.iter().all(|r| r.as_ref().is_err_and(is_read)));
        let hiss = hiss::make_hiss(Some(&broken), &hiss::HissSettings::default(), 1);
        assert!(hiss.iter().all(|r| r.as_ref().is_err_and(is_read)));
    }

    #[test]
    fn a_clip_reads_its_windows_and_refuses_past_the_end() {
        let clip = Clip { channels: vec![vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.0]] };
        assert_eq!(ClipSource::read(&clip, 1, 2), Ok(Clip { channels: vec![vec![2.0, 3.0], vec![5.0, 6.0]] }));
        assert!(matches!(ClipSource::read(&clip, 2, 2), Err(TextureError::Read(_))));
        assert!(matches!(ClipSource::read(&clip, usize::MAX, 2), Err(TextureError::Read(_))));
        assert_eq!(clip.clone().into_mixdown(), vec![2.5, 3.5, 4.5]);
        assert_eq!(Clip::mono(vec![7.0]).into_mixdown(), vec![7.0]);
    }
}
