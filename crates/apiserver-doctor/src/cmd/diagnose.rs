//! `apiserver-doctor diagnose`: name who hurts the control plane, with evidence and fixes.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use checks::engine_runner::EngineRunner;
use checks::{AuditRequest, WindowEnd};
use findings::{InputSummary, REPORT_SCHEMA_VERSION, Report};
use remedy::KubernetesVersion;

/// Examples in `diagnose --help`: one command per line, each short enough for an 80-column
/// terminal, so that no line is wrapped in the middle of a command and each can be pasted.
const EXAMPLES: &str = "Examples:
  apiserver-doctor diagnose /var/log/kube-apiserver/
  apiserver-doctor diagnose --store ./incident --since 1h --report report.html
  apiserver-doctor diagnose audit/ --metrics apiserver.prom --cluster

  # --manifests: export what the webhook and APF checks read, then diagnose
  mkdir -p manifests
  kubectl get mutatingwebhookconfigurations -o yaml > manifests/mwc.yaml
  kubectl get validatingwebhookconfigurations -o yaml > manifests/vwc.yaml
  kubectl get flowschemas -o yaml > manifests/fs.yaml
  kubectl get prioritylevelconfigurations -o yaml > manifests/plc.yaml
  kubectl get namespaces -o yaml > manifests/ns.yaml
  apiserver-doctor diagnose audit/ --manifests manifests/

Exit codes: 0 nothing at or above --fail-on, 1 a finding at or above it, 2 a usage error or
nothing usable to diagnose (every input empty, unreadable or of the wrong kind, or no audit
event in the window). When some inputs are usable and others are not, the report says which
were left out and why. `apiserver-doctor checks` lists the checks and `apiserver-doctor
explain CODE` prints one's documentation.";

/// Arguments of `apiserver-doctor diagnose`.
#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Audit logs: files or directories, any format ingest reads (`.gz`, `.zst` too). They are
    /// ingested into a cache keyed by the files, so a second run is fast: under
    /// $XDG_CACHE_HOME/apiserver-doctor, else ~/.cache/apiserver-doctor; the most recent
    /// 4 stores are kept, and deleting the directory is safe. Without paths, the store
    /// (`--store`) is diagnosed.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The store to diagnose instead of files [default: `APISERVER_DOCTOR_STORE` when set and
    /// not empty, else ./apiserver-doctor-store]
    #[arg(long, value_name = "DIR", conflicts_with = "paths")]
    pub store: Option<PathBuf>,
    /// End of the window analysed: `latest` (the newest event in the data), a time (RFC 3339,
    /// e.g. 2025-03-11T09:30:00Z; a bare date is its midnight UTC, a time without a zone is
    /// UTC, and forms such as 11/03/2025 are refused as ambiguous) or `now` (the wall clock).
    /// Unlike `query`, whose now() is the wall clock unless --now is given.
    #[arg(long, value_name = "TIME|latest|now", default_value = "latest", allow_hyphen_values = true)]
    pub now: String,
    /// Length of the window, back from `--now` (e.g. `1h`, `30m`, `1h30m`, `2d`; more than
    /// zero); default: from the first event.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub since: Option<String>,
    /// Also write the self-contained HTML report to this file.
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// Output on stdout (`html`: the self-contained report --report writes).
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FORMAT",
        value_enum,
        ignore_case = true,
        default_value = "text"
    )]
    pub output: super::metrics::Output,
    /// Exit with code 1 when a finding is at least this severe (`never`: exit 0 whatever is
    /// found), as in `metrics`, `etcd` and `probe`.
    #[arg(long, value_name = "SEVERITY", value_enum, ignore_case = true, default_value = "critical")]
    pub fail_on: super::metrics::FailOn,
    /// YAML file overriding thresholds by name and the Kubernetes version (`apiserver-doctor
    /// checks --markdown` lists every threshold and the file's format).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// kube-apiserver or etcd `/metrics` snapshots to add to the diagnosis: a file, or a
    /// directory of them (as `metrics` reads them). Repeat it for several: `--metrics a.prom
    /// --metrics b.prom`; one value per flag, so a path after it is an audit log.
    #[arg(long, value_name = "FILE")]
    pub metrics: Vec<PathBuf>,
    /// Seconds between two `--metrics` scrapes of one target, used only when their samples
    /// carry no timestamps (as `apiserver-doctor metrics --interval`, more than 0 and at most a
    /// year): copies of scrape files have modification times too close to say when they were
    /// scraped.
    #[arg(long, value_name = "SECONDS", requires = "metrics", allow_negative_numbers = true)]
    pub metrics_interval: Option<f64>,
    /// Admission webhook configurations, FlowSchemas, PriorityLevelConfigurations and Namespaces
    /// to add to the diagnosis, as `kubectl get … -o yaml` (or `-o json`) writes them: a file, or
    /// a directory whose `.yaml`, `.yml` and `.json` files are read (see the examples below).
    /// Repeat it for several; one value per flag, so a path after it is an audit log.
    #[arg(long, value_name = "PATH")]
    pub manifests: Vec<PathBuf>,
    /// Read the webhook configurations, FlowSchemas, PriorityLevelConfigurations and Namespaces
    /// from the cluster with `kubectl get … -o json` (kubectl's own credentials and context),
    /// as if given with --manifests, and the API server's /metrics (`kubectl get --raw
    /// /metrics`), as if given with --metrics. Read-only.
    #[arg(long)]
    pub cluster: bool,
    /// The kubectl context `--cluster` reads (default: the current one).
    #[arg(long, value_name = "NAME", requires = "cluster")]
    pub context: Option<String>,
    /// An API server to probe and add to the diagnosis: its address (https://HOST[:PORT]), as
    /// `apiserver-doctor probe` does (DNS, TCP, TLS, /readyz, /livez).
    #[arg(long, value_name = "URL")]
    pub probe: Option<String>,
    /// CA bundle to verify the probed API server's certificate.
    #[arg(long, value_name = "FILE", requires = "probe")]
    pub probe_cacert: Option<PathBuf>,
    /// A live etcd to add to the diagnosis: client URLs of its members, comma-separated
    /// (read-only: status, alarms, /metrics and a paginated key scan, as `apiserver-doctor etcd`).
    #[arg(long, value_name = "URL[,URL...]", value_delimiter = ',')]
    pub etcd: Vec<String>,
    /// CA bundle to verify the etcd members' certificates.
    #[arg(long, value_name = "FILE", requires = "etcd")]
    pub etcd_cacert: Option<PathBuf>,
    /// Client certificate for etcd (PEM).
    #[arg(long, value_name = "FILE", requires_all = ["etcd", "etcd_key"])]
    pub etcd_cert: Option<PathBuf>,
    /// Client key for etcd (PEM).
    #[arg(long, value_name = "FILE", requires_all = ["etcd", "etcd_cert"])]
    pub etcd_key: Option<PathBuf>,
    /// etcd user, when etcd's authentication is on: NAME:PASSWORD, or NAME with the password
    /// in ETCDCTL_PASSWORD (as etcdctl's --user).
    #[arg(long, value_name = "NAME[:PASSWORD]", requires = "etcd")]
    pub etcd_user: Option<String>,
    /// The cluster's Kubernetes version, for the API versions of generated remedies (default:
    /// the version seen in the data, else 1.29).
    #[arg(long, value_name = "VERSION")]
    pub kubernetes_version: Option<String>,
}

