//! What audio files ntsbuild reads, and the names of common ones it does not, recognised by
//! their first bytes so that a refused file is named for what it is.

/// The containers and codecs the decoder reads, as error messages list them.
pub const READ_FORMATS: &str = "WAV (RIFF, RIFX, RF64/BW64), Wave64, AIFF/AIFC, AU, CAF with PCM, FLAC, MP3, MP2, \
     Ogg Vorbis, Opus (Ogg, WebM, MP4), AAC (ADTS, MP4/M4A) and ALAC (MP4/M4A), and these codecs in Matroska/WebM";

/// The file extensions (compared without case) a source glob matches: audio that is read, and
/// audio that is not (so such a file is named by its error rather than left out). Text, images,
/// MIDI and the analysis files audio software leaves beside samples (`.asd`, `.reapeaks`) are
/// not audio.
pub const AUDIO_EXTENSIONS: [&str; 45] = [
    "wav", "wave", "bwf", "rf64", "w64", "aif", "aiff", "aifc", "au", "snd", "caf", "flac", "mp3", "mp2", "mp1",
    "mpga", "ogg", "oga", "opus", "spx", "m4a", "m4b", "mp4", "mov", "3gp", "aac", "adts", "mka", "mkv", "webm", "wv",
    "ape", "tta", "wma", "asf", "ac3", "eac3", "dts", "amr", "dsf", "dff", "mpc", "ofr", "shn", "voc",
];

/// Whether `path` is named like an audio file (its extension is one of [`AUDIO_EXTENSIONS`]).
pub fn named_like_audio(path: &std::path::Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.iter().any(|a| a.eq_ignore_ascii_case(e)))
}

/// Bytes of a file's start [`not_read`] looks at.
pub const SNIFF_BYTES: usize = 64;

/// The name of a well-known audio (or audio-adjacent) format that `prefix`, the first bytes of
/// a file, starts like, among those the decoder does not read; `None` for anything else.
///
/// Only unambiguous signatures count: a file that also starts like a format that is read is
/// never named here.
pub fn not_read(prefix: &[u8]) -> Option<&'static str> {
    const ASF: [u8; 16] =
        [0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11, 0xA6, 0xD9, 0x00, 0xAA, 0x00, 0x62, 0xCE, 0x6C];
    let starts = |magic: &[u8]| prefix.starts_with(magic);
    let riff_form = |form: &[u8; 4]| prefix.len() >= 12 && &prefix[..4] == b"RIFF" && &prefix[8..12] == form;
    Some(match prefix {
        _ if starts(b"wvpk") => "WavPack",
        _ if starts(b"MAC ") => "Monkey's Audio (APE)",
        _ if starts(b"TTA1") => "TTA (True Audio)",
        _ if starts(b"OFR ") => "OptimFROG",
        _ if starts(b"ajkg") => "Shorten",
        _ if starts(b"MPCK") || starts(b"MP+") => "Musepack",
        _ if starts(&ASF) => "WMA/ASF",
        _ if starts(&[0x0B, 0x77]) => "AC-3 / E-AC-3",
        _ if starts(&[0x7F, 0xFE, 0x80, 0x01]) || starts(&[0xFE, 0x7F, 0x01, 0x80]) => "DTS",
        _ if starts(b"#!AMR") => "AMR",
        _ if starts(b"DSD ") => "DSD (DSF)",
        _ if starts(b"FRM8") => "DSD (DSDIFF)",
        _ if starts(b".ra\xfd") || starts(b".RMF") => "RealAudio",
        _ if starts(b"Creative Voice File") => "Creative Voice (VOC)",
        _ if starts(b"MThd") => "MIDI (notes, not audio)",
        _ if starts(b"FLV") => "Flash video (FLV)",
        _ if riff_form(b"AVI ") => "AVI",
        _ if riff_form(b"RMID") => "MIDI (notes, not audio)",
        _ => return None,
    })
}

