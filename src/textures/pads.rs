//! Pad mining (DOMAIN §G "Pad mining"): sustained, moderately loud, tonal windows of a source,
//! scored, de-overlapped, trimmed by correlation and turned into seamless loops.
//!
//! Analysis runs once per source on the mixdown ([`crate::features::features`] at 44.1 kHz,
//! `n_fft` 2048, hop 512: rms, spectral flatness, librosa onset strength), read in blocks;
//! every window then reads prefix sums of those frames, so mining a 3-minute source costs one
//! STFT, and a 30-minute one holds its frames, not its samples.

use crate::features::{FeatureAccumulator, HOP_LEN};

use super::looping::{correlation_trim_len, crossfade_loop};
use super::{Clip, ClipSource, OUTPUT_RATE_HZ, TextureError, for_each_mixdown_block};

/// Rejection reason: the window's rms is below `rms_db_min` (silence and non-finite samples land here).
pub const REASON_TOO_QUIET: &str = "rms_db below rms_db_min";
/// Rejection reason: the window's rms is above `rms_db_max`.
pub const REASON_TOO_LOUD: &str = "rms_db above rms_db_max";
/// Rejection reason: more onsets per second than `max_onset_rate_hz`.
pub const REASON_ONSETS: &str = "onset rate above max_onset_rate_hz";
/// Rejection reason: mean spectral flatness above `max_flatness` (noise-like).
pub const REASON_FLAT: &str = "mean flatness above max_flatness";
/// Rejection reason: the source is shorter than a target duration (counted once per duration).
pub const REASON_SHORT: &str = "source shorter than target duration";
/// Rejection reason: the settings did not validate (counted once).
pub const REASON_SETTINGS: &str = "invalid settings";

/// Largest share of a window the correlation search may trim (DOMAIN §G: ≤ N/4).
pub const MAX_TRIM_FRACTION: usize = 4;

/// Onset peak picking (librosa `onset_detect` windows at 44.1 kHz / hop 512): a frame is an
/// onset when it is the maximum of the `PRE_MAX` frames before it and itself …
const PRE_MAX_FRAMES: usize = 2;
/// … exceeds the mean of `PRE_AVG` frames before to `POST_AVG` after by [`ONSET_DELTA`] …
const PRE_AVG_FRAMES: usize = 8;
const POST_AVG_FRAMES: usize = 9;
/// … and comes at least `WAIT` frames after the previous onset.
const WAIT_FRAMES: usize = 2;
/// Absolute threshold on the onset strength (mean positive rise of the mel spectrum, in dB).
/// librosa normalises the envelope to [0, 1] per file before its 0.07 threshold, which makes a
/// steady tone's tiny fluctuations look like onsets and a uniformly clicky file look like none
/// (the seed's gate never fired); an absolute rise of 1 dB averaged over all 128 bands is well
/// above a sustained sound's jitter and far below any attack.
pub const ONSET_DELTA: f64 = 1.0;

/// Pad mining settings (DOMAIN §G defaults).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct PadSettings {
    /// Window lengths to mine, in seconds (default `[2.0]`).
    pub target_durations_s: Vec<f64>,
    /// Hop between candidate windows, in seconds (default 0.5).
    pub hop_s: f64,
    /// Quietest accepted window rms, in dBFS (default −40).
    pub rms_db_min: f64,
    /// Loudest accepted window rms, in dBFS (default −10).
    pub rms_db_max: f64,
    /// Most onsets per second a window may have, in Hz (default 3).
    pub max_onset_rate_hz: f64,
    /// Highest accepted mean spectral flatness, 0–1 (default 0.5; white noise is ≈ 0.56).
    pub max_flatness: f64,
    /// Pads kept per target duration, best score first (default 3).
    pub best_per_duration: usize,
    /// Equal-power loop crossfade, in milliseconds (default 100).
    pub crossfade_ms: f64,
}

