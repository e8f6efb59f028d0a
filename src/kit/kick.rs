//! Kick engine (seed 001 / DOMAIN §D): two FM layers, punch and a delayed room tone, then tanh drive.

use std::f64::consts::TAU;

use crate::dsp::envelope::ExpDecay;
use crate::dsp::rng::Rng;
use crate::kit::params::{Knobs, VoiceParams};
use crate::kit::schema::Instrument;

/// Peak FM deviation per unit of noise·index, in Hz.
const FM_DEPTH_HZ: f64 = 5000.0;

/// One FM layer: `amp = e^(−t/ad)`, `pitch = end + (start − end)·e^(−t/pd)`,
/// `fm = e^(−t/fd)·index`, `f = |pitch + noise·fm·5000|`, `out = sin(2π·Σf/sr)·amp`, where
/// `noise` is standard normal (one draw per sample) and `Σf` includes the current sample.
#[derive(Debug, Clone, Copy)]
struct FmLayer {
    start_hz: f64,
    end_hz: f64,
    pitch_decay_s: f64,
    amp_decay_s: f64,
    fm_index: f64,
    fm_decay_s: f64,
}

impl FmLayer {
    fn render(&self, out: &mut [f64], sample_rate_hz: f64, rng: &mut Rng) {
        let mut phase = 0.0f64;
        let mut amp_env = ExpDecay::new(self.amp_decay_s, sample_rate_hz);
        let mut pitch_env = ExpDecay::new(self.pitch_decay_s, sample_rate_hz);
        let mut fm_env = ExpDecay::new(self.fm_decay_s, sample_rate_hz);
        for y in out.iter_mut() {
            let amp = amp_env.next_value();
            let pitch = self.end_hz + (self.start_hz - self.end_hz) * pitch_env.next_value();
            let fm = fm_env.next_value() * self.fm_index;
            let f = (pitch + rng.normal() * fm * FM_DEPTH_HZ).abs();
            phase += f / sample_rate_hz;
            phase -= phase.floor();
            *y = (TAU * phase).sin() * amp;
        }
    }
}

/// Render the kick at `sample_rate_hz` (the 4× internal rate), `len` samples, before
/// decimation and normalisation.
pub(crate) fn render(params: &VoiceParams, seed: u64, sample_rate_hz: f64, len: usize) -> Vec<f64> {
    let k = Knobs { inst: Instrument::Kick, params };
    let click = k.get("click_amount");
    let blend = k.get("blend");
    let punch = params.layer("punch");
    let room = params.layer("room");

    let mut mix = vec![0.0; len];
    if !punch.mute {
        let layer = FmLayer {
            start_hz: 150.0 + 100.0 * click,
            end_hz: k.get("tune"),
            pitch_decay_s: 0.08,
            amp_decay_s: 0.1 + 0.4 * k.get("punch_decay"),
            fm_index: click,
            fm_decay_s: 0.005 + 0.02 * k.get("click_snap"),
        };
        let mut rng = Rng::new(Rng::derive(seed, "kick/punch"));
        layer.render(&mut mix, sample_rate_hz, &mut rng);
        punch.apply(&mut mix, sample_rate_hz);
    }
    // With blend = 0 (or the room muted) the room layer is not rendered at all, so its
    // parameters cannot change a single bit of the output.
    if blend != 0.0 && !room.mute {
        let delay = ((k.get("distance_ms") * sample_rate_hz / 1000.0).round() as usize).min(len);
        let tone = k.get("room_tone_freq");
        let layer = FmLayer {
            start_hz: tone,
            end_hz: tone,
            pitch_decay_s: 1.0,
            amp_decay_s: 0.2,
            fm_index: 0.2 * k.get("room_air"),
            fm_decay_s: 0.1,
        };
        let mut b = vec![0.0; len - delay];
        let mut rng = Rng::new(Rng::derive(seed, "kick/room"));
        layer.render(&mut b, sample_rate_hz, &mut rng);
        room.apply(&mut b, sample_rate_hz);
        for (m, x) in mix[delay..].iter_mut().zip(&b) {
            *m += blend * x;
        }
    }
    let drive = 1.0 + 0.5 * click;
    for m in mix.iter_mut() {
        *m = (*m * drive).tanh();
    }
    mix
}
