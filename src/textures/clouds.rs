//! Granular clouds (DOMAIN §G "Clouds"): Hann-windowed grains drawn from the stable regions of a
//! source, quality-gated, pitch-shifted by resampling, overlap-added, low-passed and faded.
//!
//! Cost is linear and small: the stability analysis is one 2048-point STFT (hop 1024) of the
//! source, done once per [`CloudSource`]; each cloud then scores at most `grains · max_tries`
//! grains, resamples each once with a 4-point cubic interpolator, adds it directly into the
//! output buffer and runs one zero-phase order-4 low-pass over the result.

use std::collections::BTreeMap;

use crate::dsp::approx;
use crate::dsp::rng::Rng;
use crate::dsp::stft::{CentredStream, SpectrumPlan, centred_frame_count};
use crate::dsp::written_zeros;
use crate::textures::filter::{Band, butter_zero_phase};
use crate::textures::looping::fade_in_out;
use crate::textures::{Clip, ClipSource, OUTPUT_RATE_HZ, SILENCE_PEAK, TextureError, for_each_mixdown_block};

/// Cloud parameters (DOMAIN §G defaults); field names double as TOML keys.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CloudSettings {
    /// Grains drawn per cloud (count).
    pub grains: usize,
    /// Shortest grain before pitch shifting (ms).
    pub grain_ms_min: f64,
    /// Longest grain before pitch shifting (ms); the source must be at least this long.
    pub grain_ms_max: f64,
    /// Grains scoring below this (0–1, [`grain_quality`]) are redrawn.
    pub min_grain_quality: f64,
    /// Draws per grain before it is skipped (count).
    pub max_tries: usize,
    /// Lowest pitch shift (semitones).
    pub pitch_st_min: f64,
    /// Highest pitch shift (semitones).
    pub pitch_st_max: f64,
    /// Hop between grain onsets as a fraction of the mean grain length (ratio).
    pub overlap: f64,
    /// Cloud length (s).
    pub duration_s: f64,
    /// Cutoff of the order-4 zero-phase Butterworth low-pass (Hz).
    pub lowpass_hz: f64,
    /// Linear fade-in and fade-out length (ms).
    pub fade_ms: f64,
    /// Clouds the engine makes from each source (count).
    pub clouds_per_source: usize,
}

impl Default for CloudSettings {
    fn default() -> Self {
        Self {
            grains: 200,
            grain_ms_min: 50.0,
            grain_ms_max: 150.0,
            min_grain_quality: 0.4,
            max_tries: 10,
            pitch_st_min: -7.0,
            pitch_st_max: 7.0,
            overlap: 0.35,
            duration_s: 6.0,
            lowpass_hz: 8000.0,
            fade_ms: 10.0,
            clouds_per_source: 2,
        }
    }
}

/// Largest accepted `|pitch_st_*|` (semitones): a resampling factor of at most 4.
pub const MAX_PITCH_ST: f64 = 24.0;
/// Longest accepted grain (ms).
pub const MAX_GRAIN_MS: f64 = 10_000.0;
/// Longest accepted cloud (s).
pub const MAX_DURATION_S: f64 = 600.0;

impl CloudSettings {
    /// Checks every field; the message names the field and the value.
    pub fn validate(&self) -> Result<(), String> {
        let s = self;
        check(s.grains >= 1 && s.grains <= 100_000, "grains must be in 1..=100000", s.grains as f64)?;
        check(
            s.grain_ms_min > 0.0 && s.grain_ms_min <= s.grain_ms_max,
            "grain_ms_min must be > 0 and ≤ grain_ms_max",
            s.grain_ms_min,
        )?;
        check(s.grain_ms_max <= MAX_GRAIN_MS, "grain_ms_max must be ≤ 10000", s.grain_ms_max)?;
        check((0.0..=1.0).contains(&s.min_grain_quality), "min_grain_quality must be in [0, 1]", s.min_grain_quality)?;
        check(s.max_tries >= 1 && s.max_tries <= 1000, "max_tries must be in 1..=1000", s.max_tries as f64)?;
        check(
            s.pitch_st_min >= -MAX_PITCH_ST && s.pitch_st_min <= s.pitch_st_max,
            "pitch_st_min must be ≥ −24 and ≤ pitch_st_max",
            s.pitch_st_min,
        )?;
        check(s.pitch_st_max <= MAX_PITCH_ST, "pitch_st_max must be ≤ 24", s.pitch_st_max)?;
        check(s.overlap > 0.0 && s.overlap <= 1.0, "overlap must be in (0, 1]", s.overlap)?;
        check(s.duration_s > 0.0 && s.duration_s <= MAX_DURATION_S, "duration_s must be in (0, 600]", s.duration_s)?;
        let nyquist = f64::from(OUTPUT_RATE_HZ) / 2.0;
        check(s.lowpass_hz > 0.0 && s.lowpass_hz < nyquist, "lowpass_hz must be > 0 and < 22050", s.lowpass_hz)?;
        check(s.fade_ms >= 0.0 && s.fade_ms <= 60_000.0, "fade_ms must be in [0, 60000]", s.fade_ms)?;
        check(s.clouds_per_source <= 1000, "clouds_per_source must be ≤ 1000", s.clouds_per_source as f64)
    }
}

