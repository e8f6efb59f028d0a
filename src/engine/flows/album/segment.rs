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
use serde::Serialize;
use serde_json::json;

use super::video::{DecoderKey, TrackVideo};
use crate::controller::LATENT_LEN;
use crate::decoder::{Backend, Decoder, DecoderOptions};
use crate::engine::action::{Action, Cx};
use crate::engine::db::{Db, Exec};
use crate::engine::error::{BuildError, Built};
use crate::engine::event::{ArtifactEvent, Status};
use crate::engine::progress::{Part, Report, WorkStart};
use crate::engine::query;
use crate::media::npz::{self, NpyArray, NpyData, NpyView, NpzCompression};
use crate::postfx::{self, Frame, PostFxParams, PostFxTracks, ToneCurve, TrailState};
use crate::project::album::TrackSpec;
use crate::project::video::{PostFxSpec, VideoSettings};
use crate::store::{BlobError, Digest};

/// Frames kept for the still and the contact sheet: every 90th (DOMAIN §C).
pub const PREVIEW_EVERY: usize = 90;
/// Frames per second of `preview.gif`.
pub const GIF_FPS: u32 = 5;
/// Seconds `preview.gif` shows: the track's first, at [`GIF_FPS`].
pub const GIF_SECONDS: u32 = 4;

/// Every how many video frames `preview.gif` takes one, and how many video frames it spans.
pub fn gif_grid(fps: u32) -> (usize, usize) {
    (((fps + GIF_FPS / 2) / GIF_FPS).max(1) as usize, (GIF_SECONDS * fps) as usize)
}

/// Whether frame `i` of a track is kept for a preview: every [`PREVIEW_EVERY`]th, and the
/// frames of `preview.gif`.
pub fn kept_for_preview(i: usize, fps: u32) -> bool {
    let (every, span) = gif_grid(fps);
    i.is_multiple_of(PREVIEW_EVERY) || (i < span && i.is_multiple_of(every))
}

/// One segment of one track video (`video` is the track's `…/video.mp4` artifact id).
#[salsa::interned]
pub struct SegmentName<'db> {
    #[returns(ref)]
    pub video: String,
    pub index: u32,
}

fn track_video(db: &dyn Db, video: &str) -> Result<TrackVideo, BuildError> {
    super::track_video(db, video).ok_or_else(|| BuildError::Unknown { id: video.to_string() })
}

fn latents_id(video: &str) -> String {
    format!("{}/latents.npz", video.trim_end_matches("/video.mp4"))
}

/// A track's latents, parsed once per process.
pub struct LatentsData {
    /// N×2048.
    pub latents: Vec<f32>,
    pub frames: usize,
}

fn latents_data(db: &dyn Db, video: &str) -> Result<Arc<LatentsData>, BuildError> {
    let latents_id = latents_id(video);
    let digest = query::digest_by_id(db, &latents_id)?;
    db.env().memo("latents", digest, || {
        let bytes = query::artifact_bytes(db, &latents_id)?;
        let arrays =
            npz::read_npz(&bytes, "latents.npz").map_err(|e| BuildError::failed(&latents_id, e.to_string()))?;
        let latents = arrays
            .into_iter()
            .find(|(k, _)| k == "latents")
            .and_then(|(_, a)| a.to_f32_vec())
            .ok_or_else(|| BuildError::failed(&latents_id, "latents.npz has no `latents` array"))?;
        Ok(LatentsData { frames: latents.len() / LATENT_LEN, latents })
    })
}

/// Segments of a track: `ceil(frames / segment_frames)`.
pub fn segment_count(db: &dyn Db, video: &str) -> Result<u32, BuildError> {
    let tv = track_video(db, video)?;
    let data = latents_data(db, video)?;
    Ok(data.frames.div_ceil(tv.settings.segment_frames as usize) as u32)
}

/// How many frames the track's video has (one per latent).
pub fn frame_count(db: &dyn Db, video: &str) -> Result<usize, BuildError> {
    Ok(latents_data(db, video)?.frames)
}

fn segment_id(video: &str, what: &str, index: u32) -> String {
    format!("{}/{what}/{index:04}", video.trim_end_matches("/video.mp4"))
}

/// Frame range `[start, end)` of segment `index`.
fn frame_range(settings: &VideoSettings, frames: usize, index: u32) -> (usize, usize) {
    let start = index as usize * settings.segment_frames as usize;
    (start.min(frames), (start + settings.segment_frames as usize).min(frames))
}

