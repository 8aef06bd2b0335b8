//! Prometheus and OpenMetrics text parsing, histogram quantiles, rates, and the metrics checks.
//!
//! The pipeline: [`load::load`] (or [`Snapshot::parse`]) reads scrapes; [`MetricsEvidence::from_snapshots`]
//! groups the scrapes by target (two scrapes of one target give rates and growth) and reads
//! the numbers the checks need; [`checks::run`] turns them into [`findings::Finding`]s.
//! The etcd checks (codes `ETC…`) live in the `etcd` crate and read [`EtcdMetrics`].

pub mod apiserver;
pub mod checks;
pub mod etcd_metrics;
pub mod load;
pub mod parse;
pub mod quantile;
pub mod snapshot;
pub mod target;

pub use apiserver::ApiserverEvidence;
pub use etcd_metrics::EtcdMetrics;
pub use snapshot::{Histogram, Snapshot, Window};
pub use target::{Target, TargetKind};

/// Everything the metrics checks read: one entry per target found among the scrapes.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct MetricsEvidence {
    /// kube-apiserver targets.
    pub apiservers: Vec<ApiserverEvidence>,
    /// etcd members (read by the `etcd` crate's checks).
    pub etcd: Vec<EtcdMetrics>,
    /// Scrapes that are neither (their source names).
    pub unknown: Vec<String>,
    /// The etcd quota, when an etcd scrape gives it: the API server's database size is judged
    /// against it rather than against the default.
    pub etcd_quota_bytes: Option<f64>,
}

/// What says two scrapes are of the same target: kind, version, and etcd member id.
type TargetKey = (TargetKind, Option<String>, Option<String>);

fn target_key(s: &Snapshot) -> TargetKey {
    let member = s.series("etcd_server_id").next().and_then(|x| x.labels.get("server_id")).map(str::to_owned);
    (s.target.kind, s.target.version.clone(), member)
}

impl MetricsEvidence {
    /// Groups scrapes by target and reads their evidence.
    ///
    /// Scrapes of the same kind, version (and etcd member id) are successive scrapes of one
    /// target: the earliest and the latest form a window (ordered by scrape time when every
    /// scrape has one, else in the order given). `interval_seconds` overrides the time
    /// between them.
    pub fn from_snapshots(snapshots: &[Snapshot], interval_seconds: Option<f64>) -> MetricsEvidence {
        let mut groups: Vec<(TargetKey, Vec<&Snapshot>)> = Vec::new();
        for s in snapshots {
            let key = target_key(s);
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push(s),
                None => groups.push((key, vec![s])),
            }
        }
        let mut out = MetricsEvidence::default();
        for ((kind, _, _), mut members) in groups {
            if members.iter().all(|s| s.time_ms.is_some()) {
                members.sort_by_key(|s| s.time_ms);
            }
            let (Some(first), Some(last)) = (members.first(), members.last()) else { continue };
            let window = if members.len() > 1 {
                Window::between(first, last, interval_seconds)
            } else {
                Window::single(last)
            };
            match kind {
                TargetKind::KubeApiserver => out.apiservers.push(apiserver::evidence(&window)),
                TargetKind::Etcd => out.etcd.push(etcd_metrics::evidence(&window)),
                TargetKind::Unknown => out.unknown.extend(members.iter().map(|s| s.source.clone())),
            }
        }
        out.etcd_quota_bytes = out.etcd.iter().filter_map(|e| e.quota_bytes).reduce(f64::min);
        out
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use crate::ApiserverEvidence;

    /// An API server evidence with nothing in it.
    pub fn apiserver() -> ApiserverEvidence {
        ApiserverEvidence {
            source: "apiserver.prom".into(),
            target: "kube-apiserver 1.30.0".into(),
            window_seconds: None,
            latency: vec![],
            object_metric: Some("apiserver_storage_objects".into()),
            objects: vec![],
            db_size: vec![],
            apf_rejections: vec![],
            apf_wait: vec![],
            webhooks: vec![],
            saturation: vec![],
            etcd_requests: vec![],
            skipped_values: vec![],
        }
    }
}
