//! `[song.NAME]` recipes → `SongSpec`: a step sequencer over one kit's voices.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::arrangement::{self, ArrangementSpec};
use super::diagnostic::suggestion;
use super::kit::KitSpec;
use super::reader::TableReader;
use super::value::Origin;

fn list<'a>(items: impl Iterator<Item = &'a String>) -> String {
    let v: Vec<&str> = items.map(String::as_str).collect();
    if v.is_empty() { "none".into() } else { v.join(", ") }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SongVoiceSpec {
    /// The kit voice this track plays (`kick`, `snare`, `hat`).
    pub voice: String,
    /// Velocity per step (0 = rest), as parsed from the pattern string.
    pub steps: Vec<f32>,
    pub gain_db: f64,
    pub pan: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SongSpec {
    pub id: String,
    /// Target id of the kit, e.g. `kit.demo`.
    pub kit: String,
    pub bpm: f64,
    pub bars: u32,
    pub steps_per_bar: u32,
    pub swing: f64,
    pub sample_rate_hz: u32,
    pub voices: Vec<SongVoiceSpec>,
    /// Set when the song is an arrangement (it has `[song.NAME.instrument.X]` tables); the
    /// drum-pattern fields above are then unused.
    pub arrangement: Option<Arc<ArrangementSpec>>,
}

impl Eq for SongSpec {}

/// Read a song: a drum-pattern song over `kits`, or an arrangement (then `declared`, the
/// project's target ids, tells artifact ids from files, and the returned origins say where each
/// sampler source was written).
pub fn read(
    t: &TableReader<'_>,
    id: &str,
    project_rate_hz: u32,
    kits: &BTreeMap<String, KitSpec>,
    declared: &BTreeSet<String>,
) -> (SongSpec, Vec<(String, Origin)>) {
    if arrangement::is_arrangement(t) {
        let (a, origins) = arrangement::read(t, id, project_rate_hz, declared);
        let bpm = a.timing.tempo.bpm;
        let bars = a.timing.bars;
        let spec = SongSpec {
            id: id.to_string(),
            kit: String::new(),
            bpm,
            bars,
            steps_per_bar: 0,
            swing: 0.0,
            sample_rate_hz: project_rate_hz,
            voices: Vec::new(),
            arrangement: Some(Arc::new(a)),
        };
        return (spec, origins);
    }
    let kit = t.required_string("kit", "the kit this song plays, e.g. kit = \"kit.demo\"").unwrap_or_default();
    let kit_spec = kits.get(&kit);
    if kit_spec.is_none() && t.get("kit").is_some() {
        let hint = suggestion(&kit, kits.keys().map(String::as_str));
        t.error("kit", format!("no kit target `{kit}`{hint}; kits: {}", list(kits.keys())));
    }
    let bpm = t.f64("bpm", 120.0, 20.0, 400.0, "BPM");
    let bars = t.int("bars", 8, 1, 1024) as u32;
    let steps_per_bar = t.int("steps_per_bar", 16, 1, 64) as u32;
    let swing = t.f64("swing", 0.0, 0.0, 0.75, "");
    let duration_s = f64::from(bars) * crate::song::params::BEATS_PER_BAR * 60.0 / bpm;
    if duration_s > crate::song::params::MAX_DURATION_S {
        t.error(
            "bars",
            format!(
                "{bars} bars at {bpm} BPM last {duration_s:.0} s; a song may last at most {} s",
                crate::song::params::MAX_DURATION_S
            ),
        );
    }
    let mut voices = Vec::new();
    // Every voice with a pattern string, played or rejected: a `[mix]` entry for it is not
    // an error of its own (only the pattern's error is reported).
    let mut patterned = Vec::new();
    let mix = t.table("mix");
    if let Some(p) = t.table("pattern") {
        for name in p.keys() {
            patterned.push(name.clone());
            let Some(text) = p.string(name) else { continue };
            if let Some(k) = kit_spec {
                let names: Vec<&str> = k.voices.iter().map(|v| v.instrument.name()).collect();
                if !names.contains(&name.as_str()) {
                    let hint = suggestion(name, names.iter().copied());
                    p.error(name, format!("kit `{kit}` has no voice `{name}`{hint}; its voices: {}", names.join(", ")));
                    continue;
                }
            }
            let steps = match crate::song::pattern::parse_pattern(&text) {
                Ok(s) if s.len() > (bars * steps_per_bar) as usize => {
                    p.error(
                        name,
                        format!(
                            "the pattern has {} steps but the song has only {} ({bars} bars × {steps_per_bar}); \
                             shorten it or add bars",
                            s.len(),
                            bars * steps_per_bar
                        ),
                    );
                    continue;
                }
                Ok(s) => s,
                Err(e) => {
                    p.error(name, e.describe(Some(steps_per_bar as usize)));
                    continue;
                }
            };
            let (gain_db, pan) = match mix.as_ref().and_then(|m| m.table(name)) {
                Some(m) => {
                    let g = m.f64("gain_db", 0.0, -60.0, 24.0, "dB");
                    let pan = m.f64("pan", 0.0, -1.0, 1.0, "");
                    m.finish();
                    (g, pan)
                }
                None => (0.0, 0.0),
            };
            voices.push(SongVoiceSpec { voice: name.clone(), steps, gain_db, pan });
        }
        p.finish();
    } else {
        t.error("pattern", "missing table [song.NAME.pattern] with one pattern string per kit voice");
    }
    if let Some(m) = mix {
        for name in m.keys() {
            if !patterned.contains(name) {
                let hint = super::diagnostic::suggestion(name, patterned.iter().map(|v| v.as_str()));
                m.error(name, format!("no pattern plays this voice{hint}; add it to [song.NAME.pattern]"));
            }
        }
        // Every key was validated above (or reported just now).
    }
    t.finish();
    let spec = SongSpec {
        id: id.to_string(),
        kit,
        bpm,
        bars,
        steps_per_bar,
        swing,
        sample_rate_hz: project_rate_hz,
        voices,
        arrangement: None,
    };
    (spec, Vec::new())
}
