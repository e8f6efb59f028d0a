//! `[textures.NAME]` recipes → `TexturesSpec`: the sources a texture library is mined from
//! (project files, globs, or other targets' artifacts) and the settings of each category.

use std::collections::BTreeSet;

use super::kit::MAX_SEED;
use super::reader::TableReader;
use super::value::{Kind, Node};
use crate::textures::clouds::CloudSettings;
use crate::textures::drones::DroneSettings;
use crate::textures::hiss::HissSettings;
use crate::textures::manifest::GradeThresholds;
use crate::textures::pads::PadSettings;

/// One entry of `sources`, `pad_sources` or `drum_sources`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SourceRef {
    /// A project file.
    File(String),
    /// A glob over project files (`audio/*.wav`), expanded when the project is opened.
    Glob(String),
    /// Another target's artifact, e.g. `song.demo/song.wav`.
    Artifact(String),
}

impl SourceRef {
    pub fn as_str(&self) -> &str {
        match self {
            SourceRef::File(s) | SourceRef::Glob(s) | SourceRef::Artifact(s) => s,
        }
    }
}

/// Export settings shared by every category.
#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    /// Peak the exported file is normalised to, dBFS.
    pub peak_dbfs: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TexturesSpec {
    pub id: String,
    /// Mined for pads.
    pub sources: Vec<SourceRef>,
    /// Made into drones, swells and clouds (default: `sources`).
    pub pad_sources: Vec<SourceRef>,
    /// Made into hiss; none ⇒ hiss from seeded synthetic noise.
    pub drum_sources: Vec<SourceRef>,
    pub seed: u64,
    /// 24 (default) or 16.
    pub bit_depth: u16,
    /// Leave grade-F files unsaved (recorded in the manifest with `saved = false`).
    pub skip_grade_f: bool,
    pub pads: PadSettings,
    pub pads_export: Export,
    pub drones: DroneSettings,
    pub drones_export: Export,
    pub clouds: CloudSettings,
    pub clouds_export: Export,
    pub hiss: HissSettings,
    /// Hiss loops are normalised to `hiss_export.peak_dbfs` (−6), flickers to this (−3).
    pub hiss_flicker_peak_dbfs: f64,
    pub hiss_export: Export,
    pub grades: GradeThresholds,
}

impl Eq for TexturesSpec {}

/// The per-category tables of a `[textures.NAME]` recipe.
pub const TABLES: [&str; 5] = ["pads", "drones", "clouds", "hiss", "grades"];

