//! Audit files read straight into canonical batches, for `query --input`: every format the
//! audit crate reads (`audit::read`), held in memory for the query.

use std::path::PathBuf;

use arrow::array::RecordBatch;
use audit::read::{ReadOptions, read_paths as audit_read};

use crate::error::EngineError;

/// Batches read from files, and what was skipped.
#[derive(Debug, Default)]
pub struct Input {
    /// Canonical batches.
    pub batches: Vec<RecordBatch>,
    /// One line per skipped record (the first few per file), per count of skipped records,
    /// and per file that is not an audit log.
    pub warnings: Vec<String>,
}

/// Reads every file under `paths` (files, directories, `-` for stdin).
pub fn read_paths(paths: &[PathBuf]) -> Result<Input, EngineError> {
    let mut batches = Vec::new();
    let summary = audit_read(paths, &ReadOptions::default(), &mut |_file: &str, batch: RecordBatch| {
        batches.push(batch);
        Ok(())
    })
    .map_err(|e| EngineError::Input(e.to_string()))?;
    let mut warnings = Vec::new();
    for f in &summary.files {
        if let Some(why) = &f.not_audit {
            warnings.push(format!("{}: not an audit log ({why}); skipped", f.file));
            continue;
        }
        for ex in &f.examples {
            warnings.push(format!("skipped {ex}"));
        }
        let shown = f.examples.len() as u64;
        if f.skipped > shown {
            warnings.push(format!("{}: {} more records skipped", f.file, f.skipped - shown));
        }
    }
    Ok(Input { batches, warnings })
}
