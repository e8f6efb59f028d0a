//! A lenient streaming reader for PCM/float/G.711 WAV files that symphonia refuses.
//!
//! symphonia is strict about RIFF sizes and `fmt ` layouts and does not read RIFX (big-endian),
//! RF64/BW64 or integer sample widths other than 8/16/24/32 bits. libsndfile (and so librosa)
//! reads those, so `decode` falls back to this reader for files that start like a WAV and fail
//! in symphonia before any audio came out. Supported: format tags 1 (integer PCM, any width in
//! 1..=8 byte containers), 3 (float 32/64), 6 (A-law), 7 (µ-law) and WAVE_EXTENSIBLE wrapping
//! them; RIFF/RIFX/RF64/BW64 containers; data chunks that run past the end of the file
//! (decoded up to the last whole frame, with a warning).
//!
//! It also reads the common ones among the other PCM containers libsndfile (and so
//! `librosa.load`) reads and symphonia does not ([`PcmContainer`]): Sun/NeXT AU, Sony Wave64
//! and Apple CAF holding PCM or G.711.

use std::fs::File;
use std::io::{self, BufReader, ErrorKind, Read, Seek, SeekFrom};
use std::path::Path;

#[cfg(unix)]
use crate::media::stamp::FileStamp;

use crate::media::decode::{DecodeError, DecodeInfo, FrameSink, StreamFormat, first_non_finite};

/// Frames converted per chunk handed to the sink.
const CHUNK_FRAMES: usize = 16_384;
/// Largest `fmt ` / `ds64` chunk read into memory.
const MAX_HEADER_CHUNK_BYTES: u32 = 1 << 16;

/// Whether `prefix` (the first 12 bytes of a file) looks like a RIFF-family WAVE file.
pub fn looks_like_wav(prefix: &[u8]) -> bool {
    prefix.len() >= 12 && matches!(&prefix[..4], b"RIFF" | b"RIFX" | b"RF64" | b"BW64") && &prefix[8..12] == b"WAVE"
}

/// Whether the first `fmt ` chunk within `prefix` (the start of a RIFF-family WAVE file) is one
/// symphonia can be handed safely: 1–64 channels and 1–64 bits per sample. Files outside that
/// (damaged headers) go to the lenient reader, which reports what is wrong; symphonia's WAV
/// reader overflows on some of them. A prefix without a `fmt ` chunk counts as sane.
pub fn fmt_is_plausible(prefix: &[u8]) -> bool {
    if !looks_like_wav(prefix) {
        return aiff_comm_is_plausible(prefix);
    }
    let big_endian = &prefix[..4] == b"RIFX";
    let u16_at =
        |b: &[u8]| if big_endian { u16::from_be_bytes([b[0], b[1]]) } else { u16::from_le_bytes([b[0], b[1]]) };
    let u32_at = |b: &[u8]| {
        let a = [b[0], b[1], b[2], b[3]];
        if big_endian { u32::from_be_bytes(a) } else { u32::from_le_bytes(a) }
    };
    let mut at = 12usize;
    while at + 8 <= prefix.len() {
        let id = &prefix[at..at + 4];
        let size = u32_at(&prefix[at + 4..]) as usize;
        if id == b"fmt " {
            let Some(body) = prefix.get(at + 8..at + 8 + 16) else { return true };
            let channels = u16_at(&body[2..]);
            let bits = u16_at(&body[14..]);
            return (1..=64).contains(&channels) && (1..=64).contains(&bits);
        }
        at = match at.checked_add(8).and_then(|a| a.checked_add(size + (size & 1))) {
            Some(next) => next,
            None => return true,
        };
    }
    true
}

/// The same for an AIFF/AIFF-C file's `COMM` chunk (big-endian channels and sample size).
fn aiff_comm_is_plausible(prefix: &[u8]) -> bool {
    if prefix.len() < 12 || &prefix[..4] != b"FORM" || !matches!(&prefix[8..12], b"AIFF" | b"AIFC") {
        return true;
    }
    let mut at = 12usize;
    while at + 8 <= prefix.len() {
        let size = u32::from_be_bytes([prefix[at + 4], prefix[at + 5], prefix[at + 6], prefix[at + 7]]) as usize;
        if &prefix[at..at + 4] == b"COMM" {
            let Some(body) = prefix.get(at + 8..at + 8 + 8) else { return true };
            let channels = i16::from_be_bytes([body[0], body[1]]);
            let bits = i16::from_be_bytes([body[6], body[7]]);
            return (1..=64).contains(&channels) && (1..=64).contains(&bits);
        }
        at = match at.checked_add(8).and_then(|a| a.checked_add(size + (size & 1))) {
            Some(next) => next,
            None => return true,
        };
    }
    true
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    /// Signed integers, except in 1-byte containers: unsigned there, as WAV has them.
    Int,
    /// Signed 8-bit integers (AU and CAF).
    SignedByte,
    Float,
    ALaw,
    MuLaw,
}

#[derive(Clone, Copy, Debug)]
struct Fmt {
    encoding: Encoding,
    channels: usize,
    rate_hz: u32,
    block_align: usize,
    container_bytes: usize,
    /// Bits per sample the header declares.
    bits: usize,
}

struct ChunkReader<'r> {
    inner: &'r mut dyn Read,
    /// The file's name, for errors.
    name: &'r str,
    big_endian: bool,
    /// Whether the container is plain RIFF (not RIFX, RF64 or BW64).
    riff: bool,
    /// Bytes consumed from the start of the file.
    pos: u64,
}

impl ChunkReader<'_> {
    /// Reads as many bytes as are available up to `buf.len()`.
    fn fill(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            match self.inner.read(&mut buf[done..]) {
                Ok(0) => break,
                Ok(n) => {
                    done += n;
                    self.pos += n as u64;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }

    fn skip(&mut self, n: u64) -> io::Result<u64> {
        let skipped = io::copy(&mut self.inner.take(n), &mut io::sink())?;
        self.pos += skipped;
        Ok(skipped)
    }

    fn io(&self, source: io::Error) -> DecodeError {
        DecodeError::Io { name: self.name.to_string(), source }
    }

    fn malformed(&self, detail: String) -> DecodeError {
        DecodeError::Malformed { name: self.name.to_string(), detail }
    }

    fn truncated(&self, detail: &str) -> DecodeError {
        DecodeError::Truncated { name: self.name.to_string(), detail: detail.to_string() }
    }

    /// Fills `buf` whole, or fails as truncated `where_` (e.g. "inside the fmt chunk").
    fn fill_all(&mut self, buf: &mut [u8], where_: &str) -> Result<(), DecodeError> {
        if self.fill(buf).map_err(|e| self.io(e))? < buf.len() { Err(self.truncated(where_)) } else { Ok(()) }
    }

    /// Skips `n` bytes, or fails as truncated `where_`.
    fn skip_all(&mut self, n: u64, where_: &str) -> Result<(), DecodeError> {
        if self.skip(n).map_err(|e| self.io(e))? < n { Err(self.truncated(where_)) } else { Ok(()) }
    }

    /// Reads the next chunk header into `buf`; the end of the file before it means no `wanted`
    /// chunk (e.g. "fmt", "data") was found.
    fn next_chunk(&mut self, buf: &mut [u8], wanted: &str) -> Result<(), DecodeError> {
        match self.fill(buf).map_err(|e| self.io(e))? {
            0 => Err(self.truncated(&format!("no {wanted} chunk before the end of the file"))),
            n if n < buf.len() => Err(self.truncated("inside a chunk header")),
            _ => Ok(()),
        }
    }

    fn u16_at(&self, b: &[u8]) -> u16 {
        let a = [b[0], b[1]];
        if self.big_endian { u16::from_be_bytes(a) } else { u16::from_le_bytes(a) }
    }

    fn u32_at(&self, b: &[u8]) -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        if self.big_endian { u32::from_be_bytes(a) } else { u32::from_le_bytes(a) }
    }

    fn u64_at(&self, b: &[u8]) -> u64 {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[..8]);
        if self.big_endian { u64::from_be_bytes(a) } else { u64::from_le_bytes(a) }
    }
}

