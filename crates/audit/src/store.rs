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
//! listed are complete and never change once listed. Files under `data/` that the manifest
//! does not list (left by a killed ingest) are ignored by readers and removed by the next
//! writer. Writing is in [`writer`].

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
        "{0}: another ingest is writing to this store (it holds {0}/lock); wait for it to finish, or use another --store"
    )]
    Locked(PathBuf),
    /// Writing Parquet failed.
    #[error("{path}: writing Parquet: {message}")]
    Parquet {
        /// The file being written.
        path: PathBuf,
        /// What failed.
        message: String,
    },
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestedInput {
    /// The file as named on the command line.
    pub file: String,
    /// Size in bytes (`None` for stdin).
    pub size: Option<u64>,
    /// Modification time, seconds since the epoch.
    pub mtime: Option<i64>,
    /// xxh3 of the first MiB, hex.
    pub head_hash: Option<String>,
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
}

impl Default for Manifest {
    fn default() -> Self {
        Manifest {
            schema_version: SCHEMA_VERSION,
            files: Vec::new(),
            inputs: Vec::new(),
            skipped: SkippedSummary::default(),
            duplicates_dropped: 0,
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
        let manifest = Manifest::load(dir)?;
        let mut files: Vec<PathBuf> = manifest.files.iter().map(|f| dir.join(&f.path)).collect();
        files.sort();
        Ok(Store { dir: dir.to_path_buf(), files, manifest })
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every committed Parquet data file, sorted.
    pub fn data_files(&self) -> &[PathBuf] {
        &self.files
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
