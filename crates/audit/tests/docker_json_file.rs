//! The API server's audit log written to standard output (`--audit-log-path=-`) and kept by
//! Docker's `json-file` log driver: each line of output one record
//! `{"log":"<line>\n","stream":"stdout","time":"…"}`, and a line longer than 16 KiB cut into
//! several records, each but the last without the newline. The parts are joined into the event
//! they were cut from; the events are those of audit2rbac's demo log.

mod reading;

use std::io::Write;
use std::path::PathBuf;

use arrow::array::{Array, AsArray, RecordBatch};
use audit::col;
use audit::ingest::{IngestOptions, ingest};
use audit::read::{Container, ReadOptions, SkipKind};
use audit::store::Store;
use audit::write::{Compressed, Compression};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use reading::{demo_lines, messages, read, read_with};
use serde_json::{Value, json};

/// Docker's buffer: a line is cut into parts of this many bytes.
const SPLIT: usize = 16 << 10;

/// Docker's time of record `i`.
fn time(i: usize) -> String {
    format!("2024-03-01T10:{:02}:{:02}.{:09}Z", i / 60 % 60, i % 60, i * 7919)
}

/// One json-file record of `log` on `stream`, escaped as Docker escapes it (`<`, `>` and `&`
/// as `\u003c`, `\u003e`, `\u0026`), keys in Docker's order.
fn record(i: usize, stream: &str, log: &str) -> String {
    let log = serde_json::to_string(log)
        .expect("a string")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    format!("{{\"log\":{log},\"stream\":\"{stream}\",\"time\":\"{}\"}}\n", time(i))
}

/// `line` as Docker's json-file driver writes it to `stream`: one record if it is at most
/// `split` bytes, else parts of `split` bytes, the newline only in the last one's `log`.
fn records(i: usize, stream: &str, line: &str, split: usize) -> Vec<String> {
    assert!(line.is_ascii(), "parts are cut at bytes");
    let parts: Vec<&[u8]> = line.as_bytes().chunks(split.max(1)).collect();
    let last = parts.len().saturating_sub(1);
    parts
        .iter()
        .enumerate()
        .map(|(n, part)| {
            let text = String::from_utf8_lossy(part);
            let text = if n == last { format!("{text}\n") } else { text.into_owned() };
            record(i, stream, &text)
        })
        .collect()
}

/// A request's event of `size` bytes or so: a ConfigMap created with a big script in it
/// (newlines, quotes, `<`, `&`: escaped in the event, escaped again in the record), at level
/// `Request` so that its `requestObject` is logged.
fn big_event(size: usize) -> Value {
    let mut event: Value = serde_json::from_str(&demo_lines()[0]).expect("event");
    let script = "#!/bin/sh\necho \"<hello> & goodbye\" \\\n  | tee /tmp/x\n".repeat(size / 56);
    event["auditID"] = json!("0b1f3c2e-big-configmap");
    event["level"] = json!("Request");
    event["verb"] = json!("create");
    event["requestURI"] = json!("/api/v1/namespaces/default/configmaps?fieldManager=kubectl&timeout=30s");
    event["objectRef"] =
        json!({"resource": "configmaps", "namespace": "default", "name": "big", "apiVersion": "v1"});
    event["requestObject"] = json!({
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {"name": "big", "namespace": "default"},
        "data": {"run.sh": script},
    });
    event
}

/// The json-file log the tests read, and the line each record is on: the demo's second event,
/// then a 40 KiB event cut into three parts with the API server's own stderr lines between
/// them (one of them split too), then the demo's third event.
fn split_log(event: &str) -> String {
    let parts = records(1, "stdout", event, SPLIT);
    assert_eq!(parts.len(), 3, "cut into three parts");
    let warning = "W0301 10:00:01.000000       1 warnings.go:70] a long warning, ".to_owned() + "split too";
    let warning = records(1, "stderr", &warning, 30);
    assert_eq!(warning.len(), 3);
    [
        record(0, "stdout", &format!("{}\n", demo_lines()[1])),
        parts[0].clone(),
        record(1, "stderr", "I0301 10:00:01.000000       1 handler.go:286] Adding GroupVersion apps v1\n"),
        warning[0].clone(),
        parts[1].clone(),
        warning[1].clone(),
        warning[2].clone(),
        parts[2].clone(),
        record(2, "stdout", &format!("{}\n", demo_lines()[2])),
    ]
    .concat()
}

