//! Mutation fuzzing of every reader of outside bytes: recipes and `--set` values, WAV (strict
//! and lenient) and the symphonia containers, `.npy`/`.npz`, the lock file, sidecar pairs,
//! automation lanes and note patterns. Inputs are real files (the fixtures, the demo's recipes
//! and lock) mutated by seeded byte flips, splices, truncations and extreme header values.
//! Each case must end in a value or an error naming the input — never a panic — within a few
//! seconds.
//!
//! `NTSBUILD_FUZZ_CASES` sets the cases per target (default 200), `NTSBUILD_FUZZ_SECONDS` a time
//! box per target instead (as many cases as fit, at least the case count; `.ci/run` gives each
//! target 20 s and prints how many cases ran), `NTSBUILD_FUZZ_SEED` the base
//! seed (default fixed, so CI is repeatable; `random` picks one and prints it). A failure prints
//! the target, seed and case, and writes the input to `target/fuzz-failures/`. A soak:
//! `NTSBUILD_FUZZ_CASES=20000 NTSBUILD_FUZZ_SEED=random cargo test --release --test fuzz`.
#![allow(clippy::print_stderr)] // prints the seed of a failing case

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ntsbuild::dsp::rng::Rng;

/// Longer than any single parse of these small inputs could take unless it loops.
const CASE_LIMIT: Duration = Duration::from_secs(10);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cases() -> usize {
    std::env::var("NTSBUILD_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(200)
}

fn time_box() -> Option<Duration> {
    std::env::var("NTSBUILD_FUZZ_SECONDS").ok().and_then(|v| v.parse().ok()).map(Duration::from_secs_f64)
}

fn base_seed() -> u64 {
    match std::env::var("NTSBUILD_FUZZ_SEED").ok().as_deref() {
        Some("random") => {
            let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
            eprintln!("NTSBUILD_FUZZ_SEED={seed}");
            seed
        }
        Some(s) => s.parse().expect("NTSBUILD_FUZZ_SEED: a number or `random`"),
        None => 20_261_203,
    }
}

/// One mutation of `input`.
fn mutate(rng: &mut Rng, input: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut out = input.to_vec();
    let pick = |rng: &mut Rng, n: usize| (rng.next_u64() % n.max(1) as u64) as usize;
    for _ in 0..1 + pick(rng, 4) {
        match pick(rng, 7) {
            // Flip bits.
            0 if !out.is_empty() => {
                let i = pick(rng, out.len());
                out[i] ^= 1 << pick(rng, 8);
            }
            // A random byte anywhere, biased to the header.
            1 if !out.is_empty() => {
                let span = if rng.uniform() < 0.7 { out.len().min(64) } else { out.len() };
                let i = pick(rng, span);
                out[i] = rng.next_u64() as u8;
            }
            // An extreme 32-bit value (a length or count) at a header offset.
            2 if out.len() >= 4 => {
                let i = pick(rng, out.len().min(128) - 3);
                let v: u32 = [0, 1, 0x7fff_ffff, 0xffff_ffff, 0x8000_0000, 0xffff][pick(rng, 6)];
                out[i..i + 4].copy_from_slice(&v.to_le_bytes());
            }
            // Truncate.
            3 if !out.is_empty() => out.truncate(pick(rng, out.len())),
            // Splice in a piece of another input.
            4 => {
                let other = &corpus[pick(rng, corpus.len())];
                if !other.is_empty() {
                    let a = pick(rng, other.len());
                    let b = (a + 1 + pick(rng, 256)).min(other.len());
                    let at = pick(rng, out.len() + 1);
                    out.splice(at..at, other[a..b].iter().copied());
                }
            }
            // Duplicate a range (repeated chunks, nested tables).
            5 if !out.is_empty() => {
                let a = pick(rng, out.len());
                let b = (a + 1 + pick(rng, 64)).min(out.len());
                let piece = out[a..b].to_vec();
                out.splice(a..a, piece);
            }
            // Delete a range.
            _ if !out.is_empty() => {
                let a = pick(rng, out.len());
                let b = (a + 1 + pick(rng, 32)).min(out.len());
                out.drain(a..b);
            }
            _ => out.push(rng.next_u64() as u8),
        }
    }
    out
}

/// Runs `check` on `cases()` mutations of the seeds. `check` returns `Err` when the outcome is
/// wrong (an error that does not name the input); a panic or a case over [`CASE_LIMIT`] fails too.
fn fuzz(target: &str, seeds: Vec<Vec<u8>>, check: impl Fn(&[u8]) -> Result<(), String>) {
    fuzz_for(target, seeds, time_box(), check);
}

/// [`fuzz`] with an explicit time box (`None`: the case count alone).
fn fuzz_for(
    target: &str,
    seeds: Vec<Vec<u8>>,
    time_box: Option<Duration>,
    check: impl Fn(&[u8]) -> Result<(), String>,
) {
    assert!(!seeds.is_empty(), "{target}: no seed inputs");
    let seed = Rng::derive(base_seed(), target);
    let mut failures = Vec::new();
    let deadline = time_box.map(|d| Instant::now() + d);
    let mut ran = 0;
    for case in 0.. {
        let more = match deadline {
            Some(end) => case < cases() || Instant::now() < end,
            None => case < cases(),
        };
        if !more {
            break;
        }
        ran += 1;
        let mut rng = Rng::new(seed ^ case as u64);
        let input = mutate(&mut rng, &seeds[case % seeds.len()], &seeds);
        let t = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| check(&input)));
        let took = t.elapsed();
        let problem = match outcome {
            Err(panic) => Some(format!(
                "panicked: {}",
                panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("?")
            )),
            Ok(Err(e)) => Some(e),
            Ok(Ok(())) if took > CASE_LIMIT => Some(format!("took {took:?}")),
            Ok(Ok(())) => None,
        };
        if let Some(problem) = problem {
            let dir = repo().join("target/fuzz-failures");
            let _ = std::fs::create_dir_all(&dir);
            let file = dir.join(format!("{target}-{seed}-{case}.bin"));
            let _ = std::fs::write(&file, &input);
            eprintln!("{target}: case {case} (seed {seed}): {problem} — input in {}", file.display());
            failures.push(format!("case {case}: {problem}"));
        }
    }
    if deadline.is_some() {
        eprintln!("{target}: {ran} cases (seed {seed})");
    }
    assert!(failures.is_empty(), "{target}: {} failing cases (seed {seed}):\n{}", failures.len(), failures.join("\n"));
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn files(dir: &str, ext: &[&str]) -> Vec<Vec<u8>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(repo().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| ext.iter().any(|x| e == *x)))
        .collect();
    paths.sort();
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// An error message must name the input it is about.
fn names(message: &str, name: &str) -> Result<(), String> {
    if message.contains(name) { Ok(()) } else { Err(format!("the error does not name `{name}`: {message}")) }
}

