//! File → features in one streaming pass: decode, downmix, resample, analyse.
//!
//! Memory stays bounded by the per-frame feature state (≈ 0.5 KiB per 512 samples) plus
//! small buffers: neither the multichannel nor the mono signal is ever held whole. For files,
//! decoding, resampling and analysis overlap on three threads.

use std::path::Path;
use std::sync::mpsc;

use crate::dsp::resample::{ResampleError, StreamResampler};
use crate::features::accumulator::features_of_reader;
use crate::features::prepare::{AudioPrep, MeanSquare, Trim, apply_gain_clipped, normalization_gain};
use crate::features::{FeatureAccumulator, Features};
#[cfg(unix)]
use crate::media::decode::open_int_wav;
use crate::media::decode::{
    DecodeError, DecodeInfo, MonoSink, SinkError, StreamFormat, decode_stream_bytes, decode_stream_path,
};
#[cfg(unix)]
use crate::media::wav_lenient::{IntWav, MonoScratch};

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
/// Decoding and resampling each run on their own thread, handing chunks over bounded channels
/// (at most `CHANNEL_CHUNKS × CHUNK_SAMPLES` samples in flight each) to this thread, which
/// analyses them; the result is identical to the single-threaded [`features_of_bytes`].
pub fn features_of_file(path: &Path, target_rate_hz: u32) -> Result<AnalyzedAudio, AnalyzeError> {
    features_of_file_prepared(path, target_rate_hz, &AudioPrep::default())
}

/// [`features_of_file`] after [`AudioPrep`] (DOMAIN §C2): the resampled mono signal is cut to
/// the trim window, then (with a normalization target) scaled to that RMS level and clipped to
/// ±1, then analysed. Normalization needs the level of the whole (trimmed) signal first, so it
/// decodes the file twice, still streaming (memory stays bounded). `samples_analysed` counts
/// the trimmed samples, so the video's frame count follows the trim. The same `prep` always
/// gives the same bits; `AudioPrep::default()` gives exactly [`features_of_file`]'s.
pub fn features_of_file_prepared(
    path: &Path,
    target_rate_hz: u32,
    prep: &AudioPrep,
) -> Result<AnalyzedAudio, AnalyzeError> {
    #[cfg(unix)]
    if let Some(wav) = open_int_wav(path).filter(|w| w.sample_rate_hz() == target_rate_hz) {
        return features_of_int_wav(&wav, prep);
    }
    let gain = match prep.normalization_dbfs {
        Some(target) => {
            let mut meter = FeatureSink::new_stage(target_rate_hz, Stage::measure(prep.trim));
            let result = decode_streaming(path, &mut meter);
            let mean_square = meter.complete_measure(result, &path.display().to_string())?;
            Some(normalization_gain(mean_square, target))
        }
        None => None,
    };
    let name = path.display().to_string();
    let mut sink = FeatureSink::new_stage(target_rate_hz, Stage::analyse(target_rate_hz, prep.trim, gain));
    let result = decode_streaming(path, &mut sink);
    sink.complete(result, &name)
}

/// [`features_of_file_prepared`] for an integer WAV already at the target rate: no decoding
/// pipeline, the analysis tasks read the frames they need by position, in parallel (the
/// samples, and so the bits, are the streaming decoder's).
#[cfg(unix)]
fn features_of_int_wav(wav: &IntWav, prep: &AudioPrep) -> Result<AnalyzedAudio, AnalyzeError> {
    let frames = usize::try_from(wav.frames()).unwrap_or(usize::MAX);
    let (features, samples) =
        features_of_positional(frames, wav.sample_rate_hz(), prep, MonoScratch::default, |scratch, start, out| {
            wav.read_mono(start as u64, out, scratch)
        })?;
    Ok(AnalyzedAudio { features, decode: wav.info(), samples_analysed: samples as u64 })
}

