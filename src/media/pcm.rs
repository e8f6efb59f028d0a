//! One decode per source: a file decoded once and resampled to a target rate, as the mono
//! mixdown, as its channels, or both, for every consumer (features, the video's audio track,
//! texture mining, the sampler, producers).
//!
//! The mono signal is `resample(channel mean)`, librosa's order (`librosa.load(mono=True)`
//! downmixes before resampling), so features computed from it are bit for bit those of
//! [`crate::media::analyze::features_of_file`]. The channels are each resampled with the same
//! settings. Decoding and resampling stream: [`stream_pcm`] holds one packet plus the
//! resamplers' state, and [`write_pcm_wav`] writes a 32-bit float WAV with bounded memory, so a
//! long source can be kept as a store blob and read back (bit-exact, no resampling) by any
//! consumer. [`load_pcm`] collects everything in memory.

use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use crate::dsp::resample::{ResampleError, StreamResampler};
use crate::media::decode::{
    DecodeError, DecodeInfo, FrameSink, SinkError, StreamFormat, decode_frames_bytes, decode_frames_path, downmix,
};
use crate::media::spool::collect_pcm;

/// Which signals a decode produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PcmLayout {
    /// The channel mean only (analysis: features, pads, clouds, …).
    Mono,
    /// Every channel (what listeners hear: the video's audio track, stereo textures).
    Channels,
    /// Both, from one decode.
    Both,
}

impl PcmLayout {
    fn mono(self) -> bool {
        matches!(self, PcmLayout::Mono | PcmLayout::Both)
    }

    fn channels(self) -> bool {
        matches!(self, PcmLayout::Channels | PcmLayout::Both)
    }
}

