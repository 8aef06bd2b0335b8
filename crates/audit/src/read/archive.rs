//! Tar archives: support bundles and must-gathers hand audit logs over as `.tar`, `.tar.gz`
//! (`.tgz`) or `.tar.zst`. Recognised by content (a ustar header after any gzip or zstd
//! layer), never by name, and read entry by entry as they stream past: each regular file of
//! the archive is an input of its own, named `ARCHIVE!PATH`, read like a file (compressed
//! entries included). Other files in the archive are reported as not audit logs, as in a
//! directory.

use std::io::{Cursor, Read};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use super::input::{Counting, plain, read_prefix};
use super::summary::FileSummary;
use super::{BatchSink, ReadError, ReadOptions, read_reader};

/// A tar header's size, and where its `ustar` magic sits.
const HEADER: usize = 512;
const MAGIC_AT: usize = 257;

/// Whether `raw` (a file's bytes, or stdin's) holds a tar archive, compressed or not, and the
/// same bytes again from their start: what was read to tell is kept and read first.
pub(super) fn sniff<'a>(raw: Box<dyn Read + 'a>) -> (bool, Box<dyn Read + 'a>) {
    let mut seen = Recording { inner: raw, seen: Vec::new() };
    let tar = plain(Box::new(&mut seen))
        .and_then(|mut p| read_prefix(&mut p, HEADER))
        .is_ok_and(|h| is_tar_header(&h));
    let Recording { inner, seen } = seen;
    (tar, Box::new(Cursor::new(seen).chain(inner)))
}

/// A reader keeping a copy of every byte read through it.
struct Recording<R> {
    inner: R,
    seen: Vec<u8>,
}

impl<R: Read> Read for Recording<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.seen.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

/// A ustar header whose checksum holds: `ustar` at its place alone could be a log line's text.
fn is_tar_header(h: &[u8]) -> bool {
    if h.len() != HEADER || h[MAGIC_AT..MAGIC_AT + 5] != *b"ustar" {
        return false;
    }
    // The checksum counts its own eight bytes as spaces.
    let sum: u32 = h[..148].iter().chain(&[b' '; 8]).chain(&h[156..]).map(|&b| u32::from(b)).sum();
    tar::Header::from_byte_slice(h).cksum().is_ok_and(|stored| stored == sum)
}

/// Why an entry of type `kind` (not a regular file) is not read, with where a link points;
/// `None` for the entries that are the archive's own structure (directories, long-name and
/// attribute headers), which are not files of the bundle.
fn not_a_file(kind: tar::EntryType, link: Option<&[u8]>) -> Option<String> {
    let target = || link.map(|l| String::from_utf8_lossy(l).replace('\n', "\\x0a")).unwrap_or_default();
    match kind {
        tar::EntryType::Symlink => Some(format!(
            "a symbolic link inside the archive (to {}): not followed; the file it names is read where the \
             archive holds it",
            target()
        )),
        tar::EntryType::Link => Some(format!(
            "a hard link inside the archive (to {}): it holds no bytes of its own; the file it names is read \
             where the archive holds it",
            target()
        )),
        tar::EntryType::Char | tar::EntryType::Block => {
            Some("a device inside the archive: not a file".to_owned())
        }
        tar::EntryType::Fifo => Some("a named pipe inside the archive: not a file".to_owned()),
        tar::EntryType::Directory
        | tar::EntryType::XGlobalHeader
        | tar::EntryType::XHeader
        | tar::EntryType::GNULongName
        | tar::EntryType::GNULongLink => None,
        other => Some(format!("a tar entry of type {:?}, not a regular file: not read", other)),
    }
}

/// Reads every regular file of the archive `file` named `name`. A damaged archive keeps the
/// files read before the damage and says where it stopped.
pub(super) fn read_tar(
    name: &str,
    file: Box<dyn Read + '_>,
    opts: &ReadOptions,
    sink: &mut dyn BatchSink,
) -> Result<Vec<FileSummary>, ReadError> {
    let name = name.to_owned();
    // The archive's bytes on disk count toward progress; each entry's summary counts its bytes
    // as stored in the archive (so the entries of a compressed archive add up to more).
    let counted = Counting::new(file, Arc::new(AtomicU64::new(0)), opts.progress.clone());
    let plain = plain(Box::new(counted)).map_err(|source| ReadError::Io { path: name.clone(), source })?;
    let inner = ReadOptions { progress: None, ..opts.clone() };
    let mut archive = tar::Archive::new(plain);
    let mut files = Vec::new();
    let stopped = |files: &[FileSummary], e: &dyn std::fmt::Display| FileSummary {
        file: name.clone(),
        not_audit: Some(format!("damaged tar archive, read no further after {} files: {e}", files.len())),
        ..FileSummary::default()
    };
    let entries = match archive.entries() {
        Ok(entries) => entries,
        Err(e) => return Ok(vec![stopped(&files, &e)]),
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                let note = stopped(&files, &e);
                files.push(note);
                break;
            }
        };
        let inside = match entry.path() {
            Ok(p) => p.display().to_string().replace('\n', "\\x0a"),
            Err(_) => String::from_utf8_lossy(&entry.path_bytes()).into_owned(),
        };
        let kind = entry.header().entry_type();
        if !kind.is_file() {
            // Directories and the headers that carry long names and attributes are the
            // archive's own structure; anything else holds no bytes to read and is said so.
            if let Some(why) = not_a_file(kind, entry.link_name_bytes().as_deref()) {
                files.push(FileSummary {
                    file: format!("{name}!{inside}"),
                    not_audit: Some(why),
                    ..FileSummary::default()
                });
            }
            continue;
        }
        files.push(read_reader(&format!("{name}!{inside}"), Box::new(entry), &inner, sink)?);
    }
    if files.is_empty() {
        files.push(FileSummary {
            file: name.clone(),
            not_audit: Some("a tar archive holding no files".to_owned()),
            ..FileSummary::default()
        });
    }
    Ok(files)
}
