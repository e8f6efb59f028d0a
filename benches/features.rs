//! Benchmark: file → features, whole process, cold, against librosa 0.11 in the same run, per
//! format, with peak memory; then where our time goes (decode, resample, features).
//!
//! `cargo bench --bench features` (needs the dev set: `NTSBUILD_DEV_AUDIO` or /work/devaudio,
//! and ffmpeg to derive the formats; librosa from `NTSBUILD_PYTHON`, default `python3`).
//!
//! Every format is made from the same recording, the dev set's 208 s
//! `music/singularity-music__Awakening.ogg` (48 kHz stereo Vorbis), with ffmpeg into a temp
//! dir: 16-bit WAV at 48 and 44.1 kHz, FLAC, MP3 (192 kb/s), AAC and ALAC in M4A at 44.1 kHz,
//! Opus (128 kb/s), and the original Ogg Vorbis. Each row runs a fresh process per measurement (library: this binary in
//! `--child` mode calling `features_of_file(path, 48000)`; render: `ntsbuild render
//! album.bench/track/features.npz` in a project holding the file, cache and outputs removed
//! before each run, so hashing the inputs, the shared decode and writing the result count too;
//! librosa: `benches/librosa_features.py --whole`, which imports librosa, loads with
//! `sr=48000` and computes the five features), so start-up, decoding, resampling and analysis
//! all count. Times are the median of `RUNS` processes after one untimed warm-up of the page
//! cache; peak RSS and CPU time are each process's own (`wait4`).
//! `NTSBUILD_BENCH_LONG=1` adds a 30-minute 44.1 kHz WAV (ours only) to check the memory bound.
#![allow(clippy::print_stdout, clippy::print_stderr)] // reports measurements

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ntsbuild::dsp::resample::resample;
use ntsbuild::features::features;
use ntsbuild::media::analyze::features_of_file;
use ntsbuild::media::decode::decode_path;

const TRACK: &str = "music/singularity-music__Awakening.ogg";
const RUNS: usize = 3;
const BIN: &str = env!("CARGO_BIN_EXE_ntsbuild");

/// One format of the benchmark: name, file name, ffmpeg output arguments (None: the original).
const FORMATS: [(&str, &str, Option<&[&str]>); 8] = [
    ("WAV 48k", "track48.wav", Some(&["-ar", "48000", "-c:a", "pcm_s16le"])),
    ("WAV 44.1k", "track44.wav", Some(&["-ar", "44100", "-c:a", "pcm_s16le"])),
    ("FLAC 44.1k", "track44.flac", Some(&["-ar", "44100", "-c:a", "flac"])),
    ("MP3 44.1k", "track44.mp3", Some(&["-ar", "44100", "-c:a", "libmp3lame", "-b:a", "192k"])),
    ("Vorbis 48k", "track48.ogg", None),
    ("AAC 44.1k", "track44.m4a", Some(&["-ar", "44100", "-c:a", "aac", "-b:a", "192k"])),
    ("Opus 48k", "track48.opus", Some(&["-c:a", "libopus", "-b:a", "128k"])),
    ("ALAC 44.1k", "track44_alac.m4a", Some(&["-ar", "44100", "-c:a", "alac"])),
];

/// `--child PATH`: analyse one file and report its frame count.
fn child(path: &Path) {
    let analysed = features_of_file(path, 48_000).unwrap_or_else(|e| panic!("{e}"));
    println!("frames {}", analysed.features.frame_count());
}

/// Wall time, peak RSS (KiB) and CPU time (user + system) of one process run.
fn run_process(cmd: Command) -> Result<(Duration, u64, Duration), String> {
    let t = common::timed(cmd)?;
    if !t.output.status.success() {
        return Err(String::from_utf8_lossy(&t.output.stderr).lines().last().unwrap_or("failed").to_string());
    }
    Ok((t.wall, t.peak_rss_kib, t.user + t.system))
}

