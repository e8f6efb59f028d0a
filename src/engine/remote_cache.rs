//! The remote cache as a project uses it: which remote (Project.toml `[cache.remote]`,
//! overridden by `--remote` or `NTSBUILD_REMOTE`), with which keys (trusted public keys from the
//! project, the signing key only from the environment), and the explicit `cache status`,
//! `cache pull` and `cache push` over a selection of artifacts.

use std::sync::Arc;
use std::time::Duration;

use super::db::{Database, Db, Exec};
use super::query::{self, BuildError};
use super::render::RenderError;
use super::select;
use crate::project::settings::RemoteSettings;
use crate::store::remote_url::RemoteUrl;
use crate::store::signing::{self, SIGNING_KEY_VAR};
use crate::store::{Remote, RemoteError, RemoteOptions};

/// The environment variable naming a remote (between `--remote` and Project.toml).
pub const REMOTE_VAR: &str = "NTSBUILD_REMOTE";

/// Where the remote's URL came from, for messages.
fn source_name(from_cli: bool, from_env: bool) -> &'static str {
    if from_cli {
        "--remote"
    } else if from_env {
        REMOTE_VAR
    } else {
        "Project.toml: cache.remote.url"
    }
}

/// The remote this run uses, if any, and notes worth a warning (a signing key the project does
/// not trust). `env` reads the environment (a parameter, so tests can pass their own).
pub fn resolve(
    settings: Option<&RemoteSettings>,
    cli_url: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<(RemoteOptions, Vec<String>)>, String> {
    let env_url = env(REMOTE_VAR).filter(|v| !v.trim().is_empty());
    let Some(url) = cli_url.map(str::to_string).or(env_url.clone()).or_else(|| settings.and_then(|s| s.url.clone()))
    else {
        return Ok(None);
    };
    let from = source_name(cli_url.is_some(), env_url.is_some());
    let parsed = RemoteUrl::parse(&url).map_err(|e| format!("{from}: {e}"))?;
    let defaults = RemoteSettings::default();
    let s = settings.unwrap_or(&defaults);
    if s.trusted_keys.is_empty() {
        return Err(format!(
            "{from} names a remote cache, but Project.toml has no `[cache.remote] trusted_keys`: no entry could be \
             accepted. Make a key pair with `ntsbuild cache keygen` and list its public key there"
        ));
    }
    let trusted = s
        .trusted_keys
        .iter()
        .map(|k| signing::parse_public_key(k).map_err(|e| format!("Project.toml: cache.remote.trusted_keys: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let signer = match env(SIGNING_KEY_VAR).filter(|v| !v.trim().is_empty()) {
        Some(v) => Some(signing::parse_secret_key(&v)?),
        None => None,
    };
    let mut notes = Vec::new();
    if let Some(key) = &signer
        && !trusted.contains(&key.verifying_key())
    {
        notes.push(format!(
            "{SIGNING_KEY_VAR} signs as {}, which is not in [cache.remote] trusted_keys: readers of this project \
             will ignore what this machine uploads",
            signing::public_hex(key)
        ));
    }
    if signer.is_some() && !parsed.writable() {
        notes.push(format!("{parsed} is read-only (plain HTTP): nothing will be uploaded"));
    }
    let opts = RemoteOptions {
        url: parsed,
        endpoint: s.endpoint.clone(),
        region: s.region.clone(),
        timeout: Duration::from_millis(s.timeout_ms),
        trusted,
        signer,
        read_only: s.read_only,
        shard_wait: Duration::from_secs(s.shard_wait_s),
    };
    Ok(Some((opts, notes)))
}

/// Open the remote and put it behind the database's store.
pub fn attach(db: &Database, opts: RemoteOptions) -> Result<Arc<Remote>, String> {
    let remote = Arc::new(Remote::open(opts)?);
    db.env().set_remote(remote.clone());
    Ok(remote)
}

/// Where one artifact's result is, as `cache status` and `cache pull` see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// In the local store.
    Local,
    /// On the remote (`status`), or downloaded from it now (`pull`).
    Remote,
    /// On neither: it must be built.
    Missing,
    /// Its key cannot be known: an input is on neither store.
    Unknown(String),
    /// A planned output its inputs cannot give (not a failure), with the reason.
    Skipped(String),
    /// It cannot be built (an invalid input, a failed upstream).
    Failed(String),
}

/// Look up every selected artifact (and what it needs) in the database's mode: `Mode::Peek`
/// for `cache status`, `Mode::Pull` for `cache pull`.
pub fn survey(db: &Database, ids: &[String]) -> Result<Vec<(String, Place)>, RenderError> {
    query::config(db).clone().map_err(RenderError::Config)?;
    let index = query::artifact_index(db).clone();
    let selected = select::select(&index, ids).map_err(RenderError::Selection)?;
    db.env().take_log();
    let mut out = Vec::new();
    for id in select::with_dependencies(&index, &selected) {
        let result = query::artifact_by_id(db, &id);
        let log = db.env().take_log();
        let place = match result {
            Ok(_) if log.iter().any(|e| matches!(e, Exec::Downloaded(i) | Exec::OnRemote(i) if *i == id)) => {
                Place::Remote
            }
            Ok(_) => Place::Local,
            Err(BuildError::NeedsBuild { upstream: Some(dep), .. }) => Place::Unknown(dep),
            Err(BuildError::NeedsBuild { .. }) => Place::Missing,
            Err(BuildError::Skipped { reason, .. }) => Place::Skipped(reason),
            Err(e) => Place::Failed(e.to_string()),
        };
        out.push((id, place));
    }
    Ok(out)
}

/// What `cache push` did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PushReport {
    /// Action entries uploaded now.
    pub uploaded: usize,
    /// Already on the remote (verified).
    pub present: usize,
    /// Not in the local store (never built here): ids.
    pub not_built: Vec<String>,
}

/// Upload the local results of the selected artifacts (and what they need): every blob before
/// the signed entry naming it. `db` should be in plan mode (look-ups only).
pub fn push(db: &Database, remote: &Remote, ids: &[String]) -> Result<PushReport, String> {
    if !remote.writes() {
        return Err(format!(
            "cache push writes to {}: it needs {SIGNING_KEY_VAR} (and a writable remote without read_only)",
            remote.url()
        ));
    }
    query::config(db).clone().map_err(|d| d.to_string())?;
    let index = query::artifact_index(db).clone();
    let selected = select::select(&index, ids)?;
    let store = &db.env().store;
    let mut report = PushReport::default();
    for id in select::with_dependencies(&index, &selected) {
        let Ok(built) = query::artifact_by_id(db, &id) else {
            report.not_built.push(id);
            continue;
        };
        match remote.action(&built.key) {
            Ok(Some(e)) if remote.has_blob(&e.output, e.size).map_err(describe)? => {
                report.present += 1;
                continue;
            }
            Ok(_) | Err(RemoteError::Rejected(_)) => {}
            Err(e) => return Err(describe(e)),
        }
        let entry =
            store.action(&built.key).ok_or_else(|| format!("{id}: its action entry is not in the local store"))?;
        if !store.has(&entry.output, entry.size) {
            return Err(format!("{id}: {}", crate::store::BlobError::Missing(entry.output)));
        }
        remote.upload(&built.key, &entry, store).map_err(|e| format!("{id}: {}", describe(e)))?;
        report.uploaded += 1;
    }
    Ok(report)
}

fn describe(e: RemoteError) -> String {
    match e {
        RemoteError::Unavailable(m) | RemoteError::Rejected(m) => m,
    }
}
