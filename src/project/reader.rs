//! `TableReader`: validates one recipe table key by key, collecting every problem (wrong
//! type, out of range, unknown key with a suggestion) instead of stopping at the first.

use std::cell::RefCell;
use std::collections::BTreeMap;

use super::diagnostic::{Diagnostic, suggestion};
use super::value::{Kind, Node};

/// Collects diagnostics during one validation pass, and knows what every reader may need
/// from `Project.toml` to tell a valid value: the declared input roots.
#[derive(Debug, Default)]
pub struct Ctx {
    diags: RefCell<Vec<Diagnostic>>,
    input_roots: RefCell<BTreeMap<String, String>>,
}

impl Ctx {
    /// The input roots of `[project] inputs` (name → directory), once `Project.toml` is read.
    pub fn set_input_roots(&self, roots: BTreeMap<String, String>) {
        *self.input_roots.borrow_mut() = roots;
    }

    /// Record a problem; the same problem found twice (a table read for two targets) is
    /// reported once.
    pub fn push(&self, d: Diagnostic) {
        let mut diags = self.diags.borrow_mut();
        if !diags.contains(&d) {
            diags.push(d);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.diags.borrow().is_empty()
    }

    pub fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.diags.into_inner()
    }
}

pub struct TableReader<'a> {
    ctx: &'a Ctx,
    node: &'a Node,
    map: &'a BTreeMap<String, Node>,
    path: String,
    known: RefCell<Vec<String>>,
}

/// Format a number the way a user would write it in TOML.
pub fn num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 { format!("{}", x as i64) } else { format!("{x}") }
}

