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
    if params {
        for inst in Instrument::ALL {
            println!("\n[kit.NAME.{}]  layers: {}", inst.name(), inst.layers().join(", "));
            println!("  {:<16} {:>9} {:>9} {:>9}  {:<6} {:<9} description", "name", "default", "min", "max", "unit", "layer");
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
