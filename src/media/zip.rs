//! ZIP archives with fixed timestamps and permissions, so the same files give the same bytes.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;

/// How a ZIP's entries are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packing {
    /// Deflate level 6: archives users download.
    Deflated,
    /// Uncompressed: archives the build reads one entry at a time (no inflating to reach one).
    Stored,
}

/// Write `(name, bytes)` entries, in the given order.
pub fn write_zip(entries: &[(&str, &[u8])], packing: Packing) -> zip::result::ZipResult<Vec<u8>> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = match packing {
        Packing::Deflated => {
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated).compression_level(Some(6))
        }
        Packing::Stored => SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored),
    };
    let options = options.last_modified_time(zip::DateTime::default()).unix_permissions(0o644);
    for (name, bytes) in entries {
        w.start_file(*name, options)?;
        w.write_all(bytes)?;
    }
    Ok(w.finish()?.into_inner())
}

/// Read every entry of a ZIP archive (for tests and audits).
pub fn read_zip(bytes: &[u8]) -> zip::result::ZipResult<Vec<(String, Vec<u8>)>> {
    let mut z = zip::ZipArchive::new(Cursor::new(bytes))?;
    let mut out = Vec::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i)?;
        let mut buf = Vec::new();
        std::io::copy(&mut f, &mut buf)?;
        out.push((f.name().to_string(), buf));
    }
    Ok(out)
}

/// One entry of a zip file, read without loading the others (None when it has no such entry).
/// The entry's CRC-32 is checked: a damaged entry is an error.
pub fn read_zip_entry(path: &std::path::Path, name: &str) -> zip::result::ZipResult<Option<Vec<u8>>> {
    let mut z = zip::ZipArchive::new(std::io::BufReader::new(std::fs::File::open(path)?))?;
    let mut f = match z.by_name(name) {
        Ok(f) => f,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut buf = Vec::new();
    std::io::copy(&mut f, &mut buf)?;
    Ok(Some(buf))
}
