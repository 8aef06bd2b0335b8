//! The store: a directory of hour-partitioned Parquet files and a manifest.
//!
//! ```text
//! STORE/
//!   manifest.json                         what is committed (the only source of truth)
//!   lock                                  held by the one writer (ingest)
//!   data/hour=2024-01-01T10/part-….parquet
//!   data/hour=none/part-….parquet         events without any timestamp
//! ```
//!
//! Readers (the query engine) only need [`Store::open`] and [`Store::data_files`]: the files
//! listed are complete and never change once listed. Data files under `data/hour=*/` that the
//! manifest does not list (left by a killed ingest) are ignored by readers and removed by the
//! next writer; it removes nothing else (but what it created itself of a new store, when
//! its run commits nothing), and refuses a directory that is not a store and not empty.
//! Writing is in [`writer`].

pub mod writer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::read::{SkipKind, SkippedRecord};

/// The manifest's schema version; bumped when the canonical schema or layout changes.
pub const SCHEMA_VERSION: u32 = 1;

/// The manifest file name.
pub const MANIFEST: &str = "manifest.json";

/// The key under which [`Counts`] counts the rows without a value.
pub const NONE_KEY: &str = "(none)";

/// Errors opening or reading a store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The directory is not a store (no manifest).
    #[error("{0}: not an apiserver-doctor store (run `apiserver-doctor ingest` first)")]
    NotAStore(PathBuf),
    /// An I/O error on a named path.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The manifest could not be read.
    #[error("{path}: unreadable manifest: {message}")]
    BadManifest {
        /// The manifest's path.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// The store was written by a newer (or older, incompatible) version.
    #[error(
        "{path}: store schema version {found}, this version reads {expected}; re-ingest into a new store"
    )]
    Version {
        /// The manifest's path.
        path: PathBuf,
        /// Version found.
        found: u32,
        /// Version expected.
        expected: u32,
    },
    /// Another writer holds the lock.
    #[error(
        "{}: another ingest is writing to this store ({}); wait for it to finish, or use another --store.\n\
         The lock is held by the operating system and released when that process exits, even if it crashes \
         or is killed: it is never stale. Do not delete {}: that would not let a second ingest in",
        .dir.display(),
        .holder.as_deref().unwrap_or("a process that has not recorded its ID: an ingest that has just started, an older apiserver-doctor, or one whose lock file was deleted"),
        .dir.join("lock").display()
    )]
    Locked {
        /// The store directory.
        dir: PathBuf,
        /// Who holds it (`process PID: COMMAND`), as it wrote in the lock file.
        holder: Option<String>,
    },
    /// The lock file was replaced while this writer held it, by one another process holds.
    #[error(
        "{}: the store's lock file {} was deleted or replaced while this ingest was writing, and another \
         process holds the new one: another ingest may be writing to the store, so this run commits nothing \
         more (what it committed before stays). Do not delete the lock file: it is released when its process exits",
        .0.display(),
        .0.join("lock").display()
    )]
    LockLost(PathBuf),
    /// Another writer committed since this one read the manifest.
    #[error(
        "{}: another ingest committed to this store while this one was writing; this run's commit was \
         refused so that the other's events are not overwritten (what this run committed before stays)",
        .0.display()
    )]
    ConcurrentCommit(PathBuf),
    /// The disk holding the store is full.
    #[error(
        "no space left on device: the disk holding {} is full. Free space there, or use a --store on another disk",
        .dir.display()
    )]
    NoSpace {
        /// The store directory.
        dir: PathBuf,
    },
    /// The store path, or a directory above it, is a file.
    #[error(
        "{}: is a file, not a store directory{}",
        .dir.display(),
        if .file == .dir { String::new() } else { format!(" ({} is a file)", .file.display()) }
    )]
    NotADirectory {
        /// The store directory as given.
        dir: PathBuf,
        /// The file in its place (itself or one above it).
        file: PathBuf,
    },
    /// The directory given for a new store holds other files: nothing is written to it, so
    /// that nothing in it is ever removed.
    #[error(
        "{0} is not empty and is not an apiserver-doctor store (it has no manifest.json); nothing was written: \
         choose an empty or new directory for --store"
    )]
    NotEmpty(PathBuf),
    /// Data files are there but the manifest is not: the store lost it.
    #[error(
        "{} holds {data_files} data file{} (data/hour=*/part-*.parquet) but no manifest.json; refusing to write, \
         since that would delete them: restore manifest.json, or ingest into a new directory",
        .dir.display(),
        if *.data_files == 1 { "" } else { "s" }
    )]
    ManifestMissing {
        /// The store directory.
        dir: PathBuf,
        /// Data files found.
        data_files: usize,
    },
    /// Data files are there but the manifest is not, found by a reader.
    #[error(
        "{} holds {data_files} data file{} (data/hour=*/part-*.parquet) but no manifest.json: the store lost \
         its manifest, which says which files hold its events, so they cannot be read: restore manifest.json \
         (from a backup or a copy), or ingest the inputs again into a new directory",
        .dir.display(),
        if *.data_files == 1 { "" } else { "s" }
    )]
    ManifestLost {
        /// The store directory.
        dir: PathBuf,
        /// Data files found.
        data_files: usize,
    },
    /// The store may not be written by this user (permissions), or it is on a read-only file
    /// system: it is not damaged, and it can still be read.
    #[error("{}", not_writable_message(self))]
    NotWritable {
        /// The store directory.
        dir: PathBuf,
        /// The path that could not be written (or opened for writing).
        path: PathBuf,
        /// Why, in words: who owns it and with what mode against the user this process runs
        /// as, or the read-only file system.
        why: String,
        /// The cause is a read-only file system (not permissions).
        read_only_fs: bool,
        /// Refused when the writer opened the store, before it wrote anything.
        at_open: bool,
        /// The store did not exist yet (no manifest): there is nothing to read either.
        new_store: bool,
    },
    /// Data files the manifest lists are missing or not readable Parquet.
    #[error(
        "store {} is damaged: {} of its {total} data files cannot be read:\n{}\nTheir events cannot be read. \
         Remove the store and ingest its inputs again (`apiserver-doctor stats --store {}` lists them under \
         `inputs`; with `-o json`, every one under `input_files`)",
        .dir.display(),
        .files.len(),
        .files.iter().map(|f| format!("  {f}")).collect::<Vec<_>>().join("\n"),
        .dir.display()
    )]
    Damaged {
        /// The store directory.
        dir: PathBuf,
        /// The files, each with what is wrong.
        files: Vec<DamagedFile>,
        /// Data files the manifest lists.
        total: usize,
    },
    /// Data files the manifest lists may not be read by this user: nothing is damaged.
    #[error(
        "cannot read {} of the {total} data files of store {}: permission denied{}:\n{}\n\
         Nothing is damaged: do not remove the store. Run as a user who may read them (their owner, or with \
         sudo), or give this user read access to {} (chmod/chown){}",
        .files.len(),
        .dir.display(),
        .owner.as_deref().map(|o| format!(" ({o})")).unwrap_or_default(),
        .files.iter().take(5).map(|f| format!("  {}", f.path.display())).chain((.files.len() > 5).then(|| format!("  … and {} more", .files.len() - 5))).collect::<Vec<_>>().join("\n"),
        .dir.join("data").display(),
        if *.damaged > 0 { format!(".\n{} other data files cannot be read for other reasons: run `apiserver-doctor stats --store {}` once these can be read", .damaged, .dir.display()) } else { String::new() }
    )]
    Unreadable {
        /// The store directory.
        dir: PathBuf,
        /// The files refused.
        files: Vec<DamagedFile>,
        /// Who owns the first (or the directory refusing access to it), in words.
        owner: Option<String>,
        /// Data files the manifest lists.
        total: usize,
        /// Other files that cannot be read for other reasons (damage).
        damaged: usize,
    },
    /// Reading a data file of the store failed (while deduplicating or compacting).
    #[error(
        "{path}: cannot read this data file of the store: {message}; the store is damaged: \
         ingest into a new directory (or remove the store and ingest its inputs again)"
    )]
    ReadParquet {
        /// The data file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// Writing Parquet failed.
    #[error("{path}: writing Parquet: {message}")]
    Parquet {
        /// The file being written.
        path: PathBuf,
        /// What failed.
        message: String,
    },
}

