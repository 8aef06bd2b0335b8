//! The reader on every container and record shape, the fast path against the reference
//! conversion, and bad input of every kind.

use std::io::Write;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::concat_batches;
use audit::batch::{Origin, events_to_batch};
use audit::read::{
    Compression, Container, FileSummary, ReadError, ReadOptions, SinkError, SkipKind, read_bytes, read_reader,
};
use audit::{Event, InputFormat, canonical_schema, col};

fn fixture(rel: &str) -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
        .join("tests/fixtures")
        .join(rel)
}

fn read_from(
    name: &str,
    reader: Box<dyn std::io::Read + Send + '_>,
    opts: &ReadOptions,
) -> (FileSummary, RecordBatch) {
    let mut batches = Vec::new();
    let mut sink = |_: &str, b: RecordBatch| -> Result<(), SinkError> {
        batches.push(b);
        Ok(())
    };
    let f = read_reader(name, reader, opts, &mut sink).expect("read");
    let all = concat_batches(&canonical_schema(), &batches).expect("concat");
    (f, all)
}

/// The skipped records' examples as "location message" lines.
fn messages(f: &FileSummary) -> Vec<String> {
    f.examples.iter().map(|e| format!("{} {}", e.location, e.message)).collect()
}

/// `lines` read as one file through the SIMD tape, then with bodies kept, which takes every
/// record through serde_json instead; `max_examples` skip examples kept each time.
fn read_tape_and_serde(
    name: &str,
    lines: &[String],
    max_examples: usize,
) -> ((FileSummary, RecordBatch), (FileSummary, RecordBatch)) {
    let text = lines.join("\n");
    let opts = ReadOptions { max_examples, ..ReadOptions::default() };
    let tape = read_with(name, text.as_bytes(), &opts);
    let serde = read_with(name, text.as_bytes(), &ReadOptions { keep_bodies: true, ..opts });
    (tape, serde)
}

fn read_with(name: &str, bytes: &[u8], opts: &ReadOptions) -> (FileSummary, RecordBatch) {
    read_from(name, Box::new(bytes), opts)
}

fn read(name: &str, bytes: &[u8]) -> (FileSummary, RecordBatch) {
    read_with(name, bytes, &ReadOptions::default())
}

fn strings(batch: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let a = batch.column_by_name(name).expect("column").as_string::<i32>();
    (0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i).to_owned())).collect()
}

const EVENT: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a1","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"list","user":{"username":"alice","groups":["g"]},"sourceIPs":["10.0.0.1"],"userAgent":"kubectl/v1.29","objectRef":{"resource":"pods","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2024-01-01T10:00:00.1234567Z","stageTimestamp":"2024-01-01T10:00:01.5Z","annotations":{"b":"2","a":"1"}}"#;

#[test]
fn fast_path_rows_equal_the_reference_conversion_on_real_events() {
    for keep_bodies in [false, true] {
        for rel in [
            "audit/audit2rbac_demo.log",
            "audit/falco_k8s_audit_trace_files/create_configmap_sensitive_values.json",
            "audit/falco_k8s_audit_trace_files/create_nginx_pod_privileged.json",
        ] {
            let text = std::fs::read_to_string(fixture(rel)).expect("fixture");
            let events: Vec<Event> = text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| serde_json::from_str(l).expect("event"))
                .collect();
            let reference = events_to_batch(&events, InputFormat::K8sLog, &Origin::default(), keep_bodies)
                .expect("reference");
            let opts = ReadOptions { keep_bodies, ..ReadOptions::default() };
            let (f, fast) = read_with(rel, text.as_bytes(), &opts);
            assert_eq!(f.events as usize, events.len());
            for (i, field) in canonical_schema().fields().iter().enumerate() {
                assert_eq!(
                    fast.column(i).to_data(),
                    reference.column(i).to_data(),
                    "{rel}: column {} (keep_bodies {keep_bodies})",
                    field.name()
                );
            }
        }
    }
}

