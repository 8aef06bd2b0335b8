//! The store through `audit::ingest::ingest` and the writer: dedupe, unchanged inputs, strict
//! refusal, the lock, orphans of a killed writer, hour partitions, time order and compaction.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::TimestampNanosecondType;
use audit::col;
use audit::ingest::{IngestError, IngestOptions, ingest};
use audit::read::ReadOptions;
use audit::store::writer::{StoreWriter, WriterOptions};
use audit::store::{Store, StoreError};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

const EVENT: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"@ID@","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods?limit=500","verb":"list","user":{"username":"system:serviceaccount:default:reader","groups":["system:authenticated"]},"sourceIPs":["10.0.0.1"],"userAgent":"reader/v1.0","objectRef":{"resource":"pods","namespace":"default","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"TIME","stageTimestamp":"TIME","annotations":{"authorization.k8s.io/decision":"allow"}}"#;

/// `n` events with IDs `prefix-i`, at `start_second + i * step` seconds past
/// 2024-03-01T00:00Z, written in reverse time order.
fn events_every(n: usize, prefix: &str, start_second: usize, step: usize) -> String {
    let mut lines: Vec<String> = (0..n)
        .map(|i| {
            let s = start_second + i * step;
            let t = format!(
                "2024-03-01T{:02}:{:02}:{:02}.{:06}Z",
                s / 3600,
                (s / 60) % 60,
                s % 60,
                i % 1_000_000
            );
            EVENT.replace("@ID@", &format!("{prefix}-{i}")).replace("TIME", &t)
        })
        .collect();
    lines.reverse();
    lines.join("\n") + "\n"
}

fn events(n: usize, prefix: &str, start_second: usize) -> String {
    events_every(n, prefix, start_second, 1)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write input");
    p
}

fn rows(file: &Path) -> Vec<RecordBatch> {
    let f = File::open(file).expect("open data file");
    ParquetRecordBatchReaderBuilder::try_new(f)
        .expect("parquet")
        .build()
        .expect("reader")
        .collect::<Result<_, _>>()
        .expect("batches")
}

fn stored_events(store: &Path) -> u64 {
    let s = Store::open(store).expect("store");
    let from_files: usize = s.data_files().iter().flat_map(|f| rows(f)).map(|b| b.num_rows()).sum();
    assert_eq!(from_files as u64, s.manifest().totals().events, "manifest counts match the files");
    from_files as u64
}

#[test]
fn reingest_is_skipped_forced_reingest_and_overlaps_add_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    let a = write(dir.path(), "a.log", &events(100, "a", 0));
    let r = ingest(&store, std::slice::from_ref(&a), &IngestOptions::default()).expect("ingest");
    assert_eq!((r.events(), r.kept, r.duplicates), (100, 100, 0));
    let r = ingest(&store, std::slice::from_ref(&a), &IngestOptions::default()).expect("again");
    assert_eq!((r.files.len(), r.unchanged.len()), (0, 1));
    let forced = IngestOptions { force: true, ..IngestOptions::default() };
    let r = ingest(&store, std::slice::from_ref(&a), &forced).expect("forced");
    assert_eq!((r.events(), r.kept, r.duplicates), (100, 0, 100));
    // An overlapping export: the last 50 of a plus 50 new.
    let b = write(dir.path(), "b.log", &events(150, "a", 0).lines().take(100).collect::<Vec<_>>().join("\n"));
    let r = ingest(&store, &[b], &IngestOptions::default()).expect("overlap");
    assert_eq!((r.events(), r.kept, r.duplicates), (100, 50, 50));
    assert_eq!(stored_events(&store), 150);
    let m = Store::open(&store).expect("store").manifest().clone();
    // The inputs' events are the events stored plus the duplicates dropped: a.log's 100 (read
    // twice, counted once: its second reading replaced the first) and b.log's 100 are the 150
    // stored and b.log's 50. Before, a.log's forced reading added its 100 to the duplicates.
    assert_eq!(m.inputs.iter().map(|i| i.events).sum::<u64>(), 200);
    assert_eq!(m.duplicates_dropped, 50);
}

/// Ingest review s38 item 1: `tail -F audit.log | ingest -` on a quiet cluster: 400 lines
/// sent, then nothing for minutes. Nothing was handed on below 64 KiB, nothing committed
/// until another line came, and SIGTERM waited for the stream to close, then dropped it all.
/// Now the lines go on within a second or two of the pause, are committed at the next commit
/// time while the stream stays quiet, and an interrupt ends the run at once, keeping them.
#[cfg(unix)]
#[test]
fn a_stream_that_goes_quiet_is_committed_and_can_be_interrupted_while_it_waits() {
    // 400 events, about 230 KB: the stream then stays open and quiet.
    let (store, committed, ended, result) = quiet_stream(events(400, "q", 0).into_bytes(), 400);
    assert_eq!(committed, 400, "the quiet stream's events were not committed while it waited");
    assert!(ended, "the interrupt was not seen while the stream was quiet");
    assert!(
        matches!(result, Err(audit::ingest::IngestError::Interrupted { committed_events: 400, .. })),
        "{result:?}"
    );
    assert_eq!(stored_events(&store.path().join("s")), 400);
}

/// Session 41 left it out: NUL bytes at the start of a stream that pauses before 64 KiB have
/// come (`tail -F` of a log truncated in place, on a quiet cluster) made its first bytes look
/// binary, and nothing of it was read. They are dropped from what it sent, as from a file's.
#[cfg(unix)]
#[test]
fn nul_bytes_at_the_start_of_a_stream_that_pauses_are_read_past() {
    let mut payload = vec![0u8; 300];
    payload.extend_from_slice(events(5, "z", 0).as_bytes());
    let (store, committed, ended, result) = quiet_stream(payload, 5);
    assert_eq!(committed, 5, "the paused stream's events after its NULs were not read");
    assert!(ended, "the interrupt was not seen while the stream was quiet");
    assert!(
        matches!(result, Err(audit::ingest::IngestError::Interrupted { committed_events: 5, .. })),
        "{result:?}"
    );
    assert_eq!(stored_events(&store.path().join("s")), 5);
}

/// Sends `payload` through a named pipe to `ingest`, which then waits on it, open and quiet,
/// until `expect` events are committed (or 30 s pass), then interrupts the run. The store's
/// directory, the events committed, whether the run ended without the pipe closing, and its
/// result. The store is `s` in the directory.
#[cfg(unix)]
fn quiet_stream(
    payload: Vec<u8>,
    expect: u64,
) -> (tempfile::TempDir, u64, bool, Result<audit::ingest::IngestReport, audit::ingest::IngestError>) {
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    let fifo = dir.path().join("stream");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo").success());
    let interrupt = std::sync::Arc::new(AtomicBool::new(false));
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let writer = {
        let (fifo, store, interrupt) = (fifo.clone(), store.clone(), interrupt.clone());
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new().write(true).open(&fifo).expect("open the pipe");
            f.write_all(&payload).expect("write");
            f.flush().expect("flush");
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            let mut committed = 0;
            while committed < expect && std::time::Instant::now() < deadline {
                committed = Store::open(&store).map(|s| s.manifest().totals().events).unwrap_or(0);
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            // Interrupted while the stream is still open: the run must end without it closing.
            interrupt.store(true, Ordering::Relaxed);
            let ended = done_rx.recv_timeout(std::time::Duration::from_secs(30)).is_ok();
            drop(f);
            (committed, ended)
        })
    };
    let read = ReadOptions { interrupt: Some(interrupt.clone()), ..IngestOptions::default().read };
    let opts =
        IngestOptions { commit_every: std::time::Duration::from_secs(2), read, ..IngestOptions::default() };
    let result = ingest(&store, &[fifo], &opts);
    let _ = done_tx.send(());
    let (committed, ended) = writer.join().expect("writer");
    (dir, committed, ended, result)
}

