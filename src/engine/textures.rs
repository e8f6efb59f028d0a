//! The texture flow (`[textures.NAME]`): per source and category one *bundle* (not
//! materialized) holds every texture of that category as a finished WAV plus its manifest rows;
//! each texture file is its own artifact read out of the bundle, and `manifest.csv` joins the
//! bundles' rows. Editing one source re-runs only its bundles; changing cloud settings re-runs
//! only the cloud bundles.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::db::Db;
use super::query::{self, BuildError};
use super::targets::{ArtifactDecl, Recipe};
use crate::dsp::level::db_to_lin;
use crate::dsp::rng::Rng;
use crate::project::album::AudioRef;
use crate::project::textures::{Export, SourceRef, TexturesSpec};
use crate::textures::manifest::{self, Grade, Row};
use crate::textures::{Clip, OUTPUT_RATE_HZ, TextureError, clouds, drones, hiss, pads};

pub const BUNDLE_VERSION: u32 = 1;
pub const ITEM_VERSION: u32 = 1;
pub const MANIFEST_VERSION: u32 = 1;

/// Glob pattern → the project files it matches (sorted), expanded when the project is opened.
pub type Globs = BTreeMap<String, Vec<String>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Pads,
    Drones,
    Clouds,
    Hiss,
}

impl Category {
    pub fn name(self) -> &'static str {
        match self {
            Category::Pads => "pads",
            Category::Drones => "drones",
            Category::Clouds => "clouds",
            Category::Hiss => "hiss",
        }
    }
}

/// A source with its name in the export tree (`<Source_Name>/…`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NamedSource {
    pub name: String,
    /// None: synthetic noise (hiss without drum sources).
    pub audio: Option<AudioRef>,
}

/// One planned texture file of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Slot {
    /// Path below the target's output dir: `<source>/<folder>/<file>.wav`.
    pub rel: String,
    /// The manifest's `filename`.
    pub file: String,
    /// The manifest's `type`.
    pub kind: String,
}

/// The sources a list names, in order: files, each glob's matches (sorted), artifacts;
/// duplicates dropped. Names are file stems, made unique with `_2`, `_3`… in order.
pub fn resolve_sources(list: &[SourceRef], globs: &Globs) -> Vec<AudioRef> {
    let mut out: Vec<AudioRef> = Vec::new();
    for s in list {
        let found: Vec<AudioRef> = match s {
            SourceRef::File(f) => vec![AudioRef::File(f.clone())],
            SourceRef::Artifact(a) => vec![AudioRef::Artifact(a.clone())],
            SourceRef::Glob(g) => globs.get(g).into_iter().flatten().map(|f| AudioRef::File(f.clone())).collect(),
        };
        for a in found {
            if !out.contains(&a) {
                out.push(a);
            }
        }
    }
    out
}

fn stem(audio: &AudioRef) -> String {
    let path = match audio {
        AudioRef::File(f) | AudioRef::Artifact(f) => f,
    };
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.rsplit_once('.').map_or(file, |(s, _)| s);
    let clean: String =
        stem.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    if clean.is_empty() { "source".into() } else { clean }
}

/// Give every source a unique export name, in order of first appearance.
fn name_sources(all: &[&[AudioRef]]) -> BTreeMap<AudioRef, String> {
    let mut names: BTreeMap<AudioRef, String> = BTreeMap::new();
    let mut used: std::collections::BTreeSet<String> = ["synthetic".to_string()].into();
    for list in all {
        for a in *list {
            if names.contains_key(a) {
                continue;
            }
            let base = stem(a);
            let mut name = base.clone();
            let mut n = 2;
            while used.contains(&name) {
                name = format!("{base}_{n}");
                n += 1;
            }
            used.insert(name.clone());
            names.insert(a.clone(), name);
        }
    }
    names
}

