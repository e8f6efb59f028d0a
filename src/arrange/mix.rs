//! The master: stems summed into the song, then an optional loudness normalisation and a
//! true-peak ceiling.
//!
//! The stems are added in their given order in f64 (so the sum never depends on scheduling).
//! With `target_lufs` the mix is scaled by `target − integrated` dB (BS.1770-4); then, if its
//! true peak (4× oversampled) would exceed `true_peak_dbtp`, the gain is lowered until it sits
//! exactly at the ceiling. Both are one gain for the whole song — no limiter, no compression —
//! so the ceiling wins over the target: the report tells how far the result is from it.

use serde::Serialize;

use super::loudness::{LoudnessError, db, integrated_and_true_peak};

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
    let len = stems.iter().map(|(l, r)| l.len().max(r.len())).max().unwrap_or(0);
    let mut sum = [vec![0.0f64; len], vec![0.0f64; len]];
    for (l, r) in stems {
        for (ch, src) in [l, r].into_iter().enumerate() {
            for (acc, v) in sum[ch].iter_mut().zip(src.iter()) {
                *acc += f64::from(*v);
            }
        }
    }
    let as_f32 = |x: &[f64], g: f64| -> Vec<f32> { x.iter().map(|v| (v * g) as f32).collect() };
    let (l0, r0) = (as_f32(&sum[0], 1.0), as_f32(&sum[1], 1.0));
    let (integrated, true_peak) = integrated_and_true_peak(&l0, &r0, sample_rate_hz)?;
    let mut gain_db = match (master.target_lufs, integrated) {
        (Some(target), Some(now)) => target - now,
        _ => 0.0,
    };
    let mut ceiling_applied = false;
    if true_peak > 0.0 && db(true_peak) + gain_db > master.true_peak_dbtp {
        gain_db = master.true_peak_dbtp - db(true_peak);
        ceiling_applied = true;
    }
    if gain_db == 0.0 {
        return Ok(Mixdown { left: l0, right: r0, gain_db, ceiling_applied });
    }
    let g = 10f64.powf(gain_db / 20.0);
    Ok(Mixdown { left: as_f32(&sum[0], g), right: as_f32(&sum[1], g), gain_db, ceiling_applied })
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

    #[test]
    fn silence_and_nothing_mix_to_silence() {
        let z = vec![0.0f32; 100];
        let m = mix(&[(&z, &z)], SR, &MasterParams { target_lufs: Some(-14.0), true_peak_dbtp: -1.0 }).unwrap();
        assert!(m.left.iter().all(|v| *v == 0.0));
        assert_eq!(m.gain_db, 0.0);
        assert!(mix(&[], SR, &MasterParams::default()).unwrap().left.is_empty());
    }
}
