//! The amplitude envelope module: the seed's one-pole follower of a gate, or a linear ADSR with
//! segment lengths exact to the sample.
//!
//! **One-pole** (the seed's `AmplitudeEnvelope`): each sample the level moves toward the gate,
//! `level ← gate + (level − gate)·c`, with `c = e^(−1/(ms·sr/1000))` for `attack_ms` while the
//! gate is above the level and `release_ms` otherwise (`ms = 0` jumps). After `attack_ms` the
//! level has covered `1 − 1/e` (63.2 %) of the way. The distance to the gate is kept as the state
//! (`d ← d·c`), which is the same recurrence with a shorter dependency chain. A distance below
//! 2⁻²⁴ (−144 dB, under a 24-bit step) is set to exactly 0, so a closed gate gives exact silence
//! that costs nothing, and no value ever decays into subnormal numbers.
//!
//! **ADSR**: on a gate `g > 0` the level rises linearly from where it is to `g` in exactly
//! `A = round(attack_ms·sr/1000)` samples (it equals `g` at offset `A`), falls to `sustain·g`
//! in exactly `D` samples, holds, and on a closed gate falls from the level it had to 0 in
//! exactly `R` samples. A new gate while sounding restarts the attack from the current level.
//!
//! The gate comes from notes (`velocity/127` at the onset, 0 when the note ends) or, for an
//! instrument without notes, from the `gate` parameter and its lane.

use super::{GROUP, Memo};
use crate::dsp::envelope::ms_to_samples;

/// Below this distance from a closed gate the level snaps to 0.
pub const SILENCE_FLOOR: f64 = 1.0 / 16_777_216.0;

/// `e^(−1/(ms·sr/1000))`, 0 for `ms ≤ 0` (the seed's coefficient).
///
/// ```
/// use ntsbuild::arrange::envelope::one_pole_coefficient;
/// let c = one_pole_coefficient(10.0, 48_000.0);
/// assert!((c.powi(480) - (-1.0f64).exp()).abs() < 1e-12);
/// ```
pub fn one_pole_coefficient(ms: f64, sample_rate_hz: f64) -> f64 {
    if ms > 0.0 && ms.is_finite() { (-1.0 / (ms * sample_rate_hz / 1000.0)).exp() } else { 0.0 }
}

/// Envelope settings in force for a stretch of samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnvelopeSettings {
    pub attack_ms: f64,
    pub decay_ms: f64,
    pub sustain: f64,
    pub release_ms: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Stage {
    /// Level 0, gate closed: the output is exactly silent.
    Idle,
    /// One-pole: following the gate.
    Follow,
    Attack {
        k: usize,
        from: f64,
    },
    Decay {
        k: usize,
    },
    Sustain,
    Release {
        k: usize,
        from: f64,
    },
}

/// The envelope module's state.
#[derive(Debug, Clone)]
pub struct Envelope {
    adsr: bool,
    gate: f64,
    /// One-pole: `level − gate`. ADSR: the level.
    state: f64,
    stage: Stage,
    /// The one-pole's coefficient by `(ms, sample_rate_hz)`.
    coefficient: Memo<(f64, f64), f64>,
}

impl Envelope {
    /// An envelope whose gate is `initial_gate` at sample 0: the one-pole starts at that level
    /// (as the seed does), the ADSR attacks from 0.
    pub fn new(adsr: bool, initial_gate: f64) -> Envelope {
        let gate = initial_gate.clamp(0.0, 1.0);
        let stage = match (gate > 0.0, adsr) {
            (false, _) => Stage::Idle,
            (true, true) => Stage::Attack { k: 0, from: 0.0 },
            (true, false) => Stage::Follow,
        };
        Envelope { adsr, gate, state: 0.0, stage, coefficient: Memo::default() }
    }

    /// Whether the output is exactly 0 until the next gate change.
    pub fn is_silent(&self) -> bool {
        self.stage == Stage::Idle
    }

