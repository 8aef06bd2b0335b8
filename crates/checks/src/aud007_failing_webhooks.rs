//! AUD007 failing-webhooks: admission webhooks the API server could not call, found in the
//! audit log's status messages (`failed calling webhook "…"`), per webhook.

use findings::{CheckInfo, EvidenceKind, Severity, Subject, Table, ThresholdUsed, threshold_names as th};
use remedy::{WebhookRef, webhook_remedies};

use crate::audit::{
    AuditContext, CheckError, CheckOutput, QueryRunner, count, duration_ms, finding, listed, measure,
    run_few, times,
};
use crate::client::{CLIENT_KQL, display_client};
use crate::kql::{LATENCY_MS, QUALIFIED_RESOURCE, string_literal};
use crate::table::ResultTable;

/// The check's description.
pub const INFO: CheckInfo = CheckInfo {
    code: "AUD007",
    name: "failing-webhooks",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::Audit,
    thresholds: &[th::WEBHOOK_FAILURES_CRITICAL, th::WEBHOOK_LATENCY_WARNING_SECONDS],
    doc: r#"## What it detects

Admission webhooks the API server could not call, per webhook.

Requests the API server rejected because an admission webhook could not be called — the
status message says `failed calling webhook "NAME": …` (a timeout, a refused connection, a
TLS error, no endpoints). It groups them per webhook with the number of failures, the
resources, namespaces and clients affected, the status codes, and the latency of the failed
requests (a webhook that times out holds each request for its `timeoutSeconds`, 10 s by
default). Any failure is a warning; `webhook_failures_critical` (10) failures, or any failure
in `kube-system`, are critical.

## Why it matters

A webhook with `failurePolicy: Fail` that cannot be reached blocks every request it covers.
When it covers pods in `kube-system`, or the webhook's own pods, the control plane can
deadlock: nothing can be created, not even the webhook that would fix it. The AKS guide calls
out Kyverno with `failurePolicy: Fail` as a cause of API server failures.

## Example

```text
critical  AUD007  webhook mutate.kyverno.svc-fail failed 2,418 times (10.0 s each on average)
```

## Remedy

Make the webhook fail open (`failurePolicy: Ignore`): the finding carries a `kubectl patch` of
that field alone. Then repair the webhook's service, endpoints and pods; keep `timeoutSeconds`
short. Excluding `kube-system` with a `namespaceSelector` is a remedy of its own, marked review
first: its patch replaces the webhook's whole selector, so it comes after a command that reads
the current one, whose expressions must be added to it (pass `--manifests` or `--cluster` to get
it written from the selector).

## References

- Dynamic admission control, failure policy and timeouts:
  https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/
- AKS guide, webhook call failures:
  https://learn.microsoft.com/troubleshoot/azure/azure-kubernetes/create-upgrade-delete/troubleshoot-apiserver-etcd
"#,
};

/// Webhook failures per webhook.
pub fn query(ctx: &AuditContext) -> String {
    format!(
        "{}\n| extend Message = tostring(ResponseStatus.message)\n\
         | where Message contains \"failed calling webhook\"\n\
         | extend Webhook = extract(@'failed calling webhook \"([^\"]+)\"', 1, Message), Client = {CLIENT_KQL}, \
         Namespace = tostring(ObjectRef.namespace), latency = {LATENCY_MS}\n\
         | summarize Failures = count(), KubeSystem = countif(Namespace == \"kube-system\"), \
         AvgLatencyMs = avg(latency), MaxLatencyMs = max(latency), Codes = make_set(toint(ResponseStatus.code), 5), \
         Resources = make_set({QUALIFIED_RESOURCE}, 5), ResourceCount = dcount({QUALIFIED_RESOURCE}), \
         Namespaces = make_set(Namespace, 10), NamespaceCount = dcount(Namespace), \
         Clients = make_set(Client, 5), ClientCount = dcount(Client), Messages = make_set(Message, 3) by Webhook\n\
         | order by Failures desc, Webhook asc",
        ctx.requests()
    )
}

