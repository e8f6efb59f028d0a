//! Running one plug-in producer for one source: prepare the request, start the command in its
//! own process group with a clean environment, enforce the timeout and the answer's size cap,
//! keep the tail of stderr, and read the answer. See `docs/producers.md` for the contract.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use super::command::{PluginCommand, Substitutions, substitute};
use super::error::{PluginError, PluginFailure, tail_text};
use super::output::parse_output;
use crate::producers::audio::MonoSource;
use crate::producers::{Column, Grid};

/// Version of the request/answer contract, sent as `protocol`.
pub const PROTOCOL: u32 = 1;

/// `PATH` given to producers when ntsbuild itself has none.
const FALLBACK_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// How long to wait for the output pipes to close once the process group is gone.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// What a producer is asked for one source.
#[derive(Debug, Clone, Copy)]
pub struct PluginRequest<'a> {
    /// The source file (made absolute against `cwd` if relative).
    pub source_path: &'a Path,
    /// How errors name the source.
    pub source_name: &'a str,
    /// blake3 of the source file, passed on for the producer's own records.
    pub source_blake3: &'a str,
    /// `T`.
    pub frames: usize,
    /// The sidecar's grid.
    pub grid: &'a Grid,
    /// The producer's settings (declaration defaults with this use's values laid over).
    pub settings: &'a BTreeMap<String, Value>,
    /// The source's decoded mono audio, written once for every plug-in of that source that asks
    /// for it.
    pub audio: Option<&'a PluginAudio>,
}

/// A source's decoded mono audio written once as raw little-endian float32, a piece at a time
/// (a long source's mixdown is never held whole), for every plug-in of that source that asks
/// for it. The file is read-only and removed when this is dropped.
#[derive(Debug)]
pub struct PluginAudio {
    dir: tempfile::TempDir,
    rate_hz: u32,
    samples: usize,
}

impl PluginAudio {
    /// Writes `samples`, at `rate_hz`, to a file of its own.
    pub fn write(samples: &dyn MonoSource, rate_hz: u32) -> std::io::Result<Self> {
        let dir = tempfile::Builder::new().prefix("ntsbuild-audio-").tempdir()?;
        let audio = Self { dir, rate_hz, samples: samples.len() };
        write_f32le(&audio.path(), samples)?;
        std::fs::set_permissions(audio.path(), std::fs::Permissions::from_mode(0o444))?;
        Ok(audio)
    }

    /// Where the file is.
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("audio.f32")
    }
}

#[derive(Serialize)]
struct SourceJson<'a> {
    path: String,
    name: &'a str,
    blake3: &'a str,
}

#[derive(Serialize)]
struct AudioJson {
    path: String,
    format: &'static str,
    channels: u32,
    sample_rate_hz: u32,
    samples: usize,
}

#[derive(Serialize)]
struct RequestJson<'a> {
    protocol: u32,
    producer: &'a str,
    source: SourceJson<'a>,
    audio: Option<AudioJson>,
    #[serde(rename = "T")]
    frames: usize,
    fps: f64,
    grid: &'a Grid,
    settings: &'a BTreeMap<String, Value>,
    output: String,
}

/// Writes `samples` to `path` as raw little-endian f32, a piece at a time.
fn write_f32le(path: &Path, samples: &dyn MonoSource) -> std::io::Result<()> {
    const PIECE: usize = 1 << 16;
    let mut out = File::create(path)?;
    let mut piece = vec![0.0f32; PIECE];
    let mut bytes = Vec::with_capacity(PIECE * 4);
    for start in (0..samples.len()).step_by(PIECE) {
        let n = PIECE.min(samples.len() - start);
        samples.read(start, &mut piece[..n])?;
        bytes.clear();
        piece[..n].iter().for_each(|s| bytes.extend_from_slice(&s.to_le_bytes()));
        out.write_all(&bytes)?;
    }
    Ok(())
}

