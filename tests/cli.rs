//! End-to-end tests of the `ntsbuild` binary on temporary copies of projects.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{DEMO_ARTIFACTS, Project, many_kits};

/// What a change to the kick rebuilds: the kick and everything downstream of it.
/// The kick, the zip, the song, its loudness files, and every album artifact (all read the song).
fn kick_and_downstream() -> Vec<&'static str> {
    let mut ids = vec!["kit.demo/kick.wav", "kit.demo/kit.zip", "song.demo/song.wav"];
    ids.extend(common::SONG_LOUDNESS);
    ids.extend(DEMO_ARTIFACTS.iter().filter(|id| id.starts_with("album.")));
    ids
}

fn all(status: &str) -> BTreeMap<String, String> {
    DEMO_ARTIFACTS.iter().map(|id| (id.to_string(), status.to_string())).collect()
}

#[test]
fn demo_renders_exactly_its_artifacts_then_nothing() {
    let p = Project::demo();
    let first = p.render(&[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.statuses(), all("built"));
    for rel in DEMO_ARTIFACTS.map(|id| id.replacen('.', "/", 1)) {
        assert!(p.path().join("renders").join(&rel).is_file(), "{rel} missing");
    }
    let lock = p.read("ntsbuild.lock");
    let ids: Vec<&str> = lock.lines().filter_map(|l| l.strip_prefix("id = ")).map(|s| s.trim_matches('"')).collect();
    let mut sorted = DEMO_ARTIFACTS.to_vec();
    sorted.sort();
    assert_eq!(ids, sorted);

    let again = p.render(&[]);
    assert_eq!(again.code, 0);
    assert_eq!(again.statuses(), all("fresh"));
    assert_eq!(again.summary()["fresh"], DEMO_ARTIFACTS.len());
    assert_eq!(p.read("ntsbuild.lock"), lock);
}

#[test]
fn json_events_have_the_documented_fields() {
    let p = Project::demo();
    let r = p.render(&["kit.demo/kick.wav"]);
    let events = r.events();
    let e = &events[0];
    assert_eq!(e["event"], "artifact");
    assert_eq!(e["id"], "kit.demo/kick.wav");
    assert_eq!(e["status"], "built");
    assert_eq!(e["digest"].as_str().unwrap().len(), 64);
    assert_eq!(e["key"].as_str().unwrap().len(), 64);
    assert!(e["ms"].is_u64());
    let s = events.last().unwrap();
    assert_eq!(s["event"], "summary");
    for k in ["built", "restored", "fresh", "failed", "ms"] {
        assert!(s[k].is_u64(), "summary lacks {k}");
    }
}

#[test]
fn changing_punch_decay_rebuilds_kick_zip_and_song_only() {
    let p = Project::demo();
    p.render(&[]);
    p.edit("recipes/kit.toml", "punch_decay = 0.45", "punch_decay = 0.6");
    let r = p.render(&[]);
    let mut want = all("fresh");
    for id in kick_and_downstream() {
        want.insert(id.into(), "built".into());
    }
    assert_eq!(r.statuses(), want);
    // Going back finds the earlier results in the store: restored, not computed.
    p.edit("recipes/kit.toml", "punch_decay = 0.6", "punch_decay = 0.45");
    let back = p.render(&[]);
    assert_eq!(back.summary()["built"], 0);
    assert_eq!(back.summary()["restored"], kick_and_downstream().len());
}

#[test]
fn reformatting_a_recipe_rebuilds_nothing() {
    let p = Project::demo();
    p.render(&[]);
    let text = p.read("recipes/kit.toml");
    p.write("recipes/kit.toml", &format!("# a comment\n\n{}", text.replace(" = ", "   =   ")));
    assert_eq!(p.render(&[]).statuses(), all("fresh"));
}

#[test]
fn rebuilding_to_identical_bytes_stops_there() {
    // With blend = 0 the room layer cannot reach the kick, so changing it rebuilds kick.wav to
    // the same bytes: the song (which reads only those bytes) must not be rebuilt.
    let p = Project::demo();
    p.edit("recipes/kit.toml", "tune = 48", "tune = 48\nblend = 0.0\nroom_tone_freq = 150");
    let first = p.render(&[]);
    p.edit("recipes/kit.toml", "room_tone_freq = 150", "room_tone_freq = 220");
    let r = p.render(&[]);
    let s = r.statuses();
    assert_eq!(s["kit.demo/kick.wav"], "built");
    assert_eq!(s["song.demo/song.wav"], "fresh", "song re-ran although its input bytes are unchanged");
    assert_eq!(s["kit.demo/kit.zip"], "built", "kit_info.json records the new room_tone_freq");
    let digest =
        |r: &common::Run| r.events().into_iter().find(|e| e["id"] == "kit.demo/kick.wav").unwrap()["digest"].clone();
    assert_eq!(digest(&first), digest(&r));
}

#[test]
fn set_overrides_a_recipe_value_for_one_run() {
    let p = Project::demo();
    p.render(&[]);
    let r = p.render(&["--set", "kit.demo.kick.punch_decay=0.8"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.statuses()["kit.demo/kick.wav"], "built");
    assert_eq!(r.statuses()["kit.demo/snare.wav"], "fresh");
    // Without the override the recipe's result is restored from the store.
    let back = p.render(&[]);
    assert_eq!(back.statuses()["kit.demo/kick.wav"], "restored");
}

#[test]
fn rendering_one_artifact_builds_only_what_it_needs() {
    let p = Project::demo();
    let r = p.render(&["song.demo/song.wav"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = r.statuses();
    assert!(!s.contains_key("kit.demo/kit.zip"), "kit.zip is not needed by the song: {s:?}");
    assert_eq!(s.len(), 4);
    assert!(p.path().join("renders/song/demo/song.wav").is_file());
    assert!(!p.path().join("renders/kit/demo/kick.wav").exists(), "inputs are not materialized");
    let lock = p.read("ntsbuild.lock");
    assert!(lock.contains("song.demo/song.wav") && !lock.contains("kick.wav"));
}

#[test]
fn globs_and_targets_select_artifacts() {
    let p = Project::demo();
    let r = p.render(&["kit.*"]);
    assert_eq!(r.statuses().len(), 4);
    // The kit's 3 voices and zip, the song and its 3 loudness files.
    let r = p.render(&["kit.demo", "song.demo"]);
    assert_eq!(r.statuses().len(), 8);
    let bad = p.run(&["render", "kit.dmeo"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("did you mean `kit.demo`"), "{}", bad.stderr);
}

#[test]
fn jobs_do_not_change_a_single_byte() {
    let a = Project::demo();
    let b = Project::demo();
    assert_eq!(a.render(&["-j1"]).code, 0);
    assert_eq!(b.render(&["-j2"]).code, 0);
    assert_eq!(a.outputs(), b.outputs());
}

#[test]
fn deleted_or_edited_outputs_are_restored() {
    let p = Project::demo();
    p.render(&[]);
    let kick = p.bytes("renders/kit/demo/kick.wav");
    fs::remove_file(p.path().join("renders/kit/demo/hat.wav")).unwrap();
    fs::write(p.path().join("renders/kit/demo/kick.wav"), b"edited").unwrap();
    let st = p.run(&["status"]);
    assert_eq!(st.code, 1, "status must fail while outputs are stale");
    assert!(st.stdout.contains("kit.demo/hat.wav") && st.stdout.contains("modified by hand"), "{}", st.stdout);
    let r = p.render(&[]);
    assert_eq!(r.statuses()["kit.demo/hat.wav"], "restored");
    assert_eq!(r.statuses()["kit.demo/kick.wav"], "restored");
    assert_eq!(p.bytes("renders/kit/demo/kick.wav"), kick);
    assert_eq!(p.run(&["status"]).code, 0);
}

#[test]
fn status_and_explain_name_the_changed_parameter() {
    let p = Project::demo();
    p.render(&[]);
    p.edit("recipes/kit.toml", "punch_decay = 0.45", "punch_decay = 0.7");
    let st = p.run(&["status"]);
    assert_eq!(st.code, 1);
    assert!(st.stdout.contains("punch_decay changed: 0.45 → 0.7"), "{}", st.stdout);
    let ex = p.run(&["explain", "song.demo/song.wav"]);
    assert_eq!(ex.code, 0);
    assert!(ex.stdout.contains("input kit.demo/kick.wav must be built first"), "{}", ex.stdout);
    assert!(ex.stdout.contains("punch_decay changed: 0.45 → 0.7"), "{}", ex.stdout);
    // Dry run touches nothing.
    let before = p.outputs();
    let dry = p.run(&["render", "--dry-run"]);
    assert!(dry.stdout.contains("build kit.demo/kick.wav"), "{}", dry.stdout);
    assert_eq!(p.outputs(), before);
    // After the build, explain says why it was last rebuilt.
    p.render(&[]);
    let ex = p.run(&["explain", "kit.demo/kick.wav"]);
    assert!(ex.stdout.contains("is fresh") && ex.stdout.contains("punch_decay changed: 0.45 → 0.7"), "{}", ex.stdout);
}

/// Regression: right after a cold build of a checkout whose lock came with it, `explain` said
/// no build history was recorded; it rejected target ids and the segment ids the progress bar
/// shows, and ignored `--message-format json`.
#[test]
fn explain_after_a_cold_build_takes_targets_segments_and_json() {
    let p = Project::demo();
    fs::copy(common::repo().join("ntsbuild.lock"), p.path().join("ntsbuild.lock")).unwrap();
    assert_eq!(p.render(&[]).code, 0);
    let ex = p.run(&["explain", "kit.demo/kick.wav"]);
    assert_eq!(ex.code, 0, "{}", ex.stderr);
    assert!(ex.stdout.contains("built once here") && !ex.stdout.contains("no record"), "{}", ex.stdout);
    // A target: each of its artifacts.
    let ex = p.run(&["explain", "kit.demo"]);
    assert_eq!(ex.code, 0, "{}", ex.stderr);
    for file in ["kick.wav", "snare.wav", "hat.wav", "kit.zip"] {
        assert!(ex.stdout.contains(&format!("kit.demo/{file} is fresh.")), "{}", ex.stdout);
    }
    // A video segment, as the progress bar names it; a postFX edit makes it stale by name.
    let seg = "album.demo/opening/encoded/0000";
    let ex = p.run(&["explain", seg]);
    assert_eq!(ex.code, 0, "{}", ex.stderr);
    assert!(ex.stdout.contains(&format!("{seg} is fresh.")) && ex.stdout.contains("built once here"), "{}", ex.stdout);
    let ex = p.run(&["explain", seg, "--set", "album.demo.postfx.grain_intensity=0.31"]);
    assert!(ex.stdout.contains(&format!("{seg} is stale because")), "{}", ex.stdout);
    assert!(ex.stdout.contains("postfx.grain_intensity changed") && ex.stdout.contains("0.31"), "{}", ex.stdout);
    assert_eq!(p.run(&["explain", "album.demo/opening/encoded/9999"]).code, 2);
    // JSON: one object per artifact.
    let ex = p.run(&["explain", "kit.demo/kick.wav", "--message-format", "json"]);
    let v: serde_json::Value = serde_json::from_str(ex.stdout.trim()).expect(&ex.stdout);
    assert_eq!(
        (v["event"].as_str(), v["id"].as_str(), v["action"].as_str()),
        (Some("explain"), Some("kit.demo/kick.wav"), Some("fresh"))
    );
    assert_eq!(v["last_build"], serde_json::json!(["first build"]));
    let bad = p.run(&["explain", "kit.demo/kik.wav"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("did you mean `kit.demo/kick.wav`"), "{}", bad.stderr);
}

#[test]
fn corrupted_blob_is_found_by_audit_and_rebuilt_by_render() {
    let p = Project::demo();
    p.render(&[]);
    assert_eq!(p.run(&["audit"]).code, 0);
    let lock = p.read("ntsbuild.lock");
    let digest =
        lock.split("id = \"kit.demo/kick.wav\"").nth(1).unwrap().split("digest = \"").nth(1).unwrap()[..64].to_string();
    let blob = p.path().join("cache/cas").join(&digest[..2]).join(&digest);
    let mut bytes = fs::read(&blob).unwrap();
    bytes[100] ^= 0xff;
    fs::write(&blob, bytes).unwrap();
    let audit = p.run(&["audit"]);
    assert_eq!(audit.code, 1);
    assert!(audit.stdout.contains("corrupt") && audit.stdout.contains("kit.demo/kick.wav"), "{}", audit.stdout);
    let r = p.render(&[]);
    assert_eq!(r.code, 0);
    assert_eq!(r.statuses()["kit.demo/kick.wav"], "built");
    let audit = p.run(&["audit"]);
    assert_eq!(audit.code, 0, "{}", audit.stdout);
}

#[test]
fn audit_detects_hand_edited_outputs_and_rebuild_matches() {
    let p = Project::demo();
    p.render(&[]);
    let rebuild = p.run(&["audit", "--rebuild"]);
    assert_eq!(rebuild.code, 0, "{}{}", rebuild.stdout, rebuild.stderr);
    assert!(
        rebuild.stdout.contains(&format!("rebuilt {} locked artifacts from scratch: 0 differ", DEMO_ARTIFACTS.len())),
        "{}",
        rebuild.stdout
    );
    fs::write(p.path().join("renders/kit/demo/snare.wav"), b"x").unwrap();
    let audit = p.run(&["audit"]);
    assert_eq!(audit.code, 1);
    assert!(audit.stdout.contains("renders/kit/demo/snare.wav"), "{}", audit.stdout);
}

#[test]
fn bad_recipes_exit_2_naming_file_line_and_key() {
    let p = Project::demo();
    p.write(
        "recipes/bad.toml",
        "[kit.bad.kick]\nseed = 1\npunch_dcay = 0.5\ntune = 1000\n\n[kit.bad.hat]\ntightness = \"loose\"\n",
    );
    let r = p.run(&["render"]);
    assert_eq!(r.code, 2);
    let e = &r.stderr;
    assert!(
        e.contains("recipes/bad.toml:3:1: kit.bad.kick.punch_dcay: unknown key (did you mean `punch_decay`?)"),
        "{e}"
    );
    assert!(e.contains("recipes/bad.toml:4:1: kit.bad.kick.tune: 1000 is out of range: allowed 30 to 120 Hz"), "{e}");
    assert!(e.contains("recipes/bad.toml:7:1: kit.bad.hat.tightness: expected a number"), "{e}");
    assert!(!p.path().join("renders").exists(), "nothing is built from an invalid project");
}

#[test]
fn malformed_toml_and_missing_project_are_exit_2() {
    let p = Project::demo();
    p.write("recipes/broken.toml", "[kit.x\nseed = 1\n");
    let r = p.run(&["render"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("recipes/broken.toml:1") && r.stderr.contains("invalid TOML"), "{}", r.stderr);
    // A broken Project.toml is reported alone too: recipes checked against default settings
    // (no input roots) would only add false errors.
    p.write("recipes/broken.toml", "[kit.x.kick]\nseed = 1\n");
    p.write("recipes/album.toml", &p.read("recipes/album.toml").replace("song.demo/song.wav", "music:song.wav"));
    p.write("Project.toml", "[project\nname = \"x\"\ninputs = { music = \".\" }\n");
    let r = p.run(&["render"]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr.lines().filter(|l| l.starts_with("error:")).count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("Project.toml:") && r.stderr.contains("invalid TOML"), "{}", r.stderr);
    let empty = Project::empty();
    let r = empty.run(&["render"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("Project.toml") && r.stderr.contains("not found"), "{}", r.stderr);
}

#[test]
fn paths_may_not_escape_the_project() {
    let p = Project::demo();
    p.edit("Project.toml", "output = \"renders\"", "output = \"../elsewhere\"");
    let r = p.run(&["render"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("project.output") && r.stderr.contains("leaves the project"), "{}", r.stderr);
    let q = Project::demo();
    std::os::unix::fs::symlink(std::env::temp_dir(), q.path().join("out")).unwrap();
    q.edit("Project.toml", "output = \"renders\"", "output = \"out/renders\"");
    let r = q.run(&["render"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("symlink"), "{}", r.stderr);
}

#[test]
fn song_errors_name_the_kit_and_voice() {
    let p = Project::demo();
    p.edit("recipes/song.toml", "kit = \"kit.demo\"", "kit = \"kit.dem\"");
    let r = p.run(&["render"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("song.demo.kit: no kit target `kit.dem` (did you mean `kit.demo`?)"), "{}", r.stderr);
    let q = Project::demo();
    q.edit("recipes/song.toml", "hat   =", "hatt  =");
    let r = q.run(&["render"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("song.demo.pattern.hatt: kit `kit.demo` has no voice `hatt`"), "{}", r.stderr);
    let bad_set = q.run(&["render", "--set", "song.demo.bpm"]);
    assert_eq!(bad_set.code, 2);
    assert!(bad_set.stderr.contains("KEY.PATH=VALUE"), "{}", bad_set.stderr);
}

#[test]
fn graph_list_and_gc() {
    let p = Project::demo();
    p.render(&[]);
    let dot = p.run(&["graph"]).stdout;
    assert!(dot.contains("\"kit.demo/kick.wav\" -> \"song.demo/song.wav\""), "{dot}");
    let json: serde_json::Value = serde_json::from_str(&p.run(&["graph", "--format", "json"]).stdout).unwrap();
    assert_eq!(json["artifacts"].as_array().unwrap().len(), DEMO_ARTIFACTS.len());
    let list = p.run(&["list"]).stdout;
    assert!(list.contains("kit.demo/kick.wav") && list.contains("presets"), "{list}");
    // `--params` is the parameter reference alone, not the artifact list again.
    let params = p.run(&["list", "--params"]).stdout;
    assert!(params.contains("punch_decay") && !params.contains("kit.demo/kick.wav"), "{params}");
    // A superseded build is garbage once nothing in the lock needs it.
    p.render(&["--set", "kit.demo.kick.punch_decay=0.9"]);
    p.render(&[]);
    let gc = p.run(&["gc"]);
    assert_eq!(gc.code, 0);
    // The superseded kick, zip, song and album artifacts (and their video segments).
    let removed: usize = gc.stdout.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(gc.stdout.starts_with("removed ") && removed >= kick_and_downstream().len() - 1, "{}", gc.stdout);
    assert_eq!(p.run(&["audit"]).code, 0);
    assert_eq!(p.render(&[]).statuses(), all("fresh"));
}

/// Regression: `list --params` left out the per-layer controls the README promises.
#[test]
fn list_params_prints_the_kit_reference_first_with_every_layer_control() {
    let p = Project::demo();
    let r = p.run(&["list", "--params"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = r.stdout;
    assert!(out.trim_start().starts_with("[kit.NAME.kick]"), "{out}");
    for voice in ["kick", "snare", "hat"] {
        let table = format!("[kit.NAME.{voice}.layer.LAYER]");
        let at = out.find(&table).unwrap_or_else(|| panic!("no {table} in\n{out}"));
        let block: Vec<&str> = out[at..].lines().skip(1).take_while(|l| !l.is_empty()).collect();
        for key in ["gain_db", "mute", "attack_ms", "decay_ms", "sustain", "release_ms", "gate_ms"] {
            assert!(block.iter().any(|l| l.split_whitespace().next() == Some(key)), "{table} lacks {key}: {block:?}");
        }
    }
    assert!(out.contains("LAYER: sub, click, knock, room"), "{out}");
    assert!(!out.contains("kit.demo/"), "{out}");
}

/// Regression: some `--set` typos got no did-you-mean where the same typo in a recipe does: a
/// mix voice no pattern plays, and a table name near an existing one (which made a new table).
#[test]
fn set_typos_get_a_did_you_mean() {
    let p = Project::demo_full();
    for (set, hint) in [
        ("song.demo.mix.kik.gain_db=2", "did you mean `kick`?"),
        ("song.arrangement.instrument.leed.gain_db=3", "did you mean `lead`?"),
        ("kit.demo.kick.punch_dcay=0.5", "did you mean `punch_decay`?"),
        ("kit.dmo.kick.tune=50", "did you mean `kit.demo`?"),
    ] {
        let r = p.run(&["status", "--set", set]);
        assert_eq!(r.code, 2, "{set}: {}", r.stderr);
        assert!(r.stderr.contains(&format!("--set {set}")) && r.stderr.contains(hint), "{set}: {}", r.stderr);
        assert_eq!(r.stderr.lines().filter(|l| l.starts_with("error:")).count(), 1, "{set}: {}", r.stderr);
    }
    // A new table where nothing is close is still an override like any other.
    assert_eq!(p.run(&["status", "--set", "kit.demo.kick.layer.sub.gain_db=-3"]).code, 1);
}

/// Regression: `audit` ignored `--message-format json`, and `list` columns broke on long ids.
#[test]
fn audit_speaks_json_and_list_keeps_its_columns_with_long_ids() {
    let p = Project::demo();
    let long = "a_kit_whose_name_goes_on_and_on_well_past_the_listing_column_width";
    p.write("recipes/long.toml", &format!("[kit.{long}.kick]\nseed = 1\n"));
    let list = p.run(&["list"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    let columns: std::collections::BTreeSet<usize> =
        list.stdout.lines().filter_map(|l| l.find(" renders/").or_else(|| l.find(" (intermediate)"))).collect();
    assert_eq!(columns.len(), 1, "the path column moves:\n{}", list.stdout);
    let at = list.stdout.find(&format!("kit.{long}/kick.wav")).unwrap();
    assert!(list.stdout[at..].lines().nth(1).unwrap().trim_start().starts_with("renders/kit/"), "{}", list.stdout);
    assert_eq!(p.render(&[]).code, 0);
    let audit = p.run(&["audit", "--message-format", "json"]);
    assert_eq!(audit.code, 0, "{}", audit.stderr);
    let last: serde_json::Value = serde_json::from_str(audit.stdout.lines().last().unwrap()).expect(&audit.stdout);
    assert_eq!((last["event"].as_str(), last["problems"].as_u64()), (Some("audit"), Some(0)), "{last}");
    assert!(last["lock_entries"].as_u64().unwrap() > 0);
    fs::write(p.path().join("renders/kit/demo/kick.wav"), b"edited").unwrap();
    let audit = p.run(&["audit", "--message-format", "json"]);
    assert_eq!(audit.code, 1);
    let events: Vec<serde_json::Value> = audit.stdout.lines().map(|l| serde_json::from_str(l).expect(l)).collect();
    assert!(
        events.iter().any(|e| e["event"] == "mismatch" && e["problem"].as_str().unwrap().contains("kick.wav")),
        "{events:?}"
    );
}

#[test]
fn two_concurrent_renders_both_succeed() {
    let p = many_kits(12);
    let spawn = || p.cmd(&["render", "-q"]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    let clean = many_kits(12);
    clean.render(&[]);
    assert_eq!(p.outputs(), clean.outputs());
}

#[test]
fn kill_9_mid_render_leaves_nothing_half_done() {
    let clean = many_kits(20);
    assert_eq!(clean.render(&["-j1"]).code, 0);
    for delay_ms in [40, 120, 250] {
        let p = many_kits(20);
        let mut child = p.cmd(&["render", "-q", "-j2"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let r = p.render(&[]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(p.outputs(), clean.outputs(), "after a kill at {delay_ms} ms");
        assert_eq!(p.run(&["audit"]).code, 0);
    }
}

#[test]
fn a_failed_artifact_does_not_stop_the_others() {
    let p = Project::demo();
    p.render(&[]);
    // Make the song's output path unwritable: a directory where the file should go.
    fs::remove_file(p.path().join("renders/song/demo/song.wav")).unwrap();
    fs::create_dir_all(p.path().join("renders/song/demo/song.wav/blocker")).unwrap();
    p.edit("recipes/kit.toml", "punch_decay = 0.45", "punch_decay = 0.5");
    let r = p.render(&[]);
    assert_eq!(r.code, 1);
    let s = r.statuses();
    assert_eq!(s["song.demo/song.wav"], "failed");
    assert_eq!(s["kit.demo/kick.wav"], "built");
    assert_eq!(s["kit.demo/kit.zip"], "built");
    assert_eq!(r.summary()["failed"], 1);
}

#[test]
fn watch_rebuilds_on_save_and_survives_a_broken_recipe() {
    use std::io::{BufRead, BufReader};
    let p = Project::demo();
    let mut child =
        p.cmd(&["watch", "--message-format", "json"]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                let _ = tx.send(v);
            }
        }
    });
    let next = |event: &str| -> Vec<serde_json::Value> {
        let deadline = Instant::now() + Duration::from_secs(300);
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            if let Ok(v) = rx.recv_timeout(Duration::from_millis(200)) {
                let done = v["event"] == event;
                seen.push(v);
                if done {
                    return seen;
                }
            }
        }
        panic!("no {event} event within 300 s; saw {seen:?}");
    };
    let first = next("summary");
    // Every declared artifact, plus the video segments found while building.
    let declared = first.iter().filter(|e| e["event"] == "artifact" && !common::is_segment(e["id"].as_str().unwrap()));
    assert_eq!(declared.count(), DEMO_ARTIFACTS.len());
    let artifacts = first.iter().filter(|e| e["event"] == "artifact").count();
    assert_eq!(first.last().unwrap()["built"], artifacts);
    std::thread::sleep(Duration::from_millis(300));
    // A burst of saves: one rebuild.
    for v in ["0.5", "0.55", "0.6"] {
        let text = p.read("recipes/kit.toml");
        let line = text.lines().find(|l| l.starts_with("punch_decay")).unwrap().to_string();
        p.write("recipes/kit.toml", &text.replace(&line, &format!("punch_decay = {v}")));
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = next("summary");
    let built_declared = |events: &[serde_json::Value]| -> Vec<String> {
        events
            .iter()
            .filter(|e| e["status"] == "built" && !common::is_segment(e["id"].as_str().unwrap()))
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect()
    };
    let built = built_declared(&second);
    assert_eq!(built.len(), kick_and_downstream().len(), "{second:?}");
    assert!(!built.iter().any(|id| id == "kit.demo/snare.wav"));
    // A broken recipe keeps the outputs and reports; fixing it resumes.
    let good = p.read("recipes/kit.toml");
    p.write("recipes/kit.toml", &good.replace("punch_decay = 0.6", "punch_decay = 7"));
    let invalid = next("invalid");
    assert!(invalid.last().unwrap()["diagnostics"][0]["key"] == "kit.demo.kick.punch_decay");
    assert!(p.path().join("renders/kit/demo/kick.wav").exists());
    p.write("recipes/kit.toml", &good.replace("punch_decay = 0.6", "punch_decay = 0.65"));
    let fixed = next("summary");
    assert_eq!(built_declared(&fixed).len(), kick_and_downstream().len());
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn a_44k_kit_plays_in_a_48k_song() {
    let p = Project::demo();
    p.edit("recipes/kit.toml", "sample_rate = 48000", "sample_rate = 44100");
    let r = p.render(&[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let kick = ntsbuild::media::wav::decode(&p.bytes("renders/kit/demo/kick.wav")).unwrap();
    assert_eq!(kick.sample_rate_hz, 44_100);
    let song = ntsbuild::media::wav::decode(&p.bytes("renders/song/demo/song.wav")).unwrap();
    assert_eq!(song.sample_rate_hz, 48_000);
    // 8 bars at 120 BPM = 16 s, plus the last hits' tails (voices end where they decay).
    let longest_voice_s = ["kick", "snare", "hat"]
        .map(|v| ntsbuild::media::wav::decode(&p.bytes(&format!("renders/kit/demo/{v}.wav"))).unwrap())
        .iter()
        .map(|w| w.channels[0].len() as f64 / 44_100.0)
        .fold(0.0, f64::max);
    let seconds = song.channels[0].len() as f64 / 48_000.0;
    assert!(
        seconds > 16.0 && seconds <= 16.0 + longest_voice_s + 0.01,
        "{seconds} s, longest voice {longest_voice_s} s"
    );
}

#[test]
fn a_song_longer_than_the_limit_is_a_recipe_error_not_a_truncation() {
    let p = Project::demo();
    let r = p.run(&["render", "--set", "song.demo.bars=1000", "--set", "song.demo.bpm=60"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("song.demo.bars: 1000 bars at 60 BPM last 4000 s; a song may last at most 1800 s"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_pattern_longer_than_the_song_is_an_error() {
    let p = Project::demo();
    let r = p.run(&["render", "--set", "song.demo.bars=1"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("song.demo.pattern.kick: the pattern has 32 steps but the song has only 16"),
        "{}",
        r.stderr
    );
}

/// What `gc --message-format json` reports, by class: (blobs, bytes).
fn gc_json(p: &Project, args: &[&str]) -> serde_json::Value {
    let mut a = vec!["gc", "--message-format", "json"];
    a.extend_from_slice(args);
    let r = p.run(&a);
    assert_eq!(r.code, 0, "{}", r.stderr);
    serde_json::from_str(r.stdout.trim()).expect(&r.stdout)
}

fn bytes_of(v: &serde_json::Value) -> u64 {
    v["bytes"].as_u64().unwrap()
}

fn store_bytes(p: &Project) -> u64 {
    fn walk(dir: &std::path::Path) -> u64 {
        fs::read_dir(dir)
            .map(|d| {
                d.flatten()
                    .map(|e| if e.path().is_dir() { walk(&e.path()) } else { e.metadata().map_or(0, |m| m.len()) })
                    .sum()
            })
            .unwrap_or(0)
    }
    walk(&p.path().join("cache/cas"))
}

/// Regression: `gc` deleted every cached video segment (not in the lock), so the next postFX
/// tweak decoded every frame again.
#[test]
fn gc_keeps_what_the_locked_outputs_were_built_from() {
    let p = Project::demo();
    assert_eq!(p.render(&[]).code, 0);
    let gc = gc_json(&p, &[]);
    assert!(gc["kept"]["built_from"]["blobs"].as_u64().unwrap() > 0, "{gc}");
    assert_eq!(gc["removed"]["built_from"]["blobs"], 0, "{gc}");
    assert_eq!(p.render(&[]).statuses(), all("fresh"));
    let r = p.render(&["--set", "album.demo.postfx.grain_intensity=0.31"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.built_segments("decoded").is_empty(), "{:?}", r.built_segments("decoded"));
    assert!(!r.built_segments("encoded").is_empty());
}

/// Regression: `--max-size` only bounded what was kept beyond the lock's needs and said
/// nothing of what it dropped; it caps the store, least recently used first.
#[test]
fn gc_max_size_caps_the_store_least_recently_used_first() {
    let p = Project::demo();
    p.render(&[]);
    let mut kicks = Vec::new();
    for decay in ["0.2", "0.3"] {
        let r = p.render(&["--set", &format!("kit.demo.kick.punch_decay={decay}")]);
        let kick = r.events().into_iter().find(|e| e["id"] == "kit.demo/kick.wav").unwrap();
        kicks.push(kick["digest"].as_str().unwrap().to_string());
    }
    p.render(&[]);
    let blob = |hex: &str| p.path().join("cache/cas").join(&hex[..2]).join(hex);
    // A cap above everything keeps the superseded generations as a cache.
    let cached = gc_json(&p, &["--max-size", "1G"]);
    assert_eq!(cached["removed"]["unreferenced"]["blobs"], 0, "{cached}");
    let kept = &cached["kept"];
    let (outputs, built_from, unreferenced) =
        (bytes_of(&kept["outputs"]), bytes_of(&kept["built_from"]), bytes_of(&kept["unreferenced"]));
    assert!(unreferenced > 0, "{cached}");
    // Room for about one superseded generation: the older one goes, the newer one stays.
    let cap = outputs + built_from + unreferenced * 6 / 10;
    let gc = p.run(&["gc", "--max-size", &cap.to_string()]);
    assert_eq!(gc.code, 0, "{}", gc.stderr);
    assert!(gc.stdout.contains("least recently used first") && gc.stdout.contains("kept: "), "{}", gc.stdout);
    assert!(store_bytes(&p) <= cap, "{} > {cap}", store_bytes(&p));
    assert!(!blob(&kicks[0]).exists() && blob(&kicks[1]).exists());
    assert_eq!(p.run(&["audit"]).code, 0);
    assert_eq!(p.render(&[]).statuses(), all("fresh"));
    // Under the lock's own needs: what the outputs were built from goes, never the outputs.
    let tight = p.run(&["gc", "--max-size", "1K"]);
    assert_eq!(tight.code, 0, "{}", tight.stderr);
    assert!(tight.stderr.contains("the lock's outputs alone take"), "{}", tight.stderr);
    assert_eq!(store_bytes(&p), outputs);
    assert_eq!(p.run(&["audit"]).code, 0);
    // Without a cap, plain gc keeps exactly what the lock needs.
    p.render(&[]);
    let gc = gc_json(&p, &[]);
    assert_eq!(gc["kept"]["unreferenced"]["blobs"], 0, "{gc}");
}

/// Blobs are synced and named behind the work. One whose name cannot be made (here a file sits
/// where its shard directory goes) costs the cache, never the render: the output is right, a
/// warning names the blob, and the next render makes it again rather than trusting a missing
/// blob.
#[test]
fn a_result_the_cache_cannot_keep_is_a_warning_and_is_made_again() {
    let p = common::many_kits(1);
    let first = p.render(&[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let kick = first.events().into_iter().find(|e| e["id"] == "kit.k0000/kick.wav").unwrap();
    let hex = kick["digest"].as_str().unwrap().to_string();
    let want = p.outputs();

    fs::remove_dir_all(p.path().join("cache")).unwrap();
    fs::remove_dir_all(p.path().join("renders")).unwrap();
    fs::create_dir_all(p.path().join("cache/cas")).unwrap();
    let shard = p.path().join("cache/cas").join(&hex[..2]);
    fs::write(&shard, b"in the way").unwrap();
    let r = p.render(&[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let warnings: Vec<String> = r
        .events()
        .into_iter()
        .filter(|e| e["event"] == "warning")
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("the cache could not keep") && warnings[0].contains(&hex), "{warnings:?}");
    assert_eq!(p.outputs(), want, "the outputs are the first render's");
    assert_eq!(fs::read_dir(p.path().join("cache/tmp")).unwrap().count(), 0, "no temp file is left");

    fs::remove_file(&shard).unwrap();
    let again = p.render(&[]);
    assert_eq!(again.statuses()["kit.k0000/kick.wav"], "built", "{}", again.stdout);
    assert_eq!(again.statuses()["kit.k0000/snare.wav"], "fresh", "{}", again.stdout);
    assert_eq!(p.outputs(), want);
    assert_eq!(p.run(&["audit"]).code, 0);
}
