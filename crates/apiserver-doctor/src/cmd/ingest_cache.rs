//! Raw audit files given to `diagnose` are ingested into a store kept in the user's cache
//! directory, keyed by the files (path, size, modification time), so diagnosing the same files
//! again skips straight to the checks. A new set of files that holds all the files of a cached
//! store, unchanged or only grown, starts as a hard-linked copy of that store, and only the
//! other files (and those that grew) are read ([`Earlier`]).
//!
//! Runs share the cache. Each store has a lock file beside it (`stores/KEY.lock`): a run holds
//! it shared while it reads the store (until the process exits), and exclusive while it
//! ingests the store or evicts it. So a run waits for another that is reading the same files,
//! and eviction leaves alone every store another run is filling or reading.
//!
//! The cache is the tool's own derived data: a store found damaged is dropped and filled again,
//! a fill that fails is removed, and a cache that cannot be written at all is replaced, for
//! this run, by a private temporary store removed when the run ends.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeSet, HashMap};
use std::fs::{File, OpenOptions, TryLockError};
use std::hash::{Hash, Hasher};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Instant, UNIX_EPOCH};

use anyhow::Context;
use audit::ingest::IngestOptions;
use audit::read::find_inputs;
use audit::store::{FileCheck, IngestedInput, Manifest, Store, StoreError};
use findings::InputSummary;

/// Stores kept in the cache; older ones are removed.
const KEEP_STORES: usize = 4;
/// Written once a store holds every input completely.
const COMPLETE: &str = "complete";

/// Where the cache is, and how it was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheRoot {
    /// The cache directory (`…/apiserver-doctor`).
    pub dir: PathBuf,
    /// True for the per-user directory under the temporary directory (neither `HOME` nor an
    /// absolute `XDG_CACHE_HOME` is set): it must be the user's own and closed to others.
    pub in_temp: bool,
}

/// The cache directory: `$XDG_CACHE_HOME/apiserver-doctor` (an absolute `XDG_CACHE_HOME`: a
/// relative one is ignored, as the XDG spec says), else `~/.cache/apiserver-doctor`, else
/// `$TMPDIR/apiserver-doctor-UID` (one per user, mode 0700).
pub fn cache_root() -> CacheRoot {
    let absolute = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    if let Some(base) = std::env::var_os("XDG_CACHE_HOME").and_then(absolute) {
        return CacheRoot { dir: base.join("apiserver-doctor"), in_temp: false };
    }
    if let Some(home) = std::env::var_os("HOME").and_then(absolute) {
        return CacheRoot { dir: home.join(".cache").join("apiserver-doctor"), in_temp: false };
    }
    let name = match my_uid() {
        Some(uid) => format!("apiserver-doctor-{uid}"),
        None => "apiserver-doctor".to_owned(),
    };
    CacheRoot { dir: std::env::temp_dir().join(name), in_temp: true }
}

/// The user this process runs as.
#[cfg(unix)]
fn my_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    // Linux: /proc/self belongs to the process's effective user. Elsewhere: the owner of a
    // file this process creates.
    if let Ok(meta) = std::fs::metadata("/proc/self") {
        return Some(meta.uid());
    }
    let probe = std::env::temp_dir().join(format!(
        "apiserver-doctor-uid-{}-{}",
        std::process::id(),
        UNIX_EPOCH.elapsed().ok()?.as_nanos()
    ));
    let file = OpenOptions::new().write(true).create_new(true).open(&probe).ok()?;
    let uid = file.metadata().ok().map(|m| m.uid());
    let _ = std::fs::remove_file(&probe);
    uid
}

#[cfg(not(unix))]
fn my_uid() -> Option<u32> {
    None
}

