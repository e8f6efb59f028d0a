//! `loudness.png`: a song's per-beat loudness on three panels — momentary and short-term LUFS
//! (with the integrated loudness as a line), RMS of each channel, and the peak of each beat —
//! on a plain RGB raster, with bar lines and dB grid lines. Same rows ⇒ same bytes.

use super::canvas::Canvas;
use super::image::VideoError;
use crate::arrange::loudness::{BeatRow, LoudnessSummary};

pub const WIDTH: usize = 1200;
const PANEL_H: usize = 170;
const PAD: usize = 14;
const LABEL_W: usize = 110;
pub const HEIGHT: usize = PAD + 3 * (PANEL_H + PAD);
/// The dB range shown.
const DB_MIN: f64 = -60.0;
const DB_MAX: f64 = 0.0;

const BG: [u8; 3] = [18, 18, 24];
const PANEL: [u8; 3] = [30, 30, 40];
const GRID: [u8; 3] = [48, 48, 62];
const BAR_LINE: [u8; 3] = [60, 60, 78];
const TEXT: [u8; 3] = [210, 210, 220];
const BLUE: [u8; 3] = [120, 190, 255];
const ORANGE: [u8; 3] = [255, 170, 90];
const GREEN: [u8; 3] = [150, 235, 130];
const YELLOW: [u8; 3] = [250, 220, 90];

/// One panel: its top, and how a dB value maps to a row.
struct Panel {
    y0: usize,
}

impl Panel {
    const X0: usize = PAD + LABEL_W;
    const W: usize = WIDTH - 2 * PAD - LABEL_W;

    fn y(&self, db: f64) -> usize {
        let t = ((db - DB_MIN) / (DB_MAX - DB_MIN)).clamp(0.0, 1.0);
        self.y0 + PANEL_H - 3 - (t * (PANEL_H - 6) as f64).round() as usize
    }

    /// Columns `[a, b)` of beat `k` of `n`.
    fn span(k: usize, n: usize) -> (usize, usize) {
        let a = Self::X0 + k * Self::W / n.max(1);
        let b = (Self::X0 + (k + 1) * Self::W / n.max(1)).max(a + 1);
        (a, b)
    }

    fn frame(&self, c: &mut Canvas, label: &str, rows: &[BeatRow]) {
        c.rect(PAD, self.y0, WIDTH - 2 * PAD, PANEL_H, PANEL);
        c.text(PAD + 8, self.y0 + 8, label, TEXT);
        for db in [-10.0, -20.0, -30.0, -40.0, -50.0] {
            let y = self.y(db);
            for x in Self::X0..Self::X0 + Self::W {
                if x % 4 < 2 {
                    c.set(x, y, GRID);
                }
            }
            c.text(PAD + LABEL_W - 40, y.saturating_sub(7), &format!("{db:.0}"), GRID);
        }
        // A line where each bar starts.
        for (k, r) in rows.iter().enumerate() {
            if r.beat == 1 {
                let (x, _) = Self::span(k, rows.len());
                for y in self.y0 + 2..self.y0 + PANEL_H - 2 {
                    c.set(x, y, BAR_LINE);
                }
            }
        }
    }

    /// A step line through per-beat values (`None` leaves a gap).
    fn steps(&self, c: &mut Canvas, values: impl Iterator<Item = Option<f64>>, n: usize, color: [u8; 3]) {
        let mut prev: Option<usize> = None;
        for (k, v) in values.enumerate() {
            let Some(v) = v else {
                prev = None;
                continue;
            };
            let (a, b) = Self::span(k, n);
            let y = self.y(v);
            if let Some(p) = prev {
                for yy in p.min(y)..=p.max(y) {
                    c.set(a, yy, color);
                }
            }
            for x in a..b {
                c.set(x, y, color);
            }
            prev = Some(y);
        }
    }
}

/// Draw the plot and encode it as PNG bytes.
pub fn loudness_png(rows: &[BeatRow], summary: &LoudnessSummary) -> Result<Vec<u8>, VideoError> {
    let mut c = Canvas::new(WIDTH, HEIGHT, BG);
    let n = rows.len();
    let top = Panel { y0: PAD };
    top.frame(&mut c, "LUFS", rows);
    if let Some(i) = summary.integrated_lufs {
        let y = top.y(i);
        for x in Panel::X0..Panel::X0 + Panel::W {
            if x % 10 < 6 {
                c.set(x, y, YELLOW);
            }
        }
    }
    top.steps(&mut c, rows.iter().map(|r| r.short_term_lufs), n, ORANGE);
    top.steps(&mut c, rows.iter().map(|r| r.momentary_lufs), n, BLUE);
    let mid = Panel { y0: PAD + PANEL_H + PAD };
    mid.frame(&mut c, "RMS", rows);
    mid.steps(&mut c, rows.iter().map(|r| Some(r.rms_dbfs_r)), n, ORANGE);
    mid.steps(&mut c, rows.iter().map(|r| Some(r.rms_dbfs_l)), n, BLUE);
    let low = Panel { y0: PAD + 2 * (PANEL_H + PAD) };
    low.frame(&mut c, "PEAK", rows);
    for (k, r) in rows.iter().enumerate() {
        let (a, b) = Panel::span(k, n);
        let y = low.y(r.peak_dbfs);
        for x in a..b.saturating_sub(1).max(a + 1) {
            for yy in y..low.y0 + PANEL_H - 3 {
                c.set(x, yy, GREEN);
            }
        }
    }
    c.png()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arrange::loudness::analyze;
    use crate::arrange::tempo::TempoMap;

    #[test]
    fn draws_a_deterministic_png_of_the_right_size() {
        let x: Vec<f32> = (0..48_000 * 6).map(|i| ((i / 7000) as f32 * 0.05) * (i as f32 * 0.05).sin()).collect();
        let a = analyze(&x, &x, 48_000, &TempoMap::constant(120.0)).unwrap();
        let png_bytes = loudness_png(&a.rows, &a.summary).unwrap();
        assert_eq!(png_bytes, loudness_png(&a.rows, &a.summary).unwrap());
        let dec = png::Decoder::new(std::io::Cursor::new(&png_bytes)).read_info().unwrap();
        assert_eq!((dec.info().width as usize, dec.info().height as usize), (WIDTH, HEIGHT));
        // Silence and no rows still draw.
        let z = vec![0.0f32; 10];
        let s = analyze(&z, &z, 48_000, &TempoMap::constant(120.0)).unwrap();
        assert!(loudness_png(&s.rows, &s.summary).is_ok());
        assert!(loudness_png(&[], &s.summary).is_ok());
    }
}
