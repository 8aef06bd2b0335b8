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
    thresholds: &[n::LATENCY_MIN_OBSERVATIONS, n::WEBHOOK_LATENCY_WARNING_SECONDS],
    doc: r#"## What it detects
Admission webhooks whose P99 call latency
(`apiserver_admission_webhook_admission_duration_seconds`, by webhook name and type) is above
0.5 s (OpenShift enhancement 908). A P99 above 10 s, the default webhook timeout, is
critical: calls are timing out. When `diagnose` has the webhook's configuration
(`--manifests`, `--cluster`), its own `timeoutSeconds` is used instead, named with the file and
line it was read from, and the P99 is given as at most that timeout (no call outlives it),
not as an interpolation in a bucket that reaches past it.

A histogram only says which bucket the P99 falls in: it is above the bucket's lower bound and
at most its upper bound. The check judges by the lower bound, which the P99 certainly exceeds
(more than 1% of calls took longer), and says so. The finding gives the bucket, and the value
`histogram_quantile` interpolates linearly inside it as an estimate (≈); a P99 in the `+Inf`
bucket is given only as above the largest finite bound, with no number invented beyond it.

## Why it matters
Every create, update and delete the webhook covers waits for it, in series with every other
webhook. A slow webhook makes the whole API server look slow; a timing-out one with
`failurePolicy: Fail` blocks writes.

## Example
`validate.kyverno.svc-fail` (validating): P99 in the (1, 2.5] s bucket, ≈2.48 s by linear
interpolation (as histogram_quantile), over 3,400 calls.

## Remedy
Scale or fix the webhook's backend, narrow its `rules` and `namespaceSelector` (exclude
`kube-system`), and lower its `timeoutSeconds` so that a slow backend fails fast.

## References
- OpenShift enhancement 908 (webhook latency alerts).
- Kubernetes: admission webhook good practices: https://kubernetes.io/docs/concepts/cluster-administration/admission-webhooks-good-practices/
"#,
};

/// The default webhook timeout (`timeoutSeconds`), seconds.
const TIMEOUT_SECONDS: f64 = 10.0;

/// A bucket bound as Prometheus writes `le`: `0.5`, `2.5`, `10`.
fn bound(s: f64) -> String {
    format!("{s}")
}

