//! Validated voice parameters: schema values plus per-layer gain, mute and optional ADSR.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::dsp::envelope::Adsr;
use crate::dsp::level::db_to_lin;
use crate::kit::schema::{Instrument, LAYER_SCHEMA, ParamSpec, layer_param};

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

    /// Build from the keys of a layer table (`mute` as 0/1), validating every key against
    /// [`LAYER_SCHEMA`]. Error keys read `layer.<layer>.<key>`. Any envelope key present turns
    /// the ADSR on, missing envelope keys taking their schema defaults.
    pub fn from_values(layer: &str, values: &BTreeMap<String, f64>) -> Result<Self, Vec<ParamError>> {
        let mut errors = Vec::new();
        let mut get = |name: &str| -> Option<f64> {
            let spec = layer_param(name)?;
            let v = values.get(name).copied()?;
            match check(spec, &format!("layer.{layer}.{name}"), v) {
                Ok(v) => Some(v),
                Err(e) => {
                    errors.push(e);
                    None
                }
            }
        };
        let gain_db = get("gain_db").unwrap_or(0.0);
        let mute = get("mute").is_some_and(|v| v == 1.0);
        let env_keys = ["attack_ms", "decay_ms", "sustain", "release_ms", "gate_ms"];
        let has_env = env_keys.iter().any(|k| values.contains_key(*k));
        let mut env = |name: &str| {
            let default = layer_param(name).map_or(0.0, |p| p.default);
            get(name).unwrap_or(default)
        };
        let adsr = Adsr {
            attack_ms: env("attack_ms"),
            decay_ms: env("decay_ms"),
            sustain: env("sustain"),
            release_ms: env("release_ms"),
            gate_ms: env("gate_ms"),
        };
        for key in values.keys() {
            if layer_param(key).is_none() {
                errors.push(ParamError::UnknownKey {
                    key: format!("layer.{layer}.{key}"),
                    suggestion: closest(key, LAYER_SCHEMA.iter().map(|p| p.name)),
                    allowed: LAYER_SCHEMA.iter().map(|p| p.name).collect(),
                });
            }
        }
        if errors.is_empty() { Ok(Self { gain_db, mute, adsr: has_env.then_some(adsr) }) } else { Err(errors) }
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

    /// Validate user values (missing keys take defaults) and layer tables; reports every
    /// problem at once. Error keys are relative to the voice table (`tune`,
    /// `layer.punch.gain_db`); the caller adds file and table context.
    pub fn from_values(
        inst: Instrument,
        values: &BTreeMap<String, f64>,
        layers: &BTreeMap<String, BTreeMap<String, f64>>,
    ) -> Result<Self, Vec<ParamError>> {
        let mut out = Self::defaults(inst);
        let mut errors = Vec::new();
        for (key, &v) in values {
            match inst.param(key) {
                Some(spec) => match check(spec, key, v) {
                    Ok(v) => {
                        out.values.insert(key.clone(), v);
                    }
                    Err(e) => errors.push(e),
                },
                None => errors.push(ParamError::UnknownKey {
                    key: key.clone(),
                    suggestion: closest(key, inst.schema().iter().map(|p| p.name)),
                    allowed: inst.schema().iter().map(|p| p.name).collect(),
                }),
            }
        }
        for (layer, table) in layers {
            if !inst.layers().contains(&layer.as_str()) {
                errors.push(ParamError::UnknownLayer {
                    key: format!("layer.{layer}"),
                    suggestion: closest(layer, inst.layers().iter().copied()),
                    allowed: inst.layers().to_vec(),
                });
                continue;
            }
            match LayerParams::from_values(layer, table) {
                Ok(lp) => {
                    out.layers.insert(layer.clone(), lp);
                }
                Err(mut e) => errors.append(&mut e),
            }
        }
        if errors.is_empty() { Ok(out) } else { Err(errors) }
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

/// A rejected parameter. `key` is relative to the voice table.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamError {
    UnknownKey { key: String, suggestion: Option<&'static str>, allowed: Vec<&'static str> },
    UnknownLayer { key: String, suggestion: Option<&'static str>, allowed: Vec<&'static str> },
    OutOfRange { key: String, value: f64, min: f64, max: f64, unit: &'static str },
    NotFinite { key: String },
    NotBool { key: String, value: f64 },
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamError::UnknownKey { key, suggestion, allowed }
            | ParamError::UnknownLayer { key, suggestion, allowed } => {
                let what = if matches!(self, ParamError::UnknownLayer { .. }) { "layer" } else { "key" };
                write!(f, "unknown {what} `{key}`")?;
                if let Some(s) = suggestion {
                    write!(f, " (did you mean `{s}`?)")?;
                }
                write!(f, "; allowed: {}", allowed.join(", "))
            }
            ParamError::OutOfRange { key, value, min, max, unit } => {
                let unit = if unit.is_empty() { String::new() } else { format!(" {unit}") };
                write!(f, "`{key}` = {value} is out of range; allowed {min}..={max}{unit}")
            }
            ParamError::NotFinite { key } => write!(f, "`{key}` must be a finite number"),
            ParamError::NotBool { key, value } => {
                write!(f, "`{key}` = {value} must be true or false")
            }
        }
    }
}

