//! Records of every shape to canonical rows: the classifier shared by every container.
//!
//! A record is one JSON value (a line, an array element, a YAML document, a CSV row turned
//! into an object). The hot case, a native `Event`, is parsed once into borrowed structs;
//! anything else is parsed into a `serde_json::Value`, recognised by its keys and unwrapped
//! down to event JSON, which goes through the same borrowed parser.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::RecordBatch;
use serde::de::IgnoredAny;
use serde_json::{Map, Value};

use super::summary::{FileSummary, Location, SkipKind, SkippedRecord};
use super::{cloudwatch, diagnostic, lists};
use crate::InputFormat;
use crate::batch::{CanonicalBuilder, SizeHint};
use crate::raw::tape::{self, TapeReader};
use crate::raw::{Body, RawEvent, RowOrigin, audit_api_version};
use crate::raw::{gke, scan};
use crate::store::writer::FileClass;
use crate::timestamp::{parse_nanos, unreadable};

/// One skipped record before it is given a file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Skip {
    pub(crate) location: Location,
    pub(crate) kind: SkipKind,
    pub(crate) message: String,
}

/// Collects rows and the per-file tallies for one piece of input (a chunk of lines, or a
/// whole document); merged into the [`FileSummary`] in reading order.
pub(crate) struct Collector {
    /// One builder, or with `split_by_class` one per [`FileClass`] (in [`FileClass::ALL`]
    /// order), so that each batch handed on holds one class and the store writes it to a file
    /// of that class without copying it.
    builders: Vec<CanonicalBuilder>,
    pub(crate) keep_bodies: bool,
    pub(crate) formats: BTreeMap<InputFormat, u64>,
    pub(crate) events: u64,
    pub(crate) without_timestamps: u64,
    pub(crate) skipped: u64,
    pub(crate) skipped_by_kind: BTreeMap<SkipKind, u64>,
    /// The first `max_examples` skips.
    pub(crate) examples: Vec<Skip>,
    pub(crate) max_examples: usize,
    /// Lines a chunk of lines spans, its places counted from its own start until
    /// [`Collector::place_lines_after`].
    pub(crate) lines: u64,
    /// NUL bytes dropped from the starts of lines (see [`FileSummary::nul_bytes`]).
    pub(crate) nul_bytes: u64,
    /// Lines read without a comma after their record (see [`FileSummary::trailing_commas`]).
    pub(crate) trailing_commas: u64,
    /// The bad items of a record holding many events (an `EventList`, a `records` envelope,
    /// a CloudWatch payload on one line) after its first, which the record's error names:
    /// counted by the [`Collector::skip`] of that error, at its place (review s42, item 1: a
    /// line of three bad items counted one). Their kinds counted, the first messages kept.
    more_items: ItemErrors,
    /// The SIMD reader of JSON records, made on first use.
    tape: Option<Box<TapeReader>>,
    /// Whether to use it ([`ReadOptions::simd`](super::ReadOptions::simd)).
    simd: bool,
}

/// A record-level problem: kind and message.
type RecordError = (SkipKind, String);

/// A line of a log shipper or store that carries a record as JSON text: one of
/// [`WRAPPER_KEYS`], or Splunk's export's `result._raw`.
#[derive(serde::Deserialize)]
struct Wrapped<'a> {
    #[serde(borrow, default)]
    log: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    line: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default, rename = "_raw")]
    raw: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    result: Option<SplunkResult<'a>>,
}

#[derive(serde::Deserialize)]
struct SplunkResult<'a> {
    #[serde(borrow, default, rename = "_raw")]
    raw: Option<std::borrow::Cow<'a, str>>,
}

impl<'a> Wrapped<'a> {
    /// The key and the JSON text it holds, as `object_record` would find it: the first of
    /// [`WRAPPER_KEYS`], else Splunk's `result._raw`. `None` unless the text is a JSON object.
    fn text(self) -> Option<(&'static str, std::borrow::Cow<'a, str>)> {
        let found = match (self.log, self.line, self.raw) {
            (Some(t), _, _) => ("log", t),
            (None, Some(t), _) => ("line", t),
            (None, None, Some(t)) => ("_raw", t),
            (None, None, None) => ("_raw", self.result?.raw?),
        };
        found.1.trim_start().starts_with('{').then_some(found)
    }
}

/// An Elasticsearch hit or document on one line, read borrowed for the audit line it keeps as
/// text: `event.original`, or Filebeat's `message` (see [`elastic_document`], which reads the
/// same from a `Value`, and reads Elastic's parsed `kubernetes.audit` fields, left to it here).
#[derive(serde::Deserialize)]
struct ElasticText<'a> {
    #[serde(borrow, default, rename = "_source")]
    source: Option<Box<ElasticText<'a>>>,
    #[serde(borrow, default)]
    event: Option<ElasticEvent<'a>>,
    #[serde(borrow, default)]
    message: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, rename = "@timestamp")]
    timestamp: Option<IgnoredAny>,
    #[serde(default)]
    kubernetes: Option<IgnoredAny>,
    #[serde(default)]
    ecs: Option<IgnoredAny>,
    #[serde(default)]
    agent: Option<IgnoredAny>,
    #[serde(default)]
    input: Option<IgnoredAny>,
    #[serde(default)]
    data_stream: Option<IgnoredAny>,
}

#[derive(serde::Deserialize)]
struct ElasticEvent<'a> {
    #[serde(borrow, default)]
    original: Option<std::borrow::Cow<'a, str>>,
}

impl<'a> ElasticText<'a> {
    /// The field and the JSON text it holds, as `elastic_document` would find it in the hit's
    /// `_source` (or in the document itself). `None` when the record is kept otherwise.
    fn text(self) -> Option<(&'static str, std::borrow::Cow<'a, str>)> {
        if let Some(source) = self.source {
            return source.text();
        }
        if let Some(original) = self.event.and_then(|e| e.original)
            && original.trim_start().starts_with('{')
        {
            return Some(("event.original", original));
        }
        let beat = self.timestamp.is_some()
            && (self.ecs.is_some()
                || self.agent.is_some()
                || self.input.is_some()
                || self.data_stream.is_some());
        match self.message {
            Some(message) if beat && self.kubernetes.is_none() && message.trim_start().starts_with('{') => {
                Some(("message", message))
            }
            _ => None,
        }
    }
}

/// The keys under which log shippers and log stores keep a record they carry, as an object or
/// as its JSON text: `log` (Panther, Fluent Bit, Docker's json-file), `line` (Loki's
/// `logcli --output=jsonl`), `_raw` (Splunk).
const WRAPPER_KEYS: [&str; 3] = ["log", "line", "_raw"];

/// What an object that is no audit event is, when it is a record kept beside audit events: a
/// Kubernetes `Event` of another API (core `v1`, `events.k8s.io/v1`, as event exporters and
/// `kubectl get events -o json` write them), or kube-apiserver's own log line in klog's JSON
/// format (`ts`, `msg`, `caller`; its HTTP lines carry a `verb`): ingest review 50, item 2.
fn not_audit_event(map: &Map<String, Value>) -> Option<String> {
    match map.get("kind") {
        Some(Value::String(k)) if k == "Event" => match map.get("apiVersion") {
            Some(Value::String(v)) if !audit_api_version(v) => Some(kubernetes_event(v)),
            _ => None,
        },
        Some(_) => None,
        None if map.contains_key("msg") && (map.contains_key("ts") || map.contains_key("caller")) => {
            let msg = map.get("msg").and_then(Value::as_str).map(|m| format!(" (msg {:?})", short(m)));
            Some(format!("kube-apiserver's own log line{}, not an audit event", msg.unwrap_or_default()))
        }
        None => None,
    }
}

/// The skip message of a Kubernetes `Event` of API `api_version`.
fn kubernetes_event(api_version: &str) -> String {
    format!("a Kubernetes Event (apiVersion {}), not an audit event", short(api_version))
}

/// Whether a [`WRAPPER_KEYS`] field holds a record: an object, or text that starts as one
/// (text that starts so but does not parse is named as the damaged record it is).
fn holds_json_object(inner: &Value) -> bool {
    match inner {
        Value::Object(_) => true,
        Value::String(s) => s.trim_start().starts_with('{'),
        _ => false,
    }
}

fn err<T>(kind: SkipKind, message: impl Into<String>) -> Result<T, RecordError> {
    Err((kind, message.into()))
}

