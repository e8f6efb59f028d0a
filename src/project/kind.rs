//! The reading half of a flow: a recipe kind (`[kit.NAME]`, `[album.NAME]`, …) turns each of
//! its tables into a validated spec. `load` calls the kinds it is given, in order.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use super::reader::{Ctx, TableReader};
use super::settings::ProjectSettings;
use super::target::Target;
use super::value::{Node, Origin};

/// What a kind's reader sees besides its own table.
pub struct ReadCx<'a> {
    pub ctx: &'a Ctx,
    pub settings: &'a ProjectSettings,
    /// Every declared target id, of every kind (to tell artifact ids from file paths).
    pub declared: &'a BTreeSet<String>,
    /// The targets of the kinds read before this one (a song reads its kit's spec).
    pub targets: &'a BTreeMap<String, Target>,
    /// `Project.toml` tables that belong to kinds (`[preset.NAME]`), by name.
    pub project_tables: &'a BTreeMap<String, Node>,
    origins: RefCell<BTreeMap<String, Origin>>,
}

impl<'a> ReadCx<'a> {
    pub fn new(
        ctx: &'a Ctx,
        settings: &'a ProjectSettings,
        declared: &'a BTreeSet<String>,
        targets: &'a BTreeMap<String, Target>,
        project_tables: &'a BTreeMap<String, Node>,
    ) -> ReadCx<'a> {
        ReadCx { ctx, settings, declared, targets, project_tables, origins: RefCell::default() }
    }

    /// Remember where `key` was written, for checks made later against the file system.
    pub fn origin(&self, key: String, origin: Origin) {
        self.origins.borrow_mut().insert(key, origin);
    }

    pub fn into_origins(self) -> BTreeMap<String, Origin> {
        self.origins.into_inner()
    }
}

pub trait TargetKind: Send + Sync {
    /// The recipe table name: targets are `[NAME.TARGET]`.
    fn name(&self) -> &'static str;

    /// Top-level `Project.toml` tables this kind owns (handed to it as
    /// [`ReadCx::project_tables`], hidden from the `[project]` reader).
    fn project_tables(&self) -> &'static [&'static str] {
        &[]
    }

    /// Read one target's table (`t` is `[NAME.TARGET]`), reporting every problem through `t`.
    /// Unknown keys must be rejected (`t.finish()`).
    fn read(&self, t: &TableReader<'_>, id: &str, cx: &ReadCx<'_>) -> Target;
}
