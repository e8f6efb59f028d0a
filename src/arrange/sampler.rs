//! The sampler module (the seed's `ClipSampler`): plays a window of a clip at a pitch, with
//! velocity-shaped level and start, and velocity layers blended across their boundaries.
//!
//! On each note, per layer (one clip each):
//! - window: `frames = max(1, round(length_percent/100 · N))`, `start = round(s · (N − frames))`
//!   with `s = clamp(start_percent/100 + (1 − v/127)·velocity_start_offset_percent/100 +
//!   layer start_offset_percent/100, 0, 1)` — soft hits start later by the velocity offset;
//! - rate: `2^((note − root_note + semitones)/12)` source samples per output sample, read with
//!   linear interpolation (the last frame of the window is held; a looping window wraps to its
//!   start); the position is computed in closed form from the last event, so block size never
//!   changes a bit, and accumulated sample by sample only while `semitones` glides;
//! - level: `amplitude · (min·(1 − v/127) + max·v/127)` between `velocity_amplitude_min/max`.
//!
//! Layer weights (DOMAIN §E, as the seed computes them): a layer whose `[min_velocity,
//! max_velocity]` holds `v` weighs 1; outside, `1 − distance/width` (0 beyond the width), with
//! `width = velocity_crossfade_width`; the two heaviest are kept (ties: the lower layer first)
//! and normalised to sum 1. Width 0, or no layer within reach, plays only the first layer that
//! holds `v` (else the last). Each kept layer sounds at `weight · amplitude_scale` — so the tail
//! of the quieter layer survives a hard hit. (The seed instead scales the whole blend by the
//! weighted mean of the scales; per layer is what the name promises and equal for one layer.)
//!
//! `retrigger` (default on) restarts the window on every note; off, a note that arrives while
//! the clip still plays only changes its pitch and level (legato). Windows, layers and velocity
//! settings are read when a note starts. Without notes the clip starts once at sample 0 at
//! velocity 127 (with `loop`, a drone).

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

/// A clip's samples kept elsewhere (a long source's decode in temporary files), read by
/// position. The sampler reads it through one window of [`PAGE`] samples per layer and
/// channel, so a clip of any length costs a few pages of memory.
pub trait ClipReader: Send + Sync {
    /// Samples per channel.
    fn len(&self) -> usize;

    /// Whether there is no sample.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Channels (1 or 2 for a clip).
    fn channel_count(&self) -> usize;

    /// Samples `start .. start + out.len()` of `channel`, which lie inside the clip; the error
    /// names the source and what failed.
    fn read(&self, channel: usize, start: usize, out: &mut [f32]) -> Result<(), String>;
}

/// Samples a reader-backed clip reads at once (64 KiB per channel), and the longest voice window
/// that is read whole, so a loop shorter than this never reads again while it wraps.
pub const PAGE: usize = 16_384;

/// Where a clip's samples are.
#[derive(Clone)]
enum Frames {
    /// Planar channels in memory (shared: a clone costs nothing).
    Memory(Arc<[Vec<f32>]>),
    /// Read by position, a page at a time.
    Reader(Arc<dyn ClipReader>),
}

/// A clip at the project rate: one or two channels of equal length, at least one frame; in
/// memory or read by position ([`Clip::from_reader`]). Both give the same samples.
#[derive(Clone)]
pub struct Clip {
    frames: Frames,
    len: usize,
    channels: usize,
}

impl fmt::Debug for Clip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if matches!(self.frames, Frames::Memory(_)) { "memory" } else { "reader" };
        write!(f, "Clip({} × {} samples, {at})", self.channels, self.len)
    }
}

/// Why audio cannot be a clip.
#[derive(Debug, Clone, PartialEq)]
pub enum ClipError {
    Empty,
    Channels(usize),
    Ragged,
    Resample(String),
}

impl fmt::Display for ClipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClipError::Empty => write!(f, "the clip has no samples"),
            ClipError::Channels(n) => write!(f, "a clip has 1 or 2 channels, this one has {n} (mix it down first)"),
            ClipError::Ragged => write!(f, "the clip's channels have different lengths"),
            ClipError::Resample(e) => write!(f, "resampling the clip: {e}"),
        }
    }
}

impl std::error::Error for ClipError {}

