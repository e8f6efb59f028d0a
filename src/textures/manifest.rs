//! Per-file metrics, A/B/F grades and the `manifest.csv` text (DOMAIN §G "Grades", "manifest.csv").
//!
//! [`analyze`] is a pure analysis of the final (exported, normalised) samples; [`grade`] applies
//! the DOMAIN §G table to its result; [`write_csv`] renders rows to deterministic CSV bytes.
//!
//! Conventions shared by every metric:
//! - levels are taken over all samples of all channels (a duplicated-stereo clip measures the
//!   same as its mono source); spectral metrics use the channel mixdown;
//! - a silent clip gets `rms_db` = [`RMS_FLOOR_DB`] (never `−∞`) and `crest_factor` = 0, so
//!   every number in the manifest is finite; the rms rule grades it F.

use std::fmt;

use crate::dsp::approx;
use crate::dsp::stft::{SpectrumPlan32, centred_frame, centred_frame_count};
use crate::dsp::sum::{dot_map, sum_map};
use crate::textures::looping::loop_error_db;
use crate::textures::{Clip, OUTPUT_RATE_HZ, SILENCE_PEAK};

/// Mean spectral centroid below which a file is [`Brightness::Dark`] (Hz).
pub const DARK_BELOW_HZ: f64 = 1500.0;
/// Mean spectral centroid above which a file is [`Brightness::Bright`] (Hz).
pub const BRIGHT_ABOVE_HZ: f64 = 3500.0;
/// `rms_db` reported for a silent clip (dB), instead of `−∞`.
pub const RMS_FLOOR_DB: f64 = -200.0;
/// Shortest clip whose tempo is estimated (s); shorter clips get `detected_bpm = None`.
pub const BPM_MIN_DURATION_S: f64 = 4.0;
/// Tempo search range (BPM).
pub const BPM_RANGE: (f64, f64) = (60.0, 180.0);
/// Minimum normalised autocorrelation of the onset envelope at the chosen lag for a tempo to be
/// reported (0 = no periodicity, 1 = perfectly periodic).
pub const BPM_MIN_CONFIDENCE: f64 = 0.2;
/// Pitch estimates outside this range (Hz) are reported as `None`.
pub const PITCH_RANGE_HZ: (f64, f64) = (30.0, 6000.0);

/// STFT length and hop for the centroid and the onset envelope (46 ms / 11.6 ms at 44.1 kHz).
const FRAME_FFT: usize = 2048;
const FRAME_HOP: usize = 512;
/// Welch segment length and hop for pitch and chroma (5.4 Hz bins at 44.1 kHz).
const WELCH_FFT: usize = 8192;
const WELCH_HOP: usize = 4096;
/// Frequency range folded into the chroma vector (A1 to C8, Hz).
const CHROMA_RANGE_HZ: (f64, f64) = (55.0, 4186.0);

/// Spectral brightness class from the mean spectral centroid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Brightness {
    Dark,
    Mid,
    Bright,
}

impl Brightness {
    /// `Dark` below [`DARK_BELOW_HZ`], `Bright` above [`BRIGHT_ABOVE_HZ`], else `Mid`.
    pub fn from_centroid_hz(centroid_hz: f64) -> Self {
        if centroid_hz < DARK_BELOW_HZ {
            Self::Dark
        } else if centroid_hz > BRIGHT_ABOVE_HZ {
            Self::Bright
        } else {
            Self::Mid
        }
    }
}

impl fmt::Display for Brightness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Dark => "dark",
            Self::Mid => "mid",
            Self::Bright => "bright",
        })
    }
}

/// Curation grade: A (keep), B (usable), F (silent, clipped or spiky).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grade {
    A,
    B,
    F,
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::A => "A",
            Self::B => "B",
            Self::F => "F",
        })
    }
}

/// What [`analyze`] measures on one exported file.
#[derive(Clone, Debug, PartialEq)]
pub struct Metrics {
    /// Length in seconds (`samples / 44100`).
    pub duration_sec: f64,
    /// `20·log10(rms)` over all samples of all channels (dBFS; [`RMS_FLOOR_DB`] when silent).
    pub rms_db: f64,
    /// Largest absolute sample over all channels (linear, 1.0 = full scale).
    pub peak: f64,
    /// `peak / rms` (linear ratio; a sine has √2 ≈ 3.01 dB; 0 for a silent clip).
    pub crest_factor: f64,
    /// Mean spectral centroid of the non-silent 2048-point frames (Hz; 0 when silent).
    pub centroid_hz: f64,
    /// Rough pitch (Hz) of the dominant spectral peak; tonal files only.
    pub est_freq_hz: Option<f64>,
    /// Seam error `20·log10 rms(head − tail)`, seam `min(N/8, 2048)` (dB, floored at −200;
    /// [`loop_error_db`]); loops of at least 16 samples only.
    pub loop_error_db: Option<f64>,
    /// Class of `centroid_hz`.
    pub brightness: Brightness,
    /// Krumhansl–Schmuckler key such as "A minor"; tonal files only.
    pub detected_key: Option<String>,
    /// Tempo in 60–180 BPM; files of at least [`BPM_MIN_DURATION_S`] with a periodic onset envelope.
    pub detected_bpm: Option<f64>,
}

