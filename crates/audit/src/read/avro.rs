//! Avro object container files, as Azure Event Hubs Capture writes them to Blob Storage or Data
//! Lake (`{namespace}/{hub}/{partition}/{yyyy}/{mm}/{dd}/{hh}/{mm}/{ss}.avro`). Each record is
//! one Event Hub message: `SequenceNumber`, `Offset`, `EnqueuedTimeUtc`, two property maps and
//! the message itself, `Body`, as bytes. AKS's diagnostic settings send the audit log to an
//! Event Hub as `{"records": […]}` messages, so each `Body` is read as a JSON record of its own.
//! The file is decoded by [apache-avro](https://crates.io/crates/apache-avro), message by
//! message, resolved to a schema of `Body` alone.

use std::io::BufReader;

use apache_avro::types::Value as Avro;
use apache_avro::{Reader, Schema};

use super::input::Peeked;
use super::records::Collector;
use super::summary::{FileSummary, Location, SkipKind};
use super::{BatchSink, ReadError, ReadOptions, flush};

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
    let mut c = Collector::new(opts);
    for (i, message) in reader.enumerate() {
        let at = Location::Item(i as u64 + 1);
        let body = match message {
            Ok(Avro::Record(mut fields)) => match fields.pop().map(|(_, v)| v) {
                Some(Avro::Union(_, v)) => *v,
                Some(v) => v,
                None => Avro::Null,
            },
            Ok(_) => Avro::Null,
            Err(e) => {
                // A damaged or cut block: the messages before it are kept; the reader stops.
                c.skip(
                    at,
                    SkipKind::Malformed,
                    format!("damaged or cut-short Avro data, rest of file skipped: {e}"),
                );
                break;
            }
        };
        match body {
            Avro::Bytes(b) => message_body(&mut c, &b, at),
            Avro::String(s) => message_body(&mut c, s.as_bytes(), at),
            _ => c.skip(at, SkipKind::NotAuditRecord, "an Event Hub message without a body".to_owned()),
        }
        if c.rows() >= opts.batch_rows || (opts.strict && c.skipped > 0) {
            flush(&mut c, file, opts, sink)?;
        }
    }
    flush(&mut c, file, opts, sink)
}

/// One message's body: a JSON record, or text that is named and skipped.
fn message_body(c: &mut Collector, body: &[u8], at: Location) {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{' | b'[') => c.json_record(body, at),
        _ => {
            let text = String::from_utf8_lossy(&body[..body.len().min(120)]).into_owned();
            c.skip(
                at,
                SkipKind::NotAuditRecord,
                format!("an Event Hub message whose body is not JSON: {text:?}"),
            );
        }
    }
}
