//! JSON documents and arrays cut into records by a scan and read in parallel
//! (`crates/audit/src/read/lists.rs`): a pretty-printed `EventList`, an Event Hub message's
//! `records`, the output of `aws logs filter-log-events`, a subscription payload. They read to
//! the same rows as the same objects one per line, a damaged record costs only itself, and
//! what the scan does not read goes to the `serde_json` streamer in its place.

mod demo;
mod reading;

use arrow::array::AsArray;
use audit::read::{Container, ReadOptions};
use audit::{InputFormat, col};
use demo::{audit_id, audit_ids, demo_events};
use reading::{messages, read, read_with};
use serde_json::{Value, json};

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).expect("json")
}

/// Each document, pretty-printed, reads to the rows its one-line form reads to (the line path,
/// a reference of its own), whatever the chunk size, with and without the borrowed paths.
#[test]
fn lists_of_pretty_documents_read_in_parallel_as_their_lines_read() {
    let events = demo_events();
    let messages_of =
        |events: &[Value]| -> Vec<Value> { events.iter().map(|e| json!(e.to_string())).collect() };
    let documents = [
        json!({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "metadata": {}, "items": events}),
        json!({"records": events.iter().map(|e| json!({
            "time": e["stageTimestamp"],
            "resourceId": "/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/C",
            "category": "kube-audit",
            "operationName": "Microsoft.ContainerService/managedClusters/diagnosticLogs/Read",
            "properties": {"log": e.to_string(), "stream": "stdout", "pod": "kube-apiserver-1"},
        })).collect::<Vec<_>>()}),
        // `aws logs filter-log-events --output json`.
        json!({
            "events": messages_of(&events).into_iter().enumerate().map(|(i, m)| json!({
                "logStreamName": "kube-apiserver-audit-0c1b3f9e",
                "timestamp": 1_505_159_705_000u64 + i as u64,
                "message": m,
                "ingestionTime": 1_505_159_706_000u64 + i as u64,
                "eventId": format!("{i:056}"),
            })).collect::<Vec<_>>(),
            "searchedLogStreams": [{"logStreamName": "kube-apiserver-audit-0c1b3f9e", "searchedCompletely": true}],
            "nextToken": "Bxkq6kVGFtq2y_MoigeqscPOdhXVbhiVtLoAmXb5jCrI7fXaa",
        }),
        // A subscription payload, as a Lambda logs it.
        json!({
            "messageType": "DATA_MESSAGE",
            "owner": "123456789012",
            "logGroup": "/aws/eks/prod/cluster",
            "logStream": "kube-apiserver-audit-0c1b3f9e",
            "subscriptionFilters": ["to-lambda"],
            "logEvents": messages_of(&events).into_iter().enumerate().map(|(i, m)| json!({
                "id": format!("{i:056}"), "timestamp": 1_505_159_705_000u64 + i as u64, "message": m,
            })).collect::<Vec<_>>(),
        }),
    ];
    for document in &documents {
        let line = format!("{document}\n");
        let (line_f, line_rows) = read("one.log", line.as_bytes());
        assert_eq!(line_f.container, Some(Container::JsonLines));
        assert_eq!((line_f.events, line_f.skipped), (events.len() as u64, 0), "{:?}", messages(&line_f));
        // Two documents, so the second's items are numbered after the first's.
        let text = format!("{}\n{}\n", pretty(document), pretty(document));
        for chunk_bytes in [64, 1000, 4 << 20] {
            for simd in [true, false] {
                let opts = ReadOptions { chunk_bytes, simd, ..ReadOptions::default() };
                let (f, rows) = read_with("pretty.json", text.as_bytes(), &opts);
                assert_eq!(f.container, Some(Container::JsonDocument));
                assert_eq!((f.events, f.skipped), (2 * events.len() as u64, 0), "{:?}", messages(&f));
                assert_eq!(f.formats, line_f.formats.iter().map(|(k, v)| (*k, 2 * v)).collect());
                let half = rows.slice(0, events.len());
                assert_eq!(half, line_rows, "chunks of {chunk_bytes} bytes, simd {simd}");
                assert_eq!(rows.slice(events.len(), events.len()), line_rows);
            }
        }
    }
}

/// An `EventList`'s `apiVersion` is that of its items that carry none, also when the items
/// are cut into chunks far from it.
#[test]
fn an_event_lists_api_version_reaches_every_item_that_has_none() {
    let mut events = demo_events();
    for e in &mut events {
        e.as_object_mut().expect("an object").remove("apiVersion");
    }
    let list = json!({"kind": "EventList", "apiVersion": "audit.k8s.io/v1beta1", "items": events});
    let opts = ReadOptions { chunk_bytes: 64, ..ReadOptions::default() };
    let (f, rows) = read_with("list.json", pretty(&list).as_bytes(), &opts);
    assert_eq!((f.events, f.skipped), (events.len() as u64, 0), "{:?}", messages(&f));
    let versions = rows.column_by_name(col::EVENT_API_VERSION).expect("api version");
    let versions: Vec<Option<&str>> = versions.as_string::<i32>().iter().collect();
    assert_eq!(versions, vec![Some("audit.k8s.io/v1beta1"); events.len()]);
    assert_eq!(f.formats.keys().copied().collect::<Vec<_>>(), [InputFormat::EventList]);
}

