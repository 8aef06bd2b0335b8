//! JSON documents and arrays read in parallel, as JSON lines are: a scan that follows only
//! strings and nesting cuts out the records, chunks of them are parsed on the rayon pool, and
//! the results are handed on in the file's order.
//!
//! The records are a top-level array's elements (what `az monitor log-analytics query -o json`
//! prints), the items of a document's list (an `EventList`'s `items`, an Event Hub message's
//! `records`, the `events` of `aws logs filter-log-events`, a subscription payload's
//! `logEvents`, the `results` of `aws logs get-query-results`), or a document that holds no
//! list (one pretty-printed event). Several documents may follow each other. A record that
//! does not parse costs only itself; a file cut short names the record it cut. The same scan
//! cuts apart JSON objects written one after another with nothing between them
//! ([`read_sequence`]).
//!
//! A document's members beside its lists (`kind`, `apiVersion`, `metadata`, `nextToken`…)
//! are kept aside with its lists left empty, and checked to be JSON once the document ends: an
//! `EventList`'s `apiVersion` is read from them when its list opens. Whatever the scan does
//! not expect before a document's first list opens (a scalar, an escaped key, a search
//! response's `hits`, a document with no list longer than a record may be) is read from that
//! document on by the `serde_json` streamer ([`super::document`]), as every document was before.

use std::io::{self, Cursor, Read};
use std::ops::Range;
use std::sync::Arc;

use serde::de::IgnoredAny;
use serde_json::{Map, Value};

use super::input::Peeked;
use super::lines::{Chunk, ChunkSource, Items, cut_short, is_blank, past_string, read_chunks, read_or_hold};
use super::records::BOM;
use super::summary::{FileSummary, Location, SkipKind};
use super::{BatchSink, ReadError, ReadOptions};

/// How a record cut out by the scan is read.
pub(super) enum Kind {
    /// A top-level array's element: as a line is.
    Element,
    /// An `EventList`'s item: an event, with the list's `apiVersion` for one that has none.
    Event(Option<Arc<str>>),
    /// One of `records`: an Azure diagnostic record.
    Record,
    /// One of `events` / `logEvents`: a CloudWatch log event.
    LogEvent,
    /// One of `results`: a Logs Insights result row.
    InsightsRow,
    /// A document that holds no list: one record.
    Document,
    /// A document's members beside its lists, the lists left empty: checked to be JSON.
    Beside(Vec<u8>),
}

/// The list a key of a document's top level names.
#[derive(Clone, Copy)]
enum ListOf {
    Events,
    Records,
    LogEvents,
    InsightsRows,
}

/// What a key of a document's top level is to the scan.
#[derive(Clone, Copy)]
enum Key {
    /// Names a list: an array value is streamed.
    List(ListOf),
    /// A search response's `hits`: read by the `serde_json` streamer.
    Hits,
    Other,
}

fn key_of(key: &[u8]) -> Key {
    match key {
        b"items" => Key::List(ListOf::Events),
        b"records" => Key::List(ListOf::Records),
        b"events" | b"logEvents" => Key::List(ListOf::LogEvents),
        b"results" => Key::List(ListOf::InsightsRows),
        b"hits" => Key::Hits,
        _ => Key::Other,
    }
}

/// Where the scan stands in a document's top-level object (outside its lists).
#[derive(Clone, Copy)]
enum Member {
    /// Before a key (or the closing brace).
    Key,
    /// Inside a key: where it starts.
    InKey(usize),
    /// After a key, before its colon.
    Colon(Key),
    /// After the colon, before the value.
    Value(Key),
    /// In or after a value, before the comma or the closing brace.
    InValue,
}

