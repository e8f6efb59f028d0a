//! `features.png`: a four-panel picture of a track's features — rms envelope, spectral
//! centroid, onset strength and an MFCC heat map over time — drawn on a plain RGB raster.

use super::canvas::Canvas;
use super::image::VideoError;

pub const WIDTH: usize = 1200;
const PANEL_H: usize = 150;
const MFCC_H: usize = 208;
const PAD: usize = 14;
const LABEL_W: usize = 96;
pub const HEIGHT: usize = PAD + 3 * (PANEL_H + PAD) + MFCC_H + PAD;

const BG: [u8; 3] = [18, 18, 24];
const PANEL: [u8; 3] = [30, 30, 40];
const TEXT: [u8; 3] = [210, 210, 220];

/// What to draw: one value per frame for the curves, `mfcc` as rows of frames.
pub struct PlotData<'a> {
    pub rms: &'a [f32],
    pub centroid_hz: &'a [f32],
    pub onset: &'a [f32],
    /// `n_mfcc` rows of `rms.len()` values, row-major.
    pub mfcc: &'a [f32],
    pub n_mfcc: usize,
    pub sample_rate_hz: u32,
}

/// Per column of the plot: the max of `v` over the frames that fall in it.
fn columns(v: &[f32], width: usize) -> Vec<f32> {
    (0..width)
        .map(|x| {
            if v.is_empty() {
                return 0.0;
            }
            let a = x * v.len() / width;
            let b = ((x + 1) * v.len() / width).max(a + 1).min(v.len());
            v[a..b].iter().copied().filter(|x| x.is_finite()).fold(0.0f32, f32::max)
        })
        .collect()
}

fn curve(c: &mut Canvas, y0: usize, label: &str, v: &[f32], max: f32, color: [u8; 3], filled: bool) {
    let (x0, w) = (PAD + LABEL_W, WIDTH - 2 * PAD - LABEL_W);
    c.rect(PAD, y0, WIDTH - 2 * PAD, PANEL_H, PANEL);
    c.text(PAD + 8, y0 + 8, label, TEXT);
    let cols = columns(v, w);
    let max = if max > 0.0 { max } else { 1.0 };
    let mut prev: Option<usize> = None;
    for (i, &value) in cols.iter().enumerate() {
        let h = ((value / max).clamp(0.0, 1.0) * (PANEL_H - 4) as f32) as usize;
        let y = y0 + PANEL_H - 2 - h;
        if filled {
            for yy in y..y0 + PANEL_H - 2 {
                c.set(x0 + i, yy, color);
            }
        } else {
            let (a, b) = match prev {
                Some(p) => (p.min(y), p.max(y)),
                None => (y, y),
            };
            for yy in a..=b {
                c.set(x0 + i, yy, color);
            }
        }
        prev = Some(y);
    }
}

/// A perceptually ordered dark-blue → teal → yellow ramp for the heat map.
fn colormap(t: f32) -> [u8; 3] {
    const STOPS: [[f32; 3]; 5] =
        [[20.0, 24.0, 82.0], [49.0, 104.0, 142.0], [33.0, 145.0, 140.0], [94.0, 201.0, 98.0], [253.0, 231.0, 37.0]];
    let t = t.clamp(0.0, 1.0) * (STOPS.len() - 1) as f32;
    let i = (t as usize).min(STOPS.len() - 2);
    let f = t - i as f32;
    let mix = |k: usize| (STOPS[i][k] + (STOPS[i + 1][k] - STOPS[i][k]) * f) as u8;
    [mix(0), mix(1), mix(2)]
}

fn heatmap(c: &mut Canvas, y0: usize, d: &PlotData<'_>) {
    let (x0, w) = (PAD + LABEL_W, WIDTH - 2 * PAD - LABEL_W);
    c.rect(PAD, y0, WIDTH - 2 * PAD, MFCC_H, PANEL);
    c.text(PAD + 8, y0 + 8, "MFCC", TEXT);
    let frames = d.rms.len();
    if frames == 0 || d.n_mfcc == 0 || d.mfcc.len() < d.n_mfcc * frames {
        return;
    }
    let row_h = MFCC_H / d.n_mfcc;
    // Coefficient 0 (loudness) dwarfs the rest: normalise each row on its own range.
    for k in 0..d.n_mfcc {
        let row = &d.mfcc[k * frames..(k + 1) * frames];
        let lo = row.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let span = if hi > lo { hi - lo } else { 1.0 };
        for x in 0..w {
            let v = row[(x * frames / w).min(frames - 1)];
            let color = colormap((v - lo) / span);
            // Row 0 at the bottom, as in librosa's specshow.
            let top = y0 + MFCC_H - (k + 1) * row_h;
            for y in top..top + row_h {
                c.set(x0 + x, y, color);
            }
        }
    }
}

/// Draw the plot and encode it as PNG bytes.
pub fn features_png(d: &PlotData<'_>) -> Result<Vec<u8>, VideoError> {
    let mut c = Canvas::new(WIDTH, HEIGHT, BG);
    let rms_max = d.rms.iter().copied().fold(0.0, f32::max);
    let onset_max = d.onset.iter().copied().fold(0.0, f32::max);
    let mut y = PAD;
    curve(&mut c, y, "RMS", d.rms, rms_max, [120, 190, 255], true);
    y += PANEL_H + PAD;
    curve(&mut c, y, "CENTROID", d.centroid_hz, d.sample_rate_hz as f32 / 2.0, [255, 170, 90], false);
    y += PANEL_H + PAD;
    curve(&mut c, y, "ONSET", d.onset, onset_max, [150, 235, 130], false);
    y += PANEL_H + PAD;
    heatmap(&mut c, y, d);
    c.png()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_a_deterministic_png_of_the_right_size() {
        let n = 300;
        let rms: Vec<f32> = (0..n).map(|i| (i as f32 / 20.0).sin().abs()).collect();
        let mfcc: Vec<f32> = (0..13 * n).map(|i| (i % 97) as f32).collect();
        let d = PlotData { rms: &rms, centroid_hz: &rms, onset: &rms, mfcc: &mfcc, n_mfcc: 13, sample_rate_hz: 48_000 };
        let a = features_png(&d).unwrap();
        assert_eq!(a, features_png(&d).unwrap());
        assert_eq!(&a[1..4], b"PNG");
        let dec = png::Decoder::new(std::io::Cursor::new(&a)).read_info().unwrap();
        assert_eq!((dec.info().width as usize, dec.info().height as usize), (WIDTH, HEIGHT));
    }

    #[test]
    fn empty_features_still_draw() {
        let d = PlotData { rms: &[], centroid_hz: &[], onset: &[], mfcc: &[], n_mfcc: 13, sample_rate_hz: 48_000 };
        assert!(features_png(&d).is_ok());
    }
}
