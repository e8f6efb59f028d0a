//! What each target produces: its artifacts, their dependencies and output paths, and the
//! `Recipe` (kind-specific, validated parameters) each artifact is computed from.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::textures::{Category, Globs, NamedSource, Slot};
use crate::kit::Instrument;
use crate::project::album::{AudioRef, TrackSpec};
use crate::project::kit::{KitSpec, VoiceSpec};
use crate::project::song::SongSpec;
use crate::project::textures::TexturesSpec;
use crate::project::video::VideoSettings;
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
    /// The controller's latent trajectory (`latents.npz`) from `features.npz` and the anchor set.
    Latents {
        settings: VideoSettings,
        track: Arc<TrackSpec>,
    },
    /// The track's `video.mp4`: its encoded segments (sub-artifacts, see `engine::video`)
    /// concatenated and muxed with the track's audio.
    TrackVideo {
        settings: VideoSettings,
        track: Arc<TrackSpec>,
    },
    /// A preview drawn from the frames every 90th frame of the track's video.
    Preview {
        kind: PreviewKind,
        video: String,
    },
    /// `album.mp4`: every track's segments in order, with their audio.
    AlbumVideo {
        settings: VideoSettings,
        videos: Vec<String>,
    },
    /// Every texture of one category made from one source, finished, in a zip with their
    /// manifest rows (not materialized).
    TextureBundle {
        spec: Arc<TexturesSpec>,
        source: NamedSource,
        category: Category,
        slots: Vec<Slot>,
    },
    /// One texture file, read out of its bundle (its one dependency).
    TextureFile {
        file: String,
    },
    /// `manifest.csv`: (bundle id, source name, planned files) per bundle, in order.
    TextureManifest {
        bundles: Vec<(String, String, Vec<Slot>)>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PreviewKind {
    /// `preview.png`: the middle kept frame.
    Still,
    /// `preview.gif`: the first ≤ 24 kept frames, 0.08 s each.
    Gif,
    /// `contact_sheet.png`: every kept frame (≤ 48) as thumbnails.
    Sheet,
}

impl PreviewKind {
    pub const ALL: [PreviewKind; 3] = [PreviewKind::Still, PreviewKind::Gif, PreviewKind::Sheet];

    pub fn file(self) -> &'static str {
        match self {
            PreviewKind::Still => "preview.png",
            PreviewKind::Gif => "preview.gif",
            PreviewKind::Sheet => "contact_sheet.png",
        }
    }
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
/// `globs` holds the project files each source glob matched (see `textures::expand_globs`).
pub fn artifacts(config: &Config, globs: &Globs) -> BTreeMap<String, ArtifactDecl> {
    config
        .targets
        .iter()
        .flat_map(|(id, spec)| target_artifacts(id, spec, config, globs))
        .map(|a| (a.id.clone(), a))
        .collect()
}

pub fn target_artifacts(id: &str, spec: &TargetSpec, config: &Config, globs: &Globs) -> Vec<ArtifactDecl> {
    match spec {
        TargetSpec::Textures(t) => super::textures::artifacts(id, t, globs),
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
                    deps: vec![features.clone()],
                    files: vec![],
                    materialized: true,
                    recipe: Recipe::FeaturesPlot,
                });
                let spec = Arc::new(track.clone());
                let c = &track.video.controller;
                let latents = format!("{id}/{}/latents.npz", track.id);
                v.push(ArtifactDecl {
                    id: latents.clone(),
                    target: id.to_string(),
                    rel: format!("{}/latents.npz", track.id),
                    deps: vec![features],
                    files: [Some(&c.meta), Some(&c.anchors), c.projection.as_ref()]
                        .into_iter()
                        .flatten()
                        .cloned()
                        .collect(),
                    materialized: true,
                    recipe: Recipe::Latents { settings: album.video.clone(), track: spec.clone() },
                });
                let video = format!("{id}/{}/video.mp4", track.id);
                let (mut deps, mut files) = match &track.audio {
                    AudioRef::Artifact(a) => (vec![a.clone()], vec![]),
                    AudioRef::File(f) => (vec![], vec![f.clone()]),
                };
                deps.insert(0, latents.clone());
                files.push(track.video.decoder.model.clone());
                v.push(ArtifactDecl {
                    id: video.clone(),
                    target: id.to_string(),
                    rel: format!("{}/video.mp4", track.id),
                    deps,
                    files: files.clone(),
                    materialized: true,
                    recipe: Recipe::TrackVideo { settings: album.video.clone(), track: spec },
                });
                if album.video.previews {
                    for kind in PreviewKind::ALL {
                        v.push(ArtifactDecl {
                            id: format!("{id}/{}/previews/{}", track.id, kind.file()),
                            target: id.to_string(),
                            rel: format!("{}/previews/{}", track.id, kind.file()),
                            deps: vec![latents.clone()],
                            files: vec![track.video.decoder.model.clone()],
                            materialized: true,
                            recipe: Recipe::Preview { kind, video: video.clone() },
                        });
                    }
                }
            }
            let videos: Vec<String> = album.tracks.iter().map(|t| format!("{id}/{}/video.mp4", t.id)).collect();
            if !videos.is_empty() {
                // The audio is read again (album.mp4 re-encodes it as one stream).
                let mut deps = videos.clone();
                let mut files = Vec::new();
                for t in &album.tracks {
                    match &t.audio {
                        AudioRef::Artifact(a) => deps.push(a.clone()),
                        AudioRef::File(f) => files.push(f.clone()),
                    }
                }
                deps.sort();
                deps.dedup();
                files.sort();
                files.dedup();
                v.push(ArtifactDecl {
                    id: format!("{id}/album.mp4"),
                    target: id.to_string(),
                    rel: "album.mp4".into(),
                    deps,
                    files,
                    materialized: true,
                    recipe: Recipe::AlbumVideo { settings: album.video.clone(), videos },
                });
            }
            v
        }
    }
}
