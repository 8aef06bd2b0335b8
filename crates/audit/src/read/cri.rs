//! Container logs in the CRI format, as the kubelet's runtime (containerd, CRI-O) writes them
//! under `/var/log/pods/…/N.log` (linked from `/var/log/containers/*.log`): where the API
//! server's audit log goes when it runs with `--audit-log-path=-`, as in kind or a kubeadm
//! static pod, and what support bundles and must-gathers copy. Each line is
//!
//! ```text
//! 2024-03-01T10:00:00.123456789Z stdout F {"kind":"Event",…}
//! ```
//!
//! the time, the stream, the tag and the content. The runtime splits a line longer than its
//! limit (16 KiB by default) into parts: each but the last is tagged `P` (partial), the last
//! `F` (full), and the other stream's lines may come between them. The parts of each stream are
//! joined here, on the reading thread, in order; the joined contents are then read on the
//! rayon pool as JSON lines are ([`super::lines`]), each named by the line it starts on. The
//! CRI API's tags may one day be several, joined by `:`; the first is `P` or `F`.

use std::io::{self, BufRead, BufReader};
use std::ops::Range;

use super::input::Peeked;
use super::lines::{Chunk, ChunkSource, Items, keep_spare, read_chunks};
use super::records::{Collector, short, time_prefix};
use super::summary::{FileSummary, Location, SkipKind};
use super::{BatchSink, ReadError, ReadOptions};

/// Bytes of a line kept beyond the longest content accepted: its time, stream and tag.
const PREFIX_ROOM: usize = 256;

pub(super) fn read_cri(
    stream: Peeked<'_>,
    opts: &ReadOptions,
    sink: &mut dyn BatchSink,
    file: &mut FileSummary,
) -> Result<(), ReadError> {
    let mut lines = CriLines {
        r: BufReader::with_capacity(1 << 20, stream),
        line: Vec::new(),
        line_no: 0,
        open: [None, None],
        chunk_bytes: opts.chunk_bytes,
        max_line: opts.max_line_bytes,
        spare: Vec::new(),
        done: false,
        failed: None,
    };
    read_chunks(&mut lines, opts, sink, file)
}

/// Whether `line` is a line of a CRI container log: what detection judges the first line by.
pub(super) fn is_cri_line(line: &[u8]) -> bool {
    parse_line(line).is_some()
}

/// The stream a container wrote a line to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub(super) fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }

    pub(super) fn index(self) -> usize {
        match self {
            Stream::Stdout => 0,
            Stream::Stderr => 1,
        }
    }
}

/// One line of a CRI container log, its time dropped (the event carries its own).
struct CriLine<'a> {
    stream: Stream,
    /// Tagged `P`: the line goes on in the stream's next line.
    partial: bool,
    content: &'a [u8],
}

/// `TIME STREAM TAG CONTENT`, as the kubelet parses it (`parseCRILog` in
/// `pkg/kubelet/kuberuntime/logs/logs.go`): an RFC 3339 time, `stdout` or `stderr`, tags
/// joined by `:` of which the first is `P` or `F`, and the content after one space.
fn parse_line(line: &[u8]) -> Option<CriLine<'_>> {
    let rest = time_prefix(line)?;
    let (stream, rest) = if let Some(rest) = rest.strip_prefix(b"stdout ") {
        (Stream::Stdout, rest)
    } else if let Some(rest) = rest.strip_prefix(b"stderr ") {
        (Stream::Stderr, rest)
    } else {
        return None;
    };
    let tags_end = memchr::memchr(b' ', rest).unwrap_or(rest.len());
    let partial = match rest[..tags_end].split(|&b| b == b':').next() {
        Some(b"P") => true,
        Some(b"F") => false,
        _ => return None,
    };
    let content = rest.get(tags_end + 1..).unwrap_or_default();
    Some(CriLine { stream, partial, content })
}

