//! AUD009 evidence: what the audit log itself can and cannot show — time range, gaps, events
//! without timestamps, read requests missing (only `kube-audit-admin` exported), a window that
//! holds no events.

use chrono::{DateTime, Utc};
use findings::{CheckInfo, EvidenceKind, Severity, Subject, ThresholdUsed, TimeRange, threshold_names as th};

use crate::audit::{AuditContext, CheckError, CheckOutput, QueryRunner, count, finding, measure, run};
use crate::kql::datetime_literal;
use crate::table::ResultTable;

/// The check's description.
pub const INFO: CheckInfo = CheckInfo {
    code: "AUD009",
    name: "evidence",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::Audit,
    doc: r#"## What it detects

Whether the audit log can answer the questions the other checks ask.

It reports:

- the events, requests and time range it holds, and the window analysed (always reported);
- **no events at all**: the input holds not one audit event (an empty file, or files that
  are not audit logs), so there is nothing to diagnose;
- **no read requests**: not one `get`, `list` or `watch` — what an export of only the
  `kube-audit-admin` category (or an audit policy that drops reads) looks like, so read load
  and LIST storms cannot be seen;
- **gaps**: stretches inside the window longer than `log_gap_seconds` (5 minutes) without a
  single event — lost log shipping, a dropped apiserver instance, a sampling export;
- **events without timestamps**: kept and counted, but outside every time window;
- **an empty window**: events exist, but none between `--now` minus `--since` and `--now`;
- **no completed requests**: only `RequestReceived`/`ResponseStarted` stages, so latency cannot
  be measured.

## Why it matters

A diagnosis is only as good as its evidence: "no LIST storm found" means nothing if reads were
never logged, and a quiet hour may be a hole in the log rather than a quiet cluster.

## Example

```text
warning  AUD009  no get, list or watch requests in the log: reads are missing (kube-audit-admin only?)
```

## Remedy

Export the `kube-audit` category (not only `kube-audit-admin`) for the incident window, check
the log pipeline for the gaps, and pin the window to the data with `--now latest` or
`--now TIME --since DURATION`.

## References

- AKS diagnostic categories (kube-audit vs kube-audit-admin):
  https://learn.microsoft.com/azure/aks/monitor-aks-reference#resource-logs
- Kubernetes audit stages and policy: https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/
"#,
};

/// What the whole log holds, whatever the window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataProfile {
    /// Events in the table.
    pub events: f64,
    /// Events without any timestamp.
    pub without_time: f64,
    /// Requests (last stage of each).
    pub requests: f64,
    /// `get`, `list` and `watch` events.
    pub reads: f64,
    /// First and last `TimeGenerated`.
    pub range: Option<TimeRange>,
}

/// The profile of the whole table (no window).
pub fn profile_query(table: &str) -> String {
    format!(
        "{table}\n| summarize Events = count(), WithoutTime = countif(isnull(TimeGenerated)), \
         First = min(TimeGenerated), Last = max(TimeGenerated), \
         Requests = countif(Stage !in (\"RequestReceived\", \"ResponseStarted\")), \
         Reads = countif(Verb in (\"get\", \"list\", \"watch\"))"
    )
}

/// Runs [`profile_query`] and reads it.
pub fn profile(table: &str, runner: &dyn QueryRunner) -> Result<DataProfile, CheckError> {
    let (_, rows) = run(runner, profile_query(table))?;
    read_profile(&rows)
}

/// Reads the profile row.
pub fn read_profile(rows: &ResultTable) -> Result<DataProfile, CheckError> {
    let r = rows.reader();
    let cols = (
        r.column("Events")?,
        r.column("WithoutTime")?,
        r.column("First")?,
        r.column("Last")?,
        r.column("Requests")?,
        r.column("Reads")?,
    );
    let Some(row) = rows.rows.first() else { return Ok(DataProfile::default()) };
    let range = match (cols.2.time(row), cols.3.time(row)) {
        (Some(start), Some(end)) => Some(TimeRange { start, end }),
        _ => None,
    };
    Ok(DataProfile {
        events: cols.0.num(row),
        without_time: cols.1.num(row),
        requests: cols.4.num(row),
        reads: cols.5.num(row),
        range,
    })
}

