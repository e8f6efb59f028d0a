//! Benchmark: the texture miner (src/textures/) against the Python seed, afterglow-engine, whose
//! `--all` run on one synthetic source set took pads 19 s, drones 7 s, clouds 144 s, hiss 6 s
//! on a 2-core machine (DOMAIN.md §H).
//!
//! `cargo bench --bench textures`.
//!
//! The synthetic source set, built here (44.1 kHz mono, 30 s each, deterministic):
//! - `pad`: a sustained A-minor chord (220, 261.6, 329.6 Hz, each with two soft harmonics) under
//!   a slow 0.2 Hz tremolo of depth 0.3, about −20 dB rms. The seed's `source_audio/` file,
//!   mined for pads.
//! - `bells`: a sustained C-major chord (130.8, 261.6, 329.6, 392 Hz) with a bell strike
//!   (inharmonic partials 1, 2.76, 5.40, 8.93 × 523.3 Hz, 1.2 s decay) every 6 s from 1 s on.
//!   The seed's `pad_sources/` file: drones and two clouds are made from it.
//! - `drums`: a 120 bpm loop of decaying white-noise bursts on every eighth note (beats louder
//!   and longer, 60 ms vs 25 ms decay, off-beats at half level). The seed's `drums/` file, hiss
//!   material.
//!
//! Each category runs with the default settings, as the seed's `--all` run with its default
//! config would: pads = [`pads::mine_pads`] on `pad`; drones = [`drones::make_drones`] on
//! `bells`; clouds = [`clouds::CloudSource::new`] on `bells` then `.cloud(..)` twice (the
//! default `clouds_per_source`); hiss = [`hiss::make_hiss`] from `drums`. Every output is then
//! peak-normalised as the engine exports it (−1 dBFS; clouds −3; hiss loops −6, flickers −3)
//! and measured with [`manifest::analyze`], which is part of each category's time. Not
//! included: decoding source files and writing WAVs (the seed's figures include its file I/O).
//!
//! Times are the best of 3 wall-clock runs per category, single-threaded: the pad miner's
//! feature analysis (`crate::features`) splits its frames over rayon, so the bench first sets
//! rayon's global pool to one thread; nothing else in the texture code starts threads. On a
//! multi-core machine the figures are therefore conservative (the engine also runs categories
//! and sources in parallel).

mod common;

use std::f64::consts::TAU;
use std::time::Duration;

use ntsbuild::dsp::rng::Rng;
use ntsbuild::textures::clouds::{CloudSettings, CloudSource};
use ntsbuild::textures::drones::{DroneCategory, DroneSettings, make_drones, plan_drones};
use ntsbuild::textures::hiss::{HissKind, HissSettings, make_hiss, plan_hiss};
use ntsbuild::textures::manifest::{GradeThresholds, Metrics, analyze, grade};
use ntsbuild::textures::pads::{PadSettings, mine_pads};
use ntsbuild::textures::{Clip, OUTPUT_RATE_HZ, TextureError};

const RUNS: usize = 3;
const SOURCE_S: f64 = 30.0;
const SEED: u64 = 604_512;

/// Best of `RUNS` wall-clock times.
fn best_of<T>(f: impl FnMut() -> T) -> (Duration, T) {
    common::best_of(RUNS, f)
}

fn sample_count() -> usize {
    (SOURCE_S * f64::from(OUTPUT_RATE_HZ)) as usize
}

/// A sustained A-minor chord with a slow tremolo.
fn pad_source() -> Clip {
    let sr = f64::from(OUTPUT_RATE_HZ);
    let chord = [220.0, 261.63, 329.63];
    Clip::mono(
        (0..sample_count())
            .map(|n| {
                let t = n as f64 / sr;
                let tremolo = 1.0 - 0.15 + 0.15 * (TAU * 0.2 * t).sin();
                let tone: f64 = chord
                    .iter()
                    .map(|&f| {
                        0.05 * (TAU * f * t).sin()
                            + 0.015 * (TAU * 2.0 * f * t).sin()
                            + 0.006 * (TAU * 3.0 * f * t).sin()
                    })
                    .sum();
                (tremolo * tone) as f32
            })
            .collect(),
    )
}

/// A sustained C-major chord with a bell strike every 6 s.
fn bell_source() -> Clip {
    let sr = f64::from(OUTPUT_RATE_HZ);
    let chord = [130.81, 261.63, 329.63, 392.0];
    let partials = [(1.0, 1.0), (2.76, 0.5), (5.40, 0.25), (8.93, 0.12)];
    let bell_hz = 523.25;
    Clip::mono(
        (0..sample_count())
            .map(|n| {
                let t = n as f64 / sr;
                let pad: f64 = chord.iter().map(|&f| 0.04 * (TAU * f * t).sin()).sum();
                let since = t - 1.0;
                let bell = if since >= 0.0 {
                    let s = since % 6.0;
                    let env = (-s / 1.2).exp();
                    partials.iter().map(|&(ratio, amp)| 0.15 * amp * env * (TAU * bell_hz * ratio * s).sin()).sum()
                } else {
                    0.0
                };
                (pad + bell) as f32
            })
            .collect(),
    )
}

