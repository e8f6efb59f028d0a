//! Incremental tests: which artifact queries salsa executes, and which compute, after an edit.
//! The database stays warm between renders, as in `ntsbuild watch`.

mod common;

use std::collections::BTreeSet;

use ntsbuild::engine::db::Mode;
use ntsbuild::engine::render::{self, Quiet};
use ntsbuild::engine::session::{self, Session};
use ntsbuild::engine::{Database, Db, Exec};

use common::Project;

/// (executed, computed) artifact ids of one render.
fn render(db: &Database) -> (BTreeSet<String>, BTreeSet<String>) {
    let outcome = render::render(db, &[], 2, &Quiet).expect("render");
    assert_eq!(outcome.summary.failed, 0, "{:?}", outcome.events);
    let log = db.env().take_log();
    let executed =
        log.iter().filter_map(|e| if let Exec::Executed(id) = e { Some(id.clone()) } else { None }).collect();
    let computed =
        log.iter().filter_map(|e| if let Exec::Computed(id) = e { Some(id.clone()) } else { None }).collect();
    (executed, computed)
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

fn reload(p: &Project, s: &mut Session) {
    session::set_sources(&mut s.db, session::read_sources(p.path()).unwrap(), &[]);
}

const ALL: [&str; 18] = common::DEMO_ARTIFACTS;

/// Declared artifacts only (video segments are logged under their own ids).
fn declared(ids: BTreeSet<String>) -> BTreeSet<String> {
    ids.into_iter().filter(|id| !common::is_segment(id)).collect()
}

/// Every declared album artifact: all of them read the song through its features.
fn album() -> Vec<&'static str> {
    ALL.iter().copied().filter(|id| id.starts_with("album.")).collect()
}

#[test]
fn warm_no_op_executes_nothing() {
    let p = Project::demo();
    let s = Session::open(p.path(), &[], Mode::Build).unwrap();
    let (executed, computed) = render(&s.db);
    assert_eq!(declared(executed), set(&ALL));
    assert_eq!(declared(computed), set(&ALL));
    assert_eq!(render(&s.db), (set(&[]), set(&[])));
}

#[test]
fn cold_no_op_computes_nothing() {
    let p = Project::demo();
    render(&Session::open(p.path(), &[], Mode::Build).unwrap().db);
    // A new process: salsa is cold, the disk store is warm.
    let (executed, computed) = render(&Session::open(p.path(), &[], Mode::Build).unwrap().db);
    assert_eq!(declared(executed), set(&ALL));
    assert_eq!(computed, set(&[]));
}

#[test]
fn punch_decay_reruns_exactly_kick_zip_and_song() {
    let p = Project::demo();
    let mut s = Session::open(p.path(), &[], Mode::Build).unwrap();
    render(&s.db);
    p.edit("recipes/kit.toml", "punch_decay = 0.45", "punch_decay = 0.6");
    reload(&p, &mut s);
    let mut want = set(&["kit.demo/kick.wav", "kit.demo/kit.zip", "song.demo/song.wav"]);
    want.extend(set(&common::SONG_LOUDNESS));
    want.extend(set(&album()));
    let (executed, computed) = render(&s.db);
    assert_eq!((declared(executed), declared(computed)), (want.clone(), want));
}

#[test]
fn editing_the_song_leaves_the_kit_alone() {
    let p = Project::demo();
    let mut s = Session::open(p.path(), &[], Mode::Build).unwrap();
    render(&s.db);
    p.edit("recipes/song.toml", "swing = 0.12", "swing = 0.2");
    reload(&p, &mut s);
    let mut want = set(&["song.demo/song.wav"]);
    want.extend(set(&common::SONG_LOUDNESS));
    want.extend(set(&album()));
    let (executed, computed) = render(&s.db);
    assert_eq!((declared(executed), declared(computed)), (want.clone(), want));
}

#[test]
fn reformatting_executes_nothing() {
    let p = Project::demo();
    let mut s = Session::open(p.path(), &[], Mode::Build).unwrap();
    render(&s.db);
    let text = p.read("recipes/kit.toml");
    p.write("recipes/kit.toml", &format!("# reformatted\n{}", text.replace(" = ", " =  ")));
    reload(&p, &mut s);
    assert_eq!(render(&s.db), (set(&[]), set(&[])));
}