fn compressed(text: &str, compression: Compression) -> Vec<u8> {
    let mut w = Compressed::new(Vec::new(), compression).expect("compressor");
    w.write_all(text.as_bytes()).expect("write to memory");
    w.finish().expect("finish compression")
}

fn strings(batch: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let a = batch.column_by_name(name).expect("column").as_string::<i32>();
    (0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i).to_owned())).collect()
}

/// The skip messages the split log gives, whatever the chunks it is cut into.
fn assert_split_log_messages(m: &[String]) {
    assert_eq!(m.len(), 2, "{m:?}");
    assert_eq!(
        m[0],
        "line 3 not an audit record: `log` holds text that is not a JSON object: I0301 10:00:01.000000       1 \
         handler.go:286] Adding GroupVersion apps v1\n"
    );
    // The split stderr line, joined and named by the line of its first part.
    assert!(
        m[1].starts_with("line 4 not an audit record: `log` holds text that is not a JSON object: W0301"),
        "{m:?}"
    );
    assert!(m[1].ends_with("a long warning, split too\n"), "{m:?}");
}

#[test]
fn docker_json_file_lines_split_at_16_kib_are_joined() {
    // Before: the first part was skipped as ``field `log`: not JSON (cut short?): EOF while
    // parsing…``, the others as `` `log` holds text that is not a JSON object``: the event lost.
    let event = big_event(40 << 10).to_string();
    assert!(event.len() > 2 * SPLIT && event.len() < 3 * SPLIT, "{} bytes", event.len());
    let text = split_log(&event);
    // The same events as JSON lines: the rows the parts must read to.
    let plain = [&demo_lines()[1], &event, &demo_lines()[2]].map(|l| format!("{l}\n")).concat();
    for keep_bodies in [false, true] {
        let opts = ReadOptions { keep_bodies, ..ReadOptions::default() };
        let (_, want) = read_with("audit.log", plain.as_bytes(), &opts);
        assert_eq!(want.num_rows(), 3);
        // Chunks smaller than a part, so that parts and records cross chunk bounds; and whole.
        for chunk_bytes in [1 << 10, 20 << 10, 4 << 20] {
            let what = format!("keep_bodies {keep_bodies}, chunks of {chunk_bytes}");
            let opts = ReadOptions { chunk_bytes, ..opts.clone() };
            let (f, batch) = read_with("0b1f3c2e-json.log", text.as_bytes(), &opts);
            assert_eq!(f.container, Some(Container::JsonLines), "{what}");
            assert_eq!((f.events, f.skipped), (3, 2), "{what}: {:?}", messages(&f));
            assert_eq!(f.skipped_by_kind.keys().copied().collect::<Vec<_>>(), [SkipKind::NotAuditRecord]);
            assert_eq!(batch, want, "{what}");
            assert_split_log_messages(&messages(&f));
            let ids = strings(&batch, col::AUDIT_ID);
            assert_eq!(ids[1].as_deref(), Some("0b1f3c2e-big-configmap"), "{what}");
            let uri = strings(&batch, col::REQUEST_URI);
            let want_uri = "/api/v1/namespaces/default/configmaps?fieldManager=kubectl&timeout=30s";
            assert_eq!(uri[1].as_deref(), Some(want_uri), "{what}");
            let body = strings(&batch, col::REQUEST_OBJECT);
            if keep_bodies {
                let body: Value = serde_json::from_str(body[1].as_deref().expect("a body")).expect("JSON");
                assert_eq!(body, big_event(40 << 10)["requestObject"], "{what}");
            } else {
                assert_eq!(body[1], None, "{what}");
            }
        }
    }
    // Compressed as Docker's `compress=true` rotation leaves it (`…-json.log.1.gz`), or zstd.
    let (_, want) = read("audit.log", plain.as_bytes());
    for compression in [Compression::Gzip, Compression::Zstd] {
        let (f, batch) = read("0b1f3c2e-json.log.1.gz", &compressed(&text, compression));
        assert_eq!((f.events, f.skipped), (3, 2), "{compression:?}: {:?}", messages(&f));
        assert_eq!(batch, want, "{compression:?}");
        assert_split_log_messages(&messages(&f));
    }
}

