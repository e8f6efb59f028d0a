//! Opening a project directory: read `Project.toml` and `recipes/*.toml`, validate, open the
//! store, and set up the salsa database.

use std::fs;
use std::path::{Path, PathBuf};

use salsa::Setter;

use super::db::{BuildEnv, Database, Mode};
use crate::project::{self, Config, Diagnostic, Diagnostics, SourceText, paths};
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
        set_sources(&mut db, sources, overrides);
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
}
