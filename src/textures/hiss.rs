//! Hiss loops and flickers (DOMAIN §G "Hiss"): band-passed chunks of the drum source, or of
//! synthetic white noise when there is none, made into tremolo loops and short faded bursts.
//!
//! Every plan item draws from its own stream, `Rng::derive(seed, "hiss/<name>")`, so items are
//! independent: changing the number of flickers does not change any loop. A silent item (e.g.
//! from a silent drum file) is an error for that item only.

use crate::dsp::rng::Rng;
use crate::textures::filter::{Band, butter_zero_phase};
use crate::textures::looping::{crossfade_loop, fade_in_out};
use crate::textures::{Clip, ClipSource, OUTPUT_RATE_HZ, SILENCE_PEAK, TextureError};

/// Hiss parameters (DOMAIN §G defaults); field names double as TOML keys.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct HissSettings {
    /// Length of each loop (s); a chunk of `chunk_s` plus the crossfade is taken so that the
    /// finished loop is exactly `chunk_s` long.
    pub chunk_s: f64,
    /// Lower edge of the Butterworth band-pass (Hz).
    pub band_low_hz: f64,
    /// Upper edge of the Butterworth band-pass (Hz).
    pub band_high_hz: f64,
    /// Butterworth order of each band edge (1–8), applied forwards and backwards.
    pub order: usize,
    /// Tremolo depth `d` (0–1): gain `1 − d/2 + (d/2)·sin(2π·rate·t)`.
    pub tremolo_depth: f64,
    /// Tremolo rate (Hz).
    pub tremolo_rate_hz: f64,
    /// Equal-power loop crossfade (ms).
    pub loop_crossfade_ms: f64,
    /// Number of loops (count).
    pub loops: usize,
    /// Number of flickers (count).
    pub flickers: usize,
    /// Shortest flicker (ms).
    pub flicker_ms_min: f64,
    /// Longest flicker (ms).
    pub flicker_ms_max: f64,
    /// Linear flicker fade-in (ms).
    pub flicker_fade_in_ms: f64,
    /// Linear flicker fade-out (ms).
    pub flicker_fade_out_ms: f64,
}

impl Default for HissSettings {
    fn default() -> Self {
        Self {
            chunk_s: 1.5,
            band_low_hz: 4000.0,
            band_high_hz: 14000.0,
            order: 4,
            tremolo_depth: 0.6,
            tremolo_rate_hz: 3.0,
            loop_crossfade_ms: 50.0,
            loops: 2,
            flickers: 4,
            flicker_ms_min: 50.0,
            flicker_ms_max: 300.0,
            flicker_fade_in_ms: 10.0,
            flicker_fade_out_ms: 50.0,
        }
    }
}

/// Most loops or flickers per run (names are numbered with two digits).
pub const MAX_ITEMS: usize = 99;

impl HissSettings {
    /// Checks every field; the message names the field and the value.
    pub fn validate(&self) -> Result<(), String> {
        let s = self;
        let nyquist = f64::from(OUTPUT_RATE_HZ) / 2.0;
        check(s.chunk_s > 0.0 && s.chunk_s <= 600.0, "chunk_s must be in (0, 600]", s.chunk_s)?;
        check(
            s.band_low_hz > 0.0 && s.band_low_hz < s.band_high_hz,
            "band_low_hz must be > 0 and < band_high_hz",
            s.band_low_hz,
        )?;
        check(s.band_high_hz < nyquist, "band_high_hz must be < 22050", s.band_high_hz)?;
        check((1..=8).contains(&s.order), "order must be in 1..=8", s.order as f64)?;
        check((0.0..=1.0).contains(&s.tremolo_depth), "tremolo_depth must be in [0, 1]", s.tremolo_depth)?;
        check(
            s.tremolo_rate_hz >= 0.0 && s.tremolo_rate_hz <= 1000.0,
            "tremolo_rate_hz must be in [0, 1000]",
            s.tremolo_rate_hz,
        )?;
        check(
            s.loop_crossfade_ms >= 0.0 && s.loop_crossfade_ms <= 500.0 * s.chunk_s,
            "loop_crossfade_ms must be ≥ 0 and ≤ half of chunk_s",
            s.loop_crossfade_ms,
        )?;
        check(s.loops <= MAX_ITEMS, "loops must be ≤ 99", s.loops as f64)?;
        check(s.flickers <= MAX_ITEMS, "flickers must be ≤ 99", s.flickers as f64)?;
        check(
            s.flicker_ms_min > 0.0 && s.flicker_ms_min <= s.flicker_ms_max,
            "flicker_ms_min must be > 0 and ≤ flicker_ms_max",
            s.flicker_ms_min,
        )?;
        check(s.flicker_ms_max <= 60_000.0, "flicker_ms_max must be ≤ 60000", s.flicker_ms_max)?;
        check(
            (0.0..=60_000.0).contains(&s.flicker_fade_in_ms),
            "flicker_fade_in_ms must be in [0, 60000]",
            s.flicker_fade_in_ms,
        )?;
        check(
            (0.0..=60_000.0).contains(&s.flicker_fade_out_ms),
            "flicker_fade_out_ms must be in [0, 60000]",
            s.flicker_fade_out_ms,
        )
    }
}

