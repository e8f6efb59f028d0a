//! Benchmark: what a video segment costs after decoding — postFX alone (the reference step
//! functions, and the fused [`PostFxPipeline`]), H.264 encode alone, postFX + encode together
//! (one stream, and one per core as a render runs segments) at 512² from 256² decoder frames;
//! plus H.264 at 256², MP4 muxing, Opus encoding (× realtime) and the GIF/PNG previews.
//!
//! `cargo bench --bench video`. Numbers are best-of-3 wall-clock times on synthetic content
//! (smooth decoder-like frames with detail; a moving colour gradient with a little texture for
//! the encoder alone; a two-tone stereo sine).

#![allow(clippy::print_stdout, clippy::print_stderr)] // reports measurements

mod common;

use std::time::Duration;

use ntsbuild::media::h264::{H264Params, encode_segment};
use ntsbuild::media::image::{encode_gif, encode_png_rgb8};
use ntsbuild::media::mp4::{VideoStream, mux_mp4};
use ntsbuild::media::opus::encode_opus;
use ntsbuild::postfx::{self, Frame, PostFxParams, PostFxPipeline, ToneCurve, TrailState};

const RUNS: usize = 3;
const FPS: u32 = 30;
/// Frames per measured segment (2 s at 30 fps, the default segment).
const SEGMENT: usize = 60;
const DECODED: usize = 256;
const OUT: usize = 512;

/// Best of `RUNS` wall-clock times.
fn best_of<T>(f: impl FnMut() -> T) -> (Duration, T) {
    common::best_of(RUNS, f)
}

fn frame(size: u32, t: u32) -> Vec<u8> {
    let mut rgb = Vec::with_capacity((size * size * 3) as usize);
    for y in 0..size {
        for x in 0..size {
            // A little deterministic texture so the encoder has detail to code.
            let grain = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503) ^ t) % 9;
            rgb.extend_from_slice(&[
                ((x + 3 * t + grain) % 256) as u8,
                ((y + 2 * t) % 256) as u8,
                ((x + y + t + grain) / 2 % 256) as u8,
            ]);
        }
    }
    rgb
}

/// A decoded segment as the decoder stores it: planar 8-bit RGB, smooth colour fields.
fn decoded_segment() -> Vec<Vec<u8>> {
    (0..SEGMENT)
        .map(|t| {
            let plane = DECODED * DECODED;
            (0..3 * plane)
                .map(|i| {
                    let (c, y, x) = (i / plane, (i / DECODED) % DECODED, i % DECODED);
                    let v = (x as f32 * 0.043 + c as f32 * 1.7 + t as f32 * 0.05).sin()
                        * (y as f32 * 0.031 - t as f32 * 0.03).cos();
                    (127.5 + 120.0 * v) as u8
                })
                .collect()
        })
        .collect()
}

/// The default preset's postFX (the seed's values), with or without trails.
fn params(trails: bool) -> PostFxParams {
    PostFxParams {
        tone_curve: ToneCurve::Filmlog,
        grain_intensity: 0.12,
        chroma_shift: 0.003,
        vignette_strength: 0.25,
        motion_trails: trails,
    }
}

/// The reference chain, step by step (f64 formulas, allocating), as the first version ran it.
fn reference(decoded: &[u8], p: &PostFxParams, n: u64) -> Vec<u8> {
    let mut f =
        Frame { width: DECODED, height: DECODED, data: decoded.iter().map(|&v| f32::from(v) / 255.0).collect() };
    f.clip_unit();
    let mut f = postfx::resize_bilinear(&f, OUT, OUT);
    postfx::apply_tone_curve(&mut f, p.tone_curve);
    postfx::apply_vignette(&mut f, p.vignette_strength);
    postfx::apply_chroma_shift(&mut f, p.chroma_shift);
    postfx::apply_grain(&mut f, p.grain_intensity, 7, n);
    f.clip_unit();
    postfx::to_rgb8(&f)
}

/// The fused pipeline over one segment: RGB8 frames.
fn pipeline_segment(segment: &[Vec<u8>], p: &PostFxParams, first: u64) -> Vec<Vec<u8>> {
    let mut pipeline = PostFxPipeline::new(DECODED, DECODED, OUT, OUT, p);
    let mut trail = TrailState::new();
    segment
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let mut out = vec![0u8; 3 * OUT * OUT];
            pipeline.render_rgb8(d, p, Some(&mut trail), 7, first + i as u64, &mut out);
            out
        })
        .collect()
}

fn encode(frames: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let refs: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
    encode_segment(&refs, OUT as u32, OUT as u32, FPS, &H264Params { qp: 20 }).expect("encode")
}

