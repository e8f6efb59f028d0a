//! `render --timings` / `--profile` and `ntsbuild report`: what the pages hold, that the gallery
//! is the same bytes after a no-op render, that bad inputs are named, that both pages open in
//! headless Chromium without errors (`.ci/browser_check.py`), and that the gallery stays usable
//! for a 2,000-file texture library and a 20-track album.
#![allow(clippy::print_stderr)] // reports measurements and skips

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use common::{DEMO_ARTIFACTS, Project, is_segment, repo};
use ntsbuild::engine::flow::Figure;
use ntsbuild::engine::plan::State;
use ntsbuild::pages::gallery::{self, Artifact, Gallery, TargetView};
use ntsbuild::store::Digest;

/// Every file under `dir` with the blake3 of its bytes.
fn tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for e in fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let hash = blake3::hash(&fs::read(&p).unwrap()).to_hex().to_string();
                out.insert(p.strip_prefix(base).unwrap().display().to_string(), hash);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The light demo plus the repository's texture library (the manifest table).
fn demo_with_textures() -> Project {
    let p = Project::demo();
    fs::copy(repo().join("recipes/textures.toml"), p.path().join("recipes/textures.toml")).unwrap();
    p
}

#[test]
fn render_timings_write_a_timeline_and_a_chrome_trace_of_every_artifact_and_segment() {
    let p = Project::demo();
    let profile = p.path().join("out/trace.json");
    let run = p.render(&["--timings=html,json", "--profile", profile.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let events = run.events();
    let written: Vec<&str> =
        events.iter().filter(|e| e["event"] == "timings").map(|e| e["path"].as_str().unwrap()).collect();
    let dir = p.path().join("cache/timings");
    assert_eq!(
        written.iter().map(PathBuf::from).collect::<Vec<_>>(),
        [dir.join("ntsbuild-timing.html"), dir.join("ntsbuild-timing.json"), profile.clone()],
        "the paths are printed"
    );
    // A time-stamped copy of each beside the stable name.
    let names: BTreeSet<String> =
        fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    for ext in ["html", "json"] {
        let stamped: Vec<&String> =
            names.iter().filter(|n| n.starts_with("ntsbuild-timing-2") && n.ends_with(ext)).collect();
        assert_eq!(stamped.len(), 1, "{names:?}");
        assert_eq!(
            fs::read(dir.join(stamped[0])).unwrap(),
            fs::read(dir.join(format!("ntsbuild-timing.{ext}"))).unwrap()
        );
    }

    let ran: BTreeMap<String, String> = run.all_statuses();
    assert!(ran.keys().any(|id| is_segment(id)), "the demo's video has segments");
    let trace: serde_json::Value = serde_json::from_slice(&fs::read(&profile).unwrap()).unwrap();
    assert_eq!(fs::read(&profile).unwrap(), fs::read(dir.join("ntsbuild-timing.json")).unwrap());
    let spans: BTreeMap<String, &serde_json::Value> = trace["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ph"] == "X")
        .map(|e| (e["name"].as_str().unwrap().to_string(), e))
        .collect();
    assert_eq!(spans.keys().collect::<Vec<_>>(), ran.keys().collect::<Vec<_>>(), "one span per artifact and segment");
    let total = trace["otherData"]["total_us"].as_u64().unwrap();
    for (id, e) in &spans {
        assert_eq!(e["args"]["status"].as_str(), Some(ran[id].as_str()), "{id}");
        let (ts, dur) = (e["ts"].as_u64().unwrap(), e["dur"].as_u64().unwrap());
        assert!(ts + dur <= total, "{id}: {ts}+{dur} past the render's {total} µs");
        assert!(!e["cat"].as_str().unwrap().is_empty(), "{id} has its query kind");
    }
    // A segment runs inside its video's computation, and is timed from the same start.
    let video = spans["album.demo/opening/video.mp4"];
    let (v0, v1) = (video["ts"].as_u64().unwrap(), video["ts"].as_u64().unwrap() + video["dur"].as_u64().unwrap());
    for (id, e) in spans.iter().filter(|(id, _)| id.starts_with("album.demo/opening/encoded/")) {
        let ts = e["ts"].as_u64().unwrap();
        assert!(ts + 2_000 >= v0 && ts <= v1, "{id} at {ts} µs outside its video's {v0}..{v1}");
        assert_eq!(e["cat"], "encoded_segment");
    }
    // Threads are named, and a built artifact's inputs finished before it did.
    let names: Vec<_> =
        trace["traceEvents"].as_array().unwrap().iter().filter(|e| e["name"] == "thread_name").collect();
    assert!(!names.is_empty());
    let end = |id: &str| spans[id]["ts"].as_u64().unwrap() + spans[id]["dur"].as_u64().unwrap();
    assert!(end("song.demo/song.wav") <= end("album.demo/opening/features.npz") + 1_000);

    let html = fs::read_to_string(dir.join("ntsbuild-timing.html")).unwrap();
    for heading in ["Timeline", "Threads busy over time", "Critical path", "Totals per query kind"] {
        assert!(html.contains(heading), "{heading}");
    }
    for id in ran.keys() {
        assert!(html.contains(&format!("<title>{id} (")), "{id} has a bar");
    }
    for kind in ["kit_voice", "song_wav", "encoded_segment", "decoded_segment", "album_video"] {
        assert!(html.contains(&format!("<tr><td>{kind}</td>")), "{kind} in the totals");
    }
    // The critical path ends in the artifact that finished last.
    let last = spans.iter().filter(|(id, _)| !is_segment(id)).max_by_key(|(id, _)| end(id)).unwrap().0;
    let crit = html.split("<h2>Critical path</h2>").nth(1).unwrap().split("</table>").next().unwrap();
    assert!(crit.rfind("<tr><td>").is_some_and(|i| crit[i..].contains(&format!("<td>{last}</td>"))), "{crit}");

    let bad = p.run(&["render", "--timings=pdf"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("pdf"), "{}", bad.stderr);
    // A dry run times nothing: said, not ignored.
    let dry = p.run(&["render", "--dry-run", "--timings"]);
    assert_eq!(dry.code, 2, "{}", dry.stderr);
    assert!(dry.stderr.contains("--dry-run"), "{}", dry.stderr);
    // A profile that cannot be written is an error naming it; the render itself succeeded.
    p.write("blocker", "a file, not a folder");
    let unwritable = p.run(&["render", "--profile", p.path().join("blocker/trace.json").to_str().unwrap()]);
    assert_eq!(unwritable.code, 1, "{}", unwritable.stderr);
    assert!(unwritable.stderr.contains("blocker/trace.json"), "{}", unwritable.stderr);
}

#[test]
fn report_shows_every_output_and_a_noop_render_changes_no_byte() {
    let p = Project::demo();
    assert_eq!(p.render(&[]).code, 0);
    assert_eq!(p.render(&[]).code, 0, "no-op");
    let lock = p.bytes("ntsbuild.lock");
    let run = p.run(&["report"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("renders/index.html"), "{}", run.stdout);
    assert_eq!(p.bytes("ntsbuild.lock"), lock, "the report changes no locked byte");
    let html = p.read("renders/index.html");
    for id in DEMO_ARTIFACTS {
        assert!(html.contains(&format!("id=\"{}\"", id.replace('/', "~"))), "{id} has a card");
    }
    for media in [
        "<audio controls preload=\"none\" src=\"kit/demo/kick.wav\">",
        "<audio controls preload=\"none\" src=\"song/demo/song.wav\">",
        "<video controls preload=\"metadata\" src=\"album/demo/opening/video.mp4\">",
        "<img src=\"song/demo/loudness.png\"",
        "<img src=\"album/demo/opening/features.png\"",
        "<img src=\"album/demo/opening/previews/preview.gif\"",
        "Controller trajectory",
    ] {
        assert!(html.contains(media), "{media}");
    }
    // Digest, key and last status of an output, from the lock and the last render.
    let lock_text = p.read("ntsbuild.lock");
    let kick = lock_text.split("id = \"kit.demo/kick.wav\"").nth(1).unwrap();
    let digest = kick.split("digest = \"").nth(1).unwrap().split('"').next().unwrap();
    let key = kick.split("key = \"").nth(1).unwrap().split('"').next().unwrap();
    let card = html.split("id=\"kit.demo~kick.wav\"").nth(1).unwrap().split("</article>").next().unwrap();
    assert!(card.contains(&format!("title=\"{digest}\"")) && card.contains(&format!("title=\"{key}\"")), "{card}");
    assert!(card.contains(">fresh</span>"), "the no-op render left it fresh: {card}");
    assert!(html.contains("All up to date."));
    // Every waveform the page links exists.
    let site = tree(&p.path().join("renders/_report"));
    let waves = site.keys().filter(|k| k.starts_with("wave/")).count();
    assert_eq!(waves, html.matches("class=\"wave\"").count(), "{site:?}");
    assert!(waves >= 4);

    let before = tree(&p.path().join("renders"));
    assert_eq!(p.render(&[]).code, 0, "another no-op render");
    assert_eq!(p.run(&["report"]).code, 0);
    assert_eq!(tree(&p.path().join("renders")), before, "report after a no-op render: same bytes");
    let both = p.run(&["render", "--report"]);
    assert_eq!(both.code, 0, "{}", both.stderr);
    assert!(both.stdout.contains("report: "), "{}", both.stdout);
    assert_eq!(tree(&p.path().join("renders")), before, "render --report: the same page");
}

#[test]
fn report_explains_stale_outputs_and_names_bad_files() {
    let p = Project::demo();
    assert_eq!(p.render(&["kit.demo"]).code, 0);
    let kit = p.read("recipes/kit.toml");
    let line = kit.lines().find(|l| l.starts_with("punch_decay")).expect("the demo kick sets punch_decay").to_string();
    p.edit("recipes/kit.toml", &line, "punch_decay = 0.61");
    assert_eq!(p.run(&["report"]).code, 0);
    let html = p.read("renders/index.html");
    let card = html.split("id=\"kit.demo~kick.wav\"").nth(1).unwrap().split("</article>").next().unwrap();
    assert!(card.contains("stale: must be rebuilt"), "{card}");
    let explain = p.run(&["explain", "kit.demo/kick.wav"]);
    let reason = explain.stdout.lines().nth(1).unwrap().trim().to_string();
    assert!(reason.contains("punch_decay"), "{}", explain.stdout);
    assert!(card.contains(&format!("<li>{}</li>", reason.replace('"', "&quot;").replace('\'', "&#39;"))), "{card}");
    assert!(card.contains(">built</span>"), "the last render's status: {card}");
    assert!(html.contains("not built"), "the album was never rendered");

    p.write("cache/report/last-run.json", "{ not json");
    let before = p.bytes("renders/index.html");
    let bad = p.run(&["report"]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("cache/report/last-run.json") && bad.stderr.contains("delete it"), "{}", bad.stderr);
    assert_eq!(p.bytes("renders/index.html"), before, "nothing written");
    // The next render writes the record again.
    assert_eq!(p.render(&["kit.demo"]).code, 0);
    assert_eq!(p.run(&["report"]).code, 0);

    p.write("ntsbuild.lock", "version = 1\n[[artifact]]\nid = 3\n");
    let bad = p.run(&["report"]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("ntsbuild.lock"), "{}", bad.stderr);
}

/// Where `.ci/run` asks for the browser checks to run (`NTSBUILD_BROWSER_TESTS=require`) they
/// fail without Chromium; elsewhere they say they are skipped.
fn chromium() -> Option<String> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()));
    if found.is_none() {
        assert_ne!(
            std::env::var("NTSBUILD_BROWSER_TESTS").as_deref(),
            Ok("require"),
            "NTSBUILD_BROWSER_TESTS=require but no chromium is installed (apt-get install chromium)"
        );
        eprintln!("skipped: no chromium (apt-get install chromium); .ci/run installs it and requires this test");
    }
    found.map(str::to_string)
}

