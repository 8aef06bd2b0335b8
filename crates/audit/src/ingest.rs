//! Ingest: audit logs in any format into the store — what `apiserver-doctor ingest` runs.
//!
//! Reading and writing overlap: the calling thread reads, deduplicates and partitions (each
//! chunk is parsed on the rayon pool as soon as it is read) while an encoder thread beside it
//! writes Parquet, joined by short bounded queues so memory stays bounded whatever the input
//! size.
//!
//! Inputs already ingested unchanged (same name, size, modification time and hash of the
//! first MiB, as the manifest recorded them) are skipped unless [`IngestOptions::force`];
//! re-reading them would add nothing anyway, since rows are deduplicated.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;

use crate::InputFormat;
use crate::read::{
    FileSummary, ReadError, ReadOptions, SinkError, SkipKind, SkippedRecord, find_inputs, read_paths,
};
use crate::store::writer::{Aborted, StoreWriter, WriterOptions, count_categories};
use crate::store::{IngestedInput, Manifest, StoreError, path_text};

/// How to ingest.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// How to read (bodies, strict mode, progress counter for bytes).
    pub read: ReadOptions,
    /// How to write.
    pub writer: WriterOptions,
    /// Read inputs again even when the manifest says they were ingested unchanged.
    pub force: bool,
    /// Commit at least this often, so a killed run keeps most of its work.
    pub commit_every: Duration,
    /// When set, events read are added here as reading goes (for a progress bar).
    pub events: Option<Arc<AtomicU64>>,
    /// Commit a new store even when not one event was read into it (the diagnose cache, whose
    /// store of files without events is how a run learns there is nothing to diagnose); without
    /// it, such a run leaves no store.
    pub keep_empty_store: bool,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            read: ReadOptions::default(),
            writer: WriterOptions::default(),
            force: false,
            commit_every: Duration::from_secs(20),
            events: None,
            keep_empty_store: false,
        }
    }
}

/// What an ingest did.
#[derive(Debug, Clone, Default)]
pub struct IngestReport {
    /// Every input read, in order.
    pub files: Vec<FileSummary>,
    /// Inputs skipped because the store already holds them unchanged (as typed).
    pub unchanged: Vec<String>,
    /// Events the manifest records for those inputs (read by the run that ingested them).
    pub unchanged_events: u64,
    /// Inputs named again in this run (the same file by another name, a link, overlapping
    /// globs): (as named again, as named when read), in order; each file is read once.
    pub named_twice: Vec<(String, String)>,
    /// Entries of directories walked that could not be read (a symbolic link to nothing or in
    /// a loop): the first of [`IngestReport::files`], listed there but not read.
    pub entries_not_read: usize,
    /// Events stored.
    pub kept: u64,
    /// Events dropped as duplicates of stored ones or of earlier ones in this run.
    pub duplicates: u64,
    /// Not one event was read and the store was new: it was removed again (nothing is left
    /// where it was to be, or the empty directory that was there before is empty again).
    pub new_store_removed: bool,
    /// Files ingested before that gave no event this time (replaced by something that is not
    /// an audit log, or emptied): (as named, events stored from them earlier). Their events
    /// stay stored and their manifest entries stay as they were, saying where those came from.
    pub kept_earlier: Vec<(String, u64)>,
    /// Inputs skipped as already ingested (as named) that were read then without bodies (or by
    /// a build that did not record it), while this run keeps bodies: their events stay stored
    /// without them (review s51, item 2).
    pub unchanged_without_bodies: Vec<String>,
    /// This run keeps bodies and dropped events as duplicates of stored ones while the store
    /// holds events read without bodies: those duplicates' bodies were not added.
    pub bodies_not_added: bool,
    /// Whether this run rewrote the manifest (an input without events is recorded so that
    /// `stats` says why it was not read: the store's events are as they were, its list of
    /// inputs is not).
    pub manifest_written: bool,
}

impl IngestReport {
    /// Events read over every input.
    pub fn events(&self) -> u64 {
        self.files.iter().map(|f| f.events).sum()
    }

    /// Bytes read over every input (compressed size for compressed files).
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}