impl std::error::Error for ParamError {}

/// Validate one value against its spec.
fn check(spec: &ParamSpec, key: &str, value: f64) -> Result<f64, ParamError> {
    if !value.is_finite() {
        return Err(ParamError::NotFinite { key: key.to_string() });
    }
    if spec.unit == "bool" && value != 0.0 && value != 1.0 {
        return Err(ParamError::NotBool { key: key.to_string(), value });
    }
    if !spec.contains(value) {
        return Err(ParamError::OutOfRange {
            key: key.to_string(),
            value,
            min: spec.min,
            max: spec.max,
            unit: spec.unit,
        });
    }
    Ok(value)
}

/// The candidate closest to `name` by edit distance, if it is plausibly a typo
/// (distance ≤ max(1, len/3)).
fn closest(name: &str, candidates: impl Iterator<Item = &'static str>) -> Option<&'static str> {
    let limit = (name.chars().count() / 3).max(1);
    candidates.map(|c| (levenshtein(name, c), c)).filter(|(d, _)| *d <= limit).min_by_key(|(d, _)| *d).map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn defaults_are_complete() {
        for inst in Instrument::ALL {
            let p = VoiceParams::defaults(inst);
            assert_eq!(p.values.len(), inst.schema().len());
            assert_eq!(p.layers.len(), inst.layers().len());
        }
    }

    #[test]
    fn from_values_accepts_and_fills() {
        let layers = BTreeMap::from([("punch".to_string(), map(&[("gain_db", -6.0), ("attack_ms", 2.0)]))]);
        let p = VoiceParams::from_values(Instrument::Kick, &map(&[("tune", 60.0)]), &layers).expect("valid");
        assert_eq!(p.values["tune"], 60.0);
        assert_eq!(p.values["blend"], 0.3);
        let punch = p.layer("punch");
        assert_eq!(punch.gain_db, -6.0);
        let adsr = punch.adsr.expect("envelope on");
        assert_eq!(adsr.attack_ms, 2.0);
        assert_eq!(adsr.sustain, 1.0);
        assert_eq!(p.layer("room"), LayerParams::default());
    }

    #[test]
    fn reports_every_error() {
        let layers = BTreeMap::from([
            ("punch".to_string(), map(&[("mute", 0.5), ("gain_bd", 1.0)])),
            ("rooom".to_string(), map(&[])),
        ]);
        let errs = VoiceParams::from_values(
            Instrument::Kick,
            &map(&[("tune", 500.0), ("blnd", 0.1), ("room_air", f64::NAN)]),
            &layers,
        )
        .expect_err("invalid");
        assert_eq!(errs.len(), 6, "{errs:?}");
        let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert!(text.iter().any(|t| t.contains("did you mean `blend`")));
        assert!(text.iter().any(|t| t.contains("did you mean `room`")));
        assert!(text.iter().any(|t| t.contains("did you mean `gain_db`")));
        assert!(text.iter().any(|t| t.contains("30..=120 Hz")));
        assert!(text.iter().any(|t| t.contains("layer.punch.mute")));
        assert!(text.iter().any(|t| t.contains("finite")));
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
        assert_eq!(p.value(spec), 45.0);
    }
}