/// Events per minute in the window, to find gaps.
pub fn minutes_query(ctx: &AuditContext) -> String {
    format!(
        "{}\n| where TimeGenerated between ({} .. {})\n| summarize Events = count() by Minute = bin(TimeGenerated, 1m)\n\
         | order by Minute asc",
        ctx.table,
        datetime_literal(ctx.window.start),
        datetime_literal(ctx.window.end)
    )
}

/// Runs the check.
pub fn run_check(ctx: &AuditContext, runner: &dyn QueryRunner) -> Result<CheckOutput, CheckError> {
    let profile = profile(&ctx.table, runner)?;
    let (q, minutes) = run(runner, minutes_query(ctx))?;
    evaluate(ctx, &profile, &q, &minutes)
}

fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Turns the profile and the per-minute counts into findings about the evidence.
pub fn evaluate(
    ctx: &AuditContext,
    profile: &DataProfile,
    minutes_query: &str,
    minutes: &ResultTable,
) -> Result<CheckOutput, CheckError> {
    let r = minutes.reader();
    let (c_minute, c_events) = (r.column("Minute")?, r.column("Events")?);
    let mut bins: Vec<(DateTime<Utc>, f64)> =
        minutes.rows.iter().filter_map(|row| c_minute.time(row).map(|t| (t, c_events.num(row)))).collect();
    bins.sort_by_key(|b| b.0);
    let in_window: f64 = bins.iter().map(|b| b.1).sum();
    let mut out = CheckOutput::default();
    let subject = || Subject::new("evidence", "audit log");
    let prof_query = profile_query(&ctx.table);

    let mut summary = finding(
        INFO.code,
        Severity::Info,
        subject(),
        format!(
            "{} audit events, {} requests{}",
            count(profile.events),
            count(profile.requests),
            profile.range.map(|r| format!(", from {} to {}", time(r.start), time(r.end))).unwrap_or_default()
        ),
        match profile.range {
            Some(_) => format!(
                "The window analysed is {} to {} and holds {} events. Requests are counted once, at their last stage.",
                time(ctx.window.start),
                time(ctx.window.end),
                count(in_window)
            ),
            None => "No event carries a time, so there is no window to analyse.".to_owned(),
        },
        ctx,
    );
    summary.evidence.measures = vec![
        measure("events", profile.events, "count"),
        measure("requests", profile.requests, "count"),
        measure("events in the window", in_window, "count"),
        measure("events without timestamps", profile.without_time, "count"),
        measure("read requests (get, list, watch)", profile.reads, "count"),
    ];
    summary.evidence.query = Some(prof_query.clone());
    out.findings.push(summary);

    let mut warn = |title: String, text: String, query: &str, thresholds: Vec<ThresholdUsed>| {
        let mut f = finding(INFO.code, Severity::Warning, subject(), title, text, ctx);
        f.evidence.query = Some(query.to_owned());
        f.thresholds = thresholds;
        out.findings.push(f);
    };
    if profile.events == 0.0 {
        warn(
            "no audit events in the input: nothing to diagnose".to_owned(),
            "The input holds not one audit event, so every audit check had nothing to look at. The inputs \
             listed above say what each file was read as; a file that is not an audit log is named there, \
             and docs/formats.md lists the formats read."
                .to_owned(),
            &prof_query,
            vec![],
        );
    }
    // Without any time in the log there is no window to speak of: the warning about events
    // without timestamps below says so.
    if profile.events > 0.0 && in_window == 0.0 && profile.range.is_some() {
        warn(
            "no audit events in the window analysed".to_owned(),
            format!(
                "The log holds {} events{}, but none between {} and {}. Use --now latest, or --now TIME and \
                 --since DURATION, to analyse the time the data covers.",
                count(profile.events),
                profile
                    .range
                    .map(|r| format!(" from {} to {}", time(r.start), time(r.end)))
                    .unwrap_or_default(),
                time(ctx.window.start),
                time(ctx.window.end)
            ),
            &prof_query,
            vec![],
        );
    }
    if profile.events > 0.0 && profile.reads == 0.0 {
        warn(
            "no get, list or watch requests in the log: reads are missing (kube-audit-admin only?)".to_owned(),
            "Not one read request was logged. That is what an export of only the kube-audit-admin category looks \
             like (it leaves out get and list), or an audit policy that drops reads: read load, LIST storms and \
             the clients behind them cannot be seen. Export the kube-audit category for the incident window."
                .to_owned(),
            &prof_query,
            vec![],
        );
    }
    if profile.without_time > 0.0 {
        warn(
            format!("{} events have no timestamp", count(profile.without_time)),
            format!(
                "{} of {} events carry neither a stage timestamp nor a TimeGenerated. They are kept and counted \
                 here, but no time window includes them, so the other checks do not see them.",
                count(profile.without_time),
                count(profile.events)
            ),
            &prof_query,
            vec![],
        );
    }
    if profile.events > profile.without_time && profile.requests == 0.0 {
        warn(
            "no completed requests: only RequestReceived or ResponseStarted events".to_owned(),
            "Every event is an early stage of a request, so no latency can be measured and requests cannot be \
             counted once each. Check the audit policy's omitStages."
                .to_owned(),
            &prof_query,
            vec![],
        );
    }
    let gap = ctx.thresholds.get(th::LOG_GAP_SECONDS);
    if let (Some(data), Some(covered)) = (profile.range, ctx.covered()) {
        let w = ctx.window;
        // The stretches of the window before the first event and after the last one.
        let outside: Vec<String> =
            [("before the first event", w.start, data.start), ("after the last", data.end, w.end)]
                .into_iter()
                .filter(|(_, from, to)| (*to - *from).num_seconds() as f64 > gap.value)
                .map(|(what, from, to)| {
                    format!(
                        "{} {what} ({} – {})",
                        findings::duration((to - from).num_seconds()),
                        time(from),
                        time(to)
                    )
                })
                .collect();
        if !outside.is_empty() {
            let covered_for = findings::duration((covered.end - covered.start).num_seconds());
            warn(
                format!(
                    "the log covers {covered_for} of the {} window analysed",
                    findings::duration((w.end - w.start).num_seconds())
                ),
                format!(
                    "The window runs from {} to {}, but the log holds events only from {} to {}: {} hold no data at \
                     all. Rates in the other findings are per second of the {covered_for} the log covers, not of the \
                     whole window. To analyse a time the log does not hold, export that time; to analyse only what \
                     it holds, leave out --since and --now.",
                    time(w.start),
                    time(w.end),
                    time(data.start),
                    time(data.end),
                    outside.join(" and "),
                ),
                &prof_query,
                vec![gap.into()],
            );
        }
    }
    let mut gaps: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    for pair in bins.windows(2) {
        // A bin covers a minute; the silence runs from the end of one bin to the start of the next.
        let silent = (pair[1].0 - pair[0].0).num_seconds() - 60;
        if silent as f64 > gap.value {
            gaps.push((pair[0].0 + chrono::Duration::seconds(60), pair[1].0));
        }
    }
    if !gaps.is_empty() {
        let total: i64 = gaps.iter().map(|(a, b)| (*b - *a).num_seconds()).sum();
        let listed: Vec<String> =
            gaps.iter().take(5).map(|(a, b)| format!("{} – {}", time(*a), time(*b))).collect();
        warn(
            format!(
                "{} gap{} in the audit log ({} without events)",
                gaps.len(),
                if gaps.len() == 1 { "" } else { "s" },
                findings::duration(total)
            ),
            format!(
                "No event at all was logged during: {}{}. The cluster is never that quiet; events were lost on \
                 their way to the log or the export samples them.",
                listed.join(", "),
                if gaps.len() > 5 { format!(" and {} more", gaps.len() - 5) } else { String::new() }
            ),
            minutes_query,
            vec![gap.into()],
        );
    }
    if profile.range.is_none() {
        // No event carries a time: the window is an empty stand-in, not a time to show.
        for f in &mut out.findings {
            f.time_range = None;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Cell;
    use crate::testutil::{ctx_hour, time_at};

    fn minutes(offsets: &[i64]) -> ResultTable {
        ResultTable::new(
            &["Minute", "Events"],
            offsets.iter().map(|m| vec![Cell::Time(time_at(m * 60)), Cell::Int(100)]).collect(),
        )
    }

    fn full_profile() -> DataProfile {
        let ctx = ctx_hour();
        DataProfile {
            events: 6000.0,
            without_time: 0.0,
            requests: 5000.0,
            reads: 3000.0,
            range: Some(ctx.window),
        }
    }

    #[test]
    fn a_window_reaching_past_the_log_warns_and_rates_are_over_what_it_covers() {
        // An hour's window over the last quarter of an hour of log (`--since 1h`).
        let mut ctx = ctx_hour();
        let data = TimeRange { start: time_at(45 * 60), end: ctx.window.end };
        ctx.data_range = Some(data);
        assert_eq!(ctx.window_seconds(), 15.0 * 60.0);
        let profile = DataProfile { range: Some(data), ..full_profile() };
        let all: Vec<i64> = (45..60).collect();
        let out = evaluate(&ctx, &profile, "q", &minutes(&all)).expect("evaluates");
        let warning = out.findings.iter().find(|f| f.severity == Severity::Warning).expect("a warning");
        assert_eq!(warning.title, "the log covers 15m of the 1h window analysed");
        assert!(warning.summary.contains("45m before the first event"), "{}", warning.summary);
        assert!(!warning.summary.contains("  "), "{}", warning.summary);
        // The log filling the window: no such warning, and rates over the whole window.
        let ctx = ctx_hour();
        assert_eq!(ctx.window_seconds(), 3600.0);
        let all: Vec<i64> = (0..60).collect();
        let out = evaluate(&ctx, &full_profile(), "q", &minutes(&all)).expect("evaluates");
        assert!(out.findings.iter().all(|f| f.severity == Severity::Info));
    }

    #[test]
    fn events_without_any_time_do_not_speak_of_a_window_at_the_epoch() {
        let ctx = ctx_hour();
        let profile =
            DataProfile { events: 37.0, without_time: 37.0, requests: 37.0, reads: 10.0, range: None };
        let out = evaluate(&ctx, &profile, "q", &minutes(&[])).expect("evaluates");
        let titles: Vec<&str> = out.findings.iter().map(|f| f.title.as_str()).collect();
        assert!(titles.contains(&"37 events have no timestamp"), "{titles:?}");
        assert!(!titles.iter().any(|t| t.contains("no audit events in the window")), "{titles:?}");
    }

    #[test]
    fn complete_evidence_only_informs() {
        let ctx = ctx_hour();
        let all: Vec<i64> = (0..60).collect();
        let out = evaluate(&ctx, &full_profile(), "q", &minutes(&all)).expect("evaluates");
        assert_eq!(out.findings.len(), 1);
        assert_eq!(out.findings[0].severity, Severity::Info);
    }

    #[test]
    fn gaps_missing_reads_and_missing_timestamps_warn() {
        let ctx = ctx_hour();
        let mut offsets: Vec<i64> = (0..20).collect();
        offsets.extend(40..60);
        let profile = DataProfile { reads: 0.0, without_time: 12.0, ..full_profile() };
        let out = evaluate(&ctx, &profile, "q", &minutes(&offsets)).expect("evaluates");
        let titles: Vec<&str> = out.findings.iter().skip(1).map(|f| f.title.as_str()).collect();
        assert_eq!(
            titles,
            vec![
                "no get, list or watch requests in the log: reads are missing (kube-audit-admin only?)",
                "12 events have no timestamp",
                "1 gap in the audit log (20m without events)",
            ]
        );
    }

    #[test]
    fn an_empty_window_says_where_the_data_is() {
        let ctx = ctx_hour();
        let out = evaluate(&ctx, &full_profile(), "q", &minutes(&[])).expect("evaluates");
        assert!(out.findings.iter().any(|f| f.title == "no audit events in the window analysed"));
    }

    #[test]
    fn an_input_without_events_warns_and_names_no_window() {
        let ctx = ctx_hour();
        let profile = DataProfile { events: 0.0, without_time: 0.0, requests: 0.0, reads: 0.0, range: None };
        let out = evaluate(&ctx, &profile, "q", &minutes(&[])).expect("evaluates");
        let titles: Vec<&str> = out.findings.iter().map(|f| f.title.as_str()).collect();
        assert_eq!(
            titles,
            ["0 audit events, 0 requests", "no audit events in the input: nothing to diagnose"]
        );
        assert_eq!(out.findings[1].severity, Severity::Warning);
        assert_eq!(out.findings[0].summary, "No event carries a time, so there is no window to analyse.");
        assert!(out.findings.iter().all(|f| f.time_range.is_none()));
    }
}
