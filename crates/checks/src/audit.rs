//! Running the audit checks: the context they share, the query runner they call, and the
//! outcome they return.

use chrono::{DateTime, Utc};
use findings::{Evidence, Finding, Measure, Overview, Severity, Subject, Thresholds, TimeRange};
use remedy::KubernetesVersion;

use crate::table::{MissingColumn, ResultTable};

/// Runs KQL over the audit events. The engine implements it over the store or raw files.
pub trait QueryRunner: Sync {
    /// The rows of `kql`, or a message saying why it could not run.
    fn run(&self, kql: &str) -> Result<ResultTable, String>;

    /// [`QueryRunner::run`] for a query whose filters keep a small part of the events (the
    /// slow requests, the failures, one client's requests), which a runner may read
    /// accordingly. The answer must be the same as `run`'s.
    fn run_few(&self, kql: &str) -> Result<ResultTable, String> {
        self.run(kql)
    }

    /// Says that the queries that follow keep only `fraction` (0 to 1) of the events, by
    /// their time window, so a runner can read them accordingly. The answers must not change.
    fn expect_window_fraction(&self, _fraction: f64) {}

    /// What a store's manifest counts of every event of `AKSAudit`, when the runner reads a
    /// store: the profile of the whole log without reading its files. Its counts must be
    /// what the queries count.
    fn store_totals(&self) -> Option<audit::store::Counts> {
        None
    }
}

/// Below this share of the events in the window, filters are worth running inside the
/// Parquet reader (`diagnose --since 1h` over four hours of a 1,000-node cluster: 3.0 and
/// 3.4 s with them there, 3.6 and 4.1 s without; over the whole four hours 7.6 s with, 5.7 s
/// without; docs/performance.md).
pub const NARROW_WINDOW: f64 = 0.5;

/// A runner that answers a query it has run before from memory: checks share queries (the
/// evidence profile, the expensive-LIST table the throttling remedy reads), and over millions
/// of events each costs seconds.
pub struct Memo<'r> {
    runner: &'r dyn QueryRunner,
    seen: std::sync::Mutex<std::collections::HashMap<String, Result<ResultTable, String>>>,
}

impl<'r> Memo<'r> {
    /// Wraps `runner`.
    pub fn new(runner: &'r dyn QueryRunner) -> Self {
        Memo { runner, seen: std::sync::Mutex::default() }
    }

    fn seen(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Result<ResultTable, String>>> {
        // A panic while the lock was held left a map of complete answers: still good.
        self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Memo<'_> {
    fn answer(
        &self,
        kql: &str,
        run: impl FnOnce(&dyn QueryRunner) -> Result<ResultTable, String>,
    ) -> Result<ResultTable, String> {
        if let Some(r) = self.seen().get(kql) {
            return r.clone();
        }
        // Not locked while the query runs: the checks running beside this one go on.
        let r = run(self.runner);
        self.seen().insert(kql.to_owned(), r.clone());
        r
    }
}

impl QueryRunner for Memo<'_> {
    fn run(&self, kql: &str) -> Result<ResultTable, String> {
        self.answer(kql, |r| r.run(kql))
    }

    fn run_few(&self, kql: &str) -> Result<ResultTable, String> {
        self.answer(kql, |r| r.run_few(kql))
    }

    fn expect_window_fraction(&self, fraction: f64) {
        self.runner.expect_window_fraction(fraction);
    }

    fn store_totals(&self) -> Option<audit::store::Counts> {
        self.runner.store_totals()
    }
}

/// Where the Kubernetes version used for remedies came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSource {
    /// `--kubernetes-version` or the config file.
    Given,
    /// The version a kube-apiserver `/metrics` scrape shows (`kubernetes_build_info`), given
    /// with `diagnose --metrics` or read by `--cluster`.
    Metrics,
    /// The user agents in the data (`kubelet/v1.29.4 …`).
    Data,
    /// Nobody said: the default.
    Default,
}