/// Grade limits (DOMAIN §G "Grades"); field names double as TOML keys.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct GradeThresholds {
    /// F below this rms (dBFS).
    pub min_rms_db: f64,
    /// F at or above this peak (linear).
    pub max_peak: f64,
    /// F above this crest factor (linear peak/rms ratio).
    pub max_crest: f64,
    /// A needs rms above this (dBFS).
    pub a_min_rms_db: f64,
    /// A needs a crest factor below this (linear ratio).
    pub a_max_crest: f64,
    /// A needs a loop error below this (dB) when the loop error applies.
    pub a_max_loop_error_db: f64,
}

impl Default for GradeThresholds {
    fn default() -> Self {
        Self {
            min_rms_db: -60.0,
            max_peak: 0.99,
            max_crest: 20.0,
            a_min_rms_db: -45.0,
            a_max_crest: 12.0,
            a_max_loop_error_db: -30.0,
        }
    }
}

impl GradeThresholds {
    /// Every field finite; `max_peak` > 0; `0 < a_max_crest ≤ max_crest`;
    /// `a_min_rms_db ≥ min_rms_db`.
    pub fn validate(&self) -> Result<(), String> {
        let finite = [
            ("min_rms_db", self.min_rms_db),
            ("max_peak", self.max_peak),
            ("max_crest", self.max_crest),
            ("a_min_rms_db", self.a_min_rms_db),
            ("a_max_crest", self.a_max_crest),
            ("a_max_loop_error_db", self.a_max_loop_error_db),
        ];
        for (name, v) in finite {
            if !v.is_finite() {
                return Err(format!("{name} must be finite (got {v})"));
            }
        }
        if self.max_peak <= 0.0 {
            return Err(format!("max_peak must be > 0 (got {})", self.max_peak));
        }
        if !(self.a_max_crest > 0.0 && self.a_max_crest <= self.max_crest) {
            return Err(format!(
                "a_max_crest must be > 0 and ≤ max_crest ({}) (got {})",
                self.max_crest, self.a_max_crest
            ));
        }
        if self.a_min_rms_db < self.min_rms_db {
            return Err(format!("a_min_rms_db must be ≥ min_rms_db ({}) (got {})", self.min_rms_db, self.a_min_rms_db));
        }
        Ok(())
    }
}

/// Measures `clip` as exported.
///
/// `is_loop`: whether the seam error applies (pads and hiss loops yes; swells, clouds and
/// flickers no). `tonal`: whether `est_freq_hz` and `detected_key` are computed (pads, swells,
/// clouds; hiss is not tonal). `detected_bpm` is computed for clips of at least
/// [`BPM_MIN_DURATION_S`] seconds.
///
/// On x86-64 CPUs with AVX2 the same code is compiled a second time for 256-bit vectors and used
/// instead; both do the same IEEE operations in the same order (fixed summation lanes, no fused
/// multiply-add), so the metrics have the same bits.
pub fn analyze(clip: &Clip, is_loop: bool, tonal: bool) -> Metrics {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { analyze_avx2(clip, is_loop, tonal) };
    }
    analyze_any(clip, is_loop, tonal)
}

/// [`analyze_any`] compiled with AVX2 enabled.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn analyze_avx2(clip: &Clip, is_loop: bool, tonal: bool) -> Metrics {
    analyze_any(clip, is_loop, tonal)
}

/// The analysis itself, inlined into each compiled copy.
#[inline(always)]
fn analyze_any(clip: &Clip, is_loop: bool, tonal: bool) -> Metrics {
    let (peak, rms) = level(clip);
    let rms_db = if rms > 0.0 { (20.0 * rms.log10()).max(RMS_FLOOR_DB) } else { RMS_FLOOR_DB };
    let crest_factor = if rms > 0.0 { peak / rms } else { 0.0 };
    let mono = clip.mixdown();
    let duration_sec = clip.duration_s();
    let frames = frame_measures(&mono, duration_sec >= BPM_MIN_DURATION_S);
    let centroid_hz = frames.centroid_hz;
    let welch = if tonal && peak >= f64::from(SILENCE_PEAK) { Some(welch_power(&mono)) } else { None };
    Metrics {
        duration_sec,
        rms_db,
        peak,
        crest_factor,
        centroid_hz,
        est_freq_hz: welch.as_deref().and_then(dominant_freq_hz),
        loop_error_db: if is_loop { loop_error_db(&mono) } else { None },
        brightness: Brightness::from_centroid_hz(centroid_hz),
        detected_key: welch.as_deref().and_then(detect_key),
        detected_bpm: frames.flux.and_then(detect_bpm),
    }
}

