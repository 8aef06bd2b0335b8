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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Rows.
    pub events: u64,
    /// Rows with neither timestamp.
    pub without_timestamps: u64,
    /// Earliest event time (nanoseconds since the epoch, UTC).
    pub min_time: Option<i64>,
    /// Latest event time.
    pub max_time: Option<i64>,
    /// Rows per `source_format`.
    pub formats: BTreeMap<String, u64>,
    /// Rows per `stage` (`(none)` for null).
    pub stages: BTreeMap<String, u64>,
    /// Rows per `level`.
    pub levels: BTreeMap<String, u64>,
    /// Rows per `verb`.
    pub verbs: BTreeMap<String, u64>,
    /// Rows per `azure_category`.
    pub categories: BTreeMap<String, u64>,
}

impl Counts {
    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &Counts) {
        self.events += other.events;
        self.without_timestamps += other.without_timestamps;
        self.min_time = min_opt(self.min_time, other.min_time);
        self.max_time = max_opt(self.max_time, other.max_time);
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
}
