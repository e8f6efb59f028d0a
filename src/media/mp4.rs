//! Fast-start MP4 (ftyp, moov, then mdat) with one H.264 video track and an optional Opus
//! audio track, through `muxide`.
//!
//! Same input ⇒ same bytes: no creation or modification times (they are written as 0), no
//! metadata, timestamps derived only from frame and sample counts. The audio track is cut or
//! padded with silent packets, at 20 ms packet boundaries, so that its real audio (after the
//! decoder drops pre-skip) ends within 10 ms of the video's end: within one video frame at
//! any rate up to 100 fps.

use std::ops::Range;

use muxide::api::{AudioCodec, MuxerBuilder, VideoCodec};

use super::h264::{FPS_RANGE, NAL_IDR_SLICE, is_stream_start, nal_types};
use super::opus::{OPUS_SAMPLE_RATE_HZ, OpusAudio, packet_samples, silent_packet};
pub use super::video_error::VideoError;

/// An H.264 elementary stream: one Annex-B access unit per frame, in decode (= display) order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoStream<'a> {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub frames: Vec<&'a [u8]>,
}

/// The largest width or height an MP4 track header holds.
const MAX_SIDE: u32 = 65_535;

/// The audio packets to mux, each with its length in samples: the real packets cut or padded
/// so that the real audio ends as close as 20 ms packets allow to `frames / fps` seconds.
fn fit_audio(audio: &OpusAudio, frames: usize, fps: u32) -> Result<Vec<(Vec<u8>, usize)>, VideoError> {
    if audio.channels != 1 && audio.channels != 2 {
        return Err(VideoError::Channels { channels: audio.channels });
    }
    // Everything in samples × fps, so a video end between two samples stays exact.
    let goal = frames as u64 * u64::from(OPUS_SAMPLE_RATE_HZ) + u64::from(audio.pre_skip) * u64::from(fps);
    let fps = u64::from(fps);
    let mut fitted = Vec::new();
    let mut end = 0u64;
    // A packet goes in while its midpoint lies before the goal.
    let wanted = |end: u64, len: usize| (2 * end + len as u64) * fps < 2 * goal;
    for (index, packet) in audio.packets.iter().enumerate() {
        let len = packet_samples(packet).ok_or(VideoError::OpusPacket { index })?;
        if !wanted(end, len) {
            return Ok(fitted);
        }
        fitted.push((packet.clone(), len));
        end += len as u64;
    }
    let silence = silent_packet(audio.channels)?;
    let len = packet_samples(&silence).ok_or(VideoError::OpusPacket { index: audio.packets.len() })?;
    while wanted(end, len) {
        fitted.push((silence.clone(), len));
        end += len as u64;
    }
    Ok(fitted)
}

/// What [`AccessUnits::visit`] calls with each unit.
pub type EachUnit<'a, E> = dyn FnMut(&[u8]) -> Result<(), E> + 'a;

/// A track's H.264 access units (Annex-B, one per frame, in decode = display order), visited
/// in order as often as the muxer needs: once to size the tables, once to write `mdat`. A
/// long track is never held whole: a visitor may read them piece by piece.
pub trait AccessUnits {
    /// What reading a unit can fail with; a muxing failure becomes one of them.
    type Error: From<VideoError>;
    /// Call `each` with every access unit, in order; stop at its first error.
    fn visit(&self, each: &mut EachUnit<'_, Self::Error>) -> Result<(), Self::Error>;
}

impl AccessUnits for [&[u8]] {
    type Error = VideoError;
    fn visit(&self, each: &mut EachUnit<'_, VideoError>) -> Result<(), VideoError> {
        self.iter().try_for_each(|unit| each(unit))
    }
}

/// A video track's frame size and rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoFormat {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
}

/// Fast-start MP4 (moov before mdat) with H.264 video and optional Opus audio, in memory; see
/// [`write_mp4`].
pub fn mux_mp4(video: &VideoStream<'_>, audio: Option<&OpusAudio>) -> Result<Vec<u8>, VideoError> {
    let format = VideoFormat { width: video.width, height: video.height, fps: video.fps };
    let mut out = Vec::new();
    write_mp4(&format, video.frames.as_slice(), audio, &mut out)?;
    Ok(out)
}

