//! [`findings::Report`]s of the metrics and etcd checks, as `apiserver-doctor metrics` and
//! `apiserver-doctor etcd` print them (and `diagnose` can merge them).

use findings::{Finding, InputSummary, REPORT_SCHEMA_VERSION, Report, Severity, Thresholds};
use metrics::{MetricsEvidence, Snapshot, TargetKind};

use crate::EtcdEvidence;

/// The input kind of a scrape, as in [`InputSummary::kind`].
pub fn input_kind(kind: TargetKind) -> &'static str {
    match kind {
        TargetKind::KubeApiserver => "apiserver-metrics",
        TargetKind::Etcd => "etcd-metrics",
        TargetKind::Unknown => "metrics",
    }
}

/// One input line per scrape: source, samples, bad lines, and what it was identified as.
pub fn scrape_inputs(snapshots: &[Snapshot]) -> Vec<InputSummary> {
    snapshots
        .iter()
        .map(|s| InputSummary {
            kind: input_kind(s.target.kind).to_owned(),
            source: s.source.clone(),
            records: s.exposition.samples.len() as u64,
            skipped: s.exposition.error_count as u64,
            detected: Some(s.target.describe()),
        })
        .collect()
}

/// The metrics (`MET…`) and etcd (`ETC…`) findings of a set of scrapes, unsorted.
pub fn scrape_findings(
    snapshots: &[Snapshot],
    interval_seconds: Option<f64>,
    t: &Thresholds,
) -> Vec<Finding> {
    findings_of(&MetricsEvidence::from_snapshots(snapshots, interval_seconds), t)
}

fn findings_of(evidence: &MetricsEvidence, t: &Thresholds) -> Vec<Finding> {
    findings_with_live(evidence, None, t)
}

/// [`findings_of`], the API server's database size (MET004, MET005) judged against the quotas a
/// live read of etcd gave as well as the scrapes' (review s51, item 4: with `--etcd`, MET004
/// judged a 1.8 GiB database against an assumed 2 GiB quota, a false warning, while the member
/// read live reported 8 GiB). The live members judge only that: their own findings are the live
/// report's.
fn findings_with_live(
    evidence: &MetricsEvidence,
    live: Option<&EtcdEvidence>,
    t: &Thresholds,
) -> Vec<Finding> {
    let live_quotas = live.map(live_quota_members).unwrap_or_default();
    let mut findings = if live_quotas.is_empty() {
        metrics::checks::run(evidence, t)
    } else {
        let mut with_live = evidence.clone();
        with_live.etcd.extend(live_quotas);
        with_live.etcd_quota_bytes = None;
        metrics::checks::run(&with_live, t)
    };
    findings.extend(crate::checks::run(&EtcdEvidence::from_metrics(&evidence.etcd), t));
    one_database_judged_once(&mut findings);
    findings
}

/// The members of a live read whose quota is known (their `/metrics` read), as MET004 matches
/// quotas to databases: the size from the status, the member id and the endpoint.
fn live_quota_members(live: &EtcdEvidence) -> Vec<metrics::EtcdMetrics> {
    live.members
        .iter()
        .filter_map(|m| {
            let quota = m.quota_bytes().filter(|q| q.is_finite() && *q > 0.0)?;
            let mut metrics = m.metrics.clone()?;
            metrics.quota_bytes = Some(quota);
            metrics.db_total_bytes = m.db_total_bytes().or(metrics.db_total_bytes);
            if let Some(status) = &m.status {
                metrics.member_id = Some(status.id.clone());
                metrics.source = status.endpoint.clone();
            }
            Some(metrics)
        })
        .collect()
}

/// With etcd's own scrapes beside the API server's, ETC001 judges each member's database
/// against its quota and MET004 the same database as the API server reports it: two warnings
/// of one number (`… 6.6 GiB of its 8.0 GiB quota (82%)` twice in the demo; ops review s38).
/// ETC001, which names the member to defragment, is the one to act on: MET004 stays, as
/// information that says so.
fn one_database_judged_once(findings: &mut [Finding]) {
    judge_one_database_once(findings, SCRAPES_JUDGE_IT);
}

const SCRAPES_JUDGE_IT: &str = " etcd's own scrapes judge the same database member by member (ETC001): act on that \
     finding, which names the member.";
const LIVE_READ_JUDGES_IT: &str = " The live read of etcd (--etcd) judges the same database member by member \
     (ETC001): act on that finding, which names the member.";

/// MET004 demoted to information beside an ETC001 warning of the same database, `why` saying so
/// (once: a finding already demoted is left alone).
///
/// The same database: MET004's quota was read from etcd (it judged no assumed quota: its
/// thresholds hold no `etcd_quota_bytes`), and an ETC001 finding at least as severe names that
/// quota for a database near this one in size (within a factor of 2, as MET004 matches a
/// member to a database). A MET004 against an assumed quota, or beside ETC001 findings of
/// other databases only, stays as it is (review of the metrics command, item 3: an API server
/// reporting two etcd clusters had its 1.75 GiB one, matched to no member, demoted beside an
/// ETC001 of the 6.8 GiB member of the other).
fn judge_one_database_once(findings: &mut [Finding], why: &str) {
    let measure = |f: &Finding, label: &str| {
        f.evidence.measures.iter().find(|m| m.label == label).map(|m| m.value).filter(|v| v.is_finite())
    };
    let near = |a: f64, b: f64| a > 0.0 && b > 0.0 && a.max(b) <= 2.0 * a.min(b);
    // Each ETC001 warning's severity, quota and database size.
    let judged: Vec<(Severity, f64, f64)> = findings
        .iter()
        .filter(|f| f.code == "ETC001" && f.severity >= Severity::Warning)
        .filter_map(|f| Some((f.severity, measure(f, "quota")?, measure(f, "database size")?)))
        .collect();
    if judged.is_empty() {
        return;
    }
    for f in findings.iter_mut().filter(|f| f.code == "MET004") {
        if f.summary.contains(SCRAPES_JUDGE_IT) || f.summary.contains(LIVE_READ_JUDGES_IT) {
            continue;
        }
        let assumed = f.thresholds.iter().any(|t| t.name == findings::threshold_names::ETCD_QUOTA_BYTES);
        let (Some(quota), Some(size)) = (measure(f, "quota"), measure(f, "database size")) else { continue };
        let same =
            judged.iter().any(|(severity, q, s)| *severity >= f.severity && *q == quota && near(*s, size));
        if assumed || !same {
            continue;
        }
        f.severity = Severity::Info;
        f.summary.push_str(why);
    }
}

