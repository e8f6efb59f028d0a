//! The RGB canvas the plots draw on (`features.png`, `loudness.png`): pixels clipped to the
//! canvas, filled rectangles, the built-in font, and PNG bytes through
//! [`super::image::encode_png_rgb8`].

use super::font;
use super::image::{VideoError, encode_png_rgb8};

pub(crate) struct Canvas {
    width: usize,
    height: usize,
    px: Vec<u8>,
}

impl Canvas {
    /// A `width × height` canvas filled with `background`.
    pub(crate) fn new(width: usize, height: usize, background: [u8; 3]) -> Canvas {
        Canvas { width, height, px: background.repeat(width * height) }
    }

    /// One pixel; outside the canvas is ignored.
    pub(crate) fn set(&mut self, x: usize, y: usize, c: [u8; 3]) {
        if x < self.width && y < self.height {
            let i = (y * self.width + x) * 3;
            self.px[i..i + 3].copy_from_slice(&c);
        }
    }

    pub(crate) fn rect(&mut self, x0: usize, y0: usize, w: usize, h: usize, c: [u8; 3]) {
        for y in y0..y0 + h {
            for x in x0..x0 + w {
                self.set(x, y, c);
            }
        }
    }

    /// `s` in the built-in font at scale 2, its top-left corner at (x, y).
    pub(crate) fn text(&mut self, x: usize, y: usize, s: &str, c: [u8; 3]) {
        font::draw(s, 2, &mut |dx, dy| self.set(x + dx, y + dy, c));
    }

    pub(crate) fn png(&self) -> Result<Vec<u8>, VideoError> {
        encode_png_rgb8(self.width as u32, self.height as u32, &self.px)
    }
}
