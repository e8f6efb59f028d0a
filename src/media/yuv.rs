//! RGB8 ⇄ YUV 4:2:0 (I420) conversion, BT.709 limited range, in fixed-point integer arithmetic
//! so the same pixels give the same bytes on every machine.
//!
//! Forward: luma per pixel, chroma from the mean of each 2×2 block. Inverse: each chroma sample
//! is used for its whole 2×2 block. The video encoder tags its streams as BT.709 limited range
//! (VUI), so players convert back with the same matrix.

/// BT.709 luma weights.
const KR: f64 = 0.2126;
const KB: f64 = 0.0722;
const KG: f64 = 1.0 - KR - KB;
/// Limited-range scale factors: luma spans 16..=235, chroma 16..=240.
const Y_SCALE: f64 = 219.0 / 255.0;
const C_SCALE: f64 = 224.0 / 255.0;

const FRAC_BITS: u32 = 16;

/// `x` in 16.16 fixed point, rounded half away from zero.
const fn fix(x: f64) -> i32 {
    let scaled = x * (1u32 << FRAC_BITS) as f64;
    if scaled >= 0.0 { (scaled + 0.5) as i32 } else { (scaled - 0.5) as i32 }
}

const Y_R: i32 = fix(Y_SCALE * KR);
const Y_G: i32 = fix(Y_SCALE * KG);
const Y_B: i32 = fix(Y_SCALE * KB);
const CB_R: i32 = fix(-C_SCALE * KR / (2.0 * (1.0 - KB)));
const CB_G: i32 = fix(-C_SCALE * KG / (2.0 * (1.0 - KB)));
const CB_B: i32 = fix(C_SCALE * 0.5);
const CR_R: i32 = fix(C_SCALE * 0.5);
const CR_G: i32 = fix(-C_SCALE * KG / (2.0 * (1.0 - KR)));
const CR_B: i32 = fix(-C_SCALE * KB / (2.0 * (1.0 - KR)));

const INV_Y: i32 = fix(1.0 / Y_SCALE);
const INV_R_CR: i32 = fix(2.0 * (1.0 - KR) / C_SCALE);
const INV_G_CB: i32 = fix(-2.0 * (1.0 - KB) * KB / KG / C_SCALE);
const INV_G_CR: i32 = fix(-2.0 * (1.0 - KR) * KR / KG / C_SCALE);
const INV_B_CB: i32 = fix(2.0 * (1.0 - KB) / C_SCALE);

/// An I420 picture: full-size luma, then quarter-size Cb and Cr planes, rows without padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct I420 {
    pub width: usize,
    pub height: usize,
    pub y: Vec<u8>,
    pub u: Vec<u8>,
    pub v: Vec<u8>,
}

impl I420 {
    /// A black-initialised picture; `width` and `height` must be even.
    pub fn new(width: usize, height: usize) -> Self {
        let chroma = (width / 2) * (height / 2);
        Self { width, height, y: vec![16; width * height], u: vec![128; chroma], v: vec![128; chroma] }
    }
}

fn clamp_u8(x: i32) -> u8 {
    x.clamp(0, 255) as u8
}

/// Convert interleaved RGB8 (`rgb.len() == width * height * 3`, even dimensions) into `out`.
pub fn rgb_to_i420(rgb: &[u8], out: &mut I420) {
    let (w, h) = (out.width, out.height);
    debug_assert_eq!(rgb.len(), w * h * 3);
    let round_y = (16 << FRAC_BITS) + (1 << (FRAC_BITS - 1));
    for (row, y_row) in rgb.chunks_exact(w * 3).zip(out.y.chunks_exact_mut(w)) {
        for (px, y) in row.chunks_exact(3).zip(y_row.iter_mut()) {
            let (r, g, b) = (i32::from(px[0]), i32::from(px[1]), i32::from(px[2]));
            *y = clamp_u8((Y_R * r + Y_G * g + Y_B * b + round_y) >> FRAC_BITS);
        }
    }
    // Chroma from 2x2 sums: four pixels, so two more fractional bits.
    let shift = FRAC_BITS + 2;
    let round_c = (128 << shift) + (1 << (shift - 1));
    let cw = w / 2;
    for cy in 0..h / 2 {
        let top = &rgb[(2 * cy) * w * 3..(2 * cy + 1) * w * 3];
        let bottom = &rgb[(2 * cy + 1) * w * 3..(2 * cy + 2) * w * 3];
        for cx in 0..cw {
            let o = cx * 6;
            let sum = |c: usize| {
                i32::from(top[o + c])
                    + i32::from(top[o + 3 + c])
                    + i32::from(bottom[o + c])
                    + i32::from(bottom[o + 3 + c])
            };
            let (r, g, b) = (sum(0), sum(1), sum(2));
            out.u[cy * cw + cx] = clamp_u8((CB_R * r + CB_G * g + CB_B * b + round_c) >> shift);
            out.v[cy * cw + cx] = clamp_u8((CR_R * r + CR_G * g + CR_B * b + round_c) >> shift);
        }
    }
}

