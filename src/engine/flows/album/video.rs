//! The video of an album track (`video.mp4`: its encoded segments joined and muxed with the
//! track's audio), its previews, and the album's `album.mp4`.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use super::segment::{self, GIF_FPS, PREVIEW_EVERY};
use crate::engine::action::{Action, Cx, Estimate};
use crate::engine::db::Db;
use crate::engine::error::BuildError;
use crate::features::prepare::Trim;
use crate::media::VideoError;
use crate::media::mp4;
use crate::media::npz;
use crate::media::opus::{self, OpusAudio};
use crate::project::album::{AudioRef, TrackSpec};
use crate::project::video::{PostFxSpec, VideoSettings};
use crate::store::BlobWriter;

/// Audio rate inside MP4s (Opus runs at 48 kHz).
pub const VIDEO_AUDIO_RATE_HZ: u32 = 48_000;
/// Kept frames shown by the GIF and the contact sheet.
const SHEET_FRAMES: usize = 48;

/// What a track's frames are decoded with (the model file is an input of its own).
#[derive(Serialize)]
pub struct DecoderKey<'a> {
    pub backend: &'a str,
    pub cuda: bool,
    pub batch_size: u32,
}

impl<'a> DecoderKey<'a> {
    pub fn of(track: &'a TrackSpec) -> DecoderKey<'a> {
        let d = &track.video.decoder;
        DecoderKey {
            backend: segment::backend_name(&segment::resolve_backend(d)),
            cuda: d.cuda,
            batch_size: d.batch_size,
        }
    }
}

/// Everything a track's frames and their encoding read (the segments' params, plus the mux's).
#[derive(Serialize)]
pub struct VideoKey<'a> {
    fps: u32,
    width: u32,
    height: u32,
    segment_frames: u32,
    decoder: DecoderKey<'a>,
    postfx: &'a PostFxSpec,
    grain_seed: u64,
    qp: u8,
    audio_bitrate_kbps: u32,
    /// The track's `trim`: the muxed audio is cut like the analysed audio.
    trim: Option<Trim>,
    segment: u32,
    decoded: u32,
}

impl<'a> VideoKey<'a> {
    fn of(settings: &VideoSettings, track: &'a TrackSpec) -> VideoKey<'a> {
        let v = &track.video;
        VideoKey {
            fps: settings.fps,
            width: settings.width,
            height: settings.height,
            segment_frames: settings.segment_frames,
            decoder: DecoderKey::of(track),
            postfx: &v.postfx,
            grain_seed: segment::grain_seed(track),
            qp: v.encode.qp,
            audio_bitrate_kbps: v.encode.audio_bitrate_kbps,
            trim: track.prep.trim,
            segment: <segment::EncodedSegment as Action>::VERSION,
            decoded: <segment::DecodedSegment as Action>::VERSION,
        }
    }
}

/// The track's `video.mp4`: its encoded segments (sub-artifacts, see `segment`) concatenated
/// and muxed with the track's audio.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackVideo {
    pub settings: VideoSettings,
    pub track: Arc<TrackSpec>,
}

impl Action for TrackVideo {
    const QUERY: &'static str = "video";
    const VERSION: u32 = 5;

    fn key(&self) -> impl Serialize + '_ {
        VideoKey::of(&self.settings, &self.track)
    }

    fn compute(&self, cx: &Cx<'_>) -> Result<Vec<u8>, BuildError> {
        let mut out = Vec::new();
        self.mux(cx, &mut out)?;
        Ok(out)
    }

    /// Streamed into the store: the segments are read one at a time.
    fn write(&self, cx: &Cx<'_>, out: &mut BlobWriter) -> Option<Result<(), BuildError>> {
        Some(self.mux(cx, out))
    }

    fn heavy(&self) -> bool {
        true
    }

    fn share(&self, cx: &Cx<'_>, shard: crate::engine::action::Shard) -> Option<Result<String, BuildError>> {
        Some(segment::build_share(cx.db, cx.id, shard))
    }

    /// Frames and segments from the audio's declared length (after `trim`): a project file's
    /// header, the recipe's length of the artifact it names, or that artifact's header when it
    /// is in the store.
    fn estimate(&self, cx: &Cx<'_>) -> Option<Result<Estimate, String>> {
        Some(estimate(cx, &self.settings, &self.track))
    }
}

