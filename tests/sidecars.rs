//! The sidecar flow end to end: `[sidecars.NAME]` → per source a `.cond.npy` + `.cond.json`
//! pair, built incrementally, locked, audited; producers that fail name themselves and the
//! source, and fail that source alone.

mod common;

use common::Project;
use ntsbuild::media::sidecar::decode_pair;

/// A mono 16-bit WAV of `seconds` of a 440 Hz sine whose level rises over the file.
fn rising_wav(p: &Project, rel: &str, seconds: f64) {
    let rate = 48_000.0;
    let n = (seconds * rate) as usize;
    let x: Vec<f32> = (0..n)
        .map(|i| {
            let t = i as f64 / rate;
            (0.05 + 0.4 * t / seconds) as f32 * (2.0 * std::f64::consts::PI * 440.0 * t).sin() as f32
        })
        .collect();
    p.write_bytes(rel, &ntsbuild::media::wav::encode_pcm(&[&x], 48_000, 16).unwrap());
}

const RECIPE: &str = r#"[sidecars.x]
sources = ["audio/*.wav"]
fps = 75
producers = [
  { kind = "const", values = { scene_id = 7 } },
  { kind = "lin", values = { progress = [0.0, 1.0] } },
  { kind = "from_filename", defaults = { take = 1 } },
  { kind = "audio", columns = ["rms_db"] },
]
"#;

fn project() -> Project {
    let p = Project::empty();
    p.write("Project.toml", "[project]\nname = \"t\"\n");
    p.write("recipes/sidecars.toml", RECIPE);
    rising_wav(&p, "audio/voice_take_3.wav", 2.0);
    rising_wav(&p, "audio/room.wav", 1.01);
    p
}

fn column(table: &ntsbuild::producers::SidecarTable, name: &str) -> Vec<f32> {
    let c = table.names.iter().position(|n| n == name).unwrap_or_else(|| panic!("no column {name}"));
    (0..table.frames).map(|t| table.data[t * table.names.len() + c]).collect()
}

