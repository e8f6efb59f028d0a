//! `[album.NAME.controls]` → `ControlsSpec`: where a track's control columns come from (a
//! `[sidecars.NAME]` target, or producers listed inline and run on the track's audio) and which
//! column drives which controller or postFX parameter.
//!
//! ```toml
//! [album.demo.controls]
//! producers = [{ kind = "audio", columns = ["rms_db"] }]   # or: sidecar = "sidecars.demo"
//! fps = 75                                                # grid of inline producers (default: the album's fps)
//! wander_scale = { column = "rms_db", range = [0.5, 1.5] }                # column min..max → 0.5..1.5
//! grain_intensity = { column = "rms_db", range = [0.02, 0.2], from = [-60, 0] }
//! vignette_strength = { column = "fade", scale = 0.4, offset = 0.1 }
//! anchor_bias = [{ column = "fade", anchor = 3, scale = 2.0 }]
//! ```

use std::collections::{BTreeMap, BTreeSet};

use super::diagnostic::suggestion;
use super::reader::{TableReader, num};
use super::sidecars::{PluginDecl, read_grid, read_producer_list};
use super::value::{Kind, Node};
use crate::producers::{ControlMapping, ControlTarget, SidecarParams, ValueMap};

/// Largest anchor index a recipe may name (the anchor set is checked when it is loaded).
pub const MAX_ANCHOR: i64 = 63;

/// Where the columns come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlSource {
    /// A `[sidecars.NAME]` target (its id); the track's audio must be one of its sources.
    Sidecar(String),
    /// Producers run on the track's own audio on this grid.
    Inline {
        /// Grid and producers.
        params: SidecarParams,
        /// Rate the track is decoded at for audio producers.
        analysis_rate_hz: u32,
    },
}

/// A validated `[album.NAME.controls]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlsSpec {
    /// The columns' origin.
    pub source: ControlSource,
    /// Column → parameter mappings, in key order (`anchor_bias` entries in list order).
    pub mappings: Vec<ControlMapping>,
}

/// Read `[album.NAME.controls]`. `video_fps` is the album's fps (the default grid of inline
/// producers); `targets` every declared target id; `plugins` the `[producer.NAME]` declarations.
pub fn read(
    t: &TableReader<'_>,
    video_fps: f64,
    project_rate_hz: u32,
    targets: &BTreeSet<String>,
    plugins: &BTreeMap<String, PluginDecl>,
) -> Option<ControlsSpec> {
    let sidecar = t.string("sidecar");
    let inline = read_producer_list(t, "producers", plugins);
    let source = match (sidecar, inline) {
        (Some(_), Some(_)) => {
            t.error("producers", "give either `sidecar` (a [sidecars.NAME] target) or inline `producers`, not both");
            None
        }
        (Some(id), None) => {
            for key in ["fps", "hop", "sample_rate"] {
                if t.get(key).is_some() {
                    t.error(key, format!("`{key}` sets the grid of inline producers; a sidecar target has its own"));
                }
            }
            let sidecars: Vec<&str> =
                targets.iter().map(String::as_str).filter(|s| s.starts_with("sidecars.")).collect();
            if targets.contains(&id) && id.starts_with("sidecars.") {
                Some(ControlSource::Sidecar(id))
            } else {
                let hint = suggestion(&id, sidecars.iter().copied());
                let list = if sidecars.is_empty() { "none".to_string() } else { sidecars.join(", ") };
                t.error("sidecar", format!("no sidecar target `{id}`{hint}; declared: {list}"));
                None
            }
        }
        (None, Some(producers)) => {
            let (grid, analysis_rate_hz) = read_grid(t, project_rate_hz, video_fps);
            Some(ControlSource::Inline { params: SidecarParams { grid, producers }, analysis_rate_hz })
        }
        (None, None) => {
            if t.get("sidecar").is_none() {
                t.error(
                    "sidecar",
                    "controls need columns: `sidecar = \"sidecars.NAME\"` or `producers = [ … ]` run on the track's audio",
                );
            }
            None
        }
    };

    let mut mappings = Vec::new();
    for key in ControlTarget::KEYS {
        let Some(node) = t.get(key) else { continue };
        if key == "anchor_bias" {
            let items: Vec<&Node> = match &node.kind {
                Kind::Array(items) => items.iter().collect(),
                Kind::Table(_) => vec![node],
                other => {
                    t.error(key, format!("expected a table or a list of tables, found {}", other.type_name()));
                    continue;
                }
            };
            let mut anchors = BTreeSet::new();
            for (i, item) in items.iter().enumerate() {
                let path = if matches!(node.kind, Kind::Array(_)) {
                    format!("{}[{i}]", t.key_path(key))
                } else {
                    t.key_path(key)
                };
                let Some(r) = TableReader::new(t.ctx(), item, &path) else { continue };
                let anchor = r.int("anchor", -1, 0, MAX_ANCHOR);
                if r.get("anchor").is_none() {
                    r.error("anchor", format!("missing: the anchor index (0–{MAX_ANCHOR}) this column biases"));
                }
                if anchor >= 0 && !anchors.insert(anchor) {
                    r.error("anchor", format!("anchor {anchor} is biased twice"));
                }
                if let Some(m) = read_mapping(&r, ControlTarget::AnchorBias(anchor.max(0) as u32))
                    && anchor >= 0
                {
                    mappings.push(m);
                }
                r.finish();
            }
            continue;
        }
        let target = match key {
            "wander_scale" => ControlTarget::WanderScale,
            "smoothing_alpha" => ControlTarget::SmoothingAlpha,
            "grain_intensity" => ControlTarget::GrainIntensity,
            "chroma_shift" => ControlTarget::ChromaShift,
            _ => ControlTarget::VignetteStrength,
        };
        let Some(r) = TableReader::new(t.ctx(), node, &t.key_path(key)) else { continue };
        if let Some(m) = read_mapping(&r, target) {
            mappings.push(m);
        }
        r.finish();
    }
    if mappings.is_empty() && t.ctx().is_empty() {
        t.table_error(format!("no parameter is mapped; map a column to one of {}", ControlTarget::KEYS.join(", ")));
    }
    t.finish();
    Some(ControlsSpec { source: source?, mappings })
}

