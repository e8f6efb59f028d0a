//! What a sidecar is made of: its grid and its ordered producers, as validated, serialisable
//! values (they are hashed into cache keys as JSON, never as `Debug` text).

use std::collections::BTreeMap;

use serde::Serialize;

use super::grid::Grid;

/// The seed's default `from_filename` pattern: `_name_value` pairs in a file name.
pub const DEFAULT_FILENAME_PATTERN: &str = r"_(?P<name>[A-Za-z]\w*)_(?P<value>-?\d+(?:\.\d+)?)";

/// Longest column name accepted.
pub const MAX_COLUMN_NAME: usize = 128;

/// A column derived from the source's audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AudioColumn {
    /// `20·log10(sqrt(mean x² + 1e-12) + 1e-12)` over each frame's samples (DOMAIN §F).
    RmsDb,
    /// librosa rms (2048-sample centred frames, hop 512), resampled onto the grid.
    Rms,
    /// Spectral centroid in Hz, resampled onto the grid.
    Centroid,
    /// Spectral flatness, resampled onto the grid.
    Flatness,
    /// Onset strength, resampled onto the grid.
    Onset,
    /// MFCC coefficient `k` (0–12), resampled onto the grid.
    Mfcc(u8),
}

impl AudioColumn {
    /// Every single column, in the order `columns = ["all"]` would list them.
    pub fn all() -> Vec<AudioColumn> {
        let mut v = vec![
            AudioColumn::RmsDb,
            AudioColumn::Rms,
            AudioColumn::Centroid,
            AudioColumn::Flatness,
            AudioColumn::Onset,
        ];
        v.extend((0..crate::features::N_MFCC as u8).map(AudioColumn::Mfcc));
        v
    }

    /// The column's name in the sidecar: `rms_db`, `rms`, `centroid`, `flatness`, `onset`, `mfcc0`…`mfcc12`.
    pub fn name(self) -> String {
        match self {
            AudioColumn::RmsDb => "rms_db".into(),
            AudioColumn::Rms => "rms".into(),
            AudioColumn::Centroid => "centroid".into(),
            AudioColumn::Flatness => "flatness".into(),
            AudioColumn::Onset => "onset".into(),
            AudioColumn::Mfcc(k) => format!("mfcc{k}"),
        }
    }

    /// The columns a recipe word stands for: a column name, `mfcc` (all 13) or `all`.
    pub fn parse(word: &str) -> Option<Vec<AudioColumn>> {
        Some(match word {
            "rms_db" => vec![AudioColumn::RmsDb],
            "rms" => vec![AudioColumn::Rms],
            "centroid" => vec![AudioColumn::Centroid],
            "flatness" => vec![AudioColumn::Flatness],
            "onset" => vec![AudioColumn::Onset],
            "mfcc" => (0..crate::features::N_MFCC as u8).map(AudioColumn::Mfcc).collect(),
            "all" => AudioColumn::all(),
            w => {
                let k: u8 = w.strip_prefix("mfcc")?.parse().ok()?;
                if usize::from(k) >= crate::features::N_MFCC || w != format!("mfcc{k}") {
                    return None;
                }
                vec![AudioColumn::Mfcc(k)]
            }
        })
    }

    /// The words [`AudioColumn::parse`] accepts, for error messages.
    pub const WORDS: &'static str = "rms_db, rms, centroid, flatness, onset, mfcc (all 13), mfcc0 … mfcc12, all";

    /// Whether it needs the librosa feature analysis (everything but `rms_db`).
    pub fn needs_features(self) -> bool {
        !matches!(self, AudioColumn::RmsDb)
    }
}

/// One producer of a sidecar, in list order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProducerParams {
    /// `name = value`: a column holding `value` in every frame.
    Const {
        /// Column name → value.
        values: BTreeMap<String, f64>,
    },
    /// `name = [start, end]`: `numpy.linspace(start, end, T)`.
    Lin {
        /// Column name → `[start, end]`.
        values: BTreeMap<String, [f64; 2]>,
    },
    /// Columns parsed from the source's file name by a regex with groups `name` and `value`.
    FromFilename {
        /// The regex (Rust `regex` syntax, which reads the seed's Python patterns).
        pattern: String,
        /// Columns every source gets; a match of the same name overrides the value.
        defaults: BTreeMap<String, f64>,
    },
    /// Columns computed from the source's audio on the grid.
    Audio {
        /// The columns, in order.
        columns: Vec<AudioColumn>,
    },
    /// An external command declared as `[producer.NAME]` (see `crate::plugin`).
    Plugin {
        /// The declaration's name.
        name: String,
        /// The declaration's `settings` with this use's `settings` laid over them (top-level keys).
        settings: BTreeMap<String, serde_json::Value>,
    },
}

