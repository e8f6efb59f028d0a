//! Parameter specs of the arrangement modules (oscillator, sampler, envelope, low-pass), of an
//! instrument's mix controls, of sampler layers and of the master: one table that drives recipe
//! validation, automation-lane checks, `list --params` and `docs/song-modules.md`.

use serde::Serialize;

use super::oscillator::Shape;
use super::sampler::Family;

/// A number as a recipe would write it (`4000`, `0.35`).
fn num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 { format!("{}", x as i64) } else { format!("{x}") }
}

/// What values a parameter takes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum ParamKind {
    /// A number in `[min, max]`.
    Number,
    /// A whole number in `[min, max]`.
    Integer,
    /// `true` / `false` (stored as 1 / 0).
    Toggle,
    /// One of these words (stored as its index).
    Choice(&'static [&'static str]),
}

/// One parameter: name, range, default, unit and musical context.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ParamSpec {
    /// Recipe key and lane name, e.g. `cutoff_hz`.
    pub name: &'static str,
    /// Human label, e.g. `Cutoff`.
    pub display_name: &'static str,
    /// Default value (a choice's index, a toggle's 0/1).
    pub default: f64,
    pub min: f64,
    pub max: f64,
    /// `Hz`, `ms`, `s`, `dB`, `%`, `st`, `cents`, `MIDI`, `×`, or empty for a plain amount.
    pub unit: &'static str,
    pub kind: ParamKind,
    /// Whether an automation lane may drive it.
    pub automatable: bool,
    /// Musical-context tags: `pitch`, `dynamics`, `timbre`, `articulation`, `phrasing`,
    /// `space`, `time`.
    pub tags: &'static [&'static str],
    pub description: &'static str,
}

impl ParamSpec {
    /// Whether `value` is allowed.
    pub fn contains(&self, value: f64) -> bool {
        value.is_finite()
            && value >= self.min
            && value <= self.max
            && (!matches!(self.kind, ParamKind::Integer | ParamKind::Toggle | ParamKind::Choice(_))
                || value.fract() == 0.0)
    }

    /// `value` forced into range (NaN gives the default).
    pub fn clamp(&self, value: f64) -> f64 {
        if value.is_nan() { self.default } else { value.clamp(self.min, self.max) }
    }

    /// The default as a recipe would write it.
    pub fn default_text(&self) -> String {
        match self.kind {
            ParamKind::Toggle => (self.default != 0.0).to_string(),
            ParamKind::Choice(words) => format!("\"{}\"", words.get(self.default as usize).copied().unwrap_or("")),
            _ => num(self.default),
        }
    }

    /// The allowed values as text: `20 to 20000 Hz`, `true or false`, `"sine", "saw"`.
    pub fn range_text(&self) -> String {
        match self.kind {
            ParamKind::Toggle => "true or false".into(),
            ParamKind::Choice(words) => words.iter().map(|w| format!("\"{w}\"")).collect::<Vec<_>>().join(", "),
            _ => {
                let unit = if self.unit.is_empty() { String::new() } else { format!(" {}", self.unit) };
                format!("{} to {}{unit}", num(self.min), num(self.max))
            }
        }
    }
}

/// The module kinds an instrument chain is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModuleKind {
    Oscillator,
    Sampler,
    Envelope,
    Lowpass,
}

impl ModuleKind {
    pub const ALL: [ModuleKind; 4] =
        [ModuleKind::Oscillator, ModuleKind::Sampler, ModuleKind::Envelope, ModuleKind::Lowpass];

