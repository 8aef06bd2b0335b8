//! The one writer of a store: deduplicates, partitions by hour, writes Parquet atomically and
//! commits through the manifest.
//!
//! Crash safety: a Parquet file is written under a temporary name, synced and renamed into
//! place, and only then listed in a new manifest, itself written aside, synced and renamed
//! over the old one. A kill at any moment leaves the old or the new manifest, each listing
//! only complete files; files it does not list are removed when the next writer opens.
//!
//! Dedupe: every row gets a 64-bit key (xxh3 of `auditID` + `stage` + `stageTimestamp`, or of
//! the record's main fields when it has no `auditID`). Keys are kept per hour partition and
//! loaded on demand from that hour's Parquet files, with a budget on how many stay in memory,
//! so memory is bounded whatever the store's size.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, channel, sync_channel};

use arrow::array::{
    Array, AsArray, Int32Array, RecordBatch, StringArray, TimestampNanosecondArray, UInt32Array,
};
use arrow::compute::{interleave_record_batch, take_record_batch};
use arrow::datatypes::TimestampNanosecondType;
use parquet::arrow::ArrowWriter;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use rayon::iter::{IntoParallelRefIterator, ParallelIterator};

use super::{Counts, DataFile, IngestedInput, MANIFEST, Manifest, RetiredFile, StoreError, TimeRange};
use crate::col;
use crate::read::{SkipKind, SkippedRecord};
use crate::schema::canonical_schema;

/// Tuning of the writer; the defaults keep RSS well under 1 GB.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// An hour's buffered rows are written out once they reach this many.
    pub flush_rows: usize,
    /// When all buffers together exceed this many bytes, the largest is written out.
    pub max_buffered_bytes: usize,
    /// Dedupe keys kept in memory over all hours (8 bytes each plus table overhead).
    pub max_keys: usize,
    /// Rows per Parquet row group.
    pub row_group_rows: usize,
    /// At commit, an hour written to with at least this many small files has them merged
    /// into one (many small inputs ingested one run at a time); 0 never merges.
    pub compact_min_files: usize,
    /// Files at most this large (bytes) count as small.
    pub small_file_bytes: u64,
    /// Rows merged at once at most: they are held in memory while merged.
    pub compact_max_rows: u64,
    /// Seconds a file replaced by a merge stays on disk (see [`Manifest::retired`]) before a
    /// later commit deletes it.
    pub retired_grace_secs: i64,
}

/// How long a data file a commit replaced is kept for the readers that listed it:
/// [`WriterOptions::retired_grace_secs`] by default. Longer than any read of a store's
/// manifest-listed files takes to open them.
pub const RETIRED_GRACE_SECS: i64 = 15 * 60;

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            flush_rows: 1 << 18,
            // 128 MiB rather than 64: half as many files (138 for the demo's hour), and `diagnose`
            // opens each file once per query (docs/performance.md, session 9).
            max_buffered_bytes: 128 << 20,
            max_keys: 16 << 20,
            row_group_rows: 128 * 1024,
            compact_min_files: 8,
            small_file_bytes: 1 << 20,
            compact_max_rows: 512 * 1024,
            retired_grace_secs: RETIRED_GRACE_SECS,
        }
    }
}

/// Keys are already hashes: use them as they are.
#[derive(Default)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

type KeySet = HashSet<u64, BuildHasherDefault<IdentityHasher>>;

/// Rows waiting to be written for one hour.
#[derive(Default)]
struct HourBuffer {
    batches: Vec<RecordBatch>,
    rows: usize,
    bytes: usize,
    /// Small batches pushed since the last merge (see [`MERGE_SMALL_BATCHES`]).
    loose: usize,
    /// While the rows come in time order, they go straight to a file open at the encoder
    /// (`batches` stays empty): the latest time written to it.
    stream: Option<i64>,
}

/// Files open at the encoder at most; a buffer beyond them holds its rows.
const MAX_OPEN_FILES: usize = 8;

/// Rows a batch needs to open a file at the encoder: a reader's chunk (4 MiB) of a large input
/// gives each class of events a few thousand, where a small input gives a few.
const STREAM_MIN_ROWS: usize = 256;

/// Small batches buffered one after another are merged into one once there are this many:
/// each batch costs a few allocations per column whatever its rows, which thousands of small
/// input files (one webhook batch each) multiplied into gigabytes.
const MERGE_SMALL_BATCHES: usize = 64;

/// Rows under which a buffered batch counts as small (for [`MERGE_SMALL_BATCHES`]).
const SMALL_BATCH_ROWS: usize = 4096;

/// What one [`StoreWriter::write`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteOutcome {
    /// Rows kept.
    pub kept: u64,
    /// Rows dropped as duplicates (of stored rows or of rows earlier in this run).
    pub duplicates: u64,
}

/// The single writer of a store; holds the store's lock until dropped.
pub struct StoreWriter {
    dir: PathBuf,
    lock: StoreLock,
    manifest: Manifest,
    opts: WriterOptions,
    run_id: String,
    seq: u64,
    /// Rows waiting to be written, by hour and [`FileClass`].
    buffers: BTreeMap<BufKey, HourBuffer>,
    buffered_bytes: usize,
    keys: HashMap<Option<i64>, KeySet>,
    key_lru: VecDeque<Option<i64>>,
    key_count: usize,
    /// Written this run, not yet in the manifest.
    pending: Vec<DataFile>,
    /// Encodes full buffers into Parquet files beside this thread.
    encoder: Encoder,
    pending_inputs: Vec<IngestedInput>,
    pending_skips: Vec<(BTreeMap<SkipKind, u64>, Vec<SkippedRecord>)>,
    pending_duplicates: u64,
    /// Inputs recorded under a path their file no longer has (see [`StoreWriter::input_moved`]).
    pending_moves: Vec<IngestedInput>,
    /// What [`StoreWriter::open`] created to make a new store (`None` for a store that was
    /// one already), so that a run that commits nothing removes it again.
    created: Option<Created>,
    /// Whether this writer has written a manifest since [`StoreWriter::open`].
    committed: bool,
}

/// What [`StoreWriter::open`] created of a new store: only these are ever removed again
/// ([`StoreWriter::abort`] before any commit), so a directory that existed is left as it was
/// found, and nothing that was in it before is touched.
#[derive(Debug, Default)]
struct Created {
    /// Directories that did not exist: the store's own, then each missing parent, innermost
    /// first.
    dirs: Vec<PathBuf>,
    /// `data/` did not exist.
    data: bool,
    /// `lock` did not exist.
    lock: bool,
}

impl Created {
    /// What creating a store in `dir`, which has no manifest, is about to make.
    fn before(dir: &Path) -> Created {
        let missing =
            |p: &Path| std::fs::symlink_metadata(p).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound);
        let dirs = dir
            .ancestors()
            .take_while(|p| !p.as_os_str().is_empty() && missing(p))
            .map(Path::to_path_buf)
            .collect();
        Created { dirs, data: missing(&dir.join("data")), lock: missing(&dir.join("lock")) }
    }

    /// Removes what was created, in `dir`: the manifest written for the new store, empty
    /// directories under a `data/` that did not exist, the lock file if it did not exist, and
    /// the directories that did not exist if they are empty. Never a file the writer did not
    /// create, never a directory that is not empty. Best effort: what cannot be removed stays
    /// (an empty store, as before this existed).
    fn undo(self, dir: &Path) {
        let _ = std::fs::remove_file(dir.join(MANIFEST));
        if self.data {
            remove_empty_dirs(&dir.join("data"));
        }
        if self.lock {
            // Removed while still held: a writer that opened it meanwhile found it locked;
            // one that opens it after makes a new one.
            let _ = std::fs::remove_file(dir.join("lock"));
        }
        for d in &self.dirs {
            if std::fs::remove_dir(d).is_err() {
                break;
            }
        }
    }
}

/// Removes `dir` and the directories under it when no file is anywhere under them
/// (`remove_dir` refuses a directory that is not empty: a file is never removed).
fn remove_empty_dirs(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_empty_dirs(&e.path());
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}

/// The store's write lock: an OS lock (`flock`) on `dir/lock`, which holds the holder's PID
/// and command, and on the store directory itself. Both are released by the kernel when the
/// holder exits, however it ends (a crash or `kill -9` included): the lock is never stale.
/// The directory's lock keeps a second writer out even when `dir/lock` was deleted (a new
/// `lock` file would be a different file, unlocked).
struct StoreLock {
    path: PathBuf,
    /// Declared (so dropped, and unlocked) before `file`: a writer that finds the file's lock
    /// free then finds the directory's free too, rather than taking a deleted lock file for
    /// the cause.
    _dir: Option<File>,
    /// Held for as long as the writer lives.
    file: File,
    /// Device and inode of the locked file.
    id: Option<(u64, u64)>,
}

/// Device and inode of a file, where the platform has them.
#[cfg(unix)]
fn file_id(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn file_id(_: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

/// What the holder of a store's lock wrote in it: `pid N` and `command …`, as one line.
fn lock_holder(lock_path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(lock_path).ok()?;
    let field = |name: &str| {
        text.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    };
    let pid = field("pid ")?;
    // The file keeps the last writer's ID; a writer that does not record its own (an older
    // apiserver-doctor) may hold the lock while that process has long exited.
    if cfg!(target_os = "linux") && pid.parse::<u32>().is_ok() && !Path::new("/proc").join(&pid).exists() {
        return None;
    }
    Some(match field("command ") {
        Some(cmd) => format!("process {pid}: {cmd}"),
        None => format!("process {pid}"),
    })
}

/// Who holds the write lock of the store `dir`: named in words (`process PID: COMMAND`) for a
/// refused writer to show, or [`Holder::Nobody`] when the lock turns out to be free (its holder
/// ended since): the refused writer then tries again. The kernel's lock table says which process
/// holds the lock file or the directory (Linux), whatever that process wrote; elsewhere, or when
/// the table does not name a process this one can see, what the holder wrote in the lock file,
/// read again for a moment: a writer that has just taken the lock writes its ID right after.
fn store_lock_holder(dir: &Path) -> Holder {
    let lock = dir.join("lock");
    // Looked at again each time: the holder may end, or write its ID, between two looks (a CI
    // run saw a refused writer name no holder while four ingests started at once).
    for look in 0..=HOLDER_LOOKS {
        if look > 0 {
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        let (file, directory) = (kernel_lock_holder(&lock), kernel_lock_holder(dir));
        let pid = match (file, directory) {
            (KernelLock::Held(pid), _) | (_, KernelLock::Held(pid)) => Some(pid),
            (KernelLock::Free, KernelLock::Free) => return Holder::Nobody,
            _ => None,
        };
        if let Some(pid) = pid.filter(|pid| Path::new("/proc").join(pid.to_string()).exists()) {
            let written = lock_holder(&lock).filter(|h| h.starts_with(&format!("process {pid}:")));
            return Holder::Named(written.unwrap_or_else(|| process_in_words(pid)));
        }
        if let Some(h) = lock_holder(&lock) {
            return Holder::Named(h);
        }
    }
    Holder::Unknown
}

/// `process PID: COMMAND`, from the command line the kernel shows for `pid`.
fn process_in_words(pid: u32) -> String {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let words: Vec<String> = cmdline
        .split(|b| *b == 0)
        .filter(|w| !w.is_empty())
        .map(|w| String::from_utf8_lossy(w).replace(['\n', '\r'], " "))
        .collect();
    if words.is_empty() { format!("process {pid}") } else { format!("process {pid}: {}", words.join(" ")) }
}

/// Who holds a store's lock, as [`store_lock_holder`] found.
enum Holder {
    /// The holder, in words.
    Named(String),
    /// The kernel's lock table shows no holder: the lock was released since it was refused.
    Nobody,
    /// Held by a process that cannot be named.
    Unknown,
}

impl Holder {
    /// The holder's name, when it has one.
    fn named(self) -> Option<String> {
        match self {
            Holder::Named(h) => Some(h),
            Holder::Nobody | Holder::Unknown => None,
        }
    }
}

/// Times [`store_lock_holder`] reads the lock file again (25 ms apart) for the holder's ID.
const HOLDER_LOOKS: usize = 10;

/// What the kernel's lock table says of a file's write lock.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
enum KernelLock {
    /// Held by the process with this ID.
    Held(u32),
    /// Held by no one.
    Free,
    /// No table to look in (not Linux, or it cannot be read), or the file cannot be looked at.
    Unknown,
}

/// The process holding a write `flock` on `path`, from the kernel's lock table
/// (`/proc/locks`).
fn kernel_lock_holder(path: &Path) -> KernelLock {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        let Ok(table) = std::fs::read_to_string("/proc/locks") else { return KernelLock::Unknown };
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            // No file, no lock on it: a refused writer that made the lock file removes it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return KernelLock::Free,
            Err(_) => return KernelLock::Unknown,
        };
        let dev = meta.dev();
        // glibc's gnu_dev_major and gnu_dev_minor.
        let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
        let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
        match table.lines().find_map(|line| write_lock_holder(line, major, minor, meta.ino())) {
            Some(pid) => KernelLock::Held(pid),
            None => KernelLock::Free,
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = path;
        KernelLock::Unknown
    }
}

/// The PID of a `/proc/locks` line (`1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234 0 EOF`) when it
/// is a held (not awaited: `->`) write lock on the file `major:minor:inode`.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn write_lock_holder(line: &str, major: u64, minor: u64, inode: u64) -> Option<u32> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    if fields.get(1) == Some(&"->") || fields.get(3) != Some(&"WRITE") {
        return None;
    }
    let mut parts = fields.get(5)?.split(':');
    let (maj, min, ino) = (parts.next()?, parts.next()?, parts.next()?);
    let same = u64::from_str_radix(maj, 16).ok() == Some(major)
        && u64::from_str_radix(min, 16).ok() == Some(minor)
        && ino.parse::<u64>().ok() == Some(inode);
    same.then(|| fields.get(4)?.parse::<u32>().ok()).flatten().filter(|pid| *pid > 0)
}