/// The decoder backend a spec selects: `tract`, `onnxruntime`, or `auto` = ONNX Runtime when
/// the project names a library (`[project] onnxruntime`), else tract. Chosen by the recipe
/// alone: `ORT_DYLIB_PATH` only says where the library is when ONNX Runtime is chosen.
pub fn resolve_backend(spec: &crate::project::video::DecoderSpec) -> Backend {
    let library = spec.library.as_ref().map(std::path::PathBuf::from);
    match spec.backend.as_str() {
        "tract" => Backend::Tract,
        "onnxruntime" => Backend::OnnxRuntime { library },
        _ if library.is_some() => Backend::OnnxRuntime { library },
        _ => Backend::Tract,
    }
}

pub fn backend_name(b: &Backend) -> &'static str {
    match b {
        Backend::Tract => "tract",
        Backend::OnnxRuntime { .. } => "onnxruntime",
    }
}

/// Report a segment (the `stage` of frames `index` covers: 0 decoded, 1 encoded) to the render.
fn emit(
    db: &dyn Db,
    (video, index, stage): (&str, u32, usize),
    query: &'static str,
    result: &Result<Built, BuildError>,
    t: Instant,
) {
    let env = db.env();
    let id = &segment_id(video, if stage == 0 { "decoded" } else { "encoded" }, index);
    let mut event = match result {
        Ok(b) => {
            let status = if env.was_computed(id) {
                Status::Built
            } else if env.was_downloaded(id) {
                Status::Downloaded
            } else {
                Status::Fresh
            };
            let mut e = ArtifactEvent::new(id, status);
            e.digest = Some(b.digest);
            e.key = Some(b.key);
            e
        }
        Err(BuildError::NeedsBuild { .. }) => return,
        Err(e) => {
            let mut ev = ArtifactEvent::new(id, Status::Failed);
            ev.error = Some(e.to_string());
            ev
        }
    };
    event.query = query;
    event.warnings = env.take_warnings(id);
    if let (Ok(tv), Ok(n)) = (track_video(db, video), frame_count(db, video)) {
        let (first, end) = frame_range(&tv.settings, n, index);
        event.part = Some(Part { of: video.to_string(), stage, frames: (end - first) as u64 });
    }
    env.emit_timed(event, t);
}

/// Decoder output for one segment: `frames` uint8 (n,3,H,W), `clip(x·0.5+0.5)` quantised.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedSegment {
    pub video: String,
    pub index: u32,
    pub frames: usize,
    pub track: Arc<TrackSpec>,
}

#[derive(Serialize)]
struct DecodedKey<'a> {
    frames: usize,
    #[serde(flatten)]
    decoder: DecoderKey<'a>,
}

impl Action for DecodedSegment {
    const QUERY: &'static str = "decoded_segment";
    /// 4: frames stored, not deflated (the same frames; deflate saved a quarter of their size
    /// for a twentieth of a cold album's CPU, writing and reading again).
    const VERSION: u32 = 4;

    fn key(&self) -> impl Serialize + '_ {
        DecodedKey { frames: self.frames, decoder: DecoderKey::of(&self.track) }
    }

    fn compute(&self, cx: &Cx<'_>) -> Result<Vec<u8>, BuildError> {
        let tv = track_video(cx.db, &self.video)?;
        let data = latents_data(cx.db, &self.video)?;
        let (start, end) = frame_range(&tv.settings, data.frames, self.index);
        let decoder = load_decoder(cx, &tv.track)?;
        let n = end - start;
        // In chunks of whole batches, so a `watch` edit cancels a long decode between chunks.
        let batch = (tv.track.video.decoder.batch_size as usize).max(1);
        let chunk = batch * 8usize.div_ceil(batch);
        let info = decoder.info();
        // Each chunk is quantised as it comes, so no float copy of the whole segment is held.
        let mut pixels: Vec<u8> = Vec::with_capacity(n * 3 * info.height * info.width);
        for at in (start..end).step_by(chunk) {
            cx.db.unwind_if_revision_cancelled();
            let to = (at + chunk).min(end);
            let part = decoder
                .decode(&data.latents[at * LATENT_LEN..to * LATENT_LEN], to - at)
                .map_err(|e| cx.fail(format!("{}: {e}", tv.track.video.decoder.model)))?;
            // The argument is at least 0.5, so truncating is the floor (no libm call per sample).
            pixels.extend(part.iter().map(|&x| (postfx::decoder_to_unit(x) * 255.0 + 0.5) as u8));
        }
        let shape = [n, 3, info.height, info.width];
        // Only what the key holds: not the segment's position (an identical slice elsewhere
        // shares this blob).
        let metadata = json!({ "provider": info.provider, "precision": info.precision, "frames": n,
                               "width": info.width, "height": info.height })
        .to_string();
        npz::write_npz(
            &[("frames", NpyView::U8 { shape: &shape, data: &pixels }), ("metadata", NpyView::Str(&metadata))],
            NpzCompression::Stored,
        )
        .map_err(|e| cx.fail(e.to_string()))
    }

    fn heavy(&self) -> bool {
        true
    }
}