/// Cuts a stream of JSON documents and arrays into chunks of records.
struct Records<R> {
    r: R,
    /// Bytes read and not yet handed on; nothing before `start` is needed any more.
    carry: Vec<u8>,
    pos: usize,
    start: usize,
    eof: bool,
    /// Nesting: 0 between documents, 1 in a document's top-level object or array.
    depth: u32,
    in_string: bool,
    escaped: bool,
    member: Member,
    /// The list being cut (`None` for a top-level array) and the nesting of its elements;
    /// `None` outside lists.
    list: Option<(Option<ListOf>, u32)>,
    /// Where the document being scanned starts in `carry`, and on which line.
    doc_start: usize,
    doc_line: u64,
    /// Whether a list of this document was opened: it is read by the scan to its end.
    listed: bool,
    /// The document's members beside its lists so far, once one was opened; `beside_from` is
    /// where in `carry` its next bytes start.
    beside: Vec<u8>,
    beside_from: usize,
    /// The `apiVersion` of the `EventList` being cut.
    api_version: Option<Arc<str>>,
    /// Newlines met outside strings: lines before `pos`.
    lines: u64,
    /// The number the next record will get.
    next_item: u64,
    /// The element being scanned grew past the limit: its bytes are dropped as they come.
    dropping: bool,
    /// The scan met what it does not read: the `serde_json` streamer reads on from `start`.
    gave_up: bool,
    /// The file ended after a whole element of a list never closed: the element was read
    /// ([`Records::close_at_eof`]).
    closed_at_eof: bool,
    /// Objects one after another with nothing between them ([`read_sequence`]), each a
    /// record read as a line is, rather than documents and arrays.
    sequence: bool,
    /// A read error met while records before it were still held: they are handed on first.
    failed: Option<io::Error>,
    chunk_bytes: usize,
    max_record: usize,
}

impl<R: Read> Records<R> {
    fn new(r: R, opts: &ReadOptions, sequence: bool) -> Records<R> {
        Records {
            r,
            carry: Vec::new(),
            pos: 0,
            start: 0,
            eof: false,
            depth: 0,
            in_string: false,
            escaped: false,
            member: Member::Key,
            list: None,
            doc_start: 0,
            doc_line: 1,
            listed: false,
            beside: Vec::new(),
            beside_from: 0,
            api_version: None,
            lines: 0,
            next_item: 1,
            dropping: false,
            gave_up: false,
            closed_at_eof: false,
            sequence,
            failed: None,
            chunk_bytes: opts.chunk_bytes.max(1),
            max_record: opts.max_line_bytes,
        }
    }

    /// Hands the document being scanned to the `serde_json` streamer: only before one of its
    /// lists opened, while `carry` still holds it whole from `doc_start`.
    fn give_up(&mut self) {
        self.gave_up = true;
        self.start = self.doc_start;
    }

