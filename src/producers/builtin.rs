//! The built-in producers that need no audio: `const`, `lin`, `from_filename` (DOMAIN §F).
//!
//! - `const`: `numpy.full(T, float(value), float32)`.
//! - `lin`: `numpy.linspace(start, end, T, dtype=float32)`: in float64, `y[i] = i·step + start`
//!   with `step = (end − start)/(T − 1)`, the last value set to `end` exactly, then rounded to
//!   float32; `T = 1` gives `[start]`.
//! - `from_filename`: every non-overlapping match of the pattern in the file name, left to
//!   right, gives column `name` = `float(value)` in every frame; a later match of the same name
//!   wins. (The seed's document shows `re.search`, one match; its code uses `re.finditer`, every
//!   match. ntsbuild follows the code.) `defaults` give columns every source gets; a file name
//!   matching nothing and no defaults is an error rather than the seed's silent empty result.

use std::collections::BTreeMap;

use regex::Regex;

use super::error::ProducerProblem;
use super::table::Column;

/// `const`: one column per entry, `value` in every frame (sorted by name).
pub fn const_columns(values: &BTreeMap<String, f64>, frames: usize) -> Vec<Column> {
    values.iter().map(|(name, &v)| Column::new(name.clone(), vec![v as f32; frames])).collect()
}

/// `numpy.linspace(start, end, frames)` rounded to float32.
///
/// ```
/// let y = ntsbuild::producers::builtin::linspace(0.0, 1.0, 5);
/// assert_eq!(y, vec![0.0, 0.25, 0.5, 0.75, 1.0]);
/// assert_eq!(ntsbuild::producers::builtin::linspace(3.0, 9.0, 1), vec![3.0]);
/// ```
pub fn linspace(start: f64, end: f64, frames: usize) -> Vec<f32> {
    if frames == 0 {
        return Vec::new();
    }
    if frames == 1 {
        return vec![start as f32];
    }
    let step = (end - start) / (frames - 1) as f64;
    let mut y: Vec<f32> = (0..frames).map(|i| (i as f64 * step + start) as f32).collect();
    y[frames - 1] = end as f32;
    y
}

/// `lin`: one ramp column per entry (sorted by name).
pub fn lin_columns(values: &BTreeMap<String, [f64; 2]>, frames: usize) -> Vec<Column> {
    values.iter().map(|(name, &[start, end])| Column::new(name.clone(), linspace(start, end, frames))).collect()
}

/// Compiles a `from_filename` pattern, checking it has the groups `name` and `value`.
pub fn compile_pattern(pattern: &str) -> Result<Regex, String> {
    let re = Regex::new(pattern).map_err(|e| format!("`{pattern}` is not a valid regex: {e}"))?;
    let names: Vec<&str> = re.capture_names().flatten().collect();
    for group in ["name", "value"] {
        if !names.contains(&group) {
            return Err(format!("`{pattern}` has no named group `{group}`: write (?P<{group}>…)"));
        }
    }
    Ok(re)
}

/// `from_filename` over `file_name`: `(name, value)` pairs, later matches of a name winning,
/// in order of first appearance; `defaults` come first.
pub fn filename_values(
    pattern: &str,
    defaults: &BTreeMap<String, f64>,
    file_name: &str,
) -> Result<Vec<(String, f64)>, ProducerProblem> {
    let re = compile_pattern(pattern).map_err(ProducerProblem::BadSetting)?;
    let mut out: Vec<(String, f64)> = defaults.iter().map(|(k, &v)| (k.clone(), v)).collect();
    for caps in re.captures_iter(file_name) {
        let (Some(name), Some(value)) = (caps.name("name"), caps.name("value")) else {
            let whole = caps.get(0).map_or("", |m| m.as_str());
            return Err(ProducerProblem::BadSetting(format!(
                "the match `{whole}` of `{pattern}` in `{file_name}` leaves group `name` or `value` empty"
            )));
        };
        let text = value.as_str().trim();
        let v: f64 = text.parse().ok().filter(|v: &f64| v.is_finite()).ok_or_else(|| {
            ProducerProblem::BadSetting(format!(
                "`{text}` (group `value` of `{pattern}` in `{file_name}`) is not a finite number"
            ))
        })?;
        let name = name.as_str().to_string();
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = v,
            None => out.push((name, v)),
        }
    }
    if out.is_empty() {
        return Err(ProducerProblem::Empty(format!(
            "`{pattern}` matches nothing in the file name `{file_name}`; give `defaults = {{ NAME = VALUE }}` for sources without one"
        )));
    }
    Ok(out)
}

