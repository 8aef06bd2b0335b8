//! Opening a stream: byte counting, decompression by magic bytes, BOM, format detection.

use std::io::{self, Chain, Cursor, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::summary::{Compression, Container, FileSummary, Location, SkipKind};
use super::{BatchSink, ReadError, ReadOptions};

/// Counts bytes read from disk, into the summary and the shared progress counter.
pub(super) struct Counting<R> {
    inner: R,
    bytes: Arc<AtomicU64>,
    progress: Option<Arc<AtomicU64>>,
}

impl<R> Counting<R> {
    /// `inner`, its bytes counted into `bytes` and `progress`.
    pub(super) fn new(inner: R, bytes: Arc<AtomicU64>, progress: Option<Arc<AtomicU64>>) -> Self {
        Counting { inner, bytes, progress }
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        if let Some(p) = &self.progress {
            p.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

/// Reads up to `n` bytes (fewer only at end of stream).
pub(super) fn read_prefix(r: &mut dyn Read, n: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(n);
    r.take(n as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

/// [`read_start`] of a stream whose reads say when it is quiet (`WouldBlock`): the peek stops
/// early, `paused`, once it holds a whole line and the stream has been quiet a while (a
/// `tail -F` that sent a few lines waits for more), and an interrupt is seen while it waits.
fn peek_stream(
    r: &mut dyn Read,
    n: usize,
    opts: &ReadOptions,
    name: &str,
) -> Result<(Vec<u8>, Option<io::Error>, bool), ReadError> {
    let started = std::time::Instant::now();
    let mut buf = Vec::with_capacity(n.min(PEEK));
    while buf.len() < n {
        let start = buf.len();
        buf.resize(n, 0);
        let read = r.read(&mut buf[start..]);
        buf.truncate(start + *read.as_ref().unwrap_or(&0));
        match read {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                super::check_interrupt(opts, name)?;
                if started.elapsed() >= super::lines::SLOW_STREAM && memchr::memchr(b'\n', &buf).is_some() {
                    return Ok((buf, None, true));
                }
            }
            Err(e) => return Ok((buf, Some(e), false)),
        }
    }
    Ok((buf, None, false))
}

/// Reads up to `n` bytes, and the error that stopped it short if one did: the bytes read
/// before a read error are kept.
fn read_start(r: &mut dyn Read, n: usize) -> (Vec<u8>, Option<io::Error>) {
    let mut buf = Vec::with_capacity(n);
    match r.take(n as u64).read_to_end(&mut buf) {
        Ok(_) => (buf, None),
        Err(e) => (buf, Some(e)),
    }
}

/// A stream that fails as the one it stands for did: what comes after bytes read before a
/// read error.
struct Failed {
    kind: io::ErrorKind,
    message: String,
}

impl Read for Failed {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::new(self.kind, self.message.clone()))
    }
}

/// A stream with its first bytes already read (to look at them) put back in front.
pub(super) type Peeked<'a> = Chain<Cursor<Vec<u8>>, Box<dyn Read + 'a>>;

const PEEK: usize = 64 * 1024;

/// The first bytes of an Avro object container file: `Obj` and the format's version, 1.
const AVRO_MAGIC: &[u8] = b"Obj\x01";

pub(super) fn read_stream<'a>(
    reader: Box<dyn Read + 'a>,
    opts: &ReadOptions,
    sink: &mut dyn BatchSink,
    file: &mut FileSummary,
    ticks: Option<Arc<AtomicBool>>,
) -> Result<(), ReadError> {
    let bytes = Arc::new(AtomicU64::new(0));
    let mut counted: Box<dyn Read + 'a> =
        Box::new(Counting { inner: reader, bytes: bytes.clone(), progress: opts.progress.clone() });
    let result = (|| -> Result<(), ReadError> {
        let magic = match read_prefix(&mut counted, 4) {
            Ok(m) => m,
            Err(e) => {
                file.not_audit = Some(format!("unreadable: {e}"));
                return Ok(());
            }
        };
        let raw: Box<dyn Read + 'a> = Box::new(Cursor::new(magic.clone()).chain(counted));
        file.compression = compression_of(&magic);
        let mut plain = match decompressed(raw, file.compression)
            .and_then(|d| inner_layers(d, file.compression, &mut file.inner_compression))
        {
            Ok(Layers::Plain(d)) => d,
            Ok(Layers::TooMany(c)) => {
                file.not_audit = Some(format!(
                    "compressed more than {MAX_LAYERS} times ({} in {}): decompress it before reading it \
                     (e.g. `zcat`, `zstdcat`) and read the result",
                    c.name(),
                    file.compression_label().unwrap_or_default()
                ));
                return Ok(());
            }
            Err(e) => {
                file.not_audit = Some(format!("unreadable{}: {e}", compression_note(file)));
                return Ok(());
            }
        };
        // A stream read on its own thread, not compressed: its reads say when it is quiet (see
        // `pump`), while it is looked at and then, if it is JSON lines, while they are read.
        let ticks = ticks.filter(|_| file.compression == Compression::None);
        let (mut prefix, mut failed, paused) = match &ticks {
            Some(t) => {
                t.store(true, Ordering::Relaxed);
                peek_stream(&mut plain, PEEK, opts, &file.file)?
            }
            None => {
                let (prefix, failed) = read_start(&mut plain, PEEK);
                (prefix, failed, false)
            }
        };
        if let Some(e) = &failed
            && prefix.is_empty()
        {
            file.not_audit = Some(format!("unreadable{}: {e}", compression_note(file)));
            return Ok(());
        }
        // NUL bytes where the file starts (a log truncated in place while its writer went on at
        // its old offset, as logrotate's `copytruncate` leaves it: megabytes of them, perhaps)
        // are read past and counted, not taken for a binary file (review s40, item 2).
        // A stream that paused (`tail -F` of such a log) holds a whole line already: the NULs
        // before it are dropped from what it sent, without waiting for more.
        if prefix.first() == Some(&0) {
            let nuls = if paused {
                let n = prefix.iter().take_while(|&&b| b == 0).count();
                prefix.drain(..n);
                n as u64
            } else {
                skip_leading_nuls(&mut plain, &mut prefix, &mut failed)
            };
            if prefix.is_empty() && failed.is_none() {
                file.not_audit = Some(format!(
                    "not an audit format: nothing but NUL bytes ({nuls} of them): a log truncated in place \
                     before anything more was written to it, or zeros a crash left"
                ));
                return Ok(());
            }
            // A writer goes on with text: what follows the NULs of a binary file is not.
            if prefix.first().is_some_and(|b| !b.is_ascii()) {
                file.not_audit = Some(format!(
                    "not an audit format: binary data ({nuls} NUL bytes, then bytes that are not text)"
                ));
                return Ok(());
            }
            file.nul_bytes += nuls;
        }
        let mut at_eof = !paused && prefix.len() < PEEK && failed.is_none();
        if !paused
            && !at_eof
            && failed.is_none()
            && !prefix.starts_with(AVRO_MAGIC)
            && first_line_unseen(&prefix)
        {
            (at_eof, failed) = read_past_first_line(&mut plain, &mut prefix, opts.max_line_bytes);
        }
        // A read error in the first bytes (a short truncated gzip file): what came before it
        // is read, and the error reported where it cut.
        let rest: Box<dyn Read + 'a> = match failed {
            None => plain,
            Some(e) => Box::new(Failed { kind: e.kind(), message: e.to_string() }),
        };
        if prefix.starts_with(super::records::BOM) {
            prefix.drain(..super::records::BOM.len());
        }
        let detected = detect(&prefix, at_eof);
        if let Some(t) = &ticks {
            t.store(matches!(detected, Detected::Container(Container::JsonLines)), Ordering::Relaxed);
        }
        let stream: Peeked<'a> = Cursor::new(prefix).chain(rest);
        match detected {
            Detected::Empty => Ok(()),
            Detected::NotAudit(why) => {
                file.not_audit = Some(why);
                Ok(())
            }
            Detected::Container(c) => {
                file.container = Some(c);
                match c {
                    Container::JsonLines => super::lines::read_lines(stream, opts, sink, file),
                    Container::JsonArray | Container::JsonDocument => {
                        super::lists::read_documents(stream, opts, sink, file)
                    }
                    Container::JsonSequence => super::lists::read_sequence(stream, opts, sink, file),
                    Container::Yaml => super::yaml::read_yaml(stream, opts, sink, file),
                    Container::Csv => super::text::read_csv(stream, opts, sink, file),
                    Container::Avro => super::avro::read_avro(stream, opts, sink, file),
                    Container::CriLog => super::cri::read_cri(stream, opts, sink, file),
                }
            }
        }
    })();
    file.bytes = bytes.load(Ordering::Relaxed);
    result
}

/// Drops the NUL bytes `prefix` starts with, reading on past any that follow (a peek's worth
/// at a time, in bounded memory) and refilling `prefix` to a peek's worth after them; the
/// number dropped. A read error met is left in `failed`.
fn skip_leading_nuls(r: &mut dyn Read, prefix: &mut Vec<u8>, failed: &mut Option<io::Error>) -> u64 {
    let mut dropped = 0u64;
    loop {
        let nuls = prefix.iter().take_while(|&&b| b == 0).count();
        dropped += nuls as u64;
        prefix.drain(..nuls);
        if !prefix.is_empty() || failed.is_some() {
            break;
        }
        let (more, error) = read_start(r, PEEK);
        *failed = error;
        let ended = more.is_empty();
        *prefix = more;
        if ended {
            break;
        }
    }
    // A peek's worth after the NULs, as detection expects of a prefix.
    if failed.is_none() && prefix.len() < PEEK {
        let (more, error) = read_start(r, PEEK - prefix.len());
        prefix.extend_from_slice(&more);
        *failed = error;
    }
    dropped
}

/// Whether detection cannot judge `prefix` without more of the stream: it holds no line end.
/// A file cut inside a record longer than the peek (one with a large request or response body,
/// cut by `tail -c`) starts so, and so do one minified JSON array and objects written one after
/// another with no newline (Firehose's CloudWatch payloads), whose first may be longer than
/// the peek.
fn first_line_unseen(prefix: &[u8]) -> bool {
    prefix.iter().any(|b| !b.is_ascii_whitespace()) && memchr::memchr(b'\n', prefix).is_none()
}

/// Reads on past the end of the first line (up to `limit` bytes in all) and a peek's worth of
/// lines after it, so that detection sees whole lines; whether the stream ended, and a read
/// error met.
fn read_past_first_line(r: &mut dyn Read, prefix: &mut Vec<u8>, limit: usize) -> (bool, Option<io::Error>) {
    let mut searched = 0;
    loop {
        let want = prefix.len().min(limit.saturating_sub(prefix.len())).max(PEEK);
        let (more, failed) = read_start(r, want);
        let ended = more.len() < want && failed.is_none();
        prefix.extend_from_slice(&more);
        if failed.is_some() || ended {
            return (ended, failed);
        }
        if let Some(nl) = memchr::memchr(b'\n', &prefix[searched..]) {
            let after = prefix.len() - (searched + nl + 1);
            if after >= PEEK {
                return (false, None);
            }
            let (more, failed) = read_start(r, PEEK - after);
            let ended = more.len() < PEEK - after && failed.is_none();
            prefix.extend_from_slice(&more);
            return (ended, failed);
        }
        if prefix.len() >= limit {
            return (false, None);
        }
        searched = prefix.len();
    }
}

/// The compression the first bytes of a stream announce.
pub(super) fn compression_of(magic: &[u8]) -> Compression {
    if magic.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
        // A skippable frame first (0x184D2A50 to 0x184D2A5F, little-endian), as `pzstd` writes
        // its files: zstd all the same, its decoder steps over it (review s44: "binary data").
        || (magic.len() >= 4 && magic[0] & 0xf0 == 0x50 && magic[1..4] == [0x2a, 0x4d, 0x18])
    {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// A compression or archive the reader does not undo, from its magic bytes, and the command
/// that undoes it.
fn other_compression(magic: &[u8]) -> Option<(&'static str, &'static str)> {
    if magic.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Some(("xz-compressed data", "xz -dk FILE"))
    } else if magic.starts_with(b"BZh") && magic.get(3).is_some_and(|b| (b'1'..=b'9').contains(b)) {
        Some(("bzip2-compressed data", "bzip2 -dk FILE"))
    } else if magic.starts_with(b"PK\x03\x04") {
        Some(("a zip archive", "unzip FILE"))
    } else if magic.starts_with(&[b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c]) {
        Some(("a 7-Zip archive", "7z x FILE"))
    } else if magic.starts_with(&[0x04, 0x22, 0x4d, 0x18]) {
        Some(("lz4-compressed data", "lz4 -d FILE"))
    } else {
        None
    }
}

/// Compression layers undone in all: a file compressed twice (a `.zst` gzipped again by a
/// log shipper or a backup, `gzip` of a `.gz`) is read; more layers than this are not a
/// shipper's doing and are refused, so a crafted file cannot make the reader stack decoders.
pub(super) const MAX_LAYERS: usize = 3;

/// A stream with its compression layers undone, or the compression of the layer past
/// [`MAX_LAYERS`].
pub(super) enum Layers<'a> {
    Plain(Box<dyn Read + 'a>),
    TooMany(Compression),
}

/// `once` (a stream whose outer layer `outer` was undone) with the compression layers inside
/// it undone too, as their own magic bytes announce them; each inner layer is pushed onto
/// `inner`, outermost first.
pub(super) fn inner_layers<'a>(
    once: Box<dyn Read + 'a>,
    outer: Compression,
    inner: &mut Vec<Compression>,
) -> io::Result<Layers<'a>> {
    let mut stream = once;
    let mut layer = outer;
    while layer != Compression::None {
        let magic = read_prefix(&mut stream, 4)?;
        layer = compression_of(&magic);
        stream = Box::new(Cursor::new(magic).chain(stream));
        if layer == Compression::None {
            break;
        }
        if 1 + inner.len() >= MAX_LAYERS {
            return Ok(Layers::TooMany(layer));
        }
        inner.push(layer);
        stream = decompressed(stream, layer)?;
    }
    Ok(Layers::Plain(stream))
}

