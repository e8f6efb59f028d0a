//! Measuring the look per preset (shared by `benches/look.rs` and `tests/look.rs`): a track's
//! features → each built-in preset's controller (as the video flow resolves it) → latents →
//! decoded frames → anchor usage, frame-to-frame change and how that change follows onsets.

#![allow(dead_code)]

use std::path::Path;

use ntsbuild::controller::{
    self, AnchorUsage, Anchors, ControllerParams, FEATURE_DIM, FeatureFrames, FeatureScaling, LATENT_LEN, Projection,
    anchor_usage, mean_abs_change, pearson,
};
use ntsbuild::decoder::Decoder;
use ntsbuild::features::Features;
use ntsbuild::media::npz::{self, NpyArray};
use ntsbuild::project::SourceText;
use ntsbuild::project::album::{AlbumSpec, TrackSpec};

/// The built-in presets, in the order the tables print them.
pub const PRESETS: [&str; 7] = ["default", "pulse", "surge", "drift", "nocturne", "fracture", "lumen"];

/// What one preset does on one track.
#[derive(Debug, Clone)]
pub struct Look {
    pub preset: String,
    pub frames: usize,
    pub usage: AnchorUsage,
    /// The same preset's anchor usage with the seed's scaling (the projection file's feature
    /// statistics, temperature 1): what the controller did before `feature_scaling = "track"`.
    pub seed_usage: AnchorUsage,
    /// Mean |frame n − frame n−1| over the decoded frames, in 8-bit levels.
    pub mean_change: f64,
    /// Pearson correlation of that change with the onset strength (normalised) at frame n.
    pub change_onset_corr: f64,
    /// Mean 8-bit level of the decoded frames.
    pub mean_level: f64,
}

/// Each built-in preset's track settings at `fps`, resolved by the project reader like a
/// recipe's `[[album.look.track]]` with `preset = NAME`.
pub fn preset_tracks(fps: u32) -> Vec<TrackSpec> {
    let mut text = format!("[album.look]\nfps = {fps}\n");
    for name in PRESETS {
        text.push_str(&format!("[[album.look.track]]\nid = \"{name}\"\naudio = \"a.wav\"\npreset = \"{name}\"\n"));
    }
    let recipes = [SourceText { path: "recipes/look.toml".into(), text }];
    let flows = ntsbuild::engine::flows::builtin();
    let config = ntsbuild::project::load(Some("[project]\nname = \"look\"\n"), &recipes, &[], &flows.kinds())
        .expect("presets resolve");
    config.targets.get("album.look").and_then(|t| t.get::<AlbumSpec>()).expect("album.look").tracks.clone()
}

fn npz_f32(bytes: &[u8], name: &str, key: &str) -> Vec<f32> {
    let arrays = npz::read_npz(bytes, name).expect("npz");
    arrays.iter().find(|(k, _)| k == key).and_then(|(_, a)| NpyArray::to_f32_vec(a)).expect(key)
}

