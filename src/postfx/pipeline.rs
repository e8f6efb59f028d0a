//! The postFX chain prepared once for a frame size and run frame after frame without
//! allocating: resize taps, the tone-curve table and the vignette gains are computed once, the
//! work is done row by row in reused buffers, and the last steps (chroma shift, trails, grain,
//! clip, 8-bit) are one fused pass.
//!
//! It computes DOMAIN §C's chain in f32 (the reference formulas are in `effects.rs`,
//! `resize.rs`, `trails.rs` and `grain.rs`): bilinear resize with align-corners taps (vertical
//! then horizontal), the tone curve from a 4096-piece table ([`ToneLut`]), the vignette gain
//! `(1 − clip(r, 0, 1))^(4s + 1e-3)` as `exp((4s + 1e-3)·ln(1 − r))`, chroma shift as a
//! wrapped read offset, trails `state = 0.82·state + 0.18·x`, `x = 0.7·x + 0.3·state`, grain
//! `(n + roll_h(n) + roll_w(n))/3 · intensity · 0.15` and the final clip. Against the f64
//! formulas it differs by float rounding plus the table's error (≤ 3e-4, punch near black;
//! below 2e-5 elsewhere), a small fraction of an 8-bit level; `tests.rs` bounds it.

use super::grain::GRAIN_SCALE;
use super::params::CHROMA_SHIFT_MAX;
use super::tone::ToneLut;
use super::trails::{FRAME_MIX, STATE_DECAY};
use super::{CHANNELS, Frame, PostFxParams, TrailState, chroma_shift_px};
use crate::dsp::rng::Rng;

/// One output coordinate's source taps: lower index, upper index, weight of the upper one.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Tap {
    lo: usize,
    hi: usize,
    frac: f32,
}

/// Align-corners taps (`x · (in − 1)/(out − 1)`, exact integer ratios), as in `resize.rs`.
fn taps(in_len: usize, out_len: usize) -> Vec<Tap> {
    (0..out_len)
        .map(|i| {
            if in_len <= 1 || out_len <= 1 {
                return Tap { lo: 0, hi: 0, frac: 0.0 };
            }
            let (num, den) = (i * (in_len - 1), out_len - 1);
            let lo = (num / den).min(in_len - 1);
            Tap { lo, hi: (lo + 1).min(in_len - 1), frac: ((num % den) as f64 / den as f64) as f32 }
        })
        .collect()
}

/// The postFX chain for `in_w × in_h` planar RGB input and `out_w × out_h` output.
#[derive(Debug, Clone)]
pub struct PostFxPipeline {
    in_w: usize,
    in_h: usize,
    out_w: usize,
    out_h: usize,
    x_taps: Vec<Tap>,
    y_taps: Vec<Tap>,
    lut: ToneLut,
    /// `ln(1 − clip(r, 0, 1))` per output pixel (−∞ outside the unit circle), made on first use.
    log_falloff: Vec<f32>,
    /// The vignette strength the gains below are for, and the gains.
    vignette: Option<(f64, Vec<f32>)>,
    /// The input as clipped f32 planes.
    source: Vec<f32>,
    /// Resized, toned and vignetted planes (3 × out).
    planes: Vec<f32>,
    /// The input rows of one channel, resized horizontally (in_h × out_w).
    wide: Vec<f32>,
    /// The grain's N(0, 1) plane for the current frame.
    noise: Vec<f32>,
    /// The grain offsets of one output row, and one row per channel of the fused pass.
    grain_row: Vec<f32>,
    rows: [Vec<f32>; CHANNELS],
    /// One 8-bit output row per channel, before interleaving.
    bytes: [Vec<u8>; CHANNELS],
}

impl PostFxPipeline {
    /// A pipeline for frames of `in_w × in_h` to `out_w × out_h` with `params`' tone curve.
    pub fn new(in_w: usize, in_h: usize, out_w: usize, out_h: usize, params: &PostFxParams) -> Self {
        Self {
            in_w,
            in_h,
            out_w,
            out_h,
            x_taps: taps(in_w, out_w),
            y_taps: taps(in_h, out_h),
            lut: ToneLut::new(params.tone_curve),
            log_falloff: Vec::new(),
            vignette: None,
            source: vec![0.0; CHANNELS * in_w * in_h],
            planes: vec![0.0; CHANNELS * out_w * out_h],
            wide: vec![0.0; in_h * out_w],
            noise: Vec::new(),
            grain_row: vec![0.0; out_w],
            rows: std::array::from_fn(|_| vec![0.0; out_w]),
            bytes: std::array::from_fn(|_| vec![0; out_w]),
        }
    }

    /// True when this pipeline was made for these sizes and tone curve.
    pub fn fits(&self, in_w: usize, in_h: usize, out_w: usize, out_h: usize, params: &PostFxParams) -> bool {
        (self.in_w, self.in_h, self.out_w, self.out_h) == (in_w, in_h, out_w, out_h)
            && self.lut.curve() == params.tone_curve
    }

