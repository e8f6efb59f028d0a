//! Loading a whole project: `Project.toml` + `recipes/*.toml` + `--set` overrides →
//! validated `Config`, or every problem found, each with file, line and key.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::diagnostic::{Diagnostic, Diagnostics, suggestion};
use super::kind::{ReadCx, TargetKind};
use super::reader::{Ctx, TableReader};
use super::settings::{self, PROJECT_FILE, ProjectSettings};
use super::target::Target;
use super::value::{self, Kind, Node, Origin};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub settings: ProjectSettings,
    /// Target id (`kit.demo`) → spec, sorted.
    pub targets: BTreeMap<String, Target>,
    /// Target id → the recipe file that declares it.
    pub target_files: BTreeMap<String, String>,
    /// Where keys that need further checks (audio paths, artifact references) were written,
    /// by key path (`album.demo.track[0].audio`).
    pub origins: BTreeMap<String, Origin>,
    /// `Project.toml` tables owned by a kind (`[preset.NAME]`), by name.
    pub project_tables: BTreeMap<String, Node>,
}

/// A recipe file's project-relative path and text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceText {
    pub path: String,
    pub text: String,
}

/// Validate a project from the texts of its files, reading targets with `kinds` (in order: a
/// kind may read the targets of the kinds before it). Pure: no I/O.
pub fn load(
    project: Option<&str>,
    recipes: &[SourceText],
    overrides: &[String],
    kinds: &[&dyn TargetKind],
) -> Result<Config, Diagnostics> {
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

    let kind_tables: BTreeSet<&str> = kinds.iter().flat_map(|k| k.project_tables().iter().copied()).collect();
    let mut project_tables = BTreeMap::new();
    let mut project_unparsed = false;
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
                    for name in &kind_tables {
                        if let Some(t) = top.remove(*name) {
                            project_tables.insert(name.to_string(), t);
                        }
                    }
                }
                let settings = TableReader::new(&ctx, &node, "").map(|top| settings::read(&top)).unwrap_or_default();
                ctx.set_input_roots(settings.inputs.clone());
                settings
            }
            Err(d) => {
                ctx.push(d);
                project_unparsed = true;
                ProjectSettings::default()
            }
        },
    };

    let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
    // kind → name → (file, node)
    let mut tables: BTreeMap<String, BTreeMap<String, (String, Node)>> = BTreeMap::new();
    // A Project.toml that cannot be parsed hides its settings (input roots, the sample rate):
    // checking recipes against defaults would only add false errors.
    let mut unparsed = project_unparsed;
    for src in recipes {
        let node = match value::parse(&src.path, &src.text) {
            Ok(n) => n,
            Err(d) => {
                ctx.push(d);
                unparsed = true;
                continue;
            }
        };
        let Kind::Table(top) = node.kind else { continue };
        for (kind, kind_node) in top {
            if !names.contains(&kind.as_str()) {
                let hint = suggestion(&kind, names.iter().copied());
                let kinds = names.iter().map(|k| format!("[{k}.NAME]")).collect::<Vec<_>>().join(", ");
                ctx.push(
                    kind_node.origin.diagnostic(&kind, format!("unknown target kind{hint}; recipes declare {kinds}")),
                );
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
    if unparsed {
        // A recipe that cannot be parsed hides its targets: what refers to them would only add
        // false errors. Report the syntax errors alone.
        return Err(finish(ctx));
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

    let declared: BTreeSet<String> =
        tables.iter().flat_map(|(k, t)| t.keys().map(move |n| format!("{k}.{n}"))).collect();
    let mut targets: BTreeMap<String, Target> = BTreeMap::new();
    let mut target_files = BTreeMap::new();
    let mut origins = BTreeMap::new();
    for kind in kinds {
        let mut read = Vec::new();
        let cx = ReadCx::new(&ctx, &settings, &declared, &targets, &project_tables);
        for (name, (file, node)) in tables.get(kind.name()).into_iter().flatten() {
            let id = format!("{}.{name}", kind.name());
            if let Some(t) = TableReader::new(&ctx, node, &id) {
                read.push((id.clone(), kind.read(&t, &id, &cx)));
                target_files.insert(id, file.clone());
            }
        }
        origins.extend(cx.into_origins());
        targets.extend(read);
    }

    if ctx.is_empty() {
        Ok(Config { settings, targets, target_files, origins, project_tables })
    } else {
        Err(finish(ctx))
    }
}

fn finish(ctx: Ctx) -> Diagnostics {
    let mut diags = ctx.into_diagnostics();
    diags.sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
    diags.dedup();
    Diagnostics(diags)
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

/// Set `path` inside the table `node` to `v`, creating intermediate tables. A table to create
/// whose name is a near miss of an existing sibling table (`instrument.leed` beside
/// `instrument.lead`) is a typo, not a new table: reported with a did-you-mean, like recipe typos.
fn insert(node: &mut Node, path: &[String], v: Node, ctx: &Ctx) {
    let Kind::Table(map) = &mut node.kind else {
        ctx.push(v.origin.diagnostic(&path.join("."), "cannot set a key inside a value that is not a table"));
        return;
    };
    if path.len() == 1 {
        map.insert(path[0].clone(), v);
        return;
    }
    if !map.contains_key(&path[0]) {
        let tables = map.iter().filter(|(_, n)| matches!(n.kind, Kind::Table(_))).map(|(k, _)| k.as_str());
        if let Some(near) = super::diagnostic::did_you_mean(&path[0], tables) {
            let arg = match &v.origin {
                Origin::Override { arg } => arg.split_once('=').map_or(arg.to_string(), |(k, _)| k.to_string()),
                Origin::File { .. } => path.join("."),
            };
            ctx.push(v.origin.diagnostic(
                &arg,
                format!("no table `{}` here (did you mean `{near}`?); --set adds a table only where no existing one is this close", path[0]),
            ));
            return;
        }
    }
    let child = map
        .entry(path[0].clone())
        .or_insert_with(|| Node { origin: v.origin.clone(), kind: Kind::Table(BTreeMap::new()) });
    insert(child, &path[1..], v, ctx);
}
