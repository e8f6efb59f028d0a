//! Sidecar pairs: the bytes of `<source>.cond.npy` (float32, `T × C`, C order) and
//! `<source>.cond.json`, reading them back, and auditing any pair — ours or the seed's.
//!
//! `.cond.json` (schema 2, written by ntsbuild), keys in this fixed order:
//! `schema_version` (2), `fps`, `T`, `names` (C strings, the `.npy`'s column order), `norm`
//! (`{column: {mean, std, min, max}}`, float64 over the float32 values, population std),
//! `source_blake3` (the source file's bytes), `npy_blake3` (the `.npy`'s bytes: proves the two
//! files belong together), `grid` and `producers` (the settings that made it).
//!
//! The seed's own format (schema 1) has `schema_version` 1, `fps`, `names`, optional
//! `source_rate`, and `norm` as per-statistic lists (`{"mean": [..C], "std": [..], …}`); its
//! `.npy` is float16 by default; its runner names the JSON `x.cond.cond.json`. [`audit_pair`]
//! and [`decode_pair`] read both.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::npz::{NpyData, NpyView, NpzError, read_npy, write_npy};
use crate::producers::grid::frames_for_duration;
use crate::producers::{Grid, NormStats, SidecarTable};

/// The `schema_version` ntsbuild writes.
pub const SCHEMA_VERSION: u64 = 2;
/// The seed's `schema_version`.
pub const SEED_SCHEMA_VERSION: u64 = 1;
/// Suffix of the data file.
pub const NPY_SUFFIX: &str = ".cond.npy";
/// Suffix of the metadata file.
pub const JSON_SUFFIX: &str = ".cond.json";
/// What the seed's runner names the metadata file (`x.cond.npy` → `x.cond.cond.json`).
pub const SEED_JSON_SUFFIX: &str = ".cond.cond.json";

/// Relative tolerance of norm statistics against the data, for float32/float64 data: a stored
/// statistic agrees when `|stored − recomputed| ≤ 1e-5 · max(|min|, |max|)` (+1e-12).
pub const NORM_RTOL: f64 = 1e-5;
/// The same for float16 data (the seed computes its statistics before rounding to float16).
pub const NORM_RTOL_F16: f64 = 2e-3;

/// The two files of one sidecar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SidecarPair {
    /// `<source>.cond.npy` bytes.
    pub npy: Vec<u8>,
    /// `<source>.cond.json` bytes.
    pub json: Vec<u8>,
}

/// Why a pair could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum SidecarError {
    /// The `.npy` side.
    #[error(transparent)]
    Npy(#[from] NpzError),
    /// The `.json` side.
    #[error("sidecar JSON: {0}")]
    Json(String),
    /// The two sides disagree (or the pair fails its audit).
    #[error("sidecar pair: {0}")]
    Mismatch(String),
}

#[derive(Serialize)]
struct MetaOut<'a, P: Serialize> {
    schema_version: u64,
    fps: f64,
    #[serde(rename = "T")]
    frames: usize,
    names: &'a [String],
    norm: BTreeMap<&'a str, NormStats>,
    source_blake3: &'a str,
    npy_blake3: String,
    grid: &'a Grid,
    producers: &'a P,
}

/// The bytes of a sidecar pair for `table`. `producers` is recorded as given (the recipe's
/// producer list, with plug-in settings); the bytes depend only on the arguments.
pub fn encode_pair<P: Serialize>(
    table: &SidecarTable,
    grid: &Grid,
    source_blake3: &str,
    producers: &P,
) -> Result<SidecarPair, SidecarError> {
    let shape = [table.frames, table.column_count()];
    let npy = write_npy("sidecar", NpyView::F32 { shape: &shape, data: &table.data })?;
    let norms = table.norms();
    let meta = MetaOut {
        schema_version: SCHEMA_VERSION,
        fps: table.fps,
        frames: table.frames,
        names: &table.names,
        norm: table.names.iter().map(String::as_str).zip(norms).collect(),
        source_blake3,
        npy_blake3: blake3::hash(&npy).to_hex().to_string(),
        grid,
        producers,
    };
    let mut json = serde_json::to_vec_pretty(&meta).map_err(|e| SidecarError::Json(e.to_string()))?;
    json.push(b'\n');
    Ok(SidecarPair { npy, json })
}

