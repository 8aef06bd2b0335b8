//! Reading audit logs of every format into canonical Arrow batches, in bounded memory.
//!
//! [`read_paths`] takes files, directories (read recursively, in name order) and `-` (stdin);
//! `.gz` and `.zst` content is decompressed transparently (detected from magic bytes, never
//! from the name). The format of each file is detected from its content:
//!
//! | container | detected when | records |
//! |---|---|---|
//! | JSON lines | the first line is one complete JSON value, or most of the next few are (a first line cut off) | one record per line |
//! | JSON document | a `{` document spanning lines (pretty-printed) | the object, or each of its `items` / `records` |
//! | JSON array | the content starts with `[` | each element |
//! | CSV | a header line naming `log_s` (AzureDiagnostics), `AuditId`/`Verb`… (AKSAudit) or `_raw` (Splunk) | each row |
//! | YAML | `key: value` text | each document |
//! | CRI container log | the first line is `TIME stdout\|stderr F\|P CONTENT` | each line's content, split lines joined |
//! | Docker json-file log (JSON lines) | one of the first lines is `{"log","stream","time"}` | each record's `log`, split lines joined |
//!
//! Each record is then recognised by its keys: an `Event`, an `EventList`, a diagnostic
//! record (`category` + `properties.log`), an `AzureDiagnostics` row (`log_s`), an `AKSAudit`
//! row (`AuditId`, `Verb`, …), CloudWatch log events, a GKE Cloud Logging entry, or a shipper
//! or log-store wrapper holding one of these under `log`, `line` (Loki) or `_raw` (Splunk).
//! See `docs/formats.md`.
//!
//! JSON lines, the bulk case, are parsed in parallel: the input is cut into newline-aligned
//! chunks of [`ReadOptions::chunk_bytes`], a few chunks are parsed at once on the rayon pool
//! while the next ones are read, and each chunk becomes one batch handed to the sink in input
//! order. Memory stays proportional to the chunk size, whatever the input size. Arrays, the
//! lists of documents, objects one after another, YAML documents and Event Hubs Capture's
//! messages are cut into chunks of whole records the same way.
//!
//! ```no_run
//! use audit::read::{read_paths, ReadOptions};
//! let mut rows = 0;
//! let summary = read_paths(&["audit.log".into()], &ReadOptions::default(), &mut |_file: &str, batch: arrow::array::RecordBatch| {
//!     rows += batch.num_rows();
//!     Ok(())
//! })?;
//! assert_eq!(rows as u64, summary.events());
//! # Ok::<(), audit::read::ReadError>(())
//! ```

mod archive;
mod avro;
mod cloudwatch;
mod cri;
mod diagnostic;
mod docker;
mod document;
mod input;
mod lines;
mod lists;
mod pump;
mod records;
pub mod summary;
mod text;
mod yaml;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use arrow::array::RecordBatch;

pub use summary::{Compression, Container, FileSummary, Location, ReadSummary, SkipKind, SkippedRecord};

use records::Collector;

/// An error a [`BatchSink`] returns to stop the read.
pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

/// Receives the canonical batches as they are read, in input order.
pub trait BatchSink {
    /// One batch of rows of [`crate::canonical_schema`], all read from `file`.
    fn batch(&mut self, file: &str, batch: RecordBatch) -> Result<(), SinkError>;
}

impl<F> BatchSink for F
where
    F: FnMut(&str, RecordBatch) -> Result<(), SinkError>,
{
    fn batch(&mut self, file: &str, batch: RecordBatch) -> Result<(), SinkError> {
        self(file, batch)
    }
}

