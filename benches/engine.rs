//! Engine benchmark: whole-process no-op `render` on generated projects (200 and 1,000
//! artifacts), and cold render throughput of kit voices.
//!
//! Run: `cargo bench --bench engine`. Numbers go in the README.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ntsbuild::kit::{Instrument, VoiceParams, render_voice};

const BIN: &str = env!("CARGO_BIN_EXE_ntsbuild");

fn project(dir: &Path, kits: usize) {
    std::fs::create_dir_all(dir.join("recipes")).unwrap();
    std::fs::write(dir.join("Project.toml"), "[project]\nname = \"bench\"\n").unwrap();
    let mut text = String::new();
    for i in 0..kits {
        text.push_str(&format!(
            "[kit.k{i:04}.kick]\nseed = {i}\n[kit.k{i:04}.snare]\nseed = {i}\n[kit.k{i:04}.hat]\nseed = {i}\n"
        ));
    }
    std::fs::write(dir.join("recipes/kits.toml"), text).unwrap();
}

fn render(dir: &Path, extra: &[&str]) -> Duration {
    let t = Instant::now();
    let out = Command::new(BIN).arg("-p").arg(dir).arg("render").arg("-q").args(extra).output().unwrap();
    let elapsed = t.elapsed();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    elapsed
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    println!("ntsbuild engine benchmark ({} cores)", std::thread::available_parallelism().map_or(1, |n| n.get()));
    for (kits, budget_ms) in [(50usize, 90u128), (250, 150)] {
        let dir = tempfile::tempdir().unwrap();
        project(dir.path(), kits);
        let artifacts = kits * 4;
        let cold = render(dir.path(), &[]);
        let voices = kits * 3;
        println!(
            "cold render, {artifacts} artifacts ({voices} voices + {kits} zips): {:.2} s = {:.0} voices/s end to end",
            cold.as_secs_f64(),
            voices as f64 / cold.as_secs_f64()
        );
        let runs: Vec<Duration> = (0..21).map(|_| render(dir.path(), &[])).collect();
        let med = median(runs.clone());
        println!(
            "no-op render, {artifacts} artifacts: median {:.1} ms, min {:.1} ms over 21 runs (goal ≤ {budget_ms} ms) — DVC 9.0 s / Snakemake 1.24 s for 200 stages",
            med.as_secs_f64() * 1e3,
            runs.iter().min().unwrap().as_secs_f64() * 1e3
        );
    }
    for inst in Instrument::ALL {
        let params = VoiceParams::defaults(inst);
        let n = 40;
        let t = Instant::now();
        for seed in 0..n {
            std::hint::black_box(render_voice(inst, &params, seed, 48_000));
        }
        let per = t.elapsed().as_secs_f64() / n as f64;
        println!(
            "{:>5} voice (0.5 s at 48 kHz, 4x oversampled): {:.1} ms each, {:.0} voices/s on one core (seed engine: 0.5-1.5 s per voice)",
            inst.name(),
            per * 1e3,
            1.0 / per
        );
    }
}