/// `Err("<rule> (got <value>)")` unless `ok` (NaN fails every rule above).
fn check(ok: bool, rule: &str, got: f64) -> Result<(), String> {
    if ok { Ok(()) } else { Err(format!("{rule} (got {got})")) }
}

/// What a plan item renders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HissKind {
    /// A `chunk_s` tremolo loop.
    Loop,
    /// A short faded burst.
    Flicker,
}

/// The items [`make_hiss`] renders, from the settings alone: loops, then flickers, numbered
/// from 1 per kind: `hiss_loop_01`, …, `hiss_flicker_01`, … (files are `<name>.wav`).
///
/// ```
/// use ntsbuild::textures::hiss::{plan_hiss, HissKind, HissSettings};
/// let plan = plan_hiss(&HissSettings { loops: 1, flickers: 2, ..HissSettings::default() });
/// assert_eq!(plan[0], (HissKind::Loop, "hiss_loop_01".to_string()));
/// assert_eq!(plan[2], (HissKind::Flicker, "hiss_flicker_02".to_string()));
/// ```
pub fn plan_hiss(settings: &HissSettings) -> Vec<(HissKind, String)> {
    let loops = (1..=settings.loops).map(|i| (HissKind::Loop, format!("hiss_loop_{i:02}")));
    let flickers = (1..=settings.flickers).map(|i| (HissKind::Flicker, format!("hiss_flicker_{i:02}")));
    loops.chain(flickers).collect()
}

/// One result per [`plan_hiss`] item, in plan order, at 44.1 kHz with the source's channels
/// (pass a mixed-down clip for mono hiss).
///
/// Material: `material` (the drum source; every channel cut at the same place and processed
/// alike) when given, else mono white noise `0.1·N(0, 1)` from the item's stream. A chunk
/// starts at a uniform random offset and wraps around to the source's start when the source
/// is shorter than the chunk.
///
/// - Loop: a chunk of `chunk_s` + crossfade, band-passed (order-`order` Butterworth,
///   zero-phase), multiplied by the tremolo `1 − d/2 + (d/2)·sin(2π·rate·t)` (`t` from the
///   chunk start), then [`crossfade_loop`]ed (equal power), which leaves exactly `chunk_s`.
/// - Flicker: `U(flicker_ms_min, flicker_ms_max)` ms, band-passed, linear fades of
///   `flicker_fade_in_ms` / `flicker_fade_out_ms` (clamped to the length; where they overlap
///   the gains multiply).
///
/// Peak normalisation (−6 dBFS loops, −3 dBFS flickers) is left to the engine. An item whose
/// peak is below `1e-8` is `Err(Silent)`; an empty source makes every item `Err(TooShort)`;
/// invalid settings make every item `Err(NoCandidate)`.
pub fn make_hiss(
    material: Option<&dyn ClipSource>,
    settings: &HissSettings,
    seed: u64,
) -> Vec<Result<Clip, TextureError>> {
    let plan = plan_hiss(settings);
    if let Err(e) = settings.validate() {
        return plan.iter().map(|_| Err(TextureError::NoCandidate(format!("invalid hiss settings: {e}")))).collect();
    }
    plan.iter()
        .map(|(kind, name)| {
            let mut rng = Rng::new(Rng::derive(seed, &format!("hiss/{name}")));
            match kind {
                HissKind::Loop => make_loop(material, settings, &mut rng),
                HissKind::Flicker => make_flicker(material, settings, &mut rng),
            }
        })
        .collect()
}

