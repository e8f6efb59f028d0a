//! The master: stems summed into the song, then an optional loudness normalisation and a
//! true-peak ceiling.
//!
//! The stems are added in their given order in f64 (so the sum never depends on scheduling).
//! With `target_lufs` the mix is scaled by `target − integrated` dB (BS.1770-4); then, if its
//! true peak (4× oversampled) would exceed `true_peak_dbtp`, the gain is lowered until it sits
//! exactly at the ceiling. Both are one gain for the whole song — no limiter, no compression —
//! so the ceiling wins over the target: the report tells how far the result is from it.

use serde::Serialize;

use super::loudness::{LoudnessError, ProgrammeMeter, db};

/// Master settings (`[song.NAME.master]`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MasterParams {
    pub target_lufs: Option<f64>,
    pub true_peak_dbtp: f64,
}

impl Default for MasterParams {
    fn default() -> Self {
        MasterParams { target_lufs: None, true_peak_dbtp: -1.0 }
    }
}

/// The mixed song and the gain the master applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Mixdown {
    pub left: Vec<f32>,
    pub right: Vec<f32>,
    /// Gain applied to the sum, dB.
    pub gain_db: f64,
    /// Whether the true-peak ceiling lowered the gain.
    pub ceiling_applied: bool,
}

/// Sum `stems` (`(left, right)`, any lengths: shorter ones are padded with silence) and apply
/// the master.
pub fn mix(stems: &[(&[f32], &[f32])], sample_rate_hz: u32, master: &MasterParams) -> Result<Mixdown, LoudnessError> {
    let mut sum = StemSum::default();
    for (l, r) in stems {
        sum.add(l, r);
    }
    let gain = sum.master(sample_rate_hz, master)?;
    let (mut left, mut right) = (vec![0.0; sum.len()], vec![0.0; sum.len()]);
    sum.mastered(&gain, 0, &mut left, &mut right);
    Ok(Mixdown { left, right, gain_db: gain.gain_db, ceiling_applied: gain.ceiling_applied })
}

/// Samples the master measures and writes at a time.
pub const PIECE: usize = 1 << 16;

/// The stems' running sum (f64, each sample added in stem order), so a song is mixed holding
/// one stem at a time: [`StemSum::add`] each stem, then [`StemSum::master`] for the gain and
/// [`StemSum::mastered`] for the song, piece by piece — the samples [`mix`] gives.
#[derive(Debug, Default)]
pub struct StemSum {
    sum: [Vec<f64>; 2],
}

/// The master's gain for a mix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MasterGain {
    /// Gain applied to the sum, dB.
    pub gain_db: f64,
    /// Whether the true-peak ceiling lowered the gain.
    pub ceiling_applied: bool,
}

impl StemSum {
    /// Samples per channel (the longest stem's).
    pub fn len(&self) -> usize {
        self.sum[0].len()
    }

    /// Whether no stem has a sample.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds the next stem (its channels may differ in length: the shorter is padded).
    pub fn add(&mut self, left: &[f32], right: &[f32]) {
        self.add_at(0, left, right);
    }

    /// Adds samples `at..` of the next stem (a stem is added whole, in any pieces, before the
    /// next one starts).
    pub fn add_at(&mut self, at: usize, left: &[f32], right: &[f32]) {
        let len = self.len().max(at + left.len()).max(at + right.len());
        for (ch, src) in [left, right].into_iter().enumerate() {
            self.sum[ch].resize(len, 0.0);
            for (acc, v) in self.sum[ch][at..].iter_mut().zip(src) {
                *acc += f64::from(*v);
            }
        }
    }

    /// The target's gain (`target − integrated` dB), lowered to the true-peak ceiling where it
    /// would pass it; measured on the sum as f32, a piece at a time.
    pub fn master(&self, sample_rate_hz: u32, master: &MasterParams) -> Result<MasterGain, LoudnessError> {
        let mut meter = ProgrammeMeter::new(sample_rate_hz)?;
        let (mut l, mut r) = (vec![0.0f32; PIECE], vec![0.0f32; PIECE]);
        let unity = MasterGain { gain_db: 0.0, ceiling_applied: false };
        for a in (0..self.len()).step_by(PIECE) {
            let n = PIECE.min(self.len() - a);
            self.mastered(&unity, a, &mut l[..n], &mut r[..n]);
            meter.add(&l[..n], &r[..n])?;
        }
        let (integrated, true_peak) = meter.finish()?;
        let mut gain_db = match (master.target_lufs, integrated) {
            (Some(target), Some(now)) => target - now,
            _ => 0.0,
        };
        let mut ceiling_applied = false;
        if true_peak > 0.0 && db(true_peak) + gain_db > master.true_peak_dbtp {
            gain_db = master.true_peak_dbtp - db(true_peak);
            ceiling_applied = true;
        }
        Ok(MasterGain { gain_db, ceiling_applied })
    }

