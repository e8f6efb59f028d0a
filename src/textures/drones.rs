//! Drones and swells from pad sources (DOMAIN §G "Drones"): pitch-shifted and time-stretched
//! loops, three tonal variants, a reversed loop and fading swells.
//!
//! Pitch shift and time stretch use a librosa-style phase vocoder (`n_fft` 2048, hop 512,
//! periodic Hann, centred frames): magnitudes are interpolated between analysis frames and each
//! bin's phase advances by its expected `2π·k·hop/n_fft` plus the measured deviation, which is
//! the phase change between the two analysis frames; phases are kept as unit phasors, so an
//! advance is a complex product (no arctangent, sine or cosine per bin). Each source
//! channel is analysed once; every (shift, stretch) combination then synthesises only the frames
//! around the middle it keeps, so a 10 s source costs a handful of short inverse FFTs per output.

use std::sync::Arc;

use rayon::prelude::*;
use realfft::ComplexToReal;
use realfft::num_complex::Complex;

use crate::dsp::stft::{shared_forward_f64, shared_inverse_f64};
use crate::dsp::window::hann_periodic;
use crate::dsp::written_zeros;

use super::filter::{Band, butter_zero_phase};
use super::looping::{crossfade_loop, fade_in_out};
use super::{Clip, ClipSource, OUTPUT_RATE_HZ, SILENCE_PEAK, TextureError};

/// Phase-vocoder FFT length in samples.
pub const N_FFT: usize = 2048;
/// Phase-vocoder hop in samples.
pub const HOP: usize = 512;
const N_BINS: usize = N_FFT / 2 + 1;

/// Time-stretch factors accepted by [`time_stretch`] (others are clamped).
pub const MIN_STRETCH: f64 = 0.25;
pub const MAX_STRETCH: f64 = 4.0;
/// Largest pitch shift accepted by [`pitch_shift`], in semitones (larger ones are clamped).
pub const MAX_SHIFT_ST: f64 = 24.0;

/// Extra source samples filtered on each side of a tonal variant's segment, so the zero-phase
/// filter's edge transient falls outside the kept part.
const FILTER_MARGIN: usize = 4096;

/// A tonal variant whose band's typical level is this far below the unfiltered middle's (dB)
/// is not made: the band is empty (a source with nothing above 6 kHz has no airy variant), and
/// normalising it would turn the source's noise floor and any click into a full-scale file.
/// "Typical" is the median rms of 20 ms blocks, so a click does not count as content; 60 dB
/// down is about where 16-bit rounding sits under a −30 dBFS source.
pub const MIN_VARIANT_LEVEL_DB: f64 = -60.0;
/// Block length of the variant level check: 20 ms at 44.1 kHz.
const LEVEL_BLOCK: usize = 882;

/// Half-width of the windowed-sinc resampling kernel, in zero crossings.
const SINC_HALF: usize = 16;

/// Drone settings (DOMAIN §G defaults).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct DroneSettings {
    /// Pitch shifts of the loops, in semitones (default `[0, 7, 12]`).
    pub pitch_shifts_st: Vec<f64>,
    /// Time-stretch factors of the loops and swells; 2 = twice as long (default `[1, 1.5, 2]`).
    pub time_stretches: Vec<f64>,
    /// Loop length, in seconds: the middle of each stretched/shifted source (default 2).
    pub loop_s: f64,
    /// Swell length, in seconds: the middle of each stretched source (default 6).
    pub swell_s: f64,
    /// Swell linear fade-in, in seconds (default 0.5).
    pub swell_fade_in_s: f64,
    /// Swell linear fade-out, in seconds (default 1.5).
    pub swell_fade_out_s: f64,
    /// Make the warm / airy / dark filtered loops (default true).
    pub variants: bool,
    /// Make the reversed loop (default true).
    pub reversed: bool,
    /// Equal-power loop crossfade, in milliseconds (default 100).
    pub crossfade_ms: f64,
}

impl Default for DroneSettings {
    fn default() -> Self {
        Self {
            pitch_shifts_st: vec![0.0, 7.0, 12.0],
            time_stretches: vec![1.0, 1.5, 2.0],
            loop_s: 2.0,
            swell_s: 6.0,
            swell_fade_in_s: 0.5,
            swell_fade_out_s: 1.5,
            variants: true,
            reversed: true,
            crossfade_ms: 100.0,
        }
    }
}

impl DroneSettings {
    /// Checks every field; the message names the first bad one.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(st) = self.pitch_shifts_st.iter().find(|st| !(st.is_finite() && st.abs() <= MAX_SHIFT_ST)) {
            return Err(format!("pitch_shifts_st must be within ±{MAX_SHIFT_ST} semitones (got {st})"));
        }
        if let Some(s) = self.time_stretches.iter().find(|s| !(**s >= MIN_STRETCH && **s <= MAX_STRETCH)) {
            return Err(format!("time_stretches must be in [{MIN_STRETCH}, {MAX_STRETCH}] (got {s})"));
        }
        if !(self.loop_s > 0.0 && self.loop_s <= 60.0) {
            return Err(format!("loop_s must be > 0 and ≤ 60 s (got {})", self.loop_s));
        }
        if !(self.swell_s > 0.0 && self.swell_s <= 600.0) {
            return Err(format!("swell_s must be > 0 and ≤ 600 s (got {})", self.swell_s));
        }
        if !(self.swell_fade_in_s >= 0.0 && self.swell_fade_out_s >= 0.0)
            || self.swell_fade_in_s + self.swell_fade_out_s > self.swell_s
        {
            return Err(format!(
                "swell_fade_in_s and swell_fade_out_s must be ≥ 0 and together ≤ swell_s (got {} and {})",
                self.swell_fade_in_s, self.swell_fade_out_s
            ));
        }
        if !(self.crossfade_ms >= 0.0 && self.crossfade_ms <= self.loop_s * 1000.0) {
            return Err(format!("crossfade_ms must be ≥ 0 and ≤ loop_s (got {})", self.crossfade_ms));
        }
        Ok(())
    }
}

/// The export folder of a drone (`<Source_Name>/pads/` or `<Source_Name>/swells/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DroneCategory {
    Pads,
    Swells,
}

/// One output of [`make_drones`]: the engine names the file `<source>_<name_suffix>.wav`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DronePlanItem {
    pub name_suffix: String,
    pub category: DroneCategory,
}

/// What one plan item is made from.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Recipe {
    Loop { shift_st: f64, stretch: f64 },
    Variant(Variant),
    Reversed,
    Swell { stretch: f64 },
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Variant {
    Warm,
    Airy,
    Dark,
}

impl Variant {
    /// DOMAIN §G: warm = low-pass 3 kHz order 4, airy = high-pass 6 kHz order 4,
    /// dark = low-pass 1.5 kHz order 5.
    fn band_and_order(self) -> (Band, usize) {
        match self {
            Variant::Warm => (Band::Lowpass { cutoff_hz: 3000.0 }, 4),
            Variant::Airy => (Band::Highpass { cutoff_hz: 6000.0 }, 4),
            Variant::Dark => (Band::Lowpass { cutoff_hz: 1500.0 }, 5),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Variant::Warm => "warm",
            Variant::Airy => "airy",
            Variant::Dark => "dark",
        }
    }

    fn band_text(self) -> String {
        match self.band_and_order().0 {
            Band::Lowpass { cutoff_hz } => format!("below {cutoff_hz} Hz"),
            Band::Highpass { cutoff_hz } => format!("above {cutoff_hz} Hz"),
            Band::Bandpass { low_hz, high_hz } => format!("between {low_hz} and {high_hz} Hz"),
        }
    }
}

