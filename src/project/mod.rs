//! Project configuration: `Project.toml` + `recipes/*.toml` (+ `--set`) → validated specs.
//! Pure over file texts; every problem is reported at once with file, line and key path.

pub mod album;
pub mod arrangement;
pub mod config;
pub mod controls;
pub mod diagnostic;
pub mod kind;
pub mod kit;
pub mod paths;
pub mod reader;
pub mod settings;
pub mod sidecars;
pub mod song;
pub mod target;
pub mod textures;
pub mod value;
pub mod video;

pub use config::{Config, SourceText, load};
pub use diagnostic::{Diagnostic, Diagnostics};
pub use kind::{ReadCx, TargetKind};
pub use settings::ProjectSettings;
pub use target::Target;