/// In a report holding the scrapes' findings and a live read's (`diagnose --metrics
/// apiserver.prom --etcd URL`): MET004 is information beside a live ETC001 warning, as beside a
/// scraped one ([`one_database_judged_once`]).
pub fn one_database_judged_once_with_live(report: &mut Report) {
    judge_one_database_once(&mut report.findings, LIVE_READ_JUDGES_IT);
}

fn report(inputs: Vec<InputSummary>, mut findings: Vec<Finding>, checks_run: Vec<String>) -> Report {
    findings::sort_findings(&mut findings);
    Report {
        schema_version: REPORT_SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        window: None,
        inputs,
        overview: Default::default(),
        findings,
        checks_run,
    }
}

/// What a check reads from scrapes.
struct Reads {
    code: &'static str,
    /// The component whose scrapes hold it.
    kind: TargetKind,
    /// Series names, any of which is input (a name ending in `_` stands for every series
    /// starting with it: a family whose series appear only once something happened, such as
    /// APF rejections or webhook calls, is judged by its subsystem's other series).
    series: &'static [&'static str],
    /// How many scrapes of one process it needs.
    needs: Needs,
    /// The first kube-apiserver minor version (1.x) that exposes its series; 0 when every one
    /// read does. A scrape of an older version lacks them by design, not by a cut (review s47).
    since: u32,
}

impl Reads {
    /// The same, with its series first exposed in kube-apiserver 1.`minor`.
    const fn since(self, minor: u32) -> Reads {
        Reads { since: minor, ..self }
    }
}

/// What a check needs beyond one scrape holding its series.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Needs {
    /// One scrape is enough.
    One,
    /// Two scrapes of one process, however far apart (a counter's increase between them).
    Pair,
    /// Two scrapes of one process a known time apart (growth per hour).
    Window,
}

