//! The tracked queries every flow shares: project config, artifact declarations (an
//! invalidation barrier per artifact), and `artifact` itself — action key, action-cache
//! lookup, compute on a miss — returning a small `Built` handle, never sample data.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use super::db::{Db, Exec, Mode};
use super::targets::{self, ArtifactDecl, Recipe};
use crate::project::album::AudioRef;
use crate::project::{self, Config, Diagnostics};
use crate::store::{ActionEntry, BlobError, Digest};

/// The handle an artifact query returns: enough to find, verify and key it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Built {
    pub digest: Digest,
    pub key: Digest,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BuildError {
    /// The computation itself failed; `transient` failures (I/O) are retried, never cached.
    Failed { id: String, message: String, transient: bool },
    /// An input artifact failed.
    Upstream { id: String, dep: String },
    /// Plan mode: this artifact would have to be computed. `desc` is its action description
    /// (None when it cannot be known yet because input `upstream` must be rebuilt first).
    NeedsBuild { id: String, desc: Option<String>, upstream: Option<String> },
    /// No such artifact (or the project configuration is invalid).
    Unknown { id: String },
    /// Not an error: a planned output that its inputs cannot give (a texture whose source has
    /// no window passing the gates, a silent flicker, a grade-F file not to be saved).
    Skipped { id: String, reason: String },
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::Failed { id, message, .. } => write!(f, "{id}: {message}"),
            BuildError::Upstream { id, dep } => write!(f, "{id}: not built because its input {dep} failed"),
            BuildError::NeedsBuild { id, .. } => write!(f, "{id}: needs to be built"),
            BuildError::Unknown { id } => write!(f, "{id}: no such artifact"),
            BuildError::Skipped { id, reason } => write!(f, "{id}: not made: {reason}"),
        }
    }
}

impl BuildError {
    pub fn failed(id: &str, message: impl Into<String>) -> BuildError {
        BuildError::Failed { id: id.to_string(), message: message.into(), transient: false }
    }

    pub fn io(id: &str, context: &str, e: impl std::fmt::Display) -> BuildError {
        BuildError::Failed { id: id.to_string(), message: format!("{context}: {e}"), transient: true }
    }
}

#[salsa::tracked(returns(ref))]
pub fn config(db: &dyn Db) -> Result<Arc<Config>, Diagnostics> {
    let inputs = db.inputs();
    project::load(inputs.project_text(db).as_deref(), inputs.recipes(db), inputs.overrides(db)).map(Arc::new)
}

/// Every artifact of the project by id (empty when the config is invalid).
#[salsa::tracked(returns(ref))]
pub fn artifact_index(db: &dyn Db) -> Arc<BTreeMap<String, ArtifactDecl>> {
    match config(db) {
        Ok(c) => Arc::new(targets::artifacts(c, db.inputs().globs(db))),
        Err(_) => Arc::new(BTreeMap::new()),
    }
}

#[salsa::interned]
pub struct ArtifactName<'db> {
    #[returns(ref)]
    pub id: String,
}

/// One artifact's declaration: the barrier that keeps an edit to one target (or one voice)
/// from re-running the queries of its siblings.
#[salsa::tracked(returns(clone))]
pub fn decl<'db>(db: &'db dyn Db, name: ArtifactName<'db>) -> Option<ArtifactDecl> {
    artifact_index(db).get(name.id(db)).cloned()
}

/// The canonical description of one unit of work; its blake3 is the action key.
#[derive(Debug, Serialize)]
pub struct ActionDesc {
    pub query: &'static str,
    pub version: u32,
    /// Digest of every input artifact, by id.
    pub inputs: BTreeMap<String, Digest>,
    /// The parameters the computation reads (and only those).
    pub params: serde_json::Value,
}

/// Build (or find) one artifact.
#[salsa::tracked(returns(clone))]
pub fn artifact<'db>(db: &'db dyn Db, name: ArtifactName<'db>) -> Result<Built, BuildError> {
    let id = name.id(db).clone();
    let result = build(db, &id);
    if let Err(BuildError::Failed { transient: true, .. } | BuildError::Upstream { .. }) = &result {
        // Make failures depend on the retry epoch so `watch` retries them.
        let _ = db.inputs().retry_epoch(db);
    }
    result
}