/// How to read.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Keep `requestObject` / `responseObject` (they can hold Secrets; off by default).
    pub keep_bodies: bool,
    /// Stop at the first skipped record or non-audit file with [`ReadError::Strict`].
    pub strict: bool,
    /// Skipped records kept as examples per file.
    pub max_examples: usize,
    /// Size of the newline-aligned chunks JSON lines are cut into (one batch each).
    pub chunk_bytes: usize,
    /// Longest line (array element, object, YAML document) accepted; longer ones are skipped
    /// as [`SkipKind::TooLong`].
    pub max_line_bytes: usize,
    /// CSV rows held in memory (in bytes) while no row has told whether the portal's display
    /// dates are day-first or month-first; rows held past it go to an unnamed temporary file
    /// (in `TMPDIR`) until one does, or the file ends.
    pub hold_bytes: usize,
    /// Rows per batch for CSV and for the documents the `serde_json` streamer reads (the other
    /// containers are handed on a chunk at a time).
    pub batch_rows: usize,
    /// When set, bytes read from disk (before decompression) are added here as reading goes.
    pub progress: Option<Arc<AtomicU64>>,
    /// Hand on each [`FileClass`](crate::store::writer::FileClass) of events in batches of its
    /// own (the store writes each class to its own files): rows then come out grouped by class
    /// instead of in input order.
    pub split_by_class: bool,
    /// Read JSON records through the one-pass event scan and simd-json's tape where they can
    /// (the default); `false` reads every record with serde_json, the reference both must
    /// agree with.
    pub simd: bool,
    /// When set, the read checks it before each file and before each batch it hands on (a
    /// chunk, [`Self::batch_rows`] records of CSV or of streamed documents), and stops
    /// with [`ReadError::Interrupted`] once it is true: how `ingest` stops on Ctrl-C or
    /// SIGTERM between chunks, with nothing half-handed to the sink.
    pub interrupt: Option<Arc<AtomicBool>>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            keep_bodies: false,
            strict: false,
            max_examples: 5,
            chunk_bytes: 4 << 20,
            hold_bytes: 64 << 20,
            max_line_bytes: 64 << 20,
            batch_rows: 8192,
            progress: None,
            split_by_class: false,
            simd: true,
            interrupt: None,
        }
    }
}

/// Errors that stop a read. Bad records never do (they are counted in the summary), except
/// with [`ReadOptions::strict`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// A named path could not be opened or listed.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A directory named to be read is an apiserver-doctor store: its Parquet files and
    /// manifest are not audit logs.
    #[error(
        "{0} is an apiserver-doctor store (it holds manifest.json and data/), not audit logs: \
         read it with --store, e.g. `apiserver-doctor diagnose --store {0}` or `apiserver-doctor query --store {0}`"
    )]
    IsStore(String),
    /// Strict mode met a bad record or a file that is not an audit log.
    #[error("{0}")]
    Strict(SkippedRecord),
    /// The sink refused a batch.
    #[error("{file}: {source}")]
    Sink {
        /// The file the batch came from.
        file: String,
        /// The sink's error.
        source: SinkError,
    },
    /// [`ReadOptions::interrupt`] was set (Ctrl-C, SIGTERM): the read stopped before `file`
    /// or between two of its batches; every batch handed to the sink before is whole.
    #[error("interrupted while reading {file}")]
    Interrupted {
        /// The file being read (or about to be) when the read stopped.
        file: String,
    },
    /// Building Arrow arrays failed (a bug: rows are validated before they are appended).
    #[error("{file}: building rows: {source}")]
    Arrow {
        /// The file being read.
        file: String,
        /// The cause.
        source: arrow::error::ArrowError,
    },
}

