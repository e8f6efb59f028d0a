//! Layer 1: signal-processing math. No I/O, no printing, deterministic, no panics on finite input.

pub mod biquad;
pub mod clip;
pub mod decimate;
pub mod delay;
pub mod envelope;
pub mod fdn;
pub mod level;
pub mod onepole;
pub mod oscillator;
pub mod rng;
