//! The API server's audit log written to standard output (`--audit-log-path=-`) and kept by the
//! kubelet's runtime as a CRI container log (`/var/log/pods/…/N.log`): each line the time, the
//! stream, the tag (`P` for a part of a line the runtime split, `F` for a whole line or its last
//! part) and the content. Built here from the real events of audit2rbac's demo log; each must
//! read to the rows of the same events as plain JSON lines.

mod reading;

use std::io::Write;

use arrow::array::RecordBatch;
use audit::read::{Container, ReadOptions, SinkError, SkipKind, read_paths};
use audit::write::{Compressed, Compression};
use audit::{InputFormat, canonical_schema};
use reading::{demo_lines, messages, read};

/// The runtime's time of line `i`.
fn time(i: usize) -> String {
    format!("2024-03-01T10:{:02}:{:02}.{:09}Z", i / 60 % 60, i % 60, i * 7919)
}

/// `content` as the runtime writes it to `stream`: one line tagged `F`, or parts of at most
/// `split` bytes tagged `P` and the last `F`.
fn cri(i: usize, stream: &str, content: &str, split: usize) -> String {
    let bytes = content.as_bytes();
    let mut out = String::new();
    let mut parts = bytes.chunks(split.max(1)).peekable();
    if parts.peek().is_none() {
        return format!("{} {stream} F \n", time(i));
    }
    while let Some(part) = parts.next() {
        let tag = if parts.peek().is_some() { "P" } else { "F" };
        out.push_str(&format!("{} {stream} {tag} {}\n", time(i), String::from_utf8_lossy(part)));
    }
    out
}

/// The API server's own log lines on stderr, as klog writes them (text), and one as its JSON
/// logging format writes it.
fn klog(i: usize) -> String {
    if i.is_multiple_of(2) {
        format!(
            "I0301 10:00:{:02}.000000       1 handler.go:286] Adding GroupVersion apps v1 to ResourceManager",
            i % 60
        )
    } else {
        r#"{"ts":1709287200000.1,"caller":"httplog/httplog.go:132","msg":"HTTP","v":3,"verb":"GET","URI":"/readyz","latency":"1ms","userAgent":"kube-probe/1.29","audit-ID":"x","srcIP":"10.0.0.1:1","resp":200}"#.to_owned()
    }
}

/// The demo events as plain JSON lines, read: the rows every CRI form must give.
fn want() -> RecordBatch {
    let text: String = demo_lines().iter().map(|l| format!("{l}\n")).collect();
    let (f, batch) = read("audit.log", text.as_bytes());
    assert_eq!(f.skipped, 0);
    batch
}

fn compressed(text: &str, compression: Compression) -> Vec<u8> {
    let mut w = Compressed::new(Vec::new(), compression).expect("compressor");
    w.write_all(text.as_bytes()).expect("write to memory");
    w.finish().expect("finish compression")
}

