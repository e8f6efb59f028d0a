//! Still and animated previews: PNG stills, looping GIFs with a fixed palette, and contact
//! sheets of thumbnails. Deterministic: the same pixels always give the same bytes.
//!
//! GIFs use one fixed global palette (6 red × 7 green × 6 blue levels, 252 colours) with 8×8
//! ordered (Bayer) dithering: no per-frame palette search, so frames are independent and fast.

use std::borrow::Cow;

pub use super::video_error::VideoError;
use super::video_error::check_rgb_frames;

/// Palette levels per channel for GIFs.
const GIF_LEVELS: [u32; 3] = [6, 7, 6];
/// Gutter between and around thumbnails on a contact sheet, and its colour.
const GUTTER_PX: u32 = 2;
const GUTTER_RGB: [u8; 3] = [24, 24, 24];

/// 8×8 Bayer threshold matrix, values 0..64.
const BAYER_8: [[u8; 8]; 8] = [
    [0, 32, 8, 40, 2, 34, 10, 42],
    [48, 16, 56, 24, 50, 18, 58, 26],
    [12, 44, 4, 36, 14, 46, 6, 38],
    [60, 28, 52, 20, 62, 30, 54, 22],
    [3, 35, 11, 43, 1, 33, 9, 41],
    [51, 19, 59, 27, 49, 17, 57, 25],
    [15, 47, 7, 39, 13, 45, 5, 37],
    [63, 31, 55, 23, 61, 29, 53, 21],
];

fn check_size(width: u32, height: u32, max: u32) -> Result<(), VideoError> {
    if width == 0 || height == 0 || width > max || height > max {
        let allowed = if max == u32::from(u16::MAX) {
            "width and height must be 1..=65535 for a GIF"
        } else {
            "width and height must be positive"
        };
        return Err(VideoError::Dimensions { width, height, allowed });
    }
    Ok(())
}

/// Encode one RGB8 image (`width * height * 3` bytes) as PNG.
pub fn encode_png_rgb8(width: u32, height: u32, rgb: &[u8]) -> Result<Vec<u8>, VideoError> {
    check_size(width, height, u32::MAX)?;
    check_rgb_frames(&[rgb], width, height)?;
    let png_err = |e: png::EncodingError| VideoError::Png { detail: e.to_string() };
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(png_err)?;
        writer.write_image_data(rgb).map_err(png_err)?;
        writer.finish().map_err(png_err)?;
    }
    Ok(out)
}

/// The fixed GIF palette, `[r, g, b, …]`, red-major.
fn gif_palette() -> Vec<u8> {
    let [lr, lg, lb] = GIF_LEVELS;
    let level = |i: u32, levels: u32| ((i * 255 + (levels - 1) / 2) / (levels - 1)) as u8;
    let mut palette = Vec::with_capacity((lr * lg * lb * 3) as usize);
    for r in 0..lr {
        for g in 0..lg {
            for b in 0..lb {
                palette.extend_from_slice(&[level(r, lr), level(g, lg), level(b, lb)]);
            }
        }
    }
    palette
}

/// Palette index of each pixel, with ordered dithering.
fn dither_to_palette(width: usize, rgb: &[u8]) -> Vec<u8> {
    let [_, lg, lb] = GIF_LEVELS;
    rgb.chunks_exact(3)
        .enumerate()
        .map(|(i, px)| {
            let threshold = u32::from(BAYER_8[(i / width) % 8][(i % width) % 8]);
            // level = floor(v * (L - 1) / 255 + (t + 0.5) / 64), in integers.
            let quantize = |v: u8, levels: u32| {
                ((u32::from(v) * (levels - 1) * 128 + (2 * threshold + 1) * 255) / (255 * 128)).min(levels - 1)
            };
            let (r, g, b) = (quantize(px[0], GIF_LEVELS[0]), quantize(px[1], lg), quantize(px[2], lb));
            (r * lg * lb + g * lb + b) as u8
        })
        .collect()
}

