//! Decoding audio files (WAV, AIFF/AIFC, FLAC, MP3, MP2, Ogg Vorbis, Opus, AAC and ALAC in
//! MP4/M4A, Matroska/WebM, …) to f32 with symphonia (Opus through `media::opus_decode`), channel
//! by channel or as a mono mixdown.
//!
//! Decoding streams packet by packet: the multichannel data of one packet is all that is ever
//! held. [`decode_frames_path`] hands each packet's channels to a [`FrameSink`];
//! [`decode_stream_path`] hands their mean to a [`MonoSink`] (downmixed in f32, channel by
//! channel then divided, exactly as `librosa.to_mono` does), so a caller (resampler, feature
//! accumulator) never needs the whole signal in memory. [`decode_channels`] collects every
//! channel, [`decode_path`] the mixdown. Bad input is a typed
//! [`DecodeError`] naming the file; audio that stops early decodes what is there and says so in
//! `warnings`. WAVs that symphonia refuses before any audio (RIFX, RF64, odd bit widths,
//! inconsistent RIFF sizes) are retried with [`crate::media::wav_lenient`].

use std::fs::File;
use std::io::{BufReader, Cursor, ErrorKind, Read, Seek};
use std::path::Path;

use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;

use crate::media::formats::{self, READ_FORMATS, SNIFF_BYTES, not_read};
use crate::media::mkv_padding::{discard_padding_ns, frames_of_ns};
use crate::media::mp4_edit::{EditTrim, audio_trim};
use crate::media::packet_decode::{Item, Outcome, Pipeline, Take, Threads};
#[cfg(unix)]
use crate::media::wav_lenient::IntWav;
use crate::media::wav_lenient::{
    CONTAINER_PREFIX, declared_pcm_length, decode_lenient_wav, decode_pcm_container, decode_standard_wav,
    fmt_is_plausible, looks_like_wav, pcm_container,
};

/// Consecutive packets that may fail to decode before the file is declared corrupt.
const MAX_CONSECUTIVE_BAD_PACKETS: usize = 64;
/// Consecutive packets that may yield no audio before the decoder is declared stalled.
const MAX_IDLE_PACKETS: usize = 100_000;
/// Upper bound on decoded frames (≈ 400 h at 48 kHz): a guard against runaway streams.
const MAX_FRAMES: u64 = 1 << 36;
/// Largest up-front reservation for a collected signal, over all its planes, in samples (1 GiB
/// of f32).
pub(crate) const MAX_RESERVE_SAMPLES: u64 = 1 << 28;

/// What went wrong decoding one file. Every message names the file and fits on one line.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The file could not be opened or read.
    #[error("{name}: cannot read: {source}")]
    Io {
        /// File name.
        name: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file has no bytes at all.
    #[error("{name}: file is empty (0 bytes)")]
    EmptyFile {
        /// File name.
        name: String,
    },
    /// No reader recognised the container.
    #[error("{name}: not a recognised audio format ({detail})")]
    UnknownFormat {
        /// File name.
        name: String,
        /// symphonia's message.
        detail: String,
    },
    /// A well-known format the decoder does not read (named from the file's first bytes).
    #[error(
        "{name}: {what} is not a format ntsbuild reads; {} (ntsbuild reads {})",
        formats::advice(name, what),
        READ_FORMATS
    )]
    NotRead {
        /// File name.
        name: String,
        /// What the file is, e.g. "WavPack".
        what: String,
    },
    /// The container has no audio track.
    #[error("{name}: no audio track")]
    NoAudioTrack {
        /// File name.
        name: String,
    },
    /// The audio codec or one of its features is not supported.
    #[error("{name}: unsupported audio encoding ({detail})")]
    UnsupportedCodec {
        /// File name.
        name: String,
        /// symphonia's message.
        detail: String,
    },
    /// The data is damaged before any audio could be decoded, or damaged throughout.
    #[error("{name}: corrupt or malformed audio ({detail})")]
    Malformed {
        /// File name.
        name: String,
        /// What failed.
        detail: String,
    },
    /// The file ends before its first audio frame.
    #[error("{name}: truncated: the file ends before any audio ({detail})")]
    Truncated {
        /// File name.
        name: String,
        /// What was being read.
        detail: String,
    },
    /// The stream is valid but holds zero audio frames.
    #[error("{name}: contains no audio (0 frames)")]
    NoSamples {
        /// File name.
        name: String,
    },
    /// A sample is NaN, infinite, or beyond [`MAX_SAMPLE_MAGNITUDE`] (no audio: garbage that
    /// would overflow once mixed or squared).
    #[error("{name}: invalid sample (NaN, infinity or beyond ±1e6, i.e. 120 dB over full scale) at frame {frame}")]
    NonFiniteSample {
        /// File name.
        name: String,
        /// Frame index of the first bad sample.
        frame: u64,
    },
    /// The stream declares an impossible layout (zero rate or channels, or one that changes).
    #[error("{name}: invalid stream layout ({detail})")]
    InvalidLayout {
        /// File name.
        name: String,
        /// What is wrong.
        detail: String,
    },
    /// The decoder kept returning packets without audio, or far too much audio.
    #[error("{name}: decoder made no progress ({detail})")]
    Stalled {
        /// File name.
        name: String,
        /// What was observed.
        detail: String,
    },
    /// The consumer of the decoded audio failed.
    #[error("{name}: {source}")]
    Sink {
        /// File name.
        name: String,
        /// The consumer's error.
        source: SinkError,
    },
}

/// An error reported by a [`MonoSink`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SinkError(pub String);

/// Layout of a stream, given to a [`MonoSink`] before the first samples.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamFormat {
    /// Sample rate in Hz.
    pub sample_rate_hz: u32,
    /// Channels in the file (the sink receives their mean).
    pub channels: u16,
    /// Frames the container declares, if it does.
    pub declared_frames: Option<u64>,
    /// Codec short name (e.g. `vorbis`, `pcm_s16le`, `flac`).
    pub codec: String,
}

/// Receives decoded mono audio in order.
pub trait MonoSink {
    /// Called once, before the first `push`.
    fn start(&mut self, format: &StreamFormat) -> Result<(), SinkError>;
    /// Called with each decoded chunk of mono samples (finite values only).
    fn push(&mut self, mono: &[f32]) -> Result<(), SinkError>;
}

