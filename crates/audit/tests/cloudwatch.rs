//! Amazon CloudWatch Logs (EKS): the audit events of audit2rbac's demo log (real events) handed
//! out the ways CloudWatch hands them out, built here by hand from AWS's documented shapes
//! (the round trip in `round_trip.rs` covers what `audit::write` writes).

mod reading;

use std::io::Write;

use arrow::array::{AsArray, RecordBatch};
use audit::read::Container;
use audit::read::ReadOptions;
use audit::{InputFormat, col};
use reading::{demo_lines, messages, read, read_with};
use serde_json::{Value, json};

/// The demo log's lines and their audit IDs.
fn real_lines() -> (Vec<String>, Vec<String>) {
    let lines = demo_lines();
    let ids = lines
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("a JSON event");
            v["auditID"].as_str().expect("an audit ID").to_owned()
        })
        .collect();
    (lines, ids)
}

/// The audit IDs of the rows, sorted, and the formats seen.
fn ids_of(batch: &RecordBatch) -> Vec<String> {
    let ids = batch.column_by_name(col::AUDIT_ID).expect("audit id");
    let mut out: Vec<String> =
        ids.as_string::<i32>().iter().map(|v| v.unwrap_or_default().to_owned()).collect();
    out.sort();
    out
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// A subscription payload (what a subscription filter sends to Firehose, Kinesis or Lambda).
fn payload(lines: &[String], first_id: usize) -> Value {
    json!({
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": "/aws/eks/prod/cluster",
        "logStream": "kube-apiserver-audit-0c1b3f9e8d7a6b5c4d3e2f1a0b9c8d7e",
        "subscriptionFilters": ["to-firehose"],
        "logEvents": lines.iter().enumerate().map(|(i, l)| json!({
            "id": format!("{:056}", first_id + i),
            "timestamp": 1_505_159_705_000u64 + i as u64,
            "message": l,
        })).collect::<Vec<_>>(),
    })
}

#[test]
fn firehose_objects_with_no_newline_each_in_its_own_gzip_member_read_every_event() {
    let (lines, ids) = real_lines();
    // Firehose compresses each record it receives and writes them one after another: gzip
    // members, each a payload with no newline after it.
    let mut bytes = Vec::new();
    for (n, part) in lines.chunks(10).enumerate() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(payload(part, n * 10).to_string().as_bytes()).expect("gzip");
        bytes.extend(gz.finish().expect("gzip"));
    }
    let (f, batch) = read("firehose.gz", &bytes);
    assert_eq!(f.skipped, 0, "{:?}", messages(&f));
    assert_eq!(f.container, Some(Container::JsonSequence));
    assert_eq!(f.formats.keys().copied().collect::<Vec<_>>(), [InputFormat::CloudWatch]);
    assert_eq!(ids_of(&batch), sorted(ids.clone()));
    // The same payloads one per line (Firehose told to add a newline) read the same.
    let lined: String =
        lines.chunks(10).enumerate().map(|(n, p)| format!("{}\n", payload(p, n * 10))).collect();
    let (f, batch) = read("firehose.log", lined.as_bytes());
    assert_eq!((f.skipped, f.container), (0, Some(Container::JsonLines)));
    assert_eq!(ids_of(&batch), sorted(ids));
}

