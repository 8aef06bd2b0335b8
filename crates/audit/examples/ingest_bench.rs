//! `apiserver-doctor ingest` without the command line around it: the same
//! [`audit::ingest::ingest`] call, for `bench/ingest/run.sh`. It builds without the query
//! engine, so a release build is quick.
//!
//! usage: ingest_bench STORE PATH...

use std::path::PathBuf;
use std::time::Instant;

use audit::ingest::{IngestOptions, ingest};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let store = PathBuf::from(args.next().ok_or("usage: ingest_bench STORE PATH...")?);
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