impl Clip {
    /// A clip from planar channels at the project rate; non-finite samples become 0.
    pub fn new(mut channels: Vec<Vec<f32>>) -> Result<Clip, ClipError> {
        if channels.is_empty() || channels.len() > 2 {
            return Err(ClipError::Channels(channels.len()));
        }
        if channels.iter().any(|c| c.len() != channels[0].len()) {
            return Err(ClipError::Ragged);
        }
        if channels[0].is_empty() {
            return Err(ClipError::Empty);
        }
        for c in &mut channels {
            sanitize(c);
        }
        let (len, count) = (channels[0].len(), channels.len());
        Ok(Clip { frames: Frames::Memory(channels.into()), len, channels: count })
    }

    /// A clip read by position from `reader` (its non-finite samples read as 0, as with
    /// [`Clip::new`]); a failed read fails the render that made it
    /// ([`super::render::render_stem_into`]).
    pub fn from_reader(reader: Arc<dyn ClipReader>) -> Result<Clip, ClipError> {
        let (len, count) = (reader.len(), reader.channel_count());
        if count == 0 || count > 2 {
            return Err(ClipError::Channels(count));
        }
        if len == 0 {
            return Err(ClipError::Empty);
        }
        Ok(Clip { frames: Frames::Reader(reader), len, channels: count })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    pub fn is_stereo(&self) -> bool {
        self.channels == 2
    }
}

/// Non-finite samples become 0.
fn sanitize(samples: &mut [f32]) {
    for v in samples.iter_mut().filter(|v| !v.is_finite()) {
        *v = 0.0;
    }
}

/// One velocity layer (its clip is the sampler's clip of the same index).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Layer {
    pub min_velocity: u8,
    pub max_velocity: u8,
    pub amplitude_scale: f64,
    pub start_offset_percent: f64,
}

impl Layer {
    fn contains(&self, v: u8) -> bool {
        self.min_velocity <= v && v <= self.max_velocity
    }
}

/// `(layer index, weight)` of the layers that sound for velocity `v`, heaviest first, summing
/// to 1 (see the module docs). `layers` must be non-empty.
///
/// ```
/// use ntsbuild::arrange::sampler::{layer_weights, Layer};
/// let l = |min, max| Layer { min_velocity: min, max_velocity: max, amplitude_scale: 1.0, start_offset_percent: 0.0 };
/// let layers = [l(1, 64), l(65, 104), l(105, 127)];
/// // v = 100 sits in the middle layer; the bold layer is 5 steps away: 1 − 5/12.
/// let w = layer_weights(&layers, 100, 12.0);
/// assert_eq!(w[0].0, 1);
/// assert!((w[0].1 - 1.0 / (1.0 + 7.0 / 12.0)).abs() < 1e-12);
/// assert_eq!(w[1].0, 2);
/// ```
pub fn layer_weights(layers: &[Layer], v: u8, width: f64) -> Vec<(usize, f64)> {
    let primary = layers.iter().position(|l| l.contains(v)).unwrap_or(layers.len().saturating_sub(1));
    if width <= 0.0 || !width.is_finite() {
        return vec![(primary, 1.0)];
    }
    let mut candidates: Vec<(usize, f64)> = layers
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let delta = if l.contains(v) {
                0.0
            } else if v < l.min_velocity {
                f64::from(l.min_velocity - v)
            } else {
                f64::from(v - l.max_velocity)
            };
            let w = if delta > width { 0.0 } else { (1.0 - delta / width).max(0.0) };
            (w > 0.0).then_some((i, w))
        })
        .collect();
    if candidates.is_empty() {
        return vec![(primary, 1.0)];
    }
    // Stable: equal weights keep the lower layer first.
    candidates.sort_by(|a, b| b.1.total_cmp(&a.1));
    candidates.truncate(2);
    let total: f64 = candidates.iter().map(|c| c.1).sum();
    candidates.into_iter().map(|(i, w)| (i, w / total)).collect()
}

/// Sampler families: default crossfade width, velocity gains and layer splits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Family {
    None,
    Strings,
    Keys,
    Plucked,
    Vocal,
}