/// Only the digest of an artifact: dependants read this, so an artifact rebuilt to the same
/// bytes (a new key, the same digest) does not re-run them — early cutoff.
#[salsa::tracked(returns(clone))]
pub fn artifact_digest<'db>(db: &'db dyn Db, name: ArtifactName<'db>) -> Result<Digest, BuildError> {
    artifact(db, name).map(|b| b.digest)
}

fn decl_of(db: &dyn Db, id: &str) -> Option<ArtifactDecl> {
    decl(db, ArtifactName::new(db, id.to_string()))
}

pub fn artifact_by_id(db: &dyn Db, id: &str) -> Result<Built, BuildError> {
    artifact(db, ArtifactName::new(db, id.to_string()))
}

fn build(db: &dyn Db, id: &str) -> Result<Built, BuildError> {
    let env = db.env();
    env.log(Exec::Executed(id.to_string()));
    let Some(decl) = decl(db, ArtifactName::new(db, id.to_string())) else {
        return Err(BuildError::Unknown { id: id.to_string() });
    };
    let mut inputs = BTreeMap::new();
    // The texture manifest is written even when a source fails: it records the failure.
    let tolerant = matches!(decl.recipe, Recipe::TextureManifest { .. });
    for dep in &decl.deps {
        match artifact_digest(db, ArtifactName::new(db, dep.clone())) {
            Ok(d) => {
                inputs.insert(dep.clone(), d);
            }
            Err(BuildError::NeedsBuild { .. }) => {
                return Err(BuildError::NeedsBuild { id: id.to_string(), desc: None, upstream: Some(dep.clone()) });
            }
            Err(BuildError::Failed { message, transient: false, .. }) if tolerant => {
                inputs.insert(format!("failed:{dep}"), Digest::of(message.as_bytes()));
            }
            Err(_) => return Err(BuildError::Upstream { id: id.to_string(), dep: dep.clone() }),
        }
    }
    for file in &decl.files {
        let input = db.inputs().files(db).get(file).copied();
        match input.and_then(|f| f.digest(db)) {
            Some(d) => {
                inputs.insert(format!("file:{file}"), d);
            }
            None => {
                let _ = db.inputs().retry_epoch(db);
                return Err(BuildError::Failed {
                    id: id.to_string(),
                    message: format!("{file}: the input file is missing or unreadable"),
                    transient: true,
                });
            }
        }
    }
    let desc = action_desc(db, &decl, inputs);
    // A texture its bundle did not make has no action entry: say so (in plan mode too) rather
    // than calling it unbuilt.
    if let Recipe::TextureFile { file } = &decl.recipe
        && let Some(bundle) = decl.deps.first().and_then(|d| desc.inputs.get(d))
        && let Some(reason) = super::textures::skip_reason(db, bundle, file, &Digest::of_json(&desc))
    {
        return Err(BuildError::Skipped { id: id.to_string(), reason });
    }
    run_action(db, id, &desc, || compute(db, &decl))
}

