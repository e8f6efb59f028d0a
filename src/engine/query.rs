//! The tracked queries every flow shares: project config, artifact declarations (an
//! invalidation barrier per artifact), and `artifact` itself — action key, action-cache
//! lookup, compute on a miss — returning a small `Built` handle, never sample data.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::action::{ActionDesc, ArtifactDecl, Cx, DynAction};
use super::db::{Db, Exec, Mode};
pub use super::error::{BuildError, Built};
use super::flow;
use std::borrow::Cow;

use crate::media::decode::DecodeInfo;
use crate::media::pcm::PcmLayout;
use crate::media::spool::{Plane, SpooledPcm, Tap, spool_pcm};
use crate::media::stamp::FileStamp;
use crate::project::album::AudioRef;
use crate::project::{self, Config, Diagnostics};
use crate::store::{ActionEntry, BlobError, Digest, RemoteError};

#[salsa::tracked(returns(ref))]
pub fn config(db: &dyn Db) -> Result<Arc<Config>, Diagnostics> {
    let inputs = db.inputs();
    let kinds = flow::registry(db).kinds();
    project::load(inputs.project_text(db).as_deref(), inputs.recipes(db), inputs.overrides(db), &kinds).map(Arc::new)
}

/// Every artifact of the project by id (empty when the config is invalid).
#[salsa::tracked(returns(ref))]
pub fn artifact_index(db: &dyn Db) -> Arc<BTreeMap<String, ArtifactDecl>> {
    match config(db) {
        Ok(c) => Arc::new(flow::registry(db).artifacts(c, db.inputs().globs(db))),
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

pub fn decl_by_id(db: &dyn Db, id: &str) -> Option<ArtifactDecl> {
    decl(db, ArtifactName::new(db, id.to_string()))
}

pub fn artifact_by_id(db: &dyn Db, id: &str) -> Result<Built, BuildError> {
    artifact(db, ArtifactName::new(db, id.to_string()))
}

pub fn digest_by_id(db: &dyn Db, id: &str) -> Result<Digest, BuildError> {
    artifact_digest(db, ArtifactName::new(db, id.to_string()))
}

/// The key inputs of an artifact: every dependency's digest and every input file's. Fails when
/// one is missing (or, in plan mode, must be built first).
fn key_inputs(db: &dyn Db, decl: &ArtifactDecl) -> Result<BTreeMap<String, Digest>, BuildError> {
    let id = &decl.id;
    let mut inputs = BTreeMap::new();
    let tolerant = decl.action.tolerates_failed_inputs();
    for dep in &decl.deps {
        match digest_by_id(db, dep) {
            Ok(d) => {
                inputs.insert(dep.clone(), d);
            }
            Err(BuildError::NeedsBuild { .. }) => {
                return Err(BuildError::NeedsBuild { id: id.clone(), desc: None, upstream: Some(dep.clone()) });
            }
            Err(BuildError::Failed { message, transient: false, .. }) if tolerant => {
                inputs.insert(format!("failed:{dep}"), Digest::of(message.as_bytes()));
            }
            Err(_) => return Err(BuildError::Upstream { id: id.clone(), dep: dep.clone() }),
        }
    }
    for file in &decl.files {
        inputs.insert(format!("file:{file}"), file_digest(db, id, file)?);
    }
    Ok(inputs)
}

fn build(db: &dyn Db, id: &str) -> Result<Built, BuildError> {
    db.env().log(Exec::Executed(id.to_string()));
    let Some(decl) = decl_by_id(db, id) else {
        return Err(BuildError::Unknown { id: id.to_string() });
    };
    let inputs = key_inputs(db, &decl)?;
    let desc = ActionDesc::of(&*decl.action, inputs);
    let cx = Cx::new(db, &decl.id, &decl.deps);
    if let Some(reason) = decl.action.skipped(&cx, &desc.inputs, &desc.key()) {
        return Err(BuildError::Skipped { id: id.to_string(), reason });
    }
    run_action(db, id, &desc, || produce(db, id, &*decl.action, &cx).map(|out| (out, cx.take_parts())))
}

/// What a computation made: its bytes, or a blob it wrote into the store itself.
pub enum Output {
    Bytes(Vec<u8>),
    Stored { digest: Digest, size: u64 },
}

/// Run `action`: streamed into the store when it writes piece by piece, else its bytes.
fn produce(db: &dyn Db, id: &str, action: &dyn DynAction, cx: &Cx<'_>) -> Result<Output, BuildError> {
    let mut out = db.env().store.writer();
    match action.write(cx, &mut out) {
        Some(result) => {
            result?;
            let (digest, size) = out.finish().map_err(|e| BuildError::io(id, "writing to the store", e))?;
            Ok(Output::Stored { digest, size })
        }
        None => action.compute(cx).map(Output::Bytes),
    }
}

/// Look `desc` up in the action cache; on a miss compute, store the bytes and record the action
/// (once per process per key). Logs what happened under `id`.
pub fn run_action(
    db: &dyn Db,
    id: &str,
    desc: &ActionDesc,
    compute: impl FnOnce() -> Result<(Output, Vec<Digest>), BuildError>,
) -> Result<Built, BuildError> {
    let env = db.env();
    let key = desc.key();
    if let Some((output, size)) = env.store.action_output(&key)
        && env.store.has(&output, size)
    {
        env.log(Exec::CacheHit(id.to_string()));
        return Ok(Built { digest: output, key, size });
    }
    let found = match env.mode {
        Mode::Build | Mode::Plan => None,
        Mode::Pull => download(db, id, &key).map(|f| (f, Exec::Downloaded(id.to_string()))),
        Mode::Peek => peek(db, id, &key).map(|f| (f, Exec::OnRemote(id.to_string()))),
    };
    if let Some(((digest, size), exec)) = found {
        env.log(exec);
        return Ok(Built { digest, key, size });
    }
    if env.mode != Mode::Build {
        let text = String::from_utf8(crate::store::digest::canonical_json(desc)).unwrap_or_default();
        return Err(BuildError::NeedsBuild { id: id.to_string(), desc: Some(text), upstream: None });
    }
    let mut downloaded = false;
    let (result, ran) = env.single_flight(key, || {
        if let Some(found) = download(db, id, &key) {
            downloaded = true;
            return Ok(found);
        }
        let (output, parts) = {
            let _permit = env.budget.acquire();
            compute()?
        };
        let (digest, size) = match output {
            Output::Bytes(bytes) => {
                let size = bytes.len() as u64;
                // Synced and named behind the work (the render settles them before it ends).
                let digest = env.store.put_behind(bytes).map_err(|e| BuildError::io(id, "writing to the store", e))?;
                (digest, size)
            }
            Output::Stored { digest, size } => (digest, size),
        };
        let entry = ActionEntry {
            desc: serde_json::to_value(desc).unwrap_or_default(),
            output: digest,
            size,
            inputs: desc.inputs.values().copied().collect(),
            parts,
        };
        env.store.put_action(&key, &entry).map_err(|e| BuildError::io(id, "writing the action cache", e))?;
        if let Some(remote) = env.remote() {
            // A failed upload leaves the remote unavailable for this run (reported once); the
            // result stands locally. The blob is read back from the store, in pieces when large.
            let _ = remote.upload(&key, &entry, &env.store);
        }
        Ok((digest, size))
    });
    let (digest, size) = result.map_err(|e| match e {
        // Another artifact with the same action failed: report it under this id.
        BuildError::Failed { message, transient, .. } => BuildError::Failed { id: id.to_string(), message, transient },
        other => other,
    })?;
    env.log(match (ran, downloaded) {
        (true, true) => Exec::Downloaded(id.to_string()),
        (true, false) => Exec::Computed(id.to_string()),
        (false, _) => Exec::CacheHit(id.to_string()),
    });
    Ok(Built { digest, key, size })
}

/// Look `key` up in the remote cache; on a verified hit, copy its entry and blob into the
/// local store. A rejected entry or blob is a miss with a warning on `id`; an unavailable
/// remote is a miss (reported once per run by the caller of the render).
fn download(db: &dyn Db, id: &str, key: &Digest) -> Option<(Digest, u64)> {
    let env = db.env();
    let remote = env.remote()?;
    let warn = |e: RemoteError| {
        if let RemoteError::Rejected(message) = e {
            env.warn(id, message);
        }
    };
    let entry = match remote.action(key) {
        Ok(Some(entry)) => entry,
        Ok(None) => return None,
        Err(e) => {
            warn(e);
            return None;
        }
    };
    if !env.store.has(&entry.output, entry.size) {
        // An entry whose blob is missing (or bad) is a miss.
        match remote.download_blob(&entry.output, Some(entry.size), &env.store) {
            Ok(Some(_)) => {}
            Ok(None) => return None,
            Err(e) => {
                warn(e);
                return None;
            }
        }
    }
    env.store.put_action(key, &entry).ok()?;
    Some((entry.output, entry.size))
}

/// `cache status`: whether the remote cache holds a verified entry for `key` and its blob.
fn peek(db: &dyn Db, id: &str, key: &Digest) -> Option<(Digest, u64)> {
    let env = db.env();
    let remote = env.remote()?;
    match remote.action(key) {
        Ok(Some(entry)) => match remote.has_blob(&entry.output, entry.size) {
            Ok(true) => Some((entry.output, entry.size)),
            _ => None,
        },
        Ok(None) => None,
        Err(RemoteError::Rejected(message)) => {
            env.warn(id, message);
            None
        }
        Err(RemoteError::Unavailable(_)) => None,
    }
}

/// A blob lost from the local store (or never downloaded), fetched from the remote cache and
/// stored again; `None` when there is no remote or it does not have it.
pub fn fetch_lost_blob(db: &dyn Db, digest: &Digest) -> Option<Vec<u8>> {
    let env = db.env();
    env.remote()?.download_blob(digest, None, &env.store).ok()??;
    env.store.read(digest).ok()
}

/// Run `action` as the sub-artifact `id` (a video segment): same key, cache and single-flight
/// rules as a declared artifact, with the given input digests.
pub fn run_sub_action(
    db: &dyn Db,
    id: &str,
    action: &dyn DynAction,
    inputs: BTreeMap<String, Digest>,
) -> Result<Built, BuildError> {
    let desc = ActionDesc::of(action, inputs);
    let cx = Cx::new(db, id, &[]);
    run_action(db, id, &desc, || produce(db, id, action, &cx).map(|out| (out, cx.take_parts())))
}

/// The content digest of project file `file` as the build sees it.
pub fn file_digest(db: &dyn Db, id: &str, file: &str) -> Result<Digest, BuildError> {
    match db.inputs().files(db).get(file).and_then(|f| f.digest(db)) {
        Some(d) => Ok(d),
        None => {
            let _ = db.inputs().retry_epoch(db);
            Err(BuildError::Failed {
                id: id.to_string(),
                message: format!("{file}: the input file is missing or unreadable"),
                transient: true,
            })
        }
    }
}

/// How the running render names an audio input (a project path or an artifact id).
fn input_name(audio: &AudioRef) -> &str {
    match audio {
        AudioRef::File(file) => file,
        AudioRef::Artifact(id) => id,
    }
}

/// An audio input's shared decode ([`Cx::pcm`]).
pub struct AudioPcm {
    /// The samples at the asked rate, mixdown and channels (in memory, or for a long source
    /// in temporary files).
    pub pcm: Arc<SpooledPcm>,
    /// The input's name for messages (a project path or an artifact id).
    pub name: String,
    /// The input's content digest.
    pub digest: Digest,
    /// Where it was read; never part of an output.
    path: String,
}

/// `text` with the file's location `path` shown as `name`, and the same for a path beside it
/// with another extension (the `.flac` a conversion advice names).
fn relabel(text: &str, path: &str, name: &str) -> String {
    let stem = |s: &str| -> Option<String> {
        let p = std::path::Path::new(s);
        p.extension().is_some().then(|| p.with_extension("").display().to_string())
    };
    let text = text.replace(path, name);
    match (stem(path), stem(name)) {
        (Some(p), Some(n)) => text.replace(&format!("{p}."), &format!("{n}.")),
        _ => text,
    }
}

impl AudioPcm {
    /// The decoder's warnings, with the file's location replaced by `label`.
    pub fn warnings(&self, label: &str) -> Vec<String> {
        self.pcm.source.warnings.iter().map(|w| w.replace(&self.path, label)).collect()
    }

    /// What the decoder reported (source rate, channels, frames, codec, warnings).
    pub fn source(&self) -> &DecodeInfo {
        &self.pcm.source
    }

    /// Samples per channel at the decoded rate.
    pub fn len(&self) -> usize {
        self.pcm.len()
    }

    /// Whether no sample was decoded.
    pub fn is_empty(&self) -> bool {
        self.pcm.is_empty()
    }

    /// The mixdown at the decoded rate, to read piece by piece.
    pub fn mono_plane(&self) -> &Plane {
        self.pcm.mono.as_ref().unwrap_or(&EMPTY_PLANE)
    }

    /// How many channels the source has.
    pub fn channel_count(&self) -> usize {
        self.pcm.channel_count()
    }

    /// Every channel at the decoded rate, in file order, to read piece by piece (resampled on
    /// the first call of any consumer when the source's rate differs).
    pub fn channel_planes(&self, id: &str) -> Result<&[Plane], BuildError> {
        self.pcm.channels().map_err(|e| self.read_error(id, e))
    }

    /// The whole mixdown (read back from its file when the source was long).
    pub fn mono(&self, id: &str) -> Result<Cow<'_, [f32]>, BuildError> {
        self.mono_plane().load().map_err(|e| self.read_error(id, e))
    }

    /// Every whole channel, in file order.
    pub fn channels(&self, id: &str) -> Result<Vec<Cow<'_, [f32]>>, BuildError> {
        self.channel_planes(id)?.iter().map(|p| p.load().map_err(|e| self.read_error(id, e))).collect()
    }

    /// `e` reading the decoded audio back, as `id`'s error.
    pub fn read_error(&self, id: &str, e: std::io::Error) -> BuildError {
        BuildError::io(id, &format!("reading the decoded audio of {}", self.name), e)
    }
}