/// Makes `dir` and its missing parents with mode 0700 (the XDG spec's mode for a cache
/// directory it creates; existing directories keep theirs).
fn make_private_dirs(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Makes the single directory `dir` with mode 0700; an error when it exists.
fn make_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// The cache's `stores` directory, made when missing. The per-user directory under the
/// temporary directory must be a directory (not a link) of this user, closed to others: made
/// with mode 0700, and refused when another user made it first.
fn stores_dir(root: &CacheRoot) -> anyhow::Result<PathBuf> {
    if root.in_temp {
        match make_private_dir(&root.dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => check_private(&root.dir)?,
            Err(e) => return Err(anyhow::Error::new(e).context(format!("creating {}", root.dir.display()))),
        }
    }
    let stores = root.dir.join("stores");
    make_private_dirs(&stores).with_context(|| format!("creating {}", stores.display()))?;
    Ok(stores)
}

/// An error unless `dir` is a directory (not a link) of this user that no one else can enter.
#[cfg(unix)]
fn check_private(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = std::fs::symlink_metadata(dir).with_context(|| format!("{}", dir.display()))?;
    if meta.file_type().is_symlink() {
        // Refused whatever it points to: another user could point it at a directory of theirs.
        let to = std::fs::read_link(dir).map(|t| format!(" (to {})", t.display())).unwrap_or_default();
        anyhow::bail!("{} is a symbolic link{to}, not a directory of this user's", dir.display());
    }
    if !meta.is_dir() {
        anyhow::bail!("{} is not a directory", dir.display());
    }
    if my_uid().is_none_or(|uid| uid != meta.uid()) {
        anyhow::bail!("{} belongs to another user (uid {})", dir.display(), meta.uid());
    }
    if meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("closing {} to other users", dir.display()))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path) -> anyhow::Result<()> {
    Ok(())
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

/// Why the cache could not serve a run.
enum CacheFailure {
    /// The cache cannot be created or written here (no home, read-only, not a directory, not
    /// this user's): the run reads into a temporary store instead.
    Unusable(anyhow::Error),
    /// Anything else (reading the inputs failed, the disk is full): the run's error. What the
    /// run wrote into the cache is removed.
    Failed(anyhow::Error),
}

fn unusable(e: impl Into<anyhow::Error>) -> CacheFailure {
    CacheFailure::Unusable(e.into())
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
    let key = format!("{:016x}", hasher.finish());
    let root = cache_root();
    let why = match stores_dir(&root)
        .map_err(unusable)
        .and_then(|stores| cached(&stores, &key, &inputs, total_bytes))
    {
        Ok(found) => return Ok(found),
        Err(CacheFailure::Failed(e)) => return Err(e),
        Err(CacheFailure::Unusable(e)) => e,
    };
    eprintln!(
        "note: the cache {} cannot be used ({}): reading the files into a private temporary store, removed \
         when this run ends (set XDG_CACHE_HOME to a writable directory to keep the cache for the next run)",
        root.dir.display(),
        super::message(&why)
    );
    temporary(&inputs, total_bytes, false)
}

/// The cached store of the inputs keyed `key` under `stores`, filled when missing, damaged or
/// left incomplete.
fn cached(
    stores: &Path,
    key: &str,
    inputs: &[PathBuf],
    total_bytes: u64,
) -> Result<(PathBuf, Vec<InputSummary>), CacheFailure> {
    let dir = stores.join(key);
    let lock_path = stores.join(format!("{key}.lock"));
    // Stores of any key that a run left incomplete (it failed, or was killed) go first: their
    // space may be what this run needs.
    remove_incomplete(stores, &dir);
    let mut filled = false;
    loop {
        let lease = lock(&lock_path, Lock::Shared).map_err(unusable)?;
        if dir.join(COMPLETE).is_file() {
            match open_whole(&dir) {
                Ok(store) => {
                    if !filled {
                        // What the run that filled it said on stderr, said again.
                        replay_warnings(store.manifest());
                    }
                    let summaries = summaries(store.manifest(), inputs);
                    touch(&dir.join(COMPLETE));
                    hold(lease);
                    // Also here: stores other runs were using when they last evicted go now.
                    evict(stores, &dir, KEEP_STORES);
                    return Ok((dir, summaries));
                }
                Err(why) if filled => {
                    return Err(CacheFailure::Failed(anyhow::anyhow!(
                        "the cache store {} this run just filled cannot be read: {why}",
                        dir.display()
                    )));
                }
                Err(why) => eprintln!(
                    "note: the cached copy of these files in {} is damaged ({why}): it is removed and the files \
                     are read again",
                    dir.display()
                ),
            }
        }
        drop(lease);
        let writing = lock(&lock_path, Lock::Exclusive).map_err(unusable)?;
        // Another run may have completed (or repaired) it while this one waited.
        if !dir.join(COMPLETE).is_file() || open_whole(&dir).is_err() {
            fill(stores, &dir, inputs, total_bytes)?;
            filled = true;
        }
        // Taken shared on the next turn: the lock cannot be turned from exclusive to shared
        // atomically, and a store evicted in between is ingested again.
        drop(writing);
    }
}

/// The store at `dir`, when its manifest reads and the data files it lists are there whole
/// (their sizes and Parquet tails); else what is wrong, in a few words.
fn open_whole(dir: &Path) -> Result<Store, String> {
    let store = Store::open(dir).map_err(|e| match e {
        StoreError::NotAStore(_) | StoreError::ManifestLost { .. } => {
            "its manifest.json is missing".to_owned()
        }
        StoreError::BadManifest { message, .. } => format!("its manifest.json cannot be read: {message}"),
        StoreError::Version { found, expected, .. } => {
            format!("written by another version (store schema {found}, this version reads {expected})")
        }
        other => other.to_string(),
    })?;
    let damaged = store.check_files(FileCheck::Tail);
    match damaged.first() {
        None => Ok(store),
        Some(first) => Err(format!(
            "{} of its {} data files cannot be read; {first}",
            damaged.len(),
            store.manifest().files.len()
        )),
    }
}

/// Reads `inputs` into a new store at `dir` and marks it complete; run under the store's
/// exclusive lock. A fill that fails removes what it wrote; one that runs out of space evicts
/// every idle store of the cache and tries once more.
fn fill(stores: &Path, dir: &Path, inputs: &[PathBuf], total_bytes: u64) -> Result<(), CacheFailure> {
    // A store without the marker is an interrupted ingest, one with it a damaged store: start over.
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .with_context(|| format!("clearing {}", dir.display()))
            .map_err(unusable)?;
    }
    // Found before eviction, whose lease keeps it: its events are not read again.
    let mut earlier = earlier_store(stores, dir, inputs);
    // Room for this store first: the stores left are the most recent others.
    evict(stores, dir, KEEP_STORES);
    let mut retried = false;
    loop {
        make_private_dir(dir).with_context(|| format!("creating {}", dir.display())).map_err(unusable)?;
        let reused = match earlier.take() {
            Some(e) => start_from(e, dir).map_err(unusable)?,
            None => None,
        };
        let tell = tell_reading(inputs, total_bytes, dir, reused.as_ref());
        if let Some(named) = &reused {
            // What the runs that read them said, said again, as a cache hit does.
            replay_warnings(&named.kept_manifest());
        }
        let done = ingest_into(inputs, dir, tell, false).and_then(|_| {
            std::fs::write(dir.join(COMPLETE), b"").with_context(|| format!("{}", dir.display()))
        });
        let Err(e) = done else { return Ok(()) };
        // Half a store is of no use to anyone, and may be what fills the disk.
        let _ = std::fs::remove_dir_all(dir);
        if !disk_full(&e) {
            return Err(CacheFailure::Failed(e));
        }
        if !retried && evict(stores, dir, 1) > 0 {
            retried = true;
            eprintln!("note: the cache ran out of space: older cached stores were removed; reading again");
            continue;
        }
        let cache = stores.parent().unwrap_or(stores);
        return Err(CacheFailure::Failed(e.context(format!(
            "the diagnose cache {} ran out of space reading {:.1} MB of files into it (what this run wrote there \
             was removed): free space on that disk, or set XDG_CACHE_HOME to a directory on a disk with room \
             (the cache is $XDG_CACHE_HOME/apiserver-doctor; deleting it is safe)",
            cache.display(),
            total_bytes as f64 / 1e6
        ))));
    }
}