/// Reads every path and hands canonical batches to `sink`.
///
/// Paths that do not exist fail before anything is read; a file that is not an audit log, or
/// an entry of a directory that cannot be read, is reported in its [`FileSummary::not_audit`]
/// and the read goes on.
pub fn read_paths(
    paths: &[PathBuf],
    opts: &ReadOptions,
    sink: &mut dyn BatchSink,
) -> Result<ReadSummary, ReadError> {
    let inputs = find_inputs(paths, &[])?;
    if opts.strict
        && let Some(first) = inputs.first_skipped()
    {
        return Err(ReadError::Strict(first));
    }
    let mut summary = ReadSummary { files: inputs.skipped };
    for input in inputs.files {
        check_interrupt(opts, &path_text(&input))?;
        // A regular file's size when opened, and a handle to see its size after: a file cut
        // while it is read (`copytruncate` log rotation) ends in a cut record.
        let mut opened: Option<(std::fs::File, u64)> = None;
        // Standard input and named pipes are read on a thread of their own, so that a stream
        // that goes quiet still has its lines handed on, committed and interruptible (see
        // `pump`); regular files are read here, as before.
        let mut ticks = None;
        let mut pumped = |name: String,
                          r: Box<dyn Read + Send>|
         -> Result<(String, Box<dyn Read>), ReadError> {
            let pump = pump::Pump::start(r).map_err(|source| ReadError::Io { path: name.clone(), source })?;
            ticks = Some(pump.ticks.clone());
            Ok((name, Box::new(pump)))
        };
        let (name, reader): (String, Box<dyn Read>) = if input.as_os_str() == "-" {
            pumped(STDIN_NAME.to_owned(), Box::new(std::io::stdin()))?
        } else {
            let name = path_text(&input);
            match open_input(&input, opts, &name) {
                Ok(f) => {
                    let meta = f.metadata().ok();
                    opened = meta
                        .as_ref()
                        .filter(|m| m.is_file())
                        .and_then(|m| Some((f.try_clone().ok()?, m.len())));
                    if meta.is_some_and(|m| is_stream(m.file_type())) {
                        pumped(name, Box::new(f))?
                    } else {
                        (name, Box::new(f))
                    }
                }
                Err(e) => return Err(e),
            }
        };
        // A tar archive (support bundle, must-gather) is read file by file.
        let (tar, reader) = match &ticks {
            Some(t) => archive::sniff_stream(reader, t, opts, &name)?,
            None => archive::sniff(reader),
        };
        if tar {
            summary.files.extend(archive::read_tar(&name, reader, opts, sink)?);
        } else {
            let mut file = read_reader_with(&name, reader, opts, sink, ticks)?;
            if let Some((handle, before)) = opened
                && let Ok(now) = handle.metadata().map(|m| m.len())
                && now < before
                && file.bytes < before
            {
                shrank(&mut file, before, now);
            }
            summary.files.push(file);
        }
    }
    Ok(summary)
}

/// Notes that `file` shrank from `before` to `now` bytes while it was read: read only in part
/// (so the next ingest reads it again), and its last record skipped as cut is explained.
fn shrank(file: &mut FileSummary, before: u64, now: u64) {
    let message = format!(
        "the file shrank while it was read, from {before} to {now} bytes (truncated in place, as \
         `copytruncate` log rotation does): the events read before were kept, a record skipped at its end \
         was cut by the truncation, not malformed, and the rest was not read (it is in the rotated copy)"
    );
    file.incomplete = Some(SkippedRecord {
        file: file.file.clone(),
        // About where reading stopped: after the records read.
        location: Location::Line(file.events + file.skipped + 1),
        kind: SkipKind::Malformed,
        message,
    });
}

/// Reads one stream (a file's bytes, possibly compressed) named `name` in messages.
pub fn read_reader(
    name: &str,
    reader: Box<dyn Read + '_>,
    opts: &ReadOptions,
    sink: &mut dyn BatchSink,
) -> Result<FileSummary, ReadError> {
    read_reader_with(name, reader, opts, sink, None)
}

/// [`read_reader`] of a stream read on its own thread (see `pump`) when `ticks` is its switch.
fn read_reader_with(
    name: &str,
    reader: Box<dyn Read + '_>,
    opts: &ReadOptions,
    sink: &mut dyn BatchSink,
    ticks: Option<Arc<AtomicBool>>,
) -> Result<FileSummary, ReadError> {
    let mut file = FileSummary { file: name.to_owned(), ..FileSummary::default() };
    input::read_stream(reader, opts, sink, &mut file, ticks)?;
    if opts.strict
        && let Some(record) = &file.incomplete
    {
        return Err(ReadError::Strict(record.clone()));
    }
    if opts.strict
        && let Some(reason) = &file.not_audit
    {
        return Err(ReadError::Strict(SkippedRecord {
            file: file.file.clone(),
            location: Location::File,
            kind: SkipKind::NotAuditRecord,
            message: reason.clone(),
        }));
    }
    Ok(file)
}

