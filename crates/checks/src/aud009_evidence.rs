//! AUD009 evidence: what the audit log itself can and cannot show — time range, gaps, events
//! without timestamps, read requests missing (only `kube-audit-admin` exported), a window that
//! holds no events.

use chrono::{DateTime, Utc};
use findings::{
    CheckInfo, EvidenceKind, Finding, Remedy, RemedyKind, Safety, Severity, Subject, ThresholdUsed,
    TimeRange, threshold_names as th,
};

use crate::audit::{
    AuditContext, CheckError, CheckOutput, QueryRunner, count, counted, finding, measure, run,
};
use crate::kql::NOT_EARLY_STAGE;
use crate::table::ResultTable;

/// The check's description.
pub const INFO: CheckInfo = CheckInfo {
    code: "AUD009",
    name: "evidence",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::Audit,
    thresholds: &[th::LOG_GAP_SECONDS],
    doc: r#"## What it detects

Whether the audit log can answer the questions the other checks ask.

It reports:

- the events, requests and read requests in the window analysed, with its first and last
  event, and what the whole log holds when that is more (always reported; the query in its
  evidence counts the window, as every other check's query does);
- **no events at all**: the input holds not one audit event (an empty file, or files that
  are not audit logs), so there is nothing to diagnose;
- **no read requests**: not one `get` or `list` — what an export of only the
  `kube-audit-admin` category looks like (Azure leaves get and list out of it; its watches and
  writes stay), or GKE's Admin Activity log without its Data Access log (off until enabled),
  or an audit policy that drops reads, so read load and LIST storms cannot be seen;
- **gaps**: stretches inside the window longer than `log_gap_seconds` (5 minutes) without a
  single event — lost log shipping, a dropped apiserver instance, a sampling export, or an
  audit policy that logs little;
- **a window reaching past its events**: the window starts before its first event or ends
  after its last by more than `log_gap_seconds` (a window past the log's ends, or one that
  starts or ends inside a silence of it); rates in every finding are then per second of the
  part of the window from its first event to its last;
- **no latency**: none (or under 90%) of the window's requests carry both
  `requestReceivedTimestamp` and `stageTimestamp`, so the latency checks judge few or none of
  them — their silence does not mean latency is fine (GKE's Cloud Audit Logs keep one time
  per request: none of their requests has a latency);
- **whole-second timestamps**: the window's `requestReceivedTimestamp` and `stageTimestamp`
  carry no fraction of a second (some exports and converters write them so), so every latency
  is a multiple of 1 s and the latency checks (AUD002, AUD003, AUD005) see a 30 ms request as
  0 s or 1 s. The rule: the events with a sub-second time in either field are fewer than a
  tenth of the requests with a latency — so at least nine in ten latencies are whole seconds
  (each such request's last event has both times). A log of fine times has a fraction in
  nearly every event; one that mixes in a few whole-second events does not warn;
- **events without timestamps**: kept and counted, but outside every time window;
- **events at impossible times**: stamped before 2014-06-06 (Kubernetes' first commit) or more
  than a day after the time of analysis — a wrong clock or a broken export; they are kept and
  counted, and the default window runs from the first event at a possible time to the last, so
  they do not stretch it (a window set with `--now` and `--since` may still hold them, and the
  finding says so);
- **requests with impossible times**: a `stageTimestamp` before the `requestReceivedTimestamp`,
  or more than a day after it (no short-running request takes that long; the API server times
  them out after a minute by default). Every latency in every check leaves them out (the
  queries' `latency` is null for them), and the finding counts them and lists them with its
  query;
- **requests logged more than once without a stage**: one audit ID on several events that
  carry no `stage` (a log converted or filtered without it); every check counts an event
  without a stage as a request, so these are counted once per event, and their
  `RequestReceived` copies add requests with no answer;
- **an empty window**: events exist, but none between `--now` minus `--since` and `--now`;
- **no completed requests**: only `RequestReceived`/`ResponseStarted` stages, so latency cannot
  be measured.

## Why it matters

A diagnosis is only as good as its evidence: "no LIST storm found" means nothing if reads were
never logged, and a quiet hour may be a hole in the log rather than a quiet cluster.

## Example

```text
warning  AUD009  no get or list requests in the log: reads are missing (kube-audit-admin only?)
```

## Remedy

Export the `kube-audit` category (not only `kube-audit-admin`) for the incident window, check
the log pipeline for the gaps, and pin the window to the data with `--now latest` or
`--now TIME --since DURATION`. When the gaps are most of the window (an old incident's log
ingested beside today's), every rate is diluted, and the finding gives the `--since` that
analyses the events after the last gap alone.

## References

- AKS diagnostic categories (kube-audit vs kube-audit-admin):
  https://learn.microsoft.com/azure/aks/monitor-aks-reference#resource-logs
- GKE audit logs (Admin Activity, Data Access):
  https://cloud.google.com/kubernetes-engine/docs/how-to/audit-logging
- Kubernetes audit stages and policy: https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/
"#,
};

/// What the whole log, or the part of it in the window analysed, holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataProfile {
    /// Events in the table.
    pub events: f64,
    /// Events without any timestamp.
    pub without_time: f64,
    /// Requests (last stage of each).
    pub requests: f64,
    /// `get` and `list` events of the whole log (what an export of kube-audit-admin leaves out;
    /// its watches stay); read requests (`get`, `list`, `watch`, their last stage) of the window.
    pub reads: f64,
    /// First and last `TimeGenerated`.
    pub range: Option<TimeRange>,
}

/// The profile of the whole table (no window): what the window is resolved from, and what
/// the findings about the log as a whole state.
pub fn profile_query(table: &str) -> String {
    format!(
        "{table}\n| summarize Events = count(), WithoutTime = countif(isnull(TimeGenerated)), \
         First = min(TimeGenerated), Last = max(TimeGenerated), \
         Requests = countif({NOT_EARLY_STAGE}), \
         Reads = countif(Verb in (\"get\", \"list\"))"
    )
}

/// The profile of the window analysed: its events, requests and read requests, and its first
/// and last event — the numbers of the summary finding.
pub fn window_query(ctx: &AuditContext) -> String {
    format!(
        "{}\n| summarize Events = count(), First = min(TimeGenerated), Last = max(TimeGenerated), \
         Requests = countif({NOT_EARLY_STAGE}), \
         Reads = countif({NOT_EARLY_STAGE} and Verb in (\"get\", \"list\", \"watch\"))",
        ctx.events()
    )
}

/// [`profile_query`]'s answer: from the store's manifest when the runner reads a store and
/// the table is `AKSAudit` (every event), else by running it. Over the demo's 8.8 million
/// events the query took 0.15 s before any check could start.
pub fn profile(table: &str, runner: &dyn QueryRunner) -> Result<DataProfile, CheckError> {
    if table == "AKSAudit"
        && let Some(profile) = runner.store_totals().as_ref().and_then(profile_of_totals)
    {
        return Ok(profile);
    }
    let (_, rows) = run(runner, profile_query(table))?;
    read_profile(&rows)
}

/// [`profile_query`] over `AKSAudit` as a store's manifest counts it: its events, those without
/// a `TimeGenerated` and the first and last, the events past the first stages (a null stage,
/// counted as `(none)`, is one: `Stage !in (…)` holds for it), and the `get` and `list` events.
/// `None` when the manifest did not count `TimeGenerated` (a store written by an older build).
pub fn profile_of_totals(totals: &audit::store::Counts) -> Option<DataProfile> {
    let time = totals.event_time?;
    let counted = |counts: &std::collections::BTreeMap<String, u64>, keys: &[&str]| -> u64 {
        keys.iter().map(|k| counts.get(*k).copied().unwrap_or(0)).sum()
    };
    let early = counted(&totals.stages, &["RequestReceived", "ResponseStarted"]);
    let range = match (time.min, time.max) {
        (Some(min), Some(max)) => Some(TimeRange {
            start: DateTime::from_timestamp_nanos(min),
            end: DateTime::from_timestamp_nanos(max),
        }),
        _ => None,
    };
    Some(DataProfile {
        events: totals.events as f64,
        without_time: time.missing as f64,
        requests: totals.events.saturating_sub(early) as f64,
        reads: counted(&totals.verbs, &["get", "list"]) as f64,
        range,
    })
}

/// Reads the profile row of [`profile_query`] or [`window_query`] (which has no
/// `WithoutTime`: no event without a time is in a window).
pub fn read_profile(rows: &ResultTable) -> Result<DataProfile, CheckError> {
    let r = rows.reader();
    let cols = (
        r.column("Events")?,
        r.column("WithoutTime").ok(),
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
        without_time: cols.1.as_ref().map_or(0.0, |c| c.num(row)),
        requests: cols.4.num(row),
        reads: cols.5.num(row),
        range,
    })
}

/// True for an event whose `requestReceivedTimestamp` or `stageTimestamp` has a fraction of a
/// second (null when it has neither, which `countif` does not count).
pub const SUB_SECOND: &str = "RequestReceivedTime != bin(RequestReceivedTime, 1s) \
     or StageReceivedTime != bin(StageReceivedTime, 1s)";

/// Events per minute in the window, to find gaps, with the first and last event of each
/// minute, so that the same pass gives the window's range.
pub fn minutes_query(ctx: &AuditContext) -> String {
    format!(
        "{}\n| summarize Events = count(), First = min(TimeGenerated), Last = max(TimeGenerated) \
         by Minute = bin(TimeGenerated, 1m)\n| order by Minute asc",
        ctx.events()
    )
}

/// The window's profile, as [`window_query`] gives it: its events and range from the rows of
/// [`minutes_query`], its requests and read requests from the requests per user
/// agent the top-clients and error checks count ([`crate::kql::answers_by_agent`], which the
/// engine counts once for all of them). Counting them here again, over every event of the
/// window, cost a tenth of a second over the demo's 8.7 million events.
fn window_profile(minutes: &ResultTable, answers: &ResultTable) -> Result<DataProfile, CheckError> {
    let events = minutes.reader().column("Events")?;
    let mut p = DataProfile {
        events: minutes.rows.iter().map(|row| events.num(row)).sum(),
        range: range_of(minutes)?,
        ..DataProfile::default()
    };
    let a = answers.reader();
    let (requests, reads) = (a.column("Requests")?, a.column("Reads")?);
    for row in &answers.rows {
        p.requests += requests.num(row);
        p.reads += reads.num(row);
    }
    Ok(p)
}

/// The events in the window, as [`minutes_query`] counts them.
pub fn window_events(ctx: &AuditContext, runner: &dyn QueryRunner) -> Result<f64, CheckError> {
    let (_, minutes) = run(runner, minutes_query(ctx))?;
    let events = minutes.reader().column("Events")?;
    Ok(minutes.rows.iter().map(|row| events.num(row)).sum())
}

/// The first and last event in the window, as [`minutes_query`] finds them (the memo answers it
/// again for the check itself): what rates are per, since a window can reach past the log's
/// events or into a silence of it at either end.
pub fn window_range(ctx: &AuditContext, runner: &dyn QueryRunner) -> Result<Option<TimeRange>, CheckError> {
    let (_, minutes) = run(runner, minutes_query(ctx))?;
    range_of(&minutes)
}

/// The first and last event of the rows of [`minutes_query`].
fn range_of(minutes: &ResultTable) -> Result<Option<TimeRange>, CheckError> {
    let r = minutes.reader();
    let (first, last) = (r.column("First")?, r.column("Last")?);
    Ok(minutes.rows.iter().filter_map(|row| Some((first.time(row)?, last.time(row)?))).fold(
        None,
        |range, (a, b)| {
            Some(match range {
                Some(r) => TimeRange { start: r.start.min(a), end: r.end.max(b) },
                None => TimeRange { start: a, end: b },
            })
        },
    ))
}

/// The times an audit event can carry: from Kubernetes' first commit to a day after the time of
/// this analysis (a clock a little ahead is possible; a year ahead is not).
pub fn possible_times() -> TimeRange {
    let (start, end) = engine::possible_times();
    TimeRange { start, end }
}

/// True when every time from `range.start` to `range.end` is a possible one.
pub fn all_possible(range: &TimeRange) -> bool {
    let possible = possible_times();
    range.start >= possible.start && range.end <= possible.end
}

/// The condition that holds for an event at an impossible time (see [`possible_times`]).
fn impossible_condition(possible: &TimeRange) -> String {
    format!(
        "TimeGenerated < {} or TimeGenerated > {}",
        crate::kql::datetime_literal(possible.start),
        crate::kql::datetime_literal(possible.end)
    )
}

/// The first and last event of the whole table at a possible time: the default window's ends
/// when some events carry impossible times. `None` when no event does.
pub fn possible_range(table: &str, runner: &dyn QueryRunner) -> Result<Option<TimeRange>, CheckError> {
    let possible = possible_times();
    let (_, rows) = run(
        runner,
        format!(
            "{}\n| summarize First = min(TimeGenerated), Last = max(TimeGenerated)",
            crate::kql::events(table, &possible)
        ),
    )?;
    let r = rows.reader();
    let (first, last) = (r.column("First")?, r.column("Last")?);
    Ok(rows.rows.first().and_then(|row| Some(TimeRange { start: first.time(row)?, end: last.time(row)? })))
}

/// The events of the whole table at impossible times, per minute (see [`possible_times`]).
fn impossible_minutes_query(table: &str, possible: &TimeRange) -> String {
    format!(
        "{table}\n| where {}\n| summarize Events = count() by Minute = bin(TimeGenerated, 1m)\n| order by Minute asc",
        impossible_condition(possible)
    )
}

/// Runs the check.
pub fn run_check(ctx: &AuditContext, runner: &dyn QueryRunner) -> Result<CheckOutput, CheckError> {
    let profile = profile(&ctx.table, runner)?;
    let (mq, minutes) = run(runner, minutes_query(ctx))?;
    let totals = format!(
        "{}\n| summarize Requests = sum(Requests), Reads = sum(Reads)",
        crate::kql::answers_by_agent(ctx)
    );
    let (_, answers) = run(runner, totals)?;
    let window = window_profile(&minutes, &answers)?;
    let mut out = evaluate(ctx, &profile, (&window_query(ctx), &window), &mq, &minutes)?;
    // Events stamped before Kubernetes existed or after the time of analysis, over the whole log
    // (the default window leaves them out), when its first or last event is one.
    if let Some(range) = profile.range
        && !all_possible(&range)
    {
        let query = impossible_minutes_query(&ctx.table, &possible_times());
        let (query, minutes) = run(runner, query)?;
        out.findings.extend(impossible_times_warning(ctx, &query, &minutes)?);
    }
    // Whether latency can be measured: requests (watches and other long-running ones left out)
    // that carry both timestamps, from the sums the latency check (AUD002) starts from.
    let timed_query = format!(
        "{}\n| summarize Requests = sum(Requests), Timed = sum(Timed), Impossible = sum(Impossible)",
        crate::aud002_client_latency::per_agent_and_bin(ctx)
    );
    let (timed_query, timed) = run(runner, timed_query)?;
    let r = timed.reader();
    let (requests, with_latency, impossible) =
        (r.column("Requests")?, r.column("Timed")?, r.column("Impossible")?);
    if let Some(row) = timed.rows.first() {
        out.findings.extend(latency_warning(ctx, requests.num(row), with_latency.num(row), &timed_query));
        out.findings.extend(impossible_latency_warning(ctx, impossible.num(row)));
    }
    out.findings.extend(whole_seconds(ctx, runner)?);
    // Events without a stage are each counted as a request; one audit ID on several of them is
    // one request counted several times. A store whose manifest counts no stage-less event
    // is not asked.
    let stageless = runner.store_totals().map(|c| c.stages.get(audit::store::NONE_KEY).copied().unwrap_or(0));
    if stageless != Some(0) {
        let (query, rows) = crate::audit::run_few(runner, stageless_copies_query(ctx))?;
        let r = rows.reader();
        let (ids, events) = (r.column("Ids")?, r.column("Events")?);
        if let Some(row) = rows.rows.first() {
            out.findings.extend(stageless_copies_warning(ctx, ids.num(row), events.num(row), query));
        }
    }
    Ok(out)
}

/// Audit IDs on more than one event without a stage in the window, and those events.
pub fn stageless_copies_query(ctx: &AuditContext) -> String {
    format!(
        "{}\n| where isempty(Stage) and isnotempty(AuditId)\n\
         | summarize Copies = count() by AuditId\n| where Copies > 1\n\
         | summarize Ids = count(), Events = sum(Copies)",
        ctx.events()
    )
}

/// A warning when requests were logged more than once without a stage (review 48 of the audit
/// checks, item 9: a log converted without `stage` counted 30,494 requests for 30,000, and
/// their RequestReceived copies had no response and a 0 ms latency).
fn stageless_copies_warning(ctx: &AuditContext, ids: f64, events: f64, query: String) -> Option<Finding> {
    if ids <= 0.0 {
        return None;
    }
    let title = format!(
        "{} logged more than once without a stage: counted once per event",
        counted(ids, "request", "requests")
    );
    let text = format!(
        "{} audit {} appear on {} events that carry no stage. The checks count each event without a stage as a \
         request, so {} counted {} times rather than {}, and the copies written when the request arrived \
         (RequestReceived: no response yet) add requests with no answer and a 0 ms latency. The log lost its \
         stage field on the way (a conversion or a filter): export it with the stage, or keep only each \
         request's last event (ResponseComplete).",
        count(ids),
        if ids.round() == 1.0 { "ID" } else { "IDs" },
        count(events),
        if ids.round() == 1.0 { "it is" } else { "they are" },
        count(events),
        count(ids)
    );
    let mut f =
        finding(INFO.code, Severity::Warning, Subject::new("evidence", "audit log"), title, text, ctx);
    f.evidence.measures = vec![
        measure("requests logged more than once without a stage", ids, "count"),
        measure("their events", events, "count"),
    ];
    f.evidence.query = Some(query);
    Some(f)
}

/// A warning about the events stamped at impossible times (`minutes`: their count per minute,
/// over the whole log), saying whether the window analysed holds them.
fn impossible_times_warning(
    ctx: &AuditContext,
    query: &str,
    minutes: &ResultTable,
) -> Result<Option<Finding>, CheckError> {
    let r = minutes.reader();
    let (c_minute, c_events) = (r.column("Minute")?, r.column("Events")?);
    let bins: Vec<(DateTime<Utc>, f64)> =
        minutes.rows.iter().filter_map(|row| c_minute.time(row).map(|t| (t, c_events.num(row)))).collect();
    let n: f64 = bins.iter().map(|(_, e)| e).sum();
    if n <= 0.0 {
        return Ok(None);
    }
    let in_window = bins.iter().filter(|(m, _)| *m >= ctx.window.start && *m <= ctx.window.end).count();
    let listed: Vec<String> = bins.iter().take(5).map(|(m, _)| time(*m)).collect();
    let what = if in_window == 0 {
        "They are kept and counted, but left out of the window analysed: without --now and --since it runs \
         from the first event at a possible time to the last, so its length and the rates in the other \
         findings do not span them."
    } else {
        "They are kept and counted; the window analysed holds some of them, so its rates count them: --now or \
         --since set it so, or no event is at a possible time and the window falls back to them all. If --now \
         or --since was given, leave them out for a window from the first event at a possible time to the last."
    };
    let mut f = finding(
        INFO.code,
        Severity::Warning,
        Subject::new("evidence", "audit log"),
        format!("{} stamped before 2014 or after today: impossible times", counted(n, "event", "events")),
        format!(
            "{} {} a time before 2014-06-06 (Kubernetes' first commit) or more than a day after the time of \
             this analysis: {}{}. A wrong clock, or an export that broke or made up the times, stamps them so. {what}",
            counted(n, "event", "events"),
            if n == 1.0 { "carries" } else { "carry" },
            listed.join(", "),
            if bins.len() > 5 { format!(" and {} more minutes", bins.len() - 5) } else { String::new() }
        ),
        ctx,
    );
    f.evidence.measures = vec![measure("events at impossible times", n, "count")];
    f.evidence.query = Some(query.to_owned());
    Ok(Some(f))
}

/// A warning when requests carry two times that cannot both be right (see
/// [`crate::kql::LATENCY_MS`]): they are left out of every latency (review s40, item 3).
fn impossible_latency_warning(ctx: &AuditContext, impossible: f64) -> Option<Finding> {
    if impossible <= 0.0 {
        return None;
    }
    let title = format!(
        "{} with impossible times (response before request, or a day after) left out of latencies",
        counted(impossible, "request", "requests")
    );
    let text = format!(
        "{} in the window (watches and other long-running requests left out) {} a stageTimestamp before its \
         requestReceivedTimestamp, or more than a day after it, which no short-running request can take (the API \
         server times them out after a minute by default). A stepped clock, or an export that rewrote or mixed up \
         the times, makes them. They are counted as requests, but left out of every latency (AUD002, AUD003, \
         AUD004's time in LISTs, AUD005, AUD007), where a single one made a P99 of millions of hours. The query \
         lists them.",
        counted(impossible, "request", "requests"),
        if impossible == 1.0 { "has" } else { "have" }
    );
    let mut f =
        finding(INFO.code, Severity::Warning, Subject::new("evidence", "audit log"), title, text, ctx);
    f.evidence.measures = vec![measure("requests with impossible times", impossible, "count")];
    f.evidence.query = Some(format!(
        "{}\n| where {}\n| extend latency = {}\n| where {}\n\
         | project RequestReceivedTime, StageReceivedTime, Verb, RequestUri, UserAgent, AuditId\n| take 100",
        ctx.requests(),
        crate::kql::NOT_LONG_RUNNING,
        crate::kql::LATENCY_MS,
        crate::kql::IMPOSSIBLE_LATENCY
    ));
    Some(f)
}

/// A warning when few or none of the window's requests carry both timestamps
/// (`requestReceivedTimestamp` and `stageTimestamp`): the latency checks then judge only those
/// that do, or nothing, and would otherwise stay silent as if latency were fine.
fn latency_warning(ctx: &AuditContext, requests: f64, timed: f64, query: &str) -> Option<Finding> {
    if requests <= 0.0 || timed >= 0.9 * requests {
        return None;
    }
    let (title, text) = if timed == 0.0 {
        (
            format!(
                "no latency can be measured: none of the {} requests has both timestamps",
                count(requests)
            ),
            format!(
                "Not one of the {} requests in the window (watches and other long-running requests left out) \
                 carries both requestReceivedTimestamp and stageTimestamp, so the latency checks (AUD002, AUD003, \
                 AUD004's time in LISTs, AUD005) had nothing to judge: their silence does not mean latency is \
                 fine. Logs converted or trimmed by a shipper often drop these fields, and GKE's Cloud Audit Logs \
                 keep one time per request; read the API server's own audit log, or its request-duration metrics \
                 (diagnose --metrics).",
                count(requests)
            ),
        )
    } else {
        let share = 100.0 * timed / requests;
        (
            format!(
                "only {} of {} requests ({share:.0}%) have both timestamps: latency findings rest on those",
                count(timed),
                count(requests)
            ),
            format!(
                "{} of the {} requests in the window (watches and other long-running requests left out) lack \
                 requestReceivedTimestamp or stageTimestamp. The latency checks judge only the {} that have \
                 both; what the others waited is unknown.",
                count(requests - timed),
                count(requests),
                count(timed)
            ),
        )
    };
    let mut f =
        finding(INFO.code, Severity::Warning, Subject::new("evidence", "audit log"), title, text, ctx);
    f.evidence.measures = vec![
        measure("requests (long-running left out)", requests, "count"),
        measure("requests with both timestamps", timed, "count"),
    ];
    f.evidence.query = Some(query.to_owned());
    Some(f)
}

/// Events a first look at the window reads to tell whether its times have fractions of a
/// second (see [`whole_seconds`]).
const SAMPLE_EVENTS: usize = 10_000;

/// Whether the window's latencies are whole seconds: a look at its first events first, and the
/// whole count ([`whole_second_query`]) only when fewer than half of them carry a fraction of a
/// second. Counting over every event cost the warm `diagnose` of 8.8 million events 0.1 to
/// 0.17 s (docs/performance.md, session 51); logs written to the microsecond, nearly all, stop
/// at the look. A log whose first events have fractions and nine in ten of the rest not is
/// not warned about.
fn whole_seconds(ctx: &AuditContext, runner: &dyn QueryRunner) -> Result<Option<Finding>, CheckError> {
    let sample = format!(
        "{}\n| take {SAMPLE_EVENTS}\n| summarize Sampled = count(), SubSecond = countif({SUB_SECOND})",
        ctx.events()
    );
    let (_, rows) = crate::audit::run_few(runner, sample)?;
    let r = rows.reader();
    let (sampled, sub_second) = (r.column("Sampled")?, r.column("SubSecond")?);
    let Some(row) = rows.rows.first() else { return Ok(None) };
    if sampled.num(row) == 0.0 || sub_second.num(row) >= 0.5 * sampled.num(row) {
        return Ok(None);
    }
    let (_, rows) = run(runner, whole_second_query(ctx))?;
    let r = rows.reader();
    let (sub_second, timed) = (r.column("SubSecond")?, r.column("Timed")?);
    Ok(rows.rows.first().and_then(|row| whole_second_warning(ctx, timed.num(row), sub_second.num(row))))
}

/// The query that counts what [`whole_second_warning`] tells: the window's events with a
/// sub-second time, its requests with a latency (as AUD002 counts them), and those of them whose
/// two times are whole seconds.
pub fn whole_second_query(ctx: &AuditContext) -> String {
    format!(
        "{}\n| extend latency = iff({NOT_EARLY_STAGE} and {}, {}, long(null))\n\
         | summarize SubSecond = countif({SUB_SECOND}), Timed = countif(isnotnull(latency)), \
         WholeSeconds = countif(isnotnull(latency) and RequestReceivedTime == bin(RequestReceivedTime, 1s) \
         and StageReceivedTime == bin(StageReceivedTime, 1s))",
        ctx.events(),
        crate::kql::NOT_LONG_RUNNING,
        crate::kql::LATENCY_MS
    )
}

/// A warning when the window's timestamps have whole-second resolution: the events with a
/// sub-second time (`sub_second`, any stage) are fewer than a tenth of the requests with a
/// latency (`timed`). Each of those requests has an event with both its times, so at least
/// `timed - sub_second` latencies — nine in ten or more — are multiples of 1 s (review 50,
/// item 2: a median latency of 0 ms hid a 5 s client).
fn whole_second_warning(ctx: &AuditContext, timed: f64, sub_second: f64) -> Option<Finding> {
    if timed <= 0.0 || sub_second >= 0.1 * timed {
        return None;
    }
    let whole = timed - sub_second;
    let title = if sub_second == 0.0 {
        format!(
            "timestamps have whole-second resolution: {} of 1 s",
            if timed.round() == 1.0 {
                "the one latency is a multiple".to_owned()
            } else {
                format!("all {} latencies are multiples", count(timed))
            }
        )
    } else {
        format!(
            "timestamps have whole-second resolution: at least {} of {} latencies are multiples of 1 s",
            count(whole),
            count(timed)
        )
    };
    let text = format!(
        "{}: the log keeps {} times to the whole second (an export or a converter cut them so), and the \
         latencies of {} are multiples of 1 s. The latency checks (AUD002, AUD003, AUD005) read a 30 ms request \
         as 0 s or 1 s: their averages and percentiles are coarse, a median can be 0 ms, and latencies under a \
         second cannot be told apart. Read the API server's own audit log, which keeps microseconds, or its \
         request-duration metrics (diagnose --metrics).",
        if sub_second == 0.0 {
            format!(
                "No event in the window carries a fraction of a second in requestReceivedTimestamp or \
                 stageTimestamp, and {} {} both (watches and other long-running requests left out)",
                counted(timed, "request", "requests"),
                if timed.round() == 1.0 { "has" } else { "have" }
            )
        } else {
            format!(
                "Only {} in the window {} a fraction of a second in requestReceivedTimestamp or stageTimestamp, \
                 against {} with both (watches and other long-running requests left out)",
                counted(sub_second, "event", "events"),
                if sub_second.round() == 1.0 { "carries" } else { "carry" },
                counted(timed, "request", "requests")
            )
        },
        if sub_second == 0.0 { "its" } else { "most of its" },
        if sub_second == 0.0 {
            if timed.round() == 1.0 { "that request".to_owned() } else { format!("all {}", count(timed)) }
        } else {
            format!("at least {} of them", count(whole))
        }
    );
    let mut f =
        finding(INFO.code, Severity::Warning, Subject::new("evidence", "audit log"), title, text, ctx);
    f.evidence.measures = vec![
        measure("requests with both timestamps (long-running left out)", timed, "count"),
        measure("events with a sub-second time", sub_second, "count"),
    ];
    f.evidence.query = Some(whole_second_query(ctx));
    Some(f)
}

fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Turns the profile and the per-minute counts into findings about the evidence.
pub fn evaluate(
    ctx: &AuditContext,
    profile: &DataProfile,
    (window_query, window): (&str, &DataProfile),
    minutes_query: &str,
    minutes: &ResultTable,
) -> Result<CheckOutput, CheckError> {
    let r = minutes.reader();
    let (c_minute, c_events) = (r.column("Minute")?, r.column("Events")?);
    let mut bins: Vec<(DateTime<Utc>, f64)> =
        minutes.rows.iter().filter_map(|row| c_minute.time(row).map(|t| (t, c_events.num(row)))).collect();
    bins.sort_by_key(|b| b.0);
    let mut out = CheckOutput::default();
    let subject = || Subject::new("evidence", "audit log");
    let prof_query = profile_query(&ctx.table);

    let summary = match profile.range {
        // What the window holds, as its query counts it.
        Some(data) => {
            let mut f = finding(
                INFO.code,
                Severity::Info,
                subject(),
                format!(
                    "{}, {} in the window{}",
                    counted(window.events, "audit event", "audit events"),
                    counted(window.requests, "request", "requests"),
                    window
                        .range
                        .map(|r| format!(", from {} to {}", time(r.start), time(r.end)))
                        .unwrap_or_default()
                ),
                format!(
                    "The window analysed runs from {} to {}{} Requests are counted once, at their last stage.",
                    time(ctx.window.start),
                    time(ctx.window.end),
                    if window.events == profile.events {
                        " and holds every event of the log.".to_owned()
                    } else {
                        format!(
                            "; the whole log holds {} events from {} to {}{}.",
                            count(profile.events),
                            time(data.start),
                            time(data.end),
                            if profile.without_time > 0.0 {
                                format!(
                                    " ({} of them without a timestamp, which no window includes)",
                                    count(profile.without_time)
                                )
                            } else {
                                String::new()
                            }
                        )
                    }
                ),
                ctx,
            );
            f.evidence.measures = vec![
                measure("events in the window", window.events, "count"),
                measure("requests in the window", window.requests, "count"),
                measure("read requests in the window (get, list, watch)", window.reads, "count"),
            ];
            f.evidence.query = Some(window_query.to_owned());
            f
        }
        // No event carries a time: there is no window, only the log.
        None => {
            let mut f = finding(
                INFO.code,
                Severity::Info,
                subject(),
                format!("{} audit events, {} requests", count(profile.events), count(profile.requests)),
                "No event carries a time, so there is no window to analyse.".to_owned(),
                ctx,
            );
            f.evidence.measures = vec![
                measure("events", profile.events, "count"),
                measure("requests", profile.requests, "count"),
                measure("events without timestamps", profile.without_time, "count"),
                measure("get and list events", profile.reads, "count"),
            ];
            f.evidence.query = Some(prof_query.clone());
            f
        }
    };
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
             and `apiserver-doctor ingest --help` lists the formats read."
                .to_owned(),
            &prof_query,
            vec![],
        );
    }
    // Without any time in the log there is no window to speak of: the warning about events
    // without timestamps below says so.
    if profile.events > 0.0 && window.events == 0.0 && profile.range.is_some() {
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
            "no get or list requests in the log: reads are missing (kube-audit-admin only?)".to_owned(),
            "Not one get or list request was logged. That is what an export of only the kube-audit-admin category \
             looks like (Azure leaves get and list out of it; watches and writes stay), or GKE's Admin Activity \
             audit log without its Data Access log (where GKE logs reads; off until enabled), or an audit policy \
             that drops reads: read load, LIST storms and the clients behind them cannot be seen, and no finding \
             about them means nothing. Export the kube-audit category (on GKE, enable Data Access audit logs for \
             the Kubernetes API) for the incident window."
                .to_owned(),
            &prof_query,
            vec![],
        );
    }
    if profile.without_time > 0.0 {
        warn(
            format!("{} no usable timestamp", counted(profile.without_time, "event has", "events have")),
            format!(
                "{} of {} events carry no stage timestamp or TimeGenerated that can be placed in time: none at \
                 all, or one outside 1677-09-21 to 2262-04-11, the times a timestamp holds (a broken clock; the original \
                 text is in the raw log). They are kept and counted here, but no time window includes them, so \
                 the other checks do not see them.",
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
    // The window's own first and last events, not the whole log's: a window that starts or
    // ends inside a silence of the log (`--since 20m` over a log quiet for 18 of them) reaches
    // past its data just the same.
    if let (Some(data), Some(covered)) = (window.range, ctx.covered()) {
        let w = ctx.window;
        // The stretches of the window before the first event and after the last one.
        let outside: Vec<String> =
            [("before the first event", w.start, data.start), ("after the last", data.end, w.end)]
                .into_iter()
                .filter(|(_, from, to)| (*to - *from).num_seconds() as f64 > gap.value)
                .map(|(what, from, to)| {
                    format!("{} {what} ({} – {})", findings::duration_between(from, to), time(from), time(to))
                })
                .collect();
        if !outside.is_empty() {
            let covered_for = findings::duration_between(covered.start, covered.end);
            warn(
                format!(
                    "the log covers {covered_for} of the {} window analysed",
                    findings::duration_between(w.start, w.end)
                ),
                format!(
                    "The window runs from {} to {}, but its events run only from {} to {}: {} hold no data at \
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
                "No event at all was logged during: {}{}. A cluster in use is rarely that quiet: events may have \
                 been lost on their way to the log, the export may sample them, or the audit policy may not log \
                 this traffic (an export of kube-audit-admin only leaves out reads, and a policy can log a few \
                 users only). Rates in the other findings count these stretches as time with no requests.",
                listed.join(", "),
                if gaps.len() > 5 { format!(" and {} more", gaps.len() - 5) } else { String::new() }
            ),
            minutes_query,
            vec![gap.into()],
        );
        // Gaps that are most of the window (an old incident's log beside today's) dilute every
        // rate until the checks that would name today's offender fall below their thresholds
        // (UX review s55, item 2): say so, and how to analyse the stretch after the last gap.
        // Only when the events after the last gap are most of the log (today's): samples
        // scattered over years have no such stretch to analyse.
        let data_end = bins.last().map(|b| b.0 + chrono::Duration::seconds(60));
        let events_after =
            |from: DateTime<Utc>| bins.iter().filter(|b| b.0 >= from).map(|b| b.1).sum::<f64>();
        let all_events: f64 = bins.iter().map(|b| b.1).sum();
        if let (Some((_, after)), Some(end)) = (gaps.last(), data_end)
            && total as f64 > ctx.window_seconds() / 2.0
            && events_after(*after) * 2.0 > all_events
            && let Some(f) = out.findings.last_mut()
        {
            let since = since_arg((end - *after).num_seconds());
            f.summary.push_str(&format!(
                " These stretches are most of the window ({} of {}): rates over it are diluted, and traffic \
                 that would stand out in the events after the last gap can fall below every threshold.",
                findings::duration(total),
                findings::duration(ctx.window_seconds() as i64),
            ));
            f.remedies.push(Remedy {
                title: format!("Analyse the events after the last gap: --since {since}"),
                kind: RemedyKind::Advice,
                body: format!(
                    "Run diagnose again with `--since {since}` (and the same `--now`, if one was given): the window \
                     then holds the events from {} to {}, after the last gap, alone.",
                    time(*after),
                    time(end)
                ),
                safety: Safety::Safe,
            });
        }
    }
    if profile.range.is_none() {
        // No event carries a time: the window is an empty stand-in, not a time to show.
        for f in &mut out.findings {
            f.time_range = None;
        }
    }
    Ok(out)
}

/// `seconds` rounded up to the minute as `--since` takes it: `2d5h10m`, `45m`.
fn since_arg(seconds: i64) -> String {
    let minutes = (seconds.max(60) + 59) / 60;
    let (d, h, m) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    let mut out = String::new();
    for (n, unit) in [(d, "d"), (h, "h"), (m, "m")] {
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    out
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

    /// Evaluates `profile` with 100 events in each minute of `offsets` in the window, 80 of
    /// them requests and 50 of those reads.
    fn eval(ctx: &AuditContext, profile: &DataProfile, offsets: &[i64]) -> CheckOutput {
        let events = 100.0 * offsets.len() as f64;
        let window = DataProfile {
            events,
            without_time: 0.0,
            requests: events * 0.8,
            reads: events * 0.5,
            range: offsets
                .first()
                .zip(offsets.last())
                .map(|(a, b)| TimeRange { start: time_at(a * 60), end: time_at(b * 60 + 59) }),
        };
        evaluate(ctx, profile, ("w", &window), "q", &minutes(offsets)).expect("evaluates")
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
        let out = eval(&ctx, &profile, &all);
        let warning = out.findings.iter().find(|f| f.severity == Severity::Warning).expect("a warning");
        assert_eq!(warning.title, "the log covers 15m of the 1h window analysed");
        assert!(warning.summary.contains("45m before the first event"), "{}", warning.summary);
        assert!(!warning.summary.contains("  "), "{}", warning.summary);
        // The log filling the window: no such warning, and rates over the whole window.
        let ctx = ctx_hour();
        assert_eq!(ctx.window_seconds(), 3600.0);
        let all: Vec<i64> = (0..60).collect();
        let out = eval(&ctx, &full_profile(), &all);
        assert!(out.findings.iter().all(|f| f.severity == Severity::Info));
    }

    #[test]
    fn events_without_any_time_do_not_speak_of_a_window_at_the_epoch() {
        let ctx = ctx_hour();
        let profile =
            DataProfile { events: 37.0, without_time: 37.0, requests: 37.0, reads: 10.0, range: None };
        let out = eval(&ctx, &profile, &[]);
        let titles: Vec<&str> = out.findings.iter().map(|f| f.title.as_str()).collect();
        assert!(titles.contains(&"37 events have no usable timestamp"), "{titles:?}");
        assert!(!titles.iter().any(|t| t.contains("no audit events in the window")), "{titles:?}");
    }

    #[test]
    fn the_summary_counts_the_window_with_the_windows_query() {
        // The log holds the whole hour; the window its last 20 minutes (`--since 20m`).
        let mut ctx = ctx_hour();
        ctx.window.start = time_at(40 * 60);
        let out = eval(&ctx, &full_profile(), &(40..60).collect::<Vec<_>>());
        let summary = &out.findings[0];
        assert_eq!(
            summary.title,
            "2,000 audit events, 1,600 requests in the window, from 2024-05-01 10:40:00 UTC to 2024-05-01 10:59:59 UTC"
        );
        assert_eq!(summary.evidence.query.as_deref(), Some("w"));
        let measures: Vec<(&str, f64)> =
            summary.evidence.measures.iter().map(|m| (m.label.as_str(), m.value)).collect();
        assert_eq!(
            measures,
            [
                ("events in the window", 2000.0),
                ("requests in the window", 1600.0),
                ("read requests in the window (get, list, watch)", 1000.0)
            ]
        );
        assert!(summary.summary.contains("the whole log holds 6,000 events from"), "{}", summary.summary);
        assert!(!summary.summary.contains("  "), "{}", summary.summary);
        // The window is the query's: every check's window clause.
        let q = window_query(&ctx);
        assert!(q.starts_with(&ctx.events()), "{q}");
        assert!(q.contains("| where TimeGenerated between (datetime("), "{q}");
    }

    #[test]
    fn complete_evidence_only_informs() {
        let ctx = ctx_hour();
        let all: Vec<i64> = (0..60).collect();
        let out = eval(&ctx, &full_profile(), &all);
        assert_eq!(out.findings.len(), 1);
        assert_eq!(out.findings[0].severity, Severity::Info);
    }

    /// UX review s55, item 2: an old incident's log beside today's stretched the window to
    /// years; AUD009 named the gap but not that it diluted every rate, nor how to analyse
    /// today's events alone.
    #[test]
    fn gaps_that_are_most_of_the_window_did_not_say_how_to_analyse_the_events_after_them() {
        let ctx = ctx_hour();
        let mut offsets: Vec<i64> = (0..5).collect();
        offsets.extend(50..60);
        let out = eval(&ctx, &full_profile(), &offsets);
        let gaps = out.findings.iter().find(|f| f.title.starts_with("1 gap")).expect("the gap");
        assert!(
            gaps.summary.contains("These stretches are most of the window (45m of 1h)"),
            "{}",
            gaps.summary
        );
        let titles: Vec<&str> = gaps.remedies.iter().map(|r| r.title.as_str()).collect();
        assert_eq!(titles, ["Analyse the events after the last gap: --since 10m"]);
        assert!(
            gaps.remedies[0].body.contains("from 2024-05-01 10:50:00 UTC to 2024-05-01 11:00:00 UTC"),
            "{}",
            gaps.remedies[0].body
        );
        // A gap that is a third of the window: said, with no such advice.
        let mut offsets: Vec<i64> = (0..20).collect();
        offsets.extend(40..60);
        let out = eval(&ctx, &full_profile(), &offsets);
        let gaps = out.findings.iter().find(|f| f.title.starts_with("1 gap")).expect("the gap");
        assert!(gaps.remedies.is_empty() && !gaps.summary.contains("most of the window"), "{}", gaps.summary);
        // Most of the window silent, but most events before the last gap (samples scattered
        // over time, not today's log after an old one): no stretch worth analysing alone.
        let mut offsets: Vec<i64> = (0..15).collect();
        offsets.push(59);
        let out = eval(&ctx, &full_profile(), &offsets);
        let gaps = out.findings.iter().find(|f| f.title.starts_with("1 gap")).expect("the gap");
        assert!(gaps.remedies.is_empty() && !gaps.summary.contains("most of the window"), "{}", gaps.summary);
        assert_eq!(
            (since_arg(1), since_arg(3600), since_arg(2 * 86_400 + 5 * 3600 + 9 * 60 + 1)),
            ("1m".into(), "1h".into(), "2d5h10m".into())
        );
    }

    #[test]
    fn gaps_missing_reads_and_missing_timestamps_warn() {
        let ctx = ctx_hour();
        let mut offsets: Vec<i64> = (0..20).collect();
        offsets.extend(40..60);
        let profile = DataProfile { reads: 0.0, without_time: 12.0, ..full_profile() };
        let out = eval(&ctx, &profile, &offsets);
        let titles: Vec<&str> = out.findings.iter().skip(1).map(|f| f.title.as_str()).collect();
        assert_eq!(
            titles,
            vec![
                "no get or list requests in the log: reads are missing (kube-audit-admin only?)",
                "12 events have no usable timestamp",
                "1 gap in the audit log (20m without events)",
            ]
        );
    }

    #[test]
    fn aud009_warns_when_timestamps_are_whole_seconds_unless_a_tenth_have_fractions() {
        let ctx = ctx_hour();
        let title =
            |timed: f64, sub_second: f64| whole_second_warning(&ctx, timed, sub_second).map(|f| f.title);
        assert_eq!(
            title(1000.0, 0.0).as_deref(),
            Some("timestamps have whole-second resolution: all 1,000 latencies are multiples of 1 s")
        );
        assert_eq!(
            title(1000.0, 99.0).as_deref(),
            Some(
                "timestamps have whole-second resolution: at least 901 of 1,000 latencies are multiples of 1 s"
            )
        );
        assert_eq!(
            title(1.0, 0.0).as_deref(),
            Some("timestamps have whole-second resolution: the one latency is a multiple of 1 s")
        );
        // A tenth or more with a fraction, or no latency at all: nothing to say.
        assert_eq!(title(1000.0, 100.0), None);
        assert_eq!(title(0.0, 0.0), None);
        let f = whole_second_warning(&ctx, 1000.0, 99.0).expect("a warning");
        assert_eq!(f.severity, Severity::Warning);
        assert!(f.summary.starts_with("Only 99 events in the window carry a fraction"), "{}", f.summary);
        assert!(f.summary.contains("at least 901 of them are multiples of 1 s"), "{}", f.summary);
        assert!(!f.summary.contains("  "), "{}", f.summary);
    }

    #[test]
    fn an_empty_window_says_where_the_data_is() {
        let ctx = ctx_hour();
        let out = eval(&ctx, &full_profile(), &[]);
        assert!(out.findings.iter().any(|f| f.title == "no audit events in the window analysed"));
    }

    #[test]
    fn an_input_without_events_warns_and_names_no_window() {
        let ctx = ctx_hour();
        let profile = DataProfile { events: 0.0, without_time: 0.0, requests: 0.0, reads: 0.0, range: None };
        let out = eval(&ctx, &profile, &[]);
        let titles: Vec<&str> = out.findings.iter().map(|f| f.title.as_str()).collect();
        assert_eq!(
            titles,
            ["0 audit events, 0 requests", "no audit events in the input: nothing to diagnose"]
        );
        assert_eq!(out.findings[1].severity, Severity::Warning);
        assert_eq!(out.findings[0].summary, "No event carries a time, so there is no window to analyse.");
        assert!(out.findings.iter().all(|f| f.time_range.is_none()));
    }

    /// Docs review 51, item 1.4: an input without events pointed to docs/formats.md, a file of
    /// the source tree that a user of the binary does not have; `ingest --help` lists them.
    #[test]
    fn an_input_without_events_points_to_the_formats_ingest_help_lists() {
        let profile = DataProfile { events: 0.0, without_time: 0.0, requests: 0.0, reads: 0.0, range: None };
        let out = eval(&ctx_hour(), &profile, &[]);
        let summary = &out.findings[1].summary;
        assert!(summary.contains("`apiserver-doctor ingest --help` lists the formats read"), "{summary}");
        assert!(!summary.contains("docs/formats.md"), "{summary}");
    }
}
