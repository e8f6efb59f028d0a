//! ONNX latent → image decoders, run through `ort` on tract (pure Rust, the default) or ONNX Runtime.
//!
//! A decoder model maps `latent` float32 `[B, 8, 16, 16]` to `image` float32 `[B, 3, H, W]` in
//! [−1, 1] (`models/README.md`). [`Decoder::load`] checks that interface and reports what a model
//! gets wrong; [`Decoder::decode`] runs any number of latents in batches.
//!
//! Backends: one per process (see `runtime.rs`); the first decoder loaded chooses it.
//! Determinism: with tract, the same model and latents give the same bits on every call and
//! for every batch size (tract runs one latent per model run; the tests check this). ONNX
//! Runtime results may differ from tract's in the last bits, so callers key cached frames on
//! [`DecoderInfo::provider`].
//!
//! Speed: tract gets a rewritten copy of the graph (batch fixed to 1, `Sin` as a vectorisable
//! polynomial; `tract_graph.rs`), ONNX Runtime the model as it is.

mod error;
mod interface;
mod runtime;
#[cfg(test)]
mod tests;
mod tract_graph;

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use ort::ep::ExecutionProviderDispatch;
use ort::session::Session;
use ort::session::builder::{GraphOptimizationLevel, SessionBuilder};
use ort::value::{TensorElementType, TensorRef, ValueType};

pub use error::DecoderError;
pub use interface::{INPUT_NAME, LATENT_LEN, LATENT_SHAPE, OUTPUT_NAME};
pub use runtime::ORT_MIN_MINOR;

use interface::Port;
use runtime::{Active, Request};

/// Which ONNX backend runs the model.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Backend {
    /// tract, compiled in; needs nothing installed. CPU only.
    #[default]
    Tract,
    /// ONNX Runtime loaded at run time from `library`, or from `ORT_DYLIB_PATH` when `None`.
    OnnxRuntime {
        /// Path to `libonnxruntime.so.*` (1.24 or newer).
        library: Option<PathBuf>,
    },
}

/// How to load a decoder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecoderOptions {
    /// The backend (one per process).
    pub backend: Backend,
    /// Register the CUDA execution provider (ONNX Runtime only); falls back to CPU with a warning.
    pub cuda: bool,
    /// Latents per model run, at least 1 (ignored for models with a fixed batch dimension, and
    /// by tract, which runs one latent at a time: see `tract_graph.rs`).
    pub batch_size: usize,
}

impl Default for DecoderOptions {
    fn default() -> Self {
        Self { backend: Backend::Tract, cuda: false, batch_size: 8 }
    }
}

/// What a loaded decoder is and runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecoderInfo {
    /// "tract-cpu", "onnxruntime-cpu" or "onnxruntime-cuda".
    pub provider: String,
    /// From the model's input type: "fp32".
    pub precision: String,
    /// The model's fixed batch dimension, if it has one.
    pub fixed_batch: Option<usize>,
    /// Output width in pixels.
    pub width: usize,
    /// Output height in pixels.
    pub height: usize,
}

/// A loaded, checked decoder model. `Send + Sync`: runs are serialised by an internal lock
/// (load one decoder per worker to decode in parallel).
pub struct Decoder {
    session: Mutex<Session>,
    info: DecoderInfo,
    /// The batch the session's graph is fixed to (the model's own, or 1 for tract's copy of a
    /// dynamic-batch model): runs hold exactly that many latents.
    session_batch: Option<usize>,
    /// Latents per run: the session's batch, else `DecoderOptions::batch_size`.
    run_batch: usize,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder").field("info", &self.info).field("run_batch", &self.run_batch).finish()
    }
}

