//! Container logs as Docker's `json-file` log driver writes them
//! (`/var/lib/docker/containers/ID/ID-json.log`): where the API server's audit log goes when it
//! runs with `--audit-log-path=-` on a node whose runtime is Docker (dockershim, cri-dockerd). Each line of
//! the container's output is one record,
//!
//! ```text
//! {"log":"{\"kind\":\"Event\",…}\n","stream":"stdout","time":"2024-03-01T10:00:00.123456789Z"}
//! ```
//!
//! Docker's `attrs` (labels, env, tag asked for with `--log-opt`) may come between `stream`
//! and `time`. Docker cuts a line longer than 16 KiB into parts, one record each, and ends
//! only the last part's `log` with the newline (`marshalMessage` in moby's
//! `daemon/logger/jsonfilelog/jsonfilelog.go`); the other stream's records may come between
//! them. Here the parts of each stream are joined, on the reading thread, in order, into one
//! record, read on the rayon pool as any line is and named by the line its first part is on.
//!
//! Whether a file is such a log is judged once, by its first lines ([`starts_json_file_log`]);
//! other JSON lines never come here. Until a record's `log` fails to end a line, chunks are
//! handed on as JSON lines are, whole, after one look at the end of each line (Docker's
//! layout is told from the line's last bytes, without going through its text): no state runs
//! across records until a split one is seen. From the chunk that holds it on, each line is
//! handed on as an item with its place, the parts of split records (rare: 16 KiB each) parsed
//! on this thread and joined.

use std::borrow::Cow;
use std::io;
use std::ops::Range;

use super::cri::Stream;
use super::input::Peeked;
use super::lines::{Chunk, ChunkSource, Chunker, Items, is_blank, read_chunks};
use super::records::Collector;
use super::summary::{FileSummary, Location, SkipKind};
use super::{BatchSink, ReadError, ReadOptions};
use crate::raw::scan;

/// The first lines of a file that are judged.
const LINES_JUDGED: usize = 8;

/// Whether `prefix` (a file's first bytes) holds, among its first lines, a record of Docker's
/// json-file driver: what sends the file to [`read_json_file`]. One look per file.
pub(super) fn starts_json_file_log(prefix: &[u8]) -> bool {
    let mut start = 0;
    let mut judged = 0;
    while start < prefix.len() && judged < LINES_JUDGED {
        let end = memchr::memchr(b'\n', &prefix[start..]).map_or(prefix.len(), |i| start + i);
        let line = prefix[start..end].trim_ascii();
        start = end + 1;
        if line.is_empty() {
            continue;
        }
        judged += 1;
        if classify(line).is_some() {
            return true;
        }
    }
    false
}

pub(super) fn read_json_file(
    stream: Peeked<'_>,
    opts: &ReadOptions,
    sink: &mut dyn BatchSink,
    file: &mut FileSummary,
) -> Result<(), ReadError> {
    let mut records = JsonFileLines {
        lines: Chunker::new(stream, opts.chunk_bytes, opts.max_line_bytes),
        line_no: 0,
        passed: 0,
        joining: false,
        open: [None, None],
        max_line: opts.max_line_bytes,
        done: false,
        failed: None,
    };
    read_chunks(&mut records, opts, sink, file)
}

/// What a line's look on the reading thread says of it: a Docker json-file record of `stream`,
/// whose `log` ends the line or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Part {
    stream: Stream,
    ends_line: bool,
}

/// `line` (trimmed) as a record of Docker's json-file driver: `log`, `stream` (stdout or
/// stderr) and `time`, and perhaps `attrs`, no other key. Docker's own layout is told from the
/// line's ends alone; any other (keys in another order, blanks) is parsed.
fn classify(line: &[u8]) -> Option<Part> {
    if let Some(part) = docker_layout(line) {
        return Some(part);
    }
    let key = scan::first_key(line)?;
    if !matches!(key, b"log" | b"stream" | b"attrs" | b"time") {
        return None;
    }
    let record = decode(line)?;
    Some(Part { stream: record.stream, ends_line: record.log.ends_with('\n') })
}

