//! `list`: targets and their artifacts, and (with `--params`) every instrument's parameters.

use std::collections::BTreeMap;

use crate::engine::plan::{self, State};
use crate::engine::{Session, flow, query};

pub fn print(session: &Session, params: bool) {
    let flows = flow::registry(&session.db);
    if params {
        for f in flows.flows() {
            for line in f.params() {
                println!("{line}");
            }
            for (prefix, specs) in f.settings() {
                println!();
                crate::schema::rows(prefix, specs).iter().for_each(|l| println!("{l}"));
            }
        }
        return;
    }
    let index = query::artifact_index(&session.db).clone();
    let out = &session.config.settings.output_dir;
    // Planned files their inputs cannot give, as the last render decided (read from the store).
    let skipped: BTreeMap<String, String> = plan::plan(&session.db, &[])
        .unwrap_or_default()
        .into_iter()
        .filter_map(|i| match i.state {
            State::Skipped(r) => Some((i.id, r)),
            _ => None,
        })
        .collect();
    // The path column starts after the longest id up to ID_COLUMN_MAX; a longer id puts its
    // path on the next line, in the same column.
    const ID_COLUMN_MAX: usize = 60;
    let width = index.keys().map(|id| id.chars().count()).filter(|&n| n <= ID_COLUMN_MAX).max().unwrap_or(0) + 2;
    for (target, spec) in &session.config.targets {
        let file = session.config.target_files.get(target).map(String::as_str).unwrap_or("");
        println!("{target}  ({} in {file})", spec.kind);
        for a in index.values().filter(|a| &a.target == target) {
            let path = if a.materialized { a.output_path(out) } else { "(intermediate)".into() };
            let note = skipped.get(&a.id).map(|why| format!("  (not made: {why})")).unwrap_or_default();
            if a.id.chars().count() > width {
                println!("  {}\n  {:<width$} {path}{note}", a.id, "");
            } else {
                println!("  {:<width$} {path}{note}", a.id);
            }
        }
    }
    for f in flows.flows() {
        let lines = f.list(&session.config, &session.root);
        if !lines.is_empty() {
            println!();
            lines.iter().for_each(|l| println!("{l}"));
        }
    }
}

/// `docs/settings.md`, generated from the flows' setting specs (a test keeps the file in sync).
pub fn settings_markdown(flows: &crate::engine::flow::Registry) -> String {
    let mut out = String::from(
        "# Settings\n\nGenerated from the setting specs (`schema::SettingSpec` tables beside the code that \
         uses them; `ntsbuild list --params` prints the same). Every setting is optional; a value outside \
         its range is rejected with the range in the message. Presets overlay the album tables.\n",
    );
    for f in flows.flows() {
        for (prefix, specs) in f.settings() {
            out.push_str(&crate::schema::markdown(prefix, specs));
        }
    }
    out
}

/// `list --producers`: the built-in producers with their settings, then the declared plug-ins.
pub fn print_producers(session: &Session) {
    use crate::producers::catalog::BUILTINS;
    println!("built-in producers, used as {{ kind = \"KIND\", SETTING = … }} in [sidecars.NAME] producers:");
    for b in BUILTINS {
        println!("  {:<14} {}", b.kind, b.summary);
        for s in b.settings {
            println!("      {:<10} {:<32} default: {:<12} {}", s.key, s.value, s.default, s.description);
        }
    }
    let ctx = crate::project::reader::Ctx::default();
    let plugins = session
        .config
        .project_tables
        .get("producer")
        .and_then(|node| crate::project::reader::TableReader::new(&ctx, node, "producer"))
        .map(|t| crate::project::sidecars::read_producers(&t))
        .unwrap_or_default();
    if plugins.is_empty() {
        println!("plug-ins: none declared (a [producer.NAME] table in Project.toml; see docs/producers.md)");
        return;
    }
    println!("plug-ins from Project.toml, used as {{ plugin = \"NAME\", settings = {{ … }} }}:");
    for (name, d) in plugins {
        println!("  {:<14} {}", name, d.description);
        println!("      command    {}", d.command.join(" "));
        for (key, value) in &d.settings {
            println!("      setting    {key} = {value}");
        }
        if !d.inputs.is_empty() {
            println!("      inputs     {}", d.inputs.join(", "));
        }
        println!("      audio      {}; timeout {} s; answer cap {} MiB", d.audio, d.timeout_s, d.max_output_mb);
    }
}
