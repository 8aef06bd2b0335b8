//! `apiserver-doctor demo`: simulate a large cluster hour in trouble, ingest it, diagnose it and
//! write the HTML report — the whole product in one command, with nothing to install.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use checks::AuditRequest;
use findings::{Report, Severity};

/// The scenarios the demo injects.
pub const SCENARIOS: [&str; 3] = ["list-storm", "object-leak", "webhook-outage"];

/// The file that marks a directory's `cluster/`, `store/` and `report.html` as a demo's, which
/// the next demo into it may replace.
pub const MARKER: &str = ".apiserver-doctor-demo";

const MARKER_TEXT: &str = "Written by `apiserver-doctor demo`: the next demo with this --out replaces \
cluster/, store/ and report.html here. Remove this file to keep them from being replaced.\n";

/// Arguments of `apiserver-doctor demo`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Writes DIR/cluster/ (the simulated audit logs, metrics and manifests), DIR/store/ \
(the ingested events), DIR/report.html and the marker DIR/.apiserver-doctor-demo. Everything is simulated: \
no cluster is contacted. At the default size (5,000 nodes, 1h) that is about 8 GB of audit logs under DIR, \
and the run takes from half a minute to a few, with the disk; `--nodes 100 --duration 10m` writes a small \
one for a quick look.")]
pub struct Args {
    /// Directory to write into. A previous demo's files there are replaced; a cluster/, store/
    /// or report.html a demo did not write is refused.
    #[arg(long, value_name = "DIR", default_value = "apiserver-doctor-demo")]
    pub out: PathBuf,
    /// Nodes in the simulated cluster (1 to 100,000).
    #[arg(long, default_value_t = 5000, allow_negative_numbers = true, value_parser = super::simulate::node_count)]
    pub nodes: usize,
    /// Length of the simulated window, with its unit: 1h, 30m, 90s.
    #[arg(long, default_value = "1h", allow_hyphen_values = true)]
    pub duration: String,
    /// Seed of the simulation (the same seed gives the same cluster).
    #[arg(long, default_value_t = 1, allow_negative_numbers = true, value_parser = super::simulate::seed)]
    pub seed: u64,
}

