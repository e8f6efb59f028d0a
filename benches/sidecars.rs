//! Benchmark: sidecars for 100 one-minute sources at 75 fps with const + lin + rms_db — the
//! domain and format path (producers, merge, norms, `.npy` + `.json` bytes), against the
//! seed's producers written in numpy (`benches/sidecars_peer.py`) in the same run.
//!
//! `cargo bench --bench sidecars`. The peer runs with `NTSBUILD_PYTHON` (default `python3`)
//! when it has numpy. Signals are synthetic (a swelling sine per source, 48 kHz) and made
//! outside the timed part; each source is timed as the best of `RUNS`, and the times summed.
//! Then the whole process: `ntsbuild render` of a `[sidecars.NAME]` target over the same 100
//! sources written as 16-bit WAV files (decode, producers, pairs, store, lock), cold and as a
//! no-op, with `-j` = all cores.

#![allow(clippy::print_stdout, clippy::print_stderr)] // reports measurements

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ntsbuild::media::sidecar::encode_pair;
use ntsbuild::producers::{
    AudioColumn, AudioInput, Grid, ProducerParams, SidecarParams, SourceInput, SourceLength, build_sidecar,
};

const SOURCES: usize = 100;
const DURATION_S: usize = 60;
const SAMPLE_RATE_HZ: u32 = 48_000;
const FPS: u32 = 75;
const RUNS: usize = 3;

fn signal(i: usize) -> Vec<f32> {
    let sr = f64::from(SAMPLE_RATE_HZ);
    (0..DURATION_S * SAMPLE_RATE_HZ as usize)
        .map(|n| {
            let t = n as f64 / sr;
            let tone = (2.0 * std::f64::consts::PI * (110.0 + 7.0 * i as f64) * t).sin();
            let swell = 0.5 + 0.5 * (2.0 * std::f64::consts::PI * 0.25 * t).sin();
            (0.5 * tone * swell) as f32
        })
        .collect()
}

fn peer_seconds() -> Option<f64> {
    let python = std::env::var("NTSBUILD_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/sidecars_peer.py");
    let args = [SOURCES, DURATION_S, SAMPLE_RATE_HZ as usize, FPS as usize].map(|v| v.to_string());
    let out = Command::new(&python).arg(&script).args(&args).output().ok()?;
    if !out.status.success() {
        println!(
            "numpy peer: not measured ({python}: {})",
            String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("failed")
        );
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().find_map(|l| l.strip_prefix("seconds")).and_then(|v| v.trim().parse().ok())
}

/// Cold and no-op `ntsbuild render` of a sidecar target over the sources as WAV files.
fn whole_process() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("audio")).expect("audio dir");
    std::fs::create_dir_all(root.join("recipes")).expect("recipes dir");
    std::fs::write(root.join("Project.toml"), "[project]\nname = \"sidecars-bench\"\n").expect("Project.toml");
    std::fs::write(
        root.join("recipes/sidecars.toml"),
        format!(
            "[sidecars.bench]\nsources = [\"audio/*.wav\"]\nfps = {FPS}\nproducers = [\n  \
             {{ kind = \"const\", values = {{ scene_id = 7 }} }},\n  \
             {{ kind = \"lin\", values = {{ progress = [0.0, 1.0] }} }},\n  \
             {{ kind = \"audio\", columns = [\"rms_db\"] }},\n]\n"
        ),
    )
    .expect("recipe");
    for i in 0..SOURCES {
        let wav = ntsbuild::media::wav::encode_pcm(&[&signal(i)], SAMPLE_RATE_HZ, 16).expect("wav");
        std::fs::write(root.join(format!("audio/source_{i:03}.wav")), wav).expect("write wav");
    }
    // Flush the 576 MB just written, so that the render's own fsyncs do not wait for them.
    let _ = Command::new("sync").status();
    let render = || {
        let t = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_ntsbuild"))
            .arg("-p")
            .arg(root)
            .args(["render", "-q"])
            .output()
            .expect("ntsbuild runs");
        assert!(out.status.success(), "render failed: {}", String::from_utf8_lossy(&out.stderr));
        t.elapsed().as_secs_f64()
    };
    let cold = render();
    let noop = render();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("whole process, {SOURCES} WAV files, -j {cores}:");
    println!("  cold render                     {:>8.2} s   {:>8.1} sources/s", cold, SOURCES as f64 / cold);
    println!("  no-op render                    {:>8.3} s", noop);
}

fn main() {
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average before: {}", load.trim());
    }
    let grid = Grid::Fps { fps: f64::from(FPS) };
    let params = SidecarParams {
        grid,
        producers: vec![
            ProducerParams::Const { values: BTreeMap::from([("scene_id".to_string(), 7.0)]) },
            ProducerParams::Lin { values: BTreeMap::from([("progress".to_string(), [0.0, 1.0])]) },
            ProducerParams::Audio { columns: vec![AudioColumn::RmsDb] },
        ],
    };
    let mut total = Duration::ZERO;
    let mut bytes = 0usize;
    let mut frames = 0usize;
    for i in 0..SOURCES {
        let x = signal(i);
        let name = format!("source_{i:03}.wav");
        let source = SourceInput {
            name: &name,
            file_name: &name,
            length: SourceLength { samples: x.len() as u64, sample_rate_hz: SAMPLE_RATE_HZ },
            audio: Some(AudioInput { samples: &x, sample_rate_hz: SAMPLE_RATE_HZ, features: None }),
        };
        let (t, pair) = common::best_of(RUNS, || {
            let table = build_sidecar(&params, &source, &BTreeMap::new()).expect("sidecar");
            frames = table.frames;
            encode_pair(&table, &grid, "0000", &params.producers).expect("pair")
        });
        total += t;
        bytes += pair.npy.len() + pair.json.len();
    }
    let per_s = |secs: f64| SOURCES as f64 / secs;
    println!(
        "{SOURCES} sources × {DURATION_S} s at {SAMPLE_RATE_HZ} Hz, {FPS} fps (T = {frames}), const + lin + rms_db, one thread, best of {RUNS} per source"
    );
    println!(
        "ntsbuild producers + pair bytes   {:>8.1} ms  {:>8.0} sources/s  ({} bytes)",
        total.as_secs_f64() * 1e3,
        per_s(total.as_secs_f64()),
        bytes
    );
    if let Some(peer) = peer_seconds() {
        println!("numpy (the seed's producers)      {:>8.1} ms  {:>8.0} sources/s", peer * 1e3, per_s(peer));
        println!("ratio numpy/ours                  {:>8.1}x", peer / total.as_secs_f64());
    }
    whole_process();
}
