//! The remote tier of the store: a shared cache behind the local one, on any storage OpenDAL
//! reaches (S3-compatible buckets, WebDAV, plain HTTP read-only, a shared file system, Redis,
//! the GitHub Actions cache), through one code path.
//!
//! Layout under the URL's prefix: `v1/cas/<b3[0..2]>/<b3>` blobs and `v1/ac/<key>` signed action
//! entries. A writer uploads every blob before the entry naming it. A reader trusts nothing it
//! downloads: an entry counts only when it parses, names the key it is stored under, and carries
//! an Ed25519 signature by one of the project's trusted keys; a blob only when its bytes hash to
//! its name. Anything else is a miss (and a warning). Transport errors — down, slow (every request
//! has a time limit), refused, full — make the remote unavailable for the rest of the process,
//! reported once; the build goes on locally.

use std::future::Future;
use std::io::{Read as _, Write as _};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use ed25519_dalek::{SigningKey, VerifyingKey};
use opendal::{ErrorKind, Operator, services};
use serde::{Deserialize, Serialize};

use super::cas::{ActionEntry, Store};
use super::digest::{Digest, canonical_json};
use super::remote_url::RemoteUrl;
use super::signing;

/// Everything needed to open a remote: the resolved URL and settings, the keys, the mode.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    pub url: RemoteUrl,
    /// S3: endpoint and region.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub timeout: Duration,
    pub trusted: Vec<VerifyingKey>,
    /// The writer's key; `None` (or `read_only`) never writes.
    pub signer: Option<SigningKey>,
    pub read_only: bool,
    /// `render --shard`: how long the assembling shard waits for the others' segments.
    pub shard_wait: Duration,
}

/// Why a remote look-up gave nothing usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteError {
    /// The remote could not be reached or refused (the first such error, for the whole process).
    Unavailable(String),
    /// What it served was rejected (corrupt, truncated, unsigned, signed by an unknown key):
    /// a miss, with the reason as a warning.
    Rejected(String),
}

/// How an action entry travels: its payload (canonical JSON of [`RemoteAction`]) as a string,
/// signed as bytes, so that no re-serialization can change what was signed.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    format: String,
    payload: String,
    signer: String,
    signature: String,
}

const FORMAT: &str = "ntsbuild-action-v1";

/// The signed content of a remote action entry: the local entry plus the key it answers.
#[derive(Debug, Serialize, Deserialize)]
struct RemoteAction {
    key: Digest,
    #[serde(flatten)]
    entry: ActionEntry,
}

/// Counts of what this process did with the remote (for reports and the benchmark).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RemoteStats {
    pub entries_downloaded: usize,
    pub blobs_downloaded: usize,
    pub bytes_downloaded: u64,
    pub entries_uploaded: usize,
    pub blobs_uploaded: usize,
    pub bytes_uploaded: u64,
    pub rejected: usize,
}

#[derive(Default)]
struct Counters {
    entries_downloaded: AtomicUsize,
    blobs_downloaded: AtomicUsize,
    bytes_downloaded: AtomicUsize,
    entries_uploaded: AtomicUsize,
    blobs_uploaded: AtomicUsize,
    bytes_uploaded: AtomicUsize,
    rejected: AtomicUsize,
}

