//! Raw audit files given to `diagnose` are ingested into a store kept in the user's cache
//! directory, keyed by the files (path, size, modification time), so diagnosing the same files
//! again skips straight to the checks.
//!
//! Runs share the cache. Each store has a lock file beside it (`stores/KEY.lock`): a run holds
//! it shared while it reads the store (until the process exits), and exclusive while it
//! ingests the store or evicts it. So a run waits for another that is reading the same files,
//! and eviction leaves alone every store another run is filling or reading.

use std::collections::hash_map::DefaultHasher;
use std::fs::{File, OpenOptions, TryLockError};
use std::hash::{Hash, Hasher};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Instant, UNIX_EPOCH};

use anyhow::Context;
use audit::ingest::IngestOptions;
use audit::read::find_inputs;
use audit::store::IngestedInput;
use findings::InputSummary;

/// Stores kept in the cache; older ones are removed.
const KEEP_STORES: usize = 4;
/// Written once a store holds every input completely.
const COMPLETE: &str = "complete";

/// The cache directory: `$XDG_CACHE_HOME/apiserver-doctor`, else `~/.cache/apiserver-doctor`.
pub fn cache_root() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".cache"))
        })
        .unwrap_or_else(std::env::temp_dir);
    base.join("apiserver-doctor")
}

/// Ingests `paths` (or finds them already ingested) and returns the store and what was read.
///
/// Entries of the named directories that cannot be read are warned about on standard error
/// (as `ingest` does) and listed among the summaries as not read, after the inputs read.
pub fn ingest(paths: &[PathBuf]) -> anyhow::Result<(PathBuf, Vec<InputSummary>)> {
    let found = find_inputs(paths, &[])?;
    let not_read: Vec<InputSummary> = found.skipped.iter().map(not_read).collect();
    if !found.skipped.is_empty() {
        eprintln!(
            "warning: {} file{} not read (what follows leaves {} out):",
            found.skipped.len(),
            if found.skipped.len() == 1 { "" } else { "s" },
            if found.skipped.len() == 1 { "it" } else { "them" }
        );
        for f in &found.skipped {
            eprintln!("  {}: {}", f.file, f.not_audit.as_deref().unwrap_or_default());
        }
    }
    let (dir, mut summaries) = ingest_found(paths, found.files)?;
    summaries.extend(not_read);
    Ok((dir, summaries))
}

/// A directory entry that could not be read, as the report lists it.
fn not_read(f: &audit::read::FileSummary) -> InputSummary {
    InputSummary {
        kind: "audit".to_owned(),
        source: f.file.clone(),
        records: 0,
        skipped: 0,
        detected: Some(format!("not read: {}", f.not_audit.as_deref().unwrap_or("cannot be read"))),
    }
}

fn ingest_found(paths: &[PathBuf], inputs: Vec<PathBuf>) -> anyhow::Result<(PathBuf, Vec<InputSummary>)> {
    if inputs.iter().any(|p| p.as_os_str() == "-") {
        anyhow::bail!(
            "diagnose reads audit files, not stdin: `apiserver-doctor ingest -` then `apiserver-doctor diagnose --store DIR`"
        );
    }
    if inputs.is_empty() {
        anyhow::bail!(
            "no files under {}",
            paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        );
    }
    let mut hasher = DefaultHasher::new();
    let mut total_bytes = 0u64;
    for input in &inputs {
        let meta = std::fs::metadata(input).with_context(|| format!("{}", input.display()))?;
        let canonical = std::fs::canonicalize(input).unwrap_or_else(|_| input.clone());
        canonical.hash(&mut hasher);
        meta.len().hash(&mut hasher);
        meta.modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_nanos())
            .hash(&mut hasher);
        total_bytes += meta.len();
    }
    let root = cache_root().join("stores");
    std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    let key = format!("{:016x}", hasher.finish());
    let dir = root.join(&key);
    let lock_path = root.join(format!("{key}.lock"));
    loop {
        let lease = lock(&lock_path, Lock::Shared)?;
        if dir.join(COMPLETE).is_file() {
            let store = audit::store::Store::open(&dir)?;
            let summaries = store.manifest().inputs.iter().map(summary).collect();
            touch(&dir.join(COMPLETE));
            hold(lease);
            // Also here: stores other runs were using when they last evicted go now.
            evict(&root, &dir);
            return Ok((dir, summaries));
        }
        drop(lease);
        let writing = lock(&lock_path, Lock::Exclusive)?;
        // Another run may have completed it while this one waited.
        if !dir.join(COMPLETE).is_file() {
            // A store without the marker is an interrupted ingest: start over.
            if dir.exists() {
                std::fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
            }
            let tell = std::io::stderr().is_terminal();
            if tell {
                eprintln!(
                    "reading {} file{} ({:.1} MB) into {}",
                    inputs.len(),
                    if inputs.len() == 1 { "" } else { "s" },
                    total_bytes as f64 / 1e6,
                    dir.display()
                );
            }
            ingest_into(&inputs, &dir, tell)?;
            std::fs::write(dir.join(COMPLETE), b"").with_context(|| format!("{}", dir.display()))?;
        }
        // Taken shared on the next turn: the lock cannot be turned from exclusive to shared
        // atomically, and a store evicted in between is ingested again.
        drop(writing);
    }
}

