//! WAV encoding (integer PCM, 16/24/32-bit: hound's header, samples written directly, whole or
//! a piece at a time) and decoding of WAV blobs through hound. Deterministic: the same samples
//! always give the same bytes, and the bytes are the ones hound writes sample by sample.

use std::io::Cursor;

#[derive(Debug, thiserror::Error)]
pub enum WavError {
    #[error("channels have different lengths")]
    Ragged,
    #[error("no channels")]
    NoChannels,
    #[error("{0} bytes of samples do not fit a WAV file (at most 4 GiB)")]
    TooLong(usize),
    #[error("{0}-bit samples: integer PCM is written at 16, 24 or 32 bits")]
    Bits(u16),
    #[error("{0}")]
    Hound(#[from] hound::Error),
}

/// Float sample to a signed integer of `bits`, clamped to full scale, rounded half away from 0.
///
/// The rounding is `f64::round`'s, spelled with a truncating conversion and an exact remainder
/// (|v| < 2^31, so `v − trunc(v)` is exact): without SSE4.1 in the baseline x86-64 target,
/// `round` is a libm call per sample.
#[inline(always)]
fn quantize(x: f32, bits: u16) -> i32 {
    let full = ((1i64 << (bits - 1)) - 1) as f64;
    let x = if x.is_finite() { f64::from(x).clamp(-1.0, 1.0) } else { 0.0 };
    let v = x * full;
    let t = v as i32;
    let rest = v - f64::from(t);
    // Comparisons as integers, not branches: audio makes them unpredictable.
    t + i32::from(rest >= 0.5) - i32::from(rest <= -0.5)
}

/// Frames quantized at a time by [`interleave`].
const FRAMES: usize = 256;

/// [`interleave`] compiled for AVX2: wider vectors, the same operations, the same bytes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn interleave_avx2(channels: &[&[f32]], bits: u16, out: &mut [u8]) {
    interleave(channels, bits, out);
}

/// Quantize planar channels (all of one length) into interleaved little-endian samples of
/// `bits / 8` bytes: a run of frames is quantized channel by channel (a loop that vectorises),
/// then its bytes are laid out.
#[inline(always)]
fn interleave(channels: &[&[f32]], bits: u16, out: &mut [u8]) {
    let width = usize::from(bits / 8);
    if let [left, right] = channels
        && width == 3
    {
        return interleave_stereo_24(left, right, out);
    }
    let stride = channels.len() * width;
    let mut q = [0i32; FRAMES];
    for (run, frames) in out.chunks_mut(FRAMES * stride).enumerate() {
        let at = run * FRAMES;
        let n = frames.len() / stride;
        for (c, samples) in channels.iter().enumerate() {
            for (q, &x) in q.iter_mut().zip(&samples[at..at + n]) {
                *q = quantize(x, bits);
            }
            let lanes = frames.chunks_exact_mut(stride).map(|f| &mut f[c * width..(c + 1) * width]);
            match width {
                // The stems' and songs' width, written without a length chosen per sample.
                3 => lanes.zip(&q[..n]).for_each(|(o, v)| o.copy_from_slice(&v.to_le_bytes()[..3])),
                _ => lanes.zip(&q[..n]).for_each(|(o, v)| o.copy_from_slice(&v.to_le_bytes()[..width])),
            }
        }
    }
}

/// [`interleave`] for 24-bit stereo (the stems and songs): a frame's six bytes are laid out as
/// one 8-byte store of both samples, whose last two bytes the next frame overwrites.
#[inline(always)]
fn interleave_stereo_24(left: &[f32], right: &[f32], out: &mut [u8]) {
    let (mut ql, mut qr) = ([0i32; FRAMES], [0i32; FRAMES]);
    for (run, frames) in out.chunks_mut(FRAMES * 6).enumerate() {
        let at = run * FRAMES;
        let n = frames.len() / 6;
        for (q, &x) in ql.iter_mut().zip(&left[at..at + n]) {
            *q = quantize(x, 24);
        }
        for (q, &x) in qr.iter_mut().zip(&right[at..at + n]) {
            *q = quantize(x, 24);
        }
        let frame = |j: usize| {
            (u64::from(ql[j] as u32 & 0xff_ffff) | (u64::from(qr[j] as u32 & 0xff_ffff) << 24)).to_le_bytes()
        };
        for j in 0..n.saturating_sub(1) {
            frames[6 * j..6 * j + 8].copy_from_slice(&frame(j));
        }
        if let Some(last) = n.checked_sub(1) {
            frames[6 * last..6 * last + 6].copy_from_slice(&frame(last)[..6]);
        }
    }
}

