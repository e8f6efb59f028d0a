//! Reading a plug-in's answer: an `.npy` (`T` or `T × C`, any float or integer dtype) or a
//! JSON object `{column: [T numbers]}`; anything else is garbage. Columns are checked for
//! names, length `T` and finiteness before anything is returned.

use serde_json::Value;

use super::error::PluginFailure;
use crate::media::npz::read_npy;
use crate::producers::{Column, check_column};

/// The columns of an answer. `name` labels a one-column `.npy`; `declared` names the columns of
/// a `T × C` `.npy` (when it has exactly `C` entries; else `name_0`, `name_1`, …).
pub fn parse_output(
    bytes: &[u8],
    frames: usize,
    name: &str,
    declared: &[String],
) -> Result<Vec<Column>, PluginFailure> {
    let columns = if bytes.starts_with(b"\x93NUMPY") {
        npy_columns(bytes, frames, name, declared)?
    } else {
        json_columns(bytes)?
    };
    if columns.is_empty() {
        return Err(PluginFailure::Empty);
    }
    for c in &columns {
        check_column(c, frames).map_err(|p| PluginFailure::BadAnswer(p.to_string()))?;
    }
    Ok(columns)
}

fn npy_columns(bytes: &[u8], frames: usize, name: &str, declared: &[String]) -> Result<Vec<Column>, PluginFailure> {
    let array = read_npy(bytes, "answer").map_err(|e| PluginFailure::Garbage(e.to_string()))?;
    let values = array.to_f32_vec().ok_or_else(|| PluginFailure::Garbage("the .npy holds strings".into()))?;
    let (rows, cols) = match array.shape[..] {
        [t] => (t, 1),
        [t, c] => (t, c),
        ref other => {
            return Err(PluginFailure::BadAnswer(format!(
                "the .npy has shape {other:?}; expected (T,) or (T, C) with T = {frames}"
            )));
        }
    };
    if rows != frames {
        return Err(PluginFailure::BadAnswer(format!("the .npy has {rows} rows; the grid has T = {frames} frames")));
    }
    let names: Vec<String> = if declared.len() == cols {
        declared.to_vec()
    } else if cols == 1 {
        vec![name.to_string()]
    } else {
        (0..cols).map(|c| format!("{name}_{c}")).collect()
    };
    Ok(names
        .into_iter()
        .enumerate()
        .map(|(c, n)| Column::new(n, (0..rows).map(|t| values[t * cols + c]).collect()))
        .collect())
}

fn json_columns(bytes: &[u8]) -> Result<Vec<Column>, PluginFailure> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        let start: String = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).escape_debug().collect();
        PluginFailure::Garbage(format!("neither an .npy nor a JSON object ({e}); it starts with \"{start}\""))
    })?;
    let Value::Object(map) = value else {
        return Err(PluginFailure::Garbage("the JSON answer is not an object {column: [T numbers]}".into()));
    };
    map.into_iter()
        .map(|(name, v)| {
            let Value::Array(items) = v else {
                return Err(PluginFailure::BadAnswer(format!("column `{name}` is not a list of numbers")));
            };
            let values =
                items.iter().map(|x| x.as_f64().map(|f| f as f32)).collect::<Option<Vec<f32>>>().ok_or_else(|| {
                    PluginFailure::BadAnswer(format!("column `{name}` holds something other than numbers"))
                })?;
            Ok(Column::new(name, values))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::npz::{NpyView, write_npy};

    #[test]
    fn json_answers_become_sorted_columns() {
        let c = parse_output(br#"{"b": [1, 2], "a": [0.5, -1e3]}"#, 2, "p", &[]).unwrap();
        assert_eq!(c, vec![Column::new("a", vec![0.5, -1000.0]), Column::new("b", vec![1.0, 2.0])]);
    }

    #[test]
    fn npy_answers_are_named_from_the_declaration() {
        let data = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let npy = write_npy("x", NpyView::F32 { shape: &[3, 2], data: &data }).unwrap();
        let c = parse_output(&npy, 3, "bands", &["low".into(), "high".into()]).unwrap();
        assert_eq!(c, vec![Column::new("low", vec![1.0, 3.0, 5.0]), Column::new("high", vec![2.0, 4.0, 6.0])]);
        let c = parse_output(&npy, 3, "bands", &[]).unwrap();
        assert_eq!(c[1].name, "bands_1");
        let one = write_npy("x", NpyView::F64 { shape: &[2], data: &[0.25, 0.5] }).unwrap();
        assert_eq!(parse_output(&one, 2, "level", &[]).unwrap(), vec![Column::new("level", vec![0.25, 0.5])]);
        let e = parse_output(&npy, 4, "bands", &[]).unwrap_err();
        assert!(e.to_string().contains("3 rows; the grid has T = 4"), "{e}");
    }

    #[test]
    fn garbage_and_bad_columns_are_errors() {
        assert!(matches!(parse_output(b"hello\n", 2, "p", &[]), Err(PluginFailure::Garbage(_))));
        assert!(matches!(parse_output(b"[1, 2]", 2, "p", &[]), Err(PluginFailure::Garbage(_))));
        assert!(matches!(parse_output(b"{}", 2, "p", &[]), Err(PluginFailure::Empty)));
        assert!(matches!(parse_output(br#"{"a": "x"}"#, 2, "p", &[]), Err(PluginFailure::BadAnswer(_))));
        assert!(matches!(parse_output(br#"{"a": [1, null]}"#, 2, "p", &[]), Err(PluginFailure::BadAnswer(_))));
        let e = parse_output(br#"{"a": [1, 2, 3]}"#, 2, "p", &[]).unwrap_err();
        assert!(e.to_string().contains("column `a` has 3 values"), "{e}");
        // 1e39 overflows float32: not finite.
        let e = parse_output(br#"{"a": [1, 1e39]}"#, 2, "p", &[]).unwrap_err();
        assert!(e.to_string().contains("not finite"), "{e}");
        assert!(matches!(parse_output(b"\x93NUMPY\x01\x00", 2, "p", &[]), Err(PluginFailure::Garbage(_))));
    }
}