    /// Scans `carry[pos..]`; pushes each record that ends there. Returns early for a dropped
    /// element (so it is reported with this chunk) or when the scan gives up.
    fn scan(&mut self, items: &mut Vec<(Location, Kind, Range<usize>)>, too_long: &mut Option<Location>) {
        while self.pos < self.carry.len() {
            if self.in_string {
                if !past_string(&self.carry, &mut self.pos, &mut self.escaped) {
                    break;
                }
                self.in_string = false;
                if let Member::InKey(from) = self.member {
                    let key = &self.carry[from..self.pos - 1];
                    let key = if key.contains(&b'\\') { None } else { Some(key_of(key)) };
                    match key {
                        Some(key) => self.member = Member::Colon(key),
                        // An escaped key could name a list: the streamer unescapes it.
                        None if !self.listed => return self.give_up(),
                        None => self.member = Member::Colon(Key::Other),
                    }
                }
                continue;
            }
            let b = self.carry[self.pos];
            if b == b'\n' {
                self.lines += 1;
            }
            if self.sequence {
                match b {
                    b'"' => self.in_string = true,
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' if self.depth == 1 => {
                        // An object of the sequence ends here.
                        self.depth = 0;
                        let item = Location::Item(self.next_item);
                        self.next_item += 1;
                        let range = self.start..self.pos + 1;
                        self.start = self.pos + 1;
                        self.pos += 1;
                        if std::mem::take(&mut self.dropping) {
                            *too_long = Some(item);
                            return;
                        }
                        items.push((item, Kind::Element, range));
                        continue;
                    }
                    b'}' | b']' if self.depth > 0 => self.depth -= 1,
                    // Between the objects there are no separators: anything else there is read
                    // as the start of the next one (and named when it does not parse).
                    _ => {}
                }
                self.pos += 1;
                continue;
            }
            if let Some((list, at)) = self.list {
                match b {
                    b'"' => self.in_string = true,
                    b'{' | b'[' => self.depth += 1,
                    b',' | b']' if self.depth == at => {
                        let dropped = self.element_ends(list, b == b']', items, too_long);
                        if dropped {
                            // Handed on now, so each dropped element is reported.
                            self.pos += 1;
                            return;
                        }
                    }
                    b'}' | b']' if self.depth > at => self.depth -= 1,
                    _ => {}
                }
                self.pos += 1;
                continue;
            }
            if self.depth == 0 {
                match b {
                    b'{' => {
                        self.depth = 1;
                        self.member = Member::Key;
                        self.doc_start = self.pos;
                        self.doc_line = self.lines + 1;
                        self.listed = false;
                        self.api_version = None;
                        self.start = self.pos;
                    }
                    b'[' => {
                        self.depth = 1;
                        self.list = Some((None, 1));
                        self.start = self.pos + 1;
                    }
                    _ if b.is_ascii_whitespace() => self.start = self.pos + 1,
                    // A byte order mark before a document (files that each began with one,
                    // joined by `cat`: the first one's was dropped as the file was opened).
                    0xEF if BOM.starts_with(&self.carry[self.pos..self.carry.len().min(self.pos + 3)]) => {
                        if self.pos + 3 > self.carry.len() {
                            if self.eof {
                                self.doc_start = self.pos;
                                self.doc_line = self.lines + 1;
                                return self.give_up();
                            }
                            // Its other bytes are not read yet.
                            return;
                        }
                        self.pos += 3;
                        self.start = self.pos;
                        continue;
                    }
                    // A scalar, or no JSON: the streamer names it.
                    _ => {
                        self.doc_start = self.pos;
                        self.doc_line = self.lines + 1;
                        return self.give_up();
                    }
                }
                self.pos += 1;
                continue;
            }
            if self.depth > 1 {
                // Inside a member's value.
                match b {
                    b'"' => self.in_string = true,
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => self.depth -= 1,
                    _ => {}
                }
                self.pos += 1;
                continue;
            }
            // In a document's top-level object, outside its lists.
            if b.is_ascii_whitespace() && !matches!(self.member, Member::InValue) {
                self.pos += 1;
                continue;
            }
            match (self.member, b) {
                (Member::Key, b'"') => {
                    self.in_string = true;
                    self.member = Member::InKey(self.pos + 1);
                }
                (Member::Colon(key), b':') => self.member = Member::Value(key),
                (Member::Value(Key::List(list)), b'[') => {
                    if !self.list_opens(list) {
                        return self.give_up();
                    }
                }
                (Member::Value(Key::Hits), _) if !self.listed => return self.give_up(),
                (Member::Value(_) | Member::InValue, _) => {
                    self.member = Member::InValue;
                    match b {
                        b'"' => self.in_string = true,
                        b'{' | b'[' => self.depth += 1,
                        b',' => self.member = Member::Key,
                        b'}' if !self.document_ends(items) => return,
                        _ => {}
                    }
                }
                // Not where JSON has it (or the brace of `{}`): read on as a value, this byte
                // too. What is wrong is named when the document (or the members beside its
                // lists) is parsed.
                _ => {
                    self.member = Member::InValue;
                    continue;
                }
            }
            self.pos += 1;
        }
    }

    /// An element of the list being cut ends at `pos` (a comma, or the closing bracket when
    /// `closes`). Returns whether it was dropped for being too long, to be reported now.
    fn element_ends(
        &mut self,
        list: Option<ListOf>,
        closes: bool,
        items: &mut Vec<(Location, Kind, Range<usize>)>,
        too_long: &mut Option<Location>,
    ) -> bool {
        let item = self.next_item;
        self.next_item += 1;
        let blank = self.carry[self.start..self.pos].iter().all(u8::is_ascii_whitespace);
        let dropped = std::mem::take(&mut self.dropping);
        if dropped {
            *too_long = Some(Location::Item(item));
        } else if !blank || !closes {
            // A blank element before a comma (`[,` or `,,`) is numbered and reported when parsed.
            let kind = match list {
                None => Kind::Element,
                Some(ListOf::Events) => Kind::Event(self.api_version.clone()),
                Some(ListOf::Records) => Kind::Record,
                Some(ListOf::LogEvents) => Kind::LogEvent,
                Some(ListOf::InsightsRows) => Kind::InsightsRow,
            };
            items.push((Location::Item(item), kind, self.start..self.pos));
        } else {
            // `[]` or a trailing `,]`: no element.
            self.next_item -= 1;
        }
        self.start = self.pos + 1;
        if closes {
            self.depth -= 1;
            self.list = None;
            if list.is_some() {
                // Back among the document's members: the bracket is kept beside them.
                self.member = Member::InValue;
                self.beside_from = self.pos;
                self.start = self.pos;
            }
        }
        dropped
    }

    /// A list of the document opens at `pos`. The members before it are checked, and an
    /// `EventList`'s `apiVersion` read from them; `false` when they are not JSON and no list
    /// of the document was read yet.
    fn list_opens(&mut self, list: ListOf) -> bool {
        let from = if self.listed { self.beside_from } else { self.doc_start };
        self.beside.extend_from_slice(&self.carry[from..=self.pos]);
        let mut so_far = self.beside.clone();
        so_far.extend_from_slice(b"]}");
        match serde_json::from_slice::<Map<String, Value>>(&so_far) {
            Ok(members) => {
                self.api_version = members
                    .get("apiVersion")
                    .and_then(Value::as_str)
                    .filter(|v| !v.is_empty())
                    .map(Arc::from);
            }
            Err(_) if !self.listed => {
                self.beside.clear();
                return false;
            }
            // Named when the document ends.
            Err(_) => {}
        }
        self.listed = true;
        self.depth = 2;
        self.list = Some((Some(list), 2));
        self.start = self.pos + 1;
        true
    }

    /// The document's closing brace is at `pos`. `false` when the scan gives up on it.
    fn document_ends(&mut self, items: &mut Vec<(Location, Kind, Range<usize>)>) -> bool {
        if self.listed {
            self.beside.extend_from_slice(&self.carry[self.beside_from..=self.pos]);
            let beside = std::mem::take(&mut self.beside);
            items.push((Location::Line(self.doc_line), Kind::Beside(beside), 0..0));
        } else if self.pos + 1 - self.doc_start > self.max_record {
            // A document with no list longer than a record may be: the streamer reads it whole.
            self.give_up();
            return false;
        } else if !self.carry[self.doc_start + 1..self.pos].iter().all(u8::is_ascii_whitespace) {
            // `{}` holds nothing and is no record.
            items.push((Location::Item(self.next_item), Kind::Document, self.doc_start..self.pos + 1));
            self.next_item += 1;
        }
        self.depth = 0;
        self.listed = false;
        self.start = self.pos + 1;
        true
    }

    /// Whether the scan stands among a read document's members, outside its lists and keys:
    /// their bytes so far can be kept aside rather than in `carry`.
    fn beside_members(&self) -> bool {
        self.listed && self.list.is_none() && self.depth >= 1 && !matches!(self.member, Member::InKey(_))
    }

    fn next_records(&mut self) -> io::Result<Option<Chunk>> {
        let mut items = Vec::new();
        let mut too_long = None;
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        loop {
            if !self.gave_up {
                self.scan(&mut items, &mut too_long);
            }
            if self.beside_members() {
                self.beside.extend_from_slice(&self.carry[self.beside_from..self.pos]);
                self.beside_from = self.pos;
                self.start = self.pos;
                if self.beside.len() > self.max_record {
                    // Kept no further; named when the document ends.
                    self.beside.truncate(self.max_record + 1);
                }
            }
            let enough = self.start >= self.chunk_bytes || too_long.is_some();
            if self.gave_up || self.eof || (enough && !items.is_empty()) || too_long.is_some() {
                break;
            }
            if self.start >= self.chunk_bytes {
                // Nothing of it is a record: not kept.
                self.drain();
            }
            if self.carry.len() - self.start > self.max_record {
                if self.list.is_some() || self.sequence {
                    // An element too long to keep: drop what it has so far and keep scanning.
                    self.dropping = true;
                    self.carry.truncate(self.start);
                    self.pos = self.start;
                } else if self.depth > 0 && !self.listed {
                    // A document with no list (yet) longer than a record: the streamer reads it.
                    self.give_up();
                    break;
                }
            }
            let want = (self.chunk_bytes / 4).max(64 * 1024);
            let held = !items.is_empty() || too_long.is_some();
            let Some(read) = read_or_hold(&mut self.r, &mut self.carry, want, held, &mut self.failed)? else {
                break;
            };
            if read == 0 {
                self.eof = true;
                if self.depth > 0 && !self.listed && self.list.is_none() && !self.sequence {
                    // A document cut short before any list: the streamer names the cut.
                    self.give_up();
                }
            }
        }
        if self.eof && !self.gave_up {
            self.close_at_eof(&mut items, &mut too_long);
        }
        if items.is_empty() && too_long.is_none() {
            self.drain();
            return Ok(None);
        }
        let rest = self.carry.split_off(self.start);
        let data = std::mem::replace(&mut self.carry, rest);
        self.shift(self.start);
        let items = if self.sequence {
            Items::Values(items.into_iter().map(|(at, _, range)| (at, range)).collect())
        } else {
            Items::Listed(items)
        };
        Ok(Some(Chunk { data, too_long, items: Some(items) }))
    }

    /// Drops `carry[..start]`, which no record needs.
    fn drain(&mut self) {
        self.carry.drain(..self.start);
        self.shift(self.start);
    }

    /// The places in `carry` after its first `by` bytes went.
    fn shift(&mut self, by: usize) {
        self.pos -= by;
        self.start -= by;
        self.doc_start = self.doc_start.saturating_sub(by);
        self.beside_from = self.beside_from.saturating_sub(by);
        if let Member::InKey(from) = &mut self.member {
            *from = from.saturating_sub(by);
        }
    }

    /// At the end of the file inside a list whose last element is whole (its closing bracket
    /// missing): the element is a record like the others, read; [`Records::name_the_cut`] says
    /// where the file ends. It was skipped as cut, and counted, though nothing was lost.
    fn close_at_eof(
        &mut self,
        items: &mut Vec<(Location, Kind, Range<usize>)>,
        too_long: &mut Option<Location>,
    ) {
        let Some((list, at)) = self.list else { return };
        if self.sequence
            || self.in_string
            || self.dropping
            || self.depth != at
            || self.pos != self.carry.len()
        {
            return;
        }
        let rest = &self.carry[self.start..self.pos];
        if is_blank(rest) || serde_json::from_slice::<IgnoredAny>(rest).is_err() {
            return;
        }
        self.element_ends(list, true, items, too_long);
        // No bracket at `pos` to step past, as `element_ends` does.
        self.start = self.start.min(self.pos);
        self.closed_at_eof = true;
    }

    /// After reading: a file that ends inside a document or array is named. An element it cut
    /// is skipped; a file cut between records (or after the last of a list never closed) lost
    /// none, and is named as read only in part, every record in it read.
    fn name_the_cut(&self, opts: &ReadOptions, file: &mut FileSummary) -> Result<(), ReadError> {
        let cut = !self.carry[self.start..].iter().all(u8::is_ascii_whitespace);
        if self.sequence && self.eof && cut {
            let message = "truncated JSON: the file ends inside this object, which is skipped".to_owned();
            return cut_short(file, opts, Location::Item(self.next_item), message);
        }
        if !self.eof || self.sequence || (self.depth == 0 && !self.closed_at_eof) {
            return Ok(());
        }
        if self.list.is_some() && cut {
            let message = format!(
                "truncated JSON: the file ends inside array element {}, which is skipped",
                self.next_item
            );
            return cut_short(file, opts, Location::Item(self.next_item), message);
        }
        let read = match self.next_item - 1 {
            0 => "before its first record".to_owned(),
            n => format!("after record {n}"),
        };
        let (location, message) = if self.depth == 0 || matches!(self.list, Some((None, _))) {
            (
                Location::Item(self.next_item),
                format!(
                    "truncated JSON: the file ends inside its array, {read} (the closing `]` is missing): \
                     every record in it was read"
                ),
            )
        } else {
            (
                Location::Line(self.doc_line),
                format!(
                    "truncated JSON: the file ends inside the document of line {}, {read}: every record \
                     in it was read",
                    self.doc_line
                ),
            )
        };
        ends_between_records(file, opts, location, message)
    }
}

