//! ETC003 etcd-wal-fsync: a member's WAL fsync P99 is high.

use findings::{
    CheckInfo, EvidenceKind, Finding, Measure, RemedyKind, Safety, Severity, Subject, Thresholds,
    threshold_names as n,
};
use metrics::checks::{Draft, format_count, format_seconds, remedy, watch};

use crate::EtcdEvidence;

/// ETC003.
pub const INFO: CheckInfo = CheckInfo {
    code: "ETC003",
    name: "etcd-wal-fsync",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::EtcdMetrics,
    doc: r#"## What it detects
A member whose WAL fsync P99 (`etcd_disk_wal_fsync_duration_seconds`, computed as `histogram_quantile(0.99, …)`) is above 10 ms
(warning, etcd FAQ) or 500 ms (critical, etcd-mixin). With two scrapes the P99 covers the
time between them; with one, everything since the member started.

## Why it matters
Every write waits for the WAL fsync and, in batches, for the backend commit. A slow disk
makes every write slow, makes followers miss heartbeats and leaders change, and shows up as
API server latency on every mutating call.

## Example
`https://10.0.0.5:2379`: WAL fsync P99 48 ms over 120,000 fsyncs.

## Remedy
Give etcd a dedicated low-latency disk (local SSD or provisioned IOPS), keep other I/O off
it, and check for noisy neighbours; `etcdctl check perf` measures the disk under load.

## References
- etcd FAQ (what does "apply entries took too long" mean; disk latency): https://etcd.io/docs/v3.5/faq/
- etcd hardware recommendations: https://etcd.io/docs/v3.5/op-guide/hardware/
- etcd-mixin `etcdHighFsyncDurations`, `etcdHighCommitDurations`: https://github.com/etcd-io/etcd/tree/main/contrib/mixin
"#,
};

/// Runs ETC003.
pub fn run(ev: &EtcdEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    for m in &ev.members {
        let Some(metrics) = &m.metrics else { continue };
        let Some(p99) = metrics.wal_fsync_p99_seconds else { continue };
        let observations = metrics.wal_fsyncs;
        if observations < t.value(n::LATENCY_MIN_OBSERVATIONS) {
            continue;
        }
        let (severity, limit, name) = if p99 > t.value(n::WAL_FSYNC_P99_CRITICAL_SECONDS) {
            (
                Severity::Critical,
                t.value(n::WAL_FSYNC_P99_CRITICAL_SECONDS),
                n::WAL_FSYNC_P99_CRITICAL_SECONDS,
            )
        } else if p99 > t.value(n::WAL_FSYNC_P99_WARNING_SECONDS) {
            (Severity::Warning, t.value(n::WAL_FSYNC_P99_WARNING_SECONDS), n::WAL_FSYNC_P99_WARNING_SECONDS)
        } else {
            continue;
        };
        out.push(
            Draft {
                severity,
                title: format!("etcd member {}: WAL fsync P99 {} (above {})", m.name, format_seconds(p99), format_seconds(limit)),
                subject: Subject::new("etcd-member", m.name.clone()),
                summary: format!(
                    "On {}, 1% of the {} WAL fsyncs took longer than {}: its disk is too slow for etcd, and every write waits for it.",
                    m.name,
                    format_count(observations),
                    format_seconds(p99)
                ),
                source: m.source(),
                measures: vec![Measure::new("P99 WAL fsync", p99, "s"), Measure::new("WAL fsyncs", observations, "count")],
                table: None,
                thresholds: vec![name, n::LATENCY_MIN_OBSERVATIONS],
                remedies: vec![
                    remedy(
                        "Measure the disk under etcd's load",
                        RemedyKind::Command,
                        Safety::Safe,
                        "etcdctl --endpoints=$ENDPOINT --cacert=$CA --cert=$CERT --key=$KEY check perf",
                    ),
                    remedy(
                        "Move etcd to a dedicated low-latency disk",
                        RemedyKind::Advice,
                        Safety::ReviewFirst,
                        "Put the data directory (at least the WAL, --wal-dir) on a local SSD or a volume with provisioned IOPS, used by etcd alone; on cloud VMs avoid burstable disks whose credits run out.",
                    ),
                    watch("histogram_quantile(0.99, sum by (instance, le) (rate(etcd_disk_wal_fsync_duration_seconds_bucket[5m])))"),
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
    fn warns_then_critical_and_ignores_few_observations() {
        let sev = |p99: f64, count: f64| {
            let mut m = metrics();
            m.wal_fsync_p99_seconds = Some(p99);
            m.wal_fsyncs = count;
            let mut out = Vec::new();
            run(&evidence(m), &Thresholds::default(), &mut out);
            out.iter().map(|f| f.severity).collect::<Vec<_>>()
        };
        assert_eq!(sev(0.008, 10_000.0), []);
        assert_eq!(sev(0.048, 10_000.0), [Severity::Warning]);
        assert_eq!(sev(0.8, 10_000.0), [Severity::Critical]);
        assert_eq!(sev(0.8, 50.0), []);
    }
}