/// Reads bytes held in memory (tests, fuzzing).
pub fn read_bytes(
    name: &str,
    bytes: &[u8],
    opts: &ReadOptions,
    sink: &mut dyn BatchSink,
) -> Result<FileSummary, ReadError> {
    read_reader(name, Box::new(bytes), opts, sink)
}

/// The files [`read_paths`] reads, in order: directories expanded recursively (sorted by
/// name), `-` (stdin) kept as is. Fails on a path that does not exist; entries of a
/// directory that cannot be read are left out: [`find_inputs`] lists them too, to warn about.
pub fn list_inputs(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ReadError> {
    Ok(find_inputs(paths, &[])?.files)
}

/// What [`find_inputs`] found under the named paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inputs {
    /// The files to read, in order.
    pub files: Vec<PathBuf>,
    /// Entries of directories walked that cannot be read (a symbolic link to nothing, a
    /// symbolic link loop, a file or directory without permission), each with why in
    /// [`FileSummary::not_audit`].
    pub skipped: Vec<FileSummary>,
}

impl Inputs {
    /// The first entry left out, as strict mode refuses it.
    pub(crate) fn first_skipped(&self) -> Option<SkippedRecord> {
        self.skipped.first().map(|f| SkippedRecord {
            file: f.file.clone(),
            location: Location::File,
            kind: SkipKind::NotAuditRecord,
            message: f.not_audit.clone().unwrap_or_default(),
        })
    }
}

/// The files to read under `paths`: directories expanded recursively (sorted by name), `-`
/// (stdin) kept as is. A named path that does not exist or cannot be listed fails the call,
/// and so does a named directory that is an apiserver-doctor store ([`ReadError::IsStore`]);
/// an entry found in a directory that cannot be read is left out and reported in
/// [`Inputs::skipped`], and a symbolic link back to a directory being walked is not followed.
/// Directories in `leave_out` (the store being written) and every directory holding an
/// apiserver-doctor store's manifest are not walked into.
pub fn find_inputs(paths: &[PathBuf], leave_out: &[PathBuf]) -> Result<Inputs, ReadError> {
    let leave_out: Vec<PathBuf> = leave_out.iter().filter_map(|p| std::fs::canonicalize(p).ok()).collect();
    let mut walk = Walk { leave_out, ancestors: Vec::new(), found: Inputs::default() };
    for p in paths {
        if p.as_os_str() == "-" {
            walk.found.files.push(p.clone());
            continue;
        }
        let meta = std::fs::metadata(p).map_err(|source| {
            // A symbolic link named on the command line whose target is gone: said so, not
            // "No such file or directory" of a name that is there (review s42); one that loops,
            // where, not "Too many levels of symbolic links (os error 40)".
            let source = match std::fs::read_link(p) {
                Ok(target) if source.kind() == std::io::ErrorKind::NotFound => std::io::Error::new(
                    source.kind(),
                    format!("a symbolic link to {}, which does not exist", target.display()),
                ),
                Ok(_) => match symlink_loop(p) {
                    Some(words) => std::io::Error::new(source.kind(), words),
                    None => source,
                },
                _ => source,
            };
            ReadError::Io { path: p.display().to_string(), source }
        })?;
        if meta.is_dir() {
            if looks_like_store(p) {
                return Err(ReadError::IsStore(p.display().to_string()));
            }
            walk.dir(p, true)?;
        } else {
            walk.found.files.push(p.clone());
        }
    }
    Ok(walk.found)
}

/// A walk of directories, in name order.
struct Walk {
    /// Canonical paths of directories never walked into.
    leave_out: Vec<PathBuf>,
    /// Canonical paths of the directories being walked, outermost first, each with its path as
    /// walked (to name it): a symbolic link to one of them is a loop.
    ancestors: Vec<(PathBuf, PathBuf)>,
    found: Inputs,
}

impl Walk {
    /// Leaves `path` out of the files read, with `why` to warn about it.
    fn skip(&mut self, path: &Path, why: String) {
        self.found.skipped.push(FileSummary {
            file: path_text(path),
            not_audit: Some(why),
            ..FileSummary::default()
        });
    }

