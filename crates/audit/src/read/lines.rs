//! JSON lines (and, cut by `array`, a JSON array's elements), in parallel: chunks of whole
//! records parsed on the rayon pool while the next chunks are read, results handed on in
//! input order.

use std::io::{self, Read};

use std::collections::BTreeMap;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;

use super::input::{Peeked, read_failed};
use super::records::Collector;
use super::summary::{FileSummary, Location, SkipKind};
use super::{BatchSink, ReadError, ReadOptions, flush};
use crate::batch::SizeHint;
use crate::store::writer::FileClass;

/// A run of whole records: lines, or elements of a top-level array.
pub(super) struct Chunk {
    pub(super) data: Vec<u8>,
    /// A record dropped for being longer than the limit (where it was), reported with this chunk.
    /// A line's place is counted from the chunk's start (`Line(1)`): the chunk holds only it.
    pub(super) too_long: Option<Location>,
    /// For an array's elements or Avro's messages: each one's number and its bytes in `data`;
    /// `None` for lines.
    pub(super) items: Option<Items>,
}

impl Chunk {
    /// No record: what a quiet stream gives while it waits (see [`Chunker::next_lines`]).
    fn idle() -> Chunk {
        Chunk { data: Vec::new(), too_long: None, items: None }
    }

    pub(super) fn is_idle(&self) -> bool {
        self.data.is_empty() && self.too_long.is_none() && self.items.is_none()
    }
}

/// The numbered records of a chunk that is not lines.
pub(super) enum Items {
    /// A JSON array's elements, the items of a document's list and documents with no list
    /// ([`super::lists`]): where each is, how it is read and its bytes in `data`.
    Listed(Vec<(Location, super::lists::Kind, std::ops::Range<usize>)>),
    /// JSON objects one after another ([`super::lists::read_sequence`]): where each is and its
    /// bytes in `data`.
    Values(Vec<(Location, std::ops::Range<usize>)>),
    /// Event Hub messages of an Avro file ([`super::avro`]).
    Messages(Vec<(u64, Message)>),
    /// CSV rows ([`super::text`]), each with its line, and the columns they are read with.
    Rows(Arc<super::text::Columns>, Vec<(u64, super::text::Row)>),
    /// YAML documents ([`super::yaml`]): each one's number, first line and bytes in `data`.
    Documents(Vec<(u64, u64, std::ops::Range<usize>)>),
    /// The lines of a CRI container log ([`super::cri`]), split ones joined: each with the line
    /// it starts on.
    Cri(Vec<(u64, super::cri::Piece)>),
    /// Docker json-file records once one was split ([`super::docker`]): each with the line it
    /// starts on, counted from the lines of the chunks handed on as lines before it.
    JsonFile(Vec<(u64, super::docker::Piece)>),
}

/// One Event Hub message of an Avro file.
pub(super) enum Message {
    /// Its body's bytes in the chunk's `data`.
    Body(std::ops::Range<usize>),
    /// A message without a body.
    NoBody,
    /// Damaged or cut-short data: why, and how many messages it cost (at least 1).
    Damaged(String, u64),
}

/// Where chunks come from: a cut of lines, of array elements or of Avro's messages.
pub(super) trait ChunkSource {
    fn next_chunk(&mut self) -> io::Result<Option<Chunk>>;
    /// Where reading stands, for a read error, once every chunk handed out was parsed:
    /// `lines_before` lines in all.
    fn location(&self, lines_before: u64) -> Location;
    /// Takes back the bytes of a chunk that was parsed, to read into again.
    fn recycle(&mut self, _data: Vec<u8>) {}
}

/// Cuts a stream into newline-aligned chunks.
pub(super) struct Chunker<R> {
    r: R,
    /// Read and not yet handed out: `carry[..filled]`. The rest of `carry` is memory already
    /// written once, read into without being zeroed again (a fresh 4 MiB buffer per chunk
    /// cost a `memset` and page faults for every byte of input).
    carry: Vec<u8>,
    filled: usize,
    /// Buffers of parsed chunks, to read the next ones into.
    spare: Vec<Vec<u8>>,
    eof: bool,
    /// A read error met while lines before it were still held: they are handed out first.
    failed: Option<io::Error>,
    /// Whether a chunk was handed out yet.
    started: bool,
    chunk_bytes: usize,
    max_line: usize,
    /// When the chunk being filled was started: a stream that trickles (a pipe from
    /// `tail -F`) hands on its whole lines after [`SLOW_STREAM`] instead of holding them until
    /// a full chunk has come.
    since: Instant,
}