/// Parses `--since`: whole numbers with units `d`, `h`, `m`, `s`, `ms`, concatenated.
pub fn parse_duration(text: &str) -> Option<chrono::Duration> {
    let mut total = chrono::Duration::zero();
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        let n: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.chars().take_while(char::is_ascii_alphabetic).count();
        let part = match &rest[..unit_len] {
            "d" => chrono::Duration::try_days(n)?,
            "h" => chrono::Duration::try_hours(n)?,
            "m" => chrono::Duration::try_minutes(n)?,
            "s" => chrono::Duration::try_seconds(n)?,
            "ms" => chrono::Duration::try_milliseconds(n)?,
            _ => return None,
        };
        total = total.checked_add(&part)?;
        rest = &rest[unit_len..];
    }
    (total > chrono::Duration::zero()).then_some(total)
}

/// Parses `--now`.
fn window_end(text: &str) -> anyhow::Result<WindowEnd> {
    match engine::Now::parse(text) {
        Some(engine::Now::Latest) => Ok(WindowEnd::Latest),
        Some(engine::Now::At(t)) => Ok(WindowEnd::At(t)),
        Some(engine::Now::Wall) => Ok(WindowEnd::At(chrono::Utc::now())),
        None => {
            // A well-formed time the store cannot hold: said so, not "expected a time" (review
            // s44: 2262-04-11T23:59:59Z, inside the years once given as the range, got the
            // format message). The range is exact: nanoseconds since 1970 in 64 bits.
            let trimmed = text.trim();
            let parsed =
                chrono::DateTime::parse_from_rfc3339(trimmed).map(|t| t.naive_utc()).ok().or_else(|| {
                    chrono::NaiveDate::parse_from_str(trimmed, "%Y-%m-%d")
                        .ok()
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                });
            let year = trimmed.get(..4).filter(|y| y.bytes().all(|b| b.is_ascii_digit()));
            let out_of_range = match parsed {
                Some(t) => t.and_utc().timestamp_nanos_opt().is_none(),
                None => {
                    year.and_then(|y| y.parse::<u32>().ok()).is_some_and(|y| !(1677..=2262).contains(&y))
                        && trimmed.as_bytes().get(4) == Some(&b'-')
                }
            };
            if out_of_range {
                let (first, last) = audit::timestamp::held_times();
                anyhow::bail!(
                    "--now: {text:?} is outside the times apiserver-doctor can hold ({first} to {last}, nanoseconds \
                     since 1970 in 64 bits)"
                )
            }
            anyhow::bail!(
                "--now: expected `latest`, `now` or a time such as 2024-05-01T10:00:00Z (year first; a time \
                 without a zone is UTC), got {text:?}"
            )
        }
    }
}

/// Everything resolved from the arguments before any work starts (usage errors first).
struct Plan {
    format: report::Format,
    request: AuditRequest,
}

/// `--since`: a positive duration.
fn since(text: &str) -> anyhow::Result<chrono::Duration> {
    if let Some(d) = parse_duration(text) {
        return Ok(d);
    }
    // `0s`, `0m`: a duration, but a window of no time holds nothing.
    let zero = !text.trim().is_empty()
        && text.trim().chars().all(|c| c.is_ascii_digit() || "dhms".contains(c))
        && text.chars().any(|c| c.is_ascii_digit())
        && !text.chars().any(|c| ('1'..='9').contains(&c));
    if zero {
        anyhow::bail!("--since {text}: the window must be longer than zero (e.g. 1h, 30m or 1h30m)");
    }
    anyhow::bail!("--since: expected a duration such as 1h, 30m or 1h30m, got {text:?}")
}

fn plan(args: &Args) -> anyhow::Result<Plan> {
    let mut request = AuditRequest { now: window_end(&args.now)?, ..AuditRequest::default() };
    if let Some(text) = &args.since {
        request.since = Some(since(text)?);
    }
    let config = super::read_config(args.config.as_deref())?;
    request.thresholds = config.thresholds;
    request.kubernetes_version = config.kubernetes_version;
    if let Some(v) = &args.kubernetes_version {
        request.kubernetes_version = Some(v.parse::<KubernetesVersion>().context("--kubernetes-version")?);
    }
    Ok(Plan { format: args.output.into(), request })
}

/// Where the audit events come from.
enum AuditSource {
    /// Raw files, ingested into the cache.
    Files(Vec<PathBuf>),
    /// An ingested store, and how it was named (`--store DIR`, `APISERVER_DOCTOR_STORE=DIR`).
    Store(PathBuf, String),
}

/// Whether evidence besides audit logs is given: metrics, etcd, manifests, a probe, the cluster.
fn other_evidence(args: &Args) -> bool {
    !args.metrics.is_empty()
        || !args.etcd.is_empty()
        || !args.manifests.is_empty()
        || args.probe.is_some()
        || args.cluster
}

