//! A source decoded once and kept where it fits: resampled signals (planes) stay in memory
//! up to a limit, and past it every plane moves to an unlinked temporary file, read back by
//! position. Consumers that stream (the features, the video's audio track) then read what
//! they need piece by piece, so a long source costs disk, not memory.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::dsp::resample::resampled_len;
use crate::media::decode::{DecodeInfo, MAX_RESERVE_SAMPLES, SinkError, StreamFormat};
use crate::media::pcm::{PcmError, PcmLayout, PcmSink, SourcePcm, stream_pcm};

/// Samples held in memory, over every plane, before the planes move to files: 32 Mi samples
/// (128 MiB), e.g. 3.9 minutes of a stereo source at 48 kHz as its mixdown and two channels.
pub const DEFAULT_MEMORY_SAMPLES: usize = 32 << 20;

/// One resampled signal.
#[derive(Debug)]
pub enum Plane {
    /// Held in memory.
    Memory(Vec<f32>),
    /// In an unlinked temporary file (little-endian f32), `len` samples.
    File {
        /// The file (removed by the system when closed).
        file: File,
        /// Samples in it.
        len: usize,
    },
}

impl Plane {
    /// Samples in the plane.
    pub fn len(&self) -> usize {
        match self {
            Plane::Memory(v) => v.len(),
            Plane::File { len, .. } => *len,
        }
    }

    /// Whether the plane holds no sample.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the plane lies in a file.
    pub fn is_spilled(&self) -> bool {
        matches!(self, Plane::File { .. })
    }

    /// Samples `start .. start + out.len()`, which must lie inside the plane.
    pub fn read(&self, start: usize, out: &mut [f32]) -> io::Result<()> {
        let end = start.checked_add(out.len()).filter(|&e| e <= self.len()).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("samples {start}..{} past the end ({})", start.saturating_add(out.len()), self.len()),
            )
        })?;
        match self {
            Plane::Memory(v) => {
                out.copy_from_slice(&v[start..end]);
                Ok(())
            }
            Plane::File { file, .. } => read_samples_at(file, start as u64 * 4, out),
        }
    }

    /// The whole signal, moved out when in memory.
    pub fn into_samples(self) -> io::Result<Vec<f32>> {
        match self {
            Plane::Memory(v) => Ok(v),
            file => file.load().map(Cow::into_owned),
        }
    }

    /// The whole signal (borrowed when in memory).
    pub fn load(&self) -> io::Result<Cow<'_, [f32]>> {
        match self {
            Plane::Memory(v) => Ok(Cow::Borrowed(v)),
            Plane::File { len, .. } => {
                let mut v = vec![0.0; *len];
                self.read(0, &mut v)?;
                Ok(Cow::Owned(v))
            }
        }
    }
}

impl crate::producers::audio::MonoSource for Plane {
    fn len(&self) -> usize {
        Plane::len(self)
    }

    fn read(&self, start: usize, out: &mut [f32]) -> io::Result<()> {
        Plane::read(self, start, out)
    }
}

