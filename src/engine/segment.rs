//! Video segments, the sub-artifacts of a track's video: `decoded/NNNN` (decoder output for one
//! slice of latents, keyed by the slice's content) and `encoded/NNNN` (postFX + H.264 for those
//! frames, starting with an IDR frame). They are salsa queries with their own action keys, so an
//! edit re-decodes only the segments whose latents changed and a postFX edit decodes nothing.
//! How many a track has depends on its latents, so they are discovered while building, not
//! declared up front; they are reported like artifacts but never materialized.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use rayon::prelude::*;
use serde_json::json;

use super::db::{Db, Exec};
use super::query::{self, ActionDesc, ArtifactName, BuildError, Built};
use super::render::{ArtifactEvent, Status};
use super::targets::Recipe;
use crate::controller::LATENT_LEN;
use crate::decoder::{Backend, Decoder, DecoderOptions};
use crate::media::npz::{self, NpyArray, NpyData, NpyView, NpzCompression};
use crate::postfx::{self, Frame, PostFxParams, ToneCurve, TrailState};
use crate::project::album::TrackSpec;
use crate::project::video::VideoSettings;
use crate::store::{BlobError, Digest};

/// Bump when what a decoded segment computes or reads changes.
pub const DECODED_VERSION: u32 = 1;
/// Bump when what an encoded segment computes or reads changes.
pub const ENCODED_VERSION: u32 = 1;
/// Frames kept for previews: every 90th (DOMAIN §C).
pub const PREVIEW_EVERY: usize = 90;

/// One segment of one track video (`video` is the track's `…/video.mp4` artifact id).
#[salsa::interned]
pub struct SegmentName<'db> {
    #[returns(ref)]
    pub video: String,
    pub index: u32,
}

/// What a track's segments are made from.
pub struct TrackVideo {
    pub settings: VideoSettings,
    pub track: Arc<TrackSpec>,
    pub latents_id: String,
}

pub fn track_video(db: &dyn Db, video: &str) -> Result<TrackVideo, BuildError> {
    match query::decl(db, ArtifactName::new(db, video.to_string())) {
        Some(d) => match d.recipe {
            Recipe::TrackVideo { settings, track } => Ok(TrackVideo { settings, track, latents_id: d.deps[0].clone() }),
            _ => Err(BuildError::Unknown { id: video.to_string() }),
        },
        None => Err(BuildError::Unknown { id: video.to_string() }),
    }
}

/// A track's latents, parsed once per process.
pub struct LatentsData {
    /// N×2048.
    pub latents: Vec<f32>,
    pub frames: usize,
}

fn latents_data(db: &dyn Db, latents_id: &str) -> Result<Arc<LatentsData>, BuildError> {
    let digest = query::artifact_digest(db, ArtifactName::new(db, latents_id.to_string()))?;
    db.env().memo("latents", digest, || {
        let bytes = query::artifact_bytes(db, latents_id)?;
        let arrays = npz::read_npz(&bytes, "latents.npz").map_err(|e| BuildError::failed(latents_id, e.to_string()))?;
        let latents = arrays
            .into_iter()
            .find(|(k, _)| k == "latents")
            .and_then(|(_, a)| a.to_f32_vec())
            .ok_or_else(|| BuildError::failed(latents_id, "latents.npz has no `latents` array"))?;
        Ok(LatentsData { frames: latents.len() / LATENT_LEN, latents })
    })
}

/// Segments of a track: `ceil(frames / segment_frames)`.
pub fn segment_count(db: &dyn Db, video: &str) -> Result<u32, BuildError> {
    let tv = track_video(db, video)?;
    let data = latents_data(db, &tv.latents_id)?;
    Ok(data.frames.div_ceil(tv.settings.segment_frames as usize) as u32)
}

fn segment_id(video: &str, what: &str, index: u32) -> String {
    format!("{}/{what}/{index:04}", video.trim_end_matches("/video.mp4"))
}

/// Frame range `[start, end)` of segment `index`.
fn frame_range(settings: &VideoSettings, frames: usize, index: u32) -> (usize, usize) {
    let start = index as usize * settings.segment_frames as usize;
    (start.min(frames), (start + settings.segment_frames as usize).min(frames))
}

