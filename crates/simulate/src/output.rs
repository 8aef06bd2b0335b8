//! Audit output formats: a slice's events rendered in the chosen format, and the files they
//! go into (split by size, compressed on the way).

use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use audit::batch::Origin;
use audit::write::{
    AKS_AUDIT_COLUMNS, AZURE_DIAGNOSTICS_COLUMNS, Compressed, Compression, Container, DynamicColumns,
    EnvelopeLog, aks_audit_row, azure_diagnostics_row, envelope_record, gke_entry, open_subscription_payload,
    pretty_json, subscription_log_event, write_csv_header, write_event_json,
};
use chrono::{DateTime, TimeZone, Utc};

use crate::rng::mix64;
use crate::traffic::{Ctx, SliceOut, apiserver_pod};

/// An audit output format of `simulate --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    /// Log backend NDJSON, `audit.k8s.io/v1`.
    K8s,
    /// Log backend NDJSON, `audit.k8s.io/v1beta1` (with that version's extra fields).
    K8sV1beta1,
    /// Webhook backend: one compact `EventList` of up to 100 events per line.
    EventList,
    /// Webhook backend: one pretty-printed `EventList` per file.
    EventListPretty,
    /// `AzureDiagnostics` rows as NDJSON.
    AzureDiagnostics,
    /// `AzureDiagnostics` rows as one JSON array (as `az monitor log-analytics query -o json`).
    AzureDiagnosticsJson,
    /// `AzureDiagnostics` rows as CSV with a header (portal export).
    AzureDiagnosticsCsv,
    /// `AKSAudit` rows as NDJSON, dynamic columns nested.
    AksAudit,
    /// `AKSAudit` rows as NDJSON, dynamic columns as JSON strings.
    AksAuditStrings,
    /// `AKSAudit` rows as one JSON array, dynamic columns as JSON strings (as the CLI prints).
    AksAuditJson,
    /// `AKSAudit` rows as CSV with a header.
    AksAuditCsv,
    /// Diagnostic-settings envelope, `properties.log` a string, 100 records per line.
    Envelope,
    /// Diagnostic-settings envelope, `properties.log` an object.
    EnvelopeObject,
    /// Amazon CloudWatch Logs subscription payloads (EKS; what Firehose delivers to S3 with a
    /// newline after each record), 100 log events per line.
    CloudWatch,
    /// Google Cloud Logging entries (GKE), one per line as a Cloud Storage sink writes them;
    /// one per request (the first stages are not logged), with one time and no query string.
    Gke,
}

/// Every format with its name, in the order documented.
pub const FORMATS: [(OutputFormat, &str); 15] = [
    (OutputFormat::K8s, "k8s"),
    (OutputFormat::K8sV1beta1, "k8s-v1beta1"),
    (OutputFormat::EventList, "eventlist"),
    (OutputFormat::EventListPretty, "eventlist-pretty"),
    (OutputFormat::AzureDiagnostics, "azure-diagnostics"),
    (OutputFormat::AzureDiagnosticsJson, "azure-diagnostics-json"),
    (OutputFormat::AzureDiagnosticsCsv, "azure-diagnostics-csv"),
    (OutputFormat::AksAudit, "aks-audit"),
    (OutputFormat::AksAuditStrings, "aks-audit-strings"),
    (OutputFormat::AksAuditJson, "aks-audit-json"),
    (OutputFormat::AksAuditCsv, "aks-audit-csv"),
    (OutputFormat::Envelope, "envelope"),
    (OutputFormat::EnvelopeObject, "envelope-object"),
    (OutputFormat::CloudWatch, "cloudwatch"),
    (OutputFormat::Gke, "gke"),
];