/// How a store's lock file is held.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lock {
    /// While a run reads the store.
    Shared,
    /// While a run ingests or evicts it.
    Exclusive,
}

/// Locks held until the process exits: the stores this run reads.
static LEASES: Mutex<Vec<File>> = Mutex::new(Vec::new());

fn hold(lease: File) {
    LEASES.lock().unwrap_or_else(PoisonError::into_inner).push(lease);
}

/// Opens and locks `path`, waiting (and saying so once) while another run holds it the other
/// way. Retries when the file was removed by an eviction between opening and locking it: a
/// lock on a removed file guards nothing.
fn lock(path: &Path, how: Lock) -> anyhow::Result<File> {
    let mut said = false;
    loop {
        let file = open_lock(path).with_context(|| format!("opening the cache lock {}", path.display()))?;
        let tried = match how {
            Lock::Shared => file.try_lock_shared(),
            Lock::Exclusive => file.try_lock(),
        };
        match tried {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                if !said {
                    eprintln!(
                        "waiting for another apiserver-doctor run that is reading the same files into the cache ({})",
                        path.display()
                    );
                    said = true;
                }
                match how {
                    Lock::Shared => file.lock_shared(),
                    Lock::Exclusive => file.lock(),
                }
                .with_context(|| format!("locking {}", path.display()))?;
            }
            Err(TryLockError::Error(e)) => {
                return Err(anyhow::Error::new(e).context(format!("locking {}", path.display())));
            }
        }
        if same_file(&file, path) {
            return Ok(file);
        }
    }
}

/// A store's lock file, made when missing (it is never written: only locked).
fn open_lock(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).truncate(false).read(true).write(true).open(path)
}

/// Whether the open `file` is still the one at `path`.
#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Lock files are never removed where inodes cannot be compared.
#[cfg(not(unix))]
fn same_file(_: &File, _: &Path) -> bool {
    true
}

/// Ingests the audit files `inputs` into a new store at `dir` (what `apiserver-doctor ingest`
/// does), warning on standard error about skipped records and files that are not audit logs;
/// when `tell`, draws the progress bar while reading (on a terminal) and says how long it took.
pub fn ingest_into(inputs: &[PathBuf], dir: &Path, tell: bool) -> anyhow::Result<Vec<InputSummary>> {
    let started = Instant::now();
    let report = super::progress::ingest_with_bar(
        tell,
        || Some(super::progress::bytes_of(inputs)),
        IngestOptions::default(),
        |opts| audit::ingest::ingest(dir, inputs, opts),
    )?;
    for file in &report.files {
        for example in &file.examples {
            eprintln!("warning: skipped {example}");
        }
        if let Some(why) = file.why_not_audit() {
            eprintln!("warning: {}: not an audit log: {why}", file.file);
        }
        if let Some(cut) = &file.incomplete {
            eprintln!("warning: {}: {} (only partly read)", cut.file, cut.message);
        }
    }
    if tell {
        eprintln!(
            "read {} events in {:.1} s",
            report::format::thousands(report.events()),
            started.elapsed().as_secs_f64()
        );
    }
    // The store is new: the inputs its manifest lists are this run's.
    let store = audit::store::Store::open(dir)?;
    Ok(store.manifest().inputs.iter().map(summary).collect())
}

