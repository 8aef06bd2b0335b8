//! Reading scrapes from files (plain, gzip or zstd), tar archives of them, `-` (standard input)
//! and `http(s)://` URLs.

use std::io::{self, Cursor, Read};
use std::path::{Component, Path};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::snapshot::Snapshot;

/// Largest scrape read (a kube-apiserver of a big cluster exposes tens of MB).
pub const MAX_SCRAPE_BYTES: u64 = 512 * 1024 * 1024;

/// Why a scrape could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be opened or read.
    #[error("{source_name}: {error}")]
    Io {
        /// The file as given.
        source_name: String,
        /// The error.
        #[source]
        error: std::io::Error,
    },
    /// The URL could not be fetched.
    #[error("{url}: {message}")]
    Http {
        /// The URL as given (credentials never appear in it: we take none in URLs).
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The input is larger than [`MAX_SCRAPE_BYTES`].
    #[error(
        "{source_name}: {} larger than the 512 MiB a /metrics scrape is read up to; is it a scrape? (an audit log \
         goes to `apiserver-doctor diagnose PATH` or `ingest`)",
        size.map(|b| format!("{:.1} GiB,", b as f64 / f64::from(1u32 << 30))).unwrap_or_default()
    )]
    TooLarge {
        /// The input as given.
        source_name: String,
        /// Its size in bytes, when known before reading it (a file).
        size: Option<u64>,
    },
    /// The input is no scrape: an archive or compressed in a way not read here (xz, zip, …),
    /// or a member of a tar archive that is not a file.
    #[error("{source_name}: {what}")]
    NotAScrape {
        /// The input as given.
        source_name: String,
        /// What it is, and what to do.
        what: String,
    },
}

impl LoadError {
    /// The input it is about, as given (`ARCHIVE!MEMBER` for a member of a tar archive).
    pub fn source_name(&self) -> &str {
        match self {
            LoadError::Io { source_name, .. }
            | LoadError::TooLarge { source_name, .. }
            | LoadError::NotAScrape { source_name, .. } => source_name,
            LoadError::Http { url, .. } => url,
        }
    }
}

/// What one input held ([`load_input`]): a scrape, or, for a tar archive, one entry for each
/// of its members and one for any damage.
#[derive(Debug)]
#[non_exhaustive]
pub enum Loaded {
    /// A text read, to be judged by its samples: the input itself, or a member of a tar
    /// archive (its [`Snapshot::source`] is then `ARCHIVE!MEMBER`).
    Scrape {
        /// The text parsed (boxed: a scrape is large beside the other variants).
        snapshot: Box<Snapshot>,
        /// The first character of the text when it is `{` or `[` (past a byte order mark and
        /// blanks): JSON, which is no scrape.
        json: Option<char>,
        /// Whether it is a member of an archive: one without samples is skipped in a line, as
        /// a file found in a directory is (an archive holds more than scrapes).
        in_archive: bool,
    },
    /// A member of a tar archive not read (a link, a device, too large, compressed in a way
    /// not read here), and why; its name is `ARCHIVE!MEMBER`.
    Skipped(LoadError),
    /// A tar archive read only in part: damaged, or cut short. The members before the damage
    /// were read.
    Damaged {
        /// The archive (`ARCHIVE!INNER` for an archive inside one).
        archive: String,
        /// What is wrong, and how much was read.
        message: String,
    },
}

/// What the first bytes of a file tell when it is an archive or compressed with something not
/// read here: a scrape read so gave hundreds of "line is not valid UTF-8" and then "no metric
/// samples" (review s53, item 2). Tar archives are read ([`load_input`]).
fn archive_or_compressed(bytes: &[u8]) -> Option<String> {
    let magic: [(&[u8], &str, &str); 4] = [
        (b"\xfd7zXZ\x00", "xz", "xz -dk FILE"),
        (b"BZh", "bzip2", "bunzip2 -k FILE"),
        (b"PK\x03\x04", "zip", "unzip FILE"),
        (b"7z\xbc\xaf\x27\x1c", "7-Zip", "7z x FILE"),
    ];
    let (_, name, fix) = magic.iter().find(|(m, _, _)| bytes.starts_with(m))?;
    // `BZh` is also the start of a word: bzip2's fourth byte is the block size digit.
    if *name == "bzip2" && !bytes.get(3).is_some_and(|b| (b'1'..=b'9').contains(b)) {
        return None;
    }
    let what = match *name {
        "zip" | "7-Zip" => format!("a {name} archive"),
        "xz" => "an xz-compressed file".to_owned(),
        _ => format!("a {name}-compressed file"),
    };
    Some(format!(
        "{what}, not a scrape: only plain text, gzip, zstd and tar archives of them are read. Decompress it \
         first (`{fix}`) and give what it holds"
    ))
}

