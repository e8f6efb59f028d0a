//! How a flow plugs into the engine. A [`Flow`] is one recipe kind (`[kit.NAME]`,
//! `[album.NAME]`, …): it reads its tables (as a [`TargetKind`]), declares each target's
//! artifacts in one place, and may add checks, source globs, post-render steps and `list`
//! lines. The [`Registry`] is the list of flows a project is built with; the core iterates it
//! and never names a flow.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use super::action::ArtifactDecl;
use super::db::Db;
use super::error::{BuildError, Built};
use super::event::ArtifactEvent;
use super::globs::Globs;
use crate::project::{Config, Diagnostic, Target, TargetKind};

/// What a flow sees when it declares a target's artifacts.
pub struct DeclCx<'a> {
    pub config: &'a Config,
    /// Source globs expanded against the project directory.
    pub globs: &'a Globs,
}

/// What a flow sees when it checks a target against the file system and the other targets
/// (when the project is opened; problems exit 2 before anything is built).
pub struct CheckCx<'a> {
    pub root: &'a Path,
    pub config: &'a Config,
    pub index: &'a BTreeMap<String, ArtifactDecl>,
    pub globs: &'a Globs,
}

/// What a flow sees after a render, to write what is not an artifact (`--keep-frames`).
pub struct AfterRender<'a> {
    pub db: &'a dyn Db,
    pub config: &'a Config,
    pub index: &'a BTreeMap<String, ArtifactDecl>,
    pub events: &'a [ArtifactEvent],
    /// `render --keep-frames`: also write each built video's frames as PNGs.
    pub keep_frames: bool,
}

/// A picture a flow adds to the gallery page (`ntsbuild report`), shown beside one of the
/// target's artifacts: drawn from what is already in the store, never computed for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figure {
    /// The artifact it is drawn from (`album.demo/opening/latents.npz`).
    pub beside: String,
    pub title: String,
    pub png: Vec<u8>,
}

pub trait Flow: TargetKind {
    /// Every artifact of one target of this kind.
    fn artifacts(&self, id: &str, target: &Target, cx: &DeclCx<'_>) -> Vec<ArtifactDecl>;

    /// Source globs the target reads (expanded into [`DeclCx::globs`]).
    fn globs(&self, _target: &Target) -> Vec<String> {
        Vec::new()
    }

    /// Problems only the file system or other targets can show (a missing audio file, an
    /// artifact id that names nothing).
    fn check(&self, _id: &str, _target: &Target, _cx: &CheckCx<'_>) -> Vec<Diagnostic> {
        Vec::new()
    }

    /// Runs after every render, with its events. Returns the project-relative folders written
    /// and how many files each holds; reports its progress through the database's sink.
    fn after_render(&self, _cx: &AfterRender<'_>) -> Result<Vec<(String, usize)>, String> {
        Ok(Vec::new())
    }

    /// Figures for the gallery page of one target (the controller's trajectory of each album
    /// track), read from the store in the database's mode. An artifact not built yet has none.
    fn figures(&self, _db: &dyn Db, _id: &str, _target: &Target) -> Vec<Figure> {
        Vec::new()
    }

    /// Extra lines for `ntsbuild list` (presets, anchor sets, …).
    fn list(&self, _config: &Config, _root: &Path) -> Vec<String> {
        Vec::new()
    }

    /// Rows for `ntsbuild list --params`: a heading line, then one line per parameter.
    fn params(&self) -> Vec<String> {
        Vec::new()
    }

    /// The settings tables of a target, by recipe path prefix (`album.NAME`): they drive
    /// `list --params` and `docs/settings.md` as they drive validation.
    fn settings(&self) -> Vec<(&'static str, &'static [crate::schema::SettingSpec])> {
        Vec::new()
    }

    /// A sub-artifact this flow finds while building (a video segment such as
    /// `album.demo/opening/decoded/0007`, as the progress bar names it), built in the
    /// database's mode (in plan mode: looked up, never computed), for `explain`. `None`: not
    /// an id of this flow's.
    fn sub_artifact(
        &self,
        _db: &dyn Db,
        _index: &BTreeMap<String, ArtifactDecl>,
        _id: &str,
    ) -> Option<Result<Built, BuildError>> {
        None
    }
}

/// The flows a project is read and built with, in reading order (a kind may read the targets of
/// kinds before it, as a song reads its kit).
#[derive(Clone, Default)]
pub struct Registry {
    flows: Vec<Arc<dyn Flow>>,
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Add a flow (after those already registered).
    pub fn with(mut self, flow: impl Flow + 'static) -> Registry {
        self.flows.push(Arc::new(flow));
        self
    }

    pub fn flows(&self) -> impl Iterator<Item = &dyn Flow> {
        self.flows.iter().map(|f| &**f)
    }

    pub fn flow(&self, kind: &str) -> Option<&dyn Flow> {
        self.flows().find(|f| f.name() == kind)
    }

    /// The recipe readers, for `project::load`.
    pub fn kinds(&self) -> Vec<&dyn TargetKind> {
        self.flows().map(|f| f as &dyn TargetKind).collect()
    }

    /// Every artifact of every target, by id.
    pub fn artifacts(&self, config: &Config, globs: &Globs) -> BTreeMap<String, ArtifactDecl> {
        let cx = DeclCx { config, globs };
        let mut out = BTreeMap::new();
        for (id, target) in &config.targets {
            let Some(flow) = self.flow(target.kind) else { continue };
            for a in flow.artifacts(id, target, &cx) {
                out.insert(a.id.clone(), a);
            }
        }
        out
    }

    /// A sub-artifact of any flow (see [`Flow::sub_artifact`]).
    pub fn sub_artifact(
        &self,
        db: &dyn Db,
        index: &BTreeMap<String, ArtifactDecl>,
        id: &str,
    ) -> Option<Result<Built, BuildError>> {
        self.flows().find_map(|f| f.sub_artifact(db, index, id))
    }

    /// Every source glob the project's targets read.
    pub fn globs(&self, config: &Config) -> Vec<String> {
        let mut out: Vec<String> =
            config.targets.values().filter_map(|t| Some(self.flow(t.kind)?.globs(t))).flatten().collect();
        out.sort();
        out.dedup();
        out
    }
}

/// The registry a database was opened with.
pub fn registry(db: &dyn Db) -> &Registry {
    static EMPTY: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
    db.env().flows.downcast_ref::<Registry>().unwrap_or_else(|| EMPTY.get_or_init(Registry::default))
}
