//! PostFX parameters: the tone-curve choice and the numeric knobs with their valid ranges.

use crate::schema::{Kind, SettingSpec, spec};

/// Largest allowed `|chroma_shift|`.
pub const CHROMA_SHIFT_MAX: f64 = 0.05;

/// Per-sample tone curve applied after resizing (inputs are in [0, 1]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ToneCurve {
    /// `log(1 + 5x) / log(6)`.
    #[default]
    Filmlog,
    /// `0.95·x^0.85 + 0.05·x`.
    Punch,
    /// `0.9·x^1.25 + 0.1`.
    Pastel,
    /// Identity.
    Linear,
}

impl ToneCurve {
    /// All curves, in declaration order.
    pub const ALL: [ToneCurve; 4] = [ToneCurve::Filmlog, ToneCurve::Punch, ToneCurve::Pastel, ToneCurve::Linear];

    /// Parse a lowercase name (`filmlog`, `punch`, `pastel`, `linear`); case-insensitive.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "filmlog" => Some(Self::Filmlog),
            "punch" => Some(Self::Punch),
            "pastel" => Some(Self::Pastel),
            "linear" => Some(Self::Linear),
            _ => None,
        }
    }

    /// The canonical lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Filmlog => "filmlog",
            Self::Punch => "punch",
            Self::Pastel => "pastel",
            Self::Linear => "linear",
        }
    }

    /// Evaluate the curve at `x` (computed in f64). Negative inputs are treated as 0 so powers and
    /// logs stay finite; the chain clips to [0, 1] before this step anyway.
    pub fn eval(self, x: f32) -> f32 {
        let x = f64::from(x).max(0.0);
        let y = match self {
            Self::Filmlog => (5.0 * x).ln_1p() / 6f64.ln(),
            Self::Punch => 0.95 * x.powf(0.85) + 0.05 * x,
            Self::Pastel => 0.9 * x.powf(1.25) + 0.1,
            Self::Linear => x,
        };
        y as f32
    }
}

/// The postFX knobs (DOMAIN §C defaults: filmlog, grain 0.1, chroma 0, vignette 0, trails off).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PostFxParams {
    /// Tone curve.
    pub tone_curve: ToneCurve,
    /// Grain intensity, in [0, 1].
    pub grain_intensity: f64,
    /// Chroma shift as a fraction of `min(width, height)`, `|c| ≤ 0.05`; the sign picks direction.
    pub chroma_shift: f64,
    /// Vignette strength `s`, in [0, 1].
    pub vignette_strength: f64,
    /// Whether motion trails are enabled.
    pub motion_trails: bool,
}

impl Default for PostFxParams {
    fn default() -> Self {
        Self {
            tone_curve: ToneCurve::Filmlog,
            grain_intensity: 0.1,
            chroma_shift: 0.0,
            vignette_strength: 0.0,
            motion_trails: false,
        }
    }
}

/// The `[album.NAME.postfx]` settings: defaults and ranges, written once (recipe validation,
/// [`PostFxParams::validate`], `list --params` and `docs/settings.md` read them).
pub const POSTFX_SETTINGS: [SettingSpec; 5] = [
    SettingSpec {
        table: "postfx",
        key: "tone_curve",
        kind: Kind::Choice { default: "filmlog", choices: &["filmlog", "punch", "pastel", "linear"] },
        unit: "",
        doc: "filmlog log(1+5x)/log(6), punch 0.95·x^0.85 + 0.05·x, pastel 0.9·x^1.25 + 0.1, or linear",
    },
    SettingSpec {
        table: "postfx",
        key: "grain_intensity",
        kind: Kind::Number { default: 0.1, min: 0.0, max: 1.0 },
        unit: "",
        doc: "per-frame seeded film grain (× 0.15 in pixel values)",
    },
    SettingSpec {
        table: "postfx",
        key: "chroma_shift",
        kind: Kind::Number { default: 0.0, min: -CHROMA_SHIFT_MAX, max: CHROMA_SHIFT_MAX },
        unit: "",
        doc: "red/blue split as a fraction of the frame's short side; the sign picks the direction",
    },
    SettingSpec {
        table: "postfx",
        key: "vignette_strength",
        kind: Kind::Number { default: 0.0, min: 0.0, max: 1.0 },
        unit: "",
        doc: "darkening toward the corners, (1 − r)^(4s)",
    },
    SettingSpec {
        table: "postfx",
        key: "motion_trails",
        kind: Kind::Bool { default: false },
        unit: "",
        doc: "blend each frame with a decaying trail of the previous ones",
    },
];

impl PostFxParams {
    /// Check every numeric knob against [`POSTFX_SETTINGS`]; each error names the key, its
    /// range and the offending value.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let errors: Vec<String> = [
            ("grain_intensity", self.grain_intensity),
            ("chroma_shift", self.chroma_shift),
            ("vignette_strength", self.vignette_strength),
        ]
        .into_iter()
        .filter_map(|(key, v)| spec(&POSTFX_SETTINGS, key).check(v).err())
        .collect();
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}