impl StoreError {
    /// A full disk said in plain words, naming the store `dir` (not a temporary file in it, and
    /// without the Parquet library's wrapping); any other error as it is.
    pub fn plain(self, dir: &Path) -> StoreError {
        let full = match &self {
            StoreError::Io { source, .. } => {
                source.kind() == std::io::ErrorKind::StorageFull || source.raw_os_error() == Some(28)
            }
            StoreError::Parquet { message, .. } => {
                message.contains("No space left on device") || message.contains("(os error 28)")
            }
            _ => false,
        };
        if full {
            return StoreError::NoSpace { dir: dir.to_path_buf() };
        }
        match self {
            StoreError::Io { path, source } if is_permission(&source) || is_read_only_fs(&source) => {
                // A temporary file (`.part-….parquet.tmp`, `manifest.json.tmp`) is named by the
                // directory it was to be made in: the one that refused it.
                let temporary =
                    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(".tmp"));
                let path = match path.parent() {
                    Some(parent) if temporary => parent.to_path_buf(),
                    _ => path,
                };
                let read_only_fs = is_read_only_fs(&source);
                let why = if read_only_fs {
                    match mount_point(&path) {
                        Some(m) => format!("the file system mounted at {} is read-only", m.display()),
                        None => "it is on a read-only file system".to_owned(),
                    }
                } else {
                    match owner_of(&path) {
                        Some(o) => format!("permission denied ({o})"),
                        None => "permission denied".to_owned(),
                    }
                };
                let new_store = !dir.join(MANIFEST).is_file();
                StoreError::NotWritable {
                    dir: dir.to_path_buf(),
                    path,
                    why,
                    read_only_fs,
                    at_open: false,
                    new_store,
                }
            }
            other => other,
        }
    }

    /// [`StoreError::plain`], for an error opening the store for writing: nothing was written.
    pub fn plain_at_open(self, dir: &Path) -> StoreError {
        match self.plain(dir) {
            StoreError::NotWritable { dir, path, why, read_only_fs, new_store, .. } => {
                StoreError::NotWritable { dir, path, why, read_only_fs, at_open: true, new_store }
            }
            other => other,
        }
    }
}