#[test]
fn an_apiserver_logging_audit_to_stdout_was_not_an_audit_format() {
    // Before: `not an audit format: text that is neither JSON, YAML, nor CSV with a header line`.
    let lines = demo_lines();
    let mut text = String::new();
    let mut klog_lines = Vec::new();
    let mut n = 0;
    for (i, l) in lines.iter().enumerate() {
        if i % 3 == 1 {
            text.push_str(&cri(i, "stderr", &klog(i), 1 << 14));
            n += 1;
            klog_lines.push(n);
        }
        text.push_str(&cri(i, "stdout", l, 1 << 14));
        n += 1;
    }
    let want = want();
    for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
        let (f, batch) = read("kube-apiserver.log", &compressed(&text, compression));
        let what = format!("{compression:?}");
        assert_eq!(f.not_audit, None, "{what}");
        assert_eq!(f.container, Some(Container::CriLog), "{what}");
        assert_eq!(Container::CriLog.name(), "cri-log");
        assert_eq!(f.formats.keys().copied().collect::<Vec<_>>(), [InputFormat::K8sLog], "{what}");
        assert_eq!(batch, want, "{what}");
        // The API server's own lines: counted and named by line, not errors.
        assert_eq!(f.skipped, klog_lines.len() as u64, "{what}: {:?}", messages(&f));
        assert_eq!(f.skipped_by_kind.keys().copied().collect::<Vec<_>>(), [SkipKind::NotAuditRecord]);
        let m = messages(&f);
        assert_eq!(f.examples[0].location.to_string(), format!("line {}", klog_lines[0]));
        assert!(m[0].contains("kube-apiserver's own log line (msg \"HTTP\"), not an audit event"), "{m:?}");
        assert_eq!(f.examples[1].location.to_string(), format!("line {}", klog_lines[1]));
        let text = "a container log line of text on stderr, not an audit event: I0301 10:00:04.000000";
        assert!(f.examples[1].message.starts_with(text), "{m:?}");
    }
    // In a directory, beside a gzipped copy, as a must-gather holds them.
    let dir = tempfile::tempdir().expect("tmp");
    let pods = dir.path().join("kube-system_kube-apiserver-kind-control-plane_0123/kube-apiserver");
    std::fs::create_dir_all(&pods).expect("mkdir");
    std::fs::write(pods.join("0.log"), &text).expect("write");
    std::fs::write(pods.join("1.log.20240301-100000.gz"), compressed(&text, Compression::Gzip))
        .expect("write");
    let mut rows = 0;
    let mut sink = |_: &str, b: RecordBatch| -> Result<(), SinkError> {
        rows += b.num_rows();
        Ok(())
    };
    let summary = read_paths(&[dir.path().to_path_buf()], &ReadOptions::default(), &mut sink).expect("read");
    assert_eq!(summary.files.len(), 2);
    assert!(summary.files.iter().all(|f| f.container == Some(Container::CriLog)));
    assert_eq!(rows, 2 * want.num_rows());
}

#[test]
fn a_40_kib_event_split_into_three_parts_between_stderr_lines_is_joined() {
    // The runtime splits a line at 16 KiB: a request's event with a long URI (a big label
    // selector) comes in three parts, the API server's stderr lines between them.
    let mut event: serde_json::Value = serde_json::from_str(&demo_lines()[0]).expect("event");
    let uri = format!("/api/v1/pods?labelSelector=app+in+({})", "x".repeat(40 << 10));
    event["requestURI"] = serde_json::Value::String(uri);
    let line = event.to_string();
    assert!(line.len() > 40 << 10 && line.len() < 48 << 10);
    let parts: Vec<&str> = vec![&line[..16 << 10], &line[16 << 10..32 << 10], &line[32 << 10..]];
    let text = [
        format!("{} stdout F {}", time(0), demo_lines()[1]),
        format!("{} stdout P {}", time(1), parts[0]),
        format!("{} stderr F {}", time(1), klog(0)),
        format!("{} stdout P {}", time(1), parts[1]),
        format!("{} stderr P {}", time(1), "W0301 10:00:01.000000       1 a long warning, "),
        format!("{} stderr F {}", time(1), "split too"),
        format!("{} stdout F {}", time(1), parts[2]),
        // A split event whose middle part was lost: named by the line it starts on.
        format!("{} stdout P {}", time(2), &line[..100]),
        format!("{} stdout F {}", time(2), &line[200..300]),
        format!("{} stdout F {}", time(3), demo_lines()[2]),
    ]
    .map(|l| l + "\n")
    .concat();
    // Chunks smaller than a line, so that parts and lines cross chunk bounds.
    for chunk_bytes in [1 << 10, 4 << 20] {
        let opts = ReadOptions { chunk_bytes, ..ReadOptions::default() };
        let (f, batch) = reading::read_with("kube-apiserver.log", text.as_bytes(), &opts);
        let plain = [&demo_lines()[1], &line, &demo_lines()[2]].map(|l| format!("{l}\n")).concat();
        let (_, want) = read("audit.log", plain.as_bytes());
        assert_eq!(batch, want, "chunks of {chunk_bytes}");
        let m = messages(&f);
        assert_eq!(m.len(), 3, "{m:?}");
        assert!(m[0].starts_with("line 3 a container log line of text on stderr"), "{m:?}");
        assert!(
            m[1].starts_with("line 5 a container log line of text on stderr, not an audit event: W0301"),
            "{m:?}"
        );
        assert!(m[1].ends_with("a long warning, split too"), "{m:?}");
        assert!(m[2].starts_with("line 8 invalid JSON"), "{m:?}");
    }
}

