//! Replays the fuzzers' corpora (`fuzz/corpus/read/`, `fuzz/corpus/scan/`): every input they
//! kept stays a test.

use std::path::Path;

/// Runs `check` on every input of `fuzz/corpus/TARGET`; the number of inputs.
fn replay(target: &str, check: fn(&[u8])) -> usize {
    let dir = Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
        .join("fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus dir") {
        let data = std::fs::read(entry.expect("entry").path()).expect("read input");
        check(&data);
        n += 1;
    }
    n
}

#[test]
fn fuzz_corpus_holds_the_property() {
    let n = replay("read", audit::read::fuzz_check);
    assert!(n >= 15, "the corpus has only {n} inputs");
}

#[test]
fn scan_fuzz_corpus_holds_the_property() {
    let n = replay("scan", audit::scan_fuzz_check);
    assert!(n >= 8, "the corpus has only {n} inputs");
}
