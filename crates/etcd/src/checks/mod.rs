//! The etcd checks (codes `ETC…`), one file each, in a stable order. They read
//! [`EtcdEvidence`] only: no I/O, no printing.

use findings::{CheckInfo, Finding, Thresholds};

use crate::EtcdEvidence;

mod disk_latency;
mod etc001_db_quota;
mod etc002_fragmentation;
mod etc003_wal_fsync;
mod etc004_backend_commit;
mod etc005_leader;
mod etc006_proposals_failed;
mod etc007_alarms;
mod etc008_object_count;
mod etc009_db_growth;
mod etc010_member_unreachable;

type CheckFn = fn(&EtcdEvidence, &Thresholds, &mut Vec<Finding>);

const CHECKS: &[(CheckInfo, CheckFn)] = &[
    (etc001_db_quota::INFO, etc001_db_quota::run),
    (etc002_fragmentation::INFO, etc002_fragmentation::run),
    (etc003_wal_fsync::INFO, etc003_wal_fsync::run),
    (etc004_backend_commit::INFO, etc004_backend_commit::run),
    (etc005_leader::INFO, etc005_leader::run),
    (etc006_proposals_failed::INFO, etc006_proposals_failed::run),
    (etc007_alarms::INFO, etc007_alarms::run),
    (etc008_object_count::INFO, etc008_object_count::run),
    (etc009_db_growth::INFO, etc009_db_growth::run),
    (etc010_member_unreachable::INFO, etc010_member_unreachable::run),
];

const INFOS: [CheckInfo; 10] = [
    etc001_db_quota::INFO,
    etc002_fragmentation::INFO,
    etc003_wal_fsync::INFO,
    etc004_backend_commit::INFO,
    etc005_leader::INFO,
    etc006_proposals_failed::INFO,
    etc007_alarms::INFO,
    etc008_object_count::INFO,
    etc009_db_growth::INFO,
    etc010_member_unreachable::INFO,
];

/// Every etcd check, in registry order.
pub fn infos() -> &'static [CheckInfo] {
    &INFOS
}

/// Runs every etcd check on the evidence; findings come in registry order.
pub fn run(evidence: &EtcdEvidence, thresholds: &Thresholds) -> Vec<Finding> {
    let mut out = Vec::new();
    for (_, check) in CHECKS {
        check(evidence, thresholds, &mut out);
    }
    out
}

/// The quota a member is judged against: its own, else the `etcd_quota_bytes` default.
pub(crate) fn quota(member: &crate::Member, t: &Thresholds) -> (f64, bool) {
    match member.quota_bytes() {
        Some(q) if q > 0.0 => (q, true),
        _ => (t.value(findings::threshold_names::ETCD_QUOTA_BYTES), false),
    }
}

/// How to reach etcd in the commands the remedies print: the endpoints that answered, the
/// leader, the TLS files and the user given; when no member answered, the endpoints as given
/// (etcd review item 8: `ENDPOINT=https://ETCD-MEMBER:2379` and kubeadm's TLS paths for a
/// plain-http endpoint the user had just named); unknown (placeholders) only when nothing was
/// given, as for scrapes.
pub(crate) fn access(ev: &EtcdEvidence) -> metrics::checks::remedies::EtcdAccess {
    let Some(given) = &ev.tls_given else { return Default::default() };
    let members: Vec<(String, bool)> = ev
        .members
        .iter()
        .filter_map(|m| m.status.as_ref().map(|s| (s.endpoint.clone(), s.is_leader)))
        .collect();
    if members.is_empty() {
        return if given.endpoints.is_empty() {
            Default::default()
        } else {
            metrics::checks::remedies::EtcdAccess { members: Vec::new(), ..given.clone() }
        };
    }
    metrics::checks::remedies::EtcdAccess {
        endpoints: members.iter().map(|(e, _)| e.clone()).collect(),
        members,
        ..given.clone()
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use metrics::EtcdMetrics;

    /// etcd metrics with nothing in them.
    pub fn metrics() -> EtcdMetrics {
        EtcdMetrics {
            source: "etcd.prom".into(),
            member_id: None,
            target: "etcd 3.5.12".into(),
            window_seconds: None,
            db_total_bytes: None,
            first_db_total_bytes: None,
            db_in_use_bytes: None,
            quota_bytes: None,
            keys: None,
            wal_fsync_p99_seconds: None,
            wal_fsync_p99: None,
            wal_fsyncs: 0.0,
            backend_commit_p99_seconds: None,
            backend_commit_p99: None,
            backend_commits: 0.0,
            has_leader: Some(1.0),
            is_leader: Some(1.0),
            leader_changes: None,
            proposals_failed: None,
            proposals_pending: None,
        }
    }

    /// A P99 in etcd's disk histogram buckets (1 ms × 2^k): the bucket of `interpolated`.
    pub fn disk_p99(interpolated: f64) -> metrics::quantile::QuantileBucket {
        let mut upper = 0.001;
        while upper < interpolated {
            upper *= 2.0;
        }
        let lower = if upper == 0.001 { 0.0 } else { upper / 2.0 };
        metrics::quantile::QuantileBucket { lower, upper, interpolated }
    }

    /// Evidence of one member with these metrics.
    pub fn evidence(m: EtcdMetrics) -> crate::EtcdEvidence {
        crate::EtcdEvidence::from_metrics(&[m])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// etcd review item 8: with no member answering, the remedies used `ENDPOINT=https://ETCD-MEMBER:2379`
    /// and kubeadm's TLS paths although the user had given a plain-http endpoint; and (item 2)
    /// the user given.
    #[test]
    fn when_no_member_answered_remedies_fall_back_to_what_was_given() {
        let ev = EtcdEvidence {
            none_answered: true,
            collection_errors: vec![
                "http://127.0.0.1:23799/v3/maintenance/status: connection refused".into(),
            ],
            tls_given: Some(metrics::checks::remedies::EtcdAccess {
                endpoints: vec!["http://127.0.0.1:23799".into()],
                user: Some("root".into()),
                ..Default::default()
            }),
            ..EtcdEvidence::default()
        };
        let findings = run(&ev, &Thresholds::default());
        let body: String =
            findings.iter().flat_map(|f| f.remedies.iter().map(|r| format!("{}\n", r.body))).collect();
        assert!(
            body.contains("etcdctl --endpoints=http://127.0.0.1:23799 --user=root endpoint health"),
            "{body}"
        );
        for placeholder in ["ETCD-MEMBER", "/etc/kubernetes/pki", "$ENDPOINT", "$TLS"] {
            assert!(!body.contains(placeholder), "{placeholder} in {body}");
        }
        // Scrapes alone (nothing given): the placeholders.
        assert!(!access(&EtcdEvidence { tls_given: None, ..ev.clone() }).known());
    }

    #[test]
    fn every_check_has_a_unique_code_and_the_fixed_doc_headings() {
        let mut codes: Vec<&str> = infos().iter().map(|i| i.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), infos().len());
        for (info, (registered, _)) in infos().iter().zip(CHECKS) {
            assert_eq!(info.code, registered.code);
            assert!(info.code.starts_with("ETC"), "{}", info.code);
            assert_eq!(info.missing_doc_heading(), None, "{}: a heading missing or out of order", info.code);
        }
    }
}
