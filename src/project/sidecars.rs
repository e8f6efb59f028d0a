//! `[sidecars.NAME]` recipes → `SidecarsSpec` (sources, frame grid, ordered producers), and
//! `[producer.NAME]` plug-in declarations in `Project.toml` → `PluginDecl`s.
//!
//! ```toml
//! [sidecars.demo]
//! sources = ["audio/organ.wav", "song.demo/song.wav"]   # files, globs, artifact ids
//! fps = 75                                             # or: hop = 320, sample_rate = 24000
//! producers = [
//!   { kind = "const", values = { scene_id = 7 } },
//!   { kind = "lin", values = { fade = [0.0, 1.0] } },    # or "0:1"
//!   { kind = "from_filename", defaults = { take = 1 } }, # pattern = seed's default
//!   { kind = "audio", columns = ["rms_db", "centroid"] },
//!   { plugin = "spectral_bands", settings = { bands = 4 } },
//! ]
//! ```

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use super::diagnostic::suggestion;
use super::reader::{TableReader, num};
use super::textures::{SourceRef, source_list};
use super::value::{Kind, Node};
use crate::plugin::{DEFAULT_MAX_OUTPUT_MB, DEFAULT_TIMEOUT_S, PluginCommand, placeholders_in};
use crate::producers::builtin::compile_pattern;
use crate::producers::grid::MAX_FPS;
use crate::producers::spec::check_column_name;
use crate::producers::{AudioColumn, DEFAULT_FILENAME_PATTERN, Grid, ProducerParams, SidecarParams};

/// The built-in producer kinds.
pub const KINDS: [&str; 4] = ["const", "lin", "from_filename", "audio"];
/// The seed's grid: EnCodec 24 kHz frames.
pub const DEFAULT_FPS: f64 = 75.0;
/// Largest magnitude of a `const`/`lin`/`defaults` value (they are stored as float32).
pub const MAX_VALUE: f64 = 1e30;

/// A validated `[sidecars.NAME]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SidecarsSpec {
    /// Target id, `sidecars.NAME`.
    pub id: String,
    /// Files, globs and artifact ids; each source gives one pair `<source>.cond.npy/.json`.
    pub sources: Vec<SourceRef>,
    /// Rate the sources are decoded at for audio producers: the grid's `sample_rate` for a hop
    /// grid, else the project rate.
    pub analysis_rate_hz: u32,
    /// Grid and producers: the domain input and the settings part of each pair's key.
    pub params: SidecarParams,
}

/// A `[producer.NAME]` declaration: an external command and what it depends on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PluginDecl {
    /// `NAME`.
    pub name: String,
    /// What `list --producers` says about it.
    pub description: String,
    /// Program and arguments (placeholders allowed), never run through a shell.
    pub command: Vec<String>,
    /// Files it reads besides the source (project-relative; must exist).
    pub inputs: Vec<String>,
    /// Entries of `command` that name project files (relative, containing `/`): the script
    /// itself. They are inputs too when they exist.
    pub command_files: Vec<String>,
    /// Extra environment (besides `PATH`).
    pub env: BTreeMap<String, String>,
    /// Default settings, overridable per use.
    pub settings: BTreeMap<String, Value>,
    /// Names for the columns of an `.npy` answer.
    pub columns: Vec<String>,
    /// Whether the command gets the decoded audio (`{audio}`, `audio` in the request).
    pub audio: bool,
    /// Free text; change it to rebuild everything the producer made (e.g. a new interpreter).
    pub version: String,
    /// Seconds per source before its process group is killed (not part of any key).
    pub timeout_s: f64,
    /// Cap on an answer, MiB (not part of any key).
    pub max_output_mb: u64,
}

impl Eq for PluginDecl {}

/// What of a declaration goes into a sidecar's key (besides the digests of
/// [`PluginDecl::key_files`] and the settings of each use): everything that can change the
/// columns. The timeout and the size cap cannot, so they are left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginKeyParams<'a> {
    /// `NAME`.
    pub name: &'a str,
    /// The argv as written (placeholders unexpanded: their values are keyed separately).
    pub command: &'a [String],
    /// Extra environment.
    pub env: &'a BTreeMap<String, String>,
    /// Column names for `.npy` answers.
    pub columns: &'a [String],
    /// Whether audio is passed.
    pub audio: bool,
    /// The declaration's `version`.
    pub version: &'a str,
}

