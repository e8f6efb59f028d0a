//! The video flow end to end: features → latents → decoded/encoded segments → video.mp4,
//! previews, album.mp4 and run.json; and the incremental guarantees segments exist for.

mod common;

use common::{LIGHT_VIDEO, Project};
use ntsbuild::media::npz;

const RATE: u32 = 48_000;

/// `seconds` of a 220 Hz sine at 48 kHz, amplitude 0.5, with `gain(t)` applied.
fn tone(seconds: f64, gain: impl Fn(f64) -> f64) -> Vec<u8> {
    let n = (seconds * f64::from(RATE)) as usize;
    let x: Vec<f32> = (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(RATE);
            (0.5 * gain(t) * (2.0 * std::f64::consts::PI * 220.0 * t).sin()) as f32
        })
        .collect();
    ntsbuild::media::wav::encode_pcm(&[&x], RATE, 24).unwrap()
}

/// A project whose album has the given tracks (id, audio file), light video settings.
fn album(tracks: &[(&str, &str)], extra: &str) -> Project {
    let p = Project::demo();
    let mut text = format!("[album.v]\n{LIGHT_VIDEO}{extra}\n");
    for (id, audio) in tracks {
        text.push_str(&format!("[[album.v.track]]\nid = \"{id}\"\naudio = \"{audio}\"\n\n"));
    }
    p.write("recipes/album.toml", &text);
    p
}

fn npz_meta(p: &Project, rel: &str) -> serde_json::Value {
    let a = npz::read_npz(&p.bytes(rel), rel).unwrap();
    serde_json::from_str(a.iter().find(|(k, _)| k == "metadata").unwrap().1.as_str().unwrap()).unwrap()
}

/// Box sizes of the top-level MP4 boxes, in order.
fn top_boxes(mp4: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 8 <= mp4.len() {
        let size = u32::from_be_bytes(mp4[at..at + 4].try_into().unwrap()) as usize;
        out.push(String::from_utf8_lossy(&mp4[at + 4..at + 8]).into_owned());
        if size < 8 {
            break;
        }
        at += size;
    }
    out
}

