//! The song flow's arrangement artifacts and every song's loudness artifacts.
//!
//! An arrangement (`[song.NAME]` with instruments) declares, under `renders/song/NAME/`:
//! `stems/<instrument>.wav` (one per instrument: its chain, notes, lanes and mix, and the audio
//! of its sampler layers), `song.wav` (the stems summed through the master) and
//! `loudness.{json,csv,png}` (read from `song.wav`). Every song — a drum-pattern song too —
//! gets the loudness artifacts. So an edit to one instrument, note or lane re-renders that
//! stem, the mix and the loudness files, and nothing else.

use std::sync::Arc;

use serde::Serialize;

use crate::arrange::automation::SmoothingWindow;
use crate::arrange::loudness::{Loudness, LoudnessReport, analyze_frames};
use crate::arrange::mix::{MasterParams, PIECE, StemSum};
use crate::arrange::render::{render_stem_into, smoothing_windows};
use crate::arrange::sampler::{Clip, ClipError, ClipReader};
use crate::arrange::tempo::{TempoMap, TempoParams};
use crate::arrange::timing::{Timing, TimingParams};
use crate::arrange::{InstrumentParams, schema};
use crate::engine::action::{Action, ArtifactDecl, Cx};
use crate::engine::error::BuildError;
use crate::engine::inputs::audio_inputs;
use crate::media::spool::SpooledPcm;
use crate::media::{loudness as loudness_files, loudness_plot, wav};
use crate::project::album::AudioRef;
use crate::project::arrangement::{ArrangementSpec, InstrumentSpec};
use crate::store::Digest;

/// Bits of the stems and the mix.
pub const BITS: u16 = 24;

/// The artifacts of an arrangement: a stem per instrument, the mix, the loudness files.
pub fn artifacts(id: &str, arr: &ArrangementSpec) -> Vec<ArtifactDecl> {
    let mut out = Vec::new();
    let mut stems = Vec::new();
    for inst in &arr.instruments {
        let (deps, files) = audio_inputs(&inst.sources);
        let rel = stem_file(&inst.params.name);
        let decl =
            ArtifactDecl::new(id, rel, StemWav { instrument: Arc::new(inst.clone()), timing: arr.timing.clone() })
                .deps(deps)
                .files(files);
        stems.push(decl.id.clone());
        out.push(decl);
    }
    let names = arr.instruments.iter().map(|i| i.params.name.clone()).collect();
    out.push(
        ArtifactDecl::new(
            id,
            "song.wav",
            ArrangementMix {
                instruments: names,
                master: arr.master,
                sample_rate_hz: arr.timing.sample_rate_hz,
                length: Timing::new(&arr.timing).ok().map(|t| (t.length_samples, t.sample_rate_hz)),
            },
        )
        .deps(stems),
    );
    let smoothing = arr
        .timing()
        .map(|t| arr.instruments.iter().flat_map(|i| smoothing_windows(&i.params, &t)).collect())
        .unwrap_or_default();
    out.extend(loudness_artifacts(id, &arr.timing.tempo, Some(arr.master), smoothing));
    out
}

/// `stems/<instrument>.wav`.
pub fn stem_file(instrument: &str) -> String {
    format!("stems/{instrument}.wav")
}

/// `loudness.json`, `loudness.csv` and `loudness.png` of the song `id` (read from its
/// `song.wav`), beats counted through `tempo`.
pub fn loudness_artifacts(
    id: &str,
    tempo: &TempoParams,
    master: Option<MasterParams>,
    smoothing: Vec<SmoothingWindow>,
) -> Vec<ArtifactDecl> {
    let song = vec![format!("{id}/song.wav")];
    let tempo = Arc::new(tempo.clone());
    [LoudnessFile::Json, LoudnessFile::Csv, LoudnessFile::Png]
        .into_iter()
        .map(|file| {
            let (master, smoothing) =
                if file == LoudnessFile::Json { (master, smoothing.clone()) } else { (None, Vec::new()) };
            ArtifactDecl::new(id, file.name(), SongLoudness { file, tempo: tempo.clone(), master, smoothing })
                .deps(song.clone())
        })
        .collect()
}

/// One instrument's stem: stereo, 24-bit, the song's length.
#[derive(Debug, Clone, PartialEq)]
pub struct StemWav {
    pub instrument: Arc<InstrumentSpec>,
    pub timing: TimingParams,
}

#[derive(Serialize)]
struct StemKey<'a> {
    instrument: &'a InstrumentParams,
    timing: &'a TimingParams,
    bits: u16,
}