/// `Err("<rule> (got <value>)")` unless `ok` (NaN fails every rule above).
fn check(ok: bool, rule: &str, got: f64) -> Result<(), String> {
    if ok { Ok(()) } else { Err(format!("{rule} (got {got})")) }
}

/// What the grain gate did for one cloud.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct GrainStats {
    /// Grains that passed the gate and were placed.
    pub accepted: usize,
    /// Grains skipped because all `max_tries` draws scored below `min_grain_quality`.
    pub rejected: usize,
    /// Main failing reason of each skipped grain's best draw, with counts, sorted by reason.
    pub rejected_reasons: Vec<(String, usize)>,
}

/// One cloud (`seed` is the caller's per-cloud seed) at 44.1 kHz, exactly
/// `round(duration_s · 44100)` samples, with one channel per source channel. Shorthand for [`CloudSource::new`] +
/// [`CloudSource::cloud`]; use those to analyse a source once for several clouds.
///
/// Pipeline: `grains` times, draw a length `U{50..150 ms}` and a position centred on a stable
/// frame ([`CloudSource::new`] documents the rule), score the raw grain with
/// [`grain_quality`] and redraw below `min_grain_quality`, up to `max_tries` draws (a grain
/// that never passes is skipped and counted in [`GrainStats`]); Hann-window it and resample it
/// by `2^(st/12)`, `st ~ U(pitch_st_min, pitch_st_max)`; overlap-add the grains in draw order
/// at a hop of `mean length · overlap`, cycling through them until the buffer is full;
/// low-pass (order-4 Butterworth, zero phase) and fade in and out linearly over `fade_ms`
/// (at most a quarter of the cloud). Peak normalisation (−3 dBFS) is left to the engine.
///
/// ```
/// use ntsbuild::textures::Clip;
/// use ntsbuild::textures::clouds::{make_cloud, CloudSettings};
/// let tone: Vec<f32> = (0..44_100).map(|n| (0.5 * (n as f32 * 0.0314).sin())).collect();
/// let settings = CloudSettings { grains: 20, duration_s: 1.0, ..CloudSettings::default() };
/// let (cloud, stats) = make_cloud(&Clip::mono(tone), &settings, 1).unwrap();
/// assert_eq!(cloud.len(), 44_100);
/// assert_eq!(stats.accepted + stats.rejected, 20);
/// ```
///
/// Errors: settings that fail [`CloudSettings::validate`] (`NoCandidate`), a source shorter
/// than `grain_ms_max` (`TooShort`), a silent source or result (`Silent`), no grain passing
/// the gate (`NoCandidate`).
pub fn make_cloud(
    source: &dyn ClipSource,
    settings: &CloudSettings,
    seed: u64,
) -> Result<(Clip, GrainStats), TextureError> {
    CloudSource::new(source)?.cloud(settings, seed)
}

/// A source prepared for clouds: its per-frame stability analysis, read from it in blocks; the
/// grains are then read from it by position.
///
/// Grains are chosen, gated and pitched on the mixdown (non-finite samples as 0); a cloud then
/// has one channel per source channel, each built from the same grains of that channel (a
/// stereo source gives a stereo cloud with the source's own image; a mono source a mono cloud).
#[derive(Clone)]
pub struct CloudSource<'a> {
    source: &'a dyn ClipSource,
    /// Samples per channel.
    len: usize,
    /// Absolute peak of the mixdown.
    peak: f32,
    /// Per analysis frame (hop [`STABILITY_HOP`]): whether it is stable.
    stable: Vec<bool>,
    /// Per analysis frame: whether it is within 40 dB of the loudest frame.
    loud: Vec<bool>,
}

impl std::fmt::Debug for CloudSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudSource")
            .field("len", &self.len)
            .field("channels", &self.source.channel_count())
            .field("peak", &self.peak)
            .field("stable_fraction", &self.stable_fraction())
            .finish_non_exhaustive()
    }
}

/// Sets every non-finite sample to 0.
fn zero_non_finite(x: &mut [f32]) {
    for v in x.iter_mut().filter(|v| !v.is_finite()) {
        *v = 0.0;
    }
}

/// STFT length of the stability analysis (46 ms at 44.1 kHz).
pub const STABILITY_FFT: usize = 2048;
/// Hop between stability frames (23 ms at 44.1 kHz).
pub const STABILITY_HOP: usize = 1024;
/// Frames more than this far below the loudest frame's rms are not candidates (dB).
pub const STABILITY_FLOOR_DB: f64 = -40.0;
/// A frame is stable when its local change is at most this multiple of the lower quartile
/// of the loud frames' local change…
pub const STABILITY_QUARTILE_FACTOR: f64 = 2.0;
/// …or at most this absolute flux (a steady tone's change is numerically ~0; steady white
/// noise measures ~300).
pub const STABILITY_FLUX_FLOOR: f64 = 1.0;
/// Half-width of the moving average that turns spectral flux into local change (frames).
const STABILITY_SMOOTH: usize = 2;