/// Why a source's PCM could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PcmError {
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
    /// Writing the WAV failed.
    #[error("{name}: writing the decoded audio: {source}")]
    Write {
        /// File name.
        name: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A source decoded once and resampled to `rate_hz`.
#[derive(Clone, Debug, PartialEq)]
pub struct SourcePcm {
    /// Rate of `mono` and `channels`, in Hz.
    pub rate_hz: u32,
    /// `resample(channel mean)`, when asked for.
    pub mono: Option<Vec<f32>>,
    /// Every channel resampled, in the file's order, when asked for.
    pub channels: Option<Vec<Vec<f32>>>,
    /// What the decoder reported (source rate, channel count, frames, codec, warnings).
    pub source: DecodeInfo,
}

impl SourcePcm {
    /// Length in samples (per channel) at `rate_hz`.
    pub fn len(&self) -> usize {
        self.mono
            .as_ref()
            .map(Vec::len)
            .or_else(|| self.channels.as_ref().and_then(|c| c.first().map(Vec::len)))
            .unwrap_or(0)
    }

    /// Whether no sample was decoded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Duration in seconds: the source's frames at the source rate (the resampled length is
    /// `ceil` of it at `rate_hz`).
    pub fn duration_s(&self) -> f64 {
        self.source.frames_decoded as f64 / f64::from(self.source.sample_rate_hz.max(1))
    }
}

/// Receives resampled audio: mono chunks and/or channel chunks, in order.
pub trait PcmSink {
    /// Called once before any audio, with the decoder's view of the source.
    fn start(&mut self, _format: &StreamFormat) -> Result<(), SinkError> {
        Ok(())
    }
    /// A chunk of `resample(channel mean)` (only with a layout that has mono).
    fn mono(&mut self, _samples: &[f32]) -> Result<(), SinkError> {
        Ok(())
    }
    /// A chunk of every channel, all planes of one length (only with a layout that has channels).
    fn channels(&mut self, _planes: &[&[f32]]) -> Result<(), SinkError> {
        Ok(())
    }
}

/// Decodes `path` once and streams its resampled mono and/or channels into `sink`.
pub fn stream_pcm(
    path: &Path,
    rate_hz: u32,
    layout: PcmLayout,
    sink: &mut dyn PcmSink,
) -> Result<DecodeInfo, PcmError> {
    stream_pcm_with(path, rate_hz, layout, false, sink)
}

/// [`stream_pcm`]; with `defer_channels` the channels (when `layout` has them) reach `sink` as
/// decoded, at the source's rate ([`StreamFormat::sample_rate_hz`]), for the caller to resample
/// only if they are needed (the mixdown comes resampled as always).
pub(crate) fn stream_pcm_with(
    path: &Path,
    rate_hz: u32,
    layout: PcmLayout,
    defer_channels: bool,
    sink: &mut dyn PcmSink,
) -> Result<DecodeInfo, PcmError> {
    let name = path.display().to_string();
    let mut resampling = Resampling::new(rate_hz, layout, sink);
    resampling.defer_channels = defer_channels;
    let result = decode_frames_path(path, &mut resampling);
    resampling.complete(result, &name)
}

/// [`stream_pcm`] for an in-memory file; `name` labels errors and hints the format.
pub fn stream_pcm_bytes(
    bytes: &[u8],
    name: &str,
    rate_hz: u32,
    layout: PcmLayout,
    sink: &mut dyn PcmSink,
) -> Result<DecodeInfo, PcmError> {
    let mut resampling = Resampling::new(rate_hz, layout, sink);
    let result = decode_frames_bytes(bytes, name, &mut resampling);
    resampling.complete(result, name)
}

/// Decodes `path` once into memory at `rate_hz`.
///
/// ```no_run
/// use ntsbuild::media::pcm::{PcmLayout, load_pcm};
/// let pcm = load_pcm(std::path::Path::new("music/track.flac"), 48_000, PcmLayout::Both)?;
/// let stereo = pcm.channels.as_ref().expect("asked for channels");
/// let mono = pcm.mono.as_ref().expect("asked for mono");
/// assert_eq!(stereo[0].len(), mono.len());
/// # Ok::<(), ntsbuild::media::pcm::PcmError>(())
/// ```
pub fn load_pcm(path: &Path, rate_hz: u32, layout: PcmLayout) -> Result<SourcePcm, PcmError> {
    collect_pcm(&path.display().to_string(), rate_hz, layout, |sink| stream_pcm(path, rate_hz, layout, sink))
}

/// [`load_pcm`] for an in-memory file.
pub fn load_pcm_bytes(bytes: &[u8], name: &str, rate_hz: u32, layout: PcmLayout) -> Result<SourcePcm, PcmError> {
    collect_pcm(name, rate_hz, layout, |sink| stream_pcm_bytes(bytes, name, rate_hz, layout, sink))
}

/// Decodes `path` once and writes it at `rate_hz` as a 32-bit float WAV to `out`, streaming:
/// the mono mixdown ([`PcmLayout::Mono`]) or every channel (otherwise). The bytes depend only
/// on the source's content and the arguments. Decoding the result gives the samples back
/// bit for bit at `rate_hz`, so features of a mono PCM WAV equal those of the source.
pub fn write_pcm_wav<W: Write + Seek>(
    path: &Path,
    rate_hz: u32,
    layout: PcmLayout,
    out: &mut W,
) -> Result<DecodeInfo, PcmError> {
    let name = path.display().to_string();
    let layout = if layout == PcmLayout::Both { PcmLayout::Channels } else { layout };
    let mut writer = WavWriter { out, rate_hz, channels: 0, data_bytes: 0, buf: Vec::new(), error: None };
    let result = stream_pcm(path, rate_hz, layout, &mut writer);
    let write_error = |source| PcmError::Write { name: name.clone(), source };
    if let Some(e) = writer.error.take() {
        return Err(write_error(e));
    }
    let info = result?;
    writer.finish().map_err(write_error)?;
    Ok(info)
}

/// Decodes, downmixes and resamples, handing the results to a [`PcmSink`].
struct Resampling<'a> {
    rate_hz: u32,
    layout: PcmLayout,
    sink: &'a mut dyn PcmSink,
    mono_resampler: Option<StreamResampler>,
    channel_resamplers: Vec<StreamResampler>,
    mono: Vec<f32>,
    mono_out: Vec<f32>,
    channel_out: Vec<Vec<f32>>,
    /// Hand the channels over as decoded, at the source's rate.
    defer_channels: bool,
    /// The mixdown's resampler on its own thread (with `defer_channels`, when the rates differ
    /// and the pool has more than one thread), so decoding and resampling overlap.
    mono_thread: Option<MonoThread>,
    failure: Option<ResampleError>,
}

