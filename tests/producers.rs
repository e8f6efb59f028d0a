//! Plug-in producers end to end: the shipped example, the contract (placeholders, request,
//! clean environment, `.npy` and JSON answers), and producers that crash, hang, answer too much,
//! answer garbage or answer the wrong length — each a clear error, nothing returned as success.
//! Then a whole sidecar: built-ins + the example plug-in → a pair that audits clean.
//!
//! Needs `python3` (any version with the standard library); each test says SKIP without it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ntsbuild::media::sidecar::{audit_pair, decode_pair, encode_pair};
use ntsbuild::plugin::{PluginAudio, PluginCommand, PluginFailure, PluginRequest, run_plugin};
use ntsbuild::producers::{
    AudioColumn, AudioInput, Column, Grid, ProducerParams, SidecarParams, SourceInput, SourceLength, build_sidecar,
};

fn python() -> Option<String> {
    let python = std::env::var("NTSBUILD_PYTHON").unwrap_or_else(|_| "python3".to_string());
    // The interpreter itself, not a wrapper script (pyenv shims add variables of their own).
    let out = std::process::Command::new(&python)
        .arg("-c")
        .arg("import json, array, sys; print(sys.executable)")
        .output()
        .ok()?;
    let exe = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !exe.is_empty()).then_some(exe)
}

macro_rules! need_python {
    ($name:expr) => {
        match python() {
            Some(p) => p,
            None => {
                println!("SKIP {}: no python3", $name);
                return;
            }
        }
    };
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A plug-in script written into a temp dir.
struct Script {
    dir: tempfile::TempDir,
    path: PathBuf,
}

fn script(body: &str) -> Script {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("producer.py");
    std::fs::write(&path, body).unwrap();
    Script { dir, path }
}

fn command(python: &str, argv: &[&str]) -> PluginCommand {
    PluginCommand {
        name: "test".into(),
        argv: std::iter::once(python.to_string()).chain(argv.iter().map(|s| s.to_string())).collect(),
        env: BTreeMap::new(),
        columns: Vec::new(),
        timeout: Duration::from_secs(20),
        max_output_bytes: 1 << 20,
    }
}

/// One second of a 100 Hz sine plus a quiet 8 kHz one at 48 kHz.
fn tone() -> Vec<f32> {
    (0..48_000)
        .map(|n| {
            let t = n as f64 / 48_000.0;
            (0.5 * (2.0 * std::f64::consts::PI * 100.0 * t).sin()
                + 0.01 * (2.0 * std::f64::consts::PI * 8000.0 * t).sin()) as f32
        })
        .collect()
}

const GRID: Grid = Grid::Fps { fps: 75.0 };

fn run(
    cmd: &PluginCommand,
    frames: usize,
    settings: &BTreeMap<String, serde_json::Value>,
    audio: Option<&Vec<f32>>,
    cwd: &Path,
) -> Result<Vec<Column>, ntsbuild::plugin::PluginError> {
    let written = audio.map(|a| PluginAudio::write(a, 48_000).expect("writing the audio"));
    let req = PluginRequest {
        source_path: Path::new("audio/take_tempo_120.wav"),
        source_name: "audio/take_tempo_120.wav",
        source_blake3: "00ff",
        frames,
        grid: &GRID,
        settings,
        audio: written.as_ref(),
    };
    run_plugin(cmd, &req, cwd)
}

#[test]
fn the_example_plugin_measures_bands() {
    let py = need_python!("the_example_plugin_measures_bands");
    let x = tone();
    let cmd = command(&py, &["producers/spectral_bands.py"]);
    let settings = BTreeMap::from([("crossovers_hz".to_string(), serde_json::json!([300, 3000]))]);
    let cols = run(&cmd, 75, &settings, Some(&x), &repo()).unwrap();
    let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["band0_db", "band1_db", "band2_db"]);
    assert!(cols.iter().all(|c| c.values.len() == 75));
    // The 100 Hz tone is in the low band, the faint 8 kHz one in the high band.
    let mid = |c: &Column| c.values[40];
    assert!(mid(&cols[0]) > -12.0 && mid(&cols[0]) < -6.0, "{}", mid(&cols[0]));
    assert!(mid(&cols[2]) < mid(&cols[0]) - 25.0, "{} vs {}", mid(&cols[2]), mid(&cols[0]));
    // Bad settings are its own error, with its message.
    let bad = BTreeMap::from([("crossovers_hz".to_string(), serde_json::json!([3000, 300]))]);
    let e = run(&cmd, 75, &bad, Some(&x), &repo()).unwrap_err();
    assert!(matches!(e.failure, PluginFailure::Exit(_)), "{e}");
    assert!(e.to_string().contains("crossovers_hz must be ascending"), "{e}");
}

