//! MET007 apf-queue-wait: requests wait long in API Priority and Fairness queues.

use findings::{
    CheckInfo, EvidenceKind, Finding, Measure, RemedyKind, Safety, Severity, Subject, Thresholds,
    threshold_names as n,
};

use super::{
    Draft, P99Versus, format_count, le, p99_bucket_phrase, p99_estimate_phrase, p99_measures, p99_versus,
    remedy, watch, window_phrase,
};
use crate::MetricsEvidence;

/// MET007.
pub const INFO: CheckInfo = CheckInfo {
    code: "MET007",
    name: "apf-queue-wait",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::ApiserverMetrics,
    thresholds: &[n::LATENCY_MIN_OBSERVATIONS, n::APF_QUEUE_WAIT_P99_SECONDS],
    doc: r#"## What it detects
Priority levels whose requests waited in APF queues with a P99 above 1 s
(`apiserver_flowcontrol_request_wait_duration_seconds`, summed over flow schemas), naming the
flow schema with the most requests that waited longer than the lower bound of the P99's bucket
at that level. Every request at a queuing level is observed, those dispatched at once too, so
the flow schema with the most requests of any wait is often not the one that waited.

As MET008, the P99 is judged by the bucket it lies in: a warning when the bucket's lower
bound is at or above 1 s (certainly above); information, "may be above", when the bucket
straddles 1 s and `histogram_quantile`'s interpolation is above it. The interpolated value is
given only as an estimate (≈).

## Why it matters
Queue wait is added to every request's latency before any work is done. A long wait means the
level's concurrency share is used up, usually by one client.

## Example
`workload-low`: P99 queue wait in the (2, 5] s bucket, ≈4.2 s by linear interpolation, over
18,000 requests; of the requests that waited longer than 2 s, most (290) came through flow
schema `noisy-ci`.

## Remedy
Find the client that fills the level (audit log), fix it, or move it to a priority level of
its own (`apiserver-doctor diagnose` over the audit log writes one for the top offender); raise the level's `nominalConcurrencyShares` only if the
load is legitimate.

A priority level that is not one of those every API server creates was made for the clients
of its flow schemas (a throttle apiserver-doctor wrote, named `throttle-…`, or the cluster's
own): the wait may be that level holding them back, as it was made to, and the finding offers
to fix the client or raise the level's shares instead of another throttle.

## References
- Kubernetes: API Priority and Fairness: https://kubernetes.io/docs/concepts/cluster-administration/flow-control/
- kubernetes-mixin runbook.
"#,
};

/// Runs MET007.
pub fn run(ev: &MetricsEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    let min_observations = t.value(n::LATENCY_MIN_OBSERVATIONS);
    let limit = t.value(n::APF_QUEUE_WAIT_P99_SECONDS);
    for api in &ev.apiservers {
        for w in &api.apf_wait {
            if w.count < min_observations {
                continue;
            }
            let Some(p99) = w.p99_bucket else { continue };
            let severity = match p99_versus(&p99, limit) {
                P99Versus::CertainlyAbove => Severity::Warning,
                P99Versus::MayBeAbove => Severity::Info,
                P99Versus::NotAbove => continue,
            };
            let where_ = p99_bucket_phrase(&p99);
            let (title, verdict) = if severity == Severity::Warning {
                (
                    format!(
                        "Requests at priority level {}: P99 APF queue wait {where_}, over {} s",
                        w.priority_level,
                        le(limit)
                    ),
                    format!(
                        "More than 1% of them waited longer than {} s, at or above the {} s warning level: the P99 \
                         is certainly above it.",
                        le(p99.lower),
                        le(limit)
                    ),
                )
            } else {
                (
                    format!(
                        "Requests at priority level {}: P99 APF queue wait {where_}, may be above {} s",
                        w.priority_level,
                        le(limit)
                    ),
                    format!(
                        "The bucket straddles the {} s warning level: the P99 may be above it, and the buckets \
                         cannot confirm it.",
                        le(limit)
                    ),
                )
            };
            let mut measures = p99_measures("P99 queue wait", &p99);
            measures.push(Measure::new("requests", w.count, "count"));
            out.push(
                Draft {
                    severity,
                    title,
                    subject: Subject::new("priority-level", w.priority_level.clone()),
                    summary: format!(
                        "Of {} requests at priority level `{}` {}, the P99 wait in APF queues lies {where_}; {}. \
                         {verdict} {} The wait adds to each queued request's latency.",
                        format_count(w.count),
                        findings::text::literal_backticks(&w.priority_level),
                        window_phrase(api.window_seconds),
                        p99_estimate_phrase(&p99),
                        who_waited(w)
                    ),
                    source: format!("metrics:{}", api.source),
                    measures,
                    table: None,
                    thresholds: vec![n::APF_QUEUE_WAIT_P99_SECONDS],
                    remedies: vec![
                        own_level_remedy(&w.priority_level).unwrap_or_else(|| remedy(
                            "Give the client that fills this level its own priority level",
                            RemedyKind::Advice,
                            Safety::ReviewFirst,
                            "Write a FlowSchema that matches the client's user or service account and a PriorityLevelConfiguration with a small concurrency share for it (`apiserver-doctor diagnose` over the audit log generates both for the top offender, in the cluster's APF version), apply them, then watch this level's queue wait and rejections.",
                        )),
                        watch(&format!(
                            "histogram_quantile(0.99, sum by (le, flow_schema) (rate(apiserver_flowcontrol_request_wait_duration_seconds_bucket{{priority_level={}}}[5m])))",
                            findings::text::double_quoted_literal(&w.priority_level)
                        )),
                    ],
                }
                .into_finding(&INFO, t),
            );
        }
    }
}

