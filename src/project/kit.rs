//! `[kit.NAME]` recipes → `KitSpec`: kit-wide settings plus one validated voice per
//! `[kit.NAME.kick|snare|hat]` subtable, driven by each instrument's parameter schema.

use std::collections::BTreeMap;

use crate::dsp::envelope::Adsr;
use crate::kit::schema::LAYER_SCHEMA;
use crate::kit::{Instrument, LayerParams, VoiceParams};

use super::reader::TableReader;

#[derive(Debug, Clone, PartialEq)]
pub struct VoiceSpec {
    pub instrument: Instrument,
    pub seed: u64,
    pub params: VoiceParams,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KitSpec {
    /// Target id, e.g. `kit.demo`.
    pub id: String,
    pub sample_rate_hz: u32,
    /// In instrument order (kick, snare, hat); only the instruments the recipe names.
    pub voices: Vec<VoiceSpec>,
}

// Specs are validated: no NaN can reach them, so equality is an equivalence.
impl Eq for KitSpec {}
impl Eq for VoiceSpec {}

pub const KIT_SAMPLE_RATES_HZ: [i64; 2] = [44_100, 48_000];
pub const MAX_SEED: i64 = (1 << 53) - 1;

impl KitSpec {
    pub fn voice(&self, instrument: Instrument) -> Option<&VoiceSpec> {
        self.voices.iter().find(|v| v.instrument == instrument)
    }
}

pub fn read(t: &TableReader<'_>, id: &str, project_rate_hz: u32) -> KitSpec {
    let default_rate = if KIT_SAMPLE_RATES_HZ.contains(&i64::from(project_rate_hz)) { project_rate_hz } else { 48_000 };
    let sample_rate_hz = t.int_choice("sample_rate", i64::from(default_rate), &KIT_SAMPLE_RATES_HZ) as u32;
    let mut voices = Vec::new();
    for inst in Instrument::ALL {
        if let Some(v) = t.table(inst.name()) {
            voices.push(read_voice(&v, inst));
            v.finish();
        }
    }
    if voices.is_empty() && t.ctx().is_empty() {
        t.error("", "a kit needs at least one voice table: [kit.NAME.kick], [kit.NAME.snare] or [kit.NAME.hat]");
    }
    t.finish();
    KitSpec { id: id.to_string(), sample_rate_hz, voices }
}

fn read_voice(v: &TableReader<'_>, inst: Instrument) -> VoiceSpec {
    let seed = v.int("seed", 0, 0, MAX_SEED) as u64;
    let mut params = VoiceParams::defaults(inst);
    for spec in inst.schema() {
        let x = v.f64(spec.name, spec.default, spec.min, spec.max, spec.unit);
        params.values.insert(spec.name.to_string(), x);
    }
    if let Some(layers) = v.table("layer") {
        for &layer in inst.layers() {
            if let Some(l) = layers.table(layer) {
                params.layers.insert(layer.to_string(), read_layer(&l));
                l.finish();
            }
        }
        layers.finish();
    }
    VoiceSpec { instrument: inst, seed, params }
}

fn read_layer(l: &TableReader<'_>) -> LayerParams {
    let mut values = BTreeMap::new();
    let mut mute = false;
    for spec in LAYER_SCHEMA {
        if spec.name == "mute" {
            mute = l.bool("mute", false);
        } else {
            values.insert(spec.name, l.f64(spec.name, spec.default, spec.min, spec.max, spec.unit));
        }
    }
    const ENVELOPE_KEYS: [&str; 5] = ["attack_ms", "decay_ms", "sustain", "release_ms", "gate_ms"];
    let adsr = ENVELOPE_KEYS.iter().any(|k| l.get(k).is_some()).then(|| Adsr {
        attack_ms: values["attack_ms"],
        decay_ms: values["decay_ms"],
        sustain: values["sustain"],
        release_ms: values["release_ms"],
        gate_ms: values["gate_ms"],
    });
    LayerParams { gain_db: values["gain_db"], mute, adsr }
}
