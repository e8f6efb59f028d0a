//! `[song.NAME]` arrangements → `ArrangementSpec`: a song of instruments (module chains played by
//! note patterns), a tempo map, automation lanes and a master. A song table with an
//! `[song.NAME.instrument.X]` table is an arrangement; without, a drum-pattern song (`song.rs`).
//!
//! ```toml
//! [song.NAME]
//! bpm = 96                 # tempo at the start
//! meter = "4/4"
//! bars = 16                # default: enough for the longest pattern, lane and tempo change
//! steps_per_beat = 4       # the patterns' step grid (an instrument may set its own)
//! tail_s = 2.0             # rendered after the last bar
//! block_size = 512         # speed only; never changes the output
//!
//! [[song.NAME.tempo]]      # tempo changes, in time order
//! at = "9:1"               # "BAR:BEAT" (1-based) or a number of beats from the start
//! bpm = 120
//! ramp = true              # glide linearly (in beats) from the previous tempo, arriving here
//! meter = "3/4"            # optional, from this bar on (then `at` must be "BAR:1")
//!
//! [song.NAME.instrument.lead]
//! modules = ["oscillator", "envelope", "lowpass"]   # the chain; default: its module tables
//! notes = "C4:100:2 . E4 . | G4:90 = = ."            # or pattern = "x... X..." (+ note = "C2")
//! gain_db = -6.0
//! pan = -0.2
//! [song.NAME.instrument.lead.oscillator]
//! waveform = "saw"
//! [song.NAME.instrument.lead.lowpass]
//! cutoff_hz = 1800
//!
//! [song.NAME.instrument.pad.sampler]
//! source = "textures.demo/organ/pads/organ_pad01.wav"   # a project file or an artifact id
//! # or velocity layers: [[song.NAME.instrument.pad.sampler.layer]] source, min_velocity, …
//!
//! [song.NAME.automation]   # lanes: INSTRUMENT.MODULE.PARAM|tokens = [[position, value], …]
//! "lead.lowpass.cutoff_hz|curve=exp|smooth=0.5beats" = [[0, 0.2], ["5:1", 0.9]]
//!
//! [song.NAME.master]
//! target_lufs = -14.0      # optional
//! true_peak_dbtp = -1.0
//! ```
//!
//! Every problem is reported at once with file, line, key and the allowed values.

use std::collections::BTreeSet;

use serde::Serialize;

use super::album::AudioRef;
use super::diagnostic::suggestion;
use super::reader::{TableReader, num};
use super::value::{Kind, Node, Origin};

mod lanes;
use crate::arrange::instrument::{InstrumentParams, ModuleParams};
use crate::arrange::mix::MasterParams;
use crate::arrange::notes::{NotePattern, from_drum_steps, parse_note_name, parse_notes};
use crate::arrange::sampler::{Family, Layer};
use crate::arrange::schema::{LAYER, MASTER, MIX, ModuleKind, ParamKind, ParamSpec, SONG, smp};
use crate::arrange::tempo::{Meter, MeterChange, TempoChange, TempoMap, TempoParams};
use crate::arrange::timing::{Timing, TimingParams};

/// One instrument and where its sampler layers' audio comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstrumentSpec {
    pub params: InstrumentParams,
    /// One per sampler layer, in layer order (empty without a sampler).
    pub sources: Vec<AudioRef>,
    /// Where each source is written (`song.NAME.instrument.X.sampler.source`), for messages.
    pub source_keys: Vec<String>,
}

/// A validated arrangement.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrangementSpec {
    /// Target id, e.g. `song.arrangement`.
    pub id: String,
    pub timing: TimingParams,
    /// In name order (the order of `stems/` and of the mix).
    pub instruments: Vec<InstrumentSpec>,
    pub master: MasterParams,
}

// Specs are validated: no NaN reaches them, so equality is an equivalence.
impl Eq for ArrangementSpec {}

impl ArrangementSpec {
    /// The validated time frame (the reader already checked it).
    pub fn timing(&self) -> Option<Timing> {
        Timing::new(&self.timing).ok()
    }

