//! MET008 webhook-latency: admission webhooks that are slow to answer.

use findings::{
    CheckInfo, EvidenceKind, Finding, Measure, RemedyKind, Safety, Severity, Subject, Thresholds,
    threshold_names as n,
};

use super::{Draft, format_count, format_seconds, remedy, watch, window_phrase};
use crate::MetricsEvidence;

/// MET008.
pub const INFO: CheckInfo = CheckInfo {
    code: "MET008",
    name: "webhook-latency",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::ApiserverMetrics,
    doc: r#"## What it detects
Admission webhooks whose P99 call latency
(`apiserver_admission_webhook_admission_duration_seconds`, by webhook name and type) is above
0.5 s (OpenShift enhancement 908). A P99 at or above 10 s, the default webhook timeout, is
critical: calls are timing out.

## Why it matters
Every create, update and delete the webhook covers waits for it, in series with every other
webhook. A slow webhook makes the whole API server look slow; a timing-out one with
`failurePolicy: Fail` blocks writes.

## Example
`validate.kyverno.svc-fail` (validating): P99 2.4 s over 5,200 calls.

## Remedy
Scale or fix the webhook's backend, narrow its `rules` and `namespaceSelector` (exclude
`kube-system`), and lower its `timeoutSeconds` so that a slow backend fails fast.

## References
- OpenShift enhancement 908 (webhook latency alerts).
- Kubernetes: admission webhook good practices: https://kubernetes.io/docs/concepts/cluster-administration/admission-webhooks-good-practices/
"#,
};

const TIMEOUT_SECONDS: f64 = 10.0;

/// Runs MET008.
pub fn run(ev: &MetricsEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    let min_observations = t.value(n::LATENCY_MIN_OBSERVATIONS);
    let limit = t.value(n::WEBHOOK_LATENCY_WARNING_SECONDS);
    for api in &ev.apiservers {
        for w in &api.webhooks {
            if w.calls < min_observations {
                continue;
            }
            // A NaN P99 (no calls observed) is never above the limit.
            if w.p99_seconds.is_nan() || w.p99_seconds <= limit {
                continue;
            }
            let severity =
                if w.p99_seconds >= TIMEOUT_SECONDS { Severity::Critical } else { Severity::Warning };
            let kind = if w.webhook_type == "admit" { "mutating" } else { w.webhook_type.as_str() };
            out.push(
                Draft {
                    severity,
                    title: format!("Admission webhook {} answers in {} (P99)", w.name, format_seconds(w.p99_seconds)),
                    subject: Subject::new("webhook", w.name.clone()),
                    summary: format!(
                        "The {kind} webhook `{}` took {} at P99 over {} calls {}. Every write it covers waits for it{}.",
                        w.name,
                        format_seconds(w.p99_seconds),
                        format_count(w.calls),
                        window_phrase(api.window_seconds),
                        if severity == Severity::Critical { "; at 10 s calls hit the default timeout" } else { "" }
                    ),
                    source: format!("metrics:{}", api.source),
                    measures: vec![
                        Measure::new("P99 call latency", w.p99_seconds, "s"),
                        Measure::new("calls", w.calls, "count"),
                    ],
                    table: None,
                    thresholds: vec![n::WEBHOOK_LATENCY_WARNING_SECONDS],
                    remedies: vec![
                        remedy(
                            "Look at the webhook's configuration",
                            RemedyKind::Command,
                            Safety::Safe,
                            format!("kubectl get validatingwebhookconfigurations,mutatingwebhookconfigurations -o json | jq '.items[] | select(.webhooks[].name == \"{}\") | {{name: .metadata.name, webhooks: [.webhooks[] | {{name, failurePolicy, timeoutSeconds, namespaceSelector, rules}}]}}'", w.name),
                        ),
                        remedy(
                            "Narrow the webhook and make it fail fast",
                            RemedyKind::Advice,
                            Safety::ReviewFirst,
                            "Exclude kube-system and other control-plane namespaces with a `namespaceSelector`, match only the resources and operations the policy needs, set `timeoutSeconds` to 1–3 s, and scale the webhook's backend.",
                        ),
                        watch(&format!(
                            "histogram_quantile(0.99, sum by (le) (rate(apiserver_admission_webhook_admission_duration_seconds_bucket{{name=\"{}\"}}[5m])))",
                            w.name
                        )),
                    ],
                }
                .into_finding(&INFO, t),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::WebhookStats;
    use crate::test_support::apiserver;

    fn hook(name: &str, p99: f64) -> WebhookStats {
        WebhookStats {
            name: name.into(),
            webhook_type: "validating".into(),
            calls: 100.0,
            p99_seconds: p99,
            call_failures: 0.0,
            denials: 0.0,
            fail_open: 0.0,
        }
    }

    #[test]
    fn slow_warns_and_timeout_is_critical() {
        let mut api = apiserver();
        api.webhooks =
            vec![hook("fast", 0.1), hook("slow", 2.4), hook("stuck", 10.0), hook("unknown", f64::NAN)];
        let mut out = Vec::new();
        run(
            &MetricsEvidence { apiservers: vec![api], ..Default::default() },
            &Thresholds::default(),
            &mut out,
        );
        let got: Vec<(&str, Severity)> = out.iter().map(|f| (f.subject.name.as_str(), f.severity)).collect();
        assert_eq!(got, [("slow", Severity::Warning), ("stuck", Severity::Critical)]);
    }
}