/// Decodes a WAV from `reader` (positioned at byte 0) into `sink`.
pub fn decode_lenient_wav(
    reader: &mut dyn Read,
    name: &str,
    sink: &mut dyn FrameSink,
) -> Result<DecodeInfo, DecodeError> {
    let mut r = ChunkReader { inner: reader, name, big_endian: false, riff: false, pos: 0 };
    let (fmt, data_bytes) = read_to_data(&mut r)?;
    stream_data(&mut r, fmt, data_bytes, name, lenient_codec(fmt), sink)
}

/// A PCM container other than the WAVE family, read by [`decode_pcm_container`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PcmContainer {
    /// Sun/NeXT `.snd` (big-endian; `dns.` is its little-endian form).
    Au,
    /// Sony Wave64: the WAVE layout with GUID chunk ids and 64-bit sizes.
    Wave64,
    /// Apple's Core Audio Format.
    Caf,
}

/// Wave64's GUIDs of its `riff` header, `wave` form, `fmt ` chunk and `data` chunk.
const W64_RIFF: [u8; 16] = *b"riff\x2e\x91\xcf\x11\xa5\xd6\x28\xdb\x04\xc1\x00\x00";
const W64_WAVE: [u8; 16] = *b"wave\xf3\xac\xd3\x11\x8c\xd1\x00\xc0\x4f\x8e\xdb\x8a";
const W64_FMT: [u8; 16] = *b"fmt \xf3\xac\xd3\x11\x8c\xd1\x00\xc0\x4f\x8e\xdb\x8a";
const W64_DATA: [u8; 16] = *b"data\xf3\xac\xd3\x11\x8c\xd1\x00\xc0\x4f\x8e\xdb\x8a";

/// Bytes of a file's start [`pcm_container`] needs.
pub const CONTAINER_PREFIX: usize = 40;

/// The [`PcmContainer`] `prefix` (a file's first [`CONTAINER_PREFIX`] bytes) starts like.
pub fn pcm_container(prefix: &[u8]) -> Option<PcmContainer> {
    if prefix.starts_with(b".snd") || prefix.starts_with(b"dns.") {
        Some(PcmContainer::Au)
    } else if prefix.len() >= 40 && prefix[..16] == W64_RIFF && prefix[24..40] == W64_WAVE {
        Some(PcmContainer::Wave64)
    } else if prefix.starts_with(b"caff") {
        Some(PcmContainer::Caf)
    } else {
        None
    }
}

/// Decodes a `kind` file of `len` bytes from `reader` (positioned at byte 0) into `sink`. A data
/// size the header leaves open (AU's `0xFFFFFFFF`, CAF's `-1`) runs to the end of the file.
pub fn decode_pcm_container(
    reader: &mut dyn Read,
    len: u64,
    kind: PcmContainer,
    name: &str,
    sink: &mut dyn FrameSink,
) -> Result<DecodeInfo, DecodeError> {
    let mut r = ChunkReader { inner: reader, name, big_endian: false, riff: false, pos: 0 };
    let (fmt, data_bytes) = match kind {
        PcmContainer::Au => read_au(&mut r, len)?,
        PcmContainer::Wave64 => read_w64(&mut r)?,
        PcmContainer::Caf => read_caf(&mut r, len)?,
    };
    stream_data(&mut r, fmt, data_bytes, name, lenient_codec(fmt), sink)
}

/// The length a WAVE-family or [`PcmContainer`] file of `len` bytes declares, read from its
/// header by `reader` (positioned at byte 0): (frames per channel, sample rate). A data size
/// past the end of the file counts only the whole frames the file holds. `None` for any other
/// file or a header this reader refuses.
pub fn declared_pcm_length(reader: &mut dyn Read, len: u64, prefix: &[u8]) -> Option<(u64, u32)> {
    let mut r = ChunkReader { inner: reader, name: "", big_endian: false, riff: false, pos: 0 };
    let (fmt, data_bytes) = match pcm_container(prefix) {
        Some(PcmContainer::Au) => read_au(&mut r, len),
        Some(PcmContainer::Wave64) => read_w64(&mut r),
        Some(PcmContainer::Caf) => read_caf(&mut r, len),
        None if looks_like_wav(prefix) => read_to_data(&mut r),
        None => return None,
    }
    .ok()?;
    let held = data_bytes.min(len.saturating_sub(r.pos));
    Some((held / fmt.block_align as u64, fmt.rate_hz))
}

/// Most channels the other PCM containers may declare (as many as a WAV's `fmt ` may).
const MAX_CONTAINER_CHANNELS: u32 = 64;

/// Reads an AU header (24 bytes, then annotations up to the data offset).
fn read_au(r: &mut ChunkReader<'_>, len: u64) -> Result<(Fmt, u64), DecodeError> {
    let mut head = [0u8; 24];
    r.fill_all(&mut head, "while reading the AU header")?;
    r.big_endian = &head[..4] == b".snd";
    let field = |i: usize| r.u32_at(&head[4 * i..]);
    let (offset, size, encoding, rate_hz, channels) = (field(1), field(2), field(3), field(4), field(5));
    let (encoding, bytes) = match encoding {
        1 => (Encoding::MuLaw, 1),
        2 => (Encoding::SignedByte, 1),
        3 => (Encoding::Int, 2),
        4 => (Encoding::Int, 3),
        5 => (Encoding::Int, 4),
        6 => (Encoding::Float, 4),
        7 => (Encoding::Float, 8),
        27 => (Encoding::ALaw, 1),
        other => {
            return Err(DecodeError::UnsupportedCodec {
                name: r.name.to_string(),
                detail: format!("AU encoding {other} is not linear PCM, float or G.711"),
            });
        }
    };
    if !(1..=MAX_CONTAINER_CHANNELS).contains(&channels) || rate_hz == 0 {
        return Err(r.malformed(format!("AU header declares {channels} channels at {rate_hz} Hz")));
    }
    let annotation =
        offset.checked_sub(24).ok_or_else(|| r.malformed(format!("AU data offset {offset} inside the header")))?;
    r.skip_all(u64::from(annotation), "before the AU data")?;
    let data_bytes = if size == u32::MAX { len.saturating_sub(r.pos) } else { u64::from(size) };
    let channels = channels as usize;
    let fmt =
        Fmt { encoding, channels, rate_hz, block_align: channels * bytes, container_bytes: bytes, bits: 8 * bytes };
    Ok((fmt, data_bytes))
}

