//! The video flow end to end: features → latents → decoded/encoded segments → video.mp4,
//! previews, album.mp4 and run.json; and the incremental guarantees segments exist for.
#![allow(clippy::print_stdout, clippy::print_stderr)] // reports measurements

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
    let gif = p.bytes("renders/album/demo/opening/previews/preview.gif");
    assert_eq!(&gif[..6], b"GIF89a");
    // The first 4 s at 5 frames/s (every 5th frame at 24 fps), each shown 0.2 s: motion, not a flicker.
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::Indexed);
    let mut decoder = options.read_info(gif.as_slice()).unwrap();
    let mut delays = Vec::new();
    while let Some(frame) = decoder.read_next_frame().unwrap() {
        delays.push(frame.delay);
    }
    assert_eq!(delays, vec![20; 20], "preview.gif frame delays (cs)");
    assert_eq!(&p.bytes("renders/album/demo/opening/previews/contact_sheet.png")[..4], b"\x89PNG");

    let run_text = p.read("renders/album/demo/run.json");
    let run: serde_json::Value = serde_json::from_str(&run_text).unwrap();
    assert_eq!(run["run_id"], "album.demo");
    // A locked artifact like any other: nothing of one particular run in it.
    assert!(run.get("created_at").is_none() && run["tracks"][0].get("timings").is_none(), "{run}");
    assert!(p.read("ntsbuild.lock").contains("album.demo/run.json"));
    let track = &run["tracks"][0];
    assert_eq!(track["id"], "opening");
    assert_eq!(track["frames"], frames);
    assert_eq!(track["anchor_set"], "pulse");
    assert_eq!(track["decoder_provider"], "tract-cpu");
    assert_eq!(track["decoder_precision"], "fp32");
    let video_digest = blake3::hash(&mp4).to_hex().to_string();
    assert_eq!(track["video_checksum"], video_digest.as_str());
    // Paths relative to the album's folder hold in any checkout.
    assert_eq!(track["video"], "opening/video.mp4");

    // A second run builds nothing, segments included, and leaves run.json as it was.
    let again = p.render(&["-j1"]);
    assert_eq!(again.code, 0);
    assert!(again.all_statuses().values().all(|s| s == "fresh"), "{:?}", again.all_statuses());
    assert_eq!(p.read("renders/album/demo/run.json"), run_text);
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
    // Without tempo sync: its onset threshold is a quantile of the whole track's onsets
    // (DOMAIN §B), so with it an edit anywhere may move every phase kick.
    let p = album(&[("t", "audio/t.wav")], "controller = { tempo_sync = false }\n");
    p.write_bytes("audio/t.wav", &tone(8.0, |_| 1.0));
    let r = p.render(&["album.v"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.built_segments("decoded").len(), 8, "8 s at 1 s per segment");

    // Fade the last ~2 s down smoothly: the loudest frame and the onset maximum (the track-wide
    // statistics) stay as they were; the controller's running feature statistics look back only.
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
    // The frames' progress, and what was written.
    let events = r.events();
    let written: Vec<_> = events.iter().filter(|e| e["id"] == "renders/album/v/t/frames").collect();
    assert!(written.last().is_some_and(|e| e["done"] == true && e["frames_done"] == 36), "{written:?}");
    let wrote: Vec<_> = events.iter().filter(|e| e["event"] == "wrote").collect();
    assert_eq!(wrote.len(), 1, "{wrote:?}");
    assert_eq!((&wrote[0]["path"], &wrote[0]["files"]), (&serde_json::json!("renders/album/v/t/frames"), &36.into()));
}

