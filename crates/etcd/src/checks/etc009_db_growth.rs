//! ETC009 etcd-db-growth: a member's database grows toward its quota.

use findings::{
    CheckInfo, EvidenceKind, Finding, Measure, Severity, Subject, Thresholds, threshold_names as n,
};
use metrics::checks::{Draft, format_bytes, remedies, watch};

use crate::EtcdEvidence;

/// ETC009.
pub const INFO: CheckInfo = CheckInfo {
    code: "ETC009",
    name: "etcd-db-growth",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::EtcdMetrics,
    thresholds: &[n::ETCD_QUOTA_PROJECTION_HOURS],
    doc: r#"## What it detects
With two scrapes of the same member: `etcd_mvcc_db_total_size_in_bytes` grew at a rate that
reaches the member's quota within `etcd_quota_projection_hours` (4 h, etcd-mixin).

## Why it matters
At the quota etcd raises `NOSPACE` and refuses every write; four hours is the time left to
stop the growth.

## Example
`https://10.0.0.5:2379`: +300 MiB per hour, quota reached in 2.1 h.

## Remedy
Find what grows (key statistics of `apiserver-doctor etcd`, object growth MET003), stop it,
compact and defragment member by member, raise the quota where the platform allows it.

## References
- etcd-mixin `etcdDatabaseQuotaLowSpace`, `etcdExcessiveDatabaseGrowth`: https://github.com/etcd-io/etcd/tree/main/contrib/mixin
"#,
};

/// Runs ETC009.
pub fn run(ev: &EtcdEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    let access = super::access(ev);
    let horizon = t.value(n::ETCD_QUOTA_PROJECTION_HOURS);
    for m in &ev.members {
        let Some(metrics) = &m.metrics else { continue };
        let (Some(first), Some(last), Some(seconds)) =
            (metrics.first_db_total_bytes, metrics.db_total_bytes, metrics.window_seconds)
        else {
            continue;
        };
        let growth = last - first;
        if growth <= 0.0 || seconds <= 0.0 {
            continue;
        }
        let (quota, from_member) = super::quota(m, t);
        if !from_member && last >= quota {
            // Past the default with its own quota unknown: the quota is larger, and no time to it
            // can be told (review s47, item 4; ETC001 says so).
            continue;
        }
        let per_hour = growth / seconds * 3600.0;
        let hours = ((quota - last) / per_hour).max(0.0);
        if hours > horizon {
            continue;
        }
        // Already at or past the quota: no projection to make ("reached in 0.0 h" misleads).
        let over = last >= quota;
        let (headline, outlook) = if over {
            (
                format!("already over its {} quota", format_bytes(quota)),
                format!(
                    "It is already over the {} quota ({}): etcd raises NOSPACE and refuses every write until space is reclaimed.",
                    format_bytes(quota),
                    format_bytes(last)
                ),
            )
        } else {
            (
                format!("quota reached in {hours:.1} h"),
                format!(
                    "At that rate it reaches the {} quota in {hours:.1} h, and etcd then refuses every write.",
                    format_bytes(quota)
                ),
            )
        };
        out.push(
            Draft {
                severity: Severity::Warning,
                title: format!(
                    "etcd member {} grows by {} per hour: {headline}",
                    m.name,
                    format_bytes(per_hour)
                ),
                subject: Subject::new("etcd-member", m.name.clone()),
                summary: format!(
                    "The database of {} went from {} to {} in {}. {outlook}",
                    m.name,
                    format_bytes(first),
                    format_bytes(last),
                    if seconds < 10.0 { format!("{seconds:.1} s") } else { format!("{seconds:.0} s") },
                ),
                source: m.source(),
                measures: vec![
                    Measure::new("database size", last, "bytes"),
                    Measure::new("growth per hour", per_hour, "bytes"),
                ]
                .into_iter()
                .chain((!over).then(|| Measure::new("time to quota", hours, "h")))
                .collect(),
                table: None,
                thresholds: vec![n::ETCD_QUOTA_PROJECTION_HOURS],
                remedies: vec![
                    remedies::find_what_takes_space_for(&access),
                    remedies::compact_for(&access),
                    remedies::defragment_for(&access),
                    remedies::raise_quota(quota),
                    watch(&metrics::checks::quota_projection_query(
                        "etcd_mvcc_db_total_size_in_bytes",
                        horizon,
                        "etcd_server_quota_backend_bytes",
                    )),
                ],
            }
            .into_finding(&INFO, t),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::{evidence, metrics};

    #[test]
    fn projects_to_the_members_quota() {
        let mib = 1024.0 * 1024.0;
        let count = |first: f64, last: f64| {
            let mut m = metrics();
            m.first_db_total_bytes = Some(first * mib);
            m.db_total_bytes = Some(last * mib);
            m.quota_bytes = Some(2048.0 * mib);
            m.window_seconds = Some(3600.0);
            let mut out = Vec::new();
            run(&evidence(m), &Thresholds::default(), &mut out);
            out.len()
        };
        assert_eq!(count(1000.0, 1300.0), 1, "+300 MiB/h, 748 MiB left: 2.5 h");
        assert_eq!(count(1000.0, 1010.0), 0, "+10 MiB/h");
        assert_eq!(count(1000.0, 900.0), 0, "shrinking");
    }

    /// etcd review item 18: a database already past its quota read "quota reached in 0.0 h".
    #[test]
    fn a_database_already_over_its_quota_says_so_instead_of_reached_in_0_h() {
        let mib = 1024.0 * 1024.0;
        let mut m = metrics();
        m.first_db_total_bytes = Some(3.7 * mib);
        m.db_total_bytes = Some(17.1 * mib);
        m.quota_bytes = Some(16.0 * mib);
        m.window_seconds = Some(2.68);
        let mut out = Vec::new();
        run(&evidence(m), &Thresholds::default(), &mut out);
        assert_eq!(out.len(), 1);
        let text = format!("{}\n{}", out[0].title, out[0].summary);
        assert!(!text.contains("0.0 h"), "{text}");
        assert!(out[0].title.contains("already over its 16.0 MiB quota"), "{text}");
        assert!(out[0].summary.contains("It is already over the 16.0 MiB quota (17.1 MiB)"), "{text}");
        assert!(!out[0].evidence.measures.iter().any(|x| x.label == "time to quota"));
    }
}
