//! Hard stops: `render` killed with SIGKILL at seeded random moments, a disk that fills up
//! during a write, and two renders sharing one store. After each, the next `render` must finish,
//! `audit` must pass, every output must equal a clean build's bytes, and no temp file may be left.
//!
//! `NTSBUILD_KILLS` sets the number of kills (default 100), `NTSBUILD_KILL_SEED` the seed
//! (default fixed; `random` picks one and prints it). A failure prints the kill, its moment and
//! the seed.
#![allow(clippy::print_stderr)] // prints the seed

mod common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::Project;
use ntsbuild::dsp::rng::Rng;
use ntsbuild::store::fsutil::is_temp_name;

/// Kit settings the soak moves between: each changes the kick, the kit, the song and the
/// album's whole video.
const STATES: [&str; 3] = ["punch_decay = 0.45\n", "punch_decay = 0.52\n", "punch_decay = 0.6\n"];

fn kills() -> usize {
    std::env::var("NTSBUILD_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(100)
}

fn seed() -> u64 {
    match std::env::var("NTSBUILD_KILL_SEED").ok().as_deref() {
        Some("random") => {
            let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
            eprintln!("NTSBUILD_KILL_SEED={seed}");
            seed
        }
        Some(s) => s.parse().expect("NTSBUILD_KILL_SEED: a number or `random`"),
        None => 20_261_203,
    }
}

/// The demo (kit, song, album with a light video) in state `s`.
fn set_state(p: &Project, s: usize) {
    let text = p.read("recipes/kit.toml");
    let current = STATES.iter().find(|st| text.contains(**st)).expect("a known state");
    p.write("recipes/kit.toml", &text.replace(current, STATES[s]));
}

/// Files whose names are temp files of an interrupted write, anywhere in the project.
fn temp_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(temp_files(&path));
        } else if e.file_name().to_str().is_some_and(is_temp_name) {
            out.push(path.display().to_string());
        }
    }
    out
}

/// Per state, a clean build's outputs and lock by digest; and how long the first build took.
type References = (Vec<Vec<(String, String)>>, Duration);

/// What a clean build of each state gives (outputs and lock, by digest), and how long the
/// first took. Built once and shared by the tests of this file.
fn references() -> &'static References {
    static REFS: OnceLock<References> = OnceLock::new();
    REFS.get_or_init(|| {
        let mut cold = Duration::ZERO;
        let outputs = (0..STATES.len())
            .map(|s| {
                let p = Project::demo();
                set_state(&p, s);
                let t = Instant::now();
                let r = p.render(&["-j2"]);
                if s == 0 {
                    cold = t.elapsed();
                }
                assert_eq!(r.code, 0, "{}", r.stderr);
                p.outputs()
            })
            .collect();
        (outputs, cold)
    })
}

/// After an interrupted render: the next render finishes, `audit` passes, the outputs are a
/// clean build's, and nothing temporary is left.
fn check_recovers(p: &Project, want: &[(String, String)], what: &str) {
    let r = p.render(&["-j2"]);
    assert_eq!(r.code, 0, "{what}: the next render failed:\n{}", r.stderr);
    let audit = p.run(&["audit"]);
    assert_eq!(audit.code, 0, "{what}: audit failed:\n{}{}", audit.stdout, audit.stderr);
    assert_eq!(p.outputs(), want, "{what}: outputs differ from a clean build's");
    let left = temp_files(p.path());
    assert!(left.is_empty(), "{what}: temp files left behind: {left:?}");
}