/// The decoder backend a spec selects on this machine: `auto` means ONNX Runtime when a library
/// is configured (`[project] onnxruntime` or `ORT_DYLIB_PATH`), else the built-in tract backend.
pub fn resolve_backend(spec: &crate::project::video::DecoderSpec, root: &std::path::Path) -> Backend {
    let library = spec.library.as_ref().map(|l| root.join(l));
    let ort_configured = library.is_some() || std::env::var_os("ORT_DYLIB_PATH").is_some();
    match spec.backend.as_str() {
        "tract" => Backend::Tract,
        "onnxruntime" => Backend::OnnxRuntime { library },
        _ if ort_configured => Backend::OnnxRuntime { library },
        _ => Backend::Tract,
    }
}

fn backend_name(b: &Backend) -> &'static str {
    match b {
        Backend::Tract => "tract",
        Backend::OnnxRuntime { .. } => "onnxruntime",
    }
}

fn file_digest(db: &dyn Db, id: &str, file: &str) -> Result<Digest, BuildError> {
    match db.inputs().files(db).get(file).and_then(|f| f.digest(db)) {
        Some(d) => Ok(d),
        None => {
            let _ = db.inputs().retry_epoch(db);
            Err(BuildError::Failed {
                id: id.to_string(),
                message: format!("{file}: the input file is missing or unreadable"),
                transient: true,
            })
        }
    }
}

/// Bytes of a project input file, checked against the digest the build keyed on.
pub fn file_bytes(db: &dyn Db, id: &str, file: &str) -> Result<(Vec<u8>, Digest), BuildError> {
    let digest = file_digest(db, id, file)?;
    let bytes =
        std::fs::read(db.env().root.join(file)).map_err(|e| BuildError::io(id, &format!("reading {file}"), e))?;
    if Digest::of(&bytes) != digest {
        return Err(BuildError::Failed {
            id: id.to_string(),
            message: format!("{file} changed while building; run again"),
            transient: true,
        });
    }
    Ok((bytes, digest))
}

fn emit(db: &dyn Db, id: &str, result: &Result<Built, BuildError>, t: Instant) {
    let env = db.env();
    let (status, digest, key, error) = match result {
        Ok(b) => (if env.was_computed(id) { Status::Built } else { Status::Fresh }, Some(b.digest), Some(b.key), None),
        Err(BuildError::NeedsBuild { .. }) => return,
        Err(e) => (Status::Failed, None, None, Some(e.to_string())),
    };
    env.emit(ArtifactEvent {
        id: id.to_string(),
        status,
        digest,
        key,
        ms: t.elapsed().as_millis() as u64,
        error,
        output: None,
        warnings: env.take_warnings(id),
    });
}

/// The decoder output for one segment: `frames` uint8 (n,3,H,W), `clip(x·0.5+0.5)` quantised.
#[salsa::tracked(returns(clone))]
pub fn decoded_segment<'db>(db: &'db dyn Db, name: SegmentName<'db>) -> Result<Built, BuildError> {
    let t = Instant::now();
    let id = segment_id(name.video(db), "decoded", *name.index(db));
    db.env().log(Exec::Executed(id.clone()));
    let result = decoded(db, &id, name.video(db), *name.index(db));
    emit(db, &id, &result, t);
    result
}

fn decoded_desc(
    db: &dyn Db,
    id: &str,
    video: &str,
    index: u32,
) -> Result<(ActionDesc, Arc<LatentsData>, TrackVideo), BuildError> {
    let tv = track_video(db, video)?;
    let data = latents_data(db, &tv.latents_id)?;
    let (start, end) = frame_range(&tv.settings, data.frames, index);
    if start >= end {
        return Err(BuildError::Unknown { id: id.to_string() });
    }
    let slice = &data.latents[start * LATENT_LEN..end * LATENT_LEN];
    let bytes: Vec<u8> = slice.iter().flat_map(|v| v.to_le_bytes()).collect();
    let spec = &tv.track.video.decoder;
    let model = file_digest(db, id, &spec.model)?;
    let backend = resolve_backend(spec, &db.env().root);
    let desc = ActionDesc {
        query: "decoded_segment",
        version: DECODED_VERSION,
        inputs: BTreeMap::from([("latents_slice".to_string(), Digest::of(&bytes)), ("model".to_string(), model)]),
        params: json!({ "frames": end - start, "backend": backend_name(&backend), "cuda": spec.cuda,
                        "batch_size": spec.batch_size }),
    };
    Ok((desc, data, tv))
}