fn make_loop(material: Option<&dyn ClipSource>, s: &HissSettings, rng: &mut Rng) -> Result<Clip, TextureError> {
    let fade = ms_to_samples(s.loop_crossfade_ms);
    let len = ((s.chunk_s * f64::from(OUTPUT_RATE_HZ)).round() as usize).max(1);
    let mut channels = Vec::new();
    for chunk in take_chunk(material, len + fade, rng)? {
        let mut chunk = band_passed(chunk, s)?;
        apply_tremolo(&mut chunk, s.tremolo_depth, s.tremolo_rate_hz);
        channels.push(chunk);
    }
    not_silent(crossfade_loop(&Clip { channels }, fade)?)
}

fn make_flicker(material: Option<&dyn ClipSource>, s: &HissSettings, rng: &mut Rng) -> Result<Clip, TextureError> {
    let ms = rng.range(s.flicker_ms_min, s.flicker_ms_max);
    let len = ms_to_samples(ms).max(1);
    let channels = take_chunk(material, len, rng)?.into_iter().map(|c| band_passed(c, s)).collect::<Result<_, _>>()?;
    let mut clip = Clip { channels };
    fade_in_out(&mut clip, ms_to_samples(s.flicker_fade_in_ms), ms_to_samples(s.flicker_fade_out_ms));
    not_silent(clip)
}

/// `len` samples of every channel of the material from one uniform random start (wrapping
/// around when the material is shorter; a non-finite sample reads as 0), or one channel of
/// `len` samples of `0.1·N(0, 1)` white noise without material.
fn take_chunk(material: Option<&dyn ClipSource>, len: usize, rng: &mut Rng) -> Result<Vec<Vec<f32>>, TextureError> {
    let Some(source) = material else {
        return Ok(vec![(0..len).map(|_| (0.1 * rng.normal()) as f32).collect()]);
    };
    let n = source.len();
    if n == 0 {
        return Err(TextureError::TooShort { need_s: len as f64 / f64::from(OUTPUT_RATE_HZ), have_s: 0.0 });
    }
    let span = if n > len { n - len + 1 } else { n };
    let start = ((rng.uniform() * span as f64) as usize).min(span - 1);
    // Only the chunk is read; a source shorter than the chunk is read whole and wrapped.
    let (read_start, offset) = if n > len { (start, 0) } else { (0, start) };
    let window = source.read(read_start, len.min(n))?;
    let m = window.len();
    let finite = |x: f32| if x.is_finite() { x } else { 0.0 };
    Ok(window.channels.iter().map(|src| (0..len).map(|i| finite(src[(offset + i) % m])).collect()).collect())
}

fn band_passed(x: Vec<f32>, s: &HissSettings) -> Result<Vec<f32>, TextureError> {
    let band = Band::Bandpass { low_hz: s.band_low_hz, high_hz: s.band_high_hz };
    butter_zero_phase(&x, OUTPUT_RATE_HZ, band, s.order)
        .map_err(|e| TextureError::NoCandidate(format!("hiss band-pass: {e}")))
}

/// `x[n] ·= 1 − d/2 + (d/2)·sin(2π·rate·n/44100)`.
fn apply_tremolo(x: &mut [f32], depth: f64, rate_hz: f64) {
    let w = std::f64::consts::TAU * rate_hz / f64::from(OUTPUT_RATE_HZ);
    for (n, v) in x.iter_mut().enumerate() {
        let gain = 1.0 - depth / 2.0 + depth / 2.0 * (w * n as f64).sin();
        *v = (f64::from(*v) * gain) as f32;
    }
}

