//! Audit files read straight into canonical batches, for `query --input`: every format the
//! audit crate reads (`audit::read`), held in memory for the query.

use std::path::PathBuf;

use std::collections::HashSet;

use arrow::array::{BooleanArray, RecordBatch};
use arrow::compute::filter_record_batch;
use audit::read::{ReadOptions, read_paths as audit_read};
use audit::store::writer::row_keys;

use crate::error::EngineError;

/// Batches read from files, and what was skipped.
#[derive(Debug, Default)]
pub struct Input {
    /// Canonical batches.
    pub batches: Vec<RecordBatch>,
    /// One line per skipped record (the first few per file), per count of skipped records,
    /// and per file that is not an audit log.
    pub warnings: Vec<String>,
    /// Events dropped as duplicates of one read before (as the store drops them).
    pub duplicates: u64,
}

/// Reads every file under `paths` (files, directories, `-` for stdin).
pub fn read_paths(paths: &[PathBuf]) -> Result<Input, EngineError> {
    let mut batches = Vec::new();
    // Duplicates are dropped as the store drops them (`audit::store::writer::row_keys`): an
    // export of both Azure categories, overlapping rotated files or one file given twice
    // count each event once, whether the input is read in memory or through the store.
    let mut seen: HashSet<u64> = HashSet::new();
    let mut duplicates = 0u64;
    let summary = audit_read(paths, &ReadOptions::default(), &mut |_file: &str, batch: RecordBatch| {
        let keep: BooleanArray = row_keys(&batch).into_iter().map(|k| Some(seen.insert(k))).collect();
        let kept = keep.true_count();
        duplicates += (batch.num_rows() - kept) as u64;
        if kept == batch.num_rows() {
            batches.push(batch);
        } else if kept > 0 {
            let filtered = filter_record_batch(&batch, &keep)?;
            batches.push(filtered);
        }
        Ok(())
    })
    .map_err(|e| EngineError::Input(e.to_string()))?;
    let mut warnings = Vec::new();

    for f in &summary.files {
        if let Some(why) = f.why_not_audit() {
            warnings.push(format!("{}: not an audit log ({why}); skipped", f.file));
            continue;
        }
        if let Some(cut) = &f.incomplete {
            warnings.push(format!("{}: {} (only partly read)", cut.file, cut.message));
        }
        for ex in &f.examples {
            warnings.push(format!("skipped {ex}"));
        }
        let shown = f.examples.len() as u64;
        if f.skipped > shown {
            warnings.push(format!("{}: {} more records skipped", f.file, f.skipped - shown));
        }
    }
    Ok(Input { batches, warnings, duplicates })
}