/// [`StoreError::NotWritable`] in words: what cannot be written and why, that nothing is
/// damaged (and, at open, that nothing was written), what still reads the store, and what to
/// do to add to it.
fn not_writable_message(e: &StoreError) -> String {
    let StoreError::NotWritable { dir, path, why, read_only_fs, at_open, new_store } = e else {
        return String::new();
    };
    let cause = if path == dir { why.clone() } else { format!("{}: {why}", path.display()) };
    let dir = dir.display();
    if *new_store {
        return format!(
            "cannot make a store at {dir}: {cause}. Nothing was written. Choose a --store {}",
            if *read_only_fs { "on a writable file system" } else { "where this user may write" }
        );
    }
    let lead = if *at_open { "Nothing was written, and nothing" } else { "Nothing" };
    let remedy = if *read_only_fs {
        "To add to it, remount that file system read-write, or copy the store to a writable disk and ingest into \
         the copy"
    } else {
        "To add to it, run the ingest as a user who may write there (the owner, or with sudo), or give this user \
         write access to the store directory and everything under it (chmod/chown)"
    };
    format!(
        "cannot write to store {dir}: {cause}.\n{lead} in the store is damaged: `apiserver-doctor stats --store {dir}`, \
         `query --store` and `diagnose --store` still read it. {remedy}; or ingest into another --store"
    )
}

/// Whether an I/O error is a write refused by a read-only file system (EROFS).
fn is_read_only_fs(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::ReadOnlyFilesystem || (cfg!(unix) && e.raw_os_error() == Some(30))
}

/// The mount point of the file system holding `path` (or its nearest existing directory
/// above), from `/proc/self/mountinfo` (Linux).
fn mount_point(path: &Path) -> Option<PathBuf> {
    let real = path.ancestors().find_map(|p| std::fs::canonicalize(p).ok())?;
    let table = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    table
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|m| PathBuf::from(unescape_mount(m)))
        .filter(|m| real.starts_with(m))
        .max_by_key(|m| m.as_os_str().len())
}

/// A mount point as `/proc/self/mountinfo` writes it, with `\040` (space) and the other octal
/// escapes undone.
fn unescape_mount(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                out.push(d.iter().fold(0u8, |n, c| n.wrapping_mul(8).wrapping_add(c - b'0')));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A data file of a store that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedFile {
    /// Its path (the store's directory joined with the manifest's relative path).
    pub path: PathBuf,
    /// What is wrong with it, in plain words.
    pub problem: String,
    /// It is only that this user may not open it (EACCES, EPERM): it is not damaged.
    pub permission_denied: bool,
}

impl std::fmt::Display for DamagedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.problem)
    }
}

/// How closely [`Store::check_files`] looks at each data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileCheck {
    /// That it exists, has the size the manifest recorded and ends as a Parquet file does
    /// (one small read per file).
    Tail,
    /// [`FileCheck::Tail`], and its footer (the file's metadata) parses. Pages are not read.
    Footer,
    /// [`FileCheck::Footer`], and every page decodes: the whole file is read (after a query
    /// failed reading the store, to name the damaged file).
    Pages,
}

/// A Parquet library message without its repeated `Parquet error: ` prefixes.
pub(crate) fn parquet_message(e: &dyn std::fmt::Display) -> String {
    let text = e.to_string();
    let mut rest = text.as_str();
    while let Some(r) = rest.strip_prefix("Parquet error: ") {
        rest = r;
    }
    rest.to_owned()
}

/// Whether an error opening a file is a refusal of access (EACCES, EPERM), which says nothing
/// about the file's state.
fn is_permission(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::PermissionDenied || matches!(e.raw_os_error(), Some(1 | 13))
}

/// Who owns `path`, or, when it cannot be looked at, the nearest directory above it that can
/// (the one refusing access): `user root (uid 0) owns DIR`.
fn owner_of(path: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let (at, meta) = path.ancestors().find_map(|p| std::fs::metadata(p).ok().map(|m| (p, m)))?;
        let uid = meta.uid();
        let name = user_name(uid).map(|n| format!("user {n} (uid {uid})")).unwrap_or(format!("uid {uid}"));
        let me = std::fs::metadata("/proc/self").ok().map(|m| m.uid());
        let me = match me {
            Some(me) if me != uid => {
                format!(
                    "; this process runs as {}",
                    user_name(me).map(|n| format!("{n} (uid {me})")).unwrap_or(format!("uid {me}"))
                )
            }
            _ => String::new(),
        };
        Some(format!("{name} owns {} (mode {:o}){me}", at.display(), meta.mode() & 0o7777))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// The name of user `uid` in /etc/passwd.
#[cfg(unix)]
fn user_name(uid: u32) -> Option<String> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        (f.nth(1)? == uid.to_string()).then(|| name.to_owned())
    })
}

/// What is wrong with the data file `path`, which the manifest says holds `bytes` bytes, and
/// whether it is only that it may not be read (permissions: nothing is wrong with the file).
fn check_file(path: &Path, bytes: u64, how: FileCheck) -> Option<(String, bool)> {
    match std::fs::File::open(path) {
        Ok(f) => check_open_file(f, bytes, how).map(|p| (p, false)),
        Err(e) => Some(open_problem(&e)),
    }
}

/// What an error opening a data file says about it, and whether it is only a refusal of
/// access.
fn open_problem(e: &std::io::Error) -> (String, bool) {
    if e.kind() == std::io::ErrorKind::NotFound {
        ("missing (deleted?)".to_owned(), false)
    } else if is_permission(e) {
        (format!("permission denied ({e})"), true)
    } else {
        (format!("cannot be opened: {e}"), false)
    }
}