/// `.ci/browser_check.py` on `pages`: its JSON line per page; panics with its problems.
fn browser_check(pages: &[&Path], extra: &[&str], shots: &Path) -> Vec<serde_json::Value> {
    let out = Command::new("python3")
        .arg(repo().join(".ci/browser_check.py"))
        .arg("--screenshot-dir")
        .arg(shots)
        .args(extra)
        .args(pages)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}\n{}", stdout, String::from_utf8_lossy(&out.stderr));
    stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn pages_open_in_headless_chromium_without_errors_and_their_media_load() {
    if chromium().is_none() {
        return;
    }
    let p = demo_with_textures();
    let run = p.run(&["render", "--timings", "--report"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let shots = p.path().join("shots");
    let index = p.path().join("renders/index.html");
    let timing = p.path().join("cache/timings/ntsbuild-timing.html");
    let results = browser_check(&[&index, &timing], &[], &shots);
    let (gallery, timings) = (&results[0], &results[1]);
    eprintln!("{gallery}\n{timings}");
    // Every player loads: the kit, songs and textures' audio, and the H.264 + Opus videos
    // (Debian's Chromium decodes them; a browser that cannot fails here, by name).
    assert_eq!(gallery["can_play_h264_opus_mp4"], "probably", "this Chromium cannot play the videos");
    assert!(gallery["media"].as_u64().unwrap() >= 10, "{gallery}");
    assert_eq!(gallery["media_loaded"], gallery["media"], "{gallery}");
    assert_eq!(gallery["videos_with_frames"], 2, "video.mp4 and album.mp4 decode: {gallery}");
    assert!(gallery["table_rows"].as_u64().unwrap() > 0, "the texture manifest is a table");
    if std::env::var("NTSBUILD_UPDATE_SCREENSHOTS").is_ok() {
        fs::copy(shots.join("index.png"), repo().join("docs/report.png")).unwrap();
        fs::copy(shots.join("ntsbuild-timing.png"), repo().join("docs/timings.png")).unwrap();
    }
    assert!(fs::metadata(shots.join("index.png")).unwrap().len() > 10_000);
}

/// Short mono WAVs, each a little different.
fn tone(i: usize) -> Vec<u8> {
    let samples: Vec<f32> =
        (0..2205).map(|n| (n as f32 * (0.02 + i as f32 * 1e-4)).sin() * (1.0 - n as f32 / 2205.0) * 0.5).collect();
    ntsbuild::media::wav::encode_pcm(&[&samples], 22_050, 16).unwrap()
}

#[test]
fn gallery_of_2000_textures_and_20_tracks_stays_small_and_loads() {
    // Real media from the light demo's album, shared by 20 generated tracks.
    let demo = Project::demo();
    assert_eq!(demo.render(&["album.demo"]).code, 0);
    let p = Project::empty();
    let out = "renders";
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut album = Vec::new();
    let mut figures = Vec::new();
    for t in 0..20 {
        for (rel, from) in [
            ("video.mp4", "album/demo/opening/video.mp4"),
            ("features.png", "album/demo/opening/features.png"),
            ("previews/preview.gif", "album/demo/opening/previews/preview.gif"),
            ("latents.npz", "album/demo/opening/latents.npz"),
        ] {
            let rel = format!("track{t:02}/{rel}");
            files.insert(format!("{out}/album/big/{rel}"), demo.bytes(&format!("renders/{from}")));
            album.push(rel);
        }
        let weights: Vec<f32> = (0..400 * 6).map(|i| ((i * (t + 3)) % 7) as f32).collect();
        let png = ntsbuild::media::thumbs::stacked_weights_png(&weights, 6, 480, 72).unwrap();
        figures.push(Figure { beside: format!("album.big/track{t:02}/latents.npz"), title: "Trajectory".into(), png });
    }
    let mut csv = String::from("filename,source,type,duration_sec,grade,note\n");
    let mut textures = vec!["manifest.csv".to_string()];
    for i in 0..2000 {
        let rel = format!("src{:02}/pads/tex_{i:04}.wav", i % 40);
        files.insert(format!("{out}/textures/big/{rel}"), tone(i));
        csv.push_str(&format!("tex_{i:04}.wav,src{:02},pad,0.1,{},\"a, b\"\n", i % 40, ["A", "B", "F"][i % 3]));
        textures.push(rel);
    }
    files.insert(format!("{out}/textures/big/manifest.csv"), csv.into_bytes());
    for (path, bytes) in &files {
        p.write_bytes(path, bytes);
    }
    let view = |id: &str, kind: &str, rels: &[String], figures: Vec<Figure>| {
        let (k, n) = id.split_once('.').unwrap();
        let artifacts = rels
            .iter()
            .map(|rel| {
                let path = format!("{out}/{k}/{n}/{rel}");
                let bytes = &files[&path];
                Artifact {
                    id: format!("{id}/{rel}"),
                    rel: rel.clone(),
                    digest: Some(Digest::of(bytes)),
                    key: Some(Digest::of(path.as_bytes())),
                    bytes: Some(bytes.len() as u64),
                    path,
                    last: Some("fresh".into()),
                    state: Some(State::Fresh),
                }
            })
            .collect();
        TargetView { id: id.into(), kind: kind.into(), artifacts, figures }
    };
    let g = Gallery {
        project: "scale".into(),
        output_dir: out.into(),
        targets: vec![view("album.big", "album", &album, figures), view("textures.big", "textures", &textures, vec![])],
    };
    let t = Instant::now();
    let site = gallery::write_site(p.path(), &g, None).unwrap();
    let first = t.elapsed();
    let t = Instant::now();
    let again = gallery::write_site(p.path(), &g, None).unwrap();
    let warm = t.elapsed();
    assert_eq!(again.page_bytes, site.page_bytes);
    let html = p.read("renders/index.html");
    assert_eq!(html.matches("<video ").count(), 20);
    assert_eq!(html.matches("<tbody>").count(), 1, "one manifest table");
    assert_eq!(html.matches("<button class=\"play\" data-src=").count(), 2000, "every texture can be played");
    let distinct_figures: BTreeSet<Digest> = g.targets[0].figures.iter().map(|f| Digest::of(&f.png)).collect();
    assert_eq!(site.pictures, 2000 + distinct_figures.len(), "a waveform per texture and the trajectories");
    assert_eq!(html.matches("<figcaption>Trajectory</figcaption>").count(), 20);
    assert!(site.page_bytes < 4 << 20, "index.html is {} bytes", site.page_bytes);
    eprintln!(
        "scale: {} artifacts, index.html {} KiB, generated in {:.2} s (pictures made), {:.2} s (pictures kept)",
        site.artifacts,
        site.page_bytes / 1024,
        first.as_secs_f64(),
        warm.as_secs_f64()
    );
    if chromium().is_none() {
        return;
    }
    let shots = p.path().join("shots");
    // Loading 2,000 sounds is not what a visitor does: check the 20 videos and 40 sounds, every
    // link, every picture and the table.
    let r = browser_check(
        &[&p.path().join("renders/index.html")],
        &["--media-limit", "60", "--expect-table-rows", "2000", "--height", "1200"],
        &shots,
    );
    eprintln!("scale page in Chromium: {}", r[0]);
    assert_eq!(r[0]["media_loaded"], 60);
    assert!(r[0]["load_ms"].as_f64().unwrap() < 30_000.0, "{}", r[0]);
}
