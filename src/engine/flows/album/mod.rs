//! The album flow (`[album.NAME]`): per track `features.npz` + `features.png` (audio analysis),
//! `latents.npz` (controller), `video.mp4` (decoded and encoded segments, muxed with the
//! track's audio) and previews; per album `album.mp4` and `run.json`.

pub mod controls;
pub mod features;
pub mod latents;
pub mod run_json;
pub mod segment;
pub mod video;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::engine::action::ArtifactDecl;
use crate::engine::flow::{AfterRender, CheckCx, DeclCx, Figure, Flow};
use crate::engine::inputs::{audio_inputs, audio_problem, diagnostic_at};
use crate::engine::query;
use crate::producers::ControlTarget;
use crate::project::album::{AlbumSpec, AudioRef};
use crate::project::controls::ControlSource;
use crate::project::reader::{Ctx, TableReader};
use crate::project::video::{self as video_spec, Preset, VideoContext};
use crate::project::{Config, Diagnostic, ReadCx, Target, TargetKind, paths};

use video::PreviewKind;

pub struct AlbumFlow;

/// Every preset: built in, then `[preset.NAME]` from `Project.toml`.
fn presets(ctx: &Ctx, project_tables: &BTreeMap<String, crate::project::value::Node>) -> BTreeMap<String, Preset> {
    video_spec::presets(ctx, project_tables.get("preset"))
}

impl TargetKind for AlbumFlow {
    fn name(&self) -> &'static str {
        "album"
    }

    fn project_tables(&self) -> &'static [&'static str] {
        &["preset"]
    }

    fn read(&self, t: &TableReader<'_>, id: &str, cx: &ReadCx<'_>) -> Target {
        let presets = presets(cx.ctx, cx.project_tables);
        let vctx = VideoContext {
            presets: &presets,
            models_dir: &cx.settings.models_dir,
            onnxruntime: cx.settings.onnxruntime.as_deref(),
        };
        // `[producer.*]` (read by the sidecars flow too; a problem is reported once).
        let plugins = cx
            .project_tables
            .get("producer")
            .and_then(|node| TableReader::new(cx.ctx, node, "producer"))
            .map(|p| crate::project::sidecars::read_producers(&p))
            .unwrap_or_default();
        let (spec, origins) =
            crate::project::album::read(t, id, cx.settings.sample_rate_hz, cx.declared, &vctx, &plugins);
        for (key, origin) in origins {
            cx.origin(key, origin);
        }
        Target::new("album", Arc::new(spec))
    }
}

/// The dependency (an artifact) or input file (a project file) of an audio input.
fn audio_dep(audio: &AudioRef) -> (Vec<String>, Vec<String>) {
    match audio {
        AudioRef::Artifact(a) => (vec![a.clone()], vec![]),
        AudioRef::File(f) => (vec![], vec![f.clone()]),
    }
}

