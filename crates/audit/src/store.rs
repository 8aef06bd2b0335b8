//! The store: a directory of hour-partitioned Parquet files and a manifest.
//!
//! Readers (the query engine) only need [`Store::open`] and [`Store::data_files`]: the files
//! listed are complete and never change once listed.

use std::path::{Path, PathBuf};

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
}

/// A store opened for reading.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    files: Vec<PathBuf>,
}

impl Store {
    /// Opens the store at `dir` for reading.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        if !dir.join("manifest.json").is_file() {
            return Err(StoreError::NotAStore(dir.to_path_buf()));
        }
        let mut files = Vec::new();
        collect_parquet(&dir.join("data"), &mut files)?;
        files.sort();
        Ok(Store { dir: dir.to_path_buf(), files })
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every committed Parquet data file, sorted.
    pub fn data_files(&self) -> &[PathBuf] {
        &self.files
    }
}

fn collect_parquet(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), StoreError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(StoreError::Io { path: dir.to_path_buf(), source }),
    };
    for entry in entries {
        let entry = entry.map_err(|source| StoreError::Io { path: dir.to_path_buf(), source })?;
        let path = entry.path();
        if path.is_dir() {
            collect_parquet(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "parquet") {
            out.push(path);
        }
    }
    Ok(())
}
