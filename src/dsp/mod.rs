//! Layer 1: signal-processing math. No I/O, no printing, deterministic, no panics on finite input.

pub mod approx;
pub mod biquad;
pub mod clip;
pub mod dct;
pub mod decimate;
pub mod delay;
pub mod envelope;
pub mod fdn;
pub mod level;
pub mod mel;
pub mod noise;
pub mod onepole;
pub mod oscillator;
pub mod resample;
pub mod rng;
pub mod stft;
pub mod sum;
pub mod window;
