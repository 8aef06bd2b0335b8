//! Scans the keys of an etcd and prints the statistics per resource (benchmark driver of
//! bench/etcd/run.sh). Read-only. Usage: scan ENDPOINT [PREFIX] [PAGE_SIZE]

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let endpoint = args.next().ok_or("usage: scan ENDPOINT [PREFIX] [PAGE_SIZE]")?;
    let prefix = args.next().unwrap_or_else(|| "/registry".to_owned());
    let page: u64 = args.next().map(|p| p.parse()).transpose()?.unwrap_or(1000);
    let client = etcd::Client::new(&endpoint, &etcd::TlsFiles::default(), 60)?;
    let start = Instant::now();
    let stats = client.scan(&prefix, page, 10)?;
    let elapsed = start.elapsed();
    println!("{} keys, {} value bytes in {:.2} s", stats.keys, stats.value_bytes, elapsed.as_secs_f64());
    for r in &stats.resources {
        println!("  {:<30} {:>8} keys {:>12} bytes", r.resource, r.keys, r.value_bytes);
    }
    Ok(())
}