#[test]
fn every_source_gets_a_locked_pair_on_the_grid() {
    let p = project();
    let r = p.render(&[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let npy = p.bytes("renders/sidecars/x/voice_take_3.cond.npy");
    let json = p.bytes("renders/sidecars/x/voice_take_3.cond.json");
    let table = decode_pair(&npy, &json).expect("a consistent pair");
    // T = ceil(duration · fps).
    assert_eq!(table.frames, 150);
    assert_eq!(table.names, ["scene_id", "progress", "take", "rms_db"]);
    assert!(column(&table, "scene_id").iter().all(|&v| v == 7.0));
    let progress = column(&table, "progress");
    assert_eq!((progress[0], progress[149]), (0.0, 1.0));
    // `_take_3` in the file name overrides the default.
    assert!(column(&table, "take").iter().all(|&v| v == 3.0));
    let rms = column(&table, "rms_db");
    assert!(rms[140] > rms[10] + 6.0, "the level rises: {} → {}", rms[10], rms[140]);
    let meta: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(meta["schema_version"], 2);
    assert_eq!(meta["T"], 150);
    assert_eq!(meta["source_blake3"], blake3::hash(&p.bytes("audio/voice_take_3.wav")).to_hex().as_str());
    assert_eq!(meta["npy_blake3"], blake3::hash(&npy).to_hex().as_str());
    assert!(meta["norm"]["rms_db"]["std"].as_f64().unwrap() > 0.0);
    // A 1.01 s source covers 76 frames (the partial last one counts); no `_take_N`: the default.
    let room = decode_pair(&p.bytes("renders/sidecars/x/room.cond.npy"), &p.bytes("renders/sidecars/x/room.cond.json"))
        .unwrap();
    assert_eq!(room.frames, 76);
    assert!(column(&room, "take").iter().all(|&v| v == 1.0));
    let lock = p.read("ntsbuild.lock");
    for f in ["voice_take_3.cond.npy", "voice_take_3.cond.json", "room.cond.npy", "room.cond.json"] {
        assert!(lock.contains(&format!("sidecars.x/{f}")), "{f} is not locked");
    }
    assert!(!p.path().join("renders/sidecars/x/pairs").exists(), "the pair blob is not an output");
    assert_eq!(p.run(&["audit"]).code, 0);
}

#[test]
fn an_edit_rebuilds_only_what_it_touches_and_audit_finds_a_broken_pair() {
    let p = project();
    assert_eq!(p.render(&[]).code, 0);
    // A new source: only its pair is built.
    rising_wav(&p, "audio/new.wav", 0.5);
    let r = p.render(&[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = r.statuses();
    assert_eq!(s["sidecars.x/new.cond.npy"], "built");
    assert_eq!(s["sidecars.x/room.cond.npy"], "fresh");
    // A producer setting: every pair is rebuilt.
    p.edit("recipes/sidecars.toml", "scene_id = 7", "scene_id = 8");
    let s = p.render(&[]).statuses();
    assert!(
        ["new", "room", "voice_take_3"].iter().all(|n| s[&format!("sidecars.x/{n}.cond.json")] == "built"),
        "{s:?}"
    );
    // Half of a pair replaced by another build's file: audit names it.
    std::fs::copy(p.path().join("renders/sidecars/x/room.cond.npy"), p.path().join("renders/sidecars/x/new.cond.npy"))
        .unwrap();
    let audit = p.run(&["audit"]);
    assert_eq!(audit.code, 1, "{}", audit.stdout);
    assert!(audit.stdout.contains("new.cond.npy"), "{}", audit.stdout);
}

#[test]
fn a_failing_plugin_fails_its_sources_naming_itself_and_the_source() {
    let p = project();
    p.write(
        "Project.toml",
        "[project]\nname = \"t\"\n\n[producer.broken]\ncommand = [\"python3\", \"producers/broken.py\"]\naudio = false\n",
    );
    p.write("producers/broken.py", "import sys\nsys.stderr.write('cannot read the model\\n')\nsys.exit(3)\n");
    p.edit("recipes/sidecars.toml", "  { kind = \"audio\"", "  { plugin = \"broken\" },\n  { kind = \"audio\"");
    let r = p.render(&[]);
    assert_ne!(r.code, 0);
    let failed: Vec<_> = r.events().into_iter().filter(|e| e["status"] == "failed").collect();
    let pair = failed.iter().find(|e| e["id"] == "sidecars.x/pairs/room").expect("the pair fails");
    let error = pair["error"].as_str().unwrap();
    assert!(error.contains("broken") && error.contains("audio/room.wav"), "{error}");
    assert!(error.contains("cannot read the model"), "the stderr tail is shown: {error}");
    assert!(!p.path().join("renders/sidecars/x/room.cond.json").exists());
}

#[test]
fn recipe_errors_name_the_key() {
    let p = project();
    p.edit("recipes/sidecars.toml", "fps = 75", "fps = 75\nhop = 320");
    p.edit("recipes/sidecars.toml", "{ kind = \"lin\"", "{ kind = \"linear\"");
    let r = p.run(&["render"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("sidecars.x"), "{}", r.stderr);
    assert!(r.stderr.contains("hop") && r.stderr.contains("linear"), "{}", r.stderr);
}

#[test]
fn list_producers_shows_builtins_and_declared_plugins() {
    let p = project();
    p.write(
        "Project.toml",
        "[project]\nname = \"t\"\n\n[producer.bands]\ndescription = \"band levels\"\n\
         command = [\"python3\", \"producers/bands.py\"]\nsettings = { crossovers_hz = [300, 3000] }\n",
    );
    let r = p.run(&["list", "--producers"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for want in ["const", "lin", "from_filename", "audio", "pattern", "bands", "band levels", "crossovers_hz"] {
        assert!(r.stdout.contains(want), "missing {want}:\n{}", r.stdout);
    }
}

#[test]
fn audit_sidecars_checks_pairs_made_anywhere() {
    let p = project();
    assert_eq!(p.render(&[]).code, 0);
    // The project's own pairs are clean.
    let own = p.run(&["audit", "--sidecars"]);
    assert_eq!(own.code, 0, "{}{}", own.stdout, own.stderr);
    assert!(own.stdout.contains("audited 2 sidecar pairs: 0 errors"), "{}", own.stdout);
    // Another tool's folder, no project: one pair under the seed's naming, one whose JSON lies.
    let elsewhere = tempfile::tempdir().unwrap();
    let dir = elsewhere.path().join("dataset");
    std::fs::create_dir(&dir).unwrap();
    let src = p.path().join("renders/sidecars/x");
    std::fs::copy(src.join("room.cond.npy"), dir.join("a.cond.npy")).unwrap();
    std::fs::copy(src.join("room.cond.json"), dir.join("a.cond.cond.json")).unwrap();
    std::fs::copy(src.join("voice_take_3.cond.npy"), dir.join("b.cond.npy")).unwrap();
    let json = p.read("renders/sidecars/x/voice_take_3.cond.json").replace("\"T\": 150", "\"T\": 149");
    std::fs::write(dir.join("b.cond.json"), json).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ntsbuild"))
        .arg("-p")
        .arg(elsewhere.path())
        .args(["audit", "--sidecars"])
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("a.cond.npy: warning[seed_naming]"), "{stdout}");
    assert!(stdout.contains("b.cond.npy: error[frame_mismatch]"), "{stdout}");
    assert!(stdout.contains("audited 2 sidecar pairs: 1 error"), "{stdout}");
}

/// Producers merge in list order and the last one wins a column name; `-v` says which producer
/// made each column (human and JSON), and the later value is the one in the pair.
#[test]
fn verbose_names_the_producer_that_won_each_column() {
    let p = project();
    p.write(
        "recipes/sidecars.toml",
        &RECIPE.replace(
            "  { kind = \"audio\", columns = [\"rms_db\"] },\n",
            "  { kind = \"audio\", columns = [\"rms_db\"] },\n  { kind = \"const\", values = { take = 9 } },\n",
        ),
    );
    let r = p.run(&["render", "-v", "sidecars.x"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let want = "columns: scene_id ← producers[0] const, progress ← producers[1] lin, \
                take ← producers[4] const, rms_db ← producers[3] audio";
    assert!(r.stdout.contains(want), "{}", r.stdout);
    let table =
        decode_pair(&p.bytes("renders/sidecars/x/room.cond.npy"), &p.bytes("renders/sidecars/x/room.cond.json"))
            .unwrap();
    assert!(column(&table, "take").iter().all(|&v| v == 9.0));

    // Without -v the human report stays one line per artifact; JSON always carries the notes.
    p.edit("recipes/sidecars.toml", "take = 9", "take = 8");
    let r = p.run(&["render", "sidecars.x"]);
    assert!(!r.stdout.contains("columns:"), "{}", r.stdout);
    p.edit("recipes/sidecars.toml", "take = 8", "take = 7");
    let r = p.render(&["sidecars.x"]);
    let pair = r.events().into_iter().find(|e| e["id"] == "sidecars.x/pairs/room").expect("the pair's event");
    assert!(pair["notes"][0].as_str().unwrap().contains("take ← producers[4] const"), "{pair}");
}

/// A plug-in that asks for the audio is given the decoded mixdown as a raw float32 file, written
/// a piece at a time from the decode: the same file, and so the same pair, whether the decode
/// was held in memory or moved to disk.
#[test]
fn a_plugin_reads_the_same_audio_from_a_decode_on_disk() {
    let make = || {
        let p = project();
        // Two plug-ins ask for the audio (one file, written once, is given to both).
        p.write(
            "Project.toml",
            "[project]\nname = \"t\"\n\n[producer.energy]\ncommand = [\"python3\", \"producers/energy.py\"]\n\n\
             [producer.energy_b]\ncommand = [\"python3\", \"producers/energy.py\", \"b_\"]\n",
        );
        p.write(
            "producers/energy.py",
            r#"import json, os, struct, sys
req = json.load(sys.stdin)
audio = req["audio"]
n = audio["samples"]
if audio["format"] != "f32le" or os.path.getsize(audio["path"]) != 4 * n:
    sys.exit("bad audio file")
x = struct.unpack("<%df" % n, open(audio["path"], "rb").read())
T = req["T"]
energy = [sum(v * v for v in x[k * n // T:(k + 1) * n // T]) for k in range(T)]
prefix = sys.argv[1] if len(sys.argv) > 1 else ""
json.dump({prefix + "energy": energy, prefix + "last": [x[-1]] * T}, sys.stdout)
"#,
        );
        p.edit(
            "recipes/sidecars.toml",
            "  { kind = \"audio\"",
            "  { plugin = \"energy\" },\n  { plugin = \"energy_b\" },\n  { kind = \"audio\"",
        );
        p
    };
    let (memory, disk) = common::render_in_memory_and_on_disk(make, "sidecars.x");
    for name in ["voice_take_3", "room"] {
        for ext in ["cond.npy", "cond.json"] {
            let rel = format!("renders/sidecars/x/{name}.{ext}");
            assert_eq!(memory.bytes(&rel), disk.bytes(&rel), "{rel}");
        }
    }
    let table = decode_pair(
        &memory.bytes("renders/sidecars/x/voice_take_3.cond.npy"),
        &memory.bytes("renders/sidecars/x/voice_take_3.cond.json"),
    )
    .unwrap();
    let energy = column(&table, "energy");
    assert!(energy[140] > 4.0 * energy[10], "the level rises over the file: {energy:?}");
    assert_eq!(column(&table, "b_energy"), energy, "both plug-ins read the same audio");
    assert_eq!(column(&table, "b_last"), column(&table, "last"));
}
