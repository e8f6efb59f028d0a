//! Slaney mel scale and the area-normalised mel filterbank of `librosa.filters.mel`.
//!
//! Computed the way librosa 0.11 does (`htk=False`, `norm="slaney"`, `dtype=float32`): the
//! triangles in f64, stored as f32, then scaled by `2 / (f[i+2] − f[i])` in f64 and stored as
//! f32 again, so the weights equal librosa's to the bit (up to libm `ln`/`exp` rounding).

use crate::dsp::stft::fft_frequencies_hz;
use crate::dsp::sum::{LANES, dot_map, dot_map_whole_lanes};

const F_SP_HZ: f64 = 200.0 / 3.0;
const MIN_LOG_HZ: f64 = 1000.0;

fn min_log_mel() -> f64 {
    MIN_LOG_HZ / F_SP_HZ
}

fn log_step() -> f64 {
    6.4f64.ln() / 27.0
}

/// Hz → mel on the Slaney scale (linear below 1 kHz, logarithmic above).
///
/// ```
/// let m = ntsbuild::dsp::mel::hz_to_mel_slaney(1000.0);
/// assert!((m - 15.0).abs() < 1e-12);
/// ```
pub fn hz_to_mel_slaney(freq_hz: f64) -> f64 {
    if freq_hz >= MIN_LOG_HZ { min_log_mel() + (freq_hz / MIN_LOG_HZ).ln() / log_step() } else { freq_hz / F_SP_HZ }
}

/// Mel → Hz on the Slaney scale; the inverse of [`hz_to_mel_slaney`].
pub fn mel_to_hz_slaney(mel: f64) -> f64 {
    if mel >= min_log_mel() { MIN_LOG_HZ * (log_step() * (mel - min_log_mel())).exp() } else { F_SP_HZ * mel }
}

/// `count` band edges equally spaced in mel between `fmin_hz` and `fmax_hz`, in Hz
/// (`librosa.mel_frequencies`, with numpy's `linspace` arithmetic).
pub fn mel_frequencies_hz(count: usize, fmin_hz: f64, fmax_hz: f64) -> Vec<f64> {
    let min_mel = hz_to_mel_slaney(fmin_hz);
    let max_mel = hz_to_mel_slaney(fmax_hz);
    let div = count.saturating_sub(1).max(1) as f64;
    let step = (max_mel - min_mel) / div;
    (0..count)
        .map(|i| {
            let mel = if count > 1 && i == count - 1 { max_mel } else { i as f64 * step + min_mel };
            mel_to_hz_slaney(mel)
        })
        .collect()
}

/// One triangular band: weights for the FFT bins `first_bin .. first_bin + weights.len()`.
#[derive(Clone, Debug, PartialEq)]
pub struct MelBand {
    /// Index of the first FFT bin with a non-zero weight.
    pub first_bin: usize,
    /// Non-zero weights (f32, as librosa stores them).
    pub weights: Vec<f32>,
}

/// Sparse Slaney-normalised mel filterbank over `0 .. sample_rate / 2`.
#[derive(Clone, Debug, PartialEq)]
pub struct MelFilterbank {
    bands: Vec<MelBand>,
    bin_count: usize,
    /// Every band's weights followed by zeros up to a whole number of [`LANES`], back to back.
    padded: Vec<f32>,
    /// Where each band's padded weights start in `padded`, and how many there are.
    spans: Vec<(usize, usize)>,
    /// Bins a power spectrum must hold for every padded band to lie inside it.
    padded_bins: usize,
}

impl MelFilterbank {
    /// `librosa.filters.mel(sr=sample_rate_hz, n_fft=n_fft, n_mels=n_mels)` (fmin 0,
    /// fmax sr/2, Slaney scale and normalisation).
    pub fn slaney(sample_rate_hz: u32, n_fft: usize, n_mels: usize) -> Self {
        let fft_freqs = fft_frequencies_hz(sample_rate_hz, n_fft);
        let mel_f = mel_frequencies_hz(n_mels + 2, 0.0, f64::from(sample_rate_hz) / 2.0);
        let fdiff: Vec<f64> = mel_f.windows(2).map(|w| w[1] - w[0]).collect();
        let bands = (0..n_mels)
            .map(|i| {
                let enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
                let row: Vec<f32> = fft_freqs
                    .iter()
                    .map(|&f| {
                        let lower = -(mel_f[i] - f) / fdiff[i];
                        let upper = (mel_f[i + 2] - f) / fdiff[i + 1];
                        let tri = 0.0f64.max(lower.min(upper)) as f32;
                        (f64::from(tri) * enorm) as f32
                    })
                    .collect();
                let first = row.iter().position(|&w| w != 0.0).unwrap_or(row.len());
                let last = row.iter().rposition(|&w| w != 0.0).map_or(first, |p| p + 1);
                MelBand { first_bin: first, weights: row[first..last].to_vec() }
            })
            .collect();
        Self::from_bands(bands, fft_freqs.len())
    }