fn decoded(db: &dyn Db, id: &str, video: &str, index: u32) -> Result<Built, BuildError> {
    let (desc, data, tv) = decoded_desc(db, id, video, index)?;
    query::run_action(db, id, &desc, || compute_decoded(db, id, &data, &tv, index))
}

fn compute_decoded(
    db: &dyn Db,
    id: &str,
    data: &LatentsData,
    tv: &TrackVideo,
    index: u32,
) -> Result<Vec<u8>, BuildError> {
    let (start, end) = frame_range(&tv.settings, data.frames, index);
    let decoder = load_decoder(db, id, tv)?;
    let n = end - start;
    let out = decoder
        .decode(&data.latents[start * LATENT_LEN..end * LATENT_LEN], n)
        .map_err(|e| BuildError::failed(id, format!("{}: {e}", tv.track.video.decoder.model)))?;
    let info = decoder.info();
    let pixels: Vec<u8> = out.iter().map(|&x| (postfx::decoder_to_unit(x) * 255.0 + 0.5).floor() as u8).collect();
    let shape = [n, 3, info.height, info.width];
    let metadata = json!({ "provider": info.provider, "precision": info.precision, "first_frame": start,
                           "frames": n, "width": info.width, "height": info.height })
    .to_string();
    npz::write_npz(
        &[("frames", NpyView::U8 { shape: &shape, data: &pixels }), ("metadata", NpyView::Str(&metadata))],
        NpzCompression::DeflatedFast,
    )
    .map_err(|e| BuildError::failed(id, e.to_string()))
}

/// The decoder for a track, loaded once per worker thread per (model, options): a decoder runs
/// one batch at a time, so each segment worker has its own.
fn load_decoder(db: &dyn Db, id: &str, tv: &TrackVideo) -> Result<Arc<Decoder>, BuildError> {
    let spec = &tv.track.video.decoder;
    let (model, digest) = file_bytes(db, id, &spec.model)?;
    let backend = resolve_backend(spec, &db.env().root);
    let opts = DecoderOptions { backend, cuda: spec.cuda, batch_size: spec.batch_size as usize };
    let memo_key = Digest::of_json(&json!({ "model": digest, "backend": format!("{:?}", opts.backend),
                                             "cuda": opts.cuda, "batch": opts.batch_size,
                                             "thread": format!("{:?}", std::thread::current().id()) }));
    db.env().memo("decoder", memo_key, || {
        let (decoder, warnings) =
            Decoder::load(&model, &opts).map_err(|e| BuildError::failed(id, format!("{}: {e}", spec.model)))?;
        warnings.into_iter().for_each(|w| db.env().warn(id, w));
        Ok(decoder)
    })
}

/// Post-processed, H.264-encoded frames of one segment, plus the frames kept for previews and,
/// with motion trails, the trail state carried into the next segment.
#[salsa::tracked(returns(clone))]
pub fn encoded_segment<'db>(db: &'db dyn Db, name: SegmentName<'db>) -> Result<Built, BuildError> {
    let t = Instant::now();
    let id = segment_id(name.video(db), "encoded", *name.index(db));
    db.env().log(Exec::Executed(id.clone()));
    let result = encoded(db, &id, name.video(db), *name.index(db));
    emit(db, &id, &result, t);
    result
}

pub fn postfx_params(spec: &crate::project::video::PostFxSpec) -> PostFxParams {
    PostFxParams {
        tone_curve: ToneCurve::from_name(&spec.tone_curve).unwrap_or(ToneCurve::Filmlog),
        grain_intensity: spec.grain_intensity,
        chroma_shift: spec.chroma_shift,
        vignette_strength: spec.vignette_strength,
        motion_trails: spec.motion_trails,
    }
}

/// Grain seed: wander_seed XOR the track's seed (DOMAIN §C).
pub fn grain_seed(track: &TrackSpec) -> u64 {
    track.video.controller.wander_seed ^ track.seed
}

