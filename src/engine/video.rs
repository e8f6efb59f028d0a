//! Video queries of an album track: `latents.npz` (controller), `video.mp4` (segments joined and
//! muxed with the track's audio), previews, and the album's `album.mp4`.

use serde_json::{Value, json};

use super::db::Db;
use super::query::{self, BuildError};
use super::segment::{self, PREVIEW_EVERY};
use super::targets::{ArtifactDecl, PreviewKind};
use crate::controller::{self, Anchors, ControllerParams, FEATURE_DIM, FeatureFrames, LATENT_LEN, Preset, Projection};
use crate::media::npz::{self, NpyArray, NpyView, NpzCompression};
use crate::project::album::{AudioRef, TrackSpec};
use crate::project::video::VideoSettings;

/// Bump when what `latents` computes or reads changes.
pub const LATENTS_VERSION: u32 = 1;
/// Bump when what `video` (join + audio + mux) computes changes.
pub const VIDEO_VERSION: u32 = 1;
/// Bump when what the previews draw changes.
pub const PREVIEW_VERSION: u32 = 1;
/// Bump when what `album.mp4` computes changes.
pub const ALBUM_VIDEO_VERSION: u32 = 1;
/// Audio rate inside MP4s (Opus runs at 48 kHz).
pub const VIDEO_AUDIO_RATE_HZ: u32 = 48_000;
/// Kept frames shown by the GIF and the contact sheet.
const GIF_FRAMES: usize = 24;
const SHEET_FRAMES: usize = 48;

/// The wander strength preset: the preset's own name, or for a project preset its anchor set's.
fn strength_preset(track: &TrackSpec) -> Preset {
    match Preset::from_name(&track.video.preset) {
        Preset::Other(_) => Preset::from_name(&track.video.controller.anchor_set),
        p => p,
    }
}

pub fn latents_params(settings: &VideoSettings, track: &TrackSpec) -> Value {
    let c = &track.video.controller;
    json!({ "fps": settings.fps, "anchor_set": c.anchor_set, "smoothing_alpha": c.smoothing_alpha,
            "wander_seed": c.wander_seed, "tempo_sync": c.tempo_sync, "subdivision_s": c.subdivision_s,
            "base_strength": strength_preset(track).base_strength(), "track_seed": track.seed,
            "projection": c.projection.is_some() })
}

/// Everything a track's frames and their encoding read (the segments' params, plus the mux's).
pub fn video_params(settings: &VideoSettings, track: &TrackSpec, root: &std::path::Path) -> Value {
    let v = &track.video;
    let backend = match segment::resolve_backend(&v.decoder, root) {
        crate::decoder::Backend::Tract => "tract",
        crate::decoder::Backend::OnnxRuntime { .. } => "onnxruntime",
    };
    json!({ "fps": settings.fps, "width": settings.width, "height": settings.height,
            "segment_frames": settings.segment_frames,
            "decoder": { "backend": backend, "cuda": v.decoder.cuda, "batch_size": v.decoder.batch_size },
            "postfx": { "tone_curve": v.postfx.tone_curve, "grain_intensity": v.postfx.grain_intensity,
                        "chroma_shift": v.postfx.chroma_shift, "vignette_strength": v.postfx.vignette_strength,
                        "motion_trails": v.postfx.motion_trails },
            "grain_seed": segment::grain_seed(track), "qp": v.encode.qp,
            "audio_bitrate_kbps": v.encode.audio_bitrate_kbps, "segment": segment::ENCODED_VERSION,
            "decoded": segment::DECODED_VERSION })
}

fn get<'a>(arrays: &'a [(String, NpyArray)], key: &str) -> Option<&'a NpyArray> {
    arrays.iter().find(|(k, _)| k == key).map(|(_, a)| a)
}

fn f32s(id: &str, file: &str, arrays: &[(String, NpyArray)], key: &str) -> Result<Vec<f32>, BuildError> {
    get(arrays, key)
        .and_then(NpyArray::to_f32_vec)
        .ok_or_else(|| BuildError::failed(id, format!("{file} has no numeric `{key}`")))
}

