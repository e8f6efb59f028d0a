//! Checks and helpers for the inputs flows read: audio given as a project file, a file in a
//! declared input root (`ROOT:path`) or another target's artifact, and where a recipe wrote it (for messages).

use std::collections::BTreeMap;
use std::path::Path;

use super::action::ArtifactDecl;
use super::flow::CheckCx;
use crate::project::album::AudioRef;
use crate::project::textures::SourceRef;
use crate::project::{Config, Diagnostic, paths};

/// What is wrong with an audio input of target `owner`: a file missing or outside the project,
/// an unknown artifact, or one of `owner`'s own outputs (`itself` says why that cannot be).
pub fn audio_problem(
    root: &Path,
    input_roots: &BTreeMap<String, String>,
    index: &BTreeMap<String, ArtifactDecl>,
    owner: &str,
    audio: &AudioRef,
    itself: &str,
) -> Option<String> {
    match audio {
        AudioRef::File(f) => match paths::resolve_input(root, input_roots, f) {
            Err(e) => Some(e),
            Ok(p) if !p.is_file() => Some(match paths::split_input_root(f) {
                Some((name, _)) => format!("`{f}`: no such file in input root `{name}` ({})", p.display()),
                None => format!("`{f}`: no such file in the project"),
            }),
            Ok(_) => None,
        },
        AudioRef::Artifact(a) if !index.contains_key(a) => {
            let hint = crate::project::diagnostic::suggestion(a, index.keys().map(String::as_str));
            Some(format!("no artifact `{a}`{hint}"))
        }
        AudioRef::Artifact(a) if a.starts_with(&format!("{owner}/")) => {
            Some(format!("`{a}` is an output of `{owner}`; {itself}"))
        }
        AudioRef::Artifact(_) => None,
    }
}

/// Problems with a recipe's source list (`key` of target `id`): a glob that matches no file, a
/// missing file, an unknown artifact, one of the target's own outputs.
pub fn source_list_problems(
    id: &str,
    key: &str,
    list: &[SourceRef],
    cx: &CheckCx<'_>,
    itself: &str,
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for s in list {
        let problem = match s {
            SourceRef::Glob(g) if cx.globs.get(g).is_none_or(Vec::is_empty) => Some(format!(
                "`{g}` matches no audio file in the project (a glob matches files named like audio: \
                     .wav, .aiff, .flac, .mp3, .ogg, .opus, .m4a, .caf, …; name any other file on its own)"
            )),
            SourceRef::Glob(_) => None,
            SourceRef::File(f) => {
                audio_problem(cx.root, &cx.config.settings.inputs, cx.index, id, &AudioRef::File(f.clone()), itself)
            }
            SourceRef::Artifact(a) => {
                audio_problem(cx.root, &cx.config.settings.inputs, cx.index, id, &AudioRef::Artifact(a.clone()), itself)
            }
        };
        if let Some(message) = problem {
            let file = cx.config.target_files.get(id).cloned().unwrap_or_default();
            diags.push(Diagnostic { file, line: None, col: None, key: format!("{id}.{key}"), message });
        }
    }
    diags
}

/// The artifact dependencies and project files of a list of audio inputs (sorted, unique).
pub fn audio_inputs<'a>(audio: impl IntoIterator<Item = &'a AudioRef>) -> (Vec<String>, Vec<String>) {
    let (mut deps, mut files) = (Vec::new(), Vec::new());
    for a in audio {
        match a {
            AudioRef::Artifact(a) => deps.push(a.clone()),
            AudioRef::File(f) => files.push(f.clone()),
        }
    }
    for v in [&mut deps, &mut files] {
        v.sort();
        v.dedup();
    }
    (deps, files)
}

/// A diagnostic for `key`, placed where `origin_key` was written when that is known.
pub fn diagnostic_at(config: &Config, origin_key: &str, key: &str, message: String) -> Diagnostic {
    match config.origins.get(origin_key) {
        Some(origin) => origin.diagnostic(key, message),
        None => Diagnostic { file: String::new(), line: None, col: None, key: key.to_string(), message },
    }
}