    pub fn name(self) -> &'static str {
        match self {
            ModuleKind::Oscillator => "oscillator",
            ModuleKind::Sampler => "sampler",
            ModuleKind::Envelope => "envelope",
            ModuleKind::Lowpass => "lowpass",
        }
    }

    pub fn from_name(name: &str) -> Option<ModuleKind> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Sources make sound (first in a chain); the others process it.
    pub fn is_source(self) -> bool {
        matches!(self, ModuleKind::Oscillator | ModuleKind::Sampler)
    }

    pub fn schema(self) -> &'static [ParamSpec] {
        match self {
            ModuleKind::Oscillator => OSCILLATOR,
            ModuleKind::Sampler => SAMPLER,
            ModuleKind::Envelope => ENVELOPE,
            ModuleKind::Lowpass => LOWPASS,
        }
    }

    /// One line on what the module does.
    pub fn summary(self) -> &'static str {
        match self {
            ModuleKind::Oscillator => {
                "Phase-continuous sine, or band-limited triangle, saw and square; notes set its pitch."
            }
            ModuleKind::Sampler => {
                "Plays a window of a clip (a project file or another target's artifact) per note, with velocity layers."
            }
            ModuleKind::Envelope => {
                "Amplitude envelope following the notes' gate: the seed's one-pole, or a linear ADSR."
            }
            ModuleKind::Lowpass => "One-pole low-pass with a dry/wet mix.",
        }
    }

    /// The spec named `name`, with its index in [`ModuleKind::schema`].
    pub fn param(self, name: &str) -> Option<(usize, &'static ParamSpec)> {
        self.schema().iter().enumerate().find(|(_, p)| p.name == name)
    }

    /// Every parameter's default, in schema order.
    pub fn defaults(self) -> Vec<f64> {
        self.schema().iter().map(|p| p.default).collect()
    }
}

/// Indices into [`ModuleKind::Oscillator`]'s schema.
pub mod osc {
    pub const WAVEFORM: usize = 0;
    pub const AMPLITUDE: usize = 1;
    pub const FREQUENCY_HZ: usize = 2;
    pub const DETUNE_CENTS: usize = 3;
}

/// Indices into [`ModuleKind::Envelope`]'s schema.
pub mod env {
    pub const MODE: usize = 0;
    pub const GATE: usize = 1;
    pub const ATTACK_MS: usize = 2;
    pub const DECAY_MS: usize = 3;
    pub const SUSTAIN: usize = 4;
    pub const RELEASE_MS: usize = 5;
}

/// Indices into [`ModuleKind::Lowpass`]'s schema.
pub mod lp {
    pub const CUTOFF_HZ: usize = 0;
    pub const MIX: usize = 1;
}

/// Indices into [`ModuleKind::Sampler`]'s schema.
pub mod smp {
    pub const AMPLITUDE: usize = 0;
    pub const START_PERCENT: usize = 1;
    pub const LENGTH_PERCENT: usize = 2;
    pub const SEMITONES: usize = 3;
    pub const ROOT_NOTE: usize = 4;
    pub const RETRIGGER: usize = 5;
    pub const LOOP: usize = 6;
    pub const VELOCITY_AMPLITUDE_MIN: usize = 7;
    pub const VELOCITY_AMPLITUDE_MAX: usize = 8;
    pub const VELOCITY_START_OFFSET_PERCENT: usize = 9;
    pub const VELOCITY_CROSSFADE_WIDTH: usize = 10;
    pub const INSTRUMENT_FAMILY: usize = 11;
}

/// Indices into [`MIX`].
pub mod mix {
    pub const GAIN_DB: usize = 0;
    pub const PAN: usize = 1;
    pub const MUTE: usize = 2;
}

/// Envelope modes (index = the `mode` parameter's value).
pub const ENVELOPE_MODES: [&str; 2] = ["one_pole", "adsr"];

const fn spec(
    name: &'static str,
    display_name: &'static str,
    default: f64,
    (min, max): (f64, f64),
    unit: &'static str,
    tags: &'static [&'static str],
    description: &'static str,
) -> ParamSpec {
    ParamSpec {
        name,
        display_name,
        default,
        min,
        max,
        unit,
        kind: ParamKind::Number,
        automatable: true,
        tags,
        description,
    }
}

const fn fixed(mut p: ParamSpec) -> ParamSpec {
    p.automatable = false;
    p
}

const fn integer(mut p: ParamSpec) -> ParamSpec {
    p.kind = ParamKind::Integer;
    p.automatable = false;
    p
}

const fn toggle(
    name: &'static str,
    display_name: &'static str,
    on: bool,
    tags: &'static [&'static str],
    description: &'static str,
) -> ParamSpec {
    ParamSpec {
        name,
        display_name,
        default: if on { 1.0 } else { 0.0 },
        min: 0.0,
        max: 1.0,
        unit: "",
        kind: ParamKind::Toggle,
        automatable: false,
        tags,
        description,
    }
}

const fn choice(
    name: &'static str,
    display_name: &'static str,
    words: &'static [&'static str],
    tags: &'static [&'static str],
    description: &'static str,
) -> ParamSpec {
    ParamSpec {
        name,
        display_name,
        default: 0.0,
        min: 0.0,
        max: (words.len() - 1) as f64,
        unit: "",
        kind: ParamKind::Choice(words),
        automatable: false,
        tags,
        description,
    }
}