/// A complete store of the cache that an earlier run filled from some of this run's inputs,
/// each unchanged since (the same file, size, modification time and first MiB) or only grown (a
/// log still being written, [`audit::ingest::grew_from`]). The new store starts as a copy of it,
/// and only the other inputs are read, with those that grew read again in full (the events
/// read before are dropped as duplicates): diagnosing a directory again after a new file
/// arrived (an export's next hour, a rotated log) reads the new file alone. A store holding any
/// input that is not among this run's, or that changed otherwise, is not used: its events would
/// stay in the new store.
struct Earlier {
    store: Store,
    /// Its lock held shared: no run evicts it while it is copied.
    lease: File,
    /// Its manifest as this run sees it.
    named: Named,
}

/// An earlier store's manifest, its inputs named as this run names them (a rotated log has a
/// new name).
struct Named {
    manifest: Manifest,
    /// The inputs that only grew since (as named now): read again in full.
    grown: BTreeSet<String>,
}

impl Named {
    /// The inputs taken over as they are: not read again.
    fn kept(&self) -> impl Iterator<Item = &IngestedInput> {
        self.manifest.inputs.iter().filter(|i| !self.grown.contains(&i.file))
    }

    fn kept_bytes(&self) -> u64 {
        self.kept().filter_map(|i| i.size).sum()
    }