/// Receives decoded audio channel by channel, in order.
pub trait FrameSink {
    /// Called once, before the first `push`.
    fn start(&mut self, format: &StreamFormat) -> Result<(), SinkError>;
    /// Called with each decoded chunk: `planes[c]` holds channel `c`'s samples (finite values
    /// only); every plane has the same length and there are `format.channels` planes.
    fn push(&mut self, planes: &[&[f32]]) -> Result<(), SinkError>;
}

/// A [`FrameSink`] that hands the channel mean of every chunk to a [`MonoSink`].
pub struct Downmix<'a> {
    inner: &'a mut dyn MonoSink,
    mono: Vec<f32>,
}

impl<'a> Downmix<'a> {
    /// Wraps `inner`.
    pub fn new(inner: &'a mut dyn MonoSink) -> Self {
        Self { inner, mono: Vec::new() }
    }
}

impl FrameSink for Downmix<'_> {
    fn start(&mut self, format: &StreamFormat) -> Result<(), SinkError> {
        self.inner.start(format)
    }

    fn push(&mut self, planes: &[&[f32]]) -> Result<(), SinkError> {
        downmix(planes, &mut self.mono);
        self.inner.push(&self.mono)
    }
}

/// Summary of a streamed decode.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodeInfo {
    /// Sample rate in Hz.
    pub sample_rate_hz: u32,
    /// Channels in the file.
    pub channels: u16,
    /// Frames (per channel) decoded and delivered.
    pub frames_decoded: u64,
    /// Codec short name.
    pub codec: String,
    /// Non-fatal problems (truncation, skipped packets), one line each.
    pub warnings: Vec<String>,
}

/// A whole file decoded to mono.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedAudio {
    /// Channel-mean samples.
    pub samples_mono: Vec<f32>,
    /// Sample rate in Hz.
    pub sample_rate_hz: u32,
    /// Channels in the file.
    pub channels: u16,
    /// Frames decoded (`samples_mono.len()`).
    pub frames_decoded: u64,
    /// Non-fatal problems, one line each.
    pub warnings: Vec<String>,
}

/// A whole file decoded with its channels kept.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    /// One vector per channel, all of one length, in the file's channel order.
    pub channels: Vec<Vec<f32>>,
    /// Sample rate in Hz.
    pub sample_rate_hz: u32,
    /// Frames decoded (the length of every channel).
    pub frames_decoded: u64,
    /// Codec short name (e.g. `vorbis`, `pcm_s16le`, `aac`).
    pub codec: String,
    /// Non-fatal problems, one line each.
    pub warnings: Vec<String>,
}

impl Decoded {
    /// The channel mean, bit for bit what [`decode_path`] returns for the same file.
    pub fn mono(&self) -> Vec<f32> {
        let planes: Vec<&[f32]> = self.channels.iter().map(Vec::as_slice).collect();
        let mut mono = Vec::new();
        downmix(&planes, &mut mono);
        mono
    }
}

/// Decodes a file from disk keeping every channel.
pub fn decode_channels(path: &Path) -> Result<Decoded, DecodeError> {
    let mut sink = CollectChannels::default();
    let info = decode_frames_path(path, &mut sink)?;
    Ok(sink.into_decoded(info))
}

/// [`decode_channels`] for an in-memory file; `name` labels errors and hints the format.
pub fn decode_channels_bytes(bytes: &[u8], name: &str) -> Result<Decoded, DecodeError> {
    let mut sink = CollectChannels::default();
    let info = decode_frames_bytes(bytes, name, &mut sink)?;
    Ok(sink.into_decoded(info))
}

/// Decodes an in-memory file; `name` (a path or label) appears in errors and picks the
/// format hint by its extension.
pub fn decode_bytes(bytes: &[u8], name: &str) -> Result<DecodedAudio, DecodeError> {
    let mut sink = CollectSink::default();
    let info = decode_stream_bytes(bytes, name, &mut sink)?;
    Ok(sink.into_decoded(info))
}

/// Decodes a file from disk, reading it in a streaming fashion.
pub fn decode_path(path: &Path) -> Result<DecodedAudio, DecodeError> {
    let mut sink = CollectSink::default();
    let info = decode_stream_path(path, &mut sink)?;
    Ok(sink.into_decoded(info))
}

/// Streams an in-memory file's mono audio into `sink`.
pub fn decode_stream_bytes(bytes: &[u8], name: &str, sink: &mut dyn MonoSink) -> Result<DecodeInfo, DecodeError> {
    decode_frames_bytes(bytes, name, &mut Downmix::new(sink))
}

/// Streams a file's mono audio into `sink`, reading the file incrementally.
pub fn decode_stream_path(path: &Path, sink: &mut dyn MonoSink) -> Result<DecodeInfo, DecodeError> {
    decode_frames_path(path, &mut Downmix::new(sink))
}

/// Streams an in-memory file's channels into `sink`.
pub fn decode_frames_bytes(bytes: &[u8], name: &str, sink: &mut dyn FrameSink) -> Result<DecodeInfo, DecodeError> {
    decode_frames_bytes_with(bytes, name, sink, Threads::for_pool())
}

/// [`decode_frames_bytes`] with packets decoded as `threads` says (the same audio either way).
pub(crate) fn decode_frames_bytes_with(
    bytes: &[u8],
    name: &str,
    sink: &mut dyn FrameSink,
    threads: Threads,
) -> Result<DecodeInfo, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::EmptyFile { name: name.to_string() });
    }
    if let Some(kind) = pcm_container(bytes) {
        return decode_pcm_container(&mut Cursor::new(bytes), bytes.len() as u64, kind, name, sink);
    }
    if !fmt_is_plausible(&bytes[..bytes.len().min(HEADER_PREFIX)]) {
        return implausible_header(looks_like_wav(bytes), name, || {
            decode_lenient_wav(&mut Cursor::new(bytes), name, sink)
        });
    }
    let mut tracked = TrackStart { inner: sink, started: false };
    let reopen = || Some(Box::new(Cursor::new(bytes)) as Box<dyn ReadSeek + '_>);
    let decoded = decode_source(Box::new(Cursor::new(bytes)), extension_of(name), name, &reopen, &mut tracked, threads);
    match decoded {
        Err(e) if !tracked.started && looks_like_wav(bytes) => {
            with_fallback(e, decode_lenient_wav(&mut Cursor::new(bytes), name, sink), bytes)
        }
        Err(e) if !tracked.started => Err(named_if_known(e, bytes)),
        other => other,
    }
}

