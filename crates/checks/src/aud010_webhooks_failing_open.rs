//! AUD010 webhooks-failing-open: admission webhooks with `failurePolicy: Ignore` that the API
//! server could not call, found in the audit annotations it writes for each such failure
//! (`failed-open.validating.webhook.admission.k8s.io/round_0_index_2: NAME`), per webhook.

use findings::threshold_names as th;
use findings::{CheckInfo, EvidenceKind, Remedy, RemedyKind, Safety, Severity, Subject, ThresholdUsed};

use crate::audit::{
    AuditContext, CheckError, CheckOutput, QueryRunner, duration_ms, finding, listed, measure, run_few, times,
};
use crate::client::{CLIENT_KQL, display_client};
use crate::kql::{LATENCY_MS, QUALIFIED_RESOURCE, string_literal};
use crate::table::ResultTable;

/// The check's description.
pub const INFO: CheckInfo = CheckInfo {
    code: "AUD010",
    name: "webhooks-failing-open",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::Audit,
    thresholds: &[th::WEBHOOK_FAILURES_CRITICAL, th::WEBHOOK_LATENCY_WARNING_SECONDS],
    doc: r#"## What it detects

Admission webhooks that fail open: the API server could not call them and let the requests through without them.

When a webhook with `failurePolicy: Ignore` cannot be called (a timeout, a refused
connection, a TLS error), the API server admits the request anyway and writes an audit
annotation naming the webhook: `failed-open.validating.webhook.admission.k8s.io/round_0_index_N`
(or `failed-open.mutating…`). The check counts these per webhook, with the latency of the
requests that carried them, the resources, namespaces and clients affected. Any such failure is
a warning; critical when there are `webhook_failures_critical` (10) or more and the requests
took `webhook_latency_warning_seconds` (0.5 s) or more on average: the failures are then what
makes the API server slow.

## Why it matters

This is the "API server slow, no errors" case: every request the webhook covers waits for the
call to fail (for its `timeoutSeconds`, 10 s by default, when the webhook does not answer),
then succeeds. Nothing fails, so AUD007 (which reads rejections) and error rates stay silent,
while latency checks blame the clients that suffer it. And the policy the webhook enforces, or
the change it makes, was not applied to those requests.

## Example

```text
warning  AUD010  webhook slow-policy.example.com failed open 300 times (10.1 s each on average)
```

## Remedy

Repair the webhook's service, endpoints and pods; lower its `timeoutSeconds` (to 3 s) so
that a failure costs each request less, when its failures took at least a second longer than
that (when they were already short, the finding says so and proposes no patch); if it is no
longer needed, delete its configuration.

## References

- Audit annotations `failed-open.*.webhook.admission.k8s.io/round_{i}_index_{j}`:
  https://kubernetes.io/docs/reference/labels-annotations-taints/audit-annotations/
- Dynamic admission control, failure policy and timeouts:
  https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/
"#,
};

/// The prefix of the annotation keys the API server writes for a webhook that failed open.
const FAILED_OPEN: &str = "failed-open.";

/// The lines that turn requests into one row per webhook that failed open on them (a request
/// two webhooks failed open on gives two rows), with `Webhook` and `Kind`.
fn failures(ctx: &AuditContext) -> String {
    format!(
        "{}\n| where tostring(Annotations) contains {prefix}\n\
         | mv-expand Annotation = Annotations\n\
         | extend Key = tostring(bag_keys(Annotation)[0])\n\
         | where Key startswith {prefix}\n\
         | extend Webhook = tostring(Annotation[Key]), Kind = iff(Key contains \".mutating.\", \"mutating\", \"validating\"), \
         Client = {CLIENT_KQL}, Namespace = tostring(ObjectRef.namespace), latency = {LATENCY_MS}",
        ctx.requests(),
        prefix = string_literal(FAILED_OPEN)
    )
}

/// Failures to call a webhook that fails open, per webhook.
pub fn query(ctx: &AuditContext) -> String {
    format!(
        "{}\n| summarize Failures = count(), AvgLatencyMs = avg(latency), MaxLatencyMs = max(latency), \
         Kinds = make_set(Kind), Resources = make_set({QUALIFIED_RESOURCE}, 5), ResourceCount = dcount({QUALIFIED_RESOURCE}), \
         Namespaces = make_set(Namespace, 10), NamespaceCount = dcount(Namespace), \
         Clients = make_set(Client, 5), ClientCount = dcount(Client) by Webhook\n\
         | order by Failures desc, Webhook asc",
        failures(ctx)
    )
}