/// Cuts long serde messages and values so a report line stays readable.
pub(super) fn short(s: &str) -> String {
    const MAX: usize = 160;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

/// UTF-8's byte order mark: what Windows tools write at the start of a text file.
pub(super) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A line's record without the comma after it (`{…},`, as lines copied out of a JSON array
/// end); `None` when the line does not end so.
fn record_before_comma(line: &[u8]) -> Option<&[u8]> {
    let record = line.trim_ascii_end().strip_suffix(b",")?.trim_ascii_end();
    record.ends_with(b"}").then_some(record)
}

/// A record's bytes as a `serde_json::Value`.
fn parse_value(bytes: &[u8]) -> Result<Value, RecordError> {
    serde_json::from_slice(bytes).map_err(|e| not_utf8(bytes).unwrap_or_else(|| json_error(&e)))
}

/// A record that failed to parse because it holds bytes that are not UTF-8 text, named with
/// the first of them and where it is (review s44: a line starting with 0xFF 0xFE read
/// "expected value at column 1"). `None` when the record is UTF-8.
fn not_utf8(text: &[u8]) -> Option<RecordError> {
    let e = std::str::from_utf8(text).err()?;
    let at = e.valid_up_to();
    let line_start = text[..at].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    // Columns count characters, as serde's do.
    let column = String::from_utf8_lossy(&text[line_start..at]).chars().count() + 1;
    let line = text[..at].iter().filter(|&&b| b == b'\n').count() + 1;
    let byte = text.get(at).copied().unwrap_or_default();
    let place = if line == 1 {
        format!("at column {column}")
    } else {
        format!("at line {line}, column {column} of the record")
    };
    Some((SkipKind::Malformed, format!("invalid JSON: a byte that is not UTF-8 text (0x{byte:02X}) {place}")))
}

fn json_error(e: &serde_json::Error) -> RecordError {
    let kind = match e.classify() {
        serde_json::error::Category::Data => SkipKind::InvalidField,
        _ => SkipKind::Malformed,
    };
    let prefix = if kind == SkipKind::Malformed { "invalid JSON: " } else { "" };
    // serde says "invalid unicode code point" of bytes that are not UTF-8 as of a `\u` escape
    // of a lone surrogate: the first is the usual cause (a damaged line), so it is named
    // (review s44: the message read as a problem with an escape).
    let message = e.to_string().replacen(
        "invalid unicode code point",
        "a byte that is not UTF-8 text (or a \\u escape of no character)",
        1,
    );
    (kind, format!("{prefix}{}", short(&record_position(&message))))
}

/// serde's " at line L column C" said of the record rather than of the file: its line 1 is
/// the record's own line (or start), which a message naming another line would contradict.
/// " at column C" for a record on one line, else " at line L, column C of the record".
fn record_position(message: &str) -> String {
    let Some((base, line, column)) = serde_position(message) else { return message.to_owned() };
    if line == 1 {
        format!("{base} at column {column}")
    } else {
        format!("{base} at line {line}, column {column} of the record")
    }
}

/// A serde message split into its text and the line and column it ends with.
fn serde_position(message: &str) -> Option<(&str, u64, u64)> {
    let i = message.rfind(" at line ")?;
    let (line, column) = message[i + " at line ".len()..].split_once(" column ")?;
    Some((&message[..i], line.parse().ok()?, column.parse().ok()?))
}

/// An error of the event read from a string column (`log_s`) or field (`properties.log`)
/// named by it: the record itself was valid JSON; the text inside it was not (Azure cuts long
/// values short). `column \`log_s\`: not JSON (cut short?): EOF while parsing a string at
/// column 200 of its text`.
fn in_string_column((kind, message): RecordError, what: &str) -> RecordError {
    let Some(rest) = message.strip_prefix("invalid JSON: ") else { return (kind, message) };
    let cut = if rest.starts_with("EOF while parsing") { " (cut short?)" } else { "" };
    let rest = match rest.strip_suffix(" of the record") {
        Some(r) => format!("{r} of its text"),
        None if rest.rfind(" at column ").is_some() => format!("{rest} of its text"),
        None => rest.to_owned(),
    };
    (kind, format!("{what}: not JSON{cut}: {rest}"))
}

/// The error of an event that did not read, naming the field when a value had the wrong type
/// (`field \`responseStatus.code\`: a string "200", expected an integer`). Read a second time
/// with the path tracked, only for the records that fail.
fn field_error<B: Body + for<'de> serde::Deserialize<'de>>(
    text: &[u8],
    e: &serde_json::Error,
) -> RecordError {
    if e.classify() != serde_json::error::Category::Data {
        return not_utf8(text).unwrap_or_else(|| json_error(e));
    }
    let mut de = serde_json::Deserializer::from_slice(text);
    let path = match serde_path_to_error::deserialize::<_, RawEvent<'_, B>>(&mut de) {
        Err(tracked) => tracked.path().to_string(),
        Ok(_) => return json_error(e),
    };
    let (kind, message) = json_error(e);
    let message = plain_types(&strip_position(&message));
    if path.is_empty() || path == "." {
        (kind, message)
    } else {
        (kind, format!("field `{path}`: {message}"))
    }
}

/// An `AKSAudit` row's text columns and the event fields they are read into.
const AKS_TEXT_COLUMNS: [(&str, &str); 8] = [
    ("Level", "level"),
    ("AuditId", "auditID"),
    ("Stage", "stage"),
    ("RequestUri", "requestURI"),
    ("Verb", "verb"),
    ("UserAgent", "userAgent"),
    ("RequestReceivedTime", "requestReceivedTimestamp"),
    ("StageReceivedTime", "stageTimestamp"),
];

/// An `AKSAudit` row's dynamic columns (nested JSON or JSON text) and their event fields.
const AKS_DYNAMIC_COLUMNS: [(&str, &str); 8] = [
    ("User", "user"),
    ("ImpersonatedUser", "impersonatedUser"),
    ("SourceIps", "sourceIPs"),
    ("ObjectRef", "objectRef"),
    ("ResponseStatus", "responseStatus"),
    ("RequestObject", "requestObject"),
    ("ResponseObject", "responseObject"),
    ("Annotations", "annotations"),
];

/// A message about an event's field, for an `AKSAudit` row: named by the row's column
/// (`column \`StageReceivedTime\``, `column \`ResponseStatus\`, field \`code\``), as the file
/// has it, not by the event field the row was read into.
fn aks_names(message: String, format: InputFormat) -> String {
    if !matches!(format, InputFormat::AksAudit | InputFormat::AksAuditCsv) {
        return message;
    }
    let Some(rest) = message.strip_prefix("field `") else { return message };
    let Some((path, tail)) = rest.split_once('`') else { return message };
    let (first, inner) = match path.split_once('.') {
        Some((first, inner)) => (first, Some(inner)),
        None => (path, None),
    };
    let Some((column, _)) = AKS_TEXT_COLUMNS.iter().chain(&AKS_DYNAMIC_COLUMNS).find(|(_, f)| *f == first)
    else {
        return message;
    };
    match inner {
        Some(inner) => format!("column `{column}`, field `{inner}`{tail}"),
        None => format!("column `{column}`{tail}"),
    }
}

/// serde's names for what was found and expected, as a user reads them: `struct RawObjectRef`
/// and a `map` are an object, `i32` an integer, a `sequence` a list.
fn plain_types(message: &str) -> String {
    let mut out = message
        .replace("invalid type: sequence,", "a list,")
        .replace("invalid type: map,", "an object,")
        .replace("invalid type: ", "")
        .replace("expected a sequence", "expected a list")
        .replace("expected i32", "expected a 32-bit integer")
        .replace("expected i64", "expected an integer");
    if let Some(at) = out.find("expected struct ") {
        let name = at + "expected struct ".len();
        let end = out[name..].find(|c: char| !c.is_alphanumeric()).map_or(out.len(), |i| name + i);
        out.replace_range(at..end, "expected an object");
    }
    out
}

impl Collector {
    /// Builders and tallies for reading with `opts`.
    pub(crate) fn new(opts: &super::ReadOptions) -> Collector {
        Self::with_hints(opts, None)
    }

    /// A collector whose builders start as big as the last ones of their class that finished
    /// with `hints` (one per builder; see [`CanonicalBuilder::with_hint`]).
    pub(crate) fn with_hints(opts: &super::ReadOptions, hints: Option<&[Arc<SizeHint>]>) -> Collector {
        let builders = if opts.split_by_class { FileClass::ALL.len() } else { 1 };
        let builder = |i: usize| match hints.and_then(|h| h.get(i)) {
            Some(hint) => CanonicalBuilder::with_hint(Arc::clone(hint)),
            None => CanonicalBuilder::new(),
        };
        Collector {
            builders: (0..builders).map(builder).collect(),
            keep_bodies: opts.keep_bodies,
            formats: BTreeMap::new(),
            events: 0,
            without_timestamps: 0,
            skipped: 0,
            skipped_by_kind: BTreeMap::new(),
            examples: Vec::new(),
            max_examples: opts.max_examples,
            lines: 0,
            nul_bytes: 0,
            trailing_commas: 0,
            more_items: ItemErrors::default(),
            tape: None,
            simd: opts.simd,
        }
    }

    /// Rows collected and not drained yet.
    pub(crate) fn rows(&self) -> usize {
        self.builders.iter().map(CanonicalBuilder::len).sum()
    }

    /// Makes the lines of skips counted from a chunk's start whole, `before` lines coming
    /// before it in its file.
    pub(crate) fn place_lines_after(&mut self, before: u64) {
        for s in &mut self.examples {
            if let Location::Line(n) = &mut s.location {
                *n += before;
            }
        }
    }

    pub(crate) fn skip(&mut self, location: Location, kind: SkipKind, message: String) {
        self.skip_one(location, kind, message);
        // The other bad items of the record this skip is the first of.
        let more = std::mem::take(&mut self.more_items);
        for (kind, message) in more.examples {
            self.skip_one(location, kind, message);
        }
        for (kind, n) in more.unnamed {
            self.skipped += n;
            *self.skipped_by_kind.entry(kind).or_default() += n;
        }
    }

    /// [`Collector::skip`] of `n` records (at least one) lost to one damage, named once.
    pub(crate) fn skip_many(&mut self, location: Location, kind: SkipKind, message: String, n: u64) {
        self.skip(location, kind, message);
        let more = n.saturating_sub(1);
        self.skipped += more;
        *self.skipped_by_kind.entry(kind).or_default() += more;
    }

    fn skip_one(&mut self, location: Location, kind: SkipKind, message: String) {
        self.skipped += 1;
        *self.skipped_by_kind.entry(kind).or_default() += 1;
        if self.examples.len() < self.max_examples {
            self.examples.push(Skip { location, kind, message });
        }
    }