impl Family {
    /// Recipe names (index = the `instrument_family` parameter's value).
    pub const NAMES: [&'static str; 5] = ["none", "strings", "keys", "plucked", "vocal"];

    pub fn from_index(i: usize) -> Family {
        match i {
            1 => Family::Strings,
            2 => Family::Keys,
            3 => Family::Plucked,
            4 => Family::Vocal,
            _ => Family::None,
        }
    }

    /// The family a recipe word names (the seed's aliases: `pads`, `organ`, `guitar`, `choir`…).
    pub fn parse(word: &str) -> Option<Family> {
        Some(match word.trim().to_ascii_lowercase().as_str() {
            "none" => Family::None,
            "strings" | "string" | "pad" | "pads" | "string_section" => Family::Strings,
            "keys" | "keyboard" | "ep" | "organ" => Family::Keys,
            "plucked" | "pluck" | "guitar" | "strum" => Family::Plucked,
            "vocal" | "vox" | "choir" | "voice" | "gospel" => Family::Vocal,
            _ => return None,
        })
    }

    /// Default `velocity_crossfade_width`: strings/pads 12, keys 8, plucked 6, vocal 10.
    pub fn crossfade_width(self) -> Option<f64> {
        match self {
            Family::None => None,
            Family::Strings => Some(12.0),
            Family::Keys => Some(8.0),
            Family::Plucked => Some(6.0),
            Family::Vocal => Some(10.0),
        }
    }

    /// Default `(velocity_amplitude_min, velocity_amplitude_max)` where the family has its own
    /// (vocal: 0.48, 1.05).
    pub fn velocity_amplitudes(self) -> Option<(f64, f64)> {
        (self == Family::Vocal).then_some((0.48, 1.05))
    }

    /// Velocity ranges for `n` layers without their own: the seed's splits for 2 or 3 layers
    /// (strings soft 1–64 / body 65–104 / bold 105–127; keys 1–54 / 55–100 / 101–127; plucked
    /// bold from 97, split below at 53; vocal as strings), else an even split of 1–127.
    pub fn splits(self, n: usize) -> Vec<(u8, u8)> {
        let three = match self {
            Family::Strings | Family::Vocal => Some([64, 104]),
            Family::Keys => Some([54, 100]),
            Family::Plucked => Some([52, 96]),
            Family::None => None,
        };
        match (three, n) {
            (_, 1) => vec![(1, 127)],
            (Some([_, b]), 2) => vec![(1, b), (b + 1, 127)],
            (Some([a, b]), 3) => vec![(1, a), (a + 1, b), (b + 1, 127)],
            _ => even_splits(n),
        }
    }
}

/// `n` contiguous ranges covering 1–127 as evenly as whole velocities allow.
fn even_splits(n: usize) -> Vec<(u8, u8)> {
    let n = n.clamp(1, 127);
    (0..n).map(|i| ((1 + 127 * i / n) as u8, (127 * (i + 1) / n) as u8)).collect()
}

/// Everything the sampler reads when a note starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TriggerSettings {
    pub start_percent: f64,
    pub length_percent: f64,
    pub root_note: f64,
    pub retrigger: bool,
    pub looped: bool,
    pub velocity_amplitude_min: f64,
    pub velocity_amplitude_max: f64,
    pub velocity_start_offset_percent: f64,
    pub velocity_crossfade_width: f64,
}

/// One sounding layer.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Voice {
    layer: usize,
    /// `weight · amplitude_scale`.
    gain: f64,
    start: usize,
    end: usize,
    /// Position (source frames) at the motion's `anchor`.
    pos: f64,
}

/// How every voice moves: from its `pos` at sample `anchor`, `rate` source frames per sample,
/// wrapping within its window when `looped`.
#[derive(Debug, Clone, Copy)]
struct Motion {
    looped: bool,
    anchor: usize,
    rate: f64,
}

impl Motion {
    #[inline(always)]
    fn position_at(&self, v: &Voice, n: usize) -> f64 {
        let p = v.pos + (n - self.anchor) as f64 * self.rate;
        if self.looped && p >= v.end as f64 {
            let len = (v.end - v.start) as f64;
            let rel = p - v.start as f64;
            // rel ≥ 0 here, so truncation is floor.
            v.start as f64 + (rel - ((rel / len) as u64) as f64 * len)
        } else {
            p
        }
    }
}

/// The samples of one channel of a reader-backed clip that were read last.
#[derive(Debug, Clone, Default)]
struct Page {
    start: usize,
    samples: Vec<f32>,
}

/// The sampler module's state over its clips and layers.
#[derive(Debug, Clone)]
pub struct Sampler<'a> {
    clips: &'a [Clip],
    layers: Vec<Layer>,
    voices: Vec<Voice>,
    motion: Motion,
    /// `velocity gain` of the current note (times `amplitude` per sample).
    velocity_gain: f64,
    /// Pitch of the current note relative to the root, semitones.
    note_offset: f64,
    /// Per layer and clip channel, the page of a reader-backed clip read last.
    pages: Vec<[Page; 2]>,
    /// The first read of a reader-backed clip that failed (its samples played as silence).
    failure: Option<String>,
    /// Per-sample rates and gains of a glide (reused).
    glide: (Vec<f64>, Vec<f64>),
}

