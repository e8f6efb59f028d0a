//! Remote cache benchmark: the demo rendered cold with no cache, the same with a warm remote
//! (a cold CI machine), and the cost of filling the remote; then the per-artifact overhead of
//! a remote hit over a local one on a project of many small artifacts. Remotes: a shared folder,
//! and SeaweedFS's S3 gateway on loopback when its binary is found (as the tests find it).
//!
//! Run: `cargo bench --bench remote`. Numbers go in the README.
#![allow(clippy::print_stdout, clippy::print_stderr)] // reports measurements

mod common;
#[path = "../tests/common/servers.rs"]
mod servers;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ntsbuild");

/// A fresh copy of the demo project with `[cache.remote]` appended.
fn demo(remote: &str) -> tempfile::TempDir {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(repo.join("Project.toml"), dir.path().join("Project.toml")).unwrap();
    for d in ["recipes", "models", "audio", "producers"] {
        common::copy_dir(&repo.join(d), &dir.path().join(d));
    }
    append(dir.path(), remote);
    dir
}

/// A project of `kits` kits (4 small artifacts each).
fn kits(kits: usize, remote: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("recipes")).unwrap();
    std::fs::write(dir.path().join("Project.toml"), "[project]\nname = \"bench\"\n").unwrap();
    let mut text = String::new();
    for i in 0..kits {
        text.push_str(&format!(
            "[kit.k{i:04}.kick]\nseed = {i}\n[kit.k{i:04}.snare]\nseed = {i}\n[kit.k{i:04}.hat]\nseed = {i}\n"
        ));
    }
    std::fs::write(dir.path().join("recipes/kits.toml"), text).unwrap();
    append(dir.path(), remote);
    dir
}

fn append(dir: &Path, remote: &str) {
    let text = std::fs::read_to_string(dir.join("Project.toml")).unwrap();
    std::fs::write(dir.join("Project.toml"), format!("{text}\n{remote}")).unwrap();
}

/// One render; (seconds, summary line).
fn render(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> (Duration, String) {
    let t = Instant::now();
    let out = Command::new(BIN)
        .arg("-p")
        .arg(dir)
        .args(["render", "-q"])
        .args(extra)
        .env_remove("NTSBUILD_SIGNING_KEY")
        .env_remove("NTSBUILD_REMOTE")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let elapsed = t.elapsed();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // A warning (the remote unavailable) would make the numbers meaningless: say it.
    for line in String::from_utf8_lossy(&out.stderr).lines().filter(|l| l.starts_with("warning")) {
        eprintln!("  {line}");
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    (elapsed, stdout.lines().last().unwrap_or_default().to_string())
}

fn keygen() -> (String, String) {
    let out = Command::new(BIN).args(["cache", "keygen"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let secret = lines.next().unwrap().trim_start_matches("NTSBUILD_SIGNING_KEY=").to_string();
    let public = lines.next().unwrap().trim_start_matches("trusted_keys = [\"").trim_end_matches("\"]").to_string();
    (secret, public)
}

fn bench(name: &str, url: &str, settings: &str, env: &[(&str, &str)]) {
    let (secret, public) = keygen();
    let remote = format!("[cache.remote]\nurl = \"{url}\"\ntrusted_keys = [\"{public}\"]\n{settings}");
    let mut writer = env.to_vec();
    writer.push(("NTSBUILD_SIGNING_KEY", &secret));

    // The demo: cold everything, filling the remote, cold local + warm remote.
    let (cold, _) = render(demo("").path(), &[], &[]);
    let (fill, _) = render(demo(&remote).path(), &[], &writer);
    let (warm, summary) = render(demo(&remote).path(), &[], env);
    println!("{name}: demo cold, no cache          {:7.2} s", cold.as_secs_f64());
    println!("{name}: demo cold, filling the remote {:7.2} s ({:+.1} %)", fill.as_secs_f64(), pct(fill, cold));
    println!(
        "{name}: demo cold local, warm remote   {:7.2} s ({:.1}× faster than cold)   [{summary}]",
        warm.as_secs_f64(),
        cold.as_secs_f64() / warm.as_secs_f64()
    );

    // Per-artifact overhead: 100 kits (400 artifacts) restored from a copied local store vs
    // downloaded from the remote.
    let n = 100;
    let filled = kits(n, &remote);
    render(filled.path(), &[], &writer);
    let local = kits(n, &remote);
    common::copy_dir(&filled.path().join("cache"), &local.path().join("cache"));
    let _ = std::fs::remove_file(local.path().join("cache/stat.json"));
    let (local_hit, _) = render(local.path(), &["--no-remote"], &[]);
    let (remote_hit, summary) = render(kits(n, &remote).path(), &[], env);
    let per = (remote_hit.as_secs_f64() - local_hit.as_secs_f64()) / (4 * n) as f64 * 1000.0;
    println!(
        "{name}: {} artifacts from the local store {:.2} s, from the remote {:.2} s: {per:.2} ms more per artifact   [{summary}]",
        4 * n,
        local_hit.as_secs_f64(),
        remote_hit.as_secs_f64()
    );
}

fn pct(a: Duration, b: Duration) -> f64 {
    (a.as_secs_f64() / b.as_secs_f64() - 1.0) * 100.0
}

fn main() {
    // NTSBUILD_BENCH_REMOTES=file,s3 (the default) picks which remotes to measure.
    let which = std::env::var("NTSBUILD_BENCH_REMOTES").unwrap_or_else(|_| "file,s3".into());
    let folder = tempfile::tempdir().unwrap();
    if which.split(',').any(|w| w == "file") {
        bench("file", &format!("file://{}", folder.path().display()), "", &[]);
    }
    if !which.split(',').any(|w| w == "s3") {
        return;
    }
    match servers::seaweedfs() {
        Some(server) => {
            let settings = format!("endpoint = \"http://127.0.0.1:{}\"\nregion = \"us-east-1\"\n", server.port);
            let env = [("AWS_ACCESS_KEY_ID", servers::S3_WRITER.0), ("AWS_SECRET_ACCESS_KEY", servers::S3_WRITER.1)];
            bench("s3 (SeaweedFS, loopback)", &format!("s3://{}/bench", servers::S3_BUCKET), &settings, &env);
        }
        None => println!("s3: skipped (no weed binary; .ci/run installs it into target/test-servers)"),
    }
}