static OSCILLATOR: &[ParamSpec] = &[
    choice(
        "waveform",
        "Waveform",
        &Shape::NAMES,
        &["timbre"],
        "Shape: the seed's sine, or band-limited triangle (PolyBLAMP), saw and square (PolyBLEP).",
    ),
    spec(
        "amplitude",
        "Loudness",
        0.25,
        (0.0, 1.0),
        "",
        &["dynamics"],
        "Output level (the seed's default leaves headroom).",
    ),
    spec(
        "frequency_hz",
        "Pitch",
        440.0,
        (20.0, 20_000.0),
        "Hz",
        &["pitch"],
        "Frequency when the instrument has no notes (notes set the pitch otherwise).",
    ),
    spec(
        "detune_cents",
        "Detune",
        0.0,
        (-1200.0, 1200.0),
        "cents",
        &["pitch"],
        "Offset from the note's pitch; automate it for bends and vibrato.",
    ),
];

static ENVELOPE: &[ParamSpec] = &[
    choice(
        "mode",
        "Mode",
        &ENVELOPE_MODES,
        &["articulation"],
        "`one_pole`: the seed's follower of the gate; `adsr`: linear segments exact to the sample.",
    ),
    spec(
        "gate",
        "Gate",
        1.0,
        (0.0, 1.0),
        "",
        &["dynamics"],
        "Target level when the instrument has no notes (notes open it at velocity/127 and close it at their end).",
    ),
    spec(
        "attack_ms",
        "Attack",
        10.0,
        (0.0, 5000.0),
        "ms",
        &["articulation", "time"],
        "One-pole: time constant toward an opening gate. ADSR: rise time.",
    ),
    spec(
        "decay_ms",
        "Decay",
        100.0,
        (0.0, 5000.0),
        "ms",
        &["articulation", "time"],
        "ADSR only: fall from the peak to the sustain level.",
    ),
    spec(
        "sustain",
        "Sustain",
        0.7,
        (0.0, 1.0),
        "",
        &["dynamics"],
        "ADSR only: level held while the gate is open, relative to the peak.",
    ),
    spec(
        "release_ms",
        "Release",
        120.0,
        (0.0, 5000.0),
        "ms",
        &["articulation", "time"],
        "One-pole: time constant toward a closing gate. ADSR: fall time to silence.",
    ),
];

static LOWPASS: &[ParamSpec] = &[
    spec(
        "cutoff_hz",
        "Cutoff",
        4000.0,
        (20.0, 20_000.0),
        "Hz",
        &["timbre"],
        "Where the highs roll off: α = 1 − e^(−2π·fc/sr) (kept below 0.49·sr).",
    ),
    spec("mix", "Wet mix", 1.0, (0.0, 1.0), "", &["timbre"], "Blend of the dry input (0) and the filtered sound (1)."),
];

static SAMPLER: &[ParamSpec] = &[
    spec(
        "amplitude",
        "Clip level",
        1.0,
        (0.0, 1.0),
        "",
        &["dynamics"],
        "Overall clip level before envelopes and the mix.",
    ),
    spec(
        "start_percent",
        "Clip start",
        0.0,
        (0.0, 100.0),
        "%",
        &["phrasing"],
        "Where the window starts, as a share of the room before the clip's end (0 = start, 100 = as late as the length allows); read at each note.",
    ),
    spec(
        "length_percent",
        "Clip length",
        100.0,
        (0.0, 100.0),
        "%",
        &["phrasing"],
        "Window length as a share of the clip (at least one frame); read at each note.",
    ),
    spec(
        "semitones",
        "Transpose",
        0.0,
        (-36.0, 36.0),
        "st",
        &["pitch"],
        "Pitch shift on top of the note: rate 2^((note − root_note + semitones)/12).",
    ),
    integer(spec(
        "root_note",
        "Root note",
        60.0,
        (0.0, 127.0),
        "MIDI",
        &["pitch"],
        "The note that plays the clip at its own pitch (60 = C4).",
    )),
    toggle(
        "retrigger",
        "Retrigger",
        true,
        &["articulation"],
        "Restart the window on every note (off: a note during playback only changes pitch and level).",
    ),
    toggle("loop", "Loop", false, &["phrasing"], "Wrap to the window's start at its end instead of stopping."),
    fixed(spec(
        "velocity_amplitude_min",
        "Velocity min gain",
        0.35,
        (0.0, 2.0),
        "×",
        &["dynamics"],
        "Gain at the softest velocity.",
    )),
    fixed(spec(
        "velocity_amplitude_max",
        "Velocity max gain",
        1.0,
        (0.0, 2.0),
        "×",
        &["dynamics"],
        "Gain at the hardest velocity.",
    )),
    fixed(spec(
        "velocity_start_offset_percent",
        "Velocity start offset",
        0.0,
        (-100.0, 100.0),
        "%",
        &["phrasing"],
        "Extra start for the softest hit, scaled by (1 − velocity/127); negative pulls soft hits earlier.",
    )),
    fixed(spec(
        "velocity_crossfade_width",
        "Velocity crossfade",
        0.0,
        (0.0, 64.0),
        "MIDI",
        &["dynamics"],
        "Blend neighbouring layers within this many velocity steps (default from instrument_family).",
    )),
    choice(
        "instrument_family",
        "Instrument family",
        &Family::NAMES,
        &["timbre"],
        "Defaults for crossfade width (strings 12, keys 8, plucked 6, vocal 10) and layer splits.",
    ),
];