impl TrackVideo {
    /// The audio is encoded on a segment worker while the last segments decode (it needs only
    /// the frame count, known from the latents), not after every segment is done.
    fn mux(&self, cx: &Cx<'_>, out: &mut dyn std::io::Write) -> Result<(), BuildError> {
        let audio = track_audio(cx, &self.track.audio, self.track.prep.trim)?;
        let bitrate_bps = self.track.video.encode.audio_bitrate_kbps * 1000;
        let fps = self.settings.fps;
        // The audio fills exactly the frames: cut, or padded with silence.
        let encode = |frames: usize| {
            let mut scratch = Vec::new();
            opus::encode_opus_with(samples_for(frames, fps), audio.channels, bitrate_bps, |first, out| {
                audio.read(first, out, &mut scratch)
            })
        };
        let frames = segment::frame_count(cx.db, cx.id)?;
        let early = std::sync::Mutex::new(None);
        let enc = {
            let encode_early = || {
                let audio = encode(frames);
                *early.lock().unwrap_or_else(|p| p.into_inner()) = Some(audio);
            };
            segment::encoded_track_beside(cx.db, cx.id, cx.id, Some(&encode_early))?
        };
        cx.read_parts(enc.segments.iter().copied());
        let early = early.into_inner().unwrap_or_else(|p| p.into_inner());
        // Should a worker have skipped the job, encode here.
        let audio = early.unwrap_or_else(|| encode(frames)).map_err(|e| cx.fail(e.to_string()))?;
        mux_encoded(cx.id, &self.settings, std::slice::from_ref(&enc), &audio, out)
    }
}

fn estimate(cx: &Cx<'_>, settings: &VideoSettings, track: &TrackSpec) -> Result<Estimate, String> {
    use crate::media::decode::declared_length;
    let (length, what) = match &track.audio {
        AudioRef::File(rel) => (declared_length(&cx.file_location(rel), rel), rel),
        AudioRef::Artifact(id) => {
            let index = crate::engine::query::artifact_index(cx.db);
            let decl = index.get(id).ok_or_else(|| format!("{id} is not an artifact"))?;
            // Built before: its blob, read only where it is (plan mode never computes).
            let stored = || {
                let digest = crate::engine::query::digest_by_id(cx.db, id).ok()?;
                declared_length(&cx.db.env().store.named_path(&digest), &decl.rel)
            };
            let length = decl
                .action
                .audio_length()
                .or_else(|| (cx.db.env().mode == crate::engine::Mode::Plan).then(stored).flatten());
            (Some(length.ok_or_else(|| format!("frames are known once {id} is built"))?), id)
        }
    };
    let (samples, rate) =
        length.ok_or_else(|| format!("{what} does not declare its length; frames are known once it is analysed"))?;
    // The analysed window, as the features cut it.
    let kept = track.prep.trim.map_or(samples, |t| t.range(samples, rate).len());
    let duration = kept as f64 / f64::from(rate);
    let frames = crate::controller::frame_count(f64::from(settings.fps), duration) as u64;
    Ok(Estimate {
        frames,
        segments: frames.div_ceil(u64::from(settings.segment_frames.max(1))) as u32,
        basis: format!("{duration:.1} s of {what} at {} fps", settings.fps),
    })
}

/// `album.mp4`: every track's segments in order, with their audio.
#[derive(Debug, Clone, PartialEq)]
pub struct AlbumVideo {
    pub settings: VideoSettings,
    pub videos: Vec<String>,
}