    /// The manifest with only the inputs taken over, and their skipped records: what the runs
    /// that read them said, to say again (those read again say it themselves).
    fn kept_manifest(&self) -> Manifest {
        let mut m = self.manifest.clone();
        m.inputs.retain(|i| !self.grown.contains(&i.file));
        m.skipped.examples.retain(|e| file_of(&e.file, |f| self.grown.contains(f)).is_none());
        m
    }
}

/// The input a skipped record's file names (the file itself, or a tar archive's file,
/// `ARCHIVE!PATH`), when `is_input` holds for it: its name's end in `file`.
fn file_of(file: &str, is_input: impl Fn(&str) -> bool) -> Option<usize> {
    std::iter::once(file.len())
        .chain(file.match_indices('!').map(|(i, _)| i))
        .find(|&end| file.get(..end).is_some_and(&is_input))
}

/// The [`Earlier`] store that holds the most bytes of `inputs` unchanged, if any holds some;
/// never `dir` itself, and never one another run holds exclusively (it is being filled or
/// evicted: this run does not wait for it).
fn earlier_store(stores: &Path, dir: &Path, inputs: &[PathBuf]) -> Option<Earlier> {
    let mut now: Option<Now> = None;
    let mut best: Option<(u64, PathBuf)> = None;
    for path in std::fs::read_dir(stores).ok()?.flatten().map(|e| e.path()) {
        if path == dir || !path.join(COMPLETE).is_file() {
            continue;
        }
        let Ok(manifest) = Manifest::load(&path) else { continue };
        let now = now.get_or_insert_with(|| Now::of(inputs));
        let Some(named) = as_named_now(&manifest, now) else { continue };
        // A store of nothing but files that grew saves nothing: they are read again in full.
        let bytes = named.kept_bytes();
        if bytes > 0 && best.as_ref().is_none_or(|(b, _)| bytes > *b) {
            best = Some((bytes, path));
        }
    }
    let (_, path) = best?;
    let lease = try_lock_shared(&lock_path_of(&path))?;
    // Read again under the lock: it may have been evicted, or filled again, meanwhile.
    if !path.join(COMPLETE).is_file() {
        return None;
    }
    let store = open_whole(&path).ok()?;
    let named = as_named_now(store.manifest(), now.as_ref()?)?;
    Some(Earlier { store, lease, named })
}

/// The inputs of this run as they are now, found by file identity.
struct Now {
    paths: Vec<PathBuf>,
    inputs: Vec<IngestedInput>,
    /// Index into `inputs` by device and inode.
    by_inode: HashMap<(u64, u64), Vec<usize>>,
}

impl Now {
    fn of(paths: &[PathBuf]) -> Now {
        let inputs: Vec<IngestedInput> = paths.iter().map(|p| audit::ingest::identify(p)).collect();
        let mut by_inode: HashMap<(u64, u64), Vec<usize>> = HashMap::new();
        for (i, input) in inputs.iter().enumerate() {
            if let Some(id) = input.inode {
                by_inode.entry(id).or_default().push(i);
            }
        }
        Now { paths: paths.to_vec(), inputs, by_inode }
    }

    /// The input `earlier` was ingested from, when it is one of these, unchanged (`false`) or
    /// only grown since (`true`).
    fn today(&self, earlier: &IngestedInput) -> Option<(&IngestedInput, bool)> {
        // By inode; not found by it, only a file without one can be it, compared by path.
        let found = earlier.inode.and_then(|id| self.by_inode.get(&id));
        let candidates = || -> Box<dyn Iterator<Item = usize> + '_> {
            match found {
                Some(found) => Box::new(found.iter().copied()),
                None => Box::new(0..self.inputs.len()),
            }
        };
        if let Some(same) = candidates().filter_map(|i| self.inputs.get(i)).find(|n| earlier.unchanged_in(n))
        {
            return Some((same, false));
        }
        candidates().find_map(|i| {
            let (input, path) = (self.inputs.get(i)?, self.paths.get(i)?);
            audit::ingest::grew_from(earlier, input, path).then_some((input, true))
        })
    }
}

