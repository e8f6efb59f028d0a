//! ntsbuild: an incremental, content-addressed build system for audio-visual renders.
//!
//! Layers (each uses only those above it): `dsp` (math) and `schema` (setting specs) → `kit`,
//! `song`, `arrange`, `features`, `controller`, `postfx`, `textures`, `producers` (domain) →
//! `media`, `plugin` (file formats, external producers) → `project`, `store`, `engine` (the
//! build) → `pages` (reports of a run) → `cli` (the interface).

pub mod arrange;
#[allow(clippy::print_stdout, clippy::print_stderr)] // the one module that prints
pub mod cli;
pub mod controller;
pub mod decoder;
pub mod dsp;
pub mod engine;
pub mod features;
pub mod kit;
pub mod media;
pub mod pages;
pub mod plugin;
pub mod postfx;
pub mod producers;
pub mod project;
pub mod schema;
pub mod song;
pub mod store;
pub mod textures;
