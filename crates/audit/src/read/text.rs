//! Text containers that are not JSON: YAML documents and CSV exports with a header line.

use std::io::Read;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::input::{Detected, Peeked, read_failed};
use super::records::Collector;
use super::summary::{Container, FileSummary, Location, SkipKind};
use super::{BatchSink, ReadError, ReadOptions, flush};
use crate::InputFormat;

/// Detects YAML or CSV from the first significant line of text that is not JSON.
pub(super) fn detect_text(body: &[u8]) -> Detected {
    let text = String::from_utf8_lossy(&body[..body.len().min(16 * 1024)]);
    if is_prometheus(&text) {
        return Detected::NotAudit(
            "not an audit format: a Prometheus /metrics scrape, not an audit log: give it to `metrics` or \
             `diagnose --metrics`"
                .to_owned(),
        );
    }
    // `null`, `12345`, `"text"`: JSON, but of no record (objects and arrays never come here).
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        let what = match v {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) | Value::Object(_) => "a JSON document",
        };
        return Detected::NotAudit(format!("not an audit format: JSON, but {what}, not an audit record"));
    }
    let first = text.lines().map(str::trim_end).find(|l| {
        let t = l.trim_start();
        !(t.is_empty() || t.starts_with('#') || t == "---" || t == "..." || t.starts_with("%YAML"))
    });
    let Some(line) = first else {
        // Only comments and document markers.
        return Detected::Container(Container::Yaml);
    };
    if looks_like_yaml_key(line) {
        return Detected::Container(Container::Yaml);
    }
    // A header of one column is enough (`| project log_s` exports only `log_s`).
    let names = csv_header(line);
    if csv_format(&names).is_some() {
        return Detected::Container(Container::Csv);
    }
    if looks_like_cut_json(&text) {
        return Detected::NotAudit(
            "not an audit format: text that is neither JSON, YAML, nor CSV with a header line; its lines look \
             like JSON that does not start where a JSON document does (cut at its start?)"
                .to_owned(),
        );
    }
    if line.contains(',') {
        if names.iter().any(|n| crate::timestamp::parse_nanos(n.trim_matches('"')).is_ok()) {
            return Detected::NotAudit(
                "not an audit format: CSV without a header line (a column holds a timestamp; this looks like a \
                 flattened export such as Logstash's, which keeps only some fields). Only CSV exports with a \
                 header are read: AzureDiagnostics (with log_s) or AKSAudit (AuditId, Verb, RequestUri, …)"
                    .to_owned(),
            );
        }
        // Called CSV only when it reads as CSV: several columns, the next line as many.
        if names.len() > 1 && next_line_fields(&text, line) == Some(names.len()) {
            return Detected::NotAudit(
                "not an audit format: CSV whose header names none of log_s (AzureDiagnostics) or AuditId, Verb, \
                 RequestUri (AKSAudit)"
                    .to_owned(),
            );
        }
    }
    Detected::NotAudit(
        "not an audit format: text that is neither JSON, YAML, nor CSV with a header line".to_owned(),
    )
}

/// How many CSV fields the first significant line after `first` has.
fn next_line_fields(text: &str, first: &str) -> Option<usize> {
    let mut lines = text.lines().map(str::trim_end).filter(|l| !l.trim().is_empty());
    lines.find(|l| *l == first)?;
    Some(csv_header(lines.next()?).len())
}

/// Whether lines after the first are JSON members (`"key": …`): a JSON document without its
/// start (a file cut at a byte offset), which no reader can place.
fn looks_like_cut_json(text: &str) -> bool {
    let member = |l: &str| {
        let Some(t) = l.trim_start().strip_prefix('"') else { return false };
        t.find('"').is_some_and(|end| end > 0 && t[end + 1..].trim_start().starts_with(':'))
    };
    text.lines().skip(1).take(20).filter(|l| member(l)).count() >= 2
}

/// Whether the text is a Prometheus exposition (`# HELP`, `# TYPE`, `name{labels} value`).
fn is_prometheus(text: &str) -> bool {
    for l in text.lines().map(str::trim).filter(|l| !l.is_empty()).take(20) {
        if l.starts_with("# HELP ") || l.starts_with("# TYPE ") {
            return true;
        }
        if !l.starts_with('#') {
            return is_metric_sample(l);
        }
    }
    false
}

