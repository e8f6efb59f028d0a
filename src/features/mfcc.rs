//! MFCCs from floored mel dB: orthonormal DCT-II, first `N_MFCC` coefficients.

use crate::dsp::dct::DctOrtho;
use crate::features::{N_MELS, N_MFCC};

/// The DCT used for MFCCs (`N_MELS` in, `N_MFCC` out).
pub fn mfcc_dct() -> DctOrtho {
    DctOrtho::new(N_MELS, N_MFCC)
}

/// MFCCs of one frame: `dct(max(mel_db, floor_db))`, like `librosa.feature.mfcc` after
/// `power_to_db(top_db=80)` has floored the whole spectrogram at its global max − 80 dB.
#[inline(always)]
pub fn mfcc_frame(dct: &DctOrtho, mel_db: &[f32; N_MELS], floor_db: f32, out: &mut [f32]) {
    let mut floored = [0.0f64; N_MELS];
    for (f, &d) in floored.iter_mut().zip(mel_db) {
        *f = f64::from(d.max(floor_db));
    }
    let mut coeffs = [0.0f64; N_MFCC];
    dct.apply(&floored, &mut coeffs);
    for (o, c) in out.iter_mut().zip(coeffs) {
        *o = c as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_spectrum_has_only_c0() {
        let dct = mfcc_dct();
        let mut out = [0.0f32; N_MFCC];
        mfcc_frame(&dct, &[-100.0; N_MELS], -180.0, &mut out);
        assert!((out[0] - (-100.0 * (N_MELS as f32).sqrt())).abs() < 1e-3);
        assert!(out[1..].iter().all(|c| c.abs() < 1e-3));
    }
}