/// What the first pass learns of the video: each sample's size in the file (length-prefixed
/// NAL units), which samples are key frames, and the first unit (its parameter sets).
struct VideoPlan {
    sizes: Vec<u32>,
    keys: Vec<bool>,
    first: Vec<u8>,
}

fn plan_video<U: AccessUnits + ?Sized>(units: &U) -> Result<VideoPlan, U::Error> {
    let mut plan = VideoPlan { sizes: Vec::new(), keys: Vec::new(), first: Vec::new() };
    units.visit(&mut |unit| {
        let index = plan.sizes.len();
        let types = nal_types(unit);
        if types.is_empty() {
            return Err(VideoError::EmptyAccessUnit { index }.into());
        }
        if index == 0 {
            if !is_stream_start(unit) {
                return Err(VideoError::NoKeyFrameFirst.into());
            }
            plan.first = unit.to_vec();
        }
        let size = u32::try_from(avcc_len(unit)).map_err(|_| VideoError::Mux { detail: too_large(index) })?;
        plan.sizes.push(size);
        plan.keys.push(types.contains(&NAL_IDR_SLICE));
        Ok(())
    })?;
    if plan.sizes.is_empty() {
        return Err(VideoError::NoFrames.into());
    }
    Ok(plan)
}

fn too_large(index: usize) -> String {
    format!("access unit {index} is larger than an MP4 sample may be (4 GiB)")
}

/// The size of a unit in the file: its NAL units, each after a 4-byte length (muxide's
/// conversion, so the tables agree with the bytes it would write).
fn avcc_len(unit: &[u8]) -> usize {
    muxide::codec::h264::annexb_to_avcc(unit).len()
}

/// Stand-in for every unit after the first while muxide lays out the file: one NAL unit of one
/// byte. Only the sizes differ from the real units, and those are patched afterwards.
const PLACEHOLDER_UNIT: [u8; 5] = [0, 0, 0, 1, 0x01];

/// Fast-start MP4 (moov before mdat) with H.264 video and optional Opus audio, written to
/// `out`; returns the bytes written. Key frames are detected from the NAL types. No timestamps
/// or other varying data in the bytes: same input ⇒ same bytes. The audio track is cut or
/// padded so that audio and video durations agree within one video frame (within 10 ms: half an
/// Opus packet).
///
/// Memory does not grow with the video: `muxide` lays out the file (its boxes, the interleaving
/// of the tracks) from the audio and a one-byte stand-in per video unit; the video's sample
/// sizes and every chunk offset are then written into that layout, and `mdat` is streamed from
/// a second visit of the units. The bytes are those `muxide` writes when given every unit
/// (tested), which needs them all in memory at once.
pub fn write_mp4<U: AccessUnits + ?Sized>(
    format: &VideoFormat,
    units: &U,
    audio: Option<&OpusAudio>,
    out: &mut dyn std::io::Write,
) -> Result<u64, U::Error> {
    check_format(format)?;
    let plan = plan_video(units)?;
    let fitted = audio.map(|a| fit_audio(a, plan.sizes.len(), format.fps)).transpose()?;
    let fitted = fitted.unwrap_or_default();
    let mut layout = skeleton(format, &plan, audio, &fitted)?;
    let audio_sizes: Vec<u32> = fitted.iter().map(|(p, _)| p.len() as u32).collect();
    let order = patch_tables(&mut layout, &plan.sizes, &audio_sizes)?;
    if let Some(a) = audio {
        set_opus_pre_skip(&mut layout.head, a.pre_skip)?;
    }

    let io = |e: std::io::Error| VideoError::Write { detail: e.to_string() };
    out.write_all(&layout.head).map_err(io)?;
    out.write_all(&(layout.mdat_size as u32).to_be_bytes()).map_err(io)?;
    out.write_all(b"mdat").map_err(io)?;
    let mut written = layout.head.len() as u64 + 8;
    // Audio packets are written as the interleaving reaches them, between the video units.
    let mut next = order.iter().peekable();
    let mut write_audio_until_video = |out: &mut dyn std::io::Write, written: &mut u64| -> Result<(), VideoError> {
        while let Some(&&(Track::Audio, j)) = next.peek() {
            out.write_all(&fitted[j].0).map_err(io)?;
            *written += fitted[j].0.len() as u64;
            next.next();
        }
        next.next();
        Ok(())
    };
    let mut index = 0usize;
    units.visit(&mut |unit| {
        write_audio_until_video(out, &mut written)?;
        let avcc = muxide::codec::h264::annexb_to_avcc(unit);
        if plan.sizes.get(index).is_none_or(|&s| s as usize != avcc.len()) {
            return Err(
                VideoError::Mux { detail: format!("access unit {index} changed while the file was written") }.into()
            );
        }
        out.write_all(&avcc).map_err(io)?;
        written += avcc.len() as u64;
        index += 1;
        Ok(())
    })?;
    if index != plan.sizes.len() {
        return Err(VideoError::Mux {
            detail: format!("{index} access units the second time, {} the first", plan.sizes.len()),
        }
        .into());
    }
    write_audio_until_video(out, &mut written)?;
    Ok(written)
}

