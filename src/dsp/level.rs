//! Level helpers: dB conversion, peak, RMS and peak normalisation.

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
    fn db_round_trip() {
        for db in [-60.0, -6.0, 0.0, 12.0] {
            assert!((lin_to_db(db_to_lin(db)) - db).abs() < 1e-9);
        }
        assert_eq!(db_to_lin(f64::NEG_INFINITY), 0.0);
        assert!((rms(&[1.0, -1.0]) - 1.0).abs() < 1e-15);
    }
}
