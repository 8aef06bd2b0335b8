//! Avro object container files, as Azure Event Hubs Capture writes them to Blob Storage or Data
//! Lake (`{namespace}/{hub}/{partition}/{yyyy}/{mm}/{dd}/{hh}/{mm}/{ss}.avro`). Each record is
//! one Event Hub message: `SequenceNumber`, `Offset`, `EnqueuedTimeUtc`, two property maps and
//! the message itself, `Body`, as bytes. AKS's diagnostic settings send the audit log to an
//! Event Hub as `{"records": […]}` messages, so each `Body` is read as a JSON record of its own.
//! The file is decoded by [apache-avro](https://crates.io/crates/apache-avro), message by
//! message, resolved to a schema of `Body` alone, on the reading thread; the bodies are read in
//! chunks on the rayon pool, as lines are ([`super::lines`]).

use std::io::{self, BufReader, Read};

use apache_avro::types::Value as Avro;
use apache_avro::{Reader, Schema};

use super::input::Peeked;
use super::lines::{Chunk, ChunkSource, Items, Message, keep_spare, read_chunks};
use super::records::Collector;
use super::summary::{FileSummary, Location, SkipKind};
use super::{BatchSink, ReadError, ReadOptions};

/// The reader's schema: Event Hubs Capture's `EventData` record, its `Body` alone. A writer's
/// `Body` of `bytes` or `string`, in a union with `null` or not, resolves to it.
const CAPTURE_BODY: &str = r#"{"type": "record", "name": "EventData", "namespace": "Microsoft.ServiceBus.Messaging", "fields": [{"name": "Body", "type": ["null", "bytes"]}]}"#;

pub(super) fn read_avro(
    stream: Peeked<'_>,
    opts: &ReadOptions,
    sink: &mut dyn BatchSink,
    file: &mut FileSummary,
) -> Result<(), ReadError> {
    let schema = match Schema::parse_str(CAPTURE_BODY) {
        Ok(s) => s,
        Err(e) => {
            file.not_audit = Some(format!("Avro: the reader's schema does not parse: {e}"));
            return Ok(());
        }
    };
    let reader =
        match Reader::builder(BufReader::with_capacity(1 << 20, stream)).reader_schema(&schema).build() {
            Ok(r) => r,
            Err(e) => {
                file.not_audit = Some(format!("an Avro file whose header does not read: {e}"));
                return Ok(());
            }
        };
    let has_body = match reader.writer_schema() {
        Schema::Record(r) => r.lookup.contains_key("Body"),
        _ => false,
    };
    if !has_body {
        file.not_audit = Some(
            "an Avro file that is not Event Hubs Capture's: its records have no `Body` (the message) to read the \
             audit log from"
                .to_owned(),
        );
        return Ok(());
    }
    let mut messages =
        Messages { reader, read: 0, chunk_bytes: opts.chunk_bytes, done: false, spare: Vec::new() };
    read_chunks(&mut messages, opts, sink, file)
}

/// The messages of an Avro file in chunks of about `chunk_bytes` of bodies, decoded (and
/// decompressed) on the reading thread; their bodies are read on the rayon pool, as lines are.
struct Messages<'s, R: Read> {
    reader: Reader<'s, R>,
    /// Messages decoded so far.
    read: u64,
    chunk_bytes: usize,
    /// The file ended, or could not be decoded further.
    done: bool,
    spare: Vec<Vec<u8>>,
}

impl<R: Read> ChunkSource for Messages<'_, R> {
    fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        let mut data = self.spare.pop().unwrap_or_default();
        data.clear();
        let mut items = Vec::new();
        while !self.done && data.len() < self.chunk_bytes.max(1) {
            let Some(message) = self.reader.next() else {
                self.done = true;
                break;
            };
            self.read += 1;
            let body = match message {
                Ok(Avro::Record(mut fields)) => match fields.pop().map(|(_, v)| v) {
                    Some(Avro::Union(_, v)) => *v,
                    Some(v) => v,
                    None => Avro::Null,
                },
                Ok(_) => Avro::Null,
                Err(e) => {
                    // A damaged or cut block: the messages before it are kept; reading stops.
                    self.done = true;
                    items.push((self.read, Message::Damaged(e.to_string())));
                    break;
                }
            };
            let bytes = match &body {
                Avro::Bytes(b) => b.as_slice(),
                Avro::String(s) => s.as_bytes(),
                _ => {
                    items.push((self.read, Message::NoBody));
                    continue;
                }
            };
            let start = data.len();
            data.extend_from_slice(bytes);
            items.push((self.read, Message::Body(start..data.len())));
        }
        if items.is_empty() {
            return Ok(None);
        }
        Ok(Some(Chunk { data, too_long: None, items: Some(Items::Messages(items)) }))
    }

    fn location(&self, _lines_before: u64) -> Location {
        Location::Item(self.read + 1)
    }

    fn recycle(&mut self, data: Vec<u8>) {
        keep_spare(&mut self.spare, data, self.chunk_bytes);
    }
}