impl PluginDecl {
    /// The runner's view of this declaration.
    pub fn to_command(&self) -> PluginCommand {
        PluginCommand {
            name: self.name.clone(),
            argv: self.command.clone(),
            env: self.env.clone(),
            columns: self.columns.clone(),
            timeout: std::time::Duration::from_secs_f64(self.timeout_s),
            max_output_bytes: self.max_output_mb * 1024 * 1024,
        }
    }

    /// Project files whose digests belong in the key of everything this producer makes:
    /// `inputs` (required to exist) and `command_files` (when they exist), sorted, deduplicated.
    pub fn key_files(&self) -> Vec<String> {
        let set: BTreeSet<&String> = self.inputs.iter().chain(&self.command_files).collect();
        set.into_iter().cloned().collect()
    }

    /// The key fields of the declaration itself.
    pub fn key_params(&self) -> PluginKeyParams<'_> {
        PluginKeyParams {
            name: &self.name,
            command: &self.command,
            env: &self.env,
            columns: &self.columns,
            audio: self.audio,
            version: &self.version,
        }
    }
}

/// Read the `[producer]` table of `Project.toml` (one subtable per plug-in).
pub fn read_producers(t: &TableReader<'_>) -> BTreeMap<String, PluginDecl> {
    let mut out = BTreeMap::new();
    let names: Vec<String> = t.keys().cloned().collect();
    for name in names {
        let Some(p) = t.table(&name) else { continue };
        if let Err(msg) = check_name(&name) {
            t.error(&name, msg);
            continue;
        }
        if let Some(decl) = read_decl(&p, &name) {
            out.insert(name, decl);
        }
        p.finish();
    }
    t.finish();
    out
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !name.starts_with('-');
    if ok { Ok(()) } else { Err("producer names use letters, digits, `_` and `-`".into()) }
}

fn read_decl(p: &TableReader<'_>, name: &str) -> Option<PluginDecl> {
    let description = p.string("description").unwrap_or_default();
    let command = string_list(p, "command");
    if command.is_none() && p.get("command").is_none() {
        p.error(
            "command",
            "missing: the program and its arguments, e.g. command = [\"python3\", \"producers/x.py\", \"{source}\"] (no shell)",
        );
    }
    let command = command.unwrap_or_default();
    if p.get("command").is_some() && (command.is_empty() || command[0].trim().is_empty()) {
        p.error("command", "the command is empty: give at least the program");
    }
    let audio = p.bool("audio", true);
    let mut command_files = Vec::new();
    for arg in &command {
        match placeholders_in(arg) {
            Err(e) => p.error("command", e),
            Ok(words) if words.contains(&"audio") && !audio => {
                p.error("command", format!("`{arg}` uses {{audio}} but `audio = false`"))
            }
            Ok(words) if words.is_empty() && looks_like_project_file(arg) => command_files.push(arg.clone()),
            Ok(_) => {}
        }
    }
    let inputs = string_list(p, "inputs").unwrap_or_default();
    for input in &inputs {
        if let Err(e) = super::paths::check_relative(input) {
            p.error("inputs", e);
        }
    }
    let env = match p.table("env") {
        Some(e) => {
            let mut map = BTreeMap::new();
            for key in e.keys() {
                let valid = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !valid {
                    e.error(key, "environment variable names use letters, digits and `_`, not starting with a digit");
                    continue;
                }
                if let Some(v) = e.string(key) {
                    map.insert(key.clone(), v);
                }
            }
            e.finish();
            map
        }
        None => BTreeMap::new(),
    };
    let settings = p.get("settings").map(|n| settings_map(p, "settings", n)).unwrap_or_default();
    let columns = string_list(p, "columns").unwrap_or_default();
    for c in &columns {
        if let Err(e) = check_column_name(c) {
            p.error("columns", e);
        }
    }
    let version = p.string("version").unwrap_or_default();
    let timeout_s = p.f64("timeout_s", DEFAULT_TIMEOUT_S, 0.1, 86_400.0, "s");
    let max_output_mb = p.int("max_output_mb", DEFAULT_MAX_OUTPUT_MB as i64, 1, 16_384) as u64;
    Some(PluginDecl {
        name: name.to_string(),
        description,
        command,
        inputs,
        command_files,
        env,
        settings,
        columns,
        audio,
        version,
        timeout_s,
        max_output_mb,
    })
}