/// `path` as an integer standard WAV read by position ([`IntWav`]) when [`decode_frames_path`]
/// would read it with the standard WAV reader, so both give the same samples and report.
#[cfg(unix)]
pub(crate) fn open_int_wav(path: &Path) -> Option<IntWav> {
    let name = path.display().to_string();
    let non_empty = std::fs::metadata(path).is_ok_and(|m| m.len() > 0);
    (non_empty && file_fmt_is_plausible(path)).then(|| IntWav::open(path, &name)).flatten()
}

/// Streams a file's channels into `sink`, reading the file incrementally. Packets are decoded
/// on as many threads as the current rayon pool has (`-j`), with the audio of one decoder
/// taking them in order (see `media::packet_decode`).
pub fn decode_frames_path(path: &Path, sink: &mut dyn FrameSink) -> Result<DecodeInfo, DecodeError> {
    decode_frames_path_with(path, sink, Threads::for_pool())
}

/// [`decode_frames_path`] with packets decoded as `threads` says (the same audio either way).
pub(crate) fn decode_frames_path_with(
    path: &Path,
    sink: &mut dyn FrameSink,
    threads: Threads,
) -> Result<DecodeInfo, DecodeError> {
    let name = path.display().to_string();
    let io = |source| DecodeError::Io { name: name.clone(), source };
    let file = File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len == 0 {
        return Err(DecodeError::EmptyFile { name });
    }
    let prefix = file_prefix(path);
    if let Some(kind) = pcm_container(&prefix) {
        let mut reader = BufReader::with_capacity(1 << 16, file);
        return decode_pcm_container(&mut reader, len, kind, &name, sink);
    }
    if !fmt_is_plausible(&prefix) {
        let mut reader = BufReader::with_capacity(1 << 16, File::open(path).map_err(io)?);
        return implausible_header(looks_like_wav(&prefix), &name, || decode_lenient_wav(&mut reader, &name, sink));
    }
    // A standard WAV is read directly (`None` for anything else, RIFF header included).
    if let Some(result) = decode_standard_wav(path, &name, sink) {
        return result;
    }
    let mut tracked = TrackStart { inner: sink, started: false };
    let reopen = || File::open(path).ok().map(|f| Box::new(BufReader::new(f)) as Box<dyn ReadSeek>);
    match decode_source(Box::new(file), extension_of(&name), &name, &reopen, &mut tracked, threads) {
        Err(e) if !tracked.started && looks_like_wav(&prefix) => {
            let file = File::open(path).map_err(io)?;
            let mut reader = BufReader::with_capacity(1 << 16, file);
            with_fallback(e, decode_lenient_wav(&mut reader, &name, sink), &prefix)
        }
        Err(e) if !tracked.started => Err(named_if_known(e, &prefix)),
        other => other,
    }
}

/// The length a file's header declares, as (frames per channel, sample rate), read without
/// decoding (for estimates such as `render --dry-run`). `name` gives the extension hint (a
/// store blob has none). `None` when the header does not say (a stream without a frame count)
/// or the file is not one that is read.
pub fn declared_length(path: &Path, name: &str) -> Option<(usize, u32)> {
    let prefix = file_prefix(path);
    let symphonia = || pcm_container(&prefix).is_none().then(|| symphonia_declared_length(path, name)).flatten();
    symphonia().or_else(|| {
        let file = File::open(path).ok()?;
        let len = file.metadata().ok()?.len();
        let (frames, rate) = declared_pcm_length(&mut BufReader::with_capacity(1 << 12, file), len, &prefix)?;
        Some((usize::try_from(frames).ok()?, rate))
    })
}

/// [`declared_length`] as symphonia's readers give it.
fn symphonia_declared_length(path: &Path, name: &str) -> Option<(usize, u32)> {
    let format = probe(Box::new(File::open(path).ok()?), extension_of(name).as_deref()).ok()?;
    let track = format.default_track(TrackType::Audio)?;
    let params = track.codec_params.as_ref()?.audio()?;
    let rate = params.sample_rate?;
    // An Ogg Opus track's count includes the pre-skip the decode drops.
    let opus = super::opus_decode::header(params).and_then(Result::ok);
    let skip = if format.format_info().short_name == "ogg" { opus.map_or(0, |h| h.pre_skip) } else { 0 };
    let frames = track.num_frames?.saturating_sub(u64::from(skip));
    (rate > 0).then_some((usize::try_from(frames).ok()?, rate))
}

/// Open `source` with symphonia's probe, hinted by its file extension.
fn probe<'s>(
    source: Box<dyn MediaSource + 's>,
    extension: Option<&str>,
) -> Result<Box<dyn FormatReader + 's>, SymphoniaError> {
    let mss = MediaSourceStream::new(source, Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = extension {
        hint.with_extension(ext);
    }
    symphonia::default::get_probe().probe(&hint, mss, FormatOptions::default(), MetadataOptions::default())
}

/// A WAVE or AIFF header declaring 0 or more than 64 channels or bits per sample: a WAV goes to
/// the lenient reader (which names what is wrong), an AIFF is refused here.
fn implausible_header(
    wav: bool,
    name: &str,
    lenient: impl FnOnce() -> Result<DecodeInfo, DecodeError>,
) -> Result<DecodeInfo, DecodeError> {
    if wav {
        lenient()
    } else {
        Err(DecodeError::Malformed {
            name: name.to_string(),
            detail: "the AIFF header declares no channels, more than 64, or an impossible sample size".to_string(),
        })
    }
}

/// Bytes of a file's start searched for its WAVE `fmt ` or AIFF `COMM` chunk.
const HEADER_PREFIX: usize = 4096;

// One read of a file's start serves every look at it.
const _: () = assert!(HEADER_PREFIX >= SNIFF_BYTES && HEADER_PREFIX >= CONTAINER_PREFIX);

