//! The low-pass module: the seed's one-pole `y ← y + α·(x − y)`, `α = 1 − e^(−2π·fc/sr)`, with a
//! dry/wet `mix` (`out = (1 − mix)·x + mix·y`).
//!
//! Its response is `H(z) = α / (1 − (1 − α)·z⁻¹)`, so `|H(f)| = α / √(1 − 2b·cos ω + b²)` with
//! `b = 1 − α`, `ω = 2πf/sr` ([`magnitude`]). At the cutoff this is −3.01 dB while the cutoff is
//! well below Nyquist (within 0.02 dB up to sr/48 = 1 kHz at 48 kHz) and a little less above
//! (−2.91 dB at the seed's default 4 kHz); the tests check the rendered filter against the
//! formula. A state below 1e-20 (−400 dB) is set to 0, so silence stays exact and no value
//! decays into subnormal numbers. Each channel has its own state.

use std::f64::consts::TAU;

use super::{GROUP, Memo};

/// States smaller than this snap to 0.
const TINY: f64 = 1e-20;

/// `1 − e^(−2π·fc/sr)` (the seed's coefficient), with `fc` clamped to [0, 0.49·sr].
pub fn alpha(cutoff_hz: f64, sample_rate_hz: f64) -> f64 {
    let fc = if cutoff_hz.is_finite() { cutoff_hz.clamp(0.0, 0.49 * sample_rate_hz) } else { 0.0 };
    1.0 - (-TAU * fc / sample_rate_hz).exp()
}

/// The analytic gain `|H(f)|` of the filter at `freq_hz` (fully wet).
///
/// ```
/// use ntsbuild::arrange::lowpass::magnitude;
/// let db = 20.0 * magnitude(500.0, 500.0, 48_000.0).log10();
/// assert!((db + 3.01).abs() < 0.02);
/// ```
pub fn magnitude(cutoff_hz: f64, freq_hz: f64, sample_rate_hz: f64) -> f64 {
    let a = alpha(cutoff_hz, sample_rate_hz);
    let b = 1.0 - a;
    let w = TAU * freq_hz / sample_rate_hz;
    a / (1.0 - 2.0 * b * w.cos() + b * b).sqrt()
}

/// The low-pass module's state (up to two channels).
#[derive(Debug, Clone, Default)]
pub struct Lowpass {
    y: [f64; 2],
    /// [`Lowpass::alpha`] by `(cutoff_hz, sample_rate_hz)`.
    coefficient: Memo<(f64, f64), f64>,
}

impl Lowpass {
    pub fn new() -> Lowpass {
        Lowpass::default()
    }

    /// [`alpha`], computed again only when the cutoff changes (it is asked once per stretch).
    pub fn alpha(&mut self, cutoff_hz: f64, sample_rate_hz: f64) -> f64 {
        self.coefficient.get((cutoff_hz, sample_rate_hz), |(fc, sr)| alpha(fc, sr))
    }

    /// Whether every channel's state is exactly 0 (silent input then gives silent output).
    pub fn is_at_rest(&self) -> bool {
        self.y == [0.0, 0.0]
    }

    /// Filter channel `ch` in place with a constant coefficient and mix; `buf[0]` is sample
    /// `start` of the song.
    ///
    /// Within a group of `GROUP` samples aligned to the song's sample grid (starting at a
    /// multiple of it) that lies wholly in `buf`, the recurrence is unrolled from the state
    /// before the group: with `b = 1 − α`, `u = α·x` and the group's own response from rest
    /// `s₀ = u₀, sₖ = b·sₖ₋₁ + uₖ`, the states are `yₖ = bᵏ⁺¹·y + sₖ`. The partial sums do not wait
    /// for `y`, so the dependency chain is one multiply and add per group instead of per sample.
    /// A group in which some state comes within `TINY` of 0 (other than 0 itself), and the
    /// samples outside whole groups, are filtered one by one with the snap. Which samples go
    /// which way depends only on where the song is cut (note and lane events, blocks of a
    /// multiple of `GROUP`), so the bytes are the same for every block size; they differ from
    /// the one-by-one recurrence by rounding (about 1e-16 relative).
    #[inline(always)]
    pub fn process(&mut self, ch: usize, buf: &mut [f64], start: usize, alpha: f64, mix: f64) {
        if mix == 1.0 {
            self.run::<false>(ch, buf, start, alpha, mix);
        } else {
            self.run::<true>(ch, buf, start, alpha, mix);
        }
    }

    #[inline(always)]
    fn run<const BLEND: bool>(&mut self, ch: usize, buf: &mut [f64], start: usize, alpha: f64, mix: f64) {
        let b = 1.0 - alpha;
        let dry = 1.0 - mix;
        let mut pw = [b; GROUP];
        for k in 1..GROUP {
            pw[k] = pw[k - 1] * b;
        }
        let out = |x: f64, y: f64| if BLEND { dry * x + mix * y } else { y };
        let step = |z: f64, x: f64| {
            let z = b * z + alpha * x;
            if z.abs() < TINY { 0.0 } else { z }
        };
        let mut y = self.y[ch];
        let head = (start.wrapping_neg() % GROUP).min(buf.len());
        let (first, rest) = buf.split_at_mut(head);
        for x in first.iter_mut() {
            y = step(y, *x);
            *x = out(*x, y);
        }
        let mut groups = rest.chunks_exact_mut(GROUP);
        for q in &mut groups {
            let mut s = [0.0; GROUP];
            s[0] = alpha * q[0];
            for k in 1..GROUP {
                s[k] = b * s[k - 1] + alpha * q[k];
            }
            let v: [f64; GROUP] = std::array::from_fn(|k| pw[k] * y + s[k]);
            // One test for the group (`|`, not `||`: no branch per sample).
            if v.iter().fold(false, |t, z| t | ((z.abs() < TINY) & (*z != 0.0))) {
                for x in q.iter_mut() {
                    y = step(y, *x);
                    *x = out(*x, y);
                }
            } else {
                for (x, z) in q.iter_mut().zip(v) {
                    *x = out(*x, z);
                }
                y = v[GROUP - 1];
            }
        }
        for x in groups.into_remainder() {
            y = step(y, *x);
            *x = out(*x, y);
        }
        self.y[ch] = y;
    }