impl Decoder {
    /// Load and check the interface: input `latent` `[B, 8, 16, 16]` f32, output `image` `[B, 3, H, W]`.
    ///
    /// Returns the decoder and warnings (CUDA unavailable, backend log messages) for the caller
    /// to show.
    pub fn load(model: &[u8], opts: &DecoderOptions) -> Result<(Decoder, Vec<String>), DecoderError> {
        if opts.batch_size == 0 {
            return Err(DecoderError::InvalidBatchSize(0));
        }
        if model.is_empty() {
            return Err(DecoderError::EmptyModel);
        }
        if let Some(pointer) = lfs_pointer(model) {
            return Err(pointer);
        }
        let request = match &opts.backend {
            Backend::Tract => Request::Tract,
            Backend::OnnxRuntime { library } => {
                Request::OnnxRuntime { library: runtime::resolve_library(library.as_deref())? }
            }
        };
        let (environment, active) = runtime::environment(&request)?;
        let mut warnings = Vec::new();
        let is_ort = matches!(active, Active::OnnxRuntime { .. });
        // The interface as the model declares it (the same messages for both backends); then,
        // for tract, the graph rewrites of `tract_graph.rs`.
        let parsed = tract_graph::ParsedModel::parse(model);
        let declared = match &parsed {
            Some(p) => {
                let (inputs, outputs) = p.ports();
                Some(interface::check(&inputs, &outputs)?)
            }
            None => None,
        };
        let (tract_bytes, rewrites) = match parsed {
            Some(p) if !is_ort => {
                let (bytes, rewrites) = p.for_tract();
                (Some(bytes), rewrites)
            }
            _ => (None, tract_graph::Rewrites::default()),
        };
        let model: &[u8] = tract_bytes.as_deref().unwrap_or(model);
        if opts.cuda && !is_ort {
            warnings.push("CUDA was asked for, but the tract backend runs on the CPU only; decoding on the CPU".into());
        }

        let builder = || -> Result<SessionBuilder, DecoderError> {
            let backend_error =
                |e: ort::Error| DecoderError::Backend { backend: active.describe(), reason: e.to_string() };
            let builder = Session::builder(&environment).map_err(backend_error)?;
            let builder =
                builder.with_optimization_level(GraphOptimizationLevel::Level3).map_err(|e| backend_error(e.into()))?;
            if is_ort {
                builder.with_deterministic_compute(true).map_err(|e| backend_error(e.into()))
            } else {
                Ok(builder)
            }
        };
        let not_onnx = |e: ort::Error| DecoderError::NotOnnx { reason: e.to_string() };

        let (session, provider) = if opts.cuda && is_ort {
            let cuda: ExecutionProviderDispatch = ort::ep::CUDA::default().build().error_on_failure();
            let with_cuda = builder()?.with_execution_providers([cuda]);
            match with_cuda {
                Ok(mut b) => (b.commit_from_memory(model).map_err(not_onnx)?, "onnxruntime-cuda"),
                Err(e) => {
                    warnings.push(format!("CUDA execution provider unavailable ({e}); decoding on the CPU"));
                    (builder()?.commit_from_memory(model).map_err(not_onnx)?, "onnxruntime-cpu")
                }
            }
        } else {
            let provider = if is_ort { "onnxruntime-cpu" } else { "tract-cpu" };
            (builder()?.commit_from_memory(model).map_err(not_onnx)?, provider)
        };

        let inputs: Vec<Port> = session.inputs().iter().map(|o| port(o.name(), o.dtype())).collect();
        let outputs: Vec<Port> = session.outputs().iter().map(|o| port(o.name(), o.dtype())).collect();
        let checked = interface::check(&inputs, &outputs)?;
        // The session's batch: the model's own fixed batch, or 1 where tract's copy was fixed.
        let session_batch = checked.fixed_batch;
        let run_batch = session_batch.unwrap_or(opts.batch_size);
        let mut decoder = Decoder {
            session: Mutex::new(session),
            info: DecoderInfo {
                provider: provider.to_string(),
                precision: checked.precision,
                fixed_batch: if rewrites.fixed_batch {
                    declared.and_then(|d| d.fixed_batch)
                } else {
                    checked.fixed_batch
                },
                width: checked.width.unwrap_or(0),
                height: checked.height.unwrap_or(0),
            },
            session_batch,
            run_batch,
        };
        if checked.width.is_none() || checked.height.is_none() {
            // The model leaves the image size dynamic: learn it from one run on a zero latent.
            let (height, width) = decoder.run(&vec![0.0; LATENT_LEN * run_batch], run_batch, None, |_| ())?;
            decoder.info.height = height;
            decoder.info.width = width;
        }
        warnings.extend(runtime::drain_log());
        Ok((decoder, warnings))
    }

    /// What this decoder is and runs on.
    pub fn info(&self) -> &DecoderInfo {
        &self.info
    }

