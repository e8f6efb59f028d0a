//! The texture flow (`[textures.NAME]`): per source and category one *bundle* (not
//! materialized) holds every texture of that category as a finished WAV plus its manifest rows;
//! each texture file is its own artifact read out of the bundle, and `manifest.csv` joins the
//! bundles' rows. Editing one source re-runs only its bundles; changing cloud settings re-runs
//! only the cloud bundles.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::dsp::level::db_to_lin;
use crate::dsp::rng::Rng;
use crate::engine::action::{Action, ArtifactDecl, Cx};
use crate::engine::error::BuildError;
use crate::engine::flow::{CheckCx, DeclCx, Flow};
use crate::engine::globs::Globs;
use crate::engine::inputs::source_list_problems;
use crate::engine::query::AudioPcm;
use crate::media::spool::Plane;
use crate::project::album::AudioRef;
use crate::project::reader::TableReader;
use crate::project::textures::{Export, SourceRef, TexturesSpec};
use crate::project::{Diagnostic, ReadCx, Target, TargetKind};
use crate::store::{BlobAt, Digest};
use crate::textures::manifest::{self, Grade, GradeThresholds, Row};
use crate::textures::{Clip, ClipSource, OUTPUT_RATE_HZ, TextureError, clouds, drones, hiss, pads, renders_channels};

pub struct TexturesFlow;

impl TargetKind for TexturesFlow {
    fn name(&self) -> &'static str {
        "textures"
    }

    fn read(&self, t: &TableReader<'_>, id: &str, cx: &ReadCx<'_>) -> Target {
        Target::new("textures", Arc::new(crate::project::textures::read(t, id, cx.declared)))
    }
}

impl Flow for TexturesFlow {
    fn artifacts(&self, id: &str, target: &Target, cx: &DeclCx<'_>) -> Vec<ArtifactDecl> {
        match target.get_arc::<TexturesSpec>() {
            Some(spec) => artifacts(id, &spec, cx.globs),
            None => Vec::new(),
        }
    }

    fn globs(&self, target: &Target) -> Vec<String> {
        let Some(t) = target.get::<TexturesSpec>() else { return Vec::new() };
        t.sources
            .iter()
            .chain(&t.pad_sources)
            .chain(&t.drum_sources)
            .filter_map(|s| match s {
                SourceRef::Glob(g) => Some(g.clone()),
                _ => None,
            })
            .collect()
    }

    fn settings(&self) -> Vec<(&'static str, &'static [crate::schema::SettingSpec])> {
        use crate::textures::settings::*;
        vec![
            ("textures.NAME", &PAD_SETTINGS[..]),
            ("textures.NAME", &DRONE_SETTINGS[..]),
            ("textures.NAME", &CLOUD_SETTINGS[..]),
            ("textures.NAME", &HISS_SETTINGS[..]),
            ("textures.NAME", &GRADE_SETTINGS[..]),
        ]
    }

    /// Files must exist inside the project, globs must match something, artifact references
    /// must name artifacts of other targets.
    fn check(&self, id: &str, target: &Target, cx: &CheckCx<'_>) -> Vec<Diagnostic> {
        let Some(t) = target.get::<TexturesSpec>() else { return Vec::new() };
        [("sources", &t.sources), ("pad_sources", &t.pad_sources), ("drum_sources", &t.drum_sources)]
            .into_iter()
            .flat_map(|(key, list)| source_list_problems(id, key, list, cx, "a texture library cannot mine itself"))
            .collect()
    }
}

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

/// Give every source a unique export name (its file stem, then `_2`, `_3`…), in order of first
/// appearance, never one of `reserved`.
pub fn name_sources(all: &[&[AudioRef]], reserved: &[&str]) -> BTreeMap<AudioRef, String> {
    let mut names: BTreeMap<AudioRef, String> = BTreeMap::new();
    let mut used: std::collections::BTreeSet<String> = reserved.iter().map(|s| s.to_string()).collect();
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
    let names = name_sources(&[&sources, &pad_sources, &drum_sources], &["synthetic"]);
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
        let rel = format!("{}/mined/{}", source.name, category.name());
        let bundle_id = format!("{id}/{rel}");
        let (deps, files) = match &source.audio {
            Some(AudioRef::Artifact(a)) => (vec![a.clone()], vec![]),
            Some(AudioRef::File(f)) => (vec![], vec![f.clone()]),
            None => (vec![], vec![]),
        };
        for s in &slots {
            out.push(
                ArtifactDecl::new(id, s.rel.clone(), TextureFile { file: s.file.clone() })
                    .deps(vec![bundle_id.clone()]),
            );
        }
        bundles.push(BundleRows { id: bundle_id.clone(), source: source.name.clone(), slots: slots.clone() });
        out.push(
            ArtifactDecl::new(id, rel, TextureBundle { spec: spec.clone(), source, category, slots })
                .deps(deps)
                .files(files)
                .intermediate(),
        );
    }
    let deps = bundles.iter().map(|b| b.id.clone()).collect();
    out.push(ArtifactDecl::new(id, "manifest.csv", TextureManifest { bundles }).deps(deps));
    out
}

