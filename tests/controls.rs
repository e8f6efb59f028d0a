//! Controls for the video: producer columns (inline producers or a sidecar target) driving
//! controller and postFX parameters frame by frame, rebuilt only as far as a change reaches.

mod common;

use common::{LIGHT_VIDEO, Project};
use ntsbuild::media::npz;

/// A 220 Hz tone of `seconds` at 48 kHz.
fn tone(p: &Project, rel: &str, seconds: f64) {
    let x: Vec<f32> = (0..(seconds * 48_000.0) as usize)
        .map(|i| (0.4 * (2.0 * std::f64::consts::PI * 220.0 * i as f64 / 48_000.0).sin()) as f32)
        .collect();
    p.write_bytes(rel, &ntsbuild::media::wav::encode_pcm(&[&x], 48_000, 16).unwrap());
}

/// A plug-in producer: column `pulse` is 1 on frames whose centre lies in
/// `[settings.from_s, settings.to_s)`, else 0.
const WINDOW_PY: &str = r#"import json, sys
r = json.load(sys.stdin)
a, b = float(r["settings"]["from_s"]), float(r["settings"]["to_s"])
fps = float(r["fps"])
json.dump({"pulse": [1.0 if a <= (k + 0.5) / fps < b else 0.0 for k in range(int(r["T"]))]}, sys.stdout)
"#;

/// An album `album.v` with one 4 s track `t` (light video: 24 fps, 1 s segments) whose
/// controls are `controls` (the body of its `[album.v.controls]` table); the `window` plug-in
/// is declared.
fn project(controls: &str) -> Project {
    let p = Project::demo();
    tone(&p, "audio/t.wav", 4.0);
    p.write("producers/window.py", WINDOW_PY);
    let toml = p.read("Project.toml");
    p.write("Project.toml", &format!("{toml}\n[producer.window]\ncommand = [\"python3\", \"producers/window.py\"]\n"));
    p.write(
        "recipes/album.toml",
        &format!(
            "[album.v]\n{LIGHT_VIDEO}controller = {{ tempo_sync = false }}\n\n[album.v.controls]\n{controls}\n\
             [[album.v.track]]\nid = \"t\"\naudio = \"audio/t.wav\"\n"
        ),
    );
    p
}

fn arrays(p: &Project, rel: &str) -> Vec<(String, npz::NpyArray)> {
    npz::read_npz(&p.bytes(rel), rel).unwrap()
}

fn track(p: &Project, rel: &str, name: &str) -> Vec<f32> {
    arrays(p, rel).into_iter().find(|(k, _)| k == name).and_then(|(_, a)| a.to_f32_vec()).unwrap()
}

const CONTROLS: &str = "renders/album/v/t/controls.npz";

