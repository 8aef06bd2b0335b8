//! The playbook as checks: one file per check, one ordered registry, audit checks over the
//! engine.
//!
//! Each audit check states its KQL (over `AKSAudit`, so it runs unchanged in Log Analytics),
//! runs it through a [`QueryRunner`], and turns the rows into [`findings::Finding`]s whose
//! evidence carries that same query. Checks do no other I/O.

pub mod aud001_top_clients;
pub mod aud002_client_latency;
pub mod aud003_p99_slo;
pub mod aud004_expensive_lists;
pub mod aud005_slow_breakdown;
pub mod aud006_errors;
pub mod aud007_failing_webhooks;
pub mod aud008_object_churn;
pub mod aud009_evidence;
pub mod aud010_webhooks_failing_open;
pub mod audit;
pub mod client;
pub mod config;
pub mod engine_runner;
pub mod kql;
pub mod offender;
pub mod registry;
pub mod scope;
pub mod table;
#[cfg(test)]
mod testutil;

pub use audit::{AuditContext, AuditOutcome, CheckError, QueryRunner, VersionSource};
pub use config::{Config, ConfigError};
pub use registry::{AUDIT_CHECKS, checks_markdown, explain, find, registry};
pub use table::{Cell, ResultTable};

use chrono::{DateTime, Utc};
use findings::{Overview, Thresholds, TimeRange, sort_findings};
use remedy::KubernetesVersion;

/// Where the window analysed ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WindowEnd {
    /// At the newest event (`--now latest`, the default for files).
    #[default]
    Latest,
    /// At a given instant (`--now TIME`).
    At(DateTime<Utc>),
}

/// What `diagnose` asks of the audit checks.
#[derive(Debug, Clone, Default)]
pub struct AuditRequest {
    /// The end of the window.
    pub now: WindowEnd,
    /// How far back from the end (`--since`); `None` means from the first event.
    pub since: Option<chrono::Duration>,
    /// Thresholds in force.
    pub thresholds: Thresholds,
    /// The cluster's version when the user gave it.
    pub kubernetes_version: Option<KubernetesVersion>,
    /// The version a kube-apiserver scrape shows (`diagnose --metrics`, `--cluster`): used when
    /// none is given, before the one the user agents show (review s51, item 5: a 1.27.5 scrape
    /// was ignored and the throttle written as `flowcontrol.apiserver.k8s.io/v1`).
    pub scraped_version: Option<KubernetesVersion>,
}

/// The audit checks' results with what they were run on.
#[derive(Debug, Clone)]
pub struct AuditDiagnosis {
    /// Findings, overview and checks run.
    pub outcome: AuditOutcome,
    /// The window analysed.
    pub window: TimeRange,
    /// What the whole log holds.
    pub profile: aud009_evidence::DataProfile,
    /// Events in the window analysed (`None` when they could not be counted): with none, no
    /// audit check had anything to look at.
    pub window_events: Option<f64>,
    /// The Kubernetes version used for remedies, and where it came from.
    pub kubernetes_version: (KubernetesVersion, VersionSource),
}