/// Convert planes with row strides into interleaved RGB8 (`width * height * 3` bytes).
/// `width` and `height` must be even; each chroma sample covers a 2×2 block.
#[allow(clippy::too_many_arguments)]
pub fn i420_to_rgb(
    width: usize,
    height: usize,
    y: &[u8],
    y_stride: usize,
    u: &[u8],
    v: &[u8],
    uv_stride: usize,
) -> Vec<u8> {
    let mut rgb = vec![0u8; width * height * 3];
    let round = 1 << (FRAC_BITS - 1);
    for (row, out_row) in rgb.chunks_exact_mut(width * 3).enumerate() {
        let y_row = &y[row * y_stride..row * y_stride + width];
        let u_row = &u[(row / 2) * uv_stride..(row / 2) * uv_stride + width / 2];
        let v_row = &v[(row / 2) * uv_stride..(row / 2) * uv_stride + width / 2];
        for (col, px) in out_row.chunks_exact_mut(3).enumerate() {
            let luma = INV_Y * (i32::from(y_row[col]) - 16) + round;
            let cb = i32::from(u_row[col / 2]) - 128;
            let cr = i32::from(v_row[col / 2]) - 128;
            px[0] = clamp_u8((luma + INV_R_CR * cr) >> FRAC_BITS);
            px[1] = clamp_u8((luma + INV_G_CB * cb + INV_G_CR * cr) >> FRAC_BITS);
            px[2] = clamp_u8((luma + INV_B_CB * cb) >> FRAC_BITS);
        }
    }
    rgb
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(rgb: &[u8], w: usize, h: usize) -> Vec<u8> {
        let mut pic = I420::new(w, h);
        rgb_to_i420(rgb, &mut pic);
        i420_to_rgb(w, h, &pic.y, w, &pic.u, &pic.v, w / 2)
    }

    #[test]
    fn greys_and_primaries_map_to_bt709_limited_range() {
        let mut pic = I420::new(2, 2);
        rgb_to_i420(&[0; 12], &mut pic);
        assert_eq!((pic.y[0], pic.u[0], pic.v[0]), (16, 128, 128));
        rgb_to_i420(&[255; 12], &mut pic);
        assert_eq!((pic.y[0], pic.u[0], pic.v[0]), (235, 128, 128));
        // Pure red: Y = 16 + 219 * 0.2126 = 62.6, Cr = 128 + 112 = 240.
        rgb_to_i420(&[255, 0, 0].repeat(4), &mut pic);
        assert_eq!((pic.y[0], pic.v[0]), (63, 240));
        // Pure blue: Cb = 240.
        rgb_to_i420(&[0, 0, 255].repeat(4), &mut pic);
        assert_eq!(pic.u[0], 240);
    }

    #[test]
    fn flat_colours_round_trip_within_two_levels() {
        for colour in [[0u8, 0, 0], [255, 255, 255], [200, 30, 90], [12, 240, 128], [128, 128, 128]] {
            let rgb = colour.repeat(16);
            let back = round_trip(&rgb, 4, 4);
            for (a, b) in rgb.iter().zip(&back) {
                assert!((i32::from(*a) - i32::from(*b)).abs() <= 2, "{colour:?}: {a} vs {b}");
            }
        }
    }
}