    pub fn instrument(&self, name: &str) -> Option<&InstrumentSpec> {
        self.instruments.iter().find(|i| i.params.name == name)
    }
}

/// Whether `[song.NAME]` is an arrangement (it has instruments).
pub fn is_arrangement(t: &TableReader<'_>) -> bool {
    t.keys().any(|k| k == "instrument")
}

fn names<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let v: Vec<&str> = items.into_iter().collect();
    if v.is_empty() { "none".into() } else { v.join(", ") }
}

fn valid_name(s: &str) -> bool {
    !s.is_empty() && !s.starts_with('-') && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Read one parameter of `spec` from `t` (numbers, integers, toggles and choices); `None` when
/// absent (or wrong, which is reported).
fn read_param(t: &TableReader<'_>, spec: &ParamSpec) -> Option<f64> {
    let node = t.get(spec.name)?;
    match (spec.kind, &node.kind) {
        (ParamKind::Toggle, Kind::Bool(b)) => Some(if *b { 1.0 } else { 0.0 }),
        (ParamKind::Choice(words), Kind::Str(s)) => {
            let found = if spec.name == "instrument_family" {
                Family::parse(s).map(|f| f as usize)
            } else {
                words.iter().position(|w| w == s)
            };
            if found.is_none() {
                let hint = suggestion(s, words.iter().copied());
                t.error(spec.name, format!("`{s}` is not allowed{hint}; allowed: {}", spec.range_text()));
            }
            found.map(|i| i as f64)
        }
        (ParamKind::Number, Kind::Float(_) | Kind::Int(_)) | (ParamKind::Integer, Kind::Int(_)) => {
            let x = match node.kind {
                Kind::Float(x) => x,
                Kind::Int(i) => i as f64,
                _ => unreachable!("matched above"),
            };
            if spec.contains(x) {
                Some(x)
            } else {
                t.error(spec.name, format!("{} is out of range: allowed {}", num(x), spec.range_text()));
                None
            }
        }
        (kind, other) => {
            let want = match kind {
                ParamKind::Toggle => "true or false",
                ParamKind::Choice(_) => "a string",
                ParamKind::Integer => "an integer",
                ParamKind::Number => "a number",
            };
            t.error(spec.name, format!("expected {want}, found {} `{other}`", other.type_name()));
            None
        }
    }
}

/// A position: a number of beats from the start (≥ 0), or `"BAR:BEAT"` (1-based, beat may be
/// fractional) through the meter map.
fn position(node: &Node, meters: &TempoMap) -> Result<f64, String> {
    let bad = |v: &str| {
        format!(
            "`{v}` is not a position: write a number of beats from the start (0 = the first beat) or \"BAR:BEAT\" such as \"5:1\" or \"3:2.5\""
        )
    };
    match &node.kind {
        Kind::Int(i) if *i >= 0 => Ok(*i as f64),
        Kind::Float(x) if x.is_finite() && *x >= 0.0 => Ok(*x),
        Kind::Str(s) => {
            let (bar, beat) = s.split_once(':').ok_or_else(|| bad(s))?;
            let bar: u32 = bar.trim().parse().ok().filter(|b| (1..=100_000).contains(b)).ok_or_else(|| bad(s))?;
            let beat: f64 =
                beat.trim().parse().ok().filter(|b: &f64| b.is_finite() && *b >= 1.0).ok_or_else(|| bad(s))?;
            let per_bar = f64::from(meters.beats_per_bar(bar));
            if beat >= per_bar + 1.0 {
                return Err(format!(
                    "`{s}`: bar {bar} has {per_bar} beats, so its beats run from 1 to below {}",
                    per_bar + 1.0
                ));
            }
            Ok(meters.beat_of(bar, beat))
        }
        other => Err(bad(&other.to_string())),
    }
}

/// Where the arrangement's time runs: tempo changes and meters.
struct TempoRead {
    params: TempoParams,
    /// The tempo map (for positions; meters only matter for bar:beat).
    map: TempoMap,
}

fn read_tempo(t: &TableReader<'_>) -> TempoRead {
    let bpm = t.f64("bpm", SONG[0].default, SONG[0].min, SONG[0].max, "BPM");
    let meter = match t.string("meter") {
        Some(m) => Meter::parse(&m).unwrap_or_else(|e| {
            t.error("meter", e);
            Meter::COMMON
        }),
        None => Meter::COMMON,
    };
    let mut params = TempoParams { bpm, meter, changes: Vec::new(), meters: Vec::new() };
    let items: Vec<Node> = match t.get("tempo").map(|n| &n.kind) {
        None => Vec::new(),
        Some(Kind::Array(items)) => items.clone(),
        Some(other) => {
            t.error(
                "tempo",
                format!("expected [[{}.tempo]] tables (at, bpm, ramp, meter), found {}", t.path(), other.type_name()),
            );
            Vec::new()
        }
    };
    // Meters first: bar:beat positions of the tempo changes depend on them.
    let ctx = t.ctx();
    let mut entries = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(e) = TableReader::new(ctx, item, &format!("{}.tempo[{i}]", t.path())) else { continue };
        entries.push(e);
    }
    let mut last_bar = 1;
    for e in &entries {
        if let Some(m) = e.string("meter") {
            match Meter::parse(&m) {
                Err(msg) => e.error("meter", msg),
                Ok(meter) => match e.get("at").map(|n| &n.kind) {
                    Some(Kind::Str(s))
                        if s.split_once(':')
                            .is_some_and(|(b, beat)| beat.trim() == "1" && b.trim().parse::<u32>().is_ok()) =>
                    {
                        let bar: u32 = s.split_once(':').and_then(|(b, _)| b.trim().parse().ok()).unwrap_or(1);
                        if bar <= last_bar {
                            e.error(
                                "at",
                                format!("a meter change must come after bar {last_bar} and after the previous one"),
                            );
                        } else {
                            last_bar = bar;
                            params.meters.push(MeterChange { bar, meter });
                        }
                    }
                    _ => e.error("meter", "a meter changes at the start of a bar: give `at` as \"BAR:1\""),
                },
            }
        }
    }
    let meters = TempoMap::new(&TempoParams { changes: Vec::new(), ..params.clone() })
        .unwrap_or_else(|_| TempoMap::constant(120.0));
    let mut previous = 0.0;
    for e in &entries {
        let at = match e.get("at") {
            None => {
                e.error("at", "missing: where the tempo changes, \"BAR:BEAT\" or a number of beats");
                None
            }
            Some(node) => match position(node, &meters) {
                Ok(b) if b > previous => Some(b),
                Ok(b) => {
                    e.error("at", format!("beat {} is not after the previous change (beat {}); list tempo changes in time order, after the start", num(b), num(previous)));
                    None
                }
                Err(msg) => {
                    e.error("at", msg);
                    None
                }
            },
        };
        let has_meter = e.get("meter").is_some();
        let bpm_node = e.get("bpm").is_some();
        let bpm = e.f64("bpm", 0.0, SONG[0].min, SONG[0].max, "BPM");
        if !bpm_node && !has_meter {
            e.error("bpm", "missing: the tempo from `at` on (an entry may also only change the `meter`)");
        }
        let ramp = e.bool("ramp", false);
        if ramp && !bpm_node {
            e.error("ramp", "a ramp glides to a new `bpm`; give one");
        }
        e.finish();
        if let (Some(beat), true) = (at, bpm_node && bpm > 0.0) {
            previous = beat;
            params.changes.push(TempoChange { beat, bpm, ramp });
        }
    }
    let map = TempoMap::new(&params).unwrap_or_else(|_| meters.clone());
    TempoRead { params, map }
}

