//! Snare engine (seed 001 / DOMAIN §D): exciter → 4-line FDN shell, plus swept-noise wires.

use crate::dsp::biquad::{Biquad, SweptBandpass};
use crate::dsp::clip::hard_clip;
use crate::dsp::envelope::ExpDecay;
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

/// Render the snare at `sample_rate_hz` (the 4× internal rate), `len` samples.
///
/// Layers: the exciter only drives the shell (as in the seed, it is not mixed in directly),
/// so its gain/ADSR shape the strike and muting it silences the shell; the shell's and the
/// wires' controls act on what they add to the mix.
pub(crate) fn render(params: &VoiceParams, seed: u64, sample_rate_hz: f64, len: usize) -> Vec<f64> {
    let k = Knobs { inst: Instrument::Snare, params };
    let f0 = 150.0 + 150.0 * k.get("tone");
    let sr = sample_rate_hz;

    let exciter = params.layer("exciter");
    let mut exc = vec![0.0; len];
    if !exciter.mute {
        let mut rng = Rng::new(Rng::derive(seed, "snare/exciter"));
        let mut tri = Oscillator::new(Waveform::Triangle, 0.0);
        let mut body_env = ExpDecay::new(1.0 / 20.0, sr);
        let mut air_env = ExpDecay::new(1.0 / 50.0, sr);
        for x in exc.iter_mut() {
            let body = 0.6 * tri.next(f0, sr) * body_env.next_value();
            let air = 0.4 * rng.range(-1.0, 1.0) * air_env.next_value();
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
        let delays = SHELL_CENTS.map(|c| sr / (f0 * 2f64.powf(c / 1200.0)));
        let mut fdn = Fdn4::new(Fdn4Params {
            delays_samples: delays,
            feedback: 0.85 + 0.11 * k.get("body"),
            limit: db_to_lin(-1.0),
            damping_base_hz: 2000.0,
            damping_per_peak_hz: 8000.0,
            block_len: ((DAMPING_BLOCK_S * sr).round() as usize).max(1),
            sample_rate_hz: sr,
        });
        fdn.process(&exc, &mut mix);
        shell.apply(&mut mix, sr);
    }

    let wires = params.layer("wires");
    let wire = k.get("wire");
    if !wires.mute && wire != 0.0 {
        let mut rng = Rng::new(Rng::derive(seed, "snare/wires"));
        let mut bp = SweptBandpass::new(9000.0, 3500.0, 0.05, 0.8, sr);
        let mut env = ExpDecay::new(0.2 + 0.3 * wire, sr);
        let mut w: Vec<f64> = (0..len).map(|_| bp.process(rng.range(-1.0, 1.0)) * env.next_value() * wire).collect();
        wires.apply(&mut w, sr);
        for (m, x) in mix.iter_mut().zip(&w) {
            *m += x;
        }
    }

    Biquad::highpass(80.0, std::f64::consts::FRAC_1_SQRT_2, sr).process_buf(&mut mix);
    mix
}
