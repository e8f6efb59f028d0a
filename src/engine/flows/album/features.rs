//! Audio analysis of an album track: `features.npz` (from the track's shared decode, which the
//! video's audio track reuses) and its plot `features.png`.

use serde::Serialize;
use serde_json::{Value, json};

use crate::engine::action::{Action, Cx};
use crate::engine::error::BuildError;
use crate::engine::query::AudioPcm;
use crate::features::N_MFCC;
use crate::features::prepare::AudioPrep;
use crate::media::analyze::features_of_positional;
use crate::media::npz::{self, NpyView, NpzCompression};
use crate::media::plot::{PlotData, features_png};
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
    const VERSION: u32 = 6;

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
        let audio = cx.pcm(&self.audio, self.sample_rate_hz)?;
        let (bytes, warnings) = features_npz(cx.id, &audio, self.sample_rate_hz, &self.prep)?;
        warnings.into_iter().for_each(|w| cx.warn(w));
        Ok(bytes)
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

/// Analyse a track's shared decode (the mixdown at `sample_rate_hz`, bit for bit what the
/// streaming `media::analyze::features_of_file` reads), trimmed and normalised as `prep` says,
/// in parallel tasks that each read the samples their frames need (a long source is never
/// loaded whole). Returns the `features.npz` bytes and the decoder's warnings (e.g. truncated
/// audio).
fn features_npz(
    id: &str,
    audio: &AudioPcm,
    sample_rate_hz: u32,
    prep: &AudioPrep,
) -> Result<(Vec<u8>, Vec<String>), BuildError> {
    let plane = audio.mono_plane();
    let (ref f, samples) =
        features_of_positional(plane.len(), sample_rate_hz, prep, || (), |_, start, out| plane.read(start, out))
            .map_err(|e| audio.read_error(id, e))?;
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