fn file_fmt_is_plausible(path: &Path) -> bool {
    fmt_is_plausible(&file_prefix(path))
}

/// A file's first [`HEADER_PREFIX`] bytes, enough for [`fmt_is_plausible`], [`pcm_container`],
/// [`looks_like_wav`] and [`not_read`] (fewer when the file is shorter or cannot be read; no
/// bytes count as plausible).
fn file_prefix(path: &Path) -> Vec<u8> {
    let mut prefix = Vec::with_capacity(HEADER_PREFIX);
    if let Ok(f) = File::open(path) {
        let _ = f.take(HEADER_PREFIX as u64).read_to_end(&mut prefix);
    }
    prefix
}

/// Picks the result after symphonia failed on a WAV: the lenient reader's success, its own
/// specific error, or symphonia's error when the lenient reader does not handle the encoding
/// at all. A plain RIFF file symphonia refused is non-standard, and the result says so; RIFX,
/// RF64 and BW64 are standard containers symphonia does not read, and say nothing.
fn with_fallback(
    symphonia_error: DecodeError,
    lenient: Result<DecodeInfo, DecodeError>,
    prefix: &[u8],
) -> Result<DecodeInfo, DecodeError> {
    match lenient {
        Ok(mut info) => {
            if prefix.starts_with(b"RIFF") {
                info.warnings.insert(0, format!("non-standard WAV read by the fallback reader ({symphonia_error})"));
            }
            Ok(info)
        }
        Err(DecodeError::UnsupportedCodec { .. } | DecodeError::UnknownFormat { .. }) => Err(symphonia_error),
        Err(e) => Err(e),
    }
}

/// A decode that failed before any audio came out, named for the format its first bytes show
/// when that is a well-known one the decoder does not read (whatever reader tried it and how it
/// failed); otherwise the error as it is.
fn named_if_known(error: DecodeError, prefix: &[u8]) -> DecodeError {
    let name = match &error {
        DecodeError::UnknownFormat { name, .. }
        | DecodeError::UnsupportedCodec { name, .. }
        | DecodeError::Malformed { name, .. }
        | DecodeError::Truncated { name, .. }
        | DecodeError::NoAudioTrack { name } => name.clone(),
        _ => return error,
    };
    match not_read(prefix) {
        Some(what) => DecodeError::NotRead { name, what: what.to_string() },
        None => error,
    }
}

/// Records whether the wrapped sink has been started (after which no fallback is possible).
struct TrackStart<'a> {
    inner: &'a mut dyn FrameSink,
    started: bool,
}

impl FrameSink for TrackStart<'_> {
    fn start(&mut self, format: &StreamFormat) -> Result<(), SinkError> {
        self.started = true;
        self.inner.start(format)
    }

    fn push(&mut self, planes: &[&[f32]]) -> Result<(), SinkError> {
        self.inner.push(planes)
    }
}

fn extension_of(name: &str) -> Option<String> {
    Path::new(name).extension().map(|e| e.to_string_lossy().to_ascii_lowercase())
}

/// Most end padding a Matroska track's `DiscardPadding` may drop, in seconds: an Opus packet
/// holds at most 120 ms.
const MAX_END_PADDING_S: f64 = 0.125;

/// A second reader of a decoded file, for what symphonia's readers do not apply.
trait ReadSeek: Read + Seek {}

impl<T: Read + Seek> ReadSeek for T {}

