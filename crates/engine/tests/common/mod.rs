//! Test data: a small deterministic cluster's audit events, written in every input format,
//! and the engine over them.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use audit::{Event, ObjectRef, ResponseStatus, UserInfo};
use chrono::{DateTime, Duration, TimeZone, Utc};
use engine::{Engine, Now, QueryOptions};

/// The first event's time.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, 0).single().expect("valid time")
}

/// `now()` pinned for the tests: 90 minutes after [`t0`], so `ago(1h)` keeps the last 60.
pub fn now() -> DateTime<Utc> {
    t0() + Duration::minutes(90)
}

/// Query options with `now()` pinned to [`now`].
pub fn opts() -> QueryOptions {
    QueryOptions { now: Now::At(now()), ..Default::default() }
}

/// The clients of the test cluster: user agent and user name.
pub const CLIENTS: &[(&str, &str)] = &[
    ("kubectl/v1.29.4 (linux/amd64) kubernetes/55019c8", "alice@example.com"),
    (
        "kube-controller-manager/v1.29.4 (linux/amd64) kubernetes/55019c8/system:serviceaccount:kube-system:job-controller",
        "system:serviceaccount:kube-system:job-controller",
    ),
    ("kyverno/v1.11.0 (linux/amd64)", "system:serviceaccount:kyverno:kyverno-admission-controller"),
    ("kubelet/v1.29.4 (linux/amd64) kubernetes/55019c8", "system:node:aks-nodepool1-12345678-vmss000000"),
    ("Go-http-client/2.0", "system:serviceaccount:monitoring:prometheus"),
];

const VERBS: &[&str] = &["get", "list", "watch", "create", "update", "patch", "delete"];
const RESOURCES: &[&str] = &["pods", "configmaps", "secrets", "leases", "events", "jobs", ""];

/// A tiny deterministic generator (64-bit LCG), so tests need no randomness crate.
pub struct Lcg(u64);

impl Lcg {
    /// Seeded.
    pub fn new(seed: u64) -> Lcg {
        Lcg(seed)
    }
    /// Next value in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// `n` events over 90 minutes from [`t0`], with skewed clients, latencies of 0–2 s with
/// sub-millisecond parts, failures, webhook errors and annotations.
pub fn cluster_events(n: usize) -> Vec<Event> {
    let mut rng = Lcg::new(42);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        // Skew: client 0 sends the most, the last the least.
        let c = [0, 0, 0, 0, 1, 1, 1, 2, 2, 3, 4][rng.below(11) as usize];
        let (ua, user) = CLIENTS[c];
        let verb = VERBS[rng.below(VERBS.len() as u64) as usize];
        let resource = RESOURCES[rng.below(RESOURCES.len() as u64) as usize];
        let offset_us = (i as i64 * 90 * 60 * 1_000_000) / n as i64 + rng.below(1_000_000) as i64;
        let received = t0() + Duration::microseconds(offset_us);
        let latency_us = match rng.below(20) {
            0 => 1_000_000 + rng.below(1_000_000) as i64,
            _ => rng.below(200_000) as i64,
        };
        let stage = received + Duration::microseconds(latency_us);
        let code = match rng.below(30) {
            0 => 500,
            1 => 429,
            2 => 403,
            _ if verb == "create" => 201,
            _ => 200,
        };
        let mut annotations = BTreeMap::new();
        annotations.insert(
            "authorization.k8s.io/decision".to_owned(),
            if code == 403 { "forbid" } else { "allow" }.to_owned(),
        );
        if !resource.is_empty() {
            annotations.insert(
                "apiserver.latency.k8s.io/etcd".to_owned(),
                format!("{}.{:03}ms", latency_us / 2000, (latency_us / 2) % 1000),
            );
        }
        let object_ref = (!resource.is_empty()).then(|| ObjectRef {
            resource: Some(resource.to_owned()),
            namespace: Some(["default", "kube-system", "team-a"][rng.below(3) as usize].to_owned()),
            name: (!matches!(verb, "list" | "watch")).then(|| format!("{resource}-{}", rng.below(5))),
            api_version: Some("v1".to_owned()),
            ..ObjectRef::default()
        });
        let request_uri = match &object_ref {
            Some(o) => format!(
                "/api/v1/namespaces/{}/{}{}",
                o.namespace.as_deref().unwrap_or(""),
                resource,
                o.name.as_deref().map(|n| format!("/{n}")).unwrap_or_default()
            ),
            None => "/healthz".to_owned(),
        };
        let message = (code == 500).then(|| {
            "Internal error occurred: failed calling webhook \"validate.kyverno.svc-fail\": context deadline exceeded".to_owned()
        });
        out.push(Event {
            kind: "Event".into(),
            api_version: "audit.k8s.io/v1".into(),
            level: "Metadata".into(),
            audit_id: format!("00000000-0000-4000-8000-{i:012}"),
            stage: "ResponseComplete".into(),
            request_uri,
            verb: verb.into(),
            user: UserInfo {
                username: user.into(),
                uid: None,
                groups: Some(vec!["system:authenticated".into()]),
                extra: BTreeMap::new(),
            },
            impersonated_user: None,
            source_ips: Some(vec![format!("10.0.{}.{}", c, 10 + rng.below(3))]),
            user_agent: Some(ua.into()),
            object_ref,
            response_status: Some(ResponseStatus { code: Some(code), message, ..ResponseStatus::default() }),
            request_object: None,
            response_object: None,
            request_received_timestamp: Some(received),
            stage_timestamp: Some(stage),
            timestamp: None,
            annotations,
        });
    }
    out
}