/// A relative path containing `/`, not an option: taken to be a file of the project.
fn looks_like_project_file(arg: &str) -> bool {
    arg.contains('/') && !arg.starts_with('-') && !arg.contains('=') && super::paths::check_relative(arg).is_ok()
}

/// Read a `[sidecars.NAME]` target. `targets` are every declared target id (to tell artifact
/// ids from paths); `plugins` the `[producer.NAME]` declarations.
pub fn read(
    t: &TableReader<'_>,
    id: &str,
    project_rate_hz: u32,
    targets: &BTreeSet<String>,
    plugins: &BTreeMap<String, PluginDecl>,
) -> SidecarsSpec {
    let sources = source_list(t, "sources", targets).unwrap_or_else(|| {
        t.error("sources", "a sidecar target needs `sources`: project files, globs such as \"audio/*.wav\", or artifact ids such as \"song.demo/song.wav\"");
        Vec::new()
    });
    if t.get("sources").is_some() && sources.is_empty() {
        t.error("sources", "`sources` is empty: name at least one file, glob or artifact");
    }
    let (grid, analysis_rate_hz) = read_grid(t, project_rate_hz, DEFAULT_FPS);
    let producers = read_producer_list(t, "producers", plugins).unwrap_or_else(|| {
        t.error(
            "producers",
            "missing: an ordered list such as producers = [{ kind = \"const\", values = { scene_id = 7 } }]",
        );
        Vec::new()
    });
    t.finish();
    SidecarsSpec { id: id.to_string(), sources, analysis_rate_hz, params: SidecarParams { grid, producers } }
}

/// `fps`, or `hop` + `sample_rate` (default `fps = default_fps`). Returns the grid and the rate
/// audio producers analyse at.
pub fn read_grid(t: &TableReader<'_>, project_rate_hz: u32, default_fps: f64) -> (Grid, u32) {
    let has_fps = t.get("fps").is_some();
    let has_hop = t.get("hop").is_some();
    let has_rate = t.get("sample_rate").is_some();
    if has_fps && (has_hop || has_rate) {
        t.error("fps", "give either `fps` or `hop` with `sample_rate`, not both");
    }
    if has_hop != has_rate {
        let missing = if has_hop { "sample_rate" } else { "hop" };
        t.error(missing, "`hop` (samples per frame) and `sample_rate` (the rate they are counted at, Hz) go together");
    }
    if has_hop && has_rate {
        let hop = t.int("hop", 320, 1, 1 << 20) as u32;
        let rate = t.int(
            "sample_rate",
            i64::from(project_rate_hz),
            super::settings::MIN_SAMPLE_RATE_HZ,
            super::settings::MAX_SAMPLE_RATE_HZ,
        ) as u32;
        let grid = Grid::Hop { hop, sample_rate_hz: rate };
        if let Err(e) = grid.validate() {
            t.error("hop", e);
        }
        return (grid, rate);
    }
    let fps = t.f64("fps", default_fps, 0.001, MAX_FPS, "frames per second");
    (Grid::Fps { fps }, project_rate_hz)
}

/// An ordered list of producer entries at `key` (None when absent).
pub fn read_producer_list(
    t: &TableReader<'_>,
    key: &str,
    plugins: &BTreeMap<String, PluginDecl>,
) -> Option<Vec<ProducerParams>> {
    let node = t.get(key)?;
    let Kind::Array(items) = &node.kind else {
        t.error(key, format!("expected a list of inline tables, found {}", node.kind.type_name()));
        return Some(Vec::new());
    };
    if items.is_empty() {
        t.error(key, "the list is empty: give at least one producer");
    }
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(r) = TableReader::new(t.ctx(), item, &format!("{}[{i}]", t.key_path(key))) else { continue };
        if let Some(p) = read_producer(&r, plugins) {
            out.push(p);
        }
        r.finish();
    }
    Some(out)
}

