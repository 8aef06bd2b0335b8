//! ETC006 etcd-proposals-failed: raft proposals failed between two scrapes.

use findings::{CheckInfo, EvidenceKind, Finding, Measure, Severity, Subject, Thresholds};
use metrics::checks::{Draft, format_count, watch};

use crate::EtcdEvidence;

/// ETC006.
pub const INFO: CheckInfo = CheckInfo {
    code: "ETC006",
    name: "etcd-proposals-failed",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::EtcdMetrics,
    thresholds: &[],
    doc: r#"## What it detects
Failed raft proposals (`etcd_server_proposals_failed_total`) between two scrapes of a
member, however far apart (their times need not be known). With one scrape the count since start is not judged: a few failures around past
elections are normal.

## Why it matters
A failed proposal is a write the cluster could not commit, usually during a leader election
or when a member lost quorum; the API server sees it as an error or a timeout.

## Example
`https://10.0.0.5:2379`: 37 proposals failed in 10 min.

## Remedy
Look at leader changes (ETC005) and disk latency (ETC003, ETC004); check that a quorum of
members is healthy.

## References
- etcd metrics (`proposals_failed_total`): https://etcd.io/docs/v3.5/metrics/
- etcd-mixin `etcdHighNumberOfFailedProposals`: https://github.com/etcd-io/etcd/tree/main/contrib/mixin
"#,
};

/// Runs ETC006.
pub fn run(ev: &EtcdEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    for m in &ev.members {
        let Some(metrics) = &m.metrics else { continue };
        let (Some(failed), Some(seconds)) = (metrics.proposals_failed, metrics.window_seconds) else {
            continue;
        };
        if failed <= 0.0 {
            continue;
        }
        out.push(
            Draft {
                severity: Severity::Warning,
                title: format!(
                    "etcd member {}: {} proposals failed {}",
                    m.name,
                    format_count(failed),
                    if seconds > 0.0 {
                        format!("in {}", super::disk_latency::format_window(seconds))
                    } else {
                        // Two scrapes whose times are equal or unknown.
                        "between the two scrapes".to_owned()
                    }
                ),
                subject: Subject::new("etcd-member", m.name.clone()),
                summary: format!(
                    "{} failed to commit {} raft proposals between the two scrapes: writes were lost to elections or a lost quorum and returned errors to the API server.",
                    m.name,
                    format_count(failed)
                ),
                source: m.source(),
                measures: vec![Measure::new("failed proposals", failed, "count")],
                table: None,
                thresholds: vec![],
                remedies: vec![watch("rate(etcd_server_proposals_failed_total[15m]) > 0")],
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
    fn judged_only_between_two_scrapes() {
        let count = |failed: f64, window: Option<f64>| {
            let mut m = metrics();
            m.proposals_failed = Some(failed);
            m.window_seconds = window;
            let mut out = Vec::new();
            run(&evidence(m), &Thresholds::default(), &mut out);
            out.len()
        };
        assert_eq!(count(37.0, Some(600.0)), 1);
        assert_eq!(count(0.0, Some(600.0)), 0);
        assert_eq!(count(37.0, None), 0);
    }

    #[test]
    fn two_scrapes_with_equal_times_give_no_zero_minute_window() {
        let mut m = metrics();
        m.proposals_failed = Some(37.0);
        m.window_seconds = Some(0.0);
        let mut out = Vec::new();
        run(&evidence(m), &Thresholds::default(), &mut out);
        assert_eq!(out.len(), 1);
        assert!(out[0].title.ends_with("37 proposals failed between the two scrapes"), "{}", out[0].title);
    }
}