/// An instrument's mix controls (`[song.NAME.instrument.X]`, lanes `X.mix.PARAM`).
pub static MIX: &[ParamSpec] = &[
    spec("gain_db", "Gain", 0.0, (-60.0, 24.0), "dB", &["dynamics"], "Stem level."),
    spec(
        "pan",
        "Pan",
        0.0,
        (-1.0, 1.0),
        "",
        &["space"],
        "−1 left … 1 right, constant power: L = cos θ, R = sin θ, θ = (pan + 1)·π/4.",
    ),
    toggle("mute", "Mute", false, &["dynamics"], "Render the stem silent."),
];

/// Keys of a sampler layer (`[[song.NAME.instrument.X.sampler.layer]]`).
pub static LAYER: &[ParamSpec] = &[
    integer(spec(
        "min_velocity",
        "Lowest velocity",
        1.0,
        (1.0, 127.0),
        "MIDI",
        &["dynamics"],
        "Lowest velocity the layer holds (default: the family's split).",
    )),
    integer(spec(
        "max_velocity",
        "Highest velocity",
        127.0,
        (1.0, 127.0),
        "MIDI",
        &["dynamics"],
        "Highest velocity the layer holds (default: the family's split).",
    )),
    fixed(spec("amplitude_scale", "Layer gain", 1.0, (0.0, 4.0), "×", &["dynamics"], "The layer's level.")),
    fixed(spec(
        "start_offset_percent",
        "Layer start offset",
        0.0,
        (-100.0, 100.0),
        "%",
        &["phrasing"],
        "Added to the window start for this layer.",
    )),
];

/// `[song.NAME.master]`.
pub static MASTER: &[ParamSpec] = &[
    fixed(spec(
        "target_lufs",
        "Target loudness",
        -14.0,
        (-60.0, 0.0),
        "LUFS",
        &["dynamics"],
        "Optional: scale the mix to this integrated loudness (BS.1770-4); off when absent.",
    )),
    fixed(spec(
        "true_peak_dbtp",
        "True-peak ceiling",
        -1.0,
        (-20.0, 0.0),
        "dBTP",
        &["dynamics"],
        "Lower the mix's gain so its true peak (4× oversampled, BS.1770-4) stays at or below this.",
    )),
];

/// Song-wide keys of an arrangement (`[song.NAME]`).
pub static SONG: &[ParamSpec] = &[
    fixed(spec(
        "bpm",
        "Tempo",
        120.0,
        (20.0, 400.0),
        "BPM",
        &["time"],
        "Tempo at the start; `[[song.NAME.tempo]]` changes it.",
    )),
    integer(spec(
        "bars",
        "Bars",
        0.0,
        (1.0, 1024.0),
        "",
        &["time"],
        "Song length (default: enough bars for the longest pattern).",
    )),
    integer(spec(
        "steps_per_beat",
        "Steps per beat",
        4.0,
        (1.0, 16.0),
        "",
        &["time"],
        "Step grid of the patterns (4 = sixteenths in 4/4); an instrument may set its own.",
    )),
    fixed(spec(
        "tail_s",
        "Tail",
        2.0,
        (0.0, 30.0),
        "s",
        &["time"],
        "Time rendered after the last bar, for releases and samples to ring out.",
    )),
    integer(spec(
        "block_size",
        "Block size",
        512.0,
        (16.0, 16384.0),
        "samples",
        &["time"],
        "Samples rendered per block; changes speed, never the output.",
    )),
];