fn encoded(db: &dyn Db, id: &str, video: &str, index: u32) -> Result<Built, BuildError> {
    let tv = track_video(db, video)?;
    let decoded = decoded_segment(db, SegmentName::new(db, video.to_string(), index))?;
    let trails = tv.track.video.postfx.motion_trails;
    let previous = if trails && index > 0 {
        Some(encoded_segment(db, SegmentName::new(db, video.to_string(), index - 1))?)
    } else {
        None
    };
    let data = latents_data(db, &tv.latents_id)?;
    let (start, end) = frame_range(&tv.settings, data.frames, index);
    let p = &tv.track.video.postfx;
    let mut inputs = BTreeMap::from([("decoded".to_string(), decoded.digest)]);
    if let Some(prev) = previous {
        inputs.insert("trail_in".to_string(), prev.digest);
    }
    let desc = ActionDesc {
        query: "encoded_segment",
        version: ENCODED_VERSION,
        inputs,
        params: json!({
            "first_frame": start, "frames": end - start, "fps": tv.settings.fps,
            "width": tv.settings.width, "height": tv.settings.height,
            "postfx": { "tone_curve": p.tone_curve, "grain_intensity": p.grain_intensity, "chroma_shift": p.chroma_shift,
                        "vignette_strength": p.vignette_strength, "motion_trails": p.motion_trails },
            "grain_seed": grain_seed(&tv.track), "qp": tv.track.video.encode.qp, "preview_every": PREVIEW_EVERY,
        }),
    };
    query::run_action(db, id, &desc, || {
        let decoded_bytes = segment_bytes(db, video, "decoded", index, decoded.digest)?;
        let trail_in = match previous {
            Some(prev) => {
                let bytes = segment_bytes(db, video, "encoded", index - 1, prev.digest)?;
                read_member(id, &bytes, "trail_state")?
            }
            None => None,
        };
        compute_encoded(id, &tv, start, &decoded_bytes, trail_in)
    })
}

/// A member of an npz blob (None when absent).
fn read_member(id: &str, bytes: &[u8], key: &str) -> Result<Option<NpyArray>, BuildError> {
    let arrays = npz::read_npz(bytes, id).map_err(|e| BuildError::failed(id, e.to_string()))?;
    Ok(arrays.into_iter().find(|(k, _)| k == key).map(|(_, a)| a))
}

/// RGB8 frames and the trail state they leave (with trails on).
type PostFxOutput = (Vec<Vec<u8>>, Option<Vec<f32>>);

/// Post-processed RGB8 frames of one segment (and the trail state it leaves, with trails on).
fn postfx_frames(
    id: &str,
    tv: &TrackVideo,
    first_frame: usize,
    decoded: &[u8],
    trail_in: Option<NpyArray>,
) -> Result<PostFxOutput, BuildError> {
    let frames =
        read_member(id, decoded, "frames")?.ok_or_else(|| BuildError::failed(id, "decoded segment has no frames"))?;
    let (NpyData::U8(pixels), [n, 3, h, w]) = (&frames.data, frames.shape.as_slice()) else {
        return Err(BuildError::failed(
            id,
            format!("decoded frames have shape {:?}, expected (n,3,H,W) uint8", frames.shape),
        ));
    };
    let (n, h, w) = (*n, *h, *w);
    let (out_w, out_h) = (tv.settings.width as usize, tv.settings.height as usize);
    let params = postfx_params(&tv.track.video.postfx);
    let seed = grain_seed(&tv.track);
    let frame_len = 3 * h * w;
    let unit = |i: usize| {
        let data = pixels[i * frame_len..(i + 1) * frame_len].iter().map(|&v| f32::from(v) / 255.0).collect();
        Frame { width: w, height: h, data }
    };
    if !params.motion_trails {
        let rgb = (0..n)
            .into_par_iter()
            .map(|i| {
                postfx::to_rgb8(&postfx::apply(unit(i), &params, None, seed, (first_frame + i) as u64, out_w, out_h))
            })
            .collect();
        return Ok((rgb, None));
    }
    let mut state = TrailState::new();
    if let Some(prev) = trail_in.and_then(|a| a.to_f32_vec()) {
        state = TrailState::from_state(Frame { width: out_w, height: out_h, data: prev });
    }
    let mut rgb = Vec::with_capacity(n);
    for i in 0..n {
        let f = postfx::apply(unit(i), &params, Some(&mut state), seed, (first_frame + i) as u64, out_w, out_h);
        rgb.push(postfx::to_rgb8(&f));
    }
    Ok((rgb, state.state().map(|f| f.data.clone())))
}

