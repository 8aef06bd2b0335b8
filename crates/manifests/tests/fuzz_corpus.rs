//! Replays the fuzzer's corpus (`fuzz/corpus/parse/`): every input it kept stays a test.

use std::path::Path;

#[test]
fn fuzz_corpus_holds_the_property() {
    let dir = Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
        .join("fuzz/corpus/parse");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus") {
        let path = entry.expect("entry").path();
        let data = std::fs::read(&path).expect("read");
        manifests::fuzz_check(&data);
        n += 1;
    }
    assert!(n >= 5, "the seeds are there: {n}");
}

/// Every fixture with bytes flipped, cut or duplicated: a deterministic stand-in for the
/// fuzzer in the normal suite.
#[test]
fn mutated_fixtures_never_panic() {
    let root = Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
        .join("tests/fixtures");
    let mut files = Vec::new();
    for sub in ["webhooks", "apf"] {
        for e in std::fs::read_dir(root.join(sub)).expect("fixtures") {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x == "yaml") {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut runs = 0;
    for f in &files {
        let original = std::fs::read(f).expect("read");
        for _ in 0..40 {
            let mut data = original.clone();
            for _ in 0..(1 + next() % 4) {
                if data.is_empty() {
                    break;
                }
                let at = (next() as usize) % data.len();
                match next() % 4 {
                    0 => data[at] = b"{}[]:-'\"\n #&*!|>"[(next() % 16) as usize],
                    1 => data.truncate(at),
                    2 => {
                        let end = (at + (next() % 64) as usize).min(data.len());
                        let piece = data[at..end].to_vec();
                        data.splice(at..at, piece);
                    }
                    _ => {
                        data.remove(at);
                    }
                }
            }
            manifests::fuzz_check(&data);
            runs += 1;
        }
    }
    assert_eq!(runs, files.len() * 40);
}
