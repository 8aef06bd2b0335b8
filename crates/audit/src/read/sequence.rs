//! JSON objects written one after another with nothing but white space between them (what
//! Firehose writes to S3 from a CloudWatch Logs subscription: payload after payload, no
//! newline), read the way JSON lines are: a scan that follows only strings and nesting cuts
//! the objects apart, chunks of them are parsed in parallel on the rayon pool, each object
//! read as a line would be and numbered as a record. An object that does not parse is
//! reported and skipped, and the rest is read.

use std::io::{self, Read};
use std::ops::Range;

use super::input::Peeked;
use super::lines::{Chunk, ChunkSource, Items, cut_short, past_string, read_chunks, read_or_hold};
use super::summary::{FileSummary, Location};
use super::{BatchSink, ReadError, ReadOptions};

/// The scan's state between reads.
#[derive(Default)]
struct Scan {
    /// Nesting (0: between the objects).
    depth: u32,
    in_string: bool,
    escaped: bool,
}

/// Cuts a stream of objects one after another into chunks of whole objects.
struct Objects<R> {
    r: R,
    /// Bytes read and not yet handed on; `carry[start..]` is the object being scanned.
    carry: Vec<u8>,
    /// Where the scan stands in `carry`.
    pos: usize,
    /// Where the object being scanned starts in `carry`.
    start: usize,
    eof: bool,
    scan: Scan,
    /// The number the next object will get.
    next_item: u64,
    /// The object being scanned grew past the limit: its bytes are dropped as they come.
    dropping: bool,
    /// A read error met while records before it were still held: they are handed on first.
    failed: Option<io::Error>,
    chunk_bytes: usize,
    max_object: usize,
}

impl<R: Read> Objects<R> {
    fn new(r: R, opts: &ReadOptions) -> Objects<R> {
        Objects {
            r,
            carry: Vec::new(),
            pos: 0,
            start: 0,
            eof: false,
            scan: Scan::default(),
            next_item: 1,
            dropping: false,
            failed: None,
            chunk_bytes: opts.chunk_bytes.max(1),
            max_object: opts.max_line_bytes,
        }
    }

    /// After reading: when the file ended inside an object, it is named and skipped.
    fn name_the_cut(&self, opts: &ReadOptions, file: &mut FileSummary) -> Result<(), ReadError> {
        if !self.eof || self.carry[self.start..].iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let message = "truncated JSON: the file ends inside this object, which is skipped".to_owned();
        cut_short(file, opts, Location::Item(self.next_item), message)
    }

    /// Scans `carry[pos..]`; pushes each object that ends there.
    fn scan(&mut self, items: &mut Vec<(u64, Range<usize>)>, too_long: &mut Option<Location>) {
        let s = &mut self.scan;
        while self.pos < self.carry.len() {
            if s.in_string {
                if !past_string(&self.carry, &mut self.pos, &mut s.escaped) {
                    break;
                }
                s.in_string = false;
                continue;
            }
            match self.carry[self.pos] {
                b'"' => s.in_string = true,
                b'{' | b'[' => s.depth += 1,
                b'}' | b']' if s.depth == 1 => {
                    // An object ends here.
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
                // Between the objects there are no separators: anything else there is read as
                // the start of the next one (and named when it does not parse).
                _ => {}
            }
            self.pos += 1;
        }
    }

    fn next_objects(&mut self) -> io::Result<Option<Chunk>> {
        let mut items = Vec::new();
        let mut too_long = None;
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        loop {
            self.scan(&mut items, &mut too_long);
            let enough = self.start >= self.chunk_bytes || too_long.is_some();
            if self.eof || enough {
                break;
            }
            if self.carry.len() - self.start > self.max_object {
                // An object too long to keep: drop what it has so far and keep scanning.
                self.dropping = true;
                self.carry.truncate(self.start);
                self.pos = self.start;
            }
            let want = (self.chunk_bytes / 4).max(64 * 1024);
            let held = !items.is_empty() || too_long.is_some();
            let Some(read) = read_or_hold(&mut self.r, &mut self.carry, want, held, &mut self.failed)? else {
                break;
            };
            if read == 0 {
                self.eof = true;
            }
        }
        if items.is_empty() && too_long.is_none() {
            return Ok(None);
        }
        // Hand on the bytes of the objects found; keep the one being scanned.
        let rest = self.carry.split_off(self.start);
        let data = std::mem::replace(&mut self.carry, rest);
        self.pos -= self.start;
        self.start = 0;
        Ok(Some(Chunk { data, too_long, items: Some(Items::Values(items)) }))
    }
}

impl<R: Read> ChunkSource for Objects<R> {
    fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        self.next_objects()
    }

    fn location(&self, _lines_before: u64) -> Location {
        Location::Item(self.next_item)
    }
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
    let mut objects = Objects::new(stream, opts);
    read_chunks(&mut objects, opts, sink, file)?;
    objects.name_the_cut(opts, file)
}