/// `raw` with the compression its first bytes announce undone, layer after layer (see
/// [`MAX_LAYERS`]).
pub(super) fn plain<'a>(mut raw: Box<dyn Read + 'a>) -> io::Result<Box<dyn Read + 'a>> {
    let magic = read_prefix(&mut raw, 4)?;
    let c = compression_of(&magic);
    let once = decompressed(Box::new(Cursor::new(magic).chain(raw)), c)?;
    match inner_layers(once, c, &mut Vec::new())? {
        Layers::Plain(stream) => Ok(stream),
        Layers::TooMany(_) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("compressed more than {MAX_LAYERS} times: decompress it before reading it"),
        )),
    }
}

/// `raw` (read from its start) decompressed as `c` says.
pub(super) fn decompressed<'a>(raw: Box<dyn Read + 'a>, c: Compression) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match c {
        Compression::Gzip => Box::new(GzipMembers::new(io::BufReader::with_capacity(1 << 20, raw))),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(raw)?),
        Compression::None => raw,
    })
}

/// The members of a gzip file one after another, as `flate2`'s `MultiGzDecoder` reads them,
/// except that NUL bytes alone after a complete member end the stream, as GNU gzip reads them
/// (tape devices and block-padded copies leave them): they were a broken member's header, and
/// the file "only partly read" (ingest review 50, item 5). Anything else after a member is
/// read as the next one's header, and named if it is none. One test per member read, not per
/// record.
struct GzipMembers<R: io::BufRead> {
    /// The member being read; `None` once the stream ended.
    member: Option<flate2::bufread::GzDecoder<R>>,
}

