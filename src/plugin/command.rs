//! `PluginCommand`: an external producer's argv (with placeholders), environment and limits,
//! and the substitution of the placeholders for one source.

use std::collections::BTreeMap;
use std::time::Duration;

/// The placeholders an argv entry may contain, each replaced for every source:
/// `{source}` the source file's absolute path, `{audio}` the decoded mono audio (raw
/// little-endian float32), `{T}` the frame count, `{fps}` frames per second, `{out}` a path the
/// command may write its answer to, `{settings}` the settings as one JSON text, `{request}` a
/// file holding the request that is also on stdin.
pub const PLACEHOLDERS: [&str; 7] = ["source", "audio", "T", "fps", "out", "settings", "request"];

/// Default time a producer may run per source.
pub const DEFAULT_TIMEOUT_S: f64 = 300.0;
/// Default cap on a producer's answer (stdout or the `{out}` file), in MiB.
pub const DEFAULT_MAX_OUTPUT_MB: u64 = 256;

/// An external producer as declared by `[producer.NAME]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginCommand {
    /// The declaration's name (errors and the request carry it).
    pub name: String,
    /// Program and arguments; never run through a shell.
    pub argv: Vec<String>,
    /// Variables set for the command besides `PATH` (nothing else is inherited).
    pub env: BTreeMap<String, String>,
    /// Names for the columns of an `.npy` answer (else `NAME` or `NAME_0`, `NAME_1`, …).
    pub columns: Vec<String>,
    /// Wall-clock limit per source; the command's whole process group is killed after it.
    pub timeout: Duration,
    /// Cap on the answer's size in bytes; the process group is killed once it is passed.
    pub max_output_bytes: u64,
}

/// The values placeholders take for one source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Substitutions {
    /// Placeholder name → text.
    pub values: BTreeMap<&'static str, String>,
}

/// The placeholder names used in `arg`, or an error naming an unknown `{word}` or an unclosed
/// brace. `{{` and `}}` stand for literal braces.
pub fn placeholders_in(arg: &str) -> Result<Vec<&str>, String> {
    let mut found = Vec::new();
    let mut rest = arg;
    while let Some(i) = rest.find(['{', '}']) {
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            rest = &tail[2..];
            continue;
        }
        if tail.starts_with('}') {
            return Err(format!("`{arg}`: a lone `}}` (write `}}}}` for a literal brace)"));
        }
        let Some(end) = tail.find('}') else {
            return Err(format!("`{arg}`: `{{` is never closed (write `{{{{` for a literal brace)"));
        };
        let word = &tail[1..end];
        if !PLACEHOLDERS.contains(&word) {
            return Err(format!(
                "`{arg}`: unknown placeholder `{{{word}}}`; allowed: {}",
                PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
            ));
        }
        found.push(word);
        rest = &tail[end + 1..];
    }
    Ok(found)
}

/// `arg` with its placeholders replaced (unknown ones are left as written; the recipe reader
/// rejects them before anything runs).
pub fn substitute(arg: &str, subs: &Substitutions) -> String {
    let mut out = String::with_capacity(arg.len());
    let mut rest = arg;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push(tail.as_bytes()[0] as char);
            rest = &tail[2..];
            continue;
        }
        let known = if tail.starts_with('{') {
            tail.find('}').and_then(|end| subs.values.get(&tail[1..end]).map(|v| (end, v)))
        } else {
            None
        };
        match known {
            Some((end, value)) => {
                out.push_str(value);
                rest = &tail[end + 1..];
            }
            None => {
                out.push(tail.as_bytes()[0] as char);
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_found_and_checked() {
        assert_eq!(placeholders_in("--frames={T}").unwrap(), ["T"]);
        assert_eq!(placeholders_in("{source}:{fps}").unwrap(), ["source", "fps"]);
        assert!(placeholders_in("{{literal}}").unwrap().is_empty());
        assert!(placeholders_in("{frames}").unwrap_err().contains("unknown placeholder `{frames}`"));
        assert!(placeholders_in("{T").unwrap_err().contains("never closed"));
        assert!(placeholders_in("a}b").unwrap_err().contains("lone"));
    }

    #[test]
    fn substitution_replaces_known_words_only() {
        let subs = Substitutions { values: BTreeMap::from([("T", "4500".to_string()), ("fps", "75".to_string())]) };
        assert_eq!(substitute("--t={T}/{fps}", &subs), "--t=4500/75");
        assert_eq!(substitute("{{T}} {x}", &subs), "{T} {x}");
        assert_eq!(substitute("plain", &subs), "plain");
    }
}