fn compute_encoded(
    id: &str,
    tv: &TrackVideo,
    first_frame: usize,
    decoded: &[u8],
    trail_in: Option<NpyArray>,
) -> Result<Vec<u8>, BuildError> {
    let (out_w, out_h) = (tv.settings.width as usize, tv.settings.height as usize);
    let (rgb, trail_out) = postfx_frames(id, tv, first_frame, decoded, trail_in)?;
    let n = rgb.len();
    let refs: Vec<&[u8]> = rgb.iter().map(Vec::as_slice).collect();
    let h264 = crate::media::h264::H264Params { qp: tv.track.video.encode.qp };
    let units = crate::media::h264::encode_segment(&refs, out_w as u32, out_h as u32, tv.settings.fps, &h264)
        .map_err(|e| BuildError::failed(id, e.to_string()))?;
    let sizes: Vec<i64> = units.iter().map(|u| u.len() as i64).collect();
    let stream: Vec<u8> = units.concat();
    let kept: Vec<usize> = (0..n).filter(|i| (first_frame + i).is_multiple_of(PREVIEW_EVERY)).collect();
    let preview_index: Vec<i64> = kept.iter().map(|&i| (first_frame + i) as i64).collect();
    let preview: Vec<u8> = kept.iter().flat_map(|&i| rgb[i].iter().copied()).collect();
    let (one, sizes_shape, idx_shape, prev_shape) =
        ([stream.len()], [sizes.len()], [kept.len()], [kept.len(), out_h, out_w, 3]);
    let trail_shape = [3, out_h, out_w];
    let mut entries = vec![
        ("h264", NpyView::U8 { shape: &one, data: &stream }),
        ("au_sizes", NpyView::I64 { shape: &sizes_shape, data: &sizes }),
        ("preview_index", NpyView::I64 { shape: &idx_shape, data: &preview_index }),
        ("preview_frames", NpyView::U8 { shape: &prev_shape, data: &preview }),
    ];
    if let Some(state) = &trail_out {
        entries.push(("trail_state", NpyView::F32 { shape: &trail_shape, data: state }));
    }
    npz::write_npz(&entries, NpzCompression::Stored).map_err(|e| BuildError::failed(id, e.to_string()))
}

/// Write a built track's post-processed frames as `dir/000000.png`… (`--keep-frames`).
/// Returns how many were written.
pub fn export_frames(db: &dyn Db, video: &str, dir: &std::path::Path) -> Result<usize, BuildError> {
    let tv = track_video(db, video)?;
    let segments = all_encoded(db, video)?;
    std::fs::create_dir_all(dir).map_err(|e| BuildError::io(video, &format!("creating {}", dir.display()), e))?;
    let mut written = 0;
    let mut trail_in = None;
    for (k, enc) in segments.iter().enumerate() {
        let k = k as u32;
        let d = decoded_segment(db, SegmentName::new(db, video.to_string(), k))?;
        let decoded = segment_bytes(db, video, "decoded", k, d.digest)?;
        let first = k as usize * tv.settings.segment_frames as usize;
        let (rgb, _) = postfx_frames(video, &tv, first, &decoded, trail_in.take())?;
        for (i, px) in rgb.iter().enumerate() {
            let png = crate::media::image::encode_png_rgb8(tv.settings.width, tv.settings.height, px)
                .map_err(|e| BuildError::failed(video, e.to_string()))?;
            let path = dir.join(format!("{:06}.png", first + i));
            crate::store::fsutil::replace_file(&path, &png)
                .map_err(|e| BuildError::io(video, &format!("writing {}", path.display()), e))?;
            written += 1;
        }
        if tv.track.video.postfx.motion_trails {
            trail_in = read_member(video, &segment_bytes(db, video, "encoded", k, enc.digest)?, "trail_state")?;
        }
    }
    Ok(written)
}

