//! Benchmark: decoder frames/s at 256² for the committed `models/decoder.onnx` and the first
//! formulation of the same network (`tests/fixtures/models/decoder_first.onnx`, the previous
//! `models/decoder.onnx`), on every backend behind the `ort` API, side by side:
//! - tract through the `ort` API with the model as it is: the decoder before (`tract-raw`);
//! - tract through [`Decoder`], which fixes the batch and rewrites `Sin` first
//!   (`src/decoder/tract_graph.rs`): the default path now;
//! - candle, the other embedded backend (`--features bench-candle`, needs `protoc`);
//! - ONNX Runtime through [`Decoder`] (`ORT_DYLIB_PATH`).
//!
//! It also prints how far the images of the formulations and of the backends are apart.
//!
//! `ORT_DYLIB_PATH=/path/to/libonnxruntime.so.1.NN.N cargo bench --bench decoder` (1.24 or
//! newer, e.g. `onnxruntime/capi/` from the onnxruntime Python wheel). Without it, or when the
//! library cannot be loaded, the bench says why ONNX Runtime was skipped and reports the rest.
//!
//! A process holds one ONNX backend (`src/decoder/runtime.rs`), so each backend runs in a
//! child process (this executable re-run with [`CHILD_ENV`] set to `tract-raw`, `tract`,
//! `candle` or `onnxruntime` and [`DIR_ENV`] to a scratch folder); children print their figures
//! on stdout and leave decoded frames in the folder for the comparisons.
//!
//! Each figure is the best of 3 timed runs after one untimed warm-up, on the CPU: "1 stream" is
//! one decoder on one thread (ONNX Runtime: its default intra-op pool, one thread per core, as
//! a render uses it); "N workers" is how a render decodes — one decoder per worker thread, one
//! worker per core, splitting the frames.

#![allow(clippy::print_stdout, clippy::print_stderr)] // reports measurements

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ntsbuild::decoder::{Backend, Decoder, DecoderOptions, LATENT_LEN};
use ntsbuild::dsp::rng::Rng;

const RUNS: usize = 3;
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const COMMITTED: &str = "models/decoder.onnx";
const FIRST: &str = "tests/fixtures/models/decoder_first.onnx";
/// Set in a child process: the backend it measures.
const CHILD_ENV: &str = "NTSBUILD_DECODER_BENCH_CHILD";
/// Set in a child process: where it leaves its frames.
const DIR_ENV: &str = "NTSBUILD_DECODER_BENCH_DIR";
/// Latents per timed run (and the accuracy comparison's).
const FRAMES: usize = 48;
/// Latents per timed run of the slow "model as it is" tract runs.
const SLOW_FRAMES: usize = 12;

/// Best of `RUNS` wall-clock times.
fn best_of<T>(f: impl FnMut() -> T) -> (Duration, T) {
    common::best_of(RUNS, f)
}

/// `count` deterministic latents: N(0, 1) values, the same in every process.
fn latents(count: usize) -> Vec<f32> {
    let mut rng = Rng::new(Rng::derive(2026, "decoder-bench"));
    (0..count * LATENT_LEN).map(|_| rng.normal() as f32).collect()
}

fn model_name(model: &str) -> &'static str {
    if model == COMMITTED { "committed" } else { "first" }
}

fn frame_file(dir: &Path, backend: &str, model: &str) -> PathBuf {
    dir.join(format!("{backend}-{}.f32", model_name(model)))
}

fn read_model(model: &str) -> Vec<u8> {
    std::fs::read(Path::new(ROOT).join(model)).expect("read the model")
}

fn report(model: &str, mode: &str, batch: usize, r: Result<f64, String>) {
    match r {
        Ok(fps) => println!("case\t{model}\t{mode}\t{batch}\t{fps}"),
        Err(e) => println!("error\t{model} {mode} batch {batch}: {}", e.replace('\n', " ")),
    }
}

fn write_frames(dir: &Path, backend: &str, model: &str, values: &[f32]) {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(frame_file(dir, backend, model), bytes).expect("write frames");
}

// ---------------------------------------------------------------------------------------------
// Through `Decoder` (tract with its rewrites, or ONNX Runtime).

