//! Layer 2: param producers (DOMAIN §F) — per-frame conditioning columns for a source on a
//! frame grid, merged into one `T × C` sidecar table, and controls that map such columns onto
//! the video's per-frame parameters.
//!
//! Pure: a source's file name, length and decoded audio in, columns out; no files, no
//! processes, no printing. Plug-in producers run outside (`crate::plugin`); their columns are
//! handed to [`build_sidecar`] and checked like any built-in's.
//!
//! - [`grid`]: `T = ceil(duration · fps)`, frame bounds and centres.
//! - [`builtin`]: `const`, `lin`, `from_filename`.
//! - [`audio`]: `rms_db` and the resampled librosa features.
//! - [`merge`]: run the list, last producer wins a name, every column checked.
//! - [`controls`]: column → controller/postFX parameter tracks on the video grid.

pub mod audio;
pub mod builtin;
pub mod catalog;
pub mod controls;
pub mod error;
pub mod grid;
pub mod merge;
pub mod spec;
pub mod table;

pub use audio::AudioInput;
pub use controls::{ControlError, ControlMapping, ControlTarget, ControlTracks, ValueMap, VideoGrid, control_tracks};
pub use error::{ProducerError, ProducerProblem};
pub use grid::Grid;
pub use merge::{SourceInput, SourceLength, build_sidecar, check_column};
pub use spec::{AudioColumn, DEFAULT_FILENAME_PATTERN, ProducerParams, SidecarParams};
pub use table::{Column, NormStats, SidecarTable};
