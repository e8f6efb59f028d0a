//! Tests for the latent controller.

use super::*;

const FPS: f64 = 24.0;

fn synthetic_frames(seconds: f64, with_onsets: bool) -> FeatureFrames {
    let sr = 48_000u32;
    let hop = 512usize;
    let f_count = (seconds * f64::from(sr) / hop as f64) as usize + 1;
    let wave = |i: usize, period: f64| ((i as f64 / period).sin() * 0.5 + 0.5) as f32;
    let mut mfcc = vec![0.0f32; MFCC_COUNT * f_count];
    for c in 0..MFCC_COUNT {
        for f in 0..f_count {
            mfcc[c * f_count + f] = (wave(f, 7.0 + c as f64) - 0.5) * 60.0;
        }
    }
    FeatureFrames {
        rms: (0..f_count).map(|i| 0.3 * wave(i, 13.0)).collect(),
        centroid_hz: (0..f_count).map(|i| 8000.0 * wave(i, 29.0)).collect(),
        flatness: (0..f_count).map(|i| 0.01 * wave(i, 5.0)).collect(),
        onset: (0..f_count).map(|i| if with_onsets && i % 23 == 0 { 3.0 } else { 0.1 * wave(i, 3.0) }).collect(),
        mfcc,
        sample_rate_hz: sr,
        hop_len: hop,
    }
}

fn anchors(k: usize) -> Anchors {
    let mut rng = crate::dsp::rng::Rng::new(7);
    Anchors { anchors: (0..k * LATENT_LEN).map(|_| rng.normal() as f32).collect(), k }
}