/// Source rate for a pitch offset in semitones.
#[inline]
pub fn rate_of(semitones: f64) -> f64 {
    (semitones / 12.0).exp2()
}

/// Where the inner loops read a clip channel's samples by index.
trait Samples {
    fn at(&mut self, i: usize) -> f32;
}

impl Samples for &[f32] {
    #[inline(always)]
    fn at(&mut self, i: usize) -> f32 {
        self[i]
    }
}

/// One channel of a reader-backed clip, seen through its page.
struct Paged<'s> {
    page: &'s mut Page,
    reader: &'s dyn ClipReader,
    channel: usize,
    /// The voice's window `[start, end)`, read whole when it is at most a page.
    window: (usize, usize),
    failure: &'s mut Option<String>,
}

impl Samples for Paged<'_> {
    #[inline(always)]
    fn at(&mut self, i: usize) -> f32 {
        match self.page.samples.get(i.wrapping_sub(self.page.start)) {
            Some(&x) => x,
            None => self.turn(i),
        }
    }
}

impl Paged<'_> {
    /// Reads the page holding `i`: the voice's whole window when it is short (a loop then wraps
    /// within it), else `PAGE` samples from `i` (voices only move forward between notes). A
    /// failed read is recorded and plays as silence.
    #[cold]
    #[inline(never)]
    fn turn(&mut self, i: usize) -> f32 {
        let (a, b) = self.window;
        let (start, end) = if b - a <= PAGE && (a..b).contains(&i) {
            (a, b)
        } else {
            (i, i.saturating_add(PAGE).min(self.reader.len()))
        };
        let end = end.max(i + 1);
        self.page.start = start;
        self.page.samples.clear();
        self.page.samples.resize(end - start, 0.0);
        match self.reader.read(self.channel, start, &mut self.page.samples) {
            Ok(()) => sanitize(&mut self.page.samples),
            Err(e) => {
                self.page.samples.fill(0.0);
                self.failure.get_or_insert(e);
            }
        }
        self.page.samples[i - start]
    }
}

/// Linear interpolation at position `p` inside the window (0 past a non-looping end).
#[inline(always)]
fn interpolate(src: &mut impl Samples, v: &Voice, looped: bool, p: f64) -> f64 {
    if p >= v.end as f64 || p < 0.0 {
        return 0.0;
    }
    let i = p as usize;
    let frac = p - i as f64;
    let a = f64::from(src.at(i));
    let next = if i + 1 < v.end {
        i + 1
    } else if looped {
        v.start
    } else {
        i
    };
    a + (f64::from(src.at(next)) - a) * frac
}

/// Adds voice `v` at gain `g` for samples `start..start + buf.len()` at a constant rate.
#[inline(always)]
fn fill_voice(src: &mut impl Samples, v: &Voice, m: Motion, buf: &mut [f64], start: usize, g: f64) {
    if m.looped {
        for (i, y) in buf.iter_mut().enumerate() {
            let p = m.position_at(v, start + i);
            *y += g * interpolate(src, v, true, p);
        }
        return;
    }
    // `position_at` without a loop, the sample offset counted in f64 (exact below 2^53). The
    // position only grows, so the window's end ends the run.
    let end = v.end as f64;
    let mut k = (start - m.anchor) as f64;
    for y in buf.iter_mut() {
        let p = v.pos + k * m.rate;
        if p >= end {
            break;
        }
        *y += g * interpolate(src, v, false, p);
        k += 1.0;
    }
}

/// Adds voice `v` from position `p` with per-sample `rates` and `gains` (a glide); returns the
/// position after the last sample.
#[inline(always)]
fn glide_voice(
    src: &mut impl Samples,
    v: &Voice,
    looped: bool,
    mut p: f64,
    rates: &[f64],
    gains: &[f64],
    buf: &mut [f64],
) -> f64 {
    for ((y, &rate), &gain) in buf.iter_mut().zip(rates).zip(gains) {
        *y += gain * v.gain * interpolate(src, v, looped, p);
        p += rate;
        if looped && p >= v.end as f64 {
            p -= (v.end - v.start) as f64;
        }
    }
    p
}