/// A damaged item is named by its number and skipped, the items after it read; damage beside
/// the list is named by the document's line once its items were read.
#[test]
fn a_damaged_item_costs_only_itself_and_damage_beside_the_list_is_named() {
    let events = demo_events();
    let e = |i: usize| pretty(&events[i]);
    let text = format!(
        "{{\n  \"kind\": \"EventList\",\n  \"apiVersion\": \"audit.k8s.io/v1\",\n  \"items\": [\n{},\n{{\"kind\": \"Event\", \"verb\": }},\n{},\n\"text\",\n,\n{}\n  ],\n  \"metadata\": {{\"continue\": }}\n}}\n{}\n",
        e(0),
        e(1),
        e(2),
        e(3)
    );
    for chunk_bytes in [64, 4 << 20] {
        let opts = ReadOptions { chunk_bytes, ..ReadOptions::default() };
        let (f, rows) = read_with("damaged.json", text.as_bytes(), &opts);
        assert_eq!(f.container, Some(Container::JsonDocument));
        assert_eq!(
            audit_ids(&rows),
            [audit_id(&events[0]), audit_id(&events[1]), audit_id(&events[2]), audit_id(&events[3])]
        );
        assert_eq!(
            messages(&f),
            [
                "record 2 invalid JSON: expected value at column 27",
                "record 4 expected an audit Event object, found a string",
                "record 5 invalid JSON: an empty array element",
                "line 1 invalid JSON in this document beside its lists (what they hold was read): expected value",
            ],
        );
    }
}

/// What the scan does not read (a search response's `hits`, a scalar, a key it cannot compare
/// unescaped, members before a list that are not JSON) goes to the `serde_json` streamer from
/// that document on, with the records and lines before it counted.
#[test]
fn what_the_scan_does_not_read_is_streamed_in_its_place() {
    let events = demo_events();
    let e = |i: usize| events[i].to_string();
    let search = json!({"took": 1, "hits": {"total": 1, "hits": [{"_source": events[2]}]}});
    let text = format!(
        "[{}, {}]\n{}\n\"a string\"\n{{\"item\\u0073\": [{}]}}\n{}\n{{\"kind\": \"EventList\",\n \"items\": [{}, {{\"verb\":\n",
        e(0),
        e(1),
        pretty(&search),
        e(3),
        pretty(&events[4]),
        e(5),
    );
    let (f, rows) = read("mixed.json", text.as_bytes());
    assert_eq!(f.container, Some(Container::JsonArray));
    assert_eq!(audit_ids(&rows), (0..6).map(|i| audit_id(&events[i])).collect::<Vec<_>>());
    let last_line = text.lines().count();
    assert_eq!(
        messages(&f),
        [
            "record 4 expected a JSON object or array, found a string".to_owned(),
            format!(
                "line {} truncated JSON, rest of file skipped: EOF while parsing a value at line {} column 0",
                last_line + 1,
                last_line + 1
            ),
        ],
    );
    // Members before the list that are not JSON: the streamer names them.
    let broken = format!(
        "{}\n{{\n\"kind\": \"EventList\",\n\"metadata\": {{\"x\": }},\n\"items\": [\n{}\n]}}\n",
        pretty(&events[0]),
        e(1)
    );
    let (f, rows) = read("broken.json", broken.as_bytes());
    assert_eq!(audit_ids(&rows), [audit_id(&events[0])]);
    let line = pretty(&events[0]).lines().count() + 3;
    let want =
        format!("line {line} invalid JSON, rest of file skipped: expected value at line {line} column 19");
    assert_eq!(messages(&f), [want]);
}

