//! Acceptance checks of the seed (001) for every voice, plus determinism and layer isolation.

use super::*;
use crate::dsp::envelope::Adsr;

const RATES: [u32; 2] = [48_000, 44_100];

#[derive(Debug)]
struct Stats {
    peak: f32,
    mean: f64,
    first64: f32,
    last64: f32,
    rms: f64,
}

fn stats(x: &[f32]) -> Stats {
    let peak = |s: &[f32]| s.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let n = x.len() as f64;
    Stats {
        peak: peak(x),
        mean: x.iter().map(|&v| f64::from(v)).sum::<f64>() / n,
        first64: peak(&x[..64]),
        last64: peak(&x[x.len() - 64..]),
        rms: (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / n).sqrt(),
    }
}

fn with(inst: Instrument, pairs: &[(&str, f64)]) -> VoiceParams {
    let mut p = VoiceParams::defaults(inst);
    for (k, v) in pairs {
        assert!(inst.param(k).is_some_and(|s| s.contains(*v)), "{k}={v}");
        p.values.insert(k.to_string(), *v);
    }
    p
}

fn muted(mut p: VoiceParams, layer: &str) -> VoiceParams {
    p.layers.insert(layer.to_string(), LayerParams { mute: true, ..LayerParams::default() });
    p
}

/// Defaults plus a few non-default sets per voice (including range extremes).
fn param_sets(inst: Instrument) -> Vec<VoiceParams> {
    let extremes = |pick_max: bool| {
        let mut p = VoiceParams::defaults(inst);
        for s in inst.schema() {
            if s.name != "length_s" {
                p.values.insert(s.name.into(), if pick_max { s.max } else { s.min });
            }
        }
        p
    };
    let custom = match inst {
        Instrument::Kick => with(inst, &[("punch_decay", 0.8), ("click_amount", 1.0), ("tune", 60.0), ("blend", 0.7)]),
        Instrument::Snare => with(inst, &[("tone", 0.2), ("wire", 0.9), ("crack", 1.0), ("body", 0.9)]),
        Instrument::Hat => with(inst, &[("tightness", 0.0), ("sheen", 1.0), ("dirt", 1.0), ("color", 0.1)]),
    };
    let mut short = VoiceParams::defaults(inst);
    short.values.insert("length_s".into(), 0.12);
    let layer = inst.layers()[0];
    let mut enveloped = VoiceParams::defaults(inst);
    enveloped.layers.insert(
        layer.into(),
        LayerParams {
            gain_db: 6.0,
            mute: false,
            adsr: Some(Adsr { attack_ms: 5.0, decay_ms: 80.0, sustain: 0.3, release_ms: 50.0, gate_ms: 200.0 }),
        },
    );
    vec![VoiceParams::defaults(inst), custom, extremes(false), extremes(true), short, enveloped]
}

fn check(inst: Instrument, p: &VoiceParams, seed: u64, sr: u32) {
    let x = render_voice(inst, p, seed, sr);
    let cap_len = (p.values["length_s"] * f64::from(sr)).round() as usize;
    assert!(x.len() <= cap_len && x.len() >= (MIN_LENGTH_S * f64::from(sr)).round() as usize, "{}", x.len());
    assert!(x.iter().all(|v| v.is_finite()), "{inst:?} non-finite");
    let s = stats(&x);
    let ctx = format!("{inst:?} seed {seed} sr {sr} {p:?}: {s:?}");
    assert!(s.peak <= 0.92, "peak {ctx}");
    assert!(s.peak > 0.1, "silent {ctx}");
    assert!(s.mean.abs() <= 5e-4, "dc {ctx}");
    assert!(s.first64 <= 0.7, "first64 {ctx}");
    assert!(s.last64 <= 0.4, "last64 {ctx}");
}

#[test]
fn acceptance_checks() {
    for inst in Instrument::ALL {
        for p in param_sets(inst) {
            for (i, sr) in RATES.into_iter().enumerate() {
                check(inst, &p, 7 + i as u64, sr);
            }
        }
    }
}

#[test]
fn more_seeds_at_defaults() {
    for inst in Instrument::ALL {
        let p = VoiceParams::defaults(inst);
        for seed in [0, 1, u64::MAX] {
            check(inst, &p, seed, 48_000);
        }
    }
}