fn recipes(settings: &DroneSettings) -> Vec<(DronePlanItem, Recipe)> {
    let mut out = Vec::new();
    let pad = |suffix: String| DronePlanItem { name_suffix: suffix, category: DroneCategory::Pads };
    for &shift_st in &settings.pitch_shifts_st {
        for &stretch in &settings.time_stretches {
            let suffix = format!("pad{:02}", out.len() + 1);
            out.push((pad(suffix), Recipe::Loop { shift_st, stretch }));
        }
    }
    if settings.variants {
        for v in [Variant::Warm, Variant::Airy, Variant::Dark] {
            out.push((pad(format!("pad_{}", v.name())), Recipe::Variant(v)));
        }
    }
    if settings.reversed {
        out.push((pad("pad_reversed".to_string()), Recipe::Reversed));
    }
    for (i, &stretch) in settings.time_stretches.iter().enumerate() {
        let item = DronePlanItem { name_suffix: format!("swell{:02}", i + 1), category: DroneCategory::Swells };
        out.push((item, Recipe::Swell { stretch }));
    }
    out
}

/// What [`make_drones`] will return, in order, from the settings alone.
///
/// Naming (the engine writes `<source>_<name_suffix>.wav`, e.g. `organ_pad01.wav`):
/// - `pad01`, `pad02`, … — one loop per (shift, stretch) combination, shift-major: with the
///   defaults `pad01` = 0 st × 1, `pad02` = 0 st × 1.5, `pad03` = 0 st × 2, `pad04` = +7 st × 1,
///   … `pad09` = +12 st × 2;
/// - `pad_warm`, `pad_airy`, `pad_dark` (when `variants`), `pad_reversed` (when `reversed`);
/// - `swell01`, `swell02`, … — one swell per time-stretch factor, in settings order
///   (`swell01` is the unstretched one with the defaults), in the `swells` folder.
pub fn plan_drones(settings: &DroneSettings) -> Vec<DronePlanItem> {
    recipes(settings).into_iter().map(|(item, _)| item).collect()
}

/// One result per plan item, in plan order; an item that cannot be made (source too short,
/// silent result, invalid settings) is `Err`.
///
/// - Loop: the middle `loop_s + crossfade` of the source stretched by `stretch` and shifted by
///   `shift_st`, looped with the equal-power crossfade, so it is exactly `loop_s` long.
///   (0 st, ×1) is the source itself, untouched by the vocoder.
/// - Variants: the unshifted, unstretched middle filtered zero-phase (warm LP 3 kHz order 4,
///   airy HP 6 kHz order 4, dark LP 1.5 kHz order 5) with a margin either side, then looped;
///   `Err(NoCandidate)` when the band holds less than [`MIN_VARIANT_LEVEL_DB`] of the
///   unfiltered middle (an empty band is not a texture).
/// - Reversed: the unshifted, unstretched loop played backwards (still seamless).
/// - Swell: the middle `swell_s` of the source stretched by the factor (unshifted), with linear
///   fades of `swell_fade_in_s` / `swell_fade_out_s`.
///
/// Nothing is normalised (the engine normalises peaks on export).
pub fn make_drones(source: &dyn ClipSource, settings: &DroneSettings) -> Vec<Result<Clip, TextureError>> {
    let plan = recipes(settings);
    if let Err(e) = settings.validate() {
        return plan.iter().map(|_| Err(TextureError::NoCandidate(format!("invalid drone settings: {e}")))).collect();
    }
    // Every drone is read from the middle of the source: only the part around it is read, so
    // a half-hour recording costs what a short one does.
    let window = analysed_window(source.len(), settings);
    let source = match source.read(window.start, window.len()) {
        Ok(clip) => clip,
        Err(e) => return plan.iter().map(|_| Err(e.clone())).collect(),
    };
    let source = &source;
    let vocoder = Vocoder::new();
    let needs_vocoder = plan.iter().any(|(_, r)| match r {
        Recipe::Loop { shift_st, stretch } => *shift_st != 0.0 || *stretch != 1.0,
        Recipe::Swell { stretch } => *stretch != 1.0,
        _ => false,
    });
    let spectra: Vec<Spectrogram> = if needs_vocoder {
        source.channels.par_iter().map(|c| Spectrogram::new(c, &vocoder)).collect()
    } else {
        Vec::new()
    };
    let mut kernels: Vec<(f64, SincKernel)> = Vec::new();
    for &st in &settings.pitch_shifts_st {
        if st != 0.0 && kernels.iter().all(|(seen, _)| *seen != st) {
            kernels.push((st, SincKernel::for_shift(st)));
        }
    }
    let ctx = Context { source, spectra: &spectra, vocoder: &vocoder, kernels: &kernels, settings };
    // Items are independent; each is computed the same way on any thread, so the results do
    // not depend on the thread count.
    plan.par_iter().map(|(_, recipe)| ctx.make(*recipe).and_then(non_silent)).collect()
}

/// Source kept either side of the longest stretch of source a drone reads, in seconds: the
/// vocoder's frames (2048 samples), the resampler's kernel and the filters' margins all stay
/// well inside it.
const WINDOW_MARGIN_S: f64 = 4.0;

/// The centred part of a `len`-sample source that drones are made from: the longest source
/// stretch any recipe reads (a loop or swell length over the smallest time stretch) plus
/// [`WINDOW_MARGIN_S`] either side; the whole source when it is no longer than that. Its middle
/// is the source's middle, so every drone comes from the same place as it would from the whole.
fn analysed_window(len: usize, settings: &DroneSettings) -> std::ops::Range<usize> {
    let fade = seconds_to_samples(settings.crossfade_ms / 1000.0);
    let longest = (seconds_to_samples(settings.loop_s) + fade).max(seconds_to_samples(settings.swell_s));
    let slowest = settings.time_stretches.iter().copied().fold(1.0f64, f64::min).max(MIN_STRETCH);
    let need = (longest as f64 / slowest).ceil() as usize + 2 * seconds_to_samples(WINDOW_MARGIN_S);
    if need >= len {
        return 0..len;
    }
    let start = (len - need) / 2;
    start..start + need
}

fn non_silent(clip: Clip) -> Result<Clip, TextureError> {
    let peak = clip.peak();
    if clip.is_empty() || peak.is_nan() || peak < SILENCE_PEAK { Err(TextureError::Silent { peak }) } else { Ok(clip) }
}

fn seconds_to_samples(s: f64) -> usize {
    (s * f64::from(OUTPUT_RATE_HZ)).round() as usize
}

fn too_short(need: usize, have: usize) -> TextureError {
    let sr = f64::from(OUTPUT_RATE_HZ);
    TextureError::TooShort { need_s: need as f64 / sr, have_s: have as f64 / sr }
}

struct Context<'a> {
    source: &'a Clip,
    spectra: &'a [Spectrogram],
    vocoder: &'a Vocoder,
    /// The resampling kernel of each shift in the settings but 0.
    kernels: &'a [(f64, SincKernel)],
    settings: &'a DroneSettings,
}

