//! Sample-accurate envelopes: exponential decay, exponential attack–decay, AR and ADSR.
//!
//! Time is `t = n / sr` for sample index `n`. AR/ADSR segment lengths are converted to whole
//! samples first (`round(ms · sr / 1000)`), so every boundary falls on an exact, predictable
//! sample: the attack reaches 1.0 exactly at sample `A`, the decay reaches `sustain` exactly at
//! sample `A + D`, release starts at sample `G` (the gate) and reaches 0 at `G + R`.

use serde::Serialize;

/// `e^(−t/τ)`; a non-positive `τ` gives 1 at `t = 0` and 0 afterwards.
///
/// ```
/// use ntsbuild::dsp::envelope::exp_decay;
/// assert_eq!(exp_decay(0.0, 0.1), 1.0);
/// assert!((exp_decay(0.1, 0.1) - (-1.0f64).exp()).abs() < 1e-15);
/// ```
#[inline]
pub fn exp_decay(t_s: f64, tau_s: f64) -> f64 {
    if tau_s > 0.0 {
        (-t_s / tau_s).exp()
    } else if t_s <= 0.0 {
        1.0
    } else {
        0.0
    }
}

/// `len` samples of `e^(−t/τ)` with `t = n / sr`.
pub fn render_exp_decay(len: usize, tau_s: f64, sample_rate_hz: f64) -> Vec<f64> {
    (0..len).map(|n| exp_decay(n as f64 / sample_rate_hz, tau_s)).collect()
}

/// Streaming `e^(−t/τ)` for `t = n/sr`, n = 0, 1, 2, …: exact `exp` every [`ExpDecay::ANCHOR`]
/// samples, multiplication by `e^(−1/(τ·sr))` in between (relative error < 1e-13, a fixed
/// sequence of operations, so deterministic). About 10× cheaper than calling `exp` per sample.
///
/// ```
/// use ntsbuild::dsp::envelope::{exp_decay, ExpDecay};
/// let mut env = ExpDecay::new(0.01, 48_000.0);
/// for n in 0..2000 {
///     let v = env.next_value();
///     assert!((v - exp_decay(n as f64 / 48_000.0, 0.01)).abs() <= 1e-13 * v.max(1e-300));
/// }
/// ```
#[derive(Debug, Clone)]
pub struct ExpDecay {
    tau_s: f64,
    sample_rate_hz: f64,
    step: f64,
    value: f64,
    n: usize,
}

impl ExpDecay {
    /// Samples between exact re-anchoring.
    pub const ANCHOR: usize = 256;

    /// A decay with time constant `tau_s`, starting at 1.
    pub fn new(tau_s: f64, sample_rate_hz: f64) -> Self {
        let step = if tau_s > 0.0 { (-1.0 / (tau_s * sample_rate_hz)).exp() } else { 0.0 };
        Self { tau_s, sample_rate_hz, step, value: 1.0, n: 0 }
    }

    /// The value at the current sample, then advance one sample.
    #[inline]
    pub fn next_value(&mut self) -> f64 {
        let v = if self.n.is_multiple_of(Self::ANCHOR) {
            exp_decay(self.n as f64 / self.sample_rate_hz, self.tau_s)
        } else {
            self.value * self.step
        };
        self.value = v;
        self.n += 1;
        v
    }
}

/// Milliseconds to a whole number of samples: `round(ms · sr / 1000)`; negative or NaN → 0,
/// saturating at `usize::MAX`.
pub fn ms_to_samples(ms: f64, sample_rate_hz: f64) -> usize {
    let n = (ms * sample_rate_hz / 1000.0).round();
    if n.is_nan() || n <= 0.0 {
        0
    } else {
        // `as` saturates for values beyond usize::MAX.
        n as usize
    }
}

/// Linear attack-release: 0 → 1 over `attack_ms`, then 1 → 0 over `release_ms`, then 0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Ar {
    pub attack_ms: f64,
    pub release_ms: f64,
}

impl Ar {
    /// Envelope value at sample `n`.
    pub fn value_at(&self, n: usize, sample_rate_hz: f64) -> f64 {
        let a = ms_to_samples(self.attack_ms, sample_rate_hz);
        let r = ms_to_samples(self.release_ms, sample_rate_hz);
        Segments { attack: a, decay: r, sustain: 0.0, gate: usize::MAX, release: 0 }.value_at(n)
    }