/// Long renders say how much is left: `--dry-run` estimates each video's frames and segments
/// from its audio's duration, and the render reports frames done of the total as segments
/// finish, ending at the total.
#[test]
fn dry_run_estimates_frames_and_render_reports_progress() {
    let p = album(&[("a", "audio/a.wav"), ("b", "song.demo/song.wav")], "");
    p.edit("recipes/album.toml", "id = \"a\"\n", "id = \"a\"\ntrim = { start = 0.5 }\n");
    p.write_bytes("audio/a.wav", &tone(3.2, |_| 1.0));
    let r = p.run(&["render", "--dry-run", "album.v"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // 3.2 s trimmed to 2.7 s at 24 fps: 65 frames, in 1 s (24-frame) segments.
    assert!(r.stdout.contains("≈ 65 frames in 3 segments (2.7 s of audio/a.wav at 24 fps)"), "{}", r.stdout);
    // A song not rendered yet: said, not guessed.
    assert!(r.stdout.contains("frames are known once song.demo/song.wav is built"), "{}", r.stdout);
    let r = p.run(&["render", "--dry-run", "--message-format", "json", "album.v"]);
    let plan: Vec<serde_json::Value> = r.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let video = plan.iter().find(|e| e["id"] == "album.v/a/video.mp4").unwrap();
    assert_eq!((&video["estimate"]["frames"], &video["estimate"]["segments"]), (&65.into(), &3.into()), "{video}");

    let r = p.render(&["album.v", "--no-previews"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let meta = npz_meta(&p, "renders/album/v/a/latents.npz");
    assert_eq!(meta["frames"], 65, "the estimate is the frame count");
    let progress: Vec<_> =
        r.events().into_iter().filter(|e| e["event"] == "progress" && e["id"] == "album.v/a/video.mp4").collect();
    assert!(progress.len() >= 3, "{progress:?}");
    assert!(progress.iter().all(|e| e["frames"] == 65 && e["parts"] == 3), "{progress:?}");
    let done: Vec<u64> = progress.iter().map(|e| e["frames_done"].as_u64().unwrap()).collect();
    assert!(done.windows(2).all(|w| w[0] <= w[1]), "frames done never go back: {done:?}");
    let last = progress.last().unwrap();
    assert_eq!((&last["frames_done"], &last["done"]), (&65.into(), &true.into()), "{last}");
    assert_eq!(progress.iter().filter(|e| e["done"] == true).count(), 1, "{progress:?}");
    // Now that the song is in the store, the estimate for its track is the song's duration.
    let r = p.run(&["render", "--dry-run", "--set", "album.v.postfx.grain_intensity=0.05", "album.v"]);
    let frames = npz_meta(&p, "renders/album/v/b/latents.npz")["frames"].as_u64().unwrap();
    assert!(r.stdout.contains(&format!("≈ {frames} frames in")), "{frames}: {}", r.stdout);
    assert!(r.stdout.contains("s of song.demo/song.wav at 24 fps)"), "{}", r.stdout);
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
    // Said once however many segments and previews it stops; a wrong path names the path.
    p.write_bytes("audio/t.wav", &tone(3.0, |_| 1.0));
    let empty = p.path().join("libonnxruntime.so");
    std::fs::write(&empty, b"").unwrap();
    for lib in [None, Some(empty.as_path())] {
        let mut cmd = p.cmd(&["render", "album.v", "--set", "album.v.decoder.backend=onnxruntime"]);
        match lib {
            Some(lib) => cmd.env("ORT_DYLIB_PATH", lib),
            None => cmd.env_remove("ORT_DYLIB_PATH"),
        };
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        let said: Vec<&str> = stderr.lines().filter(|l| l.contains("ONNX Runtime library")).collect();
        assert_eq!(said.len(), 1, "{stderr}");
        if lib.is_some() {
            assert!(said[0].contains("libonnxruntime.so"), "{stderr}");
        }
        let folded = stderr.lines().filter(|l| l.starts_with("error: the same problem stopped")).count();
        assert_eq!(folded, 1, "{stderr}");
    }
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

/// Regression: a 10.000 s input gave 301 frames at 30 fps (resampling added a sample); the
/// frame count follows the source's duration, whatever its rate.
#[test]
fn ten_seconds_of_audio_give_exactly_300_frames_at_30_fps() {
    for rate in [44_100u32, 48_000, 22_050] {
        let n = 10 * rate as usize;
        let x: Vec<f32> = (0..n).map(|i| 0.3 * (i as f32 * 0.05).sin()).collect();
        let wav = ntsbuild::media::wav::encode_pcm(&[&x], rate, 16).unwrap();
        let p = album(&[("t", "audio/ten.wav")], "");
        p.edit("recipes/album.toml", "fps = 24", "fps = 30");
        p.write_bytes("audio/ten.wav", &wav);
        let r = p.render(&["album.v/t/latents.npz", "album.v/t/features.npz"]);
        assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
        let meta = npz_meta(&p, "renders/album/v/t/latents.npz");
        assert_eq!(meta["frames"], 300, "{rate} Hz: {meta}");
        let features = npz_meta(&p, "renders/album/v/t/features.npz");
        assert_eq!(features["samples"], 480_000, "{rate} Hz: {features}");
    }
}

/// Declared input roots: `[project] inputs = { music = "…" }` and `music:path` in a recipe.
/// The library is read where it is, never written, and keys and outputs hold only its name, so
/// a checkout with the library elsewhere shares the cache.
#[test]
fn audio_from_a_declared_input_root_is_keyed_by_name_and_content() {
    let library = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(library.path().join("album")).unwrap();
    let track = library.path().join("album/tone.wav");
    std::fs::write(&track, tone(2.0, |_| 1.0)).unwrap();
    let mut perms = std::fs::metadata(&track).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&track, perms).unwrap();
    let p = album(&[("t", "music:album/tone.wav")], "");
    let declare = |p: &Project, dir: &std::path::Path| {
        let text: String =
            p.read("Project.toml").lines().filter(|l| !l.starts_with("inputs = ")).map(|l| format!("{l}\n")).collect();
        let text = text
            .replace("[project]\n", &format!("[project]\ninputs = {{ music = {:?} }}\n", dir.display().to_string()));
        p.write("Project.toml", &text);
    };
    declare(&p, library.path());
    let r = p.render(&["album.v"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.statuses()["album.v/t/video.mp4"], "built");
    assert_eq!(std::fs::read(&track).unwrap(), tone(2.0, |_| 1.0), "the library is never written");
    // No output, lock entry or action key names where the library is.
    let lib = library.path().display().to_string();
    let mut stack = vec![p.path().join("renders"), p.path().join("cache/actions"), p.path().join("ntsbuild.lock")];
    let mut seen = 0;
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().flatten().map(|e| e.path()));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            assert!(!String::from_utf8_lossy(&bytes).contains(&lib), "{} names {lib}", path.display());
            seen += 1;
        }
    }
    assert!(seen > 10);
    let actions = String::from_utf8_lossy(
        &std::process::Command::new("grep")
            .args(["-rl", "file:music:album/tone.wav"])
            .arg(p.path().join("cache/actions"))
            .output()
            .unwrap()
            .stdout,
    )
    .into_owned();
    assert!(!actions.is_empty(), "the features key names the file by root and path");
    // The same project elsewhere, with the library elsewhere: the cache is shared.
    let other = tempfile::tempdir().unwrap();
    common::copy_dir(p.path(), other.path());
    let moved = tempfile::tempdir().unwrap();
    common::copy_dir(library.path(), moved.path());
    let q = Project { dir: other };
    declare(&q, moved.path());
    let r = q.render(&["album.v"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.statuses().values().all(|s| s == "fresh"), "{:?}", r.statuses());
    // Unknown roots and missing files are recipe errors naming file, line and key.
    q.edit("recipes/album.toml", "music:album/tone.wav", "musik:album/tone.wav");
    let bad = q.run(&["status"]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("recipes/album.toml:") && bad.stderr.contains("album.v.track[0].audio"),
        "{}",
        bad.stderr
    );
    assert!(bad.stderr.contains("unknown input root `musik` (did you mean `music`?)"), "{}", bad.stderr);
    q.edit("recipes/album.toml", "musik:album/tone.wav", "music:album/gone.wav");
    let bad = q.run(&["status"]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("recipes/album.toml:") && bad.stderr.contains("no such file in input root `music`"),
        "{}",
        bad.stderr
    );
}

/// A one-track album's cut is that track's video, byte for byte; with two tracks it holds both.
#[test]
fn a_one_track_album_cut_is_its_video_and_two_tracks_are_joined() {
    let p = album(&[("a", "audio/a.wav")], "");
    p.write_bytes("audio/a.wav", &tone(2.0, |_| 1.0));
    p.write_bytes("audio/b.wav", &tone(1.5, |t| 0.5 + 0.5 * t / 1.5));
    let r = p.render(&["album.v"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let a = p.bytes("renders/album/v/a/video.mp4");
    assert_eq!(p.bytes("renders/album/v/album.mp4"), a);
    p.write(
        "recipes/album.toml",
        &format!("{}[[album.v.track]]\nid = \"b\"\naudio = \"audio/b.wav\"\n", p.read("recipes/album.toml")),
    );
    let r = p.render(&["album.v"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let b = p.bytes("renders/album/v/b/video.mp4");
    let both = p.bytes("renders/album/v/album.mp4");
    assert_ne!(both, a);
    assert_eq!(&top_boxes(&both)[..2], ["ftyp", "moov"]);
    assert!(both.len() > a.len().max(b.len()), "{} vs {} and {}", both.len(), a.len(), b.len());
}

#[test]
fn a_lost_or_corrupt_video_blob_is_made_again_to_the_same_bytes() {
    let p = album(&[("a", "audio/a.wav"), ("b", "audio/b.wav")], "");
    p.write_bytes("audio/a.wav", &tone(1.5, |_| 1.0));
    p.write_bytes("audio/b.wav", &tone(1.0, |t| 0.5 + 0.5 * t));
    let r = p.render(&["album.v"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rels = ["renders/album/v/a/video.mp4", "renders/album/v/album.mp4"];
    let before: Vec<Vec<u8>> = rels.iter().map(|rel| p.bytes(rel)).collect();
    let blob = |bytes: &[u8]| {
        let hex = ntsbuild::store::Digest::of(bytes).hex();
        p.path().join("cache/cas").join(&hex[..2]).join(hex)
    };
    // The track's video is corrupt in the store, the album's cut gone; both outputs are gone.
    let mut bad = std::fs::read(blob(&before[0])).unwrap();
    bad[before[0].len() / 2] ^= 0xff;
    std::fs::write(blob(&before[0]), bad).unwrap();
    std::fs::remove_file(blob(&before[1])).unwrap();
    for rel in rels {
        std::fs::remove_file(p.path().join(rel)).unwrap();
    }
    let r = p.render(&["album.v"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for (rel, bytes) in rels.iter().zip(&before) {
        assert!(p.bytes(rel) == *bytes, "{rel} changed");
    }
    let audit = p.run(&["audit"]);
    assert_eq!(audit.code, 0, "{}", audit.stdout);
}
