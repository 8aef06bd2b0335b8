//! AUD002 client-latency: average latency per client in 5-minute bins (the AKS guide's second
//! step), and the clients whose latency is far above the rest or rising.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use findings::{
    Chart, CheckInfo, EvidenceKind, Point, Series, Severity, Subject, ThresholdUsed, threshold_names as th,
};

use crate::audit::{
    AuditContext, CheckError, CheckOutput, QueryRunner, count, duration_ms, finding, measure, rfc3339, run,
};
use crate::client::{CLIENT_KQL, display_client};
use crate::kql::{IMPOSSIBLE_LATENCY, LATENCY_MS, NOT_LONG_RUNNING, string_literal};
use crate::table::ResultTable;

/// The check's description.
pub const INFO: CheckInfo = CheckInfo {
    code: "AUD002",
    name: "client-latency",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::Audit,
    thresholds: &[th::MIN_REQUESTS, th::LATENCY_OUTLIER_FACTOR, th::P99_MUTATING_SECONDS],
    doc: r#"## What it detects

Average latency per client in 5-minute bins, and the clients far slower than the rest or getting
slower.

The average latency of each client's requests in 5-minute bins — the AKS guide's second step,
drawn as a time chart — and the clients whose latency stands out: an average at least
`latency_outlier_factor` (5×) the median client's and above `p99_mutating_seconds` (1 s), or
an average that rose by that factor from the first half of the window to its last quarter
and is above `p99_mutating_seconds` (1 s) there: both rules judge only clients slow enough to
matter, so a client going from 10 ms to 60 ms (or from 100 ms to 900 ms) is charted, not flagged.
Lower `p99_mutating_seconds` in `--config` to judge faster clients. A median of 0 ms (a log whose
times are in whole seconds, where every request under a second takes 0) makes every client above
the floor an outlier, and the title then gives the median instead of a ratio.
Averages are over the requests with a usable latency (both timestamps, the response stamped
after the request and within a day of it; AUD009 counts the others): each bin weighs as many
requests as it has of those, so requests without one neither count toward a client's average
nor inflate the bins they fall in; the finding says how many there were.
Clients with fewer than `min_requests` requests are charted but not judged, nor counted in
the median (the middle client's average, the lower of the two middle ones for an even count,
as `percentile(…, 50)` gives it). An outlier's query reproduces its average, the median and
their ratio; a rising client's gives its 5-minute series. Its findings come
slowest first, by the latency their title states (the average, or the last quarter's average
for rising latency), clients of equal latency by name.

Long-running requests are left out: watches, and the `exec`, `attach`, `portforward`,
`proxy` and `log` subresources, which stay open for as long as the client wants. The guide's
raw query includes them, so a client that watches shows minutes of "latency" there.

## Why it matters

A client whose requests are much slower than everyone else's is usually doing something
expensive (LISTs of every object, LISTs served from etcd) or is waiting behind something
(a webhook, API Priority and Fairness queues). Latency that rises over the window is the
shape of an incident building up.

## Example

```text
warning  AUD002  pod-inventory: average latency 4.2 s, 38× the median client (110 ms)
```

## Remedy

Look at what the client requests (AUD003 and AUD004 break its latency down by verb, resource
and scope; AUD005 says where the time went) and tune it; throttle it if it must be slowed now.

## References

- AKS guide, step 2 (latency per user agent over time):
  https://learn.microsoft.com/troubleshoot/azure/azure-kubernetes/create-upgrade-delete/troubleshoot-apiserver-etcd
- Long-running requests excluded from the latency SLOs (clusterloader2):
  https://github.com/kubernetes/community/blob/master/sig-scalability/slos/api_call_latency.md
"#,
};

/// Lines of the overview chart: the chart palette's ten colours, so no two lines share one.
/// Half go to the busiest clients, the rest to the slowest (flagged ones first): drawing the
/// 8 busiest plus every flagged client drew 505 lines for 1,500 clients, each colour naming
/// 50 of them, and left out slow clients that were neither busy nor flagged (review 27, items
/// 10 and 11). The chart's title says which clients it shows and how many it leaves out.
const CHART_CLIENTS: usize = 10;
/// Of [`CHART_CLIENTS`], the lines kept for the busiest clients.
const CHART_BUSIEST: usize = 5;

