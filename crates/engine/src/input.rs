//! Audit files read straight into canonical batches, for `query --input`: every format the
//! audit crate reads (`audit::read`), held in memory for the query.
//!
//! What is held is the events' own size, whatever the number of files: the reader hands on at
//! least one batch per file, with buffers sized for a full chunk of input, so the few events of
//! a small file held hundreds of KB. Small batches are merged into batches of their own size
//! (as the store writer merges them, see `MERGE_SMALL_BATCHES` there): 5,867 files of 3 lines
//! peaked at 1.3 GB where one file of the same events took 75 MB.

use std::path::PathBuf;

use std::collections::HashSet;

use arrow::array::{Array, BooleanArray, RecordBatch, UInt32Array};
use arrow::compute::{concat_batches, filter_record_batch, take_record_batch};
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
    /// Events read per Azure category, duplicates included (an export of both categories
    /// holds each write twice; one copy is kept): what `AzureDiagnostics` shows them under.
    pub categories: std::collections::BTreeMap<String, u64>,
}

/// Reads every file under `paths` (files, directories, `-` for stdin), bodies dropped.
pub fn read_paths(paths: &[PathBuf]) -> Result<Input, EngineError> {
    read_paths_with(paths, &ReadOptions::default())
}

/// [`read_paths`] read with `options` (`keep_bodies`).
pub fn read_paths_with(paths: &[PathBuf], options: &ReadOptions) -> Result<Input, EngineError> {
    let mut batches = Compact::default();
    // Duplicates are dropped as the store drops them (`audit::store::writer::row_keys`): an
    // export of both Azure categories, overlapping rotated files or one file given twice
    // count each event once, whether the input is read in memory or through the store.
    let mut seen: HashSet<u64> = HashSet::new();
    let mut duplicates = 0u64;
    let mut categories = std::collections::BTreeMap::new();
    let summary = audit_read(paths, options, &mut |_file: &str, batch: RecordBatch| {
        audit::store::writer::count_categories(&batch, &mut categories);
        let keep: BooleanArray = row_keys(&batch).into_iter().map(|k| Some(seen.insert(k))).collect();
        let kept = keep.true_count();
        duplicates += (batch.num_rows() - kept) as u64;
        if kept == batch.num_rows() {
            batches.push(batch)?;
        } else if kept > 0 {
            let filtered = filter_record_batch(&batch, &keep)?;
            batches.push(filtered)?;
        }
        Ok(())
    })
    .map_err(|e| EngineError::Input(e.to_string()))?;
    let batches = batches.finish().map_err(|e| EngineError::Internal(e.to_string()))?;
    let mut warnings = Vec::new();

    for f in &summary.files {
        if let Some(why) = f.why_not_audit() {
            warnings.push(format!("{}: not an audit log ({why}); skipped", f.file));
            continue;
        }
        if let Some(cut) = &f.incomplete {
            warnings.push(format!("{}: {} (only partly read)", cut.file, cut.message));
        }
        if f.events == 0 && f.skipped == 0 && f.incomplete.is_none() {
            // As `ingest` refuses it: an empty log (one just rotated) is not "no requests".
            let what = if f.bytes == 0 { " (an empty file)" } else { "" };
            warnings.push(format!("{}: no audit event in it{what}", f.file));
        }
        for ex in &f.examples {
            warnings.push(format!("skipped {ex}"));
        }
        let shown = f.examples.len() as u64;
        if f.skipped > shown {
            warnings.push(format!("{}: {} more records skipped", f.file, f.skipped - shown));
        }
    }
    Ok(Input { batches, warnings, duplicates, categories })
}

/// Batches of fewer rows are merged: each batch costs a few allocations per column whatever
/// its rows, and DataFusion reads thousands of tiny batches slower than a few full ones.
const SMALL_ROWS: usize = 1024;

/// The small batches waiting are merged once there are this many of them, or [`MERGE_ROWS`]
/// rows. Until then they hold their reader's spare capacity (about 200 KB each for a file of
/// a few events): 32 of them, a few MB.
const MERGE_BATCHES: usize = 32;

/// Rows at which the small batches waiting are merged.
const MERGE_ROWS: usize = 8192;

/// The batches read, each holding about its own size, in the order read: small ones, and any
/// with much spare capacity, merged (a merged batch is built at its own size, and one alone
/// is copied); full batches, as a big file gives, kept as they are.
#[derive(Default)]
struct Compact {
    done: Vec<RecordBatch>,
    small: Vec<RecordBatch>,
    small_rows: usize,
}

impl Compact {
    fn push(&mut self, batch: RecordBatch) -> Result<(), arrow::error::ArrowError> {
        if batch.num_rows() >= SMALL_ROWS && !wasteful(&batch) {
            self.merge()?;
            self.done.push(batch);
            return Ok(());
        }
        self.small_rows += batch.num_rows();
        self.small.push(batch);
        if self.small.len() >= MERGE_BATCHES || self.small_rows >= MERGE_ROWS {
            self.merge()?;
        }
        Ok(())
    }

    fn keep(&mut self, batch: RecordBatch) -> Result<(), arrow::error::ArrowError> {
        let batch = if wasteful(&batch) { tight_copy(&batch)? } else { batch };
        self.done.push(batch);
        Ok(())
    }

    /// The small batches waiting, as one.
    fn merge(&mut self) -> Result<(), arrow::error::ArrowError> {
        self.small_rows = 0;
        match self.small.len() {
            0 => Ok(()),
            1 => {
                let batch = self.small.remove(0);
                self.keep(batch)
            }
            _ => {
                let merged = concat_batches(&self.small[0].schema(), &self.small)?;
                self.small.clear();
                self.done.push(merged);
                Ok(())
            }
        }
    }

    fn finish(mut self) -> Result<Vec<RecordBatch>, arrow::error::ArrowError> {
        self.merge()?;
        Ok(self.done)
    }
}

/// Whether `batch` holds much more memory than its values: buffers sized for a full chunk of
/// input, filled by a few events.
fn wasteful(batch: &RecordBatch) -> bool {
    batch.get_array_memory_size() > 2 * data_bytes(batch) + (64 << 10)
}

/// The bytes of a batch's values, without the spare capacity of its buffers.
fn data_bytes(batch: &RecordBatch) -> usize {
    batch
        .columns()
        .iter()
        .map(|c| c.to_data().get_slice_memory_size().unwrap_or_else(|_| c.get_array_memory_size()))
        .sum()
}

/// `batch` copied into buffers of its own size (no spare capacity, nothing shared).
fn tight_copy(batch: &RecordBatch) -> Result<RecordBatch, arrow::error::ArrowError> {
    let n =
        u32::try_from(batch.num_rows()).map_err(|e| arrow::error::ArrowError::ComputeError(e.to_string()))?;
    take_record_batch(batch, &UInt32Array::from_iter_values(0..n))
}