    /// Samples `at..at + left.len()` of the song at `gain` (`left` and `right` of one length,
    /// inside the sum).
    pub fn mastered(&self, gain: &MasterGain, at: usize, left: &mut [f32], right: &mut [f32]) {
        let g = if gain.gain_db == 0.0 { 1.0 } else { 10f64.powf(gain.gain_db / 20.0) };
        for (out, sum) in [left, right].into_iter().zip(&self.sum) {
            let n = out.len();
            for (y, v) in out.iter_mut().zip(&sum[at..at + n]) {
                *y = (v * g) as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arrange::loudness::analyze;
    use crate::arrange::tempo::TempoMap;

    const SR: u32 = 48_000;

    fn tone(amplitude: f64, f: f64, seconds: f64) -> Vec<f32> {
        (0..(seconds * f64::from(SR)) as usize)
            .map(|i| (amplitude * (std::f64::consts::TAU * f * i as f64 / f64::from(SR)).sin()) as f32)
            .collect()
    }

    #[test]
    fn stems_add_in_order_and_pad() {
        let a = vec![0.25f32; 10];
        let b = vec![0.5f32; 4];
        let m = mix(&[(&a, &a), (&b, &b)], SR, &MasterParams { target_lufs: None, true_peak_dbtp: 0.0 }).unwrap();
        assert_eq!(m.left.len(), 10);
        assert_eq!(m.left[0], 0.75);
        assert_eq!(m.right[9], 0.25);
        assert_eq!(m.gain_db, 0.0);
    }

    #[test]
    fn normalises_to_the_target_and_respects_the_ceiling() {
        let quiet = tone(0.05, 1000.0, 10.0);
        let loud_target = MasterParams { target_lufs: Some(-16.0), true_peak_dbtp: -1.0 };
        let m = mix(&[(&quiet, &quiet)], SR, &loud_target).unwrap();
        let s = analyze(&m.left, &m.right, SR, &TempoMap::constant(120.0)).unwrap().summary;
        assert!((s.integrated_lufs.unwrap() + 16.0).abs() < 0.02, "{s:?}");
        assert!(!m.ceiling_applied);
        // A −26 LUFS tone raised to −0.5 LUFS would peak at −0.5 dBTP: the −1 dBTP ceiling wins.
        let m = mix(&[(&quiet, &quiet)], SR, &MasterParams { target_lufs: Some(-0.5), true_peak_dbtp: -1.0 }).unwrap();
        assert!(m.ceiling_applied);
        let s = analyze(&m.left, &m.right, SR, &TempoMap::constant(120.0)).unwrap().summary;
        assert!((s.true_peak_dbtp + 1.0).abs() < 0.01, "{s:?}");
        // Without a target only the ceiling acts, and only when exceeded.
        let hot = tone(1.5, 1000.0, 2.0);
        let m = mix(&[(&hot, &hot)], SR, &MasterParams::default()).unwrap();
        assert!(m.ceiling_applied && m.gain_db < -4.0);
        let ok = tone(0.5, 1000.0, 2.0);
        assert_eq!(mix(&[(&ok, &ok)], SR, &MasterParams::default()).unwrap().gain_db, 0.0);
    }

    /// The master measured a piece at a time gives the gain and samples of one measurement over
    /// the whole sum, for songs of several pieces, with and without the ceiling.
    #[test]
    fn pieces_master_as_the_whole_does() {
        use crate::arrange::loudness::integrated_and_true_peak;
        let a = tone(0.2, 440.0, 3.3);
        let b: Vec<f32> = tone(0.3, 97.0, 2.0).iter().map(|v| v * 0.5).collect();
        for master in [
            MasterParams { target_lufs: Some(-14.0), true_peak_dbtp: -1.0 },
            MasterParams { target_lufs: Some(-3.0), true_peak_dbtp: -1.0 },
            MasterParams { target_lufs: None, true_peak_dbtp: -20.0 },
        ] {
            let m = mix(&[(&a, &b), (&b, &a)], SR, &master).unwrap();
            assert_eq!(m.left.len(), a.len());
            let sum = |ch: usize| -> Vec<f64> {
                (0..a.len())
                    .map(|i| {
                        let (x, y) = if ch == 0 { (&a, &b) } else { (&b, &a) };
                        let at = |s: &[f32]| s.get(i).map_or(0.0, |v| f64::from(*v));
                        at(x) + at(y)
                    })
                    .collect()
            };
            let (l, r) = (sum(0), sum(1));
            let as_f32 = |x: &[f64], g: f64| -> Vec<f32> { x.iter().map(|v| (v * g) as f32).collect() };
            let (integrated, tp) = integrated_and_true_peak(&as_f32(&l, 1.0), &as_f32(&r, 1.0), SR).unwrap();
            let mut gain = master.target_lufs.map_or(0.0, |t| t - integrated.unwrap());
            if db(tp) + gain > master.true_peak_dbtp {
                gain = master.true_peak_dbtp - db(tp);
            }
            assert_eq!(m.gain_db, gain, "{master:?}");
            let g = 10f64.powf(gain / 20.0);
            assert!(m.left == as_f32(&l, g) && m.right == as_f32(&r, g), "{master:?}");
        }
    }

    #[test]
    fn silence_and_nothing_mix_to_silence() {
        let z = vec![0.0f32; 100];
        let m = mix(&[(&z, &z)], SR, &MasterParams { target_lufs: Some(-14.0), true_peak_dbtp: -1.0 }).unwrap();
        assert!(m.left.iter().all(|v| *v == 0.0));
        assert_eq!(m.gain_db, 0.0);
        assert!(mix(&[], SR, &MasterParams::default()).unwrap().left.is_empty());
    }
}