    /// Moves the tallies into `file` (examples named after it) and returns the rows, a batch
    /// per class that has any.
    pub(crate) fn drain_into(
        &mut self,
        file: &mut FileSummary,
    ) -> Result<Vec<RecordBatch>, arrow::error::ArrowError> {
        for (f, n) in std::mem::take(&mut self.formats) {
            *file.formats.entry(f).or_default() += n;
        }
        file.events += std::mem::take(&mut self.events);
        file.without_timestamps += std::mem::take(&mut self.without_timestamps);
        file.nul_bytes += std::mem::take(&mut self.nul_bytes);
        file.trailing_commas += std::mem::take(&mut self.trailing_commas);
        for (k, n) in std::mem::take(&mut self.skipped_by_kind) {
            *file.skipped_by_kind.entry(k).or_default() += n;
        }
        file.skipped += std::mem::take(&mut self.skipped);
        for s in std::mem::take(&mut self.examples) {
            if file.examples.len() < self.max_examples {
                file.examples.push(SkippedRecord {
                    file: file.file.clone(),
                    location: s.location,
                    kind: s.kind,
                    message: s.message,
                });
            }
        }
        let mut out = Vec::new();
        for b in &mut self.builders {
            if !b.is_empty() {
                out.push(b.finish()?);
            }
        }
        Ok(out)
    }

    /// Reads one JSON line (or any one JSON record held as bytes). A line may start with a
    /// timestamp and a space before its JSON, as CloudWatch's export to S3 and `kubectl logs
    /// --timestamps` write them.
    pub(crate) fn json_record(&mut self, bytes: &[u8], location: Location) {
        let whole = bytes.len();
        let bytes = match timestamp_prefix(bytes) {
            Some(rest) if rest.first() == Some(&b'{') => rest,
            // The other logs exported beside the audit log (the API server's own, the
            // authenticator's): a timestamp and text.
            Some(rest) if !rest.is_empty() => {
                let text = String::from_utf8_lossy(rest);
                let message = format!("a timestamped log line of text, not an audit event: {}", short(&text));
                return self.skip(location, SkipKind::NotAuditRecord, message);
            }
            _ => bytes,
        };
        let skipped = whole - bytes.len();
        let mut read = self.json_record_inner(bytes);
        // A line that is no JSON as it is, read as what it most likely is: without a byte order
        // mark before its record (files that each began with one, joined by `cat`), or without
        // a comma after it (lines copied out of a JSON array). Only then: a line that reads
        // costs nothing more. Nothing was appended of a line that did not parse.
        let mut bom = false;
        if matches!(read, Err((SkipKind::Malformed, _))) {
            let mut again = bytes;
            if let Some(rest) = again.strip_prefix(BOM) {
                again = rest;
                bom = true;
            }
            let comma = record_before_comma(again);
            if let Some(record) = comma {
                again = record;
            }
            if again.len() < bytes.len() {
                read = self.json_record_inner(again);
                if read.is_ok() && comma.is_some() {
                    self.trailing_commas += 1;
                }
            }
        }
        if let Err((kind, mut message)) = read {
            // A record that did not parse and holds bytes that are not UTF-8: those are why.
            if kind == SkipKind::Malformed
                && let Some((_, why)) = not_utf8(bytes)
            {
                message = why;
            }
            // serde's column counts from the JSON, not from the start of the line.
            if skipped > 0 && message.contains(" at column ") {
                message.push_str(&format!(" (after the {skipped}-character timestamp)"));
            }
            if bom && kind == SkipKind::Malformed {
                message.push_str(" (after a byte order mark, U+FEFF, at the start of the line, read past)");
            }
            self.skip(location, kind, message);
        }
    }

    fn json_record_inner(&mut self, bytes: &[u8]) -> Result<(), RecordError> {
        // The apiserver's own line goes straight on; any other line's first key says whether it
        // is a record kept by a log shipper or store as JSON text (`log`, Loki's `line`,
        // Splunk's `_raw`, Elasticsearch's `event.original`, Filebeat's `message`: the text read
        // as a line of its own, on the fast paths below) or a GKE Cloud Logging entry (read
        // borrowed in one pass). What does not read so (a wrapped object, text that is no JSON,
        // a damaged entry) goes the serde way, which names it.
        let key = if bytes.starts_with(br#"{"kind":"Event","#) { None } else { scan::first_key(bytes) };
        let carried = if key.is_some_and(scan::is_wrapper_key) {
            serde_json::from_slice::<Wrapped<'_>>(bytes).ok().and_then(Wrapped::text)
        } else if key.is_some_and(scan::is_elastic_key) {
            serde_json::from_slice::<ElasticText<'_>>(bytes).ok().and_then(ElasticText::text)
        } else {
            None
        };
        if let Some((field, text)) = carried {
            return self
                .json_record_unwrapped(text.trim_end().as_bytes())
                .map_err(|e| in_string_column(e, &format!("field `{field}`")));
        }
        // CloudWatch's payloads and Azure's diagnostic records, read borrowed (without `simd`,
        // the serde way below: the reference the tests compare with).
        if self.simd
            && let Some(read) = self.borrowed_line(key, bytes)
        {
            return read;
        }
        if !self.keep_bodies
            && key.is_some_and(scan::is_gke_key)
            && let Ok(entry) = serde_json::from_slice::<gke::Entry<'_, IgnoredAny>>(bytes)
        {
            return self.gke_entry(entry);
        }
        self.json_record_unwrapped(bytes)
    }

    /// [`Collector::json_record_inner`] past the wrapper test: a wrapper inside a wrapper's
    /// text is unwrapped the serde way (as deep as `object_record` goes).
    fn json_record_unwrapped(&mut self, bytes: &[u8]) -> Result<(), RecordError> {
        // Hot path: a native Event through the one-pass scan, else simd-json's tape; what
        // neither expects, the serde path below reads (and names the problem of).
        if self.simd && !self.keep_bodies {
            match self.tape_event(bytes, InputFormat::K8sLog, &RowOrigin::default(), true) {
                tape::Read::Event(result) => return result,
                tape::Read::List(results) => return self.item_errors(failed_items(results)),
                tape::Read::Azure(row) => return self.azure_tape_row(&row),
                tape::Read::NotEvent => {
                    let value: Value = serde_json::from_slice(bytes).map_err(|e| json_error(&e))?;
                    return self.value_record(value);
                }
                tape::Read::GaveUp => {}
            }
        }
        // A native Event, parsed once, borrowed.
        let fast = if self.keep_bodies {
            self.try_event::<Value>(bytes, InputFormat::K8sLog, &RowOrigin::default())
        } else {
            self.try_event::<IgnoredAny>(bytes, InputFormat::K8sLog, &RowOrigin::default())
        };
        match fast {
            Some(result) => result,
            None => {
                let value: Value = serde_json::from_slice(bytes).map_err(|e| json_error(&e))?;
                self.value_record(value)
            }
        }
    }

    /// Reads `bytes` through simd-json's tape and appends the event it holds. With `rows`,
    /// the line may also be an `EventList` (its items read as the webhook backend's), an
    /// `AzureDiagnostics` row (handed back) or an `AKSAudit` row (its event appended).
    fn tape_event(
        &mut self,
        bytes: &[u8],
        format: InputFormat,
        origin: &RowOrigin<'_>,
        rows: bool,
    ) -> tape::Read<Result<(), RecordError>> {
        let mut reader = self.tape.take().unwrap_or_default();
        let read = reader.read(bytes, rows, |event, via| match via {
            tape::Via::Line => self.append(event, format, origin),
            tape::Via::ListItem(list_api_version) => {
                let origin = RowOrigin { list_api_version, ..*origin };
                self.append(event, InputFormat::EventList, &origin)
            }
            tape::Via::Aks(row) => {
                let time_generated = match row.time_generated {
                    Some(t) => time_of("TimeGenerated", t)?,
                    None => None,
                };
                let origin = RowOrigin {
                    time_generated,
                    azure_category: aks_category(row.category),
                    cluster_resource_id: row.resource_id,
                    apiserver_pod: row.pod,
                    list_api_version: None,
                };
                self.append(event, InputFormat::AksAudit, &origin)
            }
        });
        self.tape = Some(reader);
        read
    }

    /// Parses `bytes` as an Event; `None` when it parsed but is not an Event, or did not parse
    /// at all (the caller then classifies it the slow way, which names the problem).
    fn try_event<B: Body + for<'de> serde::Deserialize<'de>>(
        &mut self,
        bytes: &[u8],
        format: InputFormat,
        origin: &RowOrigin<'_>,
    ) -> Option<Result<(), RecordError>> {
        // One UTF-8 check of the whole line, then a parse that trusts it: serde_json checks
        // each string of a byte slice on its own, which cost more than the line at once.
        let text = std::str::from_utf8(bytes).ok()?;
        // An object only: serde's derived reader takes a list's items as the fields in order.
        if !text.trim_start().starts_with('{') {
            return None;
        }
        let event: RawEvent<'_, B> = serde_json::from_str(text).ok()?;
        if !event.looks_like_event() {
            return None;
        }
        Some(self.append(&event, format, origin))
    }

    fn append<B: Body>(
        &mut self,
        event: &RawEvent<'_, B>,
        format: InputFormat,
        origin: &RowOrigin<'_>,
    ) -> Result<(), RecordError> {
        // An `Event` without `apiVersion` takes its list's: a core `EventList`'s is no audit
        // event (a line's own event has no list, and the test ends at once).
        if let Some(list) = origin.list_api_version
            && event.api_version.is_none()
            && !audit_api_version(list)
            && event.kind.as_ref().is_some_and(|k| k.as_str() == "Event")
        {
            return err(SkipKind::NotAuditRecord, kubernetes_event(list));
        }
        if event.holds_nothing() {
            return err(
                SkipKind::NotAuditRecord,
                "an audit event with nothing in it: no auditID, stage, verb, requestURI, user, objectRef, \
                 responseStatus nor time",
            );
        }
        let builder = if self.builders.len() > 1 { event.file_class() as usize } else { 0 };
        self.builders[builder]
            .append_raw(event, format, origin)
            .map_err(|e| (SkipKind::BadTimestamp, aks_names(e.to_string(), format)))?;
        *self.formats.entry(format).or_default() += 1;
        self.events += 1;
        // Also an event whose times lie outside what a nanosecond timestamp holds (the years
        // 1677–2262): stored null as well, it was counted by `stats` but not said by ingest
        // (ingest review s38, item 5).
        // An Azure row's TimeGenerated counts as a time (review s40): the row as stored says.
        if self.builders[builder].last_row_has_no_time() {
            self.without_timestamps += 1;
        }
        Ok(())
    }

    /// Parses event JSON text (from `log_s`, `properties.log`, a re-serialised object) and
    /// appends it; errors name what was wrong.
    fn event_text(
        &mut self,
        text: &[u8],
        format: InputFormat,
        origin: &RowOrigin<'_>,
    ) -> Result<(), RecordError> {
        if self.keep_bodies {
            return self.event_text_with::<Value>(text, format, origin);
        }
        if !self.simd {
            return self.event_text_with::<IgnoredAny>(text, format, origin);
        }
        match self.tape_event(text, format, origin, false) {
            tape::Read::Event(result) => result,
            // The serde path names what is wrong (or what the object is instead); without
            // `lists` no list is read.
            tape::Read::List(_) | tape::Read::Azure(_) | tape::Read::NotEvent | tape::Read::GaveUp => {
                self.event_text_with::<IgnoredAny>(text, format, origin)
            }
        }
    }

    fn event_text_with<B: Body + for<'de> serde::Deserialize<'de>>(
        &mut self,
        text: &[u8],
        format: InputFormat,
        origin: &RowOrigin<'_>,
    ) -> Result<(), RecordError> {
        // An object only: serde's derived reader takes a list's items as the fields in order.
        if text.trim_ascii_start().first() != Some(&b'{') {
            let value = parse_value(text)?;
            return err(
                SkipKind::InvalidField,
                format!("expected an audit Event object, found {}", type_name(&value)),
            );
        }
        let event: RawEvent<'_, B> = match serde_json::from_slice(text) {
            Ok(event) => event,
            Err(e) => {
                let (kind, message) = field_error::<B>(text, &e);
                return Err((kind, aks_names(message, format)));
            }
        };
        if !event.looks_like_event() {
            // What else the object is, when it is something known (read again: no event).
            if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(text)
                && let Some(why) = not_audit_event(&map)
            {
                return err(SkipKind::NotAuditRecord, why);
            }
            let kind = event.kind.as_ref().map(|k| k.as_str().to_owned()).unwrap_or_default();
            return err(SkipKind::NotAuditRecord, format!("expected an audit Event, found kind {kind:?}"));
        }
        self.append(&event, format, origin)
    }

