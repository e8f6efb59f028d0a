//! Decoder output conversion and the postFX chain (DOMAIN §C) on planar float RGB frames.
//!
//! Order (DOMAIN §C): clip to `[0, 1]` → bilinear resize (align corners) → tone curve → vignette →
//! chroma shift → motion trails → grain → clip to `[0, 1]`. Every step is deterministic; grain is
//! seeded per frame so any frame renders identically whether or not earlier frames were rendered.
//! The single-step functions (`apply_tone_curve`, `apply_vignette`, …) are the reference
//! formulas; [`apply`] and [`PostFxPipeline`] run the chain fused, in f32, without per-frame
//! allocation (within a stated tolerance of the reference, see `pipeline.rs`).

mod effects;
mod grain;
mod params;
mod pipeline;
mod resize;
mod tone;
mod tracks;
mod trails;

#[cfg(test)]
mod tests;

pub use effects::{apply_chroma_shift, apply_tone_curve, apply_vignette, chroma_shift_px};
pub use grain::{apply_grain, grain_plane};
pub use params::{POSTFX_SETTINGS, PostFxParams, ToneCurve};
pub use pipeline::PostFxPipeline;
pub use resize::resize_bilinear;
pub use tone::ToneLut;
pub use tracks::PostFxTracks;
pub use trails::TrailState;

/// Number of colour channels in a [`Frame`].
pub const CHANNELS: usize = 3;

/// Planar float RGB frame: `data` holds 3 planes (R, G, B) of `height × width` row-major
/// samples, i.e. index `(c · height + y) · width + x`. Values are nominally in [0, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `3 × height × width` samples, channel-major.
    pub data: Vec<f32>,
}

impl Frame {
    /// A frame from raw planar data; `Err` when `data.len() != 3 · width · height`.
    pub fn new(width: usize, height: usize, data: Vec<f32>) -> Result<Self, String> {
        let expected_len = CHANNELS.checked_mul(width).and_then(|n| n.checked_mul(height));
        match expected_len {
            Some(n) if n == data.len() => Ok(Self { width, height, data }),
            Some(n) => Err(format!("frame data has {} samples, expected 3×{height}×{width} = {n}", data.len())),
            None => Err(format!("frame size 3×{height}×{width} overflows")),
        }
    }

    /// A frame with every sample set to `value`.
    pub fn filled(width: usize, height: usize, value: f32) -> Self {
        Self { width, height, data: vec![value; CHANNELS * width * height] }
    }

    /// Samples per channel plane (`width · height`).
    pub fn plane_len(&self) -> usize {
        self.width * self.height
    }

    /// True when `data.len() == 3 · width · height` (fields are public, so this can be broken).
    pub fn is_valid(&self) -> bool {
        self.width.checked_mul(self.height).and_then(|n| n.checked_mul(CHANNELS)) == Some(self.data.len())
    }

    /// Sample of channel `c` at (`x`, `y`), or `None` when out of range.
    pub fn get(&self, c: usize, x: usize, y: usize) -> Option<f32> {
        if c >= CHANNELS || x >= self.width || y >= self.height {
            return None;
        }
        self.data.get((c * self.height + y) * self.width + x).copied()
    }

    /// Clamp every sample to [0, 1]; NaN becomes 0.
    pub fn clip_unit(&mut self) {
        for v in &mut self.data {
            *v = clip_unit(*v);
        }
    }
}

/// `clip(v, 0, 1)` with NaN mapped to 0.
#[inline]
fn clip_unit(v: f32) -> f32 {
    if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) }
}

/// Decoder output (tanh, in [−1, 1]) to a unit pixel value: `clip(x·0.5 + 0.5, 0, 1)` (NaN → 0).
pub fn decoder_to_unit(x: f32) -> f32 {
    clip_unit(x * 0.5 + 0.5)
}

