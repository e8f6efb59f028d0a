//! The texture flow end to end: `[textures.NAME]` → pads, drones, swells, clouds, hiss and
//! `manifest.csv`, each texture its own artifact.
#![allow(clippy::print_stdout, clippy::print_stderr)] // reports measurements

mod common;

use std::collections::BTreeMap;

use common::Project;
use ntsbuild::media::wav;

/// A mono 16-bit 44.1 kHz chord (three sines with slow tremolo) of `seconds`, at about −23 dBFS rms.
fn chord_wav(p: &Project, rel: &str, root_hz: f32, seconds: f32) {
    let rate = 44_100u32;
    let n = (seconds * rate as f32) as usize;
    let x: Vec<f32> = (0..n)
        .map(|i| {
            let t = i as f32 / rate as f32;
            let tone: f32 =
                [1.0f32, 1.26, 1.5].iter().map(|r| (2.0 * std::f32::consts::PI * root_hz * r * t).sin()).sum();
            0.1 * (0.8 + 0.2 * (2.0 * std::f32::consts::PI * 0.5 * t).sin()) * tone
        })
        .collect();
    p.write_bytes(rel, &wav::encode_pcm(&[&x], rate, 16).unwrap());
}

const RECIPE: &str = r#"[textures.x]
sources = ["audio/*.wav"]
seed = 3

[textures.x.pads]
target_durations_s = [1.0]
best_per_duration = 2

[textures.x.drones]
pitch_shifts_st = [0, 7]
time_stretches = [1.0]
loop_s = 1.0
swell_s = 2.0
swell_fade_in_s = 0.2
swell_fade_out_s = 0.5

[textures.x.clouds]
grains = 60
duration_s = 2.0
clouds_per_source = 1

[textures.x.hiss]
loops = 1
flickers = 2
"#;

/// Two chord sources and light settings: 10 files per source plus 3 of synthetic hiss.
fn project() -> Project {
    let p = Project::empty();
    p.write("Project.toml", "[project]\nname = \"t\"\n");
    p.write("recipes/textures.toml", RECIPE);
    chord_wav(&p, "audio/a.wav", 220.0, 4.0);
    chord_wav(&p, "audio/b.wav", 196.0, 4.0);
    p
}

/// Manifest rows by filename+source: (type, grade, saved, note).
fn manifest(p: &Project) -> Vec<BTreeMap<String, String>> {
    let text = p.read("renders/textures/x/manifest.csv");
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    lines
        .map(|l| {
            // The notes of these tests hold no commas inside quotes except in the last column.
            let cells: Vec<&str> = l.splitn(header.len(), ',').collect();
            header.iter().cloned().zip(cells.iter().map(|c| c.trim_matches('"').to_string())).collect()
        })
        .collect()
}

fn built(r: &common::Run) -> Vec<String> {
    r.statuses().into_iter().filter(|(_, s)| s == "built").map(|(id, _)| id).collect()
}

