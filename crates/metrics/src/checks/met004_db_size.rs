//! MET004 etcd-db-size: the etcd database size the API server reports, against the quota.

use findings::{
    CheckInfo, EvidenceKind, Finding, Measure, Severity, Subject, Thresholds, threshold_names as n,
};

use super::{Draft, format_bytes, remedies, watch};
use crate::MetricsEvidence;

/// MET004.
pub const INFO: CheckInfo = CheckInfo {
    code: "MET004",
    name: "etcd-db-size",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::ApiserverMetrics,
    doc: r#"## What it detects
The etcd database size as the API server reports it (`apiserver_storage_size_bytes` from
1.28, `apiserver_storage_db_total_size_in_bytes` in 1.26–1.27, `etcd_db_total_size_in_bytes`
before) against the etcd quota: at or above 80% is a warning, at or above 95% critical
(etcd-mixin). The quota is etcd's own `etcd_server_quota_backend_bytes` when an etcd scrape
is given too, else `etcd_quota_bytes` (etcd's default, 2 GiB). Above 2 GB and below the
warning, it says the database is large (AKS guide), as information.

## Why it matters
At the quota etcd raises a `NOSPACE` alarm and refuses every write: no pod can be created,
updated or deleted until someone compacts, defragments and disarms the alarm.

## Example
`https://10.0.0.5:2379`: 1.9 GiB of a 2.0 GiB quota (95%): critical.

## Remedy
Find what takes the space (`apiserver-doctor etcd`), delete leaked objects, check
compaction, defragment member by member (it blocks each member while it runs), and raise the
quota where the platform allows it.

## References
- etcd maintenance (space quota, defragmentation): https://etcd.io/docs/v3.5/op-guide/maintenance/
- etcd-mixin alerts: https://github.com/etcd-io/etcd/tree/main/contrib/mixin
- AKS: troubleshoot API server and etcd problems: https://learn.microsoft.com/troubleshoot/azure/azure-kubernetes/create-upgrade-delete/troubleshoot-apiserver-etcd
"#,
};

/// The quota to judge against, and whether it was read from etcd itself.
pub(crate) fn quota(ev: &MetricsEvidence, t: &Thresholds) -> (f64, bool) {
    match ev.etcd_quota_bytes {
        Some(q) if q > 0.0 => (q, true),
        _ => (t.value(n::ETCD_QUOTA_BYTES), false),
    }
}

/// Runs MET004.
pub fn run(ev: &MetricsEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    let (quota, from_etcd) = quota(ev, t);
    let quota_words = if from_etcd {
        "the quota etcd reports"
    } else {
        "etcd's default quota (no etcd scrape gave the real one)"
    };
    for api in &ev.apiservers {
        for db in &api.db_size {
            let ratio = db.bytes / quota;
            let (severity, names) = if ratio >= t.value(n::ETCD_QUOTA_CRITICAL_RATIO) {
                (Severity::Critical, vec![n::ETCD_QUOTA_CRITICAL_RATIO])
            } else if ratio >= t.value(n::ETCD_QUOTA_WARNING_RATIO) {
                (Severity::Warning, vec![n::ETCD_QUOTA_WARNING_RATIO])
            } else if db.bytes > t.value(n::ETCD_LARGE_BYTES) {
                (Severity::Info, vec![n::ETCD_LARGE_BYTES])
            } else {
                continue;
            };
            let mut names = names;
            if !from_etcd {
                names.push(n::ETCD_QUOTA_BYTES);
            }
            out.push(
                Draft {
                    severity,
                    title: format!(
                        "etcd database is {} of a {} quota ({:.0}%)",
                        format_bytes(db.bytes),
                        format_bytes(quota),
                        ratio * 100.0
                    ),
                    subject: Subject::new("etcd", db.endpoint.clone()),
                    summary: format!(
                        "`{}` reports {} for {}, {:.0}% of {} ({}). At the quota etcd raises NOSPACE and refuses every write.",
                        db.metric,
                        format_bytes(db.bytes),
                        db.endpoint,
                        ratio * 100.0,
                        quota_words,
                        format_bytes(quota)
                    ),
                    source: format!("metrics:{}", api.source),
                    measures: vec![
                        Measure::new("database size", db.bytes, "bytes"),
                        Measure::new("quota", quota, "bytes"),
                        Measure::new("share of quota", ratio * 100.0, "percent"),
                    ],
                    table: None,
                    thresholds: names,
                    remedies: vec![
                        remedies::find_what_takes_space(),
                        remedies::compact(),
                        remedies::defragment(),
                        remedies::raise_quota(quota),
                        watch(&format!("{}{{}} / {quota}", db.metric)),
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
    use crate::apiserver::DbSize;
    use crate::test_support::apiserver;

    fn ev(bytes: f64, quota: Option<f64>) -> MetricsEvidence {
        let mut api = apiserver();
        api.db_size = vec![DbSize {
            metric: "apiserver_storage_size_bytes".into(),
            endpoint: "etcd-0".into(),
            bytes,
            first_bytes: None,
        }];
        MetricsEvidence { apiservers: vec![api], etcd_quota_bytes: quota, ..Default::default() }
    }

    fn severities(ev: &MetricsEvidence) -> Vec<Severity> {
        let mut out = Vec::new();
        run(ev, &Thresholds::default(), &mut out);
        out.iter().map(|f| f.severity).collect()
    }

    #[test]
    fn judged_against_the_default_quota_or_the_one_etcd_reports() {
        let gib = 1024.0 * 1024.0 * 1024.0;
        assert_eq!(severities(&ev(1.0 * gib, None)), []);
        assert_eq!(severities(&ev(1.7 * gib, None)), [Severity::Warning]);
        assert_eq!(severities(&ev(1.95 * gib, None)), [Severity::Critical]);
        // an 8 GiB quota read from etcd: 2.5 GiB is only "large"
        assert_eq!(severities(&ev(2.5 * gib, Some(8.0 * gib))), [Severity::Info]);
        let mut out = Vec::new();
        run(&ev(1.95 * gib, None), &Thresholds::default(), &mut out);
        assert!(out[0].thresholds.iter().any(|t| t.name == "etcd_quota_bytes"));
        assert!(out[0].remedies.iter().any(|r| r.body.contains("one at a time")));
    }
}
