//! Benchmark: the arrangement renderer's speed as a real-time factor (song seconds per second of
//! rendering), on one core, against seed 002's own engine in the same run.
//!
//! `cargo bench --bench arrange`.
//!
//! - **demo**: `recipes/arrangement.toml` (6 instruments, every module kind, a tempo ramp,
//!   automation with each curve, about 27 s). Its sampler sources are artifacts of other
//!   targets, so here they are stood in for by what they are made from: 2 s of
//!   `audio/organ.wav` for the mined organ pad and the kit's snare rendered with default
//!   parameters.
//! - **generated**: a 2-minute, 16-instrument arrangement built here — ten synths (every
//!   waveform, one-pole and ADSR envelopes, low-passes, smoothed cutoff/detune/gain lanes), five
//!   samplers (four short percussive clips, one looping 2 s pad) and a drone without notes, in
//!   dense sixteenth and eighth patterns.
//! - **seed-equivalent**: 16 sine → envelope → low-pass instruments on a sixteenth pattern, the
//!   chain the seed's engine has; rendered by ntsbuild and, when `NTSBUILD_NAGAKANG` (the
//!   seed's `src/` checkout, e.g. under /work/venvs) and `NTSBUILD_NAGAKANG_PYTHON` (a Python
//!   with numpy) are set, by the seed's `OfflineAudioEngine` through `benches/nagakang_arrange.py`
//!   (for `SEED_SECONDS` of the song: its per-sample Python loops take minutes for two).
//!
//! Stems: every instrument rendered one after another on this thread (the renderer starts no
//! threads), best of 3, block by block into a consumer as the engine renders them (the
//! engine's consumer writes the WAV bytes: the stem-files row); in brackets the same into
//! song-long buffers, which costs their memory (16 × 46 MB here, mostly page faults). Mix: the
//! stems summed with the master (integrated loudness and true peak by `ebur128` for a −16 LUFS
//! target under a −1 dBTP ceiling). Loudness: the mix's summary and per-beat rows
//! (`loudness::analyze`, what `loudness.{json,csv,png}` read). Each row ends with a digest of
//! the stems' samples: a change that only makes rendering faster leaves it as it was.
#![allow(clippy::print_stdout, clippy::print_stderr)] // reports measurements

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ntsbuild::arrange::automation::Lane;
use ntsbuild::arrange::loudness::analyze;
use ntsbuild::arrange::mix::{MasterParams, mix};
use ntsbuild::arrange::notes::parse_notes;
use ntsbuild::arrange::render::{Stem, render_stem, render_stem_into};
use ntsbuild::arrange::sampler::{Clip, Layer};
use ntsbuild::arrange::schema::ModuleKind;
use ntsbuild::arrange::tempo::TempoParams;
use ntsbuild::arrange::timing::{Timing, TimingParams};
use ntsbuild::arrange::{InstrumentParams, ModuleParams};
use ntsbuild::kit::{Instrument, VoiceParams, render_voice};
use ntsbuild::media::wav::{PcmWriter, encode_pcm};
use ntsbuild::project::album::AudioRef;
use ntsbuild::project::reader::{Ctx, TableReader};
use ntsbuild::project::value::{Kind, parse};

const SR: u32 = 48_000;
/// Seconds of the seed-equivalent song the seed's engine renders.
const SEED_SECONDS: f64 = 4.0;

fn module(kind: ModuleKind, values: &[(&str, f64)]) -> ModuleParams {
    let mut m = ModuleParams::defaults(kind.name(), kind);
    for (k, v) in values {
        assert!(m.set(k, *v), "{k}");
    }
    m
}

fn lane(key: &str, points: &[(f64, f64)]) -> Lane {
    Lane::parse(key, points).unwrap()
}

