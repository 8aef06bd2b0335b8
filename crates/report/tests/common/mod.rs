//! A fixed, realistic report: a 5,000-node cluster hour with an unpaginated LIST storm, a
//! failing Kyverno webhook, a Job leak and etcd near its quota; several findings of each
//! severity, overview charts and tables, YAML, command and advice remedies, and the awkward
//! cases the renderers must survive (markup in a user agent, pipes in table cells, a token in
//! evidence). Shared by the snapshot tests, the browser test and the benchmark.
#![allow(dead_code)]

use chrono::{DateTime, Duration, Utc};
use findings::{
    Chart, Evidence, Finding, InputSummary, Measure, Overview, Point, REPORT_SCHEMA_VERSION, Remedy,
    RemedyKind, Report, Safety, Series, Severity, Subject, Table, ThresholdUsed, TimeRange,
};

/// A service-account token shape (header and payload are base64 of harmless JSON).
pub const LEAKED_JWT: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6InRlc3QifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVmYXVsdDpkZWZhdWx0In0.ZmFrZS1zaWduYXR1cmUtZm9yLXRlc3Rz";

pub const EVIL_AGENT: &str = "evil-agent/1.0 <script>alert(\"x\")</script>";

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
}

fn window() -> TimeRange {
    TimeRange { start: t("2024-05-01T10:00:00Z"), end: t("2024-05-01T11:00:00Z") }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

fn threshold(name: &str, value: f64, unit: &str, source: &str) -> ThresholdUsed {
    ThresholdUsed { name: name.into(), value, unit: unit.into(), source: source.into() }
}

fn remedy(title: &str, kind: RemedyKind, safety: Safety, body: &str) -> Remedy {
    Remedy { title: title.into(), kind, body: body.into(), safety }
}

/// Twelve 5-minute bins of a deterministic shape: `base` rising by `slope` per bin, with a bump.
fn bins(base: f64, slope: f64, bump_at: usize, bump: f64) -> Vec<Point> {
    let start = t("2024-05-01T10:00:00Z");
    (0..12)
        .map(|i| Point {
            x: (start + Duration::minutes(5 * i as i64)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            y: ((base + slope * i as f64 + if i == bump_at { bump } else { 0.0 }) * 10.0).round() / 10.0,
        })
        .collect()
}

pub fn top_clients_chart() -> Chart {
    let clients = [
        ("kubelet", 4_102_311.0),
        ("list-storm-operator/v0.3.1", 2_893_004.0),
        ("kube-controller-manager", 1_250_877.0),
        ("kube-scheduler", 420_112.0),
        ("cilium-agent", 381_950.0),
        ("kyverno", 215_440.0),
        ("kubectl/v1.29.0 (linux/amd64) kubernetes/3f7a50f | plugin", 12_006.0),
        (EVIL_AGENT, 317.0),
    ];
    Chart {
        kind: "barchart".into(),
        title: "Top clients by request count".into(),
        x_label: "UserAgent".into(),
        y_label: "requests".into(),
        series: vec![Series {
            name: "count_".into(),
            points: clients.iter().map(|(x, y)| Point { x: (*x).into(), y: *y }).collect(),
        }],
    }
}

pub fn latency_chart() -> Chart {
    Chart {
        kind: "timechart".into(),
        title: "Average latency per client (5-minute bins)".into(),
        x_label: "start_time".into(),
        y_label: "avg latency (ms)".into(),
        series: vec![
            Series { name: "list-storm-operator/v0.3.1".into(), points: bins(850.0, 310.0, 9, 1200.0) },
            Series { name: "kube-controller-manager".into(), points: bins(42.0, 6.5, 9, 80.0) },
            Series { name: "kubelet".into(), points: bins(18.0, 1.2, 99, 0.0) },
            Series { name: "kyverno".into(), points: bins(120.0, 0.0, 4, 2400.0) },
        ],
    }
}

pub fn p99_table() -> Table {
    let rows: &[&[&str]] = &[
        &["LIST", "pods", "cluster", "2,893,004", "41.2 s", "30 s", "over SLO"],
        &["LIST", "jobs", "namespace", "48,551", "6.8 s", "5 s (warning)", "over warning"],
        &["PATCH", "leases", "namespace", "1,021,540", "0.31 s", "1 s", "ok"],
        &["GET", "configmaps", "resource", "391,205", "0.042 s", "1 s", "ok"],
        &["CREATE", "jobs", "namespace", "52,310", "1.9 s", "1 s", "over SLO"],
    ];
    Table {
        columns: strings(&["verb", "resource", "scope", "requests", "P99", "SLO", "status"]),
        rows: rows.iter().map(|r| strings(r)).collect(),
    }
}

const LIST_STORM_QUERY: &str = r#"AKSAudit
| where TimeGenerated between(datetime(2024-05-01T10:00:00Z)..datetime(2024-05-01T11:00:00Z))
| where UserAgent startswith "list-storm-operator/"
| where Verb == "list" and isempty(tostring(ObjectRef.namespace))
| extend latency = datetime_diff('millisecond', StageReceivedTime, RequestReceivedTime)
| summarize requests = count(), total_seconds = sum(latency) / 1000.0, p99_ms = percentile(latency, 99) by Resource = tostring(ObjectRef.resource)"#;

const FLOW_SCHEMA_YAML: &str = r#"apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: PriorityLevelConfiguration
metadata:
  name: restrict-list-storm-operator
spec:
  type: Limited
  limited:
    nominalConcurrencyShares: 5
    limitResponse:
      type: Queue
      queuing:
        queues: 16
        handSize: 4
        queueLengthLimit: 50
---
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: FlowSchema
metadata:
  name: restrict-list-storm-operator
spec:
  priorityLevelConfiguration:
    name: restrict-list-storm-operator
  matchingPrecedence: 1000
  distinguisherMethod:
    type: ByUser
  rules:
  - subjects:
    - kind: ServiceAccount
      serviceAccount:
        name: list-storm-operator
        namespace: operators
    resourceRules:
    - verbs: ["list"]
      apiGroups: [""]
      resources: ["pods"]
      clusterScope: true
      namespaces: ["*"]"#;

fn list_storm() -> Finding {
    Finding {
        code: "AUD004".into(),
        severity: Severity::Critical,
        title: "list-storm-operator sends 2.9 million unpaginated cluster-wide LISTs of pods".into(),
        subject: Subject::new("client", "list-storm-operator/v0.3.1"),
        time_range: Some(window()),
        summary: "list-storm-operator/v0.3.1 listed every pod in the cluster 804 times a second, without `limit` and without `resourceVersion`, so each LIST was a quorum read from etcd rather than an answer from the watch cache. Together these requests kept the API server busy for 33 hours of request time in one hour. This is the client to tune or throttle first.".into(),
        evidence: Evidence {
            source: "audit".into(),
            measures: vec![
                Measure::new("cluster-scope LIST requests", 2_893_004.0, "count"),
                Measure::new("rate", 803.6, "per-second"),
                Measure::new("share of all requests", 31.27, "percent"),
                Measure::new("without resourceVersion", 100.0, "percent"),
                Measure::new("without limit", 100.0, "percent"),
                Measure::new("P99 latency", 41_200.0, "ms"),
                Measure::new("total request time", 119_880.0, "s"),
            ],
            query: Some(LIST_STORM_QUERY.into()),
            table: Some(Table {
                columns: strings(&["resource", "requests", "no resourceVersion", "no limit", "P99"]),
                rows: vec![
                    strings(&["pods", "2,893,004", "2,893,004", "2,893,004", "41.2 s"]),
                    strings(&["nodes", "0", "0", "0", "–"]),
                ],
            }),
            chart: Some(Chart {
                kind: "timechart".into(),
                title: "LIST pods per 5 minutes".into(),
                x_label: "start_time".into(),
                y_label: "requests".into(),
                series: vec![Series { name: "list-storm-operator/v0.3.1".into(), points: bins(180_000.0, 9_000.0, 9, 60_000.0) }],
            }),
        },
        thresholds: vec![threshold("p99_cluster_list_seconds", 30.0, "s", "SIG-scalability API call latency SLO")],
        remedies: vec![
            remedy(
                "Throttle list-storm-operator with API Priority and Fairness",
                RemedyKind::Yaml,
                Safety::ReviewFirst,
                FLOW_SCHEMA_YAML,
            ),
            remedy(
                "Tune the client",
                RemedyKind::Advice,
                Safety::Safe,
                "Use an informer (watch) instead of polling LISTs. When a LIST is needed, paginate with `limit=500` and set `resourceVersion=0` so the watch cache answers.\n\nThen watch apiserver_flowcontrol_rejected_requests_total{flow_schema=\"restrict-list-storm-operator\"}.",
            ),
        ],
    }
}

fn webhook() -> Finding {
    Finding {
        code: "AUD007".into(),
        severity: Severity::Critical,
        title: "Admission webhook kyverno-resource-mutating-webhook-cfg failed 18,204 calls".into(),
        subject: Subject::new("webhook", "kyverno-resource-mutating-webhook-cfg"),
        time_range: Some(TimeRange { start: t("2024-05-01T10:20:00Z"), end: t("2024-05-01T10:35:00Z") }),
        summary: "Requests failed with `failed calling webhook \"mutate.kyverno.svc-fail\": context deadline exceeded` for 15 minutes. With failurePolicy Fail and a rule that covers kube-system, a failing webhook can deadlock the control plane.".into(),
        evidence: Evidence {
            source: "audit".into(),
            measures: vec![
                Measure::new("failed calls", 18_204.0, "count"),
                Measure::new("average webhook latency", 10_012.0, "ms"),
            ],
            query: Some("AKSAudit\n| where ResponseStatus.message has \"failed calling webhook\"\n| extend webhook = extract(@'failed calling webhook \"([^\"]+)\"', 1, tostring(ResponseStatus.message))\n| summarize failures = count() by webhook, bin(TimeGenerated, 5m)".into()),
            table: None,
            chart: None,
        },
        thresholds: vec![threshold("webhook_latency_seconds", 0.5, "s", "OpenShift enhancement 908")],
        remedies: vec![
            remedy(
                "See the webhook's configuration and the pods behind it",
                RemedyKind::Command,
                Safety::Safe,
                "kubectl get mutatingwebhookconfiguration kyverno-resource-mutating-webhook-cfg -o yaml\nkubectl -n kyverno get pods -o wide",
            ),
            remedy(
                "Stop the webhook from blocking the control plane",
                RemedyKind::Command,
                Safety::ReviewFirst,
                "kubectl patch mutatingwebhookconfiguration kyverno-resource-mutating-webhook-cfg --type=json \\\n  -p='[{\"op\":\"replace\",\"path\":\"/webhooks/0/failurePolicy\",\"value\":\"Ignore\"}]'",
            ),
        ],
    }
}

fn etcd_quota() -> Finding {
    Finding {
        code: "ETC001".into(),
        severity: Severity::Critical,
        title: "etcd database is at 96% of its 8 GB quota".into(),
        subject: Subject::new("etcd", "etcd-0"),
        time_range: None,
        summary: "When the database reaches its quota etcd raises NOSPACE: reads and deletes still work, every write fails.".into(),
        evidence: Evidence {
            source: "metrics:etcd-metrics.txt".into(),
            measures: vec![
                Measure::new("database size", 7_730_941_132.0, "bytes"),
                Measure::new("quota", 8_053_063_680.0, "bytes"),
                Measure::new("in use / total", 0.91, "ratio"),
            ],
            query: None,
            table: None,
            chart: None,
        },
        thresholds: vec![threshold("etcd_quota_critical_ratio", 0.95, "ratio", "etcd-mixin")],
        remedies: vec![],
    }
}

fn job_leak() -> Finding {
    Finding {
        code: "AUD008".into(),
        severity: Severity::Warning,
        title: "48,120 more Jobs created than deleted in namespace batch-runner".into(),
        subject: Subject::new("resource", "jobs in batch-runner"),
        time_range: Some(window()),
        summary: "Finished Jobs are never deleted, so their objects pile up in etcd (the AKS guide's cause 2).".into(),
        evidence: Evidence {
            source: "audit".into(),
            measures: vec![
                Measure::new("creates", 52_310.0, "count"),
                Measure::new("deletes", 4_190.0, "count"),
                Measure::new("net growth", 48_120.0, "count"),
            ],
            query: Some("AKSAudit\n| where ObjectRef.resource == \"jobs\" and Verb in (\"create\", \"delete\")\n| summarize creates = countif(Verb == \"create\"), deletes = countif(Verb == \"delete\") by Namespace = tostring(ObjectRef.namespace)".into()),
            table: Some(Table {
                columns: strings(&["namespace", "creates", "deletes", "net"]),
                rows: vec![strings(&["batch-runner", "52,310", "4,190", "48,120"]), strings(&["ci", "1,204", "1,198", "6"])],
            }),
            chart: Some(Chart {
                kind: "columnchart".into(),
                title: "Net Jobs per 5 minutes".into(),
                x_label: "bin".into(),
                y_label: "net jobs".into(),
                series: vec![Series { name: "batch-runner".into(), points: bins(3900.0, 20.0, 99, 0.0) }],
            }),
        },
        thresholds: vec![threshold("objects_per_type_warning", 10_000.0, "count", "AKS guide (troubleshoot API server and etcd)")],
        remedies: vec![
            remedy(
                "Delete finished Jobs",
                RemedyKind::Command,
                Safety::ReviewFirst,
                "kubectl delete jobs -n batch-runner --field-selector status.successful=1",
            ),
            remedy(
                "Cap the number of Jobs in the namespace",
                RemedyKind::Yaml,
                Safety::ReviewFirst,
                "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: object-counts\n  namespace: batch-runner\nspec:\n  hard:\n    count/jobs.batch: \"5000\"",
            ),
            remedy(
                "Let Kubernetes clean up",
                RemedyKind::Advice,
                Safety::Safe,
                "Set `ttlSecondsAfterFinished` on the Jobs (or on the CronJob's jobTemplate).",
            ),
        ],
    }
}

fn slow_creates() -> Finding {
    Finding {
        code: "AUD003".into(),
        severity: Severity::Warning,
        title: "P99 of CREATE jobs is 1.9 s, above the 1 s SLO".into(),
        subject: Subject::new("resource", "jobs"),
        time_range: Some(window()),
        summary: "Mutating calls should finish within 1 s at the 99th percentile.".into(),
        evidence: Evidence {
            source: "audit".into(),
            measures: vec![Measure::new("P99 latency", 1_900.0, "ms"), Measure::new("requests", 52_310.0, "count")],
            query: Some("AKSAudit\n| where Verb == \"create\" and ObjectRef.resource == \"jobs\"\n| extend latency = datetime_diff('millisecond', StageReceivedTime, RequestReceivedTime)\n| summarize p99latency = percentile(latency, 99)".into()),
            table: None,
            chart: None,
        },
        thresholds: vec![threshold("p99_mutating_seconds", 1.0, "s", "SIG-scalability API call latency SLO")],
        remedies: vec![],
    }
}

fn throttled() -> Finding {
    Finding {
        code: "AUD006".into(),
        severity: Severity::Warning,
        title: "kube-controller-manager got 3,412 responses 429 (Too Many Requests)".into(),
        subject: Subject::new("user", "system:kube-controller-manager"),
        time_range: Some(window()),
        summary: "API Priority and Fairness rejected these requests; the controller retries, so work is delayed, not lost.".into(),
        evidence: Evidence {
            source: "audit".into(),
            measures: vec![Measure::new("429 responses", 3_412.0, "count"), Measure::new("5xx responses", 12.0, "count")],
            query: Some("AKSAudit\n| where ResponseStatus.code == 429\n| summarize count() by User".into()),
            table: None,
            chart: None,
        },
        thresholds: vec![],
        remedies: vec![],
    }
}

fn top_client() -> Finding {
    Finding {
        code: "AUD001".into(),
        severity: Severity::Info,
        title: "kubelet sends 37% of all requests".into(),
        subject: Subject::new("client", "kubelet"),
        time_range: Some(window()),
        summary:
            "Expected on a 5,000-node cluster: one kubelet per node. Versions are folded into one client."
                .into(),
        evidence: Evidence {
            source: "audit".into(),
            measures: vec![
                Measure::new("requests", 4_102_311.0, "count"),
                Measure::new("share of all requests", 37.13, "percent"),
            ],
            query: Some(
                "AKSAudit\n| summarize count() by UserAgent\n| top 10 by count_\n| project UserAgent, count_"
                    .into(),
            ),
            table: Some(Table {
                columns: strings(&["raw user agent", "requests"]),
                rows: vec![
                    strings(&["kubelet/v1.29.4 (linux/amd64) kubernetes/55b6b33", "3,900,120"]),
                    strings(&["kubelet/v1.29.2 (linux/amd64) kubernetes/4b8e819", "202,191"]),
                    strings(&[EVIL_AGENT, "317"]),
                    strings(&["kubectl/v1.29.0 (linux/amd64) kubernetes/3f7a50f | plugin", "12,006"]),
                ],
            }),
            chart: None,
        },
        thresholds: vec![],
        remedies: vec![],
    }
}

fn malformed() -> Finding {
    Finding {
        code: "AUD009".into(),
        severity: Severity::Info,
        title: "3 audit lines were malformed and skipped".into(),
        subject: Subject::new("evidence", "kube-audit/audit-2024-05-01T10.log"),
        time_range: None,
        summary: format!(
            "Line 88213 was cut short. It held a request header `Authorization: Bearer {LEAKED_JWT}` which must never reach a report."
        ),
        evidence: Evidence {
            source: "audit".into(),
            measures: vec![Measure::new("skipped lines", 3.0, "count")],
            query: None,
            table: Some(Table {
                columns: strings(&["line", "problem", "start of the line"]),
                rows: vec![
                    strings(&[
                        "88213",
                        "unexpected end of input",
                        &format!("{{\"kind\":\"Event\",\"token\":\"{LEAKED_JWT}\""),
                    ]),
                    strings(&[
                        "90117",
                        "`stageTimestamp` is not a time",
                        "{\"kind\":\"Event\",\"stageTimestamp\":\"yesterday\"",
                    ]),
                    strings(&["90118", "not JSON", "\u{1b}[31mbinary\u{7} garbage"]),
                ],
            }),
            chart: None,
        },
        thresholds: vec![],
        remedies: vec![],
    }
}

/// The fixed report, with its findings deliberately out of order.
pub fn sample_report() -> Report {
    Report {
        schema_version: REPORT_SCHEMA_VERSION,
        tool_version: "0.1.0".into(),
        window: Some(window()),
        inputs: vec![
            InputSummary {
                kind: "audit".into(),
                source: "kube-audit/".into(),
                records: 10_234_117,
                skipped: 3,
                detected: Some("k8s-log (audit.k8s.io/v1)".into()),
            },
            InputSummary {
                kind: "etcd-metrics".into(),
                source: "etcd-metrics.txt".into(),
                records: 1_532,
                skipped: 0,
                detected: Some("etcd 3.5.12".into()),
            },
        ],
        overview: Overview {
            top_clients: Some(top_clients_chart()),
            latency_over_time: Some(latency_chart()),
            p99_table: Some(p99_table()),
            notes: vec![],
        },
        findings: vec![
            top_client(),
            job_leak(),
            list_storm(),
            malformed(),
            throttled(),
            webhook(),
            slow_creates(),
            etcd_quota(),
        ],
        checks_run: strings(&[
            "AUD001", "AUD002", "AUD003", "AUD004", "AUD005", "AUD006", "AUD007", "AUD008", "AUD009",
            "ETC001",
        ]),
    }
}

/// A report with `n` findings, cycling through the sample's, with distinct subjects.
pub fn report_with(n: usize) -> Report {
    let mut r = sample_report();
    let base = r.findings.clone();
    r.findings = (0..n)
        .map(|i| {
            let mut f = base[i % base.len()].clone();
            f.subject.name = format!("{}-{i}", f.subject.name);
            f
        })
        .collect();
    r
}
