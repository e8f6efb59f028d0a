//! Streaming feature extraction: push mono chunks, `finish` for [`Features`].
//!
//! Frames are analysed as soon as a full block of them is available, in parallel, and only
//! their per-frame results (≈ 0.5 KiB a frame) are kept, so a long file never has to be held
//! in memory as samples. The two global steps (the −80 dB floor below the maximum, then MFCC
//! and onset) run in `finish`.

use rayon::prelude::*;

use crate::dsp::dct::DctOrtho;
use crate::dsp::stft::{CentredStream, centred_frame_count};
use crate::features::frame::{FrameAnalysisPlan, FrameStats};
use crate::features::mfcc::{mfcc_dct, mfcc_frame};
use crate::features::onset::{ONSET_SHIFT_FRAMES, onset_rise};
use crate::features::{Features, HOP_LEN, N_FFT, N_MFCC, TOP_DB};

/// Frames per stored block (and per parallel batch while streaming).
const BLOCK_FRAMES: usize = 1024;
/// Frames per parallel task.
const TASK_FRAMES: usize = 16;
/// Frames per parallel task of [`features_of_reader`] (each reads the samples its frames need).
const READ_TASK_FRAMES: usize = 256;

/// Accumulates per-frame analysis of a mono signal delivered in chunks of any size.
///
/// The result is bit-identical to [`crate::features::features`] on the concatenated signal,
/// whatever the chunk sizes and the rayon thread count.
pub struct FeatureAccumulator {
    sample_rate_hz: u32,
    plan: FrameAnalysisPlan,
    stream: CentredStream,
    blocks: Vec<Vec<FrameStats>>,
}

impl FeatureAccumulator {
    /// An empty accumulator for audio at `sample_rate_hz`.
    pub fn new(sample_rate_hz: u32) -> Self {
        Self {
            sample_rate_hz,
            plan: FrameAnalysisPlan::new(sample_rate_hz),
            stream: CentredStream::new(N_FFT, HOP_LEN),
            blocks: Vec::new(),
        }
    }

    /// Samples pushed so far.
    pub fn samples_seen(&self) -> usize {
        self.stream.samples_seen()
    }

    /// Appends `samples` and analyses every complete block of frames.
    pub fn push(&mut self, samples: &[f32]) {
        self.stream.push(samples);
        let whole_blocks = self.stream.ready() / BLOCK_FRAMES * BLOCK_FRAMES;
        if whole_blocks > 0 {
            self.analyze(whole_blocks);
        }
    }

    /// Analyses the remaining frames and runs the global steps.
    pub fn finish(mut self) -> Features {
        self.stream.end();
        let total = centred_frame_count(self.stream.samples_seen(), HOP_LEN);
        let remaining = total - self.stream.next_frame();
        if remaining > 0 {
            self.analyze(remaining);
        }
        finalize(&self.blocks, BLOCK_FRAMES, total, self.sample_rate_hz)
    }

    fn analyze(&mut self, count: usize) {
        let (data, offset) = self.stream.held();
        let source = Padded { data, offset };
        let first = self.stream.next_frame();
        for start in (0..count).step_by(BLOCK_FRAMES) {
            let n = BLOCK_FRAMES.min(count - start);
            let frames = analyze_frames(&self.plan, source, first + start, n);
            // Every push analyses whole blocks, so all blocks but the last hold exactly
            // BLOCK_FRAMES frames (`frame_at` relies on it).
            self.blocks.push(frames);
        }
        self.stream.take(count);
    }
}

/// A window onto the centred, zero-padded signal: `data[i]` is padded sample `offset + i`;
/// padded samples outside `data` are zero.
#[derive(Clone, Copy)]
struct Padded<'a> {
    data: &'a [f32],
    offset: usize,
}

impl Padded<'_> {
    /// Frame `t` (padded samples `t·HOP_LEN ..+ N_FFT`), borrowed when it lies inside `data`.
    fn frame<'s>(&'s self, t: usize, scratch: &'s mut [f32; N_FFT]) -> &'s [f32] {
        let start = t * HOP_LEN;
        let end = start + N_FFT;
        if start >= self.offset && end <= self.offset + self.data.len() {
            return &self.data[start - self.offset..end - self.offset];
        }
        for (i, s) in scratch.iter_mut().enumerate() {
            *s = (start + i).checked_sub(self.offset).and_then(|j| self.data.get(j)).copied().unwrap_or(0.0);
        }
        scratch
    }
}

/// Analyses frames `first .. first + count` of `source` in parallel tasks of `TASK_FRAMES`.
///
/// The results are written straight into the returned vector (no zero-filled buffer first:
/// filling it cost a pass over fresh memory on this thread before the tasks could start).
fn analyze_frames(plan: &FrameAnalysisPlan, source: Padded<'_>, first: usize, count: usize) -> Vec<FrameStats> {
    let mut out = Vec::with_capacity(count);
    (first..first + count)
        .into_par_iter()
        .with_min_len(TASK_FRAMES)
        .map_init(
            || (plan.analyzer(), [0.0f32; N_FFT]),
            |(analyzer, scratch), t| {
                let mut stats = FrameStats::default();
                analyzer.analyze(source.frame(t, scratch), &mut stats);
                stats
            },
        )
        .collect_into_vec(&mut out);
    out
}