/// `name value`, `name{labels} value`, with an optional timestamp; a name does not end with
/// `:` (a YAML `count: 5` is no sample).
fn is_metric_sample(line: &str) -> bool {
    let end = line.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')).unwrap_or(line.len());
    let name = &line[..end];
    if name.is_empty() || name.ends_with(':') || name.starts_with(|c: char| c.is_ascii_digit()) {
        return false;
    }
    let mut rest = &line[end..];
    if rest.starts_with('{') {
        match rest.rfind('}') {
            Some(i) => rest = &rest[i + 1..],
            None => return false,
        }
    }
    let mut parts = rest.split_whitespace();
    let value_ok =
        parts.next().is_some_and(|v| v.parse::<f64>().is_ok() || matches!(v, "NaN" | "+Inf" | "-Inf"));
    value_ok && parts.next().is_none_or(|t| t.parse::<i64>().is_ok()) && parts.next().is_none()
}

fn looks_like_yaml_key(line: &str) -> bool {
    let t = line.trim_start();
    if t.starts_with("- ") {
        return true;
    }
    let Some(colon) = t.find(':') else { return false };
    let key = &t[..colon];
    let after = &t[colon + 1..];
    !key.is_empty()
        && key.chars().all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c))
        && (after.is_empty() || after.starts_with(' ') || after.starts_with('\t'))
}

/// Column names of a header line, normalised: trimmed, unquoted, and without the ` [UTC]`
/// suffix the Azure portal adds to datetime columns.
fn csv_header(line: &str) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(line.as_bytes());
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => record.iter().map(normalise_column).collect(),
        _ => Vec::new(),
    }
}

fn normalise_column(name: &str) -> String {
    let name = name.trim().trim_start_matches('\u{feff}');
    match name.rfind(" [") {
        Some(i) if name.ends_with(']') => name[..i].trim().to_owned(),
        _ => name.to_owned(),
    }
}

fn csv_format(names: &[String]) -> Option<InputFormat> {
    let has = |n: &str| names.iter().any(|x| x == n);
    if has("log_s") {
        Some(InputFormat::AzureDiagnosticsCsv)
    } else if has("AuditId") || (has("Verb") && (has("RequestUri") || has("ObjectRef"))) {
        Some(InputFormat::AksAuditCsv)
    } else {
        None
    }
}