/// Encode planar channels as interleaved integer PCM WAV bytes.
pub fn encode_pcm(channels: &[&[f32]], sample_rate_hz: u32, bits: u16) -> Result<Vec<u8>, WavError> {
    let first = channels.first().ok_or(WavError::NoChannels)?;
    let mut w = PcmWriter::new(channels.len(), sample_rate_hz, bits, first.len())?;
    w.push(channels)?;
    w.finish()
}

/// hound's header for an integer PCM WAV of no samples (sizes 0 until [`PcmWriter::finish`]).
fn hound_header(channels: usize, sample_rate_hz: u32, bits: u16) -> Result<Vec<u8>, WavError> {
    if channels == 0 {
        return Err(WavError::NoChannels);
    }
    let spec = hound::WavSpec {
        channels: channels as u16,
        sample_rate: sample_rate_hz,
        bits_per_sample: bits,
        sample_format: hound::SampleFormat::Int,
    };
    let mut cursor = Cursor::new(Vec::with_capacity(64));
    hound::WavWriter::new(&mut cursor, spec)?.finalize()?;
    Ok(cursor.into_inner())
}

/// Integer PCM WAV bytes written a piece at a time: the same bytes [`encode_pcm`] gives for the
/// concatenated pieces, without holding the samples whole (a song-long stem is written from
/// block-sized pieces). The header is hound's, written for an empty file and given its sizes
/// when finished.
pub struct PcmWriter {
    bytes: Vec<u8>,
    header_len: usize,
    bits: u16,
    channels: usize,
}

impl PcmWriter {
    /// A writer for `channels` channels; `frames_hint` sizes the buffer (it may be off).
    pub fn new(channels: usize, sample_rate_hz: u32, bits: u16, frames_hint: usize) -> Result<PcmWriter, WavError> {
        if !matches!(bits, 16 | 24 | 32) {
            // hound writes 8-bit WAV as unsigned; not a width this writer offers.
            return Err(WavError::Bits(bits));
        }
        let header = hound_header(channels, sample_rate_hz, bits)?;
        let mut bytes = Vec::with_capacity(header.len() + frames_hint * channels * usize::from(bits / 8));
        bytes.extend_from_slice(&header);
        Ok(PcmWriter { header_len: header.len(), bytes, bits, channels })
    }

    /// Appends one piece: every channel (all of one length), in the writer's channel order.
    pub fn push(&mut self, channels: &[&[f32]]) -> Result<(), WavError> {
        let first = channels.first().ok_or(WavError::NoChannels)?;
        if channels.len() != self.channels || channels.iter().any(|c| c.len() != first.len()) {
            return Err(WavError::Ragged);
        }
        let width = usize::from(self.bits / 8);
        let start = self.bytes.len();
        self.bytes.resize(start + first.len() * channels.len() * width, 0);
        let bytes = &mut self.bytes[start..];
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            unsafe { interleave_avx2(channels, self.bits, bytes) };
            return Ok(());
        }
        interleave(channels, self.bits, bytes);
        Ok(())
    }

    /// The WAV file's bytes (sizes as hound writes them: an odd-sized data chunk is not padded).
    pub fn finish(mut self) -> Result<Vec<u8>, WavError> {
        let data = self.bytes.len() - self.header_len;
        let riff = u32::try_from(self.bytes.len() - 8).map_err(|_| WavError::TooLong(data))?;
        self.bytes[4..8].copy_from_slice(&riff.to_le_bytes());
        let at = self.header_len - 4;
        self.bytes[at..at + 4].copy_from_slice(&(data as u32).to_le_bytes());
        Ok(self.bytes)
    }
}

/// Decoded WAV: planar f32 channels in [-1, 1] and the sample rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Wav {
    pub channels: Vec<Vec<f32>>,
    pub sample_rate_hz: u32,
}

/// Decode WAV bytes (integer PCM or float) into planar f32.
pub fn decode(bytes: &[u8]) -> Result<Wav, WavError> {
    let frames = WavFrames::new(bytes)?;
    let sample_rate_hz = frames.sample_rate_hz;
    Ok(Wav { channels: frames.into_channels(), sample_rate_hz })
}

