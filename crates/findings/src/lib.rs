//! The findings model from DESIGN.md: every check writes [`Finding`]s, every report renders them.
//!
//! This crate is deliberately light (serde and chrono only) so that the metrics, etcd,
//! remedy and report crates can use it without pulling in the query engine.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub mod apf;
pub mod archive;
pub mod dry_run;
pub mod redact;
mod report;
pub mod spelling;
pub mod text;
mod thresholds;
pub mod units;
pub use report::{InputSummary, Overview, REPORT_SCHEMA_VERSION, Report};
pub use thresholds::{Threshold, Thresholds, names as threshold_names};

/// An integer with thousands separators, as every report and message writes counts:
/// `-1234567` → `-1,234,567`.
pub fn thousands(n: i128) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// How bad a finding is. Ordered: `Info < Warning < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Context the reader should know; never fails a run.
    Info,
    /// Something is degrading or will break soon.
    Warning,
    /// The control plane is hurt now.
    Critical,
}

impl Severity {
    /// Lower-case name, as in JSON and `--fail-on`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// What a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Subject {
    /// The kind of subject: `client`, `user`, `resource`, `webhook`, `flow-schema`,
    /// `priority-level`, `etcd-member`, `etcd`, `apiserver`, `evidence`.
    pub kind: String,
    /// Its name, e.g. a folded user agent, `pods`, `kyverno-resource-mutating-webhook-cfg`.
    pub name: String,
}

impl Subject {
    /// A subject of the given kind and name.
    pub fn new(kind: impl Into<String>, name: impl Into<String>) -> Self {
        Subject { kind: kind.into(), name: name.into() }
    }
}

/// A closed time interval in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    /// First instant covered.
    pub start: DateTime<Utc>,
    /// Last instant covered.
    pub end: DateTime<Utc>,
}

/// One number of the evidence, with its unit and how it reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measure {
    /// What it is, e.g. `requests`, `share of all requests`, `P99 latency`.
    pub label: String,
    /// The value in `unit`.
    pub value: f64,
    /// `count`, `percent`, `ms`, `s`, `bytes`, `per-second`, `ratio`, …
    pub unit: String,
}

impl Measure {
    /// A measure.
    pub fn new(label: impl Into<String>, value: f64, unit: impl Into<String>) -> Self {
        Measure { label: label.into(), value, unit: unit.into() }
    }
}

/// A small table of evidence rows (already formatted cells).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// Column headers.
    pub columns: Vec<String>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<String>>,
}

/// A point of a chart series: x is a time (RFC 3339) or a category label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// The x value: an RFC 3339 time or a label.
    pub x: String,
    /// The y value.
    pub y: f64,
}

/// One named series of a chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// The series name (legend entry).
    pub name: String,
    /// Its points, in x order.
    pub points: Vec<Point>,
}

/// A chart that helps read a finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    /// `timechart`, `columnchart`, `barchart`, `piechart`, `linechart`.
    pub kind: String,
    /// Title.
    pub title: String,
    /// X axis label (e.g. `start_time`); empty when the x values speak for themselves.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub x_label: String,
    /// Y axis label with unit.
    pub y_label: String,
    /// The series.
    pub series: Vec<Series>,
}

/// Everything that shows a finding is true.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Where the numbers come from: `audit`, `metrics:<file>`, `etcd:<endpoint>`, …
    pub source: String,
    /// The numbers.
    pub measures: Vec<Measure>,
    /// KQL that reproduces the numbers, runnable with `apiserver-doctor query` and in Log
    /// Analytics against `AKSAudit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Supporting rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<Table>,
    /// A chart, where one helps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<Chart>,
}

/// How safe a remedy is to apply as it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Safety {
    /// Read-only or trivially reversible.
    Safe,
    /// Changes the cluster or deletes data: read it and adapt it first.
    ReviewFirst,
}

/// The shape of a remedy's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RemedyKind {
    /// A Kubernetes manifest to `kubectl apply -f -`.
    Yaml,
    /// Shell commands, one per line.
    Command,
    /// Plain advice (tune the client, paginate, …).
    Advice,
}

/// A fix: YAML, commands or advice, marked with how safe it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Remedy {
    /// One line: what it does.
    pub title: String,
    /// YAML, commands or advice.
    pub kind: RemedyKind,
    /// The manifest, the commands or the advice text.
    pub body: String,
    /// Whether it can be applied as is.
    pub safety: Safety,
}