/// Little-endian f32 samples from `offset` bytes into `file`, read in place.
fn read_samples_at(file: &File, offset: u64, out: &mut [f32]) -> io::Result<()> {
    // SAFETY: every bit pattern is a valid f32, u8 has no alignment requirement, and the byte
    // view covers exactly `out`'s memory for as long as `out` is borrowed here.
    let bytes = unsafe { std::slice::from_raw_parts_mut(out.as_mut_ptr().cast::<u8>(), std::mem::size_of_val(out)) };
    read_exact_at(file, bytes, offset)?;
    if cfg!(target_endian = "big") {
        for s in out.iter_mut() {
            *s = f32::from_bits(s.to_bits().swap_bytes());
        }
    }
    Ok(())
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match std::os::windows::fs::FileExt::seek_read(file, buf, offset) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A source decoded once at `rate_hz`: its mixdown and/or its channels, as the layout asked.
#[derive(Debug)]
pub struct SpooledPcm {
    /// Rate of every plane, in Hz.
    pub rate_hz: u32,
    /// `resample(channel mean)`, when asked for.
    pub mono: Option<Plane>,
    /// Every channel resampled, in the file's order, when asked for.
    pub channels: Option<Vec<Plane>>,
    /// What the decoder reported (source rate, channel count, frames, codec, warnings).
    pub source: DecodeInfo,
}

impl SpooledPcm {
    /// Length in samples (per channel) at `rate_hz`.
    pub fn len(&self) -> usize {
        self.mono.as_ref().or_else(|| self.channels.as_ref().and_then(|c| c.first())).map_or(0, Plane::len)
    }

    /// Whether no sample was decoded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the planes lie in files.
    pub fn is_spilled(&self) -> bool {
        self.mono.iter().chain(self.channels.iter().flatten()).any(Plane::is_spilled)
    }
}

/// Decodes `path` once at `rate_hz` (the samples of [`crate::media::pcm::load_pcm`], bit for
/// bit) and keeps the planes in memory while they hold at most `memory_samples` samples in all,
/// in unlinked temporary files under `spill_dir` past that.
pub fn spool_pcm(
    path: &Path,
    rate_hz: u32,
    layout: PcmLayout,
    memory_samples: usize,
    spill_dir: &Path,
) -> Result<SpooledPcm, PcmError> {
    let spool = Spool::new(rate_hz, layout, memory_samples, spill_dir);
    run_spool(spool, &path.display().to_string(), |sink| stream_pcm(path, rate_hz, layout, sink))
}

/// Runs `stream` into `spool` and finishes it; a failed write is reported before the decode
/// error it caused. `name` labels errors.
fn run_spool(
    mut spool: Spool,
    name: &str,
    stream: impl FnOnce(&mut dyn PcmSink) -> Result<DecodeInfo, PcmError>,
) -> Result<SpooledPcm, PcmError> {
    let result = stream(&mut spool);
    let write_error = |source| PcmError::Write { name: name.to_string(), source };
    if let Some(e) = spool.error.take() {
        return Err(write_error(e));
    }
    spool.finish(result?).map_err(write_error)
}

/// Decodes through `stream` into memory: the spool without a limit (nothing spills; what a
/// container declares is reserved only up to [`MAX_RESERVE_SAMPLES`], so a lying header costs
/// nothing).
/// `name` labels errors. Behind [`crate::media::pcm::load_pcm`].
pub(crate) fn collect_pcm(
    name: &str,
    rate_hz: u32,
    layout: PcmLayout,
    stream: impl FnOnce(&mut dyn PcmSink) -> Result<DecodeInfo, PcmError>,
) -> Result<SourcePcm, PcmError> {
    let pcm = run_spool(Spool::new(rate_hz, layout, usize::MAX, Path::new("")), name, stream)?;
    let vec = |plane: Plane| plane.into_samples().map_err(|source| PcmError::Write { name: name.to_string(), source });
    Ok(SourcePcm {
        rate_hz,
        mono: pcm.mono.map(vec).transpose()?,
        channels: pcm.channels.map(|c| c.into_iter().map(vec).collect()).transpose()?,
        source: pcm.source,
    })
}

/// A plane being written: in memory, or appended to its file.
enum PlaneWriter {
    Memory(Vec<f32>),
    File(BufWriter<File>, usize),
}

impl PlaneWriter {
    fn push(&mut self, samples: &[f32]) -> io::Result<()> {
        match self {
            PlaneWriter::Memory(v) => v.extend_from_slice(samples),
            PlaneWriter::File(w, len) => {
                let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
                w.write_all(&bytes)?;
                *len += samples.len();
            }
        }
        Ok(())
    }

    /// Moves the samples held so far to a new unlinked file in `dir`.
    fn spill(&mut self, dir: &Path) -> io::Result<()> {
        if let PlaneWriter::Memory(v) = self {
            let held = std::mem::take(v);
            std::fs::create_dir_all(dir)?;
            let mut next = PlaneWriter::File(BufWriter::with_capacity(1 << 16, tempfile::tempfile_in(dir)?), 0);
            next.push(&held)?;
            *self = next;
        }
        Ok(())
    }

    fn finish(self) -> io::Result<Plane> {
        match self {
            PlaneWriter::Memory(v) => Ok(Plane::Memory(v)),
            PlaneWriter::File(w, len) => {
                let file = w.into_inner().map_err(io::IntoInnerError::into_error)?;
                Ok(Plane::File { file, len })
            }
        }
    }
}

/// The [`PcmSink`] behind [`spool_pcm`].
struct Spool {
    rate_hz: u32,
    layout: PcmLayout,
    memory_samples: usize,
    spill_dir: PathBuf,
    mono: PlaneWriter,
    channels: Vec<PlaneWriter>,
    /// Samples held in memory over every plane (until they spill).
    held: usize,
    error: Option<io::Error>,
}

impl Spool {
    fn new(rate_hz: u32, layout: PcmLayout, memory_samples: usize, spill_dir: &Path) -> Self {
        Spool {
            rate_hz,
            layout,
            memory_samples,
            spill_dir: spill_dir.to_path_buf(),
            mono: PlaneWriter::Memory(Vec::new()),
            channels: Vec::new(),
            held: 0,
            error: None,
        }
    }

    fn finish(self, source: DecodeInfo) -> io::Result<SpooledPcm> {
        let has_mono = self.layout != PcmLayout::Channels;
        let has_channels = self.layout != PcmLayout::Mono;
        let mono = self.mono.finish()?;
        let channels = self.channels.into_iter().map(PlaneWriter::finish).collect::<io::Result<Vec<_>>>()?;
        Ok(SpooledPcm {
            rate_hz: self.rate_hz,
            mono: has_mono.then_some(mono),
            channels: has_channels.then_some(channels),
            source,
        })
    }

    /// Appends to the planes, moving them all to files first when memory would pass its limit.
    fn append(&mut self, samples: usize, write: impl FnOnce(&mut Self) -> io::Result<()>) -> Result<(), SinkError> {
        let result = if self.held + samples > self.memory_samples { self.spill() } else { Ok(()) };
        self.held += samples;
        let result = result.and_then(|()| write(self));
        result.map_err(|e| self.failed(e))
    }

    /// Moves every plane to its file (once; later calls do nothing).
    fn spill(&mut self) -> io::Result<()> {
        let dir = &self.spill_dir;
        std::iter::once(&mut self.mono).chain(self.channels.iter_mut()).try_for_each(|p| p.spill(dir))
    }

    fn failed(&mut self, e: io::Error) -> SinkError {
        let message = format!("writing the decoded audio to a temporary file: {e}");
        self.error = Some(e);
        SinkError(message)
    }
}

impl PcmSink for Spool {
    /// A source whose container declares more than the limit goes to files from the first
    /// sample; otherwise the planes reserve what it declares (within the limit and at most
    /// [`MAX_RESERVE_SAMPLES`] in all: a lying header costs nothing), so they never grow past
    /// what they hold.
    fn start(&mut self, format: &StreamFormat) -> Result<(), SinkError> {
        if self.layout != PcmLayout::Mono {
            self.channels = (0..format.channels).map(|_| PlaneWriter::Memory(Vec::new())).collect();
        }
        let planes = usize::from(self.layout != PcmLayout::Channels) + self.channels.len();
        let declared = format.declared_frames.map_or(0, |n| {
            usize::try_from(resampled_len(n, format.sample_rate_hz, self.rate_hz)).unwrap_or(usize::MAX)
        });
        if declared.saturating_mul(planes) > self.memory_samples {
            return self.spill().map_err(|e| self.failed(e));
        }
        for plane in std::iter::once(&mut self.mono).chain(self.channels.iter_mut()) {
            if let PlaneWriter::Memory(v) = plane {
                v.reserve_exact(declared.min(MAX_RESERVE_SAMPLES as usize / planes.max(1)));
            }
        }
        Ok(())
    }

    fn mono(&mut self, samples: &[f32]) -> Result<(), SinkError> {
        self.append(samples.len(), |s| s.mono.push(samples))
    }

    fn channels(&mut self, planes: &[&[f32]]) -> Result<(), SinkError> {
        let samples = planes.iter().map(|p| p.len()).sum();
        self.append(samples, |s| s.channels.iter_mut().zip(planes).try_for_each(|(c, p)| c.push(p)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::pcm::load_pcm;

    /// A stereo 16-bit WAV at 44.1 kHz: a tone left, noise right.
    fn stereo_wav(dir: &Path, frames: usize) -> PathBuf {
        let path = dir.join("stereo.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 44_100,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec).expect("create");
        let mut rng = crate::dsp::rng::Rng::new(7);
        for n in 0..frames {
            let tone = (n as f64 * 0.031).sin() * 12_000.0;
            w.write_sample(tone as i16).expect("write");
            w.write_sample(((rng.uniform() - 0.5) * 20_000.0) as i16).expect("write");
        }
        w.finalize().expect("finalize");
        path
    }

    #[test]
    fn spilled_planes_read_back_the_decoded_samples_bit_for_bit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = stereo_wav(dir.path(), 100_000);
        let whole = load_pcm(&path, 48_000, PcmLayout::Both).expect("load");
        let (mono, channels) = (whole.mono.as_ref().expect("mono"), whole.channels.as_ref().expect("channels"));
        let spill_dir = dir.path().join("spill");
        let kept = spool_pcm(&path, 48_000, PcmLayout::Both, usize::MAX, &spill_dir).expect("spool");
        assert!(!kept.is_spilled());
        // The WAV declares its length: past the limit it goes to files from the start.
        assert_eq!(mono.len(), 108_844);
        let exact = spool_pcm(&path, 48_000, PcmLayout::Both, 3 * 108_844, &spill_dir).expect("spool");
        assert!(!exact.is_spilled());
        for limit in [0, 3 * 108_844 - 1] {
            let spooled = spool_pcm(&path, 48_000, PcmLayout::Both, limit, &spill_dir).expect("spool");
            assert!(spooled.is_spilled(), "limit {limit}");
            assert_eq!(spooled.len(), mono.len());
            assert_eq!(spooled.mono.as_ref().expect("mono").load().expect("load").as_ref(), mono.as_slice());
            let planes = spooled.channels.as_ref().expect("channels");
            for (plane, want) in planes.iter().zip(channels) {
                assert_eq!(plane.load().expect("load").as_ref(), want.as_slice());
                let mut piece = vec![0.0; 1_000];
                plane.read(54_321, &mut piece).expect("read");
                assert_eq!(piece, want[54_321..55_321]);
            }
            let mut past = vec![0.0; 10];
            let err = planes[0].read(mono.len() - 5, &mut past).expect_err("past the end");
            assert!(err.to_string().contains("past the end"), "{err}");
        }
        // The files are unlinked: nothing is left in the spill folder.
        assert_eq!(std::fs::read_dir(&spill_dir).expect("dir").count(), 0);
    }

    #[test]
    fn a_source_of_undeclared_length_moves_to_files_when_it_passes_the_limit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut spool = Spool::new(48_000, PcmLayout::Both, 1_000, dir.path());
        let format =
            StreamFormat { sample_rate_hz: 48_000, channels: 2, declared_frames: None, codec: "pcm_s16le".to_string() };
        spool.start(&format).expect("start");
        let (mut mono, mut left, mut right) = (Vec::new(), Vec::new(), Vec::new());
        let mut rng = crate::dsp::rng::Rng::new(3);
        for chunk in 0..9 {
            let n = 100 + chunk * 17;
            let m: Vec<f32> = (0..n).map(|_| rng.uniform() as f32).collect();
            let (l, r): (Vec<f32>, Vec<f32>) = m.iter().map(|x| (x * 0.5, -x)).unzip();
            spool.mono(&m).expect("mono");
            spool.channels(&[&l, &r]).expect("channels");
            assert_eq!(
                matches!(spool.mono, PlaneWriter::File(..)),
                (mono.len() + m.len()) * 3 > 1_000,
                "chunk {chunk}"
            );
            mono.extend(m);
            left.extend(l);
            right.extend(r);
        }
        let info = DecodeInfo {
            sample_rate_hz: 48_000,
            channels: 2,
            frames_decoded: mono.len() as u64,
            codec: format.codec.clone(),
            warnings: Vec::new(),
        };
        let pcm = spool.finish(info).expect("finish");
        assert!(pcm.is_spilled());
        assert_eq!(pcm.mono.as_ref().expect("mono").load().expect("load").as_ref(), mono.as_slice());
        let channels = pcm.channels.as_ref().expect("channels");
        assert_eq!(channels[0].load().expect("load").as_ref(), left.as_slice());
        assert_eq!(channels[1].load().expect("load").as_ref(), right.as_slice());
    }

    #[test]
    fn a_mono_layout_keeps_no_channels() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = stereo_wav(dir.path(), 10_000);
        let spooled = spool_pcm(&path, 44_100, PcmLayout::Mono, 0, dir.path()).expect("spool");
        assert!(spooled.channels.is_none());
        assert_eq!(spooled.len(), 10_000);
    }
}