/// A sampler layer's clip at `rate`, from the source's shared decode: channels kept (more than
/// two are mixed to mono). Made once per process and source content; each stem reports the
/// decoder's warnings.
fn load_clip(cx: &Cx<'_>, audio: &AudioRef, rate: u32) -> Result<Arc<Clip>, BuildError> {
    let pcm = cx.pcm(audio, rate)?;
    let name = &pcm.name;
    for w in pcm.warnings(name) {
        cx.warn(format!("sampler source `{name}`: {w}"));
    }
    let key = Digest::of(&[pcm.digest.0.as_slice(), &rate.to_le_bytes()].concat());
    let invalid = |e: ClipError| BuildError::failed(cx.id, format!("sampler source `{name}`: {e}"));
    cx.db.env().memo("sampler_clip", key, || {
        let mixdown = pcm.channel_count() > 2;
        if pcm.pcm.long {
            // A long source stays where its decode put it: the voices read pages of it.
            let reader = SpilledClip { pcm: Arc::clone(&pcm.pcm), mixdown, name: name.clone() };
            return Clip::from_reader(Arc::new(reader)).map_err(invalid);
        }
        let channels = if mixdown {
            vec![pcm.mono(cx.id)?.into_owned()]
        } else {
            pcm.channels(cx.id)?.into_iter().map(std::borrow::Cow::into_owned).collect()
        };
        Clip::new(channels).map_err(invalid)
    })
}

/// A sampler source too long for memory, read by position from its shared decode's temporary
/// files: its first two channels, or its mixdown when it has more.
struct SpilledClip {
    pcm: Arc<SpooledPcm>,
    mixdown: bool,
    name: String,
}

impl ClipReader for SpilledClip {
    fn len(&self) -> usize {
        self.pcm.len()
    }

    fn channel_count(&self) -> usize {
        if self.mixdown { 1 } else { self.pcm.channel_count() }
    }

    fn read(&self, channel: usize, start: usize, out: &mut [f32]) -> Result<(), String> {
        let read_error = |e: std::io::Error| format!("reading the decoded audio of {}: {e}", self.name);
        let plane =
            if self.mixdown { self.pcm.mono.as_ref() } else { self.pcm.channels().map_err(read_error)?.get(channel) };
        let plane = plane.ok_or_else(|| format!("the decoded audio of {} has no channel {channel}", self.name))?;
        plane.read(start, out).map_err(read_error)
    }
}

impl Action for StemWav {
    const QUERY: &'static str = "song_stem";
    const VERSION: u32 = 4;

    fn key(&self) -> impl Serialize + '_ {
        StemKey { instrument: &self.instrument.params, timing: &self.timing, bits: BITS }
    }

    fn compute(&self, cx: &Cx<'_>) -> Result<Vec<u8>, BuildError> {
        let timing = Timing::new(&self.timing).map_err(|e| cx.fail(e.to_string()))?;
        let clips = self
            .instrument
            .sources
            .iter()
            .map(|a| load_clip(cx, a, timing.sample_rate_hz).map(|c| Clip::clone(&c)))
            .collect::<Result<Vec<Clip>, _>>()?;
        // Written block by block: a song-long stem is never held as samples.
        let mut out = wav::PcmWriter::new(2, timing.sample_rate_hz, BITS, timing.length_samples)
            .map_err(|e| cx.fail(e.to_string()))?;
        let mut failure = None;
        render_stem_into(&self.instrument.params, &timing, &clips, &mut |l, r| {
            if failure.is_none() {
                failure = out.push(&[l, r]).err();
            }
        })
        .map_err(|e| BuildError::io(cx.id, "playing a sampler source", e))?;
        match failure {
            Some(e) => Err(cx.fail(e.to_string())),
            None => out.finish().map_err(|e| cx.fail(e.to_string())),
        }
    }
}

/// The song: its stems (in instrument order) summed through the master.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrangementMix {
    pub instruments: Vec<String>,
    pub master: MasterParams,
    pub sample_rate_hz: u32,
    /// The song's length (every stem spans the tempo map), for estimates; not in the key. Only
    /// the length, not the timing it comes from: a block-size edit leaves this action equal.
    pub length: Option<(usize, u32)>,
}

#[derive(Serialize)]
struct MixKey<'a> {
    instruments: &'a [String],
    master: &'a MasterParams,
    sample_rate_hz: u32,
    bits: u16,
}

/// A WAV read as stereo by position: its first two channels (a mono one twice).
struct Stereo<'a> {
    frames: wav::WavFrames<'a>,
    right: usize,
}

impl Stereo<'_> {
    /// Frames `start .. start + left.len()` (`left` and `right` of one length).
    fn read(&self, start: usize, left: &mut [f32], right: &mut [f32]) {
        self.frames.read(0, start, left);
        self.frames.read(self.right, start, right);
    }
}

fn stereo<'a>(cx: &Cx<'_>, bytes: &'a [u8], what: &str) -> Result<Stereo<'a>, BuildError> {
    let frames = wav::WavFrames::new(bytes).map_err(|e| cx.fail(format!("reading {what}: {e}")))?;
    let right = usize::from(frames.channels() > 1);
    Ok(Stereo { frames, right })
}

impl Action for ArrangementMix {
    const QUERY: &'static str = "song_mix";
    const VERSION: u32 = 1;