/// `manifest` as this run sees it, when every input it lists is one of `now`, unchanged or
/// only grown; else `None`.
fn as_named_now(manifest: &Manifest, now: &Now) -> Option<Named> {
    let mut renamed = manifest.clone();
    let mut grown = BTreeSet::new();
    // Old name to new, applied to the skipped records once all are known: rotated logs take
    // each other's names (`audit.log` is now `audit.log.1`, which is now `audit.log.2`).
    let mut names: HashMap<String, String> = HashMap::new();
    for input in &mut renamed.inputs {
        let (today, grew) = now.today(input)?;
        if input.file != today.file {
            names.insert(std::mem::replace(&mut input.file, today.file.clone()), today.file.clone());
        }
        input.path.clone_from(&today.path);
        if grew {
            grown.insert(today.file.clone());
        }
    }
    for example in &mut renamed.skipped.examples {
        if let Some(end) = file_of(&example.file, |f| names.contains_key(f))
            && let (Some(old), Some(rest)) = (example.file.get(..end), example.file.get(end..))
            && let Some(new) = names.get(old)
        {
            example.file = format!("{new}{rest}");
        }
    }
    Some(Named { manifest: renamed, grown })
}

/// Makes the new store `dir` a copy of `earlier` (hard links: no space taken), and returns
/// what it took over; `None` when the copy failed (said on stderr), and `dir` is empty again
/// for the run to read every input.
fn start_from(earlier: Earlier, dir: &Path) -> anyhow::Result<Option<Named>> {
    let Earlier { store, lease, named } = earlier;
    let copied = store.copy_to(dir, |m| m.clone_from(&named.manifest));
    drop(lease);
    if let Err(why) = copied {
        eprintln!(
            "note: the cached store {} of some of these files cannot be copied ({why}): reading every file",
            store.dir().display()
        );
        std::fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
        make_private_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
        return Ok(None);
    }
    Ok(Some(named))
}

/// On a terminal, says what is read into which store (and what is taken over from an earlier
/// one), and returns `true` (the progress bar follows); elsewhere, `false`.
fn tell_reading(inputs: &[PathBuf], total_bytes: u64, dir: &Path, reused: Option<&Named>) -> bool {
    let tell = std::io::stderr().is_terminal();
    if tell {
        let files = |n: usize| format!("{n} file{}", if n == 1 { "" } else { "s" });
        match reused {
            None => eprintln!(
                "reading {} ({:.1} MB) into {}",
                files(inputs.len()),
                total_bytes as f64 / 1e6,
                dir.display()
            ),
            Some(named) => {
                let (kept, bytes) = (named.kept().count(), named.kept_bytes());
                eprintln!(
                    "reading {} ({:.1} MB) into {}; the other {} ({:.1} MB), read by an earlier run, {} taken \
                     from its cached store",
                    files(inputs.len().saturating_sub(kept)),
                    total_bytes.saturating_sub(bytes) as f64 / 1e6,
                    dir.display(),
                    files(kept),
                    bytes as f64 / 1e6,
                    if kept == 1 { "is" } else { "are" }
                );
            }
        }
    }
    tell
}

/// Whether `e` says the disk (or the user's quota) is full.
fn disk_full(e: &anyhow::Error) -> bool {
    use audit::ingest::IngestError;
    use audit::store::StoreError;
    let no_space = |s: &StoreError| matches!(s, StoreError::NoSpace { .. });
    e.chain().any(|cause| {
        // The store names a full disk itself (its message is in its own words).
        if let Some(s) = cause.downcast_ref::<StoreError>() {
            return no_space(s);
        }
        if let Some(i) = cause.downcast_ref::<IngestError>() {
            return match i {
                IngestError::Failed { error, .. } => no_space(error),
                IngestError::Store(s) => no_space(s),
                _ => false,
            };
        }
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| {
            matches!(io.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded)
        }) || {
            // Errors from the Parquet writer carry the I/O error as text only.
            let text = cause.to_string();
            text.contains("No space left on device") || text.contains("Disk quota exceeded")
        }
    })
}

