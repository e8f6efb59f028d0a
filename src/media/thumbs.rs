//! Small pictures for the gallery page: an audio waveform thumbnail (min/max per pixel column)
//! and a stacked-area plot of per-frame weights (an album track's anchor blend over time), both
//! drawn on the plots' `Canvas` and encoded as PNG. Same samples ⇒ same bytes.

use super::canvas::Canvas;
use super::image::VideoError;

const BACKGROUND: [u8; 3] = [250, 250, 250];
const WAVE: [u8; 3] = [60, 110, 180];
const AXIS: [u8; 3] = [200, 200, 200];

/// Colours of stacked series, cycled.
const SERIES: [[u8; 3]; 8] = [
    [78, 121, 167],
    [242, 142, 43],
    [225, 87, 89],
    [118, 183, 178],
    [89, 161, 79],
    [237, 201, 72],
    [176, 122, 161],
    [156, 117, 95],
];

/// A `width × height` waveform of `channels` (their mean): each pixel column spans its share
/// of the samples from their minimum to their maximum. Silence or no samples draw the axis only;
/// non-finite samples count as 0.
pub fn waveform_png(channels: &[Vec<f32>], width: usize, height: usize) -> Result<Vec<u8>, VideoError> {
    let mut c = Canvas::new(width, height, BACKGROUND);
    let mid = height / 2;
    c.rect(0, mid, width, 1, AXIS);
    let frames = channels.iter().map(Vec::len).min().unwrap_or(0);
    if frames > 0 && width > 0 && height > 1 {
        let scale = 1.0 / channels.len() as f32;
        let sample = |i: usize| {
            let v = channels.iter().map(|ch| ch[i]).sum::<f32>() * scale;
            if v.is_finite() { v.clamp(-1.0, 1.0) } else { 0.0 }
        };
        let half = (height - 1) as f32 / 2.0;
        for x in 0..width {
            let (a, b) = (x * frames / width, ((x + 1) * frames / width).max(x * frames / width + 1).min(frames));
            let (mut lo, mut hi) = (f32::MAX, f32::MIN);
            for i in a..b {
                let v = sample(i);
                lo = lo.min(v);
                hi = hi.max(v);
            }
            if lo > hi {
                continue;
            }
            let y0 = (half - hi * half).round().max(0.0) as usize;
            let y1 = (half - lo * half).round().max(0.0) as usize;
            c.rect(x, y0, 1, y1.saturating_sub(y0) + 1, WAVE);
        }
    }
    c.png()
}

/// Per-frame weights (`frames × series`, row-major, each row summing to about 1) as stacked
/// areas over time, one colour per series. Rows are renormalised; non-finite or negative
/// weights count as 0.
pub fn stacked_weights_png(weights: &[f32], series: usize, width: usize, height: usize) -> Result<Vec<u8>, VideoError> {
    let mut c = Canvas::new(width, height, BACKGROUND);
    let frames = weights.len().checked_div(series).unwrap_or(0);
    if frames > 0 && width > 0 {
        for x in 0..width {
            let f = (x * frames / width).min(frames - 1);
            let row = &weights[f * series..(f + 1) * series];
            let clean = |v: f32| if v.is_finite() && v > 0.0 { v } else { 0.0 };
            let total: f32 = row.iter().map(|&v| clean(v)).sum();
            if total <= 0.0 {
                continue;
            }
            let mut y = 0.0f32;
            for (k, &v) in row.iter().enumerate() {
                let h = clean(v) / total * height as f32;
                let (y0, y1) = (y.round() as usize, (y + h).round() as usize);
                c.rect(x, y0, 1, y1.saturating_sub(y0), SERIES[k % SERIES.len()]);
                y += h;
            }
        }
    }
    c.png()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(png: &[u8]) -> (u32, u32, Vec<u8>) {
        let mut r = png::Decoder::new(std::io::Cursor::new(png)).read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size().unwrap()];
        let info = r.next_frame(&mut buf).unwrap();
        (info.width, info.height, buf)
    }

    #[test]
    fn waveform_spans_the_signal_and_is_deterministic() {
        let loud: Vec<f32> = (0..4800).map(|i| if i < 2400 { (i as f32 * 0.1).sin() } else { 0.0 }).collect();
        let a = waveform_png(std::slice::from_ref(&loud), 40, 20).unwrap();
        assert_eq!(a, waveform_png(&[loud], 40, 20).unwrap());
        let (w, h, px) = decode(&a);
        assert_eq!((w, h), (40, 20));
        let at = |x: usize, y: usize| &px[(y * 40 + x) * 3..(y * 40 + x) * 3 + 3];
        // The loud half reaches the top row; the silent half only the axis.
        assert_eq!(at(5, 0), WAVE);
        assert_eq!(at(35, 0), BACKGROUND);
        assert_ne!(at(35, 10), BACKGROUND);
    }

    #[test]
    fn odd_inputs_draw_without_panicking() {
        assert!(waveform_png(&[], 10, 10).is_ok());
        assert!(waveform_png(&[vec![f32::NAN; 3]], 10, 10).is_ok());
        assert!(waveform_png(&[vec![0.5; 3]], 1, 1).is_ok());
        assert!(stacked_weights_png(&[], 0, 10, 10).is_ok());
        assert!(stacked_weights_png(&[f32::NAN, -1.0, 1.0], 3, 10, 10).is_ok());
    }

    #[test]
    fn weights_stack_in_series_colours() {
        // Two frames: all series 0, then all series 1.
        let png = stacked_weights_png(&[1.0, 0.0, 0.0, 1.0], 2, 4, 4).unwrap();
        let (_, _, px) = decode(&png);
        assert_eq!(&px[0..3], SERIES[0]);
        assert_eq!(&px[3 * 3..3 * 3 + 3], SERIES[1]);
    }
}
