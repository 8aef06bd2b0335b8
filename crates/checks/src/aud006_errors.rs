//! AUD006 throttled-and-failing: per client, requests answered 429 (throttled by API Priority
//! and Fairness or max-inflight) and 5xx (server errors), and update conflicts (409).

use findings::{
    CheckInfo, EvidenceKind, Remedy, RemedyKind, Safety, Severity, Subject, Table, ThresholdUsed,
    threshold_names as th,
};

use crate::audit::{
    AuditContext, CheckError, CheckOutput, QueryRunner, count, counted, finding, measure, percent, run,
};
use crate::client::{CLIENT_KQL, display_client};
use crate::table::ResultTable;

/// The check's description.
pub const INFO: CheckInfo = CheckInfo {
    code: "AUD006",
    name: "throttled-and-failing",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::Audit,
    thresholds: &[
        th::ERROR_RATE_WARNING,
        th::ERROR_RATE_CRITICAL,
        th::MIN_REQUESTS,
        th::MIN_ERRORS,
        th::OFFENDER_MIN_RATE,
    ],
    doc: r#"## What it detects

Clients throttled (429), failing (5xx) or fighting over objects (409).

For each client: how many of its requests were answered `429 Too Many Requests` (API Priority
and Fairness rejected or timed them out in a queue, or the max-inflight limit was hit), how
many got a server error (`5xx`), and how many of its updates and patches failed with `409
Conflict`. A share of 429s or of 5xx at or above `error_rate_warning` (5%) is a warning, at
`error_rate_critical` (25%) critical; conflicts on `error_rate_warning` of a client's writes
are a warning (a controller fighting over one object), except for the control plane's own
controllers (`kube-controller-manager`, `kube-scheduler`, `cloud-controller-manager`), which
re-read and retry by design: their conflicts are information below `error_rate_critical`.
Clients with fewer than `min_requests` requests are not judged.

Server errors that say `failed calling webhook` are admission webhook failures: they are
counted apart and reported per webhook by AUD007, not here.

## Why it matters

429s mean the API server is already protecting itself from this client — it is sending more
than its priority level allows, and its requests fail or retry. A client with many 5xx is
hitting a broken path (etcd timeouts, an aggregated API that is down). Many 409s on updates
mean a controller re-sends stale objects in a loop, a classic "PUT storm".

## Example

```text
critical  AUD006  batch-runner: 38% of its requests throttled (429)
```

## Remedy

For 429s: make the client back off and send less (informers, fewer retries); if its traffic
is legitimate, give it a priority level of its own with the throttling remedy's FlowSchema and
raise its shares. A client that gets 429s while sending fewer than
`offender_min_requests_per_second` (5/s) is not made the top offender and gets no throttle:
at that rate it suffers a priority level others saturate; look at who else shares it. For 5xx: follow the error messages (the finding's table). For conflicts:
re-read from the informer cache and retry with backoff, or use server-side apply or patches.

## References

- API Priority and Fairness: https://kubernetes.io/docs/concepts/cluster-administration/flow-control/
- Optimistic concurrency and conflicts: https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions
"#,
};

/// Errors and conflicts per client.
pub fn query(ctx: &AuditContext) -> String {
    format!(
        "{}\n| extend Client = {CLIENT_KQL}\n\
         | summarize Requests = sum(Requests), Throttled = sum(Throttled), ServerErrors = sum(ServerErrors), \
         WebhookFailures = sum(WebhookFailures), Writes = sum(Writes), Conflicts = sum(Conflicts), \
         Users = make_set_if(UserName, {ERRORS} > 0, 5), ErrorUsers = dcountif(UserName, {ERRORS} > 0), Resources = make_set_if(ErrorResource, isnotempty(ErrorResource), 5) by Client\n\
         | where Throttled > 0 or ServerErrors > 0 or WebhookFailures > 0 or Conflicts > 0\n\
         | order by Throttled desc, ServerErrors desc, Conflicts desc, Client asc",
        crate::kql::answers_by_agent(ctx)
    )
}

/// A row's 429s, 5xx (webhook failures included) and update conflicts: the identities a finding
/// names are those that had one (review s47: `make_set(UserName, 5)` named the alphabetically
/// first identities of the client, whether or not they failed).
const ERRORS: &str = "Throttled + ServerErrors + WebhookFailures + Conflicts";

/// Runs the check.
pub fn run_check(ctx: &AuditContext, runner: &dyn QueryRunner) -> Result<CheckOutput, CheckError> {
    let (q, rows) = run(runner, query(ctx))?;
    evaluate(ctx, &q, &rows)
}

/// Turns the per-client error counts into findings.
pub fn evaluate(ctx: &AuditContext, query: &str, rows: &ResultTable) -> Result<CheckOutput, CheckError> {
    let r = rows.reader();
    let cols = (
        r.column("Client")?,
        r.column("Requests")?,
        r.column("Throttled")?,
        r.column("ServerErrors")?,
        r.column("WebhookFailures")?,
        r.column("Writes")?,
        r.column("Conflicts")?,
        r.column("Users")?,
        r.column("Resources")?,
        r.column("ErrorUsers")?,
    );
    let warn = ctx.thresholds.get(th::ERROR_RATE_WARNING);
    let crit = ctx.thresholds.get(th::ERROR_RATE_CRITICAL);
    let min = ctx.thresholds.get(th::MIN_REQUESTS);
    let min_errors = ctx.thresholds.get(th::MIN_ERRORS);
    let mut out = CheckOutput::default();
    for row in &rows.rows {
        let client = display_client(cols.0.text(row));
        let requests = cols.1.num(row);
        if requests < min.value {
            continue;
        }
        let (throttled, server, webhook, writes, conflicts) =
            (cols.2.num(row), cols.3.num(row), cols.4.num(row), cols.5.num(row), cols.6.num(row));
        let users = crate::audit::and_more(&cols.7.texts(row), cols.9.num(row));
        // The resources of the client's 429s, 5xx and 409s (the first five met), when they
        // have one (`/healthz` and other paths that are not resources have none).
        let resources = cols.8.texts(row);
        let where_ = if resources.is_empty() {
            String::new()
        } else {
            format!(" Its errors were on {}.", resources.join(", "))
        };
        let of_all = counted(requests, "request", "requests");
        let table = Table {
            // Each share says what it is of: the 409s are counted against the updates and patches
            // only (diagnose review s38, item 5: "73%" beside shares of all requests).
            columns: ["answer", "requests", "share", "of"].map(str::to_owned).to_vec(),
            rows: vec![
                vec![
                    "429 throttled".to_owned(),
                    count(throttled),
                    percent(throttled / requests),
                    of_all.clone(),
                ],
                vec![
                    "5xx server error".to_owned(),
                    count(server),
                    percent(server / requests),
                    of_all.clone(),
                ],
                vec![
                    "5xx from a failing webhook (AUD007)".to_owned(),
                    count(webhook),
                    percent(webhook / requests),
                    of_all.clone(),
                ],
                vec![
                    "409 conflict on update/patch".to_owned(),
                    count(conflicts),
                    percent(conflicts / writes.max(1.0)),
                    counted(writes, "update or patch", "updates and patches"),
                ],
            ],
        };
        let measures = || {
            vec![
                measure("requests", requests, "count"),
                measure("throttled (429)", throttled, "count"),
                measure("server errors (5xx, not webhook)", server, "count"),
                measure("webhook failures (5xx)", webhook, "count"),
                measure("updates and patches", writes, "count"),
                measure("conflicts (409)", conflicts, "count"),
            ]
        };
        let mut emit = |severity: Severity,
                        title: String,
                        summary: String,
                        used: Vec<ThresholdUsed>,
                        remedies: Vec<Remedy>| {
            let mut f = finding(INFO.code, severity, Subject::new("client", client), title, summary, ctx);
            f.evidence.measures = measures();
            f.evidence.query = Some(query.to_owned());
            f.evidence.table = Some(table.clone());
            f.thresholds = used;
            f.remedies = remedies;
            out.findings.push(f);
        };
        for (n, what, code) in
            [(throttled, "throttled", "429"), (server, "answered with a server error", "5xx")]
        {
            let share = n / requests;
            if share < warn.value || n < min_errors.value {
                continue;
            }
            let (severity, t) =
                if share >= crit.value { (Severity::Critical, crit) } else { (Severity::Warning, warn) };
            emit(
                severity,
                format!("{client}: {} of its requests {what} ({code})", percent(share)),
                format!(
                    "{} of {} requests of {client} ({users}) were {what} ({code}).{where_}{}",
                    count(n),
                    count(requests),
                    if code == "429" {
                        " The API server is already shedding this client's load: it sends more than its priority \
                         level admits."
                    } else {
                        ""
                    }
                ),
                vec![t.into(), min.into(), min_errors.into()],
                if code == "429" { throttled_remedies(client) } else { server_error_remedies(client) },
            );
        }
        if writes >= min.value && conflicts >= min_errors.value && conflicts / writes >= warn.value {
            // The control plane's controllers write with optimistic concurrency and retry: their
            // 409s are routine until a large share conflicts (diagnose review s38, item 6: the
            // endpointslice controller's 5.2% was a warning).
            let control_plane =
                crate::offender::CONTROL_PLANE_PRODUCTS.contains(&crate::client::product(client));
            let routine = control_plane && conflicts / writes < crit.value;
            emit(
                if routine { Severity::Info } else { Severity::Warning },
                format!("{client}: {} of its updates conflict (409)", percent(conflicts / writes)),
                format!(
                    "{} of {} updates and patches of {client} ({users}) failed with 409 Conflict: it writes \
                     objects it read before someone else changed them, and retries.{where_}{}",
                    count(conflicts),
                    count(writes),
                    if routine {
                        format!(
                            " For a control-plane controller this is routine (it re-reads and retries) below {} of \
                             its writes: information only.",
                            percent(crit.value)
                        )
                    } else {
                        String::new()
                    }
                ),
                if control_plane {
                    vec![warn.into(), crit.into(), min.into(), min_errors.into()]
                } else {
                    vec![warn.into(), min.into(), min_errors.into()]
                },
                if routine { Vec::new() } else { conflict_remedies(client) },
            );
        }
    }
    Ok(out)
}

/// What to do about a client's 429s (checks.md, AUD006 Remedy): see which FlowSchema and
/// priority level hold it and who shares them, and make the client send less. The top
/// offender gets a throttle besides ([`crate::offender`]); with `--manifests`, `diagnose` names
/// the FlowSchema that already holds the client (review s51, item 10: a critical AUD006 had no
/// remedy at all).
fn throttled_remedies(client: &str) -> Vec<Remedy> {
    vec![
        findings::remedy(
            "See which FlowSchema and priority level hold it, and who shares them",
            RemedyKind::Command,
            Safety::Safe,
            "# The FlowSchemas in the order the API server matches them, with their priority level:\n\
             kubectl get flowschemas --sort-by=.spec.matchingPrecedence \\\n  \
             -o custom-columns=NAME:.metadata.name,PRECEDENCE:.spec.matchingPrecedence,PRIORITY-LEVEL:.spec.priorityLevelConfiguration.name\n\
             # Rejections by FlowSchema and priority level (since the API server started):\n\
             kubectl get --raw /metrics | grep '^apiserver_flowcontrol_rejected_requests_total'",
        ),
        findings::remedy(
            &format!("Make {} send less", findings::text::one_line(client)),
            RemedyKind::Advice,
            Safety::Safe,
            format!(
                "{} is sending more than its priority level admits. Make it back off on 429 (client-go does, \
                 with its retry settings) and send less: watch through an informer instead of polling, LIST \
                 with a resourceVersion and pagination, fewer retries. If its load is legitimate, give it a \
                 priority level of its own with more shares; if it sends little and shares a level others \
                 saturate, the fix is in who else sends there.",
                findings::text::one_line(client)
            ),
        ),
    ]
}

/// What to do about a client's server errors.
fn server_error_remedies(client: &str) -> Vec<Remedy> {
    vec![findings::remedy(
        "Follow the server errors to what fails",
        RemedyKind::Advice,
        Safety::Safe,
        format!(
            "The resources in the summary are where {} meets the errors. A 5xx that is not a webhook's is the \
             API server or what is behind it failing: etcd timeouts (see the etcd findings, if any), an \
             aggregated API that is down (`kubectl get apiservices` shows which are not Available), or the \
             request timing out (504).",
            findings::text::one_line(client)
        ),
    )]
}

/// What to do about a client's update conflicts.
fn conflict_remedies(client: &str) -> Vec<Remedy> {
    vec![findings::remedy(
        "Stop writing stale objects",
        RemedyKind::Advice,
        Safety::Safe,
        format!(
            "{} updates objects it read before someone else changed them. Re-read from the informer's cache and \
             retry with backoff (client-go's `retry.RetryOnConflict`), or send patches or server-side apply, \
             which need no resourceVersion; find who else writes the same objects (their managedFields).",
            findings::text::one_line(client)
        ),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Cell;
    use crate::testutil::{ctx_hour, list, text};

    fn rows(data: &[(&str, f64, f64, f64, f64, f64, f64)]) -> ResultTable {
        ResultTable::new(
            &[
                "Client",
                "Requests",
                "Throttled",
                "ServerErrors",
                "WebhookFailures",
                "Writes",
                "Conflicts",
                "Users",
                "Resources",
                "ErrorUsers",
            ],
            data.iter()
                .map(|(c, n, t, s, w, wr, cf)| {
                    vec![
                        text(c),
                        Cell::Real(*n),
                        Cell::Real(*t),
                        Cell::Real(*s),
                        Cell::Real(*w),
                        Cell::Real(*wr),
                        Cell::Real(*cf),
                        list(&["u"]),
                        list(&["pods"]),
                        Cell::Real(1.0),
                    ]
                })
                .collect(),
        )
    }

    #[test]
    fn throttling_errors_and_conflicts_by_share() {
        let ctx = ctx_hour();
        let out = evaluate(
            &ctx,
            "q",
            &rows(&[
                ("batch-runner", 1000.0, 380.0, 0.0, 0.0, 0.0, 0.0),
                ("flaky", 1000.0, 0.0, 60.0, 0.0, 0.0, 0.0),
                ("fighter", 1000.0, 0.0, 0.0, 0.0, 900.0, 300.0),
                ("replicaset-controller", 1000.0, 0.0, 0.0, 800.0, 0.0, 0.0),
                ("fine", 1000.0, 10.0, 10.0, 0.0, 500.0, 5.0),
            ]),
        )
        .expect("evaluates");
        let got: Vec<(Severity, &str)> =
            out.findings.iter().map(|f| (f.severity, f.title.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (Severity::Critical, "batch-runner: 38% of its requests throttled (429)"),
                (Severity::Warning, "flaky: 6.0% of its requests answered with a server error (5xx)"),
                (Severity::Warning, "fighter: 33% of its updates conflict (409)"),
            ]
        );
    }

    #[test]
    fn the_summary_names_the_resources_of_the_errors_when_they_have_one() {
        let ctx = ctx_hour();
        let mut table = rows(&[("batch-runner", 1000.0, 380.0, 0.0, 0.0, 0.0, 0.0)]);
        let out = evaluate(&ctx, "q", &table).expect("evaluates");
        assert_eq!(
            out.findings[0].summary,
            "380 of 1,000 requests of batch-runner (u) were throttled (429). Its errors were on pods. The API \
             server is already shedding this client's load: it sends more than its priority level admits."
        );
        // Errors on paths that are not resources (`/healthz`): no resource to name.
        table.rows[0][8] = list(&[]);
        let out = evaluate(&ctx, "q", &table).expect("evaluates");
        assert!(!out.findings[0].summary.contains("errors were on"), "{}", out.findings[0].summary);
    }

    /// Diagnose review s38 items 5 and 6: the 409 row's share (of updates and patches) stood
    /// unlabelled beside shares of all requests, and the endpointslice controller's routine
    /// 5.2% of conflicts was a warning.
    #[test]
    fn conflicts_say_what_their_share_is_of_and_the_control_planes_routine_ones_are_information() {
        let ctx = ctx_hour();
        let out = evaluate(
            &ctx,
            "q",
            &rows(&[
                ("config-sync-controller", 3203.0, 0.0, 0.0, 0.0, 1855.0, 1348.0),
                ("kube-controller-manager/endpointslice-controller", 400.0, 0.0, 0.0, 0.0, 194.0, 10.0),
                ("kube-controller-manager/replicaset-controller", 400.0, 0.0, 0.0, 0.0, 100.0, 30.0),
            ]),
        )
        .expect("evaluates");
        let table = out.findings[0].evidence.table.as_ref().expect("table");
        assert_eq!(table.columns, ["answer", "requests", "share", "of"]);
        assert_eq!(table.rows[0][2..], ["0%".to_owned(), "3,203 requests".to_owned()]);
        assert_eq!(table.rows[3][1..], ["1,348", "73%", "1,855 updates and patches"].map(str::to_owned));
        let got: Vec<(Severity, &str)> =
            out.findings.iter().map(|f| (f.severity, f.title.as_str())).collect();
        assert_eq!(
            got,
            [
                (Severity::Warning, "config-sync-controller: 73% of its updates conflict (409)"),
                (
                    Severity::Info,
                    "kube-controller-manager/endpointslice-controller: 5.2% of its updates conflict (409)"
                ),
                // From the critical share on, the control plane's conflicts are a warning too.
                (
                    Severity::Warning,
                    "kube-controller-manager/replicaset-controller: 30% of its updates conflict (409)"
                ),
            ]
        );
        assert!(out.findings[1].summary.ends_with("information only."), "{}", out.findings[1].summary);
    }

    /// Review s51 item 10: `AUD006 critical "build-status-poller: 45% of its requests throttled
    /// (429)"` had `"remedies": []` in every format.
    #[test]
    fn aud006_findings_carry_remedies() {
        let ctx = ctx_hour();
        let out = evaluate(
            &ctx,
            "q",
            &rows(&[
                ("batch-runner", 1000.0, 380.0, 0.0, 0.0, 0.0, 0.0),
                ("flaky", 1000.0, 0.0, 60.0, 0.0, 0.0, 0.0),
                ("fighter", 1000.0, 0.0, 0.0, 0.0, 900.0, 300.0),
            ]),
        )
        .expect("evaluates");
        for f in &out.findings {
            assert!(!f.remedies.is_empty(), "{}", f.title);
            assert!(f.remedies.iter().all(|r| r.safety == Safety::Safe), "{:?}", f.remedies);
        }
        assert!(out.findings[0].remedies[0].body.contains("kubectl get flowschemas"));
        assert!(out.findings[0].remedies[1].title.contains("batch-runner"));
    }

    #[test]
    fn small_clients_are_not_judged() {
        let ctx = ctx_hour();
        let out = evaluate(&ctx, "q", &rows(&[("tiny", 5.0, 5.0, 0.0, 0.0, 0.0, 0.0)])).expect("evaluates");
        assert!(out.findings.is_empty());
    }
}
