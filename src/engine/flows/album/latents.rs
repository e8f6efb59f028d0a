//! The controller's latent trajectory of an album track (`latents.npz`), from its features
//! and the anchor set (DOMAIN §B).

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};

use crate::controller::{self, Anchors, FEATURE_DIM, FeatureFrames, LATENT_LEN, Projection};
use crate::engine::action::{Action, Cx};
use crate::engine::db::Db;
use crate::engine::error::BuildError;
use crate::media::npz::{self, NpyArray, NpyView, NpzCompression};
use crate::project::album::TrackSpec;
use crate::project::video::VideoSettings;

#[derive(Debug, Clone, PartialEq)]
pub struct Latents {
    pub settings: VideoSettings,
    pub track: Arc<TrackSpec>,
}

#[derive(Serialize)]
struct LatentsKey<'a> {
    fps: u32,
    anchor_set: &'a str,
    smoothing_alpha: f64,
    wander_seed: u64,
    tempo_sync: bool,
    subdivision_s: f64,
    base_strength: f64,
    track_seed: u64,
    projection: bool,
    temperature: f64,
    feature_scaling: &'a str,
    scaling_window_s: f64,
}

impl Action for Latents {
    const QUERY: &'static str = "latents";
    const VERSION: u32 = 2;

    fn key(&self) -> impl Serialize + '_ {
        let c = &self.track.video.controller;
        LatentsKey {
            fps: self.settings.fps,
            anchor_set: &c.anchor_set,
            smoothing_alpha: c.smoothing_alpha,
            wander_seed: c.wander_seed,
            tempo_sync: c.tempo_sync,
            subdivision_s: c.subdivision_s,
            base_strength: self.track.video.strength_preset().base_strength(),
            track_seed: self.track.seed,
            projection: c.projection.is_some(),
            temperature: c.temperature,
            feature_scaling: &c.feature_scaling,
            scaling_window_s: c.scaling_window_s,
        }
    }

    fn compute(&self, cx: &Cx<'_>) -> Result<Vec<u8>, BuildError> {
        latents_npz(cx, &self.settings, &self.track)
    }
}

pub(super) fn get<'a>(arrays: &'a [(String, NpyArray)], key: &str) -> Option<&'a NpyArray> {
    arrays.iter().find(|(k, _)| k == key).map(|(_, a)| a)
}

/// Seconds of audio a track's `features.npz` describes (its metadata's samples ÷ rate).
pub(super) fn track_duration_s(features: &[(String, NpyArray)]) -> f64 {
    let meta: Value =
        serde_json::from_str(get(features, "metadata").and_then(NpyArray::as_str).unwrap_or("{}")).unwrap_or_default();
    let rate = meta["sample_rate"].as_u64().unwrap_or(48_000).max(1);
    meta["samples"].as_u64().unwrap_or(0) as f64 / rate as f64
}

pub(super) fn f32s(id: &str, file: &str, arrays: &[(String, NpyArray)], key: &str) -> Result<Vec<f32>, BuildError> {
    get(arrays, key)
        .and_then(NpyArray::to_f32_vec)
        .ok_or_else(|| BuildError::failed(id, format!("{file} has no numeric `{key}`")))
}

