//! The library half of `apiserver-doctor ingest` (read every path, dedupe, write the store),
//! for `bench/ingest/run.sh`: it builds without the query engine, so a release build is quick.
//!
//! usage: ingest_bench STORE PATH...

use std::path::PathBuf;
use std::time::Instant;

use arrow::array::RecordBatch;
use audit::read::{ReadOptions, SinkError, read_paths};
use audit::store::writer::{StoreWriter, WriterOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let store = PathBuf::from(args.next().ok_or("usage: ingest_bench STORE PATH...")?);
    let paths: Vec<PathBuf> = args.map(PathBuf::from).collect();
    let started = Instant::now();
    let mut writer = StoreWriter::open(&store, WriterOptions::default())?;
    let mut kept = 0u64;
    let mut sink = |_: &str, b: RecordBatch| -> Result<(), SinkError> {
        kept += writer.write(&b)?.kept;
        Ok(())
    };
    let summary = read_paths(&paths, &ReadOptions::default(), &mut sink)?;
    writer.commit()?;
    let secs = started.elapsed().as_secs_f64();
    let bytes: u64 = summary.files.iter().map(|f| f.bytes).sum();
    println!(
        "read {} events ({} bytes), kept {kept}, skipped {} in {secs:.2} s: {:.0} MB/s, {:.0} events/s",
        summary.events(),
        bytes,
        summary.skipped(),
        bytes as f64 / 1e6 / secs,
        summary.events() as f64 / secs
    );
    Ok(())
}
