//! Test support: a temporary copy of a project and a runner for the `ntsbuild` binary.
#![allow(dead_code)]

pub mod servers;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_ntsbuild");

/// Every declared artifact of the demo project, sorted (video segments are found while
/// building and are not declared).
pub const DEMO_ARTIFACTS: [&str; 18] = [
    "album.demo/album.mp4",
    "album.demo/opening/controls.npz",
    "album.demo/opening/features.npz",
    "album.demo/opening/features.png",
    "album.demo/opening/latents.npz",
    "album.demo/opening/previews/contact_sheet.png",
    "album.demo/opening/previews/preview.gif",
    "album.demo/opening/previews/preview.png",
    "album.demo/opening/video.mp4",
    "album.demo/run.json",
    "kit.demo/hat.wav",
    "kit.demo/kick.wav",
    "kit.demo/kit.zip",
    "kit.demo/snare.wav",
    "song.demo/loudness.csv",
    "song.demo/loudness.json",
    "song.demo/loudness.png",
    "song.demo/song.wav",
];

/// The demo song's loudness files (rebuilt whenever its `song.wav` changes).
pub const SONG_LOUDNESS: [&str; 3] = ["song.demo/loudness.csv", "song.demo/loudness.json", "song.demo/loudness.png"];

/// The repository root: the demo project.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A project in a temp dir, removed on drop.
pub struct Project {
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// The JSON events printed with `--message-format json`.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }

    /// `id → status` of every declared artifact's event (video segments left out).
    pub fn statuses(&self) -> std::collections::BTreeMap<String, String> {
        self.all_statuses().into_iter().filter(|(id, _)| !is_segment(id)).collect()
    }

    /// `id → status` of every artifact event, video segments included.
    pub fn all_statuses(&self) -> std::collections::BTreeMap<String, String> {
        self.events()
            .iter()
            .filter(|e| e["event"] == "artifact")
            .map(|e| (e["id"].as_str().unwrap().to_string(), e["status"].as_str().unwrap().to_string()))
            .collect()
    }

    /// Ids of segments with status `built`, of one kind (`decoded` or `encoded`), sorted.
    pub fn built_segments(&self, kind: &str) -> Vec<String> {
        self.all_statuses()
            .into_iter()
            .filter(|(id, s)| id.contains(&format!("/{kind}/")) && s == "built")
            .map(|(id, _)| id)
            .collect()
    }

    pub fn summary(&self) -> serde_json::Value {
        self.events().into_iter().find(|e| e["event"] == "summary").expect("a summary line")
    }
}

pub fn is_segment(id: &str) -> bool {
    id.contains("/decoded/") || id.contains("/encoded/")
}

/// Album video settings that keep tests quick: a small frame, 24 fps, 1 s segments and a
/// 32×32 decoder generated beside the real one (`models/generate.py`).
pub const LIGHT_VIDEO: &str =
    "fps = 24\nresolution = 64\nsegment_s = 1.0\ndecoder = { model = \"models/test/tiny.onnx\" }\n";

impl Project {
    /// A copy of the demo project (Project.toml, recipes/, models/) with light video settings
    /// and without the texture library (`tests/textures.rs` covers it), the arrangement that
    /// samples it (`tests/arrangement.rs`) or the sidecars (`tests/sidecars.rs`).
    pub fn demo() -> Project {
        let p = Project::demo_full();
        fs::remove_file(p.path().join("recipes/textures.toml")).unwrap();
        p.drop_arrangement();
        fs::remove_file(p.path().join("recipes/sidecars.toml")).unwrap();
        let text: String = p
            .read("recipes/album.toml")
            .lines()
            .filter(|l| !["fps ", "resolution ", "segment_s "].iter().any(|k| l.starts_with(k)))
            .map(|l| format!("{l}\n"))
            .collect();
        p.write("recipes/album.toml", &text.replacen("[album.demo]\n", &format!("[album.demo]\n{LIGHT_VIDEO}"), 1));
        p
    }

