//! An owned TOML tree that remembers where every key came from (file and line, or a
//! `--set` argument), so validation can name the exact place of each problem.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use toml::de::{DeTable, DeValue};

use super::diagnostic::Diagnostic;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Origin {
    File { file: Arc<str>, line: usize, col: usize },
    Override { arg: Arc<str> },
}

impl Origin {
    pub fn diagnostic(&self, key: &str, message: impl Into<String>) -> Diagnostic {
        let message = message.into();
        match self {
            Origin::File { file, line, col } => {
                Diagnostic { file: file.to_string(), line: Some(*line), col: Some(*col), key: key.to_string(), message }
            }
            Origin::Override { arg } => {
                Diagnostic { file: format!("--set {arg}"), line: None, col: None, key: key.to_string(), message }
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Datetime(String),
    Array(Vec<Node>),
    Table(BTreeMap<String, Node>),
}

// Recipe values compare by value; a NaN (TOML's `nan`) only makes an unchanged file look
// changed, which costs a re-check, never a wrong build.
impl Eq for Node {}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the key of this value (or the value itself, for array items) was written.
    pub origin: Origin,
    pub kind: Kind,
}

impl Kind {
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Str(_) => "a string",
            Kind::Int(_) => "an integer",
            Kind::Float(_) => "a float",
            Kind::Bool(_) => "a boolean",
            Kind::Datetime(_) => "a datetime",
            Kind::Array(_) => "an array",
            Kind::Table(_) => "a table",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Str(s) => write!(f, "{s:?}"),
            Kind::Int(i) => write!(f, "{i}"),
            Kind::Float(x) => write!(f, "{x}"),
            Kind::Bool(b) => write!(f, "{b}"),
            Kind::Datetime(d) => write!(f, "{d}"),
            Kind::Array(a) => write!(f, "[{} items]", a.len()),
            Kind::Table(_) => write!(f, "{{table}}"),
        }
    }
}

/// Maps byte offsets to 1-based line and column.
struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    fn new(text: &str) -> Lines {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { starts }
    }

    fn at(&self, offset: usize) -> (usize, usize) {
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        (line, offset - self.starts[line - 1] + 1)
    }
}

/// Parse TOML text into a [`Node`] table; a syntax error becomes one diagnostic with its line.
pub fn parse(file: &str, text: &str) -> Result<Node, Diagnostic> {
    let lines = Lines::new(text);
    let file: Arc<str> = Arc::from(file);
    let origin_at = |offset: usize| {
        let (line, col) = lines.at(offset);
        Origin::File { file: file.clone(), line, col }
    };
    match DeTable::parse(text) {
        Ok(table) => Ok(Node { origin: origin_at(0), kind: convert_table(table.get_ref(), &origin_at) }),
        Err(e) => {
            let origin = origin_at(e.span().map(|s| s.start).unwrap_or(0));
            Err(origin.diagnostic("", format!("invalid TOML: {}", e.message().trim())))
        }
    }
}

fn convert_table(table: &DeTable<'_>, origin_at: &dyn Fn(usize) -> Origin) -> Kind {
    let mut map = BTreeMap::new();
    for (k, v) in table.iter() {
        let node = Node { origin: origin_at(k.span().start), kind: convert(v.get_ref(), origin_at) };
        map.insert(k.get_ref().to_string(), node);
    }
    Kind::Table(map)
}

fn convert(v: &DeValue<'_>, origin_at: &dyn Fn(usize) -> Origin) -> Kind {
    match v {
        DeValue::String(s) => Kind::Str(s.to_string()),
        DeValue::Integer(i) => {
            match i64::from_str_radix(i.as_str().replace('_', "").trim_start_matches('+'), i.radix()) {
                Ok(n) => Kind::Int(n),
                Err(_) => Kind::Str(i.as_str().to_string()),
            }
        }
        DeValue::Float(x) => Kind::Float(parse_float(x.as_str())),
        DeValue::Boolean(b) => Kind::Bool(*b),
        DeValue::Datetime(d) => Kind::Datetime(d.to_string()),
        DeValue::Array(items) => Kind::Array(
            items
                .iter()
                .map(|item| Node { origin: origin_at(item.span().start), kind: convert(item.get_ref(), origin_at) })
                .collect(),
        ),
        DeValue::Table(t) => convert_table(t, origin_at),
    }
}

fn parse_float(s: &str) -> f64 {
    let s = s.replace('_', "");
    match s.as_str() {
        "inf" | "+inf" => f64::INFINITY,
        "-inf" => f64::NEG_INFINITY,
        "nan" | "+nan" | "-nan" => f64::NAN,
        other => other.parse().unwrap_or(f64::NAN),
    }
}

/// Parse the value part of a `--set key=value` argument: a TOML value, or else a bare string.
pub fn parse_override_value(arg: &str, value: &str) -> Node {
    let origin = Origin::Override { arg: Arc::from(arg) };
    let origin_at = |_| origin.clone();
    let kind = match DeValue::parse(value) {
        Ok(v) => convert(v.get_ref(), &origin_at),
        Err(_) => Kind::Str(value.to_string()),
    };
    Node { origin, kind }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_lines_of_keys() {
        let node = parse("r.toml", "[kit.demo]\n\n[kit.demo.kick]\nseed = 3\npunch_decay = 0.5\n").unwrap();
        let Kind::Table(top) = &node.kind else { panic!() };
        let Kind::Table(kit) = &top["kit"].kind else { panic!() };
        let Kind::Table(demo) = &kit["demo"].kind else { panic!() };
        let Kind::Table(kick) = &demo["kick"].kind else { panic!() };
        assert_eq!(kick["punch_decay"].kind, Kind::Float(0.5));
        assert!(matches!(kick["punch_decay"].origin, Origin::File { line: 5, col: 1, .. }));
    }

    #[test]
    fn syntax_errors_have_a_line() {
        let d = parse("r.toml", "[kit]\nx = = 1\n").unwrap_err();
        assert_eq!(d.line, Some(2));
        assert!(d.message.contains("invalid TOML"));
    }

    #[test]
    fn override_values_fall_back_to_strings() {
        assert_eq!(parse_override_value("a=1", "0.6").kind, Kind::Float(0.6));
        assert_eq!(parse_override_value("a=kit.x", "kit.x").kind, Kind::Str("kit.x".into()));
    }
}
