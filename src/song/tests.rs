//! Sequencer tests: exact hit positions, swing, length, silence, velocity and pan law.

use super::*;

const SR: u32 = 48_000;

fn voice(steps: &[f32]) -> SongVoice {
    SongVoice { name: "v".into(), steps: steps.to_vec(), gain_db: 0.0, pan: 0.0 }
}

fn song(steps_per_bar: u32, swing: f64, voices: Vec<SongVoice>) -> SongParams {
    SongParams { bpm: 120.0, bars: 2, steps_per_bar, swing, voices }
}

/// Indices of the non-zero samples of a channel.
fn onsets(x: &[f32]) -> Vec<usize> {
    x.iter().enumerate().filter(|(_, v)| **v != 0.0).map(|(i, _)| i).collect()
}

const CLICK: &[f32] = &[1.0];

#[test]
fn hits_land_on_exact_samples_and_patterns_repeat() {
    // 120 bpm, 16 steps per bar: a step is 0.125 s = 6000 samples.
    let p = song(16, 0.0, vec![voice(&[1.0, 0.0, 0.0, 0.0])]);
    let [l, r] = render_song(&p, &[CLICK], SR);
    let expect: Vec<usize> = (0..8).map(|i| i * 24_000).collect();
    assert_eq!(onsets(&l), expect);
    assert_eq!(onsets(&r), expect);
}

#[test]
fn swing_delays_odd_steps_only() {
    let p = song(16, 0.5, vec![voice(&[1.0])]);
    assert_eq!(p.step_index(0, SR), 0);
    assert_eq!(p.step_index(1, SR), 6000 + 1500);
    assert_eq!(p.step_index(2, SR), 12_000);
    assert_eq!(p.step_index(3, SR), 18_000 + 1500);
    let [l, _] = render_song(&p, &[CLICK], SR);
    let on = onsets(&l);
    assert_eq!(on.len(), 32);
    assert_eq!(&on[..4], &[0, 7500, 12_000, 19_500]);
    // Odd steps per bar: the swing follows the position within the bar, so bars start on grid.
    let odd = song(3, 0.5, vec![voice(&[1.0])]);
    let bar = 96_000;
    assert_eq!(odd.step_index(3, SR), bar);
    assert_eq!(odd.step_index(4, SR), bar + 32_000 + 8000);
}

#[test]
fn length_is_grid_plus_longest_tail() {
    let short = vec![0.5f32; 100];
    let long = vec![0.5f32; 30_000];
    // Last hit of voice 2 at step 15 of bar 2 = 31 · 6000 = 186 000; its sample rings 30 000.
    let p = song(16, 0.0, vec![voice(&[1.0]), voice(&[0.0, 1.0])]);
    let [l, r] = render_song(&p, &[&short, &long], SR);
    assert_eq!(p.grid_len(SR), 192_000);
    assert_eq!(l.len(), 186_000 + 30_000);
    assert_eq!(r.len(), l.len());
    // A tail that stays inside the grid does not extend it.
    let p = song(16, 0.0, vec![voice(&[1.0])]);
    assert_eq!(render_song(&p, &[&short], SR)[0].len(), 192_000);
}

#[test]
fn silence_stays_silent() {
    let p = song(16, 0.0, vec![voice(&[0.0, 0.0])]);
    let [l, r] = render_song(&p, &[CLICK], SR);
    assert_eq!(l.len(), 192_000);
    assert!(l.iter().chain(&r).all(|&v| v == 0.0));
    let [l, _] = render_song(&song(4, 0.0, vec![voice(&[1.0])]), &[&[0.0; 10]], SR);
    assert!(l.iter().all(|&v| v == 0.0));
    // No voices, no samples.
    let [l, _] = render_song(&song(4, 0.0, vec![]), &[], SR);
    assert_eq!(l.len(), 192_000);
}

#[test]
fn velocity_scales_linearly_and_peak_is_minus_1_dbfs() {
    let p = song(4, 0.0, vec![voice(&[1.0, 0.5, 0.25, 0.0])]);
    let [l, r] = render_song(&p, &[CLICK], SR);
    let peak = db_to_lin(-1.0) as f32;
    assert_eq!(l[0], r[0]);
    assert!((l[0] - peak).abs() < 1e-6);
    assert!((l[24_000] - peak * 0.5).abs() < 1e-6);
    assert!((l[48_000] - peak * 0.25).abs() < 1e-6);
    assert_eq!(l[72_000], 0.0);
}

