//! Sample-rate conversion of f32 audio with libsoxr at librosa's quality (`soxr_hq`), streamed.
//!
//! `librosa.load(sr=…)` resamples with python-soxr's `resample(x, in, out, quality="soxr_hq")`:
//! libsoxr 0.1.3, `SOXR_HQ` (20-bit precision, linear phase, pass band to 0.913 of the lower
//! Nyquist), single-precision SIMD engine (`cr32s`, PFFFT), fed in chunks and flushed. This
//! module drives the same library, built the same way (`vendor/soxr-sys`: the `soxr-sys`
//! crate's bindings and C source, compiled with that engine alone, as libsoxr's own CMake build
//! selects it on x86-64 and AArch64), with the same quality spec, so a resampled signal is bit
//! for bit python-soxr's (`tests/features_reference.rs` checks it when librosa is installed) on
//! every x86-64 machine: the engine uses SSE, which every x86-64 CPU has, and no run-time
//! dispatch or environment variable can pick another. libsoxr is LGPL-2.1-or-later (linked
//! statically; ntsbuild's own source is public, which meets the LGPL's relinking terms).
//!
//! libsoxr's output is identical whatever the push sizes are. Its length is then fixed to
//! [`resampled_len`] (trailing samples dropped or zeros added, as librosa's `fix_length` does),
//! so the output always lasts as long as the source. Equal rates pass samples through untouched
//! (bit-exact).

use std::ffi::CStr;
use std::ptr;
use std::sync::Mutex;

use soxr_sys as sys;

/// Input samples (per channel) handed to libsoxr per call: bounds the output buffer.
const CHUNK_FRAMES: usize = 1 << 14;

/// Why a resampler could not be built or run.
#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    /// A sample rate of zero was given.
    #[error("cannot resample from {from_hz} Hz to {to_hz} Hz: sample rates must be positive")]
    ZeroRate {
        /// Input rate.
        from_hz: u32,
        /// Output rate.
        to_hz: u32,
    },
    /// libsoxr refused the configuration.
    #[error("cannot resample from {from_hz} Hz to {to_hz} Hz: {detail}")]
    Construction {
        /// Input rate.
        from_hz: u32,
        /// Output rate.
        to_hz: u32,
        /// libsoxr's message.
        detail: String,
    },
    /// libsoxr failed while processing.
    #[error("resampling from {from_hz} Hz to {to_hz} Hz failed: {detail}")]
    Process {
        /// Input rate.
        from_hz: u32,
        /// Output rate.
        to_hz: u32,
        /// libsoxr's message.
        detail: String,
    },
}

/// Output length for `len_in` input samples: `ceil(len_in · to_hz / from_hz)`, computed exactly.
///
/// The output lasts as long as the input (to within one output sample), so a 10.000 s source
/// gives 10.000 s at any rate. librosa computes the same ceiling in floating point, which can
/// land one sample higher when the product is a whole number (441 000 samples at 44.1 kHz →
/// 480 001 at 48 kHz); that extra sample is a zero past the end of the source, so it changes a
/// feature frame count only when the exact length is `≡ 511 (mod 512)`.
///
/// ```
/// use ntsbuild::dsp::resample::resampled_len;
/// assert_eq!(resampled_len(441_000, 44_100, 48_000), 480_000);
/// assert_eq!(resampled_len(44_101, 44_100, 48_000), 48_002);
/// assert_eq!(resampled_len(96_000, 96_000, 48_000), 48_000);
/// assert_eq!(resampled_len(1_000, 48_000, 48_000), 1_000);
/// ```
pub fn resampled_len(len_in: u64, from_hz: u32, to_hz: u32) -> u64 {
    if from_hz == to_hz || from_hz == 0 {
        return len_in;
    }
    let num = u128::from(len_in) * u128::from(to_hz);
    num.div_ceil(u128::from(from_hz)) as u64
}

/// Resamples a whole mono signal: `resample(x, from, to).len() == resampled_len(x.len(), from, to)`.
pub fn resample(samples: &[f32], from_hz: u32, to_hz: u32) -> Result<Vec<f32>, ResampleError> {
    let expected = resampled_len(samples.len() as u64, from_hz, to_hz) as usize;
    let mut out = Vec::with_capacity(expected);
    let mut stream = StreamResampler::new(from_hz, to_hz)?;
    stream.push(samples, &mut |chunk| out.extend_from_slice(chunk))?;
    stream.finish(&mut |chunk| out.extend_from_slice(chunk))?;
    Ok(out)
}

