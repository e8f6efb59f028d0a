//! Analysis of one centred frame: rms, spectral centroid, flatness and mel power in dB.

use std::sync::Arc;

use crate::dsp::mel::MelFilterbank;
use crate::dsp::stft::{SpectrumPlan, fft_frequencies_hz};
use crate::dsp::sum::{dot_map, sum_map};
use crate::features::{AMIN_POWER, N_FFT, N_MELS};

/// What one frame contributes before the global steps (dB floor, MFCC, onset).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameStats {
    /// Root-mean-square of the unwindowed frame.
    pub rms: f32,
    /// Spectral centroid in Hz.
    pub centroid_hz: f32,
    /// Spectral flatness.
    pub flatness: f32,
    /// `10·log10(max(AMIN_POWER, mel power))` per band, not yet floored at max − 80 dB.
    pub mel_db: [f32; N_MELS],
}

impl Default for FrameStats {
    fn default() -> Self {
        Self { rms: 0.0, centroid_hz: 0.0, flatness: 0.0, mel_db: [0.0; N_MELS] }
    }
}

/// Shared, read-only analysis setup for one sample rate.
#[derive(Clone)]
pub struct FrameAnalysisPlan {
    spectrum: SpectrumPlan,
    mel: Arc<MelFilterbank>,
    freqs_hz: Arc<[f64]>,
}

impl FrameAnalysisPlan {
    /// Plans the FFT, mel filterbank and bin frequencies for `sample_rate_hz` (≥ 1).
    pub fn new(sample_rate_hz: u32) -> Self {
        let sample_rate_hz = sample_rate_hz.max(1);
        Self {
            spectrum: SpectrumPlan::new(N_FFT),
            mel: Arc::new(MelFilterbank::slaney(sample_rate_hz, N_FFT, N_MELS)),
            freqs_hz: fft_frequencies_hz(sample_rate_hz, N_FFT).into(),
        }
    }

    /// A per-thread analyser with its own scratch buffers.
    pub fn analyzer(&self) -> FrameAnalyzer {
        let bins = self.spectrum.bin_count();
        FrameAnalyzer {
            plan: self.clone(),
            magnitudes: vec![0.0; bins],
            // Zeros past the spectrum, so the mel bands are summed in whole groups of lanes.
            power: vec![0.0; self.mel.padded_bin_count().max(bins)],
            mel_power: vec![0.0; N_MELS],
        }
    }
}

/// Computes [`FrameStats`] for frames of `N_FFT` samples.
pub struct FrameAnalyzer {
    plan: FrameAnalysisPlan,
    magnitudes: Vec<f32>,
    /// The power spectrum, then zeros up to the mel filterbank's padded length.
    power: Vec<f32>,
    mel_power: Vec<f64>,
}

impl FrameAnalyzer {
    /// Analyses one frame of `N_FFT` samples (already centred and zero-padded).
    ///
    /// On x86-64 CPUs with AVX2 the same code is compiled a second time for 256-bit vectors and
    /// used instead. Both copies do the same IEEE operations in the same order (no fused
    /// multiply-add, fixed summation lanes), so they give the same bits; only the width of the
    /// vector instructions differs.
    pub fn analyze(&mut self, frame: &[f32], out: &mut FrameStats) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            unsafe { self.analyze_avx2(frame, out) };
            return;
        }
        self.analyze_portable(frame, out);
    }

    /// [`Self::analyze_portable`] compiled with AVX2 enabled.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn analyze_avx2(&mut self, frame: &[f32], out: &mut FrameStats) {
        self.analyze_portable(frame, out);
    }

    /// The analysis itself, inlined into each compiled copy.
    #[inline(always)]
    fn analyze_portable(&mut self, frame: &[f32], out: &mut FrameStats) {
        let sum_sq = sum_map(frame, |x| f64::from(x) * f64::from(x));
        out.rms = (sum_sq / frame.len().max(1) as f64).sqrt() as f32;

        self.plan.spectrum.magnitudes(frame, &mut self.magnitudes);
        out.centroid_hz = centroid_hz(&self.magnitudes, &self.plan.freqs_hz);

        // librosa squares the float32 magnitude in float32.
        for (p, &m) in self.power.iter_mut().zip(&self.magnitudes) {
            *p = m * m;
        }
        out.flatness = flatness(&self.power[..self.magnitudes.len()]);

        self.plan.mel.apply(&self.power, &mut self.mel_power);
        // librosa holds the mel spectrogram in float32 and takes 10·log10 in float32.
        for (db, &m) in out.mel_db.iter_mut().zip(&self.mel_power) {
            *db = 10.0 * (m as f32).max(AMIN_POWER).log10();
        }
    }
}

/// `Σ f·|S| / Σ |S|`; librosa leaves a column whose sum is below f32's smallest normal number
/// unnormalised, so a silent frame gives 0.
#[inline(always)]
fn centroid_hz(magnitudes: &[f32], freqs_hz: &[f64]) -> f32 {
    let total = sum_map(magnitudes, f64::from);
    let weighted = dot_map(magnitudes, freqs_hz, |m, f| f * f64::from(m));
    if total < f64::from(f32::MIN_POSITIVE) { weighted as f32 } else { (weighted / total) as f32 }
}

