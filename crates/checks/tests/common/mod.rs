//! A small synthetic cluster for the checks' end-to-end tests: healthy background traffic and
//! the problems the checks must find, written as audit events. Deterministic (a fixed LCG),
//! small enough for debug-build tests, and independent of the checks: the tests recompute
//! every number they assert from these events directly.

#![allow(dead_code)]

use std::collections::BTreeMap;

use audit::batch::Origin;
use audit::{Event, InputFormat, ObjectRef, ResponseStatus, UserInfo};
use chrono::{DateTime, Duration, Utc};

/// Start of the synthetic half hour.
pub fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z").expect("valid").with_timezone(&Utc)
}

/// Length of the synthetic window, seconds.
pub const SECONDS: i64 = 1800;

/// One request to add.
#[derive(Clone)]
pub struct Req<'a> {
    pub at_ms: i64,
    pub latency_ms: i64,
    pub verb: &'a str,
    pub uri: String,
    pub user: &'a str,
    pub groups: &'a [&'a str],
    pub agent: &'a str,
    pub group: &'a str,
    pub resource: &'a str,
    pub subresource: Option<&'a str>,
    pub namespace: Option<&'a str>,
    pub name: Option<String>,
    pub code: i32,
    pub message: Option<String>,
    pub annotations: Vec<(&'a str, String)>,
    /// The user (and groups) the request impersonates (`kubectl --as`), if any.
    pub as_user: Option<(&'a str, &'a [&'a str])>,
}

impl Default for Req<'_> {
    fn default() -> Self {
        Req {
            at_ms: 0,
            latency_ms: 10,
            verb: "get",
            uri: String::new(),
            user: "",
            groups: &["system:authenticated"],
            agent: "",
            group: "",
            resource: "",
            subresource: None,
            namespace: None,
            name: None,
            code: 200,
            message: None,
            annotations: vec![],
            as_user: None,
        }
    }
}

/// Builds the events of a cluster.
pub struct Cluster {
    pub events: Vec<Event>,
    seq: u64,
    rng: u64,
}

impl Cluster {
    pub fn new() -> Cluster {
        Cluster { events: Vec::new(), seq: 0, rng: 0x9e37_79b9_7f4a_7c15 }
    }

    /// A pseudo-random number in `0..n`.
    pub fn rand(&mut self, n: u64) -> u64 {
        self.rng = self.rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.rng >> 33) % n.max(1)
    }

    /// Adds one request: a `RequestReceived` event (for one request in four, so the checks
    /// must count requests once) and its `ResponseComplete` event.
    pub fn add(&mut self, r: Req) {
        self.seq += 1;
        let received = t0() + Duration::milliseconds(r.at_ms);
        let done = received + Duration::milliseconds(r.latency_ms);
        let object_ref = (!r.resource.is_empty()).then(|| ObjectRef {
            resource: Some(r.resource.to_owned()),
            namespace: r.namespace.map(str::to_owned),
            name: r.name.clone(),
            api_group: (!r.group.is_empty()).then(|| r.group.to_owned()),
            api_version: Some("v1".to_owned()),
            subresource: r.subresource.map(str::to_owned),
            ..ObjectRef::default()
        });
        let mut event = Event {
            kind: "Event".into(),
            api_version: "audit.k8s.io/v1".into(),
            level: "Metadata".into(),
            audit_id: format!("00000000-0000-0000-0000-{:012}", self.seq),
            stage: "ResponseComplete".into(),
            request_uri: r.uri.clone(),
            verb: r.verb.into(),
            user: UserInfo {
                username: r.user.into(),
                groups: Some(r.groups.iter().map(|g| (*g).to_owned()).collect()),
                ..UserInfo::default()
            },
            source_ips: Some(vec!["10.0.0.1".into()]),
            user_agent: Some(r.agent.into()),
            object_ref,
            response_status: Some(ResponseStatus {
                code: Some(r.code),
                message: r.message.clone(),
                ..ResponseStatus::default()
            }),
            request_received_timestamp: Some(received),
            stage_timestamp: Some(done),
            impersonated_user: r.as_user.map(|(name, groups)| UserInfo {
                username: name.to_owned(),
                groups: Some(groups.iter().map(|g| (*g).to_owned()).collect()),
                ..UserInfo::default()
            }),
            annotations: r
                .annotations
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect::<BTreeMap<_, _>>(),
            ..Event::default()
        };
        if self.seq.is_multiple_of(4) {
            let mut early = event.clone();
            early.stage = "RequestReceived".into();
            early.stage_timestamp = Some(received);
            early.response_status = None;
            self.events.push(early);
        }
        event.stage = "ResponseComplete".into();
        self.events.push(event);
    }

    /// Healthy traffic of a 20-node cluster for the half hour.
    pub fn healthy(mut self) -> Cluster {
        for node in 0..20 {
            let user = format!("system:node:node-{node}");
            let user: &'static str = Box::leak(user.into_boxed_str());
            let agent = if node % 2 == 0 {
                "kubelet/v1.29.4 (linux/amd64) kubernetes/55b6b33"
            } else {
                "kubelet/v1.29.2 (linux/amd64) kubernetes/4b8e819"
            };
            let groups: &[&str] = &["system:nodes", "system:authenticated"];
            let mut t = node * 500;
            while t < SECONDS * 1000 {
                let latency = 4 + self.rand(12) as i64;
                self.add(Req {
                    at_ms: t,
                    latency_ms: latency,
                    verb: "update",
                    uri: format!("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-{node}?timeout=10s"),
                    user,
                    groups,
                    agent,
                    group: "coordination.k8s.io",
                    resource: "leases",
                    namespace: Some("kube-node-lease"),
                    name: Some(format!("node-{node}")),
                    ..Req::default()
                });
                if t % 60_000 < 10_000 {
                    let latency = 5 + self.rand(20) as i64;
                    self.add(Req {
                        at_ms: t + 200,
                        latency_ms: latency,
                        verb: "get",
                        uri: format!("/api/v1/namespaces/default/pods/web-{node}"),
                        user,
                        groups,
                        agent,
                        resource: "pods",
                        namespace: Some("default"),
                        name: Some(format!("web-{node}")),
                        ..Req::default()
                    });
                }
                t += 10_000;
            }
            // One long watch per node: minutes of "latency" that the checks must ignore.
            self.add(Req {
                at_ms: 1000 + node * 10,
                latency_ms: 1_500_000,
                verb: "watch",
                uri: "/api/v1/namespaces/kube-system/configmaps?watch=true&resourceVersion=1".into(),
                user,
                groups,
                agent,
                resource: "configmaps",
                namespace: Some("kube-system"),
                ..Req::default()
            });
        }
        let rs = "system:serviceaccount:kube-system:replicaset-controller";
        let rs_agent = "kube-controller-manager/v1.29.4 (linux/amd64) kubernetes/55b6b33/system:serviceaccount:kube-system:replicaset-controller";
        let sa_groups: &[&str] =
            &["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"];
        for i in 0..(SECONDS / 2) {
            let at = i * 2000 + 300;
            let latency = 10 + self.rand(30) as i64;
            self.add(Req {
                at_ms: at,
                latency_ms: latency,
                verb: "update",
                uri: format!("/apis/apps/v1/namespaces/default/replicasets/web-{}/status", i % 5),
                user: rs,
                groups: sa_groups,
                agent: rs_agent,
                group: "apps",
                resource: "replicasets",
                subresource: Some("status"),
                namespace: Some("default"),
                name: Some(format!("web-{}", i % 5)),
                ..Req::default()
            });
            // Pods come and go in balance.
            let verb = if i % 2 == 0 { "create" } else { "delete" };
            let latency = 15 + self.rand(40) as i64;
            self.add(Req {
                at_ms: at + 700,
                latency_ms: latency,
                verb,
                uri: if verb == "create" {
                    "/api/v1/namespaces/default/pods".into()
                } else {
                    format!("/api/v1/namespaces/default/pods/web-{}", i / 2)
                },
                user: rs,
                groups: sa_groups,
                agent: rs_agent,
                resource: "pods",
                namespace: Some("default"),
                name: Some(format!("web-{}", i / 2)),
                code: if verb == "create" { 201 } else { 200 },
                ..Req::default()
            });
        }
        let sched_groups: &[&str] = &["system:authenticated"];
        for i in 0..(SECONDS / 4) {
            let latency = 8 + self.rand(10) as i64;
            self.add(Req {
                at_ms: i * 4000 + 1100,
                latency_ms: latency,
                verb: "create",
                uri: format!("/api/v1/namespaces/default/pods/web-{i}/binding"),
                user: "system:kube-scheduler",
                groups: sched_groups,
                agent: "kube-scheduler/v1.29.4 (linux/amd64) kubernetes/55b6b33/scheduler",
                resource: "pods",
                subresource: Some("binding"),
                namespace: Some("default"),
                name: Some(format!("web-{i}")),
                code: 201,
                ..Req::default()
            });
        }
        for i in 0..(SECONDS / 30) {
            let latency = 100 + self.rand(200) as i64;
            self.add(Req {
                at_ms: i * 30_000 + 5000,
                latency_ms: latency,
                verb: "list",
                uri: "/api/v1/namespaces/default/pods?limit=500".into(),
                user: "alice@example.com",
                agent: "kubectl/v1.29.1 (darwin/arm64) kubernetes/bc401b9",
                resource: "pods",
                namespace: Some("default"),
                ..Req::default()
            });
        }
        self
    }

    /// A service account LISTing every pod from etcd, unpaginated, once a second, ~3 s each.
    pub fn list_storm(mut self) -> Cluster {
        for i in 0..SECONDS {
            let latency = 2500 + self.rand(1000) as i64;
            self.add(Req {
                at_ms: i * 1000 + 37,
                latency_ms: latency,
                verb: "list",
                uri: "/api/v1/pods".into(),
                user: "system:serviceaccount:inventory:pod-inventory",
                groups: &[
                    "system:serviceaccounts",
                    "system:serviceaccounts:inventory",
                    "system:authenticated",
                ],
                agent: "pod-inventory/v0.3.1 (linux/amd64) kubernetes/$Format",
                resource: "pods",
                annotations: vec![
                    ("apiserver.latency.k8s.io/etcd", format!("{:.3}ms", latency as f64 * 0.7)),
                    (
                        "apiserver.latency.k8s.io/serialize-response-object",
                        format!("{:.3}s", latency as f64 * 0.2 / 1000.0),
                    ),
                    ("apiserver.latency.k8s.io/total", format!("{latency}ms")),
                ],
                ..Req::default()
            });
        }
        self
    }

    /// A mutating webhook that times out on the replicaset controller's pod creates.
    pub fn webhook_outage(mut self) -> Cluster {
        for i in 0..(SECONDS / 2) {
            let latency = 10_000 + self.rand(50) as i64;
            self.add(Req {
                at_ms: i * 2000 + 900,
                latency_ms: latency,
                verb: "create",
                uri: "/api/v1/namespaces/default/pods".into(),
                user: "system:serviceaccount:kube-system:replicaset-controller",
                groups: &["system:serviceaccounts", "system:authenticated"],
                agent: "kube-controller-manager/v1.29.4 (linux/amd64) kubernetes/55b6b33/system:serviceaccount:kube-system:replicaset-controller",
                resource: "pods",
                namespace: Some(if i % 10 == 0 { "kube-system" } else { "default" }),
                code: 500,
                message: Some(
                    "Internal error occurred: failed calling webhook \"mutate.kyverno.svc-fail\": failed to call webhook: \
                     Post \"https://kyverno-svc.kyverno.svc:443/mutate/fail?timeout=10s\": context deadline exceeded"
                        .into(),
                ),
                annotations: vec![("apiserver.latency.k8s.io/mutating-webhook", format!("{:.6}s", latency as f64 / 1000.0))],
                ..Req::default()
            });
        }
        self
    }

    /// A client creating Jobs that are never deleted, two a second.
    pub fn object_leak(mut self) -> Cluster {
        for i in 0..(SECONDS * 2) {
            let latency = 20 + self.rand(30) as i64;
            self.add(Req {
                at_ms: i * 500 + 123,
                latency_ms: latency,
                verb: "create",
                uri: "/apis/batch/v1/namespaces/batch-jobs/jobs".into(),
                user: "system:serviceaccount:batch-jobs:job-spawner",
                groups: &["system:serviceaccounts", "system:authenticated"],
                agent: "job-spawner/v1.2.0 (linux/amd64) kubernetes/$Format",
                group: "batch",
                resource: "jobs",
                namespace: Some("batch-jobs"),
                name: Some(format!("run-{i}")),
                code: 201,
                ..Req::default()
            });
        }
        self
    }

    /// A client throttled by API Priority and Fairness: 40% of its requests answered 429, all of
    /// them reads of ConfigMaps; one request in ten reads a Job, and none of those fails.
    pub fn apf_throttled(mut self) -> Cluster {
        for i in 0..(SECONDS * 2) {
            let throttled = i % 5 < 2;
            let latency = if throttled { 5 } else { 40 + self.rand(60) as i64 };
            let job = i % 10 == 9;
            self.add(Req {
                at_ms: i * 500 + 71,
                latency_ms: latency,
                verb: "get",
                uri: if job {
                    format!("/apis/batch/v1/namespaces/batch/jobs/run-{}", i % 3)
                } else {
                    format!("/api/v1/namespaces/batch/configmaps/state-{}", i % 7)
                },
                user: "system:serviceaccount:batch:batch-runner",
                groups: &["system:serviceaccounts", "system:authenticated"],
                agent: "batch-runner/v2.0.0",
                group: if job { "batch" } else { "" },
                resource: if job { "jobs" } else { "configmaps" },
                namespace: Some("batch"),
                name: Some(if job { format!("run-{}", i % 3) } else { format!("state-{}", i % 7) }),
                code: if throttled { 429 } else { 200 },
                message: throttled.then(|| "Too many requests, please try again later.".to_owned()),
                ..Req::default()
            });
        }
        self
    }

    /// A dashboard polling ConfigMaps ten times a second: cheap requests, but most of them.
    pub fn chatty_client(mut self) -> Cluster {
        for i in 0..(SECONDS * 10) {
            let latency = 3 + self.rand(10) as i64;
            self.add(Req {
                at_ms: i * 100 + 11,
                latency_ms: latency,
                verb: "get",
                uri: format!("/api/v1/namespaces/monitoring/configmaps/panel-{}", i % 13),
                user: "system:serviceaccount:monitoring:dashboard",
                groups: &["system:serviceaccounts", "system:authenticated"],
                agent: "dashboard/v3.1.0 (linux/amd64) kubernetes/$Format",
                resource: "configmaps",
                namespace: Some("monitoring"),
                name: Some(format!("panel-{}", i % 13)),
                ..Req::default()
            });
        }
        self
    }

    /// An operator whose secret GETs take about 3 s each (the SLO is 1 s), once a second.
    pub fn slow_client(mut self) -> Cluster {
        for i in 0..SECONDS {
            let latency = 2800 + self.rand(400) as i64;
            self.add(Req {
                at_ms: i * 1000 + 421,
                latency_ms: latency,
                verb: "get",
                uri: format!("/api/v1/namespaces/vault/secrets/token-{}", i % 5),
                user: "system:serviceaccount:vault:vault-operator",
                groups: &["system:serviceaccounts", "system:authenticated"],
                agent: "vault-operator/v0.9.0 (linux/amd64) kubernetes/$Format",
                resource: "secrets",
                namespace: Some("vault"),
                name: Some(format!("token-{}", i % 5)),
                annotations: vec![
                    ("apiserver.latency.k8s.io/apf-queue-wait", format!("{:.3}ms", latency as f64 * 0.55)),
                    ("apiserver.latency.k8s.io/total", format!("{latency}ms")),
                ],
                ..Req::default()
            });
        }
        self
    }

    /// Drops every event whose stage time falls in `[from_s, to_s)` of the window: a hole in
    /// the log.
    pub fn gap(mut self, from_s: i64, to_s: i64) -> Cluster {
        let (from, to) = (t0() + Duration::seconds(from_s), t0() + Duration::seconds(to_s));
        self.events.retain(|e| e.stage_timestamp.is_none_or(|t| t < from || t >= to));
        self
    }
}