/// The audit source the arguments name: files, `--store`, `APISERVER_DOCTOR_STORE`, or
/// `./apiserver-doctor-store` when nothing else (no metrics, no etcd) is given.
fn audit_source(args: &Args) -> anyhow::Result<Option<AuditSource>> {
    if !args.paths.is_empty() {
        return Ok(Some(AuditSource::Files(args.paths.clone())));
    }
    if let Some(store) = &args.store {
        return Ok(Some(AuditSource::Store(store.clone(), format!("--store {}", store.display()))));
    }
    if let Some(env) = super::store_from_env() {
        let named = format!("APISERVER_DOCTOR_STORE={}", env.display());
        return Ok(Some(AuditSource::Store(env, named)));
    }
    if other_evidence(args) {
        return Ok(None);
    }
    let default = PathBuf::from("apiserver-doctor-store");
    if !default.exists() {
        anyhow::bail!(
            "nothing to diagnose: give audit log files or directories, --store DIR, --metrics FILE, --manifests PATH, \
             --probe URL or --etcd URL \
             (no ./apiserver-doctor-store here)"
        );
    }
    Ok(Some(AuditSource::Store(default, "./apiserver-doctor-store (the default store)".to_owned())))
}

/// `a, b and c`.
fn listed(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Why manifests that hold no object the checks read are of no use, or `None` when they hold some.
fn manifests_unusable(m: &manifests::Manifests, args: &Args) -> Option<String> {
    if m.files.iter().any(|f| f.records() > 0) {
        return None;
    }
    let mut given: Vec<String> = args.manifests.iter().map(|p| p.display().to_string()).collect();
    let what = match (given.is_empty(), args.cluster) {
        (_, false) => format!("--manifests {}", given.join(" ")),
        (true, true) => "--cluster".to_owned(),
        (false, true) => {
            given.push("--cluster".to_owned());
            format!("--manifests {}", listed(&given))
        }
    };
    let other: u64 = m.files.iter().map(|f| f.other_objects).sum();
    let problems: usize = m.files.iter().map(|f| f.problems.len()).sum();
    let mut why = format!(
        "no webhook configuration, FlowSchema, PriorityLevelConfiguration or Namespace in {} read",
        plural(m.files.len(), "file", "files")
    );
    let events: u64 = m.files.iter().map(|f| f.audit_events).sum();
    if events > 0 {
        // The warning of `load_manifests` says to pass them as an audit log.
        why.push_str(&format!(", {}", plural(events as usize, "audit event", "audit events")));
    }
    if other > events {
        why.push_str(&format!(", {} of other kinds", plural((other - events) as usize, "object", "objects")));
    }
    if problems > 0 {
        why.push_str(&format!(", {} unreadable", plural(problems, "document", "documents")));
    }
    if !args.manifests.is_empty() {
        why.push_str(" (in a directory only .yaml, .yml and .json files are read)");
    }
    Some(format!("{what}: {why}; WHK001, APF001 and APF002 did not run"))
}

/// Said of a store an `ingest` holds locked while it is read.
pub const WRITING: &str = "(an ingest is writing to it right now: run again when it ends)";

/// What an audit diagnosis had to look at.
struct AuditEvidence {
    /// Events in the input or store.
    events: f64,
    /// Events in the window analysed (`None`: not counted).
    window_events: Option<f64>,
    /// The data's first and last event, when any carries a time.
    range: Option<findings::TimeRange>,
    /// The window analysed.
    window: findings::TimeRange,
}

impl AuditEvidence {
    /// Why no audit check had anything to look at, or `None` when they had. `what` names the
    /// input (`--store st`, `audit/`).
    fn unusable(&self, what: &str) -> Option<String> {
        if self.events == 0.0 {
            return Some(format!("{what}: no audit event in it"));
        }
        match (self.range, self.window_events) {
            // Not one event can be placed in time: no window holds any, so every check saw
            // nothing (report review 50, item 3: a full report, "ten checks run", exit 0).
            (None, _) => Some(format!(
                "{what}: none of its {} events carries a time (a stageTimestamp, or an export's TimeGenerated, \
                 between 1677 and 2262), so no window holds any of them and no check can look at them",
                report::format::number(self.events, 0),
            )),
            // The window ends before the data begins: without --since it is cut to nothing
            // (`00:00:00 → 00:00:00 (0s)`), a window nobody asked for; --now is what is wrong.
            (Some(data), Some(0.0)) if self.window.end < data.start => Some(format!(
                "{what}: --now {} is before the data's first event: its {} events run from {} to {} (--now latest, \
                 or a --now within that range, analyses them)",
                report::format::time(&self.window.end),
                report::format::number(self.events, 0),
                report::format::time(&data.start),
                report::format::time(&data.end),
            )),
            (Some(data), Some(0.0)) => Some(format!(
                "{what}: no audit event in the window analysed, {}; its {} events run from {} to {} (--now latest, \
                 or a --now and --since within that range, analyses them)",
                report::format::range(&self.window),
                report::format::number(self.events, 0),
                report::format::time(&data.start),
                report::format::time(&data.end),
            )),
            _ => None,
        }
    }
}

/// Runs `apiserver-doctor diagnose`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    super::metrics::check_interval("--metrics-interval", args.metrics_interval)?;
    let mut plan = plan(&args)?;
    let source = audit_source(&args)?;
    // Metrics files are read before the (slower) audit work. One that cannot be used is left
    // out and said so, as a bad audit or manifests file is: the diagnosis stops only when
    // nothing at all is usable (review s53, item 6: one HTML page given as --metrics refused
    // the whole run).
    let mut metrics_unusable: Vec<super::metrics::Unusable> = Vec::new();
    let mut snapshots = if args.metrics.is_empty() {
        Vec::new()
    } else {
        let sources: Vec<String> = args.metrics.iter().map(|p| p.display().to_string()).collect();
        // A path that is not there is a typo, refused as a missing audit file or --manifests
        // path is (UX review s55, item 1: a note in a report that exited 0).
        for (source, path) in sources.iter().zip(&args.metrics) {
            let local = source != "-" && !source.contains("://");
            if local
                && std::fs::symlink_metadata(path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
            {
                anyhow::bail!("--metrics {source}: no such file or directory");
            }
        }
        let (snapshots, bad) = super::metrics::load_usable(&sources);
        // The text report names each unusable file in its inputs; when none is usable, the
        // report's notes (or the error) say why. JSON, Markdown and HTML are read by others:
        // standard error says it too (UX review s55, item 1).
        let shown_in_report = snapshots.is_empty() && matches!(args.output, super::metrics::Output::Text);
        for u in bad.iter().filter(|_| !shown_in_report) {
            eprintln!("{}", u.warning("inputs"));
        }
        metrics_unusable = bad;
        snapshots
    };
    let mut manifests = if args.manifests.is_empty() { None } else { Some(load_manifests(&args.manifests)?) };
    if args.cluster && kubectl_signs_in(args.context.as_deref()) {
        snapshots.extend(cluster_metrics(args.context.as_deref()));
        read_cluster(manifests.get_or_insert_with(Default::default), args.context.as_deref());
        // Nothing read at all: the webhook and APF checks do not run, rather than say all is well.
        manifests = manifests.filter(|m| !m.files.is_empty() || !args.manifests.is_empty());
    }
    // Evidence given but of no use, and why: the error when nothing else is usable, else a
    // note in the report (its checks did not run, rather than say all is well).
    let mut unusable: Vec<String> = Vec::new();
    if snapshots.is_empty() {
        unusable.extend(metrics_unusable.iter().map(|u| format!("--metrics {}: {}", u.source, u.reason)));
    }
    if let Some(why) = manifests.as_ref().and_then(|m| manifests_unusable(m, &args)) {
        unusable.push(why);
        manifests = None;
    }
    if let Some(why) = super::metrics::none_of_known_kind(&snapshots) {
        unusable.push(format!("--metrics: {why}"));
        snapshots.clear();
    }
    // The cluster's version as its API server's scrape shows it, for the remedies' API versions
    // when none is given (docs/diagnose.md, Remedies; review s51, item 5).
    plan.request.scraped_version = scraped_version(&snapshots);
    if args.cluster && manifests.is_none() && snapshots.is_empty() && args.manifests.is_empty() {
        unusable.push("--cluster: kubectl read nothing (see the warnings above)".to_owned());
    }
    // Besides the audit logs: the metrics (the usable scrapes), the
    // manifests, a live etcd and a probe (both fail with an error when they cannot be reached).
    let other_usable =
        !snapshots.is_empty() || manifests.is_some() || !args.etcd.is_empty() || args.probe.is_some();
    let nothing = |mut unusable: Vec<String>, audit: Option<String>| {
        unusable.splice(0..0, audit);
        anyhow::anyhow!("nothing to diagnose:\n  {}", unusable.join("\n  "))
    };
    let mut report = match source {
        Some(AuditSource::Files(paths)) => {
            let (mut store, mut inputs) = super::ingest_cache::ingest(&paths)?;
            let named = paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
            if inputs.iter().all(|i| i.records == 0) && !other_usable {
                // The warnings above said what each file was read as.
                let why = format!(
                    "no audit event in {named} (of {}); `apiserver-doctor ingest --help` lists the formats read",
                    plural(inputs.len(), "input", "inputs")
                );
                return Err(nothing(unusable, Some(why)));
            }
            let (mut report, evidence) = match diagnose_audit_store(&store, &plan.request, &mut inputs, false)
            {
                // The cache's copy damaged inside a file (its size and footer whole, so the cache
                // did not see it): read the files again, once (review s53, item 1).
                Err(e) if is_store_damage(&e) => {
                    eprintln!(
                        "note: the cached copy of these files in {} is damaged ({}): it is removed and the files \
                         are read again",
                        store.display(),
                        super::message(&e).lines().nth(1).unwrap_or_default().trim()
                    );
                    super::ingest_cache::discard(&store);
                    (store, inputs) = super::ingest_cache::ingest(&paths)?;
                    diagnose_audit_store(&store, &plan.request, &mut inputs, false)?
                }
                other => other?,
            };
            if let Some(why) = evidence.unusable(&named)
                && !other_usable
            {
                return Err(nothing(unusable, Some(why)));
            }
            // The inputs' record counts include events read twice, which the store keeps once:
            // say so, or the counts disagree with the findings' without a word.
            if let Ok(manifest) = audit::store::Manifest::load(&store)
                && manifest.duplicates_dropped > 0
            {
                let n = manifest.duplicates_dropped;
                report.overview.notes.push(if n == 1 {
                    "1 event dropped as a duplicate of one read before (the same audit ID, stage and time), as \
                     ingest drops them: the records counted above include it, the findings count it once"
                        .to_owned()
                } else {
                    format!(
                        "{n} events dropped as duplicates of events read before (the same audit ID, stage and \
                         time), as ingest drops them: the records counted above include them, the findings count \
                         each once"
                    )
                });
            }
            report
        }
        Some(AuditSource::Store(dir, named)) => {
            super::check_store_dir(&dir, &named)?;
            let mut inputs = vec![input_summary("audit", &dir.display().to_string())];
            // The store's errors name its path; the environment variable is named too, since
            // the user may not know it is set.
            let (report, evidence) =
                diagnose_audit_store(&dir, &plan.request, &mut inputs, true).map_err(|e| {
                    if named.starts_with("APISERVER_DOCTOR_STORE") { e.context(named.clone()) } else { e }
                })?;
            // Read without waiting for a writer: what its last commit holds, which may be nothing yet.
            let writing = super::ingest_cache::ingest_is_writing(&dir);
            if let Some(why) = evidence.unusable(&named)
                && !other_usable
            {
                let why = if writing { format!("{why} {WRITING}") } else { why };
                return Err(nothing(unusable, Some(why)));
            }
            let mut report = report;
            if let Some(n) = inputs.first().map(|i| i.skipped).filter(|n| *n > 0) {
                report.overview.notes.push(format!(
                    "{}: {} skipped when the store was ingested; `apiserver-doctor stats --store {}` lists them by \
                     reason, with the first examples",
                    dir.display(),
                    if n == 1 { "1 record was".to_owned() } else { format!("{} records were", findings::thousands(n as i128)) },
                    dir.display()
                ));
            }
            if writing {
                report
                    .overview
                    .notes
                    .push(format!("{named}: this is what the store held at its last commit {WRITING}"));
            }
            report
        }
        None if !other_usable => return Err(nothing(unusable, None)),
        None => empty_report(),
    };
    // What was left out: the audit part says so itself (AUD009).
    report.overview.notes.extend(unusable);
    report.inputs.extend(metrics_unusable.into_iter().map(|u| findings::InputSummary {
        kind: "metrics".to_owned(),
        detected: Some(u.detected()),
        source: u.source,
        records: 0,
        skipped: 0,
    }));
    // etcd is read before the scrapes are judged: the API server's database size (MET004) is
    // judged against the quota the live members report (review s51, item 4).
    let live = if args.etcd.is_empty() {
        None
    } else {
        let options = etcd::CollectOptions {
            endpoints: args.etcd.clone(),
            tls: etcd::TlsFiles {
                cacert: args.etcd_cacert.clone(),
                cert: args.etcd_cert.clone(),
                key: args.etcd_key.clone(),
            },
            user: args
                .etcd_user
                .as_deref()
                .map(|u| etcd::Credentials::parse(u, std::env::var(etcd::Credentials::PASSWORD_ENV).ok()))
                .transpose()
                .map_err(|e| anyhow::anyhow!("--etcd-user: {e}"))?,
            ..etcd::CollectOptions::default()
        };
        let evidence = etcd::collect(&options).map_err(|e| match e {
            // The TLS files by diagnose's names of their options (`--etcd-cacert`), not
            // `apiserver-doctor etcd`'s (`--cacert`).
            etcd::ClientError::Tls { flag, path, message } => {
                anyhow::anyhow!("--etcd-{} {path}: {message}", flag.trim_start_matches('-'))
            }
            e => anyhow::Error::new(e).context(format!("--etcd {}", args.etcd.join(","))),
        })?;
        Some((options, evidence))
    };
    if !snapshots.is_empty() {
        add_report(
            &mut report,
            etcd::report::scrapes_report_with_timeouts(
                &snapshots,
                args.metrics_interval,
                live.as_ref().map(|(_, evidence)| evidence),
                &manifests.as_ref().map(webhook_timeouts).unwrap_or_default(),
                &plan.request.thresholds,
            ),
        );
    }
    if let Some((options, evidence)) = &live {
        add_report(
            &mut report,
            etcd::report::live_report_with_tls(evidence, &options.tls, &plan.request.thresholds),
        );
        etcd::report::unanswered_inputs(&mut report, &args.etcd, evidence);
        // A --metrics scrape of a member read live: its findings once.
        etcd::report::merge_scraped_into_live(&mut report, &snapshots, evidence);
        // The API server's database size beside a live ETC001 warning of it: one to act on.
        etcd::report::one_database_judged_once_with_live(&mut report);
    }
    if let Some(m) = &manifests {
        add_manifests(&mut report, m, &plan.request.thresholds);
    }
    if let Some(url) = &args.probe {
        let evidence =
            probe::collect(&super::probe::options(url, args.probe_cacert.clone().map(probe::Ca::File), 3, 5))
                .context("--probe")?;
        add_report(&mut report, super::probe::probe_report(&evidence, &plan.request.thresholds));
    }
    // One problem seen by several sources (a leak by AUD008, MET002 and ETC008, a webhook by
    // AUD007, MET009 and WHK001): its remedy once, on the finding that knows most (review s51,
    // item 7).
    etcd::overlap::one_remedy_per_problem(&mut report.findings);
    ready_to_paste(&mut report, plan.request.kubernetes_version.or(plan.request.scraped_version));
    findings::sort_findings(&mut report.findings);
    in_registry_order(&mut report.checks_run);
    super::unless_closed_pipe(write_outputs(&report, plan.format, args.report.as_deref()))?;
    Ok(args.fail_on.exit_code(&report))
}

/// The remedies of the merged findings made ready to paste, once every source is in: each
/// webhook patch with its way back and, before 1.21 (`version`), the namespace label it relies
/// on ([`manifests::followups::webhook_patch_followups`]); then every change with its
/// server-side dry run first ([`findings::dry_run::dry_run_first`]; reviewer items 8 and 9).
/// `demo` calls it too, with no version.
pub fn ready_to_paste(report: &mut Report, version: Option<KubernetesVersion>) {
    manifests::followups::webhook_patch_followups(&mut report.findings, version);
    findings::dry_run::dry_run_first(&mut report.findings);
}

/// Sorts check codes in registry order, as report-schema.md promises: each input's report lists
/// its own in order, but merged they followed the order the inputs were read in (review s51,
/// item 13: `… ETC005, ETC006, ETC009, ETC007, ETC008 …` with scrapes and a live etcd). A code
/// the registry does not hold goes last, in the order given.
fn in_registry_order(codes: &mut [String]) {
    let registry = checks::registry();
    codes.sort_by_key(|c| registry.iter().position(|i| i.code == c).unwrap_or(usize::MAX));
}

/// The Kubernetes version the kube-apiserver scrapes show (`kubernetes_build_info`), the
/// oldest when they differ (during an upgrade an object the oldest serves is one every
/// replica serves). Versions inferred from metric names are rough: not taken.
fn scraped_version(snapshots: &[metrics::Snapshot]) -> Option<KubernetesVersion> {
    snapshots
        .iter()
        .filter(|s| {
            s.target.kind == metrics::TargetKind::KubeApiserver
                && s.target.version_source == Some(metrics::target::VersionSource::BuildInfo)
        })
        .filter_map(|s| s.target.version.as_deref()?.parse::<KubernetesVersion>().ok())
        .min()
}

/// A report with no audit part, for diagnoses of metrics and etcd only.
fn empty_report() -> Report {
    Report {
        schema_version: REPORT_SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        window: None,
        inputs: Vec::new(),
        overview: Default::default(),
        findings: Vec::new(),
        checks_run: Vec::new(),
    }
}

/// Adds the metrics (`MET…`) and etcd-metrics (`ETC…`) findings of scrapes to `report`, the
/// webhooks judged against the timeouts of their configurations in `manifests` when given.
pub fn add_metrics(
    report: &mut Report,
    snapshots: &[metrics::Snapshot],
    interval_seconds: Option<f64>,
    manifests: Option<&manifests::Manifests>,
    thresholds: &findings::Thresholds,
) {
    let timeouts = manifests.map(webhook_timeouts).unwrap_or_default();
    add_report(
        report,
        etcd::report::scrapes_report_with_timeouts(snapshots, interval_seconds, None, &timeouts, thresholds),
    );
}

/// Each webhook's `timeoutSeconds` in the configurations read, by name, with the file and line
/// of its configuration. A name configured with two different timeouts (two configurations
/// hold it) is left out: which one the metrics' calls met is unknown.
pub fn webhook_timeouts(m: &manifests::Manifests) -> BTreeMap<String, metrics::WebhookTimeout> {
    let mut out: BTreeMap<String, metrics::WebhookTimeout> = BTreeMap::new();
    let mut clashing = Vec::new();
    for c in &m.webhook_configurations {
        for w in &c.webhooks {
            let t = metrics::WebhookTimeout {
                seconds: f64::from(w.timeout_seconds),
                from: format!("{}:{}", c.file, c.line),
            };
            match out.get(&w.name) {
                Some(seen) if seen.seconds != t.seconds => clashing.push(w.name.clone()),
                Some(_) => {}
                None => {
                    out.insert(w.name.clone(), t);
                }
            }
        }
    }
    for name in clashing {
        out.remove(&name);
    }
    out
}

/// Reads webhook manifests, warning on standard error about what was skipped (file:line: why)
/// and when nothing in them is something the checks read.
pub fn load_manifests(paths: &[PathBuf]) -> anyhow::Result<manifests::Manifests> {
    let m = manifests::load_paths(paths).context("--manifests")?;
    warn_skipped(&m.files);
    if m.files.iter().all(|f| f.records() == 0) {
        let other: u64 = m.files.iter().map(|f| f.other_objects).sum();
        // An audit log given as manifests (UX review: "export them with kubectl get" was the
        // wrong advice): what to do is pass it as the log.
        let logs: Vec<&str> =
            m.files.iter().filter(|f| f.audit_events > 0).map(|f| f.path.as_str()).collect();
        if !logs.is_empty() {
            let events: u64 = m.files.iter().map(|f| f.audit_events).sum();
            let others = other - events;
            let also = if others > 0 {
                format!(
                    " and {}",
                    plural(others as usize, "object of another kind", "objects of other kinds")
                )
            } else {
                String::new()
            };
            let shown = logs.iter().take(3).copied().collect::<Vec<_>>().join(" ");
            let more = if logs.len() > 3 { " …" } else { "" };
            eprintln!(
                "warning: --manifests: {} audit log, not manifests ({}{also}; no webhook configuration, \
                 FlowSchema, PriorityLevelConfiguration or Namespace): pass it as an audit log, \
                 `apiserver-doctor diagnose {shown}{more}` or `apiserver-doctor ingest {shown}{more}`",
                if logs.len() == 1 {
                    format!("{} is an", logs[0])
                } else {
                    format!("{} files are each an", logs.len())
                },
                plural(events as usize, "audit event", "audit events"),
            );
            return Ok(m);
        }
        eprintln!(
            "warning: --manifests: no webhook configuration, FlowSchema, PriorityLevelConfiguration or Namespace in \
             {} ({}); export them with `kubectl get \
             mutatingwebhookconfigurations,validatingwebhookconfigurations,flowschemas,prioritylevelconfigurations,namespaces -o yaml`",
            plural(m.files.len(), "file", "files"),
            plural(other as usize, "object of other kinds", "objects of other kinds"),
        );
    }
    Ok(m)
}

/// Warns on standard error about what was skipped in each file (file:line: why), ten at most
/// in full; the lines of the rest, twenty at most, so that every problem can be found (review
/// s41: the rest were only counted).
fn warn_skipped(files: &[manifests::FileSummary]) {
    const SHOWN: usize = 10;
    const LINES: usize = 20;
    for f in files {
        for p in f.problems.iter().take(SHOWN) {
            eprintln!("warning: {}:{}: {} (skipped)", f.path, p.line, p.message);
        }
        let Some(rest) = f.problems.get(SHOWN..).filter(|r| !r.is_empty()) else { continue };
        let mut lines: Vec<usize> = rest.iter().map(|p| p.line).collect();
        lines.dedup();
        let listed = lines.iter().take(LINES).map(|l| l.to_string()).collect::<Vec<_>>().join(", ");
        let more =
            if lines.len() > LINES { format!(" and {} more", lines.len() - LINES) } else { String::new() };
        eprintln!(
            "warning: {}: {} more problems, skipped and not shown, on {} {listed}{more}",
            f.path,
            rest.len(),
            if lines.len() == 1 { "line" } else { "lines" }
        );
    }
}

/// The kinds `--cluster` reads, one `kubectl get` each, so that a kind the cluster does not serve
/// (flowcontrol before 1.20) leaves the others.
const CLUSTER_KINDS: [&str; 5] = [
    "mutatingwebhookconfigurations.admissionregistration.k8s.io",
    "validatingwebhookconfigurations.admissionregistration.k8s.io",
    "flowschemas.flowcontrol.apiserver.k8s.io",
    "prioritylevelconfigurations.flowcontrol.apiserver.k8s.io",
    "namespaces",
];

/// Reads the cluster's webhook configurations, APF objects and Namespaces with `kubectl get -o
/// json` (`KUBECTL` names another binary) into `m`. A kind kubectl cannot read is a warning
/// with kubectl's message; the diagnosis goes on with the rest.
fn read_cluster(m: &mut manifests::Manifests, context: Option<&str>) {
    let before = m.files.len();
    read_kinds(m, context);
    warn_skipped(&m.files[before.min(m.files.len())..]);
}

/// How long one `kubectl get` of `--cluster` may take. `--request-timeout` bounds the API call
/// but not the kubeconfig's credential plugin, which may wait for a sign-in (review s47: each of
/// six calls waited silently for kubelogin's device code).
const KUBECTL_DEADLINE: std::time::Duration = std::time::Duration::from_secs(90);

/// How long the first call may take: its credential plugin may ask the user to sign in.
const KUBECTL_SIGN_IN_DEADLINE: std::time::Duration = std::time::Duration::from_secs(300);

/// `kubectl` (or `KUBECTL`) with `args`, `--request-timeout=20s` and `--context` when given,
/// and the command as shown to the user.
fn kubectl_command(args: &[&str], context: Option<&str>) -> (std::process::Command, String) {
    let program = std::env::var_os("KUBECTL").unwrap_or_else(|| "kubectl".into());
    let mut cmd = std::process::Command::new(&program);
    cmd.args(args).arg("--request-timeout=20s");
    if let Some(c) = context {
        cmd.args(["--context", c]);
    }
    let shown = format!(
        "kubectl {}{}",
        args.join(" "),
        context.map(|c| format!(" --context {c}")).unwrap_or_default()
    );
    (cmd, shown)
}

/// How a command run under a deadline ended.
enum Ended {
    /// It exited: whether it succeeded, its standard output and its standard error (empty when
    /// not captured).
    Exited { success: bool, stdout: Vec<u8>, stderr: Vec<u8> },
    /// The deadline passed and it was killed.
    TimedOut,
}

/// Runs `cmd` (its pipes already chosen) until it exits or `limit` passes, when it is killed.
/// The pipes are read on threads of their own so that a full pipe cannot stall the child.
fn run_until(cmd: &mut std::process::Command, limit: std::time::Duration) -> std::io::Result<Ended> {
    use std::io::Read;
    fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                // A read error ends the output there; what was read is kept.
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    }
    let mut child = cmd.spawn()?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Ended::Exited {
                success: status.success(),
                stdout: stdout.join().unwrap_or_default(),
                stderr: stderr.join().unwrap_or_default(),
            });
        }
        if start.elapsed() >= limit {
            // Killed and reaped; the reading threads are left to end when the pipes close (a
            // credential plugin kubectl started may still hold them).
            let _ = child.kill();
            let _ = child.wait();
            return Ok(Ended::TimedOut);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// `kubectl` (or `KUBECTL`) with `args`, and `--context` when given; the command as shown to
/// the user; its output, or why it failed.
fn kubectl(args: &[&str], context: Option<&str>) -> (String, Result<Vec<u8>, String>) {
    let (mut cmd, shown) = kubectl_command(args, context);
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let result = match run_until(&mut cmd, KUBECTL_DEADLINE) {
        Err(e) => Err(format!("cannot run kubectl ({e})")),
        Ok(Ended::TimedOut) => Err(format!("no answer within {} s; stopped", KUBECTL_DEADLINE.as_secs())),
        Ok(Ended::Exited { success: false, stderr, .. }) => {
            Err(String::from_utf8_lossy(&stderr).trim().to_owned())
        }
        Ok(Ended::Exited { stdout, .. }) => Ok(stdout),
    };
    (shown, result)
}

/// The first kubectl call of `--cluster`, `kubectl get --raw /version`, run with the user's
/// standard input and error, so that the kubeconfig's credential plugin can ask the user to
/// sign in (kubelogin's device code) while the code is valid. False, with a warning, when it
/// fails: the cluster is then not read, as every later call would fail or wait the same way.
fn kubectl_signs_in(context: Option<&str>) -> bool {
    let (mut cmd, shown) = kubectl_command(&["get", "--raw", "/version"], context);
    cmd.stdin(std::process::Stdio::inherit())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit());
    let why = match run_until(&mut cmd, KUBECTL_SIGN_IN_DEADLINE) {
        Ok(Ended::Exited { success: true, .. }) => return true,
        Err(e) => {
            eprintln!(
                "warning: --cluster: cannot run kubectl ({e}); the webhook and APF checks read only --manifests"
            );
            return false;
        }
        Ok(Ended::TimedOut) => format!(
            "did not finish within {} s (a credential plugin waiting for a sign-in?) and was stopped",
            KUBECTL_SIGN_IN_DEADLINE.as_secs()
        ),
        Ok(Ended::Exited { .. }) => "failed (kubectl's message is above)".to_owned(),
    };
    eprintln!(
        "warning: --cluster: `{shown}` {why}; the cluster is not read. Check that this command works with the \
         kubeconfig and context, then run again."
    );
    false
}

