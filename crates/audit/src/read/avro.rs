//! Avro object container files, as Azure Event Hubs Capture writes them to Blob Storage or Data
//! Lake (`{namespace}/{hub}/{partition}/{yyyy}/{mm}/{dd}/{hh}/{mm}/{ss}.avro`). Each record is
//! one Event Hub message: `SequenceNumber`, `Offset`, `EnqueuedTimeUtc`, two property maps and
//! the message itself, `Body`, as bytes. AKS's diagnostic settings send the audit log to an
//! Event Hub as `{"records": […]}` messages, so each `Body` is read as a JSON record of its own.
//! The file's framing (header, then blocks of messages each ending with the file's sync marker)
//! is read here, so that a damaged block costs its own messages and reading resumes at the next
//! block, found by its sync marker, as the Avro specification provides the marker for; the
//! messages are decoded by [apache-avro](https://crates.io/crates/apache-avro), resolved to a
//! schema of `Body` alone, on the reading thread; the bodies are read in chunks on the rayon
//! pool, as lines are ([`super::lines`]).

use std::collections::VecDeque;
use std::io::{self, BufReader, Cursor, Read};
use std::str::FromStr;

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value as Avro;
use apache_avro::{Codec, Schema};

use super::input::Peeked;
use super::lines::{Chunk, ChunkSource, Items, Message, keep_spare, read_chunks};
use super::records::Collector;
use super::summary::{FileSummary, Location, SkipKind};
use super::{BatchSink, ReadError, ReadOptions};

/// The reader's schema: Event Hubs Capture's `EventData` record, its `Body` alone. A writer's
/// `Body` of `bytes` or `string`, in a union with `null` or not, resolves to it.
const CAPTURE_BODY: &str = r#"{"type": "record", "name": "EventData", "namespace": "Microsoft.ServiceBus.Messaging", "fields": [{"name": "Body", "type": ["null", "bytes"]}]}"#;

/// The most bytes one block is read into memory for: an Event Hub message is at most 1 MB
/// (20 MB on a dedicated cluster) and Capture writes a file of at most 500 MB; a block said to
/// be longer has damaged framing.
const MAX_BLOCK_BYTES: u64 = 256 << 20;

/// The most bytes of a block's sync marker that may differ from the file's for the block to be
/// read as it is.
const MARKER_BYTES_DAMAGED: usize = 4;

pub(super) fn read_avro(
    stream: Peeked<'_>,
    opts: &ReadOptions,
    sink: &mut dyn BatchSink,
    file: &mut FileSummary,
) -> Result<(), ReadError> {
    let reader_schema = match Schema::parse_str(CAPTURE_BODY) {
        Ok(s) => s,
        Err(e) => {
            file.not_audit = Some(format!("Avro: the reader's schema does not parse: {e}"));
            return Ok(());
        }
    };
    let mut stream = Pushback::new(BufReader::with_capacity(1 << 20, stream));
    let header = match read_header(&mut stream) {
        Ok(h) => h,
        Err(why) => {
            file.not_audit = Some(format!("an Avro file whose header does not read: {why}"));
            return Ok(());
        }
    };
    if let Err(why) = capture_schema(&header.writer, &reader_schema) {
        file.not_audit = Some(why);
        return Ok(());
    }
    let mut messages = Messages {
        blocks: Blocks { stream, header, reader_schema, pending: VecDeque::new(), after_pending: None },
        read: 0,
        chunk_bytes: opts.chunk_bytes,
        done: false,
        spare: Vec::new(),
    };
    read_chunks(&mut messages, opts, sink, file)
}

/// Whether the writer's schema is Capture's: records with a `Body` that resolves to the
/// reader's; else why not, as the file's `not_audit`.
fn capture_schema(writer: &Schema, reader: &Schema) -> Result<(), String> {
    let has_body = match writer {
        Schema::Record(r) => r.lookup.contains_key("Body"),
        _ => false,
    };
    if !has_body {
        return Err(
            "an Avro file that is not Event Hubs Capture's: its records have no `Body` (the message) to \
                    read the audit log from"
                .to_owned(),
        );
    }
    GenericDatumReader::builder(writer)
        .reader_schema(reader)
        .build()
        .map(|_| ())
        .map_err(|e| format!("an Avro file whose messages' schema does not resolve to Capture's: {e}"))
}

/// What an object container file's header gives: the writer's schema, the codec of the blocks
/// and the sync marker that ends the header and every block.
struct Header {
    writer: Schema,
    codec: Codec,
    sync: [u8; 16],
}