/// A WAV's frames, read by position from its bytes as [`decode`] gives them: integer PCM whose
/// 16-, 24- or 32-bit samples fill their containers and whose data is whole (what
/// [`PcmWriter`] and most tools write) is converted straight from the bytes, a run at a time;
/// any other layout is decoded whole through hound first.
pub struct WavFrames<'a> {
    samples: Samples<'a>,
    channels: usize,
    frames: usize,
    /// The file's sample rate.
    pub sample_rate_hz: u32,
}

enum Samples<'a> {
    /// Interleaved little-endian integers of `width` bytes, scaled by `scale`.
    Plain {
        data: &'a [u8],
        width: usize,
        scale: f64,
    },
    Decoded(Vec<Vec<f32>>),
}

impl<'a> WavFrames<'a> {
    pub fn new(bytes: &'a [u8]) -> Result<WavFrames<'a>, WavError> {
        let r = hound::WavReader::new(Cursor::new(bytes))?;
        let (spec, len) = (r.spec(), r.len() as usize);
        let data_start = r.into_inner().position() as usize;
        let channels = usize::from(spec.channels.max(1));
        let sample_rate_hz = spec.sample_rate;
        if let Some(samples) = plain_int(bytes, spec, len, data_start) {
            return Ok(WavFrames { samples, channels, frames: len / channels, sample_rate_hz });
        }
        let planes = decode_with_hound(bytes)?.channels;
        let frames = planes.iter().map(Vec::len).max().unwrap_or(0);
        Ok(WavFrames { samples: Samples::Decoded(planes), channels, frames, sample_rate_hz })
    }

    /// Channels in the file.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Frames (samples per channel).
    pub fn len(&self) -> usize {
        self.frames
    }

    /// Whether there is no frame.
    pub fn is_empty(&self) -> bool {
        self.frames == 0
    }

    /// Samples `start .. start + out.len()` of `channel`; past the end of the channel (or of a
    /// channel the file lacks) they read as 0.
    pub fn read(&self, channel: usize, start: usize, out: &mut [f32]) {
        match &self.samples {
            Samples::Plain { data, width, scale } => {
                let block = width * self.channels;
                let first = start.min(self.frames);
                let last = start.saturating_add(out.len()).min(self.frames);
                let n = last - first;
                let frames = data[first * block..last * block].chunks_exact(block);
                let at = channel * width;
                let (head, tail) = out.split_at_mut(n);
                tail.fill(0.0);
                if channel >= self.channels {
                    head.fill(0.0);
                    return;
                }
                // The values hound reads (sign-extended little-endian), scaled as it does.
                match width {
                    2 => head.iter_mut().zip(frames).for_each(|(y, f)| {
                        *y = (f64::from(i16::from_le_bytes([f[at], f[at + 1]])) * scale) as f32;
                    }),
                    3 => head.iter_mut().zip(frames).for_each(|(y, f)| {
                        *y = (f64::from(i32::from_le_bytes([0, f[at], f[at + 1], f[at + 2]]) >> 8) * scale) as f32;
                    }),
                    _ => head.iter_mut().zip(frames).for_each(|(y, f)| {
                        *y = (f64::from(i32::from_le_bytes([f[at], f[at + 1], f[at + 2], f[at + 3]])) * scale) as f32;
                    }),
                }
            }
            Samples::Decoded(planes) => {
                let plane = planes.get(channel).map_or(&[][..], Vec::as_slice);
                for (i, y) in out.iter_mut().enumerate() {
                    *y = start.checked_add(i).and_then(|k| plane.get(k)).copied().unwrap_or(0.0);
                }
            }
        }
    }

    /// Every channel whole.
    pub fn into_channels(self) -> Vec<Vec<f32>> {
        match self.samples {
            Samples::Decoded(planes) => planes,
            Samples::Plain { .. } => (0..self.channels)
                .map(|c| {
                    let mut plane = vec![0.0; self.frames];
                    self.read(c, 0, &mut plane);
                    plane
                })
                .collect(),
        }
    }
}

/// The data of integer PCM whose samples fill their containers, when it is whole.
fn plain_int(bytes: &[u8], spec: hound::WavSpec, len: usize, data_start: usize) -> Option<Samples<'_>> {
    let width = usize::from(spec.bits_per_sample / 8);
    let n_ch = usize::from(spec.channels);
    // The layout as the streaming decoder reads it, which must agree with hound's.
    let (start, data_bytes, block_align) = crate::media::wav_lenient::int_pcm_data(bytes)?;
    let plain = spec.sample_format == hound::SampleFormat::Int
        && matches!(spec.bits_per_sample, 16 | 24 | 32)
        && n_ch > 0
        && len.is_multiple_of(n_ch)
        && block_align == width * n_ch
        && start == data_start
        && data_bytes == len * width;
    if !plain {
        return None;
    }
    let data = bytes.get(data_start..data_start.checked_add(data_bytes)?)?;
    let scale = 1.0 / ((1i64 << (spec.bits_per_sample - 1)) - 1) as f64;
    Some(Samples::Plain { data, width, scale })
}

