//! Running a sidecar's producers for one source and merging their columns.
//!
//! Merge rule (the seed's): producers run in list order; a column name produced again by a
//! later producer takes the later values but keeps the position where it first appeared
//! (Python dict semantics). Within one producer, columns come in the order it gives them
//! (`const` and `lin` sort by name). Every column is checked: a valid name, exactly `T` values,
//! all finite. A producer that gives nothing, and a sidecar with no column, are errors.

use std::collections::BTreeMap;

use super::audio::{AudioInput, audio_columns};
use super::builtin::{const_columns, filename_columns, lin_columns};
use super::error::{ProducerError, ProducerProblem};
use super::spec::{ProducerParams, SidecarParams, check_column_name};
use super::table::{Column, SidecarTable};

/// A source's length at its own rate: what `T` is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceLength {
    /// Samples (per channel) the source decodes to.
    pub samples: u64,
    /// Its native sample rate.
    pub sample_rate_hz: u32,
}

/// One source, as the producers see it.
#[derive(Debug, Clone, Copy)]
pub struct SourceInput<'a> {
    /// How errors name the source (its project path or artifact id).
    pub name: &'a str,
    /// The file name `from_filename` reads (e.g. `organ_take_3.wav`).
    pub file_name: &'a str,
    /// Its length; `T = grid.frame_count(length)`.
    pub length: SourceLength,
    /// Decoded mono audio, needed when an `audio` producer is listed.
    pub audio: Option<AudioInput<'a>>,
}

/// What label errors about the grid itself carry.
const GRID_LABEL: &str = "grid";

/// Runs `params`' producers on `source` and merges their columns.
///
/// `plugin_outputs` holds, by index into `params.producers`, the columns each plug-in gave for
/// this source (the caller runs plug-ins; see `crate::plugin`). They are checked like any
/// producer's columns.
pub fn build_sidecar(
    params: &SidecarParams,
    source: &SourceInput<'_>,
    plugin_outputs: &BTreeMap<usize, Vec<Column>>,
) -> Result<SidecarTable, ProducerError> {
    let err = |producer: String, problem| ProducerError { producer, source: source.name.to_string(), problem };
    if let Err(msg) = params.grid.validate() {
        return Err(err(GRID_LABEL.into(), ProducerProblem::BadSetting(msg)));
    }
    let frames = params.grid.frame_count(source.length.samples, source.length.sample_rate_hz);
    if frames == 0 {
        return Err(err(GRID_LABEL.into(), ProducerProblem::EmptySource));
    }
    let mut names: Vec<String> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut columns: Vec<Vec<f32>> = Vec::new();
    let mut winners: Vec<String> = Vec::new();
    for (i, producer) in params.producers.iter().enumerate() {
        let label = producer.label(i);
        let produced = produce(producer, i, source, frames, &params.grid, plugin_outputs)
            .map_err(|problem| err(label.clone(), problem))?;
        if produced.is_empty() {
            return Err(err(label, ProducerProblem::Empty("the producer returned no column".into())));
        }
        for column in produced {
            check_column(&column, frames).map_err(|problem| err(label.clone(), problem))?;
            match index.get(&column.name) {
                Some(&c) => {
                    columns[c] = column.values;
                    winners[c] = label.clone();
                }
                None => {
                    index.insert(column.name.clone(), names.len());
                    names.push(column.name);
                    columns.push(column.values);
                    winners.push(label.clone());
                }
            }
        }
    }
    if names.is_empty() {
        return Err(err("producers".into(), ProducerProblem::NoColumns));
    }
    let cols = names.len();
    let mut data = vec![0.0f32; frames * cols];
    for (c, values) in columns.iter().enumerate() {
        for (t, &v) in values.iter().enumerate() {
            data[t * cols + c] = v;
        }
    }
    Ok(SidecarTable { fps: params.grid.fps(), frames, names, data, winners })
}

fn produce(
    producer: &ProducerParams,
    index: usize,
    source: &SourceInput<'_>,
    frames: usize,
    grid: &super::Grid,
    plugin_outputs: &BTreeMap<usize, Vec<Column>>,
) -> Result<Vec<Column>, ProducerProblem> {
    Ok(match producer {
        ProducerParams::Const { values } => const_columns(values, frames),
        ProducerParams::Lin { values } => lin_columns(values, frames),
        ProducerParams::FromFilename { pattern, defaults } => {
            filename_columns(pattern, defaults, source.file_name, frames)?
        }
        ProducerParams::Audio { columns } => {
            let audio = source.audio.as_ref().ok_or(ProducerProblem::NoAudio)?;
            audio_columns(columns, audio, grid, frames).map_err(|e| ProducerProblem::Read(e.to_string()))?
        }
        ProducerParams::Plugin { .. } => plugin_outputs
            .get(&index)
            .cloned()
            .ok_or_else(|| ProducerProblem::Plugin("no output was supplied for this plug-in".into()))?,
    })
}

