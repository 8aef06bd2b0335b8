//! Kubernetes audit logs in every form they come in: format detection, record parsers, the
//! canonical Arrow schema, format writers (for round-trip tests and the simulator) and the
//! Parquet store.
//!
//! Nothing here prints or exits: errors are values, progress is reported through callbacks.

pub mod batch;
pub mod event;
pub mod ingest;
mod raw;
pub mod read;
pub mod schema;
pub mod store;
pub mod timestamp;
pub mod write;

pub use event::{Event, ObjectRef, ResponseStatus, UserInfo};
pub use schema::{canonical_schema, col};

/// The input formats detected from file content (never from the file name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum InputFormat {
    /// Log backend: one `audit.k8s.io` `Event` per line (also a lone Event document, JSON or
    /// YAML, and events wrapped by a log shipper under `log`).
    K8sLog,
    /// Webhook backend: `EventList` documents, one per line or one per file.
    EventList,
    /// Azure `AzureDiagnostics` rows with the event in `log_s`, as NDJSON or a JSON array.
    AzureDiagnostics,
    /// Azure `AzureDiagnostics` rows exported from the portal as CSV.
    AzureDiagnosticsCsv,
    /// Azure resource-specific `AKSAudit` / `AKSAuditAdmin` rows, as NDJSON or a JSON array.
    AksAudit,
    /// Azure resource-specific rows exported as CSV.
    AksAuditCsv,
    /// Diagnostic-settings envelope (Event Hub, storage): `{"records":[…]}`.
    #[serde(rename = "diagnostic-envelope")]
    DiagnosticEnvelope,
    /// Amazon CloudWatch Logs (EKS): log events whose `message` is the event as JSON text, in
    /// `aws logs filter-log-events` / `get-log-events` output (`events`), subscription payloads
    /// (`logEvents`, as Firehose and Kinesis deliver them, or base64 and gzipped in a
    /// Lambda's `awslogs.data`), Logs Insights results (`get-query-results`, or rows with
    /// `@message`), or one log event per line.
    #[serde(rename = "cloudwatch")]
    CloudWatch,
    /// Google Cloud Logging (GKE): `LogEntry` objects whose `protoPayload` is a Cloud Audit
    /// Logs `AuditLog` of service `k8s.io`, as a Cloud Storage sink writes them (one per
    /// line) or `gcloud logging read --format=json` prints them (an array). They carry one
    /// time per request and no query string.
    #[serde(rename = "gke")]
    Gke,
}

impl InputFormat {
    /// The stable name stored in the `source_format` column and printed by `stats`.
    pub fn name(self) -> &'static str {
        match self {
            InputFormat::K8sLog => "k8s-log",
            InputFormat::EventList => "eventlist",
            InputFormat::AzureDiagnostics => "azure-diagnostics",
            InputFormat::AzureDiagnosticsCsv => "azure-diagnostics-csv",
            InputFormat::AksAudit => "aks-audit",
            InputFormat::AksAuditCsv => "aks-audit-csv",
            InputFormat::DiagnosticEnvelope => "diagnostic-envelope",
            InputFormat::CloudWatch => "cloudwatch",
            InputFormat::Gke => "gke",
        }
    }

    /// Every format, in a stable order.
    pub const ALL: [InputFormat; 9] = [
        InputFormat::K8sLog,
        InputFormat::EventList,
        InputFormat::AzureDiagnostics,
        InputFormat::AzureDiagnosticsCsv,
        InputFormat::AksAudit,
        InputFormat::AksAuditCsv,
        InputFormat::DiagnosticEnvelope,
        InputFormat::CloudWatch,
        InputFormat::Gke,
    ];

    /// The format of a [`InputFormat::name`].
    pub fn from_name(name: &str) -> Option<InputFormat> {
        InputFormat::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl std::fmt::Display for InputFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The scan's fuzz property, shared by `fuzz/fuzz_targets/scan.rs` and the corpus replay test:
/// whatever the one-pass event scan reads from `data`, serde_json reads to the same event.
#[doc(hidden)]
pub fn scan_fuzz_check(data: &[u8]) {
    raw::scan::check(data);
}
