//! A top-level JSON array (what `az monitor log-analytics query -o json` prints), read the
//! way JSON lines are: a scan that follows only strings and nesting cuts the elements apart,
//! chunks of them are parsed in parallel on the rayon pool, each element numbered as an
//! item. An element that does not parse is reported and skipped, and the rest is read.
//! Whatever follows the closing bracket (another document) is read as documents.
//!
//! JSON objects written one after another with nothing but white space between them (what
//! Firehose writes to S3 from a CloudWatch Logs subscription: payload after payload, no
//! newline) are cut apart by the same scan, each object read as a line would be.

use std::io::{self, Cursor, Read};
use std::ops::Range;

use super::input::Peeked;
use super::lines::{Chunk, ChunkSource, Items, read_chunks, read_some};
use super::summary::{FileSummary, Location, SkipKind, SkippedRecord};
use super::{BatchSink, ReadError, ReadOptions};

/// The scan's state between reads.
#[derive(Default)]
struct Scan {
    /// Past the opening `[`.
    opened: bool,
    /// Past the closing `]`.
    closed: bool,
    /// Nesting inside the top array (0: between its elements).
    depth: u32,
    in_string: bool,
    escaped: bool,
}

/// Cuts a stream holding one JSON array into chunks of whole elements.
struct Elements<R> {
    r: R,
    /// Bytes read and not yet handed on; `carry[start..]` is the element being scanned.
    carry: Vec<u8>,
    /// Where the scan stands in `carry`.
    pos: usize,
    /// Where the element being scanned starts in `carry`.
    start: usize,
    eof: bool,
    scan: Scan,
    /// The number the next element will get.
    next_item: u64,
    /// The element being scanned grew past the limit: its bytes are dropped as they come.
    dropping: bool,
    chunk_bytes: usize,
    max_element: usize,
    /// Objects one after another ([`read_sequence`]) rather than one array's elements.
    sequence: bool,
}

impl<R: Read> Elements<R> {
    /// A cutter of `r`: one array's elements, or with `sequence` objects one after another.
    fn new(r: R, opts: &ReadOptions, sequence: bool) -> Elements<R> {
        Elements {
            r,
            carry: Vec::new(),
            pos: 0,
            start: 0,
            eof: false,
            scan: Scan { opened: sequence, ..Scan::default() },
            next_item: 1,
            dropping: false,
            chunk_bytes: opts.chunk_bytes.max(1),
            max_element: opts.max_line_bytes,
            sequence,
        }
    }

    /// After reading: when the file ended inside an element, it is named (`what` the file
    /// ended inside) and skipped.
    fn name_the_cut(&self, what: &str, opts: &ReadOptions, file: &mut FileSummary) -> Result<(), ReadError> {
        if !self.eof || self.carry[self.start..].iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        file.skip(
            opts.max_examples,
            SkippedRecord {
                file: file.file.clone(),
                location: Location::Item(self.next_item),
                kind: SkipKind::Malformed,
                message: format!("truncated JSON: the file ends inside {what}, which is skipped"),
            },
        );
        match file.examples.first() {
            Some(first) if opts.strict => Err(ReadError::Strict(first.clone())),
            _ => Ok(()),
        }
    }