/// Every texture of one category made from one source, finished, in a zip with their manifest
/// rows (not materialized).
#[derive(Debug, Clone, PartialEq)]
pub struct TextureBundle {
    pub spec: Arc<TexturesSpec>,
    pub source: NamedSource,
    pub category: Category,
    pub slots: Vec<Slot>,
}

/// One category's settings: only the bundle's own category reaches its key.
#[derive(Serialize)]
#[serde(rename_all = "lowercase")]
enum CategorySettings<'a> {
    Pads { pads: &'a pads::PadSettings, export: &'a Export },
    Drones { drones: &'a drones::DroneSettings, export: &'a Export },
    Clouds { clouds: &'a clouds::CloudSettings, export: &'a Export },
    Hiss { hiss: &'a hiss::HissSettings, export: &'a Export, flicker_peak_dbfs: f64 },
}

#[derive(Serialize)]
struct BundleKey<'a> {
    category: Category,
    source: &'a str,
    seed: u64,
    bit_depth: u16,
    skip_grade_f: bool,
    grades: &'a GradeThresholds,
    settings: CategorySettings<'a>,
    slots: &'a [Slot],
}

impl Action for TextureBundle {
    const QUERY: &'static str = "texture_bundle";
    const VERSION: u32 = 9;

    fn key(&self) -> impl Serialize + '_ {
        let spec = &self.spec;
        let settings = match self.category {
            Category::Pads => CategorySettings::Pads { pads: &spec.pads, export: &spec.pads_export },
            Category::Drones => CategorySettings::Drones { drones: &spec.drones, export: &spec.drones_export },
            Category::Clouds => CategorySettings::Clouds { clouds: &spec.clouds, export: &spec.clouds_export },
            Category::Hiss => CategorySettings::Hiss {
                hiss: &spec.hiss,
                export: &spec.hiss_export,
                flicker_peak_dbfs: spec.hiss_flicker_peak_dbfs,
            },
        };
        BundleKey {
            category: self.category,
            source: &self.source.name,
            seed: spec.seed,
            bit_depth: spec.bit_depth,
            skip_grade_f: spec.skip_grade_f,
            grades: &spec.grades,
            settings,
            slots: &self.slots,
        }
    }

    fn compute(&self, cx: &Cx<'_>) -> Result<Vec<u8>, BuildError> {
        compute_bundle(cx, &self.spec, &self.source, self.category, &self.slots)
    }

    /// A category exported in mono is mined from the mixdown alone.
    fn reads_channels(&self) -> bool {
        exports_stereo(&self.spec, self.category)
    }
}

/// One texture file, read out of its bundle (its one dependency).
#[derive(Debug, Clone, PartialEq)]
pub struct TextureFile {
    pub file: String,
}

#[derive(Serialize)]
struct FileKey<'a> {
    file: &'a str,
}

impl Action for TextureFile {
    const QUERY: &'static str = "texture_file";
    const VERSION: u32 = 1;

    fn key(&self) -> impl Serialize + '_ {
        FileKey { file: &self.file }
    }

    /// Reads its file and, when it is missing, the index, not the bundle's other files.
    fn compute(&self, cx: &Cx<'_>) -> Result<Vec<u8>, BuildError> {
        let bundle = cx.deps.first().ok_or_else(|| cx.fail("internal: no bundle input".to_string()))?;
        if let Some((_, bytes)) = bundle_entries(cx, bundle, &[&self.file])?.pop() {
            return Ok(bytes);
        }
        let index = bundle_entries(cx, bundle, &[INDEX_ENTRY])?;
        let why = slot_report(&index, &self.file).and_then(|s| s.reason).unwrap_or_else(|| "not made".into());
        Err(BuildError::Skipped { id: cx.id.to_string(), reason: why })
    }

    /// A texture its bundle did not make has no action entry: say so (in plan mode too) rather
    /// than calling it unbuilt.
    fn skipped(&self, cx: &Cx<'_>, inputs: &BTreeMap<String, Digest>, key: &Digest) -> Option<String> {
        let bundle = inputs.get(cx.deps.first()?)?;
        let store = &cx.db.env().store;
        if store.action_output(key).is_some_and(|(output, size)| store.has(&output, size)) {
            return None;
        }
        // Only the bundle's index, not its WAVs: this runs on every no-op render.
        let index = bundle_entry(&store.blob_at(bundle), INDEX_ENTRY).ok()??;
        let slot = slot_report(&[(INDEX_ENTRY.to_string(), index)], &self.file)?;
        if slot.saved { None } else { Some(slot.reason.unwrap_or_else(|| "not made".into())) }
    }
}