impl<'a> CloudSource<'a> {
    /// Mixes `source` down (non-finite samples become 0) and finds its stable frames.
    ///
    /// Stability rule: frame `t` (centred on sample `1024·t`) is *loud* when its rms is
    /// within 40 dB of the loudest frame's, and *stable* when it is loud and its local change
    /// — the spectral flux `Σ_k max(0, ln(1 + 1000|X_t,k|) − ln(1 + 1000|X_t−1,k|))` averaged
    /// over frames `t − 2..=t + 2` — is at most 2 × the lower quartile of the loud frames'
    /// local change, or at most 1.0. Onsets and the frames around them therefore fall
    /// outside (even when most of the source is percussive, the calmest quarter sets the bar),
    /// while a steady tone or texture is stable throughout.
    ///
    /// `Err` only when the source cannot be read ([`TextureError::Read`]).
    pub fn new(source: &'a dyn ClipSource) -> Result<Self, TextureError> {
        let len = source.len();
        let mut peak = 0.0f32;
        let mut frames = StabilityFrames::new(len);
        let mut block = Vec::new();
        for_each_mixdown_block(source, |samples| {
            block.clear();
            block.extend_from_slice(samples);
            zero_non_finite(&mut block);
            peak = block.iter().fold(peak, |m, x| m.max(x.abs()));
            frames.push(&block);
        })?;
        let (rms, flux) = frames.finish();
        let loudest = rms.iter().copied().fold(0.0f64, f64::max);
        let floor = loudest * 10f64.powf(STABILITY_FLOOR_DB / 20.0);
        let loud: Vec<bool> = rms.iter().map(|&r| loudest > 0.0 && r >= floor).collect();
        let change = moving_average(&flux, STABILITY_SMOOTH);
        let mut loud_change: Vec<f64> = change.iter().zip(&loud).filter(|(_, l)| **l).map(|(c, _)| *c).collect();
        loud_change.sort_by(f64::total_cmp);
        let quartile = loud_change.get(loud_change.len() / 4).copied().unwrap_or(0.0);
        let limit = (quartile * STABILITY_QUARTILE_FACTOR).max(STABILITY_FLUX_FLOOR);
        let stable = change.iter().zip(&loud).map(|(&c, &l)| l && c <= limit).collect();
        Ok(Self { source, len, peak, stable, loud })
    }

    /// Samples `start .. start + len` of the mixdown, non-finite samples as 0 (as analysed).
    fn mixdown_window(&self, start: usize, len: usize) -> Result<Vec<f32>, TextureError> {
        let mut mono = self.source.read(start, len)?.into_mixdown();
        zero_non_finite(&mut mono);
        Ok(mono)
    }

    /// Samples `start .. start + len` of every channel, non-finite samples as 0.
    fn window(&self, start: usize, len: usize) -> Result<Clip, TextureError> {
        let mut clip = self.source.read(start, len)?;
        for c in &mut clip.channels {
            zero_non_finite(c);
        }
        Ok(clip)
    }

    /// Fraction of analysis frames that are stable (0 for an empty source).
    pub fn stable_fraction(&self) -> f64 {
        let n = self.stable.len().max(1);
        self.stable.iter().filter(|&&s| s).count() as f64 / n as f64
    }

    /// Renders one cloud from this source; see [`make_cloud`].
    pub fn cloud(&self, settings: &CloudSettings, seed: u64) -> Result<(Clip, GrainStats), TextureError> {
        settings.validate().map_err(|e| TextureError::NoCandidate(format!("invalid cloud settings: {e}")))?;
        let sr = f64::from(OUTPUT_RATE_HZ);
        let (_, max_len) = grain_len_range(settings);
        if self.len < max_len {
            return Err(TextureError::TooShort {
                need_s: settings.grain_ms_max / 1000.0,
                have_s: self.len as f64 / sr,
            });
        }
        if self.peak < SILENCE_PEAK {
            return Err(TextureError::Silent { peak: self.peak });
        }
        let (picks, stats) = self.gated_grains(settings, seed)?;
        if picks.is_empty() {
            return Err(TextureError::NoCandidate(format!(
                "no grain passed the quality gate ({} skipped: {})",
                stats.rejected,
                reasons_text(&stats.rejected_reasons)
            )));
        }
        // Each grain is read once, every channel; each channel's grains are then windowed,
        // pitched, overlap-added and low-passed.
        let mut per_channel: Vec<Vec<Vec<f32>>> = vec![Vec::with_capacity(picks.len()); self.source.channel_count()];
        for g in &picks {
            let window = self.window(g.start, g.len)?;
            for (grains, samples) in per_channel.iter_mut().zip(&window.channels) {
                grains.push(pitched_grain(samples, g.ratio));
            }
        }
        let mut channels = Vec::with_capacity(per_channel.len());
        for grains in per_channel {
            let out = overlap_add(&grains, settings);
            channels.push(
                butter_zero_phase(&out, OUTPUT_RATE_HZ, Band::Lowpass { cutoff_hz: settings.lowpass_hz }, 4)
                    .map_err(|e| TextureError::NoCandidate(format!("cloud low-pass: {e}")))?,
            );
        }
        let mut clip = Clip { channels };
        let fade = ms_to_samples(settings.fade_ms).min(clip.len() / 4);
        fade_in_out(&mut clip, fade, fade);
        let peak = clip.peak();
        if peak < SILENCE_PEAK {
            return Err(TextureError::Silent { peak });
        }
        Ok((clip, stats))
    }