/// One printable row of `list --params`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamRow {
    /// The table the key belongs to, e.g. `[song.NAME.instrument.X.lowpass]`.
    pub table: String,
    pub name: String,
    pub display_name: String,
    pub default: String,
    /// `20 to 20000 Hz`, `true or false`, …
    pub allowed: String,
    pub unit: String,
    /// `yes` when a lane may drive it.
    pub automatable: bool,
    pub tags: String,
    pub description: String,
}

/// Every section of parameters: (table, specs).
pub fn sections() -> Vec<(String, &'static [ParamSpec])> {
    let mut out = vec![
        ("[song.NAME]".to_string(), SONG),
        ("[song.NAME.master]".to_string(), MASTER),
        ("[song.NAME.instrument.X]".to_string(), MIX),
    ];
    for k in ModuleKind::ALL {
        out.push((format!("[song.NAME.instrument.X.{}]", k.name()), k.schema()));
    }
    out.push(("[[song.NAME.instrument.X.sampler.layer]]".to_string(), LAYER));
    out
}

/// Keys of a section that are not numeric parameters (structure, notes, sources).
pub fn other_keys(table: &str) -> &'static str {
    match table {
        "[song.NAME]" => {
            "Also `meter` (\"4/4\"; BEATS/UNIT), and tempo changes `[[song.NAME.tempo]]` with `at` (\"BAR:BEAT\" or beats \
             from the start), `bpm`, `ramp` (glide linearly in beats from the previous change) and `meter` (from \
             that bar, with `at = \"BAR:1\"`)."
        }
        "[song.NAME.instrument.X]" => {
            "Also `modules` (the chain, e.g. [\"oscillator\", \"envelope\", \"lowpass\"]; default: the module tables \
             present), `notes` (NOTE[:VELOCITY[:LENGTH]] steps, `.` rest, `=` hold) or `pattern` (drum steps `x`, `X`, \
             `1`–`9`, `.`) with `note` (its pitch), `steps_per_beat` and `repeat` (default true)."
        }
        "[song.NAME.instrument.X.sampler]" => {
            "Also `source` (a project file or an artifact id such as \"kit.demo/snare.wav\"), or velocity layers below."
        }
        "[[song.NAME.instrument.X.sampler.layer]]" => "Also `source`, as for the sampler.",
        _ => "",
    }
}

/// Every parameter as a printable row, section by section (for `list --params`).
pub fn param_rows() -> Vec<ParamRow> {
    let mut rows = Vec::new();
    for (table, specs) in sections() {
        for p in specs {
            rows.push(ParamRow {
                table: table.clone(),
                name: p.name.to_string(),
                display_name: p.display_name.to_string(),
                default: if p.name == "bars" || p.name == "target_lufs" { "—".into() } else { p.default_text() },
                allowed: p.range_text(),
                unit: p.unit.to_string(),
                automatable: p.automatable,
                tags: p.tags.join(", "),
                description: p.description.to_string(),
            });
        }
    }
    rows
}

