//! Kick engine (seed 001 at its canonical defaults): an FM body swept down to `tune` and
//! low-passed (sub), a high-passed noise click, a damped-sine knock and an optional delayed
//! room tone, each under its own envelope, summed and driven through tanh.

use std::f64::consts::{FRAC_1_SQRT_2, TAU};

use crate::dsp::biquad::Biquad;
use crate::dsp::clip::hard_clip;
use crate::dsp::envelope::{ExpAd, ExpDecay};
use crate::dsp::level::db_to_lin;
use crate::dsp::rng::Rng;
use crate::kit::params::{Knobs, LayerParams, VoiceParams};
use crate::kit::schema::Instrument;

/// Peak FM deviation per unit of noise·index, in Hz.
const FM_DEPTH_HZ: f64 = 5000.0;
/// The sub layer is the FM body low-passed here (RBJ, Q 0.707).
const SUB_CUTOFF_HZ: f64 = 120.0;
/// Attack of the sub's envelope.
const SUB_ATTACK_MS: f64 = 1.0;
/// The click: a Gaussian noise burst this long, under a fall to −26 dB over `CLICK_DECAY_MS`,
/// at `CLICK_GAIN_DB` (the seed's canonical click level, 35 %).
const CLICK_BURST_S: f64 = 0.025;
const CLICK_DECAY_MS: f64 = 12.0;
const CLICK_GAIN_DB: f64 = -15.6;
/// The room's envelope falls to −26 dB over this time.
const ROOM_DECAY_MS: f64 = 200.0;

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

/// Apply a layer's built-in envelope, level and user controls, then add it into `mix` from
/// sample `offset` on.
fn add_layer(
    mix: &mut [f64],
    mut layer: Vec<f64>,
    env: ExpAd,
    gain_db: f64,
    user: &LayerParams,
    offset: usize,
    sr: f64,
) {
    env.apply(&mut layer, sr);
    let g = db_to_lin(gain_db);
    if g != 1.0 {
        layer.iter_mut().for_each(|x| *x *= g);
    }
    user.apply(&mut layer, sr);
    for (m, x) in mix.iter_mut().skip(offset).zip(&layer) {
        *m += x;
    }
}

/// Render the kick at `sample_rate_hz` (the 4× internal rate), `len` samples, before
/// decimation.
pub(crate) fn render(params: &VoiceParams, seed: u64, sample_rate_hz: f64, len: usize) -> Vec<f64> {
    let k = Knobs { inst: Instrument::Kick, params };
    let sr = sample_rate_hz;
    let click = k.get("click_amount");
    let blend = k.get("blend");
    let body_decay_s = 0.1 + 0.4 * k.get("punch_decay");
    let mut mix = vec![0.0; len];

    let sub = params.layer("sub");
    if !sub.mute {
        let tune = k.get("tune");
        let body = FmLayer {
            start_hz: tune * 2f64.powf(k.get("pitch_env_st") / 12.0),
            end_hz: tune,
            pitch_decay_s: k.get("pitch_decay_ms") / 1000.0,
            amp_decay_s: body_decay_s,
            fm_index: click,
            fm_decay_s: 0.005 + 0.02 * k.get("click_snap"),
        };
        let mut b = vec![0.0; len];
        body.render(&mut b, sr, &mut Rng::new(Rng::derive(seed, "kick/sub")));
        Biquad::lowpass(SUB_CUTOFF_HZ, FRAC_1_SQRT_2, sr).process_buf(&mut b);
        let env = ExpAd { attack_ms: SUB_ATTACK_MS, decay_ms: body_decay_s * 1000.0, sustain: 0.0 };
        add_layer(&mut mix, b, env, 0.0, &sub, 0, sr);
    }

    let click_layer = params.layer("click");
    if !click_layer.mute {
        let burst = ((CLICK_BURST_S * sr).round() as usize).min(len);
        let mut rng = Rng::new(Rng::derive(seed, "kick/click"));
        let mut hp = Biquad::highpass(k.get("click_tone_hz"), FRAC_1_SQRT_2, sr);
        // Clipped to ±1 after its filter, as the seed's filters clip their output: for this
        // unit-variance burst that takes 2.7 dB off its level.
        let c: Vec<f64> =
            (0..len).map(|n| hard_clip(hp.process(if n < burst { rng.normal() } else { 0.0 }), 1.0)).collect();
        let env = ExpAd { attack_ms: 0.0, decay_ms: CLICK_DECAY_MS, sustain: 0.0 };
        add_layer(&mut mix, c, env, CLICK_GAIN_DB, &click_layer, 0, sr);
    }

    let knock = params.layer("knock");
    if !knock.mute {
        let freq_hz = k.get("knock_hz");
        let decay_ms = k.get("knock_decay_ms");
        let mut amp = ExpDecay::new(decay_ms / 1000.0, sr);
        let kn: Vec<f64> = (0..len).map(|n| (TAU * freq_hz * n as f64 / sr).sin() * amp.next_value()).collect();
        let env = ExpAd { attack_ms: 0.0, decay_ms, sustain: 0.0 };
        add_layer(&mut mix, kn, env, 0.0, &knock, 0, sr);
    }

    // With blend = 0 (the default) or the room muted, the room layer is not rendered at all, so
    // its parameters cannot change a single bit of the output.
    let room = params.layer("room");
    if blend != 0.0 && !room.mute {
        let delay = ((k.get("distance_ms") * sr / 1000.0).round() as usize).min(len);
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
        layer.render(&mut b, sr, &mut Rng::new(Rng::derive(seed, "kick/room")));
        b.iter_mut().for_each(|x| *x *= blend);
        let env = ExpAd { attack_ms: 0.0, decay_ms: ROOM_DECAY_MS, sustain: 0.0 };
        add_layer(&mut mix, b, env, 0.0, &room, delay, sr);
    }

    let drive = 1.0 + 0.5 * click;
    for m in mix.iter_mut() {
        *m = (*m * drive).tanh();
    }
    mix
}

/// When the kick has fallen about 70 dB: the body (its oscillator's `e^(−t/d)` under an
/// envelope holding at e^(−3) after `d`), the knock (likewise with `k`), the room (delayed,
/// `e^(−t/0.2)` under its envelope) and the 25 ms click, whichever lasts longest.
pub(crate) fn ring_s(params: &VoiceParams) -> f64 {
    use crate::kit::{EXP_AD_FLOOR_TAU, TAU_TO_70_DB};
    let k = Knobs { inst: Instrument::Kick, params };
    let after_floor = TAU_TO_70_DB - EXP_AD_FLOOR_TAU;
    let body = (0.1 + 0.4 * k.get("punch_decay")) * after_floor;
    let knock = k.get("knock_decay_ms") / 1000.0 * after_floor;
    let room = if k.get("blend") > 0.0 { k.get("distance_ms") / 1000.0 + 0.2 * after_floor } else { 0.0 };
    body.max(knock).max(room).max(CLICK_BURST_S) + 0.05
}