impl Default for PadSettings {
    fn default() -> Self {
        Self {
            target_durations_s: vec![2.0],
            hop_s: 0.5,
            rms_db_min: -40.0,
            rms_db_max: -10.0,
            max_onset_rate_hz: 3.0,
            max_flatness: 0.5,
            best_per_duration: 3,
            crossfade_ms: 100.0,
        }
    }
}

impl PadSettings {
    /// Checks every field; the message names the first bad one.
    pub fn validate(&self) -> Result<(), String> {
        if self.target_durations_s.is_empty() {
            return Err("target_durations_s must not be empty".to_string());
        }
        if let Some(d) = self.target_durations_s.iter().find(|d| !(d.is_finite() && **d > 0.0 && **d <= 600.0)) {
            return Err(format!("target_durations_s must be > 0 and ≤ 600 s (got {d})"));
        }
        if !(self.hop_s.is_finite() && self.hop_s >= 0.01) {
            return Err(format!("hop_s must be ≥ 0.01 s (got {})", self.hop_s));
        }
        if !(self.rms_db_min.is_finite() && self.rms_db_max.is_finite() && self.rms_db_min < self.rms_db_max) {
            return Err(format!("rms_db_min must be < rms_db_max (got {} and {})", self.rms_db_min, self.rms_db_max));
        }
        if !(self.max_onset_rate_hz.is_finite() && self.max_onset_rate_hz >= 0.0) {
            return Err(format!("max_onset_rate_hz must be ≥ 0 (got {})", self.max_onset_rate_hz));
        }
        if !(self.max_flatness.is_finite() && (0.0..=1.0).contains(&self.max_flatness)) {
            return Err(format!("max_flatness must be in [0, 1] (got {})", self.max_flatness));
        }
        if self.best_per_duration == 0 {
            return Err("best_per_duration must be ≥ 1 (got 0)".to_string());
        }
        let shortest_ms = self.target_durations_s.iter().fold(f64::INFINITY, |m, &d| m.min(d)) * 1000.0;
        if !(self.crossfade_ms.is_finite() && self.crossfade_ms >= 0.0 && 4.0 * self.crossfade_ms <= shortest_ms) {
            return Err(format!(
                "crossfade_ms must be ≥ 0 and ≤ a quarter of the shortest target duration (got {})",
                self.crossfade_ms
            ));
        }
        Ok(())
    }
}

/// One mined pad: a seamless loop cut from the source.
#[derive(Clone, Debug, PartialEq)]
pub struct Pad {
    /// The loop (all source channels), `trimmed length − crossfade` samples long.
    pub clip: Clip,
    /// Where the window starts in the source, in seconds.
    pub start_s: f64,
    /// The target duration this pad was mined for, in seconds.
    pub target_duration_s: f64,
    /// `−mean(onset strength) − mean(flatness)`: higher is steadier and more tonal.
    pub score: f64,
}

/// What mining found: the pads, how many windows were examined, and why the others were
/// rejected (reason → count, in a fixed order, zero counts left out).
#[derive(Clone, Debug, PartialEq)]
pub struct PadReport {
    pub pads: Vec<Pad>,
    pub windows: usize,
    pub rejected: Vec<(String, usize)>,
}