#[test]
fn same_params_and_seed_give_identical_bits() {
    for inst in Instrument::ALL {
        let p = param_sets(inst).swap_remove(1);
        let a = render_voice(inst, &p, 42, 48_000);
        let b = render_voice(inst, &p, 42, 48_000);
        assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
    }
}

#[test]
fn muting_a_main_layer_changes_rms() {
    for (inst, layer) in [(Instrument::Kick, "sub"), (Instrument::Snare, "shell"), (Instrument::Hat, "metal")] {
        for sr in RATES {
            let p = VoiceParams::defaults(inst);
            let full = stats(&render_voice(inst, &p, 3, sr)).rms;
            let m = muted(p, layer);
            let x = render_voice(inst, &m, 3, sr);
            assert!(x.iter().all(|v| v.is_finite()));
            let part = stats(&x).rms;
            assert!((full - part).abs() > 0.015, "{inst:?} mute {layer} at {sr}: {full} vs {part}");
        }
    }
}

#[test]
fn every_layer_mute_and_gain_is_effective_and_safe() {
    for inst in Instrument::ALL {
        // The kick's room is only there with blend > 0.
        let audible =
            || if inst == Instrument::Kick { with(inst, &[("blend", 0.3)]) } else { VoiceParams::defaults(inst) };
        let base = render_voice(inst, &audible(), 5, 48_000);
        for layer in inst.layers() {
            let m = muted(audible(), layer);
            let x = render_voice(inst, &m, 5, 48_000);
            assert!(x.iter().all(|v| v.is_finite() && v.abs() <= 0.92));
            assert_ne!(x, base, "{inst:?} mute {layer} had no effect");
            let mut g = audible();
            g.layers.insert(layer.to_string(), LayerParams { gain_db: -12.0, ..LayerParams::default() });
            assert_ne!(render_voice(inst, &g, 5, 48_000), base, "{inst:?} gain {layer}");
        }
    }
}

#[test]
fn all_layers_muted_is_silence() {
    for inst in Instrument::ALL {
        let mut p = VoiceParams::defaults(inst);
        for layer in inst.layers() {
            p = muted(p, layer);
        }
        let x = render_voice(inst, &p, 1, 48_000);
        assert_eq!(x.len(), 2400);
        assert!(x.iter().all(|&v| v == 0.0));
    }
}

#[test]
fn different_seeds_differ() {
    for inst in Instrument::ALL {
        let p = VoiceParams::defaults(inst);
        assert_ne!(render_voice(inst, &p, 1, 48_000), render_voice(inst, &p, 2, 48_000));
    }
}

#[test]
fn punch_decay_changes_the_kick() {
    let a = render_voice(Instrument::Kick, &with(Instrument::Kick, &[]), 1, 48_000);
    let b = render_voice(Instrument::Kick, &with(Instrument::Kick, &[("punch_decay", 0.9)]), 1, 48_000);
    assert_ne!(a, b);
    let energy = |x: &[f32]| x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>();
    assert!(energy(&b) > energy(&a));
    assert!(b.len() > a.len(), "a longer decay rings longer: {} vs {}", b.len(), a.len());
}

#[test]
fn room_cannot_leak_when_blend_is_zero() {
    let kick = |pairs: &[(&str, f64)]| {
        let mut all = vec![("blend", 0.0)];
        all.extend_from_slice(pairs);
        render_voice(Instrument::Kick, &with(Instrument::Kick, &all), 9, 48_000)
    };
    let reference = kick(&[("room_tone_freq", 150.0)]);
    for pairs in [
        vec![("room_tone_freq", 50.0)],
        vec![("room_tone_freq", 300.0)],
        vec![("room_air", 1.0), ("distance_ms", 50.0)],
    ] {
        let x = kick(&pairs);
        assert!(x.iter().zip(&reference).all(|(a, b)| a.to_bits() == b.to_bits()), "{pairs:?} leaked");
    }
    // And with blend > 0 the room does matter.
    let a = render_voice(Instrument::Kick, &with(Instrument::Kick, &[("blend", 0.3)]), 9, 48_000);
    let b = render_voice(
        Instrument::Kick,
        &with(Instrument::Kick, &[("blend", 0.3), ("room_tone_freq", 300.0)]),
        9,
        48_000,
    );
    assert_ne!(a, b);
}

