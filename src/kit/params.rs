//! Validated voice parameters: schema values plus per-layer gain, mute and optional ADSR.
//!
//! Values are validated where recipes are read (`project::kit`, against the ranges of
//! [`crate::kit::schema`]); here they are only held, and clamped into range when read.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::dsp::envelope::Adsr;
use crate::dsp::level::db_to_lin;
use crate::kit::schema::{Instrument, ParamSpec, layer_param};

/// Per-layer controls. The default (0 dB, not muted, no envelope) reproduces the legacy sound.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LayerParams {
    /// Gain in dB, in `[-60, 24]`.
    pub gain_db: f64,
    /// Remove the layer (gain −∞): it is not rendered at all.
    pub mute: bool,
    /// Optional envelope multiplied onto the layer from its onset; `None` means ≡ 1.
    pub adsr: Option<Adsr>,
}

impl Default for LayerParams {
    fn default() -> Self {
        Self { gain_db: 0.0, mute: false, adsr: None }
    }
}

impl LayerParams {
    /// Linear gain: 0 when muted, `10^(gain_db/20)` otherwise.
    pub fn gain_lin(&self) -> f64 {
        if self.mute { 0.0 } else { db_to_lin(self.gain_db) }
    }

    /// Build from validated values of the layer keys of [`crate::kit::LAYER_SCHEMA`]
    /// (`value(key)`; `None` takes the key's default; `mute` as 0/1). `envelope` turns the ADSR
    /// on (a recipe does so by naming any of [`crate::kit::schema::ENVELOPE_KEYS`]).
    pub fn from_values(value: impl Fn(&str) -> Option<f64>, envelope: bool) -> Self {
        let get = |name: &str| {
            let spec = layer_param(name);
            let v = value(name).or(spec.map(|s| s.default)).unwrap_or(0.0);
            spec.map_or(v, |s| s.clamp(v))
        };
        let adsr = envelope.then(|| Adsr {
            attack_ms: get("attack_ms"),
            decay_ms: get("decay_ms"),
            sustain: get("sustain"),
            release_ms: get("release_ms"),
            gate_ms: get("gate_ms"),
        });
        Self { gain_db: get("gain_db"), mute: get("mute") == 1.0, adsr }
    }

    /// Multiply `buf` (sample 0 = the layer's onset) by the gain and envelope.
    pub fn apply(&self, buf: &mut [f64], sample_rate_hz: f64) {
        let g = self.gain_lin();
        if g != 1.0 {
            for x in buf.iter_mut() {
                *x *= g;
            }
        }
        if let Some(adsr) = &self.adsr {
            adsr.apply(buf, sample_rate_hz);
        }
    }
}

/// Complete, validated parameters of one voice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VoiceParams {
    /// Every schema parameter of the instrument, in range.
    pub values: BTreeMap<String, f64>,
    /// Every layer of the instrument.
    pub layers: BTreeMap<String, LayerParams>,
}

impl VoiceParams {
    /// Schema defaults and default layers.
    pub fn defaults(inst: Instrument) -> Self {
        Self {
            values: inst.schema().iter().map(|p| (p.name.to_string(), p.default)).collect(),
            layers: inst.layers().iter().map(|l| (l.to_string(), LayerParams::default())).collect(),
        }
    }

    /// The value of `spec`, clamped into range (default when absent or NaN), so rendering never
    /// sees an out-of-range value even from hand-built params.
    pub fn value(&self, spec: &ParamSpec) -> f64 {
        self.values.get(spec.name).map_or(spec.default, |&v| spec.clamp(v))
    }

    /// The controls of `layer` (defaults when absent).
    pub fn layer(&self, layer: &str) -> LayerParams {
        self.layers.get(layer).copied().unwrap_or_default()
    }
}

/// Reads a voice's values by name through its schema.
pub(crate) struct Knobs<'a> {
    pub inst: Instrument,
    pub params: &'a VoiceParams,
}

impl Knobs<'_> {
    /// The clamped value of `name`; 0 for a name outside the schema (a programming error,
    /// caught by the engines' tests).
    pub fn get(&self, name: &str) -> f64 {
        debug_assert!(self.inst.param(name).is_some(), "unknown param {name}");
        self.inst.param(name).map_or(0.0, |s| self.params.value(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_complete() {
        for inst in Instrument::ALL {
            let p = VoiceParams::defaults(inst);
            assert_eq!(p.values.len(), inst.schema().len());
            assert_eq!(p.layers.len(), inst.layers().len());
        }
    }

    #[test]
    fn layer_from_values_fills_defaults_and_clamps() {
        let values = BTreeMap::from([("gain_db", -6.0), ("attack_ms", 2.0), ("mute", 1.0)]);
        let l = LayerParams::from_values(|k| values.get(k).copied(), true);
        assert_eq!(l.gain_db, -6.0);
        assert!(l.mute);
        let adsr = l.adsr.expect("envelope on");
        assert_eq!(adsr.attack_ms, 2.0);
        assert_eq!(adsr.sustain, 1.0);
        assert_eq!(adsr.gate_ms, 4000.0);
        assert_eq!(LayerParams::from_values(|_| None, false), LayerParams::default());
        let wild = LayerParams::from_values(|k| (k == "gain_db").then_some(1e9), false);
        assert_eq!(wild.gain_db, 24.0);
    }

    #[test]
    fn gain_and_mute() {
        let lp = LayerParams { mute: true, ..LayerParams::default() };
        assert_eq!(lp.gain_lin(), 0.0);
        assert_eq!(LayerParams::default().gain_lin(), 1.0);
        let mut buf = vec![1.0; 4];
        lp.apply(&mut buf, 48_000.0);
        assert!(buf.iter().all(|&x| x == 0.0));
    }

    #[test]
    fn value_clamps_hand_built_params() {
        let mut p = VoiceParams::defaults(Instrument::Kick);
        p.values.insert("tune".into(), 1e9);
        let spec = Instrument::Kick.param("tune").expect("tune");
        assert_eq!(p.value(spec), 120.0);
        p.values.remove("tune");
        assert_eq!(p.value(spec), 55.0);
    }
}