    pub(crate) fn event_value(
        &mut self,
        value: &Value,
        format: InputFormat,
        origin: &RowOrigin<'_>,
    ) -> Result<(), RecordError> {
        match value {
            Value::Object(_) => {
                let text = serde_json::to_vec(value).map_err(|e| json_error(&e))?;
                // Positions would point into our re-serialised text, not the user's file.
                self.event_text(&text, format, origin).map_err(|(k, m)| (k, strip_position(&m)))
            }
            other => err(
                SkipKind::InvalidField,
                format!("expected an audit Event object, found {}", type_name(other)),
            ),
        }
    }

    /// Classifies any JSON value and appends the events it holds. Multi-event records
    /// (`EventList`, `records`) keep their good events; the first bad one is returned.
    pub(crate) fn value_record(&mut self, value: Value) -> Result<(), RecordError> {
        let Value::Object(map) = value else {
            return err(
                SkipKind::NotAuditRecord,
                format!("expected a JSON object, found {}", type_name(&value)),
            );
        };
        self.object_record(&map, 0)
    }

    fn object_record(&mut self, map: &Map<String, Value>, depth: u8) -> Result<(), RecordError> {
        let kind = map.get("kind");
        if kind.and_then(Value::as_str) == Some("EventList")
            || (kind.is_none() && map.get("items").is_some_and(Value::is_array))
        {
            return self.event_list(map);
        }
        if let Some(records) = map.get("records") {
            let Value::Array(records) = records else {
                return err(
                    SkipKind::InvalidField,
                    format!("`records` is {}, expected a list", type_name(records)),
                );
            };
            return self.many(records, |c, r| match r {
                Value::Object(m) => c.diagnostic_record(m),
                other => err(
                    SkipKind::InvalidField,
                    format!("expected a diagnostic record object, found {}", type_name(other)),
                ),
            });
        }
        if map.contains_key("properties") && (map.contains_key("category") || map.contains_key("Category")) {
            return self.diagnostic_record(map);
        }
        if let Some(Value::Array(tables)) = map.get("tables")
            && depth == 0
        {
            return self.log_analytics_tables(tables);
        }
        if map.contains_key("log_s") {
            return self.azure_diagnostics_row(map, InputFormat::AzureDiagnostics);
        }
        if is_aks_row(map) {
            return self.aks_row(map, InputFormat::AksAudit);
        }
        // Elasticsearch and OpenSearch: a search response's hits, one hit (`elasticdump`
        // writes one per line), the document a Beat or Elastic Agent indexed.
        if depth == 0
            && let Some(Value::Object(hits)) = map.get("hits")
            && let Some(Value::Array(hits)) = hits.get("hits")
        {
            return self.many(hits, |c, hit| match hit {
                Value::Object(m) => c.object_record(m, 1),
                other => err(
                    SkipKind::InvalidField,
                    format!("expected an Elasticsearch hit object, found {}", type_name(other)),
                ),
            });
        }
        if depth < 3
            && let Some(source) = map.get("_source")
        {
            return match source {
                Value::Object(m) => self.object_record(m, depth + 1),
                other => err(
                    SkipKind::InvalidField,
                    format!(
                        "field `_source`: {}, expected the indexed document (an object)",
                        type_name(other)
                    ),
                ),
            };
        }
        if map.contains_key("_index") && map.contains_key("_id") {
            return err(
                SkipKind::NotAuditRecord,
                "an Elasticsearch hit without `_source`: search with the document's source kept (no \
                 `\"_source\": false`, no `fields` alone)",
            );
        }
        if depth < 3
            && let Some(found) = elastic_document(map)
        {
            return self.elastic_document(found, depth);
        }
        // A Lambda's CloudWatch Logs event: the subscription payload gzipped, in base64.
        if let Some(Value::Object(awslogs)) = map.get("awslogs")
            && depth < 3
        {
            let payload = lambda_payload(awslogs)?;
            return self.object_record(&payload, depth + 1);
        }
        // CloudWatch Logs: a subscription payload's `logEvents`, the `events` of `aws logs
        // filter-log-events` / `get-log-events`, Logs Insights' `results` rows, one log event.
        if let Some(Value::Array(events)) = map.get("logEvents") {
            return self.many(events, |c, e| c.log_event_value(e));
        }
        if depth == 0
            && let Some(Value::Array(events)) = map.get("events")
        {
            return self.many(events, |c, e| c.log_event_value(e));
        }
        if depth == 0
            && let Some(Value::Array(rows)) = map.get("results")
            && map.contains_key("status")
        {
            return self.many(rows, |c, row| c.insights_row(row));
        }
        if is_log_event(map) {
            return self.log_event(map);
        }
        // Google Cloud Logging (GKE): the request as a Cloud Audit Logs entry.
        if map.contains_key("protoPayload") {
            return match map.get("protoPayload") {
                Some(Value::Object(_)) if self.keep_bodies => self.gke_value::<Value>(map),
                Some(Value::Object(_)) => self.gke_value::<IgnoredAny>(map),
                Some(other) => err(
                    SkipKind::InvalidField,
                    format!("field `protoPayload`: {}, expected an object", type_name(other)),
                ),
                None => err(SkipKind::NotAuditRecord, "a Cloud Logging entry without `protoPayload`"),
            };
        }
        if map.contains_key("protopayload_auditlog") {
            return err(
                SkipKind::Unsupported,
                "a Cloud Audit Logs row as BigQuery exports it (protopayload_auditlog); not supported: read the \
                 entries from a Cloud Storage sink or `gcloud logging read --format=json` instead",
            );
        }
        // A record a log store carries beside the fields it extracted from it (Splunk's CSV
        // export of `_raw` with `verb` or `auditID` columns) is the record, not the row of
        // those fields: unwrapped before the kind and field names below take the row for an
        // event (ingest review 50, item 1).
        if depth < 3
            && let Some((key, inner)) = WRAPPER_KEYS.iter().find_map(|k| Some((*k, map.get(*k)?)))
            && holds_json_object(inner)
        {
            return self.wrapped_record(key, inner, depth);
        }
        if let Some(why) = not_audit_event(map) {
            return err(SkipKind::NotAuditRecord, why);
        }
        match kind {
            Some(Value::String(k)) if k == "Event" => {
                return self.event_value(
                    &Value::Object(map.clone()),
                    InputFormat::K8sLog,
                    &RowOrigin::default(),
                );
            }
            Some(Value::String(k)) => {
                // Manifests given where audit logs are expected: say where they go.
                let hint = match k.as_str() {
                    "MutatingWebhookConfiguration"
                    | "ValidatingWebhookConfiguration"
                    | "FlowSchema"
                    | "PriorityLevelConfiguration"
                    | "Namespace" => "; give manifests to `diagnose --manifests`",
                    k if k.ends_with("List") => {
                        "; a List of webhook configurations or APF objects goes to `diagnose --manifests`"
                    }
                    _ => "",
                };
                return err(
                    SkipKind::NotAuditRecord,
                    format!(
                        "not an audit record: kind {:?} (expected \"Event\" or \"EventList\"){hint}",
                        short(k)
                    ),
                );
            }
            Some(other) => {
                return err(
                    SkipKind::NotAuditRecord,
                    format!(
                        "not an audit record: `kind` is {} {}, expected \"Event\"",
                        type_name(other),
                        short(&other.to_string())
                    ),
                );
            }
            None => {}
        }
        let api_is_audit =
            map.get("apiVersion").and_then(Value::as_str).is_some_and(|v| v.starts_with("audit.k8s.io/"));
        if api_is_audit
            || map.contains_key("auditID")
            || (map.contains_key("requestURI") && map.contains_key("verb"))
        {
            return self.event_value(&Value::Object(map.clone()), InputFormat::K8sLog, &RowOrigin::default());
        }
        // Log shippers and log stores keep the record under a key of their own: `log`
        // (Panther, Fluent Bit, Docker's json-file), `line` (Loki's `logcli --output=jsonl`),
        // `_raw` (Splunk, whose export puts each result under `result`). Here only what holds
        // no JSON object, named (the rest was unwrapped above).
        if depth < 3
            && let Some((key, inner)) = WRAPPER_KEYS.iter().find_map(|k| Some((*k, map.get(*k)?)))
        {
            return self.wrapped_record(key, inner, depth);
        }
        if depth < 3
            && let Some(Value::Object(result)) = map.get("result")
            && (map.contains_key("preview") || result.contains_key("_raw"))
        {
            return self.object_record(result, depth + 1);
        }
        if map.is_empty() {
            return err(SkipKind::NotAuditRecord, "not an audit record: an empty object `{}`");
        }
        let mut keys: Vec<&str> = map.keys().map(String::as_str).take(6).collect();
        keys.sort_unstable();
        if let Some(key) = ["verb", "requestURI"].into_iter().find(|k| map.contains_key(*k)) {
            return err(
                SkipKind::NotAuditRecord,
                format!(
                    "not an audit record: `{key}` without `auditID`, an audit `apiVersion`, or both \
                     `verb` and `requestURI` (keys: {})",
                    short(&keys.join(", "))
                ),
            );
        }
        err(
            SkipKind::NotAuditRecord,
            format!(
                "not an audit record: none of kind, apiVersion, auditID, verb, items, records, log_s, AuditId (keys: {})",
                short(&keys.join(", "))
            ),
        )
    }