#[test]
fn identical_bytes_cut_off_the_song() {
    let p = Project::demo();
    p.edit("recipes/kit.toml", "tune = 48", "tune = 48\nblend = 0.0\nroom_air = 0.3");
    let mut s = Session::open(p.path(), &[], Mode::Build).unwrap();
    render(&s.db);
    p.edit("recipes/kit.toml", "room_air = 0.3", "room_air = 0.9");
    reload(&p, &mut s);
    let (executed, computed) = render(&s.db);
    // kick.wav is recomputed (its parameters changed) to the same bytes; kit.zip records the
    // parameter in kit_info.json; the song reads only kick.wav's bytes and does not run.
    assert_eq!(executed, set(&["kit.demo/kick.wav", "kit.demo/kit.zip"]));
    assert_eq!(computed, set(&["kit.demo/kick.wav", "kit.demo/kit.zip"]));
}

/// The mix and the loudness files of the arrangement `song.x`, plus `extra`.
fn mix_and(extra: &[&str]) -> BTreeSet<String> {
    let mut want = set(&["song.x/song.wav", "song.x/loudness.json", "song.x/loudness.csv", "song.x/loudness.png"]);
    want.extend(set(extra));
    want
}

#[test]
fn arrangement_edits_rerun_their_stem_the_mix_and_the_loudness_only() {
    let p = common::arrangement_project();
    let mut s = Session::open(p.path(), &[], Mode::Build).unwrap();
    let (executed, _) = render(&s.db);
    assert_eq!(executed, set(&common::ARRANGEMENT_ARTIFACTS));
    // One note of the lead.
    p.edit("recipes/song.toml", "A#4 . . C5", "A4 . . C5");
    reload(&p, &mut s);
    let want = mix_and(&["song.x/stems/lead.wav"]);
    assert_eq!(render(&s.db), (want.clone(), want));
    // One lane point of the bass.
    p.edit("recipes/song.toml", "[\"2:1\", 0.4]", "[\"2:1\", 0.5]");
    reload(&p, &mut s);
    let want = mix_and(&["song.x/stems/bass.wav"]);
    assert_eq!(render(&s.db), (want.clone(), want));
    // The sampler's source file.
    let click: Vec<f32> = (0..1000).map(|i| ((i as f32) * 0.2).sin()).collect();
    p.write_bytes("audio/click.wav", &ntsbuild::media::wav::encode_pcm(&[&click], 48_000, 16).unwrap());
    reload(&p, &mut s);
    let want = mix_and(&["song.x/stems/hit.wav"]);
    assert_eq!(render(&s.db), (want.clone(), want));
    // The master: no stem.
    p.edit("recipes/song.toml", "target_lufs = -18.0", "target_lufs = -20.0");
    reload(&p, &mut s);
    let want = mix_and(&[]);
    assert_eq!(render(&s.db), (want.clone(), want));
    // The block size changes how a stem is rendered, never its bytes: it is not in any key, so
    // the stems' queries look again and compute nothing.
    p.edit("recipes/song.toml", "tail_s = 0.5", "tail_s = 0.5\nblock_size = 64");
    reload(&p, &mut s);
    let (executed, computed) = render(&s.db);
    assert_eq!(computed, set(&[]));
    assert!(executed.iter().all(|id| id.contains("/stems/")), "{executed:?}");
    // The tempo map moves every note: every stem.
    p.edit("recipes/song.toml", "bpm = 100", "bpm = 90");
    reload(&p, &mut s);
    let want = mix_and(&["song.x/stems/bass.wav", "song.x/stems/lead.wav", "song.x/stems/hit.wav"]);
    assert_eq!(render(&s.db), (want.clone(), want));
}