/// Look `desc` up in the action cache; on a miss compute, store the bytes and record the action
/// (once per process per key). Logs what happened under `id`.
pub(crate) fn run_action(
    db: &dyn Db,
    id: &str,
    desc: &ActionDesc,
    compute: impl FnOnce() -> Result<Vec<u8>, BuildError>,
) -> Result<Built, BuildError> {
    let env = db.env();
    let key = Digest::of_json(desc);
    if let Some(entry) = env.store.action(&key)
        && env.store.has(&entry.output, entry.size)
    {
        env.log(Exec::CacheHit(id.to_string()));
        return Ok(Built { digest: entry.output, key, size: entry.size });
    }
    if env.mode == Mode::Plan {
        let text = String::from_utf8(crate::store::digest::canonical_json(desc)).unwrap_or_default();
        return Err(BuildError::NeedsBuild { id: id.to_string(), desc: Some(text), upstream: None });
    }
    let (result, ran) = env.single_flight(key, || {
        let bytes = compute()?;
        let digest = env.store.put(&bytes).map_err(|e| BuildError::io(id, "writing to the store", e))?;
        let entry = ActionEntry {
            desc: serde_json::to_value(desc).unwrap_or_default(),
            output: digest,
            size: bytes.len() as u64,
            inputs: desc.inputs.values().copied().collect(),
        };
        env.store.put_action(&key, &entry).map_err(|e| BuildError::io(id, "writing the action cache", e))?;
        Ok((digest, bytes.len() as u64))
    });
    let (digest, size) = result.map_err(|e| match e {
        // Another artifact with the same action failed: report it under this id.
        BuildError::Failed { message, transient, .. } => BuildError::Failed { id: id.to_string(), message, transient },
        other => other,
    })?;
    if ran {
        env.log(Exec::Computed(id.to_string()));
    } else {
        env.log(Exec::CacheHit(id.to_string()));
    }
    Ok(Built { digest, key, size })
}

fn action_desc(db: &dyn Db, decl: &ArtifactDecl, inputs: BTreeMap<String, Digest>) -> ActionDesc {
    let (query, version, params) = match &decl.recipe {
        Recipe::KitVoice { sample_rate_hz, voice } => {
            ("kit_voice", super::kit::VOICE_VERSION, super::kit::voice_params(*sample_rate_hz, voice))
        }
        Recipe::KitZip { kit } => ("kit_zip", super::kit::ZIP_VERSION, super::kit::zip_params(kit)),
        Recipe::SongWav { song, kit_sample_rate_hz } => {
            ("song_wav", super::song::SONG_VERSION, super::song::song_params(song, *kit_sample_rate_hz))
        }
        Recipe::Features { sample_rate_hz, .. } => {
            ("features", super::album::FEATURES_VERSION, super::album::features_params(*sample_rate_hz))
        }
        Recipe::FeaturesPlot => ("features_plot", super::album::PLOT_VERSION, serde_json::json!({})),
        Recipe::Latents { settings, track } => {
            ("latents", super::video::LATENTS_VERSION, super::video::latents_params(settings, track))
        }
        Recipe::TrackVideo { settings, track } => {
            ("video", super::video::VIDEO_VERSION, super::video::video_params(settings, track, &db.env().root))
        }
        Recipe::Preview { kind, video } => {
            let mut params = super::video::preview_params(*kind);
            if let Some(ArtifactDecl { recipe: Recipe::TrackVideo { settings, track }, .. }) = decl_of(db, video) {
                params["video"] = super::video::video_params(&settings, &track, &db.env().root);
            }
            ("preview", super::video::PREVIEW_VERSION, params)
        }
        Recipe::TextureBundle { spec, source, category, slots } => (
            "texture_bundle",
            super::textures::BUNDLE_VERSION,
            super::textures::bundle_params(spec, source, *category, slots),
        ),
        Recipe::TextureFile { file } => {
            ("texture_file", super::textures::ITEM_VERSION, serde_json::json!({ "file": file }))
        }
        Recipe::TextureManifest { bundles } => {
            ("texture_manifest", super::textures::MANIFEST_VERSION, super::textures::manifest_params(bundles))
        }
        Recipe::AlbumVideo { settings, videos } => (
            "album_video",
            super::video::ALBUM_VIDEO_VERSION,
            serde_json::json!({ "videos": videos, "fps": settings.fps, "width": settings.width, "height": settings.height }),
        ),
    };
    ActionDesc { query, version, inputs, params }
}