    /// Walks `dir`; `named` on the command line, a problem with it fails the call, else it is
    /// left out with a warning.
    fn dir(&mut self, dir: &Path, named: bool) -> Result<(), ReadError> {
        let io = |source| ReadError::Io { path: dir.display().to_string(), source };
        let canonical = match std::fs::canonicalize(dir) {
            Ok(c) => c,
            Err(e) if named => return Err(io(e)),
            Err(e) => {
                self.skip(dir, format!("cannot be read: {e}"));
                return Ok(());
            }
        };
        if let Some((_, holder)) = self.ancestors.iter().find(|(c, _)| *c == canonical) {
            // Named, with the directory it leads back to (review: the walk's own loops were
            // said without it, and the system's `Too many levels of symbolic links`).
            let why = if std::fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink()) {
                format!(
                    "a symbolic link loop: it points back to {}, a directory that holds it; skipped",
                    path_text(holder)
                )
            } else {
                format!(
                    "a directory loop: it is {} again, a directory that holds it (a bind mount?); skipped",
                    path_text(holder)
                )
            };
            self.skip(dir, why);
            return Ok(());
        }
        if !named && (self.leave_out.contains(&canonical) || is_store(dir)) {
            return Ok(());
        }
        let listed = std::fs::read_dir(dir)
            .and_then(|entries| entries.map(|e| e.map(|e| e.path())).collect::<Result<Vec<PathBuf>, _>>());
        let mut entries = match listed {
            Ok(entries) => entries,
            Err(e) if named => return Err(io(e)),
            Err(e) => {
                self.skip(dir, format!("a directory that cannot be listed: {e}"));
                return Ok(());
            }
        };
        entries.sort();
        self.ancestors.push((canonical, dir.to_path_buf()));
        for path in entries {
            match std::fs::metadata(&path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    self.skip(&path, "a symbolic link to nothing (its target does not exist)".to_owned());
                }
                // Links that lead back to themselves (`a -> b`, `b -> a`): where, in words, not
                // the system's `Too many levels of symbolic links (os error 40)`; the other
                // entries are read.
                Err(e) => match symlink_loop(&path) {
                    Some(words) => self.skip(&path, format!("{words}; skipped")),
                    None => self.skip(&path, format!("cannot be read: {e}")),
                },
                Ok(meta) if meta.is_dir() => self.dir(&path, false)?,
                Ok(meta) if meta.is_file() => match std::fs::File::open(&path) {
                    Ok(_) => self.found.files.push(path),
                    Err(e) => self.skip(&path, format!("cannot be read: {e}")),
                },
                // A FIFO, socket or device met in a walk is not read (a FIFO would wait for a
                // writer forever), and is said so: it was passed over silently (ingest review
                // s38, item 8). Named on the command line, a FIFO is read as a stream.
                Ok(meta) => self.skip(
                    &path,
                    format!("{}, not read in a directory walk", findings::text::special_kind(&meta)),
                ),
            }
        }
        self.ancestors.pop();
        Ok(())
    }
}

/// The most symbolic links followed from one (Linux gives up after 40 too).
const MOST_LINKS: usize = 40;

/// Where the symbolic link `path` loops, in words, when following it link by link comes back
/// to a link already passed: `a symbolic link loop: it points to d/b, which points back to it`,
/// `… it points back to itself`, or for a link that leads into a loop of others, `it leads into
/// a symbolic link loop: d/b points back to d/a`. `None` when `path` is no symbolic link or its
/// links end (something else makes it unreadable); a chain of more than [`MOST_LINKS`] links
/// without a repeat is said as such.
fn symlink_loop(path: &Path) -> Option<String> {
    let mut passed: Vec<PathBuf> = vec![path.to_path_buf()];
    for _ in 0..MOST_LINKS {
        let at = passed.last()?;
        let target = std::fs::read_link(at).ok()?;
        // A relative target is relative to the link's directory; `join` keeps an absolute one.
        let next = at.parent().map_or_else(|| target.clone(), |dir| dir.join(&target));
        if let Some(back) = passed.iter().position(|p| same_link(p, &next)) {
            let last = passed.len() - 1;
            let shown = |i: usize| path_text(&passed[i]);
            return Some(match (back, last) {
                (0, 0) => "a symbolic link loop: it points back to itself".to_owned(),
                (0, _) => format!(
                    "a symbolic link loop: it points to {}, which points back to it",
                    passed[1..].iter().map(|p| path_text(p)).collect::<Vec<_>>().join(", then ")
                ),
                (b, l) if b == l => {
                    format!("it leads into a symbolic link loop: {} points back to itself", shown(l))
                }
                (b, l) => {
                    format!("it leads into a symbolic link loop: {} points back to {}", shown(l), shown(b))
                }
            });
        }
        passed.push(next);
    }
    Some(format!("a chain of more than {MOST_LINKS} symbolic links, which the system does not follow"))
}