impl StoreLock {
    /// Takes the lock of the store at `dir` (which exists), or says who holds it.
    fn take(dir: &Path) -> Result<StoreLock, StoreError> {
        let path = dir.join("lock");
        let locked = |dir: &Path| StoreError::Locked {
            dir: dir.to_path_buf(),
            holder: store_lock_holder(dir).named(),
        };
        // Another writer may replace the file between our open and our lock (a new store's
        // undo removes it): the file locked must be the one at the path.
        for attempt in 0..8 {
            // Whether this run makes the file: a refused run removes what it made.
            let made = !path.exists();
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(&path)
                .map_err(io_err(&path))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    drop(file);
                    match store_lock_holder(dir) {
                        Holder::Named(h) => {
                            return Err(StoreError::Locked { dir: dir.to_path_buf(), holder: Some(h) });
                        }
                        // Its holder has just ended (several ingests started at once, the first
                        // one already done): the lock is free now, take it.
                        Holder::Nobody if attempt < 7 => continue,
                        Holder::Nobody | Holder::Unknown => {
                            return Err(StoreError::Locked { dir: dir.to_path_buf(), holder: None });
                        }
                    }
                }
                Err(std::fs::TryLockError::Error(source)) => return Err(StoreError::Io { path, source }),
            }
            let id = file.metadata().ok().as_ref().and_then(file_id);
            let at_path = std::fs::symlink_metadata(&path).ok().as_ref().and_then(file_id);
            if id != at_path {
                continue;
            }
            // The directory's lock: where directories cannot be opened, the file's lock alone.
            let dir_handle = File::open(dir).ok();
            if let Some(d) = &dir_handle {
                match d.try_lock() {
                    Ok(()) | Err(std::fs::TryLockError::Error(_)) => {}
                    // `dir/lock` was deleted while a writer held it, and this is a new file:
                    // removed again, so that the holder takes it back at its next commit.
                    Err(std::fs::TryLockError::WouldBlock) => {
                        if made {
                            let _ = std::fs::remove_file(&path);
                        }
                        drop(file);
                        // The holder may be ending: it releases the directory's lock, then the
                        // file's (an older build released them the other way round).
                        if attempt < 7 {
                            std::thread::sleep(std::time::Duration::from_millis(20));
                            continue;
                        }
                        return Err(locked(dir));
                    }
                }
            }
            let mut lock = StoreLock { path, _dir: dir_handle, file, id };
            lock.note_holder();
            return Ok(lock);
        }
        Err(locked(dir))
    }

    /// Writes this process's PID and command into the lock file, for a refused writer to name.
    fn note_holder(&mut self) {
        let command: Vec<String> =
            std::env::args_os().map(|a| a.to_string_lossy().replace(['\n', '\r'], " ")).collect();
        let text = format!(
            "pid {}\ncommand {}\nsince {}\n",
            std::process::id(),
            command.join(" "),
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
        );
        use std::io::Seek;
        // Best effort: the lock is the kernel's, the text only names its holder.
        let _ = self.file.set_len(0);
        let _ = self.file.seek(std::io::SeekFrom::Start(0));
        let _ = self.file.write_all(text.as_bytes());
    }

    /// Checks that the file at `dir/lock` is still the one locked. When it was deleted or
    /// replaced (someone took the lock for stale), the file now at the path is locked in its
    /// place, and refused when another process holds it: a writer (an older build, which
    /// locks only the file) came in through it.
    fn check(&mut self, dir: &Path) -> Result<(), StoreError> {
        let at_path = std::fs::symlink_metadata(&self.path).ok().as_ref().and_then(file_id);
        if self.id.is_none() || at_path == self.id {
            return Ok(());
        }
        let lost = || StoreError::LockLost(dir.to_path_buf());
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&self.path)
            .map_err(|_| lost())?;
        file.try_lock().map_err(|_| lost())?;
        let id = file.metadata().ok().as_ref().and_then(file_id);
        if id != std::fs::symlink_metadata(&self.path).ok().as_ref().and_then(file_id) {
            return Err(lost());
        }
        self.file = file;
        self.id = id;
        self.note_holder();
        Ok(())
    }
}

/// What [`StoreWriter::abort`] removed, to say so.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Aborted {
    /// Uncommitted data files and temporary files of this run removed.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
    /// The store was new (this run made it) and is removed again.
    pub store_removed: bool,
    /// The store was new and what this run made of it (its manifest, lock and `data/`) is
    /// removed again; the directory itself stays when it was there before the run (an empty
    /// directory given as `--store`, or the diagnose cache's), else [`Aborted::store_removed`].
    pub new_store_undone: bool,
    /// Files that could not be removed, each with why.
    pub not_removed: Vec<String>,
}

/// The generation of the manifest in `dir`, as written (0 for manifests without one);
/// `None` when there is none or it cannot be read.
fn disk_generation(dir: &Path) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct G {
        #[serde(default)]
        generation: u64,
    }
    let text = std::fs::read(dir.join(MANIFEST)).ok()?;
    serde_json::from_slice::<G>(&text).ok().map(|g| g.generation)
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io { path: path.to_path_buf(), source }
}

/// `YYYY-MM-DDTHH` of an hour number (hours since the epoch), or `none`.
pub fn hour_name(hour: Option<i64>) -> String {
    match hour.and_then(|h| chrono::DateTime::from_timestamp(h.saturating_mul(3600), 0)) {
        Some(t) => t.format("%Y-%m-%dT%H").to_string(),
        None => "none".to_owned(),
    }
}

const HOUR_NS: i64 = 3_600_000_000_000;

impl StoreWriter {
    /// Opens (creating if needed) the store at `dir` for writing; refused while another
    /// writer holds it. Removes files a killed writer left behind.
    ///
    /// A directory that is not a store yet must be empty, or not exist: a directory holding
    /// anything else is refused ([`StoreError::NotEmpty`]), and so is a store that has lost its
    /// manifest ([`StoreError::ManifestMissing`]), so that no file the writer did not write is
    /// ever removed.
    pub fn open(dir: &Path, opts: WriterOptions) -> Result<StoreWriter, StoreError> {
        // A file where the store should be (or under it) is named as such, not as "Not a
        // directory" on some path inside it.
        if let Some(file) = dir.ancestors().find(|p| std::fs::metadata(p).is_ok_and(|m| !m.is_dir())) {
            return Err(StoreError::NotADirectory { dir: dir.to_path_buf(), file: file.to_path_buf() });
        }
        // Checked before anything is created in it: a refused directory is left as it was.
        let mut created = None;
        // Whether the check found what another writer may be making of the store right now.
        let mut deferred = false;
        if !dir.join(MANIFEST).exists() {
            match check_new_store(dir) {
                Ok(()) => created = Some(Created::before(dir)),
                // Several ingests started at once into a new store: the one that took the lock
                // may have written its manifest or first data file since this run looked for
                // the manifest. Whether the directory is another writer's store, or not a store,
                // is decided under the lock (which names that writer while it holds it).
                Err(e @ (StoreError::NotEmpty(_) | StoreError::ManifestMissing { .. })) => {
                    if !dir.join("lock").is_file() {
                        return Err(e);
                    }
                    deferred = true;
                }
                Err(e) => return Err(e),
            }
        }
        if !deferred && let Err(source) = std::fs::create_dir_all(dir.join("data")) {
            if let Some(c) = created {
                c.undo(dir);
            }
            return Err(StoreError::Io { path: dir.to_path_buf(), source }.plain(dir));
        }
        let lock = match StoreLock::take(dir) {
            Ok(l) => l,
            Err(e) => {
                // Another writer's store: only what this run made is removed, and the lock is
                // someone else's (never removed then).
                if let Some(c) = created
                    && !matches!(e, StoreError::Locked { .. })
                {
                    c.undo(dir);
                }
                return Err(e);
            }
        };
        let (manifest, created) = match Manifest::load(dir) {
            // A store another writer made between the check above and the lock is not new.
            Ok(m) => {
                std::fs::create_dir_all(dir.join("data"))
                    .map_err(|source| StoreError::Io { path: dir.to_path_buf(), source }.plain(dir))?;
                (m, None)
            }
            Err(StoreError::NotAStore(_)) => {
                // Another process may have written into it since the check above.
                check_new_store(dir)?;
                if deferred {
                    // The other writer made nothing of it in the end (its run was undone): a new
                    // store after all, whose undo removes only what this run makes of it now.
                    let c = Created::before(dir);
                    std::fs::create_dir_all(dir.join("data"))
                        .map_err(|source| StoreError::Io { path: dir.to_path_buf(), source }.plain(dir))?;
                    (Manifest::default(), Some(c))
                } else {
                    (Manifest::default(), created)
                }
            }
            Err(e) => return Err(e),
        };
        let run_id = format!("{}-{}", chrono::Utc::now().format("%Y%m%dT%H%M%S%.6f"), std::process::id());
        let mut w = StoreWriter {
            dir: dir.to_path_buf(),
            lock,
            manifest,
            opts,
            run_id,
            seq: 0,
            buffers: BTreeMap::new(),
            buffered_bytes: 0,
            keys: HashMap::new(),
            key_lru: VecDeque::new(),
            key_count: 0,
            pending: Vec::new(),
            encoder: Encoder::new(),
            pending_inputs: Vec::new(),
            pending_skips: Vec::new(),
            pending_duplicates: 0,
            pending_moves: Vec::new(),
            created,
            committed: false,
        };
        let made = (|| {
            w.remove_orphans()?;
            if !dir.join(MANIFEST).exists() {
                let mut first = w.manifest.clone();
                w.write_manifest(&mut first, false)?;
                w.manifest = first;
            }
            Ok(())
        })();
        match made {
            Ok(()) => Ok(w),
            Err(e) => {
                let _ = w.abort();
                Err(e)
            }
        }
    }