/// Private temporary stores of this run, removed when it ends ([`remove_temporary_stores`]).
static TEMPORARY: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Reads the files under `paths`, with their request and response bodies, into a private
/// temporary store removed when the run ends (`query --input … --keep-bodies` over more than it
/// holds in memory): the cache, shared with `diagnose`, never holds bodies, which can hold
/// Secrets.
pub fn temporary_with_bodies(paths: &[PathBuf]) -> anyhow::Result<PathBuf> {
    let found = find_inputs(paths, &[])?;
    for f in &found.skipped {
        eprintln!("warning: {}: {} (not read)", f.file, f.not_audit.as_deref().unwrap_or_default());
    }
    let total_bytes = super::progress::bytes_of(&found.files);
    let (dir, _) = temporary(&found.files, total_bytes, true)?;
    Ok(dir)
}

/// Reads `inputs` into a store in a new private directory (mode 0700) under the temporary
/// directory, removed when the run ends: for when the cache cannot be written, and for bodies.
fn temporary(
    inputs: &[PathBuf],
    total_bytes: u64,
    keep_bodies: bool,
) -> anyhow::Result<(PathBuf, Vec<InputSummary>)> {
    let base = std::env::temp_dir();
    remove_stale_temporary_stores(&base);
    let mut attempt = 0u32;
    let top = loop {
        let nanos = UNIX_EPOCH.elapsed().map(|d| d.subsec_nanos()).unwrap_or_default();
        let top = base.join(format!("apiserver-doctor-run-{}-{nanos}-{attempt}", std::process::id()));
        match make_private_dir(&top) {
            Ok(()) => break top,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "creating a temporary store in {} (the cache cannot be used either: set XDG_CACHE_HOME to a \
                     writable directory)",
                    base.display()
                )));
            }
        }
    };
    TEMPORARY.lock().unwrap_or_else(PoisonError::into_inner).push(top.clone());
    let dir = top.join("store");
    let tell = tell_reading(inputs, total_bytes, &dir, None);
    match ingest_into(inputs, &dir, tell, keep_bodies) {
        Ok(summaries) => Ok((dir, summaries)),
        Err(e) => {
            remove_temporary_stores();
            Err(e)
        }
    }
}

