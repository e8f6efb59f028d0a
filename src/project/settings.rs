//! `Project.toml`: project-wide settings (name, output and cache dirs, sample rate, jobs).

use std::collections::BTreeMap;

use super::reader::TableReader;

pub const PROJECT_FILE: &str = "Project.toml";

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProjectSettings {
    pub name: String,
    /// Output directory, relative to the project (default `renders`).
    pub output_dir: String,
    /// Cache directory holding the store, relative to the project (default `cache`).
    pub cache_dir: String,
    pub sample_rate_hz: u32,
    /// Worker threads; 0 means one per core.
    pub jobs: usize,
    /// Models directory (decoder, anchors, `meta.json`), relative to the project (default `models`).
    pub models_dir: String,
    /// ONNX Runtime shared library to decode with (else `ORT_DYLIB_PATH`, else the built-in backend).
    pub onnxruntime: Option<String>,
    /// Declared input roots (`[project] inputs = { music = "/srv/music" }`): name → directory
    /// (absolute, or relative to the project). Recipes name their files `NAME:path`; they are
    /// read-only inputs, tracked by content, and keys hold only the name and the path inside.
    pub inputs: BTreeMap<String, String>,
    /// `[cache.remote]`: the shared remote cache, when the project declares one.
    pub remote: Option<RemoteSettings>,
}

/// `[cache.remote]` of `Project.toml`. Secrets are never read from here: the signing key and
/// storage credentials come from the environment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RemoteSettings {
    /// Where the cache lives (`s3://bucket/prefix`, `file:///path`, …); `None` when only the
    /// command line or `NTSBUILD_REMOTE` names it.
    pub url: Option<String>,
    /// Public keys (hex) whose signed action entries this project accepts.
    pub trusted_keys: Vec<String>,
    /// Limit on each remote request, in milliseconds.
    pub timeout_ms: u64,
    /// S3: the endpoint of an S3-compatible service (default AWS).
    pub endpoint: Option<String>,
    /// S3: the signing region (default `AWS_REGION`, else `us-east-1`).
    pub region: Option<String>,
    /// Never write, even with a signing key.
    pub read_only: bool,
    /// `render --shard`: how long the shard that assembles videos waits for the other shards'
    /// segments to land on the remote before computing the missing ones itself, in seconds.
    pub shard_wait_s: u64,
}

/// Default limit on one remote request.
pub const REMOTE_TIMEOUT_S: f64 = 30.0;

impl Default for RemoteSettings {
    fn default() -> Self {
        RemoteSettings {
            url: None,
            trusted_keys: Vec::new(),
            timeout_ms: (REMOTE_TIMEOUT_S * 1000.0) as u64,
            endpoint: None,
            region: None,
            read_only: false,
            shard_wait_s: 900,
        }
    }
}

impl Default for ProjectSettings {
    fn default() -> Self {
        ProjectSettings {
            name: "project".into(),
            output_dir: "renders".into(),
            cache_dir: "cache".into(),
            sample_rate_hz: 48_000,
            jobs: 0,
            models_dir: "models".into(),
            onnxruntime: None,
            inputs: BTreeMap::new(),
            remote: None,
        }
    }
}

pub const MIN_SAMPLE_RATE_HZ: i64 = 8_000;
pub const MAX_SAMPLE_RATE_HZ: i64 = 192_000;

/// Read the `[project]` table (`[preset.NAME]` tables are taken out before, see `video::presets`).
pub fn read(top: &TableReader<'_>) -> ProjectSettings {
    let d = ProjectSettings::default();
    let remote = read_cache(top);
    let Some(p) = top.table("project") else {
        if top.get("project").is_none() {
            top.error("project", "missing table `[project]` (with at least `name = \"…\"`)");
        }
        top.finish();
        return ProjectSettings { remote, ..d };
    };
    let s = ProjectSettings {
        name: p.string("name").unwrap_or(d.name),
        output_dir: p.string("output").unwrap_or(d.output_dir),
        cache_dir: p.string("cache").unwrap_or(d.cache_dir),
        sample_rate_hz: p.int("sample_rate", 48_000, MIN_SAMPLE_RATE_HZ, MAX_SAMPLE_RATE_HZ) as u32,
        jobs: p.int("jobs", 0, 0, 256) as usize,
        models_dir: p.string("models").unwrap_or(d.models_dir),
        onnxruntime: p.string("onnxruntime"),
        inputs: read_inputs(&p),
        remote,
    };
    for (key, value) in [("output", &s.output_dir), ("cache", &s.cache_dir), ("models", &s.models_dir)] {
        if let Err(e) = super::paths::check_relative(value)
            && p.get(key).is_some()
        {
            p.error(key, e);
        }
    }
    p.finish();
    top.finish();
    s
}

/// `[project] inputs`: each key a root name, each value its directory.
fn read_inputs(p: &TableReader<'_>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    // Not a table: reported by `table` (`expected a table, found …`).
    let Some(t) = p.table("inputs") else { return out };
    let names: Vec<String> = t.keys().cloned().collect();
    for name in names {
        let Some(dir) = t.string(&name) else { continue };
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            t.error(&name, "input root names use letters, digits, `_` and `-` (recipes write `NAME:path`)");
        } else if dir.is_empty() {
            t.error(&name, "the directory is empty");
        } else {
            out.insert(name, dir);
        }
    }
    t.finish();
    out
}

/// `[cache]`: only `[cache.remote]` for now.
fn read_cache(top: &TableReader<'_>) -> Option<RemoteSettings> {
    let cache = top.table("cache")?;
    let remote = cache.table("remote").map(|r| read_remote(&r));
    cache.finish();
    remote
}

fn read_remote(r: &TableReader<'_>) -> RemoteSettings {
    let d = RemoteSettings::default();
    let url = r.string("url");
    if let Some(u) = &url
        && let Err(e) = crate::store::remote_url::RemoteUrl::parse(u)
    {
        r.error("url", e);
    }
    let trusted_keys = super::sidecars::string_list(r, "trusted_keys").unwrap_or_default();
    for k in &trusted_keys {
        if let Err(e) = crate::store::signing::parse_public_key(k) {
            r.error("trusted_keys", e);
        }
    }
    let timeout_s = r.f64("timeout_s", REMOTE_TIMEOUT_S, 0.1, 3600.0, "s");
    let (endpoint, region) = (r.string("endpoint"), r.string("region"));
    for (key, v) in [("endpoint", &endpoint), ("region", &region)] {
        if v.as_deref().is_some_and(|v| v.trim().is_empty()) {
            r.error(key, "is empty");
        }
    }
    let s = RemoteSettings {
        url,
        trusted_keys,
        timeout_ms: (timeout_s * 1000.0).round() as u64,
        endpoint,
        region,
        read_only: r.bool("read_only", d.read_only),
        shard_wait_s: r.int("shard_wait_s", d.shard_wait_s as i64, 0, 86_400) as u64,
    };
    if let Some(e) = &s.endpoint
        && !(e.starts_with("http://") || e.starts_with("https://"))
    {
        r.error("endpoint", format!("`{e}` is not an http:// or https:// URL"));
    }
    let s3 = s.url.as_deref().is_some_and(|u| u.trim_start().starts_with("s3://"));
    for (key, set) in [("endpoint", s.endpoint.is_some()), ("region", s.region.is_some())] {
        if set && s.url.is_some() && !s3 {
            r.error(key, "only applies to s3:// remotes");
        }
    }
    r.finish();
    s
}
