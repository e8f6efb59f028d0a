//! Benchmark: decoder frames/s on `models/decoder.onnx` (`latent` [B,8,16,16] → `image`
//! [B,3,256,256]) with the embedded pure-Rust backend (tract) and with ONNX Runtime, batch 1
//! and batch 8, plus how far the two backends' first frames are apart.
//!
//! `cargo bench --bench decoder`, with `ORT_DYLIB_PATH=/path/to/libonnxruntime.so.1.NN.N` (1.24
//! or newer, e.g. `onnxruntime/capi/` from the onnxruntime Python wheel) for the ONNX Runtime
//! half. Without it, or when the library cannot be loaded, the bench says why ONNX Runtime was
//! skipped and still reports tract.
//!
//! A process can hold one ONNX backend only (`src/decoder/runtime.rs`), so tract is measured
//! in this process and ONNX Runtime in a child process (this executable re-run with
//! [`CHILD_ENV`] set to a scratch folder); the child prints its figures on stdout and leaves its
//! first frame in the folder for the comparison.
//!
//! Each figure is the best of 3 timed `decode` calls of 48 latents (deterministic N(0, 1)
//! values, the same in both processes) after one untimed warm-up call, on the CPU. tract runs on
//! the calling thread; ONNX Runtime uses its default intra-op thread pool (one thread per
//! physical core), as the renderer does.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ntsbuild::decoder::{Backend, Decoder, DecoderOptions, LATENT_LEN};
use ntsbuild::dsp::rng::Rng;

const RUNS: usize = 3;
const FRAMES: usize = 48;
const BATCHES: [usize; 2] = [1, 8];
const MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/models/decoder.onnx");
/// Set (to a scratch folder) in the child process that measures ONNX Runtime.
const CHILD_ENV: &str = "NTSBUILD_DECODER_BENCH_CHILD";
/// The child's first decoded frame (batch 1), little-endian f32.
const FRAME_FILE: &str = "first_frame.f32";

/// Best of `RUNS` wall-clock times.
fn best_of<T>(f: impl FnMut() -> T) -> (Duration, T) {
    common::best_of(RUNS, f)
}

fn latents() -> Vec<f32> {
    let mut rng = Rng::new(Rng::derive(2026, "decoder-bench"));
    (0..FRAMES * LATENT_LEN).map(|_| rng.normal() as f32).collect()
}

/// What one backend measured.
struct Measured {
    provider: String,
    /// (batch, frames/s, best seconds for FRAMES frames).
    rates: Vec<(usize, f64, f64)>,
    first_frame: Vec<f32>,
    warnings: Vec<String>,
}

/// Loads the model once per batch size with `backend` and times `decode`.
fn measure(model: &[u8], backend: &Backend) -> Result<Measured, String> {
    let latents = latents();
    let mut rates = Vec::new();
    let mut first_frame = Vec::new();
    let mut provider = String::new();
    let mut warnings = Vec::new();
    for batch in BATCHES {
        let opts = DecoderOptions { backend: backend.clone(), cuda: false, batch_size: batch };
        let (decoder, warned) = Decoder::load(model, &opts).map_err(|e| e.to_string())?;
        warnings.extend(warned);
        let info = decoder.info().clone();
        provider = info.provider.clone();
        let warm = decoder.decode(&latents, FRAMES).map_err(|e| e.to_string())?;
        let (t, out) = best_of(|| decoder.decode(&latents, FRAMES).expect("decode"));
        if out != warm {
            warnings.push(format!("batch {batch}: repeated decodes of the same latents differ"));
        }
        if first_frame.is_empty() {
            first_frame = out[..3 * info.height * info.width].to_vec();
        }
        rates.push((batch, FRAMES as f64 / t.as_secs_f64(), t.as_secs_f64()));
    }
    Ok(Measured { provider, rates, first_frame, warnings })
}

/// Child mode: measure ONNX Runtime, print `rate`/`provider`/`build`/`warning` lines or one
/// `error` line, and write the first frame into `dir`.
fn child(model: &[u8], dir: &Path) {
    match measure(model, &Backend::OnnxRuntime { library: None }) {
        Ok(m) => {
            println!("provider\t{}", m.provider);
            // The backend is ONNX Runtime by now, so its build string is available.
            println!("build\t{} ({})", loaded_ort_version(), ort::info());
            for w in &m.warnings {
                println!("warning\t{}", w.replace('\n', " "));
            }
            for (batch, fps, secs) in &m.rates {
                println!("rate\t{batch}\t{fps}\t{secs}");
            }
            let bytes: Vec<u8> = m.first_frame.iter().flat_map(|v| v.to_le_bytes()).collect();
            std::fs::write(dir.join(FRAME_FILE), bytes).expect("write the first frame");
        }
        Err(e) => println!("error\t{}", e.replace('\n', " ")),
    }
}