pub fn read(t: &TableReader<'_>, id: &str, targets: &BTreeSet<String>) -> TexturesSpec {
    let sources = source_list(t, "sources", targets).unwrap_or_else(|| {
        t.error("sources", "a texture library needs `sources`: project files, globs such as \"audio/*.wav\", or artifact ids such as \"song.demo/song.wav\"");
        Vec::new()
    });
    if t.get("sources").is_some() && sources.is_empty() {
        t.error("sources", "`sources` is empty: name at least one file, glob or artifact");
    }
    let pad_sources = source_list(t, "pad_sources", targets).unwrap_or_else(|| sources.clone());
    let drum_sources = source_list(t, "drum_sources", targets).unwrap_or_default();
    let seed = t.int("seed", 0, 0, MAX_SEED) as u64;
    let bit_depth = t.int_choice("bit_depth", 24, &[16, 24]) as u16;
    let skip_grade_f = t.bool("skip_grade_f", false);

    let empty =
        Node { origin: super::value::Origin::Override { arg: "".into() }, kind: Kind::Table(Default::default()) };
    let empty_reader = || TableReader::new(t.ctx(), &empty, "").expect("an empty table");
    let table = |key: &str| t.table(key).unwrap_or_else(empty_reader);

    let p = table("pads");
    let d = PadSettings::default();
    let pads = PadSettings {
        target_durations_s: f64_list(&p, "target_durations_s", &d.target_durations_s, 0.25, 30.0),
        hop_s: p.f64("hop_s", d.hop_s, 0.05, 10.0, "s"),
        rms_db_min: p.f64("rms_db_min", d.rms_db_min, -120.0, 0.0, "dB"),
        rms_db_max: p.f64("rms_db_max", d.rms_db_max, -120.0, 0.0, "dB"),
        max_onset_rate_hz: p.f64("max_onset_rate_hz", d.max_onset_rate_hz, 0.0, 100.0, "Hz"),
        max_flatness: p.f64("max_flatness", d.max_flatness, 0.0, 1.0, ""),
        best_per_duration: p.int("best_per_duration", d.best_per_duration as i64, 1, 64) as usize,
        crossfade_ms: p.f64("crossfade_ms", d.crossfade_ms, 1.0, 2000.0, "ms"),
    };
    validated(&p, pads.validate());
    let pads_export = export(&p, -1.0);
    p.finish();

    let r = table("drones");
    let d = DroneSettings::default();
    let drones = DroneSettings {
        pitch_shifts_st: f64_list(&r, "pitch_shifts_st", &d.pitch_shifts_st, -24.0, 24.0),
        time_stretches: f64_list(&r, "time_stretches", &d.time_stretches, 0.25, 4.0),
        loop_s: r.f64("loop_s", d.loop_s, 0.25, 30.0, "s"),
        swell_s: r.f64("swell_s", d.swell_s, 0.5, 60.0, "s"),
        swell_fade_in_s: r.f64("swell_fade_in_s", d.swell_fade_in_s, 0.0, 30.0, "s"),
        swell_fade_out_s: r.f64("swell_fade_out_s", d.swell_fade_out_s, 0.0, 30.0, "s"),
        variants: r.bool("variants", d.variants),
        reversed: r.bool("reversed", d.reversed),
        crossfade_ms: r.f64("crossfade_ms", d.crossfade_ms, 1.0, 2000.0, "ms"),
    };
    validated(&r, drones.validate());
    let drones_export = export(&r, -1.0);
    r.finish();

    let c = table("clouds");
    let d = CloudSettings::default();
    let clouds = CloudSettings {
        grains: c.int("grains", d.grains as i64, 1, 10_000) as usize,
        grain_ms_min: c.f64("grain_ms_min", d.grain_ms_min, 5.0, 2000.0, "ms"),
        grain_ms_max: c.f64("grain_ms_max", d.grain_ms_max, 5.0, 2000.0, "ms"),
        min_grain_quality: c.f64("min_grain_quality", d.min_grain_quality, 0.0, 1.0, ""),
        max_tries: c.int("max_tries", d.max_tries as i64, 1, 100) as usize,
        pitch_st_min: c.f64("pitch_st_min", d.pitch_st_min, -24.0, 24.0, "semitones"),
        pitch_st_max: c.f64("pitch_st_max", d.pitch_st_max, -24.0, 24.0, "semitones"),
        overlap: c.f64("overlap", d.overlap, 0.05, 1.0, ""),
        duration_s: c.f64("duration_s", d.duration_s, 0.5, 120.0, "s"),
        lowpass_hz: c.f64("lowpass_hz", d.lowpass_hz, 100.0, 20_000.0, "Hz"),
        fade_ms: c.f64("fade_ms", d.fade_ms, 0.0, 1000.0, "ms"),
        clouds_per_source: c.int("clouds_per_source", d.clouds_per_source as i64, 1, 64) as usize,
    };
    validated(&c, clouds.validate());
    let clouds_export = export(&c, -3.0);
    c.finish();

    let h = table("hiss");
    let d = HissSettings::default();
    let hiss = HissSettings {
        chunk_s: h.f64("chunk_s", d.chunk_s, 0.1, 30.0, "s"),
        band_low_hz: h.f64("band_low_hz", d.band_low_hz, 20.0, 20_000.0, "Hz"),
        band_high_hz: h.f64("band_high_hz", d.band_high_hz, 20.0, 21_000.0, "Hz"),
        order: h.int("order", d.order as i64, 1, 8) as usize,
        tremolo_depth: h.f64("tremolo_depth", d.tremolo_depth, 0.0, 1.0, ""),
        tremolo_rate_hz: h.f64("tremolo_rate_hz", d.tremolo_rate_hz, 0.0, 50.0, "Hz"),
        loop_crossfade_ms: h.f64("loop_crossfade_ms", d.loop_crossfade_ms, 1.0, 1000.0, "ms"),
        loops: h.int("loops", d.loops as i64, 0, 64) as usize,
        flickers: h.int("flickers", d.flickers as i64, 0, 64) as usize,
        flicker_ms_min: h.f64("flicker_ms_min", d.flicker_ms_min, 10.0, 5000.0, "ms"),
        flicker_ms_max: h.f64("flicker_ms_max", d.flicker_ms_max, 10.0, 5000.0, "ms"),
        flicker_fade_in_ms: h.f64("flicker_fade_in_ms", d.flicker_fade_in_ms, 0.0, 1000.0, "ms"),
        flicker_fade_out_ms: h.f64("flicker_fade_out_ms", d.flicker_fade_out_ms, 0.0, 1000.0, "ms"),
    };
    validated(&h, hiss.validate());
    let hiss_export = export(&h, -6.0);
    let hiss_flicker_peak_dbfs = h.f64("flicker_peak_dbfs", -3.0, -60.0, 0.0, "dBFS");
    h.finish();

    let g = table("grades");
    let d = GradeThresholds::default();
    let grades = GradeThresholds {
        min_rms_db: g.f64("min_rms_db", d.min_rms_db, -200.0, 0.0, "dB"),
        max_peak: g.f64("max_peak", d.max_peak, 0.0, 1.0, ""),
        max_crest: g.f64("max_crest", d.max_crest, 1.0, 1000.0, ""),
        a_min_rms_db: g.f64("a_min_rms_db", d.a_min_rms_db, -200.0, 0.0, "dB"),
        a_max_crest: g.f64("a_max_crest", d.a_max_crest, 1.0, 1000.0, ""),
        a_max_loop_error_db: g.f64("a_max_loop_error_db", d.a_max_loop_error_db, -200.0, 0.0, "dB"),
    };
    validated(&g, grades.validate());
    g.finish();
    t.finish();

    TexturesSpec {
        id: id.to_string(),
        sources,
        pad_sources,
        drum_sources,
        seed,
        bit_depth,
        skip_grade_f,
        pads,
        pads_export,
        drones,
        drones_export,
        clouds,
        clouds_export,
        hiss,
        hiss_flicker_peak_dbfs,
        hiss_export,
        grades,
    }
}

