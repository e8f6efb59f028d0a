//! The voice post chain (seed 001 §7): DC removal, soft clip towards −0.8 dBFS, fades, ceiling 0.92.

use crate::dsp::clip::tanh_ceiling;
use crate::dsp::level::{db_to_lin, normalize_peak, peak};
use crate::dsp::onepole::DcBlocker;

/// DC blocker corner frequency.
pub const DC_CUTOFF_HZ: f64 = 10.0;
/// Ceiling of the soft clip, dBFS.
pub const SOFT_CLIP_DB: f64 = -0.8;
/// Linear fade-in, as the seed's. It keeps a kick's attack (a 0.5 ms ramp into the first
/// quarter cycle); a longer fade would take decibels off the loudest 10 ms.
pub const FADE_IN_MS: f64 = 0.5;
/// The onset rule of the seed's acceptance checks: the first [`ONSET_SAMPLES`] samples stay at
/// or below this. Where the plain fade-in leaves a louder sample there, the fade is lengthened
/// just enough (at most `ONSET_SAMPLES·T/ONSET_LIMIT` ≈ 85 samples).
pub const ONSET_LIMIT: f64 = 0.69;
pub const ONSET_SAMPLES: usize = 64;
/// Shortest raised-cosine fade-out. The seed's 2 ms cannot guarantee "last 64 samples ≤ 0.4"
/// for a voice still ringing at full level when cut; 4 ms does at 44.1 kHz and above:
/// 0.92·0.5·(1 − cos(π·63/176)) = 0.27.
pub const MIN_FADE_OUT_MS: f64 = 4.0;
/// Final peak ceiling (linear).
pub const CEILING: f64 = 0.92;

/// Run the post chain in place on a voice at `sample_rate_hz`:
/// 1. DC blocker at 10 Hz;
/// 2. soft clip `T·tanh(x)`, T = 10^(−0.8/20) ≈ 0.912, as the seed engine: quiet passages
///    lose 0.8 dB, loud peaks are rounded off (full scale comes out at −3.2 dBFS);
/// 3. fades: linear fade-in `n/F_in` over [`FADE_IN_MS`] (longer where the onset rule needs
///    it: `F_in ≥ n·|x[n]|/0.69` for every `n < 64` with `|x[n]| > 0.69`), raised-cosine
///    fade-out over `fade_out_ms` (at least [`MIN_FADE_OUT_MS`]), both exactly 0 at the ends;
/// 4. zero-mean trim: subtract `c·w[n]` where `w` is the fade window and `c = Σx / Σw`, so the
///    mean is exactly 0 (up to rounding) while the ends stay at 0;
/// 5. ceiling: scale down (never clip) if the peak exceeds 0.92.
///
/// ```
/// use ntsbuild::kit::post::{post_process, CEILING};
/// let mut x: Vec<f64> = (0..4800).map(|n| 1.5 * (n as f64 * 0.05).sin() + 0.1).collect();
/// post_process(&mut x, 48_000.0, 4.0);
/// assert!(x.iter().all(|v| v.abs() <= CEILING));
/// assert_eq!(x[0], 0.0);
/// assert!(x.iter().sum::<f64>().abs() / 4800.0 < 1e-12);
/// ```
pub fn post_process(x: &mut [f64], sample_rate_hz: f64, fade_out_ms: f64) {
    let mut dc = DcBlocker::new(DC_CUTOFF_HZ, sample_rate_hz);
    let ceiling = db_to_lin(SOFT_CLIP_DB);
    for v in x.iter_mut() {
        *v = tanh_ceiling(dc.process(*v), ceiling);
    }

    let onset = x.iter().take(ONSET_SAMPLES).enumerate();
    let onset_fade = onset
        .filter(|(_, v)| v.abs() > ONSET_LIMIT)
        .map(|(n, v)| (n as f64 * v.abs() / ONSET_LIMIT).ceil() as usize)
        .max()
        .unwrap_or(0);
    let fade_in = ((FADE_IN_MS * sample_rate_hz / 1000.0).round() as usize).max(onset_fade).max(1);
    let fade_out = ((fade_out_ms.max(MIN_FADE_OUT_MS) * sample_rate_hz / 1000.0).round() as usize).max(1);
    let len = x.len();
    let window = |n: usize| -> f64 {
        let from_end = len - 1 - n;
        let w_in = if n < fade_in { n as f64 / fade_in as f64 } else { 1.0 };
        let w_out = if from_end < fade_out {
            0.5 * (1.0 - (std::f64::consts::PI * from_end as f64 / fade_out as f64).cos())
        } else {
            1.0
        };
        w_in * w_out
    };
    let mut sum_x = 0.0;
    let mut sum_w = 0.0;
    for (n, v) in x.iter_mut().enumerate() {
        let w = window(n);
        *v *= w;
        sum_x += *v;
        sum_w += w;
    }
    if sum_w > 0.0 {
        let c = sum_x / sum_w;
        for (n, v) in x.iter_mut().enumerate() {
            *v -= c * window(n);
        }
    }

    if peak(x) > CEILING {
        normalize_peak(x, CEILING);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_tiny_buffers() {
        let mut e: Vec<f64> = vec![];
        post_process(&mut e, 48_000.0, 4.0);
        let mut one = vec![1.0];
        post_process(&mut one, 48_000.0, 4.0);
        assert_eq!(one, vec![0.0]);
        let mut few = vec![1.0; 10];
        post_process(&mut few, 48_000.0, 4.0);
        assert!(few.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn silence_stays_silent() {
        let mut z = vec![0.0; 1000];
        post_process(&mut z, 44_100.0, 4.0);
        assert!(z.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn fade_in_is_the_seeds_unless_the_onset_is_too_loud() {
        // A moderate onset keeps the 0.5 ms fade: full level from sample 24 at 48 kHz.
        // (Alternating signs: no DC for the blocker to take away.)
        let alternating = |a: f64| (0..4800).map(|n| if n % 2 == 0 { a } else { -a }).collect::<Vec<f64>>();
        let mut quiet = alternating(0.5);
        post_process(&mut quiet, 48_000.0, 4.0);
        assert!(quiet[12].abs() < quiet[24].abs() && (quiet[24].abs() - quiet[100].abs()).abs() < 1e-3);
        // A full-scale onset gets a longer fade, just enough for the first 64 samples.
        let mut loud = alternating(3.0);
        post_process(&mut loud, 48_000.0, 4.0);
        assert!(peak(&loud[..64]) <= ONSET_LIMIT + 1e-3, "{}", peak(&loud[..64]));
        assert!(peak(&loud[..64]) > 0.6);
        assert!((loud[90].abs() - loud[1000].abs()).abs() < 1e-3);
    }

    #[test]
    fn loud_input_respects_ceiling_fades_and_mean() {
        for sr in [44_100.0, 48_000.0] {
            let mut x: Vec<f64> = (0..24_000).map(|n| if n % 50 < 25 { 0.95 } else { -0.6 }).collect();
            post_process(&mut x, sr, 4.0);
            let len = x.len();
            assert!(peak(&x) <= CEILING);
            assert!(peak(&x[..64]) <= 0.7);
            assert!(peak(&x[len - 64..]) <= 0.4);
            assert!((x.iter().sum::<f64>() / len as f64).abs() < 1e-12);
            assert_eq!(x[0], 0.0);
            assert_eq!(x[len - 1], 0.0);
        }
    }
}
