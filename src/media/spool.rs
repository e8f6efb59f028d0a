//! A source decoded once and kept where it fits: resampled signals (planes) stay in memory
//! up to a limit, and past it every plane moves to an unlinked temporary file, read back by
//! position. Consumers that stream (the features, the video's audio track) then read what
//! they need piece by piece, so a long source costs disk, not memory. The channels are
//! resampled only when a consumer asks for them, and an integer WAV is read in place instead
//! of decoded.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use crate::dsp::resample::{StreamResampler, resampled_len};
#[cfg(unix)]
use crate::media::decode::{DecodeError, open_int_wav};
use crate::media::decode::{DecodeInfo, MAX_RESERVE_SAMPLES, SinkError, StreamFormat};
use crate::media::pcm::{PcmError, PcmLayout, PcmSink, SourcePcm, stream_pcm_with};
use crate::media::stamp::FileStamp;
#[cfg(unix)]
use crate::media::wav_lenient::{IntWav, MonoScratch};

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
    /// Read by position from the source itself, an integer WAV, at the file's rate: its
    /// mixdown (`channel: None`) or one channel, the decoder's samples bit for bit.
    #[cfg(unix)]
    Wav {
        /// The open source.
        wav: Arc<IntWav>,
        /// `None` for the mixdown.
        channel: Option<usize>,
    },
    /// Handed to its one reader as it was made ([`spool_pcm`]'s tap with [`Tap::keep`] off) and
    /// not kept: its length alone. Reading it is an error.
    Passed {
        /// Samples it had.
        len: usize,
    },
}

impl Plane {
    /// Samples in the plane.
    pub fn len(&self) -> usize {
        match self {
            Plane::Memory(v) => v.len(),
            Plane::File { len, .. } | Plane::Passed { len } => *len,
            #[cfg(unix)]
            Plane::Wav { wav, .. } => usize::try_from(wav.frames()).unwrap_or(usize::MAX),
        }
    }