    /// Filter channel `ch` with a coefficient and mix given per sample (index within `buf`).
    #[inline]
    pub fn process_varying(
        &mut self,
        ch: usize,
        buf: &mut [f64],
        alpha: impl Fn(usize) -> f64,
        mix: impl Fn(usize) -> f64,
    ) {
        let mut y = self.y[ch];
        for (i, x) in buf.iter_mut().enumerate() {
            let a = alpha(i);
            let m = mix(i);
            y = (1.0 - a) * y + a * *x;
            y = if y.abs() < TINY { 0.0 } else { y };
            *x = (1.0 - m) * *x + m * y;
        }
        self.y[ch] = y;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SR: f64 = 48_000.0;

    /// Steady-state gain of the rendered filter for a sine at `f`: the sine's amplitude after
    /// 2 s, by projection over a whole number of periods.
    fn measured_gain(fc: f64, f: f64, mix: f64) -> f64 {
        let n = 96_000;
        let mut x: Vec<f64> = (0..n).map(|i| (TAU * f * i as f64 / SR).sin()).collect();
        let mut lp = Lowpass::new();
        lp.process(0, &mut x, 0, alpha(fc, SR), mix);
        let period = SR / f;
        let cycles = ((n / 2) as f64 / period).floor();
        let len = (cycles * period).round() as usize;
        let start = n - len;
        let (mut s, mut c) = (0.0, 0.0);
        for (i, y) in x[start..].iter().enumerate() {
            let t = TAU * f * (start + i) as f64 / SR;
            s += y * t.sin();
            c += y * t.cos();
        }
        2.0 * (s * s + c * c).sqrt() / len as f64
    }

    #[test]
    fn minus_3_db_at_the_cutoff() {
        for fc in [50.0, 200.0, 1000.0] {
            let db = 20.0 * measured_gain(fc, fc, 1.0).log10();
            assert!((db + 3.0103).abs() < 0.02, "fc {fc}: {db:.4} dB");
        }
    }

    #[test]
    fn rendered_response_matches_the_analytic_one() {
        for fc in [100.0f64, 1000.0, 4000.0, 12_000.0] {
            for f in [fc / 4.0, fc, 2.0 * fc.min(10_000.0), 15_000.0] {
                let have = measured_gain(fc, f, 1.0);
                let want = magnitude(fc, f, SR);
                let db = 20.0 * (have / want).log10();
                assert!(db.abs() < 0.001, "fc {fc} f {f}: {db:.5} dB off");
            }
        }
        // The seed's default 4 kHz cutoff sits at −2.91 dB.
        assert!((20.0 * magnitude(4000.0, 4000.0, SR).log10() + 2.91).abs() < 0.01);
    }

    #[test]
    fn mix_blends_dry_and_wet() {
        let dry = measured_gain(1000.0, 8000.0, 0.0);
        assert!((dry - 1.0).abs() < 1e-9);
        // Half wet: |0.5 + 0.5·H| — check against the complex formula.
        let (fc, f) = (1000.0, 8000.0);
        let a = alpha(fc, SR);
        let w = TAU * f / SR;
        let (re, im) = (1.0 - (1.0 - a) * w.cos(), (1.0 - a) * w.sin());
        let d = re * re + im * im;
        let (hr, hi) = (a * re / d, -a * im / d);
        let want = ((0.5 + 0.5 * hr).powi(2) + (0.5 * hi).powi(2)).sqrt();
        let have = measured_gain(fc, f, 0.5);
        assert!((have - want).abs() < 1e-4, "{have} vs {want}");
    }

    #[test]
    fn silence_stays_exact_and_grouped_matches_one_by_one() {
        let mut x = vec![1.0; 100];
        x.extend(vec![0.0; 20_000]);
        let a = alpha(4000.0, SR);
        let mut lp = Lowpass::new();
        let mut y = x.clone();
        lp.process(0, &mut y, 0, a, 1.0);
        assert!(lp.is_at_rest());
        assert_eq!(*y.last().unwrap(), 0.0);
        // The per-sample definition.
        let mut lp2 = Lowpass::new();
        let mut z = x.clone();
        lp2.process_varying(0, &mut z, |_| a, |_| 1.0);
        assert!(lp2.is_at_rest());
        assert!(y.iter().zip(&z).all(|(p, q)| (p - q).abs() <= 1e-13 * q.abs() + 2.0 * TINY));
        // Cuts at multiples of GROUP change no bit, wherever the song starts.
        for start in [0, 3, 4097] {
            let mut whole = x.clone();
            Lowpass::new().process(0, &mut whole, start, a, 0.7);
            let mut lp3 = Lowpass::new();
            let mut cut = x.clone();
            let first = (start.wrapping_neg() % GROUP) + 40;
            let (p, q) = cut.split_at_mut(first);
            lp3.process(0, p, start, a, 0.7);
            lp3.process(0, q, start + first, a, 0.7);
            assert!(whole.iter().zip(&cut).all(|(p, q)| p.to_bits() == q.to_bits()), "start {start}");
        }
    }
}