/// Whether `a` and `b` are the same symbolic link: the same file (device and inode, whatever
/// the spelling of the path) on Unix, the same path elsewhere.
fn same_link(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::symlink_metadata(a), std::fs::symlink_metadata(b)) {
            (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
            _ => a == b,
        }
    }
    #[cfg(not(unix))]
    {
        a == b
    }
}

/// Whether `dir`, named to be read, is an apiserver-doctor store: a store's manifest, or a
/// `manifest.json` beside a `data/` directory (a store whose manifest is damaged).
fn looks_like_store(dir: &Path) -> bool {
    is_store(dir) || (dir.join(crate::store::MANIFEST).is_file() && dir.join("data").is_dir())
}

/// Whether `dir` holds an apiserver-doctor store (its manifest names a schema version): its
/// Parquet files and manifest are not audit logs to read again.
fn is_store(dir: &Path) -> bool {
    let Ok(f) = std::fs::File::open(dir.join(crate::store::MANIFEST)) else { return false };
    let mut head = Vec::new();
    f.take(4096).read_to_end(&mut head).is_ok()
        && memchr::memmem::find(&head, b"\"schema_version\"").is_some()
}

/// Whether a file of this type is read as a stream whose reads may wait: a named pipe, a
/// socket, a terminal.
fn is_stream(t: std::fs::FileType) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        t.is_fifo() || t.is_socket() || t.is_char_device()
    }
    #[cfg(not(unix))]
    {
        !t.is_file() && !t.is_dir()
    }
}

/// [`ReadError::Interrupted`] once [`ReadOptions::interrupt`] is set.
/// Opens input `path` (named `name`). Opening a named pipe blocks until a writer opens its
/// other end, so a pipe is opened on a thread of its own while this one watches for an
/// interrupt: with no writer, Ctrl-C and SIGTERM went unseen, and only a second signal stopped
/// the run, without cleaning up (ingest review s54, item 3). If interrupted, that thread is
/// left waiting in open(2); the process ends without it.
fn open_input(path: &Path, opts: &ReadOptions, name: &str) -> Result<std::fs::File, ReadError> {
    let io = |source| ReadError::Io { path: name.to_owned(), source };
    if !std::fs::metadata(path).is_ok_and(|m| is_stream(m.file_type())) {
        return std::fs::File::open(path).map_err(io);
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let owned = path.to_path_buf();
    std::thread::Builder::new()
        .name("open-pipe".to_owned())
        .spawn(move || {
            let _ = tx.send(std::fs::File::open(&owned));
        })
        .map_err(io)?;
    loop {
        match rx.recv_timeout(std::time::Duration::from_millis(100)) {
            Ok(opened) => return opened.map_err(io),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => check_interrupt(opts, name)?,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(io(std::io::Error::other("the thread opening it stopped")));
            }
        }
    }
}

pub(super) fn check_interrupt(opts: &ReadOptions, file: &str) -> Result<(), ReadError> {
    match &opts.interrupt {
        Some(flag) if flag.load(Ordering::Relaxed) => Err(ReadError::Interrupted { file: file.to_owned() }),
        _ => Ok(()),
    }
}

/// Standard input (`-` on the command line) as messages and summaries name it (`stdin: line 2:
/// …`, `stdin!audit/a.log` for a member of a tar archive piped in): `-` alone read as a file
/// of that name (`-: line 2: …`).
pub const STDIN_NAME: &str = "stdin";

