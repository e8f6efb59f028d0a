//! `Project.toml`: project-wide settings (name, output and cache dirs, sample rate, jobs).

use super::reader::TableReader;

pub const PROJECT_FILE: &str = "Project.toml";

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProjectSettings {
    pub name: String,
    /// Output directory, relative to the project (default `renders`).
    pub output_dir: String,
    /// Cache directory holding the store, relative to the project (default `cache`).
    pub cache_dir: String,
    pub sample_rate_hz: u32,
    /// Worker threads; 0 means one per core.
    pub jobs: usize,
    /// Models directory (decoder, anchors, `meta.json`), relative to the project (default `models`).
    pub models_dir: String,
    /// ONNX Runtime shared library to decode with (else `ORT_DYLIB_PATH`, else the built-in backend).
    pub onnxruntime: Option<String>,
}

impl Default for ProjectSettings {
    fn default() -> Self {
        ProjectSettings {
            name: "project".into(),
            output_dir: "renders".into(),
            cache_dir: "cache".into(),
            sample_rate_hz: 48_000,
            jobs: 0,
            models_dir: "models".into(),
            onnxruntime: None,
        }
    }
}

pub const MIN_SAMPLE_RATE_HZ: i64 = 8_000;
pub const MAX_SAMPLE_RATE_HZ: i64 = 192_000;

/// Read the `[project]` table (`[preset.NAME]` tables are taken out before, see `video::presets`).
pub fn read(top: &TableReader<'_>) -> ProjectSettings {
    let d = ProjectSettings::default();
    let Some(p) = top.table("project") else {
        if top.get("project").is_none() {
            top.error("project", "missing table `[project]` (with at least `name = \"…\"`)");
        }
        top.finish();
        return d;
    };
    let s = ProjectSettings {
        name: p.string("name").unwrap_or(d.name),
        output_dir: p.string("output").unwrap_or(d.output_dir),
        cache_dir: p.string("cache").unwrap_or(d.cache_dir),
        sample_rate_hz: p.int("sample_rate", 48_000, MIN_SAMPLE_RATE_HZ, MAX_SAMPLE_RATE_HZ) as u32,
        jobs: p.int("jobs", 0, 0, 256) as usize,
        models_dir: p.string("models").unwrap_or(d.models_dir),
        onnxruntime: p.string("onnxruntime"),
    };
    for (key, value) in [("output", &s.output_dir), ("cache", &s.cache_dir), ("models", &s.models_dir)] {
        if let Err(e) = super::paths::check_relative(value)
            && p.get(key).is_some()
        {
            p.error(key, e);
        }
    }
    p.finish();
    top.finish();
    s
}
