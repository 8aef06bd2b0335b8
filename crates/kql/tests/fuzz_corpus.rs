//! Replays the fuzzer's corpus (`fuzz/corpus/parse/`) and the inputs of past crashes
//! (`fuzz/regressions/`) through the fuzz property in the normal `cargo test`.

mod common;

use std::path::PathBuf;

fn inputs(dir: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
        .join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "md"))
        .collect();
    files.sort();
    files.into_iter().map(|p| (p.clone(), std::fs::read(&p).expect("readable input"))).collect()
}

#[test]
fn fuzz_corpus_holds_the_property() {
    let corpus = inputs("fuzz/corpus/parse");
    assert!(corpus.len() >= 40, "the corpus has only {} inputs", corpus.len());
    for (path, data) in corpus {
        let result = std::panic::catch_unwind(|| common::property::check(&data));
        assert!(result.is_ok(), "fuzz corpus input {} breaks the property", path.display());
    }
}

#[test]
fn past_fuzz_crashes_stay_fixed() {
    for (path, data) in inputs("fuzz/regressions") {
        let result = std::panic::catch_unwind(|| common::property::check(&data));
        assert!(result.is_ok(), "fuzz regression {} breaks the property", path.display());
    }
}