    /// Draws and gates the grains on the mixdown (in draw order); each is then windowed and
    /// pitch-shifted per channel.
    ///
    /// Two independent streams come from `seed`: `"clouds/grains"` for lengths and positions,
    /// `"clouds/pitch"` for the shifts, so changing `max_tries` does not move the pitches.
    fn gated_grains(&self, settings: &CloudSettings, seed: u64) -> Result<(Vec<GrainPick>, GrainStats), TextureError> {
        let mut pick = Rng::new(Rng::derive(seed, "clouds/grains"));
        let mut pitch = Rng::new(Rng::derive(seed, "clouds/pitch"));
        let (min_len, max_len) = grain_len_range(settings);
        let pool = self.candidate_frames(max_len);
        let mut grains = Vec::with_capacity(settings.grains);
        let mut reasons: BTreeMap<&'static str, usize> = BTreeMap::new();
        let mut stats = GrainStats::default();
        for _ in 0..settings.grains {
            let mut best: Option<(f64, &'static str)> = None;
            let mut accepted = None;
            for _ in 0..settings.max_tries {
                let len = uniform_int(&mut pick, min_len, max_len);
                let start = self.grain_start(&pool, len, &mut pick);
                let (score, reason) = grain_quality(&self.mixdown_window(start, len)?);
                if score >= settings.min_grain_quality {
                    accepted = Some((start, len));
                    break;
                }
                if best.is_none_or(|(b, _)| score > b) {
                    best = Some((score, reason.unwrap_or("low quality")));
                }
            }
            let shift_st = pitch.range(settings.pitch_st_min, settings.pitch_st_max);
            match accepted {
                Some((start, len)) => {
                    stats.accepted += 1;
                    grains.push(GrainPick { start, len, ratio: 2f64.powf(shift_st / 12.0) });
                }
                None => {
                    stats.rejected += 1;
                    *reasons.entry(best.map_or("low quality", |b| b.1)).or_default() += 1;
                }
            }
        }
        stats.rejected_reasons = reasons.into_iter().map(|(r, n)| (r.to_string(), n)).collect();
        Ok((grains, stats))
    }

    /// Frames a grain may be centred on, best first available: stable frames whose
    /// neighbourhood of `±max_len/2` samples is all stable; else any stable frame; else any
    /// loud frame; else every frame.
    fn candidate_frames(&self, max_len: usize) -> Vec<usize> {
        let half = max_len.div_ceil(2 * STABILITY_HOP);
        let mut prefix = Vec::with_capacity(self.stable.len() + 1);
        prefix.push(0usize);
        for &s in &self.stable {
            prefix.push(prefix.last().copied().unwrap_or(0) + usize::from(s));
        }
        let n = self.stable.len();
        let core: Vec<usize> = (0..n)
            .filter(|&t| {
                let (lo, hi) = (t.saturating_sub(half), (t + half + 1).min(n));
                prefix[hi] - prefix[lo] == hi - lo
            })
            .collect();
        let pick = |flags: &[bool]| -> Vec<usize> { (0..n).filter(|&t| flags[t]).collect() };
        [core, pick(&self.stable), pick(&self.loud)]
            .into_iter()
            .find(|v| !v.is_empty())
            .unwrap_or_else(|| (0..n).collect())
    }

    /// A start sample for a grain of `len`: centred on a random candidate frame, jittered by up
    /// to half a hop, clamped into the source.
    fn grain_start(&self, pool: &[usize], len: usize, rng: &mut Rng) -> usize {
        let last = self.len - len;
        let frame = pool.get(uniform_int(rng, 0, pool.len().saturating_sub(1))).copied().unwrap_or(0);
        let jitter = rng.range(-0.5, 0.5) * STABILITY_HOP as f64;
        let centre = (frame * STABILITY_HOP) as f64 + jitter;
        ((centre - len as f64 / 2.0).round().max(0.0) as usize).min(last)
    }
}

/// One accepted grain: where it is in the source and how much it is pitched.
#[derive(Clone, Copy, Debug)]
struct GrainPick {
    start: usize,
    len: usize,
    ratio: f64,
}

/// Per centred frame (hop [`STABILITY_HOP`], zero-padded by half a frame at both ends): rms of
/// the frame and spectral flux against the previous frame, from a signal pushed in blocks.
struct StabilityFrames {
    plan: SpectrumPlan,
    prev: Vec<f64>,
    mags: Vec<f32>,
    /// Frames of the whole signal.
    count: usize,
    stream: CentredStream,
    rms: Vec<f64>,
    flux: Vec<f64>,
}

impl StabilityFrames {
    /// For a signal of `len` samples (none for an empty one).
    fn new(len: usize) -> Self {
        let plan = SpectrumPlan::new(STABILITY_FFT);
        let bins = plan.bin_count();
        let count = if len == 0 { 0 } else { centred_frame_count(len, STABILITY_HOP) };
        Self {
            plan,
            prev: vec![0.0; bins],
            mags: vec![0.0; bins],
            count,
            stream: CentredStream::new(STABILITY_FFT, STABILITY_HOP),
            rms: Vec::with_capacity(count),
            flux: Vec::with_capacity(count),
        }
    }

    /// The next samples of the signal.
    fn push(&mut self, samples: &[f32]) {
        self.stream.push(samples);
        self.analyse_ready();
    }