impl Flow for AlbumFlow {
    fn artifacts(&self, id: &str, target: &Target, cx: &DeclCx<'_>) -> Vec<ArtifactDecl> {
        let Some(album) = target.get_arc::<AlbumSpec>() else { return Vec::new() };
        let mut v = Vec::new();
        for track in &album.tracks {
            let t = &track.id;
            let spec = Arc::new(track.clone());
            let (deps, files) = audio_dep(&track.audio);
            let features_id = format!("{id}/{t}/features.npz");
            v.push(
                ArtifactDecl::new(
                    id,
                    format!("{t}/features.npz"),
                    features::Features {
                        audio: track.audio.clone(),
                        sample_rate_hz: album.sample_rate_hz,
                        prep: track.prep,
                    },
                )
                .deps(deps)
                .files(files),
            );
            v.push(
                ArtifactDecl::new(id, format!("{t}/features.png"), features::FeaturesPlot)
                    .deps(vec![features_id.clone()]),
            );
            let c = &track.video.controller;
            let controls_id = format!("{id}/{t}/{}", controls::CONTROLS_FILE);
            if let Some(tc) = &track.controls {
                let mut deps = vec![features_id.clone()];
                let mut files: Vec<String> = tc.plugins.values().flat_map(|p| p.key_files()).collect();
                match &tc.spec.source {
                    ControlSource::Sidecar(sidecar) => {
                        // No pair for this audio: `check` reports it before anything is built.
                        let Ok(pair) = crate::engine::flows::sidecars::pair_id(cx, sidecar, &track.audio) else {
                            continue;
                        };
                        deps.push(pair);
                    }
                    ControlSource::Inline { .. } => {
                        let (audio_deps, audio_files) = audio_dep(&track.audio);
                        deps.extend(audio_deps);
                        files.extend(audio_files);
                    }
                }
                if tc.spec.mappings.iter().any(|m| matches!(m.target, ControlTarget::AnchorBias(_))) {
                    files.push(c.anchors.clone());
                }
                files.sort();
                files.dedup();
                v.push(
                    ArtifactDecl::new(
                        id,
                        format!("{t}/{}", controls::CONTROLS_FILE),
                        controls::TrackControls { settings: album.video.clone(), track: spec.clone() },
                    )
                    .deps(deps)
                    .files(files),
                );
            }
            let latents_id = format!("{id}/{t}/latents.npz");
            let mut latents_deps = vec![features_id];
            if controls::drives_controller(track) {
                latents_deps.push(controls_id.clone());
            }
            let postfx_controls: Vec<String> =
                controls::drives_postfx(track).then(|| controls_id.clone()).into_iter().collect();
            v.push(
                ArtifactDecl::new(
                    id,
                    format!("{t}/latents.npz"),
                    latents::Latents { settings: album.video.clone(), track: spec.clone() },
                )
                .deps(latents_deps)
                .files(
                    [Some(&c.meta), Some(&c.anchors), c.projection.as_ref()].into_iter().flatten().cloned().collect(),
                ),
            );
            let video_id = format!("{id}/{t}/video.mp4");
            let (mut deps, mut files) = audio_dep(&track.audio);
            deps.insert(0, latents_id.clone());
            deps.extend(postfx_controls.iter().cloned());
            files.push(track.video.decoder.model.clone());
            v.push(
                ArtifactDecl::new(
                    id,
                    format!("{t}/video.mp4"),
                    video::TrackVideo { settings: album.video.clone(), track: spec.clone() },
                )
                .deps(deps)
                .files(files),
            );
            if album.video.previews {
                for kind in PreviewKind::ALL {
                    v.push(
                        ArtifactDecl::new(
                            id,
                            format!("{t}/previews/{}", kind.file()),
                            video::Preview {
                                kind,
                                video: video_id.clone(),
                                settings: album.video.clone(),
                                track: spec.clone(),
                            },
                        )
                        .deps([latents_id.clone()].into_iter().chain(postfx_controls.iter().cloned()).collect())
                        .files(vec![track.video.decoder.model.clone()])
                        .preview(),
                    );
                }
            }
        }
        let videos: Vec<String> = album.tracks.iter().map(|t| format!("{id}/{}/video.mp4", t.id)).collect();
        if !videos.is_empty() {
            // The audio is read again (album.mp4 re-encodes it as one stream).
            let (audio_deps, files) = audio_inputs(album.tracks.iter().map(|t| &t.audio));
            let mut deps = videos.clone();
            deps.extend(audio_deps);
            deps.sort();
            deps.dedup();
            v.push(
                ArtifactDecl::new(
                    id,
                    "album.mp4",
                    video::AlbumVideo { settings: album.video.clone(), videos: videos.clone() },
                )
                .deps(deps)
                .files(files),
            );
            let mut deps: Vec<String> = album
                .tracks
                .iter()
                .flat_map(|t| ["features.npz", "latents.npz", "video.mp4"].map(|f| format!("{id}/{}/{f}", t.id)))
                .collect();
            deps.push(format!("{id}/album.mp4"));
            v.push(ArtifactDecl::new(id, run_json::RUN_FILE, run_json::RunJson { album: album.clone() }).deps(deps));
        }
        v
    }

    fn check(&self, id: &str, target: &Target, cx: &CheckCx<'_>) -> Vec<Diagnostic> {
        let Some(album) = target.get::<AlbumSpec>() else { return Vec::new() };
        let mut diags = Vec::new();
        for (i, track) in album.tracks.iter().enumerate() {
            let audio_key = format!("{id}.track[{i}].audio");
            if let Some(message) = audio_problem(
                cx.root,
                &cx.config.settings.inputs,
                cx.index,
                id,
                &track.audio,
                "an album cannot analyse itself",
            ) {
                diags.push(diagnostic_at(cx.config, &audio_key, &audio_key, message));
            }
            if let Some((ControlSource::Sidecar(sidecar), table)) =
                track.controls.as_ref().map(|c| (&c.spec.source, &c.key))
            {
                let dcx = DeclCx { config: cx.config, globs: cx.globs };
                if let Err(sources) = crate::engine::flows::sidecars::pair_id(&dcx, sidecar, &track.audio) {
                    let (AudioRef::File(audio) | AudioRef::Artifact(audio)) = &track.audio;
                    let list: Vec<&str> = sources
                        .iter()
                        .map(|s| match s {
                            AudioRef::File(f) | AudioRef::Artifact(f) => f.as_str(),
                        })
                        .collect();
                    let key = format!("{table}.sidecar");
                    diags.push(diagnostic_at(
                        cx.config,
                        &audio_key,
                        &key,
                        format!(
                            "{sidecar} has no pair for this track's audio `{audio}`: add it to its `sources` (they are: {})",
                            if list.is_empty() { "none".to_string() } else { list.join(", ") }
                        ),
                    ));
                }
            }
            // The model files the track's video reads.
            let c = &track.video.controller;
            let mut needed = vec![
                (
                    "decoder.model",
                    &track.video.decoder.model,
                    "an ONNX decoder: input `latent` [B,8,16,16] → `image` [B,3,H,W]",
                ),
                ("controller.anchors", &c.anchors, "an .npz with `anchors` (K,8,16,16)"),
                ("controller.anchor_set", &c.meta, "the models' meta.json"),
            ];
            if let Some(p) = &c.projection {
                needed.push(("controller.projection", p, "an .npz projection, or projection = \"none\""));
            }
            for (what, file, expected) in needed {
                let problem = match paths::resolve_inside(cx.root, file) {
                    Err(e) => Some(e),
                    Ok(p) if !p.is_file() => {
                        Some(format!("`{file}`: no such file in the project (expected {expected})"))
                    }
                    Ok(_) => None,
                };
                if let Some(message) = problem {
                    let message = if what == "controller.anchor_set" {
                        message
                    } else {
                        format!("{message} (anchor set `{}`)", c.anchor_set)
                    };
                    diags.push(diagnostic_at(cx.config, &audio_key, &format!("{id}.track[{i}].{what}"), message));
                }
            }
        }
        diags
    }