fn not_silent(clip: Clip) -> Result<Clip, TextureError> {
    let peak = clip.peak();
    if peak < SILENCE_PEAK { Err(TextureError::Silent { peak }) } else { Ok(clip) }
}

fn ms_to_samples(ms: f64) -> usize {
    (ms * f64::from(OUTPUT_RATE_HZ) / 1000.0).round() as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use realfft::RealFftPlanner;
    use std::f64::consts::TAU;

    const SR: f64 = OUTPUT_RATE_HZ as f64;

    /// Fraction of the power between `lo` and `hi` Hz.
    fn band_fraction(x: &[f32], lo: f64, hi: f64) -> f64 {
        let mut input: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(input.len());
        let mut spectrum = fft.make_output_vec();
        fft.process(&mut input, &mut spectrum).unwrap();
        let bin_hz = SR / x.len() as f64;
        let (mut inside, mut total) = (0.0, 0.0);
        for (k, c) in spectrum.iter().enumerate() {
            let p = c.norm_sqr();
            total += p;
            if (lo..=hi).contains(&(k as f64 * bin_hz)) {
                inside += p;
            }
        }
        inside / total
    }

    /// Every channel of a stereo drum source is cut at the same place and processed alike.
    #[test]
    fn stereo_material_keeps_its_channels() {
        let mut rng = Rng::new(5);
        let left: Vec<f32> = (0..88_200).map(|_| (0.3 * rng.normal()) as f32).collect();
        let right: Vec<f32> = left.iter().map(|v| 0.25 * v).collect();
        let settings = HissSettings { loops: 1, flickers: 1, ..HissSettings::default() };
        let out = make_hiss(Some(&Clip { channels: vec![left.clone(), right] }), &settings, 3);
        for clip in out.iter().map(|r| r.as_ref().expect("made")) {
            assert_eq!(clip.channels.len(), 2);
            for (l, r) in clip.channels[0].iter().zip(&clip.channels[1]) {
                assert!((r - 0.25 * l).abs() < 1e-5, "{l} {r}");
            }
        }
        let mono = make_hiss(Some(&Clip::mono(left)), &settings, 3);
        assert!(mono.iter().all(|r| r.as_ref().is_ok_and(|c| c.channels.len() == 1)));
    }

    #[test]
    fn plan_names_loops_then_flickers() {
        let names: Vec<String> = plan_hiss(&HissSettings::default()).into_iter().map(|(_, n)| n).collect();
        assert_eq!(
            names,
            [
                "hiss_loop_01",
                "hiss_loop_02",
                "hiss_flicker_01",
                "hiss_flicker_02",
                "hiss_flicker_03",
                "hiss_flicker_04"
            ]
        );
        let kinds: Vec<HissKind> = plan_hiss(&HissSettings::default()).into_iter().map(|(k, _)| k).collect();
        assert_eq!(kinds[1..3], [HissKind::Loop, HissKind::Flicker]);
    }

    #[test]
    fn synthetic_hiss_is_band_limited_with_exact_lengths() {
        let settings = HissSettings::default();
        let items = make_hiss(None, &settings, 5);
        assert_eq!(items.len(), 6);
        for (i, item) in items.iter().enumerate() {
            let clip = item.as_ref().expect("noise hiss renders");
            let x = &clip.channels[0];
            if i < 2 {
                assert_eq!(x.len(), 66_150, "loop is exactly 1.5 s");
            } else {
                assert!((2205..=13_230).contains(&x.len()), "flicker of 50–300 ms: {}", x.len());
                assert_eq!((x[0], x[x.len() - 1]), (0.0, 0.0), "faded ends");
            }
            let fraction = band_fraction(x, 3500.0, 15_000.0);
            assert!(fraction > 0.9, "item {i}: {fraction}");
        }
    }

    #[test]
    fn tremolo_modulates_the_envelope_at_its_rate() {
        let settings = HissSettings { chunk_s: 3.0, loops: 1, flickers: 0, ..HissSettings::default() };
        let clip = make_hiss(None, &settings, 9).remove(0).unwrap();
        // Envelope: mean power over 10 ms blocks (100 per second), mean removed.
        let env: Vec<f64> =
            clip.channels[0].chunks_exact(441).map(|b| b.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>()).collect();
        let mean = env.iter().sum::<f64>() / env.len() as f64;
        let strength = |hz: f64| {
            let (mut re, mut im) = (0.0, 0.0);
            for (i, e) in env.iter().enumerate() {
                let phase = TAU * hz * i as f64 / 100.0;
                re += (e - mean) * phase.cos();
                im += (e - mean) * phase.sin();
            }
            re.hypot(im)
        };
        let at_rate = strength(3.0);
        for other in [1.0, 2.0, 4.0, 5.0, 6.0, 8.0, 12.0] {
            assert!(at_rate > 3.0 * strength(other), "3 Hz {at_rate} vs {other} Hz {}", strength(other));
        }
        let flat = HissSettings { tremolo_depth: 0.0, ..settings };
        let clip = make_hiss(None, &flat, 9).remove(0).unwrap();
        let env: Vec<f64> =
            clip.channels[0].chunks_exact(441).map(|b| b.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>()).collect();
        let (lo, hi) = env.iter().fold((f64::MAX, 0.0f64), |(lo, hi), &e| (lo.min(e), hi.max(e)));
        assert!(hi / lo < 3.0, "no tremolo: {}", hi / lo);
    }

    #[test]
    fn silent_drums_give_per_item_errors_not_a_panic() {
        let silent = Clip::mono(vec![0.0; 44_100]);
        let items = make_hiss(Some(&silent), &HissSettings::default(), 1);
        assert_eq!(items.len(), 6);
        assert!(items.iter().all(|r| matches!(r, Err(TextureError::Silent { .. }))), "{items:?}");
        let empty = Clip::mono(Vec::new());
        assert!(make_hiss(Some(&empty), &HissSettings::default(), 1).iter().all(|r| r.is_err()));
        let bad = HissSettings { order: 0, ..HissSettings::default() };
        assert!(make_hiss(None, &bad, 1).iter().all(|r| matches!(r, Err(TextureError::NoCandidate(_)))));
    }

    #[test]
    fn short_drum_hit_wraps_instead_of_padding_silence() {
        let mut rng = Rng::new(3);
        let hit: Vec<f32> = (0..4410).map(|i| (0.5 * (-(i as f64) / 800.0).exp() * rng.normal()) as f32).collect();
        let items = make_hiss(Some(&Clip::mono(hit)), &HissSettings::default(), 2);
        let first_loop = items[0].as_ref().unwrap();
        // Every 100 ms stretch of the loop holds part of a hit.
        for block in first_loop.channels[0].chunks(4410) {
            assert!(block.iter().any(|v| v.abs() > 1e-4));
        }
    }

    #[test]
    fn deterministic_per_seed() {
        let settings = HissSettings::default();
        let a = make_hiss(None, &settings, 11);
        assert_eq!(a, make_hiss(None, &settings, 11));
        assert_ne!(a, make_hiss(None, &settings, 12));
        // Items are independent: fewer flickers leave the loops unchanged.
        let fewer = make_hiss(None, &HissSettings { flickers: 1, ..settings }, 11);
        assert_eq!(a[..3], fewer[..]);
    }

    #[test]
    fn settings_validate_names_the_field() {
        assert_eq!(HissSettings::default().validate(), Ok(()));
        let bad = HissSettings { band_low_hz: 15_000.0, ..HissSettings::default() };
        assert_eq!(bad.validate().unwrap_err(), "band_low_hz must be > 0 and < band_high_hz (got 15000)");
        let bad = HissSettings { tremolo_depth: 1.5, ..HissSettings::default() };
        assert!(bad.validate().unwrap_err().starts_with("tremolo_depth"));
        let bad = HissSettings { flicker_ms_max: 10.0, ..HissSettings::default() };
        assert!(bad.validate().unwrap_err().starts_with("flicker_ms_min"));
    }
}
