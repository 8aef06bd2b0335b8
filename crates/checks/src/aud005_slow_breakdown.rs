//! AUD005 slow-breakdown: where the time of slow requests went, from the
//! `apiserver.latency.k8s.io/*` audit annotations: etcd, admission webhooks, API Priority and
//! Fairness queue wait, serialization — per client and resource.

use findings::{CheckInfo, EvidenceKind, Severity, Subject, Table, ThresholdUsed, threshold_names as th};

use crate::audit::{
    AuditContext, CheckError, CheckOutput, QueryRunner, counted, duration_ms, finding, measure, percent,
    run_few,
};
use crate::client::{CLIENT_KQL, display_client};
use crate::kql::{GO_MS_FUNCTION, LATENCY_MS, NOT_LONG_RUNNING, QUALIFIED_RESOURCE};
use crate::table::ResultTable;

/// The check's description.
pub const INFO: CheckInfo = CheckInfo {
    code: "AUD005",
    name: "slow-breakdown",
    default_severity: Severity::Info,
    evidence: EvidenceKind::Audit,
    thresholds: &[th::SLOW_REQUEST_SECONDS],
    doc: r#"## What it detects

Where slow requests spent their time: etcd, admission webhooks, APF queue wait, serialization.

Since Kubernetes 1.27 the API server annotates every request slower than 500 ms with where its
time went: `apiserver.latency.k8s.io/etcd`, `…/mutating-webhook`, `…/validating-webhook`,
`…/serialize-response-object`, `…/response-write` (and `…/total`), and since 1.31
`…/apf-queue-wait`, as Go durations (before 1.31, time queued in APF is among the time the
annotations do not cover). This check sums them over the requests that took `slow_request_seconds` (0.5 s)
or longer per client, verb and resource (named with its API group and subresource, as
`pods.metrics.k8s.io` or `pods/binding`), and names the component that took most of the time for
the groups that lost the most time. Long-running requests are excluded.

It only explains: its findings are informational, except when most of a group's time was spent
waiting in API Priority and Fairness queues or in admission webhooks, which it reports as a
warning because neither is the request's own work.

## Why it matters

"Slow" has different fixes depending on where the time goes: etcd time points at etcd (disk,
size, fragmentation) or at LISTs served from etcd; webhook time at an admission webhook;
APF queue wait at a priority level that is too small for its load (or at a client that sends
too much); serialization at huge responses.

## Example

```text
warning  AUD005  create pods by kube-controller-manager/replicaset-controller: 96% of slow-request time in admission webhooks
```

## Remedy

Follow the component: the webhook checks (AUD007) and the webhook's own metrics for webhook
time; etcd's disk and database checks for etcd time; the APF metrics and the throttling
remedy for queue wait; pagination for serialization time.

## References

- Latency annotations in audit events (KEP-3190 "latency tracker"): https://github.com/kubernetes/kubernetes/pull/108853
- Kubernetes audit annotations: https://kubernetes.io/docs/reference/labels-annotations-taints/audit-annotations/
"#,
};

/// Groups reported (the ones that lost the most time to slow requests).
const TOP: usize = 5;

/// The components: the result's column (milliseconds), the column each request's time is summed
/// from (whole nanoseconds), the label, and the annotations added into it.
const COMPONENTS: [(&str, &str, &str, &[&str]); 4] = [
    ("EtcdMs", "EtcdNs", "etcd", &["etcd"]),
    ("WebhookMs", "WebhookNs", "admission webhooks", &["mutating-webhook", "validating-webhook"]),
    ("ApfMs", "ApfNs", "APF queue wait", &["apf-queue-wait"]),
    (
        "SerializeMs",
        "SerializeNs",
        "serialization and response write",
        &["serialize-response-object", "response-write"],
    ),
];

fn annotation(key: &str) -> String {
    format!("go_ms(tostring(Annotations[\"apiserver.latency.k8s.io/{key}\"]))")
}

