//! Audit events kept by a log store and exported from it: Grafana Loki (`logcli query`, its
//! default output and `--output=jsonl`), Splunk (the search export's JSON lines, and its CSV export). Built here by
//! hand from the documented shapes around the real events of audit2rbac's demo log; each
//! export must give back exactly those events.

mod reading;

use arrow::array::{AsArray, RecordBatch};
use audit::read::Container;
use audit::{InputFormat, col};
use reading::{demo_lines, messages, read};
use serde_json::{Value, json};

/// The canonical rows of the demo log read as it is: what every export must give.
fn want() -> RecordBatch {
    let text: String = demo_lines().iter().map(|l| format!("{l}\n")).collect();
    let (f, batch) = read("audit.log", text.as_bytes());
    assert_eq!(f.skipped, 0);
    batch
}

fn ids(batch: &RecordBatch) -> Vec<Option<String>> {
    let a = batch.column_by_name(col::AUDIT_ID).expect("audit id");
    a.as_string::<i32>().iter().map(|v| v.map(str::to_owned)).collect()
}

#[test]
fn loki_logcli_jsonl_lines_read_to_the_events_they_carry() {
    let lines = demo_lines();
    let text: String = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let entry = json!({
                "labels": {"job": "kube-apiserver-audit", "cluster": "prod"},
                "line": l,
                "timestamp": format!("2017-09-11T19:55:{:02}.000000000Z", i % 60),
            });
            format!("{entry}\n")
        })
        .collect();
    let (f, batch) = read("loki.jsonl", text.as_bytes());
    assert_eq!(f.skipped, 0, "{:?}", messages(&f));
    assert_eq!(f.container, Some(Container::JsonLines));
    assert_eq!(f.formats.keys().copied().collect::<Vec<_>>(), [InputFormat::K8sLog]);
    assert_eq!(batch, want());
}

#[test]
fn loki_logcli_default_lines_of_time_labels_and_event_read_to_the_events() {
    // `logcli query '{job="kube-apiserver-audit"}'`: the time, the stream's labels padded, the
    // line; `{}` when every label is common to the streams (printed apart).
    let lines = demo_lines();
    let text: String = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let labels = if i % 2 == 0 {
                r#"{filename="/var/log/audit.log", job="kube-apiserver-audit"}"#
            } else {
                "{}"
            };
            format!("2017-09-11T19:55:{:02}+02:00 {labels}    {l}\n", i % 60)
        })
        .collect();
    let (f, batch) = read("loki.txt", text.as_bytes());
    assert_eq!(f.skipped, 0, "{:?}", messages(&f));
    assert_eq!(f.container, Some(Container::JsonLines));
    assert_eq!(batch, want());
    // The API server's own lines in the same stream are named and skipped.
    let text =
        "2017-09-11T19:55:05Z {job=\"kube-apiserver\"} I0911 19:55:05.123456 1 trace.go:236] Trace[1]\n";
    let (f, batch) = read("loki-text.txt", format!("{}\n{text}", &lines[0]).as_bytes());
    assert_eq!(batch.num_rows(), 1);
    assert_eq!(
        messages(&f),
        [
            "line 2 a timestamped log line of text, not an audit event: I0911 19:55:05.123456 1 trace.go:236] Trace[1]"
        ]
    );
}

/// One result of Splunk's search export (`/services/search/jobs/export?output_mode=json`).
fn splunk_result(i: usize, raw: &str) -> Value {
    json!({
        "preview": false,
        "offset": i,
        "result": {
            "_bkt": "main~12~5E3F0C1B-7C55-4C8B-9F5E-2B0F8D9E4A11",
            "_cd": format!("12:{}", 4000 + i),
            "_indextime": "1505159710",
            "_raw": raw,
            "_serial": i.to_string(),
            "_si": ["splunk-idx-1", "main"],
            "_sourcetype": "kube:apiserver:audit",
            "_time": "2017-09-11T19:55:05.000+00:00",
            "host": "master-0",
            "index": "main",
            "linecount": "1",
            "source": "/var/log/kubernetes/audit/audit.log",
            "sourcetype": "kube:apiserver:audit",
        }
    })
}

