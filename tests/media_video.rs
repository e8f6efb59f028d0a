//! End-to-end checks of the video encoders: H.264 segments + Opus muxed into a fast-start MP4,
//! decoded back and (when ffprobe is installed) read by ffmpeg.
#![allow(clippy::print_stdout, clippy::print_stderr)] // reports measurements

use std::process::Command;

use ntsbuild::media::h264::{H264Params, decode_frames, encode_segment, is_key_frame, is_stream_start};
use ntsbuild::media::mp4::{VideoStream, child_boxes, find_box, mux_mp4};
use ntsbuild::media::opus::{OpusAudio, encode_opus};

const W: u32 = 256;
const H: u32 = 256;
const FPS: u32 = 30;
const FRAMES: usize = 64;
const SEGMENT: usize = 32;

/// A smooth colour gradient that moves a few pixels per frame (no wrap-around edges: a hard
/// red/cyan edge inside a 2×2 block is what 4:2:0 chroma cannot keep, codec or not).
fn gradient_frame(t: usize) -> Vec<u8> {
    let mut rgb = Vec::with_capacity((W * H * 3) as usize);
    for y in 0..H as usize {
        for x in 0..W as usize {
            let r = (x + 3 * t) / 2;
            let g = (y + 2 * t) / 2;
            let b = (x + y + t) / 4;
            rgb.extend_from_slice(&[r as u8, g as u8, b as u8]);
        }
    }
    rgb
}

fn stereo_sine(seconds: f64) -> Vec<f32> {
    let n = (seconds * 48_000.0).round() as usize;
    (0..n)
        .flat_map(|i| {
            let t = i as f64 / 48_000.0;
            [
                (0.4 * (std::f64::consts::TAU * 440.0 * t).sin()) as f32,
                (0.3 * (std::f64::consts::TAU * 660.0 * t).sin()) as f32,
            ]
        })
        .collect()
}

fn psnr_db(a: &[u8], b: &[u8]) -> f64 {
    let mse = a.iter().zip(b).map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2)).sum::<f64>() / a.len() as f64;
    10.0 * (255.0f64 * 255.0 / mse.max(1e-12)).log10()
}

struct Render {
    segments: Vec<Vec<Vec<u8>>>,
    audio: OpusAudio,
    mp4: Vec<u8>,
}

fn render(frames: &[Vec<u8>]) -> Render {
    let segments: Vec<Vec<Vec<u8>>> = frames
        .chunks(SEGMENT)
        .map(|chunk| {
            let refs: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
            encode_segment(&refs, W, H, FPS, &H264Params::default()).expect("encode segment")
        })
        .collect();
    let audio = encode_opus(&stereo_sine(FRAMES as f64 / f64::from(FPS)), 2, 128_000).expect("encode opus");
    let units: Vec<&[u8]> = segments.iter().flatten().map(Vec::as_slice).collect();
    let mp4 = mux_mp4(&VideoStream { width: W, height: H, fps: FPS, frames: units }, Some(&audio)).expect("mux");
    Render { segments, audio, mp4 }
}

fn be32(data: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
}

/// What the MP4's sample tables say about one track.
struct TrackInfo {
    samples: u32,
    duration_ticks: u64,
    timescale: u32,
}

fn track(mp4: &[u8], handler: &[u8; 4]) -> TrackInfo {
    let moov = find_box(mp4, &[b"moov"]).expect("moov");
    for trak in child_boxes(mp4, moov).into_iter().filter(|b| &b.kind == b"trak") {
        let mdia = child_boxes(mp4, trak.payload).into_iter().find(|b| &b.kind == b"mdia").expect("mdia").payload;
        let child = |range: std::ops::Range<usize>, kind: &[u8; 4]| {
            child_boxes(mp4, range).into_iter().find(|b| &b.kind == kind).expect("box").payload
        };
        let hdlr = child(mdia.clone(), b"hdlr");
        if &mp4[hdlr.start + 8..hdlr.start + 12] != handler {
            continue;
        }
        let mdhd = child(mdia.clone(), b"mdhd");
        assert_eq!(mp4[mdhd.start], 0, "mdhd version 0 expected");
        assert_eq!(be32(mp4, mdhd.start + 4), 0, "creation time must be 0");
        let timescale = be32(mp4, mdhd.start + 12);
        let stbl = child(child(mdia, b"minf"), b"stbl");
        let stsz = child(stbl.clone(), b"stsz");
        let stts = child(stbl, b"stts");
        let entries = be32(mp4, stts.start + 4) as usize;
        let duration_ticks = (0..entries)
            .map(|i| u64::from(be32(mp4, stts.start + 8 + 8 * i)) * u64::from(be32(mp4, stts.start + 12 + 8 * i)))
            .sum();
        return TrackInfo { samples: be32(mp4, stsz.start + 8), duration_ticks, timescale };
    }
    panic!("no {} track", String::from_utf8_lossy(handler));
}