/// The number of backslashes `b` ends with.
fn trailing_backslashes(b: &[u8]) -> usize {
    b.iter().rev().take_while(|&&c| c == b'\\').count()
}

/// `{"log":"…","stream":"stdout","time":"…"}` (with `"attrs":{…}` before `time`), as Docker
/// writes it: the stream, and whether the `log` text ends in an escaped newline, read from the
/// line's ends without going through the text. Anything else is `None`, and parsed.
fn docker_layout(line: &[u8]) -> Option<Part> {
    const LOG: &[u8] = br#"{"log":""#;
    if !line.starts_with(LOG) {
        return None;
    }
    let rest = line.strip_suffix(b"\"}")?;
    // The time: no quote (the one found opens it) and no escape in it.
    let open = memchr::memrchr(b'"', rest)?;
    if memchr::memchr(b'\\', &rest[open + 1..]).is_some() {
        return None;
    }
    let mut head = rest[..open].strip_suffix(br#","time":"#)?;
    if head.ends_with(b"}") {
        head = &head[..memchr::memmem::rfind(head, br#","attrs":{"#)?];
    }
    let (head, stream) = if let Some(h) = head.strip_suffix(br#"","stream":"stdout""#) {
        (h, Stream::Stdout)
    } else if let Some(h) = head.strip_suffix(br#"","stream":"stderr""#) {
        (h, Stream::Stderr)
    } else {
        return None;
    };
    let text = head.get(LOG.len()..)?;
    // The quote after the text closes it: not itself escaped.
    if trailing_backslashes(text) % 2 == 1 {
        return None;
    }
    let ends_line = text.strip_suffix(b"n").is_some_and(|before| trailing_backslashes(before) % 2 == 1);
    Some(Part { stream, ends_line })
}

/// A record of Docker's json-file driver, as written or with its keys in another order.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonFileRecord<'a> {
    #[serde(borrow)]
    log: Cow<'a, str>,
    #[serde(borrow)]
    stream: Cow<'a, str>,
    #[serde(borrow)]
    time: Cow<'a, str>,
    #[serde(default)]
    #[allow(dead_code)]
    attrs: Option<serde::de::IgnoredAny>,
}

/// A json-file record read: its stream, its `log` text and its time.
struct Record<'a> {
    stream: Stream,
    log: Cow<'a, str>,
    time: Cow<'a, str>,
}

/// `line` parsed as a json-file record, or `None` when it is none (it is then read as any line
/// is, and named there if it does not read).
fn decode(line: &[u8]) -> Option<Record<'_>> {
    let r: JsonFileRecord<'_> = serde_json::from_slice(line).ok()?;
    let stream = match &*r.stream {
        "stdout" => Stream::Stdout,
        "stderr" => Stream::Stderr,
        _ => return None,
    };
    Some(Record { stream, log: r.log, time: r.time })
}

/// A record of a chunk that holds a split record's parts, read on a parser thread.
pub(super) enum Piece {
    /// A line of the chunk's `data`, read as a line of JSON lines is.
    Line(Range<usize>),
    /// A split record's parts joined into one record, in `data`, and the NUL bytes dropped from
    /// before its parts.
    Joined(Range<usize>, u64),
    /// Skipped while the parts were joined: the kind and why.
    Refused(SkipKind, String),
}

/// A record of a stream whose parts are being joined.
struct Open {
    /// The (absolute) line its first part is on.
    line: u64,
    /// Its `log` text so far.
    text: String,
    /// Its first part's time.
    time: String,
    /// The bytes of its parts' lines so far, held to the longest line accepted.
    bytes: usize,
    /// NUL bytes dropped from before its parts.
    nuls: u64,
    /// Longer than the longest line accepted: its parts are dropped as they come.
    too_long: bool,
}

