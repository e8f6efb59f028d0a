//! Opening a project directory: read `Project.toml` and `recipes/*.toml`, validate, open the
//! store, and set up the salsa database.

use std::fs;
use std::path::{Path, PathBuf};

use salsa::Setter;

use super::db::{BuildEnv, Database, Mode};
use crate::project::album::AudioRef;
use crate::project::{self, Config, Diagnostic, Diagnostics, SourceText, TargetSpec, paths};
use crate::store::Store;

pub const RECIPES_DIR: &str = "recipes";

/// The texts a project is made of, read from disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    pub project: Option<String>,
    pub recipes: Vec<SourceText>,
}

fn io_diag(file: &str, e: impl std::fmt::Display) -> Diagnostics {
    Diagnostics(vec![Diagnostic {
        file: file.into(),
        line: None,
        col: None,
        key: String::new(),
        message: e.to_string(),
    }])
}

/// Read `Project.toml` and every `recipes/*.toml` (sorted by name).
pub fn read_sources(root: &Path) -> Result<Sources, Diagnostics> {
    let project = match fs::read_to_string(root.join(project::settings::PROJECT_FILE)) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_diag(project::settings::PROJECT_FILE, e)),
    };
    let mut recipes = Vec::new();
    let dir = root.join(RECIPES_DIR);
    if let Ok(entries) = fs::read_dir(&dir) {
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for path in files {
            let rel = format!("{RECIPES_DIR}/{}", path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default());
            if let Err(e) = paths::resolve_inside(root, &rel) {
                return Err(io_diag(&rel, e));
            }
            let text = fs::read_to_string(&path).map_err(|e| io_diag(&rel, e))?;
            recipes.push(SourceText { path: rel, text });
        }
    }
    Ok(Sources { project, recipes })
}

/// A validated project with its database.
pub struct Session {
    pub root: PathBuf,
    pub db: Database,
    pub config: Config,
}

impl Session {
    /// Open the project at `root` with `overrides` (`--set`), ready to build or plan.
    pub fn open(root: &Path, overrides: &[String], mode: Mode) -> Result<Session, Diagnostics> {
        let sources = read_sources(root)?;
        Session::from_sources(root, sources, overrides, mode, None)
    }

    /// As [`Session::open`], but with the store at `store_root` (for `audit --rebuild`).
    pub fn from_sources(
        root: &Path,
        sources: Sources,
        overrides: &[String],
        mode: Mode,
        store_root: Option<&Path>,
    ) -> Result<Session, Diagnostics> {
        let config = project::load(sources.project.as_deref(), &sources.recipes, overrides)?;
        let root = root.to_path_buf();
        for (key, rel) in
            [("project.cache", &config.settings.cache_dir), ("project.output", &config.settings.output_dir)]
        {
            paths::resolve_inside(&root, rel)
                .map_err(|e| io_diag(project::settings::PROJECT_FILE, format!("{key}: {e}")))?;
        }
        let store_dir = store_root.map_or_else(|| root.join(&config.settings.cache_dir), Path::to_path_buf);
        let store = Store::open(&store_dir).map_err(|e| io_diag(&config.settings.cache_dir, e))?;
        let mut db = Database::new(BuildEnv::new(root.clone(), store, mode));
        // Expands the source globs once, into the database.
        set_sources(&mut db, sources, overrides);
        {
            use super::db::Db;
            check_inputs(&root, &config, db.inputs().globs(&db))?;
        }
        Ok(Session { root, db, config })
    }
}

/// Update the database's inputs, touching only the fields whose content changed.
pub fn set_sources(db: &mut Database, sources: Sources, overrides: &[String]) {
    use super::db::Db;
    let inputs = db.inputs();
    if inputs.project_text(db) != &sources.project {
        inputs.set_project_text(db).to(sources.project);
    }
    if inputs.recipes(db) != &sources.recipes {
        inputs.set_recipes(db).to(sources.recipes);
    }
    if inputs.overrides(db).as_slice() != overrides {
        inputs.set_overrides(db).to(overrides.to_vec());
    }
    if let Ok(config) = super::query::config(db).clone() {
        let globs = super::textures::expand_globs(&db.env().root, &config);
        if db.inputs().globs(db) != &globs {
            db.inputs().set_globs(db).to(globs);
        }
        refresh_files(db, &config);
    }
}

/// The project files the config reads (audio inputs, models, anchors), sorted.
pub fn input_files(config: &Config, globs: &super::textures::Globs) -> Vec<String> {
    let mut files: Vec<String> = super::targets::artifacts(config, globs).into_values().flat_map(|a| a.files).collect();
    files.sort();
    files.dedup();
    files
}

/// Point the database at the current content of every input file (hashing only files whose
/// stat stamp changed), touching only inputs that changed.
pub fn refresh_files(db: &mut Database, config: &Config) {
    use super::db::{Db, FileInput};
    let inputs = db.inputs();
    let old = inputs.files(db).clone();
    let mut new = std::collections::BTreeMap::new();
    let globs = inputs.globs(db).clone();
    for path in input_files(config, &globs) {
        let digest = db.env().stat.digest(&db.env().root.join(&path)).ok().flatten();
        let handle = match old.get(&path) {
            Some(&h) => {
                if h.digest(db) != digest {
                    h.set_digest(db).to(digest);
                }
                h
            }
            None => FileInput::new(db, path.clone(), digest),
        };
        new.insert(path, handle);
    }
    if new != old {
        inputs.set_files(db).to(new);
    }
}

