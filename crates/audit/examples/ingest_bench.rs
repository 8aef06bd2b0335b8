//! `apiserver-doctor ingest` without the command line around it: the same
//! [`audit::ingest::ingest`] call, for `bench/ingest/run.sh`. It builds without the query
//! engine, so a release build is quick.
//!
//! usage: ingest_bench STORE PATH...
//!        ingest_bench --read-only PATH...
//!
//! `--read-only` reads the paths as ingest does (the same options, each class of events in
//! batches of its own) and drops the batches: no deduplication, no Parquet, no store. What it
//! takes is the part of an ingest that writing faster cannot remove.

use std::path::PathBuf;
use std::time::Instant;

use arrow::array::RecordBatch;
use audit::ingest::{IngestOptions, ingest};
use audit::read::{ReadOptions, SinkError, read_paths};

const USAGE: &str = "usage: ingest_bench STORE PATH... | ingest_bench --read-only PATH...";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let first = args.next().ok_or(USAGE)?;
    if first == "--read-only" {
        let paths: Vec<PathBuf> = args.map(PathBuf::from).collect();
        return read_only(&paths);
    }
    let store = PathBuf::from(first);
    let paths: Vec<PathBuf> = args.map(PathBuf::from).collect();
    let started = Instant::now();
    let report = ingest(&store, &paths, &IngestOptions { force: true, ..IngestOptions::default() })?;
    let secs = started.elapsed().as_secs_f64();
    let skipped: u64 = report.files.iter().map(|f| f.skipped).sum();
    println!(
        "read {} events ({} bytes), kept {}, skipped {skipped} in {secs:.2} s: {:.0} MB/s, {:.0} events/s",
        report.events(),
        report.bytes(),
        report.kept,
        report.bytes() as f64 / 1e6 / secs,
        report.events() as f64 / secs
    );
    Ok(())
}

fn read_only(paths: &[PathBuf]) -> Result<(), Box<dyn std::error::Error>> {
    if paths.is_empty() {
        return Err(USAGE.into());
    }
    // The options ingest reads with (see `audit::ingest`).
    let opts = ReadOptions { split_by_class: true, ..IngestOptions::default().read };
    let started = Instant::now();
    let mut rows = 0usize;
    let mut sink = |_: &str, batch: RecordBatch| -> Result<(), SinkError> {
        rows += batch.num_rows();
        Ok(())
    };
    let summary = read_paths(paths, &opts, &mut sink)?;
    let secs = started.elapsed().as_secs_f64();
    let bytes: u64 = summary.files.iter().map(|f| f.bytes).sum();
    let skipped: u64 = summary.files.iter().map(|f| f.skipped).sum();
    println!(
        "read {rows} events ({bytes} bytes) into Arrow batches, dropped them, skipped {skipped} in \
         {secs:.2} s: {:.0} MB/s, {:.0} events/s",
        bytes as f64 / 1e6 / secs,
        rows as f64 / secs
    );
    Ok(())
}