/// Requests, those with a latency (both timestamps) and their total latency, per user agent
/// and 5-minute bin: the start of [`query`], which the evidence check (AUD009) also sums to
/// tell whether latency can be measured at all (the engine counts it once for both).
pub fn per_agent_and_bin(ctx: &AuditContext) -> String {
    format!(
        "{}\n| where {NOT_LONG_RUNNING}\n| extend latency = {LATENCY_MS}\n\
         | summarize Requests = count(), Timed = countif(isnotnull(latency)), TotalMs = sum(latency), \
         Impossible = countif({IMPOSSIBLE_LATENCY}) by UserAgent, Bin = bin(RequestReceivedTime, 5m)",
        ctx.requests()
    )
}

/// Requests, those with a latency (`Timed`) and their average latency per client and 5-minute
/// bin. A bin's average is over its timed requests only, so it is weighted by those: weighted by
/// all its requests, 200 requests with impossible times in one 20 s bin made a 68 ms client a
/// 3.1 s outlier (review 48, item 1).
pub fn query(ctx: &AuditContext) -> String {
    format!(
        "{}\n\
         | extend Client = {CLIENT_KQL}\n\
         | summarize Requests = sum(Requests), Timed = sum(Timed), \
         AvgLatencyMs = iff(sum(Timed) > 0, todouble(sum(TotalMs)) / sum(Timed), real(null)) by Client, Bin\n\
         | order by Client asc, Bin asc",
        per_agent_and_bin(ctx)
    )
}

/// The query that reproduces one client's series, as a time chart.
pub fn client_query(ctx: &AuditContext, client: &str) -> String {
    format!(
        "{}\n| where {NOT_LONG_RUNNING}\n| extend Client = {CLIENT_KQL}, latency = {LATENCY_MS}\n\
         | where Client == {}\n\
         | summarize Requests = count(), AvgLatencyMs = avg(latency) by bin(RequestReceivedTime, 5m)\n\
         | render timechart",
        ctx.requests(),
        string_literal(client)
    )
}

/// The query that reproduces an outlier's headline: its average latency, the median of the
/// clients' averages (clients with at least `min_requests` requests, nearest rank, as
/// `percentile` computes it) and the ratio of the two.
pub fn outlier_query(ctx: &AuditContext, client: &str, min_requests: f64) -> String {
    format!(
        "{}\n| where {NOT_LONG_RUNNING}\n| extend Client = {CLIENT_KQL}, latency = {LATENCY_MS}\n\
         | summarize Requests = count(), AvgLatencyMs = avg(latency) by Client\n\
         | where Requests >= {min_requests}\n\
         | as Clients\n\
         | extend MedianClientMs = toscalar(Clients | summarize percentile(AvgLatencyMs, 50))\n\
         | extend TimesMedian = round(AvgLatencyMs / MedianClientMs, 1)\n\
         | where Client == {}",
        ctx.requests(),
        string_literal(client)
    )
}

/// Runs the check.
pub fn run_check(ctx: &AuditContext, runner: &dyn QueryRunner) -> Result<CheckOutput, CheckError> {
    let (_, rows) = run(runner, query(ctx))?;
    evaluate(ctx, &rows)
}

#[derive(Debug, Default)]
struct ClientSeries {
    /// Every request of the client (what the finding counts and `min_requests` judges).
    requests: f64,
    /// Those with a usable latency: what the averages are over.
    timed: f64,
    /// The sum of the timed requests' latencies, ms.
    latency_sum: f64,
    /// Per bin: its start, its timed requests and their average latency.
    bins: Vec<(DateTime<Utc>, f64, f64)>,
}

impl ClientSeries {
    fn average(&self) -> f64 {
        if self.timed > 0.0 { self.latency_sum / self.timed } else { 0.0 }
    }
}

/// The average latency of `bins`, each weighted by its timed requests.
fn weighted(bins: &[(DateTime<Utc>, f64, f64)]) -> Option<f64> {
    let n: f64 = bins.iter().map(|b| b.1).sum();
    (n > 0.0).then(|| bins.iter().map(|b| b.1 * b.2).sum::<f64>() / n)
}