    /// An exact copy of the demo project, full-size video included.
    pub fn demo_full() -> Project {
        let p = Project::empty();
        fs::copy(repo().join("Project.toml"), p.path().join("Project.toml")).unwrap();
        copy_dir(&repo().join("recipes"), &p.path().join("recipes"));
        copy_dir(&repo().join("models"), &p.path().join("models"));
        copy_dir(&repo().join("audio"), &p.path().join("audio"));
        copy_dir(&repo().join("producers"), &p.path().join("producers"));
        copy_dir(&repo().join("tests/fixtures/models"), &p.path().join("models/test"));
        p
    }

    /// Remove the demo arrangement; the album's track then plays the drum song instead.
    pub fn drop_arrangement(&self) {
        fs::remove_file(self.path().join("recipes/arrangement.toml")).unwrap();
        let album = self.read("recipes/album.toml");
        self.write("recipes/album.toml", &album.replace("song.arrangement/song.wav", "song.demo/song.wav"));
    }

    pub fn empty() -> Project {
        Project { dir: tempfile::tempdir().unwrap() }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, text: &str) {
        let p = self.path().join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }

    pub fn write_bytes(&self, rel: &str, bytes: &[u8]) {
        let p = self.path().join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, bytes).unwrap();
    }

    /// Writes a WAV at `rel` with one sine of amplitude 0.4 per frequency in `hz` (one channel
    /// each), `frames` long.
    pub fn write_tones(&self, rel: &str, hz: &[f32], rate: u32, frames: usize, bits: u16) {
        let tone = |hz: f32| -> Vec<f32> {
            (0..frames).map(|i| 0.4 * (std::f32::consts::TAU * hz * i as f32 / rate as f32).sin()).collect()
        };
        let channels: Vec<Vec<f32>> = hz.iter().map(|&f| tone(f)).collect();
        let refs: Vec<&[f32]> = channels.iter().map(Vec::as_slice).collect();
        self.write_bytes(rel, &ntsbuild::media::wav::encode_pcm(&refs, rate, bits).unwrap());
    }

    /// Copy `tests/fixtures/audio/NAME` to `rel` in the project.
    pub fn copy_audio_fixture(&self, name: &str, rel: &str) {
        self.write_bytes(rel, &fs::read(audio_fixture(name)).unwrap());
    }

    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path().join(rel)).unwrap()
    }

    pub fn bytes(&self, rel: &str) -> Vec<u8> {
        fs::read(self.path().join(rel)).unwrap()
    }

    /// Replace `from` by `to` in a project file (panics if absent: the test would be vacuous).
    pub fn edit(&self, rel: &str, from: &str, to: &str) {
        let text = self.read(rel);
        assert!(text.contains(from), "{rel} does not contain {from:?}");
        self.write(rel, &text.replacen(from, to, 1));
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.arg("-p").arg(self.path()).args(args);
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.cmd(args).output().unwrap())
    }

    /// `render --message-format json` plus extra args.
    pub fn render(&self, args: &[&str]) -> Run {
        let mut a = vec!["render", "--message-format", "json"];
        a.extend_from_slice(args);
        self.run(&a)
    }

    /// Every file under `renders/` with the blake3 of its bytes, plus the lock's (`run.json`
    /// left out: it is run metadata with a timestamp).
    pub fn outputs(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
            let Ok(rd) = fs::read_dir(dir) else { return };
            for e in rd {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(base, &p, out);
                } else if p.file_name().is_some_and(|n| n != "run.json") {
                    let hash = blake3::hash(&fs::read(&p).unwrap()).to_hex().to_string();
                    out.push((p.strip_prefix(base).unwrap().display().to_string(), hash));
                }
            }
        }
        walk(self.path(), &self.path().join("renders"), &mut out);
        out.push(("ntsbuild.lock".into(), blake3::hash(&self.bytes("ntsbuild.lock")).to_hex().to_string()));
        out.sort();
        out
    }
}

/// Copy the files of `from` (recursively) into `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.path().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// A project with `kits` generated kits (4 artifacts each), for load and crash tests.
pub fn many_kits(kits: usize) -> Project {
    let p = Project::empty();
    p.write("Project.toml", "[project]\nname = \"many\"\n");
    let mut text = String::new();
    for i in 0..kits {
        text.push_str(&format!(
            "[kit.k{i:04}.kick]\nseed = {i}\npunch_decay = {}\n[kit.k{i:04}.snare]\nseed = {i}\n[kit.k{i:04}.hat]\nseed = {i}\n",
            0.1 + (i % 9) as f64 * 0.1
        ));
    }
    p.write("recipes/kits.toml", &text);
    p
}