/// Downmixed samples gathered before they go to the resampler's thread.
const MONO_THREAD_CHUNK: usize = 1 << 15;

/// A [`StreamResampler`] on its own thread: chunks go in order, its output comes back in order
/// (the same samples as resampling on the caller's thread), the tail after the input ends.
struct MonoThread {
    gathered: Vec<f32>,
    input: Option<std::sync::mpsc::SyncSender<Vec<f32>>>,
    output: std::sync::mpsc::Receiver<Result<Vec<f32>, ResampleError>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A decode that failed drops its resampler's thread: it is stopped, not left running.
impl Drop for MonoThread {
    fn drop(&mut self) {
        self.stop();
    }
}

impl MonoThread {
    fn start(mut resampler: StreamResampler) -> std::io::Result<Self> {
        let (input, chunks) = std::sync::mpsc::sync_channel::<Vec<f32>>(4);
        let (results, output) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new().name("resample".to_string()).spawn(move || {
            let mut out = Vec::new();
            for chunk in chunks {
                if let Err(e) = resampler.push(&chunk, &mut |c| out.extend_from_slice(c)) {
                    let _ = results.send(Err(e));
                    return;
                }
                if results.send(Ok(std::mem::take(&mut out))).is_err() {
                    return;
                }
            }
            let tail = resampler.finish(&mut |c| out.extend_from_slice(c)).map(|()| out);
            let _ = results.send(tail);
        })?;
        Ok(MonoThread { gathered: Vec::new(), input: Some(input), output, thread: Some(thread) })
    }

    /// Ends the input and waits for the thread (whose output nobody reads any more).
    fn stop(&mut self) {
        self.input = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// Queues `samples`; a full chunk goes to the thread (waiting while it has four).
    fn push(&mut self, samples: &[f32]) {
        self.gathered.extend_from_slice(samples);
        if self.gathered.len() >= MONO_THREAD_CHUNK {
            self.send();
        }
    }

    fn send(&mut self) {
        let chunk = std::mem::take(&mut self.gathered);
        if let Some(input) = &self.input
            && input.send(chunk).is_err()
        {
            // The thread stopped on an error, which `output` holds.
            self.input = None;
        }
    }

    /// Output ready so far (without waiting), or the resampler's error.
    fn ready(&mut self, out: &mut Vec<f32>) -> Result<(), ResampleError> {
        while let Ok(piece) = self.output.try_recv() {
            out.extend_from_slice(&piece?);
        }
        Ok(())
    }

    /// Sends what is gathered, ends the input and collects every remaining output.
    fn finish(mut self, out: &mut Vec<f32>) -> Result<(), ResampleError> {
        self.send();
        self.input = None;
        let mut result = Ok(());
        for piece in self.output.iter() {
            match piece {
                Ok(p) => out.extend_from_slice(&p),
                Err(e) => result = Err(e),
            }
        }
        if let Some(t) = self.thread.take()
            && let Err(panic) = t.join()
        {
            std::panic::resume_unwind(panic);
        }
        result
    }
}

impl<'a> Resampling<'a> {
    fn new(rate_hz: u32, layout: PcmLayout, sink: &'a mut dyn PcmSink) -> Self {
        Self {
            rate_hz,
            layout,
            sink,
            mono_resampler: None,
            channel_resamplers: Vec::new(),
            mono: Vec::new(),
            mono_out: Vec::new(),
            channel_out: Vec::new(),
            defer_channels: false,
            mono_thread: None,
            failure: None,
        }
    }

    fn fail(&mut self, e: ResampleError) -> SinkError {
        let message = e.to_string();
        self.failure = Some(e);
        SinkError(message)
    }

    /// Hands over what the resamplers produced since the last call.
    fn deliver(&mut self) -> Result<(), SinkError> {
        if !self.mono_out.is_empty() {
            self.sink.mono(&self.mono_out)?;
            self.mono_out.clear();
        }
        // Every channel's resampler saw the same input lengths, so all hold the same count.
        let ready = self.channel_out.iter().map(Vec::len).min().unwrap_or(0);
        if ready > 0 {
            let planes: Vec<&[f32]> = self.channel_out.iter().map(|c| &c[..ready]).collect();
            self.sink.channels(&planes)?;
            for c in &mut self.channel_out {
                c.drain(..ready);
            }
        }
        Ok(())
    }