    /// Scans `carry[pos..]`; pushes each element that ends there.
    fn scan(&mut self, items: &mut Vec<(u64, Range<usize>)>, too_long: &mut Option<Location>) {
        let s = &mut self.scan;
        while self.pos < self.carry.len() && !s.closed {
            if s.in_string {
                if s.escaped {
                    // The byte after a backslash, a quote maybe: part of the string.
                    s.escaped = false;
                    self.pos += 1;
                    continue;
                }
                // Straight to the next quote or backslash.
                match memchr::memchr2(b'"', b'\\', &self.carry[self.pos..]) {
                    None => {
                        self.pos = self.carry.len();
                        break;
                    }
                    Some(i) => self.pos += i,
                }
                if self.carry[self.pos] == b'\\' {
                    s.escaped = true;
                } else {
                    s.in_string = false;
                }
                self.pos += 1;
                continue;
            }
            let b = self.carry[self.pos];
            match b {
                b'"' => s.in_string = true,
                b'[' if !s.opened => {
                    s.opened = true;
                    self.start = self.pos + 1;
                }
                b'{' | b'[' => s.depth += 1,
                b'}' | b']' if s.depth == 1 && self.sequence => {
                    // An object of the sequence ends here.
                    s.depth = 0;
                    let item = self.next_item;
                    self.next_item += 1;
                    if std::mem::take(&mut self.dropping) {
                        *too_long = Some(Location::Item(item));
                        self.pos += 1;
                        self.start = self.pos;
                        return;
                    }
                    items.push((item, self.start..self.pos + 1));
                    self.start = self.pos + 1;
                }
                b'}' | b']' if s.depth > 0 => s.depth -= 1,
                // Between a sequence's objects there are no separators: anything else there is
                // read as the start of the next one (and named when it does not parse).
                _ if self.sequence => {}
                b',' | b']' if s.depth == 0 && s.opened => {
                    let item = self.next_item;
                    self.next_item += 1;
                    let blank = self.carry[self.start..self.pos].iter().all(u8::is_ascii_whitespace);
                    let dropped = std::mem::take(&mut self.dropping);
                    if dropped {
                        *too_long = Some(Location::Item(item));
                    } else if !blank || b == b',' {
                        // A blank element before a comma (`[,` or `,,`) is numbered and
                        // reported when parsed.
                        items.push((item, self.start..self.pos));
                    } else {
                        // `[]` or a trailing `,]`: no element.
                        self.next_item -= 1;
                    }
                    self.start = self.pos + 1;
                    if b == b']' {
                        s.closed = true;
                    }
                    if dropped {
                        // Hand this chunk on now, so each dropped element is reported.
                        self.pos += 1;
                        return;
                    }
                }
                _ => {}
            }
            self.pos += 1;
        }
    }

    fn next_elements(&mut self) -> io::Result<Option<Chunk>> {
        let mut items = Vec::new();
        let mut too_long = None;
        loop {
            self.scan(&mut items, &mut too_long);
            let enough = self.start >= self.chunk_bytes || too_long.is_some();
            if self.scan.closed || self.eof || enough {
                break;
            }
            if self.carry.len() - self.start > self.max_element {
                // An element too long to keep: drop what it has so far and keep scanning.
                self.dropping = true;
                self.carry.truncate(self.start);
                self.pos = self.start;
            }
            if read_some(&mut self.r, &mut self.carry, (self.chunk_bytes / 4).max(64 * 1024))? == 0 {
                self.eof = true;
            }
        }
        if items.is_empty() && too_long.is_none() {
            return Ok(None);
        }
        // Hand on the bytes of the elements found; keep the one being scanned.
        let rest = self.carry.split_off(self.start);
        let data = std::mem::replace(&mut self.carry, rest);
        self.pos -= self.start;
        self.start = 0;
        let items = if self.sequence { Items::Values(items) } else { Items::Elements(items) };
        Ok(Some(Chunk { data, too_long, items: Some(items) }))
    }
}

impl<R: Read> ChunkSource for Elements<R> {
    fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        self.next_elements()
    }

    fn location(&self, _lines_before: u64) -> Location {
        Location::Item(self.next_item)
    }
}

pub(super) fn read_array(
    stream: Peeked<'_>,
    opts: &ReadOptions,
    sink: &mut dyn BatchSink,
    file: &mut FileSummary,
) -> Result<(), ReadError> {
    let mut elements = Elements::new(stream, opts, false);
    read_chunks(&mut elements, opts, sink, file)?;
    if !elements.scan.closed {
        // The file ends inside the array: what was read before the cut is kept.
        let what = format!("array element {}", elements.next_item);
        return elements.name_the_cut(&what, opts, file);
    }
    // After the array: whitespace, or more documents.
    let rest = elements.carry.split_off(elements.pos);
    let more: Peeked<'_> = Cursor::new(rest).chain(Box::new(elements.r));
    super::document::read_document(more, opts, sink, file)
}

/// JSON objects one after another ([`Container::JsonSequence`](super::Container::JsonSequence)),
/// each read as a line would be, in parallel; each numbered as a record. An object cut short
/// at the end of the file is named and skipped.
pub(super) fn read_sequence(
    stream: Peeked<'_>,
    opts: &ReadOptions,
    sink: &mut dyn BatchSink,
    file: &mut FileSummary,
) -> Result<(), ReadError> {
    let mut values = Elements::new(stream, opts, true);
    read_chunks(&mut values, opts, sink, file)?;
    values.name_the_cut("this object", opts, file)
}