/// The query reproducing one webhook's finding: a first row with every failure (the count,
/// the average and maximum latency, the namespaces), then a row per client, verb, resource
/// and namespace.
pub fn webhook_query(ctx: &AuditContext, webhook: &str) -> String {
    format!(
        "let failures = {}\n| extend Message = tostring(ResponseStatus.message)\n\
         | where Message contains {}\n\
         | extend Client = {CLIENT_KQL}, Resource = {QUALIFIED_RESOURCE}, \
         Namespace = tostring(ObjectRef.namespace), latency = {LATENCY_MS};\n\
         union\n\
         \x20   (failures | summarize Failures = count(), AvgLatencyMs = avg(latency), MaxLatencyMs = max(latency), \
         InKubeSystem = countif(Namespace == \"kube-system\"), Namespaces = dcount(Namespace) | extend Rows = \"all failures\"),\n\
         \x20   (failures | summarize Failures = count(), AvgLatencyMs = avg(latency), MaxLatencyMs = max(latency) \
         by Client, Verb, Resource, Namespace | extend Rows = \"by client\")\n\
         | project Rows, Failures, AvgLatencyMs, MaxLatencyMs, InKubeSystem, Namespaces, Client, Verb, Resource, Namespace\n\
         | order by Rows asc, Failures desc, Client asc, Verb asc, Resource asc, Namespace asc",
        ctx.requests(),
        string_literal(&format!("failed calling webhook \"{webhook}\""))
    )
}

/// Runs the check.
pub fn run_check(ctx: &AuditContext, runner: &dyn QueryRunner) -> Result<CheckOutput, CheckError> {
    let (_, rows) = run_few(runner, query(ctx))?;
    evaluate(ctx, &rows)
}

/// Keeps the part of a message that says why the call failed, without object names.
fn reason(message: &str) -> String {
    let tail = message.split_once("\": ").map_or(message, |(_, t)| t);
    let short: String = tail.chars().take(160).collect();
    if short.len() < tail.len() { format!("{short}…") } else { short }
}