#[test]
fn audio_readers() {
    let mut seeds = files(
        "tests/fixtures/audio",
        &["wav", "aiff", "aifc", "m4a", "mp4", "mka", "webm", "opus", "mp2", "au", "w64", "caf"],
    );
    seeds.extend(files("tests/fixtures/seed001", &["wav"]).into_iter().map(|mut w| {
        w.truncate(4096);
        w
    }));
    for (name, ext) in [
        ("fuzz.wav", "wav"),
        ("fuzz.aiff", "aiff"),
        ("fuzz.m4a", "m4a"),
        ("fuzz.flac", "flac"),
        ("fuzz.opus", "opus"),
        ("fuzz.webm", "webm"),
        ("fuzz.caf", "caf"),
        ("fuzz.au", "au"),
    ] {
        fuzz(&format!("decode_{ext}"), seeds.clone(), |bytes| {
            match ntsbuild::media::decode::decode_bytes(bytes, name) {
                Ok(d) if d.samples_mono.iter().any(|x| !x.is_finite()) => Err("non-finite samples".into()),
                Ok(_) => Ok(()),
                Err(e) => names(&e.to_string(), name),
            }
        });
    }
    fuzz("wav_strict", seeds, |bytes| {
        let _ = ntsbuild::media::wav::decode(bytes);
        Ok(())
    });
}