/// Run the whole postFX chain on one frame and return the `out_w × out_h` result.
///
/// `trail` carries the motion-trail state between consecutive frames; it is only used when
/// `params.motion_trails` is set (pass `None` to disable trails regardless). Grain is seeded with
/// `Rng::derive(seed, "grain/{frame_index}")`. `params` is used as given; call
/// [`PostFxParams::validate`] first — out-of-range values are clamped to their ranges here so
/// the function never panics. Each effect whose knob is 0 is skipped (vignette 0 = off, see
/// below; chroma 0 and grain 0 are exact no-ops anyway). A malformed input frame (`!is_valid()`)
/// or empty input yields a black `out_w × out_h` frame. Per-frame values from param producers:
/// pass [`PostFxTracks::at`]'s params for this frame.
///
/// Choice: strength 0 means "vignette off". The raw formula at s = 0 is (1 − r)^0.001, which
/// is ≈ 1 inside the unit circle but exactly 0 where r ≥ 1 (it would black out the corners at
/// the default settings), so the step is skipped instead.
///
/// Runs on a [`PostFxPipeline`] kept per thread for the last frame size and tone curve, so
/// frame after frame of one render allocates nothing but the result; the result is the same as
/// from a fresh pipeline.
pub fn apply(
    frame: Frame,
    params: &PostFxParams,
    trail: Option<&mut TrailState>,
    seed: u64,
    frame_index: u64,
    out_w: usize,
    out_h: usize,
) -> Frame {
    if !frame.is_valid() || frame.data.is_empty() {
        return Frame::filled(out_w, out_h, 0.0);
    }
    with_pipeline(frame.width, frame.height, out_w, out_h, params, |p| {
        p.render_frame(&frame, params, trail, seed, frame_index)
    })
}

/// Run `f` on this thread's pipeline, made anew when the last one was for other sizes or
/// another tone curve.
fn with_pipeline<T>(
    in_w: usize,
    in_h: usize,
    out_w: usize,
    out_h: usize,
    params: &PostFxParams,
    f: impl FnOnce(&mut PostFxPipeline) -> T,
) -> T {
    thread_local! {
        static PIPELINE: std::cell::RefCell<Option<PostFxPipeline>> = const { std::cell::RefCell::new(None) };
    }
    PIPELINE.with_borrow_mut(|cached| {
        let pipeline = match cached {
            Some(p) if p.fits(in_w, in_h, out_w, out_h, params) => p,
            _ => cached.insert(PostFxPipeline::new(in_w, in_h, out_w, out_h, params)),
        };
        f(pipeline)
    })
}

/// [`apply`] then [`to_rgb8`] in one pass, on one frame of planar 8-bit RGB as decoded segments
/// store it (`3 × in_h × in_w`, value `v/255`): the same bytes, without the float frames in
/// between. A `decoded` of another length than `3 · in_w · in_h` yields black.
#[allow(clippy::too_many_arguments)] // the chain's inputs, as `apply` takes them
pub fn apply_rgb8(
    decoded: &[u8],
    in_w: usize,
    in_h: usize,
    params: &PostFxParams,
    trail: Option<&mut TrailState>,
    seed: u64,
    frame_index: u64,
    out_w: usize,
    out_h: usize,
) -> Vec<u8> {
    let mut out = vec![0u8; CHANNELS * out_w * out_h];
    if in_w == 0 || in_h == 0 || decoded.len() != CHANNELS * in_w * in_h {
        return out;
    }
    let rendered = with_pipeline(in_w, in_h, out_w, out_h, params, |p| {
        p.render_rgb8(decoded, params, trail, seed, frame_index, &mut out)
    });
    if !rendered {
        out.fill(0);
    }
    out
}

/// Interleaved 8-bit RGB (`R G B R G B …`, row-major) with `floor(clip(x,0,1)·255 + 0.5)`.
/// A malformed frame yields an all-zero buffer of `3 · width · height` bytes.
pub fn to_rgb8(frame: &Frame) -> Vec<u8> {
    let plane_len = frame.plane_len();
    let mut out = vec![0u8; CHANNELS * plane_len];
    if !frame.is_valid() {
        return out;
    }
    let (r, rest) = frame.data.split_at(plane_len);
    let (g, b) = rest.split_at(plane_len);
    for (((px, &r), &g), &b) in out.chunks_exact_mut(CHANNELS).zip(r).zip(g).zip(&b[..plane_len]) {
        // The argument is at least 0.5, so truncation is the floor.
        px.copy_from_slice(&[r, g, b].map(|v| (clip_unit(v) * 255.0 + 0.5) as u8));
    }
    out
}