/// The text of `bytes` decoded from UTF-16 (as Windows PowerShell 5 writes `kubectl get --raw
/// /metrics > file`, with a byte order mark, and other Windows tools without one), with a note
/// saying so (review s53, item 5: it was read as hundreds of "line is not valid UTF-8"). `None`
/// for anything else. `findings::text::decode_utf16` tells UTF-16, for `--manifests` too.
fn decode_utf16(bytes: &[u8]) -> Option<(Vec<u8>, String)> {
    let decoded = findings::text::decode_utf16(bytes)?;
    let mut note = format!("the file is {}", decoded.describe());
    if decoded.byte_order_mark {
        note.push_str(", as Windows PowerShell 5 writes `>`");
    }
    note.push_str(": it was decoded to UTF-8 and read");
    if decoded.replaced > 0 {
        note.push_str(&format!(" ({} bad UTF-16 code units replaced by U+FFFD)", decoded.replaced));
    }
    if decoded.odd_byte {
        note.push_str(" (its last, odd byte was left out)");
    }
    Some((decoded.text.into_bytes(), note))
}

/// A compression undone here (gzip, and zstd as `.tar.zst` support bundles use), told by its
/// magic number, never by the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    Gzip,
    Zstd,
}

impl Compression {
    fn of(bytes: &[u8]) -> Option<Compression> {
        if bytes.starts_with(&[0x1f, 0x8b]) {
            Some(Compression::Gzip)
        } else if bytes.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Compression::Zstd)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }

    /// The bytes of `raw` decompressed (every gzip member, every zstd frame).
    fn reader<'a>(self, raw: impl Read + 'a) -> io::Result<Box<dyn Read + 'a>> {
        Ok(match self {
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(raw)),
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(raw)?),
        })
    }
}

/// The bytes of `raw` with any gzip or zstd layer undone, told by their first bytes, and the
/// layer undone.
fn plain<'a>(mut raw: Box<dyn Read + 'a>) -> io::Result<(Box<dyn Read + 'a>, Option<Compression>)> {
    let mut magic = Vec::with_capacity(4);
    Read::by_ref(&mut raw).take(4).read_to_end(&mut magic)?;
    let compression = Compression::of(&magic);
    let whole: Box<dyn Read + 'a> = Box::new(Cursor::new(magic).chain(raw));
    match compression {
        Some(c) => Ok((c.reader(whole)?, compression)),
        None => Ok((whole, None)),
    }
}

/// A tar header's size, and where its `ustar` magic sits.
const TAR_HEADER: usize = 512;
const TAR_MAGIC_AT: usize = 257;

/// Whether `raw` (an input's bytes, compressed or not) holds a tar archive: its first header
/// has the `ustar` magic (POSIX and GNU tar write it) and a zero byte, which no scrape's text
/// holds (a header's fields are NUL-padded). A header whose checksum is wrong is still taken
/// for one: the archive reader then names the damage, where a text reader would give a
/// "not valid UTF-8" for each of its lines.
fn holds_tar(raw: Box<dyn Read + '_>) -> bool {
    let mut head = Vec::with_capacity(TAR_HEADER);
    // A stream that fails within its first header is no archive to read: the text reader
    // names the failure.
    let read = plain(raw).and_then(|(p, _)| p.take(TAR_HEADER as u64).read_to_end(&mut head));
    read.is_ok()
        && head.len() == TAR_HEADER
        && head.get(TAR_MAGIC_AT..TAR_MAGIC_AT + 5) == Some(b"ustar")
        && head.contains(&0)
}