/// Median wall time over `RUNS` processes (after a warm-up run), the largest peak RSS and the
/// median CPU time.
fn measure(make: impl Fn() -> Command) -> Result<(Duration, u64, Duration), String> {
    run_process(make())?;
    let (mut times, mut cpus) = (Vec::new(), Vec::new());
    let mut rss = 0;
    for _ in 0..RUNS {
        let (t, r, cpu) = run_process(make())?;
        times.push(t);
        cpus.push(cpu);
        rss = rss.max(r);
    }
    times.sort();
    cpus.sort();
    Ok((times[times.len() / 2], rss, cpus[cpus.len() / 2]))
}

/// A project whose one album track plays `audio` (copied in), with the repository's models:
/// `ntsbuild render album.bench/track/features.npz` is what a user runs for the features.
fn render_project(dir: &Path, audio: &Path) -> PathBuf {
    let project = dir.join(format!("project-{}", audio.file_name().and_then(|n| n.to_str()).unwrap_or("audio")));
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    common::copy_dir(&models, &project.join("models"));
    std::fs::create_dir_all(project.join("recipes")).expect("mkdir");
    let name = audio.file_name().expect("file name").to_string_lossy().to_string();
    std::fs::copy(audio, project.join(&name)).expect("copy audio");
    std::fs::write(project.join("Project.toml"), "[project]\nname = \"bench\"\n").expect("write");
    let recipe = format!("[album.bench]\nfps = 30\n\n[[album.bench.track]]\nid = \"track\"\naudio = \"{name}\"\n");
    std::fs::write(project.join("recipes/album.toml"), recipe).expect("write");
    project
}

/// One cold render of the track's features: the project's cache, outputs and lock removed
/// first (they hold one small file each, so the removal costs the next run nothing).
fn render_command(project: &Path) -> Command {
    for gone in ["cache", "renders"] {
        let _ = std::fs::remove_dir_all(project.join(gone));
    }
    let _ = std::fs::remove_file(project.join("ntsbuild.lock"));
    let mut c = Command::new(BIN);
    c.arg("-p").arg(project).args(["-q", "render", "album.bench/track/features.npz"]);
    c
}

fn ffmpeg(src: &Path, dst: &Path, args: &[&str]) -> bool {
    Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(src)
        .args(args)
        .arg(dst)
        .status()
        .is_ok_and(|s| s.success())
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(Path::new(&args[i + 1]));
        return;
    }
    let root =
        std::env::var_os("NTSBUILD_DEV_AUDIO").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/work/devaudio"));
    let original = root.join(TRACK);
    if !original.is_file() {
        println!("SKIP: {} not found (run fetch_dev_audio.sh)", original.display());
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let python = std::env::var("NTSBUILD_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/librosa_features.py");
    let exe = std::env::current_exe().expect("this binary");
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average before: {}", load.trim());
    }
    println!(
        "file -> features at 48 kHz, whole process, cold process (median of {RUNS} after a warm-up), \
         208 s recording ({TRACK}) in each format; librosa 0.11 via {python}"
    );
    println!(
        "{:<11} {:>9} {:>9} {:>9} {:>7} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "format",
        "library",
        "render",
        "librosa",
        "ratio",
        "render",
        "lib RSS",
        "rend RSS",
        "rosa RSS",
        "lib CPU",
        "rend CPU",
        "rosa CPU"
    );
    let secs = |d: Duration| format!("{:.3} s", d.as_secs_f64());
    for (label, file, ffmpeg_args) in FORMATS {
        let path = match ffmpeg_args {
            None => original.clone(),
            Some(a) => {
                let p = dir.path().join(file);
                if !ffmpeg(&original, &p, a) {
                    println!("{label:<11} skipped: ffmpeg could not make {file}");
                    continue;
                }
                p
            }
        };
        let ours = measure(|| {
            let mut c = Command::new(&exe);
            c.arg("--child").arg(&path);
            c
        });
        let project = render_project(dir.path(), &path);
        let render = measure(|| render_command(&project));
        let librosa = measure(|| {
            let mut c = Command::new(&python);
            c.arg(&script).arg(&path).arg("--whole");
            c
        });
        match (ours, render, librosa) {
            (Ok((o, orss, ocpu)), Ok((r, rrss, rcpu)), Ok((l, lrss, lcpu))) => println!(
                "{label:<11} {:>9} {:>9} {:>9} {:>6.1}x {:>6.1}x {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
                secs(o),
                secs(r),
                secs(l),
                l.as_secs_f64() / o.as_secs_f64(),
                l.as_secs_f64() / r.as_secs_f64(),
                mib(orss),
                mib(rrss),
                mib(lrss),
                secs(ocpu),
                secs(rcpu),
                secs(lcpu)
            ),
            (o, r, l) => {
                let show = |m: &Result<(Duration, u64, Duration), String>| match m {
                    Ok((t, _, _)) => secs(*t),
                    Err(e) => format!("failed: {e}"),
                };
                println!("{label:<11} library {}  render {}  librosa {}", show(&o), show(&r), show(&l));
            }
        }
    }
    if std::env::var_os("NTSBUILD_BENCH_LONG").is_some() {
        long_file(dir.path(), &original, &exe);
    }
    breakdown(&original);
}

