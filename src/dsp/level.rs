//! Level helpers: dB conversion, peak, RMS, peak normalisation and where a sound has decayed.

/// `10^(dB/20)`; `−∞ dB` gives 0.
///
/// ```
/// use ntsbuild::dsp::level::db_to_lin;
/// assert_eq!(db_to_lin(0.0), 1.0);
/// assert!((db_to_lin(-6.0) - 0.501187).abs() < 1e-6);
/// ```
#[inline]
pub fn db_to_lin(gain_db: f64) -> f64 {
    10f64.powf(gain_db / 20.0)
}

/// `20·log10(x)`; 0 gives `−∞`.
#[inline]
pub fn lin_to_db(x: f64) -> f64 {
    20.0 * x.log10()
}

/// Largest absolute value (0 for an empty slice; NaN ignored).
pub fn peak(x: &[f64]) -> f64 {
    x.iter().fold(0.0, |m, v| m.max(v.abs()))
}

/// Root mean square (0 for an empty slice).
pub fn rms(x: &[f64]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64).sqrt()
}

/// Scale so that the peak equals `target`; a silent buffer stays silent.
/// Returns the gain applied (1 when silent).
pub fn normalize_peak(x: &mut [f64], target: f64) -> f64 {
    let p = peak(x);
    if p > 0.0 && p.is_finite() {
        let g = target / p;
        for v in x.iter_mut() {
            *v *= g;
        }
        g
    } else {
        1.0
    }
}

/// Where a sound has decayed for good: the end of the last window of `window` samples whose RMS
/// is within `floor_db` (< 0) of the loudest window's. Windows are consecutive from sample 0 (the
/// last one may be shorter). 0 for an empty or silent buffer.
///
/// ```
/// use ntsbuild::dsp::level::decay_end;
/// // A 1000-sample burst followed by silence ends after its tenth 100-sample window.
/// let mut x = vec![0.5; 1000];
/// x.extend(vec![0.0; 3000]);
/// assert_eq!(decay_end(&x, 100, -60.0), 1000);
/// ```
pub fn decay_end(x: &[f64], window: usize, floor_db: f64) -> usize {
    let window = window.max(1);
    let power = |w: &[f64]| w.iter().map(|v| v * v).sum::<f64>() / w.len() as f64;
    let loudest = x.chunks(window).map(power).fold(0.0f64, f64::max);
    if !(loudest > 0.0 && loudest.is_finite()) {
        return 0;
    }
    let threshold = loudest * db_to_lin(2.0 * floor_db);
    x.chunks(window).rposition(|w| power(w) >= threshold).map_or(0, |i| ((i + 1) * window).min(x.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_and_silence() {
        let mut x = vec![0.0, -2.0, 1.0];
        normalize_peak(&mut x, 0.95);
        assert_eq!(peak(&x), 0.95);
        let mut z = vec![0.0; 4];
        assert_eq!(normalize_peak(&mut z, 0.95), 1.0);
        assert!(z.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn decay_end_follows_an_exponential_to_its_floor() {
        // e^(−n/1000): −60 dB after 1000·ln(1000) ≈ 6908 samples.
        let x: Vec<f64> = (0..20_000).map(|n| (-(n as f64) / 1000.0).exp()).collect();
        let end = decay_end(&x, 100, -60.0);
        assert!((6800..=7100).contains(&end), "{end}");
        assert_eq!(decay_end(&x, 100, -200.0), 20_000);
        assert_eq!(decay_end(&[], 100, -60.0), 0);
        assert_eq!(decay_end(&[0.0; 50], 10, -60.0), 0);
        assert_eq!(decay_end(&[1.0; 5], 0, -60.0), 5);
    }

    #[test]
    fn db_round_trip() {
        for db in [-60.0, -6.0, 0.0, 12.0] {
            assert!((lin_to_db(db_to_lin(db)) - db).abs() < 1e-9);
        }
        assert_eq!(db_to_lin(f64::NEG_INFINITY), 0.0);
        assert!((rms(&[1.0, -1.0]) - 1.0).abs() < 1e-15);
    }
}