/// The name of a well-known audio codec the decoder has no decoder for, found inside a
/// container that is read (AC-3 in Matroska, DTS in MP4, …); `None` for any other id.
pub fn codec_not_read(id: symphonia::core::codecs::audio::AudioCodecId) -> Option<&'static str> {
    use symphonia::core::codecs::audio::well_known::*;
    let names = [
        (CODEC_ID_AC3, "AC-3"),
        (CODEC_ID_EAC3, "E-AC-3"),
        (CODEC_ID_AC4, "AC-4"),
        (CODEC_ID_DCA, "DTS"),
        (CODEC_ID_TRUEHD, "Dolby TrueHD"),
        (CODEC_ID_WMA, "WMA"),
        (CODEC_ID_WAVPACK, "WavPack"),
        (CODEC_ID_MONKEYS_AUDIO, "Monkey's Audio (APE)"),
        (CODEC_ID_TTA, "TTA (True Audio)"),
        (CODEC_ID_MUSEPACK, "Musepack"),
        (CODEC_ID_SPEEX, "Speex"),
        (CODEC_ID_MP1, "MPEG-1 Layer I"),
        (CODEC_ID_ATRAC1, "ATRAC"),
        (CODEC_ID_ATRAC3, "ATRAC3"),
        (CODEC_ID_ATRAC3PLUS, "ATRAC3+"),
        (CODEC_ID_ATRAC9, "ATRAC9"),
        (CODEC_ID_COOK, "RealAudio (Cook)"),
        (CODEC_ID_RALF, "RealAudio Lossless"),
        (CODEC_ID_SBC, "SBC"),
        (CODEC_ID_APTX, "aptX"),
        (CODEC_ID_APTX_HD, "aptX HD"),
        (CODEC_ID_LDAC, "LDAC"),
        (CODEC_ID_ADPCM_G722, "G.722 ADPCM"),
        (CODEC_ID_ADPCM_G726, "G.726 ADPCM"),
        (CODEC_ID_ADPCM_G726LE, "G.726 ADPCM"),
    ];
    names.iter().find(|(known, _)| *known == id).map(|&(_, name)| name)
}

/// What to do with a file of format `what` (as [`not_read`] names it) called `name`: turn a
/// MIDI file into audio with a synthesizer, convert anything else, e.g. with ffmpeg, to FLAC.
pub fn advice(name: &str, what: &str) -> String {
    if what.starts_with("MIDI") {
        return "render it to audio with a synthesizer first (e.g. FluidSynth)".to_string();
    }
    let flac = std::path::Path::new(name).with_extension("flac");
    format!("convert it first, e.g. `ffmpeg -i {name} {}`", flac.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_that_are_read_are_never_named() {
        for prefix in [
            &b"RIFF\x24\x00\x00\x00WAVEfmt "[..],
            b"fLaC\x00\x00\x00\x22",
            b"OggS\x00\x02",
            b"ID3\x04\x00",
            &[0xFF, 0xFB, 0x90, 0x64],
            &[0xFF, 0xF1, 0x50, 0x80],
            b"\x00\x00\x00\x20ftypM4A ",
            &[0x1A, 0x45, 0xDF, 0xA3],
            b"FORM\x00\x00\x00\x00AIFF",
            b".snd\x00\x00\x00\x18",
            b"caff\x00\x01\x00\x00",
            b"",
        ] {
            assert_eq!(not_read(prefix), None, "{prefix:?}");
        }
    }

    #[test]
    fn codecs_without_a_decoder_are_named_and_decoded_ones_are_not() {
        use symphonia::core::codecs::audio::well_known::{CODEC_ID_AAC, CODEC_ID_AC3, CODEC_ID_FLAC, CODEC_ID_OPUS};
        assert_eq!(codec_not_read(CODEC_ID_AC3), Some("AC-3"));
        for read in [CODEC_ID_AAC, CODEC_ID_FLAC, CODEC_ID_OPUS] {
            assert_eq!(codec_not_read(read), None);
        }
    }

    #[test]
    fn audio_is_told_from_what_lies_beside_it_by_its_name() {
        use std::path::Path;
        for audio in ["a/kick.wav", "a/Take 1.AIFF", "a/x.flac", "a/loop.wv", "b/film.MKV"] {
            assert!(named_like_audio(Path::new(audio)), "{audio}");
        }
        for other in
            ["a/License.txt", "a/kick.wav.asd", "a/kick.wav.reapeaks", "a/cover.jpg", "a/melody.mid", "a/README"]
        {
            assert!(!named_like_audio(Path::new(other)), "{other}");
        }
    }

    #[test]
    fn midi_is_rendered_and_the_rest_converted_beside_the_file() {
        assert_eq!(advice("a/x.wv", "WavPack"), "convert it first, e.g. `ffmpeg -i a/x.wv a/x.flac`");
        assert!(advice("a/x.mid", "MIDI (notes, not audio)").contains("synthesizer"));
    }

    #[test]
    fn common_formats_that_are_not_read_are_named() {
        assert_eq!(not_read(b"wvpk\x10\x00\x00\x00"), Some("WavPack"));
        assert_eq!(not_read(&[0x0B, 0x77, 0x12]), Some("AC-3 / E-AC-3"));
        assert_eq!(not_read(b"RIFF\x00\x00\x00\x00AVI LIST"), Some("AVI"));
        assert_eq!(not_read(b"MThd\x00\x00\x00\x06"), Some("MIDI (notes, not audio)"));
    }
}
