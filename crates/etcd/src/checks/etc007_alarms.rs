//! ETC007 etcd-alarm: a `NOSPACE` or `CORRUPT` alarm is raised.

use findings::{
    CheckInfo, EvidenceKind, Finding, Measure, RemedyKind, Safety, Severity, Subject, Table, Thresholds,
};
use metrics::checks::{Draft, remedies, remedy};

use crate::EtcdEvidence;

/// ETC007.
pub const INFO: CheckInfo = CheckInfo {
    code: "ETC007",
    name: "etcd-alarm",
    default_severity: Severity::Critical,
    evidence: EvidenceKind::Etcd,
    thresholds: &[findings::threshold_names::ETCD_QUOTA_BYTES],
    doc: r#"## What it detects
Alarms raised on any member, read with `/v3/maintenance/alarm` (`action: GET`, the same call
as `etcdctl alarm list`): `NOSPACE` (the database reached its quota) and `CORRUPT` (a
member's data differs from the others').

## Why it matters
Under `NOSPACE` etcd serves reads and deletes but refuses every other write, for the whole
cluster, until the alarm is disarmed: the API server cannot create or update anything.
`CORRUPT` means a member must be replaced from a healthy one.

## Example
`NOSPACE` on member `8e9e05c52164694d`.

## Remedy
For `NOSPACE`: delete what leaks, compact to the current revision, wait for compaction to
finish, defragment every member in turn, check the size is below the quota, then
`etcdctl alarm disarm`. Disarming before the space is reclaimed raises the alarm again.
For `CORRUPT`: remove the corrupted member and add it back empty so it syncs from the others.

## References
- etcd maintenance (space quota, alarm disarm): https://etcd.io/docs/v3.5/op-guide/maintenance/#space-quota
- etcd data corruption detection: https://etcd.io/docs/v3.5/op-guide/data_corruption/
"#,
};

/// Runs ETC007.
pub fn run(ev: &EtcdEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    let access = super::access(ev);
    for kind in ["NOSPACE", "CORRUPT"] {
        let raised: Vec<&crate::Alarm> = ev.alarms.iter().filter(|a| a.alarm == kind).collect();
        if raised.is_empty() {
            continue;
        }
        let members: Vec<String> = raised
            .iter()
            .map(|a| {
                let name = ev
                    .members
                    .iter()
                    .filter_map(|m| m.status.as_ref())
                    .find(|s| s.id == a.member_id)
                    .map(|s| s.endpoint.clone());
                name.map_or_else(|| a.member_id.clone(), |e| format!("{} ({e})", a.member_id))
            })
            .collect();
        let source = ev.members.first().map(|m| m.source()).unwrap_or_else(|| "etcd".to_owned());
        let (summary, remedies) = if kind == "NOSPACE" {
            let quota = ev
                .members
                .first()
                .map_or(t.value(findings::threshold_names::ETCD_QUOTA_BYTES), |m| super::quota(m, t).0);
            (
                "The etcd database reached its quota. etcd serves reads and deletes but refuses every other write for the whole cluster until the alarm is disarmed: the API server cannot create or update anything.".to_owned(),
                vec![
                    remedies::find_what_takes_space_for(&access),
                    remedies::recover_from_nospace_for(&access),
                    remedies::raise_quota(quota),
                ],
            )
        } else {
            (
                "A member's data differs from the others'. It must not serve: replace it with an empty member that syncs from the healthy ones.".to_owned(),
                vec![remedy(
                    "Replace the corrupted member",
                    RemedyKind::Command,
                    Safety::ReviewFirst,
                    "etcdctl member remove <member id>\n# wipe its data directory, then:\netcdctl member add <name> --peer-urls=https://<its address>:2380\n# start it with --initial-cluster-state=existing",
                )],
            )
        };
        out.push(
            Draft {
                severity: Severity::Critical,
                title: format!("etcd alarm {kind} is raised on {}", members.join(", ")),
                subject: Subject::new("etcd", kind.to_owned()),
                summary,
                source,
                measures: vec![Measure::new("members with the alarm", raised.len() as f64, "count")],
                table: Some(Table {
                    columns: vec!["member".into(), "alarm".into()],
                    rows: members.iter().map(|m| vec![m.clone(), kind.to_owned()]).collect(),
                }),
                thresholds: vec![],
                remedies,
            }
            .into_finding(&INFO, t),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Alarm;

    #[test]
    fn nospace_is_critical_with_the_disarm_sequence() {
        let ev = EtcdEvidence {
            alarms: vec![Alarm { member_id: "8e9e05c52164694d".into(), alarm: "NOSPACE".into() }],
            ..EtcdEvidence::default()
        };
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, Severity::Critical);
        let body = &out[0].remedies[1].body;
        let order: Vec<usize> = ["compact \"$rev\"", "sleep 60", "defrag --command-timeout", "alarm disarm"]
            .iter()
            .map(|w| body.find(w).expect(w))
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "compact → wait → defrag → disarm: {body}");
        let mut out = Vec::new();
        run(&EtcdEvidence::default(), &Thresholds::default(), &mut out);
        assert!(out.is_empty());
    }
}