    fn figures(&self, db: &dyn crate::engine::Db, id: &str, target: &Target) -> Vec<Figure> {
        let Some(album) = target.get_arc::<AlbumSpec>() else { return Vec::new() };
        album
            .tracks
            .iter()
            .filter_map(|t| latents::trajectory_figure(db, &format!("{id}/{}/latents.npz", t.id)))
            .collect()
    }

    fn after_render(&self, cx: &AfterRender<'_>) -> Result<Vec<(String, usize)>, String> {
        use crate::engine::progress::{Report, WorkStart};
        let mut written = Vec::new();
        if !cx.keep_frames {
            return Ok(written);
        }
        let env = cx.db.env();
        for e in cx.events.iter().filter(|e| e.status != crate::engine::Status::Failed) {
            let Some(decl) = cx.index.get(&e.id) else { continue };
            if decl.action.get::<video::TrackVideo>().is_none() {
                continue;
            }
            let rel = decl.output_path(&cx.config.settings.output_dir);
            let dir = Path::new(&rel).with_file_name("frames").display().to_string();
            let frames = segment::frame_count(cx.db, &e.id).map_err(|err| format!("--keep-frames: {err}"))?;
            env.report(Report::Work(WorkStart { id: dir.clone(), frames: frames as u64, parts: 0, stages: vec![] }));
            let progress = |done: usize| env.report(Report::Written { id: dir.clone(), done: done as u64 });
            let n = segment::export_frames(cx.db, &e.id, &env.root.join(&dir), &progress)
                .map_err(|err| format!("--keep-frames: {err}"))?;
            written.push((dir, n));
        }
        Ok(written)
    }

    fn settings(&self) -> Vec<(&'static str, &'static [crate::schema::SettingSpec])> {
        vec![
            ("album.NAME", &crate::controller::CONTROLLER_SETTINGS[..]),
            ("album.NAME", &crate::postfx::POSTFX_SETTINGS[..]),
            ("album.NAME", &video_spec::DECODER_SETTINGS[..]),
            ("album.NAME", &video_spec::ENCODE_SETTINGS[..]),
            ("album", &crate::project::album::ALBUM_SETTINGS[..]),
            ("album.NAME", &crate::project::album::TRIM_SETTINGS[..]),
        ]
    }

    fn sub_artifact(
        &self,
        db: &dyn crate::engine::Db,
        index: &BTreeMap<String, ArtifactDecl>,
        id: &str,
    ) -> Option<Result<crate::engine::error::Built, crate::engine::error::BuildError>> {
        segment::by_id(db, index, id)
    }

    fn list(&self, config: &Config, root: &Path) -> Vec<String> {
        let mut out =
            vec!["presets (album `preset = \"NAME\"`; add your own as [preset.NAME] in Project.toml):".to_string()];
        let ctx = Ctx::default();
        for (name, p) in presets(&ctx, &config.project_tables) {
            let origin = if p.builtin { "built in" } else { "Project.toml" };
            let set = video_spec::preset_anchor_set(&p).unwrap_or_else(|| "-".into());
            out.push(format!("  {name:<12} anchors {set:<10} ({origin}) {}", p.description));
        }
        let meta = root.join(&config.settings.models_dir).join("meta.json");
        if let Some(sets) = std::fs::read_to_string(&meta)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|m| m["anchor_sets"].as_object().cloned())
        {
            out.push(String::new());
            out.push(format!("anchor sets ({}):", meta.display()));
            for (name, s) in sets {
                let description = s["description"].as_str().unwrap_or("");
                let energy = s["energy_hint"].as_str().map(|e| format!(" [{e}]")).unwrap_or_default();
                out.push(format!("  {name:<12} {description}{energy}"));
            }
        }
        out
    }
}

/// The declaration of a track video (`…/video.mp4`): what its segments are made from.
pub fn track_video(db: &dyn crate::engine::Db, video: &str) -> Option<video::TrackVideo> {
    query::decl_by_id(db, video)?.action.get::<video::TrackVideo>().cloned()
}
