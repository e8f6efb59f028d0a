//! `loudness.json` and `loudness.csv`: a song's loudness report and its per-beat table, as bytes.
//! Deterministic: numbers are rounded to 6 decimals (JSON) or fixed decimals (CSV), levels that
//! do not exist are `null` (JSON) or `-inf` (CSV).

use std::fmt::Write;

use serde_json::Value;

use crate::arrange::loudness::{BeatRow, LoudnessReport};

/// The CSV header (the seed's per-beat loudness rows).
pub const CSV_HEADER: &str = "bar,beat,time_s,momentary_lufs,short_term_lufs,rms_dbfs_l,rms_dbfs_r,peak_dbfs";

fn round(v: &mut Value) {
    match v {
        Value::Number(n) => {
            if let Some(x) = n.as_f64().filter(|_| n.is_f64()) {
                let r = (x * 1e6).round() / 1e6;
                *v = serde_json::Number::from_f64(if r == 0.0 { 0.0 } else { r }).map_or(Value::Null, Value::Number);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(round),
        Value::Object(map) => map.values_mut().for_each(round),
        _ => {}
    }
}

/// `loudness.json`: the summary keys (`integrated_lufs`, `loudness_range_lu`,
/// `sample_peak_dbfs`, `true_peak_dbtp`, `rms_dbfs` as [left, right], `crest_factor_db`), the
/// master's `target_lufs` and `true_peak_ceiling_dbtp`, and the automation `smoothing` windows.
pub fn loudness_json(report: &LoudnessReport) -> Vec<u8> {
    let mut v = serde_json::to_value(report).unwrap_or(Value::Null);
    round(&mut v);
    let mut out = serde_json::to_vec_pretty(&v).unwrap_or_default();
    out.push(b'\n');
    out
}

fn level(x: Option<f64>) -> String {
    x.map_or_else(|| "-inf".to_string(), |v| format!("{v:.3}"))
}

/// `loudness.csv`: [`CSV_HEADER`] and one row per beat.
pub fn loudness_csv(rows: &[BeatRow]) -> Vec<u8> {
    let mut out = String::with_capacity(64 * (rows.len() + 1));
    out.push_str(CSV_HEADER);
    out.push('\n');
    for r in rows {
        let _ = writeln!(
            out,
            "{},{},{:.6},{},{},{:.3},{:.3},{:.3}",
            r.bar,
            r.beat,
            r.time_s,
            level(r.momentary_lufs),
            level(r.short_term_lufs),
            r.rms_dbfs_l,
            r.rms_dbfs_r,
            r.peak_dbfs
        );
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arrange::loudness::{LoudnessSummary, analyze};
    use crate::arrange::tempo::TempoMap;

    #[test]
    fn json_has_the_documented_keys_and_csv_the_header() {
        let x: Vec<f32> = (0..96_000).map(|i| 0.1 * (i as f32 * 0.13).sin()).collect();
        let a = analyze(&x, &x, 48_000, &TempoMap::constant(120.0)).unwrap();
        let report = LoudnessReport {
            summary: a.summary.clone(),
            target_lufs: Some(-14.0),
            true_peak_ceiling_dbtp: Some(-1.0),
            smoothing: vec![],
        };
        let json = loudness_json(&report);
        assert_eq!(json, loudness_json(&report));
        let v: Value = serde_json::from_slice(&json).unwrap();
        for key in [
            "integrated_lufs",
            "loudness_range_lu",
            "sample_peak_dbfs",
            "true_peak_dbtp",
            "crest_factor_db",
            "target_lufs",
            "smoothing",
        ] {
            assert!(v.get(key).is_some(), "{key}");
        }
        assert_eq!(v["rms_dbfs"].as_array().unwrap().len(), 2);
        let csv = String::from_utf8(loudness_csv(&a.rows)).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], CSV_HEADER);
        assert_eq!(lines.len(), 1 + 4);
        assert!(lines[1].starts_with("1,1,0.000000,"));
        assert_eq!(lines[3].split(',').count(), 8);
    }

    #[test]
    fn silence_writes_null_and_minus_inf() {
        let z = vec![0.0f32; 4800];
        let a = analyze(&z, &z, 48_000, &TempoMap::constant(120.0)).unwrap();
        let report =
            LoudnessReport { summary: a.summary, target_lufs: None, true_peak_ceiling_dbtp: None, smoothing: vec![] };
        let v: Value = serde_json::from_slice(&loudness_json(&report)).unwrap();
        assert!(v["integrated_lufs"].is_null());
        assert_eq!(v["rms_dbfs"][0], -180.0);
        let csv = String::from_utf8(loudness_csv(&a.rows)).unwrap();
        assert!(csv.lines().nth(1).unwrap().contains(",-inf,-inf,"));
        let _ = LoudnessSummary::clone(&report.summary);
    }
}