impl<R: io::BufRead> GzipMembers<R> {
    fn new(raw: R) -> Self {
        GzipMembers { member: Some(flate2::bufread::GzDecoder::new(raw)) }
    }
}

impl<R: io::BufRead> Read for GzipMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(member) = &mut self.member else { return Ok(0) };
            let n = member.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            // The member ended whole (its checksum checked): what follows it?
            let Some(member) = self.member.take() else { return Ok(0) };
            let mut rest = member.into_inner();
            loop {
                let next = rest.fill_buf()?;
                let zeros = next.iter().take_while(|b| **b == 0).count();
                if next.is_empty() {
                    return Ok(0);
                }
                if zeros < next.len() {
                    break;
                }
                rest.consume(zeros);
            }
            self.member = Some(flate2::bufread::GzDecoder::new(rest));
        }
    }
}

/// ` gzip stream`, ` zstd in gzip stream`, or nothing for a plain file.
fn compression_note(file: &FileSummary) -> String {
    file.compression_label().map(|c| format!(" {c} stream")).unwrap_or_default()
}

/// Records a read error in the middle of a file (a corrupt or truncated gzip or zstd stream,
/// an I/O error) in [`FileSummary::incomplete`]: what was read before it is kept, and the file
/// is reported as read only in part. `location` is the first record not read.
pub(super) fn read_failed(file: &mut FileSummary, location: Location, e: &io::Error) {
    let what = match file.compression_label() {
        None => "read error".to_owned(),
        Some(c) => format!("{c} data corrupt or cut short"),
    };
    let at = match location {
        Location::Line(n) if n > 1 => format!("after line {}", n - 1),
        Location::Item(n) if n > 1 => format!("after record {}", n - 1),
        Location::Document(n) if n > 1 => format!("after document {}", n - 1),
        _ => "before its first record".to_owned(),
    };
    // Nothing of the file was read: a problem of the file, with no record to place it at.
    let location = match location {
        Location::Line(1) | Location::Item(1) | Location::Document(1) => Location::File,
        at => at,
    };
    file.incomplete = Some(super::SkippedRecord {
        file: file.file.clone(),
        location,
        kind: SkipKind::Malformed,
        message: format!("{what} {at}: the rest of the file was not read ({e})"),
    });
}