/// Magic of a pair bundle: both files in one blob, so one action stores and restores them as a
/// unit.
const BUNDLE_MAGIC: &[u8; 8] = b"NTSPAIR1";

impl SidecarPair {
    /// Both files as one blob: `NTSPAIR1`, the `.npy`'s length (u64 little-endian), the `.npy`,
    /// the `.json`.
    pub fn to_bundle(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.npy.len() + self.json.len());
        out.extend_from_slice(BUNDLE_MAGIC);
        out.extend_from_slice(&(self.npy.len() as u64).to_le_bytes());
        out.extend_from_slice(&self.npy);
        out.extend_from_slice(&self.json);
        out
    }

    /// The inverse of [`SidecarPair::to_bundle`]; checks the `.json`'s `npy_blake3`.
    pub fn from_bundle(bytes: &[u8]) -> Result<SidecarPair, SidecarError> {
        let bad = |why: &str| SidecarError::Mismatch(format!("not a sidecar bundle: {why}"));
        let rest = bytes.strip_prefix(BUNDLE_MAGIC).ok_or_else(|| bad("no NTSPAIR1 magic"))?;
        let (len, rest) = rest.split_first_chunk::<8>().ok_or_else(|| bad("truncated"))?;
        let len = usize::try_from(u64::from_le_bytes(*len)).map_err(|_| bad("length overflows"))?;
        if rest.len() < len {
            return Err(bad("truncated"));
        }
        let (npy, json) = rest.split_at(len);
        let pair = SidecarPair { npy: npy.to_vec(), json: json.to_vec() };
        let meta: Value = serde_json::from_slice(json).map_err(|e| SidecarError::Json(e.to_string()))?;
        if meta.get("npy_blake3").and_then(Value::as_str) != Some(blake3::hash(npy).to_hex().as_str()) {
            return Err(bad("npy_blake3 does not match its .npy"));
        }
        Ok(pair)
    }
}

/// Writes a pair as `dir/<stem>.cond.npy` and `dir/<stem>.cond.json`: each to a temporary name,
/// fsynced, then renamed — the `.npy` first, the `.json` (which names the `.npy`'s digest) last,
/// so the `.json` is the commit record. A crash between the renames leaves a new `.npy` beside
/// the old `.json`, which [`read_pair_files`] and [`audit_pair`] recognise by `npy_blake3`.
pub fn write_pair_files(dir: &Path, stem: &str, pair: &SidecarPair) -> std::io::Result<()> {
    use std::io::Write;
    let pid = std::process::id();
    let mut staged = Vec::new();
    for (suffix, bytes) in [(NPY_SUFFIX, &pair.npy), (JSON_SUFFIX, &pair.json)] {
        let target = dir.join(format!("{stem}{suffix}"));
        let tmp = dir.join(format!(".{stem}{suffix}.{pid}.tmp"));
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        staged.push((tmp, target));
    }
    for (tmp, target) in staged {
        std::fs::rename(&tmp, &target)?;
    }
    std::fs::File::open(dir)?.sync_all()
}

