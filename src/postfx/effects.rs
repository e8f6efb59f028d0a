//! Per-frame colour effects: tone curve, vignette and chroma shift (DOMAIN §C).

use super::{Frame, ToneCurve};

/// Apply `curve` to every sample.
pub fn apply_tone_curve(frame: &mut Frame, curve: ToneCurve) {
    if curve == ToneCurve::Linear {
        return;
    }
    for v in &mut frame.data {
        *v = curve.eval(*v);
    }
}

/// `numpy.linspace(-1, 1, n)[i]`: `-1 + 2i/(n − 1)`; for `n = 1` numpy yields `[-1]`, kept here.
fn linspace_unit(i: usize, n: usize) -> f64 {
    if n <= 1 { -1.0 } else { -1.0 + 2.0 * i as f64 / (n - 1) as f64 }
}

/// Vignette gain at pixel (`x`, `y`): `(1 − clip(r, 0, 1))^(4s + 1e-3)` with `r = sqrt(u² + v²)`,
/// `u = linspace(−1, 1, width)[x]`, `v = linspace(−1, 1, height)[y]`. Note that even at `s = 0`
/// the exponent is `1e-3`, so the gain is `(1 − r)^0.001` (slightly below 1, and exactly 0 where
/// `r ≥ 1`, i.e. in the corners) — this matches the seed formula.
pub fn vignette_gain(x: usize, y: usize, width: usize, height: usize, strength: f64) -> f64 {
    let u = linspace_unit(x, width);
    let v = linspace_unit(y, height);
    let r = (u * u + v * v).sqrt().clamp(0.0, 1.0);
    (1.0 - r).powf(4.0 * strength + 1e-3)
}

/// Multiply every channel by `vignette_gain` with strength `strength_s`.
pub fn apply_vignette(frame: &mut Frame, strength_s: f64) {
    let (w, h) = (frame.width, frame.height);
    if !frame.is_valid() || w == 0 || h == 0 {
        return;
    }
    let gains: Vec<f64> =
        (0..h).flat_map(|y| (0..w).map(move |x| (x, y))).map(|(x, y)| vignette_gain(x, y, w, h, strength_s)).collect();
    for plane in frame.data.chunks_exact_mut(w * h) {
        for (v, g) in plane.iter_mut().zip(&gains) {
            *v = (f64::from(*v) * g) as f32;
        }
    }
}

/// Pixel shift for chroma shift `c` on a `width × height` frame:
/// `max(1, floor(|c| · min(width, height)))`, or 0 when `c` is 0 or not finite.
pub fn chroma_shift_px(c: f64, width: usize, height: usize) -> usize {
    if c == 0.0 || !c.is_finite() {
        return 0;
    }
    let px = (c.abs() * width.min(height) as f64).floor();
    if px >= 1.0 { px as usize } else { 1 }
}

/// `numpy.roll` of a row-major `height × width` plane: `out[y][x] = in[y − dy][x − dx]`, indices
/// taken modulo the plane size (positive shifts move content towards larger indices).
pub(super) fn roll_plane(plane: &[f32], width: usize, height: usize, dx: isize, dy: isize) -> Vec<f32> {
    if width == 0 || height == 0 || plane.len() != width * height {
        return plane.to_vec();
    }
    let sx = dx.rem_euclid(width as isize) as usize;
    let sy = dy.rem_euclid(height as isize) as usize;
    let mut out = vec![0.0; plane.len()];
    for y in 0..height {
        let src_row = &plane[((y + height - sy) % height) * width..][..width];
        let dst_row = &mut out[y * width..][..width];
        dst_row[sx..].copy_from_slice(&src_row[..width - sx]);
        dst_row[..sx].copy_from_slice(&src_row[width - sx..]);
    }
    out
}

/// Chroma shift: with `px = chroma_shift_px(c)` and `σ = sign(c)`, the red plane is rolled by
/// `σ·px` along width and the blue plane by `−σ·px` along height (numpy roll semantics, wrapping);
/// green is untouched. `c = 0` is a no-op.
pub fn apply_chroma_shift(frame: &mut Frame, c: f64) {
    let (w, h) = (frame.width, frame.height);
    let px = chroma_shift_px(c, w, h);
    if px == 0 || !frame.is_valid() || w == 0 || h == 0 {
        return;
    }
    let signed = if c > 0.0 { px as isize } else { -(px as isize) };
    let n = w * h;
    let red = roll_plane(&frame.data[..n], w, h, signed, 0);
    frame.data[..n].copy_from_slice(&red);
    let blue = roll_plane(&frame.data[2 * n..3 * n], w, h, 0, -signed);
    frame.data[2 * n..3 * n].copy_from_slice(&blue);
}
