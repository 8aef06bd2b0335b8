//! Google Cloud Logging (GKE): the audit events of audit2rbac's demo log (real events) put in
//! the shape GKE's Cloud Audit Logs give them, built here by hand from the documented
//! `LogEntry` and `AuditLog` fields (`real_data.rs` reads the real GKE entry of Elastic's test
//! log).

mod reading;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Int32Type, TimestampNanosecondType};
use audit::read::{Container, ReadOptions};
use audit::{InputFormat, col};
use reading::{demo_lines, messages, read, read_with};
use serde_json::{Value, json};

fn real_events() -> Vec<Value> {
    demo_lines().iter().map(|l| serde_json::from_str(l).expect("an event")).collect()
}

/// The gRPC code GKE puts in `protoPayload.status` for an HTTP status.
fn grpc_of(http: i64) -> i64 {
    match http {
        200..=299 => 0,
        400 => 3,
        401 => 16,
        403 => 7,
        404 => 5,
        409 => 6,
        429 => 8,
        _ => 13,
    }
}

/// `event` as GKE's Cloud Logging entry of it. Failures carry the Kubernetes `Status` as the
/// response on every other event, the gRPC status alone on the rest.
fn entry_of(event: &Value, i: usize) -> Value {
    let o = &event["objectRef"];
    let resource_name = if o.is_object() {
        let group = o["apiGroup"].as_str().filter(|g| !g.is_empty()).unwrap_or("core");
        let mut parts = vec![group.to_owned(), o["apiVersion"].as_str().unwrap_or("v1").to_owned()];
        if let Some(ns) = o["namespace"].as_str() {
            parts.extend(["namespaces".to_owned(), ns.to_owned()]);
        }
        for k in ["resource", "name", "subresource"] {
            if let Some(v) = o[k].as_str() {
                parts.push(v.to_owned());
            }
        }
        parts.join("/")
    } else {
        let uri = event["requestURI"].as_str().expect("a URI");
        uri.split('?').next().unwrap_or_default().trim_start_matches('/').to_owned()
    };
    let verb = event["verb"].as_str().expect("a verb");
    let code = event["responseStatus"]["code"].as_i64().expect("a code");
    let mut payload = json!({
        "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
        "authenticationInfo": {"principalEmail": event["user"]["username"]},
        "methodName": format!("io.k8s.core.v1.{}.{verb}", o["resource"].as_str().unwrap_or("nonresource")),
        "requestMetadata": {"callerIp": event["sourceIPs"][0], "callerSuppliedUserAgent": event["userAgent"]},
        "resourceName": resource_name,
        "serviceName": "k8s.io",
        "status": if code < 300 { json!({}) } else { json!({"code": grpc_of(code), "message": "PERMISSION_DENIED"}) },
    });
    if code >= 300 && i.is_multiple_of(2) {
        payload["response"] = json!({
            "@type": "core.k8s.io/v1.Status", "apiVersion": "v1", "kind": "Status",
            "code": code, "reason": event["responseStatus"]["reason"], "status": "Failure",
        });
    }
    json!({
        "insertId": event["auditID"],
        "labels": {"authorization.k8s.io/decision": "allow"},
        "logName": "projects/demo-project/logs/cloudaudit.googleapis.com%2Fdata_access",
        "operation": {"first": true, "id": event["auditID"], "last": true, "producer": "k8s.io"},
        "protoPayload": payload,
        "receiveTimestamp": "2017-09-11T20:00:00.123456789Z",
        "resource": {"labels": {"cluster_name": "demo", "location": "europe-west1", "project_id": "demo-project"},
                     "type": "k8s_cluster"},
        "timestamp": event["timestamp"],
    })
}

fn strings(batch: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let a = batch.column_by_name(name).expect("column");
    a.as_string::<i32>().iter().map(|v| v.map(str::to_owned)).collect()
}

/// What GKE's entries keep of each event, as the canonical row should hold it: audit ID, verb,
/// user, agent, source IP, the object reference, the status code (201 comes back as 200: GKE
/// says only that it succeeded), and the message of a failure.
fn kept(event: &Value) -> Vec<Option<String>> {
    let s = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
    let o = &event["objectRef"];
    let code = event["responseStatus"]["code"].as_i64().expect("code");
    vec![
        s(&event["auditID"]),
        s(&event["verb"]),
        s(&event["user"]["username"]),
        s(&event["userAgent"]),
        s(&event["sourceIPs"][0]),
        s(&o["resource"]),
        s(&o["namespace"]),
        s(&o["name"]),
        s(&o["subresource"]),
        o.is_object().then(|| o["apiGroup"].as_str().unwrap_or_default().to_owned()),
        Some(if code < 300 { "200".to_owned() } else { code.to_string() }),
    ]
}