/// DOMAIN §G: F if rms < `min_rms_db`, peak ≥ `max_peak` or crest > `max_crest` (a NaN metric
/// also fails); A if rms > `a_min_rms_db`, crest < `a_max_crest` and the loop error (when it
/// applies) < `a_max_loop_error_db`; B otherwise.
///
/// ```
/// use ntsbuild::textures::Clip;
/// use ntsbuild::textures::manifest::{analyze, grade, Grade, GradeThresholds};
/// let tone: Vec<f32> = (0..44_100).map(|n| 0.5 * (n as f32 * 0.0627).sin()).collect();
/// let m = analyze(&Clip::mono(tone), false, true);
/// assert_eq!(grade(&m, &GradeThresholds::default()), Grade::A);
/// assert_eq!(grade(&analyze(&Clip::mono(vec![0.0; 100]), false, false), &GradeThresholds::default()), Grade::F);
/// ```
pub fn grade(m: &Metrics, t: &GradeThresholds) -> Grade {
    let passes = m.rms_db >= t.min_rms_db && m.peak < t.max_peak && m.crest_factor <= t.max_crest;
    if !passes {
        return Grade::F;
    }
    let seam_ok = m.loop_error_db.is_none_or(|e| e < t.a_max_loop_error_db);
    if m.rms_db > t.a_min_rms_db && m.crest_factor < t.a_max_crest && seam_ok { Grade::A } else { Grade::B }
}

/// (peak, rms) over all samples of all channels, in f64 (NaN samples do not count for the peak).
#[inline(always)]
fn level(clip: &Clip) -> (f64, f64) {
    let mut peak = 0.0f32;
    let mut sum_sq = 0.0f64;
    let mut n = 0usize;
    for c in &clip.channels {
        // The largest magnitude in eight lanes (a maximum does not depend on the order).
        let mut lanes = [0.0f32; 8];
        let chunks = c.chunks_exact(8);
        let rest = chunks.remainder();
        for chunk in chunks {
            for (l, &x) in lanes.iter_mut().zip(chunk) {
                *l = l.max(x.abs());
            }
        }
        peak = lanes.iter().chain(rest).fold(peak, |p, &x| p.max(x.abs()));
        sum_sq += sum_map(c, |x| f64::from(x) * f64::from(x));
        n += c.len();
    }
    let rms = if n == 0 { 0.0 } else { (sum_sq / n as f64).sqrt() };
    (f64::from(peak), rms)
}

/// What the centred 2048-point Hann frames (hop 512) of a clip give.
struct FrameMeasures {
    /// Mean over non-silent frames of `Σ f_k·|X_k| / Σ |X_k|` (Hz); 0 when every frame is silent.
    centroid_hz: f64,
    /// Spectral flux per frame after the first, `Σ_k max(0, ln(1 + 1000·|X_t,k|) − ln(1 +
    /// 1000·|X_t−1,k|))`, when asked for.
    flux: Option<Vec<f64>>,
}

/// Takes the frames one at a time (in f32: these measures are ours, not a reference's), so
/// nothing but the previous frame's logarithms is kept.
#[inline(always)]
fn frame_measures(mono: &[f32], want_flux: bool) -> FrameMeasures {
    if mono.is_empty() {
        return FrameMeasures { centroid_hz: 0.0, flux: want_flux.then(Vec::new) };
    }
    let mut plan = SpectrumPlan32::new(FRAME_FFT);
    let bins = plan.bin_count();
    let bin_hz = f64::from(OUTPUT_RATE_HZ) / FRAME_FFT as f64;
    let freqs_hz: Vec<f64> = (0..bins).map(|k| k as f64 * bin_hz).collect();
    let count = centred_frame_count(mono.len(), FRAME_HOP);
    let mut frame = vec![0.0f32; FRAME_FFT];
    let mut mags = vec![0.0f32; bins];
    let (mut log, mut prev_log) = (vec![0.0f32; bins], vec![0.0f32; bins]);
    let mut flux = want_flux.then(|| Vec::with_capacity(count.saturating_sub(1)));
    let (mut sum, mut voiced) = (0.0f64, 0usize);
    for t in 0..count {
        centred_frame(mono, t, FRAME_HOP, &mut frame);
        plan.magnitudes(&frame, &mut mags);
        let total = sum_map(&mags, f64::from);
        if total > 0.0 && total.is_finite() {
            sum += dot_map(&freqs_hz, &mags, |f, m| f * f64::from(m)) / total;
            voiced += 1;
        }
        if let Some(flux) = &mut flux {
            // The portable f32 logarithm (within 1e-6, and it vectorises); a non-finite
            // magnitude counts as the largest float.
            for (l, &m) in log.iter_mut().zip(&mags) {
                *l = approx::ln((1.0 + 1000.0 * m).min(f32::MAX));
            }
            if t > 0 {
                flux.push(dot_map(&log, &prev_log, |c, p| f64::from((c - p).max(0.0))));
            }
            std::mem::swap(&mut log, &mut prev_log);
        }
    }
    FrameMeasures { centroid_hz: if voiced == 0 { 0.0 } else { sum / voiced as f64 }, flux }
}