/// Animated GIF, looping forever, `delay_cs` hundredths of a second per frame; deterministic
/// palette (a fixed 6×7×6 palette with ordered dithering).
pub fn encode_gif(width: u32, height: u32, frames: &[&[u8]], delay_cs: u16) -> Result<Vec<u8>, VideoError> {
    check_size(width, height, u32::from(u16::MAX))?;
    check_rgb_frames(frames, width, height)?;
    let gif_err = |e: gif::EncodingError| VideoError::Gif { detail: e.to_string() };
    let mut out = Vec::new();
    {
        let mut encoder = gif::Encoder::new(&mut out, width as u16, height as u16, &gif_palette()).map_err(gif_err)?;
        encoder.set_repeat(gif::Repeat::Infinite).map_err(gif_err)?;
        for frame in frames {
            let indices = dither_to_palette(width as usize, frame);
            let frame = gif::Frame {
                width: width as u16,
                height: height as u16,
                delay: delay_cs,
                buffer: Cow::Owned(indices),
                ..gif::Frame::default()
            };
            encoder.write_frame(&frame).map_err(gif_err)?;
        }
    }
    Ok(out)
}

/// Downscale (or upscale) one RGB8 image with a box filter over integer source ranges.
fn resize_box(src: &[u8], sw: usize, sh: usize, dw: usize, dh: usize) -> Vec<u8> {
    let span = |i: usize, s: usize, d: usize| {
        let start = i * s / d;
        (start, ((i + 1) * s / d).max(start + 1).min(s))
    };
    let mut out = Vec::with_capacity(dw * dh * 3);
    for ty in 0..dh {
        let (y0, y1) = span(ty, sh, dh);
        for tx in 0..dw {
            let (x0, x1) = span(tx, sw, dw);
            let mut sum = [0u32; 3];
            for y in y0..y1 {
                for px in src[(y * sw + x0) * 3..(y * sw + x1) * 3].chunks_exact(3) {
                    for c in 0..3 {
                        sum[c] += u32::from(px[c]);
                    }
                }
            }
            let n = ((y1 - y0) * (x1 - x0)) as u32;
            out.extend(sum.iter().map(|s| ((s + n / 2) / n) as u8));
        }
    }
    out
}