static EMPTY_PLANE: Plane = Plane::Memory(Vec::new());

/// Why [`copy_artifact_into`] failed.
pub enum CopyError {
    /// Writing to the destination.
    Write(std::io::Error),
    /// Reading the stored blob (other than its being lost or corrupt).
    Read(BlobError),
    /// Making the bytes again.
    Build(BuildError),
}

/// Copy artifact `id`, stored as `digest`, into `out` in pieces, verified on the way; a lost or
/// corrupt blob is fetched or recomputed and written instead (`out` restarted first), so `out`
/// holds the artifact's bytes whenever this returns `Ok`.
pub fn copy_artifact_into(
    db: &dyn Db,
    id: &str,
    digest: &Digest,
    out: &mut impl crate::store::Rewritable,
) -> Result<(), CopyError> {
    match db.env().store.copy_blob(digest, out) {
        Ok(_) => Ok(()),
        Err(BlobError::Missing(_) | BlobError::Corrupt(..)) => {
            out.restart().map_err(CopyError::Write)?;
            let bytes = artifact_bytes(db, id).map_err(CopyError::Build)?;
            out.write_all(&bytes).map_err(CopyError::Write)
        }
        Err(e) => Err(CopyError::Read(e)),
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
            if let Some(bytes) = fetch_lost_blob(db, &digest) {
                return Ok(bytes);
            }
            let decl = decl(db, name).ok_or_else(|| BuildError::Unknown { id: id.to_string() })?;
            let _permit = db.env().budget.acquire();
            let bytes = decl.action.compute(&Cx::new(db, &decl.id, &decl.deps))?;
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

impl Cx<'_> {
    /// The bytes of dependency `i` (in declaration order).
    pub fn dep_bytes(&self, i: usize) -> Result<Vec<u8>, BuildError> {
        let dep = self.deps.get(i).ok_or_else(|| self.fail(format!("internal: no input #{i}")))?;
        artifact_bytes(self.db, dep)
    }

    /// The bytes of every dependency, in declaration order.
    pub fn all_dep_bytes(&self) -> Result<Vec<Vec<u8>>, BuildError> {
        self.deps.iter().map(|d| artifact_bytes(self.db, d)).collect()
    }

    /// The bytes of any artifact (it becomes an input of this computation).
    pub fn artifact_bytes(&self, id: &str) -> Result<Vec<u8>, BuildError> {
        artifact_bytes(self.db, id)
    }

    /// Copy any artifact's bytes into `out` in pieces (it becomes an input of this computation,
    /// as with [`Cx::artifact_bytes`]); a lost or corrupt blob is fetched or recomputed.
    pub fn copy_artifact(&self, id: &str, out: &mut crate::store::BlobWriter) -> Result<(), BuildError> {
        let digest = digest_by_id(self.db, id)?;
        copy_artifact_into(self.db, id, &digest, out).map_err(|e| match e {
            CopyError::Write(e) => self.io("writing to the store", e),
            CopyError::Read(e) => self.io(&format!("reading {id}"), e),
            CopyError::Build(e) => e,
        })
    }

    /// Where input file `file` (a project path or `ROOT:path`) is read on this machine.
    pub fn file_location(&self, file: &str) -> PathBuf {
        match self.db.inputs().files(self.db).get(file) {
            Some(f) => f.location(self.db).clone(),
            None => self.root().join(file),
        }
    }

    /// Bytes of an input file, checked against the digest the build keyed on.
    pub fn file_bytes(&self, file: &str) -> Result<(Vec<u8>, Digest), BuildError> {
        let digest = file_digest(self.db, self.id, file)?;
        let bytes = std::fs::read(self.file_location(file)).map_err(|e| self.io(&format!("reading {file}"), e))?;
        if Digest::of(&bytes) != digest {
            return Err(BuildError::Failed {
                id: self.id.to_string(),
                message: format!("{file} changed while building; run again"),
                transient: true,
            });
        }
        Ok((bytes, digest))
    }

    /// Where an audio input can be read, its name for messages, and its content digest: the
    /// project file, or the blob of another target's artifact (recomputed first if it was lost).
    pub fn audio(&self, audio: &AudioRef) -> Result<(PathBuf, String, Digest), BuildError> {
        match audio {
            AudioRef::File(f) => {
                let digest = file_digest(self.db, self.id, f)?;
                Ok((self.file_location(f), f.clone(), digest))
            }
            AudioRef::Artifact(a) => {
                let (path, d) = self
                    .artifact_path(a)
                    .map_err(|_| BuildError::Upstream { id: self.id.to_string(), dep: a.clone() })?;
                Ok((path, a.clone(), d))
            }
        }
    }

    /// Where artifact `id` can be read in part: its bytes while its blob is being synced and
    /// named (see [`crate::store::Store::blob_at`]), else its file as
    /// [`Self::artifact_path`] gives it.
    pub fn artifact_at(&self, id: &str) -> Result<crate::store::BlobAt, BuildError> {
        let d = digest_by_id(self.db, id)?;
        match self.db.env().store.blob_at(&d) {
            crate::store::BlobAt::File(_) => Ok(crate::store::BlobAt::File(self.artifact_path(id)?.0)),
            held => Ok(held),
        }
    }

    /// Where the blob of artifact `id` lies in the store, and its digest (recomputed first if
    /// it was lost), for reading part of it; unlike [`Self::artifact_bytes`] the bytes are not
    /// verified as a whole, so the reader checks what it reads. Fails with the artifact's own
    /// error when it could not be built.
    pub fn artifact_path(&self, id: &str) -> Result<(PathBuf, Digest), BuildError> {
        let d = digest_by_id(self.db, id)?;
        let store = &self.db.env().store;
        if !store.named_path(&d).is_file() {
            artifact_bytes(self.db, id)?;
        }
        Ok((store.blob_path(&d), d))
    }

    /// An audio input decoded once per process and resampled to `rate_hz`, as its mixdown and
    /// its channels: every consumer of the same content at the same rate (features, the video's
    /// audio track, texture mining, the sampler) shares this one decode. A long source's signals
    /// lie in unlinked temporary files under the store's `tmp/` (past
    /// [`super::db::BuildEnv::pcm_memory_samples`]), read back piece by piece by the consumers
    /// that stream (features, the video's audio), so memory stays bounded.
    ///
    /// The channels are resampled when a consumer first asks for them. An integer WAV is read
    /// in place by position instead of decoded (through the resampler at another rate): a store
    /// blob (never changed once written), or a project file whose open handle is the one the
    /// build hashed (same size, times and inode as the stat cache recorded with its digest). A
    /// project file whose stamp is not that one, before or after the decode, fails the build
    /// (transient: "changed while building; run again").
    pub fn pcm(&self, audio: &AudioRef, rate_hz: u32) -> Result<AudioPcm, BuildError> {
        self.shared_pcm(audio, rate_hz, Tap::keeping(&mut |_| {}))
    }

    /// [`Self::pcm`] for a consumer that takes the whole mixdown from `mono_tap`, handed to it
    /// piece by piece as it is made when this call is the one that makes the decode (see
    /// [`crate::media::spool::spool_pcm`]): the tap has seen the whole mixdown exactly when it
    /// saw as many samples as [`AudioPcm::mono_plane`] holds. When this artifact is the only one
    /// of the running render that reads `audio`, the decode keeps nothing the tap saw (its
    /// mixdown is [`Plane::Passed`], an error to read: a caller whose tap missed some asks
    /// [`Self::pcm`]), so a long source costs neither memory nor a temporary file; otherwise it
    /// is the shared decode.
    pub fn pcm_tapped(
        &self,
        audio: &AudioRef,
        rate_hz: u32,
        mono_tap: &mut dyn FnMut(&[f32]),
    ) -> Result<AudioPcm, BuildError> {
        let keep = !self.db.env().only_reader(input_name(audio), self.id);
        self.shared_pcm(audio, rate_hz, Tap { see: mono_tap, keep })
    }

    fn shared_pcm(&self, audio: &AudioRef, rate_hz: u32, tap: Tap<'_>) -> Result<AudioPcm, BuildError> {
        let (location, name, digest) = self.audio(audio)?;
        let path = location.display().to_string();
        let env = self.db.env();
        let input = input_name(audio);
        // The mixdown alone when no artifact of the running render reads the channels: the same
        // mixdown, without keeping (and copying) every decoded channel. A caller that may read
        // them (or a sub-artifact, whose kind is not declared) always gets them.
        let reads = decl_by_id(self.db, self.id).is_none_or(|decl| decl.action.reads_channels());
        let layout = if reads || env.channels_read(input) { PcmLayout::Both } else { PcmLayout::Mono };
        let keep = tap.keep;
        let key = Digest::of(&[digest.0.as_slice(), &rate_hz.to_le_bytes(), &[layout as u8, u8::from(keep)]].concat());
        let pcm = env.memo("pcm", key, || {
            env.log(Exec::Decoded(name.clone(), rate_hz, layout, keep));
            let spill_dir = env.store.tmp_dir();
            let trusted = |stamp: &FileStamp| match audio {
                AudioRef::File(_) => env.stat.vouches(&location, stamp, &digest),
                AudioRef::Artifact(_) => true,
            };
            // A project file edited since the build hashed it, or while it was decoded, would
            // give another content's audio under this digest: the build stops instead.
            let unchanged = || match audio {
                AudioRef::File(_) => std::fs::metadata(&location).is_ok_and(|m| trusted(&FileStamp::of(&m))),
                AudioRef::Artifact(_) => true,
            };
            let changed = || BuildError::Failed {
                id: self.id.to_string(),
                message: format!("{name} changed while building; run again"),
                transient: true,
            };
            if !unchanged() {
                return Err(changed());
            }
            let memory = env.pcm_memory_samples();
            let pcm = spool_pcm(&location, rate_hz, layout, memory, &spill_dir, trusted, tap)
                .map_err(|e| self.fail(relabel(&e.to_string(), &path, &name)))?;
            if !unchanged() {
                return Err(changed());
            }
            Ok(pcm)
        })?;
        Ok(AudioPcm { pcm, name, digest, path })
    }
}
