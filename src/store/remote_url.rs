//! Remote cache locations: the URL schemes `[cache.remote] url`, `--remote` and
//! `NTSBUILD_REMOTE` accept, parsed without I/O (validation and the remote tier share it).

use std::fmt;

/// The schemes a remote URL may use, for messages.
pub const SCHEMES: [&str; 8] = ["file", "s3", "webdav+http", "webdav+https", "http", "https", "redis", "ghac"];

/// Where a remote cache lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RemoteUrl {
    /// `file:///abs/path`: a shared file system (NFS, a mounted volume).
    Fs { root: String },
    /// `s3://bucket/prefix`: an S3-compatible bucket.
    S3 { bucket: String, prefix: String },
    /// `webdav+http(s)://host[:port]/path`.
    Webdav { endpoint: String, root: String },
    /// `http(s)://host[:port]/path`: any static HTTP server over a filled cache (read-only).
    Http { endpoint: String, root: String },
    /// `redis://host[:port][/prefix]` (`?db=N` picks the database).
    Redis { endpoint: String, root: String, db: i64 },
    /// `ghac://prefix`: the GitHub Actions cache (inside a workflow run).
    Ghac { root: String },
}

impl RemoteUrl {
    /// Parse `url`; the error says what is wrong and what is allowed.
    pub fn parse(url: &str) -> Result<RemoteUrl, String> {
        let url = url.trim();
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(format!(
                "`{url}` is not a URL; expected SCHEME://…, with SCHEME one of {}",
                SCHEMES.join(", ")
            ));
        };
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (host, path) = match rest.split_once('/') {
            Some((h, p)) => (h, p.trim_matches('/')),
            None => (rest, ""),
        };
        let need_host = |what: &str| -> Result<(), String> {
            if host.is_empty() || host.contains('@') {
                Err(format!("`{url}`: {what} (credentials come from the environment, never the URL)"))
            } else {
                Ok(())
            }
        };
        if !query.is_empty() && scheme != "redis" {
            return Err(format!("`{url}`: {scheme} URLs take no `?` options"));
        }
        let parsed = match scheme {
            "file" => {
                if !host.is_empty() || path.is_empty() {
                    return Err(format!(
                        "`{url}`: a file URL names an absolute directory, e.g. file:///srv/ntsbuild-cache"
                    ));
                }
                RemoteUrl::Fs { root: format!("/{path}") }
            }
            "s3" => {
                need_host("an s3 URL names a bucket, e.g. s3://my-bucket/ntsbuild")?;
                RemoteUrl::S3 { bucket: host.to_string(), prefix: path.to_string() }
            }
            "webdav+http" | "webdav+https" => {
                need_host("a WebDAV URL names a server, e.g. webdav+https://dav.example.com/cache")?;
                let proto = scheme.trim_start_matches("webdav+");
                RemoteUrl::Webdav { endpoint: format!("{proto}://{host}"), root: format!("/{path}") }
            }
            "http" | "https" => {
                need_host("an HTTP URL names a server, e.g. https://cache.example.com/ntsbuild")?;
                RemoteUrl::Http { endpoint: format!("{scheme}://{host}"), root: format!("/{path}") }
            }
            "redis" => {
                need_host("a Redis URL names a server, e.g. redis://127.0.0.1:6379")?;
                let mut db = 0;
                for opt in query.split('&').filter(|o| !o.is_empty()) {
                    match opt.split_once('=') {
                        Some(("db", n)) => {
                            db = n
                                .parse()
                                .ok()
                                .filter(|d| (0..=1024).contains(d))
                                .ok_or_else(|| format!("`{url}`: db={n} is not a database number (0 to 1024)"))?
                        }
                        _ => return Err(format!("`{url}`: unknown option `{opt}`; redis URLs take `?db=N`")),
                    }
                }
                RemoteUrl::Redis { endpoint: format!("redis://{host}"), root: format!("/{path}"), db }
            }
            "ghac" => RemoteUrl::Ghac { root: format!("/{}", rest.trim_matches('/')) },
            other => {
                let hint = crate::project::diagnostic::suggestion(other, SCHEMES.iter().copied());
                return Err(format!("`{url}`: unknown scheme `{other}`{hint}; allowed: {}", SCHEMES.join(", ")));
            }
        };
        Ok(parsed)
    }

    /// Whether this kind of remote can be written at all (plain HTTP is read-only).
    pub fn writable(&self) -> bool {
        !matches!(self, RemoteUrl::Http { .. })
    }

    pub fn scheme(&self) -> &'static str {
        match self {
            RemoteUrl::Fs { .. } => "file",
            RemoteUrl::S3 { .. } => "s3",
            RemoteUrl::Webdav { .. } => "webdav",
            RemoteUrl::Http { .. } => "http",
            RemoteUrl::Redis { .. } => "redis",
            RemoteUrl::Ghac { .. } => "ghac",
        }
    }
}

impl fmt::Display for RemoteUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemoteUrl::Fs { root } => write!(f, "file://{root}"),
            RemoteUrl::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
            RemoteUrl::Webdav { endpoint, root } => write!(f, "webdav+{endpoint}{root}"),
            RemoteUrl::Http { endpoint, root } => write!(f, "{endpoint}{root}"),
            RemoteUrl::Redis { endpoint, root, db } => write!(f, "{endpoint}{root}?db={db}"),
            RemoteUrl::Ghac { root } => write!(f, "ghac:/{root}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_scheme() {
        assert_eq!(RemoteUrl::parse("file:///srv/c").unwrap(), RemoteUrl::Fs { root: "/srv/c".into() });
        assert_eq!(
            RemoteUrl::parse("s3://b/ci/cache/").unwrap(),
            RemoteUrl::S3 { bucket: "b".into(), prefix: "ci/cache".into() }
        );
        assert_eq!(
            RemoteUrl::parse("webdav+http://127.0.0.1:8080/dav").unwrap(),
            RemoteUrl::Webdav { endpoint: "http://127.0.0.1:8080".into(), root: "/dav".into() }
        );
        assert!(!RemoteUrl::parse("https://h/x").unwrap().writable());
        assert_eq!(
            RemoteUrl::parse("redis://127.0.0.1:6379/p?db=3").unwrap(),
            RemoteUrl::Redis { endpoint: "redis://127.0.0.1:6379".into(), root: "/p".into(), db: 3 }
        );
        assert_eq!(RemoteUrl::parse("ghac://ntsbuild").unwrap(), RemoteUrl::Ghac { root: "/ntsbuild".into() });
    }

    #[test]
    fn rejects_with_what_is_allowed() {
        let e = RemoteUrl::parse("s4://bucket").unwrap_err();
        assert!(e.contains("did you mean `s3`") && e.contains("allowed: file, s3"), "{e}");
        assert!(RemoteUrl::parse("file://relative").unwrap_err().contains("absolute"));
        assert!(RemoteUrl::parse("s3://key:secret@bucket").unwrap_err().contains("environment"));
        assert!(RemoteUrl::parse("bucket").unwrap_err().contains("not a URL"));
    }
}