    /// The record a log shipper or store keeps under `key` (one of [`WRAPPER_KEYS`]), as an
    /// object or as its JSON text; what is neither is named.
    fn wrapped_record(&mut self, key: &str, inner: &Value, depth: u8) -> Result<(), RecordError> {
        match inner {
            Value::Object(m) => self.object_record(m, depth + 1),
            Value::String(s) => match serde_json::from_str::<Value>(s.trim_end()) {
                Ok(Value::Object(m)) => self.object_record(&m, depth + 1),
                Ok(_) => err(
                    SkipKind::NotAuditRecord,
                    format!("not an audit record: `{key}` holds text that is not a JSON object"),
                ),
                Err(e) if s.trim_start().starts_with('{') => {
                    Err(in_string_column(json_error(&e), &format!("field `{key}`")))
                }
                Err(_) => err(
                    SkipKind::NotAuditRecord,
                    format!(
                        "not an audit record: `{key}` holds text that is not a JSON object: {}",
                        short(s)
                    ),
                ),
            },
            other => {
                err(SkipKind::NotAuditRecord, format!("not an audit record: `{key}` is {}", type_name(other)))
            }
        }
    }

    /// The audit record an Elasticsearch document holds (see [`elastic_document`]).
    fn elastic_document(&mut self, found: ElasticDocument<'_>, depth: u8) -> Result<(), RecordError> {
        match found {
            ElasticDocument::Text { field, text } => match serde_json::from_str::<Value>(text.trim_end()) {
                Ok(Value::Object(m)) => self.object_record(&m, depth + 1),
                Ok(other) => err(
                    SkipKind::NotAuditRecord,
                    format!("not an audit record: `{field}` holds JSON {}, not an object", type_name(&other)),
                ),
                Err(e) => Err(in_string_column(json_error(&e), &format!("field `{field}`"))),
            },
            ElasticDocument::Fields(audit) => {
                if audit.contains_key("protoPayload") {
                    return err(
                        SkipKind::Unsupported,
                        "an Elastic document of a GKE entry without `event.original`: Elastic's fields \
                         of it leave out the entry's time; not supported: index with the \
                         `preserve_original_event` tag, or read the entries from GKE",
                    );
                }
                let mut event = audit.clone();
                if let Some(Value::Object(annotations)) = event.get_mut("annotations") {
                    *annotations = std::mem::take(annotations)
                        .into_iter()
                        .map(|(k, v)| (elastic_annotation_key(&k), v))
                        .collect();
                }
                self.event_value(&Value::Object(event), InputFormat::K8sLog, &RowOrigin::default())
                    .map_err(|(k, m)| (k, format!("field `kubernetes.audit`: {m}")))
            }
            ElasticDocument::PlainMessage { message } => err(
                SkipKind::NotAuditRecord,
                format!(
                    "a Filebeat document whose `message` is text, not an audit event: {}",
                    short(message)
                ),
            ),
        }
    }

