//! Writers for every input format ingest reads, from [`Event`]s: used by round-trip tests and
//! the simulator.
//!
//! Everything streams into an `impl Write`: an [`AuditWriter`] holds one record's bytes at a
//! time, never the whole output. Shapes follow the real files in `../shared/data/real/audit`
//! and `../shared/data/real/azure`:
//!
//! - events are written as the apiserver writes them: its field order, Go's JSON escaping
//!   (`<`, `>`, `&` as `\u003c`…), timestamps in RFC 3339 UTC with exactly six fractional
//!   digits and `Z`; `audit.k8s.io/v1beta1` events also get the `metadata.creationTimestamp`
//!   and `timestamp` fields that version had;
//! - Azure columns carry timestamps with seven fractional digits, as Log Analytics prints them.
//!
//! The format names and container shapes are documented in `docs/simulate.md`.

use std::io::{self, Write};

use chrono::{DateTime, Datelike, Timelike, Utc};

use crate::batch::Origin;
use crate::event::{Event, ObjectRef, ResponseStatus, UserInfo};

/// The Azure category used when an [`Origin`] names none.
pub const DEFAULT_AZURE_CATEGORY: &str = "kube-audit";

/// The `operationName` AKS puts on every diagnostic record.
pub const AKS_OPERATION_NAME: &str = "Microsoft.ContainerService/managedClusters/diagnosticLogs/Read";

/// How Azure rows are laid out in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Container {
    /// One JSON object per line.
    Ndjson,
    /// One JSON array of row objects, as `az monitor log-analytics query -o json` prints it
    /// (each row also carries `"TableName": "PrimaryResult"`, as the CLI adds).
    JsonArray,
    /// CSV with a header line, as the portal exports it.
    Csv,
}

/// How the dynamic columns of `AKSAudit` rows (`User`, `ObjectRef`, …) are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DynamicColumns {
    /// As nested JSON values (absent values: `null`).
    Nested,
    /// As strings holding JSON (absent values: `""`), as some exports give them.
    JsonStrings,
}

/// How `properties.log` of a diagnostic-settings record holds the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnvelopeLog {
    /// A string holding the event JSON followed by a newline (the container log line).
    String,
    /// The event as a nested JSON object.
    Object,
}

/// How a log store hands back the audit log's lines it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogStoreShape {
    /// Loki's `logcli query` default output: the time, the stream's labels padded, the line.
    LokiText,
    /// Loki's `logcli query --output=jsonl`: `{"labels", "line", "timestamp"}` per line.
    LokiJsonl,
    /// Splunk's search export: `{"preview": false, "offset", "result": {"_raw", …}}` per line.
    SplunkJson,
    /// Splunk's CSV export: `_time`, `host`, `_raw`.
    SplunkCsv,
    /// `elasticdump`'s output: one Elasticsearch hit per line, its `_source` the document
    /// Elastic's Kubernetes integration indexes: the event's fields under `kubernetes.audit`,
    /// every `.` of an annotation key made `_`, and no `event.original`.
    ElasticDump,
    /// An Elasticsearch search response (`GET INDEX/_search`), pretty-printed: `hits.hits`,
    /// each `_source` keeping the line as `event.original` (the integration's
    /// `preserve_original_event` tag) beside its `kubernetes.audit` fields.
    ElasticSearch,
    /// Filebeat's documents without the integration, one per line: the line as `message`.
    Filebeat,
}

/// How CloudWatch Logs (EKS) hands out the log events of the audit streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloudWatchShape {
    /// `aws logs filter-log-events` output: one pretty-printed `{"events": […]}` document of
    /// `{"logStreamName", "timestamp", "message", "ingestionTime", "eventId"}` objects.
    FilterLogEvents,
    /// Subscription payloads (what Firehose and Kinesis deliver, decompressed): one
    /// `{"messageType": "DATA_MESSAGE", …, "logEvents": […]}` of up to `batch` events per line.
    Subscription {
        /// Log events per payload (at least 1).
        batch: usize,
    },
    /// `aws logs get-query-results` output of a Logs Insights query: `{"results": [[{"field",
    /// "value"}, …]], "statistics": {…}, "status": "Complete"}`, one row per event.
    QueryResults,
}

/// The log stream EKS writes the API server's audit events to (its suffix is a hash).
const CLOUDWATCH_STREAM: &str = "kube-apiserver-audit-3f2b8a6d1c9e4f7a0b5c8d2e6f1a4b7c";
/// The log group of an EKS cluster's control-plane logs.
const CLOUDWATCH_GROUP: &str = "/aws/eks/prod/cluster";

/// Output format of an [`AuditWriter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Log backend: one `Event` per line (its `apiVersion` is the event's own).
    K8sLog,
    /// Webhook backend: one compact `EventList` of up to `batch` events per line.
    EventListLines {
        /// Events per list (at least 1).
        batch: usize,
    },
    /// Webhook backend: one pretty-printed `EventList` holding every event of the file.
    EventListPretty,
    /// Azure `AzureDiagnostics` rows: `Category`, `log_s` with the event JSON, `pod_s`, ….
    AzureDiagnostics {
        /// File layout.
        container: Container,
    },
    /// Azure resource-specific `AKSAudit` / `AKSAuditAdmin` rows (by the origin's category).
    AksAudit {
        /// File layout.
        container: Container,
        /// Nested or string-encoded dynamic columns.
        dynamic: DynamicColumns,
    },
    /// Diagnostic-settings envelope (Event Hub, storage): one `{"records":[…]}` document of
    /// up to `batch` records per line.
    DiagnosticEnvelope {
        /// `properties.log` as a string or an object.
        log: EnvelopeLog,
        /// Records per document (at least 1).
        batch: usize,
    },
    /// Amazon CloudWatch Logs, the event as JSON text in each log event's `message`.
    CloudWatch {
        /// Which API's output.
        shape: CloudWatchShape,
    },
    /// A log store's export of the log backend's lines: Grafana Loki's `logcli query` output
    /// or Splunk's.
    LogStore {
        /// Which store and form.
        shape: LogStoreShape,
    },
    /// Google Cloud Logging (GKE): one Cloud Audit Logs entry per line, as a Cloud Storage
    /// sink writes them. GKE logs a request once: the first stages of a request
    /// (`RequestReceived`, `ResponseStarted`) are not written; see [`gke_entry`].
    Gke,
}

/// Compression around the written bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// Plain bytes.
    #[default]
    None,
    /// gzip (`.gz`).
    Gzip,
    /// Zstandard (`.zst`).
    Zstd,
}

impl Compression {
    /// The file name suffix, with its dot (empty for none).
    pub fn suffix(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => ".gz",
            Compression::Zstd => ".zst",
        }
    }
}

/// A writer that compresses (or not) into `W`; call [`Compressed::finish`] to end the stream.
pub enum Compressed<W: Write> {
    /// No compression.
    Plain(W),
    /// gzip.
    Gzip(flate2::write::GzEncoder<W>),
    /// Zstandard.
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> Compressed<W> {
    /// Wraps `inner` in the given compression.
    pub fn new(inner: W, compression: Compression) -> io::Result<Self> {
        Ok(match compression {
            Compression::None => Compressed::Plain(inner),
            Compression::Gzip => {
                Compressed::Gzip(flate2::write::GzEncoder::new(inner, flate2::Compression::fast()))
            }
            // Level 3 is zstd's default: several hundred MB/s per core.
            Compression::Zstd => Compressed::Zstd(zstd::stream::write::Encoder::new(inner, 3)?),
        })
    }

    /// Writes the compression trailer and returns the inner writer, flushed.
    pub fn finish(self) -> io::Result<W> {
        let mut inner = match self {
            Compressed::Plain(w) => w,
            Compressed::Gzip(e) => e.finish()?,
            Compressed::Zstd(e) => e.finish()?,
        };
        inner.flush()?;
        Ok(inner)
    }
}

impl<W: Write> Write for Compressed<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Compressed::Plain(w) => w.write(buf),
            Compressed::Gzip(e) => e.write(buf),
            Compressed::Zstd(e) => e.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Compressed::Plain(w) => w.write_all(buf),
            Compressed::Gzip(e) => e.write_all(buf),
            Compressed::Zstd(e) => e.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Compressed::Plain(w) => w.flush(),
            Compressed::Gzip(e) => e.flush(),
            Compressed::Zstd(e) => e.flush(),
        }
    }
}

/// Streams events in one [`Format`] into `W`.
///
/// Containers with an opening (`[`, a CSV header, a pretty `EventList`) write it with the
/// first event or, for an empty output, in [`AuditWriter::finish`], which also closes them.
pub struct AuditWriter<W: Write> {
    out: W,
    format: Format,
    /// Records written into the document now open (lists, arrays, envelopes).
    in_doc: usize,
    /// Whether anything was written yet (the opening of a container).
    started: bool,
    /// The open `EventList`'s `apiVersion` (a list never mixes versions).
    list_api_version: String,
    /// Events written so far.
    written: u64,
    record: Vec<u8>,
    scratch: Vec<u8>,
}

impl<W: Write> AuditWriter<W> {
    /// A writer of `format` into `out`.
    pub fn new(out: W, format: Format) -> Self {
        AuditWriter {
            out,
            format,
            in_doc: 0,
            started: false,
            list_api_version: String::new(),
            written: 0,
            record: Vec::with_capacity(4096),
            scratch: Vec::with_capacity(4096),
        }
    }