    /// `latents` holds `count`×8×16×16 values; returns `count`×3×H×W raw outputs (tanh range), batched by
    /// batch_size (a model with a fixed batch dim of 1 is run one latent at a time; other fixed sizes: pad
    /// the last batch and drop the padding).
    pub fn decode(&self, latents: &[f32], count: usize) -> Result<Vec<f32>, DecoderError> {
        let expected = count.saturating_mul(LATENT_LEN);
        if latents.len() != expected {
            return Err(DecoderError::LatentLength { count, expected, found: latents.len() });
        }
        if let Some((index, value)) = latents.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(DecoderError::NonFiniteLatent { index, value: *value });
        }
        let image_len = 3 * self.info.height * self.info.width;
        let mut out = Vec::with_capacity(count * image_len);
        let mut padded = Vec::new();
        for chunk in latents.chunks(self.run_batch * LATENT_LEN) {
            let n = chunk.len() / LATENT_LEN;
            let expect = Some((self.info.height, self.info.width));
            if self.session_batch.is_some() {
                // A fixed batch dimension: pad the last run with zero latents, drop their images.
                padded.clear();
                padded.extend_from_slice(chunk);
                padded.resize(self.run_batch * LATENT_LEN, 0.0);
                self.run(&padded, self.run_batch, expect, |values| out.extend_from_slice(&values[..n * image_len]))?;
            } else {
                self.run(chunk, n, expect, |values| out.extend_from_slice(values))?;
            }
        }
        Ok(out)
    }

    /// One model run on `n` latents; checks the output shape against `expect` (height, width)
    /// and hands the output values to `take`.
    fn run(
        &self,
        latents: &[f32],
        n: usize,
        expect: Option<(usize, usize)>,
        take: impl FnOnce(&[f32]),
    ) -> Result<(usize, usize), DecoderError> {
        let run_error = |reason: String| DecoderError::Run { reason };
        let shape = [n, LATENT_SHAPE[0], LATENT_SHAPE[1], LATENT_SHAPE[2]];
        let input = TensorRef::from_array_view((shape, latents)).map_err(|e| run_error(e.to_string()))?;
        let mut session = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        let outputs = session.run(ort::inputs![INPUT_NAME => input]).map_err(|e| run_error(e.to_string()))?;
        let value = outputs
            .get(OUTPUT_NAME)
            .ok_or_else(|| run_error(format!("the model returned no `{OUTPUT_NAME}` output")))?;
        let (out_shape, values) = value.try_extract_tensor::<f32>().map_err(|e| run_error(e.to_string()))?;
        let dims: Vec<usize> = out_shape.iter().map(|&d| usize::try_from(d).unwrap_or(0)).collect();
        let (height, width) = match dims.as_slice() {
            [b, 3, h, w] if *b == n && *h > 0 && *w > 0 => (*h, *w),
            _ => {
                return Err(run_error(format!(
                    "the model returned `{OUTPUT_NAME}` of shape {dims:?} for {n} latents; expected [{n}, 3, height, width]"
                )));
            }
        };
        if let Some(want) = expect
            && want != (height, width)
        {
            return Err(run_error(format!(
                "the model returned {height}×{width} images after {}×{} ones; the image size must not change",
                want.0, want.1
            )));
        }
        take(values);
        Ok((height, width))
    }
}

/// The first line of every Git LFS pointer file (<https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md>).
const LFS_POINTER_PREFIX: &[u8] = b"version https://git-lfs.github.com/spec/v1";

/// [`DecoderError::LfsPointer`] when `model` is a Git LFS pointer file rather than a model.
fn lfs_pointer(model: &[u8]) -> Option<DecoderError> {
    if !model.starts_with(LFS_POINTER_PREFIX) {
        return None;
    }
    let text = String::from_utf8_lossy(&model[..model.len().min(1024)]);
    let oid = text.lines().find_map(|l| l.strip_prefix("oid ")).map(|o| o.trim().to_string());
    Some(DecoderError::LfsPointer { oid, size: model.len() })
}

/// A backend-reported input or output as the interface check sees it.
fn port(name: &str, dtype: &ValueType) -> Port {
    match dtype {
        ValueType::Tensor { ty, shape, .. } => Port {
            name: name.to_string(),
            element: element_name(*ty),
            dims: shape.iter().map(|&d| usize::try_from(d).ok()).collect(),
        },
        _ => Port { name: name.to_string(), element: "not a tensor".to_string(), dims: Vec::new() },
    }
}

fn element_name(ty: TensorElementType) -> String {
    match ty {
        TensorElementType::Float32 => "float32".to_string(),
        TensorElementType::Float16 => "float16".to_string(),
        TensorElementType::Float64 => "float64".to_string(),
        TensorElementType::Bfloat16 => "bfloat16".to_string(),
        other => other.to_string(),
    }
}