#[test]
fn filter_log_events_and_logs_insights_output_read_every_event() {
    let (lines, ids) = real_lines();
    // `aws logs filter-log-events --log-group-name /aws/eks/prod/cluster` (pretty-printed).
    let events = json!({
        "events": lines.iter().enumerate().map(|(i, l)| json!({
            "logStreamName": "kube-apiserver-audit-0c1b3f9e8d7a6b5c4d3e2f1a0b9c8d7e",
            "timestamp": 1_505_159_705_000u64 + i as u64,
            "message": l,
            "ingestionTime": 1_505_159_706_000u64 + i as u64,
            "eventId": format!("{:056}", i),
        })).collect::<Vec<_>>(),
        "searchedLogStreams": [],
    });
    let text = serde_json::to_string_pretty(&events).expect("json");
    let (f, batch) = read("filter-log-events.json", text.as_bytes());
    assert_eq!(f.skipped, 0, "{:?}", messages(&f));
    assert_eq!(f.formats.keys().copied().collect::<Vec<_>>(), [InputFormat::CloudWatch]);
    assert_eq!(ids_of(&batch), sorted(ids.clone()));
    // `aws logs get-query-results` of a Logs Insights query: rows of field/value pairs.
    let results = json!({
        "results": lines.iter().map(|l| json!([
            {"field": "@timestamp", "value": "2017-09-11 19:55:05.000"},
            {"field": "@message", "value": l},
            {"field": "@ptr", "value": "CmAKJwojMTIzNDU2Nzg5MDEy"},
        ])).collect::<Vec<_>>(),
        "statistics": {"recordsMatched": lines.len() as f64, "recordsScanned": 100.0, "bytesScanned": 1000.0},
        "status": "Complete",
    });
    let (f, batch) = read("query-results.json", results.to_string().as_bytes());
    assert_eq!(f.skipped, 0, "{:?}", messages(&f));
    assert_eq!(ids_of(&batch), sorted(ids.clone()));
    // The Logs Insights console's JSON download: an array of rows keyed by field.
    let rows: Vec<Value> =
        lines.iter().map(|l| json!({"@timestamp": "2017-09-11 19:55:05.000", "@message": l})).collect();
    let (f, batch) = read("insights.json", Value::Array(rows).to_string().as_bytes());
    assert_eq!(f.skipped, 0, "{:?}", messages(&f));
    assert_eq!(f.formats.keys().copied().collect::<Vec<_>>(), [InputFormat::CloudWatch]);
    assert_eq!(ids_of(&batch), sorted(ids));
}

#[test]
fn cloudwatch_log_events_that_are_not_audit_events_are_named_and_skipped() {
    let (lines, _) = real_lines();
    let good = json!({"timestamp": 1, "message": lines[0], "id": "2"});
    let text = [
        // EKS writes the API server's own log to the same log group, as text.
        json!({"timestamp": 1, "message": "I0311 09:00:01.156 1 handler.go:143] GET /healthz", "logStreamName": "kube-apiserver-6d1c"}),
        json!({"timestamp": 1, "message": "CWL CONTROL MESSAGE: Checking health of destination Firehose.", "id": "1"}),
        good,
        json!({"timestamp": 1, "message": "{\"kind\":\"Event\",\"verb\":\"get\",\"stageTimestamp\":\"yesterday\"}", "id": "3"}),
        json!({"timestamp": 1, "message": 42, "id": "4"}),
        json!({"timestamp": 1, "message": "{\"kind\":\"Event\",\"verb\":", "id": "5"}),
    ]
    .iter()
    .map(|v| format!("{v}\n"))
    .collect::<String>();
    let (f, batch) = read("mixed.log", text.as_bytes());
    assert_eq!((batch.num_rows(), f.skipped), (1, 5));
    assert_eq!(
        messages(&f),
        [
            "line 1 a CloudWatch log event whose `message` is text, not an audit event (log stream \
             kube-apiserver-6d1c): I0311 09:00:01.156 1 handler.go:143] GET /healthz",
            "line 2 a CloudWatch Logs control message, not an audit event: CWL CONTROL MESSAGE: Checking health of \
             destination Firehose.",
            "line 4 field `stageTimestamp`: unreadable timestamp \"yesterday\"",
            "line 5 `message` is a number, expected the audit event as JSON text",
            "line 6 field `message`: not JSON (cut short?): EOF while parsing a value at column 23 of its text",
        ]
    );
    // A Logs Insights row without the message: the query must return it.
    let results = json!({"results": [[{"field": "@timestamp", "value": "2017-09-11 19:55:05.000"}]], "status": "Complete"});
    let (f, _) = read("no-message.json", results.to_string().as_bytes());
    assert_eq!(f.skipped, 1);
    assert!(messages(&f)[0].contains("without `@message`"), "{:?}", messages(&f));
}