/// Whether `cluster` is what a demo of a version before the marker wrote: the simulator's
/// `scenario.json`, which names the audit events it simulated.
fn older_demo(cluster: &Path) -> bool {
    std::fs::read(cluster.join("scenario.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .is_some_and(|v| v["audit"]["events"].is_u64() && v["scenarios"].is_array())
}

/// Runs `apiserver-doctor demo`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    super::check_out_dir(&args.out)?;
    let began = Instant::now();
    let tell = std::io::stderr().is_terminal();
    let start = simulate::parse_time(simulate::DEFAULT_START).map_err(anyhow::Error::msg)?;
    let mut cfg = simulate::Config::new(start);
    cfg.nodes = args.nodes;
    cfg.duration_seconds =
        simulate::parse_duration(&args.duration).map_err(anyhow::Error::msg).context("--duration")?;
    // The window as parsed, with its unit: `--duration 90m` is said `1h 30m`.
    let window = findings::duration(cfg.duration_seconds);
    cfg.seed = args.seed;
    cfg.scenarios = SCENARIOS.iter().map(|s| s.parse::<simulate::Scenario>()).collect::<Result<_, _>>()?;

    let cluster = args.out.join("cluster");
    let store = args.out.join("store");
    let report_path = args.out.join("report.html");
    let marker = args.out.join(MARKER);
    // Only what a demo wrote is removed: a directory with the marker. Anything else of these
    // names is the user's (a support bundle unpacked into `cluster`, a real store).
    if !marker.is_file() && !older_demo(&cluster) {
        let theirs: Vec<String> = [&cluster, &store, &report_path]
            .into_iter()
            .filter(|p| p.symlink_metadata().is_ok())
            .map(|p| p.display().to_string())
            .collect();
        if !theirs.is_empty() {
            anyhow::bail!(
                "{} {} and {} not written by `apiserver-doctor demo` (there is no {}): nothing was changed; \
                 choose another --out (a new or empty directory)",
                theirs.join(", "),
                if theirs.len() == 1 { "exists" } else { "exist" },
                if theirs.len() == 1 { "was" } else { "were" },
                marker.display()
            );
        }
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    std::fs::write(&marker, MARKER_TEXT).with_context(|| format!("writing {}", marker.display()))?;
    for dir in [&cluster, &store] {
        if dir.exists() {
            std::fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
        }
    }

    let step = Instant::now();
    if tell {
        eprintln!(
            "simulating a {}-node cluster, {} of traffic, with {} ...",
            cfg.nodes,
            window,
            SCENARIOS.join(", ")
        );
    }
    let summary = simulate::run(&cfg, &cluster)?;
    let simulated = step.elapsed();

    let step = Instant::now();
    let audit_files = sorted_files(&cluster.join("audit"))?;
    if tell {
        let n = audit_files.len();
        eprintln!("ingesting {n} audit file{} into {} ...", if n == 1 { "" } else { "s" }, store.display());
    }
    let mut inputs = super::ingest_cache::ingest_into(&audit_files, &store, tell, false)?;
    let ingested = step.elapsed();

    let step = Instant::now();
    if tell {
        eprintln!("diagnosing ...");
    }
    let mut report = super::diagnose::diagnose_store(&store, &AuditRequest::default(), &mut inputs, false)?;
    let manifests_dir = cluster.join("manifests");
    let manifests =
        if manifests_dir.is_dir() { Some(super::diagnose::load_manifests(&[manifests_dir])?) } else { None };
    let metric_files: Vec<String> =
        sorted_files(&cluster.join("metrics"))?.iter().map(|p| p.display().to_string()).collect();
    if !metric_files.is_empty() {
        let snapshots = super::metrics::load_all(&metric_files)?;
        super::diagnose::add_metrics(
            &mut report,
            &snapshots,
            None,
            manifests.as_ref(),
            &findings::Thresholds::default(),
        );
    }
    if let Some(m) = &manifests {
        super::diagnose::add_manifests(&mut report, m, &findings::Thresholds::default());
    }
    // As diagnose: one problem's remedy once, on the finding that knows most.
    etcd::overlap::one_remedy_per_problem(&mut report.findings);
    super::diagnose::ready_to_paste(&mut report, None);
    findings::sort_findings(&mut report.findings);
    let diagnosed = step.elapsed();

    let mut file = std::io::BufWriter::new(
        std::fs::File::create(&report_path)
            .with_context(|| format!("cannot create {}", report_path.display()))?,
    );
    report::render_html(&report, &mut file).with_context(|| format!("writing {}", report_path.display()))?;
    file.flush().with_context(|| format!("writing {}", report_path.display()))?;

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(
        out,
        "Simulated a {}-node cluster for {} with {}: {} audit events ({:.2} GB).",
        cfg.nodes,
        window,
        SCENARIOS.join(", "),
        report::format::thousands(summary.events),
        summary.audit_bytes as f64 / 1e9
    )?;
    writeln!(out)?;
    summarize(&report, &mut out)?;
    writeln!(out)?;
    writeln!(out, "Full report: {}", absolute(&report_path).display())?;
    writeln!(
        out,
        "Took {:.1} s (simulate {:.1} s, ingest {:.1} s, diagnose {:.1} s).",
        began.elapsed().as_secs_f64(),
        simulated.as_secs_f64(),
        ingested.as_secs_f64(),
        diagnosed.as_secs_f64()
    )?;
    writeln!(
        out,
        "Try it on your own: apiserver-doctor diagnose {} --metrics {} --manifests {}",
        quoted(&cluster.join("audit")),
        quoted(&cluster.join("metrics")),
        quoted(&cluster.join("manifests"))
    )?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The findings at warning or above, one line each, worst first.
fn summarize(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let serious: Vec<_> = report.findings.iter().filter(|f| f.severity >= Severity::Warning).collect();
    writeln!(out, "{} findings at warning or above:", serious.len())?;
    for f in serious {
        writeln!(out, "  {:<8} {}  {}", f.severity.as_str().to_uppercase(), f.code, f.title)?;
    }
    Ok(())
}

/// The regular files of `dir`, sorted by name.
fn sorted_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// `path` as a shell word, to copy and paste (`'my demo/cluster/audit'`).
fn quoted(path: &Path) -> String {
    findings::text::shell_quote(&path.display().to_string())
}