#[derive(Serialize)]
struct AlbumVideoKey<'a> {
    videos: &'a [String],
    fps: u32,
    width: u32,
    height: u32,
}

impl Action for AlbumVideo {
    const QUERY: &'static str = "album_video";
    const VERSION: u32 = 5;

    fn key(&self) -> impl Serialize + '_ {
        let s = &self.settings;
        AlbumVideoKey { videos: &self.videos, fps: s.fps, width: s.width, height: s.height }
    }

    /// Every track's frames in order; each track's audio fills exactly its frames.
    fn compute(&self, cx: &Cx<'_>) -> Result<Vec<u8>, BuildError> {
        // One track: the cut is that track's `video.mp4` byte for byte (the same frames, the
        // same audio window padded the same way, the same bitrate), so it is neither muxed nor
        // its audio encoded again.
        if let [only] = self.videos.as_slice() {
            return cx.artifact_bytes(only);
        }
        let mut out = Vec::new();
        self.mux(cx, &mut out)?;
        Ok(out)
    }

    /// Streamed into the store: the segments are read one at a time, a single track's video
    /// copied in pieces.
    fn write(&self, cx: &Cx<'_>, out: &mut BlobWriter) -> Option<Result<(), BuildError>> {
        Some(match self.videos.as_slice() {
            [only] => cx.copy_artifact(only, out),
            _ => self.mux(cx, out),
        })
    }

    fn heavy(&self) -> bool {
        true
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PreviewKind {
    /// `preview.png`: the middle kept frame.
    Still,
    /// `preview.gif`: the track's first 4 s at 5 frames/s.
    Gif,
    /// `contact_sheet.png`: every kept frame (≤ 48) as thumbnails.
    Sheet,
}

impl PreviewKind {
    pub const ALL: [PreviewKind; 3] = [PreviewKind::Still, PreviewKind::Gif, PreviewKind::Sheet];

    pub fn file(self) -> &'static str {
        match self {
            PreviewKind::Still => "preview.png",
            PreviewKind::Gif => "preview.gif",
            PreviewKind::Sheet => "contact_sheet.png",
        }
    }
}

/// A preview drawn from the frames kept every 90th frame of the track's video.
#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    pub kind: PreviewKind,
    /// The track's `…/video.mp4` id, whose segments hold the kept frames.
    pub video: String,
    pub settings: VideoSettings,
    pub track: Arc<TrackSpec>,
}

#[derive(Serialize)]
struct PreviewKey<'a> {
    kind: &'static str,
    every: usize,
    gif_grid: (usize, usize),
    sheet_frames: usize,
    video: VideoKey<'a>,
}

impl Action for Preview {
    const QUERY: &'static str = "preview";
    const VERSION: u32 = 2;