/// A 120 bpm loop of decaying noise bursts on every eighth note.
fn drum_source() -> Clip {
    let sr = f64::from(OUTPUT_RATE_HZ);
    let eighth = 0.25;
    let mut rng = Rng::new(Rng::derive(SEED, "drums"));
    Clip::mono(
        (0..sample_count())
            .map(|n| {
                let t = n as f64 / sr;
                let step = (t / eighth).floor() as u64;
                let s = t - step as f64 * eighth;
                let (level, decay) = if step.is_multiple_of(2) { (0.6, 0.060) } else { (0.3, 0.025) };
                (level * (-s / decay).exp() * rng.normal().clamp(-3.0, 3.0) / 3.0) as f32
            })
            .collect(),
    )
}

/// Peak-normalises `clip` to `peak_dbfs` as the engine does on export (silent clips unchanged).
fn normalised(clip: &Clip, peak_dbfs: f64) -> Clip {
    let peak = clip.peak();
    if !(peak.is_finite() && peak > 0.0) {
        return clip.clone();
    }
    let gain = 10f64.powf(peak_dbfs / 20.0) as f32 / peak;
    clip.map_channels(|c| c.iter().map(|x| x * gain).collect())
}

/// What one category produced: metrics of the made textures, and why the others were not made.
struct Outcome {
    made: Vec<Metrics>,
    failed: Vec<String>,
}

impl Outcome {
    fn new() -> Self {
        Self { made: Vec::new(), failed: Vec::new() }
    }

    fn add(&mut self, result: Result<Clip, TextureError>, peak_dbfs: f64, is_loop: bool, tonal: bool) {
        match result {
            Ok(clip) => self.made.push(analyze(&normalised(&clip, peak_dbfs), is_loop, tonal)),
            Err(e) => self.failed.push(e.to_string()),
        }
    }

    fn summary(&self) -> String {
        let thresholds = GradeThresholds::default();
        let grades: String = self.made.iter().map(|m| grade(m, &thresholds).to_string()).collect();
        let mut text = format!("{} made, grades {grades}", self.made.len());
        if !self.failed.is_empty() {
            text.push_str(&format!(", {} not made ({})", self.failed.len(), self.failed.join("; ")));
        }
        text
    }
}

fn run_pads(source: &Clip) -> Outcome {
    let mut out = Outcome::new();
    let report = mine_pads(source, &PadSettings::default());
    for pad in report.pads {
        out.add(Ok(pad.clip), -1.0, true, true);
    }
    out
}

fn run_drones(source: &Clip) -> Outcome {
    let settings = DroneSettings::default();
    let mut out = Outcome::new();
    for (item, result) in plan_drones(&settings).into_iter().zip(make_drones(source, &settings)) {
        out.add(result, -1.0, item.category == DroneCategory::Pads, true);
    }
    out
}

fn run_clouds(source: &Clip) -> Outcome {
    let settings = CloudSettings::default();
    let mut out = Outcome::new();
    let prepared = CloudSource::new(source);
    for i in 0..settings.clouds_per_source {
        let seed = Rng::derive(SEED, &format!("cloud{i}"));
        out.add(prepared.cloud(&settings, seed).map(|(clip, _)| clip), -3.0, false, true);
    }
    out
}

fn run_hiss(source: &Clip) -> Outcome {
    let settings = HissSettings::default();
    let mut out = Outcome::new();
    for ((kind, _), result) in plan_hiss(&settings).into_iter().zip(make_hiss(Some(source), &settings, SEED)) {
        let is_loop = kind == HissKind::Loop;
        out.add(result, if is_loop { -6.0 } else { -3.0 }, is_loop, false);
    }
    out
}

fn threads() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Threads:").map(|v| v.trim().to_string())))
        .unwrap_or_else(|| "?".to_string())
}

fn main() {
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average before: {}", load.trim());
    }
    println!(
        "texture miner vs afterglow-engine (DOMAIN.md §H): 3 synthetic {SOURCE_S} s 44.1 kHz mono sources, \
         default settings, best of {RUNS}, single-threaded"
    );
    rayon::ThreadPoolBuilder::new().num_threads(1).build_global().expect("a one-thread rayon pool");
    let (pad, bells, drums) = (pad_source(), bell_source(), drum_source());
    type Run = fn(&Clip) -> Outcome;
    let categories: [(&str, Run, &Clip, f64); 4] = [
        ("pads", run_pads, &pad, 19.0),
        ("drones", run_drones, &bells, 7.0),
        ("clouds", run_clouds, &bells, 144.0),
        ("hiss", run_hiss, &drums, 6.0),
    ];
    let (mut ours_total, mut seed_total) = (0.0, 0.0);
    for (name, run, source, seed_s) in categories {
        let (t, outcome) = best_of(|| run(source));
        let ours = t.as_secs_f64();
        ours_total += ours;
        seed_total += seed_s;
        println!(
            "{name:<7} {ours:8.3} s   seed {seed_s:6.1} s   {:8.1}x faster   ({})",
            seed_s / ours,
            outcome.summary()
        );
    }
    println!(
        "{:<7} {ours_total:8.3} s   seed {seed_total:6.1} s   {:8.1}x faster end to end",
        "total",
        seed_total / ours_total
    );
    println!(
        "rayon pool: {} thread; threads in this process: {} (main + the pool's worker)",
        rayon::current_num_threads(),
        threads()
    );
}