fn main() {
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average before: {}", load.trim());
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let segment = decoded_segment();
    let n = SEGMENT as f64;
    let rate = |t: Duration| n / t.as_secs_f64();

    println!(
        "postFX + H.264 at {OUT}² from {DECODED}² decoded frames, {SEGMENT}-frame segments, default preset, qp 20"
    );
    let p = params(false);
    let (t_ref, ref_frames) =
        best_of(|| segment.iter().enumerate().map(|(i, d)| reference(d, &p, i as u64)).collect::<Vec<_>>());
    let (t_fused, fused) = best_of(|| pipeline_segment(&segment, &p, 0));
    let pt = params(true);
    let (t_trails, _) = best_of(|| pipeline_segment(&segment, &pt, 0));
    let differing = ref_frames.iter().flatten().zip(fused.iter().flatten()).filter(|(a, b)| a != b).count();
    let worst = ref_frames.iter().flatten().zip(fused.iter().flatten()).map(|(a, b)| a.abs_diff(*b)).max().unwrap_or(0);
    let (t_enc, units) = best_of(|| encode(&fused));
    let (t_both, _) = best_of(|| encode(&pipeline_segment(&segment, &p, 0)));
    // One segment per core at once, as a render runs them.
    let (t_par, _) = best_of(|| {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..cores)
                .map(|k| {
                    let (segment, p) = (&segment, &p);
                    s.spawn(move || encode(&pipeline_segment(segment, p, (k * SEGMENT) as u64)).len())
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("worker")).sum::<usize>()
        })
    });
    let bytes: usize = units.iter().map(Vec::len).sum();
    println!();
    println!("| step, {OUT}² | frames/s | per frame |");
    println!("|---|---|---|");
    let row = |what: &str, fps: f64| println!("| {what} | {fps:.1} | {:.2} ms |", 1e3 / fps);
    row("postFX, reference steps (f64, allocating; the first version)", rate(t_ref));
    row("postFX, fused pipeline", rate(t_fused));
    row("postFX, fused pipeline with motion trails", rate(t_trails));
    row("H.264 encode alone", rate(t_enc));
    row("postFX + encode, 1 stream", rate(t_both));
    row(&format!("postFX + encode, {cores} segments at once"), (cores * SEGMENT) as f64 / t_par.as_secs_f64());
    println!();
    println!(
        "fused vs reference: {:.1}x faster; 8-bit samples differing {:.3}% (max {worst} level), grain drawn by \
         another generator (same distribution)",
        t_ref.as_secs_f64() / t_fused.as_secs_f64(),
        100.0 * differing as f64 / (ref_frames.len() * 3 * OUT * OUT) as f64
    );
    println!("H.264 {OUT}²: {:.0} kbit/s at {FPS} fps", bytes as f64 * 8.0 / (n / f64::from(FPS)) / 1000.0);

    println!();
    let params = H264Params::default();
    let mut last_units = Vec::new();
    for size in [256u32, 512] {
        let frames: Vec<Vec<u8>> = (0..60).map(|t| frame(size, t)).collect();
        let refs: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
        let (t, units) = best_of(|| encode_segment(&refs, size, size, FPS, &params).expect("encode"));
        let bytes: usize = units.iter().map(Vec::len).sum();
        println!(
            "h264 encode {size}x{size} gradient, qp {}: {:.1} frames/s ({} frames in {:.3} s, {:.0} kbit/s at {FPS} fps)",
            params.qp,
            frames.len() as f64 / t.as_secs_f64(),
            frames.len(),
            t.as_secs_f64(),
            bytes as f64 * 8.0 / (frames.len() as f64 / f64::from(FPS)) / 1000.0
        );
        last_units = units;
    }

    let seconds = 60.0;
    let pcm: Vec<f32> = (0..(seconds * 48_000.0) as usize)
        .flat_map(|i| {
            let t = i as f32 / 48_000.0;
            [0.4 * (std::f32::consts::TAU * 440.0 * t).sin(), 0.3 * (std::f32::consts::TAU * 660.0 * t).sin()]
        })
        .collect();
    let (t, audio) = best_of(|| encode_opus(&pcm, 2, 128_000).expect("opus"));
    println!(
        "opus encode stereo 128 kbit/s: {:.1}x realtime ({seconds} s in {:.3} s)",
        seconds / t.as_secs_f64(),
        t.as_secs_f64()
    );

    // Mux 60 s of 512² video (the 60 encoded frames repeated) with the 60 s of audio.
    let frames: Vec<&[u8]> = (0..(seconds as usize * FPS as usize)).map(|i| last_units[i % 60].as_slice()).collect();
    let stream = VideoStream { width: 512, height: 512, fps: FPS, frames };
    let (t, mp4) = best_of(|| mux_mp4(&stream, Some(&audio)).expect("mux"));
    println!(
        "mp4 mux {} frames + {} opus packets: {:.1} ms ({:.1} MB)",
        stream.frames.len(),
        audio.packets.len(),
        t.as_secs_f64() * 1e3,
        mp4.len() as f64 / 1e6
    );

    let previews: Vec<Vec<u8>> = (0..24).map(|t| frame(512, t)).collect();
    let refs: Vec<&[u8]> = previews.iter().map(Vec::as_slice).collect();
    let (t, gif) = best_of(|| encode_gif(512, 512, &refs, 8).expect("gif"));
    println!("gif 24 frames 512x512: {:.1} ms ({:.1} kB)", t.as_secs_f64() * 1e3, gif.len() as f64 / 1e3);
    let (t, png) = best_of(|| encode_png_rgb8(512, 512, &previews[0]).expect("png"));
    println!("png 512x512: {:.1} ms ({:.1} kB)", t.as_secs_f64() * 1e3, png.len() as f64 / 1e3);
}