    /// Pads the end and analyses the remaining frames: `(rms, flux)` per frame.
    fn finish(mut self) -> (Vec<f64>, Vec<f64>) {
        self.stream.end();
        self.analyse_ready();
        (self.rms, self.flux)
    }

    fn analyse_ready(&mut self) {
        let first = self.stream.next_frame();
        let n = self.stream.ready().min(self.count.saturating_sub(first));
        for t in first..first + n {
            let frame = self.stream.frame(t);
            let energy: f64 = frame.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
            self.rms.push((energy / STABILITY_FFT as f64).sqrt());
            self.plan.magnitudes(frame, &mut self.mags);
            let mut sum = 0.0;
            for (p, &m) in self.prev.iter_mut().zip(&self.mags) {
                let cur = (1.0 + 1000.0 * f64::from(m)).ln();
                if t > 0 {
                    sum += (cur - *p).max(0.0);
                }
                *p = cur;
            }
            self.flux.push(sum);
        }
        self.stream.take(n);
    }
}

/// Mean of `x[t − half..=t + half]` (clipped at the ends) for every `t`.
fn moving_average(x: &[f64], half: usize) -> Vec<f64> {
    (0..x.len())
        .map(|t| {
            let window = &x[t.saturating_sub(half)..(t + half + 1).min(x.len())];
            window.iter().sum::<f64>() / window.len() as f64
        })
        .collect()
}

/// Grain score in [0, 1] and its main failing reason (the strongest penalty; `None` when
/// nothing was penalised). Measured on the raw grain at its true level; the score is the
/// product of the factors:
///
/// | check | rule | factor | reason |
/// |---|---|---|---|
/// | quiet | rms < 0.005 (−46 dBFS) / < 0.01 (−40 dBFS) | 0.1 / 0.3 | "too quiet" |
/// | DC | `|mean| / rms` > 0.5 / > 0.3 | 0.2 / 0.6 | "DC offset" |
/// | clipping | ≥ 3 samples at `|x|` ≥ 0.99 / peak ≥ 0.99 | 0.2 / 0.6 | "clipping" |
/// | crest | peak / rms > 15 / > 10 | 0.3 / 0.6 | "high crest factor" |
/// | skew | `|E₁ − E₂| / (E₁ + E₂)` of the halves > 0.85 / > 0.7 | 0.3 / 0.6 | "energy skewed to one half" |
///
/// With the default gate of 0.4 any single strong penalty rejects and two mild ones do. A grain
/// shorter than 2 samples, silent or not finite scores 0.
pub fn grain_quality(grain: &[f32]) -> (f64, Option<&'static str>) {
    if grain.len() < 2 {
        return (0.0, Some("too short"));
    }
    if grain.iter().any(|x| !x.is_finite()) {
        return (0.0, Some("not finite"));
    }
    let n = grain.len() as f64;
    let (mut sum, mut sum_sq, mut peak, mut hot) = (0.0f64, 0.0f64, 0.0f64, 0usize);
    // One pass; the first half's energy is the running sum of squares halfway through.
    let half = grain.len() / 2;
    let mut e1 = 0.0;
    for (i, part) in [&grain[..half], &grain[half..]].into_iter().enumerate() {
        for &x in part {
            let x = f64::from(x);
            sum += x;
            sum_sq += x * x;
            peak = peak.max(x.abs());
            hot += usize::from(x.abs() >= 0.99);
        }
        if i == 0 {
            e1 = sum_sq;
        }
    }
    let rms = (sum_sq / n).sqrt();
    if rms < 1e-9 {
        return (0.0, Some("too quiet"));
    }
    let skew = (2.0 * e1 - sum_sq).abs() / sum_sq;
    let dc = (sum / n).abs() / rms;
    let factors = [
        (tier(rms < 0.005, 0.1, rms < 0.01, 0.3), "too quiet"),
        (tier(dc > 0.5, 0.2, dc > 0.3, 0.6), "DC offset"),
        (tier(hot >= 3, 0.2, peak >= 0.99, 0.6), "clipping"),
        (tier(peak / rms > 15.0, 0.3, peak / rms > 10.0, 0.6), "high crest factor"),
        (tier(skew > 0.85, 0.3, skew > 0.7, 0.6), "energy skewed to one half"),
    ];
    let score = factors.iter().map(|f| f.0).product::<f64>().clamp(0.0, 1.0);
    let worst = factors.iter().filter(|f| f.0 < 1.0).min_by(|a, b| a.0.total_cmp(&b.0)).map(|f| f.1);
    (score, worst)
}

/// `strong_factor` if `strong`, else `mild_factor` if `mild`, else 1.
fn tier(strong: bool, strong_factor: f64, mild: bool, mild_factor: f64) -> f64 {
    if strong {
        strong_factor
    } else if mild {
        mild_factor
    } else {
        1.0
    }
}

/// One channel of a grain as the cloud uses it: [`resample_cubic`] of [`hann_windowed`].
///
/// On x86-64 CPUs with AVX2 the same code is compiled a second time for 256-bit vectors and used
/// instead: the same IEEE operations in the same order (no fused multiply-add), so the same bits.
fn pitched_grain(samples: &[f32], ratio: f64) -> Vec<f32> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { pitched_grain_avx2(samples, ratio) };
    }
    resample_cubic(&hann_windowed(samples), ratio)
}