/// Like [`resample`] but takes ownership, so equal rates return the input without a copy.
pub fn resample_vec(samples: Vec<f32>, from_hz: u32, to_hz: u32) -> Result<Vec<f32>, ResampleError> {
    if from_hz == to_hz && from_hz != 0 {
        return Ok(samples);
    }
    resample(&samples, from_hz, to_hz)
}

/// Resamples every channel (all of one length) the same way; equal rates return the input.
pub fn resample_channels(channels: Vec<Vec<f32>>, from_hz: u32, to_hz: u32) -> Result<Vec<Vec<f32>>, ResampleError> {
    if from_hz == 0 || to_hz == 0 {
        return Err(ResampleError::ZeroRate { from_hz, to_hz });
    }
    if from_hz == to_hz {
        return Ok(channels);
    }
    channels.iter().map(|c| resample(c, from_hz, to_hz)).collect()
}

/// A streaming mono resampler: push chunks of any size, then `finish`.
///
/// Output is delivered to a callback in pieces; their concatenation is identical whatever the
/// push sizes were.
pub struct StreamResampler {
    from_hz: u32,
    to_hz: u32,
    engine: Option<Soxr>,
    out_buf: Vec<f32>,
    input_total: u64,
    emitted_total: u64,
}

impl StreamResampler {
    /// A resampler from `from_hz` to `to_hz`; identity when they are equal.
    pub fn new(from_hz: u32, to_hz: u32) -> Result<Self, ResampleError> {
        if from_hz == 0 || to_hz == 0 {
            return Err(ResampleError::ZeroRate { from_hz, to_hz });
        }
        let engine = if from_hz == to_hz { None } else { Some(Soxr::new(from_hz, to_hz)?) };
        let out_len =
            if engine.is_some() { resampled_len(CHUNK_FRAMES as u64, from_hz, to_hz) as usize + 64 } else { 0 };
        Ok(Self { from_hz, to_hz, engine, out_buf: vec![0.0; out_len], input_total: 0, emitted_total: 0 })
    }

    /// Input rate in Hz.
    pub fn from_hz(&self) -> u32 {
        self.from_hz
    }

    /// Output rate in Hz.
    pub fn to_hz(&self) -> u32 {
        self.to_hz
    }

    /// Feeds `samples`; any output that is ready goes to `sink`.
    pub fn push(&mut self, samples: &[f32], sink: &mut dyn FnMut(&[f32])) -> Result<(), ResampleError> {
        self.input_total += samples.len() as u64;
        if self.engine.is_none() {
            self.emitted_total += samples.len() as u64;
            sink(samples);
            return Ok(());
        }
        for chunk in samples.chunks(CHUNK_FRAMES) {
            self.process(Some(chunk), sink)?;
        }
        Ok(())
    }

    /// Flushes the tail; the total output is exactly [`resampled_len`] samples.
    pub fn finish(mut self, sink: &mut dyn FnMut(&[f32])) -> Result<(), ResampleError> {
        if self.engine.is_none() {
            return Ok(());
        }
        self.process(None, sink)?;
        let expected = resampled_len(self.input_total, self.from_hz, self.to_hz);
        let zeros = [0.0f32; 1024];
        while self.emitted_total < expected {
            let n = (expected - self.emitted_total).min(zeros.len() as u64) as usize;
            sink(&zeros[..n]);
            self.emitted_total += n as u64;
        }
        Ok(())
    }

    /// Hands `input` (or, with `None`, the end of input) to libsoxr and drains its output.
    fn process(&mut self, input: Option<&[f32]>, sink: &mut dyn FnMut(&[f32])) -> Result<(), ResampleError> {
        let limit = resampled_len(self.input_total, self.from_hz, self.to_hz);
        let (from_hz, to_hz) = (self.from_hz, self.to_hz);
        let Some(engine) = self.engine.as_mut() else {
            return Ok(());
        };
        let mut pending = input;
        loop {
            let produced = engine.process(pending, &mut self.out_buf, from_hz, to_hz)?;
            // The input was consumed whole by the first call; later calls only drain output
            // (a non-null empty input), or keep flushing (`None`).
            let flushing = input.is_none();
            if !flushing {
                pending = Some(&[]);
            }
            let allowed = (produced as u64).min(limit.saturating_sub(self.emitted_total)) as usize;
            if allowed > 0 {
                sink(&self.out_buf[..allowed]);
                self.emitted_total += allowed as u64;
            }
            if produced < self.out_buf.len() {
                return Ok(());
            }
        }
    }
}

