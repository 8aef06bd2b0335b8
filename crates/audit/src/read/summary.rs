//! What a read found: per file, the detected format, records read and records skipped.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::InputFormat;

/// Where in a file a record was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Location {
    /// 1-based line of a line-oriented file (NDJSON, CSV, a JSON document's syntax error).
    Line(u64),
    /// 1-based element of a JSON array, or of an `items` / `records` list.
    Item(u64),
    /// 1-based document of a YAML stream.
    Document(u64),
    /// The file as a whole, not one of its records: a symbolic link to nothing, a file that
    /// cannot be read or is not an audit log (shown without a place: it has no line).
    File,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(n) => write!(f, "line {n}"),
            Location::Item(n) => write!(f, "record {n}"),
            Location::Document(n) => write!(f, "document {n}"),
            Location::File => f.write_str("the whole file"),
        }
    }
}

/// Why a record was skipped: the kinds `stats` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SkipKind {
    /// Not valid JSON (or CSV / YAML) at all: truncated, garbage, binary.
    Malformed,
    /// Valid JSON, but not an audit record of any known shape.
    NotAuditRecord,
    /// An audit record with a field of the wrong type or shape.
    InvalidField,
    /// A timestamp field present but unreadable.
    BadTimestamp,
    /// A line longer than the reader accepts.
    TooLong,
    /// A known log format that is not read (Cloud Audit Logs rows as BigQuery exports them).
    Unsupported,
}

impl SkipKind {
    /// A stable lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            SkipKind::Malformed => "malformed",
            SkipKind::NotAuditRecord => "not-audit-record",
            SkipKind::InvalidField => "invalid-field",
            SkipKind::BadTimestamp => "bad-timestamp",
            SkipKind::TooLong => "too-long",
            SkipKind::Unsupported => "unsupported",
        }
    }
}

impl fmt::Display for SkipKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One skipped record, kept as an example.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedRecord {
    /// The file, as named on the command line (or found under a named directory).
    pub file: String,
    /// Where in the file.
    pub location: Location,
    /// The kind of problem.
    pub kind: SkipKind,
    /// What was wrong, in plain words.
    pub message: String,
}

impl fmt::Display for SkippedRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location {
            // A problem of the file, not of a record in it: no place to name.
            Location::File => write!(f, "{}: {}", self.file, self.message),
            at => write!(f, "{}: {}: {}", self.file, at, self.message),
        }
    }
}

/// How a file was compressed (detected from its magic bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Plain.
    #[default]
    None,
    /// gzip (one or more members).
    Gzip,
    /// Zstandard.
    Zstd,
}

impl Compression {
    /// A stable lower-case name: `none`, `gzip`, `zstd`.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// How the records of a file are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Container {
    /// One JSON record per line.
    JsonLines,
    /// One JSON document (possibly pretty-printed): an object, or an object with `items` /
    /// `records`.
    JsonDocument,
    /// One JSON array of records.
    JsonArray,
    /// JSON objects one after another, several on a line (Firehose's CloudWatch payloads).
    JsonSequence,
    /// CSV with a header line.
    Csv,
    /// One or more YAML documents.
    Yaml,
    /// An Avro object container file (Azure Event Hubs Capture): each message's `Body` a
    /// record.
    Avro,
    /// A container log in the CRI format (kubelet, containerd, CRI-O: `/var/log/pods`), each
    /// line `TIME STREAM TAG CONTENT`; the content of the lines the runtime split (tag `P`)
    /// joined, then read as a JSON line.
    CriLog,
}

impl Container {
    /// A stable lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Container::JsonLines => "json-lines",
            Container::JsonDocument => "json-document",
            Container::JsonArray => "json-array",
            Container::JsonSequence => "json-sequence",
            Container::Csv => "csv",
            Container::Yaml => "yaml",
            Container::Avro => "avro",
            Container::CriLog => "cri-log",
        }
    }
}

