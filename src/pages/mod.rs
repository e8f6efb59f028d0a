//! Reports of a run: pages written beside the outputs, never artifacts (they are not in the
//! lock and change no locked byte). `timings` is `render --timings` (an HTML timeline and Chrome
//! trace events); `gallery` is `ntsbuild report` (a static site of every output). Uses the
//! engine, the store and `media/` for thumbnails; writes every page atomically.

pub mod gallery;
pub mod html;
pub mod timings;

use std::path::{Path, PathBuf};

pub use timings::Timings;

/// Where `render --timings` writes, under the cache folder.
pub const TIMINGS_DIR: &str = "timings";

/// Which timing files to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimingsFormat {
    Html,
    Json,
}

/// Write the timings in each format to `<cache>/timings/ntsbuild-timing.<ext>` and a copy named
/// after the render's start time (`ntsbuild-timing-20260102T030405Z.<ext>`). Returns the paths,
/// the stable one first per format.
pub fn write_timings(
    cache: &Path,
    timings: &Timings,
    formats: &[TimingsFormat],
    started: std::time::SystemTime,
) -> std::io::Result<Vec<PathBuf>> {
    let dir = cache.join(TIMINGS_DIR);
    let stamp = utc_stamp(started);
    let mut written = Vec::new();
    for format in formats {
        let (ext, bytes) = match format {
            TimingsFormat::Html => ("html", timings.html("ntsbuild render timings").into_bytes()),
            TimingsFormat::Json => ("json", trace_bytes(timings)),
        };
        let latest = dir.join(format!("ntsbuild-timing.{ext}"));
        html::write_page(&latest, &bytes)?;
        let stamped = dir.join(format!("ntsbuild-timing-{stamp}.{ext}"));
        html::write_page(&stamped, &bytes)?;
        written.extend([latest, stamped]);
    }
    Ok(written)
}

/// The Chrome trace as bytes (`--profile FILE`, `--timings=json`).
pub fn trace_bytes(timings: &Timings) -> Vec<u8> {
    serde_json::to_vec(&timings.chrome_trace()).unwrap_or_default()
}

/// `YYYYMMDDTHHMMSSZ` in UTC (file names sort by time).
pub fn utc_stamp(t: std::time::SystemTime) -> String {
    let secs = t.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_utc() {
        let at = |s: u64| utc_stamp(std::time::UNIX_EPOCH + std::time::Duration::from_secs(s));
        assert_eq!(at(0), "19700101T000000Z");
        assert_eq!(at(951_782_400), "20000229T000000Z");
        assert_eq!(at(1_767_225_599), "20251231T235959Z");
    }
}
