//! Audit events kept in Elasticsearch or OpenSearch and exported from it: a search response
//! (`GET INDEX/_search`, pretty-printed or on one line), `elasticdump`'s hits one per line, the
//! documents alone (`jq -c '.hits.hits[]._source'`), as Elastic Agent's Kubernetes integration
//! indexes them (`kubernetes.audit`, `event.original`) and as Filebeat ships the line
//! (`message`). Built here from the documented shapes around the real events of audit2rbac's
//! demo log; each export must give back exactly those events.

mod reading;

use arrow::array::{AsArray, RecordBatch};
use audit::read::Container;
use audit::{InputFormat, col};
use reading::{demo_lines, messages, read};
use serde_json::{Map, Value, json};

/// The canonical rows of the demo log read as it is: what every export must give.
fn want() -> RecordBatch {
    let text: String = demo_lines().iter().map(|l| format!("{l}\n")).collect();
    let (f, batch) = read("audit.log", text.as_bytes());
    assert_eq!(f.skipped, 0);
    batch
}

/// Elastic's rewrite of an annotation key: its ingest pipeline replaces every `.` by `_`.
fn elastic_key(k: &str) -> String {
    k.replace('.', "_")
}

/// The document Elastic Agent's Kubernetes integration indexes for an audit log line: the
/// event's fields under `kubernetes.audit` (annotation keys rewritten), and, with `original`,
/// the line itself as `event.original`.
fn integration_doc(line: &str, original: bool) -> Value {
    let mut audit: Map<String, Value> = serde_json::from_str(line).expect("demo lines are JSON objects");
    if let Some(Value::Object(a)) = audit.get_mut("annotations") {
        *a = std::mem::take(a).into_iter().map(|(k, v)| (elastic_key(&k), v)).collect();
    }
    let mut event = json!({"kind": "event", "action": audit.get("verb").cloned()});
    if original {
        event["original"] = Value::String(line.to_owned());
    }
    json!({
        "@timestamp": "2022-08-30T07:22:30.601Z",
        "kubernetes": {"audit": audit},
        "event": event,
        "agent": {"type": "filebeat", "version": "8.4.0"},
        "ecs": {"version": "8.0.0"},
        "log": {"file": {"path": "/var/log/kubernetes/kube-apiserver-audit-1.log"}, "offset": 8398},
        "data_stream": {"namespace": "default", "type": "logs", "dataset": "kubernetes.audit_logs"},
    })
}

/// Filebeat's document for a line it shipped without parsing it.
fn filebeat_doc(i: usize, line: &str) -> Value {
    json!({
        "@timestamp": "2017-09-11T19:55:06.012Z",
        "log": {"offset": i * 600, "file": {"path": "/var/log/kubernetes/audit/audit.log"}},
        "message": line,
        "input": {"type": "filestream"},
        "ecs": {"version": "8.0.0"},
        "host": {"name": "master-0"},
        "agent": {"type": "filebeat", "version": "8.15.0"},
    })
}

fn hit(i: usize, source: Value) -> Value {
    json!({"_index": ".ds-logs-kubernetes.audit_logs-default-2025.03.04-000001", "_id": format!("id-{i}"), "_score": 1.0, "_source": source})
}

fn search_response(hits: Vec<Value>) -> Value {
    json!({
        "took": 7,
        "timed_out": false,
        "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
        "hits": {"total": {"value": hits.len(), "relation": "eq"}, "max_score": 1.0, "hits": hits},
    })
}

fn lines_of(values: impl IntoIterator<Item = Value>) -> String {
    values.into_iter().map(|v| format!("{v}\n")).collect()
}

#[test]
fn search_responses_hits_and_documents_read_to_the_events_they_carry() {
    let lines = demo_lines();
    let docs: Vec<Value> = lines.iter().enumerate().map(|(i, l)| integration_doc(l, i % 2 == 0)).collect();
    let hits: Vec<Value> = docs.iter().cloned().enumerate().map(|(i, d)| hit(i, d)).collect();
    let response = search_response(hits.clone());
    let pretty = serde_json::to_string_pretty(&response).expect("json");
    let cases = [
        ("search.json", pretty, Container::JsonDocument),
        ("search-one-line.json", format!("{response}\n"), Container::JsonLines),
        ("elasticdump.jsonl", lines_of(hits.clone()), Container::JsonLines),
        ("hits.json", serde_json::to_string_pretty(&Value::Array(hits)).expect("json"), Container::JsonArray),
        ("sources.jsonl", lines_of(docs), Container::JsonLines),
    ];
    for (name, text, container) in cases {
        let (f, batch) = read(name, text.as_bytes());
        assert_eq!(f.skipped, 0, "{name}: {:?}", messages(&f));
        assert_eq!(f.container, Some(container), "{name}");
        assert_eq!(f.formats.keys().copied().collect::<Vec<_>>(), [InputFormat::K8sLog], "{name}");
        assert_eq!(batch, want(), "{name}");
    }
}

