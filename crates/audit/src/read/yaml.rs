//! YAML streams (what `gcloud logging read` prints by default: one entry per document, each
//! after a `---` line), read as JSON lines are: documents are cut apart at their marker lines
//! on the reading thread, chunks of whole documents are parsed on the rayon pool, and the
//! results handed on in the file's order. Memory stays bounded whatever the file's size; a
//! document that does not parse costs only itself.
//!
//! A line is a document's start when it begins with `---` followed by white space or nothing,
//! and its end when it begins with `...` so: YAML forbids both inside a document's content
//! (a block scalar's lines included), so a scan of line starts finds every document. Text
//! before the first marker, or after an end marker, is a document of its own when it holds
//! more than comments, directives and blank lines.

use std::io::{self, Read};
use std::ops::Range;

use serde::Deserialize;
use serde_json::Value;

use super::input::Peeked;
use super::lines::{Chunk, ChunkSource, Items, read_chunks, read_or_hold};
use super::records::Collector;
use super::summary::{FileSummary, Location, SkipKind};
use super::{BatchSink, ReadError, ReadOptions};

/// The document being cut: where it starts in `carry`, its number once it is one, its first line.
struct Open {
    start: usize,
    number: Option<u64>,
    line: u64,
}

/// Cuts a YAML stream into chunks of whole documents.
struct Documents<R> {
    r: R,
    carry: Vec<u8>,
    /// Where the next line to look at starts in `carry`, and its number.
    pos: usize,
    line: u64,
    open: Open,
    next_number: u64,
    eof: bool,
    /// A read error met while documents before it were still held: they are handed on first.
    failed: Option<io::Error>,
    /// The open document grew past the limit: its lines are dropped until it ends.
    dropping: bool,
    /// A line longer than the limit was dropped in part: what follows up to its newline is
    /// the rest of it, no line start.
    mid_line: bool,
    chunk_bytes: usize,
    max_document: usize,
}

/// What a line is to the cut.
enum Line {
    Start,
    End,
    /// Comments, directives, blank: no document by itself.
    Nothing,
    Content,
}

fn line_kind(line: &[u8]) -> Line {
    let marker = |m: &[u8]| {
        line.starts_with(m) && line.get(3).is_none_or(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
    };
    if marker(b"---") {
        return Line::Start;
    }
    if marker(b"...") {
        return Line::End;
    }
    match line.iter().find(|b| !b.is_ascii_whitespace()) {
        None | Some(b'#' | b'%') => Line::Nothing,
        Some(_) => Line::Content,
    }
}

impl<R: Read> Documents<R> {
    fn new(r: R, opts: &ReadOptions) -> Documents<R> {
        Documents {
            r,
            carry: Vec::new(),
            pos: 0,
            line: 1,
            open: Open { start: 0, number: None, line: 1 },
            next_number: 1,
            eof: false,
            failed: None,
            dropping: false,
            mid_line: false,
            chunk_bytes: opts.chunk_bytes.max(1),
            max_document: opts.max_line_bytes,
        }
    }

    fn number(&mut self) -> u64 {
        let n = self.next_number;
        self.next_number += 1;
        n
    }

    /// The open document ends before `end`: pushed when it is one (or named when dropped).
    fn close(
        &mut self,
        end: usize,
        items: &mut Vec<(u64, u64, Range<usize>)>,
        too_long: &mut Option<Location>,
    ) {
        if let Some(number) = self.open.number {
            if std::mem::take(&mut self.dropping) {
                *too_long = Some(Location::Document(number));
            } else {
                items.push((number, self.open.line, self.open.start..end));
            }
        }
        self.dropping = false;
    }

    /// Looks at each whole line after `pos`; returns early after a dropped document, so that
    /// it is reported with its chunk.
    fn scan(&mut self, items: &mut Vec<(u64, u64, Range<usize>)>, too_long: &mut Option<Location>) {
        while let Some(n) = memchr::memchr(b'\n', &self.carry[self.pos..]) {
            let (at, end) = (self.pos, self.pos + n + 1);
            if std::mem::take(&mut self.mid_line) {
                self.pos = end;
                self.line += 1;
                continue;
            }
            self.step(at, end, items, too_long);
            if too_long.is_some() {
                return;
            }
        }
        if self.eof && self.pos < self.carry.len() && !self.mid_line {
            // A last line without a newline.
            let (at, end) = (self.pos, self.carry.len());
            self.step(at, end, items, too_long);
        }
    }

    /// The line `carry[at..end]`.
    fn step(
        &mut self,
        at: usize,
        end: usize,
        items: &mut Vec<(u64, u64, Range<usize>)>,
        too_long: &mut Option<Location>,
    ) {
        match line_kind(&self.carry[at..end]) {
            Line::Start => {
                self.close(at, items, too_long);
                let number = Some(self.number());
                self.open = Open { start: at, number, line: self.line };
            }
            Line::End => {
                self.close(end, items, too_long);
                self.open = Open { start: end, number: None, line: self.line + 1 };
            }
            Line::Content if self.open.number.is_none() => self.open.number = Some(self.number()),
            _ => {}
        }
        self.pos = end;
        self.line += 1;
    }

    fn next_documents(&mut self) -> io::Result<Option<Chunk>> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let mut items = Vec::new();
        let mut too_long = None;
        loop {
            self.scan(&mut items, &mut too_long);
            if self.eof {
                let end = self.carry.len();
                self.close(end, &mut items, &mut too_long);
                self.open = Open { start: end, number: None, line: self.line };
                break;
            }
            if too_long.is_some() || (!items.is_empty() && self.open.start >= self.chunk_bytes) {
                break;
            }
            if self.carry.len() - self.open.start > self.max_document {
                // A document too long to keep: its whole lines go, and it is named when it ends.
                self.dropping = true;
                self.carry.drain(self.open.start..self.pos);
                self.pos = self.open.start;
                if self.carry.len() - self.pos > self.max_document {
                    // So does a line longer than that, up to its end.
                    self.carry.truncate(self.pos);
                    self.mid_line = true;
                }
            }
            let want = self.chunk_bytes.clamp(64 << 10, 1 << 20);
            let held = !items.is_empty() || too_long.is_some();
            match read_or_hold(&mut self.r, &mut self.carry, want, held, &mut self.failed)? {
                Some(0) => self.eof = true,
                Some(_) => {}
                None => break,
            }
        }
        if items.is_empty() && too_long.is_none() {
            return Ok(None);
        }
        let start = self.open.start;
        let rest = self.carry.split_off(start);
        let data = std::mem::replace(&mut self.carry, rest);
        self.pos -= start;
        self.open.start = 0;
        Ok(Some(Chunk { data, too_long, items: Some(Items::Documents(items)) }))
    }
}

