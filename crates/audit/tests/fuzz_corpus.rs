//! Replays the fuzzer's corpus (`fuzz/corpus/read/`): every input it kept stays a test.

use std::path::Path;

#[test]
fn fuzz_corpus_holds_the_property() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/read");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus dir") {
        let path = entry.expect("entry").path();
        let data = std::fs::read(&path).expect("read input");
        audit::read::fuzz_check(&data);
        n += 1;
    }
    assert!(n >= 15, "the corpus has only {n} inputs");
}

/// Replays the scan fuzzer's corpus (`fuzz/corpus/scan/`).
#[test]
fn scan_fuzz_corpus_holds_the_property() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/scan");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus dir") {
        let path = entry.expect("entry").path();
        let data = std::fs::read(&path).expect("read input");
        audit::scan_fuzz_check(&data);
        n += 1;
    }
    assert!(n >= 8, "the corpus has only {n} inputs");
}