/// The threshold a finding was judged against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdUsed {
    /// The config key, e.g. `p99_mutating_seconds`.
    pub name: String,
    /// The value used (default or from `--config`).
    pub value: f64,
    /// Its unit.
    pub unit: String,
    /// Where the default comes from.
    pub source: String,
}

impl From<&Threshold> for ThresholdUsed {
    fn from(t: &Threshold) -> Self {
        ThresholdUsed { name: t.name.to_owned(), value: t.value, unit: t.unit.to_owned(), source: t.origin() }
    }
}

/// One thing a check found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable code, e.g. `AUD003`.
    pub code: String,
    /// How bad it is.
    pub severity: Severity,
    /// One plain line, e.g. `kube-monkey sends 41% of all requests`.
    pub title: String,
    /// What it is about.
    pub subject: Subject,
    /// The time it covers, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_range: Option<TimeRange>,
    /// A few sentences in plain words: what happens and why it matters. One paragraph: the
    /// reports people read show a line feed in it as `␤` ([`text::one_paragraph`]), as it can
    /// only come from the log.
    pub summary: String,
    /// The numbers, the query and the chart.
    pub evidence: Evidence,
    /// The thresholds it was judged against.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<ThresholdUsed>,
    /// What to do about it. Always serialised (the JSON report promises the key).
    #[serde(default)]
    pub remedies: Vec<Remedy>,
}

/// The kinds of evidence a check reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvidenceKind {
    /// Audit events in the store.
    Audit,
    /// kube-apiserver `/metrics` snapshots.
    ApiserverMetrics,
    /// etcd `/metrics` snapshots.
    EtcdMetrics,
    /// A live etcd (status, alarms, key statistics).
    Etcd,
    /// Webhook configurations and APF objects (manifests or a live cluster).
    Manifests,
    /// The network path to the API server (DNS, TCP, TLS, health endpoints).
    Network,
}

/// A check's static description: the registry lists these, `explain` prints `doc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckInfo {
    /// Stable code, e.g. `AUD003`.
    pub code: &'static str,
    /// Short kebab-case name, e.g. `expensive-lists`.
    pub name: &'static str,
    /// Severity when the threshold is crossed, before any escalation.
    pub default_severity: Severity,
    /// What it reads.
    pub evidence: EvidenceKind,
    /// The names of the thresholds it applies (each overridable in the `--config` file), so
    /// `explain` and `docs/checks.md` can say which keys tune it. Every threshold a finding of
    /// it lists is among these (a test runs every check to keep it so).
    pub thresholds: &'static [&'static str],
    /// Markdown with the fixed headings: `## What it detects`, `## Why it matters`,
    /// `## Example`, `## Remedy`, `## References`.
    pub doc: &'static str,
}

#[cfg(test)]
mod doc_heading_tests {
    use super::*;

    #[test]
    fn a_missing_or_misplaced_heading_is_named() {
        let info = |doc: &'static str| CheckInfo {
            code: "X001",
            name: "x",
            default_severity: Severity::Info,
            evidence: EvidenceKind::Audit,
            thresholds: &[],
            doc,
        };
        let all = "## What it detects\n## Why it matters\n## Example\n## Remedy\n## References\n";
        assert_eq!(info(all).missing_doc_heading(), None);
        assert_eq!(info("## What it detects\n## Example\n").missing_doc_heading(), Some("## Why it matters"));
        let swapped = "## What it detects\n## Example\n## Why it matters\n## Remedy\n## References\n";
        assert_eq!(info(swapped).missing_doc_heading(), Some("## Example"));
    }
}

impl CheckInfo {
    /// The headings every check's documentation has, in this order.
    pub const DOC_HEADINGS: [&'static str; 5] =
        ["## What it detects", "## Why it matters", "## Example", "## Remedy", "## References"];

    /// The first of [`Self::DOC_HEADINGS`] missing from `doc` or out of order, if any.
    pub fn missing_doc_heading(&self) -> Option<&'static str> {
        let mut at = 0;
        for heading in Self::DOC_HEADINGS {
            match self.doc[at..].find(heading) {
                Some(pos) => at += pos + heading.len(),
                None => return Some(heading),
            }
        }
        None
    }
}