/// One decoder on the calling thread.
fn one_stream(model: &[u8], backend: &Backend, batch: usize, frames: usize) -> Result<f64, String> {
    let opts = DecoderOptions { backend: backend.clone(), cuda: false, batch_size: batch };
    let (decoder, _) = Decoder::load(model, &opts).map_err(|e| e.to_string())?;
    let lat = latents(frames);
    decoder.decode(&lat[..batch.min(frames) * LATENT_LEN], batch.min(frames)).map_err(|e| e.to_string())?;
    let (t, out) = best_of(|| decoder.decode(&lat, frames));
    out.map_err(|e| e.to_string())?;
    Ok(frames as f64 / t.as_secs_f64())
}

/// `workers` threads, one decoder each, splitting `frames` latents (a render's way).
fn workers(model: &[u8], backend: &Backend, workers: usize, frames: usize) -> Result<f64, String> {
    let opts = DecoderOptions { backend: backend.clone(), cuda: false, batch_size: 1 };
    let decoders: Vec<Decoder> = (0..workers)
        .map(|_| Decoder::load(model, &opts).map(|d| d.0))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let lat = latents(frames);
    let per = frames.div_ceil(workers);
    let run = || {
        std::thread::scope(|s| {
            let handles: Vec<_> = decoders
                .iter()
                .zip(lat.chunks(per * LATENT_LEN))
                .map(|(d, chunk)| s.spawn(move || d.decode(chunk, chunk.len() / LATENT_LEN).map(|_| ())))
                .collect();
            handles.into_iter().map(|h| h.join().expect("worker")).collect::<Result<Vec<()>, _>>()
        })
    };
    run().map_err(|e| e.to_string())?;
    let (t, out) = best_of(run);
    out.map_err(|e| e.to_string())?;
    Ok(frames as f64 / t.as_secs_f64())
}

/// Child mode for `Decoder` backends.
fn decoder_child(kind: &str, dir: &Path) {
    let backend = if kind == "tract" { Backend::Tract } else { Backend::OnnxRuntime { library: None } };
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    for model_path in [FIRST, COMMITTED] {
        let model = read_model(model_path);
        for batch in [1, 8] {
            report(model_path, "1 stream", batch, one_stream(&model, &backend, batch, FRAMES));
        }
        report(model_path, &format!("{cores} workers"), 1, workers(&model, &backend, cores, FRAMES));
        let opts = DecoderOptions { backend: backend.clone(), cuda: false, batch_size: 8 };
        match Decoder::load(&model, &opts).and_then(|(d, _)| d.decode(&latents(FRAMES), FRAMES)) {
            Ok(values) => write_frames(dir, kind, model_path, &values),
            Err(e) => println!("error\t{model_path} frames: {}", e.to_string().replace('\n', " ")),
        }
    }
    if kind == "onnxruntime" {
        println!("build\t{}", ort::info());
    }
}

// ---------------------------------------------------------------------------------------------
// Through the `ort` API directly, the model as it is (tract before the decoder's rewrites;
// candle).

/// Sets `api` as the process's ONNX API and decodes with plain `ort` sessions.
fn raw_child(kind: &str, api: ort::sys::OrtApi, dir: &Path) {
    use ort::session::Session;
    use ort::session::builder::GraphOptimizationLevel;
    use ort::value::TensorRef;
    if !ort::set_api(api) {
        return println!("error\t{kind}: the ONNX API was already set");
    }
    let environment = match ort::init().with_name("bench").build() {
        Ok(e) => e,
        Err(e) => return println!("error\t{kind}: {e}"),
    };
    for model_path in [FIRST, COMMITTED] {
        let model = read_model(model_path);
        let session = Session::builder(&environment)
            .and_then(|b| b.with_optimization_level(GraphOptimizationLevel::Level3).map_err(Into::into))
            .and_then(|mut b| b.commit_from_memory(&model));
        let mut session = match session {
            Ok(s) => s,
            Err(e) => {
                println!("error\t{model_path}: {kind} cannot load it: {}", e.to_string().replace('\n', " "));
                continue;
            }
        };
        let mut decode = |lat: &[f32]| -> Result<Vec<f32>, String> {
            let n = lat.len() / LATENT_LEN;
            let input = TensorRef::from_array_view(([n, 8, 16, 16], lat)).map_err(|e| e.to_string())?;
            let out = session.run(ort::inputs!["latent" => input]).map_err(|e| e.to_string())?;
            let (_, values) = out["image"].try_extract_tensor::<f32>().map_err(|e| e.to_string())?;
            Ok(values.to_vec())
        };
        let frames = if kind == "tract-raw" { SLOW_FRAMES } else { FRAMES };
        let lat = latents(FRAMES);
        for batch in [1, 8] {
            let mut run = || -> Result<(), String> {
                for chunk in lat[..frames * LATENT_LEN].chunks(batch * LATENT_LEN) {
                    decode(chunk)?;
                }
                Ok(())
            };
            let r = run().and_then(|()| {
                let (t, r) = best_of(&mut run);
                r.map(|()| frames as f64 / t.as_secs_f64())
            });
            report(model_path, "1 stream", batch, r);
        }
        let mut all = Vec::new();
        for chunk in lat.chunks(8 * LATENT_LEN) {
            match decode(chunk) {
                Ok(v) => all.extend(v),
                Err(e) => return println!("error\t{model_path} frames: {e}"),
            }
        }
        write_frames(dir, kind, model_path, &all);
    }
}