fn check_open_file(mut file: std::fs::File, bytes: u64, how: FileCheck) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    let size = match file.metadata() {
        Ok(m) => m.len(),
        Err(e) => return Some(format!("cannot be read: {e}")),
    };
    if size != bytes {
        return Some(format!(
            "not the file the store wrote: {size} bytes where the manifest recorded {bytes} (cut short or changed)"
        ));
    }
    let mut tail = [0u8; 8];
    let read = size >= 12 && file.seek(SeekFrom::End(-8)).is_ok() && file.read_exact(&mut tail).is_ok();
    let footer_len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    if !read || &tail[4..] != b"PAR1" || footer_len + 12 > size {
        return Some(
            "not a valid Parquet file (it does not end as one: cut short or overwritten)".to_owned(),
        );
    }
    match how {
        FileCheck::Tail => None,
        FileCheck::Footer => parquet::file::serialized_reader::SerializedFileReader::new(file)
            .err()
            .map(|e| format!("not a valid Parquet file ({})", parquet_message(&e))),
        FileCheck::Pages => damaged_page(file),
    }
}

/// What is wrong with a data file whose every page is decoded, or `None` when all decode.
fn damaged_page(file: std::fs::File) -> Option<String> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let reader = match ParquetRecordBatchReaderBuilder::try_new(file).and_then(|b| b.build()) {
        Ok(r) => r,
        Err(e) => return Some(format!("not a valid Parquet file ({})", parquet_message(&e))),
    };
    let mut rows = 0usize;
    for batch in reader {
        match batch {
            Ok(b) => rows += b.num_rows(),
            Err(e) => {
                // The rows before come whole; the damaged page is in the next batch of rows, in
                // any of its columns (review s53b, item 10).
                return Some(format!(
                    "damaged: its data pages do not decode past row {rows} ({}); its size and footer are whole, \
                     so the damage is inside (a disk or copy error)",
                    parquet_message(&e)
                ));
            }
        }
    }
    None
}

/// Row counts by value of a few low-cardinality columns: enough for `stats` without a scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Rows.
    pub events: u64,
    /// Rows with neither `requestReceivedTimestamp` nor `stageTimestamp`. Kept as it always
    /// was, for older builds reading this manifest; `stats` shows [`Counts::event_time`].
    pub without_timestamps: u64,
    /// Earliest of either timestamp (nanoseconds since the epoch, UTC); a watch opened before
    /// the log began pulls it back. Kept for older builds, like `without_timestamps`.
    pub min_time: Option<i64>,
    /// Latest of either timestamp.
    pub max_time: Option<i64>,
    /// The event's own time, `TimeGenerated` (Azure's time when the input carried one, else
    /// `stageTimestamp`): what `diagnose` windows on; its rows without one are the events
    /// `diagnose` leaves out of every window. `None` when not counted: a manifest written
    /// before it was, or a total over such files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_time: Option<TimeRange>,
    /// `requestReceivedTimestamp`; `None` when not counted, as `event_time`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_time: Option<TimeRange>,
    /// Rows per `source_format`.
    pub formats: BTreeMap<String, u64>,
    /// Rows per `stage` (`(none)` for null).
    pub stages: BTreeMap<String, u64>,
    /// Rows per `level`.
    pub levels: BTreeMap<String, u64>,
    /// Rows (events, not requests) per `verb`; see [`Manifest::requests_per_verb`].
    pub verbs: BTreeMap<String, u64>,
    /// Rows per `azure_category`.
    pub categories: BTreeMap<String, u64>,
    /// Annotation keys holding `failed-open.` (`failed-open.validating.webhook.admission.k8s.io/
    /// round_0_index_2`, …: an admission webhook with `failurePolicy: Ignore` that could not be
    /// called), counted in the keys' bytes: a key that merely contains the text counts too.
    /// `diagnose` skips the query that finds such webhooks when the store counts none.
    /// `None` when not counted: a manifest written before it was, or a total over such files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_open_keys: Option<u64>,
}

impl Default for Counts {
    /// No rows, with both time ranges counted (empty), so that adding counted files to it
    /// gives a counted total.
    fn default() -> Self {
        Counts {
            events: 0,
            without_timestamps: 0,
            min_time: None,
            max_time: None,
            event_time: Some(TimeRange::default()),
            received_time: Some(TimeRange::default()),
            formats: BTreeMap::new(),
            stages: BTreeMap::new(),
            levels: BTreeMap::new(),
            verbs: BTreeMap::new(),
            categories: BTreeMap::new(),
            failed_open_keys: Some(0),
        }
    }
}

impl Counts {
    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &Counts) {
        self.events += other.events;
        self.without_timestamps += other.without_timestamps;
        self.min_time = min_opt(self.min_time, other.min_time);
        self.max_time = max_opt(self.max_time, other.max_time);
        for (mine, theirs) in
            [(&mut self.event_time, &other.event_time), (&mut self.received_time, &other.received_time)]
        {
            *mine = match (mine.as_ref(), theirs) {
                (Some(a), Some(b)) => Some(a.plus(b)),
                _ => None,
            };
        }
        self.failed_open_keys = match (self.failed_open_keys, other.failed_open_keys) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
        for (mine, theirs) in [
            (&mut self.formats, &other.formats),
            (&mut self.stages, &other.stages),
            (&mut self.levels, &other.levels),
            (&mut self.verbs, &other.verbs),
            (&mut self.categories, &other.categories),
        ] {
            for (k, v) in theirs {
                *mine.entry(k.clone()).or_default() += v;
            }
        }
    }
}

/// The earliest and latest value of one timestamp over some rows, and how many rows lack it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    /// Earliest (nanoseconds since the epoch, UTC); `None` when no row has one.
    pub min: Option<i64>,
    /// Latest.
    pub max: Option<i64>,
    /// Rows without one.
    pub missing: u64,
}