/// Decodes with symphonia. `reopen` gives a second reader of the file for what symphonia's
/// readers do not apply: an MP4 track's edit list (its priming frames are dropped and its
/// padding cut) and a Matroska track's `DiscardPadding` (dropped from the end).
fn decode_source<'s, 'r>(
    source: Box<dyn MediaSource + 's>,
    extension: Option<String>,
    name: &str,
    reopen: &dyn Fn() -> Option<Box<dyn ReadSeek + 'r>>,
    sink: &mut dyn FrameSink,
    threads: Threads,
) -> Result<DecodeInfo, DecodeError> {
    let name_s = || name.to_string();
    let mut format = probe(source, extension.as_deref()).map_err(|e| match e {
        SymphoniaError::IoError(io) if io.kind() == ErrorKind::UnexpectedEof => {
            DecodeError::Truncated { name: name_s(), detail: "while reading the header".to_string() }
        }
        SymphoniaError::IoError(source) => DecodeError::Io { name: name_s(), source },
        SymphoniaError::DecodeError(msg) => DecodeError::Malformed { name: name_s(), detail: msg.to_string() },
        _ => DecodeError::UnknownFormat { name: name_s(), detail: format!("ntsbuild reads {READ_FORMATS}") },
    })?;

    let track = format.default_track(TrackType::Audio).ok_or_else(|| DecodeError::NoAudioTrack { name: name_s() })?;
    let track_id = track.id;
    let mut declared_frames = track.num_frames;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| DecodeError::NoAudioTrack { name: name_s() })?
        .clone();
    let opus = super::opus_decode::header(&params)
        .transpose()
        .map_err(|detail| DecodeError::Malformed { name: name_s(), detail })?;
    let decoder =
        super::opus_decode::codecs().make_audio_decoder(&params, &AudioDecoderOptions::default()).map_err(|e| {
            match formats::codec_not_read(params.codec) {
                Some(codec) => DecodeError::NotRead { name: name_s(), what: format!("{codec} audio") },
                None => DecodeError::UnsupportedCodec { name: name_s(), detail: e.to_string() },
            }
        })?;
    let codec = decoder.codec_info().short_name.to_string();
    let container = format.format_info().short_name;
    let trim = match container {
        "isomp4" => params.sample_rate.and_then(|rate| audio_trim(&mut reopen()?, rate)),
        // Ogg and Matroska mark no trim on an Opus track's first packets: its pre-skip (the
        // header's) is dropped here, and Ogg's frame count, which includes it, shortened. Ogg
        // marks the end padding on the last packet; Matroska's is read below.
        _ => opus.map(|head| EditTrim {
            skip_frames: u64::from(head.pre_skip),
            keep_frames: declared_frames.map(|n| n.saturating_sub(u64::from(head.pre_skip))),
        }),
    };
    if let Some(EditTrim { keep_frames: Some(keep), .. }) = trim {
        declared_frames = Some(keep);
    }
    // Matroska's end padding (its block groups' `DiscardPadding`, as Opus encoders write on the
    // last packet) is held back from the end and dropped. Padding is less than a packet: more
    // than [`MAX_END_PADDING_S`] is a damaged value, not held (nor the whole stream in memory).
    let tail = match (container, params.sample_rate) {
        ("matroska", Some(rate)) => reopen()
            .and_then(|mut r| discard_padding_ns(&mut r, u64::from(track_id)))
            .map(|ns| frames_of_ns(ns, rate))
            .filter(|&frames| frames as f64 <= MAX_END_PADDING_S * f64::from(rate))
            .unwrap_or(0),
        _ => 0,
    };
    let skip_left = trim.map_or(0, |t| t.skip_frames);
    let keep_left = trim.and_then(|t| t.keep_frames).unwrap_or(u64::MAX);
    let mut taker = Assembler {
        name,
        codec,
        declared_frames,
        sink,
        skip_left,
        keep_left,
        tail: usize::try_from(tail).unwrap_or(usize::MAX),
        held: Vec::new(),
        layout: None,
        frames_decoded: 0,
        bad_in_a_row: 0,
        bad_total: 0,
        last_bad: String::new(),
        idle: 0,
    };
    let mut warnings = Vec::new();
    let make = || super::opus_decode::codecs().make_audio_decoder(&params, &AudioDecoderOptions::default()).ok();
    std::thread::scope(|scope| {
        let mut pipeline = Pipeline::new(scope, threads.for_codec(&taker.codec), decoder, make);
        loop {
            let packet = match format.next_packet() {
                Ok(Some(packet)) => packet,
                Ok(None) => break,
                Err(SymphoniaError::ResetRequired) => {
                    pipeline.finish(&mut taker)?;
                    let frames = taker.frames_decoded;
                    warnings.push(format!("{name}: chained stream; decoded only the first one ({frames} frames)"));
                    break;
                }
                Err(e) => {
                    // What came before is decoded and taken first, as in a decode packet by packet.
                    pipeline.finish(&mut taker)?;
                    let detail = match &e {
                        SymphoniaError::IoError(io) if io.kind() == ErrorKind::UnexpectedEof => {
                            "unexpected end of file".to_string()
                        }
                        other => other.to_string(),
                    };
                    let frames = taker.frames_decoded;
                    if frames > 0 {
                        warnings.push(format!(
                            "{name}: truncated or damaged after {frames} frames ({detail}); using the audio before it"
                        ));
                        break;
                    }
                    return Err(match e {
                        SymphoniaError::IoError(io) if io.kind() == ErrorKind::UnexpectedEof => {
                            DecodeError::Truncated { name: name_s(), detail }
                        }
                        SymphoniaError::IoError(source) => DecodeError::Io { name: name_s(), source },
                        SymphoniaError::Unsupported(_) => DecodeError::UnsupportedCodec { name: name_s(), detail },
                        _ => DecodeError::Malformed { name: name_s(), detail },
                    });
                }
            };
            let item = if packet.track_id == track_id { Item::Packet(packet) } else { Item::Foreign };
            pipeline.push(item, &mut taker)?;
        }
        pipeline.finish(&mut taker)
    })?;
    taker.finish(warnings)
}

/// Takes decoded packets in order: checks the layout, cuts an MP4 edit list's priming and
/// padding, refuses non-finite samples, counts bad and empty packets, and hands the audio on.
struct Assembler<'a> {
    name: &'a str,
    codec: String,
    declared_frames: Option<u64>,
    sink: &'a mut dyn FrameSink,
    skip_left: u64,
    keep_left: u64,
    /// Frames at the end that are not part of the track (Matroska's `DiscardPadding`): the last
    /// `tail` frames taken are held back and, once the stream ends, dropped.
    tail: usize,
    /// The frames held back, per channel (at most `tail` between packets).
    held: Vec<Vec<f32>>,
    layout: Option<(u32, usize)>,
    frames_decoded: u64,
    bad_in_a_row: usize,
    bad_total: usize,
    last_bad: String,
    idle: usize,
}

impl Take for Assembler<'_> {
    type Error = DecodeError;

    fn take(&mut self, outcome: &Outcome, planes: &[Vec<f32>]) -> Result<(), DecodeError> {
        let name_s = || self.name.to_string();
        let (rate, channels, frames, at) = match outcome {
            Outcome::Foreign => return self.idle_packet(),
            Outcome::Bad(msg) => {
                self.bad_in_a_row += 1;
                self.bad_total += 1;
                self.last_bad.clone_from(msg);
                if self.bad_in_a_row > MAX_CONSECUTIVE_BAD_PACKETS {
                    return Err(DecodeError::Malformed {
                        name: name_s(),
                        detail: format!("{} packets in a row failed to decode: {msg}", self.bad_in_a_row),
                    });
                }
                return Ok(());
            }
            Outcome::Fatal(detail) => {
                return Err(DecodeError::UnsupportedCodec { name: name_s(), detail: detail.clone() });
            }
            &Outcome::Audio { rate, channels, frames, at } => (rate, channels, frames, at),
        };
        self.bad_in_a_row = 0;
        if frames == 0 {
            return self.idle_packet();
        }
        self.idle = 0;

        match self.layout {
            None => {
                if rate == 0 || channels == 0 || channels > usize::from(u16::MAX) {
                    return Err(DecodeError::InvalidLayout {
                        name: name_s(),
                        detail: format!("{rate} Hz, {channels} channels"),
                    });
                }
                self.layout = Some((rate, channels));
                let format = StreamFormat {
                    sample_rate_hz: rate,
                    channels: channels as u16,
                    declared_frames: self.declared_frames,
                    codec: self.codec.clone(),
                };
                self.sink.start(&format).map_err(|source| DecodeError::Sink { name: name_s(), source })?;
            }
            Some((r, c)) if r != rate || c != channels => {
                return Err(DecodeError::InvalidLayout {
                    name: name_s(),
                    detail: format!(
                        "changes from {r} Hz × {c} channels to {rate} Hz × {channels} channels at frame {}",
                        self.frames_decoded
                    ),
                });
            }
            Some(_) => {}
        }

        // The edit list's priming and padding (MP4 only) are not part of the track.
        let skip = self.skip_left.min(frames as u64) as usize;
        self.skip_left -= skip as u64;
        let take = self.keep_left.min((frames - skip) as u64) as usize;
        self.keep_left -= take as u64;
        if take == 0 {
            return Ok(());
        }
        let start = at + skip;
        let views: Vec<&[f32]> = planes[..channels].iter().map(|p| &p[start..start + take]).collect();
        if let Some(i) = first_non_finite(&views) {
            return Err(DecodeError::NonFiniteSample { name: name_s(), frame: self.frames_decoded + i as u64 });
        }
        if self.tail == 0 {
            self.sink.push(&views).map_err(|source| DecodeError::Sink { name: name_s(), source })?;
        } else {
            self.held.resize_with(channels, Vec::new);
            for (held, view) in self.held.iter_mut().zip(&views) {
                held.extend_from_slice(view);
            }
            let ready = self.held[0].len().saturating_sub(self.tail);
            if ready > 0 {
                let out: Vec<&[f32]> = self.held.iter().map(|h| &h[..ready]).collect();
                self.sink.push(&out).map_err(|source| DecodeError::Sink { name: name_s(), source })?;
                self.held.iter_mut().for_each(|h| drop(h.drain(..ready)));
            }
        }
        // Frames taken, held ones included (they are dropped at the end).
        self.frames_decoded += take as u64;
        if self.frames_decoded > MAX_FRAMES {
            return Err(DecodeError::Stalled {
                name: name_s(),
                detail: format!("more than {MAX_FRAMES} frames decoded"),
            });
        }
        Ok(())
    }
}