/// The module tables and chain of one instrument.
fn read_modules(it: &TableReader<'_>, family_layers: &mut Option<(Family, bool, bool)>) -> Vec<ModuleParams> {
    let kinds_text = names(ModuleKind::ALL.map(ModuleKind::name));
    // The chain: `modules`, or the module tables present in canonical order.
    let chain: Vec<String> = match it.get("modules").map(|n| &n.kind) {
        Some(Kind::Array(items)) => items
            .iter()
            .filter_map(|n| match &n.kind {
                Kind::Str(s) => Some(s.clone()),
                other => {
                    it.error(
                        "modules",
                        format!("expected module names (strings), found {} `{other}`", other.type_name()),
                    );
                    None
                }
            })
            .collect(),
        Some(other) => {
            it.error(
                "modules",
                format!(
                    "expected a list of module names such as [\"oscillator\", \"envelope\"], found {}",
                    other.type_name()
                ),
            );
            Vec::new()
        }
        None => ModuleKind::ALL
            .iter()
            .filter(|k| it.keys().any(|key| key == k.name()))
            .map(|k| k.name().to_string())
            .collect(),
    };
    if chain.is_empty() && it.get("modules").is_none() {
        it.error("modules", format!("missing: an instrument needs a chain: `modules = [...]` or module tables ({kinds_text}); its first module is an oscillator or a sampler"));
        return Vec::new();
    }
    let mut seen = BTreeSet::new();
    let mut modules = Vec::new();
    for (i, name) in chain.iter().enumerate() {
        if !valid_name(name) || name == "mix" {
            it.error("modules", format!("`{name}` cannot name a module: use letters, digits, `_` and `-` (`mix` is the instrument's own gain and pan)"));
            continue;
        }
        if !seen.insert(name.clone()) {
            it.error("modules", format!("module `{name}` appears twice; name the second one, e.g. \"{name}2\", and give it a table with kind = \"…\""));
            continue;
        }
        let table = it.table(name);
        let kind = match (ModuleKind::from_name(name), table.as_ref().and_then(|t| t.string("kind"))) {
            (_, Some(k)) => match ModuleKind::from_name(&k) {
                Some(kind) => Some(kind),
                None => {
                    let hint = suggestion(&k, ModuleKind::ALL.map(ModuleKind::name));
                    if let Some(t) = &table {
                        t.error("kind", format!("unknown module kind `{k}`{hint}; kinds: {kinds_text}"));
                    }
                    None
                }
            },
            (Some(kind), None) => Some(kind),
            (None, None) => {
                let hint = suggestion(name, ModuleKind::ALL.map(ModuleKind::name));
                it.error(
                    "modules",
                    format!("`{name}` is not a module kind{hint}; kinds: {kinds_text} (a module with another name needs a table [{}.{name}] with kind = \"…\")", it.path()),
                );
                None
            }
        };
        let Some(kind) = kind else { continue };
        if i == 0 && !kind.is_source() {
            it.error(
                "modules",
                format!(
                    "the chain starts with `{name}` ({}): the first module makes the sound, an oscillator or a sampler",
                    kind.name()
                ),
            );
        }
        if i > 0 && kind.is_source() {
            it.error("modules", format!("`{name}` is a {} but only the first module may be a source; later modules are envelopes and low-passes", kind.name()));
        }
        let mut m = ModuleParams::defaults(name, kind);
        if let Some(t) = &table {
            for (j, spec) in kind.schema().iter().enumerate() {
                if let Some(v) = read_param(t, spec) {
                    m.values[j] = v;
                }
            }
            if kind == ModuleKind::Sampler {
                let family = Family::from_index(m.values[smp::INSTRUMENT_FAMILY] as usize);
                let width_given = t.get("velocity_crossfade_width").is_some();
                let amps_given = t.get("velocity_amplitude_min").is_some() || t.get("velocity_amplitude_max").is_some();
                if !width_given {
                    m.values[smp::VELOCITY_CROSSFADE_WIDTH] = family.crossfade_width().unwrap_or(0.0);
                }
                if let (false, Some((lo, hi))) = (amps_given, family.velocity_amplitudes()) {
                    m.values[smp::VELOCITY_AMPLITUDE_MIN] = lo;
                    m.values[smp::VELOCITY_AMPLITUDE_MAX] = hi;
                }
                *family_layers = Some((family, width_given, amps_given));
                // `source` and `layer` are read with the instrument's sources.
                let _ = (t.get("source"), t.get("layer"));
            }
            t.finish();
        }
        modules.push(m);
    }
    // Tables of modules that are not in the chain.
    for key in it.keys() {
        if ModuleKind::from_name(key).is_some() && !seen.contains(key) && it.get("modules").is_some() {
            it.error(
                key,
                format!(
                    "module table `{key}` is not in `modules` ({}); add it to the chain or remove the table",
                    names(chain.iter().map(String::as_str))
                ),
            );
        }
    }
    modules
}

