//! Benchmark: the texture miner against the Python seed, afterglow-engine, in two parts.
//!
//! `cargo bench --bench textures`.
//!
//! **Real recordings, whole process, side by side in one run** (needs the dev set,
//! `NTSBUILD_DEV_AUDIO` or /work/devaudio; afterglow-engine's checkout in `NTSBUILD_AFTERGLOW`
//! and a Python with its requirements in `NTSBUILD_AFTERGLOW_PYTHON`, e.g. a venv under
//! /work/venvs). Six recordings of the dev set, as afterglow's folders take them:
//! `source_audio/` (mined for pads) = `tonal/` ambi_drone, ambi_glass_hum, ambi_haunted_hum,
//! guit_em9; `pad_sources/` (drones, swells, clouds) = ambi_glass_hum, ambi_haunted_hum;
//! `drums/` (hiss) = `drums/` loop_amen_full, loop_tabla (sonic-pi's FLACs, 44.1 kHz stereo).
//! Ours: `ntsbuild -j 2 render` of a `[textures]` recipe naming them, default settings, in a
//! fresh project folder each time (cold: empty cache, every source decoded, every texture made
//! and written). Theirs: `make_textures.py --all` with its default config in a fresh folder each
//! time. The folders of both are removed only after all runs. Afterglow runs first cold (numba
//! compiling librosa's kernels, unless a previous run left numba's on-disk cache), then warm
//! (the cache filled). Median of `OUR_RUNS` runs of ours and `REAL_RUNS` warm runs of theirs,
//! each with the user and system CPU time of its process (the system time is the file system's
//! and the page faults', and moves most from run to run); the ratio that counts is against the
//! warm run. Then where our time goes, per category, in process.
//!
//! **Synthetic sources, per category, in process**, against the seed's figures for one
//! synthetic source set (pads 19 s, drones 7 s, clouds 144 s, hiss 6 s; DOMAIN.md §H, cold):
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
#![allow(clippy::print_stdout, clippy::print_stderr)] // reports measurements

mod common;

use std::f64::consts::TAU;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ntsbuild::dsp::rng::Rng;
use ntsbuild::textures::clouds::{CloudSettings, CloudSource};
use ntsbuild::textures::drones::{DroneCategory, DroneSettings, make_drones, plan_drones};
use ntsbuild::textures::hiss::{HissKind, HissSettings, make_hiss, plan_hiss};
use ntsbuild::textures::manifest::{GradeThresholds, Metrics, analyze, grade};
use ntsbuild::textures::pads::{PadSettings, mine_pads};
use ntsbuild::textures::{Clip, OUTPUT_RATE_HZ, TextureError};

const RUNS: usize = 3;
const REAL_RUNS: usize = 3;
/// Ours takes well under a second: more runs steady its median.
const OUR_RUNS: usize = 5;
const BIN: &str = env!("CARGO_BIN_EXE_ntsbuild");