fn summary(input: &IngestedInput) -> InputSummary {
    InputSummary {
        kind: "audit".to_owned(),
        source: input.file.clone(),
        records: input.events,
        skipped: input.skipped,
        detected: match (&input.format, &input.not_audit, &input.incomplete) {
            (format, _, Some(cut)) => Some(format!(
                "{}only partly read: {}",
                format.as_ref().map(|f| format!("{f}, ")).unwrap_or_default(),
                cut.strip_prefix(&format!("{}: ", input.file)).unwrap_or(cut)
            )),
            (Some(format), _, None) => Some(format.clone()),
            (None, Some(_), None) => Some("not an audit log".to_owned()),
            (None, None, None) => None,
        },
    }
}

fn touch(marker: &Path) {
    // Its modification time orders stores for eviction; failing to update it only makes this
    // store a little more likely to be evicted.
    if let Ok(mut f) = std::fs::OpenOptions::new().append(true).open(marker) {
        let _ = f.write_all(b"");
        let _ = f.set_modified(std::time::SystemTime::now());
    }
}

/// Removes all but the most recently used stores (never `keep`, never one another run is
/// ingesting or reading: its lock is held).
fn evict(root: &Path, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else { return };
    let mut stores: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p != keep && p.is_dir())
        .map(|p| {
            let used = std::fs::metadata(p.join(COMPLETE)).and_then(|m| m.modified()).unwrap_or(UNIX_EPOCH);
            (used, p)
        })
        .collect();
    stores.sort();
    // Stores in use stay and count among those kept: the oldest idle ones go until few enough
    // are left.
    let mut left = stores.len();
    for (_, path) in stores {
        if left < KEEP_STORES {
            break;
        }
        let mut lock_path = path.clone().into_os_string();
        lock_path.push(".lock");
        let lock_path = PathBuf::from(lock_path);
        let Ok(lock) = open_lock(&lock_path) else { continue };
        // In use by another run: it stays. Best effort otherwise: a store that cannot be
        // removed only takes space.
        if lock.try_lock().is_err() || !same_file(&lock, &lock_path) {
            continue;
        }
        if std::fs::remove_dir_all(&path).is_ok() {
            left -= 1;
        }
        if cfg!(unix) {
            // Removed while held: a run that opened it meanwhile sees it is gone and retries.
            let _ = std::fs::remove_file(&lock_path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store last used `used` seconds after the epoch (`None`: no marker, being ingested).
    fn store(root: &Path, name: &str, used: Option<u64>) -> PathBuf {
        let dir = root.join(name);
        std::fs::create_dir_all(dir.join("data")).expect("store dir");
        if let Some(secs) = used {
            let marker = File::create(dir.join(COMPLETE)).expect("marker");
            marker.set_modified(UNIX_EPOCH + std::time::Duration::from_secs(secs)).expect("mtime");
        }
        dir
    }

    #[test]
    fn eviction_leaves_the_stores_other_runs_are_filling_or_reading() {
        let root = tempfile::tempdir().expect("tempdir");
        let root = root.path();
        // Oldest first: an ingest in progress (no marker yet), a store another run reads, and
        // four idle complete stores.
        let filling = store(root, "filling", None);
        let reading = store(root, "reading", Some(10));
        let _filling_lock = lock(&root.join("filling.lock"), Lock::Exclusive).expect("lock");
        let _reading_lock = lock(&root.join("reading.lock"), Lock::Shared).expect("lock");
        let idle: Vec<PathBuf> = (0..4).map(|i| store(root, &format!("idle{i}"), Some(20 + i))).collect();
        let keep = store(root, "new", Some(100));
        evict(root, &keep);
        assert!(filling.is_dir(), "a store being ingested was evicted");
        assert!(reading.is_dir(), "a store being read was evicted");
        assert!(keep.is_dir());
        // KEEP_STORES = 4 with `keep`: three others stay; the two in use count among them, so
        // only one idle store is left, the most recent.
        let left: Vec<&PathBuf> = idle.iter().filter(|p| p.is_dir()).collect();
        assert_eq!(left.len(), 1, "idle stores left: {left:?}");
        assert_eq!(left[0], &idle[3]);
        assert!(!root.join("idle0.lock").exists(), "an evicted store's lock file stays");
    }

    #[test]
    fn a_lock_taken_on_a_file_an_eviction_removed_is_taken_again_on_the_new_file() {
        let root = tempfile::tempdir().expect("tempdir");
        let path = root.path().join("k.lock");
        let first = lock(&path, Lock::Shared).expect("lock");
        std::fs::remove_file(&path).expect("remove");
        assert!(!same_file(&first, &path));
        let again = lock(&path, Lock::Exclusive).expect("lock again");
        assert!(same_file(&again, &path));
    }
}