impl OutputFormat {
    /// The `--format` name.
    pub fn name(self) -> &'static str {
        FORMATS.iter().find(|(f, _)| *f == self).map_or("k8s", |(_, n)| n)
    }

    /// File extension (before any compression suffix).
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::EventListPretty
            | OutputFormat::AzureDiagnosticsJson
            | OutputFormat::AksAuditJson
            | OutputFormat::Gke => "json",
            OutputFormat::AzureDiagnosticsCsv | OutputFormat::AksAuditCsv => "csv",
            _ => "log",
        }
    }

    /// What separates a chunk from the previous one in the same file (`None`: chunks are
    /// whole lines).
    fn separator(self) -> Option<&'static [u8]> {
        match self {
            OutputFormat::EventListPretty
            | OutputFormat::AzureDiagnosticsJson
            | OutputFormat::AksAuditJson => Some(b",\n"),
            _ => None,
        }
    }

    /// What opens a file.
    fn file_open(self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            OutputFormat::EventListPretty => out.extend_from_slice(
                b"{\n    \"kind\": \"EventList\",\n    \"apiVersion\": \"audit.k8s.io/v1\",\n    \"metadata\": {},\n    \"items\": [\n",
            ),
            OutputFormat::AzureDiagnosticsJson | OutputFormat::AksAuditJson => out.extend_from_slice(b"[\n"),
            OutputFormat::AzureDiagnosticsCsv => write_csv_header(&mut out, &AZURE_DIAGNOSTICS_COLUMNS),
            OutputFormat::AksAuditCsv => write_csv_header(&mut out, &AKS_AUDIT_COLUMNS),
            _ => {}
        }
        out
    }

    /// What closes a file.
    fn file_close(self) -> &'static [u8] {
        match self {
            OutputFormat::EventListPretty => b"\n    ]\n}\n",
            OutputFormat::AzureDiagnosticsJson | OutputFormat::AksAuditJson => b"\n]\n",
            _ => b"",
        }
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown format name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format `{0}` (known: {known})", known = FORMATS.iter().map(|(_, n)| *n).collect::<Vec<_>>().join(", "))]
pub struct UnknownFormat(pub String);

