//! Parameter schemas of the drum voices (kick, snare, hat) and of their per-layer controls.

use serde::Serialize;

/// One parameter: its range, default, unit and where it acts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ParamSpec {
    /// Recipe key, e.g. `punch_decay`.
    pub name: &'static str,
    /// Human label, e.g. `Punch decay`.
    pub display_name: &'static str,
    pub default: f64,
    /// Inclusive lower bound.
    pub min: f64,
    /// Inclusive upper bound.
    pub max: f64,
    /// `Hz`, `ms`, `s`, `dB`, `st` (semitones), `bool` (0 or 1), or `` for a normalised amount.
    pub unit: &'static str,
    /// The layer it shapes, or `mix` / `voice` for whole-voice controls.
    pub layer: &'static str,
    /// Musical-context tags: `pitch`, `dynamics`, `timbre`, `space`, `time`.
    pub tags: &'static [&'static str],
    pub description: &'static str,
}

impl ParamSpec {
    /// Whether `value` is finite and within `[min, max]`.
    pub fn contains(&self, value: f64) -> bool {
        value.is_finite() && value >= self.min && value <= self.max
    }

    /// `value` clamped into range; NaN gives the default.
    pub fn clamp(&self, value: f64) -> f64 {
        if value.is_nan() { self.default } else { value.clamp(self.min, self.max) }
    }
}

/// The three drum voices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Instrument {
    Kick,
    Snare,
    Hat,
}

impl Instrument {
    pub const ALL: [Instrument; 3] = [Instrument::Kick, Instrument::Snare, Instrument::Hat];

    /// `kick`, `snare` or `hat`.
    pub fn name(self) -> &'static str {
        match self {
            Instrument::Kick => "kick",
            Instrument::Snare => "snare",
            Instrument::Hat => "hat",
        }
    }

    /// Inverse of [`Instrument::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|i| i.name() == name)
    }

    /// Every parameter of this voice, in display order.
    pub fn schema(self) -> &'static [ParamSpec] {
        match self {
            Instrument::Kick => KICK,
            Instrument::Snare => SNARE,
            Instrument::Hat => HAT,
        }
    }

    /// Layer names, in mix order.
    pub fn layers(self) -> &'static [&'static str] {
        match self {
            Instrument::Kick => &["sub", "click", "knock", "room"],
            Instrument::Snare => &["exciter", "shell", "wires"],
            Instrument::Hat => &["metal", "air", "chick"],
        }
    }

    /// The spec named `name`.
    pub fn param(self, name: &str) -> Option<&'static ParamSpec> {
        self.schema().iter().find(|p| p.name == name)
    }
}

const AMOUNT: (f64, f64) = (0.0, 1.0);

/// `length_s`, shared by every voice: a cap on the length, whose default is the hard maximum.
const LENGTH: ParamSpec = ParamSpec {
    name: "length_s",
    display_name: "Length",
    default: crate::kit::MAX_LENGTH_S,
    min: crate::kit::MIN_LENGTH_S,
    max: crate::kit::MAX_LENGTH_S,
    unit: "s",
    layer: "voice",
    tags: &["time"],
    description: "Longest the voice may last. A voice ends where it has decayed 60 dB below its peak \
                  (never before 0.05 s); a shorter length_s cuts it there with a 20 ms fade-out.",
};

/// A normalised `[0, 1]` amount.
const fn amount(
    name: &'static str,
    display_name: &'static str,
    default: f64,
    layer: &'static str,
    tags: &'static [&'static str],
    description: &'static str,
) -> ParamSpec {
    ParamSpec { name, display_name, default, min: AMOUNT.0, max: AMOUNT.1, unit: "", layer, tags, description }
}