/// For a priority level the cluster made itself (a throttle of apiserver-doctor's, or anyone's
/// level), what to do instead of writing another: the wait may be that level holding its
/// clients back, as it was made to (ops review s51).
fn own_level_remedy(level: &str) -> Option<findings::Remedy> {
    use findings::apf::{Maker, priority_level_maker};
    let q = findings::text::literal_backticks(level);
    let whose = match priority_level_maker(level) {
        Maker::Kubernetes => return None,
        Maker::ApiserverDoctor => format!(
            "`{q}` is named as apiserver-doctor names the throttles it writes for one client: if it is one, the wait is that throttle holding the client back, as it was made to."
        ),
        Maker::Other => format!(
            "`{q}` is not one of the priority levels every API server creates: the cluster (its platform or its owners) made it for the clients of its flow schemas; if it was made to hold a client back, the wait is it working."
        ),
    };
    Some(remedy(
        "This level is the cluster's own: fix its client, or give the level more room",
        RemedyKind::Advice,
        Safety::ReviewFirst,
        format!(
            "{whose} Another throttle for the same clients would not help. Fix the client that fills the level (the audit log names it); if the load is legitimate, raise the level's concurrency shares {}, then watch its queue wait.",
            super::edit_shares(level)
        ),
    ))
}

/// The flow schema whose requests waited, in words.
fn who_waited(w: &crate::apiserver::ApfWait) -> String {
    let name = findings::text::literal_backticks(&w.flow_schema);
    match w.waited_over {
        Some(over) => format!(
            "Of the requests that waited longer than {} s, most ({}) came through flow schema `{name}`.",
            le(over),
            format_count(w.flow_schema_waited)
        ),
        None => format!("Most of its requests came through flow schema `{name}`."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::ApfWait;
    use crate::quantile::QuantileBucket;
    use crate::test_support::apiserver;

    #[test]
    fn flags_levels_whose_p99_wait_exceeds_one_second() {
        let mut api = apiserver();
        api.apf_wait = vec![
            ApfWait {
                priority_level: "workload-low".into(),
                flow_schema: "service-accounts".into(),
                flow_schema_waited: 200.0,
                waited_over: Some(2.0),
                count: 18_000.0,
                p99_seconds: 4.2,
                p99_bucket: Some(QuantileBucket { lower: 2.0, upper: 5.0, interpolated: 4.2 }),
            },
            ApfWait {
                priority_level: "global-default".into(),
                flow_schema: "global-default".into(),
                flow_schema_waited: 10.0,
                waited_over: None,
                count: 10.0,
                p99_seconds: 0.9,
                p99_bucket: Some(QuantileBucket { lower: 0.5, upper: 1.0, interpolated: 0.9 }),
            },
        ];
        let mut out = Vec::new();
        run(
            &MetricsEvidence { apiservers: vec![api], ..Default::default() },
            &Thresholds::default(),
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].subject.name, "workload-low");
        assert!(out[0].summary.contains("service-accounts"));
    }

    /// Ops review s51: a level the cluster made for one client (a throttle of apiserver-doctor's,
    /// or anyone's) was answered with "give the client its own priority level", which it has.
    #[test]
    fn a_level_of_the_clusters_own_is_not_answered_with_another_throttle() {
        let first_remedy = |level: &str| {
            let mut api = apiserver();
            api.apf_wait = vec![ApfWait {
                priority_level: level.into(),
                flow_schema: level.into(),
                flow_schema_waited: 200.0,
                waited_over: Some(2.0),
                count: 18_000.0,
                p99_seconds: 4.2,
                p99_bucket: Some(QuantileBucket { lower: 2.0, upper: 5.0, interpolated: 4.2 }),
            }];
            let mut out = Vec::new();
            run(
                &MetricsEvidence { apiservers: vec![api], ..Default::default() },
                &Thresholds::default(),
                &mut out,
            );
            assert_eq!(out.len(), 1, "{level}");
            out[0].remedies[0].clone()
        };
        let ours = first_remedy("throttle-sa-ci.runner");
        assert!(
            ours.body.starts_with("`throttle-sa-ci.runner` is named as apiserver-doctor names the throttles"),
            "{}",
            ours.body
        );
        assert!(
            ours.body.contains("`kubectl edit prioritylevelconfiguration throttle-sa-ci.runner`"),
            "{}",
            ours.body
        );
        let theirs = first_remedy("noisy-ci");
        assert!(
            theirs.body.contains("`noisy-ci` is not one of the priority levels every API server creates"),
            "{}",
            theirs.body
        );
        for r in [&ours, &theirs] {
            assert!(r.body.contains("Another throttle for the same clients would not help"), "{}", r.body);
            assert_eq!(r.safety, Safety::ReviewFirst);
        }
        let default = first_remedy("workload-low");
        assert_eq!(default.title, "Give the client that fills this level its own priority level");
    }
}
