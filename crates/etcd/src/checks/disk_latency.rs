//! What ETC003 (WAL fsync) and ETC004 (backend commit) share: a member's disk-latency P99
//! against a warning and a critical threshold, with the same remedies.

use findings::{
    CheckInfo, Finding, Measure, RemedyKind, Safety, Severity, Subject, Thresholds, threshold_names as n,
};
use metrics::checks::{
    Draft, P99Versus, format_count, format_seconds, le, p99_bucket_phrase, p99_estimate_phrase, p99_measures,
    p99_versus, remedy, watch,
};
use metrics::quantile::QuantileBucket;

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
    /// The bucket of the member's P99 and the number of observations behind it.
    pub read: fn(&EtcdMetrics) -> (Option<QuantileBucket>, f64),
}

/// Runs a disk-latency check over every member with metrics.
pub(crate) fn run(check: &DiskLatency, ev: &EtcdEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    let access = super::access(ev);
    for m in &ev.members {
        let Some(metrics) = &m.metrics else { continue };
        let (Some(p99), observations) = (check.read)(metrics) else { continue };
        if observations < t.value(n::LATENCY_MIN_OBSERVATIONS) {
            continue;
        }
        // Judged by the bucket, as MET008: certainly above a threshold when the bucket's lower
        // bound is at or above it; a bucket straddling it says only "may be above".
        let (warning, critical) = (t.value(check.warning), t.value(check.critical));
        let (severity, name, certain) = match (p99_versus(&p99, critical), p99_versus(&p99, warning)) {
            (P99Versus::CertainlyAbove, _) => (Severity::Critical, check.critical, true),
            (_, P99Versus::CertainlyAbove) => (Severity::Warning, check.warning, true),
            (_, P99Versus::MayBeAbove) => (Severity::Info, check.warning, false),
            _ => continue,
        };
        let limit = t.value(name);
        let where_ = p99_bucket_phrase(&p99);
        let over = if certain {
            format!("over {}", format_seconds(limit))
        } else {
            format!("may be over {}", format_seconds(limit))
        };
        let verdict = if certain {
            format!(
                "More than 1% of them took longer than {} s, at or above the {} {} level: the P99 is certainly \
                 above it, and the disk is too slow for etcd; every write waits for it.",
                le(p99.lower),
                format_seconds(limit),
                if severity == Severity::Critical { "critical" } else { "warning" }
            )
        } else {
            format!(
                "The bucket straddles the {} warning level: the P99 may be above it, and the buckets cannot \
                 confirm it.",
                format_seconds(limit)
            )
        };
        let window = match metrics.window_seconds {
            Some(s) if s > 0.0 => format!("between the two scrapes ({})", format_window(s)),
            Some(_) => "between the two scrapes (their times are equal or unknown)".to_owned(),
            None => "since the member started (one scrape: cumulative counters)".to_owned(),
        };
        let mut measures = p99_measures(&format!("P99 {}", check.what), &p99);
        measures.push(Measure::new(check.what_plural, observations, "count"));
        out.push(
            Draft {
                severity,
                title: format!("etcd member {}: {} P99 {where_}, {over}", m.name, check.what),
                subject: Subject::new("etcd-member", m.name.clone()),
                summary: format!(
                    "On {}, of the {} {} {window}, the P99 lies {where_}; {}. {verdict}",
                    m.name,
                    format_count(observations),
                    check.what_plural,
                    p99_estimate_phrase(&p99),
                ),
                source: m.source(),
                measures,
                table: None,
                thresholds: vec![name, n::LATENCY_MIN_OBSERVATIONS],
                remedies: vec![
                    metrics::checks::remedies::check_perf_for(&access),
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

/// `90 s`, `7.5 min` (not "8 min" for 450 s), `15 min`, `2.0 h`.
pub(crate) fn format_window(seconds: f64) -> String {
    if seconds < 120.0 {
        format!("{seconds:.0} s")
    } else if seconds < 7200.0 {
        let minutes = seconds / 60.0;
        if (minutes - minutes.round()).abs() < 0.05 {
            format!("{minutes:.0} min")
        } else {
            format!("{minutes:.1} min")
        }
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

#[cfg(test)]
mod tests {
    /// etcd review item 6: `etcdctl check perf` was "safe to apply", but it is a 60 s write
    /// load test under /etcdctl-check-perf/ on a member whose disk is already slow.
    #[test]
    fn etcdctl_check_perf_is_review_first_with_a_write_load_warning() {
        let r = metrics::checks::remedies::check_perf_for(&Default::default());
        assert_eq!(r.safety, findings::Safety::ReviewFirst);
        assert!(r.body.contains("60-second write load test"), "{}", r.body);
        assert!(r.body.contains("/etcdctl-check-perf/"), "{}", r.body);
        assert!(r.body.contains("off-peak"), "{}", r.body);
    }

    /// Metrics review (minor): ETC005 printed "in 8 min" for a 450 s window.
    #[test]
    fn a_window_of_450_seconds_is_7_5_minutes() {
        assert_eq!(super::format_window(450.0), "7.5 min");
        assert_eq!(super::format_window(900.0), "15 min");
        assert_eq!(super::format_window(90.0), "90 s");
    }
}