/// Why an ingest failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// Strict mode met a bad record or a non-audit file; nothing of the run was written (a
    /// store the run made is removed again: the directory is left as it was).
    #[error("--strict: {record}\nnothing of this run was written to {}", .store.display())]
    Strict {
        /// The first bad record.
        record: SkippedRecord,
        /// The store left as it was.
        store: PathBuf,
    },
    /// No file to read under the paths given (an empty directory, or only entries that
    /// cannot be read): nothing was written, not even a new store.
    #[error("{}", no_files_message(.paths, .not_read))]
    NoFiles {
        /// The paths given, as named.
        paths: Vec<String>,
        /// Entries found that cannot be read, each with why in [`FileSummary::not_audit`].
        not_read: Vec<FileSummary>,
    },
    /// Reading failed (a path that cannot be opened); what was read before is committed.
    #[error(transparent)]
    Read(ReadError),
    /// The store could not be opened or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing failed part way: what this run wrote since its last commit was removed.
    #[error("{error}\n{}", cleanup_message(.store, .committed, .cleanup))]
    Failed {
        /// What failed.
        error: Box<StoreError>,
        /// The store.
        store: PathBuf,
        /// Whether the run had committed part of its events before the failure.
        committed: bool,
        /// What was removed.
        cleanup: Box<Aborted>,
    },
    /// [`ReadOptions::interrupt`] was set (Ctrl-C, SIGTERM): the run stopped between two
    /// chunks and what it wrote since its last commit was removed, as for [`Self::Failed`].
    #[error("{}", interrupted_message(.file, .store, .committed_events, .cleanup))]
    Interrupted {
        /// The file being read when the run stopped.
        file: String,
        /// The store.
        store: PathBuf,
        /// Events this run had committed before (at its periodic commits); they stay.
        committed_events: u64,
        /// What was removed.
        cleanup: Box<Aborted>,
    },
}

/// What an interrupted run left of the store, in plain words.
fn interrupted_message(file: &str, store: &Path, committed_events: &u64, c: &Aborted) -> String {
    let store = store.display();
    let mut text = format!("the ingest was interrupted while reading {file}: ");
    if c.store_removed {
        text.push_str(&format!(
            "nothing was ingested, and the new store {store} that this run had begun was removed"
        ));
    } else if *committed_events > 0 {
        text.push_str(&format!(
            "the {committed_events} events this run had committed (it commits every 20 s and every 64 files) stay in \
             {store}; what it read since was not kept"
        ));
    } else {
        text.push_str(&format!(
            "nothing of this run was committed: the store {store} is as its last commit left it"
        ));
    }
    if c.files > 0 && !c.store_removed {
        text.push_str(&format!(
            " (its {} uncommitted {}, {:.1} MB, {} removed)",
            c.files,
            if c.files == 1 { "file" } else { "files" },
            c.bytes as f64 / 1e6,
            if c.files == 1 { "was" } else { "were" }
        ));
    }
    if !c.not_removed.is_empty() {
        text.push_str(&format!(
            "\ncould not remove (the next ingest into the store removes them): {}",
            c.not_removed.join("; ")
        ));
    }
    text.push_str(if *committed_events > 0 {
        "\nrun the same command again to read the rest (what is stored is skipped or dropped as duplicates)"
    } else {
        "\nrun the same command again to ingest it"
    });
    text
}

/// What a failed run left of the store, in plain words.
fn cleanup_message(store: &Path, committed: &bool, c: &Aborted) -> String {
    let files = match c.files {
        0 => "no file of its own was left to remove".to_owned(),
        n => format!(
            "its {n} uncommitted {} ({:.1} MB) {} removed",
            if n == 1 { "file" } else { "files" },
            c.bytes as f64 / 1e6,
            if n == 1 { "was" } else { "were" }
        ),
    };
    let mut text = if c.store_removed {
        format!(
            "nothing was ingested: the new store {} that this run had begun was removed ({files})",
            store.display()
        )
    } else if c.new_store_undone {
        // The directory was there before the run (empty): the store begun in it is gone, and
        // it never had a commit to be "unchanged" from.
        format!(
            "nothing was ingested: the new store this run had begun in {} was removed ({files})",
            store.display()
        )
    } else if *committed {
        format!(
            "the events this run committed before the error stay in {} (run the same ingest again to read the rest: \
             what is stored is skipped or dropped as duplicates); {files}",
            store.display()
        )
    } else {
        format!("the store {} is unchanged (as its last commit left it); {files}", store.display())
    };
    if !c.not_removed.is_empty() {
        text.push_str(&format!(
            "\ncould not remove (the next ingest into the store removes them): {}",
            c.not_removed.join("; ")
        ));
    }
    text
}

