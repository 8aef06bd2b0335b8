//! Reading scrapes from files (plain or gzip), `-` (standard input) and `http(s)://` URLs.

use std::io::Read;
use std::path::Path;
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
    /// The input is an archive or compressed in a way not read here (tar, zstd, xz, …).
    #[error("{source_name}: {what}")]
    NotAScrape {
        /// The input as given.
        source_name: String,
        /// What it is, and what to do.
        what: String,
    },
}

/// What the first bytes of a file tell when it is an archive or compressed with something
/// other than gzip: a scrape read so gave hundreds of "line is not valid UTF-8" and then "no
/// metric samples" (review s53, item 2). `gzipped`: the bytes came out of a gzip stream.
fn archive_or_compressed(bytes: &[u8], gzipped: bool) -> Option<String> {
    if bytes.get(257..262) == Some(b"ustar") {
        let (what, extract) = if gzipped {
            ("a gzip-compressed tar archive (.tgz)", "tar xzf FILE -C DIR")
        } else {
            ("a tar archive", "tar xf FILE -C DIR")
        };
        return Some(format!(
            "{what}, not a scrape: `metrics` does not read archives. Extract it first (`{extract}`) and give \
             the directory: every scrape in it is read, and scrapes of one API server taken at different times \
             are compared"
        ));
    }
    let magic: [(&[u8], &str, &str); 5] = [
        (b"\x28\xb5\x2f\xfd", "zstd", "zstd -d FILE"),
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
        "{what}, not a scrape: only plain text and gzip are read. Decompress it first (`{fix}`) and \
         give what it holds"
    ))
}

/// Text in UTF-16 (as Windows PowerShell 5 writes `kubectl get --raw /metrics > file`) decoded
/// to UTF-8, with a note saying so: one with a byte order mark, or without one whose first
/// characters are ASCII with a zero byte each (review s53, item 5: it was read as hundreds of
/// "line is not valid UTF-8"). `None` for anything else.
fn decode_utf16(bytes: &[u8]) -> Option<(Vec<u8>, String)> {
    let (little, body, bom) = match bytes {
        [0xff, 0xfe, rest @ ..] => (true, rest, true),
        [0xfe, 0xff, rest @ ..] => (false, rest, true),
        _ => {
            let head = bytes.get(..16.min(bytes.len() & !1))?;
            if head.len() < 4 {
                return None;
            }
            let pairs = head.chunks_exact(2);
            let le = pairs.clone().all(|p| p[0] != 0 && p[0].is_ascii() && p[1] == 0);
            let be = pairs.clone().all(|p| p[0] == 0 && p[1] != 0 && p[1].is_ascii());
            if !(le || be) {
                return None;
            }
            (le, bytes, false)
        }
    };
    let units = body.chunks_exact(2).map(|p| {
        let pair = [p[0], p.get(1).copied().unwrap_or(0)];
        if little { u16::from_le_bytes(pair) } else { u16::from_be_bytes(pair) }
    });
    let mut bad = 0usize;
    let text: String = char::decode_utf16(units)
        .map(|c| {
            c.unwrap_or_else(|_| {
                bad += 1;
                char::REPLACEMENT_CHARACTER
            })
        })
        .collect();
    let mut note = format!(
        "the file is UTF-16{} text{}, as Windows PowerShell writes `>`: it was decoded to UTF-8 and read",
        if little { "LE" } else { "BE" },
        if bom { " with a byte order mark" } else { "" }
    );
    if bad > 0 {
        note.push_str(&format!(" ({bad} bad UTF-16 code units replaced by U+FFFD)"));
    }
    if body.len() % 2 == 1 {
        note.push_str(" (its last, odd byte was left out)");
    }
    Some((text.into_bytes(), note))
}

/// A scrape's text, where its gzip stream was cut, and a note on a decoding done.
type Decoded = (Vec<u8>, Option<String>, Option<String>);

