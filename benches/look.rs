//! The look per built-in preset: anchor usage, frame-to-frame change and how it follows the
//! onsets, on the demo song (rendered by the release binary from this repository's recipes)
//! and on the first 30 s of a real recording from the dev set (`music/…Awakening.ogg` in
//! `/work/devaudio` or `$NTSBUILD_DEV_AUDIO`; skipped with a message when absent). Frames are
//! decoded at 256² by `models/decoder.onnx` (tract, one decoder per core), every frame.
//!
//! `cargo bench --bench look`. Prints one Markdown table (README "The look").

#![allow(clippy::print_stdout, clippy::print_stderr)] // reports measurements

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::look;
use ntsbuild::decoder::{Backend, Decoder, DecoderOptions};
use ntsbuild::features::prepare::{AudioPrep, Trim};

const BIN: &str = env!("CARGO_BIN_EXE_ntsbuild");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const FPS: u32 = 30;
const RECORDING: &str = "music/singularity-music__Awakening.ogg";
const RECORDING_S: f64 = 30.0;

/// The demo song, rendered into a scratch copy of the demo's kit and song recipes.
fn demo_song(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir.join("recipes")).expect("scratch recipes");
    std::fs::copy(Path::new(ROOT).join("Project.toml"), dir.join("Project.toml")).expect("Project.toml");
    for file in ["kit.toml", "song.toml"] {
        std::fs::copy(Path::new(ROOT).join("recipes").join(file), dir.join("recipes").join(file)).expect(file);
    }
    let out = Command::new(BIN).arg("-p").arg(dir).args(["render", "-q", "song.demo"]).output().expect("run ntsbuild");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    dir.join("renders/song/demo/song.wav")
}

fn dev_audio() -> PathBuf {
    std::env::var_os("NTSBUILD_DEV_AUDIO").map_or_else(|| PathBuf::from("/work/devaudio"), PathBuf::from)
}

fn main() {
    let root = Path::new(ROOT);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let model = std::fs::read(root.join("models/decoder.onnx")).expect("models/decoder.onnx");
    let opts = DecoderOptions { backend: Backend::Tract, cuda: false, batch_size: 1 };
    let decoders: Vec<Decoder> = (0..cores).map(|_| Decoder::load(&model, &opts).expect("decoder").0).collect();
    let scratch = tempfile::tempdir().expect("scratch folder");
    let mut inputs = vec![("demo song", demo_song(scratch.path()), AudioPrep::default())];
    let recording = dev_audio().join(RECORDING);
    if recording.is_file() {
        let trim = Trim { start_s: 0.0, end_s: Some(RECORDING_S) };
        inputs.push(("Awakening, 0–30 s", recording, AudioPrep { trim: Some(trim), normalization_dbfs: None }));
    } else {
        println!(
            "{} not found: the real recording is skipped (see ../shared/data/fetch_dev_audio.sh)",
            recording.display()
        );
    }
    println!("look per preset at {FPS} fps, 256² decoded frames (before postFX)\n");
    println!("{}", look::HEADER);
    for (name, path, prep) in inputs {
        let analysed = ntsbuild::media::analyze::features_of_file_prepared(&path, 48_000, &prep).expect("features");
        let duration_s = analysed.samples_analysed as f64 / 48_000.0;
        for track in look::preset_tracks(FPS) {
            let l = look::look(root, &track, &analysed.features, duration_s, FPS, &decoders);
            println!("{}", look::row(name, &l));
        }
    }
}
