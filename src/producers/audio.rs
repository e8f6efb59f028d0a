//! Audio-derived columns on a sidecar's grid.
//!
//! - `rms_db` (DOMAIN §F): for frame `k`, samples `[b_k, b_{k+1})` with
//!   `b_k = floor(k · sr / fps)` ([`Grid::frame_start`]), zero past the end of the signal (the
//!   seed pads its last block the same way); `20·log10(sqrt(Σx²/(b_{k+1} − b_k) + 1e-12) + 1e-12)`,
//!   summed in float64 (eight interleaved partial sums in a fixed order), rounded to float32. When `sr / fps` is whole this is the
//!   seed's fixed hop; otherwise the seed's rounded hop would drift off the grid, these bounds do not.
//! - `rms`, `centroid`, `flatness`, `onset`, `mfcc0…12`: ntsbuild's librosa-compatible features
//!   (`crate::features`, hop 512, frame `t` centred on `t · 512 / sr` seconds), resampled onto the
//!   grid by linear interpolation at each frame's centre `(k + 0.5) / fps` between the two nearest
//!   feature frames, held constant beyond the first and last (`numpy.interp` semantics).

use std::io;

use crate::features::accumulator::features_of_reader;
use crate::features::{Features, HOP_LEN};

use super::grid::Grid;
use super::spec::AudioColumn;
use super::table::Column;

/// Mono samples read by position: a `Vec` in memory, or the engine's decoded plane, which a
/// long source keeps on disk (the columns then hold a frame or a feature task's samples at a
/// time, not the whole signal).
pub trait MonoSource: Sync {
    /// Samples in the signal.
    fn len(&self) -> usize;

    /// Whether there is no sample.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Samples `start .. start + out.len()`, which lie inside the signal.
    fn read(&self, start: usize, out: &mut [f32]) -> io::Result<()>;
}

impl MonoSource for Vec<f32> {
    fn len(&self) -> usize {
        self.as_slice().len()
    }

    fn read(&self, start: usize, out: &mut [f32]) -> io::Result<()> {
        let window = start.checked_add(out.len()).and_then(|end| self.get(start..end));
        let window = window.ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("samples {start}..+{} past the end", out.len()))
        })?;
        out.copy_from_slice(window);
        Ok(())
    }
}

impl std::fmt::Debug for dyn MonoSource + '_ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MonoSource({} samples)", self.len())
    }
}

/// Mono audio of a source, and its features when the caller already has them.
#[derive(Debug, Clone, Copy)]
pub struct AudioInput<'a> {
    /// Mono samples.
    pub samples: &'a dyn MonoSource,
    /// Their rate.
    pub sample_rate_hz: u32,
    /// `crate::features::features(samples, sample_rate_hz)`, if already computed (it is
    /// computed here when an audio column needs it and this is `None`).
    pub features: Option<&'a Features>,
}

/// The seed's `rms_db` on `grid`, `frames` values, reading one frame's samples at a time.
pub fn rms_db(samples: &dyn MonoSource, sample_rate_hz: u32, grid: &Grid, frames: usize) -> io::Result<Vec<f32>> {
    let n = samples.len() as u64;
    let mut block = Vec::new();
    (0..frames)
        .map(|k| {
            let start = grid.frame_start(k, sample_rate_hz);
            let end = grid.frame_start(k + 1, sample_rate_hz).max(start + 1);
            let (lo, hi) = (start.min(n) as usize, end.min(n) as usize);
            block.resize(hi - lo, 0.0);
            samples.read(lo, &mut block)?;
            let mean = sum_of_squares(&block) / (end - start) as f64;
            Ok((20.0 * ((mean + 1e-12).sqrt() + 1e-12).log10()) as f32)
        })
        .collect()
}

/// Σx² in float64, in eight interleaved partial sums combined in a fixed order (so the
/// compiler can vectorise it; the bits depend only on the input).
fn sum_of_squares(x: &[f32]) -> f64 {
    let mut lanes = [0.0f64; 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (lane, &v) in lanes.iter_mut().zip(c) {
            *lane += f64::from(v) * f64::from(v);
        }
    }
    for (lane, &v) in lanes.iter_mut().zip(rest) {
        *lane += f64::from(v) * f64::from(v);
    }
    ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]))
}

/// `values` (one per feature frame, frame `t` at `t · hop / sr` s) at each grid frame's centre,
/// by linear interpolation, held at the ends.
pub fn resample_feature(values: &[f32], sample_rate_hz: u32, grid: &Grid, frames: usize) -> Vec<f32> {
    let Some(&last) = values.last() else { return vec![0.0; frames] };
    let per_s = f64::from(sample_rate_hz) / HOP_LEN as f64;
    (0..frames)
        .map(|k| {
            let x = grid.frame_centre_s(k) * per_s;
            if x <= 0.0 {
                return values[0];
            }
            let i = x.floor() as usize;
            if i + 1 >= values.len() {
                return last;
            }
            let frac = x - i as f64;
            (f64::from(values[i]) * (1.0 - frac) + f64::from(values[i + 1]) * frac) as f32
        })
        .collect()
}

