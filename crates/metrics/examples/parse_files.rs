//! Parses the files given, concatenated, `N` times (benchmark driver of bench/metrics/run.sh:
//! run it under `/usr/bin/time` to read CPU time on a shared machine).
//! Usage: parse_files N FILE...

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: u32 = args.next().ok_or("usage: parse_files N FILE...")?.parse()?;
    let mut bytes = Vec::new();
    for f in args {
        bytes.extend(std::fs::read(f)?);
    }
    let start = Instant::now();
    let mut samples = 0;
    for _ in 0..n {
        samples = metrics::parse::parse(&bytes).samples.len();
    }
    let per = start.elapsed().as_secs_f64() / f64::from(n.max(1));
    println!("{} bytes, {samples} samples, {:.2} ms wall per parse", bytes.len(), per * 1000.0);
    Ok(())
}
