//! ntsbuild: an incremental, content-addressed build system for audio-visual renders.
//!
//! Layers (each uses only those above it): `dsp` (math) → `kit`, `song`, `features`,
//! `controller`, `postfx` (domain) → `media`
//! (file formats) → `project`, `store`, `engine` (the build) → `cli` (the interface).

pub mod cli;
pub mod controller;
pub mod decoder;
pub mod dsp;
pub mod engine;
pub mod features;
pub mod kit;
pub mod media;
pub mod postfx;
pub mod project;
pub mod song;
pub mod store;
pub mod textures;