/// The median as `percentile(x, 50)` computes it (nearest rank: the lower middle value of an
/// even count), so that the finding's query reproduces it.
fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(values[values.len().div_ceil(2) - 1])
}

/// Turns the binned averages into findings and the latency-over-time chart.
pub fn evaluate(ctx: &AuditContext, rows: &ResultTable) -> Result<CheckOutput, CheckError> {
    let r = rows.reader();
    let (c_client, c_bin, c_requests, c_timed, c_avg) = (
        r.column("Client")?,
        r.column("Bin")?,
        r.column("Requests")?,
        r.column("Timed")?,
        r.column("AvgLatencyMs")?,
    );
    let mut clients: BTreeMap<String, ClientSeries> = BTreeMap::new();
    for row in &rows.rows {
        let series = clients.entry(c_client.text(row).to_owned()).or_default();
        series.requests += c_requests.num(row);
        // A bin's average is over its timed requests: it weighs as many as it has.
        let timed = c_timed.num(row);
        let Some(avg) = c_avg.opt_num(row).filter(|_| timed > 0.0) else { continue };
        series.timed += timed;
        series.latency_sum += timed * avg;
        if let Some(bin) = c_bin.time(row) {
            series.bins.push((bin, timed, avg));
        }
    }
    // A client none of whose requests has a latency has no average to judge or draw.
    clients.retain(|_, s| s.timed > 0.0);
    for s in clients.values_mut() {
        s.bins.sort_by_key(|b| b.0);
    }
    let mut out = CheckOutput::default();
    if clients.is_empty() {
        return Ok(out);
    }

    let min_requests = ctx.thresholds.get(th::MIN_REQUESTS);
    let factor = ctx.thresholds.get(th::LATENCY_OUTLIER_FACTOR);
    let floor = ctx.thresholds.get(th::P99_MUTATING_SECONDS);
    let floor_ms = floor.value * 1000.0;
    let mut judged: Vec<f64> =
        clients.values().filter(|s| s.requests >= min_requests.value).map(ClientSeries::average).collect();
    let median_ms = median(&mut judged).unwrap_or(0.0);

    let mut flagged: Vec<String> = Vec::new();
    // Each finding with the latency its title states, to order them by.
    let mut found: Vec<(f64, findings::Finding)> = Vec::new();
    for (client, s) in &clients {
        if s.requests < min_requests.value {
            continue;
        }
        let name = display_client(client);
        let avg = s.average();
        // A median of 0 ms (times in whole seconds, every other client under one) leaves any
        // client above the floor an outlier (report review 50, item 2: a 5 s client among 0 ms
        // ones was never one).
        let outlier = avg >= floor_ms && avg >= factor.value * median_ms;
        // Rising: the last quarter of the window against its first half.
        let half = s.bins.len() / 2;
        let quarter = s.bins.len().div_ceil(4);
        let early = if s.bins.len() >= 4 { weighted(&s.bins[..half]) } else { None };
        let late = if s.bins.len() >= 4 { weighted(&s.bins[s.bins.len() - quarter..]) } else { None };
        let rising = match (early, late) {
            (Some(e), Some(l)) => l >= floor_ms && l >= factor.value * e,
            _ => false,
        };
        if !outlier && !rising {
            continue;
        }
        // The figure the title states: the average, or the last quarter's when rising.
        let stated = if outlier { avg } else { late.unwrap_or(0.0) };
        let title = if outlier && median_ms > 0.0 {
            format!(
                "{name}: average latency {}, {:.0}× the median client ({})",
                duration_ms(avg),
                avg / median_ms,
                duration_ms(median_ms)
            )
        } else if outlier {
            format!(
                "{name}: average latency {}; the median client's is {}",
                duration_ms(avg),
                duration_ms(median_ms)
            )
        } else {
            format!(
                "{name}: latency rising from {} to {}",
                duration_ms(early.unwrap_or(0.0)),
                duration_ms(late.unwrap_or(0.0))
            )
        };
        let mut f = finding(
            INFO.code,
            Severity::Warning,
            Subject::new("client", name),
            title,
            format!(
                "{} requests of {name} took {} on average; the median client's took {}.{} Watches and the exec, \
                 attach, portforward, proxy and log subresources are left out (the AKS guide's raw query \
                 includes them, so a client that watches shows minutes of latency there).",
                count(s.requests),
                duration_ms(avg),
                duration_ms(median_ms),
                untimed_note(s)
            ),
            ctx,
        );
        f.evidence.measures = vec![measure("requests", s.requests, "count")];
        if s.timed < s.requests {
            f.evidence.measures.push(measure("requests with a latency", s.timed, "count"));
        }
        f.evidence.measures.extend([
            measure("average latency", avg, "ms"),
            measure("median client's average latency", median_ms, "ms"),
        ]);
        if let (Some(e), Some(l)) = (early, late) {
            f.evidence.measures.push(measure("average latency, first half", e, "ms"));
            f.evidence.measures.push(measure("average latency, last quarter", l, "ms"));
        }
        // An outlier's query gives its headline numbers; a rising client's, the 5-minute
        // series its halves are read from.
        f.evidence.query = Some(if outlier {
            outlier_query(ctx, client, min_requests.value)
        } else {
            client_query(ctx, client)
        });
        f.evidence.chart = Some(chart(&[(client.as_str(), s)]));
        f.thresholds = vec![ThresholdUsed::from(factor), floor.into(), min_requests.into()];
        found.push((stated, f));
        flagged.push(client.clone());
    }
    // Slowest first (the clients are visited by name), then by name: the same order every run.
    found.sort_by(|(a, fa), (b, fb)| {
        fb.severity
            .cmp(&fa.severity)
            .then_with(|| b.total_cmp(a))
            .then_with(|| fa.subject.name.cmp(&fb.subject.name))
    });
    out.findings = found.into_iter().map(|(_, f)| f).collect();

    // The overview: the busiest clients, then the slowest (flagged first, slowest first).
    let mut busiest: Vec<(&String, &ClientSeries)> = clients.iter().collect();
    busiest.sort_by(|a, b| b.1.requests.total_cmp(&a.1.requests).then_with(|| a.0.cmp(b.0)));
    let mut drawn: Vec<(&str, &ClientSeries)> =
        busiest.iter().take(CHART_BUSIEST).map(|(c, s)| (c.as_str(), *s)).collect();
    let mut slowest: Vec<(&String, &ClientSeries)> = clients.iter().collect();
    slowest.sort_by(|a, b| {
        let flagged_a = flagged.contains(a.0);
        let flagged_b = flagged.contains(b.0);
        flagged_b
            .cmp(&flagged_a)
            .then_with(|| b.1.average().total_cmp(&a.1.average()))
            .then_with(|| a.0.cmp(b.0))
    });
    for (c, s) in slowest {
        if drawn.len() >= CHART_CLIENTS {
            break;
        }
        if !drawn.iter().any(|(d, _)| *d == c.as_str()) {
            drawn.push((c.as_str(), s));
        }
    }
    let mut overview = chart(&drawn);
    let left_out = clients.len() - drawn.len();
    if left_out > 0 {
        overview.title = format!(
            "Average latency per client (5-minute bins, long-running requests excluded): the {} busiest and the {} \
             slowest clients (flagged first); {} other client{} not drawn",
            drawn.len().min(CHART_BUSIEST),
            drawn.len().saturating_sub(CHART_BUSIEST),
            count(left_out as f64),
            if left_out == 1 { "" } else { "s" }
        );
    }
    out.overview.latency_over_time = Some(overview);
    Ok(out)
}

