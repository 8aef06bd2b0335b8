//! Audit files read straight into canonical batches, for `query --input`.
//!
//! A stop-gap until the audit crate's streaming reader lands: JSON forms only (log backend
//! lines, EventLists, AzureDiagnostics rows, AKSAudit rows, diagnostic-settings envelopes, as
//! NDJSON or one JSON document), through `audit::batch::events_to_batch`. A record that does
//! not parse is skipped with a warning naming the file and line.

use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use audit::batch::{CanonicalBuilder, Origin};
use audit::{Event, InputFormat};
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::EngineError;

/// Batches read from files, and what was skipped.
#[derive(Debug, Default)]
pub struct Input {
    /// Canonical batches.
    pub batches: Vec<RecordBatch>,
    /// One line per skipped record or unreadable file.
    pub warnings: Vec<String>,
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for e in entries {
            collect(&e, out)?;
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

/// Reads every file under `paths`.
pub fn read_paths(paths: &[PathBuf]) -> Result<Input, EngineError> {
    let mut files = Vec::new();
    for p in paths {
        collect(p, &mut files).map_err(|source| audit::store::StoreError::Io { path: p.clone(), source })?;
    }
    let mut input = Input::default();
    let mut b = CanonicalBuilder::new();
    for f in files {
        let text = std::fs::read(&f).map_err(|source| audit::store::StoreError::Io { path: f.clone(), source })?;
        let text = String::from_utf8_lossy(&text);
        let text = text.trim_start_matches('\u{feff}');
        read_text(&f.display().to_string(), text, &mut b, &mut input.warnings);
        if b.len() >= 8192 {
            input.batches.push(b.finish().map_err(|e| EngineError::Internal(e.to_string()))?);
        }
    }
    if !b.is_empty() {
        input.batches.push(b.finish().map_err(|e| EngineError::Internal(e.to_string()))?);
    }
    Ok(input)
}

/// Reads one file's text (NDJSON, or one JSON document).
pub fn read_text(name: &str, text: &str, b: &mut CanonicalBuilder, warnings: &mut Vec<String>) {
    if let Ok(doc) = serde_json::from_str::<Value>(text) {
        add_value(name, 1, doc, b, warnings);
        return;
    }
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(v) => add_value(name, i + 1, v, b, warnings),
            Err(e) => warnings.push(format!("{name}:{}: skipped: not JSON ({e})", i + 1)),
        }
    }
}

fn time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    v.and_then(Value::as_str)
        .and_then(crate::kvalue::parse_datetime)
        .map(DateTime::from_timestamp_nanos)
}

fn string(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// A dynamic Azure column: nested JSON, or JSON held in a string.
fn dynamic(v: Option<&Value>) -> Option<Value> {
    match v? {
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => serde_json::from_str(s).ok().or_else(|| Some(Value::String(s.clone()))),
        Value::Null => None,
        other => Some(other.clone()),
    }
}

fn add_event(name: &str, line: usize, ev: Value, format: InputFormat, origin: &Origin, b: &mut CanonicalBuilder, w: &mut Vec<String>) {
    match serde_json::from_value::<Event>(ev) {
        Ok(e) => b.append(&e, format, origin, false),
        Err(e) => w.push(format!("{name}:{line}: skipped: not an audit event ({e})")),
    }
}

fn add_value(name: &str, line: usize, v: Value, b: &mut CanonicalBuilder, w: &mut Vec<String>) {
    match v {
        Value::Array(items) => {
            for it in items {
                add_value(name, line, it, b, w);
            }
        }
        Value::Object(ref o) => {
            if let Some(Value::Array(items)) = o.get("items") {
                for it in items {
                    add_event(name, line, it.clone(), InputFormat::EventList, &Origin::default(), b, w);
                }
            } else if let Some(Value::Array(records)) = o.get("records") {
                for r in records {
                    let props = r.get("properties");
                    let origin = Origin {
                        time_generated: time(r.get("time")),
                        azure_category: string(r.get("category")),
                        cluster_resource_id: string(r.get("resourceId")),
                        apiserver_pod: props.and_then(|p| string(p.get("pod"))),
                    };
                    match props.and_then(|p| dynamic(p.get("log"))) {
                        Some(ev) => add_event(name, line, ev, InputFormat::DiagnosticEnvelope, &origin, b, w),
                        None => w.push(format!("{name}:{line}: skipped: a record without properties.log")),
                    }
                }
            } else if o.contains_key("log_s") {
                let origin = Origin {
                    time_generated: time(o.get("TimeGenerated")),
                    azure_category: string(o.get("Category")),
                    cluster_resource_id: string(o.get("ResourceId")).or_else(|| string(o.get("_ResourceId"))),
                    apiserver_pod: string(o.get("pod_s")),
                };
                match dynamic(o.get("log_s")) {
                    Some(ev) => add_event(name, line, ev, InputFormat::AzureDiagnostics, &origin, b, w),
                    None => w.push(format!("{name}:{line}: skipped: empty log_s")),
                }
            } else if o.contains_key("AuditId") || o.contains_key("RequestUri") {
                let origin = Origin {
                    time_generated: time(o.get("TimeGenerated")),
                    azure_category: Some(if o.get("Type").and_then(Value::as_str) == Some("AKSAuditAdmin") {
                        "kube-audit-admin".to_owned()
                    } else {
                        "kube-audit".to_owned()
                    }),
                    cluster_resource_id: string(o.get("_ResourceId")),
                    apiserver_pod: string(o.get("PodName")),
                };
                let mut ev = serde_json::Map::new();
                let mut put = |k: &str, v: Option<Value>| {
                    if let Some(v) = v {
                        ev.insert(k.to_owned(), v);
                    }
                };
                put("level", o.get("Level").cloned());
                put("auditID", o.get("AuditId").cloned());
                put("stage", o.get("Stage").cloned());
                put("requestURI", o.get("RequestUri").cloned());
                put("verb", o.get("Verb").cloned());
                put("user", dynamic(o.get("User")));
                put("sourceIPs", dynamic(o.get("SourceIps")));
                put("userAgent", o.get("UserAgent").cloned());
                put("objectRef", dynamic(o.get("ObjectRef")));
                put("responseStatus", dynamic(o.get("ResponseStatus")));
                put("requestObject", dynamic(o.get("RequestObject")));
                put("responseObject", dynamic(o.get("ResponseObject")));
                put("requestReceivedTimestamp", o.get("RequestReceivedTime").cloned());
                put("stageTimestamp", o.get("StageReceivedTime").cloned());
                put("annotations", dynamic(o.get("Annotations")));
                add_event(name, line, Value::Object(ev), InputFormat::AksAudit, &origin, b, w);
            } else {
                add_event(name, line, v, InputFormat::K8sLog, &Origin::default(), b, w);
            }
        }
        _ => w.push(format!("{name}:{line}: skipped: not a JSON object")),
    }
}
