//! Renderer tests: exact timing, sample-accurate automation, block-size independence, silence
//! skipping, the mix controls, and a whole arrangement through the mix and the loudness meter.

use super::automation::Lane;
use super::instrument::{InstrumentParams, ModuleParams};
use super::loudness::analyze;
use super::mix::{MasterParams, mix};
use super::notes::parse_notes;
use super::render::{Vectors, render, render_stem, smoothing_windows};
use super::sampler::{Clip, Layer};
use super::schema::ModuleKind;
use super::tempo::{TempoChange, TempoParams};
use super::timing::{Timing, TimingParams};

const SR: u32 = 48_000;

fn timing(bars: u32, block_size: u32) -> Timing {
    timing_with(TempoParams::constant(120.0), bars, block_size)
}

fn timing_with(tempo: TempoParams, bars: u32, block_size: u32) -> Timing {
    Timing::new(&TimingParams { tempo, sample_rate_hz: SR, bars, tail_s: 0.5, block_size }).unwrap()
}

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

fn one_layer() -> Vec<Layer> {
    vec![Layer { min_velocity: 1, max_velocity: 127, amplitude_scale: 1.0, start_offset_percent: 0.0 }]
}

/// A sampler instrument over one clip, velocity gain fixed at 1.
fn sampler(notes: &str, extra: &[ModuleParams]) -> InstrumentParams {
    let mut modules =
        vec![module(ModuleKind::Sampler, &[("velocity_amplitude_min", 1.0), ("velocity_amplitude_max", 1.0)])];
    modules.extend(extra.iter().cloned());
    let mut inst = InstrumentParams::new("s", modules);
    inst.layers = one_layer();
    inst.notes = Some(parse_notes(notes).unwrap());
    inst.repeat = false;
    inst
}

fn ones(len: usize) -> Vec<Clip> {
    vec![Clip::new(vec![vec![1.0; len]]).unwrap()]
}