#[test]
fn every_planned_texture_is_a_file_or_a_manifest_row_saying_why_not() {
    let p = project();
    let r = p.render(&[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let rows = manifest(&p);
    let header = p.read("renders/textures/x/manifest.csv").lines().next().unwrap().to_string();
    assert_eq!(
        header,
        "filename,source,type,duration_sec,rms_db,peak,crest_factor,centroid_hz,est_freq_hz,loop_error_db,\
         brightness,detected_key,detected_bpm,grade,saved,note"
    );
    // 2 pads + 2 drone loops + warm/airy/dark + reversed + 1 swell + 1 cloud per source, 3 hiss.
    assert_eq!(rows.len(), 2 * 10 + 3, "{rows:?}");
    let statuses = r.statuses();
    for row in &rows {
        let folder = match row["type"].as_str() {
            "pad" | "drone" => "pads",
            "swell" => "swells",
            "cloud" => "clouds",
            _ => "hiss",
        };
        let rel = format!("{}/{folder}/{}", row["source"], row["filename"]);
        let path = p.path().join("renders/textures/x").join(&rel);
        let status = &statuses[&format!("textures.x/{rel}")];
        if row["saved"] == "true" {
            assert!(path.is_file(), "{rel} is saved but missing");
            assert_eq!(status, "built");
            let bytes = std::fs::read(&path).unwrap();
            let w = wav::decode(&bytes).unwrap();
            assert_eq!(w.sample_rate_hz, 44_100, "{rel}");
            assert_eq!(u16::from_le_bytes([bytes[34], bytes[35]]), 24, "{rel}: bits per sample");
            assert!(["A", "B", "F"].contains(&row["grade"].as_str()), "{row:?}");
        } else {
            assert!(!path.exists(), "{rel} is not saved but exists");
            assert_eq!(status, "skipped");
            assert!(!row["note"].is_empty(), "{row:?}");
        }
    }
    // The chord sources give pads and clouds; peaks follow each category's target.
    let peak = |rel: &str| -> f64 {
        let w = wav::decode(&p.bytes(&format!("renders/textures/x/{rel}"))).unwrap();
        w.channels.iter().flatten().fold(0.0f64, |m, x| m.max(f64::from(x.abs())))
    };
    assert!((peak("a/pads/a_pad01.wav") - 0.891).abs() < 0.01);
    assert!((peak("a/clouds/cloud_a_01.wav") - 0.708).abs() < 0.01);
    assert!((peak("synthetic/hiss/hiss_loop_01.wav") - 0.501).abs() < 0.01);
    assert!((peak("synthetic/hiss/hiss_flicker_01.wav") - 0.708).abs() < 0.01);
    // A pad loop is a loop: its length is at most the window.
    let pad = wav::decode(&p.bytes("renders/textures/x/a/pads/a_pad01.wav")).unwrap();
    assert!(pad.channels[0].len() <= 44_100);
    // Nothing left to do, and `status` (a CI gate) agrees: skipped textures are not stale.
    let again = p.render(&[]);
    assert!(built(&again).is_empty(), "{:?}", built(&again));
    let status = p.run(&["status"]);
    assert_eq!(status.code, 0, "{}", status.stdout);
}

#[test]
fn editing_one_source_rebuilds_only_its_textures_and_the_manifest() {
    let p = project();
    assert_eq!(p.render(&[]).code, 0);
    chord_wav(&p, "audio/b.wav", 174.6, 4.0);
    let r = p.render(&[]);
    assert_eq!(r.code, 0);
    let b = built(&r);
    assert!(b.iter().all(|id| id.starts_with("textures.x/b/") || id == "textures.x/manifest.csv"), "{b:?}");
    assert!(b.contains(&"textures.x/manifest.csv".to_string()));
    assert!(b.iter().any(|id| id.contains("/b/pads/")), "{b:?}");
}

#[test]
fn changing_cloud_settings_rebuilds_clouds_only() {
    let p = project();
    assert_eq!(p.render(&[]).code, 0);
    let r = p.render(&["--set", "textures.x.clouds.pitch_st_max=3"]);
    assert_eq!(r.code, 0);
    let b = built(&r);
    assert_eq!(
        b,
        [
            "textures.x/a/clouds/cloud_a_01.wav",
            "textures.x/a/mined/clouds",
            "textures.x/b/clouds/cloud_b_01.wav",
            "textures.x/b/mined/clouds",
            "textures.x/manifest.csv"
        ]
    );
}

#[test]
fn a_corrupt_source_fails_alone_and_the_manifest_records_it() {
    let p = project();
    p.write("audio/b.wav", "RIFF this is not audio");
    let r = p.render(&[]);
    assert_eq!(r.code, 1);
    let s = r.statuses();
    assert_eq!(s["textures.x/b/mined/pads"], "failed");
    assert_eq!(s["textures.x/a/pads/a_pad01.wav"], "built");
    assert_eq!(s["textures.x/manifest.csv"], "built");
    let err = r.events().into_iter().find(|e| e["id"] == "textures.x/b/mined/pads").unwrap()["error"].clone();
    assert!(err.as_str().unwrap().contains("audio/b.wav"), "{err}");
    let rows = manifest(&p);
    let b_rows: Vec<_> = rows.iter().filter(|r| r["source"] == "b").collect();
    assert_eq!(b_rows.len(), 10);
    assert!(b_rows.iter().all(|r| r["saved"] == "false" && r["note"].contains("source failed")), "{b_rows:?}");
    // Fixing the source fills the gap.
    chord_wav(&p, "audio/b.wav", 196.0, 4.0);
    let r = p.render(&[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(p.path().join("renders/textures/x/b/pads/b_pad01.wav").is_file());
}

/// Regression: the manifest recorded a failed source's absolute path, so the same inputs gave
/// different bytes (and a different key) in another checkout.
#[test]
fn a_failed_source_leaves_no_path_outside_the_project_in_the_manifest() {
    let one = project();
    let two = project();
    for p in [&one, &two] {
        p.write("audio/b.wav", "RIFF this is not audio");
        assert_eq!(p.render(&[]).code, 1);
        let text = p.read("renders/textures/x/manifest.csv");
        let root = p.path().canonicalize().unwrap().display().to_string();
        assert!(!text.contains(&root) && !text.contains("/tmp"), "{text}");
        assert!(text.contains("audio/b.wav"), "the note names the source by its project path: {text}");
    }
    assert_eq!(one.bytes("renders/textures/x/manifest.csv"), two.bytes("renders/textures/x/manifest.csv"));
    assert_eq!(one.read("ntsbuild.lock"), two.read("ntsbuild.lock"));
}

#[test]
fn same_bytes_at_any_jobs_and_from_a_fresh_store() {
    let one = project();
    let two = project();
    assert_eq!(one.render(&["-j", "1"]).code, 0);
    assert_eq!(two.render(&["-j", "2"]).code, 0);
    assert_eq!(one.outputs(), two.outputs());
}

#[test]
fn a_new_file_matching_a_glob_adds_its_textures_and_nothing_else_rebuilds() {
    let p = project();
    assert_eq!(p.render(&[]).code, 0);
    chord_wav(&p, "audio/c.wav", 246.9, 4.0);
    let r = p.render(&[]);
    let b = built(&r);
    assert!(b.iter().all(|id| id.starts_with("textures.x/c/") || id == "textures.x/manifest.csv"), "{b:?}");
    assert!(p.path().join("renders/textures/x/c/clouds/cloud_c_01.wav").is_file());
}

/// A sample folder holds more than audio: a glob over all of it mines the audio (whatever its
/// format or the case of its extension) and leaves the licence, cover, MIDI and analysis files
/// beside it out, instead of failing a source per file.
#[test]
fn a_glob_over_a_sample_folder_mines_its_audio_and_leaves_the_rest_out() {
    let p = project();
    p.edit("recipes/textures.toml", "audio/*.wav", "audio/*");
    p.copy_audio_fixture("tone.caf", "audio/Take.CAF");
    for other in ["audio/License.txt", "audio/a.wav.asd", "audio/b.wav.reapeaks", "audio/cover.jpg", "audio/melody.mid"]
    {
        p.write(other, "not audio");
    }
    let r = p.render(&[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let sources: std::collections::BTreeSet<String> =
        manifest(&p).into_iter().map(|row| row["source"].clone()).collect();
    // "synthetic": the hiss made from seeded noise, as the library names no drum sources.
    assert_eq!(sources.into_iter().collect::<Vec<_>>(), ["Take", "a", "b", "synthetic"], "{}", r.stdout);
}

#[test]
fn silent_drums_give_skipped_hiss_not_a_crash() {
    let p = project();
    p.write_bytes("drums/silence.wav", &wav::encode_pcm(&[&vec![0.0f32; 44_100 * 2]], 44_100, 16).unwrap());
    p.edit("recipes/textures.toml", "seed = 3", "seed = 3\ndrum_sources = [\"drums/silence.wav\"]");
    let r = p.render(&[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let s = r.statuses();
    assert_eq!(s["textures.x/silence/hiss/hiss_loop_01.wav"], "skipped");
    assert_eq!(s["textures.x/silence/hiss/hiss_flicker_02.wav"], "skipped");
    let rows = manifest(&p);
    let hiss: Vec<_> = rows.iter().filter(|r| r["source"] == "silence").collect();
    assert_eq!(hiss.len(), 3);
    assert!(hiss.iter().all(|r| r["saved"] == "false" && r["note"].contains("silent")), "{hiss:?}");
}

/// Regression: every no-op render repeated the "skipped …" lines; they are said by the render
/// that decides them, and `status`, `list` and `explain` show them after.
#[test]
fn a_skip_is_said_once_then_shown_by_status_and_list() {
    let p = project();
    p.write_bytes("drums/silence.wav", &wav::encode_pcm(&[&vec![0.0f32; 44_100 * 2]], 44_100, 16).unwrap());
    p.edit("recipes/textures.toml", "seed = 3", "seed = 3\ndrum_sources = [\"drums/silence.wav\"]");
    let loop_id = "textures.x/silence/hiss/hiss_loop_01.wav";
    let first = p.run(&["render"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(first.stdout.contains(&format!("skipped {loop_id}: ")), "{}", first.stdout);
    let again = p.run(&["render"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(!again.stdout.contains("skipped textures.x"), "{}", again.stdout);
    assert!(!again.stderr.contains("skipped"), "{}", again.stderr);
    // The machine-readable report still says it, with the reason, on every run.
    assert_eq!(p.render(&[]).statuses()[loop_id], "skipped");
    let status = p.run(&["status"]);
    assert_eq!(status.code, 0, "{}", status.stdout);
    assert!(status.stdout.contains(&format!("skipped {loop_id}")), "{}", status.stdout);
    assert!(status.stdout.contains("5 planned files its inputs cannot give"), "{}", status.stdout);
    let list = p.run(&["list"]).stdout;
    let line = list.lines().find(|l| l.trim_start().starts_with(loop_id)).unwrap_or_default();
    assert!(line.contains("not made: ") && line.contains("silent"), "{list}");
    let explain = p.run(&["explain", loop_id]).stdout;
    assert!(explain.contains("is not made") && !explain.contains("fresh"), "{explain}");
}

#[test]
fn skip_grade_f_leaves_f_files_unsaved_but_listed() {
    let p = project();
    // Every file is normalised to a peak of at least −6 dBFS (0.501): all grade F here.
    let r = p.render(&["--set", "textures.x.grades.max_peak=0.5", "--set", "textures.x.skip_grade_f=true"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let rows = manifest(&p);
    let graded: Vec<_> = rows.iter().filter(|r| !r["grade"].is_empty()).collect();
    assert!(!graded.is_empty());
    assert!(graded.iter().all(|r| r["grade"] == "F" && r["saved"] == "false"), "{graded:?}");
    assert!(!p.path().join("renders/textures/x/a/clouds/cloud_a_01.wav").exists());
    // Turning it off again writes them.
    assert_eq!(p.render(&["--set", "textures.x.grades.max_peak=0.5"]).code, 0);
    assert!(p.path().join("renders/textures/x/a/clouds/cloud_a_01.wav").is_file());
}

#[test]
fn bad_texture_settings_are_errors_naming_the_key() {
    let p = project();
    let r = p.run(&["render", "--set", "textures.x.clouds.grain_ms_min=200"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("textures.x.clouds.grain_ms_min"), "{}", r.stderr);
    let r = p.run(&["render", "--set", "textures.x.hiss.band_low_hz=15000"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("band_low_hz"), "{}", r.stderr);
    let r = p.run(&["render", "--set", "textures.x.pads.flatnes=0.3"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("did you mean `max_flatness`") || r.stderr.contains("unknown key"), "{}", r.stderr);
    p.edit("recipes/textures.toml", "audio/*.wav", "sounds/*.flac");
    let r = p.run(&["render"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("textures.x.sources") && r.stderr.contains("matches no audio file"), "{}", r.stderr);
}

#[test]
fn the_demo_library_mines_the_organ_and_the_song() {
    let p = Project::demo_full();
    std::fs::remove_file(p.path().join("recipes/album.toml")).unwrap();
    let r = p.render(&["textures.demo"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let s = r.statuses();
    for id in [
        "textures.demo/organ/pads/organ_pad01.wav",
        "textures.demo/organ/pads/organ_drone01.wav",
        "textures.demo/organ/pads/organ_pad_warm.wav",
        "textures.demo/organ/swells/organ_swell01.wav",
        "textures.demo/organ/clouds/cloud_organ_02.wav",
        "textures.demo/song/hiss/hiss_loop_01.wav",
        "textures.demo/manifest.csv",
    ] {
        assert_eq!(s[id], "built", "{id}");
    }
    // The drum song has one sustained window (its final decay); the other pads it cannot give
    // are recorded with the reason, not made.
    assert_eq!(s["textures.demo/song/pads/song_pad02.wav"], "skipped");
    let csv = p.read("renders/textures/demo/manifest.csv");
    assert!(csv.contains("song_pad02.wav,song,pad,") && csv.contains("onset rate"), "{csv}");
    // Regression: the airy organ pad was two clicks over silence normalised to −1 dBFS (grade
    // F). The organ now has air above 6 kHz, and the demo's defaults save no grade-F file.
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().skip(1).map(|l| l.split(',').collect()).collect();
    let airy = rows.iter().find(|r| r[0] == "organ_pad_airy.wav").expect("airy row");
    assert_eq!(airy[col("saved")], "true", "{airy:?}");
    assert!(["A", "B"].contains(&airy[col("grade")]), "{airy:?}");
    assert_eq!(s["textures.demo/organ/pads/organ_pad_airy.wav"], "built");
    let f: Vec<_> = rows.iter().filter(|r| r[col("saved")] == "true" && r[col("grade")] == "F").collect();
    assert!(f.is_empty(), "grade-F files saved by the demo: {f:?}");
    // A skipped texture is not stale: `status` passes, `render` builds nothing.
    let status = p.run(&["status", "textures.demo"]);
    assert_eq!(status.code, 0, "{}", status.stdout);
    let again = p.render(&["textures.demo"]);
    assert!(built(&again).is_empty(), "{:?}", built(&again));
    assert_eq!(again.statuses()["textures.demo/song/pads/song_pad02.wav"], "skipped");
}

fn dev_audio_root() -> Option<std::path::PathBuf> {
    let root =
        std::env::var_os("NTSBUILD_DEV_AUDIO").map(std::path::PathBuf::from).unwrap_or_else(|| "/work/devaudio".into());
    root.join("MANIFEST.tsv").is_file().then_some(root)
}

#[test]
fn dev_set_tonal_drum_and_noise_recordings_mine_without_errors() {
    let Some(root) = dev_audio_root() else {
        eprintln!(
            "SKIP dev_set_tonal_drum_and_noise_recordings_mine_without_errors: no dev set \
             (set NTSBUILD_DEV_AUDIO or run fetch_dev_audio.sh /work/devaudio)"
        );
        return;
    };
    let p = Project::empty();
    p.write("Project.toml", "[project]\nname = \"dev\"\n");
    for (dir, files) in [
        ("tonal", vec!["sonic-pi-samples__ambi_glass_hum.flac", "sonic-pi-samples__guit_em9.flac"]),
        ("drums", vec!["sonic-pi-samples__loop_amen_full.flac"]),
        ("noise", vec!["sonic-pi-samples__vinyl_hiss.flac"]),
    ] {
        for f in files {
            p.write_bytes(&format!("{dir}/{f}"), &std::fs::read(root.join(dir).join(f)).unwrap());
        }
    }
    p.write(
        "recipes/textures.toml",
        "[textures.dev]\nsources = [\"tonal/*.flac\", \"noise/*.flac\", \"drums/*.flac\"]\n\
         pad_sources = [\"tonal/*.flac\"]\ndrum_sources = [\"drums/*.flac\"]\n\
         [textures.dev.drones]\npitch_shifts_st = [0, 7]\ntime_stretches = [1.0, 2.0]\n",
    );
    let r = p.render(&[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let csv = p.read("renders/textures/dev/manifest.csv");
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    let saved = |prefix: &str| rows.iter().filter(|l| l.starts_with(prefix) && l.contains(",true,")).count();
    // Sustained tonal recordings give pads, drones and clouds; the drum loop gives hiss.
    assert!(saved("sonic-pi-samples__ambi_glass_hum_pad") >= 1, "{csv}");
    assert!(saved("sonic-pi-samples__guit_em9_drone") >= 1, "{csv}");
    assert!(saved("cloud_sonic-pi-samples__ambi_glass_hum") >= 1, "{csv}");
    assert!(saved("hiss_loop_") >= 1, "{csv}");
    // The breakbeat has no sustained window; noise is too flat: their pads are recorded, not made.
    assert!(rows.iter().any(|l| l.starts_with("sonic-pi-samples__loop_amen_full_pad01") && l.contains(",false,")));
    assert!(rows.iter().any(|l| l.starts_with("sonic-pi-samples__vinyl_hiss_pad01") && l.contains(",false,")));
}

/// `stereo = true` keeps a stereo source's own channels in that category's files; other
/// categories (and the default) write the mixdown.
#[test]
fn stereo_categories_keep_the_sources_channels() {
    let p = Project::empty();
    p.write("Project.toml", "[project]\nname = \"t\"\n");
    p.write(
        "recipes/textures.toml",
        &RECIPE.replace("clouds_per_source = 1\n", "clouds_per_source = 1\nstereo = true\n"),
    );
    let n = 4 * 44_100;
    let tone = |hz: f32, i: usize| 0.1 * (2.0 * std::f32::consts::PI * hz * i as f32 / 44_100.0).sin();
    let left: Vec<f32> = (0..n).map(|i| tone(220.0, i) + tone(277.0, i)).collect();
    let right: Vec<f32> = (0..n).map(|i| tone(220.0, i) + tone(330.0, i)).collect();
    p.write_bytes("audio/wide.wav", &wav::encode_pcm(&[&left, &right], 44_100, 16).unwrap());
    let r = p.render(&[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let saved: Vec<_> = manifest(&p).into_iter().filter(|row| row["saved"] == "true").collect();
    let channels = |kind: &str| -> Vec<usize> {
        saved
            .iter()
            .filter(|row| row["type"] == kind)
            .map(|row| {
                let folder = if kind == "cloud" { "clouds" } else { "pads" };
                let rel = format!("renders/textures/x/{}/{folder}/{}", row["source"], row["filename"]);
                wav::decode(&p.bytes(&rel)).unwrap().channels.len()
            })
            .collect()
    };
    let clouds = channels("cloud");
    assert!(!clouds.is_empty() && clouds.iter().all(|&c| c == 2), "clouds: {clouds:?}");
    let pads = channels("pad");
    assert!(!pads.is_empty() && pads.iter().all(|&c| c == 1), "pads: {pads:?}");
}

/// A texture file is read from its bundle one entry at a time, checked by the entry's CRC-32:
/// a bundle damaged in the store is found when a file is read from it, rebuilt, and the file is
/// restored with its bytes.
#[test]
fn a_damaged_bundle_is_rebuilt_when_a_file_is_read_from_it() {
    let p = project();
    assert_eq!(p.render(&[]).code, 0);
    let rel = "renders/textures/x/a/pads/a_pad01.wav";
    let before = p.bytes(rel);
    let entry = b"a_pad01.wav";
    let cas = p.path().join("cache/cas");
    let bundle = std::fs::read_dir(&cas)
        .unwrap()
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
        .map(|f| f.unwrap().path())
        .find(|f| {
            let b = std::fs::read(f).unwrap();
            b.starts_with(b"PK\x03\x04") && b.windows(entry.len()).any(|w| w == entry)
        })
        .expect("the bundle holding a_pad01.wav");
    let mut bytes = std::fs::read(&bundle).unwrap();
    let at = bytes.windows(entry.len()).position(|w| w == entry).unwrap() + entry.len() + 1000;
    bytes[at] ^= 0xff;
    std::fs::write(&bundle, bytes).unwrap();
    // The file's own blob and output are gone, so the file is read from the bundle again.
    let lock = p.read("ntsbuild.lock");
    let id = "textures.x/a/pads/a_pad01.wav";
    let digest =
        lock.split(&format!("id = \"{id}\"")).nth(1).unwrap().split("digest = \"").nth(1).unwrap()[..64].to_string();
    std::fs::remove_file(cas.join(&digest[..2]).join(&digest)).unwrap();
    std::fs::remove_file(p.path().join(rel)).unwrap();
    let r = p.render(&[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(p.bytes(rel), before);
    let audit = p.run(&["audit"]);
    assert_eq!(audit.code, 0, "{}", audit.stdout);
}