fn rows_kept(batch: &RecordBatch) -> Vec<Vec<Option<String>>> {
    let cols: Vec<Vec<Option<String>>> = [
        col::AUDIT_ID,
        col::VERB,
        col::USER_USERNAME,
        col::USER_AGENT,
        col::OBJECT_RESOURCE,
        col::OBJECT_NAMESPACE,
        col::OBJECT_NAME,
        col::OBJECT_SUBRESOURCE,
        col::OBJECT_API_GROUP,
    ]
    .iter()
    .map(|c| strings(batch, c))
    .collect();
    let ips = batch.column_by_name(col::SOURCE_IPS).expect("ips");
    let ips = ips.as_list::<i32>();
    let codes = batch.column_by_name(col::RESPONSE_CODE).expect("code");
    let codes = codes.as_primitive::<Int32Type>();
    (0..batch.num_rows())
        .map(|r| {
            let ip = ips.value(r);
            let ip = ip.as_string::<i32>();
            let ip = (!ip.is_empty()).then(|| ip.value(0).to_owned());
            let [id, verb, user, agent, res, ns, name, sub, group] =
                std::array::from_fn(|c| cols[c][r].clone());
            vec![
                id,
                verb,
                user,
                agent,
                ip,
                res,
                ns,
                name,
                sub,
                group,
                codes.is_valid(r).then(|| codes.value(r).to_string()),
            ]
        })
        .collect()
}

#[test]
fn gke_entries_of_real_events_read_back_to_what_the_entries_keep_of_them() {
    let events = real_events();
    let lines: String = events.iter().enumerate().map(|(i, e)| format!("{}\n", entry_of(e, i))).collect();
    let (f, batch) =
        read("cloudaudit.googleapis.com/data_access/2017/09/11/19:00:00_19:59:59_S0.json", lines.as_bytes());
    assert_eq!(f.skipped, 0, "{:?}", messages(&f));
    assert_eq!(f.container, Some(Container::JsonLines));
    assert_eq!(f.formats.keys().copied().collect::<Vec<_>>(), [InputFormat::Gke]);
    assert_eq!(batch.num_rows(), events.len());
    assert_eq!(rows_kept(&batch), events.iter().map(kept).collect::<Vec<_>>());
    // One time per entry: the stage's; the time the request arrived is not known, so neither
    // is its latency.
    let received = batch.column_by_name(col::REQUEST_RECEIVED_TIMESTAMP).expect("received");
    assert_eq!(received.null_count(), events.len());
    let stage = batch.column_by_name(col::STAGE_TIMESTAMP).expect("stage");
    let stage = stage.as_primitive::<TimestampNanosecondType>();
    let first =
        chrono::DateTime::parse_from_rfc3339(events[0]["timestamp"].as_str().expect("time")).expect("time");
    assert_eq!(stage.value(0), first.timestamp_nanos_opt().expect("nanos"));
    // A request to a path keeps it as its URI; a resource's URI is not known (its query
    // string, which tells an expensive LIST, is not in the entry).
    let uris = strings(&batch, col::REQUEST_URI);
    for (event, uri) in events.iter().zip(&uris) {
        if event["objectRef"].is_object() {
            assert_eq!(uri, &None);
        } else {
            assert_eq!(uri.as_deref(), event["requestURI"].as_str());
        }
    }
    assert!(uris.iter().any(Option::is_some) && uris.iter().any(Option::is_none));
    assert!(strings(&batch, col::STAGE).iter().all(|s| s.as_deref() == Some("ResponseComplete")));
    assert!(strings(&batch, col::LEVEL).iter().any(|s| s.as_deref() == Some("RequestResponse")));
    assert!(
        strings(&batch, col::CLUSTER_RESOURCE_ID)
            .iter()
            .all(|s| s.as_deref() == Some("projects/demo-project/locations/europe-west1/clusters/demo"))
    );
    assert!(strings(&batch, col::SOURCE_FORMAT).iter().all(|s| s.as_deref() == Some("gke")));
    // The failures' message, from the gRPC status.
    let failed = events.iter().position(|e| e["responseStatus"]["code"] == 403).expect("a 403");
    assert_eq!(strings(&batch, col::RESPONSE_MESSAGE)[failed].as_deref(), Some("PERMISSION_DENIED"));
}

