//! Centred short-time framing and one windowed real FFT per frame (librosa `center=True`).
//!
//! Frames are taken from the signal zero-padded by `n_fft / 2` on both ends, so frame `t` is
//! centred on sample `t · hop_len` and there are `1 + len / hop_len` frames.

use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, FftNum, RealFftPlanner, RealToComplex};

use crate::dsp::window::hann_periodic;

/// Planners shared by the whole process: planning an FFT computes its twiddle factors
/// (thousands of sines and cosines), so each length is planned once and the plan reused. Only
/// for the fixed frame lengths of the analyses: every plan is kept for the life of the process.
static PLANNER_F64: LazyLock<Mutex<RealFftPlanner<f64>>> = LazyLock::new(|| Mutex::new(RealFftPlanner::new()));
static PLANNER_F32: LazyLock<Mutex<RealFftPlanner<f32>>> = LazyLock::new(|| Mutex::new(RealFftPlanner::new()));

/// The shared forward real FFT of `n` points in f64 (the plan a new planner makes).
pub fn shared_forward_f64(n: usize) -> Arc<dyn RealToComplex<f64>> {
    PLANNER_F64.lock().unwrap_or_else(PoisonError::into_inner).plan_fft_forward(n)
}

/// The shared inverse real FFT of `n` points in f64.
pub fn shared_inverse_f64(n: usize) -> Arc<dyn ComplexToReal<f64>> {
    PLANNER_F64.lock().unwrap_or_else(PoisonError::into_inner).plan_fft_inverse(n)
}

/// The shared forward real FFT of `n` points in f32.
pub fn shared_forward_f32(n: usize) -> Arc<dyn RealToComplex<f32>> {
    PLANNER_F32.lock().unwrap_or_else(PoisonError::into_inner).plan_fft_forward(n)
}

/// Number of centred frames librosa produces for `len_samples` samples: `1 + len / hop`.
///
/// ```
/// assert_eq!(ntsbuild::dsp::stft::centred_frame_count(48_000, 512), 94);
/// assert_eq!(ntsbuild::dsp::stft::centred_frame_count(1_000, 512), 2);
/// ```
pub fn centred_frame_count(len_samples: usize, hop_len: usize) -> usize {
    1 + len_samples / hop_len.max(1)
}

/// Copies centred frame `frame_index` of `signal` into `out` (length `n_fft`), with the
/// implicit zero padding of `n_fft / 2` samples at both ends.
pub fn centred_frame(signal: &[f32], frame_index: usize, hop_len: usize, out: &mut [f32]) {
    let n_fft = out.len();
    // Padded position `frame_index·hop + i` is signal sample `frame_index·hop + i − n_fft/2`:
    // `out[lo..hi]` holds signal samples, the rest is padding.
    let start = frame_index * hop_len;
    let pad = n_fft / 2;
    let lo = pad.saturating_sub(start).min(n_fft);
    let hi = (signal.len() + pad).saturating_sub(start).clamp(lo, n_fft);
    out[..lo].fill(0.0);
    if lo < hi {
        let first = start + lo - pad;
        out[lo..hi].copy_from_slice(&signal[first..first + (hi - lo)]);
    }
    out[hi..].fill(0.0);
}

/// A signal arriving in pieces, framed as [`centred_frame`] frames it (`n_fft / 2` zeros before
/// it and, after [`CentredStream::end`], after it): holds only the samples that the frames not
/// yet taken need, so a long signal is analysed in bounded memory with the same frames.
#[derive(Debug, Clone)]
pub struct CentredStream {
    n_fft: usize,
    hop: usize,
    /// The padded signal from padded index `start`.
    buffer: Vec<f32>,
    start: usize,
    /// The first frame not yet taken.
    next: usize,
    /// Samples pushed (padding not counted).
    seen: usize,
}

impl CentredStream {
    pub fn new(n_fft: usize, hop: usize) -> Self {
        Self { n_fft, hop: hop.max(1), buffer: vec![0.0; n_fft / 2], start: 0, next: 0, seen: 0 }
    }

    /// The next samples of the signal.
    pub fn push(&mut self, samples: &[f32]) {
        self.seen += samples.len();
        self.buffer.extend_from_slice(samples);
    }

    /// The signal ended: pad it, so that its last frames are complete.
    pub fn end(&mut self) {
        self.buffer.extend(std::iter::repeat_n(0.0, self.n_fft / 2));
    }