    /// Exactly `len` samples.
    pub fn render(&self, len: usize, sample_rate_hz: f64) -> Vec<f64> {
        (0..len).map(|n| self.value_at(n, sample_rate_hz)).collect()
    }
}

/// Linear ADSR with a gate.
///
/// - attack: 0 → 1 over `attack_ms` (a zero attack starts at 1),
/// - decay: 1 → `sustain` over `decay_ms`,
/// - sustain: holds `sustain` until the gate closes at `gate_ms` (measured from sample 0),
/// - release: from the level the envelope had at the gate sample down to 0 over `release_ms`
///   (a gate that closes during attack or decay releases from that partial level).
///
/// ```
/// use ntsbuild::dsp::envelope::Adsr;
/// let env = Adsr { attack_ms: 1.0, decay_ms: 1.0, sustain: 0.5, release_ms: 1.0, gate_ms: 3.0 };
/// let v = env.render(5, 1000.0); // one sample per millisecond
/// assert_eq!(v, vec![0.0, 1.0, 0.5, 0.5, 0.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Adsr {
    pub attack_ms: f64,
    pub decay_ms: f64,
    pub sustain: f64,
    pub release_ms: f64,
    pub gate_ms: f64,
}

impl Adsr {
    /// An envelope that is identically 1 for any voice up to `gate_ms` long.
    pub fn unity(gate_ms: f64) -> Self {
        Self { attack_ms: 0.0, decay_ms: 0.0, sustain: 1.0, release_ms: 0.0, gate_ms }
    }

    fn segments(&self, sample_rate_hz: f64) -> Segments {
        Segments {
            attack: ms_to_samples(self.attack_ms, sample_rate_hz),
            decay: ms_to_samples(self.decay_ms, sample_rate_hz),
            sustain: if self.sustain.is_nan() { 1.0 } else { self.sustain.clamp(0.0, 1.0) },
            gate: ms_to_samples(self.gate_ms, sample_rate_hz),
            release: ms_to_samples(self.release_ms, sample_rate_hz),
        }
    }

    /// Envelope value at sample `n`.
    pub fn value_at(&self, n: usize, sample_rate_hz: f64) -> f64 {
        self.segments(sample_rate_hz).value_at(n)
    }

    /// Exactly `len` samples.
    pub fn render(&self, len: usize, sample_rate_hz: f64) -> Vec<f64> {
        let seg = self.segments(sample_rate_hz);
        (0..len).map(|n| seg.value_at(n)).collect()
    }

    /// Multiply `buf` (sample 0 = envelope start) by the envelope, without allocating.
    pub fn apply(&self, buf: &mut [f64], sample_rate_hz: f64) {
        let seg = self.segments(sample_rate_hz);
        for (n, x) in buf.iter_mut().enumerate() {
            *x *= seg.value_at(n);
        }
    }
}

/// The exponential attack–decay envelope of a one-shot layer (seed 001's per-layer amplitude
/// envelope with its gate open for the whole voice).
///
/// With `A = round(attack_ms·sr/1000)` and `D = round(decay_ms·sr/1000)` samples:
/// - attack, `n < A`: `1 − e^(−3n/A)` (95 % at the end of the attack);
/// - decay, `0 ≤ k = n − A < D`: `s + (1 − s)·e^(−3k/D)`: from 1 towards `sustain` `s`, 95 % of
///   the way there after `decay_ms` (time constant `decay_ms/3`);
/// - after the decay the level it reached, `s + (1 − s)·e^(−3)`, holds (with `D = 0`: `s`).
///
/// So at `sustain` 0 a layer falls to e^(−3) (−26 dB) over `decay_ms` and stays there: what
/// still decays after that is the layer's own sound (an oscillator's decay, a filter's ring).
///
/// ```
/// use ntsbuild::dsp::envelope::ExpAd;
/// let env = ExpAd { attack_ms: 0.0, decay_ms: 100.0, sustain: 0.0 };
/// let v = env.render(300, 1000.0); // one sample per millisecond
/// assert_eq!(v[0], 1.0);
/// assert!((v[100] - (-3.0f64).exp()).abs() < 1e-12);
/// assert_eq!(v[299], v[100]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ExpAd {
    pub attack_ms: f64,
    pub decay_ms: f64,
    /// Level approached by the decay, in `[0, 1]`.
    pub sustain: f64,
}

impl ExpAd {
    /// An envelope ≡ 1.
    pub const FLAT: ExpAd = ExpAd { attack_ms: 0.0, decay_ms: 0.0, sustain: 1.0 };