/// Serialises every libsoxr call. libsoxr keeps its FFT tables in one process-wide cache that
/// it grows (`realloc`) on demand; built without OpenMP, as here, that cache has no lock, so two
/// resamplers running at once in different threads can read a table while it moves.
static SOXR_LOCK: Mutex<()> = Mutex::new(());

fn soxr_lock() -> std::sync::MutexGuard<'static, ()> {
    // A panic while holding the lock cannot leave libsoxr's cache half-written (the lock
    // guards only FFI calls, which do not unwind), so a poisoned lock is still usable.
    SOXR_LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One libsoxr instance: one channel, f32 in and out, `SOXR_HQ`, one thread.
struct Soxr {
    raw: sys::soxr_t,
}

// SAFETY: a soxr_t is a heap object used by one thread at a time (every method takes
// `&mut self`); libsoxr keeps no thread-local state for it.
unsafe impl Send for Soxr {}

impl Soxr {
    fn new(from_hz: u32, to_hz: u32) -> Result<Self, ResampleError> {
        let mut error: sys::soxr_error_t = ptr::null();
        // SAFETY: plain constructors of value structs.
        let (io, quality, runtime) = unsafe {
            (
                sys::soxr_io_spec(sys::soxr_datatype_t_SOXR_FLOAT32_I, sys::soxr_datatype_t_SOXR_FLOAT32_I),
                sys::soxr_quality_spec(std::os::raw::c_ulong::from(sys::SOXR_20_BITQ), 0),
                sys::soxr_runtime_spec(1),
            )
        };
        let _guard = soxr_lock();
        // SAFETY: every pointer refers to a live local; libsoxr copies the specs.
        let raw =
            unsafe { sys::soxr_create(f64::from(from_hz), f64::from(to_hz), 1, &mut error, &io, &quality, &runtime) };
        if !error.is_null() || raw.is_null() {
            if !raw.is_null() {
                // SAFETY: `raw` came from soxr_create and is not used again (lock still held).
                unsafe { sys::soxr_delete(raw) };
            }
            return Err(ResampleError::Construction { from_hz, to_hz, detail: message(error) });
        }
        Ok(Self { raw })
    }

    /// Consumes all of `input` (`None`: end of input) and writes up to `out.len()` samples.
    fn process(
        &mut self,
        input: Option<&[f32]>,
        out: &mut [f32],
        from_hz: u32,
        to_hz: u32,
    ) -> Result<usize, ResampleError> {
        let (in_ptr, in_len) = match input {
            Some(x) => (x.as_ptr().cast::<std::ffi::c_void>(), x.len()),
            None => (ptr::null(), 0),
        };
        let mut produced = 0usize;
        let _guard = soxr_lock();
        // SAFETY: `in_ptr` is null or valid for `in_len` f32 reads; `out` is valid for
        // `out.len()` f32 writes; a null `idone` tells libsoxr to take the whole input.
        let error = unsafe {
            sys::soxr_process(
                self.raw,
                in_ptr,
                in_len,
                ptr::null_mut(),
                out.as_mut_ptr().cast::<std::ffi::c_void>(),
                out.len(),
                &mut produced,
            )
        };
        if !error.is_null() {
            return Err(ResampleError::Process { from_hz, to_hz, detail: message(error) });
        }
        Ok(produced.min(out.len()))
    }
}

impl Drop for Soxr {
    fn drop(&mut self) {
        let _guard = soxr_lock();
        // SAFETY: `raw` came from soxr_create and is deleted exactly once.
        unsafe { sys::soxr_delete(self.raw) };
    }
}