/// What every audit check reads besides its query results.
#[derive(Debug, Clone)]
pub struct AuditContext {
    /// The KQL table the checks query: `AKSAudit` (every event).
    pub table: String,
    /// The window analysed (inclusive).
    pub window: TimeRange,
    /// The time from the first to the last event of the window, when known (the whole log's
    /// range until the window's is read): rates are per second of the part of the window its
    /// events cover, not of a window reaching past them (`--since 1h` over 15 minutes of log,
    /// or a window that starts or ends inside a silence of the log).
    pub data_range: Option<TimeRange>,
    /// Thresholds in force.
    pub thresholds: Thresholds,
    /// The cluster's Kubernetes version, for the API versions of remedies.
    pub kubernetes_version: KubernetesVersion,
    /// Where that version came from.
    pub version_source: VersionSource,
}

impl AuditContext {
    /// A context over `AKSAudit` for `window`, default thresholds and version.
    pub fn new(window: TimeRange) -> AuditContext {
        AuditContext {
            table: "AKSAudit".to_owned(),
            window,
            data_range: None,
            thresholds: Thresholds::default(),
            kubernetes_version: KubernetesVersion::DEFAULT,
            version_source: VersionSource::Default,
        }
    }

    /// The seconds rates are per: the window's, or only the part of it the log covers when
    /// that is known and not empty; at least 1, so rates never divide by zero.
    pub fn window_seconds(&self) -> f64 {
        let covered = self.covered().unwrap_or(self.window);
        ((covered.end - covered.start).num_milliseconds() as f64 / 1000.0).max(1.0)
    }

    /// True when the events analysed all fall within one second (a single event, a sample of
    /// a few): a rate per second says nothing then, and is not stated.
    pub fn within_a_second(&self) -> bool {
        let covered = self.covered().unwrap_or(self.window);
        (covered.end - covered.start).num_milliseconds() < 1000
    }

    /// The part of the window its events cover, when their range is known and overlaps it.
    pub fn covered(&self) -> Option<TimeRange> {
        let data = self.data_range?;
        let start = self.window.start.max(data.start);
        let end = self.window.end.min(data.end);
        (end > start).then_some(TimeRange { start, end })
    }

    /// The prelude of every check's query (see [`crate::kql::requests`]).
    pub fn requests(&self) -> String {
        crate::kql::requests(&self.table, &self.window)
    }

    /// The prelude of a query over every event in the window, all stages (see
    /// [`crate::kql::events`]).
    pub fn events(&self) -> String {
        crate::kql::events(&self.table, &self.window)
    }
}

/// Why a check could not finish.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// The engine refused or failed a query (said once: the engine's own message may begin
    /// with "query failed: " too; bad-input review s53).
    #[error("query failed: {}", .message.strip_prefix("query failed: ").unwrap_or(.message))]
    Query {
        /// The query.
        query: String,
        /// The engine's message.
        message: String,
    },
    /// A result lacked a column the check reads.
    #[error(transparent)]
    Result(#[from] MissingColumn),
}

/// Runs `kql`, turning an engine error into a [`CheckError`] that keeps the query.
pub(crate) fn run(runner: &dyn QueryRunner, kql: String) -> Result<(String, ResultTable), CheckError> {
    let answer = runner.run(&kql);
    with_query(kql, answer)
}

/// [`run`] for a query whose filters keep a small part of the events (see
/// [`QueryRunner::run_few`]).
pub(crate) fn run_few(runner: &dyn QueryRunner, kql: String) -> Result<(String, ResultTable), CheckError> {
    let answer = runner.run_few(&kql);
    with_query(kql, answer)
}

fn with_query(kql: String, answer: Result<ResultTable, String>) -> Result<(String, ResultTable), CheckError> {
    match answer {
        Ok(table) => Ok((kql, table)),
        Err(message) => Err(CheckError::Query { query: kql, message }),
    }
}

/// What one check produced.
#[derive(Debug, Clone, Default)]
pub struct CheckOutput {
    /// Its findings.
    pub findings: Vec<Finding>,
    /// Its part of the report overview (charts and tables at the top).
    pub overview: Overview,
}