#[cfg(unix)]
#[test]
fn one_long_stream_is_committed_as_it_is_read_not_only_at_its_end() {
    // `ingest -` (here a named pipe) fed for minutes: what was read is committed while the
    // stream goes on, so a kill keeps it. The pipe's writer waits for the first commit before
    // it sends the rest; without commits inside an input it would wait in vain.
    use std::io::Write;
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    let fifo = dir.path().join("stream");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo").success());
    let writer = {
        let (fifo, store) = (fifo.clone(), store.clone());
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new().write(true).open(&fifo).expect("open the pipe");
            // About 5.6 MB: 340 chunks of the reader.
            f.write_all(events(10_000, "a", 0).as_bytes()).expect("first part");
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            let mut committed = 0;
            while committed == 0 && std::time::Instant::now() < deadline {
                committed = Store::open(&store).map(|s| s.manifest().totals().events).unwrap_or(0);
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            f.write_all(events(100, "b", 3000).as_bytes()).expect("second part");
            committed
        })
    };
    // Small chunks: the reader hands a chunk on once a few more are read (three per thread
    // in flight), and the first part must hold that many on any machine.
    let read = ReadOptions { chunk_bytes: 16 << 10, ..IngestOptions::default().read };
    let opts = IngestOptions { commit_every: std::time::Duration::ZERO, read, ..IngestOptions::default() };
    let report = ingest(&store, &[fifo], &opts).expect("ingest");
    let committed_mid_stream = writer.join().expect("writer");
    assert!(committed_mid_stream > 0, "nothing was committed while the stream went on");
    assert!(committed_mid_stream < 10_100, "{committed_mid_stream}");
    assert_eq!(report.kept, 10_100);
    assert_eq!(stored_events(&store), 10_100);
}

#[test]
fn an_export_at_millisecond_precision_meets_the_full_precision_copy_of_its_events() {
    // The Azure portal's CSV writes `3/11/2025, 9:00:01.156 AM`; the API server wrote
    // 09:00:01.156789. Same audit ID and stage: one event, not two.
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    let full = EVENT.replace("@ID@", "p-1").replace("TIME", "2024-03-01T10:00:01.156789Z");
    let millis = EVENT.replace("@ID@", "p-1").replace("TIME", "2024-03-01T10:00:01.156Z");
    let other = EVENT.replace("@ID@", "p-2").replace("TIME", "2024-03-01T10:00:01.156Z");
    let a = write(dir.path(), "full.log", &format!("{full}\n"));
    let b = write(dir.path(), "millis.log", &format!("{millis}\n{other}\n"));
    ingest(&store, &[a], &IngestOptions::default()).expect("full");
    let r = ingest(&store, &[b], &IngestOptions::default()).expect("millis");
    assert_eq!((r.kept, r.duplicates), (1, 1));
    assert_eq!(stored_events(&store), 2);
}