fn no_files_message(paths: &[String], not_read: &[FileSummary]) -> String {
    let under = paths.join(", ");
    match not_read.len() {
        0 => format!("no files under {under}: nothing to ingest"),
        n => format!(
            "no file under {under} could be read ({n} not read: {}): nothing to ingest",
            not_read
                .iter()
                .take(3)
                .map(|f| format!("{}: {}", f.file, f.not_audit.as_deref().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    }
}

/// Data files written before a commit is forced, whatever the time since the last one.
const COMMIT_AFTER_FILES: usize = 64;

/// Reads every path (files, directories read recursively, `-` for stdin) into the store at
/// `store_dir` (created if missing); the library form of `apiserver-doctor ingest`.
///
/// Bad records are counted in the report's [`FileSummary`]s and the rest is stored, unless
/// [`ReadOptions::strict`](crate::read::ReadOptions::strict), which fails with
/// [`IngestError::Strict`] and stores nothing of the run.
///
/// ```no_run
/// use audit::ingest::{ingest_paths, IngestOptions};
/// let report = ingest_paths(&["audit.log".into()], "store".as_ref(), &IngestOptions::default())?;
/// println!("{} events stored, {} duplicates", report.kept, report.duplicates);
/// # Ok::<(), audit::ingest::IngestError>(())
/// ```
pub fn ingest_paths(
    paths: &[PathBuf],
    store_dir: &Path,
    opts: &IngestOptions,
) -> Result<IngestReport, IngestError> {
    ingest(store_dir, paths, opts)
}

/// Reads every path into the store at `store` (created if missing); see [`ingest_paths`].
pub fn ingest(store: &Path, paths: &[PathBuf], opts: &IngestOptions) -> Result<IngestReport, IngestError> {
    // The store's own files are never inputs (`ingest .` with the store under `.`).
    let inputs = find_inputs(paths, &[store.to_path_buf()]).map_err(IngestError::Read)?;
    if opts.read.strict
        && let Some(record) = inputs.first_skipped()
    {
        return Err(IngestError::Strict { record, store: store.to_path_buf() });
    }
    if inputs.files.is_empty() {
        return Err(IngestError::NoFiles {
            paths: paths.iter().map(|p| p.display().to_string()).collect(),
            not_read: inputs.skipped,
        });
    }
    let mut writer = StoreWriter::open(store, opts.writer.clone()).map_err(|e| e.plain_at_open(store))?;
    let manifest = writer.manifest().clone();
    // Entries of directories that cannot be read are reported, not recorded as ingested.
    let entries_not_read = inputs.skipped.len();
    let mut report = IngestReport { files: inputs.skipped, entries_not_read, ..IngestReport::default() };
    let inputs = inputs.files;
    let mut written = Written::default();
    let read_result = read_loop(&inputs, &manifest, opts, &mut writer, &mut written, &mut report);
    // What failed writing: what the writer wrote since its last commit is removed (and a store
    // this run made, if it committed nothing), and the message says so.
    let failed = |writer: StoreWriter, error: StoreError| {
        let committed = writer.has_committed();
        let cleanup = writer.abort();
        IngestError::Failed {
            error: Box::new(error.plain(store)),
            store: store.to_path_buf(),
            committed,
            cleanup: Box::new(cleanup),
        }
    };
    // A writer error explains the reader's "writer stopped": report it first.
    if let Some(e) = written.error.take() {
        return Err(failed(writer, e));
    }
    report.kept = written.kept;
    report.duplicates = written.duplicates;
    // Duplicates keep the stored copy: with bodies asked for, those of events stored without
    // them stay without (review s51, item 2).
    report.bodies_not_added = opts.read.keep_bodies
        && written.duplicates > 0
        && manifest.inputs.iter().any(|i| i.events > 0 && i.bodies != Some(true));
    match read_result {
        // Ctrl-C or SIGTERM: the same clean-up as a failed write (this arm is the interrupt hook
        // of the CLI's signal handling; docs/ingest.md, "Interrupting an ingest").
        Err(ReadError::Interrupted { file }) => {
            let committed_events = writer.manifest().totals().events.saturating_sub(manifest.totals().events);
            let cleanup = writer.abort();
            Err(IngestError::Interrupted {
                file,
                store: store.to_path_buf(),
                committed_events,
                cleanup: Box::new(cleanup),
            })
        }
        Ok(()) => {
            // Not one event in anything read (or skipped as already ingested), into a store
            // this run made: a wrong path, not a store (the caller says so).
            if report.events() == 0
                && report.unchanged.is_empty()
                && writer.is_new()
                && !opts.keep_empty_store
            {
                let undone = writer.abort();
                report.new_store_removed = undone.store_removed || undone.new_store_undone;
                return Ok(report);
            }
            if let Err(e) = writer.commit() {
                return Err(failed(writer, e));
            }
            report.manifest_written = writer.has_committed();
            Ok(report)
        }
        Err(ReadError::Strict(record)) if opts.read.strict => {
            let _ = writer.abort();
            Err(IngestError::Strict { record, store: store.to_path_buf() })
        }
        Err(e) => {
            // Keep what was read before the error: it is complete and deduplicated.
            if let Err(commit_error) = writer.commit() {
                return Err(failed(writer, commit_error));
            }
            if !writer.has_committed() {
                // Nothing was: a store this run made is removed again.
                let _ = writer.abort();
            }
            Err(IngestError::Read(e))
        }
    }
}

/// What the writer did, and the error that stopped it.
#[derive(Default)]
struct Written {
    kept: u64,
    duplicates: u64,
    error: Option<StoreError>,
}

const WRITER_STOPPED: &str = "the store writer stopped";

/// Reads every input, handing each batch to the writer as it comes. The writer deduplicates
/// and buffers on this thread (cheap); Parquet is encoded on its own thread beside it, and
/// parsing fans out on the rayon pool, so one thread more would only add a queue and memory.
fn read_loop(
    inputs: &[PathBuf],
    manifest: &Manifest,
    opts: &IngestOptions,
    writer: &mut StoreWriter,
    written: &mut Written,
    report: &mut IngestReport,
) -> Result<(), ReadError> {
    // Strict runs commit nothing until the end: a later bad record refuses the whole run.
    let commit_after = (!opts.read.strict).then_some(COMMIT_AFTER_FILES);
    // Each class of events in batches of its own, which the store writes to its own files.
    let read = ReadOptions { split_by_class: true, ..opts.read.clone() };
    let mut last_commit = Instant::now();
    // The files of this run so far: one named again (the same canonical path or inode) is
    // read once and recorded once.
    let mut seen: Vec<IngestedInput> = Vec::new();
    // Streams (stdin, a named pipe) read so far, as named: one named again is read once too. A
    // FIFO opened a second time waits for a writer that never comes, and the run hung with the
    // events read from it uncommitted (review s51, item 6).
    let mut streams: Vec<(StreamId, String)> = Vec::new();
    let recorded = Recorded::of(manifest);
    for input in inputs {
        let identity = identify(input);
        if let Some(first) = seen.iter().find(|s| s.same_file(&identity)) {
            report.named_twice.push((identity.file, first.file.clone()));
            continue;
        }
        if identity.size.is_some() {
            seen.push(identity.clone());
        } else if let Some(id) = stream_id(input) {
            if let Some((_, first)) = streams.iter().find(|(s, _)| *s == id) {
                report.named_twice.push((identity.file, first.clone()));
                continue;
            }
            streams.push((id, identity.file.clone()));
        }
        // A file recorded under another name (renamed by a log rotation: the same inode) is
        // recorded under the name it has now; and one that another file replaced at its path
        // is looked for beside it, so that no two entries name one path and a rebuild from
        // `stats -o json` reads every input.
        for moved in recorded.moves(&identity) {
            writer.input_moved(moved);
        }
        let earlier = is_ingested(manifest, &identity)
            // An input recorded without events (by a version that recorded those) is read
            // again, as one never recorded is.
            .filter(|e| !opts.force && (e.events > 0 || opts.keep_empty_store));
        if let Some(earlier) = earlier {
            report.unchanged_events += earlier.events;
            if opts.read.keep_bodies && earlier.bodies != Some(true) {
                report.unchanged_without_bodies.push(identity.file.clone());
            }
            if let Some(p) = &opts.read.progress {
                p.fetch_add(identity.size.unwrap_or(0), Ordering::Relaxed);
            }
            report.unchanged.push(identity.file);
            continue;
        }
        let mut categories = BTreeMap::new();
        let mut sink = |_: &str, batch: RecordBatch| -> Result<(), SinkError> {
            if let Some(e) = &opts.events {
                e.fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
            }
            // Before dedupe: the copy of an event under the other category is dropped, yet
            // the input held it (`IngestedInput::categories`).
            count_categories(&batch, &mut categories);
            let mut step = || -> Result<(), StoreError> {
                // An empty batch is a quiet stream's tick (see `read::pump`): nothing to write,
                // only the chance to commit.
                if batch.num_rows() > 0 {
                    let o = writer.write(&batch)?;
                    written.kept += o.kept;
                    written.duplicates += o.duplicates;
                }
                // Every 64 files, and every `commit_every` within an input too: one long stream
                // (`ingest -` fed for minutes) keeps its work when killed, as many files do.
                let due = !opts.read.strict
                    && last_commit.elapsed() >= opts.commit_every
                    && !(writer.is_new() && written.kept == 0);
                if due || commit_after.is_some_and(|n| writer.uncommitted_files() >= n) {
                    writer.commit()?;
                    last_commit = Instant::now();
                }
                Ok(())
            };
            step().map_err(|e| {
                written.error = Some(e);
                SinkError::from(WRITER_STOPPED)
            })
        };
        let summary = read_paths(std::slice::from_ref(input), &read, &mut sink)?;
        // One input in the manifest per path, a tar archive's files together.
        let (mut done, by_kind, examples) = ingested(identity, &summary.files);
        done.categories = Some(categories);
        done.bodies = Some(opts.read.keep_bodies);
        // An input that gave nothing at all (an empty file) is not recorded (docs/ingest.md): the
        // store is left as it was. One whose records were all skipped, or that is not an audit
        // log, is recorded, because `stats` reports its skipped records and why it was not read;
        // an input recorded without events is still read again by the next run (see above), so
        // no run calls it "already ingested". The diagnose cache records every input: its store
        // is how a run learns that the files hold nothing to diagnose.
        let something_to_tell =
            done.events > 0 || done.skipped > 0 || done.not_audit.is_some() || done.incomplete.is_some();
        // A file ingested before that gives no event now (a log replaced by garbage, emptied):
        // the events read from it before stay stored, and so does its entry, which says where
        // they came from; what is wrong with it now is reported by this run, not recorded over
        // that entry (review s40: its 37 events' provenance was lost while the run said "the
        // store is unchanged").
        // Looked up only for an input that gave no event: not a scan of the manifest per file.
        let earlier: u64 = if done.events == 0 {
            manifest.inputs.iter().filter(|m| m.same_file(&done)).map(|m| m.events).sum()
        } else {
            0
        };
        if earlier > 0 {
            report.kept_earlier.push((done.file.clone(), earlier));
        } else if something_to_tell || opts.keep_empty_store {
            writer.input_done(done, by_kind, examples);
        }
        report.files.extend(summary.files);
        // Strict runs commit nothing until the end: a later bad record refuses the whole run.
        // Nor is a new store committed before it holds an event: a slow run that reads none
        // leaves no store, as a quick one does (a 22 s stream of no events left one behind, and
        // was told "the store is unchanged": ingest review s38, item 2).
        if !opts.read.strict
            && last_commit.elapsed() >= opts.commit_every
            && !(writer.is_new() && written.kept == 0)
        {
            if let Err(e) = writer.commit() {
                written.error = Some(e);
                return Err(stopped(&input.display().to_string()));
            }
            last_commit = Instant::now();
        }
    }
    Ok(())
}

fn stopped(file: &str) -> ReadError {
    ReadError::Sink { file: file.to_owned(), source: WRITER_STOPPED.into() }
}

/// What tells one stream read from another: stdin, or a file that is not a regular one (a
/// named pipe, a device) by its device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StreamId {
    Stdin,
    Node(u64, u64),
}

/// The [`StreamId`] of `path`, an input that is not a regular file (`None` when it cannot be
/// looked at: its read says why).
fn stream_id(path: &Path) -> Option<StreamId> {
    if path.as_os_str() == "-" {
        return Some(StreamId::Stdin);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| StreamId::Node(m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Size, modification time and a hash of the first MiB: enough to recognise an input
/// ingested before (`-`, stdin, and any other file that is not a regular one, such as a pipe,
/// is never recognised).
pub fn identify(path: &Path) -> IngestedInput {
    // A name that is not UTF-8 escaped as `path` is (`bad\xff.log`), not with U+FFFD.
    let mut id = IngestedInput { file: crate::read::path_text(path), ..IngestedInput::default() };
    if path.as_os_str() == "-" {
        return id;
    }
    // A pipe, a FIFO or a device (`<(zcat f.gz)`, `/dev/stdin`) can be read only once, by
    // the reader: like stdin, it is never recognised, and never opened here.
    let Ok(meta) = std::fs::metadata(path) else { return id };
    if !meta.is_file() {
        return id;
    }
    id.size = Some(meta.len());
    // Keyed by its canonical absolute path: the same file under another spelling is the same
    // input, and another file with the same relative name (from another directory) is not.
    id.path = std::fs::canonicalize(path).ok().map(|c| path_text(&c));
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        id.inode = Some((meta.dev(), meta.ino()));
    }
    id.mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_secs()).ok());
    id.head_hash = hash_of(path, 0, meta.len().min(MIB));
    if meta.len() > MIB {
        id.tail_hash = hash_of(path, meta.len() - MIB, MIB);
    }
    id
}

const MIB: u64 = 1 << 20;

/// xxh3 of the `len` bytes of the file at `path` from `offset`, hex; `None` when they cannot
/// all be read (the file is shorter now).
fn hash_of(path: &Path, offset: u64, len: u64) -> Option<String> {
    use std::io::{Seek, SeekFrom};
    let mut f = std::fs::File::open(path).ok()?;
    f.seek(SeekFrom::Start(offset)).ok()?;
    let mut bytes = Vec::with_capacity(usize::try_from(len).ok()?);
    f.take(len).read_to_end(&mut bytes).ok()?;
    (bytes.len() as u64 == len).then(|| format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&bytes)))
}