/// A bundle's place in the manifest: its id, source name and planned files.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BundleRows {
    pub id: String,
    pub source: String,
    pub slots: Vec<Slot>,
}

/// `manifest.csv`: every bundle's rows, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct TextureManifest {
    pub bundles: Vec<BundleRows>,
}

#[derive(Serialize)]
struct ManifestKey<'a> {
    bundles: &'a [BundleRows],
}

impl Action for TextureManifest {
    const QUERY: &'static str = "texture_manifest";
    const VERSION: u32 = 1;

    fn key(&self) -> impl Serialize + '_ {
        ManifestKey { bundles: &self.bundles }
    }

    /// A bundle that failed (a corrupt source) still gets one row per planned file, unsaved,
    /// with the error: the manifest is never lost.
    fn compute(&self, cx: &Cx<'_>) -> Result<Vec<u8>, BuildError> {
        let mut out = manifest::write_csv(&[]);
        for b in &self.bundles {
            match bundle_entries(cx, &b.id, &[ROWS_ENTRY]) {
                Ok(entries) => {
                    let rows = entries.iter().find(|(n, _)| n == ROWS_ENTRY).map(|(_, b)| b.as_slice()).unwrap_or(&[]);
                    out.push_str(&String::from_utf8_lossy(rows));
                }
                Err(e) => {
                    let why = match e {
                        BuildError::Failed { message, .. } => message,
                        other => other.to_string(),
                    };
                    let rows: Vec<Row> = b
                        .slots
                        .iter()
                        .map(|s| Row {
                            filename: s.file.clone(),
                            source: b.source.clone(),
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

    fn tolerates_failed_inputs(&self) -> bool {
        true
    }
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

/// A source's shared decode at 44.1 kHz (decoded once per process and source content, however
/// many of its bundles are built; each bundle reports the decoder's warnings).
fn load_source(cx: &Cx<'_>, audio: &AudioRef) -> Result<AudioPcm, BuildError> {
    let pcm = cx.pcm(audio, OUTPUT_RATE_HZ)?;
    if pcm.is_empty() {
        return Err(cx.fail(format!("source `{}`: no audio in the file", pcm.name)));
    }
    for w in pcm.warnings(&pcm.name) {
        cx.warn(format!("source `{}`: {w}", pcm.name));
    }
    Ok(pcm)
}

/// A decoded source as a category reads it: its first two channels when the category renders
/// channels ([`renders_channels`]), else its mixdown, read by position.
struct PlaneSource<'a> {
    planes: Vec<&'a Plane>,
    len: usize,
}

impl<'a> PlaneSource<'a> {
    /// The channels are resampled (once per source) only when the category renders them.
    fn new(id: &str, pcm: &'a AudioPcm, stereo: bool) -> Result<Self, BuildError> {
        let planes = if renders_channels(stereo, pcm.channel_count()) {
            pcm.channel_planes(id)?[..2].iter().collect()
        } else {
            vec![pcm.mono_plane()]
        };
        Ok(Self { planes, len: pcm.len() })
    }
}

impl ClipSource for PlaneSource<'_> {
    fn len(&self) -> usize {
        self.len
    }

    fn channel_count(&self) -> usize {
        self.planes.len()
    }

    fn read(&self, start: usize, len: usize) -> Result<Clip, TextureError> {
        let read = |plane: &&Plane| {
            let mut samples = vec![0.0; len];
            plane.read(start, &mut samples).map(|()| samples)
        };
        let channels = self.planes.iter().map(read).collect::<std::io::Result<_>>();
        channels.map(|channels| Clip { channels }).map_err(|e| TextureError::Read(e.to_string()))
    }
}

/// Whether `category`'s files keep the source's stereo.
fn exports_stereo(spec: &TexturesSpec, category: Category) -> bool {
    match category {
        Category::Pads => spec.pads_export.stereo,
        Category::Drones => spec.drones_export.stereo,
        Category::Clouds => spec.clouds_export.stereo,
        Category::Hiss => spec.hiss_export.stereo,
    }
}

fn compute_bundle(
    cx: &Cx<'_>,
    spec: &TexturesSpec,
    source: &NamedSource,
    category: Category,
    slots: &[Slot],
) -> Result<Vec<u8>, BuildError> {
    let id = cx.id;
    let pcm = match &source.audio {
        Some(a) => Some(load_source(cx, a)?),
        None => None,
    };
    let stereo = exports_stereo(spec, category);
    // Each category reads the planes it renders by position: a long source's stay on disk.
    let planes = pcm.as_ref().map(|p| PlaneSource::new(id, p, stereo)).transpose()?;
    let with_source = || {
        planes
            .as_ref()
            .map(|p| p as &dyn ClipSource)
            .ok_or_else(|| BuildError::failed(id, format!("{} needs a source file", category.name())))
    };
    // A source that cannot be read back fails the bundle (the machine's fault, not the audio's);
    // every other error is recorded in its file's row.
    let fail_read = |e: TextureError| match (&e, &pcm) {
        (TextureError::Read(why), Some(p)) => p.read_error(id, std::io::Error::other(why.clone())),
        _ => BuildError::failed(id, e.to_string()),
    };
    let recorded = |results: Vec<Result<Clip, TextureError>>| -> Result<Vec<Result<Clip, String>>, BuildError> {
        results
            .into_iter()
            .map(|r| match r {
                Err(e @ TextureError::Read(_)) => Err(fail_read(e)),
                r => Ok(r.map_err(|e| e.to_string())),
            })
            .collect()
    };
    let seed = Rng::derive(spec.seed, &format!("{}/{}", source.name, category.name()));
    // (result, is_loop, tonal, export)
    let (results, is_loop, tonal, export): (Vec<Result<Clip, String>>, Vec<bool>, bool, &Export) = match category {
        Category::Pads => {
            let report = pads::mine_pads(with_source()?, &spec.pads).map_err(fail_read)?;
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
            let plan = drones::plan_drones(&spec.drones);
            let results = recorded(drones::make_drones(with_source()?, &spec.drones))?;
            let loops = plan.iter().map(|p| matches!(p.category, drones::DroneCategory::Pads)).collect();
            (results, loops, true, &spec.drones_export)
        }
        Category::Clouds => {
            // The stability analysis is done once for all of the source's clouds.
            let analysed = clouds::CloudSource::new(with_source()?).map_err(fail_read)?;
            let results = recorded(
                (0..spec.clouds.clouds_per_source)
                    .map(|i| {
                        let seed = Rng::derive(seed, &format!("cloud{i}"));
                        analysed.cloud(&spec.clouds, seed).map(|(c, _)| c)
                    })
                    .collect(),
            )?;
            let n = results.len();
            (results, vec![false; n], true, &spec.clouds_export)
        }
        Category::Hiss => {
            let plan = hiss::plan_hiss(&spec.hiss);
            let material = planes.as_ref().map(|p| p as &dyn ClipSource);
            let results = recorded(hiss::make_hiss(material, &spec.hiss, seed))?;
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
    crate::media::zip::write_zip(&entries, crate::media::zip::Packing::Stored)
        .map_err(|e| BuildError::failed(id, format!("writing the bundle: {e}")))
}

/// The entries `names` of bundle `bundle` (those it holds), read from its blob one entry at a
/// time (each checked by its CRC-32). Should the blob be damaged, it is read whole through the
/// store, which verifies it and rebuilds it when it is corrupt.
fn bundle_entries(cx: &Cx<'_>, bundle: &str, names: &[&str]) -> Result<Vec<(String, Vec<u8>)>, BuildError> {
    let at = cx.artifact_at(bundle)?;
    let direct: Result<Vec<_>, _> = names
        .iter()
        .filter_map(|name| bundle_entry(&at, name).transpose().map(|r| r.map(|b| (name.to_string(), b))))
        .collect();
    if let Ok(entries) = direct {
        return Ok(entries);
    }
    let bytes = cx.artifact_bytes(bundle)?;
    let all = crate::media::zip::read_zip(&bytes).map_err(|e| cx.fail(format!("reading the bundle: {e}")))?;
    Ok(all.into_iter().filter(|(n, _)| names.contains(&n.as_str())).collect())
}

/// Entry `name` of a bundle's blob: from memory while a bundle just made is being synced (no
/// waiting for the disk), else from its file.
fn bundle_entry(at: &BlobAt, name: &str) -> zip::result::ZipResult<Option<Vec<u8>>> {
    match at {
        BlobAt::Held(bytes) => crate::media::zip::zip_entry_in(bytes, name),
        BlobAt::File(path) => crate::media::zip::read_zip_entry(path, name),
    }
}

/// What a bundle's `index.json` says about `file`.
fn slot_report(entries: &[(String, Vec<u8>)], file: &str) -> Option<SlotReport> {
    let (_, bytes) = entries.iter().find(|(n, _)| n == INDEX_ENTRY)?;
    let index: Vec<SlotReport> = serde_json::from_slice(bytes).ok()?;
    index.into_iter().find(|s| s.file == file)
}