    /// The manifest as last committed.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The data files the manifest lists, and those it keeps for readers ([`Manifest::retired`]).
    fn listed_paths(&self) -> HashSet<PathBuf> {
        let files = self.manifest.files.iter().map(|f| &f.path);
        files.chain(self.manifest.retired.iter().map(|r| &r.path)).map(|p| self.dir.join(p)).collect()
    }

    /// Removes the data files the manifest does not list (a killed writer's) and the temporary
    /// files of a killed writer: only files named as this writer names them
    /// (`data/hour=*/part-*.parquet` and `data/hour=*/.part-*.parquet.tmp`); anything else
    /// under `data/` is left alone.
    fn remove_orphans(&self) -> Result<(), StoreError> {
        let listed = self.listed_paths();
        for path in own_data_files(&self.dir)? {
            if !listed.contains(&path) {
                std::fs::remove_file(&path).map_err(io_err(&path))?;
            }
        }
        let tmp = self.dir.join(format!("{MANIFEST}.tmp"));
        if tmp.exists() {
            std::fs::remove_file(&tmp).map_err(io_err(&tmp))?;
        }
        Ok(())
    }

    /// Deduplicates `batch`, partitions it by hour and buffers it; full buffers are written.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<WriteOutcome, StoreError> {
        let n = batch.num_rows();
        if n == 0 {
            return Ok(WriteOutcome::default());
        }
        let times = row_time(batch);
        let hours: Vec<Option<i64>> = times.iter().map(|t| t.map(|t| t.div_euclid(HOUR_NS))).collect();
        let classes = row_classes(batch);
        let keys = row_keys(batch);
        let mut by_hour: BTreeMap<(Option<i64>, FileClass), Vec<u32>> = BTreeMap::new();
        for (row, (hour, class)) in hours.iter().zip(&classes).enumerate() {
            by_hour.entry((*hour, *class)).or_default().push(row as u32);
        }
        let mut duplicates = 0u64;
        let mut kept = 0u64;
        for (key, mut rows) in by_hour {
            let hour = key.0;
            self.ensure_keys(hour)?;
            let set = self.keys.entry(hour).or_default();
            let before = rows.len();
            rows.retain(|&r| set.insert(keys[r as usize]));
            self.key_count += rows.len();
            duplicates += (before - rows.len()) as u64;
            if rows.is_empty() {
                continue;
            }
            let part = if rows.len() == n {
                batch.clone()
            } else {
                take_record_batch(batch, &UInt32Array::from(rows.clone()))
                    .map_err(|e| StoreError::Parquet { path: self.dir.clone(), message: e.to_string() })?
            };
            kept += part.num_rows() as u64;
            let bytes = data_bytes(&part);
            if self.stream_rows(key, &part, &rows, &times, bytes)? {
                continue;
            }
            // A small batch still holds its reader's buffers, sized for a full chunk (hundreds
            // of KB for a few events): kept as they are, thousands of small input files held
            // gigabytes. Copied to its own size, it holds what it counts.
            let part = if part.get_array_memory_size() > 2 * bytes + (64 << 10) {
                tight_copy(&part).map_err(|e| StoreError::Parquet { path: self.dir.clone(), message: e })?
            } else {
                part
            };
            let buf = self.buffers.entry(key).or_default();
            buf.rows += part.num_rows();
            buf.bytes += bytes;
            let small = part.num_rows() < SMALL_BATCH_ROWS;
            buf.batches.push(part);
            buf.loose = if small { buf.loose + 1 } else { 0 };
            if buf.loose >= MERGE_SMALL_BATCHES {
                let from = buf.batches.len() - buf.loose;
                let merged =
                    arrow::compute::concat_batches(&buf.batches[from].schema(), &buf.batches[from..])
                        .map_err(|e| StoreError::Parquet {
                            path: self.dir.clone(),
                            message: e.to_string(),
                        })?;
                buf.batches.truncate(from);
                buf.batches.push(merged);
                buf.loose = 0;
            }
            self.buffered_bytes += bytes;
            if buf.rows >= self.opts.flush_rows {
                self.flush_buffer(key)?;
            }
        }
        while self.buffered_bytes > self.opts.max_buffered_bytes {
            let Some(largest) = self.buffers.iter().max_by_key(|(_, b)| b.bytes).map(|(h, _)| *h) else {
                break;
            };
            self.flush_buffer(largest)?;
        }
        self.evict_keys();
        self.pending_duplicates += duplicates;
        Ok(WriteOutcome { kept, duplicates })
    }

    /// Hands `part` (rows `rows` of a batch whose rows' times are `times`) to the file open at
    /// the encoder for `key` when its rows follow that file's in time order, opening a file when
    /// the buffer is empty: `true` when it did. `false` when the rows are to be buffered
    /// instead; a file they do not follow is finished first.
    fn stream_rows(
        &mut self,
        key: BufKey,
        part: &RecordBatch,
        rows: &[u32],
        times: &[Option<i64>],
        bytes: usize,
    ) -> Result<bool, StoreError> {
        let (latest, empty) = match self.buffers.get(&key) {
            Some(b) => (b.stream, b.rows == 0),
            None => (None, true),
        };
        // A file is opened for a large batch only: small inputs, from many files often out of
        // order between them, are buffered and sorted into one file as before.
        let open_files = self.buffers.values().filter(|b| b.stream.is_some()).count();
        if latest.is_none() && !(empty && open_files < MAX_OPEN_FILES && part.num_rows() >= STREAM_MIN_ROWS) {
            return Ok(false);
        }
        let row_times = rows.iter().map(|&r| times.get(r as usize).copied().flatten().unwrap_or(i64::MAX));
        let Some(last) = ordered_after(latest.unwrap_or(i64::MIN), row_times) else {
            if latest.is_some() {
                self.flush_buffer(key)?;
            }
            return Ok(false);
        };
        let open = latest.is_none().then(|| FileSpec {
            dir: self.dir.clone(),
            hour: hour_name(key.0),
            file_name: self.next_file_name(),
            row_group_rows: self.opts.row_group_rows,
        });
        let buf = self.buffers.entry(key).or_default();
        buf.stream = Some(last);
        buf.rows += part.num_rows();
        buf.bytes += bytes;
        self.buffered_bytes += bytes;
        let full = buf.rows >= self.opts.flush_rows;
        self.encoder.send(Work::Rows { key, open, batch: part.clone() });
        if full {
            self.flush_buffer(key)?;
        }
        Ok(true)
    }

    /// Loads the keys of an hour's stored rows if they are not in memory.
    fn ensure_keys(&mut self, hour: Option<i64>) -> Result<(), StoreError> {
        if self.keys.contains_key(&hour) {
            if self.key_lru.back() != Some(&hour) {
                self.key_lru.retain(|h| *h != hour);
                self.key_lru.push_back(hour);
            }
            return Ok(());
        }
        // Files still being encoded hold keys too: wait for them before reading from disk.
        self.wait_for_encoder()?;
        let name = hour_name(hour);
        let mut set = KeySet::default();
        let files: Vec<String> = self
            .manifest
            .files
            .iter()
            .chain(self.pending.iter())
            .filter(|f| f.hour == name)
            .map(|f| f.path.clone())
            .collect();
        // Read on the rayon pool, a file to a task: both cores decode (the reading waits for
        // these keys anyway).
        let keys: Vec<Vec<u64>> =
            files.par_iter().map(|rel| stored_keys(&self.dir.join(rel))).collect::<Result<_, _>>()?;
        set.reserve(keys.iter().map(Vec::len).sum());
        for k in keys.into_iter().flatten() {
            set.insert(k);
        }
        self.key_count += set.len();
        self.keys.insert(hour, set);
        self.key_lru.push_back(hour);
        Ok(())
    }

    /// Drops the least recently used hours' keys while over budget (they reload on demand).
    fn evict_keys(&mut self) {
        while self.key_count > self.opts.max_keys && self.key_lru.len() > 1 {
            let Some(h) = self.key_lru.pop_front() else { break };
            // Rows still buffered are not on disk yet: their keys must stay.
            if self.buffered(h) {
                self.key_lru.push_back(h);
                if self.key_lru.iter().all(|x| self.buffered(*x)) {
                    break;
                }
                continue;
            }
            if let Some(set) = self.keys.remove(&h) {
                self.key_count -= set.len();
            }
        }
    }

    /// Whether rows of `hour` wait in a buffer.
    fn buffered(&self, hour: Option<i64>) -> bool {
        self.buffers.keys().any(|(h, _)| *h == hour)
    }

    /// Ends a buffer's file: finishes the file open at the encoder, or hands the buffered rows
    /// over as one (waiting while it encodes the previous such file: at most one is encoded
    /// while the next fills).
    fn flush_buffer(&mut self, key: BufKey) -> Result<(), StoreError> {
        if self.buffers.get(&key).is_some_and(|b| b.stream.is_some()) {
            if let Some(buf) = self.buffers.remove(&key) {
                self.buffered_bytes -= buf.bytes;
            }
            self.encoder.send(Work::Finish(key));
            let done = self.encoder.finished();
            return self.take_encoded(done);
        }
        let Some(job) = self.take_job(key) else { return Ok(()) };
        let done = self.encoder.submit(job);
        self.take_encoded(done)
    }

    /// A buffer's rows as a file to encode; `None` when it holds none.
    fn take_job(&mut self, key: BufKey) -> Option<EncodeJob> {
        let buf = self.buffers.remove(&key)?;
        self.buffered_bytes -= buf.bytes;
        if buf.rows == 0 {
            return None;
        }
        let spec = FileSpec {
            dir: self.dir.clone(),
            hour: hour_name(key.0),
            file_name: self.next_file_name(),
            row_group_rows: self.opts.row_group_rows,
        };
        Some(EncodeJob { spec, batches: buf.batches })
    }

    /// Writes every buffer out, on two threads: each file, largest first, goes to the encoder
    /// thread when it waits for one and is encoded on this thread when it is busy. Reading has
    /// stopped by now, and the last files of a run no longer leave a core idle. (While reading
    /// goes on, the writer waits for the encoder instead: encoding here then measured no
    /// faster, and held one more file in memory.)
    fn flush_all(&mut self) -> Result<(), StoreError> {
        let mut first_err = None;
        // The open files first: their rows are encoded already.
        let open: Vec<BufKey> =
            self.buffers.iter().filter(|(_, b)| b.stream.is_some()).map(|(k, _)| *k).collect();
        for key in open {
            if let Err(e) = self.flush_buffer(key) {
                first_err.get_or_insert(e);
            }
        }
        let mut keys: Vec<(usize, BufKey)> = self.buffers.iter().map(|(k, b)| (b.bytes, *k)).collect();
        keys.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, key) in keys {
            let Some(job) = self.take_job(key) else { continue };
            let done = match self.encoder.try_submit(job) {
                Ok(done) => done,
                Err(job) => {
                    let mut done = self.encoder.finished();
                    done.push(Done { file: true, result: job.run().map(Some) });
                    done
                }
            };
            if let Err(e) = self.take_encoded(done) {
                first_err.get_or_insert(e);
            }
        }
        let waited = self.wait_for_encoder();
        match first_err {
            Some(e) => Err(e),
            None => waited,
        }
    }

    /// Moves encoded files into `pending`; the first error is returned.
    fn take_encoded(&mut self, done: Vec<Done>) -> Result<(), StoreError> {
        let mut first_err = None;
        for d in done {
            match d.result {
                Ok(Some(f)) => self.pending.push(f),
                Ok(None) => {}
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Waits until every file handed to the encoder is written.
    fn wait_for_encoder(&mut self) -> Result<(), StoreError> {
        let done = self.encoder.wait_all();
        self.take_encoded(done)
    }

    /// Writes `batches` (not empty) as one file of hour `name` on this thread (compaction).
    fn write_file(&mut self, name: String, batches: &[RecordBatch]) -> Result<DataFile, StoreError> {
        let spec = FileSpec {
            dir: self.dir.clone(),
            hour: name,
            file_name: self.next_file_name(),
            row_group_rows: self.opts.row_group_rows,
        };
        encode_file(&spec, batches)
    }

    /// The name of this run's next data file.
    fn next_file_name(&mut self) -> String {
        self.seq += 1;
        format!("part-{}-{:05}.parquet", self.run_id, self.seq)
    }

    /// Merges the small files of every hour written to since the last commit once there are
    /// [`WriterOptions::compact_min_files`] of them; returns the paths the merged file
    /// replaces (still listed by the committed manifest until the next commit).
    fn compact(&mut self) -> Result<Vec<String>, StoreError> {
        if self.opts.compact_min_files == 0 {
            return Ok(Vec::new());
        }
        // Files are merged with files of the same hour and class only, so that a merged file
        // still holds one class.
        let touched: std::collections::BTreeSet<(String, Option<FileClass>)> =
            self.pending.iter().map(|f| (f.hour.clone(), FileClass::of(&f.counts))).collect();
        let mut retired = Vec::new();
        for (hour, class) in touched {
            let mut small: Vec<DataFile> = self
                .manifest
                .files
                .iter()
                .chain(self.pending.iter())
                .filter(|f| {
                    f.hour == hour
                        && FileClass::of(&f.counts) == class
                        && f.bytes <= self.opts.small_file_bytes
                })
                .cloned()
                .collect();
            if small.len() < self.opts.compact_min_files.max(2) {
                continue;
            }
            small.sort_by_key(|f| f.counts.events);
            let mut rows = 0;
            let mut chosen = Vec::new();
            for f in small {
                if chosen.len() >= 2 && rows + f.counts.events > self.opts.compact_max_rows {
                    break;
                }
                rows += f.counts.events;
                chosen.push(f);
            }
            let mut batches = Vec::new();
            for f in &chosen {
                batches.extend(read_all(&self.dir.join(&f.path))?);
            }
            batches.retain(|b| b.num_rows() > 0);
            let merged =
                if batches.is_empty() { None } else { Some(self.write_file(hour.clone(), &batches)?) };
            drop(batches);
            self.pending.retain(|p| !chosen.iter().any(|c| c.path == p.path));
            self.pending.extend(merged);
            retired.extend(chosen.into_iter().map(|f| f.path));
        }
        Ok(retired)
    }

    /// Notes an input read completely; it is listed in the manifest with the next commit.
    pub fn input_done(
        &mut self,
        mut input: IngestedInput,
        skipped_by_kind: BTreeMap<SkipKind, u64>,
        examples: Vec<SkippedRecord>,
    ) {
        input.skipped_by_kind = skipped_by_kind.clone();
        self.pending_inputs.push(input);
        self.pending_skips.push((skipped_by_kind, examples));
    }

    /// Notes that the input recorded with the inode of `now` has the name and path of `now`
    /// (a rotated log: renamed, the same file); the manifest says so from the next commit.
    pub fn input_moved(&mut self, now: IngestedInput) {
        self.pending_moves.push(now);
    }

    /// The memory the buffered rows take (their buffers' capacity, not only their values).
    pub fn buffered_memory(&self) -> usize {
        self.buffers.values().flat_map(|b| &b.batches).map(RecordBatch::get_array_memory_size).sum()
    }

    /// Data files written but not committed yet.
    pub fn uncommitted_files(&self) -> usize {
        self.pending.len() + self.encoder.outstanding
    }

    /// Writes every buffer out and commits: the new manifest lists the files and inputs.
    pub fn commit(&mut self) -> Result<(), StoreError> {
        self.flush_all()?;
        if self.pending.is_empty()
            && self.pending_inputs.is_empty()
            && self.pending_duplicates == 0
            && self.pending_moves.is_empty()
        {
            return Ok(());
        }
        let retired = self.compact()?;
        let mut next = self.manifest.clone();
        next.files.retain(|f| !retired.contains(&f.path));
        // Replaced files a commit listed stay on disk a while, for the readers that listed them
        // (review s51, item 1); those of this run that no commit listed go at once. Files kept
        // long enough are deleted after this commit.
        let now = chrono::Utc::now().timestamp();
        let grace = self.opts.retired_grace_secs;
        let mut remove: Vec<String> = Vec::new();
        next.retired.retain(|r| {
            let kept = now.saturating_sub(r.since).saturating_abs() < grace;
            if !kept {
                remove.push(r.path.clone());
            }
            kept
        });
        for rel in retired {
            if self.manifest.files.iter().any(|f| f.path == rel) {
                next.retired.push(RetiredFile { path: rel, since: now });
            } else {
                remove.push(rel);
            }
        }
        next.files.extend(self.pending.iter().cloned());
        next.files.sort_by(|a, b| a.path.cmp(&b.path));
        // A file read again (it changed since, or `--force`) replaces its earlier entry, so that
        // its records and skipped records are counted once; stdin (`-`) is new data each time.
        // The same file is the same canonical path or inode (see `IngestedInput::same_file`):
        // another file of the same relative name is another input.
        let is_reread = |old: &IngestedInput| self.pending_inputs.iter().any(|p| p.same_file(old));
        let reread: BTreeSet<&str> =
            self.pending_inputs.iter().filter(|i| i.size.is_some()).map(|i| i.file.as_str()).collect();
        // Its earlier events, read again, all meet their stored selves and are dropped as
        // duplicates: they are taken out of the earlier count, so that the inputs' events are
        // the events stored plus the duplicates dropped, however often a file was read (a log
        // that grew, read again in full; `--force`).
        let mut reread_events = 0u64;
        for old in next.inputs.iter().filter(|i| is_reread(i)) {
            for (k, n) in &old.skipped_by_kind {
                if let Some(total) = next.skipped.by_kind.get_mut(k) {
                    *total = total.saturating_sub(*n);
                }
            }
            reread_events += old.events;
        }
        next.skipped.by_kind.retain(|_, n| *n > 0);
        next.skipped.examples.retain(|e| !reread.contains(e.file.as_str()));
        for moved in &self.pending_moves {
            for i in next.inputs.iter_mut().filter(|i| i.inode.is_some() && i.inode == moved.inode) {
                i.file.clone_from(&moved.file);
                i.path.clone_from(&moved.path);
            }
        }
        next.inputs.retain(|i| !is_reread(i));
        next.inputs.extend(self.pending_inputs.iter().cloned());
        // When the earlier readings held more events than are dropped as duplicates now (a file
        // that shrank, read again), the rest stay stored from contents the file no longer has:
        // counted apart, where they were lost before (review s42, item 7).
        let dropped = next.duplicates_dropped + self.pending_duplicates;
        next.duplicates_dropped = dropped.saturating_sub(reread_events);
        next.earlier_contents += reread_events.saturating_sub(dropped);
        let mut new_examples = Vec::new();
        for (by_kind, examples) in &self.pending_skips {
            for (k, n) in by_kind {
                *next.skipped.by_kind.entry(*k).or_default() += n;
            }
            new_examples.extend(examples.iter().cloned());
        }
        new_examples.append(&mut next.skipped.examples);
        new_examples.truncate(20);
        next.skipped.examples = new_examples;
        self.write_manifest(&mut next, true)?;
        self.committed = true;
        self.manifest = next;
        self.pending.clear();
        self.pending_inputs.clear();
        self.pending_skips.clear();
        self.pending_duplicates = 0;
        self.pending_moves.clear();
        // Unlisted, and kept long enough for the readers that listed them (or never listed).
        for rel in remove {
            let path = self.dir.join(&rel);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(StoreError::Io { path, source }),
            }
        }
        Ok(())
    }

    /// Whether this writer made the store (it was not one) and has committed nothing to it.
    pub fn is_new(&self) -> bool {
        self.created.is_some() && !self.committed
    }

    /// Whether this writer has committed anything (written a manifest listing it).
    pub fn has_committed(&self) -> bool {
        self.committed
    }

    /// Removes everything written since the last commit (strict mode's refusal, or a run that
    /// failed): every data file and temporary file of this run that no commit lists, and the
    /// manifest's temporary file. Every one is tried, whatever fails before it (what could not
    /// be removed is listed in [`Aborted::not_removed`]). When this writer made a new store and
    /// has committed nothing, what it created of the store is removed too (its empty manifest,
    /// `lock`, `data/`, and the directory itself if it did not exist): the directory is left
    /// as it was before. Nothing that was there before is removed.
    pub fn abort(mut self) -> Aborted {
        self.buffers.clear();
        self.buffered_bytes = 0;
        // Files open at the encoder are dropped (their temporary files with them); files still
        // encoding are removed with the rest: they end as this run's files.
        self.encoder.send(Work::DropOpen);
        let _ = self.wait_for_encoder();
        self.pending.clear();
        let mut out = Aborted::default();
        let listed = self.listed_paths();
        let mine = format!("part-{}-", self.run_id);
        match own_data_files(&self.dir) {
            Ok(files) => {
                for path in files {
                    let is_mine = path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.trim_start_matches('.').starts_with(&mine));
                    if !is_mine || listed.contains(&path) {
                        continue;
                    }
                    let bytes = std::fs::symlink_metadata(&path).map(|m| m.len()).unwrap_or(0);
                    match std::fs::remove_file(&path) {
                        Ok(()) => {
                            out.files += 1;
                            out.bytes += bytes;
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => out.not_removed.push(format!("{}: {e}", path.display())),
                    }
                }
            }
            Err(e) => out.not_removed.push(e.to_string()),
        }
        let tmp = self.dir.join(format!("{MANIFEST}.tmp"));
        match std::fs::remove_file(&tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => out.not_removed.push(format!("{}: {e}", tmp.display())),
        }
        // Empty hour directories this run made are left: harmless, and reused.
        if !self.committed
            && let Some(created) = self.created.take()
        {
            created.undo(&self.dir);
            out.new_store_undone = true;
            out.store_removed = !self.dir.exists();
        }
        out
    }

    /// Writes `m` as the manifest (aside, synced, renamed over the old one) with the next
    /// generation. With `check`, refused unless the manifest on disk is still the one this
    /// writer last read or wrote and `dir/lock` is still the file it locked: another writer
    /// (one that got past a deleted lock, or an older build) would otherwise have its commit
    /// overwritten and its events lost.
    fn write_manifest(&mut self, m: &mut Manifest, check: bool) -> Result<(), StoreError> {
        if check {
            self.lock.check(&self.dir)?;
            if disk_generation(&self.dir) != Some(self.manifest.generation) {
                return Err(StoreError::ConcurrentCommit(self.dir.clone()));
            }
        }
        m.generation = self.manifest.generation + 1;
        save_manifest(&self.dir, m)
    }
}

/// Writes `m` as the manifest of the store `dir`: aside, synced, renamed over the old one, and
/// the rename synced. A write that fails leaves the old manifest and nothing of the new one.
pub(crate) fn save_manifest(dir: &Path, m: &Manifest) -> Result<(), StoreError> {
    let path = dir.join(MANIFEST);
    let tmp = dir.join(format!("{MANIFEST}.tmp"));
    let text = serde_json::to_vec_pretty(m)
        .map_err(|e| StoreError::BadManifest { path: path.clone(), message: e.to_string() })?;
    let written = (|| {
        let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
        f.write_all(&text).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
        drop(f);
        std::fs::rename(&tmp, &path).map_err(io_err(&path))
    })();
    if let Err(e) = written {
        // Nothing of it is left (a half-written file would hold the space a full disk lacks).
        let _ = std::fs::remove_file(&tmp);
        return Err(e.plain(dir));
    }
    sync_dir(dir)
}

/// Whether `name` is a name this writer gives a data file (`part-….parquet`) or its temporary
/// file (`.part-….parquet.tmp`).
fn is_own_file_name(name: &str) -> bool {
    let name = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp")).unwrap_or(name);
    name.starts_with("part-") && name.ends_with(".parquet")
}

/// The files under `dir/data/hour=*/` named as this writer names its files, sorted.
pub(crate) fn own_data_files(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let data = dir.join("data");
    let hours = match std::fs::read_dir(&data) {
        Ok(e) => e,
        Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory) => {
            return Ok(Vec::new());
        }
        Err(source) => return Err(StoreError::Io { path: data, source }),
    };
    let mut found = Vec::new();
    for hour in hours {
        let hour = hour.map_err(io_err(&data))?;
        let is_hour = hour.file_name().to_str().is_some_and(|n| n.starts_with("hour="));
        if !is_hour || !hour.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let hour_dir = hour.path();
        for entry in std::fs::read_dir(&hour_dir).map_err(io_err(&hour_dir))? {
            let entry = entry.map_err(io_err(&hour_dir))?;
            let own = entry.file_name().to_str().is_some_and(is_own_file_name);
            if own && entry.file_type().is_ok_and(|t| t.is_file()) {
                found.push(entry.path());
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Whether a writer may make a new store of `dir`, which has no manifest: it does not exist,
/// or holds nothing but what a writer killed before its first commit leaves (the lock, the
/// manifest's temporary file, empty directories under `data/`). Refused when it holds data
/// files (a store that lost its manifest) or anything else.
fn check_new_store(dir: &Path) -> Result<(), StoreError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(StoreError::Io { path: dir.to_path_buf(), source }),
    };
    let data_files = own_data_files(dir)?.len();
    if data_files > 0 {
        return Err(StoreError::ManifestMissing { dir: dir.to_path_buf(), data_files });
    }
    let tmp = format!("{MANIFEST}.tmp");
    for entry in entries {
        let entry = entry.map_err(io_err(dir))?;
        let name = entry.file_name();
        let left_by_writer =
            name == "lock" || name == tmp.as_str() || (name == "data" && holds_no_file(&entry.path()));
        if !left_by_writer {
            return Err(StoreError::NotEmpty(dir.to_path_buf()));
        }
    }
    Ok(())
}

/// Whether `dir` is a directory with no file anywhere under it.
fn holds_no_file(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else { return false };
    entries
        .into_iter()
        .all(|e| e.is_ok_and(|e| e.file_type().is_ok_and(|t| t.is_dir()) && holds_no_file(&e.path())))
}

/// A buffer's key: its rows' hour and [`FileClass`].
type BufKey = (Option<i64>, FileClass);

/// Where one data file goes: hour `hour` of the store `dir`, named `file_name`.
struct FileSpec {
    dir: PathBuf,
    hour: String,
    file_name: String,
    row_group_rows: usize,
}

/// How data files are encoded: dictionaries and statistics only where they pay, zstd for the
/// long texts.
fn writer_properties(row_group_rows: usize) -> Result<WriterProperties, String> {
    let mut props = WriterProperties::builder()
        .set_compression(Compression::UNCOMPRESSED)
        .set_dictionary_enabled(true)
        .set_max_row_group_row_count(Some(row_group_rows));
    // Values (nearly) all distinct, the times, the UUIDs and the compressed texts: a dictionary would
    // only cost time before the writer gives up on it.
    for c in TIME_COLUMNS.iter().chain(&COMPRESSED_COLUMNS).chain(&UUID_COLUMNS) {
        props = props.set_column_dictionary_enabled(ColumnPath::from(*c), false);
    }
    // Statistics for the times and the status code only: text columns are in no useful order
    // within a file, so their minimum and maximum prune nothing, and computing them compared
    // every string written.
    props = props.set_statistics_enabled(EnabledStatistics::None);
    for c in TIME_COLUMNS.iter().chain(&[col::RESPONSE_CODE]) {
        props = props.set_column_statistics_enabled(ColumnPath::from(*c), EnabledStatistics::Page);
    }
    let zstd = Compression::ZSTD(ZstdLevel::try_new(1).map_err(|e| e.to_string())?);
    for c in COMPRESSED_COLUMNS {
        props = props.set_column_compression(ColumnPath::from(c), zstd);
    }
    Ok(props.build())
}

/// A data file being written: rows go in as they come, under a temporary name, and
/// [`OpenFile::finish`] syncs it and renames it into place. Dropped unfinished (a failure, an
/// aborted run), its temporary file is removed.
struct OpenFile {
    rel_dir: String,
    abs_dir: PathBuf,
    hour: String,
    file_name: String,
    tmp_path: PathBuf,
    writer: Option<ArrowWriter<File>>,
    counts: Counts,
    finished: bool,
}

impl OpenFile {
    fn create(spec: &FileSpec) -> Result<OpenFile, StoreError> {
        let rel_dir = format!("data/hour={}", spec.hour);
        let abs_dir = spec.dir.join(&rel_dir);
        std::fs::create_dir_all(&abs_dir).map_err(io_err(&abs_dir))?;
        let tmp_path = abs_dir.join(format!(".{}.tmp", spec.file_name));
        let file = File::create(&tmp_path).map_err(io_err(&tmp_path))?;
        let mut open = OpenFile {
            rel_dir,
            abs_dir,
            hour: spec.hour.clone(),
            file_name: spec.file_name.clone(),
            tmp_path,
            writer: None,
            counts: Counts::default(),
            finished: false,
        };
        let props = writer_properties(spec.row_group_rows).map_err(|e| open.error(&e))?;
        let writer =
            ArrowWriter::try_new(file, canonical_schema(), Some(props)).map_err(|e| open.error(&e))?;
        open.writer = Some(writer);
        Ok(open)
    }

    fn error(&self, e: &dyn std::fmt::Display) -> StoreError {
        StoreError::Parquet { path: self.tmp_path.clone(), message: e.to_string() }
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<(), StoreError> {
        let written = match self.writer.as_mut() {
            Some(w) => w.write(batch).map_err(|e| e.to_string()),
            None => Err("the file is closed".to_owned()),
        };
        written.map_err(|e| self.error(&e))?;
        self.counts.add(&counts_of(batch));
        Ok(())
    }

    fn finish(mut self) -> Result<DataFile, StoreError> {
        let writer = self.writer.take().ok_or_else(|| self.error(&"the file is closed"))?;
        let file = writer.into_inner().map_err(|e| self.error(&e))?;
        file.sync_all().map_err(io_err(&self.tmp_path))?;
        let bytes = file.metadata().map_err(io_err(&self.tmp_path))?.len();
        drop(file);
        let final_path = self.abs_dir.join(&self.file_name);
        std::fs::rename(&self.tmp_path, &final_path).map_err(io_err(&final_path))?;
        self.finished = true;
        sync_dir(&self.abs_dir)?;
        Ok(DataFile {
            path: format!("{}/{}", self.rel_dir, self.file_name),
            hour: std::mem::take(&mut self.hour),
            bytes,
            counts: std::mem::take(&mut self.counts),
        })
    }
}

impl Drop for OpenFile {
    fn drop(&mut self) {
        if !self.finished {
            self.writer = None;
            let _ = std::fs::remove_file(&self.tmp_path);
        }
    }
}

/// Writes `batches` (not empty) sorted by time as the Parquet file `spec` names: under a
/// temporary name, synced, then renamed into place.
fn encode_file(spec: &FileSpec, batches: &[RecordBatch]) -> Result<DataFile, StoreError> {
    let order = time_order(batches);
    let mut file = OpenFile::create(spec)?;
    match order {
        // Already in time order: written as they are, no copy.
        None => {
            for b in batches {
                file.write(b)?;
            }
        }
        // Sorted one row group at a time, so only one row group is ever copied.
        Some(order) => {
            let refs: Vec<&RecordBatch> = batches.iter().collect();
            for part in order.chunks(spec.row_group_rows.max(1)) {
                let sorted = interleave_record_batch(&refs, part).map_err(|e| file.error(&e))?;
                file.write(&sorted)?;
            }
        }
    }
    file.finish()
}

/// What the encoder thread is given to do.
enum Work {
    /// Rows for the file open under `key`, in time order; `open` names the file when these are
    /// its first rows.
    Rows { key: BufKey, open: Option<FileSpec>, batch: RecordBatch },
    /// The file open under `key` is complete: finished and reported.
    Finish(BufKey),
    /// Every open file is dropped, its temporary file removed (a run aborted); reported.
    DropOpen,
    /// A buffer's rows as one file, sorted by time if need be; reported.
    File(FileSpec, Vec<RecordBatch>),
}

/// The report of one piece of [`Work`] (all but `Rows` report).
struct Done {
    /// Whether it was a `Work::File`.
    file: bool,
    /// The file written, if the work wrote one.
    result: Result<Option<DataFile>, StoreError>,
}

/// The files the encoder has open, each with its rows so far (or why it failed: told when it
/// is finished).
#[derive(Default)]
struct OpenFiles(HashMap<BufKey, Result<OpenFile, StoreError>>);

impl OpenFiles {
    fn run(&mut self, work: Work) -> Option<Done> {
        match work {
            Work::Rows { key, open, batch } => {
                if let Some(spec) = open {
                    self.0.insert(key, OpenFile::create(&spec));
                }
                let written = match self.0.get_mut(&key) {
                    Some(Ok(f)) => f.write(&batch),
                    Some(Err(_)) => Ok(()),
                    None => Err(StoreError::Parquet {
                        path: PathBuf::new(),
                        message: "rows came for a file that is not open".to_owned(),
                    }),
                };
                if let Err(e) = written {
                    // Dropping the file removes its temporary file.
                    self.0.insert(key, Err(e));
                }
                None
            }
            Work::Finish(key) => {
                let result = match self.0.remove(&key) {
                    Some(Ok(f)) => f.finish().map(Some),
                    Some(Err(e)) => Err(e),
                    None => Ok(None),
                };
                Some(Done { file: false, result })
            }
            Work::DropOpen => {
                self.0.clear();
                Some(Done { file: false, result: Ok(None) })
            }
            Work::File(spec, batches) => {
                Some(Done { file: true, result: encode_file(&spec, &batches).map(Some) })
            }
        }
    }
}

/// Pieces of work the encoder's queue holds before the writer waits: rows queue only briefly,
/// so they are still in the cache when encoded.
const QUEUED_WORK: usize = 4;

/// Parquet encoding beside the writer. Rows in time order go to the encoder as they come and
/// are encoded at once into a file left open until its buffer is full: encoded while the
/// reader's memory is still warm, and that memory goes back to the reader, where holding a
/// whole file's rows until it was full kept the reader writing into fresh memory (a fifth of
/// ingest's CPU time; docs/performance.md, session 55). Rows out of order are buffered, sorted
/// and encoded as one file (`Work::File`); at most one such file is encoded while the next
/// fills.
struct Encoder {
    work: Option<SyncSender<Work>>,
    done: Receiver<Done>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Without a thread (spawn refused), work is done on the caller's: its open files, and the
    /// reports not yet taken.
    inline: OpenFiles,
    ready: Vec<Done>,
    /// Work handed over that reports and has not yet.
    outstanding: usize,
    /// Of those, whole files (`Work::File`).
    files: usize,
}

impl Encoder {
    fn new() -> Encoder {
        let (work_tx, work_rx) = sync_channel::<Work>(QUEUED_WORK);
        let (done_tx, done_rx) = channel();
        let thread = std::thread::Builder::new()
            .name("store-encoder".to_owned())
            .spawn(move || {
                let mut open = OpenFiles::default();
                for work in work_rx {
                    if let Some(d) = open.run(work)
                        && done_tx.send(d).is_err()
                    {
                        break;
                    }
                }
                // Files still open when the writer goes are dropped here: their temporary
                // files are removed.
            })
            .ok();
        let work = thread.is_some().then_some(work_tx);
        Encoder {
            work,
            done: done_rx,
            thread,
            inline: OpenFiles::default(),
            ready: Vec::new(),
            outstanding: 0,
            files: 0,
        }
    }

    /// Hands `work` over, waiting only while the queue is full.
    fn send(&mut self, work: Work) {
        let reports = !matches!(work, Work::Rows { .. });
        let file = matches!(work, Work::File(..));
        let left = match &self.work {
            Some(tx) => tx.send(work).err().map(|e| e.0),
            None => Some(work),
        };
        match left {
            None if reports => {
                self.outstanding += 1;
                self.files += usize::from(file);
            }
            None => {}
            Some(work) => self.ready.extend(self.inline.run(work)),
        }
    }

    fn received(&mut self, d: Done) -> Done {
        self.outstanding -= 1;
        self.files -= usize::from(d.file);
        d
    }

    /// Hands over a buffer's rows as one file, waiting while the previous such file encodes.
    fn submit(&mut self, job: EncodeJob) -> Vec<Done> {
        let mut done = self.wait(|e| e.files == 0);
        self.send(Work::File(job.spec, job.batches));
        done.extend(self.finished());
        done
    }

    /// Hands `job` over if no other file waits to be encoded; gives it back otherwise (or when
    /// there is no encoder thread), for the caller to encode.
    fn try_submit(&mut self, job: EncodeJob) -> Result<Vec<Done>, EncodeJob> {
        if self.work.is_none() || self.files > 0 {
            return Err(job);
        }
        self.send(Work::File(job.spec, job.batches));
        Ok(self.finished())
    }

    /// Reports ready now.
    fn finished(&mut self) -> Vec<Done> {
        let mut out = std::mem::take(&mut self.ready);
        while self.outstanding > 0 {
            match self.done.try_recv() {
                Ok(d) => out.push(self.received(d)),
                Err(_) => break,
            }
        }
        out
    }

    /// Waits for reports until `enough` holds or none is outstanding.
    fn wait(&mut self, enough: impl Fn(&Encoder) -> bool) -> Vec<Done> {
        let mut out = std::mem::take(&mut self.ready);
        while self.outstanding > 0 && !enough(self) {
            match self.done.recv() {
                Ok(d) => out.push(self.received(d)),
                Err(_) => {
                    self.outstanding = 0;
                    self.files = 0;
                    out.push(Done {
                        file: false,
                        result: Err(StoreError::Parquet {
                            path: PathBuf::new(),
                            message: "the Parquet encoder thread stopped".to_owned(),
                        }),
                    });
                }
            }
        }
        out
    }

    /// Waits for every report of the work handed over.
    fn wait_all(&mut self) -> Vec<Done> {
        self.wait(|_| false)
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        // Ends the thread once its current work is done; files a dropped writer did not
        // commit are orphans the next writer removes.
        self.work = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A buffer's rows to encode as one file.
struct EncodeJob {
    spec: FileSpec,
    batches: Vec<RecordBatch>,
}

impl EncodeJob {
    fn run(self) -> Result<DataFile, StoreError> {
        encode_file(&self.spec, &self.batches)
    }
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    // Makes the rename durable; directories cannot be opened for sync everywhere.
    if let Ok(d) = File::open(dir) {
        d.sync_all().map_err(io_err(dir))?;
    }
    Ok(())
}

fn ts_col<'a>(batch: &'a RecordBatch, name: &str) -> Option<&'a TimestampNanosecondArray> {
    batch.column_by_name(name).and_then(|c| c.as_primitive_opt::<TimestampNanosecondType>())
}

/// The time a row is filed under: `stageTimestamp`, else `requestReceivedTimestamp`, else
/// `TimeGenerated`.
fn row_time(batch: &RecordBatch) -> Vec<Option<i64>> {
    let cols: Vec<&TimestampNanosecondArray> =
        [col::STAGE_TIMESTAMP, col::REQUEST_RECEIVED_TIMESTAMP, col::TIME_GENERATED]
            .iter()
            .filter_map(|n| ts_col(batch, n))
            .collect();
    (0..batch.num_rows()).map(|i| cols.iter().find(|c| c.is_valid(i)).map(|c| c.value(i))).collect()
}

/// The bytes of a batch's values, without the spare capacity of its buffers: what a file of
/// these rows holds before encoding. The reader hands on one batch per class of events per
/// chunk of input, and the batches of the rarer classes are small: counted with their spare
/// capacity they looked up to several times their size, and filled the buffer budget (hence
/// smaller files, more of them) long before their rows did.
fn data_bytes(batch: &RecordBatch) -> usize {
    batch
        .columns()
        .iter()
        .map(|c| {
            let data = c.to_data();
            data.get_slice_memory_size().unwrap_or_else(|_| c.get_array_memory_size())
        })
        .sum()
}

/// `batch` copied into buffers of its own size (no spare capacity, nothing shared).
fn tight_copy(batch: &RecordBatch) -> Result<RecordBatch, String> {
    let n = u32::try_from(batch.num_rows()).map_err(|e| e.to_string())?;
    take_record_batch(batch, &UInt32Array::from_iter_values(0..n)).map_err(|e| e.to_string())
}

/// Which rows a data file holds besides their hour: the events of a request's first stages
/// (`RequestReceived`, `ResponseStarted`), watches, lists, creates and deletes, and all other
/// requests go to files of their own. Nearly every check reads completed requests only, and
/// many leave out watches or read only lists, or only creates and deletes: the engine then
/// reads only the files that can hold such rows (from the stages and verbs the manifest counts
/// per file) and needs no filter on the stage or verb (crates/engine/src/files.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileClass {
    /// `RequestReceived` and `ResponseStarted` events.
    FirstStages = 0,
    /// Completed watches.
    Watch,
    /// Completed lists.
    List,
    /// Completed `create`, `delete` and `deletecollection` requests: what object churn reads.
    CreateDelete,
    /// Every other event.
    Other,
}

impl FileClass {
    /// Every class, in the order of their numbers.
    pub const ALL: [FileClass; 5] = [
        FileClass::FirstStages,
        FileClass::Watch,
        FileClass::List,
        FileClass::CreateDelete,
        FileClass::Other,
    ];

    /// The class of a row of this stage and verb.
    pub fn of_row(stage: Option<&str>, verb: Option<&str>) -> FileClass {
        match (stage, verb) {
            (Some("RequestReceived" | "ResponseStarted"), _) => FileClass::FirstStages,
            (_, Some("watch")) => FileClass::Watch,
            (_, Some("list")) => FileClass::List,
            (_, Some("create" | "delete" | "deletecollection")) => FileClass::CreateDelete,
            _ => FileClass::Other,
        }
    }

    /// The class every row of a file with these counts is in; `None` when its rows are of
    /// several classes (files written before classes existed).
    pub fn of(counts: &Counts) -> Option<FileClass> {
        let first = |s: &str| FileClass::of_row(Some(s), None) == FileClass::FirstStages;
        if counts.stages.keys().all(|s| first(s)) {
            return Some(FileClass::FirstStages);
        }
        if counts.stages.keys().any(|s| first(s)) {
            return None;
        }
        let mut classes = counts.verbs.keys().map(|v| {
            let verb = (v != super::NONE_KEY).then_some(v.as_str());
            FileClass::of_row(None, verb)
        });
        let class = classes.next().unwrap_or(FileClass::Other);
        classes.all(|c| c == class).then_some(class)
    }
}

/// The [`FileClass`] of each row.
fn row_classes(batch: &RecordBatch) -> Vec<FileClass> {
    let stage = str_col(batch, col::STAGE);
    let verb = str_col(batch, col::VERB);
    fn text(c: Option<&StringArray>, i: usize) -> Option<&str> {
        c.filter(|c| c.is_valid(i)).map(|c| c.value(i))
    }
    (0..batch.num_rows()).map(|i| FileClass::of_row(text(stage, i), text(verb, i))).collect()
}

fn str_col<'a>(batch: &'a RecordBatch, name: &str) -> Option<&'a StringArray> {
    batch.column_by_name(name).and_then(|c| c.as_string_opt::<i32>())
}