fn run(params: &ControllerParams, frames: &FeatureFrames) -> Latents {
    let feats = feature_vectors(frames, FPS, 2.0);
    let proj = Projection::random(10, params.anchor_seed, &feats);
    latents(&feats, &anchors(10), &proj, params, FPS)
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn frame_grid_length_is_ceil_duration_times_fps() {
    let frames = synthetic_frames(2.0, true);
    assert_eq!(feature_vectors(&frames, 24.0, 2.0).len(), 48);
    assert_eq!(feature_vectors(&frames, 24.0, 2.01).len(), 49);
    assert_eq!(feature_vectors(&frames, 29.97, 1.0).len(), 30);
    assert_eq!(feature_vectors(&frames, 24.0, 0.0).len(), 0);
    assert_eq!(feature_vectors(&frames, f64::NAN, 1.0).len(), 0);
    assert_eq!(feature_vectors(&frames, -24.0, -1.0).len(), 0);
}

#[test]
fn feature_vectors_normalise_and_interpolate() {
    let frames = FeatureFrames {
        rms: vec![0.0, 1.0],
        centroid_hz: vec![12_000.0, 48_000.0],
        flatness: vec![0.5, 0.5],
        onset: vec![2.0, 4.0],
        mfcc: vec![20.0; 26],
        sample_rate_hz: 48_000,
        hop_len: 480, // frame 1 at 0.01 s
    };
    let v = feature_vectors(&frames, 200.0, 0.015); // times 0, 0.005, 0.01
    assert_eq!(v.len(), 3);
    assert!((v[1][0] - 0.5).abs() < 1e-6);
    assert!((v[0][1] - 0.5).abs() < 1e-6);
    assert!((v[2][1] - 1.0).abs() < 1e-6, "centroid clipped to 1");
    assert!((v[0][3] - 0.5).abs() < 1e-6 && (v[2][3] - 1.0).abs() < 1e-6);
    assert!((v[0][4] - 1.0f32.tanh()).abs() < 1e-6);
    assert_eq!(v[0][11], 1.0f32.tanh());
}

#[test]
fn deterministic_bits() {
    let frames = synthetic_frames(2.0, true);
    let params = ControllerParams { anchor_seed: 3, tempo_sync: true, ..Default::default() };
    let a = run(&params, &frames);
    let b = run(&params, &frames);
    assert_eq!(bits(&a.latents), bits(&b.latents));
    assert_eq!(bits(&a.weights), bits(&b.weights));
    assert_eq!(bits(&a.frame_times), bits(&b.frame_times));
}

#[test]
fn seeds_change_latents() {
    let frames = synthetic_frames(2.0, true);
    let base = ControllerParams::default();
    let a = run(&base, &frames);
    let b = run(&ControllerParams { wander_seed: 43, ..base.clone() }, &frames);
    let c = run(&ControllerParams { track_seed: Some(9), ..base.clone() }, &frames);
    assert_ne!(bits(&a.latents), bits(&b.latents));
    assert_ne!(bits(&a.latents), bits(&c.latents));
    // The default projection depends on the anchor seed only, so weights ignore the wander seed.
    assert_eq!(bits(&a.weights), bits(&b.weights));
}

#[test]
fn shapes_and_weights_sum_to_one() {
    let frames = synthetic_frames(2.0, true);
    let out = run(&ControllerParams::default(), &frames);
    assert_eq!(out.latents.len(), 48 * LATENT_LEN);
    assert_eq!(out.weights.len(), 48 * 10);
    assert_eq!(out.frame_times.len(), 48);
    assert!((out.frame_times[24] - 1.0).abs() < 1e-6);
    for row in out.weights.chunks(10) {
        let sum: f32 = row.iter().sum();
        assert!((sum - 1.0).abs() < 1e-5, "sum {sum}");
        assert!(row.iter().all(|w| *w >= 0.0));
    }
}

#[test]
fn silent_track_is_finite() {
    let feats = vec![[0.0f32; FEATURE_DIM]; 30];
    let proj = Projection::random(10, 1, &feats); // σ = 0 everywhere: exercises the floor
    let out = latents(&feats, &anchors(10), &proj, &ControllerParams::default(), FPS);
    assert!(out.latents.iter().chain(&out.weights).all(|v| v.is_finite()));
    assert_eq!(onset_threshold(&feats), 0.6);
    let empty = feature_vectors(&FeatureFrames::default(), FPS, 1.0);
    assert_eq!(empty.len(), 24);
    assert!(empty.iter().flatten().all(|v| *v == 0.0));
}

#[test]
fn tempo_sync_changes_result_with_onsets() {
    let frames = synthetic_frames(2.0, true);
    let off = run(&ControllerParams::default(), &frames);
    let on = run(&ControllerParams { tempo_sync: true, subdivision: 0.5, ..Default::default() }, &frames);
    assert_ne!(bits(&off.latents), bits(&on.latents));
    assert_eq!(bits(&off.weights), bits(&on.weights));
}

#[test]
fn threshold_and_interval_formulas() {
    let mut feats = vec![[0.0f32; FEATURE_DIM]; 5];
    for (i, f) in feats.iter_mut().enumerate() {
        f[3] = [0.1, 0.9, 0.3, 0.5, 0.7][i];
    }
    // sorted 0.1 0.3 0.5 0.7 0.9: median 0.5, q75 0.7 → 0.6.
    assert!((onset_threshold(&feats) - 0.6).abs() < 1e-6);
    feats.iter_mut().for_each(|f| f[3] *= 0.1);
    assert_eq!(onset_threshold(&feats), 0.2);
    assert_eq!(tempo_interval_frames(24.0, 1.0), 24);
    assert_eq!(tempo_interval_frames(24.0, 0.01), 3);
    assert_eq!(tempo_interval_frames(1.0, 0.5), 1);
    assert_eq!(tempo_interval_frames(f64::NAN, 1.0), 1);
}

#[test]
fn ema_smooths_a_feature_step() {
    // Features jump from silence to loud at frame 20; the output must move gradually.
    let mut feats = vec![[0.0f32; FEATURE_DIM]; 40];
    for f in feats.iter_mut().skip(20) {
        *f = [1.0, 1.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
    }
    let anchors = anchors(4);
    let proj = Projection::random(4, 5, &feats);
    let params = ControllerParams::default();
    let out = latents(&feats, &anchors, &proj, &params, FPS);
    let max_abs_anchor = anchors.anchors.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    // latent ≤ max|anchor| + strength; the EMA moves at most (1 − 0.35) of the gap per frame.
    let bound = 0.65 * 2.0 * (max_abs_anchor + 0.22 * (0.25 + 1.35 + 0.3)) + 1e-4;
    let rows: Vec<&[f32]> = out.latents.chunks(LATENT_LEN).collect();
    for pair in rows.windows(2) {
        let step = pair[0].iter().zip(pair[1]).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(step <= bound, "step {step} > {bound}");
    }
    // Before the step the controller is in its quiet regime (a = α = 0.9): per-frame change is
    // at most 0.1 of the gap, so the first jump after silence is a fraction of the full move.
    let d19: f32 = rows[19].iter().zip(rows[18]).map(|(a, b)| (a - b).abs()).sum();
    let d20: f32 = rows[20].iter().zip(rows[19]).map(|(a, b)| (a - b).abs()).sum();
    let total: f32 = rows[39].iter().zip(rows[19]).map(|(a, b)| (a - b).abs()).sum();
    assert!(d20 < total, "jump {d20} vs settled move {total}");
    assert!(d19.is_finite());
}

#[test]
fn preset_names_and_strengths() {
    assert_eq!(Preset::from_name("Drift"), Preset::Drift);
    assert_eq!(Preset::from_name("nocturne").base_strength(), 0.30);
    assert_eq!(Preset::from_name("pulse").base_strength(), 0.18);
    assert_eq!(Preset::from_name("surge").base_strength(), 0.18);
    assert_eq!(Preset::from_name("fracture").base_strength(), 0.24);
    assert_eq!(Preset::from_name("lumen").base_strength(), 0.20);
    assert_eq!(Preset::from_name("mystery").base_strength(), 0.22);
    let p = ControllerParams { anchor_seed: 1, wander_seed: 2, track_seed: Some(4), ..Default::default() };
    assert_eq!(p.rng_seed(), 7);
}

#[test]
fn alpha_below_floor_does_not_panic() {
    let feats = vec![[0.5f32; FEATURE_DIM]; 4];
    let proj = Projection::random(2, 0, &feats);
    let params = ControllerParams { smoothing_alpha: 0.1, ..Default::default() };
    let out = latents(&feats, &anchors(2), &proj, &params, FPS);
    assert!(out.latents.iter().all(|v| v.is_finite()));
}