fn check_format(format: &VideoFormat) -> Result<(), VideoError> {
    let (width, height) = (format.width, format.height);
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(VideoError::Dimensions { width, height, allowed: "width and height must be 1..=65535" });
    }
    if !FPS_RANGE.contains(&format.fps) {
        return Err(VideoError::FrameRate { fps: format.fps });
    }
    Ok(())
}

/// The file before `mdat`'s payload: `ftyp` and `moov` (with placeholder sizes and offsets
/// until [`patch_tables`]), and the size `mdat` will have.
struct Layout {
    head: Vec<u8>,
    mdat_size: u64,
}

fn mux_err(e: muxide::api::MuxerError) -> VideoError {
    VideoError::Mux { detail: e.to_string() }
}

/// A fast-start muxer of H.264 and, with `audio_channels`, Opus at 48 kHz.
fn fast_start_muxer<'w>(
    out: &'w mut Vec<u8>,
    format: &VideoFormat,
    audio_channels: Option<u16>,
) -> Result<muxide::api::Muxer<&'w mut Vec<u8>>, VideoError> {
    let mut builder = MuxerBuilder::new(out)
        .video(VideoCodec::H264, format.width, format.height, f64::from(format.fps))
        .with_fast_start(true);
    if let Some(channels) = audio_channels {
        builder = builder.audio(AudioCodec::Opus, OPUS_SAMPLE_RATE_HZ, channels);
    }
    builder.build().map_err(mux_err)
}

/// muxide's layout of the file, from the audio packets and one stand-in per video unit.
fn skeleton(
    format: &VideoFormat,
    plan: &VideoPlan,
    audio: Option<&OpusAudio>,
    fitted: &[(Vec<u8>, usize)],
) -> Result<Layout, VideoError> {
    let mut bytes = Vec::new();
    let mut muxer = fast_start_muxer(&mut bytes, format, audio.map(|a| a.channels))?;
    for (index, &key) in plan.keys.iter().enumerate() {
        let pts_s = index as f64 / f64::from(format.fps);
        let unit: &[u8] = if index == 0 { &plan.first } else { &PLACEHOLDER_UNIT };
        muxer.write_video(pts_s, unit, key).map_err(mux_err)?;
    }
    let mut audio_end = 0u64;
    for (packet, len) in fitted {
        muxer.write_audio(audio_end as f64 / f64::from(OPUS_SAMPLE_RATE_HZ), packet).map_err(mux_err)?;
        audio_end += *len as u64;
    }
    muxer.finish().map_err(mux_err)?;
    let top = child_boxes(&bytes, 0..bytes.len());
    let kinds: Vec<[u8; 4]> = top.iter().map(|b| b.kind).collect();
    if kinds != [*b"ftyp", *b"moov", *b"mdat"] {
        return Err(layout_error("the boxes are not ftyp, moov, mdat"));
    }
    let video: u64 = plan.sizes.iter().map(|&s| u64::from(s)).sum();
    let payload = video + fitted.iter().map(|(p, _)| p.len() as u64).sum::<u64>();
    let mdat_size = 8 + payload;
    if mdat_size > u64::from(u32::MAX) {
        return Err(VideoError::Mux {
            detail: format!("the media data is {mdat_size} bytes; an MP4 of this kind holds at most 4 GiB"),
        });
    }
    bytes.truncate(top[2].payload.start - 8);
    Ok(Layout { head: bytes, mdat_size })
}