/// What a check's findings say, for ordering them: within one severity, the cause of a problem
/// comes before the client behind it, the state it leaves (a full database), the symptoms
/// (latency) and last the quality of the evidence itself. An on-call reader acts on the first
/// finding; it should be the one whose remedy removes the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// The whole control plane is down for writes now: an etcd alarm (`NOSPACE` refuses every
    /// write of the whole cluster until it is disarmed; `CORRUPT` takes a member out). Nothing
    /// else can be fixed while it stands, so it leads (review s51, item 11: an active `NOSPACE`
    /// ranked below a throttled 1 req/s poller).
    Outage,
    /// The thing to fix: expensive LISTs, a failing webhook, leaked objects, a slow etcd disk.
    Cause,
    /// Who sends the load: the top identity, a throttled or conflicting client.
    Offender,
    /// What the cause left behind: database size, growth toward the quota, alarms.
    State,
    /// What users feel: latency, SLO breaches, queueing, leader changes.
    Symptom,
    /// The evidence's own gaps: missing timestamps, holes in the log, admin-only logs.
    Evidence,
}

/// The role of a check's findings, by code (see [`Role`]). Codes not listed are symptoms.
pub fn role_of(code: &str) -> Role {
    match code {
        "AUD004" | "AUD007" | "AUD008" | "AUD010" | "MET002" | "MET003" | "MET008" | "MET009" | "ETC003"
        | "ETC004" | "ETC008" | "ETC010" | "WHK001" | "APF001" | "APF002" | "NET001" | "NET002"
        | "NET003" => Role::Cause,
        "AUD001" | "AUD006" | "MET006" => Role::Offender,
        "ETC007" => Role::Outage,
        "NET005" => Role::State,
        "MET004" | "MET005" | "ETC001" | "ETC002" | "ETC009" => Role::State,
        "AUD009" => Role::Evidence,
        _ => Role::Symptom,
    }
}

/// The order of findings in every report: severity (worst first), then role (causes first, see
/// [`Role`]), then code. Findings of one code keep the order their check gave them (each check
/// puts its worst subject first, e.g. the client whose LISTs cost the most seconds), so sorts
/// using this comparison must be stable (`sort_by` is).
pub fn report_order(a: &Finding, b: &Finding) -> std::cmp::Ordering {
    b.severity
        .cmp(&a.severity)
        .then_with(|| role_of(&a.code).cmp(&role_of(&b.code)))
        .then_with(|| a.code.cmp(&b.code))
}

/// Orders findings for every report ([`report_order`]; stable).
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(report_order);
}

/// The parts of a finding a check fills; [`Draft::into_finding`] adds the code and the
/// thresholds' values. Shared by the metrics, etcd, manifests and probe checks.
pub struct Draft {
    /// Severity.
    pub severity: Severity,
    /// One-line title.
    pub title: String,
    /// What it is about.
    pub subject: Subject,
    /// A few plain sentences.
    pub summary: String,
    /// The evidence's source, already prefixed (`metrics:<file>`, `etcd:<endpoint>`).
    pub source: String,
    /// The numbers.
    pub measures: Vec<Measure>,
    /// Supporting rows.
    pub table: Option<Table>,
    /// Names of the thresholds used (from `findings::threshold_names`).
    pub thresholds: Vec<&'static str>,
    /// Fixes.
    pub remedies: Vec<Remedy>,
}

impl Draft {
    /// The finding of check `info`, with the thresholds' values from `t`.
    pub fn into_finding(self, info: &CheckInfo, t: &Thresholds) -> Finding {
        Finding {
            code: info.code.to_owned(),
            severity: self.severity,
            title: self.title,
            subject: self.subject,
            time_range: None,
            summary: self.summary,
            evidence: Evidence {
                source: self.source,
                measures: self.measures,
                query: None,
                table: self.table,
                chart: None,
            },
            thresholds: self.thresholds.iter().map(|n| t.get(n).into()).collect(),
            remedies: self.remedies,
        }
    }
}

/// A remedy.
pub fn remedy(title: &str, kind: RemedyKind, safety: Safety, body: impl Into<String>) -> Remedy {
    Remedy { title: title.to_owned(), kind, body: body.into(), safety }
}

/// `850 ms`, `1.25 s`.
pub fn format_seconds(s: f64) -> String {
    if s < 1.0 { format!("{:.0} ms", s * 1000.0) } else { format!("{s:.2} s") }
}

/// A duration in words: `1h 5m`, `45s`, `2d 3h`.
pub fn duration(seconds: i64) -> String {
    if seconds <= 0 {
        return "0s".into();
    }
    let (d, h, m, s) = (seconds / 86_400, seconds % 86_400 / 3600, seconds % 3600 / 60, seconds % 60);
    let parts: Vec<String> = [(d, "d"), (h, "h"), (m, "m"), (s, "s")]
        .iter()
        .filter(|(n, _)| *n > 0)
        .take(2)
        .map(|(n, u)| format!("{n}{u}"))
        .collect();
    parts.join(" ")
}