/// The version string of the ONNX Runtime library the decoder loaded from `ORT_DYLIB_PATH`
/// (`OrtGetApiBase()->GetVersionString()`), or "version unknown".
fn loaded_ort_version() -> String {
    let Some(path) = std::env::var_os("ORT_DYLIB_PATH") else { return "version unknown".to_string() };
    let Ok(path) = std::ffi::CString::new(path.as_encoded_bytes()) else { return "version unknown".to_string() };
    // SAFETY: a valid C string; RTLD_NOLOAD only returns the library already loaded by the
    // decoder (never loads it again), and the handle is left open like the decoder's.
    let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_NOLOAD) };
    if handle.is_null() {
        return "version unknown".to_string();
    }
    // SAFETY: dlsym on a live handle with a NUL-terminated name.
    let symbol = unsafe { libc::dlsym(handle, c"OrtGetApiBase".as_ptr()) };
    if symbol.is_null() {
        return "version unknown".to_string();
    }
    // SAFETY: `OrtGetApiBase` has this signature in every ONNX Runtime release; it returns a
    // static table whose `GetVersionString` returns a static NUL-terminated string.
    unsafe {
        let get_api_base: unsafe extern "C" fn() -> *const ort::sys::OrtApiBase = std::mem::transmute(symbol);
        let base = get_api_base();
        if base.is_null() {
            return "version unknown".to_string();
        }
        let raw = ((*base).GetVersionString)();
        if raw.is_null() {
            return "version unknown".to_string();
        }
        format!("version {}", std::ffi::CStr::from_ptr(raw).to_string_lossy())
    }
}

/// Runs the child and reads back what it measured, or why ONNX Runtime could not run.
fn measure_ort() -> Result<(Measured, String), String> {
    match std::env::var_os("ORT_DYLIB_PATH") {
        Some(p) if !p.is_empty() => {}
        _ => return Err("ORT_DYLIB_PATH is not set".to_string()),
    }
    let dir = tempfile::tempdir().map_err(|e| format!("no scratch folder: {e}"))?;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let out = Command::new(exe)
        .env(CHILD_ENV, dir.path())
        .output()
        .map_err(|e| format!("cannot start the child process: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(format!("the child process failed ({}): {}", out.status, stderr.trim()));
    }
    let mut m = Measured { provider: String::new(), rates: Vec::new(), first_frame: Vec::new(), warnings: Vec::new() };
    let mut build = String::new();
    for line in stdout.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            ["error", reason] => return Err((*reason).to_string()),
            ["provider", p] => m.provider = (*p).to_string(),
            ["build", b] => build = (*b).to_string(),
            ["warning", w] => m.warnings.push((*w).to_string()),
            ["rate", batch, fps, secs] => m.rates.push((
                batch.parse().map_err(|_| format!("bad child line `{line}`"))?,
                fps.parse().map_err(|_| format!("bad child line `{line}`"))?,
                secs.parse().map_err(|_| format!("bad child line `{line}`"))?,
            )),
            _ => {}
        }
    }
    let bytes =
        std::fs::read(dir.path().join(FRAME_FILE)).map_err(|e| format!("no first frame from the child: {e}"))?;
    m.first_frame = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    Ok((m, build))
}

fn print_rates(m: &Measured) {
    for (batch, fps, secs) in &m.rates {
        println!("{:<16} batch {batch}: {fps:7.1} frames/s ({FRAMES} frames in {secs:.3} s)", m.provider);
    }
    for w in &m.warnings {
        println!("  warning: {w}");
    }
}

fn main() {
    let model = std::fs::read(MODEL).expect("read models/decoder.onnx");
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        child(&model, Path::new(&dir));
        return;
    }
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average before: {}", load.trim());
    }
    println!(
        "decoder benchmark: models/decoder.onnx, {FRAMES} frames per run, best of {RUNS} after 1 warm-up, {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let tract = measure(&model, &Backend::Tract).expect("tract decoder");
    print_rates(&tract);
    match measure_ort() {
        Ok((ort, build)) => {
            if !build.is_empty() {
                println!("ONNX Runtime: {build}");
            }
            print_rates(&ort);
            for (batch, fps, _) in &ort.rates {
                if let Some((_, tract_fps, _)) = tract.rates.iter().find(|(b, _, _)| b == batch) {
                    println!("ratio ORT/tract batch {batch}: {:.2}x", fps / tract_fps);
                }
            }
            if ort.first_frame.len() == tract.first_frame.len() {
                let diff =
                    tract.first_frame.iter().zip(&ort.first_frame).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
                println!(
                    "first frame max |ORT − tract|: {diff:.3e} over {} values ({})",
                    tract.first_frame.len(),
                    if diff <= 1e-4 { "agree to 1e-4" } else { "DIFFER by more than 1e-4" }
                );
            } else {
                println!(
                    "first frame: ORT gave {} values, tract {}; not compared",
                    ort.first_frame.len(),
                    tract.first_frame.len()
                );
            }
        }
        Err(why) => println!("ONNX Runtime skipped: {why}"),
    }
}