/// Features → latent trajectory (DOMAIN §B) → `latents.npz` with the seed's keys.
fn latents_npz(cx: &Cx<'_>, settings: &VideoSettings, track: &TrackSpec) -> Result<Vec<u8>, BuildError> {
    let id = cx.id;
    let c = &track.video.controller;
    let features = cx.dep_bytes(0)?;
    let f = npz::read_npz(&features, "features.npz").map_err(|e| BuildError::failed(id, e.to_string()))?;
    let meta: Value =
        serde_json::from_str(get(&f, "metadata").and_then(NpyArray::as_str).unwrap_or("{}")).unwrap_or_default();
    let sample_rate_hz = meta["sample_rate"].as_u64().unwrap_or(48_000) as u32;
    let samples = meta["samples"].as_u64().unwrap_or(0);
    let duration_s = samples as f64 / f64::from(sample_rate_hz.max(1));
    let frames = FeatureFrames {
        rms: f32s(id, "features.npz", &f, "rms")?,
        centroid_hz: f32s(id, "features.npz", &f, "centroid")?,
        flatness: f32s(id, "features.npz", &f, "flatness")?,
        onset: f32s(id, "features.npz", &f, "onset")?,
        mfcc: f32s(id, "features.npz", &f, "mfcc")?,
        sample_rate_hz,
        hop_len: meta["hop_length"].as_u64().unwrap_or(crate::features::HOP_LEN as u64) as usize,
    };
    let fps = f64::from(settings.fps);
    let vectors = controller::feature_vectors(&frames, fps, duration_s);
    if vectors.is_empty() {
        return Err(BuildError::failed(id, "the track's audio is empty: no video frames to render"));
    }

    let (meta_bytes, _) = cx.file_bytes(&c.meta)?;
    let model_meta: Value = serde_json::from_slice(&meta_bytes)
        .map_err(|e| BuildError::failed(id, format!("{}: not valid JSON: {e}", c.meta)))?;
    let anchor_seed = model_meta["anchor_sets"][&c.anchor_set]["seed"].as_u64().unwrap_or(0);

    let (anchor_bytes, _) = cx.file_bytes(&c.anchors)?;
    let a = npz::read_npz(&anchor_bytes, &c.anchors).map_err(|e| BuildError::failed(id, e.to_string()))?;
    let anchors_arr =
        get(&a, "anchors").ok_or_else(|| BuildError::failed(id, format!("{}: no `anchors` array", c.anchors)))?;
    let k = anchors_arr.shape.first().copied().unwrap_or(0);
    if anchors_arr.shape.iter().skip(1).product::<usize>() != LATENT_LEN || k == 0 {
        return Err(BuildError::failed(
            id,
            format!("{}: `anchors` has shape {:?}, expected (K, 8, 16, 16) with K ≥ 1", c.anchors, anchors_arr.shape),
        ));
    }
    let anchors = Anchors { anchors: anchors_arr.to_f32_vec().unwrap_or_default(), k };
    let projection = match &c.projection {
        Some(file) => {
            let (bytes, _) = cx.file_bytes(file)?;
            let p = npz::read_npz(&bytes, file).map_err(|e| BuildError::failed(id, e.to_string()))?;
            let matrix = f32s(id, file, &p, "matrix")?;
            let bias = f32s(id, file, &p, "bias")?;
            let mean = f32s(id, file, &p, "feature_mean")?;
            let std = f32s(id, file, &p, "feature_std")?;
            if matrix.len() != k * FEATURE_DIM
                || bias.len() != k
                || mean.len() != FEATURE_DIM
                || std.len() != FEATURE_DIM
            {
                return Err(BuildError::failed(
                    id,
                    format!(
                        "{file}: expected matrix ({k},{FEATURE_DIM}), bias ({k}), feature_mean/std ({FEATURE_DIM}) for {k} anchors"
                    ),
                ));
            }
            let mut projection = Projection { matrix, bias, ..Default::default() };
            projection.feature_mean.copy_from_slice(&mean);
            projection.feature_std.copy_from_slice(&std);
            projection
        }
        None => Projection::random(k, anchor_seed, &vectors),
    };
    let mut params = track.video.controller_params(anchor_seed, track.seed);
    if super::controls::drives_controller(track) {
        // Dependency 1: the track's controls.npz.
        let controls = super::controls::parse(id, &cx.dep_bytes(1)?)?;
        let tracks = controls.controller;
        tracks.validate(vectors.len(), k).map_err(|errors| {
            BuildError::failed(id, format!("controls.npz does not fit the video: {}", errors.join("; ")))
        })?;
        params.tracks = tracks;
    }
    let out = controller::latents(&vectors, &anchors, &projection, &params, fps);
    let n = out.frame_times.len();
    let metadata = json!({ "frame_rate": settings.fps, "audio_sample_rate": sample_rate_hz, "anchor_set": c.anchor_set,
                           "frames": n, "latent_shape": [8, 16, 16], "duration_seconds": duration_s,
                           "preset": track.video.preset, "anchor_count": k })
    .to_string();
    let (lshape, wshape, tshape) = ([n, 8, 16, 16], [n, k], [n]);
    npz::write_npz(
        &[
            ("latents", NpyView::F32 { shape: &lshape, data: &out.latents }),
            ("frame_times", NpyView::F32 { shape: &tshape, data: &out.frame_times }),
            ("weights", NpyView::F32 { shape: &wshape, data: &out.weights }),
            ("metadata", NpyView::Str(&metadata)),
        ],
        NpzCompression::Stored,
    )
    .map_err(|e| BuildError::failed(id, e.to_string()))
}

/// The controller's trajectory for the gallery page: the anchor blend `weights` of a built
/// `latents.npz`, stacked over time. `None` when it is not in the store or has no weights.
pub fn trajectory_figure(db: &dyn Db, latents_id: &str) -> Option<crate::engine::flow::Figure> {
    let bytes = crate::engine::query::artifact_bytes(db, latents_id).ok()?;
    let arrays = npz::read_npz(&bytes, latents_id).ok()?;
    let weights = arrays.iter().find(|(k, _)| k == "weights").map(|(_, a)| a)?;
    let [frames, anchors] = weights.shape[..] else { return None };
    let data = weights.to_f32_vec()?;
    let png = crate::media::thumbs::stacked_weights_png(&data, anchors, 480, 72).ok()?;
    Some(crate::engine::flow::Figure {
        beside: latents_id.to_string(),
        title: format!("Controller trajectory: the blend of {anchors} anchors over {frames} frames"),
        png,
    })
}
