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

use super::h264::{FPS_RANGE, is_key_frame, is_stream_start, nal_types};
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

fn check_video(video: &VideoStream<'_>) -> Result<(), VideoError> {
    if video.width == 0 || video.height == 0 || video.width > MAX_SIDE || video.height > MAX_SIDE {
        return Err(VideoError::Dimensions {
            width: video.width,
            height: video.height,
            allowed: "width and height must be 1..=65535",
        });
    }
    if !FPS_RANGE.contains(&video.fps) {
        return Err(VideoError::FrameRate { fps: video.fps });
    }
    let first = video.frames.first().ok_or(VideoError::NoFrames)?;
    for (index, unit) in video.frames.iter().enumerate() {
        if nal_types(unit).is_empty() {
            return Err(VideoError::EmptyAccessUnit { index });
        }
    }
    if !is_stream_start(first) {
        return Err(VideoError::NoKeyFrameFirst);
    }
    Ok(())
}

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

/// Fast-start MP4 (moov before mdat) with H.264 video and optional Opus audio; key frames
/// detected from the NAL types. No timestamps or other varying data in the bytes: same input
/// ⇒ same bytes. The audio track is cut or padded so that audio and video durations agree
/// within one video frame (within 10 ms: half an Opus packet).
pub fn mux_mp4(video: &VideoStream<'_>, audio: Option<&OpusAudio>) -> Result<Vec<u8>, VideoError> {
    check_video(video)?;
    let fitted = audio.map(|a| fit_audio(a, video.frames.len(), video.fps)).transpose()?;
    let mux_err = |e: muxide::api::MuxerError| VideoError::Mux { detail: e.to_string() };

    let mut out = Vec::new();
    let mut builder = MuxerBuilder::new(&mut out)
        .video(VideoCodec::H264, video.width, video.height, f64::from(video.fps))
        .with_fast_start(true);
    if let Some(a) = audio {
        builder = builder.audio(AudioCodec::Opus, OPUS_SAMPLE_RATE_HZ, a.channels);
    }
    let mut muxer = builder.build().map_err(mux_err)?;
    for (index, unit) in video.frames.iter().enumerate() {
        let pts_s = index as f64 / f64::from(video.fps);
        muxer.write_video(pts_s, unit, is_key_frame(unit)).map_err(mux_err)?;
    }
    let mut audio_end = 0u64;
    for (packet, len) in fitted.iter().flatten() {
        muxer.write_audio(audio_end as f64 / f64::from(OPUS_SAMPLE_RATE_HZ), packet).map_err(mux_err)?;
        audio_end += *len as u64;
    }
    muxer.finish().map_err(mux_err)?;

    if let Some(a) = audio {
        set_opus_pre_skip(&mut out, a.pre_skip)?;
    }
    Ok(out)
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
    use crate::media::h264::{H264Params, encode_segment};
    use crate::media::opus::encode_opus;

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
