//! The kit flow (`[kit.NAME]`): one 24-bit WAV per voice, and `kit.zip` with the WAVs and
//! `kit_info.json`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::engine::action::{Action, ArtifactDecl, Cx};
use crate::engine::error::BuildError;
use crate::engine::flow::{DeclCx, Flow};
use crate::kit::{Instrument, LayerParams, render_voice};
use crate::media::{wav, zip};
use crate::project::kit::{KitSpec, VoiceSpec};
use crate::project::reader::TableReader;
use crate::project::{ReadCx, Target, TargetKind};

pub const VOICE_BITS: u16 = 24;

pub struct KitFlow;

impl TargetKind for KitFlow {
    fn name(&self) -> &'static str {
        "kit"
    }

    fn read(&self, t: &TableReader<'_>, id: &str, cx: &ReadCx<'_>) -> Target {
        Target::new("kit", Arc::new(crate::project::kit::read(t, id, cx.settings.sample_rate_hz)))
    }
}

impl Flow for KitFlow {
    fn artifacts(&self, id: &str, target: &Target, _cx: &DeclCx<'_>) -> Vec<ArtifactDecl> {
        let Some(kit) = target.get_arc::<KitSpec>() else { return Vec::new() };
        let mut v: Vec<ArtifactDecl> = kit
            .voices
            .iter()
            .map(|voice| {
                ArtifactDecl::new(
                    id,
                    voice_file(voice.instrument),
                    KitVoice { sample_rate_hz: kit.sample_rate_hz, voice: voice.clone() },
                )
            })
            .collect();
        let deps = v.iter().map(|a| a.id.clone()).collect();
        v.push(ArtifactDecl::new(id, "kit.zip", KitZip { kit }).deps(deps));
        v
    }

    /// The kit reference of `list --params`: every voice table's keys, then every layer
    /// table's controls (`gain_db`, `mute`, the ADSR keys), from the schema that validates them.
    fn params(&self) -> Vec<String> {
        crate::kit::param_table::params_text().lines().map(String::from).collect()
    }
}

pub fn voice_file(inst: Instrument) -> String {
    format!("{}.wav", inst.name())
}

/// A voice as written in `kit_info.json` and hashed into its key.
#[derive(Serialize)]
struct VoiceKey<'a> {
    instrument: &'static str,
    seed: u64,
    params: &'a BTreeMap<String, f64>,
    layers: &'a BTreeMap<String, LayerParams>,
}

impl<'a> VoiceKey<'a> {
    fn of(voice: &'a VoiceSpec) -> VoiceKey<'a> {
        VoiceKey {
            instrument: voice.instrument.name(),
            seed: voice.seed,
            params: &voice.params.values,
            layers: &voice.params.layers,
        }
    }
}

/// One voice rendered to a 24-bit WAV.
#[derive(Debug, Clone, PartialEq)]
pub struct KitVoice {
    pub sample_rate_hz: u32,
    pub voice: VoiceSpec,
}

#[derive(Serialize)]
struct KitVoiceKey<'a> {
    sample_rate_hz: u32,
    bits: u16,
    voice: VoiceKey<'a>,
}

impl Action for KitVoice {
    const QUERY: &'static str = "kit_voice";
    const VERSION: u32 = 1;

    fn key(&self) -> impl Serialize + '_ {
        KitVoiceKey { sample_rate_hz: self.sample_rate_hz, bits: VOICE_BITS, voice: VoiceKey::of(&self.voice) }
    }

    fn compute(&self, cx: &Cx<'_>) -> Result<Vec<u8>, BuildError> {
        let v = &self.voice;
        let samples = render_voice(v.instrument, &v.params, v.seed, self.sample_rate_hz);
        if samples.iter().any(|x| !x.is_finite()) {
            return Err(cx.fail("the voice rendered non-finite samples"));
        }
        wav::encode_pcm(&[&samples], self.sample_rate_hz, VOICE_BITS).map_err(|e| cx.fail(e.to_string()))
    }
}

/// `kit.zip`: the voices' WAVs plus `kit_info.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct KitZip {
    pub kit: Arc<KitSpec>,
}

/// `kit_info.json`, which is also the zip's key params.
#[derive(Serialize)]
struct KitInfo<'a> {
    name: &'a str,
    sample_rate_hz: u32,
    bits: u16,
    slots: BTreeMap<&'static str, Slot<'a>>,
}

#[derive(Serialize)]
struct Slot<'a> {
    #[serde(flatten)]
    voice: VoiceKey<'a>,
    file: String,
}

impl KitZip {
    fn info(&self) -> KitInfo<'_> {
        let kit = &self.kit;
        KitInfo {
            name: kit.id.strip_prefix("kit.").unwrap_or(&kit.id),
            sample_rate_hz: kit.sample_rate_hz,
            bits: VOICE_BITS,
            slots: kit
                .voices
                .iter()
                .map(|v| (v.instrument.name(), Slot { voice: VoiceKey::of(v), file: voice_file(v.instrument) }))
                .collect(),
        }
    }
}

impl Action for KitZip {
    const QUERY: &'static str = "kit_zip";
    const VERSION: u32 = 1;

    fn key(&self) -> impl Serialize + '_ {
        self.info()
    }

    fn compute(&self, cx: &Cx<'_>) -> Result<Vec<u8>, BuildError> {
        let voices = cx.all_dep_bytes()?;
        // Pretty-printed through a JSON value: keys sorted, as users read it.
        let value = serde_json::to_value(self.info()).map_err(|e| cx.fail(e.to_string()))?;
        let info = serde_json::to_vec_pretty(&value).map_err(|e| cx.fail(e.to_string()))?;
        let names: Vec<String> = self.kit.voices.iter().map(|v| voice_file(v.instrument)).collect();
        let mut entries: Vec<(&str, &[u8])> = vec![("kit_info.json", &info)];
        entries.extend(names.iter().map(String::as_str).zip(voices.iter().map(Vec::as_slice)));
        zip::write_zip(&entries, zip::Packing::Deflated).map_err(|e| cx.fail(format!("writing the zip: {e}")))
    }
}
