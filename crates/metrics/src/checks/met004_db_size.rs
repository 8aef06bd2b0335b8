//! MET004 etcd-db-size: the etcd database size the API server reports, against the quota.

use findings::{
    CheckInfo, EvidenceKind, Finding, Measure, RemedyKind, Safety, Severity, Subject, Thresholds,
    threshold_names as n,
};

use super::{Draft, format_bytes, format_percent, remedies, remedy, watch};
use crate::MetricsEvidence;

/// MET004.
pub const INFO: CheckInfo = CheckInfo {
    code: "MET004",
    name: "etcd-db-size",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::ApiserverMetrics,
    thresholds: &[
        n::ETCD_QUOTA_BYTES,
        n::ETCD_QUOTA_CRITICAL_RATIO,
        n::ETCD_QUOTA_WARNING_RATIO,
        n::ETCD_LARGE_BYTES,
    ],
    doc: r#"## What it detects
The etcd database size as the API server reports it (`apiserver_storage_size_bytes` from
1.28, `apiserver_storage_db_total_size_in_bytes` in 1.26–1.27, `etcd_db_total_size_in_bytes`
before) against the etcd quota: at or above 80% is a warning, at or above 95% critical
(etcd-mixin). The quota is etcd's own `etcd_server_quota_backend_bytes` when an etcd scrape
is given too, else `etcd_quota_bytes` (etcd's default, 2 GiB), and the finding then says the
default was assumed. Above 2 GB and below the warning, it says the database is large (AKS
guide), as information. When etcd's own scrapes are given and ETC001 warns of the same
database member by member, MET004 is information that points at ETC001 (one warning for one
number).

With no etcd scrape, a database at or past the 2 GiB default proves the quota is larger
(etcd refuses writes at its quota); API server scrapes alone are the normal case on AKS, EKS
and GKE, whose quotas are commonly 8 GiB. No share of the quota is judged then: the size is
reported as information (large, above 2 GB), with where to read the real quota.

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

/// True when the quota is not known (no etcd scrape gave it) and a database of `bytes` is
/// at or past the default assumed for it: etcd refuses writes at its quota, so the real one
/// must be larger, and no ratio or time to quota can be judged against the default.
pub(crate) fn quota_unknown_and_larger(bytes: f64, quota: f64, from_etcd: bool) -> bool {
    !from_etcd && bytes >= quota
}

/// Where the quota can be read when the API server's metrics do not give it.
pub(crate) const WHERE_THE_QUOTA_IS: &str = "The API server's metrics do not give etcd's quota: give an etcd \
     scrape too (its `etcd_server_quota_backend_bytes`) or read `--quota-backend-bytes` on etcd's command line. \
     On AKS, EKS and GKE the provider manages etcd and its quota (commonly 8 GiB).";

fn quota_measures(bytes: f64, quota: f64, ratio: f64) -> Vec<Measure> {
    vec![
        Measure::new("database size", bytes, "bytes"),
        Measure::new("quota", quota, "bytes"),
        Measure::new("share of quota", ratio * 100.0, "percent"),
    ]
}

/// Runs MET004.
pub fn run(ev: &MetricsEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    let (quota, from_etcd) = quota(ev, t);
    for api in &ev.apiservers {
        for db in &api.db_size {
            if !db.bytes.is_finite() {
                continue;
            }
            if quota_unknown_and_larger(db.bytes, quota, from_etcd) {
                out.push(unknown_quota(api, db, quota, t));
                continue;
            }
            let ratio = db.bytes / quota;
            let (severity, names) = if ratio >= t.value(n::ETCD_QUOTA_CRITICAL_RATIO) {
                (Severity::Critical, vec![n::ETCD_QUOTA_CRITICAL_RATIO])
            } else if ratio >= t.value(n::ETCD_QUOTA_WARNING_RATIO) {
                (Severity::Warning, vec![n::ETCD_QUOTA_WARNING_RATIO])
            } else if db.bytes > t.value(n::ETCD_LARGE_BYTES) {
                // The warning ratio it stays under says why a large database is only info (docs
                // review 27 §5: an override of it changed the severity, and no finding named it).
                (Severity::Info, vec![n::ETCD_LARGE_BYTES, n::ETCD_QUOTA_WARNING_RATIO])
            } else {
                continue;
            };
            let mut names = names;
            let (title, summary) = if from_etcd {
                (
                    format!(
                        "etcd database is {} of a {} quota ({})",
                        format_bytes(db.bytes),
                        format_bytes(quota),
                        format_percent(ratio * 100.0)
                    ),
                    format!(
                        "`{}` reports {} for {}, {} of the quota etcd reports ({}). At the quota etcd raises NOSPACE \
                         and refuses every write.",
                        db.metric,
                        format_bytes(db.bytes),
                        db.endpoint,
                        format_percent(ratio * 100.0),
                        format_bytes(quota)
                    ),
                )
            } else {
                names.push(n::ETCD_QUOTA_BYTES);
                (
                    format!(
                        "etcd database is {} of an assumed {} quota ({}; etcd's default, the real quota is unknown)",
                        format_bytes(db.bytes),
                        format_bytes(quota),
                        format_percent(ratio * 100.0)
                    ),
                    format!(
                        "`{}` reports {} for {}, {} of {}: etcd's default quota, assumed because no etcd scrape gave \
                         the real one. A cluster whose quota was raised (8 GiB is common) is further from it. {} At \
                         the quota etcd raises NOSPACE and refuses every write.",
                        db.metric,
                        format_bytes(db.bytes),
                        db.endpoint,
                        format_percent(ratio * 100.0),
                        format_bytes(quota),
                        WHERE_THE_QUOTA_IS
                    ),
                )
            };
            out.push(
                Draft {
                    severity,
                    title,
                    subject: Subject::new("etcd", db.endpoint.clone()),
                    summary,
                    source: format!("metrics:{}", api.source),
                    measures: quota_measures(db.bytes, quota, ratio),
                    table: None,
                    thresholds: names,
                    remedies: vec![
                        remedies::find_what_takes_space(),
                        remedies::compact(),
                        remedies::defragment(),
                        remedies::raise_quota_or_assumed(quota, from_etcd),
                        watch(&format!("{}{{}} / {quota}", db.metric)),
                    ],
                }
                .into_finding(&INFO, t),
            );
        }
    }
}

/// A database at or past the default quota with no quota known: the quota must be larger,
/// so the size is reported as information, by the absolute size (`etcd_large_bytes`).
fn unknown_quota(
    api: &crate::ApiserverEvidence,
    db: &crate::apiserver::DbSize,
    default: f64,
    t: &Thresholds,
) -> Finding {
    let growth = match (db.first_bytes, api.window_seconds.filter(|s| *s > 0.0)) {
        (Some(first), Some(seconds)) if db.bytes > first && db.members_may_differ.is_none() => format!(
            " It grew by {} per hour between the two scrapes; with the quota unknown, no time to reach it is given.",
            format_bytes((db.bytes - first) / seconds * 3600.0)
        ),
        _ => String::new(),
    };
    let mut measures = vec![Measure::new("database size", db.bytes, "bytes")];
    measures.push(Measure::new("etcd's default quota (the real quota is larger)", default, "bytes"));
    Draft {
        severity: Severity::Info,
        title: format!(
            "etcd database is {}, past etcd's {} default quota: the real quota is unknown and larger",
            format_bytes(db.bytes),
            format_bytes(default)
        ),
        subject: Subject::new("etcd", db.endpoint.clone()),
        summary: format!(
            "`{}` reports {} for {}. etcd refuses writes at its quota, so this database's quota must be larger than \
             etcd's {} default, and its share of the quota cannot be judged. {} Above {} a database is large: \
             defragmentation and snapshots take longer.{growth}",
            db.metric,
            format_bytes(db.bytes),
            db.endpoint,
            format_bytes(default),
            WHERE_THE_QUOTA_IS,
            format_bytes_si(t.value(n::ETCD_LARGE_BYTES)),
        ),
        source: format!("metrics:{}", api.source),
        measures,
        table: None,
        thresholds: vec![n::ETCD_LARGE_BYTES, n::ETCD_QUOTA_BYTES],
        remedies: vec![
            remedy(
                "Read the real quota",
                RemedyKind::Command,
                Safety::Safe,
                "# self-managed etcd: its own metrics, or its command line\n\
                 curl -s --cacert $CA --cert $CERT --key $KEY https://$ENDPOINT/metrics | grep '^etcd_server_quota_backend_bytes'\n\
                 ps -o args= -C etcd | tr ' ' '\\n' | grep quota-backend-bytes\n\
                 # then judge both scrapes together: apiserver-doctor metrics apiserver.prom etcd.prom",
            ),
            remedies::find_what_takes_space(),
            watch(&format!("{}{{}}", db.metric)),
        ],
    }
    .into_finding(&INFO, t)
}

/// `2 GB`: a decimal threshold as the docs give it.
fn format_bytes_si(bytes: f64) -> String {
    format!("{} GB", bytes / 1e9)
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
            members_may_differ: None,
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

    /// Metrics review item 1: below the default, the default is still judged against, and the
    /// title and summary say it was assumed; at or past it, the quota is unknown and larger.
    #[test]
    fn the_assumed_default_quota_is_named_as_an_assumption_and_not_used_past_it() {
        let gib = 1024.0 * 1024.0 * 1024.0;
        let mut out = Vec::new();
        run(&ev(1.95 * gib, None), &Thresholds::default(), &mut out);
        assert_eq!(
            out[0].title,
            "etcd database is 1.9 GiB of an assumed 2.0 GiB quota (98%; etcd's default, the real quota is unknown)"
        );
        assert!(
            out[0].summary.contains("etcd's default quota, assumed because no etcd scrape gave the real one")
        );
        assert!(out[0].remedies.iter().any(|r| r.body.contains("2.0 GiB is etcd's default, assumed")));
        for bytes in [2.0 * gib, 6.6 * gib] {
            let mut out = Vec::new();
            run(&ev(bytes, None), &Thresholds::default(), &mut out);
            assert_eq!(out.len(), 1);
            assert_eq!(out[0].severity, Severity::Info, "{}", out[0].title);
            assert!(out[0].title.contains("the real quota is unknown and larger"), "{}", out[0].title);
        }
        // a known quota is judged as before, and a small share shows one decimal
        let mut out = Vec::new();
        run(&ev(7.0 * gib, Some(8.0 * gib)), &Thresholds::default(), &mut out);
        assert_eq!(out[0].title, "etcd database is 7.0 GiB of a 8.0 GiB quota (88%)");
    }

    #[test]
    fn non_finite_sizes_give_no_finding() {
        assert_eq!(severities(&ev(f64::NAN, None)), []);
        assert_eq!(severities(&ev(f64::INFINITY, None)), []);
    }
}
