//! NumPy `.npy` / `.npz` reading and deterministic writing (little-endian, C order).
//!
//! Writes: f32, f64, uint8 and int64 arrays of any shape and 0-d unicode strings (numpy reads one back as a
//! `str` with `str(z["metadata"])`). Entries are written in the order given, with a fixed
//! 1980-01-01 timestamp and fixed permissions, so equal inputs give equal bytes.
//! Reads: what `numpy.savez[_compressed]` writes for f16/f32/f64/i32/i64/uint8 arrays and unicode strings.

use std::io::{Cursor, Read, Write};
use std::path::Path;

use ::zip::write::SimpleFileOptions;
use ::zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

const MAGIC: &[u8] = b"\x93NUMPY";

/// How `.npz` members are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NpzCompression {
    /// No compression (`numpy.savez`): fastest, bytes independent of any compressor version.
    Stored,
    /// Deflate (`numpy.savez_compressed`).
    Deflated,
}

/// Why an `.npy`/`.npz` could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum NpzError {
    /// File-system error.
    #[error("{name}: {source}")]
    Io {
        /// File or member name.
        name: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The zip container is damaged or unsupported.
    #[error("{name}: not a readable .npz archive: {detail}")]
    Zip {
        /// File name.
        name: String,
        /// What zip reported.
        detail: String,
    },
    /// The `.npy` data is malformed.
    #[error("{name}: malformed .npy data: {detail}")]
    Malformed {
        /// Member name.
        name: String,
        /// What is wrong.
        detail: String,
    },
    /// The array's dtype or layout is not supported.
    #[error("{name}: unsupported .npy array: {detail}")]
    Unsupported {
        /// Member name.
        name: String,
        /// What is unsupported.
        detail: String,
    },
    /// An array to write has data that does not fill its shape.
    #[error("{name}: shape {shape:?} needs {expected} values, got {actual}")]
    ShapeMismatch {
        /// Entry name.
        name: String,
        /// Declared shape.
        shape: Vec<usize>,
        /// Product of the shape.
        expected: usize,
        /// Values supplied.
        actual: usize,
    },
}

/// The element data of an array read from a `.npy`.
#[derive(Clone, Debug, PartialEq)]
pub enum NpyData {
    /// `<f2` (read only).
    F16(Vec<half::f16>),
    /// `<f4`.
    F32(Vec<f32>),
    /// `<f8`.
    F64(Vec<f64>),
    /// `<i4`.
    I32(Vec<i32>),
    /// `<i8`.
    I64(Vec<i64>),
    /// `|u1`.
    U8(Vec<u8>),
    /// `<U…`, one string per element (trailing NULs removed).
    Str(Vec<String>),
}

/// An owned n-dimensional array (C order).
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    /// Dimensions; empty for a 0-d (scalar) array.
    pub shape: Vec<usize>,
    /// Elements in C order.
    pub data: NpyData,
}

impl NpyArray {
    /// The elements as f32 (converting f64 and integers); `None` for strings.
    pub fn to_f32_vec(&self) -> Option<Vec<f32>> {
        match &self.data {
            NpyData::F16(v) => Some(v.iter().map(|x| x.to_f32()).collect()),
            NpyData::F32(v) => Some(v.clone()),
            NpyData::F64(v) => Some(v.iter().map(|&x| x as f32).collect()),
            NpyData::I32(v) => Some(v.iter().map(|&x| x as f32).collect()),
            NpyData::I64(v) => Some(v.iter().map(|&x| x as f32).collect()),
            NpyData::U8(v) => Some(v.iter().map(|&x| f32::from(x)).collect()),
            NpyData::Str(_) => None,
        }
    }

    /// The single integer of a 0-d integer array.
    pub fn as_i64_scalar(&self) -> Option<i64> {
        match &self.data {
            NpyData::I64(v) if v.len() == 1 => Some(v[0]),
            NpyData::I32(v) if v.len() == 1 => Some(i64::from(v[0])),
            _ => None,
        }
    }

