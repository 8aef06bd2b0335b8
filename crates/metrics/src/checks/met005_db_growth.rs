//! MET005 etcd-db-growth: the etcd database grows toward its quota.

use findings::{
    CheckInfo, EvidenceKind, Finding, Measure, Severity, Subject, Thresholds, threshold_names as n,
};

use super::met003_object_growth::format_hours;
use super::met004_db_size::{QuotaFrom, WHERE_THE_QUOTA_IS};
use super::{Draft, format_bytes, format_bytes_pair, format_window_seconds, remedies, watch};
use crate::MetricsEvidence;

/// MET005.
pub const INFO: CheckInfo = CheckInfo {
    code: "MET005",
    name: "etcd-db-growth",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::ApiserverMetrics,
    thresholds: &[n::ETCD_QUOTA_PROJECTION_HOURS],
    doc: r#"## What it detects
With two scrapes of the same API server: the etcd database size grew between them at a rate
that reaches the quota within `etcd_quota_projection_hours` (4 h, etcd-mixin's
`etcdDatabaseQuotaLowSpace` horizon). The quota is etcd's own when an etcd scrape is given,
else the default 2 GiB, and the finding then says it was assumed. A database already at or
past the default with no etcd scrape has no time to quota to give: more than 5% past it, the
quota is larger and unknown; at it or within 5%, it may be full (MET004 reports the size and
which it may be). Sizes too close for GiB to show apart are given in bytes.

The size is one etcd member's file, and members' files differ (defragmentation is per
member). When the two sizes may be of different members, a rise is information with no rate:
`apiserver_storage_size_bytes` (1.28+) is the size of a member the API server picks at random
on each poll, and two scrapes of different API server processes each report their own
`--etcd-servers` member (kubeadm's stacked layout names every one `https://127.0.0.1:2379`).
Growth is then judged member by member from etcd's own scrapes (ETC009), and MET005 says
nothing when two of them are given.
Sizes of API servers that cannot share one etcd (more than one minor version apart, or a
different etcd storage: see MET002) are never compared.

## Why it matters
When the database reaches the quota etcd refuses every write. Four hours is the time left to
find the leak and clean up before that.

## Example
`etcd-0`: 1.2 GiB → 1.4 GiB in 30 min (400 MiB per hour); reaches the 2 GiB quota in 1.5 h.

## Remedy
Find what grows (`apiserver-doctor etcd` shows keys and bytes per resource; MET003 shows
object growth), stop the leak, compact and defragment member by member, raise the quota where
the platform allows it.

## References
- etcd-mixin `etcdDatabaseQuotaLowSpace`, `etcdExcessiveDatabaseGrowth`: https://github.com/etcd-io/etcd/tree/main/contrib/mixin
- etcd maintenance: https://etcd.io/docs/v3.5/op-guide/maintenance/
"#,
};

/// Runs MET005.
pub fn run(ev: &MetricsEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    let horizon = t.value(n::ETCD_QUOTA_PROJECTION_HOURS);
    for api in &ev.apiservers {
        let Some(seconds) = api.window_seconds.filter(|s| *s > 0.0) else { continue };
        for db in &api.db_size {
            let Some(first) = db.first_bytes else { continue };
            if !db.bytes.is_finite() || !first.is_finite() {
                continue;
            }
            let q = super::met004_db_size::quota(ev, api, db, t);
            let (quota, from_etcd) = (q.bytes, q.read_from_etcd());
            // At or past the assumed default with no quota known: the quota is larger and
            // unknown, or the database is full at it; either way there is no time to reach it
            // (MET004 reports the size, and the growth per hour past the default).
            if !from_etcd && db.bytes >= quota {
                continue;
            }
            let growth = db.bytes - first;
            if growth <= 0.0 {
                continue;
            }
            let per_hour = growth / seconds * 3600.0;
            let hours = ((quota - db.bytes) / per_hour).max(0.0);
            if hours > horizon {
                continue;
            }
            let quota_name = match &q.from {
                QuotaFrom::Etcd => format!("its {} quota", format_bytes(quota)),
                QuotaFrom::Member(member) => {
                    format!("the {} quota of etcd member {member}", format_bytes(quota))
                }
                QuotaFrom::Config | QuotaFrom::Default => format!(
                    "the assumed {} quota ({}; the real quota is unknown)",
                    format_bytes(quota),
                    q.assumed_name()
                ),
            };
            let (from_text, to_text) = format_bytes_pair(first, db.bytes);
            if let Some(why) = &db.members_may_differ {
                // etcd's own scrapes over a window judge each member's growth (ETC009).
                if ev.etcd.iter().any(|e| e.window_seconds.is_some_and(|s| s > 0.0)) {
                    continue;
                }
                out.push(may_be_two_members(api, db, why, (&from_text, &to_text), seconds, t));
                continue;
            }
            out.push(
                Draft {
                    severity: Severity::Warning,
                    title: format!(
                        "etcd database grows by {} per hour and reaches {} in {}",
                        format_bytes(per_hour),
                        quota_name,
                        format_hours(hours)
                    ),
                    subject: Subject::new("etcd", db.endpoint.clone()),
                    summary: format!(
                        "`{}` went from {} to {} in {}. At that rate the database reaches {} in {}, and etcd then refuses every write.{}",
                        db.metric,
                        from_text,
                        to_text,
                        format_window_seconds(seconds),
                        quota_name,
                        format_hours(hours),
                        if from_etcd { String::new() } else { format!(" {WHERE_THE_QUOTA_IS} A larger quota leaves more time.") }
                    ),
                    source: format!("metrics:{}", api.source),
                    measures: vec![
                        Measure::new("database size", db.bytes, "bytes"),
                        Measure::new("database size at the first scrape", first, "bytes"),
                        Measure::new("growth per hour", per_hour, "bytes"),
                        Measure::new("time to quota", hours, "h"),
                    ],
                    table: None,
                    thresholds: vec![n::ETCD_QUOTA_PROJECTION_HOURS],
                    remedies: vec![
                        remedies::find_what_takes_space(),
                        remedies::compact(),
                        remedies::defragment(),
                        remedies::raise_quota_or_assumed(quota, (!from_etcd).then(|| q.assumed_name())),
                        watch(&super::quota_projection_query(&db.metric, horizon, &quota.to_string())),
                    ],
                }
                .into_finding(&INFO, t),
            );
        }
    }
}

/// Two sizes that may be of different members: information, with no rate or time to quota.
fn may_be_two_members(
    api: &crate::ApiserverEvidence,
    db: &crate::apiserver::DbSize,
    why: &str,
    (from_text, to_text): (&str, &str),
    seconds: f64,
    t: &Thresholds,
) -> Finding {
    Draft {
        severity: Severity::Info,
        title: format!(
            "etcd database size went from {from_text} to {to_text} in {}: perhaps two members, not growth",
            format_window_seconds(seconds)
        ),
        subject: Subject::new("etcd", db.endpoint.clone()),
        summary: format!(
            "`{}` went from {from_text} to {to_text} in {}, but {why}. Each member's file has its own size (a member \
             defragmented or added later is smaller), so the difference may be between two members, and no growth \
             rate or time to the quota is computed from it. Judge growth member by member with etcd's own scrapes: \
             two of each member's /metrics, or `apiserver-doctor etcd --endpoints URL` (ETC009).",
            db.metric,
            format_window_seconds(seconds),
        ),
        source: format!("metrics:{}", api.source),
        measures: vec![
            Measure::new("database size", db.bytes, "bytes"),
            Measure::new("database size at the first scrape", db.first_bytes.unwrap_or(db.bytes), "bytes"),
        ],
        table: None,
        thresholds: vec![n::ETCD_QUOTA_PROJECTION_HOURS],
        remedies: vec![remedies::find_what_takes_space()],
    }
    .into_finding(&INFO, t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::DbSize;
    use crate::test_support::apiserver;

    #[test]
    fn projects_growth_to_the_quota() {
        let mib = 1024.0 * 1024.0;
        let mut api = apiserver();
        api.window_seconds = Some(1800.0);
        api.db_size = vec![
            // +200 MiB in 30 min = 400 MiB/h; 2048 - 1400 = 648 MiB left → 1.6 h
            DbSize {
                metric: "m".into(),
                endpoint: "a".into(),
                bytes: 1400.0 * mib,
                first_bytes: Some(1200.0 * mib),
                members_may_differ: None,
            },
            // +10 MiB in 30 min: 100 h left
            DbSize {
                metric: "m".into(),
                endpoint: "b".into(),
                bytes: 1000.0 * mib,
                first_bytes: Some(990.0 * mib),
                members_may_differ: None,
            },
        ];
        let ev = MetricsEvidence { apiservers: vec![api], ..Default::default() };
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].subject.name, "a");
        assert!(out[0].title.contains("400.0 MiB per hour"), "{}", out[0].title);
        assert!(out[0].title.contains("1.6 h"), "{}", out[0].title);
        assert!(out[0].title.contains("the assumed 2.0 GiB quota (etcd's default"), "{}", out[0].title);
    }

    /// Metrics review minor item: "went from 6.6 GiB to 6.6 GiB in 450 s" hid the growth.
    #[test]
    fn growth_too_small_for_gib_is_shown_in_bytes() {
        let mut api = apiserver();
        api.window_seconds = Some(450.0);
        api.db_size = vec![DbSize {
            metric: "m".into(),
            endpoint: "a".into(),
            bytes: 7_043_743_744.0,
            first_bytes: Some(7_039_143_936.0),
            members_may_differ: None,
        }];
        let quota = 7_050_000_000.0;
        let ev =
            MetricsEvidence { apiservers: vec![api], etcd_quota_bytes: Some(quota), ..Default::default() };
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        assert!(
            out[0]
                .summary
                .contains("went from 7,039,143,936 B (6.6 GiB) to 7,043,743,744 B (6.6 GiB) in 450 s"),
            "{}",
            out[0].summary
        );
    }
}