impl Context<'_> {
    fn fade(&self) -> usize {
        seconds_to_samples(self.settings.crossfade_ms / 1000.0)
    }

    fn loop_span(&self) -> usize {
        seconds_to_samples(self.settings.loop_s) + self.fade()
    }

    fn make(&self, recipe: Recipe) -> Result<Clip, TextureError> {
        match recipe {
            Recipe::Loop { shift_st, stretch } => {
                let middle = self.middle(self.loop_span(), shift_st, stretch)?;
                crossfade_loop(&middle, self.fade())
            }
            Recipe::Variant(v) => self.variant(v),
            Recipe::Reversed => {
                let middle = self.middle(self.loop_span(), 0.0, 1.0)?;
                let looped = crossfade_loop(&middle, self.fade())?;
                Ok(looped.map_channels(|c| c.iter().rev().copied().collect()))
            }
            Recipe::Swell { stretch } => {
                let mut swell = self.middle(seconds_to_samples(self.settings.swell_s), 0.0, stretch)?;
                let fade_in = seconds_to_samples(self.settings.swell_fade_in_s);
                fade_in_out(&mut swell, fade_in, seconds_to_samples(self.settings.swell_fade_out_s));
                Ok(swell)
            }
        }
    }

    /// The middle `span` samples of the source stretched by `stretch` and shifted by `shift_st`
    /// (output length `round(len·stretch)`).
    fn middle(&self, span: usize, shift_st: f64, stretch: f64) -> Result<Clip, TextureError> {
        let out_len = (self.source.len() as f64 * stretch).round() as usize;
        if span == 0 || out_len < span {
            return Err(too_short(span, out_len));
        }
        let start = (out_len - span) / 2;
        if shift_st == 0.0 && stretch == 1.0 {
            return Ok(self.source.slice(start, start + span));
        }
        let local;
        let kernel = match self.kernels.iter().find(|(st, _)| *st == shift_st) {
            Some((_, kernel)) => Some(kernel),
            None if shift_st == 0.0 => None,
            None => {
                local = SincKernel::for_shift(shift_st);
                Some(&local)
            }
        };
        let channels = self
            .spectra
            .par_iter()
            .map(|spec| shifted_range(spec, self.vocoder, stretch, kernel, start..start + span))
            .collect();
        Ok(Clip { channels })
    }

    /// The unshifted middle, filtered with a margin either side, then looped.
    fn variant(&self, v: Variant) -> Result<Clip, TextureError> {
        let (n, span) = (self.source.len(), self.loop_span());
        if n < span {
            return Err(too_short(span, n));
        }
        let start = (n - span) / 2;
        let lo = start.saturating_sub(FILTER_MARGIN);
        let hi = (start + span + FILTER_MARGIN).min(n);
        let (band, order) = v.band_and_order();
        let mut channels = Vec::with_capacity(self.source.channels.len());
        for c in &self.source.channels {
            let filtered =
                butter_zero_phase(&c[lo..hi], OUTPUT_RATE_HZ, band, order).map_err(TextureError::NoCandidate)?;
            channels.push(filtered[start - lo..start - lo + span].to_vec());
        }
        let filtered = Clip { channels };
        let level_db =
            20.0 * (median_block_rms(&filtered) / median_block_rms(&self.source.slice(start, start + span))).log10();
        if level_db < MIN_VARIANT_LEVEL_DB {
            return Err(TextureError::NoCandidate(format!(
                "the {} variant's band ({}) is empty: {level_db:.0} dB below the source (limit {MIN_VARIANT_LEVEL_DB} dB)",
                v.name(),
                v.band_text()
            )));
        }
        crossfade_loop(&filtered, self.fade())
    }
}

/// Median over [`LEVEL_BLOCK`]-sample blocks of the rms across all channels (the whole clip
/// when shorter than a block).
fn median_block_rms(clip: &Clip) -> f64 {
    let len = clip.len();
    let block = LEVEL_BLOCK.min(len.max(1));
    let mut levels: Vec<f64> = (0..(len / block).max(1))
        .map(|b| {
            let range = b * block..((b + 1) * block).min(len);
            let n = (range.len() * clip.channels.len()).max(1);
            let sum: f64 = clip.channels.iter().flat_map(|c| &c[range.clone()]).map(|&x| f64::from(x).powi(2)).sum();
            (sum / n as f64).sqrt()
        })
        .collect();
    levels.sort_by(f64::total_cmp);
    levels[levels.len() / 2]
}

/// Pitch shift by `semitones` keeping the length (librosa `pitch_shift`): stretch by
/// `r = 2^(st/12)` with the phase vocoder, then resample by `r` back to the original length
/// (windowed sinc, anti-aliased when shifting up). `semitones` is clamped to ±24; non-finite is 0.
pub fn pitch_shift(x: &[f32], semitones: f64) -> Vec<f32> {
    let st = if semitones.is_finite() { semitones.clamp(-MAX_SHIFT_ST, MAX_SHIFT_ST) } else { 0.0 };
    if x.is_empty() || st == 0.0 {
        return x.to_vec();
    }
    let vocoder = Vocoder::new();
    let spec = Spectrogram::new(x, &vocoder);
    shifted_range(&spec, &vocoder, 1.0, Some(&SincKernel::for_shift(st)), 0..x.len())
}

/// Time stretch by `rate` keeping the pitch: stretch factor 2 = twice as long; the result has
/// exactly `round(len · rate)` samples (librosa `time_stretch(y, 1/rate)`). `rate` is clamped to
/// [0.25, 4]; non-finite is 1.
pub fn time_stretch(x: &[f32], rate: f64) -> Vec<f32> {
    let rate = if rate.is_finite() { rate.clamp(MIN_STRETCH, MAX_STRETCH) } else { 1.0 };
    let out_len = (x.len() as f64 * rate).round() as usize;
    if x.is_empty() || rate == 1.0 {
        return x.to_vec();
    }
    let vocoder = Vocoder::new();
    let spec = Spectrogram::new(x, &vocoder);
    shifted_range(&spec, &vocoder, rate, None, 0..out_len)
}

/// Samples `range` of the analysed signal stretched by `stretch` and shifted by the kernel's
/// ratio `r` (unshifted without one).
///
/// The vocoder stretches by `stretch·r` (`r = 2^(st/12)`), giving `z`; the output reads `z` at
/// `n·r` (`y[n] = Σ z[k]·h(n·r − k)`), which restores the duration `len·stretch` and multiplies
/// every frequency by `r`. Only the part of `z` the range needs is synthesised.
fn shifted_range(
    spec: &Spectrogram,
    vocoder: &Vocoder,
    stretch: f64,
    shift: Option<&SincKernel>,
    range: std::ops::Range<usize>,
) -> Vec<f32> {
    let Some(kernel) = shift else {
        let z_len = (spec.len as f64 * stretch).round() as usize;
        let z = vocoder.stretched_range(spec, stretch, range.start.min(z_len)..range.end.min(z_len));
        let mut out: Vec<f32> = z.iter().map(|&v| v as f32).collect();
        out.resize(range.len(), 0.0);
        return out;
    };
    let r = kernel.r;
    let factor = stretch * r;
    let z_len = (spec.len as f64 * factor).round() as usize;
    let z_lo = ((range.start as f64 * r).floor() as usize).saturating_sub(kernel.reach + 1).min(z_len);
    let z_hi = (((range.end as f64) * r).ceil() as usize + kernel.reach + 2).min(z_len);
    let z = vocoder.stretched_range(spec, factor, z_lo..z_hi);
    kernel.resample(&z, z_lo, range)
}

/// Magnitudes and per-frame phase rotations of one channel's centred STFT.
///
/// The vocoder needs each bin's phase only through its changes, so phases are kept as unit
/// phasors `X/|X|` (`1` where a bin is 0, the phase `atan2(0, 0) = 0` gives): the change from
/// frame `t` to `t + 1` is the rotation `u[t+1]·conj(u[t])`, a complex product where the phase
/// form needs an arctangent per bin here and a sine and cosine per bin in the synthesis.
struct Spectrogram {
    len: usize,
    frames: usize,
    mag: Vec<f64>,
    /// Frame 0's unit phasors, where every output's phases start, real and imaginary parts apart.
    first_re: Vec<f64>,
    first_im: Vec<f64>,
    /// `u[t+1]·conj(u[t])` per frame and bin, real and imaginary parts apart (a zero frame's
    /// phasor `1` past the end).
    rot_re: Vec<f64>,
    rot_im: Vec<f64>,
}

