//! Audio analysis of an album track: `features.npz` (from the track's shared decode, which the
//! video's audio track reuses) and its plot `features.png`.

use serde::Serialize;
use serde_json::{Value, json};

use crate::engine::action::{Action, Cx};
use crate::engine::error::BuildError;
use crate::engine::query::AudioPcm;
use crate::features::prepare::AudioPrep;
use crate::features::{FeatureAccumulator, N_MFCC};
use crate::media::analyze::features_of_positional;
use crate::media::npz::{self, NpyView, NpzCompression};
use crate::media::plot::{PlotData, features_png};
use crate::media::spool::Plane;
use crate::project::album::AudioRef;

/// Decode + resample + analyse one audio input into `features.npz`.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    pub audio: AudioRef,
    pub sample_rate_hz: u32,
    /// The track's `trim` and the album's `normalization`, applied before analysis.
    pub prep: AudioPrep,
}

#[derive(Serialize)]
struct FeaturesKey {
    sample_rate_hz: u32,
    n_fft: usize,
    hop_len: usize,
    n_mels: usize,
    n_mfcc: usize,
    prep: AudioPrep,
}

impl Action for Features {
    const QUERY: &'static str = "features";
    const VERSION: u32 = 7;

    fn key(&self) -> impl Serialize + '_ {
        FeaturesKey {
            sample_rate_hz: self.sample_rate_hz,
            n_fft: crate::features::N_FFT,
            hop_len: crate::features::HOP_LEN,
            n_mels: crate::features::N_MELS,
            n_mfcc: N_MFCC,
            prep: self.prep,
        }
    }

    fn compute(&self, cx: &Cx<'_>) -> Result<Vec<u8>, BuildError> {
        // With `-j 1` the decode and the analysis stay on this one thread, one after the other.
        let (audio, analysed) = if self.prep.is_identity() && rayon::current_num_threads() > 1 {
            analysed_while_decoded(cx, &self.audio, self.sample_rate_hz)?
        } else {
            (cx.pcm(&self.audio, self.sample_rate_hz)?, None)
        };
        let (bytes, warnings) = features_npz(cx.id, &audio, self.sample_rate_hz, &self.prep, analysed)?;
        warnings.into_iter().for_each(|w| cx.warn(w));
        Ok(bytes)
    }

    /// The analysis is of the mixdown alone (as librosa's is).
    fn reads_channels(&self) -> bool {
        false
    }
}

/// `features.png` drawn from the track's `features.npz` (its one dependency).
#[derive(Debug, Clone, PartialEq)]
pub struct FeaturesPlot;

/// No parameters: the plot is a function of the features alone.
#[derive(Serialize)]
struct PlotKey {}

impl Action for FeaturesPlot {
    const QUERY: &'static str = "features_plot";
    const VERSION: u32 = 1;

    fn key(&self) -> impl Serialize + '_ {
        PlotKey {}
    }

    fn compute(&self, cx: &Cx<'_>) -> Result<Vec<u8>, BuildError> {
        plot_png(cx.id, &cx.dep_bytes(0)?)
    }
}

/// Mixdown samples per piece handed to the analysing thread.
const PIECE_SAMPLES: usize = 1 << 16;
/// Pieces on their way to the analysing thread before the decode waits for it.
const PIECES_IN_FLIGHT: usize = 8;

/// The track's shared decode at `rate_hz`, and the features of its whole mixdown when this call
/// made that decode: the mixdown is then analysed as it is made, by a thread of its own
/// (streaming [`FeatureAccumulator`], the same bits as reading the finished plane), so the
/// decoding, the resampling and the analysis share the cores instead of following each other.
/// When nothing else in the render reads the track's audio, the decode keeps no mixdown (the
/// analysis had it all). `None` when another consumer made the decode, or nothing had to be
/// made (an integer WAV at the rate is read by position): the caller reads the plane.
///
/// The analysis runs on a thread pool of its own, as large as the build's (`-j`, more than one):
/// this thread, one of the build's, is busy decoding, and the others may be waiting for this
/// very decode.
fn analysed_while_decoded(
    cx: &Cx<'_>,
    audio: &AudioRef,
    rate_hz: u32,
) -> Result<(AudioPcm, Option<crate::features::Features>), BuildError> {
    let threads = rayon::current_num_threads();
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<f32>>(PIECES_IN_FLIGHT);
        let analyst = scope.spawn(move || {
            // Nothing to make, nothing sent: no pool is built.
            let first = rx.recv().ok()?;
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().ok()?;
            let mut accumulator = FeatureAccumulator::new(rate_hz);
            let mut seen = 0;
            for piece in std::iter::once(first).chain(rx.iter()) {
                seen += piece.len();
                pool.install(|| accumulator.push(&piece));
            }
            Some((accumulator, seen))
        });
        let mut pending = Vec::with_capacity(PIECE_SAMPLES);
        let mut open = true;
        let mut send = |piece: Vec<f32>| open = open && tx.send(piece).is_ok();
        let mut tap = |samples: &[f32]| {
            pending.extend_from_slice(samples);
            if pending.len() >= PIECE_SAMPLES {
                send(std::mem::replace(&mut pending, Vec::with_capacity(PIECE_SAMPLES)));
            }
        };
        let pcm = cx.pcm_tapped(audio, rate_hz, &mut tap);
        if !pending.is_empty() {
            send(pending);
        }
        drop(tx);
        let analysed = analyst.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let pcm = pcm?;
        let whole = pcm.mono_plane().len();
        match analysed.filter(|&(_, seen)| seen == whole) {
            Some((accumulator, _)) => Ok((pcm, Some(accumulator.finish()))),
            // The decode kept no mixdown and the analysis did not see it whole: read a kept one.
            None if matches!(pcm.mono_plane(), Plane::Passed { .. }) => Ok((cx.pcm(audio, rate_hz)?, None)),
            None => Ok((pcm, None)),
        }
    })
}