/// The three timestamps.
const TIME_COLUMNS: [&str; 3] = [col::REQUEST_RECEIVED_TIMESTAMP, col::STAGE_TIMESTAMP, col::TIME_GENERATED];

/// The columns compressed (zstd). The others are stored uncompressed: they are dictionary
/// indexes, timestamps and short names that compress little and that every diagnosis reads
/// in full, where decompressing them took a tenth of its time. These are long, nearly unique
/// texts that checks read rarely; compressed, they shrink seven- to twelvefold.
const COMPRESSED_COLUMNS: [&str; 4] =
    [col::REQUEST_URI, col::OBJECT_RESOURCE_VERSION, col::REQUEST_OBJECT, col::RESPONSE_OBJECT];

/// The UUIDs: all distinct, so without a dictionary, and stored plain. Random hex digits
/// shrink only twofold under zstd (to the four bits each holds), and compressing them took
/// a tenth of ingest's time: 0.1 s of 1.3 s on the 1.1 GB benchmark (docs/performance.md,
/// session 56), for 25 MB of store.
const UUID_COLUMNS: [&str; 2] = [col::AUDIT_ID, col::OBJECT_UID];

/// The columns hashed for a row without an `auditID`. Those from the verb to the object's
/// subresource (`[2..10]`) also key a row with an ID but no stage time ([`row_keys`]).
const FALLBACK_KEY_COLUMNS: [&str; 14] = [
    col::STAGE,
    col::LEVEL,
    col::VERB,
    col::REQUEST_URI,
    col::USER_USERNAME,
    col::USER_AGENT,
    col::OBJECT_RESOURCE,
    col::OBJECT_NAMESPACE,
    col::OBJECT_NAME,
    col::OBJECT_SUBRESOURCE,
    col::RESPONSE_STATUS,
    col::RESPONSE_MESSAGE,
    col::SOURCE_FORMAT,
    col::AZURE_CATEGORY,
];

