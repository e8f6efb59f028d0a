//! Containers users hold: AIFF, AIFF-C and AAC in MP4/M4A decode, keep their channels, agree
//! with the WAV they were made from, and damaged copies fail with one line naming the file.
//!
//! Fixtures (`tests/fixtures/audio/`, remade by its `make.sh` with ffmpeg): `tone.wav` is
//! 0.15 s of 16-bit stereo at 44.1 kHz (440 Hz left, 1 kHz right); the others are ffmpeg's
//! conversions of it.

mod common;

use common::audio_fixture as fixture;
use ntsbuild::media::decode::{Decoded, decode_channels, decode_channels_bytes, decode_path};
use ntsbuild::media::pcm::{PcmLayout, load_pcm};

fn original() -> Decoded {
    decode_channels(&fixture("tone.wav")).expect("tone.wav")
}

/// Largest sample difference after shifting `ours` by `lag` frames (positive: ours is late).
fn worst_delta(ours: &[f32], reference: &[f32], lag: isize) -> f32 {
    reference
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let j = i as isize + lag;
            (j >= 0).then(|| ours.get(j as usize)).flatten().map(|o| (o - r).abs())
        })
        .fold(0.0f32, f32::max)
}

#[test]
fn aiff_and_aifc_are_sample_exact_copies_of_the_wav() {
    let wav = original();
    for name in ["tone.aiff", "tone.aifc"] {
        let d = decode_channels(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(d.sample_rate_hz, 44_100, "{name}");
        assert_eq!(d.channels.len(), 2, "{name}");
        assert_eq!(d.frames_decoded, wav.frames_decoded, "{name}");
        // 16-bit big-endian and 32-bit float both hold the 16-bit samples exactly.
        for (c, (ours, reference)) in d.channels.iter().zip(&wav.channels).enumerate() {
            assert_eq!(worst_delta(ours, reference, 0), 0.0, "{name} channel {c}");
        }
        assert!(d.warnings.is_empty(), "{name}: {:?}", d.warnings);
    }
}

/// AAC is lossy: after the decoder's priming is trimmed the samples line up with the WAV
/// (no lag): once the encoder has settled (ffmpeg's encoder smears the first 1500 frames, and
/// ffmpeg's own decoder gives the same samples there) the error is ≥ 25 dB below each tone
/// (rms) and never above 0.06 (the tones are 0.5 and 0.3 full scale at 160 kb/s; ffmpeg's
/// decoder measures 0.025 and 0.044 worst, 0.006 and 0.008 rms).
#[test]
fn aac_in_m4a_and_mp4_agrees_with_the_wav() {
    let wav = original();
    for name in ["tone.m4a", "tone.mp4"] {
        let d = decode_channels(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(d.sample_rate_hz, 44_100, "{name}");
        assert_eq!(d.codec, "aac", "{name}");
        assert_eq!(d.channels.len(), 2, "{name}: channels kept");
        for (c, (ours, reference)) in d.channels.iter().zip(&wav.channels).enumerate() {
            let delta = worst_delta(&ours[1_500..], &reference[1_500..], 0);
            assert!(delta < 0.06, "{name} channel {c}: worst delta {delta}");
            let rms = |x: &mut dyn Iterator<Item = f32>| {
                let v: Vec<f32> = x.collect();
                (v.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
            };
            let error = rms(&mut ours[1_500..].iter().zip(&reference[1_500..]).map(|(a, b)| a - b));
            let signal = rms(&mut reference[1_500..].iter().copied());
            assert!(20.0 * (error / signal).log10() < -25.0, "{name} channel {c}: error {error} vs {signal}");
        }
        // Left is the 0.5 tone, right the 0.3 one: the channels were not swapped or mixed.
        let peak = |x: &[f32]| x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let (left, right) = (peak(&d.channels[0][1_500..]), peak(&d.channels[1][1_500..]));
        assert!((left - 0.5).abs() < 0.05 && (right - 0.3).abs() < 0.05, "{name}: peaks {left} {right}");
    }
}

#[test]
fn mono_decode_is_the_mean_of_the_channels() {
    for name in ["tone.wav", "tone.aiff", "tone.m4a"] {
        let channels = decode_channels(&fixture(name)).expect("channels");
        let mono = decode_path(&fixture(name)).expect("mono");
        assert_eq!(channels.mono(), mono.samples_mono, "{name}");
        assert_eq!(mono.channels, 2);
    }
}

#[test]
fn new_containers_resample_through_the_one_decode_api() {
    let pcm = load_pcm(&fixture("tone.m4a"), 48_000, PcmLayout::Both).expect("pcm");
    let channels = pcm.channels.as_ref().expect("channels");
    assert_eq!(channels.len(), 2);
    assert_eq!(pcm.source.sample_rate_hz, 44_100);
    let expected = (pcm.source.frames_decoded * 48_000).div_ceil(44_100) as usize;
    assert_eq!(pcm.mono.as_ref().map(Vec::len), Some(expected));
}

/// Every truncation and a few corruptions of each fixture: never a panic; an error is one line
/// naming the file.
#[test]
fn damaged_copies_fail_with_one_line_naming_the_file() {
    for name in ["tone.aiff", "tone.aifc", "tone.m4a", "tone.mp4"] {
        let good = std::fs::read(fixture(name)).expect("read");
        let label = format!("damaged/{name}");
        let check = |bytes: &[u8], what: &str| match decode_channels_bytes(bytes, &label) {
            Ok(d) => assert!(d.channels.iter().all(|c| c.iter().all(|v| v.is_finite())), "{what}"),
            Err(e) => {
                let message = e.to_string();
                assert!(message.starts_with(&format!("{label}: ")), "{what}: {message}");
                assert!(!message.contains('\n'), "{what}: {message}");
            }
        };
        for cut in [0, 4, 12, 30, 64, 200, good.len() / 3, good.len() / 2, good.len() - 7] {
            check(&good[..cut], &format!("{name} cut at {cut}"));
        }
        // A header cut off before any audio is an error, not an empty success.
        let err = decode_channels_bytes(&good[..30], &label).expect_err("header only");
        assert!(err.to_string().contains(name), "{err}");
        let mut state = 0x2545_F491u32;
        for round in 0..60 {
            let mut bad = good.clone();
            for _ in 0..6 {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let i = state as usize % bad.len();
                bad[i] ^= (state >> 24) as u8 | 1;
            }
            check(&bad, &format!("{name} corruption {round}"));
        }
    }
}

/// symphonia's AIFF reader checks the sound chunk against the file length up front, so a cut
/// AIFF is refused whole (a WAV keeps its first part): the error says so and names the file.
#[test]
fn a_truncated_aiff_is_a_truncation_error_naming_the_file() {
    let good = std::fs::read(fixture("tone.aiff")).expect("read");
    let err = decode_channels_bytes(&good[..good.len() / 2], "half.aiff").expect_err("cut AIFF");
    let message = err.to_string();
    assert!(message.starts_with("half.aiff: ") && message.contains("truncated"), "{message}");
}

/// The edit list's 1024 priming frames are dropped and the padding cut: exactly the WAV's
/// 6615 frames, in time with it.
#[test]
fn aac_priming_and_padding_are_trimmed() {
    let wav = original();
    for name in ["tone.m4a", "tone.mp4"] {
        let d = decode_channels(&fixture(name)).expect("decode");
        assert_eq!(d.frames_decoded, wav.frames_decoded, "{name}");
        let lagged = worst_delta(&d.channels[0], &wav.channels[0], 1024);
        let aligned = worst_delta(&d.channels[0], &wav.channels[0], 0);
        assert!(aligned < lagged, "{name}: aligned {aligned} vs lagged {lagged}");
        assert!(d.warnings.is_empty(), "{name}: {:?}", d.warnings);
    }
}