fn layout_error(what: &str) -> VideoError {
    VideoError::Mux { detail: format!("unexpected MP4 layout from the muxer: {what}") }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Track {
    Video,
    Audio,
}

/// Write the real sample sizes and chunk offsets into the layout's `stsz` and `stco` boxes;
/// returns the order of the samples in `mdat`.
///
/// muxide writes one sample per chunk when there is audio (interleaved by time) and one chunk
/// of every sample when there is not; the order of the stand-ins' offsets is the order of the
/// samples, whatever their sizes.
fn patch_tables(
    layout: &mut Layout,
    video_sizes: &[u32],
    audio_sizes: &[u32],
) -> Result<Vec<(Track, usize)>, VideoError> {
    let head = &mut layout.head;
    let data_start = head.len() as u64 + 8;
    let moov = find_box(head, &[b"moov"]).ok_or_else(|| layout_error("no moov"))?;
    let mut tables = Vec::new();
    for trak in child_boxes(head, moov).into_iter().filter(|b| &b.kind == b"trak") {
        let mdia = child(head, trak.payload, b"mdia")?;
        let hdlr = child(head, mdia.clone(), b"hdlr")?;
        let track = match head.get(hdlr.start + 8..hdlr.start + 12) {
            Some(b"vide") => Track::Video,
            Some(b"soun") => Track::Audio,
            _ => return Err(layout_error("a track is neither video nor sound")),
        };
        let stbl = child(head, child(head, mdia, b"minf")?, b"stbl")?;
        tables.push((track, child(head, stbl.clone(), b"stsz")?, child(head, stbl, b"stco")?));
    }
    let mut chunks = Vec::new();
    for (track, stsz, stco) in &tables {
        let sizes = if *track == Track::Video { video_sizes } else { audio_sizes };
        if read_u32(head, stsz.start + 8)? as usize != sizes.len() || stsz.len() != 12 + 4 * sizes.len() {
            return Err(layout_error("a sample size table does not match the samples"));
        }
        for (i, size) in sizes.iter().enumerate() {
            head[stsz.start + 12 + 4 * i..stsz.start + 16 + 4 * i].copy_from_slice(&size.to_be_bytes());
        }
        let count = read_u32(head, stco.start + 4)? as usize;
        if stco.len() != 8 + 4 * count {
            return Err(layout_error("a chunk offset table is malformed"));
        }
        for i in 0..count {
            chunks.push((read_u32(head, stco.start + 8 + 4 * i)?, *track, i, stco.start + 8 + 4 * i));
        }
    }
    let video_only = tables.len() == 1 && chunks.len() == 1;
    if video_only {
        if u64::from(chunks[0].0) != data_start {
            return Err(layout_error("the only chunk does not start the media data"));
        }
        return Ok((0..video_sizes.len()).map(|i| (Track::Video, i)).collect());
    }
    if chunks.len() != video_sizes.len() + audio_sizes.len() {
        return Err(layout_error("the tracks are not one sample per chunk"));
    }
    chunks.sort_by_key(|c| c.0);
    let mut at = data_start;
    let mut order = Vec::with_capacity(chunks.len());
    for (_, track, i, field) in chunks {
        let size = if track == Track::Video { video_sizes[i] } else { audio_sizes[i] };
        head[field..field + 4].copy_from_slice(&(at as u32).to_be_bytes());
        at += u64::from(size);
        order.push((track, i));
    }
    Ok(order)
}

fn child(data: &[u8], range: Range<usize>, kind: &[u8; 4]) -> Result<Range<usize>, VideoError> {
    child_boxes(data, range)
        .into_iter()
        .find(|b| &b.kind == kind)
        .map(|b| b.payload)
        .ok_or_else(|| layout_error(&format!("no {} box", String::from_utf8_lossy(kind))))
}

fn read_u32(data: &[u8], at: usize) -> Result<u32, VideoError> {
    data.get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| layout_error("a table is cut short"))
}