/// Audio inputs must exist inside the project, and artifact references must name artifacts.
fn check_inputs(root: &Path, config: &Config, globs: &super::textures::Globs) -> Result<(), Diagnostics> {
    let index = super::targets::artifacts(config, globs);
    let mut diags = Vec::new();
    check_texture_sources(root, config, globs, &index, &mut diags);
    for spec in config.targets.values() {
        let TargetSpec::Album(album) = spec else { continue };
        for (i, track) in album.tracks.iter().enumerate() {
            let key = format!("{}.track[{i}].audio", album.id);
            let problem = audio_problem(root, &index, &album.id, &track.audio, "an album cannot analyse itself");
            if let Some(message) = problem {
                diags.push(match config.origins.get(&key) {
                    Some(origin) => origin.diagnostic(&key, message),
                    None => Diagnostic { file: String::new(), line: None, col: None, key: key.clone(), message },
                });
            }
            // The model files the track's video reads.
            let c = &track.video.controller;
            let mut needed = vec![
                (
                    "decoder.model",
                    &track.video.decoder.model,
                    "an ONNX decoder: input `latent` [B,8,16,16] → `image` [B,3,H,W]",
                ),
                ("controller.anchors", &c.anchors, "an .npz with `anchors` (K,8,16,16)"),
                ("controller.anchor_set", &c.meta, "the models' meta.json"),
            ];
            if let Some(p) = &c.projection {
                needed.push(("controller.projection", p, "an .npz projection, or projection = \"none\""));
            }
            for (what, file, expected) in needed {
                let problem = match paths::resolve_inside(root, file) {
                    Err(e) => Some(e),
                    Ok(p) if !p.is_file() => {
                        Some(format!("`{file}`: no such file in the project (expected {expected})"))
                    }
                    Ok(_) => None,
                };
                if let Some(message) = problem {
                    let key = format!("{}.track[{i}].{what}", album.id);
                    let message = if what == "controller.anchor_set" {
                        message
                    } else {
                        format!("{message} (anchor set `{}`)", c.anchor_set)
                    };
                    diags.push(match config.origins.get(&format!("{}.track[{i}].audio", album.id)) {
                        Some(origin) => origin.diagnostic(&key, message),
                        None => Diagnostic { file: String::new(), line: None, col: None, key, message },
                    });
                }
            }
        }
    }
    if diags.is_empty() { Ok(()) } else { Err(Diagnostics(diags)) }
}

/// What is wrong with an audio input of target `owner`: a file missing or outside the project,
/// an unknown artifact, or one of `owner`'s own outputs (`itself` says why that cannot be).
fn audio_problem(
    root: &Path,
    index: &std::collections::BTreeMap<String, super::targets::ArtifactDecl>,
    owner: &str,
    audio: &AudioRef,
    itself: &str,
) -> Option<String> {
    match audio {
        AudioRef::File(f) => match paths::resolve_inside(root, f) {
            Err(e) => Some(e),
            Ok(p) if !p.is_file() => Some(format!("`{f}`: no such file in the project")),
            Ok(_) => None,
        },
        AudioRef::Artifact(a) if !index.contains_key(a) => {
            let hint = crate::project::diagnostic::suggestion(a, index.keys().map(String::as_str));
            Some(format!("no artifact `{a}`{hint}"))
        }
        AudioRef::Artifact(a) if a.starts_with(&format!("{owner}/")) => {
            Some(format!("`{a}` is an output of `{owner}`; {itself}"))
        }
        AudioRef::Artifact(_) => None,
    }
}

/// Texture sources: files must exist inside the project, globs must match something, artifact
/// references must name artifacts of other targets.
fn check_texture_sources(
    root: &Path,
    config: &Config,
    globs: &super::textures::Globs,
    index: &std::collections::BTreeMap<String, super::targets::ArtifactDecl>,
    diags: &mut Vec<Diagnostic>,
) {
    use crate::project::textures::SourceRef;
    for spec in config.targets.values() {
        let TargetSpec::Textures(t) = spec else { continue };
        for (key, list) in [("sources", &t.sources), ("pad_sources", &t.pad_sources), ("drum_sources", &t.drum_sources)]
        {
            for s in list.iter() {
                let audio = match s {
                    SourceRef::Glob(g) if globs.get(g).is_none_or(Vec::is_empty) => {
                        Some(Err(format!("`{g}` matches no file in the project")))
                    }
                    SourceRef::Glob(_) => None,
                    SourceRef::File(f) => Some(Ok(AudioRef::File(f.clone()))),
                    SourceRef::Artifact(a) => Some(Ok(AudioRef::Artifact(a.clone()))),
                };
                let problem = match audio {
                    None => None,
                    Some(Err(e)) => Some(e),
                    Some(Ok(a)) => audio_problem(root, index, &t.id, &a, "a texture library cannot mine itself"),
                };
                if let Some(message) = problem {
                    let file = config.target_files.get(&t.id).cloned().unwrap_or_default();
                    diags.push(Diagnostic { file, line: None, col: None, key: format!("{}.{key}", t.id), message });
                }
            }
        }
    }
}