fn read_producer(r: &TableReader<'_>, plugins: &BTreeMap<String, PluginDecl>) -> Option<ProducerParams> {
    if r.get("plugin").is_some() {
        if r.get("kind").is_some() {
            r.error("kind", "an entry is either a built-in (`kind = …`) or a plug-in (`plugin = …`), not both");
        }
        let name = r.string("plugin")?;
        let Some(decl) = plugins.get(&name) else {
            let hint = suggestion(&name, plugins.keys().map(String::as_str));
            let declared = if plugins.is_empty() {
                "none".to_string()
            } else {
                plugins.keys().cloned().collect::<Vec<_>>().join(", ")
            };
            r.error(
                "plugin",
                format!(
                    "no producer `{name}`{hint}; declare it as [producer.{name}] in Project.toml (declared: {declared})"
                ),
            );
            return None;
        };
        let mut settings = decl.settings.clone();
        if let Some(n) = r.get("settings") {
            settings.extend(settings_map(r, "settings", n));
        }
        return Some(ProducerParams::Plugin { name, settings });
    }
    let kind = r.required_string("kind", &format!("the producer's kind: {} (or `plugin = NAME`)", KINDS.join(", ")))?;
    match kind.as_str() {
        "const" => {
            let values = number_map(r, "values")?;
            Some(ProducerParams::Const { values })
        }
        "lin" => {
            let values = ramp_map(r, "values")?;
            Some(ProducerParams::Lin { values })
        }
        "from_filename" => {
            let pattern = r.string("pattern").unwrap_or_else(|| DEFAULT_FILENAME_PATTERN.to_string());
            if let Err(e) = compile_pattern(&pattern) {
                r.error("pattern", e);
            }
            let defaults = if r.get("defaults").is_some() { number_map(r, "defaults")? } else { BTreeMap::new() };
            Some(ProducerParams::FromFilename { pattern, defaults })
        }
        "audio" => {
            let words = string_list(r, "columns");
            if words.is_none() && r.get("columns").is_none() {
                r.error("columns", format!("missing: the audio columns, from {}", AudioColumn::WORDS));
            }
            let mut columns = Vec::new();
            for w in words.unwrap_or_default() {
                match AudioColumn::parse(&w) {
                    Some(cs) => {
                        for c in cs {
                            if columns.contains(&c) {
                                r.error("columns", format!("`{}` is listed twice", c.name()));
                            } else {
                                columns.push(c);
                            }
                        }
                    }
                    None => {
                        let words = ["rms_db", "rms", "centroid", "flatness", "onset", "mfcc", "all"];
                        let hint = suggestion(&w, words);
                        r.error(
                            "columns",
                            format!("unknown audio column `{w}`{hint}; allowed: {}", AudioColumn::WORDS),
                        );
                    }
                }
            }
            if columns.is_empty() {
                if r.get("columns").is_some() {
                    r.error("columns", "the list is empty: name at least one column");
                }
                return None;
            }
            Some(ProducerParams::Audio { columns })
        }
        other => {
            let hint = suggestion(other, KINDS);
            r.error(
                "kind",
                format!("unknown producer kind `{other}`{hint}; built-ins: {} (or `plugin = NAME`)", KINDS.join(", ")),
            );
            None
        }
    }
}

/// `{ NAME = number, … }`: every name a column name, every value finite and |x| ≤ 1e30.
fn number_map(r: &TableReader<'_>, key: &str) -> Option<BTreeMap<String, f64>> {
    let Some(m) = r.table(key) else {
        if r.get(key).is_none() {
            r.error(key, "missing: a table of column names and numbers, e.g. { scene_id = 7 }");
        }
        return None;
    };
    let mut out = BTreeMap::new();
    for name in m.keys() {
        if let Err(e) = check_column_name(name) {
            m.error(name, e);
            let _ = m.get(name);
            continue;
        }
        // On a bad value the reader records the problem and the project does not load.
        out.insert(name.clone(), m.f64(name, 0.0, -MAX_VALUE, MAX_VALUE, ""));
    }
    m.finish();
    if m.keys().next().is_none() {
        r.error(key, "the table is empty: give at least one column");
        return None;
    }
    Some(out)
}