/// The time from `start` to `end` in words ([`duration`]), rounded to the nearest second as the
/// checks round theirs: a window of 294.985 s is `4m 55s` in its time line as in its title
/// (re-review s26: one finding said both `4m 54s` and `4m 55s`).
pub fn duration_between(start: chrono::DateTime<chrono::Utc>, end: chrono::DateTime<chrono::Utc>) -> String {
    let ms = (end - start).num_milliseconds();
    // Under a second, in milliseconds: a window of 161 ms was "(0s)" (review s42).
    if (1..1000).contains(&ms) {
        return format!("{ms}ms");
    }
    duration((ms as f64 / 1000.0).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(code: &str, severity: Severity, subject: &str) -> Finding {
        Finding {
            code: code.into(),
            severity,
            title: String::new(),
            subject: Subject::new("client", subject),
            time_range: None,
            summary: String::new(),
            evidence: Evidence::default(),
            thresholds: vec![],
            remedies: vec![],
        }
    }

    /// Re-review s26 item 12: a 294.985 s window was `4m 54s` in its time line and `4m 55s` in
    /// its title.
    #[test]
    fn a_time_range_in_words_rounds_to_the_second_as_the_checks_do() {
        let at = |ms: i64| chrono::DateTime::from_timestamp_millis(1_741_683_600_000 + ms).expect("in range");
        assert_eq!(duration_between(at(0), at(294_985)), "4m 55s");
        assert_eq!(duration_between(at(8), at(1_199_990)), "20m");
        // Under a second, in milliseconds (review s42: a 161 ms window was "(0s)").
        assert_eq!(duration_between(at(0), at(499)), "499ms");
        assert_eq!(duration_between(at(0), at(161)), "161ms");
        assert_eq!(duration_between(at(0), at(0)), "0s");
        assert_eq!(duration_between(at(0), at(999)), "999ms");
        assert_eq!(duration_between(at(0), at(1_000)), "1s");
        assert_eq!(duration_between(at(0), at(3_600_000)), "1h");
    }

    #[test]
    fn within_a_severity_the_cause_comes_before_its_symptoms() {
        // The list-storm demo: the expensive LISTs (the cause) above the lister's latency.
        let mut f = vec![
            finding("AUD009", Severity::Warning, "audit log"),
            finding("AUD002", Severity::Warning, "inventory-exporter"),
            finding("ETC001", Severity::Warning, "etcd-0"),
            finding("AUD004", Severity::Warning, "inventory-exporter"),
            finding("AUD001", Severity::Warning, "inventory-exporter"),
        ];
        sort_findings(&mut f);
        let order: Vec<&str> = f.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(order, vec!["AUD004", "AUD001", "ETC001", "AUD002", "AUD009"]);
    }

    /// Review s51 item 11: an active etcd `NOSPACE` alarm (ETC007, the whole cluster refuses
    /// writes) ranked eighth, below a throttled 1 req/s poller (AUD006) and other criticals.
    #[test]
    fn an_etcd_nospace_alarm_ranks_above_every_other_critical() {
        let mut f = vec![
            finding("AUD006", Severity::Critical, "build-status-poller"),
            finding("AUD007", Severity::Critical, "hook.example.com"),
            finding("ETC007", Severity::Critical, "etcd"),
            finding("AUD004", Severity::Critical, "inventory-exporter"),
        ];
        sort_findings(&mut f);
        assert_eq!(f[0].code, "ETC007", "{:?}", f.iter().map(|f| &f.code).collect::<Vec<_>>());
        assert_eq!(role_of("ETC007"), Role::Outage);
    }

    #[test]
    fn findings_of_one_code_keep_their_checks_order() {
        // AUD004 lists the costliest lister first: the sort must not reorder by name.
        let mut f = vec![
            finding("AUD004", Severity::Critical, "inventory-exporter"),
            finding("AUD004", Severity::Critical, "ama-logs"),
        ];
        sort_findings(&mut f);
        assert_eq!(f[0].subject.name, "inventory-exporter");
    }

    #[test]
    fn findings_sort_worst_first_then_code() {
        let mut f = vec![
            finding("AUD002", Severity::Warning, "b"),
            finding("AUD001", Severity::Info, "a"),
            finding("AUD003", Severity::Critical, "z"),
            finding("AUD002", Severity::Warning, "a"),
        ];
        sort_findings(&mut f);
        let order: Vec<(&str, &str)> = f.iter().map(|f| (f.code.as_str(), f.subject.name.as_str())).collect();
        assert_eq!(order, vec![("AUD003", "z"), ("AUD002", "b"), ("AUD002", "a"), ("AUD001", "a")]);
    }
}
