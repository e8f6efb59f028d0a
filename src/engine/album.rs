//! Album queries: each track's audio analysed into `features.npz` (decoded, resampled and
//! analysed in one streaming pass) and drawn into `features.png`.

use std::path::Path;

use serde_json::{Value, json};

use super::query::BuildError;
use crate::features::N_MFCC;
use crate::media::analyze::features_of_file;
use crate::media::npz::{self, NpyView, NpzCompression};
use crate::media::plot::{PlotData, features_png};
use crate::store::Digest;

/// Bump when what `features` computes or reads changes.
pub const FEATURES_VERSION: u32 = 2;
/// Bump when what `features_plot` draws changes.
pub const PLOT_VERSION: u32 = 1;

pub fn features_params(sample_rate_hz: u32) -> Value {
    json!({ "sample_rate_hz": sample_rate_hz, "n_fft": crate::features::N_FFT, "hop_len": crate::features::HOP_LEN,
            "n_mels": crate::features::N_MELS, "n_mfcc": N_MFCC })
}

/// Analyse the audio at `path` (a project file or a store blob) whose content is `digest`.
/// Returns the `features.npz` bytes and the decoder's warnings (e.g. truncated audio).
pub fn compute_features(
    id: &str,
    path: &Path,
    name: &str,
    digest: Digest,
    sample_rate_hz: u32,
) -> Result<(Vec<u8>, Vec<String>), BuildError> {
    let analysed = features_of_file(path, sample_rate_hz)
        .map_err(|e| BuildError::failed(id, e.to_string().replace(&path.display().to_string(), name)))?;
    let f = &analysed.features;
    let frames = f.frame_count();
    // Only what the key holds may reach the bytes: the source by content, never by path or name
    // (the same audio under two names is one action).
    let display = path.display().to_string();
    let warnings: Vec<String> = analysed.decode.warnings.iter().map(|w| w.replace(&display, "<source>")).collect();
    let metadata = json!({
        "source_blake3": digest.hex(),
        "sample_rate": sample_rate_hz,
        "source_sample_rate": analysed.decode.sample_rate_hz,
        "source_channels": analysed.decode.channels,
        "source_codec": analysed.decode.codec,
        "samples": analysed.samples_analysed,
        "frames": frames,
        "n_fft": crate::features::N_FFT,
        "hop_length": crate::features::HOP_LEN,
        "layout": {"times": [frames], "rms": [frames], "centroid": [frames], "flatness": [frames],
                   "mfcc": [N_MFCC, frames], "onset": [frames]},
        "values": "raw librosa 0.11 values (rms and onset not normalised)",
        "warnings": warnings,
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
    Ok((bytes, analysed.decode.warnings.iter().map(|w| w.replace(&display, name)).collect()))
}

/// Draw `features.png` from the bytes of a `features.npz`.
pub fn compute_plot(id: &str, npz_bytes: &[u8]) -> Result<Vec<u8>, BuildError> {
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
