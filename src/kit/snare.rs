//! Snare engine (seed 001 at its canonical defaults): a clipped triangle-and-noise exciter
//! struck through the shell (optionally ringing in a 4-line FDN) and swept, high-passed noise
//! wires, both under the shell's envelope.

use std::f64::consts::FRAC_1_SQRT_2;

use crate::dsp::biquad::{Biquad, SweptBandpass};
use crate::dsp::clip::hard_clip;
use crate::dsp::envelope::{ExpAd, ExpDecay};
use crate::dsp::fdn::{Fdn4, Fdn4Params};
use crate::dsp::level::db_to_lin;
use crate::dsp::oscillator::{Oscillator, Waveform};
use crate::dsp::rng::Rng;
use crate::kit::params::{Knobs, VoiceParams};
use crate::kit::schema::Instrument;

/// Shell line detunings in cents.
const SHELL_CENTS: [f64; 4] = [0.0, 5.0, -7.0, 12.0];
/// The FDN's damping follows the exciter peak over blocks of this length.
const DAMPING_BLOCK_S: f64 = 0.002;
/// Attack of the shell's (and wires') envelope.
const SHELL_ATTACK_MS: f64 = 1.0;
/// Levels of shell and wires in the mix (the seed's canonical balance: body 45 %, wires 55 %).
const SHELL_GAIN_DB: f64 = -3.3;
const WIRES_GAIN_DB: f64 = -9.43;
/// The wires are never fully silent: their level is `GHOST + (1 − GHOST)·wire`.
const WIRE_GHOST: f64 = 0.08;
/// High-pass of the wires after their swept band-pass.
const WIRES_HPF_HZ: f64 = 5000.0;
/// The seed renders the snare at 2× the output rate and keeps every other sample without a
/// filter, so its white exciter noise keeps all its power in the audible band (folded down),
/// and its wires' noise has the density of unit-variance noise at 2× the rate. Rendered at 4×
/// and decimated cleanly, the same noise would be 6 dB (air) and 3 dB (wires) quieter; these
/// gains restore the seed's levels without its aliasing.
const AIR_NOISE_GAIN: f64 = 2.0;
const WIRES_NOISE_GAIN: f64 = std::f64::consts::SQRT_2;
/// Master high-pass.
const MASTER_HPF_HZ: f64 = 80.0;

