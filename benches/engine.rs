//! Engine benchmark: whole-process no-op `render` of the demo project and of generated projects
//! (200 and 1,000 artifacts), and cold render throughput of kit voices.
//!
//! Run: `cargo bench --bench engine`. Numbers go in the README.
#![allow(clippy::print_stdout, clippy::print_stderr)] // reports measurements

mod common;

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

/// The demo project as a user has it after `render`: a no-op must cost little more than
/// starting the process and one stat per input.
fn demo_no_op() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(repo.join("Project.toml"), dir.path().join("Project.toml")).unwrap();
    for d in ["recipes", "models", "audio"] {
        common::copy_dir(&repo.join(d), &dir.path().join(d));
    }
    // A warm store: the repository's own cache when it has one, else one cold render first.
    if repo.join("cache/cas").is_dir() {
        common::copy_dir(&repo.join("cache"), &dir.path().join("cache"));
    }
    let first = render(dir.path(), &[]);
    let artifacts = Command::new(BIN).arg("-p").arg(dir.path()).arg("list").output().unwrap();
    let n =
        String::from_utf8_lossy(&artifacts.stdout).lines().filter(|l| l.starts_with("  ") && l.contains('/')).count();
    println!("demo render before the no-op runs (restores from the store when warm): {:.2} s", first.as_secs_f64());
    let runs: Vec<Duration> = (0..21).map(|_| render(dir.path(), &[])).collect();
    println!(
        "no-op render, the demo ({n} artifacts): median {:.1} ms, min {:.1} ms over 21 runs (goal ≤ 30 ms)",
        median(runs.clone()).as_secs_f64() * 1e3,
        runs.iter().min().unwrap().as_secs_f64() * 1e3
    );
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    println!("ntsbuild engine benchmark ({} cores)", std::thread::available_parallelism().map_or(1, |n| n.get()));
    demo_no_op();
    for (kits, budget_ms) in [(50usize, 30u128), (250, 30)] {
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
        let len_s = render_voice(inst, &params, 0, 48_000).len() as f64 / 48_000.0;
        println!(
            "{:>5} voice at its defaults ({len_s:.2} s at 48 kHz, 4x oversampled): {:.1} ms each, {:.0} voices/s on one core (seed engine: 0.5-1.5 s per 0.5 s voice)",
            inst.name(),
            per * 1e3,
            1.0 / per
        );
    }
}
