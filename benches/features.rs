//! Benchmark: decode, resample and features on the dev set's 208 s track, against librosa.
//!
//! `cargo bench --bench features` (needs the dev set: `NTSBUILD_DEV_AUDIO` or /work/devaudio).
//! When `NTSBUILD_PYTHON` (default `python3`) has librosa, `benches/librosa_features.py` is
//! timed on the same file in the same run and the ratios are printed.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ntsbuild::dsp::resample::resample;
use ntsbuild::features::features;
use ntsbuild::media::analyze::features_of_file;
use ntsbuild::media::decode::decode_path;

const TRACK: &str = "music/singularity-music__Awakening.ogg";
const RUNS: usize = 5;

/// Best of `RUNS` wall-clock times.
fn best_of<T>(f: impl FnMut() -> T) -> (Duration, T) {
    common::best_of(RUNS, f)
}

fn librosa_seconds(path: &Path) -> Option<(f64, f64)> {
    let python = std::env::var("NTSBUILD_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/librosa_features.py");
    let out = Command::new(&python).arg(&script).arg(path).output().ok()?;
    if !out.status.success() {
        println!(
            "librosa: not measured ({python}: {})",
            String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("failed")
        );
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let value = |key: &str| text.lines().find_map(|l| l.strip_prefix(key)).and_then(|v| v.trim().parse::<f64>().ok());
    Some((value("load_s")?, value("features_s")?))
}

fn main() {
    let root =
        std::env::var_os("NTSBUILD_DEV_AUDIO").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/work/devaudio"));
    let path = root.join(TRACK);
    if !path.is_file() {
        println!("SKIP: {} not found (run fetch_dev_audio.sh)", path.display());
        return;
    }
    let threads = rayon::current_num_threads();
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average before: {}", load.trim());
    }
    let (decode_t, decoded) = best_of(|| decode_path(&path).expect("decode"));
    let duration_s = decoded.samples_mono.len() as f64 / f64::from(decoded.sample_rate_hz);
    let (resample_t, resampled) = best_of(|| resample(&decoded.samples_mono, 44_100, 48_000).expect("resample"));
    let (features_t, f) = best_of(|| features(&decoded.samples_mono, decoded.sample_rate_hz));
    let (pipeline_t, _) = best_of(|| features_of_file(&path, 48_000).expect("pipeline"));
    let x_rt = |t: Duration| duration_s / t.as_secs_f64();
    println!(
        "track: {} ({duration_s:.1} s, {} Hz, {} frames, rayon threads {threads}), best of {RUNS}",
        TRACK,
        decoded.sample_rate_hz,
        f.frame_count()
    );
    println!(
        "decode (symphonia, to mono)        {:>8.1} ms  {:>6.0}x realtime",
        decode_t.as_secs_f64() * 1e3,
        x_rt(decode_t)
    );
    println!(
        "resample 44.1k->48k, same length   {:>8.1} ms  {:>6.0}x realtime ({} samples out)",
        resample_t.as_secs_f64() * 1e3,
        x_rt(resample_t),
        resampled.len()
    );
    println!("resample 48k->48k                     n/a (identity)");
    println!(
        "features (5 features, in memory)   {:>8.1} ms  {:>6.0}x realtime",
        features_t.as_secs_f64() * 1e3,
        x_rt(features_t)
    );
    println!(
        "streaming file->features           {:>8.1} ms  {:>6.0}x realtime",
        pipeline_t.as_secs_f64() * 1e3,
        x_rt(pipeline_t)
    );
    if let Some((load_s, feats_s)) = librosa_seconds(&path) {
        println!("librosa.load                       {:>8.1} ms", load_s * 1e3);
        println!("librosa five features              {:>8.1} ms", feats_s * 1e3);
        println!("ratio features   librosa/ours      {:>8.1}x", feats_s / features_t.as_secs_f64());
        println!("ratio decode     librosa/ours      {:>8.1}x", load_s / decode_t.as_secs_f64());
        println!("ratio end-to-end librosa/ours      {:>8.1}x", (load_s + feats_s) / pipeline_t.as_secs_f64());
    }
}
