//! AUD001 top-clients: who sends the requests — by client (user agent, versions folded) and by
//! identity (user or service account) — and whether one identity sends too large a share.

use findings::{
    Chart, CheckInfo, EvidenceKind, Point, Series, Severity, Subject, Table, ThresholdUsed,
    threshold_names as th,
};

use crate::audit::{
    AuditContext, CheckError, CheckOutput, QueryRunner, count, counted, finding, measure, percent, run,
};
use crate::client::{CLIENT_KQL, display_client};
use crate::table::{Cell, ResultTable};

/// The check's description.
pub const INFO: CheckInfo = CheckInfo {
    code: "AUD001",
    name: "top-clients",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::Audit,
    thresholds: &[
        th::TOP_CLIENT_SHARE_WARNING,
        th::OFFENDER_MIN_RATE,
        th::TOP_CLIENT_SHARE_CRITICAL,
        th::MIN_REQUESTS,
    ],
    doc: r#"## What it detects

The clients and identities that send the most requests, and any identity that sends too large a
share of them.

Which clients send the most requests to the API server, counted two ways, as the first step
of the AKS guide: by client — the user agent with its version folded away, so
`kubelet/v1.29.4 (linux/amd64) kubernetes/55b6b33` and `kubelet/v1.29.2 …` are one client
`kubelet` (the raw strings are kept in the evidence) — and by identity, the authenticated user
or service account. Each ranking is a table of its own (an info finding for the top client, one
for the top identity). It flags an identity that sends at least `top_client_share_warning` (25%)
of all requests, critical from `top_client_share_critical` (50%), when it also sends at least
`offender_min_requests_per_second` (5/s).

Each request counts once: only `ResponseComplete` events are counted, so a request logged at
several stages is not counted several times (the guide's raw query counts every stage).

## Why it matters

One misbehaving client — a controller in a hot loop, a script polling every second, an
operator re-listing on every event — can use most of the API server's capacity and starve
everyone else, including the kubelets and controllers the cluster needs to stay healthy.
Counting by identity rather than by user agent keeps thousands of kubelets (one identity per
node) from looking like one offender.

## Example

```text
warning  AUD001  system:serviceaccount:ci:deployer sends 41% of all requests (1,230 per second)
```

## Remedy

Find out what the client does (its verbs and resources are in the finding's table), then tune
it: watch instead of polling, use informers, paginate. If it must be slowed down now, throttle
its identity with API Priority and Fairness: the top offender's finding carries a FlowSchema
and PriorityLevelConfiguration ready to review and apply. None is proposed for the control plane
(kube-controller-manager and its controllers, the scheduler, the API server, a node's kubelet)
nor for the cluster add-ons in kube-system, which nodes and pods may depend on (kube-proxy, and any kube-system service
account: CoreDNS, the network plugin), which Kubernetes' default FlowSchemas already place; the
finding says to find what keeps them busy instead.

## References

- AKS guide, "Troubleshoot API server and etcd problems", cause 1 (offending client):
  https://learn.microsoft.com/troubleshoot/azure/azure-kubernetes/create-upgrade-delete/troubleshoot-apiserver-etcd
- API Priority and Fairness: https://kubernetes.io/docs/concepts/cluster-administration/flow-control/
"#,
};

/// Clients shown in the overview chart and the finding's table.
const TOP: usize = 10;

/// Requests per client (versions folded).
pub fn by_client_query(ctx: &AuditContext) -> String {
    format!(
        "{}\n| extend Client = {CLIENT_KQL}\n\
         | summarize Requests = sum(Requests), Identities = dcount(UserName), TopIdentities = make_set(UserName, 5), \
         UserAgents = make_set(UserAgent, 5) by Client\n| order by Requests desc, Client asc",
        crate::kql::answers_by_agent(ctx)
    )
}

/// Requests per identity.
pub fn by_user_query(ctx: &AuditContext) -> String {
    format!(
        "{}\n| extend Client = {CLIENT_KQL}\n\
         | summarize Requests = sum(Requests), Clients = make_set(Client, 5) by UserName\n\
         | order by Requests desc, UserName asc",
        crate::kql::answers_by_agent(ctx)
    )
}

/// The five identities that sent the most requests through `client` (as the client query
/// names it), busiest first: the ones the top client's finding names. `make_set` in the
/// client query keeps five of them in no useful order (review s46, item 4: the nine that sent
/// 10 GETs each were named, the one that sent 900 was not). It starts from the same summary as
/// the client query, which the engine computes once.
pub fn identities_of_query(ctx: &AuditContext, client: &str) -> String {
    format!(
        "{}\n| extend Client = {CLIENT_KQL}\n| where Client == {}\n\
         | summarize Requests = sum(Requests) by UserName\n| order by Requests desc, UserName asc\n| take 5",
        crate::kql::answers_by_agent(ctx),
        crate::kql::string_literal(client)
    )
}

/// [`by_user_query`] as the check runs it: its first 20 rows.
fn top_users_query(ctx: &AuditContext) -> String {
    format!("{}\n| take 20", by_user_query(ctx))
}

/// `query` with each row's share of all requests (in percent) and its rate (per second of the
/// part of the window the log covers) added, as the findings state them: the query a finding
/// shows to reproduce its numbers. The check runs `query` alone, which shares its first
/// summary with the other checks; `toscalar` over the rows named `name` would count them again.
fn with_share_and_rate(query: &str, name: &str, ctx: &AuditContext) -> String {
    format!(
        "{query}\n| as {name}\n| extend SharePercent = round(100.0 * Requests / toscalar({name} | summarize sum(Requests)), 1), \
         PerSecond = round(todouble(Requests) / {:?}, 2)",
        ctx.window_seconds()
    )
}

/// Runs the check.
pub fn run_check(ctx: &AuditContext, runner: &dyn QueryRunner) -> Result<CheckOutput, CheckError> {
    let (_, mut clients) = run(runner, by_client_query(ctx))?;
    let (_, users) = run(runner, top_users_query(ctx))?;
    // The top client's finding names its busiest identities, not the five `make_set` kept.
    let (at_client, at_ids, at_count) =
        (clients.index("Client")?, clients.index("TopIdentities")?, clients.index("Identities")?);
    if let Some(first) = clients.rows.first_mut()
        && first.get(at_count).and_then(Cell::as_f64).is_some_and(|n| n > 1.0)
    {
        let client = first.get(at_client).map(Cell::as_text).unwrap_or_default().to_owned();
        let (_, ranked) = run(runner, identities_of_query(ctx, &client))?;
        let names = ranked.reader().column("UserName")?;
        let busiest = ranked.rows.iter().map(|row| Cell::Text(names.text(row).to_owned())).collect();
        if let Some(cell) = first.get_mut(at_ids) {
            *cell = Cell::List(busiest);
        }
    }
    let client_query = with_share_and_rate(&by_client_query(ctx), "Clients", ctx);
    let user_query = with_share_and_rate(&by_user_query(ctx), "Identities", ctx);
    evaluate(ctx, (&client_query, &clients), (&user_query, &users))
}

/// Turns the two results into findings and the top-clients chart.
pub fn evaluate(
    ctx: &AuditContext,
    (client_query, clients): (&str, &ResultTable),
    (user_query, users): (&str, &ResultTable),
) -> Result<CheckOutput, CheckError> {
    let r = clients.reader();
    let (c_client, c_requests, c_identities, c_top_ids, c_agents) = (
        r.column("Client")?,
        r.column("Requests")?,
        r.column("Identities")?,
        r.column("TopIdentities")?,
        r.column("UserAgents")?,
    );
    let total: f64 = clients.rows.iter().map(|row| c_requests.num(row)).sum();
    let mut out = CheckOutput::default();
    if total <= 0.0 {
        return Ok(out);
    }
    let seconds = ctx.window_seconds();

    let top: Vec<&Vec<_>> = clients.rows.iter().take(TOP).collect();
    out.overview.top_clients = Some(Chart {
        kind: "columnchart".to_owned(),
        title: "Requests per client".to_owned(),
        x_label: "client".to_owned(),
        y_label: "requests".to_owned(),
        series: vec![Series {
            name: "requests".to_owned(),
            points: top
                .iter()
                .map(|row| Point { x: display_client(c_client.text(row)).to_owned(), y: c_requests.num(row) })
                .collect(),
        }],
    });

    let table = Table {
        columns: ["client", "requests", "share", "identities", "user agents (raw)"]
            .map(str::to_owned)
            .to_vec(),
        rows: top
            .iter()
            .map(|row| {
                let n = c_requests.num(row);
                vec![
                    display_client(c_client.text(row)).to_owned(),
                    count(n),
                    percent(n / total),
                    count(c_identities.num(row)),
                    c_agents.texts(row).join(" | "),
                ]
            })
            .collect(),
    };
    if let Some(first) = top.first() {
        let n = c_requests.num(first);
        let name = display_client(c_client.text(first));
        let identities = c_identities.num(first);
        let mut f = finding(
            INFO.code,
            Severity::Info,
            Subject::new("client", name),
            format!(
                "{name} sends the most requests: {} ({})",
                percent(n / total),
                rate_text(ctx, n, seconds)
            ),
            format!(
                "{} in the window, {} of them from {name}, sent by {} ({}{}). Requests are counted \
                 once each (ResponseComplete events); user-agent versions are folded into one client.",
                counted(total, "request", "requests"),
                count(n),
                counted(identities, "identity", "identities"),
                if identities > 1.0 { "busiest first: " } else { "" },
                // An identity without a user name is named as the identity table names it
                // (review s42: "e.g. , system:node:…").
                c_top_ids
                    .texts(first)
                    .iter()
                    .map(|u| if u.is_empty() { "(no user)" } else { u.as_str() })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            ctx,
        );
        f.evidence.measures = vec![
            measure("requests", n, "count"),
            measure("share of all requests", n / total * 100.0, "percent"),
            measure("request rate", n / seconds, "per-second"),
            measure("all requests", total, "count"),
        ];
        f.evidence.query = Some(client_query.to_owned());
        f.evidence.table = Some(table);
        f.evidence.chart = out.overview.top_clients.clone();
        out.findings.push(f);
    }

    let u = users.reader();
    let (u_name, u_requests, u_clients) =
        (u.column("UserName")?, u.column("Requests")?, u.column("Clients")?);
    // The ranking by identity, as a table of its own: one service account among the many
    // identities that share a user agent (or one user agent shared by many) shows only here.
    if let Some(first) = users.rows.first() {
        let n = u_requests.num(first);
        let shown = |user: &str| if user.is_empty() { "(no user)".to_owned() } else { user.to_owned() };
        let name = shown(u_name.text(first));
        let mut f = finding(
            INFO.code,
            Severity::Info,
            Subject::new("user", name.clone()),
            format!(
                "{name} is the identity that sends the most requests: {} ({})",
                percent(n / total),
                rate_text(ctx, n, seconds)
            ),
            format!(
                "The identities (users and service accounts) that sent the most of the {} requests in the window, \
                 with the clients each used. An identity is judged on its own share (at least {} of all requests \
                 and {} per second is a warning).",
                count(total),
                percent(ctx.thresholds.get(th::TOP_CLIENT_SHARE_WARNING).value),
                rate(ctx.thresholds.get(th::OFFENDER_MIN_RATE).value)
            ),
            ctx,
        );
        f.evidence.measures = vec![
            measure("requests", n, "count"),
            measure("share of all requests", n / total * 100.0, "percent"),
            measure("request rate", n / seconds, "per-second"),
        ];
        f.evidence.query = Some(user_query.to_owned());
        f.evidence.table = Some(Table {
            columns: ["identity", "requests", "share", "clients"].map(str::to_owned).to_vec(),
            rows: users
                .rows
                .iter()
                .take(TOP)
                .map(|row| {
                    let n = u_requests.num(row);
                    vec![
                        shown(u_name.text(row)),
                        count(n),
                        percent(n / total),
                        u_clients.texts(row).iter().map(|c| display_client(c)).collect::<Vec<_>>().join(", "),
                    ]
                })
                .collect(),
        });
        out.findings.push(f);
    }
    let warn = ctx.thresholds.get(th::TOP_CLIENT_SHARE_WARNING);
    let crit = ctx.thresholds.get(th::TOP_CLIENT_SHARE_CRITICAL);
    let min_rate = ctx.thresholds.get(th::OFFENDER_MIN_RATE);
    let min_requests = ctx.thresholds.get(th::MIN_REQUESTS);
    for row in &users.rows {
        let n = u_requests.num(row);
        let share = n / total;
        let per_second = n / seconds;
        // A share of a handful of requests (a sample of one second) names no offender.
        if share < warn.value || per_second < min_rate.value || n < min_requests.value {
            continue;
        }
        let severity = if share >= crit.value { Severity::Critical } else { Severity::Warning };
        let user = u_name.text(row);
        let user_shown = if user.is_empty() { "(no user)" } else { user };
        let clients: Vec<String> =
            u_clients.texts(row).iter().map(|c| display_client(c).to_owned()).collect();
        let mut f = finding(
            INFO.code,
            severity,
            Subject::new("user", user_shown),
            format!("{user_shown} sends {} of all requests ({})", percent(share), rate_text(ctx, n, seconds)),
            format!(
                "One identity, {user_shown}, sent {} of the {} requests in the window, through {}. A single client \
                 taking this share of the API server competes with every kubelet and controller.",
                count(n),
                count(total),
                clients.join(", ")
            ),
            ctx,
        );
        f.evidence.measures = vec![
            measure("requests", n, "count"),
            measure("share of all requests", share * 100.0, "percent"),
            measure("request rate", per_second, "per-second"),
        ];
        f.evidence.query = Some(user_query.to_owned());
        f.thresholds = vec![
            ThresholdUsed::from(if severity == Severity::Critical { crit } else { warn }),
            min_rate.into(),
            min_requests.into(),
        ];
        out.findings.push(f);
    }
    Ok(out)
}

/// Seconds of events below which a title gives the count and the time, not a rate: a rate
/// per second read off a few seconds of log (a sample, an Event Hubs batch) reads as sustained.
const MIN_RATE_SECONDS: f64 = 60.0;

/// `n` requests over `seconds` as a title says them: a rate from a minute of events on, else
/// the count and the time they took (or "all within one second").
fn rate_text(ctx: &AuditContext, n: f64, seconds: f64) -> String {
    if ctx.within_a_second() {
        "all within one second".to_owned()
    } else if seconds.round() < MIN_RATE_SECONDS {
        format!("{} in {seconds:.0} s", counted(n, "request", "requests"))
    } else {
        per_time(n / seconds)
    }
}

/// A rate with its unit for titles: per second down to 0.1 per second, then per minute, per
/// hour or per day, whichever gives at least 0.1 (`4.2 per second`, `3.0 per minute`,
/// `0.028 per day`): a log of years read `0.0 per second`.
pub(crate) fn per_time(per_second: f64) -> String {
    let units = [("second", 1.0), ("minute", 60.0), ("hour", 3600.0), ("day", 86_400.0)];
    let (unit, seconds) =
        units.iter().copied().find(|(_, s)| per_second * s >= 0.1).unwrap_or(("day", 86_400.0));
    format!("{} per {unit}", rate(per_second * seconds))
}

/// A rate for titles: `1,230`, `4.2`, or two significant digits below 0.1 (`0.042`, `0.0013`),
/// so that a low rate does not read as `0.0`.
pub(crate) fn rate(per_second: f64) -> String {
    if per_second >= 100.0 {
        count(per_second)
    } else if per_second >= 0.1 || per_second <= 0.0 || !per_second.is_finite() {
        format!("{per_second:.1}")
    } else {
        let digits = ((-per_second.log10().floor()) as usize + 1).min(12);
        let text = format!("{per_second:.digits$}");
        text.trim_end_matches('0').to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Cell;
    use crate::testutil::{ctx_hour, list, text};

    fn clients(rows: &[(&str, i64, i64)]) -> ResultTable {
        ResultTable::new(
            &["Client", "Requests", "Identities", "TopIdentities", "UserAgents"],
            rows.iter()
                .map(|(c, n, ids)| {
                    vec![text(c), Cell::Int(*n), Cell::Int(*ids), list(&["u"]), list(&["ua/1"])]
                })
                .collect(),
        )
    }

    /// A window of events lasting `span`, from the start of [`ctx_hour`]'s.
    fn ctx_lasting(span: chrono::Duration) -> AuditContext {
        let mut ctx = ctx_hour();
        let data = findings::TimeRange { start: ctx.window.start, end: ctx.window.start + span };
        ctx.window = data;
        ctx.data_range = Some(data);
        ctx
    }

    fn users(rows: &[(&str, i64)]) -> ResultTable {
        ResultTable::new(
            &["UserName", "Requests", "Clients"],
            rows.iter().map(|(u, n)| vec![text(u), Cell::Int(*n), list(&["c"])]).collect(),
        )
    }

    #[test]
    fn an_identity_with_a_large_share_is_an_offender() {
        let ctx = ctx_hour();
        // 36,000 requests an hour = 10/s in all; the deployer sends 60%.
        let out = evaluate(
            &ctx,
            ("q1", &clients(&[("deployer", 21_600, 1), ("kubelet", 14_400, 100)])),
            ("q2", &users(&[("system:serviceaccount:ci:deployer", 21_600), ("system:node:n1", 144)])),
        )
        .expect("evaluates");
        let offender: Vec<_> = out.findings.iter().filter(|f| f.severity >= Severity::Warning).collect();
        assert_eq!(offender.len(), 1);
        assert_eq!(offender[0].severity, Severity::Critical);
        assert_eq!(offender[0].subject, Subject::new("user", "system:serviceaccount:ci:deployer"));
        assert_eq!(
            offender[0].title,
            "system:serviceaccount:ci:deployer sends 60% of all requests (6.0 per second)"
        );
        assert_eq!(offender[0].thresholds[0].name, "top_client_share_critical");
        let top = out.overview.top_clients.expect("chart");
        assert_eq!(top.series[0].points[0], Point { x: "deployer".into(), y: 21_600.0 });
    }

    /// Review of issue 5: a single event (a window of no length, rates per a second it was
    /// stretched to) read "100% (1.0 per second)".
    #[test]
    fn events_within_one_second_state_no_rate() {
        let t = crate::testutil::ctx_hour().window.start;
        let instant = AuditContext::new(findings::TimeRange { start: t, end: t });
        let out = evaluate(&instant, ("q1", &clients(&[("kubectl", 1, 1)])), ("q2", &users(&[("alice", 1)])))
            .expect("evaluates");
        assert_eq!(out.findings[0].title, "kubectl sends the most requests: 100% (all within one second)");
        let out = evaluate(
            &crate::testutil::ctx_hour(),
            ("q1", &clients(&[("kubectl", 36, 1)])),
            ("q2", &users(&[("alice", 36)])),
        )
        .expect("evaluates");
        assert_eq!(out.findings[0].title, "kubectl sends the most requests: 100% (0.6 per minute)");
        assert_eq!(
            [per_time(6.0), per_time(0.01), per_time(0.0005), per_time(1.0 / 86_400.0 / 40.0)],
            ["6.0 per second", "0.6 per minute", "1.8 per hour", "0.025 per day"]
        );
        assert_eq!(
            [rate(250.0), rate(4.25), rate(0.1), rate(0.042), rate(0.00133), rate(0.0)],
            ["250", "4.2", "0.1", "0.042", "0.0013", "0.0"]
        );
    }

    #[test]
    fn many_identities_of_one_client_are_not_an_offender() {
        let ctx = ctx_hour();
        // kubelet sends 80% of requests, but from 100 node identities of 0.8% each.
        let out = evaluate(
            &ctx,
            ("q1", &clients(&[("kubelet", 28_800, 100), ("kube-scheduler", 7_200, 1)])),
            ("q2", &users(&[("system:kube-scheduler", 7_200), ("system:node:n1", 288)])),
        )
        .expect("evaluates");
        assert!(out.findings.iter().all(|f| f.severity == Severity::Info), "{:?}", out.findings);
        assert_eq!(out.findings[0].subject, Subject::new("client", "kubelet"));
    }

    #[test]
    fn identities_are_ranked_in_a_table_of_their_own() {
        // Compliance review item 3: the report ranked clients only; which service account sends
        // the most could not be read from it.
        let ctx = ctx_hour();
        let out = evaluate(
            &ctx,
            ("q1", &clients(&[("kubelet", 28_800, 100), ("kube-scheduler", 7_200, 1)])),
            ("q2", &users(&[("system:kube-scheduler", 7_200), ("system:node:n1", 288), ("", 10)])),
        )
        .expect("evaluates");
        let f = out
            .findings
            .iter()
            .find(|f| f.subject == Subject::new("user", "system:kube-scheduler"))
            .unwrap_or_else(|| panic!("{:#?}", out.findings));
        assert_eq!(f.severity, Severity::Info);
        assert_eq!(
            f.title,
            "system:kube-scheduler is the identity that sends the most requests: 20% (2.0 per second)"
        );
        assert_eq!(f.evidence.query.as_deref(), Some("q2"));
        let table = f.evidence.table.as_ref().expect("a table");
        assert_eq!(table.columns, ["identity", "requests", "share", "clients"]);
        let rows: Vec<(&str, &str)> = table.rows.iter().map(|r| (r[0].as_str(), r[2].as_str())).collect();
        assert_eq!(
            rows,
            [("system:kube-scheduler", "20%"), ("system:node:n1", "0.8%"), ("(no user)", "0.0%")]
        );
    }

    #[test]
    fn a_minute_of_events_that_rounds_to_60_s_is_a_rate_not_in_60_s() {
        // Regression review item 5: `--since 1m` spans 59.99 s of events, printed "in 60 s".
        let ctx = ctx_lasting(chrono::Duration::milliseconds(59_990));
        let out = evaluate(&ctx, ("q1", &clients(&[("kubectl", 600, 1)])), ("q2", &users(&[("admin", 600)])))
            .expect("evaluates");
        assert_eq!(out.findings[0].title, "kubectl sends the most requests: 100% (10.0 per second)");
    }

    #[test]
    fn a_large_share_of_a_trickle_is_not_an_offender() {
        let ctx = ctx_hour();
        // 100% of 37 requests an hour: far below the offender rate.
        let out =
            evaluate(&ctx, ("q1", &clients(&[("kubectl", 37, 1)])), ("q2", &users(&[("system:admin", 37)])))
                .expect("evaluates");
        assert!(out.findings.iter().all(|f| f.severity == Severity::Info));
    }

    #[test]
    fn a_one_second_sample_names_no_offender() {
        // The sysdig Event Hubs sample: 22 events in one second, 11 requests of aksService.
        let ctx = ctx_lasting(chrono::Duration::seconds(1));
        let out = evaluate(
            &ctx,
            ("q1", &clients(&[("aksService", 11, 1), ("kubectl", 9, 1)])),
            ("q2", &users(&[("aksService", 11)])),
        )
        .expect("evaluates");
        assert!(out.findings.iter().all(|f| f.severity == Severity::Info), "{:?}", out.findings);
        // The same share at 20 requests (`min_requests`) is one.
        let out = evaluate(
            &ctx,
            ("q1", &clients(&[("aksService", 20, 1), ("kubectl", 9, 1)])),
            ("q2", &users(&[("aksService", 20)])),
        )
        .expect("evaluates");
        assert!(out.findings.iter().any(|f| f.severity == Severity::Critical), "{:?}", out.findings);
        // Real data review item 6: one second of events is no rate "per second" in a title.
        let titles: Vec<&str> = out.findings.iter().map(|f| f.title.as_str()).collect();
        assert!(titles.contains(&"aksService sends 69% of all requests (20 requests in 1 s)"), "{titles:?}");
        assert!(titles.iter().all(|t| !t.contains("per second")), "{titles:?}");
    }

    /// Review s42: an identity without a user name was listed as nothing ("e.g. , system:node:n1").
    #[test]
    fn an_identity_without_a_user_name_is_named_no_user() {
        let ctx = ctx_hour();
        let table = ResultTable::new(
            &["Client", "Requests", "Identities", "TopIdentities", "UserAgents"],
            vec![vec![
                text("kubelet"),
                Cell::Int(36_000),
                Cell::Int(2),
                list(&["", "system:node:n1"]),
                list(&["kubelet/v1.29.4"]),
            ]],
        );
        let out = evaluate(&ctx, ("q1", &table), ("q2", &users(&[("", 18_000), ("system:node:n1", 18_000)])))
            .expect("evaluates");
        let top =
            out.findings.iter().find(|f| f.title.starts_with("kubelet sends the most")).expect("top client");
        assert!(top.summary.contains("(busiest first: (no user), system:node:n1)"), "{}", top.summary);
    }

    #[test]
    fn no_requests_no_findings() {
        let ctx = ctx_hour();
        let out = evaluate(&ctx, ("q1", &clients(&[])), ("q2", &users(&[]))).expect("evaluates");
        assert!(out.findings.is_empty());
        assert!(out.overview.top_clients.is_none());
    }
}