/// Mean power spectrum of 8192-point Hann segments (hop 4096) of the DC-removed signal; a
/// clip shorter than one segment is zero-padded to it.
#[inline(always)]
fn welch_power(mono: &[f32]) -> Vec<f64> {
    let mean = sum_map(mono, f64::from) / mono.len().max(1) as f64;
    let mut plan = SpectrumPlan32::new(WELCH_FFT);
    let mut power = vec![0.0f64; plan.bin_count()];
    let mut mags = vec![0.0f32; plan.bin_count()];
    let mut frame = vec![0.0f32; WELCH_FFT];
    let segments = 1 + mono.len().saturating_sub(WELCH_FFT).div_ceil(WELCH_HOP);
    for s in 0..segments {
        let start = s * WELCH_HOP;
        for (i, v) in frame.iter_mut().enumerate() {
            *v = mono.get(start + i).map_or(0.0, |&x| (f64::from(x) - mean) as f32);
        }
        plan.magnitudes(&frame, &mut mags);
        for (p, &m) in power.iter_mut().zip(&mags) {
            *p += f64::from(m) * f64::from(m);
        }
    }
    power
}

/// Frequency of the strongest non-DC bin, refined by a parabola through the log powers of it
/// and its neighbours: `δ = ½(α − γ)/(α − 2β + γ)`, `f = (k + δ)·sr/N`. `None` when the
/// spectrum is silent or the peak lies outside [`PITCH_RANGE_HZ`].
fn dominant_freq_hz(power: &[f64]) -> Option<f64> {
    let (k, &best) = power.iter().enumerate().skip(1).max_by(|a, b| a.1.total_cmp(b.1))?;
    if !(best > 0.0 && best.is_finite()) {
        return None;
    }
    let mut delta = 0.0;
    if k + 1 < power.len() {
        let ln = |p: f64| p.max(best * 1e-30).ln();
        let (a, b, c) = (ln(power[k - 1]), ln(best), ln(power[k + 1]));
        let denom = a - 2.0 * b + c;
        if denom < 0.0 {
            delta = (0.5 * (a - c) / denom).clamp(-0.5, 0.5);
        }
    }
    let hz = (k as f64 + delta) * f64::from(OUTPUT_RATE_HZ) / WELCH_FFT as f64;
    (PITCH_RANGE_HZ.0..=PITCH_RANGE_HZ.1).contains(&hz).then_some(hz)
}

/// Pitch-class names, C = 0.
const PITCH_CLASSES: [&str; 12] = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];
/// Krumhansl–Kessler major-key profile, tonic first.
const KS_MAJOR: [f64; 12] = [6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88];
/// Krumhansl–Kessler minor-key profile, tonic first.
const KS_MINOR: [f64; 12] = [6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17];

/// Krumhansl–Schmuckler key finding: the chroma vector (power of each bin in
/// [`CHROMA_RANGE_HZ`] added to pitch class `round(69 + 12·log2(f/440)) mod 12`) is correlated
/// (Pearson) with the 24 rotated major/minor profiles; the best one wins (ties: C major, C minor,
/// C# major, …). `None` for a flat or empty chroma.
fn detect_key(power: &[f64]) -> Option<String> {
    let chroma = chroma(power);
    let mut best: Option<(f64, usize, bool)> = None;
    for tonic in 0..12 {
        for (minor, profile) in [(false, &KS_MAJOR), (true, &KS_MINOR)] {
            let rotated: [f64; 12] = std::array::from_fn(|pc| profile[(pc + 12 - tonic) % 12]);
            let r = pearson(&chroma, &rotated)?;
            if best.is_none_or(|(b, _, _)| r > b) {
                best = Some((r, tonic, minor));
            }
        }
    }
    let (r, tonic, minor) = best?;
    (r > 0.0).then(|| format!("{} {}", PITCH_CLASSES[tonic], if minor { "minor" } else { "major" }))
}

fn chroma(power: &[f64]) -> [f64; 12] {
    let bin_hz = f64::from(OUTPUT_RATE_HZ) / WELCH_FFT as f64;
    let mut chroma = [0.0f64; 12];
    for (k, &p) in power.iter().enumerate() {
        let f = k as f64 * bin_hz;
        if (CHROMA_RANGE_HZ.0..=CHROMA_RANGE_HZ.1).contains(&f) && p.is_finite() {
            let midi = (69.0 + 12.0 * (f / 440.0).log2()).round() as i64;
            chroma[midi.rem_euclid(12) as usize] += p;
        }
    }
    chroma
}

/// Pearson correlation; `None` when either vector is constant.
fn pearson(x: &[f64; 12], y: &[f64; 12]) -> Option<f64> {
    let mx = x.iter().sum::<f64>() / 12.0;
    let my = y.iter().sum::<f64>() / 12.0;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    let denom = (sxx * syy).sqrt();
    (denom > 0.0 && denom.is_finite()).then(|| sxy / denom)
}