    /// Whether the plane holds no sample.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the plane lies in a file (a temporary one, or the source itself).
    pub fn is_spilled(&self) -> bool {
        !matches!(self, Plane::Memory(_) | Plane::Passed { .. })
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
            Plane::Passed { .. } => {
                Err(io::Error::other("the decoded signal was handed to its one reader as it was made and not kept"))
            }
            #[cfg(unix)]
            Plane::Wav { wav, channel } => {
                let mut scratch = MonoScratch::default();
                match channel {
                    None => wav.read_mono(start as u64, out, &mut scratch),
                    Some(c) => wav.read_channel(*c, start as u64, out, &mut scratch),
                }
                .map_err(|e| match e {
                    DecodeError::Io { source, .. } => source,
                    other => io::Error::other(other.to_string()),
                })
            }
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
            _ => {
                let mut v = vec![0.0; self.len()];
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
/// The channels are resampled the first time they are asked for (a consumer of the mixdown
/// alone never pays for them); until then they are kept as decoded, at the source's rate.
#[derive(Debug)]
pub struct SpooledPcm {
    /// Rate of every plane, in Hz.
    pub rate_hz: u32,
    /// `resample(channel mean)`, when asked for.
    pub mono: Option<Plane>,
    /// Every channel, when asked for.
    channels: Option<Channels>,
    /// What the decoder reported (source rate, channel count, frames, codec, warnings).
    pub source: DecodeInfo,
    /// Whether the planes together hold more samples than the memory limit they were made
    /// with (they then lie in files; a consumer reads them piece by piece instead of whole).
    pub long: bool,
}

/// A source's channels at the decode's rate, made from the decoded ones on first use.
#[derive(Debug)]
struct Channels {
    count: usize,
    ready: OnceLock<Vec<Plane>>,
    /// The decoded channels still to resample (taken when `ready` is set).
    pending: Mutex<Option<Pending>>,
}

/// Decoded channels at `from_hz`, and where their resampled planes go.
#[derive(Debug)]
struct Pending {
    from_hz: u32,
    planes: Vec<Plane>,
    /// The resampled planes go to unlinked files in `spill_dir` instead of memory.
    to_files: bool,
    spill_dir: PathBuf,
}

impl Channels {
    /// Channels already at the rate.
    fn ready(planes: Vec<Plane>) -> Self {
        let count = planes.len();
        Channels { count, ready: OnceLock::from(planes), pending: Mutex::new(None) }
    }

    /// Channels still to resample.
    fn pending(pending: Pending) -> Self {
        Channels { count: pending.planes.len(), ready: OnceLock::new(), pending: Mutex::new(Some(pending)) }
    }

    fn get(&self, rate_hz: u32) -> io::Result<&[Plane]> {
        if let Some(planes) = self.ready.get() {
            return Ok(planes);
        }
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(planes) = self.ready.get() {
            return Ok(planes);
        }
        let Some(p) = pending.as_ref() else {
            return Err(io::Error::other("the decoded channels are gone"));
        };
        let planes = resample_planes(p, rate_hz)?;
        *pending = None;
        Ok(self.ready.get_or_init(|| planes))
    }

    /// Length of the channels at `rate_hz` (resampled or not yet).
    fn len(&self, rate_hz: u32) -> usize {
        let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        match (self.ready.get(), pending.as_ref()) {
            (Some(planes), _) => planes.first().map_or(0, Plane::len),
            (None, Some(p)) => p.planes.first().map_or(0, |plane| {
                usize::try_from(resampled_len(plane.len() as u64, p.from_hz, rate_hz)).unwrap_or(usize::MAX)
            }),
            (None, None) => 0,
        }
    }

    #[cfg(test)]
    fn is_spilled(&self) -> bool {
        if let Some(planes) = self.ready.get() {
            return planes.iter().any(Plane::is_spilled);
        }
        let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.as_ref().is_some_and(|p| p.to_files || p.planes.iter().any(Plane::is_spilled))
    }
}

/// Samples read from a decoded plane per step while it is resampled.
const RESAMPLE_READ_SAMPLES: usize = 1 << 16;

/// `plane` (at `from_hz`) resampled to `rate_hz`, read in pieces: the stream resampler's bits
/// whatever the pieces, so those of resampling while decoding. Into an unlinked file in
/// `to_file` when given, else into memory; `tap` sees every resampled piece, in order.
fn resample_plane(
    plane: &Plane,
    from_hz: u32,
    rate_hz: u32,
    to_file: Option<&Path>,
    keep: bool,
    tap: &mut dyn FnMut(&[f32]),
) -> io::Result<Plane> {
    let len = usize::try_from(resampled_len(plane.len() as u64, from_hz, rate_hz)).unwrap_or(0);
    let mut writer = PlaneWriter::new(keep, to_file, len)?;
    let mut resampler = StreamResampler::new(from_hz, rate_hz).map_err(io::Error::other)?;
    let mut failed = None;
    let mut write = |chunk: &[f32]| {
        if failed.is_none() {
            failed = writer.push(chunk).err();
            tap(chunk);
        }
    };
    let mut buf = vec![0.0; RESAMPLE_READ_SAMPLES.min(plane.len())];
    for start in (0..plane.len()).step_by(RESAMPLE_READ_SAMPLES) {
        let piece = &mut buf[..RESAMPLE_READ_SAMPLES.min(plane.len() - start)];
        plane.read(start, piece)?;
        resampler.push(piece, &mut write).map_err(io::Error::other)?;
    }
    resampler.finish(&mut write).map_err(io::Error::other)?;
    if let Some(e) = failed {
        return Err(e);
    }
    writer.finish()
}

/// Every pending plane resampled to `rate_hz` ([`resample_plane`]), on up to as many threads
/// as the current rayon pool has (`-j`).
fn resample_planes(p: &Pending, rate_hz: u32) -> io::Result<Vec<Plane>> {
    let to_file = p.to_files.then_some(p.spill_dir.as_path());
    let one = |plane: &Plane| resample_plane(plane, p.from_hz, rate_hz, to_file, true, &mut |_| {});
    let threads = rayon::current_num_threads().clamp(1, p.planes.len().max(1));
    let per_thread = p.planes.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let mut groups = p.planes.chunks(per_thread);
        let first = groups.next().unwrap_or(&[]);
        let others: Vec<_> =
            groups.map(|g| scope.spawn(move || g.iter().map(one).collect::<io::Result<Vec<_>>>())).collect();
        let mut planes = first.iter().map(one).collect::<io::Result<Vec<_>>>()?;
        for handle in others {
            planes.extend(handle.join().unwrap_or_else(|e| std::panic::resume_unwind(e))?);
        }
        Ok(planes)
    })
}

impl SpooledPcm {
    /// Length in samples (per channel) at `rate_hz`.
    pub fn len(&self) -> usize {
        match (&self.mono, &self.channels) {
            (Some(m), _) => m.len(),
            (None, Some(c)) => c.len(self.rate_hz),
            (None, None) => 0,
        }
    }