/// Runs MET008.
pub fn run(ev: &MetricsEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    let min_observations = t.value(n::LATENCY_MIN_OBSERVATIONS);
    let limit = t.value(n::WEBHOOK_LATENCY_WARNING_SECONDS);
    for api in &ev.apiservers {
        for w in &api.webhooks {
            if w.calls < min_observations {
                continue;
            }
            // No observations: no P99.
            let Some(p99) = w.p99 else { continue };
            // The P99 is above its bucket's lower bound for certain, anywhere up to the upper
            // bound: judged by the lower bound, a finding claims no more than the histogram
            // shows.
            let lower = p99.lower;
            if lower.is_nan() || lower < limit {
                continue;
            }
            // The webhook's own timeout when its configuration was given (on-call review 52,
            // item 3: a webhook set to 30 s was "over the 10 s default timeout: calls are timing
            // out", and one cut off at 10 s was estimated at ≈24.85 s).
            let configured = ev.webhook_timeouts.get(&w.name);
            let (timeout, timeout_words) = match configured {
                Some(t) => {
                    (t.seconds, format!("its {} s timeout (`timeoutSeconds`, {})", bound(t.seconds), t.from))
                }
                None => (TIMEOUT_SECONDS, format!("the {} s default timeout", bound(TIMEOUT_SECONDS))),
            };
            let severity = if lower >= timeout { Severity::Critical } else { Severity::Warning };
            let kind = if w.webhook_type == "admit" { "mutating" } else { w.webhook_type.as_str() };
            let over = if severity == Severity::Critical {
                match configured {
                    Some(t) => format!("over its {} s timeout", bound(t.seconds)),
                    None => format!("over the {} s default timeout", bound(TIMEOUT_SECONDS)),
                }
            } else {
                format!("over {} s", bound(limit))
            };
            // No call outlives the timeout its configuration sets: the bucket's upper bound and
            // the interpolation are cut to it (when the data agrees, i.e. it is not below the
            // bucket's lower bound).
            let cut = configured.map(|t| t.seconds).filter(|c| *c >= lower && *c < p99.upper);
            // The bucket starts at the timeout: the slowest calls are those cut off at it (UX
            // review: "P99 above 10 s" beside "P99 at most 10 s" said that in two rows).
            let hits = cut.filter(|c| *c <= lower);
            let (where_, estimate) = match cut {
                Some(c) if hits.is_some() => (
                    format!("at the webhook's {} s timeout", bound(c)),
                    format!(
                        "its bucket, ({}, {}] s, starts at the timeout and no call outlives it, so the slowest 1% of \
                         calls hit the timeout (the interpolation in the bucket, {}, cannot be)",
                        bound(lower),
                        bound(p99.upper),
                        format_seconds(p99.interpolated)
                    ),
                ),
                Some(c) => (
                    format!("in the ({}, {}] s bucket", bound(lower), bound(p99.upper)),
                    format!(
                        "calls end at the webhook's {} s timeout, so it is at most about {} s (the interpolation in the bucket, {}, cannot be: no call outlives its timeout)",
                        bound(c),
                        bound(c),
                        format_seconds(p99.interpolated)
                    ),
                ),
                None if p99.unbounded() => (
                    format!("above {} s (the largest finite bucket)", bound(lower)),
                    "the histogram bounds it no further, so no value is given".to_owned(),
                ),
                None => (
                    format!("in the ({}, {}] s bucket", bound(lower), bound(p99.upper)),
                    format!(
                        "≈{} by linear interpolation (as histogram_quantile), an estimate the buckets cannot confirm",
                        format_seconds(p99.interpolated)
                    ),
                ),
            };
            let verdict = if severity == Severity::Critical && configured.is_none() {
                format!(
                    "above the {} s default webhook timeout: calls are timing out",
                    bound(TIMEOUT_SECONDS)
                )
            } else if severity == Severity::Critical {
                format!("at or above {timeout_words}: calls are timing out")
            } else if configured.is_some() {
                format!("above the {} s warning level, under {timeout_words}", bound(limit))
            } else {
                format!("above the {} s warning level", bound(limit))
            };
            let mut measures = Vec::new();
            match hits {
                Some(c) => measures.push(Measure::new(
                    "P99 at the webhook's timeout (timeoutSeconds: calls hit it)",
                    c,
                    "s",
                )),
                None => measures.push(Measure::new("P99 above (its bucket's lower bound)", lower, "s")),
            }
            match cut {
                // Said by the one row above.
                Some(_) if hits.is_some() => {}
                Some(c) => measures.push(Measure::new("P99 at most (the webhook's timeout)", c, "s")),
                None if !p99.unbounded() => {
                    measures.push(Measure::new("P99 at most (its bucket's upper bound)", p99.upper, "s"));
                    measures.push(Measure::new(
                        "P99 ≈ (linear interpolation, as histogram_quantile)",
                        p99.interpolated,
                        "s",
                    ));
                }
                None => {}
            }
            if let Some(t) = configured.filter(|_| hits.is_none()) {
                measures.push(Measure::new("timeoutSeconds (its configuration)", t.seconds, "s"));
            }
            measures.push(Measure::new("calls", w.calls, "count"));
            out.push(
                Draft {
                    severity,
                    title: match hits {
                        Some(c) => format!(
                            "Admission webhook {}: P99 at its {} s timeout: calls are timing out",
                            w.name,
                            bound(c)
                        ),
                        None => format!("Admission webhook {}: P99 {where_}, {over}", w.name),
                    },
                    subject: Subject::new("webhook", w.name.clone()),
                    summary: format!(
                        "More than 1% of the {} calls to the {kind} webhook `{}` {} took longer than {} s: the P99 \
                         lies {where_}; {estimate}. Judged by the bucket's lower bound, {} s, which it certainly \
                         exceeds, the P99 is {verdict}. Every write it covers waits for it.",
                        format_count(w.calls),
                        findings::text::literal_backticks(&w.name),
                        window_phrase(api.window_seconds),
                        bound(lower),
                        bound(lower),
                    ),
                    source: format!("metrics:{}", api.source),
                    measures,
                    table: None,
                    thresholds: vec![n::WEBHOOK_LATENCY_WARNING_SECONDS],
                    remedies: vec![
                        remedy(
                            "Look at the webhook's configuration",
                            RemedyKind::Command,
                            Safety::Safe,
                            format!("kubectl get validatingwebhookconfigurations,mutatingwebhookconfigurations -o json | jq --arg name {} '.items[] | select(any(.webhooks[]?; .name == $name)) | {{name: .metadata.name, webhooks: [.webhooks[] | select(.name == $name) | {{name, failurePolicy, timeoutSeconds, namespaceSelector, rules}}]}}'", findings::text::shell_quote(&w.name)),
                        ),
                        remedy(
                            "Narrow the webhook and make it fail fast",
                            RemedyKind::Advice,
                            Safety::ReviewFirst,
                            "Exclude kube-system and other control-plane namespaces with a `namespaceSelector`, match only the resources and operations the policy needs, set `timeoutSeconds` to 1–3 s, and scale the webhook's backend.",
                        ),
                        watch(&format!(
                            "histogram_quantile(0.99, sum by (le) (rate(apiserver_admission_webhook_admission_duration_seconds_bucket{{name={}}}[5m])))",
                            findings::text::double_quoted_literal(&w.name)
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
    use crate::quantile::{Bucket, QuantileBucket, quantile_bucket};
    use crate::test_support::apiserver;

    fn hook(name: &str, p99: Option<(f64, f64, f64)>) -> WebhookStats {
        WebhookStats {
            name: name.into(),
            webhook_type: "validating".into(),
            calls: 100.0,
            p99: p99.map(|(lower, upper, interpolated)| QuantileBucket { lower, upper, interpolated }),
            call_failures: 0.0,
            denials: 0.0,
            fail_open: 0.0,
        }
    }

    fn findings(hooks: Vec<WebhookStats>) -> Vec<Finding> {
        let mut api = apiserver();
        api.webhooks = hooks;
        let mut out = Vec::new();
        run(
            &MetricsEvidence { apiservers: vec![api], ..Default::default() },
            &Thresholds::default(),
            &mut out,
        );
        out
    }

    fn measure(f: &Finding, label: &str) -> Option<f64> {
        f.evidence.measures.iter().find(|m| m.label.starts_with(label)).map(|m| m.value)
    }

    #[test]
    fn slow_warns_and_timeout_is_critical() {
        let out = findings(vec![
            hook("fast", Some((0.025, 0.1, 0.09))),
            hook("slow", Some((1.0, 2.5, 2.4))),
            hook("stuck", Some((10.0, 25.0, 24.85))),
            hook("unknown", None),
        ]);
        let got: Vec<(&str, Severity)> = out.iter().map(|f| (f.subject.name.as_str(), f.severity)).collect();
        assert_eq!(got, [("slow", Severity::Warning), ("stuck", Severity::Critical)]);
        assert_eq!(out[0].title, "Admission webhook slow: P99 in the (1, 2.5] s bucket, over 0.5 s");
        assert_eq!(
            out[1].title,
            "Admission webhook stuck: P99 in the (10, 25] s bucket, over the 10 s default timeout"
        );
    }

    #[test]
    fn severity_is_judged_by_the_bucket_lower_bound_not_the_interpolated_value() {
        let out = findings(vec![
            // Interpolated above 0.5 s, but the P99 may be 0.3 s: not certainly slow.
            hook("maybe-slow", Some((0.25, 1.0, 0.9))),
            // Interpolated at the 10 s timeout, but certainly only above 2.5 s: a warning.
            hook("slow", Some((2.5, 10.0, 10.0))),
            // Certainly above 0.5 s, though interpolated just above it.
            hook("barely", Some((0.5, 1.0, 0.51))),
        ]);
        let got: Vec<(&str, Severity)> = out.iter().map(|f| (f.subject.name.as_str(), f.severity)).collect();
        assert_eq!(got, [("slow", Severity::Warning), ("barely", Severity::Warning)]);
        assert!(
            out[0].summary.contains(
                "Judged by the bucket's lower bound, 2.5 s, which it certainly exceeds, the P99 is above"
            ),
            "{}",
            out[0].summary
        );
    }

    #[test]
    fn the_p99_is_reported_as_its_bucket_with_the_interpolation_as_an_estimate() {
        // The demo's webhook: calls that time out at 10 s land in (10, 25]; histogram_quantile
        // interpolates 24.85 s, which no call took.
        let buckets: Vec<Bucket> = [
            (0.005, 0.0),
            (0.025, 0.0),
            (0.1, 0.0),
            (0.5, 0.0),
            (1.0, 0.0),
            (2.5, 0.0),
            (10.0, 0.0),
            (25.0, 200.0),
            (f64::INFINITY, 200.0),
        ]
        .map(|(upper_bound, count)| Bucket { upper_bound, count })
        .to_vec();
        let mut w = hook("mutate.kyverno.svc-fail", None);
        w.webhook_type = "admit".into();
        w.calls = 200.0;
        w.p99 = quantile_bucket(0.99, &buckets);
        let out = findings(vec![w]);
        let f = &out[0];
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!(
            f.title,
            "Admission webhook mutate.kyverno.svc-fail: P99 in the (10, 25] s bucket, over the 10 s default timeout"
        );
        assert!(!f.title.contains("24.85"), "{}", f.title);
        assert!(
            f.summary.contains(
                "lies in the (10, 25] s bucket; ≈24.85 s by linear interpolation (as histogram_quantile)"
            ),
            "{}",
            f.summary
        );
        assert!(f.summary.contains("More than 1% of the 200 calls to the mutating webhook"), "{}", f.summary);
        assert_eq!(measure(f, "P99 above"), Some(10.0));
        assert_eq!(measure(f, "P99 at most"), Some(25.0));
        assert!((measure(f, "P99 ≈").expect("estimate") - 24.85).abs() < 1e-9);
    }

    #[test]
    fn a_p99_in_the_inf_bucket_is_only_above_the_largest_finite_bound() {
        let out = findings(vec![hook("hung", Some((25.0, f64::INFINITY, 25.0)))]);
        let f = &out[0];
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!(
            f.title,
            "Admission webhook hung: P99 above 25 s (the largest finite bucket), over the 10 s default timeout"
        );
        assert!(f.summary.contains("no value is given"), "{}", f.summary);
        assert!(!f.summary.contains('≈'), "{}", f.summary);
        assert_eq!(measure(f, "P99 above"), Some(25.0));
        assert_eq!(measure(f, "P99 at most"), None);
        assert_eq!(measure(f, "P99 ≈"), None);
    }

    /// On-call review 52, item 3: with the configurations given, a webhook set to 30 s was
    /// "over the 10 s default timeout: calls are timing out" (critical), and one cut off at its
    /// 10 s timeout was estimated at ≈24.85 s.
    #[test]
    fn the_webhooks_own_timeout_judges_its_p99_and_bounds_the_estimate() {
        let judged = |timeout: Option<f64>| {
            let mut api = apiserver();
            api.webhooks = vec![hook("stuck", Some((10.0, 25.0, 24.85)))];
            let mut ev = MetricsEvidence { apiservers: vec![api], ..Default::default() };
            if let Some(seconds) = timeout {
                ev.webhook_timeouts.insert(
                    "stuck".into(),
                    crate::WebhookTimeout { seconds, from: "webhooks.yaml:12".into() },
                );
            }
            let mut out = Vec::new();
            run(&ev, &Thresholds::default(), &mut out);
            out.remove(0)
        };
        let slow = judged(Some(30.0));
        assert_eq!(slow.severity, Severity::Warning);
        assert_eq!(slow.title, "Admission webhook stuck: P99 in the (10, 25] s bucket, over 0.5 s");
        assert!(
            slow.summary.contains(
                "the P99 is above the 0.5 s warning level, under its 30 s timeout (`timeoutSeconds`, webhooks.yaml:12)."
            ),
            "{}",
            slow.summary
        );
        assert!(slow.summary.contains("≈24.85 s by linear interpolation"), "{}", slow.summary);
        // Its bucket starts at its 10 s timeout: calls hit the timeout, said in one row (UX
        // review: "P99 above 10 s" beside "P99 at most 10 s").
        let cut = judged(Some(10.0));
        assert_eq!(cut.severity, Severity::Critical);
        assert_eq!(cut.title, "Admission webhook stuck: P99 at its 10 s timeout: calls are timing out");
        assert!(
            cut.summary.contains(
                "the P99 lies at the webhook's 10 s timeout; its bucket, (10, 25] s, starts at the timeout and no \
                 call outlives it, so the slowest 1% of calls hit the timeout (the interpolation in the bucket, \
                 24.85 s, cannot be)"
            ),
            "{}",
            cut.summary
        );
        assert!(
            !cut.evidence.measures.iter().any(|m| m.label.starts_with("P99 ≈")),
            "{:?}",
            cut.evidence.measures
        );
        let labels: Vec<(&str, f64)> =
            cut.evidence.measures.iter().map(|m| (m.label.as_str(), m.value)).collect();
        assert_eq!(
            labels,
            [("P99 at the webhook's timeout (timeoutSeconds: calls hit it)", 10.0), ("calls", 100.0)]
        );
        // A timeout inside the bucket still bounds it from above.
        let inside = judged(Some(20.0));
        assert_eq!(inside.title, "Admission webhook stuck: P99 in the (10, 25] s bucket, over 0.5 s");
        assert!(
            inside.summary.contains("calls end at the webhook's 20 s timeout, so it is at most about 20 s"),
            "{}",
            inside.summary
        );
        assert_eq!(measure(&inside, "P99 above"), Some(10.0));
        assert_eq!(measure(&inside, "P99 at most"), Some(20.0));
        assert_eq!(measure(&inside, "timeoutSeconds"), Some(20.0));
        // Unknown: the default, as before.
        let default = judged(None);
        assert_eq!(
            default.title,
            "Admission webhook stuck: P99 in the (10, 25] s bucket, over the 10 s default timeout"
        );
        assert_eq!(measure(&default, "P99 ≈"), Some(24.85));
    }
}