static KICK: &[ParamSpec] = &[
    ParamSpec {
        name: "tune",
        display_name: "Tune",
        default: 55.0,
        min: 30.0,
        max: 120.0,
        unit: "Hz",
        layer: "sub",
        tags: &["pitch"],
        description: "End pitch of the body's sweep: the kick's note.",
    },
    ParamSpec {
        name: "pitch_env_st",
        display_name: "Pitch drop",
        default: 24.0,
        min: 0.0,
        max: 48.0,
        unit: "st",
        layer: "sub",
        tags: &["pitch"],
        description: "Start pitch of the sweep, in semitones above tune (24 = two octaves).",
    },
    ParamSpec {
        name: "pitch_decay_ms",
        display_name: "Pitch decay",
        default: 60.0,
        min: 5.0,
        max: 300.0,
        unit: "ms",
        layer: "sub",
        tags: &["pitch", "time"],
        description: "Time constant of the pitch sweep: pitch = tune + (start − tune)·e^(−t/τ).",
    },
    ParamSpec {
        name: "punch_decay",
        display_name: "Punch decay",
        default: 0.3,
        min: 0.1,
        max: 1.0,
        unit: "",
        layer: "sub",
        tags: &["dynamics", "time"],
        description: "Body decay d = 100 + 400·x ms: the body oscillator's e^(−t/d), times its envelope \
                      (1 ms attack, then a fall to −26 dB over d).",
    },
    amount(
        "click_amount",
        "Click amount",
        0.5,
        "sub",
        &["timbre", "dynamics"],
        "FM noise on the body (index x, the attack's grit) and the drive 1 + 0.5·x of the final tanh.",
    ),
    amount("click_snap", "Click snap", 0.5, "sub", &["timbre"], "Length of the body's FM noise: τ = 5 + 20·x ms."),
    ParamSpec {
        name: "click_tone_hz",
        display_name: "Click tone",
        default: 6000.0,
        min: 1000.0,
        max: 16_000.0,
        unit: "Hz",
        layer: "click",
        tags: &["timbre"],
        description: "High-pass of the click: a 25 ms noise burst falling to −26 dB over 12 ms, at −15.6 dB.",
    },
    ParamSpec {
        name: "knock_hz",
        display_name: "Knock",
        default: 175.0,
        min: 110.0,
        max: 240.0,
        unit: "Hz",
        layer: "knock",
        tags: &["pitch", "timbre"],
        description: "Frequency of the knock, a damped sine under the attack.",
    },
    ParamSpec {
        name: "knock_decay_ms",
        display_name: "Knock decay",
        default: 50.0,
        min: 5.0,
        max: 300.0,
        unit: "ms",
        layer: "knock",
        tags: &["dynamics", "time"],
        description: "The knock's decay k: e^(−t/k), times its envelope (a fall to −26 dB over k).",
    },
    ParamSpec {
        name: "room_tone_freq",
        display_name: "Room tone",
        default: 150.0,
        min: 50.0,
        max: 300.0,
        unit: "Hz",
        layer: "room",
        tags: &["pitch", "space"],
        description: "Pitch of the room layer (constant; decay 200 ms).",
    },
    amount(
        "room_air",
        "Room air",
        0.3,
        "room",
        &["timbre", "space"],
        "FM noise on the room layer: index 0.2·x, τ 100 ms.",
    ),
    ParamSpec {
        name: "distance_ms",
        display_name: "Distance",
        default: 10.0,
        min: 0.0,
        max: 50.0,
        unit: "ms",
        layer: "room",
        tags: &["space", "time"],
        description: "Delay of the room layer behind the body.",
    },
    amount(
        "blend",
        "Blend",
        0.0,
        "mix",
        &["space", "dynamics"],
        "Level of the room layer in the mix (0, the default, leaves the room out).",
    ),
    LENGTH,
];

static SNARE: &[ParamSpec] = &[
    amount(
        "tone",
        "Tone",
        0.333,
        "shell",
        &["pitch"],
        "Fundamental f0 = 150 + 150·x Hz of the exciter and the shell (0.333: 200 Hz).",
    ),
    amount(
        "wire",
        "Wire",
        0.5,
        "wires",
        &["timbre", "dynamics"],
        "Snare-wire level 0.08 + 0.92·x and decay e^(−t/(0.2 + 0.3·x)).",
    ),
    amount("crack", "Crack", 0.5, "exciter", &["timbre"], "2 kHz band-pass boost 2 + 2·x on the exciter."),
    amount(
        "body",
        "Body",
        0.0,
        "shell",
        &["timbre", "time"],
        "Shell ring: a feedback delay network (feedback 0.85 + 0.11·x) added at level x. \
         0, the default, is a one-shot without ring.",
    ),
    ParamSpec {
        name: "shell_decay_ms",
        display_name: "Shell decay",
        default: 180.0,
        min: 20.0,
        max: 2000.0,
        unit: "ms",
        layer: "shell",
        tags: &["dynamics", "time"],
        description: "Envelope of shell and wires: 1 ms attack, then a fall to −26 dB over this time.",
    },
    LENGTH,
];