    /// Writes one event; `origin` gives the Azure columns and envelope fields where the format
    /// has them (ignored by the Kubernetes formats).
    pub fn write_event(&mut self, event: &Event, origin: &Origin) -> io::Result<()> {
        self.record.clear();
        match self.format {
            Format::K8sLog => {
                write_event_json(&mut self.record, event);
                self.record.push(b'\n');
            }
            Format::EventListLines { batch } => {
                let api_version = event_api_version(event);
                if self.in_doc > 0 && (self.in_doc >= batch.max(1) || api_version != self.list_api_version) {
                    self.record.extend_from_slice(b"]}\n");
                    self.in_doc = 0;
                }
                if self.in_doc == 0 {
                    open_event_list(&mut self.record, api_version);
                    self.list_api_version = api_version.to_owned();
                } else {
                    self.record.push(b',');
                }
                write_event_fields(&mut self.record, event, false);
                self.in_doc += 1;
            }
            Format::EventListPretty => {
                let api_version = event_api_version(event);
                if self.in_doc > 0 && api_version != self.list_api_version {
                    // A list has one apiVersion: start another document.
                    self.record.extend_from_slice(b"\n    ]\n}\n");
                    self.in_doc = 0;
                }
                if self.in_doc == 0 {
                    self.record.extend_from_slice(b"{\n    \"kind\": \"EventList\",\n    \"apiVersion\": ");
                    write_str(&mut self.record, api_version);
                    self.record.extend_from_slice(b",\n    \"metadata\": {},\n    \"items\": [\n");
                    self.list_api_version = api_version.to_owned();
                } else {
                    self.record.extend_from_slice(b",\n");
                }
                self.scratch.clear();
                write_event_fields(&mut self.scratch, event, false);
                pretty_json(&mut self.record, &self.scratch, 2);
                self.in_doc += 1;
            }
            Format::AzureDiagnostics { container } => {
                self.open_container(container, &AZURE_DIAGNOSTICS_COLUMNS);
                self.scratch.clear();
                write_event_json(&mut self.scratch, event);
                let tg = time_generated(event, origin);
                azure_diagnostics_row(&mut self.record, tg, origin, &self.scratch, container);
            }
            Format::AksAudit { container, dynamic } => {
                self.open_container(container, &AKS_AUDIT_COLUMNS);
                aks_audit_row(&mut self.record, &mut self.scratch, event, origin, container, dynamic);
            }
            Format::DiagnosticEnvelope { log, batch } => {
                if self.in_doc >= batch.max(1) {
                    self.record.extend_from_slice(b"]}\n");
                    self.in_doc = 0;
                }
                if self.in_doc == 0 {
                    self.record.extend_from_slice(b"{\"records\":[");
                } else {
                    self.record.push(b',');
                }
                self.scratch.clear();
                write_event_json(&mut self.scratch, event);
                let tg = time_generated(event, origin);
                envelope_record(&mut self.record, tg, origin, &self.scratch, log);
                self.in_doc += 1;
            }
            Format::CloudWatch { shape } => {
                self.scratch.clear();
                write_event_json(&mut self.scratch, event);
                let millis = time_generated(event, &Origin::default()).map_or(0, |t| t.timestamp_millis());
                let id = cloudwatch_event_id(self.written);
                match shape {
                    CloudWatchShape::FilterLogEvents => {
                        self.record.extend_from_slice(if self.started {
                            b",\n        {\n"
                        } else {
                            b"{\n    \"events\": [\n        {\n"
                        });
                        self.record.extend_from_slice(b"            \"logStreamName\": ");
                        write_str(&mut self.record, CLOUDWATCH_STREAM);
                        self.record.extend_from_slice(
                            format!(",\n            \"timestamp\": {millis},\n").as_bytes(),
                        );
                        self.record.extend_from_slice(b"            \"message\": ");
                        write_str(&mut self.record, &String::from_utf8_lossy(&self.scratch));
                        self.record.extend_from_slice(
                            format!(",\n            \"ingestionTime\": {},\n", millis + 1500).as_bytes(),
                        );
                        self.record.extend_from_slice(b"            \"eventId\": ");
                        write_str(&mut self.record, &id);
                        self.record.extend_from_slice(b"\n        }");
                    }
                    CloudWatchShape::Subscription { batch } => {
                        if self.in_doc >= batch.max(1) {
                            self.record.extend_from_slice(b"]}\n");
                            self.in_doc = 0;
                        }
                        if self.in_doc == 0 {
                            open_subscription_payload(&mut self.record);
                        } else {
                            self.record.push(b',');
                        }
                        subscription_log_event(&mut self.record, self.written, millis, &self.scratch);
                        self.in_doc += 1;
                    }
                    CloudWatchShape::QueryResults => {
                        self.record.extend_from_slice(if self.started {
                            b",\n        [\n"
                        } else {
                            b"{\n    \"results\": [\n        [\n"
                        });
                        let stamp = time_generated(event, &Origin::default())
                            .map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f").to_string())
                            .unwrap_or_default();
                        let message = String::from_utf8_lossy(&self.scratch);
                        let ptr =
                            format!("CmAKJwojMTIzNDU2Nzg5MDEyOi9hd3MvZWtzL3Byb2QvY2x1c3RlchAHEjUaGAIG{id}");
                        for (i, (field, value)) in
                            [("@timestamp", stamp.as_str()), ("@message", &message), ("@ptr", &ptr)]
                                .into_iter()
                                .enumerate()
                        {
                            self.record.extend_from_slice(if i > 0 { b",\n" } else { b"" });
                            self.record.extend_from_slice(b"            {\n                \"field\": ");
                            write_str(&mut self.record, field);
                            self.record.extend_from_slice(b",\n                \"value\": ");
                            write_str(&mut self.record, value);
                            self.record.extend_from_slice(b"\n            }");
                        }
                        self.record.extend_from_slice(b"\n        ]");
                    }
                }
            }
            Format::LogStore { shape } => {
                self.scratch.clear();
                write_event_json(&mut self.scratch, event);
                let line = String::from_utf8_lossy(&self.scratch);
                let time = rfc3339(time_generated(event, &Origin::default()).unwrap_or_default());
                match shape {
                    LogStoreShape::LokiText => {
                        self.record.extend_from_slice(
                            format!("{time} {{filename=\"/var/log/kube-apiserver/audit.log\", job=\"kube-apiserver-audit\"}}    ")
                                .as_bytes(),
                        );
                        self.record.extend_from_slice(&self.scratch);
                    }
                    LogStoreShape::LokiJsonl => {
                        self.record
                            .extend_from_slice(b"{\"labels\":{\"job\":\"kube-apiserver-audit\"},\"line\":");
                        write_str(&mut self.record, &line);
                        self.record.extend_from_slice(b",\"timestamp\":");
                        write_str(&mut self.record, &time);
                        self.record.push(b'}');
                    }
                    LogStoreShape::SplunkJson => {
                        self.record.extend_from_slice(
                            format!("{{\"preview\":false,\"offset\":{},\"result\":{{\"_raw\":", self.written)
                                .as_bytes(),
                        );
                        write_str(&mut self.record, &line);
                        self.record.extend_from_slice(b",\"_time\":");
                        write_str(&mut self.record, &time);
                        self.record.extend_from_slice(
                            b",\"host\":\"master-0\",\"sourcetype\":\"kube:apiserver:audit\"}}",
                        );
                    }
                    LogStoreShape::SplunkCsv => {
                        if !self.started {
                            self.record.extend_from_slice(b"_time,host,_raw\r\n");
                        }
                        csv_field(&mut self.record, time.as_bytes());
                        self.record.extend_from_slice(b",master-0,");
                        csv_field(&mut self.record, &self.scratch);
                        self.record.extend_from_slice(b"\r");
                    }
                    LogStoreShape::ElasticDump => {
                        let hit = elastic_hit(self.written, elastic_source(&self.scratch, &time, false)?);
                        serde_json::to_writer(&mut self.record, &hit).map_err(io::Error::other)?;
                    }
                    LogStoreShape::ElasticSearch => {
                        let hit = elastic_hit(self.written, elastic_source(&self.scratch, &time, true)?);
                        self.record.extend_from_slice(if self.started {
                            b",\n"
                        } else {
                            b"{\n\"took\": 12,\n\"timed_out\": false,\n\"_shards\": {\"total\": 1, \"successful\": 1, \"skipped\": 0, \"failed\": 0},\n\"hits\": {\n\"total\": {\"value\": 10000, \"relation\": \"gte\"},\n\"max_score\": 1.0,\n\"hits\": [\n"
                        });
                        serde_json::to_writer_pretty(&mut self.record, &hit).map_err(io::Error::other)?;
                    }
                    LogStoreShape::Filebeat => {
                        let doc = serde_json::json!({
                            "@timestamp": time,
                            "log": {"offset": self.written * 1000, "file": {"path": "/var/log/kubernetes/audit/audit.log"}},
                            "message": line,
                            "input": {"type": "filestream"},
                            "ecs": {"version": "8.0.0"},
                            "host": {"name": "master-0"},
                            "agent": {"type": "filebeat", "version": "8.15.0"},
                        });
                        serde_json::to_writer(&mut self.record, &doc).map_err(io::Error::other)?;
                    }
                }
                // A search response's hits are separated by commas and closed by `finish`.
                if shape != LogStoreShape::ElasticSearch {
                    self.record.push(b'\n');
                }
            }
            Format::Gke => {
                let Some(entry) = gke_entry(event, origin) else { return Ok(()) };
                serde_json::to_writer(&mut self.record, &entry).map_err(io::Error::other)?;
                self.record.push(b'\n');
            }
        }
        self.started = true;
        self.written += 1;
        self.out.write_all(&self.record)
    }

    /// Writes what opens an Azure container (array bracket, CSV header) and separates rows.
    fn open_container(&mut self, container: Container, columns: &[&str]) {
        match container {
            Container::Ndjson => {}
            Container::JsonArray => {
                self.record.extend_from_slice(if self.started { b",\n" } else { b"[\n" });
            }
            Container::Csv => {
                if !self.started {
                    csv_header(&mut self.record, columns);
                }
            }
        }
    }

