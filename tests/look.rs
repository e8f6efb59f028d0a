//! The look each built-in preset gives a loud synthetic groove (quiet intro, then kicks,
//! snares and hats): the controller must use several anchors rather than sit on one, and the
//! picture must move more on onsets than between them. Frames are decoded by the 32² version
//! of the committed decoder (`tests/fixtures/models/tiny.onnx`); `benches/look.rs` prints the
//! same measures at full size on the demo song and a real recording.

#![allow(clippy::print_stdout)] // prints the measured look (visible with --nocapture)

#[path = "../benches/common/look.rs"]
mod look;

use std::path::Path;

use ntsbuild::decoder::{Backend, Decoder, DecoderOptions};
use ntsbuild::dsp::rng::Rng;

const RATE: u32 = 48_000;
const FPS: u32 = 30;

/// 12 s: 3 s of a quiet pad with soft hats, then a loud groove — kick every 0.5 s, snare on
/// the off-beats, hats every eighth of a second, a bass note per bar.
fn groove() -> Vec<f32> {
    let mut rng = Rng::new(99);
    let n = 12 * RATE as usize;
    let mut x = vec![0.0f32; n];
    let sr = f64::from(RATE);
    for (i, v) in x.iter_mut().enumerate() {
        let t = i as f64 / sr;
        *v += (0.04 * ((std::f64::consts::TAU * 220.0 * t).sin() + (std::f64::consts::TAU * 330.0 * t).sin())) as f32;
    }
    let mut hit = |start_s: f64, len_s: f64, f: &mut dyn FnMut(f64, &mut Rng) -> f64| {
        let start = (start_s * sr) as usize;
        let end = (start + (len_s * sr) as usize).min(n);
        for (i, v) in x[start..end].iter_mut().enumerate() {
            *v += f(i as f64 / sr, &mut rng) as f32;
        }
    };
    for k in 0..96 {
        let t0 = k as f64 * 0.125;
        let loud = t0 >= 3.0;
        hit(t0, 0.03, &mut |t, r| (if loud { 0.15 } else { 0.03 }) * r.normal() * (-t / 0.01).exp());
        if loud && k % 4 == 0 {
            hit(t0, 0.3, &mut |t, _| {
                0.9 * (std::f64::consts::TAU * (50.0 + 80.0 * (-t / 0.03).exp()) * t).sin() * (-t / 0.08).exp()
            });
        }
        if loud && k % 8 == 4 {
            hit(t0, 0.2, &mut |t, r| 0.5 * r.normal() * (-t / 0.05).exp());
        }
        if loud && k % 16 == 0 {
            hit(t0, 1.8, &mut |t, _| 0.3 * (std::f64::consts::TAU * 82.4 * t).sin() * (-t / 0.9).exp());
        }
    }
    x.iter().map(|v| v.clamp(-1.0, 1.0)).collect()
}

#[test]
fn every_preset_uses_several_anchors_and_moves_with_the_onsets() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let audio = groove();
    let features = ntsbuild::features::features(&audio, RATE);
    let duration_s = audio.len() as f64 / f64::from(RATE);
    let model = std::fs::read(root.join("tests/fixtures/models/tiny.onnx")).unwrap();
    let opts = DecoderOptions { backend: Backend::Tract, cuda: false, batch_size: 16 };
    let decoders = vec![Decoder::load(&model, &opts).unwrap().0];
    let mut report = vec![look::HEADER.to_string()];
    let mut problems = Vec::new();
    for track in look::preset_tracks(FPS) {
        let l = look::look(root, &track, &features, duration_s, FPS, &decoders);
        report.push(look::row("groove", &l));
        if l.usage.above_threshold_share > 0.5 {
            problems.push(format!(
                "{}: one anchor above 0.9 on {:.0} % of frames",
                l.preset,
                100.0 * l.usage.above_threshold_share
            ));
        }
        if l.usage.most_dominant_share() > 0.8 {
            problems.push(format!(
                "{}: one anchor leads {:.0} % of frames",
                l.preset,
                100.0 * l.usage.most_dominant_share()
            ));
        }
        if l.usage.anchors_used(0.05) < 3 {
            problems.push(format!("{}: only {} anchors lead ≥ 5 % of frames", l.preset, l.usage.anchors_used(0.05)));
        }
        if l.change_onset_corr < 0.2 {
            problems.push(format!("{}: frame change follows onsets with r = {:.2}", l.preset, l.change_onset_corr));
        }
        if l.mean_change < 0.5 {
            problems.push(format!("{}: mean change {:.2} levels/frame, nearly still", l.preset, l.mean_change));
        }
    }
    let table = report.join("\n");
    assert!(problems.is_empty(), "{}\n{table}", problems.join("\n"));
    println!("{table}");
}