#[test]
fn a_file_ending_inside_a_split_line_names_it_and_keeps_the_lines_before() {
    let lines = demo_lines();
    let mut text: String =
        lines.iter().take(5).enumerate().map(|(i, l)| cri(i, "stdout", l, 1 << 14)).collect();
    // The log was copied while the runtime was writing a long line: its first part only.
    text.push_str(&format!("{} stdout P {}\n", time(5), &lines[5][..40]));
    text.push_str(&format!("{} stderr F {}\n", time(5), klog(0)));
    let (f, batch) = read("kube-apiserver.log", text.as_bytes());
    assert_eq!(batch.num_rows(), 5);
    assert_eq!((f.events, f.skipped), (5, 2), "{:?}", messages(&f));
    assert_eq!(f.skipped_by_kind.get(&SkipKind::Malformed), Some(&1));
    let cut = messages(&f).into_iter().find(|m| m.contains("cut short")).expect("the cut is named");
    assert_eq!(
        cut,
        "line 6 cut short: the file ends before the last part (tag F) of this stdout line, which the runtime \
         split into parts (tag P); it is skipped"
    );
}

#[test]
fn events_as_cri_lines_ingest_to_the_rows_of_the_same_events_as_json_lines() {
    // Every event split into parts of 64 to 4,096 bytes, stderr lines between some of them: the
    // same canonical rows, `source_format` included, as the plain log.
    let lines = demo_lines();
    let want = want();
    assert_eq!(want.schema(), canonical_schema());
    for split in [64, 1000, 4096, 1 << 14] {
        let mut text = String::new();
        for (i, l) in lines.iter().enumerate() {
            let parts = cri(i, "stdout", l, split);
            if i.is_multiple_of(4) {
                // A stderr line between the first two parts of the event, when it has two.
                let mut it = parts.splitn(2, '\n');
                text.push_str(it.next().unwrap_or_default());
                text.push('\n');
                text.push_str(&cri(i, "stderr", &klog(i), 1 << 14));
                text.push_str(it.next().unwrap_or_default());
            } else {
                text.push_str(&parts);
            }
        }
        let (f, got) = read("kube-apiserver.log", text.as_bytes());
        assert_eq!(f.container, Some(Container::CriLog));
        assert_eq!(f.events, lines.len() as u64);
        assert_eq!(f.skipped_by_kind.keys().copied().collect::<Vec<_>>(), [SkipKind::NotAuditRecord]);
        assert_eq!(got, want, "parts of {split} bytes");
    }
}

#[test]
fn docker_json_file_records_split_at_16_kib_are_joined() {
    // Docker's json-file driver splits a line at 16 KiB too: each record's `log` holds a part,
    // only the last ending in a newline. The parts of a stream are joined, as the runtime's
    // `P` lines are, and read as the event they were cut from (before: each part was skipped
    // by its line, the event lost; `docker_json_file.rs` has the rest).
    let line = &demo_lines()[0];
    let (a, b) = line.split_at(line.len() / 2);
    let record = |log: &str| serde_json::json!({"log": log, "stream": "stdout", "time": time(0)}).to_string();
    let text = format!(
        "{}\n{}\n{}\n",
        record(&format!("{}\n", demo_lines()[1])),
        record(a),
        record(&format!("{b}\n"))
    );
    let (f, batch) = read("container-json.log", text.as_bytes());
    assert_eq!(f.container, Some(Container::JsonLines));
    assert_eq!((f.events, f.skipped), (2, 0), "{:?}", messages(&f));
    let plain = format!("{}\n{line}\n", demo_lines()[1]);
    assert_eq!(batch, read("audit.log", plain.as_bytes()).1);
}