/// A small arrangement project: three instruments (a saw bass with a swept low-pass, an ADSR
/// square lead, a sampler playing a project file) with lanes and a master, in `recipes/song.toml`.
pub fn arrangement_project() -> Project {
    let p = Project::empty();
    p.write("Project.toml", "[project]\nname = \"arr\"\nsample_rate = 48000\n");
    let click: Vec<f32> = (0..2400).map(|i| (1.0 - i as f32 / 2400.0) * ((i as f32) * 0.3).sin()).collect();
    let right: Vec<f32> = click.iter().map(|v| v * 0.5).collect();
    p.write_bytes("audio/click.wav", &ntsbuild::media::wav::encode_pcm(&[&click, &right], 44_100, 16).unwrap());
    p.write("recipes/song.toml", ARRANGEMENT);
    p
}

pub const ARRANGEMENT: &str = r#"[song.x]
bpm = 128
bars = 2
tail_s = 0.5

[[song.x.tempo]]
at = "2:1"
bpm = 100
ramp = true

[song.x.instrument.bass]
notes = "C2:110:2 . G1 . C2 . . . | D#2 . . . A#1:90:3 . . ."
[song.x.instrument.bass.oscillator]
waveform = "saw"
amplitude = 0.5
[song.x.instrument.bass.envelope]
release_ms = 60
[song.x.instrument.bass.lowpass]
cutoff_hz = 800

[song.x.instrument.lead]
notes = "G4:100:3 . . A#4 . . C5:110:2 ."
pan = 0.3
[song.x.instrument.lead.oscillator]
waveform = "square"
amplitude = 0.2
[song.x.instrument.lead.envelope]
mode = "adsr"

[song.x.instrument.hit]
pattern = "x... X... x.x. X..."
[song.x.instrument.hit.sampler]
source = "audio/click.wav"

[song.x.automation]
"bass.lowpass.cutoff_hz|curve=exp|smooth=0.5beats" = [[0, 0.1], ["2:1", 0.4]]
"lead.mix.gain_db|raw|smooth=20ms" = [["1:3", -6.0]]

[song.x.master]
target_lufs = -18.0
"#;

/// The artifacts of [`arrangement_project`].
pub const ARRANGEMENT_ARTIFACTS: [&str; 7] = [
    "song.x/loudness.csv",
    "song.x/loudness.json",
    "song.x/loudness.png",
    "song.x/song.wav",
    "song.x/stems/bass.wav",
    "song.x/stems/hit.wav",
    "song.x/stems/lead.wav",
];

/// Two copies of the project `make` writes, `target` rendered in each (two workers) with every
/// decode held in memory and with every decode moved to disk (memory limit 0): `(memory, disk)`.
/// Nothing failed, and the disk copy left no temporary file behind.
pub fn render_in_memory_and_on_disk(make: impl Fn() -> Project, target: &str) -> (Project, Project) {
    use ntsbuild::engine::render::{self, Quiet};
    use ntsbuild::engine::{Db, Mode, Session};
    let (memory, disk) = (make(), make());
    for (p, limit) in [(&memory, None), (&disk, Some(0))] {
        let s = Session::open(p.path(), &[], Mode::Build).unwrap();
        if let Some(limit) = limit {
            s.db.env().set_pcm_memory_samples(limit);
        }
        let outcome = render::render(&s.db, &[target.to_string()], 2, &Quiet).unwrap();
        assert_eq!(outcome.summary.failed, 0, "{target}");
    }
    let left = fs::read_dir(disk.path().join("cache/tmp")).map_or(0, |d| d.count());
    assert_eq!(left, 0, "temporary files left in cache/tmp");
    (memory, disk)
}

/// Where `tests/fixtures/audio/NAME` lies.
pub fn audio_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audio").join(name)
}
