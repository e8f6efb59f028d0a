//! Small helpers for the report pages: escaping, number formatting, the status colours and
//! writing a page atomically.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::engine::Status;
use crate::store::fsutil::write_atomic;

/// `s` safe inside HTML text and double-quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A relative URL for a path with `/` separators: each segment percent-encoded where a browser
/// would misread it (`#`, `?`, `%`, spaces, quotes), then HTML-escaped.
pub fn href(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' | b'+' | b',' | b'=' | b'@' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    esc(&out)
}

/// The word users see for a status.
pub fn status_word(s: Status) -> &'static str {
    match s {
        Status::Built => "built",
        Status::Restored => "restored",
        Status::Downloaded => "downloaded",
        Status::Fresh => "fresh",
        Status::Failed => "failed",
        Status::Skipped => "skipped",
    }
}

/// One colour per status, the same on every page.
pub fn status_colour(s: Status) -> &'static str {
    match s {
        Status::Built => "#e8833a",
        Status::Restored => "#4a90d9",
        Status::Downloaded => "#8e6cc9",
        Status::Fresh => "#5cb85c",
        Status::Failed => "#d9534f",
        Status::Skipped => "#999999",
    }
}

/// `1234567` bytes as `1.2 MiB`.
pub fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

/// Microseconds as `12.3 ms` or `4.56 s`.
pub fn duration(us: u64) -> String {
    if us >= 1_000_000 { format!("{:.2} s", us as f64 / 1e6) } else { format!("{:.1} ms", us as f64 / 1e3) }
}

/// Write a page: to a temp file beside it, then renamed, so a reader never sees half of one.
/// The first write into a folder in this process removes the temp files a killed process left
/// there.
pub fn write_page(path: &Path, bytes: &[u8]) -> io::Result<()> {
    static SWEPT: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
        let first = SWEPT.lock().unwrap_or_else(|e| e.into_inner()).insert(parent.to_path_buf());
        if first {
            crate::store::fsutil::sweep_dir(parent);
        }
    }
    write_atomic(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_urls() {
        assert_eq!(esc(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        assert_eq!(href("kit.demo/a b#1?.wav"), "kit.demo/a%20b%231%3F.wav");
        assert_eq!(href("x/\"q\"&.wav"), "x/%22q%22%26.wav");
        assert_eq!(href("é.wav"), "%C3%A9.wav");
    }

    #[test]
    fn sizes_and_durations() {
        assert_eq!(size(512), "512 B");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(duration(1500), "1.5 ms");
        assert_eq!(duration(2_345_000), "2.35 s");
    }
}