/// One box: its four-character type and the byte range of its payload (after the header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mp4Box {
    pub kind: [u8; 4],
    pub payload: Range<usize>,
}

/// The boxes directly inside `data[range]`, in order; stops at the first malformed header.
pub fn child_boxes(data: &[u8], range: Range<usize>) -> Vec<Mp4Box> {
    let mut boxes = Vec::new();
    let mut at = range.start;
    while at + 8 <= range.end {
        let size32 = u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]) as usize;
        let kind = [data[at + 4], data[at + 5], data[at + 6], data[at + 7]];
        let (header, size) = match size32 {
            0 => (8, range.end - at),
            1 if at + 16 <= range.end => {
                let mut big = [0u8; 8];
                big.copy_from_slice(&data[at + 8..at + 16]);
                (16, usize::try_from(u64::from_be_bytes(big)).unwrap_or(usize::MAX))
            }
            _ => (8, size32),
        };
        if size < header || size > range.end - at {
            break;
        }
        boxes.push(Mp4Box { kind, payload: at + header..at + size });
        at += size;
    }
    boxes
}

/// The payload of the first box found by following `path` from the top level.
pub fn find_box(data: &[u8], path: &[&[u8; 4]]) -> Option<Range<usize>> {
    let mut range = 0..data.len();
    for kind in path {
        range = child_boxes(data, range).into_iter().find(|b| &b.kind == *kind)?.payload;
    }
    Some(range)
}