/// A sampler source: an artifact id (`TARGET/FILE` of a declared target) or a project file. A
/// `KIND.NAME/…` naming no declared target of a declared kind is reported with a suggestion.
fn audio_ref(t: &TableReader<'_>, key: &str, s: &str, declared: &BTreeSet<String>) -> Option<AudioRef> {
    if let Some((target, _)) = s.split_once('/') {
        if declared.contains(target) {
            return Some(AudioRef::Artifact(s.to_string()));
        }
        let kind_of = |id: &str| id.split_once('.').map(|(k, _)| k.to_string());
        let kinds: BTreeSet<String> = declared.iter().filter_map(|d| kind_of(d)).collect();
        if kind_of(target).is_some_and(|k| kinds.contains(&k)) {
            let hint = suggestion(target, declared.iter().map(String::as_str));
            t.error(
                key,
                format!(
                    "`{s}` names target `{target}`, which is not declared{hint}; targets: {}",
                    names(declared.iter().map(String::as_str))
                ),
            );
            return None;
        }
    }
    if !t.check_input_path(
        key,
        s,
        "a sampler source is a project file (e.g. \"audio/organ.wav\"), a file in an input root (e.g. \"music:organ.wav\") or an artifact id (e.g. \"kit.demo/snare.wav\")",
    ) {
        return None;
    }
    Some(AudioRef::File(s.to_string()))
}