impl Spectrogram {
    fn new(x: &[f32], vocoder: &Vocoder) -> Self {
        let frames = 1 + x.len() / HOP;
        let fft = shared_forward_f64(N_FFT);
        let mut mag = vec![0.0; frames * N_BINS];
        let mut rot_re = vec![0.0; frames * N_BINS];
        let mut rot_im = vec![0.0; frames * N_BINS];
        // Frames are independent: each is transformed the same way on whichever thread. The
        // rotation rows hold each frame's unit phasors until the pass below.
        mag.par_chunks_mut(N_BINS)
            .zip(rot_re.par_chunks_mut(N_BINS).zip(rot_im.par_chunks_mut(N_BINS)))
            .enumerate()
            .for_each_init(
                || (fft.make_input_vec(), fft.make_output_vec()),
                |(input, spectrum), (t, (mag, (re, im)))| {
                    for (i, v) in input.iter_mut().enumerate() {
                        let j = (t * HOP + i).checked_sub(N_FFT / 2);
                        *v = j.and_then(|j| x.get(j)).map_or(0.0, |&s| f64::from(s)) * vocoder.window[i];
                    }
                    // Buffer lengths come from the plan, so the transform cannot fail.
                    let _ = fft.process(input, spectrum);
                    unit_polar(spectrum, mag, re, im);
                },
            );
        let (first_re, first_im) = (rot_re[..N_BINS].to_vec(), rot_im[..N_BINS].to_vec());
        for t in 0..frames {
            let (now, next) = rot_re.split_at_mut((t + 1) * N_BINS);
            let (now_im, next_im) = rot_im.split_at_mut((t + 1) * N_BINS);
            let (re0, im0) = (&mut now[t * N_BINS..], &mut now_im[t * N_BINS..]);
            if t + 1 < frames {
                rotations(re0, im0, &next[..N_BINS], &next_im[..N_BINS]);
            } else {
                // Past the last frame the phasor is 1: the rotation is conj(u[t]).
                im0.iter_mut().for_each(|v| *v = -*v);
            }
        }
        Self { len: x.len(), frames, mag, first_re, first_im, rot_re, rot_im }
    }

    /// Frame `t`'s magnitudes; zeros past the last frame.
    #[inline(always)]
    fn mag_row(&self, t: usize) -> &[f64] {
        const ZEROS: [f64; N_BINS] = [0.0; N_BINS];
        if t < self.frames { &self.mag[t * N_BINS..(t + 1) * N_BINS] } else { &ZEROS }
    }
}

/// Magnitude and unit phasor (`1` for a zero bin) of each bin, the phasor's parts apart.
///
/// On x86-64 CPUs with AVX2 the same code is compiled a second time for 256-bit vectors and used
/// instead, with the same bits.
fn unit_polar(spectrum: &[Complex<f64>], mag: &mut [f64], re: &mut [f64], im: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { unit_polar_avx2(spectrum, mag, re, im) };
        return;
    }
    unit_polar_any(spectrum, mag, re, im);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn unit_polar_avx2(spectrum: &[Complex<f64>], mag: &mut [f64], re: &mut [f64], im: &mut [f64]) {
    unit_polar_any(spectrum, mag, re, im);
}

#[inline(always)]
fn unit_polar_any(spectrum: &[Complex<f64>], mag: &mut [f64], re: &mut [f64], im: &mut [f64]) {
    // Parts so small that their squares lose precision (below 1e-150) are scaled up by a power
    // of two first (exact), so every phasor has length 1 and the magnitude keeps its digits.
    const TINY: f64 = 1e-150;
    const UP: f64 = 1.0715086071862673e301; // 2^1000
    for (((c, m), ur), ui) in spectrum.iter().zip(mag.iter_mut()).zip(re.iter_mut()).zip(im.iter_mut()) {
        let scale = if c.re.abs().max(c.im.abs()) < TINY { UP } else { 1.0 };
        let (x, y) = (c.re * scale, c.im * scale);
        let length = (x * x + y * y).sqrt();
        *m = length / scale;
        (*ur, *ui) = if length > 0.0 { (x / length, y / length) } else { (1.0, 0.0) };
    }
}

/// Replaces the phasors `(re, im)` of frame `t` by the rotation to frame `t + 1`'s,
/// `(next_re, next_im)·conj(re, im)`.
fn rotations(re: &mut [f64], im: &mut [f64], next_re: &[f64], next_im: &[f64]) {
    for (((r, i), &nr), &ni) in re.iter_mut().zip(im.iter_mut()).zip(next_re).zip(next_im) {
        (*r, *i) = (nr * *r + ni * *i, ni * *r - nr * *i);
    }
}

/// Shared FFT plans, window and expected phase advance.
struct Vocoder {
    inverse: Arc<dyn ComplexToReal<f64>>,
    window: Vec<f64>,
    /// The rotation by `2π·k·hop/n_fft` per bin (a bin's phase advance per hop past the last
    /// frame), real and imaginary parts apart.
    advance_re: Vec<f64>,
    advance_im: Vec<f64>,
}

impl Vocoder {
    fn new() -> Self {
        let advance: Vec<f64> =
            (0..N_BINS).map(|k| std::f64::consts::PI * HOP as f64 * k as f64 / (N_BINS - 1) as f64).collect();
        Self {
            inverse: shared_inverse_f64(N_FFT),
            window: hann_periodic(N_FFT),
            advance_re: advance.iter().map(|a| a.cos()).collect(),
            advance_im: advance.iter().map(|a| a.sin()).collect(),
        }
    }

    /// Samples `range` of the vocoder output for stretch `factor` (full length
    /// `round(len·factor)`): output frame `j` reads analysis position `j/factor`, magnitudes
    /// interpolated linearly, phases accumulated from frame 0; only frames overlapping `range`
    /// are inverse-transformed, overlap-added and divided by the summed squared window.
    ///
    /// On x86-64 CPUs with AVX2 the same code is compiled a second time for 256-bit vectors and
    /// used instead: the same IEEE operations in the same order on every bin (no fused
    /// multiply-add), so both copies give the same bits; a test compares them.
    fn stretched_range(&self, spec: &Spectrogram, factor: f64, range: std::ops::Range<usize>) -> Vec<f64> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { self.stretched_range_avx2(spec, factor, range) };
        }
        self.stretched_range_any(spec, factor, range)
    }

    /// [`Self::stretched_range_any`] compiled with AVX2 enabled.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn stretched_range_avx2(&self, spec: &Spectrogram, factor: f64, range: std::ops::Range<usize>) -> Vec<f64> {
        self.stretched_range_any(spec, factor, range)
    }

    /// The vocoder itself, inlined into each compiled copy.
    #[inline(always)]
    fn stretched_range_any(&self, spec: &Spectrogram, factor: f64, range: std::ops::Range<usize>) -> Vec<f64> {
        let (a, b) = (range.start, range.end.max(range.start));
        let rate = 1.0 / factor;
        let n_out = (0..).take_while(|&j| (j as f64 * rate) < spec.frames as f64).count();
        let half = N_FFT / 2;
        let j_lo = (a + half + 1).saturating_sub(N_FFT).div_ceil(HOP);
        let j_hi = ((b + half).saturating_sub(1) / HOP).min(n_out.saturating_sub(1));
        let mut out = written_zeros(b - a);
        let mut norm = written_zeros(b - a);
        // Each bin's phase as a unit phasor, turned by each analysis step's rotation.
        let (mut acc_re, mut acc_im) = (spec.first_re.clone(), spec.first_im.clone());
        let mut spectrum = self.inverse.make_input_vec();
        let mut frame = self.inverse.make_output_vec();
        for j in 0..=j_hi {
            let step = j as f64 * rate;
            let t = step as usize;
            let alpha = step - t as f64;
            if j >= j_lo && b > a {
                let (now, next) = (spec.mag_row(t), spec.mag_row(t + 1));
                for ((((c, &re), &im), &m0), &m1) in spectrum.iter_mut().zip(&acc_re).zip(&acc_im).zip(now).zip(next) {
                    let m = (1.0 - alpha) * m0 + alpha * m1;
                    *c = Complex::new(m * re, m * im);
                }
                spectrum[0].im = 0.0;
                spectrum[N_BINS - 1].im = 0.0;
                // Buffer lengths come from the plan, so the transform cannot fail.
                let _ = self.inverse.process(&mut spectrum, &mut frame);
                self.overlap_add(&frame, j * HOP, a + half, &mut out, &mut norm);
            }
            let (rot_re, rot_im) = if t < spec.frames {
                let row = t * N_BINS..(t + 1) * N_BINS;
                (&spec.rot_re[row.clone()], &spec.rot_im[row])
            } else {
                (&self.advance_re[..], &self.advance_im[..])
            };
            for (((re, im), &rr), &ri) in acc_re.iter_mut().zip(acc_im.iter_mut()).zip(rot_re).zip(rot_im) {
                (*re, *im) = (*re * rr - *im * ri, *re * ri + *im * rr);
            }
        }
        for (o, &w) in out.iter_mut().zip(&norm) {
            if w > f64::from(f32::MIN_POSITIVE) {
                *o /= w;
            }
        }
        out
    }

    /// Adds the windowed frame (starting at padded position `frame_pos`) into `out`, whose
    /// first sample is padded position `out_pos`; accumulates the squared window into `norm`.
    #[inline(always)]
    fn overlap_add(&self, frame: &[f64], frame_pos: usize, out_pos: usize, out: &mut [f64], norm: &mut [f64]) {
        let scale = 1.0 / N_FFT as f64;
        // Frame sample `i` lands on `frame_pos + i − out_pos`; only those inside `out` are added.
        let skip = out_pos.saturating_sub(frame_pos).min(frame.len());
        let first = frame_pos + skip - out_pos;
        let n = (frame.len() - skip).min(out.len().saturating_sub(first));
        let (frame, window) = (&frame[skip..skip + n], &self.window[skip..skip + n]);
        let (out, norm) = (&mut out[first..first + n], &mut norm[first..first + n]);
        for (((o, w2), &s), &w) in out.iter_mut().zip(norm.iter_mut()).zip(frame).zip(window) {
            *o += s * scale * w;
            *w2 += w * w;
        }
    }
}