/// What the audit checks produced together.
#[derive(Debug, Clone, Default)]
pub struct AuditOutcome {
    /// Every finding, sorted worst first.
    pub findings: Vec<Finding>,
    /// The overview charts and tables.
    pub overview: Overview,
    /// Codes of the checks that ran, in registry order.
    pub checks_run: Vec<String>,
}

/// A finding with the fields every check fills the same way.
pub(crate) fn finding(
    code: &str,
    severity: Severity,
    subject: Subject,
    title: String,
    summary: String,
    ctx: &AuditContext,
) -> Finding {
    Finding {
        code: code.to_owned(),
        severity,
        title,
        subject,
        time_range: Some(ctx.window),
        summary,
        evidence: Evidence { source: "audit".to_owned(), ..Evidence::default() },
        thresholds: vec![],
        remedies: vec![],
    }
}

/// The finding that stands in for a check that could not run, so the report says so instead
/// of silently showing nothing.
pub(crate) fn failed_check(code: &str, err: &CheckError, ctx: &AuditContext) -> Finding {
    let mut f = finding(
        code,
        Severity::Info,
        Subject::new("evidence", code),
        format!("{code} could not run"),
        format!("{err}. The other checks ran; this one's result is missing from the report."),
        ctx,
    );
    if let CheckError::Query { query, .. } = err {
        f.evidence.query = Some(query.clone());
    }
    f
}

/// A measure.
pub(crate) fn measure(label: &str, value: f64, unit: &str) -> Measure {
    Measure::new(label, value, unit)
}

/// Formats a count with thousands separators: `12,345`.
pub(crate) fn count(n: f64) -> String {
    findings::thousands(n.round() as i128)
}

/// A count and its noun, singular for one: `1 request`, `12,345 requests`.
pub(crate) fn counted(n: f64, one: &str, many: &str) -> String {
    format!("{} {}", count(n), if n.round() == 1.0 { one } else { many })
}

/// Names listed, then how many more there were when a query kept only some of `total`:
/// `alice, bob and 3 more` (re-review s26: six identities read as five).
pub(crate) fn and_more<S: AsRef<str>>(names: &[S], total: f64) -> String {
    let shown: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
    let more = (total.round() as usize).saturating_sub(shown.len());
    match more {
        0 => shown.join(", "),
        n => format!("{} and {} more", shown.join(", "), count(n as f64)),
    }
}

/// `names` joined, empty ones (a cluster-scoped object's namespace) shown as `empty`, with how
/// many more there are when `total` exceeds the names listed ([`and_more`]).
pub(crate) fn listed(names: &[String], total: f64, empty: &str) -> String {
    let shown: Vec<&str> = names.iter().map(|n| if n.is_empty() { empty } else { n.as_str() }).collect();
    and_more(&shown, total)
}

/// How often: `once`, `2 times`, `1,234 times`.
pub(crate) fn times(n: f64) -> String {
    if n.round() == 1.0 { "once".to_owned() } else { format!("{} times", count(n)) }
}

/// Formats milliseconds for people: `850 ms`, `2.4 s`; from 1,000 s on (the total time of many
/// requests), whole seconds with thousands separators, and from an hour on the hours they make:
/// `101,199 s (28.1 h)`, not `101198.5 s`.
pub(crate) fn duration_ms(ms: f64) -> String {
    let s = ms / 1000.0;
    if s >= 3600.0 {
        format!("{} s ({:.1} h)", count(s), s / 3600.0)
    } else if s >= 999.95 {
        format!("{} s", count(s))
    } else if ms >= 1000.0 {
        format!("{s:.1} s")
    } else {
        format!("{ms:.0} ms")
    }
}

/// [`duration_ms`] of `ms`, which is above `limit_ms`, with the digits that show it above:
/// `1.005 s`, not `1.0 s`, against a 1 s limit (review s44: "P99 … is 1.0 s, above the 1 s
/// SLO").
pub(crate) fn duration_above_ms(ms: f64, limit_ms: f64) -> String {
    let shown = duration_ms(ms);
    if ms <= limit_ms || !(1000.0..999_950.0).contains(&ms) {
        return shown;
    }
    let s = ms / 1000.0;
    for digits in 1..=3 {
        let text = format!("{s:.digits$}");
        if text.parse::<f64>().is_ok_and(|v| v * 1000.0 > limit_ms) {
            return format!("{text} s");
        }
    }
    format!("{s:.3} s")
}