/// Review 48 of the audit checks, item 9: in a log without `stage`, a request's two events in
/// one second (RequestReceived, with no response, then ResponseComplete) had one key, and the
/// first, without the answer, was the one kept.
#[test]
fn two_stages_of_a_request_without_a_stage_field_were_collapsed_into_the_one_without_its_answer() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    let complete = EVENT.replace("@ID@", "q-1").replace(r#""stage":"ResponseComplete","#, "");
    let complete = complete.replacen("TIME", "2024-03-01T10:00:01.100Z", 1).replacen(
        "TIME",
        "2024-03-01T10:00:01.900Z",
        1,
    );
    let received = complete
        .replace(r#""responseStatus":{"metadata":{},"code":200},"#, "")
        .replace("2024-03-01T10:00:01.900Z", "2024-03-01T10:00:01.100Z");
    assert_ne!(received, complete);
    let a = write(dir.path(), "a.log", &format!("{received}\n{complete}\n"));
    let r = ingest(&store, &[a], &IngestOptions::default()).expect("ingest");
    assert_eq!((r.kept, r.duplicates), (2, 0));
    let codes: Vec<Option<i32>> = Store::open(&store)
        .expect("store")
        .data_files()
        .iter()
        .flat_map(|f| rows(f))
        .flat_map(|b| {
            let c = b
                .column_by_name(col::RESPONSE_CODE)
                .expect("code")
                .as_primitive::<arrow::datatypes::Int32Type>()
                .clone();
            (0..c.len()).map(move |i| c.is_valid(i).then(|| c.value(i))).collect::<Vec<_>>()
        })
        .collect();
    assert!(codes.contains(&Some(200)), "{codes:?}");
    // Each copy read again is still a duplicate.
    let again = write(dir.path(), "again.log", &format!("{received}\n{complete}\n"));
    let r = ingest(&store, &[again], &IngestOptions::default()).expect("ingest");
    assert_eq!((r.kept, r.duplicates), (0, 2));
}

/// Ingest review 50, item 3: two different requests under one audit ID (a client's `Audit-ID`
/// header, two clusters exporting to one workspace) that reached one stage in the same second
/// had one key, and the second was dropped as a duplicate of the first.
#[test]
fn two_requests_under_one_audit_id_in_one_second_were_one_event() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    let first = EVENT.replace("@ID@", "shared-id").replacen("TIME", "2024-03-01T10:00:01.100Z", 1).replacen(
        "TIME",
        "2024-03-01T10:00:01.200Z",
        1,
    );
    let second = first
        .replace(r#""verb":"list""#, r#""verb":"delete""#)
        .replace(r#""code":200"#, r#""code":404"#)
        .replace("2024-03-01T10:00:01.200Z", "2024-03-01T10:00:01.900Z");
    assert!(second.contains(r#""verb":"delete""#) && second.contains(r#""code":404"#), "{second}");
    let a = write(dir.path(), "a.log", &format!("{first}\n{second}\n"));
    let r = ingest(&store, &[a], &IngestOptions::default()).expect("ingest");
    assert_eq!((r.kept, r.duplicates), (2, 0));
    // Each read again is still a duplicate, of itself only.
    let again = write(dir.path(), "again.log", &format!("{second}\n{first}\n"));
    let r = ingest(&store, &[again], &IngestOptions::default()).expect("ingest");
    assert_eq!((r.kept, r.duplicates), (0, 2));
}

#[test]
fn a_file_read_again_counts_its_skipped_records_and_itself_once() {
    // A live log read, appended to, and read again; then read a third time with --force.
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    let live = write(dir.path(), "live.log", &format!("{}\n{{bad\n", events(20, "a", 0)));
    ingest(&store, std::slice::from_ref(&live), &IngestOptions::default()).expect("first");
    std::fs::write(&live, format!("{}\n{{bad\n{}\n", events(20, "a", 0), events(20, "b", 100)))
        .expect("append");
    ingest(&store, std::slice::from_ref(&live), &IngestOptions::default()).expect("second");
    let forced = IngestOptions { force: true, ..IngestOptions::default() };
    ingest(&store, std::slice::from_ref(&live), &forced).expect("forced");
    let m = Store::open(&store).expect("store").manifest().clone();
    assert_eq!(m.inputs.len(), 1, "{:?}", m.inputs);
    assert_eq!((m.inputs[0].events, m.inputs[0].skipped), (40, 1));
    assert_eq!(m.skipped.by_kind.values().sum::<u64>(), 1, "{:?}", m.skipped);
    assert_eq!(m.skipped.examples.len(), 1, "{:?}", m.skipped.examples);
    assert_eq!(stored_events(&store), 40);
    // Another file's skipped record still counts beside it.
    let other = write(dir.path(), "other.log", &format!("{}{{bad\n", events(1, "c", 200)));
    ingest(&store, &[other], &IngestOptions::default()).expect("other");
    let m = Store::open(&store).expect("store").manifest().clone();
    assert_eq!((m.inputs.len(), m.skipped.by_kind.values().sum::<u64>()), (2, 2));
}

#[test]
fn rows_are_partitioned_by_hour_and_sorted_by_time_within_a_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    // 3 hours of events, one every 2 s, written newest first.
    let a = write(dir.path(), "a.log", &events_every(5400, "h", 0, 2));
    ingest(&store, &[a], &IngestOptions::default()).expect("ingest");
    let s = Store::open(&store).expect("store");
    let hours: Vec<&str> = s.manifest().files.iter().map(|f| f.hour.as_str()).collect();
    assert_eq!(hours, ["2024-03-01T00", "2024-03-01T01", "2024-03-01T02"]);
    for (f, path) in s.manifest().files.iter().zip(s.data_files()) {
        let mut last = i64::MIN;
        for b in rows(path) {
            let t =
                b.column_by_name(col::STAGE_TIMESTAMP).expect("ts").as_primitive::<TimestampNanosecondType>();
            for i in 0..t.len() {
                assert!(t.value(i) >= last, "{}: rows out of time order", f.path);
                last = t.value(i);
                assert_eq!(
                    t.value(i).div_euclid(3_600_000_000_000) % 24,
                    f.hour[11..].parse::<i64>().expect("hour")
                );
            }
        }
    }
    assert_eq!(stored_events(&store), 5400);
}

/// The `stageTimestamp`s of a stored file's rows, in stored order, in seconds past
/// 2024-03-01T00:00Z.
fn stored_seconds(file: &Path) -> Vec<i64> {
    rows(file)
        .iter()
        .flat_map(|b| {
            let t =
                b.column_by_name(col::STAGE_TIMESTAMP).expect("ts").as_primitive::<TimestampNanosecondType>();
            t.values().iter().map(|v| v / 1_000_000_000 - 1_709_251_200).collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn rows_out_of_order_by_less_than_the_slack_are_written_as_they_come() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    // A log backend's order: by stageTimestamp up to the jitter of concurrent requests. Rows
    // every 20 s with every fourth row moved two places earlier (40 s out of order, under the
    // 60 s slack), over half an hour.
    let mut lines: Vec<&str> = Vec::new();
    let text = events_every(88, "j", 0, 20);
    lines.extend(text.lines().rev());
    let mut seconds: Vec<i64> = (0..88).map(|i| i * 20).collect();
    for (l, s) in lines.chunks_exact_mut(4).zip(seconds.chunks_exact_mut(4)) {
        l.swap(0, 2);
        s.swap(0, 2);
    }
    let a = write(dir.path(), "a.log", &(lines.join("\n") + "\n"));
    ingest(&store, &[a], &IngestOptions::default()).expect("ingest");
    let s = Store::open(&store).expect("store");
    assert_eq!(s.data_files().len(), 1);
    assert_eq!(stored_seconds(&s.data_files()[0]), seconds, "kept in input order, not sorted");

    // A row 61 s before the one ahead of it is over the slack: the file is sorted.
    let store2 = dir.path().join("s2");
    let b = write(dir.path(), "b.log", &(events_every(2, "k", 0, 61) + &events_every(1, "l", 200, 1)));
    ingest(&store2, &[b], &IngestOptions::default()).expect("ingest");
    let s2 = Store::open(&store2).expect("store");
    assert_eq!(stored_seconds(&s2.data_files()[0]), [0, 61, 200]);
}

#[test]
fn stats_count_every_verb_when_there_are_more_than_a_few() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    // 40 distinct verbs (past the 32 compared one by one), the first ten twice as often.
    let text: String = events(150, "v", 0)
        .lines()
        .enumerate()
        .map(|(i, l)| l.replace(r#""verb":"list""#, &format!(r#""verb":"verb{:02}""#, i % 50 % 40)) + "\n")
        .collect();
    let a = write(dir.path(), "a.log", &text);
    ingest(&store, &[a], &IngestOptions::default()).expect("ingest");
    let verbs = Store::open(&store).expect("store").manifest().totals().verbs;
    assert_eq!(verbs.len(), 40);
    assert_eq!(verbs.values().sum::<u64>(), 150);
    assert_eq!(verbs.get("verb00"), Some(&6));
    assert_eq!(verbs.get("verb39"), Some(&3));
}

/// The manifest counts the annotation keys of webhooks that failed open, so `diagnose` can skip
/// looking for them when there are none; a store that holds some says how many.
#[test]
fn failed_open_webhook_annotations_are_counted_in_the_manifest() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    let a = write(dir.path(), "a.log", &events(20, "a", 0));
    ingest(&store, &[a], &IngestOptions::default()).expect("ingest");
    assert_eq!(Store::open(&store).expect("store").manifest().totals().failed_open_keys, Some(0));
    // Three events of another file, two of them naming a webhook that failed open (one of
    // them two webhooks), in an hour of their own.
    let text: String = events(3, "b", 7200)
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let extra = match i {
                0 => r#","failed-open.validating.webhook.admission.k8s.io/round_0_index_1":"policy.example.com""#,
                1 => concat!(
                    r#","failed-open.mutating.webhook.admission.k8s.io/round_0_index_0":"inject.example.com""#,
                    r#","failed-open.mutating.webhook.admission.k8s.io/round_1_index_0":"inject.example.com""#
                ),
                _ => "",
            };
            l.replace(r#""authorization.k8s.io/decision":"allow""#, &format!(r#""authorization.k8s.io/decision":"allow"{extra}"#))
                + "\n"
        })
        .collect();
    let b = write(dir.path(), "b.log", &text);
    ingest(&store, &[b], &IngestOptions::default()).expect("ingest");
    let totals = Store::open(&store).expect("store").manifest().totals();
    assert_eq!(totals.events, 23);
    assert_eq!(totals.failed_open_keys, Some(3));
}

#[test]
fn strict_refusal_writes_nothing_and_keeps_the_store_as_it_was() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    let good = write(dir.path(), "good.log", &events(10, "g", 0));
    ingest(&store, &[good], &IngestOptions::default()).expect("ingest");
    let before = Store::open(&store).expect("store").manifest().clone();
    let bad = write(dir.path(), "bad.log", &(events(5000, "b", 100) + "{\"kind\":\"Event\",\n"));
    let strict = IngestOptions {
        read: ReadOptions { strict: true, chunk_bytes: 64 * 1024, ..ReadOptions::default() },
        // Tiny buffers, so data files are written before the bad record is met.
        writer: WriterOptions { flush_rows: 100, ..WriterOptions::default() },
        ..IngestOptions::default()
    };
    match ingest(&store, &[bad], &strict) {
        Err(IngestError::Strict { record, .. }) => {
            assert_eq!(
                record.to_string().split(": invalid").next(),
                Some(&*format!("{}: line 5001", dir.path().join("bad.log").display()))
            );
        }
        other => panic!("expected a strict refusal, got {other:?}"),
    }
    let after = Store::open(&store).expect("store");
    assert_eq!(after.manifest(), &before);
    let on_disk = walk(&store.join("data"));
    assert_eq!(on_disk.len(), before.files.len(), "no file of the refused run is left: {on_disk:?}");
}

/// Compliance review item 7: a `--strict` refusal into a new store directory said "nothing of
/// this run was written" yet left a new empty store (`manifest.json`, `lock`, `data/`).
#[test]
fn a_strict_refusal_into_a_new_store_leaves_the_directory_as_it_was() {
    let dir = tempfile::tempdir().expect("tmp");
    let bad = write(dir.path(), "bad.log", &(events(5000, "b", 100) + "{\"kind\":\"Event\",\n"));
    let strict = IngestOptions {
        read: ReadOptions { strict: true, chunk_bytes: 64 * 1024, ..ReadOptions::default() },
        // Tiny buffers, so data files are written before the bad record is met.
        writer: WriterOptions { flush_rows: 100, ..WriterOptions::default() },
        ..IngestOptions::default()
    };
    let refused = |store: &Path| match ingest(store, std::slice::from_ref(&bad), &strict) {
        Err(IngestError::Strict { .. }) => {}
        other => panic!("expected a strict refusal, got {other:?}"),
    };
    // A directory that did not exist, nor did its parent: neither does after.
    let nested = dir.path().join("new/s");
    refused(&nested);
    assert!(!dir.path().join("new").exists(), "{:?}", walk(dir.path()));
    // An empty directory stays, empty.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    refused(&empty);
    assert_eq!(std::fs::read_dir(&empty).expect("dir").count(), 0, "{:?}", walk(&empty));
    // What a writer killed before its first commit left (a lock, an empty data/ tree) was there
    // before: it stays; only what this run made goes.
    let left = dir.path().join("left");
    std::fs::create_dir_all(left.join("data/hour=2020-01-01T00")).expect("mkdir");
    std::fs::write(left.join("lock"), "").expect("lock");
    refused(&left);
    assert!(left.join("lock").is_file());
    assert!(left.join("data/hour=2020-01-01T00").is_dir());
    assert!(!left.join("manifest.json").exists());
    assert!(walk(&left.join("data")).is_empty());
    // Then a run that succeeds makes the store as usual.
    let good = write(dir.path(), "good.log", &events(10, "g", 0));
    ingest(&nested, &[good], &IngestOptions::default()).expect("ingest");
    assert_eq!(stored_events(&nested), 10);
}

/// A writer that made a new store and committed nothing removes it when aborted; one that
/// committed keeps the store, whatever is aborted after.
#[test]
fn an_aborted_writer_removes_only_a_new_store_it_committed_nothing_to() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    let w = StoreWriter::open(&store, WriterOptions::default()).expect("open");
    assert!(store.join("manifest.json").is_file());
    assert!(w.abort().store_removed);
    assert!(!store.exists());
    let good = write(dir.path(), "good.log", &events(10, "g", 0));
    ingest(&store, &[good], &IngestOptions::default()).expect("ingest");
    // A store that exists is never removed by an abort.
    let w = StoreWriter::open(&store, WriterOptions::default()).expect("open");
    assert!(!w.abort().store_removed);
    assert_eq!(stored_events(&store), 10);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn a_second_writer_is_refused_and_a_killed_writers_files_are_removed() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    let first = StoreWriter::open(&store, WriterOptions::default()).expect("first");
    match StoreWriter::open(&store, WriterOptions::default()) {
        Err(e @ StoreError::Locked { .. }) => {
            assert!(e.to_string().contains("another ingest is writing to this store"), "{e}")
        }
        other => panic!("expected Locked, got {:?}", other.map(|_| ())),
    }
    drop(first);
    // What a writer killed between writing a file and committing it leaves behind.
    std::fs::create_dir_all(store.join("data/hour=2024-03-01T00")).expect("mkdir");
    std::fs::write(store.join("data/hour=2024-03-01T00/part-x-00001.parquet"), b"half").expect("orphan");
    std::fs::write(store.join("data/hour=2024-03-01T00/.part-x-00002.parquet.tmp"), b"half").expect("tmp");
    std::fs::write(store.join("manifest.json.tmp"), b"{").expect("manifest tmp");
    let w = StoreWriter::open(&store, WriterOptions::default()).expect("reopen");
    drop(w);
    assert!(walk(&store.join("data")).is_empty());
    assert!(!store.join("manifest.json.tmp").exists());
    assert_eq!(stored_events(&store), 0);
}

#[test]
fn many_small_runs_into_one_hour_are_compacted() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    let opts = IngestOptions {
        writer: WriterOptions { compact_min_files: 4, ..WriterOptions::default() },
        ..IngestOptions::default()
    };
    for run in 0..10 {
        let p = write(dir.path(), &format!("run{run}.log"), &events(20, &format!("r{run}"), run * 20));
        ingest(&store, &[p], &opts).expect("ingest");
        let s = Store::open(&store).expect("store");
        assert!(s.data_files().len() < 4, "run {run}: {} files", s.data_files().len());
        assert_eq!(stored_events(&store), 20 * (run as u64 + 1));
    }
    // Files merged away are deleted once kept long enough for readers (review s51, item 1);
    // only the listed ones and those kept remain.
    let s = Store::open(&store).expect("store");
    let mut on_disk = walk(&store.join("data"));
    on_disk.sort();
    let mut kept: Vec<PathBuf> = s.data_files().to_vec();
    kept.extend(s.manifest().retired.iter().map(|r| store.join(&r.path)));
    kept.sort();
    assert_eq!(on_disk, kept);
    // Dedupe still sees every stored row after the merges.
    let again = write(dir.path(), "again.log", &events(20, "r3", 60));
    let r = ingest(&store, &[again], &opts).expect("again");
    assert_eq!((r.kept, r.duplicates), (0, 20));
}

/// Review s51, item 1: a commit that merged small files deleted them right after the manifest
/// swap, so a `stats` or `query` that had read the manifest just before found them missing and
/// called the healthy store damaged. They stay on disk for the readers that listed them, and a
/// later commit deletes them once kept long enough.
#[test]
fn stats_during_a_merging_commit_does_not_call_the_store_damaged() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    let opts = |grace: i64| IngestOptions {
        writer: WriterOptions { compact_min_files: 4, retired_grace_secs: grace, ..WriterOptions::default() },
        ..IngestOptions::default()
    };
    let run = |n: usize, grace: i64| {
        let p = write(dir.path(), &format!("run{n}.log"), &events(20, &format!("r{n}"), n * 20));
        ingest(&store, &[p], &opts(grace)).expect("ingest");
    };
    for n in 0..3 {
        run(n, 60);
    }
    // A reader reads the manifest; then a commit merges the files it lists.
    let reader = Store::open(&store).expect("reader");
    assert_eq!(reader.data_files().len(), 3);
    run(3, 60);
    let now = Store::open(&store).expect("store");
    assert_eq!(now.data_files().len(), 1, "merged");
    assert_eq!(now.manifest().retired.len(), 3, "{:?}", now.manifest().retired);
    // The reader's files are all there and whole, and hold what it was told.
    reader.verify(audit::store::FileCheck::Footer).expect("not damaged");
    let read: usize = reader.data_files().iter().flat_map(|f| rows(f)).map(|b| b.num_rows()).sum();
    assert_eq!(read, 60);
    let (_, checked) = Store::open_checked(&store, audit::store::FileCheck::Footer).expect("open checked");
    checked.expect("not damaged");
    // Kept long enough (no grace here), the next commit deletes them.
    run(4, 0);
    let s = Store::open(&store).expect("store");
    for f in reader.data_files() {
        assert!(!f.exists(), "{} kept", f.display());
    }
    assert!(s.manifest().retired.is_empty(), "{:?}", s.manifest().retired);
    assert_eq!(stored_events(&store), 100);
    let mut on_disk = walk(&store.join("data"));
    on_disk.sort();
    assert_eq!(on_disk, s.data_files());
}