/// The sampler's layers and their sources.
fn read_layers(
    st: &TableReader<'_>,
    family: Family,
    declared: &BTreeSet<String>,
    origins: &mut Vec<(String, Origin)>,
) -> (Vec<Layer>, Vec<AudioRef>) {
    let mut layers = Vec::new();
    let mut sources = Vec::new();
    let single = st.string("source");
    let items: Vec<Node> = match st.get("layer").map(|n| &n.kind) {
        None => Vec::new(),
        Some(Kind::Array(items)) => items.clone(),
        Some(other) => {
            st.error("layer", format!("expected [[{}.layer]] tables, found {}", st.path(), other.type_name()));
            Vec::new()
        }
    };
    match (single, items.is_empty()) {
        (Some(_), false) => {
            st.error("source", "give either `source` (one layer) or [[…sampler.layer]] tables, not both");
            return (layers, sources);
        }
        (None, true) => {
            st.error("source", "missing: the sampler's audio, `source = \"FILE or TARGET/ARTIFACT\"` or [[…sampler.layer]] tables with `source`");
            return (layers, sources);
        }
        (Some(s), true) => {
            if let Some(r) = audio_ref(st, "source", &s, declared) {
                if let Some(n) = st.get("source") {
                    origins.push((st.key_path("source"), n.origin.clone()));
                }
                sources.push(r);
                layers.push(Layer {
                    min_velocity: 1,
                    max_velocity: 127,
                    amplitude_scale: 1.0,
                    start_offset_percent: 0.0,
                });
            }
            return (layers, sources);
        }
        (None, false) => {}
    }
    let splits = family.splits(items.len());
    let mut explicit = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(lt) = TableReader::new(st.ctx(), item, &format!("{}.layer[{i}]", st.path())) else { continue };
        let src = lt.required_string("source", "the layer's audio, a project file or an artifact id");
        let min = read_param(&lt, &LAYER[0]);
        let max = read_param(&lt, &LAYER[1]);
        let scale = read_param(&lt, &LAYER[2]).unwrap_or(LAYER[2].default);
        let offset = read_param(&lt, &LAYER[3]).unwrap_or(LAYER[3].default);
        let (lo, hi) = match (min, max, lt.get("min_velocity").is_some(), lt.get("max_velocity").is_some()) {
            (Some(a), Some(b), _, _) => {
                if a > b {
                    lt.error("max_velocity", format!("max_velocity {b} is below min_velocity {a}"));
                }
                explicit.push(i);
                (a as u8, b as u8)
            }
            (_, _, false, false) => splits.get(i).copied().unwrap_or((1, 127)),
            (_, _, true, false) | (_, _, false, true) => {
                lt.error(
                    "min_velocity",
                    "give both min_velocity and max_velocity, or neither (the family's split is used)",
                );
                (1, 127)
            }
            _ => (1, 127),
        };
        lt.finish();
        if let Some(r) = src.and_then(|s| audio_ref(&lt, "source", &s, declared)) {
            if let Some(n) = lt.get("source") {
                origins.push((lt.key_path("source"), n.origin.clone()));
            }
            sources.push(r);
            layers.push(Layer {
                min_velocity: lo,
                max_velocity: hi,
                amplitude_scale: scale,
                start_offset_percent: offset,
            });
        }
    }
    if !explicit.is_empty() && explicit.len() != items.len() {
        st.error("layer", "give min_velocity/max_velocity on every layer or on none (then the family's splits apply)");
    }
    (layers, sources)
}