/// The text of a scrape from the bytes read: gunzipped when gzip, refused when an archive or
/// compressed otherwise, decoded when UTF-16. Returns the text, where a gzip stream was cut,
/// and a note on a decoding done.
fn decode(bytes: Vec<u8>, source_name: &str) -> Result<Decoded, LoadError> {
    let gzipped = bytes.starts_with(&[0x1f, 0x8b]);
    let (text, cut) = gunzip_if_needed(bytes, source_name)?;
    if let Some(what) = archive_or_compressed(&text, gzipped) {
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

/// The text of a scrape, gunzipped when it is gzip, and what cut it short: a gzip stream that
/// ends early (a download or copy cut off) gives the lines before the cut, as a cut plain
/// scrape does, not nothing (review s40, item 5: `incomplete deflate stream` lost every
/// sample). Its last line, cut, is left out; a stream that gives no whole line fails.
fn gunzip_if_needed(bytes: Vec<u8>, source_name: &str) -> Result<(Vec<u8>, Option<String>), LoadError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok((bytes, None));
    }
    let mut text = Vec::new();
    let read =
        flate2::read::MultiGzDecoder::new(&bytes[..]).take(MAX_SCRAPE_BYTES + 1).read_to_end(&mut text);
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
                    "the gzip stream is cut short ({error}) after this line: the lines before were read, \
                     the rest of the scrape is missing"
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

/// Parses `text`, and names the place where its gzip stream was cut (`cut`, from
/// [`gunzip_if_needed`]) as a bad line after the last one read.
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
/// carry no timestamps; standard input and URLs use the time they were read.
pub fn load(source_name: &str) -> Result<Snapshot, LoadError> {
    if source_name.starts_with("http://") || source_name.starts_with("https://") {
        // A URL may serve a gzip file (`…/metrics.gz`) as files may be one (review s44).
        let bytes = fetch(source_name)?;
        return Ok(parse_cut(source_name, decode(bytes, source_name)?, now_ms()));
    }
    if source_name == "-" {
        let bytes = read_limited(std::io::stdin().lock(), "standard input")?;
        return Ok(parse_cut(source_name, decode(bytes, "standard input")?, now_ms()));
    }
    let io_err = |error| LoadError::Io { source_name: source_name.to_owned(), error };
    let path = Path::new(source_name);
    let file = std::fs::File::open(path).map_err(io_err)?;
    let metadata = file.metadata().ok();
    // A file known to be too large is refused before reading half a gigabyte of it.
    if let Some(size) = metadata.as_ref().filter(|m| m.is_file()).map(std::fs::Metadata::len)
        && size > MAX_SCRAPE_BYTES
    {
        return Err(LoadError::TooLarge { source_name: source_name.to_owned(), size: Some(size) });
    }
    let mtime = metadata
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as i64);
    let bytes = read_limited(file, source_name)?;
    Ok(parse_cut(source_name, decode(bytes, source_name)?, mtime))
}

/// The first character of the file `source` when it is `{` or `[` (past a UTF-8 byte order
/// mark and blanks; gzip undone): JSON, not a scrape. `None` for anything else, and for URLs
/// and standard input, which cannot be read again.
pub fn starts_json(source: &str) -> Option<char> {
    if source == "-" || source.starts_with("http://") || source.starts_with("https://") {
        return None;
    }
    let mut head = Vec::new();
    let file = std::fs::File::open(source).ok()?;
    let mut raw = Vec::new();
    file.take(4096).read_to_end(&mut raw).ok()?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let file = std::fs::File::open(source).ok()?;
        // A cut stream still gives its first bytes.
        let _ = flate2::read::MultiGzDecoder::new(file).take(4096).read_to_end(&mut head);
    } else {
        head = raw;
    }
    let text = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&head);
    match text.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Some('{'),
        Some(b'[') => Some('['),
        _ => None,
    }
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