    /// Samples pushed so far.
    pub fn samples_seen(&self) -> usize {
        self.seen
    }

    /// The first frame not yet taken.
    pub fn next_frame(&self) -> usize {
        self.next
    }

    /// Complete frames held from [`CentredStream::next_frame`] on.
    pub fn ready(&self) -> usize {
        let end = self.start + self.buffer.len();
        if end < self.n_fft { 0 } else { ((end - self.n_fft) / self.hop + 1).saturating_sub(self.next) }
    }

    /// The held samples and the padded index of the first: frames from `next_frame` on read
    /// from here (a frame partly past the end reads zeros there).
    pub fn held(&self) -> (&[f32], usize) {
        (&self.buffer, self.start)
    }

    /// Frame `t`, one of the [`CentredStream::ready`] ones.
    pub fn frame(&self, t: usize) -> &[f32] {
        let at = t * self.hop - self.start;
        &self.buffer[at..at + self.n_fft]
    }

    /// `count` more frames are taken: the samples only they needed are dropped.
    pub fn take(&mut self, count: usize) {
        self.next += count;
        let keep_from = (self.next * self.hop).min(self.start + self.buffer.len());
        if keep_from > self.start {
            self.buffer.drain(..keep_from - self.start);
            self.start = keep_from;
        }
    }
}

/// A shared forward transform with buffers of its own: the caller fills `input`, [`Self::run`]
/// leaves the spectrum in `spectrum`.
#[derive(Clone)]
struct Transform<T: FftNum> {
    fft: Arc<dyn RealToComplex<T>>,
    input: Vec<T>,
    spectrum: Vec<Complex<T>>,
    scratch: Vec<Complex<T>>,
}

impl<T: FftNum> Transform<T> {
    fn new(fft: Arc<dyn RealToComplex<T>>) -> Self {
        let (input, spectrum, scratch) = (fft.make_input_vec(), fft.make_output_vec(), fft.make_scratch_vec());
        Self { fft, input, spectrum, scratch }
    }

    #[inline(always)]
    fn run(&mut self) {
        // Lengths come from the plan itself, so the FFT cannot reject them.
        let _ = self.fft.process_with_scratch(&mut self.input, &mut self.spectrum, &mut self.scratch);
    }
}

/// A planned windowed real FFT: `n_fft` samples in, `n_fft / 2 + 1` magnitudes out.
///
/// The plan is shared (`Clone` is cheap); each clone owns its own scratch buffers, so one clone
/// per thread computes frames without locking.
#[derive(Clone)]
pub struct SpectrumPlan {
    transform: Transform<f64>,
    window: Arc<[f64]>,
}

impl SpectrumPlan {
    /// Plans a periodic-Hann-windowed FFT of `n_fft` points (`n_fft` ≥ 2, even).
    pub fn new(n_fft: usize) -> Self {
        let n_fft = n_fft.max(2);
        Self { transform: Transform::new(shared_forward_f64(n_fft)), window: hann_periodic(n_fft).into() }
    }

    /// FFT length in samples.
    pub fn n_fft(&self) -> usize {
        self.window.len()
    }

    /// Number of frequency bins, `n_fft / 2 + 1`.
    pub fn bin_count(&self) -> usize {
        self.n_fft() / 2 + 1
    }

    /// Windows `frame` (length `n_fft`), transforms it in f64 and writes `|X[k]|` to
    /// `magnitudes` (length `n_fft / 2 + 1`).
    ///
    /// Like librosa, the window is f64, the product and FFT are f64, and the spectrum is then
    /// rounded to complex64 before its magnitude is taken as f32.
    #[inline(always)]
    pub fn magnitudes(&mut self, frame: &[f32], magnitudes: &mut [f32]) {
        for ((x, &s), &w) in self.transform.input.iter_mut().zip(frame).zip(self.window.iter()) {
            *x = w * f64::from(s);
        }
        self.transform.run();
        // re² and im² are exact in f64 (24-bit mantissas); the sum is rounded to f32 and
        // square-rooted there, within an ulp of numpy's hypotf. Four bins at a time so the
        // square roots run 4-wide.
        let power32 = |c: &Complex<f64>| {
            let re = f64::from(c.re as f32);
            let im = f64::from(c.im as f32);
            (re * re + im * im) as f32
        };
        let mut out = magnitudes.chunks_exact_mut(4);
        let mut bins = self.transform.spectrum.chunks_exact(4);
        for (m, c) in (&mut out).zip(&mut bins) {
            let p = [power32(&c[0]), power32(&c[1]), power32(&c[2]), power32(&c[3])];
            for (mi, pi) in m.iter_mut().zip(p) {
                *mi = pi.sqrt();
            }
        }
        for (m, c) in out.into_remainder().iter_mut().zip(bins.remainder()) {
            *m = power32(c).sqrt();
        }
    }
}