    fn key(&self) -> impl Serialize + '_ {
        PreviewKey {
            kind: self.kind.file(),
            every: PREVIEW_EVERY,
            gif_grid: segment::gif_grid(self.settings.fps),
            sheet_frames: SHEET_FRAMES,
            video: VideoKey::of(&self.settings, &self.track),
        }
    }

    /// The middle still frame (every 90th), a GIF of the track's first seconds at
    /// [`GIF_FPS`], or a contact sheet of the still frames.
    fn compute(&self, cx: &Cx<'_>) -> Result<Vec<u8>, BuildError> {
        use crate::media::image;
        let enc = segment::encoded_track(cx.db, cx.id, &self.video)?;
        cx.read_parts(enc.segments.iter().copied());
        let (w, h) = (self.settings.width, self.settings.height);
        let (every, span) = segment::gif_grid(self.settings.fps);
        // Only the frames this preview shows are kept (a long track has hundreds of stills).
        let middle = enc.frames.div_ceil(PREVIEW_EVERY) / 2 * PREVIEW_EVERY;
        // The frames it shows, and the span of the track they lie in (only its segments are read).
        let (wanted, span): (&dyn Fn(usize) -> bool, _) = match self.kind {
            PreviewKind::Still => (&|i| i == middle, middle..middle + 1),
            PreviewKind::Gif => (&|i: usize| i.is_multiple_of(every), 0..span),
            PreviewKind::Sheet => (&|i: usize| i.is_multiple_of(PREVIEW_EVERY), 0..SHEET_FRAMES * PREVIEW_EVERY),
        };
        let mut kept = Vec::new();
        enc.each_preview(span, |i, frame| {
            if wanted(i) {
                kept.push(frame.to_vec());
            }
            Ok(())
        })?;
        if kept.is_empty() {
            return Err(cx.fail("the video has no frames"));
        }
        let frames: Vec<&[u8]> = kept.iter().map(Vec::as_slice).collect();
        let err = |e: crate::media::VideoError| cx.fail(e.to_string());
        match self.kind {
            PreviewKind::Still => image::encode_png_rgb8(w, h, frames[0]).map_err(err),
            PreviewKind::Gif => {
                // GIFs are previews: at most 256 px wide.
                let (gw, gh, small) = shrink(w, h, &frames, 256);
                let refs: Vec<&[u8]> = small.iter().map(Vec::as_slice).collect();
                image::encode_gif(gw, gh, &refs, (100 / GIF_FPS) as u16).map_err(err)
            }
            PreviewKind::Sheet => {
                let (sw, sh, px) = image::contact_sheet(w, h, &frames, 6, 160);
                image::encode_png_rgb8(sw, sh, &px).map_err(err)
            }
        }
    }

    fn heavy(&self) -> bool {
        true
    }
}

impl AlbumVideo {
    fn mux(&self, cx: &Cx<'_>, out: &mut dyn std::io::Write) -> Result<(), BuildError> {
        let settings = &self.settings;
        let mut encoded = Vec::new();
        let mut tracks = Vec::new();
        let mut bitrate = 0;
        let mut first = 0usize;
        for video in &self.videos {
            let tv = super::track_video(cx.db, video).ok_or_else(|| BuildError::Unknown { id: video.clone() })?;
            let enc = segment::encoded_track(cx.db, cx.id, video)?;
            cx.read_parts(enc.segments.iter().copied());
            let audio = track_audio(cx, &tv.track.audio, tv.track.prep.trim)?;
            bitrate = bitrate.max(tv.track.video.encode.audio_bitrate_kbps);
            // Cumulative frame boundaries, so rounding never drifts across tracks.
            let start = samples_for(first, settings.fps);
            first += enc.frames;
            tracks.push((audio, start..samples_for(first, settings.fps)));
            encoded.push(enc);
        }
        let channels = tracks.iter().map(|t| t.0.channels).max().unwrap_or(1);
        let total = samples_for(first, settings.fps);
        let ch = usize::from(channels);
        let (mut own, mut rest) = (Vec::new(), Vec::new());
        // Each track fills its span; a mono track is heard on both sides of a stereo album.
        let audio = opus::encode_opus_with(total, channels, bitrate * 1000, |first, out| {
            let wanted = first..first + out.len() / ch;
            for (track, span) in &tracks {
                let (lo, hi) = (wanted.start.max(span.start), wanted.end.min(span.end));
                if lo >= hi {
                    continue;
                }
                let per = usize::from(track.channels);
                own.resize((hi - lo) * per, 0.0);
                track.read(lo - span.start, &mut own, &mut rest)?;
                for (i, frame) in own.chunks_exact(per).enumerate() {
                    let o = (lo - first + i) * ch;
                    for c in 0..ch {
                        out[o + c] = frame[c.min(per - 1)];
                    }
                }
            }
            Ok(())
        })
        .map_err(|e| cx.fail(e.to_string()))?;
        mux_encoded(cx.id, settings, &encoded, &audio, out)
    }
}