/// Every consumer of a source reads one decode per rate: an album track's features and video
/// (48 kHz) share one, texture mining (44.1 kHz) has its own, and a warm re-render decodes
/// nothing.
#[test]
fn a_source_is_decoded_once_per_rate_for_every_flow() {
    let p = Project::demo();
    let n = 2 * 44_100;
    let left: Vec<f32> = (0..n).map(|i| 0.3 * (i as f32 * 0.05).sin()).collect();
    let right: Vec<f32> = (0..n).map(|i| 0.2 * (i as f32 * 0.031).sin()).collect();
    p.write_bytes("audio/src.wav", &ntsbuild::media::wav::encode_pcm(&[&left, &right], 44_100, 16).unwrap());
    p.write(
        "recipes/album.toml",
        &format!(
            "[album.demo]\n{}\n[[album.demo.track]]\nid = \"t\"\naudio = \"audio/src.wav\"\n",
            common::LIGHT_VIDEO
        ),
    );
    p.write(
        "recipes/lib.toml",
        "[textures.lib]\nsources = [\"audio/src.wav\"]\n[textures.lib.pads]\ntarget_durations_s = [1.0]\n\
         [textures.lib.clouds]\ngrains = 20\nduration_s = 1.0\nclouds_per_source = 1\n",
    );
    let s = Session::open(p.path(), &[], Mode::Build).unwrap();
    let decodes = |db: &Database| {
        let outcome = render::render(db, &[], 2, &Quiet).expect("render");
        assert!(outcome.events.iter().any(|e| e.id == "album.demo/t/video.mp4"), "{:?}", outcome.events);
        let mut d: Vec<(String, u32)> = db
            .env()
            .take_log()
            .into_iter()
            .filter_map(|e| if let Exec::Decoded(name, rate, ..) = e { Some((name, rate)) } else { None })
            .filter(|(name, _)| name == "audio/src.wav")
            .collect();
        d.sort();
        d
    };
    assert_eq!(decodes(&s.db), [("audio/src.wav".to_string(), 44_100), ("audio/src.wav".to_string(), 48_000)]);
    assert_eq!(decodes(&s.db), []);
}

/// A render whose artifacts read only a compressed source's mixdown (its features) decodes the
/// mixdown alone, without keeping every decoded channel, and when the features are the source's
/// one reader, keeps not even the mixdown (they took it as it was made); one that also muxes the
/// source (the video) keeps both from one decode. The features and the track's controls are the
/// same bytes either way.
#[test]
fn a_source_whose_channels_nothing_reads_is_decoded_as_its_mixdown_alone() {
    use ntsbuild::media::pcm::PcmLayout;
    let project = || {
        let p = Project::demo();
        p.write_bytes("audio/src.ogg", &std::fs::read(common::audio_fixture("mix.ogg")).unwrap());
        p.write(
            "recipes/album.toml",
            &format!(
                "[album.demo]\n{}\n[album.demo.controls]\nproducers = [{{ kind = \"audio\", columns = [\"rms_db\"] }}]\n\
                 wander_scale = {{ column = \"rms_db\", range = [0.7, 1.5], from = [-36, -12] }}\n\
                 [[album.demo.track]]\nid = \"t\"\naudio = \"audio/src.ogg\"\n",
                common::LIGHT_VIDEO
            ),
        );
        p
    };
    let decodes = |db: &Database, ids: &[&str]| {
        let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        let outcome = render::render(db, &ids, 2, &Quiet).expect("render");
        assert_eq!(outcome.summary.failed, 0, "{:?}", outcome.events);
        db.env()
            .take_log()
            .into_iter()
            .filter_map(|e| {
                if let Exec::Decoded(name, rate, layout, kept) = e { Some((name, rate, layout, kept)) } else { None }
            })
            .collect::<Vec<_>>()
    };
    let features = "renders/album/demo/t/features.npz";
    let src = || "audio/src.ogg".to_string();

    let p = project();
    let s = Session::open(p.path(), &[], Mode::Build).unwrap();
    assert_eq!(decodes(&s.db, &["album.demo/t/features.npz"]), [(src(), 48_000, PcmLayout::Mono, false)]);
    let alone = std::fs::read(p.path().join(features)).unwrap();
    // The video needs the channels: decoded again, with them (the features are cached).
    assert_eq!(decodes(&s.db, &["album.demo/t/video.mp4"]), [(src(), 48_000, PcmLayout::Both, true)]);

    let p = project();
    let s = Session::open(p.path(), &[], Mode::Build).unwrap();
    let both = ["album.demo/t/features.npz", "album.demo/t/video.mp4"];
    assert_eq!(decodes(&s.db, &both), [(src(), 48_000, PcmLayout::Both, true)], "one decode for both");
    assert_eq!(std::fs::read(p.path().join(features)).unwrap(), alone, "the same features from either decode");

    // With one thread the features read the kept mixdown after the decode: the same bytes.
    let p = project();
    let s = Session::open(p.path(), &[], Mode::Build).unwrap();
    let one = render::render(&s.db, &["album.demo/t/features.npz".to_string()], 1, &Quiet).expect("render");
    assert_eq!(one.summary.failed, 0, "{:?}", one.events);
    assert_eq!(std::fs::read(p.path().join(features)).unwrap(), alone, "the same features with -j 1");

    // The track's controls (an `audio` producer on the track) read the mixdown alone too, and
    // come out the same whichever decode they were made from.
    let controls = "renders/album/demo/t/controls.npz";
    let p = project();
    let s = Session::open(p.path(), &[], Mode::Build).unwrap();
    assert_eq!(decodes(&s.db, &["album.demo/t/controls.npz"]), [(src(), 48_000, PcmLayout::Mono, true)]);
    let from_mixdown = std::fs::read(p.path().join(controls)).unwrap();
    let p = project();
    let s = Session::open(p.path(), &[], Mode::Build).unwrap();
    let with_video = ["album.demo/t/controls.npz", "album.demo/t/video.mp4"];
    assert_eq!(decodes(&s.db, &with_video), [(src(), 48_000, PcmLayout::Both, true)], "one decode for both");
    assert_eq!(std::fs::read(p.path().join(controls)).unwrap(), from_mixdown, "the same controls from either decode");
}