/// The decoded segment's action and key inputs (its slice of latents and the model).
fn decoded_action(
    db: &dyn Db,
    id: &str,
    video: &str,
    index: u32,
) -> Result<(DecodedSegment, BTreeMap<String, Digest>), BuildError> {
    let tv = track_video(db, video)?;
    let data = latents_data(db, video)?;
    let (start, end) = frame_range(&tv.settings, data.frames, index);
    if start >= end {
        return Err(BuildError::Unknown { id: id.to_string() });
    }
    let slice = &data.latents[start * LATENT_LEN..end * LATENT_LEN];
    let bytes: Vec<u8> = slice.iter().flat_map(|v| v.to_le_bytes()).collect();
    let model = query::file_digest(db, id, &tv.track.video.decoder.model)?;
    let inputs = BTreeMap::from([("latents_slice".to_string(), Digest::of(&bytes)), ("model".to_string(), model)]);
    Ok((DecodedSegment { video: video.to_string(), index, frames: end - start, track: tv.track }, inputs))
}

#[salsa::tracked(returns(clone))]
pub fn decoded_segment<'db>(db: &'db dyn Db, name: SegmentName<'db>) -> Result<Built, BuildError> {
    let t = Instant::now();
    let (video, index) = (name.video(db), *name.index(db));
    let id = segment_id(video, "decoded", index);
    db.env().log(Exec::Executed(id.clone()));
    let result =
        decoded_action(db, &id, video, index).and_then(|(a, inputs)| query::run_sub_action(db, &id, &a, inputs));
    emit(db, (video, index, 0), DecodedSegment::QUERY, &result, t);
    result
}

/// The decoder for a track, loaded once per worker thread per (model, options): a decoder runs
/// one batch at a time, so each segment worker has its own.
fn load_decoder(cx: &Cx<'_>, track: &TrackSpec) -> Result<Arc<Decoder>, BuildError> {
    let spec = &track.video.decoder;
    let (model, digest) = cx.file_bytes(&spec.model)?;
    let backend = resolve_backend(spec);
    let opts = DecoderOptions { backend, cuda: spec.cuda, batch_size: spec.batch_size as usize };
    let memo_key = Digest::of_json(&json!({ "model": digest, "backend": format!("{:?}", opts.backend),
                                             "cuda": opts.cuda, "batch": opts.batch_size,
                                             "thread": format!("{:?}", std::thread::current().id()) }));
    cx.db.env().memo("decoder", memo_key, || {
        let (decoder, warnings) = Decoder::load(&model, &opts).map_err(|e| cx.fail(format!("{}: {e}", spec.model)))?;
        warnings.into_iter().for_each(|w| cx.warn(w));
        Ok(decoder)
    })
}

pub fn postfx_params(spec: &PostFxSpec) -> PostFxParams {
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

/// Post-processed, H.264-encoded frames of one segment, plus the frames kept for previews and,
/// with motion trails, the trail state carried into the next segment.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedSegment {
    pub video: String,
    pub index: u32,
    pub first_frame: usize,
    pub frames: usize,
    pub settings: VideoSettings,
    pub track: Arc<TrackSpec>,
    /// Input blobs (in the key's inputs): the decoded segment and, with trails, the previous
    /// encoded segment.
    pub decoded: Digest,
    pub trail_in: Option<Digest>,
    /// Per-frame postFX values over this segment's frames, from the track's controls (their
    /// digest is in the key's inputs).
    pub controls: Option<PostFxTracks>,
}