    /// Closes any open document and returns the inner writer, flushed.
    pub fn finish(mut self) -> io::Result<W> {
        self.record.clear();
        match self.format {
            Format::LogStore { shape: LogStoreShape::ElasticSearch } => {
                self.record.extend_from_slice(if self.started {
                    b"\n]\n}\n}\n"
                } else {
                    b"{\"took\": 1, \"timed_out\": false, \"hits\": {\"total\": {\"value\": 0, \"relation\": \"eq\"}, \"hits\": []}}\n"
                });
            }
            Format::K8sLog | Format::Gke | Format::LogStore { .. } => {}
            Format::EventListLines { .. }
            | Format::DiagnosticEnvelope { .. }
            | Format::CloudWatch { shape: CloudWatchShape::Subscription { .. } } => {
                if self.in_doc > 0 {
                    self.record.extend_from_slice(b"]}\n");
                }
            }
            Format::CloudWatch { shape: CloudWatchShape::FilterLogEvents } => {
                self.record.extend_from_slice(if self.started {
                    b"\n    ],\n    \"searchedLogStreams\": []\n}\n"
                } else {
                    b"{\n    \"events\": [],\n    \"searchedLogStreams\": []\n}\n"
                });
            }
            Format::CloudWatch { shape: CloudWatchShape::QueryResults } => {
                if self.started {
                    self.record.extend_from_slice(b"\n    ],\n");
                } else {
                    self.record.extend_from_slice(b"{\n    \"results\": [],\n");
                }
                self.record.extend_from_slice(
                    format!(
                        "    \"statistics\": {{\n        \"recordsMatched\": {n}.0,\n        \"recordsScanned\": {n}.0\n    }},\n    \"status\": \"Complete\"\n}}\n",
                        n = self.written
                    )
                    .as_bytes(),
                );
            }
            Format::EventListPretty => {
                if self.in_doc > 0 {
                    self.record.extend_from_slice(b"\n    ]\n}\n");
                } else {
                    self.record.extend_from_slice(
                        b"{\n    \"kind\": \"EventList\",\n    \"apiVersion\": \"audit.k8s.io/v1\",\n    \"metadata\": {},\n    \"items\": []\n}\n",
                    );
                }
            }
            Format::AzureDiagnostics { container } | Format::AksAudit { container, .. } => match container {
                Container::Ndjson => {}
                Container::JsonArray => {
                    self.record.extend_from_slice(if self.started { b"\n]\n" } else { b"[]\n" });
                }
                Container::Csv => {
                    if !self.started {
                        let columns: &[&str] = if matches!(self.format, Format::AksAudit { .. }) {
                            &AKS_AUDIT_COLUMNS
                        } else {
                            &AZURE_DIAGNOSTICS_COLUMNS
                        };
                        csv_header(&mut self.record, columns);
                    }
                }
            },
        }
        self.out.write_all(&self.record)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// The Cloud Logging entry GKE writes for `event`'s request, as `crates/audit/src/raw/gke.rs`
/// reads it back: `None` for the first stages of a request (GKE logs each request once). The
/// entry keeps what GKE keeps: one time (`timestamp`), no query string, no groups; a failure's
/// status as the gRPC code and the Kubernetes `Status` of the response. The cluster is named
/// from the origin's cluster resource ID (its last part) in project `apiserver-doctor-sim`.
pub fn gke_entry(event: &Event, origin: &Origin) -> Option<serde_json::Value> {
    use serde_json::{Map, Value, json};
    if matches!(event.stage.as_str(), "RequestReceived" | "ResponseStarted") {
        return None;
    }
    let resource_name = match &event.object_ref {
        Some(o) => {
            let group = o.api_group.as_deref().filter(|g| !g.is_empty()).unwrap_or("core");
            let mut parts = vec![group, o.api_version.as_deref().unwrap_or("v1")];
            if let Some(ns) = o.namespace.as_deref().filter(|n| !n.is_empty()) {
                parts.extend(["namespaces", ns]);
            }
            parts.extend([&o.resource, &o.name, &o.subresource].into_iter().filter_map(|v| v.as_deref()));
            parts.join("/")
        }
        None => event.request_uri.split('?').next().unwrap_or_default().trim_start_matches('/').to_owned(),
    };
    // `io.k8s.GROUP.VERSION.RESOURCE[.SUBRESOURCE].VERB` (`io.k8s.core.v1.pods.list`), as GKE
    // names the method; a request to a path, `io.k8s.VERB`.
    let method = match &event.object_ref {
        Some(o) => {
            let group = o.api_group.as_deref().filter(|g| !g.is_empty()).unwrap_or("core");
            let mut parts = vec!["io.k8s", group, o.api_version.as_deref().unwrap_or("v1")];
            parts.extend([&o.resource, &o.subresource].into_iter().filter_map(|v| v.as_deref()));
            parts.push(&event.verb);
            parts.join(".")
        }
        None => format!("io.k8s.{}", event.verb),
    };
    let mut payload = Map::new();
    payload.insert("@type".into(), json!("type.googleapis.com/google.cloud.audit.AuditLog"));
    payload.insert("authenticationInfo".into(), json!({ "principalEmail": event.user.username }));
    payload.insert("methodName".into(), json!(method));
    let ip = event.source_ips.as_ref().and_then(|ips| ips.first()).cloned().unwrap_or_default();
    payload.insert(
        "requestMetadata".into(),
        json!({ "callerIp": ip, "callerSuppliedUserAgent": event.user_agent.clone().unwrap_or_default() }),
    );
    payload.insert("resourceName".into(), json!(resource_name));
    payload.insert("serviceName".into(), json!("k8s.io"));
    let code = event.response_status.as_ref().and_then(|s| s.code);
    let grpc = match code {
        None | Some(100..=399) => None,
        Some(401) => Some(16),
        Some(403) => Some(7),
        Some(404) => Some(5),
        Some(409) => Some(10),
        Some(429) => Some(8),
        Some(503) => Some(14),
        Some(504) => Some(4),
        Some(400..=499) => Some(9),
        Some(_) => Some(13),
    };
    match (grpc, &event.response_status) {
        (Some(g), Some(status)) => {
            let message = status.message.clone().unwrap_or_default();
            payload.insert("status".into(), json!({ "code": g, "message": message }));
            payload.insert(
                "response".into(),
                json!({
                    "@type": "core.k8s.io/v1.Status", "apiVersion": "v1", "kind": "Status",
                    "code": code, "message": message, "reason": status.reason, "status": "Failure",
                }),
            );
        }
        _ => {
            payload.insert("status".into(), json!({}));
        }
    }
    // GKE's cluster names are lower case.
    let cluster = origin
        .cluster_resource_id
        .as_deref()
        .and_then(|id| id.rsplit('/').next())
        .unwrap_or("cluster")
        .to_ascii_lowercase();
    let labels: Map<String, Value> = event
        .annotations
        .iter()
        .filter(|(k, _)| k.starts_with("authorization.k8s.io/"))
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let time = event.stage_timestamp.or(event.timestamp);
    Some(json!({
        "insertId": event.audit_id,
        "labels": labels,
        "logName": format!(
            "projects/apiserver-doctor-sim/logs/cloudaudit.googleapis.com%2F{}",
            if matches!(event.verb.as_str(), "get" | "list" | "watch") { "data_access" } else { "activity" }
        ),
        "operation": { "first": true, "id": event.audit_id, "last": true, "producer": "k8s.io" },
        "protoPayload": payload,
        "receiveTimestamp": time.map(|t| rfc3339(t + chrono::Duration::milliseconds(900))),
        "resource": {
            "labels": { "cluster_name": cluster, "location": "europe-west1", "project_id": "apiserver-doctor-sim" },
            "type": "k8s_cluster",
        },
        "timestamp": time.map(rfc3339),
    }))
}

/// An Elasticsearch hit of the integration's data stream holding `source`.
fn elastic_hit(n: u64, source: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "_index": ".ds-logs-kubernetes.audit_logs-default-2025.03.04-000001",
        "_id": format!("hit-{n}"),
        "_score": 1.0,
        "_source": source,
    })
}

/// The document Elastic's Kubernetes integration indexes for one audit log line: the event's
/// fields under `kubernetes.audit` with every `.` of an annotation key made `_` (as its ingest
/// pipeline does), the verb as `event.action`, and with `original` the line as
/// `event.original`.
fn elastic_source(line: &[u8], time: &str, original: bool) -> io::Result<serde_json::Value> {
    let mut audit: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(line).map_err(io::Error::other)?;
    if let Some(serde_json::Value::Object(annotations)) = audit.get_mut("annotations") {
        *annotations =
            std::mem::take(annotations).into_iter().map(|(k, v)| (k.replace('.', "_"), v)).collect();
    }
    let mut event = serde_json::json!({"kind": "event", "action": audit.get("verb").cloned()});
    if original {
        event["original"] = serde_json::Value::String(String::from_utf8_lossy(line).into_owned());
    }
    Ok(serde_json::json!({
        "@timestamp": time,
        "kubernetes": {"audit": audit},
        "event": event,
        "ecs": {"version": "8.11.0"},
        "data_stream": {"namespace": "default", "type": "logs", "dataset": "kubernetes.audit_logs"},
        "tags": if original { serde_json::json!(["preserve_original_event"]) } else { serde_json::json!([]) },
    }))
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Opens a CloudWatch Logs subscription payload (`{"messageType": "DATA_MESSAGE", …,
/// "logEvents": [`) of an EKS cluster's audit log stream; close it with `]}`.
pub fn open_subscription_payload(out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"messageType\":\"DATA_MESSAGE\",\"owner\":\"123456789012\",\"logGroup\":");
    write_str(out, CLOUDWATCH_GROUP);
    out.extend_from_slice(b",\"logStream\":");
    write_str(out, CLOUDWATCH_STREAM);
    out.extend_from_slice(b",\"subscriptionFilters\":[\"audit-to-firehose\"],\"logEvents\":[");
}