/// Columns read back from Parquet to rebuild dedupe keys.
fn key_columns() -> Vec<&'static str> {
    let mut v = vec![
        col::AUDIT_ID,
        col::REQUEST_RECEIVED_TIMESTAMP,
        col::STAGE_TIMESTAMP,
        col::TIME_GENERATED,
        col::RESPONSE_CODE,
        col::SOURCE_IPS,
        col::ANNOTATIONS,
    ];
    v.extend(FALLBACK_KEY_COLUMNS);
    v
}

fn push_opt_str(buf: &mut Vec<u8>, v: Option<&str>) {
    match v {
        Some(s) => {
            buf.push(1);
            buf.extend_from_slice(&(s.len() as u64).to_le_bytes());
            buf.extend_from_slice(s.as_bytes());
        }
        None => buf.push(0),
    }
}

fn push_opt_i64(buf: &mut Vec<u8>, v: Option<i64>) {
    match v {
        Some(x) => {
            buf.push(1);
            buf.extend_from_slice(&x.to_le_bytes());
        }
        None => buf.push(0),
    }
}

fn get_s(a: Option<&StringArray>, i: usize) -> Option<&str> {
    a.filter(|a| a.is_valid(i)).map(|a| a.value(i))
}

fn get_t(a: Option<&TimestampNanosecondArray>, i: usize) -> Option<i64> {
    a.filter(|a| a.is_valid(i)).map(|a| a.value(i))
}

