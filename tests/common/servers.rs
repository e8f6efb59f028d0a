//! Real storage servers for the remote-cache tests, started on loopback ports and stopped when
//! dropped: SeaweedFS (S3), wsgidav (WebDAV), redis-server. Each binary is found through an
//! environment variable, the virtual environment `.ci/run` makes (`target/test-servers`), or
//! `PATH`. A missing one skips the test with a message, except under CI (`CI` set), where it
//! fails: CI must run them all.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server process; killed (by its own pid) and reaped on drop.
pub struct Server {
    child: Option<Child>,
    /// How it was started, to start it again on the same data and ports.
    program: PathBuf,
    args: Vec<String>,
    pub port: u16,
    pub dir: tempfile::TempDir,
    /// Extra ports it owns (a SeaweedFS cluster listens on several).
    pub master_port: u16,
}

impl Server {
    /// Start it again (after [`Server::kill`]) on the same data and ports.
    pub fn restart(&mut self) {
        self.kill();
        let log = self.dir.path().join("restart.log");
        let mut child = spawn(Command::new(&self.program).args(&self.args), &log);
        wait_for_port(self.port, &mut child, "restarted server", &log);
        self.child = Some(child);
    }

    /// Kill it now (a server dying mid-request).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Find a server binary, or say why not. `None` means: skip this test (not under CI).
#[allow(clippy::print_stderr)] // a skipped test says why
pub fn find(var: &str, name: &str) -> Option<PathBuf> {
    let candidates = [
        std::env::var_os(var).map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-servers/bin").join(name)),
    ];
    if let Some(p) = candidates.into_iter().flatten().find(|p| p.is_file()) {
        return Some(p);
    }
    if let Some(p) =
        std::env::var_os("PATH").iter().flat_map(std::env::split_paths).map(|d| d.join(name)).find(|p| p.is_file())
    {
        return Some(p);
    }
    let message = format!(
        "{name} not found (set {var}, put it on PATH, or run .ci/run, which installs it into target/test-servers)"
    );
    if std::env::var_os("CI").is_some() {
        panic!("{message}");
    }
    eprintln!("skipping: {message}");
    None
}

/// A free loopback port (and, with `grpc`, one whose +10000 twin is free too: SeaweedFS's gRPC).
pub fn free_port(grpc: bool) -> u16 {
    for _ in 0..200 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        if !grpc {
            return port;
        }
        if port < 55_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
    panic!("no free port pair on loopback");
}

fn wait_for_port(port: u16, child: &mut Child, what: &str, log: &Path) {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(60) {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited ({status}) before listening: {}", std::fs::read_to_string(log).unwrap_or_default());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} did not listen on {port} within 60 s: {}", std::fs::read_to_string(log).unwrap_or_default());
}

fn spawn(cmd: &mut Command, log: &Path) -> Child {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent; it makes the
    // server die with the thread that started it, so a killed test run leaves no server behind.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let out = std::fs::File::create(log).unwrap();
    cmd.stdin(Stdio::null()).stdout(out.try_clone().unwrap()).stderr(out).spawn().unwrap()
}

/// Access keys of the S3 identities [`seaweedfs`] sets up.
pub const S3_WRITER: (&str, &str) = ("ntsbuild-writer", "ntsbuild-writer-secret");
pub const S3_READER: (&str, &str) = ("ntsbuild-reader", "ntsbuild-reader-secret");
pub const S3_BUCKET: &str = "ntsbuild";

/// A one-node SeaweedFS cluster with its S3 gateway on `port`, bucket [`S3_BUCKET`], a writer
/// identity and a read-only one.
pub fn seaweedfs() -> Option<Server> {
    let weed = find("NTSBUILD_TEST_WEED", "weed")?;
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"{{"identities":[
          {{"name":"writer","credentials":[{{"accessKey":"{}","secretKey":"{}"}}],"actions":["Admin","Read","List","Tagging","Write"]}},
          {{"name":"reader","credentials":[{{"accessKey":"{}","secretKey":"{}"}}],"actions":["Read","List"]}}]}}"#,
        S3_WRITER.0, S3_WRITER.1, S3_READER.0, S3_READER.1
    );
    std::fs::write(dir.path().join("s3.json"), config).unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let (master, volume, filer, s3) = (free_port(true), free_port(true), free_port(true), free_port(true));
    let log = dir.path().join("weed.log");
    let args: Vec<String> = vec![
        "server".into(),
        "-ip=127.0.0.1".into(),
        "-ip.bind=127.0.0.1".into(),
        format!("-dir={}", dir.path().join("data").display()),
        format!("-master.port={master}"),
        format!("-volume.port={volume}"),
        format!("-filer.port={filer}"),
        "-s3".into(),
        format!("-s3.port={s3}"),
        // Listeners on fixed ports by default: off, so that several clusters can run at once.
        "-s3.port.iceberg=0".into(),
        "-s3.port.lance=0".into(),
        format!("-s3.config={}", dir.path().join("s3.json").display()),
        // Small volumes and enough slots: SeaweedFS grows several volumes at once, and with the
        // defaults (30 GB volumes, slots from free disk) a full demo's uploads find no room.
        "-volume.max=64".into(),
        "-master.volumeSizeLimitMB=64".into(),
    ];
    let mut child = spawn(Command::new(&weed).args(&args), &log);
    wait_for_port(s3, &mut child, "weed server", &log);
    // The bucket, through SeaweedFS's own shell (it retries until the cluster is up).
    let t = Instant::now();
    loop {
        let mut shell = Command::new(&weed)
            .arg("shell")
            .arg(format!("-master=127.0.0.1:{master}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        shell.stdin.take().unwrap().write_all(format!("s3.bucket.create -name {S3_BUCKET}\n").as_bytes()).unwrap();
        let out = shell.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
        if text.contains("created bucket") || text.contains("already exist") {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(60), "creating the bucket: {text}");
        std::thread::sleep(Duration::from_millis(500));
    }
    Some(Server { child: Some(child), program: weed, args, port: s3, dir, master_port: master })
}

/// A WebDAV server (wsgidav) over a temp folder, without authentication.
pub fn wsgidav() -> Option<Server> {
    let bin = find("NTSBUILD_TEST_WSGIDAV", "wsgidav")?;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("root")).unwrap();
    let port = free_port(false);
    let log = dir.path().join("wsgidav.log");
    let args: Vec<String> = vec![
        "--host=127.0.0.1".into(),
        format!("--port={port}"),
        format!("--root={}", dir.path().join("root").display()),
        "--auth=anonymous".into(),
        "--no-config".into(),
        "-q".into(),
    ];
    let mut child = spawn(Command::new(&bin).args(&args), &log);
    wait_for_port(port, &mut child, "wsgidav", &log);
    Some(Server { child: Some(child), program: bin, args, port, dir, master_port: 0 })
}

/// A Redis server without persistence.
pub fn redis() -> Option<Server> {
    let bin = find("NTSBUILD_TEST_REDIS", "redis-server")?;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port(false);
    let log = dir.path().join("redis.log");
    let args: Vec<String> = vec![
        "--bind".into(),
        "127.0.0.1".into(),
        "--port".into(),
        port.to_string(),
        "--save".into(),
        String::new(),
        "--appendonly".into(),
        "no".into(),
        "--dir".into(),
        dir.path().display().to_string(),
    ];
    let mut child = spawn(Command::new(&bin).args(&args), &log);
    wait_for_port(port, &mut child, "redis-server", &log);
    Some(Server { child: Some(child), program: bin, args, port, dir, master_port: 0 })
}
