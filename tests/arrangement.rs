//! Arrangements end to end: the artifacts an arrangement renders (stems, mix, loudness files),
//! their formats, determinism across `-j`, bad sampler sources, and the demo arrangement.

mod common;

use common::{ARRANGEMENT_ARTIFACTS, Project};

#[test]
fn an_arrangement_renders_stems_a_mix_and_loudness_files() {
    let p = common::arrangement_project();
    let r = p.render(&["-j1"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let s = r.statuses();
    for id in ARRANGEMENT_ARTIFACTS {
        assert_eq!(s.get(id).map(String::as_str), Some("built"), "{id}: {s:?}");
    }
    // Stems and the mix: stereo 24-bit at the project rate, all of the song's length.
    let len = |rel: &str| {
        let bytes = p.bytes(&format!("renders/song/x/{rel}"));
        let spec = hound::WavReader::new(std::io::Cursor::new(&bytes)).unwrap().spec();
        assert_eq!((spec.channels, spec.bits_per_sample, spec.sample_rate), (2, 24, 48_000), "{rel}");
        ntsbuild::media::wav::decode(&bytes).unwrap().channels[0].len()
    };
    let n = len("song.wav");
    for stem in ["bass", "lead", "hit"] {
        assert_eq!(len(&format!("stems/{stem}.wav")), n, "{stem}");
    }
    // The master normalised the mix to −18 LUFS.
    let json: serde_json::Value = serde_json::from_str(&p.read("renders/song/x/loudness.json")).unwrap();
    for key in ["integrated_lufs", "loudness_range_lu", "sample_peak_dbfs", "true_peak_dbtp", "crest_factor_db"] {
        assert!(json[key].is_number(), "{key}: {json}");
    }
    assert_eq!(json["rms_dbfs"].as_array().unwrap().len(), 2);
    assert!((json["integrated_lufs"].as_f64().unwrap() + 18.0).abs() < 0.1, "{json}");
    assert_eq!(json["target_lufs"], -18.0);
    let windows = json["smoothing"].as_array().unwrap();
    assert_eq!(windows.len(), 3, "two cutoff points and one gain point were smoothed: {json}");
    assert!(windows.iter().all(|w| w["lane"].as_str().unwrap().contains('|')));
    // One row per beat: 2 bars of 4/4 and a 0.5 s tail.
    let csv = p.read("renders/song/x/loudness.csv");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("bar,beat,time_s,momentary_lufs,short_term_lufs,rms_dbfs_l,rms_dbfs_r,peak_dbfs"));
    let rows: Vec<&str> = lines.collect();
    assert!(rows.len() >= 9, "{csv}");
    assert!(rows[4].starts_with("2,1,"), "{csv}");
    assert_eq!(&p.bytes("renders/song/x/loudness.png")[1..4], b"PNG");
    // The same bytes with two workers.
    let q = common::arrangement_project();
    assert_eq!(q.render(&["-j2"]).code, 0);
    assert_eq!(p.outputs(), q.outputs());
}

#[test]
fn explain_names_the_note_or_lane_that_changed() {
    let p = common::arrangement_project();
    assert_eq!(p.render(&[]).code, 0);
    p.edit("recipes/song.toml", "A#4 . . C5", "A4 . . C5");
    p.edit("recipes/song.toml", "[\"2:1\", 0.4]", "[\"2:1\", 0.5]");
    let lead = p.run(&["explain", "song.x/stems/lead.wav"]);
    assert!(lead.stdout.contains("notes") && lead.stdout.contains("pitch"), "{}", lead.stdout);
    let bass = p.run(&["explain", "song.x/stems/bass.wav"]);
    assert!(bass.stdout.contains("lowpass.cutoff_hz") && bass.stdout.contains("points"), "{}", bass.stdout);
    let hit = p.run(&["explain", "song.x/stems/hit.wav"]);
    assert!(!hit.stdout.contains("pitch") && !hit.stdout.contains("points"), "{}", hit.stdout);
}

#[test]
fn bad_sampler_sources_are_project_errors() {
    let p = common::arrangement_project();
    p.edit("recipes/song.toml", "audio/click.wav", "audio/clack.wav");
    let r = p.run(&["render"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("song.x.instrument.hit.sampler.source") && r.stderr.contains("audio/clack.wav"),
        "{}",
        r.stderr
    );
    p.edit("recipes/song.toml", "audio/clack.wav", "song.x/song.wav");
    let r = p.run(&["render"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("cannot sample itself"), "{}", r.stderr);
}

#[test]
fn the_demo_arrangement_samples_the_mined_pad_and_the_kit() {
    let p = Project::demo_full();
    std::fs::remove_file(p.path().join("recipes/album.toml")).unwrap();
    let r = p.render(&["song.arrangement"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let s = r.statuses();
    for inst in ["bass", "lead", "bell", "pad", "snare", "drone"] {
        assert_eq!(s[&format!("song.arrangement/stems/{inst}.wav")], "built", "{inst}");
    }
    for f in ["song.wav", "loudness.json", "loudness.csv", "loudness.png"] {
        assert_eq!(s[&format!("song.arrangement/{f}")], "built", "{f}");
    }
    assert_eq!(s["textures.demo/organ/pads/organ_pad01.wav"], "built");
    assert_eq!(s["kit.demo/snare.wav"], "built");
    let stem = |name: &str| {
        ntsbuild::media::wav::decode(&p.bytes(&format!("renders/song/arrangement/stems/{name}.wav"))).unwrap()
    };
    for inst in ["pad", "snare"] {
        let w = stem(inst);
        let peak = w.channels.iter().flatten().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(peak > 0.01, "{inst} is silent");
    }
    let json: serde_json::Value = serde_json::from_str(&p.read("renders/song/arrangement/loudness.json")).unwrap();
    let lufs = json["integrated_lufs"].as_f64().unwrap();
    assert!((lufs + 16.0).abs() < 0.1 || json["true_peak_dbtp"].as_f64().unwrap() > -1.05, "{json}");
}

/// A sampler source too long for the memory limit is played from its decode on disk, a page at
/// a time: every stem is byte for byte the one played from memory (stereo and four-channel
/// WAVs read in place, a Vorbis file decoded, velocity layers, a loop with a pitch glide), and
/// nothing is left behind.
#[test]
fn a_sampler_source_kept_on_disk_plays_the_same_bytes_as_one_in_memory() {
    let make = || {
        let p = common::arrangement_project();
        p.write_tones("audio/pad.wav", &[330.0, 554.0], 44_100, 120_000, 16);
        p.write_tones("audio/quad.wav", &[220.0, 440.0, 660.0, 880.0], 48_000, 90_000, 24);
        p.copy_audio_fixture("mix.ogg", "audio/mix.ogg");
        let song = common::ARRANGEMENT.replace(
            "[song.x.automation]",
            "[song.x.instrument.pad]\nnotes = \"C4:40:4 . . . G4:120:4 . . . | C5:90:8\"\n\
             [song.x.instrument.pad.sampler]\nloop = true\nstart_percent = 20\nlength_percent = 70\n\
             velocity_crossfade_width = 30\n\
             [[song.x.instrument.pad.sampler.layer]]\nsource = \"audio/pad.wav\"\nmin_velocity = 1\nmax_velocity = 64\n\
             [[song.x.instrument.pad.sampler.layer]]\nsource = \"audio/mix.ogg\"\nmin_velocity = 65\nmax_velocity = 100\n\
             [[song.x.instrument.pad.sampler.layer]]\nsource = \"audio/quad.wav\"\nmin_velocity = 101\nmax_velocity = 127\n\n\
             [song.x.automation]\n\"pad.sampler.semitones|raw|smooth=1beat\" = [[\"1:3\", 3.0]]\n",
        );
        p.write("recipes/song.toml", &song);
        p
    };
    let (memory, disk) = common::render_in_memory_and_on_disk(make, "song.x");
    let pad = ntsbuild::media::wav::decode(&memory.bytes("renders/song/x/stems/pad.wav")).unwrap();
    assert!(pad.channels.iter().all(|c| c.iter().any(|v| v.abs() > 0.01)), "the pad stem is silent");
    for rel in ["stems/pad.wav", "stems/hit.wav", "song.wav"] {
        let rel = format!("renders/song/x/{rel}");
        assert_eq!(memory.bytes(&rel), disk.bytes(&rel), "{rel}");
    }
}
