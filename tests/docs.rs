//! Generated documentation stays true: `docs/kit-parameters.md` matches the parameter schema.
//! Regenerate with `NTSBUILD_BLESS=1 cargo test --test docs`.

#[test]
fn kit_parameter_docs_match_the_schema() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/kit-parameters.md");
    let want = ntsbuild::cli::list::params_markdown();
    if std::env::var_os("NTSBUILD_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(have == want, "docs/kit-parameters.md is out of date; run NTSBUILD_BLESS=1 cargo test --test docs");
}