/// Features → latent trajectory (DOMAIN §B) → `latents.npz` with the seed's keys.
pub fn compute_latents(
    db: &dyn Db,
    decl: &ArtifactDecl,
    settings: &VideoSettings,
    track: &TrackSpec,
) -> Result<Vec<u8>, BuildError> {
    let id = decl.id.as_str();
    let c = &track.video.controller;
    let features = query::artifact_bytes(db, &decl.deps[0])?;
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

    let (meta_bytes, _) = segment::file_bytes(db, id, &c.meta)?;
    let model_meta: Value = serde_json::from_slice(&meta_bytes)
        .map_err(|e| BuildError::failed(id, format!("{}: not valid JSON: {e}", c.meta)))?;
    let anchor_seed = model_meta["anchor_sets"][&c.anchor_set]["seed"].as_u64().unwrap_or(0);

    let (anchor_bytes, _) = segment::file_bytes(db, id, &c.anchors)?;
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
            let (bytes, _) = segment::file_bytes(db, id, file)?;
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
    let params = ControllerParams {
        preset: strength_preset(track),
        smoothing_alpha: c.smoothing_alpha,
        wander_seed: c.wander_seed,
        anchor_seed,
        track_seed: (track.seed != 0).then_some(track.seed),
        tempo_sync: c.tempo_sync,
        subdivision: c.subdivision_s,
    };
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

/// A track's audio at 48 kHz, interleaved, mono or stereo (more channels are mixed to stereo).
fn track_audio(db: &dyn Db, id: &str, audio: &AudioRef) -> Result<(Vec<f32>, u16), BuildError> {
    let (path, name, _) = query::audio_path(db, id, audio)?;
    let bytes = std::fs::read(&path).map_err(|e| BuildError::io(id, &format!("reading {name}"), e))?;
    let (channels, rate) = match crate::media::wav::decode(&bytes) {
        Ok(w) if !w.channels.is_empty() => {
            let chans = if w.channels.len() <= 2 {
                w.channels
            } else {
                let n = w.channels[0].len();
                let half = w.channels.len() / 2;
                let mix = |chs: &[Vec<f32>]| {
                    (0..n).map(|i| chs.iter().map(|c| c[i]).sum::<f32>() / chs.len() as f32).collect()
                };
                vec![mix(&w.channels[..half]), mix(&w.channels[half..])]
            };
            (chans, w.sample_rate_hz)
        }
        _ => {
            let d =
                crate::media::decode::decode_bytes(&bytes, &name).map_err(|e| BuildError::failed(id, e.to_string()))?;
            (vec![d.samples_mono], d.sample_rate_hz)
        }
    };
    let resampled = channels
        .into_iter()
        .map(|c| crate::dsp::resample::resample_vec(c, rate, VIDEO_AUDIO_RATE_HZ))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| BuildError::failed(id, format!("{name}: resampling: {e}")))?;
    let ch = resampled.len();
    let n = resampled[0].len();
    let mut out = Vec::with_capacity(n * ch);
    for i in 0..n {
        for c in &resampled {
            out.push(c.get(i).copied().unwrap_or(0.0));
        }
    }
    Ok((out, ch as u16))
}

/// Samples per channel covering `frames` video frames exactly (rounded up).
fn samples_for(frames: usize, fps: u32) -> usize {
    (frames as u64 * u64::from(VIDEO_AUDIO_RATE_HZ)).div_ceil(u64::from(fps)) as usize
}

fn mux(
    id: &str,
    settings: &VideoSettings,
    units: &[Vec<u8>],
    pcm: &[f32],
    channels: u16,
    bitrate_kbps: u32,
) -> Result<Vec<u8>, BuildError> {
    use crate::media::{mp4, opus};
    let audio =
        opus::encode_opus(pcm, channels, bitrate_kbps * 1000).map_err(|e| BuildError::failed(id, e.to_string()))?;
    let stream = mp4::VideoStream {
        width: settings.width,
        height: settings.height,
        fps: settings.fps,
        frames: units.iter().map(Vec::as_slice).collect(),
    };
    mp4::mux_mp4(&stream, Some(&audio)).map_err(|e| BuildError::failed(id, e.to_string()))
}

/// `video.mp4`: the track's encoded segments in order, with its audio as Opus, fast start.
pub fn compute_video(
    db: &dyn Db,
    decl: &ArtifactDecl,
    settings: &VideoSettings,
    track: &TrackSpec,
) -> Result<Vec<u8>, BuildError> {
    let enc = segment::encoded_track(db, &decl.id, &decl.id)?;
    let (mut pcm, ch) = track_audio(db, &decl.id, &track.audio)?;
    pcm.resize(samples_for(enc.access_units.len(), settings.fps) * usize::from(ch), 0.0);
    mux(&decl.id, settings, &enc.access_units, &pcm, ch, track.video.encode.audio_bitrate_kbps)
}