impl TimeRange {
    /// Counts one row's time.
    pub fn count(&mut self, t: Option<i64>) {
        match t {
            Some(t) => {
                self.min = min_opt(self.min, Some(t));
                self.max = max_opt(self.max, Some(t));
            }
            None => self.missing += 1,
        }
    }

    /// Both ranges' rows together.
    pub fn plus(&self, other: &TimeRange) -> TimeRange {
        TimeRange {
            min: min_opt(self.min, other.min),
            max: max_opt(self.max, other.max),
            missing: self.missing + other.missing,
        }
    }
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

fn max_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// One committed Parquet file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFile {
    /// Path relative to the store, with `/` separators.
    pub path: String,
    /// The hour partition, `YYYY-MM-DDTHH` (UTC), or `none`.
    pub hour: String,
    /// Size in bytes.
    pub bytes: u64,
    /// What it holds.
    pub counts: Counts,
}

/// An input file as it was when ingested, to recognise it when it is ingested again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestedInput {
    /// The file as named on the command line (for display; `-` is stdin).
    pub file: String,
    /// Its canonical absolute path (symbolic links and `..` resolved), which keys the input
    /// whatever the directory the ingest ran in; a name that is not UTF-8 has each byte that
    /// is not as `\xNN` (and each `\` as `\\`), see [`path_text`]. `None` for stdin, a pipe
    /// or a device, and in manifests written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Device and inode of the file: a hard link of a file ingested is the same input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inode: Option<(u64, u64)>,
    /// Size in bytes (`None` for stdin).
    pub size: Option<u64>,
    /// Modification time, seconds since the epoch.
    pub mtime: Option<i64>,
    /// xxh3 of the first MiB, hex.
    pub head_hash: Option<String>,
    /// xxh3 of the last MiB (of a file larger than a MiB; the head hash covers a smaller one
    /// whole), hex: with the head hash, what tells a file that only grew since (a log still
    /// being written) from one that changed ([`crate::ingest::grew_from`]). Absent from
    /// manifests written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tail_hash: Option<String>,
    /// The format detected (most of its events).
    pub format: Option<String>,
    /// Events read from it.
    pub events: u64,
    /// Records skipped in it.
    pub skipped: u64,
    /// Those records per kind (absent from manifests written before it was kept).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub skipped_by_kind: BTreeMap<SkipKind, u64>,
    /// Set when it is not an audit log.
    pub not_audit: Option<String>,
    /// Set when it was read only in part (a corrupt or cut compressed stream): what stopped
    /// the read. Such an input is read again by the next ingest, never skipped as unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<String>,
    /// Events read from it per Azure category (`kube-audit`, `kube-audit-admin`), duplicates
    /// included: with both categories exported, each write comes twice and only one copy is
    /// stored, so the stored rows cannot say which categories the input held. Events of no
    /// category are not counted. `None` in manifests written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<BTreeMap<String, u64>>,
    /// Whether it was read with `--keep-bodies`: the store keeps each event as first stored,
    /// so bodies dropped then are not added by reading it again with them (review s51, item
    /// 2). `None` in manifests written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bodies: Option<bool>,
}

impl IngestedInput {
    /// Whether `self` and `other` are the same file: the same device and inode when both are
    /// known (another spelling, a symbolic or hard link; not a new file rotated in at the same
    /// path), else the same canonical path. An entry of a manifest written before paths were
    /// canonical matches the same name as typed. Stdin and pipes (no size) never match.
    pub fn same_file(&self, other: &IngestedInput) -> bool {
        if self.size.is_none() || other.size.is_none() {
            return false;
        }
        match (&self.path, &other.path) {
            // A file's identity is its inode when both are known: another spelling or a hard
            // link is the same file, and a new file at the same path (a rotated log) is not.
            (Some(a), Some(b)) => match (&self.inode, &other.inode) {
                (Some(x), Some(y)) => x == y,
                _ => a == b,
            },
            _ => self.file == other.file,
        }
    }

    /// Whether `now` ([`crate::ingest::identify`] of a file today) is this input as it was
    /// ingested: the same file (see [`IngestedInput::same_file`]) with the same size,
    /// modification time and first MiB. An input read only in part (a corrupt compressed
    /// stream) never is: a good copy of it, which may have the same size, time and first MiB,
    /// must be read.
    pub fn unchanged_in(&self, now: &IngestedInput) -> bool {
        self.same_file(now)
            && self.size == now.size
            && self.mtime == now.mtime
            && self.head_hash == now.head_hash
            && self.incomplete.is_none()
    }
}

/// A path as text without loss: as it is when it is UTF-8; otherwise each byte that is not
/// UTF-8 as `\xNN` and each backslash as `\\`, so that `$'…'` in a shell names the file again.
pub fn path_text(path: &Path) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let bytes = path.as_os_str().as_bytes();
        if let Ok(s) = std::str::from_utf8(bytes) {
            return s.to_owned();
        }
        let mut out = String::new();
        for chunk in bytes.utf8_chunks() {
            out.push_str(&chunk.valid().replace('\\', "\\\\"));
            for b in chunk.invalid() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        }
        out
    }
    #[cfg(not(unix))]
    {
        path.display().to_string()
    }
}

/// Skipped records over every ingest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedSummary {
    /// Records skipped per kind.
    pub by_kind: BTreeMap<SkipKind, u64>,
    /// The first few examples (most recent ingest first).
    pub examples: Vec<SkippedRecord>,
}

