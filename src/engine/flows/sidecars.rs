//! The sidecar flow (`[sidecars.NAME]`): per source, the pair `<source>.cond.npy` +
//! `<source>.cond.json` of per-frame conditioning columns made by the listed producers.
//!
//! Artifacts per source: `pairs/<source>` (not materialized) holds both files in one blob,
//! computed once; `<source>.cond.npy` and `<source>.cond.json` are cut from it, so the two files
//! of a build always belong together (the `.json` names the `.npy`'s blake3, and `audit` checks
//! that binding as well as the lock's digests).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use crate::engine::action::{Action, ArtifactDecl, Cx};
use crate::engine::error::BuildError;
use crate::engine::flow::{CheckCx, DeclCx, Flow};
use crate::engine::inputs::source_list_problems;
use crate::media::sidecar::{JSON_SUFFIX, NPY_SUFFIX, SidecarPair, encode_pair};
use crate::plugin::{PluginAudio, PluginRequest, run_plugin};
use crate::producers::{AudioInput, ProducerParams, SidecarTable, SourceInput, SourceLength, build_sidecar};
use crate::project::album::AudioRef;
use crate::project::config::Config;
use crate::project::reader::TableReader;
use crate::project::sidecars::{PluginDecl, PluginKeyParams, SidecarsSpec, read_producers};
use crate::project::textures::SourceRef;
use crate::project::{Diagnostic, ReadCx, Target, TargetKind};

use super::textures::{name_sources, resolve_sources};

pub struct SidecarsFlow;

/// A sidecar target with the plug-in declarations its producers use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SidecarsTarget {
    pub spec: SidecarsSpec,
    /// `[producer.NAME]` of `Project.toml`, only those this target lists.
    pub plugins: BTreeMap<String, PluginDecl>,
}