    /// Whether neither the level nor the state changes until the next gate change: at rest, or
    /// a one-pole sitting at its gate, or an ADSR sustaining.
    pub fn is_static(&self) -> bool {
        match self.stage {
            Stage::Idle | Stage::Sustain => true,
            Stage::Follow => self.state == 0.0,
            _ => false,
        }
    }

    /// The current level.
    pub fn level(&self) -> f64 {
        if self.adsr { self.state } else { self.gate + self.state }
    }

    /// Set the gate (`0` closes it) before the next sample.
    pub fn set_gate(&mut self, gate: f64) {
        let gate = if gate.is_finite() { gate.clamp(0.0, 1.0) } else { 0.0 };
        if self.adsr {
            let level = self.state;
            self.gate = gate;
            self.stage = if gate > 0.0 {
                Stage::Attack { k: 0, from: level }
            } else if level > 0.0 {
                Stage::Release { k: 0, from: level }
            } else {
                Stage::Idle
            };
        } else {
            let level = self.level();
            self.gate = gate;
            self.state = level - gate;
            self.stage = if gate == 0.0 && level == 0.0 { Stage::Idle } else { Stage::Follow };
        }
    }

    /// Write the envelope for `out.len()` samples under constant settings, the first being
    /// sample `start` of the song (the one-pole's groups are aligned to it).
    #[inline(always)]
    pub fn fill(&mut self, out: &mut [f64], start: usize, s: &EnvelopeSettings, sample_rate_hz: f64) {
        if self.stage == Stage::Idle {
            out.fill(0.0);
            return;
        }
        if self.adsr {
            self.fill_adsr(out, s, sample_rate_hz);
        } else {
            let ms = if self.state > 0.0 { s.release_ms } else { s.attack_ms };
            let c = self.coefficient.get((ms, sample_rate_hz), |(ms, sr)| one_pole_coefficient(ms, sr));
            self.fill_one_pole(out, start, c);
        }
    }

    /// The one-pole decay. Within a group of [`GROUP`] samples aligned to the song's sample
    /// grid (starting at a multiple of it) that lies wholly in `out`, the distance is taken
    /// from the group's start in one step each, `d·c, d·c², d·c³, d·c⁴` (the recurrence's
    /// dependency chain is one multiply per group instead of per sample). Samples outside whole
    /// groups, and from the first group in which the distance comes below the floor on, are
    /// stepped one by one with the snap. Which samples go which way depends only on where the
    /// song is cut (note and lane events, blocks of a multiple of [`GROUP`]), so the bytes are
    /// the same for every block size.
    #[inline(always)]
    fn fill_one_pole(&mut self, out: &mut [f64], start: usize, c: f64) {
        let head = start.wrapping_neg() % GROUP;
        let mut i = head.min(out.len());
        if !self.step_one_pole(&mut out[..i], c) {
            return;
        }
        let g = self.gate;
        let mut pw = [c; GROUP];
        for k in 1..GROUP {
            pw[k] = pw[k - 1] * c;
        }
        let mut d = self.state;
        if d != 0.0 {
            while let Some(q) = out.get_mut(i..i + GROUP) {
                let v: [f64; GROUP] = std::array::from_fn(|k| d * pw[k]);
                // One test for the group: the powers of `c ≤ 1` only shrink (rounding keeps
                // that), so the last distance is the smallest.
                if v[GROUP - 1].abs() < SILENCE_FLOOR {
                    break;
                }
                for (y, x) in q.iter_mut().zip(v) {
                    *y = g + x;
                }
                d = v[GROUP - 1];
                i += GROUP;
            }
        }
        self.state = d;
        self.step_one_pole(&mut out[i..], c);
    }

    /// Step the one-pole sample by sample with the snap: `false` when it reached the gate (and
    /// the rest of `out` was filled with it).
    #[inline(always)]
    fn step_one_pole(&mut self, out: &mut [f64], c: f64) -> bool {
        let g = self.gate;
        let mut d = self.state;
        for i in 0..out.len() {
            if d == 0.0 {
                // At the gate: nothing moves until the next gate change.
                out[i..].fill(g);
                if g == 0.0 {
                    self.stage = Stage::Idle;
                }
                self.state = d;
                return false;
            }
            d *= c;
            if d.abs() < SILENCE_FLOOR {
                d = 0.0;
            }
            out[i] = g + d;
        }
        self.state = d;
        true
    }