#[test]
fn gcloud_logging_read_json_and_yaml_output_read_the_same_rows() {
    let events = real_events();
    let entries: Vec<Value> = events.iter().enumerate().map(|(i, e)| entry_of(e, i)).collect();
    let lines: String = entries.iter().map(|e| format!("{e}\n")).collect();
    let (_, want) = read("lines.json", lines.as_bytes());
    // `gcloud logging read --format=json`: one array, pretty-printed.
    let array = serde_json::to_string_pretty(&entries).expect("json");
    let (f, got) = read("gcloud.json", array.as_bytes());
    assert_eq!(f.skipped, 0, "{:?}", messages(&f));
    assert_eq!(f.container, Some(Container::JsonArray));
    assert_eq!(rows_kept(&got), rows_kept(&want));
    // gcloud's default output: YAML documents.
    let yaml: String =
        entries.iter().map(|e| format!("---\n{}", yaml_serde::to_string(e).expect("yaml"))).collect();
    let (f, got) = read("gcloud.yaml", yaml.as_bytes());
    assert_eq!(f.skipped, 0, "{:?}", messages(&f));
    assert_eq!(f.container, Some(Container::Yaml));
    assert_eq!(rows_kept(&got), rows_kept(&want));
}

#[test]
fn entries_that_are_no_kubernetes_request_are_named_and_skipped() {
    let event = &real_events()[0];
    let good = entry_of(event, 0);
    let mut gke_api = good.clone();
    gke_api["protoPayload"]["serviceName"] = json!("container.googleapis.com");
    gke_api["protoPayload"]["methodName"] = json!("google.container.v1.ClusterManager.SetNodePoolSize");
    let mut no_method = good.clone();
    no_method["protoPayload"].as_object_mut().expect("payload").remove("methodName");
    let mut bad_code = good.clone();
    bad_code["protoPayload"]["status"] = json!({"code": "PERMISSION_DENIED"});
    // Without the Kubernetes `Status` of the response, the gRPC code is the only one.
    bad_code["protoPayload"].as_object_mut().expect("payload").remove("response");
    let mut bad_time = good.clone();
    bad_time["timestamp"] = json!("yesterday");
    let bigquery = json!({"protopayload_auditlog": {"methodName": "io.k8s.core.v1.pods.list"}});
    let text: String = [good.clone(), gke_api, no_method, bad_code, bad_time, bigquery]
        .iter()
        .map(|e| format!("{e}\n"))
        .collect();
    let (f, batch) = read("mixed.json", text.as_bytes());
    assert_eq!(f.skipped, 5, "{:?}", messages(&f));
    assert_eq!(batch.num_rows(), 1);
    assert_eq!(
        messages(&f),
        [
            "line 2 a Cloud Audit Logs entry of service container.googleapis.com \
             (google.container.v1.ClusterManager.SetNodePoolSize), not a request to the Kubernetes API (k8s.io)",
            "line 3 field `protoPayload.methodName`: missing or empty",
            "line 4 field `protoPayload.status.code`: string \"PERMISSION_DENIED\", expected an integer",
            "line 5 field `timestamp`: unreadable timestamp \"yesterday\"",
            "line 6 a Cloud Audit Logs row as BigQuery exports it (protopayload_auditlog); not supported: read the \
             entries from a Cloud Storage sink or `gcloud logging read --format=json` instead",
        ]
    );
    let (f, _) = read("text.json", br#"{"protoPayload": "text"}"#);
    assert_eq!(messages(&f), ["line 1 field `protoPayload`: a string, expected an object"]);
    let mut unknown_code = good;
    unknown_code["protoPayload"]["status"] = json!({"code": 99});
    unknown_code["protoPayload"].as_object_mut().expect("payload").remove("response");
    let (f, _) = read("code.json", format!("{unknown_code}\n").as_bytes());
    assert_eq!(
        messages(&f),
        ["line 1 field `protoPayload.status.code`: 99, expected a gRPC status code (0 to 16)"]
    );
}

#[test]
fn bodies_are_kept_only_when_asked_for() {
    let event = &real_events()[0];
    let mut entry = entry_of(event, 0);
    entry["protoPayload"]["request"] = json!({"kind": "DeleteOptions", "apiVersion": "v1"});
    let line = format!("{entry}\n");
    let (f, dropped) = read("bodies.json", line.as_bytes());
    assert_eq!(f.skipped, 0, "{:?}", messages(&f));
    assert_eq!(strings(&dropped, col::REQUEST_OBJECT), [None]);
    assert_eq!(strings(&dropped, col::LEVEL), [Some("RequestResponse".to_owned())]);
    let opts = ReadOptions { keep_bodies: true, ..ReadOptions::default() };
    let (_, kept) = read_with("bodies.json", line.as_bytes(), &opts);
    let request: Value =
        serde_json::from_str(strings(&kept, col::REQUEST_OBJECT)[0].as_deref().expect("kept")).expect("json");
    assert_eq!(request, entry["protoPayload"]["request"]);
    let response: Value =
        serde_json::from_str(strings(&kept, col::RESPONSE_OBJECT)[0].as_deref().expect("kept"))
            .expect("json");
    assert_eq!(response, entry["protoPayload"]["response"]);
    assert_eq!(rows_kept(&kept), rows_kept(&dropped));
}

/// Ingest review 50, item 4: a request on a Namespace object (`core/v1/namespaces/NS`, and its
/// `status` and `finalize` subresources) had no `objectRef.namespace`, where kube-apiserver's
/// own event of `DELETE /api/v1/namespaces/foo` has `"namespace":"foo"`: a query for the
/// deletion of `kube-system` found it in a native log and not in a GKE one.
#[test]
fn a_request_on_a_namespace_object_has_the_namespace_its_name() {
    let event = &real_events()[0];
    let entries: String =
        ["core/v1/namespaces/kube-system", "core/v1/namespaces/kube-system/finalize", "core/v1/namespaces"]
            .iter()
            .map(|name| {
                let mut entry = entry_of(event, 0);
                entry["protoPayload"]["resourceName"] = json!(name);
                entry["protoPayload"]["methodName"] = json!("io.k8s.core.v1.namespaces.delete");
                format!("{entry}\n")
            })
            .collect();
    let (f, batch) = read("namespaces.json", entries.as_bytes());
    assert_eq!(f.skipped, 0, "{:?}", messages(&f));
    let some = |s: &str| Some(s.to_owned());
    assert_eq!(
        strings(&batch, col::OBJECT_RESOURCE),
        [some("namespaces"), some("namespaces"), some("namespaces")]
    );
    assert_eq!(strings(&batch, col::OBJECT_NAME), [some("kube-system"), some("kube-system"), None]);
    assert_eq!(strings(&batch, col::OBJECT_NAMESPACE), [some("kube-system"), some("kube-system"), None]);
    assert_eq!(strings(&batch, col::OBJECT_SUBRESOURCE), [None, some("finalize"), None]);
}

/// Review: a list where an object belongs was read by position, as the object's fields in
/// order (an audit event's `"user":["mallory"]` as username mallory): in an entry too, each
/// such list is refused with the field named, on the borrowed path and the `Value` path.
#[test]
fn an_entrys_objects_written_as_lists_are_refused_not_read_by_position() {
    let good = entry_of(&real_events()[0], 0);
    let mut payload = good.clone();
    let values: Vec<Value> = good["protoPayload"].as_object().expect("payload").values().cloned().collect();
    payload["protoPayload"] = Value::Array(values);
    let mut principal = good.clone();
    principal["protoPayload"]["authenticationInfo"] = json!(["mallory@example.com"]);
    let mut labels = good.clone();
    labels["resource"]["labels"] = json!(["demo", "europe-west1", "demo-project"]);
    let text: String = [good, payload, principal, labels].iter().map(|e| format!("{e}\n")).collect();
    for keep_bodies in [false, true] {
        let opts = ReadOptions { keep_bodies, ..ReadOptions::default() };
        let (f, batch) = read_with("lists.json", text.as_bytes(), &opts);
        assert_eq!(batch.num_rows(), 1);
        assert_eq!(
            messages(&f),
            [
                "line 2 field `protoPayload`: a list, expected an object",
                "line 3 field `protoPayload.authenticationInfo`: a list, expected an object",
                "line 4 field `resource.labels`: a list, expected an object",
            ]
        );
    }
}