/// `from_filename` columns for `file_name`.
pub fn filename_columns(
    pattern: &str,
    defaults: &BTreeMap<String, f64>,
    file_name: &str,
    frames: usize,
) -> Result<Vec<Column>, ProducerProblem> {
    Ok(filename_values(pattern, defaults, file_name)?
        .into_iter()
        .map(|(name, v)| Column::new(name, vec![v as f32; frames]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::spec::DEFAULT_FILENAME_PATTERN;
    use super::*;

    #[test]
    fn linspace_matches_numpy() {
        // Bits of numpy 2.4 `numpy.linspace(start, end, n, dtype=numpy.float32)`: y[0..4],
        // y[n // 3], y[n-2..n].
        type Case = (f64, f64, usize, [u32; 4], u32, [u32; 2]);
        let cases: [Case; 4] = [
            (0.1, 0.7, 7, [1036831949, 1045220557, 1050253722, 1053609165], 1050253722, [1058642330, 1060320051]),
            (0.0, 1.0 / 3.0, 4000, [0, 950980206, 959368814, 964893395], 1038323257, [1051369406, 1051372203]),
            (-3.7, 12.9, 1000, [3228355789, 3228286094, 3228216399, 3228146703], 1072343723, [1095639639, 1095657062]),
            (0.0, 1.0, 4500, [0, 963187093, 971575701, 976145712], 1051374689, [1065349487, 1065353216]),
        ];
        for (start, end, n, head, third, tail) in cases {
            let y: Vec<u32> = linspace(start, end, n).iter().map(|v| v.to_bits()).collect();
            assert_eq!(&y[..4], &head, "{start}..{end} × {n}");
            assert_eq!(y[n / 3], third, "{start}..{end} × {n}");
            assert_eq!(&y[n - 2..], &tail, "{start}..{end} × {n}");
        }
        // Descending, and the last value is exactly `end`.
        let y = linspace(1.0, -1.0, 3);
        assert_eq!(y, vec![1.0, 0.0, -1.0]);
        let y = linspace(0.0, 1.0 / 3.0, 4000);
        assert_eq!(y[3999], (1.0f64 / 3.0) as f32);
        assert_eq!(linspace(2.0, 2.0, 4), vec![2.0; 4]);
        assert!(linspace(0.0, 1.0, 0).is_empty());
        assert_eq!(linspace(5.0, 6.0, 1), vec![5.0]);
    }

    #[test]
    fn const_is_numpy_full() {
        let c = const_columns(&BTreeMap::from([("b".into(), 0.1), ("a".into(), 7.0)]), 3);
        assert_eq!(c[0], Column::new("a", vec![7.0; 3]));
        assert_eq!(c[1], Column::new("b", vec![0.1f64 as f32; 3]));
    }

    #[test]
    fn default_pattern_reads_every_pair() {
        let none = BTreeMap::new();
        let v = filename_values(DEFAULT_FILENAME_PATTERN, &none, "take_tempo_120.5_gain_-3_x.wav").unwrap();
        assert_eq!(v, vec![("tempo".to_string(), 120.5), ("gain".to_string(), -3.0)]);
        // A later match of the same name wins.
        let v = filename_values(DEFAULT_FILENAME_PATTERN, &none, "a_k_1.b_k_2.wav").unwrap();
        assert_eq!(v, vec![("k".to_string(), 2.0)]);
        // `\w` takes underscores and the match is greedy, as in Python's `re`.
        let v = filename_values(DEFAULT_FILENAME_PATTERN, &none, "a_k_1_k_2.wav").unwrap();
        assert_eq!(v, vec![("k_1_k".to_string(), 2.0)]);
        // Names must start with a letter: `_1_2` is not a pair.
        let e = filename_values(DEFAULT_FILENAME_PATTERN, &none, "x_1_2.wav").unwrap_err();
        assert!(matches!(e, ProducerProblem::Empty(_)), "{e}");
    }

    #[test]
    fn defaults_fill_in_and_are_overridden() {
        let d = BTreeMap::from([("take".to_string(), 0.0), ("gain".to_string(), 1.0)]);
        let v = filename_values(DEFAULT_FILENAME_PATTERN, &d, "organ.wav").unwrap();
        assert_eq!(v, vec![("gain".to_string(), 1.0), ("take".to_string(), 0.0)]);
        let v = filename_values(DEFAULT_FILENAME_PATTERN, &d, "organ_take_3.wav").unwrap();
        assert_eq!(v, vec![("gain".to_string(), 1.0), ("take".to_string(), 3.0)]);
    }

    #[test]
    fn bad_patterns_and_values_are_errors() {
        assert!(compile_pattern("(").unwrap_err().contains("not a valid regex"));
        assert!(compile_pattern("(?P<name>x)").unwrap_err().contains("`value`"));
        let e = filename_values(r"(?P<name>[a-z]+)=(?P<value>\w+)", &BTreeMap::new(), "k=abc.wav").unwrap_err();
        assert!(e.to_string().contains("not a finite number"), "{e}");
        let e = filename_values(r"(?P<name>[a-z]+)=(?P<value>\w+)?", &BTreeMap::new(), "k=.wav").unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
    }
}
