//! ETC004 etcd-backend-commit: a member's backend commit P99 is high.

use findings::{CheckInfo, EvidenceKind, Finding, Severity, Thresholds, threshold_names as n};

use super::disk_latency::{self, DiskLatency};
use crate::EtcdEvidence;

/// ETC004.
pub const INFO: CheckInfo = CheckInfo {
    code: "ETC004",
    name: "etcd-backend-commit",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::EtcdMetrics,
    thresholds: &[
        n::BACKEND_COMMIT_P99_WARNING_SECONDS,
        n::BACKEND_COMMIT_P99_CRITICAL_SECONDS,
        n::LATENCY_MIN_OBSERVATIONS,
    ],
    doc: r#"## What it detects
A member whose backend commit P99 (`etcd_disk_backend_commit_duration_seconds`, computed as `histogram_quantile(0.99, …)`) is above 25 ms
(warning, etcd FAQ) or 250 ms (critical: etcd-mixin's `etcdHighCommitDurations` alerts above
250 ms, as a warning, its only level; at a quarter second per commit every write waits). With
two scrapes the P99 covers the
time between them; with one, everything since the member started, and the finding says so.

A histogram only says which bucket the P99 lies in (etcd's buckets double: 8 ms, 16 ms,
32 ms, …). As MET008, the check judges by the bucket: a threshold is exceeded when the
bucket's lower bound is at or above it (more than 1% of the operations took longer, for
certain); a bucket that straddles the warning threshold, with `histogram_quantile`'s
interpolation above it, gives information that the P99 may be above it. The finding gives
the bucket, and the interpolated value only as an estimate (≈).

## Why it matters
Every write waits for the WAL fsync and, in batches, for the backend commit. A slow disk
makes every write slow, makes followers miss heartbeats and leaders change, and shows up as
API server latency on every mutating call.

## Example
`https://10.0.0.5:2379`: backend commit P99 in the (0.064, 0.128] s bucket, ≈120 ms by
linear interpolation, over 40,000 commits: warning.

## Remedy
Give etcd a dedicated low-latency disk (local SSD or provisioned IOPS), keep other I/O off
it, and check for noisy neighbours. `etcdctl check perf` measures the disk under load, but
it is a 60 s write load test: run it off-peak or on a test member.

## References
- etcd FAQ (what does "apply entries took too long" mean; disk latency): https://etcd.io/docs/v3.5/faq/
- etcd hardware recommendations: https://etcd.io/docs/v3.5/op-guide/hardware/
- etcd-mixin `etcdHighFsyncDurations`, `etcdHighCommitDurations`: https://github.com/etcd-io/etcd/tree/main/contrib/mixin
"#,
};

/// Runs ETC004.
pub fn run(ev: &EtcdEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    let check = DiskLatency {
        info: &INFO,
        what: "backend commit",
        what_plural: "backend commits",
        histogram: "etcd_disk_backend_commit_duration_seconds",
        warning: n::BACKEND_COMMIT_P99_WARNING_SECONDS,
        critical: n::BACKEND_COMMIT_P99_CRITICAL_SECONDS,
        read: |m| (m.backend_commit_p99, m.backend_commits),
    };
    disk_latency::run(&check, ev, t, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::{disk_p99, evidence, metrics};

    #[test]
    fn warns_then_critical_and_ignores_few_observations() {
        let sev = |p99: f64, count: f64| {
            let mut m = metrics();
            m.backend_commit_p99 = Some(disk_p99(p99));
            m.backend_commits = count;
            let mut out = Vec::new();
            run(&evidence(m), &Thresholds::default(), &mut out);
            out.iter().map(|f| f.severity).collect::<Vec<_>>()
        };
        assert_eq!(sev(0.02, 10_000.0), []);
        assert_eq!(sev(0.12, 10_000.0), [Severity::Warning]);
        assert_eq!(sev(0.4, 10_000.0), [Severity::Critical]);
        assert_eq!(sev(0.4, 50.0), []);
    }
}
