//! The video settings of an album: album-wide frame grid (`fps`, `resolution`, `segment_s`) and,
//! per track, the controller / decoder / postFX / encoder settings resolved from a preset overlay,
//! the album's tables and the track's own tables (later wins, key by key).

use std::collections::BTreeMap;

use super::reader::{Ctx, TableReader};
use super::value::{self, Kind, Node};

/// Built-in presets: partial overlays of the `controller` and `postfx` tables. A project adds its
/// own (or extends these with `base = "drift"`) in `Project.toml` as `[preset.NAME]`.
pub const BUILTIN_PRESETS: &str = r#"
[pulse]
description = "punchy, beat-locked: phase kicks on every half second and on onsets"
controller = { anchor_set = "pulse", tempo_sync = true, subdivision = 0.5, smoothing_alpha = 0.85 }
postfx = { tone_curve = "punch", grain_intensity = 0.08, vignette_strength = 0.2 }

[surge]
description = "saturated swells that follow the energy, with a slight colour split"
controller = { anchor_set = "surge", tempo_sync = true, subdivision = 1.0, smoothing_alpha = 0.8 }
postfx = { tone_curve = "punch", grain_intensity = 0.1, chroma_shift = 0.01 }

[drift]
description = "slow, smooth, cool: long glides between anchors"
controller = { anchor_set = "drift", tempo_sync = false, smoothing_alpha = 0.93 }
postfx = { tone_curve = "filmlog", grain_intensity = 0.06, vignette_strength = 0.15 }

[nocturne]
description = "dark and soft, with motion trails and a heavy vignette"
controller = { anchor_set = "nocturne", tempo_sync = false, smoothing_alpha = 0.92 }
postfx = { tone_curve = "filmlog", grain_intensity = 0.12, vignette_strength = 0.45, motion_trails = true }

[fracture]
description = "restless: fine detail, quarter-second phase kicks, colour split"
controller = { anchor_set = "fracture", tempo_sync = true, subdivision = 0.25, smoothing_alpha = 0.75 }
postfx = { tone_curve = "punch", grain_intensity = 0.15, chroma_shift = 0.02 }

[lumen]
description = "bright, pastel, gentle"
controller = { anchor_set = "lumen", tempo_sync = false, smoothing_alpha = 0.9 }
postfx = { tone_curve = "pastel", grain_intensity = 0.05, vignette_strength = 0.1 }
"#;

/// Where built-in preset diagnostics point.
pub const BUILTIN_PRESETS_FILE: &str = "<built-in presets>";

pub const DEFAULT_PRESET: &str = "drift";
pub const MIN_FPS: i64 = 24;
pub const MAX_FPS: i64 = 120;
pub const MIN_RESOLUTION: i64 = 64;
pub const MAX_RESOLUTION: i64 = 4096;
pub const TONE_CURVES: [&str; 4] = ["filmlog", "punch", "pastel", "linear"];
pub const BACKENDS: [&str; 3] = ["auto", "tract", "onnxruntime"];

/// A preset: its description and its overlay (`controller`/`postfx` tables), with `base`
/// already applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Preset {
    pub name: String,
    pub description: String,
    pub builtin: bool,
    pub overlay: Node,
}

