//! An instrument: a chain of modules, its notes, its lanes and its mix controls — everything one
//! stem is rendered from (besides the song's timing and the sampler's clips).

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use super::automation::Lane;
use super::notes::{Note, NotePattern};
use super::sampler::Layer;
use super::schema::{MIX, ModuleKind, ParamSpec};

/// One module of a chain: its name (for lanes), kind, and a value per schema parameter.
/// Serialized (for cache keys and `explain`) with its values by parameter name.
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleParams {
    pub name: String,
    pub kind: ModuleKind,
    /// In the order of `kind.schema()`.
    pub values: Vec<f64>,
}

impl Serialize for ModuleParams {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View<'a> {
            name: &'a str,
            kind: ModuleKind,
            params: BTreeMap<&'static str, f64>,
        }
        let params = self.kind.schema().iter().enumerate().map(|(i, p)| (p.name, self.value(i))).collect();
        View { name: &self.name, kind: self.kind, params }.serialize(s)
    }
}

/// Lanes by the parameter they drive (`lowpass.cutoff_hz`), so `explain` names the lane.
fn lanes_by_target<S: Serializer>(lanes: &[Lane], s: S) -> Result<S::Ok, S::Error> {
    let map: BTreeMap<String, &Lane> = lanes.iter().map(|l| (format!("{}.{}", l.module, l.parameter), l)).collect();
    map.serialize(s)
}

impl ModuleParams {
    /// A module with every parameter at its default.
    pub fn defaults(name: &str, kind: ModuleKind) -> ModuleParams {
        ModuleParams { name: name.to_string(), kind, values: kind.defaults() }
    }

    /// The value of schema parameter `i` (its default when missing), clamped into range.
    pub fn value(&self, i: usize) -> f64 {
        let spec = &self.kind.schema()[i];
        spec.clamp(self.values.get(i).copied().unwrap_or(spec.default))
    }

    /// Set a parameter by name (for building params in code); `false` when there is none.
    pub fn set(&mut self, name: &str, value: f64) -> bool {
        match self.kind.param(name) {
            Some((i, _)) => {
                self.values.resize(self.kind.schema().len(), 0.0);
                self.values[i] = value;
                true
            }
            None => false,
        }
    }
}

/// One instrument of an arrangement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstrumentParams {
    pub name: String,
    /// The chain: a source (oscillator or sampler) first, then envelopes and low-passes.
    pub modules: Vec<ModuleParams>,
    /// The sampler's velocity layers; clip `i` plays as layer `i`. Empty without a sampler.
    pub layers: Vec<Layer>,
    pub gain_db: f64,
    pub pan: f64,
    pub mute: bool,
    /// The note pattern, or `None` for an instrument that plays without notes (a drone, a gated
    /// or automated sound, a sampler started once at the song start).
    pub notes: Option<NotePattern>,
    pub steps_per_beat: u32,
    /// Repeat the pattern until the song ends (like drum patterns), or play it once.
    pub repeat: bool,
    #[serde(serialize_with = "lanes_by_target")]
    pub lanes: Vec<Lane>,
}

impl InstrumentParams {
    /// An instrument named `name` with this chain, no notes, no lanes, unity mix.
    pub fn new(name: &str, modules: Vec<ModuleParams>) -> InstrumentParams {
        InstrumentParams {
            name: name.to_string(),
            modules,
            layers: Vec::new(),
            gain_db: 0.0,
            pan: 0.0,
            mute: false,
            notes: None,
            steps_per_beat: 4,
            repeat: true,
            lanes: Vec::new(),
        }
    }

    /// The module named `name` and its index.
    pub fn module(&self, name: &str) -> Option<(usize, &ModuleParams)> {
        self.modules.iter().enumerate().find(|(_, m)| m.name == name)
    }

    /// The spec and static value of a lane target (`mix` for the instrument's own controls).
    pub fn target(&self, module: &str, parameter: &str) -> Option<(&'static ParamSpec, f64)> {
        if module == "mix" {
            let i = MIX.iter().position(|p| p.name == parameter)?;
            let v = [self.gain_db, self.pan, if self.mute { 1.0 } else { 0.0 }][i];
            return Some((&MIX[i], v));
        }
        let (_, m) = self.module(module)?;
        let (i, spec) = m.kind.param(parameter)?;
        Some((spec, m.value(i)))
    }

    /// Every note of the song: the pattern repeated (or not) over `total_steps` steps, in onset
    /// order, with absolute steps.
    pub fn expanded_notes(&self, total_steps: u64) -> Vec<Note> {
        let Some(p) = &self.notes else { return Vec::new() };
        let period = u64::from(p.steps.max(1));
        let reps = if self.repeat { total_steps.div_ceil(period) } else { 1 };
        let mut out = Vec::new();
        for r in 0..reps {
            for n in &p.notes {
                let step = r * period + u64::from(n.step);
                if step < total_steps {
                    out.push(Note { step: step.min(u64::from(u32::MAX)) as u32, ..*n });
                }
            }
        }
        out
    }

    /// Whether the chain has a sampler (its source).
    pub fn has_sampler(&self) -> bool {
        self.modules.iter().any(|m| m.kind == ModuleKind::Sampler)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arrange::notes::parse_notes;

    #[test]
    fn patterns_repeat_or_play_once() {
        let mut inst = InstrumentParams::new("x", vec![ModuleParams::defaults("oscillator", ModuleKind::Oscillator)]);
        inst.notes = Some(parse_notes("C4 . E4 .").unwrap());
        let steps: Vec<u32> = inst.expanded_notes(10).iter().map(|n| n.step).collect();
        assert_eq!(steps, vec![0, 2, 4, 6, 8]);
        inst.repeat = false;
        let steps: Vec<u32> = inst.expanded_notes(10).iter().map(|n| n.step).collect();
        assert_eq!(steps, vec![0, 2]);
        assert!(inst.expanded_notes(0).is_empty());
    }

    #[test]
    fn targets_resolve_modules_and_mix() {
        let mut lp = ModuleParams::defaults("bright", ModuleKind::Lowpass);
        assert!(lp.set("cutoff_hz", 900.0));
        assert!(!lp.set("q", 1.0));
        let mut inst =
            InstrumentParams::new("x", vec![ModuleParams::defaults("oscillator", ModuleKind::Oscillator), lp]);
        inst.gain_db = -6.0;
        assert_eq!(inst.target("bright", "cutoff_hz").map(|t| t.1), Some(900.0));
        assert_eq!(inst.target("mix", "gain_db").map(|t| t.1), Some(-6.0));
        assert!(inst.target("lowpass", "cutoff_hz").is_none());
        assert!(inst.target("mix", "volume").is_none());
    }
}