    /// The string of a 0-d (or one-element) unicode array.
    pub fn as_str(&self) -> Option<&str> {
        match &self.data {
            NpyData::Str(v) if v.len() == 1 => Some(&v[0]),
            _ => None,
        }
    }

    /// A borrowed view for writing; `None` for integer arrays (not writable).
    pub fn view(&self) -> Option<NpyView<'_>> {
        match &self.data {
            NpyData::F32(v) => Some(NpyView::F32 { shape: &self.shape, data: v }),
            NpyData::F64(v) => Some(NpyView::F64 { shape: &self.shape, data: v }),
            NpyData::Str(v) if v.len() == 1 && self.shape.is_empty() => Some(NpyView::Str(&v[0])),
            _ => None,
        }
    }
}

/// A borrowed array to write.
#[derive(Clone, Copy, Debug)]
pub enum NpyView<'a> {
    /// float32 array of `shape`.
    F32 {
        /// Dimensions (empty for a scalar).
        shape: &'a [usize],
        /// Values in C order.
        data: &'a [f32],
    },
    /// float64 array of `shape`.
    F64 {
        /// Dimensions (empty for a scalar).
        shape: &'a [usize],
        /// Values in C order.
        data: &'a [f64],
    },
    /// uint8 array of `shape`.
    U8 {
        /// Dimensions (empty for a scalar).
        shape: &'a [usize],
        /// Values in C order.
        data: &'a [u8],
    },
    /// int64 array of `shape`.
    I64 {
        /// Dimensions (empty for a scalar).
        shape: &'a [usize],
        /// Values in C order.
        data: &'a [i64],
    },
    /// A 0-d unicode string array.
    Str(&'a str),
}

fn shape_literal(shape: &[usize]) -> String {
    match shape {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        dims => format!("({})", dims.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")),
    }
}

fn header_bytes(descr: &str, shape: &[usize]) -> Vec<u8> {
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {}, }}", shape_literal(shape));
    // Pad with spaces and end with '\n' so the data starts on a 64-byte boundary.
    let unpadded = MAGIC.len() + 2 + 2 + dict.len() + 1;
    let (version, len_bytes) =
        if unpadded.next_multiple_of(64) - 10 <= usize::from(u16::MAX) { (1u8, 2) } else { (2u8, 4) };
    let prefix = MAGIC.len() + 2 + len_bytes;
    let total = (prefix + dict.len() + 1).next_multiple_of(64);
    let header_len = total - prefix;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(header_len as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header_len as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.resize(total - 1, b' ');
    out.push(b'\n');
    out
}

/// Serialises one array as `.npy` bytes.
pub fn write_npy(name: &str, view: NpyView<'_>) -> Result<Vec<u8>, NpzError> {
    let check = |shape: &[usize], actual: usize| {
        let expected = shape.iter().product::<usize>();
        if expected == actual {
            Ok(())
        } else {
            Err(NpzError::ShapeMismatch { name: name.to_string(), shape: shape.to_vec(), expected, actual })
        }
    };
    Ok(match view {
        NpyView::F32 { shape, data } => {
            check(shape, data.len())?;
            let mut out = header_bytes("<f4", shape);
            out.reserve(data.len() * 4);
            data.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
            out
        }
        NpyView::F64 { shape, data } => {
            check(shape, data.len())?;
            let mut out = header_bytes("<f8", shape);
            out.reserve(data.len() * 8);
            data.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
            out
        }
        NpyView::U8 { shape, data } => {
            check(shape, data.len())?;
            let mut out = header_bytes("|u1", shape);
            out.extend_from_slice(data);
            out
        }
        NpyView::I64 { shape, data } => {
            check(shape, data.len())?;
            let mut out = header_bytes("<i8", shape);
            out.reserve(data.len() * 8);
            data.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
            out
        }
        NpyView::Str(s) => {
            let chars = s.chars().count().max(1);
            let mut out = header_bytes(&format!("<U{chars}"), &[]);
            s.chars().for_each(|c| out.extend_from_slice(&u32::from(c).to_le_bytes()));
            out.resize(out.len() + 4 * (chars - s.chars().count()), 0);
            out
        }
    })
}