/// Slow requests per client, verb and resource, with their time split by component. The resource
/// is named with its API group and subresource ([`QUALIFIED_RESOURCE`], as AUD003 names it): by
/// its name alone, metrics-server's `pods.metrics.k8s.io` was added into `pods` (review 48,
/// item 7).
pub fn query(ctx: &AuditContext) -> String {
    let slow_ms = ctx.thresholds.value(th::SLOW_REQUEST_SECONDS) * 1000.0;
    let mut extends = Vec::new();
    let mut sums = Vec::new();
    for (column, ns, _, keys) in COMPONENTS {
        let parts: Vec<String> = keys.iter().map(|k| format!("coalesce({}, 0.0)", annotation(k))).collect();
        // Summed as whole nanoseconds (what the annotations are written in): a sum of floating-
        // point values depends in its last digits on the order they are added in, which the
        // engine does not fix; a sum of integers does not (test
        // `slow_request_time_sums_do_not_depend_on_the_order_events_are_added_in`).
        extends.push(format!("{ns} = tolong(round(({}) * 1000000.0))", parts.join(" + ")));
        sums.push(format!("{column} = sum({ns}) / 1000000.0"));
    }
    format!(
        "{GO_MS_FUNCTION}{}\n| where {NOT_LONG_RUNNING}\n| extend latency = {LATENCY_MS}\n| where latency >= {slow_ms}\n\
         | extend Client = {CLIENT_KQL}, Resource = {QUALIFIED_RESOURCE}\n\
         | extend {}\n\
         | summarize SlowRequests = count(), TotalMs = sum(latency), {} by Client, Verb, Resource\n\
         | order by TotalMs desc, Client asc, Verb asc, Resource asc",
        ctx.requests(),
        extends.join(",\n    "),
        sums.join(", ")
    )
}

/// Runs the check.
pub fn run_check(ctx: &AuditContext, runner: &dyn QueryRunner) -> Result<CheckOutput, CheckError> {
    let (q, rows) = run_few(runner, query(ctx))?;
    evaluate(ctx, &q, &rows)
}

