//! The album flow end to end: audio inputs (project files or other targets' artifacts) →
//! features.npz + features.png, incrementally, with bad audio failing alone.

mod common;

use std::fs;

use common::Project;
use ntsbuild::media::npz;

/// A mono 16-bit WAV of `seconds` of a sine at `hz`.
fn sine_wav(p: &Project, rel: &str, hz: f32, seconds: f32, rate: u32) {
    let n = (seconds * rate as f32) as usize;
    let x: Vec<f32> = (0..n).map(|i| 0.5 * (2.0 * std::f32::consts::PI * hz * i as f32 / rate as f32).sin()).collect();
    let bytes = ntsbuild::media::wav::encode_pcm(&[&x], rate, 16).unwrap();
    p.write_bytes(rel, &bytes);
}

fn album_project() -> Project {
    let p = Project::demo();
    sine_wav(&p, "audio/a.wav", 440.0, 2.0, 48_000);
    sine_wav(&p, "audio/b.wav", 880.0, 1.5, 44_100);
    p.write(
        "recipes/album.toml",
        &format!(
            "[album.demo]\n{}\n[[album.demo.track]]\nid = \"opening\"\naudio = \"song.demo/song.wav\"\n\n\
         [[album.demo.track]]\nid = \"a\"\naudio = \"audio/a.wav\"\n\n[[album.demo.track]]\nid = \"b\"\naudio = \"audio/b.wav\"\n",
            common::LIGHT_VIDEO
        ),
    );
    p
}

fn arrays(p: &Project, rel: &str) -> Vec<(String, npz::NpyArray)> {
    npz::read_npz(&p.bytes(rel), rel).unwrap()
}