/// Tempo from the onset envelope: the frames' spectral flux ([`FrameMeasures::flux`], 86.1
/// frames/s), mean removed, autocorrelated (biased sum, so of
/// two octave-related lags the shorter wins) over the lags of 60–180 BPM; the best lag is refined
/// by a parabola and converted with `bpm = 60·fps/lag`. `None` when the envelope is flat or the
/// normalised autocorrelation at the best lag is below [`BPM_MIN_CONFIDENCE`].
#[inline(always)]
fn detect_bpm(mut env: Vec<f64>) -> Option<f64> {
    let mean = env.iter().sum::<f64>() / env.len().max(1) as f64;
    for v in &mut env {
        *v -= mean;
    }
    let fps = f64::from(OUTPUT_RATE_HZ) / FRAME_HOP as f64;
    let lag_min = (60.0 * fps / BPM_RANGE.1).floor() as usize;
    let lag_max = (60.0 * fps / BPM_RANGE.0).ceil() as usize;
    if env.len() <= lag_max + 1 {
        return None;
    }
    let ac = |lag: usize| env[lag..].iter().zip(&env).map(|(a, b)| a * b).sum::<f64>();
    let energy = ac(0);
    if !(energy > 0.0 && energy.is_finite()) {
        return None;
    }
    let scores: Vec<f64> = (lag_min - 1..=lag_max + 1).map(ac).collect();
    let inner = 1..scores.len() - 1;
    let best = inner.clone().max_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(b.cmp(&a)))?;
    if scores[best] / energy < BPM_MIN_CONFIDENCE {
        return None;
    }
    let (a, b, c) = (scores[best - 1], scores[best], scores[best + 1]);
    let denom = a - 2.0 * b + c;
    let delta = if denom < 0.0 { (0.5 * (a - c) / denom).clamp(-0.5, 0.5) } else { 0.0 };
    let lag = (lag_min - 1 + best) as f64 + delta;
    Some((60.0 * fps / lag).clamp(BPM_RANGE.0, BPM_RANGE.1))
}

/// One manifest line: an exported (or skipped) file.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// File name, e.g. `cloud_rain_01.wav`.
    pub filename: String,
    /// Source name the file was mined from.
    pub source: String,
    /// "pad", "swell", "cloud", "hiss_loop" or "hiss_flicker".
    pub kind: String,
    /// Metrics of the exported samples; `None` when nothing was rendered.
    pub metrics: Option<Metrics>,
    /// Grade of `metrics`.
    pub grade: Option<Grade>,
    /// Whether the file was written.
    pub saved: bool,
    /// Why the file was not saved (the `note` column); `None` otherwise.
    pub reason: Option<String>,
}

/// Header of `manifest.csv` (DOMAIN §G columns, plus `note`).
pub const CSV_HEADER: &str = "filename,source,type,duration_sec,rms_db,peak,crest_factor,centroid_hz,est_freq_hz,\
loop_error_db,brightness,detected_key,detected_bpm,grade,saved,note";

/// `manifest.csv` text: [`CSV_HEADER`], then one line per row in the given order, `\n` line ends.
///
/// Numbers: duration_sec `{:.3}`, rms_db `{:.2}`, peak `{:.4}`, crest_factor `{:.3}`,
/// centroid_hz `{:.1}`, est_freq_hz `{:.2}`, loop_error_db `{:.2}`, detected_bpm `{:.1}`;
/// `None` is an empty cell; `saved` is `true`/`false`; text is quoted per RFC 4180 when it holds
/// a comma, quote, CR or LF.
pub fn write_csv(rows: &[Row]) -> String {
    format!("{CSV_HEADER}\n{}", write_rows(rows))
}

/// The rows of [`write_csv`] without the header (for joining row blocks made separately).
pub fn write_rows(rows: &[Row]) -> String {
    let mut out = String::with_capacity(64 * rows.len());
    for row in rows {
        out.push_str(&row_cells(row).join(","));
        out.push('\n');
    }
    out
}

fn row_cells(row: &Row) -> Vec<String> {
    let opt = |v: Option<f64>, fmt: fn(f64) -> String| v.map_or_else(String::new, fmt);
    let mut cells = vec![quote(&row.filename), quote(&row.source), quote(&row.kind)];
    match &row.metrics {
        Some(m) => cells.extend([
            format!("{:.3}", m.duration_sec),
            format!("{:.2}", m.rms_db),
            format!("{:.4}", m.peak),
            format!("{:.3}", m.crest_factor),
            format!("{:.1}", m.centroid_hz),
            opt(m.est_freq_hz, |v| format!("{v:.2}")),
            opt(m.loop_error_db, |v| format!("{v:.2}")),
            m.brightness.to_string(),
            m.detected_key.as_deref().map_or_else(String::new, quote),
            opt(m.detected_bpm, |v| format!("{v:.1}")),
        ]),
        None => cells.extend(std::iter::repeat_n(String::new(), 10)),
    }
    cells.push(row.grade.map_or_else(String::new, |g| g.to_string()));
    cells.push(row.saved.to_string());
    cells.push(row.reason.as_deref().map_or_else(String::new, quote));
    cells
}