#[test]
fn cloudwatch_export_to_s3_lines_with_a_timestamp_before_the_event_are_read() {
    let (lines, ids) = real_lines();
    // CloudWatch's export to S3 writes each log event as its time, a space and its message;
    // exported without a stream prefix, the log group's other logs come as text.
    let mut text = String::from(
        "2017-09-11T19:55:04.998Z I0911 19:55:04.998 1 handler.go:153] GET /healthz: (72µs) 200\n",
    );
    for (i, l) in lines.iter().enumerate() {
        text.push_str(&format!("2017-09-11T19:55:{:02}.{:03}Z {l}\n", 5 + i / 1000, i % 1000));
    }
    // An event cut short: its column is counted from the JSON, and the message says so.
    text.push_str("2017-09-11T19:56:00.000Z {\"kind\":\"Event\",\"verb\n");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(text.as_bytes()).expect("gzip");
    let (f, batch) = read("000000.gz", &gz.finish().expect("gzip"));
    assert_eq!(f.container, Some(Container::JsonLines));
    assert_eq!(ids_of(&batch), sorted(ids));
    assert_eq!(
        messages(&f),
        [
            "line 1 a timestamped log line of text, not an audit event: I0911 19:55:04.998 1 handler.go:153] GET \
             /healthz: (72µs) 200"
                .to_owned(),
            format!(
                "line {} invalid JSON: EOF while parsing a string at column 21 (after the 25-character timestamp)",
                lines.len() + 2
            ),
        ]
    );
    // A line that only starts with digits is not taken for a timestamp.
    let (f, _) = read("digits.log", b"12345 {\"kind\":\"Event\"}\n");
    assert_eq!(f.events, 0);
}

#[test]
fn a_lambdas_cloudwatch_event_is_decoded_and_its_payload_read() {
    use base64::Engine as _;
    let (lines, ids) = real_lines();
    let encode = |payload: &Value| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(payload.to_string().as_bytes()).expect("gzip");
        base64::engine::general_purpose::STANDARD.encode(gz.finish().expect("gzip"))
    };
    // What a Lambda subscribed to the log group receives, one event per line.
    let text: String = lines
        .chunks(10)
        .enumerate()
        .map(|(n, part)| format!("{}\n", json!({"awslogs": {"data": encode(&payload(part, n * 10))}})))
        .chain([
            format!("{}\n", json!({"awslogs": {"data": "not base64!"}})),
            format!(
                "{}\n",
                json!({"awslogs": {"data": base64::engine::general_purpose::STANDARD.encode("plain")}})
            ),
            format!("{}\n", json!({"awslogs": {}})),
        ])
        .collect();
    let (f, batch) = read("lambda.jsonl", text.as_bytes());
    assert_eq!(ids_of(&batch), sorted(ids));
    assert_eq!(f.formats.keys().copied().collect::<Vec<_>>(), [InputFormat::CloudWatch]);
    let skipped = messages(&f);
    assert_eq!(skipped.len(), 3, "{skipped:?}");
    assert!(skipped[0].starts_with("line 5 `awslogs.data` is not base64: "), "{skipped:?}");
    assert!(skipped[1].starts_with("line 6 `awslogs.data` is not gzip: "), "{skipped:?}");
    assert_eq!(skipped[2], "line 7 `awslogs` without `data`");
}

