//! `apiserver-doctor metrics`: identify each scrape, then report the metrics and etcd findings.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use findings::{Report, Severity, Thresholds};
use metrics::Snapshot;

/// Output format of `metrics` and `etcd`.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Output {
    /// Plain text.
    Text,
    /// JSON (the report model).
    Json,
    /// Markdown.
    Markdown,
    /// The self-contained HTML report.
    Html,
}

impl From<Output> for report::Format {
    fn from(o: Output) -> report::Format {
        match o {
            Output::Text => report::Format::Text,
            Output::Json => report::Format::Json,
            Output::Markdown => report::Format::Markdown,
            Output::Html => report::Format::Html,
        }
    }
}

/// Renders a report with the `report` crate's renderers (colour only on a terminal).
pub fn render(report: &findings::Report, output: Output, out: &mut dyn Write) -> std::io::Result<()> {
    use std::io::IsTerminal;
    let text = report::TextOptions {
        color: report::use_color(std::io::stdout().is_terminal(), std::env::var_os("NO_COLOR").as_deref()),
        ..report::TextOptions::default()
    };
    report::render(report, output.into(), out, &text)
}

/// The lowest severity that makes the exit code 1.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum FailOn {
    /// Any finding.
    Info,
    /// Warnings and critical findings.
    Warning,
    /// Critical findings only.
    Critical,
    /// Never.
    Never,
}

impl FailOn {
    /// The exit code for a report's findings.
    pub fn exit_code(self, report: &Report) -> ExitCode {
        let limit = match self {
            FailOn::Info => Severity::Info,
            FailOn::Warning => Severity::Warning,
            FailOn::Critical => Severity::Critical,
            FailOn::Never => return ExitCode::SUCCESS,
        };
        if report.worst().is_some_and(|w| w >= limit) { ExitCode::from(1) } else { ExitCode::SUCCESS }
    }
}

/// Arguments of `apiserver-doctor metrics`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  kubectl get --raw /metrics > apiserver-1.prom; sleep 300; kubectl get --raw /metrics > apiserver-2.prom\n  apiserver-doctor metrics apiserver-1.prom apiserver-2.prom etcd.prom\n  kubectl get --raw /metrics | apiserver-doctor metrics -\n\nTwo scrapes of the same target (same component and version) give rates and growth between them."
)]
pub struct Args {
    /// Scrapes: files (plain or gzip), `-` for standard input, or http(s):// URLs.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value = "text")]
    pub output: Output,
    /// Seconds between two scrapes of one target, when their samples carry no timestamps
    /// (otherwise the timestamps, then the files' modification times, are used).
    #[arg(long, value_name = "SECONDS")]
    pub interval: Option<f64>,
    /// Exit with 1 when a finding is at or above this severity.
    #[arg(long, value_enum, default_value = "critical")]
    pub fail_on: FailOn,
}

/// Loads every scrape, warning on standard error about bad lines (file:line: message).
pub fn load_all(sources: &[String]) -> anyhow::Result<Vec<Snapshot>> {
    let mut out = Vec::new();
    for source in sources {
        let s = metrics::load::load(source).with_context(|| format!("cannot read metrics from {source}"))?;
        let e = &s.exposition;
        for err in e.errors.iter().take(10) {
            eprintln!("warning: {source}:{}: {}", err.line, err.message);
        }
        if e.error_count > 10 {
            eprintln!("warning: {source}: {} more bad lines skipped", e.error_count - 10);
        }
        if e.samples.is_empty() {
            anyhow::bail!("{source}: no metric samples in it (is it a /metrics scrape?)");
        }
        out.push(s);
    }
    Ok(out)
}

/// Runs `apiserver-doctor metrics`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(i) = args.interval {
        anyhow::ensure!(i.is_finite() && i > 0.0, "--interval must be a positive number of seconds, got {i}");
    }
    let snapshots = load_all(&args.files)?;
    let report = etcd::report::scrapes_report(&snapshots, args.interval, &Thresholds::default());
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    render(&report, args.output, &mut out)?;
    out.flush()?;
    Ok(args.fail_on.exit_code(&report))
}