static HAT: &[ParamSpec] = &[
    amount("tightness", "Tightness", 0.5, "mix", &["dynamics", "time"], "Decay τ = 0.8 − 0.76·x seconds."),
    amount("sheen", "Sheen", 0.45, "air", &["timbre"], "Air (pink noise) level 0.5·x + 0.2."),
    amount(
        "dirt",
        "Dirt",
        0.5,
        "mix",
        &["timbre"],
        "Saturation: 4 kHz pre-emphasis, tanh with drive 1 + 2·x, de-emphasis (0 = clean).",
    ),
    amount("color", "Color", 0.5, "metal", &["pitch", "timbre"], "Metal base frequency 300 + 200·x Hz."),
    amount(
        "jitter",
        "Jitter",
        0.55,
        "metal",
        &["pitch", "timbre"],
        "Random detune of the six metal partials: ratio·(1 + U(0, x)).",
    ),
    ParamSpec {
        name: "hpf_hz",
        display_name: "High-pass",
        default: 6000.0,
        min: 1000.0,
        max: 12_000.0,
        unit: "Hz",
        layer: "mix",
        tags: &["timbre"],
        description: "High-pass of the air noise and of the whole hat.",
    },
    LENGTH,
];

/// Keys of a `[kit.NAME.VOICE.layer.LAYER]` table. Any of the envelope keys turns the layer's
/// ADSR on; missing envelope keys take these defaults (an envelope ≡ 1 for voices up to 4 s).
pub static LAYER_SCHEMA: &[ParamSpec] = &[
    ParamSpec {
        name: "gain_db",
        display_name: "Gain",
        default: 0.0,
        min: -60.0,
        max: 24.0,
        unit: "dB",
        layer: "",
        tags: &["dynamics"],
        description: "Layer gain before the mix.",
    },
    ParamSpec {
        name: "mute",
        display_name: "Mute",
        default: 0.0,
        min: 0.0,
        max: 1.0,
        unit: "bool",
        layer: "",
        tags: &["dynamics"],
        description: "Remove the layer from the mix (gain −∞).",
    },
    ParamSpec {
        name: "attack_ms",
        display_name: "Attack",
        default: 0.0,
        min: 0.0,
        max: 2000.0,
        unit: "ms",
        layer: "",
        tags: &["dynamics", "time"],
        description: "Linear rise 0 → 1.",
    },
    ParamSpec {
        name: "decay_ms",
        display_name: "Decay",
        default: 0.0,
        min: 0.0,
        max: 4000.0,
        unit: "ms",
        layer: "",
        tags: &["dynamics", "time"],
        description: "Linear fall 1 → sustain.",
    },
    ParamSpec {
        name: "sustain",
        display_name: "Sustain",
        default: 1.0,
        min: 0.0,
        max: 1.0,
        unit: "",
        layer: "",
        tags: &["dynamics"],
        description: "Level held until the gate closes.",
    },
    ParamSpec {
        name: "release_ms",
        display_name: "Release",
        default: 0.0,
        min: 0.0,
        max: 4000.0,
        unit: "ms",
        layer: "",
        tags: &["dynamics", "time"],
        description: "Linear fall to 0 after the gate.",
    },
    ParamSpec {
        name: "gate_ms",
        display_name: "Gate",
        default: 4000.0,
        min: 0.0,
        max: 4000.0,
        unit: "ms",
        layer: "",
        tags: &["dynamics", "time"],
        description: "Gate length from the layer's onset; release starts here.",
    },
];

/// The layer keys that turn a layer's ADSR on.
pub const ENVELOPE_KEYS: [&str; 5] = ["attack_ms", "decay_ms", "sustain", "release_ms", "gate_ms"];

/// The spec of a layer key.
pub fn layer_param(name: &str) -> Option<&'static ParamSpec> {
    LAYER_SCHEMA.iter().find(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_are_consistent() {
        for inst in Instrument::ALL {
            assert_eq!(Instrument::from_name(inst.name()), Some(inst));
            let names: Vec<_> = inst.schema().iter().map(|p| p.name).collect();
            let mut dedup = names.clone();
            dedup.sort_unstable();
            dedup.dedup();
            assert_eq!(names.len(), dedup.len(), "{}", inst.name());
            for p in inst.schema() {
                assert!(p.min < p.max && p.contains(p.default), "{}", p.name);
                assert!(
                    p.layer == "mix" || p.layer == "voice" || inst.layers().contains(&p.layer),
                    "{} layer {}",
                    p.name,
                    p.layer
                );
                assert!(!p.tags.is_empty() && !p.description.is_empty());
            }
            assert!(inst.param("length_s").is_some());
        }
        for p in LAYER_SCHEMA {
            assert!(p.min < p.max && p.contains(p.default), "{}", p.name);
        }
        assert_eq!(Instrument::from_name("tom"), None);
    }

    #[test]
    fn clamp_and_contains() {
        let p = Instrument::Kick.param("tune").expect("kick has tune");
        assert_eq!(p.clamp(1000.0), 120.0);
        assert_eq!(p.clamp(f64::NAN), 55.0);
        assert!(!p.contains(f64::INFINITY));
    }
}