/// An open remote cache. Shared by every worker thread; each request blocks its caller.
pub struct Remote {
    op: Operator,
    runtime: tokio::runtime::Runtime,
    opts: RemoteOptions,
    /// Set by the first transport error: the remote is not used again by this process.
    down: OnceLock<String>,
    /// Whether the "unavailable" warning was taken for reporting (it is given once).
    reported: Mutex<bool>,
    counters: Counters,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote").field("url", &self.opts.url.to_string()).finish_non_exhaustive()
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// A service builder with the login from the environment: `NTSBUILD_REMOTE_USERNAME` and
/// `NTSBUILD_REMOTE_PASSWORD`, and `NTSBUILD_REMOTE_TOKEN` for services that take one.
macro_rules! with_login {
    ($b:expr) => {{
        let mut b = $b;
        if let Some(u) = env("NTSBUILD_REMOTE_USERNAME") {
            b = b.username(&u);
        }
        if let Some(p) = env("NTSBUILD_REMOTE_PASSWORD") {
            b = b.password(&p);
        }
        b
    }};
    ($b:expr, token) => {{
        let mut b = with_login!($b);
        if let Some(t) = env("NTSBUILD_REMOTE_TOKEN") {
            b = b.token(&t);
        }
        b
    }};
}

fn operator(opts: &RemoteOptions) -> opendal::Result<Operator> {
    let op = match &opts.url {
        RemoteUrl::Fs { root } => {
            // Uploads land in a temp file beside the cache and are renamed into place: a reader
            // never sees part of one, even from a writer killed mid-upload.
            let tmp = format!("{}/.tmp", root.trim_end_matches('/'));
            Operator::new(services::Fs::default().root(root).atomic_write_dir(&tmp))?.finish()
        }
        RemoteUrl::S3 { bucket, prefix } => {
            let region = opts
                .region
                .clone()
                .or_else(|| env("AWS_REGION"))
                .or_else(|| env("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| "us-east-1".into());
            let mut b = services::S3::default().bucket(bucket).root(&format!("/{prefix}")).region(&region);
            if let Some(e) = &opts.endpoint {
                b = b.endpoint(e);
            }
            if !aws_credentials_configured() {
                // No credentials anywhere the AWS tools look: a public bucket, read anonymously.
                b = b.skip_signature();
            }
            Operator::new(b)?.finish()
        }
        RemoteUrl::Webdav { endpoint, root } => {
            let b = services::Webdav::default().endpoint(endpoint).root(root);
            Operator::new(with_login!(b, token))?.finish()
        }
        RemoteUrl::Http { endpoint, root } => {
            let b = services::Http::default().endpoint(endpoint).root(root);
            Operator::new(with_login!(b, token))?.finish()
        }
        RemoteUrl::Redis { endpoint, root, db } => {
            let b = services::Redis::default().endpoint(endpoint).root(root).db(*db);
            Operator::new(with_login!(b))?.finish()
        }
        RemoteUrl::Ghac { root } => Operator::new(services::Ghac::default().root(root))?.finish(),
    };
    Ok(op)
}

/// Whether AWS credentials are configured: in the environment (keys, a profile, a web identity
/// or container role), or in the shared credentials and config files.
fn aws_credentials_configured() -> bool {
    const VARS: [&str; 6] = [
        "AWS_ACCESS_KEY_ID",
        "AWS_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_ROLE_ARN",
    ];
    if VARS.iter().any(|v| env(v).is_some()) {
        return true;
    }
    let home = env("HOME").map(std::path::PathBuf::from);
    let files = [
        env("AWS_SHARED_CREDENTIALS_FILE").map(std::path::PathBuf::from),
        env("AWS_CONFIG_FILE").map(std::path::PathBuf::from),
        home.as_ref().map(|h| h.join(".aws/credentials")),
        home.as_ref().map(|h| h.join(".aws/config")),
    ];
    files.into_iter().flatten().any(|f| f.is_file())
}

/// The most of a blob held in memory while it moves to or from the remote: larger blobs move in
/// pieces of this size, each one request.
pub const PIECE: u64 = 8 << 20;

fn blob_path(d: &Digest) -> String {
    let hex = d.hex();
    format!("v1/cas/{}/{hex}", &hex[..2])
}

fn action_path(key: &Digest) -> String {
    format!("v1/ac/{}", key.hex())
}

impl Remote {
    /// Open a remote (no request is made yet).
    pub fn open(opts: RemoteOptions) -> Result<Remote, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("ntsbuild-remote")
            .enable_all()
            .build()
            .map_err(|e| format!("starting the remote cache client: {e}"))?;
        let op = {
            // Some services look for a runtime while they are built.
            let _guard = runtime.enter();
            operator(&opts).map_err(|e| format!("remote cache {}: {e}", opts.url))?
        };
        Ok(Remote {
            op,
            runtime,
            opts,
            down: OnceLock::new(),
            reported: Mutex::new(false),
            counters: Counters::default(),
        })
    }

    pub fn shard_wait(&self) -> Duration {
        self.opts.shard_wait
    }

    pub fn url(&self) -> &RemoteUrl {
        &self.opts.url
    }

    /// Whether this process writes to the remote: a signing key, no `read_only`, a writable kind.
    pub fn writes(&self) -> bool {
        self.opts.signer.is_some() && !self.opts.read_only && self.opts.url.writable()
    }

    /// Why the remote was given up on, if it was.
    pub fn unavailable(&self) -> Option<&str> {
        self.down.get().map(String::as_str)
    }

    /// The "unavailable" warning, the first time it is asked for after the remote went down.
    pub fn take_unavailable_warning(&self) -> Option<String> {
        let reason = self.down.get()?;
        let mut reported = self.reported.lock().unwrap_or_else(|p| p.into_inner());
        if *reported {
            return None;
        }
        *reported = true;
        Some(format!(
            "remote cache {} is unavailable ({reason}); this run went on with the local store only",
            self.opts.url
        ))
    }

    pub fn stats(&self) -> RemoteStats {
        let c = &self.counters;
        let n = |a: &AtomicUsize| a.load(Ordering::Relaxed);
        RemoteStats {
            entries_downloaded: n(&c.entries_downloaded),
            blobs_downloaded: n(&c.blobs_downloaded),
            bytes_downloaded: n(&c.bytes_downloaded) as u64,
            entries_uploaded: n(&c.entries_uploaded),
            blobs_uploaded: n(&c.blobs_uploaded),
            bytes_uploaded: n(&c.bytes_uploaded) as u64,
            rejected: n(&c.rejected),
        }
    }

    /// Run one request with the time limit. `Ok(None)` is "not found"; any other failure
    /// marks the remote unavailable.
    fn call<T>(&self, what: &str, fut: impl Future<Output = opendal::Result<T>>) -> Result<Option<T>, RemoteError> {
        if let Some(reason) = self.down.get() {
            return Err(RemoteError::Unavailable(reason.clone()));
        }
        let limit = self.opts.timeout;
        let result = self.runtime.block_on(async { tokio::time::timeout(limit, fut).await });
        let reason = match result {
            Ok(Ok(v)) => return Ok(Some(v)),
            Ok(Err(e)) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Ok(Err(e)) => match e.kind() {
                ErrorKind::PermissionDenied => format!("{what}: permission denied ({e})"),
                _ => format!("{what}: {e}"),
            },
            Err(_) => format!("{what}: no answer within {:.1} s", limit.as_secs_f64()),
        };
        let reason = self.down.get_or_init(|| reason).clone();
        Err(RemoteError::Unavailable(reason))
    }

    fn reject(&self, message: String) -> RemoteError {
        self.counters.rejected.fetch_add(1, Ordering::Relaxed);
        RemoteError::Rejected(message)
    }

    /// The action entry stored for `key`, verified: `Ok(None)` when there is none.
    pub fn action(&self, key: &Digest) -> Result<Option<ActionEntry>, RemoteError> {
        let Some(buf) = self.call("reading an action entry", self.op.read(&action_path(key)))? else {
            return Ok(None);
        };
        let bytes = buf.to_vec();
        let entry = self.verify_entry(key, &bytes)?;
        self.counters.entries_downloaded.fetch_add(1, Ordering::Relaxed);
        Ok(Some(entry))
    }

    fn verify_entry(&self, key: &Digest, bytes: &[u8]) -> Result<ActionEntry, RemoteError> {
        let short = key.short();
        let env: Envelope = serde_json::from_slice(bytes)
            .map_err(|e| self.reject(format!("remote action entry {short} is not a valid entry ({e}); ignored")))?;
        if env.format != FORMAT {
            return Err(self.reject(format!(
                "remote action entry {short} has format `{}` (this ntsbuild reads {FORMAT}); ignored",
                env.format
            )));
        }
        let signer = signing::parse_public_key(&env.signer)
            .map_err(|_| self.reject(format!("remote action entry {short} names no valid signer; ignored")))?;
        if !self.opts.trusted.contains(&signer) {
            return Err(self.reject(format!(
                "remote action entry {short} is signed by {}, which is not in [cache.remote] trusted_keys; ignored",
                env.signer
            )));
        }
        if !signing::verify(&signer, env.payload.as_bytes(), &env.signature) {
            return Err(self.reject(format!(
                "remote action entry {short} fails its signature check (altered or forged); ignored"
            )));
        }
        let action: RemoteAction = serde_json::from_str(&env.payload)
            .map_err(|e| self.reject(format!("remote action entry {short}: unreadable payload ({e}); ignored")))?;
        if action.key != *key {
            return Err(self.reject(format!(
                "remote action entry {short} was signed for another key ({}); ignored",
                action.key.short()
            )));
        }
        Ok(action.entry)
    }

    /// Download a blob into the local store, verified against its name and `size` before it is
    /// stored: `Ok(None)` when it is not there. Returns its size. A blob larger than [`PIECE`]
    /// comes in pieces of that size, each one request under the time limit.
    pub fn download_blob(&self, d: &Digest, size: Option<u64>, store: &Store) -> Result<Option<u64>, RemoteError> {
        let path = blob_path(d);
        // The size on the remote: asked for only when the entry does not tell it or the blob is
        // large (a small one is read in one request and checked after).
        let remote_size = match size {
            Some(s) if s <= PIECE => None,
            _ => match self.call("checking a blob", self.op.stat(&path))? {
                Some(meta) => Some(meta.content_length()),
                None => return Ok(None),
            },
        };
        let mut out = store.writer();
        let local = |e: std::io::Error| RemoteError::Rejected(format!("storing remote blob {}: {e}", d.short()));
        let mut got = 0u64;
        match remote_size {
            Some(total) if total > PIECE && size.is_none_or(|s| s == total) => {
                let Some(reader) = self.call("downloading a blob", self.op.reader(&path))? else { return Ok(None) };
                while got < total {
                    let end = (got + PIECE).min(total);
                    let Some(piece) = self.call("downloading a blob", reader.read(got..end))? else { return Ok(None) };
                    if piece.is_empty() {
                        break;
                    }
                    got += piece.len() as u64;
                    for chunk in piece {
                        out.write_all(&chunk).map_err(local)?;
                    }
                }
            }
            Some(total) if size.is_some_and(|s| s != total) => {
                return Err(self.reject(format!(
                    "remote blob {} is {total} bytes, its entry says {}; ignored",
                    d.short(),
                    size.unwrap_or_default()
                )));
            }
            _ => {
                let Some(bytes) = self.call("downloading a blob", self.op.read(&path))? else { return Ok(None) };
                got = bytes.len() as u64;
                for chunk in bytes {
                    out.write_all(&chunk).map_err(local)?;
                }
            }
        }
        let actual = out.digest();
        if actual != *d || size.is_some_and(|s| s != got) {
            return Err(self.reject(format!(
                "remote blob {} is corrupt or truncated ({got} bytes hashing to {}); ignored",
                d.short(),
                actual.short()
            )));
        }
        out.finish().map_err(local)?;
        self.counters.blobs_downloaded.fetch_add(1, Ordering::Relaxed);
        self.counters.bytes_downloaded.fetch_add(got as usize, Ordering::Relaxed);
        Ok(Some(got))
    }

    /// Whether a blob of this size is on the remote (one small request, no download).
    pub fn has_blob(&self, d: &Digest, size: u64) -> Result<bool, RemoteError> {
        Ok(self.call("checking a blob", self.op.stat(&blob_path(d)))?.is_some_and(|m| m.content_length() == size))
    }

    /// Upload an action's output blob from the local store (unless it is there already), then
    /// its signed entry. The blob first, so a reader that finds the entry finds what it names. A
    /// blob larger than [`PIECE`] goes up in pieces where the service takes them, verified as it
    /// is read (a corrupt local blob is aborted, never completed). Does nothing when this
    /// process does not write.
    pub fn upload(&self, key: &Digest, entry: &ActionEntry, store: &Store) -> Result<(), RemoteError> {
        let Some(signer) = self.opts.signer.as_ref().filter(|_| self.writes()) else { return Ok(()) };
        let (d, size) = (entry.output, entry.size);
        if !self.has_blob(&d, size)? {
            let local = |e: String| RemoteError::Rejected(format!("local blob {}: {e}; not uploaded", d.short()));
            let path = blob_path(&d);
            if size <= PIECE || !self.op.info().full_capability().write_can_multi {
                let bytes = store.read(&d).map_err(|e| local(e.to_string()))?;
                self.call("uploading a blob", self.op.write(&path, bytes))?;
            } else {
                self.upload_in_pieces(&d, &path, store).map_err(|e| e.unwrap_or_else(local))?;
            }
            self.counters.blobs_uploaded.fetch_add(1, Ordering::Relaxed);
            self.counters.bytes_uploaded.fetch_add(size as usize, Ordering::Relaxed);
        }
        let payload = String::from_utf8(canonical_json(&RemoteAction { key: *key, entry: entry.clone() }))
            .map_err(|e| RemoteError::Rejected(e.to_string()))?;
        let env = Envelope {
            format: FORMAT.into(),
            signature: signing::sign(signer, payload.as_bytes()),
            signer: signing::public_hex(signer),
            payload,
        };
        let bytes = serde_json::to_vec(&env).map_err(|e| RemoteError::Rejected(e.to_string()))?;
        self.call("uploading an action entry", self.op.write(&action_path(key), bytes))?;
        self.counters.entries_uploaded.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// The local blob `d` written to `path` a piece at a time, hashed as it is read; a blob that
    /// does not hash to its name is aborted (`Err(Err(why))`); a transport error is `Err(Ok(_))`.
    fn upload_in_pieces(&self, d: &Digest, path: &str, store: &Store) -> Result<(), Result<RemoteError, String>> {
        let mut file = std::fs::File::open(store.named_path(d)).map_err(|e| Err(e.to_string()))?;
        let Some(mut writer) = self.call("uploading a blob", self.op.writer(path)).map_err(Ok)? else {
            return Err(Ok(RemoteError::Unavailable("uploading a blob: the remote refused a writer".into())));
        };
        let mut hasher = blake3::Hasher::new();
        loop {
            let mut piece = Vec::with_capacity(PIECE as usize);
            let n = std::io::Read::take(&mut file, PIECE).read_to_end(&mut piece).map_err(|e| Err(e.to_string()))?;
            if n == 0 {
                break;
            }
            hasher.update(&piece);
            self.call("uploading a blob", writer.write(piece)).map_err(Ok)?;
        }
        let actual = Digest(*hasher.finalize().as_bytes());
        if actual != *d {
            let _ = self.call("aborting an upload", writer.abort());
            return Err(Err(format!("its bytes hash to {}", actual.short())));
        }
        self.call("uploading a blob", writer.close()).map_err(Ok)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fs_remote(root: &std::path::Path) -> Remote {
        let (secret, public) = signing::generate().unwrap();
        let signer = signing::parse_secret_key(&secret).unwrap();
        Remote::open(RemoteOptions {
            url: RemoteUrl::parse(&format!("file://{}", root.display())).unwrap(),
            endpoint: None,
            region: None,
            timeout: Duration::from_secs(30),
            trusted: vec![signing::parse_public_key(&public).unwrap()],
            signer: Some(signer),
            read_only: false,
            shard_wait: Duration::ZERO,
        })
        .unwrap()
    }

    fn entry_for(store: &Store, bytes: &[u8]) -> (Digest, ActionEntry) {
        let output = store.put(bytes).unwrap();
        let entry = ActionEntry {
            desc: serde_json::json!({}),
            output,
            size: bytes.len() as u64,
            inputs: Vec::new(),
            parts: Vec::new(),
        };
        (Digest::of(b"key"), entry)
    }

    #[test]
    fn a_large_blob_travels_in_pieces_verified() {
        let dir = tempfile::tempdir().unwrap();
        let remote = fs_remote(&dir.path().join("remote"));
        let ci = Store::open(&dir.path().join("ci")).unwrap();
        // Two and a half pieces.
        let bytes: Vec<u8> = (0..(PIECE * 5 / 2) as u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
        let (key, entry) = entry_for(&ci, &bytes);
        remote.upload(&key, &entry, &ci).unwrap();
        let there = dir.path().join("remote").join(blob_path(&entry.output));
        assert_eq!(std::fs::read(&there).unwrap(), bytes);

        let cold = Store::open(&dir.path().join("cold")).unwrap();
        assert_eq!(remote.download_blob(&entry.output, Some(entry.size), &cold).unwrap(), Some(entry.size));
        assert_eq!(cold.read(&entry.output).unwrap(), bytes);
        let no_size = Store::open(&dir.path().join("no_size")).unwrap();
        assert_eq!(remote.download_blob(&entry.output, None, &no_size).unwrap(), Some(entry.size));
        assert_eq!(no_size.read(&entry.output).unwrap(), bytes);

        // A remote blob altered in its last piece is rejected and not stored.
        let mut bad = bytes.clone();
        *bad.last_mut().unwrap() ^= 1;
        std::fs::write(&there, &bad).unwrap();
        let fresh = Store::open(&dir.path().join("fresh")).unwrap();
        match remote.download_blob(&entry.output, Some(entry.size), &fresh) {
            Err(RemoteError::Rejected(m)) => assert!(m.contains("corrupt or truncated"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(!fresh.has(&entry.output, entry.size));
        // Cut short, it is rejected before it is read.
        std::fs::write(&there, &bytes[..bytes.len() - 10]).unwrap();
        match remote.download_blob(&entry.output, Some(entry.size), &fresh) {
            Err(RemoteError::Rejected(m)) => assert!(m.contains("its entry says"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(remote.unavailable().is_none());
    }

    #[test]
    fn a_corrupt_local_blob_is_never_uploaded() {
        let dir = tempfile::tempdir().unwrap();
        let remote = fs_remote(&dir.path().join("remote"));
        let ci = Store::open(&dir.path().join("ci")).unwrap();
        for len in [1_000u64, PIECE * 2 + 5] {
            let bytes = vec![3u8; len as usize];
            let (key, entry) = entry_for(&ci, &bytes);
            let mut bad = bytes.clone();
            bad[len as usize / 2] = 4;
            std::fs::write(ci.blob_path(&entry.output), &bad).unwrap();
            match remote.upload(&key, &entry, &ci) {
                Err(RemoteError::Rejected(m)) => assert!(m.contains("not uploaded"), "{len}: {m}"),
                other => panic!("{len}: {other:?}"),
            }
            assert!(!remote.has_blob(&entry.output, len).unwrap(), "{len}");
            assert!(remote.action(&key).unwrap().is_none(), "{len}");
        }
    }
}