/// Appends one log event of a subscription payload: `{"id", "timestamp", "message"}`, the
/// message being `event_json` as text. `n` numbers the event (CloudWatch's ids are 56 digits).
pub fn subscription_log_event(out: &mut Vec<u8>, n: u64, millis: i64, event_json: &[u8]) {
    out.extend_from_slice(b"{\"id\":");
    write_str(out, &cloudwatch_event_id(n));
    out.extend_from_slice(format!(",\"timestamp\":{millis},\"message\":").as_bytes());
    write_str(out, &String::from_utf8_lossy(event_json));
    out.push(b'}');
}

/// The `n`th log event's ID: CloudWatch numbers its events with 56 digits; any unique digits do.
fn cloudwatch_event_id(n: u64) -> String {
    format!("{:056}", 38_000_000_000_000_000u64 + n)
}

fn event_api_version(event: &Event) -> &str {
    if event.api_version.is_empty() { "audit.k8s.io/v1" } else { &event.api_version }
}

fn open_event_list(out: &mut Vec<u8>, api_version: &str) {
    out.extend_from_slice(b"{\"kind\":\"EventList\",\"apiVersion\":");
    write_str(out, api_version);
    out.extend_from_slice(b",\"metadata\":{},\"items\":[");
}

/// Appends `event` as one compact JSON object, as the apiserver's log backend writes it.
pub fn write_event_json(out: &mut Vec<u8>, event: &Event) {
    write_event_fields(out, event, true);
}

/// The event's JSON; `with_type` adds `kind`/`apiVersion` (`EventList` items have neither).
pub fn write_event_fields(out: &mut Vec<u8>, e: &Event, with_type: bool) {
    let v1beta1 = e.api_version == "audit.k8s.io/v1beta1";
    out.push(b'{');
    let mut sep = Sep::default();
    if with_type {
        sep.key(out, "kind");
        write_str(out, if e.kind.is_empty() { "Event" } else { &e.kind });
        sep.key(out, "apiVersion");
        write_str(out, event_api_version(e));
    }
    // v1beta1 events carried ObjectMeta and a `timestamp`, both at second precision.
    let legacy_ts = if v1beta1 { e.stage_timestamp.or(e.request_received_timestamp) } else { None };
    if let Some(t) = legacy_ts {
        sep.key(out, "metadata");
        out.extend_from_slice(b"{\"creationTimestamp\":\"");
        write_timestamp(out, &t, 0);
        out.extend_from_slice(b"\"}");
    }
    sep.key(out, "level");
    write_str(out, &e.level);
    // The event's own `timestamp` (the first audit API's only time), else the legacy one.
    if let Some(t) = e.timestamp {
        sep.key(out, "timestamp");
        write_quoted_timestamp(out, &t, 6);
    } else if let Some(t) = legacy_ts {
        sep.key(out, "timestamp");
        out.push(b'"');
        write_timestamp(out, &t, 0);
        out.push(b'"');
    }
    sep.key(out, "auditID");
    write_str(out, &e.audit_id);
    sep.key(out, "stage");
    write_str(out, &e.stage);
    sep.key(out, "requestURI");
    write_str(out, &e.request_uri);
    sep.key(out, "verb");
    write_str(out, &e.verb);
    sep.key(out, "user");
    write_user(out, &e.user);
    if let Some(u) = &e.impersonated_user {
        sep.key(out, "impersonatedUser");
        write_user(out, u);
    }
    if let Some(ips) = &e.source_ips {
        sep.key(out, "sourceIPs");
        write_str_array(out, ips);
    }
    if let Some(ua) = &e.user_agent {
        sep.key(out, "userAgent");
        write_str(out, ua);
    }
    if let Some(o) = &e.object_ref {
        sep.key(out, "objectRef");
        write_object_ref(out, o);
    }
    if let Some(s) = &e.response_status {
        sep.key(out, "responseStatus");
        write_response_status(out, s);
    }
    if let Some(v) = &e.request_object {
        sep.key(out, "requestObject");
        write_value(out, v);
    }
    if let Some(v) = &e.response_object {
        sep.key(out, "responseObject");
        write_value(out, v);
    }
    if let Some(t) = &e.request_received_timestamp {
        sep.key(out, "requestReceivedTimestamp");
        write_quoted_timestamp(out, t, 6);
    }
    if let Some(t) = &e.stage_timestamp {
        sep.key(out, "stageTimestamp");
        write_quoted_timestamp(out, t, 6);
    }
    if !e.annotations.is_empty() {
        sep.key(out, "annotations");
        write_string_map(out, e.annotations.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    }
    out.push(b'}');
}

/// Writes `,` before every key but the first of an object.
#[derive(Default)]
struct Sep {
    started: bool,
}

impl Sep {
    fn key(&mut self, out: &mut Vec<u8>, key: &str) {
        if self.started {
            out.push(b',');
        }
        self.started = true;
        write_str(out, key);
        out.push(b':');
    }
}

fn write_user(out: &mut Vec<u8>, u: &UserInfo) {
    out.push(b'{');
    let mut sep = Sep::default();
    sep.key(out, "username");
    write_str(out, &u.username);
    if let Some(uid) = &u.uid {
        sep.key(out, "uid");
        write_str(out, uid);
    }
    if let Some(groups) = &u.groups {
        sep.key(out, "groups");
        write_str_array(out, groups);
    }
    if !u.extra.is_empty() {
        sep.key(out, "extra");
        out.push(b'{');
        let mut inner = Sep::default();
        for (k, vs) in &u.extra {
            inner.key(out, k);
            write_str_array(out, vs);
        }
        out.push(b'}');
    }
    out.push(b'}');
}

fn write_object_ref(out: &mut Vec<u8>, o: &ObjectRef) {
    out.push(b'{');
    let mut sep = Sep::default();
    let fields = [
        ("resource", &o.resource),
        ("namespace", &o.namespace),
        ("name", &o.name),
        ("uid", &o.uid),
        ("apiGroup", &o.api_group),
        ("apiVersion", &o.api_version),
        ("resourceVersion", &o.resource_version),
        ("subresource", &o.subresource),
    ];
    for (key, value) in fields {
        if let Some(v) = value {
            sep.key(out, key);
            write_str(out, v);
        }
    }
    out.push(b'}');
}

fn write_response_status(out: &mut Vec<u8>, s: &ResponseStatus) {
    out.push(b'{');
    let mut sep = Sep::default();
    sep.key(out, "metadata");
    write_value(out, &serde_json::Value::Object(s.metadata.clone()));
    for (key, value) in [("status", &s.status), ("message", &s.message), ("reason", &s.reason)] {
        if let Some(v) = value {
            sep.key(out, key);
            write_str(out, v);
        }
    }
    if let Some(code) = s.code {
        sep.key(out, "code");
        write_int(out, i64::from(code));
    }
    out.push(b'}');
}

fn write_string_map<'a>(out: &mut Vec<u8>, entries: impl Iterator<Item = (&'a str, &'a str)>) {
    out.push(b'{');
    let mut sep = Sep::default();
    for (k, v) in entries {
        sep.key(out, k);
        write_str(out, v);
    }
    out.push(b'}');
}

fn write_str_array(out: &mut Vec<u8>, items: &[String]) {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, item);
    }
    out.push(b']');
}

/// Writes a JSON value compactly with Go's escaping (keys in the map's order).
fn write_value(out: &mut Vec<u8>, v: &serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        // serde_json's number formatting is already the shortest round-trip form.
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            let mut sep = Sep::default();
            for (k, item) in map {
                sep.key(out, k);
                write_value(out, item);
            }
            out.push(b'}');
        }
    }
}

fn write_int(out: &mut Vec<u8>, v: i64) {
    let mut buf = [0u8; 20];
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[i..]);
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `s` as a JSON string with Go's `encoding/json` escaping: control characters,
/// `"` and `\`, and also `<`, `>`, `&`, U+2028 and U+2029 (Go escapes those for HTML safety,
/// and the apiserver's audit log shows them so).
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    escape_into(out, s);
    out.push(b'"');
}

/// Appends the JSON escaping of `s` without the surrounding quotes.
fn escape_into(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let escape: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0x00..=0x1f | b'<' | b'>' | b'&' => Some(b""),
            // U+2028 and U+2029 are E2 80 A8 / E2 80 A9 in UTF-8.
            0xE2 if bytes.get(i + 1) == Some(&0x80) && matches!(bytes.get(i + 2), Some(0xA8 | 0xA9)) => {
                Some(b"")
            }
            _ => None,
        };
        let Some(escape) = escape else {
            i += 1;
            continue;
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            let (code, width) =
                if b == 0xE2 { (0x2028 + u32::from(bytes[i + 2] - 0xA8), 3) } else { (u32::from(b), 1) };
            out.extend_from_slice(b"\\u");
            for shift in [12, 8, 4, 0] {
                out.push(HEX[((code >> shift) & 0xf) as usize]);
            }
            i += width;
        } else {
            out.extend_from_slice(escape);
            i += 1;
        }
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Appends `t` as RFC 3339 UTC with `digits` fractional digits (0 to 9, truncated) and `Z`:
/// 6 is how the apiserver writes (`metav1.MicroTime`), 7 how Azure does.
pub fn write_timestamp(out: &mut Vec<u8>, t: &DateTime<Utc>, digits: u32) {
    let year = t.year();
    if (0..=9999).contains(&year) {
        push_digits(out, year as u32, 4);
    } else {
        write_int(out, i64::from(year));
    }
    out.push(b'-');
    push_digits(out, t.month(), 2);
    out.push(b'-');
    push_digits(out, t.day(), 2);
    out.push(b'T');
    push_digits(out, t.hour(), 2);
    out.push(b':');
    push_digits(out, t.minute(), 2);
    out.push(b':');
    push_digits(out, t.second(), 2);
    let digits = digits.min(9);
    if digits > 0 {
        // Above 999,999,999 only during a leap second: clamp rather than print a tenth digit.
        let nanos = t.nanosecond().min(999_999_999);
        out.push(b'.');
        push_digits(out, nanos / 10u32.pow(9 - digits), digits as usize);
    }
    out.push(b'Z');
}