/// The records of a json-file log in chunks of whole lines, as [`Chunker`] cuts them; a chunk
/// holding a part of a split record is handed on as [`Items::JsonFile`], its parts joined.
struct JsonFileLines<'a> {
    lines: Chunker<Peeked<'a>>,
    /// Lines handed on so far.
    line_no: u64,
    /// Lines of the chunks handed on as lines, whose places their parser counts from the
    /// chunk's start and the reader makes whole by adding the lines of those before it: what
    /// is added to the places of every later chunk. Chunks go on as lines only until the first
    /// split record (`joining`): this does not change after.
    passed: u64,
    /// A split record was seen: every chunk from it on is handed on as [`Items::JsonFile`],
    /// each line's place said by this reader. (A chunk of lines after one of those would be
    /// placed as if those held no line.)
    joining: bool,
    /// Per stream (stdout, stderr), the record whose parts are being joined.
    open: [Option<Open>; 2],
    max_line: usize,
    /// The lines ended (and the records left open were named).
    done: bool,
    /// A read error met while records left open were named: returned after them.
    failed: Option<io::Error>,
}

impl JsonFileLines<'_> {
    /// Whether a line of `data` is the first part of a split record; else the lines it holds.
    fn lines_if_whole(data: &[u8]) -> Option<u64> {
        let mut lines = 0;
        let mut start = 0;
        while start < data.len() {
            let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
            if classify(record_of(&data[start..end]).1).is_some_and(|p| !p.ends_line) {
                return None;
            }
            if end < data.len() {
                lines += 1;
            }
            start = end + 1;
        }
        Some(lines)
    }

    /// The chunk of lines `data` as records, parts of split ones joined.
    fn join(&mut self, mut data: Vec<u8>) -> Chunk {
        self.joining = true;
        let end = data.len();
        let mut items = Vec::new();
        let mut start = 0;
        while start < end {
            let (stop, next) = match memchr::memchr(b'\n', &data[start..end]) {
                Some(i) => (start + i, start + i + 1),
                None => (end, end),
            };
            let number = self.line_no + 1;
            if stop < end {
                self.line_no += 1;
            }
            self.take(&mut data, start..stop, number, &mut items);
            start = next;
        }
        Chunk { data, too_long: None, items: Some(Items::JsonFile(items)) }
    }

    /// Takes the line `range` of `data`, line `number`: it joins its stream's open record, or
    /// is handed on.
    fn take(&mut self, data: &mut Vec<u8>, range: Range<usize>, number: u64, items: &mut Vec<(u64, Piece)>) {
        let at = number.saturating_sub(self.passed);
        let raw = &data[range.clone()];
        let (nuls, line) = record_of(raw);
        let whole = |items: &mut Vec<(u64, Piece)>| items.push((at, Piece::Line(range.clone())));
        let Some(part) = classify(line) else { return whole(items) };
        if part.ends_line && self.open[part.stream.index()].is_none() {
            return whole(items);
        }
        // A part of a split record: read on this thread (parts are rare, and 16 KiB each).
        let Some(record) = decode(line) else { return whole(items) };
        let ends = record.log.ends_with('\n');
        let slot = &mut self.open[record.stream.index()];
        let open = match slot {
            Some(open) => open,
            // A record whose `log` is a whole JSON object is no part, newline or not (a
            // shipper's records of this shape may have theirs trimmed).
            None if ends || whole_object(&record.log) => return whole(items),
            None => slot.insert(Open {
                line: number,
                text: String::new(),
                time: record.time.clone().into_owned(),
                bytes: 0,
                nuls: 0,
                too_long: false,
            }),
        };
        open.bytes = open.bytes.saturating_add(raw.len());
        let stream = record.stream;
        open.nuls += nuls;
        open.too_long |= open.bytes > self.max_line;
        if open.too_long {
            // Its parts are not kept: memory stays bounded whatever the record's length.
            open.text = String::new();
        } else {
            open.text.push_str(&record.log);
        }
        if !ends {
            return;
        }
        if let Some(open) = self.open[stream.index()].take() {
            let at = open.line.saturating_sub(self.passed);
            items.push((at, joined(open, stream, self.max_line, data)));
        }
    }

    /// At the end of the lines: the records whose last part never came, in the order they
    /// started, named and skipped; `None` when there are none.
    fn close_open(&mut self) -> Option<Chunk> {
        let mut open: Vec<(Stream, Open)> = [Stream::Stdout, Stream::Stderr]
            .into_iter()
            .filter_map(|s| self.open[s.index()].take().map(|o| (s, o)))
            .collect();
        if open.is_empty() {
            return None;
        }
        open.sort_by_key(|(_, o)| o.line);
        let items = open
            .into_iter()
            .map(|(stream, o)| {
                let why = format!(
                    "cut short: the file ends before the last part of this {} record, which Docker's \
                     json-file log driver split into parts (each `log` but the last without a newline); \
                     it is skipped",
                    stream.name()
                );
                (o.line.saturating_sub(self.passed), Piece::Refused(SkipKind::Malformed, why))
            })
            .collect();
        Some(Chunk { data: Vec::new(), too_long: None, items: Some(Items::JsonFile(items)) })
    }
}