/// Features of a mono signal of `len` samples at `rate_hz` that `read(state, start, out)`
/// delivers by position (samples `start .. start + out.len()`; `init` makes one state per
/// thread), after `prep`: the trim window is cut, normalization measures it in order first,
/// then the analysis tasks read their frames in parallel. The bits are those of
/// [`crate::features::features`] on [`crate::features::prepare::prepare`]'s output. Returns the
/// features and the samples analysed (the trimmed length).
pub fn features_of_positional<S, E: Send>(
    len: usize,
    rate_hz: u32,
    prep: &AudioPrep,
    init: impl Fn() -> S + Sync + Send,
    read: impl Fn(&mut S, usize, &mut [f32]) -> Result<(), E> + Sync + Send,
) -> Result<(Features, usize), E> {
    let range = prep.trim.map_or(0..len, |t| t.range(len, rate_hz));
    let gain = match prep.normalization_dbfs {
        Some(target) => {
            let mut meter = MeanSquare::default();
            let (mut state, mut chunk) = (init(), vec![0.0; CHUNK_SAMPLES]);
            for start in range.clone().step_by(CHUNK_SAMPLES) {
                let piece = &mut chunk[..CHUNK_SAMPLES.min(range.end - start)];
                read(&mut state, start, piece)?;
                meter.push(piece);
            }
            Some(normalization_gain(meter.value(), target))
        }
        None => None,
    };
    let features = features_of_reader(range.len(), rate_hz, init, |state, start, out| {
        read(state, range.start + start, out)?;
        if let Some(gain) = gain {
            apply_gain_clipped(out, gain);
        }
        Ok(())
    })?;
    Ok((features, range.len()))
}

/// Decodes `path` on one thread and resamples on another, analysing on this one (see
/// [`features_of_file`]): each stage hands the next bounded chunks, so decoding, resampling
/// and the (parallel) analysis share the cores whichever of them dominates (decoding for MP3,
/// resampling for a 44.1 kHz WAV). `sink` lends its rate and stage; its own resampler stays
/// unused.
fn decode_streaming(path: &Path, sink: &mut FeatureSink) -> Result<DecodeInfo, DecodeError> {
    let target_rate_hz = sink.target_rate_hz;
    std::thread::scope(|scope| {
        let (tx_decoded, rx_decoded) = mpsc::sync_channel::<Message>(CHANNEL_CHUNKS);
        let (tx_resampled, rx_resampled) = mpsc::sync_channel::<Vec<f32>>(CHANNEL_CHUNKS);
        let decoder = scope.spawn(move || {
            let mut forward = ChannelSink { tx: tx_decoded, pending: Vec::with_capacity(CHUNK_SAMPLES) };
            let info = decode_stream_path(path, &mut forward)?;
            forward.flush().map_err(|source| DecodeError::Sink { name: path.display().to_string(), source })?;
            Ok(info)
        });
        let resampler = scope.spawn(move || {
            let forward = Forward { tx: tx_resampled, pending: Vec::with_capacity(CHUNK_SAMPLES), stopped: false };
            let mut resampling = FeatureSink::new(target_rate_hz, forward);
            for message in rx_decoded.iter() {
                let step = match message {
                    Message::Start(format) => resampling.start(&format),
                    Message::Samples(chunk) => resampling.push(&chunk),
                };
                if step.is_err() {
                    break;
                }
            }
            // Dropping the receiver makes the decoder's next send fail, which stops it.
            drop(rx_decoded);
            if resampling.failure.is_none() {
                resampling.flush_resampler();
            }
            resampling.stage.flush();
            resampling.failure
        });
        for chunk in rx_resampled.iter() {
            sink.stage.take(&chunk);
        }
        let failure = resampler.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let decoded = decoder.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        match failure {
            // `complete` reports the resampler's error for the sink error it caused.
            Some(e) => {
                sink.failure = Some(e);
                Err(DecodeError::Sink {
                    name: path.display().to_string(),
                    source: SinkError("resampling failed".to_string()),
                })
            }
            None => decoded,
        }
    })
}

/// Mono samples per message between the threads.
const CHUNK_SAMPLES: usize = 1 << 16;
/// Messages each channel holds before its sender waits.
const CHANNEL_CHUNKS: usize = 8;