fn write_quoted_timestamp(out: &mut Vec<u8>, t: &DateTime<Utc>, digits: u32) {
    out.push(b'"');
    write_timestamp(out, t, digits);
    out.push(b'"');
}

/// Appends `v` zero-padded to `width` digits.
fn push_digits(out: &mut Vec<u8>, mut v: u32, width: usize) {
    let mut buf = [b'0'; 10];
    let width = width.min(buf.len());
    for slot in buf[..width].iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out.extend_from_slice(&buf[..width]);
}

/// Re-indents compact JSON (as written here) with 4 spaces per level, starting at `level`.
pub fn pretty_json(out: &mut Vec<u8>, compact: &[u8], level: usize) {
    let indent = |out: &mut Vec<u8>, level: usize| {
        out.push(b'\n');
        out.extend(std::iter::repeat_n(b' ', level * 4));
    };
    out.extend(std::iter::repeat_n(b' ', level * 4));
    let mut depth = level;
    let mut in_string = false;
    let mut escaped = false;
    let mut i = 0;
    while i < compact.len() {
        let b = compact[i];
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                out.push(b);
            }
            b'{' | b'[' => {
                let close = if b == b'{' { b'}' } else { b']' };
                if compact.get(i + 1) == Some(&close) {
                    // Empty containers stay on one line, as encoders print them.
                    out.extend_from_slice(&[b, close]);
                    i += 2;
                    continue;
                }
                out.push(b);
                depth += 1;
                indent(out, depth);
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                indent(out, depth);
                out.push(b);
            }
            b',' => {
                out.push(b);
                indent(out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            _ => out.push(b),
        }
        i += 1;
    }
}

/// Columns of `AzureDiagnostics` rows written for kube-audit, in the order written.
pub const AZURE_DIAGNOSTICS_COLUMNS: [&str; 17] = [
    "TenantId",
    "TimeGenerated",
    "ResourceId",
    "Category",
    "ResourceGroup",
    "SubscriptionId",
    "ResourceProvider",
    "Resource",
    "ResourceType",
    "OperationName",
    "log_s",
    "stream_s",
    "pod_s",
    "SourceSystem",
    "Type",
    "_ResourceId",
    "TableName",
];

/// Columns of `AKSAudit` / `AKSAuditAdmin` rows (AKSAudit_columns.tsv), in the order written.
pub const AKS_AUDIT_COLUMNS: [&str; 25] = [
    "TenantId",
    "TimeGenerated",
    "Level",
    "AuditId",
    "Stage",
    "RequestUri",
    "Verb",
    "User",
    "SourceIps",
    "UserAgent",
    "ObjectRef",
    "ResponseStatus",
    "RequestObject",
    "ResponseObject",
    "RequestReceivedTime",
    "StageReceivedTime",
    "Annotations",
    "PodName",
    "SourceSystem",
    "Type",
    "_ResourceId",
    "_SubscriptionId",
    "_BilledSize",
    "_IsBillable",
    "TableName",
];

/// The workspace ID written in `TenantId` (a fixed, obviously synthetic GUID).
const TENANT_ID: &str = "00000000-0000-0000-0000-000000000000";

/// One cell value of an Azure row, before it is laid out as JSON or CSV.
enum Cell<'a> {
    Null,
    Str(&'a str),
    /// Already-encoded JSON (written as is in JSON, as its text in CSV).
    Json(&'a [u8]),
    Number(u64),
}

/// The parts of an Azure resource ID (`/subscriptions/S/resourcegroups/G/providers/P/T/N`).
struct ResourceIdParts<'a> {
    subscription: &'a str,
    group: &'a str,
    provider: &'a str,
    kind: &'a str,
    name: &'a str,
}

fn resource_id_parts(id: &str) -> ResourceIdParts<'_> {
    let parts: Vec<&str> = id.split('/').filter(|p| !p.is_empty()).collect();
    let after = |key: &str| {
        parts
            .iter()
            .position(|p| p.eq_ignore_ascii_case(key))
            .and_then(|i| parts.get(i + 1).copied())
            .unwrap_or("")
    };
    let provider_at = parts.iter().position(|p| p.eq_ignore_ascii_case("providers"));
    let at = |offset: usize| provider_at.and_then(|i| parts.get(i + offset).copied()).unwrap_or("");
    ResourceIdParts {
        subscription: after("subscriptions"),
        group: after("resourcegroups"),
        provider: at(1),
        kind: at(2),
        name: at(3),
    }
}

fn category(origin: &Origin) -> &str {
    origin.azure_category.as_deref().unwrap_or(DEFAULT_AZURE_CATEGORY)
}

/// `TimeGenerated`: the origin's, else the stage timestamp (Azure ingests after the stage).
fn time_generated(event: &Event, origin: &Origin) -> Option<DateTime<Utc>> {
    origin.time_generated.or(event.stage_timestamp).or(event.timestamp).or(event.request_received_timestamp)
}

/// Appends one `AzureDiagnostics` row for already-written event JSON (as
/// [`write_event_json`] writes it), with `TimeGenerated` = `time_generated`. JSON arrays need
/// `,\n` between rows and CSV a header ([`write_csv_header`]); the caller adds them.
pub fn azure_diagnostics_row(
    out: &mut Vec<u8>,
    time_generated: Option<DateTime<Utc>>,
    origin: &Origin,
    event_json: &[u8],
    c: Container,
) {
    let resource_id = origin.cluster_resource_id.as_deref().unwrap_or("");
    let parts = resource_id_parts(resource_id);
    let mut tg = Vec::with_capacity(28);
    if let Some(t) = time_generated {
        write_timestamp(&mut tg, &t, 7);
    }
    let tg = std::str::from_utf8(&tg).unwrap_or("");
    let lower_id = resource_id.to_ascii_lowercase();
    let upper = |s: &str| s.to_ascii_uppercase();
    let (group, provider, kind, name) =
        (upper(parts.group), upper(parts.provider), upper(parts.kind), upper(parts.name));
    // The event JSON is valid UTF-8: it was written from `&str`s only.
    let log = std::str::from_utf8(event_json).unwrap_or("");
    let cells = [
        Cell::Str(TENANT_ID),
        if tg.is_empty() { Cell::Null } else { Cell::Str(tg) },
        Cell::Str(resource_id),
        Cell::Str(category(origin)),
        Cell::Str(&group),
        Cell::Str(parts.subscription),
        Cell::Str(&provider),
        Cell::Str(&name),
        Cell::Str(&kind),
        Cell::Str(AKS_OPERATION_NAME),
        Cell::Str(log),
        Cell::Str("stdout"),
        origin.apiserver_pod.as_deref().map_or(Cell::Null, Cell::Str),
        Cell::Str("Azure"),
        Cell::Str("AzureDiagnostics"),
        Cell::Str(&lower_id),
        Cell::Str("PrimaryResult"),
    ];
    write_row(out, &AZURE_DIAGNOSTICS_COLUMNS, &cells, c);
}