    /// A GKE Cloud Logging entry held as a JSON object: its event appended, or the field that
    /// kept it from being read named.
    fn gke_value<B>(&mut self, map: &Map<String, Value>) -> Result<(), RecordError>
    where
        B: Body + for<'de> serde::Deserialize<'de>,
    {
        let value = Value::Object(map.clone());
        let entry: gke::Entry<'_, B> = serde_path_to_error::deserialize(&value).map_err(|e| {
            let path = e.path().to_string();
            let (kind, message) = json_error(e.inner());
            (kind, format!("field `{path}`: {}", plain_types(&message)))
        })?;
        self.gke_entry(entry)
    }

    /// Appends the event a GKE entry describes.
    fn gke_entry<B: Body>(&mut self, entry: gke::Entry<'_, B>) -> Result<(), RecordError> {
        let (event, cluster) = entry.event()?;
        let origin = RowOrigin { cluster_resource_id: cluster.as_deref(), ..RowOrigin::default() };
        self.append(&event, InputFormat::Gke, &origin)
    }

    fn many(
        &mut self,
        items: &[Value],
        mut f: impl FnMut(&mut Self, &Value) -> Result<(), RecordError>,
    ) -> Result<(), RecordError> {
        let failed = failed_items(items.iter().map(|item| f(self, item)));
        self.item_errors(failed)
    }

    /// A Log Analytics query API response (`{"tables":[{"name","columns":[{"name","type"}],
    /// "rows":[[…]]}]}`, as the REST API and `az rest` return it): each row becomes an object
    /// keyed by its table's column names and is read as a row of an export (AKSAudit or
    /// AzureDiagnostics, by its columns).
    fn log_analytics_tables(&mut self, tables: &[Value]) -> Result<(), RecordError> {
        let mut rows = Vec::new();
        for table in tables {
            let Some(columns) = table.get("columns").and_then(Value::as_array) else {
                return err(SkipKind::InvalidField, "a Log Analytics table without `columns`");
            };
            let names: Vec<&str> =
                columns.iter().map(|c| c.get("name").and_then(Value::as_str).unwrap_or_default()).collect();
            for row in table.get("rows").and_then(Value::as_array).into_iter().flatten() {
                rows.push(match row {
                    // A row of another length than the columns is not read: its cells cannot be
                    // told apart (a short row would lose its verb, user and times unseen).
                    Value::Array(cells) if cells.len() != names.len() => Err(format!(
                        "a Log Analytics row of {} cells for {} columns",
                        cells.len(),
                        names.len()
                    )),
                    Value::Array(cells) => Ok(Value::Object(
                        names
                            .iter()
                            .zip(cells)
                            .filter(|(n, _)| !n.is_empty())
                            .map(|(n, v)| ((*n).to_owned(), v.clone()))
                            .collect(),
                    )),
                    other => {
                        Err(format!("a Log Analytics row is {}, expected a list of cells", type_name(other)))
                    }
                });
            }
        }
        let failed = failed_items(rows.iter().map(|r| match r {
            Ok(Value::Object(m)) => self.object_record(m, 1),
            Ok(other) => err(SkipKind::InvalidField, format!("a Log Analytics row is {}", type_name(other))),
            Err(why) => err(SkipKind::InvalidField, why.clone()),
        }));
        self.item_errors(failed)
    }

    /// One element of a CloudWatch Logs list (`events`, `logEvents`).
    pub(crate) fn log_event_value(&mut self, value: &Value) -> Result<(), RecordError> {
        match value {
            Value::Object(m) if m.contains_key("message") || m.contains_key("@message") => self.log_event(m),
            Value::Object(m) => {
                let mut keys: Vec<&str> = m.keys().map(String::as_str).take(6).collect();
                keys.sort_unstable();
                err(
                    SkipKind::InvalidField,
                    format!("a CloudWatch log event without `message` (keys: {})", short(&keys.join(", "))),
                )
            }
            other => err(
                SkipKind::InvalidField,
                format!("expected a CloudWatch log event object, found {}", type_name(other)),
            ),
        }
    }

    /// One row of Logs Insights results (`aws logs get-query-results`): an array of
    /// `{"field", "value"}` pairs, read as the log event they name (`@message`).
    pub(crate) fn insights_row(&mut self, row: &Value) -> Result<(), RecordError> {
        let Value::Array(fields) = row else {
            return err(
                SkipKind::InvalidField,
                format!("a Logs Insights result row is {}, expected a list of fields", type_name(row)),
            );
        };
        let map: Map<String, Value> = fields
            .iter()
            .filter_map(|f| Some((f.get("field")?.as_str()?.to_owned(), f.get("value")?.clone())))
            .collect();
        if !map.contains_key("@message") {
            return err(
                SkipKind::NotAuditRecord,
                "a Logs Insights result row without `@message` (the query must return it: `fields @message`)",
            );
        }
        self.log_event(&map)
    }

    /// One CloudWatch log event: its `message` (`@message` in Logs Insights) is the audit event
    /// as JSON text. EKS writes other control-plane logs (API server, authenticator, scheduler)
    /// to the same log group as text: those are named and skipped.
    fn log_event(&mut self, map: &Map<String, Value>) -> Result<(), RecordError> {
        let (key, message) = match (map.get("message"), map.get("@message")) {
            (Some(m), _) => ("message", m),
            (None, Some(m)) => ("@message", m),
            (None, None) => return err(SkipKind::InvalidField, "a CloudWatch log event without `message`"),
        };
        let stream = get_str(map, &["logStreamName", "@logStream", "logStream"]);
        match message {
            Value::String(text) => self.log_event_text(key, text, stream),
            v @ Value::Object(_) => self.event_value(v, InputFormat::CloudWatch, &RowOrigin::default()),
            other => err(
                SkipKind::InvalidField,
                format!("`{key}` is {}, expected the audit event as JSON text", type_name(other)),
            ),
        }
    }

    /// A CloudWatch log event's message (field `key`) as text: the audit event as JSON, or
    /// named and skipped (with the log `stream`, when the event names it).
    fn log_event_text(&mut self, key: &str, text: &str, stream: Option<&str>) -> Result<(), RecordError> {
        if text.trim_start().starts_with('{') {
            return self
                .event_text(text.as_bytes(), InputFormat::CloudWatch, &RowOrigin::default())
                .map_err(|e| in_string_column(e, &format!("field `{key}`")));
        }
        if text.starts_with("CWL CONTROL MESSAGE") {
            return err(
                SkipKind::NotAuditRecord,
                format!("a CloudWatch Logs control message, not an audit event: {}", short(text)),
            );
        }
        let stream = stream.map(|s| format!(" (log stream {})", short(s))).unwrap_or_default();
        err(
            SkipKind::NotAuditRecord,
            format!(
                "a CloudWatch log event whose `{key}` is text, not an audit event{stream}: {}",
                short(text)
            ),
        )
    }

    fn event_list(&mut self, map: &Map<String, Value>) -> Result<(), RecordError> {
        match map.get("items") {
            None | Some(Value::Null) => Ok(()),
            Some(Value::Array(items)) => {
                let origin = RowOrigin {
                    list_api_version: map.get("apiVersion").and_then(Value::as_str).filter(|v| !v.is_empty()),
                    ..RowOrigin::default()
                };
                self.many(items, |c, item| c.event_value(item, InputFormat::EventList, &origin))
            }
            Some(other) => err(
                SkipKind::InvalidField,
                format!("EventList `items` is {}, expected a list", type_name(other)),
            ),
        }
    }

    /// One diagnostic-settings record: `category`, `properties.log` (string or object),
    /// `properties.pod`, `resourceId`, `time`.
    pub(crate) fn diagnostic_record(&mut self, map: &Map<String, Value>) -> Result<(), RecordError> {
        let category = get_str_ci(map, "category");
        check_category(category)?;
        let props = match map.get("properties") {
            Some(Value::Object(p)) => std::borrow::Cow::Borrowed(p),
            Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
                Ok(Value::Object(p)) => std::borrow::Cow::Owned(p),
                _ => {
                    return err(SkipKind::InvalidField, "`properties` is a string that is not a JSON object");
                }
            },
            Some(other) => {
                return err(
                    SkipKind::InvalidField,
                    format!("`properties` is {}, expected an object", type_name(other)),
                );
            }
            None => return err(SkipKind::InvalidField, "diagnostic record without `properties`"),
        };
        let time = opt_time(map, &["time", "Time", "TimeGenerated"])?;
        let origin = RowOrigin {
            time_generated: time,
            azure_category: category,
            cluster_resource_id: get_str_ci(map, "resourceId"),
            apiserver_pod: props.get("pod").and_then(Value::as_str),
            list_api_version: None,
        };
        match props.get("log") {
            Some(Value::String(s)) => self.diagnostic_log_text(s, &origin),
            Some(v @ Value::Object(_)) => self.event_value(v, InputFormat::DiagnosticEnvelope, &origin),
            Some(other) => err(
                SkipKind::InvalidField,
                format!("`properties.log` is {}, expected the event as a string or object", type_name(other)),
            ),
            None => err(SkipKind::InvalidField, "diagnostic record without `properties.log`"),
        }
    }

    /// One record a JSON document's or array's scan cut out ([`super::lists`]), at `location`:
    /// read as the `serde_json` streamer ([`super::document`]) reads it in its place, on the
    /// borrowed paths where there is one.
    pub(crate) fn list_item(&mut self, kind: &lists::Kind, bytes: &[u8], location: Location) {
        let object = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        let result = match kind {
            lists::Kind::Element => return self.json_record(bytes, location),
            lists::Kind::Event(api_version) => {
                let origin = RowOrigin { list_api_version: api_version.as_deref(), ..RowOrigin::default() };
                if object {
                    self.event_text(bytes, InputFormat::EventList, &origin)
                } else {
                    parse_value(bytes).and_then(|v| self.event_value(&v, InputFormat::EventList, &origin))
                }
            }
            lists::Kind::Record => match serde_json::from_slice::<diagnostic::Record<'_>>(bytes) {
                Ok(record) if self.simd => self.diagnostic_borrowed(record),
                _ => parse_value(bytes).and_then(|v| match &v {
                    Value::Object(m) => self.diagnostic_record(m),
                    _ => err(SkipKind::InvalidField, "expected a diagnostic record object"),
                }),
            },
            lists::Kind::LogEvent => match serde_json::from_slice::<cloudwatch::LogEvent<'_>>(bytes) {
                Ok(event) if self.simd => self.log_event_borrowed(&event),
                _ => parse_value(bytes).and_then(|v| self.log_event_value(&v)),
            },
            lists::Kind::InsightsRow => parse_value(bytes).and_then(|v| self.insights_row(&v)),
            lists::Kind::Document => parse_value(bytes).and_then(|v| self.value_record(v)),
            lists::Kind::Beside(beside) => match serde_json::from_slice::<IgnoredAny>(beside) {
                Ok(_) => Ok(()),
                // Its places are of the document with its lists left out: not said.
                Err(e) => err(
                    SkipKind::Malformed,
                    format!(
                        "invalid JSON in this document beside its lists (what they hold was read): {}",
                        strip_position(&e.to_string())
                    ),
                ),
            },
        };
        if let Err((kind, message)) = result {
            self.skip(location, kind, message);
        }
    }

    /// A CloudWatch log event read borrowed: what [`Collector::log_event`] does with it.
    fn log_event_borrowed(&mut self, event: &cloudwatch::LogEvent<'_>) -> Result<(), RecordError> {
        let stream = event.stream.as_ref().map(|s| s.0.as_ref());
        self.log_event_text("message", &event.message.0, stream)
    }

    /// A line of a log service's records read borrowed: a CloudWatch Logs subscription payload
    /// ([`cloudwatch`]), an Event Hub message's batch of Azure's diagnostic records
    /// (`{"records": […]}`) or one such record (a storage account's `PT1H.json` line;
    /// [`diagnostic`]). `None` when it is none of them or could read differently than as a
    /// `Value`.
    fn borrowed_line(&mut self, key: Option<&[u8]>, bytes: &[u8]) -> Option<Result<(), RecordError>> {
        if key.is_some_and(scan::is_cloudwatch_payload_key) {
            let payload = serde_json::from_slice::<cloudwatch::Payload<'_>>(bytes).ok()?;
            let failed = failed_items(payload.events.iter().map(|e| self.log_event_borrowed(e)));
            return Some(self.item_errors(failed));
        }
        if key == Some(b"records".as_slice()) {
            let batch = serde_json::from_slice::<diagnostic::Batch<'_>>(bytes).ok()?;
            let failed = failed_items(batch.records.into_iter().map(|r| self.diagnostic_borrowed(r)));
            return Some(self.item_errors(failed));
        }
        if !key.is_some_and(diagnostic::is_record_key) {
            return None;
        }
        let record = serde_json::from_slice::<diagnostic::Record<'_>>(bytes).ok()?;
        // What `object_record` takes for a diagnostic record.
        (record.category.is_some() && record.properties.is_some()).then(|| self.diagnostic_borrowed(record))
    }

    /// One diagnostic record read borrowed ([`diagnostic::Record`]): what
    /// [`Collector::diagnostic_record`] does with the same record as a `Value`.
    fn diagnostic_borrowed(&mut self, record: diagnostic::Record<'_>) -> Result<(), RecordError> {
        fn text<'t>(t: &'t Option<diagnostic::Text<'_>>) -> Option<&'t str> {
            t.as_ref().map(|t| t.0.as_ref()).filter(|s| !s.is_empty())
        }
        let category = text(&record.category);
        check_category(category)?;
        let Some(props) = record.properties else {
            return err(SkipKind::InvalidField, "diagnostic record without `properties`");
        };
        let time = match text(&record.time) {
            Some(t) => time_of("time", t)?,
            None => None,
        };
        let origin = RowOrigin {
            time_generated: time,
            azure_category: category,
            cluster_resource_id: text(&record.resource_id),
            apiserver_pod: props.pod.as_ref().map(|p| p.0.as_ref()),
            list_api_version: None,
        };
        match &props.log {
            Some(log) => self.diagnostic_log_text(&log.0, &origin),
            None => err(SkipKind::InvalidField, "diagnostic record without `properties.log`"),
        }
    }

    /// A diagnostic record's `properties.log` as text: the event, read with `origin`.
    fn diagnostic_log_text(&mut self, log: &str, origin: &RowOrigin<'_>) -> Result<(), RecordError> {
        self.event_text(log.as_bytes(), InputFormat::DiagnosticEnvelope, origin)
            .map_err(|e| in_string_column(e, "field `properties.log`"))
    }

    /// An `AzureDiagnostics` line read from simd-json's tape: the checks and the origin of
    /// [`Collector::azure_diagnostics_row`], then its event.
    fn azure_tape_row(&mut self, row: &tape::AzureRow) -> Result<(), RecordError> {
        fn non_empty(v: &Option<String>) -> Option<&str> {
            v.as_deref().filter(|s| !s.is_empty())
        }
        let category = non_empty(&row.category);
        check_category(category)?;
        let time = match non_empty(&row.time_generated) {
            Some(t) => time_of("TimeGenerated", t)?,
            None => None,
        };
        let origin = RowOrigin {
            time_generated: time,
            azure_category: category,
            cluster_resource_id: non_empty(&row.resource_id),
            apiserver_pod: non_empty(&row.pod),
            list_api_version: None,
        };
        self.event_text(&row.log, InputFormat::AzureDiagnostics, &origin)
            .map_err(|e| in_string_column(e, "column `log_s`"))
    }

    /// One `AzureDiagnostics` row: `Category`, `log_s`, `TimeGenerated`, `ResourceId`, `pod_s`.
    pub(crate) fn azure_diagnostics_row(
        &mut self,
        map: &Map<String, Value>,
        format: InputFormat,
    ) -> Result<(), RecordError> {
        let category = get_str_ci(map, "Category");
        check_category(category)?;
        let time = opt_time(map, &["TimeGenerated"])?;
        let origin = RowOrigin {
            time_generated: time,
            azure_category: category,
            cluster_resource_id: get_str(map, &["ResourceId", "_ResourceId", "resourceId"]),
            apiserver_pod: get_str(map, &["pod_s", "Pod_s", "PodName"]),
            list_api_version: None,
        };
        match map.get("log_s") {
            Some(Value::String(s)) => self
                .event_text(s.as_bytes(), format, &origin)
                .map_err(|e| in_string_column(e, "column `log_s`")),
            Some(v @ Value::Object(_)) => self.event_value(v, format, &origin),
            Some(other) => err(
                SkipKind::InvalidField,
                format!("`log_s` is {}, expected the event as a JSON string", type_name(other)),
            ),
            None => err(SkipKind::InvalidField, "row without `log_s`"),
        }
    }

    /// One resource-specific `AKSAudit` / `AKSAuditAdmin` row; dynamic columns may be nested
    /// JSON or JSON-encoded strings.
    pub(crate) fn aks_row(
        &mut self,
        map: &Map<String, Value>,
        format: InputFormat,
    ) -> Result<(), RecordError> {
        let category = aks_category(get_str(map, &["Type", "Category"]));
        let mut event = Map::new();
        event.insert("kind".into(), Value::String("Event".into()));
        for (column, field) in AKS_TEXT_COLUMNS {
            match map.get(column) {
                None | Some(Value::Null) => {}
                Some(Value::String(s)) if s.is_empty() => {}
                Some(v @ Value::String(_)) => {
                    event.insert(field.into(), v.clone());
                }
                Some(other) => {
                    return err(
                        SkipKind::InvalidField,
                        format!(
                            "column `{column}`: {} {}, expected a string",
                            type_name(other),
                            short(&other.to_string())
                        ),
                    );
                }
            }
        }
        for (column, field) in AKS_DYNAMIC_COLUMNS {
            if let Some(v) = dynamic(map.get(column))
                .map_err(|m| (SkipKind::InvalidField, format!("column `{column}`: {m}")))?
            {
                event.insert(field.into(), v);
            }
        }
        let time = opt_time(map, &["TimeGenerated"])?;
        let origin = RowOrigin {
            time_generated: time,
            azure_category: category,
            cluster_resource_id: get_str(map, &["_ResourceId", "ResourceId"]),
            apiserver_pod: get_str(map, &["PodName"]),
            list_api_version: None,
        };
        self.event_value(&Value::Object(event), format, &origin)
    }
}