    fn sustain_level(&self) -> f64 {
        if self.sustain.is_nan() { 1.0 } else { self.sustain.clamp(0.0, 1.0) }
    }

    /// The level held after the decay.
    pub fn floor(&self, sample_rate_hz: f64) -> f64 {
        let s = self.sustain_level();
        if ms_to_samples(self.decay_ms, sample_rate_hz) == 0 { s } else { s + (1.0 - s) * (-3.0f64).exp() }
    }

    /// Exactly `len` samples.
    pub fn render(&self, len: usize, sample_rate_hz: f64) -> Vec<f64> {
        let mut v = vec![1.0; len];
        self.apply(&mut v, sample_rate_hz);
        v
    }

    /// Multiply `buf` (sample 0 = the layer's onset) by the envelope.
    pub fn apply(&self, buf: &mut [f64], sample_rate_hz: f64) {
        let a = ms_to_samples(self.attack_ms, sample_rate_hz).min(buf.len());
        let d = ms_to_samples(self.decay_ms, sample_rate_hz);
        let s = self.sustain_level();
        let (attack, rest) = buf.split_at_mut(a);
        if a > 0 {
            // 1 − e^(−3n/A): a decaying exponential with time constant A/3 samples.
            let mut rise = ExpDecay::new(a as f64 / 3.0, 1.0);
            for x in attack.iter_mut() {
                *x *= 1.0 - rise.next_value();
            }
        }
        let d_here = d.min(rest.len());
        let (decay, hold) = rest.split_at_mut(d_here);
        if d > 0 {
            let mut fall = ExpDecay::new(d as f64 / 3.0, 1.0);
            for x in decay.iter_mut() {
                *x *= s + (1.0 - s) * fall.next_value();
            }
        }
        let floor = self.floor(sample_rate_hz);
        if floor != 1.0 {
            for x in hold.iter_mut() {
                *x *= floor;
            }
        }
    }
}

/// An ADSR resolved to whole samples.
#[derive(Debug, Clone, Copy)]
struct Segments {
    attack: usize,
    decay: usize,
    sustain: f64,
    gate: usize,
    release: usize,
}

impl Segments {
    /// The level ignoring the gate.
    fn held_value(&self, n: usize) -> f64 {
        if n < self.attack {
            n as f64 / self.attack as f64
        } else if n - self.attack < self.decay {
            1.0 - (1.0 - self.sustain) * ((n - self.attack) as f64 / self.decay as f64)
        } else {
            self.sustain
        }
    }