/// Mines pads from `source` (DOMAIN §G "Pad mining").
///
/// For each target duration, windows start every `hop_s` and are gated, first failure counted:
/// rms dB (of the window's mixdown samples) outside `[rms_db_min, rms_db_max]`, onset rate
/// (picked onsets per second) above `max_onset_rate_hz`, mean flatness above `max_flatness`.
/// Survivors are scored `−mean(onset strength) − mean(flatness)` and taken greedily best first
/// (ties: earlier start), skipping any window that overlaps one already taken for the same
/// duration, up to `best_per_duration`. Windows of different durations may overlap. Each is
/// trimmed by [`correlation_trim_len`] (≤ N/4, window = the crossfade) and looped with
/// [`crossfade_loop`]. Pads come ordered by target duration (settings order), then score
/// descending, then start time.
///
/// The source is read twice by position: once in blocks for the analysis, then each chosen
/// window. `Err` only when the source cannot be read ([`TextureError::Read`]).
pub fn mine_pads(source: &dyn ClipSource, settings: &PadSettings) -> Result<PadReport, TextureError> {
    let mut tally = Tally::default();
    if let Err(e) = settings.validate() {
        tally.add(&format!("{REASON_SETTINGS}: {e}"));
        return Ok(PadReport { pads: Vec::new(), windows: 0, rejected: tally.finish() });
    }
    let analysis = Analysis::new(source, settings)?;
    let mut pads = Vec::new();
    let mut windows = 0;
    for &duration_s in &settings.target_durations_s {
        let candidates = analysis.candidates(duration_s, settings, &mut tally);
        windows += candidates.examined;
        for w in best_non_overlapping(candidates.passed, settings.best_per_duration) {
            if let Some(pad) = make_pad(source.read(w.start, w.len)?, w, duration_s, settings.crossfade_ms) {
                pads.push(pad);
            }
        }
    }
    Ok(PadReport { pads, windows, rejected: tally.finish() })
}

/// Reason counts in first-seen order (deterministic: the order of the checks).
#[derive(Default)]
struct Tally(Vec<(String, usize)>);

impl Tally {
    fn add(&mut self, reason: &str) {
        match self.0.iter_mut().find(|(r, _)| r == reason) {
            Some((_, n)) => *n += 1,
            None => self.0.push((reason.to_string(), 1)),
        }
    }

    fn finish(self) -> Vec<(String, usize)> {
        const ORDER: [&str; 5] = [REASON_SHORT, REASON_TOO_QUIET, REASON_TOO_LOUD, REASON_ONSETS, REASON_FLAT];
        let rank = |r: &str| ORDER.iter().position(|o| *o == r).unwrap_or(ORDER.len());
        let mut v = self.0;
        v.sort_by_key(|(r, _)| rank(r));
        v
    }
}

/// A window that passed the gates.
#[derive(Clone, Copy, Debug)]
struct Window {
    start: usize,
    len: usize,
    score: f64,
}

struct Candidates {
    examined: usize,
    passed: Vec<Window>,
}

/// Per-source analysis: prefix sums over samples and frames, and the picked onsets.
struct Analysis {
    /// Samples in the source.
    len: usize,
    sum_sq: SampledSum,
    flatness: Vec<f64>,
    onset: Vec<f64>,
    onset_peaks: Vec<f64>,
}

impl Analysis {
    /// One pass over the mixdown in blocks: the frame features and the running sum of squares.
    fn new(source: &dyn ClipSource, settings: &PadSettings) -> Result<Self, TextureError> {
        let len = source.len();
        let mut accumulator = FeatureAccumulator::new(OUTPUT_RATE_HZ);
        let mut sum_sq = SampledSum::new(window_bounds(len, settings));
        for_each_mixdown_block(source, |block| {
            accumulator.push(block);
            sum_sq.extend(block.iter().map(|&v| f64::from(v) * f64::from(v)));
        })?;
        let f = accumulator.finish();
        let onset_env: Vec<f64> = f.onset.iter().map(|&v| f64::from(v)).collect();
        let peaks = pick_onsets(&onset_env);
        let mut peak_flags = vec![0.0; onset_env.len()];
        for p in peaks {
            peak_flags[p] = 1.0;
        }
        Ok(Self {
            len,
            sum_sq,
            flatness: prefix(f.flatness.iter().map(|&v| f64::from(v))),
            onset: prefix(onset_env.iter().copied()),
            onset_peaks: prefix(peak_flags.into_iter()),
        })
    }