#[test]
fn filebeat_documents_are_not_taken_for_cloudwatch_log_events() {
    // `@timestamp` and `message` are what a CloudWatch Logs Insights row has too: the
    // documents were once read, and labelled `cloudwatch`.
    let lines = demo_lines();
    let text = lines_of(lines.iter().enumerate().map(|(i, l)| filebeat_doc(i, l)));
    let (f, batch) = read("filebeat.jsonl", text.as_bytes());
    assert_eq!(f.skipped, 0, "{:?}", messages(&f));
    assert_eq!(f.formats.keys().copied().collect::<Vec<_>>(), [InputFormat::K8sLog]);
    assert_eq!(batch, want());
    // The same documents as the hits of a pretty-printed search response (read as values, not
    // as lines) give the same rows.
    let hits = lines.iter().enumerate().map(|(i, l)| hit(i, filebeat_doc(i, l))).collect();
    let pretty = serde_json::to_string_pretty(&search_response(hits)).expect("json");
    let (f, batch) = read("filebeat-search.json", pretty.as_bytes());
    assert_eq!(f.skipped, 0, "{:?}", messages(&f));
    assert_eq!(f.formats.keys().copied().collect::<Vec<_>>(), [InputFormat::K8sLog]);
    assert_eq!(batch, want());
    // The API server's own log shipped by the same Filebeat is named and skipped.
    let text = lines_of([
        filebeat_doc(0, &lines[0]),
        filebeat_doc(1, "I0911 19:55:05.123456 1 trace.go:236] Trace[1]: \"List\" url:/api/v1/pods"),
    ]);
    let (f, batch) = read("filebeat-mixed.jsonl", text.as_bytes());
    assert_eq!(batch.num_rows(), 1);
    assert_eq!(
        messages(&f),
        [
            "line 2 a Filebeat document whose `message` is text, not an audit event: I0911 19:55:05.123456 1 trace.go:236] Trace[1]: \"List\" url:/api/v1/pods"
        ]
    );
}

#[test]
fn the_line_kept_as_event_original_is_read_before_elastics_fields_of_it() {
    let lines = demo_lines();
    let mut doc = integration_doc(&lines[0], true);
    // Fields that disagree with the original: the original is what the API server wrote.
    doc["kubernetes"]["audit"]["verb"] = json!("delete");
    let (f, batch) = read("one.jsonl", format!("{doc}\n").as_bytes());
    assert_eq!(f.skipped, 0, "{:?}", messages(&f));
    let verb = batch.column_by_name(col::VERB).expect("verb").as_string::<i32>().value(0).to_owned();
    let want: Value = serde_json::from_str(&lines[0]).expect("json");
    assert_eq!(Some(verb.as_str()), want["verb"].as_str());
    assert_ne!(verb, "delete");
}

#[test]
fn annotation_keys_elastic_rewrote_are_restored_before_the_slash() {
    let event = json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "auditID": "a-1",
        "stage": "ResponseComplete", "requestURI": "/api/v1/pods", "verb": "list",
        "user": {"username": "system:serviceaccount:kube-system:lister"},
        "requestReceivedTimestamp": "2025-03-04T06:22:18.819232Z", "stageTimestamp": "2025-03-04T06:22:19.822532Z",
        "annotations": {
            "authorization.k8s.io/decision": "allow",
            "apiserver.latency.k8s.io/etcd": "912.4ms",
            "pod-security.kubernetes.io/enforce-policy": "privileged:latest",
            "mutation.webhook.admission.k8s.io/round_0_index_0": "{}",
            "missing-san.invalid-cert.kubernetes.io/webhook.example.com": "true",
        },
    });
    let doc = integration_doc(&event.to_string(), false);
    assert_eq!(doc["kubernetes"]["audit"]["annotations"]["apiserver_latency_k8s_io/etcd"], "912.4ms");
    let (f, batch) = read("one.jsonl", format!("{doc}\n").as_bytes());
    assert_eq!(f.skipped, 0, "{:?}", messages(&f));
    let keys = batch.column_by_name(col::ANNOTATIONS).expect("annotations").as_map();
    let keys = keys.keys().as_string::<i32>();
    let mut got: Vec<&str> = keys.iter().flatten().collect();
    got.sort_unstable();
    assert_eq!(
        got,
        [
            "apiserver.latency.k8s.io/etcd",
            "authorization.k8s.io/decision",
            // A `.` after the slash cannot be told from a `_`: it stays as Elastic stored it.
            "missing-san.invalid-cert.kubernetes.io/webhook_example_com",
            "mutation.webhook.admission.k8s.io/round_0_index_0",
            "pod-security.kubernetes.io/enforce-policy",
        ]
    );
}

#[test]
fn broken_hits_and_documents_are_named_and_the_good_ones_kept() {
    let lines = demo_lines();
    let gke_fields = json!({"kubernetes": {"audit": {"protoPayload": {"methodName": "io.k8s.get"}, "auditID": "1234abcd"}}, "@timestamp": "2025-07-13T08:38:41Z"});
    let text = lines_of([
        hit(0, integration_doc(&lines[0], false)),
        json!({"_index": "audit", "_id": "x", "_source": "not a document"}),
        json!({"_index": "audit", "_id": "y", "_score": 1.0, "fields": {"verb": ["get"]}}),
        hit(
            3,
            json!({"event": {"original": "{\"kind\":\"Event\",\"verb\":"}, "@timestamp": "2025-03-04T06:22:18Z"}),
        ),
        hit(4, gke_fields),
        hit(5, integration_doc(&lines[1], true)),
    ]);
    let (f, batch) = read("dump.jsonl", text.as_bytes());
    assert_eq!(batch.num_rows(), 2);
    let got = messages(&f);
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(got[0], "line 2 field `_source`: a string, expected the indexed document (an object)");
    assert!(got[1].starts_with("line 3 an Elasticsearch hit without `_source`"), "{got:?}");
    assert!(got[2].starts_with("line 4 field `event.original`: "), "{got:?}");
    assert!(
        got[3].starts_with("line 5 an Elastic document of a GKE entry without `event.original`"),
        "{got:?}"
    );
}