/// How long whole lines of a slow stream wait for more before they are handed on.
pub(super) const SLOW_STREAM: Duration = Duration::from_secs(1);

pub(super) fn read_some(r: &mut impl Read, buf: &mut Vec<u8>, want: usize) -> io::Result<usize> {
    let start = buf.len();
    buf.resize(start + want, 0);
    loop {
        match r.read(&mut buf[start..]) {
            Ok(n) => {
                buf.truncate(start + n);
                return Ok(n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                buf.truncate(start);
                return Err(e);
            }
        }
    }
}

/// Reads up to `want` more bytes after `buf`'s; `Some(0)` at the end of the stream. A read
/// error met while records cut before it are still held (`held`) is kept in `failed`, to be
/// returned once they are handed on (`None`): a cut gzip stream keeps what came before the cut.
pub(super) fn read_or_hold(
    r: &mut impl Read,
    buf: &mut Vec<u8>,
    want: usize,
    held: bool,
    failed: &mut Option<io::Error>,
) -> io::Result<Option<usize>> {
    match read_some(r, buf, want) {
        Ok(n) => Ok(Some(n)),
        Err(e) if held => {
            *failed = Some(e);
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Inside a JSON string at `*pos` (past its opening quote; the byte at `*pos` escaped when
/// `*escaped`): moves `*pos` past the closing quote and says `true`, or to the end of `bytes`
/// (the string goes on in bytes not read yet) and says `false`. The scan that cuts arrays,
/// documents and objects one after another apart follows strings only so.
pub(super) fn past_string(bytes: &[u8], pos: &mut usize, escaped: &mut bool) -> bool {
    loop {
        if *escaped {
            // The byte after a backslash, a quote maybe: part of the string.
            if *pos >= bytes.len() {
                return false;
            }
            *escaped = false;
            *pos += 1;
        }
        // Straight to the next quote or backslash.
        match memchr::memchr2(b'"', b'\\', &bytes[*pos..]) {
            None => {
                *pos = bytes.len();
                return false;
            }
            Some(i) => *pos += i,
        }
        let quote = bytes[*pos] == b'"';
        *pos += 1;
        if quote {
            return true;
        }
        *escaped = true;
    }
}

/// A file that ends inside a record (or a document) cut short: `message` at `location`,
/// skipped; with `strict`, the read fails on the first skipped record.
pub(super) fn cut_short(
    file: &mut FileSummary,
    opts: &ReadOptions,
    location: Location,
    message: String,
) -> Result<(), ReadError> {
    file.skip(
        opts.max_examples,
        super::summary::SkippedRecord {
            file: file.file.clone(),
            location,
            kind: SkipKind::Malformed,
            message,
        },
    );
    match file.examples.first() {
        Some(first) if opts.strict => Err(ReadError::Strict(first.clone())),
        _ => Ok(()),
    }
}

impl<R: Read> ChunkSource for Chunker<R> {
    fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        self.next_lines()
    }

    fn location(&self, lines_before: u64) -> Location {
        Location::Line(lines_before + 1)
    }

    fn recycle(&mut self, data: Vec<u8>) {
        keep_spare(&mut self.spare, data, self.chunk_bytes);
    }
}

/// Keeps a parsed chunk's buffer to read into again: as many as can be in flight, so that
/// reading allocates only at the start; not one grown for a long record.
pub(super) fn keep_spare(spare: &mut Vec<Vec<u8>>, data: Vec<u8>, chunk_bytes: usize) {
    if spare.len() < 8 && data.capacity() <= 2 * chunk_bytes.max(64 * 1024) {
        spare.push(data);
    }
}

impl<R: Read> Chunker<R> {
    /// Lines of `r` in chunks of about `chunk_bytes`; a line over `max_line` bytes is skipped.
    pub(super) fn new(r: R, chunk_bytes: usize, max_line: usize) -> Chunker<R> {
        Chunker {
            r,
            carry: Vec::new(),
            filled: 0,
            spare: Vec::new(),
            eof: false,
            failed: None,
            started: false,
            chunk_bytes,
            max_line,
            since: Instant::now(),
        }
    }

    /// Lines are not counted here, on the one reading thread: the parser counts those of its
    /// chunk as it splits them ([`Collector::lines`]), and their places are made whole as
    /// chunks are handed on in order. Counting here was a pass over every byte read: 0.8% of
    /// ingest's instructions, though no faster measurably in time.
    fn chunk(&mut self, data: Vec<u8>) -> Chunk {
        self.started = true;
        Chunk { data, too_long: None, items: None }
    }

    /// Reads up to `want` more bytes after `carry[..filled]`; 0 at the end of the stream.
    fn fill(&mut self, want: usize) -> io::Result<usize> {
        let end = self.filled + want;
        if self.carry.len() < end {
            // Zeroes only what was never written.
            self.carry.resize(end, 0);
        }
        loop {
            match self.r.read(&mut self.carry[self.filled..end]) {
                Ok(n) => {
                    self.filled += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Hands out `carry[..end]` as a chunk; what follows it moves to the front of a spare buffer.
    fn take(&mut self, end: usize) -> Chunk {
        let rest = self.filled - end;
        let mut next = self.spare.pop().unwrap_or_default();
        if next.len() < rest {
            next.resize(rest, 0);
        }
        next[..rest].copy_from_slice(&self.carry[end..self.filled]);
        let mut data = std::mem::replace(&mut self.carry, next);
        data.truncate(end);
        self.filled = rest;
        self.since = Instant::now();
        self.chunk(data)
    }

    fn next_lines(&mut self) -> io::Result<Option<Chunk>> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let mut target = self.chunk_bytes.max(1);
        loop {
            while !self.eof && self.filled < target {
                // A file's first chunk is read into a buffer that doubles read by read (64 KiB
                // at first), so a small file costs a small buffer, not a zeroed 4 MiB one (a
                // directory of 5,867 three-line files zeroed 23 GB). Later chunks are read
                // whole: growing each fresh buffer again cost a big file 5% of its reading.
                let grow = if !self.started { self.filled.max(64 * 1024) } else { usize::MAX };
                let want = (target - self.filled).min(grow).max(64 * 1024);
                match self.fill(want) {
                    Ok(0) => self.eof = true,
                    // A short read (a pipe with nothing more in it yet) long after the chunk
                    // was started: a slow stream's whole lines go on now.
                    Ok(n) if n < want && self.since.elapsed() >= SLOW_STREAM => {
                        if let Some(pos) = memchr::memrchr(b'\n', &self.carry[..self.filled]) {
                            return Ok(Some(self.take(pos + 1)));
                        }
                    }
                    Ok(_) => {}
                    // A quiet stream read on its own thread (`pump`): its whole lines go on
                    // once they have waited a while, else an idle chunk lets the reading loop
                    // hand on what was parsed, see an interrupt and let the sink commit.
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        if self.since.elapsed() >= SLOW_STREAM
                            && let Some(pos) = memchr::memrchr(b'\n', &self.carry[..self.filled])
                        {
                            return Ok(Some(self.take(pos + 1)));
                        }
                        return Ok(Some(Chunk::idle()));
                    }
                    // A truncated gzip stream, an I/O error: the whole lines read before it
                    // are kept, the error reported after them (at the line it cut).
                    Err(e) => match memchr::memrchr(b'\n', &self.carry[..self.filled]) {
                        Some(pos) => {
                            self.failed = Some(e);
                            return Ok(Some(self.take(pos + 1)));
                        }
                        None => return Err(e),
                    },
                }
            }
            if self.eof {
                if self.filled == 0 {
                    return Ok(None);
                }
                return Ok(Some(self.take(self.filled)));
            }
            match memchr::memrchr(b'\n', &self.carry[..self.filled]) {
                Some(pos) => return Ok(Some(self.take(pos + 1))),
                None if self.filled >= self.max_line => {
                    self.skip_rest_of_line()?;
                    self.started = true;
                    return Ok(Some(Chunk {
                        data: Vec::new(),
                        too_long: Some(Location::Line(1)),
                        items: None,
                    }));
                }
                None => target = (self.filled * 2).min(self.max_line.max(1)),
            }
        }
    }

    /// Drops bytes up to and including the next newline; what follows stays in `carry`.
    fn skip_rest_of_line(&mut self) -> io::Result<()> {
        self.filled = 0;
        loop {
            if self.fill(1 << 20)? == 0 {
                self.eof = true;
                self.filled = 0;
                return Ok(());
            }
            if let Some(pos) = memchr::memchr(b'\n', &self.carry[..self.filled]) {
                self.carry.copy_within(pos + 1..self.filled, 0);
                self.filled -= pos + 1;
                return Ok(());
            }
            self.filled = 0;
        }
    }
}

pub(super) fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// The lines of `data` (split at `\n`, like `split`, so a trailing newline gives a last empty
/// line), found with `memchr` rather than byte by byte.
fn lines_of(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    memchr::memchr_iter(b'\n', data).chain(std::iter::once(data.len())).map(move |end| {
        let line = &data[start..end];
        start = end + 1;
        line
    })
}

fn parse_chunk(chunk: &Chunk, opts: &ReadOptions, hints: &[Arc<SizeHint>]) -> Collector {
    let mut c = Collector::with_hints(opts, Some(hints));
    let too_long = |what: &str| format!("{what} longer than {} bytes, skipped", opts.max_line_bytes);
    // What a record of the chunk is called.
    let noun = match &chunk.items {
        None => "line",
        Some(Items::Values(_)) => "JSON object",
        Some(Items::Documents(_)) => "YAML document",
        Some(Items::Rows(..)) => "row",
        Some(_) => "array element",
    };
    if let Some(at) = chunk.too_long {
        c.skip(at, SkipKind::TooLong, too_long(noun));
    }
    if let Some(Items::Messages(messages)) = &chunk.items {
        for (item, message) in messages {
            super::avro::read_message(&mut c, &chunk.data, Location::Item(*item), message);
        }
        return c;
    }
    if let Some(Items::Rows(columns, rows)) = &chunk.items {
        for (line, row) in rows {
            match row {
                super::text::Row::Read(record) => super::text::read_record(&mut c, columns, *line, record),
                super::text::Row::Refused(kind, why) => c.skip(Location::Line(*line), *kind, why.clone()),
            }
        }
        return c;
    }
    if let Some(Items::Cri(pieces)) = &chunk.items {
        for (line, piece) in pieces {
            super::cri::read_piece(&mut c, &chunk.data, *line, piece);
        }
        return c;
    }
    if let Some(Items::JsonFile(pieces)) = &chunk.items {
        for (line, piece) in pieces {
            super::docker::read_piece(&mut c, &chunk.data, *line, piece, opts.max_line_bytes);
        }
        return c;
    }
    if let Some(Items::Documents(documents)) = &chunk.items {
        for (number, line, range) in documents {
            if range.len() > opts.max_line_bytes {
                c.skip(Location::Document(*number), SkipKind::TooLong, too_long(noun));
            } else {
                super::yaml::read_document(&mut c, &chunk.data[range.clone()], *number, *line);
            }
        }
        return c;
    }
    if let Some(Items::Listed(items)) = &chunk.items {
        for (at, kind, range) in items {
            // An element's places are said from its first character, not the line break before.
            let bytes = chunk.data[range.clone()].trim_ascii_start();
            if bytes.len() > opts.max_line_bytes {
                c.skip(*at, SkipKind::TooLong, too_long(noun));
            } else if is_blank(bytes) && !matches!(kind, super::lists::Kind::Beside(_)) {
                c.skip(*at, SkipKind::Malformed, "invalid JSON: an empty array element".to_owned());
            } else {
                c.list_item(kind, bytes, *at);
            }
        }
        return c;
    }
    if let Some(Items::Values(items)) = &chunk.items {
        // Each ends in its closing brace: none is blank.
        for (at, range) in items {
            let bytes = &chunk.data[range.clone()];
            if bytes.len() > opts.max_line_bytes {
                c.skip(*at, SkipKind::TooLong, too_long(noun));
            } else {
                c.json_record(bytes, *at);
            }
        }
        return c;
    }
    // Places counted from the chunk's start, made whole when it is handed on in order.
    let mut pieces = 0;
    for (line_no, line) in (1..).zip(lines_of(&chunk.data)) {
        pieces = line_no;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        // NUL bytes before a line (a log truncated in place while still written, as logrotate's
        // `copytruncate` does, or zeros a crash left before the file grew again) are dropped and
        // counted, and the line after them read: it was skipped as invalid JSON, unexplained
        // (review s40, item 2).
        let nuls = line.iter().take_while(|&&b| b == 0).count();
        c.nul_bytes += nuls as u64;
        let line = &line[nuls..];
        if line.len() > opts.max_line_bytes {
            c.skip(Location::Line(line_no), SkipKind::TooLong, too_long("line"));
        } else if !is_blank(line) {
            c.json_record(line, Location::Line(line_no));
        }
    }
    // One piece more than newlines: the last is what follows the last newline (nothing, or
    // the end of the input). A line too long to keep is the chunk's one line.
    c.lines = pieces.saturating_sub(1) + u64::from(matches!(chunk.too_long, Some(Location::Line(_))));
    c
}

pub(super) fn read_lines(
    stream: Peeked<'_>,
    opts: &ReadOptions,
    sink: &mut dyn BatchSink,
    file: &mut FileSummary,
) -> Result<(), ReadError> {
    // Docker's json-file records, judged once per file by its first lines: the parts of a line
    // Docker split are joined (see `docker`). Other files are cut as ever, with no look at
    // their lines on this thread.
    if super::docker::starts_json_file_log(stream.get_ref().0.get_ref()) {
        return super::docker::read_json_file(stream, opts, sink, file);
    }
    let mut chunker = Chunker::new(stream, opts.chunk_bytes, opts.max_line_bytes);
    read_chunks(&mut chunker, opts, sink, file)
}

/// Hands on the parsed chunks that come next in input order (`flushed` is the next one's
/// number); a chunk parsed ahead of an earlier one waits in `pending`.
/// `lines` counts the lines of the chunks handed on, which places the next one's lines.
fn flush_in_order(
    pending: &mut BTreeMap<u64, Collector>,
    flushed: &mut u64,
    lines: &mut u64,
    file: &mut FileSummary,
    opts: &ReadOptions,
    sink: &mut dyn BatchSink,
) -> Result<(), ReadError> {
    while let Some(mut c) = pending.remove(flushed) {
        *flushed += 1;
        c.place_lines_after(*lines);
        *lines += c.lines;
        flush(&mut c, file, opts, sink)?;
    }
    Ok(())
}

/// Reads every chunk of `source`, parsing them in parallel and handing them on in order.
pub(super) fn read_chunks(
    source: &mut dyn ChunkSource,
    opts: &ReadOptions,
    sink: &mut dyn BatchSink,
    file: &mut FileSummary,
) -> Result<(), ReadError> {
    // Chunks are parsed on the rayon pool as soon as they are read, each on its own, and
    // handed on in input order; this thread only reads, reorders and flushes. Enough chunks
    // in flight to keep every thread busy while one is slow, few enough to bound memory.
    let max_in_flight = (rayon::current_num_threads().max(1) * 3) as u64;
    let shared = Arc::new(opts.clone());
    let hints: Arc<[Arc<SizeHint>]> = FileClass::ALL.iter().map(|_| Arc::default()).collect();
    let (done_tx, done_rx) = mpsc::channel::<(u64, Collector, Vec<u8>)>();
    let mut pending: BTreeMap<u64, Collector> = BTreeMap::new();
    let (mut sent, mut flushed, mut lines) = (0u64, 0u64, 0u64);
    let mut read_error: Option<io::Error> = None;
    let mut eof = false;
    loop {
        while !eof && read_error.is_none() && sent - flushed < max_in_flight {
            // Chunks parsed meanwhile go on before the next read, which may wait on a slow
            // stream: what it sent so far is not held back behind it.
            while let Ok((seq, parsed, data)) = done_rx.try_recv() {
                source.recycle(data);
                pending.insert(seq, parsed);
            }
            flush_in_order(&mut pending, &mut flushed, &mut lines, file, opts, sink)?;
            match source.next_chunk() {
                // A quiet stream: an interrupt is seen, and once every chunk read is handed on,
                // the sink gets an empty batch, its chance to commit while nothing comes.
                Ok(Some(chunk)) if chunk.is_idle() => {
                    super::check_interrupt(opts, &file.file)?;
                    if flushed == sent {
                        sink.batch(&file.file, RecordBatch::new_empty(crate::canonical_schema()))
                            .map_err(|source| ReadError::Sink { file: file.file.clone(), source })?;
                    }
                }
                Ok(Some(chunk)) => {
                    let (tx, opts, seq) = (done_tx.clone(), Arc::clone(&shared), sent);
                    let hints = Arc::clone(&hints);
                    rayon::spawn(move || {
                        let parsed = parse_chunk(&chunk, &opts, &hints);
                        // The reader stops listening only when it stopped reading: nothing to do.
                        let _ = tx.send((seq, parsed, chunk.data));
                    });
                    sent += 1;
                }
                Ok(None) => eof = true,
                Err(e) => read_error = Some(e),
            }
        }
        if flushed == sent {
            break;
        }
        let Ok((seq, parsed, data)) = done_rx.recv() else {
            // Every sender is alive while chunks are out (this thread holds one): unreachable,
            // but a lost chunk must not pass silently.
            return Err(ReadError::Sink {
                file: file.file.clone(),
                source: "a parser thread stopped".into(),
            });
        };
        source.recycle(data);
        pending.insert(seq, parsed);
        flush_in_order(&mut pending, &mut flushed, &mut lines, file, opts, sink)?;
    }
    if let Some(e) = read_error {
        // Every chunk read before the error was handed on: `lines` counts them all.
        read_failed(file, source.location(lines), &e);
        if opts.strict
            && let Some(record) = &file.incomplete
        {
            return Err(ReadError::Strict(record.clone()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunker(input: Vec<u8>, chunk_bytes: usize) -> Chunker<std::io::Cursor<Vec<u8>>> {
        Chunker::new(std::io::Cursor::new(input), chunk_bytes, 1 << 30)
    }

    /// A directory of 5,867 three-line files zeroed a fresh 4 MiB buffer for each (17% of the
    /// CPU of `query --input` on them, and of ingest's too): a small file's chunk is read into
    /// a buffer of about its own size.
    #[test]
    fn a_small_file_is_read_into_a_small_buffer_not_a_whole_chunk() {
        let small = b"{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n".to_vec();
        let mut c = chunker(small.clone(), 4 << 20);
        let chunk = c.next_lines().expect("read").expect("a chunk");
        assert_eq!(chunk.data, small);
        assert!(chunk.data.capacity() <= 128 << 10, "{} bytes held for 24", chunk.data.capacity());
        assert!(c.next_lines().expect("read").is_none());
    }

    /// The buffer grows read by read up to the chunk size: a big input is still cut into whole
    /// chunks of about `chunk_bytes`, every line once, in order.
    #[test]
    fn a_big_input_is_still_cut_into_full_chunks_of_whole_lines() {
        let line = |i: usize| format!("{{\"n\":{i},\"pad\":\"{}\"}}\n", "x".repeat(i % 300));
        let input: String = (0..40_000).map(line).collect();
        let mut c = chunker(input.clone().into_bytes(), 1 << 20);
        let mut sizes = Vec::new();
        let mut out = Vec::new();
        while let Some(chunk) = c.next_lines().expect("read") {
            assert!(chunk.data.ends_with(b"\n"));
            sizes.push(chunk.data.len());
            out.extend_from_slice(&chunk.data);
            c.recycle(chunk.data);
        }
        assert_eq!(out, input.as_bytes());
        let (last, full) = sizes.split_last().expect("chunks");
        // A read is at least 64 KiB, so a chunk may pass its size by up to that.
        let most = (1 << 20) + (64 << 10);
        assert!(full.iter().all(|&n| n > (1 << 20) - 400 && n <= most), "{sizes:?}");
        assert!(*last <= most);
    }
}
