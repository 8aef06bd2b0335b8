//! Files compressed twice (a `.zst` gzipped again by a log shipper, a `.gz` put through zstd
//! by a backup) are read, and their summary says so; more than three layers are refused with
//! what to do (review s20r, item 11: `gzzst.gz: not an audit format: binary data`); and a
//! problem of a whole file has no line number in strict mode's message.

use std::io::Write;

use arrow::array::RecordBatch;
use audit::read::{Compression, ReadOptions, SinkError, read_bytes};

/// audit2rbac's demo log, found at run time (a test binary built in another checkout of the
/// shared target directory still reads this one's).
fn audit_log() -> String {
    format!(
        "{}/tests/fixtures/audit/audit2rbac_demo.log",
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into())
    )
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(data, 1).expect("zstd")
}

fn read(name: &str, bytes: &[u8]) -> (audit::read::FileSummary, usize) {
    let mut rows = 0;
    let mut sink = |_: &str, b: RecordBatch| -> Result<(), SinkError> {
        rows += b.num_rows();
        Ok(())
    };
    let f = read_bytes(name, bytes, &ReadOptions::default(), &mut sink).expect("reads");
    (f, rows)
}

#[test]
fn a_gzip_of_a_zstd_stream_is_read_and_named_zstd_in_gzip() {
    let plain = std::fs::read(audit_log()).expect("fixture");
    let (once, once_rows) = read("plain.log", &plain);
    assert!(once.events > 0);
    let (f, rows) = read("gzzst.gz", &gzip(&zstd(&plain)));
    assert_eq!(f.not_audit, None);
    assert_eq!((f.events, rows), (once.events, once_rows));
    assert_eq!(f.compression, Compression::Gzip);
    assert_eq!(f.inner_compression, vec![Compression::Zstd]);
    assert_eq!(f.compression_label().as_deref(), Some("zstd in gzip"));
}

#[test]
fn a_zstd_of_a_gzip_stream_is_read_and_named_gzip_in_zstd() {
    let plain = std::fs::read(audit_log()).expect("fixture");
    let (once, _) = read("plain.log", &plain);
    let (f, _) = read("gz.zst", &zstd(&gzip(&plain)));
    assert_eq!(f.not_audit, None);
    assert_eq!(f.events, once.events);
    assert_eq!(f.compression_label().as_deref(), Some("gzip in zstd"));
    // Three layers are read too.
    let (f, _) = read("three", &gzip(&zstd(&gzip(&plain))));
    assert_eq!(f.events, once.events);
    assert_eq!(f.compression_label().as_deref(), Some("gzip in zstd in gzip"));
    // One layer is named as before.
    let (f, _) = read("one.gz", &gzip(&plain));
    assert_eq!(f.compression_label().as_deref(), Some("gzip"));
    assert!(f.inner_compression.is_empty());
}

#[test]
fn more_than_three_compression_layers_are_refused_with_what_to_do() {
    let plain = std::fs::read(audit_log()).expect("fixture");
    let (f, rows) = read("four", &zstd(&gzip(&zstd(&gzip(&plain)))));
    assert_eq!((f.events, rows), (0, 0));
    assert_eq!(
        f.not_audit.as_deref(),
        Some(
            "compressed more than 3 times (gzip in zstd in gzip in zstd): decompress it before reading it \
             (e.g. `zcat`, `zstdcat`) and read the result"
        )
    );
}

#[test]
fn strict_names_a_compressed_file_cut_short_without_a_line_number() {
    let plain = std::fs::read(audit_log()).expect("fixture");
    let gz = gzip(&plain);
    // Cut within the first record's compressed bytes, yet past the header.
    let cut = &gz[..40.min(gz.len())];
    let opts = ReadOptions { strict: true, ..ReadOptions::default() };
    let mut sink = |_: &str, _: RecordBatch| -> Result<(), SinkError> { Ok(()) };
    let err = read_bytes("cut.gz", cut, &opts, &mut sink).expect_err("strict refuses a cut file");
    let text = err.to_string();
    // A problem of the file: it has no line (it said `cut.gz: line 1: unreadable …`). Which of
    // two messages depends on the deflate backend, which Cargo picks by the crates built
    // together (`cargo test -p audit` and the whole workspace differ): one fails before the
    // first decoded byte ("unreadable"), the other after a few ("cut short before its first
    // record"). CI failed on the exact first one.
    let expected = [
        "cut.gz: unreadable gzip stream: incomplete deflate stream",
        "cut.gz: gzip data corrupt or cut short before its first record: the rest of the file was not read \
         (incomplete deflate stream)",
    ];
    assert!(expected.contains(&text.as_str()), "{text}");
    assert!(!text.contains("line"), "{text}");
}