/// Archives inside archives are read as archives (a support bundle of must-gathers, each a
/// `.tar.gz`), as the audit reader reads them; deeper than this, one is named and not read.
const MAX_NESTING: usize = 4;

/// Reads every regular-file member of the tar archive `raw` (compressed or not) named `name`
/// into `out`, each as an input of its own named `NAME!MEMBER` (the audit reader's names for
/// them): a scrape, a compressed one, or an archive `depth` archives deep read the same way.
/// Members whose path has a part starting with `.` are left out, as a directory walk leaves
/// such files out (`._s1.prom`, the resource forks macOS's tar adds). A damaged archive keeps
/// the members read before the damage and names the damage; so does one cut short at a
/// member's end (no end-of-archive blocks) and a compressed one whose checksum fails.
fn read_archive(name: &str, raw: Box<dyn Read + '_>, depth: usize, out: &mut Vec<Loaded>) {
    let first = out.len();
    let mut members = 0usize;
    let damaged = |out: &mut Vec<Loaded>, members: usize, what: String| {
        let message = match members {
            0 => format!("{what}: no member could be read"),
            1 => format!("{what}, read no further after 1 member: the rest of the archive was not read"),
            n => format!("{what}, read no further after {n} members: the rest of the archive was not read"),
        };
        out.push(Loaded::Damaged { archive: name.to_owned(), message });
    };
    let (plain, compression) = match plain(raw) {
        Ok(plain) => plain,
        Err(e) => return damaged(out, 0, format!("damaged compressed data ({e})")),
    };
    let mut archive = tar::Archive::new(findings::archive::EndWatch::new(plain));
    let entries = match archive.entries() {
        Ok(entries) => entries,
        Err(e) => return damaged(out, 0, format!("damaged tar archive ({e})")),
    };
    let mut stopped = false;
    for entry in entries {
        let mut entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                damaged(out, members, format!("damaged tar archive ({e})"));
                stopped = true;
                break;
            }
        };
        let inside = match entry.path() {
            Ok(p) => p.display().to_string(),
            Err(_) => String::from_utf8_lossy(&entry.path_bytes()).into_owned(),
        }
        .replace('\n', "\\x0a");
        let member = format!("{name}!{inside}");
        let kind = entry.header().entry_type();
        // A GNU sparse file (`tar -S`) is a regular file whose holes the archive leaves out.
        if !kind.is_file() && !kind.is_gnu_sparse() {
            if let Some(what) = findings::archive::not_a_file(kind, entry.link_name_bytes().as_deref()) {
                members += 1;
                out.push(Loaded::Skipped(LoadError::NotAScrape { source_name: member, what }));
            }
            continue;
        }
        let hidden = entry.path().is_ok_and(|p| {
            p.components()
                .any(|c| matches!(c, Component::Normal(part) if part.to_string_lossy().starts_with('.')))
        });
        if hidden {
            continue;
        }
        members += 1;
        let size = entry.size();
        if size > MAX_SCRAPE_BYTES {
            out.push(Loaded::Skipped(LoadError::TooLarge { source_name: member, size: Some(size) }));
            continue;
        }
        // The member's own modification time stands for the scrape time, as a file's does:
        // `tar` keeps it, to the second, and extracting the archive would give it back. 0 is
        // what reproducible archives write, not a time.
        let mtime = entry
            .header()
            .mtime()
            .ok()
            .filter(|&t| t > 0)
            .and_then(|t| i64::try_from(t).ok())
            .and_then(|t| t.checked_mul(1000));
        let mut bytes = Vec::new();
        if let Err(e) = Read::by_ref(&mut entry).take(MAX_SCRAPE_BYTES + 1).read_to_end(&mut bytes) {
            damaged(out, members - 1, format!("damaged tar archive ({e}) in its member {inside}, not read"));
            stopped = true;
            break;
        }
        // The bytes of an archive cut short end in the middle of a member without an error.
        if (bytes.len() as u64) < size {
            let what = format!(
                "tar archive cut short in its member {inside} ({} of its {size} bytes), not read",
                bytes.len()
            );
            damaged(out, members - 1, what);
            stopped = true;
            break;
        }
        read_member(&member, bytes, mtime, depth + 1, out);
    }
    // The members stop at the first block of zeros (the end-of-archive marker) or at the end of
    // the bytes: an end without the marker is an archive cut short at a member's end.
    let mut end = archive.into_inner();
    if stopped {
        return;
    }
    if !end.ended_with_marker() {
        damaged(
            out,
            members,
            "tar archive cut short: it ends without its end-of-archive blocks (a copy or download stopped at \
             a member's end?)"
                .to_owned(),
        );
    } else if compression.is_some()
        && let Err(e) = io::copy(end.inner_mut(), &mut io::sink())
    {
        // What follows the end-of-archive marker is read to its end, so that a gzip or zstd
        // layer checks its checksum (a plain archive has none: its padding is not read).
        out.push(Loaded::Damaged {
            archive: name.to_owned(),
            message: format!(
                "damaged compressed data ({e}): every member of the archive was read, but what was read may \
                 hold damaged bytes"
            ),
        });
    } else if out.len() == first {
        out.push(Loaded::Skipped(LoadError::NotAScrape {
            source_name: name.to_owned(),
            what: "a tar archive holding no files".to_owned(),
        }));
    }
}