#[derive(Serialize)]
struct EncodedKey<'a> {
    first_frame: usize,
    frames: usize,
    fps: u32,
    width: u32,
    height: u32,
    postfx: &'a PostFxSpec,
    grain_seed: u64,
    qp: u8,
    preview_every: usize,
    /// `preview.gif`'s frames: (every how many frames, over how many).
    gif_grid: (usize, usize),
}

impl Action for EncodedSegment {
    const QUERY: &'static str = "encoded_segment";
    const VERSION: u32 = 2;

    fn key(&self) -> impl Serialize + '_ {
        EncodedKey {
            first_frame: self.first_frame,
            frames: self.frames,
            fps: self.settings.fps,
            width: self.settings.width,
            height: self.settings.height,
            postfx: &self.track.video.postfx,
            grain_seed: grain_seed(&self.track),
            qp: self.track.video.encode.qp,
            preview_every: PREVIEW_EVERY,
            gif_grid: gif_grid(self.settings.fps),
        }
    }

    fn compute(&self, cx: &Cx<'_>) -> Result<Vec<u8>, BuildError> {
        let decoded_bytes = segment_bytes(cx.db, &self.video, "decoded", self.index, self.decoded)?;
        let trail_in = match self.trail_in {
            Some(prev) => {
                let bytes = segment_bytes(cx.db, &self.video, "encoded", self.index - 1, prev)?;
                read_member(cx.id, &bytes, "trail_state")?
            }
            None => None,
        };
        let frames =
            SegmentFrames { first: self.first_frame, decoded: &decoded_bytes, controls: self.controls.as_ref() };
        compute_encoded(cx.id, &self.settings, &self.track, &frames, trail_in)
    }

    fn heavy(&self) -> bool {
        true
    }
}

fn encoded_action(
    db: &dyn Db,
    video: &str,
    index: u32,
) -> Result<(EncodedSegment, BTreeMap<String, Digest>), BuildError> {
    let tv = track_video(db, video)?;
    let decoded = decoded_segment(db, SegmentName::new(db, video.to_string(), index))?;
    let previous = if tv.track.video.postfx.motion_trails && index > 0 {
        Some(encoded_segment(db, SegmentName::new(db, video.to_string(), index - 1))?.digest)
    } else {
        None
    };
    let data = latents_data(db, video)?;
    let (start, end) = frame_range(&tv.settings, data.frames, index);
    let mut inputs = BTreeMap::from([("decoded".to_string(), decoded.digest)]);
    if let Some(prev) = previous {
        inputs.insert("trail_in".to_string(), prev);
    }
    let controls = super::controls::postfx_slice(db, video, &tv.track, start, end)?.map(|(tracks, digest)| {
        inputs.insert("controls".to_string(), digest);
        tracks
    });
    let action = EncodedSegment {
        video: video.to_string(),
        index,
        first_frame: start,
        frames: end - start,
        settings: tv.settings,
        track: tv.track,
        decoded: decoded.digest,
        trail_in: previous,
        controls,
    };
    Ok((action, inputs))
}

#[salsa::tracked(returns(clone))]
pub fn encoded_segment<'db>(db: &'db dyn Db, name: SegmentName<'db>) -> Result<Built, BuildError> {
    let t = Instant::now();
    let (video, index) = (name.video(db), *name.index(db));
    let id = segment_id(video, "encoded", index);
    db.env().log(Exec::Executed(id.clone()));
    let result = encoded_action(db, video, index).and_then(|(a, inputs)| query::run_sub_action(db, &id, &a, inputs));
    emit(db, (video, index, 1), EncodedSegment::QUERY, &result, t);
    result
}

/// The segment a progress-bar id names (`album.demo/opening/decoded/0007`), built in the
/// database's mode; `None` when `id` is not a segment id of a declared track video.
pub fn by_id(
    db: &dyn Db,
    index: &BTreeMap<String, crate::engine::action::ArtifactDecl>,
    id: &str,
) -> Option<Result<Built, BuildError>> {
    let (rest, number) = id.rsplit_once('/')?;
    let (track, what) = rest.rsplit_once('/')?;
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let video = format!("{track}/video.mp4");
    index.get(&video)?;
    let name = SegmentName::new(db, video, number.parse::<u32>().ok()?);
    match what {
        "decoded" => Some(decoded_segment(db, name)),
        "encoded" => Some(encoded_segment(db, name)),
        _ => None,
    }
}