/// Windowed-sinc interpolation kernel for reading a signal at positions advancing by `r` per
/// output sample: cutoff `fc = min(1, 1/r)` of Nyquist, Blackman window over ±16 zero
/// crossings.
///
/// The weights are tabulated polyphase: for [`PHASES`]` + 1` fractional read positions, the
/// weights of all `2·reach + 1` taps as one contiguous row; a read between two phases
/// interpolates their rows linearly. A sample is then a dot product over contiguous memory,
/// which vector units do without gathers.
struct SincKernel {
    /// Read positions advance by `r` per output sample.
    r: f64,
    fc: f64,
    /// Input samples either side of a read position the kernel touches.
    reach: usize,
    /// `2·reach + 1`.
    taps: usize,
    /// Row `p`, tap `j`: `K(fc·(p/PHASES + reach − j))`.
    rows: Vec<f64>,
}

/// Fractional read positions tabulated per input sample.
const PHASES: usize = 256;

/// The Blackman-windowed sinc at `x` zero crossings (0 from ±16 on).
fn windowed_sinc(x: f64) -> f64 {
    let u = x.abs();
    if u >= SINC_HALF as f64 {
        return 0.0;
    }
    let sinc = if u == 0.0 { 1.0 } else { (std::f64::consts::PI * u).sin() / (std::f64::consts::PI * u) };
    let w = std::f64::consts::PI * (u / SINC_HALF as f64 + 1.0);
    sinc * (0.42 - 0.5 * w.cos() + 0.08 * (2.0 * w).cos())
}

impl SincKernel {
    /// The kernel of a pitch shift by `semitones` (`r = 2^(st/12)`).
    fn for_shift(semitones: f64) -> Self {
        Self::new((semitones / 12.0).exp2())
    }

    fn new(r: f64) -> Self {
        let fc = (1.0 / r).min(1.0);
        let reach = (SINC_HALF as f64 / fc).ceil() as usize;
        let taps = 2 * reach + 1;
        let rows = (0..=PHASES)
            .flat_map(|p| {
                (0..taps).map(move |j| windowed_sinc(fc * (p as f64 / PHASES as f64 + reach as f64 - j as f64)))
            })
            .collect();
        Self { r, fc, reach, taps, rows }
    }

    /// The rows around `frac` (in [0, 1)) and the position between them.
    #[inline(always)]
    fn rows_at(&self, frac: f64) -> (&[f64], &[f64], f64) {
        let t = frac * PHASES as f64;
        let p = (t as usize).min(PHASES - 1);
        let row = |p: usize| &self.rows[p * self.taps..(p + 1) * self.taps];
        (row(p), row(p + 1), t - p as f64)
    }

    /// `fc·Σ_j taps[j]·(r0[j] + a·(r1[j] − r0[j]))` in four partial sums (lane `j mod 4`).
    #[inline(always)]
    fn dot(&self, taps: &[f64], r0: &[f64], r1: &[f64], a: f64) -> f64 {
        let mut sums = [0.0f64; 4];
        let quads = taps.chunks_exact(4).zip(r0.chunks_exact(4)).zip(r1.chunks_exact(4));
        for ((x, w0), w1) in quads {
            for l in 0..4 {
                sums[l] += x[l] * (w0[l] + a * (w1[l] - w0[l]));
            }
        }
        let done = taps.len() - taps.len() % 4;
        for (l, ((&x, &w0), &w1)) in taps[done..].iter().zip(&r0[done..]).zip(&r1[done..]).enumerate() {
            sums[l] += x * (w0 + a * (w1 - w0));
        }
        ((sums[0] + sums[1]) + (sums[2] + sums[3])) * self.fc
    }

