//! The report model: what `diagnose` hands to every renderer (text, JSON, Markdown, HTML).

use serde::{Deserialize, Serialize};

use crate::{Chart, Finding, Severity, Table, TimeRange};

/// Version of the JSON report schema; bump on any incompatible change (docs/report-schema.md).
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// One input the report was built from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputSummary {
    /// `audit`, `apiserver-metrics`, `etcd-metrics`, `etcd`, `manifests`, `probe`.
    pub kind: String,
    /// A file name, a store directory or an endpoint, as the user gave it (no credentials).
    pub source: String,
    /// Records read (events, samples, keys).
    pub records: u64,
    /// Records skipped: malformed, not audit records, bad fields or timestamps, too long.
    pub skipped: u64,
    /// What was detected, e.g. `k8s-log`, `kube-apiserver 1.29.4`, `etcd 3.5.12`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected: Option<String>,
}

/// The overview charts and tables at the top of every report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    /// Requests per client (top clients by request count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_clients: Option<Chart>,
    /// Average latency per client in 5-minute bins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_over_time: Option<Chart>,
    /// P99 latency by verb, resource and scope against the SLOs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_table: Option<Table>,
    /// What the reader must know about how the inputs were read: how scrapes were paired and
    /// ordered, and which checks had nothing to read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Everything a report shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`REPORT_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The apiserver-doctor version that wrote it.
    pub tool_version: String,
    /// The window analysed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<TimeRange>,
    /// What was read.
    pub inputs: Vec<InputSummary>,
    /// Charts and tables for the top of the report.
    #[serde(default)]
    pub overview: Overview,
    /// The findings, worst first (see [`crate::sort_findings`]).
    pub findings: Vec<Finding>,
    /// Codes of every check that ran, in registry order.
    pub checks_run: Vec<String>,
}

impl Report {
    /// The worst severity among the findings, if any.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}