/// The planned files of one bundle, from settings alone.
pub fn plan(spec: &TexturesSpec, category: Category, source: &str) -> Vec<Slot> {
    let slot = |folder: &str, file: String, kind: &str| Slot {
        rel: format!("{source}/{folder}/{file}"),
        file,
        kind: kind.to_string(),
    };
    match category {
        Category::Pads => {
            let n = spec.pads.target_durations_s.len() * spec.pads.best_per_duration;
            (1..=n).map(|i| slot("pads", format!("{source}_pad{i:02}.wav"), "pad")).collect()
        }
        Category::Drones => drones::plan_drones(&spec.drones)
            .into_iter()
            .map(|item| match item.category {
                // Numbered drone loops are `droneNN`, so they never collide with mined `padNN`.
                drones::DroneCategory::Pads => {
                    let suffix = match item.name_suffix.strip_prefix("pad") {
                        Some(n) if n.starts_with(|c: char| c.is_ascii_digit()) => format!("drone{n}"),
                        _ => item.name_suffix.clone(),
                    };
                    slot("pads", format!("{source}_{suffix}.wav"), "drone")
                }
                drones::DroneCategory::Swells => slot("swells", format!("{source}_{}.wav", item.name_suffix), "swell"),
            })
            .collect(),
        Category::Clouds => (1..=spec.clouds.clouds_per_source)
            .map(|i| slot("clouds", format!("cloud_{source}_{i:02}.wav"), "cloud"))
            .collect(),
        Category::Hiss => hiss::plan_hiss(&spec.hiss)
            .into_iter()
            .map(|(kind, name)| {
                let kind = match kind {
                    hiss::HissKind::Loop => "hiss_loop",
                    hiss::HissKind::Flicker => "hiss_flicker",
                };
                slot("hiss", format!("{name}.wav"), kind)
            })
            .collect(),
    }
}

/// Every artifact of a texture library: bundles, texture files, `manifest.csv`.
pub fn artifacts(id: &str, spec: &Arc<TexturesSpec>, globs: &Globs) -> Vec<ArtifactDecl> {
    let sources = resolve_sources(&spec.sources, globs);
    let pad_sources = resolve_sources(&spec.pad_sources, globs);
    let drum_sources = resolve_sources(&spec.drum_sources, globs);
    let names = name_sources(&[&sources, &pad_sources, &drum_sources]);
    let mut jobs: Vec<(NamedSource, Category)> = Vec::new();
    let named = |a: &AudioRef| NamedSource { name: names[a].clone(), audio: Some(a.clone()) };
    for a in &sources {
        jobs.push((named(a), Category::Pads));
    }
    for a in &pad_sources {
        jobs.push((named(a), Category::Drones));
        jobs.push((named(a), Category::Clouds));
    }
    if drum_sources.is_empty() {
        jobs.push((NamedSource { name: "synthetic".into(), audio: None }, Category::Hiss));
    } else {
        for a in &drum_sources {
            jobs.push((named(a), Category::Hiss));
        }
    }
    // Group by source name so a source's bundles and rows sit together.
    jobs.sort_by(|a, b| (&a.0.name, a.1).cmp(&(&b.0.name, b.1)));

    let mut out = Vec::new();
    let mut bundles = Vec::new();
    for (source, category) in jobs {
        let slots = plan(spec, category, &source.name);
        let bundle_id = format!("{id}/{}/mined/{}", source.name, category.name());
        let (deps, files) = match &source.audio {
            Some(AudioRef::Artifact(a)) => (vec![a.clone()], vec![]),
            Some(AudioRef::File(f)) => (vec![], vec![f.clone()]),
            None => (vec![], vec![]),
        };
        for s in &slots {
            out.push(ArtifactDecl {
                id: format!("{id}/{}", s.rel),
                target: id.to_string(),
                rel: s.rel.clone(),
                deps: vec![bundle_id.clone()],
                files: vec![],
                materialized: true,
                recipe: Recipe::TextureFile { file: s.file.clone() },
            });
        }
        bundles.push((bundle_id.clone(), source.name.clone(), slots.clone()));
        out.push(ArtifactDecl {
            id: bundle_id.clone(),
            target: id.to_string(),
            rel: format!("{}/mined/{}", source.name, category.name()),
            deps,
            files,
            materialized: false,
            recipe: Recipe::TextureBundle { spec: spec.clone(), source, category, slots },
        });
    }
    out.push(ArtifactDecl {
        id: format!("{id}/manifest.csv"),
        target: id.to_string(),
        rel: "manifest.csv".into(),
        deps: bundles.iter().map(|b| b.0.clone()).collect(),
        files: vec![],
        materialized: true,
        recipe: Recipe::TextureManifest { bundles },
    });
    out
}

fn export_params(e: &Export) -> Value {
    json!({ "peak_dbfs": e.peak_dbfs })
}

