//! The song flow (`[song.NAME]`): a stereo 24-bit WAV sequenced from a kit's voices, or an
//! arrangement's stems and mix (`arrangement.rs`); every song also gets its loudness files.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use super::arrangement;
use crate::arrange::tempo::TempoParams;
use crate::engine::action::{Action, ArtifactDecl, Cx};
use crate::engine::error::BuildError;
use crate::engine::flow::{CheckCx, DeclCx, Flow};
use crate::engine::inputs::{audio_problem, diagnostic_at};
use crate::media::wav;
use crate::project::kit::KitSpec;
use crate::project::reader::TableReader;
use crate::project::song::SongSpec;
use crate::project::{Diagnostic, ReadCx, Target, TargetKind};
use crate::song::{SongParams, SongVoice, render_song};

pub const SONG_BITS: u16 = 24;

pub struct SongFlow;

impl TargetKind for SongFlow {
    fn name(&self) -> &'static str {
        "song"
    }

    fn read(&self, t: &TableReader<'_>, id: &str, cx: &ReadCx<'_>) -> Target {
        let kits: BTreeMap<String, KitSpec> =
            cx.targets.iter().filter_map(|(id, t)| Some((id.clone(), t.get::<KitSpec>()?.clone()))).collect();
        let (spec, origins) = crate::project::song::read(t, id, cx.settings.sample_rate_hz, &kits, cx.declared);
        for (key, origin) in origins {
            cx.origin(key, origin);
        }
        Target::new("song", Arc::new(spec))
    }
}

impl Flow for SongFlow {
    fn artifacts(&self, id: &str, target: &Target, cx: &DeclCx<'_>) -> Vec<ArtifactDecl> {
        let Some(song) = target.get_arc::<SongSpec>() else { return Vec::new() };
        if let Some(arr) = &song.arrangement {
            return arrangement::artifacts(id, arr);
        }
        let kit_rate = cx
            .config
            .targets
            .get(&song.kit)
            .and_then(|t| t.get::<KitSpec>())
            .map_or(song.sample_rate_hz, |k| k.sample_rate_hz);
        let deps = song.voices.iter().map(|v| format!("{}/{}.wav", song.kit, v.voice)).collect();
        let tempo = TempoParams::constant(song.bpm);
        let mut out =
            vec![ArtifactDecl::new(id, "song.wav", SongWav { song, kit_sample_rate_hz: kit_rate }).deps(deps)];
        out.extend(arrangement::loudness_artifacts(id, &tempo, None, Vec::new()));
        out
    }

    fn check(&self, id: &str, target: &Target, cx: &CheckCx<'_>) -> Vec<Diagnostic> {
        let Some(arr) = target.get::<SongSpec>().and_then(|s| s.arrangement.clone()) else { return Vec::new() };
        let mut diags = Vec::new();
        for inst in &arr.instruments {
            for (audio, key) in inst.sources.iter().zip(&inst.source_keys) {
                if let Some(message) = audio_problem(
                    cx.root,
                    &cx.config.settings.inputs,
                    cx.index,
                    id,
                    audio,
                    "a song cannot sample itself",
                ) {
                    diags.push(diagnostic_at(cx.config, key, key, message));
                }
            }
        }
        diags
    }

    fn params(&self) -> Vec<String> {
        arrangement::params_lines()
    }
}

/// The song's mix, from the WAVs of the kit voices its patterns play.
#[derive(Debug, Clone, PartialEq)]
pub struct SongWav {
    pub song: Arc<SongSpec>,
    pub kit_sample_rate_hz: u32,
}

#[derive(Serialize)]
struct SongKey<'a> {
    bpm: f64,
    bars: u32,
    steps_per_bar: u32,
    swing: f64,
    sample_rate_hz: u32,
    kit_sample_rate_hz: u32,
    bits: u16,
    voices: Vec<VoiceKey<'a>>,
}

#[derive(Serialize)]
struct VoiceKey<'a> {
    voice: &'a str,
    steps: &'a [f32],
    gain_db: f64,
    pan: f64,
}

impl Action for SongWav {
    const QUERY: &'static str = "song_wav";
    const VERSION: u32 = 4;

    fn key(&self) -> impl Serialize + '_ {
        let s = &self.song;
        SongKey {
            bpm: s.bpm,
            bars: s.bars,
            steps_per_bar: s.steps_per_bar,
            swing: s.swing,
            sample_rate_hz: s.sample_rate_hz,
            kit_sample_rate_hz: self.kit_sample_rate_hz,
            bits: SONG_BITS,
            voices: s
                .voices
                .iter()
                .map(|v| VoiceKey { voice: &v.voice, steps: &v.steps, gain_db: v.gain_db, pan: v.pan })
                .collect(),
        }
    }

    fn compute(&self, cx: &Cx<'_>) -> Result<Vec<u8>, BuildError> {
        let song = &self.song;
        let mut samples = Vec::with_capacity(song.voices.len());
        for (i, v) in song.voices.iter().enumerate() {
            let bytes = cx.dep_bytes(i)?;
            let decoded = wav::decode(&bytes).map_err(|e| cx.fail(format!("reading voice {}: {e}", v.voice)))?;
            let mono = decoded.channels.into_iter().next().unwrap_or_default();
            // A kit at another rate (44.1 kHz under a 48 kHz project) is resampled to the song's.
            let mono = crate::dsp::resample::resample_vec(mono, self.kit_sample_rate_hz, song.sample_rate_hz)
                .map_err(|e| cx.fail(format!("resampling voice {}: {e}", v.voice)))?;
            samples.push(mono);
        }
        let params = SongParams {
            bpm: song.bpm,
            bars: song.bars,
            steps_per_bar: song.steps_per_bar,
            swing: song.swing,
            voices: song
                .voices
                .iter()
                .map(|v| SongVoice { name: v.voice.clone(), steps: v.steps.clone(), gain_db: v.gain_db, pan: v.pan })
                .collect(),
        };
        let refs: Vec<&[f32]> = samples.iter().map(Vec::as_slice).collect();
        let [l, r] = render_song(&params, &refs, song.sample_rate_hz);
        wav::encode_pcm(&[&l, &r], song.sample_rate_hz, SONG_BITS).map_err(|e| cx.fail(e.to_string()))
    }
}