/// Files are encoded on a thread beside the writer. An hour whose keys were evicted while its
/// file was still being encoded must read that file's keys once it is written: the same events
/// arriving again later in the run are duplicates, not new rows.
#[test]
fn keys_of_files_still_encoding_are_not_lost_when_their_hour_comes_back() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    // Hour 00 (200 events), a few of hour 01 (too few to be written: they only push hour 00's
    // keys out), then hour 00 again (the same 200 events) while its last file may still be
    // encoding.
    let h0 = events(200, "h0", 0);
    let h1 = events(30, "h1", 3600);
    let input = write(dir.path(), "a.log", &format!("{h0}{h1}{h0}"));
    let opts = IngestOptions {
        // Tiny files and a tiny key budget: hour 00's keys are evicted while its files encode.
        writer: WriterOptions {
            flush_rows: 50,
            max_keys: 60,
            compact_min_files: 0,
            ..WriterOptions::default()
        },
        read: ReadOptions { chunk_bytes: 8 << 10, ..ReadOptions::default() },
        ..IngestOptions::default()
    };
    let r = ingest(&store, &[input], &opts).expect("ingest");
    assert_eq!((r.events(), r.kept, r.duplicates), (430, 230, 200));
    assert_eq!(stored_events(&store), 230);
    let s = Store::open(&store).expect("store");
    let sizes: Vec<u64> = s.manifest().files.iter().map(|f| f.counts.events).collect();
    assert!(sizes.len() >= 3, "hour 00 in two files at least, hour 01 in one: {sizes:?}");
}

/// `n` events of each kind the store files apart (first stages, watches, lists, others), their
/// lines interleaved, with IDs `prefix-i`.
fn mixed_events(n: usize, prefix: &str, start_second: usize) -> String {
    mixed_events_every(n, prefix, start_second, 1)
}

