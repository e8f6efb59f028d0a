//! Opus encoding (and decoding, for checks) of 48 kHz PCM for the MP4 muxer, through
//! `unsafe-libopus` (libopus 1.3.1 translated to Rust: no C toolchain, same bits everywhere).
//!
//! The encoder runs at fixed settings (application "audio", complexity 10, constrained VBR at
//! the given bitrate), one 20 ms packet at a time, so the same samples give the same packets.
//! The input is padded with silence so that, after the decoder drops `pre_skip` samples,
//! every real sample comes back.

use unsafe_libopus::{
    OPUS_APPLICATION_AUDIO, OPUS_GET_LOOKAHEAD_REQUEST, OPUS_OK, OPUS_SET_BITRATE_REQUEST, OPUS_SET_COMPLEXITY_REQUEST,
    OpusDecoder, OpusEncoder, opus_decode_float, opus_decoder_create, opus_decoder_destroy, opus_encode_float,
    opus_encoder_create, opus_encoder_ctl, opus_encoder_destroy, opus_packet_get_nb_samples,
};

pub use super::video_error::VideoError;

/// Opus always runs at 48 kHz here.
pub const OPUS_SAMPLE_RATE_HZ: u32 = 48_000;
/// Samples per channel in one packet: 20 ms at 48 kHz.
pub const OPUS_FRAME_SAMPLES: usize = 960;
/// Allowed bitrates (libopus' own limits).
pub const BITRATE_RANGE_BPS: std::ops::RangeInclusive<u32> = 6_000..=510_000;
/// The largest packet libopus produces for one frame is 1275 bytes per stream.
const MAX_PACKET_BYTES: usize = 1500;

/// Opus-encoded audio ready to be muxed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpusAudio {
    pub channels: u16,
    /// Samples per channel (at 48 kHz) a decoder drops at the start: the encoder's lookahead.
    pub pre_skip: u16,
    /// One packet per 20 ms.
    pub packets: Vec<Vec<u8>>,
    /// Real samples per channel at 48 kHz, excluding pre-skip and end padding.
    pub samples: u64,
}

impl OpusAudio {
    /// Duration of the real audio in seconds.
    pub fn duration_s(&self) -> f64 {
        self.samples as f64 / f64::from(OPUS_SAMPLE_RATE_HZ)
    }
}

/// Owns a libopus encoder and frees it on drop.
struct EncoderHandle(*mut OpusEncoder);

impl Drop for EncoderHandle {
    fn drop(&mut self) {
        // SAFETY: the pointer came from opus_encoder_create and is freed exactly once.
        unsafe { opus_encoder_destroy(self.0) }
    }
}

/// Owns a libopus decoder and frees it on drop.
struct DecoderHandle(*mut OpusDecoder);

impl Drop for DecoderHandle {
    fn drop(&mut self) {
        // SAFETY: the pointer came from opus_decoder_create and is freed exactly once.
        unsafe { opus_decoder_destroy(self.0) }
    }
}

fn opus_err(what: &str, code: i32) -> VideoError {
    VideoError::Opus { detail: format!("{what} returned error code {code}") }
}

fn check_channels(channels: u16) -> Result<(), VideoError> {
    if channels == 1 || channels == 2 { Ok(()) } else { Err(VideoError::Channels { channels }) }
}

fn new_encoder(channels: u16, bitrate_bps: u32) -> Result<(EncoderHandle, u16), VideoError> {
    let mut error = 0i32;
    // SAFETY: plain constructor call; the result is checked for null and error before use.
    let ptr = unsafe {
        opus_encoder_create(OPUS_SAMPLE_RATE_HZ as i32, i32::from(channels), OPUS_APPLICATION_AUDIO, &mut error)
    };
    if ptr.is_null() || error != OPUS_OK {
        return Err(opus_err("opus_encoder_create", error));
    }
    let encoder = EncoderHandle(ptr);
    let mut lookahead = 0i32;
    // SAFETY: `encoder.0` is a live encoder; each request takes the argument type passed.
    unsafe {
        let code = opus_encoder_ctl!(encoder.0, OPUS_SET_BITRATE_REQUEST, bitrate_bps as i32);
        if code != OPUS_OK {
            return Err(opus_err("OPUS_SET_BITRATE", code));
        }
        let code = opus_encoder_ctl!(encoder.0, OPUS_SET_COMPLEXITY_REQUEST, 10i32);
        if code != OPUS_OK {
            return Err(opus_err("OPUS_SET_COMPLEXITY", code));
        }
        let code = opus_encoder_ctl!(encoder.0, OPUS_GET_LOOKAHEAD_REQUEST, &mut lookahead);
        if code != OPUS_OK {
            return Err(opus_err("OPUS_GET_LOOKAHEAD", code));
        }
    }
    let pre_skip = u16::try_from(lookahead).map_err(|_| VideoError::PreSkip { pre_skip: lookahead as u64 })?;
    Ok((encoder, pre_skip))
}