#[test]
fn a_postfx_control_changed_inside_one_segment_re_encodes_only_that_segment() {
    let window = |to: &str| {
        format!(
            "producers = [{{ plugin = \"window\", settings = {{ from_s = 1.0, to_s = {to} }} }}]\n\
             vignette_strength = {{ column = \"pulse\", scale = 0.6 }}\n"
        )
    };
    let p = project(&window("1.3"));
    let r = p.render(&["album.v"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.built_segments("encoded").len(), 4, "4 s at 1 s per segment");
    // On the video grid (24 fps): 0 before 1 s, 0.6 inside the window, 0 after it.
    let v = track(&p, CONTROLS, "vignette_strength");
    assert_eq!(v.len(), 96);
    assert_eq!((v[10], v[27], v[60]), (0.0, 0.6, 0.0), "{v:?}");
    let video = p.bytes("renders/album/v/t/video.mp4");

    // The window grows from 1.3 s to 1.6 s: only frames inside segment 1 (1–2 s) change.
    p.write("recipes/album.toml", &p.read("recipes/album.toml").replace(&window("1.3"), &window("1.6")));
    let r = p.render(&["album.v"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = r.statuses();
    assert_eq!(s["album.v/t/controls.npz"], "built");
    assert_eq!(s["album.v/t/latents.npz"], "fresh", "postFX controls do not reach the controller");
    assert!(r.built_segments("decoded").is_empty(), "nothing is decoded again");
    assert_eq!(r.built_segments("encoded"), ["album.v/t/encoded/0001"]);
    assert_eq!(s["album.v/t/video.mp4"], "built");
    assert_ne!(p.bytes("renders/album/v/t/video.mp4"), video, "the vignette shows in the video");
}

#[test]
fn a_controller_control_changes_the_latents_from_where_it_changes() {
    let window = |to: &str| {
        format!(
            "producers = [{{ plugin = \"window\", settings = {{ from_s = 2.0, to_s = {to} }} }}]\n\
             wander_scale = {{ column = \"pulse\", range = [1.0, 3.0] }}\n"
        )
    };
    let p = project(&window("2.5"));
    let r = p.render(&["album.v"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let latents = track(&p, "renders/album/v/t/latents.npz", "latents");

    p.write("recipes/album.toml", &p.read("recipes/album.toml").replace(&window("2.5"), &window("3.5")));
    let r = p.render(&["album.v"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.statuses()["album.v/t/latents.npz"], "built");
    let after = track(&p, "renders/album/v/t/latents.npz", "latents");
    let frame = 8 * 16 * 16;
    let first_changed = (0..96).find(|&n| latents[n * frame..(n + 1) * frame] != after[n * frame..(n + 1) * frame]);
    // The window's old end is 2.5 s (frame 60): nothing before it moves.
    assert!(first_changed.is_some_and(|n| n >= 59), "first changed frame {first_changed:?}");
    let decoded = r.built_segments("decoded");
    assert!(
        !decoded.is_empty() && !decoded.iter().any(|id| id.ends_with("/0000") || id.ends_with("/0001")),
        "{decoded:?}"
    );
}

#[test]
fn controls_read_a_sidecar_targets_columns_on_the_video_grid() {
    let p = project(
        "sidecar = \"sidecars.c\"\ngrain_intensity = { column = \"ramp\", range = [0.0, 0.5] }\n\
         chroma_shift = { column = \"ramp\", scale = 0.01 }\n",
    );
    p.write(
        "recipes/sidecars.toml",
        "[sidecars.c]\nsources = [\"audio/t.wav\"]\nfps = 10\nproducers = [{ kind = \"lin\", values = { ramp = [0.0, 1.0] } }]\n",
    );
    let r = p.render(&["album.v"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let grain = track(&p, CONTROLS, "grain_intensity");
    assert_eq!(grain.len(), 96);
    assert!(grain.windows(2).all(|w| w[1] >= w[0]) && grain[0] < 0.01 && grain[95] > 0.49, "{grain:?}");
    let meta = arrays(&p, CONTROLS).into_iter().find(|(k, _)| k == "metadata").unwrap().1;
    assert!(meta.as_str().unwrap().contains("\"columns_from\":\"sidecars.c\""), "{meta:?}");

    // A sidecar target without the track's audio is a recipe error naming the key.
    p.write(
        "recipes/sidecars.toml",
        "[sidecars.c]\nsources = [\"audio/organ.wav\"]\nfps = 10\nproducers = [{ kind = \"lin\", values = { ramp = [0.0, 1.0] } }]\n",
    );
    let r = p.render(&["album.v"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("album.v.controls.sidecar")
            && r.stderr.contains("sidecars.c has no pair for this track's audio `audio/t.wav`")
            && r.stderr.contains("audio/organ.wav"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_missing_column_fails_the_track_naming_the_column_and_the_columns_there_are() {
    let p = project(
        "producers = [{ kind = \"const\", values = { level = 1 } }]\nvignette_strength = { column = \"levl\", scale = 0.1 }\n",
    );
    let r = p.render(&["album.v"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let s = r.statuses();
    assert_eq!(s["album.v/t/controls.npz"], "failed");
    let text = format!("{}{}", r.stdout, r.stderr);
    assert!(text.contains("no column `levl`") && text.contains("its columns: level"), "{text}");
    assert!(!p.path().join(CONTROLS).exists(), "nothing half-made is written");
}

#[test]
fn the_demo_album_is_steered_by_its_loudness() {
    let p = Project::demo();
    let r = p.render(&["album.demo"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rel = "renders/album/demo/opening/controls.npz";
    for (name, span) in [("wander_scale", 0.8), ("chroma_shift", 0.007), ("vignette_strength", 0.18)] {
        let v = track(&p, rel, name);
        let (lo, hi) = v.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        assert!(hi - lo > span / 3.0, "{name} barely moves: {lo}..{hi}");
    }
}