/// The requested audio columns of one source, `frames` values each. The features, when a
/// column needs them and none were given, are computed in parallel tasks that each read the
/// samples their frames need (the bits of [`crate::features::features`] on the whole signal).
pub fn audio_columns(
    columns: &[AudioColumn],
    audio: &AudioInput<'_>,
    grid: &Grid,
    frames: usize,
) -> io::Result<Vec<Column>> {
    let computed;
    let features = if columns.iter().any(|c| c.needs_features()) {
        match audio.features {
            Some(f) => Some(f),
            None => {
                let source = audio.samples;
                computed = features_of_reader(
                    source.len(),
                    audio.sample_rate_hz,
                    || (),
                    |(), start, out| source.read(start, out),
                )?;
                Some(&computed)
            }
        }
    } else {
        None
    };
    columns
        .iter()
        .map(|&c| {
            let sr = audio.sample_rate_hz;
            let values = match (c, features) {
                (AudioColumn::RmsDb, _) => rms_db(audio.samples, sr, grid, frames)?,
                (AudioColumn::Rms, Some(f)) => resample_feature(&f.rms, f.sample_rate_hz, grid, frames),
                (AudioColumn::Centroid, Some(f)) => resample_feature(&f.centroid_hz, f.sample_rate_hz, grid, frames),
                (AudioColumn::Flatness, Some(f)) => resample_feature(&f.flatness, f.sample_rate_hz, grid, frames),
                (AudioColumn::Onset, Some(f)) => resample_feature(&f.onset, f.sample_rate_hz, grid, frames),
                (AudioColumn::Mfcc(k), Some(f)) => {
                    resample_feature(f.mfcc_row(usize::from(k)).unwrap_or(&[]), f.sample_rate_hz, grid, frames)
                }
                (_, None) => unreachable!("features are computed whenever a column needs them"),
            };
            Ok(Column::new(c.name(), values))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rms(x: &[f32], sr: u32, grid: &Grid, frames: usize) -> Vec<f32> {
        rms_db(&x.to_vec(), sr, grid, frames).expect("in memory")
    }

    fn columns(columns: &[AudioColumn], audio: &AudioInput<'_>, grid: &Grid, frames: usize) -> Vec<Column> {
        audio_columns(columns, audio, grid, frames).expect("in memory")
    }

    fn seed_rms(x: &[f32], hop: usize, frames: usize) -> Vec<f32> {
        // The seed's definition written out: pad/trim to frames·hop, blocks, float64.
        let mut padded = x.to_vec();
        padded.resize(frames * hop, 0.0);
        padded
            .chunks(hop)
            .map(|b| {
                let m = b.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / hop as f64;
                (20.0 * ((m + 1e-12).sqrt() + 1e-12).log10()) as f32
            })
            .collect()
    }

    #[test]
    fn rms_db_is_the_seeds_formula_on_whole_hops() {
        let sr = 24_000;
        let x: Vec<f32> =
            (0..sr + 100).map(|n| (0.5 * (n as f64 * std::f64::consts::PI / 40.0).sin()) as f32).collect();
        let g = Grid::Fps { fps: 75.0 };
        let t = g.frame_count(x.len() as u64, sr);
        assert_eq!(t, 76);
        assert_eq!(rms(&x, sr, &g, t), seed_rms(&x, 320, t));
        // A 0.5-amplitude sine reads about −9.03 dB; silence reads 20·log10(1e-6 + 1e-12).
        let mid = rms(&x, sr, &g, t)[10];
        assert!((mid + 9.03).abs() < 0.05, "{mid}");
        let silent = rms(&[0.0; 640], 48_000, &g, 1)[0];
        assert!((f64::from(silent) - 20.0 * (1e-6f64 + 1e-12).log10()).abs() < 1e-4, "{silent}");
    }

    #[test]
    fn rms_db_matches_numpy_bits() {
        // The seed's numpy code on x[n] = ((7919·n mod 1000) − 500)/1000 (float32), hop 320:
        // float64 blocks, zero-padded, rounded to float32.
        let x: Vec<f32> = (0..1000u64).map(|n| ((((n * 7919) % 1000) as f64 - 500.0) / 1000.0) as f32).collect();
        let g = Grid::Hop { hop: 320, sample_rate_hz: 24_000 };
        let bits: Vec<u32> = rms(&x, 24_000, &g, 4).iter().map(|v| v.to_bits()).collect();
        assert_eq!(bits, [3240945845, 3240935643, 3240927511, 3248322097]);
    }

    #[test]
    fn rms_db_zero_pads_the_last_frame() {
        // 1.5 frames of ones at 640 samples a frame: the second frame is half full.
        let x = vec![1.0f32; 960];
        let v = rms(&x, 48_000, &Grid::Fps { fps: 75.0 }, 2);
        assert!(v[0].abs() < 1e-5);
        assert!((f64::from(v[1]) - 20.0 * (0.5f64.sqrt()).log10()).abs() < 1e-4);
    }

    #[test]
    fn features_are_interpolated_at_frame_centres() {
        // Feature frames every 512/48000 s; a ramp stays a ramp.
        let ramp: Vec<f32> = (0..100).map(|i| i as f32).collect();
        let g = Grid::Fps { fps: 75.0 };
        let v = resample_feature(&ramp, 48_000, &g, 5);
        for (k, &y) in v.iter().enumerate() {
            let want = (k as f64 + 0.5) / 75.0 * 48_000.0 / 512.0;
            assert!((f64::from(y) - want).abs() < 1e-4, "{k}: {y} vs {want}");
        }
        // Held at the end.
        let v = resample_feature(&[1.0, 2.0], 48_000, &g, 4);
        assert_eq!(v[3], 2.0);
        assert_eq!(resample_feature(&[], 48_000, &g, 2), vec![0.0, 0.0]);
    }

    #[test]
    fn audio_columns_use_the_shared_features() {
        let sr = 48_000;
        let x: Vec<f32> =
            (0..sr).map(|n| (0.5 * (2.0 * std::f64::consts::PI * 1000.0 * n as f64 / 48_000.0).sin()) as f32).collect();
        let f = crate::features::features(&x, sr);
        let g = Grid::Fps { fps: 75.0 };
        let input = AudioInput { samples: &x, sample_rate_hz: sr, features: Some(&f) };
        let cols = columns(&[AudioColumn::Centroid, AudioColumn::Mfcc(0), AudioColumn::RmsDb], &input, &g, 75);
        assert_eq!(cols.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["centroid", "mfcc0", "rms_db"]);
        assert!(cols.iter().all(|c| c.values.len() == 75));
        assert!((cols[0].values[37] - 1000.0).abs() < 5.0, "{}", cols[0].values[37]);
        // Computing the features here gives the same bits.
        let fresh = AudioInput { features: None, ..input };
        assert_eq!(columns(&[AudioColumn::Centroid], &fresh, &g, 75)[0], cols[0]);
    }

    /// A signal read only by position, keeping its largest read, or failing every read.
    struct Watched {
        samples: Vec<f32>,
        largest: std::sync::atomic::AtomicUsize,
        broken: bool,
    }

    impl MonoSource for Watched {
        fn len(&self) -> usize {
            self.samples.len()
        }

        fn read(&self, start: usize, out: &mut [f32]) -> io::Result<()> {
            if self.broken {
                return Err(io::Error::other("the disk went away"));
            }
            self.largest.fetch_max(out.len(), std::sync::atomic::Ordering::Relaxed);
            self.samples.read(start, out)
        }
    }

    /// A long signal's columns come from reads of a frame or a feature task at a time, with
    /// the bits of the signal in memory; a read that fails is an error, not a column.
    #[test]
    fn a_long_signal_is_read_by_position_with_the_same_bits() {
        let sr = 48_000;
        let mut rng = crate::dsp::rng::Rng::new(3);
        let x: Vec<f32> = (0..40 * sr as usize)
            .map(|n| (0.3 * (n as f64 * 0.05).sin() * (n as f64 / 90_000.0).cos() + 0.01 * rng.normal()) as f32)
            .collect();
        let g = Grid::Fps { fps: 30.0 };
        let t = g.frame_count(x.len() as u64, sr);
        let wanted = [AudioColumn::RmsDb, AudioColumn::Centroid, AudioColumn::Onset, AudioColumn::Mfcc(3)];
        let in_memory = columns(&wanted, &AudioInput { samples: &x, sample_rate_hz: sr, features: None }, &g, t);
        let watched = Watched { samples: x.clone(), largest: 0.into(), broken: false };
        let read = columns(&wanted, &AudioInput { samples: &watched, sample_rate_hz: sr, features: None }, &g, t);
        assert_eq!(read, in_memory);
        let largest = watched.largest.load(std::sync::atomic::Ordering::Relaxed);
        assert!(largest > 0 && largest * 10 < x.len(), "{largest} of {}", x.len());

        let broken = Watched { broken: true, ..watched };
        for column in [AudioColumn::RmsDb, AudioColumn::Centroid] {
            let input = AudioInput { samples: &broken, sample_rate_hz: sr, features: None };
            let e = audio_columns(&[column], &input, &g, t).expect_err("a failed read");
            assert!(e.to_string().contains("disk went away"), "{e}");
        }
    }
}