    /// Run the chain on one frame of planar 8-bit RGB (`3 × in_h × in_w`, value `v/255`, as
    /// the decoded segments store it) and write interleaved RGB8 (`out_h × out_w × 3`) into
    /// `out`. `params` may differ from frame to frame (per-frame tracks); `trail` carries the
    /// motion-trail state when `params.motion_trails` is set. Returns false (writing nothing)
    /// when `decoded` or `out` has the wrong length.
    pub fn render_rgb8(
        &mut self,
        decoded: &[u8],
        params: &PostFxParams,
        trail: Option<&mut TrailState>,
        seed: u64,
        frame_index: u64,
        out: &mut [u8],
    ) -> bool {
        if decoded.len() != self.source.len() || out.len() != self.planes.len() {
            return false;
        }
        for (s, &v) in self.source.iter_mut().zip(decoded) {
            *s = f32::from(v) / 255.0;
        }
        let mut bytes = std::mem::take(&mut self.bytes);
        self.run(params, trail, seed, frame_index, |row, rgb| {
            let w = rgb[0].len();
            for (b, values) in bytes.iter_mut().zip(rgb) {
                for (b, &v) in b.iter_mut().zip(values) {
                    *b = quantize(v);
                }
            }
            let dst = &mut out[row * w * CHANNELS..(row + 1) * w * CHANNELS];
            for (((px, &r), &g), &b) in dst.chunks_exact_mut(CHANNELS).zip(&bytes[0]).zip(&bytes[1]).zip(&bytes[2]) {
                px.copy_from_slice(&[r, g, b]);
            }
        });
        self.bytes = bytes;
        true
    }

    /// Run the chain on a float frame (`apply`'s path): returns the clipped `out_w × out_h`
    /// result, or a black frame when `frame` is malformed or of another size than this
    /// pipeline's input.
    pub fn render_frame(
        &mut self,
        frame: &Frame,
        params: &PostFxParams,
        trail: Option<&mut TrailState>,
        seed: u64,
        frame_index: u64,
    ) -> Frame {
        let mut result = Frame::filled(self.out_w, self.out_h, 0.0);
        if !frame.is_valid() || frame.width != self.in_w || frame.height != self.in_h || frame.data.is_empty() {
            return result;
        }
        for (s, &v) in self.source.iter_mut().zip(&frame.data) {
            *s = super::clip_unit(v);
        }
        let plane = self.out_w * self.out_h;
        let data = &mut result.data;
        self.run(params, trail, seed, frame_index, |row, rgb| {
            let w = rgb[0].len();
            for (c, values) in rgb.iter().enumerate() {
                data[c * plane + row * w..c * plane + (row + 1) * w].copy_from_slice(values);
            }
        });
        result
    }

