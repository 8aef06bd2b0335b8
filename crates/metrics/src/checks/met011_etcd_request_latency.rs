//! MET011 etcd-request-latency: the API server's calls to etcd are slow.

use findings::{
    CheckInfo, EvidenceKind, Finding, Measure, RemedyKind, Safety, Severity, Subject, Thresholds,
    threshold_names as n,
};

use super::{Draft, format_count, format_seconds, remedy, watch, window_phrase};
use crate::MetricsEvidence;

/// MET011.
pub const INFO: CheckInfo = CheckInfo {
    code: "MET011",
    name: "etcd-request-latency",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::ApiserverMetrics,
    doc: r#"## What it detects
Operations of the API server on etcd (`etcd_request_duration_seconds`, by operation and
resource, or Go type before 1.28) whose P99 is above `etcd_request_p99_warning_seconds`
(0.5 s: half the 1 s SLO of a mutating call, which must also cover admission, serialization
and the network).

## Why it matters
When etcd is slow every request that reaches it is slow. Slow etcd calls point at etcd's disk
(WAL fsync, backend commit), its size, or very large LISTs that bypass the watch cache.

## Example
`list pods`: P99 2.1 s over 4,000 calls.

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
            if r.p99_seconds <= limit {
                continue;
            }
            let subject = format!("{} {}", r.operation, r.object);
            out.push(
                Draft {
                    severity: Severity::Warning,
                    title: format!("etcd {subject}: P99 {} for the API server", format_seconds(r.p99_seconds)),
                    subject: Subject::new("etcd", subject.clone()),
                    summary: format!(
                        "The API server's `{subject}` calls to etcd took {} at P99 over {} calls {}. Every request that reaches etcd for this resource waits that long.",
                        format_seconds(r.p99_seconds),
                        format_count(r.count),
                        window_phrase(api.window_seconds)
                    ),
                    source: format!("metrics:{}", api.source),
                    measures: vec![
                        Measure::new("P99 latency", r.p99_seconds, "s"),
                        Measure::new("calls", r.count, "count"),
                    ],
                    table: None,
                    thresholds: vec![n::ETCD_REQUEST_P99_WARNING_SECONDS],
                    remedies: vec![
                        remedy(
                            "Look at etcd's disk, size and leader",
                            RemedyKind::Command,
                            Safety::Safe,
                            "apiserver-doctor etcd --endpoints $ENDPOINT --cacert $CA --cert $CERT --key $KEY",
                        ),
                        watch(&format!(
                            "histogram_quantile(0.99, sum by (le) (rate(etcd_request_duration_seconds_bucket{{operation=\"{}\"}}[5m])))",
                            r.operation
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
    use crate::apiserver::EtcdRequestLatency;
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
            },
            EtcdRequestLatency {
                operation: "get".into(),
                object: "pods".into(),
                count: 4000.0,
                p99_seconds: 0.02,
            },
            // the real 1.30 dump: 8 calls, one slow; a P99 of 8 calls is their maximum
            EtcdRequestLatency {
                operation: "get".into(),
                object: "persistentvolumeclaims".into(),
                count: 8.0,
                p99_seconds: 0.584,
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
    }
}