/// Album-wide video settings: every track shares the frame grid, so `album.mp4` is a plain
/// concatenation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VideoSettings {
    pub fps: u32,
    pub width: u32,
    pub height: u32,
    /// Frames per segment (`round(segment_s · fps)`).
    pub segment_frames: u32,
    /// Whether previews (still, GIF, contact sheet) are declared.
    pub previews: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ControllerSpec {
    pub anchor_set: String,
    /// Project-relative anchors file (`anchors` (K,8,16,16)).
    pub anchors: String,
    /// Project-relative projection file, or None for the seeded default projection.
    pub projection: Option<String>,
    /// Project-relative `meta.json` (gives the anchor set's seed).
    pub meta: String,
    pub smoothing_alpha: f64,
    pub wander_seed: u64,
    pub tempo_sync: bool,
    pub subdivision_s: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PostFxSpec {
    pub tone_curve: String,
    pub grain_intensity: f64,
    pub chroma_shift: f64,
    pub vignette_strength: f64,
    pub motion_trails: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DecoderSpec {
    /// Project-relative ONNX file.
    pub model: String,
    /// `auto` (ONNX Runtime when a library is configured, else tract), `tract` or `onnxruntime`.
    pub backend: String,
    /// ONNX Runtime library (project `[project] onnxruntime`), if configured.
    pub library: Option<String>,
    pub cuda: bool,
    pub batch_size: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EncodeSpec {
    /// H.264 quantiser (lower is better quality), 12–51.
    pub qp: u8,
    pub audio_bitrate_kbps: u32,
}

/// Everything one track's video reads, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackVideoSpec {
    pub preset: String,
    pub controller: ControllerSpec,
    pub postfx: PostFxSpec,
    pub decoder: DecoderSpec,
    pub encode: EncodeSpec,
}

impl Eq for ControllerSpec {}
impl Eq for PostFxSpec {}
impl Eq for TrackVideoSpec {}

/// Project-level inputs to video settings.
pub struct VideoContext<'a> {
    pub presets: &'a BTreeMap<String, Preset>,
    pub models_dir: &'a str,
    pub onnxruntime: Option<&'a str>,
}

/// Every preset: the built-ins, then `[preset.NAME]` tables from `Project.toml` (`base` names
/// the preset they extend; a project preset may replace a built-in of the same name).
pub fn presets(ctx: &Ctx, project_presets: Option<&Node>) -> BTreeMap<String, Preset> {
    let mut out = BTreeMap::new();
    let Ok(builtin) = value::parse(BUILTIN_PRESETS_FILE, BUILTIN_PRESETS) else { return out };
    let mut raw: Vec<(String, Node, bool)> = Vec::new();
    if let Kind::Table(map) = builtin.kind {
        raw.extend(map.into_iter().map(|(k, v)| (k, v, true)));
    }
    if let Some(node) = project_presets {
        match &node.kind {
            Kind::Table(map) => raw.extend(map.iter().map(|(k, v)| (k.clone(), v.clone(), false))),
            other => ctx.push(
                node.origin.diagnostic("preset", format!("expected [preset.NAME] tables, found {}", other.type_name())),
            ),
        }
    }
    // Resolve in declaration order; a project preset may only extend one already known.
    for (name, node, builtin) in raw {
        let path = format!("preset.{name}");
        let Some(t) = TableReader::new(ctx, &node, &path) else { continue };
        let description = t.string("description").unwrap_or_default();
        let base = t.string("base");
        let mut overlay = match &base {
            Some(b) => match out.get(b) {
                Some(p) => Preset::clone(p).overlay,
                None => {
                    let hint = super::diagnostic::suggestion(b, out.keys().map(String::as_str));
                    t.error("base", format!("no preset `{b}`{hint}"));
                    empty_table(&node)
                }
            },
            None => empty_table(&node),
        };
        let mut own = empty_table(&node);
        for key in ["controller", "postfx"] {
            if let Some(n) = t.get(key)
                && let Kind::Table(m) = &mut own.kind
            {
                m.insert(key.to_string(), n.clone());
            }
        }
        merge(&mut overlay, &own);
        t.finish();
        out.insert(name.clone(), Preset { name, description, builtin, overlay });
    }
    out
}

fn empty_table(like: &Node) -> Node {
    Node { origin: like.origin.clone(), kind: Kind::Table(BTreeMap::new()) }
}

/// Deep-merge `top` into `base`: tables merge key by key, anything else replaces.
fn merge(base: &mut Node, top: &Node) {
    match (&mut base.kind, &top.kind) {
        (Kind::Table(b), Kind::Table(t)) => {
            for (k, v) in t {
                match b.get_mut(k) {
                    Some(existing) if matches!(existing.kind, Kind::Table(_)) && matches!(v.kind, Kind::Table(_)) => {
                        merge(existing, v)
                    }
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        _ => *base = top.clone(),
    }
}

/// The tables a track's settings come from.
pub const TABLES: [&str; 4] = ["controller", "decoder", "postfx", "encode"];

/// Read the album-wide settings from the album table (marks `fps`, `resolution`, `segment_s`,
/// `previews`, `preset` and the four setting tables as known).
pub fn read_settings(t: &TableReader<'_>) -> VideoSettings {
    let fps = t.int("fps", 30, MIN_FPS, MAX_FPS) as u32;
    let (width, height) = resolution(t);
    let segment_s = t.f64("segment_s", 2.0, 0.5, 10.0, "s");
    let previews = t.bool("previews", true);
    let segment_frames = ((segment_s * f64::from(fps)).round() as u32).max(1);
    VideoSettings { fps, width, height, segment_frames, previews }
}

fn resolution(t: &TableReader<'_>) -> (u32, u32) {
    let Some(node) = t.get("resolution") else { return (512, 512) };
    let check = |v: &Node| -> Option<u32> {
        match v.kind {
            Kind::Int(i) if (MIN_RESOLUTION..=MAX_RESOLUTION).contains(&i) && i % 16 == 0 => Some(i as u32),
            _ => None,
        }
    };
    let allowed = format!(
        "a multiple of 16 from {MIN_RESOLUTION} to {MAX_RESOLUTION}, as one number (square) or [width, height]"
    );
    let parsed = match &node.kind {
        Kind::Int(_) => check(node).map(|s| (s, s)),
        Kind::Array(items) if items.len() == 2 => check(&items[0]).zip(check(&items[1])),
        _ => None,
    };
    parsed.unwrap_or_else(|| {
        t.error("resolution", format!("{} is not allowed: {allowed}", node.kind));
        (512, 512)
    })
}

/// Resolve one track's settings: preset overlay ⊕ album tables ⊕ track tables. Problems are
/// reported once per place they were written (an album-level mistake is not repeated per track).
pub fn read_track(
    album: &TableReader<'_>,
    track: &TableReader<'_>,
    vctx: &VideoContext<'_>,
    reported: &mut std::collections::BTreeSet<String>,
) -> Option<TrackVideoSpec> {
    let preset_name =
        track.string("preset").or_else(|| album.string("preset")).unwrap_or_else(|| DEFAULT_PRESET.to_string());
    let Some(preset) = vctx.presets.get(&preset_name) else {
        let hint = super::diagnostic::suggestion(&preset_name, vctx.presets.keys().map(String::as_str));
        let names: Vec<&str> = vctx.presets.keys().map(String::as_str).collect();
        let at = if track.get("preset").is_some() { track } else { album };
        at.error("preset", format!("no preset `{preset_name}`{hint}; presets: {}", names.join(", ")));
        return None;
    };
    let mut merged = preset.overlay.clone();
    for source in [album, track] {
        let mut layer = empty_table(&merged);
        for key in TABLES {
            if let (Some(n), Kind::Table(m)) = (source.get(key), &mut layer.kind) {
                m.insert(key.to_string(), n.clone());
            }
        }
        merge(&mut merged, &layer);
    }
    // Validate on a private context, then report each problem once (by where it was written).
    let local = Ctx::default();
    let spec = TableReader::new(&local, &merged, track.path()).map(|m| read_tables(&m, vctx));
    let ctx = track.ctx();
    let mut ok = true;
    for d in local.into_diagnostics() {
        ok = false;
        let place = format!("{}:{:?}:{:?}:{}", d.file, d.line, d.col, d.message.split(';').next().unwrap_or(""));
        if reported.insert(place) {
            ctx.push(d);
        }
    }
    spec.filter(|_| ok).map(|(controller, postfx, decoder, encode)| TrackVideoSpec {
        preset: preset_name,
        controller,
        postfx,
        decoder,
        encode,
    })
}

fn read_tables(m: &TableReader<'_>, vctx: &VideoContext<'_>) -> (ControllerSpec, PostFxSpec, DecoderSpec, EncodeSpec) {
    let models = vctx.models_dir.trim_end_matches('/');
    let table = |key: &str| m.table(key);
    let empty = Node { origin: value::Origin::Override { arg: "".into() }, kind: Kind::Table(BTreeMap::new()) };
    let empty_reader = || TableReader::new(m.ctx(), &empty, "").expect("an empty table");

    let c = table("controller").unwrap_or_else(empty_reader);
    let anchor_set = c.string("anchor_set").unwrap_or_else(|| DEFAULT_PRESET.to_string());
    if anchor_set.is_empty() || !anchor_set.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-') {
        c.error("anchor_set", "anchor set names use letters, digits, `_` and `-`");
    }
    let anchors = path_key(&c, "anchors").unwrap_or_else(|| format!("{models}/anchors/{anchor_set}.npz"));
    let projection = match c.string("projection").as_deref() {
        Some("none") => None,
        Some(p) => {
            check_path(&c, "projection", p);
            Some(p.to_string())
        }
        None => Some(format!("{models}/anchors/{anchor_set}_projection.npz")),
    };
    let controller = ControllerSpec {
        meta: format!("{models}/meta.json"),
        smoothing_alpha: c.f64("smoothing_alpha", 0.9, 0.35, 0.999, ""),
        wander_seed: c.int("wander_seed", 42, 0, super::kit::MAX_SEED) as u64,
        tempo_sync: c.bool("tempo_sync", false),
        subdivision_s: c.f64("subdivision", 1.0, 0.125, 16.0, "s"),
        anchor_set,
        anchors,
        projection,
    };
    c.finish();

    let p = table("postfx").unwrap_or_else(empty_reader);
    let tone_curve = p.string("tone_curve").unwrap_or_else(|| "filmlog".into());
    if !TONE_CURVES.contains(&tone_curve.as_str()) {
        let hint = super::diagnostic::suggestion(&tone_curve, TONE_CURVES);
        p.error("tone_curve", format!("unknown tone curve `{tone_curve}`{hint}; allowed: {}", TONE_CURVES.join(", ")));
    }
    let postfx = PostFxSpec {
        tone_curve,
        grain_intensity: p.f64("grain_intensity", 0.1, 0.0, 1.0, ""),
        chroma_shift: p.f64("chroma_shift", 0.0, -0.05, 0.05, "of the frame's short side"),
        vignette_strength: p.f64("vignette_strength", 0.0, 0.0, 1.0, ""),
        motion_trails: p.bool("motion_trails", false),
    };
    p.finish();

    let d = table("decoder").unwrap_or_else(empty_reader);
    let backend = d.string("backend").unwrap_or_else(|| "auto".into());
    if !BACKENDS.contains(&backend.as_str()) {
        d.error("backend", format!("unknown backend `{backend}`; allowed: {}", BACKENDS.join(", ")));
    }
    let decoder = DecoderSpec {
        model: path_key(&d, "model").unwrap_or_else(|| format!("{models}/decoder.onnx")),
        backend,
        library: vctx.onnxruntime.map(str::to_string),
        cuda: d.bool("cuda", false),
        batch_size: d.int("batch_size", 1, 1, 256) as u32,
    };
    d.finish();

    let e = table("encode").unwrap_or_else(empty_reader);
    let encode = EncodeSpec {
        qp: e.int("qp", 20, 12, 51) as u8,
        audio_bitrate_kbps: e.int("audio_bitrate_kbps", 160, 32, 510) as u32,
    };
    e.finish();
    m.finish();
    (controller, postfx, decoder, encode)
}

fn path_key(t: &TableReader<'_>, key: &str) -> Option<String> {
    let p = t.string(key)?;
    check_path(t, key, &p);
    Some(p)
}

fn check_path(t: &TableReader<'_>, key: &str, p: &str) {
    if let Err(e) = super::paths::check_relative(p) {
        t.error(key, e);
    }
}
