//! `list`: targets and their artifacts, and (with `--params`) every instrument's parameters.

use crate::engine::{Session, query};
use crate::kit::Instrument;
use crate::project::reader::num;

pub fn print(session: &Session, params: bool) {
    let index = query::artifact_index(&session.db).clone();
    let out = &session.config.settings.output_dir;
    for (target, spec) in &session.config.targets {
        let file = session.config.target_files.get(target).map(String::as_str).unwrap_or("");
        println!("{target}  ({} in {file})", spec.kind());
        for a in index.values().filter(|a| &a.target == target) {
            println!("  {:<28} {}", a.id, if a.materialized { a.output_path(out) } else { "(intermediate)".into() });
        }
    }
    println!("\npresets (album `preset = \"NAME\"`; add your own as [preset.NAME] in Project.toml):");
    for (name, p) in &session.config.presets {
        let origin = if p.builtin { "built in" } else { "Project.toml" };
        let set = p.anchor_set.as_deref().unwrap_or("-");
        println!("  {name:<12} anchors {set:<10} ({origin}) {}", p.description);
    }
    let meta = session.root.join(&session.config.settings.models_dir).join("meta.json");
    if let Some(sets) = std::fs::read_to_string(&meta)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|m| m["anchor_sets"].as_object().cloned())
    {
        println!("\nanchor sets ({}):", meta.display());
        for (name, s) in sets {
            let description = s["description"].as_str().unwrap_or("");
            let energy = s["energy_hint"].as_str().map(|e| format!(" [{e}]")).unwrap_or_default();
            println!("  {name:<12} {description}{energy}");
        }
    }
    if params {
        for inst in Instrument::ALL {
            println!("\n[kit.NAME.{}]  layers: {}", inst.name(), inst.layers().join(", "));
            println!(
                "  {:<16} {:>9} {:>9} {:>9}  {:<6} {:<9} description",
                "name", "default", "min", "max", "unit", "layer"
            );
            for p in inst.schema() {
                println!(
                    "  {:<16} {:>9} {:>9} {:>9}  {:<6} {:<9} {} [{}]",
                    p.name,
                    num(p.default),
                    num(p.min),
                    num(p.max),
                    p.unit,
                    p.layer,
                    p.description,
                    p.tags.join(", ")
                );
            }
        }
    }
}

/// `docs/kit-parameters.md`, generated from the schema (a test keeps the file in sync).
pub fn params_markdown() -> String {
    let mut out = String::from(
        "# Kit parameters\n\nGenerated from `src/kit/schema.rs` (`ntsbuild list --params` prints the same). \
         Every parameter is optional; values outside the range are rejected with the range in the message.\n",
    );
    let row = |p: &crate::kit::ParamSpec| {
        format!(
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            p.name,
            p.display_name,
            num(p.default),
            num(p.min),
            num(p.max),
            p.unit,
            p.layer,
            p.tags.join(", "),
            p.description
        )
    };
    let header = "| key | name | default | min | max | unit | layer | tags | description |\n|---|---|---|---|---|---|---|---|---|\n";
    for inst in Instrument::ALL {
        out.push_str(&format!("\n## `[kit.NAME.{}]`\n\n`seed` (integer, default 0) and:\n\n{header}", inst.name()));
        for p in inst.schema() {
            out.push_str(&row(p));
        }
        out.push_str(&format!(
            "\nLayers: {}.\n",
            inst.layers().iter().map(|l| format!("`{l}`")).collect::<Vec<_>>().join(", ")
        ));
    }
    out.push_str(&format!(
        "\n## `[kit.NAME.VOICE.layer.LAYER]`\n\nAny envelope key turns the layer's ADSR on; `mute` is `true`/`false`.\n\n{header}"
    ));
    for p in crate::kit::LAYER_SCHEMA {
        out.push_str(&row(p));
    }
    out
}
