//! Sample-rate conversion of mono f32 audio with rubato, streamed in fixed chunks.
//!
//! Fixed integer ratios (44.1k→48k, 22.05k→48k, 96k→48k, even 44 101→48k) use rubato's
//! synchronous FFT resampler with one long anti-aliasing filter per block. Only rates whose
//! gcd-reduced block exceeds 200 000 frames (rates above 200 kHz coprime with the target) fall
//! back to rubato's asynchronous sinc resampler, whose delay is rounded to a whole output sample
//! (up to half a sample of misalignment). Both are deterministic. The resampler's delay is dropped so output sample `n` lines up with input
//! time `n / to_hz`, and the output length is librosa's: `ceil(len · (to / from))` computed in
//! f64, so frame counts agree with `librosa.load(sr=…)`. Equal rates pass samples through
//! untouched (bit-exact).

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    Async, Fft, FixedAsync, FixedSync, Indexing, Resampler, SincInterpolationParameters, SincInterpolationType,
    WindowFunction,
};

/// Input frames handed to rubato per call.
const CHUNK_FRAMES: usize = 8192;
/// Wanted FFT block (= anti-aliasing filter) length in input frames.
const FFT_BLOCK_TARGET_FRAMES: usize = 2048;
/// Largest gcd-reduced input block for which the FFT resampler is used.
const MAX_FFT_BLOCK_FRAMES: usize = 200_000;

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
    /// rubato refused the configuration.
    #[error("cannot resample from {from_hz} Hz to {to_hz} Hz: {detail}")]
    Construction {
        /// Input rate.
        from_hz: u32,
        /// Output rate.
        to_hz: u32,
        /// rubato's message.
        detail: String,
    },
    /// rubato failed while processing (a bug: buffers are sized from rubato's own figures).
    #[error("resampling from {from_hz} Hz to {to_hz} Hz failed: {detail}")]
    Process {
        /// Input rate.
        from_hz: u32,
        /// Output rate.
        to_hz: u32,
        /// rubato's message.
        detail: String,
    },
}

/// Output length for `len_in` input samples, as librosa computes it:
/// `ceil(len_in · (to_hz / from_hz))` in f64.
///
/// The f64 product is librosa's, quirks included: one second at 44.1 kHz gives
/// `44100 · (48000 / 44100) = 48000.00000000001`, so 48 001 samples, as in librosa.
///
/// ```
/// use ntsbuild::dsp::resample::resampled_len;
/// assert_eq!(resampled_len(44_100, 44_100, 48_000), 48_001);
/// assert_eq!(resampled_len(96_000, 96_000, 48_000), 48_000);
/// assert_eq!(resampled_len(1_000, 48_000, 48_000), 1_000);
/// ```
pub fn resampled_len(len_in: u64, from_hz: u32, to_hz: u32) -> u64 {
    if from_hz == to_hz || from_hz == 0 {
        return len_in;
    }
    let ratio = f64::from(to_hz) / f64::from(from_hz);
    (len_in as f64 * ratio).ceil() as u64
}

/// Resamples a whole signal: `resample(x, from, to).len() == resampled_len(x.len(), from, to)`.
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

/// A streaming mono resampler: push chunks of any size, then `finish`.
///
/// Output is delivered to a callback in pieces; the concatenation is identical whatever the
/// push sizes were, because rubato always sees the same fixed-size chunks.
pub struct StreamResampler {
    from_hz: u32,
    to_hz: u32,
    engine: Option<Box<dyn Resampler<f32>>>,
    pending: Vec<f32>,
    out_buf: Vec<f32>,
    delay_left: usize,
    input_total: u64,
    emitted_total: u64,
}

impl StreamResampler {
    /// A resampler from `from_hz` to `to_hz`; identity when they are equal.
    pub fn new(from_hz: u32, to_hz: u32) -> Result<Self, ResampleError> {
        if from_hz == 0 || to_hz == 0 {
            return Err(ResampleError::ZeroRate { from_hz, to_hz });
        }
        let engine = if from_hz == to_hz { None } else { Some(build_engine(from_hz, to_hz)?) };
        let (out_len, delay) = engine.as_ref().map_or((0, 0), |e| (e.output_frames_max(), e.output_delay()));
        Ok(Self {
            from_hz,
            to_hz,
            engine,
            pending: Vec::new(),
            out_buf: vec![0.0; out_len],
            delay_left: delay,
            input_total: 0,
            emitted_total: 0,
        })
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
        self.pending.extend_from_slice(samples);
        let mut offset = 0;
        loop {
            let need = self.engine.as_ref().map_or(0, |e| e.input_frames_next());
            if need == 0 || self.pending.len() - offset < need {
                break;
            }
            let end = offset + need;
            let (_, produced) = self.run(offset, end, None)?;
            self.emit(produced, u64::MAX, sink);
            offset = end;
        }
        self.pending.drain(..offset);
        Ok(())
    }

    /// Flushes the tail; the total output is exactly [`resampled_len`] samples.
    pub fn finish(mut self, sink: &mut dyn FnMut(&[f32])) -> Result<(), ResampleError> {
        if self.engine.is_none() {
            return Ok(());
        }
        let expected = resampled_len(self.input_total, self.from_hz, self.to_hz);
        let mut partial = self.pending.len();
        // Pump partial (then empty) chunks until the delayed tail is out; each call yields
        // at least one output block, so this ends after a handful of calls.
        let mut guard = 0;
        while self.emitted_total < expected {
            let (_, produced) = self.run(0, partial, Some(partial))?;
            self.emit(produced, expected, sink);
            self.pending.clear();
            partial = 0;
            guard += 1;
            if guard > 1_000 && produced == 0 {
                return Err(self.process_error("resampler produced no output".to_string()));
            }
        }
        Ok(())
    }

