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

/// `n` zeros, written one by one rather than allocated zeroed: for a large buffer that is then
/// added into (`+=`). A zeroed allocation is fresh memory the kernel maps to its shared zero page
/// on the first read, so the first write after it copies the page and, while other threads of the
/// process run, interrupts every other core to flush its TLB; in an overlap-add that read comes
/// first on every page. Written zeros make the first touch a write, which maps a page at once.
///
/// ```
/// assert_eq!(ntsbuild::dsp::written_zeros::<f32>(3), vec![0.0; 3]);
/// ```
pub fn written_zeros<T: Copy + Default>(n: usize) -> Vec<T> {
    let mut v = Vec::with_capacity(n);
    v.resize(n, T::default());
    v
}