enum Message {
    Start(StreamFormat),
    Samples(Vec<f32>),
}

/// Forwards decoded mono audio to the resampling thread in `CHUNK_SAMPLES` pieces.
struct ChannelSink {
    tx: mpsc::SyncSender<Message>,
    pending: Vec<f32>,
}

impl ChannelSink {
    fn send(&self, message: Message) -> Result<(), SinkError> {
        self.tx.send(message).map_err(|_| SinkError("resampling stopped".to_string()))
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

/// Where a [`FeatureSink`] delivers resampled audio.
trait Resampled {
    /// Takes the next chunk; `false` asks the decoder to stop.
    fn take(&mut self, chunk: &[f32]) -> bool;
}

/// Forwards resampled audio to the analysing thread in `CHUNK_SAMPLES` pieces.
struct Forward {
    tx: mpsc::SyncSender<Vec<f32>>,
    pending: Vec<f32>,
    stopped: bool,
}

impl Forward {
    fn flush(&mut self) {
        if self.pending.is_empty() || self.stopped {
            return;
        }
        let full = std::mem::replace(&mut self.pending, Vec::with_capacity(CHUNK_SAMPLES));
        // The analysing thread only stops receiving when it unwinds.
        self.stopped = self.tx.send(full).is_err();
    }
}

impl Resampled for Forward {
    fn take(&mut self, chunk: &[f32]) -> bool {
        self.pending.extend_from_slice(chunk);
        if self.pending.len() >= CHUNK_SAMPLES {
            self.flush();
        }
        !self.stopped
    }
}

/// [`features_of_file`] for an in-memory file; `name` labels errors and hints the format.
pub fn features_of_bytes(bytes: &[u8], name: &str, target_rate_hz: u32) -> Result<AnalyzedAudio, AnalyzeError> {
    let mut sink = FeatureSink::new_stage(target_rate_hz, Stage::analyse(target_rate_hz, None, None));
    let result = decode_stream_bytes(bytes, name, &mut sink);
    sink.complete(result, name)
}

/// What happens to the resampled signal: cut to the trim window, then either measured (the
/// normalization pass) or scaled and analysed.
struct Stage {
    /// The trim window, in samples at the target rate (resolved when the rate is known: it is).
    trim: Option<Trim>,
    target_rate_hz: u32,
    /// Resampled samples seen so far (before trimming).
    position: u64,
    gain: Option<f64>,
    scratch: Vec<f32>,
    sink: StageSink,
}

enum StageSink {
    Measure(MeanSquare),
    Analyse(Box<FeatureAccumulator>),
}

impl Stage {
    fn measure(trim: Option<Trim>) -> Self {
        Self {
            trim,
            target_rate_hz: 0,
            position: 0,
            gain: None,
            scratch: Vec::new(),
            sink: StageSink::Measure(MeanSquare::default()),
        }
    }

    fn analyse(target_rate_hz: u32, trim: Option<Trim>, gain: Option<f64>) -> Self {
        Self {
            trim,
            target_rate_hz,
            position: 0,
            gain,
            scratch: Vec::new(),
            sink: StageSink::Analyse(Box::new(FeatureAccumulator::new(target_rate_hz))),
        }
    }

    /// Takes the next resampled chunk.
    fn push(&mut self, chunk: &[f32]) {
        let start = self.position;
        self.position += chunk.len() as u64;
        let window = match self.trim {
            // The window in absolute samples; `u64::MAX` stands for "to the end".
            Some(t) => t.range(usize::MAX, self.target_rate_hz),
            None => 0..usize::MAX,
        };
        let (lo, hi) = (window.start as u64, window.end as u64);
        let from = lo.saturating_sub(start).min(chunk.len() as u64) as usize;
        let to = hi.saturating_sub(start).min(chunk.len() as u64) as usize;
        if from >= to {
            return;
        }
        let part = &chunk[from..to];
        let part = match self.gain {
            Some(gain) => {
                self.scratch.clear();
                self.scratch.extend_from_slice(part);
                apply_gain_clipped(&mut self.scratch, gain);
                self.scratch.as_slice()
            }
            None => part,
        };
        match &mut self.sink {
            StageSink::Measure(m) => m.push(part),
            StageSink::Analyse(a) => a.push(part),
        }
    }
}

impl Resampled for Stage {
    fn take(&mut self, chunk: &[f32]) -> bool {
        self.push(chunk);
        true
    }
}

/// Resamples decoded mono audio to the target rate into `stage`.
struct FeatureSink<S = Stage> {
    target_rate_hz: u32,
    resampler: Option<StreamResampler>,
    stage: S,
    failure: Option<ResampleError>,
}

impl FeatureSink {
    fn new_stage(target_rate_hz: u32, mut stage: Stage) -> Self {
        stage.target_rate_hz = target_rate_hz;
        Self::new(target_rate_hz, stage)
    }

    /// The mean square of the (trimmed) signal, after a measuring pass.
    fn complete_measure(mut self, result: Result<DecodeInfo, DecodeError>, name: &str) -> Result<f64, AnalyzeError> {
        self.finish_stream(result, name)?;
        match &self.stage.sink {
            StageSink::Measure(m) => Ok(m.value()),
            StageSink::Analyse(_) => Ok(0.0),
        }
    }

    fn complete(mut self, result: Result<DecodeInfo, DecodeError>, name: &str) -> Result<AnalyzedAudio, AnalyzeError> {
        let decode = self.finish_stream(result, name)?;
        let accumulator = match std::mem::replace(&mut self.stage.sink, StageSink::Measure(MeanSquare::default())) {
            StageSink::Analyse(a) => *a,
            StageSink::Measure(_) => FeatureAccumulator::new(self.target_rate_hz),
        };
        let samples_analysed = accumulator.samples_seen() as u64;
        Ok(AnalyzedAudio { features: accumulator.finish(), decode, samples_analysed })
    }
}

impl<S: Resampled> FeatureSink<S> {
    fn new(target_rate_hz: u32, stage: S) -> Self {
        Self { target_rate_hz, resampler: None, stage, failure: None }
    }

    /// Flushes the resampler into the stage; the decode result or the first failure.
    fn finish_stream(
        &mut self,
        result: Result<DecodeInfo, DecodeError>,
        name: &str,
    ) -> Result<DecodeInfo, AnalyzeError> {
        let decode = match result {
            Ok(info) => info,
            Err(DecodeError::Sink { .. }) if self.failure.is_some() => {
                return Err(self.resample_error(name));
            }
            Err(e) => return Err(e.into()),
        };
        self.flush_resampler();
        if self.failure.is_some() {
            return Err(self.resample_error(name));
        }
        Ok(decode)
    }

    /// Hands the resampler's tail to the stage; a failure is kept in `failure`.
    fn flush_resampler(&mut self) {
        if let Some(resampler) = self.resampler.take() {
            let stage = &mut self.stage;
            if let Err(e) = resampler.finish(&mut |chunk| {
                stage.take(chunk);
            }) {
                self.failure = Some(e);
            }
        }
    }

    fn fail(&mut self, e: ResampleError) -> SinkError {
        let message = e.to_string();
        self.failure = Some(e);
        SinkError(message)
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

impl<S: Resampled> MonoSink for FeatureSink<S> {
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
        let stage = &mut self.stage;
        let mut going = true;
        match resampler.push(mono, &mut |chunk| going &= stage.take(chunk)) {
            Ok(()) if going => Ok(()),
            Ok(()) => Err(SinkError("feature analysis stopped".to_string())),
            Err(e) => Err(self.fail(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::features;
    use crate::features::prepare::prepare;

    /// The layouts tested: mono 24-bit, stereo 16-bit, stereo 32-bit float.
    const LAYOUTS: [(u16, u16, hound::SampleFormat); 3] =
        [(1, 24, hound::SampleFormat::Int), (2, 16, hound::SampleFormat::Int), (2, 32, hound::SampleFormat::Float)];

    /// A 48 kHz WAV (no resampling) of a loud then quiet signal in one of [`LAYOUTS`], and its
    /// mixdown as the streaming decoder reads it.
    fn wav_file(
        dir: &Path,
        (channels, bits, format): (u16, u16, hound::SampleFormat),
    ) -> (std::path::PathBuf, Vec<f32>) {
        let signal = |k: f32| -> Vec<f32> {
            (0..96_000)
                .map(|i| {
                    let level = if i < 48_000 { 0.6 } else { 0.05 };
                    level * ((i as f32 * 0.031 * k).sin() + 0.3 * (i as f32 * 0.173).sin())
                })
                .collect()
        };
        let planes = [signal(1.0), signal(1.7)];
        let planes: Vec<&[f32]> = planes.iter().take(usize::from(channels)).map(Vec::as_slice).collect();
        let path = dir.join(format!("t{channels}_{bits}.wav"));
        if format == hound::SampleFormat::Float {
            let spec = hound::WavSpec { channels, sample_rate: 48_000, bits_per_sample: 32, sample_format: format };
            let mut w = hound::WavWriter::create(&path, spec).unwrap();
            for i in 0..planes[0].len() {
                planes.iter().for_each(|p| w.write_sample(p[i]).unwrap());
            }
            w.finalize().unwrap();
        } else {
            std::fs::write(&path, crate::media::wav::encode_pcm(&planes, 48_000, bits).unwrap()).unwrap();
        }
        // Through symphonia, which reads WAVs sample by sample in order.
        let bytes = std::fs::read(&path).unwrap();
        let decoded = crate::media::decode::decode_bytes(&bytes, "t.wav").unwrap().samples_mono;
        (path, decoded)
    }

    #[test]
    fn prepared_analysis_is_the_analysis_of_the_prepared_signal() {
        let dir = tempfile::tempdir().unwrap();
        for layout in LAYOUTS {
            prepared_analysis_matches(&dir, layout);
        }
    }

    /// Integer WAVs at the target rate are analysed by position ([`features_of_int_wav`]), in
    /// parallel; a float WAV takes the streaming pipeline: both give the features of the
    /// prepared signal.
    fn prepared_analysis_matches(dir: &tempfile::TempDir, layout: (u16, u16, hound::SampleFormat)) {
        let (path, samples) = wav_file(dir.path(), layout);
        let plain = features_of_file(&path, 48_000).unwrap();
        let decoded = crate::media::decode::decode_channels(&path).unwrap();
        assert_eq!(
            (plain.decode.channels, plain.decode.frames_decoded, plain.decode.codec.as_str()),
            (layout.0, 96_000, decoded.codec.as_str()),
            "{layout:?}"
        );
        assert!(plain.decode.warnings.is_empty());
        let same = features_of_file_prepared(&path, 48_000, &AudioPrep::default()).unwrap();
        assert_eq!(plain, same);
        for prep in [
            AudioPrep { trim: Some(Trim { start_s: 0.75, end_s: Some(1.6) }), normalization_dbfs: None },
            AudioPrep { trim: None, normalization_dbfs: Some(-14.0) },
            AudioPrep { trim: Some(Trim { start_s: 1.0, end_s: None }), normalization_dbfs: Some(-20.0) },
        ] {
            let streamed = features_of_file_prepared(&path, 48_000, &prep).unwrap();
            let prepared = prepare(&samples, 48_000, &prep);
            assert_eq!(streamed.samples_analysed, prepared.len() as u64, "{layout:?} {prep:?}");
            assert_eq!(streamed.features, features(&prepared, 48_000), "{layout:?} {prep:?}");
        }
        // A window past the end analyses nothing rather than failing.
        let past = AudioPrep { trim: Some(Trim { start_s: 5.0, end_s: None }), normalization_dbfs: Some(-14.0) };
        assert_eq!(features_of_file_prepared(&path, 48_000, &past).unwrap().samples_analysed, 0);
    }
}
