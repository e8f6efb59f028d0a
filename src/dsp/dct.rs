//! Orthonormal DCT-II (`scipy.fft.dct(type=2, norm="ortho")`), truncated to the first rows.

use std::f64::consts::PI;

use crate::dsp::sum::dot_map;

/// A precomputed `n_out × n_in` orthonormal DCT-II matrix (keeps the first `n_out` coefficients).
#[derive(Clone, Debug)]
pub struct DctOrtho {
    n_in: usize,
    basis: Vec<f64>,
}

impl DctOrtho {
    /// Matrix for inputs of length `n_in`, keeping coefficients `0 .. n_out`.
    pub fn new(n_in: usize, n_out: usize) -> Self {
        let n = n_in.max(1) as f64;
        let mut basis = Vec::with_capacity(n_out * n_in);
        for k in 0..n_out {
            let scale = if k == 0 { (1.0 / n).sqrt() } else { (2.0 / n).sqrt() };
            for i in 0..n_in {
                basis.push(scale * (PI * k as f64 * (2 * i + 1) as f64 / (2.0 * n)).cos());
            }
        }
        Self { n_in, basis }
    }

    /// Number of coefficients produced.
    pub fn n_out(&self) -> usize {
        self.basis.len().checked_div(self.n_in).unwrap_or(0)
    }

    /// Writes the first `n_out` coefficients of the DCT of `input` to `out`.
    ///
    /// ```
    /// let dct = ntsbuild::dsp::dct::DctOrtho::new(4, 2);
    /// let mut out = [0.0; 2];
    /// dct.apply(&[1.0, 1.0, 1.0, 1.0], &mut out);
    /// assert!((out[0] - 2.0).abs() < 1e-12 && out[1].abs() < 1e-12);
    /// ```
    #[inline(always)]
    pub fn apply(&self, input: &[f64], out: &mut [f64]) {
        for (o, row) in out.iter_mut().zip(self.basis.chunks_exact(self.n_in.max(1))) {
            *o = dot_map(row, input, |b, x| b * x);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_dct_preserves_energy() {
        let dct = DctOrtho::new(8, 8);
        let x = [1.0, -2.0, 3.0, 0.5, 0.0, 4.0, -1.0, 2.0];
        let mut y = [0.0; 8];
        dct.apply(&x, &mut y);
        let ex: f64 = x.iter().map(|v| v * v).sum();
        let ey: f64 = y.iter().map(|v| v * v).sum();
        assert!((ex - ey).abs() < 1e-10);
    }
}
