//! The block renderer: one instrument → one stereo stem.
//!
//! Notes and automation become events at exact samples (notes: `round(seconds(beat)·sr)` of
//! their onset and end; lanes: see `automation`). The song is walked in blocks of `block_size`
//! samples (rounded up to a multiple of 4), each cut again at every event, and every module
//! processes the stretch between two cuts. **Automation is sample-accurate** — a change lands on
//! its own sample and a smoothing ramp moves every sample — where the seed applies events at
//! block starts; a module's value at a sample never depends on where blocks begin (oscillator
//! and sampler positions are computed in closed form from the last event, recurrences carry
//! their state and unroll only groups of four aligned to the song's sample grid), so the bytes
//! are the same for every block size and, since each stem is rendered alone, for every thread
//! count.
//!
//! Instruments are monophonic, like a tracker channel: a note that starts while another sounds
//! takes over (the envelope follows the new gate; a retriggering sampler restarts). While the
//! chain is known to be silent (its first processor is an envelope at rest, nothing stateful
//! precedes it and every later low-pass is at rest) the stretch is skipped.
//!
//! The stem is the chain's output times the mix: `gain_db` and constant-power `pan`
//! (`L = cos θ`, `R = sin θ`, `θ = (pan + 1)·π/4`) on each channel; a muted stem is silent.

use std::f64::consts::FRAC_PI_4;

use super::automation::{Change, SmoothingWindow, resolve};
use super::envelope::{Envelope, EnvelopeSettings};
use super::instrument::InstrumentParams;
use super::lowpass::{self, Lowpass};
use super::notes::midi_to_hz;
use super::oscillator::{Oscillator, Shape};
use super::sampler::{Clip, Sampler, TriggerSettings, rate_of};
use super::schema::{ModuleKind, env, lp, mix, osc, smp};
use super::timing::Timing;
use super::{GROUP, Memo};
use crate::dsp::level::db_to_lin;

/// A rendered stem: two channels of `Timing::length_samples` samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Stem {
    pub left: Vec<f32>,
    pub right: Vec<f32>,
}

impl Stem {
    pub fn silent(len: usize) -> Stem {
        Stem { left: vec![0.0; len], right: vec![0.0; len] }
    }
}

/// Module index of the instrument's own mix controls in events.
const MIX_MODULE: usize = usize::MAX;

#[derive(Debug, Clone, Copy, PartialEq)]
struct RampState {
    from: f64,
    to: f64,
    start: usize,
    len: usize,
}

/// A parameter's value over time: constant, or a linear ramp evaluated per sample.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Control {
    value: f64,
    ramp: Option<RampState>,
}

impl Control {
    fn new(value: f64) -> Control {
        Control { value, ramp: None }
    }

    #[inline]
    fn at(&self, n: usize) -> f64 {
        match self.ramp {
            None => self.value,
            Some(r) => r.from + (r.to - r.from) * ((n - r.start) as f64 / r.len as f64),
        }
    }

    fn ramping(&self) -> bool {
        self.ramp.is_some()
    }