pub(super) fn read_csv(
    stream: Peeked<'_>,
    opts: &ReadOptions,
    sink: &mut dyn BatchSink,
    file: &mut FileSummary,
) -> Result<(), ReadError> {
    // Records end at `\n` alone: with CRLF as terminator the reader takes the `\n` of a
    // record's `\r\n` as the start of the next one, which then starts a line early (skip
    // messages named the line before). The `\r` left at the end of the last field is dropped
    // below.
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(Tail { inner: stream, read: 0, last: None });
    let names: Vec<String> = match reader.byte_headers() {
        Ok(h) => h.iter().map(|n| normalise_column(&String::from_utf8_lossy(n))).collect(),
        Err(e) => {
            file.not_audit = Some(format!("not an audit format: unreadable CSV header: {e}"));
            return Ok(());
        }
    };
    let Some(format) = csv_format(&names) else {
        file.not_audit =
            Some("not an audit format: CSV header names none of log_s, AuditId, Verb".to_owned());
        return Ok(());
    };
    let mut c = Collector::new(opts);
    let mut record = csv::ByteRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                // Where the reader stood before the record is where blank lines before it
                // start: count back from its end instead, over the newlines inside quoted
                // fields and the one ending it (none for a last line without one).
                let inside: usize = record.iter().map(|f| memchr::memchr_iter(b'\n', f).count()).sum();
                let tail = reader.get_ref();
                let unended = reader.position().byte() == tail.read && tail.last != Some(b'\n');
                let line = reader.position().line().saturating_sub(inside as u64 + u64::from(!unended));
                let last = record.len().saturating_sub(1);
                if last == 0 && record.get(0).is_some_and(|f| f.trim_ascii().is_empty()) {
                    // A blank line (`\r\n`).
                    continue;
                }
                // A row cut short or with cells past the header's (a cut file, a stray quote)
                // is damaged: which cell is which cannot be trusted. Empty cells past the
                // header (a trailing comma) are not.
                let extra_filled = record.iter().skip(names.len()).any(|f| !f.trim_ascii().is_empty());
                if record.len() < names.len() || extra_filled {
                    c.skip(
                        Location::Line(line),
                        SkipKind::Malformed,
                        format!("{} fields, the header has {}", record.len(), names.len()),
                    );
                    if opts.strict {
                        flush(&mut c, file, opts, sink)?;
                    }
                    continue;
                }
                let mut map = Map::new();
                let mut bad_utf8 = None;
                for (i, (name, field)) in names.iter().zip(record.iter()).enumerate() {
                    let field = if i == last { field.strip_suffix(b"\r").unwrap_or(field) } else { field };
                    match std::str::from_utf8(field) {
                        Ok("") => {}
                        Ok(s) => {
                            map.insert(name.clone(), Value::String(s.to_owned()));
                        }
                        Err(_) => bad_utf8 = Some(name.clone()),
                    }
                }
                let result = match bad_utf8 {
                    Some(col) => Err((SkipKind::Malformed, format!("column `{col}` is not UTF-8 text"))),
                    None if format == InputFormat::AzureDiagnosticsCsv => {
                        c.azure_diagnostics_row(&map, format)
                    }
                    None => c.aks_row(&map, format),
                };
                if let Err((kind, message)) = result {
                    c.skip(Location::Line(line), kind, message);
                }
            }
            Err(e) => {
                if let csv::ErrorKind::Io(io) = e.kind() {
                    let io = std::io::Error::new(io.kind(), io.to_string());
                    flush(&mut c, file, opts, sink)?;
                    read_failed(file, Location::Line(line), &io);
                    break;
                }
                c.skip(Location::Line(line), SkipKind::Malformed, format!("invalid CSV: {e}"));
            }
        }
        if c.rows() >= opts.batch_rows || (opts.strict && c.skipped > 0) {
            flush(&mut c, file, opts, sink)?;
        }
    }
    flush(&mut c, file, opts, sink)
}

/// A stream that remembers how many bytes it gave and the last one: whether a CSV record
/// read up to the end ended with a newline.
struct Tail<R> {
    inner: R,
    read: u64,
    last: Option<u8>,
}

impl<R: Read> Read for Tail<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(&b) = buf[..n].last() {
            self.read += n as u64;
            self.last = Some(b);
        }
        Ok(n)
    }
}

pub(super) fn read_yaml(
    stream: Peeked<'_>,
    opts: &ReadOptions,
    sink: &mut dyn BatchSink,
    file: &mut FileSummary,
) -> Result<(), ReadError> {
    let mut bytes = Vec::new();
    if let Err(e) = stream.take(opts.max_document_bytes as u64 + 1).read_to_end(&mut bytes) {
        read_failed(file, Location::Document(1), &e);
        return Ok(());
    }
    if bytes.len() > opts.max_document_bytes {
        file.not_audit = Some(format!(
            "YAML larger than {} bytes is not read (convert it to JSON lines)",
            opts.max_document_bytes
        ));
        return Ok(());
    }
    let Ok(text) = String::from_utf8(bytes) else {
        file.not_audit = Some("not an audit format: YAML that is not UTF-8 text".to_owned());
        return Ok(());
    };
    let mut c = Collector::new(opts);
    c.max_examples = c.max_examples.max(1);
    for (i, doc) in yaml_serde::Deserializer::from_str(&text).enumerate() {
        let location = Location::Document(i as u64 + 1);
        match Value::deserialize(doc) {
            Ok(Value::Null) => {}
            Ok(v) => {
                if let Err((kind, message)) = c.value_record(v) {
                    c.skip(location, kind, message);
                }
            }
            Err(e) => {
                c.skip(location, SkipKind::Malformed, format!("invalid YAML: {e}"));
                break;
            }
        }
    }
    if c.events == 0 {
        // Front matter, manifests, configuration: YAML, but no audit log.
        let why = c.examples.first().map(|s| format!(" ({}: {})", s.location, s.message)).unwrap_or_default();
        file.not_audit = Some(format!("not an audit format: YAML with no audit Event{why}"));
        return Ok(());
    }
    flush(&mut c, file, opts, sink)
}
