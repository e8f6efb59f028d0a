//! `DecoderError`: every way loading or running a decoder model can fail, each saying what is allowed.

use std::path::PathBuf;

/// The decoder interface every model must have, quoted in error messages.
pub(crate) const INTERFACE: &str =
    "input `latent` float32 [batch, 8, 16, 16] → output `image` float32 [batch, 3, height, width]";

/// Why a decoder could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum DecoderError {
    /// `DecoderOptions::batch_size` was 0.
    #[error("decoder batch_size is {0}; allowed: 1 or more")]
    InvalidBatchSize(usize),
    /// The model bytes are empty.
    #[error("the decoder model is empty (0 bytes); expected an ONNX model with {INTERFACE}")]
    EmptyModel,
    /// The model file is a Git LFS pointer: the repository was cloned without its LFS objects.
    #[error(
        "the decoder model is a Git LFS pointer ({size} bytes of text{}), not the model itself: \
         fetch the real file with `git lfs install && git lfs pull` in the repository it came from",
        .oid.as_deref().map(|o| format!(" for object {o}")).unwrap_or_default()
    )]
    LfsPointer {
        /// The pointer's `oid` line (`sha256:…`), if it has one.
        oid: Option<String>,
        /// The pointer's own size in bytes.
        size: usize,
    },
    /// The backend could not parse or prepare the model.
    #[error("the decoder model is not a loadable ONNX model: {reason}")]
    NotOnnx {
        /// The backend's message.
        reason: String,
    },
    /// The model's inputs do not match the decoder interface.
    #[error("decoder model input: {problem}; expected exactly one {INTERFACE}")]
    Input {
        /// What is wrong (name, shape or type found).
        problem: String,
    },
    /// The model's outputs do not match the decoder interface.
    #[error("decoder model output: {problem}; expected exactly one {INTERFACE}")]
    Output {
        /// What is wrong (name, shape or type found).
        problem: String,
    },
    /// ONNX Runtime was asked for, but no library path was given and `ORT_DYLIB_PATH` is unset.
    #[error(
        "no ONNX Runtime library configured: give its path or set ORT_DYLIB_PATH (for example \
         onnxruntime/capi/libonnxruntime.so.* from the onnxruntime Python wheel), or use the tract backend"
    )]
    OrtLibraryUnset,
    /// The configured ONNX Runtime library file does not exist.
    #[error("ONNX Runtime library not found at {}; expected an existing libonnxruntime shared library", path.display())]
    OrtLibraryNotFound {
        /// The configured path.
        path: PathBuf,
    },
    /// The library exists but could not be opened or is not ONNX Runtime.
    #[error("cannot load the ONNX Runtime library {}: {reason}", path.display())]
    OrtLibraryLoad {
        /// The configured path.
        path: PathBuf,
        /// What went wrong (the loader's message, or a missing symbol).
        reason: String,
    },
    /// The library is an ONNX Runtime too old for the API this build uses.
    #[error("the ONNX Runtime library {} is version {version}; allowed: 1.{min_minor}.0 or newer", path.display())]
    OrtLibraryVersion {
        /// The configured path.
        path: PathBuf,
        /// The version the library reports.
        version: String,
        /// The lowest supported minor version.
        min_minor: u32,
    },
    /// A different backend (or library) is already active in this process.
    #[error(
        "this process already decodes with {loaded}; it cannot also use {requested} \
         (one ONNX backend per process: run the other one in a separate process)"
    )]
    BackendConflict {
        /// The backend chosen first.
        loaded: String,
        /// The backend asked for now.
        requested: String,
    },
    /// The backend failed to start (environment or session setup).
    #[error("cannot start the {backend} decoder backend: {reason}")]
    Backend {
        /// "tract" or "onnxruntime".
        backend: String,
        /// The backend's message.
        reason: String,
    },
    /// `latents` does not hold `count` latents.
    #[error("latents hold {found} values, expected {expected} ({count} × 8 × 16 × 16)")]
    LatentLength {
        /// Latents asked for.
        count: usize,
        /// `count × 2048`.
        expected: usize,
        /// `latents.len()`.
        found: usize,
    },
    /// A latent value is NaN or infinite.
    #[error("latent value {index} is {value}; allowed: finite numbers")]
    NonFiniteLatent {
        /// Flat index into `latents`.
        index: usize,
        /// The value found.
        value: f32,
    },
    /// Running the model failed, or it returned something other than its declared output.
    #[error("decoding failed: {reason}")]
    Run {
        /// What went wrong.
        reason: String,
    },
}