/// A track's audio at 48 kHz as its video carries it, mono or stereo (more channels are mixed
/// to stereo: the first half of them to the left, the rest to the right), from the shared
/// decode, cut to the track's `trim` window (the window the features, and so the frames,
/// cover). Read piece by piece, so a long track is never held whole.
struct TrackAudio {
    pcm: crate::engine::query::AudioPcm,
    /// The trim window, in samples of the decode.
    window: std::ops::Range<usize>,
    /// 1 or 2.
    channels: u16,
}

impl TrackAudio {
    /// Interleaved frames `first .. first + out.len() / channels` of the window into `out`,
    /// silence past its end; `scratch` holds the source channels read.
    fn read(&self, first: usize, out: &mut [f32], scratch: &mut Vec<Vec<f32>>) -> Result<(), VideoError> {
        let sources = self.pcm.pcm.channels().map_err(|e| VideoError::AudioRead { detail: e.to_string() })?;
        let ch = usize::from(self.channels);
        out.fill(0.0);
        let have = self.window.len().saturating_sub(first).min(out.len() / ch);
        if have == 0 {
            return Ok(());
        }
        scratch.resize_with(sources.len(), Vec::new);
        for (plane, buf) in sources.iter().zip(scratch.iter_mut()) {
            buf.resize(have, 0.0);
            plane.read(self.window.start + first, buf).map_err(|e| VideoError::AudioRead { detail: e.to_string() })?;
        }
        let planes = &scratch[..sources.len()];
        if sources.len() <= 2 {
            for (i, frame) in out.chunks_exact_mut(ch).take(have).enumerate() {
                for (o, p) in frame.iter_mut().zip(planes) {
                    *o = p[i];
                }
            }
            return Ok(());
        }
        // Output channel 0 is the mean of the first half of the channels, 1 of the rest.
        let half = sources.len() / 2;
        let mean = |group: &[Vec<f32>], i: usize| group.iter().map(|p| p[i]).sum::<f32>() / group.len() as f32;
        for (i, frame) in out.chunks_exact_mut(ch).take(have).enumerate() {
            frame[0] = mean(&planes[..half], i);
            frame[1] = mean(&planes[half..], i);
        }
        Ok(())
    }
}

fn track_audio(cx: &Cx<'_>, audio: &AudioRef, trim: Option<Trim>) -> Result<TrackAudio, BuildError> {
    let pcm = cx.pcm(audio, VIDEO_AUDIO_RATE_HZ)?;
    pcm.warnings(&pcm.name).into_iter().for_each(|w| cx.warn(w));
    let sources = pcm.channel_planes(cx.id)?;
    if sources.is_empty() || sources[0].is_empty() {
        return Err(cx.fail(format!("{}: no audio in the file", pcm.name)));
    }
    let n = sources[0].len();
    let channels = sources.len().min(2) as u16;
    let window = trim.map_or(0..n, |t| t.range(n, VIDEO_AUDIO_RATE_HZ));
    Ok(TrackAudio { pcm, window, channels })
}

/// Samples per channel covering `frames` video frames exactly (rounded up).
fn samples_for(frames: usize, fps: u32) -> usize {
    (frames as u64 * u64::from(VIDEO_AUDIO_RATE_HZ)).div_ceil(u64::from(fps)) as usize
}

/// The MP4 of the tracks' H.264 units (in order) and the Opus `audio`, written to `out`.
fn mux_encoded(
    id: &str,
    settings: &VideoSettings,
    tracks: &[segment::EncodedTrack<'_>],
    audio: &OpusAudio,
    out: &mut dyn std::io::Write,
) -> Result<(), BuildError> {
    let format = mp4::VideoFormat { width: settings.width, height: settings.height, fps: settings.fps };
    mp4::write_mp4(&format, tracks, Some(audio), out).map(|_| ()).map_err(|e| e.into_build(id))
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
    let metadata = npz::read_npz_member(&bytes, video, "metadata").ok()??;
    let meta: Value = serde_json::from_str(metadata.as_str()?).ok()?;
    Some((meta["provider"].as_str()?.to_string(), meta["precision"].as_str()?.to_string()))
}
