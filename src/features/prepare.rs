//! Preparing a track's audio before analysis (DOMAIN §C2): cut it to a time window (`trim`),
//! then scale it to a target RMS level (`normalization`).
//!
//! Order: trim first, so the level is measured on the audio that is analysed and shown. The
//! gain is the seed's: `rms = sqrt(mean(x²) + 1e-8)`, `gain = 10^((target − 20·log10(max(rms,
//! 1e-8)))/20)`, then `clip(x·gain, −1, 1)`; the mean square is summed in f64 in sample order.

use std::ops::Range;

/// ε inside the square root (and the floor of the RMS before the logarithm).
pub const NORMALIZATION_EPS: f64 = 1e-8;

/// A time window of a track, in seconds: from `start_s` to `end_s` (`None` = to the end).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Trim {
    /// Start, ≥ 0.
    pub start_s: f64,
    /// End, > `start_s`, or `None` for the end of the audio.
    pub end_s: Option<f64>,
}

impl Trim {
    /// The sample range `[floor(start·sr), floor(end·sr))` of a signal of `len` samples at
    /// `sample_rate_hz`, clamped to the signal (empty when the window starts after its end).
    pub fn range(&self, len: usize, sample_rate_hz: u32) -> Range<usize> {
        let at = |t: f64| {
            let s = (t.max(0.0) * f64::from(sample_rate_hz)).floor();
            if s.is_finite() { (s as u64).min(len as u64) as usize } else { len }
        };
        let start = at(self.start_s);
        let end = self.end_s.map_or(len, at);
        start..end.max(start)
    }

    /// Check the window: `start ≥ 0`, `end > start`, both finite. Errors say what is allowed.
    pub fn validate(&self) -> Result<(), String> {
        if !self.start_s.is_finite() || self.start_s < 0.0 {
            return Err(format!("trim start is {} s; allowed: 0 s or more", self.start_s));
        }
        match self.end_s {
            Some(end) if !end.is_finite() || end <= self.start_s => Err(format!(
                "trim end is {end} s; allowed: more than the start ({} s), or omitted for the end",
                self.start_s
            )),
            _ => Ok(()),
        }
    }
}

/// How a track's audio is prepared before analysis. The default does nothing.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct AudioPrep {
    /// Cut to this window first.
    pub trim: Option<Trim>,
    /// Then scale to this RMS level, dBFS (−60…0).
    pub normalization_dbfs: Option<f64>,
}

impl AudioPrep {
    /// True when the audio is used as it is.
    pub fn is_identity(&self) -> bool {
        self.trim.is_none() && self.normalization_dbfs.is_none()
    }
}

/// The seed's normalization gain for a signal with mean square `mean_square` (see the module
/// docs); 1 when the target is not finite.
///
/// ```
/// use ntsbuild::features::prepare::normalization_gain;
/// // A full-scale sine has RMS 1/√2 ≈ −3.01 dBFS: reaching −14 dBFS takes about −11 dB.
/// let g = normalization_gain(0.5, -14.0);
/// assert!((20.0 * g.log10() + 10.99).abs() < 0.01);
/// ```
pub fn normalization_gain(mean_square: f64, target_dbfs: f64) -> f64 {
    if !target_dbfs.is_finite() {
        return 1.0;
    }
    let rms = (mean_square.max(0.0) + NORMALIZATION_EPS).sqrt();
    let current_db = 20.0 * rms.max(NORMALIZATION_EPS).log10();
    10f64.powf((target_dbfs - current_db) / 20.0)
}

/// Sum of squares and count, accumulated chunk by chunk in sample order (f64).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MeanSquare {
    sum_sq: f64,
    count: u64,
}

impl MeanSquare {
    /// Add a chunk.
    pub fn push(&mut self, samples: &[f32]) {
        for &x in samples {
            let x = f64::from(x);
            self.sum_sq += x * x;
        }
        self.count += samples.len() as u64;
    }

    /// `mean(x²)` so far (0 before any sample).
    pub fn value(&self) -> f64 {
        if self.count == 0 { 0.0 } else { self.sum_sq / self.count as f64 }
    }
}