#[test]
fn docker_json_file_events_split_at_16_kib_are_stored_whole() {
    // Through ingest, with `--keep-bodies`, into a store: the joined event is stored once, its
    // request body whole.
    let dir = tempfile::tempdir().expect("tmp");
    let event = big_event(40 << 10);
    let log = dir.path().join("0b1f3c2e-json.log");
    std::fs::write(&log, split_log(&event.to_string())).expect("write");
    let gz = dir.path().join("0b1f3c2e-json.log.1.gz");
    let mut rotated = split_log(&event.to_string());
    for i in 3..8 {
        // The rotated file's own events, so that both are stored (the same events are stored once).
        let mut e: Value = serde_json::from_str(&demo_lines()[i]).expect("event");
        e["auditID"] = json!(format!("rotated-{i}"));
        rotated.push_str(&record(i, "stdout", &format!("{e}\n")));
    }
    std::fs::write(&gz, compressed(&rotated, Compression::Gzip)).expect("write");
    let store = dir.path().join("store");
    let mut opts = IngestOptions::default();
    opts.read.keep_bodies = true;
    let report = ingest(&store, &[log, gz] as &[PathBuf], &opts).expect("ingest");
    assert_eq!(report.events(), 3 + 3 + 5);
    assert_eq!(report.kept, 3 + 5, "the second file's first three events are duplicates");
    for f in &report.files {
        assert_split_log_messages(&messages(f));
    }
    let s = Store::open(&store).expect("store");
    let batches: Vec<RecordBatch> = s
        .data_files()
        .iter()
        .flat_map(|p| {
            let f = std::fs::File::open(p).expect("open data file");
            let r = ParquetRecordBatchReaderBuilder::try_new(f).expect("parquet").build().expect("reader");
            r.collect::<Result<Vec<_>, _>>().expect("batches")
        })
        .collect();
    assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 8);
    assert_eq!(s.manifest().totals().events, 8);
    let big: Vec<Value> = batches
        .iter()
        .flat_map(|b| {
            let ids = strings(b, col::AUDIT_ID);
            let bodies = strings(b, col::REQUEST_OBJECT);
            ids.into_iter().zip(bodies).filter_map(|(id, body)| {
                (id.as_deref() == Some("0b1f3c2e-big-configmap")).then(|| {
                    serde_json::from_str(body.as_deref().expect("the body kept")).expect("JSON body")
                })
            })
        })
        .collect();
    assert_eq!(big, [event["requestObject"].clone()]);
}

#[test]
fn a_json_file_log_ending_inside_a_split_line_names_it_and_keeps_the_rest() {
    // Copied while Docker was writing a long line: its first part only, a stderr record after it.
    let lines = demo_lines();
    let mut text: String = (0..5).map(|i| record(i, "stdout", &format!("{}\n", lines[i]))).collect();
    let big = big_event(40 << 10).to_string();
    text.push_str(&records(5, "stdout", &big, SPLIT)[0]);
    text.push_str(&record(5, "stderr", "I0301 10:00:05.000000       1 handler.go:286] stopping\n"));
    let cut = "line 6 cut short: the file ends before the last part of this stdout record, which Docker's \
               json-file log driver split into parts (each `log` but the last without a newline); it is skipped";
    for (name, bytes) in [
        ("0b1f3c2e-json.log", text.clone().into_bytes()),
        ("0b1f3c2e-json.log.1.gz", compressed(&text, Compression::Gzip)),
    ] {
        for chunk_bytes in [1 << 10, 4 << 20] {
            let opts = ReadOptions { chunk_bytes, ..ReadOptions::default() };
            let (f, batch) = read_with(name, &bytes, &opts);
            assert_eq!(batch.num_rows(), 5, "{name}");
            assert_eq!((f.events, f.skipped), (5, 2), "{name}: {:?}", messages(&f));
            assert_eq!(f.skipped_by_kind.get(&SkipKind::Malformed), Some(&1));
            assert_eq!(f.skipped_by_kind.get(&SkipKind::NotAuditRecord), Some(&1));
            let m = messages(&f);
            assert!(m[0].starts_with("line 7 not an audit record: `log` holds text"), "{m:?}");
            assert_eq!(m[1], cut, "{name}");
            assert_eq!(f.examples[1].file, name);
            assert_eq!(f.examples[1].kind, SkipKind::Malformed);
        }
    }
    // Ending inside a split stderr line and a split stdout line: both named, in the order they
    // started, and the records after the first part kept.
    let mut text = records(0, "stderr", &format!("E0301 {}", "x".repeat(100)), 64)[0].clone();
    text.push_str(&record(1, "stdout", &format!("{}\n", lines[1])));
    text.push_str(&records(2, "stdout", &big, SPLIT)[..2].concat());
    let (f, batch) = read("0b1f3c2e-json.log", text.as_bytes());
    assert_eq!(batch.num_rows(), 1);
    let m = messages(&f);
    assert_eq!(m.len(), 2, "{m:?}");
    assert!(
        m[0].starts_with("line 1 cut short: the file ends before the last part of this stderr record"),
        "{m:?}"
    );
    assert!(
        m[1].starts_with("line 3 cut short: the file ends before the last part of this stdout record"),
        "{m:?}"
    );
}

