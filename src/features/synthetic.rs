//! Deterministic synthetic test signals, regenerated bit-exactly from their definitions.
//!
//! Used for the librosa reference fixtures: each signal is computed in f64 and rounded to f32
//! once, and the noise comes from SplitMix64, so the same samples come out on every platform.

use std::f64::consts::PI;

/// Sample rate of every synthetic signal.
pub const SYNTHETIC_RATE_HZ: u32 = 48_000;

/// The fixture signals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyntheticSignal {
    /// 1 s sine, 1 kHz, amplitude 0.5 (DOMAIN §A's reference signal).
    Sine1k,
    /// 2 s linear chirp 220 Hz → 8 kHz, amplitude 0.5.
    Chirp,
    /// 1 s: bursts of uniform noise (amplitude 0.3, 100 ms every 250 ms from 50 ms) over silence.
    NoiseBursts,
    /// 1 s of digital silence.
    Silence,
    /// 1 s: unit impulses every 100 ms starting at sample 1000.
    ClickTrain,
    /// 1000 samples (shorter than one 2048 frame) of a 440 Hz sine, amplitude 0.5.
    ShortSine,
}

impl SyntheticSignal {
    /// Every signal, in fixture order.
    pub const ALL: [SyntheticSignal; 6] =
        [Self::Sine1k, Self::Chirp, Self::NoiseBursts, Self::Silence, Self::ClickTrain, Self::ShortSine];

    /// File-name stem used for fixtures.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sine1k => "sine_1k",
            Self::Chirp => "chirp",
            Self::NoiseBursts => "noise_bursts",
            Self::Silence => "silence",
            Self::ClickTrain => "click_train",
            Self::ShortSine => "short_sine",
        }
    }

    /// The samples at [`SYNTHETIC_RATE_HZ`].
    pub fn samples(self) -> Vec<f32> {
        let sr = f64::from(SYNTHETIC_RATE_HZ);
        let one_s = SYNTHETIC_RATE_HZ as usize;
        match self {
            Self::Sine1k => sine(one_s, 1000.0, 0.5),
            Self::ShortSine => sine(1000, 440.0, 0.5),
            Self::Chirp => {
                let len = 2 * one_s;
                let (f0, f1, dur) = (220.0, 8000.0, len as f64 / sr);
                (0..len)
                    .map(|n| {
                        let t = n as f64 / sr;
                        let phase = 2.0 * PI * (f0 * t + (f1 - f0) * t * t / (2.0 * dur));
                        (0.5 * phase.sin()) as f32
                    })
                    .collect()
            }
            Self::NoiseBursts => {
                let mut rng = SplitMix64::new(0x6E74_7362_7569_6C64);
                (0..one_s)
                    .map(|n| {
                        let noise = rng.next_unit_f32();
                        let in_burst = n >= 2_400 && (n - 2_400) % 12_000 < 4_800;
                        if in_burst { 0.3 * noise } else { 0.0 }
                    })
                    .collect()
            }
            Self::Silence => vec![0.0; one_s],
            Self::ClickTrain => {
                (0..one_s).map(|n| if n >= 1_000 && (n - 1_000) % 4_800 == 0 { 1.0 } else { 0.0 }).collect()
            }
        }
    }
}

fn sine(len: usize, freq_hz: f64, amplitude: f64) -> Vec<f32> {
    let sr = f64::from(SYNTHETIC_RATE_HZ);
    (0..len).map(|n| (amplitude * (2.0 * PI * freq_hz * n as f64 / sr).sin()) as f32).collect()
}

/// SplitMix64 (Steele, Lea & Flood 2014): `state += 0x9E3779B97F4A7C15`, then two
/// xor-shift-multiply rounds. Public so other fixtures can share it.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[-1, 1)` with 24 random bits (exact in f32).
    pub fn next_unit_f32(&mut self) -> f32 {
        let bits = (self.next_u64() >> 40) as u32;
        (bits as f32 / (1u32 << 23) as f32) - 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_reference_sequence() {
        // First outputs for seed 0 from the reference C implementation.
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn lengths_and_ranges() {
        for s in SyntheticSignal::ALL {
            let x = s.samples();
            assert!(!x.is_empty());
            assert!(x.iter().all(|v| v.abs() <= 1.0), "{}", s.name());
        }
        assert_eq!(SyntheticSignal::ShortSine.samples().len(), 1000);
    }
}