/// [`pitched_grain`]'s work compiled with AVX2 enabled.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn pitched_grain_avx2(samples: &[f32], ratio: f64) -> Vec<f32> {
    resample_cubic(&hann_windowed(samples), ratio)
}

/// `grain · w`, with the symmetric Hann window `w[i] = ½ − ½·cos(2πi/(L − 1))` (zero at both
/// ends, so overlap-added grains start and stop without clicks).
///
/// The cosines come four at a time from a rotation: in each block of [`HANN_BLOCK`] samples the
/// first four are [`approx::sin_cos`]'s (within 2e-15 of the exact value) and each next four are
/// the previous four turned by `4·2π/(L − 1)` (a complex product), so a cosine is a few products
/// from an exact one (within 1e-14) and the loop has no per-sample library call.
#[inline(always)]
fn hann_windowed(grain: &[f32]) -> Vec<f32> {
    const LANES: usize = 4;
    let step = std::f64::consts::TAU / (grain.len().max(2) - 1) as f64;
    let (turn_sin, turn_cos) = approx::sin_cos(step * LANES as f64);
    let mut out = Vec::with_capacity(grain.len());
    for (b, block) in grain.chunks(HANN_BLOCK).enumerate() {
        let (mut sin, mut cos) = ([0.0f64; LANES], [0.0f64; LANES]);
        for l in 0..LANES {
            (sin[l], cos[l]) = approx::sin_cos(step * (b * HANN_BLOCK + l) as f64);
        }
        for quad in block.chunks(LANES) {
            for (l, &x) in quad.iter().enumerate() {
                out.push((f64::from(x) * (0.5 - 0.5 * cos[l])) as f32);
            }
            for l in 0..LANES {
                (sin[l], cos[l]) = (sin[l] * turn_cos + cos[l] * turn_sin, cos[l] * turn_cos - sin[l] * turn_sin);
            }
        }
    }
    // The far end is zero exactly, as the near end is (a rotated cosine may miss 1 by an ulp).
    if let (Some(o), Some(&x), true) = (out.last_mut(), grain.last(), grain.len() >= 2) {
        *o = (f64::from(x) * 0.0) as f32;
    }
    out
}

/// Samples per block of [`hann_windowed`]'s rotation (a multiple of its four lanes).
const HANN_BLOCK: usize = 64;

/// Tape-speed pitch shift: reads `x` at positions `j·rate` (`rate = 2^(st/12)`; > 1 raises the
/// pitch and shortens the grain) for `j < ⌊(L − 1)/rate⌋ + 1`, with 4-point cubic (Catmull-Rom)
/// interpolation `p(t) = x₀ + ½t(x₁ − x₋₁) + t²(x₋₁ − 2.5x₀ + 2x₁ − ½x₂) + ½t³(3(x₀ − x₁) + x₂ − x₋₁)`
/// and zeros outside the grain. Upward shifts are not band-limited: content above
/// `22050/rate` Hz aliases, and the cloud's 8 kHz low-pass removes most of it.
#[inline(always)]
fn resample_cubic(x: &[f32], rate: f64) -> Vec<f32> {
    if x.is_empty() || rate.is_nan() || rate <= 0.0 {
        return x.to_vec();
    }
    let at = |i: isize| -> f64 { if i < 0 { 0.0 } else { x.get(i as usize).map_or(0.0, |&v| f64::from(v)) } };
    let len = ((x.len() - 1) as f64 / rate).floor() as usize + 1;
    (0..len)
        .map(|j| {
            let pos = j as f64 * rate;
            let i = pos as isize; // pos ≥ 0, so truncation is the floor
            let t = pos - i as f64;
            let (xm, x0, x1, x2) = match usize::try_from(i - 1) {
                Ok(k) if k + 3 < x.len() => {
                    let w = &x[k..k + 4];
                    (f64::from(w[0]), f64::from(w[1]), f64::from(w[2]), f64::from(w[3]))
                }
                _ => (at(i - 1), at(i), at(i + 1), at(i + 2)),
            };
            let v = x0
                + 0.5 * t * (x1 - xm)
                + t * t * (xm - 2.5 * x0 + 2.0 * x1 - 0.5 * x2)
                + 0.5 * t * t * t * (3.0 * (x0 - x1) + x2 - xm);
            v as f32
        })
        .collect()
}

/// Direct overlap-add: grain `g mod G` starts at `g · hop`, `hop = max(1, round(mean · overlap))`
/// with `mean = (min + max)/2` grain samples, cycling through the grains until the
/// `round(duration_s · 44100)`-sample buffer is covered; grains running past the end are cut.
fn overlap_add(grains: &[Vec<f32>], settings: &CloudSettings) -> Vec<f32> {
    let total = (settings.duration_s * f64::from(OUTPUT_RATE_HZ)).round() as usize;
    let mean = ms_to_samples_f(0.5 * (settings.grain_ms_min + settings.grain_ms_max));
    let hop = ((mean * settings.overlap).round() as usize).max(1);
    let mut out = written_zeros::<f32>(total);
    for (k, start) in (0..total).step_by(hop).enumerate() {
        let grain = &grains[k % grains.len()];
        for (o, &g) in out[start..].iter_mut().zip(grain) {
            *o += g;
        }
    }
    out
}