/// The dedupe key of every row (see the module docs). An event with an audit ID and a stage
/// time is keyed by those, its stage, verb and response code; one with an ID and no stage time by the ID, stage,
/// request time, verb, URI, user and response code (test and exported data reuse IDs such as
/// `abc-123` across different events); one without an ID by all its fields, source IPs and
/// annotations among them.
pub fn row_keys(batch: &RecordBatch) -> Vec<u64> {
    let audit = str_col(batch, col::AUDIT_ID);
    let stage = str_col(batch, col::STAGE);
    let st = ts_col(batch, col::STAGE_TIMESTAMP);
    let rr = ts_col(batch, col::REQUEST_RECEIVED_TIMESTAMP);
    let tg = ts_col(batch, col::TIME_GENERATED);
    let code = batch.column_by_name(col::RESPONSE_CODE).and_then(|c| c.as_any().downcast_ref::<Int32Array>());
    let verb = str_col(batch, col::VERB);
    let fallback: Vec<Option<&StringArray>> =
        FALLBACK_KEY_COLUMNS.iter().map(|n| str_col(batch, n)).collect();
    // What the request was, read the same from every format, for an audit ID without a stage
    // time (see below): verb, URI, user, user agent and the object's four fields.
    let request = fallback.get(2..10).unwrap_or_default();
    let ips = batch.column_by_name(col::SOURCE_IPS).and_then(|c| c.as_list_opt::<i32>());
    let annotations = batch.column_by_name(col::ANNOTATIONS).and_then(|c| c.as_map_opt());
    let mut buf = Vec::with_capacity(256);
    (0..batch.num_rows())
        .map(|i| {
            buf.clear();
            match (get_s(audit, i), get_t(st, i)) {
                (Some(id), Some(stage_time)) => {
                    buf.push(b'A');
                    push_opt_str(&mut buf, Some(id));
                    push_opt_str(&mut buf, get_s(stage, i));
                    // Whole seconds: the Azure portal's CSV export writes milliseconds, and its
                    // rows must meet the full-precision copies of the same events.
                    push_opt_i64(&mut buf, Some(stage_time.div_euclid(1_000_000_000)));
                    // The verb and the response code, which every format carries alike: two
                    // different requests under one audit ID (a client's `Audit-ID` header, two
                    // clusters of one workspace) in one second were one key, and the second was
                    // dropped as a duplicate (ingest review 50, item 3). Without a stage (a
                    // converted log that dropped it), the code also tells a request's
                    // RequestReceived copy from its answer (review 48 of the audit checks, item 9).
                    push_opt_str(&mut buf, get_s(verb, i));
                    push_opt_i64(&mut buf, code.filter(|c| c.is_valid(i)).map(|c| i64::from(c.value(i))));
                }
                (Some(id), None) => {
                    // Test and exported data reuse IDs (`abc-123`) across different events
                    // without times: the ID with what the request was, read the same from every
                    // format (so an event exported twice still meets its copy).
                    buf.push(b'I');
                    push_opt_str(&mut buf, Some(id));
                    push_opt_str(&mut buf, get_s(stage, i));
                    push_opt_i64(&mut buf, get_t(rr, i).map(|n| n.div_euclid(1_000_000_000)));
                    // The client and the object too: Panther's rule tests create the pods
                    // `test-pod` (no user agent) and `test-privileged-pod` (kubectl) under one
                    // ID, and keyed by verb, URI and user alone the second was dropped.
                    for c in request {
                        push_opt_str(&mut buf, get_s(*c, i));
                    }
                    push_opt_i64(&mut buf, code.filter(|c| c.is_valid(i)).map(|c| i64::from(c.value(i))));
                }
                (None, _) => {
                    buf.push(b'R');
                    push_opt_i64(&mut buf, get_t(rr, i));
                    push_opt_i64(&mut buf, get_t(st, i));
                    push_opt_i64(&mut buf, get_t(tg, i));
                    push_opt_i64(&mut buf, code.filter(|c| c.is_valid(i)).map(|c| i64::from(c.value(i))));
                    for a in &fallback {
                        push_opt_str(&mut buf, get_s(*a, i));
                    }
                    push_list(&mut buf, ips, i);
                    push_map(&mut buf, annotations, i);
                }
            }
            xxhash_rust::xxh3::xxh3_64(&buf)
        })
        .collect()
}