/// The cluster's Azure resource ID used in the Azure formats.
pub const RESOURCE_ID: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks";

fn rfc3339(t: &Option<DateTime<Utc>>) -> serde_json::Value {
    match t {
        Some(t) => serde_json::Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
        None => serde_json::Value::Null,
    }
}

/// The input formats the tests write.
pub const FORMATS: &[&str] = &[
    "k8s-log",
    "eventlist",
    "azure-diagnostics",
    "azure-diagnostics-array",
    "azure-diagnostics-csv",
    "aks-audit",
    "aks-audit-csv",
    "diagnostic-envelope",
    "cloudwatch",
];

fn csv_field(v: &serde_json::Value) -> String {
    let s = match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

/// Rows of JSON objects as CSV with a header (dynamic values JSON-encoded, as portal exports are).
fn csv(rows: &[serde_json::Value]) -> String {
    let Some(serde_json::Value::Object(first)) = rows.first() else { return String::new() };
    let cols: Vec<&String> = first.keys().collect();
    let mut out = cols.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(",");
    out.push('\n');
    for r in rows {
        let line: Vec<String> =
            cols.iter().map(|c| csv_field(r.get(c.as_str()).unwrap_or(&serde_json::Value::Null))).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

/// Writes the events in one input format to a file in `dir`.
pub fn write_format(dir: &Path, format: &str, events: &[Event]) -> PathBuf {
    let path = dir.join(format!("{format}.json"));
    let json = |e: &Event| serde_json::to_value(e).expect("serialisable");
    let text = match format {
        "k8s-log" => events.iter().map(|e| json(e).to_string()).collect::<Vec<_>>().join("\n"),
        "eventlist" => serde_json::json!({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": events.iter().map(json).collect::<Vec<_>>()}).to_string(),
        "azure-diagnostics" | "azure-diagnostics-array" | "azure-diagnostics-csv" => {
            let rows: Vec<serde_json::Value> = events
                .iter()
                .map(|e| {
                    serde_json::json!({
                        "TimeGenerated": rfc3339(&e.stage_timestamp),
                        "Category": "kube-audit",
                        "ResourceId": RESOURCE_ID.to_uppercase(),
                        "pod_s": "kube-apiserver-7d9f8b6c5-abcde",
                        "log_s": json(e).to_string(),
                    })
                })
                .collect();
            if format == "azure-diagnostics" {
                rows.iter().map(|r| r.to_string()).collect::<Vec<_>>().join("\n")
            } else if format == "azure-diagnostics-csv" {
                csv(&rows)
            } else {
                serde_json::Value::Array(rows).to_string()
            }
        }
        "aks-audit" | "aks-audit-csv" => {
            let rows: Vec<serde_json::Value> = events
            .iter()
            .map(|e| {
                serde_json::json!({
                    "TimeGenerated": rfc3339(&e.stage_timestamp),
                    "Level": e.level, "AuditId": e.audit_id, "Stage": e.stage, "RequestUri": e.request_uri,
                    "Verb": e.verb, "User": json(e)["user"], "SourceIps": e.source_ips, "UserAgent": e.user_agent,
                    "ObjectRef": json(e).get("objectRef").cloned().unwrap_or(serde_json::Value::Null),
                    "ResponseStatus": json(e)["responseStatus"],
                    "RequestReceivedTime": rfc3339(&e.request_received_timestamp),
                    "StageReceivedTime": rfc3339(&e.stage_timestamp),
                    "Annotations": e.annotations, "PodName": "kube-apiserver-7d9f8b6c5-abcde",
                    "_ResourceId": RESOURCE_ID.to_lowercase(), "Type": "AKSAudit",
                })
            })
            .collect();
            if format == "aks-audit" {
                rows.iter().map(|r| r.to_string()).collect::<Vec<_>>().join("\n")
            } else {
                csv(&rows)
            }
        }
        "diagnostic-envelope" => {
            let records: Vec<serde_json::Value> = events
                .iter()
                .map(|e| {
                    serde_json::json!({
                        "time": rfc3339(&e.stage_timestamp), "category": "kube-audit", "resourceId": RESOURCE_ID.to_uppercase(),
                        "operationName": "Microsoft.ContainerService/managedClusters/diagnosticLogs/Read",
                        "properties": {"log": json(e).to_string(), "pod": "kube-apiserver-7d9f8b6c5-abcde"},
                    })
                })
                .collect();
            serde_json::json!({ "records": records }).to_string()
        }
        // `aws logs filter-log-events` output (EKS).
        "cloudwatch" => {
            let log_events: Vec<serde_json::Value> = events
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    serde_json::json!({
                        "logStreamName": "kube-apiserver-audit-0c1b3f9e8d7a6b5c4d3e2f1a0b9c8d7e",
                        "timestamp": e.stage_timestamp.map_or(0, |t| t.timestamp_millis()),
                        "message": json(e).to_string(),
                        "ingestionTime": e.stage_timestamp.map_or(0, |t| t.timestamp_millis() + 900),
                        "eventId": format!("{i:056}"),
                    })
                })
                .collect();
            serde_json::to_string_pretty(&serde_json::json!({ "events": log_events, "searchedLogStreams": [] }))
                .expect("serialisable")
        }
        other => panic!("unknown test format {other}"),
    };
    std::fs::write(&path, text).expect("writable temp dir");
    path
}

/// An engine over the events read back from one format.
pub fn engine_for_format(dir: &Path, format: &str, events: &[Event]) -> Engine {
    let path = write_format(dir, format, events);
    let input = engine::input::read_paths(&[path]).expect("readable");
    assert!(input.warnings.is_empty(), "{format}: {:?}", input.warnings);
    Engine::from_batches(input.batches).expect("engine")
}

/// An engine straight over the events.
pub fn engine_for(events: &[Event]) -> Engine {
    let batch = audit::batch::events_to_batch(
        events,
        audit::InputFormat::K8sLog,
        &audit::batch::Origin::default(),
        false,
    )
    .expect("canonical batch");
    Engine::from_batches(vec![batch]).expect("engine")
}

/// An engine over a store written by the audit crate's store writer from one format's file.
pub fn engine_for_store(dir: &Path, format: &str, events: &[Event]) -> Engine {
    let path = write_format(dir, format, events);
    let store = dir.join(format!("store-{format}"));
    let mut writer =
        audit::store::writer::StoreWriter::open(&store, audit::store::writer::WriterOptions::default())
            .expect("store opens");
    let mut sink = |_: &str, b: arrow::array::RecordBatch| -> Result<(), audit::read::SinkError> {
        writer.write(&b)?;
        Ok(())
    };
    audit::read::read_paths(&[path], &audit::read::ReadOptions::default(), &mut sink).expect("readable");
    writer.commit().expect("commits");
    Engine::open_store(&store).expect("store engine")
}