/// What the first bytes say the file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Detected {
    /// Nothing but whitespace.
    Empty,
    /// Not an audit log, and why.
    NotAudit(String),
    /// Records laid out this way.
    Container(Container),
}

pub(super) fn detect(prefix: &[u8], at_eof: bool) -> Detected {
    let start = prefix.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = start else { return Detected::Empty };
    // An Avro object container file (Event Hubs Capture) starts with `Obj` and version 1.
    if prefix.starts_with(AVRO_MAGIC) {
        return Detected::Container(Container::Avro);
    }
    let body = &prefix[start..];
    let head = &body[..body.len().min(4096)];
    // A file cut at a byte offset (`tail -c`, `split -b`) may start inside a character.
    let whole = head.iter().position(|&b| !(0x80..0xc0).contains(&b)).unwrap_or(head.len()).min(3);
    // UTF-16 (what Windows PowerShell's `>` writes), with its byte order mark or without: said
    // so, with the command that converts it, not called binary (ingest review s38, item 7).
    if prefix.starts_with(&[0xff, 0xfe])
        || prefix.starts_with(&[0xfe, 0xff])
        || (head.len() >= 4
            && head[0].is_ascii_graphic()
            && head[1] == 0
            && head[2].is_ascii()
            && head[3] == 0)
        || (head.len() >= 4
            && head[0] == 0
            && head[1].is_ascii_graphic()
            && head[2] == 0
            && head[3].is_ascii())
    {
        return Detected::NotAudit(
            "not an audit format: UTF-16 text; convert it to UTF-8 first (iconv -f UTF-16 -t UTF-8 FILE > FILE.utf8)"
                .to_owned(),
        );
    }
    // Compressions this reader does not undo, named with the command that does (review s44:
    // an xz, bzip2 or zip file was "binary data (a NUL byte at byte 6 of the first line)").
    if let Some((what, command)) = other_compression(prefix) {
        return Detected::NotAudit(format!("not an audit format: {what}; decompress it first ({command})"));
    }
    // NUL bytes after a whole first line (a log whose end a crash filled with zeros, a line
    // damaged by one) leave the file text: its lines are read and those holding NULs skipped
    // by number. They rejected the whole file, and its good lines with it (ingest review s38,
    // item 3). In the first line, they make it binary.
    if let Some(nul) = memchr::memchr(0, head)
        && memchr::memchr(b'\n', &head[..nul]).is_none()
    {
        return Detected::NotAudit(format!(
            "not an audit format: binary data (a NUL byte at byte {} of the first line)",
            nul + 1
        ));
    }
    // Bytes that are not UTF-8 after a whole first line leave the file text, as NULs do: the
    // lines holding them are skipped by number (review s44: two such bytes on line 3 lost the
    // file's every good line, and the message gave no line).
    if let Some(bad) = invalid_utf8_at(&head[whole..], at_eof && body.len() <= 4096) {
        let bad = whole + bad;
        if memchr::memchr(b'\n', &head[..bad]).is_none() {
            return Detected::NotAudit(format!(
                "not an audit format: binary data (a byte that is not UTF-8 text, 0x{:02X}, at byte {} of the first line)",
                head[bad],
                bad + 1
            ));
        }
    }
    // JSON objects one after another with nothing between them (Firehose writes the CloudWatch
    // payloads it delivers to S3 so, unless told to add newlines): cut apart and read in
    // parallel, each as a line would be. Before the test of a cut first line, which a first
    // line of two objects fails (it is not one JSON value) while the lines after it are
    // objects, as when such files are concatenated with one-per-line ones; a cut line never
    // starts with a whole object followed by another.
    if body[0] == b'{' && several_documents_on_first_line(body) {
        return Detected::Container(Container::JsonSequence);
    }
    if first_line_cut(body, at_eof) {
        return Detected::Container(Container::JsonLines);
    }
    match body[0] {
        b'[' => Detected::Container(Container::JsonArray),
        // A container log as the kubelet's runtime writes it (`TIME stdout F {…}`): what the API
        // server's audit log becomes with `--audit-log-path=-`. Judged by the first line alone,
        // once per file; the lines of other formats never pass through the CRI reader.
        b'0'..=b'9' if super::cri::is_cri_line(first_line(body)) => Detected::Container(Container::CriLog),
        // Each line a timestamp, a space and a JSON object: CloudWatch's export to S3 (EKS),
        // `kubectl logs --timestamps` of an audit log sidecar.
        b'0'..=b'9' if timestamp_prefixed_json(body) => Detected::Container(Container::JsonLines),
        b'{' => match memchr::memchr(b'\n', body) {
            // A file of one line, cut short: a list document (an `EventList`, a `records`
            // batch) is read as a document, which keeps the whole items of one cut short
            // (review s44: a cut one-line EventList lost all of its 33 whole items as one
            // invalid line); a single event stays a line. A longer file is not judged here: its
            // first line may be followed by more, which lines read apart.
            None if at_eof && cut_one_line_list(body) => Detected::Container(Container::JsonDocument),
            None => Detected::Container(Container::JsonLines),
            Some(nl) => match serde_json::from_slice::<serde::de::IgnoredAny>(&body[..nl]) {
                Ok(_) => Detected::Container(Container::JsonLines),
                Err(e) if e.is_eof() => Detected::Container(Container::JsonDocument),
                Err(_) => Detected::Container(Container::JsonLines),
            },
        },
        _ => super::text::detect_text(body),
    }
}