/// Write `pre_skip` into the audio track's `dOps` box (muxide writes libopus' usual 312).
fn set_opus_pre_skip(mp4: &mut [u8], pre_skip: u16) -> Result<(), VideoError> {
    let missing = || VideoError::Mux { detail: "the muxed file has no Opus dOps box to hold the pre-skip".to_string() };
    let moov = find_box(mp4, &[b"moov"]).ok_or_else(missing)?;
    for trak in child_boxes(mp4, moov).into_iter().filter(|b| &b.kind == b"trak") {
        let stsd = [b"mdia", b"minf", b"stbl", b"stsd"].iter().try_fold(trak.payload.clone(), |range, kind| {
            child_boxes(mp4, range).into_iter().find(|b| &b.kind == *kind).map(|b| b.payload)
        });
        // stsd: version/flags and entry count, then sample entries.
        let Some(stsd) = stsd.filter(|r| r.len() >= 8) else { continue };
        for entry in child_boxes(mp4, stsd.start + 8..stsd.end).into_iter().filter(|b| &b.kind == b"Opus") {
            // An audio sample entry has 28 bytes of fields before its child boxes.
            if entry.payload.len() < 28 {
                continue;
            }
            let children = entry.payload.start + 28..entry.payload.end;
            if let Some(dops) = child_boxes(mp4, children).into_iter().find(|b| &b.kind == b"dOps") {
                // dOps: version (1), output channel count (1), pre-skip (2, big-endian), ...
                if dops.payload.len() >= 4 {
                    mp4[dops.payload.start + 2..dops.payload.start + 4].copy_from_slice(&pre_skip.to_be_bytes());
                    return Ok(());
                }
            }
        }
    }
    Err(missing())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::h264::{H264Params, encode_segment, is_key_frame};
    use crate::media::opus::encode_opus;

    /// muxide given every unit at once (what `write_mp4` must equal byte for byte).
    fn mux_whole(video: &VideoStream<'_>, audio: Option<&OpusAudio>) -> Vec<u8> {
        let fitted = audio.map(|a| fit_audio(a, video.frames.len(), video.fps).unwrap());
        let mut out = Vec::new();
        let format = VideoFormat { width: video.width, height: video.height, fps: video.fps };
        let mut muxer = fast_start_muxer(&mut out, &format, audio.map(|a| a.channels)).unwrap();
        for (index, unit) in video.frames.iter().enumerate() {
            muxer.write_video(index as f64 / f64::from(video.fps), unit, is_key_frame(unit)).unwrap();
        }
        let mut end = 0u64;
        for (packet, len) in fitted.iter().flatten() {
            muxer.write_audio(end as f64 / f64::from(OPUS_SAMPLE_RATE_HZ), packet).unwrap();
            end += *len as u64;
        }
        muxer.finish().unwrap();
        if let Some(a) = audio {
            set_opus_pre_skip(&mut out, a.pre_skip).unwrap();
        }
        out
    }

    fn small_stream(frames: usize) -> Vec<Vec<u8>> {
        let rgb: Vec<Vec<u8>> = (0..frames).map(|t| vec![(t * 20) as u8; 32 * 32 * 3]).collect();
        let refs: Vec<&[u8]> = rgb.iter().map(Vec::as_slice).collect();
        encode_segment(&refs, 32, 32, 25, &H264Params::default()).unwrap()
    }

    #[test]
    fn audio_is_cut_and_padded_to_the_video_within_half_a_packet() {
        // 0.5 s of audio against 1 s and 0.2 s of video at 25 fps.
        let audio = encode_opus(&vec![0.1; 24_000], 1, 64_000).unwrap();
        for frames in [25usize, 5, 7] {
            let fitted = fit_audio(&audio, frames, 25).unwrap();
            let total: usize = fitted.iter().map(|(_, n)| n).sum();
            let real = total as f64 - f64::from(audio.pre_skip);
            let video_samples = frames as f64 * 48_000.0 / 25.0;
            assert!((real - video_samples).abs() <= 480.0, "{frames} frames: {real} vs {video_samples}");
        }
    }

    #[test]
    fn bad_streams_are_errors() {
        let units = small_stream(2);
        fn stream(frames: Vec<&[u8]>) -> VideoStream<'_> {
            VideoStream { width: 32, height: 32, fps: 25, frames }
        }
        assert!(matches!(mux_mp4(&stream(vec![]), None), Err(VideoError::NoFrames)));
        assert!(matches!(mux_mp4(&stream(vec![&units[1]]), None), Err(VideoError::NoKeyFrameFirst)));
        assert!(matches!(
            mux_mp4(&stream(vec![&units[0], b"junk"]), None),
            Err(VideoError::EmptyAccessUnit { index: 1 })
        ));
        let mut bad_fps = stream(vec![&units[0]]);
        bad_fps.fps = 0;
        assert!(matches!(mux_mp4(&bad_fps, None), Err(VideoError::FrameRate { fps: 0 })));
        let audio = OpusAudio { channels: 2, pre_skip: 312, packets: vec![vec![]], samples: 10 };
        assert!(matches!(mux_mp4(&stream(vec![&units[0]]), Some(&audio)), Err(VideoError::OpusPacket { index: 0 })));
    }

    /// Two segments of noisy frames (two key frames, units of many sizes).
    fn two_segments() -> Vec<Vec<u8>> {
        let mut units = Vec::new();
        for seg in 0..2usize {
            let rgb: Vec<Vec<u8>> = (0..7usize)
                .map(|t| (0..32 * 32 * 3).map(|i: usize| ((i * (t + 3 + seg) + i / 97) % 251) as u8).collect())
                .collect();
            let refs: Vec<&[u8]> = rgb.iter().map(Vec::as_slice).collect();
            units.extend(encode_segment(&refs, 32, 32, 25, &H264Params::default()).unwrap());
        }
        units
    }

    fn tone(seconds: f64, channels: usize) -> Vec<f32> {
        let n = (48_000.0 * seconds) as usize;
        (0..n * channels)
            .map(|i| (0.3 * ((i / channels) as f64 * 0.05 * (1 + i % channels) as f64).sin()) as f32)
            .collect()
    }

    #[test]
    fn streamed_files_equal_muxide_given_every_unit() {
        let units = two_segments();
        let sizes: std::collections::BTreeSet<usize> = units.iter().map(Vec::len).collect();
        assert!(sizes.len() > 5, "the units should differ in size: {sizes:?}");
        let frames: Vec<&[u8]> = units.iter().map(Vec::as_slice).collect();
        let stream = VideoStream { width: 32, height: 32, fps: 25, frames };
        // Audio shorter and longer than the 0.56 s of video, mono and stereo.
        for (channels, seconds) in [(1usize, 0.3), (2, 0.9), (2, 0.56)] {
            let audio = encode_opus(&tone(seconds, channels), channels as u16, 64_000).unwrap();
            assert_eq!(
                mux_mp4(&stream, Some(&audio)).unwrap(),
                mux_whole(&stream, Some(&audio)),
                "{channels} ch {seconds} s"
            );
        }
        assert_eq!(mux_mp4(&stream, None).unwrap(), mux_whole(&stream, None));
        let one = VideoStream { frames: vec![stream.frames[0]], ..stream };
        assert_eq!(mux_mp4(&one, None).unwrap(), mux_whole(&one, None));
    }

    /// Units read piece by piece, failing with the reader's own error, or changing between visits.
    struct Flaky<'a> {
        units: &'a [Vec<u8>],
        visits: std::cell::Cell<usize>,
        fail_at: Option<usize>,
        change_on_second_visit: bool,
    }

    #[derive(Debug, PartialEq)]
    enum ReadFail {
        Disk(usize),
        Video(VideoError),
    }

    impl From<VideoError> for ReadFail {
        fn from(e: VideoError) -> Self {
            ReadFail::Video(e)
        }
    }

    impl AccessUnits for Flaky<'_> {
        type Error = ReadFail;
        fn visit(&self, each: &mut EachUnit<'_, ReadFail>) -> Result<(), ReadFail> {
            self.visits.set(self.visits.get() + 1);
            for (i, unit) in self.units.iter().enumerate() {
                if self.fail_at == Some(i) {
                    return Err(ReadFail::Disk(i));
                }
                if self.change_on_second_visit && self.visits.get() == 2 && i == 3 {
                    each(&self.units[2])?;
                } else {
                    each(unit)?;
                }
            }
            Ok(())
        }
    }

    #[test]
    fn a_failing_or_changing_reader_is_an_error() {
        let units = two_segments();
        let format = VideoFormat { width: 32, height: 32, fps: 25 };
        let flaky =
            |fail_at, change| Flaky { units: &units, visits: 0.into(), fail_at, change_on_second_visit: change };
        let mut out = Vec::new();
        assert_eq!(write_mp4(&format, &flaky(Some(5), false), None, &mut out), Err(ReadFail::Disk(5)));
        match write_mp4(&format, &flaky(None, true), None, &mut out) {
            Err(ReadFail::Video(VideoError::Mux { detail })) => {
                assert!(detail.contains("access unit 3 changed"), "{detail}")
            }
            other => panic!("{other:?}"),
        }
        let reader = flaky(None, false);
        let mut out = Vec::new();
        let n = write_mp4(&format, &reader, None, &mut out).unwrap();
        assert_eq!((n as usize, reader.visits.get()), (out.len(), 2));
        let frames: Vec<&[u8]> = units.iter().map(Vec::as_slice).collect();
        assert_eq!(out, mux_whole(&VideoStream { width: 32, height: 32, fps: 25, frames }, None));
    }

    #[test]
    fn the_pre_skip_lands_in_dops() {
        let units = small_stream(3);
        let frames: Vec<&[u8]> = units.iter().map(Vec::as_slice).collect();
        let mut audio = encode_opus(&vec![0.0; 9_600], 2, 64_000).unwrap();
        audio.pre_skip = 400;
        let mp4 = mux_mp4(&VideoStream { width: 32, height: 32, fps: 25, frames }, Some(&audio)).unwrap();
        let top: Vec<[u8; 4]> = child_boxes(&mp4, 0..mp4.len()).into_iter().map(|b| b.kind).collect();
        assert_eq!(top, [*b"ftyp", *b"moov", *b"mdat"]);
        let dops = mp4.windows(4).position(|w| w == b"dOps").unwrap() + 4;
        assert_eq!(u16::from_be_bytes([mp4[dops + 2], mp4[dops + 3]]), 400);
    }
}