/// `{ NAME = [start, end] or "start:end", … }`.
fn ramp_map(r: &TableReader<'_>, key: &str) -> Option<BTreeMap<String, [f64; 2]>> {
    let Some(m) = r.table(key) else {
        if r.get(key).is_none() {
            r.error(
                key,
                "missing: a table of column names and ramps, e.g. { fade = [0.0, 1.0] } or { fade = \"0:1\" }",
            );
        }
        return None;
    };
    let mut out = BTreeMap::new();
    for name in m.keys() {
        let Some(node) = m.get(name) else { continue };
        if let Err(e) = check_column_name(name) {
            m.error(name, e);
            continue;
        }
        match ramp(node) {
            Ok(pair) => {
                out.insert(name.clone(), pair);
            }
            Err(e) => m.error(name, e),
        }
    }
    m.finish();
    if m.keys().next().is_none() {
        r.error(key, "the table is empty: give at least one column");
        return None;
    }
    Some(out)
}

fn ramp(node: &Node) -> Result<[f64; 2], String> {
    let number = |n: &Node| match n.kind {
        Kind::Float(x) => Some(x),
        Kind::Int(i) => Some(i as f64),
        _ => None,
    };
    let pair = match &node.kind {
        Kind::Array(items) if items.len() == 2 => number(&items[0]).zip(number(&items[1])),
        Kind::Str(s) => {
            s.split_once(':').and_then(|(a, b)| a.trim().parse::<f64>().ok().zip(b.trim().parse::<f64>().ok()))
        }
        _ => None,
    };
    let Some((start, end)) = pair else {
        return Err(format!("expected [start, end] or \"start:end\", found {} `{}`", node.kind.type_name(), node.kind));
    };
    for x in [start, end] {
        if !(x.is_finite() && x.abs() <= MAX_VALUE) {
            return Err(format!("{} is out of range: allowed -{} to {}", num(x), num(MAX_VALUE), num(MAX_VALUE)));
        }
    }
    Ok([start, end])
}

/// A list of strings (a single string counts as a one-item list); None when absent.
pub(crate) fn string_list(t: &TableReader<'_>, key: &str) -> Option<Vec<String>> {
    let node = t.get(key)?;
    let items: Vec<&Node> = match &node.kind {
        Kind::Array(items) => items.iter().collect(),
        Kind::Str(_) => vec![node],
        other => {
            t.error(key, format!("expected a list of strings, found {}", other.type_name()));
            return Some(Vec::new());
        }
    };
    let mut out = Vec::new();
    for item in items {
        match &item.kind {
            Kind::Str(s) => out.push(s.clone()),
            other => t.error(key, format!("expected strings, found {} `{other}`", other.type_name())),
        }
    }
    Some(out)
}

/// A TOML table → JSON object (for plug-in settings). Datetimes and non-finite floats are errors.
fn settings_map(t: &TableReader<'_>, key: &str, node: &Node) -> BTreeMap<String, Value> {
    let Kind::Table(map) = &node.kind else {
        t.error(key, format!("expected a table of settings, found {}", node.kind.type_name()));
        return BTreeMap::new();
    };
    let mut out = BTreeMap::new();
    for (k, v) in map {
        match to_json(v) {
            Ok(j) => {
                out.insert(k.clone(), j);
            }
            Err(e) => t.error(key, format!("`{k}`: {e}")),
        }
    }
    out
}

fn to_json(node: &Node) -> Result<Value, String> {
    Ok(match &node.kind {
        Kind::Str(s) => Value::String(s.clone()),
        Kind::Int(i) => Value::from(*i),
        Kind::Float(x) => {
            serde_json::Number::from_f64(*x).map(Value::Number).ok_or_else(|| format!("{x} is not a finite number"))?
        }
        Kind::Bool(b) => Value::Bool(*b),
        Kind::Datetime(d) => return Err(format!("datetimes are not passed to producers (`{d}`); use a string")),
        Kind::Array(items) => Value::Array(items.iter().map(to_json).collect::<Result<_, _>>()?),
        Kind::Table(map) => {
            Value::Object(map.iter().map(|(k, v)| Ok((k.clone(), to_json(v)?))).collect::<Result<_, String>>()?)
        }
    })
}

#[cfg(test)]
mod tests;
