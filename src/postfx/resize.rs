//! Bilinear resize with align-corners semantics (PyTorch `align_corners=True`).
//!
//! Output pixel `x` samples source coordinate `x · (in_w − 1) / (out_w − 1)` (0 when `out_w = 1`),
//! so the corner pixels of input and output coincide exactly; likewise along height. Weights are
//! computed in f64 from exact integer ratios, so an identity-size resize reproduces the input.

use super::{CHANNELS, Frame};

/// One output coordinate's source taps: lower index, upper index, weight of the upper one.
#[derive(Debug, Clone, Copy)]
struct Tap {
    lo: usize,
    hi: usize,
    frac: f64,
}

fn taps(in_len: usize, out_len: usize) -> Vec<Tap> {
    (0..out_len)
        .map(|i| {
            if in_len <= 1 || out_len <= 1 {
                return Tap { lo: 0, hi: 0, frac: 0.0 };
            }
            let num = i * (in_len - 1);
            let den = out_len - 1;
            let lo = (num / den).min(in_len - 1);
            let hi = (lo + 1).min(in_len - 1);
            let frac = (num % den) as f64 / den as f64;
            Tap { lo, hi, frac }
        })
        .collect()
}

/// Resize `frame` to `out_w × out_h` (align corners). Returns a clone when the size is unchanged,
/// and a black frame when the input is empty or malformed while the output is not.
pub fn resize_bilinear(frame: &Frame, out_w: usize, out_h: usize) -> Frame {
    if out_w == frame.width && out_h == frame.height && frame.is_valid() {
        return frame.clone();
    }
    let mut out = Frame::filled(out_w, out_h, 0.0);
    if !frame.is_valid() || frame.width == 0 || frame.height == 0 {
        return out;
    }
    let (in_w, in_h) = (frame.width, frame.height);
    let x_taps = taps(in_w, out_w);
    let y_taps = taps(in_h, out_h);
    for c in 0..CHANNELS {
        let src = &frame.data[c * in_w * in_h..(c + 1) * in_w * in_h];
        let dst = &mut out.data[c * out_w * out_h..(c + 1) * out_w * out_h];
        for (y, ty) in y_taps.iter().enumerate() {
            let row_lo = &src[ty.lo * in_w..(ty.lo + 1) * in_w];
            let row_hi = &src[ty.hi * in_w..(ty.hi + 1) * in_w];
            for (x, tx) in x_taps.iter().enumerate() {
                let top = f64::from(row_lo[tx.lo]) * (1.0 - tx.frac) + f64::from(row_lo[tx.hi]) * tx.frac;
                let bottom = f64::from(row_hi[tx.lo]) * (1.0 - tx.frac) + f64::from(row_hi[tx.hi]) * tx.frac;
                dst[y * out_w + x] = (top * (1.0 - ty.frac) + bottom * ty.frac) as f32;
            }
        }
    }
    out
}