    /// Whether no sample was decoded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the planes lie in files (consumers go by [`Self::long`]).
    #[cfg(test)]
    fn is_spilled(&self) -> bool {
        self.mono.as_ref().is_some_and(Plane::is_spilled) || self.channels.as_ref().is_some_and(Channels::is_spilled)
    }

    /// How many channels the source has (none when the layout left them out).
    pub fn channel_count(&self) -> usize {
        self.channels.as_ref().map_or(0, |c| c.count)
    }

    /// Every channel at the rate, in the file's order (none when the layout left them out):
    /// resampled on the first call (while that runs, other callers wait for it), the same
    /// planes after.
    pub fn channels(&self) -> io::Result<&[Plane]> {
        self.channels.as_ref().map_or(Ok(&[]), |c| c.get(self.rate_hz))
    }
}

/// Decodes `path` once at `rate_hz` (the samples of [`crate::media::pcm::load_pcm`], bit for
/// bit) and keeps the planes in memory while they hold at most `memory_samples` samples in all,
/// in unlinked temporary files under `spill_dir` past that.
///
/// An integer WAV is not decoded at all when `trusted` accepts the opened file's stamp (the
/// caller checks it is the file whose content it keyed on): its planes read the file by position
/// (the same samples), those at another rate through the resampler. An edit in place while such
/// a plane is read makes that read fail instead of mixing old and new samples.
///
/// `mono_tap` is handed the mixdown at the rate in order, piece by piece, as it is
/// made: while decoding, or while resampling an integer WAV read in place. A consumer that would
/// read the whole mixdown anyway (the features) works on it meanwhile. A mixdown that needs no
/// making (an integer WAV at the rate, read by position) is not handed over: the tap then sees
/// fewer samples than the plane holds (none), and the consumer reads the plane instead.
/// With [`Tap::keep`] off, a mixdown that is made is handed to the tap and not kept (the plane
/// is [`Plane::Passed`]): for a consumer that is the only reader of the decode.
pub fn spool_pcm(
    path: &Path,
    rate_hz: u32,
    layout: PcmLayout,
    memory_samples: usize,
    spill_dir: &Path,
    trusted: impl FnOnce(&FileStamp) -> bool,
    tap: Tap<'_>,
) -> Result<SpooledPcm, PcmError> {
    #[cfg(unix)]
    if let Some(wav) = open_int_wav(path).filter(|w| trusted(&w.stamp())) {
        let name = path.display().to_string();
        return in_place(wav, rate_hz, layout, memory_samples, spill_dir, tap)
            .map_err(|source| PcmError::Decode(DecodeError::Io { name, source }));
    }
    #[cfg(not(unix))]
    let _ = trusted;
    let mut spool = Spool::new(rate_hz, layout, memory_samples, spill_dir);
    spool.defer = true;
    if !tap.keep {
        spool.mono = PlaneWriter::Passed(0);
    }
    spool.tap = Some(tap.see);
    run_spool(spool, &path.display().to_string(), |sink| stream_pcm_with(path, rate_hz, layout, true, sink))
}

/// What [`spool_pcm`] hands the mixdown to as it is made, and whether the decode keeps it too.
pub struct Tap<'t> {
    /// Sees the mixdown in order, piece by piece.
    pub see: &'t mut MonoTap<'t>,
    /// Keep the mixdown as a plane for every reader of the decode (off: its length alone).
    pub keep: bool,
}

impl<'t> Tap<'t> {
    /// `see` looks on; the decode keeps the mixdown.
    pub fn keeping(see: &'t mut MonoTap<'t>) -> Self {
        Tap { see, keep: true }
    }
}

