//! Hi-hat engine (seed 001 at its canonical defaults): six detuned squares through three
//! band-passes (metal), high-passed pink noise (air) and a 2 ms noise chick, under one decay,
//! a high-pass and an emphasised tanh saturation (dirt).

use std::f64::consts::FRAC_1_SQRT_2;

use crate::dsp::biquad::Biquad;
use crate::dsp::clip::hard_clip;
use crate::dsp::decimate::{FACTOR, TAPS};
use crate::dsp::envelope::{ExpAd, ExpDecay};
use crate::dsp::level::db_to_lin;
use crate::dsp::noise::pink_noise;
use crate::dsp::oscillator::{Oscillator, Waveform};
use crate::dsp::rng::Rng;
use crate::kit::params::{Knobs, LayerParams, VoiceParams};
use crate::kit::schema::Instrument;

/// Frequency ratios of the six metal partials (808-style).
const METAL_RATIOS: [f64; 6] = [1.0, 1.5, 1.6, 1.8, 2.2, 3.2];
/// (centre Hz, Q) of the parallel metal band-passes.
const METAL_BANDS: [(f64, f64); 3] = [(6000.0, 3.0), (9000.0, 4.0), (12_000.0, 5.0)];
/// Attack of the metal (exponential, 95 % after this time).
const METAL_ATTACK_MS: f64 = 0.5;
/// Levels of metal and air in the mix (the seed's canonical balance: metal 65 %, air 45 %).
const METAL_GAIN_DB: f64 = -4.2;
const AIR_GAIN_DB: f64 = -6.6;
/// Dirt's emphasis filter: a high-pass at this frequency, Q 0.5.
const DIRT_EMPHASIS_HZ: f64 = 4000.0;

/// Render the hat at `sample_rate_hz` (the 4× internal rate), `len` samples.
pub(crate) fn render(params: &VoiceParams, seed: u64, sample_rate_hz: f64, len: usize) -> Vec<f64> {
    let k = Knobs { inst: Instrument::Hat, params };
    let sr = sample_rate_hz;
    let hpf_hz = k.get("hpf_hz");
    let mut mix = vec![0.0; len];

    let metal = params.layer("metal");
    if !metal.mute {
        let base = 300.0 + 200.0 * k.get("color");
        let jitter = k.get("jitter");
        let mut rng = Rng::new(Rng::derive(seed, "hat/metal"));
        let mut partials = METAL_RATIOS.map(|ratio| {
            let freq = base * ratio * (1.0 + rng.range(0.0, jitter));
            (Oscillator::new(Waveform::Square, rng.uniform()), freq)
        });
        let mut bands = METAL_BANDS.map(|(fc, q)| Biquad::bandpass(fc, q, sr));
        let mut layer: Vec<f64> = (0..len)
            .map(|_| {
                let raw: f64 = partials.iter_mut().map(|(osc, f)| osc.next(*f, sr)).sum();
                0.5 * bands.iter_mut().map(|b| b.process(raw)).sum::<f64>()
            })
            .collect();
        ExpAd { attack_ms: METAL_ATTACK_MS, ..ExpAd::FLAT }.apply(&mut layer, sr);
        add_layer(&mut mix, layer, METAL_GAIN_DB, &metal, sr);
    }

    let air = params.layer("air");
    if !air.mute {
        let gain = 0.5 * k.get("sheen") + 0.2;
        // Pink noise over a fixed length covering the longest render at this rate (a power of
        // two, for a fast FFT), so a shorter render is a prefix of a longer one: the noise's
        // spectrum and peak normalisation depend on its length.
        let longest = (crate::kit::MAX_LENGTH_S * sr / FACTOR as f64).round() as usize * FACTOR + TAPS;
        let full = longest.max(len).next_power_of_two();
        let mut layer = pink_noise(full, &mut Rng::new(Rng::derive(seed, "hat/air")));
        layer.truncate(len);
        let mut hp = Biquad::highpass(hpf_hz, FRAC_1_SQRT_2, sr);
        layer.iter_mut().for_each(|y| *y = hp.process(*y) * gain);
        add_layer(&mut mix, layer, AIR_GAIN_DB, &air, sr);
    }

    let chick = params.layer("chick");
    if !chick.mute {
        let burst = (0.002 * sr).round() as usize;
        let mut rng = Rng::new(Rng::derive(seed, "hat/chick"));
        let mut hp = Biquad::highpass(4000.0, FRAC_1_SQRT_2, sr);
        // Clipped to ±1 after its filter, as the seed's (and the kick's click).
        let layer =
            (0..len).map(|n| hard_clip(hp.process(if n < burst { rng.normal() } else { 0.0 }), 1.0) * 0.5).collect();
        add_layer(&mut mix, layer, 0.0, &chick, sr);
    }

    let mut env = ExpDecay::new(0.8 - 0.76 * k.get("tightness"), sr);
    for m in mix.iter_mut() {
        *m *= env.next_value();
    }
    Biquad::highpass(hpf_hz, FRAC_1_SQRT_2, sr).process_buf(&mut mix);

    // Dirt: y = x + 0.5·d·HP(x), z = tanh((1 + 2d)·y), out = z − 0.3·d·HP(z).
    let dirt = k.get("dirt");
    if dirt > 0.0 {
        let mut pre = Biquad::highpass(DIRT_EMPHASIS_HZ, 0.5, sr);
        let mut de = Biquad::highpass(DIRT_EMPHASIS_HZ, 0.5, sr);
        let drive = 1.0 + 2.0 * dirt;
        for m in mix.iter_mut() {
            let y = *m + 0.5 * dirt * pre.process(*m);
            let z = (drive * y).tanh();
            *m = z - 0.3 * dirt * de.process(z);
        }
    }
    mix
}

/// Apply a layer's level and user controls and add it into the mix.
fn add_layer(mix: &mut [f64], mut layer: Vec<f64>, gain_db: f64, params: &LayerParams, sr: f64) {
    let g = db_to_lin(gain_db);
    if g != 1.0 {
        layer.iter_mut().for_each(|x| *x *= g);
    }
    params.apply(&mut layer, sr);
    for (m, x) in mix.iter_mut().zip(&layer) {
        *m += x;
    }
}

/// When the hat has fallen about 70 dB: its one decay `e^(−t/(0.8 − 0.76·tightness))`.
pub(crate) fn ring_s(params: &VoiceParams) -> f64 {
    let k = Knobs { inst: Instrument::Hat, params };
    (0.8 - 0.76 * k.get("tightness")) * crate::kit::TAU_TO_70_DB + 0.05
}