/// Reads a Wave64 header and chunks up to the data chunk (chunk sizes count their 24-byte
/// header; chunks start on 8-byte boundaries).
fn read_w64(r: &mut ChunkReader<'_>) -> Result<(Fmt, u64), DecodeError> {
    let mut head = [0u8; 40];
    r.fill_all(&mut head, "while reading the Wave64 header")?;
    let mut fmt: Option<Fmt> = None;
    loop {
        let mut chunk = [0u8; 24];
        r.next_chunk(&mut chunk, if fmt.is_none() { "fmt" } else { "data" })?;
        let size = r.u64_at(&chunk[16..]);
        let body = size.checked_sub(24).ok_or_else(|| r.malformed(format!("{size}-byte Wave64 chunk")))?;
        let pad = (8 - body % 8) % 8;
        if chunk[..16] == W64_FMT {
            if body > u64::from(MAX_HEADER_CHUNK_BYTES) {
                return Err(r.malformed(format!("{body}-byte header chunk")));
            }
            let mut bytes = vec![0u8; body as usize];
            r.fill_all(&mut bytes, "inside the fmt chunk")?;
            r.skip(pad).map_err(|e| r.io(e))?;
            fmt = Some(parse_fmt(r, &bytes).map_err(|detail| fmt_error(r.name, detail))?);
        } else if chunk[..16] == W64_DATA {
            let fmt = fmt.ok_or_else(|| r.malformed("data chunk before fmt chunk".to_string()))?;
            return Ok((fmt, body));
        } else {
            r.skip_all(body + pad, if fmt.is_none() { "before the fmt chunk" } else { "before the data chunk" })?;
        }
    }
}

/// Reads a CAF header and chunks up to the data chunk: the `desc` chunk's format, and the
/// audio after the data chunk's edit count. PCM (integer or float, either byte order) and
/// G.711 are read; other codecs are named.
fn read_caf(r: &mut ChunkReader<'_>, len: u64) -> Result<(Fmt, u64), DecodeError> {
    let mut head = [0u8; 8];
    r.fill_all(&mut head, "while reading the CAF header")?;
    r.big_endian = true;
    if r.u16_at(&head[4..]) != 1 {
        return Err(r.malformed(format!("CAF version {}", r.u16_at(&head[4..]))));
    }
    let mut fmt: Option<(Fmt, bool)> = None;
    loop {
        let mut chunk = [0u8; 12];
        r.next_chunk(&mut chunk, if fmt.is_none() { "desc" } else { "data" })?;
        let size = r.u64_at(&chunk[4..]) as i64;
        match &chunk[..4] {
            b"desc" => {
                let mut desc = [0u8; 32];
                if size < desc.len() as i64 {
                    return Err(r.malformed(format!("{size}-byte desc chunk")));
                }
                r.fill_all(&mut desc, "inside the desc chunk")?;
                r.skip_all(size as u64 - desc.len() as u64, "before the data chunk")?;
                fmt = Some(caf_format(r, &desc)?);
            }
            b"data" => {
                let (fmt, little_endian) =
                    fmt.ok_or_else(|| r.malformed("data chunk before desc chunk".to_string()))?;
                r.fill_all(&mut [0u8; 4], "inside the data chunk's header")?;
                let data_bytes = match size {
                    -1 => len.saturating_sub(r.pos),
                    4.. => size as u64 - 4,
                    _ => return Err(r.malformed(format!("{size}-byte data chunk"))),
                };
                r.big_endian = !little_endian;
                return Ok((fmt, data_bytes));
            }
            _ => {
                let want = u64::try_from(size).map_err(|_| r.malformed(format!("{size}-byte chunk")))?;
                r.skip_all(want, if fmt.is_none() { "before the desc chunk" } else { "before the data chunk" })?;
            }
        }
    }
}

/// The format a CAF `desc` chunk declares, and whether its samples are little-endian.
fn caf_format(r: &ChunkReader<'_>, desc: &[u8; 32]) -> Result<(Fmt, bool), DecodeError> {
    let name = r.name;
    let malformed = |detail: String| r.malformed(detail);
    let rate = f64::from_bits(r.u64_at(desc));
    let id = &desc[8..12];
    let flags = r.u32_at(&desc[12..]);
    let (bytes_per_packet, frames_per_packet) = (r.u32_at(&desc[16..]), r.u32_at(&desc[20..]));
    let (channels, bits) = (r.u32_at(&desc[24..]), r.u32_at(&desc[28..]));
    if !(rate >= 1.0 && rate <= f64::from(u32::MAX)) {
        return Err(malformed(format!("CAF sample rate {rate}")));
    }
    if !(1..=MAX_CONTAINER_CHANNELS).contains(&channels) {
        return Err(malformed(format!("CAF desc declares {channels} channels")));
    }
    let (encoding, little_endian) = match id {
        b"lpcm" if flags & 1 != 0 => (Encoding::Float, flags & 2 != 0),
        b"lpcm" if bits == 8 => (Encoding::SignedByte, false),
        b"lpcm" => (Encoding::Int, flags & 2 != 0),
        b"ulaw" => (Encoding::MuLaw, false),
        b"alaw" => (Encoding::ALaw, false),
        other => {
            let codec = match other {
                b"alac" => "ALAC".to_string(),
                b"aac " => "AAC".to_string(),
                b"ima4" => "IMA ADPCM".to_string(),
                _ => format!("`{}`", String::from_utf8_lossy(other).trim_end()),
            };
            return Err(DecodeError::NotRead { name: name.to_string(), what: format!("CAF holding {codec} audio") });
        }
    };
    let channels_usize = channels as usize;
    let bytes = bytes_per_packet as usize / channels_usize;
    let packed = frames_per_packet == 1 && bytes * channels_usize == bytes_per_packet as usize;
    let fits = match encoding {
        Encoding::Float => bits as usize == 8 * bytes && (bytes == 4 || bytes == 8),
        Encoding::Int => (2..=8).contains(&bytes) && bits as usize == 8 * bytes,
        _ => bytes == 1,
    };
    if !packed || !fits {
        return Err(DecodeError::UnsupportedCodec {
            name: name.to_string(),
            detail: format!(
                "CAF {} with {bits}-bit samples in {bytes_per_packet}-byte packets of {frames_per_packet} frame(s) for {channels} channel(s)",
                String::from_utf8_lossy(id)
            ),
        });
    }
    let fmt = Fmt {
        encoding,
        channels: channels_usize,
        rate_hz: rate.round() as u32,
        block_align: bytes_per_packet as usize,
        container_bytes: bytes,
        bits: bits as usize,
    };
    Ok((fmt, little_endian))
}

/// A standard WAV file's layout (RIFF, little-endian, 16/24/32-bit integer or 32-bit float
/// PCM filling its containers, 1–64 channels, its data chunk wholly inside the file), with the
/// codec name symphonia gives for it.
struct StandardLayout {
    fmt: Fmt,
    /// Byte offset of the first frame.
    data_start: u64,
    data_bytes: u64,
    codec: &'static str,
}