    #[inline(always)]
    fn fill_adsr(&mut self, out: &mut [f64], s: &EnvelopeSettings, sample_rate_hz: f64) {
        let a = ms_to_samples(s.attack_ms, sample_rate_hz);
        let d = ms_to_samples(s.decay_ms, sample_rate_hz);
        let r = ms_to_samples(s.release_ms, sample_rate_hz);
        let peak = self.gate;
        let sus = peak * s.sustain.clamp(0.0, 1.0);
        let mut i = 0;
        while i < out.len() {
            // Resolve the stage at this sample (a zero-length segment passes straight through).
            loop {
                match self.stage {
                    Stage::Attack { k, .. } if k >= a => self.stage = Stage::Decay { k: 0 },
                    Stage::Decay { k } if k >= d => self.stage = Stage::Sustain,
                    Stage::Release { k, .. } if k >= r => self.stage = Stage::Idle,
                    _ => break,
                }
            }
            // Write the rest of the segment (or of `out`) in one run: a segment at step `k` of
            // `len` is `from + (to − from)·k/len`.
            let rest = &mut out[i..];
            let run = match self.stage {
                Stage::Attack { k, from } => {
                    let run = (a - k).min(rest.len());
                    ramp(&mut rest[..run], k, a, |x| from + (peak - from) * x);
                    self.stage = Stage::Attack { k: k + run, from };
                    run
                }
                Stage::Decay { k } => {
                    let run = (d - k).min(rest.len());
                    ramp(&mut rest[..run], k, d, |x| peak - (peak - sus) * x);
                    self.stage = Stage::Decay { k: k + run };
                    run
                }
                Stage::Release { k, from } => {
                    let run = (r - k).min(rest.len());
                    ramp(&mut rest[..run], k, r, |x| from * (1.0 - x));
                    self.stage = Stage::Release { k: k + run, from };
                    run
                }
                Stage::Sustain | Stage::Follow => {
                    rest.fill(sus);
                    rest.len()
                }
                Stage::Idle => {
                    rest.fill(0.0);
                    rest.len()
                }
            };
            i += run;
            self.state = out[i - 1];
        }
    }
}