/// Lines that take each way through the reader: the SIMD tape (bodies dropped) and serde
/// (bodies kept, or anything the tape walk does not expect). Every column but the bodies must
/// be the same either way.
#[test]
fn the_simd_tape_and_serde_read_tricky_lines_to_the_same_rows() {
    let lines = [
        EVENT.to_owned(),
        EVENT.replace("/api/v1/pods", r#"/api/v1/pods?watch=true\u0026limit=5 \"q\" \\ \u00e9 \ud83d\ude00 \t"#),
        EVENT.replace(r#""user":{"username":"alice","groups":["g"]}"#, r#""user":{"username":"bob","uid":"u","groups":[],"extra":{"k":["b"],"a":["1","2"],"k":["c"]}}"#),
        EVENT.replace(r#""annotations":{"b":"2","a":"1"}"#, r#""annotations":{"b":"2","a":"1","b":"3"},"requestObject":{"deep":[[{"x":null}]]},"responseObject":null"#),
        EVENT.replace(r#""sourceIPs":["10.0.0.1"]"#, r#""sourceIPs":null,"impersonatedUser":{"username":"sa"},"objectRef":null,"responseStatus":{"code":null,"status":"x"}"#),
        r#"{"kind":"Event","verb":7,"auditID":"n1","stage":true}"#.to_owned(),
        r#"{"kind":"Event","verb":"get","verb":"list","auditID":"dup"}"#.to_owned(),
        r#"{"apiVersion":"audit.k8s.io/v1beta1","auditID":"b1","responseStatus":{"code":201},"unknown":{"a":[1,2.5,"x"]}}"#.to_owned(),
        format!("\t {EVENT} \r"),
        r#"{"kind":"Event","auditID":"z0","responseStatus":{"code":-0}}"#.to_owned(),
        r#"{"kind":"Event","auditID":"z1","responseStatus":{"code":0}}"#.to_owned(),
        // Bodies up to serde_json's nesting limit, 127 levels in all. (One deeper is kept
        // when bodies are dropped, whose reader does not count levels, and refused with
        // `--keep-bodies`; the tape leaves it to serde.)
        EVENT.replace(r#""annotations""#, &format!(r#""requestObject":{}1{},"annotations""#, "[".repeat(125), "]".repeat(125))),
        EVENT.replace(r#""annotations""#, &format!(r#""requestObject":{}1{},"annotations""#, "[".repeat(126), "]".repeat(126))),
    ];
    let text = lines.join("\n");
    let (simd_summary, simd) = read("tricky.log", text.as_bytes());
    let (serde_summary, serde) = read_with(
        "tricky.log",
        text.as_bytes(),
        &ReadOptions { keep_bodies: true, ..ReadOptions::default() },
    );
    assert_eq!((simd_summary.events, simd_summary.skipped), (serde_summary.events, serde_summary.skipped));
    // All but `-0` (a float to serde_json) and the numbers and booleans where strings belong.
    assert_eq!(simd.num_rows(), lines.len() - 2, "{:#?}", simd_summary.examples);
    for (i, field) in canonical_schema().fields().iter().enumerate() {
        if [col::REQUEST_OBJECT, col::RESPONSE_OBJECT].contains(&field.name().as_str()) {
            continue;
        }
        assert_eq!(simd.column(i).to_data(), serde.column(i).to_data(), "column {}", field.name());
    }
    assert_eq!(
        strings(&simd, col::REQUEST_URI)[1].as_deref(),
        Some("/api/v1/pods?watch=true&limit=5 \"q\" \\ é 😀 \t")
    );
    // `"verb":7` was stored as "7": refused (the first wrong field in key order named).
    assert_eq!(messages(&simd_summary)[0], "line 6 field `stage`: a boolean true, expected a string");
}

#[test]
fn annotations_are_sorted_and_bodies_dropped_by_default() {
    let line = EVENT.replace(
        r#""annotations""#,
        r#""requestObject":{"kind":"Secret","data":{"x":"c2VjcmV0"}},"annotations""#,
    );
    let (_, b) = read("e.json", line.as_bytes());
    let anns = b.column_by_name(col::ANNOTATIONS).expect("annotations").as_map();
    let keys = anns.keys().as_string::<i32>();
    assert_eq!((keys.value(0), keys.value(1)), ("a", "b"));
    assert!(b.column_by_name(col::REQUEST_OBJECT).expect("body").is_null(0));
    let (_, b) =
        read_with("e.json", line.as_bytes(), &ReadOptions { keep_bodies: true, ..ReadOptions::default() });
    assert_eq!(
        strings(&b, col::REQUEST_OBJECT)[0].as_deref(),
        Some(r#"{"data":{"x":"c2VjcmV0"},"kind":"Secret"}"#)
    );
}

#[test]
fn gzip_and_zstd_are_detected_from_content() {
    let plain = std::fs::read(fixture("audit/audit2rbac_demo.log")).expect("fixture");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&plain).expect("gzip");
    let gz = gz.finish().expect("gzip");
    let zst = zstd::encode_all(plain.as_slice(), 3).expect("zstd");
    for (bytes, c) in [(gz, Compression::Gzip), (zst, Compression::Zstd)] {
        let (f, _) = read("no-extension", &bytes);
        assert_eq!((f.compression, f.events, f.skipped), (c, 37, 0));
    }
}

#[test]
fn lines_are_numbered_across_parallel_chunks() {
    let mut text = String::new();
    for i in 0..5000 {
        if i == 4321 {
            text.push_str("{\"kind\":\"Event\",truncated\n");
        } else {
            text.push_str(&EVENT.replace("\"a1\"", &format!("\"id{i}\"")));
            text.push('\n');
        }
    }
    let opts = ReadOptions { chunk_bytes: 10_000, ..ReadOptions::default() };
    let (f, b) = read_with("big.log", text.as_bytes(), &opts);
    assert_eq!((f.events, f.skipped, b.num_rows()), (4999, 1, 4999));
    assert_eq!(f.examples[0].location.to_string(), "line 4322");
    assert_eq!(f.examples[0].kind, SkipKind::Malformed);
    let ids = strings(&b, col::AUDIT_ID);
    assert_eq!(ids[0].as_deref(), Some("id0"));
    assert_eq!(ids[4998].as_deref(), Some("id4999"), "rows keep input order");
}

#[test]
fn every_bad_record_kind_is_reported_with_its_line_and_the_rest_is_kept() {
    let lines = [
        EVENT.to_owned(),
        "{not json".to_owned(),
        r#"{"kind":"Event","auditID":"x","responseStatus":{"code":"two hundred"}}"#.to_owned(),
        EVENT.replace("2024-01-01T10:00:01.5Z", "yesterday"),
        r#"{"hello":"world"}"#.to_owned(),
        r#"{"protopayload_auditlog":{"methodName":"io.k8s.get"}}"#.to_owned(),
        r#"{"kind":"Pod","apiVersion":"v1"}"#.to_owned(),
        "x".repeat(5000),
        EVENT.replace("\"a1\"", "\"a2\""),
    ];
    let opts =
        ReadOptions { max_line_bytes: 4096, chunk_bytes: 1024, max_examples: 10, ..ReadOptions::default() };
    let (f, b) = read_with("bad.log", lines.join("\n").as_bytes(), &opts);
    assert_eq!(b.num_rows(), 2);
    let got: Vec<(String, SkipKind)> = f.examples.iter().map(|e| (e.location.to_string(), e.kind)).collect();
    let want = [
        ("line 2", SkipKind::Malformed),
        ("line 3", SkipKind::InvalidField),
        ("line 4", SkipKind::BadTimestamp),
        ("line 5", SkipKind::NotAuditRecord),
        ("line 6", SkipKind::Unsupported),
        ("line 7", SkipKind::NotAuditRecord),
        ("line 8", SkipKind::TooLong),
    ];
    let want: Vec<(String, SkipKind)> = want.iter().map(|(l, k)| (l.to_string(), *k)).collect();
    assert_eq!(got, want, "{:#?}", f.examples);
    assert!(
        f.examples[1]
            .message
            .contains("field `responseStatus.code`: string \"two hundred\", expected a 32-bit integer"),
        "{}",
        f.examples[1].message
    );
    assert!(f.examples[2].message.contains("stageTimestamp"), "{}", f.examples[2].message);
    assert!(f.examples[4].message.contains("BigQuery"), "{}", f.examples[4].message);
    assert!(f.examples[5].message.contains("kind \"Pod\""), "{}", f.examples[5].message);
}

/// Lines are counted by each chunk's parser, not by the reading thread, and placed when the
/// chunks are handed on in order: a bad line several chunks in still names its line in the
/// file, after blank lines, CRLF endings and a line too long to keep in chunks of its own.
#[test]
fn skips_in_later_chunks_name_their_line_in_the_whole_file() {
    let mut lines = Vec::new();
    let mut want = Vec::new();
    for i in 1..=600usize {
        let line = match i {
            _ if i % 97 == 0 => {
                want.push((format!("line {i}"), SkipKind::Malformed));
                "{broken".to_owned()
            }
            _ if i % 151 == 0 => {
                want.push((format!("line {i}"), SkipKind::TooLong));
                "y".repeat(5000)
            }
            _ if i % 41 == 0 => String::new(),
            _ if i % 2 == 0 => format!("{}\r", EVENT.replace("\"a1\"", &format!("\"e{i}\""))),
            _ => EVENT.replace("\"a1\"", &format!("\"e{i}\"")),
        };
        lines.push(line);
    }
    let bad = want.len();
    let blank = (1..=600).filter(|i| i % 41 == 0 && i % 97 != 0 && i % 151 != 0).count();
    let text = lines.join("\n");
    let opts =
        ReadOptions { max_line_bytes: 4096, chunk_bytes: 1024, max_examples: 20, ..ReadOptions::default() };
    for (f, b) in
        [read_with("many.log", text.as_bytes(), &opts), read_slowly("many.log", text.as_bytes(), &opts)]
    {
        assert_eq!(b.num_rows(), 600 - bad - blank);
        let got: Vec<(String, SkipKind)> =
            f.examples.iter().map(|e| (e.location.to_string(), e.kind)).collect();
        assert_eq!(got, want, "{:#?}", f.examples);
    }
}

#[test]
fn strict_mode_stops_at_the_first_bad_record() {
    let text = format!("{EVENT}\n{{broken\n{EVENT}\n");
    let mut sink = |_: &str, _: RecordBatch| -> Result<(), SinkError> { Ok(()) };
    let opts = ReadOptions { strict: true, ..ReadOptions::default() };
    match read_bytes("s.log", text.as_bytes(), &opts, &mut sink) {
        Err(ReadError::Strict(rec)) => {
            assert_eq!(rec.to_string().split(": invalid").next(), Some("s.log: line 2"))
        }
        other => panic!("expected a strict error, got {other:?}"),
    }
}

/// Event `i` (0 to 9) of a LIST of pods, one second apart: the lines of the NUL tests.
fn line(i: usize) -> String {
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"id-{i}","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"list","user":{{"username":"u"}},"userAgent":"kubectl/v1.29","requestReceivedTimestamp":"2024-03-01T10:00:0{i}Z","stageTimestamp":"2024-03-01T10:00:0{i}Z"}}"#
    )
}

/// Ingest review s38 items 3 and 7: a log whose end a crash filled with zeros, or with a NUL
/// in its second line, was "binary data" and lost its good lines; a UTF-16 file (PowerShell's
/// `>`) was called binary too.
#[test]
fn nul_bytes_after_the_first_line_cost_only_their_lines_and_utf16_is_named() {
    let good: String = (0..5).map(|i| line(i) + "\n").collect();
    let mut zeros = good.clone().into_bytes();
    zeros.extend(std::iter::repeat_n(0u8, 2000));
    // Zeros at the end cost nothing (review s40, item 2): they are read past and counted.
    let (f, rows) = read("zero-tail.log", &zeros);
    assert_eq!(
        (f.not_audit.clone(), f.events, rows.num_rows(), f.skipped, f.nul_bytes),
        (None, 5, 5, 0, 2000),
        "{:?}",
        messages(&f)
    );
    let damaged = format!("{}\n{}\n{}\n", line(0), line(1).replace("kubectl", "kube\0ctl"), line(2));
    let (f, rows) = read("nul.log", damaged.as_bytes());
    assert_eq!((f.not_audit.clone(), rows.num_rows(), f.skipped), (None, 2, 1));
    assert!(messages(&f)[0].starts_with("line 2 "), "{:?}", messages(&f));
    // In the first line, NULs still make the file binary, and the message says where.
    let (f, _) = read("nul-first.log", format!("{}\n", line(0).replace("kubectl", "kube\0ctl")).as_bytes());
    assert!(f.not_audit.as_deref().unwrap_or_default().contains("a NUL byte at byte"), "{:?}", f.not_audit);
    // UTF-16, with its byte order mark (little- and big-endian) or without one.
    let text = good.encode_utf16().collect::<Vec<u16>>();
    let le: Vec<u8> = [0xfeffu16].iter().chain(&text).flat_map(|u| u.to_le_bytes()).collect();
    let be: Vec<u8> = [0xfeffu16].iter().chain(&text).flat_map(|u| u.to_be_bytes()).collect();
    let bare: Vec<u8> = text.iter().flat_map(|u| u.to_le_bytes()).collect();
    for (name, bytes) in [("le.json", le), ("be.json", be), ("bare.json", bare)] {
        let (f, _) = read(name, &bytes);
        assert!(
            f.not_audit.as_deref().unwrap_or_default().contains("UTF-16 text; convert it"),
            "{name}: {:?}",
            f.not_audit
        );
    }
}

/// Review s44: bytes that are not UTF-8 on line 3 made the whole file "binary data (not UTF-8
/// text)", its good lines lost and no line named; later in a file they read "invalid unicode
/// code point", as if a `\u` escape were wrong.
#[test]
fn bytes_that_are_not_utf8_after_the_first_line_cost_only_their_line_and_are_named() {
    let mut bytes = format!("{}\n{}\n", line(0), line(1)).into_bytes();
    bytes.extend_from_slice(b"\xff\xfe{\"kind\":\"Event\"}\n");
    bytes.extend(format!("{}\n{}\n", line(2), line(3)).into_bytes());
    let (f, rows) = read("mixed.log", &bytes);
    assert_eq!(
        (f.not_audit.clone(), f.events, rows.num_rows(), f.skipped),
        (None, 4, 4, 1),
        "{:?}",
        messages(&f)
    );
    assert_eq!(messages(&f), ["line 3 invalid JSON: a byte that is not UTF-8 text (0xFF) at column 1"]);
    // Inside a value, past the first 4 KiB: its column, counted in characters.
    let mut bytes: Vec<u8> = (0..40).flat_map(|i| format!("{}\n", line(i % 10)).into_bytes()).collect();
    bytes.extend_from_slice(b"{\"kind\":\"Event\",\"auditID\":\"\xc3\xa9\xff\"}\n");
    let (f, _) = read("late.log", &bytes);
    assert_eq!(messages(&f), ["line 41 invalid JSON: a byte that is not UTF-8 text (0xFF) at column 29"]);
    // In the first line the file is binary, and the message says where.
    let (f, _) = read("first.log", b"{\"kind\":\xff}\n");
    assert_eq!(
        f.not_audit.as_deref(),
        Some(
            "not an audit format: binary data (a byte that is not UTF-8 text, 0xFF, at byte 9 of the first line)"
        )
    );
}

/// Review s44: an EventList or a `records` batch written on one line and cut short (a copy or
/// download cut off) was one invalid line, and every whole item in it was lost.
#[test]
fn a_one_line_list_cut_short_keeps_its_whole_items() {
    let events: Vec<String> = (0..10).map(line).collect();
    let list = format!(
        r#"{{"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": [{}]}}"#,
        events.join(",")
    );
    // Cut inside the eighth item: seven are whole.
    let cut = list.find("id-7").expect("item 8");
    let (f, rows) = read("list.json", &list.as_bytes()[..cut]);
    assert_eq!((f.not_audit.clone(), rows.num_rows(), f.skipped), (None, 7, 1), "{:?}", messages(&f));
    assert!(
        messages(&f)[0].contains("truncated JSON: the file ends inside array element 8"),
        "{:?}",
        messages(&f)
    );
    let records: Vec<String> = events
        .iter()
        .map(|e| {
            format!(
                r#"{{"category":"kube-audit","properties":{{"log":{}}}}}"#,
                serde_json::to_string(e).expect("json")
            )
        })
        .collect();
    let batch = format!(r#"{{"records":[{}]}}"#, records.join(","));
    let cut = batch.find("id-4").expect("record 5");
    let (f, rows) = read("records.json", &batch.as_bytes()[..cut]);
    assert_eq!((f.not_audit.clone(), rows.num_rows(), f.skipped), (None, 4, 1), "{:?}", messages(&f));
    // Whole, each is read as before; a single event cut short stays one bad line.
    let (f, rows) = read("whole.json", list.as_bytes());
    assert_eq!((rows.num_rows(), f.skipped), (10, 0));
    let (f, rows) = read("one.log", &events[0].as_bytes()[..100]);
    assert_eq!((rows.num_rows(), f.skipped), (0, 1));
    assert!(messages(&f)[0].starts_with("line 1 "), "{:?}", messages(&f));
}

/// Review s44: a `.zst` written by `pzstd` (a skippable frame first) was "binary data", and
/// xz, bzip2 and zip files were "binary data (a NUL byte at byte 6 of the first line)".
#[test]
fn pzstd_files_are_read_and_other_compressions_are_named_with_their_command() {
    let good: String = (0..5).map(|i| line(i) + "\n").collect();
    let mut pz = vec![0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4];
    pz.extend(zstd::encode_all(good.as_bytes(), 3).expect("zstd"));
    let (f, rows) = read("pz.zst", &pz);
    assert_eq!((f.not_audit.clone(), rows.num_rows(), f.skipped), (None, 5, 0), "{:?}", messages(&f));
    for (name, magic, says) in [
        (
            "a.xz",
            &[0xfd, b'7', b'z', b'X', b'Z', 0x00, 0x00, 0x04][..],
            "xz-compressed data; decompress it first (xz -dk FILE)",
        ),
        ("a.bz2", b"BZh91AY&SY\x00\x01", "bzip2-compressed data; decompress it first (bzip2 -dk FILE)"),
        ("a.zip", b"PK\x03\x04\x14\x00\x00\x00", "a zip archive; decompress it first (unzip FILE)"),
    ] {
        let (f, _) = read(name, magic);
        assert_eq!(f.not_audit.as_deref(), Some(format!("not an audit format: {says}").as_str()), "{name}");
    }
}

/// Review s40, item 2: a log truncated in place while its writer went on at its old offset
/// (logrotate's `copytruncate`) starts with a run of NULs, which made the whole file "binary
/// data"; zeros a crash left mid-file, glued to the next line, cost that line, unexplained.
#[test]
fn runs_of_nul_bytes_before_lines_are_read_past_and_counted() {
    let good: String = (0..5).map(|i| line(i) + "\n").collect();
    // At the start: 100 of them, and more than the first peek (64 KiB) holds.
    for n in [100usize, 200_000] {
        let mut bytes = vec![0u8; n];
        bytes.extend_from_slice(good.as_bytes());
        let (f, rows) = read("copytruncated.log", &bytes);
        assert_eq!(
            (f.not_audit.clone(), rows.num_rows(), f.skipped, f.nul_bytes),
            (None, 5, 0, n as u64),
            "{n}: {:?}",
            messages(&f)
        );
        // The same compressed: what is read past is the NULs of the text within.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&bytes).expect("gzip");
        let (f, rows) = read("copytruncated.log.gz", &gz.finish().expect("gzip"));
        assert_eq!((rows.num_rows(), f.nul_bytes), (5, n as u64), "{n} gzipped: {:?}", f.not_audit);
    }
    // Mid-file, glued to the line after them: that line is read, and its number kept.
    let mut bytes = format!("{}\n{}\n", line(0), line(1)).into_bytes();
    bytes.extend(std::iter::repeat_n(0u8, 4096));
    bytes.extend_from_slice(format!("{}\n{{bad\n", line(2)).as_bytes());
    let (f, rows) = read("crashed.log", &bytes);
    assert_eq!((rows.num_rows(), f.skipped, f.nul_bytes), (3, 1, 4096), "{:?}", messages(&f));
    assert!(messages(&f)[0].starts_with("line 4 "), "{:?}", messages(&f));
    // Nothing but NULs: not an audit log, said so, with none counted as read past.
    let (f, rows) = read("zeros.log", &[0u8; 5000]);
    assert_eq!(rows.num_rows(), 0);
    assert_eq!(f.nul_bytes, 0);
    assert!(
        f.not_audit.as_deref().unwrap_or_default().contains("nothing but NUL bytes (5000 of them)"),
        "{:?}",
        f.not_audit
    );
}

/// Ingest review s38 item 9: an event stamped in a leap second was skipped ("unreadable
/// timestamp"); it is kept, at the next second's start.
#[test]
fn an_event_in_a_leap_second_is_kept() {
    let line = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"leap","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"list","requestReceivedTimestamp":"2016-12-31T23:59:60.123456Z","stageTimestamp":"2016-12-31T23:59:60.5Z"}"#;
    for text in
        [line.to_owned(), format!("[{line}]"), format!("{{\"kind\":\"EventList\",\"items\":[{line}]}}")]
    {
        let (f, rows) = read("leap.json", text.as_bytes());
        assert_eq!((rows.num_rows(), f.skipped), (1, 0), "{text}: {:?}", messages(&f));
        let received = rows
            .column_by_name(col::REQUEST_RECEIVED_TIMESTAMP)
            .expect("column")
            .as_primitive::<arrow::datatypes::TimestampNanosecondType>()
            .value(0);
        assert_eq!(received, 1_483_228_800_123_456_000, "2017-01-01T00:00:00.123456Z");
    }
}

/// Ingest review s38 item 5: an event of the year 9999 was stored with null times and counted
/// by `stats` as without an event time, while ingest said nothing of it.
#[test]
fn times_beyond_what_the_store_holds_are_counted_as_without_timestamps() {
    let event = |id: &str, received: &str, stage: &str| {
        format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{id}","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"list","requestReceivedTimestamp":"{received}","stageTimestamp":"{stage}"}}"#
        )
    };
    let text = [
        event("far", "9999-12-31T10:00:00Z", "9999-12-31T10:00:01Z"),
        event("half", "9999-12-31T10:00:00Z", "2024-03-01T10:00:01Z"),
        event("fine", "2024-03-01T10:00:00Z", "2024-03-01T10:00:01Z"),
        event("old", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),
    ]
    .join("\n");
    let (f, rows) = read("years.log", text.as_bytes());
    assert_eq!((rows.num_rows(), f.skipped, f.without_timestamps), (4, 0, 2));
}

#[test]
fn binary_garbage_and_plain_text_are_not_audit_formats() {
    let (f, _) = read("bin", &[0u8, 159, 146, 150, 1, 2, 3]);
    assert!(f.not_audit.as_deref().unwrap_or_default().contains("binary data"));
    let (f, _) = read("txt", b"hello world\nthis is not a log\n");
    assert!(f.not_audit.as_deref().unwrap_or_default().contains("not an audit format"));
    let (f, _) = read("empty", b"  \n\n");
    assert_eq!((f.events, f.skipped, f.not_audit.clone()), (0, 0, None));
}

#[test]
fn truncated_gzip_keeps_what_was_read_before_the_cut() {
    let mut text = String::new();
    for i in 0..3000 {
        text.push_str(&EVENT.replace("\"a1\"", &format!("\"id{i}\"")));
        text.push('\n');
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(text.as_bytes()).expect("gzip");
    let gz = gz.finish().expect("gzip");
    let cut = &gz[..gz.len() / 2];
    let opts = ReadOptions { chunk_bytes: 50_000, ..ReadOptions::default() };
    let (f, b) = read_with("cut.log.gz", cut, &opts);
    assert!(f.events > 0 && f.events < 3000, "{}", f.events);
    assert_eq!(b.num_rows() as u64, f.events);
    assert_eq!(f.skipped, 0);
    let cut = f.incomplete.expect("read only in part");
    assert!(cut.message.starts_with("gzip data corrupt or cut short after line"), "{}", cut.message);
}

#[test]
fn truncated_json_document_keeps_the_items_before_the_cut() {
    let doc = format!("{{\n  \"kind\": \"EventList\",\n  \"items\": [\n{EVENT},\n{}", &EVENT[..100]);
    let (f, b) = read("list.json", doc.as_bytes());
    assert_eq!(f.container, Some(Container::JsonDocument));
    assert_eq!((b.num_rows(), f.skipped), (1, 1));
    assert_eq!(f.examples[0].kind, SkipKind::Malformed);
    assert!(f.examples[0].message.starts_with("truncated JSON"), "{}", f.examples[0].message);
}

#[test]
fn azure_diagnostics_rows_as_array_lines_and_csv() {
    let log_s = serde_json::to_string(EVENT).expect("string");
    let row = format!(
        r#"{{"TenantId":"t","TimeGenerated":"2024-01-01T10:00:02.1234567Z","Category":"kube-audit-admin","log_s":{log_s},"pod_s":"kube-apiserver-1","ResourceId":"/SUBSCRIPTIONS/S/MANAGEDCLUSTERS/C"}}"#
    );
    let array = format!("[\n {row},\n {row}\n]");
    let (f, b) = read("rows.json", array.as_bytes());
    assert_eq!(
        (f.container, f.format(), f.events),
        (Some(Container::JsonArray), Some(InputFormat::AzureDiagnostics), 2)
    );
    assert_eq!(strings(&b, col::AZURE_CATEGORY)[0].as_deref(), Some("kube-audit-admin"));
    assert_eq!(strings(&b, col::APISERVER_POD)[0].as_deref(), Some("kube-apiserver-1"));
    assert_eq!(
        strings(&b, col::CLUSTER_RESOURCE_ID)[0].as_deref(),
        Some("/SUBSCRIPTIONS/S/MANAGEDCLUSTERS/C")
    );
    let tg = b
        .column_by_name(col::TIME_GENERATED)
        .expect("tg")
        .as_primitive::<arrow::datatypes::TimestampNanosecondType>();
    assert_eq!(tg.value(0) % 1_000_000_000, 123_456_700);
    let (f, _) = read("rows.jsonl", format!("{row}\n{row}\n").as_bytes());
    assert_eq!((f.container, f.events), (Some(Container::JsonLines), 2));

    let csv_field = format!("\"{}\"", EVENT.replace('"', "\"\""));
    let csv = format!(
        "TimeGenerated [UTC],Category,log_s,pod_s\n2024-01-01T10:00:02.1234567Z,kube-audit,{csv_field},kube-apiserver-2\n"
    );
    let (f, b) = read("export.csv", csv.as_bytes());
    assert_eq!(
        (f.container, f.format(), f.events, f.skipped),
        (Some(Container::Csv), Some(InputFormat::AzureDiagnosticsCsv), 1, 0)
    );
    assert_eq!(strings(&b, col::VERB)[0].as_deref(), Some("list"));
    assert_eq!(strings(&b, col::APISERVER_POD)[0].as_deref(), Some("kube-apiserver-2"));
}

#[test]
fn aks_audit_rows_with_nested_and_string_dynamic_columns_give_the_same_rows() {
    let nested = r#"{"TimeGenerated":"2024-01-01T10:00:02Z","Level":"Metadata","AuditId":"a1","Stage":"ResponseComplete","RequestUri":"/api/v1/pods","Verb":"list","User":{"username":"alice","groups":["g"]},"SourceIps":["10.0.0.1"],"UserAgent":"kubectl/v1.29","ObjectRef":{"resource":"pods","apiVersion":"v1"},"ResponseStatus":{"metadata":{},"code":200},"RequestReceivedTime":"2024-01-01T10:00:00.1234567Z","StageReceivedTime":"2024-01-01T10:00:01.5Z","Annotations":{"a":"1","b":"2"},"Type":"AKSAuditAdmin","_ResourceId":"/r","PodName":"kube-apiserver-1"}"#;
    let v: serde_json::Value = serde_json::from_str(nested).expect("json");
    let mut s = v.clone();
    for c in ["User", "SourceIps", "ObjectRef", "ResponseStatus", "Annotations"] {
        let text = s[c].to_string();
        s[c] = serde_json::Value::String(text);
    }
    let (f1, b1) = read("nested.json", format!("[{nested}]").as_bytes());
    let (f2, b2) = read("strings.jsonl", format!("{s}\n").as_bytes());
    assert_eq!((f1.format(), f1.events, f2.events), (Some(InputFormat::AksAudit), 1, 1));
    assert_eq!(b1, b2);
    assert_eq!(strings(&b1, col::AZURE_CATEGORY)[0].as_deref(), Some("kube-audit-admin"));
    // The same event as a native line differs only in its origin columns.
    let (_, native) = read("native.log", EVENT.as_bytes());
    for c in [
        col::AUDIT_ID,
        col::VERB,
        col::USER_USERNAME,
        col::REQUEST_URI,
        col::OBJECT_RESOURCE,
        col::USER_AGENT,
    ] {
        assert_eq!(strings(&b1, c), strings(&native, c), "{c}");
    }
    assert_eq!(b1.column_by_name(col::STAGE_TIMESTAMP), native.column_by_name(col::STAGE_TIMESTAMP));
    assert_eq!(b1.column_by_name(col::ANNOTATIONS), native.column_by_name(col::ANNOTATIONS));
}

#[test]
fn concatenated_pretty_documents_are_all_read() {
    let pretty: serde_json::Value = serde_json::from_str(EVENT).expect("json");
    let one = serde_json::to_string_pretty(&pretty).expect("pretty");
    let (f, _) = read("two.json", format!("{one}\n{one}\n").as_bytes());
    assert_eq!((f.container, f.events, f.skipped), (Some(Container::JsonDocument), 2, 0));
}

#[test]
fn events_without_timestamps_are_kept_and_counted() {
    let (f, b) = read("nots.log", br#"{"kind":"Event","verb":"get","user":{"username":"u"}}"#);
    assert_eq!((f.events, f.without_timestamps, b.num_rows()), (1, 1, 1));
    assert!(b.column_by_name(col::STAGE_TIMESTAMP).expect("ts").is_null(0));
}

/// Review s40: a response code written as a string (`"200"`) skipped its event, while a verb
/// written as a number was kept; a numeric string is read as its number, anything else is
/// still refused with the field named.
#[test]
fn a_response_code_written_as_a_numeric_string_is_read_as_its_number() {
    let event = |id: &str, code: &str| {
        format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{id}","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"list","responseStatus":{{"code":{code}}},"stageTimestamp":"2024-01-01T00:00:00Z"}}"#
        )
    };
    let text = [
        event("a", "\"200\""),
        event("b", "\"-1\""),
        event("c", "\"OK\""),
        event("d", "\"99999999999\""),
        event("e", "429"),
    ]
    .join("\n");
    let (f, rows) = read("codes.log", text.as_bytes());
    assert_eq!((rows.num_rows(), f.skipped), (3, 2), "{:?}", messages(&f));
    let codes = rows.column_by_name(col::RESPONSE_CODE).expect("code");
    let codes = codes.as_any().downcast_ref::<arrow::array::Int32Array>().expect("i32");
    assert_eq!(codes.iter().collect::<Vec<_>>(), [Some(200), Some(-1), Some(429)]);
    let m = messages(&f);
    assert!(m[0].contains("string \"OK\", expected a 32-bit integer"), "{m:?}");
    assert!(m[1].contains("string \"99999999999\", expected a 32-bit integer"), "{m:?}");
}

/// Review s40: an `AKSAudit` row with a TimeGenerated but neither request time was "1 event
/// without timestamps" at ingest, while `stats` and every window (on TimeGenerated) had it.
#[test]
fn an_azure_row_with_only_its_time_generated_has_a_time() {
    let row = r#"{"TimeGenerated":"2024-01-01T10:00:02Z","Level":"Metadata","AuditId":"a1","Stage":"ResponseComplete","RequestUri":"/api/v1/pods","Verb":"list","RequestReceivedTime":"","StageReceivedTime":"","Type":"AKSAudit"}"#;
    let (f, rows) = read("aks.json", row.as_bytes());
    assert_eq!(
        (f.events, rows.num_rows(), f.without_timestamps, f.skipped),
        (1, 1, 0, 0),
        "{:?}",
        messages(&f)
    );
    assert!(rows.column_by_name(col::STAGE_TIMESTAMP).expect("ts").is_null(0));
}

#[test]
fn empty_timestamps_are_missing_ones_in_every_format() {
    // As an `AKSAudit` export writes them: kept with null times and counted, never skipped.
    let line = r#"{"kind":"Event","auditID":"e","stage":"ResponseComplete","verb":"get","requestReceivedTimestamp":"","stageTimestamp":" "}"#;
    let list = format!(r#"{{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{line}]}}"#);
    let pretty =
        serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(line).expect("json"))
            .expect("pretty");
    for (name, text) in [("line.log", format!("{line}\n")), ("list.json", list), ("pretty.json", pretty)] {
        let (f, b) = read(name, text.as_bytes());
        assert_eq!((f.events, f.without_timestamps, f.skipped), (1, 1, 0), "{name}: {:?}", f.examples);
        assert!(b.column_by_name(col::STAGE_TIMESTAMP).expect("ts").is_null(0), "{name}");
        assert!(b.column_by_name(col::REQUEST_RECEIVED_TIMESTAMP).expect("ts").is_null(0), "{name}");
    }
}

#[test]
fn the_first_audit_apis_timestamp_is_the_stage_timestamp_when_that_is_missing() {
    // audit2rbac's demo log (Kubernetes 1.7): `timestamp`, no requestReceived/stageTimestamp.
    let old = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","level":"Metadata","timestamp":"2017-09-11T19:55:05Z","auditID":"a","stage":"ResponseComplete","verb":"list"}"#;
    let both = r#"{"kind":"Event","timestamp":"2017-09-11T19:55:05Z","stageTimestamp":"2017-09-11T19:55:06Z","verb":"get"}"#;
    // Through the scan (a line of its own), the tape (one item of a list) and serde_json (a
    // pretty-printed document).
    let list = format!(r#"{{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{old},{both}]}}"#);
    let pretty = |line: &str| {
        serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(line).expect("json"))
            .expect("pretty")
    };
    for (name, text) in [
        ("lines.log", format!("{old}\n{both}\n")),
        ("list.json", format!("{list}\n")),
        ("pretty.json", format!("{}\n{}\n", pretty(old), pretty(both))),
    ] {
        let (f, b) = read(name, text.as_bytes());
        assert_eq!((f.events, f.without_timestamps, f.skipped), (2, 0, 0), "{name}");
        let st = b.column_by_name(col::STAGE_TIMESTAMP).expect("ts");
        let st = st.as_any().downcast_ref::<arrow::array::TimestampNanosecondArray>().expect("ns");
        assert_eq!(st.value(0), 1_505_159_705_000_000_000, "{name}");
        assert_eq!(st.value(1), 1_505_159_706_000_000_000, "{name}: stageTimestamp wins");
        assert!(b.column_by_name(col::REQUEST_RECEIVED_TIMESTAMP).expect("ts").is_null(0), "{name}");
    }
}

#[test]
fn azure_portal_csv_display_dates_are_read_as_utc() {
    let csv_field = format!("\"{}\"", EVENT.replace('"', "\"\""));
    let csv = format!(
        "TimeGenerated [UTC],Category,log_s,pod_s\n\"1/2/2024, 10:00:02.123 PM\",kube-audit,{csv_field},kube-apiserver-2\n"
    );
    let (f, b) = read("portal.csv", csv.as_bytes());
    assert_eq!((f.events, f.skipped), (1, 0), "{:?}", f.examples);
    let tg = b
        .column_by_name(col::TIME_GENERATED)
        .expect("tg")
        .as_primitive::<arrow::datatypes::TimestampNanosecondType>();
    let want = chrono::DateTime::parse_from_rfc3339("2024-01-02T22:00:02.123Z").expect("iso");
    assert_eq!(Some(tg.value(0)), want.timestamp_nanos_opt());

    // AKSAudit export: the event's own times in display form too.
    let aks = "TimeGenerated [UTC],AuditId,Verb,RequestUri,Stage,RequestReceivedTime [UTC],StageReceivedTime [UTC],Type\n\
               \"3/4/2024, 1:02:03.500 AM\",a1,get,/api/v1/pods,ResponseComplete,\"3/4/2024, 1:02:03.000 AM\",\"3/4/2024, 1:02:03.250 AM\",AKSAudit\n";
    let (f, b) = read("aks-portal.csv", aks.as_bytes());
    assert_eq!((f.format(), f.events, f.skipped), (Some(InputFormat::AksAuditCsv), 1, 0), "{:?}", f.examples);
    let st = b
        .column_by_name(col::STAGE_TIMESTAMP)
        .expect("st")
        .as_primitive::<arrow::datatypes::TimestampNanosecondType>();
    let want = chrono::DateTime::parse_from_rfc3339("2024-03-04T01:02:03.25Z").expect("iso");
    assert_eq!(Some(st.value(0)), want.timestamp_nanos_opt());
}

#[test]
fn yaml_unquoted_numbers_in_string_fields_are_kept_as_text() {
    let yaml = "kind: Event\napiVersion: audit.k8s.io/v1\nlevel: Metadata\nauditID: 1234\nstage: ResponseComplete\n\
                requestURI: /api/v1/namespaces/7/configmaps/42\nverb: get\nuser:\n  username: 1001\n  groups: [100, true]\n\
                objectRef:\n  resource: configmaps\n  namespace: 7\n  name: 42\n  resourceVersion: 987654\n\
                responseStatus:\n  code: 200\nstageTimestamp: 2024-01-01T10:00:00.5Z\n\
                annotations:\n  authorization.k8s.io/decision: allow\n  example.com/count: 3\n";
    let (f, b) = read("event.yaml", yaml.as_bytes());
    assert_eq!((f.container, f.events, f.skipped), (Some(Container::Yaml), 1, 0), "{:?}", f.examples);
    assert_eq!(strings(&b, col::AUDIT_ID)[0].as_deref(), Some("1234"));
    assert_eq!(strings(&b, col::USER_USERNAME)[0].as_deref(), Some("1001"));
    assert_eq!(strings(&b, col::OBJECT_NAMESPACE)[0].as_deref(), Some("7"));
    assert_eq!(strings(&b, col::OBJECT_NAME)[0].as_deref(), Some("42"));
    assert_eq!(strings(&b, col::OBJECT_RESOURCE_VERSION)[0].as_deref(), Some("987654"));
    let groups = b.column_by_name(col::USER_GROUPS).expect("groups").as_list::<i32>();
    let g = groups.value(0);
    let g = g.as_string::<i32>();
    assert_eq!((g.value(0), g.value(1)), ("100", "true"));
    let code =
        b.column_by_name(col::RESPONSE_CODE).expect("code").as_primitive::<arrow::datatypes::Int32Type>();
    assert_eq!(code.value(0), 200);
    let anns = b.column_by_name(col::ANNOTATIONS).expect("annotations").as_map();
    let values = anns.values().as_string::<i32>();
    assert_eq!(values.value(1), "3");
}

#[test]
fn eventlist_items_take_the_lists_api_version() {
    // The webhook backend writes apiVersion on the list only, as in the real EventList file.
    let item = r#"{"level":"Metadata","auditID":"b1","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"list","user":{"username":"u"},"stageTimestamp":"2024-01-01T10:00:00Z"}"#;
    let line = format!(
        r#"{{"kind":"EventList","apiVersion":"audit.k8s.io/v1beta1","metadata":{{}},"items":[{item},{item}]}}"#
    );
    let pretty =
        serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(&line).expect("json"))
            .expect("pretty");
    for (name, text) in [("list.jsonl", line.clone()), ("list.json", pretty)] {
        let (f, b) = read(name, text.as_bytes());
        assert_eq!((f.format(), f.events), (Some(InputFormat::EventList), 2), "{name}");
        assert_eq!(
            strings(&b, col::EVENT_API_VERSION),
            vec![Some("audit.k8s.io/v1beta1".to_owned()); 2],
            "{name}"
        );
    }
    // An item's own apiVersion wins.
    let own = line.replacen(r#"{"level""#, r#"{"apiVersion":"audit.k8s.io/v1","level""#, 1);
    let (_, b) = read("own.jsonl", own.as_bytes());
    assert_eq!(strings(&b, col::EVENT_API_VERSION)[0].as_deref(), Some("audit.k8s.io/v1"));
}

/// Hands out one byte per read, so every byte of the input is a read boundary.
struct ByteByByte<'a>(&'a [u8]);

impl std::io::Read for ByteByByte<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match (self.0.split_first(), buf.is_empty()) {
            (Some((b, rest)), false) => {
                buf[0] = *b;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

fn read_slowly(name: &str, bytes: &[u8], opts: &ReadOptions) -> (FileSummary, RecordBatch) {
    read_from(name, Box::new(ByteByByte(bytes)), opts)
}

/// Events whose strings hold what the element scan must not mistake for structure.
fn tricky_events() -> Vec<String> {
    (0..40)
        .map(|i| {
            EVENT
                .replace("\"a1\"", &format!("\"id{i}\""))
                .replace("kubectl/v1.29", &format!(r#"k],{{[\"x\\\" {i} \u005d\\"#))
        })
        .collect()
}

#[test]
fn a_json_array_is_cut_into_elements_and_read_as_its_lines_would_be() {
    let events = tricky_events();
    let lines = events.join("\n");
    let array = format!("\u{feff}  [\n{}\n]\n", events.join(" ,\n  "));
    let (lf, lb) = read("events.log", lines.as_bytes());
    assert_eq!((lf.events, lf.skipped), (40, 0), "{:#?}", lf.examples);
    for opts in [
        ReadOptions::default(),
        ReadOptions { chunk_bytes: 64, ..ReadOptions::default() },
        ReadOptions { keep_bodies: true, chunk_bytes: 700, ..ReadOptions::default() },
    ] {
        for (f, b) in [
            read_with("events.json", array.as_bytes(), &opts),
            read_slowly("events.json", array.as_bytes(), &opts),
        ] {
            assert_eq!(f.container, Some(Container::JsonArray));
            assert_eq!((f.events, f.skipped), (40, 0), "{:#?}", f.examples);
            for (i, field) in canonical_schema().fields().iter().enumerate() {
                assert_eq!(b.column(i).to_data(), lb.column(i).to_data(), "column {}", field.name());
            }
        }
    }
    assert_eq!(strings(&lb, col::USER_AGENT)[3].as_deref(), Some(r#"k],{["x\" 3 ]\"#));
}

#[test]
fn a_broken_array_element_is_reported_by_its_number_and_the_others_kept() {
    let events = tricky_events();
    let broken = [
        events[0].clone(),
        r#"{"kind":"Event","auditID":"x","responseStatus":{"code":"two hundred"}}"#.to_owned(),
        "{\"kind\":\"Event\", oops}".to_owned(),
        String::new(),
        events[1].clone(),
        format!("{{\"kind\":\"Event\",\"auditID\":\"{}\"}}", "y".repeat(5000)),
        events[2].clone(),
    ];
    let array = format!("[{}]", broken.join(","));
    let opts =
        ReadOptions { chunk_bytes: 512, max_line_bytes: 4096, max_examples: 10, ..ReadOptions::default() };
    for (f, b) in
        [read_with("a.json", array.as_bytes(), &opts), read_slowly("a.json", array.as_bytes(), &opts)]
    {
        assert_eq!(b.num_rows(), 3);
        assert_eq!(
            strings(&b, col::AUDIT_ID),
            [Some("id0".to_owned()), Some("id1".to_owned()), Some("id2".to_owned())]
        );
        let got: Vec<(String, SkipKind)> =
            f.examples.iter().map(|e| (e.location.to_string(), e.kind)).collect();
        let want = [
            ("record 2", SkipKind::InvalidField),
            ("record 3", SkipKind::Malformed),
            ("record 4", SkipKind::Malformed),
            ("record 6", SkipKind::TooLong),
        ];
        let want: Vec<(String, SkipKind)> = want.iter().map(|(l, k)| (l.to_string(), *k)).collect();
        assert_eq!(got, want, "{:#?}", f.examples);
    }
}

#[test]
fn a_cut_json_array_keeps_the_elements_before_the_cut_and_what_follows_an_array_is_read() {
    let events = tricky_events();
    let cut = format!("[{},{}", events[0], &events[1][..150]);
    for (f, b) in
        [read("cut.json", cut.as_bytes()), read_slowly("cut.json", cut.as_bytes(), &ReadOptions::default())]
    {
        assert_eq!((b.num_rows(), f.skipped), (1, 1));
        assert_eq!(f.examples[0].location.to_string(), "record 2");
        assert!(f.examples[0].message.starts_with("truncated JSON"), "{}", f.examples[0].message);
    }
    let two = format!("[{}]\n[{},{}]\n{}", events[0], events[1], events[2], events[3]);
    let (f, b) = read("two.json", two.as_bytes());
    assert_eq!((f.events, f.skipped), (4, 0), "{:#?}", f.examples);
    assert_eq!(strings(&b, col::AUDIT_ID)[3].as_deref(), Some("id3"));
    for empty in ["[]", " [ ] ", "[\n]\n"] {
        let (f, b) = read("empty.json", empty.as_bytes());
        assert_eq!((f.events, f.skipped, b.num_rows()), (0, 0, 0), "{empty:?}");
    }
    let (f, _) = read("trailing.json", format!("[{},]", events[0]).as_bytes());
    assert_eq!((f.events, f.skipped), (1, 0));
}

/// The webhook backend's `EventList` lines take the SIMD tape unless an item is of another
/// shape; either way the rows, counts and messages are those of the serde path.
#[test]
fn eventlist_lines_read_through_the_simd_tape_as_through_serde() {
    let no_version = EVENT.replace(r#""apiVersion":"audit.k8s.io/v1","#, "");
    let bad_time = EVENT.replace("2024-01-01T10:00:01.5Z", "yesterday");
    let lines = [
        format!(
            r#"{{"kind":"EventList","apiVersion":"audit.k8s.io/v1beta1","metadata":{{}},"items":[{EVENT},{no_version}]}}"#
        ),
        format!(r#"{{"kind":"EventList","items":[{no_version},{bad_time},{EVENT}]}}"#),
        format!(r#"{{"items":[{no_version}],"apiVersion":""}}"#),
        format!(
            r#"{{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{EVENT},{{"kind":"Pod"}}]}}"#
        ),
        r#"{"kind":"EventList","items":null}"#.to_owned(),
        r#"{"kind":"EventList","items":"none"}"#.to_owned(),
    ];
    let ((simd_summary, simd), (serde_summary, serde)) = read_tape_and_serde("lists.log", &lines, 10);
    assert_eq!(simd.num_rows(), 6, "{:#?}", simd_summary.examples);
    assert_eq!((simd_summary.events, simd_summary.skipped), (serde_summary.events, serde_summary.skipped));
    assert_eq!(messages(&simd_summary), messages(&serde_summary));
    assert!(
        messages(&simd_summary)[0].starts_with("line 2 item 2: field `stageTimestamp`"),
        "{:?}",
        messages(&simd_summary)
    );
    for (i, field) in canonical_schema().fields().iter().enumerate() {
        assert_eq!(simd.column(i).to_data(), serde.column(i).to_data(), "column {}", field.name());
    }
    assert_eq!(strings(&simd, col::EVENT_API_VERSION)[1].as_deref(), Some("audit.k8s.io/v1beta1"));
    assert_eq!(strings(&simd, col::SOURCE_FORMAT)[0].as_deref(), Some(InputFormat::EventList.name()));
}

/// `AzureDiagnostics` lines take the SIMD tape for the row and for the event in `log_s`;
/// rows, counts and messages are those of the serde path, key spellings and bad values included.
#[test]
fn azure_diagnostics_lines_read_through_the_simd_tape_as_through_serde() {
    let log = serde_json::to_string(EVENT).expect("log_s");
    let other = EVENT.replace("\"a1\"", "\"a2\"");
    let log2 = serde_json::to_string(&other).expect("log_s");
    let lines = [
        format!(
            r#"{{"TimeGenerated":"2024-01-01T10:00:02Z","Category":"kube-audit","ResourceId":"/SUBSCRIPTIONS/S/C","pod_s":"kube-apiserver-1","log_s":{log}}}"#
        ),
        format!(r#"{{"category":"kube-audit-admin","_ResourceId":"/s/c2","PodName":"p2","log_s":{log2}}}"#),
        format!(r#"{{"Category":"guard","log_s":{log}}}"#),
        format!(r#"{{"Category":"kube-audit","TimeGenerated":"yesterday","log_s":{log}}}"#),
        format!(
            r#"{{"Category":"kube-audit","ResourceId":"","_ResourceId":"/s/c3","pod_s":7,"Pod_s":"p3","log_s":{log2}}}"#
        ),
        format!(r#"{{"Category":5,"category":"kube-audit","log_s":{log}}}"#),
        format!(r#"{{"category":"kube-audit","CATEGORY":"guard","log_s":{log}}}"#),
        format!(r#"{{"Category":"kube-audit","log_s":{EVENT}}}"#),
        r#"{"Category":"kube-audit","log_s":"{\"kind\":\"EventList\",\"items\":[]}"}"#.to_owned(),
        r#"{"Category":"kube-audit","log_s":"{\"kind\":\"Event\",truncated"}"#.to_owned(),
        format!(r#"{{"Category":"kube-audit","log_s":{log},"log_s":{log2}}}"#),
        format!(r#"{{"category":"kube-audit","properties":{{"log":{log}}}}}"#),
    ];
    let ((simd_summary, simd), (serde_summary, serde)) = read_tape_and_serde("azure.log", &lines, 20);
    assert_eq!(messages(&simd_summary), messages(&serde_summary));
    assert_eq!(simd_summary.skipped, 5, "{:#?}", messages(&simd_summary));
    assert_eq!(simd.num_rows(), 7);
    assert_eq!((simd_summary.events, simd_summary.skipped), (serde_summary.events, serde_summary.skipped));
    for (i, field) in canonical_schema().fields().iter().enumerate() {
        assert_eq!(simd.column(i).to_data(), serde.column(i).to_data(), "column {}", field.name());
    }
    assert_eq!(strings(&simd, col::CLUSTER_RESOURCE_ID)[2].as_deref(), None);
    assert_eq!(strings(&simd, col::APISERVER_POD)[2].as_deref(), Some("p3"));
    assert_eq!(strings(&simd, col::AZURE_CATEGORY)[1].as_deref(), Some("kube-audit-admin"));
}

/// An object without `kind` whose `apiVersion` is an audit one reads as an event on both
/// paths, even when it also holds `items` (the serde path tries the event first); holding no
/// event field, it is refused alike on both (it was stored as an event of nulls until ingest
/// review s54, item 8).
#[test]
fn a_kindless_list_with_an_audit_api_version_reads_the_same_both_ways() {
    let line = format!(r#"{{"apiVersion":"audit.k8s.io/v1","items":[{EVENT}]}}"#);
    let (simd_summary, _) = read("l.log", line.as_bytes());
    let (serde_summary, _) =
        read_with("l.log", line.as_bytes(), &ReadOptions { keep_bodies: true, ..ReadOptions::default() });
    assert_eq!((simd_summary.events, serde_summary.events), (0, 0));
    assert_eq!((simd_summary.skipped, serde_summary.skipped), (1, 1));
    assert_eq!(messages(&simd_summary), messages(&serde_summary));
    assert!(
        messages(&simd_summary)[0].contains("an audit event with nothing in it"),
        "{:?}",
        messages(&simd_summary)
    );
}

/// `AKSAudit` rows take the SIMD tape, their JSON-encoded columns each on a tape of its own;
/// rows, counts and messages are those of the serde path: nested and string columns, blanks,
/// bad values, duplicates, trailing text in a column, and bodies at the nesting limit.
#[test]
fn aks_audit_lines_read_through_the_simd_tape_as_through_serde() {
    let nested = r#"{"TimeGenerated":"2024-01-01T10:00:02Z","Level":"Metadata","AuditId":"a1","Stage":"ResponseComplete","RequestUri":"/api/v1/pods?limit=5\u0026x=\"y\"","Verb":"list","User":{"username":"alice","uid":"u1","groups":["g"],"extra":{"k":["1"]}},"ImpersonatedUser":{"username":"sa"},"SourceIps":["10.0.0.1","::1"],"UserAgent":"kubectl/v1.29 \u00e9","ObjectRef":{"resource":"pods","namespace":"n","name":"p","apiVersion":"v1","subresource":"log"},"ResponseStatus":{"metadata":{},"code":200,"status":"Success"},"RequestObject":{"kind":"Pod","spec":{"x":[1,2]}},"ResponseObject":null,"RequestReceivedTime":"2024-01-01T10:00:00.1234567Z","StageReceivedTime":"2024-01-01T10:00:01.5Z","Annotations":{"b":"2","a":"1"},"Type":"AKSAuditAdmin","_ResourceId":"/r","PodName":"kube-apiserver-1","TenantId":"t","_BilledSize":1234.5,"_IsBillable":"True"}"#;
    let value: serde_json::Value = serde_json::from_str(nested).expect("json");
    let with = |edit: &dyn Fn(&mut serde_json::Map<String, serde_json::Value>)| {
        let mut v = value.clone();
        edit(v.as_object_mut().expect("object"));
        v.to_string()
    };
    let encoded = with(&|m| {
        for c in [
            "User",
            "ImpersonatedUser",
            "SourceIps",
            "ObjectRef",
            "ResponseStatus",
            "RequestObject",
            "Annotations",
        ] {
            let text = m[c].to_string();
            m.insert(c.into(), text.into());
        }
        m.insert("Type".into(), "AKSAudit".into());
    });
    let deep = |depth: usize| format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
    let mut lines = vec![
        nested.to_owned(),
        encoded.clone(),
        // Blanks: empty strings, white space, JSON null as text, `Category` when `Type` is absent.
        with(&|m| {
            m.remove("Type");
            m.remove("_ResourceId");
            m.insert("Category".into(), "kube-audit".into());
            m.insert("ResourceId".into(), "/r2".into());
            m.insert("Level".into(), "".into());
            m.insert("UserAgent".into(), serde_json::Value::Null);
            m.insert("User".into(), " \t ".into());
            m.insert("SourceIps".into(), "null".into());
            m.insert("Annotations".into(), " {\"z\":\"1\",\"a\":\"2\",\"z\":\"3\"} ".into());
            m.insert("ResponseStatus".into(), "{\"code\":429}".into());
        }),
        // `Type` empty: `Category` is not read in its place.
        with(&|m| {
            m.insert("Type".into(), "".into());
            m.insert("Category".into(), "AKSAudit".into());
        }),
        // Recognised by `Verb` and `ObjectRef` alone.
        r#"{"Verb":"get","ObjectRef":"{\"resource\":\"nodes\"}","PodName":""}"#.to_owned(),
        r#"{"Type":"AKSAudit"}"#.to_owned(),
        // Not a row: the serde path names it.
        r#"{"Verb":"get","UserAgent":"x"}"#.to_owned(),
        with(&|m| {
            m.insert("TimeGenerated".into(), "yesterday".into());
        }),
        with(&|m| {
            m.insert("StageReceivedTime".into(), "soon".into());
        }),
        with(&|m| {
            m.insert("User".into(), "{\"username\":".into());
        }),
        with(&|m| {
            m.insert("User".into(), "{\"username\":\"a\"} x".into());
        }),
        with(&|m| {
            m.insert("SourceIps".into(), "\"10.0.0.1\"".into());
        }),
        with(&|m| {
            m.insert("SourceIps".into(), 5.into());
        }),
        with(&|m| {
            m.insert("Verb".into(), 7.into());
        }),
        with(&|m| {
            m.insert("ResponseStatus".into(), "{\"code\":-0}".into());
        }),
        with(&|m| {
            m.insert("ResponseStatus".into(), serde_json::json!({"code": 200.0}));
        }),
        with(&|m| {
            m.insert("User".into(), "{\"username\":\"a\",\"username\":\"b\"}".into());
        }),
        with(&|m| {
            m.insert("properties".into(), serde_json::json!({}));
        }),
        // A duplicate column: the serde path keeps the last.
        nested.replacen(r#""Verb":"list","#, r#""Verb":"list","Verb":"watch","#, 1),
        // A time that is no text: named, as one that does not read is (it was taken for none).
        with(&|m| {
            m.insert("TimeGenerated".into(), 5.into());
        }),
    ];
    // Bodies about serde_json's nesting limit (127 levels in all), in a JSON-encoded column
    // and nested. (A column of 127 levels is 128 inside the event: kept when bodies are
    // dropped, refused with `--keep-bodies`, as for a native line; the tape leaves it to serde.)
    for depth in 125..=129 {
        if depth != 127 {
            lines.push(with(&|m| {
                m.insert("RequestObject".into(), deep(depth).into());
            }));
        }
        lines.push(with(&|m| {
            m.insert("RequestObject".into(), serde_json::from_str(&deep(depth - 1)).unwrap_or_default());
        }));
    }
    let ((simd_summary, simd), (serde_summary, serde)) = read_tape_and_serde("aks.log", &lines, 40);
    assert_eq!(messages(&simd_summary), messages(&serde_summary));
    assert_eq!((simd_summary.events, simd_summary.skipped), (serde_summary.events, serde_summary.skipped));
    for (i, field) in canonical_schema().fields().iter().enumerate() {
        if [col::REQUEST_OBJECT, col::RESPONSE_OBJECT].contains(&field.name().as_str()) {
            continue;
        }
        assert_eq!(simd.column(i).to_data(), serde.column(i).to_data(), "column {}", field.name());
    }
    let all = messages(&simd_summary);
    assert!(all.iter().any(|m| m.starts_with("line 8 field `TimeGenerated`")), "{all:#?}");
    // Review of issue 2: a bad value in a row is named by the row's column (the message named
    // the event field it was read into, `stageTimestamp`, or none at all).
    assert!(
        all.iter().any(|m| m.starts_with("line 9 column `StageReceivedTime`: unreadable timestamp")),
        "{all:#?}"
    );
    assert!(
        all.iter().any(|m| m
            == "line 15 column `ResponseStatus`, field `code`: floating point `-0.0`, expected a 32-bit integer"),
        "{all:#?}"
    );
    assert!(all.iter().any(|m| m.starts_with("line 10 column `User`: not JSON")), "{all:#?}");
    assert!(
        all.iter().any(|m| m == "line 20 field `TimeGenerated`: unreadable timestamp 5 (a number, not text)"),
        "{all:#?}"
    );
    assert_eq!(strings(&simd, col::SOURCE_FORMAT)[0].as_deref(), Some(InputFormat::AksAudit.name()));
    assert_eq!(
        strings(&simd, col::AZURE_CATEGORY)[..4],
        [
            Some("kube-audit-admin".to_owned()),
            Some("kube-audit".to_owned()),
            Some("kube-audit".to_owned()),
            None
        ]
    );
    assert_eq!(strings(&simd, col::CLUSTER_RESOURCE_ID)[2].as_deref(), Some("/r2"));
    assert_eq!(strings(&simd, col::USER_USERNAME)[2], None);
    assert_eq!(strings(&simd, col::OBJECT_RESOURCE)[4].as_deref(), Some("nodes"));
    // The tape read the rows it was given: no row went the serde way unless it had to.
    assert_eq!(strings(&simd, col::USER_USERNAME)[..2], [Some("alice".to_owned()), Some("alice".to_owned())]);
}

/// Chunk buffers are read into again once parsed, without being cleared: lines long and
/// short, a line over the limit and every byte a read boundary must still give exactly the
/// lines of the input, numbered as they are.
#[test]
fn reused_read_buffers_give_exactly_the_lines_of_the_input() {
    let mut text = String::new();
    let mut expected = Vec::new();
    for i in 0..400 {
        if i == 250 {
            text.push_str(&format!(
                "{{\"kind\":\"Event\",\"auditID\":\"long\",\"verb\":\"{}\"}}\n",
                "x".repeat(5000)
            ));
            continue;
        }
        // From a few dozen bytes to a few thousand, so a short chunk follows a long one.
        let agent = "a".repeat((i * 37) % 3000);
        text.push_str(&EVENT.replace("\"a1\"", &format!("\"id{i}\"")).replace("kubectl/v1.29", &agent));
        text.push_str(if i % 7 == 0 { "\r\n" } else { "\n" });
        expected.push(Some(format!("id{i}")));
    }
    let opts =
        ReadOptions { chunk_bytes: 700, max_line_bytes: 4096, max_examples: 10, ..ReadOptions::default() };
    for (how, (f, b)) in [
        ("fast", read_with("r.log", text.as_bytes(), &opts)),
        ("slow", read_slowly("r.log", text.as_bytes(), &opts)),
    ] {
        assert_eq!((f.events, f.skipped), (399, 1), "{how}: {:#?}", f.examples);
        assert_eq!(f.examples[0].location.to_string(), "line 251", "{how}");
        assert_eq!(f.examples[0].kind, SkipKind::TooLong, "{how}");
        assert_eq!(strings(&b, col::AUDIT_ID), expected, "{how}");
        let agents = strings(&b, col::USER_AGENT);
        assert_eq!(agents[399 - 1].as_deref().map(str::len), Some((399 * 37) % 3000), "{how}");
    }
}

#[test]
fn absent_source_ips_and_groups_are_null_and_an_empty_list_stays_empty() {
    // Kusto reads a field the event lacks as null and `[]` as an empty array (`mv-expand`
    // keeps a row for the first, none for the second); both were stored as an empty list.
    let lines = [
        EVENT.to_owned(),
        EVENT.replace(r#","sourceIPs":["10.0.0.1"]"#, "").replace(r#","groups":["g"]"#, ""),
        EVENT
            .replace(r#""sourceIPs":["10.0.0.1"]"#, r#""sourceIPs":[]"#)
            .replace(r#""groups":["g"]"#, r#""groups":[]"#),
        EVENT
            .replace(r#""sourceIPs":["10.0.0.1"]"#, r#""sourceIPs":null"#)
            .replace(r#""groups":["g"]"#, r#""groups":null"#),
    ];
    let text = lines.join("\n");
    // The fast path and serde_json (bodies kept) agree.
    for keep_bodies in [false, true] {
        let (summary, batch) =
            read_with("lists.log", text.as_bytes(), &ReadOptions { keep_bodies, ..ReadOptions::default() });
        assert_eq!(summary.events, 4, "{:?}", summary.examples);
        for name in [col::SOURCE_IPS, col::USER_GROUPS] {
            let list = batch.column_by_name(name).expect("column").as_list::<i32>();
            let shape: Vec<Option<usize>> =
                (0..list.len()).map(|i| list.is_valid(i).then(|| list.value(i).len())).collect();
            assert_eq!(shape, [Some(1), None, Some(0), None], "{name}, keep_bodies {keep_bodies}");
        }
    }
}

/// Regression review s26 §7: a Prometheus scrape, Markdown and a JSON array cut at its start
/// were all called "CSV whose header names none of log_s …" (a comma on their first line),
/// and `null`, `12345`, `"x"` "text that is neither JSON, YAML, nor CSV". Each is now named
/// for what it is; CSV only when it reads as CSV, several columns on each line.
#[test]
fn text_that_is_not_an_audit_log_is_named_for_what_it_is_not_called_csv() {
    let why = |name: &str, text: &str| read(name, text.as_bytes()).0.not_audit.unwrap_or_default();
    let prom = "# HELP apiserver_request_total [STABLE] Counter of apiserver requests, by verb.\n\
                # TYPE apiserver_request_total counter\n\
                apiserver_request_total{code=\"200\",verb=\"GET\"} 12\n";
    let scrape = "not an audit format: a Prometheus /metrics scrape, not an audit log: give it to `metrics` or \
                  `diagnose --metrics`";
    assert_eq!(why("a.prom", prom), scrape);
    // Without HELP and TYPE lines: the samples themselves.
    assert_eq!(
        why("b.prom", "apiserver_request_total{code=\"200\",verb=\"GET\"} 12 1700000000000\nup 1\n"),
        scrape
    );
    let md = "# Sources\n\nReal audit events, Azure exports, and metrics, taken from public repositories.\n\
              Each is listed with its commit.\n";
    let md = why("README.md", md);
    assert!(md.starts_with("not an audit format: text that is neither JSON"), "{md}");
    let event = EVENT.replace(",\"", ",\n  \"");
    let cut = &format!("[\n{event},\n{event}\n]\n")[30..];
    let cut = why("cut.json", cut);
    assert!(cut.contains("cut at its start?"), "{cut}");
    assert!(!cut.contains("CSV whose header"), "{cut}");
    for (text, what) in
        [("null", "null"), ("12345\n", "a number"), ("\"just a string\"", "a string"), ("true", "a boolean")]
    {
        assert_eq!(
            why("s.json", text),
            format!("not an audit format: JSON, but {what}, not an audit record")
        );
    }
    // A CSV of other columns is still called one.
    let csv = why("other.csv", "name,count\npods,3\n");
    assert!(csv.starts_with("not an audit format: CSV whose header names none of log_s"), "{csv}");
    // A YAML key with a number is YAML, not a metric.
    assert_eq!(read("y.yaml", b"count: 5\n").0.container, Some(Container::Yaml));
}

/// Regression review s26 §7: a Log Analytics query API response (`{"tables":[{"columns",
/// "rows"}]}`, as the REST API and `az rest` return it) was "not an audit record (keys:
/// tables)". Its rows are read as rows of an AKSAudit or AzureDiagnostics export.
#[test]
fn a_log_analytics_rest_response_is_read_row_by_row() {
    let aks_row = |id: &str| {
        serde_json::json!([
            "2024-01-01T10:00:01.5Z",
            id,
            "ResponseComplete",
            "get",
            "/api/v1/pods/p",
            "kubectl/v1.29",
            "{\"username\":\"alice\"}",
            "{\"resource\":\"pods\"}",
            "{\"code\":200}",
            "2024-01-01T10:00:01Z",
            "2024-01-01T10:00:01.5Z",
            "AKSAudit"
        ])
    };
    let columns: Vec<serde_json::Value> = [
        "TimeGenerated",
        "AuditId",
        "Stage",
        "Verb",
        "RequestUri",
        "UserAgent",
        "User",
        "ObjectRef",
        "ResponseStatus",
        "RequestReceivedTime",
        "StageReceivedTime",
        "Type",
    ]
    .iter()
    .map(|n| serde_json::json!({"name": n, "type": "string"}))
    .collect();
    let azure_columns = serde_json::json!([{"name": "TimeGenerated", "type": "datetime"}, {"name": "Category", "type": "string"}, {"name": "log_s", "type": "string"}]);
    let doc = serde_json::json!({"tables": [
        {"name": "PrimaryResult", "columns": columns, "rows": [aks_row("r1"), aks_row("r2")]},
        {"name": "Diagnostics", "columns": azure_columns, "rows": [["2024-01-01T10:00:01.5Z", "kube-audit", EVENT]]},
    ]});
    let (f, batch) = read("rest.json", doc.to_string().as_bytes());
    assert_eq!((f.events, f.skipped, f.not_audit.clone()), (3, 0, None), "{:?}", messages(&f));
    assert_eq!(
        strings(&batch, col::AUDIT_ID),
        [Some("r1".to_owned()), Some("r2".to_owned()), Some("a1".to_owned())]
    );
    assert_eq!(strings(&batch, col::AZURE_CATEGORY)[2].as_deref(), Some("kube-audit"));
    // Re-review s26: a row shorter or longer than the columns was read without a word (a
    // short one stored with no verb, user or times). It is now refused, naming the counts.
    let mut short = aks_row("r3");
    if let Some(cells) = short.as_array_mut() {
        cells.truncate(5);
    }
    let doc = serde_json::json!({"tables": [
        {"name": "PrimaryResult", "columns": columns, "rows": [aks_row("r1"), short]},
    ]});
    let (f, batch) = read("rest.json", doc.to_string().as_bytes());
    assert_eq!((f.events, f.skipped), (1, 1), "{:?}", messages(&f));
    assert_eq!(strings(&batch, col::AUDIT_ID), [Some("r1".to_owned())]);
    assert!(
        messages(&f).iter().any(|m| m.contains("a Log Analytics row of 5 cells for 12 columns")),
        "{:?}",
        messages(&f)
    );
}

/// A portal CSV of AKSAudit rows with `zone` in its time headers and `dates` as its rows'
/// times, one row each.
fn portal_csv(zone: &str, dates: &[&str]) -> String {
    let mut s = format!("TimeGenerated [{zone}],AuditId,Stage,Verb,RequestUri,StageReceivedTime [{zone}]\n");
    for (i, d) in dates.iter().enumerate() {
        s.push_str(&format!("\"{d}\",id-{i},ResponseComplete,get,/api/v1/pods,\"{d}\"\n"));
    }
    s
}

fn times(batch: &RecordBatch, name: &str) -> Vec<Option<i64>> {
    let a = batch
        .column_by_name(name)
        .expect("column")
        .as_primitive::<arrow::datatypes::TimestampNanosecondType>();
    (0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i))).collect()
}

/// Regression review s26 §3: the portal's zone suffix was stripped whatever it said, so a
/// header `TimeGenerated [UTC+01:00]` (or `[Local Time]`) was read as UTC, silently. An
/// explicit offset is applied; local time, whose offset the file does not say, is refused
/// with the column named.
#[test]
fn portal_csv_times_in_another_zone_are_shifted_and_local_time_is_refused() {
    let nine_utc = audit::timestamp::parse_nanos("2025-03-11T09:00:00.003Z").expect("time");
    let (f, batch) = read("utc1.csv", portal_csv("UTC+01:00", &["3/11/2025, 10:00:00.003 AM"]).as_bytes());
    assert_eq!((f.events, f.skipped), (1, 0), "{:?}", messages(&f));
    assert_eq!(times(&batch, col::STAGE_TIMESTAMP), [nine_utc]);
    let (f, batch) = read("utcm.csv", portal_csv("UTC-05:30", &["2025-03-11T03:30:00.003"]).as_bytes());
    assert_eq!((f.events, f.skipped), (1, 0), "{:?}", messages(&f));
    assert_eq!(times(&batch, col::STAGE_TIMESTAMP), [nine_utc]);
    let (f, _) = read("local.csv", portal_csv("Local Time", &["3/11/2025, 10:00:00.003 AM"]).as_bytes());
    assert_eq!(f.events, 0);
    let why = f.not_audit.unwrap_or_default();
    assert!(why.starts_with("column `TimeGenerated [Local Time]`: times in a zone whose offset"), "{why}");
    assert!(why.contains("export again with the time zone set to UTC"), "{why}");
}

/// Regression review s26 §3: in a day-first file, the dates whose day is 12 or less were
/// read month-first (8 months off, kept as good data) and only those past the 12th refused.
/// Once a row proves the file day-first, none of its display dates is read; a file that
/// never tells is read month-first (the portal's form), and a month-first proof reads all.
#[test]
fn a_portal_csv_proven_day_first_reads_none_of_its_display_dates() {
    let day_first = [
        "11/3/2025, 9:00:00.003 AM",
        "11/3/2025, 9:00:00.004 AM",
        "13/3/2025, 9:00:00.004 AM",
        "2/3/2025, 9:00:00 AM",
    ];
    let (f, _) = read("d.csv", portal_csv("UTC", &day_first).as_bytes());
    assert_eq!((f.events, f.skipped), (0, 4), "{:?}", messages(&f));
    let m = messages(&f);
    assert!(m[0].starts_with("line 2 column `TimeGenerated`: display date \"11/3/2025, 9:00:00.003 AM\" is day-first, as line 4 shows"), "{m:?}");
    assert_eq!(f.examples[0].kind, SkipKind::BadTimestamp);
    // Month-first, proved late: every row read, in order.
    let month_first =
        ["3/11/2025, 9:00:00 AM", "3/12/2025, 9:00:00 AM", "3/13/2025, 9:00:00 AM", "3/1/2025, 9:00:00 AM"];
    let (f, batch) = read("m.csv", portal_csv("UTC", &month_first).as_bytes());
    assert_eq!((f.events, f.skipped), (4, 0), "{:?}", messages(&f));
    assert_eq!(strings(&batch, col::AUDIT_ID)[0].as_deref(), Some("id-0"));
    let march_11 = audit::timestamp::parse_nanos("2025-03-11T09:00:00Z").expect("time");
    assert_eq!(times(&batch, col::STAGE_TIMESTAMP)[0], march_11);
    // Never told: month-first.
    let (f, batch) = read("u.csv", portal_csv("UTC", &["3/11/2025, 9:00:00 AM"]).as_bytes());
    assert_eq!((f.events, times(&batch, col::STAGE_TIMESTAMP)[0]), (1, march_11));
}

/// CSV rows are made objects and read on the rayon pool in chunks, the CSV syntax, the lines
/// and the order of the display dates judged in order on the reading thread: a file read a
/// row or two to a chunk reads as in one chunk, rows, skips and their lines alike, day-first
/// and month-first proofs that come late included.
#[test]
fn csv_rows_read_in_chunks_read_as_in_one() {
    let day_first = portal_csv(
        "UTC",
        &[
            "11/3/2025, 9:00:00.003 AM",
            "2025-03-11T09:00:01Z",
            "11/3/2025, 9:00:00.004 AM",
            "13/3/2025, 9:00:00 AM",
        ],
    );
    let month_first = portal_csv(
        "UTC+01:00",
        &["3/11/2025, 9:00:00 AM", "3/12/2025, 9:00:00 AM", "2025-03-11T09:00:01", "3/13/2025, 9:00:00 AM"],
    );
    let mut damaged = portal_csv("UTC", &["2025-03-11T09:00:00Z", "2025-03-11T09:00:01Z"]);
    damaged.push_str("\"2025-03-11T09:00:02Z\",id-x,ResponseComplete,get\n");
    damaged.push_str(
        "\r\n\"2025-03-11T09:00:03Z\",\"id-\ny\",ResponseComplete,get,/api,\"2025-03-11T09:00:03Z\"\n",
    );
    damaged.push_str("\"2025-03-11T09:00:04Z\",id-z,ResponseComplete,get,/api,2025-03-11T09:00:04Z,extra\n");
    damaged.push_str("\"2025-03-11T09:00:05Z\",id-w,ResponseComplete,get,/api,\"2025-03-11T09:00:05Z\"");
    for (name, text) in [("day-first", day_first), ("month-first", month_first), ("damaged", damaged)] {
        let (whole, whole_rows) = read_with(name, text.as_bytes(), &ReadOptions::default());
        assert!(whole.events > 0, "{name}: {:?}", messages(&whole));
        for chunk_bytes in [1, 100] {
            // Held rows kept in memory, or all but the first (or all) in the temporary file.
            for hold_bytes in [64 << 20, 60, 0] {
                let opts = ReadOptions { chunk_bytes, hold_bytes, ..ReadOptions::default() };
                let (f, rows) = read_with(name, text.as_bytes(), &opts);
                assert_eq!(f, whole, "{name}, chunks of {chunk_bytes} bytes, {hold_bytes} held");
                assert_eq!(rows, whole_rows, "{name}, chunks of {chunk_bytes} bytes, {hold_bytes} held");
            }
        }
    }
}

/// Bug: a portal export whose display dates never tell day-first from month-first (every
/// date on a month's first twelve days) was held whole in memory until its end, then read as
/// one chunk on one thread. Held rows past the budget now wait in a temporary file, and all
/// are handed on in chunks, in order, read as when held in memory; a day-first proof after
/// thousands of held rows still refuses them all.
#[test]
fn a_portal_csv_that_never_tells_its_date_order_is_not_held_whole_in_memory() {
    let dates: Vec<String> =
        (0..3000).map(|i| format!("11/3/2025, 9:{:02}:{:02} AM", i / 60 % 60, i % 60)).collect();
    let dates: Vec<&str> = dates.iter().map(String::as_str).collect();
    let text = portal_csv("UTC", &dates);
    let read_batches = |opts: &ReadOptions| {
        let mut batches = Vec::new();
        let mut sink = |_: &str, b: RecordBatch| -> Result<(), SinkError> {
            batches.push(b);
            Ok(())
        };
        let f = read_reader("never.csv", Box::new(text.as_bytes()), opts, &mut sink).expect("read");
        (f, batches)
    };
    let (whole, whole_batches) = read_batches(&ReadOptions::default());
    assert_eq!((whole.events, whole.skipped), (3000, 0), "{:?}", messages(&whole));
    let whole_rows = concat_batches(&canonical_schema(), &whole_batches).expect("concat");
    let small = ReadOptions { chunk_bytes: 16 << 10, hold_bytes: 32 << 10, ..ReadOptions::default() };
    let (f, batches) = read_batches(&small);
    assert_eq!(f, whole);
    assert!(batches.len() >= 8, "held rows handed on in {} batch(es)", batches.len());
    assert!(
        batches.iter().all(|b| b.num_rows() < 1000),
        "{:?}",
        batches.iter().map(|b| b.num_rows()).collect::<Vec<_>>()
    );
    assert_eq!(concat_batches(&canonical_schema(), &batches).expect("concat"), whole_rows);
    // The same rows, then one that proves the file day-first: none of them is read.
    let mut dates = dates.clone();
    dates.push("13/3/2025, 10:00:00 AM");
    let day_first = portal_csv("UTC", &dates);
    let (f, rows) = read_with("day-first.csv", day_first.as_bytes(), &small);
    assert_eq!((f.events, f.skipped, rows.num_rows()), (0, 3001, 0));
    assert!(messages(&f)[0].starts_with("line 2 column `TimeGenerated`: display date \"11/3/2025, 9:00:00 AM\" is day-first, as line 3002 shows"), "{:?}", messages(&f));
}

/// Regression review s26 §10: `{}` was reported with an empty key list (`(keys: )`).
#[test]
fn an_empty_object_is_named_as_one() {
    let (f, _) = read("e.json", b"{}\n");
    assert_eq!(messages(&f), ["line 1 not an audit record: an empty object `{}`"]);
}

/// Regression review s26 §10: a response code past 32 bits was "integer `5000000000`,
/// expected an integer", which it is: the message says a 32-bit integer.
#[test]
fn an_out_of_range_code_is_said_to_need_a_32_bit_integer() {
    let line = EVENT.replace("\"code\":200", "\"code\":5000000000");
    let (f, _) = read("c.log", line.as_bytes());
    assert_eq!(
        messages(&f),
        [
            "line 1 field `responseStatus.code`: invalid value: integer `5000000000`, expected a 32-bit integer"
        ]
    );
}

/// Azure's diagnostic records on one line (an Event Hub message's `{"records": […]}`, a
/// storage account's `PT1H.json` line) are read borrowed; every shape that could read otherwise
/// goes the serde way. Both give the same rows and the same skips, on good records and on each
/// odd one (a key twice, a key in another case, a value of another type, an escaped key).
#[test]
fn diagnostic_records_read_borrowed_as_through_serde() {
    let log = serde_json::to_string(EVENT).expect("log");
    let log2 = serde_json::to_string(&EVENT.replace("\"a1\"", "\"a2\"")).expect("log");
    let record = |extra: &str| {
        format!(
            r#"{{"time":"2024-01-01T10:00:02.1234567Z","resourceId":"/SUBSCRIPTIONS/S/C","category":"kube-audit","operationName":"Microsoft.ContainerService/managedClusters/diagnosticLogs/Read","properties":{{"log":{log},"stream":"stdout","pod":"kube-apiserver-1"}}{extra}}}"#
        )
    };
    let lines = [
        // Good: a batch of two, then one record alone.
        format!(
            r#"{{"records":[{},{{"category":"kube-audit-admin","properties":{{"log":{log2}}}}}]}}"#,
            record("")
        ),
        record(""),
        // Named and skipped on either path: another category, a bad time, no log, a cut log.
        format!(r#"{{"records":[{{"category":"guard","properties":{{"log":{log}}}}},{}]}}"#, record("")),
        format!(
            r#"{{"records":[{{"category":"kube-audit","time":"yesterday","properties":{{"log":{log}}}}}]}}"#
        ),
        r#"{"records":[{"category":"kube-audit","properties":{"pod":"p"}}]}"#.to_owned(),
        r#"{"category":"kube-audit","properties":{"log":"{\"kind\":\"Event\",\"auditID\":"}}"#.to_owned(),
        r#"{"records":[{"category":"kube-audit","properties":{"log":""}}]}"#.to_owned(),
        // Odd ones, which the serde path reads.
        format!(r#"{{"records":[{}]}}"#, record(r#","category":"kube-audit-admin""#)),
        format!(r#"{{"records":[{{"Category":"kube-audit-admin","properties":{{"log":{log}}}}}]}}"#),
        format!(r#"{{"records":[{{"category":5,"properties":{{"log":{log}}}}}]}}"#),
        format!(
            r#"{{"records":[{{"category":"kube-audit","properties":{}}}]}}"#,
            serde_json::to_string(&format!(r#"{{"log":{log}}}"#)).expect("properties")
        ),
        format!(r#"{{"records":[{{"category":"kube-audit","properties":{{"log":{EVENT}}}}}]}}"#),
        format!(
            r#"{{"records":[{{"category":"kube-audit","time":"","TimeGenerated":"2024-01-01T10:00:03Z","properties":{{"log":{log}}}}}]}}"#
        ),
        format!(r#"{{"records":[{{"cat\u0065gory":"guard","properties":{{"log":{log}}}}}]}}"#),
        format!(r#"{{"records":[{{"category":"kube-audit","properties":{{"log":{log},"pod":7}}}}]}}"#),
        r#"{"records":{"category":"kube-audit"}}"#.to_owned(),
        format!(r#"{{"records":["text",{}]}}"#, record("")),
        format!(r#"{{"records":[{}],"records":[]}}"#, record("")),
        record(r#","apiVersion":"audit.k8s.io/v1""#),
        // A line whose first key is a record's but which is none.
        r#"{"time":"2024-01-01T10:00:00Z","message":"hello"}"#.to_owned(),
    ];
    let text = lines.join("\n");
    let opts = ReadOptions { max_examples: 50, ..ReadOptions::default() };
    let (fast_summary, fast) = read_with("diagnostic.log", text.as_bytes(), &opts);
    let (serde_summary, serde) =
        read_with("diagnostic.log", text.as_bytes(), &ReadOptions { simd: false, ..opts });
    assert_eq!(messages(&fast_summary), messages(&serde_summary));
    assert_eq!((fast_summary.events, fast_summary.skipped), (serde_summary.events, serde_summary.skipped));
    // The record with an audit `apiVersion` of its own (line 19) read as an event of nulls
    // until ingest review s54, item 8: it holds no event field, and is refused on both paths.
    assert_eq!(fast_summary.skipped, 10, "{:#?}", messages(&fast_summary));
    assert_eq!(fast.num_rows(), 12);
    for (i, field) in canonical_schema().fields().iter().enumerate() {
        assert_eq!(fast.column(i).to_data(), serde.column(i).to_data(), "column {}", field.name());
    }
    assert_eq!(
        strings(&fast, col::AZURE_CATEGORY)[..3],
        [Some("kube-audit".into()), Some("kube-audit-admin".into()), Some("kube-audit".into())]
    );
    assert_eq!(strings(&fast, col::APISERVER_POD)[0].as_deref(), Some("kube-apiserver-1"));
    assert_eq!(strings(&fast, col::CLUSTER_RESOURCE_ID)[0].as_deref(), Some("/SUBSCRIPTIONS/S/C"));
}

/// Ingest review 50, item 2: Kubernetes `Event`s of the core and `events.k8s.io` APIs (as
/// event exporters and `kubectl get events -o json` write them) and kube-apiserver's own JSON
/// log lines (whose HTTP lines carry a `verb`) were stored as audit events: empty shells, or
/// one phantom `LIST` request with the rest counted as its duplicates.
#[test]
fn kubernetes_events_and_the_apiservers_own_log_lines_are_not_audit_events() {
    let core = |name: &str| {
        format!(
            r#"{{"kind":"Event","apiVersion":"v1","metadata":{{"name":"{name}","namespace":"default"}},"involvedObject":{{"kind":"Pod","name":"p"}},"reason":"Pulled","message":"pulled","type":"Normal","count":1}}"#
        )
    };
    let lines = vec![
        line(0),
        core("a.1"),
        r#"{"kind":"Event","apiVersion":"events.k8s.io/v1","metadata":{"name":"b.1"},"regarding":{"kind":"Pod","name":"p"},"reason":"Killing","note":"stopping","type":"Normal","eventTime":null}"#.to_owned(),
        r#"{"ts":1762160400000.123,"caller":"httplog/httplog.go:134","msg":"HTTP","v":3,"verb":"LIST","URI":"/api/v1/pods?limit=500","latency":"3.1ms","userAgent":"kubectl/v1.30","audit-ID":"c7c1","srcIP":"10.0.0.9:50000","resp":200}"#.to_owned(),
        r#"{"verb":"get","userAgent":"x"}"#.to_owned(),
        // A core EventList on one line: its items carry no apiVersion of their own.
        r#"{"kind":"EventList","apiVersion":"v1","items":[{"kind":"Event","metadata":{"name":"c.1"},"reason":"Pulled"}]}"#.to_owned(),
        line(1),
    ];
    let (tape, serde) = read_tape_and_serde("events.jsonl", &lines, 10);
    for (f, batch) in [&tape, &serde] {
        assert_eq!(f.events, 2, "{:?}", messages(f));
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(f.skipped_by_kind.get(&SkipKind::NotAuditRecord), Some(&5), "{:?}", messages(f));
        assert_eq!(
            messages(f),
            [
                "line 2 a Kubernetes Event (apiVersion v1), not an audit event",
                "line 3 a Kubernetes Event (apiVersion events.k8s.io/v1), not an audit event",
                "line 4 kube-apiserver's own log line (msg \"HTTP\"), not an audit event",
                "line 5 not an audit record: `verb` without `auditID`, an audit `apiVersion`, or both `verb` and \
                 `requestURI` (keys: userAgent, verb)",
                "line 6 item 1: a Kubernetes Event (apiVersion v1), not an audit event",
            ]
        );
    }
    // The same as a JSON array, and in a CloudWatch payload's messages.
    let array = format!("[{}]", lines.join(",\n"));
    let (f, batch) = read("events.json", array.as_bytes());
    assert_eq!((f.events, batch.num_rows()), (2, 2), "{:?}", messages(&f));
    assert_eq!(f.skipped_by_kind.get(&SkipKind::NotAuditRecord), Some(&5), "{:?}", messages(&f));
    let log_events: Vec<serde_json::Value> = lines[..4]
        .iter()
        .enumerate()
        .map(|(i, l)| serde_json::json!({"id": i.to_string(), "timestamp": 1, "message": l}))
        .collect();
    let payload = serde_json::json!({"messageType": "DATA_MESSAGE", "logGroup": "g", "logStream": "s", "logEvents": log_events});
    let (f, batch) = read("payload.json", payload.to_string().as_bytes());
    assert_eq!((f.events, batch.num_rows()), (1, 1), "{:?}", messages(&f));
    assert_eq!(f.skipped, 3, "{:?}", messages(&f));
    // A file of nothing else holds no audit events.
    let (f, _) = read("only.jsonl", lines[1..4].join("\n").as_bytes());
    assert_eq!(f.events, 0, "{:?}", messages(&f));
}

/// Ingest review 50, item 3: the portal's display dates were read month-first in JSON too,
/// where no reader judges a file's order: an en-GB viewer's "11/03/2025" (11 March) was
/// stored as 3 November. Only a CSV export's time columns read them; elsewhere they are
/// refused, and named.
#[test]
fn display_dates_in_json_are_refused_not_read_month_first() {
    let aks = |id: usize, time: &str| {
        serde_json::json!({
            "TimeGenerated": time, "AuditId": format!("id-{id}"), "Level": "Metadata", "Stage": "ResponseComplete",
            "RequestUri": "/api/v1/pods", "Verb": "list", "User": {"username": "u"},
            "RequestReceivedTime": time, "StageReceivedTime": time, "Type": "AKSAudit",
        })
        .to_string()
    };
    let mut native: serde_json::Value = serde_json::from_str(&line(2)).expect("event");
    native["stageTimestamp"] = "11/03/2025, 09:00:00.223 AM".into();
    let lines =
        [aks(0, "11/03/2025, 09:00:00.223 AM"), aks(1, "2025-03-11T09:00:00.223Z"), native.to_string()];
    let (tape, serde) = read_tape_and_serde("dates.json", &lines, 10);
    for (f, batch) in [&tape, &serde] {
        assert_eq!((f.events, batch.num_rows()), (1, 1), "{:?}", messages(f));
        assert_eq!(strings(batch, col::AUDIT_ID), [Some("id-1".to_owned())]);
        assert_eq!(f.skipped_by_kind.get(&SkipKind::BadTimestamp), Some(&2));
        let m = messages(f);
        assert!(
            m[0].starts_with(
                "line 1 field `TimeGenerated`: display date \"11/03/2025, 09:00:00.223 AM\" is read only in a time \
                 column of the Azure portal's CSV export"
            ),
            "{m:?}"
        );
        assert!(m[1].starts_with("line 3 field `stageTimestamp`: display date"), "{m:?}");
    }
}

/// Ingest review 50, item 5: a gzip file padded with NUL bytes after its last member (which
/// `gzip -t` accepts) was reported "only partly read" (invalid gzip header), refused by
/// `--strict`, and read again by every ingest. Two members, the padding after both; garbage
/// after the zeros is still named.
#[test]
fn a_gzip_file_padded_with_zero_bytes_is_read_whole() {
    let member = |from: usize| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        for i in from..from + 1000 {
            gz.write_all(format!("{}\n", EVENT.replace("\"a1\"", &format!("\"id{i}\""))).as_bytes())
                .expect("gzip");
        }
        gz.finish().expect("gzip")
    };
    let mut gz = [member(0), member(1000)].concat();
    gz.extend(std::iter::repeat_n(0u8, 1024));
    let opts = ReadOptions { chunk_bytes: 50_000, ..ReadOptions::default() };
    let (f, b) = read_with("padded.log.gz", &gz, &opts);
    assert_eq!(f.incomplete, None);
    assert_eq!((f.events, f.skipped, b.num_rows()), (2000, 0, 2000));
    gz.extend_from_slice(b"garbage");
    let (f, _) = read_with("garbage.log.gz", &gz, &opts);
    assert_eq!(f.events, 2000);
    let cut = f.incomplete.expect("read only in part");
    assert!(cut.message.starts_with("gzip data corrupt or cut short after line 2000"), "{}", cut.message);
}

/// An `AKSAudit` row (resource-specific table) for the tests below.
const AKS_ROW: &str = r#"{"TimeGenerated":"2024-01-01T10:00:02Z","Level":"Metadata","AuditId":"k1","Stage":"ResponseComplete","RequestUri":"/api/v1/pods","Verb":"list","User":{"username":"alice"},"ObjectRef":{"resource":"pods"},"StageReceivedTime":"2024-01-01T10:00:01Z","Type":"AKSAudit"}"#;

/// Review: a list where an object belongs was read by position, as the object's fields in
/// order: `"objectRef":["secrets","kube-system","admin-token",…]` was stored as resource,
/// namespace and name, `"user":["mallory","u1",["system:masters"]]` as username mallory, and an
/// `AKSAudit` row's `"ObjectRef":["pods","ns"]` alike. Each is refused with the field named,
/// through the scan and the tape (which leave it to serde) and serde alike.
#[test]
fn lists_where_objects_belong_are_refused_not_read_by_position() {
    let lines = [
        EVENT.to_owned(),
        EVENT.replace(
            r#""objectRef":{"resource":"pods","apiVersion":"v1"}"#,
            r#""objectRef":["secrets","kube-system","admin-token","uid1","","v1"]"#,
        ),
        EVENT.replace(
            r#""user":{"username":"alice","groups":["g"]}"#,
            r#""user":["mallory","u1",["system:masters"]]"#,
        ),
        EVENT.replace(r#""sourceIPs""#, r#""impersonatedUser":["mallory"],"sourceIPs""#),
        EVENT
            .replace(r#""responseStatus":{"metadata":{},"code":200}"#, r#""responseStatus":[200,"Success"]"#),
        AKS_ROW.to_owned(),
        AKS_ROW.replace(r#""ObjectRef":{"resource":"pods"}"#, r#""ObjectRef":["pods","ns"]"#),
        AKS_ROW.replace(r#""ObjectRef":{"resource":"pods"}"#, r#""ObjectRef":"[\"pods\",\"ns\"]""#),
        AKS_ROW.replace(r#""User":{"username":"alice"}"#, r#""User":["mallory"]"#),
        // A line that is a list: no event read by position either.
        r#"[null,null,null,"id",null,"/api/v1/secrets","list"]"#.to_owned(),
    ];
    let want = [
        "line 2 field `objectRef`: a list, expected an object",
        "line 3 field `user`: a list, expected an object",
        "line 4 field `impersonatedUser`: a list, expected an object",
        "line 5 field `responseStatus`: a list, expected an object",
        "line 7 column `ObjectRef`: a list, expected an object",
        "line 8 column `ObjectRef`: a list, expected an object",
        "line 9 column `User`: a list, expected an object",
        "line 10 expected a JSON object, found a list",
    ];
    let ((simd_summary, simd), (serde_summary, serde)) = read_tape_and_serde("lists.log", &lines, 10);
    for (summary, rows) in [(&simd_summary, &simd), (&serde_summary, &serde)] {
        assert_eq!(messages(summary), want);
        assert_eq!(strings(rows, col::AUDIT_ID), [Some("a1".to_owned()), Some("k1".to_owned())]);
    }
    // An item of an EventList, pretty-printed (the scan cuts it out) and on one line (the tape
    // reads the list).
    let list: serde_json::Value =
        serde_json::from_str(&format!(r#"{{"kind":"EventList","items":[{},{}]}}"#, lines[0], lines[1]))
            .expect("json");
    for (name, text) in
        [("pretty.json", serde_json::to_string_pretty(&list).expect("json")), ("line.json", list.to_string())]
    {
        for keep_bodies in [false, true] {
            let (f, rows) =
                read_with(name, text.as_bytes(), &ReadOptions { keep_bodies, ..ReadOptions::default() });
            assert_eq!((rows.num_rows(), f.skipped), (1, 1), "{name}");
            assert!(
                messages(&f)[0].ends_with("field `objectRef`: a list, expected an object"),
                "{name}: {:?}",
                messages(&f)
            );
        }
    }
}

/// Review: a number where a string belongs was stored as its text (`"verb":5` as "5"), while
/// an `AKSAudit` row's `"Verb":5` was refused. Refused alike now, the field named and the value
/// shown, but in YAML, whose unquoted `name: 1234` is text
/// (`yaml_unquoted_numbers_in_string_fields_are_kept_as_text`).
#[test]
fn a_number_where_a_string_belongs_is_refused_alike_in_every_format() {
    let lines = [
        EVENT.to_owned(),
        EVENT.replace(r#""verb":"list""#, r#""verb":5"#),
        EVENT.replace(r#""resource":"pods""#, r#""resource":"pods","name":7"#),
        EVENT.replace(r#""groups":["g"]"#, r#""groups":["g",false]"#),
        EVENT.replace(r#""annotations":{"b":"2","a":"1"}"#, r#""annotations":{"b":2.5}"#),
        AKS_ROW.replace(r#""Verb":"list""#, r#""Verb":5"#),
        AKS_ROW.replace(r#""resource":"pods""#, r#""resource":"pods","name":7"#),
    ];
    let want = [
        "line 2 field `verb`: a number 5, expected a string",
        "line 3 field `objectRef.name`: a number 7, expected a string",
        "line 4 field `user.groups[1]`: a boolean false, expected a string",
        "line 5 field `annotations.b`: a number 2.5, expected a string",
        "line 6 column `Verb`: a number 5, expected a string",
        "line 7 column `ObjectRef`, field `name`: a number 7, expected a string",
    ];
    let ((simd_summary, simd), (serde_summary, serde)) = read_tape_and_serde("numbers.log", &lines, 10);
    for (summary, rows) in [(&simd_summary, &simd), (&serde_summary, &serde)] {
        assert_eq!(messages(summary), want);
        assert_eq!(strings(rows, col::AUDIT_ID), [Some("a1".to_owned())]);
    }
    // In YAML, the number's text, as documented.
    let yaml = "kind: Event\nauditID: a1\nverb: 5\nrequestURI: /api/v1/pods\n";
    let (f, rows) = read("event.yaml", yaml.as_bytes());
    assert_eq!((f.skipped, strings(&rows, col::VERB)), (0, vec![Some("5".to_owned())]));
}

/// Review: JSON lines files that each start with a byte order mark, joined with `cat`, lost the
/// first line of each file after the first ("invalid JSON: expected value at column 1"): the
/// mark was dropped only at byte 0. One where a line starts is read past; a line that still
/// does not read says it held one.
#[test]
fn a_byte_order_mark_where_a_line_starts_is_read_past() {
    let bom = "\u{feff}";
    let one = format!("{bom}{EVENT}\n{}\n", EVENT.replace("\"a1\"", "\"a2\""));
    let joined = format!("{one}{one}{bom}{}\n", &EVENT[..40]);
    let (f, rows) = read("joined.log", joined.as_bytes());
    assert_eq!((f.container, rows.num_rows(), f.skipped), (Some(Container::JsonLines), 4, 1));
    assert_eq!(
        messages(&f),
        [
            "line 5 invalid JSON: EOF while parsing a string at column 40 (after a byte order mark, U+FEFF, at the \
          start of the line, read past)"
        ]
    );
}

/// Review: JSON lines that each end in a comma (lines copied out of a JSON array) lost every
/// record ("trailing characters at column N"). A comma after a whole record is read past and
/// the lines so read counted once for the file; a record that is bad besides is named for
/// what is wrong with it.
#[test]
fn lines_copied_out_of_a_json_array_with_their_commas_are_read() {
    let ids = ["a1", "a2", "a3"];
    let events: Vec<String> = ids.iter().map(|id| EVENT.replace("\"a1\"", &format!("\"{id}\""))).collect();
    let text = format!("{},\n{} , \r\n{}\n", events[0], events[1], events[2]);
    for keep_bodies in [false, true] {
        let (f, rows) =
            read_with("commas.log", text.as_bytes(), &ReadOptions { keep_bodies, ..ReadOptions::default() });
        assert_eq!((f.container, f.skipped, f.trailing_commas), (Some(Container::JsonLines), 0, 2));
        assert_eq!(strings(&rows, col::AUDIT_ID), ids.map(|id| Some(id.to_owned())));
    }
    let bad = format!("{},\n{},\n", events[0], EVENT.replace(r#""verb":"list""#, r#""verb":5"#));
    let (f, rows) = read("bad.log", bad.as_bytes());
    assert_eq!((rows.num_rows(), f.skipped, f.trailing_commas), (1, 1, 1));
    assert_eq!(messages(&f), ["line 2 field `verb`: a number 5, expected a string"]);
}

/// Review: a number where an Azure time belongs (`"time":5` in an Event Hub message's
/// `records`, `"TimeGenerated":12` in an `AKSAudit` or `AzureDiagnostics` row) was taken for no
/// time at all, silently, while text that is no time ("soon") was named. Named alike now, with
/// the value, on the borrowed paths and the serde path.
#[test]
fn a_number_where_an_azure_time_belongs_is_named() {
    let log = serde_json::to_string(EVENT).expect("log");
    let record = |time: &str| {
        format!(
            r#"{{"time":{time},"resourceId":"/S/C","category":"kube-audit","properties":{{"log":{log}}}}}"#
        )
    };
    let lines = [
        format!(r#"{{"records":[{},{}]}}"#, record(r#""2024-01-01T10:00:02Z""#), record("5")),
        record("5"),
        record(r#""soon""#),
        AKS_ROW.replace(r#""TimeGenerated":"2024-01-01T10:00:02Z""#, r#""TimeGenerated":12"#),
        format!(r#"{{"TimeGenerated":12,"Category":"kube-audit","log_s":{log}}}"#),
        format!(r#"{{"TimeGenerated":true,"Category":"kube-audit","log_s":{log}}}"#),
    ];
    let want = [
        "line 1 item 2: field `time`: unreadable timestamp 5 (a number, not text)",
        "line 2 field `time`: unreadable timestamp 5 (a number, not text)",
        "line 3 field `time`: unreadable timestamp \"soon\"",
        "line 4 field `TimeGenerated`: unreadable timestamp 12 (a number, not text)",
        "line 5 field `TimeGenerated`: unreadable timestamp 12 (a number, not text)",
        "line 6 field `TimeGenerated`: unreadable timestamp true (a boolean, not text)",
    ];
    let text = lines.join("\n");
    let ten = ReadOptions { max_examples: 10, ..ReadOptions::default() };
    for opts in [
        ten.clone(),
        ReadOptions { simd: false, ..ten.clone() },
        ReadOptions { keep_bodies: true, ..ten.clone() },
    ] {
        let (f, rows) = read_with("azure.log", text.as_bytes(), &opts);
        assert_eq!(messages(&f), want, "simd {}, bodies {}", opts.simd, opts.keep_bodies);
        assert_eq!((rows.num_rows(), f.skipped), (1, 6));
    }
    // In a document of records, cut apart by the scan.
    let document =
        format!("{{\"records\": [\n{},\n{}\n]}}\n", record(r#""2024-01-01T10:00:02Z""#), record("5"));
    let (f, rows) = read("records.json", document.as_bytes());
    assert_eq!((rows.num_rows(), f.skipped), (1, 1));
    assert_eq!(messages(&f), ["record 2 field `time`: unreadable timestamp 5 (a number, not text)"]);
}

/// Ingest review s54, item 8: `{"kind":"Event"}` and `{"apiVersion":"audit.k8s.io/v1"}` were
/// stored as events whose every field was null (counted under verb `(none)`), where `{}` was
/// refused. An event with nothing in it is refused by the tape and by serde alike; one with any
/// field is kept.
#[test]
fn an_event_with_nothing_in_it_was_stored_as_nulls() {
    let lines: Vec<String> = [
        r#"{"kind":"Event"}"#,
        r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1"}"#,
        r#"{"apiVersion":"audit.k8s.io/v1"}"#,
        r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","verb":"get"}"#,
        r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a-1"}"#,
    ]
    .iter()
    .map(|l| (*l).to_owned())
    .collect();
    let ((tape, tb), (serde, sb)) = read_tape_and_serde("empty.log", &lines, 10);
    for (f, b) in [(&tape, &tb), (&serde, &sb)] {
        assert_eq!((f.events, f.skipped, b.num_rows()), (2, 3, 2), "{:?}", messages(f));
        let m = messages(f);
        assert!(m[0].starts_with("line 1 an audit event with nothing in it: no auditID"), "{m:?}");
        assert!(m[2].starts_with("line 3 "), "{m:?}");
    }
}