/// [`mixed_events`], `step` seconds apart.
fn mixed_events_every(n: usize, prefix: &str, start_second: usize, step: usize) -> String {
    let kinds = [
        ("ResponseStarted", "watch"),
        ("ResponseComplete", "watch"),
        ("ResponseComplete", "list"),
        ("ResponseComplete", "get"),
        ("RequestReceived", "create"),
        ("ResponseComplete", "create"),
    ];
    let mut out = String::new();
    for (i, line) in events_every(n, prefix, start_second, step).lines().enumerate() {
        let (stage, verb) = kinds[i % kinds.len()];
        let line = line
            .replace(r#""stage":"ResponseComplete""#, &format!(r#""stage":"{stage}""#))
            .replace(r#""verb":"list""#, &format!(r#""verb":"{verb}""#));
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The classes of the rows of a data file, from the rows themselves.
fn classes_in(file: &Path) -> std::collections::BTreeSet<audit::store::writer::FileClass> {
    use arrow::array::Array;
    let mut out = std::collections::BTreeSet::new();
    for b in rows(file) {
        let stage = b.column_by_name(col::STAGE).expect("stage").as_string::<i32>().clone();
        let verb = b.column_by_name(col::VERB).expect("verb").as_string::<i32>().clone();
        for i in 0..b.num_rows() {
            let text = |a: &arrow::array::StringArray| a.is_valid(i).then(|| a.value(i).to_owned());
            let (s, v) = (text(&stage), text(&verb));
            out.insert(audit::store::writer::FileClass::of_row(s.as_deref(), v.as_deref()));
        }
    }
    out
}

#[test]
fn each_file_holds_one_class_of_events_and_its_counts_say_which() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    // Small runs merged at commit, and one larger run: merged files keep to one class too.
    let opts = IngestOptions {
        writer: WriterOptions { compact_min_files: 2, ..WriterOptions::default() },
        ..IngestOptions::default()
    };
    for run in 0..4 {
        let p = write(dir.path(), &format!("run{run}.log"), &mixed_events(30, &format!("r{run}"), run * 30));
        ingest(&store, &[p], &opts).expect("ingest");
    }
    let s = Store::open(&store).expect("store");
    assert_eq!(stored_events(&store), 120);
    let mut seen = std::collections::BTreeSet::new();
    for f in &s.manifest().files {
        let classes = classes_in(&store.join(&f.path));
        assert_eq!(classes.len(), 1, "{}: {classes:?}", f.path);
        let class = classes.into_iter().next().expect("one");
        assert_eq!(audit::store::writer::FileClass::of(&f.counts), Some(class), "{}", f.path);
        seen.insert(class);
    }
    assert_eq!(seen.len(), 5, "every class has its files: {seen:?}");
}

/// The reader hands on one small batch per class of events per chunk. Counted with the spare
/// capacity of their buffers, such batches filled the writer's budget long before their rows
/// did, and an hour came out as many small files. Here each small batch is a file of two
/// events.
#[test]
fn small_batches_are_counted_by_their_rows_not_their_spare_capacity() {
    let dir = tempfile::tempdir().expect("tmp");
    let text = events(300, "s", 0);
    let lines: Vec<&str> = text.lines().collect();
    let inputs: Vec<PathBuf> = lines
        .chunks(2)
        .enumerate()
        .map(|(i, two)| write(dir.path(), &format!("p{i:03}.log"), &(two.join("\n") + "\n")))
        .collect();
    let store = dir.path().join("s");
    // 2 MiB holds the 300 events several times over, but not 150 batches' spare capacity.
    let opts =
        WriterOptions { max_buffered_bytes: 2 << 20, compact_min_files: 0, ..WriterOptions::default() };
    let mut writer = StoreWriter::open(&store, opts).expect("store opens");
    let mut batches = 0;
    let mut spare = 0;
    let mut sink = |_: &str, b: RecordBatch| -> Result<(), audit::read::SinkError> {
        batches += 1;
        spare += b.get_array_memory_size();
        writer.write(&b)?;
        Ok(())
    };
    audit::read::read_paths(&inputs, &ReadOptions::default(), &mut sink).expect("readable");
    writer.commit().expect("commits");
    assert_eq!(batches, 150);
    assert!(spare > 2 << 20, "the batches' buffers ({spare} bytes) would have filled the budget");
    let s = Store::open(&store).expect("store");
    assert_eq!(s.data_files().len(), 1, "{:?}", s.data_files());
    assert_eq!(stored_events(&store), 300);
}

/// A commit writes the buffers left on two threads (the encoder's when it waits for a file,
/// the writer's when it is busy): every buffer must come out once, as one file of its hour and
/// class, however the two shared them.
#[test]
fn a_commit_writes_every_buffer_once_when_two_threads_share_them() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    // 24 hours of the six kinds of events, one every 40 s: 24 hours x 5 classes = 120 buffers,
    // none full, all written by the commit.
    let input = write(dir.path(), "a.log", &mixed_events_every(2160, "m", 0, 40));
    let opts = IngestOptions {
        writer: WriterOptions { compact_min_files: 0, ..WriterOptions::default() },
        ..IngestOptions::default()
    };
    let r = ingest(&store, &[input], &opts).expect("ingest");
    assert_eq!((r.events(), r.kept), (2160, 2160));
    assert_eq!(stored_events(&store), 2160);
    let s = Store::open(&store).expect("store");
    let mut seen = std::collections::BTreeSet::new();
    for f in &s.manifest().files {
        let classes = classes_in(&store.join(&f.path));
        assert_eq!(classes.len(), 1, "{}: {classes:?}", f.path);
        let class = classes.into_iter().next().expect("one");
        assert!(seen.insert((f.hour.clone(), class)), "{} {class:?} written twice", f.hour);
    }
    assert_eq!(seen.len(), 120, "one file per hour and class");
}

/// Events without an `auditID` are deduplicated on everything else they carry: the same event
/// read twice is stored once, and events that differ in any field (here only the user agent)
/// are all kept.
#[test]
fn events_without_an_audit_id_are_deduplicated_on_their_other_fields() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    let lines: String = (0..4)
        .map(|i| {
            EVENT
                .replace(r#""auditID":"@ID@","#, "")
                .replace("TIME", "2024-03-01T00:00:01.000000Z")
                .replace("reader/v1.0", &format!("reader/v1.{}", i % 2))
                + "\n"
        })
        .collect();
    assert!(!lines.contains("auditID"));
    let a = write(dir.path(), "a.log", &lines);
    let r = ingest(&store, std::slice::from_ref(&a), &IngestOptions::default()).expect("ingest");
    // Lines 0 and 2, 1 and 3 are the same event.
    assert_eq!((r.events(), r.kept, r.duplicates), (4, 2, 2));
    let forced = IngestOptions { force: true, ..IngestOptions::default() };
    let r = ingest(&store, std::slice::from_ref(&a), &forced).expect("again");
    assert_eq!((r.events(), r.kept, r.duplicates), (4, 0, 4));
    assert_eq!(stored_events(&store), 2);
}

/// Nanoseconds since the epoch of an RFC 3339 time.
fn nanos(t: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(t).expect("time").timestamp_nanos_opt().expect("in range")
}

/// Three requests logged from 09:00 to 09:15: a watch received at 08:50 (before the log began)
/// with its two events, a list, and an event with a request-received time and no stage time.
fn watch_before_the_log() -> String {
    let at = |id: &str, stage: &str, verb: &str, received: &str, stage_time: Option<&str>| {
        let line = EVENT
            .replace("@ID@", id)
            .replace(r#""stage":"ResponseComplete""#, &format!(r#""stage":"{stage}""#))
            .replace(r#""verb":"list""#, &format!(r#""verb":"{verb}""#))
            .replacen("TIME", received, 1);
        match stage_time {
            Some(t) => line.replace("TIME", t),
            None => line.replace(r#","stageTimestamp":"TIME""#, ""),
        }
    };
    [
        at("w", "ResponseStarted", "watch", "2024-03-01T08:50:00Z", Some("2024-03-01T09:00:00Z")),
        at("l", "ResponseComplete", "list", "2024-03-01T09:05:00Z", Some("2024-03-01T09:05:01Z")),
        at("w", "ResponseComplete", "watch", "2024-03-01T08:50:00Z", Some("2024-03-01T09:15:00Z")),
        at("x", "ResponseComplete", "get", "2024-03-01T09:10:00Z", None),
    ]
    .join("\n")
        + "\n"
}

/// Review item 6: `stats` took its time range over `requestReceivedTimestamp` too, so a watch
/// opened before the log began pulled its start back (08:50 where the log begins at 09:00).
/// The event time (what `diagnose` windows on) and the request-received time are counted apart.
#[test]
fn stats_time_range_is_not_pulled_back_by_a_watch_received_before_the_log_began() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    let a = write(dir.path(), "a.log", &watch_before_the_log());
    ingest(&store, &[a], &IngestOptions::default()).expect("ingest");
    let s = Store::open(&store).expect("store");
    let t = s.manifest().totals();
    let (event, received) = s.time_ranges().expect("times");
    assert_eq!(
        (event.min, event.max),
        (Some(nanos("2024-03-01T09:00:00Z")), Some(nanos("2024-03-01T09:15:00Z")))
    );
    assert_eq!(
        (received.min, received.max),
        (Some(nanos("2024-03-01T08:50:00Z")), Some(nanos("2024-03-01T09:10:00Z")))
    );
    assert_eq!((t.event_time, t.received_time), (Some(event), Some(received)), "from the manifest, no scan");
}

/// Review item 6: an event with a `requestReceivedTimestamp` and no stage time counted as timed
/// in `stats` (147 on the real data) while `diagnose` has no `TimeGenerated` for it and leaves
/// it out (148).
#[test]
fn stats_counts_an_event_without_a_stage_time_as_diagnose_does_without_an_event_time() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    let a = write(dir.path(), "a.log", &watch_before_the_log());
    ingest(&store, &[a], &IngestOptions::default()).expect("ingest");
    let s = Store::open(&store).expect("store");
    let (event, received) = s.time_ranges().expect("times");
    assert_eq!((event.missing, received.missing), (1, 0));
    assert_eq!(s.manifest().totals().without_timestamps, 0, "the older count, neither time, kept as it was");
}

/// Review item 6: `stats`' verbs counted events, so a watch (`ResponseStarted` and
/// `ResponseComplete`) counted twice; requests per verb count it once.
#[test]
fn stats_requests_per_verb_count_a_watch_once_not_once_per_stage() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    let a = write(dir.path(), "a.log", &watch_before_the_log());
    ingest(&store, &[a], &IngestOptions::default()).expect("ingest");
    let m = Store::open(&store).expect("store").manifest().clone();
    let verbs = m.requests_per_verb().expect("files hold first stages or none");
    let want: std::collections::BTreeMap<String, u64> =
        [("get", 1), ("list", 1), ("watch", 1)].into_iter().map(|(v, n)| (v.to_owned(), n)).collect();
    assert_eq!(verbs, want);
    assert_eq!(m.totals().verbs.get("watch"), Some(&2), "events per verb, as before");
}

/// A store written before the event times were counted (its manifest without them) is read:
/// the times come from its files' time columns, the same as a new store's.
#[test]
fn a_store_written_before_event_times_were_counted_reads_them_from_its_files() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    let text = watch_before_the_log() + &mixed_events(30, "m", 600);
    let a = write(dir.path(), "a.log", &text);
    ingest(&store, &[a], &IngestOptions::default()).expect("ingest");
    let new = Store::open(&store).expect("store").time_ranges().expect("times");

    let path = store.join(audit::store::MANIFEST);
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    let files = manifest["files"].as_array_mut().expect("files");
    assert!(files.len() > 1);
    for f in files {
        let counts = f["counts"].as_object_mut().expect("counts");
        assert!(counts.remove("event_time").is_some() && counts.remove("received_time").is_some());
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).expect("json")).expect("write");

    let old = Store::open(&store).expect("an older manifest opens");
    let t = old.manifest().totals();
    assert_eq!((t.event_time, t.received_time), (None, None), "not counted in that manifest");
    assert_eq!(old.time_ranges().expect("times from the files"), new);
    assert_eq!(new.0.missing, 1);
}