#[test]
fn the_contract_placeholders_request_and_clean_environment() {
    let py = need_python!("the_contract_placeholders_request_and_clean_environment");
    let s = script(
        r#"
import json, os, sys
req = json.load(sys.stdin)
frames, fps, out, settings, request_file = sys.argv[1:6]
problems = []
if int(frames) != req["T"] or float(fps) != req["fps"]: problems.append("T/fps")
if json.loads(settings) != req["settings"]: problems.append("settings")
if json.load(open(request_file)) != req: problems.append("request file")
if out != req["output"]: problems.append("out")
if not os.path.isabs(req["source"]["path"]) or req["source"]["name"] != "audio/take_tempo_120.wav": problems.append("source")
if req["protocol"] != 1 or req["source"]["blake3"] != "00ff": problems.append("protocol")
if sorted(os.environ) != ["LC_CTYPE", "MARKER", "PATH"] and sorted(os.environ) != ["MARKER", "PATH"]:
    problems.append("environment %s" % sorted(os.environ))
if os.environ.get("MARKER") != "declared": problems.append("marker")
if req["audio"] is not None: problems.append("audio")
if problems:
    sys.exit("contract broken: " + ", ".join(problems))
json.dump({"ok": [1.0] * req["T"]}, sys.stdout)
"#,
    );
    let mut cmd = command(&py, &[s.path.to_str().unwrap(), "{T}", "{fps}", "{out}", "{settings}", "{request}"]);
    cmd.env.insert("MARKER".into(), "declared".into());
    // The test process's own variables (HOME, CARGO_*, …) must not reach it.
    let settings = BTreeMap::from([("k".to_string(), serde_json::json!({"a": [1, 2]}))]);
    let cols = run(&cmd, 5, &settings, None, s.dir.path()).unwrap();
    assert_eq!(cols, vec![Column::new("ok", vec![1.0; 5])]);
}

#[test]
fn an_npy_answer_written_to_out_uses_the_declared_names() {
    let py = need_python!("an_npy_answer_written_to_out_uses_the_declared_names");
    let s = script(
        r#"
import json, struct, sys
req = json.load(sys.stdin)
T = req["T"]
header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, 2), }" % T
header += " " * (64 - (10 + len(header) + 1) % 64) + "\n"
data = b"".join(struct.pack("<ff", t, -t) for t in range(T))
with open(req["output"], "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data)
print("stdout is free for logs once {out} is written")
"#,
    );
    let mut cmd = command(&py, &[s.path.to_str().unwrap()]);
    cmd.columns = vec!["up".into(), "down".into()];
    let cols = run(&cmd, 3, &BTreeMap::new(), None, s.dir.path()).unwrap();
    assert_eq!(cols, vec![Column::new("up", vec![0.0, 1.0, 2.0]), Column::new("down", vec![0.0, -1.0, -2.0])]);
}

#[test]
fn a_crashing_plugin_fails_with_its_stderr() {
    let py = need_python!("a_crashing_plugin_fails_with_its_stderr");
    let s = script("import sys\nprint('{\"x\": [1, 2, 3]}')\nraise RuntimeError('model weights missing')\n");
    let e = run(&command(&py, &[s.path.to_str().unwrap()]), 3, &BTreeMap::new(), None, s.dir.path()).unwrap_err();
    assert_eq!(e.failure, PluginFailure::Exit("status 1".into()));
    let text = e.to_string();
    assert!(
        text.starts_with("producer plugin test on `audio/take_tempo_120.wav`: exited with status 1; stderr: "),
        "{text}"
    );
    assert!(text.contains("RuntimeError: model weights missing"), "{text}");
    // Killed by a signal.
    let s = script("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n");
    let e = run(&command(&py, &[s.path.to_str().unwrap()]), 3, &BTreeMap::new(), None, s.dir.path()).unwrap_err();
    assert_eq!(e.failure, PluginFailure::Exit("signal 11".into()));
}

fn alive(pid: i32) -> bool {
    // A zombie (State: Z) is dead for our purposes.
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map(|s| !s.lines().any(|l| l.starts_with("State:") && l.contains('Z')))
        .unwrap_or(false)
}

#[test]
fn a_hanging_plugin_is_killed_with_its_children() {
    let py = need_python!("a_hanging_plugin_is_killed_with_its_children");
    let s = script(
        r#"
import subprocess, sys, time
child = subprocess.Popen(["sleep", "300"])
open(sys.argv[1], "w").write(str(child.pid))
sys.stderr.write("waiting forever\n"); sys.stderr.flush()
time.sleep(300)
"#,
    );
    let pid_file = s.dir.path().join("child.pid");
    let mut cmd = command(&py, &[s.path.to_str().unwrap(), pid_file.to_str().unwrap()]);
    cmd.timeout = Duration::from_millis(1500);
    let e = run(&cmd, 3, &BTreeMap::new(), None, s.dir.path()).unwrap_err();
    assert_eq!(e.failure, PluginFailure::Timeout(Duration::from_millis(1500)), "{e}");
    assert!(e.to_string().contains("waiting forever"), "{e}");
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    // The grandchild went with the process group (allow the kernel a moment to reap it).
    let gone = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(20));
        !alive(pid)
    });
    assert!(gone, "the producer's child {pid} outlived it");
}