/// The six recordings: (dev-set path, afterglow folders it goes in).
const RECORDINGS: [(&str, &[&str]); 6] = [
    ("tonal/sonic-pi-samples__ambi_drone.flac", &["source_audio"]),
    ("tonal/sonic-pi-samples__ambi_glass_hum.flac", &["source_audio", "pad_sources"]),
    ("tonal/sonic-pi-samples__ambi_haunted_hum.flac", &["source_audio", "pad_sources"]),
    ("tonal/sonic-pi-samples__guit_em9.flac", &["source_audio"]),
    ("drums/sonic-pi-samples__loop_amen_full.flac", &["drums"]),
    ("drums/sonic-pi-samples__loop_tabla.flac", &["drums"]),
];
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
    match mine_pads(source, &PadSettings::default()) {
        Ok(report) => report.pads.into_iter().for_each(|pad| out.add(Ok(pad.clip), -1.0, true, true)),
        Err(e) => out.add(Err(e), -1.0, true, true),
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
    let prepared = match CloudSource::new(source) {
        Ok(prepared) => prepared,
        Err(e) => {
            out.add(Err(e), -3.0, false, true);
            return out;
        }
    };
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

fn dev_root() -> Option<PathBuf> {
    let root =
        std::env::var_os("NTSBUILD_DEV_AUDIO").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/work/devaudio"));
    RECORDINGS.iter().all(|(rel, _)| root.join(rel).is_file()).then_some(root)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// One whole-process run: wall time, the child's user and system CPU time, and what it made
/// (files saved) and where (the folder, which the caller removes after all runs).
struct Run {
    wall: Duration,
    user: Duration,
    system: Duration,
    files: usize,
    _folder: tempfile::TempDir,
}

/// `name`, the median wall time of `runs` and their median user and system times.
fn report(name: &str, runs: &[Run]) -> Duration {
    let wall = median(runs.iter().map(|r| r.wall).collect());
    let user = median(runs.iter().map(|r| r.user).collect());
    let system = median(runs.iter().map(|r| r.system).collect());
    let (lo, hi) =
        (runs.iter().map(|r| r.wall).min().unwrap_or_default(), runs.iter().map(|r| r.wall).max().unwrap_or_default());
    println!(
        "{name:<34} {:>8.3} s   {} files   (runs {:.3}–{:.3} s; user {:.2} s, system {:.2} s)",
        wall.as_secs_f64(),
        runs[0].files,
        lo.as_secs_f64(),
        hi.as_secs_f64(),
        user.as_secs_f64(),
        system.as_secs_f64()
    );
    wall
}

/// A project with one `[textures.bench]` recipe over the six recordings.
fn our_project(root: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut sources, mut pads, mut drums) = (Vec::new(), Vec::new(), Vec::new());
    for (rel, folders) in RECORDINGS {
        let file = Path::new(rel).file_name().expect("name").to_string_lossy().to_string();
        std::fs::create_dir_all(dir.path().join("audio")).expect("mkdir");
        std::fs::copy(root.join(rel), dir.path().join("audio").join(&file)).expect("copy");
        let quoted = format!("\"audio/{file}\"");
        for folder in folders.iter() {
            match *folder {
                "source_audio" => sources.push(quoted.clone()),
                "pad_sources" => pads.push(quoted.clone()),
                _ => drums.push(quoted.clone()),
            }
        }
    }
    std::fs::write(dir.path().join("Project.toml"), "[project]\nname = \"bench\"\n").expect("write");
    std::fs::create_dir_all(dir.path().join("recipes")).expect("mkdir");
    std::fs::write(
        dir.path().join("recipes/textures.toml"),
        format!(
            "[textures.bench]\nsources = [{}]\npad_sources = [{}]\ndrum_sources = [{}]\n",
            sources.join(", "),
            pads.join(", "),
            drums.join(", ")
        ),
    )
    .expect("write");
    dir
}

/// One cold `ntsbuild -j 2 render` in a fresh project folder (as a new clone renders it: empty
/// cache, no outputs): time, files saved, and the folder, which the caller removes after all
/// runs (removing each before the next run would leave the file system reusing just-deleted
/// inodes, which costs either tool a tenth of a second; afterglow's folders are kept alike).
fn our_run(root: &Path) -> Result<Run, String> {
    let project = our_project(root);
    let mut command = Command::new(BIN);
    command.arg("-p").arg(project.path()).args(["-j", "2", "-q", "render"]);
    let common::Timed { output: out, wall, user, system, .. } = common::timed(command)?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("failed").to_string());
    }
    let manifest =
        std::fs::read_to_string(project.path().join("renders/textures/bench/manifest.csv")).unwrap_or_default();
    let files = manifest.lines().filter(|l| l.contains(",true,")).count();
    Ok(Run { wall, user, system, files, _folder: project })
}

/// A fresh afterglow folder with the recordings in its input folders.
fn afterglow_folder(root: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (rel, folders) in RECORDINGS {
        let file = Path::new(rel).file_name().expect("name");
        for folder in folders.iter() {
            std::fs::create_dir_all(dir.path().join(folder)).expect("mkdir");
            std::fs::copy(root.join(rel), dir.path().join(folder).join(file)).expect("copy");
        }
    }
    dir
}

/// One `make_textures.py --all` in a fresh folder: time, WAVs written, and the folder (removed by
/// the caller after all runs).
fn afterglow_run(root: &Path, checkout: &Path, python: &str) -> Result<Run, String> {
    let dir = afterglow_folder(root);
    let mut command = Command::new(python);
    command.arg(checkout.join("make_textures.py")).args(["--all", "--config", "config.yaml"]).current_dir(dir.path());
    let common::Timed { output: out, wall, user, system, .. } = common::timed(command)?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("failed").to_string());
    }
    let files = count_wavs(&dir.path().join("export"));
    Ok(Run { wall, user, system, files, _folder: dir })
}

fn count_wavs(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() { count_wavs(&p) } else { usize::from(p.extension().is_some_and(|x| x == "wav")) }
        })
        .sum()
}

