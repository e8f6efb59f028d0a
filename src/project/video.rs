//! The video settings of an album: album-wide frame grid (`fps`, `resolution`, `segment_s`) and,
//! per track, the controller / decoder / postFX / encoder settings resolved from a preset overlay,
//! the album's tables and the track's own tables (later wins, key by key).

use std::collections::BTreeMap;

use super::reader::{Ctx, TableReader};
use super::value::{self, Kind, Node};
use crate::controller::CONTROLLER_SETTINGS;
use crate::postfx::POSTFX_SETTINGS;
use crate::schema::{Kind as SettingKind, SettingSpec, spec};

/// Built-in presets: partial overlays of the `controller` and `postfx` tables. A project adds its
/// own (or extends these with `base = "drift"`) in `Project.toml` as `[preset.NAME]`.
///
/// Smoothing, tempo sync, subdivision, tone curve, grain, chroma shift, vignette and trails are
/// the seed's (DOMAIN §C2). Anchor sets: the seed ships three (baseline, pulse, drift) and shares
/// them between presets; here each preset has its own set, so every preset looks different.
pub const BUILTIN_PRESETS: &str = r#"
[default]
description = "balanced: neutral colours, half-second phase kicks, filmic tone"
controller = { anchor_set = "baseline", smoothing_alpha = 0.82, tempo_sync = true, subdivision = 0.5 }
postfx = { tone_curve = "filmlog", grain_intensity = 0.12, chroma_shift = 0.003, vignette_strength = 0.25, motion_trails = false }

[pulse]
description = "punchy, beat-locked: warm, high contrast, quarter-second phase kicks"
controller = { anchor_set = "pulse", smoothing_alpha = 0.74, tempo_sync = true, subdivision = 0.25 }
postfx = { tone_curve = "punch", grain_intensity = 0.18, chroma_shift = 0.006, vignette_strength = 0.18, motion_trails = false }

[surge]
description = "saturated swells that follow the energy, eighth-second kicks, colour split"
controller = { anchor_set = "surge", smoothing_alpha = 0.72, tempo_sync = true, subdivision = 0.125 }
postfx = { tone_curve = "punch", grain_intensity = 0.22, chroma_shift = 0.008, vignette_strength = 0.15, motion_trails = false }

[drift]
description = "slow, smooth, cool: long glides between soft pastel forms"
controller = { anchor_set = "drift", smoothing_alpha = 0.95, tempo_sync = false, subdivision = 1.0 }
postfx = { tone_curve = "pastel", grain_intensity = 0.08, chroma_shift = 0.002, vignette_strength = 0.12, motion_trails = false }

[nocturne]
description = "dark and soft, with motion trails and a deep vignette"
controller = { anchor_set = "nocturne", smoothing_alpha = 0.90, tempo_sync = false, subdivision = 1.0 }
postfx = { tone_curve = "pastel", grain_intensity = 0.06, chroma_shift = 0.002, vignette_strength = 0.30, motion_trails = true }

[fracture]
description = "restless: fine detail, third-second kicks, reversed colour split, trails"
controller = { anchor_set = "fracture", smoothing_alpha = 0.78, tempo_sync = true, subdivision = 0.33 }
postfx = { tone_curve = "filmlog", grain_intensity = 0.24, chroma_shift = -0.007, vignette_strength = 0.22, motion_trails = true }

[lumen]
description = "bright, pale and airy, half-second kicks"
controller = { anchor_set = "lumen", smoothing_alpha = 0.84, tempo_sync = true, subdivision = 0.5 }
postfx = { tone_curve = "pastel", grain_intensity = 0.12, chroma_shift = 0.004, vignette_strength = 0.12, motion_trails = false }
"#;

/// Where built-in preset diagnostics point.
pub const BUILTIN_PRESETS_FILE: &str = "<built-in presets>";

/// The preset of a track that names none (the seed's `default`).
pub const DEFAULT_PRESET: &str = "default";
/// The anchor set of a controller table that names none.
pub const DEFAULT_ANCHOR_SET: &str = "baseline";
pub const MIN_FPS: i64 = 24;
pub const MAX_FPS: i64 = 120;
pub const MIN_RESOLUTION: i64 = 64;
/// The longest side H.264 encodes here (level 5.2); the short side is at most
/// [`crate::media::h264::MAX_SHORT_SIDE`].
pub const MAX_RESOLUTION: i64 = crate::media::h264::MAX_LONG_SIDE as i64;

/// The `[album.NAME.decoder]` settings (read only here: the decoder checks a model, not these).
pub const DECODER_SETTINGS: [SettingSpec; 4] = [
    SettingSpec {
        table: "decoder",
        key: "model",
        kind: SettingKind::Text { default: "models/decoder.onnx" },
        unit: "",
        doc: "ONNX decoder: input `latent` [B,8,16,16] → output `image` [B,3,H,W] in [−1, 1]",
    },
    SettingSpec {
        table: "decoder",
        key: "backend",
        kind: SettingKind::Choice { default: "auto", choices: &["auto", "tract", "onnxruntime"] },
        unit: "",
        doc: "auto = ONNX Runtime when [project] onnxruntime names a library, else the built-in tract",
    },
    SettingSpec {
        table: "decoder",
        key: "cuda",
        kind: SettingKind::Bool { default: false },
        unit: "",
        doc: "ONNX Runtime's CUDA execution provider when available (else CPU, with a warning)",
    },
    SettingSpec {
        table: "decoder",
        key: "batch_size",
        kind: SettingKind::Integer { default: 1, min: 1, max: 256 },
        unit: "",
        doc: "latents per decoder call (a fixed-batch model runs at its own batch)",
    },
];

