//! Decoder tests on the committed model and the fixtures that `models/generate.py` writes (tract backend).

use super::*;
use crate::dsp::rng::Rng;
use crate::media::npz::read_npz;
use std::path::Path;

const ANCHOR_SETS: [&str; 6] = ["pulse", "surge", "drift", "nocturne", "fracture", "lumen"];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn tract(batch_size: usize) -> DecoderOptions {
    DecoderOptions { backend: Backend::Tract, cuda: false, batch_size }
}

fn load(rel: &str, batch_size: usize) -> Decoder {
    Decoder::load(&read(rel), &tract(batch_size)).unwrap_or_else(|e| panic!("{rel}: {e}")).0
}

fn load_err(rel: &str) -> DecoderError {
    Decoder::load(&read(rel), &tract(4)).err().unwrap_or_else(|| panic!("{rel} loaded"))
}

fn random_latents(count: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..count * LATENT_LEN).map(|_| rng.normal() as f32).collect()
}

fn npz_f32(rel: &str, key: &str) -> Vec<f32> {
    let entries = read_npz(&read(rel), rel).unwrap();
    let (_, array) = entries.iter().find(|(k, _)| k == key).unwrap_or_else(|| panic!("{rel}: no {key}"));
    array.to_f32_vec().unwrap()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn mean_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32
}

#[test]
fn decoder_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Decoder>();
}