    fn complete(mut self, result: Result<DecodeInfo, DecodeError>, name: &str) -> Result<DecodeInfo, PcmError> {
        let resample_error = |failure: Option<ResampleError>, rate_hz| PcmError::Resample {
            name: name.to_string(),
            source: failure.unwrap_or(ResampleError::Process {
                from_hz: 0,
                to_hz: rate_hz,
                detail: "unknown failure".to_string(),
            }),
        };
        let info = match result {
            Ok(info) => info,
            Err(DecodeError::Sink { .. }) if self.failure.is_some() => {
                return Err(resample_error(self.failure.take(), self.rate_hz));
            }
            Err(e) => return Err(e.into()),
        };
        let sink_error = |source| PcmError::Decode(DecodeError::Sink { name: name.to_string(), source });
        if let Some(t) = self.mono_thread.take() {
            t.finish(&mut self.mono_out).map_err(|e| resample_error(Some(e), self.rate_hz))?;
        }
        if let Some(r) = self.mono_resampler.take() {
            let out = &mut self.mono_out;
            r.finish(&mut |c| out.extend_from_slice(c)).map_err(|e| resample_error(Some(e), self.rate_hz))?;
        }
        for (r, out) in std::mem::take(&mut self.channel_resamplers).into_iter().zip(&mut self.channel_out) {
            r.finish(&mut |c| out.extend_from_slice(c)).map_err(|e| resample_error(Some(e), self.rate_hz))?;
        }
        self.deliver().map_err(sink_error)?;
        Ok(info)
    }
}

impl FrameSink for Resampling<'_> {
    fn start(&mut self, format: &StreamFormat) -> Result<(), SinkError> {
        let from_hz = format.sample_rate_hz;
        if self.layout.mono() {
            match StreamResampler::new(from_hz, self.rate_hz) {
                Ok(r) if self.defer_channels && from_hz != self.rate_hz && rayon::current_num_threads() > 1 => {
                    match MonoThread::start(r) {
                        Ok(t) => self.mono_thread = Some(t),
                        Err(e) => return Err(SinkError(format!("starting the resampler's thread: {e}"))),
                    }
                }
                Ok(r) => self.mono_resampler = Some(r),
                Err(e) => return Err(self.fail(e)),
            }
        }
        if self.layout.channels() && !self.defer_channels {
            for _ in 0..format.channels {
                match StreamResampler::new(from_hz, self.rate_hz) {
                    Ok(r) => self.channel_resamplers.push(r),
                    Err(e) => return Err(self.fail(e)),
                }
            }
            self.channel_out = vec![Vec::new(); usize::from(format.channels)];
        }
        self.sink.start(format)
    }

    fn push(&mut self, planes: &[&[f32]]) -> Result<(), SinkError> {
        if self.mono_thread.is_some() || self.mono_resampler.is_some() {
            downmix(planes, &mut self.mono);
        }
        let out = &mut self.mono_out;
        let resampled = match (self.mono_thread.as_mut(), self.mono_resampler.as_mut()) {
            (Some(t), _) => {
                t.push(&self.mono);
                t.ready(out)
            }
            (None, Some(r)) => r.push(&self.mono, &mut |c| out.extend_from_slice(c)),
            (None, None) => Ok(()),
        };
        if let Err(e) = resampled {
            return Err(self.fail(e));
        }
        if self.defer_channels {
            self.sink.channels(planes)?;
        }
        for i in 0..self.channel_resamplers.len() {
            let out = &mut self.channel_out[i];
            let plane = planes.get(i).copied().unwrap_or(&[]);
            if let Err(e) = self.channel_resamplers[i].push(plane, &mut |c| out.extend_from_slice(c)) {
                return Err(self.fail(e));
            }
        }
        self.deliver()
    }
}

/// Streams interleaved f32 frames into a WAV, patching the sizes at the end.
struct WavWriter<'w, W: Write + Seek> {
    out: &'w mut W,
    rate_hz: u32,
    channels: u16,
    data_bytes: u64,
    buf: Vec<u8>,
    error: Option<std::io::Error>,
}