#[test]
fn demo_album_analyses_the_song() {
    let p = Project::demo();
    let r = p.render(&[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = r.statuses();
    assert_eq!(s["album.demo/opening/features.npz"], "built");
    assert_eq!(s["album.demo/opening/features.png"], "built");
    let a = arrays(&p, "renders/album/demo/opening/features.npz");
    let keys: Vec<&str> = a.iter().map(|(k, _)| k.as_str()).collect();
    for k in ["times", "rms", "centroid", "flatness", "mfcc", "onset", "metadata"] {
        assert!(keys.contains(&k), "features.npz lacks {k}: {keys:?}");
    }
    let song = ntsbuild::media::wav::decode(&p.bytes("renders/song/demo/song.wav")).unwrap();
    let frames = 1 + song.channels[0].len() / 512;
    let rms = a.iter().find(|(k, _)| k == "rms").unwrap().1.to_f32_vec().unwrap();
    assert_eq!(rms.len(), frames);
    let mfcc = &a.iter().find(|(k, _)| k == "mfcc").unwrap().1;
    assert_eq!(mfcc.shape, [13, frames]);
    let meta: serde_json::Value =
        serde_json::from_str(a.iter().find(|(k, _)| k == "metadata").unwrap().1.as_str().unwrap()).unwrap();
    assert_eq!(meta["sample_rate"], 48_000);
    let song_digest = blake3::hash(&p.bytes("renders/song/demo/song.wav")).to_hex().to_string();
    assert_eq!(meta["source_blake3"], song_digest.as_str());
    assert!(rms.iter().any(|&x| x > 0.05), "the song is not silent");
    let png = p.bytes("renders/album/demo/opening/features.png");
    assert_eq!(&png[1..4], b"PNG");
}

#[test]
fn editing_one_input_file_rebuilds_only_its_track() {
    let p = album_project();
    let first = p.render(&[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    sine_wav(&p, "audio/a.wav", 660.0, 2.0, 48_000);
    let r = p.render(&[]);
    let built: Vec<String> = r.statuses().into_iter().filter(|(_, s)| s == "built").map(|(id, _)| id).collect();
    // Track a's whole chain and the album cut; nothing of the other tracks.
    let want: Vec<String> = [
        "a/features.npz",
        "a/features.png",
        "a/latents.npz",
        "a/previews/contact_sheet.png",
        "a/previews/preview.gif",
        "a/previews/preview.png",
        "a/video.mp4",
        "album.mp4",
        "run.json",
    ]
    .iter()
    .map(|f| format!("album.demo/{f}"))
    .collect();
    assert_eq!(built, want);
    // Resampled input: 1.5 s at 44.1 kHz → 72000 samples at 48 kHz → 141 frames.
    let b = arrays(&p, "renders/album/demo/b/features.npz");
    assert_eq!(b.iter().find(|(k, _)| k == "rms").unwrap().1.to_f32_vec().unwrap().len(), 1 + 72_000 / 512);
}

#[test]
fn broken_audio_fails_alone_naming_the_file() {
    let p = album_project();
    p.write("audio/a.wav", "RIFF this is not audio");
    let r = p.render(&[]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let s = r.statuses();
    assert_eq!(s["album.demo/a/features.npz"], "failed");
    assert_eq!(s["album.demo/a/features.png"], "failed");
    assert_eq!(s["album.demo/b/features.npz"], "built");
    assert_eq!(s["album.demo/opening/features.npz"], "built");
    let err = r.events().into_iter().find(|e| e["id"] == "album.demo/a/features.npz").unwrap()["error"].clone();
    assert!(err.as_str().unwrap().contains("audio/a.wav"), "{err}");
}

#[test]
fn missing_or_escaping_audio_paths_are_recipe_errors() {
    let p = album_project();
    fs::remove_file(p.path().join("audio/b.wav")).unwrap();
    let r = p.run(&["render"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("recipes/album.toml:") && r.stderr.contains("audio/b.wav`: no such file"),
        "{}",
        r.stderr
    );
    let q = album_project();
    q.edit("recipes/album.toml", "audio/b.wav", "../b.wav");
    let r = q.run(&["render"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("album.demo.track[2].audio") && r.stderr.contains("leaves the project"), "{}", r.stderr);
    let q = album_project();
    q.edit("recipes/album.toml", "song.demo/song.wav", "song.demo/sng.wav");
    let r = q.run(&["render"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("did you mean `song.demo/song.wav`"), "{}", r.stderr);
}

#[test]
fn the_same_audio_in_two_tracks_is_analysed_once() {
    use ntsbuild::engine::render::{self, Quiet};
    use ntsbuild::engine::{Db, Exec, Mode, Session};
    let p = album_project();
    p.edit("recipes/album.toml", "audio/b.wav", "audio/a.wav");
    let s = Session::open(p.path(), &[], Mode::Build).unwrap();
    let outcome =
        render::render(&s.db, &["album.demo/a/features.npz".into(), "album.demo/b/features.npz".into()], 2, &Quiet)
            .unwrap();
    assert_eq!(outcome.summary.failed, 0);
    let computed: Vec<String> =
        s.db.env()
            .take_log()
            .into_iter()
            .filter_map(|e| if let Exec::Computed(id) = e { Some(id) } else { None })
            .collect();
    assert_eq!(computed.len(), 1, "{computed:?}");
    assert_eq!(p.bytes("renders/album/demo/a/features.npz"), p.bytes("renders/album/demo/b/features.npz"));
}

#[test]
fn truncated_audio_decodes_what_is_there_and_warns() {
    let p = album_project();
    let bytes = p.bytes("audio/a.wav");
    p.write_bytes("audio/a.wav", &bytes[..bytes.len() / 2 + 1]);
    let r = p.render(&["album.demo/a/features.npz"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let e = r.events().into_iter().find(|e| e["id"] == "album.demo/a/features.npz").unwrap();
    assert_eq!(e["status"], "built");
    let warnings = e["warnings"].as_array().expect("a warning about the truncation");
    assert!(warnings[0].as_str().unwrap().contains("audio/a.wav"), "{warnings:?}");
    // About half of the 2 s survive: 48000 samples → 94 frames, give or take a frame.
    let rms = arrays(&p, "renders/album/demo/a/features.npz");
    let n = rms.iter().find(|(k, _)| k == "rms").unwrap().1.to_f32_vec().unwrap().len();
    assert!((90..=96).contains(&n), "{n} frames");
}

/// Regression: decoder warnings used to carry the file's absolute path into features.npz, so
/// the same audio gave different bytes in two checkouts.
#[test]
fn features_bytes_do_not_depend_on_where_the_project_is() {
    let (p, q) = (album_project(), album_project());
    for proj in [&p, &q] {
        let bytes = proj.bytes("audio/a.wav");
        proj.write_bytes("audio/a.wav", &bytes[..bytes.len() / 2 + 1]);
        assert_eq!(proj.render(&["album.demo/a/features.npz"]).code, 0);
    }
    assert_ne!(p.path(), q.path());
    assert_eq!(p.bytes("renders/album/demo/a/features.npz"), q.bytes("renders/album/demo/a/features.npz"));
}

#[test]
fn normalization_and_trim_are_checked_with_their_units_and_ranges() {
    let p = album_project();
    p.edit("recipes/album.toml", "[album.demo]\n", "[album.demo]\nnormalization = -14.0\n");
    p.edit(
        "recipes/album.toml",
        "audio = \"audio/a.wav\"\n",
        "audio = \"audio/a.wav\"\ntrim = { start = 0.25, end = 1.5 }\n",
    );
    p.edit("recipes/album.toml", "audio = \"audio/b.wav\"\n", "audio = \"audio/b.wav\"\ntrim = { start = 0.5 }\n");
    let r = p.run(&["render", "--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    let r = p.run(&["render", "--dry-run", "--set", "album.demo.normalization=3"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("album.demo.normalization") && r.stderr.contains("allowed -60 to 0 dBFS"),
        "{}",
        r.stderr
    );

    p.edit("recipes/album.toml", "trim = { start = 0.25, end = 1.5 }", "trim = { start = 2.0, end = 1.5 }");
    let r = p.run(&["render", "--dry-run"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("trim.end") && r.stderr.contains("more than the start (2 s)"), "{}", r.stderr);

    p.edit("recipes/album.toml", "trim = { start = 2.0, end = 1.5 }", "trim = { start = 0.25, ende = 1.5 }");
    let r = p.run(&["render", "--dry-run"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("did you mean `end`"), "{}", r.stderr);

    p.edit("recipes/album.toml", "trim = { start = 0.25, ende = 1.5 }", "trim = 3");
    let r = p.run(&["render", "--dry-run"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("trim") && r.stderr.contains("expected a table"), "{}", r.stderr);

    p.edit("recipes/album.toml", "trim = 3", "normalization = -20.0");
    let r = p.run(&["render", "--dry-run"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("set on the album"), "{}", r.stderr);
}

#[test]
fn trim_cuts_the_analysed_audio_and_the_video_and_normalization_scales_it() {
    let p = album_project();
    let r = p.render(&["album.demo/a/latents.npz", "album.demo/a/features.npz"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rms_of = |p: &Project| {
        arrays(p, "renders/album/demo/a/features.npz")
            .into_iter()
            .find(|(k, _)| k == "rms")
            .unwrap()
            .1
            .to_f32_vec()
            .unwrap()
    };
    let whole = rms_of(&p);
    // a.wav is 2 s at 48 kHz: 188 feature frames, 48 video frames at 24 fps.
    assert_eq!(whole.len(), 1 + 96_000 / 512);
    let latents = arrays(&p, "renders/album/demo/a/latents.npz");
    assert_eq!(latents.iter().find(|(k, _)| k == "latents").unwrap().1.shape[0], 48);

    p.edit(
        "recipes/album.toml",
        "audio = \"audio/a.wav\"\n",
        "audio = \"audio/a.wav\"\ntrim = { start = 0.25, end = 1.5 }\n",
    );
    let r = p.render(&["album.demo/a/features.npz", "album.demo/a/latents.npz", "album.demo/a/video.mp4"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let trimmed = rms_of(&p);
    assert_eq!(trimmed.len(), 1 + 60_000 / 512, "1.25 s analysed");
    let latents = arrays(&p, "renders/album/demo/a/latents.npz");
    assert_eq!(latents.iter().find(|(k, _)| k == "latents").unwrap().1.shape[0], 30, "1.25 s at 24 fps");
    let video = p.bytes("renders/album/demo/a/video.mp4");
    assert!(!video.is_empty());

    // The sine's RMS is 0.5/√2 ≈ −9 dBFS; normalised to −21 dBFS its frames are a quarter as loud.
    p.edit("recipes/album.toml", "[album.demo]\n", "[album.demo]\nnormalization = -21.0\n");
    let r = p.render(&["album.demo/a/features.npz"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let quiet = rms_of(&p);
    let mid = quiet.len() / 2;
    let ratio = quiet[mid] / trimmed[mid];
    assert!((ratio - 0.25).abs() < 0.01, "rms ratio {ratio}");
}

/// A source too long for the memory limit is decoded once into temporary files and read back
/// piece by piece (the features in parallel tasks, the video's audio frame by frame): every
/// output is byte for byte the one made from memory, stereo and four-channel sources, trim and
/// normalization included, and nothing is left behind. The WAVs are read in place (resampled
/// from the file at 44.1 kHz), the Vorbis file is decoded (its channels resampled when the
/// video asks for them).
#[test]
fn a_decode_kept_on_disk_gives_the_same_bytes_as_one_in_memory() {
    let make = || {
        let p = Project::demo();
        p.write_tones("audio/stereo.wav", &[330.0, 550.0], 44_100, 88_200, 16);
        p.write_tones("audio/quad.wav", &[220.0, 440.0, 660.0, 880.0], 48_000, 72_000, 24);
        p.copy_audio_fixture("mix.ogg", "audio/mix.ogg");
        p.write(
            "recipes/album.toml",
            &format!(
                "[album.demo]\n{}normalization = -20.0\n\n[[album.demo.track]]\nid = \"stereo\"\n\
                 audio = \"audio/stereo.wav\"\ntrim = {{ start = 0.3, end = 1.7 }}\n\n\
                 [[album.demo.track]]\nid = \"quad\"\naudio = \"audio/quad.wav\"\n\n\
                 [[album.demo.track]]\nid = \"vorbis\"\naudio = \"audio/mix.ogg\"\ntrim = {{ start = 0.5, end = 2.0 }}\n",
                common::LIGHT_VIDEO
            ),
        );
        p
    };
    let (memory, disk) = common::render_in_memory_and_on_disk(make, "album.demo");
    let tracks = ["stereo", "quad", "vorbis"];
    let files = tracks.iter().flat_map(|t| [format!("{t}/features.npz"), format!("{t}/video.mp4")]);
    for rel in files.chain(["album.mp4".to_string()]) {
        let rel = format!("renders/album/demo/{rel}");
        assert_eq!(memory.bytes(&rel), disk.bytes(&rel), "{rel}");
    }
}

#[test]
fn features_analysed_while_the_audio_is_decoded_equal_the_librarys_bit_for_bit() {
    // A 44.1 kHz WAV (its mixdown resampled from the file), an MP3 and a Vorbis file (decoded)
    // are analysed as their mixdown is made (two threads); a 48 kHz WAV is read by position, and
    // with `-j 1` every mixdown is analysed once made. Whichever way, in memory or past the
    // memory limit, the bits are those of the library's analysis.
    let tracks = [
        ("wav44", "audio/stereo44.wav"),
        ("mp3", "audio/mix.mp3"),
        ("vorbis", "audio/mix.ogg"),
        ("wav48", "audio/mono48.wav"),
    ];
    let make = || {
        let p = Project::demo();
        p.write_tones("audio/stereo44.wav", &[330.0, 550.0], 44_100, 150_000, 16);
        p.write_tones("audio/mono48.wav", &[440.0], 48_000, 100_000, 24);
        p.copy_audio_fixture("mix.mp3", "audio/mix.mp3");
        p.copy_audio_fixture("mix.ogg", "audio/mix.ogg");
        let list: String = tracks
            .iter()
            .map(|(id, file)| format!("\n[[album.demo.track]]\nid = \"{id}\"\naudio = \"{file}\"\n"))
            .collect();
        p.write("recipes/album.toml", &format!("[album.demo]\n{}{list}", common::LIGHT_VIDEO));
        p
    };
    let (memory, disk) = common::render_in_memory_and_on_disk(make, "album.demo/*/features.npz");
    let one_thread = make();
    let r = one_thread.render(&["-j", "1", "album.demo/*/features.npz"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for (id, file) in tracks {
        let expected = ntsbuild::media::analyze::features_of_file(&memory.path().join(file), 48_000).unwrap().features;
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for p in [&memory, &disk, &one_thread] {
            let a = arrays(p, &format!("renders/album/demo/{id}/features.npz"));
            let get = |k: &str| a.iter().find(|(key, _)| key == k).unwrap().1.to_f32_vec().unwrap();
            assert_eq!(bits(&get("rms")), bits(&expected.rms), "{id} rms");
            assert_eq!(bits(&get("centroid")), bits(&expected.centroid_hz), "{id} centroid");
            assert_eq!(bits(&get("flatness")), bits(&expected.flatness), "{id} flatness");
            assert_eq!(bits(&get("mfcc")), bits(&expected.mfcc), "{id} mfcc");
            assert_eq!(bits(&get("onset")), bits(&expected.onset), "{id} onset");
        }
    }
}