/// The manifest: what the store holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`SCHEMA_VERSION`] of the writer.
    pub schema_version: u32,
    /// Committed data files, sorted by path.
    pub files: Vec<DataFile>,
    /// Every input ingested, most recent last.
    pub inputs: Vec<IngestedInput>,
    /// Skipped records.
    pub skipped: SkippedSummary,
    /// Events dropped as duplicates of stored ones, over every ingest.
    pub duplicates_dropped: u64,
    /// Events stored from earlier contents of inputs read again, which their latest reading no
    /// longer holds (a log that shrank, or was rewritten, then read again: its entry counts the
    /// events read from it now, the store keeps those read before). With it, the inputs' events
    /// plus these are the events stored plus the duplicates dropped (review s42, item 7).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub earlier_contents: u64,
    /// Commits so far: a writer refuses to commit over a manifest whose generation is not the
    /// one it read (another writer's commit). 0 in manifests written before it was kept.
    #[serde(default)]
    pub generation: u64,
    /// Data files a commit replaced (small files merged into one), no longer listed in
    /// [`Manifest::files`] but kept on disk a while for readers that listed them before that
    /// commit: a later writer deletes them once [`writer::RETIRED_GRACE_SECS`] have passed
    /// (review s51, item 1: deleted at once, a `stats` or `query` reading the manifest just
    /// before the commit called the healthy store damaged).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retired: Vec<RetiredFile>,
}

/// A data file no longer listed, kept for readers that listed it (see [`Manifest::retired`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetiredFile {
    /// Its path relative to the store directory.
    pub path: String,
    /// When the commit that replaced it was made (seconds since the epoch).
    pub since: i64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Default for Manifest {
    fn default() -> Self {
        Manifest {
            schema_version: SCHEMA_VERSION,
            files: Vec::new(),
            inputs: Vec::new(),
            skipped: SkippedSummary::default(),
            duplicates_dropped: 0,
            earlier_contents: 0,
            generation: 0,
            retired: Vec::new(),
        }
    }
}

impl Manifest {
    /// Reads `dir/manifest.json`.
    pub fn load(dir: &Path) -> Result<Manifest, StoreError> {
        let path = dir.join(MANIFEST);
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotAStore(dir.to_path_buf()));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
                let file = dir.ancestors().find(|p| std::fs::metadata(p).is_ok_and(|m| !m.is_dir()));
                let file = file.unwrap_or(dir).to_path_buf();
                return Err(StoreError::NotADirectory { dir: dir.to_path_buf(), file });
            }
            Err(source) => return Err(StoreError::Io { path, source }),
        };
        let manifest: Manifest = serde_json::from_slice(&text)
            .map_err(|e| StoreError::BadManifest { path: path.clone(), message: e.to_string() })?;
        if manifest.schema_version != SCHEMA_VERSION {
            return Err(StoreError::Version {
                path,
                found: manifest.schema_version,
                expected: SCHEMA_VERSION,
            });
        }
        Ok(manifest)
    }

    /// Events per Azure category as the inputs held them (read, duplicates included; see
    /// [`IngestedInput::categories`]): an export of both categories holds each write under
    /// both, though the store keeps it once. For inputs recorded before these were counted,
    /// the stored rows' categories stand in (the larger count per category).
    pub fn azure_categories(&self) -> BTreeMap<String, u64> {
        let mut read: BTreeMap<String, u64> = BTreeMap::new();
        for c in self.inputs.iter().filter_map(|i| i.categories.as_ref()) {
            for (k, n) in c {
                *read.entry(k.clone()).or_default() += n;
            }
        }
        if self.inputs.iter().any(|i| i.categories.is_none() && i.events > 0) {
            for (k, n) in self.totals().categories {
                let mine = read.entry(k).or_default();
                *mine = (*mine).max(n);
            }
        }
        read
    }

    /// Totals over every committed file.
    pub fn totals(&self) -> Counts {
        let mut c = Counts::default();
        for f in &self.files {
            c.add(&f.counts);
        }
        c
    }

    /// Requests per verb: events at neither of a request's first stages (`RequestReceived`,
    /// `ResponseStarted`), so one per request, as `diagnose` counts them. From the per-file
    /// counts: a file holds only first-stage events or none (the writer keeps them apart);
    /// `None` when a file holds both (written before the writer did).
    pub fn requests_per_verb(&self) -> Option<BTreeMap<String, u64>> {
        let first =
            |stage: &str| writer::FileClass::of_row(Some(stage), None) == writer::FileClass::FirstStages;
        let mut verbs: BTreeMap<String, u64> = BTreeMap::new();
        for f in &self.files {
            let firsts = f.counts.stages.iter().filter(|(s, _)| first(s)).map(|(_, n)| n).sum::<u64>();
            if firsts == f.counts.events {
                continue;
            }
            if firsts > 0 {
                return None;
            }
            for (verb, n) in &f.counts.verbs {
                *verbs.entry(verb.clone()).or_default() += n;
            }
        }
        Some(verbs)
    }
}

/// A store opened for reading.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    files: Vec<PathBuf>,
    manifest: Manifest,
}

