//! `run.json` beside an album's outputs: the seed renderer's run metadata (what was rendered,
//! with which decoder, how long each stage took) plus every artifact's blake3 digest. It is run
//! metadata, not an artifact: it holds a timestamp and timings, so it is neither hashed nor locked.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::db::Database;
use super::render::{ArtifactEvent, Status};
use super::targets::ArtifactDecl;
use crate::media::npz;
use crate::project::{Config, TargetSpec};
use crate::store::fsutil::replace_file;

pub const RUN_FILE: &str = "run.json";

/// Write `run.json` for every album whose track videos this render built or checked.
/// Returns the paths written (project-relative).
pub fn write(
    db: &Database,
    config: &Config,
    index: &BTreeMap<String, ArtifactDecl>,
    events: &[ArtifactEvent],
) -> std::io::Result<Vec<String>> {
    let by_id: BTreeMap<&str, &ArtifactEvent> = events.iter().map(|e| (e.id.as_str(), e)).collect();
    let mut written = Vec::new();
    for (target, spec) in &config.targets {
        let TargetSpec::Album(album) = spec else { continue };
        let videos: Vec<String> = album.tracks.iter().map(|t| format!("{target}/{}/video.mp4", t.id)).collect();
        if !videos.iter().any(|v| by_id.get(v.as_str()).is_some_and(|e| e.status != Status::Failed)) {
            continue;
        }
        let out_dir =
            format!("{}/album/{}", config.settings.output_dir.trim_end_matches('/'), &album.id["album.".len()..]);
        let path = |id: &str| index.get(id).map(|d| d.output_path(&config.settings.output_dir));
        let digest = |id: &str| by_id.get(id).and_then(|e| e.digest).map(|d| d.hex());
        let secs = |id: &str| by_id.get(id).map_or(0.0, |e| e.ms as f64 / 1000.0);
        let mut tracks = Vec::new();
        for (track, video) in album.tracks.iter().zip(&videos) {
            let base = format!("{target}/{}", track.id);
            let latents = format!("{base}/latents.npz");
            let features = format!("{base}/features.npz");
            let meta = by_id
                .get(latents.as_str())
                .and_then(|e| e.digest)
                .and_then(|d| db_store_read(db, d))
                .and_then(|b| npz::read_npz(&b, "latents.npz").ok())
                .and_then(|a| a.into_iter().find(|(k, _)| k == "metadata"))
                .and_then(|(_, m)| m.as_str().and_then(|s| serde_json::from_str::<Value>(s).ok()))
                .unwrap_or_default();
            let (provider, precision) = super::video::decoder_info(db, video).unwrap_or_default();
            let artifacts: BTreeMap<String, Option<String>> = events
                .iter()
                .filter(|e| e.id.starts_with(&format!("{base}/")))
                .map(|e| (e.id.clone(), e.digest.map(|d| d.hex())))
                .collect();
            tracks.push(json!({
                "id": track.id,
                "anchor_set": track.video.controller.anchor_set,
                "preset": track.video.preset,
                "frames": meta["frames"],
                "duration_seconds": meta["duration_seconds"],
                "latents": path(&latents),
                "video": path(video),
                "preview_still": path(&format!("{base}/previews/preview.png")),
                "features_cache": path(&features),
                "feature_checksum": digest(&features),
                "latents_checksum": digest(&latents),
                "video_checksum": digest(video),
                "decoder_provider": provider,
                "decoder_precision": precision,
                "timings": { "features_sec": secs(&features), "controller_sec": secs(&latents), "render_sec": secs(video) },
                "artifacts": artifacts,
            }));
        }
        let album_video = format!("{target}/album.mp4");
        let doc = json!({
            "run_id": target,
            "created_at": now_rfc3339(),
            "output_root": out_dir,
            "config": {
                "fps": album.video.fps, "resolution": [album.video.width, album.video.height],
                "segment_frames": album.video.segment_frames, "previews": album.video.previews,
                "tracks": album.tracks.iter().map(|t| json!({
                    "id": t.id, "seed": t.seed, "preset": t.video.preset,
                    "controller": { "anchor_set": t.video.controller.anchor_set, "smoothing_alpha": t.video.controller.smoothing_alpha,
                                    "wander_seed": t.video.controller.wander_seed, "tempo_sync": t.video.controller.tempo_sync,
                                    "subdivision": t.video.controller.subdivision_s },
                    "postfx": { "tone_curve": t.video.postfx.tone_curve, "grain_intensity": t.video.postfx.grain_intensity,
                                "chroma_shift": t.video.postfx.chroma_shift, "vignette_strength": t.video.postfx.vignette_strength,
                                "motion_trails": t.video.postfx.motion_trails },
                    "decoder": { "model": t.video.decoder.model, "backend": t.video.decoder.backend, "cuda": t.video.decoder.cuda,
                                 "batch_size": t.video.decoder.batch_size },
                    "encode": { "qp": t.video.encode.qp, "audio_bitrate_kbps": t.video.encode.audio_bitrate_kbps },
                })).collect::<Vec<_>>(),
            },
            "controller_seed": album.tracks.first().map(|t| t.video.controller.wander_seed),
            "album_video": path(&album_video),
            "album_video_checksum": digest(&album_video),
            "tracks": tracks,
        });
        let rel = format!("{out_dir}/{RUN_FILE}");
        let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        text.push('\n');
        replace_file(&db.env_arc().root.join(&rel), text.as_bytes())?;
        written.push(rel);
    }
    Ok(written)
}

fn db_store_read(db: &Database, d: crate::store::Digest) -> Option<Vec<u8>> {
    db.env_arc().store.read(&d).ok()
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamp_has_the_rfc3339_shape() {
        let t = super::now_rfc3339();
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.starts_with("20") && t.ends_with('Z') && &t[10..11] == "T", "{t}");
    }
}