#[test]
fn huge_answers_are_cut_off() {
    let py = need_python!("huge_answers_are_cut_off");
    // Endless stdout.
    let s = script("import sys\nwhile True:\n    sys.stdout.write('9' * 65536)\n");
    let e = run(&command(&py, &[s.path.to_str().unwrap()]), 3, &BTreeMap::new(), None, s.dir.path()).unwrap_err();
    assert_eq!(e.failure, PluginFailure::OutputTooLarge(1 << 20), "{e}");
    // A file past the cap at {out}.
    let s = script("import sys\nopen(sys.argv[1], 'wb').write(b'0' * (3 << 20))\n");
    let e =
        run(&command(&py, &[s.path.to_str().unwrap(), "{out}"]), 3, &BTreeMap::new(), None, s.dir.path()).unwrap_err();
    assert_eq!(e.failure, PluginFailure::OutputTooLarge(1 << 20), "{e}");
}

#[test]
fn garbage_and_wrong_answers_are_errors() {
    let py = need_python!("garbage_and_wrong_answers_are_errors");
    let cases: [(&str, &str); 6] = [
        ("print('loading model...')\nprint('{\"x\": [1, 2, 3]}')", "answered garbage"),
        ("import json\nprint(json.dumps({'x': [1, float('nan'), 3]}))", "answered garbage"),
        ("print('{\"x\": [1, 2]}')", "column `x` has 2 values; the grid has T = 3 frames"),
        ("print('{\"x\": [1, 2, \"3\"]}')", "holds something other than numbers"),
        ("print('{\"bad name\": [1, 2, 3]}')", "is not a column name"),
        ("pass", "gave no answer"),
    ];
    for (body, want) in cases {
        let s = script(body);
        let e = run(&command(&py, &[s.path.to_str().unwrap()]), 3, &BTreeMap::new(), None, s.dir.path()).unwrap_err();
        assert!(e.to_string().contains(want), "{body}: {e}");
    }
    let missing = PluginCommand { argv: vec!["/nonexistent/producer".into()], ..command(&py, &[]) };
    let e = run(&missing, 3, &BTreeMap::new(), None, &repo()).unwrap_err();
    assert!(matches!(e.failure, PluginFailure::Spawn { .. }), "{e}");
    assert!(e.to_string().contains("could not start `/nonexistent/producer`"), "{e}");
}

#[test]
fn a_whole_sidecar_with_builtins_and_the_example_plugin_audits_clean() {
    let py = need_python!("a_whole_sidecar_with_builtins_and_the_example_plugin_audits_clean");
    let x = tone();
    let params = SidecarParams {
        grid: GRID,
        producers: vec![
            ProducerParams::Const { values: BTreeMap::from([("scene_id".to_string(), 7.0)]) },
            ProducerParams::Lin { values: BTreeMap::from([("progress".to_string(), [0.0, 1.0])]) },
            ProducerParams::FromFilename {
                pattern: ntsbuild::producers::DEFAULT_FILENAME_PATTERN.into(),
                defaults: BTreeMap::new(),
            },
            ProducerParams::Audio { columns: vec![AudioColumn::RmsDb, AudioColumn::Centroid] },
            ProducerParams::Plugin { name: "bands".into(), settings: BTreeMap::new() },
        ],
    };
    let source = SourceInput {
        name: "audio/take_tempo_120.wav",
        file_name: "take_tempo_120.wav",
        length: SourceLength { samples: x.len() as u64, sample_rate_hz: 48_000 },
        audio: Some(AudioInput { samples: &x, sample_rate_hz: 48_000, features: None }),
    };
    let frames = GRID.frame_count(x.len() as u64, 48_000);
    let cmd = PluginCommand { name: "bands".into(), ..command(&py, &["producers/spectral_bands.py"]) };
    let bands = run(&cmd, frames, &BTreeMap::new(), Some(&x), &repo()).unwrap();
    let table = build_sidecar(&params, &source, &BTreeMap::from([(4, bands)])).unwrap();
    assert_eq!(
        table.names,
        ["scene_id", "progress", "tempo", "rms_db", "centroid", "band0_db", "band1_db", "band2_db"]
    );
    assert_eq!(table.winners[5], "producers[4] plugin bands");
    let pair = encode_pair(&table, &params.grid, "00ff", &params.producers).unwrap();
    let problems = audit_pair(&pair.npy, &pair.json, Some((1.0, 75.0)));
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(decode_pair(&pair.npy, &pair.json).unwrap().column_named("tempo"), Some(vec![120.0; 75]));
}