/// Geometric mean over arithmetic mean of `max(AMIN_POWER, power)`.
///
/// The log-sum is the log of a product kept in 4 lanes: every 4 factors per lane the binary
/// exponents are moved into an integer (exact, no rounding), so the products never leave f64's
/// range and four `ln` per frame replace 1025.
#[inline(always)]
fn flatness(power: &[f32]) -> f32 {
    const EXP_MASK: u64 = 0x7FF << 52;
    const PRODUCT_LANES: usize = 4;
    let floored = |p: f32| f64::from(p.max(AMIN_POWER));
    let mut exponent_sum = 0i64;
    let mut mantissas = [1.0f64; PRODUCT_LANES];
    let mut normalize = |mantissas: &mut [f64; PRODUCT_LANES]| {
        for m in mantissas.iter_mut() {
            // m = x · 2^e with x in [1, 2): keep x, add e. Between normalisations each lane
            // takes 4 factors in [1e-10, 3.4e38] (finite f32 powers), which stays finite and
            // normal; a non-normal product (an infinite or NaN power) is left alone and
            // poisons the result, as it would in librosa.
            if m.is_normal() {
                let bits = m.to_bits();
                exponent_sum += ((bits & EXP_MASK) >> 52) as i64 - 1023;
                *m = f64::from_bits((bits & !EXP_MASK) | (1023 << 52));
            }
        }
    };
    let block = PRODUCT_LANES * 4;
    let chunks = power.chunks_exact(block);
    let rest = chunks.remainder();
    for chunk in chunks {
        for quad in chunk.chunks_exact(PRODUCT_LANES) {
            for (m, &p) in mantissas.iter_mut().zip(quad) {
                *m *= floored(p);
            }
        }
        normalize(&mut mantissas);
    }
    for (i, &p) in rest.iter().enumerate() {
        mantissas[i % PRODUCT_LANES] *= floored(p);
    }
    normalize(&mut mantissas);
    let log_sum = mantissas.iter().map(|m| m.ln()).sum::<f64>() + exponent_sum as f64 * std::f64::consts::LN_2;
    let n = power.len().max(1) as f64;
    let geometric = (log_sum / n).exp();
    let arithmetic = sum_map(power, floored) / n;
    (geometric / arithmetic) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flatness_of_flat_spectrum_is_one() {
        assert!((flatness(&[2.0; 1025]) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn flatness_product_trick_matches_log_sum() {
        let power: Vec<f32> = (0..1025).map(|k| ((k * 7919) % 1000) as f32 * 1e-3 + 1e-12).collect();
        let n = power.len() as f64;
        let logs: f64 = power.iter().map(|&p| f64::from(p.max(AMIN_POWER)).ln()).sum();
        let mean: f64 = power.iter().map(|&p| f64::from(p.max(AMIN_POWER))).sum::<f64>() / n;
        let expected = ((logs / n).exp() / mean) as f32;
        assert!((flatness(&power) - expected).abs() <= 1e-6 * expected);
    }

    #[test]
    fn every_compiled_copy_gives_the_same_bits() {
        let plan = FrameAnalysisPlan::new(44_100);
        let mut analyzer = plan.analyzer();
        let mut rng = crate::dsp::rng::Rng::new(7);
        let frames: Vec<Vec<f32>> = vec![
            (0..N_FFT).map(|i| (i as f32 * 0.031).sin() * 0.5 + (i as f32 * 0.57).sin() * 0.01).collect(),
            (0..N_FFT).map(|_| rng.range(-1.0, 1.0) as f32).collect(),
            (0..N_FFT).map(|i| if i % 97 == 0 { 1.0e6 } else { 1.0e-9 }).collect(),
            vec![0.0; N_FFT],
        ];
        for frame in &frames {
            let (mut dispatched, mut portable) = (FrameStats::default(), FrameStats::default());
            analyzer.analyze(frame, &mut dispatched);
            analyzer.analyze_portable(frame, &mut portable);
            let bits = |s: &FrameStats| {
                let mut v = vec![s.rms.to_bits(), s.centroid_hz.to_bits(), s.flatness.to_bits()];
                v.extend(s.mel_db.iter().map(|d| d.to_bits()));
                v
            };
            assert_eq!(bits(&dispatched), bits(&portable));
        }
    }

    #[test]
    fn silent_frame_gives_zero_centroid_and_unit_flatness() {
        let plan = FrameAnalysisPlan::new(48_000);
        let mut analyzer = plan.analyzer();
        let mut stats = FrameStats::default();
        analyzer.analyze(&[0.0; N_FFT], &mut stats);
        assert_eq!(stats.rms, 0.0);
        assert_eq!(stats.centroid_hz, 0.0);
        assert!((stats.flatness - 1.0).abs() < 1e-6);
        assert!(stats.mel_db.iter().all(|&d| (d + 100.0).abs() < 1e-4));
    }
}