/// A list of texts into a key: its length, then each item (null and empty lists alike).
fn push_list(buf: &mut Vec<u8>, list: Option<&arrow::array::ListArray>, i: usize) {
    let items = list.filter(|l| l.is_valid(i)).map(|l| l.value(i));
    let texts = items.as_ref().and_then(|v| v.as_string_opt::<i32>());
    let n = texts.map_or(0, |t| t.len());
    buf.extend_from_slice(&(n as u64).to_le_bytes());
    if let Some(t) = texts {
        for j in 0..t.len() {
            push_opt_str(buf, t.is_valid(j).then(|| t.value(j)));
        }
    }
}

/// A map of texts into a key: its length, then each key and value.
fn push_map(buf: &mut Vec<u8>, map: Option<&arrow::array::MapArray>, i: usize) {
    let Some(m) = map.filter(|m| m.is_valid(i)) else {
        buf.extend_from_slice(&0u64.to_le_bytes());
        return;
    };
    let offsets = m.value_offsets();
    let (Some(&start), Some(&end)) = (offsets.get(i), offsets.get(i + 1)) else { return };
    let (start, end) = (start.max(0) as usize, end.max(0) as usize);
    let keys = m.keys().as_string_opt::<i32>();
    let values = m.values().as_string_opt::<i32>();
    buf.extend_from_slice(&((end.saturating_sub(start)) as u64).to_le_bytes());
    for j in start..end {
        push_opt_str(buf, keys.filter(|k| k.is_valid(j)).map(|k| k.value(j)));
        push_opt_str(buf, values.filter(|v| v.is_valid(j)).map(|v| v.value(j)));
    }
}

/// Every row of a stored file, as canonical batches.
fn read_all(path: &Path) -> Result<Vec<RecordBatch>, StoreError> {
    let perr = |e: &dyn std::fmt::Display| StoreError::ReadParquet {
        path: path.to_path_buf(),
        message: super::parquet_message(e),
    };
    let file = File::open(path).map_err(|e| perr(&e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| perr(&e))?
        .with_batch_size(64 * 1024)
        .build()
        .map_err(|e| perr(&e))?;
    let schema = canonical_schema();
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| perr(&e))?;
        // The file's schema is ours; rebuilding under it checks so.
        out.push(RecordBatch::try_new(schema.clone(), batch.columns().to_vec()).map_err(|e| perr(&e))?);
    }
    Ok(out)
}

/// Rebuilds the dedupe keys of a stored file from the few columns they hash.
fn stored_keys(path: &Path) -> Result<Vec<u64>, StoreError> {
    // Nearly every event has an audit ID and a stage time, and is keyed by those and its stage
    // alone: the other key columns (annotations, source IPs, the URI…) are read only for a file
    // that holds another row. Reading them all took more than half the time an ingest into an
    // hour already stored spent loading its keys (docs/performance.md, session 24).
    let batches = read_columns(path, &ID_KEY_COLUMNS)?;
    let keyed_by_id = |b: &RecordBatch| {
        str_col(b, col::AUDIT_ID).is_some_and(|a| a.null_count() == 0)
            && ts_col(b, col::STAGE_TIMESTAMP).is_some_and(|t| t.null_count() == 0)
    };
    let batches = if batches.iter().all(keyed_by_id) { batches } else { read_columns(path, &key_columns())? };
    Ok(batches.iter().flat_map(row_keys).collect())
}

/// The columns that key a row with an audit ID and a stage time (see [`row_keys`]).
const ID_KEY_COLUMNS: [&str; 5] =
    [col::AUDIT_ID, col::STAGE, col::STAGE_TIMESTAMP, col::VERB, col::RESPONSE_CODE];