// ---------------------------------------------------------------------------------------------
// The parent: run the children, print one table.

/// One measured configuration.
struct Case {
    model: &'static str,
    mode: String,
    batch: usize,
    fps: f64,
}

/// What a child measured, or why it could not.
struct Measured {
    cases: Vec<Case>,
    errors: Vec<String>,
    build: String,
}

fn run_child(kind: &str, dir: &Path) -> Result<Measured, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let out = Command::new(exe)
        .env(CHILD_ENV, kind)
        .env(DIR_ENV, dir)
        .output()
        .map_err(|e| format!("cannot start the child process: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "the child process failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let mut m = Measured { cases: Vec::new(), errors: Vec::new(), build: String::new() };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        match line.split('\t').collect::<Vec<_>>().as_slice() {
            ["case", model, mode, batch, fps] => m.cases.push(Case {
                model: if *model == COMMITTED { COMMITTED } else { FIRST },
                mode: (*mode).to_string(),
                batch: batch.parse().unwrap_or(0),
                fps: fps.parse().unwrap_or(0.0),
            }),
            ["error", e] => m.errors.push((*e).to_string()),
            ["build", b] => m.build = (*b).to_string(),
            _ => {}
        }
    }
    Ok(m)
}

fn read_frames(path: &Path) -> Option<Vec<f32>> {
    let bytes = std::fs::read(path).ok()?;
    Some(bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
}

/// Max and mean |a − b|, and the share of 8-bit pixels (`floor(clip(x/2 + 1/2)·255 + 1/2)`)
/// that differ.
fn difference(a: &[f32], b: &[f32]) -> (f32, f64, f64) {
    let q = |x: f32| ((x * 0.5 + 0.5).clamp(0.0, 1.0) * 255.0 + 0.5).floor() as u8;
    let (mut max, mut sum, mut pixels) = (0.0f32, 0.0f64, 0usize);
    for (x, y) in a.iter().zip(b) {
        let d = (x - y).abs();
        max = max.max(d);
        sum += f64::from(d);
        pixels += usize::from(q(*x) != q(*y));
    }
    (max, sum / a.len().max(1) as f64, pixels as f64 / a.len().max(1) as f64)
}

fn main() {
    if let Ok(kind) = std::env::var(CHILD_ENV) {
        let dir = PathBuf::from(std::env::var_os(DIR_ENV).expect("scratch folder"));
        match kind.as_str() {
            "tract-raw" => raw_child(&kind, ort_tract::api(), &dir),
            #[cfg(feature = "bench-candle")]
            "candle" => raw_child(&kind, ort_candle::api(), &dir),
            _ => decoder_child(&kind, &dir),
        }
        return;
    }
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average before: {}", load.trim());
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("decoder benchmark: 256² images, best of {RUNS} after 1 warm-up, {cores} cores");
    println!("  committed = {COMMITTED}; first = {FIRST} (the previous model, byte for byte)");
    let dir = tempfile::tempdir().expect("scratch folder");

    let mut backends: Vec<(&str, &str, Result<Measured, String>)> = vec![
        ("tract", "ort API, model as it is (before)", run_child("tract-raw", dir.path())),
        ("tract", "Decoder: batch fixed, Sin rewritten (default path)", run_child("tract", dir.path())),
    ];
    if cfg!(feature = "bench-candle") {
        backends.push(("candle", "ort API, model as it is", run_child("candle", dir.path())));
    }
    let ort_set = std::env::var_os("ORT_DYLIB_PATH").is_some_and(|p| !p.is_empty());
    backends.push((
        "onnxruntime",
        "Decoder, model as it is",
        if ort_set { run_child("onnxruntime", dir.path()) } else { Err("ORT_DYLIB_PATH is not set".to_string()) },
    ));

    println!();
    println!("| backend | path | model | mode | batch | frames/s |");
    println!("|---|---|---|---|---|---|");
    for (name, path, m) in &backends {
        match m {
            Ok(m) => {
                for c in &m.cases {
                    println!("| {name} | {path} | {} | {} | {} | {:.1} |", model_name(c.model), c.mode, c.batch, c.fps);
                }
            }
            Err(e) => println!("| {name} | {path} | – | skipped: {e} | | |"),
        }
    }
    if !cfg!(feature = "bench-candle") {
        println!(
            "| candle | – | – | not built: `cargo bench --bench decoder --features bench-candle` (needs protoc) | | |"
        );
    }
    for (name, _, m) in &backends {
        if let Ok(m) = m {
            for e in &m.errors {
                println!("  {name}: {e}");
            }
            if !m.build.is_empty() {
                println!("  {name}: {}", m.build);
            }
        }
    }

    // Speed-ups, and the default path against ONNX Runtime.
    let fps = |index: usize, model: &str, mode: &str, batch: usize| -> Option<f64> {
        let m = backends.get(index)?.2.as_ref().ok()?;
        m.cases.iter().find(|c| c.model == model && c.mode == mode && c.batch == batch).map(|c| c.fps)
    };
    let ort_index = backends.len() - 1;
    let workers_mode = format!("{cores} workers");
    println!();
    if let (Some(before), Some(after)) = (fps(0, FIRST, "1 stream", 1), fps(1, COMMITTED, "1 stream", 1)) {
        println!("tract, 1 stream: {after:.1} frames/s now vs {before:.1} before = {:.1}x", after / before);
    }
    if let (Some(t), Some(o)) = (fps(1, COMMITTED, &workers_mode, 1), fps(ort_index, COMMITTED, &workers_mode, 1)) {
        println!(
            "decoding as a render does ({workers_mode}): ONNX Runtime {o:.1} / tract {t:.1} frames/s = {:.2}x",
            o / t
        );
    }
    if let (Some(t), Some(o)) = (fps(1, COMMITTED, "1 stream", 1), fps(ort_index, COMMITTED, "1 stream", 1)) {
        println!("1 stream: ONNX Runtime {o:.1} / tract {t:.1} frames/s = {:.2}x", o / t);
    }

    // Accuracy on the same 48 latents.
    println!();
    let frames = |backend: &str, model: &str| read_frames(&frame_file(dir.path(), backend, model));
    let compare = |what: &str, a: Option<Vec<f32>>, b: Option<Vec<f32>>| {
        if let (Some(a), Some(b)) = (a, b)
            && a.len() == b.len()
        {
            let (max, mean, px) = difference(&a, &b);
            println!(
                "{what}: max |Δ| {max:.2e}, mean {mean:.2e} (tanh range), 8-bit pixels differing {:.4} %",
                px * 100.0
            );
        }
    };
    compare("tract now, committed vs tract before, first", frames("tract", COMMITTED), frames("tract-raw", FIRST));
    compare("tract before: committed vs first", frames("tract-raw", COMMITTED), frames("tract-raw", FIRST));
    compare("ONNX Runtime: committed vs first", frames("onnxruntime", COMMITTED), frames("onnxruntime", FIRST));
    compare("tract now vs ONNX Runtime (committed)", frames("tract", COMMITTED), frames("onnxruntime", COMMITTED));
    compare("candle vs ONNX Runtime (committed)", frames("candle", COMMITTED), frames("onnxruntime", COMMITTED));
}
