//! Scans the keys of an etcd and prints the statistics per resource (benchmark driver of
//! bench/etcd/run.sh). Read-only.
//! Usage: scan ENDPOINT [PREFIX] [PAGE_SIZE] [PARALLEL] [values|keys]

use std::io::Write;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "usage: scan ENDPOINT [PREFIX] [PAGE_SIZE] [PARALLEL] [values|keys]";
    let mut args = std::env::args().skip(1);
    let endpoint = args.next().ok_or(usage)?;
    let prefix = args.next().unwrap_or_else(|| "/registry".to_owned());
    let defaults = etcd::client::ScanOptions::default();
    let page_size: u64 = args.next().map(|p| p.parse()).transpose()?.unwrap_or(defaults.page_size);
    let parallel: usize = args.next().map(|p| p.parse()).transpose()?.unwrap_or(defaults.parallel);
    let values = match args.next().as_deref() {
        None | Some("values") => true,
        Some("keys") => false,
        Some(_) => return Err(usage.into()),
    };
    let options = etcd::client::ScanOptions { page_size, parallel, values, ..defaults };
    let client = etcd::Client::new(&endpoint, &etcd::TlsFiles::default(), 600)?;
    let start = Instant::now();
    let stats = client.scan_with(&prefix, &options)?;
    let elapsed = start.elapsed();
    // A closed pipe (`| head`) ends the listing quietly.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{} keys, {} value bytes in {:.2} s (page size {page_size}, {parallel} in parallel, {})",
        stats.keys,
        stats.value_bytes,
        elapsed.as_secs_f64(),
        if values { "values" } else { "keys only" }
    );
    for r in &stats.resources {
        if writeln!(out, "  {:<30} {:>8} keys {:>12} bytes", r.resource, r.keys, r.value_bytes).is_err() {
            break;
        }
    }
    Ok(())
}