#[test]
fn npy_and_npz_readers() {
    let mut seeds = Vec::new();
    for dir in ["tests/fixtures/librosa", "tests/fixtures/librosa/resampled"] {
        seeds.extend(files(dir, &["npz"]).into_iter().filter(|b| b.len() < 200_000));
    }
    let shape = [3usize, 2];
    let npy = ntsbuild::media::npz::write_npy(
        "x",
        ntsbuild::media::npz::NpyView::F32 { shape: &shape, data: &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0] },
    )
    .unwrap();
    fuzz("npz", seeds.clone(), |bytes| match ntsbuild::media::npz::read_npz(bytes, "fuzz.npz") {
        Ok(_) => Ok(()),
        Err(e) => names(&e.to_string(), "fuzz.npz"),
    });
    fuzz("npy", vec![npy], |bytes| match ntsbuild::media::npz::read_npy(bytes, "fuzz.npy") {
        Ok(_) => Ok(()),
        Err(e) => names(&e.to_string(), "fuzz.npy"),
    });
}

fn recipe_seeds() -> Vec<Vec<u8>> {
    files("recipes", &["toml"])
}

#[test]
fn recipes_and_set_values() {
    let registry = ntsbuild::engine::flows::builtin();
    let kinds = registry.kinds();
    let project = String::from_utf8(read("Project.toml")).unwrap();
    fuzz("recipe", recipe_seeds(), |bytes| {
        let text = String::from_utf8_lossy(bytes).into_owned();
        let recipe = ntsbuild::project::config::SourceText { path: "recipes/fuzz.toml".into(), text };
        match ntsbuild::project::load(Some(&project), &[recipe], &[], &kinds) {
            Ok(_) => Ok(()),
            Err(d) => {
                let all = d.to_string();
                // Every problem names a file (this recipe, or Project.toml for a project key).
                d.0.iter().try_for_each(|x| {
                    if x.file.is_empty() { Err(format!("a problem without a file: {all}")) } else { Ok(()) }
                })
            }
        }
    });
    let recipes: Vec<_> = std::fs::read_dir(repo().join("recipes"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| ntsbuild::project::config::SourceText {
            path: format!("recipes/{}", p.file_name().unwrap().to_string_lossy()),
            text: std::fs::read_to_string(&p).unwrap(),
        })
        .collect();
    let sets: Vec<Vec<u8>> = [
        "kit.demo.kick.punch_decay=0.5",
        "song.demo.bpm=128",
        "album.demo.fps=24",
        "textures.demo.clouds.grains=10",
        "sidecars.demo.fps=50",
        "song.arrangement.instrument.bass.lowpass.cutoff_hz=900",
        "project.sample_rate=44100",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    fuzz("set", sets, |bytes| {
        let set = String::from_utf8_lossy(bytes).into_owned();
        match ntsbuild::project::load(Some(&project), &recipes, std::slice::from_ref(&set), &kinds) {
            Ok(_) => Ok(()),
            Err(d) if d.0.is_empty() => Err("an empty error".into()),
            Err(_) => Ok(()),
        }
    });
}

#[test]
fn lock_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ntsbuild.lock");
    let name = path.display().to_string();
    fuzz("lock", vec![read("ntsbuild.lock")], |bytes| {
        std::fs::write(&path, bytes).unwrap();
        match ntsbuild::store::LockFile::read(&path) {
            Ok(_) => Ok(()),
            Err(e) => names(&e.to_string(), &name),
        }
    });
}

/// Action-cache entries: a damaged entry is a miss (the work is done again), never a panic, and
/// never an output other than the one the entry names.
#[test]
fn action_cache_entries() {
    use ntsbuild::store::{ActionEntry, Digest, Store};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let key = Digest::of(b"the action");
    let seeds: Vec<Vec<u8>> = [("kit_voice", 2usize, 0usize), ("video", 3, 12), ("features", 1, 0)]
        .iter()
        .map(|&(query, inputs, parts)| {
            let blob = |i: usize| Digest::of(format!("{query}{i}").as_bytes());
            let entry = ActionEntry {
                desc: serde_json::json!({ "query": query, "version": 3, "params": { "fps": 30, "seed": 42 } }),
                output: blob(99),
                size: 123_456,
                inputs: (0..inputs).map(blob).collect(),
                parts: (0..parts).map(|i| blob(100 + i)).collect(),
            };
            store.put_action(&key, &entry).unwrap();
            std::fs::read(store.action_path(&key)).unwrap()
        })
        .collect();
    let path = store.action_path(&key);
    fuzz("action_entry", seeds, |bytes| {
        std::fs::write(&path, bytes).unwrap();
        let full = store.action(&key);
        let output = store.action_output(&key);
        match (&full, output) {
            (Some(e), Some((d, size))) if e.output != d || e.size != size => {
                Err(format!("the two readers disagree: {:?} vs {:?}", (e.output, e.size), (d, size)))
            }
            (Some(_), None) => Err("a whole entry parsed but its output did not".to_string()),
            _ => Ok(()),
        }
    });
}

#[test]
fn sidecar_pairs() {
    use ntsbuild::media::sidecar::{SidecarPair, audit_pair, decode_pair, encode_pair};
    use ntsbuild::producers::{Grid, ProducerParams, SidecarTable};
    let table = SidecarTable {
        fps: 75.0,
        frames: 8,
        names: vec!["a".into(), "b".into()],
        data: (0..16).map(|i| i as f32).collect(),
        winners: vec![String::new(); 2],
    };
    let producers: Vec<ProducerParams> = Vec::new();
    let pair = encode_pair(&table, &Grid::Fps { fps: 75.0 }, "00", &producers).unwrap();
    fuzz("sidecar_bundle", vec![pair.to_bundle()], |bytes| {
        if let Ok(p) = SidecarPair::from_bundle(bytes) {
            let _ = decode_pair(&p.npy, &p.json);
            let _ = audit_pair(&p.npy, &p.json, Some((0.1, 75.0)));
        }
        Ok(())
    });
    let npy = pair.npy.clone();
    fuzz("sidecar_json", vec![pair.json.clone()], |bytes| {
        let _ = decode_pair(&npy, bytes);
        let _ = audit_pair(&npy, bytes, Some((0.1, 75.0)));
        Ok(())
    });
}

#[test]
fn lanes_and_note_patterns() {
    let lanes: Vec<Vec<u8>> = [
        "bass.lowpass.cutoff_hz|raw|curve=exp:2|smooth=5ms",
        "lead.oscillator.detune_cents|range=-20:20|smooth=0.02beats:8",
        "drone.mix.gain_db|percent|curve=s_curve",
        "pad.lowpass.mix|normalized|curve=log:3|smooth=0.5s",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    fuzz("lane", lanes, |bytes| {
        let _ = ntsbuild::arrange::automation::parse_lane(&String::from_utf8_lossy(bytes));
        Ok(())
    });
    let notes: Vec<Vec<u8>> = ["C4:100:2 . E4 = | G4:90 . . .", "60:127:16 = = . 61", "F#3:1 Bb2:64:3 . . | x... X..3"]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
    fuzz("notes", notes, |bytes| {
        let _ = ntsbuild::arrange::notes::parse_notes(&String::from_utf8_lossy(bytes));
        Ok(())
    });
}

#[test]
fn the_harness_finds_what_it_is_looking_for() {
    // A reader that panics on one byte value is caught (the harness can fail).
    let result = catch_unwind(|| {
        fuzz_for("canary", vec![vec![0u8; 16]], None, |bytes| {
            assert!(!bytes.contains(&0xff), "canary");
            Ok(())
        })
    });
    assert!(result.is_err(), "the harness missed a panicking reader");
}

/// Crashes the fuzzer found, kept as inputs: each is now an error naming the file.
#[test]
fn regressions() {
    for (file, says) in [
        // symphonia's WAV reader multiplied 65535 channels by the sample size and overflowed.
        ("wav_fmt_65535_channels.wav", "65535 channels"),
        // Its AIFF reader did the same with 33282 channels.
        ("aiff_comm_33282_channels.aiff", "AIFF header"),
        // Float AIFF-C samples of ±3e38: finite, but their channel mean overflowed to infinity.
        ("aifc_float_huge_samples.aifc", "invalid sample"),
    ] {
        let bytes = read(&format!("tests/fixtures/fuzz/{file}"));
        let err = ntsbuild::media::decode::decode_bytes(&bytes, file).expect_err(file).to_string();
        assert!(err.contains(file) && err.contains(says), "{err}");
        let path = repo().join("tests/fixtures/fuzz").join(file);
        let err = ntsbuild::media::decode::decode_path(&path).expect_err(file).to_string();
        assert!(err.contains(file) && err.contains(says), "{err}");
    }
}

/// A note pattern the fuzzer found: an octave of eight digits overflowed the MIDI arithmetic.
/// It is now an unknown note, named with its step.
#[test]
fn a_huge_octave_is_an_unknown_note() {
    let err = ntsbuild::arrange::notes::parse_notes("C421042100:2 . E4 = | G4:90 . . .").unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("step 0: `C421042100:2` is not a note"), "{text}");
}