/// The real-recordings comparison (skipped with a note when its inputs are missing).
fn real_recordings() {
    let Some(root) = dev_root() else {
        println!("real recordings: SKIP (dev set not found; set NTSBUILD_DEV_AUDIO)");
        return;
    };
    println!(
        "real recordings, whole process: 4 pad sources, 2 drone/cloud sources, 2 drum loops (6 files), \
         default settings, median of {OUR_RUNS} (ours) and {REAL_RUNS} (afterglow's warm runs)"
    );
    // Every run's folder is kept until the comparison is done.
    let ours_runs: Result<Vec<_>, String> = (0..OUR_RUNS).map(|_| our_run(&root)).collect();
    let ours = match &ours_runs {
        Ok(runs) => Some(report("ntsbuild -j 2 render, cold cache", runs)),
        Err(e) => {
            println!("ntsbuild failed: {e}");
            None
        }
    };
    let checkout = std::env::var_os("NTSBUILD_AFTERGLOW").map(PathBuf::from);
    let python = std::env::var("NTSBUILD_AFTERGLOW_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let Some(checkout) = checkout.filter(|c| c.join("make_textures.py").is_file()) else {
        println!("afterglow-engine: SKIP (set NTSBUILD_AFTERGLOW to its checkout and NTSBUILD_AFTERGLOW_PYTHON)");
        return;
    };
    let cold = afterglow_run(&root, &checkout, &python);
    let warm: Result<Vec<_>, String> = (0..REAL_RUNS).map(|_| afterglow_run(&root, &checkout, &python)).collect();
    match (cold, warm) {
        (Ok(cold), Ok(warm_runs)) => {
            let cold_t = report("afterglow --all, first (cold) run", std::slice::from_ref(&cold));
            let warm_t = report("afterglow --all, warm", &warm_runs);
            if let Some(ours) = ours {
                println!(
                    "ratio: {:.1}x faster than a warm afterglow run ({:.1}x than its first run)",
                    warm_t.as_secs_f64() / ours.as_secs_f64(),
                    cold_t.as_secs_f64() / ours.as_secs_f64()
                );
            }
        }
        (Err(e), _) | (_, Err(e)) => println!("afterglow-engine failed: {e}"),
    }
    breakdown(&root);
}

/// Our time per category on the same recordings, in process, single run each (all threads).
fn breakdown(root: &Path) {
    use ntsbuild::media::pcm::{PcmLayout, load_pcm};
    let load = |rel: &str| {
        let pcm = load_pcm(&root.join(rel), OUTPUT_RATE_HZ, PcmLayout::Mono).expect("decode");
        Clip::mono(pcm.mono.expect("mono"))
    };
    let start = Instant::now();
    let clips: Vec<(&str, Clip)> = RECORDINGS.iter().map(|(rel, _)| (*rel, load(rel))).collect();
    let decode_t = start.elapsed();
    let with = |folder: &str| -> Vec<&Clip> {
        RECORDINGS.iter().zip(&clips).filter(|((_, f), _)| f.contains(&folder)).map(|(_, (_, c))| c).collect()
    };
    let time = |f: &dyn Fn()| {
        let start = Instant::now();
        f();
        start.elapsed().as_secs_f64() * 1e3
    };
    let pads_ms = time(&|| with("source_audio").into_iter().for_each(|c| drop(run_pads(c))));
    let drones_ms = time(&|| with("pad_sources").into_iter().for_each(|c| drop(run_drones(c))));
    let clouds_ms = time(&|| with("pad_sources").into_iter().for_each(|c| drop(run_clouds(c))));
    let hiss_ms = time(&|| with("drums").into_iter().for_each(|c| drop(run_hiss(c))));
    println!(
        "ours in process ({} rayon threads): decode {:.0} ms, pads {pads_ms:.0} ms, drones {drones_ms:.0} ms, \
         clouds {clouds_ms:.0} ms, hiss {hiss_ms:.0} ms (each including its manifest metrics)",
        rayon::current_num_threads(),
        decode_t.as_secs_f64() * 1e3
    );
}

fn main() {
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average before: {}", load.trim());
    }
    real_recordings();
    println!();
    println!(
        "texture miner vs afterglow-engine (DOMAIN.md §H): 3 synthetic {SOURCE_S} s 44.1 kHz mono sources, \
         default settings, best of {RUNS}, single-threaded"
    );
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("a one-thread rayon pool");
    pool.install(synthetic);
}

/// The synthetic per-category comparison, in a one-thread pool.
fn synthetic() {
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
    println!("rayon pool: {} thread; threads in this process: {}", rayon::current_num_threads(), threads());
}