/// The planes of an integer WAV, read from the file by position: as they are at the file's
/// rate; at another rate the mixdown is resampled now (into memory, or into a file when the
/// planes at the rate would pass `memory_samples`, or nowhere when the tap alone takes it; the
/// tap sees it) and the channels when first asked for.
#[cfg(unix)]
fn in_place(
    wav: IntWav,
    rate_hz: u32,
    layout: PcmLayout,
    memory_samples: usize,
    spill_dir: &Path,
    tap: Tap<'_>,
) -> io::Result<SpooledPcm> {
    let (source, count, from_hz) = (wav.info(), wav.channels(), wav.sample_rate_hz());
    let wav = Arc::new(wav);
    let plane = |channel| Plane::Wav { wav: Arc::clone(&wav), channel };
    let (has_mono, has_channels) = (layout != PcmLayout::Channels, layout != PcmLayout::Mono);
    // A mixdown made for the tap alone is not held anywhere.
    let kept_mono = has_mono && (tap.keep || from_hz == rate_hz);
    let planes = usize::from(kept_mono) + if has_channels { count } else { 0 };
    let frames = resampled_len(source.frames_decoded, from_hz, rate_hz);
    let long = usize::try_from(frames).unwrap_or(usize::MAX).saturating_mul(planes) > memory_samples;
    let to_file = long.then_some(spill_dir);
    let mono = match (has_mono, from_hz == rate_hz) {
        (false, _) => None,
        (true, true) => Some(plane(None)),
        (true, false) => Some(resample_plane(&plane(None), from_hz, rate_hz, to_file, tap.keep, tap.see)?),
    };
    let channels = has_channels.then(|| {
        let planes = (0..count).map(|c| plane(Some(c))).collect();
        if from_hz == rate_hz {
            Channels::ready(planes)
        } else {
            Channels::pending(Pending { from_hz, planes, to_files: long, spill_dir: spill_dir.to_path_buf() })
        }
    });
    Ok(SpooledPcm { rate_hz, mono, channels, source, long })
}

/// Runs `stream` into `spool` and finishes it; a failed write is reported before the decode
/// error it caused. `name` labels errors.
fn run_spool(
    mut spool: Spool<'_>,
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
    // Not deferred: the channels are ready.
    let channels = pcm.channels.and_then(|c| c.ready.into_inner());
    Ok(SourcePcm {
        rate_hz,
        mono: pcm.mono.map(vec).transpose()?,
        channels: channels.map(|c| c.into_iter().map(vec).collect()).transpose()?,
        source: pcm.source,
    })
}

/// A plane being written: in memory, or appended to its file.
enum PlaneWriter {
    Memory(Vec<f32>),
    File(BufWriter<File>, usize),
    /// Counts the samples and keeps none ([`Plane::Passed`]).
    Passed(usize),
}

impl PlaneWriter {
    /// Where a plane goes: into a file in `dir` when given, else memory; nowhere (counted
    /// only) when it is not kept.
    fn new(keep: bool, to_file: Option<&Path>, reserve: usize) -> io::Result<Self> {
        Ok(match (keep, to_file) {
            (false, _) => PlaneWriter::Passed(0),
            (true, Some(dir)) => {
                std::fs::create_dir_all(dir)?;
                PlaneWriter::File(BufWriter::with_capacity(1 << 16, tempfile::tempfile_in(dir)?), 0)
            }
            (true, None) => PlaneWriter::Memory(Vec::with_capacity(reserve)),
        })
    }

    fn push(&mut self, samples: &[f32]) -> io::Result<()> {
        match self {
            PlaneWriter::Memory(v) => v.extend_from_slice(samples),
            PlaneWriter::Passed(len) => *len += samples.len(),
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
            let mut next = PlaneWriter::new(true, Some(dir), 0)?;
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
            PlaneWriter::Passed(len) => Ok(Plane::Passed { len }),
        }
    }
}

/// The [`PcmSink`] behind [`spool_pcm`].
struct Spool<'t> {
    rate_hz: u32,
    layout: PcmLayout,
    memory_samples: usize,
    spill_dir: PathBuf,
    mono: PlaneWriter,
    channels: Vec<PlaneWriter>,
    /// The channels come as decoded (at `source_hz`), to be resampled when first asked for.
    defer: bool,
    /// The decoder's rate.
    source_hz: u32,
    /// Samples held in memory over every plane (until they spill).
    held: usize,
    error: Option<io::Error>,
    /// Sees the mixdown as it is written ([`spool_pcm`]).
    tap: Option<&'t mut MonoTap<'t>>,
}

/// What [`spool_pcm`] hands the mixdown to.
pub type MonoTap<'t> = dyn FnMut(&[f32]) + 't;

