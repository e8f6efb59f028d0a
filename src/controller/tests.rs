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

fn weight_rows(out: &Latents, k: usize) -> Vec<Vec<f32>> {
    out.weights.chunks(k).map(<[f32]>::to_vec).collect()
}

#[test]
fn neutral_tracks_change_nothing() {
    let frames = synthetic_frames(2.0, true);
    let n = feature_vectors(&frames, FPS, 2.0).len();
    // α = 0.875 is exact in f32, the tracks' type.
    let base = ControllerParams { anchor_seed: 3, tempo_sync: true, smoothing_alpha: 0.875, ..Default::default() };
    let plain = run(&base, &frames);
    let tracks = ControllerTracks {
        wander_scale: Some(vec![1.0; n]),
        anchor_bias: Some(vec![0.0; n * 10]),
        smoothing_alpha: Some(vec![0.875; n]),
    };
    assert!(tracks.validate(n, 10).is_ok());
    let with = run(&ControllerParams { tracks, ..base }, &frames);
    assert_eq!(bits(&plain.latents), bits(&with.latents));
    assert_eq!(bits(&plain.weights), bits(&with.weights));
}

#[test]
fn tracks_steer_weights_wander_and_smoothing() {
    let frames = synthetic_frames(2.0, true);
    let n = feature_vectors(&frames, FPS, 2.0).len();
    let base = ControllerParams { anchor_seed: 3, smoothing_alpha: 0.875, ..Default::default() };
    let plain = run(&base, &frames);
    // A large bias on anchor 4 from frame 24 on: that anchor takes over there, not before.
    let mut bias = vec![0.0f32; n * 10];
    for row in bias.chunks_mut(10).skip(24) {
        row[4] = 50.0;
    }
    let tracks = ControllerTracks { anchor_bias: Some(bias), ..Default::default() };
    let biased = run(&ControllerParams { tracks, ..base.clone() }, &frames);
    let (p, b) = (weight_rows(&plain, 10), weight_rows(&biased, 10));
    assert_eq!(p[..24], b[..24]);
    assert!(b[24..].iter().all(|row| row[4] > 0.999), "{:?}", b[30]);
    // No wander at all: with equal weights, two wander seeds give the same latents.
    let still = ControllerTracks { wander_scale: Some(vec![0.0; n]), ..Default::default() };
    let a = run(&ControllerParams { tracks: still.clone(), ..base.clone() }, &frames);
    let c = run(&ControllerParams { tracks: still, wander_seed: 77, ..base.clone() }, &frames);
    assert_eq!(bits(&a.latents), bits(&c.latents));
    assert_ne!(bits(&a.latents), bits(&plain.latents));
    // A slower EMA from frame 10 on changes the latents from there, not before.
    let slow = ControllerTracks {
        smoothing_alpha: Some((0..n).map(|i| if i < 10 { 0.875 } else { 0.99 }).collect()),
        ..Default::default()
    };
    let s = run(&ControllerParams { tracks: slow, ..base }, &frames);
    assert_eq!(bits(&s.latents[..10 * LATENT_LEN]), bits(&plain.latents[..10 * LATENT_LEN]));
    assert_ne!(bits(&s.latents[10 * LATENT_LEN..]), bits(&plain.latents[10 * LATENT_LEN..]));
}

#[test]
fn track_validation_names_the_track_and_what_is_allowed() {
    let tracks = ControllerTracks {
        wander_scale: Some(vec![1.0; 3]),
        anchor_bias: Some(vec![0.0, f32::NAN, 0.0, 0.0]),
        smoothing_alpha: Some(vec![0.9, 0.2]),
    };
    let errors = tracks.validate(2, 2).unwrap_err();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors[0].contains("wander_scale has 3 values; expected 2"), "{}", errors[0]);
    assert!(errors[1].contains("anchor_bias[1] is NaN"), "{}", errors[1]);
    assert!(errors[2].contains("smoothing_alpha[1] is 0.2") && errors[2].contains("[0.35, 0.999]"), "{}", errors[2]);
    assert!(ControllerTracks::default().validate(5, 3).is_ok());
    assert!(ControllerTracks::default().is_empty());
}

#[test]
fn a_higher_temperature_spreads_the_weights() {
    let frames = synthetic_frames(2.0, true);
    let cold = run(&ControllerParams { temperature: 0.25, ..Default::default() }, &frames);
    let warm = run(&ControllerParams { temperature: 4.0, ..Default::default() }, &frames);
    let (c, w) = (anchor_usage(&cold.weights, 10, 0.9), anchor_usage(&warm.weights, 10, 0.9));
    assert!(w.mean_max_weight < c.mean_max_weight, "{w:?} vs {c:?}");
    assert!(w.mean_max_weight < 0.3, "{w:?}");
}

/// A projection whose statistics are far from the track's (as a loud drum mix is from the
/// committed projections' "typical" audio) pins the weights on one anchor with the seed's
/// scaling; the track's own statistics spread them.
#[test]
fn track_scaling_keeps_a_loud_track_off_a_single_anchor() {
    let frames = synthetic_frames(4.0, true);
    let feats = feature_vectors(&frames, FPS, 4.0);
    let mut proj = Projection::random(10, 9, &feats);
    // Louder frames favour higher anchors (rms only), and the statistics expect a much
    // quieter track: its rms sits up to 28σ above their mean.
    proj.matrix.iter_mut().for_each(|m| *m = 0.0);
    for k in 0..10 {
        proj.matrix[k * FEATURE_DIM] = 4.0 * (k as f32 - 4.5) / 4.5;
    }
    proj.feature_mean[0] = 0.02;
    proj.feature_std[0] = 0.01;
    let go = |scaling| {
        let params = ControllerParams { feature_scaling: scaling, ..Default::default() };
        anchor_usage(&latents(&feats, &anchors(10), &proj, &params, FPS).weights, 10, 0.9)
    };
    let seed = go(FeatureScaling::Projection);
    assert!(seed.above_threshold_share > 0.6, "{seed:?}");
    for scaling in [FeatureScaling::Track, FeatureScaling::Running] {
        let own = go(scaling);
        assert!(own.above_threshold_share < 0.3 && own.most_dominant_share() < 0.7, "{scaling:?}: {own:?}");
    }
}

/// Running statistics make frame n depend on frames ≤ n only: changing the end of a track
/// leaves every latent before the change as it was (the whole-track statistics change all).
#[test]
fn running_scaling_keeps_an_edit_local() {
    let frames = synthetic_frames(4.0, true);
    let feats = feature_vectors(&frames, FPS, 4.0);
    let mut edited = feats.clone();
    for f in edited.iter_mut().skip(80) {
        f[0] *= 1.5;
        f[1] += 0.1;
    }
    let proj = Projection::random(10, 2, &feats);
    for (scaling, local) in [(FeatureScaling::Running, true), (FeatureScaling::Track, false)] {
        let params = ControllerParams { feature_scaling: scaling, ..Default::default() };
        let a = latents(&feats, &anchors(10), &proj, &params, FPS);
        let b = latents(&edited, &anchors(10), &proj, &params, FPS);
        let before = 80 * LATENT_LEN;
        assert_eq!(bits(&a.latents[..before]) == bits(&b.latents[..before]), local, "{scaling:?}");
        assert_ne!(bits(&a.latents[before..]), bits(&b.latents[before..]));
    }
}