/// A store whose files mix first-stage events with others (written before files were split by
/// class) has no per-request verb counts: `None`, and `stats` falls back to events per verb.
#[test]
fn requests_per_verb_are_unknown_when_a_file_mixes_first_stages_with_others() {
    let mut m = audit::store::Manifest::default();
    let mut counts = audit::store::Counts { events: 2, ..Default::default() };
    counts.stages.insert("ResponseStarted".into(), 1);
    counts.stages.insert("ResponseComplete".into(), 1);
    counts.verbs.insert("watch".into(), 2);
    m.files.push(audit::store::DataFile { path: "x".into(), hour: "none".into(), bytes: 0, counts });
    assert_eq!(m.requests_per_verb(), None);
}

/// Review of issue 2: the Panther test data reuses audit IDs (`abc-123`) across different
/// events without timestamps, and has events without an audit ID that differ only in their
/// source IPs or annotations: the key (audit ID and stage; or, without an ID, fields that left
/// those out) took them for duplicates and dropped them (31 of 188 EKS events, the AKS
/// anonymous `get` among them).
#[test]
fn distinct_events_sharing_an_id_without_times_or_differing_only_in_ips_are_all_kept() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    let no_times = |e: &str| {
        e.replace(r#","requestReceivedTimestamp":"TIME""#, "").replace(r#","stageTimestamp":"TIME""#, "")
    };
    let shared_id = no_times(&EVENT.replace("@ID@", "abc-123"));
    assert!(!shared_id.contains("Timestamp"), "{shared_id}");
    let lines = [
        shared_id.clone(),
        shared_id.replace(r#""verb":"list""#, r#""verb":"get""#),
        // QA, session 40: Panther's `test-pod` and `test-privileged-pod`, one ID, one verb, URI
        // and user, another object and client: dropped as a duplicate while the key left
        // the user agent and the object out.
        shared_id
            .replace(r#""namespace":"default","#, r#""namespace":"default","name":"test-pod","#)
            .replace("reader/v1.0", "kubectl/v1.28.0"),
        // Without an ID, these two differ only in their source IPs, the next only in an annotation.
        EVENT.replace(r#""auditID":"@ID@","#, "").replace("TIME", "2024-03-01T00:00:01.000000Z"),
        EVENT
            .replace(r#""auditID":"@ID@","#, "")
            .replace("TIME", "2024-03-01T00:00:01.000000Z")
            .replace("10.0.0.1", "10.9.9.9"),
        EVENT
            .replace(r#""auditID":"@ID@","#, "")
            .replace("TIME", "2024-03-01T00:00:01.000000Z")
            .replace(r#"/decision":"allow""#, r#"/decision":"forbid""#),
        // And a true duplicate of the first, which is still dropped.
        shared_id,
        // An event with an ID and times, stored in the same hour as those without an ID.
        EVENT.replace("@ID@", "with-id").replace("TIME", "2024-03-01T00:00:02.000000Z"),
    ];
    assert!(lines[2].contains("test-pod") && lines[5].contains("forbid"));
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let a = write(dir.path(), "a.log", &text);
    let r = ingest(&store, std::slice::from_ref(&a), &IngestOptions::default()).expect("ingest");
    assert_eq!((r.events(), r.kept, r.duplicates), (8, 7, 1));
    assert_eq!(stored_events(&store), 7);
    // A later run loads the stored rows' keys from the files (those of a file holding rows
    // without an ID from all their key columns, not from the ID's alone): the same events
    // again are all duplicates.
    let forced = IngestOptions { force: true, ..IngestOptions::default() };
    let r = ingest(&store, &[a], &forced).expect("again");
    assert_eq!((r.events(), r.kept, r.duplicates), (8, 0, 8));
}

// ---- "nothing lost": the writer never removes a file it did not write (ux review item 1) ----

#[test]
fn ingest_into_a_directory_that_is_not_a_store_refuses_and_deletes_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let proj = dir.path().join("proj");
    std::fs::create_dir_all(proj.join("data/customers")).expect("mkdir");
    std::fs::create_dir_all(proj.join("src")).expect("mkdir");
    std::fs::write(proj.join("data/customers/list.csv"), "precious").expect("write");
    std::fs::write(proj.join("data/notes.txt"), "precious").expect("write");
    std::fs::write(proj.join("src/main.rs"), "code").expect("write");
    let before = walk(&proj);
    let input = write(dir.path(), "a.log", &events(10, "a", 0));
    match ingest(&proj, &[input], &IngestOptions::default()) {
        Err(IngestError::Store(e @ StoreError::NotEmpty(_))) => {
            let text = e.to_string();
            assert!(text.contains("is not empty and is not an apiserver-doctor store"), "{text}");
            assert!(text.contains("choose an empty or new directory"), "{text}");
        }
        other => panic!("expected NotEmpty, got {:?}", other.map(|r| r.kept)),
    }
    assert_eq!(walk(&proj), before, "files were added or removed");
    assert!(!proj.join("lock").exists() && !proj.join("manifest.json").exists());
}

#[test]
fn ingest_into_a_store_without_its_manifest_refuses_and_keeps_its_data_files() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    let a = write(dir.path(), "a.log", &events(100, "a", 0));
    ingest(&store, &[a], &IngestOptions::default()).expect("ingest");
    std::fs::remove_file(store.join("manifest.json")).expect("lose the manifest");
    let before = walk(&store);
    let b = write(dir.path(), "b.log", &events(10, "b", 0));
    match ingest(&store, &[b], &IngestOptions::default()) {
        Err(IngestError::Store(e @ StoreError::ManifestMissing { data_files: 1, .. })) => {
            let text = e.to_string();
            assert!(
                text.contains("holds 1 data file (data/hour=*/part-*.parquet) but no manifest.json"),
                "{text}"
            );
            assert!(text.contains("refusing to write, since that would delete them"), "{text}");
        }
        other => panic!("expected ManifestMissing, got {:?}", other.map(|r| r.kept)),
    }
    assert_eq!(walk(&store), before, "the data files must stay");
}

#[test]
fn a_writer_removes_only_its_own_uncommitted_files_not_other_files_under_data() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    let a = write(dir.path(), "a.log", &events(10, "a", 0));
    ingest(&store, &[a], &IngestOptions::default()).expect("ingest");
    std::fs::create_dir_all(store.join("data/customers")).expect("mkdir");
    std::fs::write(store.join("data/customers/list.csv"), "precious").expect("write");
    std::fs::write(store.join("data/notes.txt"), "precious").expect("write");
    std::fs::write(store.join("data/hour=2024-03-01T00/README"), "precious").expect("write");
    std::fs::write(store.join("data/hour=2024-03-01T00/part-killed-00001.parquet"), "half").expect("orphan");
    drop(StoreWriter::open(&store, WriterOptions::default()).expect("open"));
    for kept in ["data/customers/list.csv", "data/notes.txt", "data/hour=2024-03-01T00/README"] {
        assert!(store.join(kept).exists(), "{kept} was removed");
    }
    assert!(!store.join("data/hour=2024-03-01T00/part-killed-00001.parquet").exists(), "an orphan stayed");
    assert_eq!(stored_events(&store), 10);
}

#[test]
fn a_new_store_may_be_made_in_an_empty_directory_or_where_a_killed_first_run_left_its_lock() {
    let dir = tempfile::tempdir().expect("tmp");
    let a = write(dir.path(), "a.log", &events(10, "a", 0));
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    ingest(&empty, std::slice::from_ref(&a), &IngestOptions::default()).expect("an empty directory");
    let killed = dir.path().join("killed");
    std::fs::create_dir_all(killed.join("data/hour=2024-03-01T00")).expect("mkdir");
    std::fs::write(killed.join("lock"), "").expect("lock");
    ingest(&killed, &[a], &IngestOptions::default()).expect("a store a killed first run began");
    assert_eq!(stored_events(&killed), 10);
}

// ---- a store named as input (ux review item 7), nothing to ingest (item 8) ----

#[test]
fn a_store_given_as_an_input_path_is_refused_with_a_hint_to_use_store() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("st");
    let a = write(dir.path(), "a.log", &events(10, "a", 0));
    ingest(&store, &[a], &IngestOptions::default()).expect("ingest");
    let other = dir.path().join("st2");
    match ingest(&other, std::slice::from_ref(&store), &IngestOptions::default()) {
        Err(IngestError::Read(e @ audit::read::ReadError::IsStore(_))) => {
            let text = e.to_string();
            assert!(text.contains("is an apiserver-doctor store"), "{text}");
            assert!(text.contains(&format!("diagnose --store {}", store.display())), "{text}");
        }
        other => panic!("expected IsStore, got {:?}", other.map(|r| r.kept)),
    }
    assert!(!other.exists(), "nothing may be written for a refused input");
    assert!(matches!(audit::read::find_inputs(&[store], &[]), Err(audit::read::ReadError::IsStore(_))));
}

#[test]
fn ingest_of_an_empty_directory_says_there_are_no_files_and_makes_no_store() {
    let dir = tempfile::tempdir().expect("tmp");
    let empty = dir.path().join("emptydir");
    std::fs::create_dir(&empty).expect("mkdir");
    let store = dir.path().join("s");
    match ingest(&store, std::slice::from_ref(&empty), &IngestOptions::default()) {
        Err(e @ IngestError::NoFiles { .. }) => {
            assert_eq!(e.to_string(), format!("no files under {}: nothing to ingest", empty.display()));
        }
        other => panic!("expected NoFiles, got {:?}", other.map(|r| r.kept)),
    }
    assert!(!store.exists());
}

// ---- a damaged store (ux review item 5) ----

/// Bad-input review s53, item 1: damage inside a data file whose size and footer are whole
/// passes the tail and footer checks; reading every page finds it and names the file.
#[test]
fn damage_inside_a_data_file_is_found_only_by_reading_its_pages() {
    use audit::store::FileCheck;
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    let a = write(dir.path(), "a.log", &events_every(30, "a", 0, 3600 / 10));
    ingest(&store, &[a], &IngestOptions::default()).expect("ingest");
    let s = Store::open(&store).expect("open");
    assert!(s.check_files(FileCheck::Pages).is_empty(), "a whole store reads whole");
    let file = s.data_files()[1].clone();
    let mut bytes = std::fs::read(&file).expect("read");
    let n = bytes.len();
    let footer = u32::from_le_bytes([bytes[n - 8], bytes[n - 7], bytes[n - 6], bytes[n - 5]]) as usize;
    for b in &mut bytes[4..4 + (n - 12 - footer) / 2] {
        *b ^= 0xff;
    }
    std::fs::write(&file, &bytes).expect("damage its pages");
    assert!(s.check_files(FileCheck::Footer).is_empty(), "the footer is whole");
    let damaged = s.check_files(FileCheck::Pages);
    assert_eq!(damaged.len(), 1, "{damaged:?}");
    assert_eq!(damaged[0].path, file);
    assert!(
        damaged[0].problem.starts_with("damaged: its data pages do not decode past row 0 ("),
        "{damaged:?}"
    );
}

#[test]
fn a_damaged_store_names_each_missing_or_corrupt_data_file_and_reading_it_is_not_called_writing() {
    use audit::store::FileCheck;
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    // Three hours: three data files.
    let a = write(dir.path(), "a.log", &events_every(30, "a", 0, 3600 / 10));
    ingest(&store, &[a], &IngestOptions::default()).expect("ingest");
    let s = Store::open(&store).expect("open");
    assert!(s.check_files(FileCheck::Footer).is_empty(), "a whole store");
    let files = s.data_files().to_vec();
    assert!(files.len() >= 3, "{files:?}");
    std::fs::remove_file(&files[0]).expect("delete one");
    let bytes = std::fs::read(&files[1]).expect("read");
    std::fs::write(&files[1], &bytes[..bytes.len() / 2]).expect("truncate one");
    // The footer's metadata overwritten, the size and the trailing magic kept.
    let mut bytes = std::fs::read(&files[2]).expect("read");
    let n = bytes.len();
    for b in &mut bytes[n - 40..n - 8] {
        *b = 0xff;
    }
    std::fs::write(&files[2], &bytes).expect("corrupt a footer");
    let damaged = s.check_files(FileCheck::Footer);
    let problems: Vec<(PathBuf, String)> =
        damaged.iter().map(|d| (d.path.clone(), d.problem.clone())).collect();
    assert_eq!(damaged.len(), 3, "{problems:?}");
    assert_eq!(damaged[0].path, files[0]);
    assert!(damaged[0].problem.starts_with("missing"), "{problems:?}");
    assert!(damaged[1].problem.contains("cut short"), "{problems:?}");
    assert!(damaged[2].problem.starts_with("not a valid Parquet file ("), "{problems:?}");
    assert!(!damaged[2].problem.contains("Parquet error: Parquet error"), "{problems:?}");
    assert_eq!(s.check_files(FileCheck::Tail).len(), 2, "the tail check sees the missing and the cut file");
    let text = s.verify(FileCheck::Footer).expect_err("damaged").to_string();
    assert!(
        text.starts_with(&format!(
            "store {} is damaged: 3 of its 3 data files cannot be read:",
            store.display()
        )),
        "{text}"
    );
    assert!(text.contains(&files[1].display().to_string()), "{text}");
    // Ingesting more into that hour reads the damaged file: a reading error, not "writing".
    let b = write(dir.path(), "b.log", &events(5, "b", 3600 + 7));
    let e = ingest(&store, &[b], &IngestOptions::default()).expect_err("damaged");
    let text = e.to_string();
    assert!(!text.contains("writing Parquet"), "{text}");
    assert!(
        text.contains("cannot read this data file of the store") || text.contains("No such file"),
        "{text}"
    );
}

#[test]
fn a_copied_store_grows_and_compacts_without_changing_the_original() {
    // `Store::copy_to` hard-links the data files: a writer of the copy must never change a file
    // the original lists (it writes new files and renames them in; compaction merges into new
    // files), and the copy's inputs, renamed by the edit, are skipped as unchanged.
    let dir = tempfile::tempdir().expect("tmp");
    let (original, copy) = (dir.path().join("s"), dir.path().join("copy"));
    let opts = IngestOptions {
        writer: WriterOptions { compact_min_files: 2, ..WriterOptions::default() },
        ..IngestOptions::default()
    };
    let first: Vec<PathBuf> = (0..2)
        .map(|run| write(dir.path(), &format!("run{run}.log"), &events(20, &format!("r{run}"), run * 20)))
        .collect();
    for p in &first {
        ingest(&original, std::slice::from_ref(p), &opts).expect("ingest");
    }
    let before = Store::open(&original).expect("store");
    let bytes = |s: &Store| -> Vec<Vec<u8>> {
        s.data_files().iter().map(|f| std::fs::read(f).expect("read")).collect()
    };
    let (files_before, manifest_before) =
        (bytes(&before), std::fs::read(original.join("manifest.json")).expect("manifest"));

    // The first input renamed in the copy (as a rotated log is).
    let renamed = dir.path().join("run0-rotated.log");
    std::fs::rename(&first[0], &renamed).expect("rename");
    before.copy_to(&copy, |m| m.inputs[0].file = renamed.display().to_string()).expect("copy");
    assert_eq!(stored_events(&copy), 40);
    let more = write(dir.path(), "run2.log", &events(20, "r2", 40));
    let r = ingest(&copy, &[renamed.clone(), first[1].clone(), more], &opts).expect("ingest into the copy");
    assert_eq!((r.unchanged.len(), r.kept), (2, 20), "{:?}", r.unchanged);
    assert_eq!(stored_events(&copy), 60);
    // Compacted: the one file the copy took over was merged into a new one with the new events.
    let relative = |s: &Store| -> Vec<PathBuf> {
        s.data_files().iter().map(|f| f.strip_prefix(s.dir()).expect("in the store").to_path_buf()).collect()
    };
    let copied = Store::open(&copy).expect("copy");
    assert_eq!((relative(&before).len(), relative(&copied).len()), (1, 1));
    assert_ne!(relative(&copied), relative(&before));
    let names: Vec<String> =
        Store::open(&copy).expect("copy").manifest().inputs.iter().map(|i| i.file.clone()).collect();
    assert!(names[0].ends_with("run0-rotated.log"), "{names:?}");

    // The original lists the same files, with the same bytes, and reads as before.
    let after = Store::open(&original).expect("store");
    assert_eq!(after.data_files(), before.data_files());
    assert_eq!(bytes(&after), files_before);
    assert_eq!(std::fs::read(original.join("manifest.json")).expect("manifest"), manifest_before);
    assert_eq!(stored_events(&original), 40);
}

/// Writes `bytes` at `offset` of the file at `path`, in place (the same inode).
fn overwrite(path: &Path, offset: u64, bytes: &[u8]) {
    use std::io::{Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new().write(true).open(path).expect("open");
    f.seek(SeekFrom::Start(offset)).expect("seek");
    f.write_all(bytes).expect("write");
}

#[test]
fn a_file_that_only_grew_is_told_from_one_changed_in_its_first_or_last_mib() {
    use audit::ingest::{grew_from, identify};
    let dir = tempfile::tempdir().expect("tmp");
    let text = events(6000, "g", 0);
    assert!(text.len() > 3 << 20, "{} bytes: more than 3 MiB, for head and tail apart", text.len());
    let fresh = |name: &str| write(dir.path(), name, &text);
    let append = |path: &Path| {
        let mut f = std::fs::OpenOptions::new().append(true).open(path).expect("open");
        std::io::Write::write_all(&mut f, events(3, "later", 9000).as_bytes()).expect("append");
    };
    let old_size = text.len() as u64;

    // Grown at its end: yes. The same again: not grown (not larger).
    let p = fresh("grown.log");
    let was = identify(&p);
    assert!(was.tail_hash.is_some());
    assert!(!grew_from(&was, &identify(&p), &p));
    append(&p);
    assert!(grew_from(&was, &identify(&p), &p));

    // Changed in its first MiB, or in the last MiB it had, then grown: no.
    for (name, offset) in [("head.log", 1000), ("tail.log", old_size - 1000)] {
        let p = fresh(name);
        let was = identify(&p);
        overwrite(&p, offset, b"X");
        append(&p);
        assert!(!grew_from(&was, &identify(&p), &p), "{name}");
    }

    // Cut shorter, or another file at the same path (rotated: a new inode), then longer: no.
    let p = fresh("cut.log");
    let was = identify(&p);
    std::fs::OpenOptions::new().write(true).open(&p).expect("open").set_len(old_size / 2).expect("cut");
    assert!(!grew_from(&was, &identify(&p), &p));
    let p = fresh("rotated.log");
    let was = identify(&p);
    std::fs::rename(&p, dir.path().join("rotated.log.1")).expect("rename");
    let p = fresh("rotated.log");
    append(&p);
    assert!(!grew_from(&was, &identify(&p), &p));

    // A manifest written before the tail hash was kept cannot tell a file over a MiB: no.
    let p = fresh("old-manifest.log");
    let was = audit::store::IngestedInput { tail_hash: None, ..identify(&p) };
    append(&p);
    assert!(!grew_from(&was, &identify(&p), &p));

    // A file of at most a MiB is compared whole: grown yes, changed anywhere no.
    let small = events(100, "s", 0);
    assert!(small.len() < 1 << 20);
    let p = write(dir.path(), "small.log", &small);
    let was = identify(&p);
    append(&p);
    assert!(grew_from(&was, &identify(&p), &p));
    overwrite(&p, small.len() as u64 / 2, b"X");
    assert!(!grew_from(&was, &identify(&p), &p));
}

/// `n` events in time order, `step_us` microseconds apart from `start_second` past
/// 2024-03-01T00:00Z (within one hour), IDs `prefix-i`.
fn events_in_order(n: usize, prefix: &str, start_second: usize, step_us: usize) -> String {
    (0..n)
        .map(|i| {
            let us = start_second * 1_000_000 + i * step_us;
            let s = us / 1_000_000;
            let t = format!("2024-03-01T00:{:02}:{:02}.{:06}Z", s / 60, s % 60, us % 1_000_000);
            EVENT.replace("@ID@", &format!("{prefix}-{i}")).replace("TIME", &t) + "\n"
        })
        .collect()
}

/// Batches of `file` as ingest reads it (the ingest's own read options).
fn read_batches(file: &Path) -> Vec<RecordBatch> {
    let mut out = Vec::new();
    let mut sink = |_: &str, b: RecordBatch| -> Result<(), audit::read::SinkError> {
        out.push(b);
        Ok(())
    };
    audit::read::read_paths(&[file.to_path_buf()], &IngestOptions::default().read, &mut sink)
        .expect("readable");
    out
}

/// Session 55 (docs/performance.md): rows in time order were held in memory, a whole file's
/// worth (380 MB of the 1.1 GB benchmark's RSS), until the file was full, and the reader then
/// wrote every batch into fresh memory. They now go to a file open at the encoder as they
/// come.
#[test]
fn an_in_order_input_was_held_in_memory_until_its_file_was_full() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    let input = write(dir.path(), "a.log", &events_in_order(15_000, "o", 60, 100_000));
    let batches = read_batches(&input);
    assert!(batches.len() > 1 && batches[0].num_rows() >= 4096, "full batches, as a large file gives");
    let mut w = StoreWriter::open(&store, WriterOptions::default()).expect("open");
    let mut read = 0;
    for b in &batches {
        read += b.get_array_memory_size();
        w.write(b).expect("write");
    }
    assert!(read > 1 << 20, "{read} bytes read");
    assert_eq!(w.buffered_memory(), 0, "rows in time order are not held");
    w.commit().expect("commit");
    let s = Store::open(&store).expect("store");
    assert_eq!(s.data_files().len(), 1, "{:?}", s.data_files());
    let seconds = stored_seconds(&s.data_files()[0]);
    assert_eq!(seconds.len(), 15_000);
    assert!(seconds.windows(2).all(|w| w[0] <= w[1]), "stored in time order");
    assert_eq!((seconds[0], seconds[14_999]), (60, 60 + 1499));
    assert_eq!(stored_events(&store), 15_000);
}

/// Rows from before an open file's latest (beyond the slack) end that file; they and the rows
/// after them are buffered and sorted into a file of their own, and nothing is lost.
#[test]
fn rows_behind_a_file_open_at_the_encoder_end_it_and_are_sorted_into_their_own() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    let late = write(dir.path(), "late.log", &events_in_order(6000, "late", 1800, 100_000));
    // Earlier than all of `late.log`, and written newest first.
    let early_text: String =
        events_in_order(6000, "early", 0, 100_000).lines().rev().map(|l| l.to_owned() + "\n").collect();
    let early = write(dir.path(), "early.log", &early_text);
    ingest(&store, &[late, early], &IngestOptions::default()).expect("ingest");
    let s = Store::open(&store).expect("store");
    assert_eq!(s.data_files().len(), 2, "{:?}", s.data_files());
    let mut firsts = Vec::new();
    for f in s.data_files() {
        let seconds = stored_seconds(f);
        assert_eq!(seconds.len(), 6000, "{}", f.display());
        assert!(seconds.windows(2).all(|w| w[0] <= w[1]), "{}: not in time order", f.display());
        firsts.push(seconds[0]);
    }
    firsts.sort_unstable();
    assert_eq!(firsts, [0, 1800]);
    assert_eq!(stored_events(&store), 12_000);
}

/// A strict refusal after rows went to a file open at the encoder: that file's temporary file
/// goes with the run, and the store is as it was.
#[test]
fn a_strict_refusal_leaves_no_file_that_was_open_at_the_encoder() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    let good = write(dir.path(), "good.log", &events(10, "g", 0));
    ingest(&store, &[good], &IngestOptions::default()).expect("ingest");
    let before = Store::open(&store).expect("store").manifest().clone();
    let on_disk_before = walk(&store.join("data"));
    let bad =
        write(dir.path(), "bad.log", &(events_in_order(20_000, "b", 300, 10_000) + "{\"kind\":\"Event\",\n"));
    let strict = IngestOptions {
        read: ReadOptions { strict: true, ..ReadOptions::default() },
        ..IngestOptions::default()
    };
    // Full batches (4 MiB chunks of 12 MB), the first two written before the bad record.
    assert!(read_batches(&bad).first().is_some_and(|b| b.num_rows() >= 4096));
    match ingest(&store, &[bad], &strict) {
        Err(IngestError::Strict { .. }) => {}
        other => panic!("expected a strict refusal, got {other:?}"),
    }
    assert_eq!(Store::open(&store).expect("store").manifest(), &before);
    assert_eq!(walk(&store.join("data")), on_disk_before, "no file of the refused run is left");
}