impl Assembler<'_> {
    /// A packet of another track, or one without audio.
    fn idle_packet(&mut self) -> Result<(), DecodeError> {
        self.idle += 1;
        if self.idle > MAX_IDLE_PACKETS { Err(stalled(self.name, self.idle)) } else { Ok(()) }
    }

    /// The summary once every packet was taken.
    fn finish(self, mut warnings: Vec<String>) -> Result<DecodeInfo, DecodeError> {
        let name = self.name;
        let name_s = || name.to_string();
        let Some((sample_rate_hz, channels)) = self.layout else {
            return Err(if self.bad_total > 0 {
                DecodeError::Malformed {
                    name: name_s(),
                    detail: format!("no packet could be decoded ({} failed; last: {})", self.bad_total, self.last_bad),
                }
            } else {
                DecodeError::NoSamples { name: name_s() }
            });
        };
        // The frames held back are the end padding: dropped.
        let frames_decoded = self.frames_decoded - self.held.first().map_or(0, |h| h.len() as u64);
        if frames_decoded == 0 {
            return Err(DecodeError::NoSamples { name: name_s() });
        }
        if self.bad_total > 0 {
            warnings
                .push(format!("{name}: skipped {} undecodable packet(s) (last: {})", self.bad_total, self.last_bad));
        }
        if let Some(declared) = self.declared_frames
            && frames_decoded < declared
            && !warnings.iter().any(|w| w.contains("truncated"))
        {
            warnings.push(format!("{name}: truncated: decoded {frames_decoded} of {declared} declared frames"));
        }
        Ok(DecodeInfo { sample_rate_hz, channels: channels as u16, frames_decoded, codec: self.codec, warnings })
    }
}

fn stalled(name: &str, packets: usize) -> DecodeError {
    DecodeError::Stalled { name: name.to_string(), detail: format!("{packets} packets in a row without audio") }
}

/// Largest sample magnitude accepted (float formats can hold anything up to 3.4e38; audio stays
/// near ±1, and sums of squares of larger values overflow f32).
pub const MAX_SAMPLE_MAGNITUDE: f32 = 1e6;

/// The first frame at which any channel holds NaN, infinity or a value beyond
/// [`MAX_SAMPLE_MAGNITUDE`].
pub(crate) fn first_non_finite(planes: &[&[f32]]) -> Option<usize> {
    planes.iter().filter_map(|p| p.iter().position(|s| !s.is_finite() || s.abs() > MAX_SAMPLE_MAGNITUDE)).min()
}

/// Channel mean in f32: summed channel by channel, then divided by the count (numpy's order).
pub(crate) fn downmix(planes: &[&[f32]], mono: &mut Vec<f32>) {
    mono.clear();
    match planes {
        [] => {}
        [only] => mono.extend_from_slice(only),
        [first, rest @ ..] => {
            mono.extend_from_slice(first);
            for plane in rest {
                for (m, &s) in mono.iter_mut().zip(plane.iter()) {
                    *m += s;
                }
            }
            let count = planes.len() as f32;
            mono.iter_mut().for_each(|m| *m /= count);
        }
    }
}

/// Collects the whole mono signal (reserving the declared length up front).
#[derive(Default)]
struct CollectSink {
    samples: Vec<f32>,
}

impl CollectSink {
    fn into_decoded(self, info: DecodeInfo) -> DecodedAudio {
        DecodedAudio {
            samples_mono: self.samples,
            sample_rate_hz: info.sample_rate_hz,
            channels: info.channels,
            frames_decoded: info.frames_decoded,
            warnings: info.warnings,
        }
    }
}

impl MonoSink for CollectSink {
    fn start(&mut self, format: &StreamFormat) -> Result<(), SinkError> {
        if let Some(n) = format.declared_frames {
            self.samples.reserve_exact(n.min(MAX_RESERVE_SAMPLES) as usize);
        }
        Ok(())
    }

    fn push(&mut self, mono: &[f32]) -> Result<(), SinkError> {
        self.samples.extend_from_slice(mono);
        Ok(())
    }
}

/// Collects every channel (reserving the declared length up front).
#[derive(Default)]
struct CollectChannels {
    channels: Vec<Vec<f32>>,
}

impl CollectChannels {
    fn into_decoded(self, info: DecodeInfo) -> Decoded {
        Decoded {
            channels: self.channels,
            sample_rate_hz: info.sample_rate_hz,
            frames_decoded: info.frames_decoded,
            codec: info.codec,
            warnings: info.warnings,
        }
    }
}