/// A pattern of `steps` tokens: a note `MIDI:VEL:LEN` where `play(step)` gives one.
fn pattern(steps: u32, play: impl Fn(u32) -> Option<(u8, u8, f64)>) -> String {
    (0..steps)
        .map(|s| match play(s) {
            Some((p, v, l)) => format!("{p}:{v}:{l}"),
            None => ".".into(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn timing(bars: u32, tail_s: f64) -> Timing {
    Timing::new(&TimingParams {
        tempo: TempoParams::constant(120.0),
        sample_rate_hz: SR,
        bars,
        tail_s,
        block_size: 512,
    })
    .unwrap()
}

fn one_layer() -> Vec<Layer> {
    vec![Layer { min_velocity: 1, max_velocity: 127, amplitude_scale: 1.0, start_offset_percent: 0.0 }]
}

/// A decaying burst: `freq` sine plus seeded noise, `len_s` long.
fn burst(freq: f64, noise: f64, len_s: f64, seed: u32) -> Clip {
    let n = (len_s * f64::from(SR)) as usize;
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    let x: Vec<f32> = (0..n)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let r = f64::from(state) / f64::from(u32::MAX) * 2.0 - 1.0;
            let t = i as f64 / f64::from(SR);
            (((std::f64::consts::TAU * freq * t).sin() * (1.0 - noise) + r * noise) * (-t * 12.0).exp()) as f32
        })
        .collect();
    Clip::new(vec![x]).unwrap()
}

/// The generated 2-minute, 16-instrument arrangement and its clips (per instrument).
fn generated() -> (Timing, Vec<(InstrumentParams, Vec<Clip>)>) {
    let t = timing(60, 0.0); // 60 bars of 4/4 at 120 BPM = 120 s
    let steps = 16 * 4; // four bars, repeated
    let mut out = Vec::new();
    let shapes = [2.0, 3.0, 1.0, 0.0, 2.0, 3.0, 1.0, 0.0, 2.0, 3.0];
    for (k, &shape) in shapes.iter().enumerate() {
        let adsr = if k % 2 == 0 { 1.0 } else { 0.0 };
        let mut inst = InstrumentParams::new(
            &format!("synth{k}"),
            vec![
                module(ModuleKind::Oscillator, &[("waveform", shape), ("amplitude", 0.3)]),
                module(ModuleKind::Envelope, &[("mode", adsr), ("attack_ms", 5.0), ("release_ms", 150.0)]),
                module(ModuleKind::Lowpass, &[("cutoff_hz", 600.0 + 400.0 * k as f64)]),
            ],
        );
        let every = if k < 5 { 1 } else { 2 };
        inst.notes = Some(
            parse_notes(&pattern(steps, |s| {
                (s % every == 0 && (s * (k as u32 + 3)) % 5 != 4).then_some((
                    (36 + (k as u32 * 7 + s * 5) % 36) as u8,
                    (60 + (s * 11 + k as u32) % 60) as u8,
                    f64::from(every),
                ))
            }))
            .unwrap(),
        );
        inst.pan = (k as f64 / 9.0) * 1.6 - 0.8;
        if k < 4 {
            inst.lanes.push(lane(
                &format!("synth{k}.lowpass.cutoff_hz|curve=exp|smooth=2beats"),
                &[(16.0, 0.2), (64.0, 0.6), (128.0, 0.1), (200.0, 0.5)],
            ));
        }
        if k == 5 {
            inst.lanes.push(lane(
                "synth5.oscillator.detune_cents|raw|smooth=1beat",
                &[(32.0, 50.0), (40.0, -50.0), (96.0, 0.0)],
            ));
        }
        if k == 6 {
            inst.lanes.push(lane("synth6.mix.gain_db|raw|smooth=4beats", &[(60.0, -12.0), (120.0, 0.0)]));
        }
        out.push((inst, Vec::new()));
    }
    let hits = [(60.0, 0.3, 0.3), (200.0, 0.8, 0.2), (7000.0, 1.0, 0.08), (1000.0, 0.6, 0.15)];
    for (k, &(freq, noise, len_s)) in hits.iter().enumerate() {
        let mut inst = InstrumentParams::new(&format!("hit{k}"), vec![module(ModuleKind::Sampler, &[])]);
        inst.layers = one_layer();
        let drum = ["x... x... x... x.x.", ".... X... .... X..x", "x.x. x.x. xxx. x.xX", "..x. ..x. .x.. ..xx"][k];
        inst.notes =
            Some(ntsbuild::arrange::notes::from_drum_steps(&ntsbuild::song::pattern::parse_pattern(drum).unwrap(), 60));
        out.push((inst, vec![burst(freq, noise, len_s, k as u32 + 1)]));
    }
    let mut pad = InstrumentParams::new(
        "pad",
        vec![
            module(ModuleKind::Sampler, &[("loop", 1.0)]),
            module(ModuleKind::Envelope, &[("attack_ms", 300.0), ("release_ms", 800.0)]),
            module(ModuleKind::Lowpass, &[("cutoff_hz", 1500.0)]),
        ],
    );
    pad.layers = one_layer();
    pad.steps_per_beat = 1;
    pad.notes = Some(parse_notes("C4:90:8 . . . . . . . G#3:80:8 . . . . . . .").unwrap());
    let pad_clip: Vec<f32> = (0..96_000)
        .map(|i| {
            let t = i as f64 / f64::from(SR);
            (0.3 * (std::f64::consts::TAU * 261.6 * t).sin() + 0.2 * (std::f64::consts::TAU * 392.0 * t).sin()) as f32
        })
        .collect();
    out.push((pad, vec![Clip::new(vec![pad_clip]).unwrap()]));
    let mut drone = InstrumentParams::new(
        "drone",
        vec![module(ModuleKind::Oscillator, &[("frequency_hz", 55.0), ("amplitude", 0.0)])],
    );
    drone.lanes.push(lane("drone.oscillator.amplitude|curve=s_curve|smooth=8beats", &[(8.0, 0.3), (220.0, 0.0)]));
    out.push((drone, Vec::new()));
    assert_eq!(out.len(), 16);
    (t, out)
}

/// The seed-equivalent arrangement: 16 × sine → envelope → low-pass, as `nagakang_arrange.py`.
fn seed_equivalent(seconds: f64) -> (Timing, Vec<(InstrumentParams, Vec<Clip>)>) {
    let bars = (seconds / 2.0).ceil() as u32;
    let t = Timing::new(&TimingParams {
        tempo: TempoParams::constant(120.0),
        sample_rate_hz: SR,
        bars,
        tail_s: seconds - 2.0 * f64::from(bars),
        block_size: 512,
    })
    .unwrap();
    let steps = (seconds * 8.0) as u32;
    let out = (0..16u32)
        .map(|k| {
            let mut inst = InstrumentParams::new(
                &format!("sine{k}"),
                vec![
                    module(ModuleKind::Oscillator, &[]),
                    module(ModuleKind::Envelope, &[]),
                    module(ModuleKind::Lowpass, &[("cutoff_hz", 800.0 + 300.0 * f64::from(k))]),
                ],
            );
            inst.repeat = false;
            inst.notes = Some(
                parse_notes(&pattern(steps, |s| {
                    ((s * (k + 3)) % 4 != 3).then_some((
                        (36 + (k * 5 + s * 7) % 36) as u8,
                        (60 + (s * 13 + k) % 60) as u8,
                        1.0,
                    ))
                }))
                .unwrap(),
            );
            (inst, Vec::new())
        })
        .collect();
    (t, out)
}

/// The demo arrangement from its recipe, with stand-in clips for its artifact sources.
fn demo() -> (Timing, Vec<(InstrumentParams, Vec<Clip>)>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("recipes/arrangement.toml")).unwrap();
    let node = parse("recipes/arrangement.toml", &text).unwrap();
    let Kind::Table(top) = &node.kind else { unreachable!() };
    let Kind::Table(songs) = &top["song"].kind else { unreachable!() };
    let ctx = Ctx::default();
    let t = TableReader::new(&ctx, &songs["arrangement"], "song.arrangement").unwrap();
    let declared = ["kit.demo", "textures.demo", "song.demo"].map(String::from).into_iter().collect();
    let (spec, _) = ntsbuild::project::arrangement::read(&t, "song.arrangement", SR, &declared);
    assert!(ctx.is_empty(), "{:?}", ctx.into_diagnostics());
    let organ =
        ntsbuild::media::pcm::load_pcm(&root.join("audio/organ.wav"), SR, ntsbuild::media::pcm::PcmLayout::Channels)
            .unwrap()
            .channels
            .unwrap();
    let sr = SR as usize;
    let pad = Clip::new(organ.iter().take(2).map(|c| c[sr..3 * sr].to_vec()).collect()).unwrap();
    let snare =
        Clip::new(vec![render_voice(Instrument::Snare, &VoiceParams::defaults(Instrument::Snare), 11, SR)]).unwrap();
    let instruments = spec
        .instruments
        .iter()
        .map(|i| {
            let clips = i
                .sources
                .iter()
                .map(|s| match s {
                    AudioRef::Artifact(a) if a.starts_with("kit.") => snare.clone(),
                    _ => pad.clone(),
                })
                .collect();
            (i.params.clone(), clips)
        })
        .collect();
    (Timing::new(&spec.timing).unwrap(), instruments)
}

fn render_all(t: &Timing, instruments: &[(InstrumentParams, Vec<Clip>)]) -> Vec<Stem> {
    instruments.iter().map(|(inst, clips)| render_stem(inst, t, clips).expect("in-memory clips")).collect()
}

/// Every stem rendered block by block, as the engine renders them, each block handed to a
/// consumer (here one that folds its ends into a sum, so nothing can be left out).
fn render_blocks(t: &Timing, instruments: &[(InstrumentParams, Vec<Clip>)]) -> f64 {
    let mut acc = 0.0f64;
    for (inst, clips) in instruments {
        render_stem_into(inst, t, clips, &mut |l, r| {
            acc += f64::from(l[0]) + f64::from(r[r.len() - 1]);
        })
        .expect("in-memory clips");
    }
    acc
}

/// A digest of every stem's samples (first 16 hex digits of blake3), so a speed-up can show
/// that it left the bytes alone.
fn digest(stems: &[Stem]) -> String {
    let mut h = blake3::Hasher::new();
    for s in stems {
        let bytes: Vec<u8> = s.left.iter().chain(&s.right).flat_map(|v| v.to_le_bytes()).collect();
        h.update(&bytes);
    }
    h.finalize().to_hex()[..16].to_string()
}

fn rtf(song_s: f64, took: Duration) -> f64 {
    song_s / took.as_secs_f64()
}

fn bench(name: &str, t: &Timing, instruments: &[(InstrumentParams, Vec<Clip>)]) -> f64 {
    let song_s = t.duration_s();
    let (took, _) = common::best_of(3, || render_blocks(t, instruments));
    let (whole_took, stems) = common::best_of(3, || render_all(t, instruments));
    let refs: Vec<(&[f32], &[f32])> = stems.iter().map(|s| (s.left.as_slice(), s.right.as_slice())).collect();
    let master = MasterParams { target_lufs: Some(-16.0), true_peak_dbtp: -1.0 };
    let (mix_took, m) = common::best_of(3, || mix(&refs, SR, &master).unwrap());
    let (loud_took, _) = common::best_of(3, || analyze(&m.left, &m.right, SR, &t.tempo).unwrap());
    println!(
        "{name:<16} {:>2} instruments, {song_s:>6.1} s: stems {:>8.1} ms = {:>6.0}× real time (as whole buffers {:>6.0}×) | mix + master {:>6.1} ms = {:>5.0}× | loudness {:>6.1} ms = {:>5.0}× | stems + mix {:>5.0}× | stems {}",
        instruments.len(),
        took.as_secs_f64() * 1e3,
        rtf(song_s, took),
        rtf(song_s, whole_took),
        mix_took.as_secs_f64() * 1e3,
        rtf(song_s, mix_took),
        loud_took.as_secs_f64() * 1e3,
        rtf(song_s, loud_took),
        rtf(song_s, took + mix_took),
        digest(&stems),
    );
    rtf(song_s, took)
}

/// The stems as the `song_stem` artifacts make them, 24-bit stereo WAV bytes: rendered whole
/// then encoded (a song-long f32 stem per instrument, then its file), against rendered block by
/// block straight into the file's bytes (what the engine does). Both give the same bytes.
fn stem_files(t: &Timing, instruments: &[(InstrumentParams, Vec<Clip>)]) {
    let whole = || -> Vec<Vec<u8>> {
        instruments
            .iter()
            .map(|(inst, clips)| {
                let s = render_stem(inst, t, clips).expect("in-memory clips");
                encode_pcm(&[&s.left, &s.right], SR, 24).unwrap()
            })
            .collect()
    };
    let streamed = || -> Vec<Vec<u8>> {
        instruments
            .iter()
            .map(|(inst, clips)| {
                let mut w = PcmWriter::new(2, SR, 24, t.length_samples).unwrap();
                render_stem_into(inst, t, clips, &mut |l, r| w.push(&[l, r]).unwrap()).expect("in-memory clips");
                w.finish().unwrap()
            })
            .collect()
    };
    let (whole_took, a) = common::best_of(3, whole);
    let (streamed_took, b) = common::best_of(3, streamed);
    assert!(a == b, "the streamed stem files differ from the whole ones");
    let song_s = t.duration_s();
    println!(
        "  as 24-bit WAV files (the song_stem artifacts): rendered whole then encoded {:.1} ms = {:.0}×, block by block into the file {:.1} ms = {:.0}× (same bytes)",
        whole_took.as_secs_f64() * 1e3,
        rtf(song_s, whole_took),
        streamed_took.as_secs_f64() * 1e3,
        rtf(song_s, streamed_took)
    );
}

/// The seed's engine on the seed-equivalent arrangement: its real-time factor, when available.
fn seed_rtf() -> Option<f64> {
    let (src, python) = (std::env::var("NTSBUILD_NAGAKANG").ok()?, std::env::var("NTSBUILD_NAGAKANG_PYTHON").ok()?);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/nagakang_arrange.py");
    let out = Command::new(python).arg(script).arg(src).arg(SEED_SECONDS.to_string()).arg("16").output().ok()?;
    if !out.status.success() {
        eprintln!("seed engine failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    Some(v["seconds"].as_f64()? / v["wall_s"].as_f64()?)
}

fn main() {
    println!("arrangement rendering, one core (best of 3):");
    let (t, demo) = demo();
    bench("demo", &t, &demo);
    let (t, song) = generated();
    let generated_rtf = bench("generated 2 min", &t, &song);
    println!("  goal: ≥ 500× real time for the stems of the 2-minute, 16-instrument song: {generated_rtf:.0}×");
    stem_files(&t, &song);
    let (t, seed) = seed_equivalent(120.0);
    let ours = bench("seed-equivalent", &t, &seed);
    match seed_rtf() {
        Some(theirs) => println!(
            "  seed 002's engine (Python), same 16 sine → envelope → low-pass instruments, {SEED_SECONDS} s: {theirs:.3}× real time; ntsbuild {:.0}× faster",
            ours / theirs
        ),
        None => println!(
            "  (set NTSBUILD_NAGAKANG to the seed's src/ and NTSBUILD_NAGAKANG_PYTHON to a Python with numpy to time the seed's engine)"
        ),
    }
}
