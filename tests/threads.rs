//! The thread budget and `watch`'s cancellation, seen from outside: `render -j1` keeps one core
//! busy at most, and an edit made while `watch` rebuilds a video shows up within seconds.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::Project;

/// Runs `cmd` and returns its exit code, its stderr and the CPU seconds it used (user + system),
/// its own children included. Measured for this one process with `wait4`, not with
/// `RUSAGE_CHILDREN`, which would also count the children other tests in this binary reap
/// meanwhile.
fn run_measured(mut cmd: std::process::Command) -> (i32, String, f64) {
    let err = tempfile::tempfile().unwrap();
    let child = cmd.stdout(Stdio::null()).stderr(err.try_clone().unwrap()).spawn().unwrap();
    let pid = child.id() as libc::pid_t;
    // SAFETY: `wait4` waits for our own child `pid` and writes its status and one `rusage` into
    // the zeroed values we own.
    let (status, usage) = unsafe {
        let mut status = 0;
        let mut u: libc::rusage = std::mem::zeroed();
        let r = libc::wait4(pid, &mut status, 0, &mut u);
        assert_eq!(r, pid, "wait4 failed");
        (status, u)
    };
    drop(child); // dropping a `Child` neither waits nor kills
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { -1 };
    let mut text = String::new();
    use std::io::{Read, Seek};
    let mut err = err;
    err.seek(std::io::SeekFrom::Start(0)).unwrap();
    err.read_to_string(&mut text).unwrap();
    (code, text, tv(usage.ru_utime) + tv(usage.ru_stime))
}

/// `-j1` bounds all the work of a render, video segments and data-parallel loops included: the
/// process never keeps more than one core busy (CPU time ≤ wall time, with a little slack for
/// the kernel's accounting).
#[test]
fn render_j1_keeps_one_core_busy_at_most() {
    let p = Project::demo();
    // Enough frames that parallel decoding or encoding would show.
    p.edit("recipes/album.toml", "segment_s = 1.0", "segment_s = 0.5");
    let t0 = Instant::now();
    let (code, stderr, cpu) = run_measured(p.cmd(&["render", "-j1"]));
    let wall = t0.elapsed().as_secs_f64();
    assert_eq!(code, 0, "{stderr}");
    assert!(cpu <= wall * 1.1 + 0.2, "render -j1 used {cpu:.2} s of CPU in {wall:.2} s of wall time");
}

/// An edit made while `watch` is decoding a video cancels what it invalidated and appears at
/// once, instead of after the stale video finishes: the edited kick is rebuilt before any video
/// is written.
#[test]
fn an_edit_during_a_video_rebuild_appears_before_the_stale_video_finishes() {
    let p = Project::demo_full();
    std::fs::remove_file(p.path().join("recipes/textures.toml")).unwrap();
    p.drop_arrangement();
    std::fs::remove_file(p.path().join("recipes/sidecars.toml")).unwrap();
    let mut child = p
        .cmd(&["watch", "-j2", "--message-format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                let _ = tx.send(v);
            }
        }
    });
    // Events up to the first that matches, or None when none came within `limit`.
    let wait_for = |what: &dyn Fn(&serde_json::Value) -> bool, limit: Duration| -> Option<Vec<serde_json::Value>> {
        let t0 = Instant::now();
        let mut seen = Vec::new();
        while t0.elapsed() < limit {
            if let Ok(v) = rx.recv_timeout(Duration::from_millis(50)) {
                let done = what(&v);
                seen.push(v);
                if done {
                    return Some(seen);
                }
            }
        }
        None
    };
    // The first decoded segment: the video is being rebuilt, with many segments to go.
    let decoding = |v: &serde_json::Value| v["id"].as_str().is_some_and(|id| id.contains("/decoded/"));
    let started = wait_for(&decoding, Duration::from_secs(600));
    assert!(started.is_some(), "watch never started decoding the video");
    p.edit("recipes/kit.toml", "punch_decay = 0.45", "punch_decay = 0.5");
    let kick = |v: &serde_json::Value| v["id"] == "kit.demo/kick.wav" && v["status"] == "built";
    let seen = wait_for(&kick, Duration::from_secs(300));
    let _ = child.kill();
    let _ = child.wait();
    let seen = seen.expect("the edited kick was not rebuilt within 300 s");
    // Finished artifacts only: progress events name the video they advance.
    let videos: Vec<&str> = seen
        .iter()
        .filter(|v| v["event"] == "artifact" && v["status"] == "built")
        .filter_map(|v| v["id"].as_str())
        .filter(|id| id.ends_with("video.mp4") || id.ends_with("album.mp4"))
        .collect();
    assert!(videos.is_empty(), "the stale video was finished before the edit appeared: {videos:?}");
}