/// Render the snare at `sample_rate_hz` (the 4× internal rate), `len` samples.
///
/// Layers: the exciter is heard through the shell (as in the seed, it is not mixed in on its
/// own), so its gain/ADSR shape the strike and muting it silences the shell; the shell's and
/// the wires' controls act on what they add to the mix.
pub(crate) fn render(params: &VoiceParams, seed: u64, sample_rate_hz: f64, len: usize) -> Vec<f64> {
    let k = Knobs { inst: Instrument::Snare, params };
    let f0 = 150.0 + 150.0 * k.get("tone");
    let sr = sample_rate_hz;
    let shell_env = ExpAd { attack_ms: SHELL_ATTACK_MS, decay_ms: k.get("shell_decay_ms"), sustain: 0.0 };

    let exciter = params.layer("exciter");
    let mut exc = vec![0.0; len];
    if !exciter.mute {
        let mut rng = Rng::new(Rng::derive(seed, "snare/exciter"));
        let mut tri = Oscillator::new(Waveform::Triangle, 0.0);
        let mut body_env = ExpDecay::new(1.0 / 20.0, sr);
        let mut air_env = ExpDecay::new(1.0 / 50.0, sr);
        for x in exc.iter_mut() {
            let body = 0.6 * tri.next(f0, sr) * body_env.next_value();
            let air = AIR_NOISE_GAIN * 0.4 * rng.range(-1.0, 1.0) * air_env.next_value();
            *x = body + air;
        }
        let boost = 2.0 + 2.0 * k.get("crack");
        let limit = db_to_lin(-2.0);
        let mut crack = Biquad::bandpass(2000.0, 1.5, sr);
        for x in exc.iter_mut() {
            *x = hard_clip(*x + crack.process(*x) * boost, limit);
        }
        exciter.apply(&mut exc, sr);
    }

    let mut mix = vec![0.0; len];
    let shell = params.layer("shell");
    if !shell.mute {
        let mut s = exc.clone();
        let body = k.get("body");
        if body > 0.0 {
            let delays = SHELL_CENTS.map(|c| sr / (f0 * 2f64.powf(c / 1200.0)));
            let mut fdn = Fdn4::new(Fdn4Params {
                delays_samples: delays,
                feedback: 0.85 + 0.11 * body,
                limit: db_to_lin(-1.0),
                damping_base_hz: 2000.0,
                damping_per_peak_hz: 8000.0,
                block_len: ((DAMPING_BLOCK_S * sr).round() as usize).max(1),
                sample_rate_hz: sr,
            });
            let mut ring = vec![0.0; len];
            fdn.process(&exc, &mut ring);
            for (x, r) in s.iter_mut().zip(&ring) {
                *x += body * r;
            }
        }
        shell_env.apply(&mut s, sr);
        let g = db_to_lin(SHELL_GAIN_DB);
        s.iter_mut().for_each(|x| *x *= g);
        shell.apply(&mut s, sr);
        for (m, x) in mix.iter_mut().zip(&s) {
            *m += x;
        }
    }

    let wires = params.layer("wires");
    if !wires.mute {
        let wire = k.get("wire");
        let level = (WIRE_GHOST + (1.0 - WIRE_GHOST) * wire) * db_to_lin(WIRES_GAIN_DB);
        let mut rng = Rng::new(Rng::derive(seed, "snare/wires"));
        let mut bp = SweptBandpass::new(9000.0, 3500.0, 0.05, 0.8, sr);
        let mut hp = Biquad::highpass(WIRES_HPF_HZ, FRAC_1_SQRT_2, sr);
        let mut env = ExpDecay::new(0.2 + 0.3 * wire, sr);
        let mut w: Vec<f64> = (0..len)
            .map(|_| hp.process(bp.process(WIRES_NOISE_GAIN * rng.normal())) * env.next_value() * level)
            .collect();
        // The wires follow the shell's envelope, so the two decay together.
        shell_env.apply(&mut w, sr);
        wires.apply(&mut w, sr);
        for (m, x) in mix.iter_mut().zip(&w) {
            *m += x;
        }
    }

    Biquad::highpass(MASTER_HPF_HZ, FRAC_1_SQRT_2, sr).process_buf(&mut mix);
    mix
}

/// When the snare has fallen about 70 dB: the wires (`e^(−t/(0.2 + 0.3·wire))` under the shell
/// envelope's e^(−3) floor), the exciter (`e^(−20t)` under the same floor) and, with `body`,
/// the shell's ring (its loop loses `−ln(feedback)` nepers per period `1/f0`).
pub(crate) fn ring_s(params: &VoiceParams) -> f64 {
    use crate::kit::{EXP_AD_FLOOR_TAU, TAU_TO_70_DB};
    let k = Knobs { inst: Instrument::Snare, params };
    let after_floor = TAU_TO_70_DB - EXP_AD_FLOOR_TAU;
    let shell_decay_s = SHELL_ATTACK_MS / 1000.0 + k.get("shell_decay_ms") / 1000.0;
    let wires = (0.2 + 0.3 * k.get("wire")) * after_floor;
    let exciter = after_floor / 20.0;
    let body = k.get("body");
    let ring = if body > 0.0 {
        let f0 = 150.0 + 150.0 * k.get("tone");
        TAU_TO_70_DB / (f0 * -(0.85 + 0.11 * body).ln())
    } else {
        0.0
    };
    wires.max(exciter).max(ring).max(shell_decay_s) + 0.05
}
