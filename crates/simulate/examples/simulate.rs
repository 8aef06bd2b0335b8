//! The simulator without the rest of the CLI (no DataFusion to build): for benchmarks.
//!
//! `cargo run --release -p simulate --example simulate -- OUT NODES DURATION [FORMAT] [THREADS] [SCENARIOS]`

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let get = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.to_owned());
    let out = get(1, "sim-out");
    let mut cfg = simulate::Config::new(simulate::parse_time(simulate::DEFAULT_START)?);
    cfg.nodes = get(2, "5000").parse()?;
    cfg.duration_seconds = simulate::parse_duration(&get(3, "1h"))?;
    cfg.format = get(4, "k8s").parse()?;
    if let Some(t) = args.get(5) {
        cfg.threads = t.parse()?;
    }
    cfg.scenarios = get(6, "healthy").split(',').map(str::parse).collect::<Result<_, _>>()?;
    let began = Instant::now();
    let summary = simulate::simulate(&cfg, std::path::Path::new(&out), &mut |_| {})?;
    let secs = began.elapsed().as_secs_f64();
    println!(
        "{} events, {} requests, {:.2} GB in {secs:.2} s: {:.0} events/s, {:.0} MB/s",
        summary.events,
        summary.requests,
        summary.audit_bytes as f64 / 1e9,
        summary.events as f64 / secs,
        summary.audit_bytes as f64 / 1e6 / secs
    );
    Ok(())
}