/// A subscription payload is read borrowed; every shape that could read otherwise goes the
/// serde way. Both give the same rows and skips, on the real events and on each odd payload.
#[test]
fn subscription_payloads_read_borrowed_as_through_serde() {
    let (lines, ids) = real_lines();
    let event = |message: Value| json!({"id": "1", "timestamp": 1_505_159_705_000u64, "message": message});
    let with = |mut p: Value, key: &str, v: Value| {
        p[key] = v;
        p
    };
    let good = payload(&lines, 0);
    let payloads = [
        // Good: the real events; text, control and cut messages among good ones.
        good.clone(),
        with(
            payload(&lines[..2], 0),
            "logEvents",
            json!([
                event(json!("CWL CONTROL MESSAGE: Checking health of destination Firehose.")),
                event(json!(lines[3])),
                event(json!("I0311 09:00:01.156 1 handler.go:143] GET /healthz")),
                event(json!("{\"kind\":\"Event\",\"verb\":")),
                event(json!("")),
            ]),
        ),
        // Odd: the serde path reads these.
        with(payload(&lines[..2], 0), "logEvents", json!([event(json!({"kind": "Event", "verb": "get"}))])),
        with(payload(&lines[..2], 0), "logEvents", json!([{"id": "1", "@message": lines[4]}])),
        with(payload(&lines[..2], 0), "logEvents", json!([{"logStreamName": "s", "message": "text"}])),
        with(payload(&lines[..2], 0), "logEvents", json!([{"id": "1", "timestamp": 1}, "text", 7])),
        with(payload(&lines[..2], 0), "logEvents", json!({"message": lines[5]})),
        with(payload(&lines[..2], 0), "kind", json!("Event")),
        with(payload(&lines[..2], 0), "awslogs", json!({"data": "not base64"})),
    ];
    let text: String = payloads.iter().map(|p| format!("{p}\n")).collect();
    let opts = ReadOptions { max_examples: 50, ..ReadOptions::default() };
    let (fast_f, fast) = read_with("payloads.json", text.as_bytes(), &opts);
    let (serde_f, serde) = read_with("payloads.json", text.as_bytes(), &ReadOptions { simd: false, ..opts });
    assert_eq!(messages(&fast_f), messages(&serde_f));
    assert_eq!((fast_f.events, fast_f.skipped), (serde_f.events, serde_f.skipped));
    assert_eq!(fast, serde);
    // The first payload is every real event, in order.
    let (first_f, first) = read("first.json", good.to_string().as_bytes());
    assert_eq!((first_f.events, first_f.skipped), (ids.len() as u64, 0));
    assert_eq!(ids_of(&first), sorted(ids));
    assert_eq!(first_f.formats.keys().copied().collect::<Vec<_>>(), [InputFormat::CloudWatch]);
    // Every bad log event counted, not only each payload's first (review s42, item 1): four in
    // the second payload, one in the fifth, three in the sixth, the seventh and the ninth whole;
    // and the eighth, `kind: Event` beside a payload's keys, once stored as an event of nulls
    // (ingest review s54, item 8).
    assert_eq!(fast_f.skipped, 11, "{:#?}", messages(&fast_f));
    assert_eq!(messages(&fast_f).len(), 11);
}

/// Firehose's payloads one after another with no newline are cut apart and read in parallel,
/// each as a line would be: a damaged payload is named by its number and the others kept, one
/// cut short at the end of the file too, and one payload to a chunk reads as one chunk for all.
#[test]
fn payloads_one_after_another_are_cut_apart_and_a_damaged_one_costs_only_itself() {
    let (lines, ids) = real_lines();
    let parts: Vec<String> =
        lines.chunks(10).enumerate().map(|(n, p)| payload(p, n * 10).to_string()).collect();
    let whole: String = parts.concat();
    let (f, all) = read("firehose.json", whole.as_bytes());
    assert_eq!(f.container, Some(Container::JsonSequence));
    assert_eq!((f.events, f.skipped), (ids.len() as u64, 0), "{:?}", messages(&f));
    assert_eq!(ids_of(&all), sorted(ids.clone()));
    let (f, small) = read_with(
        "firehose.json",
        whole.as_bytes(),
        &ReadOptions { chunk_bytes: 1, ..ReadOptions::default() },
    );
    assert_eq!((f.events, f.skipped), (ids.len() as u64, 0));
    assert_eq!(small, all);
    // White space between some of them (Firehose told to add newlines part of the time).
    let spaced = format!("{}{}\n{} \r\n\t{}\n", parts[0], parts[1], parts[2], parts[3]);
    let (f, got) = read("spaced.json", spaced.as_bytes());
    assert_eq!((f.container, f.events, f.skipped), (Some(Container::JsonSequence), ids.len() as u64, 0));
    assert_eq!(got, all);
    // The second payload damaged (a `;` for a `:`, its quotes and braces still balanced), the
    // last cut short: the others are read, the two named.
    let mut damaged = parts.clone();
    damaged[1] = damaged[1].replacen("\"owner\":", "\"owner\";", 1);
    let last = damaged.len() - 1;
    let half = damaged[last].len() / 2;
    damaged[last].truncate(half);
    let (f, _) = read("firehose.json", damaged.concat().as_bytes());
    let kept: usize =
        lines.chunks(10).enumerate().filter(|(n, _)| *n != 1 && *n != last).map(|(_, p)| p.len()).sum();
    assert_eq!(f.events, kept as u64, "{:?}", messages(&f));
    let m = messages(&f);
    assert_eq!(m.len(), 2, "{m:?}");
    assert!(m[0].starts_with("record 2 invalid JSON"), "{m:?}");
    assert_eq!(
        m[1],
        format!("record {} truncated JSON: the file ends inside this object, which is skipped", last + 1)
    );
}