/// Encode one frame of `OPUS_FRAME_SAMPLES * channels` interleaved samples.
fn encode_frame(encoder: &EncoderHandle, frame: &[f32]) -> Result<Vec<u8>, VideoError> {
    let mut packet = vec![0u8; MAX_PACKET_BYTES];
    // SAFETY: `frame` holds one full frame for the encoder's channel count and `packet` has
    // MAX_PACKET_BYTES of room; libopus writes at most that many bytes.
    let len = unsafe {
        opus_encode_float(
            encoder.0,
            frame.as_ptr(),
            OPUS_FRAME_SAMPLES as i32,
            packet.as_mut_ptr(),
            MAX_PACKET_BYTES as i32,
        )
    };
    if len <= 0 {
        return Err(opus_err("opus_encode_float", len));
    }
    packet.truncate(len as usize);
    Ok(packet)
}

/// Encode interleaved f32 PCM at 48 kHz (1 or 2 channels) to Opus. Deterministic.
pub fn encode_opus(pcm: &[f32], channels: u16, bitrate_bps: u32) -> Result<OpusAudio, VideoError> {
    check_channels(channels)?;
    let ch = usize::from(channels);
    if !pcm.len().is_multiple_of(ch) {
        return Err(VideoError::RaggedPcm { len: pcm.len(), channels });
    }
    encode_opus_with(pcm.len() / ch, channels, bitrate_bps, |first, out| {
        out.copy_from_slice(&pcm[first * ch..first * ch + out.len()]);
        Ok(())
    })
}

/// [`encode_opus`] of `samples` interleaved frames that `read(first, out)` delivers piece by
/// piece, in order (frames `first ..`, `out` a whole number of frames, never past the end),
/// so the audio is never held whole. The same samples give the same bytes as [`encode_opus`].
pub fn encode_opus_with(
    samples: usize,
    channels: u16,
    bitrate_bps: u32,
    mut read: impl FnMut(usize, &mut [f32]) -> Result<(), VideoError>,
) -> Result<OpusAudio, VideoError> {
    check_channels(channels)?;
    if !BITRATE_RANGE_BPS.contains(&bitrate_bps) {
        return Err(VideoError::Bitrate { bitrate_bps });
    }
    if samples == 0 {
        return Err(VideoError::NoSamples);
    }
    let ch = usize::from(channels);
    let (encoder, pre_skip) = new_encoder(channels, bitrate_bps)?;
    // Feed pre_skip extra samples of silence so the lookahead is flushed, then pad to whole frames.
    let frames = (samples + usize::from(pre_skip)).div_ceil(OPUS_FRAME_SAMPLES);
    let mut packets = Vec::with_capacity(frames);
    let mut buffer = vec![0f32; OPUS_FRAME_SAMPLES * ch];
    for f in 0..frames {
        let first = (f * OPUS_FRAME_SAMPLES).min(samples);
        let n = (samples - first).min(OPUS_FRAME_SAMPLES);
        buffer.fill(0.0);
        if n > 0 {
            read(first, &mut buffer[..n * ch])?;
            if let Some(i) = buffer[..n * ch].iter().position(|s| !s.is_finite()) {
                return Err(VideoError::NonFiniteSample { index: first * ch + i, value: buffer[i].to_string() });
            }
        }
        packets.push(encode_frame(&encoder, &buffer)?);
    }
    Ok(OpusAudio { channels, pre_skip, packets, samples: samples as u64 })
}

/// One packet of digital silence, as the encoder for `channels` makes it from a fresh state.
/// Used to pad an audio track to the length of its video.
pub fn silent_packet(channels: u16) -> Result<Vec<u8>, VideoError> {
    check_channels(channels)?;
    let (encoder, _) = new_encoder(channels, 64_000)?;
    encode_frame(&encoder, &vec![0f32; OPUS_FRAME_SAMPLES * usize::from(channels)])
}

/// Samples per channel that one Opus packet decodes to at 48 kHz, or `None` if it is invalid.
pub fn packet_samples(packet: &[u8]) -> Option<usize> {
    if packet.is_empty() || packet.len() > i32::MAX as usize {
        return None;
    }
    // SAFETY: reads `packet.len()` bytes from a live slice.
    let n = unsafe { opus_packet_get_nb_samples(packet.as_ptr(), packet.len() as i32, OPUS_SAMPLE_RATE_HZ as i32) };
    usize::try_from(n).ok().filter(|&n| n > 0)
}