const fn reads(code: &'static str, kind: TargetKind, series: &'static [&'static str], window: bool) -> Reads {
    Reads { code, kind, series, needs: if window { Needs::Window } else { Needs::One }, since: 0 }
}

const fn reads_pair(code: &'static str, kind: TargetKind, series: &'static [&'static str]) -> Reads {
    Reads { code, kind, series, needs: Needs::Pair, since: 0 }
}

const API: TargetKind = TargetKind::KubeApiserver;
const ETCD: TargetKind = TargetKind::Etcd;
const OBJECTS: &[&str] = metrics::apiserver::OBJECT_COUNT_METRICS;
const DB: &[&str] = metrics::apiserver::DB_SIZE_METRICS;
const ETCD_DB: &[&str] = &["etcd_mvcc_db_total_size_in_bytes", "etcd_debugging_mvcc_db_total_size_in_bytes"];

/// The inputs of every check that reads scrapes. ETC007, ETC008 and ETC010 read a live etcd
/// (alarms, the key scan, unreachable members), never scrapes: they do not run on scrapes.
const READS: &[Reads] = &[
    reads("MET001", API, &["apiserver_request_duration_seconds_bucket"], false),
    reads("MET002", API, OBJECTS, false),
    reads("MET003", API, OBJECTS, true),
    // The database size first appears in the 1.19 dump, APF's series (on by default) in 1.20
    // (../shared/data/real/metrics/apiserver, nri-kubernetes 1.16–1.35).
    reads("MET004", API, DB, false).since(19),
    reads("MET005", API, DB, true).since(19),
    reads("MET006", API, &["apiserver_flowcontrol_"], false).since(20),
    reads("MET007", API, &["apiserver_flowcontrol_request_wait_duration_seconds_bucket"], false).since(20),
    reads("MET008", API, &["apiserver_admission_"], false),
    reads("MET009", API, &["apiserver_admission_"], false),
    // A limit to judge against (review s42: any apiserver_flowcontrol_ series, a rejection
    // counter alone, listed MET010 as run when it had nothing to read). MET006 keeps the prefix:
    // a rejection counter appears only once something is rejected.
    reads(
        "MET010",
        API,
        &[
            "apiserver_flowcontrol_current_limit_seats",
            "apiserver_flowcontrol_nominal_limit_seats",
            "apiserver_flowcontrol_request_concurrency_limit",
            "apiserver_current_inflight_requests",
        ],
        false,
    ),
    reads("MET011", API, &["etcd_request_duration_seconds_bucket"], false),
    reads("ETC001", ETCD, ETCD_DB, false),
    reads("ETC002", ETCD, &["etcd_mvcc_db_total_size_in_use_in_bytes"], false),
    reads("ETC003", ETCD, &["etcd_disk_wal_fsync_duration_seconds_bucket"], false),
    reads("ETC004", ETCD, &["etcd_disk_backend_commit_duration_seconds_bucket"], false),
    reads("ETC005", ETCD, &["etcd_server_has_leader", "etcd_server_leader_changes_seen_total"], false),
    // A count of failures between two scrapes needs no window length (ETC006 says "between the
    // two scrapes" when their times are unknown or equal).
    reads_pair("ETC006", ETCD, &["etcd_server_proposals_failed_total"]),
    reads("ETC009", ETCD, ETCD_DB, true),
];

fn has_any(s: &Snapshot, series: &[&str]) -> bool {
    series.iter().any(|name| {
        if name.ends_with('_') { s.series_names().iter().any(|n| n.starts_with(name)) } else { s.has(name) }
    })
}

fn series_list(series: &[&str]) -> String {
    let names: Vec<String> = series
        .iter()
        .map(|n| if n.ends_with('_') { format!("any {n}* series") } else { (*n).to_owned() })
        .collect();
    match names.as_slice() {
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
        [] => String::new(),
    }
}

/// `MET002–MET006, MET011`: runs of consecutive codes joined.
fn code_ranges(codes: &[&str]) -> String {
    let number = |c: &str| c.get(3..).and_then(|n| n.parse::<u32>().ok());
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < codes.len() {
        let mut j = i;
        while j + 1 < codes.len()
            && codes[j + 1].get(..3) == codes[i].get(..3)
            && matches!((number(codes[j]), number(codes[j + 1])), (Some(a), Some(b)) if b == a + 1)
        {
            j += 1;
        }
        parts.push(if j >= i + 2 { format!("{}–{}", codes[i], codes[j]) } else { codes[i..=j].join(", ") });
        i = j + 1;
    }
    parts.join(", ")
}

/// The checks that had something to read, and notes naming those that had not and why.
/// `live_ran`: the etcd checks a live read (`--etcd`) ran, which no note calls without input.
fn coverage(
    snapshots: &[Snapshot],
    evidence: &MetricsEvidence,
    live_ran: &[&str],
) -> (Vec<String>, Vec<String>) {
    let mut ran = Vec::new();
    let mut notes = Vec::new();
    let mut no_scrape: Vec<&str> = Vec::new();
    let mut no_window: Vec<&str> = Vec::new();
    let mut no_pair: Vec<&str> = Vec::new();
    // (series wanted, codes) in check order, for the checks whose series no scrape holds.
    let mut missing: Vec<(&[&str], Vec<&str>)> = Vec::new();
    let window_of = |kind: TargetKind| match kind {
        TargetKind::KubeApiserver => {
            evidence.apiservers.iter().any(|a| a.window_seconds.is_some_and(|s| s > 0.0))
        }
        _ => evidence.etcd.iter().any(|e| e.window_seconds.is_some_and(|s| s > 0.0)),
    };
    // Two scrapes of one process were paired (their window may be of unknown length, 0 s).
    let pair_of = |kind: TargetKind| match kind {
        TargetKind::KubeApiserver => evidence.apiservers.iter().any(|a| a.window_seconds.is_some()),
        _ => evidence.etcd.iter().any(|e| e.window_seconds.is_some()),
    };
    // (series wanted, first minor, versions read, codes): series the versions read do not expose.
    let mut too_old: Vec<(&[&str], u32, String, Vec<&str>)> = Vec::new();
    for r in READS {
        let of_kind: Vec<&Snapshot> = snapshots.iter().filter(|s| s.target.kind == r.kind).collect();
        let older =
            |s: &&Snapshot| s.target.minor().is_some_and(|(major, minor)| major == 1 && minor < r.since);
        if of_kind.is_empty() {
            if !live_ran.contains(&r.code) {
                no_scrape.push(r.code);
            }
        } else if r.since > 0 && of_kind.iter().all(older) {
            let mut versions: Vec<String> = of_kind
                .iter()
                .filter_map(|s| s.target.minor())
                .map(|(major, minor)| format!("{major}.{minor}"))
                .collect();
            versions.sort();
            versions.dedup();
            match too_old.iter_mut().find(|(series, since, _, _)| *series == r.series && *since == r.since) {
                Some((_, _, _, codes)) => codes.push(r.code),
                None => too_old.push((r.series, r.since, versions.join(", "), vec![r.code])),
            }
        } else if !of_kind.iter().any(|s| has_any(s, r.series)) {
            match missing
                .iter_mut()
                .find(|(series, _)| std::ptr::eq(*series, r.series) || *series == r.series)
            {
                Some((_, codes)) => codes.push(r.code),
                None => missing.push((r.series, vec![r.code])),
            }
        } else if r.needs == Needs::Window && !window_of(r.kind) {
            no_window.push(r.code);
        } else if r.needs == Needs::Pair && !pair_of(r.kind) {
            no_pair.push(r.code);
        } else {
            ran.push(r.code.to_owned());
        }
    }
    for kind in [TargetKind::KubeApiserver, TargetKind::Etcd] {
        let codes: Vec<&str> = no_scrape
            .iter()
            .copied()
            .filter(|c| READS.iter().any(|r| r.code == *c && r.kind == kind))
            .collect();
        if !codes.is_empty() {
            // With a live read of etcd, what it ran is no longer said to lack input (review s51,
            // item 4: "ETC001–ETC006, ETC009 had no input" while the live ETC001 ran).
            let live = if kind == TargetKind::Etcd && !live_ran.is_empty() {
                ", and the live read of etcd (--etcd) does not give what they read (two scrapes for rates and \
                 failures, a member's /metrics for disk latencies)"
            } else {
                ""
            };
            notes.push(format!(
                "{} had no input: no {} scrape was given{live}.",
                code_ranges(&codes),
                kind.as_str()
            ));
        }
    }
    if !missing.is_empty() {
        let mut codes: Vec<&str> = missing.iter().flat_map(|(_, c)| c.iter().copied()).collect();
        codes.sort_unstable();
        let what: Vec<String> = match missing.as_slice() {
            [(series, _)] => vec![series_list(series)],
            _ => missing
                .iter()
                .map(|(series, c)| format!("{} ({})", series_list(series), c.join(", ")))
                .collect(),
        };
        notes.push(format!(
            "{} had no input: no scrape has {}. A scrape cut short (see its bad lines) or of another endpoint \
             lacks such series; these checks judged nothing.",
            code_ranges(&codes),
            what.join("; ")
        ));
    }
    for (series, since, versions, codes) in &too_old {
        notes.push(format!(
            "{} had no input: kube-apiserver {versions} does not expose {} (first in 1.{since}); {} judged nothing.",
            code_ranges(codes),
            series_list(series),
            if codes.len() == 1 { "it" } else { "these checks" }
        ));
    }
    if !no_window.is_empty() {
        notes.push(format!(
            "{} had no input: {} two scrapes of one process a known time apart (growth per hour).",
            code_ranges(&no_window),
            if no_window.len() == 1 { "it compares" } else { "they compare" }
        ));
    }
    if !no_pair.is_empty() {
        notes.push(format!(
            "{} had no input: {} two scrapes of one process, however far apart (failures between the scrapes).",
            code_ranges(&no_pair),
            if no_pair.len() == 1 { "it compares" } else { "they compare" }
        ));
    }
    for source in &evidence.unknown {
        notes.push(format!(
            "{source} is neither a kube-apiserver nor an etcd /metrics scrape (for example /metrics/slis, or \
             another component): no check reads it."
        ));
    }
    (ran, notes)
}

/// The report of `apiserver-doctor metrics` over `snapshots`: the checks that had something
/// to read are listed as run; notes say which had not, and how the scrapes were paired.
pub fn scrapes_report(snapshots: &[Snapshot], interval_seconds: Option<f64>, t: &Thresholds) -> Report {
    scrapes_report_with_live(snapshots, interval_seconds, None, t)
}

/// [`scrapes_report`] beside a live read of etcd (`diagnose --metrics … --etcd URL`): the API
/// server's database size is judged against the quotas the live members report, and the etcd
/// checks the live read runs are not said to have had no input. The live read's own findings
/// are [`live_report`]'s.
pub fn scrapes_report_with_live(
    snapshots: &[Snapshot],
    interval_seconds: Option<f64>,
    live: Option<&EtcdEvidence>,
    t: &Thresholds,
) -> Report {
    scrapes_report_with_timeouts(snapshots, interval_seconds, live, &Default::default(), t)
}

/// [`scrapes_report_with_live`] with the admission webhooks' `timeoutSeconds` from their
/// configurations, by webhook name, which MET008 judges each webhook's P99 against.
pub fn scrapes_report_with_timeouts(
    snapshots: &[Snapshot],
    interval_seconds: Option<f64>,
    live: Option<&EtcdEvidence>,
    webhook_timeouts: &std::collections::BTreeMap<String, metrics::WebhookTimeout>,
    t: &Thresholds,
) -> Report {
    let mut evidence = MetricsEvidence::from_snapshots(snapshots, interval_seconds);
    evidence.webhook_timeouts = webhook_timeouts.clone();
    let live_ran = live.map(live_checks).unwrap_or_default();
    let (ran, coverage_notes) = coverage(snapshots, &evidence, &live_ran);
    let mut r = report(scrape_inputs(snapshots), findings_with_live(&evidence, live, t), ran);
    // Values that are not numbers (NaN, ±Inf) were left out of the checks: say which.
    let skipped = evidence.apiservers.iter().flat_map(|a| a.skipped_values.iter().cloned());
    r.overview.notes = evidence.notes.iter().cloned().chain(skipped).chain(coverage_notes).collect();
    r
}

/// [`live_report`] with the TLS files the evidence was read with, so that the commands the
/// remedies print use them (and the endpoints and members read) instead of placeholders.
pub fn live_report_with_tls(evidence: &EtcdEvidence, tls: &crate::TlsFiles, t: &Thresholds) -> Report {
    let path = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string());
    let evidence = EtcdEvidence {
        tls_given: Some(metrics::checks::remedies::EtcdAccess {
            cacert: path(&tls.cacert),
            cert: path(&tls.cert),
            key: path(&tls.key),
            // The endpoints, user name and prefix [`crate::collect`] kept.
            ..evidence.tls_given.clone().unwrap_or_default()
        }),
        ..evidence.clone()
    };
    live_report(&evidence, t)
}

/// The member id an etcd scrape names (`etcd_server_id{server_id="…"} 1`).
pub fn scrape_member_id(s: &Snapshot) -> Option<String> {
    metrics::etcd_metrics::member_id(s)
}

/// Members given twice (two URLs of one member) are kept once, by member id; the notes say
/// which endpoints were merged.
fn dedup_members(evidence: &EtcdEvidence) -> (EtcdEvidence, Vec<String>) {
    let mut kept: Vec<crate::Member> = Vec::new();
    let mut merged: Vec<(String, String, String)> = Vec::new();
    for m in &evidence.members {
        let id = m.status.as_ref().map(|s| s.id.as_str());
        match kept.iter().find(|k| id.is_some() && k.status.as_ref().map(|s| s.id.as_str()) == id) {
            Some(first) => {
                merged.push((m.name.clone(), first.name.clone(), id.unwrap_or_default().to_owned()))
            }
            None => kept.push(m.clone()),
        }
    }
    let notes = merged
        .into_iter()
        .map(|(again, first, id)| {
            format!(
                "{} and {} are the same etcd member (id {}): read once, its findings given once under {}.",
                findings::text::one_line(&again),
                findings::text::one_line(&first),
                id,
                findings::text::one_line(&first)
            )
        })
        .collect();
    (EtcdEvidence { members: kept, ..evidence.clone() }, notes)
}

/// In a report holding both the findings of etcd scrapes and of a live read (`diagnose
/// --metrics etcd.prom --etcd URL`): a scrape of a member also read live (the same member id,
/// from `etcd_server_id` and the status) loses the etcd findings the live read gave too, so
/// each is counted once; a note names the inputs merged.
pub fn merge_scraped_into_live(report: &mut Report, snapshots: &[Snapshot], live: &EtcdEvidence) {
    for s in snapshots.iter().filter(|s| s.target.kind == TargetKind::Etcd) {
        let Some(id) = scrape_member_id(s) else { continue };
        let Some(member) = live.members.iter().find(|m| m.status.as_ref().is_some_and(|st| st.id == id))
        else {
            continue;
        };
        let live_codes: Vec<String> = report
            .findings
            .iter()
            .filter(|f| f.evidence.source.starts_with("etcd:") && f.subject.name == member.name)
            .map(|f| f.code.clone())
            .collect();
        let of_scrape = |f: &Finding| {
            f.code.starts_with("ETC")
                && f.evidence.source.starts_with("metrics:")
                && f.evidence.source.contains(&s.source)
        };
        let before = report.findings.len();
        report.findings.retain(|f| !(of_scrape(f) && live_codes.contains(&f.code)));
        let dropped = before - report.findings.len();
        report.overview.notes.push(format!(
            "{} is a scrape of etcd member {id}, also read live at {}: {} given once, from the live read.",
            findings::text::one_line(&s.source),
            findings::text::one_line(&member.name),
            match dropped {
                0 => "no finding was in both, each is".to_owned(),
                1 => "the 1 finding both gave is".to_owned(),
                n => format!("the {n} findings both gave are"),
            }
        ));
    }
}

/// The report of `apiserver-doctor etcd` over evidence read from a live cluster. A member
/// given twice (two URLs of it) is reported once.
pub fn live_report(evidence: &EtcdEvidence, t: &Thresholds) -> Report {
    let (deduped, notes) = dedup_members(evidence);
    let mut r = live_report_of(&deduped, t);
    // How the evidence was read (members probed from the member list, a scan started again
    // after a compaction), then the members merged.
    r.overview.notes.extend(evidence.notes.iter().cloned());
    r.overview.notes.extend(notes);
    r
}

fn live_report_of(evidence: &EtcdEvidence, t: &Thresholds) -> Report {
    let mut inputs: Vec<InputSummary> = evidence
        .members
        .iter()
        .map(|m| InputSummary {
            kind: "etcd".into(),
            source: m.name.clone(),
            records: 0,
            skipped: 0,
            detected: m.status.as_ref().map(|s| format!("etcd {}", s.version)),
        })
        .collect();
    if let (Some(keys), Some(first)) = (&evidence.keys, inputs.first_mut()) {
        first.records = keys.keys;
    }
    let checks = live_checks(evidence).into_iter().map(str::to_owned).collect();
    let mut r = report(inputs, crate::checks::run(evidence, t), checks);
    // A member that answered its status but whose /metrics gave no sample: the disk checks had
    // nothing of it to read, and say so (review s53, item 8: they were listed as run).
    let unscraped: Vec<&str> = evidence
        .members
        .iter()
        .filter(|m| m.status.is_some() && m.metrics.is_none())
        .map(|m| m.name.as_str())
        .collect();
    if !unscraped.is_empty() {
        r.overview.notes.push(format!(
            "ETC003, ETC004 had no input for {}: {} /metrics gave no sample or could not be read (see ETC010).",
            unscraped.join(", "),
            if unscraped.len() == 1 { "its" } else { "their" }
        ));
    }
    r
}

/// The etcd checks a live read gives something to read, in registry order (docs/metrics.md):
/// the key counts need the key scan, the rates two scrapes, which one live read never has, the
/// disk latencies a scrape, the sizes and the leader a member's status, the alarms their list
/// (ops review s38, item 9: all ten were listed, and "nothing found" vouched for checks that
/// read nothing; review s51, item 13: with no member answering, ETC001, ETC002, ETC005 and
/// ETC007 were listed as run). ETC010, which judges who answered, always runs.
fn live_checks(evidence: &EtcdEvidence) -> Vec<&'static str> {
    let scraped = evidence.members.iter().filter_map(|m| m.metrics.as_ref());
    let has_metrics = scraped.clone().next().is_some();
    let has_window = scraped.clone().any(|m| m.window_seconds.is_some());
    let has_status = evidence.members.iter().any(|m| m.status.is_some());
    crate::checks::infos()
        .iter()
        .map(|i| i.code)
        .filter(|code| match *code {
            "ETC008" => evidence.keys.is_some(),
            "ETC006" | "ETC009" => has_window,
            "ETC003" | "ETC004" => has_metrics,
            "ETC007" => !evidence.alarms_unread,
            "ETC010" => true,
            _ => has_status || has_metrics,
        })
        .collect()
}