/// `x = clip(x·gain, −1, 1)` in place (product in f64); NaN becomes 0.
pub fn apply_gain_clipped(samples: &mut [f32], gain: f64) {
    for x in samples {
        let y = (f64::from(*x) * gain).clamp(-1.0, 1.0);
        *x = if y.is_nan() { 0.0 } else { y as f32 };
    }
}

/// [`AudioPrep`] on a whole in-memory mono signal: the trimmed, normalised samples.
pub fn prepare(samples: &[f32], sample_rate_hz: u32, prep: &AudioPrep) -> Vec<f32> {
    let range = prep.trim.map_or(0..samples.len(), |t| t.range(samples.len(), sample_rate_hz));
    let mut out = samples[range].to_vec();
    if let Some(target) = prep.normalization_dbfs {
        let mut ms = MeanSquare::default();
        ms.push(&out);
        apply_gain_clipped(&mut out, normalization_gain(ms.value(), target));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_ranges_floor_and_clamp() {
        let t = Trim { start_s: 0.5, end_s: Some(1.25) };
        assert_eq!(t.range(48_000 * 2, 48_000), 24_000..60_000);
        assert_eq!(t.range(30_000, 48_000), 24_000..30_000);
        assert_eq!(t.range(10_000, 48_000), 10_000..10_000);
        assert_eq!(Trim { start_s: 1.0, end_s: None }.range(100_000, 48_000), 48_000..100_000);
        assert_eq!(Trim { start_s: 0.0, end_s: Some(1.0 / 3.0) }.range(100, 3), 0..1);
        assert!(t.validate().is_ok());
        assert!(Trim { start_s: -1.0, end_s: None }.validate().unwrap_err().contains("0 s or more"));
        assert!(Trim { start_s: 2.0, end_s: Some(2.0) }.validate().unwrap_err().contains("more than the start (2 s)"));
        assert!(Trim { start_s: 0.0, end_s: Some(f64::NAN) }.validate().is_err());
    }

    #[test]
    fn normalization_reaches_the_target_rms() {
        let sr = 48_000;
        let sine: Vec<f32> = (0..sr).map(|i| 0.05 * (i as f32 * 0.0571).sin()).collect();
        for target in [-30.0, -14.0, -6.0] {
            let prep = AudioPrep { trim: None, normalization_dbfs: Some(target) };
            let out = prepare(&sine, sr as u32, &prep);
            let rms = (out.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / out.len() as f64).sqrt();
            assert!((20.0 * rms.log10() - target).abs() < 0.01, "target {target}: {} dBFS", 20.0 * rms.log10());
        }
        // 0 dBFS RMS on a sine needs a peak above 1: clipped to ±1.
        let loud = prepare(&sine, sr as u32, &AudioPrep { trim: None, normalization_dbfs: Some(0.0) });
        assert!(loud.iter().all(|x| x.abs() <= 1.0) && loud.contains(&1.0));
        // Silence: the ε keeps the gain finite (10^((−14 + 80)/20)) and the output silent.
        assert!((normalization_gain(0.0, -14.0) - 10f64.powf(66.0 / 20.0)).abs() < 1e-6);
        assert!(
            prepare(&[0.0; 10], 10, &AudioPrep { trim: None, normalization_dbfs: Some(-14.0) })
                .iter()
                .all(|&x| x == 0.0)
        );
    }

    #[test]
    fn trim_comes_before_normalization() {
        // Loud first second, quiet second one: trimmed to the quiet one, it is what reaches the target.
        let sr = 1000u32;
        let x: Vec<f32> =
            (0..2000).map(|i| if i < 1000 { 0.8 } else { 0.01 } * if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
        let prep = AudioPrep { trim: Some(Trim { start_s: 1.0, end_s: None }), normalization_dbfs: Some(-20.0) };
        let out = prepare(&x, sr, &prep);
        assert_eq!(out.len(), 1000);
        // −20 dBFS is 0.1; the ε inside the square root (1e-8 on a mean square of 1e-4) leaves
        // it 5e-5 short.
        assert!(out.iter().all(|&v| (v.abs() - 0.1).abs() < 1e-4), "{}", out[0]);
        assert!(AudioPrep::default().is_identity());
        assert_eq!(prepare(&x, sr, &AudioPrep::default()), x);
    }
}
