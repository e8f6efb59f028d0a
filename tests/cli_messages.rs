//! What the binary says when a user slips: counts in the right number, a pointer from `build`
//! to `render`, did-you-mean for near-miss commands, and one root error for a bad pattern step.

mod common;

use common::Project;

#[test]
fn one_artifact_is_counted_in_the_singular() {
    let p = Project::demo();
    let r = p.run(&["render", "kit.demo/kick.wav"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("1 artifact: 1 built, 0 restored, 0 fresh, 0 failed"), "{}", r.stdout);
    assert!(!r.stdout.contains("1 artifacts"), "{}", r.stdout);
}

#[test]
fn build_points_to_render() {
    let p = Project::demo();
    for args in [&["build"][..], &["build", "kit.demo"]] {
        let r = p.run(args);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(r.stderr.contains("unrecognized subcommand 'build'"), "{}", r.stderr);
        assert!(r.stderr.contains("ntsbuild render"), "{}", r.stderr);
    }
    assert!(!p.path().join("renders").exists(), "`build` must not build");
    // It is no command of its own in the help.
    let help = p.run(&["--help"]);
    assert!(!help.stdout.lines().any(|l| l.trim_start().starts_with("build")), "{}", help.stdout);
}

#[test]
fn near_miss_commands_get_a_did_you_mean() {
    let p = Project::demo();
    for (typo, meant) in [("rendr", "render"), ("statsu", "status"), ("lsit", "list")] {
        let r = p.run(&[typo]);
        assert_eq!(r.code, 2);
        // clap names every close command (`rendr` is near both `render` and `report`).
        let tip = r.stderr.lines().find(|l| l.contains("similar subcommand")).unwrap_or_default();
        assert!(tip.contains(&format!("'{meant}'")), "{typo}: {}", r.stderr);
    }
}

#[test]
fn a_bad_pattern_step_is_the_only_error_and_counts_from_one() {
    let p = Project::demo();
    p.edit("recipes/song.toml", "kick  = \"X... .... x.x.", "kick  = \"X... .... x.x?");
    let r = p.run(&["render"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("song.demo.pattern.kick: invalid step '?' at step 12 (bar 1, step 12; character 14)"),
        "{}",
        r.stderr
    );
    // The mix entry of the voice whose pattern failed is not reported as playing nothing.
    assert!(!r.stderr.contains("no pattern plays this voice"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().filter(|l| l.starts_with("error") || l.contains(": ")).count(), 1, "{}", r.stderr);
}

/// Audio in a well-known format that is not read fails its track with one line that names the
/// project file, says what the format is and how to convert it beside the file; a CAF holding
/// PCM beside them is read.
#[test]
fn an_audio_format_that_is_not_read_is_named_with_how_to_convert_it() {
    let p = Project::demo();
    p.copy_audio_fixture("tone.wv", "audio/loop.wv");
    p.copy_audio_fixture("tone_ac3.mka", "audio/film.mka");
    p.copy_audio_fixture("tone.caf", "audio/bounce.caf");
    let track = |id: &str, audio: &str| format!("[[album.demo.track]]\nid = \"{id}\"\naudio = \"{audio}\"\n\n");
    p.write(
        "recipes/album.toml",
        &format!(
            "[album.demo]\n{}\n{}{}{}",
            common::LIGHT_VIDEO,
            track("loop", "audio/loop.wv"),
            track("film", "audio/film.mka"),
            track("bounce", "audio/bounce.caf")
        ),
    );
    let r = p.run(&[
        "render",
        "album.demo/loop/features.npz",
        "album.demo/film/features.npz",
        "album.demo/bounce/features.npz",
    ]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    for (rel, what) in [("audio/loop.wv", "WavPack is"), ("audio/film.mka", "AC-3 audio is")] {
        let line = r.stderr.lines().find(|l| l.contains(rel)).unwrap_or_else(|| panic!("{rel}: {}", r.stderr));
        assert!(line.contains(&format!("{rel}: {what} not a format ntsbuild reads")), "{line}");
        let flac = rel.rsplit_once('.').map(|(stem, _)| format!("{stem}.flac")).unwrap_or_default();
        assert!(line.contains(&format!("`ffmpeg -i {rel} {flac}`")), "{line}");
        assert!(line.contains("FLAC") && line.contains("CAF with PCM"), "{line}");
    }
    assert!(!r.stderr.contains(&p.path().display().to_string()), "{}", r.stderr);
    assert!(p.path().join("renders/album/demo/bounce/features.npz").is_file(), "{}", r.stderr);
}