/// The `[album.NAME.encode]` settings.
pub const ENCODE_SETTINGS: [SettingSpec; 2] = [
    SettingSpec {
        table: "encode",
        key: "qp",
        kind: SettingKind::Integer { default: 20, min: 12, max: 51 },
        unit: "",
        doc: "H.264 quantiser: lower is better quality and bigger",
    },
    SettingSpec {
        table: "encode",
        key: "audio_bitrate_kbps",
        kind: SettingKind::Integer { default: 160, min: 32, max: 510 },
        unit: "kbit/s",
        doc: "Opus bit rate of the video's audio",
    },
];

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
    /// Softmax temperature τ (`controller::ControllerParams::temperature`).
    pub temperature: f64,
    /// `running`, `track` or `projection` (`controller::FeatureScaling`).
    pub feature_scaling: String,
    /// Forgetting window of the running statistics, seconds.
    pub scaling_window_s: f64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
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

/// The anchor set a preset's overlay selects, if any.
pub fn preset_anchor_set(p: &Preset) -> Option<String> {
    let Kind::Table(m) = &p.overlay.kind else { return None };
    let Kind::Table(c) = &m.get("controller")?.kind else { return None };
    match &c.get("anchor_set")?.kind {
        Kind::Str(s) => Some(s.clone()),
        _ => None,
    }
}

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
    let short_max = crate::media::h264::MAX_SHORT_SIDE;
    let allowed = format!(
        "each side a multiple of 16 from {MIN_RESOLUTION} to {MAX_RESOLUTION}, the shorter at most {short_max} \
         (H.264 level 5.2: up to {MAX_RESOLUTION}x{short_max}, square up to {short_max}), as one number (square) or [width, height]"
    );
    let parsed = match &node.kind {
        Kind::Int(_) => check(node).map(|s| (s, s)),
        Kind::Array(items) if items.len() == 2 => check(&items[0]).zip(check(&items[1])),
        _ => None,
    }
    .filter(|&(w, h)| w.min(h) <= short_max);
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
    let anchor_set = c.string("anchor_set").unwrap_or_else(|| DEFAULT_ANCHOR_SET.to_string());
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
    let cs = |key| spec(&CONTROLLER_SETTINGS, key);
    let controller = ControllerSpec {
        meta: format!("{models}/meta.json"),
        smoothing_alpha: c.number(cs("smoothing_alpha")),
        wander_seed: c.integer(cs("wander_seed")) as u64,
        tempo_sync: c.flag(cs("tempo_sync")),
        subdivision_s: c.number(cs("subdivision")),
        temperature: c.number(cs("temperature")),
        feature_scaling: c.choice(cs("feature_scaling")),
        scaling_window_s: c.number(cs("scaling_window_s")),
        anchor_set,
        anchors,
        projection,
    };
    c.finish();

    let p = table("postfx").unwrap_or_else(empty_reader);
    let ps = |key| spec(&POSTFX_SETTINGS, key);
    let postfx = PostFxSpec {
        tone_curve: p.choice(ps("tone_curve")),
        grain_intensity: p.number(ps("grain_intensity")),
        chroma_shift: p.number(ps("chroma_shift")),
        vignette_strength: p.number(ps("vignette_strength")),
        motion_trails: p.flag(ps("motion_trails")),
    };
    p.finish();

    let d = table("decoder").unwrap_or_else(empty_reader);
    let ds = |key| spec(&DECODER_SETTINGS, key);
    let decoder = DecoderSpec {
        model: path_key(&d, "model").unwrap_or_else(|| format!("{models}/decoder.onnx")),
        backend: d.choice(ds("backend")),
        library: vctx.onnxruntime.map(str::to_string),
        cuda: d.flag(ds("cuda")),
        batch_size: d.integer(ds("batch_size")) as u32,
    };
    d.finish();

    let e = table("encode").unwrap_or_else(empty_reader);
    let es = |key| spec(&ENCODE_SETTINGS, key);
    let encode =
        EncodeSpec { qp: e.integer(es("qp")) as u8, audio_bitrate_kbps: e.integer(es("audio_bitrate_kbps")) as u32 };
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

impl TrackVideoSpec {
    /// The wander strength preset (DOMAIN §B): the preset's own name, or for a project preset
    /// its anchor set's.
    pub fn strength_preset(&self) -> crate::controller::Preset {
        use crate::controller::Preset;
        match Preset::from_name(&self.preset) {
            Preset::Other(_) => Preset::from_name(&self.controller.anchor_set),
            p => p,
        }
    }

    /// The controller parameters this spec selects for a track: its smoothing, seeds, tempo
    /// sync, temperature and feature scaling and [`Self::strength_preset`]; `anchor_seed` from
    /// `meta.json`'s entry for the anchor set, `track_seed` the track's `seed` (0 = none). No
    /// per-frame tracks.
    pub fn controller_params(&self, anchor_seed: u64, track_seed: u64) -> crate::controller::ControllerParams {
        use crate::controller::{ControllerParams, FeatureScaling};
        let c = &self.controller;
        ControllerParams {
            preset: self.strength_preset(),
            smoothing_alpha: c.smoothing_alpha,
            wander_seed: c.wander_seed,
            anchor_seed,
            track_seed: (track_seed != 0).then_some(track_seed),
            tempo_sync: c.tempo_sync,
            subdivision: c.subdivision_s,
            temperature: c.temperature,
            feature_scaling: FeatureScaling::from_name(&c.feature_scaling).unwrap_or_default(),
            scaling_window_s: c.scaling_window_s,
            tracks: Default::default(),
        }
    }
}