/// Bytes before the samples: RIFF header, a WAVE_FORMAT_IEEE_FLOAT `fmt ` chunk, `data` header.
const WAV_HEADER_BYTES: u64 = 44;
/// Largest data chunk a RIFF size field can describe.
const MAX_DATA_BYTES: u64 = (u32::MAX as u64) - WAV_HEADER_BYTES;

impl<W: Write + Seek> WavWriter<'_, W> {
    fn header(&self) -> Vec<u8> {
        let data = u32::try_from(self.data_bytes).unwrap_or(u32::MAX);
        let block = u32::from(self.channels) * 4;
        let mut h = Vec::with_capacity(WAV_HEADER_BYTES as usize);
        h.extend_from_slice(b"RIFF");
        h.extend_from_slice(&(36u32.saturating_add(data)).to_le_bytes());
        h.extend_from_slice(b"WAVEfmt ");
        h.extend_from_slice(&16u32.to_le_bytes());
        h.extend_from_slice(&3u16.to_le_bytes());
        h.extend_from_slice(&self.channels.to_le_bytes());
        h.extend_from_slice(&self.rate_hz.to_le_bytes());
        h.extend_from_slice(&(self.rate_hz.saturating_mul(block)).to_le_bytes());
        h.extend_from_slice(&(block as u16).to_le_bytes());
        h.extend_from_slice(&32u16.to_le_bytes());
        h.extend_from_slice(b"data");
        h.extend_from_slice(&data.to_le_bytes());
        h
    }

    fn write_frames(&mut self, planes: &[&[f32]]) -> Result<(), SinkError> {
        let frames = planes.first().map_or(0, |p| p.len());
        let bytes = (frames * planes.len() * 4) as u64;
        if self.data_bytes + bytes > MAX_DATA_BYTES {
            return Err(self.failed(std::io::Error::other("longer than a WAV can hold (4 GiB)")));
        }
        self.buf.clear();
        for i in 0..frames {
            for p in planes {
                self.buf.extend_from_slice(&p[i].to_le_bytes());
            }
        }
        if let Err(e) = self.out.write_all(&self.buf) {
            return Err(self.failed(e));
        }
        self.data_bytes += bytes;
        Ok(())
    }

    fn failed(&mut self, e: std::io::Error) -> SinkError {
        let message = e.to_string();
        self.error = Some(e);
        SinkError(message)
    }

    fn finish(&mut self) -> std::io::Result<()> {
        let header = self.header();
        self.out.seek(SeekFrom::Start(0))?;
        self.out.write_all(&header)?;
        self.out.seek(SeekFrom::End(0))?;
        self.out.flush()
    }
}