/// The header of `file` read up to its data chunk, when it is a standard WAV.
fn standard_layout(file: &File, name: &str) -> Option<StandardLayout> {
    let len = file.metadata().ok()?.len();
    standard_layout_of(&mut BufReader::with_capacity(1 << 12, file), len, name)
}

/// Where the samples of a WAV file's bytes lie, when it is a standard one with integer samples
/// (16-, 24- or 32-bit filling their containers): `(data start, data bytes, bytes per frame)`.
pub fn int_pcm_data(bytes: &[u8]) -> Option<(usize, usize, usize)> {
    let layout = standard_layout_of(&mut &bytes[..], bytes.len() as u64, "")?;
    (layout.fmt.encoding == Encoding::Int).then_some((
        layout.data_start as usize,
        layout.data_bytes as usize,
        layout.fmt.block_align,
    ))
}

/// [`standard_layout`] of a file of `len` bytes read from its start by `reader`.
fn standard_layout_of(reader: &mut dyn Read, len: u64, name: &str) -> Option<StandardLayout> {
    let mut r = ChunkReader { inner: reader, name, big_endian: false, riff: false, pos: 0 };
    let (fmt, data_bytes) = read_to_data(&mut r).ok()?;
    let codec = match (fmt.encoding, fmt.container_bytes, fmt.bits) {
        (Encoding::Int, 2, 16) => "pcm_s16le",
        (Encoding::Int, 3, 24) => "pcm_s24le",
        (Encoding::Int, 4, 32) => "pcm_s32le",
        (Encoding::Float, 4, 32) => "pcm_f32le",
        _ => return None,
    };
    let whole = data_bytes > 0 && r.pos.checked_add(data_bytes).is_some_and(|end| end <= len);
    if !r.riff || !(1..=64).contains(&fmt.channels) || !whole {
        return None;
    }
    Some(StandardLayout { fmt, data_start: r.pos, data_bytes, codec })
}

/// Reads a standard WAV file (see `StandardLayout`) straight into `sink`, with the samples,
/// codec name and declared length symphonia gives for it, without symphonia's per-packet
/// buffers. `None` for any other file (nothing read into `sink`).
pub fn decode_standard_wav(
    path: &Path,
    name: &str,
    sink: &mut dyn FrameSink,
) -> Option<Result<DecodeInfo, DecodeError>> {
    let mut file = File::open(path).ok()?;
    let layout = standard_layout(&file, name)?;
    if file.seek(SeekFrom::Start(layout.data_start)).is_err() {
        return None;
    }
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut r = ChunkReader { inner: &mut reader, name, big_endian: false, riff: true, pos: layout.data_start };
    Some(stream_data(&mut r, layout.fmt, layout.data_bytes, name, layout.codec.to_string(), sink))
}

/// A standard WAV file with integer samples, open for reading any run of its frames by
/// position (from any number of threads at once): the mono mixdown the streaming decoder
/// delivers, bit for bit, without reading what comes before.
#[cfg(unix)]
pub struct IntWav {
    file: File,
    name: String,
    layout: StandardLayout,
    /// What the file was when opened: every read checks it still is (an edit in place while
    /// the frames are read is an error, never a mix of old and new samples).
    opened: FileStamp,
}

#[cfg(unix)]
impl std::fmt::Debug for IntWav {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntWav").field("name", &self.name).field("codec", &self.layout.codec).finish_non_exhaustive()
    }
}

/// Scratch buffer of one reader of an [`IntWav`].
#[derive(Default)]
pub struct MonoScratch {
    raw: Vec<u8>,
}

/// The channel mean of each frame of `channels` little-endian `N`-byte samples, converted by
/// `f`: [`convert_frames`] then [`downmix`] in one pass, with the same operations in the same
/// order (the first channel, plus each next one, divided by the count), so the same bits.
#[cfg(unix)]
fn mono_le<const N: usize>(raw: &[u8], channels: usize, out: &mut [f32], f: impl Fn([u8; N]) -> f32) {
    let sample = |frame: &[u8], c: usize| {
        let mut b = [0u8; N];
        b.copy_from_slice(&frame[c * N..(c + 1) * N]);
        f(b)
    };
    let frames = raw.chunks_exact(channels * N);
    if channels == 1 {
        out.iter_mut().zip(frames).for_each(|(o, frame)| *o = sample(frame, 0));
        return;
    }
    if channels == 2 {
        // The same operations, with the frame's width known to the compiler (it vectorises
        // this; `/ 2.0` and `* 0.5` are the same exact operation).
        out.iter_mut().zip(raw.chunks_exact(2 * N)).for_each(|(o, frame)| {
            *o = (sample(frame, 0) + sample(frame, 1)) * 0.5;
        });
        return;
    }
    let count = channels as f32;
    for (o, frame) in out.iter_mut().zip(frames) {
        let mut m = sample(frame, 0);
        for c in 1..channels {
            m += sample(frame, c);
        }
        *o = m / count;
    }
}

#[cfg(unix)]
impl IntWav {
    /// `path` as an integer standard WAV, or `None` (any other file, float WAVs included: their
    /// samples are checked in order as they are decoded).
    pub fn open(path: &Path, name: &str) -> Option<Self> {
        let file = File::open(path).ok()?;
        let opened = FileStamp::of(&file.metadata().ok()?);
        let layout = standard_layout(&file, name)?;
        (layout.fmt.encoding == Encoding::Int).then(|| Self { file, name: name.to_string(), layout, opened })
    }

    /// The open file's stamp when it was opened (to check it is the file a caller hashed
    /// before reading it by position).
    pub fn stamp(&self) -> FileStamp {
        self.opened
    }

    /// Channels per frame.
    pub fn channels(&self) -> usize {
        self.layout.fmt.channels
    }

    /// The file's sample rate.
    pub fn sample_rate_hz(&self) -> u32 {
        self.layout.fmt.rate_hz
    }

    /// Whole frames in the data chunk.
    pub fn frames(&self) -> u64 {
        self.layout.data_bytes / self.layout.fmt.block_align as u64
    }

    /// What decoding the whole file reports.
    pub fn info(&self) -> DecodeInfo {
        DecodeInfo {
            sample_rate_hz: self.layout.fmt.rate_hz,
            channels: u16::try_from(self.layout.fmt.channels).unwrap_or(u16::MAX),
            frames_decoded: self.frames(),
            codec: self.layout.codec.to_string(),
            warnings: Vec::new(),
        }
    }

    /// The channel mean of frames `first .. first + out.len()` (inside the file) into `out`.
    pub fn read_mono(&self, first: u64, out: &mut [f32], scratch: &mut MonoScratch) -> Result<(), DecodeError> {
        let fmt = self.layout.fmt;
        self.read_frames(first, out.len(), scratch)?;
        let raw = &scratch.raw;
        match fmt.container_bytes {
            2 => mono_le(raw, fmt.channels, out, s16_le),
            3 => mono_le(raw, fmt.channels, out, s24_le),
            _ => mono_le(raw, fmt.channels, out, s32_le),
        }
        Ok(())
    }