fn message(error: sys::soxr_error_t) -> String {
    if error.is_null() {
        return "libsoxr returned no resampler".to_string();
    }
    // SAFETY: libsoxr's errors are static NUL-terminated strings.
    unsafe { CStr::from_ptr(error) }.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(len: usize, freq_hz: f64, rate_hz: u32) -> Vec<f32> {
        (0..len)
            .map(|n| (0.5 * (2.0 * std::f64::consts::PI * freq_hz * n as f64 / f64::from(rate_hz)).sin()) as f32)
            .collect()
    }

    #[test]
    fn identity_is_bit_exact() {
        let x = sine(10_000, 440.0, 48_000);
        let y = resample(&x, 48_000, 48_000).expect("identity");
        assert_eq!(x, y);
    }

    #[test]
    fn lengths_follow_the_source_duration() {
        for (len, from, to) in [
            (44_100, 44_100, 48_000),
            (441_000, 44_100, 48_000),
            (1_000, 22_050, 48_000),
            (5, 96_000, 48_000),
            (0, 44_100, 48_000),
            (1, 44_100, 48_000),
            (12_345, 44_101, 48_000),
            (480_000, 48_000, 44_100),
        ] {
            let x = sine(len, 440.0, from);
            let y = resample(&x, from, to).expect("resample");
            assert_eq!(y.len() as u64, resampled_len(len as u64, from, to), "{len} {from}->{to}");
        }
    }

    /// Issue: a 10.000 s source came out one sample long, so a 30 fps video got 301 frames.
    #[test]
    fn ten_seconds_stay_ten_seconds() {
        let y = resample(&sine(441_000, 440.0, 44_100), 44_100, 48_000).expect("resample");
        assert_eq!(y.len(), 480_000);
        let duration_s = y.len() as f64 / 48_000.0;
        assert_eq!((duration_s * 30.0).ceil() as usize, 300);
        assert_eq!(resampled_len(220_500, 22_050, 44_100), 441_000);
        assert_eq!(resampled_len(480_000, 48_000, 44_100), 441_000);
    }

    #[test]
    fn sine_keeps_its_phase_and_amplitude() {
        for from in [44_100u32, 22_050, 96_000, 44_101, 8_000, 1_234, 200_003] {
            let freq_hz = (0.3 * f64::from(from)).min(1000.0);
            let x = sine(from as usize, freq_hz, from);
            let y = resample(&x, from, 48_000).expect("resample");
            let reference = sine(y.len(), freq_hz, 48_000);
            // Ignore the filter's edge transients.
            let worst = y[2_000..y.len() - 2_000]
                .iter()
                .zip(&reference[2_000..y.len() - 2_000])
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            // soxr_hq's pass-band ripple is below 0.01 dB (1e-3 of the 0.5 amplitude).
            assert!(worst < 6e-4, "{from}: worst {worst}");
        }
    }

    #[test]
    fn push_sizes_do_not_change_the_output() {
        let x = sine(100_000, 3_000.0, 44_100);
        let whole = resample(&x, 44_100, 48_000).expect("whole");
        for size in [1usize, 777, 20_000] {
            let mut pieces = Vec::new();
            let mut stream = StreamResampler::new(44_100, 48_000).expect("stream");
            for chunk in x.chunks(size) {
                stream.push(chunk, &mut |c| pieces.extend_from_slice(c)).expect("push");
            }
            stream.finish(&mut |c| pieces.extend_from_slice(c)).expect("finish");
            assert_eq!(whole, pieces, "push size {size}");
        }
    }

    #[test]
    fn channels_resample_alike() {
        let a = sine(10_000, 440.0, 44_100);
        let b: Vec<f32> = a.iter().map(|v| -v).collect();
        let out = resample_channels(vec![a.clone(), b], 44_100, 48_000).expect("resample");
        assert_eq!(out.len(), 2);
        assert_eq!(out[0], resample(&a, 44_100, 48_000).expect("mono"));
        assert!(out[0].iter().zip(&out[1]).all(|(x, y)| *x == -*y));
        assert!(matches!(resample_channels(vec![], 0, 48_000), Err(ResampleError::ZeroRate { .. })));
    }

    /// libsoxr's shared FFT cache is only safe behind `SOXR_LOCK`: resamplers of different
    /// ratios (different FFT sizes) running on many threads give the single-threaded bits.
    #[test]
    fn concurrent_resamplers_give_the_same_bits() {
        let x = sine(60_000, 1_234.5, 44_100);
        let rates = [(44_100, 48_000), (22_050, 48_000), (96_000, 48_000), (44_100, 8_000), (8_000, 44_100)];
        let expected: Vec<Vec<f32>> = rates.iter().map(|&(f, t)| resample(&x, f, t).expect("resample")).collect();
        std::thread::scope(|scope| {
            for round in 0..4 {
                for (i, &(f, t)) in rates.iter().enumerate() {
                    let (x, want) = (&x, &expected[i]);
                    scope.spawn(move || {
                        let got = resample(x, f, t).expect("resample");
                        assert_eq!(&got, want, "{f}->{t} round {round}");
                    });
                }
            }
        });
    }

    #[test]
    fn zero_rates_are_errors() {
        assert!(matches!(StreamResampler::new(0, 48_000), Err(ResampleError::ZeroRate { .. })));
        assert!(matches!(resample(&[0.0], 44_100, 0), Err(ResampleError::ZeroRate { .. })));
    }
}