/// The API server's `/metrics` through kubectl (`kubectl get --raw /metrics`), one scrape:
/// counters since the API server started. `None`, with a warning, when it cannot be read.
fn cluster_metrics(context: Option<&str>) -> Option<metrics::Snapshot> {
    let (shown, result) = kubectl(&["get", "--raw", "/metrics"], context);
    match result {
        Ok(bytes) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()
                .map(|d| d.as_millis() as i64);
            let snapshot = metrics::Snapshot::parse(&shown, &bytes, now);
            if snapshot.exposition.samples.is_empty() {
                eprintln!(
                    "warning: --cluster: `{shown}` gave no metric samples; the metrics checks do not run"
                );
                return None;
            }
            Some(snapshot)
        }
        Err(why) => {
            eprintln!("warning: --cluster: `{shown}` failed: {why}");
            None
        }
    }
}

fn read_kinds(m: &mut manifests::Manifests, context: Option<&str>) {
    for kind in CLUSTER_KINDS {
        let (shown, result) = kubectl(&["get", kind, "-o", "json"], context);
        match result {
            Err(why) if why.starts_with("cannot run kubectl") => {
                eprintln!("warning: --cluster: {why}; the webhook and APF checks read only --manifests");
                return;
            }
            Err(why) => eprintln!("warning: --cluster: `{shown}` failed: {why}"),
            Ok(bytes) => manifests::parse_text(&shown, &String::from_utf8_lossy(&bytes), m),
        }
    }
}