/// RFC 4180: a field holding `,`, `"`, CR or LF is wrapped in quotes with inner quotes doubled.
fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::TAU;

    const SR: f64 = OUTPUT_RATE_HZ as f64;

    fn sine(freq_hz: f64, amp: f64, seconds: f64) -> Vec<f32> {
        (0..(seconds * SR).round() as usize).map(|n| (amp * (TAU * freq_hz * n as f64 / SR).sin()) as f32).collect()
    }

    fn metrics(rms_db: f64, peak: f64, crest: f64, loop_error_db: Option<f64>) -> Metrics {
        Metrics {
            duration_sec: 1.0,
            rms_db,
            peak,
            crest_factor: crest,
            centroid_hz: 1000.0,
            est_freq_hz: None,
            loop_error_db,
            brightness: Brightness::Dark,
            detected_key: None,
            detected_bpm: None,
        }
    }

    #[test]
    fn sine_has_3db_crest_and_minus_3db_rms() {
        let m = analyze(&Clip::mono(sine(441.0, 1.0, 1.0)), false, false);
        assert!((m.rms_db + 3.0103).abs() < 0.01, "rms {}", m.rms_db);
        assert!((20.0 * m.crest_factor.log10() - 3.0103).abs() < 0.01, "crest {}", m.crest_factor);
        assert!((m.peak - 1.0).abs() < 1e-6);
        assert!((m.duration_sec - 1.0).abs() < 1e-9);
        assert_eq!(m.est_freq_hz, None, "not tonal");
        assert_eq!(m.loop_error_db, None, "not a loop");
    }

    #[test]
    fn silent_clip_is_finite_and_grades_f() {
        let m = analyze(&Clip::mono(vec![0.0; 44_100]), true, true);
        assert_eq!(m.rms_db, RMS_FLOOR_DB);
        assert_eq!(m.crest_factor, 0.0);
        assert_eq!((m.est_freq_hz, m.detected_key.clone()), (None, None));
        assert_eq!(grade(&m, &GradeThresholds::default()), Grade::F);
        let empty = analyze(&Clip { channels: vec![] }, true, true);
        assert_eq!((empty.duration_sec, empty.loop_error_db), (0.0, None));
    }

    #[test]
    fn est_freq_of_a_440_hz_sine_is_within_one_percent() {
        for secs in [0.1, 2.0] {
            let m = analyze(&Clip::mono(sine(440.0, 0.5, secs)), false, true);
            let f = m.est_freq_hz.expect("tonal sine has a pitch");
            assert!((f - 440.0).abs() < 4.4, "{secs} s: {f}");
        }
    }

    #[test]
    fn brightness_classes_follow_the_centroid() {
        assert_eq!(Brightness::from_centroid_hz(1499.0), Brightness::Dark);
        assert_eq!(Brightness::from_centroid_hz(1500.0), Brightness::Mid);
        assert_eq!(Brightness::from_centroid_hz(3500.0), Brightness::Mid);
        assert_eq!(Brightness::from_centroid_hz(3501.0), Brightness::Bright);
        assert_eq!(Brightness::Bright.to_string(), "bright");
        let dark = analyze(&Clip::mono(sine(300.0, 0.5, 0.5)), false, false);
        let mid = analyze(&Clip::mono(sine(2500.0, 0.5, 0.5)), false, false);
        let bright = analyze(&Clip::mono(sine(6000.0, 0.5, 0.5)), false, false);
        assert_eq!(dark.brightness, Brightness::Dark, "{}", dark.centroid_hz);
        assert_eq!(mid.brightness, Brightness::Mid, "{}", mid.centroid_hz);
        assert_eq!(bright.brightness, Brightness::Bright, "{}", bright.centroid_hz);
        assert!((dark.centroid_hz - 300.0).abs() < 30.0, "{}", dark.centroid_hz);
    }

    #[test]
    fn grading_table_boundaries() {
        let t = GradeThresholds::default();
        let g = |rms, peak, crest, seam| grade(&metrics(rms, peak, crest, seam), &t);
        assert_eq!(g(-20.0, 0.9, 4.0, None), Grade::A);
        // F: rms < −60, peak ≥ 0.99, crest > 20.
        assert_eq!(g(-60.01, 0.5, 4.0, None), Grade::F);
        assert_eq!(g(-60.0, 0.5, 4.0, None), Grade::B);
        assert_eq!(g(-20.0, 0.99, 4.0, None), Grade::F);
        assert_eq!(g(-20.0, 0.9899, 4.0, None), Grade::A);
        assert_eq!(g(-20.0, 0.9, 20.01, None), Grade::F);
        assert_eq!(g(-20.0, 0.9, 20.0, None), Grade::B);
        // A: rms > −45, crest < 12, seam < −30 dB when it applies.
        assert_eq!(g(-45.0, 0.9, 4.0, None), Grade::B);
        assert_eq!(g(-44.99, 0.9, 4.0, None), Grade::A);
        assert_eq!(g(-20.0, 0.9, 12.0, None), Grade::B);
        assert_eq!(g(-20.0, 0.9, 11.99, None), Grade::A);
        assert_eq!(g(-20.0, 0.9, 4.0, Some(-30.0)), Grade::B);
        assert_eq!(g(-20.0, 0.9, 4.0, Some(-30.01)), Grade::A);
        assert_eq!(g(f64::NAN, 0.9, 4.0, None), Grade::F);
    }

    #[test]
    fn thresholds_validate_names_the_field() {
        assert_eq!(GradeThresholds::default().validate(), Ok(()));
        let bad = GradeThresholds { a_max_crest: 25.0, ..GradeThresholds::default() };
        assert!(bad.validate().unwrap_err().starts_with("a_max_crest"));
        let bad = GradeThresholds { min_rms_db: f64::NAN, ..GradeThresholds::default() };
        assert!(bad.validate().unwrap_err().starts_with("min_rms_db"));
    }

    #[test]
    fn loop_error_measures_the_seam() {
        // 441 Hz repeats every 100 samples and the tail starts at 44_148 − 2048 = 42_100, so
        // head and tail match exactly.
        let exact = analyze(&Clip::mono(sine(441.0, 0.5, 44_148.0 / SR)), true, false);
        assert!(exact.loop_error_db.unwrap() < -100.0, "{:?}", exact.loop_error_db);
        let mut ramp: Vec<f32> = (0..44_100).map(|n| n as f32 / 44_100.0).collect();
        ramp[0] = 0.0;
        let bad = analyze(&Clip::mono(ramp), true, false);
        assert!(bad.loop_error_db.unwrap() > -3.0, "{:?}", bad.loop_error_db);
    }

    #[test]
    fn key_of_an_a_minor_triad() {
        let notes = [220.0, 261.63, 329.63];
        let triad: Vec<f32> = (0..44_100)
            .map(|n| notes.iter().map(|f| 0.2 * (TAU * f * n as f64 / SR).sin()).sum::<f64>() as f32)
            .collect();
        let m = analyze(&Clip::mono(triad), false, true);
        assert_eq!(m.detected_key.as_deref(), Some("A minor"));
        let major = [261.63, 329.63, 392.0];
        let c: Vec<f32> = (0..44_100)
            .map(|n| major.iter().map(|f| 0.2 * (TAU * f * n as f64 / SR).sin()).sum::<f64>() as f32)
            .collect();
        assert_eq!(analyze(&Clip::mono(c), false, true).detected_key.as_deref(), Some("C major"));
    }

    #[test]
    fn bpm_of_a_click_train() {
        for bpm in [120.0, 90.0] {
            let mut clicks = vec![0.0f32; 6 * 44_100];
            let period = 60.0 / bpm * SR;
            let mut t = 0.0;
            while (t as usize) < clicks.len() {
                for k in 0..32 {
                    if let Some(s) = clicks.get_mut(t as usize + k) {
                        *s = if k % 2 == 0 { 0.8 } else { -0.8 };
                    }
                }
                t += period;
            }
            let m = analyze(&Clip::mono(clicks), false, false);
            let got = m.detected_bpm.expect("periodic clicks have a tempo");
            assert!((got - bpm).abs() <= 2.0, "{bpm}: {got}");
        }
        let short = analyze(&Clip::mono(vec![0.5; 3 * 44_100]), false, false);
        assert_eq!(short.detected_bpm, None, "shorter than 4 s");
        let steady = analyze(&Clip::mono(sine(330.0, 0.5, 5.0)), false, false);
        assert_eq!(steady.detected_bpm, None, "a steady tone has no tempo");
    }

    #[test]
    fn non_finite_samples_do_not_panic_and_grade_f() {
        let mut x = sine(440.0, 0.5, 4.5);
        x[1000] = f32::NAN;
        x[2000] = f32::INFINITY;
        let m = analyze(&Clip::mono(x), true, true);
        assert_eq!(grade(&m, &GradeThresholds::default()), Grade::F);
    }

    /// The copy compiled for AVX2 (used on CPUs that have it) gives the portable copy's bits,
    /// and the eight-lane peak is the plain maximum, on clips that exercise every metric.
    #[test]
    fn the_vectorised_analysis_gives_the_portable_metrics() {
        let mut noisy = sine(220.0, 0.4, 5.0);
        let mut state = 12_345u32;
        for (i, s) in noisy.iter_mut().enumerate() {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            *s += (f64::from(state >> 8) / f64::from(1u32 << 24) - 0.5) as f32 * 0.05;
            if i % 22_050 < 64 {
                *s += 0.5;
            }
        }
        noisy[77_777] = -0.97;
        let stereo = Clip { channels: vec![sine(330.0, 0.3, 2.0), sine(440.0, 0.6, 2.0)] };
        let odd = Clip::mono(sine(1000.0, 0.2, 0.0123));
        for (clip, is_loop, tonal) in [(Clip::mono(noisy), true, true), (stereo, false, true), (odd, true, false)] {
            let portable = analyze_any(&clip, is_loop, tonal);
            assert_eq!(format!("{:?}", analyze(&clip, is_loop, tonal)), format!("{portable:?}"));
            let peak = clip.channels.iter().flatten().fold(0.0f64, |p, &x| p.max(f64::from(x).abs()));
            assert_eq!(portable.peak.to_bits(), peak.to_bits());
        }
    }

    /// The f32 frames give the centroid and the onset flux of their f64 definition (librosa's
    /// framing, an f64 transform): the centroid within 1e-5 of its value, the flux within 1e-4
    /// of its largest value (an f32 transform's noise floor, ~1e-7 of the peak, shows in the
    /// logarithms of near-silent bins).
    #[test]
    fn frame_measures_in_f32_match_their_f64_definition() {
        let mut state = 7u32;
        let mut noise = || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (f64::from(state >> 8) / f64::from(1u32 << 24) - 0.5) as f32
        };
        let chord: Vec<f32> = (0..(4.5 * SR) as usize)
            .map(|n| {
                let t = n as f64 / SR;
                let hit = if n % 11_025 < 300 { 0.6 * noise() } else { 0.0 };
                (0.3 * (TAU * 220.0 * t).sin() + 0.2 * (TAU * 1760.0 * t).sin()) as f32 + hit + 0.01 * noise()
            })
            .collect();
        let hiss: Vec<f32> = (0..20_000).map(|_| 0.2 * noise()).collect();
        for signal in [chord, hiss, sine(3000.0, 0.5, 0.3)] {
            let got = frame_measures(&signal, true);
            let mut plan = crate::dsp::stft::SpectrumPlan::new(FRAME_FFT);
            let (mut frame, mut mags) = (vec![0.0f32; FRAME_FFT], vec![0.0f32; FRAME_FFT / 2 + 1]);
            let (mut centroids, mut flux, mut prev) = (Vec::new(), Vec::new(), None::<Vec<f64>>);
            for t in 0..centred_frame_count(signal.len(), FRAME_HOP) {
                centred_frame(&signal, t, FRAME_HOP, &mut frame);
                plan.magnitudes(&frame, &mut mags);
                let total: f64 = mags.iter().map(|&m| f64::from(m)).sum();
                let weighted: f64 =
                    mags.iter().enumerate().map(|(k, &m)| k as f64 * SR / FRAME_FFT as f64 * f64::from(m)).sum();
                centroids.push(weighted / total);
                let log: Vec<f64> = mags.iter().map(|&m| (1.0 + 1000.0 * f64::from(m)).ln()).collect();
                if let Some(p) = &prev {
                    flux.push(log.iter().zip(p).map(|(c, p)| (c - p).max(0.0)).sum::<f64>());
                }
                prev = Some(log);
            }
            let centroid = centroids.iter().sum::<f64>() / centroids.len() as f64;
            assert!(
                (got.centroid_hz - centroid).abs() <= 1e-5 * centroid,
                "centroid {} vs {centroid}",
                got.centroid_hz
            );
            let got_flux = got.flux.expect("flux was asked for");
            assert_eq!(got_flux.len(), flux.len());
            let top = flux.iter().fold(0.0f64, |a, &b| a.max(b));
            for (t, (g, w)) in got_flux.iter().zip(&flux).enumerate() {
                assert!((g - w).abs() <= 1e-4 * top, "flux of frame {t}: {g} vs {w} (largest {top})");
            }
        }
        assert!(frame_measures(&[0.5; 3000], false).flux.is_none());
    }

    #[test]
    fn csv_header_quoting_and_empty_cells() {
        let m = Metrics {
            duration_sec: 2.0,
            rms_db: -18.25,
            peak: 0.891,
            crest_factor: 4.5,
            centroid_hz: 1234.56,
            est_freq_hz: Some(440.0),
            loop_error_db: None,
            brightness: Brightness::Dark,
            detected_key: Some("A minor".into()),
            detected_bpm: None,
        };
        let rows = [
            Row {
                filename: "a_pad01.wav".into(),
                source: "rain, night".into(),
                kind: "pad".into(),
                metrics: Some(m),
                grade: Some(Grade::A),
                saved: true,
                reason: None,
            },
            Row {
                filename: "hiss_flicker_01.wav".into(),
                source: "say \"hi\"".into(),
                kind: "hiss_flicker".into(),
                metrics: None,
                grade: None,
                saved: false,
                reason: Some("the result is silent\nskipped".into()),
            },
        ];
        let csv = write_csv(&rows);
        let expected = format!(
            "{CSV_HEADER}\n\
             a_pad01.wav,\"rain, night\",pad,2.000,-18.25,0.8910,4.500,1234.6,440.00,,dark,A minor,,A,true,\n\
             hiss_flicker_01.wav,\"say \"\"hi\"\"\",hiss_flicker,,,,,,,,,,,,false,\"the result is silent\nskipped\"\n"
        );
        assert_eq!(csv, expected);
        assert!(CSV_HEADER.starts_with("filename,source,type,duration_sec,rms_db,peak,crest_factor,"));
        assert!(CSV_HEADER.ends_with("detected_key,detected_bpm,grade,saved,note"));
        assert_eq!(write_csv(&[]), format!("{CSV_HEADER}\n"));
    }
}
