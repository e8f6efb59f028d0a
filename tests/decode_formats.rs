//! Containers users hold: AIFF, AIFF-C, AAC and ALAC in MP4/M4A, FLAC in Matroska, MP2, Opus
//! in Ogg, WebM and MP4, and AU, Wave64 and CAF with PCM decode, keep their channels, agree
//! with the WAV they were made from, and damaged copies fail with one line naming the file;
//! well-known formats that are not read are named.
//!
//! Fixtures (`tests/fixtures/audio/`, remade by its `make.sh` with ffmpeg): `tone.wav` is
//! 0.15 s of 16-bit stereo at 44.1 kHz (440 Hz left, 1 kHz right); the others are ffmpeg's
//! conversions of it (the Opus ones of `tone48.wav`, its 48 kHz copy: Opus codes 48 kHz), and
//! `tone51.opus` is 0.2 s of 5.1 with one tone per channel.

mod common;

use common::audio_fixture as fixture;
use ntsbuild::media::decode::{Decoded, declared_length, decode_channels, decode_channels_bytes, decode_path};
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

/// The other PCM containers libsndfile (and so `librosa.load`) reads: Sun AU (16-bit
/// big-endian), Sony Wave64 (16-bit) and Apple CAF (24-bit big-endian, 32-bit float
/// little-endian) hold the WAV's samples exactly, with no warning. ffmpeg's Wave64 writer
/// counts the data chunk's padding to 8 bytes in its size, so that file declares one frame
/// more (silence), which libsndfile reads too (`soundfile.info`: 6616 frames).
#[test]
fn au_wave64_and_caf_are_sample_exact_copies_of_the_wav() {
    let wav = original();
    for (name, codec, extra) in [
        ("tone.au", "pcm_s16", 0),
        ("tone.w64", "pcm_s16", 1),
        ("tone.caf", "pcm_s24", 0),
        ("tone_f32.caf", "pcm_f32", 0),
    ] {
        let d = decode_channels(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((d.sample_rate_hz, d.channels.len()), (44_100, 2), "{name}");
        assert_eq!(d.frames_decoded, wav.frames_decoded + extra, "{name}");
        assert!(d.channels.iter().all(|c| c[wav.frames_decoded as usize..].iter().all(|&v| v == 0.0)), "{name}");
        assert_eq!(d.codec, codec, "{name}");
        for (c, (ours, reference)) in d.channels.iter().zip(&wav.channels).enumerate() {
            assert_eq!(worst_delta(ours, reference, 0), 0.0, "{name} channel {c}");
        }
        assert!(d.warnings.is_empty(), "{name}: {:?}", d.warnings);
        // The header's length, for estimates made before decoding (`render --dry-run`).
        assert_eq!(declared_length(&fixture(name), name), Some((d.frames_decoded as usize, 44_100)), "{name}");
        let bytes = std::fs::read(fixture(name)).expect("read");
        let from_bytes = decode_channels_bytes(&bytes, name).expect("from bytes");
        assert_eq!(from_bytes.channels, d.channels, "{name} from bytes");
    }
}

/// A well-known format that is not read (WavPack; ALAC in CAF) is named in a one-line error
/// that names the file, lists what is read and says how to convert it.
#[test]
fn a_well_known_format_that_is_not_read_is_named_with_what_to_do() {
    for (name, what) in [("tone.wv", "WavPack is not a format"), ("tone_alac.caf", "CAF holding ALAC audio is not")] {
        let path = fixture(name);
        let message = decode_channels(&path).expect_err(name).to_string();
        let shown = path.display().to_string();
        assert!(message.starts_with(&format!("{shown}: {what}")), "{message}");
        assert!(message.contains("FLAC") && message.contains("AIFF"), "{message}");
        assert!(message.contains(&format!("`ffmpeg -i {shown} ")), "{message}");
        assert!(!message.contains('\n'), "{message}");
        let bytes = std::fs::read(&path).expect("read");
        let from_bytes = decode_channels_bytes(&bytes, name).expect_err(name).to_string();
        assert!(from_bytes.starts_with(&format!("{name}: {what}")), "{from_bytes}");
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
fn alac_and_flac_in_other_containers_are_sample_exact_copies_of_the_wav() {
    let wav = original();
    for (name, codec) in [("tone_alac.m4a", "alac"), ("tone.mka", "flac")] {
        let d = decode_channels(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((d.sample_rate_hz, d.channels.len(), d.codec.as_str()), (44_100, 2, codec), "{name}");
        assert_eq!(d.frames_decoded, wav.frames_decoded, "{name}");
        for (c, (ours, reference)) in d.channels.iter().zip(&wav.channels).enumerate() {
            assert_eq!(worst_delta(ours, reference, 0), 0.0, "{name} channel {c}");
        }
        assert!(d.warnings.is_empty(), "{name}: {:?}", d.warnings);
    }
}

/// Root-mean-square of `x`.
fn rms(x: impl Iterator<Item = f32>) -> f64 {
    let (sum, n) = x.fold((0.0, 0usize), |(s, n), v| (s + f64::from(v).powi(2), n + 1));
    (sum / n.max(1) as f64).sqrt()
}

/// Opus is lossy and codes 48 kHz: decoded from Ogg, WebM or MP4, the stereo stream lines up
/// with the 48 kHz WAV it was made from — the 312-frame pre-skip dropped once (Ogg and WebM
/// mark it only in the header, MP4 in its edit list) — with its error more than 30 dB under
/// the tones (ffmpeg's decoder measures the same −42.8 dB at 128 kb/s), and has the WAV's 7200
/// frames: the end padding is dropped too (Ogg's last granule position, WebM's
/// `DiscardPadding` of 168 frames, MP4's edit list).
#[test]
fn opus_in_ogg_webm_and_mp4_agrees_with_the_wav_it_was_made_from() {
    let wav = decode_channels(&fixture("tone48.wav")).expect("tone48.wav");
    let n = wav.channels[0].len();
    for name in ["tone.opus", "tone_opus.webm", "tone_opus.mp4"] {
        let d = decode_channels(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((d.sample_rate_hz, d.channels.len(), d.codec.as_str()), (48_000, 2, "opus"), "{name}");
        assert_eq!(d.channels[0].len(), n, "{name}");
        assert_eq!(d.frames_decoded, n as u64, "{name}");
        for (c, (ours, reference)) in d.channels.iter().zip(&wav.channels).enumerate() {
            // After the first packet (the codec settling), in time with the WAV.
            let (ours, reference) = (&ours[960..n], &reference[960..]);
            let error = rms(ours.iter().zip(reference).map(|(a, b)| a - b));
            let db = 20.0 * (error / rms(reference.iter().copied())).log10();
            assert!(db < -30.0, "{name} channel {c}: error {db:.1} dB");
            assert!(worst_delta(ours, reference, 0) < worst_delta(ours, reference, 312), "{name} channel {c}: late");
        }
        let peak = |x: &[f32]| x[960..].iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let (left, right) = (peak(&d.channels[0]), peak(&d.channels[1]));
        assert!((left - 0.5).abs() < 0.03 && (right - 0.3).abs() < 0.03, "{name}: peaks {left} {right}");
        assert!(d.warnings.is_empty(), "{name}: {:?}", d.warnings);
    }
    // The length a plan estimates the video from is the decode's, pre-skip excluded.
    assert_eq!(declared_length(&fixture("tone.opus"), "tone.opus"), Some((n, 48_000)));
}

/// WebM's end padding is the file's own `DiscardPadding` (168 frames in the fixture: 3.5 ms):
/// a larger value drops more, a negative one is no padding.
#[test]
fn webm_end_padding_is_what_the_file_says() {
    let good = std::fs::read(fixture("tone_opus.webm")).expect("read");
    let at = good.windows(3).position(|w| w == [0x75, 0xA2, 0x83]).expect("a 3-byte DiscardPadding") + 3;
    assert_eq!(good[at..at + 3], [0x35, 0x67, 0xE0], "3,500,000 ns");
    for (value, frames) in [([0x35, 0x67, 0xE0], 7_200), ([0x7F, 0xFF, 0xFF], 7_368 - 403), ([0x80, 0, 0], 7_368)] {
        let mut bytes = good.clone();
        bytes[at..at + 3].copy_from_slice(&value);
        let d = decode_channels_bytes(&bytes, "padded.webm").expect("decode");
        assert_eq!(d.frames_decoded, frames, "padding {value:02x?}");
        assert_eq!(d.channels[0].len() as u64, frames, "padding {value:02x?}");
    }
}

/// A WebM whose Opus header is damaged (mapping family 1 without its table) fails with one line
/// naming the file and what is wrong with the header.
#[test]
fn a_damaged_opus_header_is_an_error_saying_what_is_wrong() {
    let mut bytes = std::fs::read(fixture("tone_opus.webm")).expect("read");
    let head = bytes.windows(8).position(|w| w == b"OpusHead").expect("OpusHead");
    assert_eq!(bytes[head + 18], 0, "mapping family 0");
    bytes[head + 18] = 1;
    let err = decode_channels_bytes(&bytes, "bad.webm").expect_err("a header cut short").to_string();
    assert!(err.starts_with("bad.webm: ") && err.contains("the Opus header is cut short"), "{err}");
    assert!(!err.contains('\n'), "{err}");
}

/// A 5.1 Opus stream (mapping family 1, Vorbis channel order inside) comes out as six
/// channels in the WAV order every other decode gives (L R C LFE Ls Rs), each with its tone.
#[test]
fn opus_surround_keeps_its_six_channels_in_order() {
    let d = decode_channels(&fixture("tone51.opus")).expect("tone51.opus");
    assert_eq!((d.sample_rate_hz, d.channels.len(), d.frames_decoded), (48_000, 6, 9_600));
    let expected = [(300.0, 0.5), (500.0, 0.4), (700.0, 0.3), (90.0, 0.2), (1100.0, 0.25), (1300.0, 0.15)];
    for (c, (channel, (hz, level))) in d.channels.iter().zip(expected).enumerate() {
        let x = &channel[960..];
        let rising = x.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
        let measured = rising as f64 * 48_000.0 / x.len() as f64;
        assert!((measured - hz).abs() < 0.05 * hz + 6.0, "channel {c}: {measured:.0} Hz, expected {hz}");
        let peak = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!((f64::from(peak) - level).abs() < 0.03, "channel {c}: peak {peak}, expected {level}");
    }
}

/// MP2 (broadcast and DVD audio) decodes with its synthesis filter's 481-frame delay kept, as
/// ffmpeg's decoder does (the format records no priming to drop): shifted by it, the error is
/// more than 30 dB under the tones at 192 kb/s.
#[test]
fn mp2_agrees_with_the_wav_after_its_decoder_delay() {
    let wav = original();
    let d = decode_channels(&fixture("tone.mp2")).expect("tone.mp2");
    assert_eq!((d.sample_rate_hz, d.channels.len(), d.codec.as_str()), (44_100, 2, "mp2"));
    for (c, (ours, reference)) in d.channels.iter().zip(&wav.channels).enumerate() {
        let (ours, reference) = (&ours[481 + 1_152..], &reference[1_152..]);
        let error = rms(ours.iter().zip(reference).map(|(a, b)| a - b));
        let db = 20.0 * (error / rms(reference.iter().copied())).log10();
        assert!(db < -30.0, "channel {c}: error {db:.1} dB");
    }
}

#[test]
fn mono_decode_is_the_mean_of_the_channels() {
    for name in ["tone.wav", "tone.aiff", "tone.m4a", "tone.opus", "tone_alac.m4a"] {
        let channels = decode_channels(&fixture(name)).expect("channels");
        let mono = decode_path(&fixture(name)).expect("mono");
        assert_eq!(channels.mono(), mono.samples_mono, "{name}");
        assert_eq!(mono.channels, 2);
    }
}

#[test]
fn new_containers_resample_through_the_one_decode_api() {
    for (name, from, to) in
        [("tone.m4a", 44_100, 48_000), ("tone.opus", 48_000, 44_100), ("tone_alac.m4a", 44_100, 48_000)]
    {
        let pcm = load_pcm(&fixture(name), to, PcmLayout::Both).expect("pcm");
        let channels = pcm.channels.as_ref().expect("channels");
        assert_eq!(channels.len(), 2, "{name}");
        assert_eq!(pcm.source.sample_rate_hz, from, "{name}");
        let expected = (pcm.source.frames_decoded * u64::from(to)).div_ceil(u64::from(from)) as usize;
        assert_eq!(pcm.mono.as_ref().map(Vec::len), Some(expected), "{name}");
    }
}

/// Every truncation and a few corruptions of each fixture: never a panic; an error is one line
/// naming the file.
#[test]
fn damaged_copies_fail_with_one_line_naming_the_file() {
    for name in [
        "tone.aiff",
        "tone.aifc",
        "tone.m4a",
        "tone.mp4",
        "tone_alac.m4a",
        "tone.mka",
        "tone.mp2",
        "tone.opus",
        "tone_opus.webm",
        "tone_opus.mp4",
        "tone51.opus",
        "tone.au",
        "tone.w64",
        "tone.caf",
        "tone_f32.caf",
        "tone_alac.caf",
    ] {
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