#[test]
fn overlapping_hits_add() {
    let sample = vec![1.0f32; 10_000]; // longer than a 6000-sample step
    let p = song(16, 0.0, vec![voice(&[1.0])]);
    let [l, _] = render_song(&p, &[&sample], SR);
    assert!((l[6500] / l[100] - 2.0).abs() < 1e-6);
}

#[test]
fn constant_power_pan_law() {
    for pan in [-1.0, -0.5, 0.0, 0.3, 1.0] {
        let v = SongVoice { pan, ..voice(&[1.0, 0.0]) };
        // A louder centred reference on another step sets the normalisation, so the panned
        // hit keeps its raw gains: left² + right² must not depend on the pan.
        let reference = SongVoice { pan: 0.0, gain_db: 12.0, steps: vec![0.0, 1.0], ..voice(&[]) };
        let p = song(4, 0.0, vec![v, reference]);
        let [l, r] = render_song(&p, &[CLICK, CLICK], SR);
        let scale = db_to_lin(-1.0) / (db_to_lin(12.0) * std::f64::consts::FRAC_1_SQRT_2);
        let theta = (pan + 1.0) * std::f64::consts::FRAC_PI_4;
        assert!((f64::from(l[0]) - scale * theta.cos()).abs() < 1e-6, "pan {pan}");
        assert!((f64::from(r[0]) - scale * theta.sin()).abs() < 1e-6, "pan {pan}");
        let power = f64::from(l[0]).powi(2) + f64::from(r[0]).powi(2);
        assert!((power - scale * scale).abs() < 1e-6, "pan {pan}: {power}");
    }
    let hard_left = SongVoice { pan: -1.0, ..voice(&[1.0]) };
    let [_, r] = render_song(&song(4, 0.0, vec![hard_left]), &[CLICK], SR);
    assert!(r.iter().all(|v| v.abs() < 1e-6));
}

#[test]
fn gain_db_scales_a_voice_relative_to_another() {
    let loud = voice(&[1.0, 0.0]);
    let soft = SongVoice { gain_db: -6.0, ..voice(&[0.0, 1.0]) };
    let [l, _] = render_song(&song(4, 0.0, vec![loud, soft]), &[CLICK, CLICK], SR);
    assert!((f64::from(l[24_000] / l[0]) - db_to_lin(-6.0)).abs() < 1e-6);
}

#[test]
fn deterministic_and_robust_to_bad_input() {
    let p = song(16, 0.3, vec![voice(&[1.0, 0.4, 0.0, 0.7])]);
    let s: Vec<f32> = (0..5000).map(|i| (i as f32 * 0.01).sin()).collect();
    assert_eq!(render_song(&p, &[&s], SR), render_song(&p, &[&s], SR));
    let bad = SongParams {
        bpm: f64::NAN,
        bars: 0,
        steps_per_bar: 0,
        swing: 9.0,
        voices: vec![SongVoice { gain_db: f64::INFINITY, pan: f64::NAN, steps: vec![f32::NAN, 2.0], ..voice(&[]) }],
    };
    assert!(bad.validate().is_err());
    let [l, _] = render_song(&bad, &[&[f32::NAN, 1.0]], SR);
    assert!(l.iter().all(|v| v.is_finite()));
    assert!(render_song(&p, &[&s], 0)[0].is_empty());
    let huge = SongParams { bpm: 20.0, bars: 1024, ..p.clone() };
    assert_eq!(huge.validate().map_err(|e| e.len()), Err(1));
}

#[test]
fn validate_reports_every_problem() {
    let p = SongParams {
        bpm: 1000.0,
        bars: 0,
        steps_per_bar: 16,
        swing: -0.1,
        voices: vec![SongVoice { pan: 2.0, steps: vec![], ..voice(&[]) }],
    };
    let errs = p.validate().expect_err("invalid");
    assert_eq!(errs.len(), 5, "{errs:?}");
    assert!(errs[0].to_string().contains("bpm"));
    assert!(song(16, 0.75, vec![voice(&[1.0])]).validate().is_ok());
}