#[test]
fn a_split_line_longer_than_the_longest_accepted_is_skipped_in_bounded_memory() {
    // Parts of a line that never ends (a writer gone wrong): dropped once they pass the longest
    // line accepted, named by their first part's line, and the records after them read.
    let lines = demo_lines();
    let mut text = record(0, "stdout", &format!("{}\n", lines[0]));
    let big = big_event(100 << 10).to_string();
    text.push_str(&records(1, "stdout", &big, SPLIT).concat());
    text.push_str(&record(2, "stdout", &format!("{}\n", lines[2])));
    let opts = ReadOptions { max_line_bytes: 64 << 10, chunk_bytes: 8 << 10, ..ReadOptions::default() };
    let (f, batch) = read_with("0b1f3c2e-json.log", text.as_bytes(), &opts);
    assert_eq!(batch.num_rows(), 2);
    assert_eq!(
        messages(&f),
        [format!(
            "line 2 line longer than {} bytes once the parts Docker split it into are joined, skipped",
            64 << 10
        )]
    );
    assert_eq!(f.skipped_by_kind.get(&SkipKind::TooLong), Some(&1));
}

#[test]
fn json_file_records_split_anywhere_read_to_the_rows_of_the_same_events() {
    // Every demo event cut into parts of 7 bytes to 16 KiB (so that parts end inside escapes:
    // after a backslash, after `\n` in the event's text), stderr records between some of them:
    // the same rows, `source_format` included, as the plain log.
    let lines = demo_lines();
    let plain: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let (_, want) = read("audit.log", plain.as_bytes());
    for split in [7, 64, 1000, SPLIT] {
        let mut text = String::new();
        for (i, l) in lines.iter().enumerate() {
            let parts = records(i, "stdout", l, split);
            for (n, part) in parts.iter().enumerate() {
                text.push_str(part);
                if n == 0 && i % 4 == 0 {
                    text.push_str(&record(i, "stderr", "I0301 10:00:00.000000       1 a.go:1] x\n"));
                }
            }
        }
        for chunk_bytes in [1 << 10, 4 << 20] {
            let opts = ReadOptions { chunk_bytes, ..ReadOptions::default() };
            let (f, got) = read_with("0b1f3c2e-json.log", text.as_bytes(), &opts);
            assert_eq!(f.events, lines.len() as u64, "parts of {split}: {:?}", messages(&f));
            assert_eq!(f.skipped_by_kind.keys().copied().collect::<Vec<_>>(), [SkipKind::NotAuditRecord]);
            assert_eq!(got, want, "parts of {split} bytes, chunks of {chunk_bytes}");
        }
    }
}