/// `{ column, scale, offset }` or `{ column, range = [lo, hi], from = [a, b] }`.
fn read_mapping(r: &TableReader<'_>, target: ControlTarget) -> Option<ControlMapping> {
    let column = r.required_string("column", "the sidecar column that drives this parameter");
    let (min, max) = target.limits();
    let linear = r.get("scale").is_some() || r.get("offset").is_some();
    let scale = r.f64("scale", 1.0, -1e6, 1e6, "");
    let offset = r.f64("offset", 0.0, -1e6, 1e6, "");
    let range = pair(r, "range", min, max);
    let from = pair(r, "from", -1e30, 1e30);
    if linear && r.get("range").is_some() {
        r.error("range", "give either `scale`/`offset` or `range` (with an optional `from`), not both");
    }
    if r.get("from").is_some() && r.get("range").is_none() {
        r.error("from", "`from` needs `range`: it says which column values map to range's ends");
    }
    if let Some([a, b]) = from
        && a == b
    {
        r.error("from", "the two ends are equal: give two different column values");
    }
    let map = match range {
        Some(to) => ValueMap::Range { to, from },
        None => ValueMap::Linear { scale, offset },
    };
    Some(ControlMapping { target, column: column?, map })
}

/// `[a, b]` with both ends in `[min, max]`.
fn pair(r: &TableReader<'_>, key: &str, min: f64, max: f64) -> Option<[f64; 2]> {
    let node = r.get(key)?;
    let number = |n: &Node| match n.kind {
        Kind::Float(x) => Some(x),
        Kind::Int(i) => Some(i as f64),
        _ => None,
    };
    let values = match &node.kind {
        Kind::Array(items) if items.len() == 2 => number(&items[0]).zip(number(&items[1])),
        _ => None,
    };
    let Some((a, b)) = values else {
        r.error(key, format!("expected two numbers [a, b], found {} `{}`", node.kind.type_name(), node.kind));
        return None;
    };
    for x in [a, b] {
        if !(x.is_finite() && (min..=max).contains(&x)) {
            r.error(key, format!("{} is out of range: allowed {} to {}", num(x), num(min), num(max)));
            return None;
        }
    }
    Some([a, b])
}