/// The query reproducing one webhook's finding: its failures per client, verb, resource and
/// namespace.
pub fn webhook_query(ctx: &AuditContext, webhook: &str) -> String {
    format!(
        "{}\n| where Webhook == {}\n\
         | summarize Failures = count(), AvgLatencyMs = avg(latency), MaxLatencyMs = max(latency) \
         by Kind, Client, Verb, Resource = {QUALIFIED_RESOURCE}, Namespace\n\
         | order by Failures desc, Client asc, Verb asc, Resource asc, Namespace asc",
        failures(ctx),
        string_literal(webhook)
    )
}

/// Runs the check. A store whose manifest counts no `failed-open.` annotation key holds none
/// of these failures, and the query over every request's annotations is not run.
pub fn run_check(ctx: &AuditContext, runner: &dyn QueryRunner) -> Result<CheckOutput, CheckError> {
    if runner.store_totals().and_then(|c| c.failed_open_keys) == Some(0) {
        return Ok(CheckOutput::default());
    }
    let (_, rows) = run_few(runner, query(ctx))?;
    evaluate(ctx, &rows)
}

/// The configuration kinds (`validatingwebhookconfigurations`, …) a webhook's annotations name.
fn resources_of(kinds: &[String]) -> Vec<&'static str> {
    let mut out = Vec::new();
    if kinds.iter().any(|k| k == "validating") {
        out.push("validatingwebhookconfigurations");
    }
    if kinds.iter().any(|k| k == "mutating") {
        out.push("mutatingwebhookconfigurations");
    }
    out
}

/// The timeout proposed for a webhook that fails open slowly, in seconds.
const SHORT_TIMEOUT_SECONDS: f64 = 3.0;

/// What to do about a webhook that fails open: find its configuration, repair its backend,
/// shorten its timeout when its failures took well over the one proposed (`max_ms`, the
/// longest of those requests, when known).
fn remedies(webhook: &str, kinds: &[&str], max_ms: Option<f64>) -> Vec<Remedy> {
    let quoted = findings::text::shell_quote(webhook);
    let all = if kinds.is_empty() {
        "mutatingwebhookconfigurations,validatingwebhookconfigurations".to_owned()
    } else {
        kinds.join(",")
    };
    let kind = kinds.first().copied().unwrap_or("validatingwebhookconfigurations");
    let patch = serde_json::json!({ "webhooks": [{ "name": webhook, "timeoutSeconds": SHORT_TIMEOUT_SECONDS as u64 }] })
        .to_string();
    let mut out = vec![
        Remedy {
            title: format!("Find the configuration that holds webhook {webhook}, and where it calls"),
            kind: RemedyKind::Command,
            body: format!(
                "kubectl get {all} -o custom-columns=KIND:.kind,NAME:.metadata.name,WEBHOOKS:.webhooks[*].name,\
                 TIMEOUT:.webhooks[*].timeoutSeconds,SERVICE:.webhooks[*].clientConfig.service.name,\
                 NAMESPACE:.webhooks[*].clientConfig.service.namespace | grep -F {quoted}"
            ),
            safety: Safety::Safe,
        },
        Remedy {
            title: format!("Repair the service behind webhook {webhook}"),
            kind: RemedyKind::Advice,
            body: "Check the webhook's service has ready endpoints (kubectl get endpointslices -n NAMESPACE \
                   -l kubernetes.io/service-name=SERVICE), that its pods run and answer, that a NetworkPolicy or \
                   firewall lets the API server reach them, and that its certificate matches its caBundle."
                .to_owned(),
            safety: Safety::Safe,
        },
    ];
    // On-call review 52, item 9: "a 3 s timeout" was proposed for a webhook whose failures
    // already took 3.0 s each, a patch that changes nothing. It is proposed only when the
    // failures took at least a second longer (or how long is unknown).
    match max_ms {
        Some(max) if max < (SHORT_TIMEOUT_SECONDS + 1.0) * 1000.0 => out.push(Remedy {
            title: format!("Leave webhook {webhook}'s timeout: its failures are already short"),
            kind: RemedyKind::Advice,
            body: format!(
                "Its failed calls took at most {}, so its timeoutSeconds is already about that or the calls fail sooner (refused, no endpoints): a shorter timeout would save little and would also skip its policy for calls that are merely slow. Repair its service (above).",
                duration_ms(max)
            ),
            safety: Safety::Safe,
        }),
        _ => out.push(Remedy {
            title: format!("Make each failure of webhook {webhook} cost requests less: a 3 s timeout"),
            kind: RemedyKind::Command,
            body: format!(
                "# Replace CONFIGURATION with the name found above.\nkubectl patch {kind} CONFIGURATION --type=strategic -p {}\n\
                 # A shorter timeout also fails calls that are merely slow: the webhook's policy is skipped for them.",
                findings::text::shell_quote(&patch)
            ),
            safety: Safety::ReviewFirst,
        }),
    }
    // Review s54 item 4: this was a sentence of the repair advice, which is marked safe to apply.
    out.push(Remedy {
        title: format!("If webhook {webhook} is no longer used, delete its configuration"),
        kind: RemedyKind::Advice,
        body:
            "Only once nothing needs what it checks or changes (its owner says so): find its configuration \
               with the first command, then `kubectl delete validatingwebhookconfiguration NAME` (or \
               `mutatingwebhookconfiguration`). An operator that manages it puts it back: remove it there."
                .to_owned(),
        safety: Safety::ReviewFirst,
    });
    out
}