/// Reads `dir/<stem>.cond.npy` and `.cond.json` as one unit: the `.json` first, then the
/// `.npy`, accepted only when the `.json`'s `npy_blake3` is the `.npy`'s digest; a mismatch
/// (a writer between its two renames) is retried a few times, then reported. Pairs without
/// `npy_blake3` (the seed's) are returned as read.
pub fn read_pair_files(dir: &Path, stem: &str) -> Result<SidecarPair, SidecarError> {
    let read = |suffix: &str| {
        let path = dir.join(format!("{stem}{suffix}"));
        std::fs::read(&path).map_err(|e| SidecarError::Mismatch(format!("{}: {e}", path.display())))
    };
    let mut last = String::new();
    for attempt in 0..20 {
        if attempt > 0 {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let json = read(JSON_SUFFIX)?;
        let npy = read(NPY_SUFFIX)?;
        let meta: Value = serde_json::from_slice(&json).map_err(|e| SidecarError::Json(e.to_string()))?;
        match meta.get("npy_blake3").and_then(Value::as_str) {
            Some(want) if want != blake3::hash(&npy).to_hex().as_str() => {
                last = format!(
                    "{stem}{JSON_SUFFIX} names an .npy with digest {want}, not the {stem}{NPY_SUFFIX} beside it"
                );
            }
            _ => return Ok(SidecarPair { npy, json }),
        }
    }
    Err(SidecarError::Mismatch(last))
}

/// Reads a pair (either schema) back into a table. Fails with the audit's first error when the
/// pair is inconsistent (names vs columns, `T`, `npy_blake3`).
pub fn decode_pair(npy: &[u8], json: &[u8]) -> Result<SidecarTable, SidecarError> {
    if let Some(p) = audit_pair(npy, json, None).into_iter().find(|p| p.severity == Severity::Error) {
        return Err(SidecarError::Mismatch(p.message));
    }
    let array = read_npy(npy, "sidecar.cond.npy")?;
    let data = array.to_f32_vec().ok_or_else(|| SidecarError::Mismatch("the .npy is not numeric".into()))?;
    let meta: Value = serde_json::from_slice(json).map_err(|e| SidecarError::Json(e.to_string()))?;
    let names: Vec<String> = meta["names"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let fps = meta["fps"].as_f64().unwrap_or(0.0);
    let frames = array.shape.first().copied().unwrap_or(0);
    let winners = vec![String::new(); names.len()];
    Ok(SidecarTable { fps, frames, names, data, winners })
}

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; the pair is usable (e.g. the seed's file naming).
    Warning,
    /// The pair is wrong or unusable.
    Error,
}

/// One finding of an audit, printed as one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// A stable code: `bad_npy`, `bad_dtype`, `bad_shape`, `bad_json`, `missing_key`,
    /// `bad_type`, `unknown_schema`, `names_length_mismatch`, `duplicate_names`,
    /// `frame_mismatch`, `fps_mismatch`, `misaligned`, `non_finite`, `norm_missing`,
    /// `norm_mismatch`, `norm_length_mismatch`, `npy_digest_mismatch`, `missing_json`,
    /// `missing_npy`, `seed_naming`.
    pub code: &'static str,
    /// What is wrong, in one line.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{s}[{}]: {}", self.code, self.message)
    }
}

fn error(code: &'static str, message: impl Into<String>) -> Problem {
    Problem { severity: Severity::Error, code, message: message.into() }
}

fn warning(code: &'static str, message: impl Into<String>) -> Problem {
    Problem { severity: Severity::Warning, code, message: message.into() }
}

/// The data side, as far as it could be read.
struct Data {
    rows: usize,
    cols: usize,
    values: Vec<f32>,
    rtol: f64,
}

fn audit_npy(npy: &[u8], out: &mut Vec<Problem>) -> Option<Data> {
    let array = match read_npy(npy, ".cond.npy") {
        Ok(a) => a,
        Err(e) => {
            out.push(error("bad_npy", format!("{e}")));
            return None;
        }
    };
    let rtol = match array.data {
        NpyData::F16(_) => NORM_RTOL_F16,
        NpyData::F32(_) | NpyData::F64(_) => NORM_RTOL,
        _ => {
            let dtype = match array.data {
                NpyData::I32(_) => "int32",
                NpyData::I64(_) => "int64",
                NpyData::U8(_) => "uint8",
                _ => "unicode",
            };
            out.push(error(
                "bad_dtype",
                format!(".cond.npy holds {dtype}; a sidecar holds float32 (or the seed's float16)"),
            ));
            return None;
        }
    };
    let [rows, cols] = array.shape[..] else {
        out.push(error("bad_shape", format!(".cond.npy has shape {:?}; a sidecar is 2-D, T × C", array.shape)));
        return None;
    };
    let values = array.to_f32_vec().unwrap_or_default();
    Some(Data { rows, cols, values, rtol })
}