/// Adds the webhook and APF (`WHK…`, `APF…`) findings of manifests to `report`. A webhook that
/// the report's audit (AUD007) or metrics (MET009) findings show failing is judged as failing
/// now; each throttle the report proposes is checked against the manifests' FlowSchemas.
pub fn add_manifests(report: &mut Report, m: &manifests::Manifests, thresholds: &findings::Thresholds) {
    let mut ctx = manifests::checks::Context { thresholds: thresholds.clone(), ..Default::default() };
    for f in &report.findings {
        ctx.add_failing(f);
    }
    add_report(report, manifests::report::manifests_report(m, &ctx));
    // Each proposed throttle, checked against the cluster's own FlowSchemas; each failing
    // webhook's patch, written from its configuration.
    manifests::refine_remedies(&mut report.findings, m);
}

/// Merges another report's inputs, findings and checks into `report` (checks run once each).
fn add_report(report: &mut Report, other: Report) {
    report.inputs.extend(other.inputs);
    report.findings.extend(other.findings);
    report.overview.notes.extend(other.overview.notes);
    for code in other.checks_run {
        if !report.checks_run.contains(&code) {
            report.checks_run.push(code);
        }
    }
}

fn input_summary(kind: &str, source: &str) -> InputSummary {
    InputSummary { kind: kind.to_owned(), source: source.to_owned(), records: 0, skipped: 0, detected: None }
}

