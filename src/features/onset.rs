//! Onset strength: mean positive rise of the floored mel dB spectrum between frames.
//!
//! `librosa.onset.onset_strength(center=True)` with lag 1 pads the envelope with
//! `lag + n_fft / (2·hop)` = 3 zeros in front and trims it to the frame count, so frame `t`
//! holds the rise from frame `t − 3` to frame `t − 2`.

use crate::features::{HOP_LEN, N_FFT, N_MELS};

/// Frames the envelope is shifted right by (zeros in front).
pub const ONSET_SHIFT_FRAMES: usize = 1 + N_FFT / (2 * HOP_LEN);

/// `mean_b max(0, max(cur_b, floor) − max(prev_b, floor))`.
pub fn onset_rise(prev_db: &[f32; N_MELS], cur_db: &[f32; N_MELS], floor_db: f32) -> f32 {
    let total: f64 = prev_db
        .iter()
        .zip(cur_db)
        .map(|(&p, &c)| (f64::from(c.max(floor_db)) - f64::from(p.max(floor_db))).max(0.0))
        .sum();
    (total / N_MELS as f64) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rises_count() {
        let prev = [0.0f32; N_MELS];
        let mut cur = [0.0f32; N_MELS];
        cur[0] = 12.8;
        cur[1] = -50.0;
        assert!((onset_rise(&prev, &cur, -80.0) - 0.1).abs() < 1e-6);
        assert_eq!(ONSET_SHIFT_FRAMES, 3);
    }
}