/// Runs `$body` with `$src` bound to channel `$ch` of voice `$v`'s clip (a mono clip's one
/// channel for either), read from memory or through the voice's page.
macro_rules! with_samples {
    ($self:ident, $v:expr, $ch:expr, |$src:ident| $body:expr) => {{
        let clip = &$self.clips[$v.layer];
        let c = $ch.min(clip.channels - 1);
        match &clip.frames {
            Frames::Memory(channels) => {
                let mut $src: &[f32] = &channels[c];
                $body
            }
            Frames::Reader(reader) => {
                let mut $src = Paged {
                    page: &mut $self.pages[$v.layer][c],
                    reader: &**reader,
                    channel: c,
                    window: ($v.start, $v.end),
                    failure: &mut $self.failure,
                };
                $body
            }
        }
    }};
}

impl<'a> Sampler<'a> {
    /// A silent sampler over `clips[i]` played as `layers[i]` (the shorter list wins).
    pub fn new(clips: &'a [Clip], layers: &[Layer]) -> Sampler<'a> {
        let n = clips.len().min(layers.len());
        Sampler {
            clips: &clips[..n],
            layers: layers[..n].to_vec(),
            voices: Vec::new(),
            motion: Motion { looped: false, anchor: 0, rate: 1.0 },
            velocity_gain: 0.0,
            note_offset: 0.0,
            pages: vec![Default::default(); n],
            failure: None,
            glide: (Vec::new(), Vec::new()),
        }
    }

    /// Whether any clip has two channels (the sampler then renders stereo).
    pub fn is_stereo(&self) -> bool {
        self.clips.iter().any(Clip::is_stereo)
    }

    /// The first failed read of a reader-backed clip, if any: what was rendered since is not
    /// the clip's sound.
    pub fn read_failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// Whether nothing sounds until the next note.
    pub fn is_silent(&self, n: usize) -> bool {
        self.voices.is_empty()
            || (!self.motion.looped && self.voices.iter().all(|v| self.motion.position_at(v, n) >= v.end as f64))
    }

    /// Re-anchor every voice at sample `n` with a new rate.
    pub fn set_rate(&mut self, n: usize, rate: f64) {
        for i in 0..self.voices.len() {
            let p = self.motion.position_at(&self.voices[i], n);
            self.voices[i].pos = p;
        }
        self.motion.anchor = n;
        self.motion.rate = if rate.is_finite() && rate > 0.0 { rate } else { 1.0 };
    }

    /// The pitch offset (note − root) of the current note, semitones.
    pub fn note_offset(&self) -> f64 {
        self.note_offset
    }

    /// A note at sample `n`: velocity 1–127, pitch as a MIDI number; `semitones` is the
    /// parameter's value at `n`.
    pub fn note_on(&mut self, n: usize, pitch: u8, velocity: u8, semitones: f64, s: &TriggerSettings) {
        let v = velocity.clamp(1, 127);
        let vn = f64::from(v) / 127.0;
        self.velocity_gain = (s.velocity_amplitude_min * (1.0 - vn) + s.velocity_amplitude_max * vn).max(0.0);
        self.note_offset = f64::from(pitch) - s.root_note;
        let playing = !self.is_silent(n);
        self.motion.looped = s.looped;
        if s.retrigger || !playing {
            let offset = (1.0 - vn) * s.velocity_start_offset_percent / 100.0;
            let weights = if self.layers.is_empty() {
                Vec::new()
            } else {
                layer_weights(&self.layers, v, s.velocity_crossfade_width)
            };
            self.voices = weights
                .into_iter()
                .map(|(i, w)| {
                    let layer = &self.layers[i];
                    let total = self.clips[i].len();
                    let frames = ((s.length_percent / 100.0).clamp(0.0, 1.0) * total as f64).round().max(1.0) as usize;
                    let frames = frames.min(total);
                    let max_start = total - frames;
                    let at = (s.start_percent / 100.0 + offset + layer.start_offset_percent / 100.0).clamp(0.0, 1.0);
                    let start = ((at * max_start as f64).round() as usize).min(max_start);
                    Voice { layer: i, gain: w * layer.amplitude_scale, start, end: start + frames, pos: start as f64 }
                })
                .collect();
            self.motion.anchor = n;
        }
        self.set_rate(n, rate_of(self.note_offset + semitones));
    }

    /// Add the sampler's output for samples `start..start + len` into `out` (1 or 2 channels),
    /// at a constant rate and `amplitude`.
    #[inline(always)]
    pub fn fill(&mut self, out: &mut [&mut [f64]], start: usize, amplitude: f64) {
        let g0 = amplitude * self.velocity_gain;
        let m = self.motion;
        for k in 0..self.voices.len() {
            let v = self.voices[k];
            let g = g0 * v.gain;
            for (ch, buf) in out.iter_mut().enumerate() {
                with_samples!(self, v, ch, |src| fill_voice(&mut src, &v, m, buf, start, g));
            }
        }
    }

    /// Like [`Sampler::fill`] with a per-sample rate and amplitude (a glide): positions are
    /// accumulated and re-anchored at the end. The caller must process glide samples
    /// contiguously.
    #[inline]
    pub fn fill_varying(
        &mut self,
        out: &mut [&mut [f64]],
        start: usize,
        rate: impl Fn(usize) -> f64,
        amplitude: impl Fn(usize) -> f64,
    ) {
        let len = out.first().map_or(0, |b| b.len());
        let (mut rates, mut gains) = std::mem::take(&mut self.glide);
        rates.clear();
        rates.extend((start..start + len).map(&rate));
        gains.clear();
        gains.extend((start..start + len).map(|n| amplitude(n) * self.velocity_gain));
        let looped = self.motion.looped;
        for k in 0..self.voices.len() {
            let v = self.voices[k];
            let from = self.motion.position_at(&v, start);
            let mut to = from;
            for (ch, buf) in out.iter_mut().enumerate() {
                to = with_samples!(self, v, ch, |src| glide_voice(&mut src, &v, looped, from, &rates, &gains, buf));
            }
            self.voices[k].pos = to;
        }
        self.motion.anchor = start + len;
        if let Some(&last) = rates.last() {
            self.motion.rate = last;
        }
        self.glide = (rates, gains);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SR: f64 = 48_000.0;

    fn layer(min: u8, max: u8) -> Layer {
        Layer { min_velocity: min, max_velocity: max, amplitude_scale: 1.0, start_offset_percent: 0.0 }
    }

    fn settings() -> TriggerSettings {
        TriggerSettings {
            start_percent: 0.0,
            length_percent: 100.0,
            root_note: 60.0,
            retrigger: true,
            looped: false,
            velocity_amplitude_min: 0.35,
            velocity_amplitude_max: 1.0,
            velocity_start_offset_percent: 0.0,
            velocity_crossfade_width: 0.0,
        }
    }

    fn sine_clip(f: f64, seconds: f64) -> Clip {
        let n = (seconds * SR) as usize;
        Clip::new(vec![(0..n).map(|i| (std::f64::consts::TAU * f * i as f64 / SR).sin() as f32).collect()]).unwrap()
    }

    fn play(clips: &[Clip], layers: &[Layer], s: &TriggerSettings, pitch: u8, velocity: u8, len: usize) -> Vec<f64> {
        let mut sampler = Sampler::new(clips, layers);
        sampler.note_on(0, pitch, velocity, 0.0, s);
        let mut out = vec![0.0; len];
        sampler.fill(&mut [&mut out], 0, 1.0);
        out
    }

    /// Frequency from the times of rising zero crossings (linear interpolation), first to last.
    fn frequency(x: &[f64]) -> f64 {
        let mut times = Vec::new();
        for i in 1..x.len() {
            if x[i - 1] < 0.0 && x[i] >= 0.0 {
                times.push(i as f64 - 1.0 + x[i - 1] / (x[i - 1] - x[i]));
            }
        }
        let (first, last) = (times[0], times[times.len() - 1]);
        (times.len() - 1) as f64 * SR / (last - first)
    }

    fn cents(f: f64, want: f64) -> f64 {
        1200.0 * (f / want).log2()
    }

    #[test]
    fn pitch_is_within_one_cent() {
        let clip = [sine_clip(440.0, 4.0)];
        let layers = [layer(1, 127)];
        for (pitch, semitones) in [(60u8, 0.0), (67, 0.0), (55, 0.0), (60, 7.0), (72, -3.5), (48, 0.25)] {
            let mut sampler = Sampler::new(&clip, &layers);
            sampler.note_on(0, pitch, 127, semitones, &settings());
            let mut out = vec![0.0; 48_000];
            sampler.fill(&mut [&mut out], 0, 1.0);
            let st = f64::from(pitch) - 60.0 + semitones;
            let want = 440.0 * rate_of(st);
            let c = cents(frequency(&out), want);
            assert!(c.abs() < 1.0, "pitch {pitch} {semitones:+} st: {c:.3} cents");
        }
    }

    #[test]
    fn velocity_sets_level_between_min_and_max() {
        let clip = [Clip::new(vec![vec![1.0; 100]]).unwrap()];
        let layers = [layer(1, 127)];
        for (v, want) in [(127u8, 1.0), (1, 0.35 + 0.65 / 127.0), (64, 0.35 * (63.0 / 127.0) + 64.0 / 127.0)] {
            let out = play(&clip, &layers, &settings(), 60, v, 10);
            assert!((out[5] - want).abs() < 1e-12, "v {v}: {}", out[5]);
        }
    }

    #[test]
    fn window_and_velocity_start_offset() {
        // A ramp clip: value = frame index / 1000.
        let ramp: Vec<f32> = (0..1000).map(|i| i as f32 / 1000.0).collect();
        let clip = [Clip::new(vec![ramp]).unwrap()];
        let layers = [layer(1, 127)];
        let s = TriggerSettings { start_percent: 50.0, length_percent: 20.0, ..settings() };
        // 200 frames, max start 800, start = round(0.5·800) = 400.
        let out = play(&clip, &layers, &s, 60, 127, 300);
        assert!((out[0] - 0.4).abs() < 1e-6);
        assert!((out[199] - 0.599).abs() < 1e-6);
        assert_eq!(out[200], 0.0, "the window ends after 200 frames");
        // A soft hit starts later by (1 − v/127)·offset.
        let soft = TriggerSettings { velocity_start_offset_percent: 25.0, ..s };
        let out = play(&clip, &layers, &soft, 60, 1, 10);
        let at = 0.5 + (1.0 - 1.0 / 127.0) * 0.25;
        let start = (at * 800.0_f64).round() / 1000.0;
        let gain = 0.35 * (126.0 / 127.0) + 1.0 / 127.0;
        assert!((out[0] / gain - start).abs() < 1e-6, "{}", out[0] / gain);
    }

    #[test]
    fn looping_wraps_and_retrigger_restarts() {
        let clip = [Clip::new(vec![vec![0.0, 1.0, 2.0, 3.0]]).unwrap()];
        let layers = [layer(1, 127)];
        let s = TriggerSettings { looped: true, velocity_amplitude_min: 1.0, ..settings() };
        let out = play(&clip, &layers, &s, 60, 127, 10);
        assert_eq!(out, vec![0.0, 1.0, 2.0, 3.0, 0.0, 1.0, 2.0, 3.0, 0.0, 1.0]);
        // Half speed interpolates, and wraps from the last frame toward the first.
        let out = play(&clip, &layers, &s, 48, 127, 9);
        assert_eq!(out, vec![0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 1.5, 0.0]);
        // Legato (retrigger off): a second note while playing keeps the position.
        let mut sampler = Sampler::new(&clip, &layers);
        let legato = TriggerSettings { retrigger: false, ..s };
        sampler.note_on(0, 60, 127, 0.0, &legato);
        sampler.note_on(2, 60, 127, 0.0, &legato);
        let mut out = vec![0.0; 4];
        sampler.fill(&mut [&mut out], 2, 1.0);
        assert_eq!(out, vec![2.0, 3.0, 0.0, 1.0]);
        // With retrigger a note restarts the window.
        sampler.note_on(2, 60, 127, 0.0, &s);
        let mut out = vec![0.0; 2];
        sampler.fill(&mut [&mut out], 2, 1.0);
        assert_eq!(out, vec![0.0, 1.0]);
    }

    #[test]
    fn layer_weights_follow_the_seed() {
        let layers = [layer(1, 64), layer(65, 104), layer(105, 127)];
        // Inside one layer with nothing in reach: that layer alone.
        assert_eq!(layer_weights(&layers, 30, 12.0), vec![(0, 1.0)]);
        // v = 110 in the bold layer; the body layer is 6 away: weights 1 and 0.5, normalised.
        let w = layer_weights(&layers, 110, 12.0);
        assert_eq!(w.len(), 2);
        assert_eq!((w[0].0, w[1].0), (2, 1));
        assert!((w[0].1 - 2.0 / 3.0).abs() < 1e-12 && (w[1].1 - 1.0 / 3.0).abs() < 1e-12);
        // Width 0 plays the layer holding v.
        assert_eq!(layer_weights(&layers, 110, 0.0), vec![(2, 1.0)]);
        // On a boundary both neighbours are close: 64 is in the soft layer, 1 from the body.
        let w = layer_weights(&layers, 64, 8.0);
        assert_eq!((w[0].0, w[1].0), (0, 1));
        assert!((w[1].1 - (7.0 / 8.0) / (1.0 + 7.0 / 8.0)).abs() < 1e-12);
        // Only the two heaviest of three overlapping layers are kept.
        let overlapping = [layer(1, 127), layer(1, 127), layer(1, 127)];
        assert_eq!(layer_weights(&overlapping, 50, 5.0), vec![(0, 0.5), (1, 0.5)]);
        // A gap with nothing in reach falls back to the first holding layer, else the last.
        let gappy = [layer(1, 10), layer(100, 127)];
        assert_eq!(layer_weights(&gappy, 50, 5.0), vec![(1, 1.0)]);
    }

    #[test]
    fn the_quieter_layers_tail_survives_a_hard_hit() {
        // Soft layer: a long tail of 0.5; bold layer: a short burst of 1.0.
        let soft = Clip::new(vec![vec![0.5; 4800]]).unwrap();
        let bold = Clip::new(vec![vec![1.0; 480]]).unwrap();
        let clips = [soft, bold];
        let layers = [layer(1, 100), layer(101, 127)];
        let s = TriggerSettings { velocity_crossfade_width: 12.0, velocity_amplitude_min: 1.0, ..settings() };
        let out = play(&clips, &layers, &s, 60, 110, 4800);
        // 110 is 10 from the soft layer: weights 1 and 1/6, normalised.
        let (wb, ws) = (1.0 / (1.0 + 1.0 / 6.0), (1.0 / 6.0) / (1.0 + 1.0 / 6.0));
        assert!((out[0] - (wb + 0.5 * ws)).abs() < 1e-12);
        assert!((out[2000] - 0.5 * ws).abs() < 1e-12, "the soft tail rings on: {}", out[2000]);
        let hard = TriggerSettings { velocity_crossfade_width: 0.0, ..s };
        assert_eq!(play(&clips, &layers, &hard, 60, 110, 4800)[2000], 0.0);
    }

    #[test]
    fn family_defaults_and_splits() {
        assert_eq!(Family::parse("Pads"), Some(Family::Strings));
        assert_eq!(Family::parse("organ"), Some(Family::Keys));
        assert_eq!(Family::parse("guitar"), Some(Family::Plucked));
        assert_eq!(Family::parse("kazoo"), None);
        assert_eq!(Family::Strings.crossfade_width(), Some(12.0));
        assert_eq!(Family::Keys.crossfade_width(), Some(8.0));
        assert_eq!(Family::Plucked.crossfade_width(), Some(6.0));
        assert_eq!(Family::Strings.splits(3), vec![(1, 64), (65, 104), (105, 127)]);
        assert_eq!(Family::Keys.splits(3), vec![(1, 54), (55, 100), (101, 127)]);
        assert_eq!(Family::Plucked.splits(2), vec![(1, 96), (97, 127)]);
        for n in 1..=8 {
            let s = Family::None.splits(n);
            assert_eq!(s.len(), n);
            assert_eq!(s[0].0, 1);
            assert_eq!(s[n - 1].1, 127);
            assert!(s.windows(2).all(|w| w[1].0 == w[0].1 + 1));
        }
        for (i, name) in Family::NAMES.iter().enumerate() {
            assert_eq!(Family::parse(name), Some(Family::from_index(i)));
        }
    }

    #[test]
    fn split_fills_match_one_fill_and_glides_accumulate() {
        let clip = [sine_clip(300.0, 1.0)];
        let layers = [layer(1, 127)];
        let mut a = Sampler::new(&clip, &layers);
        a.note_on(0, 62, 90, 0.0, &settings());
        let mut whole = vec![0.0; 5000];
        a.fill(&mut [&mut whole], 0, 0.7);
        let mut parts = vec![0.0; 5000];
        a.fill(&mut [&mut parts[..1234]], 0, 0.7);
        a.fill(&mut [&mut parts[1234..]], 1234, 0.7);
        assert!(whole.iter().zip(&parts).all(|(x, y)| x.to_bits() == y.to_bits()));
        // A glide at a constant rate matches the closed form closely and re-anchors at its end.
        let mut b = Sampler::new(&clip, &layers);
        b.note_on(0, 62, 90, 0.0, &settings());
        let mut glide = vec![0.0; 5000];
        let r = rate_of(2.0);
        b.fill_varying(&mut [&mut glide], 0, |_| r, |_| 0.7);
        assert!(whole.iter().zip(&glide).all(|(x, y)| (x - y).abs() < 1e-9));
        assert!(b.is_silent(48_000 * 2));
    }
}