/// A record of a chunk: the content of a line (its parts joined), or why it was skipped.
pub(super) enum Piece {
    /// The content, its bytes in the chunk's `data`, and the stream it was written to.
    Content(Stream, Range<usize>),
    /// Skipped while the lines were joined: the kind and why.
    Refused(SkipKind, String),
}

/// A line of a stream whose parts are being joined.
struct Open {
    /// The line its first part is on.
    line: u64,
    data: Vec<u8>,
    /// Longer than the longest line accepted: its parts are dropped as they come.
    too_long: bool,
}

/// The lines of a CRI container log in chunks of about `chunk_bytes` of content.
struct CriLines<'a> {
    r: BufReader<Peeked<'a>>,
    /// The line being read, without its newline (at most `max_line` and [`PREFIX_ROOM`] bytes).
    line: Vec<u8>,
    /// Lines read so far.
    line_no: u64,
    /// Per stream (stdout, stderr), the line whose parts are being joined.
    open: [Option<Open>; 2],
    chunk_bytes: usize,
    max_line: usize,
    spare: Vec<Vec<u8>>,
    /// The stream ended.
    done: bool,
    /// A read error met while records before it were held: they are handed out first.
    failed: Option<io::Error>,
}

impl CriLines<'_> {
    /// Reads the next line into `self.line`, keeping at most `max_line` and [`PREFIX_ROOM`]
    /// bytes of it: `Some(true)` when it was longer, `None` at the end of the stream.
    fn next_line(&mut self) -> io::Result<Option<bool>> {
        self.line.clear();
        let keep = self.max_line.saturating_add(PREFIX_ROOM);
        let (mut cut, mut any) = (false, false);
        loop {
            let buf = match self.r.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                return Ok(any.then_some(cut));
            }
            any = true;
            let (len, ends) = match memchr::memchr(b'\n', buf) {
                Some(nl) => (nl, true),
                None => (buf.len(), false),
            };
            let room = keep.saturating_sub(self.line.len());
            cut |= len > room;
            self.line.extend_from_slice(&buf[..len.min(room)]);
            self.r.consume(len + usize::from(ends));
            if ends {
                return Ok(Some(cut));
            }
        }
    }

    /// Takes the line just read: its content joins its stream's open line, or is handed out.
    fn take_line(&mut self, cut: bool, data: &mut Vec<u8>, items: &mut Vec<(u64, Piece)>) {
        let line = std::mem::take(&mut self.line);
        let at = self.line_no;
        if line.iter().all(u8::is_ascii_whitespace) {
            self.line = line;
            return;
        }
        let Some(cri) = parse_line(&line) else {
            let text = String::from_utf8_lossy(&line[..line.len().min(200)]);
            let why = format!(
                "not a container log line (a time, stdout or stderr, P or F, then the line): {}",
                short(&text)
            );
            items.push((at, Piece::Refused(SkipKind::Malformed, why)));
            self.line = line;
            return;
        };
        let max = self.max_line;
        let slot = &mut self.open[cri.stream.index()];
        let mut open = slot.take().unwrap_or(Open { line: at, data: Vec::new(), too_long: false });
        open.too_long |= cut || open.data.len() + cri.content.len() > max;
        if open.too_long {
            // Its parts are not kept: memory stays bounded whatever the line's length.
            open.data = Vec::new();
        } else {
            open.data.extend_from_slice(cri.content);
        }
        if cri.partial {
            *slot = Some(open);
        } else {
            items.push((open.line, finished(open, cri.stream, max, data)));
        }
        self.line = line;
    }

    /// At the end of the stream: the lines whose last part never came, in the order they
    /// started, named and skipped.
    fn close_open(&mut self, items: &mut Vec<(u64, Piece)>) {
        let mut open: Vec<(Stream, Open)> = [Stream::Stdout, Stream::Stderr]
            .into_iter()
            .filter_map(|s| self.open[s.index()].take().map(|o| (s, o)))
            .collect();
        open.sort_by_key(|(_, o)| o.line);
        for (stream, o) in open {
            let why = format!(
                "cut short: the file ends before the last part (tag F) of this {} line, which the runtime \
                 split into parts (tag P); it is skipped",
                stream.name()
            );
            items.push((o.line, Piece::Refused(SkipKind::Malformed, why)));
        }
    }
}

