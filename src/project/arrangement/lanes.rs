//! The `[song.NAME.automation]` table: lane keys and their points, checked against the
//! instruments' modules and parameter specs.

use std::collections::BTreeMap;

use super::{InstrumentSpec, names, position};
use crate::arrange::automation::{Lane, LanePoint, parse_lane};
use crate::arrange::schema::{MIX, ModuleKind, ParamSpec, env, osc};
use crate::arrange::tempo::TempoMap;
use crate::project::diagnostic::suggestion;
use crate::project::reader::{TableReader, num};
use crate::project::value::Kind;

/// Read the automation lanes into their instruments.
pub(super) fn read_automation(a: &TableReader<'_>, instruments: &mut [InstrumentSpec], tempo: &TempoMap) {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let inst_names: Vec<String> = instruments.iter().map(|i| i.params.name.clone()).collect();
    let keys: Vec<String> = a.keys().cloned().collect();
    for key in keys {
        let node = a.get(&key).cloned();
        let Some(node) = node else { continue };
        let (target, options) = match parse_lane(&key) {
            Ok(x) => x,
            Err(e) => {
                a.error(&key, e.to_string());
                continue;
            }
        };
        let Some(idx) = inst_names.iter().position(|n| *n == target.instrument) else {
            let hint = suggestion(&target.instrument, inst_names.iter().map(String::as_str));
            a.error(
                &key,
                format!(
                    "no instrument `{}`{hint}; instruments: {}",
                    target.instrument,
                    names(inst_names.iter().map(String::as_str))
                ),
            );
            continue;
        };
        let inst = &instruments[idx].params;
        let modules: Vec<&str> = std::iter::once("mix").chain(inst.modules.iter().map(|m| m.name.as_str())).collect();
        if !modules.contains(&target.module.as_str()) {
            let hint = suggestion(&target.module, modules.iter().copied());
            a.error(
                &key,
                format!(
                    "instrument `{}` has no module `{}`{hint}; its modules: {}",
                    target.instrument,
                    target.module,
                    modules.join(", ")
                ),
            );
            continue;
        }
        let specs: &[ParamSpec] = if target.module == "mix" {
            MIX
        } else {
            inst.module(&target.module).map_or(&[], |(_, m)| m.kind.schema())
        };
        let lane_params: Vec<&str> = specs.iter().filter(|p| p.automatable).map(|p| p.name).collect();
        let Some(spec) = specs.iter().find(|p| p.name == target.parameter) else {
            let hint = suggestion(&target.parameter, specs.iter().map(|p| p.name));
            a.error(
                &key,
                format!(
                    "`{}` has no parameter `{}`{hint}; parameters a lane can drive: {}",
                    target.module,
                    target.parameter,
                    lane_params.join(", ")
                ),
            );
            continue;
        };
        if !spec.automatable {
            a.error(
                &key,
                format!(
                    "`{}` is not automatable (it is read once); lanes can drive: {}",
                    spec.name,
                    lane_params.join(", ")
                ),
            );
            continue;
        }
        let kind = inst.module(&target.module).map(|(_, m)| m.kind);
        let has_notes = inst.notes.is_some();
        if has_notes
            && kind == Some(ModuleKind::Oscillator)
            && spec.name == ModuleKind::Oscillator.schema()[osc::FREQUENCY_HZ].name
        {
            a.error(&key, "the notes set this oscillator's pitch; automate `detune_cents` for bends and glides");
            continue;
        }
        if has_notes && kind == Some(ModuleKind::Envelope) && spec.name == ModuleKind::Envelope.schema()[env::GATE].name
        {
            a.error(
                &key,
                "the notes open and close this envelope's gate; a gate lane is for instruments without notes",
            );
            continue;
        }
        if kind == Some(ModuleKind::Envelope) && spec.name == "gate" && options.smooth.is_some() {
            let adsr = inst.module(&target.module).is_some_and(|(_, m)| m.value(env::MODE) == 1.0);
            if adsr {
                a.error(
                    &key,
                    "an ADSR's gate opens and closes (its segments are the ramps): smooth= is not available on it",
                );
                continue;
            }
        }
        if let Err(msg) = options.check_range(spec) {
            a.error(&key, msg);
            continue;
        }
        let address = target.to_string();
        if let Some(other) = seen.get(&address) {
            a.error(&key, format!("`{address}` is already automated by \"{other}\"; one lane per parameter"));
            continue;
        }
        seen.insert(address, key.clone());
        let Kind::Array(items) = &node.kind else {
            a.error(&key, format!("expected a list of [position, value] points, found {}", node.kind.type_name()));
            continue;
        };
        if items.is_empty() {
            a.error(&key, "the lane has no points; write [[position, value], …]");
            continue;
        }
        let mut points = Vec::new();
        let mut previous: Option<f64> = None;
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let at = |msg: String| a.ctx().push(item.origin.diagnostic(&format!("{}[{i}]", a.key_path(&key)), msg));
            let Kind::Array(pair) = &item.kind else {
                at(format!("expected a [position, value] pair, found {} `{}`", item.kind.type_name(), item.kind));
                ok = false;
                continue;
            };
            if pair.len() != 2 {
                at(format!("expected a [position, value] pair, found {} items", pair.len()));
                ok = false;
                continue;
            }
            let beat = match position(&pair[0], tempo) {
                Ok(b) => b,
                Err(msg) => {
                    at(msg);
                    ok = false;
                    continue;
                }
            };
            if let Some(p) = previous
                && beat <= p
            {
                at(format!(
                    "point at beat {} is out of order: it must come after the previous point (beat {})",
                    num(beat),
                    num(p)
                ));
                ok = false;
            }
            previous = Some(beat);
            let value = match pair[1].kind {
                Kind::Float(x) => x,
                Kind::Int(v) => v as f64,
                ref other => {
                    at(format!("expected a number, found {} `{other}`", other.type_name()));
                    ok = false;
                    continue;
                }
            };
            if let Err(msg) = options.map(spec, value) {
                at(msg);
                ok = false;
            }
            points.push(LanePoint { beat, value });
        }
        if ok {
            instruments[idx].params.lanes.push(Lane {
                module: target.module.clone(),
                parameter: target.parameter.clone(),
                options,
                points,
                key: key.clone(),
            });
        }
    }
}
