//! WAV encoding (PCM 16/24-bit) and decoding of WAV blobs, through hound. Deterministic:
//! the same samples always give the same bytes.

use std::io::Cursor;

#[derive(Debug, thiserror::Error)]
pub enum WavError {
    #[error("channels have different lengths")]
    Ragged,
    #[error("no channels")]
    NoChannels,
    #[error("{0}")]
    Hound(#[from] hound::Error),
}

/// Float sample to a signed integer of `bits`, clamped to full scale, rounded half away from 0.
fn quantize(x: f32, bits: u16) -> i32 {
    let full = ((1i64 << (bits - 1)) - 1) as f64;
    let x = if x.is_finite() { f64::from(x).clamp(-1.0, 1.0) } else { 0.0 };
    (x * full).round() as i32
}

/// Encode planar channels as interleaved integer PCM WAV bytes.
pub fn encode_pcm(channels: &[&[f32]], sample_rate_hz: u32, bits: u16) -> Result<Vec<u8>, WavError> {
    let first = channels.first().ok_or(WavError::NoChannels)?;
    if channels.iter().any(|c| c.len() != first.len()) {
        return Err(WavError::Ragged);
    }
    let spec = hound::WavSpec {
        channels: channels.len() as u16,
        sample_rate: sample_rate_hz,
        bits_per_sample: bits,
        sample_format: hound::SampleFormat::Int,
    };
    let mut cursor = Cursor::new(Vec::with_capacity(first.len() * channels.len() * usize::from(bits / 8) + 64));
    {
        let mut w = hound::WavWriter::new(&mut cursor, spec)?;
        for i in 0..first.len() {
            for c in channels {
                w.write_sample(quantize(c[i], bits))?;
            }
        }
        w.finalize()?;
    }
    Ok(cursor.into_inner())
}

/// Decoded WAV: planar f32 channels in [-1, 1] and the sample rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Wav {
    pub channels: Vec<Vec<f32>>,
    pub sample_rate_hz: u32,
}

/// Decode WAV bytes (integer PCM or float) into planar f32.
pub fn decode(bytes: &[u8]) -> Result<Wav, WavError> {
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