impl FromStr for OutputFormat {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FORMATS
            .iter()
            .find(|(_, n)| *n == s.trim())
            .map(|(f, _)| *f)
            .ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

const LIST_BATCH: usize = 100;

fn utc(t: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_micros(t).single()
}

/// Renders a generated slice in `format`; records of a chunk are complete lines, or (for
/// separated formats) rows with the separator between them but not before the first.
pub fn render(ctx: &Ctx, slice: &SliceOut, format: OutputFormat, out: &mut Vec<u8>) {
    let mut scratch = Vec::with_capacity(4096);
    let mut scratch2 = Vec::with_capacity(4096);
    let mut origin = Origin {
        time_generated: None,
        azure_category: Some("kube-audit".to_owned()),
        cluster_resource_id: Some(ctx.cluster.resource_id.clone()),
        apiserver_pod: None,
    };
    let n = slice.entries.len();
    for (i, e) in slice.entries.iter().enumerate() {
        let line = &slice.buf[e.offset as usize..(e.offset + e.len) as usize];
        // Log Analytics stamps rows a moment after the event.
        let ingest_delay = 400_000 + (mix64(u64::from(e.seq) ^ e.time as u64) % 1_600_000) as i64;
        let set_origin = |origin: &mut Origin| {
            origin.time_generated = utc(e.time + ingest_delay);
            let pod = apiserver_pod(ctx, e);
            if origin.apiserver_pod.as_deref() != Some(pod) {
                origin.apiserver_pod = Some(pod.to_owned());
            }
        };
        match format {
            OutputFormat::K8s => {
                out.extend_from_slice(line);
                out.push(b'\n');
            }
            OutputFormat::K8sV1beta1 => {
                if let Ok(mut event) = serde_json::from_slice::<audit::Event>(line) {
                    event.api_version = "audit.k8s.io/v1beta1".to_owned();
                    write_event_json(out, &event);
                    out.push(b'\n');
                }
            }
            OutputFormat::EventList => {
                if i % LIST_BATCH == 0 {
                    out.extend_from_slice(b"{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"metadata\":{},\"items\":[");
                } else {
                    out.push(b',');
                }
                push_item(out, line);
                if i % LIST_BATCH == LIST_BATCH - 1 || i + 1 == n {
                    out.extend_from_slice(b"]}\n");
                }
            }
            OutputFormat::EventListPretty => {
                if i > 0 {
                    out.extend_from_slice(b",\n");
                }
                scratch.clear();
                push_item(&mut scratch, line);
                pretty_json(out, &scratch, 2);
            }
            OutputFormat::AzureDiagnostics
            | OutputFormat::AzureDiagnosticsJson
            | OutputFormat::AzureDiagnosticsCsv => {
                set_origin(&mut origin);
                let container = match format {
                    OutputFormat::AzureDiagnostics => Container::Ndjson,
                    OutputFormat::AzureDiagnosticsJson => Container::JsonArray,
                    _ => Container::Csv,
                };
                if i > 0 && container == Container::JsonArray {
                    out.extend_from_slice(b",\n");
                }
                azure_diagnostics_row(out, origin.time_generated, &origin, line, container);
            }
            OutputFormat::AksAudit
            | OutputFormat::AksAuditStrings
            | OutputFormat::AksAuditJson
            | OutputFormat::AksAuditCsv => {
                set_origin(&mut origin);
                let (container, dynamic) = match format {
                    OutputFormat::AksAudit => (Container::Ndjson, DynamicColumns::Nested),
                    OutputFormat::AksAuditStrings => (Container::Ndjson, DynamicColumns::JsonStrings),
                    OutputFormat::AksAuditJson => (Container::JsonArray, DynamicColumns::JsonStrings),
                    _ => (Container::Csv, DynamicColumns::Nested),
                };
                if let Ok(event) = serde_json::from_slice::<audit::Event>(line) {
                    if i > 0 && container == Container::JsonArray {
                        out.extend_from_slice(b",\n");
                    }
                    aks_audit_row(out, &mut scratch, &event, &origin, container, dynamic);
                }
            }
            OutputFormat::Envelope | OutputFormat::EnvelopeObject => {
                set_origin(&mut origin);
                let log =
                    if format == OutputFormat::Envelope { EnvelopeLog::String } else { EnvelopeLog::Object };
                if i % LIST_BATCH == 0 {
                    out.extend_from_slice(b"{\"records\":[");
                } else {
                    out.push(b',');
                }
                scratch2.clear();
                envelope_record(&mut scratch2, origin.time_generated, &origin, line, log);
                out.extend_from_slice(&scratch2);
                if i % LIST_BATCH == LIST_BATCH - 1 || i + 1 == n {
                    out.extend_from_slice(b"]}\n");
                }
            }
            OutputFormat::CloudWatch => {
                set_origin(&mut origin);
                if i % LIST_BATCH == 0 {
                    open_subscription_payload(out);
                } else {
                    out.push(b',');
                }
                let millis = origin.time_generated.map_or(0, |t| t.timestamp_millis());
                subscription_log_event(out, i as u64, millis, line);
                if i % LIST_BATCH == LIST_BATCH - 1 || i + 1 == n {
                    out.extend_from_slice(b"]}\n");
                }
            }
            OutputFormat::Gke => {
                if let Ok(event) = serde_json::from_slice::<audit::Event>(line)
                    && let Some(entry) = gke_entry(&event, &origin)
                    && serde_json::to_writer(&mut *out, &entry).is_ok()
                {
                    out.push(b'\n');
                }
            }
        }
    }
}

/// Appends an event as an `EventList` item: the emitter's JSON without `kind` and
/// `apiVersion`, as the webhook backend sends items.
fn push_item(out: &mut Vec<u8>, line: &[u8]) {
    const PREFIX: &[u8] = b"{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",";
    match line.strip_prefix(PREFIX) {
        Some(rest) => {
            out.push(b'{');
            out.extend_from_slice(rest);
        }
        None => out.extend_from_slice(line),
    }
}

/// Writes rendered chunks into `DIR/audit/kube-apiserver-audit-NNN.<ext>[.gz|.zst]`, starting
/// a new file when the current one holds `max_file_bytes` (uncompressed) or more.
pub struct AuditFiles {
    dir: PathBuf,
    format: OutputFormat,
    compression: Compression,
    max_file_bytes: u64,
    current: Option<Compressed<BufWriter<File>>>,
    current_bytes: u64,
    /// Files written, relative to the output directory.
    pub files: Vec<String>,
    /// Uncompressed bytes written.
    pub bytes: u64,
}

impl AuditFiles {
    /// Prepares writing into `dir` (created if missing).
    pub fn new(
        dir: &Path,
        format: OutputFormat,
        compression: Compression,
        max_file_bytes: u64,
    ) -> io::Result<AuditFiles> {
        std::fs::create_dir_all(dir)?;
        Ok(AuditFiles {
            dir: dir.to_path_buf(),
            format,
            compression,
            max_file_bytes: max_file_bytes.max(1),
            current: None,
            current_bytes: 0,
            files: Vec::new(),
            bytes: 0,
        })
    }

