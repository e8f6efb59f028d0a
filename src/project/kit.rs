//! `[kit.NAME]` recipes → `KitSpec`: kit-wide settings plus one validated voice per
//! `[kit.NAME.kick|snare|hat]` subtable, driven by each instrument's parameter schema.

use std::collections::BTreeMap;

use crate::kit::schema::{ENVELOPE_KEYS, LAYER_SCHEMA};
use crate::kit::{Instrument, LayerParams, ParamSpec, VoiceParams};

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
        params.values.insert(spec.name.to_string(), read_spec(v, spec));
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

/// One key, validated against its spec: range and unit, or `true`/`false` for a `bool` spec.
fn read_spec(t: &TableReader<'_>, spec: &ParamSpec) -> f64 {
    if spec.unit == "bool" {
        f64::from(u8::from(t.bool(spec.name, spec.default != 0.0)))
    } else {
        t.f64(spec.name, spec.default, spec.min, spec.max, spec.unit)
    }
}

/// A `[kit.NAME.VOICE.layer.LAYER]` table: every key of [`LAYER_SCHEMA`]; naming any
/// envelope key turns the layer's ADSR on.
fn read_layer(l: &TableReader<'_>) -> LayerParams {
    let values: BTreeMap<&str, f64> = LAYER_SCHEMA.iter().map(|spec| (spec.name, read_spec(l, spec))).collect();
    let envelope = ENVELOPE_KEYS.iter().any(|k| l.get(k).is_some());
    LayerParams::from_values(|k| values.get(k).copied(), envelope)
}

#[cfg(test)]
mod tests {
    use super::super::reader::Ctx;
    use super::super::value::parse;
    use super::*;

    fn read_kit(toml: &str) -> (KitSpec, Vec<String>) {
        let node = parse("kit.toml", toml).expect("toml");
        let ctx = Ctx::default();
        let spec = {
            let t = TableReader::new(&ctx, &node, "kit.demo").expect("table");
            read(&t, "kit.demo", 48_000)
        };
        (spec, ctx.into_diagnostics().iter().map(|d| d.to_string()).collect())
    }

    #[test]
    fn layer_keys_are_validated_by_their_spec() {
        let (_, errors) = read_kit(
            "[kick]\ntune = 60\n[kick.layer.sub]\ngain_db = 30\nmute = 1\nrelease_ms = -1\n\
             [kick.layer.click]\nattak_ms = 2\n[kick.layer.punch]\ngain_db = 0\n",
        );
        assert_eq!(errors.len(), 5, "{errors:#?}");
        assert!(
            errors[0].contains("kick.layer.sub.gain_db: 30 is out of range: allowed -60 to 24 dB"),
            "{}",
            errors[0]
        );
        assert!(errors.iter().any(|e| e.contains("kick.layer.sub.mute: expected true or false")));
        assert!(
            errors.iter().any(|e| e.contains("kick.layer.sub.release_ms: -1 is out of range: allowed 0 to 4000 ms"))
        );
        assert!(
            errors.iter().any(|e| e.contains("kick.layer.click.attak_ms: unknown key (did you mean `attack_ms`?)"))
        );
        assert!(errors.iter().any(|e| e.contains("kick.layer.punch: unknown key")));
    }

    #[test]
    fn layer_values_reach_the_spec() {
        let (spec, errors) =
            read_kit("[hat]\n[hat.layer.air]\ngain_db = -2\nmute = true\n[hat.layer.metal]\ndecay_ms = 80\n");
        assert!(errors.is_empty(), "{errors:?}");
        let hat = spec.voice(Instrument::Hat).expect("hat");
        let air = hat.params.layer("air");
        assert_eq!((air.gain_db, air.mute, air.adsr), (-2.0, true, None));
        let metal = hat.params.layer("metal").adsr.expect("any envelope key turns the ADSR on");
        assert_eq!((metal.decay_ms, metal.sustain, metal.gate_ms), (80.0, 1.0, 4000.0));
    }
}
