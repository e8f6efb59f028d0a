//! Kit queries: one WAV per voice, and `kit.zip` with the WAVs and `kit_info.json`.

use serde_json::{Value, json};

use super::query::BuildError;
use crate::kit::{LayerParams, render_voice};
use crate::media::{wav, zip};
use crate::project::kit::{KitSpec, VoiceSpec};

/// Bump when what `kit_voice` computes or reads changes.
pub const VOICE_VERSION: u32 = 1;
/// Bump when what `kit_zip` computes or reads changes.
pub const ZIP_VERSION: u32 = 1;

pub const VOICE_BITS: u16 = 24;

fn layer_json(l: &LayerParams) -> Value {
    json!({
        "gain_db": l.gain_db,
        "mute": l.mute,
        "adsr": l.adsr.as_ref().map(|a| json!({
            "attack_ms": a.attack_ms, "decay_ms": a.decay_ms, "sustain": a.sustain,
            "release_ms": a.release_ms, "gate_ms": a.gate_ms,
        })),
    })
}

/// The voice's parameters as written in `kit_info.json` and hashed into its key.
fn voice_json(voice: &VoiceSpec) -> Value {
    let layers: serde_json::Map<String, Value> =
        voice.params.layers.iter().map(|(k, l)| (k.clone(), layer_json(l))).collect();
    json!({
        "instrument": voice.instrument.name(),
        "seed": voice.seed,
        "params": voice.params.values,
        "layers": layers,
    })
}

pub fn voice_params(sample_rate_hz: u32, voice: &VoiceSpec) -> Value {
    json!({ "sample_rate_hz": sample_rate_hz, "bits": VOICE_BITS, "voice": voice_json(voice) })
}

pub fn compute_voice(id: &str, sample_rate_hz: u32, voice: &VoiceSpec) -> Result<Vec<u8>, BuildError> {
    let samples = render_voice(voice.instrument, &voice.params, voice.seed, sample_rate_hz);
    if samples.iter().any(|x| !x.is_finite()) {
        return Err(BuildError::failed(id, "the voice rendered non-finite samples"));
    }
    wav::encode_pcm(&[&samples], sample_rate_hz, VOICE_BITS).map_err(|e| BuildError::failed(id, e.to_string()))
}

fn kit_info(kit: &KitSpec) -> Value {
    let slots: serde_json::Map<String, Value> = kit
        .voices
        .iter()
        .map(|v| {
            let mut slot = voice_json(v);
            slot["file"] = json!(super::targets::voice_file(v.instrument));
            (v.instrument.name().to_string(), slot)
        })
        .collect();
    let name = kit.id.strip_prefix("kit.").unwrap_or(&kit.id);
    json!({ "name": name, "sample_rate_hz": kit.sample_rate_hz, "bits": VOICE_BITS, "slots": slots })
}

pub fn zip_params(kit: &KitSpec) -> Value {
    kit_info(kit)
}

/// `voices` are the WAV bytes of each voice, in `kit.voices` order.
pub fn compute_zip(id: &str, kit: &KitSpec, voices: &[Vec<u8>]) -> Result<Vec<u8>, BuildError> {
    let info = serde_json::to_vec_pretty(&kit_info(kit)).map_err(|e| BuildError::failed(id, e.to_string()))?;
    let names: Vec<String> = kit.voices.iter().map(|v| super::targets::voice_file(v.instrument)).collect();
    let mut entries: Vec<(&str, &[u8])> = vec![("kit_info.json", &info)];
    entries.extend(names.iter().map(String::as_str).zip(voices.iter().map(Vec::as_slice)));
    zip::write_zip(&entries).map_err(|e| BuildError::failed(id, format!("writing the zip: {e}")))
}
