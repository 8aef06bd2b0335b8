//! MET011 etcd-request-latency: the API server's calls to etcd are slow.

use findings::{
    CheckInfo, EvidenceKind, Finding, Measure, Severity, Subject, Thresholds, threshold_names as n,
};

use super::{
    Draft, P99Versus, format_count, le, p99_bucket_phrase, p99_estimate_phrase, p99_measures, p99_versus,
    watch, window_phrase,
};
use crate::MetricsEvidence;

/// MET011.
pub const INFO: CheckInfo = CheckInfo {
    code: "MET011",
    name: "etcd-request-latency",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::ApiserverMetrics,
    thresholds: &[n::LATENCY_MIN_OBSERVATIONS, n::ETCD_REQUEST_P99_WARNING_SECONDS],
    doc: r#"## What it detects
Operations of the API server on etcd (`etcd_request_duration_seconds`, by operation and
resource, group-qualified from the `group` label of 1.34+, or by Go type before) whose P99 is
above `etcd_request_p99_warning_seconds` (0.5 s: half the 1 s SLO of a mutating call, which
must also cover admission, serialization and the network).

A histogram only says which bucket the P99 lies in. As MET008, the check judges by the
bucket: a warning when its lower bound is at or above 0.5 s (the P99 is certainly above);
information, "may be above", when the bucket straddles 0.5 s and `histogram_quantile`'s
interpolation puts the P99 above it. The finding gives the bucket, and the interpolated value
only as an estimate (≈).

## Why it matters
Slow etcd calls slow down the API requests that make them. They point at etcd's disk (WAL
fsync, backend commit), its size, or very large LISTs that bypass the watch cache.

## Example
`list pods`: P99 in the (2, 4] s bucket, ≈2.1 s by linear interpolation, over 4,000 calls.

## Remedy
Look at etcd itself (`apiserver-doctor etcd`: disk latency, database size, leader changes);
for slow `list` operations find the clients that LIST without `resourceVersion` (quorum reads
from etcd) in the audit log.

## References
- etcd: hardware recommendations and disk latency: https://etcd.io/docs/v3.5/op-guide/hardware/
- etcd FAQ (slow disk warnings): https://etcd.io/docs/v3.5/faq/
"#,
};

/// Runs MET011.
pub fn run(ev: &MetricsEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    let min_observations = t.value(n::LATENCY_MIN_OBSERVATIONS);
    let limit = t.value(n::ETCD_REQUEST_P99_WARNING_SECONDS);
    for api in &ev.apiservers {
        for r in &api.etcd_requests {
            if r.count < min_observations {
                continue;
            }
            let Some(p99) = r.p99_bucket else { continue };
            let severity = match p99_versus(&p99, limit) {
                P99Versus::CertainlyAbove => Severity::Warning,
                P99Versus::MayBeAbove => Severity::Info,
                P99Versus::NotAbove => continue,
            };
            let subject = format!("{} {}", r.operation, r.object);
            let where_ = p99_bucket_phrase(&p99);
            let (title, verdict) = if severity == Severity::Warning {
                (
                    format!("etcd {subject}: P99 {where_}, over {} s, for the API server", le(limit)),
                    format!(
                        "More than 1% of these calls took longer than {} s, which is at or above the {} s warning \
                         level: the P99 is certainly above it.",
                        le(p99.lower),
                        le(limit)
                    ),
                )
            } else {
                (
                    format!("etcd {subject}: P99 {where_}, may be above {} s, for the API server", le(limit)),
                    format!(
                        "The bucket straddles the {} s warning level: the P99 may be above it, and the buckets \
                         cannot confirm it (more than 1% of the calls took longer than {} s, at most 1% longer \
                         than {} s).",
                        le(limit),
                        le(p99.lower),
                        if p99.unbounded() { "the largest bucket".to_owned() } else { le(p99.upper) }
                    ),
                )
            };
            let mut measures = p99_measures("P99", &p99);
            measures.push(Measure::new("calls", r.count, "count"));
            out.push(
                Draft {
                    severity,
                    title,
                    subject: Subject::new("etcd", subject.clone()),
                    summary: format!(
                        "Of the API server's {} `{}` calls to etcd {}, the P99 lies {where_}; {}. {verdict} \
                         Slow etcd calls slow down the API requests that make them.",
                        format_count(r.count),
                        findings::text::literal_backticks(&subject),
                        window_phrase(api.window_seconds),
                        p99_estimate_phrase(&p99),
                    ),
                    source: format!("metrics:{}", api.source),
                    measures,
                    table: None,
                    thresholds: vec![n::ETCD_REQUEST_P99_WARNING_SECONDS],
                    remedies: vec![
                        super::remedies::look_at_etcd(),
                        watch(&format!(
                            "histogram_quantile(0.99, sum by (le) (rate(etcd_request_duration_seconds_bucket{{{}}}[5m])))",
                            selector(r)
                        )),
                    ],
                }
                .into_finding(&INFO, t),
            );
        }
    }
}

/// The label matchers of the series the finding measured, `operation="create",type="jobs.batch"`
/// (the operation alone when the evidence does not name them).
fn selector(r: &crate::apiserver::EtcdRequestLatency) -> String {
    if r.matchers.is_empty() {
        return format!("operation={}", findings::text::double_quoted_literal(&r.operation));
    }
    r.matchers
        .iter()
        .map(|(label, value)| format!("{label}={}", findings::text::double_quoted_literal(value)))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::EtcdRequestLatency;
    use crate::quantile::QuantileBucket;
    use crate::test_support::apiserver;

    #[test]
    fn flags_slow_operations_with_enough_calls_only() {
        let mut api = apiserver();
        api.etcd_requests = vec![
            EtcdRequestLatency {
                operation: "list".into(),
                object: "pods".into(),
                count: 4000.0,
                p99_seconds: 2.1,
                p99_bucket: Some(QuantileBucket { lower: 2.0, upper: 4.0, interpolated: 2.1 }),
                matchers: vec![("operation".into(), "list".into()), ("type".into(), "pods".into())],
            },
            EtcdRequestLatency {
                operation: "get".into(),
                object: "pods".into(),
                count: 4000.0,
                p99_seconds: 0.02,
                p99_bucket: Some(QuantileBucket { lower: 0.01, upper: 0.025, interpolated: 0.02 }),
                matchers: vec![],
            },
            // the real 1.30 dump: 8 calls, one slow; a P99 of 8 calls is their maximum
            EtcdRequestLatency {
                operation: "get".into(),
                object: "persistentvolumeclaims".into(),
                count: 8.0,
                p99_seconds: 0.584,
                p99_bucket: Some(QuantileBucket { lower: 0.5, upper: 0.6, interpolated: 0.584 }),
                matchers: vec![],
            },
        ];
        let mut out = Vec::new();
        run(
            &MetricsEvidence { apiservers: vec![api], ..Default::default() },
            &Thresholds::default(),
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].subject.name, "list pods");
        // Review 50, item 3: the etcd the finding calls slow is not scanned.
        assert!(out[0].remedies[0].body.ends_with("$TLS --no-keys"), "{}", out[0].remedies[0].body);
    }
}