/// `out[j] = level((k + j)·(1/len))`: the step counted as an integer and one reciprocal, so
/// that the loop vectorises and each value is its own closed form.
#[inline(always)]
fn ramp(out: &mut [f64], k: usize, len: usize, level: impl Fn(f64) -> f64) {
    let (base, inv) = (k as f64, 1.0 / len as f64);
    for (j, y) in (0u32..).zip(out.iter_mut()) {
        *y = level((base + f64::from(j)) * inv);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SR: f64 = 48_000.0;

    fn settings(attack_ms: f64, release_ms: f64) -> EnvelopeSettings {
        EnvelopeSettings { attack_ms, decay_ms: 20.0, sustain: 0.5, release_ms }
    }

    #[test]
    fn one_pole_time_constants_are_the_seeds() {
        let s = settings(10.0, 120.0);
        let mut env = Envelope::new(false, 0.0);
        assert!(env.is_silent());
        env.set_gate(1.0);
        let mut up = vec![0.0; 480];
        env.fill(&mut up, 0, &s, SR);
        // Seed: level_n = gate + (level − gate)·c after each sample; 480 samples = 10 ms = τ.
        assert!((up[479] - (1.0 - (-1.0f64).exp())).abs() < 1e-12, "{}", up[479]);
        assert!(up.windows(2).all(|w| w[1] > w[0]));
        let mut rest = vec![0.0; 48_000];
        env.fill(&mut rest, 0, &s, SR);
        env.set_gate(0.0);
        let from = env.level();
        let mut down = vec![0.0; 5760];
        env.fill(&mut down, 0, &s, SR);
        // 120 ms = 5760 samples: the level falls to 1/e of where it started.
        assert!((down[5759] - from * (-1.0f64).exp()).abs() < 1e-12);
        // It snaps to exact silence once below 2^-24 and stays there.
        let mut tail = vec![1.0; 48_000 * 3];
        env.fill(&mut tail, 0, &s, SR);
        assert!(env.is_silent());
        let first_zero = tail.iter().position(|v| *v == 0.0).unwrap();
        assert!(tail[..first_zero].iter().all(|v| *v >= SILENCE_FLOOR));
        assert!(tail[first_zero..].iter().all(|v| *v == 0.0));
    }

    #[test]
    fn zero_times_jump() {
        let s = settings(0.0, 0.0);
        let mut env = Envelope::new(false, 0.0);
        env.set_gate(0.7);
        let mut out = vec![0.0; 3];
        env.fill(&mut out, 0, &s, SR);
        assert_eq!(out, vec![0.7; 3]);
        env.set_gate(0.0);
        env.fill(&mut out, 0, &s, SR);
        assert_eq!(out, vec![0.0; 3]);
        assert!(env.is_silent());
    }

    #[test]
    fn adsr_segments_are_exact_to_the_sample() {
        // 10 ms attack = 480 samples, 20 ms decay = 960, 30 ms release = 1440.
        let s = EnvelopeSettings { attack_ms: 10.0, decay_ms: 20.0, sustain: 0.5, release_ms: 30.0 };
        let mut env = Envelope::new(true, 0.0);
        env.set_gate(0.8);
        let mut on = vec![0.0; 4000];
        env.fill(&mut on, 0, &s, SR);
        assert_eq!(on[0], 0.0);
        assert!(on[479] < 0.8);
        assert_eq!(on[480], 0.8);
        assert!(on[480 + 959] > 0.4);
        assert_eq!(on[480 + 960], 0.4);
        assert!(on[480 + 960..].iter().all(|v| *v == 0.4));
        env.set_gate(0.0);
        let mut off = vec![1.0; 2000];
        env.fill(&mut off, 0, &s, SR);
        assert_eq!(off[0], 0.4);
        assert!(off[1439] > 0.0);
        assert_eq!(off[1440], 0.0);
        assert!(env.is_silent());
        // A new gate during the release attacks from the level reached, in exactly A samples.
        let mut env = Envelope::new(true, 0.0);
        env.set_gate(1.0);
        env.fill(&mut vec![0.0; 2000], 0, &s, SR);
        env.set_gate(0.0);
        env.fill(&mut vec![0.0; 720], 0, &s, SR);
        let mid = env.level();
        assert!(mid > 0.2 && mid < 0.3, "{mid}");
        env.set_gate(1.0);
        let mut again = vec![0.0; 481];
        env.fill(&mut again, 0, &s, SR);
        assert!((again[0] - (0.5 * (1.0 - 719.0 / 1440.0))).abs() < 1e-12);
        assert_eq!(again[480], 1.0);
    }

    #[test]
    fn fills_are_independent_of_cuts_at_group_multiples() {
        for adsr in [false, true] {
            let s = settings(7.0, 50.0);
            let run = |chunks: &[usize]| {
                let mut env = Envelope::new(adsr, 0.0);
                env.set_gate(0.9);
                let mut out = Vec::new();
                for (i, &c) in chunks.iter().enumerate() {
                    if i == 2 {
                        env.set_gate(0.0);
                    }
                    let mut buf = vec![0.0; c];
                    env.fill(&mut buf, out.len(), &s, SR);
                    out.extend(buf);
                }
                out
            };
            // Cuts at multiples of GROUP (where the renderer's blocks end) change nothing.
            let a = run(&[1000, 500, 3000]);
            let b = run(&[1000, 500, 12, 8, 980, 2000]);
            assert_eq!(a.len(), b.len());
            assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()), "adsr {adsr}");
        }
    }
}