impl<'a> TableReader<'a> {
    /// A reader over `node`, which must be a table (else a diagnostic and `None`).
    pub fn new(ctx: &'a Ctx, node: &'a Node, path: &str) -> Option<TableReader<'a>> {
        match &node.kind {
            Kind::Table(map) => {
                Some(TableReader { ctx, node, map, path: path.to_string(), known: RefCell::new(Vec::new()) })
            }
            other => {
                ctx.push(node.origin.diagnostic(path, format!("expected a table, found {}", other.type_name())));
                None
            }
        }
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() { key.to_string() } else { format!("{}.{key}", self.path) }
    }

    pub fn ctx(&self) -> &'a Ctx {
        self.ctx
    }

    /// Mark `key` as allowed and return its node when present.
    pub fn get(&self, key: &str) -> Option<&'a Node> {
        self.known.borrow_mut().push(key.to_string());
        self.map.get(key)
    }

    /// Report a problem at `key` (or at the table when the key is absent).
    pub fn error(&self, key: &str, message: impl Into<String>) {
        let origin = self.map.get(key).map_or(&self.node.origin, |n| &n.origin);
        self.ctx.push(origin.diagnostic(&self.key_path(key), message));
    }

    /// Report a problem with the table as a whole (at the table's own position).
    pub fn table_error(&self, message: impl Into<String>) {
        self.ctx.push(self.node.origin.diagnostic(&self.path, message));
    }

    fn type_error(&self, key: &str, node: &Node, expected: &str) {
        self.error(key, format!("expected {expected}, found {} `{}`", node.kind.type_name(), node.kind));
    }

    /// A number in `[min, max]`; integers are accepted where floats are expected.
    pub fn f64(&self, key: &str, default: f64, min: f64, max: f64, unit: &str) -> f64 {
        let Some(node) = self.get(key) else { return default };
        let x = match node.kind {
            Kind::Float(x) => x,
            Kind::Int(i) => i as f64,
            _ => {
                self.type_error(key, node, "a number");
                return default;
            }
        };
        let unit = if unit.is_empty() { String::new() } else { format!(" {unit}") };
        if !x.is_finite() || x < min || x > max {
            self.error(key, format!("{} is out of range: allowed {} to {}{unit}", num(x), num(min), num(max)));
            return default;
        }
        x
    }

    /// An integer in `[min, max]`.
    pub fn int(&self, key: &str, default: i64, min: i64, max: i64) -> i64 {
        let Some(node) = self.get(key) else { return default };
        match node.kind {
            Kind::Int(i) if (min..=max).contains(&i) => i,
            Kind::Int(i) => {
                self.error(key, format!("{i} is out of range: allowed {min} to {max}"));
                default
            }
            _ => {
                self.type_error(key, node, "an integer");
                default
            }
        }
    }

    /// One of an explicit set of integers (e.g. sample rates).
    pub fn int_choice(&self, key: &str, default: i64, allowed: &[i64]) -> i64 {
        let Some(node) = self.get(key) else { return default };
        match node.kind {
            Kind::Int(i) if allowed.contains(&i) => i,
            _ => {
                let list: Vec<String> = allowed.iter().map(|a| a.to_string()).collect();
                self.error(key, format!("`{}` is not allowed: allowed values are {}", node.kind, list.join(", ")));
                default
            }
        }
    }

    /// A number setting read by its spec (default, range and unit from `spec`).
    pub fn number(&self, spec: &crate::schema::SettingSpec) -> f64 {
        let (min, max) = spec.range();
        self.f64(spec.key, spec.default_f64(), min, max, spec.unit)
    }

    /// An integer setting read by its spec.
    pub fn integer(&self, spec: &crate::schema::SettingSpec) -> i64 {
        match spec.kind {
            crate::schema::Kind::Integer { default, min, max } => self.int(spec.key, default, min, max),
            _ => self.int(spec.key, spec.default_f64() as i64, i64::MIN, i64::MAX),
        }
    }

    /// A boolean setting read by its spec.
    pub fn flag(&self, spec: &crate::schema::SettingSpec) -> bool {
        match spec.kind {
            crate::schema::Kind::Bool { default } => self.bool(spec.key, default),
            _ => self.bool(spec.key, false),
        }
    }

    /// One of a choice setting's names, read by its spec (a typo gets a suggestion).
    pub fn choice(&self, spec: &crate::schema::SettingSpec) -> String {
        let crate::schema::Kind::Choice { default, choices } = spec.kind else {
            return self.string(spec.key).unwrap_or_default();
        };
        let value = self.string(spec.key).unwrap_or_else(|| default.to_string());
        if !choices.contains(&value.as_str()) {
            let hint = suggestion(&value, choices.iter().copied());
            self.error(spec.key, format!("unknown value `{value}`{hint}; allowed: {}", choices.join(", ")));
            return default.to_string();
        }
        value
    }

    pub fn bool(&self, key: &str, default: bool) -> bool {
        let Some(node) = self.get(key) else { return default };
        match node.kind {
            Kind::Bool(b) => b,
            _ => {
                self.type_error(key, node, "true or false");
                default
            }
        }
    }

    pub fn string(&self, key: &str) -> Option<String> {
        let node = self.get(key)?;
        match &node.kind {
            Kind::Str(s) => Some(s.clone()),
            _ => {
                self.type_error(key, node, "a string");
                None
            }
        }
    }

    /// A required string.
    pub fn required_string(&self, key: &str, what: &str) -> Option<String> {
        let s = self.string(key);
        if s.is_none() && !self.map.contains_key(key) {
            self.error(key, format!("missing: {what}"));
        }
        s
    }

    /// Check `value` of `key` as an input file: a project path, or `ROOT:path` in a declared
    /// input root. Reports the problem (with `context`, when given) and returns whether it is valid.
    pub fn check_input_path(&self, key: &str, value: &str, context: &str) -> bool {
        match super::paths::check_input(value, &self.ctx.input_roots.borrow()) {
            Ok(()) => true,
            Err(e) => {
                self.error(key, if context.is_empty() { e } else { format!("{e}; {context}") });
                false
            }
        }
    }

    pub fn table(&self, key: &str) -> Option<TableReader<'a>> {
        let node = self.get(key)?;
        TableReader::new(self.ctx, node, &self.key_path(key))
    }

    /// The keys present in this table, in sorted order.
    pub fn keys(&self) -> impl Iterator<Item = &'a String> {
        self.map.keys()
    }

    /// Report every key that was never asked for, with a suggestion among those that were.
    pub fn finish(&self) {
        let known = self.known.borrow();
        for (key, node) in self.map {
            if !known.iter().any(|k| k == key) {
                let hint = suggestion(key, known.iter().map(String::as_str));
                let allowed = if known.is_empty() {
                    "this table takes no keys".to_string()
                } else {
                    let mut list: Vec<&str> = known.iter().map(String::as_str).collect();
                    list.sort_unstable();
                    list.dedup();
                    format!("allowed: {}", list.join(", "))
                };
                self.ctx.push(node.origin.diagnostic(&self.key_path(key), format!("unknown key{hint}; {allowed}")));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::value::parse;
    use super::*;

    #[test]
    fn collects_every_problem() {
        let node = parse("r.toml", "a = 5.0\nb = \"x\"\npunch_dcay = 1\n").unwrap();
        let ctx = Ctx::default();
        let r = TableReader::new(&ctx, &node, "kit.demo.kick").unwrap();
        assert_eq!(r.f64("a", 0.3, 0.1, 1.0, ""), 0.3);
        r.f64("b", 0.0, 0.0, 1.0, "");
        r.f64("punch_decay", 0.3, 0.1, 1.0, "");
        r.finish();
        let d = ctx.into_diagnostics();
        assert_eq!(d.len(), 3, "{d:?}");
        assert_eq!(d[0].to_string(), "r.toml:1:1: kit.demo.kick.a: 5 is out of range: allowed 0.1 to 1");
        assert!(d[1].message.contains("expected a number"));
        assert!(d[2].message.contains("did you mean `punch_decay`"), "{}", d[2]);
        assert_eq!(d[2].line, Some(3));
    }
}