#[test]
fn muting_one_layer_keeps_the_others_noise() {
    // Layer streams are independent: the hat with air muted equals metal+chick rendered
    // whatever happens to the air layer's gain or envelope.
    let inst = Instrument::Hat;
    let a = muted(VoiceParams::defaults(inst), "air");
    let mut b = a.clone();
    if let Some(l) = b.layers.get_mut("air") {
        l.gain_db = 12.0;
    }
    assert_eq!(render_voice(inst, &a, 4, 48_000), render_voice(inst, &b, 4, 48_000));
}

/// Level in dB of the last 10 ms of `x` relative to its loudest 10 ms window.
fn tail_db(x: &[f32], sr: u32) -> f64 {
    let w = (sr / 100) as usize;
    let rms = |c: &[f32]| (c.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / c.len() as f64).sqrt();
    let loudest = x.chunks(w).map(rms).fold(0.0, f64::max);
    20.0 * (rms(&x[x.len() - w..]) / loudest).log10()
}

#[test]
fn voices_end_by_decaying_not_by_truncation() {
    for inst in Instrument::ALL {
        for sr in RATES {
            let x = render_voice(inst, &VoiceParams::defaults(inst), 42, sr);
            // The last 10 ms hold the fade-out of a sound already about 60 dB down, never a cut.
            let tail = tail_db(&x, sr);
            assert!(tail < -55.0, "{inst:?} at {sr} Hz ends at {tail:.1} dB after {} samples", x.len());
            assert_eq!(x[x.len() - 1], 0.0);
            assert!(x.len() < (MAX_LENGTH_S * f64::from(sr)) as usize, "{inst:?} hit the hard maximum");
        }
    }
    let len_s = |inst| render_voice(inst, &VoiceParams::defaults(inst), 42, 48_000).len() as f64 / 48_000.0;
    // A loose hat rings for seconds; kick and snare are done within about a second.
    assert!(len_s(Instrument::Kick) > 0.6 && len_s(Instrument::Kick) < 1.5, "{}", len_s(Instrument::Kick));
    assert!(len_s(Instrument::Snare) > 0.4 && len_s(Instrument::Snare) < 1.5, "{}", len_s(Instrument::Snare));
    assert!(len_s(Instrument::Hat) > 2.0, "{}", len_s(Instrument::Hat));
    assert!(len_s(Instrument::Hat) > 2.0 * len_s(Instrument::Kick));
}

#[test]
fn length_cap_cuts_with_a_fade_and_keeps_the_start() {
    for inst in Instrument::ALL {
        let full = render_voice(inst, &VoiceParams::defaults(inst), 3, 48_000);
        let capped = render_voice(inst, &with(inst, &[("length_s", 0.2)]), 3, 48_000);
        assert_eq!(capped.len(), 9600);
        assert_eq!(capped[9599], 0.0);
        // The 20 ms fade: half way through it the level is about halved, and the last 64
        // samples are nearly silent.
        let s = stats(&capped);
        assert!(s.last64 < 0.02, "{inst:?}: {s:?}");
        // Before the fade (the last 960 samples) the capped voice is the full voice, up to its
        // zero-mean trim.
        let diff = full[200..8600].iter().zip(&capped[200..8600]).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(diff < 0.01, "{inst:?}: {diff}");
    }
}

#[test]
fn lengths_at_many_rates() {
    for sr in [8000, 22_050, 32_000, 44_100, 48_000, 96_000, 192_000] {
        for inst in Instrument::ALL {
            let p = with(inst, &[("length_s", 0.05)]);
            let x = render_voice(inst, &p, 1, sr);
            assert_eq!(x.len(), (0.05 * f64::from(sr)).round() as usize);
            assert!(x.iter().all(|v| v.is_finite() && v.abs() <= 0.92));
        }
    }
    assert!(render_voice(Instrument::Kick, &VoiceParams::defaults(Instrument::Kick), 1, 0).is_empty());
}
