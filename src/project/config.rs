//! Loading a whole project: `Project.toml` + `recipes/*.toml` + `--set` overrides →
//! validated `Config`, or every problem found, each with file, line and key.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::album::{self, AlbumSpec};
use super::diagnostic::{Diagnostic, Diagnostics, suggestion};
use super::kit::{self, KitSpec};
use super::reader::{Ctx, TableReader};
use super::settings::{self, PROJECT_FILE, ProjectSettings};
use super::song::{self, SongSpec};
use super::value::{self, Kind, Node, Origin};
use super::video;

/// The kinds of target a recipe can declare, in build order.
pub const KINDS: [&str; 4] = ["kit", "song", "album", "textures"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSpec {
    Kit(Arc<KitSpec>),
    Song(Arc<SongSpec>),
    Album(Arc<AlbumSpec>),
    Textures(Arc<super::textures::TexturesSpec>),
}

impl TargetSpec {
    pub fn kind(&self) -> &'static str {
        match self {
            TargetSpec::Kit(_) => "kit",
            TargetSpec::Song(_) => "song",
            TargetSpec::Album(_) => "album",
            TargetSpec::Textures(_) => "textures",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub settings: ProjectSettings,
    /// Target id (`kit.demo`) → spec, sorted.
    pub targets: BTreeMap<String, TargetSpec>,
    /// Target id → the recipe file that declares it.
    pub target_files: BTreeMap<String, String>,
    /// Where keys that need further checks (audio paths, artifact references) were written,
    /// by key path (`album.demo.track[0].audio`).
    pub origins: BTreeMap<String, Origin>,
    /// Video presets by name: (description, built in?, anchor set).
    pub presets: BTreeMap<String, PresetInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresetInfo {
    pub description: String,
    pub builtin: bool,
    pub anchor_set: Option<String>,
}

/// A recipe file's project-relative path and text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceText {
    pub path: String,
    pub text: String,
}

/// Validate a project from the texts of its files. Pure: no I/O.
pub fn load(project: Option<&str>, recipes: &[SourceText], overrides: &[String]) -> Result<Config, Diagnostics> {
    let ctx = Ctx::default();
    let mut project_overrides = Vec::new();
    let mut target_overrides = Vec::new();
    for arg in overrides {
        match parse_override(arg) {
            Ok((path, node)) if path.first().is_some_and(|k| k == "project") => project_overrides.push((path, node)),
            Ok(o) => target_overrides.push(o),
            Err(d) => ctx.push(d),
        }
    }

    let mut project_presets = None;
    let settings = match project {
        None => {
            ctx.push(Diagnostic {
                file: PROJECT_FILE.into(),
                line: None,
                col: None,
                key: String::new(),
                message: "not found: a project directory needs a Project.toml (use -p DIR to point at one)".into(),
            });
            ProjectSettings::default()
        }
        Some(text) => match value::parse(PROJECT_FILE, text) {
            Ok(mut node) => {
                for (path, v) in project_overrides {
                    insert(&mut node, &path, v, &ctx);
                }
                if let Kind::Table(top) = &mut node.kind {
                    project_presets = top.remove("preset");
                }
                TableReader::new(&ctx, &node, "").map(|top| settings::read(&top)).unwrap_or_default()
            }
            Err(d) => {
                ctx.push(d);
                ProjectSettings::default()
            }
        },
    };

    // kind → name → (file, node)
    let mut tables: BTreeMap<String, BTreeMap<String, (String, Node)>> = BTreeMap::new();
    for src in recipes {
        let node = match value::parse(&src.path, &src.text) {
            Ok(n) => n,
            Err(d) => {
                ctx.push(d);
                continue;
            }
        };
        let Kind::Table(top) = node.kind else { continue };
        for (kind, kind_node) in top {
            if !KINDS.contains(&kind.as_str()) {
                let hint = suggestion(&kind, KINDS);
                ctx.push(kind_node.origin.diagnostic(
                    &kind,
                    format!(
                        "unknown target kind{hint}; recipes declare [{}]",
                        KINDS.map(|k| format!("{k}.NAME")).join("], [")
                    ),
                ));
                continue;
            }
            let Kind::Table(targets) = kind_node.kind else {
                ctx.push(kind_node.origin.diagnostic(&kind, format!("expected tables [{kind}.NAME]")));
                continue;
            };
            for (name, target) in targets {
                let id = format!("{kind}.{name}");
                if let Err(msg) = check_name(&name) {
                    ctx.push(target.origin.diagnostic(&id, msg));
                    continue;
                }
                let slot = tables.entry(kind.clone()).or_default();
                if let Some((other, _)) = slot.get(&name) {
                    ctx.push(target.origin.diagnostic(&id, format!("target declared twice (also in {other})")));
                    continue;
                }
                slot.insert(name, (src.path.clone(), target));
            }
        }
    }

    for (path, v) in target_overrides {
        let (kind, name) = (&path[0], path.get(1).cloned().unwrap_or_default());
        let candidates: Vec<String> =
            tables.iter().flat_map(|(k, t)| t.keys().map(move |n| format!("{k}.{n}"))).collect();
        match tables.get_mut(kind).and_then(|t| t.get_mut(&name)) {
            Some((_, node)) if path.len() > 2 => insert(node, &path[2..], v, &ctx),
            Some(_) => ctx.push(
                v.origin.diagnostic(&path.join("."), "--set needs a key inside the target, e.g. kit.demo.kick.seed=3"),
            ),
            None => {
                let id = format!("{kind}.{name}");
                let hint = suggestion(&id, candidates.iter().map(String::as_str));
                ctx.push(v.origin.diagnostic(&path.join("."), format!("no target `{id}`{hint}")));
            }
        }
    }

    let mut targets = BTreeMap::new();
    let mut target_files = BTreeMap::new();
    let mut kits = BTreeMap::new();
    for (name, (file, node)) in tables.get("kit").into_iter().flatten() {
        let id = format!("kit.{name}");
        if let Some(t) = TableReader::new(&ctx, node, &id) {
            kits.insert(id.clone(), kit::read(&t, &id, settings.sample_rate_hz));
            target_files.insert(id, file.clone());
        }
    }
    for (name, (file, node)) in tables.get("song").into_iter().flatten() {
        let id = format!("song.{name}");
        if let Some(t) = TableReader::new(&ctx, node, &id) {
            let spec = song::read(&t, &id, settings.sample_rate_hz, &kits);
            targets.insert(id.clone(), TargetSpec::Song(Arc::new(spec)));
            target_files.insert(id, file.clone());
        }
    }
    let declared: std::collections::BTreeSet<String> =
        tables.iter().flat_map(|(k, t)| t.keys().map(move |n| format!("{k}.{n}"))).collect();
    let mut origins = BTreeMap::new();
    let presets = video::presets(&ctx, project_presets.as_ref());
    let vctx = video::VideoContext {
        presets: &presets,
        models_dir: &settings.models_dir,
        onnxruntime: settings.onnxruntime.as_deref(),
    };
    for (name, (file, node)) in tables.get("album").into_iter().flatten() {
        let id = format!("album.{name}");
        if let Some(t) = TableReader::new(&ctx, node, &id) {
            let (spec, o) = album::read(&t, &id, settings.sample_rate_hz, &declared, &vctx);
            origins.extend(o);
            targets.insert(id.clone(), TargetSpec::Album(Arc::new(spec)));
            target_files.insert(id, file.clone());
        }
    }
    for (name, (file, node)) in tables.get("textures").into_iter().flatten() {
        let id = format!("textures.{name}");
        if let Some(t) = TableReader::new(&ctx, node, &id) {
            let spec = super::textures::read(&t, &id, &declared);
            targets.insert(id.clone(), TargetSpec::Textures(Arc::new(spec)));
            target_files.insert(id, file.clone());
        }
    }
    for (id, spec) in kits {
        targets.insert(id, TargetSpec::Kit(Arc::new(spec)));
    }

    if ctx.is_empty() {
        let presets = presets
            .into_iter()
            .map(|(name, p)| {
                let anchor_set = match &p.overlay.kind {
                    Kind::Table(m) => m.get("controller").and_then(|c| match &c.kind {
                        Kind::Table(c) => c.get("anchor_set").and_then(|a| match &a.kind {
                            Kind::Str(s) => Some(s.clone()),
                            _ => None,
                        }),
                        _ => None,
                    }),
                    _ => None,
                };
                (name, PresetInfo { description: p.description, builtin: p.builtin, anchor_set })
            })
            .collect();
        Ok(Config { settings, targets, target_files, origins, presets })
    } else {
        let mut diags = ctx.into_diagnostics();
        diags.sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
        diags.dedup();
        Err(Diagnostics(diags))
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !name.starts_with('-');
    if ok { Ok(()) } else { Err("target names use letters, digits, `_` and `-`".into()) }
}

/// `kit.demo.kick.punch_decay=0.6` → (["kit","demo","kick","punch_decay"], value node).
fn parse_override(arg: &str) -> Result<(Vec<String>, Node), Diagnostic> {
    let origin = Origin::Override { arg: Arc::from(arg) };
    let Some((path, value)) = arg.split_once('=') else {
        return Err(origin.diagnostic("", "expected KEY.PATH=VALUE, e.g. --set kit.demo.kick.punch_decay=0.6"));
    };
    let parts: Vec<String> = path.trim().split('.').map(|s| s.trim().to_string()).collect();
    if parts.iter().any(String::is_empty) || parts.len() < 2 {
        return Err(origin.diagnostic(path, "expected a dotted key path such as kit.demo.kick.seed"));
    }
    Ok((parts, value::parse_override_value(arg, value.trim())))
}

/// Set `path` inside the table `node` to `v`, creating intermediate tables.
fn insert(node: &mut Node, path: &[String], v: Node, ctx: &Ctx) {
    let Kind::Table(map) = &mut node.kind else {
        ctx.push(v.origin.diagnostic(&path.join("."), "cannot set a key inside a value that is not a table"));
        return;
    };
    if path.len() == 1 {
        map.insert(path[0].clone(), v);
        return;
    }
    let child = map
        .entry(path[0].clone())
        .or_insert_with(|| Node { origin: v.origin.clone(), kind: Kind::Table(BTreeMap::new()) });
    insert(child, &path[1..], v, ctx);
}