/// A file that ends inside a document or array between records (or after its last one, the
/// brackets that close them missing), cut short there: nothing of it was lost but what may
/// have followed, so no record is skipped, and it is named as read only in part (as a read
/// error would be), with `strict` too.
fn ends_between_records(
    file: &mut FileSummary,
    opts: &ReadOptions,
    location: Location,
    message: String,
) -> Result<(), ReadError> {
    let name = file.file.clone();
    let record = file.incomplete.get_or_insert(super::SkippedRecord {
        file: name,
        location,
        kind: SkipKind::Malformed,
        message,
    });
    if opts.strict {
        return Err(ReadError::Strict(record.clone()));
    }
    Ok(())
}

impl<R: Read> ChunkSource for Records<R> {
    fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        self.next_records()
    }

    fn location(&self, _lines_before: u64) -> Location {
        Location::Item(self.next_item)
    }
}

/// Reads a file of JSON documents and arrays ([`Container::JsonDocument`] and
/// [`Container::JsonArray`]), in parallel as far as the scan reads it, and with the
/// `serde_json` streamer from where it gives up.
///
/// [`Container::JsonDocument`]: super::Container::JsonDocument
/// [`Container::JsonArray`]: super::Container::JsonArray
pub(super) fn read_documents(
    stream: Peeked<'_>,
    opts: &ReadOptions,
    sink: &mut dyn BatchSink,
    file: &mut FileSummary,
) -> Result<(), ReadError> {
    let mut records = Records::new(stream, opts, false);
    read_chunks(&mut records, opts, sink, file)?;
    if !records.gave_up {
        return records.name_the_cut(opts, file);
    }
    let before = (records.next_item - 1, records.doc_line - 1);
    let rest = std::mem::take(&mut records.carry);
    let more: Peeked<'_> = Cursor::new(rest).chain(Box::new(records.r));
    super::document::read_document(more, before, opts, sink, file)
}

/// JSON objects one after another ([`Container::JsonSequence`](super::Container::JsonSequence)):
/// what Firehose writes to S3 from a CloudWatch Logs subscription, payload after payload with
/// no newline. Cut apart by the same scan, each object read as a line would be, in parallel,
/// and numbered as a record; an object cut short at the end of the file is named and skipped.
pub(super) fn read_sequence(
    stream: Peeked<'_>,
    opts: &ReadOptions,
    sink: &mut dyn BatchSink,
    file: &mut FileSummary,
) -> Result<(), ReadError> {
    let mut objects = Records::new(stream, opts, true);
    read_chunks(&mut objects, opts, sink, file)?;
    objects.name_the_cut(opts, file)
}
