//! A four-line feedback delay network with Hadamard mixing, per-line damping and a soft limiter
//! (the snare shell resonator).

use crate::dsp::clip::tanh_clip;
use crate::dsp::delay::DelayLine;
use crate::dsp::onepole::OnePoleLowpass;

/// Settings of a [`Fdn4`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fdn4Params {
    /// Line delays in samples (clamped to ≥ 1).
    pub delays_samples: [f64; 4],
    /// Loop gain applied to the mixed feedback (< 1 for a decaying ring).
    pub feedback: f64,
    /// Threshold of the `T·tanh(x/T)` limiter on each line input.
    pub limit: f64,
    /// Damping cutoff `base + per_peak · (input block peak)`, in Hz.
    pub damping_base_hz: f64,
    pub damping_per_peak_hz: f64,
    /// Block length (samples) over which the input peak, and so the damping, is held.
    pub block_len: usize,
    pub sample_rate_hz: f64,
}

/// Four delay lines; per sample: read each line, damp it with a one-pole low-pass, mix with
/// `0.5·H₄` (orthonormal Hadamard), write `limit(input + feedback·mixed)` back; the output is
/// the mean of the damped line outputs. The damping cutoff is updated once per block from the
/// peak of the input block (a harder strike opens the loop filter).
#[derive(Debug, Clone)]
pub struct Fdn4 {
    params: Fdn4Params,
    lines: [DelayLine; 4],
    damping: [OnePoleLowpass; 4],
}

impl Fdn4 {
    /// A silent network.
    pub fn new(params: Fdn4Params) -> Self {
        let mut params = params;
        for d in params.delays_samples.iter_mut() {
            *d = if d.is_finite() { d.max(1.0) } else { 1.0 };
        }
        params.block_len = params.block_len.max(1);
        let max_delay = params.delays_samples.iter().fold(1.0f64, |m, d| m.max(*d));
        let line = DelayLine::new(max_delay.ceil() as usize + 1);
        let lp = OnePoleLowpass::new(params.damping_base_hz, params.sample_rate_hz);
        Self {
            params,
            lines: [line.clone(), line.clone(), line.clone(), line],
            damping: [lp.clone(), lp.clone(), lp.clone(), lp],
        }
    }

    /// Run the network over `input`, writing `out` (same length; extra samples of the longer
    /// slice are ignored).
    pub fn process(&mut self, input: &[f64], out: &mut [f64]) {
        let p = self.params;
        for (block_in, block_out) in input.chunks(p.block_len).zip(out.chunks_mut(p.block_len)) {
            let peak = block_in.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            let cutoff = p.damping_base_hz + p.damping_per_peak_hz * peak;
            for lp in self.damping.iter_mut() {
                lp.set_cutoff(cutoff, p.sample_rate_hz);
            }
            for (&x, y) in block_in.iter().zip(block_out.iter_mut()) {
                *y = self.tick(x);
            }
        }
    }

    #[inline]
    fn tick(&mut self, x: f64) -> f64 {
        let p = &self.params;
        let v: [f64; 4] = std::array::from_fn(|i| self.damping[i].process(self.lines[i].read(p.delays_samples[i])));
        let mixed = [
            0.5 * (v[0] + v[1] + v[2] + v[3]),
            0.5 * (v[0] - v[1] + v[2] - v[3]),
            0.5 * (v[0] + v[1] - v[2] - v[3]),
            0.5 * (v[0] - v[1] - v[2] + v[3]),
        ];
        for (line, m) in self.lines.iter_mut().zip(mixed) {
            line.write(tanh_clip(x + p.feedback * m, p.limit));
        }
        0.25 * (v[0] + v[1] + v[2] + v[3])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(feedback: f64) -> Fdn4Params {
        Fdn4Params {
            delays_samples: [100.0, 97.1, 112.3, 89.0],
            feedback,
            limit: 0.89,
            damping_base_hz: 2000.0,
            damping_per_peak_hz: 8000.0,
            block_len: 64,
            sample_rate_hz: 48_000.0,
        }
    }

    #[test]
    fn impulse_rings_and_decays() {
        let mut fdn = Fdn4::new(params(0.9));
        let mut input = vec![0.0; 48_000];
        input[0] = 1.0;
        let mut out = vec![0.0; 48_000];
        fdn.process(&input, &mut out);
        assert!(out.iter().all(|y| y.is_finite()));
        let early: f64 = out[..4800].iter().map(|v| v * v).sum();
        let late: f64 = out[43_200..].iter().map(|v| v * v).sum();
        assert!(early > 0.0);
        assert!(late < early * 1e-3);
        // The first output appears after the shortest line delay.
        assert!(out[..89].iter().all(|&y| y == 0.0));
    }

    #[test]
    fn bounded_under_heavy_drive() {
        let mut fdn = Fdn4::new(params(0.96));
        let input = vec![1.0; 10_000];
        let mut out = vec![0.0; 10_000];
        fdn.process(&input, &mut out);
        assert!(out.iter().all(|y| y.abs() <= 2.0));
    }
}