/// The first character of `text` when it is `{` or `[` (past a UTF-8 byte order mark and
/// blanks): JSON, not a scrape.
fn json_start(text: &[u8]) -> Option<char> {
    let text = text.strip_prefix(b"\xef\xbb\xbf").unwrap_or(text);
    match text.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Some('{'),
        Some(b'[') => Some('['),
        _ => None,
    }
}

/// Reads the bytes of the archive member `name` into `out`: a tar archive member by member
/// (`depth` archives deep), anything else as one scrape.
fn read_member(name: &str, bytes: Vec<u8>, time_ms: Option<i64>, depth: usize, out: &mut Vec<Loaded>) {
    if holds_tar(Box::new(&bytes[..])) {
        if depth > MAX_NESTING {
            out.push(Loaded::Skipped(LoadError::NotAScrape {
                source_name: name.to_owned(),
                what: format!(
                    "an archive nested more than {MAX_NESTING} archives deep: not read; extract the archive \
                     around it (`tar -xf`) and read what it holds"
                ),
            }));
        } else {
            read_archive(name, Box::new(&bytes[..]), depth, out);
        }
        return;
    }
    match decode(bytes, name) {
        Ok(decoded) => {
            let json = json_start(&decoded.0);
            let snapshot = Box::new(parse_cut(name, decoded, time_ms));
            out.push(Loaded::Scrape { snapshot, json, in_archive: true });
        }
        Err(e) => out.push(Loaded::Skipped(e)),
    }
}

/// A scrape's text, where its compressed stream was cut, and a note on a decoding done.
type Decoded = (Vec<u8>, Option<String>, Option<String>);

/// The text of a scrape from the bytes read: decompressed when gzip or zstd, refused when an
/// archive or compressed otherwise, decoded when UTF-16. Returns the text, where a compressed
/// stream was cut, and a note on a decoding done.
fn decode(bytes: Vec<u8>, source_name: &str) -> Result<Decoded, LoadError> {
    let (text, cut) = decompress_if_needed(bytes, source_name)?;
    if let Some(what) = archive_or_compressed(&text) {
        return Err(LoadError::NotAScrape { source_name: source_name.to_owned(), what });
    }
    match decode_utf16(&text) {
        Some((text, note)) => Ok((text, cut, Some(note))),
        None => Ok((text, cut, None)),
    }
}

fn now_ms() -> Option<i64> {
    SystemTime::now().duration_since(UNIX_EPOCH).ok().map(|d| d.as_millis() as i64)
}

fn read_limited(reader: impl Read, source_name: &str) -> Result<Vec<u8>, LoadError> {
    let mut buf = Vec::new();
    reader
        .take(MAX_SCRAPE_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|error| LoadError::Io { source_name: source_name.to_owned(), error })?;
    if buf.len() as u64 > MAX_SCRAPE_BYTES {
        return Err(LoadError::TooLarge { source_name: source_name.to_owned(), size: None });
    }
    Ok(buf)
}