impl ProducerParams {
    /// The kind word: `const`, `lin`, `from_filename`, `audio` or `plugin`.
    pub fn kind(&self) -> &'static str {
        match self {
            ProducerParams::Const { .. } => "const",
            ProducerParams::Lin { .. } => "lin",
            ProducerParams::FromFilename { .. } => "from_filename",
            ProducerParams::Audio { .. } => "audio",
            ProducerParams::Plugin { .. } => "plugin",
        }
    }

    /// How errors and `-v` name the producer at `index` of the list: `producers[1] lin`,
    /// `producers[3] plugin spectral_bands`.
    pub fn label(&self, index: usize) -> String {
        match self {
            ProducerParams::Plugin { name, .. } => format!("producers[{index}] plugin {name}"),
            other => format!("producers[{index}] {}", other.kind()),
        }
    }
}

/// A whole sidecar's recipe: the grid and the producers in merge order. This is the domain
/// input and, serialised, the settings part of a sidecar's cache key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SidecarParams {
    /// Where the frames lie.
    pub grid: Grid,
    /// Producers in list order; a later one wins a column name clash.
    pub producers: Vec<ProducerParams>,
}

impl Eq for SidecarParams {}

impl SidecarParams {
    /// Whether any producer reads the source's audio (then the caller must decode it).
    pub fn needs_audio(&self) -> bool {
        self.producers.iter().any(|p| matches!(p, ProducerParams::Audio { .. }))
    }

    /// Whether any audio column needs the librosa feature analysis.
    pub fn needs_features(&self) -> bool {
        self.producers.iter().any(|p| match p {
            ProducerParams::Audio { columns } => columns.iter().any(|c| c.needs_features()),
            _ => false,
        })
    }
}

/// Whether `name` may name a column: 1–128 characters, letters (any script), digits, `_`, `-`,
/// `.`, not starting with `-` or `.`.
pub fn check_column_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_COLUMN_NAME
        && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !name.starts_with(['-', '.']);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a column name: use 1–{MAX_COLUMN_NAME} letters, digits, `_`, `-` or `.`, not starting with `-` or `.`"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_words_expand() {
        assert_eq!(AudioColumn::parse("mfcc").map(|v| v.len()), Some(13));
        assert_eq!(AudioColumn::parse("mfcc12"), Some(vec![AudioColumn::Mfcc(12)]));
        assert_eq!(AudioColumn::parse("mfcc13"), None);
        assert_eq!(AudioColumn::parse("mfcc01"), None);
        assert_eq!(AudioColumn::parse("loud"), None);
        assert_eq!(AudioColumn::parse("all").map(|v| v.len()), Some(18));
        assert_eq!(AudioColumn::Mfcc(3).name(), "mfcc3");
    }

    #[test]
    fn params_serialise_as_tagged_json() {
        let p = SidecarParams {
            grid: Grid::Fps { fps: 75.0 },
            producers: vec![
                ProducerParams::Const { values: BTreeMap::from([("scene_id".to_string(), 7.0)]) },
                ProducerParams::Audio { columns: vec![AudioColumn::RmsDb, AudioColumn::Mfcc(2)] },
            ],
        };
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(
            json,
            r#"{"grid":{"fps":{"fps":75.0}},"producers":[{"kind":"const","values":{"scene_id":7.0}},{"kind":"audio","columns":["rms_db",{"mfcc":2}]}]}"#
        );
    }

    #[test]
    fn column_names() {
        assert!(check_column_name("scene_id").is_ok());
        assert!(check_column_name("tempo.bpm").is_ok());
        assert!(check_column_name("").is_err());
        assert!(check_column_name("-x").is_err());
        assert!(check_column_name("a b").is_err());
        assert!(check_column_name(&"x".repeat(129)).is_err());
    }
}