pub fn bundle_params(spec: &TexturesSpec, source: &NamedSource, category: Category, slots: &[Slot]) -> Value {
    let settings = match category {
        Category::Pads => json!({ "pads": format!("{:?}", spec.pads), "export": export_params(&spec.pads_export) }),
        Category::Drones => {
            json!({ "drones": format!("{:?}", spec.drones), "export": export_params(&spec.drones_export) })
        }
        Category::Clouds => {
            json!({ "clouds": format!("{:?}", spec.clouds), "export": export_params(&spec.clouds_export) })
        }
        Category::Hiss => json!({
            "hiss": format!("{:?}", spec.hiss),
            "export": export_params(&spec.hiss_export),
            "flicker_peak_dbfs": spec.hiss_flicker_peak_dbfs,
        }),
    };
    json!({
        "category": category,
        "source": source.name,
        "seed": spec.seed,
        "bit_depth": spec.bit_depth,
        "skip_grade_f": spec.skip_grade_f,
        "grades": format!("{:?}", spec.grades),
        "settings": settings,
        "slots": slots,
    })
}

/// What a bundle says about one planned file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SlotReport {
    file: String,
    saved: bool,
    reason: Option<String>,
}

const INDEX_ENTRY: &str = "index.json";
const ROWS_ENTRY: &str = "rows.csv";

/// Load a source as a mono clip at 44.1 kHz. Decoded once per process and source content
/// (`BuildEnv::memo`), however many of its bundles are built; each caller reports the warnings.
fn load_source(db: &dyn Db, id: &str, audio: &AudioRef) -> Result<std::sync::Arc<Clip>, BuildError> {
    let (path, name, digest) = query::audio_path(db, id, audio)?;
    let loaded = db.env().memo("texture_source", digest, || {
        let decoded = crate::media::decode::decode_path(&path)
            .map_err(|e| BuildError::failed(id, format!("source `{name}`: {e}")))?;
        let samples = if decoded.sample_rate_hz == OUTPUT_RATE_HZ {
            decoded.samples_mono
        } else {
            crate::dsp::resample::resample_vec(decoded.samples_mono, decoded.sample_rate_hz, OUTPUT_RATE_HZ)
                .map_err(|e| BuildError::failed(id, format!("source `{name}`: resampling to 44.1 kHz: {e}")))?
        };
        if samples.is_empty() {
            return Err(BuildError::failed(id, format!("source `{name}`: no audio in the file")));
        }
        Ok((std::sync::Arc::new(Clip::mono(samples)), decoded.warnings))
    })?;
    for w in &loaded.1 {
        db.env().warn(id, format!("source `{name}`: {w}"));
    }
    Ok(loaded.0.clone())
}