/// A path as messages and summaries name it: as it is when it is UTF-8, else with each byte
/// that is not UTF-8 written as `\xNN` (the manifest's `path` escapes it the same way), so that a
/// name is never shown with U+FFFD in place of bytes it has; a newline in it as `\x0a` too, so
/// that it cannot break the one line per file of `ingest` and `stats`.
pub fn path_text(path: &Path) -> String {
    let text = crate::store::path_text(path);
    if text.contains('\n') { text.replace('\n', "\\x0a") } else { text }
}

/// Moves a collector's rows to the sink and its tallies to the file summary; in strict mode
/// fails on the first skipped record.
fn flush(
    c: &mut Collector,
    file: &mut FileSummary,
    opts: &ReadOptions,
    sink: &mut dyn BatchSink,
) -> Result<(), ReadError> {
    check_interrupt(opts, &file.file)?;
    let batches =
        c.drain_into(file).map_err(|source| ReadError::Arrow { file: file.file.clone(), source })?;
    if opts.strict
        && file.skipped > 0
        && let Some(first) = file.examples.first()
    {
        return Err(ReadError::Strict(first.clone()));
    }
    for batch in batches {
        if batch.num_rows() > 0 {
            sink.batch(&file.file, batch)
                .map_err(|source| ReadError::Sink { file: file.file.clone(), source })?;
        }
    }
    Ok(())
}

/// The fuzz property, shared by `fuzz/fuzz_targets/read.rs` and the corpus replay test:
/// reading `data` (with and without bodies, as `ingest` reads it with each class of events in
/// its own batches and as `query --input` does, with tiny chunks so chunk boundaries move)
/// never panics, the rows handed to the sink are exactly the events the summary counts, and
/// the SIMD tape gives the same rows and summary as serde_json alone ([`ReadOptions::simd`]).
#[doc(hidden)]
pub fn fuzz_check(data: &[u8]) {
    let mut simd_and_serde = Vec::new();
    for (keep_bodies, split_by_class, simd) in
        [(false, false, true), (true, false, true), (false, true, true), (false, false, false)]
    {
        let opts = ReadOptions {
            keep_bodies,
            split_by_class,
            simd,
            chunk_bytes: 64,
            max_line_bytes: 4096,
            batch_rows: 3,
            max_examples: 1000,
            // The serde pass holds no CSV row in memory while the order of display dates is
            // unknown: the temporary file's rows must read as the memory's.
            hold_bytes: if simd { 64 << 20 } else { 0 },
            ..ReadOptions::default()
        };
        let mut batches = Vec::new();
        let mut sink = |_: &str, b: RecordBatch| -> Result<(), SinkError> {
            assert_eq!(b.schema(), crate::canonical_schema());
            batches.push(b);
            Ok(())
        };
        match read_bytes("fuzz", data, &opts, &mut sink) {
            Ok(f) => {
                let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
                assert_eq!(rows as u64, f.events, "rows handed on vs events counted");
                assert_eq!(f.skipped, f.skipped_by_kind.values().sum::<u64>());
                assert!(f.examples.len() as u64 <= f.skipped);
                if !keep_bodies && !split_by_class {
                    simd_and_serde.push((f, batches));
                }
            }
            Err(e) => panic!("a read of bytes in memory cannot fail without strict mode: {e}"),
        }
    }
    // The SIMD tape reads exactly what serde_json reads: the same rows, counts and messages.
    if let [(simd_file, simd_rows), (serde_file, serde_rows)] = &simd_and_serde[..] {
        assert_eq!(simd_file, serde_file, "summary through the tape vs through serde_json");
        let all = |b: &[RecordBatch]| {
            arrow::compute::concat_batches(&crate::canonical_schema(), b).expect("batches of one schema")
        };
        let (simd_all, serde_all) = (all(simd_rows), all(serde_rows));
        for (i, field) in crate::canonical_schema().fields().iter().enumerate() {
            assert_eq!(
                simd_all.column(i).to_data(),
                serde_all.column(i).to_data(),
                "column {} through the tape vs through serde_json",
                field.name()
            );
        }
    }
}