/// Whether the file `now` (its [`identify`], read from `path`) is the input `earlier` with bytes
/// added at its end and nothing else changed, as a log still being written grows: the same file
/// (its inode), larger, and the bytes `earlier` was read from, as far as their hashes tell
/// (the whole of them for a file that was at most a MiB; else its first and its last MiB, which
/// a rewrite, a truncation or a rotation by copy changes). Reading it again then gives every
/// event read before and the new ones. An input read only in part is never taken for one.
pub fn grew_from(earlier: &IngestedInput, now: &IngestedInput, path: &Path) -> bool {
    let (Some(was), Some(is)) = (earlier.size, now.size) else { return false };
    if !earlier.same_file(now) || is <= was || earlier.incomplete.is_some() || earlier.head_hash.is_none() {
        return false;
    }
    if was <= MIB {
        return hash_of(path, 0, was) == earlier.head_hash;
    }
    earlier.tail_hash.is_some()
        && now.head_hash == earlier.head_hash
        && hash_of(path, was - MIB, MIB) == earlier.tail_hash
}

/// What the manifest keeps of one path read into `files` (one file, or the files of a tar
/// archive): the events and skipped records of all, the most common format, and a reason
/// only when none of them was an audit log.
fn ingested(
    identity: IngestedInput,
    files: &[FileSummary],
) -> (IngestedInput, BTreeMap<SkipKind, u64>, Vec<SkippedRecord>) {
    let mut by_kind: BTreeMap<SkipKind, u64> = BTreeMap::new();
    let mut formats: BTreeMap<InputFormat, u64> = BTreeMap::new();
    let mut examples = Vec::new();
    for f in files {
        for (k, n) in &f.skipped_by_kind {
            *by_kind.entry(*k).or_default() += n;
        }
        for (fmt, n) in &f.formats {
            *formats.entry(*fmt).or_default() += n;
        }
        examples.extend(f.examples.iter().cloned());
    }
    let not_audit = match files {
        [one] => one.not_audit.clone(),
        _ if files.iter().all(|f| f.not_audit.is_some()) => {
            let first = files.first().and_then(|f| f.not_audit.clone()).unwrap_or_default();
            Some(format!("none of its {} files is an audit log (the first: {first})", files.len()))
        }
        _ => None,
    };
    let format = FileSummary { formats, ..FileSummary::default() }.format().map(|x| x.name().to_owned());
    let incomplete = files
        .iter()
        .filter_map(|f| f.incomplete.as_ref())
        .map(|r| format!("{}: {}", r.file, r.message))
        .next();
    let done = IngestedInput {
        format,
        incomplete,
        events: files.iter().map(|f| f.events).sum(),
        skipped: files.iter().map(|f| f.skipped).sum(),
        not_audit,
        ..identity
    };
    (done, by_kind, examples)
}