#[test]
fn segments_mux_into_a_fast_start_mp4_that_decodes_back() {
    let frames: Vec<Vec<u8>> = (0..FRAMES).map(gradient_frame).collect();
    let out = render(&frames);

    // Every segment starts with an IDR frame carrying SPS/PPS; the rest predict.
    assert_eq!(out.segments.len(), FRAMES / SEGMENT);
    for segment in &out.segments {
        assert_eq!(segment.len(), SEGMENT);
        assert!(is_stream_start(&segment[0]));
        assert!(segment[1..].iter().all(|u| !is_key_frame(u)));
    }

    // Fast start: ftyp, then moov, then mdat.
    let top: Vec<[u8; 4]> = child_boxes(&out.mp4, 0..out.mp4.len()).into_iter().map(|b| b.kind).collect();
    assert_eq!(top, [*b"ftyp", *b"moov", *b"mdat"]);

    // Decoding the concatenated segments gives every frame back at high quality.
    let units: Vec<&[u8]> = out.segments.iter().flatten().map(Vec::as_slice).collect();
    let decoded = decode_frames(&units).expect("decode");
    assert_eq!(decoded.len(), FRAMES);
    let mut worst = f64::INFINITY;
    for ((w, h, rgb), original) in decoded.iter().zip(&frames) {
        assert_eq!((*w, *h), (W, H));
        worst = worst.min(psnr_db(rgb, original));
    }
    assert!(worst >= 35.0, "worst frame PSNR {worst:.2} dB");
    println!("worst frame PSNR {worst:.2} dB, {} bytes of MP4", out.mp4.len());

    // The tables: one video sample per frame; audio ends within a frame of the video.
    let video = track(&out.mp4, b"vide");
    assert_eq!(video.samples as usize, FRAMES);
    let video_s = video.duration_ticks as f64 / f64::from(video.timescale);
    assert!((video_s - FRAMES as f64 / f64::from(FPS)).abs() < 1e-9, "video lasts {video_s} s");
    let audio = track(&out.mp4, b"soun");
    let audio_s = audio.duration_ticks as f64 / f64::from(audio.timescale) - f64::from(out.audio.pre_skip) / 48_000.0;
    assert!((audio_s - video_s).abs() <= 1.0 / f64::from(FPS), "audio {audio_s} s vs video {video_s} s");

    // Same input, same bytes.
    let again = render(&frames);
    assert!(again.mp4 == out.mp4, "a second render gave different bytes");
}

#[test]
fn short_audio_is_padded_and_long_audio_cut() {
    let frames: Vec<Vec<u8>> = (0..8).map(gradient_frame).collect();
    let refs: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
    let units = encode_segment(&refs, W, H, FPS, &H264Params::default()).unwrap();
    let stream = VideoStream { width: W, height: H, fps: FPS, frames: units.iter().map(Vec::as_slice).collect() };
    let video_s = 8.0 / f64::from(FPS);
    for audio_s in [0.05, video_s, 3.0] {
        let audio = encode_opus(&stereo_sine(audio_s), 2, 96_000).unwrap();
        let mp4 = mux_mp4(&stream, Some(&audio)).unwrap();
        let track = track(&mp4, b"soun");
        let real_s = track.duration_ticks as f64 / f64::from(track.timescale) - f64::from(audio.pre_skip) / 48_000.0;
        assert!((real_s - video_s).abs() <= 0.010 + 1e-9, "{audio_s} s of audio became {real_s} s");
    }
}

fn ffprobe_available() -> bool {
    Command::new("ffprobe").arg("-version").output().is_ok_and(|o| o.status.success())
}

#[test]
fn ffprobe_reads_h264_and_opus_with_the_right_frame_count() {
    if !ffprobe_available() {
        println!("SKIP: ffprobe not found; install ffmpeg to run this check");
        return;
    }
    let frames: Vec<Vec<u8>> = (0..FRAMES).map(gradient_frame).collect();
    let out = render(&frames);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("video.mp4");
    std::fs::write(&path, &out.mp4).unwrap();
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-show_entries", "stream=codec_name,nb_read_frames,duration"])
        .args(["-show_entries", "format=duration", "-of", "json"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(probe.status.success(), "ffprobe failed: {}", String::from_utf8_lossy(&probe.stderr));
    assert!(probe.stderr.is_empty(), "ffprobe complained: {}", String::from_utf8_lossy(&probe.stderr));
    let json: serde_json::Value = serde_json::from_slice(&probe.stdout).unwrap();
    let streams = json["streams"].as_array().unwrap();
    let stream = |codec: &str| streams.iter().find(|s| s["codec_name"] == codec).unwrap_or_else(|| panic!("{json}"));
    let seconds = |v: &serde_json::Value| v.as_str().and_then(|s| s.parse::<f64>().ok()).unwrap();
    let video = stream("h264");
    assert_eq!(video["nb_read_frames"].as_str(), Some(FRAMES.to_string().as_str()), "{json}");
    let video_s = FRAMES as f64 / f64::from(FPS);
    assert!((seconds(&video["duration"]) - video_s).abs() < 0.001, "{json}");
    let audio = stream("opus");
    assert!((seconds(&audio["duration"]) - video_s).abs() <= 1.0 / f64::from(FPS), "{json}");
    assert!((seconds(&json["format"]["duration"]) - video_s).abs() <= 1.0 / f64::from(FPS), "{json}");

    // A full decode by ffmpeg reports no errors.
    let decode = Command::new("ffmpeg").args(["-v", "error", "-i"]).arg(&path).args(["-f", "null", "-"]).output();
    if let Ok(decode) = decode {
        assert!(decode.status.success() && decode.stderr.is_empty(), "{}", String::from_utf8_lossy(&decode.stderr));
    }
}
