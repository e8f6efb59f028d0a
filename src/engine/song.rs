//! Song query: a stereo 24-bit WAV sequenced from a kit's voices.

use serde_json::{Value, json};

use super::query::BuildError;
use crate::media::wav;
use crate::project::song::SongSpec;
use crate::song::{SongParams, SongVoice, render_song};

/// Bump when what `song_wav` computes or reads changes.
pub const SONG_VERSION: u32 = 2;
pub const SONG_BITS: u16 = 24;

pub fn song_params(song: &SongSpec, kit_sample_rate_hz: u32) -> Value {
    let voices: Vec<Value> = song
        .voices
        .iter()
        .map(|v| json!({ "voice": v.voice, "steps": v.steps, "gain_db": v.gain_db, "pan": v.pan }))
        .collect();
    json!({
        "bpm": song.bpm, "bars": song.bars, "steps_per_bar": song.steps_per_bar, "swing": song.swing,
        "sample_rate_hz": song.sample_rate_hz, "kit_sample_rate_hz": kit_sample_rate_hz,
        "bits": SONG_BITS, "voices": voices,
    })
}

/// `voices` are the WAV bytes of each song voice's kit sample, in `song.voices` order.
pub fn compute_song(
    id: &str,
    song: &SongSpec,
    kit_sample_rate_hz: u32,
    voices: &[Vec<u8>],
) -> Result<Vec<u8>, BuildError> {
    let mut samples = Vec::with_capacity(voices.len());
    for (v, bytes) in song.voices.iter().zip(voices) {
        let decoded =
            wav::decode(bytes).map_err(|e| BuildError::failed(id, format!("reading voice {}: {e}", v.voice)))?;
        let mono = decoded.channels.into_iter().next().unwrap_or_default();
        // A kit at another rate (44.1 kHz under a 48 kHz project) is resampled to the song's.
        let mono = crate::dsp::resample::resample_vec(mono, kit_sample_rate_hz, song.sample_rate_hz)
            .map_err(|e| BuildError::failed(id, format!("resampling voice {}: {e}", v.voice)))?;
        samples.push(mono);
    }
    let params = SongParams {
        bpm: song.bpm,
        bars: song.bars,
        steps_per_bar: song.steps_per_bar,
        swing: song.swing,
        voices: song
            .voices
            .iter()
            .map(|v| SongVoice { name: v.voice.clone(), steps: v.steps.clone(), gain_db: v.gain_db, pan: v.pan })
            .collect(),
    };
    let refs: Vec<&[f32]> = samples.iter().map(Vec::as_slice).collect();
    let [l, r] = render_song(&params, &refs, song.sample_rate_hz);
    wav::encode_pcm(&[&l, &r], song.sample_rate_hz, SONG_BITS).map_err(|e| BuildError::failed(id, e.to_string()))
}