/// `album.mp4`: every track's frames in order; each track's audio fills exactly its frames.
pub fn compute_album_video(
    db: &dyn Db,
    decl: &ArtifactDecl,
    settings: &VideoSettings,
    videos: &[String],
) -> Result<Vec<u8>, BuildError> {
    let mut units = Vec::new();
    let mut tracks_pcm = Vec::new();
    let mut bitrate = 0;
    for video in videos {
        let tv = segment::track_video(db, video)?;
        let enc = segment::encoded_track(db, &decl.id, video)?;
        let (pcm, ch) = track_audio(db, &decl.id, &tv.track.audio)?;
        bitrate = bitrate.max(tv.track.video.encode.audio_bitrate_kbps);
        tracks_pcm.push((pcm, ch, units.len(), enc.access_units.len()));
        units.extend(enc.access_units);
    }
    let channels = tracks_pcm.iter().map(|t| t.1).max().unwrap_or(1);
    let mut pcm = Vec::with_capacity(samples_for(units.len(), settings.fps) * usize::from(channels));
    for (track, ch, first, frames) in tracks_pcm {
        // Cumulative frame boundaries, so rounding never drifts across tracks.
        let want = samples_for(first + frames, settings.fps) - samples_for(first, settings.fps);
        let per = usize::from(ch);
        for i in 0..want {
            for c in 0..usize::from(channels) {
                let v = track.get(i * per + c.min(per - 1)).copied().unwrap_or(0.0);
                pcm.push(v);
            }
        }
    }
    mux(&decl.id, settings, &units, &pcm, channels, bitrate)
}

pub fn preview_params(kind: PreviewKind) -> Value {
    json!({ "kind": kind.file(), "every": PREVIEW_EVERY, "gif_frames": GIF_FRAMES, "sheet_frames": SHEET_FRAMES })
}

/// Previews from the kept frames (every 90th): the middle one, a GIF of the first ≤ 24 at
/// 0.08 s each, or a contact sheet.
pub fn compute_preview(
    db: &dyn Db,
    decl: &ArtifactDecl,
    kind: PreviewKind,
    video: &str,
) -> Result<Vec<u8>, BuildError> {
    use crate::media::image;
    let id = decl.id.as_str();
    let tv = segment::track_video(db, video)?;
    let enc = segment::encoded_track(db, id, video)?;
    let (w, h) = (tv.settings.width, tv.settings.height);
    let frames: Vec<&[u8]> = enc.previews.iter().map(|(_, f)| f.as_slice()).collect();
    if frames.is_empty() {
        return Err(BuildError::failed(id, "the video has no frames"));
    }
    let err = |e: crate::media::VideoError| BuildError::failed(id, e.to_string());
    match kind {
        PreviewKind::Still => image::encode_png_rgb8(w, h, frames[frames.len() / 2]).map_err(err),
        PreviewKind::Gif => {
            let n = frames.len().min(GIF_FRAMES);
            // GIFs are previews: at most 256 px wide.
            let (gw, gh, small) = shrink(w, h, &frames[..n], 256);
            let refs: Vec<&[u8]> = small.iter().map(Vec::as_slice).collect();
            image::encode_gif(gw, gh, &refs, 8).map_err(err)
        }
        PreviewKind::Sheet => {
            let n = frames.len().min(SHEET_FRAMES);
            let (sw, sh, px) = image::contact_sheet(w, h, &frames[..n], 6, 160);
            image::encode_png_rgb8(sw, sh, &px).map_err(err)
        }
    }
}

/// Downscale RGB8 frames by an integer box filter so the width is at most `max_w`.
fn shrink(w: u32, h: u32, frames: &[&[u8]], max_w: u32) -> (u32, u32, Vec<Vec<u8>>) {
    let f = w.div_ceil(max_w).max(1) as usize;
    let (ow, oh) = (w as usize / f, h as usize / f);
    let out = frames
        .iter()
        .map(|px| {
            let mut o = vec![0u8; ow * oh * 3];
            for y in 0..oh {
                for x in 0..ow {
                    for c in 0..3 {
                        let mut sum = 0u32;
                        for dy in 0..f {
                            for dx in 0..f {
                                sum += u32::from(px[((y * f + dy) * w as usize + x * f + dx) * 3 + c]);
                            }
                        }
                        o[(y * ow + x) * 3 + c] = ((sum + (f * f / 2) as u32) / (f * f) as u32) as u8;
                    }
                }
            }
            o
        })
        .collect();
    (ow as u32, oh as u32, out)
}

/// The decoder provider and precision a track's frames were made with (from its first decoded
/// segment), for `run.json`.
pub fn decoder_info(db: &dyn Db, video: &str) -> Option<(String, String)> {
    let built = segment::decoded_segment(db, segment::SegmentName::new(db, video.to_string(), 0)).ok()?;
    let bytes = segment::segment_bytes(db, video, "decoded", 0, built.digest).ok()?;
    let arrays = npz::read_npz(&bytes, video).ok()?;
    let meta: Value = serde_json::from_str(get(&arrays, "metadata")?.as_str()?).ok()?;
    Some((meta["provider"].as_str()?.to_string(), meta["precision"].as_str()?.to_string()))
}