/// A dynamic column: nested JSON, a JSON-encoded string, or empty (absent).
fn dynamic(v: Option<&Value>) -> Result<Option<Value>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Null) => Ok(None),
            Ok(v) => Ok(Some(v)),
            Err(e) => {
                let (_, message) = in_string_column(json_error(&e), "");
                Err(message.trim_start_matches(": ").to_owned())
            }
        },
        Some(v) => Ok(Some(v.clone())),
    }
}

/// The Azure category an `AKSAudit` row's `Type` (or `Category`) names.
fn aks_category(table: Option<&str>) -> Option<&'static str> {
    match table {
        Some("AKSAudit" | "kube-audit") => Some("kube-audit"),
        Some("AKSAuditAdmin" | "kube-audit-admin") => Some("kube-audit-admin"),
        _ => None,
    }
}

/// The most a Lambda's `awslogs.data` may decompress to (Lambda's own limit on an event is
/// 6 MB; more is not a CloudWatch payload).
const LAMBDA_PAYLOAD_MAX: u64 = 64 << 20;

/// The subscription payload of a Lambda's CloudWatch Logs event (`{"awslogs": {"data":
/// "<base64 of the gzipped payload>"}}`).
fn lambda_payload(awslogs: &Map<String, Value>) -> Result<Map<String, Value>, RecordError> {
    use base64::Engine as _;
    use std::io::Read as _;
    let data = match awslogs.get("data") {
        Some(Value::String(d)) => d,
        Some(other) => {
            return err(
                SkipKind::InvalidField,
                format!("`awslogs.data` is {}, expected base64 text", type_name(other)),
            );
        }
        None => return err(SkipKind::InvalidField, "`awslogs` without `data`"),
    };
    let gzipped = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|e| (SkipKind::InvalidField, format!("`awslogs.data` is not base64: {e}")))?;
    let mut text = Vec::new();
    flate2::read::MultiGzDecoder::new(gzipped.as_slice())
        .take(LAMBDA_PAYLOAD_MAX + 1)
        .read_to_end(&mut text)
        .map_err(|e| (SkipKind::InvalidField, format!("`awslogs.data` is not gzip: {e}")))?;
    if text.len() as u64 > LAMBDA_PAYLOAD_MAX {
        return err(
            SkipKind::TooLong,
            format!("`awslogs.data` decompresses to more than {} MiB", LAMBDA_PAYLOAD_MAX >> 20),
        );
    }
    match serde_json::from_slice::<Value>(&text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => err(
            SkipKind::InvalidField,
            format!("`awslogs.data` holds {}, expected a subscription payload object", type_name(&other)),
        ),
        Err(e) => err(SkipKind::InvalidField, format!("`awslogs.data` is not JSON once decompressed: {e}")),
    }
}

/// What follows a leading RFC 3339 timestamp and the space after it (`2024-03-01T10:00:00.000Z
/// {…}`), when `line` starts with one; past the stream's labels when Loki's `logcli` printed
/// them between the two (`2024-03-01T10:00:00Z {job="audit"} {…}`).
pub(crate) fn timestamp_prefix(line: &[u8]) -> Option<&[u8]> {
    time_prefix(line).map(after_loki_labels)
}

/// `rest` past a Loki label set and the spaces that pad it (`{job="audit", pod="a"}`, or `{}`
/// when every label is common to the streams and printed apart); `rest` itself when it does not
/// start with one. A JSON object starts `{"`, a label set with a label name or `}`.
fn after_loki_labels(rest: &[u8]) -> &[u8] {
    let opens_labels = rest.first() == Some(&b'{')
        && rest.get(1).is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_' || *b == b'}');
    if !opens_labels {
        return rest;
    }
    let (mut quoted, mut escaped) = (false, false);
    for (i, &b) in rest.iter().enumerate().skip(1) {
        match (quoted, escaped, b) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') => quoted = false,
            (true, false, _) => {}
            (false, _, b'"') => quoted = true,
            (false, _, b'}') => {
                let after = &rest[i + 1..];
                let line = after.trim_ascii_start();
                // A label set is followed by padding and the line; `{}` alone is an empty object.
                return if line.len() < after.len() && !line.is_empty() { line } else { rest };
            }
            (false, _, _) => {}
        }
    }
    rest
}

