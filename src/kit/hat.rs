//! Hi-hat engine (seed 001 / DOMAIN §D): six detuned squares (metal), high-passed noise (air)
//! and a 2 ms noise chick, under one decay, high-pass, crush and saturation.

use crate::dsp::biquad::Biquad;
use crate::dsp::envelope::ExpDecay;
use crate::dsp::oscillator::{Oscillator, Waveform};
use crate::dsp::rng::Rng;
use crate::kit::params::{Knobs, LayerParams, VoiceParams};
use crate::kit::schema::Instrument;

/// Frequency ratios of the six metal partials (808-style).
const METAL_RATIOS: [f64; 6] = [1.0, 1.5, 1.6, 1.8, 2.2, 3.2];
/// (centre Hz, Q) of the parallel metal band-passes.
const METAL_BANDS: [(f64, f64); 3] = [(6000.0, 3.0), (9000.0, 4.0), (12_000.0, 5.0)];
const BUTTERWORTH_Q: f64 = std::f64::consts::FRAC_1_SQRT_2;

/// Render the hat at `sample_rate_hz` (the 4× internal rate), `len` samples.
pub(crate) fn render(params: &VoiceParams, seed: u64, sample_rate_hz: f64, len: usize) -> Vec<f64> {
    let k = Knobs { inst: Instrument::Hat, params };
    let sr = sample_rate_hz;
    let color = k.get("color");
    let mut mix = vec![0.0; len];
    let mut layer = vec![0.0; len];

    let metal = params.layer("metal");
    if !metal.mute {
        let base = 300.0 + 200.0 * color;
        let mut rng = Rng::new(Rng::derive(seed, "hat/metal"));
        let mut partials = METAL_RATIOS.map(|ratio| {
            let freq = base * ratio * (1.0 + rng.range(0.0, 0.1));
            (Oscillator::new(Waveform::Square, rng.uniform()), freq)
        });
        let mut bands = METAL_BANDS.map(|(fc, q)| Biquad::bandpass(fc, q, sr));
        for y in layer.iter_mut() {
            let raw: f64 = partials.iter_mut().map(|(osc, f)| osc.next(*f, sr)).sum();
            *y = 0.5 * bands.iter_mut().map(|b| b.process(raw)).sum::<f64>();
        }
        add_layer(&mut mix, &mut layer, &metal, sr);
    }

    let air = params.layer("air");
    if !air.mute {
        let gain = 0.5 * k.get("sheen") + 0.2;
        let mut rng = Rng::new(Rng::derive(seed, "hat/air"));
        let mut hp = Biquad::highpass(7000.0, BUTTERWORTH_Q, sr);
        for y in layer.iter_mut() {
            *y = hp.process(rng.range(-1.0, 1.0)) * gain;
        }
        add_layer(&mut mix, &mut layer, &air, sr);
    }

    let chick = params.layer("chick");
    if !chick.mute {
        let burst = (0.002 * sr).round() as usize;
        let mut rng = Rng::new(Rng::derive(seed, "hat/chick"));
        let mut hp = Biquad::highpass(4000.0, BUTTERWORTH_Q, sr);
        for (n, y) in layer.iter_mut().enumerate() {
            let x = if n < burst { rng.range(-1.0, 1.0) } else { 0.0 };
            *y = hp.process(x) * 0.5;
        }
        add_layer(&mut mix, &mut layer, &chick, sr);
    }

    let mut env = ExpDecay::new(0.8 - 0.76 * k.get("tightness"), sr);
    for m in mix.iter_mut() {
        *m *= env.next_value();
    }
    Biquad::highpass(3000.0 + 1000.0 * color, BUTTERWORTH_Q, sr).process_buf(&mut mix);

    // Dirt: quantise to 16 − 8·dirt bits (a little crush), then tanh(x·(1 + dirt)).
    let dirt = k.get("dirt");
    let levels = 2f64.powf(15.0 - 8.0 * dirt);
    for m in mix.iter_mut() {
        let crushed = (*m * levels).round() / levels;
        *m = (crushed * (1.0 + dirt)).tanh();
    }
    mix
}

/// Apply a layer's gain/envelope and add it into the mix.
fn add_layer(mix: &mut [f64], layer: &mut [f64], params: &LayerParams, sr: f64) {
    params.apply(layer, sr);
    for (m, x) in mix.iter_mut().zip(layer.iter()) {
        *m += x;
    }
}