/// Serialises named arrays as `.npz` bytes (members `NAME.npy`, in the given order).
pub fn write_npz(entries: &[(&str, NpyView<'_>)], compression: NpzCompression) -> Result<Vec<u8>, NpzError> {
    let zip_err = |detail: String| NpzError::Zip { name: "<npz being written>".to_string(), detail };
    let method = match compression {
        NpzCompression::Stored => CompressionMethod::Stored,
        NpzCompression::Deflated => CompressionMethod::Deflated,
    };
    let options = SimpleFileOptions::default()
        .compression_method(method)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644);
    let members =
        entries.iter().map(|(name, view)| Ok((name, write_npy(name, *view)?))).collect::<Result<Vec<_>, NpzError>>()?;
    // Stored members take their own size plus headers: reserve it, so the archive is not
    // copied as it grows (a decoded video segment is megabytes).
    let capacity = match compression {
        NpzCompression::Stored => members.iter().map(|(name, b)| b.len() + 2 * name.len() + 256).sum::<usize>() + 64,
        NpzCompression::Deflated => 0,
    };
    let mut zip = ZipWriter::new(Cursor::new(Vec::with_capacity(capacity)));
    for (name, bytes) in members {
        zip.start_file(format!("{name}.npy"), options).map_err(|e| zip_err(e.to_string()))?;
        zip.write_all(&bytes).map_err(|e| zip_err(e.to_string()))?;
    }
    let cursor = zip.finish().map_err(|e| zip_err(e.to_string()))?;
    Ok(cursor.into_inner())
}

/// Writes an `.npz` atomically (temporary file in the same folder, then rename).
pub fn write_npz_file(
    path: &Path,
    entries: &[(&str, NpyView<'_>)],
    compression: NpzCompression,
) -> Result<(), NpzError> {
    let bytes = write_npz(entries, compression)?;
    let io = |source| NpzError::Io { name: path.display().to_string(), source };
    let file_name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, &bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

/// Parses `.npy` bytes; `name` is used in errors.
pub fn read_npy(bytes: &[u8], name: &str) -> Result<NpyArray, NpzError> {
    let malformed = |detail: &str| NpzError::Malformed { name: name.to_string(), detail: detail.to_string() };
    let unsupported = |detail: String| NpzError::Unsupported { name: name.to_string(), detail };
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(malformed("missing \\x93NUMPY magic"));
    }
    let (header_len, prefix) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 => {
            let raw = bytes.get(8..12).ok_or_else(|| malformed("truncated header length"))?;
            (u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]) as usize, 12)
        }
        v => return Err(unsupported(format!("format version {v}"))),
    };
    let header = bytes.get(prefix..prefix + header_len).ok_or_else(|| malformed("header runs past the end"))?;
    let header = std::str::from_utf8(header).map_err(|_| malformed("header is not text"))?;
    let descr = dict_value(header, "descr").ok_or_else(|| malformed("no 'descr' in header"))?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    let fortran = dict_value(header, "fortran_order").ok_or_else(|| malformed("no 'fortran_order'"))?;
    let shape_text = dict_value(header, "shape").ok_or_else(|| malformed("no 'shape' in header"))?;
    let shape = parse_shape(shape_text).ok_or_else(|| malformed("unreadable 'shape'"))?;
    let count =
        shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).ok_or_else(|| malformed("shape overflows"))?;
    let data = &bytes[prefix + header_len..];
    let ndim = shape.len();
    if fortran.trim() == "True" && ndim > 1 {
        return Err(unsupported("Fortran-ordered array".to_string()));
    }
    let take = |item: usize| -> Result<&[u8], NpzError> {
        count.checked_mul(item).and_then(|n| data.get(..n)).ok_or_else(|| malformed("data shorter than its shape"))
    };
    let data = match descr {
        "<f2" => NpyData::F16(take(2)?.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]])).collect()),
        "<f4" => NpyData::F32(take(4)?.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()),
        "<f8" => NpyData::F64(
            take(8)?
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
        ),
        "<i4" => NpyData::I32(take(4)?.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()),
        "<i8" => NpyData::I64(
            take(8)?
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
        ),
        "|u1" | "<u1" => NpyData::U8(take(1)?.to_vec()),
        d if d.starts_with("<U") => {
            let chars: usize = d[2..].parse().map_err(|_| malformed("bad unicode width"))?;
            let item = chars.checked_mul(4).ok_or_else(|| malformed("bad unicode width"))?;
            let raw = take(item)?;
            let strings = if item == 0 {
                vec![String::new(); count]
            } else {
                raw.chunks_exact(item)
                    .map(|elem| {
                        elem.chunks_exact(4)
                            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                            .take_while(|&u| u != 0)
                            .map(|u| char::from_u32(u).unwrap_or(char::REPLACEMENT_CHARACTER))
                            .collect()
                    })
                    .collect()
            };
            NpyData::Str(strings)
        }
        other => return Err(unsupported(format!("dtype {other}"))),
    };
    Ok(NpyArray { shape, data })
}