fn export(t: &TableReader<'_>, peak_dbfs: f64) -> Export {
    Export { peak_dbfs: t.f64("peak_dbfs", peak_dbfs, -60.0, 0.0, "dBFS") }
}

/// Report a cross-field problem found by a settings type's own `validate`. Its message names
/// the field first (`grain_ms_min must be …`), which becomes the key.
fn validated(t: &TableReader<'_>, result: Result<(), String>) {
    if let Err(message) = result {
        let key = message
            .split_whitespace()
            .next()
            .unwrap_or("")
            .trim_matches(|c: char| !c.is_alphanumeric() && c != '_')
            .to_string();
        t.error(&key, message);
    }
}

/// A list of strings → sources. None when the key is absent.
fn source_list(t: &TableReader<'_>, key: &str, targets: &BTreeSet<String>) -> Option<Vec<SourceRef>> {
    let node = t.get(key)?;
    let items: Vec<&Node> = match &node.kind {
        Kind::Array(items) => items.iter().collect(),
        Kind::Str(_) => vec![node],
        other => {
            t.error(key, format!("expected a list of files, globs or artifact ids, found {}", other.type_name()));
            return Some(Vec::new());
        }
    };
    let mut out = Vec::new();
    for item in items {
        let Kind::Str(s) = &item.kind else {
            t.error(key, format!("expected strings (files, globs or artifact ids), found {}", item.kind.type_name()));
            continue;
        };
        let is_artifact = s.split_once('/').is_some_and(|(target, _)| targets.contains(target));
        if is_artifact {
            out.push(SourceRef::Artifact(s.clone()));
            continue;
        }
        if let Err(e) = super::paths::check_relative(s) {
            t.error(key, e);
            continue;
        }
        if s.contains(['*', '?', '[']) {
            if let Err(e) = glob::Pattern::new(s) {
                t.error(key, format!("`{s}` is not a valid glob: {e}"));
                continue;
            }
            out.push(SourceRef::Glob(s.clone()));
        } else {
            out.push(SourceRef::File(s.clone()));
        }
    }
    Some(out)
}

fn f64_list(t: &TableReader<'_>, key: &str, default: &[f64], min: f64, max: f64) -> Vec<f64> {
    let Some(node) = t.get(key) else { return default.to_vec() };
    let Kind::Array(items) = &node.kind else {
        t.error(key, format!("expected a list of numbers, found {}", node.kind.type_name()));
        return default.to_vec();
    };
    let mut out = Vec::new();
    for item in items {
        let x = match item.kind {
            Kind::Float(x) => x,
            Kind::Int(i) => i as f64,
            _ => {
                t.error(key, format!("expected numbers, found {}", item.kind.type_name()));
                continue;
            }
        };
        if !(min..=max).contains(&x) {
            t.error(
                key,
                format!(
                    "{} is out of range; allowed {}..={}",
                    super::reader::num(x),
                    super::reader::num(min),
                    super::reader::num(max)
                ),
            );
            continue;
        }
        out.push(x);
    }
    if out.is_empty() && !items.is_empty() {
        return default.to_vec();
    }
    if items.is_empty() {
        t.error(key, "the list is empty: give at least one value");
    }
    out
}