#[test]
fn demo_renders_a_video_with_previews_album_and_run_json() {
    let p = Project::demo();
    let r = p.render(&[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let s = r.statuses();
    for id in common::DEMO_ARTIFACTS {
        assert_eq!(s.get(id).map(String::as_str), Some("built"), "{id}: {s:?}");
    }
    // Segments are reported like artifacts, never materialized.
    let decoded = r.built_segments("decoded");
    let encoded = r.built_segments("encoded");
    assert!(!decoded.is_empty() && decoded.len() == encoded.len(), "{decoded:?} / {encoded:?}");
    assert!(decoded[0].starts_with("album.demo/opening/decoded/0000"), "{decoded:?}");
    for e in r.events().iter().filter(|e| e["event"] == "artifact" && common::is_segment(e["id"].as_str().unwrap())) {
        assert!(e["output"].is_null(), "{e}");
        assert!(e["digest"].is_string(), "{e}");
    }

    let meta = npz_meta(&p, "renders/album/demo/opening/latents.npz");
    let frames = meta["frames"].as_u64().unwrap() as usize;
    let duration = meta["duration_seconds"].as_f64().unwrap();
    assert_eq!(frames, (duration * 24.0).ceil() as usize, "frames = ceil(duration·fps)");
    assert_eq!(decoded.len(), frames.div_ceil(24));
    let lat = npz::read_npz(&p.bytes("renders/album/demo/opening/latents.npz"), "latents").unwrap();
    let get = |k: &str| &lat.iter().find(|(n, _)| n == k).unwrap().1;
    assert_eq!(get("latents").shape, [frames, 8, 16, 16]);
    assert_eq!(get("frame_times").shape, [frames]);
    assert_eq!(get("weights").shape[0], frames);

    let mp4 = p.bytes("renders/album/demo/opening/video.mp4");
    let boxes = top_boxes(&mp4);
    assert_eq!(&boxes[..2], ["ftyp", "moov"], "fast start: {boxes:?}");
    assert!(boxes.contains(&"mdat".to_string()));
    assert!(mp4.windows(4).any(|w| w == b"avc1") && mp4.windows(4).any(|w| w == b"Opus"), "H.264 + Opus");
    let album = p.bytes("renders/album/demo/album.mp4");
    assert_eq!(&top_boxes(&album)[..2], ["ftyp", "moov"]);

    let png = p.bytes("renders/album/demo/opening/previews/preview.png");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&p.bytes("renders/album/demo/opening/previews/preview.gif")[..6], b"GIF89a");
    assert_eq!(&p.bytes("renders/album/demo/opening/previews/contact_sheet.png")[..4], b"\x89PNG");

    let run: serde_json::Value = serde_json::from_str(&p.read("renders/album/demo/run.json")).unwrap();
    assert_eq!(run["run_id"], "album.demo");
    assert!(run["created_at"].as_str().unwrap().ends_with('Z'));
    let track = &run["tracks"][0];
    assert_eq!(track["id"], "opening");
    assert_eq!(track["frames"], frames);
    assert_eq!(track["anchor_set"], "pulse");
    assert_eq!(track["decoder_provider"], "tract-cpu");
    assert_eq!(track["decoder_precision"], "fp32");
    let video_digest = blake3::hash(&mp4).to_hex().to_string();
    assert_eq!(track["video_checksum"], video_digest.as_str());
    assert_eq!(track["video"], "renders/album/demo/opening/video.mp4");
    for key in ["features_sec", "controller_sec", "render_sec"] {
        assert!(track["timings"][key].is_number(), "{key}");
    }

    // A second run builds nothing, segments included.
    let again = p.render(&[]);
    assert_eq!(again.code, 0);
    assert!(again.all_statuses().values().all(|s| s == "fresh"), "{:?}", again.all_statuses());
}

#[test]
fn a_postfx_change_decodes_nothing_and_reencodes_every_segment() {
    let p = Project::demo();
    assert_eq!(p.render(&[]).code, 0);
    let r = p.render(&["--set", "album.demo.postfx.grain_intensity=0.3"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.built_segments("decoded"), Vec::<String>::new(), "no decoder calls");
    let encoded = r.built_segments("encoded");
    assert!(!encoded.is_empty());
    let s = r.statuses();
    assert_eq!(s["album.demo/opening/video.mp4"], "built");
    assert_eq!(s["album.demo/opening/latents.npz"], "fresh");
    assert_eq!(s["album.demo/opening/features.npz"], "fresh");

    // Encoder settings: the same (decoded frames reused, every segment re-encoded).
    let r = p.render(&["--set", "album.demo.encode.qp=30"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.built_segments("decoded").is_empty());
    assert_eq!(r.built_segments("encoded").len(), encoded.len());
}

#[test]
fn changing_the_end_of_a_track_redecodes_only_the_segments_from_there_on() {
    let p = album(&[("t", "audio/t.wav")], "");
    p.write_bytes("audio/t.wav", &tone(8.0, |_| 1.0));
    let r = p.render(&["album.v"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.built_segments("decoded").len(), 8, "8 s at 1 s per segment");

    // Fade the last ~2 s down smoothly: the loudest frame, the onset maximum and the onset
    // threshold (the track-wide statistics) stay as they were.
    p.write_bytes("audio/t.wav", &tone(8.0, |t| if t < 6.1 { 1.0 } else { 1.0 - 0.2 * ((t - 6.1) / 0.2).min(1.0) }));
    let r = p.render(&["album.v"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.built_segments("decoded"), ["album.v/t/decoded/0006", "album.v/t/decoded/0007"]);
    assert_eq!(r.built_segments("encoded"), ["album.v/t/encoded/0006", "album.v/t/encoded/0007"]);
    assert_eq!(r.statuses()["album.v/t/video.mp4"], "built");
}

#[test]
fn adding_a_track_rebuilds_nothing_of_the_others() {
    let p = album(&[("a", "audio/a.wav")], "");
    p.write_bytes("audio/a.wav", &tone(3.0, |_| 1.0));
    p.write_bytes("audio/b.wav", &tone(2.0, |t| 0.5 + 0.5 * t / 2.0));
    assert_eq!(p.render(&["album.v"]).code, 0);
    p.write(
        "recipes/album.toml",
        &format!("{}[[album.v.track]]\nid = \"b\"\naudio = \"audio/b.wav\"\n", p.read("recipes/album.toml")),
    );
    let r = p.render(&["album.v"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for (id, status) in r.all_statuses() {
        if id.starts_with("album.v/a/") {
            assert_eq!(status, "fresh", "{id}");
        }
    }
    assert_eq!(r.statuses()["album.v/b/video.mp4"], "built");
    assert_eq!(r.statuses()["album.v/album.mp4"], "built");
}

#[test]
fn video_bytes_are_the_same_across_jobs_and_runs() {
    let a = Project::demo();
    let b = Project::demo();
    assert_eq!(a.render(&["-j1"]).code, 0);
    assert_eq!(b.render(&["-j2"]).code, 0);
    assert_eq!(a.outputs(), b.outputs());
    // A fresh store (no cache) gives the same bytes again.
    std::fs::remove_dir_all(a.path().join("cache")).unwrap();
    std::fs::remove_dir_all(a.path().join("renders")).unwrap();
    assert_eq!(a.render(&["-j2"]).code, 0);
    assert_eq!(a.outputs(), b.outputs());
}

#[test]
fn motion_trails_carry_across_segments_and_stay_deterministic() {
    let p = album(&[("t", "audio/t.wav")], "preset = \"nocturne\"\n");
    p.write_bytes("audio/t.wav", &tone(3.0, |t| 0.3 + 0.7 * (t * 2.0).sin().abs()));
    let r = p.render(&["album.v"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let first = p.bytes("renders/album/v/t/video.mp4");
    // Losing the store and rebuilding from scratch gives the same bytes.
    std::fs::remove_dir_all(p.path().join("cache")).unwrap();
    assert_eq!(p.render(&["album.v"]).code, 0);
    assert_eq!(p.bytes("renders/album/v/t/video.mp4"), first);
}

#[test]
fn no_previews_and_keep_frames() {
    let p = album(&[("t", "audio/t.wav")], "");
    p.write_bytes("audio/t.wav", &tone(1.5, |_| 1.0));
    let r = p.render(&["album.v", "--no-previews", "--keep-frames"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!p.path().join("renders/album/v/t/previews").exists());
    let frames = std::fs::read_dir(p.path().join("renders/album/v/t/frames")).unwrap().count();
    assert_eq!(frames, 36, "ceil(1.5 s · 24 fps) PNG frames");
    assert!(p.path().join("renders/album/v/t/frames/000035.png").is_file());
}

#[test]
fn bad_video_settings_name_the_key_and_what_is_allowed() {
    let p = album(&[("t", "audio/t.wav")], "");
    p.write_bytes("audio/t.wav", &tone(1.0, |_| 1.0));
    let r = p.run(&["render", "--set", "album.v.fps=200"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("album.v.fps") && r.stderr.contains("allowed 24 to 120"), "{}", r.stderr);
    let r = p.run(&["render", "--set", "album.v.resolution=100"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("multiple of 16"), "{}", r.stderr);
    let r = p.run(&["render", "--set", "album.v.preset=drfit"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("did you mean `drift`"), "{}", r.stderr);
    let r = p.run(&["render", "--set", "album.v.postfx.grain=0.3"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("grain_intensity"), "{}", r.stderr);
    let r = p.run(&["render", "--set", "album.v.postfx.tone_curve=sepia"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("filmlog, punch, pastel, linear"), "{}", r.stderr);
    let r = p.run(&["render", "--set", "album.v.decoder.model=models/missing.onnx"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("models/missing.onnx"), "{}", r.stderr);
    p.edit("recipes/album.toml", "id = \"t\"\n", "id = \"t\"\nfps = 30\n");
    let r = p.run(&["render"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("set on the album"), "{}", r.stderr);
}

#[test]
fn a_project_preset_extends_a_builtin_one() {
    let p = album(&[("t", "audio/t.wav")], "preset = \"mine\"\n");
    p.write_bytes("audio/t.wav", &tone(1.0, |_| 1.0));
    p.write(
        "Project.toml",
        &format!("{}\n[preset.mine]\nbase = \"lumen\"\npostfx = {{ grain_intensity = 0.0 }}\n", p.read("Project.toml")),
    );
    let r = p.render(&["album.v"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let run: serde_json::Value = serde_json::from_str(&p.read("renders/album/v/run.json")).unwrap();
    let cfg = &run["config"]["tracks"][0];
    assert_eq!(cfg["preset"], "mine");
    assert_eq!(cfg["controller"]["anchor_set"], "lumen");
    assert_eq!(cfg["postfx"]["tone_curve"], "pastel");
    assert_eq!(cfg["postfx"]["grain_intensity"], 0.0);
    let list = p.run(&["list"]);
    assert!(list.stdout.contains("mine") && list.stdout.contains("Project.toml"), "{}", list.stdout);
}

#[test]
fn ffprobe_accepts_the_video_when_installed() {
    if std::process::Command::new("ffprobe").arg("-version").output().is_err() {
        eprintln!("skipped: ffprobe is not installed");
        return;
    }
    let p = Project::demo();
    assert_eq!(p.render(&[]).code, 0);
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-show_entries", "stream=codec_name,nb_read_frames", "-of", "json"])
        .arg(p.path().join("renders/album/demo/opening/video.mp4"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let codecs: Vec<&str> =
        v["streams"].as_array().unwrap().iter().map(|s| s["codec_name"].as_str().unwrap()).collect();
    assert!(codecs.contains(&"h264") && codecs.contains(&"opus"), "{codecs:?}");
    let frames = npz_meta(&p, "renders/album/demo/opening/latents.npz")["frames"].as_u64().unwrap();
    let video = v["streams"].as_array().unwrap().iter().find(|s| s["codec_name"] == "h264").unwrap();
    assert_eq!(video["nb_read_frames"].as_str().unwrap().parse::<u64>().unwrap(), frames);
}

#[test]
fn a_users_own_decoder_with_a_fixed_batch_renders() {
    // Any ONNX file with input `latent` [B,8,16,16] → `image` [B,3,H,W] works, fixed batch too.
    let p = album(&[("t", "audio/t.wav")], "");
    p.write_bytes("audio/t.wav", &tone(1.0, |_| 1.0));
    let r = p.render(&["album.v", "--set", "album.v.decoder.model=models/test/tiny_batch1.onnx"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.built_segments("decoded").len(), 1);
    // A model with the wrong interface fails its track with a message naming the file.
    let r = p.render(&["album.v", "--set", "album.v.decoder.model=models/test/wrong_input_name.onnx"]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("wrong_input_name.onnx") || r.stderr.contains("wrong_input_name.onnx"), "{}", r.stdout);
}

#[test]
fn onnxruntime_without_a_library_is_a_clear_error() {
    let p = album(&[("t", "audio/t.wav")], "");
    p.write_bytes("audio/t.wav", &tone(1.0, |_| 1.0));
    let mut cmd =
        p.cmd(&["render", "--message-format", "json", "album.v", "--set", "album.v.decoder.backend=onnxruntime"]);
    let out = cmd.env_remove("ORT_DYLIB_PATH").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("ORT_DYLIB_PATH") || stdout.contains("onnxruntime"), "{stdout}");
}

/// With `ORT_DYLIB_PATH` set (e.g. the `onnxruntime` wheel's `libonnxruntime.so.1.NN.N`, 1.24 or
/// newer) the same track renders through ONNX Runtime, and run.json says so.
#[test]
fn onnxruntime_renders_when_a_library_is_given() {
    let Some(lib) = std::env::var_os("ORT_DYLIB_PATH") else {
        eprintln!("SKIP onnxruntime_renders_when_a_library_is_given: ORT_DYLIB_PATH is not set");
        return;
    };
    let p = album(&[("t", "audio/t.wav")], "");
    p.write_bytes("audio/t.wav", &tone(1.0, |_| 1.0));
    let r = p.run(&["render", "album.v", "--set", "album.v.decoder.backend=onnxruntime"]);
    assert_eq!(r.code, 0, "{} {}{}", lib.to_string_lossy(), r.stdout, r.stderr);
    let run: serde_json::Value = serde_json::from_str(&p.read("renders/album/v/run.json")).unwrap();
    assert_eq!(run["tracks"][0]["decoder_provider"], "onnxruntime-cpu", "{run}");
    assert_eq!(run["tracks"][0]["decoder_precision"], "fp32");
}