impl FrameSink for CollectChannels {
    fn start(&mut self, format: &StreamFormat) -> Result<(), SinkError> {
        let count = usize::from(format.channels);
        let per_channel = format.declared_frames.map_or(0, |n| n.min(MAX_RESERVE_SAMPLES / count.max(1) as u64));
        self.channels = (0..count).map(|_| Vec::with_capacity(per_channel as usize)).collect();
        Ok(())
    }

    fn push(&mut self, planes: &[&[f32]]) -> Result<(), SinkError> {
        for (channel, plane) in self.channels.iter_mut().zip(planes) {
            channel.extend_from_slice(plane);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A decode's channels (as bits) and report, or its error message.
    fn decoded_with(bytes: &[u8], name: &str, threads: Threads) -> Result<(Vec<Vec<u32>>, DecodeInfo), String> {
        let mut sink = CollectChannels::default();
        let info = decode_frames_bytes_with(bytes, name, &mut sink, threads).map_err(|e| e.to_string())?;
        Ok((sink.channels.iter().map(|c| c.iter().map(|s| s.to_bits()).collect()).collect(), info))
    }

    #[test]
    fn threaded_packet_decodes_give_the_in_order_audio_warnings_and_errors_of_damaged_files() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audio");
        let configs = [
            Threads { workers: 2, batch_items: 7, ..Threads::in_order() },
            Threads { workers: 3, batch_items: 16, batch_bytes: 3000, ..Threads::in_order() },
        ];
        for name in ["mix.mp3", "mix_low.mp3", "mix.ogg", "mix.flac", "mix.m4a"] {
            let good = std::fs::read(dir.join(name)).expect("fixture");
            let mut copies = vec![("whole".to_string(), good.clone())];
            for cut in [0.3, 0.61, 0.97] {
                copies.push((format!("cut at {cut}"), good[..(good.len() as f64 * cut) as usize].to_vec()));
            }
            for at in [0.25, 0.5, 0.8] {
                let mut bad = good.clone();
                let start = (bad.len() as f64 * at) as usize;
                bad[start..start + 300].iter_mut().enumerate().for_each(|(i, b)| *b ^= 0x5a ^ i as u8);
                copies.push((format!("damaged at {at}"), bad));
            }
            for (what, bytes) in &copies {
                let in_order = decoded_with(bytes, name, Threads::in_order());
                if what == "whole" {
                    assert!(in_order.as_ref().is_ok_and(|(_, info)| info.warnings.is_empty()), "{name}: {in_order:?}");
                }
                for threads in configs {
                    let threaded = decoded_with(bytes, name, threads);
                    assert!(threaded == in_order, "{name}, {what}, {threads:?}: other result");
                }
            }
        }
    }

    /// A canonical PCM/float WAV (format tag 1 or 3) with interleaved little-endian samples.
    fn wav(format_tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
        let block = channels * bits / 8;
        let mut b = Vec::new();
        b.extend_from_slice(b"RIFF");
        b.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
        b.extend_from_slice(b"WAVEfmt ");
        b.extend_from_slice(&16u32.to_le_bytes());
        b.extend_from_slice(&format_tag.to_le_bytes());
        b.extend_from_slice(&channels.to_le_bytes());
        b.extend_from_slice(&rate.to_le_bytes());
        b.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
        b.extend_from_slice(&block.to_le_bytes());
        b.extend_from_slice(&bits.to_le_bytes());
        b.extend_from_slice(b"data");
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(data);
        b
    }

    fn f32_wav(channels: u16, samples: &[f32]) -> Vec<u8> {
        let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        wav(3, channels, 48_000, 32, &data)
    }

    /// Standard WAVs read from a file take the direct reader; it gives what symphonia gives
    /// (the bytes path): the same samples per channel, codec name, length and no warnings.
    #[test]
    fn standard_wav_files_read_directly_as_symphonia_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = crate::dsp::rng::Rng::new(0x2545_f491);
        let mut next = move || rng.next_u64();
        let frames = 40_000;
        for (tag, bits, channels) in [(1u16, 16u16, 2u16), (1, 24, 2), (1, 32, 3), (3, 32, 2), (1, 16, 1)] {
            let bytes_per = usize::from(bits / 8);
            let mut data = Vec::new();
            for i in 0..frames * usize::from(channels) {
                let r = next().to_le_bytes();
                // Full-scale extremes first, then noise.
                let sample: Vec<u8> = match (tag, i) {
                    (3, _) => ((r[0] as f32 - 127.5) / 128.0 * f32::from_bits(next() as u32 & 0x3f7f_ffff))
                        .to_le_bytes()
                        .to_vec(),
                    (_, 0) => vec![0x80; bytes_per]
                        .into_iter()
                        .enumerate()
                        .map(|(k, b)| if k + 1 == bytes_per { b } else { 0 })
                        .collect(),
                    (_, 1) => (0..bytes_per).map(|k| if k + 1 == bytes_per { 0x7f } else { 0xff }).collect(),
                    _ => r[..bytes_per].to_vec(),
                };
                data.extend_from_slice(&sample);
            }
            let bytes = wav(tag, channels, 44_100, bits, &data);
            let path = dir.path().join(format!("t{tag}_{bits}_{channels}.wav"));
            std::fs::write(&path, &bytes).unwrap();
            let name = path.display().to_string();
            let direct = decode_channels(&path).unwrap();
            let symphonia = decode_channels_bytes(&bytes, &name).unwrap();
            assert_eq!(direct.channels, symphonia.channels, "{tag}/{bits}/{channels}");
            assert_eq!(direct.sample_rate_hz, symphonia.sample_rate_hz);
            assert_eq!(direct.codec, symphonia.codec);
            assert_eq!(direct.frames_decoded, frames as u64);
            assert_eq!(symphonia.frames_decoded, frames as u64);
            assert!(direct.warnings.is_empty() && symphonia.warnings.is_empty());
            // Only plain RIFF takes the direct path: the same file as RF64 is symphonia's to
            // refuse and the lenient reader's to read; RF64 is a standard container, so
            // without a note.
            let mut rf64 = bytes.clone();
            rf64[..4].copy_from_slice(b"RF64");
            let rf64_path = dir.path().join(format!("t{tag}_{bits}_{channels}_rf64.wav"));
            std::fs::write(&rf64_path, &rf64).unwrap();
            let lenient = decode_channels(&rf64_path).unwrap();
            assert_eq!(lenient.channels, direct.channels);
            assert!(lenient.warnings.is_empty(), "{:?}", lenient.warnings);
            assert_eq!(declared_length(&rf64_path, "t.wav"), Some((frames, 44_100)));
            // Integer ones can also be read by position: the streamed mixdown, bit for bit,
            // from any frame, with the same report. Float ones and RF64 cannot.
            #[cfg(unix)]
            {
                assert!(open_int_wav(&rf64_path).is_none());
                let Some(wav) = open_int_wav(&path) else {
                    assert_eq!(tag, 3, "{tag}/{bits}/{channels} is read by position");
                    continue;
                };
                let streamed = decode_path(&path).unwrap();
                let mut scratch = crate::media::wav_lenient::MonoScratch::default();
                let mut whole = vec![0.0f32; frames];
                wav.read_mono(0, &mut whole, &mut scratch).unwrap();
                let to_bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(to_bits(&whole), to_bits(&streamed.samples_mono), "{tag}/{bits}/{channels}");
                let mut part = vec![0.0f32; 7_001];
                wav.read_mono(12_345, &mut part, &mut scratch).unwrap();
                assert_eq!(to_bits(&part), to_bits(&streamed.samples_mono[12_345..19_346]));
                let info = wav.info();
                assert_eq!(
                    (info.sample_rate_hz, info.channels, info.frames_decoded, info.codec.as_str()),
                    (direct.sample_rate_hz, channels, frames as u64, direct.codec.as_str())
                );
                let past = wav.read_mono(frames as u64 - 10, &mut part, &mut scratch);
                assert!(matches!(past, Err(DecodeError::Io { .. })), "reading past the data is an error");
            }
        }
    }