/// A line as its record is read: the NUL bytes before it (a log truncated in place) dropped
/// and counted, blanks trimmed.
fn record_of(raw: &[u8]) -> (u64, &[u8]) {
    let nuls = raw.iter().take_while(|&&b| b == 0).count();
    (nuls as u64, raw[nuls..].trim_ascii())
}

/// Whether `text` is a whole JSON object.
fn whole_object(text: &str) -> bool {
    let text = text.trim();
    text.starts_with('{') && serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

/// A record whose last part came, as one json-file record appended to `data`; or why it is
/// skipped.
fn joined(open: Open, stream: Stream, max: usize, data: &mut Vec<u8>) -> Piece {
    if open.too_long {
        return Piece::Refused(
            SkipKind::TooLong,
            format!("line longer than {max} bytes once the parts Docker split it into are joined, skipped"),
        );
    }
    let start = data.len();
    let written = (|| -> serde_json::Result<()> {
        data.extend_from_slice(br#"{"log":"#);
        serde_json::to_writer(&mut *data, &open.text)?;
        data.extend_from_slice(br#","stream":"#);
        serde_json::to_writer(&mut *data, stream.name())?;
        data.extend_from_slice(br#","time":"#);
        serde_json::to_writer(&mut *data, &open.time)?;
        data.push(b'}');
        Ok(())
    })();
    match written {
        Ok(()) => Piece::Joined(start..data.len(), open.nuls),
        Err(e) => {
            data.truncate(start);
            Piece::Refused(SkipKind::Malformed, format!("its parts could not be joined: {e}"))
        }
    }
}

impl ChunkSource for JsonFileLines<'_> {
    fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        if self.done {
            return Ok(None);
        }
        let chunk = match self.lines.next_chunk() {
            Ok(Some(chunk)) => chunk,
            Ok(None) => {
                self.done = true;
                return Ok(self.close_open());
            }
            // A truncated gzip stream, an I/O error: the records left open are named first.
            Err(e) => {
                self.done = true;
                return match self.close_open() {
                    Some(chunk) => {
                        self.failed = Some(e);
                        Ok(Some(chunk))
                    }
                    None => Err(e),
                };
            }
        };
        if chunk.is_idle() {
            return Ok(Some(chunk));
        }
        if chunk.too_long.is_some() {
            // One line, too long to keep: counted by its parser, until a split record was seen.
            self.line_no += 1;
            if !self.joining {
                self.passed += 1;
                return Ok(Some(chunk));
            }
            let why = format!("line longer than {} bytes, skipped", self.max_line);
            let at = self.line_no.saturating_sub(self.passed);
            let items = vec![(at, Piece::Refused(SkipKind::TooLong, why))];
            return Ok(Some(Chunk { data: chunk.data, too_long: None, items: Some(Items::JsonFile(items)) }));
        }
        if !self.joining
            && let Some(lines) = Self::lines_if_whole(&chunk.data)
        {
            // No part of a split record: the chunk goes on as JSON lines do.
            self.line_no += lines;
            self.passed += lines;
            return Ok(Some(chunk));
        }
        Ok(Some(self.join(chunk.data)))
    }

    fn location(&self, _lines_before: u64) -> Location {
        Location::Line(self.line_no + 1)
    }

    fn recycle(&mut self, data: Vec<u8>) {
        self.lines.recycle(data);
    }
}

/// One record of a chunk of [`Items::JsonFile`], read on a parser thread: a line as a line of
/// JSON lines is read (`max_line` the longest accepted), a joined record as one.
pub(super) fn read_piece(c: &mut Collector, data: &[u8], line: u64, piece: &Piece, max_line: usize) {
    let at = Location::Line(line);
    match piece {
        Piece::Line(range) => {
            let line = data.get(range.clone()).unwrap_or_default();
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let nuls = line.iter().take_while(|&&b| b == 0).count();
            c.nul_bytes += nuls as u64;
            let line = &line[nuls..];
            if line.len() > max_line {
                c.skip(at, SkipKind::TooLong, format!("line longer than {max_line} bytes, skipped"));
            } else if !is_blank(line) {
                c.json_record(line, at);
            }
        }
        Piece::Joined(range, nuls) => {
            c.nul_bytes += nuls;
            c.json_record(data.get(range.clone()).unwrap_or_default(), at);
        }
        Piece::Refused(kind, why) => c.skip(at, *kind, why.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::{Part, Stream, classify, starts_json_file_log};

    fn part(line: &str) -> Option<(Stream, bool)> {
        classify(line.as_bytes()).map(|Part { stream, ends_line }| (stream, ends_line))
    }

    #[test]
    fn a_json_file_record_is_told_by_its_keys_and_its_log_by_its_last_escape() {
        let t = r#""time":"2024-03-01T10:00:00.123456789Z""#;
        assert_eq!(
            part(&format!(r#"{{"log":"{{\"a\":1}}\n","stream":"stdout",{t}}}"#)),
            Some((Stream::Stdout, true))
        );
        assert_eq!(
            part(&format!(r#"{{"log":"{{\"a\":","stream":"stderr",{t}}}"#)),
            Some((Stream::Stderr, false))
        );
        // An escaped backslash before `n` is no newline; one before the closing quote makes it
        // no closing quote, and the line is parsed (and is no record).
        assert_eq!(
            part(&format!(r#"{{"log":"a\\n","stream":"stdout",{t}}}"#)),
            Some((Stream::Stdout, false))
        );
        assert_eq!(
            part(&format!(r#"{{"log":"a\\\n","stream":"stdout",{t}}}"#)),
            Some((Stream::Stdout, true))
        );
        assert_eq!(part(&format!(r#"{{"log":"a\","stream":"stdout",{t}}}"#)), None);
        // Docker's `attrs`; the keys in another order, with blanks.
        let attrs = format!(r#"{{"log":"x\n","stream":"stdout","attrs":{{"tag":"a","stream":"b"}},{t}}}"#);
        assert_eq!(part(&attrs), Some((Stream::Stdout, true)));
        assert_eq!(
            part(&format!(r#"{{ {t}, "stream": "stderr", "log": "x" }}"#)),
            Some((Stream::Stderr, false))
        );
        // Another key (a shipper's), another stream, no `log`: no json-file record.
        assert_eq!(part(&format!(r#"{{"log":"x","stream":"stdout",{t},"kubernetes":{{}}}}"#)), None);
        assert_eq!(part(&format!(r#"{{"log":"x","stream":"stdin",{t}}}"#)), None);
        assert_eq!(part(&format!(r#"{{"stream":"stdout",{t}}}"#)), None);
        assert_eq!(part(r#"{"kind":"Event","log":"x","stream":"stdout","time":"t"}"#), None);
        assert_eq!(part(r#"{"log":""#), None);
        assert_eq!(part(r#"{"log":"","stream":"stdout","time":"t"}"#), Some((Stream::Stdout, false)));
    }

    #[test]
    fn a_file_is_judged_by_its_first_lines() {
        let record = r#"{"log":"x\n","stream":"stdout","time":"2024-03-01T10:00:00Z"}"#;
        assert!(starts_json_file_log(format!("{record}\n").as_bytes()));
        // A first line cut off (`tail -c`), blank lines.
        assert!(starts_json_file_log(format!("dout\",\"time\":\"x\"}}\n\n{record}\n").as_bytes()));
        assert!(!starts_json_file_log(b"{\"kind\":\"Event\"}\n{\"log\":{\"kind\":\"Event\"}}\n"));
        let ninth = format!("{}{record}\n", "{\"kind\":\"Event\"}\n".repeat(8));
        assert!(!starts_json_file_log(ninth.as_bytes()));
    }
}