/// One message of a chunk (its body in `data`), read on a parser thread.
pub(super) fn read_message(c: &mut Collector, data: &[u8], at: Location, message: &Message) {
    match message {
        Message::Body(range) => message_body(c, data.get(range.clone()).unwrap_or_default(), at),
        Message::NoBody => {
            c.skip(at, SkipKind::NotAuditRecord, "an Event Hub message without a body".to_owned())
        }
        Message::Damaged(why) => c.skip(
            at,
            SkipKind::Malformed,
            format!("damaged or cut-short Avro data, rest of file skipped: {why}"),
        ),
    }
}

/// The most a compressed body is inflated to: an Event Hub message is at most 1 MB (20 MB on a
/// dedicated cluster), so more is not a body of audit records.
const MAX_INFLATED_BODY: u64 = 256 << 20;

/// One message's body: a JSON record (or several: NDJSON, or JSON values one after another, as
/// some forwarders batch them), gzip- or zstd-compressed or not, with or without a UTF-8 BOM;
/// anything else is named and skipped. Ingest review s51, item 9: a body with a BOM, of several
/// lines or compressed was skipped whole as "not JSON" or as one bad record.
fn message_body(c: &mut Collector, body: &[u8], at: Location) {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    if let Some(inflated) = inflate(body) {
        return match inflated {
            Ok(inner) => message_json(c, inner.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&inner), at),
            Err(why) => c.skip(at, SkipKind::Malformed, why),
        };
    }
    message_json(c, body, at)
}

/// A body compressed with gzip or zstd, inflated; `None` when it is not compressed.
fn inflate(body: &[u8]) -> Option<Result<Vec<u8>, String>> {
    let (name, reader): (&str, Box<dyn Read + '_>) = if body.starts_with(&[0x1f, 0x8b]) {
        ("gzip", Box::new(flate2::read::MultiGzDecoder::new(body)))
    } else if body.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        match zstd::stream::read::Decoder::new(body) {
            Ok(d) => ("zstd", Box::new(d)),
            Err(e) => return Some(Err(format!("an Event Hub message whose zstd body does not read: {e}"))),
        }
    } else {
        return None;
    };
    let mut out = Vec::new();
    Some(match reader.take(MAX_INFLATED_BODY + 1).read_to_end(&mut out) {
        Ok(_) if out.len() as u64 > MAX_INFLATED_BODY => Err(format!(
            "an Event Hub message whose {name} body inflates to more than {} MiB: not a body of audit records",
            MAX_INFLATED_BODY >> 20
        )),
        Ok(_) => Ok(out),
        Err(e) => Err(format!("an Event Hub message whose {name} body is damaged or cut short: {e}")),
    })
}

/// A body's JSON: one record, or each of the values it holds one after another.
fn message_json(c: &mut Collector, body: &[u8], at: Location) {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{' | b'[') => {}
        _ => {
            let text = String::from_utf8_lossy(&body[..body.len().min(120)]).into_owned();
            return c.skip(
                at,
                SkipKind::NotAuditRecord,
                format!("an Event Hub message whose body is not JSON: {text:?}"),
            );
        }
    }
    // Compact JSON (what AKS's diagnostic settings send) has no line break outside its strings:
    // one record, read as it is.
    if !body.contains(&b'\n') {
        return c.json_record(body, at);
    }
    // Several values one after another: each read alone. Where a value does not parse, the
    // rest is read line by line when it is NDJSON (more lines start with `{` than the first),
    // so each bad line is named and the good ones are kept; else it is one bad record.
    let mut values = serde_json::Deserializer::from_slice(body).into_iter::<serde::de::IgnoredAny>();
    let mut start = 0;
    let mut spans = Vec::new();
    let mut broken = false;
    while let Some(value) = values.next() {
        if value.is_err() {
            broken = true;
            break;
        }
        spans.push(start..values.byte_offset());
        start = values.byte_offset();
    }
    if !broken && spans.len() <= 1 {
        return c.json_record(body, at);
    }
    for span in spans {
        c.json_record(body.get(span).unwrap_or_default().trim_ascii(), at);
    }
    if broken {
        let rest = body.get(start..).unwrap_or_default();
        let lines =
            || rest.split(|&b| b == b'\n').map(<[u8]>::trim_ascii_end).filter(|l| !l.trim_ascii().is_empty());
        if lines().filter(|l| l.first() == Some(&b'{')).count() > 1 {
            lines().for_each(|line| c.json_record(line.trim_ascii(), at));
        } else {
            c.json_record(rest.trim_ascii(), at);
        }
    }
}
