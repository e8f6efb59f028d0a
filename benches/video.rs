//! Benchmark: H.264 segment encoding (frames/s at 256² and 512²), MP4 muxing, Opus encoding
//! (× realtime), and the GIF/PNG previews.
//!
//! `cargo bench --bench video`. Numbers are best-of-3 wall-clock times on synthetic content
//! (a moving colour gradient with a little texture, a two-tone stereo sine).

mod common;

use std::time::Duration;

use ntsbuild::media::h264::{H264Params, encode_segment};
use ntsbuild::media::image::{encode_gif, encode_png_rgb8};
use ntsbuild::media::mp4::{VideoStream, mux_mp4};
use ntsbuild::media::opus::encode_opus;

const RUNS: usize = 3;
const FPS: u32 = 30;

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

fn main() {
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average before: {}", load.trim());
    }
    let params = H264Params::default();
    let mut last_units = Vec::new();
    for size in [256u32, 512] {
        let frames: Vec<Vec<u8>> = (0..60).map(|t| frame(size, t)).collect();
        let refs: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
        let (t, units) = best_of(|| encode_segment(&refs, size, size, FPS, &params).expect("encode"));
        let bytes: usize = units.iter().map(Vec::len).sum();
        println!(
            "h264 encode {size}x{size}, qp {}: {:.1} frames/s ({} frames in {:.3} s, {:.0} kbit/s at {FPS} fps)",
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