/// A member of an npz blob (None when absent).
fn read_member(id: &str, bytes: &[u8], key: &str) -> Result<Option<NpyArray>, BuildError> {
    npz::read_npz_member(bytes, id, key).map_err(|e| BuildError::failed(id, e.to_string()))
}

/// RGB8 frames and the trail state they leave (with trails on).
type PostFxOutput = (Vec<Vec<u8>>, Option<Vec<f32>>);

/// One segment's decoded frames and where they sit in the track.
struct SegmentFrames<'a> {
    /// The track's index of the segment's first frame.
    first: usize,
    /// The decoded segment's blob.
    decoded: &'a [u8],
    /// Per-frame postFX values from the track's controls, indexed from `first`.
    controls: Option<&'a PostFxTracks>,
}

/// Post-processed RGB8 frames of one segment (and the trail state it leaves, with trails on).
fn postfx_frames(
    id: &str,
    settings: &VideoSettings,
    track: &TrackSpec,
    segment: &SegmentFrames<'_>,
    trail_in: Option<NpyArray>,
) -> Result<PostFxOutput, BuildError> {
    let (first_frame, decoded) = (segment.first, segment.decoded);
    let frames =
        read_member(id, decoded, "frames")?.ok_or_else(|| BuildError::failed(id, "decoded segment has no frames"))?;
    let (NpyData::U8(pixels), [n, 3, h, w]) = (&frames.data, frames.shape.as_slice()) else {
        return Err(BuildError::failed(
            id,
            format!("decoded frames have shape {:?}, expected (n,3,H,W) uint8", frames.shape),
        ));
    };
    let (n, h, w) = (*n, *h, *w);
    let (out_w, out_h) = (settings.width as usize, settings.height as usize);
    let base = postfx_params(&track.video.postfx);
    let params_at = |i: usize| segment.controls.map_or(base, |c| c.at(&base, i));
    let seed = grain_seed(track);
    let frame_len = 3 * h * w;
    let decoded = |i: usize| &pixels[i * frame_len..(i + 1) * frame_len];
    let frame = |i: usize, trail: Option<&mut TrailState>| {
        postfx::apply_rgb8(decoded(i), w, h, &params_at(i), trail, seed, (first_frame + i) as u64, out_w, out_h)
    };
    if !base.motion_trails {
        let rgb = (0..n).into_par_iter().map(|i| frame(i, None)).collect();
        return Ok((rgb, None));
    }
    let mut state = TrailState::new();
    if let Some(prev) = trail_in.and_then(|a| a.to_f32_vec()) {
        state = TrailState::from_state(Frame { width: out_w, height: out_h, data: prev });
    }
    let rgb = (0..n).map(|i| frame(i, Some(&mut state))).collect();
    Ok((rgb, state.state().map(|f| f.data.clone())))
}

