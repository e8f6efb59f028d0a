//! File → features in one streaming pass: decode, downmix, resample, analyse.
//!
//! Memory stays bounded by the per-frame feature state (≈ 0.5 KiB per 512 samples) plus
//! small buffers: neither the multichannel nor the mono signal is ever held whole. For files,
//! decoding overlaps analysis on a second thread.

use std::path::Path;
use std::sync::mpsc;

use crate::dsp::resample::{ResampleError, StreamResampler};
use crate::features::{FeatureAccumulator, Features};
use crate::media::decode::{
    DecodeError, DecodeInfo, MonoSink, SinkError, StreamFormat, decode_stream_bytes, decode_stream_path,
};

/// Why a file's features could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    /// Decoding failed.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Resampling failed.
    #[error("{name}: {source}")]
    Resample {
        /// File name.
        name: String,
        /// The resampler's error.
        source: ResampleError,
    },
}

/// Features of a decoded file plus what the decoder reported.
#[derive(Clone, Debug, PartialEq)]
pub struct AnalyzedAudio {
    /// Features at the target rate.
    pub features: Features,
    /// Decoder summary (source rate, channels, frames, warnings).
    pub decode: DecodeInfo,
    /// Mono samples analysed (after resampling).
    pub samples_analysed: u64,
}

/// Decodes `path`, resamples to `target_rate_hz` and computes its features, streaming.
///
/// Decoding runs on its own thread, handing mono chunks over a bounded channel (at most
/// `CHANNEL_CHUNKS × CHUNK_SAMPLES` samples in flight) to this thread, which resamples and
/// analyses them; the result is identical to the single-threaded [`features_of_bytes`].
pub fn features_of_file(path: &Path, target_rate_hz: u32) -> Result<AnalyzedAudio, AnalyzeError> {
    let name = path.display().to_string();
    let mut sink = FeatureSink::new(target_rate_hz);
    let result = std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<Message>(CHANNEL_CHUNKS);
        let decoder = scope.spawn(move || {
            let mut forward = ChannelSink { tx, pending: Vec::with_capacity(CHUNK_SAMPLES) };
            let info = decode_stream_path(path, &mut forward)?;
            forward.flush().map_err(|source| DecodeError::Sink { name: path.display().to_string(), source })?;
            Ok(info)
        });
        for message in rx.iter() {
            let step = match message {
                Message::Start(format) => sink.start(&format),
                Message::Samples(chunk) => sink.push(&chunk),
            };
            if step.is_err() {
                // Dropping the receiver makes the decoder's next send fail, which stops it.
                break;
            }
        }
        drop(rx);
        decoder.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    sink.complete(result, &name)
}

/// Mono samples per message from the decoding thread.
const CHUNK_SAMPLES: usize = 1 << 16;
/// Messages the channel holds before the decoder waits.
const CHANNEL_CHUNKS: usize = 8;

enum Message {
    Start(StreamFormat),
    Samples(Vec<f32>),
}

/// Forwards decoded audio to the analysing thread in `CHUNK_SAMPLES` pieces.
struct ChannelSink {
    tx: mpsc::SyncSender<Message>,
    pending: Vec<f32>,
}

impl ChannelSink {
    fn send(&self, message: Message) -> Result<(), SinkError> {
        self.tx.send(message).map_err(|_| SinkError("feature analysis stopped".to_string()))
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.pending, Vec::with_capacity(CHUNK_SAMPLES));
        self.send(Message::Samples(full))
    }
}

impl MonoSink for ChannelSink {
    fn start(&mut self, format: &StreamFormat) -> Result<(), SinkError> {
        self.send(Message::Start(format.clone()))
    }

    fn push(&mut self, mono: &[f32]) -> Result<(), SinkError> {
        self.pending.extend_from_slice(mono);
        if self.pending.len() >= CHUNK_SAMPLES {
            self.flush()?;
        }
        Ok(())
    }
}

/// [`features_of_file`] for an in-memory file; `name` labels errors and hints the format.
pub fn features_of_bytes(bytes: &[u8], name: &str, target_rate_hz: u32) -> Result<AnalyzedAudio, AnalyzeError> {
    let mut sink = FeatureSink::new(target_rate_hz);
    let result = decode_stream_bytes(bytes, name, &mut sink);
    sink.complete(result, name)
}

struct FeatureSink {
    target_rate_hz: u32,
    resampler: Option<StreamResampler>,
    accumulator: FeatureAccumulator,
    failure: Option<ResampleError>,
}

impl FeatureSink {
    fn new(target_rate_hz: u32) -> Self {
        Self { target_rate_hz, resampler: None, accumulator: FeatureAccumulator::new(target_rate_hz), failure: None }
    }

    fn fail(&mut self, e: ResampleError) -> SinkError {
        let message = e.to_string();
        self.failure = Some(e);
        SinkError(message)
    }

    fn complete(mut self, result: Result<DecodeInfo, DecodeError>, name: &str) -> Result<AnalyzedAudio, AnalyzeError> {
        let decode = match result {
            Ok(info) => info,
            Err(DecodeError::Sink { .. }) if self.failure.is_some() => {
                return Err(self.resample_error(name));
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(resampler) = self.resampler.take() {
            let accumulator = &mut self.accumulator;
            if let Err(e) = resampler.finish(&mut |chunk| accumulator.push(chunk)) {
                self.failure = Some(e);
                return Err(self.resample_error(name));
            }
        }
        let samples_analysed = self.accumulator.samples_seen() as u64;
        Ok(AnalyzedAudio { features: self.accumulator.finish(), decode, samples_analysed })
    }

    fn resample_error(&mut self, name: &str) -> AnalyzeError {
        match self.failure.take() {
            Some(source) => AnalyzeError::Resample { name: name.to_string(), source },
            None => AnalyzeError::Resample {
                name: name.to_string(),
                source: ResampleError::Process {
                    from_hz: 0,
                    to_hz: self.target_rate_hz,
                    detail: "unknown failure".to_string(),
                },
            },
        }
    }
}

impl MonoSink for FeatureSink {
    fn start(&mut self, format: &StreamFormat) -> Result<(), SinkError> {
        match StreamResampler::new(format.sample_rate_hz, self.target_rate_hz) {
            Ok(r) => {
                self.resampler = Some(r);
                Ok(())
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    fn push(&mut self, mono: &[f32]) -> Result<(), SinkError> {
        let Some(resampler) = self.resampler.as_mut() else {
            return Ok(());
        };
        let accumulator = &mut self.accumulator;
        match resampler.push(mono, &mut |chunk| accumulator.push(chunk)) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(e)),
        }
    }
}