#[test]
fn splunk_exports_as_json_lines_and_as_csv_read_to_the_events_they_carry() {
    let lines = demo_lines();
    let json_lines: String =
        lines.iter().enumerate().map(|(i, l)| format!("{}\n", splunk_result(i, l))).collect();
    let (f, batch) = read("splunk.json", json_lines.as_bytes());
    assert_eq!(f.skipped, 0, "{:?}", messages(&f));
    assert_eq!(f.formats.keys().copied().collect::<Vec<_>>(), [InputFormat::K8sLog]);
    assert_eq!(batch, want());
    // The CSV export ("Export results" as CSV): `_raw` quoted, its quotes doubled.
    let mut csv = String::from("\"_time\",host,source,sourcetype,\"_raw\"\n");
    for l in &lines {
        csv.push_str(&format!(
            "\"2017-09-11T19:55:05.000+0000\",\"master-0\",\"/var/log/kubernetes/audit/audit.log\",\"kube:apiserver:audit\",\"{}\"\n",
            l.replace('"', "\"\"")
        ));
    }
    let (f, batch) = read("splunk.csv", csv.as_bytes());
    assert_eq!(f.skipped, 0, "{:?}", messages(&f));
    assert_eq!(f.container, Some(Container::Csv));
    assert_eq!(batch, want());
}

#[test]
fn what_a_log_store_holds_beside_audit_events_is_named_and_skipped() {
    let lines = demo_lines();
    // Splunk cuts `_raw` at 10,000 characters unless told otherwise; Loki keeps every line of
    // the stream, the API server's text log among them.
    let cut = &lines[1][..200];
    let text = [
        format!("{}\n", splunk_result(0, &lines[0])),
        format!("{}\n", splunk_result(1, cut)),
        format!(
            "{}\n",
            json!({"labels": {}, "line": "I0911 19:55:05.123456 1 trace.go:236] Trace[1]", "timestamp": "x"})
        ),
        format!("{}\n", json!({"labels": {}, "line": 42})),
    ]
    .concat();
    let (f, batch) = read("mixed.json", text.as_bytes());
    assert_eq!(
        ids(&batch),
        [Some(
            serde_json::from_str::<Value>(&lines[0]).expect("event")["auditID"]
                .as_str()
                .expect("id")
                .to_owned()
        )]
    );
    let got = messages(&f);
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got[0].starts_with("line 2 field `_raw`: not JSON (cut short?): EOF while parsing"), "{got:?}");
    assert_eq!(
        got[1],
        "line 3 not an audit record: `line` holds text that is not a JSON object: I0911 19:55:05.123456 1 trace.go:236] Trace[1]"
    );
    assert_eq!(got[2], "line 4 not an audit record: `line` is a number");
}

/// Ingest review 50, item 1: a Splunk CSV export with a field Splunk extracted from the JSON
/// events (`| table _time _raw verb`) beside `_raw` was read as that row of fields: the events
/// were stored as empty shells, or dropped as duplicates of one another.
#[test]
fn splunk_csv_with_extracted_fields_beside_raw_reads_the_events_in_raw() {
    let lines = demo_lines();
    for field in ["verb", "auditID", "kind", "requestURI", "apiVersion"] {
        let mut csv = format!("\"_time\",\"_raw\",\"{field}\"\n");
        for l in &lines {
            let event: Value = serde_json::from_str(l).expect("event");
            let extracted = event.get(field).and_then(Value::as_str).unwrap_or_default();
            csv.push_str(&format!(
                "\"2017-09-11T19:55:05.000+0000\",\"{}\",\"{extracted}\"\n",
                l.replace('"', "\"\"")
            ));
        }
        let (f, batch) = read("splunk.csv", csv.as_bytes());
        assert_eq!(f.skipped, 0, "{field}: {:?}", messages(&f));
        assert_eq!(f.without_timestamps, 0, "{field}");
        assert_eq!(batch, want(), "{field}");
    }
}
