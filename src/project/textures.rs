//! `[textures.NAME]` recipes → `TexturesSpec`: the sources a texture library is mined from
//! (project files, globs, or other targets' artifacts) and the settings of each category.

use std::collections::BTreeSet;

use super::kit::MAX_SEED;
use super::reader::TableReader;
use super::value::{Kind, Node};
use crate::schema::{SettingSpec, spec};
use crate::textures::clouds::CloudSettings;
use crate::textures::drones::DroneSettings;
use crate::textures::hiss::HissSettings;
use crate::textures::manifest::GradeThresholds;
use crate::textures::pads::PadSettings;
use crate::textures::settings::{CLOUD_SETTINGS, DRONE_SETTINGS, GRADE_SETTINGS, HISS_SETTINGS, PAD_SETTINGS};

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
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Export {
    /// Peak the exported file is normalised to, dBFS.
    pub peak_dbfs: f64,
    /// Keep the source's own stereo (its first two channels) instead of its mixdown. A mono
    /// source still gives mono files: stereo is never made up (default false).
    pub stereo: bool,
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
        target_durations_s: f64_list(&p, spec(&PAD_SETTINGS, "target_durations_s"), &d.target_durations_s),
        hop_s: p.number(spec(&PAD_SETTINGS, "hop_s")),
        rms_db_min: p.number(spec(&PAD_SETTINGS, "rms_db_min")),
        rms_db_max: p.number(spec(&PAD_SETTINGS, "rms_db_max")),
        max_onset_rate_hz: p.number(spec(&PAD_SETTINGS, "max_onset_rate_hz")),
        max_flatness: p.number(spec(&PAD_SETTINGS, "max_flatness")),
        best_per_duration: p.integer(spec(&PAD_SETTINGS, "best_per_duration")) as usize,
        crossfade_ms: p.number(spec(&PAD_SETTINGS, "crossfade_ms")),
    };
    validated(&p, pads.validate());
    let pads_export = export(&p, &PAD_SETTINGS);
    p.finish();

    let r = table("drones");
    let d = DroneSettings::default();
    let drones = DroneSettings {
        pitch_shifts_st: f64_list(&r, spec(&DRONE_SETTINGS, "pitch_shifts_st"), &d.pitch_shifts_st),
        time_stretches: f64_list(&r, spec(&DRONE_SETTINGS, "time_stretches"), &d.time_stretches),
        loop_s: r.number(spec(&DRONE_SETTINGS, "loop_s")),
        swell_s: r.number(spec(&DRONE_SETTINGS, "swell_s")),
        swell_fade_in_s: r.number(spec(&DRONE_SETTINGS, "swell_fade_in_s")),
        swell_fade_out_s: r.number(spec(&DRONE_SETTINGS, "swell_fade_out_s")),
        variants: r.flag(spec(&DRONE_SETTINGS, "variants")),
        reversed: r.flag(spec(&DRONE_SETTINGS, "reversed")),
        crossfade_ms: r.number(spec(&DRONE_SETTINGS, "crossfade_ms")),
    };
    validated(&r, drones.validate());
    let drones_export = export(&r, &DRONE_SETTINGS);
    r.finish();

    let c = table("clouds");
    let clouds = CloudSettings {
        grains: c.integer(spec(&CLOUD_SETTINGS, "grains")) as usize,
        grain_ms_min: c.number(spec(&CLOUD_SETTINGS, "grain_ms_min")),
        grain_ms_max: c.number(spec(&CLOUD_SETTINGS, "grain_ms_max")),
        min_grain_quality: c.number(spec(&CLOUD_SETTINGS, "min_grain_quality")),
        max_tries: c.integer(spec(&CLOUD_SETTINGS, "max_tries")) as usize,
        pitch_st_min: c.number(spec(&CLOUD_SETTINGS, "pitch_st_min")),
        pitch_st_max: c.number(spec(&CLOUD_SETTINGS, "pitch_st_max")),
        overlap: c.number(spec(&CLOUD_SETTINGS, "overlap")),
        duration_s: c.number(spec(&CLOUD_SETTINGS, "duration_s")),
        lowpass_hz: c.number(spec(&CLOUD_SETTINGS, "lowpass_hz")),
        fade_ms: c.number(spec(&CLOUD_SETTINGS, "fade_ms")),
        clouds_per_source: c.integer(spec(&CLOUD_SETTINGS, "clouds_per_source")) as usize,
    };
    validated(&c, clouds.validate());
    let clouds_export = export(&c, &CLOUD_SETTINGS);
    c.finish();

    let h = table("hiss");
    let hiss = HissSettings {
        chunk_s: h.number(spec(&HISS_SETTINGS, "chunk_s")),
        band_low_hz: h.number(spec(&HISS_SETTINGS, "band_low_hz")),
        band_high_hz: h.number(spec(&HISS_SETTINGS, "band_high_hz")),
        order: h.integer(spec(&HISS_SETTINGS, "order")) as usize,
        tremolo_depth: h.number(spec(&HISS_SETTINGS, "tremolo_depth")),
        tremolo_rate_hz: h.number(spec(&HISS_SETTINGS, "tremolo_rate_hz")),
        loop_crossfade_ms: h.number(spec(&HISS_SETTINGS, "loop_crossfade_ms")),
        loops: h.integer(spec(&HISS_SETTINGS, "loops")) as usize,
        flickers: h.integer(spec(&HISS_SETTINGS, "flickers")) as usize,
        flicker_ms_min: h.number(spec(&HISS_SETTINGS, "flicker_ms_min")),
        flicker_ms_max: h.number(spec(&HISS_SETTINGS, "flicker_ms_max")),
        flicker_fade_in_ms: h.number(spec(&HISS_SETTINGS, "flicker_fade_in_ms")),
        flicker_fade_out_ms: h.number(spec(&HISS_SETTINGS, "flicker_fade_out_ms")),
    };
    validated(&h, hiss.validate());
    let hiss_export = export(&h, &HISS_SETTINGS);
    let hiss_flicker_peak_dbfs = h.number(spec(&HISS_SETTINGS, "flicker_peak_dbfs"));
    h.finish();

    let g = table("grades");
    let grades = GradeThresholds {
        min_rms_db: g.number(spec(&GRADE_SETTINGS, "min_rms_db")),
        max_peak: g.number(spec(&GRADE_SETTINGS, "max_peak")),
        max_crest: g.number(spec(&GRADE_SETTINGS, "max_crest")),
        a_min_rms_db: g.number(spec(&GRADE_SETTINGS, "a_min_rms_db")),
        a_max_crest: g.number(spec(&GRADE_SETTINGS, "a_max_crest")),
        a_max_loop_error_db: g.number(spec(&GRADE_SETTINGS, "a_max_loop_error_db")),
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

fn export(t: &TableReader<'_>, specs: &[SettingSpec]) -> Export {
    Export { peak_dbfs: t.number(spec(specs, "peak_dbfs")), stereo: t.flag(spec(specs, "stereo")) }
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
pub(crate) fn source_list(t: &TableReader<'_>, key: &str, targets: &BTreeSet<String>) -> Option<Vec<SourceRef>> {
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
        if !t.check_input_path(key, s, "") {
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

fn f64_list(t: &TableReader<'_>, s: &SettingSpec, default: &[f64]) -> Vec<f64> {
    let (key, (min, max)) = (s.key, s.range());
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