pub fn compute_bundle(
    db: &dyn Db,
    decl: &ArtifactDecl,
    spec: &TexturesSpec,
    source: &NamedSource,
    category: Category,
    slots: &[Slot],
) -> Result<Vec<u8>, BuildError> {
    let id = &decl.id;
    let clip = match &source.audio {
        Some(a) => Some(load_source(db, id, a)?),
        None => None,
    };
    let with_source =
        || clip.as_deref().ok_or_else(|| BuildError::failed(id, format!("{} needs a source file", category.name())));
    let seed = Rng::derive(spec.seed, &format!("{}/{}", source.name, category.name()));
    // (result, is_loop, tonal, export)
    let (results, is_loop, tonal, export): (Vec<Result<Clip, String>>, Vec<bool>, bool, &Export) = match category {
        Category::Pads => {
            let clip = with_source()?;
            let report = pads::mine_pads(clip, &spec.pads);
            let why = if report.rejected.is_empty() {
                format!("no window passed the pad gates ({} windows)", report.windows)
            } else {
                let r: Vec<String> = report.rejected.iter().map(|(k, n)| format!("{n} {k}")).collect();
                format!("no window passed the pad gates ({} windows: {})", report.windows, r.join(", "))
            };
            let per = spec.pads.best_per_duration;
            let mut by_duration: Vec<Vec<Clip>> = vec![Vec::new(); spec.pads.target_durations_s.len()];
            for p in report.pads {
                if let Some(i) = spec.pads.target_durations_s.iter().position(|d| *d == p.target_duration_s) {
                    by_duration[i].push(p.clip);
                }
            }
            let mut results = Vec::new();
            for list in by_duration {
                let mut list = list.into_iter();
                for _ in 0..per {
                    results.push(list.next().ok_or_else(|| why.clone()));
                }
            }
            let n = results.len();
            (results, vec![true; n], true, &spec.pads_export)
        }
        Category::Drones => {
            let clip = with_source()?;
            let plan = drones::plan_drones(&spec.drones);
            let results: Vec<Result<Clip, String>> =
                drones::make_drones(clip, &spec.drones).into_iter().map(|r| r.map_err(|e| e.to_string())).collect();
            let loops = plan.iter().map(|p| matches!(p.category, drones::DroneCategory::Pads)).collect();
            (results, loops, true, &spec.drones_export)
        }
        Category::Clouds => {
            // The stability analysis is done once for all of the source's clouds.
            let analysed = clouds::CloudSource::new(with_source()?);
            let results: Vec<Result<Clip, String>> = (0..spec.clouds.clouds_per_source)
                .map(|i| {
                    let seed = Rng::derive(seed, &format!("cloud{i}"));
                    analysed.cloud(&spec.clouds, seed).map(|(c, _)| c).map_err(|e| e.to_string())
                })
                .collect();
            let n = results.len();
            (results, vec![false; n], true, &spec.clouds_export)
        }
        Category::Hiss => {
            let plan = hiss::plan_hiss(&spec.hiss);
            let results: Vec<Result<Clip, String>> = hiss::make_hiss(clip.as_deref(), &spec.hiss, seed)
                .into_iter()
                .map(|r| r.map_err(|e| e.to_string()))
                .collect();
            let loops = plan.iter().map(|(k, _)| matches!(k, hiss::HissKind::Loop)).collect();
            (results, loops, false, &spec.hiss_export)
        }
    };
    if results.len() != slots.len() {
        return Err(BuildError::failed(
            id,
            format!("internal: {} results for {} planned files", results.len(), slots.len()),
        ));
    }
    let loop_peak = db_to_lin(export.peak_dbfs) as f32;
    // Hiss flickers (the one-shots of a hiss bundle) have their own peak.
    let one_shot_peak = match category {
        Category::Hiss => db_to_lin(spec.hiss_flicker_peak_dbfs) as f32,
        _ => loop_peak,
    };
    let mut index = Vec::new();
    let mut rows = Vec::new();
    let mut wavs: Vec<(String, Vec<u8>)> = Vec::new();
    for ((slot, result), is_loop) in slots.iter().zip(results).zip(is_loop) {
        let mut row = Row {
            filename: slot.file.clone(),
            source: source.name.clone(),
            kind: slot.kind.clone(),
            metrics: None,
            grade: None,
            saved: false,
            reason: None,
        };
        let outcome = result.and_then(|clip| {
            let peak = clip.peak();
            if !(peak.is_finite() && peak >= crate::textures::SILENCE_PEAK) {
                return Err(TextureError::Silent { peak }.to_string());
            }
            let gain = if is_loop || category != Category::Hiss { loop_peak } else { one_shot_peak } / peak;
            Ok(clip.map_channels(|c| c.iter().map(|x| x * gain).collect()))
        });
        match outcome {
            Ok(clip) => {
                let metrics = manifest::analyze(&clip, is_loop, tonal);
                let grade = manifest::grade(&metrics, &spec.grades);
                row.metrics = Some(metrics);
                row.grade = Some(grade);
                if grade == Grade::F && spec.skip_grade_f {
                    row.reason = Some("grade F (skip_grade_f = true)".into());
                } else {
                    let channels: Vec<&[f32]> = clip.channels.iter().map(Vec::as_slice).collect();
                    let wav = crate::media::wav::encode_pcm(&channels, OUTPUT_RATE_HZ, spec.bit_depth)
                        .map_err(|e| BuildError::failed(id, format!("{}: {e}", slot.file)))?;
                    wavs.push((slot.file.clone(), wav));
                    row.saved = true;
                }
            }
            Err(why) => row.reason = Some(why),
        }
        index.push(SlotReport { file: slot.file.clone(), saved: row.saved, reason: row.reason.clone() });
        rows.push(row);
    }
    let index_json = serde_json::to_vec(&index).map_err(|e| BuildError::failed(id, e.to_string()))?;
    let body = manifest::write_rows(&rows);
    let mut entries: Vec<(&str, &[u8])> = vec![(INDEX_ENTRY, &index_json), (ROWS_ENTRY, body.as_bytes())];
    entries.extend(wavs.iter().map(|(n, b)| (n.as_str(), b.as_slice())));
    crate::media::zip::write_zip(&entries).map_err(|e| BuildError::failed(id, format!("writing the bundle: {e}")))
}