/// Run the computation of one artifact, reading its inputs' bytes from the store.
pub fn compute(db: &dyn Db, decl: &ArtifactDecl) -> Result<Vec<u8>, BuildError> {
    match &decl.recipe {
        Recipe::KitVoice { sample_rate_hz, voice } => super::kit::compute_voice(&decl.id, *sample_rate_hz, voice),
        Recipe::KitZip { kit } => {
            let voices = decl.deps.iter().map(|d| artifact_bytes(db, d)).collect::<Result<Vec<_>, _>>()?;
            super::kit::compute_zip(&decl.id, kit, &voices)
        }
        Recipe::SongWav { song, kit_sample_rate_hz } => {
            let voices = decl.deps.iter().map(|d| artifact_bytes(db, d)).collect::<Result<Vec<_>, _>>()?;
            super::song::compute_song(&decl.id, song, *kit_sample_rate_hz, &voices)
        }
        Recipe::Features { audio, sample_rate_hz } => {
            let (path, name, digest) = audio_path(db, &decl.id, audio)?;
            let (bytes, warnings) = super::album::compute_features(&decl.id, &path, &name, digest, *sample_rate_hz)?;
            warnings.into_iter().for_each(|w| db.env().warn(&decl.id, w));
            Ok(bytes)
        }
        Recipe::FeaturesPlot => {
            let npz = artifact_bytes(db, &decl.deps[0])?;
            super::album::compute_plot(&decl.id, &npz)
        }
        Recipe::Latents { settings, track } => super::video::compute_latents(db, decl, settings, track),
        Recipe::TrackVideo { settings, track } => super::video::compute_video(db, decl, settings, track),
        Recipe::Preview { kind, video } => super::video::compute_preview(db, decl, *kind, video),
        Recipe::AlbumVideo { settings, videos } => super::video::compute_album_video(db, decl, settings, videos),
        Recipe::TextureBundle { spec, source, category, slots } => {
            super::textures::compute_bundle(db, decl, spec, source, *category, slots)
        }
        Recipe::TextureFile { file } => super::textures::compute_file(db, decl, file),
        Recipe::TextureManifest { bundles } => super::textures::compute_manifest(db, decl, bundles),
    }
}

/// Where an audio input can be read, its name for messages, and its content digest: the project
/// file, or the blob of another target's artifact (recomputed first if it was lost).
pub(crate) fn audio_path(db: &dyn Db, id: &str, audio: &AudioRef) -> Result<(PathBuf, String, Digest), BuildError> {
    match audio {
        AudioRef::File(f) => {
            let d = db.inputs().files(db).get(f).and_then(|fi| fi.digest(db));
            let d = d.ok_or_else(|| BuildError::failed(id, format!("{f}: missing")))?;
            Ok((db.env().root.join(f), f.clone(), d))
        }
        AudioRef::Artifact(a) => {
            let d = artifact_digest(db, ArtifactName::new(db, a.clone()))
                .map_err(|_| BuildError::Upstream { id: id.to_string(), dep: a.clone() })?;
            if !db.env().store.blob_path(&d).is_file() {
                artifact_bytes(db, a)?;
            }
            Ok((db.env().store.blob_path(&d), a.clone(), d))
        }
    }
}

/// The bytes of an artifact, verified. A blob that went missing or corrupt is recomputed.
pub fn artifact_bytes(db: &dyn Db, id: &str) -> Result<Vec<u8>, BuildError> {
    let name = ArtifactName::new(db, id.to_string());
    // Only the digest: reading the whole handle (with its key) would defeat early cutoff.
    let digest = artifact_digest(db, name)?;
    let store = &db.env().store;
    match store.read(&digest) {
        Ok(bytes) => Ok(bytes),
        Err(BlobError::Missing(_) | BlobError::Corrupt(..)) => {
            let decl = decl(db, name).ok_or_else(|| BuildError::Unknown { id: id.to_string() })?;
            let bytes = compute(db, &decl)?;
            db.env().log(Exec::Computed(id.to_string()));
            let again = store.put(&bytes).map_err(|e| BuildError::io(id, "writing to the store", e))?;
            if again != digest {
                return Err(BuildError::failed(
                    id,
                    format!(
                        "recomputing a lost blob gave different bytes ({} != {}): the computation is not deterministic",
                        again.short(),
                        digest.short()
                    ),
                ));
            }
            Ok(bytes)
        }
        Err(e) => Err(BuildError::io(id, "reading from the store", e)),
    }
}