/// Analyse a track's shared decode (the mixdown at `sample_rate_hz`, bit for bit what the
/// streaming `media::analyze::features_of_file` reads), trimmed and normalised as `prep` says,
/// in parallel tasks that each read the samples their frames need (a long source is never
/// loaded whole) — unless `analysed` holds the features of the whole mixdown already (identity
/// `prep`, analysed while decoded). Returns the `features.npz` bytes and the decoder's warnings
/// (e.g. truncated audio).
fn features_npz(
    id: &str,
    audio: &AudioPcm,
    sample_rate_hz: u32,
    prep: &AudioPrep,
    analysed: Option<crate::features::Features>,
) -> Result<(Vec<u8>, Vec<String>), BuildError> {
    let plane = audio.mono_plane();
    let (ref f, samples) = match analysed {
        Some(f) if prep.is_identity() => (f, plane.len()),
        _ => features_of_positional(plane.len(), sample_rate_hz, prep, || (), |_, start, out| plane.read(start, out))
            .map_err(|e| audio.read_error(id, e))?,
    };
    let source = &audio.pcm.source;
    let frames = f.frame_count();
    // Only what the key holds may reach the bytes: the source by content, never by path or name
    // (the same audio under two names is one action).
    let metadata = json!({
        "source_blake3": audio.digest.hex(),
        "sample_rate": sample_rate_hz,
        "source_sample_rate": source.sample_rate_hz,
        "source_channels": source.channels,
        "source_codec": source.codec,
        "samples": samples,
        "frames": frames,
        "n_fft": crate::features::N_FFT,
        "hop_length": crate::features::HOP_LEN,
        "layout": {"times": [frames], "rms": [frames], "centroid": [frames], "flatness": [frames],
                   "mfcc": [N_MFCC, frames], "onset": [frames]},
        "values": "raw librosa 0.11 values (rms and onset not normalised)",
        "warnings": audio.warnings("<source>"),
    })
    .to_string();
    let one = [frames];
    let two = [N_MFCC, frames];
    let entries = [
        ("times", NpyView::F32 { shape: &one, data: &f.times_s }),
        ("rms", NpyView::F32 { shape: &one, data: &f.rms }),
        ("centroid", NpyView::F32 { shape: &one, data: &f.centroid_hz }),
        ("flatness", NpyView::F32 { shape: &one, data: &f.flatness }),
        ("mfcc", NpyView::F32 { shape: &two, data: &f.mfcc }),
        ("onset", NpyView::F32 { shape: &one, data: &f.onset }),
        ("metadata", NpyView::Str(&metadata)),
    ];
    let bytes = npz::write_npz(&entries, NpzCompression::Stored).map_err(|e| BuildError::failed(id, e.to_string()))?;
    Ok((bytes, audio.warnings(&audio.name)))
}

/// Draw `features.png` from the bytes of a `features.npz`.
fn plot_png(id: &str, npz_bytes: &[u8]) -> Result<Vec<u8>, BuildError> {
    let arrays = npz::read_npz(npz_bytes, "features.npz").map_err(|e| BuildError::failed(id, e.to_string()))?;
    let get = |key: &str| -> Result<Vec<f32>, BuildError> {
        arrays
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, a)| a.to_f32_vec())
            .ok_or_else(|| BuildError::failed(id, format!("features.npz has no float array `{key}`")))
    };
    let (rms, centroid, onset, mfcc) = (get("rms")?, get("centroid")?, get("onset")?, get("mfcc")?);
    let sample_rate_hz = arrays
        .iter()
        .find(|(k, _)| k == "metadata")
        .and_then(|(_, a)| a.as_str())
        .and_then(|m| serde_json::from_str::<Value>(m).ok())
        .and_then(|m| m["sample_rate"].as_u64())
        .unwrap_or(48_000) as u32;
    let data =
        PlotData { rms: &rms, centroid_hz: &centroid, onset: &onset, mfcc: &mfcc, n_mfcc: N_MFCC, sample_rate_hz };
    features_png(&data).map_err(|e| BuildError::failed(id, format!("drawing features.png: {e}")))
}
