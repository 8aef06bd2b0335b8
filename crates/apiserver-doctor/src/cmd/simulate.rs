//! `apiserver-doctor simulate`: write the audit logs, metrics and manifests of a simulated
//! cluster in trouble (layout in docs/simulate.md).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use simulate::{Config, KubeVersion, OutputFormat, Scenario};

/// Arguments of `apiserver-doctor simulate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Directory to write into (audit/, metrics/, manifests/, scenario.json). A previous run's
    /// files there are replaced; a directory holding anything else is refused, untouched.
    #[arg(long)]
    out: PathBuf,
    /// Nodes in the simulated cluster (1 to 100,000).
    #[arg(long, default_value_t = 5000, allow_negative_numbers = true, value_parser = node_count)]
    nodes: usize,
    /// Length of the window, with its unit: 1h, 30m, 1h30m, 90s.
    #[arg(long, default_value = "1h", allow_hyphen_values = true)]
    duration: String,
    /// Start of the window (RFC 3339).
    #[arg(long, default_value = simulate::DEFAULT_START)]
    start: String,
    /// Seed: the same seed and arguments give byte-identical output.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true, value_parser = seed)]
    seed: u64,
    /// Scenarios, comma-separated: list-storm, put-storm, object-leak, webhook-outage,
    /// apf-throttled, etcd-slow-disk, healthy.
    #[arg(long, value_delimiter = ',', default_value = "healthy")]
    scenario: Vec<String>,
    /// Audit log format: k8s, k8s-v1beta1, eventlist, eventlist-pretty, azure-diagnostics,
    /// azure-diagnostics-json, azure-diagnostics-csv, aks-audit, aks-audit-strings,
    /// aks-audit-json, aks-audit-csv, envelope, envelope-object, cloudwatch, gke.
    #[arg(long, default_value = "k8s")]
    format: String,
    /// Kubernetes version whose metric names and user agents to use (1.16, 1.19 to 1.35).
    #[arg(long, default_value = "1.29")]
    kubernetes_version: String,
    /// Compress the audit files with gzip.
    #[arg(long, conflicts_with = "zstd")]
    gzip: bool,
    /// Compress the audit files with zstd.
    #[arg(long)]
    zstd: bool,
    /// Start a new audit file after this many MiB (uncompressed); at least 1.
    #[arg(long, value_name = "MIB", default_value_t = 1024, allow_negative_numbers = true, value_parser = max_file_mib)]
    max_file_mib: u64,
    /// Worker threads, 1 or more; at most 64 are used (the output does not depend on it).
    #[arg(long, allow_negative_numbers = true, value_parser = threads)]
    threads: Option<usize>,
    /// No progress on the terminal.
    #[arg(long, short)]
    quiet: bool,
}

/// `--max-file-mib`: a whole number of MiB, at least 1 (0 used to be taken as 1).
fn max_file_mib(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(0) => Err("an audit file holds at least 1 MiB: give 1 or more".to_owned()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{text:?} is not a whole number of MiB (1 or more)")),
    }
}

/// `--nodes` of `simulate` and `demo`: a whole number, at least 1 (`--nodes -5` was clap's
/// "unexpected argument '-5'", whose tip made the value a file argument). The upper bound is
/// [`simulate::check`]'s.
pub fn node_count(text: &str) -> Result<usize, String> {
    match text.trim().parse::<i64>() {
        Ok(n) if n < 1 => Err(format!("`{text}`: a cluster has at least 1 node; give 1 or more, e.g. 100")),
        Ok(n) => {
            usize::try_from(n).map_err(|_| format!("`{text}` is more nodes than this machine can count"))
        }
        Err(_) => Err(format!("`{text}` is not a whole number of nodes (1 or more, e.g. 100)")),
    }
}

/// `--seed` of `simulate` and `demo`: a whole number, 0 or more (`--seed -1` was clap's
/// "unexpected argument '-1' found", naming neither the option nor what it takes).
pub fn seed(text: &str) -> Result<u64, String> {
    super::whole_number(text, "", 0, u64::MAX)
}

/// `--threads`: a whole number, at least 1 (0 was taken as 1 without a word, and `--threads -2`
/// was clap's "unexpected argument '-2' found"). More than 64 is taken, as
/// [`simulate::simulate`] uses at most 64.
fn threads(text: &str) -> Result<usize, String> {
    let n = super::whole_number(text, "threads", 1, u64::MAX)?;
    usize::try_from(n).map_err(|_| format!("`{text}` is more threads than this machine can count"))
}

/// Runs `apiserver-doctor simulate`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    super::check_out_dir(&args.out)?;
    let start = simulate::parse_time(&args.start).map_err(anyhow::Error::msg).context("--start")?;
    let mut cfg = Config::new(start);
    cfg.nodes = args.nodes;
    cfg.duration_seconds =
        simulate::parse_duration(&args.duration).map_err(anyhow::Error::msg).context("--duration")?;
    cfg.seed = args.seed;
    cfg.scenarios = args
        .scenario
        .iter()
        .map(|s| s.parse::<Scenario>())
        .collect::<Result<_, _>>()
        .context("--scenario")?;
    cfg.format = args.format.parse::<OutputFormat>().context("--format")?;
    cfg.version = KubeVersion::parse(&args.kubernetes_version).with_context(|| {
        format!(
            "--kubernetes-version: `{}` is not a version the simulator knows (1.16, 1.19 to 1.35)",
            args.kubernetes_version
        )
    })?;
    cfg.compression = if args.gzip {
        audit::write::Compression::Gzip
    } else if args.zstd {
        audit::write::Compression::Zstd
    } else {
        audit::write::Compression::None
    };
    cfg.max_file_bytes = args.max_file_mib.saturating_mul(1 << 20);
    if let Some(t) = args.threads {
        cfg.threads = t.max(1);
    }
    // Every argument is checked before a previous run's files go: a typo must not cost them.
    simulate::check(&cfg)?;
    // A previous run's audit files left beside the new ones would be diagnosed with them.
    simulate::out_dir::clear_previous_run(&args.out)?;
    let show_progress = !args.quiet && std::io::stderr().is_terminal();
    let began = Instant::now();
    let mut last_percent = usize::MAX;
    let mut progress = |p: simulate::Progress| {
        if !show_progress {
            return;
        }
        let percent = p.done * 100 / p.total.max(1);
        if percent != last_percent {
            last_percent = percent;
            let secs = began.elapsed().as_secs_f64().max(1e-3);
            eprint!(
                "\r{percent:3}%  {} events  {} MB  {} events/s",
                super::count(p.events),
                super::count((p.bytes as f64 / 1e6).round() as u64),
                super::count((p.events as f64 / secs).round() as u64)
            );
        }
    };
    let summary = simulate::simulate(&cfg, &args.out, &mut progress)?;
    if show_progress {
        eprintln!();
    }
    let secs = began.elapsed().as_secs_f64().max(1e-3);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "wrote {} audit events ({} requests) to {}",
        super::count(summary.events),
        super::count(summary.requests),
        args.out.display()
    )?;
    writeln!(
        out,
        "{:.1} s, {} events/s, {:.0} MB/s ({:.2} GB of audit JSON)",
        secs,
        super::count((summary.events as f64 / secs).round() as u64),
        summary.audit_bytes as f64 / 1e6 / secs,
        summary.audit_bytes as f64 / 1e9
    )?;
    for f in &summary.files {
        writeln!(out, "  {f}")?;
    }
    Ok(ExitCode::SUCCESS)
}
