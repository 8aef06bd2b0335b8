//! `apiserver-doctor`: the command line. It only parses arguments and dispatches; every
//! capability lives in a library crate, and each subcommand is one module of `cmd`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// `eprintln!` that never panics. The standard one panics when standard error is a closed
/// pipe (`apiserver-doctor diagnose … 2>&1 | head`), which turned the documented exit code (1
/// for a finding, 2 for an input error) into a panic's 101. A message nobody can read any more
/// is dropped; the exit code still says what happened. Defined before `mod cmd` so that it
/// replaces the standard macro in every subcommand.
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// `eprint!` that never panics (see `eprintln!` above).
macro_rules! eprint {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($arg)*);
    }};
}

mod cmd;

/// Finds the client, resource or webhook that hurts a Kubernetes API server or etcd.
///
/// Exit codes: 0 no finding at or above --fail-on, 1 such findings, 2 usage or input error.
#[derive(Parser)]
#[command(name = "apiserver-doctor", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a 5,000-node cluster hour with real-shaped problems, diagnose it, write a report.
    Demo(cmd::demo::Args),
    /// Read audit logs in any format into the columnar store.
    #[command(after_help = INGEST_FORMATS)]
    Ingest(cmd::ingest::Args),
    /// Summarise what the store holds: events, time range, formats, verbs, skipped records.
    #[command(
        after_help = "Exit codes: 0 the summary; 2 no store there, or a store that cannot be opened, or \
one damaged (a data file it lists is missing, unreadable or not Parquet): the counts printed are then the \
manifest's, and the error names the file."
    )]
    Stats(cmd::stats::Args),
    /// Run a Kusto (KQL) query over the store or over files.
    Query(cmd::query::Args),
    /// Diagnose: name who hurts the control plane, with evidence and fixes.
    Diagnose(Box<cmd::diagnose::Args>),
    /// List the checks diagnose runs.
    Checks(cmd::checks::Args),
    /// Print a check's documentation.
    Explain(cmd::explain::Args),
    /// Read kube-apiserver or etcd /metrics snapshots and report their findings.
    Metrics(cmd::metrics::Args),
    /// Inspect a live etcd through its v3 JSON gateway (read-only).
    Etcd(cmd::etcd::Args),
    /// Probe the network path to an API server: DNS, TCP, TLS, /readyz, /livez.
    Probe(cmd::probe::Args),
    /// Write realistic audit logs, metrics and manifests of a large cluster in trouble.
    Simulate(cmd::simulate::Args),
    /// Write the FlowSchema and PriorityLevelConfiguration that throttle one client now.
    Throttle(cmd::throttle::Args),
    /// Write ResourceQuota object-count quotas that stop a leak, and the commands that clear it.
    Quota(cmd::quota::Args),
}