#[test]
fn shippers_log_records_that_are_whole_events_read_as_before() {
    // Records of the json-file shape whose `log` holds a whole event with no newline (a shipper
    // trimmed it) are no parts: each is its event. A shipper's record with more keys is no
    // json-file record: cut short, it is named as before, not joined with the next.
    let lines = demo_lines();
    let text: String = (0..4).map(|i| record(i, "stdout", &lines[i])).collect();
    let (f, batch) = read("fluent-bit.log", text.as_bytes());
    assert_eq!((f.events, f.skipped), (4, 0), "{:?}", messages(&f));
    assert_eq!(batch.num_rows(), 4);
    let shipper = |i: usize, log: &str| {
        json!({"log": log, "stream": "stdout", "time": time(i), "kubernetes": {"pod_name": "kube-apiserver-0"}})
            .to_string()
            + "\n"
    };
    let (a, b) = lines[0].split_at(300);
    let text =
        [shipper(0, &format!("{}\n", lines[1])), shipper(1, a), shipper(1, &format!("{b}\n"))].concat();
    let (f, batch) = read("fluent-bit.log", text.as_bytes());
    assert_eq!(batch.num_rows(), 1);
    let m = messages(&f);
    assert_eq!(m.len(), 2, "{m:?}");
    assert!(
        m[0].starts_with(
            "line 2 field `log`: not JSON (cut short?): EOF while parsing an object at column 300"
        ),
        "{m:?}"
    );
    assert!(m[1].starts_with("line 3 "), "{m:?}");
}

#[test]
fn a_json_file_log_whose_gzip_stream_is_cut_inside_a_split_line_keeps_the_records_before() {
    // A rotated `.gz` copied while it was written: the stream breaks off inside the parts of the
    // big event. The records before it are kept, the open one named, and the cut said.
    let lines = demo_lines();
    let mut text: String = (0..5).map(|i| record(i, "stdout", &format!("{}\n", lines[i]))).collect();
    let parts = records(5, "stdout", &big_event(40 << 10).to_string(), SPLIT);
    text.push_str(&parts.concat());
    let gz = compressed(&text, Compression::Gzip);
    let before_parts: usize = (0..5).map(|i| record(i, "stdout", &format!("{}\n", lines[i])).len()).sum();
    // Cut where the decompressed bytes are well into the second part.
    let cut = (1..gz.len())
        .find(|&n| {
            let mut out = Vec::new();
            let _ = std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..n]), &mut out);
            out.len() > before_parts + parts[0].len() + 1000
        })
        .expect("a cut inside the parts");
    let (f, batch) = read("0b1f3c2e-json.log.1.gz", &gz[..cut]);
    assert_eq!(batch.num_rows(), 5);
    let m = messages(&f);
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(
        m[0].starts_with("line 6 cut short: the file ends before the last part of this stdout record"),
        "{m:?}"
    );
    let incomplete = f.incomplete.as_ref().expect("the cut said");
    assert!(
        incomplete.message.starts_with("gzip data corrupt or cut short after line "),
        "{}",
        incomplete.message
    );
}

#[test]
fn records_after_a_joined_one_keep_their_line_numbers() {
    // A bad record after the split one, in a later chunk: named by its own line, as the
    // records before the split one are, whatever the chunks.
    let lines = demo_lines();
    let bad = |i: usize| record(i, "stdout", "{\"kind\":\"Event\",\"verb\":\n");
    let mut text = bad(0);
    text.push_str(&record(1, "stdout", &format!("{}\n", lines[1])));
    text.push_str(&records(2, "stdout", &big_event(40 << 10).to_string(), SPLIT).concat());
    for i in 5..40 {
        text.push_str(&record(i, "stdout", &format!("{}\n", lines[i % lines.len()])));
        if i % 10 == 0 {
            text.push_str(&bad(i));
        }
    }
    let numbered: Vec<usize> =
        text.lines().enumerate().filter(|(_, l)| l.contains(r#"\"verb\":\n"#)).map(|(n, _)| n + 1).collect();
    assert_eq!(numbered, [1, 12, 23, 34]);
    for chunk_bytes in [1 << 10, 8 << 10, 20 << 10, 4 << 20] {
        let opts = ReadOptions { chunk_bytes, ..ReadOptions::default() };
        let (f, batch) = read_with("0b1f3c2e-json.log", text.as_bytes(), &opts);
        assert_eq!(batch.num_rows(), 1 + 1 + 35, "chunks of {chunk_bytes}");
        let at: Vec<String> = f.examples.iter().map(|e| e.location.to_string()).collect();
        assert_eq!(
            at,
            numbered.iter().map(|n| format!("line {n}")).collect::<Vec<_>>(),
            "chunks of {chunk_bytes}"
        );
    }
}