/// Turns the per-group sums into explanations.
pub fn evaluate(ctx: &AuditContext, query: &str, rows: &ResultTable) -> Result<CheckOutput, CheckError> {
    let r = rows.reader();
    let (c_client, c_verb, c_resource, c_slow, c_total) = (
        r.column("Client")?,
        r.column("Verb")?,
        r.column("Resource")?,
        r.column("SlowRequests")?,
        r.column("TotalMs")?,
    );
    let comps = COMPONENTS.map(|(col, _, label, _)| (r.column(col), label));
    let mut out = CheckOutput::default();
    let slow = ctx.thresholds.get(th::SLOW_REQUEST_SECONDS);
    for row in rows.rows.iter().take(TOP) {
        let total = c_total.num(row);
        if total <= 0.0 {
            continue;
        }
        let mut parts: Vec<(&str, f64)> = Vec::new();
        for (col, label) in &comps {
            let col = col.as_ref().map_err(|e| CheckError::Result(e.clone()))?;
            parts.push((label, col.num(row)));
        }
        let annotated: f64 = parts.iter().map(|p| p.1).sum();
        let client = display_client(c_client.text(row));
        let (verb, resource) = (c_verb.text(row), c_resource.text(row));
        let group =
            format!("{verb} {} by {client}", if resource.is_empty() { "(non-resource)" } else { resource });
        let Some(&(top_label, top_ms)) = parts.iter().max_by(|a, b| a.1.total_cmp(&b.1)) else { continue };
        // The annotations and the timestamps are measured apart: when the annotated time is
        // more than the requests took, shares are of the annotated time, never over 100%
        // (diagnose review s38, item 4: "180% of slow-request time in etcd").
        let over = annotated > total * 1.01;
        let base = if over { annotated } else { total };
        let (severity, title) = if annotated <= 0.0 {
            (
                Severity::Info,
                format!(
                    "{group}: {} without latency annotations",
                    counted(c_slow.num(row), "slow request", "slow requests")
                ),
            )
        } else {
            let share = top_ms / base;
            let severity =
                if share >= 0.5 && (top_label == "admission webhooks" || top_label == "APF queue wait") {
                    Severity::Warning
                } else {
                    Severity::Info
                };
            let of = if over { "annotated slow-request time" } else { "slow-request time" };
            (severity, format!("{group}: {} of {of} in {top_label}", percent(share)))
        };
        let mut f = finding(
            INFO.code,
            severity,
            Subject::new("client", client),
            title,
            format!(
                "{} of {group} took {} s or longer, {} in all. {}: {}.{}",
                counted(c_slow.num(row), "request", "requests"),
                slow.value,
                duration_ms(total),
                if over {
                    format!(
                        "Their apiserver.latency.k8s.io annotations add up to {}, more than the requests took by \
                         their timestamps (the two are measured apart; the shares here are of the annotated time)",
                        duration_ms(annotated)
                    )
                } else {
                    format!(
                        "Their apiserver.latency.k8s.io annotations account for {} of it",
                        duration_ms(annotated)
                    )
                },
                parts
                    .iter()
                    .map(|(l, ms)| format!("{l} {}", duration_ms(*ms)))
                    .collect::<Vec<_>>()
                    .join(", "),
                if over {
                    ""
                } else {
                    " The rest is time the annotations do not cover (APF queue wait before Kubernetes 1.31, which \
                     did not annotate it; or requests from API servers older than 1.27, which do not write them)."
                }
            ),
            ctx,
        );
        f.evidence.measures =
            vec![measure("slow requests", c_slow.num(row), "count"), measure("total time", total, "ms")];
        f.evidence.measures.extend(parts.iter().map(|(l, ms)| measure(&format!("time in {l}"), *ms, "ms")));
        f.evidence.query = Some(query.to_owned());
        f.evidence.table = Some(Table {
            columns: std::iter::once("component".to_owned())
                .chain(["time", "share"].map(str::to_owned))
                .collect(),
            rows: parts
                .iter()
                .map(|(l, ms)| vec![(*l).to_owned(), duration_ms(*ms), percent(ms / base)])
                .collect(),
        });
        f.thresholds = vec![ThresholdUsed::from(slow)];
        out.findings.push(f);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Cell;
    use crate::testutil::{ctx_hour, text};

    fn rows(data: &[(&str, &str, &str, f64, [f64; 4])]) -> ResultTable {
        ResultTable::new(
            &[
                "Client",
                "Verb",
                "Resource",
                "SlowRequests",
                "TotalMs",
                "EtcdMs",
                "WebhookMs",
                "ApfMs",
                "SerializeMs",
            ],
            data.iter()
                .map(|(c, v, r, total, parts)| {
                    let mut row = vec![text(c), text(v), text(r), Cell::Int(10), Cell::Real(*total)];
                    row.extend(parts.iter().map(|p| Cell::Real(*p)));
                    row
                })
                .collect(),
        )
    }

    /// Diagnose review s38 item 4: LISTs of 1 s annotated with 1.8 s in etcd and 0.9 s of
    /// serialization read "180% of slow-request time in etcd".
    #[test]
    fn annotations_over_the_measured_time_give_shares_of_the_annotated_time() {
        let ctx = ctx_hour();
        let out = evaluate(
            &ctx,
            "q",
            &rows(&[("y-agent", "list", "pods", 40_000.0, [72_000.0, 0.0, 0.0, 36_000.0])]),
        )
        .expect("evaluates");
        let f = &out.findings[0];
        assert_eq!(f.title, "list pods by y-agent: 67% of annotated slow-request time in etcd");
        assert!(f.summary.contains("add up to 108.0 s, more than the requests took"), "{}", f.summary);
        let table = f.evidence.table.as_ref().expect("table");
        let shares: Vec<&str> = table.rows.iter().map(|r| r[2].as_str()).collect();
        assert_eq!(shares, ["67%", "0%", "0%", "33%"]);
    }

    #[test]
    fn webhook_time_dominating_is_a_warning_etcd_time_an_explanation() {
        let ctx = ctx_hour();
        let out = evaluate(
            &ctx,
            "q",
            &rows(&[
                ("replicaset-controller", "create", "pods", 100_000.0, [1_000.0, 96_000.0, 0.0, 100.0]),
                ("pod-inventory", "list", "pods", 80_000.0, [60_000.0, 0.0, 0.0, 15_000.0]),
            ]),
        )
        .expect("evaluates");
        assert_eq!(out.findings.len(), 2);
        assert_eq!(out.findings[0].severity, Severity::Warning);
        assert_eq!(
            out.findings[0].title,
            "create pods by replicaset-controller: 96% of slow-request time in admission webhooks"
        );
        assert_eq!(out.findings[1].severity, Severity::Info);
        assert_eq!(out.findings[1].title, "list pods by pod-inventory: 75% of slow-request time in etcd");
    }

    #[test]
    fn requests_without_annotations_are_said_to_lack_them() {
        let ctx = ctx_hour();
        let out =
            evaluate(&ctx, "q", &rows(&[("old", "list", "pods", 5_000.0, [0.0; 4])])).expect("evaluates");
        assert!(out.findings[0].title.contains("without latency annotations"));
        assert_eq!(out.findings[0].severity, Severity::Info);
    }
}
