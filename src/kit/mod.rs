//! Layer 2: the drum kit. Validated voice params + seed in, mono samples out (no I/O).
//!
//! Every voice is rendered at 4× the output rate, decimated by [`crate::dsp::decimate`],
//! peak-normalised to 0.95 (the legacy level) and run through [`post::post_process`].

pub mod params;
pub mod post;
pub mod schema;

mod hat;
mod kick;
mod snare;

#[cfg(test)]
mod tests;

pub use params::{LayerParams, ParamError, VoiceParams};
pub use schema::{Instrument, LAYER_SCHEMA, ParamSpec};

use crate::dsp::decimate::{FACTOR, decimate4};
use crate::dsp::level::normalize_peak;

/// Legacy peak level after decimation, before the post chain.
pub const NORMALISE_PEAK: f64 = 0.95;
/// Supported output sample rates (others still render without panicking).
pub const SAMPLE_RATES_HZ: std::ops::RangeInclusive<u32> = 8000..=192_000;

/// Render one voice: mono, `round(length_s · sample_rate_hz)` samples.
///
/// Deterministic: the same `(inst, params, seed, sample_rate_hz)` gives the same bits. Each
/// layer draws from its own stream `Rng::derive(seed, "<voice>/<layer>")`, so muting or
/// retuning one layer never shifts another layer's noise. A zero sample rate gives an empty
/// buffer; all-muted voices give silence.
///
/// ```
/// use ntsbuild::kit::{render_voice, Instrument, VoiceParams};
/// let out = render_voice(Instrument::Snare, &VoiceParams::defaults(Instrument::Snare), 1, 48_000);
/// assert_eq!(out.len(), 24_000);
/// ```
pub fn render_voice(inst: Instrument, params: &VoiceParams, seed: u64, sample_rate_hz: u32) -> Vec<f32> {
    if sample_rate_hz == 0 {
        return Vec::new();
    }
    let sr = f64::from(sample_rate_hz);
    let length_s = inst.param("length_s").map_or(0.5, |spec| params.value(spec));
    let out_len = (length_s * sr).round() as usize;
    let sr_hi = sr * FACTOR as f64;
    let len_hi = out_len * FACTOR;
    let hi = match inst {
        Instrument::Kick => kick::render(params, seed, sr_hi, len_hi),
        Instrument::Snare => snare::render(params, seed, sr_hi, len_hi),
        Instrument::Hat => hat::render(params, seed, sr_hi, len_hi),
    };
    let mut out = decimate4(&hi, out_len);
    normalize_peak(&mut out, NORMALISE_PEAK);
    post::post_process(&mut out, sr);
    out.into_iter().map(|v| v as f32).collect()
}