#[cfg(test)]
mod tests {
    use super::super::reader::Ctx;
    use super::super::value::parse;
    use super::*;
    use crate::producers::Grid;

    fn read_text(text: &str) -> (Option<ControlsSpec>, Vec<String>) {
        let node = parse("recipes/album.toml", text).unwrap();
        let ctx = Ctx::default();
        let t = TableReader::new(&ctx, &node, "album.demo.controls").unwrap();
        let targets = BTreeSet::from(["sidecars.demo".to_string(), "song.demo".to_string()]);
        let spec = read(&t, 30.0, 48_000, &targets, &BTreeMap::new());
        (spec, ctx.into_diagnostics().iter().map(ToString::to_string).collect())
    }

    #[test]
    fn inline_producers_and_mappings() {
        let (spec, diags) = read_text(
            r#"
producers = [{ kind = "audio", columns = ["rms_db"] }]
wander_scale = { column = "rms_db", range = [0.5, 1.5] }
grain_intensity = { column = "rms_db", range = [0.02, 0.2], from = [-60, 0] }
vignette_strength = { column = "rms_db", scale = 0.01, offset = 0.6 }
anchor_bias = [{ column = "rms_db", anchor = 3, scale = 0.1 }]
"#,
        );
        assert!(diags.is_empty(), "{diags:?}");
        let spec = spec.unwrap();
        let ControlSource::Inline { params, analysis_rate_hz } = &spec.source else { panic!("{spec:?}") };
        assert_eq!((params.grid, *analysis_rate_hz), (Grid::Fps { fps: 30.0 }, 48_000));
        let targets: Vec<ControlTarget> = spec.mappings.iter().map(|m| m.target).collect();
        assert_eq!(
            targets,
            [
                ControlTarget::WanderScale,
                ControlTarget::AnchorBias(3),
                ControlTarget::GrainIntensity,
                ControlTarget::VignetteStrength
            ]
        );
        assert_eq!(spec.mappings[2].map, ValueMap::Range { to: [0.02, 0.2], from: Some([-60.0, 0.0]) });
        assert_eq!(spec.mappings[3].map, ValueMap::Linear { scale: 0.01, offset: 0.6 });
    }

    #[test]
    fn a_sidecar_target_is_named_by_id() {
        let (spec, diags) =
            read_text("sidecar = \"sidecars.demo\"\nchroma_shift = { column = \"fade\", range = [-0.01, 0.01] }\n");
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(spec.unwrap().source, ControlSource::Sidecar("sidecars.demo".into()));
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let (spec, diags) = read_text(
            r#"
sidecar = "sidecars.dmeo"
fps = 75
grain_intensity = { column = "x", range = [0.0, 2.0] }
vignette_strength = { column = "x", scale = 1, range = [0, 1] }
smoothing_alpha = { range = [0.5, 0.9], from = [1, 1] }
anchor_bias = [{ column = "a", anchor = 2 }, { column = "b", anchor = 2 }, { column = "c" }]
wander_scal = { column = "x" }
"#,
        );
        assert!(spec.is_none());
        let text = diags.join("\n");
        for want in [
            "album.demo.controls.sidecar: no sidecar target `sidecars.dmeo` (did you mean `sidecars.demo`?)",
            "album.demo.controls.fps: `fps` sets the grid of inline producers",
            "album.demo.controls.grain_intensity.range: 2 is out of range: allowed 0 to 1",
            "album.demo.controls.vignette_strength.range: give either `scale`/`offset` or `range`",
            "album.demo.controls.smoothing_alpha.column: missing",
            "album.demo.controls.smoothing_alpha.from: the two ends are equal",
            "album.demo.controls.anchor_bias[1].anchor: anchor 2 is biased twice",
            "album.demo.controls.anchor_bias[2].anchor: missing",
            "album.demo.controls.wander_scal: unknown key (did you mean `wander_scale`?)",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
        assert!(diags.iter().all(|d| d.starts_with("recipes/album.toml:")), "{text}");
    }

    #[test]
    fn nothing_mapped_is_an_error() {
        let (_, diags) = read_text("producers = [{ kind = \"audio\", columns = [\"rms\"] }]\n");
        assert!(diags.iter().any(|d| d.contains("no parameter is mapped")), "{diags:?}");
    }
}