/// What the summary says of a client's requests that have no usable latency (no timestamps, or
/// times [`LATENCY_MS`] refuses): they are not in its average. Empty when every one has one.
fn untimed_note(s: &ClientSeries) -> String {
    let untimed = s.requests - s.timed;
    if untimed <= 0.0 {
        return String::new();
    }
    format!(
        " {} of its requests have no usable latency (a timestamp missing, or impossible times: see AUD009) and are \
         not in its average.",
        count(untimed)
    )
}

fn chart(series: &[(&str, &ClientSeries)]) -> Chart {
    Chart {
        kind: "timechart".to_owned(),
        title: "Average latency per client (5-minute bins, long-running requests excluded)".to_owned(),
        x_label: "start_time".to_owned(),
        y_label: "avg latency (ms)".to_owned(),
        series: series
            .iter()
            .map(|(client, s)| Series {
                name: display_client(client).to_owned(),
                points: s.bins.iter().map(|(t, _, avg)| Point { x: rfc3339(*t), y: *avg }).collect(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Cell;
    use crate::testutil::{ctx_hour, text, time_at};

    /// Rows for `client`: one per 5-minute bin with `n` requests at the given averages.
    fn rows(series: &[(&str, f64, &[f64])]) -> ResultTable {
        let mut out = Vec::new();
        for (client, n, avgs) in series {
            for (i, avg) in avgs.iter().enumerate() {
                out.push(vec![
                    text(client),
                    Cell::Time(time_at(i as i64 * 300)),
                    Cell::Real(*n),
                    Cell::Real(*n),
                    Cell::Real(*avg),
                ]);
            }
        }
        ResultTable::new(&["Client", "Bin", "Requests", "Timed", "AvgLatencyMs"], out)
    }

    #[test]
    fn a_slow_client_far_above_the_median_is_flagged() {
        let ctx = ctx_hour();
        let data = rows(&[
            ("kubelet", 1000.0, &[10.0, 12.0, 11.0]),
            ("kube-scheduler", 100.0, &[20.0, 25.0, 22.0]),
            ("coredns", 100.0, &[15.0, 15.0, 15.0]),
            ("pod-inventory", 10.0, &[4000.0, 4400.0, 4200.0]),
        ]);
        let out = evaluate(&ctx, &data).expect("evaluates");
        assert_eq!(out.findings.len(), 1, "{:?}", out.findings);
        let f = &out.findings[0];
        assert_eq!(f.subject, Subject::new("client", "pod-inventory"));
        assert_eq!(f.severity, Severity::Warning);
        // Median of the four client averages (11, 15, 22.3, 4200), nearest rank as
        // `percentile(…, 50)` computes it: the second, 15.
        let median = 15.0;
        assert!((f.evidence.measures[2].value - median).abs() < 1e-9);
        assert!((f.evidence.measures[1].value - 4200.0).abs() < 1e-9);
        assert!(f.summary.contains("guide's raw query"));
        let chart = out.overview.latency_over_time.expect("chart");
        assert!(chart.series.iter().any(|s| s.name == "pod-inventory"));
    }

    /// Review 27 (html, items 10 and 11): 1,500 clients drew 505 lines with each colour reused
    /// 50 times, and slow clients that were neither busy nor flagged were left out unsaid.
    #[test]
    fn the_latency_chart_draws_ten_clients_the_busiest_and_the_slowest_and_says_how_many_it_leaves_out() {
        let ctx = ctx_hour();
        let names: Vec<String> = (0..30).map(|i| format!("busy-{i:02}")).collect();
        let mut series: Vec<(&str, f64, &[f64])> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), 1000.0 - i as f64, &[10.0, 12.0, 11.0][..]))
            .collect();
        series.push(("slow-but-not-flagged", 50.0, &[900.0, 900.0, 900.0]));
        series.push(("pod-inventory", 50.0, &[4000.0, 4400.0, 4200.0]));
        let out = evaluate(&ctx, &rows(&series)).expect("evaluates");
        let chart = out.overview.latency_over_time.expect("chart");
        let drawn: Vec<&str> = chart.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(drawn.len(), 10, "{drawn:?}");
        assert_eq!(&drawn[..6], &["busy-00", "busy-01", "busy-02", "busy-03", "busy-04", "pod-inventory"]);
        assert_eq!(drawn[6], "slow-but-not-flagged");
        assert!(
            chart.title.ends_with(
                "the 5 busiest and the 5 slowest clients (flagged first); 22 other clients not drawn"
            ),
            "{}",
            chart.title
        );
    }

    #[test]
    fn fast_clients_are_not_flagged_however_far_from_the_median() {
        let ctx = ctx_hour();
        // 300 ms is 30× a 10 ms median but below the 1 s floor.
        let data = rows(&[("a", 100.0, &[10.0; 3]), ("b", 100.0, &[10.0; 3]), ("c", 100.0, &[300.0; 3])]);
        let out = evaluate(&ctx, &data).expect("evaluates");
        assert!(out.findings.is_empty());
    }

    /// Report review 50, item 2: with times in whole seconds every other client averaged 0 ms,
    /// and a client at 5 s on every request was no outlier (`median_ms > 0.0`), nor one whose
    /// latency rose from 0 to 5 s.
    #[test]
    fn aud002_never_flagged_a_slow_client_when_the_median_client_took_0_ms() {
        let ctx = ctx_hour();
        let data = rows(&[
            ("a", 100.0, &[0.0; 4]),
            ("b", 100.0, &[0.0; 4]),
            ("c", 100.0, &[0.0; 4]),
            ("slow", 100.0, &[5000.0; 4]),
            ("late", 100.0, &[0.0, 0.0, 0.0, 3000.0]),
        ]);
        let out = evaluate(&ctx, &data).expect("evaluates");
        let titles: Vec<&str> = out.findings.iter().map(|f| f.title.as_str()).collect();
        assert_eq!(
            titles,
            vec![
                "slow: average latency 5.0 s; the median client's is 0 ms",
                "late: latency rising from 0 ms to 3.0 s"
            ]
        );
        // Nothing above the floor among 0 ms clients: still nothing flagged.
        let quiet = rows(&[("a", 100.0, &[0.0; 4]), ("b", 100.0, &[0.0; 4]), ("c", 100.0, &[300.0; 4])]);
        assert!(evaluate(&ctx, &quiet).expect("evaluates").findings.is_empty());
    }

    #[test]
    fn rising_latency_is_flagged() {
        let ctx = ctx_hour();
        let data = rows(&[
            ("a", 100.0, &[10.0; 12]),
            ("b", 100.0, &[10.0; 12]),
            (
                "climbing",
                50.0,
                &[100.0, 100.0, 100.0, 100.0, 120.0, 150.0, 300.0, 500.0, 700.0, 900.0, 1500.0, 2000.0],
            ),
        ]);
        let out = evaluate(&ctx, &data).expect("evaluates");
        let f = out.findings.iter().find(|f| f.subject.name == "climbing").expect("flagged");
        assert!(f.title.contains("rising"), "{}", f.title);
    }

    #[test]
    fn findings_come_slowest_first_then_by_name() {
        let ctx = ctx_hour();
        let quick = [10.0; 4];
        let data = rows(&[
            ("a", 100.0, &quick),
            ("b", 100.0, &quick),
            ("c", 100.0, &quick),
            ("d", 100.0, &quick),
            ("e", 100.0, &quick),
            ("f", 100.0, &quick),
            // By name these come alpha, mid, omega; by the latency their titles state, omega
            // (6 s), then alpha and mid (2 s each, by name); rising's title states 1.6 s.
            ("alpha", 50.0, &[2000.0; 4]),
            ("mid", 50.0, &[2000.0; 4]),
            ("omega", 50.0, &[6000.0; 4]),
            ("rising", 50.0, &[100.0, 100.0, 300.0, 1600.0]),
        ]);
        let out = evaluate(&ctx, &data).expect("evaluates");
        let order: Vec<&str> = out.findings.iter().map(|f| f.subject.name.as_str()).collect();
        assert_eq!(order, ["omega", "alpha", "mid", "rising"]);
        assert!(out.findings[3].title.contains("rising from 100 ms to 1.6 s"), "{}", out.findings[3].title);
    }

    #[test]
    fn clients_with_few_requests_are_not_judged() {
        let ctx = ctx_hour();
        let data = rows(&[("a", 100.0, &[10.0; 3]), ("b", 100.0, &[10.0; 3]), ("rare", 2.0, &[9000.0; 3])]);
        assert!(evaluate(&ctx, &data).expect("evaluates").findings.is_empty());
    }
}