impl TargetKind for SidecarsFlow {
    fn name(&self) -> &'static str {
        "sidecars"
    }

    fn project_tables(&self) -> &'static [&'static str] {
        &["producer"]
    }

    fn read(&self, t: &TableReader<'_>, id: &str, cx: &ReadCx<'_>) -> Target {
        // `[producer.*]` is read with each sidecar target (the same problem is reported once).
        let declared = cx
            .project_tables
            .get("producer")
            .and_then(|node| TableReader::new(cx.ctx, node, "producer"))
            .map(|p| read_producers(&p))
            .unwrap_or_default();
        let spec = crate::project::sidecars::read(t, id, cx.settings.sample_rate_hz, cx.declared, &declared);
        let used: BTreeSet<&str> = spec
            .params
            .producers
            .iter()
            .filter_map(|p| match p {
                ProducerParams::Plugin { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect();
        let plugins = declared.into_iter().filter(|(name, _)| used.contains(name.as_str())).collect();
        Target::new("sidecars", Arc::new(SidecarsTarget { spec, plugins }))
    }
}

impl Flow for SidecarsFlow {
    fn artifacts(&self, id: &str, target: &Target, cx: &DeclCx<'_>) -> Vec<ArtifactDecl> {
        match target.get_arc::<SidecarsTarget>() {
            Some(t) => artifacts(id, &t, cx),
            None => Vec::new(),
        }
    }

    fn globs(&self, target: &Target) -> Vec<String> {
        let Some(t) = target.get::<SidecarsTarget>() else { return Vec::new() };
        t.spec
            .sources
            .iter()
            .filter_map(|s| match s {
                SourceRef::Glob(g) => Some(g.clone()),
                _ => None,
            })
            .collect()
    }

    fn check(&self, id: &str, target: &Target, cx: &CheckCx<'_>) -> Vec<Diagnostic> {
        let Some(t) = target.get::<SidecarsTarget>() else { return Vec::new() };
        let mut diags = source_list_problems(id, "sources", &t.spec.sources, cx, "a sidecar cannot describe itself");
        for decl in t.plugins.values() {
            for file in &decl.inputs {
                if !cx.root.join(file).is_file() {
                    diags.push(Diagnostic {
                        file: "Project.toml".into(),
                        line: None,
                        col: None,
                        key: format!("producer.{}.inputs", decl.name),
                        message: format!("`{file}`: no such file in the project"),
                    });
                }
            }
        }
        diags
    }

    /// `ntsbuild list`: the built-in producers and the declared plug-ins.
    fn list(&self, config: &Config, _root: &Path) -> Vec<String> {
        let mut out = vec!["producers (for [sidecars.NAME] producers = [...]):".to_string()];
        for b in crate::producers::catalog::BUILTINS {
            let keys: Vec<&str> = b.settings.iter().map(|s| s.key).collect();
            out.push(format!("  {:<16} {} (settings: {})", b.kind, b.summary, keys.join(", ")));
        }
        let mut plugins = BTreeMap::new();
        for target in config.targets.values() {
            if let Some(t) = target.get::<SidecarsTarget>() {
                plugins.extend(t.plugins.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        for (name, decl) in plugins {
            let what = if decl.description.is_empty() { decl.command.join(" ") } else { decl.description.clone() };
            out.push(format!("  {:<16} plug-in: {what}", format!("plugin {name}")));
        }
        out
    }
}

/// The pair blob (`sidecars.NAME/pairs/<source>`) the sidecar target `sidecar` makes for
/// `audio`, or the target's sources when it has none for it.
pub fn pair_id(cx: &DeclCx<'_>, sidecar: &str, audio: &AudioRef) -> Result<String, Vec<AudioRef>> {
    let Some(target) = cx.config.targets.get(sidecar).and_then(|t| t.get::<SidecarsTarget>()) else {
        return Err(Vec::new());
    };
    let sources = resolve_sources(&target.spec.sources, cx.globs);
    let names = name_sources(&[&sources], &[]);
    match names.get(audio) {
        Some(stem) => Ok(format!("{sidecar}/pairs/{stem}")),
        None => Err(sources),
    }
}

/// Every artifact of a sidecar target: per source, the pair blob and its two files.
fn artifacts(id: &str, target: &Arc<SidecarsTarget>, cx: &DeclCx<'_>) -> Vec<ArtifactDecl> {
    let sources = resolve_sources(&target.spec.sources, cx.globs);
    let names = name_sources(&[&sources], &[]);
    let key_files: BTreeSet<String> = target.plugins.values().flat_map(PluginDecl::key_files).collect();
    let mut out = Vec::new();
    for audio in &sources {
        let stem = names[audio].clone();
        let (deps, mut files) = match audio {
            AudioRef::Artifact(a) => (vec![a.clone()], vec![]),
            AudioRef::File(f) => (vec![], vec![f.clone()]),
        };
        files.extend(key_files.iter().cloned());
        let pair_id = format!("{id}/pairs/{stem}");
        let npy = format!("{stem}{NPY_SUFFIX}");
        out.push(
            ArtifactDecl::new(
                id,
                format!("pairs/{stem}"),
                SidecarPairAction { target: target.clone(), audio: audio.clone() },
            )
            .deps(deps)
            .files(files)
            .intermediate(),
        );
        out.push(ArtifactDecl::new(id, npy.clone(), PairFile { part: Part::Npy }).deps(vec![pair_id.clone()]));
        out.push(
            ArtifactDecl::new(id, format!("{stem}{JSON_SUFFIX}"), PairFile { part: Part::Json })
                .deps(vec![pair_id, format!("{id}/{npy}")]),
        );
    }
    out
}

/// One source's sidecar pair, both files in one blob ([`SidecarPair::to_bundle`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SidecarPairAction {
    pub target: Arc<SidecarsTarget>,
    pub audio: AudioRef,
}

#[derive(Serialize)]
struct PairKey<'a> {
    /// The grid and the producers in order (plug-in settings included).
    params: &'a crate::producers::SidecarParams,
    /// Rate the audio producers analyse at.
    analysis_rate_hz: u32,
    /// What `from_filename` reads: the source's file name.
    file_name: &'a str,
    /// Each plug-in's declaration, as far as it can change its columns.
    plugins: BTreeMap<&'a str, PluginKeyParams<'a>>,
}

/// The file name `from_filename` sees: the last part of the path or artifact id.
pub fn file_name(audio: &AudioRef) -> &str {
    let (AudioRef::File(p) | AudioRef::Artifact(p)) = audio;
    p.rsplit('/').next().unwrap_or(p)
}

impl Action for SidecarPairAction {
    const QUERY: &'static str = "sidecar_pair";
    const VERSION: u32 = 2;

    fn key(&self) -> impl Serialize + '_ {
        PairKey {
            params: &self.target.spec.params,
            analysis_rate_hz: self.target.spec.analysis_rate_hz,
            file_name: file_name(&self.audio),
            plugins: self.target.plugins.iter().map(|(k, d)| (k.as_str(), d.key_params())).collect(),
        }
    }

    fn compute(&self, cx: &Cx<'_>) -> Result<Vec<u8>, BuildError> {
        let spec = &self.target.spec;
        let params = &spec.params;
        let (table, digest) = producer_table(cx, params, spec.analysis_rate_hz, &self.audio, &self.target.plugins)?;
        let pair = encode_pair(&table, &params.grid, &digest, &params.producers).map_err(|e| cx.fail(e.to_string()))?;
        Ok(pair.to_bundle())
    }

    /// The producers read the mixdown alone.
    fn reads_channels(&self) -> bool {
        false
    }
}

/// The producers' columns for one source, from the shared decode at `rate` (each plug-in run
/// once, then the merge in list order), and the source's blake3 (hex).
pub fn producer_table(
    cx: &Cx<'_>,
    params: &crate::producers::SidecarParams,
    rate: u32,
    source: &AudioRef,
    plugins: &BTreeMap<String, PluginDecl>,
) -> Result<(SidecarTable, String), BuildError> {
    let (path, _, _) = cx.audio(source)?;
    let audio = cx.pcm(source, rate)?;
    audio.warnings(&audio.name).into_iter().for_each(|w| cx.warn(w));
    let length = SourceLength { samples: audio.source().frames_decoded, sample_rate_hz: audio.source().sample_rate_hz };
    let frames = params.grid.frame_count(length.samples, length.sample_rate_hz);
    let digest = audio.digest.hex();
    // Everything reads the decoded mixdown by position (a long source's stays on disk): the
    // built-in columns, and the file a plug-in that asks for the audio is given.
    let mono: &dyn crate::producers::audio::MonoSource = audio.mono_plane();
    let mut plugin_outputs = BTreeMap::new();
    // Written once, for the first plug-in that asks for the audio, and given to the others.
    let mut audio_file: Option<PluginAudio> = None;
    for (i, producer) in params.producers.iter().enumerate() {
        let ProducerParams::Plugin { name, settings } = producer else { continue };
        let decl = plugins.get(name).ok_or_else(|| cx.fail(format!("no [producer.{name}] declared")))?;
        if decl.audio && audio_file.is_none() {
            let written =
                PluginAudio::write(mono, rate).map_err(|e| cx.io("writing the audio for plug-in producers", e))?;
            audio_file = Some(written);
        }
        let request = PluginRequest {
            source_path: &path,
            source_name: &audio.name,
            source_blake3: &digest,
            frames,
            grid: &params.grid,
            settings,
            audio: audio_file.as_ref().filter(|_| decl.audio),
        };
        let columns = run_plugin(&decl.to_command(), &request, cx.root()).map_err(|e| cx.fail(e.to_string()))?;
        plugin_outputs.insert(i, columns);
    }
    let source = SourceInput {
        name: &audio.name,
        file_name: file_name(source),
        length,
        audio: Some(AudioInput { samples: audio.mono_plane(), sample_rate_hz: rate, features: None }),
    };
    let table = build_sidecar(params, &source, &plugin_outputs).map_err(|e| cx.fail(e.to_string()))?;
    let winners: Vec<String> = table.names.iter().zip(&table.winners).map(|(n, w)| format!("{n} ← {w}")).collect();
    cx.note(format!("columns: {}", winners.join(", ")));
    Ok((table, digest))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    Npy,
    Json,
}

/// One file of a pair, cut from the pair's blob (its first dependency).
#[derive(Debug, Clone, PartialEq)]
pub struct PairFile {
    pub part: Part,
}

#[derive(Serialize)]
struct PairFileKey {
    part: Part,
}

impl Action for PairFile {
    const QUERY: &'static str = "sidecar_file";
    const VERSION: u32 = 1;

    fn key(&self) -> impl Serialize + '_ {
        PairFileKey { part: self.part }
    }

    fn compute(&self, cx: &Cx<'_>) -> Result<Vec<u8>, BuildError> {
        let pair = SidecarPair::from_bundle(&cx.dep_bytes(0)?).map_err(|e| cx.fail(e.to_string()))?;
        Ok(match self.part {
            Part::Npy => pair.npy,
            Part::Json => pair.json,
        })
    }
}
