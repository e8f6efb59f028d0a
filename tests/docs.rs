//! Generated documentation stays true: `docs/kit-parameters.md` and `docs/song-modules.md` match
//! their parameter schemas, `docs/settings.md` the flows' setting specs.
//! Regenerate with `NTSBUILD_BLESS=1 cargo test --test docs`.

#[test]
fn kit_parameter_docs_match_the_schema() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/kit-parameters.md");
    let want = ntsbuild::kit::param_table::params_markdown();
    if std::env::var_os("NTSBUILD_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(have == want, "docs/kit-parameters.md is out of date; run NTSBUILD_BLESS=1 cargo test --test docs");
}

#[test]
fn settings_docs_match_the_specs() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/settings.md");
    let want = ntsbuild::cli::list::settings_markdown(&ntsbuild::engine::flows::builtin());
    if std::env::var_os("NTSBUILD_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(have == want, "docs/settings.md is out of date; run NTSBUILD_BLESS=1 cargo test --test docs");
}

#[test]
fn song_module_docs_match_the_schema() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/song-modules.md");
    let want = ntsbuild::arrange::schema::modules_markdown();
    if std::env::var_os("NTSBUILD_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(have == want, "docs/song-modules.md is out of date; run NTSBUILD_BLESS=1 cargo test --test docs");
}

#[test]
fn producer_docs_cover_every_builtin_placeholder_and_audit_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/producers.md");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    for b in ntsbuild::producers::catalog::BUILTINS {
        assert!(text.contains(&format!("`{}`", b.kind)), "docs/producers.md does not describe kind `{}`", b.kind);
        for s in b.settings {
            assert!(text.contains(&format!("`{}", s.key)), "docs/producers.md lacks `{}` of `{}`", s.key, b.kind);
        }
    }
    for p in ntsbuild::plugin::PLACEHOLDERS {
        assert!(text.contains(&format!("`{{{p}}}`")), "docs/producers.md lacks the placeholder {{{p}}}");
    }
    let source =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/media/sidecar.rs")).unwrap();
    let after = |marker: &'static str| source.split(marker).skip(1).filter_map(|s| s.split('"').next());
    // Problem codes are snake_case words (this skips `#[error("…")]` attributes).
    let codes: Vec<&str> = after("error(\"")
        .chain(after("warning(\""))
        .filter(|c| !c.is_empty() && c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'))
        .collect();
    assert!(codes.len() > 15, "found only {codes:?}");
    for code in codes {
        assert!(text.contains(&format!("`{code}`")), "docs/producers.md does not list audit code `{code}`");
    }
    for key in ntsbuild::producers::ControlTarget::KEYS {
        assert!(text.contains(&format!("`{key}`")), "docs/producers.md does not list control `{key}`");
    }
}