impl Store {
    /// Opens the store at `dir` for reading.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let manifest = match Manifest::load(dir) {
            // Data files without their manifest: a store that lost it, not "no store" (bad-input
            // review s53, item 11: readers said "run ingest first" where ingest said the truth).
            Err(StoreError::NotAStore(_)) if writer::own_data_files(dir).is_ok_and(|f| !f.is_empty()) => {
                let data_files = writer::own_data_files(dir).map_or(0, |f| f.len());
                return Err(StoreError::ManifestLost { dir: dir.to_path_buf(), data_files });
            }
            other => other?,
        };
        let mut files: Vec<PathBuf> = manifest.files.iter().map(|f| dir.join(&f.path)).collect();
        files.sort();
        Ok(Store { dir: dir.to_path_buf(), files, manifest })
    }

    /// Opens the store at `dir` for reading and checks its data files ([`Store::verify`]):
    /// the store, and what the check found. A file listed but missing or changed, found when
    /// a commit has changed the manifest since it was read, is looked for again in the new
    /// manifest (a few times): a commit that merged small files replaced it, and a reader
    /// must not call the store damaged for that (review s51, item 1).
    pub fn open_checked(dir: &Path, how: FileCheck) -> Result<(Store, Result<(), StoreError>), StoreError> {
        Store::open_checked_between(dir, how, &mut || {})
    }

    /// [`Store::open_checked`], calling `between` after each reading of the manifest, before
    /// its files are checked (tests commit there).
    fn open_checked_between(
        dir: &Path,
        how: FileCheck,
        between: &mut dyn FnMut(),
    ) -> Result<(Store, Result<(), StoreError>), StoreError> {
        const TRIES: usize = 8;
        let mut tries = 0;
        loop {
            let store = Store::open(dir)?;
            between();
            let checked = store.verify(how);
            tries += 1;
            let changed = || Manifest::load(dir).is_ok_and(|m| m.generation != store.manifest.generation);
            if checked.is_ok() || tries >= TRIES || !changed() {
                return Ok((store, checked));
            }
            std::thread::sleep(std::time::Duration::from_millis(10 * tries as u64));
        }
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every committed Parquet data file, sorted.
    pub fn data_files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The data files the manifest lists that are missing or cannot be read as Parquet, each
    /// with what is wrong (none when the store is whole). Data pages are not checked.
    pub fn check_files(&self, how: FileCheck) -> Vec<DamagedFile> {
        self.manifest
            .files
            .iter()
            .filter_map(|f| {
                let path = self.dir.join(&f.path);
                check_file(&path, f.bytes, how).map(|(problem, permission_denied)| DamagedFile {
                    path,
                    problem,
                    permission_denied,
                })
            })
            .collect()
    }

    /// [`Store::check_files`] as an error: [`StoreError::Damaged`] when a file is damaged.
    pub fn verify(&self, how: FileCheck) -> Result<(), StoreError> {
        let files = self.check_files(how);
        if files.is_empty() {
            return Ok(());
        }
        let total = self.manifest.files.len();
        // Files this user may not read are not damaged: said first, since the advice for
        // damage (remove the store) would delete a good store.
        let (denied, damaged): (Vec<DamagedFile>, Vec<DamagedFile>) =
            files.into_iter().partition(|f| f.permission_denied);
        if !denied.is_empty() {
            let owner = denied.first().and_then(|f| owner_of(&f.path));
            return Err(StoreError::Unreadable {
                dir: self.dir.clone(),
                files: denied,
                owner,
                total,
                damaged: damaged.len(),
            });
        }
        Err(StoreError::Damaged { dir: self.dir.clone(), files: damaged, total })
    }

    /// Makes `to` (a directory that is missing or holds no store) a store of the same events,
    /// with this store's manifest changed by `edit` (which may rename inputs and the files its
    /// skipped records name; the data files stay this store's). Each data file is hard-linked,
    /// or copied where the file system cannot link it: committed data files never change (a
    /// writer replaces them by new files), so neither store can alter the other. The manifest
    /// is written last: a copy cut short holds no store.
    pub fn copy_to(&self, to: &Path, edit: impl FnOnce(&mut Manifest)) -> Result<(), StoreError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Io { path, source }
        };
        for f in &self.manifest.files {
            let from = self.dir.join(&f.path);
            let dest = to.join(&f.path);
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            if std::fs::hard_link(&from, &dest).is_err() {
                std::fs::copy(&from, &dest).map_err(io(&dest))?;
                std::fs::File::open(&dest).and_then(|c| c.sync_all()).map_err(io(&dest))?;
            }
        }
        let mut manifest = self.manifest.clone();
        edit(&mut manifest);
        manifest.files.clone_from(&self.manifest.files);
        // The copy holds only the listed files: the retired ones are this store's to delete.
        manifest.retired.clear();
        writer::save_manifest(to, &manifest).map_err(|e| e.plain(to))
    }

    /// The manifest as read at [`Store::open`].
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The event times (`TimeGenerated`) and the request-received times of every stored event:
    /// from the manifest's counts, or, for a file written by a build that did not count them,
    /// from the file's time columns.
    pub fn time_ranges(&self) -> Result<(TimeRange, TimeRange), StoreError> {
        let mut event = TimeRange::default();
        let mut received = TimeRange::default();
        for f in &self.manifest.files {
            let (e, r) = match (f.counts.event_time, f.counts.received_time) {
                (Some(e), Some(r)) => (e, r),
                _ => writer::time_ranges_of_file(&self.dir.join(&f.path))?,
            };
            event = event.plus(&e);
            received = received.plus(&r);
        }
        Ok((event, received))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression review s26 §1: the categories `stats` and `AzureDiagnostics` go by were the
    /// stored rows', of which an export of both categories keeps one copy per write,
    /// whichever came first. They are the inputs' (duplicates included); a manifest written
    /// before inputs counted them still gives the stored rows' (older stores stay readable).
    #[test]
    fn azure_categories_are_those_the_inputs_held_not_the_copies_stored() {
        let stored = |n: u64| DataFile {
            path: "data/f.parquet".into(),
            hour: "none".into(),
            bytes: 1,
            counts: Counts {
                events: n,
                categories: BTreeMap::from([("kube-audit".to_owned(), n)]),
                ..Counts::default()
            },
        };
        let read = BTreeMap::from([("kube-audit".to_owned(), 22), ("kube-audit-admin".to_owned(), 5)]);
        let input = IngestedInput { events: 27, categories: Some(read.clone()), ..IngestedInput::default() };
        let m = Manifest { files: vec![stored(22)], inputs: vec![input.clone()], ..Manifest::default() };
        assert_eq!(m.azure_categories(), read);
        let old = IngestedInput { categories: None, ..input };
        let m = Manifest { files: vec![stored(22)], inputs: vec![old], ..Manifest::default() };
        assert_eq!(m.azure_categories(), BTreeMap::from([("kube-audit".to_owned(), 22)]));
        let old: IngestedInput = serde_json::from_str(r#"{"file":"a","size":1,"mtime":1,"head_hash":"x","format":null,"events":1,"skipped":0,"not_audit":null}"#).expect("an input of an older manifest");
        assert_eq!(old.categories, None);
    }

    /// Regression review s20 N3: a log rotated away and a new file written at its path took the
    /// first file's manifest entry, so the first file's events had no input listed any more.
    #[test]
    fn a_new_file_rotated_in_at_the_same_path_is_another_input() {
        let input = |inode: u64| IngestedInput {
            file: "a.log".into(),
            path: Some("/logs/a.log".into()),
            inode: Some((1, inode)),
            size: Some(10),
            ..IngestedInput::default()
        };
        assert!(!input(7).same_file(&input(8)), "a rotated-in file is another input");
        let link = IngestedInput { path: Some("/other/link.log".into()), ..input(7) };
        assert!(input(7).same_file(&link), "a hard link is the same file");
    }

    /// Review s20 item 5: a data file this user may not open was called damaged, with the
    /// advice to remove the store (a good store, maybe the only copy of rotated logs).
    #[test]
    fn a_data_file_that_may_not_be_read_is_not_called_damaged() {
        for code in [13, 1] {
            let (problem, denied) = open_problem(&std::io::Error::from_raw_os_error(code));
            assert!(denied && problem.starts_with("permission denied"), "{problem}");
        }
        assert!(!open_problem(&std::io::Error::from_raw_os_error(5)).1, "EIO is not a permission");
        let dir = PathBuf::from("/s");
        let files = vec![DamagedFile {
            path: dir.join("data/hour=x/part-1.parquet"),
            problem: "permission denied".into(),
            permission_denied: true,
        }];
        let e = StoreError::Unreadable {
            dir,
            files,
            owner: Some("user root (uid 0) owns /s/data/hour=x".into()),
            total: 5,
            damaged: 0,
        };
        let msg = e.to_string();
        assert!(
            msg.starts_with("cannot read 1 of the 5 data files of store /s: permission denied (user root"),
            "{msg}"
        );
        assert!(msg.contains("Nothing is damaged: do not remove the store"), "{msg}");
        assert!(!msg.contains("Remove the store"), "{msg}");
    }

    /// Review s51, item 1: a reader that read the manifest just before a commit merged (and, in
    /// a build that did, deleted) the files it lists called the store damaged. It reads the new
    /// manifest instead; a store that is damaged is still said to be.
    #[test]
    fn query_during_a_merging_commit_reads_the_new_manifest() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = dir.path().join("s");
        let line = |id: &str, s: usize| {
            format!(
                r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{id}","stage":"ResponseComplete","verb":"get","requestReceivedTimestamp":"2024-01-01T10:00:{s:02}Z","stageTimestamp":"2024-01-01T10:00:{s:02}Z"}}"#
            ) + "\n"
        };
        let opts = crate::ingest::IngestOptions {
            writer: writer::WriterOptions { compact_min_files: 3, ..writer::WriterOptions::default() },
            ..crate::ingest::IngestOptions::default()
        };
        let run = |n: usize| {
            let p = dir.path().join(format!("run{n}.log"));
            std::fs::write(&p, line(&format!("id-{n}"), n)).expect("input");
            crate::ingest::ingest(&store, &[p], &opts).expect("ingest");
        };
        run(0);
        run(1);
        let before = Manifest::load(&store).expect("manifest");
        let mut calls = 0;
        let (s, checked) = Store::open_checked_between(&store, FileCheck::Footer, &mut || {
            calls += 1;
            if calls == 1 {
                // A merging commit, whose replaced files are gone (as an older writer left it).
                run(2);
                for r in &Manifest::load(&store).expect("manifest").retired {
                    std::fs::remove_file(store.join(&r.path)).expect("remove");
                }
            }
        })
        .expect("open");
        checked.expect("not damaged");
        assert_eq!(calls, 2);
        assert!(s.manifest().generation > before.generation);
        assert_eq!(s.manifest().totals().events, 3);
        // Damage the manifest did not move past is damage.
        std::fs::remove_file(&s.data_files()[0]).expect("remove");
        let (_, checked) = Store::open_checked(&store, FileCheck::Tail).expect("open");
        assert!(matches!(checked, Err(StoreError::Damaged { .. })), "{checked:?}");
    }

    #[cfg(unix)]
    #[test]
    fn the_owner_of_a_file_is_named() {
        let owner = owner_of(Path::new("/")).expect("owner of /");
        assert!(owner.contains("owns / (mode"), "{owner}");
    }
}
