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
    // A stored archive is its entries plus a header and a directory record each: sized once,
    // rather than grown (and copied) by doubling.
    let capacity = match packing {
        Packing::Stored => entries.iter().map(|(name, bytes)| bytes.len() + 2 * name.len() + 128).sum::<usize>() + 64,
        Packing::Deflated => 0,
    };
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::with_capacity(capacity)));
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
    let file = std::fs::File::open(path)?;
    let file_len = file.metadata()?.len();
    zip_entry_of(std::io::BufReader::new(file), file_len, name)
}

/// [`read_zip_entry`] of an archive held in memory.
pub fn zip_entry_in(bytes: &[u8], name: &str) -> zip::result::ZipResult<Option<Vec<u8>>> {
    zip_entry_of(Cursor::new(bytes), bytes.len() as u64, name)
}

fn zip_entry_of<R: std::io::Read + std::io::Seek>(
    reader: R,
    file_len: u64,
    name: &str,
) -> zip::result::ZipResult<Option<Vec<u8>>> {
    let mut z = zip::ZipArchive::new(reader)?;
    let mut f = match z.by_name(name) {
        Ok(f) => f,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(e),
    };
    // The size its header claims, within what the archive could hold (a damaged header may claim more).
    let mut buf = Vec::with_capacity(usize::try_from(f.size().min(file_len)).unwrap_or(0));
    std::io::copy(&mut f, &mut buf)?;
    Ok(Some(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_reads_back_and_a_header_claiming_gigabytes_is_an_error_not_an_allocation() {
        let wav = vec![7u8; 100_000];
        let zip = write_zip(&[("index.json", b"{}"), ("a.wav", &wav)], Packing::Stored).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bundle.zip");
        std::fs::write(&path, &zip).unwrap();
        assert_eq!(read_zip_entry(&path, "a.wav").unwrap(), Some(wav.clone()));
        assert_eq!(read_zip_entry(&path, "b.wav").unwrap(), None);
        assert_eq!(zip_entry_in(&zip, "a.wav").unwrap(), Some(wav.clone()));
        assert_eq!(zip_entry_in(&zip, "b.wav").unwrap(), None);

        // Both records of `a.wav` claim 4 GiB − 1 uncompressed and compressed.
        let mut damaged = zip.clone();
        for signature in [[0x50, 0x4b, 0x03, 0x04], [0x50, 0x4b, 0x01, 0x02]] {
            let starts: Vec<usize> = (0..damaged.len() - 4).filter(|&i| damaged[i..i + 4] == signature).collect();
            let (sizes, name_len) = if signature[2] == 3 { (18, 26) } else { (20, 28) };
            for at in starts {
                let n = u16::from_le_bytes([damaged[at + name_len], damaged[at + name_len + 1]]) as usize;
                let name_at = at + if signature[2] == 3 { 30 } else { 46 };
                if &damaged[name_at..name_at + n] == b"a.wav" {
                    damaged[at + sizes..at + sizes + 8].fill(0xff);
                }
            }
        }
        std::fs::write(&path, &damaged).unwrap();
        assert!(read_zip_entry(&path, "a.wav").is_err(), "its bytes end before the size it claims");
        assert_eq!(read_zip_entry(&path, "index.json").unwrap(), Some(b"{}".to_vec()), "the other entry is whole");
    }
}