    fn run(&mut self, start: usize, end: usize, partial_len: Option<usize>) -> Result<(usize, usize), ResampleError> {
        let (from_hz, to_hz) = (self.from_hz, self.to_hz);
        let err = |detail: String| ResampleError::Process { from_hz, to_hz, detail };
        let Some(engine) = self.engine.as_mut() else {
            return Ok((0, 0));
        };
        // rubato reads `input_frames_next()` frames even for a partial chunk, so give it a
        // zero-filled buffer of that size.
        let need = engine.input_frames_next();
        let mut padded;
        let input: &[f32] = if end - start >= need {
            &self.pending[start..end]
        } else {
            padded = vec![0.0f32; need];
            padded[..end - start].copy_from_slice(&self.pending[start..end]);
            &padded
        };
        let frames_in = input.len();
        let adapter_in = InterleavedSlice::new(input, 1, frames_in).map_err(|e| err(e.to_string()))?;
        let out_frames = self.out_buf.len();
        let mut adapter_out =
            InterleavedSlice::new_mut(&mut self.out_buf, 1, out_frames).map_err(|e| err(e.to_string()))?;
        let mut indexing = Indexing::new();
        indexing.partial_len = partial_len;
        engine.process_into_buffer(&adapter_in, &mut adapter_out, Some(&indexing)).map_err(|e| err(e.to_string()))
    }

    fn emit(&mut self, produced: usize, limit: u64, sink: &mut dyn FnMut(&[f32])) {
        let skip = self.delay_left.min(produced);
        self.delay_left -= skip;
        let available = (produced - skip) as u64;
        let allowed = available.min(limit.saturating_sub(self.emitted_total)) as usize;
        if allowed > 0 {
            sink(&self.out_buf[skip..skip + allowed]);
            self.emitted_total += allowed as u64;
        }
    }

    fn process_error(&self, detail: String) -> ResampleError {
        ResampleError::Process { from_hz: self.from_hz, to_hz: self.to_hz, detail }
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn build_engine(from_hz: u32, to_hz: u32) -> Result<Box<dyn Resampler<f32>>, ResampleError> {
    let construction = |detail: String| ResampleError::Construction { from_hz, to_hz, detail };
    let g = gcd(u64::from(from_hz), u64::from(to_hz));
    let min_block_in = (u64::from(from_hz) / g) as usize;
    let min_block_out = (u64::from(to_hz) / g) as usize;
    if min_block_in.max(min_block_out) <= MAX_FFT_BLOCK_FRAMES {
        // One sub-chunk: the FFT block (and so the anti-aliasing filter) is as long as the
        // chunk, which gives a steep filter at a modest cost. An even number of minimum
        // blocks keeps both block sizes even, so the filter's centre (the delay rubato
        // reports) is a whole number of samples on both sides.
        let blocks = (FFT_BLOCK_TARGET_FRAMES.div_ceil(min_block_in)).next_multiple_of(2);
        let engine = Fft::<f32>::new_custom(
            from_hz as usize,
            to_hz as usize,
            blocks * min_block_in,
            1,
            1,
            WindowFunction::BlackmanHarris2,
            FixedSync::Input,
        )
        .map_err(|e| construction(e.to_string()))?;
        Ok(Box::new(engine))
    } else {
        let params = SincInterpolationParameters::new(256, WindowFunction::BlackmanHarris2)
            .oversampling_factor(256)
            .interpolation(SincInterpolationType::Cubic);
        let ratio = f64::from(to_hz) / f64::from(from_hz);
        let engine = Async::<f32>::new_sinc(ratio, 1.0, &params, CHUNK_FRAMES, 1, FixedAsync::Input)
            .map_err(|e| construction(e.to_string()))?;
        Ok(Box::new(engine))
    }
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
    fn lengths_follow_librosa() {
        for (len, from, to) in [
            (44_100, 44_100, 48_000),
            (1_000, 22_050, 48_000),
            (5, 96_000, 48_000),
            (0, 44_100, 48_000),
            (12_345, 44_101, 48_000),
        ] {
            let x = sine(len, 440.0, from);
            let y = resample(&x, from, to).expect("resample");
            assert_eq!(y.len() as u64, resampled_len(len as u64, from, to), "{len} {from}->{to}");
        }
    }

    #[test]
    fn sine_keeps_its_phase_and_amplitude() {
        for from in [44_100u32, 22_050, 96_000, 44_101, 8_000, 1_234] {
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
            assert!(worst < 3e-3, "{from}: worst {worst}");
        }
    }

    #[test]
    fn huge_coprime_rate_uses_the_sinc_fallback() {
        let from = 200_003u32;
        let x = sine(from as usize / 2, 1000.0, from);
        let y = resample(&x, from, 48_000).expect("resample");
        assert_eq!(y.len() as u64, resampled_len(x.len() as u64, from, 48_000));
        let reference = sine(y.len(), 1000.0, 48_000);
        let worst = y[2_000..y.len() - 2_000]
            .iter()
            .zip(&reference[2_000..y.len() - 2_000])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 0.07, "worst {worst}");
    }

    #[test]
    fn push_sizes_do_not_change_the_output() {
        let x = sine(30_000, 3_000.0, 44_100);
        let whole = resample(&x, 44_100, 48_000).expect("whole");
        let mut pieces = Vec::new();
        let mut stream = StreamResampler::new(44_100, 48_000).expect("stream");
        for chunk in x.chunks(777) {
            stream.push(chunk, &mut |c| pieces.extend_from_slice(c)).expect("push");
        }
        stream.finish(&mut |c| pieces.extend_from_slice(c)).expect("finish");
        assert_eq!(whole, pieces);
    }
}