/// The paths and inodes the manifest records its inputs under, to find the ones a log
/// rotation moved without comparing every input with every entry.
struct Recorded<'m> {
    by_inode: HashMap<(u64, u64), &'m str>,
    by_path: HashMap<&'m str, Vec<(u64, u64)>>,
}

impl<'m> Recorded<'m> {
    fn of(manifest: &'m Manifest) -> Recorded<'m> {
        let mut r = Recorded { by_inode: HashMap::new(), by_path: HashMap::new() };
        for m in &manifest.inputs {
            if let (Some(path), Some(inode)) = (m.path.as_deref(), m.inode) {
                r.by_inode.insert(inode, path);
                r.by_path.entry(path).or_default().push(inode);
            }
        }
        r
    }

    /// The entries whose recorded path is no longer where their file is, as `id`, the input
    /// about to be read, shows: `id` itself when the manifest recorded its file (same inode)
    /// under another path, which no longer holds it; and the file recorded at `id`'s path with another inode (rotated
    /// away), when a file of that inode is in the same directory. Each as the identity to
    /// record it under (`file`, `path`, `inode`).
    fn moves(&self, id: &IngestedInput) -> Vec<IngestedInput> {
        let (Some(path), Some(inode)) = (&id.path, id.inode) else { return Vec::new() };
        let mut out = Vec::new();
        // Moved, not another name of it: a hard link leaves the recorded path in place.
        if self.by_inode.get(&inode).is_some_and(|p| p != path && inode_at(Path::new(p)) != Some(inode)) {
            out.push(IngestedInput {
                file: id.file.clone(),
                path: Some(path.clone()),
                inode: Some(inode),
                ..IngestedInput::default()
            });
        }
        let rotated: Vec<(u64, u64)> =
            self.by_path.get(path.as_str()).into_iter().flatten().copied().filter(|i| *i != inode).collect();
        if rotated.is_empty() {
            return out;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let Some(dir) = Path::new(path).parent() else { return out };
            let Ok(entries) = std::fs::read_dir(dir) else { return out };
            for e in entries.flatten() {
                let Ok(meta) = e.metadata() else { continue };
                let found = (meta.dev(), meta.ino());
                if !meta.is_file() || !rotated.contains(&found) {
                    continue;
                }
                // As named: the name typed with its last component replaced.
                let typed = Path::new(&id.file).with_file_name(e.file_name());
                out.push(IngestedInput {
                    file: crate::read::path_text(&typed),
                    path: Some(path_text(&e.path())),
                    inode: Some(found),
                    ..IngestedInput::default()
                });
            }
        }
        out
    }
}

/// The device and inode of the file at `path`, if there is one.
fn inode_at(path: &Path) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Whether the manifest records `id` as ingested unchanged ([`IngestedInput::unchanged_in`]).
fn is_ingested<'m>(manifest: &'m Manifest, id: &IngestedInput) -> Option<&'m IngestedInput> {
    id.size?;
    manifest.inputs.iter().find(|m| m.unchanged_in(id))
}