/// A line whose last part came: its content appended to `data`, or why it is skipped.
fn finished(open: Open, stream: Stream, max: usize, data: &mut Vec<u8>) -> Piece {
    if open.too_long {
        return Piece::Refused(SkipKind::TooLong, format!("line longer than {max} bytes, skipped"));
    }
    let start = data.len();
    data.extend_from_slice(&open.data);
    Piece::Content(stream, start..data.len())
}

impl ChunkSource for CriLines<'_> {
    fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let mut data = self.spare.pop().unwrap_or_default();
        data.clear();
        let mut items = Vec::new();
        while !self.done && data.len() < self.chunk_bytes.max(1) {
            match self.next_line() {
                Ok(Some(cut)) => {
                    self.line_no += 1;
                    self.take_line(cut, &mut data, &mut items);
                }
                Ok(None) => {
                    self.done = true;
                    self.close_open(&mut items);
                }
                // A truncated gzip stream, an I/O error: what was read before it is handed on,
                // and the error reported after it.
                Err(e) if !items.is_empty() => {
                    self.done = true;
                    self.failed = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        if items.is_empty() {
            return Ok(None);
        }
        Ok(Some(Chunk { data, too_long: None, items: Some(Items::Cri(items)) }))
    }

    fn location(&self, _lines_before: u64) -> Location {
        Location::Line(self.line_no + 1)
    }

    fn recycle(&mut self, data: Vec<u8>) {
        keep_spare(&mut self.spare, data, self.chunk_bytes);
    }
}

/// One record of a chunk, read on a parser thread: JSON as a line of JSON lines is (an audit
/// event, or the API server's own JSON log line, named as such), text named and skipped.
pub(super) fn read_piece(c: &mut Collector, data: &[u8], line: u64, piece: &Piece) {
    let at = Location::Line(line);
    match piece {
        Piece::Content(stream, range) => {
            let content = data.get(range.clone()).unwrap_or_default();
            match content.iter().find(|b| !b.is_ascii_whitespace()) {
                None => {}
                Some(b'{' | b'[') => c.json_record(content, at),
                // The API server's own log (klog's `I1205 12:00:00.000000 1 file.go:10] …`,
                // on stderr) beside its audit events.
                Some(_) => {
                    let text = String::from_utf8_lossy(&content[..content.len().min(400)]);
                    let why = format!(
                        "a container log line of text on {}, not an audit event: {}",
                        stream.name(),
                        short(text.trim())
                    );
                    c.skip(at, SkipKind::NotAuditRecord, why);
                }
            }
        }
        Piece::Refused(kind, why) => c.skip(at, *kind, why.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_line;

    #[test]
    fn a_cri_line_is_told_by_its_time_stream_and_tag() {
        let content = |line: &str| parse_line(line.as_bytes()).map(|l| (l.partial, l.content.to_vec()));
        assert_eq!(
            content("2016-10-06T00:17:09.669794202Z stdout P {\"a\""),
            Some((true, b"{\"a\"".to_vec()))
        );
        assert_eq!(
            content("2016-10-06T00:17:09.669794202+02:00 stderr F x y"),
            Some((false, b"x y".to_vec()))
        );
        // Later tags after `:` are allowed, as the kubelet allows them; an empty line has none.
        assert_eq!(content("2016-10-06T00:17:09Z stdout F:x {}"), Some((false, b"{}".to_vec())));
        assert_eq!(content("2016-10-06T00:17:09Z stdout F"), Some((false, Vec::new())));
        assert!(content("2016-10-06T00:17:09Z stdin F {}").is_none());
        assert!(content("2016-10-06T00:17:09Z stdout X {}").is_none());
        assert!(content("2016-10-06T00:17:09Z {\"kind\":\"Event\"}").is_none());
        assert!(content("I1205 12:00:00.000000       1 main.go:1] hello").is_none());
    }
}