    /// Channel `channel` (below [`Self::channels`]) of frames `first .. first + out.len()`
    /// (inside the file) into `out`: the streaming decoder's samples of that channel, bit for bit.
    pub fn read_channel(
        &self,
        channel: usize,
        first: u64,
        out: &mut [f32],
        scratch: &mut MonoScratch,
    ) -> Result<(), DecodeError> {
        let fmt = self.layout.fmt;
        if channel >= fmt.channels {
            let detail = format!("no channel {channel} (the file has {})", fmt.channels);
            return Err(DecodeError::Io {
                name: self.name.clone(),
                source: io::Error::new(io::ErrorKind::InvalidInput, detail),
            });
        }
        self.read_frames(first, out.len(), scratch)?;
        let raw = &scratch.raw;
        match fmt.container_bytes {
            2 => channel_le(raw, fmt.block_align, channel, out, s16_le),
            3 => channel_le(raw, fmt.block_align, channel, out, s24_le),
            _ => channel_le(raw, fmt.block_align, channel, out, s32_le),
        }
        Ok(())
    }

    /// The raw bytes of frames `first .. first + frames` into `scratch`, checking afterwards
    /// that the file was not changed since it was opened.
    fn read_frames(&self, first: u64, frames: usize, scratch: &mut MonoScratch) -> Result<(), DecodeError> {
        use std::os::unix::fs::FileExt;
        let io_error = |source| DecodeError::Io { name: self.name.clone(), source };
        let align = self.layout.fmt.block_align;
        scratch.raw.resize(frames * align, 0);
        let offset = self.layout.data_start + first * align as u64;
        self.file.read_exact_at(&mut scratch.raw, offset).map_err(io_error)?;
        if FileStamp::of(&self.file.metadata().map_err(io_error)?) != self.opened {
            let detail = "the file changed while it was being read; run again";
            return Err(io_error(io::Error::other(detail)));
        }
        Ok(())
    }
}

/// The codec name the lenient reader reports.
fn lenient_codec(fmt: Fmt) -> String {
    match (fmt.encoding, fmt.container_bytes) {
        (Encoding::Int, 1) => "pcm_u8".to_string(),
        (Encoding::SignedByte, _) => "pcm_s8".to_string(),
        (Encoding::Int, n) => format!("pcm_s{}", n * 8),
        (Encoding::Float, n) => format!("pcm_f{}", n * 8),
        (Encoding::ALaw, _) => "pcm_alaw".to_string(),
        (Encoding::MuLaw, _) => "pcm_mulaw".to_string(),
    }
}

/// Reads the RIFF header and chunks up to the data chunk: the format and the data's length.
fn read_to_data(r: &mut ChunkReader<'_>) -> Result<(Fmt, u64), DecodeError> {
    let mut head = [0u8; 12];
    r.fill_all(&mut head, "while reading the RIFF header")?;
    if !looks_like_wav(&head) {
        return Err(DecodeError::UnknownFormat {
            name: r.name.to_string(),
            detail: "not a RIFF/RIFX/RF64 WAVE file".to_string(),
        });
    }
    r.big_endian = &head[..4] == b"RIFX";
    r.riff = &head[..4] == b"RIFF";

    let mut fmt: Option<Fmt> = None;
    let mut ds64_data_bytes: Option<u64> = None;
    loop {
        let mut chunk = [0u8; 8];
        r.next_chunk(&mut chunk, if fmt.is_none() { "fmt" } else { "data" })?;
        let size = r.u32_at(&chunk[4..]);
        match &chunk[..4] {
            b"fmt " | b"ds64" => {
                if size > MAX_HEADER_CHUNK_BYTES {
                    return Err(r.malformed(format!("{size}-byte header chunk")));
                }
                let mut body = vec![0u8; size as usize];
                r.fill_all(&mut body, "inside the fmt chunk")?;
                r.skip(u64::from(size & 1)).map_err(|e| r.io(e))?;
                if &chunk[..4] == b"ds64" {
                    if body.len() >= 16 {
                        ds64_data_bytes = Some(r.u64_at(&body[8..]));
                    }
                } else {
                    fmt = Some(parse_fmt(r, &body).map_err(|detail| fmt_error(r.name, detail))?);
                }
            }
            b"data" => {
                let fmt = fmt.ok_or_else(|| r.malformed("data chunk before fmt chunk".to_string()))?;
                let data_bytes = match (size, ds64_data_bytes) {
                    (u32::MAX, Some(n)) => n,
                    _ => u64::from(size),
                };
                return Ok((fmt, data_bytes));
            }
            _ => {
                let want = u64::from(size) + u64::from(size & 1);
                r.skip_all(want, if fmt.is_none() { "before the fmt chunk" } else { "before the data chunk" })?;
            }
        }
    }
}

/// A `fmt ` chunk [`parse_fmt`] refused: an encoding it does not read, or a damaged one.
fn fmt_error(name: &str, detail: String) -> DecodeError {
    if detail.starts_with("format tag") {
        DecodeError::UnsupportedCodec { name: name.to_string(), detail }
    } else {
        DecodeError::Malformed { name: name.to_string(), detail }
    }
}

fn parse_fmt(r: &ChunkReader<'_>, body: &[u8]) -> Result<Fmt, String> {
    if body.len() < 16 {
        return Err(format!("fmt chunk of {} bytes", body.len()));
    }
    let mut tag = r.u16_at(&body[0..]);
    let channels = usize::from(r.u16_at(&body[2..]));
    let rate_hz = r.u32_at(&body[4..]);
    let block_align = usize::from(r.u16_at(&body[12..]));
    let bits = usize::from(r.u16_at(&body[14..]));
    if tag == 0xFFFE {
        if body.len() < 40 {
            return Err("WAVE_EXTENSIBLE fmt chunk shorter than 40 bytes".to_string());
        }
        // The sub-format GUID starts with the format tag as a 32-bit field.
        let sub = r.u32_at(&body[24..]);
        tag = u16::try_from(sub).unwrap_or(u16::MAX);
    }
    if channels == 0 || rate_hz == 0 || block_align == 0 || block_align % channels != 0 {
        return Err(format!("{channels} channels, {rate_hz} Hz, block align {block_align}"));
    }
    let container_bytes = block_align / channels;
    let encoding = match tag {
        1 => Encoding::Int,
        3 => Encoding::Float,
        6 => Encoding::ALaw,
        7 => Encoding::MuLaw,
        other => {
            return Err(format!("format tag 0x{other:04x} is not PCM, float or G.711"));
        }
    };
    let valid = match encoding {
        Encoding::Int => (1..=8).contains(&container_bytes) && bits <= container_bytes * 8,
        Encoding::Float => container_bytes == 4 || container_bytes == 8,
        Encoding::SignedByte | Encoding::ALaw | Encoding::MuLaw => container_bytes == 1,
    };
    if !valid {
        return Err(format!("{bits}-bit samples in {container_bytes}-byte containers for {encoding:?}"));
    }
    Ok(Fmt { encoding, channels, rate_hz, block_align, container_bytes, bits })
}