/// The text of a scrape, decompressed when it is gzip or zstd, and what cut it short: a
/// stream that ends early (a download or copy cut off) gives the lines before the cut, as a
/// cut plain scrape does, not nothing (review s40, item 5: `incomplete deflate stream` lost
/// every sample). Its last line, cut, is left out; a stream that gives no whole line fails.
fn decompress_if_needed(bytes: Vec<u8>, source_name: &str) -> Result<(Vec<u8>, Option<String>), LoadError> {
    let Some(compression) = Compression::of(&bytes) else {
        return Ok((bytes, None));
    };
    let mut text = Vec::new();
    let read =
        compression.reader(&bytes[..]).and_then(|r| r.take(MAX_SCRAPE_BYTES + 1).read_to_end(&mut text));
    match read {
        Ok(_) if text.len() as u64 > MAX_SCRAPE_BYTES => {
            Err(LoadError::TooLarge { source_name: source_name.to_owned(), size: None })
        }
        Ok(_) => Ok((text, None)),
        // What was read before the error is in `text` (`read_to_end` keeps it).
        Err(error) => match last_newline(&text) {
            Some(end) => {
                text.truncate(end + 1);
                let note = format!(
                    "the {} stream is cut short ({error}) after this line: the lines before were read, the \
                     rest of the scrape is missing",
                    compression.name()
                );
                Ok((text, Some(note)))
            }
            None => Err(LoadError::Io { source_name: source_name.to_owned(), error }),
        },
    }
}

fn last_newline(text: &[u8]) -> Option<usize> {
    text.iter().rposition(|&b| b == b'\n')
}

/// Parses `text`, and names the place where its compressed stream was cut (`cut`, from
/// [`decompress_if_needed`]) as a bad line after the last one read.
fn parse_cut(source_name: &str, (text, cut, decoded): Decoded, time_ms: Option<i64>) -> Snapshot {
    let text = &text[..];
    let mut snapshot = Snapshot::parse(source_name, text, time_ms);
    if let Some(message) = decoded {
        snapshot.exposition.notes.insert(0, crate::parse::LineError { line: 1, message });
    }
    if let Some(message) = cut {
        let line = text.iter().filter(|&&b| b == b'\n').count() + 1;
        snapshot.exposition.error_count += 1;
        snapshot.exposition.errors.push(crate::parse::LineError { line, message });
    }
    snapshot
}

/// A fetch error with what to do when it is TLS this fetch cannot satisfy: it trusts the
/// system's roots and sends no client certificate (review s44: "invalid peer certificate:
/// UnknownIssuer" said no more).
fn tls_hint(message: String) -> String {
    let tls =
        ["UnknownIssuer", "BadCertificate", "CertificateRequired", "certificate required", "NotValidForName"];
    if !tls.iter().any(|t| message.contains(t)) {
        return message;
    }
    format!(
        "{message}: a URL is read with the system's CAs and no client certificate. For the API server, save a \
         scrape with its credentials (`kubectl get --raw /metrics > apiserver.prom`) and read the file; for etcd, \
         `apiserver-doctor etcd --endpoints URL --cacert CA --cert CERT --key KEY` reads each member's /metrics \
         with them"
    )
}

/// Reads one scrape: a file path, `-` for standard input, or an `http://` / `https://` URL
/// (TLS verified). A file's modification time stands for the scrape time when its samples
/// carry no timestamps; standard input and URLs use the time they were read. A tar archive
/// holds no one scrape and is refused: [`load_input`] reads each of its members.
pub fn load(source_name: &str) -> Result<Snapshot, LoadError> {
    let mut loaded = load_input(source_name)?;
    if loaded.len() == 1
        && let Some(Loaded::Scrape { snapshot, in_archive: false, .. }) = loaded.pop()
    {
        return Ok(*snapshot);
    }
    Err(LoadError::NotAScrape {
        source_name: source_name.to_owned(),
        what: "a tar archive, not one scrape: each of its members is read as a scrape of its own by \
               `apiserver-doctor metrics FILE`"
            .to_owned(),
    })
}