/// Features of a whole in-memory signal, without copying it (same bits as streaming it).
pub(crate) fn features_of_slice(samples: &[f32], sample_rate_hz: u32) -> Features {
    let plan = FrameAnalysisPlan::new(sample_rate_hz);
    let total = centred_frame_count(samples.len(), HOP_LEN);
    let source = Padded { data: samples, offset: N_FFT / 2 };
    let blocks: Vec<Vec<FrameStats>> = (0..total)
        .step_by(BLOCK_FRAMES)
        .map(|first| analyze_frames(&plan, source, first, BLOCK_FRAMES.min(total - first)))
        .collect();
    finalize(&blocks, BLOCK_FRAMES, total, sample_rate_hz)
}

/// Features of a signal of `len` samples that `read(state, start, out)` delivers piecewise
/// (samples `start .. start + out.len()`, always inside the signal), in parallel tasks that
/// each read just the samples their frames need; `init` makes one reader state per thread.
/// The bits are those of [`crate::features::features`] on the whole signal; the first error
/// in signal order is returned.
pub(crate) fn features_of_reader<S, E: Send>(
    len: usize,
    sample_rate_hz: u32,
    init: impl Fn() -> S + Sync + Send,
    read: impl Fn(&mut S, usize, &mut [f32]) -> Result<(), E> + Sync + Send,
) -> Result<Features, E> {
    let plan = FrameAnalysisPlan::new(sample_rate_hz);
    let total = centred_frame_count(len, HOP_LEN);
    // Each task returns its own frames, allocated and written on the task's thread: one
    // zero-filled vector for every frame would be written once by this thread before any
    // task could start.
    let blocks: Vec<Result<Vec<FrameStats>, E>> = (0..total.div_ceil(READ_TASK_FRAMES))
        .into_par_iter()
        .map_init(
            || (plan.analyzer(), [0.0f32; N_FFT], Vec::new(), init()),
            |(analyzer, scratch, data, state), task| {
                let first = task * READ_TASK_FRAMES;
                let count = READ_TASK_FRAMES.min(total - first);
                let last = first + count - 1;
                // Frame t covers signal samples t·HOP_LEN − N_FFT/2 .. t·HOP_LEN + N_FFT/2.
                let lo = (first * HOP_LEN).saturating_sub(N_FFT / 2).min(len);
                let hi = (last * HOP_LEN + N_FFT / 2).min(len);
                data.resize(hi - lo, 0.0);
                read(state, lo, data)?;
                let source = Padded { data, offset: lo + N_FFT / 2 };
                let mut out = Vec::with_capacity(count);
                for t in first..first + count {
                    let mut stats = FrameStats::default();
                    analyzer.analyze(source.frame(t, scratch), &mut stats);
                    out.push(stats);
                }
                Ok(out)
            },
        )
        .collect();
    let blocks = blocks.into_iter().collect::<Result<Vec<_>, E>>()?;
    Ok(finalize(&blocks, READ_TASK_FRAMES, total, sample_rate_hz))
}

fn frame_at<B: AsRef<[FrameStats]>>(blocks: &[B], block_frames: usize, t: usize) -> &FrameStats {
    &blocks[t / block_frames].as_ref()[t % block_frames]
}

/// The global steps: dB floor at (max − 80), MFCC, onset, and assembly of [`Features`].
/// Every block but the last holds `block_frames` frames.
fn finalize<B: AsRef<[FrameStats]> + Sync>(
    blocks: &[B],
    block_frames: usize,
    frame_count: usize,
    sample_rate_hz: u32,
) -> Features {
    let max_db = blocks
        .par_iter()
        .map(|b| b.as_ref().iter().flat_map(|s| s.mel_db.iter().copied()).fold(f32::NEG_INFINITY, f32::max))
        .reduce(|| f32::NEG_INFINITY, f32::max);
    let floor_db = max_db - TOP_DB;

    let stats = || blocks.iter().flat_map(|b| b.as_ref().iter());
    let rms = stats().map(|s| s.rms).collect();
    let centroid_hz = stats().map(|s| s.centroid_hz).collect();
    let flatness = stats().map(|s| s.flatness).collect();
    let rate = f64::from(sample_rate_hz.max(1));
    let times_s = (0..frame_count).map(|t| ((t * HOP_LEN) as f64 / rate) as f32).collect();

    let dct = mfcc_dct();
    let mut by_frame = vec![0.0f32; frame_count * N_MFCC];
    by_frame
        .par_chunks_mut(N_MFCC * block_frames)
        .zip(blocks.par_iter())
        .for_each(|(out, block)| mfcc_block(&dct, block.as_ref(), floor_db, out));
    let mut mfcc = vec![0.0f32; frame_count * N_MFCC];
    for (t, coeffs) in by_frame.chunks_exact(N_MFCC).enumerate() {
        for (k, &c) in coeffs.iter().enumerate() {
            mfcc[k * frame_count + t] = c;
        }
    }

    let mut onset = vec![0.0f32; frame_count];
    onset.par_chunks_mut(block_frames).enumerate().for_each(|(chunk, out)| {
        for (i, o) in out.iter_mut().enumerate() {
            let t = chunk * block_frames + i;
            if t >= ONSET_SHIFT_FRAMES {
                let prev = frame_at(blocks, block_frames, t - ONSET_SHIFT_FRAMES);
                let cur = frame_at(blocks, block_frames, t - ONSET_SHIFT_FRAMES + 1);
                *o = onset_rise(&prev.mel_db, &cur.mel_db, floor_db);
            }
        }
    });

    Features { sample_rate_hz, times_s, rms, centroid_hz, flatness, mfcc, onset }
}