    /// Gates every window of `duration_s`, counting rejections into `tally`.
    fn candidates(&self, duration_s: f64, settings: &PadSettings, tally: &mut Tally) -> Candidates {
        let sr = f64::from(OUTPUT_RATE_HZ);
        let len = (duration_s * sr).round() as usize;
        let hop = ((settings.hop_s * sr).round() as usize).max(1);
        let n = self.len;
        if len == 0 || len > n {
            tally.add(REASON_SHORT);
            return Candidates { examined: 0, passed: Vec::new() };
        }
        let mut passed = Vec::new();
        let starts: Vec<usize> = (0..=(n - len) / hop).map(|k| k * hop).collect();
        for &start in &starts {
            match self.gate(start, len, settings) {
                Ok(score) => passed.push(Window { start, len, score }),
                Err(reason) => tally.add(reason),
            }
        }
        Candidates { examined: starts.len(), passed }
    }

    /// The window's score, or the first gate it fails.
    fn gate(&self, start: usize, len: usize, s: &PadSettings) -> Result<f64, &'static str> {
        let rms = ((self.sum_sq.at(start + len) - self.sum_sq.at(start)).max(0.0) / len as f64).sqrt();
        let rms_db = 20.0 * rms.max(1e-12).log10();
        if rms_db.is_nan() || rms_db < s.rms_db_min {
            return Err(REASON_TOO_QUIET);
        }
        if rms_db > s.rms_db_max {
            return Err(REASON_TOO_LOUD);
        }
        let frames = frame_range(start, len, self.flatness.len() - 1);
        let count = (frames.end - frames.start).max(1) as f64;
        let mean = |p: &[f64]| (p[frames.end] - p[frames.start]) / count;
        let duration_s = len as f64 / f64::from(OUTPUT_RATE_HZ);
        let onsets = self.onset_peaks[frames.end] - self.onset_peaks[frames.start];
        if onsets / duration_s > s.max_onset_rate_hz {
            return Err(REASON_ONSETS);
        }
        let flatness = mean(&self.flatness);
        if flatness > s.max_flatness {
            return Err(REASON_FLAT);
        }
        Ok(-mean(&self.onset) - flatness)
    }
}

/// The sample positions a window of [`Analysis::candidates`] starts or ends at, sorted: every
/// multiple of the hop, and each of them plus each target duration, up to `n`.
fn window_bounds(n: usize, settings: &PadSettings) -> Vec<usize> {
    let sr = f64::from(OUTPUT_RATE_HZ);
    let hop = ((settings.hop_s * sr).round() as usize).max(1);
    let lens: Vec<usize> = settings.target_durations_s.iter().map(|d| (d * sr).round() as usize).collect();
    let mut bounds: Vec<usize> = (0..=n / hop)
        .flat_map(|k| std::iter::once(0).chain(lens.iter().copied()).map(move |len| k * hop + len))
        .filter(|&p| p <= n)
        .collect();
    bounds.sort_unstable();
    bounds.dedup();
    bounds
}

/// The running sum `x0 + … + x(p−1)` kept only at chosen positions `p`: the same additions in
/// the same order as a full prefix array, so the same values, in a few kilobytes instead of
/// eight bytes a sample. Values arrive in pieces ([`SampledSum::extend`]).
struct SampledSum {
    positions: Vec<usize>,
    sums: Vec<f64>,
    acc: f64,
    index: usize,
}

impl SampledSum {
    /// Keeps the running sum at each of the sorted `positions` (the one at 0 at once).
    fn new(positions: Vec<usize>) -> Self {
        let mut sum = Self { positions, sums: Vec::new(), acc: 0.0, index: 0 };
        sum.keep();
        sum
    }

    /// Adds the next values.
    fn extend(&mut self, values: impl Iterator<Item = f64>) {
        for v in values {
            self.acc += v;
            self.index += 1;
            self.keep();
        }
    }

    fn keep(&mut self) {
        while self.positions.get(self.sums.len()) == Some(&self.index) {
            self.sums.push(self.acc);
        }
    }

    /// The running sum at `position`, which must be one of the kept positions reached so far.
    fn at(&self, position: usize) -> f64 {
        match self.positions[..self.sums.len()].binary_search(&position) {
            Ok(i) => self.sums[i],
            Err(_) => f64::NAN,
        }
    }
}