/// A 30-minute 44.1 kHz stereo WAV (the recording looped), ours only: time and peak memory.
fn long_file(dir: &Path, original: &Path, exe: &Path) {
    let long = dir.join("long44.wav");
    let args = ["-stream_loop", "8"];
    let ok = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .arg("-i")
        .arg(original)
        .args(["-t", "1800", "-ar", "44100", "-c:a", "pcm_s16le"])
        .arg(&long)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        println!("30-min WAV   skipped: ffmpeg failed");
        return;
    }
    match run_process({
        let mut c = Command::new(exe);
        c.arg("--child").arg(&long);
        c
    }) {
        Ok((t, rss, _)) => println!("30-min WAV 44.1k {:>7.3} s  peak RSS {}", t.as_secs_f64(), mib(rss)),
        Err(e) => println!("30-min WAV 44.1k failed: {e}"),
    }
}

/// Where the time goes, in process (best of 3): decode (its packets on the pool's threads, and
/// on one), resample, features, and the streaming pipeline that overlaps them.
fn breakdown(original: &Path) {
    let dir = tempfile::tempdir().expect("temp dir");
    println!("\nin-process breakdown (best of 3, rayon threads {}):", rayon::current_num_threads());
    for (label, file, args) in [
        ("WAV 44.1k", "b44.wav", Some(&["-ar", "44100", "-c:a", "pcm_s16le"][..])),
        ("MP3 44.1k", "b44.mp3", Some(&["-ar", "44100", "-c:a", "libmp3lame", "-b:a", "192k"][..])),
        ("FLAC 44.1k", "b44.flac", Some(&["-ar", "44100", "-c:a", "flac"][..])),
        ("Vorbis 48k", "orig", None),
    ] {
        let path = match args {
            None => original.to_path_buf(),
            Some(a) => {
                let p = dir.path().join(file);
                if !ffmpeg(original, &p, a) {
                    continue;
                }
                p
            }
        };
        let (decode_t, decoded) = common::best_of(3, || decode_path(&path).expect("decode"));
        // The same decode with its packets on one thread (a one-thread pool is `-j 1`).
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("pool");
        let (decode_1_t, _) = common::best_of(3, || one.install(|| decode_path(&path).expect("decode")));
        let rate = decoded.sample_rate_hz;
        let (resample_t, mono) =
            common::best_of(3, || resample(&decoded.samples_mono, rate, 48_000).expect("resample"));
        let (features_t, _) = common::best_of(3, || features(&mono, 48_000));
        let (pipeline_t, _) = common::best_of(3, || features_of_file(&path, 48_000).expect("pipeline"));
        println!(
            "{label:<11} decode {:>6.1} ms (one thread {:>6.1} ms)  resample {:>6.1} ms  features {:>6.1} ms  streaming total {:>6.1} ms",
            decode_t.as_secs_f64() * 1e3,
            decode_1_t.as_secs_f64() * 1e3,
            resample_t.as_secs_f64() * 1e3,
            features_t.as_secs_f64() * 1e3,
            pipeline_t.as_secs_f64() * 1e3
        );
    }
}