    fn from_bands(bands: Vec<MelBand>, bin_count: usize) -> Self {
        let mut padded = Vec::new();
        let mut spans = Vec::with_capacity(bands.len());
        let mut padded_bins = bin_count;
        for band in &bands {
            let len = band.weights.len().next_multiple_of(LANES);
            spans.push((padded.len(), len));
            padded.extend_from_slice(&band.weights);
            padded.resize(padded.len() + len - band.weights.len(), 0.0);
            padded_bins = padded_bins.max(band.first_bin + len);
        }
        Self { bands, bin_count, padded, spans, padded_bins }
    }

    /// The bands, lowest first.
    pub fn bands(&self) -> &[MelBand] {
        &self.bands
    }

    /// Number of FFT bins the filterbank expects (`n_fft / 2 + 1`).
    pub fn bin_count(&self) -> usize {
        self.bin_count
    }

    /// Bins from which [`Self::apply`] takes its fast path: `power` zero-padded to this length
    /// (at least [`Self::bin_count`]) lets every band be summed in whole groups of lanes.
    pub fn padded_bin_count(&self) -> usize {
        self.padded_bins
    }

    /// Mel energies `out[b] = Σ_k w[b][k] · power[k]`, accumulated in f64.
    ///
    /// A band's weights past its last non-zero one are zeros, so over finite powers the
    /// padded sum adds only `+0.0` to each lane: the same bits as summing the band alone.
    /// `power` holding [`Self::padded_bin_count`] values (zeros past the spectrum) lets every
    /// band take that path.
    #[inline(always)]
    pub fn apply(&self, power: &[f32], out: &mut [f64]) {
        let product = |w: f32, p: f32| f64::from(w) * f64::from(p);
        for ((o, band), &(start, len)) in out.iter_mut().zip(&self.bands).zip(&self.spans) {
            *o = match power.get(band.first_bin..band.first_bin + len) {
                Some(bins) => dot_map_whole_lanes(&self.padded[start..start + len], bins, product),
                None => dot_map(&band.weights, power.get(band.first_bin..).unwrap_or(&[]), product),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slaney_scale_round_trips() {
        for hz in [0.0, 200.0, 999.0, 1000.0, 4000.0, 24_000.0] {
            let back = mel_to_hz_slaney(hz_to_mel_slaney(hz));
            assert!((back - hz).abs() < 1e-9 * hz.max(1.0), "{hz} -> {back}");
        }
    }

    #[test]
    fn padded_power_gives_the_bits_of_each_band_alone() {
        let fb = MelFilterbank::slaney(44_100, 2048, 128);
        assert!(fb.padded_bin_count() >= fb.bin_count());
        let power: Vec<f32> = (0..fb.bin_count()).map(|k| ((k * 7919) % 1000) as f32 * 1e-3 + 1e-9).collect();
        let mut padded = power.clone();
        padded.resize(fb.padded_bin_count(), 0.0);
        let (mut fast, mut plain) = (vec![0.0; 128], vec![0.0; 128]);
        fb.apply(&padded, &mut fast);
        fb.apply(&power, &mut plain);
        let alone: Vec<f64> = fb
            .bands()
            .iter()
            .map(|b| dot_map(&b.weights, &power[b.first_bin..], |w, p| f64::from(w) * f64::from(p)))
            .collect();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&fast), bits(&alone));
        assert_eq!(bits(&plain), bits(&alone));
    }

    #[test]
    fn filterbank_has_128_non_empty_bands() {
        let fb = MelFilterbank::slaney(48_000, 2048, 128);
        assert_eq!(fb.bands().len(), 128);
        assert_eq!(fb.bin_count(), 1025);
        assert!(fb.bands().iter().all(|b| !b.weights.is_empty()));
        // Slaney normalisation: each triangle has area ≈ 1 in Hz (weights · bin width ≈ 1).
        let bin_hz = 48_000.0 / 2048.0;
        let area: f64 = fb.bands()[100].weights.iter().map(|&w| f64::from(w)).sum::<f64>() * bin_hz;
        assert!((area - 1.0).abs() < 0.05, "area {area}");
    }
}