/// Reads what one input holds: a file path, `-` for standard input, or an `http://` /
/// `https://` URL (TLS verified), as [`load`] does; a tar archive among them (plain, or in
/// gzip or zstd: told by its content, not its name) gives one [`Loaded`] for each of its
/// regular-file members, named `ARCHIVE!MEMBER` (see [`read_archive`]), sorted by name as a
/// directory's files are, then one for any damage. Every other input gives one
/// [`Loaded::Scrape`]. An error is an input that could not be read at all.
pub fn load_input(source_name: &str) -> Result<Vec<Loaded>, LoadError> {
    let mut out = Vec::new();
    if source_name.starts_with("http://") || source_name.starts_with("https://") {
        // A URL may serve a gzip file (`…/metrics.gz`) as files may be one (review s44).
        let bytes = fetch(source_name)?;
        read_top(source_name, source_name, bytes, now_ms(), &mut out)?;
        return Ok(out);
    }
    if source_name == "-" {
        let bytes = read_limited(std::io::stdin().lock(), "standard input")?;
        read_top(source_name, "standard input", bytes, now_ms(), &mut out)?;
        return Ok(out);
    }
    let io_err = |error| LoadError::Io { source_name: source_name.to_owned(), error };
    let path = Path::new(source_name);
    let file = std::fs::File::open(path).map_err(io_err)?;
    let metadata = file.metadata().ok();
    let mtime = metadata
        .as_ref()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as i64);
    // A file known to be too large is refused before reading half a gigabyte of it, unless it
    // is a tar archive (a support bundle of gigabytes may hold a few scrapes): that is read as
    // it streams past, each member up to the size of a scrape.
    if let Some(size) = metadata.as_ref().filter(|m| m.is_file()).map(std::fs::Metadata::len)
        && size > MAX_SCRAPE_BYTES
    {
        let reopen = || std::fs::File::open(path).map(io::BufReader::new).map_err(io_err);
        if !holds_tar(Box::new(reopen()?)) {
            return Err(LoadError::TooLarge { source_name: source_name.to_owned(), size: Some(size) });
        }
        read_archive(source_name, Box::new(reopen()?), 0, &mut out);
        return archive_read(source_name, out);
    }
    let bytes = read_limited(file, source_name)?;
    read_top(source_name, source_name, bytes, mtime, &mut out)?;
    Ok(out)
}

/// [`read_member`] for the input given, `source_name` (`shown` in errors): its own failure is an
/// error, not a member skipped.
fn read_top(
    source_name: &str,
    shown: &str,
    bytes: Vec<u8>,
    time_ms: Option<i64>,
    out: &mut Vec<Loaded>,
) -> Result<(), LoadError> {
    if holds_tar(Box::new(&bytes[..])) {
        read_archive(source_name, Box::new(&bytes[..]), 0, out);
        *out = archive_read(source_name, std::mem::take(out))?;
        return Ok(());
    }
    let decoded = decode(bytes, shown)?;
    let json = json_start(&decoded.0);
    let snapshot = Box::new(parse_cut(source_name, decoded, time_ms));
    out.push(Loaded::Scrape { snapshot, json, in_archive: false });
    Ok(())
}

/// What was read from the archive `source_name`, its members sorted by name (as a directory's
/// files are: the archive's own order is whatever order `tar` found them in), damage last; an
/// error when it held nothing but damage (nothing was read from it) or no file at all.
fn archive_read(source_name: &str, mut out: Vec<Loaded>) -> Result<Vec<Loaded>, LoadError> {
    fn key(l: &Loaded) -> (bool, &str) {
        match l {
            Loaded::Scrape { snapshot, .. } => (false, snapshot.source.as_str()),
            Loaded::Skipped(e) => (false, e.source_name()),
            Loaded::Damaged { archive, .. } => (true, archive.as_str()),
        }
    }
    out.sort_by(|a, b| key(a).cmp(&key(b)));
    match out.as_slice() {
        [Loaded::Damaged { archive, message }] if archive == source_name => {
            Err(LoadError::NotAScrape { source_name: source_name.to_owned(), what: message.clone() })
        }
        [Loaded::Skipped(LoadError::NotAScrape { source_name: name, what })] if name == source_name => {
            Err(LoadError::NotAScrape { source_name: source_name.to_owned(), what: what.clone() })
        }
        _ => Ok(out),
    }
}