fn compute_encoded(
    id: &str,
    settings: &VideoSettings,
    track: &TrackSpec,
    segment: &SegmentFrames<'_>,
    trail_in: Option<NpyArray>,
) -> Result<Vec<u8>, BuildError> {
    let (out_w, out_h) = (settings.width as usize, settings.height as usize);
    let first_frame = segment.first;
    let (rgb, trail_out) = postfx_frames(id, settings, track, segment, trail_in)?;
    let n = rgb.len();
    let refs: Vec<&[u8]> = rgb.iter().map(Vec::as_slice).collect();
    let h264 = crate::media::h264::H264Params { qp: track.video.encode.qp };
    let units = crate::media::h264::encode_segment(&refs, out_w as u32, out_h as u32, settings.fps, &h264)
        .map_err(|e| BuildError::failed(id, e.to_string()))?;
    let sizes: Vec<i64> = units.iter().map(|u| u.len() as i64).collect();
    let stream: Vec<u8> = units.concat();
    let kept: Vec<usize> = (0..n).filter(|i| kept_for_preview(first_frame + i, settings.fps)).collect();
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

/// Write a built track's post-processed frames as `dir/000000.png`… (`--keep-frames`),
/// calling `progress` with the number written after each segment. Returns how many were
/// written.
pub fn export_frames(
    db: &dyn Db,
    video: &str,
    dir: &std::path::Path,
    progress: &dyn Fn(usize),
) -> Result<usize, BuildError> {
    let tv = track_video(db, video)?;
    let segments = all_encoded(db, video)?;
    std::fs::create_dir_all(dir).map_err(|e| BuildError::io(video, &format!("creating {}", dir.display()), e))?;
    // Leftovers of an export that was killed.
    crate::store::fsutil::sweep_dir(dir);
    let mut written = 0;
    let mut trail_in = None;
    for (k, enc) in segments.iter().enumerate() {
        let k = k as u32;
        let d = decoded_segment(db, SegmentName::new(db, video.to_string(), k))?;
        let decoded = segment_bytes(db, video, "decoded", k, d.digest)?;
        let (first, end) = frame_range(&tv.settings, latents_data(db, video)?.frames, k);
        let controls = super::controls::postfx_slice(db, video, &tv.track, first, end)?.map(|(c, _)| c);
        let segment = SegmentFrames { first, decoded: &decoded, controls: controls.as_ref() };
        let (rgb, _) = postfx_frames(video, &tv.settings, &tv.track, &segment, trail_in.take())?;
        for (i, px) in rgb.iter().enumerate() {
            let png = crate::media::image::encode_png_rgb8(tv.settings.width, tv.settings.height, px)
                .map_err(|e| BuildError::failed(video, e.to_string()))?;
            let path = dir.join(format!("{:06}.png", first + i));
            crate::store::fsutil::replace_file(&path, &png)
                .map_err(|e| BuildError::io(video, &format!("writing {}", path.display()), e))?;
            written += 1;
        }
        progress(written);
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
            if let Some(bytes) = query::fetch_lost_blob(db, &digest) {
                return Ok(bytes);
            }
            let cx = Cx::new(db, &id, &[]);
            let _permit = db.env().budget.acquire();
            let bytes = match what {
                "decoded" => Action::compute(&decoded_action(db, &id, video, index)?.0, &cx)?,
                _ => Action::compute(&encoded_action(db, video, index)?.0, &cx)?,
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
    all_encoded_beside(db, video, None)
}

/// [`all_encoded`], running `side` once on the segment workers too (see [`build_segments`]).
fn all_encoded_beside(db: &dyn Db, video: &str, side: Option<SideJob<'_>>) -> Result<Vec<Built>, BuildError> {
    let count = segment_count(db, video)?;
    if let Some(shard) = db.env().shard().filter(|s| s.count > 1) {
        // The last shard assembles the video: its own share first, then the other shards'
        // segments from the remote as they land (bounded by `shard_wait_s`); what has not
        // landed by then is computed here.
        build_segments(db, video, count, |k| shard.owns(k), None)?;
        wait_for_other_shares(db, video, count, shard);
    }
    build_segments(db, video, count, |_| true, side)?;
    (0..count).map(|k| encoded_segment(db, SegmentName::new(db, video.to_string(), k))).collect()
}

/// `render --shard`: this shard's share of a track's segments (segment `k` is shard
/// `k mod N`'s), decoded and encoded (decoded only with motion trails, whose encoding runs in
/// order), and uploaded with every other result; the last shard assembles the video.
pub fn build_share(db: &dyn Db, video: &str, shard: crate::engine::action::Shard) -> Result<String, BuildError> {
    let count = segment_count(db, video)?;
    build_segments(db, video, count, |k| shard.owns(k), None)?;
    let mine: Vec<u32> = (0..count).filter(|&k| shard.owns(k)).collect();
    let trails = track_video(db, video)?.track.video.postfx.motion_trails;
    for &k in &mine {
        let name = SegmentName::new(db, video.to_string(), k);
        if trails {
            decoded_segment(db, name)?;
        } else {
            encoded_segment(db, name)?;
        }
    }
    Ok(format!(
        "shard {shard} built {} of its {count} segments; shard {}/{} assembles it",
        mine.len(),
        shard.count,
        shard.count
    ))
}

/// Wait until every decoded segment outside this shard's share is in the local store or on
/// the remote, polling, for at most the remote's `shard_wait_s`.
fn wait_for_other_shares(db: &dyn Db, video: &str, count: u32, shard: crate::engine::action::Shard) {
    let env = db.env();
    let Some(remote) = env.remote() else { return };
    let deadline = Instant::now() + remote.shard_wait();
    let mut pending: Vec<u32> = (0..count).filter(|&k| !shard.owns(k)).collect();
    while !pending.is_empty() && remote.unavailable().is_none() {
        pending.retain(|&k| {
            let id = segment_id(video, "decoded", k);
            let Ok((action, inputs)) = decoded_action(db, &id, video, k) else { return false };
            let key = crate::engine::action::ActionDesc::of(&action, inputs).key();
            env.store.action_output(&key).is_none() && !matches!(remote.action(&key), Ok(Some(_)))
        });
        if pending.is_empty() || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(std::time::Duration::from_secs(2));
    }
}

/// An encoded frame's cost relative to a decoded one's, for progress until one segment of each
/// is built and measured: a guess (postFX and encoding are the cheaper stage at every preset
/// size here), never part of a result.
const ENCODE_COST: f64 = 0.3;

/// Work run once on the segment workers beside the segments, e.g. encoding the track's audio
/// while the last segment decodes.
pub type SideJob<'a> = &'a (dyn Fn() + Sync);

/// Build the segments `wanted` picks on the render's worker threads (results land in the
/// store and the action cache; failures are reported by the segments' own events).
///
/// The workers share one queue: every decoding, then `side`, then every encoding in order
/// (without motion trails; with them each encoding needs the one before, and they are built in
/// order afterwards). A worker that finds no decoding left to start takes `side` or the first
/// encodings, whose decoded frames are done by then, instead of waiting for the last decodings.
fn build_segments(
    db: &dyn Db,
    video: &str,
    count: u32,
    wanted: impl Fn(u32) -> bool + Sync,
    side: Option<SideJob<'_>>,
) -> Result<(), BuildError> {
    let tv = track_video(db, video)?;
    let trails = tv.track.video.postfx.motion_trails;
    let frames = frame_count(db, video)?;
    let mine: Vec<(usize, usize)> =
        (0..count).filter(|&k| wanted(k)).map(|k| frame_range(&tv.settings, frames, k)).collect();
    db.env().report(Report::Work(WorkStart {
        id: video.to_string(),
        frames: mine.iter().map(|(a, b)| (b - a) as u64).sum(),
        parts: mine.len() as u32,
        stages: vec![("decode", 1.0), ("encode", ENCODE_COST)],
    }));
    let budget = &db.env().budget;
    let count = count as usize;
    let sides = usize::from(side.is_some());
    let jobs = count + sides + if trails { 0 } else { count };
    // As many workers as the render's thread budget allows; this thread gives its permit back
    // while they run.
    let workers = budget.limit().min(count.max(1)).max(1);
    let cancelled = AtomicUsize::new(0);
    budget.suspend(|| {
        let base = std::sync::Mutex::new(db.fork());
        let next = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..workers {
                let fork = base.lock().unwrap_or_else(|p| p.into_inner()).clone();
                let (next, cancelled, wanted) = (&next, &cancelled, &wanted);
                s.spawn(move || {
                    let run = std::panic::AssertUnwindSafe(|| {
                        loop {
                            let j = next.fetch_add(1, Ordering::Relaxed);
                            if j >= jobs {
                                break;
                            }
                            if (count..count + sides).contains(&j) {
                                side.into_iter().for_each(|f| f());
                                continue;
                            }
                            let (k, decode) = if j < count { (j, true) } else { (j - count - sides, false) };
                            let k = k as u32;
                            if !wanted(k) {
                                continue;
                            }
                            let name = SegmentName::new(&fork, video.to_string(), k);
                            let _ = if decode { decoded_segment(&fork, name) } else { encoded_segment(&fork, name) };
                        }
                    });
                    if salsa::Cancelled::catch(run).is_err() {
                        cancelled.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
    });
    if cancelled.load(Ordering::Relaxed) > 0 {
        // A worker saw the revision cancelled (an edit under `watch`): unwind this query too.
        db.unwind_if_revision_cancelled();
    }
    Ok(())
}

/// A track's encoded segments, read one at a time: its H.264 access units (for the muxer, see
/// [`crate::media::mp4::AccessUnits`]) and its preview frames. A long track is never held whole.
pub struct EncodedTrack<'a> {
    db: &'a dyn Db,
    /// The artifact reading them (errors are reported under it).
    id: String,
    video: String,
    /// The encoded segments' blobs, in order (what the track was built from).
    pub segments: Vec<Digest>,
    /// The track's frame count (one access unit each).
    pub frames: usize,
    /// Frames per segment (the last may hold fewer).
    segment_frames: usize,
}

/// Why muxing a track failed: the muxer's error, or reading a segment.
#[derive(Debug)]
pub enum MuxError {
    Video(crate::media::VideoError),
    Build(BuildError),
}

impl From<crate::media::VideoError> for MuxError {
    fn from(e: crate::media::VideoError) -> Self {
        MuxError::Video(e)
    }
}

impl MuxError {
    pub fn into_build(self, id: &str) -> BuildError {
        match self {
            MuxError::Video(e) => BuildError::failed(id, e.to_string()),
            MuxError::Build(e) => e,
        }
    }
}

pub fn encoded_track<'a>(db: &'a dyn Db, id: &str, video: &str) -> Result<EncodedTrack<'a>, BuildError> {
    encoded_track_beside(db, id, video, None)
}

/// [`encoded_track`], running `side` once on the segment workers beside the segments.
pub fn encoded_track_beside<'a>(
    db: &'a dyn Db,
    id: &str,
    video: &str,
    side: Option<SideJob<'_>>,
) -> Result<EncodedTrack<'a>, BuildError> {
    let segments = all_encoded_beside(db, video, side)?;
    Ok(EncodedTrack {
        db,
        id: id.to_string(),
        video: video.to_string(),
        segments: segments.iter().map(|b| b.digest).collect(),
        frames: frame_count(db, video)?,
        segment_frames: track_video(db, video)?.settings.segment_frames.max(1) as usize,
    })
}

impl EncodedTrack<'_> {
    fn segment(&self, k: usize) -> Result<Vec<u8>, BuildError> {
        segment_bytes(self.db, &self.video, "encoded", k as u32, self.segments[k])
    }

    /// (frame index, RGB8 frame) of each frame [`kept_for_preview`] in `span`, in order; only
    /// the segments holding those frames are read.
    pub fn each_preview(
        &self,
        span: std::ops::Range<usize>,
        mut each: impl FnMut(usize, &[u8]) -> Result<(), BuildError>,
    ) -> Result<(), BuildError> {
        let id = &self.id;
        let first = span.start / self.segment_frames;
        let last = span.end.div_ceil(self.segment_frames).min(self.segments.len());
        for k in first..last {
            let bytes = self.segment(k)?;
            let member =
                |key: &str| npz::read_npz_member(&bytes, id, key).map_err(|e| BuildError::failed(id, e.to_string()));
            let (Some(index), Some(frames)) = (member("preview_index")?, member("preview_frames")?) else { continue };
            if let (NpyData::I64(index), NpyData::U8(px)) = (&index.data, &frames.data) {
                let len = if index.is_empty() { 0 } else { px.len() / index.len() };
                for (j, &i) in index.iter().enumerate() {
                    if span.contains(&(i as usize)) {
                        each(i as usize, &px[j * len..(j + 1) * len])?;
                    }
                }
            }
        }
        Ok(())
    }
}

impl crate::media::mp4::AccessUnits for [EncodedTrack<'_>] {
    type Error = MuxError;

    /// Every track's units in order, a segment at a time; a track whose segments hold another
    /// number of units than its frames is an error.
    fn visit(&self, each: &mut crate::media::mp4::EachUnit<'_, MuxError>) -> Result<(), MuxError> {
        for track in self {
            let id = &track.id;
            let fail = |m: String| MuxError::Build(BuildError::failed(id, m));
            let mut count = 0usize;
            for k in 0..track.segments.len() {
                let bytes = track.segment(k).map_err(MuxError::Build)?;
                let member = |key: &str| npz::read_npz_member(&bytes, id, key).map_err(|e| fail(e.to_string()));
                let (Some(stream), Some(sizes)) = (member("h264")?, member("au_sizes")?) else {
                    return Err(fail(format!("segment {k} lacks its H.264 data")));
                };
                let (NpyData::U8(stream), NpyData::I64(sizes)) = (&stream.data, &sizes.data) else {
                    return Err(fail(format!("segment {k} lacks its H.264 data")));
                };
                let mut at = 0usize;
                for &size in sizes {
                    let end = at + size.max(0) as usize;
                    let unit = stream.get(at..end).ok_or_else(|| fail(format!("segment {k}: bad unit sizes")))?;
                    each(unit)?;
                    at = end;
                    count += 1;
                }
            }
            if count != track.frames {
                return Err(fail(format!(
                    "{}: the segments hold {count} frames, the track has {}",
                    track.video, track.frames
                )));
            }
        }
        Ok(())
    }
}