/// The latent trajectory (N×2048) and weights (N×K) of `track` on `features`, reading anchors,
/// projection and `meta.json` from the project at `root`, as the video flow does.
/// `duration_s` is the analysed audio's length (samples / rate). Also returns the weights the
/// seed's scaling would give.
pub fn trajectory(
    root: &Path,
    track: &TrackSpec,
    features: &Features,
    duration_s: f64,
    fps: u32,
) -> (Vec<[f32; FEATURE_DIM]>, controller::Latents, Vec<f32>) {
    let c = &track.video.controller;
    let read = |rel: &str| std::fs::read(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let meta: serde_json::Value = serde_json::from_slice(&read(&c.meta)).expect("meta.json");
    let anchor_seed = meta["anchor_sets"][&c.anchor_set]["seed"].as_u64().unwrap_or(0);
    let anchors = npz_f32(&read(&c.anchors), &c.anchors, "anchors");
    let anchors = Anchors { k: anchors.len() / LATENT_LEN, anchors };
    let frames = FeatureFrames::from(features);
    let vectors = controller::feature_vectors(&frames, f64::from(fps), duration_s);
    let projection = match &c.projection {
        Some(file) => {
            let bytes = read(file);
            let mut p = Projection {
                matrix: npz_f32(&bytes, file, "matrix"),
                bias: npz_f32(&bytes, file, "bias"),
                ..Default::default()
            };
            p.feature_mean.copy_from_slice(&npz_f32(&bytes, file, "feature_mean"));
            p.feature_std.copy_from_slice(&npz_f32(&bytes, file, "feature_std"));
            p
        }
        None => Projection::random(anchors.k, anchor_seed, &vectors),
    };
    let params = track.video.controller_params(anchor_seed, track.seed);
    let latents = controller::latents(&vectors, &anchors, &projection, &params, f64::from(fps));
    let seed = ControllerParams { feature_scaling: FeatureScaling::Projection, temperature: 1.0, ..params };
    let seed_weights = controller::latents(&vectors, &anchors, &projection, &seed, f64::from(fps)).weights;
    (vectors, latents, seed_weights)
}

/// Decode `latents` (N×2048) with `decoders` (one per worker thread, splitting the frames) to
/// 8-bit planar frames.
pub fn decode_u8(decoders: &[Decoder], latents: &[f32]) -> Vec<Vec<u8>> {
    let n = latents.len() / LATENT_LEN;
    let per = n.div_ceil(decoders.len().max(1)).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = decoders
            .iter()
            .zip(latents.chunks(per * LATENT_LEN))
            .map(|(d, chunk)| {
                s.spawn(move || {
                    let count = chunk.len() / LATENT_LEN;
                    let out = d.decode(chunk, count).expect("decode");
                    let len = out.len() / count.max(1);
                    out.chunks(len.max(1))
                        .map(|img| img.iter().map(|&x| ((x * 0.5 + 0.5).clamp(0.0, 1.0) * 255.0 + 0.5) as u8).collect())
                        .collect::<Vec<Vec<u8>>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("decoder thread")).collect()
    })
}

/// The look of `track` on `features`: controller, decode, measure.
pub fn look(
    root: &Path,
    track: &TrackSpec,
    features: &Features,
    duration_s: f64,
    fps: u32,
    decoders: &[Decoder],
) -> Look {
    let (vectors, out, seed_weights) = trajectory(root, track, features, duration_s, fps);
    let k = out.weights.len() / vectors.len().max(1);
    let frames = decode_u8(decoders, &out.latents);
    let changes: Vec<f64> = frames.windows(2).map(|w| mean_abs_change(&w[0], &w[1])).collect();
    let onsets: Vec<f64> = vectors.iter().skip(1).map(|v| f64::from(v[3])).collect();
    let level = frames.iter().map(|f| f.iter().map(|&v| f64::from(v)).sum::<f64>() / f.len() as f64).sum::<f64>()
        / frames.len().max(1) as f64;
    Look {
        preset: track.video.preset.clone(),
        frames: frames.len(),
        usage: anchor_usage(&out.weights, k, 0.9),
        seed_usage: anchor_usage(&seed_weights, k, 0.9),
        mean_change: changes.iter().sum::<f64>() / changes.len().max(1) as f64,
        change_onset_corr: pearson(&changes, &onsets),
        mean_level: level,
    }
}

/// One table row.
pub fn row(track: &str, l: &Look) -> String {
    format!(
        "| {track} | {} | {} | {:.0} % ({:.0} %) | {:.0} % ({:.0} %) | {} | {:.2} | {:.2} | {:.0} |",
        l.preset,
        l.frames,
        100.0 * l.usage.most_dominant_share(),
        100.0 * l.seed_usage.most_dominant_share(),
        100.0 * l.usage.above_threshold_share,
        100.0 * l.seed_usage.above_threshold_share,
        l.usage.anchors_used(0.05),
        l.mean_change,
        l.change_onset_corr,
        l.mean_level
    )
}

/// The table's header.
/// (In brackets: the seed's scaling.)
pub const HEADER: &str = "| track | preset | frames | top anchor's frames (seed's scaling) | frames with a weight > 0.9 (seed's) | anchors leading ≥ 5 % | mean change (levels/frame) | change ~ onset (r) | mean level |\n|---|---|---|---|---|---|---|---|---|";