/// Reads every `.npy` member of an `.npz`, in archive order, as `(name without .npy, array)`.
pub fn read_npz(bytes: &[u8], name: &str) -> Result<Vec<(String, NpyArray)>, NpzError> {
    let zip_err = |detail: String| NpzError::Zip { name: name.to_string(), detail };
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(|e| zip_err(e.to_string()))?;
    let mut out = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).map_err(|e| zip_err(e.to_string()))?;
        let member = file.name().to_string();
        let Some(key) = member.strip_suffix(".npy") else {
            continue;
        };
        let key = key.to_string();
        let mut data = Vec::with_capacity(usize::try_from(file.size()).unwrap_or(0).min(1 << 30));
        file.read_to_end(&mut data).map_err(|source| NpzError::Io { name: format!("{name}:{member}"), source })?;
        let array = read_npy(&data, &format!("{name}:{member}"))?;
        out.push((key, array));
    }
    Ok(out)
}

/// Reads one array of an `.npz` (`key`, without `.npy`), leaving the other members unread;
/// `None` when the archive has no such member.
pub fn read_npz_member(bytes: &[u8], name: &str, key: &str) -> Result<Option<NpyArray>, NpzError> {
    let zip_err = |detail: String| NpzError::Zip { name: name.to_string(), detail };
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(|e| zip_err(e.to_string()))?;
    let member = format!("{key}.npy");
    let mut file = match archive.by_name(&member) {
        Ok(f) => f,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(zip_err(e.to_string())),
    };
    let mut data = Vec::with_capacity(usize::try_from(file.size()).unwrap_or(0).min(1 << 30));
    file.read_to_end(&mut data).map_err(|source| NpzError::Io { name: format!("{name}:{member}"), source })?;
    read_npy(&data, &format!("{name}:{member}")).map(Some)
}

/// Reads an `.npz` file; see [`read_npz`].
pub fn read_npz_file(path: &Path) -> Result<Vec<(String, NpyArray)>, NpzError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| NpzError::Io { name: name.clone(), source })?;
    read_npz(&bytes, &name)
}

/// The raw text of `key`'s value in a numpy header dict (`{'descr': '<f4', ...}`).
fn dict_value<'h>(header: &'h str, key: &str) -> Option<&'h str> {
    let quoted = [format!("'{key}'"), format!("\"{key}\"")];
    let at = quoted.iter().find_map(|q| header.find(q.as_str()).map(|i| i + q.len()))?;
    let rest = header[at..].trim_start().strip_prefix(':')?.trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')')? + 1
    } else if let Some(q) = rest.chars().next().filter(|c| *c == '\'' || *c == '"') {
        rest[1..].find(q)? + 2
    } else {
        rest.find([',', '}'])?
    };
    Some(rest[..end].trim())
}