/// The notes of an instrument: `notes` (tracker syntax) or `pattern` (drum steps) + `note`.
fn read_notes(it: &TableReader<'_>, root: u8) -> Option<NotePattern> {
    let notes = it.string("notes");
    let pattern = it.string("pattern");
    let note = it.string("note");
    match (notes, pattern) {
        (Some(_), Some(_)) => {
            it.error("pattern", "give `notes` (tracker notes) or `pattern` (drum steps), not both");
            None
        }
        (Some(text), None) => {
            if note.is_some() {
                it.error("note", "`note` sets the pitch of a drum `pattern`; tracker `notes` carry their own");
            }
            match parse_notes(&text) {
                Ok(p) => Some(p),
                Err(e) => {
                    it.error("notes", e.to_string());
                    None
                }
            }
        }
        (None, Some(text)) => {
            let pitch = match note {
                None => root,
                Some(n) => {
                    parse_note_name(&n).or_else(|| n.parse::<u8>().ok().filter(|m| *m <= 127)).unwrap_or_else(|| {
                        it.error(
                            "note",
                            format!("`{n}` is not a note: a name such as \"C2\" or \"F#3\", or a MIDI number 0–127"),
                        );
                        root
                    })
                }
            };
            match crate::song::pattern::parse_pattern(&text) {
                Ok(steps) => Some(from_drum_steps(&steps, pitch)),
                Err(e) => {
                    it.error("pattern", e.to_string());
                    None
                }
            }
        }
        (None, None) => {
            if note.is_some() {
                it.error("note", "`note` sets the pitch of a drum `pattern`, but there is none");
            }
            None
        }
    }
}

fn read_instrument(
    it: &TableReader<'_>,
    name: &str,
    default_spb: u32,
    declared: &BTreeSet<String>,
    origins: &mut Vec<(String, Origin)>,
) -> Option<InstrumentSpec> {
    let mut family = None;
    let modules = read_modules(it, &mut family);
    let mut inst = InstrumentParams::new(name, modules);
    inst.gain_db = it.f64(MIX[0].name, MIX[0].default, MIX[0].min, MIX[0].max, MIX[0].unit);
    inst.pan = it.f64(MIX[1].name, MIX[1].default, MIX[1].min, MIX[1].max, MIX[1].unit);
    inst.mute = it.bool("mute", false);
    inst.steps_per_beat = it.int("steps_per_beat", i64::from(default_spb), 1, 16) as u32;
    inst.repeat = it.bool("repeat", true);
    let root =
        inst.modules.iter().find(|m| m.kind == ModuleKind::Sampler).map_or(60, |m| m.value(smp::ROOT_NOTE) as u8);
    inst.notes = read_notes(it, root);
    let mut sources = Vec::new();
    let mut source_keys = Vec::new();
    if let Some((f, _, _)) = family {
        let sampler_name = inst.modules.iter().find(|m| m.kind == ModuleKind::Sampler).map(|m| m.name.clone());
        if let Some(st) = sampler_name.and_then(|n| it.table(&n)) {
            let first = origins.len();
            let (layers, srcs) = read_layers(&st, f, declared, origins);
            source_keys = origins[first..].iter().map(|(k, _)| k.clone()).collect();
            inst.layers = layers;
            sources = srcs;
        }
    } else if inst.has_sampler() {
        it.error("sampler", "missing: the sampler's table with its `source` (or [[…sampler.layer]] tables)");
    }
    it.finish();
    Some(InstrumentSpec { params: inst, sources, source_keys })
}

