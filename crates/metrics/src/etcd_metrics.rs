//! The numbers the etcd checks read from an etcd member's own `/metrics`.

use serde::Serialize;

use crate::quantile::QuantileBucket;
use crate::snapshot::{Histogram, Window, increase};

/// One etcd member's metrics over a window (one scrape, or the change between two).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EtcdMetrics {
    /// Where it came from (file names or the member's `/metrics` URL).
    pub source: String,
    /// The member's id as its scrape names it (`etcd_server_id{server_id="…"}`, lower-case hex
    /// without `0x`): what `etcdctl member list` shows, so a finding names the member and not
    /// only the file its scrape was saved in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member_id: Option<String>,
    /// `etcd 3.5.12`.
    pub target: String,
    /// Seconds between the two scrapes; `None` when counters are cumulative since start.
    pub window_seconds: Option<f64>,
    /// `etcd_mvcc_db_total_size_in_bytes` (older: `etcd_debugging_mvcc_db_total_size_in_bytes`).
    pub db_total_bytes: Option<f64>,
    /// The same at the first scrape, when there are two.
    pub first_db_total_bytes: Option<f64>,
    /// `etcd_mvcc_db_total_size_in_use_in_bytes`.
    pub db_in_use_bytes: Option<f64>,
    /// `etcd_server_quota_backend_bytes`.
    pub quota_bytes: Option<f64>,
    /// `etcd_debugging_mvcc_keys_total`.
    pub keys: Option<f64>,
    /// WAL fsync P99 in seconds, and how many fsyncs it covers.
    pub wal_fsync_p99_seconds: Option<f64>,
    /// The bucket the WAL fsync P99 lies in, with the interpolated value.
    pub wal_fsync_p99: Option<QuantileBucket>,
    /// WAL fsyncs observed.
    pub wal_fsyncs: f64,
    /// Backend commit P99 in seconds.
    pub backend_commit_p99_seconds: Option<f64>,
    /// The bucket the backend commit P99 lies in, with the interpolated value.
    pub backend_commit_p99: Option<QuantileBucket>,
    /// Backend commits observed.
    pub backend_commits: f64,
    /// `etcd_server_has_leader` (1 or 0).
    pub has_leader: Option<f64>,
    /// `etcd_server_is_leader`.
    pub is_leader: Option<f64>,
    /// Leader changes in the window (or since start).
    pub leader_changes: Option<f64>,
    /// Failed proposals in the window (or since start).
    pub proposals_failed: Option<f64>,
    /// Pending proposals at the last scrape.
    pub proposals_pending: Option<f64>,
}

fn first_of(window: &Window<'_>, names: &[&str]) -> (Option<f64>, Option<f64>) {
    for name in names {
        if let Some(v) = window.last.first_value(name) {
            return (window.first.and_then(|f| f.first_value(name)), Some(v));
        }
    }
    (None, None)
}

fn counter(window: &Window<'_>, name: &str) -> Option<f64> {
    let last = window.last.first_value(name)?;
    Some(match window.first.and_then(|f| f.first_value(name)) {
        Some(first) => increase(first, last),
        None => last,
    })
}

fn p99(window: &Window<'_>, family: &str) -> (Option<QuantileBucket>, f64) {
    let mut total: Option<Histogram> = None;
    for h in window.histograms(family) {
        match total.as_mut() {
            Some(t) => t.add(&h),
            None => total = Some(h),
        }
    }
    match total {
        Some(h) => (h.quantile_bucket(0.99).filter(|q| q.interpolated.is_finite()), h.observations()),
        None => (None, 0.0),
    }
}

/// The member id an etcd scrape names (`etcd_server_id{server_id="…"} 1`), lower-case hex
/// without `0x`.
pub fn member_id(s: &crate::Snapshot) -> Option<String> {
    s.series("etcd_server_id")
        .find(|x| x.value == 1.0)
        .and_then(|x| x.labels.get("server_id"))
        .map(|id| id.trim_start_matches("0x").to_ascii_lowercase())
}

/// Reads the etcd evidence from a window over one member's scrapes.
pub fn evidence(window: &Window<'_>) -> EtcdMetrics {
    let (first_total, total) =
        first_of(window, &["etcd_mvcc_db_total_size_in_bytes", "etcd_debugging_mvcc_db_total_size_in_bytes"]);
    let (_, in_use) = first_of(window, &["etcd_mvcc_db_total_size_in_use_in_bytes"]);
    let (wal, wal_n) = p99(window, "etcd_disk_wal_fsync_duration_seconds");
    let (commit, commit_n) = p99(window, "etcd_disk_backend_commit_duration_seconds");
    let source = match window.first {
        Some(first) => format!("{} → {}", first.source, window.last.source),
        None => window.last.source.clone(),
    };
    EtcdMetrics {
        source,
        member_id: member_id(window.last),
        target: window.last.target.describe(),
        window_seconds: window.first.and(window.seconds),
        db_total_bytes: total,
        first_db_total_bytes: first_total,
        db_in_use_bytes: in_use,
        quota_bytes: window.last.first_value("etcd_server_quota_backend_bytes"),
        keys: window.last.first_value("etcd_debugging_mvcc_keys_total"),
        wal_fsync_p99_seconds: wal.map(|q| q.interpolated),
        wal_fsync_p99: wal,
        wal_fsyncs: wal_n,
        backend_commit_p99_seconds: commit.map(|q| q.interpolated),
        backend_commit_p99: commit,
        backend_commits: commit_n,
        has_leader: window.last.first_value("etcd_server_has_leader"),
        is_leader: window.last.first_value("etcd_server_is_leader"),
        leader_changes: counter(window, "etcd_server_leader_changes_seen_total"),
        proposals_failed: counter(window, "etcd_server_proposals_failed_total"),
        proposals_pending: window.last.first_value("etcd_server_proposals_pending"),
    }
}