/// The earliest time a window may start: 1678-01-01, within the nanosecond timestamps (from
/// 1677-09-21) that the store and the queries hold.
fn earliest_time() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(-9_214_560_000, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Resolves the window from the data and the request, then runs every audit check.
pub fn diagnose_audit(
    runner: &dyn QueryRunner,
    request: &AuditRequest,
) -> Result<AuditDiagnosis, CheckError> {
    let memo = audit::Memo::new(runner);
    let runner: &dyn QueryRunner = &memo;
    let table = "AKSAudit";
    let profile = aud009_evidence::profile(table, runner)?;
    // The window's default ends (the first and the last event) are those of the events at a
    // possible time: one event stamped in 1970 or 2262 by a broken clock made the default
    // window 89,331 days long, and `--now latest` named its time. AUD009 counts those left out.
    let data = match profile.range {
        Some(r) if !aud009_evidence::all_possible(&r) => {
            aud009_evidence::possible_range(table, runner)?.or(Some(r))
        }
        range => range,
    };
    let end = match (request.now, data) {
        (WindowEnd::At(t), _) => t,
        (WindowEnd::Latest, Some(r)) => r.end,
        (WindowEnd::Latest, None) => DateTime::<Utc>::UNIX_EPOCH,
    };
    let start = match (request.since, data) {
        // A `--since` reaching before the first time the store can hold (1678: nanoseconds
        // since 1970 in 64 bits) asks for everything: the window starts there, where an
        // unchecked subtraction would overflow or name a time no query can hold.
        (Some(since), _) => {
            end.checked_sub_signed(since).unwrap_or(DateTime::<Utc>::MIN_UTC).max(earliest_time())
        }
        (None, Some(r)) => r.start.min(end),
        (None, None) => end,
    };
    if let Some(r) = profile.range {
        let span = (r.end - r.start).num_milliseconds() as f64;
        let window = (end.min(r.end) - start.max(r.start)).num_milliseconds().max(0) as f64;
        runner.expect_window_fraction(if span > 0.0 { window / span } else { 1.0 });
    }
    let mut ctx = AuditContext::new(TimeRange { start, end });
    ctx.data_range = profile.range;
    // Rates are per second of the window's own events, first to last: the log's whole range
    // would count a silence at either end of the window as time with no requests. A window
    // holding the whole log (the default) holds every event, so their range is the log's and
    // needs no query (which would wait before every check: 0.06 s over 8.7 million events).
    let holds_the_log = profile.range.is_some_and(|r| start <= r.start && end >= r.end);
    if !holds_the_log && let Ok(range) = aud009_evidence::window_range(&ctx, runner) {
        ctx.data_range = range;
    }
    ctx.table = table.to_owned();
    ctx.thresholds = request.thresholds.clone();
    if let Some(v) = request.kubernetes_version {
        ctx.kubernetes_version = v;
        ctx.version_source = VersionSource::Given;
    } else if let Some(v) = request.scraped_version {
        ctx.kubernetes_version = v;
        ctx.version_source = VersionSource::Metrics;
    }
    let outcome = run_audit_checks(&mut ctx, runner);
    // The evidence check counted them already: the memo answers it.
    let window_events = aud009_evidence::window_events(&ctx, runner).ok();
    Ok(AuditDiagnosis {
        outcome,
        window: ctx.window,
        profile,
        window_events,
        kubernetes_version: (ctx.kubernetes_version, ctx.version_source),
    })
}

/// Checks run at once. Each query already spreads over every core, but between its phases
/// (planning, the final merge, the sort) a core waits; a second check fills it (`diagnose` on
/// the demo store: see docs/performance.md).
const CONCURRENT_CHECKS: usize = 2;

/// Runs every audit check, [`CONCURRENT_CHECKS`] at a time, and reports them in registry
/// order whatever order they finish in. A check whose query fails is reported as an info
/// finding saying so; the others still run. The top offender's finding gets the throttling
/// remedy and the tuning advice, for the Kubernetes version in `ctx` if it was given or scraped, else
/// the one found in the data ([`detect_version`], asked after the checks: it reads the summary
/// the top-clients check counts, which then costs nothing).
pub fn run_audit_checks(ctx: &mut AuditContext, runner: &dyn QueryRunner) -> AuditOutcome {
    let mut outcome = AuditOutcome::default();
    let shared: &AuditContext = ctx;
    let results = run_concurrently(&AUDIT_CHECKS, CONCURRENT_CHECKS, |check| (check.run)(shared, runner));
    for (check, result) in AUDIT_CHECKS.iter().zip(results) {
        outcome.checks_run.push(check.info.code.to_owned());
        match result {
            Ok(out) => {
                merge(&mut outcome.overview, out.overview);
                outcome.findings.extend(out.findings);
            }
            Err(err) => outcome.findings.push(audit::failed_check(check.info.code, &err, ctx)),
        }
    }
    // The check asked this already: the memo answers it.
    let lists = aud004_expensive_lists::lists(ctx, runner).unwrap_or_default();
    sort_findings(&mut outcome.findings);
    if ctx.version_source == VersionSource::Default
        && let Some(v) = detect_version(ctx, runner)
    {
        ctx.kubernetes_version = v;
        ctx.version_source = VersionSource::Data;
    }
    aud004_expensive_lists::word_for_version(
        &mut outcome.findings,
        ctx.kubernetes_version,
        ctx.version_source != VersionSource::Default,
    );
    if let Err(err) = offender::attach(&mut outcome.findings, ctx, runner, &lists)
        && let Some(i) = offender::top_offender(&outcome.findings, ctx)
    {
        outcome.findings[i].summary.push_str(&format!(" (The throttling remedy could not be built: {err}.)"));
    }
    // The audit checks mark no code in their summaries, so every backtick in one is from a
    // value they put in (a user agent, a user, namespace or webhook name): written `\``, it
    // stays the name's own instead of opening a code span in HTML and Markdown (review 27,
    // item 12).
    for f in &mut outcome.findings {
        f.summary = findings::text::literal_backticks(&f.summary);
    }
    outcome
}

/// `f` of every item, on up to `workers` threads, each taking the next item not yet taken;
/// the results in the items' order.
fn run_concurrently<T: Sync, R: Send>(items: &[T], workers: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done: std::sync::Mutex<Vec<(usize, R)>> = std::sync::Mutex::new(Vec::with_capacity(items.len()));
    let work = || {
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(item) = items.get(i) else { break };
            let r = f(item);
            done.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((i, r));
        }
    };
    std::thread::scope(|s| {
        for _ in 1..workers.clamp(1, items.len().max(1)) {
            s.spawn(work);
        }
        work();
    });
    let mut done = done.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

fn merge(into: &mut Overview, from: Overview) {
    if from.top_clients.is_some() {
        into.top_clients = from.top_clients;
    }
    if from.latency_over_time.is_some() {
        into.latency_over_time = from.latency_over_time;
    }
    if from.p99_table.is_some() {
        into.p99_table = from.p99_table;
    }
}

/// The control plane's Kubernetes version as its own components report it in their user
/// agents (`kube-controller-manager/v1.29.4 …`), else the kubelets' most common one. The
/// components write their names in lower case: the case-sensitive `startswith_cs` finds them.
/// It starts from the requests per user agent that the top-clients and errors checks count
/// (the engine counts them once for all three, see [`kql::answers_by_agent`]).
pub fn version_query(ctx: &AuditContext) -> String {
    format!(
        "{}\n| where UserAgent startswith_cs \"kube-controller-manager/v\" or UserAgent startswith_cs \"kube-scheduler/v\" \
         or UserAgent startswith_cs \"kubelet/v\"\n\
         | summarize Requests = sum(Requests) by UserAgent\n\
         | extend Component = extract(@\"^([^/]+)/\", 1, UserAgent), Version = extract(@\"^[^/]+/v([0-9]+[.][0-9]+)\", 1, UserAgent)\n\
         | summarize Requests = sum(Requests) by Component, Version\n| order by Requests desc, Component asc, Version asc",
        kql::answers_by_agent(ctx)
    )
}

/// Runs [`version_query`]: the version of the control plane seen in the data, if any.
pub fn detect_version(ctx: &AuditContext, runner: &dyn QueryRunner) -> Option<KubernetesVersion> {
    let (_, rows) = audit::run(runner, version_query(ctx)).ok()?;
    let r = rows.reader();
    let (c_component, c_version) = (r.column("Component").ok()?, r.column("Version").ok()?);
    let parse = |row: &Vec<Cell>| c_version.text(row).parse::<KubernetesVersion>().ok();
    rows.rows
        .iter()
        .find(|row| c_component.text(row) != "kubelet" && parse(row).is_some())
        .or_else(|| rows.rows.iter().find(|row| parse(row).is_some()))
        .and_then(parse)
}

#[cfg(test)]
mod tests {
    use super::run_concurrently;

    #[test]
    fn concurrent_runs_answer_every_item_once_in_the_items_order() {
        let items: Vec<u64> = (0..50).collect();
        let calls = std::sync::atomic::AtomicUsize::new(0);
        for workers in [0, 1, 2, 3, 64] {
            calls.store(0, std::sync::atomic::Ordering::Relaxed);
            // Later items finish first: the order must come from the items, not the clock.
            let out = run_concurrently(&items, workers, |&i| {
                calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                std::thread::sleep(std::time::Duration::from_micros(50 * (50 - i)));
                i * i
            });
            assert_eq!(out, items.iter().map(|i| i * i).collect::<Vec<_>>(), "{workers} workers");
            assert_eq!(calls.load(std::sync::atomic::Ordering::Relaxed), items.len());
        }
        assert!(run_concurrently(&[] as &[u8], 2, |&b| b).is_empty());
    }
}