/// `[0, x0, x0 + x1, …]`.
fn prefix(values: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut out = vec![0.0];
    let mut acc = 0.0;
    for v in values {
        acc += v;
        out.push(acc);
    }
    out
}

/// Frames whose centre `t·512` lies in `[start, start + len)`, clamped to `frame_count`.
fn frame_range(start: usize, len: usize, frame_count: usize) -> std::ops::Range<usize> {
    let first = start.div_ceil(HOP_LEN).min(frame_count);
    let end = (start + len).div_ceil(HOP_LEN).min(frame_count);
    first..end.max(first)
}

/// Onset frames of `env`: local maximum over the `PRE_MAX_FRAMES` before, at least
/// `ONSET_DELTA` above the mean of the surrounding `PRE_AVG`/`POST_AVG` frames, and at least
/// `WAIT_FRAMES` after the previous onset.
pub(crate) fn pick_onsets(env: &[f64]) -> Vec<usize> {
    let mut peaks = Vec::new();
    let mut last: Option<usize> = None;
    for t in 0..env.len() {
        let lo = t.saturating_sub(PRE_MAX_FRAMES);
        let is_max = env[lo..t].iter().all(|&v| v <= env[t]) && env.get(t + 1).is_none_or(|&v| v < env[t]);
        if !is_max {
            continue;
        }
        let avg = &env[t.saturating_sub(PRE_AVG_FRAMES)..(t + POST_AVG_FRAMES + 1).min(env.len())];
        let mean = avg.iter().sum::<f64>() / avg.len() as f64;
        if env[t] < mean + ONSET_DELTA {
            continue;
        }
        if last.is_some_and(|l| t - l < WAIT_FRAMES) {
            continue;
        }
        peaks.push(t);
        last = Some(t);
    }
    peaks
}

/// Best windows first (ties: earlier start), skipping overlaps, at most `keep`.
fn best_non_overlapping(mut windows: Vec<Window>, keep: usize) -> Vec<Window> {
    windows.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.start.cmp(&b.start)));
    let mut chosen: Vec<Window> = Vec::new();
    for w in windows {
        if chosen.len() == keep {
            break;
        }
        if chosen.iter().all(|c| w.start >= c.start + c.len || c.start >= w.start + w.len) {
            chosen.push(w);
        }
    }
    chosen
}

