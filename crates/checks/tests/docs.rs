//! `docs/checks.md` is generated from the registry; this fails when it is stale.

use std::path::PathBuf;

#[test]
fn checks_md_is_generated_from_the_registry() {
    let path =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
            .join("../../docs/checks.md");
    let expected = checks::checks_markdown();
    if std::env::var_os("APISERVER_DOCTOR_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &expected).expect("write docs/checks.md");
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/checks.md is stale: regenerate it with `cargo run -- checks --markdown > docs/checks.md` \
         (or APISERVER_DOCTOR_UPDATE_DOCS=1 cargo test -p checks --test docs)"
    );
}