/// What follows a leading RFC 3339 timestamp and the space after it.
pub(super) fn time_prefix(line: &[u8]) -> Option<&[u8]> {
    if !line.first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let space = line.iter().take(40).position(|&b| b == b' ')?;
    let (stamp, rest) = (&line[..space], &line[space + 1..]);
    let looks_like_time = stamp.len() >= 20
        && stamp[4] == b'-'
        && stamp[7] == b'-'
        && stamp[10] == b'T'
        && stamp.iter().all(|b| b.is_ascii_digit() || b"-:.TZ+".contains(b));
    looks_like_time.then_some(rest)
}

/// Whether `map` is one CloudWatch log event: its `message` (or Logs Insights' `@message`)
/// beside the event's time or identity. An audit event has no top-level `message`.
fn is_log_event(map: &Map<String, Value>) -> bool {
    (map.contains_key("message") || map.contains_key("@message"))
        && [
            "timestamp",
            "@timestamp",
            "ingestionTime",
            "eventId",
            "id",
            "logStreamName",
            "@logStream",
            "@ptr",
        ]
        .iter()
        .any(|k| map.contains_key(*k))
}

/// Where an Elasticsearch document keeps the audit record, in the order read: the line as it
/// was shipped, kept as `event.original` (Elastic Agent's `preserve_original_event` tag); the
/// fields Elastic's Kubernetes integration parsed it into, `kubernetes.audit`; Filebeat's
/// `message`, the line unparsed.
enum ElasticDocument<'m> {
    Text {
        field: &'static str,
        text: &'m str,
    },
    Fields(&'m Map<String, Value>),
    /// A Filebeat document whose `message` is not JSON: another log shipped beside the audit log.
    PlainMessage {
        message: &'m str,
    },
}

/// The audit record of an Elasticsearch document, if `map` is one (see [`ElasticDocument`]).
/// A Beat's document is told by ECS's fields beside `@timestamp`.
fn elastic_document(map: &Map<String, Value>) -> Option<ElasticDocument<'_>> {
    if let Some(Value::String(text)) = map.get("event").and_then(|e| e.get("original"))
        && text.trim_start().starts_with('{')
    {
        return Some(ElasticDocument::Text { field: "event.original", text });
    }
    if let Some(Value::Object(audit)) = map.get("kubernetes").and_then(|k| k.get("audit")) {
        return Some(ElasticDocument::Fields(audit));
    }
    let beat = map.contains_key("@timestamp")
        && ["ecs", "agent", "input", "data_stream"].iter().any(|k| map.contains_key(*k));
    match map.get("message") {
        Some(Value::String(text)) if beat && text.trim_start().starts_with('{') => {
            Some(ElasticDocument::Text { field: "message", text })
        }
        Some(Value::String(message)) if beat => Some(ElasticDocument::PlainMessage { message }),
        _ => None,
    }
}

/// An annotation key as the API server wrote it, from the key Elastic's Kubernetes integration
/// stores: that pipeline replaces every `.` of a key by `_` (`authorization_k8s_io/decision`).
/// A key's prefix is a DNS subdomain, which has no `_`, so the prefix is restored exactly; a
/// `.` in the name after the `/` cannot be told from a `_` and stays `_`.
fn elastic_annotation_key(key: &str) -> String {
    match key.split_once('/') {
        Some((prefix, name)) => format!("{}/{name}", prefix.replace('_', ".")),
        None => key.to_owned(),
    }
}

/// Whether an object is an `AKSAudit` row (the tape's `aks_columns` decides the same way).
fn is_aks_row(map: &Map<String, Value>) -> bool {
    map.contains_key("AuditId")
        || (map.contains_key("Verb") && (map.contains_key("RequestUri") || map.contains_key("ObjectRef")))
        || matches!(map.get("Type").and_then(Value::as_str), Some("AKSAudit" | "AKSAuditAdmin"))
}

/// The bad items of a record after its first (see [`Collector::more_items`]): the first
/// messages, and the kinds of the others counted, so that a line of millions of bad items
/// holds no more than a few messages.
#[derive(Debug, Default)]
struct ItemErrors {
    examples: Vec<RecordError>,
    unnamed: BTreeMap<SkipKind, u64>,
}

/// The items of a record holding many that could not be read, numbered from 0, with their
/// errors: the results are read as they come (each item is appended as it is read), and only
/// the failures are kept, so a record whose items are all good allocates nothing.
fn failed_items(results: impl IntoIterator<Item = Result<(), RecordError>>) -> Vec<(usize, RecordError)> {
    results.into_iter().enumerate().filter_map(|(i, r)| r.err().map(|e| (i, e))).collect()
}

impl Collector {
    /// The error of a record holding many items, given those of its [`failed_items`]: its first
    /// bad item's, numbered; the others are kept in [`Collector::more_items`] for the skip of
    /// that error to count. `Ok` when no item was bad.
    fn item_errors(&mut self, failed: Vec<(usize, RecordError)>) -> Result<(), RecordError> {
        let mut failed =
            failed.into_iter().map(|(i, (kind, message))| (kind, format!("item {}: {message}", i + 1)));
        let Some(first) = failed.next() else { return Ok(()) };
        for (kind, message) in failed {
            if self.more_items.examples.len() < self.max_examples {
                self.more_items.examples.push((kind, message));
            } else {
                *self.more_items.unnamed.entry(kind).or_default() += 1;
            }
        }
        Err(first)
    }
}

fn check_category(category: Option<&str>) -> Result<(), RecordError> {
    match category {
        None | Some("kube-audit") | Some("kube-audit-admin") => Ok(()),
        Some(other) => err(
            SkipKind::NotAuditRecord,
            format!("category {:?} is not an audit category (kube-audit, kube-audit-admin)", short(other)),
        ),
    }
}

fn get_str<'m>(map: &'m Map<String, Value>, keys: &[&str]) -> Option<&'m str> {
    keys.iter().find_map(|k| map.get(*k).and_then(Value::as_str)).filter(|s| !s.is_empty())
}

/// A string field by name, ignoring ASCII case (Azure spells `category` both ways).
fn get_str_ci<'m>(map: &'m Map<String, Value>, key: &str) -> Option<&'m str> {
    map.get(key)
        .or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The first of `keys` that holds a time; `None` when none does (absent, null or empty). A
/// value of another type is refused as text that is no time is, named and shown (a number
/// there, `"time":5`, was taken for no time at all, while `"soon"` was named).
fn opt_time(map: &Map<String, Value>, keys: &[&str]) -> Result<Option<i64>, RecordError> {
    for k in keys {
        match map.get(*k) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.is_empty() => {}
            Some(Value::String(s)) => return time_of(k, s),
            Some(other) => {
                return err(
                    SkipKind::BadTimestamp,
                    format!(
                        "field `{k}`: unreadable timestamp {} ({}, not text)",
                        short(&other.to_string()),
                        type_name(other)
                    ),
                );
            }
        }
    }
    Ok(None)
}

fn time_of(field: &str, s: &str) -> Result<Option<i64>, RecordError> {
    parse_nanos(s).map_err(|_| (SkipKind::BadTimestamp, unreadable(field, s)))
}

/// Drops serde_json's trailing " at line N column M" (or its [`record_position`] form).
fn strip_position(message: &str) -> String {
    if let Some((base, _, _)) = serde_position(message) {
        return base.to_owned();
    }
    match message.rfind(" at ") {
        Some(i) if message[i..].starts_with(" at column ") || message[i..].ends_with(" of the record") => {
            message[..i].to_owned()
        }
        _ => message.to_owned(),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        // As serde's messages name a JSON array once made plain (see `plain_types`).
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::timestamp_prefix;

    #[test]
    fn a_timestamp_and_lokis_labels_are_skipped_before_the_line() {
        let after =
            |line: &str| timestamp_prefix(line.as_bytes()).map(|r| String::from_utf8_lossy(r).into_owned());
        assert_eq!(
            after(r#"2024-03-01T10:00:00.000Z {"kind":"Event"}"#).as_deref(),
            Some(r#"{"kind":"Event"}"#)
        );
        assert_eq!(
            after(r#"2024-03-01T10:00:00Z {job="a", pod="b"}  {"kind":"Event"}"#).as_deref(),
            Some(r#"{"kind":"Event"}"#)
        );
        // A `}` or an escaped quote inside a label's value does not end the set.
        assert_eq!(
            after(r#"2024-03-01T10:00:00+02:00 {path="/a}b", q="say \"}\""} {"kind":"Event"}"#).as_deref(),
            Some(r#"{"kind":"Event"}"#)
        );
        assert_eq!(
            after(r#"2024-03-01T10:00:00Z {} {"kind":"Event"}"#).as_deref(),
            Some(r#"{"kind":"Event"}"#)
        );
        // An empty object is a line of its own, and text after the labels is what it is.
        assert_eq!(after("2024-03-01T10:00:00Z {}").as_deref(), Some("{}"));
        assert_eq!(after(r#"2024-03-01T10:00:00Z {job="a"} I0301 text"#).as_deref(), Some("I0301 text"));
        // Labels never closed: the rest as it is.
        assert_eq!(
            after(r#"2024-03-01T10:00:00Z {job="a" {"kind":"Event"}"#).as_deref(),
            Some(r#"{job="a" {"kind":"Event"}"#)
        );
        assert_eq!(after(r#"{"kind":"Event"}"#), None);
    }
}