/// A file cut short is named where it was cut: inside an item (skipped), between items, or
/// after the list, the items read kept. Cut where no item was (review: only an item it cut is
/// a skip), it is read only in part, nothing skipped.
#[test]
fn a_file_cut_short_is_named_and_what_was_read_kept() {
    let events = demo_events();
    let e = |i: usize| events[i].to_string();
    for (text, kept, skipped, message) in [
        (
            format!("{{\"items\": [\n{},\n{}", e(0), &e(1)[..100]),
            1,
            1,
            "record 2 truncated JSON: the file ends inside array element 2, which is skipped",
        ),
        (
            format!("{{\"items\": [\n{},\n", e(0)),
            1,
            0,
            "line 1 truncated JSON: the file ends inside the document of line 1, after record 1: every record \
             in it was read",
        ),
        (
            format!("\n\n{{\"items\": [\n{},\n{}]", e(0), e(1)),
            2,
            0,
            "line 3 truncated JSON: the file ends inside the document of line 3, after record 2: every record \
             in it was read",
        ),
        (
            format!("[\n{},\n", e(0)),
            1,
            0,
            "record 2 truncated JSON: the file ends inside its array, after record 1 (the closing `]` is \
             missing): every record in it was read",
        ),
    ] {
        let (f, rows) = read("cut.json", text.as_bytes());
        assert_eq!(rows.num_rows(), kept, "{text:.40} {:?} {:?}", f.container, messages(&f));
        assert_eq!(f.skipped, skipped, "{text:.40} {:?}", messages(&f));
        let said: Vec<String> = messages(&f)
            .into_iter()
            .chain(f.incomplete.iter().map(|r| format!("{} {}", r.location, r.message)))
            .collect();
        assert_eq!(said, [message]);
    }
}

/// An item longer than a record may be is skipped by its number and the rest read; a document
/// that holds no list and is longer than that is read whole by the streamer, as before.
#[test]
fn an_item_too_long_is_skipped_and_a_long_document_without_a_list_read_whole() {
    let events = demo_events();
    let mut long = events[1].clone();
    long["annotations"] = json!({"pad": "x".repeat(5000)});
    let list = json!({"items": [events[0], long, events[2]]});
    let opts = ReadOptions { max_line_bytes: 4000, chunk_bytes: 1000, ..ReadOptions::default() };
    let (f, rows) = read_with("long.json", pretty(&list).as_bytes(), &opts);
    assert_eq!(audit_ids(&rows), [audit_id(&events[0]), audit_id(&events[2])]);
    assert_eq!(messages(&f), ["record 2 array element longer than 4000 bytes, skipped"]);
    let text = format!("{}\n{}\n", pretty(&long), pretty(&events[0]));
    let (f, rows) = read_with("one.json", text.as_bytes(), &opts);
    assert_eq!(audit_ids(&rows), [audit_id(&events[1]), audit_id(&events[0])]);
    assert_eq!(f.skipped, 0, "{:?}", messages(&f));
}