/// The bytes of a segment blob; a lost or corrupt one is recomputed and must match.
pub fn segment_bytes(db: &dyn Db, video: &str, what: &str, index: u32, digest: Digest) -> Result<Vec<u8>, BuildError> {
    let store = &db.env().store;
    let id = segment_id(video, what, index);
    match store.read(&digest) {
        Ok(bytes) => Ok(bytes),
        Err(BlobError::Missing(_) | BlobError::Corrupt(..)) => {
            let bytes = match what {
                "decoded" => {
                    let (_, data, tv) = decoded_desc(db, &id, video, index)?;
                    compute_decoded(db, &id, &data, &tv, index)?
                }
                _ => {
                    let tv = track_video(db, video)?;
                    let data = latents_data(db, &tv.latents_id)?;
                    let (start, _) = frame_range(&tv.settings, data.frames, index);
                    let d = decoded_segment(db, SegmentName::new(db, video.to_string(), index))?;
                    let decoded = segment_bytes(db, video, "decoded", index, d.digest)?;
                    let trail_in = if tv.track.video.postfx.motion_trails && index > 0 {
                        let p = encoded_segment(db, SegmentName::new(db, video.to_string(), index - 1))?;
                        read_member(&id, &segment_bytes(db, video, "encoded", index - 1, p.digest)?, "trail_state")?
                    } else {
                        None
                    };
                    compute_encoded(&id, &tv, start, &decoded, trail_in)?
                }
            };
            let again = store.put(&bytes).map_err(|e| BuildError::io(&id, "writing to the store", e))?;
            if again != digest {
                return Err(BuildError::failed(&id, "recomputing a lost blob gave different bytes: not deterministic"));
            }
            db.env().log(Exec::Computed(id));
            Ok(bytes)
        }
        Err(e) => Err(BuildError::io(&id, "reading from the store", e)),
    }
}

/// Every encoded segment of a track, in order. Segments are built on worker threads, each with
/// its own database handle (plain threads, not rayon's: a rayon worker waiting inside one
/// segment could otherwise pick up a query it is itself computing); then read here in order so
/// this query records its dependencies.
pub fn all_encoded(db: &dyn Db, video: &str) -> Result<Vec<Built>, BuildError> {
    let count = segment_count(db, video)?;
    let trails = track_video(db, video)?.track.video.postfx.motion_trails;
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).min(count as usize).max(1);
    let base = std::sync::Mutex::new(db.fork());
    for pass in ["decoded", "encoded"] {
        if pass == "encoded" && trails {
            break; // each segment needs the one before: built in order below
        }
        let next = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..workers {
                let fork = base.lock().unwrap_or_else(|p| p.into_inner()).clone();
                let next = &next;
                s.spawn(move || {
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed) as u32;
                        if k >= count {
                            break;
                        }
                        let name = SegmentName::new(&fork, video.to_string(), k);
                        let _ =
                            if pass == "decoded" { decoded_segment(&fork, name) } else { encoded_segment(&fork, name) };
                    }
                });
            }
        });
    }
    drop(base);
    (0..count).map(|k| encoded_segment(db, SegmentName::new(db, video.to_string(), k))).collect()
}

/// The H.264 access units and the preview frames of a track, from its encoded segments.
pub struct EncodedTrack {
    pub access_units: Vec<Vec<u8>>,
    /// (frame index, RGB8 frame) every `PREVIEW_EVERY` frames.
    pub previews: Vec<(usize, Vec<u8>)>,
}

pub fn encoded_track(db: &dyn Db, id: &str, video: &str) -> Result<EncodedTrack, BuildError> {
    let segments = all_encoded(db, video)?;
    let mut out = EncodedTrack { access_units: Vec::new(), previews: Vec::new() };
    for (k, built) in segments.iter().enumerate() {
        let bytes = segment_bytes(db, video, "encoded", k as u32, built.digest)?;
        let arrays = npz::read_npz(&bytes, id).map_err(|e| BuildError::failed(id, e.to_string()))?;
        let get = |key: &str| arrays.iter().find(|(k, _)| k == key).map(|(_, a)| a);
        let (Some(NpyData::U8(stream)), Some(NpyData::I64(sizes))) =
            (get("h264").map(|a| &a.data), get("au_sizes").map(|a| &a.data))
        else {
            return Err(BuildError::failed(id, format!("segment {k} lacks its H.264 data")));
        };
        let mut at = 0usize;
        for &size in sizes {
            let end = at + size.max(0) as usize;
            let unit =
                stream.get(at..end).ok_or_else(|| BuildError::failed(id, format!("segment {k}: bad unit sizes")))?;
            out.access_units.push(unit.to_vec());
            at = end;
        }
        if let (Some(NpyData::I64(index)), Some(frames)) =
            (get("preview_index").map(|a| &a.data), get("preview_frames"))
            && let NpyData::U8(px) = &frames.data
        {
            let len = if index.is_empty() { 0 } else { px.len() / index.len() };
            for (j, &i) in index.iter().enumerate() {
                out.previews.push((i as usize, px[j * len..(j + 1) * len].to_vec()));
            }
        }
    }
    Ok(out)
}