/// Read an arrangement from its `[song.NAME]` table. `declared` are the project's target ids
/// (to tell artifact ids from files). Also returns where each sampler source was written, for
/// the checks against the file system and the other targets made when the project opens.
pub fn read(
    t: &TableReader<'_>,
    id: &str,
    project_rate_hz: u32,
    declared: &BTreeSet<String>,
) -> (ArrangementSpec, Vec<(String, Origin)>) {
    let mut origins = Vec::new();
    let tempo = read_tempo(t);
    let default_spb = t.int("steps_per_beat", 4, 1, 16) as u32;
    let tail_s = t.f64("tail_s", SONG[3].default, SONG[3].min, SONG[3].max, "s");
    let block_size = t.int("block_size", 512, 16, 16_384) as u32;
    let bars_given = t.get("bars").map(|_| t.int("bars", 1, 1, 1024) as u32);

    let mut instruments = Vec::new();
    if let Some(it) = t.table("instrument") {
        let keys: Vec<String> = it.keys().cloned().collect();
        for name in keys {
            if !valid_name(&name) || name == "mix" {
                it.error(&name, "instrument names use letters, digits, `_` and `-` (they name the stem files)");
                continue;
            }
            let Some(inst_t) = it.table(&name) else { continue };
            if let Some(spec) = read_instrument(&inst_t, &name, default_spb, declared, &mut origins) {
                instruments.push(spec);
            }
        }
        it.finish();
        if instruments.is_empty() && keys_empty(&it) {
            t.error("instrument", "an arrangement needs at least one [song.NAME.instrument.X] table");
        }
    }
    if let Some(a) = t.table("automation") {
        lanes::read_automation(&a, &mut instruments, &tempo.map);
    }
    let master = match t.table("master") {
        Some(m) => {
            let target_lufs = m
                .get("target_lufs")
                .map(|_| m.f64("target_lufs", MASTER[0].default, MASTER[0].min, MASTER[0].max, MASTER[0].unit));
            let true_peak_dbtp =
                m.f64("true_peak_dbtp", MASTER[1].default, MASTER[1].min, MASTER[1].max, MASTER[1].unit);
            m.finish();
            MasterParams { target_lufs, true_peak_dbtp }
        }
        None => MasterParams::default(),
    };

    // Length: as given, or the bars holding every pattern (its end is exclusive), lane point and
    // tempo or meter change.
    let bar_of = |beat: f64| tempo.map.bar_beat(beat).0;
    let mut bars_needed = 1;
    for c in &tempo.params.changes {
        bars_needed = bars_needed.max(bar_of(c.beat));
    }
    for m in &tempo.params.meters {
        bars_needed = bars_needed.max(m.bar);
    }
    for i in &instruments {
        let spb = f64::from(i.params.steps_per_beat);
        if let Some(p) = &i.params.notes {
            let end = p
                .notes
                .iter()
                .map(|n| (f64::from(n.step) + n.length_steps) / spb)
                .fold(f64::from(p.steps) / spb, f64::max);
            bars_needed = bars_needed.max(bar_of((end - 1e-9).max(0.0)));
        }
        for l in &i.params.lanes {
            bars_needed = bars_needed.max(l.points.last().map_or(1, |p| bar_of(p.beat)));
        }
    }
    let bars = bars_given.unwrap_or(bars_needed.min(1024));
    let timing = TimingParams { tempo: tempo.params, sample_rate_hz: project_rate_hz, bars, tail_s, block_size };
    if let Err(e) = Timing::new(&timing) {
        t.error("bars", e.to_string());
    }
    t.finish();
    (ArrangementSpec { id: id.to_string(), timing, instruments, master }, origins)
}

fn keys_empty(t: &TableReader<'_>) -> bool {
    t.keys().next().is_none()
}

#[cfg(test)]
mod tests;