/// [`mfcc_frame`] of every frame of `block`, `N_MFCC` coefficients each into `out`.
///
/// On x86-64 CPUs with AVX2 the loop is compiled a second time for 256-bit vectors and used
/// instead; like the frame analysis, both copies do the same IEEE operations in the same order
/// (no fused multiply-add), so they give the same bits.
fn mfcc_block(dct: &DctOrtho, block: &[FrameStats], floor_db: f32, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { mfcc_block_avx2(dct, block, floor_db, out) };
        return;
    }
    mfcc_block_portable(dct, block, floor_db, out);
}

/// [`mfcc_block_portable`] compiled with AVX2 enabled.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn mfcc_block_avx2(dct: &DctOrtho, block: &[FrameStats], floor_db: f32, out: &mut [f32]) {
    mfcc_block_portable(dct, block, floor_db, out);
}

#[inline(always)]
fn mfcc_block_portable(dct: &DctOrtho, block: &[FrameStats], floor_db: f32, out: &mut [f32]) {
    for (o, s) in out.chunks_exact_mut(N_MFCC).zip(block) {
        mfcc_frame(dct, &s.mel_db, floor_db, o);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::features;

    fn signal(len: usize) -> Vec<f32> {
        let mut state = 0x1234_5678_u32;
        (0..len)
            .map(|n| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let noise = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                (n as f32 * 0.01).sin() * 0.3 + noise * 0.1
            })
            .collect()
    }

    #[test]
    fn chunking_does_not_change_bits() {
        let x = signal(700_000);
        let whole = features(&x, 48_000);
        let mut streamed = FeatureAccumulator::new(48_000);
        streamed.push(&x);
        assert_eq!(streamed.finish(), whole, "one push");
        for chunk in [1usize, 511, 4096, 100_000] {
            let mut acc = FeatureAccumulator::new(48_000);
            for c in x.chunks(chunk).take(if chunk == 1 { 5_000 } else { usize::MAX }) {
                acc.push(c);
            }
            if chunk == 1 {
                acc.push(&x[5_000..]);
            }
            assert_eq!(acc.finish(), whole, "chunk {chunk}");
        }
    }

    #[test]
    fn frame_counts_match_librosa() {
        for len in [0usize, 1, 511, 512, 1000, 2047, 2048, 48_000] {
            let f = features(&signal(len), 48_000);
            assert_eq!(f.frame_count(), 1 + len / 512, "len {len}");
            assert_eq!(f.mfcc.len(), 13 * f.frame_count());
            assert_eq!(f.onset.len(), f.frame_count());
            assert!(f.mfcc.iter().chain(&f.rms).chain(&f.onset).all(|v| v.is_finite()));
        }
    }

    /// The MFCC loop as dispatched (the AVX2 copy on CPUs that have it) gives the portable
    /// copy's bits.
    #[test]
    fn every_compiled_copy_of_the_mfccs_gives_the_same_bits() {
        let dct = mfcc_dct();
        let block: Vec<FrameStats> = (0..37)
            .map(|t| {
                let mut s = FrameStats::default();
                for (b, d) in s.mel_db.iter_mut().enumerate() {
                    *d = -100.0 + ((t * 131 + b * 7919) % 1009) as f32 * 0.0917;
                }
                s
            })
            .collect();
        let mut portable = vec![0.0f32; block.len() * N_MFCC];
        mfcc_block_portable(&dct, &block, -80.0, &mut portable);
        let mut dispatched = vec![0.0f32; block.len() * N_MFCC];
        mfcc_block(&dct, &block, -80.0, &mut dispatched);
        assert_eq!(
            dispatched.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            portable.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn thread_count_does_not_change_bits() {
        let x = signal(300_000);
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .map(|pool| pool.install(|| features(&x, 48_000)))
        };
        let one = run(1).expect("pool");
        let two = run(2).expect("pool");
        let five = run(5).expect("pool");
        assert_eq!(one, two);
        assert_eq!(one, five);
    }
}
