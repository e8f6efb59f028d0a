//! The remote cache against real storage: a shared folder, SeaweedFS's S3 gateway, a WebDAV
//! server and Redis, all started here on loopback (see `common/servers.rs`). What a CI machine
//! sees: a cold checkout at another path restores everything from a warm remote; nothing forged,
//! corrupt or signed by an unknown key is ever used; a remote that is down, slow or refuses
//! writes costs one warning and the build goes on locally.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::servers::{self, S3_BUCKET, S3_READER, S3_WRITER};
use common::{DEMO_ARTIFACTS, Project, Run};

/// A signing key pair from `ntsbuild cache keygen`: (secret, public).
fn keygen() -> (String, String) {
    let out = Command::new(common::BIN).args(["cache", "keygen"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let secret = lines[0].strip_prefix("NTSBUILD_SIGNING_KEY=").expect("first line sets the signing key");
    let public = lines[1].strip_prefix("trusted_keys = [\"").and_then(|l| l.strip_suffix("\"]")).expect("a TOML line");
    (secret.to_string(), public.to_string())
}

/// Add `[cache.remote]` to a project's Project.toml.
fn use_remote(p: &Project, url: &str, trusted: &[&str], extra: &str) {
    let keys: Vec<String> = trusted.iter().map(|k| format!("\"{k}\"")).collect();
    let text = p.read("Project.toml");
    p.write(
        "Project.toml",
        &format!("{text}\n[cache.remote]\nurl = \"{url}\"\ntrusted_keys = [{}]\n{extra}", keys.join(", ")),
    );
}

/// Run ntsbuild in `p` with a clean remote environment plus `env`.
fn run(p: &Project, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut c = p.cmd(args);
    for var in ["NTSBUILD_REMOTE", "NTSBUILD_SIGNING_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"]
    {
        c.env_remove(var);
    }
    c.envs(env.iter().copied());
    let o = c.output().unwrap();
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn render(p: &Project, ids: &[&str], env: &[(&str, &str)]) -> Run {
    let mut args = vec!["render", "--message-format", "json"];
    args.extend_from_slice(ids);
    run(p, &args, env)
}

fn warnings(r: &Run) -> Vec<String> {
    r.events().iter().filter(|e| e["event"] == "warning").map(|e| e["message"].as_str().unwrap().to_string()).collect()
}

fn artifact_warnings(r: &Run) -> Vec<String> {
    r.events()
        .iter()
        .filter(|e| e["event"] == "artifact")
        .flat_map(|e| e["warnings"].as_array().cloned().unwrap_or_default())
        .map(|w| w.as_str().unwrap().to_string())
        .collect()
}

/// Every file under `dir` with its bytes' blake3 (a remote's content).
fn tree(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().display().to_string();
                out.insert(rel, blake3::hash(&fs::read(&p).unwrap()).to_hex().to_string());
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

const KIT: [&str; 4] = ["kit.demo/hat.wav", "kit.demo/kick.wav", "kit.demo/kit.zip", "kit.demo/snare.wav"];

#[test]
fn keygen_prints_two_lines_ready_to_paste() {
    let (a, b) = (keygen(), keygen());
    assert_ne!(a, b, "every pair is new");
    for k in [&a.0, &a.1] {
        assert_eq!(k.len(), 64);
        assert!(k.chars().all(|c| c.is_ascii_hexdigit()));
    }
}

/// The whole demo through a shared folder: a CI machine fills it, a cold checkout at another path
/// (read-only, no signing key) restores everything and computes nothing; it writes nothing.
#[test]
fn fs_remote_serves_a_cold_checkout_at_another_path() {
    let remote = tempfile::tempdir().unwrap();
    let url = format!("file://{}", remote.path().display());
    let (secret, public) = keygen();
    let ci = Project::demo();
    use_remote(&ci, &url, &[&public], "");
    let first = render(&ci, &[], &[("NTSBUILD_SIGNING_KEY", &secret)]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.summary()["downloaded"], 0);
    let filled = tree(remote.path());
    assert!(filled.keys().any(|k| k.starts_with("v1/ac/")) && filled.keys().any(|k| k.starts_with("v1/cas/")));

    let cold = Project::demo();
    assert_ne!(cold.path(), ci.path());
    use_remote(&cold, &url, &[&public], "");
    let r = render(&cold, &[], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.summary()["built"], 0, "{}", r.stdout);
    assert_eq!(r.summary()["downloaded"], DEMO_ARTIFACTS.len(), "{}", r.stdout);
    assert!(r.statuses().values().all(|s| s == "downloaded"), "{:?}", r.statuses());
    assert_eq!(cold.outputs(), ci.outputs());
    assert_eq!(tree(remote.path()), filled, "a read-only run wrote to the remote");
    // And the next run is local.
    let again = render(&cold, &[], &[]);
    assert_eq!(again.summary()["fresh"], DEMO_ARTIFACTS.len());
}

/// Keys hold no machine paths: the local store copied into a checkout at another path serves it.
#[test]
fn a_local_store_serves_a_checkout_at_another_path() {
    let a = Project::demo();
    assert_eq!(render(&a, &[], &[]).code, 0);
    let b = Project::demo();
    common::copy_dir(&a.path().join("cache"), &b.path().join("cache"));
    fs::remove_file(b.path().join("cache/stat.json")).ok();
    let r = render(&b, &[], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.summary()["built"], 0, "{}", r.stdout);
    assert_eq!(b.outputs(), a.outputs());
}

/// Entries altered in the store, signed by an unknown key, or naming a corrupt blob are
/// ignored with a warning, and those artifacts are rebuilt locally, to the same bytes.
#[test]
fn forged_altered_and_corrupt_entries_are_ignored_and_rebuilt() {
    let remote = tempfile::tempdir().unwrap();
    let url = format!("file://{}", remote.path().display());
    let (secret, public) = keygen();
    let (rogue, _) = keygen();
    let ci = Project::demo();
    use_remote(&ci, &url, &[&public], "");
    assert_eq!(render(&ci, &["kit.demo"], &[("NTSBUILD_SIGNING_KEY", &secret)]).code, 0);
    let entry_of = |id: &str| -> std::path::PathBuf {
        let key = ci.render(&[id]).events()[0]["key"].as_str().unwrap().to_string();
        remote.path().join("v1/ac").join(key)
    };

    // kick.wav: the payload altered (another output digest), signature kept.
    let kick = entry_of("kit.demo/kick.wav");
    let snare = entry_of("kit.demo/snare.wav");
    let text = fs::read_to_string(&kick).unwrap();
    let env: serde_json::Value = serde_json::from_str(&text).unwrap();
    let payload = env["payload"].as_str().unwrap();
    let snare_env: serde_json::Value = serde_json::from_str(&fs::read_to_string(&snare).unwrap()).unwrap();
    let snare_out =
        serde_json::from_str::<serde_json::Value>(snare_env["payload"].as_str().unwrap()).unwrap()["output"]
            .as_str()
            .unwrap()
            .to_string();
    let kick_out = serde_json::from_str::<serde_json::Value>(payload).unwrap()["output"].as_str().unwrap().to_string();
    let mut forged = env.clone();
    forged["payload"] = payload.replace(&kick_out, &snare_out).into();
    fs::write(&kick, serde_json::to_vec(&forged).unwrap()).unwrap();

    // snare.wav: re-signed by a key the project does not trust (a writer with bucket access
    // but no trusted key), via a second filler whose key is not listed.
    let rogue_remote = tempfile::tempdir().unwrap();
    let rogue_url = format!("file://{}", rogue_remote.path().display());
    let rogue_ci = Project::demo();
    use_remote(&rogue_ci, &rogue_url, &[&public], "");
    let filled = render(&rogue_ci, &["kit.demo/snare.wav"], &[("NTSBUILD_SIGNING_KEY", &rogue)]);
    assert!(warnings(&filled).iter().any(|w| w.contains("not in [cache.remote] trusted_keys")), "{}", filled.stdout);
    let rogue_entry = fs::read(rogue_remote.path().join(snare.strip_prefix(remote.path()).unwrap())).unwrap();
    fs::write(&snare, rogue_entry).unwrap();

    // hat.wav: its blob truncated.
    let hat_entry: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(entry_of("kit.demo/hat.wav")).unwrap()).unwrap();
    let hat_out = serde_json::from_str::<serde_json::Value>(hat_entry["payload"].as_str().unwrap()).unwrap()["output"]
        .as_str()
        .unwrap()
        .to_string();
    let blob = remote.path().join("v1/cas").join(&hat_out[..2]).join(&hat_out);
    let bytes = fs::read(&blob).unwrap();
    fs::write(&blob, &bytes[..bytes.len() / 2]).unwrap();

    let cold = Project::demo();
    use_remote(&cold, &url, &[&public], "");
    let r = render(&cold, &["kit.demo"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let st = r.statuses();
    assert_eq!(st["kit.demo/kick.wav"], "built");
    assert_eq!(st["kit.demo/snare.wav"], "built");
    assert_eq!(st["kit.demo/hat.wav"], "built");
    assert_eq!(st["kit.demo/kit.zip"], "downloaded");
    let w = artifact_warnings(&r).join("\n");
    assert!(w.contains("fails its signature check"), "{w}");
    assert!(w.contains("not in [cache.remote] trusted_keys"), "{w}");
    assert!(w.contains("corrupt or truncated"), "{w}");
    for id in KIT {
        let rel = format!("renders/{}", id.replacen('.', "/", 1));
        assert_eq!(cold.bytes(&rel), ci.bytes(&rel), "{id}");
    }
}

/// Configuration mistakes name where they are and what is allowed (exit 2).
#[test]
fn remote_settings_are_checked() {
    let (_, public) = keygen();
    let p = Project::demo();
    use_remote(&p, "s4://bucket/x", &[&public], "timeout_s = 0\nregoin = \"x\"\n");
    let r = run(&p, &["render", "kit.demo"], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("Project.toml") && r.stderr.contains("cache.remote.url"), "{}", r.stderr);
    assert!(r.stderr.contains("did you mean `s3`"), "{}", r.stderr);
    assert!(r.stderr.contains("cache.remote.timeout_s: 0 is out of range"), "{}", r.stderr);
    assert!(r.stderr.contains("did you mean `region`"), "{}", r.stderr);

    let p = Project::demo();
    let r = run(&p, &["render", "kit.demo", "--remote", "file:///tmp/x"], &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("trusted_keys"), "{}", r.stderr);
    use_remote(&p, "file:///tmp/x", &[&public], "");
    let r = run(&p, &["render", "kit.demo"], &[("NTSBUILD_REMOTE", "ftp://host/x")]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("NTSBUILD_REMOTE") && r.stderr.contains("unknown scheme `ftp`"), "{}", r.stderr);
    let r = run(&p, &["render", "kit.demo"], &[("NTSBUILD_SIGNING_KEY", "not-a-key")]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("NTSBUILD_SIGNING_KEY is not a signing key") && !r.stderr.contains("not-a-key"));
    let r = run(&p, &["cache", "push"], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("NTSBUILD_SIGNING_KEY"), "{}", r.stderr);
}

/// A remote that accepts connections and never answers: the run finishes locally within the
/// time limit with one warning; `--remote-strict` makes it fail.
#[test]
fn a_hanging_remote_costs_one_timeout_and_one_warning() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accept and hold every connection, answering nothing.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming() {
            held.push(s);
        }
    });
    let (_, public) = keygen();
    let p = Project::demo();
    use_remote(&p, &format!("webdav+http://127.0.0.1:{port}/cache"), &[&public], "timeout_s = 1\n");
    let t = Instant::now();
    let r = render(&p, &["kit.demo", "song.demo"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(t.elapsed() < Duration::from_secs(120), "took {:?}", t.elapsed());
    assert_eq!(r.summary()["failed"], 0);
    assert_eq!(r.summary()["downloaded"], 0);
    let w = warnings(&r);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("unavailable") && w[0].contains("within 1.0 s"), "{w:?}");

    let p = Project::demo();
    use_remote(&p, &format!("webdav+http://127.0.0.1:{port}/cache"), &[&public], "timeout_s = 1\n");
    let r = run(&p, &["render", "kit.demo", "--remote-strict"], &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("--remote-strict"), "{}", r.stderr);
}

/// `cache status`, `cache push` and `cache pull` over a shared folder.
#[test]
fn cache_status_push_and_pull() {
    let remote = tempfile::tempdir().unwrap();
    let url = format!("file://{}", remote.path().display());
    let (secret, public) = keygen();
    let ci = Project::demo();
    use_remote(&ci, &url, &[&public], "");
    // Built without the remote, then pushed.
    assert_eq!(run(&ci, &["render", "kit.demo", "--no-remote"], &[]).code, 0);
    assert!(tree(remote.path()).is_empty());
    let status = run(&ci, &["cache", "status", "kit.demo", "--message-format", "json"], &[]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    let states: Vec<_> = status.events().iter().filter(|e| e["event"] == "cache").map(|e| e["state"].clone()).collect();
    assert_eq!(states, vec!["local"; 4]);
    let push = run(&ci, &["cache", "push", "kit.demo"], &[("NTSBUILD_SIGNING_KEY", &secret)]);
    assert_eq!(push.code, 0, "{}", push.stderr);
    assert!(push.stdout.contains("pushed 4 actions"), "{}", push.stdout);
    let again = run(&ci, &["cache", "push", "kit.demo"], &[("NTSBUILD_SIGNING_KEY", &secret)]);
    assert!(again.stdout.contains("pushed 0 actions") && again.stdout.contains("4 already there"), "{}", again.stdout);

    let cold = Project::demo();
    use_remote(&cold, &url, &[&public], "");
    let status = run(&cold, &["cache", "status", "--message-format", "json"], &[]);
    let by_id: BTreeMap<String, String> = status
        .events()
        .iter()
        .filter(|e| e["event"] == "cache")
        .map(|e| (e["id"].as_str().unwrap().to_string(), e["state"].as_str().unwrap().to_string()))
        .collect();
    for id in KIT {
        assert_eq!(by_id[id], "remote", "{id}");
    }
    assert_eq!(by_id["song.demo/song.wav"], "missing");
    assert_eq!(by_id["song.demo/loudness.csv"], "unknown");
    assert!(!cold.path().join("cache/actions").read_dir().unwrap().any(|_| true), "status downloaded something");
    let pull = run(&cold, &["cache", "pull", "kit.demo"], &[]);
    assert_eq!(pull.code, 0, "{}", pull.stderr);
    assert!(pull.stdout.contains("4 pulled from"), "{}", pull.stdout);
    // Pulled results are local: the render computes nothing and downloads nothing.
    let r = run(&cold, &["render", "kit.demo", "--no-remote", "--message-format", "json"], &[]);
    assert_eq!(r.summary()["built"], 0);
    assert_eq!(r.summary()["restored"], 4);
}

fn s3_env<'a>(who: (&'a str, &'a str)) -> Vec<(&'a str, &'a str)> {
    vec![("AWS_ACCESS_KEY_ID", who.0), ("AWS_SECRET_ACCESS_KEY", who.1)]
}

fn s3_project(server: &servers::Server, prefix: &str, public: &str) -> Project {
    let p = Project::demo();
    use_remote(
        &p,
        &format!("s3://{S3_BUCKET}/{prefix}"),
        &[public],
        &format!("endpoint = \"http://127.0.0.1:{}\"\nregion = \"us-east-1\"\ntimeout_s = 20\n", server.port),
    );
    p
}

/// SeaweedFS's S3 gateway: a CI machine fills it; a cold checkout restores the whole demo
/// (zero built); two writers race on the same keys; a read-only token that tries to write
/// gets one warning and the build still succeeds.
#[test]
fn s3_remote_serves_the_demo_and_survives_races_and_read_only_tokens() {
    let Some(server) = servers::seaweedfs() else { return };
    let (secret, public) = keygen();
    let mut writer = s3_env(S3_WRITER);
    writer.push(("NTSBUILD_SIGNING_KEY", &secret));

    // Two writers race on the same keys (same kit, two checkouts, at once).
    let (a, b) = (s3_project(&server, "race", &public), s3_project(&server, "race", &public));
    let (ra, rb) = std::thread::scope(|s| {
        let ha = s.spawn(|| render(&a, &["kit.demo"], &writer));
        let hb = s.spawn(|| render(&b, &["kit.demo"], &writer));
        (ha.join().unwrap(), hb.join().unwrap())
    });
    assert_eq!((ra.code, rb.code), (0, 0), "{}\n{}", ra.stderr, rb.stderr);
    assert!(warnings(&ra).is_empty() && warnings(&rb).is_empty(), "{}\n{}", ra.stdout, rb.stdout);
    let c = s3_project(&server, "race", &public);
    let r = render(&c, &["kit.demo"], &s3_env(S3_READER));
    assert_eq!(r.summary()["downloaded"], 4, "{}", r.stdout);
    for id in KIT {
        let rel = format!("renders/{}", id.replacen('.', "/", 1));
        assert_eq!(c.bytes(&rel), a.bytes(&rel), "{id}");
        assert_eq!(b.bytes(&rel), a.bytes(&rel), "{id}");
    }

    // The demo: filled once, restored by a cold checkout with the read-only identity.
    let ci = s3_project(&server, "demo", &public);
    let first = render(&ci, &[], &writer);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(warnings(&first).is_empty(), "{}", first.stdout);
    let cold = s3_project(&server, "demo", &public);
    let r = render(&cold, &[], &s3_env(S3_READER));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.summary()["built"], 0, "{}", r.stdout);
    assert_eq!(r.summary()["downloaded"], DEMO_ARTIFACTS.len());
    assert_eq!(cold.outputs(), ci.outputs());

    // A read-only token with a signing key: its uploads are refused; one warning, local build.
    let ro = s3_project(&server, "ro", &public);
    let mut env = s3_env(S3_READER);
    env.push(("NTSBUILD_SIGNING_KEY", &secret));
    let r = render(&ro, &["kit.demo"], &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.summary()["built"], 4);
    let w = warnings(&r);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("unavailable") && w[0].contains("ermission"), "{w:?}");
    let strict = s3_project(&server, "ro", &public);
    let r = run(&strict, &["render", "kit.demo", "--remote-strict"], &env);
    assert_eq!(r.code, 1, "{}", r.stderr);
    // Nothing reached the bucket under that prefix.
    let check = s3_project(&server, "ro", &public);
    let r = run(&check, &["cache", "status", "kit.demo", "--message-format", "json"], &s3_env(S3_READER));
    let states: Vec<_> = r.events().iter().filter(|e| e["event"] == "cache").map(|e| e["state"].clone()).collect();
    assert_eq!(states, ["missing", "missing", "missing", "unknown"], "{}", r.stdout);
}

/// `--shard 1/3`, `3/3`, `2/3` on three checkouts fill the remote with disjoint shares (each
/// video's segments split among them); a final run builds nothing. Shard 3 assembles the video:
/// it takes shard 1's segments from the remote, waits `shard_wait_s` for shard 2's (which has not
/// run yet) and then computes them itself; shard 2 then finds its share done.
#[test]
fn three_shards_then_a_final_run_that_builds_nothing() {
    let remote = tempfile::tempdir().unwrap();
    let url = format!("file://{}", remote.path().display());
    let (secret, public) = keygen();
    let mut built: Vec<BTreeMap<String, String>> = Vec::new();
    for k in [1, 3, 2] {
        let p = Project::demo();
        use_remote(&p, &url, &[&public], "shard_wait_s = 1\n");
        let r = render(&p, &["--shard", &format!("{k}/3")], &[("NTSBUILD_SIGNING_KEY", &secret)]);
        assert_eq!(r.code, 0, "shard {k}: {}", r.stderr);
        assert!(!p.path().join("renders").exists(), "a shard writes no outputs");
        built.push(r.all_statuses().into_iter().filter(|(_, s)| s == "built").collect());
    }
    // Segments are split: each decoded segment was built by exactly one shard.
    let decoded: Vec<Vec<&String>> =
        built.iter().map(|b| b.keys().filter(|id| id.contains("/decoded/")).collect()).collect();
    assert!(!decoded[0].is_empty() && !decoded[1].is_empty(), "{decoded:?}");
    let index = |id: &str| id.rsplit('/').next().unwrap().parse::<u32>().unwrap();
    assert!(decoded[0].iter().all(|id| index(id) % 3 == 0), "shard 1 built only its share: {decoded:?}");
    assert!(decoded[1].iter().any(|id| index(id) % 3 == 1), "shard 3 computed shard 2's share: {decoded:?}");
    for (i, a) in decoded.iter().enumerate() {
        for b in &decoded[i + 1..] {
            assert!(a.iter().all(|id| !b.contains(id)), "{a:?} and {b:?} overlap");
        }
    }
    let final_run = Project::demo();
    use_remote(&final_run, &url, &[&public], "");
    let r = render(&final_run, &[], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.summary()["built"], 0, "{}", r.stdout);
    assert_eq!(r.summary()["downloaded"], DEMO_ARTIFACTS.len());
    let bad = run(&final_run, &["render", "--shard", "4/3"], &[]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("K/N"), "{}", bad.stderr);
}

/// Fill a remote at `url` from one checkout (with the signing key), then restore from a cold
/// one reading `read_url` (the same store, maybe through another protocol).
fn fill_then_restore(url: &str, read_url: &str, ids: &[&str], expect: usize) {
    fill_then_restore_edited(url, read_url, ids, expect, &|_| {});
}

/// [`fill_then_restore`] of demo projects changed by `edit`.
fn fill_then_restore_edited(url: &str, read_url: &str, ids: &[&str], expect: usize, edit: &dyn Fn(&Project)) {
    let (secret, public) = keygen();
    let ci = Project::demo();
    edit(&ci);
    use_remote(&ci, url, &[&public], "timeout_s = 20\n");
    let first = render(&ci, ids, &[("NTSBUILD_SIGNING_KEY", &secret)]);
    assert_eq!(first.code, 0, "{url}: {}", first.stderr);
    assert!(warnings(&first).is_empty(), "{url}: {}", first.stdout);
    let cold = Project::demo();
    edit(&cold);
    use_remote(&cold, read_url, &[&public], "timeout_s = 20\n");
    let r = render(&cold, ids, &[]);
    assert_eq!(r.code, 0, "{read_url}: {}", r.stderr);
    assert!(warnings(&r).is_empty(), "{read_url}: {}", r.stdout);
    assert_eq!(r.summary()["built"], 0, "{read_url}: {}", r.stdout);
    assert_eq!(r.summary()["downloaded"], expect, "{read_url}: {}", r.stdout);
    assert_eq!(cold.outputs(), ci.outputs(), "{read_url}");
}

/// WebDAV (wsgidav), the same folder over plain HTTP (read-only), and Redis.
#[test]
fn webdav_http_and_redis_remotes_serve_a_cold_checkout() {
    let ids = ["kit.demo", "song.demo"];
    let expect = KIT.len() + 1 + common::SONG_LOUDNESS.len();
    if let Some(dav) = servers::wsgidav() {
        let dav_url = format!("webdav+http://127.0.0.1:{}/cache", dav.port);
        let http_url = format!("http://127.0.0.1:{}/cache", dav.port);
        fill_then_restore(&dav_url, &dav_url, &ids, expect);
        // Plain HTTP reads the same layout, and never writes, even with a signing key.
        let before = tree(dav.dir.path());
        let (secret, public) = keygen();
        let p = Project::demo();
        use_remote(&p, &http_url, &[&public], "");
        let r = render(&p, &["kit.demo"], &[("NTSBUILD_SIGNING_KEY", &secret)]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(warnings(&r).iter().any(|w| w.contains("read-only")), "{}", r.stdout);
        assert_eq!(r.summary()["built"], 4, "entries of another key are not trusted");
        assert_eq!(tree(dav.dir.path()).len(), before.len());
        fill_then_restore(&dav_url, &http_url, &["kit.demo"], KIT.len());
    }
    if let Some(redis) = servers::redis() {
        let url = format!("redis://127.0.0.1:{}/ntsbuild?db=2", redis.port);
        fill_then_restore(&url, &url, &ids, expect);
    }
}

/// A blob larger than a piece (8 MiB; a 128-second song) goes up and comes down in pieces on
/// the services that take them (S3, the file system) and whole on the others; a cold checkout
/// gets the same bytes everywhere.
#[test]
fn blobs_larger_than_a_piece_travel_on_every_service() {
    let long = |p: &Project| {
        p.write("recipes/song.toml", &p.read("recipes/song.toml").replace("bars = 8\n", "bars = 64\n"));
    };
    let ids = ["song.demo"];
    // The kit's three voices (not its zip), the song and its loudness files.
    let expect = 3 + 1 + common::SONG_LOUDNESS.len();
    let check = Project::demo();
    long(&check);
    assert_eq!(render(&check, &ids, &[]).code, 0);
    let size = check.bytes("renders/song/demo/song.wav").len() as u64;
    assert!(size > ntsbuild::store::remote::PIECE * 2, "{size} bytes: not over two pieces");

    let remote = tempfile::tempdir().unwrap();
    let url = format!("file://{}", remote.path().display());
    fill_then_restore_edited(&url, &url, &ids, expect, &long);
    if let Some(server) = servers::seaweedfs() {
        let (secret, public) = keygen();
        let mut writer = s3_env(S3_WRITER);
        writer.push(("NTSBUILD_SIGNING_KEY", &secret));
        let ci = s3_project(&server, "long", &public);
        long(&ci);
        let first = render(&ci, &ids, &writer);
        assert_eq!(first.code, 0, "{}", first.stderr);
        assert!(warnings(&first).is_empty(), "{}", first.stdout);
        let cold = s3_project(&server, "long", &public);
        long(&cold);
        let r = render(&cold, &ids, &s3_env(S3_READER));
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(r.summary()["downloaded"], expect, "{}", r.stdout);
        assert_eq!(cold.outputs(), ci.outputs());
    }
    if let Some(dav) = servers::wsgidav() {
        let dav_url = format!("webdav+http://127.0.0.1:{}/cache", dav.port);
        let http_url = format!("http://127.0.0.1:{}/cache", dav.port);
        fill_then_restore_edited(&dav_url, &http_url, &ids, expect, &long);
    }
    if let Some(redis) = servers::redis() {
        let url = format!("redis://127.0.0.1:{}/ntsbuild?db=3", redis.port);
        fill_then_restore_edited(&url, &url, &ids, expect, &long);
    }
}

/// The S3 server is killed while a writer uploads, then started again: the writer finishes
/// locally with one warning, and a cold reader gets only complete, verified results.
#[test]
fn s3_server_killed_mid_upload_serves_no_half_entry() {
    use std::io::BufRead;
    let Some(mut server) = servers::seaweedfs() else { return };
    let (secret, public) = keygen();
    let ci = s3_project(&server, "killed", &public);
    let mut cmd = ci.cmd(&["render", "--message-format", "json", "-j", "2"]);
    for var in ["NTSBUILD_REMOTE", "AWS_PROFILE"] {
        cmd.env_remove(var);
    }
    cmd.envs(s3_env(S3_WRITER)).env("NTSBUILD_SIGNING_KEY", &secret);
    let mut child = cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    // Kill the server once a few results are uploaded and more are in flight.
    for line in lines.by_ref() {
        let line = line.unwrap();
        let built = line.contains("\"status\":\"built\"");
        seen.push(line);
        if built && seen.iter().filter(|l| l.contains("\"status\":\"built\"")).count() == 6 {
            server.kill();
            break;
        }
    }
    seen.extend(lines.map(|l| l.unwrap()));
    let status = child.wait().unwrap();
    let writer = Run { code: status.code().unwrap_or(-1), stdout: seen.join("\n"), stderr: String::new() };
    assert_eq!(writer.code, 0, "{}", writer.stdout);
    assert_eq!(writer.summary()["failed"], 0);
    let w = warnings(&writer);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("unavailable"), "{w:?}");

    // Every artifact reported built was uploaded before its event was printed.
    let first = seen
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|e| e["event"] == "artifact" && e["status"] == "built" && e.get("output").is_some())
        .and_then(|e| e["id"].as_str().map(str::to_string))
        .expect("a built artifact before the kill");
    server.restart();
    let cold = s3_project(&server, "killed", &public);
    // Ready once it serves that entry: a restarted cluster answers look-ups ("not found")
    // before its filer and volumes are back.
    let t = Instant::now();
    loop {
        let st = run(&cold, &["cache", "status", &first, "--message-format", "json"], &s3_env(S3_READER));
        if st.code == 0 && st.stdout.contains("\"state\":\"remote\"") {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(90), "the restarted server never served {first}: {}", st.stdout);
        std::thread::sleep(Duration::from_millis(500));
    }
    let r = render(&cold, &[], &s3_env(S3_READER));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(warnings(&r).is_empty(), "{}", r.stdout);
    let downloaded = r.summary()["downloaded"].as_u64().unwrap();
    assert!(downloaded >= 1, "what was uploaded before the kill is served: {}", r.stdout);
    assert!(downloaded < DEMO_ARTIFACTS.len() as u64, "the kill came before the end: {}", r.stdout);
    assert_eq!(cold.outputs(), ci.outputs(), "every served result is complete");
}