/// Diagnoses the audit events of a store into a report. With `store_input`, `inputs` is the
/// store alone, and its record count is the store's events.
pub fn diagnose_store(
    store: &Path,
    request: &AuditRequest,
    inputs: &mut [InputSummary],
    store_input: bool,
) -> anyhow::Result<Report> {
    diagnose_audit_store(store, request, inputs, store_input).map(|(report, _)| report)
}

/// Whether `e` says a store's data files are damaged.
fn is_store_damage(e: &anyhow::Error) -> bool {
    use audit::store::StoreError::Damaged;
    matches!(e.downcast_ref::<audit::store::StoreError>(), Some(Damaged { .. }))
        || matches!(e.downcast_ref::<engine::EngineError>(), Some(engine::EngineError::Store(Damaged { .. })))
}

/// [`diagnose_store`], with what the checks had to look at.
fn diagnose_audit_store(
    store: &Path,
    request: &AuditRequest,
    inputs: &mut [InputSummary],
    store_input: bool,
) -> anyhow::Result<(Report, AuditEvidence)> {
    // The store's errors name it already (`sb: not an apiserver-doctor store`).
    let engine = engine::Engine::open_store(store)?;
    let runner = EngineRunner::new(&engine, chrono::Utc::now());
    let diagnosis = checks::diagnose_audit(&runner, request)?;
    // A `--since` reaching before the first time the store can hold starts the window there:
    // said, not done silently (UX review: `--since 99999999999h` showed a window from 1678).
    if let Some(since) = request.since
        && diagnosis.window.end.checked_sub_signed(since).is_none_or(|start| start < diagnosis.window.start)
    {
        eprintln!(
            "note: --since reaches back before {}, the earliest start a window can have (times are held as \
             nanoseconds since 1970 in 64 bits): the window starts there instead (without --since it starts at \
             the first event)",
            report::format::time(&diagnosis.window.start)
        );
    }
    // A check whose query failed on a damaged data file is not "could not run": the store is
    // damaged, and the run fails naming the file (review s53, item 1).
    if let Some(damage) = engine.store_damage() {
        return Err(damage.into());
    }
    if store_input && let Some(first) = inputs.first_mut() {
        first.records = diagnosis.profile.events as u64;
        // The records skipped when the store was ingested, as `stats` counts them (review s42,
        // item 2: `diagnose --store` said 0 of a store that had skipped 6).
        first.skipped = audit::store::Store::open(store)
            .map(|s| s.manifest().skipped.by_kind.values().sum::<u64>())
            .unwrap_or(0);
    }
    let evidence = AuditEvidence {
        events: diagnosis.profile.events,
        window_events: diagnosis.window_events,
        range: diagnosis.profile.range,
        window: diagnosis.window,
    };
    let report = Report {
        schema_version: REPORT_SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        // No event carries a time and no --now was given: there is no window to show (the one
        // the checks used is an empty stand-in at the epoch).
        window: (diagnosis.profile.range.is_some() || request.now != checks::WindowEnd::Latest)
            .then_some(diagnosis.window),
        inputs: inputs.to_vec(),
        overview: diagnosis.outcome.overview,
        findings: diagnosis.outcome.findings,
        checks_run: diagnosis.outcome.checks_run,
    };
    Ok((report, evidence))
}