/// Turns the per-webhook failures into findings.
pub fn evaluate(ctx: &AuditContext, rows: &ResultTable) -> Result<CheckOutput, CheckError> {
    let r = rows.reader();
    let cols = (
        r.column("Webhook")?,
        r.column("Failures")?,
        r.column("KubeSystem")?,
        r.column("AvgLatencyMs")?,
        r.column("MaxLatencyMs")?,
        r.column("Codes")?,
        r.column("Resources")?,
        r.column("Namespaces")?,
        r.column("Clients")?,
        r.column("Messages")?,
        (r.column("ResourceCount")?, r.column("NamespaceCount")?, r.column("ClientCount")?),
    );
    let crit = ctx.thresholds.get(th::WEBHOOK_FAILURES_CRITICAL);
    let latency_warn = ctx.thresholds.get(th::WEBHOOK_LATENCY_WARNING_SECONDS);
    let mut out = CheckOutput::default();
    for row in &rows.rows {
        let webhook = cols.0.text(row);
        if webhook.is_empty() {
            continue;
        }
        let failures = cols.1.num(row);
        let kube_system = cols.2.num(row);
        // Unknown when no failed request has both timestamps (GKE's entries carry only their
        // own time): said so, never "0 ms" (diagnose review s38, item 2).
        let latency = cols.3.opt_num(row).zip(cols.4.opt_num(row));
        let avg = latency.map_or(0.0, |(avg, _)| avg);
        let severity =
            if failures >= crit.value || kube_system > 0.0 { Severity::Critical } else { Severity::Warning };
        let codes: Vec<String> = match cols.5.cell(row) {
            crate::table::Cell::List(items) => {
                items.iter().filter_map(|c| c.as_f64()).map(|c| format!("{c:.0}")).collect()
            }
            _ => Vec::new(),
        };
        let clients: Vec<String> = cols.8.texts(row).iter().map(|c| display_client(c).to_owned()).collect();
        let reasons: Vec<String> = cols.9.texts(row).iter().map(|m| reason(m)).collect();
        let mut f = finding(
            INFO.code,
            severity,
            Subject::new("webhook", webhook),
            match latency {
                Some((avg, _)) if failures.round() == 1.0 => {
                    format!("webhook {webhook} failed once ({})", duration_ms(avg))
                }
                Some((avg, _)) => format!(
                    "webhook {webhook} failed {} ({} each on average)",
                    times(failures),
                    duration_ms(avg)
                ),
                None => format!("webhook {webhook} failed {}", times(failures)),
            },
            format!(
                "The API server could not call admission webhook {webhook} {} and rejected the {} (status {}): {} in \
                 namespaces {}{}, sent by {}. {}{}. Reason: {}.",
                times(failures),
                if failures.round() == 1.0 { "request" } else { "requests" },
                codes.join(", "),
                listed(&cols.6.texts(row), cols.10.0.num(row), "(none)"),
                listed(&cols.7.texts(row), cols.10.1.num(row), "(cluster-scoped)"),
                if kube_system > 0.0 {
                    format!(" ({} in kube-system)", count(kube_system))
                } else {
                    String::new()
                },
                listed(&clients, cols.10.2.num(row), "(unnamed client)"),
                match latency {
                    Some((avg, max)) => {
                        format!(
                            "Failed requests took {} on average, {} at most",
                            duration_ms(avg),
                            duration_ms(max)
                        )
                    }
                    None =>
                        "How long the failed requests took is unknown: their events do not carry both the \
                             time the request was received and the time of its last stage"
                            .to_owned(),
                },
                // The threshold this finding lists is one it applies (docs review 27 §10: it was
                // listed, but nothing said what it had found).
                if avg >= latency_warn.value * 1000.0 {
                    format!(
                        ", above the {} webhook latency threshold: each call held its request (and an API server \
                         worker) that long before failing",
                        duration_ms(latency_warn.value * 1000.0)
                    )
                } else {
                    String::new()
                },
                reasons.first().map_or("not given", String::as_str)
            ),
            ctx,
        );
        f.evidence.measures = vec![
            measure("failed calls", failures, "count"),
            measure("failed calls in kube-system", kube_system, "count"),
        ];
        if let Some((avg, max)) = latency {
            f.evidence.measures.push(measure("average latency of failed requests", avg, "ms"));
            f.evidence.measures.push(measure("maximum latency of failed requests", max, "ms"));
        }
        f.evidence.query = Some(webhook_query(ctx, webhook));
        f.evidence.table = Some(Table {
            columns: vec!["example failure".to_owned()],
            rows: reasons.into_iter().map(|m| vec![m]).collect(),
        });
        f.thresholds = vec![ThresholdUsed::from(crit)];
        if avg >= latency_warn.value * 1000.0 {
            f.thresholds.push(latency_warn.into());
        }
        f.remedies = webhook_remedies(&WebhookRef { webhook: webhook.to_owned(), configuration: None });
        out.findings.push(f);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Cell;
    use crate::testutil::{ctx_hour, list, text};

    fn rows(data: &[(&str, f64, f64)]) -> ResultTable {
        ResultTable::new(
            &[
                "Webhook",
                "Failures",
                "KubeSystem",
                "AvgLatencyMs",
                "MaxLatencyMs",
                "Codes",
                "Resources",
                "Namespaces",
                "Clients",
                "Messages",
                "ResourceCount",
                "NamespaceCount",
                "ClientCount",
            ],
            data.iter()
                .map(|(w, n, ks)| {
                    vec![
                        text(w),
                        Cell::Real(*n),
                        Cell::Real(*ks),
                        Cell::Real(10_000.0),
                        Cell::Real(10_050.0),
                        Cell::List(vec![Cell::Int(500)]),
                        list(&["pods"]),
                        list(&["default"]),
                        list(&["kube-controller-manager/replicaset-controller"]),
                        list(&[&format!(
                            "Internal error occurred: failed calling webhook \"{w}\": failed to call webhook: Post \"https://kyverno-svc.kyverno.svc:443/mutate?timeout=10s\": context deadline exceeded"
                        )]),
                        Cell::Real(1.0),
                        Cell::Real(1.0),
                        Cell::Real(1.0),
                    ]
                })
                .collect(),
        )
    }

    /// Diagnose review s38 item 2: on GKE's entries (no request-received time) a failing
    /// webhook was said to take "0 ms each on average"; and one failure read "failed 1 times".
    #[test]
    fn a_webhook_whose_failures_have_no_latency_is_not_said_to_take_0_ms() {
        let ctx = ctx_hour();
        let mut table =
            rows(&[("mutate.kyverno.svc-fail", 243.0, 0.0), ("validate.gatekeeper.sh", 1.0, 0.0)]);
        for i in [3, 4] {
            table.rows[0][i] = Cell::Null;
        }
        let out = evaluate(&ctx, &table).expect("evaluates");
        let f = &out.findings[0];
        assert_eq!(f.title, "webhook mutate.kyverno.svc-fail failed 243 times");
        assert!(f.summary.contains("How long the failed requests took is unknown"), "{}", f.summary);
        assert!(!f.summary.contains("0 ms"), "{}", f.summary);
        assert!(
            f.evidence.measures.iter().all(|m| !m.label.contains("latency")),
            "{:?}",
            f.evidence.measures
        );
        let one = &out.findings[1];
        assert_eq!(one.title, "webhook validate.gatekeeper.sh failed once (10.0 s)");
        assert!(
            one.summary.contains("validate.gatekeeper.sh once and rejected the request (status 500)"),
            "{}",
            one.summary
        );
    }

    /// Review of issue 5: the summary named 10 of the 60 namespaces a webhook failed in, and
    /// did not say there were more.
    #[test]
    fn namespaces_clients_and_resources_left_unnamed_are_counted() {
        let ctx = ctx_hour();
        let mut table = rows(&[("mutate.kyverno.svc-fail", 751.0, 0.0)]);
        let names: Vec<String> = (0..10).map(|i| format!("ns-{i}")).collect();
        let at = |c: &str| table.columns.iter().position(|x| x == c).expect("column");
        let (ns, ns_n, cl_n) = (at("Namespaces"), at("NamespaceCount"), at("ClientCount"));
        table.rows[0][ns] = list(&names.iter().map(String::as_str).collect::<Vec<_>>());
        table.rows[0][ns_n] = Cell::Real(60.0);
        table.rows[0][cl_n] = Cell::Real(6.0);
        let out = evaluate(&ctx, &table).expect("evaluates");
        let summary = &out.findings[0].summary;
        assert!(
            summary.contains(
                "in namespaces ns-0, ns-1, ns-2, ns-3, ns-4, ns-5, ns-6, ns-7, ns-8, ns-9 and 50 more, "
            ),
            "{summary}"
        );
        assert!(
            summary.contains("sent by kube-controller-manager/replicaset-controller and 5 more."),
            "{summary}"
        );
        assert!(summary.contains(": pods in namespaces"), "{summary}");
    }

    #[test]
    fn failing_webhooks_are_named_with_their_fix() {
        let ctx = ctx_hour();
        let out = evaluate(
            &ctx,
            &rows(&[
                ("mutate.kyverno.svc-fail", 2418.0, 0.0),
                ("validate.example.com", 3.0, 0.0),
                ("rare.kube-system.io", 1.0, 1.0),
            ]),
        )
        .expect("evaluates");
        let got: Vec<(Severity, &str)> =
            out.findings.iter().map(|f| (f.severity, f.subject.name.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (Severity::Critical, "mutate.kyverno.svc-fail"),
                (Severity::Warning, "validate.example.com"),
                (Severity::Critical, "rare.kube-system.io"),
            ]
        );
        let f = &out.findings[0];
        assert_eq!(f.title, "webhook mutate.kyverno.svc-fail failed 2,418 times (10.0 s each on average)");
        assert!(f.summary.contains("context deadline exceeded"), "{}", f.summary);
        assert!(f.remedies.iter().any(|r| r.body.contains("\"failurePolicy\":\"Ignore\"")));
        assert!(f.thresholds.iter().any(|t| t.name == "webhook_latency_warning_seconds"));
        assert!(f.summary.contains("at most, above the 500 ms webhook latency threshold"), "{}", f.summary);
        // Failing fast (under the threshold) neither lists it nor says so.
        let mut table = rows(&[("validate.example.com", 3.0, 0.0)]);
        table.rows[0][3] = Cell::Real(20.0);
        let out = evaluate(&ctx, &table).expect("evaluates");
        let quick = &out.findings[0];
        assert!(!quick.thresholds.iter().any(|t| t.name == "webhook_latency_warning_seconds"));
        assert!(!quick.summary.contains("latency threshold"), "{}", quick.summary);
    }

    #[test]
    fn the_reason_drops_the_webhook_name_and_is_bounded() {
        assert_eq!(reason("failed calling webhook \"x\": timeout"), "timeout");
        assert!(reason(&"y".repeat(500)).chars().count() <= 161);
    }
}