/// Grain lengths in samples before pitch shifting: `round(ms · 44.1)`, at least 2.
fn grain_len_range(settings: &CloudSettings) -> (usize, usize) {
    let min_len = ms_to_samples(settings.grain_ms_min).max(2);
    (min_len, ms_to_samples(settings.grain_ms_max).max(min_len))
}

fn ms_to_samples_f(ms: f64) -> f64 {
    ms * f64::from(OUTPUT_RATE_HZ) / 1000.0
}

fn ms_to_samples(ms: f64) -> usize {
    ms_to_samples_f(ms).round() as usize
}

/// Uniform integer in `lo..=hi` (`lo` when `hi ≤ lo`).
fn uniform_int(rng: &mut Rng, lo: usize, hi: usize) -> usize {
    if hi <= lo {
        return lo;
    }
    let span = (hi - lo + 1) as f64;
    lo + ((rng.uniform() * span) as usize).min(hi - lo)
}

fn reasons_text(reasons: &[(String, usize)]) -> String {
    reasons.iter().map(|(r, n)| format!("{r} ×{n}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::TAU;

    const SR: f64 = OUTPUT_RATE_HZ as f64;

    fn tone(seconds: f64, amp: f64) -> Vec<f32> {
        (0..(seconds * SR) as usize)
            .map(|n| {
                let t = n as f64 / SR;
                (amp * (0.7 * (TAU * 220.0 * t).sin() + 0.3 * (TAU * 330.0 * t).sin())) as f32
            })
            .collect()
    }

    fn fast() -> CloudSettings {
        CloudSettings { grains: 40, duration_s: 1.0, ..CloudSettings::default() }
    }

    /// The grain window is the symmetric Hann window to within f32 rounding (zero at both ends),
    /// and the copy of the grain code compiled for AVX2 gives the portable copy's bits.
    #[test]
    fn grains_are_hann_windowed_and_pitched_alike_on_every_cpu() {
        for len in [2usize, 3, 5, 63, 64, 65, 441, 2205, 6615, 44_100] {
            let ones = vec![1.0f32; len];
            let w = hann_windowed(&ones);
            let last = (len - 1) as f64;
            for (i, &v) in w.iter().enumerate() {
                let exact = 0.5 - 0.5 * (TAU * i as f64 / last).cos();
                assert!((f64::from(v) - exact).abs() <= f64::from(f32::EPSILON) * exact.max(1e-30), "{len}: {i}");
            }
            assert_eq!((w[0], w[len - 1]), (0.0, 0.0), "{len}: zero at both ends");
            let grain = tone(len as f64 / SR, 0.5);
            for ratio in [0.667, 1.0, 1.498] {
                let portable = resample_cubic(&hann_windowed(&grain), ratio);
                let used = pitched_grain(&grain, ratio);
                assert_eq!(
                    used.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    portable.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
                );
            }
        }
    }

    /// A stereo source gives a stereo cloud built from its own channels (the same grains,
    /// each channel's samples); the mixdown gives the same grains in one channel.
    #[test]
    fn stereo_sources_give_clouds_with_their_own_channels() {
        let left = tone(1.0, 0.5);
        let right: Vec<f32> = left.iter().map(|v| -0.5 * v).collect();
        let settings = CloudSettings { grains: 30, duration_s: 1.0, ..CloudSettings::default() };
        let (stereo, _) = make_cloud(&Clip { channels: vec![left.clone(), right] }, &settings, 9).expect("cloud");
        assert_eq!(stereo.channels.len(), 2);
        // Right is left × −0.5, and every step is linear: so is the cloud.
        for (l, r) in stereo.channels[0].iter().zip(&stereo.channels[1]) {
            assert!((r + 0.5 * l).abs() < 1e-5, "{l} {r}");
        }
        let mono = Clip::mono(stereo_mixdown(&left));
        let (cloud, _) = make_cloud(&mono, &settings, 9).expect("mono cloud");
        assert_eq!(cloud.channels.len(), 1);
    }

    fn stereo_mixdown(left: &[f32]) -> Vec<f32> {
        Clip { channels: vec![left.to_vec(), left.iter().map(|v| -0.5 * v).collect()] }.mixdown().into_owned()
    }

    #[test]
    fn gate_rejects_bad_grains_and_accepts_a_windowed_sine() {
        let n = 4410;
        let sine: Vec<f32> = (0..n).map(|i| (0.5 * (TAU * 440.0 * i as f64 / SR).sin()) as f32).collect();
        let (score, reason) = grain_quality(&hann_windowed(&sine));
        assert!(score >= 0.99, "windowed sine {score} {reason:?}");
        assert_eq!(reason, None);
        let cases: [(&str, Vec<f32>); 5] = [
            ("too quiet", vec![0.0; n]),
            ("too quiet", sine.iter().map(|x| x * 0.005).collect()),
            ("DC offset", vec![0.3; n]),
            ("clipping", sine.iter().map(|x| (x * 4.0).clamp(-1.0, 1.0)).collect()),
            (
                "energy skewed to one half",
                sine.iter().enumerate().map(|(i, &x)| if i < n / 2 { 0.0 } else { x }).collect(),
            ),
        ];
        for (expected, grain) in cases {
            let (score, reason) = grain_quality(&grain);
            assert!(score < 0.4, "{expected}: {score}");
            assert_eq!(reason, Some(expected));
        }
        let mut click = vec![0.001f32; n];
        click[100] = 0.9;
        assert_eq!(grain_quality(&click).1, Some("high crest factor"));
        assert_eq!(grain_quality(&[0.5]).0, 0.0);
        assert_eq!(grain_quality(&[f32::NAN, 0.5]).0, 0.0);
    }

    #[test]
    fn silent_or_short_source_is_an_error() {
        let silent = Clip::mono(vec![0.0; 44_100]);
        assert!(matches!(make_cloud(&silent, &fast(), 1), Err(TextureError::Silent { .. })));
        let short = Clip::mono(tone(0.1, 0.5));
        assert!(matches!(make_cloud(&short, &fast(), 1), Err(TextureError::TooShort { .. })));
        let empty = Clip { channels: vec![] };
        assert!(matches!(make_cloud(&empty, &fast(), 1), Err(TextureError::TooShort { .. })));
        let tiny = CloudSettings { grain_ms_min: 0.01, grain_ms_max: 0.01, ..fast() };
        assert!(matches!(make_cloud(&Clip::mono(vec![0.5]), &tiny, 1), Err(TextureError::TooShort { .. })));
        // Loud enough to be non-silent, too quiet for every grain: no candidate, counted.
        let whisper = Clip::mono(tone(1.0, 0.001));
        match make_cloud(&whisper, &fast(), 1) {
            Err(TextureError::NoCandidate(msg)) => assert!(msg.contains("too quiet ×40"), "{msg}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn same_seed_same_bits_other_seed_differs() {
        let source = Clip::mono(tone(1.0, 0.5));
        let (a, stats) = make_cloud(&source, &fast(), 7).unwrap();
        let (b, _) = make_cloud(&source, &fast(), 7).unwrap();
        let (c, _) = make_cloud(&source, &fast(), 8).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!((stats.accepted, stats.rejected), (40, 0));
    }

    #[test]
    fn length_and_peak_of_a_tonal_cloud() {
        let source = Clip::mono(tone(1.0, 0.5));
        let settings = CloudSettings { grains: 60, ..CloudSettings::default() };
        let (cloud, _) = make_cloud(&source, &settings, 3).unwrap();
        assert_eq!(cloud.channels.len(), 1);
        assert_eq!(cloud.len(), 6 * 44_100);
        let peak = cloud.peak();
        assert!(peak.is_finite() && peak > 0.01, "{peak}");
        assert!(cloud.channels[0].iter().all(|x| x.is_finite()));
        assert_eq!((cloud.channels[0][0], cloud.channels[0][cloud.len() - 1]), (0.0, 0.0), "faded ends");
    }

    #[test]
    fn grains_avoid_transients() {
        // First half: clicks every 100 ms over a quiet tone; second half: the steady tone.
        let mut x = tone(2.0, 0.3);
        for k in 0..10 {
            for s in &mut x[k * 4410..k * 4410 + 64] {
                *s = 0.95;
            }
        }
        let clip = Clip::mono(x);
        let source = CloudSource::new(&clip).expect("a clip in memory reads");
        let stable_frames: Vec<usize> = (0..source.stable.len()).filter(|&t| source.stable[t]).collect();
        let in_clicks = stable_frames.iter().filter(|&&t| t * STABILITY_HOP < 44_100).count();
        assert!(in_clicks * 5 < stable_frames.len(), "{in_clicks} of {}", stable_frames.len());
        let pool = source.candidate_frames(ms_to_samples(150.0));
        assert!(pool.iter().all(|&t| t * STABILITY_HOP >= 44_100), "{pool:?}");
    }

    #[test]
    fn cubic_resampling_shifts_pitch() {
        let x: Vec<f32> = (0..4410).map(|i| (TAU * 441.0 * i as f64 / SR).sin() as f32).collect();
        let up = resample_cubic(&x, 2f64.powf(7.0 / 12.0));
        assert_eq!(up.len(), (4409.0 / 2f64.powf(7.0 / 12.0)) as usize + 1);
        // A fifth up: 441 Hz becomes 660.7 Hz; count zero crossings over the grain.
        let crossings = up.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count() as f64;
        let hz = crossings / (up.len() as f64 / SR);
        assert!((hz - 660.7).abs() < 15.0, "{hz}");
        assert_eq!(resample_cubic(&x, 1.0), x);
    }

    #[test]
    fn settings_validate_names_the_field() {
        assert_eq!(CloudSettings::default().validate(), Ok(()));
        let bad = CloudSettings { grain_ms_min: 0.0, ..CloudSettings::default() };
        assert_eq!(bad.validate().unwrap_err(), "grain_ms_min must be > 0 and ≤ grain_ms_max (got 0)");
        let bad = CloudSettings { lowpass_hz: 30_000.0, ..CloudSettings::default() };
        assert!(bad.validate().unwrap_err().starts_with("lowpass_hz"));
        let bad = CloudSettings { overlap: f64::NAN, ..CloudSettings::default() };
        assert!(bad.validate().unwrap_err().starts_with("overlap"));
        let source = Clip::mono(tone(1.0, 0.5));
        assert!(matches!(make_cloud(&source, &bad, 1), Err(TextureError::NoCandidate(_))));
    }
}