/// Writes the report to stdout in `format`, and as HTML to `html` when given.
pub fn write_outputs(report: &Report, format: report::Format, html: Option<&Path>) -> anyhow::Result<()> {
    if let Some(path) = html {
        let mut file = std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("--report: cannot create {}", path.display()))?,
        );
        report::render_html(report, &mut file).with_context(|| format!("writing {}", path.display()))?;
        file.flush().with_context(|| format!("writing {}", path.display()))?;
    }
    let mut out = super::stdout();
    report::render(report, format, &mut out, &super::metrics::text_options())?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Review s51 item 13: merged reports listed the live etcd's checks after the scrapes'.
    #[test]
    fn checks_run_are_listed_in_registry_order() {
        let mut codes: Vec<String> =
            ["WHK001", "ETC009", "ETC007", "AUD001", "MET002", "ETC001"].map(str::to_owned).to_vec();
        in_registry_order(&mut codes);
        assert_eq!(codes, ["AUD001", "MET002", "ETC001", "ETC007", "ETC009", "WHK001"]);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h"), chrono::Duration::try_hours(1));
        assert_eq!(parse_duration("1h30m"), chrono::Duration::try_minutes(90));
        assert_eq!(parse_duration("2d"), chrono::Duration::try_days(2));
        assert_eq!(parse_duration("500ms"), chrono::Duration::try_milliseconds(500));
        for bad in ["", "h", "1", "1x", "-1h", "0s", "1h 30m"] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }
}