    fn apply(&mut self, n: usize, change: Change) {
        match change {
            Change::Set(v) => *self = Control::new(v),
            Change::Ramp { from, to, len } => {
                *self = Control { value: from, ramp: Some(RampState { from, to, start: n, len: len.max(1) }) }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum EventKind {
    Param { module: usize, param: usize, change: Change },
    NoteOff,
    NoteOn { pitch: u8, velocity: u8 },
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Event {
    sample: usize,
    /// At one sample: parameters first, then note ends, then note starts.
    class: u8,
    seq: usize,
    kind: EventKind,
}

/// The instrument's events in time order, and the smoothing windows its lanes apply.
fn events(inst: &InstrumentParams, timing: &Timing) -> (Vec<Event>, Vec<SmoothingWindow>) {
    let sr = timing.sample_rate_hz;
    let mut out = Vec::new();
    let mut windows = Vec::new();
    for lane in &inst.lanes {
        let module = if lane.module == "mix" { Some(MIX_MODULE) } else { inst.module(&lane.module).map(|(i, _)| i) };
        let (Some(module), Some((spec, initial))) = (module, inst.target(&lane.module, &lane.parameter)) else {
            continue;
        };
        let param = if module == MIX_MODULE {
            super::schema::MIX.iter().position(|p| p.name == lane.parameter)
        } else {
            inst.modules[module].kind.param(&lane.parameter).map(|(i, _)| i)
        };
        let Some(param) = param else { continue };
        let (changes, w) = resolve(lane, spec, initial, &timing.tempo, sr);
        windows.extend(w);
        for (sample, change) in changes {
            out.push(Event { sample, class: 0, seq: out.len(), kind: EventKind::Param { module, param, change } });
        }
    }
    let spb = f64::from(inst.steps_per_beat.max(1));
    let total_steps = (timing.end_beat * spb + 1e-9).floor().max(0.0) as u64;
    let notes = inst.expanded_notes(total_steps);
    let onsets: Vec<usize> = notes.iter().map(|n| timing.tempo.sample_at(f64::from(n.step) / spb, sr)).collect();
    for (i, n) in notes.iter().enumerate() {
        let on = onsets[i];
        let off = timing.tempo.sample_at((f64::from(n.step) + n.length_steps) / spb, sr).max(on + 1);
        out.push(Event {
            sample: on,
            class: 2,
            seq: out.len(),
            kind: EventKind::NoteOn { pitch: n.pitch, velocity: n.velocity },
        });
        // A later note that starts before this one ends takes over: no note-off.
        if onsets.get(i + 1).is_none_or(|&next| next > off) {
            out.push(Event { sample: off, class: 1, seq: out.len(), kind: EventKind::NoteOff });
        }
    }
    out.sort_by_key(|e| (e.sample, e.class, e.seq));
    (out, windows)
}

/// The smoothing windows an instrument's lanes apply (for `-v` and the loudness report).
pub fn smoothing_windows(inst: &InstrumentParams, timing: &Timing) -> Vec<SmoothingWindow> {
    events(inst, timing).1
}

enum Unit<'a> {
    Osc(Oscillator),
    Smp(Sampler<'a>),
    Env(Envelope),
    Lp(Lowpass),
}

struct Stage<'a> {
    unit: Unit<'a>,
    ctl: Vec<Control>,
}

struct Renderer<'a> {
    stages: Vec<Stage<'a>>,
    mix: [Control; 2],
    sr: f64,
    has_notes: bool,
    /// Frequency of the current note (oscillators).
    note_hz: f64,
    stereo: bool,
    bufs: [Vec<f64>; 2],
    env_buf: Vec<f64>,
    skip_silence: bool,
    /// The channel gains by constant `(gain_db, pan)`.
    gains: Memo<(f64, f64), (f64, f64)>,
    /// Which compiled copy of the block code runs (the same bytes with each).
    vectors: Vectors,
}

/// The channel gains of `gain_db` and constant-power `pan`.
fn gains(gain_db: f64, pan: f64) -> (f64, f64) {
    let g = db_to_lin(gain_db);
    let theta = (pan.clamp(-1.0, 1.0) + 1.0) * FRAC_PI_4;
    (g * theta.cos(), g * theta.sin())
}

fn env_settings(ctl: &[Control], n: usize) -> EnvelopeSettings {
    EnvelopeSettings {
        attack_ms: ctl[env::ATTACK_MS].at(n),
        decay_ms: ctl[env::DECAY_MS].at(n),
        sustain: ctl[env::SUSTAIN].at(n),
        release_ms: ctl[env::RELEASE_MS].at(n),
    }
}

fn trigger_settings(ctl: &[Control], n: usize) -> TriggerSettings {
    TriggerSettings {
        start_percent: ctl[smp::START_PERCENT].at(n),
        length_percent: ctl[smp::LENGTH_PERCENT].at(n),
        root_note: ctl[smp::ROOT_NOTE].at(n),
        retrigger: ctl[smp::RETRIGGER].at(n) != 0.0,
        looped: ctl[smp::LOOP].at(n) != 0.0,
        velocity_amplitude_min: ctl[smp::VELOCITY_AMPLITUDE_MIN].at(n),
        velocity_amplitude_max: ctl[smp::VELOCITY_AMPLITUDE_MAX].at(n),
        velocity_start_offset_percent: ctl[smp::VELOCITY_START_OFFSET_PERCENT].at(n),
        velocity_crossfade_width: ctl[smp::VELOCITY_CROSSFADE_WIDTH].at(n),
    }
}

impl<'a> Renderer<'a> {
    fn new(inst: &InstrumentParams, clips: &'a [Clip], timing: &Timing) -> Renderer<'a> {
        let has_notes = inst.notes.is_some();
        let sr = f64::from(timing.sample_rate_hz);
        let mut stages = Vec::new();
        for m in &inst.modules {
            let ctl: Vec<Control> = (0..m.kind.schema().len()).map(|i| Control::new(m.value(i))).collect();
            let unit = match m.kind {
                ModuleKind::Oscillator => {
                    Unit::Osc(Oscillator::new(Shape::from_index(m.value(osc::WAVEFORM) as usize)))
                }
                ModuleKind::Sampler => Unit::Smp(Sampler::new(clips, &inst.layers)),
                ModuleKind::Envelope => {
                    let gate = if has_notes { 0.0 } else { m.value(env::GATE) };
                    Unit::Env(Envelope::new(m.value(env::MODE) == 1.0, gate))
                }
                ModuleKind::Lowpass => Unit::Lp(Lowpass::new()),
            };
            stages.push(Stage { unit, ctl });
        }
        let stereo = matches!(stages.first(), Some(Stage { unit: Unit::Smp(s), .. }) if s.is_stereo());
        let block = grid(timing);
        let mut r = Renderer {
            stages,
            mix: [Control::new(inst.gain_db), Control::new(inst.pan)],
            sr,
            has_notes,
            note_hz: 440.0,
            stereo,
            bufs: [vec![0.0; block], vec![0.0; block]],
            env_buf: vec![0.0; block],
            skip_silence: true,
            gains: Memo::default(),
            vectors: Vectors::Widest,
        };
        for i in 0..r.stages.len() {
            r.retune(i, 0);
            if !has_notes {
                let stage = &mut r.stages[i];
                if let Unit::Smp(s) = &mut stage.unit {
                    let root = stage.ctl[smp::ROOT_NOTE].at(0).clamp(0.0, 127.0) as u8;
                    s.note_on(0, root, 127, stage.ctl[smp::SEMITONES].at(0), &trigger_settings(&stage.ctl, 0));
                }
            }
        }
        r
    }

    /// The oscillator's frequency at sample `n`.
    fn osc_freq(&self, ctl: &[Control], n: usize) -> f64 {
        let base = if self.has_notes { self.note_hz } else { ctl[osc::FREQUENCY_HZ].at(n) };
        base * (ctl[osc::DETUNE_CENTS].at(n) / 1200.0).exp2()
    }

    /// Re-anchor stage `i`'s pitch at sample `n` after a pitch-affecting change.
    fn retune(&mut self, i: usize, n: usize) {
        let sr = self.sr;
        let freq = match self.stages[i].unit {
            Unit::Osc(_) => self.osc_freq(&self.stages[i].ctl, n),
            _ => 0.0,
        };
        let stage = &mut self.stages[i];
        match &mut stage.unit {
            Unit::Osc(o) => o.set_frequency(n, freq, sr),
            Unit::Smp(s) => {
                let semis = stage.ctl[smp::SEMITONES].at(n);
                s.set_rate(n, rate_of(s.note_offset() + semis));
            }
            _ => {}
        }
    }

    fn apply(&mut self, e: &Event) {
        let n = e.sample;
        match e.kind {
            EventKind::Param { module: MIX_MODULE, param, change } => {
                if param < self.mix.len() {
                    self.mix[param].apply(n, change);
                }
            }
            EventKind::Param { module, param, change } => {
                let has_notes = self.has_notes;
                let Some(stage) = self.stages.get_mut(module) else { return };
                let Some(c) = stage.ctl.get_mut(param) else { return };
                c.apply(n, change);
                let set = matches!(change, Change::Set(_));
                let retune = match &mut stage.unit {
                    Unit::Osc(_) => set && (param == osc::FREQUENCY_HZ || param == osc::DETUNE_CENTS),
                    Unit::Smp(_) => set && param == smp::SEMITONES,
                    Unit::Env(envelope) => {
                        if set && param == env::GATE && !has_notes {
                            envelope.set_gate(stage.ctl[env::GATE].at(n));
                        }
                        false
                    }
                    Unit::Lp(_) => false,
                };
                if retune {
                    self.retune(module, n);
                }
            }
            EventKind::NoteOff => {
                for stage in &mut self.stages {
                    if let Unit::Env(envelope) = &mut stage.unit {
                        envelope.set_gate(0.0);
                    }
                }
            }
            EventKind::NoteOn { pitch, velocity } => {
                self.note_hz = midi_to_hz(f64::from(pitch));
                for stage in &mut self.stages {
                    match &mut stage.unit {
                        Unit::Env(envelope) => envelope.set_gate(f64::from(velocity) / 127.0),
                        Unit::Smp(s) => {
                            let semis = stage.ctl[smp::SEMITONES].at(n);
                            s.note_on(n, pitch, velocity, semis, &trigger_settings(&stage.ctl, n));
                        }
                        Unit::Osc(_) | Unit::Lp(_) => {}
                    }
                }
                for i in 0..self.stages.len() {
                    if matches!(self.stages[i].unit, Unit::Osc(_)) {
                        self.retune(i, n);
                    }
                }
            }
        }
    }

    /// Whether the source accumulates its position (a glide) and so cannot be skipped.
    fn source_glides(&self) -> bool {
        match self.stages.first() {
            Some(Stage { unit: Unit::Osc(_), ctl }) => {
                ctl[osc::DETUNE_CENTS].ramping() || (!self.has_notes && ctl[osc::FREQUENCY_HZ].ramping())
            }
            Some(Stage { unit: Unit::Smp(_), ctl }) => ctl[smp::SEMITONES].ramping(),
            _ => false,
        }
    }

    /// Whether the chain's output is exactly zero, and no state changes, from sample `n` until
    /// the next event: the source is silent (a finished sample) or the envelope right after it
    /// is at rest, and everything later keeps still (low-passes at rest, envelopes static).
    fn silent(&self, n: usize) -> bool {
        if self.source_glides() {
            return false;
        }
        let still = |st: &Stage<'_>| match &st.unit {
            Unit::Lp(l) => l.is_at_rest(),
            Unit::Env(e) => {
                e.is_static()
                    && [env::GATE, env::ATTACK_MS, env::DECAY_MS, env::SUSTAIN, env::RELEASE_MS]
                        .iter()
                        .all(|&p| !st.ctl[p].ramping())
            }
            _ => false,
        };
        let zero_from = match (self.stages.first(), self.stages.get(1)) {
            (Some(Stage { unit: Unit::Smp(s), .. }), _) if s.is_silent(n) => 1,
            (_, Some(st @ Stage { unit: Unit::Env(e), .. })) if e.is_silent() && still(st) => 2,
            _ => return false,
        };
        self.stages[zero_from..].iter().all(still)
    }

    /// Render samples `a..b` (no event inside) into `l_out` and `r_out` (each `b − a` long);
    /// `false` when the stretch is silent and they were left as they were.
    ///
    /// The same code is compiled a second time for CPUs with AVX-512 and a third for AVX2
    /// (chosen at run time): wider vectors, the same operations in the same order on every
    /// sample, and no fused multiply-add (Rust never contracts `a·b + c`), so the bytes are the
    /// same on every x86-64 machine; a test compares the paths.
    fn process(&mut self, a: usize, b: usize, l_out: &mut [f32], r_out: &mut [f32]) -> bool {
        #[cfg(target_arch = "x86_64")]
        if self.vectors != Vectors::Baseline {
            if self.vectors == Vectors::Widest
                && std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512dq")
                && std::arch::is_x86_feature_detected!("avx512vl")
            {
                // SAFETY: the CPU has these AVX-512 extensions, checked just above.
                return unsafe { self.process_avx512(a, b, l_out, r_out) };
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2, checked just above.
                return unsafe { self.process_avx2(a, b, l_out, r_out) };
            }
        }
        self.process_any(a, b, l_out, r_out)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl")]
    fn process_avx512(&mut self, a: usize, b: usize, l_out: &mut [f32], r_out: &mut [f32]) -> bool {
        self.process_any(a, b, l_out, r_out)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn process_avx2(&mut self, a: usize, b: usize, l_out: &mut [f32], r_out: &mut [f32]) -> bool {
        self.process_any(a, b, l_out, r_out)
    }

    #[inline(always)]
    fn process_any(&mut self, a: usize, b: usize, l_out: &mut [f32], r_out: &mut [f32]) -> bool {
        let len = b - a;
        if self.skip_silence && self.silent(a) {
            return false;
        }
        let channels = if self.stereo { 2 } else { 1 };
        let sr = self.sr;
        let has_notes = self.has_notes;
        let note_hz = self.note_hz;
        let [b0, b1] = &mut self.bufs;
        let (b0, b1) = (&mut b0[..len], &mut b1[..len]);
        for (k, stage) in self.stages.iter_mut().enumerate() {
            let ctl = &stage.ctl;
            match &mut stage.unit {
                Unit::Osc(o) => {
                    let amp = ctl[osc::AMPLITUDE];
                    let glide = ctl[osc::DETUNE_CENTS].ramping() || (!has_notes && ctl[osc::FREQUENCY_HZ].ramping());
                    if glide {
                        let freq = |n: usize| {
                            let base = if has_notes { note_hz } else { ctl[osc::FREQUENCY_HZ].at(n) };
                            base * (ctl[osc::DETUNE_CENTS].at(n) / 1200.0).exp2()
                        };
                        o.fill_varying(b0, a, freq, |n| amp.at(n), sr);
                    } else if amp.ramping() {
                        o.fill(b0, a, 1.0);
                        for (i, y) in b0.iter_mut().enumerate() {
                            *y *= amp.at(a + i);
                        }
                    } else {
                        o.fill(b0, a, amp.value);
                    }
                    if k == 0 && channels == 2 {
                        b1.copy_from_slice(b0);
                    }
                }
                Unit::Smp(s) => {
                    b0.fill(0.0);
                    b1.fill(0.0);
                    let amp = ctl[smp::AMPLITUDE];
                    let semis = ctl[smp::SEMITONES];
                    let mut outs: Vec<&mut [f64]> =
                        if channels == 2 { vec![&mut b0[..], &mut b1[..]] } else { vec![&mut b0[..]] };
                    if semis.ramping() {
                        let off = s.note_offset();
                        s.fill_varying(&mut outs, a, |n| rate_of(off + semis.at(n)), |n| amp.at(n));
                    } else if amp.ramping() {
                        s.fill(&mut outs, a, 1.0);
                        for buf in outs.iter_mut() {
                            for (i, y) in buf.iter_mut().enumerate() {
                                *y *= amp.at(a + i);
                            }
                        }
                    } else {
                        s.fill(&mut outs, a, amp.value);
                    }
                }
                Unit::Env(e) => {
                    let eb = &mut self.env_buf[..len];
                    let gate_ramp = !has_notes && ctl[env::GATE].ramping();
                    if gate_ramp
                        || [env::ATTACK_MS, env::DECAY_MS, env::SUSTAIN, env::RELEASE_MS]
                            .iter()
                            .any(|&p| ctl[p].ramping())
                    {
                        for (i, y) in eb.iter_mut().enumerate() {
                            let n = a + i;
                            if gate_ramp {
                                e.set_gate(ctl[env::GATE].at(n));
                            }
                            e.fill(std::slice::from_mut(y), n, &env_settings(ctl, n), sr);
                        }
                    } else {
                        e.fill(eb, a, &env_settings(ctl, a), sr);
                    }
                    for (x, g) in b0.iter_mut().zip(eb.iter()) {
                        *x *= g;
                    }
                    if channels == 2 {
                        for (x, g) in b1.iter_mut().zip(eb.iter()) {
                            *x *= g;
                        }
                    }
                }
                Unit::Lp(l) => {
                    let (cut, wet) = (ctl[lp::CUTOFF_HZ], ctl[lp::MIX]);
                    for (ch, buf) in [&mut *b0, &mut *b1].into_iter().take(channels).enumerate() {
                        if cut.ramping() || wet.ramping() {
                            l.process_varying(ch, buf, |i| lowpass::alpha(cut.at(a + i), sr), |i| wet.at(a + i));
                        } else {
                            let alpha = l.alpha(cut.value, sr);
                            l.process(ch, buf, a, alpha, wet.value);
                        }
                    }
                }
            }
        }
        let right_src: &[f64] = if channels == 2 { b1 } else { b0 };
        if self.mix.iter().any(Control::ramping) {
            for i in 0..len {
                let (gl, gr) = gains(self.mix[mix::GAIN_DB].at(a + i), self.mix[mix::PAN].at(a + i));
                l_out[i] = (b0[i] * gl) as f32;
                r_out[i] = (right_src[i] * gr) as f32;
            }
        } else {
            let key = (self.mix[mix::GAIN_DB].value, self.mix[mix::PAN].value);
            let (gl, gr) = self.gains.get(key, |(db, pan)| gains(db, pan));
            for i in 0..len {
                l_out[i] = (b0[i] * gl) as f32;
                r_out[i] = (right_src[i] * gr) as f32;
            }
        }
        true
    }
}

/// Render one instrument to a stereo stem of `timing.length_samples` samples. `clips[i]` is the
/// clip of sampler layer `i` at the song's rate (ignored without a sampler).
/// A clip read by position that cannot be read fails the render ([`ClipReadError`]).
pub fn render_stem(inst: &InstrumentParams, timing: &Timing, clips: &[Clip]) -> Result<Stem, ClipReadError> {
    render(inst, timing, clips, true, Vectors::Widest)
}

/// A sampler clip read by position ([`Clip::from_reader`]) failed to read: the stem is not the
/// clip's sound. The message names the source and what failed.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipReadError(pub String);

impl std::fmt::Display for ClipReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ClipReadError {}

/// Which compiled copy of the renderer's block code runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Vectors {
    /// AVX-512 where the CPU has it, else AVX2, else the baseline.
    Widest,
    /// AVX2 where the CPU has it, else the baseline.
    #[cfg_attr(not(test), allow(dead_code))] // tests run it beside the others
    Avx2,
    /// The baseline x86-64 (SSE2) code, or the only one on other architectures.
    Baseline,
}

/// [`render_stem`], optionally without skipping silent stretches or with another copy of the
/// block code (tests compare them).
pub(crate) fn render(
    inst: &InstrumentParams,
    timing: &Timing,
    clips: &[Clip],
    skip_silence: bool,
    vectors: Vectors,
) -> Result<Stem, ClipReadError> {
    let mut stem = Stem::silent(timing.length_samples);
    render_into(inst, timing, clips, (skip_silence, vectors), &mut stem)?;
    Ok(stem)
}

/// [`render_stem`] handed to `sink` in order, a stretch of at most one block at a time (left,
/// right), so a song-long stem never has to be held as samples: the same samples, in pieces.
/// After a failed clip read the rest is still handed over, and the error returned at the end.
pub fn render_stem_into(
    inst: &InstrumentParams,
    timing: &Timing,
    clips: &[Clip],
    sink: &mut dyn FnMut(&[f32], &[f32]),
) -> Result<(), ClipReadError> {
    let block = grid(timing).min(timing.length_samples.max(1));
    let mut out = Pieces { left: vec![0.0; block], right: vec![0.0; block], sink };
    render_into(inst, timing, clips, (true, Vectors::Widest), &mut out)
}

/// Where a rendered stem goes, stretch by stretch in order.
trait StemOut {
    /// The left and right samples `a..b` are written to (at most one block).
    fn window(&mut self, a: usize, b: usize) -> (&mut [f32], &mut [f32]);
    /// Samples `a..b` are done: written, or (`silent`) left as they were and meant to be zero.
    fn done(&mut self, a: usize, b: usize, silent: bool);
}

/// A whole stem, zeroed up front, so silent stretches are never touched.
impl StemOut for Stem {
    fn window(&mut self, a: usize, b: usize) -> (&mut [f32], &mut [f32]) {
        (&mut self.left[a..b], &mut self.right[a..b])
    }

    fn done(&mut self, _a: usize, _b: usize, _silent: bool) {}
}

/// One block's buffers, handed to a sink as each stretch is done.
struct Pieces<'s> {
    left: Vec<f32>,
    right: Vec<f32>,
    sink: &'s mut dyn FnMut(&[f32], &[f32]),
}

impl StemOut for Pieces<'_> {
    fn window(&mut self, a: usize, b: usize) -> (&mut [f32], &mut [f32]) {
        (&mut self.left[..b - a], &mut self.right[..b - a])
    }

    fn done(&mut self, a: usize, b: usize, silent: bool) {
        let (l, r) = (&mut self.left[..b - a], &mut self.right[..b - a]);
        if silent {
            l.fill(0.0);
            r.fill(0.0);
        }
        (self.sink)(l, r);
    }
}

/// The block the song is walked in: `block_size` rounded up to a multiple of [`GROUP`], so that
/// no block boundary falls inside the aligned groups the envelope and low-pass unroll.
fn grid(timing: &Timing) -> usize {
    timing.block_size.max(1).next_multiple_of(GROUP)
}

/// `(skip_silence, vectors)`: see [`render`].
fn render_into(
    inst: &InstrumentParams,
    timing: &Timing,
    clips: &[Clip],
    (skip_silence, vectors): (bool, Vectors),
    out: &mut dyn StemOut,
) -> Result<(), ClipReadError> {
    let len = timing.length_samples;
    let block = grid(timing);
    if inst.mute || inst.modules.is_empty() || !inst.modules[0].kind.is_source() {
        let mut n = 0;
        while n < len {
            let end = (n + block).min(len);
            out.done(n, end, true);
            n = end;
        }
        return Ok(());
    }
    let (events, _) = events(inst, timing);
    let mut r = Renderer::new(inst, clips, timing);
    r.skip_silence = skip_silence;
    r.vectors = vectors;
    let mut next = 0;
    let mut n = 0;
    while n < len {
        while next < events.len() && events[next].sample <= n {
            r.apply(&events[next]);
            next += 1;
        }
        let block_end = ((n / block) + 1) * block;
        let event_at = events.get(next).map_or(len, |e| e.sample);
        let end = block_end.min(event_at).min(len);
        let (l, rr) = out.window(n, end);
        let wrote = r.process(n, end, l, rr);
        out.done(n, end, !wrote);
        n = end;
    }
    let failure = r.stages.iter().find_map(|s| match &s.unit {
        Unit::Smp(smp) => smp.read_failure(),
        _ => None,
    });
    failure.map_or(Ok(()), |e| Err(ClipReadError(e.to_string())))
}