/// What reading one file found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSummary {
    /// The file, as named on the command line (or found under a named directory); `-` is stdin.
    pub file: String,
    /// Bytes read from disk (compressed size for compressed files; for a file inside a tar
    /// archive, its bytes as stored in the archive).
    pub bytes: u64,
    /// Compression detected from the content (the outer layer of a file compressed twice).
    pub compression: Compression,
    /// Compression found inside [`Self::compression`] and undone too, outermost first: `[zstd]`
    /// for a zstd stream gzipped again (see [`Self::compression_label`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inner_compression: Vec<Compression>,
    /// How records are laid out, when the file was recognised.
    pub container: Option<Container>,
    /// Events read per input format (a file of JSON lines may mix formats).
    pub formats: BTreeMap<InputFormat, u64>,
    /// Events read (rows handed to the sink).
    pub events: u64,
    /// Of those, events with neither `requestReceivedTimestamp` nor `stageTimestamp` (kept
    /// with null timestamps).
    pub without_timestamps: u64,
    /// Records skipped.
    pub skipped: u64,
    /// Records skipped per kind.
    pub skipped_by_kind: BTreeMap<SkipKind, u64>,
    /// The first few skipped records (see [`super::ReadOptions::max_examples`]).
    pub examples: Vec<SkippedRecord>,
    /// Set when nothing of the file was read: why (it is not an audit log, or it is an entry
    /// of a directory that cannot be read).
    pub not_audit: Option<String>,
    /// Set when the file was read only in part: a read error (a corrupt or cut gzip or zstd
    /// stream, an I/O error) stopped the read at this place, and the rest of the file was not
    /// read; or the file ends inside a JSON array or document after a whole record (cut short
    /// there, its closing bracket missing), every record in it read. Not a skipped record: it
    /// is reported on its own, never capped among examples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<SkippedRecord>,
    /// NUL bytes dropped where a line or the file starts, and the lines after them read: what
    /// a log truncated in place while its writer went on writing at its old offset leaves
    /// (logrotate's `copytruncate`), or zeros a crash left at a file's end before it grew.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub nul_bytes: u64,
    /// JSON lines whose record was followed by a comma (`{…},`: lines copied out of a JSON
    /// array), read without it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub trailing_commas: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl FileSummary {
    /// Why nothing of the file was read, for a sentence that already says "not an audit log":
    /// [`Self::not_audit`] without its own leading "not an audit format: ".
    pub fn why_not_audit(&self) -> Option<&str> {
        self.not_audit.as_deref().map(|why| why.strip_prefix("not an audit format: ").unwrap_or(why))
    }

    /// The compression undone, innermost first: `gzip`, `zstd in gzip` (a zstd stream
    /// gzipped again); `None` for a file read as it is.
    pub fn compression_label(&self) -> Option<String> {
        if self.compression == Compression::None {
            return None;
        }
        let mut layers: Vec<&str> = self.inner_compression.iter().rev().map(|c| c.name()).collect();
        layers.push(self.compression.name());
        Some(layers.join(" in "))
    }

    /// The format most of its events came in (ties: the first in [`InputFormat`] order).
    pub fn format(&self) -> Option<InputFormat> {
        let mut best: Option<(InputFormat, u64)> = None;
        for (&f, &n) in &self.formats {
            if best.is_none_or(|(_, m)| n > m) {
                best = Some((f, n));
            }
        }
        best.map(|(f, _)| f)
    }

    pub(crate) fn skip(&mut self, max_examples: usize, rec: SkippedRecord) {
        self.skipped += 1;
        *self.skipped_by_kind.entry(rec.kind).or_default() += 1;
        if self.examples.len() < max_examples {
            self.examples.push(rec);
        }
    }
}

/// What a whole read found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadSummary {
    /// One entry per file read, in reading order.
    pub files: Vec<FileSummary>,
}

impl ReadSummary {
    /// Events read over all files.
    pub fn events(&self) -> u64 {
        self.files.iter().map(|f| f.events).sum()
    }

    /// Records skipped over all files.
    pub fn skipped(&self) -> u64 {
        self.files.iter().map(|f| f.skipped).sum()
    }

    /// Events without any timestamp over all files.
    pub fn without_timestamps(&self) -> u64 {
        self.files.iter().map(|f| f.without_timestamps).sum()
    }

    /// Files read only in part (see [`FileSummary::incomplete`]).
    pub fn incomplete(&self) -> impl Iterator<Item = &FileSummary> {
        self.files.iter().filter(|f| f.incomplete.is_some())
    }

    /// Files that were not audit logs at all.
    pub fn not_audit(&self) -> impl Iterator<Item = &FileSummary> {
        self.files.iter().filter(|f| f.not_audit.is_some())
    }
}