/// Appends one `AKSAudit` / `AKSAuditAdmin` row for `event` (`scratch` is working space).
/// JSON arrays need `,\n` between rows and CSV a header; the caller adds them.
pub fn aks_audit_row(
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    event: &Event,
    origin: &Origin,
    c: Container,
    dynamic: DynamicColumns,
) {
    // Dynamic columns are encoded into `scratch` one after the other; remember the ranges.
    scratch.clear();
    let mut ranges: Vec<Option<std::ops::Range<usize>>> = Vec::with_capacity(7);
    let mut encode = |scratch: &mut Vec<u8>, f: &dyn Fn(&mut Vec<u8>) -> bool| {
        let start = scratch.len();
        if f(scratch) {
            ranges.push(Some(start..scratch.len()));
        } else {
            scratch.truncate(start);
            ranges.push(None);
        }
    };
    encode(scratch, &|o| {
        write_user(o, &event.user);
        true
    });
    encode(scratch, &|o| event.source_ips.as_ref().map(|ips| write_str_array(o, ips)).is_some());
    encode(scratch, &|o| event.object_ref.as_ref().map(|r| write_object_ref(o, r)).is_some());
    encode(scratch, &|o| event.response_status.as_ref().map(|s| write_response_status(o, s)).is_some());
    encode(scratch, &|o| event.request_object.as_ref().map(|v| write_value(o, v)).is_some());
    encode(scratch, &|o| event.response_object.as_ref().map(|v| write_value(o, v)).is_some());
    encode(scratch, &|o| {
        write_string_map(o, event.annotations.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        true
    });
    let dyn_cell = |i: usize| -> Cell<'_> {
        match &ranges[i] {
            None => match dynamic {
                DynamicColumns::Nested => Cell::Null,
                DynamicColumns::JsonStrings => Cell::Str(""),
            },
            Some(r) => {
                let bytes = &scratch[r.clone()];
                match dynamic {
                    DynamicColumns::Nested => Cell::Json(bytes),
                    DynamicColumns::JsonStrings => Cell::Str(std::str::from_utf8(bytes).unwrap_or("")),
                }
            }
        }
    };
    let mut times = Vec::with_capacity(96);
    let mut time_cell_range = |t: Option<DateTime<Utc>>| {
        let start = times.len();
        if let Some(t) = t {
            write_timestamp(&mut times, &t, 7);
        }
        start..times.len()
    };
    let tg = time_cell_range(time_generated(event, origin));
    let rr = time_cell_range(event.request_received_timestamp);
    let st = time_cell_range(event.stage_timestamp.or(event.timestamp));
    let time_cell = |r: &std::ops::Range<usize>| {
        if r.is_empty() {
            Cell::Null
        } else {
            Cell::Str(std::str::from_utf8(&times[r.clone()]).unwrap_or(""))
        }
    };
    let resource_id = origin.cluster_resource_id.as_deref().unwrap_or("").to_ascii_lowercase();
    let subscription = resource_id_parts(&resource_id).subscription.to_owned();
    let table = if category(origin) == "kube-audit-admin" { "AKSAuditAdmin" } else { "AKSAudit" };
    fn opt(v: &str) -> Cell<'_> {
        if v.is_empty() { Cell::Null } else { Cell::Str(v) }
    }
    // What Log Analytics bills is about the size of the event; close enough for a column
    // nothing reads.
    let billed = (scratch.len() + event.request_uri.len() + 200) as u64;
    let cells = [
        Cell::Str(TENANT_ID),
        time_cell(&tg),
        opt(&event.level),
        opt(&event.audit_id),
        opt(&event.stage),
        opt(&event.request_uri),
        opt(&event.verb),
        dyn_cell(0),
        dyn_cell(1),
        event.user_agent.as_deref().map_or(Cell::Null, Cell::Str),
        dyn_cell(2),
        dyn_cell(3),
        dyn_cell(4),
        dyn_cell(5),
        time_cell(&rr),
        time_cell(&st),
        dyn_cell(6),
        origin.apiserver_pod.as_deref().map_or(Cell::Null, Cell::Str),
        Cell::Str("Azure"),
        Cell::Str(table),
        Cell::Str(&resource_id),
        Cell::Str(&subscription),
        Cell::Number(billed),
        Cell::Str("True"),
        Cell::Str("PrimaryResult"),
    ];
    write_row(out, &AKS_AUDIT_COLUMNS, &cells, c);
}