    fn open(&mut self) -> io::Result<()> {
        let name = format!(
            "kube-apiserver-audit-{:03}.{}{}",
            self.files.len(),
            self.format.extension(),
            self.compression.suffix()
        );
        let file = File::create(self.dir.join(&name))?;
        let mut w = Compressed::new(BufWriter::with_capacity(4 << 20, file), self.compression)?;
        let open = self.format.file_open();
        w.write_all(&open)?;
        self.bytes += open.len() as u64;
        self.current = Some(w);
        self.current_bytes = 0;
        self.files.push(format!("audit/{name}"));
        Ok(())
    }

    fn close(&mut self) -> io::Result<()> {
        if let Some(mut w) = self.current.take() {
            let close = self.format.file_close();
            w.write_all(close)?;
            self.bytes += close.len() as u64;
            let mut inner = w.finish()?;
            inner.flush()?;
        }
        Ok(())
    }

    /// Appends one rendered chunk.
    pub fn write_chunk(&mut self, chunk: &[u8]) -> io::Result<()> {
        if chunk.is_empty() {
            return Ok(());
        }
        if self.current.is_some() && self.current_bytes >= self.max_file_bytes {
            self.close()?;
        }
        if self.current.is_none() {
            self.open()?;
        }
        let sep = if self.current_bytes > 0 { self.format.separator() } else { None };
        if let Some(w) = self.current.as_mut() {
            if let Some(sep) = sep {
                w.write_all(sep)?;
                self.bytes += sep.len() as u64;
            }
            w.write_all(chunk)?;
        }
        self.current_bytes += chunk.len() as u64;
        self.bytes += chunk.len() as u64;
        Ok(())
    }

    /// Closes the last file; with nothing written, still writes one (empty but valid) file.
    pub fn finish(mut self) -> io::Result<(Vec<String>, u64)> {
        if self.files.is_empty() {
            self.open()?;
        }
        self.close()?;
        Ok((self.files, self.bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for (f, name) in FORMATS {
            assert_eq!(name.parse::<OutputFormat>(), Ok(f));
            assert_eq!(f.name(), name);
        }
        let err = "k8z".parse::<OutputFormat>().expect_err("unknown");
        assert!(err.to_string().contains("k8s, k8s-v1beta1"), "{err}");
    }

    #[test]
    fn event_list_items_lose_kind_and_api_version() {
        let line = br#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata"}"#;
        let mut out = Vec::new();
        push_item(&mut out, line);
        assert_eq!(out, br#"{"level":"Metadata"}"#);
        out.clear();
        push_item(&mut out, b"{}");
        assert_eq!(out, b"{}");
    }
}