/// An audio file edited after the build hashed it is never analysed under the old digest: the
/// artifacts that read it fail with "changed while building; run again" (a transient failure,
/// so `watch` builds again), and after the inputs are hashed again they build from the new
/// content. Holds for a WAV read in place and for a file that is decoded.
#[test]
fn an_audio_file_edited_after_it_was_hashed_fails_the_build_instead_of_being_misread() {
    for (name, bytes) in [
        ("src.wav", ntsbuild::media::wav::encode_pcm(&[&vec![0.25f32; 30_000]], 48_000, 16).unwrap()),
        ("src.ogg", std::fs::read(common::audio_fixture("mix.ogg")).unwrap()),
    ] {
        let p = Project::demo();
        let rel = format!("audio/{name}");
        p.write_bytes(&rel, &bytes);
        p.write(
            "recipes/album.toml",
            &format!("[album.demo]\n{}\n[[album.demo.track]]\nid = \"t\"\naudio = \"{rel}\"\n", common::LIGHT_VIDEO),
        );
        let mut s = Session::open(p.path(), &[], Mode::Build).unwrap();
        // The same length, other samples, written in place after the session hashed the file.
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut edited = bytes.clone();
        let n = edited.len();
        edited[n - 200..].iter_mut().for_each(|b| *b ^= 0x5a);
        std::fs::write(p.path().join(&rel), &edited).unwrap();
        let features = vec!["album.demo/t/features.npz".to_string()];
        let outcome = render::render(&s.db, &features, 2, &Quiet).expect("render");
        assert_eq!(outcome.summary.failed, 1, "{name}: {:?}", outcome.events);
        let error = outcome.events.iter().find_map(|e| e.error.clone()).unwrap_or_default();
        assert!(error.contains(&format!("{rel} changed while building; run again")), "{name}: {error}");
        assert!(!p.path().join("renders/album/demo/t/features.npz").exists(), "{name}: nothing recorded");
        reload(&p, &mut s);
        let outcome = render::render(&s.db, &features, 2, &Quiet).expect("render");
        assert_eq!(outcome.summary.failed, 0, "{name}: {:?}", outcome.events);
    }
}