fn read_bundle(id: &str, bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, BuildError> {
    crate::media::zip::read_zip(bytes).map_err(|e| BuildError::failed(id, format!("reading the bundle: {e}")))
}

pub fn compute_file(db: &dyn Db, decl: &ArtifactDecl, file: &str) -> Result<Vec<u8>, BuildError> {
    let bundle = query::artifact_bytes(db, &decl.deps[0])?;
    let entries = read_bundle(&decl.id, &bundle)?;
    if let Some((_, bytes)) = entries.iter().find(|(n, _)| n == file) {
        return Ok(bytes.clone());
    }
    let why = slot_report(&entries, file).and_then(|s| s.reason).unwrap_or_else(|| "not made".into());
    Err(BuildError::Skipped { id: decl.id.clone(), reason: why })
}

/// What a bundle's `index.json` says about `file`.
fn slot_report(entries: &[(String, Vec<u8>)], file: &str) -> Option<SlotReport> {
    let (_, bytes) = entries.iter().find(|(n, _)| n == INDEX_ENTRY)?;
    let index: Vec<SlotReport> = serde_json::from_slice(bytes).ok()?;
    index.into_iter().find(|s| s.file == file)
}

/// Why `file` was not made, when its bundle (already in the store) says so and the file has no
/// cached action. Reads only the store: safe in plan mode.
pub fn skip_reason(
    db: &dyn Db,
    bundle: &crate::store::Digest,
    file: &str,
    key: &crate::store::Digest,
) -> Option<String> {
    let store = &db.env().store;
    if store.action(key).is_some_and(|e| store.has(&e.output, e.size)) {
        return None;
    }
    let bytes = store.read(bundle).ok()?;
    let entries = crate::media::zip::read_zip(&bytes).ok()?;
    let slot = slot_report(&entries, file)?;
    if slot.saved { None } else { Some(slot.reason.unwrap_or_else(|| "not made".into())) }
}

pub fn manifest_params(bundles: &[(String, String, Vec<Slot>)]) -> Value {
    json!({ "bundles": bundles.iter().map(|(id, source, slots)| json!({"id": id, "source": source, "slots": slots})).collect::<Vec<_>>() })
}

/// `manifest.csv`: every bundle's rows in order. A bundle that failed (a corrupt source) still
/// gets one row per planned file, unsaved, with the error: the manifest is never lost.
pub fn compute_manifest(
    db: &dyn Db,
    decl: &ArtifactDecl,
    bundles: &[(String, String, Vec<Slot>)],
) -> Result<Vec<u8>, BuildError> {
    let mut out = manifest::write_csv(&[]);
    for (bundle_id, source, slots) in bundles {
        match query::artifact_bytes(db, bundle_id) {
            Ok(bytes) => {
                let entries = read_bundle(&decl.id, &bytes)?;
                let rows = entries.iter().find(|(n, _)| n == ROWS_ENTRY).map(|(_, b)| b.as_slice()).unwrap_or(&[]);
                out.push_str(&String::from_utf8_lossy(rows));
            }
            Err(e) => {
                let why = match e {
                    BuildError::Failed { message, .. } => message,
                    other => other.to_string(),
                };
                let rows: Vec<Row> = slots
                    .iter()
                    .map(|s| Row {
                        filename: s.file.clone(),
                        source: source.clone(),
                        kind: s.kind.clone(),
                        metrics: None,
                        grade: None,
                        saved: false,
                        reason: Some(format!("source failed: {why}")),
                    })
                    .collect();
                out.push_str(&manifest::write_rows(&rows));
            }
        }
    }
    Ok(out.into_bytes())
}

/// Expand every glob the texture recipes name against the project directory.
pub fn expand_globs(root: &std::path::Path, config: &crate::project::Config) -> Globs {
    let mut globs = Globs::new();
    for spec in config.targets.values() {
        let crate::project::TargetSpec::Textures(t) = spec else { continue };
        for s in t.sources.iter().chain(&t.pad_sources).chain(&t.drum_sources) {
            let SourceRef::Glob(g) = s else { continue };
            if globs.contains_key(g) {
                continue;
            }
            let mut found = Vec::new();
            let opts = glob::MatchOptions {
                case_sensitive: true,
                require_literal_separator: true,
                require_literal_leading_dot: true,
            };
            if let Ok(paths) = glob::glob_with(&root.join(g).to_string_lossy(), opts) {
                for p in paths.flatten() {
                    if !p.is_file() {
                        continue;
                    }
                    if let Ok(rel) = p.strip_prefix(root) {
                        let rel = rel.to_string_lossy().replace('\\', "/");
                        if crate::project::paths::resolve_inside(root, &rel).is_ok() {
                            found.push(rel);
                        }
                    }
                }
            }
            found.sort();
            globs.insert(g.clone(), found);
        }
    }
    globs
}
