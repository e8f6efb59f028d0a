//! Layer 2: the drum kit. Validated voice params + seed in, mono samples out (no I/O).
//!
//! Every voice is rendered at 4× the output rate for [`MAX_LENGTH_S`], decimated by
//! [`crate::dsp::decimate`], ended where it has decayed (or at its `length_s` cap) and run
//! through [`post::post_process`]. Levels are the engine's own (no normalisation): the layers'
//! gains are heard as set.

pub mod metrics;
pub mod param_table;
pub mod params;
pub mod post;
pub mod schema;

mod hat;
mod kick;
mod snare;

#[cfg(test)]
mod tests;

pub use params::{LayerParams, VoiceParams};
pub use schema::{Instrument, LAYER_SCHEMA, ParamSpec};

use crate::dsp::decimate::{FACTOR, TAPS, decimate4};
use crate::dsp::level::decay_end;

/// Hard maximum of a voice's length (and the default of its `length_s` cap), seconds.
pub const MAX_LENGTH_S: f64 = 4.0;
/// Shortest voice, seconds (also the lower bound of `length_s`).
pub const MIN_LENGTH_S: f64 = 0.05;
/// A voice ends at the last 10 ms window whose RMS is within this of its loudest window's.
pub const TAIL_FLOOR_DB: f64 = -60.0;
/// Window of that level measurement, seconds.
pub const TAIL_WINDOW_S: f64 = 0.010;
/// Fade-out of a voice that ends by decaying (it is 60 dB down already).
pub const END_FADE_MS: f64 = 4.0;
/// Fade-out of a voice cut by its `length_s` cap while still sounding.
pub const CAP_FADE_MS: f64 = 20.0;
/// Supported output sample rates (others still render without panicking).
pub const SAMPLE_RATES_HZ: std::ops::RangeInclusive<u32> = 8000..=192_000;

/// Render one voice: mono, at most `length_s` (default and hard maximum [`MAX_LENGTH_S`]).
///
/// Length: the voice ends where it has decayed for good — the end of the last 10 ms window
/// (of the 4× internal signal) whose RMS is within 60 dB of the loudest window's — but lasts
/// at least [`MIN_LENGTH_S`], with a [`END_FADE_MS`] fade-out. A `length_s` below that cuts it
/// at exactly `round(length_s · sample_rate_hz)` samples with a [`CAP_FADE_MS`] fade-out.
///
/// Rendering is causal, so a longer render only appends samples: the voice is first rendered
/// for a generous estimate of its ring ([`ring_estimate_s`], at most the cap) and, if it is
/// still sounding at the end of that, once more up to its cap. A cap therefore changes
/// nothing before the cut but the fade.
///
/// Deterministic: the same `(inst, params, seed, sample_rate_hz)` gives the same bits. Each
/// layer draws from its own stream `Rng::derive(seed, "<voice>/<layer>")`, so muting or
/// retuning one layer never shifts another layer's noise. A zero sample rate gives an empty
/// buffer; all-muted voices give [`MIN_LENGTH_S`] of silence.
///
/// ```
/// use ntsbuild::kit::{render_voice, Instrument, VoiceParams};
/// let mut params = VoiceParams::defaults(Instrument::Snare);
/// params.values.insert("length_s".into(), 0.25);
/// let out = render_voice(Instrument::Snare, &params, 1, 48_000);
/// assert_eq!(out.len(), 12_000);
/// ```
pub fn render_voice(inst: Instrument, params: &VoiceParams, seed: u64, sample_rate_hz: u32) -> Vec<f32> {
    if sample_rate_hz == 0 {
        return Vec::new();
    }
    let sr = f64::from(sample_rate_hz);
    let max_len = (MAX_LENGTH_S * sr).round() as usize;
    let min_len = ((MIN_LENGTH_S * sr).round() as usize).clamp(1, max_len);
    let cap_s = inst.param("length_s").map_or(MAX_LENGTH_S, |spec| params.value(spec));
    let cap_len = ((cap_s * sr).round() as usize).clamp(1, max_len);
    let sr_hi = sr * FACTOR as f64;
    let window_hi = ((TAIL_WINDOW_S * sr_hi).round() as usize).max(1);
    let estimate_len = ((ring_estimate_s(inst, params) * sr).ceil() as usize).clamp(min_len, cap_len);

    let mut span = estimate_len;
    loop {
        // The decimator reads `TAPS` input samples beyond the last output's centre.
        let hi = match inst {
            Instrument::Kick => kick::render(params, seed, sr_hi, span * FACTOR + TAPS),
            Instrument::Snare => snare::render(params, seed, sr_hi, span * FACTOR + TAPS),
            Instrument::Hat => hat::render(params, seed, sr_hi, span * FACTOR + TAPS),
        };
        let body = &hi[..span * FACTOR];
        let end_hi = decay_end(body, window_hi, TAIL_FLOOR_DB);
        let sounding = end_hi + window_hi > body.len();
        if sounding && span < cap_len {
            span = cap_len;
            continue;
        }
        let (len, fade_out_ms) =
            if sounding { (span, CAP_FADE_MS) } else { (end_hi.div_ceil(FACTOR).clamp(min_len, span), END_FADE_MS) };
        let mut out = decimate4(&hi, len);
        post::post_process(&mut out, sr, fade_out_ms);
        return out.into_iter().map(|v| v as f32).collect();
    }
}

/// A generous estimate, in seconds, of when a voice has decayed 70 dB below its peak (10 dB
/// more than the length rule asks, for the drive's and the soft clip's compression of the
/// peak): the slowest of its layers' decays, each from its own time constants. Only the
/// render's first pass depends on it; a voice still sounding at its end is rendered again.
pub fn ring_estimate_s(inst: Instrument, params: &VoiceParams) -> f64 {
    let seconds = match inst {
        Instrument::Kick => kick::ring_s(params),
        Instrument::Snare => snare::ring_s(params),
        Instrument::Hat => hat::ring_s(params),
    };
    if seconds.is_finite() { seconds.clamp(MIN_LENGTH_S, MAX_LENGTH_S) } else { MAX_LENGTH_S }
}

/// `ln(10^(70/20))`: time constants an exponential needs to fall 70 dB.
pub(crate) const TAU_TO_70_DB: f64 = 8.059_047_825_479_16;
/// How far an [`crate::dsp::envelope::ExpAd`] at sustain 0 has fallen once it holds: e^(−3).
pub(crate) const EXP_AD_FLOOR_TAU: f64 = 3.0;