fn parse_shape(text: &str) -> Option<Vec<usize>> {
    let inner = text.strip_prefix('(')?.strip_suffix(')')?;
    inner.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| s.trim_end_matches('L').parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_member_reads_alone_and_a_missing_one_is_none() {
        let big = vec![0.25f32; 1 << 16];
        let bytes = write_npz(
            &[("frames", NpyView::F32 { shape: &[1 << 16], data: &big }), ("metadata", NpyView::Str("{\"a\": 1}"))],
            NpzCompression::Deflated,
        )
        .unwrap();
        let meta = read_npz_member(&bytes, "x.npz", "metadata").unwrap().unwrap();
        assert_eq!(meta.as_str(), Some("{\"a\": 1}"));
        let frames = read_npz_member(&bytes, "x.npz", "frames").unwrap().unwrap();
        assert_eq!(frames.to_f32_vec().unwrap(), big);
        assert!(read_npz_member(&bytes, "x.npz", "trail_state").unwrap().is_none());
        let err = read_npz_member(b"not a zip", "x.npz", "metadata").unwrap_err().to_string();
        assert!(err.contains("x.npz"), "{err}");
    }

    #[test]
    fn headers_are_64_byte_aligned() {
        for shape in [&[][..], &[5], &[13, 94], &[2, 3, 4]] {
            let h = header_bytes("<f4", shape);
            assert_eq!(h.len() % 64, 0);
            assert_eq!(h.last(), Some(&b'\n'));
        }
    }

    #[test]
    fn round_trip_arrays_and_string() {
        let a: Vec<f32> = (0..26).map(|v| v as f32 * 0.5).collect();
        let b = [1.0f64, -2.5, 1e300];
        let bytes = write_npz(
            &[
                ("mfcc", NpyView::F32 { shape: &[13, 2], data: &a }),
                ("b", NpyView::F64 { shape: &[3], data: &b }),
                ("metadata", NpyView::Str("{\"sr\": 48000, \"note\": \"é\"}")),
                ("empty", NpyView::Str("")),
            ],
            NpzCompression::Deflated,
        )
        .expect("write");
        let back = read_npz(&bytes, "t.npz").expect("read");
        assert_eq!(back[0].0, "mfcc");
        assert_eq!(back[0].1.shape, vec![13, 2]);
        assert_eq!(back[0].1.data, NpyData::F32(a));
        assert_eq!(back[1].1.data, NpyData::F64(b.to_vec()));
        assert_eq!(back[2].1.as_str(), Some("{\"sr\": 48000, \"note\": \"é\"}"));
        assert!(back[2].1.shape.is_empty());
        assert_eq!(back[3].1.as_str(), Some(""));
    }

    #[test]
    fn writes_are_deterministic() {
        let x = [1.0f32; 100];
        let make = |c| write_npz(&[("x", NpyView::F32 { shape: &[100], data: &x }), ("m", NpyView::Str("m"))], c);
        for c in [NpzCompression::Stored, NpzCompression::Deflated] {
            assert_eq!(make(c).expect("a"), make(c).expect("b"));
        }
    }

    #[test]
    fn shape_mismatch_and_garbage_are_errors() {
        let x = [1.0f32; 3];
        assert!(matches!(
            write_npy("x", NpyView::F32 { shape: &[2, 2], data: &x }),
            Err(NpzError::ShapeMismatch { .. })
        ));
        assert!(read_npz(b"not a zip", "g.npz").is_err());
        assert!(read_npy(b"\x93NUMPY\x01\x00\xff\xff", "g.npy").is_err());
        let mut npy = write_npy("x", NpyView::F32 { shape: &[3], data: &x }).expect("npy");
        npy.truncate(npy.len() - 1);
        assert!(matches!(read_npy(&npy, "t.npy"), Err(NpzError::Malformed { .. })));
    }
}