/// Correlation trim (≤ N/4) then the equal-power crossfade loop of one window (`window`: its
/// samples, every channel).
fn make_pad(window: Clip, w: Window, duration_s: f64, crossfade_ms: f64) -> Option<Pad> {
    let fade = (crossfade_ms / 1000.0 * f64::from(OUTPUT_RATE_HZ)).round() as usize;
    let trimmed = correlation_trim_len(&window.mixdown(), w.len / MAX_TRIM_FRACTION, fade);
    let clip = crossfade_loop(&window.slice(0, trimmed), fade).ok()?;
    Some(Pad {
        clip,
        start_s: w.start as f64 / f64::from(OUTPUT_RATE_HZ),
        target_duration_s: duration_s,
        score: w.score,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::rng::Rng;
    use crate::features::features;

    const SR: f64 = OUTPUT_RATE_HZ as f64;

    fn mined(source: &Clip, settings: &PadSettings) -> PadReport {
        mine_pads(source, settings).expect("a clip in memory reads")
    }

    /// A C-major triad at `amp` per partial.
    fn chord(len: usize, amp: f64) -> Vec<f32> {
        (0..len)
            .map(|i| {
                let t = i as f64 / SR;
                [261.63, 329.63, 392.0].iter().map(|f| amp * (std::f64::consts::TAU * f * t).sin()).sum::<f64>() as f32
            })
            .collect()
    }

    fn noise(seed: u64, len: usize, amp: f64) -> Vec<f32> {
        let mut rng = Rng::new(seed);
        (0..len).map(|_| rng.range(-amp, amp) as f32).collect()
    }

    /// Short decaying noise bursts at `rate_hz` over a quiet chord (rms stays in range, flatness low).
    fn clicks_over_chord(len: usize, rate_hz: f64) -> Vec<f32> {
        let mut x = chord(len, 0.01);
        let period = (SR / rate_hz) as usize;
        let burst = noise(9, 800, 0.9);
        for start in (period / 2..len).step_by(period) {
            for (j, b) in burst.iter().enumerate() {
                if let Some(v) = x.get_mut(start + j) {
                    *v += b * (-(j as f32) / 150.0).exp();
                }
            }
        }
        x
    }

    fn count(report: &PadReport, reason: &str) -> usize {
        report.rejected.iter().find(|(r, _)| r == reason).map_or(0, |(_, n)| *n)
    }

    #[test]
    fn the_sampled_running_sum_equals_the_full_prefix_at_every_window_bound() {
        let mut rng = Rng::new(11);
        let x: Vec<f64> = (0..400_003).map(|_| rng.range(-1.0, 1.0).powi(2)).collect();
        let full = prefix(x.iter().copied());
        let settings = PadSettings { target_durations_s: vec![0.7, 1.3, 2.0], hop_s: 0.11, ..PadSettings::default() };
        let bounds = window_bounds(x.len(), &settings);
        let mut sampled = SampledSum::new(bounds.clone());
        // Values arrive in uneven pieces, as blocks of a source do.
        for piece in x.chunks(65_537) {
            sampled.extend(piece.iter().copied());
        }
        let hop = (settings.hop_s * SR).round() as usize;
        let mut checked = 0;
        for d in &settings.target_durations_s {
            let len = (d * SR).round() as usize;
            for start in (0..=(x.len() - len) / hop).map(|k| k * hop) {
                assert_eq!(sampled.at(start).to_bits(), full[start].to_bits(), "start {start}");
                assert_eq!(sampled.at(start + len).to_bits(), full[start + len].to_bits(), "end {}", start + len);
                checked += 1;
            }
        }
        assert!(checked > 100);
        // It keeps a few values per hop, not one per sample.
        assert!(bounds.len() < x.len() / 1000);
    }

    #[test]
    fn clicks_at_5_hz_are_onsets_and_a_steady_tone_has_none() {
        let rate_of = |x: &[f32]| {
            let f = features(x, OUTPUT_RATE_HZ);
            let env: Vec<f64> = f.onset.iter().map(|&v| f64::from(v)).collect();
            pick_onsets(&env).len() as f64 / (x.len() as f64 / SR)
        };
        let clicky = rate_of(&clicks_over_chord(3 * 44_100, 5.0));
        assert!((4.0..=6.0).contains(&clicky), "{clicky}");
        assert!(rate_of(&chord(3 * 44_100, 0.05)) < 0.5);
    }

    #[test]
    fn pads_come_only_from_the_quiet_sustained_chord() {
        // Noise 0–3 s, chord 3–13 s (room for three pads however the greedy pick falls),
        // clicks over a chord 13–17 s.
        let mut x = noise(1, 3 * 44_100, 0.3);
        x.extend(chord(10 * 44_100, 0.03));
        x.extend(clicks_over_chord(4 * 44_100, 5.0));
        let report = mined(&Clip::mono(x), &PadSettings::default());
        assert_eq!(report.pads.len(), 3);
        for pad in &report.pads {
            let (start, end) = (pad.start_s, pad.start_s + pad.target_duration_s);
            assert!(start >= 3.0 - 0.05 && end <= 13.0 + 0.05, "pad at {start}..{end}");
        }
        assert!(count(&report, REASON_ONSETS) > 0);
        assert!(count(&report, REASON_FLAT) + count(&report, REASON_TOO_LOUD) > 0);
        let total_rejected: usize = report.rejected.iter().map(|(_, n)| n).sum();
        assert!(total_rejected + report.pads.len() <= report.windows);
    }

    #[test]
    fn white_noise_is_rejected_as_flat_and_a_chord_is_accepted() {
        let settings = PadSettings { target_durations_s: vec![1.0], ..PadSettings::default() };
        let noisy = mined(&Clip::mono(noise(5, 3 * 44_100, 0.17)), &settings);
        assert!(noisy.pads.is_empty());
        assert_eq!(count(&noisy, REASON_FLAT), noisy.windows);
        let tonal = mined(&Clip::mono(chord(3 * 44_100, 0.03)), &settings);
        assert_eq!(tonal.pads.len(), 3);
        assert!(tonal.rejected.is_empty());
    }

    #[test]
    fn pads_are_sorted_non_overlapping_loops_of_at_most_the_target() {
        let x = Clip { channels: vec![chord(8 * 44_100, 0.03), chord(8 * 44_100, 0.02)] };
        let settings = PadSettings { target_durations_s: vec![2.0, 1.0], ..PadSettings::default() };
        let report = mined(&x, &settings);
        let twos: Vec<&Pad> = report.pads.iter().filter(|p| p.target_duration_s == 2.0).collect();
        assert_eq!(twos.len(), 3);
        assert_eq!(report.pads.len(), 6);
        assert!(report.pads[..3].iter().all(|p| p.target_duration_s == 2.0));
        for pair in report.pads.windows(2).filter(|w| w[0].target_duration_s == w[1].target_duration_s) {
            assert!(pair[0].score >= pair[1].score);
        }
        for (i, a) in twos.iter().enumerate() {
            for b in &twos[i + 1..] {
                assert!((a.start_s - b.start_s).abs() >= 2.0);
            }
        }
        for pad in &report.pads {
            let max = (pad.target_duration_s * SR) as usize - 4410;
            let min = (pad.target_duration_s * SR * 0.75) as usize - 4410;
            assert!((min..=max).contains(&pad.clip.len()), "{}", pad.clip.len());
            assert_eq!(pad.clip.channels.len(), 2);
        }
        assert_eq!(report, mined(&x, &settings));
    }

    #[test]
    fn silence_and_short_sources_give_no_pads_with_a_reason() {
        let silent = mined(&Clip::mono(vec![0.0; 3 * 44_100]), &PadSettings::default());
        assert!(silent.pads.is_empty());
        assert_eq!(count(&silent, REASON_TOO_QUIET), silent.windows);
        assert!(silent.windows > 0);
        let short = mined(&Clip::mono(chord(44_100, 0.03)), &PadSettings::default());
        assert!(short.pads.is_empty());
        assert_eq!(short.windows, 0);
        assert_eq!(count(&short, REASON_SHORT), 1);
        let empty = mined(&Clip::mono(Vec::new()), &PadSettings::default());
        assert!(empty.pads.is_empty());
        let none = mined(&Clip { channels: Vec::new() }, &PadSettings::default());
        assert!(none.pads.is_empty());
    }

    #[test]
    fn settings_validate_and_name_the_field() {
        assert_eq!(PadSettings::default().validate(), Ok(()));
        let bad = PadSettings { hop_s: 0.0, ..PadSettings::default() };
        assert!(bad.validate().unwrap_err().contains("hop_s"));
        let bad = PadSettings { rms_db_min: -5.0, ..PadSettings::default() };
        assert!(bad.validate().unwrap_err().contains("rms_db_min"));
        let bad = PadSettings { target_durations_s: vec![], ..PadSettings::default() };
        assert!(bad.validate().unwrap_err().contains("target_durations_s"));
        let bad = PadSettings { crossfade_ms: 900.0, ..PadSettings::default() };
        assert!(bad.validate().unwrap_err().contains("crossfade_ms"));
        let report = mined(&Clip::mono(chord(44_100 * 3, 0.03)), &bad);
        assert!(report.pads.is_empty() && report.rejected[0].0.contains("crossfade_ms"));
    }
}
