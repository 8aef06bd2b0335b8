//! What ETC003 (WAL fsync) and ETC004 (backend commit) share: a member's disk-latency P99
//! against a warning and a critical threshold, with the same remedies.

use findings::{
    CheckInfo, Finding, Measure, RemedyKind, Safety, Severity, Subject, Thresholds, threshold_names as n,
};
use metrics::checks::{Draft, format_count, format_seconds, remedy, watch};

use crate::{EtcdEvidence, EtcdMetrics};

/// One disk-latency check: which histogram, how to name it, which thresholds.
pub(crate) struct DiskLatency {
    pub info: &'static CheckInfo,
    /// The operation, singular and plural ("WAL fsync", "WAL fsyncs").
    pub what: &'static str,
    pub what_plural: &'static str,
    /// The histogram's name, for the PromQL to watch it with.
    pub histogram: &'static str,
    pub warning: &'static str,
    pub critical: &'static str,
    /// The member's P99 in seconds and the number of observations behind it.
    pub read: fn(&EtcdMetrics) -> (Option<f64>, f64),
}

/// Runs a disk-latency check over every member with metrics.
pub(crate) fn run(check: &DiskLatency, ev: &EtcdEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    for m in &ev.members {
        let Some(metrics) = &m.metrics else { continue };
        let (Some(p99), observations) = (check.read)(metrics) else { continue };
        if observations < t.value(n::LATENCY_MIN_OBSERVATIONS) {
            continue;
        }
        let (severity, name) = if p99 > t.value(check.critical) {
            (Severity::Critical, check.critical)
        } else if p99 > t.value(check.warning) {
            (Severity::Warning, check.warning)
        } else {
            continue;
        };
        let limit = t.value(name);
        out.push(
            Draft {
                severity,
                title: format!(
                    "etcd member {}: {} P99 {} (above {})",
                    m.name,
                    check.what,
                    format_seconds(p99),
                    format_seconds(limit)
                ),
                subject: Subject::new("etcd-member", m.name.clone()),
                summary: format!(
                    "On {}, 1% of the {} {} took longer than {}: its disk is too slow for etcd, and every write waits for it.",
                    m.name,
                    format_count(observations),
                    check.what_plural,
                    format_seconds(p99)
                ),
                source: m.source(),
                measures: vec![
                    Measure::new(format!("P99 {}", check.what), p99, "s"),
                    Measure::new(check.what_plural, observations, "count"),
                ],
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
                    watch(&format!(
                        "histogram_quantile(0.99, sum by (instance, le) (rate({}_bucket[5m])))",
                        check.histogram
                    )),
                ],
            }
            .into_finding(check.info, t),
        );
    }
}
