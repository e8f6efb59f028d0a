//! Unit tests for the postFX chain.

use super::effects::vignette_gain;
use super::*;

fn ramp_frame(w: usize, h: usize) -> Frame {
    let data = (0..3 * w * h).map(|i| (i % 97) as f32 / 96.0).collect();
    Frame { width: w, height: h, data }
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn decoder_to_unit_maps_and_clips() {
    assert_eq!(decoder_to_unit(-1.0), 0.0);
    assert_eq!(decoder_to_unit(0.0), 0.5);
    assert_eq!(decoder_to_unit(1.0), 1.0);
    assert_eq!(decoder_to_unit(3.0), 1.0);
    assert_eq!(decoder_to_unit(-3.0), 0.0);
    assert_eq!(decoder_to_unit(f32::NAN), 0.0);
}

#[test]
fn tone_curves_endpoints_and_mid() {
    let t = 1e-6;
    let f = |c: ToneCurve, x: f32| f64::from(c.eval(x));
    assert!(close(f(ToneCurve::Filmlog, 0.0), 0.0, t));
    assert!(close(f(ToneCurve::Filmlog, 1.0), 1.0, t));
    assert!(close(f(ToneCurve::Filmlog, 0.5), 3.5f64.ln() / 6f64.ln(), t));
    assert!(close(f(ToneCurve::Punch, 0.0), 0.0, t));
    assert!(close(f(ToneCurve::Punch, 1.0), 1.0, t));
    assert!(close(f(ToneCurve::Punch, 0.5), 0.95 * 0.5f64.powf(0.85) + 0.025, t));
    assert!(close(f(ToneCurve::Pastel, 0.0), 0.1, t));
    assert!(close(f(ToneCurve::Pastel, 1.0), 1.0, t));
    assert!(close(f(ToneCurve::Pastel, 0.5), 0.9 * 0.5f64.powf(1.25) + 0.1, t));
    assert_eq!(f(ToneCurve::Linear, 0.0), 0.0);
    assert_eq!(f(ToneCurve::Linear, 1.0), 1.0);
    assert_eq!(f(ToneCurve::Linear, 0.25), 0.25);
}

#[test]
fn tone_curve_names_round_trip() {
    for c in ToneCurve::ALL {
        assert_eq!(ToneCurve::from_name(c.name()), Some(c));
    }
    assert_eq!(ToneCurve::from_name("PunCh"), Some(ToneCurve::Punch));
    assert_eq!(ToneCurve::from_name("sepia"), None);
}

#[test]
fn vignette_at_zero_strength_is_formula_not_identity() {
    let (w, h) = (17, 9);
    let mut frame = Frame::filled(w, h, 0.5);
    apply_vignette(&mut frame, 0.0);
    for y in 0..h {
        for x in 0..w {
            let u = -1.0 + 2.0 * x as f64 / (w - 1) as f64;
            let v = -1.0 + 2.0 * y as f64 / (h - 1) as f64;
            let r = (u * u + v * v).sqrt().min(1.0);
            let expected = 0.5 * (1.0 - r).powf(1e-3);
            let got = f64::from(frame.get(0, x, y).unwrap_or(f32::NAN));
            assert!(close(got, expected, 1e-6), "({x},{y}): {got} vs {expected}");
        }
    }
    // Centre pixel (r = 0) is untouched; corners (r = √2 → clipped to 1) go black.
    assert_eq!(frame.get(1, 8, 4), Some(0.5));
    assert_eq!(frame.get(2, 0, 0), Some(0.0));
    // Away from the r ≥ 1 region, s = 0 is within 1% of identity.
    assert!(vignette_gain(4, 4, w, h, 0.0) > 0.99);
}

#[test]
fn vignette_strength_darkens_edges() {
    let g0 = vignette_gain(2, 4, 17, 9, 0.0);
    let g1 = vignette_gain(2, 4, 17, 9, 1.0);
    assert!(g1 < g0);
    let r: f64 = 0.75;
    assert!(close(g1, (1.0 - r).powf(4.001), 1e-12));
}

#[test]
fn chroma_shift_moves_red_and_blue() {
    let (w, h) = (40, 20);
    let frame = ramp_frame(w, h);
    // c = 0.05 → px = floor(0.05·20) = 1; c = 0.05 on a 40x80 → 2.
    assert_eq!(chroma_shift_px(0.05, w, h), 1);
    assert_eq!(chroma_shift_px(0.05, 80, 40), 2);
    assert_eq!(chroma_shift_px(0.001, w, h), 1);
    assert_eq!(chroma_shift_px(0.0, w, h), 0);
    for c in [0.05, -0.05] {
        let mut shifted = frame.clone();
        apply_chroma_shift(&mut shifted, c);
        let s: isize = if c > 0.0 { 1 } else { -1 };
        for y in 0..h {
            for x in 0..w {
                let sx = (x as isize - s).rem_euclid(w as isize) as usize;
                let sy = (y as isize + s).rem_euclid(h as isize) as usize;
                assert_eq!(shifted.get(0, x, y), frame.get(0, sx, y));
                assert_eq!(shifted.get(1, x, y), frame.get(1, x, y));
                assert_eq!(shifted.get(2, x, y), frame.get(2, x, sy));
            }
        }
    }
    let mut same = frame.clone();
    apply_chroma_shift(&mut same, 0.0);
    assert_eq!(same, frame);
}

#[test]
fn trails_formula_on_two_frames() {
    let mut trail = TrailState::new();
    let mut a = Frame::filled(4, 3, 0.2);
    let b = Frame::filled(4, 3, 1.0);
    trail.apply(&mut a);
    assert_eq!(a, Frame::filled(4, 3, 0.2), "first frame passes through");
    let mut out = b.clone();
    trail.apply(&mut out);
    let state = 0.82 * 0.2 + 0.18 * 1.0;
    let expected = 0.7 * 1.0 + 0.3 * state;
    for v in &out.data {
        assert!(close(f64::from(*v), expected, 1e-6));
    }
    let st = trail.state().map(|s| f64::from(s.data[0])).unwrap_or(f64::NAN);
    assert!(close(st, state, 1e-6));
}

#[test]
fn grain_is_deterministic_per_frame_and_independent_of_history() {
    let params = PostFxParams { tone_curve: ToneCurve::Linear, grain_intensity: 0.5, ..PostFxParams::default() };
    let input = Frame::filled(16, 8, 0.5);
    let alone = apply(input.clone(), &params, None, 42, 7, 16, 8);
    for i in 0..7 {
        let _ = apply(input.clone(), &params, None, 42, i, 16, 8);
    }
    let after = apply(input.clone(), &params, None, 42, 7, 16, 8);
    assert_eq!(alone, after);
    assert_ne!(alone, input, "grain changed the frame");
    assert_ne!(alone, apply(input.clone(), &params, None, 42, 8, 16, 8));
    assert_ne!(alone, apply(input.clone(), &params, None, 43, 7, 16, 8));
    // Same offset on every channel, equal to g · 0.5 · 0.15.
    let g = grain_plane(42, 7, 16, 8);
    let n = 16 * 8;
    for (i, gv) in g.iter().enumerate() {
        let expected = (0.5 + gv * 0.075).clamp(0.0, 1.0);
        for c in 0..3 {
            assert!(close(f64::from(alone.data[c * n + i]), expected, 1e-6));
        }
    }
    let mean = g.iter().sum::<f64>() / g.len() as f64;
    assert!(mean.abs() < 0.3);
}

#[test]
fn grain_plane_averages_rolls() {
    let (w, h) = (5, 4);
    let g = grain_plane(1, 0, w, h);
    let mut rng = crate::dsp::rng::Rng::new(crate::dsp::rng::Rng::derive(1, "grain/0"));
    let mut n = vec![0.0f32; w * h];
    rng.fill_normal_f32(&mut n);
    let n: Vec<f64> = n.into_iter().map(f64::from).collect();
    for y in 0..h {
        for x in 0..w {
            let up = n[((y + h - 1) % h) * w + x];
            let left = n[y * w + (x + w - 1) % w];
            let expected = (n[y * w + x] + up + left) / 3.0;
            assert!(close(g[y * w + x], expected, 1e-6));
        }
    }
}

#[test]
fn to_rgb8_rounds_half_up_and_interleaves() {
    let frame = Frame::new(2, 1, vec![0.0, 1.0, 0.5, 0.1, 1.5 / 255.0, -0.2]).unwrap_or_else(|e| panic!("{e}"));
    let bytes = to_rgb8(&frame);
    assert_eq!(bytes, vec![0, 128, 2, 255, 26, 0]);
}

#[test]
fn resize_constant_frame_stays_constant() {
    let frame = Frame::filled(7, 5, 0.37);
    for (w, h) in [(16, 16), (3, 2), (1, 1), (7, 5)] {
        let out = resize_bilinear(&frame, w, h);
        assert_eq!((out.width, out.height), (w, h));
        assert!(out.data.iter().all(|&v| v == 0.37), "{w}x{h}");
    }
}

#[test]
fn resize_align_corners_keeps_corners_and_interpolates() {
    let frame = Frame::new(2, 1, vec![0.0, 1.0, 0.0, 1.0, 0.0, 1.0]).unwrap_or_else(|e| panic!("{e}"));
    let out = resize_bilinear(&frame, 5, 2);
    let row: Vec<f32> = (0..5).map(|x| out.get(0, x, 1).unwrap_or(f32::NAN)).collect();
    assert_eq!(row, vec![0.0, 0.25, 0.5, 0.75, 1.0]);
}

#[test]
fn validate_rejects_out_of_range() {
    assert!(PostFxParams::default().validate().is_ok());
    let bad = PostFxParams {
        grain_intensity: 1.5,
        chroma_shift: -0.06,
        vignette_strength: f64::NAN,
        ..PostFxParams::default()
    };
    let errors = bad.validate().err().unwrap_or_default();
    assert_eq!(errors.len(), 3);
    assert!(errors[0].contains("grain_intensity") && errors[0].contains("[0, 1]"));
    assert!(errors[1].contains("chroma_shift") && errors[1].contains("0.05"));
    assert!(errors[2].contains("vignette_strength"));
    let edge =
        PostFxParams { grain_intensity: 1.0, chroma_shift: 0.05, vignette_strength: 1.0, ..PostFxParams::default() };
    assert!(edge.validate().is_ok());
}

#[test]
fn apply_full_chain_shapes_and_range() {
    let params = PostFxParams {
        tone_curve: ToneCurve::Punch,
        grain_intensity: 1.0,
        chroma_shift: 0.03,
        vignette_strength: 0.5,
        motion_trails: true,
    };
    let mut trail = TrailState::new();
    let input = ramp_frame(8, 6);
    let out1 = apply(input.clone(), &params, Some(&mut trail), 9, 0, 32, 16);
    let out2 = apply(input, &params, Some(&mut trail), 9, 1, 32, 16);
    for out in [&out1, &out2] {
        assert_eq!((out.width, out.height, out.data.len()), (32, 16, 3 * 32 * 16));
        assert!(out.data.iter().all(|v| (0.0..=1.0).contains(v)));
    }
    let broken = Frame { width: 4, height: 4, data: vec![0.5; 5] };
    assert_eq!(apply(broken, &params, None, 0, 0, 8, 8), Frame::filled(8, 8, 0.0));
}

#[test]
fn apply_with_all_knobs_off_is_tone_curve_only() {
    let params = PostFxParams { grain_intensity: 0.0, ..PostFxParams::default() };
    let input = ramp_frame(6, 4);
    let out = apply(input.clone(), &params, None, 1, 0, 6, 4);
    let expected: Vec<f32> = input.data.iter().map(|&v| ToneCurve::Filmlog.eval(v).clamp(0.0, 1.0)).collect();
    assert!(out.data.iter().zip(&expected).all(|(a, b)| (a - b).abs() < 1e-6), "{:?} vs {expected:?}", out.data);
    let linear = PostFxParams { tone_curve: ToneCurve::Linear, ..params };
    assert_eq!(apply(input.clone(), &linear, None, 1, 0, 6, 4), input, "linear, same size, no effects: identity");
}

/// The reference chain: the single-step functions in DOMAIN §C's order.
fn reference_chain(
    frame: &Frame,
    p: &PostFxParams,
    trail: Option<&mut TrailState>,
    seed: u64,
    n: u64,
    w: usize,
    h: usize,
) -> Frame {
    let mut f = frame.clone();
    f.clip_unit();
    let mut f = resize_bilinear(&f, w, h);
    apply_tone_curve(&mut f, p.tone_curve);
    if p.vignette_strength > 0.0 {
        apply_vignette(&mut f, p.vignette_strength);
    }
    apply_chroma_shift(&mut f, p.chroma_shift);
    if let (true, Some(t)) = (p.motion_trails, trail) {
        t.apply(&mut f);
    }
    apply_grain(&mut f, p.grain_intensity, seed, n);
    f.clip_unit();
    f
}

fn textured_frame(w: usize, h: usize, t: usize) -> Frame {
    let data = (0..3 * w * h)
        .map(|i| {
            let (c, y, x) = (i / (w * h), (i / w) % h, i % w);
            (0.5 + 0.45 * ((x as f32 * 0.37 + y as f32 * 0.11 + c as f32 + t as f32 * 0.3).sin())).clamp(0.0, 1.0)
        })
        .collect();
    Frame { width: w, height: h, data }
}

#[test]
fn the_fused_chain_matches_the_reference_steps() {
    for tone_curve in ToneCurve::ALL {
        let params = PostFxParams {
            tone_curve,
            grain_intensity: 0.3,
            chroma_shift: -0.04,
            vignette_strength: 0.4,
            motion_trails: true,
        };
        let (mut fused_trail, mut ref_trail) = (TrailState::new(), TrailState::new());
        for t in 0..3 {
            let input = textured_frame(20, 12, t);
            let fused = apply(input.clone(), &params, Some(&mut fused_trail), 5, t as u64, 48, 32);
            let reference = reference_chain(&input, &params, Some(&mut ref_trail), 5, t as u64, 48, 32);
            let worst = fused.data.iter().zip(&reference.data).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            let bound = if tone_curve == ToneCurve::Punch { 4e-4 } else { 3e-5 };
            assert!(worst < bound, "{tone_curve:?} frame {t}: max |fused − reference| = {worst}");
            let (a, b) = (to_rgb8(&fused), to_rgb8(&reference));
            assert!(a.iter().zip(&b).all(|(x, y)| x.abs_diff(*y) <= 1), "{tone_curve:?}: more than one 8-bit level");
        }
    }
}

#[test]
fn rgb8_rendering_equals_the_float_path() {
    let params = PostFxParams {
        tone_curve: ToneCurve::Pastel,
        grain_intensity: 0.2,
        chroma_shift: 0.03,
        vignette_strength: 0.25,
        motion_trails: true,
    };
    let (w, h, ow, oh) = (16, 16, 32, 32);
    let decoded: Vec<u8> = (0..3 * w * h).map(|i| (i * 37 % 256) as u8).collect();
    let unit = Frame { width: w, height: h, data: decoded.iter().map(|&v| f32::from(v) / 255.0).collect() };
    let mut pipeline = PostFxPipeline::new(w, h, ow, oh, &params);
    let (mut t1, mut t2) = (TrailState::new(), TrailState::new());
    for n in 0..3 {
        let mut rgb = vec![0u8; 3 * ow * oh];
        assert!(pipeline.render_rgb8(&decoded, &params, Some(&mut t1), 9, n, &mut rgb));
        assert_eq!(rgb, to_rgb8(&apply(unit.clone(), &params, Some(&mut t2), 9, n, ow, oh)), "frame {n}");
    }
    assert_eq!(t1, t2);
    let mut short = vec![0u8; 10];
    assert!(!pipeline.render_rgb8(&decoded, &params, None, 9, 0, &mut short));
}

#[test]
fn per_frame_tracks_replace_their_knob_and_absent_ones_change_nothing() {
    let base =
        PostFxParams { grain_intensity: 0.1, chroma_shift: 0.01, vignette_strength: 0.2, ..PostFxParams::default() };
    let none = PostFxTracks::default();
    assert!(none.is_empty() && none.validate(10).is_ok());
    assert_eq!(none.at(&base, 3), base);
    let tracks = PostFxTracks {
        grain_intensity: Some(vec![0.0, 0.5, 1.0]),
        chroma_shift: None,
        vignette_strength: Some(vec![0.0, 0.9, f32::NAN]),
    };
    assert_eq!(
        tracks.at(&base, 1),
        PostFxParams { grain_intensity: 0.5, vignette_strength: 0.8999999761581421, ..base }
    );
    assert_eq!(tracks.at(&base, 2).vignette_strength, 0.2, "a non-finite value keeps the base");
    assert_eq!(tracks.at(&base, 7), base, "past the end: the base");
    let errors = tracks.validate(3).unwrap_err();
    assert_eq!(errors, vec!["vignette_strength[2] is NaN; allowed: finite values in [0, 1]".to_string()]);
    let long = PostFxTracks { chroma_shift: Some(vec![0.2; 4]), ..PostFxTracks::default() };
    let errors = long.validate(3).unwrap_err();
    assert!(errors[0].contains("chroma_shift has 4 values; expected 3"), "{errors:?}");
    // A frame rendered with a track's value equals one rendered with that value set.
    let input = textured_frame(8, 8, 0);
    let a = apply(input.clone(), &tracks.at(&base, 1), None, 3, 1, 16, 16);
    let b = apply(
        input,
        &PostFxParams { grain_intensity: 0.5, vignette_strength: f64::from(0.9f32), ..base },
        None,
        3,
        1,
        16,
        16,
    );
    assert_eq!(a, b);
}

#[test]
fn per_frame_vignette_strength_recomputes_the_gains() {
    let input = Frame::filled(8, 8, 0.8);
    let mut pipeline = PostFxPipeline::new(8, 8, 8, 8, &PostFxParams::default());
    let strong = PostFxParams { grain_intensity: 0.0, vignette_strength: 1.0, ..PostFxParams::default() };
    let weak = PostFxParams { vignette_strength: 0.1, ..strong };
    let s1 = pipeline.render_frame(&input, &strong, None, 0, 0);
    let w1 = pipeline.render_frame(&input, &weak, None, 0, 1);
    let s2 = pipeline.render_frame(&input, &strong, None, 0, 2);
    assert_eq!(s1, s2);
    assert!(w1.get(0, 1, 3) > s1.get(0, 1, 3));
}

#[test]
fn apply_rgb8_equals_apply_then_to_rgb8_and_a_wrong_length_is_black() {
    let params = PostFxParams {
        tone_curve: ToneCurve::Filmlog,
        grain_intensity: 0.1,
        chroma_shift: 0.01,
        vignette_strength: 0.3,
        motion_trails: true,
    };
    let (w, h, ow, oh) = (16, 16, 48, 32);
    let decoded: Vec<u8> = (0..3 * w * h).map(|i| (i * 53 % 256) as u8).collect();
    let unit = Frame { width: w, height: h, data: decoded.iter().map(|&v| f32::from(v) / 255.0).collect() };
    let (mut t1, mut t2) = (TrailState::new(), TrailState::new());
    for n in 0..3 {
        let fused = apply_rgb8(&decoded, w, h, &params, Some(&mut t1), 5, n, ow, oh);
        assert_eq!(fused, to_rgb8(&apply(unit.clone(), &params, Some(&mut t2), 5, n, ow, oh)), "frame {n}");
    }
    assert_eq!(t1, t2);
    let black = apply_rgb8(&decoded[1..], w, h, &params, None, 5, 0, ow, oh);
    assert_eq!(black, vec![0u8; 3 * ow * oh]);
}