/// The first line of `body`, without its line end.
fn first_line(body: &[u8]) -> &[u8] {
    memchr::memchr(b'\n', body).map_or(body, |nl| &body[..nl]).trim_ascii_end()
}

/// Whether `body`, a whole file of one line, is a list document (an `EventList`, a `records`
/// batch, CloudWatch's lists) cut short.
fn cut_one_line_list(body: &[u8]) -> bool {
    let cut = match serde_json::from_slice::<serde::de::IgnoredAny>(body.trim_ascii_end()) {
        Ok(_) => false,
        Err(e) => e.is_eof(),
    };
    if !cut {
        return false;
    }
    let head = &body[..body.len().min(256)];
    let list_key = crate::raw::scan::first_key(head)
        .is_some_and(|k| matches!(k, b"records" | b"items" | b"logEvents" | b"events" | b"results"));
    // The API server's webhook backend writes `{"kind":"EventList","apiVersion":…,"items":[`
    // (other writers with blanks around the colon).
    let event_list = memchr::memmem::find_iter(head, br#""kind""#).any(|at| {
        let rest = head[at + 6..].trim_ascii_start();
        rest.strip_prefix(b":").is_some_and(|v| v.trim_ascii_start().starts_with(br#""EventList""#))
    });
    list_key || event_list
}

/// Whether the first line of `body` holds a whole JSON value followed by more than
/// whitespace: `{…}{…}`, documents with no newline between them.
fn several_documents_on_first_line(body: &[u8]) -> bool {
    let line = memchr::memchr(b'\n', body).map_or(body, |nl| &body[..nl]).trim_ascii_end();
    let mut values = serde_json::Deserializer::from_slice(line).into_iter::<serde::de::IgnoredAny>();
    matches!(values.next(), Some(Ok(_))) && line[values.byte_offset()..].trim_ascii_start().starts_with(b"{")
}

/// Whether the first lines of `body` (up to [`LINES_JUDGED`]) each start with a timestamp and
/// a space, and one of them goes on with a whole JSON object (the others may be text: the
/// other logs of an EKS log group exported with it).
fn timestamp_prefixed_json(body: &[u8]) -> bool {
    let mut json = false;
    let lines = body.split(|&b| b == b'\n').map(<[u8]>::trim_ascii_end).filter(|l| !l.is_empty());
    for line in lines.take(LINES_JUDGED) {
        let Some(rest) = super::records::timestamp_prefix(line) else { return false };
        json |= rest.starts_with(b"{") && serde_json::from_slice::<serde::de::IgnoredAny>(rest).is_ok();
    }
    json
}

/// Lines after the first that [`first_line_cut`] judges by.
const LINES_JUDGED: usize = 8;

/// Whether `body` is JSON lines whose first line is cut off, as `tail -c`, `split -b` or a
/// copy-and-truncate log rotation leave it: the first line is not a complete JSON value, and
/// most of the (at most [`LINES_JUDGED`]) complete lines after it are JSON objects. The lines
/// of a pretty-printed document or array, of YAML or of CSV are not; one element per line of
/// an array ends with a comma.
fn first_line_cut(body: &[u8], at_eof: bool) -> bool {
    let Some(nl) = memchr::memchr(b'\n', body) else { return false };
    if serde_json::from_slice::<serde::de::IgnoredAny>(body[..nl].trim_ascii()).is_ok() {
        return false;
    }
    let rest = &body[nl + 1..];
    // The last line is complete only at the end of the file.
    let rest = if at_eof { rest } else { &rest[..memchr::memrchr(b'\n', rest).unwrap_or(0)] };
    let mut judged = 0;
    let mut objects = 0;
    for line in rest.split(|&b| b == b'\n').map(<[u8]>::trim_ascii).filter(|l| !l.is_empty()) {
        judged += 1;
        if line.starts_with(b"{") && serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok() {
            objects += 1;
        }
        if judged == LINES_JUDGED {
            break;
        }
    }
    objects > 0 && objects * 2 > judged
}

/// Where `b` stops being UTF-8 text: `None` when it is, or when only its last character is cut
/// and more follows (`complete` false).
fn invalid_utf8_at(b: &[u8], complete: bool) -> Option<usize> {
    match std::str::from_utf8(b) {
        Ok(_) => None,
        Err(e) if !complete && e.error_len().is_none() => None,
        Err(e) => Some(e.valid_up_to()),
    }
}
