//! Which component exposed a scrape, and its version.
//!
//! The version comes from `kubernetes_build_info` (kube-apiserver) or `etcd_server_version`
//! (etcd). kube-apiserver 1.17 and 1.18 do not expose `kubernetes_build_info` (it is absent
//! from the real 1.17 and 1.18 dumps in ../shared/data/real/metrics and back from 1.19 on), so
//! for those the minor version is inferred from which metrics are present: each marker below
//! appears in every real dump from its version on and in none before, or the reverse.

use crate::snapshot::Snapshot;

/// The component a scrape came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    /// kube-apiserver `/metrics`.
    KubeApiserver,
    /// etcd `/metrics`.
    Etcd,
    /// Anything else (another component, a `/metrics/slis` endpoint, an empty file).
    #[default]
    Unknown,
}

impl TargetKind {
    /// Display name.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::KubeApiserver => "kube-apiserver",
            TargetKind::Etcd => "etcd",
            TargetKind::Unknown => "unknown",
        }
    }
}

/// How the version was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VersionSource {
    /// From `kubernetes_build_info` or `etcd_server_version`.
    BuildInfo,
    /// Inferred from the metric names present (minor version only).
    MetricNames,
}

/// A scrape's component and version.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Target {
    /// The component.
    pub kind: TargetKind,
    /// Its version without a leading `v`, e.g. `1.29.5`, `3.5.12`, or `1.18` when inferred.
    pub version: Option<String>,
    /// How the version was found.
    pub version_source: Option<VersionSource>,
}

impl Target {
    /// `kube-apiserver 1.29.5`, `kube-apiserver 1.18 (inferred from metric names)`, `etcd 3.5.12`.
    pub fn describe(&self) -> String {
        match (&self.version, self.version_source) {
            (Some(v), Some(VersionSource::MetricNames)) => {
                format!("{} {v} (inferred from metric names)", self.kind.as_str())
            }
            (Some(v), _) => format!("{} {v}", self.kind.as_str()),
            (None, _) => self.kind.as_str().to_owned(),
        }
    }

    /// The `(major, minor)` of the version, when known.
    pub fn minor(&self) -> Option<(u32, u32)> {
        let v = self.version.as_deref()?;
        let mut parts = v.split(['.', '-', '+']);
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some((major, minor))
    }
}

/// kube-apiserver metrics whose presence or absence bounds the minor version:
/// `(series, first minor with it, last minor with it)`.
const APISERVER_MARKERS: &[(&str, u32, u32)] = &[
    // Deprecated metrics were hidden from 1.17 on.
    ("apiserver_request_count", 0, 16),
    ("apiserver_request_latencies_summary", 0, 16),
    ("authentication_duration_seconds_count", 17, u32::MAX),
    ("etcd_lease_object_counts_count", 18, u32::MAX),
    ("apiserver_tls_handshake_errors_total", 19, u32::MAX),
    ("apiserver_storage_objects", 21, u32::MAX),
    ("etcd_object_counts", 0, 22),
    ("apiserver_storage_list_total", 23, u32::MAX),
    ("apiserver_registered_watchers", 0, 23),
    ("apiserver_flowcontrol_priority_level_seat_utilization_count", 25, u32::MAX),
    ("apiserver_storage_size_bytes", 28, u32::MAX),
    ("apiserver_resource_objects", 34, u32::MAX),
];

/// Whether the scrape holds an API server's series: the request series, or any that only the
/// API server's own stages write (admission and its webhooks, flow control, the objects it
/// stores): a scrape filtered to the webhooks' series (`kubectl get --raw /metrics | grep
/// admission_webhook`) is one too (review s44).
pub fn looks_like_apiserver(s: &Snapshot) -> bool {
    s.has("apiserver_request_total")
        || s.has("apiserver_request_count")
        || s.has("apiserver_request_duration_seconds_bucket")
        || s.has("apiserver_storage_objects")
        || s.has("apiserver_resource_objects")
        || s.has("apiserver_storage_size_bytes")
        || s.has("apiserver_current_inflight_requests")
        || s.has_prefix("apiserver_admission_")
        || s.has_prefix("apiserver_flowcontrol_")
}

/// Whether the scrape holds an etcd server's own series.
pub fn looks_like_etcd_server(s: &Snapshot) -> bool {
    s.has("etcd_server_version")
        || s.has("etcd_server_has_leader")
        || s.has("etcd_mvcc_db_total_size_in_bytes")
}

/// Identifies the component and version of a scrape. A scrape holding both an etcd's and an
/// API server's series is read as etcd here; [`Snapshot::split_targets`] cuts such a file in
/// one part per component first (`load` callers and `MetricsEvidence::from_snapshots` do).
pub fn identify(s: &Snapshot) -> Target {
    if let Some(sample) = s.series("etcd_server_version").next() {
        return Target {
            kind: TargetKind::Etcd,
            version: sample.labels.get("server_version").map(str::to_owned),
            version_source: Some(VersionSource::BuildInfo),
        };
    }
    let build_info = s.series("kubernetes_build_info").next().and_then(|sample| {
        sample.labels.get("git_version").or_else(|| sample.labels.get("gitVersion")).map(str::to_owned)
    });
    let apiserver = looks_like_apiserver(s);
    if apiserver {
        if let Some(v) = build_info {
            return Target {
                kind: TargetKind::KubeApiserver,
                version: Some(v.trim_start_matches('v').to_owned()),
                version_source: Some(VersionSource::BuildInfo),
            };
        }
        let (mut low, mut high) = (0u32, u32::MAX);
        for &(name, first, last) in APISERVER_MARKERS {
            if s.has(name) {
                low = low.max(first);
                high = high.min(last);
            } else if first > 0 && last == u32::MAX {
                high = high.min(first - 1);
            } else if first == 0 {
                low = low.max(last + 1);
            }
        }
        let version = (low == high).then(|| format!("1.{low}"));
        return Target {
            kind: TargetKind::KubeApiserver,
            version_source: version.as_ref().map(|_| VersionSource::MetricNames),
            version,
        };
    }
    let etcd = looks_like_etcd_server(s);
    Target {
        kind: if etcd { TargetKind::Etcd } else { TargetKind::Unknown },
        version: None,
        version_source: None,
    }
}