/// The named columns of a stored file (the others left unread), in batches.
fn read_columns(path: &Path, wanted: &[&str]) -> Result<Vec<RecordBatch>, StoreError> {
    let perr = |e: &dyn std::fmt::Display| StoreError::ReadParquet {
        path: path.to_path_buf(),
        message: super::parquet_message(e),
    };
    let file = File::open(path).map_err(|e| perr(&e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| perr(&e))?;
    let schema = builder.parquet_schema();
    let indices: Vec<usize> = (0..schema.num_columns())
        .filter(|&i| schema.column(i).path().parts().first().is_some_and(|p| wanted.contains(&p.as_str())))
        .collect();
    let mask = ProjectionMask::leaves(schema, indices);
    let reader = builder.with_projection(mask).with_batch_size(64 * 1024).build().map_err(|e| perr(&e))?;
    reader.map(|b| b.map_err(|e| perr(&e))).collect()
}

/// How far back in time a row may be from the latest row before it and still count as in
/// order. A log backend writes events as they reach their stage, so its files are in
/// `stageTimestamp` order up to the jitter of concurrent requests (milliseconds); such rows
/// are written as they come, which spares copying every column of the file to sort it (a
/// sixth of ingest's CPU time), and a row group's time range is at most this much wider than
/// sorted rows would give it.
pub const TIME_ORDER_SLACK_NS: i64 = 60 * 1_000_000_000;

/// The rows of `batches` in time order (rows without a time last, input order among equal
/// times) as (batch, row) pairs, or `None` when they are in that order already, up to
/// [`TIME_ORDER_SLACK_NS`].
fn time_order(batches: &[RecordBatch]) -> Option<Vec<(usize, usize)>> {
    let mut keyed: Vec<(i64, usize, usize)> = Vec::with_capacity(batches.iter().map(|b| b.num_rows()).sum());
    for (bi, b) in batches.iter().enumerate() {
        for (ri, t) in row_time(b).into_iter().enumerate() {
            keyed.push((t.unwrap_or(i64::MAX), bi, ri));
        }
    }
    if nearly_in_order(keyed.iter().map(|k| k.0)) {
        return None;
    }
    // Stable: equal times keep their input order.
    keyed.sort_by_key(|k| k.0);
    Some(keyed.into_iter().map(|(_, b, r)| (b, r)).collect())
}

/// How many rows hold each value of `a`, a column of few distinct values (formats, stages,
/// levels, verbs, categories): found by comparing with the values seen so far, the last one
/// first, which costs less than hashing every row (hashing was a twentieth of ingest). Past
/// [`LINEAR_COUNTS`] distinct values (odd input), the rest are hashed.
fn value_counts(a: &StringArray) -> Vec<(Option<&str>, u64)> {
    // A column with no value at all (a native log's Azure category): no row to look at.
    if a.null_count() == a.len() {
        return if a.is_empty() { Vec::new() } else { vec![(None, a.len() as u64)] };
    }
    let mut counts: Vec<(Option<&str>, u64)> = Vec::new();
    let mut last = 0;
    for i in 0..a.len() {
        let v = a.is_valid(i).then(|| a.value(i));
        if let Some(c) = counts.get_mut(last).filter(|c| c.0 == v) {
            c.1 += 1;
            continue;
        }
        if let Some(p) = counts.iter().position(|c| c.0 == v) {
            counts[p].1 += 1;
            last = p;
        } else if counts.len() < LINEAR_COUNTS {
            last = counts.len();
            counts.push((v, 1));
        } else {
            let mut rest: HashMap<Option<&str>, u64> = HashMap::new();
            for j in i..a.len() {
                *rest.entry(a.is_valid(j).then(|| a.value(j))).or_default() += 1;
            }
            for (v, n) in rest {
                match counts.iter_mut().find(|c| c.0 == v) {
                    Some(c) => c.1 += n,
                    None => counts.push((v, n)),
                }
            }
            break;
        }
    }
    counts
}

/// Distinct values [`value_counts`] compares one by one.
const LINEAR_COUNTS: usize = 32;

/// Whether no time is more than [`TIME_ORDER_SLACK_NS`] before the latest one ahead of it
/// (`i64::MAX`, a row without a time, must come after every timed row).
fn nearly_in_order(times: impl Iterator<Item = i64>) -> bool {
    ordered_after(i64::MIN, times).is_some()
}

/// The latest of `latest` and `times` when `times` are in order after `latest` as
/// [`nearly_in_order`] means it; `None` when they are not.
fn ordered_after(mut latest: i64, times: impl Iterator<Item = i64>) -> Option<i64> {
    for t in times {
        if t < latest && (latest == i64::MAX || latest.saturating_sub(t) > TIME_ORDER_SLACK_NS) {
            return None;
        }
        latest = latest.max(t);
    }
    Some(latest)
}

/// The ranges of the event time (`TimeGenerated`: `time_generated`, else `stage_timestamp`,
/// as the engine's tables define it) and of `request_received_timestamp` over a batch's rows.
pub fn time_ranges_of(batch: &RecordBatch) -> (TimeRange, TimeRange) {
    let value =
        |a: Option<&TimestampNanosecondArray>, i: usize| a.filter(|a| a.is_valid(i)).map(|a| a.value(i));
    let generated = ts_col(batch, col::TIME_GENERATED);
    let stage = ts_col(batch, col::STAGE_TIMESTAMP);
    let received = ts_col(batch, col::REQUEST_RECEIVED_TIMESTAMP);
    let (mut e, mut r) = (TimeRange::default(), TimeRange::default());
    for i in 0..batch.num_rows() {
        e.count(value(generated, i).or(value(stage, i)));
        r.count(value(received, i));
    }
    (e, r)
}

/// [`time_ranges_of`] a stored file, reading its three time columns only.
pub(crate) fn time_ranges_of_file(path: &Path) -> Result<(TimeRange, TimeRange), StoreError> {
    let (mut e, mut r) = (TimeRange::default(), TimeRange::default());
    for batch in read_columns(path, &TIME_COLUMNS)? {
        let (be, br) = time_ranges_of(&batch);
        e = e.plus(&be);
        r = r.plus(&br);
    }
    Ok((e, r))
}

/// Adds the rows of `batch` per Azure category into `into` (rows of no category are not
/// counted). A batch of a native log has no category at all: answered from the null count,
/// without a look at its rows.
pub fn count_categories(batch: &RecordBatch, into: &mut BTreeMap<String, u64>) {
    let Some(a) = str_col(batch, col::AZURE_CATEGORY) else { return };
    if a.null_count() == a.len() {
        return;
    }
    for (k, n) in value_counts(a) {
        if let Some(k) = k {
            *into.entry(k.to_owned()).or_default() += n;
        }
    }
}

/// The annotation keys of `batch` that hold `failed-open.` (see [`Counts::failed_open_keys`]):
/// one search of the keys' bytes, end to end, so a key that merely contains the text counts
/// too (and, in theory, text that spans two keys): never fewer than there are.
fn failed_open_keys(batch: &RecordBatch) -> u64 {
    let Some(map) = batch.column_by_name(col::ANNOTATIONS).and_then(|c| c.as_map_opt()) else { return 0 };
    let Some(keys) = map.keys().as_string_opt::<i32>() else { return 0 };
    // Only the entries this batch's rows reach (a sliced batch shares larger arrays), and only
    // their bytes.
    let rows = map.value_offsets();
    let (Some(&from), Some(&to)) = (rows.first(), rows.last()) else { return 0 };
    let offsets = keys.value_offsets();
    let (Some(&first), Some(&last)) = (offsets.get(from as usize), offsets.get(to as usize)) else {
        return 0;
    };
    let bytes = keys.value_data().get(first as usize..last as usize).unwrap_or_default();
    memchr::memmem::find_iter(bytes, b"failed-open.").count() as u64
}

/// Per-value row counts of the columns `stats` shows.
pub fn counts_of(batch: &RecordBatch) -> Counts {
    let (event_time, received_time) = time_ranges_of(batch);
    let mut c = Counts {
        events: batch.num_rows() as u64,
        event_time: Some(event_time),
        received_time: Some(received_time),
        ..Counts::default()
    };
    let rr = ts_col(batch, col::REQUEST_RECEIVED_TIMESTAMP);
    let st = ts_col(batch, col::STAGE_TIMESTAMP);
    for i in 0..batch.num_rows() {
        let a = rr.filter(|a| a.is_valid(i)).map(|a| a.value(i));
        let b = st.filter(|a| a.is_valid(i)).map(|a| a.value(i));
        if a.is_none() && b.is_none() {
            c.without_timestamps += 1;
        }
        for t in [a, b].into_iter().flatten() {
            c.min_time = Some(c.min_time.map_or(t, |m| m.min(t)));
            c.max_time = Some(c.max_time.map_or(t, |m| m.max(t)));
        }
    }
    c.failed_open_keys = Some(failed_open_keys(batch));
    for (name, target) in [
        (col::SOURCE_FORMAT, &mut c.formats),
        (col::STAGE, &mut c.stages),
        (col::LEVEL, &mut c.levels),
        (col::VERB, &mut c.verbs),
        (col::AZURE_CATEGORY, &mut c.categories),
    ] {
        let Some(a) = str_col(batch, name) else { continue };
        for (k, n) in value_counts(a) {
            // Native logs have no Azure category: not worth a "(none)" line in stats.
            if k.is_none() && name == col::AZURE_CATEGORY {
                continue;
            }
            *target.entry(k.unwrap_or(super::NONE_KEY).to_owned()).or_default() += n;
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression review s20 N4: the lock file keeps the last writer's ID; with an older
    /// apiserver-doctor holding the lock, the refusal named a process that had exited.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_lock_file_naming_a_process_that_no_longer_runs_names_no_holder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lock = dir.path().join("lock");
        std::fs::write(&lock, "pid 4194399\ncommand apiserver-doctor ingest x\n").expect("write");
        assert_eq!(lock_holder(&lock), None);
        std::fs::write(&lock, format!("pid {}\ncommand apiserver-doctor ingest x\n", std::process::id()))
            .expect("write");
        assert_eq!(
            lock_holder(&lock),
            Some(format!("process {}: apiserver-doctor ingest x", std::process::id()))
        );
    }

    /// CI run of stop 28: of four ingests started at once into a new store, one was refused as
    /// held by "a process that has not recorded its ID". A lock the kernel shows no one holding,
    /// or a lock file since removed, is free: the refused writer tries again rather than give up.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_store_whose_lock_no_one_holds_or_whose_lock_file_is_gone_is_free_to_take() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(matches!(store_lock_holder(dir.path()), Holder::Nobody));
        std::fs::write(dir.path().join("lock"), "pid 4194399\n").expect("write");
        assert!(matches!(store_lock_holder(dir.path()), Holder::Nobody));
        let held = StoreLock::take(dir.path()).expect("take");
        match store_lock_holder(dir.path()) {
            Holder::Named(h) => assert!(h.starts_with(&format!("process {}:", std::process::id())), "{h}"),
            Holder::Nobody | Holder::Unknown => panic!("a held lock named no holder"),
        }
        drop(held);
        assert!(matches!(store_lock_holder(dir.path()), Holder::Nobody));
    }

    /// Session 56: zstd on the audit IDs took a tenth of ingest for a twofold gain (random hex
    /// digits). The UUIDs are stored plain and without a dictionary; the long texts that do
    /// compress (the URI, twelvefold) stay compressed, and the names keep their dictionaries.
    #[test]
    fn the_uuids_are_stored_plain_and_the_long_texts_compressed() {
        let props = writer_properties(1024).expect("properties");
        let path = |c: &str| ColumnPath::from(c);
        for c in [col::AUDIT_ID, col::OBJECT_UID] {
            assert_eq!(props.compression(&path(c)), Compression::UNCOMPRESSED, "{c}");
            assert!(!props.dictionary_enabled(&path(c)), "{c}");
        }
        for c in [col::REQUEST_URI, col::OBJECT_RESOURCE_VERSION, col::REQUEST_OBJECT, col::RESPONSE_OBJECT] {
            assert!(matches!(props.compression(&path(c)), Compression::ZSTD(_)), "{c}");
            assert!(!props.dictionary_enabled(&path(c)), "{c}");
        }
        for c in [col::VERB, col::USER_AGENT, col::USER_USERNAME, col::OBJECT_RESOURCE] {
            assert_eq!(props.compression(&path(c)), Compression::UNCOMPRESSED, "{c}");
            assert!(props.dictionary_enabled(&path(c)), "{c}");
        }
    }

    #[test]
    fn nearly_in_order_allows_the_slack_and_no_more() {
        let s = TIME_ORDER_SLACK_NS;
        assert!(nearly_in_order([0, 10, 5, 20].into_iter()));
        assert!(nearly_in_order([s, 0, s + 1].into_iter()), "exactly the slack back is in order");
        assert!(!nearly_in_order([s + 1, 0].into_iter()));
        assert!(nearly_in_order([0, 1, i64::MAX, i64::MAX].into_iter()), "untimed rows last");
        assert!(!nearly_in_order([0, i64::MAX, 1].into_iter()), "a timed row after an untimed one");
    }

    #[test]
    fn nearly_in_order_does_not_overflow_on_times_centuries_apart() {
        // The ends of what nanoseconds since 1970 hold (years 1677 and 2262), out of order.
        assert!(!nearly_in_order([i64::MAX - 1, i64::MIN].into_iter()));
        assert!(nearly_in_order([i64::MIN, i64::MAX - 1].into_iter()));
    }
}