/// Input lines for the endpoints given that no member answered at, so that the report names
/// every endpoint it was asked to read (review s51, item 13: a dead `--etcd` URL had no input
/// line, only an ETC010 finding).
pub fn unanswered_inputs(report: &mut Report, endpoints: &[String], evidence: &EtcdEvidence) {
    for endpoint in endpoints {
        let answered = evidence.members.iter().any(|m| m.name == *endpoint && m.status.is_some());
        if !answered && !report.inputs.iter().any(|i| i.kind == "etcd" && i.source == *endpoint) {
            report.inputs.push(InputSummary {
                kind: "etcd".into(),
                source: endpoint.clone(),
                records: 0,
                skipped: 0,
                detected: Some("did not answer (ETC010)".into()),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(name: &str, text: &str) -> Snapshot {
        Snapshot::parse(name, text.as_bytes(), None)
    }

    const FULL: &str = "kubernetes_build_info{git_version=\"v1.30.0\"} 1\n\
apiserver_request_duration_seconds_bucket{verb=\"GET\",resource=\"pods\",scope=\"resource\",le=\"+Inf\"} 1\n\
apiserver_storage_objects{resource=\"pods\"} 3\n";

    /// A member read live: 1.8 GiB file, 600 MiB in use (ETC002 fires).
    fn live_member(endpoint: &str, id: &str, leader: bool) -> crate::Member {
        let mib = 1024 * 1024;
        crate::Member {
            name: endpoint.into(),
            status: Some(crate::MemberStatus {
                endpoint: endpoint.into(),
                id: id.into(),
                name: None,
                version: "3.4.23".into(),
                db_size: 1800 * mib,
                db_size_in_use: Some(600 * mib),
                leader: "a".into(),
                is_leader: leader,
                raft_term: 2,
                raft_index: 10,
                raft_applied_index: Some(10),
                errors: vec![],
            }),
            metrics: None,
        }
    }

    /// etcd review item 9, end to end: a live report's defrag names the members read, the
    /// leader last, and no TLS flag the user did not give.
    #[test]
    fn live_remedies_name_the_members_read_leader_last_and_no_tls_flag_not_given() {
        let ev = EtcdEvidence {
            members: vec![
                live_member("http://10.0.0.1:2379", "a", true),
                live_member("http://10.0.0.2:2379", "b", false),
            ],
            ..EtcdEvidence::default()
        };
        let r = live_report_with_tls(&ev, &crate::TlsFiles::default(), &Thresholds::default());
        let defrag = r
            .findings
            .iter()
            .find(|f| f.code == "ETC002")
            .and_then(|f| f.remedies.iter().find(|r| r.body.contains("defrag")))
            .map(|r| r.body.clone())
            .expect("ETC002 with a defrag remedy");
        assert!(defrag.contains("for ep in http://10.0.0.2:2379 http://10.0.0.1:2379; do"), "{defrag}");
        assert!(
            !defrag.contains("--cert") && !defrag.contains("$TLS") && !defrag.contains("member-1"),
            "{defrag}"
        );
    }

    /// Ops review s38 item 9: a live read without the key scan (`--no-keys`) listed ETC008 as
    /// run, and the rates of two scrapes (ETC006, ETC009), which one live read never has.
    #[test]
    fn a_live_report_lists_only_the_checks_that_had_something_to_read() {
        let ev = EtcdEvidence {
            members: vec![live_member("http://10.0.0.1:2379", "a", true)],
            ..EtcdEvidence::default()
        };
        let r = live_report(&ev, &Thresholds::default());
        for code in ["ETC006", "ETC008", "ETC009"] {
            assert!(!r.checks_run.iter().any(|c| c == code), "{code}: {:?}", r.checks_run);
        }
        assert!(r.checks_run.iter().any(|c| c == "ETC001") && r.checks_run.iter().any(|c| c == "ETC010"));
        let with_keys = EtcdEvidence { keys: Some(Default::default()), ..ev };
        let r = live_report(&with_keys, &Thresholds::default());
        assert!(r.checks_run.iter().any(|c| c == "ETC008"), "{:?}", r.checks_run);
    }

    /// Review s53, item 8: a member whose /metrics gave no sample had ETC003 and ETC004 listed
    /// as run, and nothing said their input was missing.
    #[test]
    fn a_member_without_a_usable_scrape_had_its_disk_checks_listed_as_run() {
        let ev = EtcdEvidence {
            members: vec![live_member("http://10.0.0.1:2379", "a", true)],
            ..EtcdEvidence::default()
        };
        let r = live_report(&ev, &Thresholds::default());
        assert!(!r.checks_run.iter().any(|c| c == "ETC003" || c == "ETC004"), "{:?}", r.checks_run);
        assert!(
            r.overview.notes.iter().any(|n| n
                == "ETC003, ETC004 had no input for http://10.0.0.1:2379: its /metrics gave no sample or could not \
                    be read (see ETC010)."),
            "{:?}",
            r.overview.notes
        );
    }

    /// etcd review item 15: `--endpoints http://127.0.0.1:23791,http://localhost:23791/` gave
    /// ETC001 twice for one member (2 critical).
    #[test]
    fn two_urls_of_one_member_give_one_set_of_findings_and_a_note() {
        let ev = EtcdEvidence {
            members: vec![
                live_member("http://127.0.0.1:23791", "bdae", true),
                live_member("http://localhost:23791/", "bdae", true),
            ],
            ..EtcdEvidence::default()
        };
        let r = live_report(&ev, &Thresholds::default());
        assert_eq!(r.findings.iter().filter(|f| f.code == "ETC002").count(), 1, "{:?}", r.findings);
        assert_eq!(r.inputs.len(), 1);
        let notes = r.overview.notes.join("\n");
        assert!(
            notes.contains(
                "http://localhost:23791/ and http://127.0.0.1:23791 are the same etcd member (id bdae)"
            ),
            "{notes}"
        );
    }

    /// The notes collection wrote (members probed from the member list, a key scan started
    /// again after a compaction) were in JSON only: text and Markdown did not show them.
    #[test]
    fn how_the_evidence_was_read_is_in_the_report_notes() {
        let ev = EtcdEvidence {
            members: vec![live_member("http://127.0.0.1:23791", "bdae", true)],
            notes: vec!["3 members in the member list, 1 given: the other 2 were probed too".into()],
            ..EtcdEvidence::default()
        };
        let r = live_report(&ev, &Thresholds::default());
        assert!(
            r.overview.notes.iter().any(|n| n.starts_with("3 members in the member list, 1 given")),
            "{:?}",
            r.overview.notes
        );
    }

    /// etcd review item 15: `diagnose --etcd URL --metrics etcd1.prom` (a scrape of the same
    /// member) gave ETC002–ETC004 twice, once per input.
    #[test]
    fn a_scrape_of_a_member_read_live_gives_its_findings_once() {
        let mib = 1024 * 1024;
        let prom = format!(
            "etcd_server_id{{server_id=\"bdae\"}} 1\netcd_mvcc_db_total_size_in_bytes {}\netcd_mvcc_db_total_size_in_use_in_bytes {}\netcd_server_has_leader 1\n",
            1800 * mib,
            600 * mib
        );
        let scrapes = [snap("etcd1.prom", &prom)];
        assert_eq!(scrape_member_id(&scrapes[0]).as_deref(), Some("bdae"));
        let live = EtcdEvidence {
            members: vec![live_member("http://127.0.0.1:23790", "bdae", true)],
            ..EtcdEvidence::default()
        };
        let mut r = scrapes_report(&scrapes, None, &Thresholds::default());
        let l = live_report(&live, &Thresholds::default());
        r.findings.extend(l.findings);
        assert_eq!(r.findings.iter().filter(|f| f.code == "ETC002").count(), 2, "both inputs judge it");
        merge_scraped_into_live(&mut r, &scrapes, &live);
        let etc002: Vec<&Finding> = r.findings.iter().filter(|f| f.code == "ETC002").collect();
        assert_eq!(etc002.len(), 1, "{etc002:?}");
        assert_eq!(etc002[0].evidence.source, "etcd:http://127.0.0.1:23790");
        let notes = r.overview.notes.join("\n");
        assert!(
            notes.contains(
                "etcd1.prom is a scrape of etcd member bdae, also read live at http://127.0.0.1:23790"
            ),
            "{notes}"
        );
    }

    /// Review s51 item 4: `diagnose --metrics apiserver.prom --etcd URL` judged the API server's
    /// 1.75 GiB database against an assumed 2 GiB quota (a false warning) while the live member
    /// reported 8 GiB, and said ETC001 had no input while the live read ran it.
    #[test]
    fn met004_judges_the_database_against_the_live_members_quota() {
        let gib = 1024.0 * 1024.0 * 1024.0;
        let prom = format!(
            "kubernetes_build_info{{git_version=\"v1.29.5\"}} 1\n\
             apiserver_storage_size_bytes{{storage_cluster_id=\"etcd-0\"}} {}\n",
            1.75 * gib
        );
        let scrapes = [snap("apiserver.prom", &prom)];
        let alone = scrapes_report(&scrapes, None, &Thresholds::default());
        let met004 = |r: &Report| r.findings.iter().find(|f| f.code == "MET004").cloned();
        assert_eq!(met004(&alone).map(|f| f.severity), Some(Severity::Warning), "{:?}", alone.findings);
        let mut member = live_member("http://127.0.0.1:23910", "bdae", true);
        if let Some(s) = member.status.as_mut() {
            s.db_size = (1.75 * gib) as u64;
        }
        member.metrics = Some(metrics::EtcdMetrics {
            quota_bytes: Some(8.0 * gib),
            ..crate::checks::test_support::metrics()
        });
        let live = EtcdEvidence { members: vec![member], ..EtcdEvidence::default() };
        let r = scrapes_report_with_live(&scrapes, None, Some(&live), &Thresholds::default());
        let f = met004(&r);
        assert!(f.as_ref().is_none_or(|f| f.severity == Severity::Info), "{f:?}");
        assert!(f.is_none_or(|f| !f.title.contains("assumed")));
        let notes = r.overview.notes.join("\n");
        assert!(
            notes.contains("ETC006, ETC009 had no input: no etcd scrape was given, and the live read"),
            "{notes}"
        );
        assert!(!notes.contains("ETC001"), "{notes}");
    }

    /// Review s47: a 1.17 scrape, which has no database size or APF series by design, was said to
    /// lack them as "a scrape cut short (see its bad lines) or of another endpoint" would.
    #[test]
    fn series_a_version_does_not_expose_were_blamed_on_the_scrape() {
        let prom = "# TYPE kubernetes_build_info gauge\nkubernetes_build_info{git_version=\"v1.17.4\"} 1\n\
                    apiserver_request_total{verb=\"GET\",code=\"200\"} 5\n\
                    etcd_object_counts{resource=\"pods\"} 12\n";
        let r = scrapes_report(&[snap("old.prom", prom)], None, &Thresholds::default());
        let notes = r.overview.notes.join("\n");
        assert!(
            notes.contains(
                "MET004, MET005 had no input: kube-apiserver 1.17 does not expose apiserver_storage_size_bytes, \
                 apiserver_storage_db_total_size_in_bytes or etcd_db_total_size_in_bytes (first in 1.19); these \
                 checks judged nothing."
            ),
            "{notes}"
        );
        assert!(
            notes.contains("MET006 had no input: kube-apiserver 1.17 does not expose any apiserver_flowcontrol_* series (first in 1.20); it judged nothing."),
            "{notes}"
        );
        assert!(!notes.contains("MET004, MET005 had no input: no scrape has"), "{notes}");
        // A 1.30 scrape without them was cut short or is of something else: said as before.
        let prom = prom.replace("v1.17.4", "v1.30.0");
        let r = scrapes_report(&[snap("new.prom", &prom)], None, &Thresholds::default());
        let notes = r.overview.notes.join("\n");
        assert!(
            notes.contains(
                "apiserver_storage_size_bytes, apiserver_storage_db_total_size_in_bytes or etcd_db_total_size_in_bytes \
                 (MET004, MET005)"
            ),
            "{notes}"
        );
        assert!(notes.contains("A scrape cut short"), "{notes}");
        assert!(!notes.contains("does not expose"), "{notes}");
    }

    /// Review s42: a scrape whose only APF series is a rejection counter listed MET010 (which
    /// judges seats against a limit) among the checks run; it had no limit to read.
    #[test]
    fn met010_runs_only_with_a_limit_to_judge_against() {
        let build = "# TYPE kubernetes_build_info gauge\nkubernetes_build_info{git_version=\"v1.30.0\"} 1\napiserver_request_total{verb=\"GET\",code=\"200\"} 5\n";
        let rejections = format!(
            "{build}apiserver_flowcontrol_rejected_requests_total{{flow_schema=\"a\",priority_level=\"b\",reason=\"queue-full\"}} 3\n"
        );
        let r = scrapes_report(&[snap("apf.prom", &rejections)], None, &Thresholds::default());
        assert!(r.checks_run.iter().any(|c| c == "MET006"), "{:?}", r.checks_run);
        assert!(!r.checks_run.iter().any(|c| c == "MET010"), "{:?}", r.checks_run);
        let limit =
            format!("{rejections}apiserver_flowcontrol_current_limit_seats{{priority_level=\"b\"}} 10\n");
        let r = scrapes_report(&[snap("apf.prom", &limit)], None, &Thresholds::default());
        assert!(r.checks_run.iter().any(|c| c == "MET010"), "{:?}", r.checks_run);
    }

    #[test]
    fn a_truncated_scrape_names_the_checks_that_had_no_input() {
        // Cut before apiserver_storage_objects, at the end of a line: MET002/MET003 had nothing
        // to read (a last line without its newline would be skipped as maybe cut).
        let cut: String = FULL.lines().take(2).map(|l| format!("{l}\n")).collect();
        let r = scrapes_report(&[snap("cut.prom", &cut)], None, &Thresholds::default());
        assert!(r.findings.is_empty());
        assert!(r.checks_run.contains(&"MET001".to_owned()), "{:?}", r.checks_run);
        assert!(!r.checks_run.iter().any(|c| c == "MET002" || c == "MET004"), "{:?}", r.checks_run);
        let notes = r.overview.notes.join("\n");
        assert!(
            notes.contains("MET002–MET011 had no input: no scrape has apiserver_resource_objects"),
            "{notes}"
        );
        assert!(notes.contains("apiserver_storage_objects"), "{notes}");
        assert!(notes.contains("ETC001–ETC006, ETC009 had no input: no etcd scrape was given."), "{notes}");
        let mut text = Vec::new();
        report::render(&r, report::Format::Text, &mut text, &report::TextOptions::default()).expect("render");
        let text = String::from_utf8(text).expect("utf-8");
        assert!(text.contains("Note: MET002"), "{text}");
    }

    #[test]
    fn values_that_are_not_finite_numbers_are_named_in_the_notes() {
        let text = FULL.replace(
            "apiserver_storage_objects{resource=\"pods\"} 3",
            "apiserver_storage_objects{resource=\"pods\"} +Inf",
        );
        let r = scrapes_report(&[snap("inf.prom", &text)], None, &Thresholds::default());
        assert!(r.findings.is_empty(), "{:?}", r.findings);
        let notes = r.overview.notes.join("\n");
        assert!(notes.contains("inf.prom: apiserver_storage_objects"), "{notes}");
        assert!(notes.contains("not a finite number: skipped"), "{notes}");
    }

    #[test]
    fn an_unrecognised_scrape_runs_no_check_and_says_so() {
        let slis = "kubernetes_healthcheck{name=\"etcd\",type=\"readyz\"} 1\n";
        let r = scrapes_report(&[snap("slis.prom", slis)], None, &Thresholds::default());
        assert!(r.checks_run.is_empty(), "{:?}", r.checks_run);
        let notes = r.overview.notes.join("\n");
        assert!(
            notes.contains("slis.prom is neither a kube-apiserver nor an etcd /metrics scrape"),
            "{notes}"
        );
    }

    #[test]
    fn every_scrape_check_is_in_the_table_of_what_it_reads() {
        let live_only = ["ETC007", "ETC008", "ETC010"];
        for info in metrics::checks::infos().iter().chain(crate::checks::infos()) {
            assert!(
                live_only.contains(&info.code) || READS.iter().any(|r| r.code == info.code),
                "{} is missing from READS",
                info.code
            );
        }
        assert_eq!(
            code_ranges(&["MET002", "MET003", "MET004", "MET006", "MET011"]),
            "MET002–MET004, MET006, MET011"
        );
        assert_eq!(code_ranges(&["MET003", "MET005"]), "MET003, MET005");
    }
}