/// Name, length and finiteness of one column.
pub fn check_column(column: &Column, frames: usize) -> Result<(), ProducerProblem> {
    check_column_name(&column.name).map_err(ProducerProblem::BadName)?;
    if column.values.len() != frames {
        return Err(ProducerProblem::WrongLength {
            column: column.name.clone(),
            got: column.values.len(),
            expected: frames,
        });
    }
    if let Some((frame, &value)) = column.values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(ProducerProblem::NonFinite { column: column.name.clone(), frame, value });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::Grid;
    use super::super::spec::{AudioColumn, DEFAULT_FILENAME_PATTERN};
    use super::*;

    fn source<'a>(samples: u64, file_name: &'a str) -> SourceInput<'a> {
        SourceInput {
            name: file_name,
            file_name,
            length: SourceLength { samples, sample_rate_hz: 48_000 },
            audio: None,
        }
    }

    fn params(producers: Vec<ProducerParams>) -> SidecarParams {
        SidecarParams { grid: Grid::Fps { fps: 75.0 }, producers }
    }

    fn konst(pairs: &[(&str, f64)]) -> ProducerParams {
        ProducerParams::Const { values: pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect() }
    }

    #[test]
    fn last_producer_wins_and_keeps_first_position() {
        let p = params(vec![
            konst(&[("a", 1.0), ("b", 2.0)]),
            ProducerParams::Lin { values: BTreeMap::from([("c".to_string(), [0.0, 1.0])]) },
            konst(&[("a", 5.0)]),
        ]);
        let t = build_sidecar(&p, &source(640 * 3, "x.wav"), &BTreeMap::new()).unwrap();
        assert_eq!(t.frames, 3);
        assert_eq!(t.names, ["a", "b", "c"]);
        assert_eq!(t.winners, ["producers[2] const", "producers[0] const", "producers[1] lin"]);
        assert_eq!(t.data, vec![5.0, 2.0, 0.0, 5.0, 2.0, 0.5, 5.0, 2.0, 1.0]);
        assert_eq!(t.column_named("c"), Some(vec![0.0, 0.5, 1.0]));
    }

    #[test]
    fn plugin_columns_are_checked_like_any_other() {
        let p = params(vec![ProducerParams::Plugin { name: "bands".into(), settings: BTreeMap::new() }]);
        let src = source(640 * 4, "x.wav");
        let short = BTreeMap::from([(0, vec![Column::new("low", vec![0.0; 3])])]);
        let e = build_sidecar(&p, &src, &short).unwrap_err();
        assert_eq!(
            e.to_string(),
            "producer producers[0] plugin bands on `x.wav`: column `low` has 3 values; the grid has T = 4 frames"
        );
        let nan = BTreeMap::from([(0, vec![Column::new("low", vec![0.0, f32::NAN, 0.0, 0.0])])]);
        let e = build_sidecar(&p, &src, &nan).unwrap_err();
        assert!(matches!(e.problem, ProducerProblem::NonFinite { frame: 1, .. }), "{e}");
        let empty = BTreeMap::from([(0, vec![])]);
        assert!(matches!(build_sidecar(&p, &src, &empty).unwrap_err().problem, ProducerProblem::Empty(_)));
        assert!(matches!(build_sidecar(&p, &src, &BTreeMap::new()).unwrap_err().problem, ProducerProblem::Plugin(_)));
        let bad_name = BTreeMap::from([(0, vec![Column::new("a b", vec![0.0; 4])])]);
        assert!(matches!(build_sidecar(&p, &src, &bad_name).unwrap_err().problem, ProducerProblem::BadName(_)));
    }

    #[test]
    fn empty_sources_and_missing_audio_are_errors() {
        let p = params(vec![konst(&[("a", 1.0)])]);
        let e = build_sidecar(&p, &source(0, "silence.wav"), &BTreeMap::new()).unwrap_err();
        assert_eq!(e.problem, ProducerProblem::EmptySource);
        assert!(e.to_string().contains("silence.wav"));
        let p = params(vec![ProducerParams::Audio { columns: vec![AudioColumn::RmsDb] }]);
        let e = build_sidecar(&p, &source(640, "a.wav"), &BTreeMap::new()).unwrap_err();
        assert_eq!(e.problem, ProducerProblem::NoAudio);
        assert_eq!(e.producer, "producers[0] audio");
    }

    #[test]
    fn from_filename_without_a_match_names_the_source() {
        let p = params(vec![ProducerParams::FromFilename {
            pattern: DEFAULT_FILENAME_PATTERN.into(),
            defaults: BTreeMap::new(),
        }]);
        let e = build_sidecar(&p, &source(640, "organ.wav"), &BTreeMap::new()).unwrap_err();
        let text = e.to_string();
        assert!(text.starts_with("producer producers[0] from_filename on `organ.wav`: produced no column"), "{text}");
        let t = build_sidecar(&p, &source(640, "organ_take_2.wav"), &BTreeMap::new()).unwrap();
        assert_eq!(t.names, ["take"]);
    }

    #[test]
    fn audio_producer_adds_rms_db() {
        let x = vec![0.5f32; 48_000];
        let mut src = source(48_000, "dc.wav");
        src.audio = Some(AudioInput { samples: &x, sample_rate_hz: 48_000, features: None });
        let p = params(vec![konst(&[("k", 1.0)]), ProducerParams::Audio { columns: vec![AudioColumn::RmsDb] }]);
        let t = build_sidecar(&p, &src, &BTreeMap::new()).unwrap();
        assert_eq!(t.frames, 75);
        let db = t.column_named("rms_db").unwrap();
        assert!(db.iter().all(|&v| (v - 20.0 * 0.5f32.log10()).abs() < 1e-4));
    }
}