    #[test]
    fn stereo_int16_downmixes_by_mean() {
        let data: Vec<u8> = [16_384i16, 0, -32_768, 32_767].iter().flat_map(|s| s.to_le_bytes()).collect();
        let out = decode_bytes(&wav(1, 2, 44_100, 16, &data), "t.wav").expect("decode");
        assert_eq!(out.sample_rate_hz, 44_100);
        assert_eq!(out.channels, 2);
        assert_eq!(out.frames_decoded, 2);
        assert_eq!(out.samples_mono, vec![0.25, (-1.0 + 32_767.0 / 32_768.0) / 2.0]);
        assert!(out.warnings.is_empty());
    }

    #[test]
    fn float_wav_is_bit_exact() {
        let x = [0.1f32, -0.7, 0.333, 1e-30];
        let out = decode_bytes(&f32_wav(1, &x), "t.wav").expect("decode");
        assert_eq!(out.samples_mono, x);
    }

    #[test]
    fn empty_garbage_and_zero_length_are_typed_errors() {
        assert!(matches!(decode_bytes(&[], "e.wav"), Err(DecodeError::EmptyFile { .. })));
        let garbage = vec![0x5Au8; 10_000];
        let err = decode_bytes(&garbage, "g.bin").expect_err("garbage");
        assert!(matches!(err, DecodeError::UnknownFormat { .. }), "{err}");
        assert!(err.to_string().starts_with("g.bin: "));
        let err = decode_bytes(&f32_wav(1, &[]), "z.wav").expect_err("zero length");
        assert!(matches!(err, DecodeError::NoSamples { .. }), "{err}");
        let err = decode_bytes(&b"RIFF\x10\x00\x00\x00WAVE"[..], "h.wav").expect_err("header only");
        assert!(!err.to_string().contains('\n'));
    }

    #[test]
    fn non_finite_samples_are_rejected() {
        let err = decode_bytes(&f32_wav(1, &[0.0, 0.5, f32::NAN]), "n.wav").expect_err("nan");
        assert!(matches!(err, DecodeError::NonFiniteSample { frame: 2, .. }), "{err}");
        let err = decode_bytes(&f32_wav(2, &[0.0, 0.0, f32::INFINITY, 0.0]), "i.wav").expect_err("inf");
        assert!(matches!(err, DecodeError::NonFiniteSample { frame: 1, .. }), "{err}");
        // Finite but absurd: two channels of 3e38 would mix to infinity.
        let err = decode_bytes(&f32_wav(2, &[0.5, 0.5, 3e38, 3e38]), "h.wav").expect_err("huge");
        assert!(matches!(err, DecodeError::NonFiniteSample { frame: 1, .. }), "{err}");
        assert!(decode_bytes(&f32_wav(1, &[2.0, -8.0]), "hot.wav").is_ok(), "hot but plausible samples decode");
    }

    #[test]
    fn truncated_wav_keeps_what_is_there() {
        let x: Vec<f32> = (0..10_000).map(|i| (i as f32 * 0.01).sin() * 0.5).collect();
        let mut bytes = f32_wav(1, &x);
        bytes.truncate(44 + 4 * 6_000 + 2);
        let out = decode_bytes(&bytes, "t.wav").expect("partial decode");
        assert!(out.frames_decoded >= 4_000 && out.frames_decoded <= 6_000, "{}", out.frames_decoded);
        assert_eq!(out.samples_mono[..], x[..out.samples_mono.len()]);
        assert!(out.warnings.iter().any(|w| w.contains("truncated")), "{:?}", out.warnings);
    }

    #[test]
    fn every_prefix_and_corruption_terminates_without_panic() {
        let x: Vec<f32> = (0..3_000).map(|i| (i as f32 * 0.05).sin()).collect();
        let good = f32_wav(2, &x);
        for cut in (0..good.len()).step_by(97) {
            let _ = decode_bytes(&good[..cut], "p.wav");
        }
        let mut state = 0x9E37_79B9u32;
        for _ in 0..200 {
            let mut bad = good.clone();
            for _ in 0..8 {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let i = state as usize % bad.len();
                bad[i] ^= (state >> 24) as u8 | 1;
            }
            let _ = decode_bytes(&bad, "c.wav");
        }
    }
}