    /// [`Self::dot`] four taps at a time in 256-bit vectors: lane `l` does tap `4q + l`'s
    /// operations in the scalar order (no fused multiply-add), so the result has the same bits.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn dot_avx2(&self, taps: &[f64], r0: &[f64], r1: &[f64], a: f64) -> f64 {
        use std::arch::x86_64::{
            _mm256_add_pd, _mm256_loadu_pd, _mm256_mul_pd, _mm256_set1_pd, _mm256_setzero_pd, _mm256_storeu_pd,
            _mm256_sub_pd,
        };
        let n = taps.len().min(r0.len()).min(r1.len());
        let done = n - n % 4;
        let av = _mm256_set1_pd(a);
        let mut sums = _mm256_setzero_pd();
        for q in (0..done).step_by(4) {
            // SAFETY: q + 3 < done ≤ each slice's length, so each load reads four f64 inside it.
            let (x, w0, w1) = unsafe {
                (
                    _mm256_loadu_pd(taps.as_ptr().add(q)),
                    _mm256_loadu_pd(r0.as_ptr().add(q)),
                    _mm256_loadu_pd(r1.as_ptr().add(q)),
                )
            };
            let w = _mm256_add_pd(w0, _mm256_mul_pd(av, _mm256_sub_pd(w1, w0)));
            sums = _mm256_add_pd(sums, _mm256_mul_pd(x, w));
        }
        let mut lanes = [0.0f64; 4];
        // SAFETY: `lanes` holds four f64.
        unsafe { _mm256_storeu_pd(lanes.as_mut_ptr(), sums) };
        for (l, ((&x, &w0), &w1)) in taps[done..n].iter().zip(&r0[done..n]).zip(&r1[done..n]).enumerate() {
            lanes[l] += x * (w0 + a * (w1 - w0));
        }
        ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) * self.fc
    }

    /// Samples `n·r` of `z` (whose first sample is index `z_off`) for `n` in `range`, samples
    /// outside `z` read as 0.
    ///
    /// On x86-64 CPUs with AVX2 the same code is compiled a second time for 256-bit vectors, with
    /// the taps weighed four at a time ([`Self::dot_avx2`]), and used instead, with the same bits.
    fn resample(&self, z: &[f64], z_off: usize, range: std::ops::Range<usize>) -> Vec<f32> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { self.resample_avx2(z, z_off, range) };
        }
        self.resample_any(z, z_off, range, |x, r0, r1, a| self.dot(x, r0, r1, a))
    }

    /// [`Self::resample_any`] compiled with AVX2 enabled, weighing taps with [`Self::dot_avx2`].
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn resample_avx2(&self, z: &[f64], z_off: usize, range: std::ops::Range<usize>) -> Vec<f32> {
        self.resample_any(z, z_off, range, |x, r0, r1, a| self.dot_avx2(x, r0, r1, a))
    }

    #[inline(always)]
    fn resample_any(
        &self,
        z: &[f64],
        z_off: usize,
        range: std::ops::Range<usize>,
        dot: impl Fn(&[f64], &[f64], &[f64], f64) -> f64,
    ) -> Vec<f32> {
        let h = self.reach;
        let mut out = Vec::with_capacity(range.len());
        // A plain loop rather than a closure, so the body is compiled with the caller's target
        // features (a closure would be a function of its own, compiled for the baseline CPU).
        for n in range {
            let pos = n as f64 * self.r;
            let i = pos as usize; // pos ≥ 0, so truncation is the floor
            let (r0, r1, a) = self.rows_at(pos - i as f64);
            // Tap j reads z index i − reach + j; near z's ends only the taps inside it count.
            let first = (z_off + h).saturating_sub(i).min(self.taps);
            let last = (z_off + z.len() + h).saturating_sub(i).min(self.taps);
            let v = if first < last {
                let k0 = i + first - h - z_off;
                dot(&z[k0..k0 + (last - first)], &r0[first..last], &r1[first..last], a)
            } else {
                0.0
            };
            out.push(v as f32);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`SincKernel::resample`] gives the windowed-sinc sum at every read position (computed
    /// here tap by tap from the formula) to within the polyphase table's interpolation, at the
    /// ends of `z` too (samples outside it read as 0); the copy compiled for AVX2 gives the
    /// portable copy's bits.
    #[test]
    fn the_polyphase_resampler_gives_the_kernel_sum() {
        let z: Vec<f64> = (0..5_000).map(|i| ((i * 7919) % 1013) as f64 * 1e-3 - 0.5).collect();
        for (st, z_off) in [(12.0, 0), (12.0, 37), (24.0, 11), (7.0, 5), (-5.0, 3), (-24.0, 0)] {
            let kernel = SincKernel::for_shift(st);
            let r = kernel.r;
            let range = 0..(5_000.0 / r) as usize + 40;
            let fast = kernel.resample(&z, z_off, range.clone());
            let mut worst = 0.0f64;
            for (n, &got) in range.clone().zip(&fast) {
                let pos = n as f64 * r;
                let exact: f64 = (0..z.len())
                    .map(|k| z[k] * kernel.fc * windowed_sinc(kernel.fc * (pos - (k + z_off) as f64)))
                    .sum();
                worst = worst.max((f64::from(got) - exact).abs());
            }
            // z's peak is 0.5: within 1e-5 of it (the table's 256 phases per sample, the
            // resolution the kernel had before it was polyphase: 256 points per zero crossing).
            assert!(worst < 5e-6, "{st} st: worst difference {worst:e}");
            #[cfg(target_arch = "x86_64")]
            {
                let portable = kernel.resample_any(&z, z_off, range, |x, r0, r1, a| kernel.dot(x, r0, r1, a));
                assert_eq!(
                    fast.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    portable.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    "{st} st"
                );
            }
        }
    }

    const SR: f64 = OUTPUT_RATE_HZ as f64;

    /// Bin magnitudes and unit phasors are the same bits from either compiled copy; a phasor
    /// has the bin's phase and length 1, and a zero bin's is 1.
    #[test]
    fn unit_phasors_are_the_same_from_the_vectorised_copy() {
        let spectrum: Vec<Complex<f64>> = (0..N_BINS)
            .map(|k| Complex::new(((k * 7919) % 613) as f64 - 306.0, ((k * 104_729) % 997) as f64 * -0.5 + 1.0))
            .chain([
                Complex::new(0.0, 0.0),
                Complex::new(-0.0, 0.0),
                Complex::new(-1.0, -0.0),
                Complex::new(1e-160, 0.0),
            ])
            .collect();
        let n = spectrum.len();
        let (mut m1, mut r1, mut i1) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let (mut m2, mut r2, mut i2) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        unit_polar(&spectrum, &mut m1, &mut r1, &mut i1);
        unit_polar_any(&spectrum, &mut m2, &mut r2, &mut i2);
        assert_eq!(
            m1.iter().chain(&r1).chain(&i1).map(|v| v.to_bits()).collect::<Vec<_>>(),
            m2.iter().chain(&r2).chain(&i2).map(|v| v.to_bits()).collect::<Vec<_>>()
        );
        for (((c, &m), &re), &im) in spectrum.iter().zip(&m1).zip(&r1).zip(&i1) {
            assert!((m - c.norm()).abs() <= 1e-15 * m, "{c}: |·| {m}");
            let phase = if m > 0.0 { c.arg() } else { 0.0 };
            assert!((im.atan2(re) - phase).abs() < 1e-15, "{c}: phase {} vs {phase}", im.atan2(re));
            assert!((re.hypot(im) - 1.0).abs() < 1e-15, "{c}: length {}", re.hypot(im));
        }
    }

    /// librosa's phase vocoder as written there: phases from `atan2`, accumulated in radians
    /// (`phase += advance + wrap(Δphase − advance)`), each frame built from `cos` and `sin`.
    fn vocoder_by_phases(x: &[f32], factor: f64) -> Vec<f64> {
        let mut planner = realfft::RealFftPlanner::<f64>::new();
        let (fwd, inv) = (planner.plan_fft_forward(N_FFT), planner.plan_fft_inverse(N_FFT));
        let window = hann_periodic(N_FFT);
        let frames = 1 + x.len() / HOP;
        let (mut mag, mut phase) = (vec![vec![0.0; N_BINS]; frames + 1], vec![vec![0.0; N_BINS]; frames + 1]);
        for t in 0..frames {
            let mut input: Vec<f64> = (0..N_FFT)
                .map(|i| {
                    (t * HOP + i).checked_sub(N_FFT / 2).and_then(|j| x.get(j)).map_or(0.0, |&s| f64::from(s))
                        * window[i]
                })
                .collect();
            let mut spectrum = fwd.make_output_vec();
            fwd.process(&mut input, &mut spectrum).unwrap();
            for (k, c) in spectrum.iter().enumerate() {
                (mag[t][k], phase[t][k]) = (c.norm(), c.im.atan2(c.re));
            }
        }
        let advance = |k: usize| std::f64::consts::PI * HOP as f64 * k as f64 / (N_BINS - 1) as f64;
        let wrap = |p: f64| p - std::f64::consts::TAU * (p / std::f64::consts::TAU).round();
        let len = (x.len() as f64 * factor).round() as usize;
        let (mut out, mut norm) = (vec![0.0; len + 2 * N_FFT], vec![0.0; len + 2 * N_FFT]);
        let mut acc = phase[0].clone();
        let mut j = 0;
        while (j as f64 / factor) < frames as f64 {
            let step = j as f64 / factor;
            let (t, alpha) = (step as usize, step.fract());
            let mut spectrum: Vec<Complex<f64>> = (0..N_BINS)
                .map(|k| Complex::from_polar((1.0 - alpha) * mag[t][k] + alpha * mag[t + 1][k], acc[k]))
                .collect();
            spectrum[0].im = 0.0;
            spectrum[N_BINS - 1].im = 0.0;
            let mut frame = inv.make_output_vec();
            inv.process(&mut spectrum, &mut frame).unwrap();
            for i in 0..N_FFT {
                out[j * HOP + i] += frame[i] / N_FFT as f64 * window[i];
                norm[j * HOP + i] += window[i] * window[i];
            }
            for k in 0..N_BINS {
                acc[k] += advance(k) + wrap(phase[t + 1][k] - phase[t][k] - advance(k));
            }
            j += 1;
        }
        (0..len)
            .map(|n| {
                let (o, w) = (out[n + N_FFT / 2], norm[n + N_FFT / 2]);
                if w > f64::from(f32::MIN_POSITIVE) { o / w } else { o }
            })
            .collect()
    }

    /// A rising chirp from 220 Hz under a little deterministic noise, `len` samples.
    fn chirp_with_noise(len: usize) -> Vec<f32> {
        (0..len)
            .map(|i| {
                let t = i as f64 / SR;
                (0.4 * (std::f64::consts::TAU * (220.0 + 300.0 * t) * t).sin()
                    + 0.1 * ((i * 7919 % 1013) as f64 / 1013.0 - 0.5)) as f32
            })
            .collect()
    }

    /// Turning unit phasors gives the samples that accumulating phases in radians gives, to
    /// rounding, for stretches either side of 1 (including a pitch shift's factor).
    #[test]
    fn phasors_give_the_phase_vocoders_samples() {
        let x = chirp_with_noise(20_000);
        let vocoder = Vocoder::new();
        let spec = Spectrogram::new(&x, &vocoder);
        for factor in [0.7, 1.5, 2.0, 1.5 * (7.0f64 / 12.0).exp2()] {
            let expected = vocoder_by_phases(&x, factor);
            let got = vocoder.stretched_range(&spec, factor, 0..expected.len());
            let worst = got.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            assert!(worst < 1e-9, "×{factor}: worst difference {worst:e}");
        }
    }

    /// The vocoder compiled for AVX2 (used on CPUs that have it) gives the portable copy's bits,
    /// for stretches either side of 1 and ranges at the start, inside and past the end.
    #[test]
    fn the_vectorised_vocoder_gives_the_portable_bits() {
        let x = chirp_with_noise(30_000);
        let vocoder = Vocoder::new();
        let spec = Spectrogram::new(&x, &vocoder);
        for factor in [0.7, 1.5, 2.0, 1.5 * (7.0f64 / 12.0).exp2()] {
            let len = (x.len() as f64 * factor).round() as usize;
            for range in [0..len, len / 3..len / 3 + 5000, len - 100..len + 50] {
                let used = vocoder.stretched_range(&spec, factor, range.clone());
                let portable = vocoder.stretched_range_any(&spec, factor, range.clone());
                assert_eq!(
                    used.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    portable.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    "×{factor} {range:?}"
                );
            }
        }
    }

    fn sine(freq_hz: f64, len: usize) -> Vec<f32> {
        (0..len).map(|i| (0.5 * (std::f64::consts::TAU * freq_hz * i as f64 / SR).sin()) as f32).collect()
    }

    /// Frequency from the rising zero crossings of the middle half (linear interpolation).
    fn frequency_hz(x: &[f32]) -> f64 {
        let mid = &x[x.len() / 4..3 * x.len() / 4];
        let crossings: Vec<f64> = mid
            .windows(2)
            .enumerate()
            .filter(|(_, w)| w[0] < 0.0 && w[1] >= 0.0)
            .map(|(i, w)| i as f64 + f64::from(w[0] / (w[0] - w[1])))
            .collect();
        assert!(crossings.len() > 2, "no oscillation");
        (crossings.len() - 1) as f64 * SR / (crossings[crossings.len() - 1] - crossings[0])
    }

    fn rms(x: &[f32]) -> f64 {
        (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
    }

    #[test]
    fn pitch_shift_moves_a_sine_to_the_target_frequency_and_keeps_the_length() {
        let x = sine(440.0, 44_100);
        for (st, target) in [(7.0, 659.255), (12.0, 880.0), (-12.0, 220.0)] {
            let y = pitch_shift(&x, st);
            assert_eq!(y.len(), x.len());
            let f = frequency_hz(&y);
            assert!((f / target - 1.0).abs() < 0.01, "{st} st: {f} Hz");
            let level = rms(&y[11_025..33_075]) / rms(&x[11_025..33_075]);
            assert!((0.7..1.3).contains(&level), "{st} st: level ×{level}");
        }
        assert_eq!(pitch_shift(&x, 0.0), x);
        assert!(pitch_shift(&[], 5.0).is_empty());
    }

    #[test]
    fn time_stretch_keeps_the_frequency_and_has_exactly_the_target_length() {
        let x = sine(440.0, 30_000);
        for rate in [1.5, 2.0, 0.5] {
            let y = time_stretch(&x, rate);
            assert_eq!(y.len(), (30_000.0 * rate).round() as usize);
            let f = frequency_hz(&y);
            assert!((f / 440.0 - 1.0).abs() < 0.01, "×{rate}: {f} Hz");
            assert!(y.iter().all(|v| v.is_finite()));
        }
        assert_eq!(time_stretch(&x, 1.0), x);
        assert_eq!(time_stretch(&x[..10], 2.0).len(), 20);
        assert_eq!(time_stretch(&x, f64::NAN), x);
    }

    #[test]
    fn tiny_inputs_keep_their_lengths_without_panicking() {
        for len in [1, 2, 7, 511, 513, 2049] {
            let x = sine(1000.0, len);
            for st in [-24.0, -5.0, 7.0, 24.0, 100.0] {
                let y = pitch_shift(&x, st);
                assert_eq!(y.len(), len);
                assert!(y.iter().all(|v| v.is_finite()));
            }
            for rate in [0.25, 0.7, 1.5, 4.0, 9.0] {
                let y = time_stretch(&x, rate);
                assert_eq!(y.len(), (len as f64 * rate.min(MAX_STRETCH)).round() as usize);
                assert!(y.iter().all(|v| v.is_finite()));
            }
        }
    }

    #[test]
    fn a_partial_render_matches_the_full_one() {
        let x = sine(300.0, 20_000);
        let vocoder = Vocoder::new();
        let spec = Spectrogram::new(&x, &vocoder);
        let kernel = SincKernel::for_shift(7.0);
        let full = shifted_range(&spec, &vocoder, 1.5, Some(&kernel), 0..30_000);
        let part = shifted_range(&spec, &vocoder, 1.5, Some(&kernel), 12_000..15_000);
        for (a, b) in full[12_000..15_000].iter().zip(&part) {
            assert!((a - b).abs() < 1e-5);
        }
    }

    #[test]
    fn the_plan_names_every_output_in_order() {
        let plan = plan_drones(&DroneSettings::default());
        let names: Vec<&str> = plan.iter().map(|p| p.name_suffix.as_str()).collect();
        assert_eq!(
            names,
            [
                "pad01",
                "pad02",
                "pad03",
                "pad04",
                "pad05",
                "pad06",
                "pad07",
                "pad08",
                "pad09",
                "pad_warm",
                "pad_airy",
                "pad_dark",
                "pad_reversed",
                "swell01",
                "swell02",
                "swell03"
            ]
        );
        assert!(plan[..13].iter().all(|p| p.category == DroneCategory::Pads));
        assert!(plan[13..].iter().all(|p| p.category == DroneCategory::Swells));
        let bare = DroneSettings { variants: false, reversed: false, ..DroneSettings::default() };
        assert_eq!(plan_drones(&bare).len(), 12);
    }

    fn short_settings() -> DroneSettings {
        DroneSettings { loop_s: 0.5, swell_s: 1.0, swell_fade_in_s: 0.1, swell_fade_out_s: 0.3, ..Default::default() }
    }

    /// `sine(freq_hz)` plus a quiet 8 kHz partial, so every tonal variant's band holds sound.
    fn with_air(freq_hz: f64, len: usize) -> Vec<f32> {
        sine(freq_hz, len).iter().zip(sine(8_000.0, len)).map(|(a, b)| a + 0.01 * b).collect()
    }

    #[test]
    fn make_drones_follows_the_plan_with_exact_lengths() {
        let source = Clip { channels: vec![with_air(220.0, 66_150), with_air(330.0, 66_150)] };
        let settings = short_settings();
        let plan = plan_drones(&settings);
        let results = make_drones(&source, &settings);
        assert_eq!(results.len(), plan.len());
        for (item, result) in plan.iter().zip(&results) {
            let clip = result.as_ref().unwrap_or_else(|e| panic!("{}: {e}", item.name_suffix));
            assert_eq!(clip.channels.len(), 2);
            let expected = if item.category == DroneCategory::Pads { 22_050 } else { 44_100 };
            assert_eq!(clip.len(), expected, "{}", item.name_suffix);
            assert!(clip.channels.iter().flatten().all(|v| v.is_finite()));
        }
        // pad04 is +7 st at ×1: 220 Hz → 329.6 Hz.
        let f = frequency_hz(&results[3].as_ref().unwrap().channels[0]);
        assert!((f / 329.63 - 1.0).abs() < 0.01, "{f}");
        // Swells start and end silent.
        let swell = &results[13].as_ref().unwrap().channels[0];
        assert_eq!(swell[0], 0.0);
        assert_eq!(swell[swell.len() - 1], 0.0);
        assert_eq!(results, make_drones(&source, &settings));
    }

    #[test]
    fn tonal_variants_filter_and_the_reversed_loop_is_the_loop_backwards() {
        let mixed: Vec<f32> = sine(500.0, 44_100).iter().zip(sine(9000.0, 44_100)).map(|(a, b)| a + b).collect();
        let settings = DroneSettings { pitch_shifts_st: vec![0.0], time_stretches: vec![1.0], ..short_settings() };
        let results = make_drones(&Clip::mono(mixed), &settings);
        let get = |i: usize| results[i].as_ref().unwrap().channels[0].clone();
        let (plain, warm, airy, dark, reversed) = (get(0), get(1), get(2), get(3), get(4));
        // Each filter keeps one of the two equal sines: half the power of the plain loop
        // (whose in-phase crossfade lifts all three alike); warm/dark keep the 500 Hz one.
        for (name, kept) in [("warm", &warm), ("airy", &airy), ("dark", &dark)] {
            let ratio = rms(kept) / rms(&plain);
            assert!((ratio - std::f64::consts::FRAC_1_SQRT_2).abs() < 0.03, "{name}: {ratio}");
        }
        for low in [&warm, &dark] {
            assert!((frequency_hz(low) / 500.0 - 1.0).abs() < 0.01);
        }
        assert!(frequency_hz(&airy) > 8000.0);
        let backwards: Vec<f32> = plain.iter().rev().copied().collect();
        assert_eq!(reversed, backwards);
    }

    #[test]
    fn a_long_source_gives_the_drones_of_its_middle() {
        // 40 s: a 220 Hz tone (with air) over the middle 20 s, a loud 3 kHz tone either side.
        let len = 40 * 44_100;
        let middle_tone = with_air(220.0, len);
        let edge_tone = sine(3_000.0, len);
        let x: Vec<f32> = (0..len)
            .map(|i| if (10 * 44_100..30 * 44_100).contains(&i) { middle_tone[i] } else { 1.5 * edge_tone[i] })
            .collect();
        let settings = short_settings();
        let whole = make_drones(&Clip::mono(x.clone()), &settings);
        let (piece, start) = (20 * 44_100, 10 * 44_100);
        let middle = make_drones(&Clip::mono(x[start..start + piece].to_vec()), &settings);
        assert!(whole.iter().all(Result::is_ok));
        assert_eq!(whole, middle);
        let pad01 = &whole[0].as_ref().unwrap().channels[0];
        assert!((frequency_hz(pad01) / 220.0 - 1.0).abs() < 0.01);
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let source = Clip { channels: vec![with_air(220.0, 66_150), with_air(330.0, 66_150)] };
        let settings = short_settings();
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
            pool.install(|| make_drones(&source, &settings))
        };
        assert_eq!(run(1), run(4));
    }

    /// The demo's organ had nothing above 6 kHz but 16-bit rounding and a click at a chord
    /// change; its airy variant was that click normalised to −1 dBFS. An empty band is now
    /// reported, and the other variants are still made.
    #[test]
    fn an_empty_band_gives_no_variant_rather_than_amplified_noise() {
        let mut x: Vec<f32> = sine(220.0, 66_150).iter().map(|v| (v * 32_767.0).round() / 32_767.0).collect();
        x[33_000] += 0.3;
        let settings = DroneSettings { pitch_shifts_st: vec![0.0], time_stretches: vec![1.0], ..short_settings() };
        let results = make_drones(&Clip::mono(x), &settings);
        let names: Vec<String> = plan_drones(&settings).into_iter().map(|p| p.name_suffix).collect();
        let airy = names.iter().position(|n| n == "pad_airy").expect("airy planned");
        match &results[airy] {
            Err(TextureError::NoCandidate(why)) => {
                assert!(why.contains("airy") && why.contains("above 6000 Hz") && why.contains("empty"), "{why}")
            }
            other => panic!("airy of a 220 Hz sine: {other:?}"),
        }
        for name in ["pad_warm", "pad_dark", "pad01"] {
            let i = names.iter().position(|n| n == name).expect("planned");
            assert!(results[i].is_ok(), "{name}: {:?}", results[i]);
        }
    }

    #[test]
    fn short_silent_and_invalid_cases_are_errors_not_panics() {
        let settings = DroneSettings::default();
        let short = make_drones(&Clip::mono(sine(220.0, 44_100)), &settings);
        assert_eq!(short.len(), plan_drones(&settings).len());
        assert!(matches!(short[0], Err(TextureError::TooShort { .. })));
        // ×2 makes 2 s of the 1 s source: still short of 2 s + 100 ms crossfade.
        assert!(matches!(short[2], Err(TextureError::TooShort { .. })));
        assert!(short.iter().filter(|r| r.is_ok()).count() == 0);
        let silent = make_drones(&Clip::mono(vec![0.0; 66_150]), &short_settings());
        assert!(silent.iter().all(|r| matches!(r, Err(TextureError::Silent { .. }))));
        let empty = make_drones(&Clip { channels: Vec::new() }, &short_settings());
        assert!(empty.iter().all(|r| r.is_err()));
        let bad = DroneSettings { loop_s: 0.0, ..DroneSettings::default() };
        assert!(bad.validate().unwrap_err().contains("loop_s"));
        assert!(make_drones(&Clip::mono(sine(220.0, 441_000)), &bad).iter().all(|r| r.is_err()));
    }

    #[test]
    fn settings_validate_and_name_the_field() {
        assert_eq!(DroneSettings::default().validate(), Ok(()));
        let bad = DroneSettings { time_stretches: vec![0.0], ..DroneSettings::default() };
        assert!(bad.validate().unwrap_err().contains("time_stretches"));
        let bad = DroneSettings { pitch_shifts_st: vec![f64::NAN], ..DroneSettings::default() };
        assert!(bad.validate().unwrap_err().contains("pitch_shifts_st"));
        let bad = DroneSettings { swell_fade_out_s: 6.0, ..DroneSettings::default() };
        assert!(bad.validate().unwrap_err().contains("swell_fade"));
        let bad = DroneSettings { crossfade_ms: -1.0, ..DroneSettings::default() };
        assert!(bad.validate().unwrap_err().contains("crossfade_ms"));
    }
}