/// Lays out one Azure row. `TableName` (the last column) is written only in JSON arrays, as
/// only the CLI adds it.
fn write_row(out: &mut Vec<u8>, columns: &[&str], cells: &[Cell<'_>], c: Container) {
    let n = if c == Container::JsonArray { columns.len() } else { columns.len() - 1 };
    match c {
        Container::Ndjson | Container::JsonArray => {
            out.push(b'{');
            let mut sep = Sep::default();
            for (column, cell) in columns.iter().zip(cells).take(n) {
                sep.key(out, column);
                match cell {
                    Cell::Null => out.extend_from_slice(b"null"),
                    Cell::Str(s) => write_str(out, s),
                    Cell::Json(j) => out.extend_from_slice(j),
                    Cell::Number(v) => write_int(out, *v as i64),
                }
            }
            out.push(b'}');
            if c == Container::Ndjson {
                out.push(b'\n');
            }
        }
        Container::Csv => {
            for (i, cell) in cells.iter().take(n).enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                match cell {
                    Cell::Null => {}
                    Cell::Str(s) => csv_field(out, s.as_bytes()),
                    Cell::Json(j) => csv_field(out, j),
                    Cell::Number(v) => write_int(out, *v as i64),
                }
            }
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// Appends the CSV header line of `columns` (without the CLI's `TableName`).
pub fn write_csv_header(out: &mut Vec<u8>, columns: &[&str]) {
    csv_header(out, columns);
}

fn csv_header(out: &mut Vec<u8>, columns: &[&str]) {
    // `TableName` is the CLI's addition, never in a portal export.
    let n = columns.len() - 1;
    for (i, column) in columns.iter().take(n).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        csv_field(out, column.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

/// RFC 4180: quote a field holding a comma, quote or line break; double the quotes inside.
fn csv_field(out: &mut Vec<u8>, v: &[u8]) {
    if !v.iter().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        out.extend_from_slice(v);
        return;
    }
    out.push(b'"');
    for &b in v {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Appends one diagnostic-settings record (no `{"records":[` around it) for already-written
/// event JSON, with `time` = `time_generated`.
pub fn envelope_record(
    out: &mut Vec<u8>,
    time_generated: Option<DateTime<Utc>>,
    origin: &Origin,
    event_json: &[u8],
    log: EnvelopeLog,
) {
    out.push(b'{');
    let mut sep = Sep::default();
    sep.key(out, "operationName");
    write_str(out, AKS_OPERATION_NAME);
    sep.key(out, "category");
    write_str(out, category(origin));
    if let Some(id) = &origin.cluster_resource_id {
        sep.key(out, "resourceId");
        write_str(out, id);
    }
    sep.key(out, "properties");
    out.push(b'{');
    let mut props = Sep::default();
    props.key(out, "log");
    match log {
        EnvelopeLog::String => {
            out.push(b'"');
            // The event JSON is valid UTF-8: it was written from `&str`s only.
            escape_into(out, std::str::from_utf8(event_json).unwrap_or(""));
            out.extend_from_slice(b"\\n\"");
        }
        EnvelopeLog::Object => out.extend_from_slice(event_json),
    }
    props.key(out, "stream");
    write_str(out, "stdout");
    if let Some(pod) = &origin.apiserver_pod {
        props.key(out, "pod");
        write_str(out, pod);
    }
    out.push(b'}');
    if let Some(t) = time_generated {
        sep.key(out, "time");
        write_quoted_timestamp(out, &t, 7);
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::TimeZone;
    use serde_json::{Value, json};

    use super::*;

    fn ts(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("valid test timestamp").with_timezone(&Utc)
    }

    /// A full event with every optional part and characters that need escaping.
    fn full_event() -> Event {
        let mut annotations = BTreeMap::new();
        annotations.insert("authorization.k8s.io/decision".to_owned(), "allow".to_owned());
        annotations.insert(
            "authorization.k8s.io/reason".to_owned(),
            "RBAC: allowed by ClusterRoleBinding \"system:kube-controller-manager\" <&>".to_owned(),
        );
        annotations.insert("apiserver.latency.k8s.io/etcd".to_owned(), "1.204s".to_owned());
        let mut extra = BTreeMap::new();
        extra.insert("authentication.kubernetes.io/pod-name".to_owned(), vec!["web-0".to_owned()]);
        Event {
            kind: "Event".to_owned(),
            api_version: "audit.k8s.io/v1".to_owned(),
            level: "Request".to_owned(),
            audit_id: "0f4b3a8e-7c1d-4f3e-9a2b-1c2d3e4f5a6b".to_owned(),
            stage: "ResponseComplete".to_owned(),
            request_uri: "/api/v1/namespaces/team-a/pods?labelSelector=app%3Dweb&limit=500".to_owned(),
            verb: "create".to_owned(),
            user: UserInfo {
                username: "system:serviceaccount:team-a:deployer".to_owned(),
                uid: Some("9d5e2b1a-0000-4000-8000-000000000001".to_owned()),
                groups: Some(vec!["system:serviceaccounts".to_owned(), "system:authenticated".to_owned()]),
                extra,
            },
            impersonated_user: Some(UserInfo { username: "bob".to_owned(), ..UserInfo::default() }),
            source_ips: Some(vec!["10.224.0.4".to_owned(), "192.168.1.1".to_owned()]),
            user_agent: Some("kubectl/v1.29.4 (linux/amd64) kubernetes/55b6b33".to_owned()),
            object_ref: Some(ObjectRef {
                resource: Some("pods".to_owned()),
                namespace: Some("team-a".to_owned()),
                name: Some("web-0".to_owned()),
                api_version: Some("v1".to_owned()),
                subresource: Some("status".to_owned()),
                ..ObjectRef::default()
            }),
            response_status: Some(ResponseStatus {
                status: Some("Failure".to_owned()),
                message: Some(
                    "Internal error occurred: failed calling webhook \"mutate.kyverno.svc-fail\": context deadline exceeded\nline2\u{2028}\u{1}".to_owned(),
                ),
                reason: Some("InternalError".to_owned()),
                code: Some(500),
                ..ResponseStatus::default()
            }),
            request_object: Some(json!({"kind": "Pod", "spec": {"containers": [{"name": "web", "ports": [80, 443.5]}]}, "ok": true, "none": null})),
            response_object: None,
            request_received_timestamp: Some(ts("2024-03-01T10:00:00.1234567Z")),
            stage_timestamp: Some(ts("2024-03-01T10:00:10Z")),
            timestamp: None,
            annotations,
        }
    }

    /// A short event with only what every event has.
    fn minimal_event(id: &str) -> Event {
        Event {
            kind: "Event".to_owned(),
            api_version: "audit.k8s.io/v1".to_owned(),
            level: "Metadata".to_owned(),
            audit_id: id.to_owned(),
            stage: "ResponseComplete".to_owned(),
            request_uri: "/api/v1/nodes/aks-nodepool1-0?timeout=10s".to_owned(),
            verb: "get".to_owned(),
            user: UserInfo { username: "system:node:aks-nodepool1-0".to_owned(), ..UserInfo::default() },
            response_status: Some(ResponseStatus { code: Some(200), ..ResponseStatus::default() }),
            request_received_timestamp: Some(ts("2024-03-01T10:00:00.000001Z")),
            stage_timestamp: Some(ts("2024-03-01T10:00:00.002Z")),
            ..Event::default()
        }
    }

    fn origin() -> Origin {
        Origin {
            time_generated: Some(ts("2024-03-01T10:00:12.3456789Z")),
            azure_category: Some("kube-audit".to_owned()),
            cluster_resource_id: Some(
                "/SUBSCRIPTIONS/1D2E3F4A-0000-4000-8000-00000000ABCD/RESOURCEGROUPS/RG-PROD/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/PROD-WEU"
                    .to_owned(),
            ),
            apiserver_pod: Some("kube-apiserver-6df5497d6d-g2vd7".to_owned()),
        }
    }

    fn write_all(format: Format, events: &[Event], origin: &Origin) -> Vec<u8> {
        let mut w = AuditWriter::new(Vec::new(), format);
        for e in events {
            w.write_event(e, origin).expect("writing to a Vec cannot fail");
        }
        w.finish().expect("writing to a Vec cannot fail")
    }

    fn text(bytes: &[u8]) -> &str {
        std::str::from_utf8(bytes).expect("writers write UTF-8")
    }

    /// Parses the event back the way a reader would, and compares it with what was written.
    fn assert_same_event(parsed: &Event, written: &Event) {
        let mut expected = written.clone();
        // Six fractional digits: the sub-microsecond part is truncated, as the apiserver does.
        let micros = |t: Option<DateTime<Utc>>| {
            t.map(|t| Utc.timestamp_micros(t.timestamp_micros()).single().expect("in range"))
        };
        expected.request_received_timestamp = micros(expected.request_received_timestamp);
        expected.stage_timestamp = micros(expected.stage_timestamp);
        expected.timestamp = micros(expected.timestamp);
        // A v1beta1 event is written with the `timestamp` that version had, at second precision.
        if expected.timestamp.is_none() && expected.api_version == "audit.k8s.io/v1beta1" {
            let seconds = |t: DateTime<Utc>| Utc.timestamp_opt(t.timestamp(), 0).single().expect("in range");
            expected.timestamp = written.stage_timestamp.or(written.request_received_timestamp).map(seconds);
        }
        assert_eq!(parsed, &expected);
    }

    #[test]
    fn k8s_log_lines_parse_back_to_the_same_events() {
        let events = [full_event(), minimal_event("a2")];
        let out = write_all(Format::K8sLog, &events, &Origin::default());
        let lines: Vec<&str> = text(&out).lines().collect();
        assert_eq!(lines.len(), 2);
        for (line, written) in lines.iter().zip(&events) {
            let parsed: Event = serde_json::from_str(line).expect("each line is an Event");
            assert_same_event(&parsed, written);
        }
    }

    #[test]
    fn event_json_has_apiserver_field_order_timestamps_and_go_escaping() {
        let mut out = Vec::new();
        write_event_json(&mut out, &full_event());
        let s = text(&out);
        assert!(
            s.starts_with(r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"#),
            "{s}"
        );
        let order = [
            "\"auditID\"",
            "\"stage\"",
            "\"requestURI\"",
            "\"verb\"",
            "\"user\"",
            "\"impersonatedUser\"",
            "\"sourceIPs\"",
            "\"userAgent\"",
            "\"objectRef\"",
            "\"responseStatus\"",
            "\"requestObject\"",
            "\"requestReceivedTimestamp\"",
            "\"stageTimestamp\"",
            "\"annotations\"",
        ];
        let positions: Vec<usize> = order.iter().map(|k| s.find(k).expect(k)).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "field order: {positions:?}");
        assert!(s.contains(r#""requestReceivedTimestamp":"2024-03-01T10:00:00.123456Z""#), "{s}");
        assert!(s.contains(r#""stageTimestamp":"2024-03-01T10:00:10.000000Z""#), "{s}");
        assert!(s.contains(r#"\u003c\u0026\u003e"#), "Go escapes <&>: {s}");
        // Real AKS logs show query strings so: `?fieldSelector=…\u0026resourceVersion=…`.
        assert!(
            s.contains(
                r#""requestURI":"/api/v1/namespaces/team-a/pods?labelSelector=app%3Dweb\u0026limit=500""#
            ),
            "{s}"
        );
        assert!(s.contains(r#"\nline2\u2028\u0001"#), "{s}");
        assert!(s.contains(r#""responseStatus":{"metadata":{},"status":"Failure","message":"#), "{s}");
        assert!(s.ends_with(r#""code":500},"requestObject":{"kind":"Pod","none":null,"ok":true,"spec":{"containers":[{"name":"web","ports":[80,443.5]}]}},"requestReceivedTimestamp":"2024-03-01T10:00:00.123456Z","stageTimestamp":"2024-03-01T10:00:10.000000Z","annotations":{"apiserver.latency.k8s.io/etcd":"1.204s","authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by ClusterRoleBinding \"system:kube-controller-manager\" \u003c\u0026\u003e"}}"#), "{s}");
    }

    #[test]
    fn v1beta1_events_carry_metadata_and_timestamp_like_real_ones() {
        let mut e = minimal_event("b1");
        e.api_version = "audit.k8s.io/v1beta1".to_owned();
        let mut out = Vec::new();
        write_event_json(&mut out, &e);
        let s = text(&out);
        assert!(
            s.starts_with(r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","metadata":{"creationTimestamp":"2024-03-01T10:00:00Z"},"level":"Metadata","timestamp":"2024-03-01T10:00:00Z","auditID":"b1""#),
            "{s}"
        );
        let parsed: Event = serde_json::from_str(s).expect("an Event");
        assert_same_event(&parsed, &e);
    }

    #[test]
    fn timestamps_have_the_requested_digits() {
        let t = ts("2024-12-31T23:59:59.987654321Z");
        for (digits, want) in [
            (0, "2024-12-31T23:59:59Z"),
            (6, "2024-12-31T23:59:59.987654Z"),
            (7, "2024-12-31T23:59:59.9876543Z"),
            (9, "2024-12-31T23:59:59.987654321Z"),
        ] {
            let mut out = Vec::new();
            write_timestamp(&mut out, &t, digits);
            assert_eq!(text(&out), want);
        }
    }

    #[test]
    fn event_list_lines_batch_events_and_split_on_api_version() {
        let mut beta = minimal_event("b");
        beta.api_version = "audit.k8s.io/v1beta1".to_owned();
        let events = [full_event(), minimal_event("a2"), minimal_event("a3"), beta.clone()];
        let out = write_all(Format::EventListLines { batch: 2 }, &events, &Origin::default());
        let docs: Vec<Value> =
            text(&out).lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
        assert_eq!(docs.len(), 3, "2 + 1 v1 events, then the v1beta1 one");
        let sizes: Vec<usize> = docs.iter().map(|d| d["items"].as_array().expect("items").len()).collect();
        assert_eq!(sizes, [2, 1, 1]);
        assert_eq!(docs[2]["apiVersion"], "audit.k8s.io/v1beta1");
        assert_eq!(docs[0]["kind"], "EventList");
        // Items carry no kind/apiVersion, as the webhook backend sends them.
        assert!(docs[0]["items"][0].get("kind").is_none());
        let items: Vec<&Value> = docs.iter().flat_map(|d| d["items"].as_array().expect("items")).collect();
        for (item, written) in items.iter().zip(&events) {
            let parsed: Event = serde_json::from_value((*item).clone()).expect("an Event");
            let mut parsed = parsed;
            parsed.api_version = written.api_version.clone();
            assert_same_event(&parsed, written);
        }
    }

    #[test]
    fn event_list_pretty_is_one_indented_document() {
        let events = [full_event(), minimal_event("a2")];
        let out = write_all(Format::EventListPretty, &events, &Origin::default());
        let s = text(&out);
        assert!(s.starts_with("{\n    \"kind\": \"EventList\",\n"), "{s}");
        assert!(s.contains("\n        {\n            \"level\": \"Request\",\n"), "{s}");
        assert!(s.contains("\"metadata\": {}"), "{s}");
        let doc: Value = serde_json::from_str(s).expect("one JSON document");
        let items = doc["items"].as_array().expect("items");
        assert_eq!(items.len(), 2);
        for (item, written) in items.iter().zip(&events) {
            let parsed: Event = serde_json::from_value(item.clone()).expect("an Event");
            assert_same_event(&parsed, written);
        }
        let empty = write_all(Format::EventListPretty, &[], &Origin::default());
        let doc: Value = serde_json::from_slice(&empty).expect("an empty list is JSON");
        assert_eq!(doc["items"], json!([]));
    }

    fn rows_of(container: Container, bytes: &[u8]) -> Vec<serde_json::Map<String, Value>> {
        match container {
            Container::Ndjson => text(bytes)
                .lines()
                .map(|l| serde_json::from_str(l).expect("each line is a JSON object"))
                .collect(),
            Container::JsonArray => serde_json::from_slice(bytes).expect("one JSON array"),
            Container::Csv => {
                let (header, rows) = parse_csv(text(bytes));
                rows.into_iter()
                    .map(|r| {
                        assert_eq!(r.len(), header.len(), "every row has every column");
                        header.iter().cloned().zip(r.into_iter().map(Value::String)).collect()
                    })
                    .collect()
            }
        }
    }

    /// A minimal RFC 4180 parser, independent of the writer.
    fn parse_csv(s: &str) -> (Vec<String>, Vec<Vec<String>>) {
        let mut records = Vec::new();
        let mut record = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                (true, '"') => quoted = false,
                (true, c) => field.push(c),
                (false, '"') => quoted = true,
                (false, ',') => record.push(std::mem::take(&mut field)),
                (false, '\r') => {}
                (false, '\n') => {
                    record.push(std::mem::take(&mut field));
                    records.push(std::mem::take(&mut record));
                }
                (false, c) => field.push(c),
            }
        }
        let header = records.remove(0);
        (header, records)
    }

    #[test]
    fn azure_diagnostics_rows_in_every_container_hold_the_event_in_log_s() {
        let events = [full_event(), minimal_event("a2")];
        for container in [Container::Ndjson, Container::JsonArray, Container::Csv] {
            let out = write_all(Format::AzureDiagnostics { container }, &events, &origin());
            let rows = rows_of(container, &out);
            assert_eq!(rows.len(), 2, "{container:?}");
            for (row, written) in rows.iter().zip(&events) {
                let log = row["log_s"].as_str().expect("log_s is a string");
                let parsed: Event = serde_json::from_str(log).expect("log_s holds an Event");
                assert_same_event(&parsed, written);
                assert_eq!(row["Category"], "kube-audit");
                assert_eq!(row["TimeGenerated"], "2024-03-01T10:00:12.3456789Z");
                assert_eq!(row["pod_s"], "kube-apiserver-6df5497d6d-g2vd7");
                assert_eq!(row["ResourceId"], origin().cluster_resource_id.expect("set").as_str());
                assert_eq!(row["Resource"], "PROD-WEU");
                assert_eq!(row["ResourceGroup"], "RG-PROD");
                assert_eq!(row["SubscriptionId"], "1D2E3F4A-0000-4000-8000-00000000ABCD");
                assert_eq!(row["Type"], "AzureDiagnostics");
                assert_eq!(row.contains_key("TableName"), container == Container::JsonArray);
            }
        }
    }

    #[test]
    fn aks_audit_rows_in_every_container_and_encoding_give_back_the_event() {
        let mut admin = origin();
        admin.azure_category = Some("kube-audit-admin".to_owned());
        let events = [full_event(), minimal_event("a2")];
        for container in [Container::Ndjson, Container::JsonArray, Container::Csv] {
            for dynamic in [DynamicColumns::Nested, DynamicColumns::JsonStrings] {
                let out = write_all(Format::AksAudit { container, dynamic }, &events, &admin);
                let rows = rows_of(container, &out);
                assert_eq!(rows.len(), 2, "{container:?} {dynamic:?}");
                for (row, written) in rows.iter().zip(&events) {
                    let dynamic_value = |name: &str| -> Option<Value> {
                        match &row[name] {
                            Value::Null => None,
                            // CSV cells and string-encoded columns hold JSON text; "" is absent.
                            Value::String(s) if s.is_empty() => None,
                            Value::String(s)
                                if container == Container::Csv || dynamic == DynamicColumns::JsonStrings =>
                            {
                                Some(serde_json::from_str(s).expect("a JSON-encoded column"))
                            }
                            v => {
                                assert_eq!(dynamic, DynamicColumns::Nested, "{name} must be a string");
                                Some(v.clone())
                            }
                        }
                    };
                    let string = |name: &str| row[name].as_str().filter(|s| !s.is_empty()).map(str::to_owned);
                    let time = |name: &str| string(name).map(|s| ts(&s));
                    let mut rebuilt = json!({
                        "level": string("Level"),
                        "auditID": string("AuditId"),
                        "stage": string("Stage"),
                        "requestURI": string("RequestUri"),
                        "verb": string("Verb"),
                        "user": dynamic_value("User"),
                        "sourceIPs": dynamic_value("SourceIps"),
                        "userAgent": string("UserAgent"),
                        "objectRef": dynamic_value("ObjectRef"),
                        "responseStatus": dynamic_value("ResponseStatus"),
                        "requestObject": dynamic_value("RequestObject"),
                        "responseObject": dynamic_value("ResponseObject"),
                        "annotations": dynamic_value("Annotations"),
                    });
                    if let Value::Object(m) = &mut rebuilt {
                        m.retain(|_, v| !v.is_null());
                    }
                    let mut parsed: Event =
                        serde_json::from_value(rebuilt).expect("the columns make an Event");
                    // Seven digits keep everything the test events have below the second.
                    parsed.request_received_timestamp = time("RequestReceivedTime");
                    parsed.stage_timestamp = time("StageReceivedTime");
                    let mut expected = written.clone();
                    expected.impersonated_user = None; // AKSAudit has no column for it
                    assert_eq!(parsed, expected, "{container:?} {dynamic:?}");
                    assert_eq!(row["Type"], "AKSAuditAdmin");
                    assert_eq!(row["PodName"], "kube-apiserver-6df5497d6d-g2vd7");
                    assert_eq!(row["TimeGenerated"], "2024-03-01T10:00:12.3456789Z");
                    assert_eq!(row["RequestReceivedTime"].as_str().map(str::len), Some(28), "7 digits");
                    assert_eq!(
                        row["_ResourceId"],
                        "/subscriptions/1d2e3f4a-0000-4000-8000-00000000abcd/resourcegroups/rg-prod/providers/microsoft.containerservice/managedclusters/prod-weu"
                    );
                }
            }
        }
    }

    #[test]
    fn aks_audit_absent_dynamic_columns_are_null_or_empty_strings() {
        let mut e = minimal_event("m");
        e.object_ref = None;
        e.response_status = None;
        let nested = write_all(
            Format::AksAudit { container: Container::Ndjson, dynamic: DynamicColumns::Nested },
            &[e.clone()],
            &origin(),
        );
        let row: Value = serde_json::from_slice(&nested).expect("a JSON row");
        assert_eq!(row["ObjectRef"], Value::Null);
        // Absent source IPs are null, as Log Analytics shows a field the event lacks; an
        // explicit empty list stays one.
        assert_eq!(row["SourceIps"], Value::Null);
        let mut empty = e.clone();
        empty.source_ips = Some(vec![]);
        let row: Value = serde_json::from_slice(&write_all(
            Format::AksAudit { container: Container::Ndjson, dynamic: DynamicColumns::Nested },
            &[empty],
            &origin(),
        ))
        .expect("a JSON row");
        assert_eq!(row["SourceIps"], json!([]));
        let strings = write_all(
            Format::AksAudit { container: Container::Ndjson, dynamic: DynamicColumns::JsonStrings },
            &[e],
            &origin(),
        );
        let row: Value = serde_json::from_slice(&strings).expect("a JSON row");
        assert_eq!(row["ObjectRef"], "");
        assert_eq!(row["User"], r#"{"username":"system:node:aks-nodepool1-0"}"#);
    }

    #[test]
    fn empty_containers_are_still_valid() {
        for container in [Container::JsonArray, Container::Csv, Container::Ndjson] {
            let out = write_all(Format::AzureDiagnostics { container }, &[], &origin());
            assert!(rows_of(container, &out).is_empty(), "{container:?}");
        }
        let csv = write_all(
            Format::AksAudit { container: Container::Csv, dynamic: DynamicColumns::Nested },
            &[],
            &origin(),
        );
        assert!(text(&csv).starts_with("TenantId,TimeGenerated,Level,AuditId,"));
    }

    #[test]
    fn diagnostic_envelope_with_log_as_string_or_object() {
        let events = [full_event(), minimal_event("a2"), minimal_event("a3")];
        for log in [EnvelopeLog::String, EnvelopeLog::Object] {
            let out = write_all(Format::DiagnosticEnvelope { log, batch: 2 }, &events, &origin());
            let docs: Vec<Value> =
                text(&out).lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
            assert_eq!(docs.len(), 2, "{log:?}");
            let records: Vec<&Value> =
                docs.iter().flat_map(|d| d["records"].as_array().expect("records")).collect();
            assert_eq!(records.len(), 3);
            for (record, written) in records.iter().zip(&events) {
                assert_eq!(record["category"], "kube-audit");
                assert_eq!(record["operationName"], AKS_OPERATION_NAME);
                assert_eq!(record["time"], "2024-03-01T10:00:12.3456789Z");
                assert_eq!(record["properties"]["pod"], "kube-apiserver-6df5497d6d-g2vd7");
                let parsed: Event = match (&record["properties"]["log"], log) {
                    (Value::String(s), EnvelopeLog::String) => {
                        assert!(s.ends_with('\n'), "a container log line ends with a newline");
                        serde_json::from_str(s).expect("log holds an Event")
                    }
                    (v @ Value::Object(_), EnvelopeLog::Object) => {
                        serde_json::from_value(v.clone()).expect("log is an Event")
                    }
                    (v, _) => panic!("properties.log has the wrong type: {v}"),
                };
                assert_same_event(&parsed, written);
            }
        }
    }

    fn decompress(bytes: &[u8], compression: Compression) -> Vec<u8> {
        use std::io::Read;
        let mut out = Vec::new();
        match compression {
            Compression::None => out.extend_from_slice(bytes),
            Compression::Gzip => {
                flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).expect("valid gzip");
            }
            Compression::Zstd => out = zstd::stream::decode_all(bytes).expect("valid zstd"),
        }
        out
    }

    #[test]
    fn gzip_and_zstd_wrap_any_format() {
        let events = [full_event(), minimal_event("a2")];
        let plain = write_all(Format::K8sLog, &events, &origin());
        for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let sink = Compressed::new(Vec::new(), compression).expect("encoder");
            let mut w = AuditWriter::new(sink, Format::K8sLog);
            for e in &events {
                w.write_event(e, &origin()).expect("write");
            }
            let compressed = w.finish().expect("finish").finish().expect("trailer");
            if compression != Compression::None {
                assert_ne!(compressed, plain, "{compression:?} changed the bytes");
            }
            assert_eq!(decompress(&compressed, compression), plain, "{compression:?}");
        }
        assert_eq!(Compression::Zstd.suffix(), ".zst");
    }

    #[test]
    fn resource_id_parts_are_found_case_insensitively() {
        let p = resource_id_parts(
            "/subscriptions/s-1/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1",
        );
        assert_eq!(
            (p.subscription, p.group, p.provider, p.kind, p.name),
            ("s-1", "rg", "Microsoft.ContainerService", "managedClusters", "c1")
        );
        let none = resource_id_parts("");
        assert_eq!(none.name, "");
    }
}
