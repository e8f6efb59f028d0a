//! Film grain: a per-frame seeded N(0, 1) plane, softened by averaging with 1-pixel rolls.

use super::Frame;
use crate::dsp::rng::Rng;

/// Grain amplitude per unit intensity.
pub(super) const GRAIN_SCALE: f64 = 0.15;

/// The grain plane `g` (row-major `height × width`) for one frame, before intensity scaling:
/// `n` is filled row-major by [`Rng::fill_normal_f32`] from
/// `Rng::new(Rng::derive(seed, "grain/{frame_index}"))`, then `g = (n + roll_h(n) + roll_w(n)) / 3`
/// (f32) where `roll_h` / `roll_w` are numpy rolls by +1 pixel along height / width. Depends
/// only on (`seed`, `frame_index`, size).
pub fn grain_plane(seed: u64, frame_index: u64, width: usize, height: usize) -> Vec<f64> {
    let mut n = vec![0.0f32; width * height];
    Rng::new(Rng::derive(seed, &format!("grain/{frame_index}"))).fill_normal_f32(&mut n);
    (0..width * height)
        .map(|i| {
            let (y, x) = (i / width, i % width);
            let up = n[((y + height - 1) % height) * width + x];
            let left = n[y * width + (x + width - 1) % width];
            f64::from((n[i] + up + left) / 3.0)
        })
        .collect()
}

/// Add `g · intensity · 0.15` to all three channels (no clipping here; the chain clips after).
/// `intensity = 0` is a no-op and draws no random numbers.
pub fn apply_grain(frame: &mut Frame, intensity: f64, seed: u64, frame_index: u64) {
    let n = frame.plane_len();
    if intensity == 0.0 || !intensity.is_finite() || n == 0 || !frame.is_valid() {
        return;
    }
    let g = grain_plane(seed, frame_index, frame.width, frame.height);
    let amp = (intensity * GRAIN_SCALE) as f32;
    for plane in frame.data.chunks_exact_mut(n) {
        for (v, gv) in plane.iter_mut().zip(&g) {
            *v += *gv as f32 * amp;
        }
    }
}