impl<W: Write + Seek> PcmSink for WavWriter<'_, W> {
    fn start(&mut self, format: &StreamFormat) -> Result<(), SinkError> {
        self.channels = format.channels;
        let header = self.header();
        if let Err(e) = self.out.write_all(&header) {
            return Err(self.failed(e));
        }
        Ok(())
    }

    fn mono(&mut self, samples: &[f32]) -> Result<(), SinkError> {
        self.channels = 1;
        self.write_frames(&[samples])
    }

    fn channels(&mut self, planes: &[&[f32]]) -> Result<(), SinkError> {
        self.write_frames(planes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::resample::resampled_len;
    use crate::media::decode::{decode_bytes, decode_channels_bytes};

    /// A float WAV with interleaved little-endian samples.
    fn f32_wav(channels: u16, rate: u32, interleaved: &[f32]) -> Vec<u8> {
        let data: Vec<u8> = interleaved.iter().flat_map(|s| s.to_le_bytes()).collect();
        let block = channels * 4;
        let mut b = Vec::new();
        b.extend_from_slice(b"RIFF");
        b.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
        b.extend_from_slice(b"WAVEfmt ");
        b.extend_from_slice(&16u32.to_le_bytes());
        b.extend_from_slice(&3u16.to_le_bytes());
        b.extend_from_slice(&channels.to_le_bytes());
        b.extend_from_slice(&rate.to_le_bytes());
        b.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
        b.extend_from_slice(&block.to_le_bytes());
        b.extend_from_slice(&32u16.to_le_bytes());
        b.extend_from_slice(b"data");
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(&data);
        b
    }

    fn stereo_source(frames: usize) -> Vec<f32> {
        (0..frames)
            .flat_map(|i| {
                let t = i as f32 / 44_100.0;
                [(t * 2_764.6).sin() * 0.5, (t * 6_911.5).sin() * 0.25]
            })
            .collect()
    }

    #[test]
    fn both_layouts_come_from_one_decode_and_match_the_separate_paths() {
        let bytes = f32_wav(2, 44_100, &stereo_source(30_000));
        let pcm = load_pcm_bytes(&bytes, "s.wav", 48_000, PcmLayout::Both).expect("pcm");
        let mono = pcm.mono.as_ref().expect("mono");
        let channels = pcm.channels.as_ref().expect("channels");
        assert_eq!(pcm.source.channels, 2);
        assert_eq!(pcm.source.sample_rate_hz, 44_100);
        assert_eq!(mono.len(), resampled_len(30_000, 44_100, 48_000) as usize);
        assert!(channels.iter().all(|c| c.len() == mono.len()));
        // Mono is resample(channel mean), exactly as features see it.
        let direct =
            crate::dsp::resample::resample(&decode_bytes(&bytes, "s.wav").expect("d").samples_mono, 44_100, 48_000)
                .expect("resample");
        assert_eq!(*mono, direct);
        let decoded = decode_channels_bytes(&bytes, "s.wav").expect("channels");
        for (ours, source) in channels.iter().zip(&decoded.channels) {
            assert_eq!(*ours, crate::dsp::resample::resample(source, 44_100, 48_000).expect("r"));
        }
        let only_mono = load_pcm_bytes(&bytes, "s.wav", 48_000, PcmLayout::Mono).expect("mono");
        assert_eq!(only_mono.mono.as_ref(), Some(mono));
        assert!(only_mono.channels.is_none());
    }

    #[test]
    fn same_rate_is_bit_exact() {
        let interleaved = stereo_source(5_000);
        let bytes = f32_wav(2, 44_100, &interleaved);
        let pcm = load_pcm_bytes(&bytes, "s.wav", 44_100, PcmLayout::Channels).expect("pcm");
        let channels = pcm.channels.expect("channels");
        let left: Vec<f32> = interleaved.iter().step_by(2).copied().collect();
        assert_eq!(channels[0], left);
    }

    #[test]
    fn the_pcm_wav_reads_back_bit_for_bit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = dir.path().join("s.wav");
        std::fs::write(&src, f32_wav(2, 44_100, &stereo_source(20_000))).expect("write");
        let expected = load_pcm(&src, 48_000, PcmLayout::Both).expect("pcm");
        for (layout, want) in [
            (PcmLayout::Mono, vec![expected.mono.clone().expect("mono")]),
            (PcmLayout::Channels, expected.channels.clone().expect("channels")),
        ] {
            let mut out = std::io::Cursor::new(Vec::new());
            write_pcm_wav(&src, 48_000, layout, &mut out).expect("write pcm");
            let bytes = out.into_inner();
            let back = decode_channels_bytes(&bytes, "pcm.wav").expect("read back");
            assert_eq!(back.sample_rate_hz, 48_000);
            assert_eq!(back.channels, want, "{layout:?}");
            let mut again = std::io::Cursor::new(Vec::new());
            write_pcm_wav(&src, 48_000, layout, &mut again).expect("write pcm");
            assert_eq!(again.into_inner(), bytes, "deterministic bytes");
        }
    }

    #[test]
    fn errors_name_the_file() {
        let err = load_pcm_bytes(&[1, 2, 3], "junk.mp3", 48_000, PcmLayout::Both).expect_err("junk");
        assert!(err.to_string().starts_with("junk.mp3: "), "{err}");
        let err = load_pcm(Path::new("/nonexistent/x.flac"), 48_000, PcmLayout::Mono).expect_err("missing");
        assert!(err.to_string().contains("x.flac"), "{err}");
    }
}
