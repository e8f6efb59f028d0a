//! What each target produces: its artifacts, their dependencies and output paths, and the
//! `Recipe` (kind-specific, validated parameters) each artifact is computed from.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::kit::Instrument;
use crate::project::album::AudioRef;
use crate::project::kit::{KitSpec, VoiceSpec};
use crate::project::song::SongSpec;
use crate::project::{Config, TargetSpec};

/// How one artifact is computed. Holds exactly what its computation reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipe {
    KitVoice {
        sample_rate_hz: u32,
        voice: VoiceSpec,
    },
    KitZip {
        kit: Arc<KitSpec>,
    },
    SongWav {
        song: Arc<SongSpec>,
        kit_sample_rate_hz: u32,
    },
    /// Decode + resample + analyse one audio input into `features.npz`.
    Features {
        audio: AudioRef,
        sample_rate_hz: u32,
    },
    /// `features.png` drawn from the track's `features.npz` (its one dependency).
    FeaturesPlot,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactDecl {
    /// `target/relative-path`, e.g. `kit.demo/kick.wav`.
    pub id: String,
    pub target: String,
    /// Path below the target's output dir, e.g. `kick.wav`.
    pub rel: String,
    /// Artifact ids this one reads.
    pub deps: Vec<String>,
    /// Project files this one reads (project-relative paths).
    pub files: Vec<String>,
    /// Whether it is copied into the output dir (false for intermediates such as segments).
    pub materialized: bool,
    pub recipe: Recipe,
}

impl ArtifactDecl {
    /// Output path relative to the project: `<output>/<kind>/<name>/<rel>`.
    pub fn output_path(&self, output_dir: &str) -> String {
        let (kind, name) = self.target.split_once('.').unwrap_or((&self.target, ""));
        format!("{}/{kind}/{name}/{}", output_dir.trim_end_matches('/'), self.rel)
    }
}

pub fn voice_file(inst: Instrument) -> String {
    format!("{}.wav", inst.name())
}

/// Every artifact of every target, by id. (Build order comes from the dependencies, see
/// `select::with_dependencies`, not from this map.)
pub fn artifacts(config: &Config) -> BTreeMap<String, ArtifactDecl> {
    config.targets.iter().flat_map(|(id, spec)| target_artifacts(id, spec, config)).map(|a| (a.id.clone(), a)).collect()
}

pub fn target_artifacts(id: &str, spec: &TargetSpec, config: &Config) -> Vec<ArtifactDecl> {
    match spec {
        TargetSpec::Kit(kit) => {
            let mut v: Vec<ArtifactDecl> = kit
                .voices
                .iter()
                .map(|voice| ArtifactDecl {
                    id: format!("{id}/{}", voice_file(voice.instrument)),
                    target: id.to_string(),
                    rel: voice_file(voice.instrument),
                    deps: vec![],
                    files: vec![],
                    materialized: true,
                    recipe: Recipe::KitVoice { sample_rate_hz: kit.sample_rate_hz, voice: voice.clone() },
                })
                .collect();
            let deps = v.iter().map(|a| a.id.clone()).collect();
            v.push(ArtifactDecl {
                id: format!("{id}/kit.zip"),
                target: id.to_string(),
                rel: "kit.zip".into(),
                deps,
                files: vec![],
                materialized: true,
                recipe: Recipe::KitZip { kit: kit.clone() },
            });
            v
        }
        TargetSpec::Song(song) => {
            let kit_rate = match config.targets.get(&song.kit) {
                Some(TargetSpec::Kit(k)) => k.sample_rate_hz,
                _ => song.sample_rate_hz,
            };
            let deps = song.voices.iter().map(|v| format!("{}/{}.wav", song.kit, v.voice)).collect();
            vec![ArtifactDecl {
                id: format!("{id}/song.wav"),
                target: id.to_string(),
                rel: "song.wav".into(),
                deps,
                files: vec![],
                materialized: true,
                recipe: Recipe::SongWav { song: song.clone(), kit_sample_rate_hz: kit_rate },
            }]
        }
        TargetSpec::Album(album) => {
            let mut v = Vec::new();
            for track in &album.tracks {
                let (deps, files) = match &track.audio {
                    AudioRef::Artifact(a) => (vec![a.clone()], vec![]),
                    AudioRef::File(f) => (vec![], vec![f.clone()]),
                };
                let features = format!("{id}/{}/features.npz", track.id);
                v.push(ArtifactDecl {
                    id: features.clone(),
                    target: id.to_string(),
                    rel: format!("{}/features.npz", track.id),
                    deps,
                    files,
                    materialized: true,
                    recipe: Recipe::Features { audio: track.audio.clone(), sample_rate_hz: album.sample_rate_hz },
                });
                v.push(ArtifactDecl {
                    id: format!("{id}/{}/features.png", track.id),
                    target: id.to_string(),
                    rel: format!("{}/features.png", track.id),
                    deps: vec![features],
                    files: vec![],
                    materialized: true,
                    recipe: Recipe::FeaturesPlot,
                });
            }
            v
        }
    }
}