/// [`SpectrumPlan`] in f32 throughout (window, transform, magnitudes): about half its work, for
/// measures of our own that no reference defines to the last bit (the texture manifest's).
pub struct SpectrumPlan32 {
    transform: Transform<f32>,
    window: Vec<f32>,
}

impl SpectrumPlan32 {
    /// Plans a periodic-Hann-windowed FFT of `n_fft` points (`n_fft` ≥ 2, even).
    pub fn new(n_fft: usize) -> Self {
        let n_fft = n_fft.max(2);
        let window = hann_periodic(n_fft).into_iter().map(|w| w as f32).collect();
        Self { transform: Transform::new(shared_forward_f32(n_fft)), window }
    }

    /// Number of frequency bins, `n_fft / 2 + 1`.
    pub fn bin_count(&self) -> usize {
        self.window.len() / 2 + 1
    }

    /// Windows `frame` (length `n_fft`) and writes `|X[k]|` to `magnitudes` (length
    /// `n_fft / 2 + 1`).
    #[inline(always)]
    pub fn magnitudes(&mut self, frame: &[f32], magnitudes: &mut [f32]) {
        for ((x, &s), &w) in self.transform.input.iter_mut().zip(frame).zip(&self.window) {
            *x = w * s;
        }
        self.transform.run();
        for (m, c) in magnitudes.iter_mut().zip(&self.transform.spectrum) {
            *m = (c.re * c.re + c.im * c.im).sqrt();
        }
    }
}