/// [`decode`] through hound's sample reader: every layout hound reads.
fn decode_with_hound(bytes: &[u8]) -> Result<Wav, WavError> {
    let mut r = hound::WavReader::new(Cursor::new(bytes))?;
    let spec = r.spec();
    let n_ch = usize::from(spec.channels.max(1));
    let mut channels = vec![Vec::with_capacity(r.len() as usize / n_ch); n_ch];
    match spec.sample_format {
        hound::SampleFormat::Float => {
            for (i, s) in r.samples::<f32>().enumerate() {
                channels[i % n_ch].push(s?);
            }
        }
        hound::SampleFormat::Int => {
            let scale = 1.0 / ((1i64 << (spec.bits_per_sample - 1)) - 1) as f64;
            for (i, s) in r.samples::<i32>().enumerate() {
                channels[i % n_ch].push((f64::from(s?) * scale) as f32);
            }
        }
    }
    Ok(Wav { channels, sample_rate_hz: spec.sample_rate })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Integer PCM read straight from the bytes gives hound's samples, whole or by position (past
    /// the end: zeros), at every width and channel count, full scale included; other layouts
    /// (8-bit, float, a truncated data chunk) go through hound.
    #[test]
    fn plain_integer_pcm_reads_as_hound_decodes_it() {
        let wave = |k: usize, n: usize| -> Vec<f32> {
            (0..n).map(|i| ((i * (k + 3)) as f32 * 0.013).sin() * if i % 97 == 0 { 1.0 } else { 0.9 }).collect()
        };
        let plain = |bytes: &[u8]| matches!(WavFrames::new(bytes).unwrap().samples, Samples::Plain { .. });
        for bits in [16u16, 24, 32] {
            for n_ch in [1usize, 2, 3] {
                let mut chans: Vec<Vec<f32>> = (0..n_ch).map(|k| wave(k, 5001)).collect();
                for c in &mut chans {
                    c.extend_from_slice(&[1.0, -1.0, 0.0]);
                }
                let refs: Vec<&[f32]> = chans.iter().map(Vec::as_slice).collect();
                let bytes = encode_pcm(&refs, 44_100, bits).unwrap();
                assert!(plain(&bytes));
                let hound = decode_with_hound(&bytes).unwrap().channels;
                assert_eq!(decode(&bytes).unwrap().channels, hound, "{bits} bits, {n_ch} channels");
                let frames = WavFrames::new(&bytes).unwrap();
                let mut run = vec![7.0f32; 300];
                frames.read(n_ch - 1, 4900, &mut run);
                assert_eq!(&run[..104], &hound[n_ch - 1][4900..], "{bits} bits, {n_ch} channels");
                assert!(run[104..].iter().all(|v| *v == 0.0));
                // Cut inside the data: hound's reading of it (an error), not a short read.
                let cut = &bytes[..bytes.len() - 5];
                assert!(decode(cut).is_err());
            }
        }
        let write = |bits: u16, format: hound::SampleFormat| -> Vec<u8> {
            let spec = hound::WavSpec { channels: 1, sample_rate: 8000, bits_per_sample: bits, sample_format: format };
            let mut out = Cursor::new(Vec::new());
            let mut w = hound::WavWriter::new(&mut out, spec).unwrap();
            for i in 0..50i8 {
                match format {
                    hound::SampleFormat::Int => w.write_sample(i).unwrap(),
                    hound::SampleFormat::Float => w.write_sample(f32::from(i) / 64.0).unwrap(),
                }
            }
            w.finalize().unwrap();
            out.into_inner()
        };
        for bytes in [write(8, hound::SampleFormat::Int), write(32, hound::SampleFormat::Float)] {
            assert!(!plain(&bytes));
            let wav = decode(&bytes).unwrap();
            assert_eq!(wav, decode_with_hound(&bytes).unwrap());
            assert!(wav.channels[0][49] > 0.3, "{:?}", wav.channels[0][49]);
            let mut run = [9.0f32; 3];
            WavFrames::new(&bytes).unwrap().read(0, 48, &mut run);
            assert_eq!(run, [wav.channels[0][48], wav.channels[0][49], 0.0]);
        }
    }

    /// The rounding is `f64::round`'s exactly: every half, its neighbours one ulp either side,
    /// full scale and a sweep of values.
    #[test]
    fn quantize_rounds_as_f64_round() {
        for bits in [8u16, 16, 24, 32] {
            let full = ((1i64 << (bits - 1)) - 1) as f64;
            let reference = |x: f32| {
                let x = if x.is_finite() { f64::from(x).clamp(-1.0, 1.0) } else { 0.0 };
                (x * full).round() as i32
            };
            let mut xs: Vec<f32> = vec![0.0, -0.0, 1.0, -1.0, 1.5, -7.0, f32::NAN, f32::INFINITY, f32::MIN_POSITIVE];
            for k in 0..4000 {
                let half = (k as f64 + 0.5) / full * if k % 2 == 0 { 1.0 } else { -1.0 };
                let h = half as f32;
                xs.extend([h, f32::from_bits(h.to_bits() + 1), f32::from_bits(h.to_bits() - 1)]);
            }
            xs.extend((0..100_000).map(|i| (i as f32 / 50_000.0) - 1.0));
            for x in xs {
                assert_eq!(quantize(x, bits), reference(x), "{x} at {bits} bits");
            }
        }
    }

    /// hound writing every sample: the reference the direct writer must equal.
    fn hound_encode(channels: &[&[f32]], sample_rate_hz: u32, bits: u16) -> Vec<u8> {
        let spec = hound::WavSpec {
            channels: channels.len() as u16,
            sample_rate: sample_rate_hz,
            bits_per_sample: bits,
            sample_format: hound::SampleFormat::Int,
        };
        let mut cursor = Cursor::new(Vec::new());
        let mut w = hound::WavWriter::new(&mut cursor, spec).unwrap();
        for i in 0..channels[0].len() {
            for c in channels {
                w.write_sample(quantize(c[i], bits)).unwrap();
            }
        }
        w.finalize().unwrap();
        cursor.into_inner()
    }

    /// Pieces written by `PcmWriter`, and `encode_pcm` of the whole, give hound's bytes for the
    /// whole, at every width, channel count and length (odd data sizes included).
    #[test]
    fn pcm_writer_in_pieces_is_encode_pcm_of_the_whole() {
        assert!(matches!(PcmWriter::new(1, 48_000, 8, 0), Err(WavError::Bits(8))));
        for (channels, bits) in [(2usize, 24u16), (1, 24), (1, 16), (2, 16), (3, 24), (2, 32)] {
            for frames in [0usize, 1, 2, 7, 1000, 4097] {
                let planes: Vec<Vec<f32>> = (0..channels)
                    .map(|c| (0..frames).map(|i| ((i * 31 + c * 7) % 200) as f32 / 100.0 - 1.0).collect())
                    .collect();
                let views: Vec<&[f32]> = planes.iter().map(Vec::as_slice).collect();
                let whole = hound_encode(&views, 48_000, bits);
                assert_eq!(encode_pcm(&views, 48_000, bits).unwrap(), whole);
                let mut w = PcmWriter::new(channels, 48_000, bits, 10).unwrap();
                let mut at = 0usize;
                for piece in [3usize, 500, 1, 4096, usize::MAX] {
                    let end = at.saturating_add(piece).min(frames);
                    let parts: Vec<&[f32]> = planes.iter().map(|p| &p[at..end]).collect();
                    w.push(&parts).unwrap();
                    at = end;
                }
                assert_eq!(w.finish().unwrap(), whole, "{channels} channels, {bits} bits, {frames} frames");
            }
        }
    }

    #[test]
    fn pcm24_round_trips_within_one_lsb() {
        let x: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.01).sin() * 0.9).collect();
        let bytes = encode_pcm(&[&x, &x], 48_000, 24).unwrap();
        assert_eq!(bytes, encode_pcm(&[&x, &x], 48_000, 24).unwrap());
        let wav = decode(&bytes).unwrap();
        assert_eq!(wav.sample_rate_hz, 48_000);
        assert_eq!(wav.channels.len(), 2);
        for (a, b) in x.iter().zip(&wav.channels[1]) {
            assert!((a - b).abs() < 2.0 / 8_388_607.0);
        }
    }

    #[test]
    fn clamps_out_of_range_and_non_finite() {
        assert_eq!(quantize(2.0, 16), 32767);
        assert_eq!(quantize(-2.0, 16), -32767);
        assert_eq!(quantize(f32::NAN, 24), 0);
    }
}