    fn key(&self) -> impl Serialize + '_ {
        MixKey { instruments: &self.instruments, master: &self.master, sample_rate_hz: self.sample_rate_hz, bits: BITS }
    }

    fn audio_length(&self) -> Option<(usize, u32)> {
        self.length
    }

    fn compute(&self, cx: &Cx<'_>) -> Result<Vec<u8>, BuildError> {
        // One stem at a time into the running sum; the song is written a piece at a time.
        let mut sum = StemSum::default();
        let (mut l, mut r) = (vec![0.0f32; PIECE], vec![0.0f32; PIECE]);
        for (i, name) in self.instruments.iter().enumerate() {
            let bytes = cx.dep_bytes(i)?;
            let stem = stereo(cx, &bytes, &format!("stem {name}"))?;
            for a in (0..stem.frames.len()).step_by(PIECE) {
                let n = PIECE.min(stem.frames.len() - a);
                stem.read(a, &mut l[..n], &mut r[..n]);
                sum.add_at(a, &l[..n], &r[..n]);
            }
        }
        let failed = |e: &dyn std::fmt::Display| cx.fail(e.to_string());
        let gain = sum.master(self.sample_rate_hz, &self.master).map_err(|e| failed(&e))?;
        let mut out = wav::PcmWriter::new(2, self.sample_rate_hz, BITS, sum.len()).map_err(|e| failed(&e))?;
        for a in (0..sum.len()).step_by(PIECE) {
            let n = PIECE.min(sum.len() - a);
            sum.mastered(&gain, a, &mut l[..n], &mut r[..n]);
            out.push(&[&l[..n], &r[..n]]).map_err(|e| failed(&e))?;
        }
        out.finish().map_err(|e| failed(&e))
    }
}

/// Which loudness file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LoudnessFile {
    Json,
    Csv,
    Png,
}

impl LoudnessFile {
    pub fn name(self) -> &'static str {
        match self {
            LoudnessFile::Json => "loudness.json",
            LoudnessFile::Csv => "loudness.csv",
            LoudnessFile::Png => "loudness.png",
        }
    }
}

/// A loudness file of a song, measured from its `song.wav` (BS.1770-4 / EBU R128).
#[derive(Debug, Clone, PartialEq)]
pub struct SongLoudness {
    pub file: LoudnessFile,
    /// Where the beats are (the per-beat rows).
    pub tempo: Arc<TempoParams>,
    /// The master settings and smoothing windows the JSON reports (JSON only).
    pub master: Option<MasterParams>,
    pub smoothing: Vec<SmoothingWindow>,
}

#[derive(Serialize)]
struct LoudnessKey<'a> {
    file: LoudnessFile,
    tempo: &'a TempoParams,
    master: &'a Option<MasterParams>,
    smoothing: &'a [SmoothingWindow],
}

impl SongLoudness {
    /// The song's measurement, made once per `song.wav` and tempo map for the three files.
    fn measure(&self, cx: &Cx<'_>) -> Result<Arc<Loudness>, BuildError> {
        let song = cx.deps.first().ok_or_else(|| cx.fail("internal: no song.wav input"))?;
        let digest = crate::engine::query::digest_by_id(cx.db, song)?;
        let key = Digest::of_json(&(digest.hex(), &*self.tempo));
        cx.db.env().memo("song_loudness", key, || {
            let bytes = cx.dep_bytes(0)?;
            let song = stereo(cx, &bytes, "song.wav")?;
            let tempo = TempoMap::new(&self.tempo).map_err(|_| cx.fail("the song's tempo map is not valid"))?;
            let (n, rate) = (song.frames.len(), song.frames.sample_rate_hz);
            analyze_frames(n, rate, &tempo, |start, l, r| song.read(start, l, r)).map_err(|e| cx.fail(e.to_string()))
        })
    }
}

impl Action for SongLoudness {
    const QUERY: &'static str = "song_loudness";
    const VERSION: u32 = 1;

    fn key(&self) -> impl Serialize + '_ {
        LoudnessKey { file: self.file, tempo: &self.tempo, master: &self.master, smoothing: &self.smoothing }
    }

    fn compute(&self, cx: &Cx<'_>) -> Result<Vec<u8>, BuildError> {
        let loudness = self.measure(cx)?;
        Ok(match self.file {
            LoudnessFile::Json => loudness_files::loudness_json(&LoudnessReport {
                summary: loudness.summary.clone(),
                target_lufs: self.master.and_then(|m| m.target_lufs),
                true_peak_ceiling_dbtp: self.master.map(|m| m.true_peak_dbtp),
                smoothing: self.smoothing.clone(),
            }),
            LoudnessFile::Csv => loudness_files::loudness_csv(&loudness.rows),
            LoudnessFile::Png => {
                loudness_plot::loudness_png(&loudness.rows, &loudness.summary).map_err(|e| cx.fail(e.to_string()))?
            }
        })
    }
}

/// `list --params` lines for arrangements.
pub fn params_lines() -> Vec<String> {
    let mut out = Vec::new();
    let mut last = String::new();
    for r in schema::param_rows() {
        if r.table != last {
            out.push(r.table.clone());
            out.push(format!("  {:<30} {:>9}  {:<26} {:<4} description", "name", "default", "allowed", "lane"));
            last = r.table.clone();
        }
        out.push(format!(
            "  {:<30} {:>9}  {:<26} {:<4} {} [{}]",
            r.name,
            r.default,
            r.allowed,
            if r.automatable { "yes" } else { "" },
            r.description,
            r.tags
        ));
    }
    out
}