/// Centre frequency of each FFT bin in Hz, as `numpy.fft.rfftfreq(n_fft, 1 / sr)`.
pub fn fft_frequencies_hz(sample_rate_hz: u32, n_fft: usize) -> Vec<f64> {
    let d = 1.0 / f64::from(sample_rate_hz);
    let val = 1.0 / (n_fft as f64 * d);
    (0..=n_fft / 2).map(|k| k as f64 * val).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_in_pieces_gives_centred_frames_and_holds_little() {
        let signal: Vec<f32> = (0..10_007).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5).collect();
        for (n_fft, hop) in [(2048usize, 512usize), (2048, 1024), (256, 256)] {
            for piece in [1usize, 333, 4096, 20_000] {
                let mut stream = CentredStream::new(n_fft, hop);
                let mut frames = Vec::new();
                let mut most_held = 0;
                let take_ready = |stream: &mut CentredStream, frames: &mut Vec<Vec<f32>>| {
                    let first = stream.next_frame();
                    let n = stream.ready();
                    frames.extend((first..first + n).map(|t| stream.frame(t).to_vec()));
                    stream.take(n);
                };
                for chunk in signal.chunks(piece) {
                    stream.push(chunk);
                    take_ready(&mut stream, &mut frames);
                    most_held = most_held.max(stream.held().0.len());
                }
                stream.end();
                take_ready(&mut stream, &mut frames);
                assert_eq!(frames.len(), centred_frame_count(signal.len(), hop), "{n_fft}/{hop}/{piece}");
                let mut want = vec![0.0; n_fft];
                for (t, frame) in frames.iter().enumerate() {
                    centred_frame(&signal, t, hop, &mut want);
                    assert_eq!(frame, &want, "frame {t} of {n_fft}/{hop} in pieces of {piece}");
                }
                assert!(most_held <= n_fft + piece, "{most_held} held for {n_fft}/{hop}/{piece}");
            }
        }
    }

    #[test]
    fn frame_padding_matches_centring() {
        // Every frame, of signals shorter and longer than a frame, against the definition.
        let naive = |signal: &[f32], t: usize, hop: usize, n: usize| -> Vec<f32> {
            (0..n)
                .map(|i| {
                    let j = (t * hop + i) as isize - (n / 2) as isize;
                    if j >= 0 && (j as usize) < signal.len() { signal[j as usize] } else { 0.0 }
                })
                .collect()
        };
        for len in [0usize, 1, 3, 7, 8, 9, 30] {
            let signal: Vec<f32> = (1..=len).map(|v| v as f32).collect();
            for (n, hop) in [(2, 1), (5, 3), (8, 4), (16, 3), (16, 8)] {
                for t in 0..len / hop + n {
                    let mut out = vec![f32::NAN; n];
                    centred_frame(&signal, t, hop, &mut out);
                    assert_eq!(out, naive(&signal, t, hop, n), "len {len}, n_fft {n}, hop {hop}, frame {t}");
                }
            }
        }
        let signal: Vec<f32> = (1..=10).map(|v| v as f32).collect();
        let mut out = [0.0f32; 8];
        centred_frame(&signal, 0, 4, &mut out);
        assert_eq!(out, [0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0]);
        centred_frame(&signal, 2, 4, &mut out);
        assert_eq!(out, [5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 0.0, 0.0]);
    }

    #[test]
    fn shared_plans_are_planned_once_and_give_a_new_plans_bits() {
        let n = 2048;
        assert!(Arc::ptr_eq(&shared_forward_f64(n), &shared_forward_f64(n)), "planned again");
        let signal: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1013) as f64 / 1013.0 - 0.5).collect();
        let transform = |fft: Arc<dyn RealToComplex<f64>>| {
            let (mut input, mut out) = (signal.clone(), fft.make_output_vec());
            fft.process(&mut input, &mut out).expect("lengths from the plan");
            out
        };
        // Planned on other threads too: the same plan, the same bits.
        let from_threads: Vec<_> = (0..2).map(|_| std::thread::spawn(move || shared_forward_f64(n))).collect();
        let want = transform(RealFftPlanner::<f64>::new().plan_fft_forward(n));
        for handle in from_threads {
            assert_eq!(transform(handle.join().expect("thread")), want);
        }
        let inverse = shared_inverse_f64(n);
        let (mut spectrum, mut back) = (want.clone(), inverse.make_output_vec());
        inverse.process(&mut spectrum, &mut back).expect("lengths from the plan");
        assert!(back.iter().zip(&signal).all(|(b, s)| (b / n as f64 - s).abs() < 1e-12), "inverse is not the inverse");
    }

    #[test]
    fn the_f32_plan_gives_the_f64_magnitudes_to_f32_precision() {
        let n = 2048;
        let frame: Vec<f32> =
            (0..n).map(|i| (0.05 * i as f32).sin() * 0.6 + ((i * 7919) % 101) as f32 / 500.0).collect();
        let (mut wide, mut narrow) = (SpectrumPlan::new(n), SpectrumPlan32::new(n));
        assert_eq!(narrow.bin_count(), wide.bin_count());
        let (mut want, mut got) = (vec![0.0f32; n / 2 + 1], vec![0.0f32; n / 2 + 1]);
        wide.magnitudes(&frame, &mut want);
        narrow.magnitudes(&frame, &mut got);
        let top = want.iter().fold(0.0f32, |a, &b| a.max(b));
        for (k, (w, g)) in want.iter().zip(&got).enumerate() {
            assert!((w - g).abs() <= 1e-5 * top, "bin {k}: {g} vs {w}");
        }
        // A constant frame: the window's sum in bin 0, half of it in bin 1, nothing else.
        narrow.magnitudes(&vec![1.0; n], &mut got);
        assert!((got[0] - 1024.0).abs() < 1e-3 && (got[1] - 512.0).abs() < 1e-3, "{} {}", got[0], got[1]);
        assert!(got[2..].iter().all(|m| *m < 1e-3), "leakage past bin 1");
    }

    #[test]
    fn dc_frame_has_energy_only_in_bin_zero() {
        let mut plan = SpectrumPlan::new(16);
        let mut mags = vec![0.0f32; plan.bin_count()];
        plan.magnitudes(&[1.0; 16], &mut mags);
        // Sum of a periodic Hann window of length 16 is 8.
        assert!((mags[0] - 8.0).abs() < 1e-5);
        assert!((mags[1] - 4.0).abs() < 1e-5);
        assert!(mags[2..].iter().all(|m| m.abs() < 1e-5));
    }

    #[test]
    fn frequencies_are_k_sr_over_n() {
        let f = fft_frequencies_hz(48_000, 2048);
        assert_eq!(f.len(), 1025);
        assert_eq!(f[0], 0.0);
        assert!((f[1024] - 24_000.0).abs() < 1e-9);
    }
}