fn stream_data(
    r: &mut ChunkReader<'_>,
    fmt: Fmt,
    data_bytes: u64,
    name: &str,
    codec: String,
    sink: &mut dyn FrameSink,
) -> Result<DecodeInfo, DecodeError> {
    let name_s = || name.to_string();
    let declared_frames = data_bytes / fmt.block_align as u64;
    let channels = u16::try_from(fmt.channels).unwrap_or(u16::MAX);
    let mut raw = vec![0u8; CHUNK_FRAMES * fmt.block_align];
    let mut planes: Vec<Vec<f32>> = vec![Vec::with_capacity(CHUNK_FRAMES); fmt.channels];
    let mut frames_decoded = 0u64;
    let mut remaining = data_bytes;
    let mut started = false;
    let mut short_read = false;
    while remaining >= fmt.block_align as u64 {
        let want = (raw.len() as u64).min(remaining) as usize / fmt.block_align * fmt.block_align;
        let got = r.fill(&mut raw[..want]).map_err(|source| DecodeError::Io { name: name_s(), source })?;
        let frames = got / fmt.block_align;
        if frames > 0 {
            if !started {
                sink.start(&StreamFormat {
                    sample_rate_hz: fmt.rate_hz,
                    channels,
                    declared_frames: Some(declared_frames),
                    codec: codec.clone(),
                })
                .map_err(|source| DecodeError::Sink { name: name_s(), source })?;
                started = true;
            }
            convert_frames(r.big_endian, fmt, &raw[..frames * fmt.block_align], &mut planes);
            let views: Vec<&[f32]> = planes.iter().map(Vec::as_slice).collect();
            // Only float samples can be infinite or NaN.
            if let Some(i) = (fmt.encoding == Encoding::Float).then(|| first_non_finite(&views)).flatten() {
                return Err(DecodeError::NonFiniteSample { name: name_s(), frame: frames_decoded + i as u64 });
            }
            sink.push(&views).map_err(|source| DecodeError::Sink { name: name_s(), source })?;
            frames_decoded += frames as u64;
        }
        remaining -= got as u64;
        if got < want {
            short_read = true;
            break;
        }
    }
    if frames_decoded == 0 {
        return Err(if short_read {
            DecodeError::Truncated { name: name_s(), detail: "the data chunk holds no whole frame".to_string() }
        } else {
            DecodeError::NoSamples { name: name_s() }
        });
    }
    let mut warnings = Vec::new();
    if frames_decoded < declared_frames {
        warnings.push(format!("{name}: truncated: decoded {frames_decoded} of {declared_frames} declared frames"));
    }
    Ok(DecodeInfo { sample_rate_hz: fmt.rate_hz, channels, frames_decoded, codec, warnings })
}

/// Converts whole frames to f32, one vector per channel.
fn convert_frames(big_endian: bool, fmt: Fmt, raw: &[u8], planes: &mut [Vec<f32>]) {
    planes.iter_mut().for_each(Vec::clear);
    let n = fmt.container_bytes;
    // The common little-endian layouts, one tight loop per channel (same values as below).
    if !big_endian {
        match (fmt.encoding, n) {
            (Encoding::Int, 2) => return convert_le(raw, fmt.block_align, planes, s16_le),
            (Encoding::Int, 3) => return convert_le(raw, fmt.block_align, planes, s24_le),
            (Encoding::Int, 4) => return convert_le(raw, fmt.block_align, planes, s32_le),
            (Encoding::Float, 4) => return convert_le(raw, fmt.block_align, planes, f32::from_le_bytes),
            _ => {}
        }
    }
    for frame in raw.chunks_exact(fmt.block_align) {
        for (plane, sample) in planes.iter_mut().zip(frame.chunks_exact(n)) {
            plane.push(sample_to_f32(big_endian, fmt.encoding, sample));
        }
    }
}

fn s16_le(b: [u8; 2]) -> f32 {
    f32::from(i16::from_le_bytes(b)) / 32_768.0
}

fn s24_le(b: [u8; 3]) -> f32 {
    (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32 / 8_388_608.0
}

fn s32_le(b: [u8; 4]) -> f32 {
    i32::from_le_bytes(b) as f32 / 2_147_483_648.0
}

/// Channel `c` of each `block_align`-byte frame, converted by `f` ([`convert_le`] of one plane).
#[cfg(unix)]
fn channel_le<const N: usize>(raw: &[u8], block_align: usize, c: usize, out: &mut [f32], f: impl Fn([u8; N]) -> f32) {
    let at = c * N;
    for (o, frame) in out.iter_mut().zip(raw.chunks_exact(block_align)) {
        let mut b = [0u8; N];
        b.copy_from_slice(&frame[at..at + N]);
        *o = f(b);
    }
}

/// Channel `c` of each `block_align`-byte frame is the `N` bytes at `c · N`.
fn convert_le<const N: usize>(raw: &[u8], block_align: usize, planes: &mut [Vec<f32>], f: impl Fn([u8; N]) -> f32) {
    let frames = raw.len() / block_align;
    for (c, plane) in planes.iter_mut().enumerate() {
        let at = c * N;
        plane.resize(frames, 0.0);
        for (out, frame) in plane.iter_mut().zip(raw.chunks_exact(block_align)) {
            let mut b = [0u8; N];
            b.copy_from_slice(&frame[at..at + N]);
            *out = f(b);
        }
    }
}

fn sample_to_f32(big_endian: bool, encoding: Encoding, b: &[u8]) -> f32 {
    match encoding {
        Encoding::Int if b.len() == 1 => (f32::from(b[0]) - 128.0) / 128.0,
        Encoding::Int => {
            // Sign-extend the container (WAV left-justifies narrower samples in it).
            let mut v: i64 = 0;
            let ordered: Box<dyn Iterator<Item = &u8>> =
                if big_endian { Box::new(b.iter()) } else { Box::new(b.iter().rev()) };
            for &byte in ordered {
                v = (v << 8) | i64::from(byte);
            }
            let shift = 64 - 8 * b.len() as u32;
            let v = (v << shift) >> shift;
            (v as f64 / (1u64 << (8 * b.len() - 1)) as f64) as f32
        }
        Encoding::Float if b.len() == 4 => {
            let a = [b[0], b[1], b[2], b[3]];
            if big_endian { f32::from_be_bytes(a) } else { f32::from_le_bytes(a) }
        }
        Encoding::Float => {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[..8]);
            (if big_endian { f64::from_be_bytes(a) } else { f64::from_le_bytes(a) }) as f32
        }
        Encoding::SignedByte => f32::from(b[0] as i8) / 128.0,
        Encoding::ALaw => f32::from(alaw_to_i16(b[0])) / 32_768.0,
        Encoding::MuLaw => f32::from(mulaw_to_i16(b[0])) / 32_768.0,
    }
}

/// G.711 A-law to 16-bit linear (Sun's g711.c `alaw2linear`).
fn alaw_to_i16(code: u8) -> i16 {
    let a = code ^ 0x55;
    let mut t = i32::from(a & 0x0F) << 4;
    let seg = (a & 0x70) >> 4;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => t = (t + 0x108) << (seg - 1),
    }
    (if a & 0x80 != 0 { t } else { -t }) as i16
}