/// Regression (found by mutating documents, session 36): a byte that is not UTF-8, a lone
/// surrogate escape or a number out of range in a key the borrowed reading skips (a diagnostic
/// record's `operationName`, a log event's `ingestionTime`) was taken there, and the same
/// record refused as a `serde_json::Value`. Both read it alike now, on a line and in a list.
#[test]
fn damage_in_a_key_read_no_further_is_judged_alike_with_and_without_the_borrowed_paths() {
    let event = demo_events()[0].to_string();
    let record = |op: &[u8]| -> Vec<u8> {
        let mut r = br#"{"category": "kube-audit", "operationName": ""#.to_vec();
        r.extend_from_slice(op);
        r.extend_from_slice(br#"", "properties": {"log": "#);
        r.extend_from_slice(serde_json::to_string(&event).expect("json").as_bytes());
        r.extend_from_slice(b"}}");
        r
    };
    let log_event = |ingestion: &[u8]| -> Vec<u8> {
        let mut r = br#"{"logStreamName": "s", "timestamp": 1, "ingestionTime": "#.to_vec();
        r.extend_from_slice(ingestion);
        r.extend_from_slice(br#", "message": "#);
        r.extend_from_slice(serde_json::to_string(&event).expect("json").as_bytes());
        r.extend_from_slice(b"}");
        r
    };
    // After 100 good ones, past what detection peeks at (which refuses a file whose first
    // bytes are not UTF-8).
    let good = |item: Vec<u8>| vec![item; 100];
    let records =
        [good(record(b"Read")), vec![record(b"Re\xffad"), record(br"Re\ud800ad"), record(b"Read")]].concat();
    let log_events =
        [good(log_event(b"2")), vec![log_event(b"1e400"), log_event(br#"{"x": "\udc00"}"#), log_event(b"2")]]
            .concat();
    let list = |key: &str, items: &[Vec<u8>], sep: &[u8]| -> Vec<u8> {
        let mut out = format!("{{{sep}\"{key}\": [{sep}", sep = String::from_utf8_lossy(sep)).into_bytes();
        out.extend_from_slice(&items.join(&b","[..]));
        out.extend_from_slice(b"]}\n");
        out
    };
    for (key, items) in [("records", &records), ("events", &log_events)] {
        // On one line (the borrowed line paths) and pretty (the list's scan).
        for text in [list(key, items, b""), list(key, items, b"\n")] {
            let simd = read("damaged.json", &text);
            let serde =
                read_with("damaged.json", &text, &ReadOptions { simd: false, ..ReadOptions::default() });
            assert_eq!(simd.0, serde.0, "{key}");
            assert_eq!(simd.1, serde.1, "{key}");
        }
        let (f, rows) = read("damaged.json", &list(key, items, b"\n"));
        assert_eq!((f.events, f.skipped, rows.num_rows()), (101, 2, 101), "{key}: {:?}", messages(&f));
    }
}

/// Review: JSON files that each start with a byte order mark, joined with `cat`, lost every
/// record after the first file ("invalid JSON, rest of file skipped: expected value"): the
/// mark was dropped only at byte 0. One before a document or array is read past, by the scan
/// and by the `serde_json` streamer (which reads documents with no list longer than a record).
#[test]
fn byte_order_marks_of_joined_json_files_are_read_past() {
    let events = demo_events();
    let ids: Vec<String> = events.iter().map(audit_id).collect();
    let bom = "\u{feff}";
    let docs: String = events.iter().map(|e| format!("{bom}{}\n", pretty(e))).collect();
    let arrays: String = events.chunks(3).map(|c| format!("{bom}{}\n", pretty(&json!(c)))).collect();
    let lists: String = events
        .chunks(3)
        .map(|c| format!("{bom}{}", pretty(&json!({"kind": "EventList", "items": c}))))
        .collect();
    let streamed = ReadOptions { max_line_bytes: 400, ..ReadOptions::default() };
    for (name, text, opts) in [
        ("docs.json", &docs, ReadOptions::default()),
        ("arrays.json", &arrays, ReadOptions::default()),
        ("lists.json", &lists, ReadOptions::default()),
        ("streamed.json", &docs, streamed),
    ] {
        assert!(pretty(&events[0]).len() > 400, "the streamer reads each document of streamed.json");
        let (f, rows) = read_with(name, text.as_bytes(), &opts);
        assert_eq!((f.skipped, f.incomplete.clone()), (0, None), "{name}: {:?}", messages(&f));
        assert_eq!(audit_ids(&rows), ids, "{name}");
    }
}

/// Review: a JSON array missing only its closing `]` dropped its last element, whole, as cut
/// ("the file ends inside array element N, which is skipped"). A whole last element is read;
/// a skip is counted only for an element the end cut, and the file is named as read only in
/// part (cut short where its brackets would close), with `strict` too.
#[test]
fn an_array_missing_only_its_closing_bracket_keeps_its_last_element() {
    let events = demo_events();
    let ids: Vec<String> = events[..3].iter().map(audit_id).collect();
    let three = events[..3].iter().map(Value::to_string).collect::<Vec<_>>();
    let array = |sep: &str| format!("[{}", three.join(sep));
    for (name, text, what) in [
        ("line.json", array(","), "its array"),
        ("lines.json", format!("{}\n", array(",\n")), "its array"),
        ("comma.json", format!("{},\n", array(",\n")), "its array"),
        (
            "list.json",
            format!("{{\"kind\":\"EventList\",\"items\":[\n{}\n", three.join(",\n")),
            "the document of line 1",
        ),
    ] {
        let (f, rows) = read(name, text.as_bytes());
        assert_eq!(audit_ids(&rows), ids, "{name}: {:?}", messages(&f));
        assert_eq!(f.skipped, 0, "{name}: {:?}", messages(&f));
        let cut = f.incomplete.as_ref().map(|r| r.message.as_str());
        assert_eq!(
            cut,
            Some(format!(
                "truncated JSON: the file ends inside {what}, after record 3{}",
                match what {
                    "its array" => " (the closing `]` is missing): every record in it was read",
                    _ => ": every record in it was read",
                }
            ))
            .as_deref(),
            "{name}"
        );
        let strict = ReadOptions { strict: true, ..ReadOptions::default() };
        let mut sink =
            |_: &str, _: arrow::array::RecordBatch| -> Result<(), audit::read::SinkError> { Ok(()) };
        assert!(audit::read::read_bytes(name, text.as_bytes(), &strict, &mut sink).is_err(), "{name}");
    }
    // An element the end cut is still skipped, and counted.
    let cut = format!("[{},{}", three[0], &three[1][..80]);
    let (f, rows) = read("cut.json", cut.as_bytes());
    assert_eq!((rows.num_rows(), f.skipped, f.incomplete.clone()), (1, 1, None));
    assert_eq!(
        messages(&f),
        ["record 2 truncated JSON: the file ends inside array element 2, which is skipped"]
    );
    // A whole array is no cut.
    let (f, rows) = read("whole.json", format!("{}]\n", array(",")).as_bytes());
    assert_eq!((rows.num_rows(), f.skipped, f.incomplete), (3, 0, None));
}
