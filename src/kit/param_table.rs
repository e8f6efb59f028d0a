//! The kit's parameter reference: every key a `[kit.NAME]` recipe accepts, one row per key and
//! table, as `ntsbuild list --params` prints it and `docs/kit-parameters.md` holds it.

use crate::kit::schema::{Instrument, LAYER_SCHEMA, ParamSpec};

/// One key of one recipe table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamRow {
    /// The instrument whose table holds the key.
    pub instrument: Instrument,
    /// `false`: the voice table `[kit.NAME.VOICE]`; `true`: each of its layer tables
    /// `[kit.NAME.VOICE.layer.LAYER]` (`LAYER` one of [`Instrument::layers`]).
    pub layer_table: bool,
    pub spec: &'static ParamSpec,
}

impl ParamRow {
    /// The recipe table holding the key, e.g. `kit.NAME.kick` or `kit.NAME.kick.layer.LAYER`.
    pub fn table(&self) -> String {
        let layer = if self.layer_table { ".layer.LAYER" } else { "" };
        format!("kit.NAME.{}{layer}", self.instrument.name())
    }
}

/// Every row, instrument by instrument: the voice's own parameters, then its layers' controls
/// (`gain_db`, `mute`, the ADSR keys), with ranges, units and defaults from the schema that
/// also validates them.
pub fn param_rows() -> Vec<ParamRow> {
    let mut rows = Vec::new();
    for instrument in Instrument::ALL {
        rows.extend(instrument.schema().iter().map(|spec| ParamRow { instrument, layer_table: false, spec }));
        rows.extend(LAYER_SCHEMA.iter().map(|spec| ParamRow { instrument, layer_table: true, spec }));
    }
    rows
}

/// A number as recipes write it: integers without a decimal point.
fn num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 { format!("{}", x as i64) } else { format!("{x}") }
}

fn unit_or_dash(unit: &str) -> &str {
    if unit.is_empty() { "-" } else { unit }
}

/// The plain-text listing of `ntsbuild list --params`: per instrument, the voice table's keys,
/// then one block per layer table.
pub fn params_text() -> String {
    let mut out = String::new();
    let header = format!(
        "  {:<16} {:>9} {:>9} {:>9}  {:<5} {:<8} description [tags]\n",
        "key", "default", "min", "max", "unit", "layer"
    );
    let mut table = String::new();
    for row in param_rows() {
        let t = row.table();
        if t != table {
            if row.layer_table {
                out.push_str(&format!(
                    "\n[{t}]  LAYER: {}; any ADSR key turns the layer's envelope on\n{header}",
                    row.instrument.layers().join(", ")
                ));
            } else {
                out.push_str(&format!("\n[{t}]  and seed (integer, default 0)\n{header}"));
            }
            table = t;
        }
        let p = row.spec;
        let layer = if row.layer_table { "LAYER" } else { p.layer };
        out.push_str(&format!(
            "  {:<16} {:>9} {:>9} {:>9}  {:<5} {:<8} {} [{}]\n",
            p.name,
            num(p.default),
            num(p.min),
            num(p.max),
            unit_or_dash(p.unit),
            layer,
            p.description,
            p.tags.join(", ")
        ));
    }
    out
}

/// `docs/kit-parameters.md` (a test keeps the file equal to this).
pub fn params_markdown() -> String {
    let mut out = String::from(
        "# Kit parameters\n\nGenerated from `src/kit/schema.rs` (`ntsbuild list --params` prints the same). \
         Every parameter is optional; values outside the range are rejected with the range in the message. \
         `docs/kit-sound.md` says how the voices are built and how they compare with the seed engine.\n",
    );
    let header = "| key | name | default | min | max | unit | layer | tags | description |\n\
                  |---|---|---|---|---|---|---|---|---|\n";
    let row = |p: &ParamSpec, layer: &str| {
        format!(
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            p.name,
            p.display_name,
            num(p.default),
            num(p.min),
            num(p.max),
            p.unit,
            layer,
            p.tags.join(", "),
            p.description
        )
    };
    for inst in Instrument::ALL {
        out.push_str(&format!("\n## `[kit.NAME.{}]`\n\n`seed` (integer, default 0) and:\n\n{header}", inst.name()));
        for p in inst.schema() {
            out.push_str(&row(p, p.layer));
        }
        out.push_str(&format!(
            "\nLayers: {}, each with a `[kit.NAME.{}.layer.LAYER]` table (below).\n",
            inst.layers().iter().map(|l| format!("`{l}`")).collect::<Vec<_>>().join(", "),
            inst.name()
        ));
    }
    out.push_str(&format!(
        "\n## `[kit.NAME.VOICE.layer.LAYER]`\n\nThe same keys for every layer of every voice. `gain_db` is relative to \
         the layer's built-in level; `mute` is `true`/`false`; any ADSR key (`attack_ms` … `gate_ms`) turns on a \
         linear ADSR multiplied onto the layer from its onset, its other keys taking these defaults.\n\n{header}"
    ));
    for p in LAYER_SCHEMA {
        out.push_str(&row(p, "LAYER"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_voice_and_layer_key_has_a_row() {
        let rows = param_rows();
        for inst in Instrument::ALL {
            for p in inst.schema() {
                assert!(rows.iter().any(|r| r.instrument == inst && !r.layer_table && r.spec.name == p.name));
            }
            for key in ["gain_db", "mute", "attack_ms", "decay_ms", "sustain", "release_ms", "gate_ms"] {
                assert!(
                    rows.iter().any(|r| r.instrument == inst && r.layer_table && r.spec.name == key),
                    "{}.layer.LAYER.{key}",
                    inst.name()
                );
            }
        }
    }

    #[test]
    fn text_listing_names_every_table_and_layer_key() {
        let text = params_text();
        assert!(text.contains("[kit.NAME.kick.layer.LAYER]  LAYER: sub, click, knock, room"));
        assert!(text.contains("[kit.NAME.hat.layer.LAYER]  LAYER: metal, air, chick"));
        for key in ["gain_db", "mute", "attack_ms", "decay_ms", "sustain", "release_ms", "gate_ms", "tune", "length_s"]
        {
            assert!(text.lines().any(|l| l.trim_start().starts_with(key)), "{key}");
        }
        assert!(params_markdown().contains("| `gain_db` | Gain | 0 | -60 | 24 | dB | LAYER |"));
    }
}