/// Reads the header: the magic `Obj\x01`, the metadata map (`avro.schema`, `avro.codec`), the
/// sync marker.
fn read_header(stream: &mut impl Read) -> Result<Header, String> {
    let mut magic = [0u8; 4];
    stream.read_exact(&mut magic).map_err(|e| e.to_string())?;
    if &magic != b"Obj\x01" {
        return Err("it does not start with Avro's magic bytes `Obj\\x01`".to_owned());
    }
    let meta_schema = Schema::map(Schema::Bytes).build();
    let meta = GenericDatumReader::builder(&meta_schema)
        .build()
        .and_then(|r| r.read_value(stream))
        .map_err(|e| format!("its metadata does not decode: {e}"))?;
    let Avro::Map(meta) = meta else { return Err("its metadata is not a map".to_owned()) };
    let text = |key: &str| match meta.get(key) {
        Some(Avro::Bytes(b)) => {
            std::str::from_utf8(b).map(Some).map_err(|_| format!("its `{key}` is not UTF-8 text"))
        }
        Some(_) => Err(format!("its `{key}` is not bytes")),
        None => Ok(None),
    };
    let writer = text("avro.schema")?.ok_or("it names no schema (`avro.schema`)")?;
    let writer = Schema::parse_str(writer).map_err(|e| format!("its schema does not parse: {e}"))?;
    let codec = match text("avro.codec")? {
        None => Codec::Null,
        Some(name) => {
            Codec::from_str(name).map_err(|_| format!("its codec `{name}` is not one this build reads"))?
        }
    };
    let mut sync = [0u8; 16];
    stream.read_exact(&mut sync).map_err(|e| format!("its sync marker does not read: {e}"))?;
    Ok(Header { writer, codec, sync })
}

/// What comes next in the file: a message, damage named and read past, or the end.
enum Next {
    Message(Avro),
    /// Damage that cost messages (how many, when known; else 1 is counted); reading goes on
    /// after it.
    Damaged(String, Option<u64>),
    /// Damage or a cut after which nothing more could be read.
    Last(String),
    End,
}

/// The blocks of an object container file after its header, and the messages of the current
/// block not handed out yet. Files joined one after another (`cat a.avro b.avro`) are read
/// as one: a header where a block would begin starts the next file.
struct Blocks<R: Read> {
    stream: Pushback<R>,
    header: Header,
    reader_schema: Schema,
    /// The current block's messages, decoded, not handed out yet.
    pending: VecDeque<Avro>,
    /// Damage found in the current block after its `pending` messages: said after them.
    after_pending: Option<Next>,
}

/// A block's framing read: its declared message count, its bytes, and whether its sync marker
/// was the file's (a few damaged bytes aside).
struct Framed {
    count: i64,
    data: Vec<u8>,
    marker_ok: bool,
}

impl<R: Read> Blocks<R> {
    /// The next message, or damage, or the end.
    fn next(&mut self) -> Next {
        loop {
            if let Some(m) = self.pending.pop_front() {
                return Next::Message(m);
            }
            if let Some(damage) = self.after_pending.take() {
                return damage;
            }
            match self.next_block() {
                Ok(true) => {}
                Ok(false) => return Next::End,
                Err(next) => return next,
            }
        }
    }

    /// Reads the next block's messages into `pending`: `Ok(false)` at the end of the file.
    fn next_block(&mut self) -> Result<bool, Next> {
        // Every byte read since the block began: where damaged framing is searched for the marker.
        let mut seen = Vec::new();
        let count = match read_long(&mut self.stream, &mut seen) {
            Ok(None) => return Ok(false),
            Ok(Some(n)) => n,
            Err(why) => return Err(self.resync(seen, &why, None)),
        };
        // `O` (of `Obj\x01`) reads as a count of -40: another file's header, joined on.
        if seen == b"O" && self.next_file()? {
            return Ok(true);
        }
        let size = match read_long(&mut self.stream, &mut seen) {
            Ok(Some(n)) => n,
            Ok(None) => return Err(Next::Last(cut("the file ends inside a block's framing"))),
            Err(why) => return Err(self.resync(seen, &why, None)),
        };
        let declared = u64::try_from(count).ok().filter(|&n| n > 0 && n <= size.max(0) as u64);
        let size = match u64::try_from(size) {
            Ok(n) if count >= 0 && n <= MAX_BLOCK_BYTES => n,
            _ => {
                return Err(self.resync(
                    seen,
                    &format!("a block said to hold {count} messages in {size} bytes"),
                    None,
                ));
            }
        };
        let mut data = Vec::new();
        if let Err(e) = (&mut self.stream).take(size).read_to_end(&mut data) {
            return Err(Next::Last(cut(&e.to_string())));
        }
        let mut marker = [0u8; 16];
        let got = read_full(&mut self.stream, &mut marker);
        let whole = data.len() as u64 == size && got == 16;
        // A marker a few bytes of which differ is the marker, damaged, not a wrong size (which
        // reads 16 bytes of data or of the next block, all but never that close to it).
        let differ = marker.iter().zip(&self.header.sync).filter(|(a, b)| a != b).count();
        if whole && differ <= MARKER_BYTES_DAMAGED {
            return self.decode(Framed { count, data, marker_ok: true }).map(|()| true);
        }
        // A marker damaged past that, after a block that decodes whole to its declared count:
        // the block is good and the next begins after the marker (review s53b, item 5: it
        // cost the next, intact block too).
        if whole && self.decode(Framed { count, data: data.clone(), marker_ok: false }).is_ok() {
            return Ok(true);
        }
        // Cut short, or the framing was wrong (the block's size, its marker): the marker is
        // looked for in what was read, then further on.
        seen.extend_from_slice(&data);
        seen.extend_from_slice(&marker[..got]);
        let why = if got < 16 {
            "the file ends inside a block"
        } else {
            "a block whose end is not the file's sync marker"
        };
        Err(self.resync(seen, why, declared))
    }