    fn value_at(&self, n: usize) -> f64 {
        if n < self.gate {
            return self.held_value(n);
        }
        let k = n - self.gate;
        if k >= self.release { 0.0 } else { self.held_value(self.gate) * (1.0 - k as f64 / self.release as f64) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SR: f64 = 48_000.0;

    fn adsr() -> Adsr {
        Adsr { attack_ms: 10.0, decay_ms: 20.0, sustain: 0.4, release_ms: 30.0, gate_ms: 100.0 }
    }

    #[test]
    fn exact_lengths() {
        for len in [0, 1, 7, 480, 24_001] {
            assert_eq!(adsr().render(len, SR).len(), len);
            assert_eq!(render_exp_decay(len, 0.1, SR).len(), len);
            assert_eq!(Ar { attack_ms: 1.0, release_ms: 5.0 }.render(len, SR).len(), len);
        }
    }

    #[test]
    fn adsr_boundaries_on_exact_samples() {
        let v = adsr().render(48_000, SR);
        // 10 ms = 480 samples, 20 ms = 960, gate 100 ms = 4800, release 30 ms = 1440.
        assert_eq!(v[0], 0.0);
        assert!(v[479] < 1.0);
        assert_eq!(v[480], 1.0);
        assert!(v[480 + 959] > 0.4);
        assert_eq!(v[480 + 960], 0.4);
        assert_eq!(v[4799], 0.4);
        assert_eq!(v[4800], 0.4);
        assert!(v[4801] < 0.4);
        assert!(v[4800 + 1439] > 0.0);
        assert_eq!(v[4800 + 1440], 0.0);
        assert!(v[4800 + 1440..].iter().all(|&x| x == 0.0));
    }

    #[test]
    fn adsr_monotonic_segments() {
        let v = adsr().render(10_000, SR);
        assert!(v[..=480].windows(2).all(|w| w[1] >= w[0]));
        assert!(v[480..=1440].windows(2).all(|w| w[1] <= w[0]));
        assert!(v[4800..].windows(2).all(|w| w[1] <= w[0]));
        assert!(v.iter().all(|&x| (0.0..=1.0).contains(&x)));
    }

    #[test]
    fn early_gate_releases_from_partial_level() {
        let env = Adsr { gate_ms: 5.0, ..adsr() };
        let v = env.render(5000, SR);
        let at_gate = v[240];
        assert!((at_gate - 0.5).abs() < 1e-12);
        assert!(v[241] < at_gate);
        assert_eq!(v[240 + 1440], 0.0);
    }

    #[test]
    fn unity_is_identically_one() {
        let v = Adsr::unity(4000.0).render(48_000 * 4, SR);
        assert!(v.iter().all(|&x| x == 1.0));
    }

    #[test]
    fn apply_matches_render() {
        let env = adsr();
        let mut buf = vec![2.0; 6000];
        env.apply(&mut buf, SR);
        let r = env.render(6000, SR);
        assert!(buf.iter().zip(&r).all(|(b, r)| *b == 2.0 * r));
    }

    #[test]
    fn ar_shape() {
        let ar = Ar { attack_ms: 1.0, release_ms: 2.0 };
        let v = ar.render(200, SR);
        assert_eq!(v[0], 0.0);
        assert_eq!(v[48], 1.0);
        assert_eq!(v[48 + 96], 0.0);
        assert!(v[..=48].windows(2).all(|w| w[1] >= w[0]));
        assert!(v[48..].windows(2).all(|w| w[1] <= w[0]));
    }

    #[test]
    fn exp_decay_monotonic_and_exact_at_tau() {
        let v = render_exp_decay(4800, 0.01, SR);
        assert_eq!(v[0], 1.0);
        assert!(v.windows(2).all(|w| w[1] < w[0]));
        assert!((v[480] - (-1.0f64).exp()).abs() < 1e-15);
        assert_eq!(exp_decay(0.5, 0.0), 0.0);
    }

    #[test]
    fn exp_ad_segments() {
        let env = ExpAd { attack_ms: 10.0, decay_ms: 100.0, sustain: 0.2 };
        let v = env.render(48_000, SR);
        // attack: 480 samples rising to 1 − e^(−3) at its end.
        assert_eq!(v[0], 0.0);
        assert!(v[..480].windows(2).all(|w| w[1] > w[0]));
        assert!((v[479] - (1.0 - (-3.0f64 * 479.0 / 480.0).exp())).abs() < 1e-12);
        // decay starts at 1 and reaches s + (1 − s)·e^(−3) after 4800 samples, then holds.
        assert_eq!(v[480], 1.0);
        assert!(v[480..480 + 4800].windows(2).all(|w| w[1] < w[0]));
        let floor = 0.2 + 0.8 * (-3.0f64).exp();
        assert!((v[480 + 2400] - (0.2 + 0.8 * (-1.5f64).exp())).abs() < 1e-12);
        assert!((v[480 + 4800] - floor).abs() < 1e-15);
        assert!(v[480 + 4800..].iter().all(|&x| x == v[480 + 4800]));
        assert_eq!(env.floor(SR), v[47_999]);
    }

    #[test]
    fn exp_ad_edge_cases() {
        assert!(ExpAd::FLAT.render(1000, SR).iter().all(|&x| x == 1.0));
        let no_decay = ExpAd { attack_ms: 0.0, decay_ms: 0.0, sustain: 0.3 };
        assert!(no_decay.render(100, SR).iter().all(|&x| x == 0.3));
        // Shorter buffers than the segments are fine.
        let long = ExpAd { attack_ms: 1000.0, decay_ms: 1000.0, sustain: 0.0 };
        assert_eq!(long.render(10, SR).len(), 10);
        let nan = ExpAd { attack_ms: f64::NAN, decay_ms: 5.0, sustain: f64::NAN };
        assert!(nan.render(1000, SR).iter().all(|x| x.is_finite()));
    }

    #[test]
    fn ms_to_samples_is_robust() {
        assert_eq!(ms_to_samples(-1.0, SR), 0);
        assert_eq!(ms_to_samples(f64::NAN, SR), 0);
        assert_eq!(ms_to_samples(f64::INFINITY, SR), usize::MAX);
        assert_eq!(ms_to_samples(0.5, 44_100.0), 22);
    }
}
