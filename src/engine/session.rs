//! Opening a project directory: read `Project.toml` and `recipes/*.toml`, validate, open the
//! store, and set up the salsa database.

use std::fs;
use std::path::{Path, PathBuf};

use salsa::Setter;

use super::db::{BuildEnv, Database, Mode};
use super::flow::{self, CheckCx, Registry};
use super::globs::Globs;
use crate::project::{self, Config, Diagnostic, Diagnostics, SourceText, paths};
use crate::store::Store;
use crate::store::digest::Digest;

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

/// Blobs still being synced are named before the session ends (a command that built without
/// rendering, such as `explain`, leaves none behind unnamed).
impl Drop for Session {
    fn drop(&mut self) {
        use super::db::Db;
        self.db.env().store.settle_all();
    }
}

impl Session {
    /// Open the project at `root` with `overrides` (`--set`) and the built-in flows, ready to
    /// build or plan.
    pub fn open(root: &Path, overrides: &[String], mode: Mode) -> Result<Session, Diagnostics> {
        Session::open_with(root, overrides, mode, super::flows::builtin())
    }

    /// As [`Session::open`], with the flows in `flows`.
    pub fn open_with(root: &Path, overrides: &[String], mode: Mode, flows: Registry) -> Result<Session, Diagnostics> {
        let sources = read_sources(root)?;
        Session::from_sources(root, sources, overrides, mode, None, flows)
    }

    /// As [`Session::open_with`], from texts already read, with the store at `store_root` (for
    /// `audit --rebuild`).
    pub fn from_sources(
        root: &Path,
        sources: Sources,
        overrides: &[String],
        mode: Mode,
        store_root: Option<&Path>,
        flows: Registry,
    ) -> Result<Session, Diagnostics> {
        let config = project::load(sources.project.as_deref(), &sources.recipes, overrides, &flows.kinds())?;
        let root = root.to_path_buf();
        for (key, rel) in
            [("project.cache", &config.settings.cache_dir), ("project.output", &config.settings.output_dir)]
        {
            paths::resolve_inside(&root, rel)
                .map_err(|e| io_diag(project::settings::PROJECT_FILE, format!("{key}: {e}")))?;
        }
        let store_dir = store_root.map_or_else(|| root.join(&config.settings.cache_dir), Path::to_path_buf);
        let store = Store::open(&store_dir).map_err(|e| io_diag(&config.settings.cache_dir, e))?;
        let mut db = Database::new(BuildEnv::new(root.clone(), store, mode, std::sync::Arc::new(flows)));
        // Expands the source globs once, into the database.
        set_sources(&mut db, sources, overrides);
        {
            use super::db::Db;
            check_inputs(&db, &root, &config, db.inputs().globs(&db))?;
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
        let patterns = flow::registry(db).globs(&config);
        let globs = super::globs::expand(&db.env().root, &config.settings.inputs, patterns.iter().map(String::as_str));
        if db.inputs().globs(db) != &globs {
            db.inputs().set_globs(db).to(globs);
        }
        refresh_files(db, &config);
    }
}

/// The project files the config reads (audio inputs, models, anchors), sorted.
pub fn input_files(flows: &Registry, config: &Config, globs: &Globs) -> Vec<String> {
    let mut files: Vec<String> = flows.artifacts(config, globs).into_values().flat_map(|a| a.files).collect();
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
    let env = db.env();
    let located: Vec<(String, PathBuf)> = input_files(flow::registry(db), config, &globs)
        .into_iter()
        .map(|path| {
            // A project file, or a file in a declared input root: read where it lives on this
            // machine, known to the build by its name and content only.
            let location = paths::resolve_input(&env.root, &config.settings.inputs, &path)
                .unwrap_or_else(|_| env.root.join(&path));
            (path, location)
        })
        .collect();
    // Files whose stamp changed are hashed at once (a first render of an album or an archive
    // hashes every recording), each on as many threads as are free.
    let digests: Vec<Option<Digest>> = {
        use rayon::prelude::*;
        located.par_iter().map(|(_, location)| env.stat.digest(location).ok().flatten()).collect()
    };
    for ((path, location), digest) in located.into_iter().zip(digests) {
        let handle = match old.get(&path) {
            Some(&h) => {
                if h.digest(db) != digest {
                    h.set_digest(db).to(digest);
                }
                if h.location(db) != &location {
                    h.set_location(db).to(location);
                }
                h
            }
            None => FileInput::new(db, path.clone(), location, digest),
        };
        new.insert(path, handle);
    }
    if new != old {
        inputs.set_files(db).to(new);
    }
}

/// What only the file system and the other targets can show (missing inputs, artifact ids that
/// name nothing), asked of each target's flow.
fn check_inputs(db: &Database, root: &Path, config: &Config, globs: &Globs) -> Result<(), Diagnostics> {
    let flows = flow::registry(db);
    let index = flows.artifacts(config, globs);
    let cx = CheckCx { root, config, index: &index, globs };
    let diags: Vec<Diagnostic> =
        config.targets.iter().filter_map(|(id, t)| Some(flows.flow(t.kind)?.check(id, t, &cx))).flatten().collect();
    if diags.is_empty() { Ok(()) } else { Err(Diagnostics(diags)) }
}