/// The canonical batch of `events`, as ingest would store them.
pub fn batch(events: &[Event]) -> arrow::array::RecordBatch {
    audit::batch::events_to_batch(events, InputFormat::K8sLog, &Origin::default(), false).expect("batch")
}

/// Every audit check over `events`, the window the whole log (`AuditRequest::default()`).
pub fn diagnose(events: &[Event]) -> checks::AuditDiagnosis {
    let engine = engine::Engine::from_batches(vec![batch(events)]).expect("engine");
    let runner = checks::engine_runner::EngineRunner::new(&engine, t0());
    checks::diagnose_audit(&runner, &checks::AuditRequest::default()).expect("diagnoses")
}

/// Requests (last stages) only.
pub fn requests(events: &[Event]) -> impl Iterator<Item = &Event> {
    events.iter().filter(|e| e.stage == "ResponseComplete")
}

/// Latency of a request in milliseconds, as the guide computes it (whole milliseconds).
pub fn latency_ms(e: &Event) -> i64 {
    match (e.request_received_timestamp, e.stage_timestamp) {
        (Some(a), Some(b)) => (b - a).num_milliseconds(),
        _ => 0,
    }
}

/// A finding's measure named `label`.
pub fn measure(f: &findings::Finding, label: &str) -> f64 {
    f.evidence
        .measures
        .iter()
        .find(|m| m.label == label)
        .unwrap_or_else(|| panic!("{}: no measure {label:?} in {:?}", f.code, f.evidence.measures))
        .value
}

/// Runs the query of a finding's evidence over `events`, as `apiserver-doctor query` would.
pub fn reproduce(events: &[Event], f: &findings::Finding) -> checks::table::ResultTable {
    use checks::QueryRunner;
    let engine = engine::Engine::from_batches(vec![batch(events)]).expect("engine");
    let q = f.evidence.query.as_deref().unwrap_or_else(|| panic!("{}: no query", f.title));
    checks::engine_runner::EngineRunner::new(&engine, t0()).run(q).unwrap_or_else(|e| panic!("{q}\n{e}"))
}

/// The exact nearest-rank P99 of `values` (Kusto's `percentile`).
pub fn p99(mut values: Vec<i64>) -> f64 {
    values.sort_unstable();
    let rank = ((0.99_f64 * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1;
    values[rank] as f64
}