#[test]
fn committed_model_decodes_to_images_in_tanh_range_with_repeatable_bits() {
    let decoder = load("models/decoder.onnx", 2);
    let info = decoder.info();
    assert_eq!(
        info,
        &DecoderInfo {
            provider: "tract-cpu".into(),
            precision: "fp32".into(),
            fixed_batch: None,
            width: 256,
            height: 256
        }
    );
    let latents = random_latents(3, 11);
    let first = decoder.decode(&latents, 3).unwrap();
    assert_eq!(first.len(), 3 * 3 * 256 * 256);
    assert!(first.iter().all(|v| v.is_finite() && (-1.0..=1.0).contains(v)));
    // Not a constant image: the pattern spans a good part of the range.
    let (lo, hi) = first.iter().fold((1.0f32, -1.0f32), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    assert!(hi - lo > 1.0, "range {lo}..{hi}");
    let second = decoder.decode(&latents, 3).unwrap();
    assert!(first.iter().zip(&second).all(|(a, b)| a.to_bits() == b.to_bits()));
}

#[test]
fn batch_size_does_not_change_a_bit() {
    let latents = random_latents(5, 12);
    let reference = load("models/decoder.onnx", 1).decode(&latents, 5).unwrap();
    for batch_size in [2, 3, 8] {
        let out = load("models/decoder.onnx", batch_size).decode(&latents, 5).unwrap();
        assert!(reference.iter().zip(&out).all(|(a, b)| a.to_bits() == b.to_bits()), "batch size {batch_size}");
    }
}

#[test]
fn tiny_model_matches_the_float64_reference() {
    let latents = npz_f32("tests/fixtures/models/tiny_reference.npz", "latents");
    let want = npz_f32("tests/fixtures/models/tiny_reference.npz", "image");
    let decoder = load("tests/fixtures/models/tiny.onnx", 4);
    assert_eq!((decoder.info().width, decoder.info().height), (32, 32));
    let have = decoder.decode(&latents, 2).unwrap();
    let err = max_abs_diff(&have, &want);
    assert!(err < 1e-4, "max |tract − reference| = {err}");
}

#[test]
fn small_latent_steps_make_small_changes_and_large_steps_large_ones() {
    let decoder = load("models/decoder.onnx", 4);
    let base = npz_f32("models/anchors/drift.npz", "anchors")[..LATENT_LEN].to_vec();
    let mut rng = Rng::new(5);
    let nudged: Vec<f32> = base.iter().map(|v| v + if rng.uniform() < 0.5 { -1e-3 } else { 1e-3 }).collect();
    let far: Vec<f32> = base.iter().map(|v| v + 1.5 * rng.normal() as f32).collect();
    let mut all = base.clone();
    all.extend(&nudged);
    all.extend(&far);
    let out = decoder.decode(&all, 3).unwrap();
    let len = 3 * 256 * 256;
    let (a, b, c) = (&out[..len], &out[len..2 * len], &out[2 * len..]);
    let small = max_abs_diff(a, b);
    assert!(small > 0.0 && small < 0.03, "1e-3 latent step changed a pixel by {small}");
    let large = mean_abs_diff(a, c);
    assert!(large > 0.15, "a large latent step changed pixels by only {large} on average");
}

/// Per set: mean (R, G, B) in [0, 1] and mean |horizontal gradient| over its first three anchors.
fn set_statistics(decoder: &Decoder) -> Vec<([f32; 3], f32)> {
    let len = 256 * 256;
    ANCHOR_SETS
        .iter()
        .map(|set| {
            let anchors = npz_f32(&format!("models/anchors/{set}.npz"), "anchors");
            assert_eq!(anchors.len(), 10 * LATENT_LEN, "{set}");
            let images = decoder.decode(&anchors[..3 * LATENT_LEN], 3).unwrap();
            let mut rgb = [0.0f32; 3];
            let mut gradient = 0.0f32;
            for image in images.chunks(3 * len) {
                for (c, plane) in image.chunks(len).enumerate() {
                    rgb[c] += plane.iter().map(|v| v * 0.5 + 0.5).sum::<f32>() / (3 * len) as f32;
                    for row in plane.chunks(256) {
                        gradient += row.windows(2).map(|w| (w[1] - w[0]).abs()).sum::<f32>() / (9 * 255 * 256) as f32;
                    }
                }
            }
            (rgb, gradient)
        })
        .collect()
}

#[test]
fn anchor_sets_look_clearly_different_and_match_their_moods() {
    let stats = set_statistics(&load("models/decoder.onnx", 3));
    let by = |name: &str| stats[ANCHOR_SETS.iter().position(|s| *s == name).unwrap()];
    let luma = |name: &str| {
        let ([r, g, b], _) = by(name);
        0.299 * r + 0.587 * g + 0.114 * b
    };
    // Every pair of sets differs in mean colour or in texture.
    for i in 0..ANCHOR_SETS.len() {
        for j in i + 1..ANCHOR_SETS.len() {
            let ((a, ga), (b, gb)) = (stats[i], stats[j]);
            let colour: f32 = a.iter().zip(&b).map(|(x, y)| (x - y).powi(2)).sum::<f32>().sqrt();
            let texture = (ga - gb).abs() / ga.max(gb);
            assert!(
                colour > 0.08 || texture > 0.3,
                "{} vs {}: colour {colour}, texture {texture}",
                ANCHOR_SETS[i],
                ANCHOR_SETS[j]
            );
        }
    }
    for set in ANCHOR_SETS {
        if set != "nocturne" {
            assert!(luma("nocturne") < luma(set) - 0.15, "nocturne is not darker than {set}");
        }
        if set != "lumen" {
            assert!(luma("lumen") > luma(set) + 0.1, "lumen is not brighter than {set}");
        }
        if set != "fracture" {
            assert!(by("fracture").1 > 1.5 * by(set).1, "fracture is not finer than {set}");
        }
    }
    let warmth = |name: &str| by(name).0[0] - by(name).0[2];
    assert!(warmth("pulse") > 0.2 && warmth("drift") < -0.1, "pulse {} drift {}", warmth("pulse"), warmth("drift"));
}

#[test]
fn fixed_batch_models_run_in_whole_batches_and_drop_the_padding() {
    let latents = random_latents(3, 13);
    let dynamic = load("tests/fixtures/models/tiny.onnx", 8).decode(&latents, 3).unwrap();
    for (rel, batch) in [("tests/fixtures/models/tiny_batch1.onnx", 1), ("tests/fixtures/models/tiny_batch2.onnx", 2)] {
        let decoder = load(rel, 8);
        assert_eq!(decoder.info().fixed_batch, Some(batch), "{rel}");
        let out = decoder.decode(&latents, 3).unwrap();
        assert_eq!(out.len(), dynamic.len(), "{rel}");
        assert!(max_abs_diff(&out, &dynamic) < 1e-5, "{rel}");
    }
}

#[test]
fn models_with_the_wrong_interface_are_refused_with_what_is_wrong() {
    let cases = [
        ("tests/fixtures/models/wrong_input_name.onnx", "named `z`"),
        ("tests/fixtures/models/wrong_latent_shape.onnx", "shape is [?, 4, 16, 16]"),
        ("tests/fixtures/models/wrong_input_type.onnx", "element type is float64"),
    ];
    for (rel, part) in cases {
        let err = load_err(rel);
        assert!(matches!(err, DecoderError::Input { .. }), "{rel}: {err}");
        let message = err.to_string();
        assert!(message.contains(part) && message.contains("`latent` float32 [batch, 8, 16, 16]"), "{rel}: {message}");
    }
    let err = load_err("tests/fixtures/models/wrong_output_channels.onnx");
    assert!(matches!(err, DecoderError::Output { .. }), "{err}");
    assert!(err.to_string().contains("shape is [?, 1, 32, 32]"), "{err}");
}

#[test]
fn bad_bytes_and_bad_options_are_errors() {
    let opts = tract(2);
    assert!(matches!(Decoder::load(b"", &opts), Err(DecoderError::EmptyModel)));
    let err = Decoder::load(b"this is not a protobuf at all \xff\xfe", &opts).unwrap_err();
    assert!(matches!(err, DecoderError::NotOnnx { .. }), "{err}");
    // A truncated model.
    let model = read("tests/fixtures/models/tiny.onnx");
    assert!(matches!(Decoder::load(&model[..model.len() / 2], &opts), Err(DecoderError::NotOnnx { .. })));
    let err = Decoder::load(&model, &tract(0)).unwrap_err();
    assert!(err.to_string().contains("batch_size is 0; allowed: 1 or more"), "{err}");
}

#[test]
fn decode_checks_its_latents() {
    let decoder = load("tests/fixtures/models/tiny.onnx", 2);
    assert!(decoder.decode(&[], 0).unwrap().is_empty());
    let err = decoder.decode(&[0.0; 100], 1).unwrap_err();
    assert!(err.to_string().contains("hold 100 values, expected 2048"), "{err}");
    let mut latents = vec![0.0; 2 * LATENT_LEN];
    latents[2049] = f32::NAN;
    assert!(matches!(decoder.decode(&latents, 2), Err(DecoderError::NonFiniteLatent { index: 2049, .. })));
}

#[test]
fn backend_choice_is_one_per_process_and_failures_choose_nothing() {
    let model = read("tests/fixtures/models/tiny.onnx");
    // Missing library: reported before anything is chosen.
    let missing = DecoderOptions {
        backend: Backend::OnnxRuntime { library: Some(root().join("no/such/libonnxruntime.so")) },
        cuda: false,
        batch_size: 1,
    };
    let err = Decoder::load(&model, &missing).unwrap_err();
    assert!(matches!(err, DecoderError::OrtLibraryNotFound { .. }), "{err}");
    assert!(err.to_string().contains("no/such/libonnxruntime.so"), "{err}");
    // This test binary decodes with tract, so ONNX Runtime is refused afterwards.
    let (_decoder, warnings) = Decoder::load(&model, &DecoderOptions { cuda: true, ..tract(1) }).unwrap();
    assert!(warnings.iter().any(|w| w.contains("CPU only")), "{warnings:?}");
    assert_eq!(runtime::active(), Some(Active::Tract));
    let other = DecoderOptions {
        backend: Backend::OnnxRuntime { library: Some(root().join("Cargo.toml")) },
        cuda: false,
        batch_size: 1,
    };
    let err = Decoder::load(&model, &other).unwrap_err();
    assert!(matches!(err, DecoderError::BackendConflict { .. }), "{err}");
    assert!(err.to_string().contains("already decodes with tract"), "{err}");
}

#[test]
fn a_git_lfs_pointer_is_named_as_such() {
    let pointer = b"version https://git-lfs.github.com/spec/v1\n\
        oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n\
        size 12345\n";
    let err = Decoder::load(pointer, &tract(2)).unwrap_err();
    assert!(matches!(err, DecoderError::LfsPointer { size: 130, .. }), "{err}");
    let message = err.to_string();
    for part in ["Git LFS pointer", "sha256:4d7a2146", "git lfs pull"] {
        assert!(message.contains(part), "{message}");
    }
    // Something that merely mentions LFS later on is still judged as a model.
    let err = Decoder::load(b"not a model; version https://git-lfs.github.com/spec/v1", &tract(2)).unwrap_err();
    assert!(matches!(err, DecoderError::NotOnnx { .. }), "{err}");
}

/// The committed model computes the same images as the first formulation
/// (`tests/fixtures/models/*_first.onnx`, the previous `models/decoder.onnx`) within float32
/// rounding and the tract rewrites' error, on many latents of anchor-like and wilder scales.
#[test]
fn committed_and_first_formulations_decode_the_same_images() {
    let rows = load("tests/fixtures/models/tiny.onnx", 8);
    let planes = load("tests/fixtures/models/tiny_first.onnx", 8);
    let mut worst = 0.0f32;
    for (seed, scale) in [(21, 0.5f32), (22, 1.0), (23, 2.0), (24, 4.0)] {
        let latents: Vec<f32> = random_latents(32, seed).iter().map(|v| v * scale).collect();
        let a = rows.decode(&latents, 32).unwrap();
        let b = planes.decode(&latents, 32).unwrap();
        worst = worst.max(max_abs_diff(&a, &b));
        assert!(mean_abs_diff(&a, &b) < 1e-6, "scale {scale}: mean {}", mean_abs_diff(&a, &b));
    }
    // 1e-4 in the tanh range is 0.013 of an 8-bit level.
    assert!(worst < 1e-4, "max |committed − first| = {worst}");
}