    /// The chain from `self.source`; `emit(row, [r, g, b])` receives each finished output row
    /// (clipped to [0, 1]).
    fn run(
        &mut self,
        params: &PostFxParams,
        trail: Option<&mut TrailState>,
        seed: u64,
        frame_index: u64,
        mut emit: impl FnMut(usize, &[Vec<f32>; CHANNELS]),
    ) {
        let (w, h) = (self.out_w, self.out_h);
        if w == 0 || h == 0 {
            return;
        }
        // Resize, tone and vignette into `planes`.
        let vignette = params.vignette_strength.clamp(0.0, 1.0);
        if vignette > 0.0 {
            self.prepare_vignette(vignette);
        }
        let gains = if vignette > 0.0 { self.vignette.as_ref().map(|(_, g)| g.as_slice()) } else { None };
        let (in_w, in_h) = (self.in_w, self.in_h);
        for c in 0..CHANNELS {
            // Horizontal pass once per input row (gathers), then the vertical pass per output
            // row (contiguous, vectorised).
            let src = &self.source[c * in_w * in_h..(c + 1) * in_w * in_h];
            for (src_row, wide) in src.chunks_exact(in_w).zip(self.wide.chunks_exact_mut(w)) {
                for (v, tx) in wide.iter_mut().zip(&self.x_taps) {
                    let (a, b) = (src_row[tx.lo], src_row[tx.hi]);
                    *v = a + (b - a) * tx.frac;
                }
            }
            let dst = &mut self.planes[c * w * h..(c + 1) * w * h];
            for (y, (ty, row)) in self.y_taps.iter().zip(dst.chunks_exact_mut(w)).enumerate() {
                let (lo, hi) = (&self.wide[ty.lo * w..][..w], &self.wide[ty.hi * w..][..w]);
                for ((v, &a), &b) in row.iter_mut().zip(lo).zip(hi) {
                    *v = a + (b - a) * ty.frac;
                }
                self.lut.apply(row);
                if let Some(g) = gains {
                    for (v, g) in row.iter_mut().zip(&g[y * w..(y + 1) * w]) {
                        *v *= g;
                    }
                }
            }
        }

        // Chroma shift (red along width by σ·px, blue along height by −σ·px), trails, grain.
        let c = params.chroma_shift.clamp(-CHROMA_SHIFT_MAX, CHROMA_SHIFT_MAX);
        let px = chroma_shift_px(c, w, h);
        let signed = if c > 0.0 { px as isize } else { -(px as isize) };
        let red_dx = signed.rem_euclid(w as isize) as usize;
        let blue_dy = (-signed).rem_euclid(h as isize) as usize;
        let intensity = params.grain_intensity.clamp(0.0, 1.0);
        let grain = intensity > 0.0 && intensity.is_finite();
        if grain {
            self.noise.resize(w * h, 0.0);
            let mut rng = Rng::new(Rng::derive(seed, &format!("grain/{frame_index}")));
            rng.fill_normal_f32(&mut self.noise);
        }
        let amp = (intensity * GRAIN_SCALE) as f32;
        let mut trail = if params.motion_trails { trail } else { None };
        if let Some(t) = trail.as_deref_mut()
            && !t.matches(w, h)
        {
            // The first frame a trail sees passes through and becomes its state (taken after
            // the chroma shift, before grain, as `TrailState::apply` does).
            t.reset_from(w, h, self.shifted_planes(red_dx, blue_dy));
            trail = None;
        }
        let plane = w * h;
        for y in 0..h {
            // Rows after the chroma shift: red read from x − dx (wrapping), blue from y − dy.
            let [r, g, b] = &mut self.rows;
            let red = &self.planes[y * w..(y + 1) * w];
            r[red_dx..].copy_from_slice(&red[..w - red_dx]);
            r[..red_dx].copy_from_slice(&red[w - red_dx..]);
            g.copy_from_slice(&self.planes[plane + y * w..plane + (y + 1) * w]);
            let by = (y + h - blue_dy) % h;
            b.copy_from_slice(&self.planes[2 * plane + by * w..2 * plane + (by + 1) * w]);

            if let Some(t) = trail.as_deref_mut() {
                let state = t.data_mut();
                for (ch, row) in self.rows.iter_mut().enumerate() {
                    let s = &mut state[ch * plane + y * w..ch * plane + (y + 1) * w];
                    for (s, v) in s.iter_mut().zip(row.iter_mut()) {
                        *s = STATE_DECAY * *s + (1.0 - STATE_DECAY) * *v;
                        *v = FRAME_MIX * *v + (1.0 - FRAME_MIX) * *s;
                    }
                }
            }

            if grain {
                let n = &self.noise[y * w..(y + 1) * w];
                let up = &self.noise[((y + h - 1) % h) * w..][..w];
                self.grain_row[0] = (n[0] + up[0] + n[w - 1]) / 3.0 * amp;
                for x in 1..w {
                    self.grain_row[x] = (n[x] + up[x] + n[x - 1]) / 3.0 * amp;
                }
                for row in &mut self.rows {
                    for (v, g) in row.iter_mut().zip(&self.grain_row) {
                        *v += g;
                    }
                }
            }
            for row in &mut self.rows {
                for v in row.iter_mut() {
                    *v = super::clip_unit(*v);
                }
            }
            emit(y, &self.rows);
        }
    }

    /// The planes after the chroma shift (before trails and grain), as one planar buffer.
    fn shifted_planes(&self, red_dx: usize, blue_dy: usize) -> Vec<f32> {
        let (w, h) = (self.out_w, self.out_h);
        let plane = w * h;
        let mut out = vec![0.0; CHANNELS * plane];
        for y in 0..h {
            let red = &self.planes[y * w..(y + 1) * w];
            let r = &mut out[y * w..(y + 1) * w];
            r[red_dx..].copy_from_slice(&red[..w - red_dx]);
            r[..red_dx].copy_from_slice(&red[w - red_dx..]);
            out[plane + y * w..plane + (y + 1) * w].copy_from_slice(&self.planes[plane + y * w..plane + (y + 1) * w]);
            let by = (y + h - blue_dy) % h;
            out[2 * plane + y * w..2 * plane + (y + 1) * w]
                .copy_from_slice(&self.planes[2 * plane + by * w..2 * plane + (by + 1) * w]);
        }
        out
    }

    /// Gains for vignette strength `s` (kept until another strength is asked for).
    fn prepare_vignette(&mut self, s: f64) {
        if self.vignette.as_ref().is_some_and(|(have, _)| have.to_bits() == s.to_bits()) {
            return;
        }
        let (w, h) = (self.out_w, self.out_h);
        if self.log_falloff.is_empty() {
            let axis = |i: usize, n: usize| if n <= 1 { -1.0 } else { -1.0 + 2.0 * i as f64 / (n - 1) as f64 };
            self.log_falloff = (0..h)
                .flat_map(|y| (0..w).map(move |x| (x, y)))
                .map(|(x, y)| {
                    let (u, v) = (axis(x, w), axis(y, h));
                    (1.0 - (u * u + v * v).sqrt().clamp(0.0, 1.0)).ln() as f32
                })
                .collect();
        }
        let exponent = (4.0 * s + 1e-3) as f32;
        let gains = self.log_falloff.iter().map(|&l| (exponent * l).exp()).collect();
        self.vignette = Some((s, gains));
    }
}

/// `floor(clip(v, 0, 1)·255 + 0.5)` (NaN → 0).
#[inline]
fn quantize(v: f32) -> u8 {
    (super::clip_unit(v) * 255.0 + 0.5) as u8
}