/// G.711 µ-law to 16-bit linear (Sun's g711.c `ulaw2linear`).
fn mulaw_to_i16(code: u8) -> i16 {
    let u = !code;
    let mut t = (i32::from(u & 0x0F) << 3) + 0x84;
    t <<= (u & 0x70) >> 4;
    (if u & 0x80 != 0 { 0x84 - t } else { t - 0x84 }) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::media::decode::{Downmix, MonoSink, SinkError, StreamFormat};

    #[derive(Debug, Default)]
    struct Collect {
        format: Option<StreamFormat>,
        samples: Vec<f32>,
    }

    impl MonoSink for Collect {
        fn start(&mut self, format: &StreamFormat) -> Result<(), SinkError> {
            self.format = Some(format.clone());
            Ok(())
        }
        fn push(&mut self, mono: &[f32]) -> Result<(), SinkError> {
            self.samples.extend_from_slice(mono);
            Ok(())
        }
    }

    /// A WAV with the given container magic, fmt body and data, in the given byte order.
    fn wav(magic: &[u8; 4], big_endian: bool, fmt: &[u8], data: &[u8], data_size: u32) -> Vec<u8> {
        let u32b = |v: u32| {
            if big_endian { v.to_be_bytes() } else { v.to_le_bytes() }
        };
        let mut b = magic.to_vec();
        b.extend_from_slice(&u32b(4 + 8 + fmt.len() as u32 + 8 + data.len() as u32));
        b.extend_from_slice(b"WAVEfmt ");
        b.extend_from_slice(&u32b(fmt.len() as u32));
        b.extend_from_slice(fmt);
        b.extend_from_slice(b"data");
        b.extend_from_slice(&u32b(data_size));
        b.extend_from_slice(data);
        b
    }

    fn fmt_body(big_endian: bool, tag: u16, channels: u16, rate: u32, block: u16, bits: u16) -> Vec<u8> {
        let u16b = |v: u16| {
            if big_endian { v.to_be_bytes() } else { v.to_le_bytes() }
        };
        let u32b = |v: u32| {
            if big_endian { v.to_be_bytes() } else { v.to_le_bytes() }
        };
        let mut f = Vec::new();
        f.extend_from_slice(&u16b(tag));
        f.extend_from_slice(&u16b(channels));
        f.extend_from_slice(&u32b(rate));
        f.extend_from_slice(&u32b(rate * u32::from(block)));
        f.extend_from_slice(&u16b(block));
        f.extend_from_slice(&u16b(bits));
        f
    }

    fn decode(bytes: &[u8]) -> Result<(DecodeInfo, Collect), DecodeError> {
        let mut sink = Collect::default();
        let info = decode_lenient_wav(&mut &bytes[..], "t.wav", &mut Downmix::new(&mut sink))?;
        Ok((info, sink))
    }

    fn decode_container(bytes: &[u8]) -> Result<(DecodeInfo, Collect), DecodeError> {
        let kind = pcm_container(bytes).expect("a PCM container");
        let mut sink = Collect::default();
        let info =
            decode_pcm_container(&mut &bytes[..], bytes.len() as u64, kind, "t.x", &mut Downmix::new(&mut sink))?;
        Ok((info, sink))
    }

    /// An AU file: `magic`, then the data offset (header plus `annotation`), size, encoding,
    /// rate and channels in the magic's byte order.
    fn au(magic: &[u8; 4], fields: [u32; 5], annotation: &[u8], data: &[u8]) -> Vec<u8> {
        let mut b = magic.to_vec();
        for v in fields {
            b.extend_from_slice(&if magic == b".snd" { v.to_be_bytes() } else { v.to_le_bytes() });
        }
        b.extend_from_slice(annotation);
        b.extend_from_slice(data);
        b
    }

    /// A CAF file: its header, a `desc` chunk, a `free` chunk, and the data chunk (size `-1` when
    /// `open_size`, else the audio plus the edit count).
    fn caf(rate: f64, id: &[u8; 4], flags: u32, packet: [u32; 4], data: &[u8], open_size: bool) -> Vec<u8> {
        let mut b = b"caff\x00\x01\x00\x00desc".to_vec();
        b.extend_from_slice(&32i64.to_be_bytes());
        b.extend_from_slice(&rate.to_bits().to_be_bytes());
        b.extend_from_slice(id);
        for v in [flags, packet[0], packet[1], packet[2], packet[3]] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b.extend_from_slice(b"free");
        b.extend_from_slice(&3i64.to_be_bytes());
        b.extend_from_slice(&[0; 3]);
        b.extend_from_slice(b"data");
        b.extend_from_slice(&if open_size { -1i64 } else { data.len() as i64 + 4 }.to_be_bytes());
        b.extend_from_slice(&[0; 4]);
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn au_in_either_byte_order_with_annotation_and_open_size() {
        // Big-endian 16-bit stereo, 8 bytes of annotation, size left open: read to the end.
        let data = [0x40, 0x00, 0x00, 0x00, 0x80, 0x00, 0x80, 0x00];
        let (info, sink) =
            decode_container(&au(b".snd", [32, u32::MAX, 3, 8_000, 2], b"note\0\0\0\0", &data)).expect("AU");
        assert_eq!((info.frames_decoded, info.sample_rate_hz, info.codec.as_str()), (2, 8_000, "pcm_s16"));
        assert_eq!(sink.samples, vec![0.25, -1.0]);
        // Little-endian (`dns.`) signed 8-bit: AU's bytes are signed, WAV's are not.
        let (info, sink) = decode_container(&au(b"dns.", [24, 3, 2, 8_000, 1], b"", &[0x40, 0x80, 0x00])).expect("s8");
        assert_eq!((info.codec.as_str(), sink.samples), ("pcm_s8", vec![0.5, -1.0, 0.0]));
        // A declared size past the end decodes what is there, with a warning.
        let (info, _) = decode_container(&au(b".snd", [24, 8, 3, 8_000, 1], b"", &[0x40, 0x00])).expect("short");
        assert_eq!(info.frames_decoded, 1);
        assert!(info.warnings.iter().any(|w| w.contains("decoded 1 of 4")), "{:?}", info.warnings);
    }

    #[test]
    fn caf_pcm_and_float_in_either_byte_order() {
        let (info, sink) =
            decode_container(&caf(44_100.0, b"lpcm", 0, [4, 1, 2, 16], &[0x40, 0, 0x80, 0, 0, 0, 0, 0], false))
                .expect("BE 16-bit");
        assert_eq!((info.frames_decoded, info.sample_rate_hz, info.channels), (2, 44_100, 2));
        assert_eq!(sink.samples, vec![-0.25, 0.0]);
        let mut data = Vec::new();
        for v in [0.5f32, -0.125] {
            data.extend_from_slice(&v.to_le_bytes());
        }
        let (info, sink) = decode_container(&caf(48_000.0, b"lpcm", 3, [4, 1, 1, 32], &data, true)).expect("LE float");
        assert_eq!((info.codec.as_str(), sink.samples), ("pcm_f32", vec![0.5, -0.125]));
        let (_, sink) = decode_container(&caf(8_000.0, b"ulaw", 0, [1, 1, 1, 8], &[0xFF, 0x00], false)).expect("µ-law");
        assert_eq!(sink.samples.len(), 2);
    }

    #[test]
    fn damaged_or_foreign_caf_and_au_headers_say_what_is_wrong() {
        let message = |bytes: &[u8]| decode_container(bytes).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message(&caf(f64::NAN, b"lpcm", 0, [2, 1, 1, 16], &[0; 2], false)).contains("CAF sample rate NaN"));
        assert!(message(&caf(8_000.0, b"lpcm", 0, [2, 1, 0, 16], &[0; 2], false)).contains("0 channels"));
        assert!(message(&caf(8_000.0, b"lpcm", 0, [3, 1, 1, 16], &[0; 3], false)).contains("16-bit samples"));
        let alac = message(&caf(44_100.0, b"alac", 0, [0, 4096, 2, 16], &[0; 8], false));
        assert!(alac.starts_with("t.x: CAF holding ALAC audio is not a format ntsbuild reads"), "{alac}");
        assert!(message(&au(b".snd", [16, 2, 3, 8_000, 1], b"", &[0; 2])).contains("data offset 16"));
        assert!(message(&au(b".snd", [24, 2, 23, 8_000, 1], b"", &[0; 2])).contains("AU encoding 23"));
        assert!(message(&au(b".snd", [24, 2, 3, 8_000, 0], b"", &[0; 2])).contains("0 channels"));
        let cut = caf(8_000.0, b"lpcm", 0, [2, 1, 1, 16], &[0; 2], false);
        for end in 0..cut.len() - 2 {
            let e = decode_container(&cut[..end.max(4)]).expect_err("cut CAF").to_string();
            assert!(e.starts_with("t.x: ") && !e.contains('\n'), "{e}");
        }
    }

    /// Wave64: GUID chunk ids, sizes that count the 24-byte chunk header, chunks on 8-byte
    /// boundaries (an odd-sized chunk before `fmt ` is padded).
    #[test]
    fn wave64_chunks_are_aligned_to_eight_bytes() {
        let mut b = W64_RIFF.to_vec();
        b.extend_from_slice(&0u64.to_le_bytes());
        b.extend_from_slice(&W64_WAVE);
        let mut junk = *b"junk\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00";
        junk[4] = 1;
        b.extend_from_slice(&junk);
        b.extend_from_slice(&(24u64 + 3).to_le_bytes());
        b.extend_from_slice(&[7; 3 + 5]);
        let fmt = fmt_body(false, 1, 1, 16_000, 2, 16);
        b.extend_from_slice(&W64_FMT);
        b.extend_from_slice(&(24 + fmt.len() as u64).to_le_bytes());
        b.extend_from_slice(&fmt);
        b.extend_from_slice(&W64_DATA);
        b.extend_from_slice(&(24u64 + 4).to_le_bytes());
        b.extend_from_slice(&[0x00, 0x40, 0x00, 0xC0]);
        let (info, sink) = decode_container(&b).expect("Wave64");
        assert_eq!((info.sample_rate_hz, sink.samples), (16_000, vec![0.5, -0.5]));
        let mut bad = b.clone();
        bad[56..64].copy_from_slice(&5u64.to_le_bytes());
        assert!(decode_container(&bad).expect_err("short chunk").to_string().contains("5-byte Wave64 chunk"));
    }

    #[test]
    fn rifx_big_endian_stereo_16_bit() {
        let fmt = fmt_body(true, 1, 2, 8_000, 4, 16);
        let data = [0x40, 0x00, 0x00, 0x00, 0x80, 0x00, 0x80, 0x00];
        let (info, sink) = decode(&wav(b"RIFX", true, &fmt, &data, 8)).expect("decode");
        assert_eq!(info.frames_decoded, 2);
        assert_eq!(sink.samples, vec![0.25, -1.0]);
        assert_eq!(sink.format.map(|f| f.channels), Some(2));
    }

    #[test]
    fn twelve_bit_in_16_and_mulaw_with_long_fmt() {
        let fmt = fmt_body(false, 1, 1, 8_000, 2, 12);
        let (_, sink) = decode(&wav(b"RIFF", false, &fmt, &[0x00, 0x40], 2)).expect("12-bit");
        assert_eq!(sink.samples, vec![0.5]);
        let mut fmt = fmt_body(false, 7, 1, 8_000, 1, 8);
        fmt.extend_from_slice(&[0, 0, 0, 0]);
        let (info, sink) = decode(&wav(b"RIFF", false, &fmt, &[0xFF, 0x80], 2)).expect("ulaw");
        assert_eq!(info.codec, "pcm_mulaw");
        assert_eq!(sink.samples, vec![0.0, 32_124.0 / 32_768.0]);
    }

    #[test]
    fn data_past_end_of_file_keeps_whole_frames_and_warns() {
        let fmt = fmt_body(false, 3, 1, 48_000, 4, 32);
        let data: Vec<u8> = [0.5f32, -0.25, 0.125].iter().flat_map(|v| v.to_le_bytes()).collect();
        let (info, sink) = decode(&wav(b"RIFF", false, &fmt, &data[..10], 400)).expect("decode");
        assert_eq!(sink.samples, vec![0.5, -0.25]);
        assert!(info.warnings[0].contains("truncated: decoded 2 of 100"), "{:?}", info.warnings);
    }

    #[test]
    fn unusable_headers_are_errors() {
        let fmt = fmt_body(false, 0x55, 1, 8_000, 1, 8);
        assert!(matches!(decode(&wav(b"RIFF", false, &fmt, &[0; 4], 4)), Err(DecodeError::UnsupportedCodec { .. })));
        let fmt = fmt_body(false, 1, 0, 8_000, 1, 8);
        assert!(matches!(decode(&wav(b"RIFF", false, &fmt, &[0; 4], 4)), Err(DecodeError::Malformed { .. })));
        assert!(matches!(decode(b"RIFF\0\0\0\0WAVE"), Err(DecodeError::Truncated { .. })));
        let fmt = fmt_body(false, 1, 1, 8_000, 2, 16);
        assert!(matches!(decode(&wav(b"RIFF", false, &fmt, &[], 0)), Err(DecodeError::NoSamples { .. })));
    }

    #[test]
    fn g711_tables_hit_known_values() {
        assert_eq!(mulaw_to_i16(0xFF), 0);
        assert_eq!(mulaw_to_i16(0x00), -32_124);
        assert_eq!(mulaw_to_i16(0x80), 32_124);
        assert_eq!(alaw_to_i16(0xD5), 8);
        assert_eq!(alaw_to_i16(0x55), -8);
        assert_eq!(alaw_to_i16(0xAA), 32_256);
    }

    #[test]
    fn integer_widths_are_left_justified_and_signed() {
        assert_eq!(sample_to_f32(false, Encoding::Int, &[0x00, 0x80]), -1.0);
        assert_eq!(sample_to_f32(false, Encoding::Int, &[0x00, 0x00, 0x40]), 0.5);
        assert_eq!(sample_to_f32(true, Encoding::Int, &[0x40, 0x00, 0x00]), 0.5);
        assert_eq!(sample_to_f32(false, Encoding::Int, &[0, 0, 0, 0, 0xC0]), -0.5);
        assert_eq!(sample_to_f32(false, Encoding::Int, &[0xFF]), 127.0 / 128.0);
    }
}