/// Removes the temporary stores of runs that ended without removing theirs (Ctrl-C, a
/// signal, a crash): `apiserver-doctor-run-PID-…` directories of this user under `base` whose
/// process no longer runs. Only where the process table can be read (`/proc`).
fn remove_stale_temporary_stores(base: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(base) else { return };
    #[cfg(unix)]
    let me = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").map(|m| m.uid()).ok()
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix("apiserver-doctor-run-")) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().filter(|p| p.parse::<u32>().is_ok()) else { continue };
        if Path::new("/proc").join(pid).exists() {
            continue;
        }
        // Ours only, and a directory, not a link to one.
        let Ok(meta) = std::fs::symlink_metadata(entry.path()) else { continue };
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            if me != Some(meta.uid()) {
                continue;
            }
        }
        if meta.is_dir() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Removes the private temporary stores this run made (`main` calls it when the command is
/// done).
pub fn remove_temporary_stores() {
    let dirs = std::mem::take(&mut *TEMPORARY.lock().unwrap_or_else(PoisonError::into_inner));
    for dir in dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Says again on stderr what the run that filled the store said about its inputs: the skipped
/// records it keeps (the first few, with file and line), the files that are not audit logs and
/// those read only in part.
fn replay_warnings(manifest: &Manifest) {
    let examples = &manifest.skipped.examples;
    for input in &manifest.inputs {
        let mut shown = 0u64;
        for example in examples.iter().filter(|e| e.file == input.file) {
            eprintln!("warning: skipped {example}");
            shown += 1;
        }
        more_skipped(&input.file, input.skipped, shown);
        if let Some(why) = &input.not_audit {
            let why = why.strip_prefix("not an audit format: ").unwrap_or(why);
            eprintln!("warning: {}: not an audit log: {why}", input.file);
        }
        if let Some(cut) = &input.incomplete {
            eprintln!("warning: {cut} (only partly read)");
        }
    }
    for example in examples.iter().filter(|e| !manifest.inputs.iter().any(|i| i.file == e.file)) {
        eprintln!("warning: skipped {example}");
    }
}

/// Says how many skipped records of `file` were not listed (only the first few are kept): the
/// warnings stopped at five without a word (review s42).
fn more_skipped(file: &str, skipped: u64, shown: u64) {
    let more = skipped.saturating_sub(shown);
    let s = if more == 1 { "" } else { "s" };
    if more > 0 && shown > 0 {
        eprintln!(
            "warning: {file}: {} more skipped record{s} not listed ({} in all)",
            findings::thousands(more as i128),
            findings::thousands(skipped as i128)
        );
    } else if more > 0 {
        eprintln!("warning: {file}: {} skipped record{s} (not listed)", findings::thousands(more as i128));
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

/// Marks the cache's store at `dir` damaged (found so by a query, inside a file whose size and
/// footer are whole): the next [`ingest`] of its files fills it again. This run's hold on it is
/// let go first, or the fill would wait for this run.
pub fn discard(dir: &Path) {
    LEASES.lock().unwrap_or_else(PoisonError::into_inner).clear();
    let _ = std::fs::remove_file(dir.join(COMPLETE));
}

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

/// Takes `path` shared without waiting: `None` when another run holds it exclusively, or it
/// cannot be opened, or an eviction removed it meanwhile.
fn try_lock_shared(path: &Path) -> Option<File> {
    let file = open_lock(path).ok()?;
    file.try_lock_shared().ok()?;
    same_file(&file, path).then_some(file)
}

/// The lock file of the cache store `dir` (`stores/KEY.lock`).
fn lock_path_of(dir: &Path) -> PathBuf {
    let mut path = dir.to_path_buf().into_os_string();
    path.push(".lock");
    PathBuf::from(path)
}

/// A store's lock file, made when missing (it is never written: only locked). Opened read-only
/// when it cannot be opened for writing (a read-only cache): a lock needs no write access, and
/// the stores already there can still be read.
fn open_lock(path: &Path) -> std::io::Result<File> {
    match OpenOptions::new().create(true).truncate(false).read(true).write(true).open(path) {
        Ok(file) => Ok(file),
        Err(e) => OpenOptions::new().read(true).open(path).map_err(|_| e),
    }
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
pub fn ingest_into(
    inputs: &[PathBuf],
    dir: &Path,
    tell: bool,
    keep_bodies: bool,
) -> anyhow::Result<Vec<InputSummary>> {
    let started = Instant::now();
    let report = super::progress::ingest_with_bar(
        tell,
        || Some(super::progress::bytes_of(inputs)),
        // A cache store of files without a single event is kept: it is what tells the run (and
        // the next one, from the cache) that there is nothing to diagnose in them, and why.
        IngestOptions {
            keep_empty_store: true,
            read: audit::read::ReadOptions { keep_bodies, ..audit::read::ReadOptions::default() },
            ..IngestOptions::default()
        },
        |opts| audit::ingest::ingest(dir, inputs, opts),
    )?;
    for file in &report.files {
        for example in &file.examples {
            eprintln!("warning: skipped {example}");
        }
        more_skipped(&file.file, file.skipped, file.examples.len() as u64);
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
    // The store is new, or a copy of one whose inputs are all among this run's: the inputs its
    // manifest lists are this run's.
    Ok(summaries(audit::store::Store::open(dir)?.manifest(), inputs))
}

/// What the report says of each input of `manifest`, in the order of `inputs` (a store that
/// started as a copy of an earlier one lists that one's inputs first).
fn summaries(manifest: &Manifest, inputs: &[PathBuf]) -> Vec<InputSummary> {
    let order: HashMap<String, usize> =
        inputs.iter().enumerate().map(|(i, p)| (audit::store::path_text(p), i)).collect();
    let mut summaries: Vec<InputSummary> = manifest.inputs.iter().map(summary).collect();
    summaries.sort_by_key(|s| order.get(&s.source).copied().unwrap_or(usize::MAX));
    summaries
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

/// Removes all but the `keep` most recently used stores, counting `keep_dir` (never it, never
/// one another run is ingesting or reading: its lock is held). Returns how many were removed.
fn evict(root: &Path, keep_dir: &Path, keep: usize) -> usize {
    let Ok(entries) = std::fs::read_dir(root) else { return 0 };
    let mut stores: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p != keep_dir && p.is_dir())
        .map(|p| {
            let used = std::fs::metadata(p.join(COMPLETE)).and_then(|m| m.modified()).unwrap_or(UNIX_EPOCH);
            (used, p)
        })
        .collect();
    stores.sort();
    // Stores in use stay and count among those kept: the oldest idle ones go until few enough
    // are left.
    let mut left = stores.len();
    let mut removed = 0;
    for (_, path) in stores {
        if left < keep {
            break;
        }
        if remove_store(&path, |_| true) {
            left -= 1;
            removed += 1;
        }
    }
    removed
}

/// Removes every store under `root` (but `keep_dir`) that a run left without its marker: it
/// failed or was killed while filling it (one being filled is locked, and stays).
fn remove_incomplete(root: &Path, keep_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else { return };
    for path in entries.flatten().map(|e| e.path()) {
        if path != keep_dir && path.is_dir() && !path.join(COMPLETE).exists() {
            // Checked again under the lock: a run may have completed it in between.
            remove_store(&path, |p| !p.join(COMPLETE).exists());
        }
    }
}

/// Removes the store `path` when no other run holds its lock and `still(path)` holds once the
/// lock is taken (best effort: a store that cannot be removed only takes space). Its lock file
/// goes too.
fn remove_store(path: &Path, still: impl Fn(&Path) -> bool) -> bool {
    let lock_path = lock_path_of(path);
    let Ok(lock) = open_lock(&lock_path) else { return false };
    // In use by another run: it stays.
    if lock.try_lock().is_err() || !same_file(&lock, &lock_path) || !still(path) {
        return false;
    }
    let removed = std::fs::remove_dir_all(path).is_ok();
    if cfg!(unix) {
        // Removed while held: a run that opened it meanwhile sees it is gone and retries.
        let _ = std::fs::remove_file(&lock_path);
    }
    removed
}

/// Whether an `ingest` is writing to the store `dir` right now: it holds the store's `lock`
/// file. Looked up in the kernel's lock table (`/proc/locks`) without taking the lock, so that
/// the writer is never refused or delayed by a reader; `false` where there is no such table.
pub fn ingest_is_writing(dir: &Path) -> bool {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        let Ok(meta) = std::fs::metadata(dir.join("lock")) else { return false };
        let Ok(table) = std::fs::read_to_string("/proc/locks") else { return false };
        let dev = meta.dev();
        // glibc's gnu_dev_major and gnu_dev_minor.
        let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
        let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
        table.lines().any(|line| holds_write_lock(line, major, minor, meta.ino()))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        false
    }
}

/// Whether a `/proc/locks` line (`1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234 0 EOF`) is a held
/// (not awaited: `->`) write lock on the file `major:minor:inode`.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn holds_write_lock(line: &str, major: u64, minor: u64, inode: u64) -> bool {
    let fields: Vec<&str> = line.split_whitespace().collect();
    if fields.get(1) == Some(&"->") || fields.get(3) != Some(&"WRITE") {
        return false;
    }
    let Some(id) = fields.get(5) else { return false };
    let mut parts = id.split(':');
    let (Some(maj), Some(min), Some(ino)) = (parts.next(), parts.next(), parts.next()) else { return false };
    u64::from_str_radix(maj, 16).ok() == Some(major)
        && u64::from_str_radix(min, 16).ok() == Some(minor)
        && ino.parse::<u64>().ok() == Some(inode)
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
        evict(root, &keep, KEEP_STORES);
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

    #[test]
    fn a_held_store_lock_is_seen_without_taking_it() {
        let line = "3: FLOCK  ADVISORY  WRITE 4242 fd:01:1234 0 EOF";
        assert!(holds_write_lock(line, 0xfd, 1, 1234));
        assert!(!holds_write_lock(line, 0xfd, 1, 1235));
        assert!(!holds_write_lock("3: -> FLOCK  ADVISORY  WRITE 4243 fd:01:1234 0 EOF", 0xfd, 1, 1234));
        assert!(!holds_write_lock("3: FLOCK  ADVISORY  READ 4242 fd:01:1234 0 EOF", 0xfd, 1, 1234));
        assert!(!holds_write_lock("garbage", 0xfd, 1, 1234));
        if cfg!(target_os = "linux") && Path::new("/proc/locks").exists() {
            let store = tempfile::tempdir().expect("tempdir");
            let lock = File::create(store.path().join("lock")).expect("lock file");
            assert!(!ingest_is_writing(store.path()));
            lock.lock().expect("lock");
            assert!(ingest_is_writing(store.path()));
            lock.unlock().expect("unlock");
            assert!(!ingest_is_writing(store.path()));
        }
    }
}