/// Checks one pair: the `.npy` is a float `T × C` array, the JSON has its schema's keys with the
/// right types, `names` has `C` distinct entries, `T` agrees with the rows (and with
/// `ceil(duration · fps)` when `expected = Some((duration_s, fps))`), every value is finite,
/// the stored norms agree with the data (see [`NORM_RTOL`]), and `npy_blake3`, when present,
/// is the `.npy`'s digest. Seed-format pairs (schema 1) are checked against their own schema.
/// One [`Problem`] per finding; an empty list means the pair is sound.
pub fn audit_pair(npy: &[u8], json: &[u8], expected: Option<(f64, f64)>) -> Vec<Problem> {
    let mut out = Vec::new();
    let data = audit_npy(npy, &mut out);
    let meta: Value = match serde_json::from_slice(json) {
        Ok(v @ Value::Object(_)) => v,
        Ok(other) => {
            out.push(error("bad_json", format!(".cond.json is {}, not an object", json_type(&other))));
            return out;
        }
        Err(e) => {
            out.push(error("bad_json", format!(".cond.json is not valid JSON: {e}")));
            return out;
        }
    };
    let version = match meta.get("schema_version") {
        None => {
            out.push(error("missing_key", "schema_version is missing"));
            // Guess from the layout of `norm` so the rest can still be checked.
            if meta.get("npy_blake3").is_some() || norm_is_per_column(&meta) {
                SCHEMA_VERSION
            } else {
                SEED_SCHEMA_VERSION
            }
        }
        Some(v) => match v.as_u64() {
            Some(n @ (SEED_SCHEMA_VERSION | SCHEMA_VERSION)) => n,
            _ => {
                out.push(error(
                    "unknown_schema",
                    format!("schema_version {v} is not one this audit knows (1: the seed's, 2: ntsbuild's)"),
                ));
                return out;
            }
        },
    };
    let required: &[&str] = if version == SCHEMA_VERSION {
        &["fps", "T", "names", "norm", "source_blake3", "producers", "npy_blake3"]
    } else {
        &["fps", "names", "norm"]
    };
    for key in required {
        if meta.get(*key).is_none() {
            out.push(error("missing_key", format!("{key} is missing (schema {version})")));
        }
    }

    // names
    let names: Option<Vec<String>> = match meta.get("names") {
        None => None,
        Some(Value::Array(items)) => {
            let strings: Option<Vec<String>> = items.iter().map(|v| v.as_str().map(str::to_string)).collect();
            if strings.is_none() {
                out.push(error("bad_type", "names must be a list of strings"));
            }
            strings
        }
        Some(other) => {
            out.push(error("bad_type", format!("names is {}, not a list of strings", json_type(other))));
            None
        }
    };
    if let Some(names) = &names {
        let mut seen = std::collections::BTreeSet::new();
        let dups: Vec<&str> = names.iter().filter(|n| !seen.insert(n.as_str())).map(String::as_str).collect();
        if !dups.is_empty() {
            out.push(error("duplicate_names", format!("names repeat: {}", dups.join(", "))));
        }
        if let Some(d) = &data
            && names.len() != d.cols
        {
            out.push(error(
                "names_length_mismatch",
                format!("names has {} entries but the .npy has {} columns", names.len(), d.cols),
            ));
        }
    }

    // fps, T and alignment
    let fps = match meta.get("fps") {
        None => None,
        Some(v) => match v.as_f64() {
            Some(f) if f.is_finite() && f > 0.0 => Some(f),
            _ => {
                out.push(error("bad_type", format!("fps is {v}; expected a positive number")));
                None
            }
        },
    };
    if let Some(t) = meta.get("T") {
        match (t.as_u64(), &data) {
            (None, _) => out.push(error("bad_type", format!("T is {t}; expected a whole number"))),
            (Some(t), Some(d)) if t as usize != d.rows => {
                out.push(error("frame_mismatch", format!("T is {t} but the .npy has {} rows", d.rows)))
            }
            _ => {}
        }
    }
    if let Some((duration_s, want_fps)) = expected {
        if let Some(f) = fps
            && (f - want_fps).abs() > 1e-9 * want_fps.max(1.0)
        {
            out.push(error("fps_mismatch", format!("fps is {f}, expected {want_fps}")));
        }
        if let Some(d) = &data {
            let want = frames_for_duration(duration_s, want_fps);
            if d.rows != want {
                let hint = if d.rows == (duration_s * want_fps).floor() as usize {
                    " (that is floor(duration · fps); frames covering the source are the ceiling)"
                } else {
                    ""
                };
                out.push(error(
                    "misaligned",
                    format!(
                        "{} frames, but {duration_s} s at {want_fps} fps needs ceil(duration · fps) = {want}{hint}",
                        d.rows
                    ),
                ));
            }
        }
    }

    // values and norms
    if let Some(d) = &data {
        let col_name = |c: usize| {
            names.as_ref().and_then(|n| n.get(c)).map_or_else(|| format!("column {c}"), |n| format!("column `{n}`"))
        };
        let mut finite = vec![true; d.cols];
        for (c, ok) in finite.iter_mut().enumerate() {
            if let Some(t) = (0..d.rows).find(|&t| !d.values[t * d.cols + c].is_finite()) {
                out.push(error("non_finite", format!("{} is {} at frame {t}", col_name(c), d.values[t * d.cols + c])));
                *ok = false;
            }
        }
        let stored = stored_norms(&meta, version, names.as_deref(), d.cols, &mut out);
        for (c, s) in stored.iter().enumerate() {
            let (Some(s), true) = (s, finite[c]) else { continue };
            let actual = NormStats::of_iter((0..d.rows).map(|t| f64::from(d.values[t * d.cols + c])), d.rows);
            let scale = actual.min.abs().max(actual.max.abs());
            let tol = d.rtol * scale + 1e-12;
            let off: Vec<String> = [
                ("mean", s[0], actual.mean),
                ("std", s[1], actual.std),
                ("min", s[2], actual.min),
                ("max", s[3], actual.max),
            ]
            .iter()
            .filter(|(_, have, want)| !within(*have, *want, tol))
            .map(|(k, have, want)| format!("{k} {have} (data: {want})"))
            .collect();
            if !off.is_empty() {
                out.push(error(
                    "norm_mismatch",
                    format!("{}: stored {} (tolerance {tol:.3e})", col_name(c), off.join(", ")),
                ));
            }
        }
    }

    // npy_blake3
    match meta.get("npy_blake3") {
        None => {}
        Some(Value::String(want)) => {
            let have = blake3::hash(npy).to_hex();
            if have.as_str() != want {
                out.push(error(
                    "npy_digest_mismatch",
                    format!(
                        "npy_blake3 is {want} but the .npy's digest is {have}: the two files are not from one build"
                    ),
                ));
            }
        }
        Some(other) => out.push(error("bad_type", format!("npy_blake3 is {}, not a string", json_type(other)))),
    }
    if version == SCHEMA_VERSION {
        for key in ["source_blake3"] {
            if let Some(v) = meta.get(key)
                && !v.is_string()
            {
                out.push(error("bad_type", format!("{key} is {}, not a string", json_type(v))));
            }
        }
        if let Some(v) = meta.get("producers")
            && !v.is_array()
        {
            out.push(error("bad_type", format!("producers is {}, not a list", json_type(v))));
        }
    }
    out
}