/// Decode Opus audio back to interleaved f32 PCM: pre-skip dropped, cut to `samples` per channel.
pub fn decode_opus(audio: &OpusAudio) -> Result<Vec<f32>, VideoError> {
    check_channels(audio.channels)?;
    let ch = usize::from(audio.channels);
    let mut error = 0i32;
    // SAFETY: plain constructor call; the result is checked for null and error before use.
    let ptr = unsafe { opus_decoder_create(OPUS_SAMPLE_RATE_HZ as i32, i32::from(audio.channels), &mut error) };
    if ptr.is_null() || error != OPUS_OK {
        return Err(opus_err("opus_decoder_create", error));
    }
    let decoder = DecoderHandle(ptr);
    // 120 ms is the longest an Opus packet can be.
    let max_frame = OPUS_SAMPLE_RATE_HZ as usize * 120 / 1000;
    let mut frame = vec![0f32; max_frame * ch];
    let mut pcm = Vec::with_capacity(audio.packets.len() * OPUS_FRAME_SAMPLES * ch);
    for (index, packet) in audio.packets.iter().enumerate() {
        if packet_samples(packet).is_none() {
            return Err(VideoError::OpusPacket { index });
        }
        // SAFETY: `packet` is a live slice; `frame` has room for `max_frame` samples per channel.
        let n = unsafe {
            opus_decode_float(decoder.0, packet.as_ptr(), packet.len() as i32, frame.as_mut_ptr(), max_frame as i32, 0)
        };
        if n < 0 {
            return Err(opus_err("opus_decode_float", n));
        }
        pcm.extend_from_slice(&frame[..n as usize * ch]);
    }
    let skip = (usize::from(audio.pre_skip) * ch).min(pcm.len());
    let end = (skip + audio.samples as usize * ch).min(pcm.len());
    Ok(pcm[skip..end].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq_hz: f32, seconds: f32, channels: usize) -> Vec<f32> {
        let n = (seconds * OPUS_SAMPLE_RATE_HZ as f32) as usize;
        (0..n)
            .flat_map(|i| {
                let s = 0.5 * (std::f32::consts::TAU * freq_hz * i as f32 / OPUS_SAMPLE_RATE_HZ as f32).sin();
                std::iter::repeat_n(s, channels)
            })
            .collect()
    }

    #[test]
    fn a_sine_round_trips_with_small_error_and_the_right_packet_count() {
        let pcm = sine(440.0, 1.0, 2);
        let audio = encode_opus(&pcm, 2, 128_000).unwrap();
        assert_eq!(audio.pre_skip, 312);
        assert_eq!(audio.samples, 48_000);
        // (48000 + 312) / 960 rounded up.
        assert_eq!(audio.packets.len(), 51);
        assert!(audio.packets.iter().all(|p| packet_samples(p) == Some(OPUS_FRAME_SAMPLES)));
        let back = decode_opus(&audio).unwrap();
        assert_eq!(back.len(), pcm.len());
        // Skip the first 20 ms (encoder start-up) and compare the rest.
        let (a, b) = (&pcm[1920..], &back[1920..]);
        let err: f64 = a.iter().zip(b).map(|(x, y)| f64::from(x - y).powi(2)).sum::<f64>() / a.len() as f64;
        let sig: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>() / a.len() as f64;
        let snr_db = 10.0 * (sig / err).log10();
        assert!(snr_db > 20.0, "SNR {snr_db:.1} dB");
        assert_eq!(encode_opus(&pcm, 2, 128_000).unwrap(), audio);
    }

    #[test]
    fn mono_works_and_bad_input_is_an_error() {
        let audio = encode_opus(&sine(220.0, 0.1, 1), 1, 64_000).unwrap();
        assert_eq!(audio.channels, 1);
        assert_eq!(audio.packets.len(), (4800 + 312usize).div_ceil(960));
        assert!(matches!(encode_opus(&[0.0; 6], 3, 64_000), Err(VideoError::Channels { channels: 3 })));
        assert!(matches!(encode_opus(&[0.0; 3], 2, 64_000), Err(VideoError::RaggedPcm { len: 3, channels: 2 })));
        assert!(matches!(encode_opus(&[], 2, 64_000), Err(VideoError::NoSamples)));
        assert!(matches!(encode_opus(&[0.0, f32::NAN], 1, 64_000), Err(VideoError::NonFiniteSample { index: 1, .. })));
        assert!(matches!(encode_opus(&[0.0; 2], 1, 1_000), Err(VideoError::Bitrate { bitrate_bps: 1_000 })));
        let e = encode_opus(&[0.0; 6], 3, 64_000).unwrap_err().to_string();
        assert!(e.contains("1 (mono) or 2 (stereo)"), "{e}");
    }

    #[test]
    fn silent_packets_decode_to_silence() {
        let packet = silent_packet(2).unwrap();
        assert_eq!(packet_samples(&packet), Some(OPUS_FRAME_SAMPLES));
        let audio = OpusAudio { channels: 2, pre_skip: 0, packets: vec![packet; 3], samples: 2880 };
        assert!(decode_opus(&audio).unwrap().iter().all(|s| s.abs() < 1e-4));
    }
}