/// Formats a ratio as a percentage: `41%`, `0.4%`.
pub(crate) fn percent(ratio: f64) -> String {
    let p = ratio * 100.0;
    if p >= 10.0 || p == 0.0 { format!("{p:.0}%") } else { format!("{p:.1}%") }
}

/// An RFC 3339 instant for chart x values.
pub(crate) fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bad-input review s53: a check that could not run said "query failed: query failed: …"
    /// (the engine's message begins with it too).
    #[test]
    fn a_failed_query_is_said_to_have_failed_once() {
        let e = CheckError::Query { query: "q".into(), message: "query failed: Parquet: bad page".into() };
        assert_eq!(e.to_string(), "query failed: Parquet: bad page");
        let e = CheckError::Query { query: "q".into(), message: "unknown column 'x'".into() };
        assert_eq!(e.to_string(), "query failed: unknown column 'x'");
    }

    /// Review s44: "P99 … is 1.0 s, above the 1 s SLO" for a P99 of 1,005 ms.
    #[test]
    fn a_duration_above_its_limit_shows_the_digits_that_put_it_above() {
        assert_eq!(duration_above_ms(1005.0, 1000.0), "1.005 s");
        assert_eq!(duration_above_ms(1040.0, 1000.0), "1.04 s");
        assert_eq!(duration_above_ms(1200.0, 1000.0), "1.2 s");
        assert_eq!(duration_above_ms(41_300.0, 30_000.0), "41.3 s");
        assert_eq!(duration_above_ms(30_000.4, 30_000.0), "30.000 s");
        assert_eq!(duration_above_ms(900.0, 1000.0), "900 ms", "not above: as duration_ms");
        assert_eq!(duration_above_ms(600.0, 500.0), "600 ms");
    }

    #[test]
    fn number_formats() {
        assert_eq!(count(0.0), "0");
        assert_eq!(count(999.0), "999");
        assert_eq!(count(1234.0), "1,234");
        assert_eq!(count(1234567.0), "1,234,567");
        assert_eq!(count(-1234.0), "-1,234");
        assert_eq!(duration_ms(850.4), "850 ms");
        assert_eq!(duration_ms(2400.0), "2.4 s");
        assert_eq!(duration_ms(999_940.0), "999.9 s");
        assert_eq!(duration_ms(999_960.0), "1,000 s");
        assert_eq!(duration_ms(1_065_800.0), "1,066 s");
        assert_eq!(duration_ms(101_198_500.0), "101,199 s (28.1 h)");
        assert_eq!(percent(0.41), "41%");
        assert_eq!(percent(0.004), "0.4%");
    }

    /// A runner counting its calls, answering each query with its own text.
    struct Counting(std::sync::atomic::AtomicUsize);

    impl QueryRunner for Counting {
        fn run(&self, kql: &str) -> Result<ResultTable, String> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if kql.contains("fail") {
                return Err(format!("cannot run {kql}"));
            }
            Ok(ResultTable {
                columns: vec!["q".into()],
                rows: vec![vec![crate::table::Cell::Text(kql.into())]],
            })
        }
    }

    #[test]
    fn memo_runs_each_distinct_query_once_and_keeps_errors() {
        let inner = Counting(std::sync::atomic::AtomicUsize::new(0));
        let memo = Memo::new(&inner);
        let a1 = memo.run("T | count").expect("runs");
        let a2 = memo.run("T | count").expect("runs");
        assert_eq!(a1, a2);
        assert_eq!(inner.0.load(std::sync::atomic::Ordering::Relaxed), 1);
        let b = memo.run("T | take 1").expect("runs");
        assert_ne!(a1, b);
        assert_eq!(memo.run("fail").expect_err("fails"), "cannot run fail");
        assert_eq!(memo.run("fail").expect_err("fails"), "cannot run fail");
        assert_eq!(inner.0.load(std::sync::atomic::Ordering::Relaxed), 3);
    }
}