/// Every sample equal (−0 and +0 count as equal).
fn same(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// A busy instrument: saw through an ADSR and a swept low-pass, with glides and a gain ramp.
fn busy_synth() -> InstrumentParams {
    let mut inst = InstrumentParams::new(
        "lead",
        vec![
            module(ModuleKind::Oscillator, &[("waveform", 2.0), ("amplitude", 0.5)]),
            module(ModuleKind::Envelope, &[("mode", 1.0), ("attack_ms", 7.0), ("release_ms", 40.0)]),
            module(ModuleKind::Lowpass, &[("cutoff_hz", 900.0)]),
        ],
    );
    inst.notes = Some(parse_notes("C4:100:2 . E4:60 . G4:127:3 = . . A3 . . . C5:90:0.5 . . .").unwrap());
    inst.lanes = vec![
        lane("lead.lowpass.cutoff_hz|curve=exp|smooth=0.75beats", &[(1.0, 0.1), (3.0, 0.6), (5.5, 0.2)]),
        lane("lead.oscillator.detune_cents|raw|smooth=10ms:7", &[(2.0, 50.0), (4.0, -30.0)]),
        lane("lead.mix.gain_db|raw|smooth=1beat", &[(6.0, -12.0)]),
        lane("lead.mix.pan|raw", &[(2.5, 0.6)]),
    ];
    inst
}

/// A looping stereo sampler with a semitone glide.
fn busy_sampler() -> (InstrumentParams, Vec<Clip>) {
    let (l, r) = busy_clip_channels();
    let clips = vec![Clip::new(vec![l, r]).unwrap()];
    let mut inst = sampler(
        "C4:110:3 . . D4:40 . . . C3:127:6 . . . . . . . . E4",
        &[module(ModuleKind::Envelope, &[("attack_ms", 3.0), ("release_ms", 60.0)])],
    );
    inst.modules[0].set("loop", 1.0);
    inst.modules[0].set("start_percent", 30.0);
    inst.modules[0].set("length_percent", 50.0);
    inst.lanes = vec![lane("s.sampler.semitones|raw|smooth=0.5beats", &[(1.5, 5.0), (3.0, -2.0)])];
    (inst, clips)
}

#[test]
fn block_size_never_changes_a_sample() {
    let synth = busy_synth();
    let (smp, clips) = busy_sampler();
    for (inst, clips) in [(&synth, &[][..]), (&smp, &clips[..])] {
        let reference = render_stem(inst, &timing(2, 512), clips).unwrap();
        assert!(reference.left.iter().any(|v| *v != 0.0));
        for block in [16, 37, 64, 1000, 4096, 16_384] {
            let other = render_stem(inst, &timing(2, block), clips).unwrap();
            assert!(
                same(&reference.left, &other.left) && same(&reference.right, &other.right),
                "{} at block {block}",
                inst.name
            );
        }
    }
}

#[test]
fn skipping_silence_changes_nothing() {
    let synth = busy_synth();
    let (smp, clips) = busy_sampler();
    let short = sampler("C4 . . . . . . . C4 . . .", &[]);
    for (inst, clips) in [(&synth, &[][..]), (&smp, &clips[..]), (&short, &ones(2000)[..])] {
        let t = timing(2, 256);
        let a = render(inst, &t, clips, true, Vectors::Widest).unwrap();
        let b = render(inst, &t, clips, false, Vectors::Widest).unwrap();
        assert!(same(&a.left, &b.left) && same(&a.right, &b.right), "{}", inst.name);
    }
}

#[test]
fn wide_vectors_change_no_bit() {
    let (smp, clips) = busy_sampler();
    // Every waveform, both envelope modes, a low-pass fully wet and half wet.
    let mut synths = Vec::new();
    for (k, shape) in [0.0, 1.0, 2.0, 3.0].into_iter().enumerate() {
        let mut inst = busy_synth();
        assert!(inst.modules[0].set("waveform", shape));
        assert!(inst.modules[1].set("mode", (k % 2) as f64));
        assert!(inst.modules[2].set("mix", if k < 2 { 1.0 } else { 0.5 }));
        synths.push(inst);
    }
    let cases = synths.iter().map(|s| (s, &[][..])).chain([(&smp, &clips[..])]);
    for (inst, clips) in cases {
        let t = timing(2, 256);
        let base = render(inst, &t, clips, true, Vectors::Baseline).unwrap();
        assert!(base.left.iter().any(|v| *v != 0.0));
        for vectors in [Vectors::Avx2, Vectors::Widest] {
            let other = render(inst, &t, clips, true, vectors).unwrap();
            assert!(same(&base.left, &other.left) && same(&base.right, &other.right), "{} {vectors:?}", inst.name);
        }
    }
}

#[test]
fn notes_land_on_exact_samples() {
    // 120 BPM, 4 steps per beat: a step is 6000 samples. The note at step 4 starts at 24 000.
    let env = module(ModuleKind::Envelope, &[("attack_ms", 0.0), ("release_ms", 0.0)]);
    let inst = sampler(". . . . C4:127 . . .", &[env]);
    let stem = render_stem(&inst, &timing(1, 512), &ones(96_000)).unwrap();
    let gain = std::f32::consts::FRAC_1_SQRT_2; // centre pan
    assert!(stem.left[..24_000].iter().all(|v| *v == 0.0));
    assert!((stem.left[24_000] - gain).abs() < 1e-6, "{}", stem.left[24_000]);
    // One step long with a 0 ms release: silent from the next step.
    assert!((stem.left[29_999] - gain).abs() < 1e-6);
    assert_eq!(stem.left[30_000], 0.0);
    // Through a tempo ramp the onset follows the tempo map.
    let tempo =
        TempoParams { changes: vec![TempoChange { beat: 2.0, bpm: 60.0, ramp: true }], ..TempoParams::constant(120.0) };
    let t = timing_with(tempo, 1, 512);
    let stem = render_stem(&inst, &t, &ones(96_000)).unwrap();
    let on = t.tempo.sample_at(1.0, SR);
    assert!(on > 24_000, "the ramp slows the tempo");
    assert_eq!(stem.left[on - 1], 0.0);
    assert!(stem.left[on] > 0.5);
}

#[test]
fn automation_is_sample_accurate() {
    let mut inst = sampler("C4:127:64", &[]);
    inst.lanes =
        vec![lane("s.mix.gain_db|raw", &[(1.0, -6.0)]), lane("s.sampler.amplitude|raw|smooth=0.5beats", &[(3.0, 0.0)])];
    let stem = render_stem(&inst, &timing(1, 512), &ones(200_000)).unwrap();
    let centre = std::f64::consts::FRAC_1_SQRT_2;
    let g6 = 10f64.powf(-6.0 / 20.0);
    assert!((f64::from(stem.left[23_999]) - centre).abs() < 1e-6);
    assert!((f64::from(stem.left[24_000]) - centre * g6).abs() < 1e-6, "the gain changes on beat 1's own sample");
    // The amplitude ramps from 1 at beat 2.5 (60 000) to 0 at beat 3 (72 000), sample by sample.
    assert!((f64::from(stem.left[60_000]) - centre * g6).abs() < 1e-6);
    assert!((f64::from(stem.left[66_000]) - centre * g6 * 0.5).abs() < 1e-6);
    assert!((f64::from(stem.left[66_001]) - centre * g6 * (0.5 - 1.0 / 12_000.0)).abs() < 1e-6);
    assert_eq!(stem.left[72_000], 0.0);
    let w = smoothing_windows(&inst, &timing(1, 512));
    assert_eq!(w.len(), 1);
    assert_eq!((w[0].start_beat, w[0].window_beats, w[0].window_s), (2.5, 0.5, 0.25));
}

#[test]
fn monophonic_notes_take_over_without_a_gap() {
    // The second note starts before the first ends: the gate never closes in between.
    let env = module(ModuleKind::Envelope, &[("attack_ms", 0.0), ("release_ms", 0.0)]);
    let inst = sampler("C4:127:4 . C4:64:2 . . .", &[env]);
    let stem = render_stem(&inst, &timing(1, 512), &ones(96_000)).unwrap();
    let centre = std::f32::consts::FRAC_1_SQRT_2;
    assert!((stem.left[11_999] - centre).abs() < 1e-6);
    assert!((stem.left[12_000] - centre * 64.0 / 127.0).abs() < 1e-6, "the new gate is the new velocity");
    assert!(stem.left[12_000..24_000].iter().all(|v| *v > 0.0));
    assert_eq!(stem.left[24_000], 0.0);
}

#[test]
fn mix_controls_pan_gain_and_mute() {
    let mut inst = sampler("C4:127:8", &[]);
    inst.pan = -1.0;
    let stem = render_stem(&inst, &timing(1, 512), &ones(50_000)).unwrap();
    assert!((stem.left[100] - 1.0).abs() < 1e-6);
    assert!(stem.right[100].abs() < 1e-6);
    inst.pan = 0.5;
    inst.gain_db = -6.0;
    let stem = render_stem(&inst, &timing(1, 512), &ones(50_000)).unwrap();
    let theta = 1.5 * std::f64::consts::FRAC_PI_4;
    let g = 10f64.powf(-6.0 / 20.0);
    assert!((f64::from(stem.left[100]) - g * theta.cos()).abs() < 1e-6);
    assert!((f64::from(stem.right[100]) - g * theta.sin()).abs() < 1e-6);
    inst.mute = true;
    let stem = render_stem(&inst, &timing(1, 512), &ones(50_000)).unwrap();
    assert_eq!(stem.left.len(), timing(1, 512).length_samples);
    assert!(stem.left.iter().chain(&stem.right).all(|v| *v == 0.0));
}

#[test]
fn instruments_without_notes_drone_and_follow_their_gate_lane() {
    let mut drone = InstrumentParams::new(
        "d",
        vec![
            module(ModuleKind::Oscillator, &[("frequency_hz", 100.0), ("amplitude", 1.0)]),
            module(ModuleKind::Envelope, &[("gate", 0.0), ("attack_ms", 0.0), ("release_ms", 0.0)]),
        ],
    );
    drone.lanes = vec![lane("d.envelope.gate|raw", &[(1.0, 1.0), (2.0, 0.0)])];
    let stem = render_stem(&drone, &timing(1, 512), &[]).unwrap();
    assert!(stem.left[..24_000].iter().all(|v| *v == 0.0));
    assert!(stem.left[24_000..48_000].iter().any(|v| v.abs() > 0.5));
    assert!(stem.left[48_000..].iter().all(|v| *v == 0.0));
    // A sampler without notes starts once at sample 0.
    let mut s = sampler("C4", &[]);
    s.notes = None;
    let stem = render_stem(&s, &timing(1, 512), &ones(1000)).unwrap();
    assert!(stem.left[..1000].iter().all(|v| *v > 0.0));
    assert!(stem.left[1000..].iter().all(|v| *v == 0.0));
}

#[test]
fn a_whole_arrangement_mixes_and_measures_deterministically() {
    let synth = busy_synth();
    let (smp, clips) = busy_sampler();
    let t = timing(4, 512);
    let run = || {
        let a = render_stem(&synth, &t, &[]).unwrap();
        let b = render_stem(&smp, &t, &clips).unwrap();
        let m = mix(
            &[(&a.left, &a.right), (&b.left, &b.right)],
            SR,
            &MasterParams { target_lufs: Some(-18.0), true_peak_dbtp: -1.0 },
        )
        .unwrap();
        let loud = analyze(&m.left, &m.right, SR, &t.tempo).unwrap();
        (m, loud)
    };
    let (m1, l1) = run();
    let (m2, l2) = run();
    assert!(same(&m1.left, &m2.left) && l1 == l2);
    assert_eq!(m1.left.len(), t.length_samples);
    assert!((l1.summary.integrated_lufs.unwrap() + 18.0).abs() < 0.05 || m1.ceiling_applied, "{:?}", l1.summary);
    assert!(l1.summary.true_peak_dbtp <= -1.0 + 0.01);
    // 4 bars of 4/4 and a 0.5 s tail at 120 BPM: 16 + 1 beat rows.
    assert_eq!(l1.rows.len(), 17);
}

/// A clip kept elsewhere, read by position, that records the longest read and can fail.
struct Elsewhere {
    channels: Vec<Vec<f32>>,
    longest: std::sync::atomic::AtomicUsize,
    fail: bool,
}

impl Elsewhere {
    fn clip(channels: Vec<Vec<f32>>, fail: bool) -> (Clip, std::sync::Arc<Elsewhere>) {
        let reader = std::sync::Arc::new(Elsewhere { channels, longest: 0.into(), fail });
        (Clip::from_reader(reader.clone()).unwrap(), reader)
    }
}

impl super::sampler::ClipReader for Elsewhere {
    fn len(&self) -> usize {
        self.channels[0].len()
    }

    fn channel_count(&self) -> usize {
        self.channels.len()
    }

    fn read(&self, channel: usize, start: usize, out: &mut [f32]) -> Result<(), String> {
        if self.fail {
            return Err("reading the decoded audio of loop.wav: disk gone".into());
        }
        self.longest.fetch_max(out.len(), std::sync::atomic::Ordering::Relaxed);
        out.copy_from_slice(&self.channels[channel][start..start + out.len()]);
        Ok(())
    }
}

/// A sampler whose clips are read by position, a page at a time, plays the same bits as one
/// whose clips are in memory — short and long windows, loops that wrap, glides, legato, two
/// velocity layers (stereo and mono), far pitch shifts, a non-finite sample — and never reads
/// more than a page of a long clip at once. A clip that cannot be read fails the render.
#[test]
fn a_clip_read_by_position_plays_the_same_bits_and_holds_little() {
    use super::sampler::PAGE;
    let long = 5 * PAGE + 123;
    let mut l: Vec<f32> = (0..long).map(|i| (i as f32 * 0.0031).sin() * (1.0 + (i as f32 * 1e-5).cos())).collect();
    let r: Vec<f32> = (0..long).map(|i| (i as f32 * 0.0017).cos() * 0.5).collect();
    l[3 * PAGE + 7] = f32::NAN;
    let mono: Vec<f32> = (0..long / 2).map(|i| ((i % 300) as f32 / 150.0) - 1.0).collect();
    let (busy, short_clips) = busy_sampler();
    let two_layers = |mut inst: InstrumentParams| {
        inst.layers = vec![
            Layer { min_velocity: 1, max_velocity: 64, amplitude_scale: 0.7, start_offset_percent: 10.0 },
            Layer { min_velocity: 65, max_velocity: 127, amplitude_scale: 1.0, start_offset_percent: 0.0 },
        ];
        assert!(inst.modules[0].set("velocity_crossfade_width", 20.0));
        inst
    };
    let mut looped = two_layers(busy.clone());
    assert!(looped.modules[0].set("length_percent", 80.0));
    let mut plain = two_layers(sampler("C4:30 . . . . D4:100 . . . C6:70 . . . . . . . C1", &[]));
    assert!(plain.modules[0].set("velocity_start_offset_percent", 40.0));
    let mut legato = plain.clone();
    assert!(legato.modules[0].set("retrigger", 0.0));
    let mut far = sampler("C8:127 . . . . . . . C0:127", &[]);
    assert!(far.modules[0].set("root_note", 36.0));
    let long_clips = [Clip::new(vec![mono.clone()]).unwrap(), Clip::new(vec![l.clone(), r.clone()]).unwrap()];
    let t = timing(4, 512);
    let cases: [(&InstrumentParams, &[Clip]); 5] = [
        (&busy, &short_clips),
        (&looped, &long_clips),
        (&plain, &long_clips),
        (&legato, &long_clips),
        (&far, &long_clips),
    ];
    for (k, (inst, memory)) in cases.into_iter().enumerate() {
        let reference = render_stem(inst, &t, memory).unwrap();
        assert!(reference.left.iter().any(|v| *v != 0.0), "case {k}");
        let read: Vec<(Clip, std::sync::Arc<Elsewhere>)> = if memory.len() == 1 {
            let (l, r) = busy_clip_channels();
            vec![Elsewhere::clip(vec![l, r], false)]
        } else {
            vec![Elsewhere::clip(vec![mono.clone()], false), Elsewhere::clip(vec![l.clone(), r.clone()], false)]
        };
        let clips: Vec<Clip> = read.iter().map(|(c, _)| c.clone()).collect();
        let other = render_stem(inst, &t, &clips).unwrap();
        assert!(same(&reference.left, &other.left) && same(&reference.right, &other.right), "case {k}");
        for (_, reader) in &read {
            assert!(reader.longest.load(std::sync::atomic::Ordering::Relaxed) <= PAGE, "case {k}");
        }
    }
    let (broken, _) = Elsewhere::clip(vec![l.clone()], true);
    let err = render_stem(&plain, &t, &[broken.clone(), broken]).unwrap_err();
    assert_eq!(err.to_string(), "reading the decoded audio of loop.wav: disk gone");
}

/// The two channels of [`busy_sampler`]'s clip.
fn busy_clip_channels() -> (Vec<f32>, Vec<f32>) {
    let l: Vec<f32> = (0..7000).map(|i| (i as f32 * 0.031).sin()).collect();
    let r: Vec<f32> = (0..7000).map(|i| (i as f32 * 0.017).cos() * 0.5).collect();
    (l, r)
}