/// `docs/song-modules.md`, generated from these specs (a test keeps the file true).
pub fn modules_markdown() -> String {
    let mut out = String::from(
        "# Song modules\n\nGenerated from `src/arrange/schema.rs` (`ntsbuild list --params` prints the same rows). \
         An arrangement is a `[song.NAME]` with `[song.NAME.instrument.X]` tables; see the README for the recipe \
         shape, the note syntax and automation lanes. Values outside a range are rejected with the range in the \
         message. Parameters marked *lane* may be automated (`X.MODULE.PARAM`; `X.mix.gain_db` and `X.mix.pan` for \
         the instrument's mix).\n",
    );
    let header = "| key | name | default | allowed | lane | tags | description |\n|---|---|---|---|---|---|---|\n";
    let mut last = String::new();
    for row in param_rows() {
        if row.table != last {
            let summary = ModuleKind::ALL
                .into_iter()
                .find(|k| row.table.ends_with(&format!(".{}]", k.name())))
                .map(|k| format!("{}\n\n", k.summary()))
                .unwrap_or_default();
            let other = other_keys(&row.table);
            let other = if other.is_empty() { String::new() } else { format!("{other}\n\n") };
            out.push_str(&format!("\n## `{}`\n\n{summary}{other}{header}", row.table));
            last = row.table.clone();
        }
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} |\n",
            row.name,
            row.display_name,
            row.default,
            row.allowed,
            if row.automatable { "lane" } else { "" },
            row.tags,
            row.description.replace('|', "\\|")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_are_consistent() {
        for (table, specs) in sections() {
            let mut names: Vec<_> = specs.iter().map(|p| p.name).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), specs.len(), "{table}");
            for p in specs {
                assert!(p.min < p.max, "{table} {}", p.name);
                assert!(p.contains(p.default) || p.name == "bars", "{table} {}", p.name);
                assert!(!p.tags.is_empty() && !p.description.is_empty(), "{table} {}", p.name);
                if let ParamKind::Choice(w) = p.kind {
                    assert_eq!(p.max as usize, w.len() - 1);
                }
            }
        }
    }

    #[test]
    fn index_constants_name_the_right_params() {
        use ModuleKind::*;
        let at = |k: ModuleKind, i: usize| k.schema()[i].name;
        assert_eq!(at(Oscillator, osc::WAVEFORM), "waveform");
        assert_eq!(at(Oscillator, osc::AMPLITUDE), "amplitude");
        assert_eq!(at(Oscillator, osc::FREQUENCY_HZ), "frequency_hz");
        assert_eq!(at(Oscillator, osc::DETUNE_CENTS), "detune_cents");
        assert_eq!(at(Envelope, env::MODE), "mode");
        assert_eq!(at(Envelope, env::GATE), "gate");
        assert_eq!(at(Envelope, env::ATTACK_MS), "attack_ms");
        assert_eq!(at(Envelope, env::DECAY_MS), "decay_ms");
        assert_eq!(at(Envelope, env::SUSTAIN), "sustain");
        assert_eq!(at(Envelope, env::RELEASE_MS), "release_ms");
        assert_eq!(at(Lowpass, lp::CUTOFF_HZ), "cutoff_hz");
        assert_eq!(at(Lowpass, lp::MIX), "mix");
        assert_eq!(at(Sampler, smp::AMPLITUDE), "amplitude");
        assert_eq!(at(Sampler, smp::START_PERCENT), "start_percent");
        assert_eq!(at(Sampler, smp::LENGTH_PERCENT), "length_percent");
        assert_eq!(at(Sampler, smp::SEMITONES), "semitones");
        assert_eq!(at(Sampler, smp::ROOT_NOTE), "root_note");
        assert_eq!(at(Sampler, smp::RETRIGGER), "retrigger");
        assert_eq!(at(Sampler, smp::LOOP), "loop");
        assert_eq!(at(Sampler, smp::VELOCITY_AMPLITUDE_MIN), "velocity_amplitude_min");
        assert_eq!(at(Sampler, smp::VELOCITY_AMPLITUDE_MAX), "velocity_amplitude_max");
        assert_eq!(at(Sampler, smp::VELOCITY_START_OFFSET_PERCENT), "velocity_start_offset_percent");
        assert_eq!(at(Sampler, smp::VELOCITY_CROSSFADE_WIDTH), "velocity_crossfade_width");
        assert_eq!(at(Sampler, smp::INSTRUMENT_FAMILY), "instrument_family");
        assert_eq!(MIX[mix::GAIN_DB].name, "gain_db");
        assert_eq!(MIX[mix::PAN].name, "pan");
        assert_eq!(MIX[mix::MUTE].name, "mute");
    }

    #[test]
    fn rows_and_markdown_cover_every_param() {
        let rows = param_rows();
        let total: usize = sections().iter().map(|(_, s)| s.len()).sum();
        assert_eq!(rows.len(), total);
        let md = modules_markdown();
        for r in &rows {
            assert!(md.contains(&format!("| `{}` |", r.name)), "{}", r.name);
        }
        let cutoff = rows.iter().find(|r| r.name == "cutoff_hz").unwrap();
        assert_eq!(cutoff.allowed, "20 to 20000 Hz");
        assert!(cutoff.automatable);
        let wave = rows.iter().find(|r| r.name == "waveform").unwrap();
        assert_eq!(wave.default, "\"sine\"");
        assert!(wave.allowed.contains("\"square\""));
    }
}
