//! Setting specs: one row per recipe setting — its table, key, default, range or choices, unit
//! and meaning — so a range is written once and drives recipe validation, the domain's own
//! checks, `ntsbuild list --params` and the generated `docs/settings.md`. Plain data (layer 1).

/// What values a setting takes, and its default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Number {
        default: f64,
        min: f64,
        max: f64,
    },
    Integer {
        default: i64,
        min: i64,
        max: i64,
    },
    Bool {
        default: bool,
    },
    Choice {
        default: &'static str,
        choices: &'static [&'static str],
    },
    /// Free text (a path or a name) checked by its reader; `default` describes the default.
    Text {
        default: &'static str,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SettingSpec {
    /// The recipe table it belongs to, e.g. `postfx` (`[album.NAME.postfx]`).
    pub table: &'static str,
    pub key: &'static str,
    pub kind: Kind,
    /// Unit of a number (`s`, `Hz`, `dB`), or empty.
    pub unit: &'static str,
    /// What it does, in one line.
    pub doc: &'static str,
}

impl SettingSpec {
    /// A number setting's default (0 for other kinds).
    pub fn default_f64(&self) -> f64 {
        match self.kind {
            Kind::Number { default, .. } => default,
            Kind::Integer { default, .. } => default as f64,
            _ => 0.0,
        }
    }

    /// A number setting's allowed range (inclusive).
    pub fn range(&self) -> (f64, f64) {
        match self.kind {
            Kind::Number { min, max, .. } => (min, max),
            Kind::Integer { min, max, .. } => (min as f64, max as f64),
            _ => (f64::NEG_INFINITY, f64::INFINITY),
        }
    }

    /// `Err` naming the key, its range and the value when `value` is outside the range.
    pub fn check(&self, value: f64) -> Result<(), String> {
        let (lo, hi) = self.range();
        if value.is_finite() && (lo..=hi).contains(&value) {
            Ok(())
        } else {
            let unit = if self.unit.is_empty() { String::new() } else { format!(" {}", self.unit) };
            Err(format!("{} must be in [{lo}, {hi}]{unit}, got {value}", self.key))
        }
    }

    /// The default as a user would write it.
    pub fn default_text(&self) -> String {
        match self.kind {
            Kind::Number { default, .. } => num(default),
            Kind::Integer { default, .. } => default.to_string(),
            Kind::Bool { default } => default.to_string(),
            Kind::Choice { default, .. } => format!("\"{default}\""),
            Kind::Text { default } => default.to_string(),
        }
    }

    /// The allowed values as a user would read them.
    pub fn allowed_text(&self) -> String {
        match self.kind {
            Kind::Number { min, max, .. } => format!("{} to {}", num(min), num(max)),
            Kind::Integer { min, max, .. } => format!("{min} to {max}"),
            Kind::Bool { .. } => "true, false".into(),
            Kind::Choice { choices, .. } => choices.join(", "),
            Kind::Text { .. } => "text".into(),
        }
    }
}

/// The spec of `key` in `specs`. Keys are fixed at compile time; an unknown one is a bug.
pub fn spec<'a>(specs: &'a [SettingSpec], key: &str) -> &'a SettingSpec {
    specs.iter().find(|s| s.key == key).unwrap_or_else(|| unreachable!("no setting spec `{key}`"))
}

/// Format a number the way a user would write it in TOML.
pub fn num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 { format!("{}", x as i64) } else { format!("{x}") }
}

/// One aligned text row per setting (`list --params`), under a `[prefix.table]` heading.
pub fn rows(prefix: &str, specs: &[SettingSpec]) -> Vec<String> {
    let mut out = Vec::new();
    let mut table = "";
    for s in specs {
        if s.table != table {
            table = s.table;
            out.push(format!("[{prefix}.{table}]"));
            out.push(format!("  {:<22} {:>12}  {:<24} {:<6} description", "key", "default", "allowed", "unit"));
        }
        out.push(format!("  {:<22} {:>12}  {:<24} {:<6} {}", s.key, s.default_text(), s.allowed_text(), s.unit, s.doc));
    }
    out
}

/// A Markdown table of `specs` (for `docs/settings.md`).
pub fn markdown(prefix: &str, specs: &[SettingSpec]) -> String {
    let mut out = String::new();
    let mut table = "";
    for s in specs {
        if s.table != table {
            table = s.table;
            out.push_str(&format!(
                "\n### `[{prefix}.{table}]`\n\n| key | default | allowed | unit | description |\n|---|---|---|---|---|\n"
            ));
        }
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            s.key,
            s.default_text(),
            s.allowed_text(),
            s.unit,
            s.doc
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: [SettingSpec; 2] = [
        SettingSpec {
            table: "fx",
            key: "gain",
            kind: Kind::Number { default: 0.5, min: 0.0, max: 1.0 },
            unit: "",
            doc: "how much",
        },
        SettingSpec { table: "fx", key: "on", kind: Kind::Bool { default: true }, unit: "", doc: "whether" },
    ];

    #[test]
    fn a_range_check_names_key_range_and_value() {
        let s = spec(&SPECS, "gain");
        assert!(s.check(0.5).is_ok() && s.check(1.0).is_ok());
        let e = s.check(1.5).unwrap_err();
        assert!(e.contains("gain") && e.contains("[0, 1]") && e.contains("1.5"), "{e}");
        assert!(s.check(f64::NAN).is_err());
    }

    #[test]
    fn rows_and_markdown_list_every_setting_under_its_table() {
        let rows = rows("album.NAME", &SPECS);
        assert_eq!(rows[0], "[album.NAME.fx]");
        assert!(rows[2].contains("gain") && rows[2].contains("0 to 1") && rows[3].contains("true, false"));
        let md = markdown("album.NAME", &SPECS);
        assert!(md.contains("### `[album.NAME.fx]`") && md.contains("| `on` | true | true, false |"));
    }
}
