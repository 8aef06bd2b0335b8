//! Raw audit files given to `diagnose` are ingested into a store kept in the user's cache
//! directory, keyed by the files (path, size, modification time), so diagnosing the same files
//! again skips straight to the checks.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Instant, UNIX_EPOCH};

use anyhow::Context;
use audit::ingest::IngestOptions;
use audit::read::list_inputs;
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
pub fn ingest(paths: &[PathBuf]) -> anyhow::Result<(PathBuf, Vec<InputSummary>)> {
    let inputs = list_inputs(paths)?;
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
    let dir = root.join(format!("{:016x}", hasher.finish()));
    if dir.join(COMPLETE).is_file() {
        let store = audit::store::Store::open(&dir)?;
        let summaries = store.manifest().inputs.iter().map(summary).collect();
        touch(&dir.join(COMPLETE));
        return Ok((dir, summaries));
    }
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
    let summaries = ingest_into(&inputs, &dir, tell)?;
    std::fs::write(dir.join(COMPLETE), b"").with_context(|| format!("{}", dir.display()))?;
    evict(&root, &dir);
    Ok((dir, summaries))
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
        if let Some(why) = &file.not_audit {
            eprintln!("warning: {}: not an audit log: {why}", file.file);
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
        detected: input
            .format
            .clone()
            .or_else(|| input.not_audit.as_ref().map(|_| "not an audit log".to_owned())),
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

/// Removes all but the most recently used stores (never `keep`).
fn evict(root: &Path, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else { return };
    let mut stores: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p != keep)
        .map(|p| {
            let used = std::fs::metadata(p.join(COMPLETE)).and_then(|m| m.modified()).unwrap_or(UNIX_EPOCH);
            (used, p)
        })
        .collect();
    stores.sort();
    let excess = stores.len().saturating_sub(KEEP_STORES - 1);
    for (_, path) in stores.into_iter().take(excess) {
        // Best effort: a store another run is using stays (its lock file is held open).
        let _ = std::fs::remove_dir_all(path);
    }
}
