//! Project configuration: `Project.toml` + `recipes/*.toml` (+ `--set`) → validated specs.
//! Pure over file texts; every problem is reported at once with file, line and key path.

pub mod album;
pub mod config;
pub mod diagnostic;
pub mod kit;
pub mod paths;
pub mod reader;
pub mod settings;
pub mod song;
pub mod textures;
pub mod value;
pub mod video;

pub use config::{Config, KINDS, SourceText, TargetSpec, load};
pub use diagnostic::{Diagnostic, Diagnostics};
pub use settings::ProjectSettings;