/// `|a − b| ≤ tol`; false when either is NaN.
fn within(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

fn norm_is_per_column(meta: &Value) -> bool {
    meta.get("norm").and_then(Value::as_object).is_some_and(|m| m.values().all(Value::is_object) && !m.is_empty())
}

/// Stored `[mean, std, min, max]` per column (`None` where absent or unusable), reporting
/// layout problems.
fn stored_norms(
    meta: &Value,
    version: u64,
    names: Option<&[String]>,
    cols: usize,
    out: &mut Vec<Problem>,
) -> Vec<Option<[f64; 4]>> {
    let mut stats = vec![None; cols];
    let Some(norm) = meta.get("norm") else { return stats };
    let Some(norm) = norm.as_object() else {
        out.push(error("bad_type", format!("norm is {}, not an object", json_type(norm))));
        return stats;
    };
    const KEYS: [&str; 4] = ["mean", "std", "min", "max"];
    if version == SEED_SCHEMA_VERSION {
        // {"mean": [C], "std": [C], "min": [C], "max": [C]}
        let mut lists = Vec::new();
        for k in KEYS {
            match norm.get(k).map(|v| v.as_array().map(|a| a.iter().map(Value::as_f64).collect::<Option<Vec<f64>>>())) {
                None => {
                    out.push(error("missing_key", format!("norm.{k} is missing (schema 1)")));
                    return stats;
                }
                Some(Some(Some(list))) => lists.push(list),
                Some(_) => {
                    out.push(error("bad_type", format!("norm.{k} must be a list of numbers (schema 1)")));
                    return stats;
                }
            }
        }
        if lists.iter().all(Vec::is_empty) && cols > 0 {
            out.push(warning(
                "norm_missing",
                format!("norm lists are empty: no statistics stored for the {cols} columns"),
            ));
            return stats;
        }
        for (k, list) in KEYS.iter().zip(&lists) {
            if list.len() != cols {
                out.push(error(
                    "norm_length_mismatch",
                    format!("norm.{k} has {} values for {cols} columns", list.len()),
                ));
                return stats;
            }
        }
        for (c, slot) in stats.iter_mut().enumerate() {
            *slot = Some([lists[0][c], lists[1][c], lists[2][c], lists[3][c]]);
        }
        return stats;
    }
    // {column: {mean, std, min, max}}
    let Some(names) = names else { return stats };
    for (c, name) in names.iter().enumerate().take(cols) {
        let Some(entry) = norm.get(name) else {
            out.push(error("norm_missing", format!("norm has no entry for column `{name}`")));
            continue;
        };
        let values: Option<Vec<f64>> = KEYS.iter().map(|k| entry.get(*k).and_then(Value::as_f64)).collect();
        match values {
            Some(v) => stats[c] = Some([v[0], v[1], v[2], v[3]]),
            None => out.push(error("bad_type", format!("norm.{name} needs numbers mean, std, min and max"))),
        }
    }
    for key in norm.keys() {
        if !names.contains(key) {
            out.push(error("norm_missing", format!("norm has an entry for `{key}`, which is not a column")));
        }
    }
    stats
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The two files of a pair on disk, as found from either one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairPaths {
    /// The data file.
    pub npy: PathBuf,
    /// The metadata file, if found (`x.cond.json`, else the seed's `x.cond.cond.json`).
    pub json: Option<PathBuf>,
}

/// Finds both files of a pair from the path of either: `x.cond.npy`, `x.cond.json` or the
/// seed's `x.cond.cond.json` (any other `x.npy` pairs with `x.json`).
pub fn pair_paths(path: &Path) -> PairPaths {
    let text = path.to_string_lossy();
    let with = |stem: &str, suffix: &str| PathBuf::from(format!("{stem}{suffix}"));
    let (npy, candidates) = if let Some(stem) = text.strip_suffix(SEED_JSON_SUFFIX) {
        (with(stem, NPY_SUFFIX), vec![path.to_path_buf(), with(stem, JSON_SUFFIX)])
    } else if let Some(stem) = text.strip_suffix(JSON_SUFFIX) {
        (with(stem, NPY_SUFFIX), vec![path.to_path_buf(), with(stem, SEED_JSON_SUFFIX)])
    } else if let Some(stem) = text.strip_suffix(NPY_SUFFIX) {
        (path.to_path_buf(), vec![with(stem, JSON_SUFFIX), with(stem, SEED_JSON_SUFFIX)])
    } else {
        (path.with_extension("npy"), vec![path.with_extension("json")])
    };
    let json = candidates.into_iter().find(|p| p.is_file());
    PairPaths { npy, json }
}

/// Audits the pair that `path` (either file) belongs to; see [`audit_pair`]. Also reports a
/// missing partner, and the seed's `x.cond.cond.json` naming as a warning.
pub fn audit_files(path: &Path, expected: Option<(f64, f64)>) -> (PairPaths, Vec<Problem>) {
    let paths = pair_paths(path);
    let mut out = Vec::new();
    let npy = match std::fs::read(&paths.npy) {
        Ok(b) => Some(b),
        Err(e) => {
            out.push(error("missing_npy", format!("{}: {e}", paths.npy.display())));
            None
        }
    };
    let Some(json_path) = &paths.json else {
        out.push(error(
            "missing_json",
            format!("no {JSON_SUFFIX} (or the seed's {SEED_JSON_SUFFIX}) beside {}", paths.npy.display()),
        ));
        return (paths, out);
    };
    if json_path.to_string_lossy().ends_with(SEED_JSON_SUFFIX) {
        out.push(warning(
            "seed_naming",
            format!(
                "the metadata is named {} (the seed's naming bug); the pair's JSON is normally x{JSON_SUFFIX}",
                json_path.display()
            ),
        ));
    }
    let json = match std::fs::read(json_path) {
        Ok(b) => b,
        Err(e) => {
            out.push(error("missing_json", format!("{}: {e}", json_path.display())));
            return (paths, out);
        }
    };
    if let Some(npy) = npy {
        out.extend(audit_pair(&npy, &json, expected));
    }
    (paths, out)
}

/// Every `*.cond.npy` under `dir` (recursively, sorted), plus JSON files with no `.npy` beside
/// them, for `audit --sidecars DIR`.
pub fn find_sidecars(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                stack.push(path);
                continue;
            }
            let name = path.to_string_lossy();
            let orphan_json = name.ends_with(JSON_SUFFIX) && !pair_paths(&path).npy.is_file();
            if name.ends_with(NPY_SUFFIX) || orphan_json {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests;
