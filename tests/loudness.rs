//! Loudness against a peer: the integrated loudness of real recordings agrees with ffmpeg's
//! `ebur128` filter within 0.1 LU (its loudness range within 0.5 LU: ffmpeg computes the range
//! with its own histogram). Both read the same PCM (decoded by ffmpeg), so only the meters are
//! compared. Skips with a message when ffmpeg or the dev set is absent.
#![allow(clippy::print_stderr)] // reports measurements and skips

use std::path::PathBuf;
use std::process::Command;

use ntsbuild::arrange::loudness::analyze;
use ntsbuild::arrange::tempo::TempoMap;

fn dev_audio() -> PathBuf {
    std::env::var_os("NTSBUILD_DEV_AUDIO").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/work/devaudio"))
}

/// Stereo 48 kHz float PCM of `file`, decoded and resampled by ffmpeg.
fn ffmpeg_pcm(file: &PathBuf) -> (Vec<f32>, Vec<f32>) {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(file)
        .args(["-ac", "2", "-ar", "48000", "-f", "f32le", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let samples: Vec<f32> = out.stdout.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let left = samples.iter().step_by(2).copied().collect();
    let right = samples.iter().skip(1).step_by(2).copied().collect();
    (left, right)
}

/// ffmpeg's `I:` and `LRA:` summary of the same PCM.
fn ffmpeg_ebur128(file: &PathBuf) -> (f64, f64) {
    let out = Command::new("ffmpeg")
        .args(["-nostats", "-hide_banner", "-i"])
        .arg(file)
        .args(["-ac", "2", "-ar", "48000", "-af", "ebur128", "-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    let text = String::from_utf8_lossy(&out.stderr);
    let summary = &text[text.rfind("Summary:").expect("an ebur128 summary")..];
    let value = |label: &str| -> f64 {
        let line = summary.lines().find(|l| l.trim_start().starts_with(label)).expect(label);
        line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("a number")
    };
    (value("I:"), value("LRA:"))
}

#[test]
fn agrees_with_ffmpeg_ebur128_on_real_recordings() {
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        eprintln!("SKIP agrees_with_ffmpeg_ebur128_on_real_recordings: ffmpeg is not installed");
        return;
    }
    let files = [
        "music/singularity-music__Awakening.ogg",
        "drums/sonic-pi-samples__loop_tabla.flac",
        "noise/sonic-pi-samples__vinyl_hiss.flac",
    ];
    let present: Vec<PathBuf> = files.iter().map(|f| dev_audio().join(f)).filter(|p| p.is_file()).collect();
    if present.is_empty() {
        eprintln!(
            "SKIP agrees_with_ffmpeg_ebur128_on_real_recordings: no dev set \
             (set NTSBUILD_DEV_AUDIO or run fetch_dev_audio.sh /work/devaudio)"
        );
        return;
    }
    for file in present {
        let (l, r) = ffmpeg_pcm(&file);
        let ours = analyze(&l, &r, 48_000, &TempoMap::constant(120.0)).unwrap().summary;
        let (i, lra) = ffmpeg_ebur128(&file);
        let (our_i, our_lra) = (ours.integrated_lufs.unwrap(), ours.loudness_range_lu.unwrap());
        eprintln!("{}: I {our_i:.2} vs ffmpeg {i:.1} LUFS, LRA {our_lra:.2} vs {lra:.1} LU", file.display());
        // ffmpeg prints one decimal: allow its rounding (0.05) on top of 0.1 LU.
        assert!((our_i - i).abs() <= 0.15, "{}: integrated {our_i} vs ffmpeg {i}", file.display());
        // The loudness range is computed by a different implementation in ffmpeg (a 0.1 LU
        // histogram); on short or steady recordings the 10th/95th percentiles land a few tenths
        // apart (both give Tech 3342's 10/5/20 LU exactly).
        assert!((our_lra - lra).abs() <= 0.5, "{}: range {our_lra} vs ffmpeg {lra}", file.display());
    }
}