/// The first character of the file `source` when it is `{` or `[` (past a UTF-8 byte order
/// mark and blanks; gzip or zstd undone): JSON, not a scrape. `None` for anything else, and for
/// URLs and standard input, which cannot be read again ([`Loaded::Scrape`] says it of what was
/// read).
pub fn starts_json(source: &str) -> Option<char> {
    if source == "-" || source.starts_with("http://") || source.starts_with("https://") {
        return None;
    }
    let file = std::fs::File::open(source).ok()?;
    let mut head = Vec::new();
    // A cut stream still gives its first bytes.
    let _ = plain(Box::new(file)).ok()?.0.take(4096).read_to_end(&mut head);
    json_start(&head)
}

/// How long a scrape may take: to resolve the name and to connect (each), to get the answer's
/// headers, for any one read of the body to bring bytes, and for the whole body.
pub const SCRAPE_TIMEOUTS: [(&str, u64); 4] = [
    ("to connect", 10),
    ("to answer", 30),
    ("between two reads of the answer", 30),
    ("to send the whole answer", 300),
];

/// Fetches a `/metrics` URL with TLS verified, asking for the Prometheus text format. A server
/// that accepts the connection and never answers (an overloaded API server, a dead load
/// balancer) is given up on after [`SCRAPE_TIMEOUTS`], with what it did not do in time (review
/// s44: it hung for ever).
pub fn fetch(url: &str) -> Result<Vec<u8>, LoadError> {
    use std::time::Duration;
    let http_err = |message: String| LoadError::Http { url: url.to_owned(), message };
    let [(_, connect), (_, answer), (_, read), (_, body)] = SCRAPE_TIMEOUTS;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_resolve(Some(Duration::from_secs(connect)))
        .timeout_connect(Some(Duration::from_secs(connect)))
        .timeout_recv_response(Some(Duration::from_secs(answer)))
        .timeout_per_read(Some(Duration::from_secs(read)))
        .timeout_recv_body(Some(Duration::from_secs(body)))
        .build()
        .into();
    let explain = |e: ureq::Error| match e {
        ureq::Error::Timeout(kind) => {
            let what = match kind {
                ureq::Timeout::Resolve | ureq::Timeout::Connect => SCRAPE_TIMEOUTS[0],
                ureq::Timeout::RecvResponse => SCRAPE_TIMEOUTS[1],
                ureq::Timeout::PerRead => SCRAPE_TIMEOUTS[2],
                _ => SCRAPE_TIMEOUTS[3],
            };
            http_err(format!(
                "no answer in time: it took more than {} s {} ({kind}). An API server this slow is overloaded or \
                 cut off: save a scrape from where it answers (`kubectl get --raw /metrics > apiserver.prom`) and \
                 read the file",
                what.1, what.0
            ))
        }
        other => http_err(tls_hint(other.to_string())),
    };
    let response = agent
        .get(url)
        .header("Accept", "text/plain;version=0.0.4;q=1,application/openmetrics-text;version=1.0.0;q=0.5")
        .call()
        .map_err(explain)?;
    let mut body = response.into_body();
    body.with_config().limit(MAX_SCRAPE_BYTES).read_to_vec().map_err(explain)
}

#[cfg(test)]
mod tests {
    use super::tls_hint;

    /// Review s44: an https scrape signed by a private CA failed with ureq's words alone.
    #[test]
    fn a_certificate_this_fetch_cannot_verify_or_send_says_what_reads_it_instead() {
        let hinted = tls_hint("io: invalid peer certificate: UnknownIssuer".to_owned());
        assert!(hinted.starts_with("io: invalid peer certificate: UnknownIssuer: a URL is read"), "{hinted}");
        assert!(hinted.contains("kubectl get --raw /metrics > apiserver.prom"), "{hinted}");
        assert!(hinted.contains("apiserver-doctor etcd --endpoints URL --cacert CA"), "{hinted}");
        assert!(
            tls_hint("received fatal alert: CertificateRequired".to_owned())
                .contains("no client certificate")
        );
        assert_eq!(tls_hint("Connection refused".to_owned()), "Connection refused");
    }
}