/// Turns the per-webhook failures into findings.
pub fn evaluate(ctx: &AuditContext, rows: &ResultTable) -> Result<CheckOutput, CheckError> {
    let r = rows.reader();
    let webhook_col = r.column("Webhook")?;
    let failures_col = r.column("Failures")?;
    let (avg_col, max_col) = (r.column("AvgLatencyMs")?, r.column("MaxLatencyMs")?);
    let kinds_col = r.column("Kinds")?;
    let (resources_col, resource_count) = (r.column("Resources")?, r.column("ResourceCount")?);
    let (namespaces_col, namespace_count) = (r.column("Namespaces")?, r.column("NamespaceCount")?);
    let (clients_col, client_count) = (r.column("Clients")?, r.column("ClientCount")?);
    let crit = ctx.thresholds.get(th::WEBHOOK_FAILURES_CRITICAL);
    let slow = ctx.thresholds.get(th::WEBHOOK_LATENCY_WARNING_SECONDS);
    let mut out = CheckOutput::default();
    for row in &rows.rows {
        let webhook = webhook_col.text(row);
        if webhook.is_empty() {
            continue;
        }
        let failures = failures_col.num(row);
        let latency = avg_col.opt_num(row).zip(max_col.opt_num(row));
        let costly = latency.is_some_and(|(avg, _)| avg >= slow.value * 1000.0);
        let severity = if failures >= crit.value && costly { Severity::Critical } else { Severity::Warning };
        let kinds: Vec<String> = kinds_col.texts(row);
        let kind_word = match (kinds.iter().any(|k| k == "validating"), kinds.iter().any(|k| k == "mutating"))
        {
            (true, true) => "validating and mutating",
            (false, true) => "mutating",
            _ => "validating",
        };
        let clients: Vec<String> =
            clients_col.texts(row).iter().map(|c| display_client(c).to_owned()).collect();
        let times = times(failures);
        let title = match latency {
            Some((avg, _)) if failures.round() == 1.0 => {
                format!("webhook {webhook} failed open once ({})", duration_ms(avg))
            }
            Some((avg, _)) => {
                format!("webhook {webhook} failed open {times} ({} each on average)", duration_ms(avg))
            }
            None => format!("webhook {webhook} failed open {times}"),
        };
        let cost = match latency {
            Some((avg, max)) if costly => format!(
                " Those requests took {} on average, {} at most, above the {} webhook latency threshold: each waited \
                 for the call to fail (up to the webhook's timeoutSeconds, 10 s by default) before it was let through, \
                 which makes the API server slow with no error to show for it.",
                duration_ms(avg),
                duration_ms(max),
                duration_ms(slow.value * 1000.0)
            ),
            Some((avg, max)) => format!(
                " Those requests took {} on average, {} at most: the calls failed fast.",
                duration_ms(avg),
                duration_ms(max)
            ),
            None => {
                " How long those requests took is unknown: their events do not carry both times.".to_owned()
            }
        };
        let mut f = finding(
            INFO.code,
            severity,
            Subject::new("webhook", webhook),
            title,
            format!(
                "The API server could not call {kind_word} admission webhook {webhook} {times} and, as its \
                 failurePolicy is Ignore, admitted the {} without it: {} in namespaces {}, sent by {}. The webhook's \
                 policy or change was not applied to them.{cost}",
                if failures.round() == 1.0 { "request" } else { "requests" },
                listed(&resources_col.texts(row), resource_count.num(row), "(none)"),
                listed(&namespaces_col.texts(row), namespace_count.num(row), "(cluster-scoped)"),
                listed(&clients, client_count.num(row), "(unnamed client)"),
            ),
            ctx,
        );
        f.evidence.measures = vec![measure("calls failed open", failures, "count")];
        if let Some((avg, max)) = latency {
            f.evidence.measures.push(measure("average latency of those requests", avg, "ms"));
            f.evidence.measures.push(measure("maximum latency of those requests", max, "ms"));
        }
        f.evidence.query = Some(webhook_query(ctx, webhook));
        f.thresholds = vec![ThresholdUsed::from(crit)];
        if costly {
            f.thresholds.push(slow.into());
        }
        f.remedies = remedies(webhook, &resources_of(&kinds), latency.map(|(_, max)| max));
        out.findings.push(f);
    }
    Ok(out)
}