impl Spool<'_> {
    fn new(rate_hz: u32, layout: PcmLayout, memory_samples: usize, spill_dir: &Path) -> Self {
        Spool {
            rate_hz,
            layout,
            memory_samples,
            spill_dir: spill_dir.to_path_buf(),
            mono: PlaneWriter::Memory(Vec::new()),
            channels: Vec::new(),
            defer: false,
            source_hz: rate_hz,
            held: 0,
            error: None,
            tap: None,
        }
    }

    /// Counts the samples of every plane at the rate: past the memory limit the planes are
    /// `long`, and channels still to resample go to files when memory cannot take them too.
    fn finish(self, source: DecodeInfo) -> io::Result<SpooledPcm> {
        let (rate_hz, limit) = (self.rate_hz, self.memory_samples);
        let has_mono = self.layout != PcmLayout::Channels;
        let has_channels = self.layout != PcmLayout::Mono;
        let mono = self.mono.finish()?;
        let channels = self.channels.into_iter().map(PlaneWriter::finish).collect::<io::Result<Vec<_>>>()?;
        let spilled = mono.is_spilled() || channels.iter().any(Plane::is_spilled);
        let from_hz = self.source_hz;
        let at_rate =
            |plane: &Plane| usize::try_from(resampled_len(plane.len() as u64, from_hz, rate_hz)).unwrap_or(usize::MAX);
        let channel_samples = channels.iter().map(at_rate).fold(0, usize::saturating_add);
        let mono_samples = if has_mono && !matches!(mono, Plane::Passed { .. }) { mono.len() } else { 0 };
        let long = spilled || mono_samples.saturating_add(channel_samples) > limit;
        let channels = if self.defer && from_hz != rate_hz {
            let to_files = spilled || self.held.saturating_add(channel_samples) > limit;
            Channels::pending(Pending { from_hz, planes: channels, to_files, spill_dir: self.spill_dir })
        } else {
            Channels::ready(channels)
        };
        Ok(SpooledPcm {
            rate_hz,
            mono: has_mono.then_some(mono),
            channels: has_channels.then_some(channels),
            source,
            long,
        })
    }

    /// Whether the mixdown is kept (not only handed to the tap).
    fn keeps_mono(&self) -> bool {
        !matches!(self.mono, PlaneWriter::Passed(_))
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

impl PcmSink for Spool<'_> {
    /// A source whose container declares more than the limit goes to files from the first
    /// sample; otherwise the planes reserve what it declares (within the limit and at most
    /// [`MAX_RESERVE_SAMPLES`] in all: a lying header costs nothing), so they never grow past
    /// what they hold.
    fn start(&mut self, format: &StreamFormat) -> Result<(), SinkError> {
        self.source_hz = format.sample_rate_hz;
        if self.layout != PcmLayout::Mono {
            self.channels = (0..format.channels).map(|_| PlaneWriter::Memory(Vec::new())).collect();
        }
        let planes = usize::from(self.layout != PcmLayout::Channels && self.keeps_mono()) + self.channels.len();
        let at = |rate_hz| {
            format
                .declared_frames
                .map_or(0, |n| usize::try_from(resampled_len(n, format.sample_rate_hz, rate_hz)).unwrap_or(usize::MAX))
        };
        let declared = at(self.rate_hz);
        if declared.saturating_mul(planes) > self.memory_samples {
            return self.spill().map_err(|e| self.failed(e));
        }
        // Deferred channels arrive at the source's rate.
        let declared_channels = if self.defer { at(format.sample_rate_hz) } else { declared };
        let most = MAX_RESERVE_SAMPLES as usize / planes.max(1);
        if let PlaneWriter::Memory(v) = &mut self.mono {
            v.reserve_exact(declared.min(most));
        }
        for plane in &mut self.channels {
            if let PlaneWriter::Memory(v) = plane {
                v.reserve_exact(declared_channels.min(most));
            }
        }
        Ok(())
    }

    fn mono(&mut self, samples: &[f32]) -> Result<(), SinkError> {
        if self.keeps_mono() {
            self.append(samples.len(), |s| s.mono.push(samples))?;
        } else {
            // Counted only: nothing is held, nothing can fail.
            let _ = self.mono.push(samples);
        }
        if let Some(tap) = &mut self.tap {
            tap(samples);
        }
        Ok(())
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

    /// [`spool_pcm`] keeping every signal, the tap looking on idly; `in_place`: whether the
    /// caller vouches for the opened file (an integer WAV is then read by position).
    fn spool_kept(path: &Path, rate: u32, layout: PcmLayout, limit: usize, dir: &Path, in_place: bool) -> SpooledPcm {
        spool_pcm(path, rate, layout, limit, dir, |_| in_place, Tap::keeping(&mut |_| {})).expect("spool")
    }

    /// The bits of each sample, to compare signals exactly.
    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn the_tap_sees_the_mixdown_as_it_is_made_and_only_then() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = stereo_wav(dir.path(), 100_003);
        let spill_dir = dir.path().join("spill");
        // Decoded (not vouched for) or read in place, at another rate or the file's, in memory
        // or past the limit.
        for (in_place, rate, limit) in [
            (false, 48_000, usize::MAX),
            (false, 48_000, 0),
            (true, 48_000, usize::MAX),
            (true, 48_000, 0),
            (false, 44_100, usize::MAX),
            (true, 44_100, usize::MAX),
        ] {
            let mut seen = Vec::new();
            let mut tap = |s: &[f32]| seen.extend_from_slice(s);
            let pcm = spool_pcm(&path, rate, PcmLayout::Both, limit, &spill_dir, |_| in_place, Tap::keeping(&mut tap))
                .expect("spool");
            let plane = pcm.mono.as_ref().expect("mono").load().expect("load");
            if in_place && rate == 44_100 {
                // Read by position: nothing was made, nothing handed over.
                assert!(seen.is_empty());
            } else {
                assert_eq!(bits(&seen), bits(&plane), "in place {in_place}, {rate} Hz, limit {limit}");
            }
        }
    }

    /// Without `keep`, a mixdown that is made goes to the tap alone: the plane holds its length
    /// and nothing else (reading it fails), nothing is spilled even past the memory limit, and
    /// the tap saw what a kept decode holds. A mixdown read by position is not made, so it stays.
    #[test]
    fn a_mixdown_handed_to_its_one_reader_is_not_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = stereo_wav(dir.path(), 100_003);
        let spill_dir = dir.path().join("spill");
        for (in_place, rate, limit) in
            [(false, 48_000, usize::MAX), (false, 48_000, 0), (true, 48_000, 0), (false, 44_100, 0), (true, 44_100, 0)]
        {
            let case = format!("in place {in_place}, {rate} Hz, limit {limit}");
            let kept = spool_kept(&path, rate, PcmLayout::Mono, usize::MAX, &spill_dir, in_place);
            let kept = kept.mono.as_ref().expect("mono").load().expect("load").into_owned();
            let mut seen = Vec::new();
            let mut see = |s: &[f32]| seen.extend_from_slice(s);
            let tap = Tap { see: &mut see, keep: false };
            let pcm = spool_pcm(&path, rate, PcmLayout::Mono, limit, &spill_dir, |_| in_place, tap).expect("spool");
            let mono = pcm.mono.as_ref().expect("mono");
            assert_eq!(mono.len(), kept.len(), "{case}");
            if in_place && rate == 44_100 {
                assert!(seen.is_empty(), "{case}");
                assert!(matches!(mono, Plane::Wav { .. }), "{case}");
                continue;
            }
            assert!(matches!(mono, Plane::Passed { .. }), "{case}");
            assert!(mono.read(0, &mut [0.0; 4]).is_err(), "{case}");
            assert!(!pcm.long && !pcm.is_spilled(), "{case}");
            assert_eq!(bits(&seen), bits(&kept), "{case}");
        }
    }

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
        // Decoded (the caller does not vouch for the file, so it is not read in place).
        let whole = load_pcm(&path, 48_000, PcmLayout::Both).expect("load");
        let (mono, channels) = (whole.mono.as_ref().expect("mono"), whole.channels.as_ref().expect("channels"));
        let spill_dir = dir.path().join("spill");
        let kept = spool_kept(&path, 48_000, PcmLayout::Both, usize::MAX, &spill_dir, false);
        assert!(!kept.is_spilled());
        // The WAV declares its length: past the limit it goes to files from the start.
        assert_eq!(mono.len(), 108_844);
        // At the limit the planes fit, but the decoded channels (at 44.1 kHz, until a consumer
        // asks for them) and the resampled ones do not fit beside each other: the resampled
        // ones go to files, so memory never holds more than the limit.
        let exact = spool_kept(&path, 48_000, PcmLayout::Both, 3 * 108_844, &spill_dir, false);
        assert!(!exact.mono.as_ref().expect("mono").is_spilled() && !exact.long);
        assert!(exact.channels().expect("channels").iter().all(Plane::is_spilled));
        let room = 108_844 + 2 * 100_000 + 2 * 108_844;
        let roomy = spool_kept(&path, 48_000, PcmLayout::Both, room, &spill_dir, false);
        assert!(!roomy.is_spilled() && !roomy.channels().expect("channels").iter().any(Plane::is_spilled));
        for (limit, spooled) in [(usize::MAX, kept), (3 * 108_844, exact), (room, roomy)] {
            assert_eq!(spooled.len(), mono.len());
            assert_eq!(spooled.channel_count(), 2);
            let planes = spooled.channels().expect("channels");
            assert_eq!(planes.len(), 2);
            for (plane, want) in planes.iter().zip(channels) {
                assert_eq!(plane.load().expect("load").as_ref(), want.as_slice(), "limit {limit}");
            }
        }
        for limit in [0, 3 * 108_844 - 1] {
            let spooled = spool_kept(&path, 48_000, PcmLayout::Both, limit, &spill_dir, false);
            assert!(spooled.is_spilled() && spooled.long, "limit {limit}");
            assert_eq!(spooled.len(), mono.len());
            assert_eq!(spooled.mono.as_ref().expect("mono").load().expect("load").as_ref(), mono.as_slice());
            let planes = spooled.channels().expect("channels");
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
    fn the_mixdown_is_the_same_resampled_on_its_own_thread_or_in_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = stereo_wav(dir.path(), 150_000);
        let want = load_pcm(&path, 48_000, PcmLayout::Mono).expect("load").mono.expect("mono");
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
            let spooled = pool.install(|| spool_kept(&path, 48_000, PcmLayout::Both, usize::MAX, dir.path(), false));
            let mono = spooled.mono.as_ref().expect("mono").load().expect("load");
            assert_eq!(mono.as_ref(), want.as_slice(), "{threads} threads");
        }
    }

    #[test]
    fn the_channels_are_resampled_once_when_first_asked_for() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = stereo_wav(dir.path(), 50_000);
        for in_place in [false, true] {
            channels_resampled_once(dir.path(), &path, in_place);
        }
    }

    fn channels_resampled_once(dir: &Path, path: &Path, in_place: bool) {
        let spooled = spool_kept(path, 48_000, PcmLayout::Both, usize::MAX, dir, in_place);
        let channels = spooled.channels.as_ref().expect("channels");
        // Not resampled yet: a consumer of the mixdown alone never pays for them.
        assert!(channels.ready.get().is_none());
        assert_eq!((spooled.channel_count(), spooled.len()), (2, 54_422));
        let planes: Vec<usize> = std::thread::scope(|scope| {
            let askers: Vec<_> =
                (0..4).map(|_| scope.spawn(|| spooled.channels().expect("channels").as_ptr() as usize)).collect();
            askers.into_iter().map(|a| a.join().expect("asker")).collect()
        });
        assert!(planes.windows(2).all(|w| w[0] == w[1]), "every caller gets the same planes");
        assert!(channels.pending.lock().expect("lock").is_none(), "the decoded channels are dropped");
        let want = load_pcm(path, 48_000, PcmLayout::Channels).expect("load").channels.expect("channels");
        for (plane, want) in spooled.channels().expect("channels").iter().zip(&want) {
            assert_eq!(plane.load().expect("load").as_ref(), want.as_slice(), "in place: {in_place}");
        }
        // At the source's rate there is nothing to resample.
        let native = spool_kept(path, 44_100, PcmLayout::Both, usize::MAX, dir, in_place);
        assert!(native.channels.as_ref().expect("channels").ready.get().is_some());
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
        let channels = pcm.channels().expect("channels");
        assert_eq!(channels[0].load().expect("load").as_ref(), left.as_slice());
        assert_eq!(channels[1].load().expect("load").as_ref(), right.as_slice());
    }

    /// A WAV of `channels` channels of `bits`-bit integers at 44.1 kHz: tones and noise.
    fn int_wav(dir: &Path, channels: u16, bits: u16, frames: usize) -> PathBuf {
        let path = dir.join(format!("int{channels}x{bits}.wav"));
        let spec = hound::WavSpec {
            channels,
            sample_rate: 44_100,
            bits_per_sample: bits,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec).expect("create");
        let mut rng = crate::dsp::rng::Rng::new(u64::from(channels * bits));
        let full = f64::from((1u32 << (bits - 1)) - 1);
        for n in 0..frames {
            for c in 0..channels {
                let tone = (n as f64 * 0.013 * f64::from(c + 1)).sin() * 0.6 + (rng.uniform() - 0.5) * 0.3;
                w.write_sample((tone * full) as i32).expect("write");
            }
        }
        w.finalize().expect("finalize");
        path
    }

    #[test]
    fn an_integer_wav_at_the_rate_is_read_in_place_with_the_decoded_samples() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spill_dir = dir.path().join("spill");
        for (channels, depth) in [(1, 16), (2, 16), (2, 24), (3, 32)] {
            let frames = 30_011;
            let path = int_wav(dir.path(), channels, depth, frames);
            let decoded = spool_kept(&path, 44_100, PcmLayout::Both, usize::MAX, &spill_dir, false);
            assert!(!decoded.is_spilled(), "refused: decoded into memory");
            let planes = usize::from(channels) + 1;
            for limit in [usize::MAX, frames * planes, frames * planes - 1] {
                let label = format!("{channels}x{depth}, limit {limit}");
                let wav = spool_kept(&path, 44_100, PcmLayout::Both, limit, &spill_dir, true);
                assert!(wav.is_spilled(), "{label}: read from the file");
                assert_eq!(wav.long, limit < frames * planes, "{label}");
                assert_eq!(wav.source, decoded.source, "{label}");
                assert_eq!(wav.len(), frames);
                let (m, want) = (wav.mono.as_ref().expect("mono"), decoded.mono.as_ref().expect("mono"));
                assert_eq!(bits(&m.load().expect("load")), bits(&want.load().expect("load")), "{label}");
                let (got, want) = (wav.channels().expect("channels"), decoded.channels().expect("channels"));
                assert_eq!(got.len(), usize::from(channels));
                for (g, w) in got.iter().zip(want) {
                    assert_eq!(bits(&g.load().expect("load")), bits(&w.load().expect("load")), "{label}");
                    let mut piece = vec![0.0; 777];
                    g.read(12_345, &mut piece).expect("read");
                    assert_eq!(bits(&piece), bits(&w.load().expect("load")[12_345..13_122]), "{label}");
                }
            }
        }
        // At another rate the mixdown is resampled from the file now, the channels when asked
        // for: the decoded and resampled samples, in memory or (past the limit) in files.
        let path = int_wav(dir.path(), 2, 24, 40_000);
        let decoded = spool_kept(&path, 48_000, PcmLayout::Both, usize::MAX, &spill_dir, false);
        let (want_mono, want_channels) = (
            bits(&decoded.mono.as_ref().expect("mono").load().expect("load")),
            decoded.channels().expect("channels").iter().map(|p| bits(&p.load().expect("load"))).collect::<Vec<_>>(),
        );
        for limit in [usize::MAX, 0] {
            let wav = spool_kept(&path, 48_000, PcmLayout::Both, limit, &spill_dir, true);
            let mono = wav.mono.as_ref().expect("mono");
            assert_eq!(mono.is_spilled(), limit == 0);
            assert_eq!(wav.long, limit == 0);
            assert_eq!((wav.len(), wav.source.clone()), (decoded.len(), decoded.source.clone()));
            assert_eq!(bits(&mono.load().expect("load")), want_mono, "limit {limit}");
            let channels = wav.channels().expect("channels");
            let got: Vec<_> = channels.iter().map(|p| bits(&p.load().expect("load"))).collect();
            assert_eq!(got, want_channels, "limit {limit}");
        }
    }

    #[test]
    fn a_wav_edited_in_place_while_read_by_position_fails_the_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = int_wav(dir.path(), 2, 16, 20_000);
        let wav = spool_kept(&path, 44_100, PcmLayout::Both, usize::MAX, dir.path(), true);
        let mut piece = vec![0.0; 100];
        wav.mono.as_ref().expect("mono").read(0, &mut piece).expect("read before the edit");
        // Rewrite the samples in place (same inode, same size), later than the first write.
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut bytes = std::fs::read(&path).expect("read");
        let n = bytes.len();
        bytes[n - 400..].iter_mut().for_each(|b| *b = b.wrapping_add(1));
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, &bytes))
            .expect("edit in place");
        let err = wav.channels().expect("channels")[1].read(19_000, &mut piece).expect_err("edited");
        assert!(err.to_string().contains("changed while it was being read"), "{err}");
        // A caller that does not vouch for the opened file gets it decoded instead.
        let decoded = spool_kept(&path, 44_100, PcmLayout::Both, usize::MAX, dir.path(), false);
        assert!(!decoded.is_spilled());
    }

    #[test]
    fn a_mono_layout_keeps_no_channels() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = stereo_wav(dir.path(), 10_000);
        let spooled = spool_kept(&path, 44_100, PcmLayout::Mono, 0, dir.path(), false);
        assert!(spooled.channels.is_none());
        assert_eq!(spooled.len(), 10_000);
    }
}