#[test]
fn a_render_killed_at_random_moments_never_leaves_a_wrong_byte() {
    let (want, cold) = references();
    let seed = seed();
    let mut rng = Rng::new(seed);
    let p = Project::demo();
    // Kill moments are uniform over 1.1× the time a cold render takes. That time was measured
    // while other tests ran; when a kill finds a cold render already finished, the estimate
    // shrinks, so the kills keep landing in real work whatever the machine's load.
    let mut span = cold.as_secs_f64() * 1.1;
    let mut interrupted = 0;
    for kill in 0..kills() {
        let s = (rng.next_u64() % STATES.len() as u64) as usize;
        set_state(&p, s);
        // Mostly from an empty store, so the kill lands in real work (decoding, encoding,
        // writing blobs, action entries, outputs, the lock); otherwise in restoring.
        let wiped = rng.uniform() < 0.7;
        if wiped {
            let _ = std::fs::remove_dir_all(p.path().join("cache"));
        }
        let at = Duration::from_secs_f64(rng.range(0.0, span));
        let mut child = p.cmd(&["render", "-j2", "-q"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        std::thread::sleep(at);
        if child.try_wait().unwrap().is_none() {
            interrupted += 1;
        } else if wiped {
            span = span.min(at.as_secs_f64() * 1.1);
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        check_recovers(&p, &want[s], &format!("kill {kill} at {at:?} (state {s}, seed {seed})"));
    }
    eprintln!("{interrupted} of {} kills interrupted a running render", kills());
    assert!(interrupted * 3 >= kills(), "most kills should land while the render runs ({interrupted})");
}

#[test]
fn a_disk_that_fills_up_fails_the_render_cleanly() {
    let (want, _) = references();
    let p = Project::demo();
    // Full early (the first blobs), then later on a rebuild of another state (the song is 5 MB).
    for (limit, state) in [(64 * 1024, 0), (2 * 1024 * 1024, 1)] {
        set_state(&p, state);
        let mut cmd = p.cmd(&["render", "-j2"]);
        // SAFETY: between fork and exec only async-signal-safe calls: `setrlimit` caps the size
        // of any file this process writes, and ignoring SIGXFSZ turns an over-limit write into
        // an `EFBIG` error instead of killing the process.
        unsafe {
            cmd.pre_exec(move || {
                let rl = libc::rlimit { rlim_cur: limit, rlim_max: limit };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &rl) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                Ok(())
            });
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "limit {limit}: {stderr}");
        assert!(stderr.contains("File too large"), "limit {limit}: the error should say why:\n{stderr}");
        // What was recorded is whole: audit finds nothing wrong before the space comes back.
        let audit = p.run(&["audit"]);
        assert_eq!(audit.code, 0, "limit {limit}: {}{}", audit.stdout, audit.stderr);
        check_recovers(&p, &want[state], &format!("file size limit {limit}"));
    }
}

#[test]
fn two_renders_of_different_targets_share_one_store() {
    let (want, _) = references();
    let p = Project::demo();
    let spawn = |target: &str| p.cmd(&["render", "-j1", target]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn();
    let kit = spawn("kit.demo").unwrap();
    let album = spawn("album.demo").unwrap();
    for (name, child) in [("kit.demo", kit), ("album.demo", album)] {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    }
    // Everything either render made is in the store and the lock: the rest is the song's
    // loudness files only.
    let r = p.render(&["-j2"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let built: Vec<String> = r.statuses().into_iter().filter(|(_, s)| s == "built").map(|(id, _)| id).collect();
    assert!(built.iter().all(|id| id.starts_with("song.demo/loudness")), "{built:?}");
    check_recovers(&p, &want[0], "two concurrent renders");
}

/// Sizes beyond what the encoder takes are recipe errors naming the limit, found before
/// anything is built (not after minutes of decoding).
#[test]
fn absurd_sizes_are_rejected_at_validation_naming_the_limit() {
    let p = Project::demo();
    for size in ["4096", "[3840,3840]", "[8192,64]"] {
        let r = p.render(&["--set", &format!("album.demo.resolution={size}")]);
        assert_eq!(r.code, 2, "{size}: {}", r.stderr);
        assert!(
            r.stderr.contains("album.demo.resolution") && r.stderr.contains("3840") && r.stderr.contains("2160"),
            "{size}: {}",
            r.stderr
        );
        assert!(r.events().iter().all(|e| e["event"] != "artifact"), "{size}: nothing is built");
    }
    let r = p.render(&["--set", "album.demo.resolution=[3840,2160]", "--dry-run"]);
    assert_ne!(r.code, 2, "3840×2160 is allowed: {}", r.stderr);
}