/// A grid of thumbnails (`columns` per row, each `thumb_width` wide, aspect kept, 2 px dark
/// gutters around and between them). Returns `(width, height, rgb)`.
///
/// `columns` is clamped to `1..=frames.len()` and `thumb_width` to at least 1. A frame whose
/// length is not `width * height * 3` is left as gutter colour; with no frames (or a zero
/// source size) the sheet is empty: `(0, 0, [])`.
pub fn contact_sheet(width: u32, height: u32, frames: &[&[u8]], columns: u32, thumb_width: u32) -> (u32, u32, Vec<u8>) {
    if frames.is_empty() || width == 0 || height == 0 {
        return (0, 0, Vec::new());
    }
    let columns = columns.clamp(1, u32::try_from(frames.len()).unwrap_or(u32::MAX));
    let rows = u32::try_from(frames.len().div_ceil(columns as usize)).unwrap_or(u32::MAX);
    let thumb_w = thumb_width.max(1);
    let thumb_h = ((u64::from(thumb_w) * u64::from(height) + u64::from(width) / 2) / u64::from(width)).max(1) as u32;
    let sheet_w = columns * thumb_w + (columns + 1) * GUTTER_PX;
    let sheet_h = rows * thumb_h + (rows + 1) * GUTTER_PX;
    let mut sheet = GUTTER_RGB.repeat(sheet_w as usize * sheet_h as usize);
    let (sw, sh) = (width as usize, height as usize);
    let (tw, th) = (thumb_w as usize, thumb_h as usize);
    for (i, frame) in frames.iter().enumerate() {
        if frame.len() != sw * sh * 3 {
            continue;
        }
        let thumb = resize_box(frame, sw, sh, tw, th);
        let col = i % columns as usize;
        let row = i / columns as usize;
        let left = GUTTER_PX as usize + col * (tw + GUTTER_PX as usize);
        let top = GUTTER_PX as usize + row * (th + GUTTER_PX as usize);
        for (y, line) in thumb.chunks_exact(tw * 3).enumerate() {
            let at = ((top + y) * sheet_w as usize + left) * 3;
            sheet[at..at + tw * 3].copy_from_slice(line);
        }
    }
    (sheet_w, sheet_h, sheet)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(w: u32, h: u32, t: u32) -> Vec<u8> {
        (0..w * h).flat_map(|i| [((i % w) * 255 / w) as u8, ((i / w) * 255 / h) as u8, (t * 40) as u8]).collect()
    }

    #[test]
    fn png_round_trips() {
        let rgb = ramp(20, 10, 1);
        let bytes = encode_png_rgb8(20, 10, &rgb).unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(&bytes)).read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height, info.color_type), (20, 10, png::ColorType::Rgb));
        assert_eq!(&buf[..info.buffer_size()], &rgb[..]);
        assert!(matches!(encode_png_rgb8(20, 10, &rgb[3..]), Err(VideoError::FrameSize { .. })));
        assert!(matches!(encode_png_rgb8(0, 10, &[]), Err(VideoError::Dimensions { .. })));
    }

    #[test]
    fn gif_decodes_to_the_right_frames_and_colours() {
        let frames: Vec<Vec<u8>> = (0..3).map(|t| ramp(24, 16, t)).collect();
        let refs: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
        let bytes = encode_gif(24, 16, &refs, 8).unwrap();
        assert_eq!(bytes, encode_gif(24, 16, &refs, 8).unwrap());
        let mut options = gif::DecodeOptions::new();
        options.set_color_output(gif::ColorOutput::RGBA);
        let mut decoder = options.read_info(std::io::Cursor::new(&bytes)).unwrap();
        let mut count = 0;
        while let Some(frame) = decoder.read_next_frame().unwrap() {
            assert_eq!((frame.width, frame.height, frame.delay), (24, 16, 8));
            // Dithered colours stay within one palette step (51 for red/blue, 43 for green).
            for (px, src) in frame.buffer.chunks_exact(4).zip(frames[count].chunks_exact(3)) {
                for c in 0..3 {
                    assert!((i32::from(px[c]) - i32::from(src[c])).abs() <= 51);
                }
            }
            count += 1;
        }
        assert_eq!(count, 3);
        assert!(matches!(encode_gif(24, 16, &[], 8), Err(VideoError::NoFrames)));
        assert!(matches!(encode_gif(70_000, 1, &[&[0; 210_000]], 8), Err(VideoError::Dimensions { .. })));
    }

    #[test]
    fn flat_colours_on_the_palette_are_exact_in_gifs() {
        let palette = gif_palette();
        let indices = dither_to_palette(8, &[palette[3 * 100], palette[3 * 100 + 1], palette[3 * 100 + 2]].repeat(64));
        assert!(indices.iter().all(|&i| i == 100));
    }

    #[test]
    fn contact_sheet_lays_out_thumbnails_with_gutters() {
        let a = vec![255u8; 40 * 20 * 3];
        let b = vec![0u8; 40 * 20 * 3];
        let (w, h, rgb) = contact_sheet(40, 20, &[&a, &b, &a], 2, 10);
        // 2 columns of 10 px, 2 rows of 5 px, 2 px gutters.
        assert_eq!((w, h), (2 * 10 + 3 * 2, 2 * 5 + 3 * 2));
        assert_eq!(rgb.len(), (w * h * 3) as usize);
        let at = |x: u32, y: u32| &rgb[((y * w + x) * 3) as usize..((y * w + x) * 3 + 3) as usize];
        assert_eq!(at(0, 0), GUTTER_RGB);
        assert_eq!(at(2, 2), [255, 255, 255]);
        assert_eq!(at(14, 2), [0, 0, 0]);
        assert_eq!(at(2, 9), [255, 255, 255]);
        assert_eq!(at(14, 9), GUTTER_RGB, "the missing fourth thumbnail stays gutter");
        assert_eq!(contact_sheet(40, 20, &[], 2, 10), (0, 0, Vec::new()));
        let (w1, _, _) = contact_sheet(40, 20, &[&a], 5, 10);
        assert_eq!(w1, 10 + 2 * 2, "columns clamp to the frame count");
    }
}