    /// After an `O` where a block's count begins: when `bj\x01` follows, another file's
    /// header, read (its schema, codec and marker replace this one's). `Ok(true)` then;
    /// `Ok(false)` with the bytes put back otherwise.
    fn next_file(&mut self) -> Result<bool, Next> {
        let mut rest = [0u8; 3];
        let got = read_full(&mut self.stream, &mut rest);
        if &rest[..got] != b"bj\x01" {
            self.stream.push(&rest[..got]);
            return Ok(false);
        }
        let mut magic = Cursor::new(b"Obj\x01".to_vec()).chain(&mut self.stream);
        let header = read_header(&mut magic).map_err(|why| {
            Next::Last(cut(&format!("another Avro file joined on whose header does not read: {why}")))
        })?;
        capture_schema(&header.writer, &self.reader_schema)
            .map_err(|why| Next::Last(cut(&format!("another Avro file joined on: {why}"))))?;
        self.header = header;
        Ok(true)
    }

    /// Decompresses and decodes a block's messages into `pending`. Messages are read while
    /// bytes are left, whatever the count says (review s53b, item 1: a count damaged to fewer
    /// dropped the block's last messages without a word). A block whose marker was damaged
    /// (`marker_ok` false) is taken only when it decodes whole, to its count; else nothing
    /// is kept of it and the caller looks for the marker.
    fn decode(&mut self, block: Framed) -> Result<(), Next> {
        let Framed { count, mut data, marker_ok } = block;
        let declared = u64::try_from(count).ok();
        if let Err(e) = self.header.codec.decompress(&mut data) {
            return Err(Next::Damaged(
                format!(
                    "a damaged Avro block: its {count} messages do not decompress ({e}); skipped, reading resumed \
                     at the next block"
                ),
                declared.filter(|&n| n > 0),
            ));
        }
        let datums = GenericDatumReader::builder(&self.header.writer)
            .reader_schema(&self.reader_schema)
            .build()
            .map_err(|e| Next::Last(cut(&e.to_string())))?;
        let mut rest = data.as_slice();
        let mut decoded = VecDeque::new();
        let mut failed = None;
        while !rest.is_empty() {
            let before = rest.len();
            match datums.read_value(&mut rest) {
                Ok(value) if rest.len() < before => decoded.push_back(value),
                outcome => {
                    let why = outcome.err().map_or("a message of no bytes".to_owned(), |e| e.to_string());
                    failed = Some((why, before));
                    break;
                }
            }
        }
        if !marker_ok && (failed.is_some() || Some(decoded.len() as u64) != declared) {
            return Err(Next::Damaged(String::new(), None));
        }
        let n = decoded.len() as u64;
        self.pending = decoded;
        match failed {
            None => Ok(()),
            Some((why, left)) => {
                let lost = declared.filter(|&d| d > n).map(|d| d - n);
                // Said after the block's good messages, at the first it cost.
                self.after_pending = Some(Next::Damaged(
                    format!(
                        "a damaged Avro message ({why}) after {n} good ones of its block: the rest of the block \
                         ({left} bytes{}) skipped, reading resumed at the next block",
                        lost.map_or(String::new(), |l| format!(", {l} messages by its count"))
                    ),
                    lost,
                ));
                Ok(())
            }
        }
    }

    /// Finds the next block after damaged framing: the bytes after the next sync marker, in
    /// `seen` (read since the damaged block began) or further on in the stream. `lost`: the
    /// messages the damaged block said it held, when that is plausible.
    fn resync(&mut self, seen: Vec<u8>, why: &str, lost: Option<u64>) -> Next {
        let mut skipped = 0u64;
        let mut window = seen;
        let mut buf = vec![0u8; 64 << 10];
        let sync = self.header.sync;
        loop {
            if let Some(i) = memchr::memmem::find(&window, &sync) {
                let after = i + sync.len();
                skipped += after as u64;
                self.stream.push(&window[after..]);
                return Next::Damaged(
                    format!(
                        "damaged Avro data ({why}): the messages of that block skipped ({skipped} bytes{}), \
                         reading resumed at the next block",
                        lost.map_or(String::new(), |l| format!(", {l} messages by its count"))
                    ),
                    lost,
                );
            }
            // Keep the last 15 bytes: a marker may begin in them.
            let keep = window.len().min(sync.len() - 1);
            skipped += (window.len() - keep) as u64;
            window.drain(..window.len() - keep);
            match self.stream.read(&mut buf) {
                Ok(0) => return Next::Last(cut(why)),
                Ok(n) => window.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Next::Last(cut(&format!("{why}; then {e}"))),
            }
        }
    }
}

