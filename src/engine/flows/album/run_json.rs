//! `run.json` beside an album's outputs: the seed renderer's run metadata (what was rendered,
//! with which settings and decoder) plus every artifact's blake3 digest. It is an artifact like
//! any other — deterministic and locked: no timestamp, no timings (those describe one run, not
//! its outputs, and are in the render's own events).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};

use crate::engine::action::{Action, Cx};
use crate::engine::error::BuildError;
use crate::engine::query;
use crate::features::prepare::Trim;
use crate::media::npz;
use crate::project::album::AlbumSpec;
use crate::project::video::PostFxSpec;

pub const RUN_FILE: &str = "run.json";

#[derive(Debug, Clone, PartialEq)]
pub struct RunJson {
    pub album: Arc<AlbumSpec>,
}

/// The album's settings as `run.json` records them under `config`.
#[derive(Serialize)]
struct RunConfig<'a> {
    fps: u32,
    resolution: [u32; 2],
    segment_frames: u32,
    previews: bool,
    /// The album's `normalization` (dBFS RMS), if set.
    normalization: Option<f64>,
    tracks: Vec<TrackConfig<'a>>,
}

#[derive(Serialize)]
struct TrackConfig<'a> {
    id: &'a str,
    seed: u64,
    preset: &'a str,
    trim: Option<Trim>,
    controller: ControllerConfig<'a>,
    postfx: &'a PostFxSpec,
    decoder: DecoderConfig<'a>,
    encode: EncodeConfig,
}

#[derive(Serialize)]
struct ControllerConfig<'a> {
    anchor_set: &'a str,
    smoothing_alpha: f64,
    wander_seed: u64,
    tempo_sync: bool,
    subdivision: f64,
    temperature: f64,
    feature_scaling: &'a str,
    scaling_window_s: f64,
}

#[derive(Serialize)]
struct DecoderConfig<'a> {
    model: &'a str,
    backend: &'a str,
    cuda: bool,
    batch_size: u32,
}

#[derive(Serialize)]
struct EncodeConfig {
    qp: u8,
    audio_bitrate_kbps: u32,
}

impl RunJson {
    fn config(&self) -> RunConfig<'_> {
        let a = &self.album;
        RunConfig {
            fps: a.video.fps,
            resolution: [a.video.width, a.video.height],
            segment_frames: a.video.segment_frames,
            previews: a.video.previews,
            normalization: a.normalization_dbfs,
            tracks: a
                .tracks
                .iter()
                .map(|t| {
                    let v = &t.video;
                    let c = &v.controller;
                    TrackConfig {
                        id: &t.id,
                        seed: t.seed,
                        preset: &v.preset,
                        trim: t.prep.trim,
                        controller: ControllerConfig {
                            anchor_set: &c.anchor_set,
                            smoothing_alpha: c.smoothing_alpha,
                            wander_seed: c.wander_seed,
                            tempo_sync: c.tempo_sync,
                            subdivision: c.subdivision_s,
                            temperature: c.temperature,
                            feature_scaling: &c.feature_scaling,
                            scaling_window_s: c.scaling_window_s,
                        },
                        postfx: &v.postfx,
                        decoder: DecoderConfig {
                            model: &v.decoder.model,
                            backend: super::segment::backend_name(&super::segment::resolve_backend(&v.decoder)),
                            cuda: v.decoder.cuda,
                            batch_size: v.decoder.batch_size,
                        },
                        encode: EncodeConfig { qp: v.encode.qp, audio_bitrate_kbps: v.encode.audio_bitrate_kbps },
                    }
                })
                .collect(),
        }
    }
}

impl Action for RunJson {
    const QUERY: &'static str = "run_json";
    const VERSION: u32 = 2;

    fn key(&self) -> impl Serialize + '_ {
        self.config()
    }

    fn compute(&self, cx: &Cx<'_>) -> Result<Vec<u8>, BuildError> {
        let album = &self.album;
        let target = &album.id;
        let name = &album.id["album.".len()..];
        // Paths are relative to the album's output folder, so they hold in any checkout.
        let digest = |id: &str| query::digest_by_id(cx.db, id).map(|d| d.hex());
        let mut tracks = Vec::new();
        for track in &album.tracks {
            let base = format!("{target}/{}", track.id);
            let latents = format!("{base}/latents.npz");
            let features = format!("{base}/features.npz");
            let video = format!("{base}/video.mp4");
            let meta = npz::read_npz(&cx.artifact_bytes(&latents)?, "latents.npz")
                .ok()
                .and_then(|a| a.into_iter().find(|(k, _)| k == "metadata"))
                .and_then(|(_, m)| m.as_str().and_then(|s| serde_json::from_str::<Value>(s).ok()))
                .unwrap_or_default();
            let (provider, precision) = super::video::decoder_info(cx.db, &video).unwrap_or_default();
            let artifacts: BTreeMap<String, String> = [&features, &latents, &video]
                .into_iter()
                .map(|id| Ok((id.clone(), digest(id)?)))
                .collect::<Result<_, BuildError>>()?;
            tracks.push(json!({
                "id": track.id,
                "anchor_set": track.video.controller.anchor_set,
                "preset": track.video.preset,
                "frames": meta["frames"],
                "duration_seconds": meta["duration_seconds"],
                "latents": format!("{}/latents.npz", track.id),
                "video": format!("{}/video.mp4", track.id),
                "preview_still": album.video.previews.then(|| format!("{}/previews/preview.png", track.id)),
                "features_cache": format!("{}/features.npz", track.id),
                "feature_checksum": digest(&features)?,
                "latents_checksum": digest(&latents)?,
                "video_checksum": digest(&video)?,
                "decoder_provider": provider,
                "decoder_precision": precision,
                "artifacts": artifacts,
            }));
        }
        let album_video = format!("{target}/album.mp4");
        let doc = json!({
            "run_id": target,
            "output_root": format!("album/{name}"),
            "config": self.config(),
            "controller_seed": album.tracks.first().map(|t| t.video.controller.wander_seed),
            "album_video": "album.mp4",
            "album_video_checksum": digest(&album_video)?,
            "tracks": tracks,
        });
        let mut text = serde_json::to_string_pretty(&doc).map_err(|e| cx.fail(e.to_string()))?;
        text.push('\n');
        Ok(text.into_bytes())
    }
}