/// The audit log formats read, for `ingest --help` (what `diagnose PATH` and `query --input`
/// read too): an error that finds no audit event points there, and a user of the binary alone
/// has no docs/formats.md (docs review 51, item 1.4). One line each, as formats.md's sections.
const INGEST_FORMATS: &str = "\
Formats read, told apart by each file's content, never its name; `ingest`
prints the one it found for each file, with its container: `k8s-log (cri-log)`.
  k8s-log              Kubernetes audit events (audit.k8s.io/v1) as the log
                       backend writes them: JSON lines, a JSON array, objects
                       one after another, pretty-printed documents, YAML
  eventlist            the webhook backend's EventList documents
  (in containers)      the same in a container log: CRI (containerd, CRI-O,
                       /var/log/pods), Docker's json-file (lines split at
                       16 KiB joined), `kubectl logs --timestamps`
  aks-audit            AKS: AKSAudit and AKSAuditAdmin rows (Log Analytics
                       JSON or REST API; aks-audit-csv: the portal's CSV)
  azure-diagnostics    AKS: AzureDiagnostics rows, the event in log_s (JSON;
                       azure-diagnostics-csv: the portal's CSV)
  diagnostic-envelope  AKS diagnostic settings: {\"records\": [...]} from a
                       storage account or Event Hub; Event Hubs Capture (Avro)
  cloudwatch           EKS: CloudWatch Logs subscription payloads (Firehose,
                       Kinesis, Lambda), exports to S3, Logs Insights results,
                       `aws logs filter-log-events` and `get-log-events`
  gke                  GKE: Cloud Logging entries (`gcloud logging read`, JSON
                       or YAML; Cloud Storage sinks)
  (in log stores)      the event a store or shipper wraps: Elasticsearch and
                       OpenSearch hits, Splunk's _raw (JSON or CSV export),
                       Grafana Loki (logcli), a `log` field (Fluent Bit)
gzip and zstd (up to 3 layers) are decompressed, and tar archives (.tar, .tgz,
.tar.zst) read file by file. Anything else is reported as not an audit format,
named for what it is when that is clear (a /metrics scrape, manifests, xz).";

/// glibc gives threads that allocate at once arenas of their own (up to 8 per core). Ingest
/// parses on the rayon threads and frees on the writer and encoder threads, which leaves
/// those arenas fragmented: ingesting a 5,000-node hour (8.26 GB) peaked at 1.01–1.16 GB
/// resident with the default and at 854 MB with two arenas, and ran faster (63.7 s against
/// 68.8 s, `diagnose` cold; see docs/performance.md). A `MALLOC_ARENA_MAX` the user set wins.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas(arenas: i32) {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    // SAFETY: `mallopt` only sets an allocator tunable and takes plain integers; it runs in
    // `main` right after the arguments are parsed (which starts no thread), before this program
    // starts any thread, and `M_ARENA_MAX` with a positive value (2 or 4) is a documented glibc
    // parameter (mallopt(3)). Its result (1 on success) only says
    // whether the tunable was taken; either way allocation works as before.
    #[allow(unsafe_code)]
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, arenas);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas(_arenas: i32) {}

/// The glibc arenas for a command: two, but four for `query`, whose rows are written by one
/// thread while two run the plan (session 56: with two arenas the three contended, and a
/// query writing 1.1 M rows as they came took 10.5–10.8 s against 8.4 s with four).
fn arenas_for(command: &Command) -> i32 {
    if matches!(command, Command::Query(_)) { 4 } else { 2 }
}

impl Command {
    /// What the command writes to standard output, for the message when it cannot.
    fn output(&self) -> &'static str {
        match self {
            Command::Stats(_) => "the store's summary",
            Command::Query(_) => "the query's result",
            Command::Diagnose(_)
            | Command::Demo(_)
            | Command::Metrics(_)
            | Command::Etcd(_)
            | Command::Probe(_) => "the report",
            _ => "the output",
        }
    }
}

fn main() -> ExitCode {
    // Parsing the arguments starts no thread: the arenas are still set before any.
    let cli = Cli::parse();
    limit_malloc_arenas(arenas_for(&cli.command));
    cmd::progress::watch_signals();
    let output = cli.command.output();
    let ingesting = matches!(cli.command, Command::Ingest(_));
    let result = match cli.command {
        Command::Demo(args) => cmd::demo::run(args),
        Command::Ingest(args) => cmd::ingest::run(args),
        Command::Stats(args) => cmd::stats::run(args),
        Command::Query(args) => cmd::query::run(args),
        Command::Diagnose(args) => cmd::diagnose::run(*args),
        Command::Checks(args) => cmd::checks::run(args),
        Command::Explain(args) => cmd::explain::run(args),
        Command::Metrics(args) => cmd::metrics::run(args),
        Command::Etcd(args) => cmd::etcd::run(args),
        Command::Probe(args) => cmd::probe::run(args),
        Command::Simulate(args) => cmd::simulate::run(args),
        Command::Throttle(args) => cmd::throttle::run(args),
        Command::Quota(args) => cmd::quota::run(args),
    };
    // A private temporary store made because the cache could not be written goes now.
    cmd::ingest_cache::remove_temporary_stores();
    if let Some(signal) = cmd::progress::interrupted() {
        return interrupted(signal, result, ingesting);
    }
    match result {
        Ok(code) => code,
        Err(err) if cmd::is_broken_pipe(&err) => ExitCode::SUCCESS,
        // `… | head`: the reader has what it wanted; quiet, as Unix tools are.
        Err(_) if cmd::stdout_failure().is_some_and(|f| f.closed_pipe) => ExitCode::SUCCESS,
        Err(_) if !ingesting && let Some(failed) = cmd::stdout_failure() => {
            eprintln!("error: {output} could not be written to standard output: {}", failed.why);
            ExitCode::from(2)
        }
        Err(err) => {
            eprintln!("error: {}", cmd::message(&err));
            ExitCode::from(2)
        }
    }
}

/// The end of a run a signal stopped while it read (see `cmd::progress::watch_signals`): what
/// happened, what was kept, and exit code 128 + the signal (130 for Ctrl-C, 143 for SIGTERM).
fn interrupted(signal: i32, result: anyhow::Result<ExitCode>, ingesting: bool) -> ExitCode {
    let how = cmd::progress::signal_name(signal);
    let stopped = result.as_ref().err().and_then(|err| {
        err.chain().find_map(|cause| match cause.downcast_ref::<audit::ingest::IngestError>() {
            Some(audit::ingest::IngestError::Interrupted { store, .. }) => {
                Some((cause.to_string(), store.clone()))
            }
            _ => None,
        })
    });
    match (result, stopped) {
        (Err(_), Some((what, _))) if ingesting => eprintln!("{how}: {what}"),
        (Err(_), Some((_, store))) => eprintln!(
            "{how} while the files were read into {}: the run stopped there, and what it had read was removed \
             (a cached copy of files is kept only once whole)\nrun the same command again to read them",
            store.display()
        ),
        // The signal came as the read ended: the run went on and completed.
        (Ok(code), _) => {
            eprintln!(
                "note: {how} as the reading ended: the run had read everything and went on to complete"
            );
            return code;
        }
        (Err(err), None) => eprintln!("{how}; error: {}", cmd::message(&err)),
    }
    ExitCode::from(u8::try_from(128 + signal).unwrap_or(u8::MAX))
}

#[cfg(test)]
mod tests {
    use super::cmd::message;
    use clap::CommandFactory;

    /// A subcommand's `--help`, as printed.
    fn help(name: &str) -> String {
        let mut cli = super::Cli::command();
        let sub = cli.find_subcommand_mut(name).unwrap_or_else(|| panic!("no subcommand {name}"));
        sub.render_long_help().to_string()
    }

    /// Docs review 51, item 1.4: `diagnose` sends a user whose files held no audit event to
    /// `ingest --help` for the formats read, and it listed none.
    #[test]
    fn ingest_help_lists_the_formats_read() {
        let text = help("ingest");
        for format in [
            "k8s-log",
            "eventlist",
            "aks-audit",
            "azure-diagnostics",
            "diagnostic-envelope",
            "cloudwatch",
            "gke",
            "CRI (containerd, CRI-O",
            "Event Hubs Capture (Avro)",
            "gzip and zstd",
        ] {
            assert!(text.contains(format), "{format}:\n{text}");
        }
    }

    /// Docs review 51, section 4: gaps in the help texts.
    #[test]
    fn help_texts_name_what_docs_review_51_found_missing() {
        let demo = help("demo");
        assert!(demo.contains("about 8 GB") && demo.contains("`--nodes 100 --duration 10m`"), "{demo}");
        for name in ["metrics", "etcd", "probe", "diagnose"] {
            let text = help(name);
            assert!(text.contains("--fail-on <SEVERITY>"), "{name}:\n{text}");
        }
        let query = help("query");
        assert!(query.contains("APISERVER_DOCTOR_MEMORY_LIMIT"), "{query}");
        let probe = help("probe");
        assert!(probe.contains("HTTPS_PROXY") && probe.contains("NO_PROXY"), "{probe}");
        let stats = help("stats");
        assert!(stats.contains("2 no store there") && stats.contains("damaged"), "{stats}");
        let explain = help("explain");
        assert!(explain.contains("`apiserver-doctor checks` lists every check"), "{explain}");
    }

    /// Review: `probe` and `etcd` listed no exit codes where `diagnose`, `stats` and `throttle`
    /// do, and `probe`'s help gave neither `--timeout`'s range nor `--attempts`'.
    #[test]
    fn probe_and_etcd_help_listed_no_exit_codes() {
        for name in ["probe", "etcd"] {
            let text = help(name);
            for says in
                ["Exit codes: 0 nothing at or above --fail-on; 1 a finding at or above it", "2 a usage error"]
            {
                assert!(text.contains(says), "{name}: {says}:\n{text}");
            }
        }
        let probe = help("probe");
        assert!(probe.contains("whole seconds from 1 to 120"), "{probe}");
        assert!(probe.contains("a whole number from 1 to 20"), "{probe}");
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory");
        let err = anyhow::Error::new(audit::read::ReadError::Io { path: "nope.log".into(), source: io });
        assert_eq!(message(&err), "nope.log: No such file or directory");
        let err = err.context("cannot read metrics from nope.prom");
        assert_eq!(message(&err), "cannot read metrics from nope.prom: nope.log: No such file or directory");
        // A cause the message does not hold is still shown.
        let err = anyhow::anyhow!("disk on fire").context("cannot write the report");
        assert_eq!(message(&err), "cannot write the report: disk on fire");
    }
}