/// What a skip says of damage or a cut that ends the reading.
fn cut(why: &str) -> String {
    format!("damaged or cut-short Avro data, rest of file skipped: {why}")
}

/// Reads an Avro `long` (a zig-zag variable-length integer), every byte read also put in
/// `seen`: `Ok(None)` when the stream ends before its first byte.
fn read_long(stream: &mut impl Read, seen: &mut Vec<u8>) -> Result<Option<i64>, String> {
    let mut value = 0u64;
    let mut shift = 0;
    loop {
        let mut byte = [0u8];
        match stream.read(&mut byte) {
            Ok(0) if shift == 0 => return Ok(None),
            Ok(0) => return Err("the file ends inside a block's framing".to_owned()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.to_string()),
        }
        seen.push(byte[0]);
        if shift > 63 {
            return Err("a block's framing holds an integer longer than 10 bytes".to_owned());
        }
        value |= u64::from(byte[0] & 0x7f) << shift;
        if byte[0] & 0x80 == 0 {
            // Zig-zag: 0, -1, 1, -2, … are 0, 1, 2, 3, …
            return Ok(Some((value >> 1) as i64 ^ -((value & 1) as i64)));
        }
        shift += 7;
    }
}

/// Reads into `buf` until it is full or the stream ends; how many bytes were read.
fn read_full(stream: &mut impl Read, buf: &mut [u8]) -> usize {
    let mut got = 0;
    while got < buf.len() {
        match stream.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    got
}

/// A stream with bytes put back in front of it: after damaged framing, what was read past the
/// next block's start.
struct Pushback<R> {
    back: Vec<u8>,
    at: usize,
    inner: R,
}

impl<R: Read> Pushback<R> {
    fn new(inner: R) -> Self {
        Pushback { back: Vec::new(), at: 0, inner }
    }

    /// Puts `bytes` back, to be read before what was put back earlier and not read yet.
    fn push(&mut self, bytes: &[u8]) {
        let mut back = bytes.to_vec();
        back.extend_from_slice(&self.back[self.at..]);
        self.back = back;
        self.at = 0;
    }
}

impl<R: Read> Read for Pushback<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at < self.back.len() {
            let n = buf.len().min(self.back.len() - self.at);
            buf[..n].copy_from_slice(&self.back[self.at..self.at + n]);
            self.at += n;
            return Ok(n);
        }
        self.inner.read(buf)
    }
}

/// The messages of an Avro file in chunks of about `chunk_bytes` of bodies, decoded (and
/// decompressed) on the reading thread; their bodies are read on the rayon pool, as lines are.
struct Messages<R: Read> {
    blocks: Blocks<R>,
    /// Messages decoded so far, and the ones damage cost (each damage counted as one when
    /// how many it cost is not known).
    read: u64,
    chunk_bytes: usize,
    /// The file ended, or could not be decoded further.
    done: bool,
    spare: Vec<Vec<u8>>,
}

impl<R: Read> ChunkSource for Messages<R> {
    fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        let mut data = self.spare.pop().unwrap_or_default();
        data.clear();
        let mut items = Vec::new();
        while !self.done && data.len() < self.chunk_bytes.max(1) {
            let message = match self.blocks.next() {
                Next::End => {
                    self.done = true;
                    break;
                }
                Next::Message(m) => m,
                Next::Damaged(why, lost) => {
                    // Named at the first message it cost; the count goes on past the others.
                    let lost = lost.unwrap_or(1).max(1);
                    items.push((self.read + 1, Message::Damaged(why, lost)));
                    self.read += lost;
                    continue;
                }
                Next::Last(why) => {
                    self.done = true;
                    self.read += 1;
                    items.push((self.read, Message::Damaged(why, 1)));
                    break;
                }
            };
            self.read += 1;
            let body = match message {
                Avro::Record(mut fields) => match fields.pop().map(|(_, v)| v) {
                    Some(Avro::Union(_, v)) => *v,
                    Some(v) => v,
                    None => Avro::Null,
                },
                _ => Avro::Null,
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
        Message::Damaged(why, lost) => c.skip_many(at, SkipKind::Malformed, why.clone(), *lost),
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