impl<R: Read> ChunkSource for Documents<R> {
    fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        self.next_documents()
    }

    fn location(&self, _lines_before: u64) -> Location {
        Location::Document(self.next_number)
    }
}

/// Reads a YAML stream ([`Container::Yaml`](super::Container::Yaml)), each document a record.
/// A file with no audit event in it (front matter, manifests, configuration) is *not an audit
/// format*, named by its first skipped document; with `strict`, a skipped document of a file
/// that holds events fails the read once every document was read.
pub(super) fn read_yaml(
    stream: Peeked<'_>,
    opts: &ReadOptions,
    sink: &mut dyn BatchSink,
    file: &mut FileSummary,
) -> Result<(), ReadError> {
    let lenient = ReadOptions { strict: false, max_examples: opts.max_examples.max(1), ..opts.clone() };
    let mut documents = Documents::new(stream, opts);
    read_chunks(&mut documents, &lenient, sink, file)?;
    if file.events == 0 && file.incomplete.is_none() {
        // Front matter, manifests, configuration: YAML, but no audit log.
        let why =
            file.examples.first().map(|s| format!(" ({}: {})", s.location, s.message)).unwrap_or_default();
        file.not_audit = Some(format!("not an audit format: YAML with no audit Event{why}"));
        file.skipped = 0;
        file.skipped_by_kind.clear();
        file.examples.clear();
        return Ok(());
    }
    file.examples.truncate(opts.max_examples);
    match file.examples.first() {
        Some(first) if opts.strict => Err(ReadError::Strict(first.clone())),
        _ => Ok(()),
    }
}

/// One YAML document (`number`, starting on `line` of the file) read as a record: each of its
/// documents, should it hold several, read as a JSON value would be.
pub(super) fn read_document(c: &mut Collector, bytes: &[u8], number: u64, line: u64) {
    let at = Location::Document(number);
    let Ok(text) = std::str::from_utf8(bytes) else {
        return c.skip(at, SkipKind::Malformed, "not UTF-8 text".to_owned());
    };
    // The YAML parser's time grows about with the cube of a flow collection's depth (a 200 KB
    // document of 100,000 `[` took 36 s before it failed: ingest review s38, item 4); no audit
    // event nests anywhere near this deep, and JSON's readers refuse 128 levels.
    if let Some(line_in_document) = flow_too_deep(bytes, MAX_FLOW_DEPTH) {
        return c.skip(
            at,
            SkipKind::Malformed,
            format!(
                "invalid YAML: brackets nested deeper than {MAX_FLOW_DEPTH} levels at line {}, not parsed",
                line_in_document + line - 1
            ),
        );
    }
    for document in yaml_serde::Deserializer::from_str(text) {
        match Value::deserialize(document) {
            Ok(Value::Null) => {}
            Ok(v) => {
                // YAML's unquoted `name: 1234` is text to the writer: read as its text.
                if let Err((kind, message)) = crate::raw::scalars_as_text(|| c.value_record(v)) {
                    c.skip(at, kind, message);
                }
            }
            Err(e) => {
                let message = lines_of_the_file(&e.to_string(), line - 1);
                c.skip(at, SkipKind::Malformed, format!("invalid YAML: {message}"));
                break;
            }
        }
    }
}

/// Deepest flow collections (`[`, `{`) a document may open before it is skipped unparsed.
const MAX_FLOW_DEPTH: usize = 128;

/// The line (1-based, in `bytes`) where brackets not yet closed first exceed `max` levels;
/// `None` when they never do. Brackets inside quoted scalars or comments are counted too, which
/// only matters for text holding over `max` unclosed ones: no event's does.
fn flow_too_deep(bytes: &[u8], max: usize) -> Option<u64> {
    let (mut depth, mut line) = (0usize, 1u64);
    for &b in bytes {
        match b {
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Some(line);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'\n' => line += 1,
            _ => {}
        }
    }
    None
}

/// A YAML error's `line N`, said of the document, said of the file: `before` lines later.
fn lines_of_the_file(message: &str, before: u64) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(i) = rest.find("line ") {
        let (head, tail) = rest.split_at(i + "line ".len());
        out.push_str(head);
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        match tail[..digits].parse::<u64>() {
            Ok(n) => out.push_str(&(n + before).to_string()),
            Err(_) => out.push_str(&tail[..digits]),
        }
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}
