//! `graph`: the artifact dependency graph as Graphviz DOT or JSON.

use std::collections::BTreeMap;

use serde_json::json;

use super::action::ArtifactDecl;

pub fn dot(index: &BTreeMap<String, ArtifactDecl>, output_dir: &str) -> String {
    let mut out = String::from("digraph ntsbuild {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n");
    let mut by_target: BTreeMap<&str, Vec<&ArtifactDecl>> = BTreeMap::new();
    for a in index.values() {
        by_target.entry(&a.target).or_default().push(a);
    }
    for (i, (target, arts)) in by_target.iter().enumerate() {
        out.push_str(&format!("  subgraph cluster_{i} {{\n    label={target:?};\n"));
        for a in arts {
            let style = if a.materialized { "" } else { ", style=dashed" };
            out.push_str(&format!(
                "    {:?} [label={:?}{style}, tooltip={:?}];\n",
                a.id,
                a.rel,
                a.output_path(output_dir)
            ));
        }
        out.push_str("  }\n");
    }
    for a in index.values() {
        for d in &a.deps {
            out.push_str(&format!("  {d:?} -> {:?};\n", a.id));
        }
    }
    out.push_str("}\n");
    out
}

pub fn json(index: &BTreeMap<String, ArtifactDecl>, output_dir: &str) -> serde_json::Value {
    let nodes: Vec<_> = index
        .values()
        .map(|a| {
            json!({
                "id": a.id, "target": a.target, "deps": a.deps, "materialized": a.materialized,
                "output": a.materialized.then(|| a.output_path(output_dir)),
            })
        })
        .collect();
    let edges: Vec<_> =
        index.values().flat_map(|a| a.deps.iter().map(move |d| json!({"from": d, "to": a.id}))).collect();
    json!({ "artifacts": nodes, "edges": edges })
}