/// Runs `cmd` for one source in `cwd` (the project directory) and returns its columns, checked
/// (names, `T` values each, finite). Any failure — cannot start, non-zero exit or signal,
/// timeout, an answer over the cap, garbage, wrong lengths — is an error naming the producer
/// and the source with the tail of its stderr; nothing partial is returned.
pub fn run_plugin(cmd: &PluginCommand, req: &PluginRequest<'_>, cwd: &Path) -> Result<Vec<Column>, PluginError> {
    let fail = |failure, stderr: &[u8]| PluginError {
        producer: cmd.name.clone(),
        source: req.source_name.to_string(),
        failure,
        stderr_tail: tail_text(stderr),
    };
    let prepare = |e: std::io::Error| fail(PluginFailure::Prepare(e.to_string()), &[]);
    let dir = tempfile::Builder::new().prefix("ntsbuild-producer-").tempdir().map_err(prepare)?;
    let out_path = dir.path().join("answer");
    let request_path = dir.path().join("request.json");

    let audio = req.audio.map(|a| AudioJson {
        path: a.path().display().to_string(),
        format: "f32le",
        channels: 1,
        sample_rate_hz: a.rate_hz,
        samples: a.samples,
    });
    let audio_path = audio.as_ref().map(|a| a.path.clone());
    let source_path =
        if req.source_path.is_absolute() { req.source_path.to_path_buf() } else { cwd.join(req.source_path) };
    let request = RequestJson {
        protocol: PROTOCOL,
        producer: &cmd.name,
        source: SourceJson {
            path: source_path.display().to_string(),
            name: req.source_name,
            blake3: req.source_blake3,
        },
        audio,
        frames: req.frames,
        fps: req.grid.fps(),
        grid: req.grid,
        settings: req.settings,
        output: out_path.display().to_string(),
    };
    let request_bytes = serde_json::to_vec(&request).map_err(|e| fail(PluginFailure::Prepare(e.to_string()), &[]))?;
    std::fs::write(&request_path, &request_bytes).map_err(prepare)?;

    let mut subs = Substitutions::default();
    subs.values.insert("source", source_path.display().to_string());
    subs.values.insert("T", req.frames.to_string());
    subs.values.insert("fps", req.grid.fps().to_string());
    subs.values.insert("out", out_path.display().to_string());
    subs.values.insert("request", request_path.display().to_string());
    subs.values.insert("settings", serde_json::to_string(req.settings).unwrap_or_default());
    if let Some(p) = audio_path {
        subs.values.insert("audio", p);
    } else if cmd.argv.iter().any(|a| a.contains("{audio}")) {
        return Err(fail(PluginFailure::Prepare("its command uses {audio} but no audio was decoded".into()), &[]));
    }
    let argv: Vec<String> = cmd.argv.iter().map(|a| substitute(a, &subs)).collect();
    let Some((program, args)) = argv.split_first() else {
        return Err(fail(PluginFailure::Prepare("its command is empty".into()), &[]));
    };

    let stdin = File::open(&request_path).map_err(prepare)?;
    let path = std::env::var_os("PATH").unwrap_or_else(|| FALLBACK_PATH.into());
    let mut child = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", path)
        .envs(&cmd.env)
        .stdin(Stdio::from(stdin))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| fail(PluginFailure::Spawn { program: program.clone(), detail: e.to_string() }, &[]))?;
    let pgid = child.id() as i32;
    let over_cap = Arc::new(AtomicBool::new(false));

    let (tx, rx) = mpsc::channel::<(bool, Vec<u8>)>();
    if let Some(stdout) = child.stdout.take() {
        let (tx, over, cap) = (tx.clone(), over_cap.clone(), cmd.max_output_bytes);
        std::thread::spawn(move || {
            let _ = tx.send((true, read_capped(stdout, cap, &over, pgid)));
        });
    }
    if let Some(stderr) = child.stderr.take() {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let _ = tx.send((false, read_tail(stderr)));
        });
    }
    drop(tx);

    // A thread waits for the exit, so it is seen the moment it happens; this loop wakes between
    // times only to watch the answer file's size and the deadline.
    let (exit_tx, exit_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = exit_tx.send(child.wait().ok());
    });
    let deadline = Instant::now() + cmd.timeout;
    let mut poll = Duration::from_millis(1);
    let mut timed_out = false;
    let status = loop {
        match exit_rx.recv_timeout(poll.min(deadline.saturating_duration_since(Instant::now()))) {
            Ok(status) => break status,
            Err(mpsc::RecvTimeoutError::Disconnected) => break None,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        let file_len = std::fs::metadata(&out_path).map(|m| m.len()).unwrap_or(0);
        if file_len > cmd.max_output_bytes {
            over_cap.store(true, Ordering::SeqCst);
        }
        if over_cap.load(Ordering::SeqCst) || Instant::now() >= deadline {
            timed_out = !over_cap.load(Ordering::SeqCst);
            kill_group(pgid);
            break exit_rx.recv().ok().flatten();
        }
        poll = (poll * 2).min(Duration::from_millis(20));
    };
    // Whatever the command left running in its group goes too, so the pipes close.
    kill_group(pgid);

    let (mut stdout, mut stderr, mut drained) = (Vec::new(), Vec::new(), 0);
    let drain_deadline = Instant::now() + DRAIN_TIMEOUT;
    while drained < 2 {
        match rx.recv_timeout(drain_deadline.saturating_duration_since(Instant::now())) {
            Ok((true, bytes)) => stdout = bytes,
            Ok((false, bytes)) => stderr = bytes,
            Err(_) => break,
        }
        drained += 1;
    }
    if timed_out {
        return Err(fail(PluginFailure::Timeout(cmd.timeout), &stderr));
    }
    if over_cap.load(Ordering::SeqCst) {
        return Err(fail(PluginFailure::OutputTooLarge(cmd.max_output_bytes), &stderr));
    }
    match status {
        Some(s) if s.success() => {}
        Some(s) => {
            let how = match (s.code(), s.signal()) {
                (Some(code), _) => format!("status {code}"),
                (None, Some(sig)) => format!("signal {sig}"),
                _ => "an unknown status".to_string(),
            };
            return Err(fail(PluginFailure::Exit(how), &stderr));
        }
        None => return Err(fail(PluginFailure::Exit("a status that could not be read".into()), &stderr)),
    }
    if drained < 2 {
        return Err(fail(PluginFailure::Lingering, &stderr));
    }
    let answer = match std::fs::metadata(&out_path) {
        Ok(m) if m.len() > cmd.max_output_bytes => {
            return Err(fail(PluginFailure::OutputTooLarge(cmd.max_output_bytes), &stderr));
        }
        Ok(m) if m.len() > 0 => {
            std::fs::read(&out_path).map_err(|e| fail(PluginFailure::Prepare(e.to_string()), &stderr))?
        }
        _ => stdout,
    };
    if answer.is_empty() {
        return Err(fail(PluginFailure::Empty, &stderr));
    }
    parse_output(&answer, req.frames, &cmd.name, &cmd.columns).map_err(|f| fail(f, &stderr))
}

fn kill_group(pgid: i32) {
    if pgid > 0 {
        // SAFETY: sends a signal to the process group the command was started in; no memory is
        // involved. ESRCH (the group is already gone) is fine.
        unsafe {
            libc::killpg(pgid, libc::SIGKILL);
        }
    }
}

/// Reads all of `r`, stopping (and killing the group) once more than `cap` bytes arrived.
fn read_capped(mut r: impl Read, cap: u64, over: &AtomicBool, pgid: i32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                if out.len() as u64 > cap {
                    over.store(true, Ordering::SeqCst);
                    kill_group(pgid);
                    out.clear();
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    out
}

/// Reads all of `r`, keeping a bounded tail.
fn read_tail(mut r: impl Read) -> Vec<u8> {
    const KEEP: usize = 64 * 1024;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                if out.len() > 2 * KEEP {
                    out.drain(..out.len() - KEEP);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    out
}
