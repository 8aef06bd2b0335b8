//! AUD004 expensive-lists: LISTs that cost the API server and etcd most — across all
//! namespaces, without `resourceVersion` (served from etcd, not the watch cache), without
//! `limit` — with their rate and total time per client.

use findings::{CheckInfo, EvidenceKind, Severity, Subject, Table, ThresholdUsed, threshold_names as th};

use crate::aud001_top_clients::per_time;
use crate::audit::{
    AuditContext, CheckError, CheckOutput, QueryRunner, count, counted, duration_ms, finding, measure,
    percent, run, run_few,
};
use crate::client::{CLIENT_KQL, display_client};
use crate::kql::{GO_MS_FUNCTION, LATENCY_MS, USER_NAME, in_metrics_apis};
use crate::table::ResultTable;

/// The check's description.
pub const INFO: CheckInfo = CheckInfo {
    code: "AUD004",
    name: "expensive-lists",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::Audit,
    thresholds: &[th::EXPENSIVE_LIST_CONCURRENCY_WARNING, th::EXPENSIVE_LIST_CONCURRENCY_CRITICAL],
    doc: r#"## What it detects

Expensive LISTs per client: served from etcd, unpaginated, across all namespaces.

Per client, its LIST requests and how expensive they are:

- **from etcd**: no `resourceVersion` (or an empty one) in the request URI, and not rejected
  with 429 (a rejected LIST never reaches storage). Such a LIST is a
  consistent read. Before Kubernetes 1.31 it is a quorum read that the API server forwards to
  etcd instead of serving it from its watch cache; `resourceVersion=0` (what informers send) is
  served from the cache. From 1.31, consistent reads from cache (KEP-2340,
  `ConsistentListFromCache`, beta and on by default; it needs etcd 3.4.31+ or 3.5.13+ for
  progress notifications, else the API server reads etcd as before) serve it from the watch
  cache too: when the cluster's version is given or seen in the data and is 1.31 or later, the
  finding says "without resourceVersion" instead of "from etcd" and says where they are served
  from, and the advice no longer says that `resourceVersion=0` saves an etcd read. On 1.31 and
  1.32 the watch cache serves them only unpaginated: one with `limit` or `continue` is still
  read from etcd (pages are served from the cache from 1.33, KEP-4988), which the finding says,
  and the advice does not tell the client to paginate them there. They are still
  counted as expensive: the API server still selects and serialises every object of each one
  (and reads etcd when the feature is off or etcd is older), and the time they ran is what is
  summed.
- **unpaginated**: no `limit` (or `limit=0`): the whole result is built in one response.
- **cluster-scope**: across every namespace (or of a cluster-scoped type).

A LIST is counted as *expensive* when it is served from etcd, or when it is cluster-scope and
unpaginated and selects nothing. A LIST from the watch cache with a field or label selector
(an agent on every node asking for its node's pods with `fieldSelector=spec.nodeName=…` and
`resourceVersion=0`) answers with a few objects and is not counted; from etcd it is, since
etcd returns every object before the API server filters them. A LIST rejected with 429 (API
Priority and Fairness) never ran and is not expensive; LISTs of the metrics APIs
(`metrics.k8s.io`, `custom.metrics.k8s.io`, `external.metrics.k8s.io`), which metrics-server
or an adapter answers from memory, are left out. The check sums the time those LISTs ran
(their latency less the `apiserver.latency.k8s.io/apf-queue-wait` they spent queued);
divided by the window, that is how many of them were in flight on average. When the first of
them was received before the window began, their time is divided by the time since then
instead; only a LIST with a usable latency (the response stamped after the request and within a
day of it) can set that start, so one event with a broken `requestReceivedTimestamp` does not
spread the rest over years. At `expensive_list_concurrency_warning` (0.5) it warns, at
`expensive_list_concurrency_critical` (2) it is critical.

## Why it matters

A LIST of every pod of a large cluster, straight from etcd, moves hundreds of megabytes
through etcd, the API server's memory and the network, and the API server has to decode and
re-encode every object. A few clients doing this in a loop are the classic cause of API
server memory spikes, OOM kills and timeouts for everyone ("Excessive LIST calls" in the AKS
guide).

## Example

```text
critical  AUD004  pod-inventory keeps 6.2 expensive LISTs in flight: 1,800 LISTs of pods (100% from etcd, 100% unpaginated, 100% across all namespaces)
```

## Remedy

Tune the client: use informers (one LIST with `resourceVersion=0`, then a WATCH), set
`resourceVersion=0` where a slightly stale answer is fine, paginate with `limit` and
`continue`, and narrow LISTs to a namespace or a label selector. Until it is fixed, throttle
it with API Priority and Fairness (the finding of the top offender carries the FlowSchema and
PriorityLevelConfiguration).

## References

- Resource versions and the watch cache: https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions
- KEP-2340, consistent reads from cache: https://github.com/kubernetes/enhancements/issues/2340 and
  https://kubernetes.io/blog/2024/08/15/consistent-read-from-cache-beta/
- AKS guide, cause 1 (offending client, excessive LIST calls):
  https://learn.microsoft.com/troubleshoot/azure/azure-kubernetes/create-upgrade-delete/troubleshoot-apiserver-etcd
"#,
};

/// The first Kubernetes version that serves a consistent LIST (no `resourceVersion`) from the
/// watch cache: `ConsistentListFromCache` (KEP-2340) is beta and on by default from 1.31, when
/// etcd supports progress notifications (3.4.31+, 3.5.13+); else the API server reads etcd.
pub const CONSISTENT_LISTS_FROM_CACHE: remedy::KubernetesVersion = remedy::KubernetesVersion::new(1, 31);

/// The first Kubernetes version whose watch cache serves a consistent LIST with `limit` or
/// `continue` (KEP-4988, `ListFromCacheSnapshot`, beta from 1.33): on 1.31 and 1.32 the API
/// server still sends such a LIST to etcd (`shouldDelegateList`: a continuation, or a limit
/// with a `resourceVersion` other than `0`, delegates to storage).
pub const PAGINATED_LISTS_FROM_CACHE: remedy::KubernetesVersion = remedy::KubernetesVersion::new(1, 33);

/// What the findings call LISTs without `resourceVersion` before 1.31, and from 1.31.
const FROM_ETCD_WORDS: &str = "from etcd";
const CONSISTENT_WORDS: &str = "without resourceVersion";
/// The measure and table column of those LISTs, before 1.31 and from 1.31.
const FROM_ETCD_MEASURE: &str = "LISTs from etcd (no resourceVersion)";
const CONSISTENT_MEASURE: &str = "LISTs without resourceVersion (from the watch cache)";
const FROM_ETCD_COLUMN: &str = "from etcd";
const CONSISTENT_COLUMN: &str = "consistent";

/// Words this check's findings for a cluster of `version` (`known` when it was given or seen
/// in the data, not assumed): from 1.31 a LIST without `resourceVersion` is not called a read
/// from etcd, and the summary says where it is served from and what it still costs. The check
/// runs before the version is read from the data, so this is applied after.
pub fn word_for_version(findings: &mut [findings::Finding], version: remedy::KubernetesVersion, known: bool) {
    if !known || version < CONSISTENT_LISTS_FROM_CACHE {
        return;
    }
    for f in findings.iter_mut().filter(|f| f.code == INFO.code) {
        let Some(m) = f.evidence.measures.iter_mut().find(|m| m.label == FROM_ETCD_MEASURE) else { continue };
        m.label = CONSISTENT_MEASURE.to_owned();
        let no_rv = m.value;
        // The title ends in what makes them expensive, "(100% from etcd, …)": fixed words and
        // percentages after the last " (", whatever the client and resources are named.
        if let Some((head, how)) = f.title.rsplit_once(" (") {
            f.title = format!(
                "{head} ({}",
                how.replace(&format!(" {FROM_ETCD_WORDS}"), &format!(" {CONSISTENT_WORDS}"))
            );
        }
        if let Some(table) = f.evidence.table.as_mut() {
            for c in table.columns.iter_mut().filter(|c| *c == FROM_ETCD_COLUMN) {
                *c = CONSISTENT_COLUMN.to_owned();
            }
        }
        if no_rv > 0.0 {
            f.summary.push_str(&format!(
                " On Kubernetes {version}, the {} LISTs without resourceVersion are consistent reads that the API \
                 server serves from its watch cache when ConsistentListFromCache is on (the default since 1.31, with \
                 etcd 3.4.31+ or 3.5.13+), not quorum reads of etcd; each still makes the API server select and \
                 serialise every object it returns.",
                count(no_rv)
            ));
            if version < PAGINATED_LISTS_FROM_CACHE {
                f.summary.push_str(
                    " On 1.31 and 1.32 this holds only for those without `limit` and `continue`: a paginated one is \
                     still a quorum read of etcd (the watch cache serves pages from 1.33).",
                );
            }
        }
    }
}

const NO_RESOURCE_VERSION: &str = r#"not(RequestUri matches regex @"[?&]resourceVersion=[^&]")"#;
const UNPAGINATED: &str = r#"not(RequestUri matches regex @"[?&]limit=[1-9]")"#;
const CLUSTER_SCOPE: &str = "isempty(tostring(ObjectRef.namespace))";
const SELECTS: &str = r#"RequestUri matches regex @"[?&](fieldSelector|labelSelector)=[^&]""#;
/// The annotation giving the time a request waited in its API Priority and Fairness queue.
const QUEUE_WAIT_TEXT: &str = r#"tostring(Annotations["apiserver.latency.k8s.io/apf-queue-wait"])"#;
/// That time in milliseconds, 0 without the annotation.
const QUEUE_WAIT_MS: &str =
    r#"coalesce(go_ms(tostring(Annotations["apiserver.latency.k8s.io/apf-queue-wait"])), 0.0)"#;

/// The lines every LIST query starts with: the LISTs of the window (the metrics APIs left
/// out, and the rows `only` keeps), each with its client, latency and what makes it expensive.
fn lists_prelude(ctx: &AuditContext, only: &str) -> String {
    // The metrics APIs answer LISTs from memory: they touch neither etcd nor the watch cache.
    let metrics_apis = in_metrics_apis();
    format!(
        "{}\n| where Verb == \"list\" and not({metrics_apis}){only}\n\
         | extend Client = {CLIENT_KQL}, UserName = {USER_NAME}, Resource = tostring(ObjectRef.resource), latency = {LATENCY_MS}\n\
         | extend Rejected = toint(ResponseStatus.code) == 429\n\
         | extend ClusterScope = {CLUSTER_SCOPE}, NoResourceVersion = {NO_RESOURCE_VERSION}, Unpaginated = {UNPAGINATED}\n\
         | extend Expensive = not(Rejected) and (NoResourceVersion or (ClusterScope and Unpaginated and not({SELECTS})))",
        ctx.requests()
    )
}

/// One request's time in an expensive LIST, in ms, as this check counts it (queue wait
/// included): its latency when it is an expensive LIST, 0 otherwise. The throttle ranks a
/// client's identities by it, so that it names the identities that sent the expensive LISTs.
pub fn expensive_list_ms() -> String {
    let metrics_apis = in_metrics_apis();
    format!(
        "iff(Verb == \"list\" and not({metrics_apis}) and not(toint(ResponseStatus.code) == 429) and \
         ({NO_RESOURCE_VERSION} or ({CLUSTER_SCOPE} and {UNPAGINATED} and not({SELECTS}))), {LATENCY_MS}, 0.0)"
    )
}

/// LISTs per client with their cost, as the finding states it: the query it shows. A LIST
/// rejected with 429 never ran, and the time a LIST waited in its APF queue loaded nothing:
/// neither counts as expensive time.
pub fn query(ctx: &AuditContext) -> String {
    summarized(
        ctx,
        &format!("sum(iff(Expensive, max_of(latency - {QUEUE_WAIT_MS}, 0.0), 0.0))"),
        GO_MS_FUNCTION,
    )
}

/// [`query`] counting the whole latency of the expensive LISTs, queue wait included: what the
/// check runs first. Reading the queue-wait annotation of every LIST took a quarter of a
/// second of the demo's warm `diagnose`; [`queue_query`] reads it for the clients that may be
/// flagged only.
fn gross_query(ctx: &AuditContext) -> String {
    summarized(ctx, "sum(iff(Expensive, latency, 0.0))", "")
}

/// The LISTs per client with their counts, time and cost. A LIST rejected with 429 is answered
/// before any storage read, so it is not counted as read from etcd (review 48, item 8: 50
/// rejected LISTs made 720 reads of etcd 770). `FirstExpensive`, the start the LISTs in flight
/// are averaged from, is the first expensive LIST with a usable latency: one stamped as
/// received in 1970 (whose latency is already refused as impossible) averaged them over 55
/// years and the finding vanished (review 48, item 2).
fn summarized(ctx: &AuditContext, expensive_ms: &str, prelude: &str) -> String {
    format!(
        "{prelude}{}\n\
         | summarize Lists = count(), RejectedLists = countif(Rejected), ClusterScopeLists = countif(ClusterScope), \
         NoResourceVersionLists = countif(NoResourceVersion and not(Rejected)), UnpaginatedLists = countif(Unpaginated), ExpensiveLists = countif(Expensive), \
         TotalSeconds = sum(latency) / 1000.0, ExpensiveSeconds = {expensive_ms} / 1000.0, \
         P99Ms = percentile(latency, 99), Resources = make_set(Resource, 10), Users = make_set(UserName, 5), UserCount = dcount(UserName), \
         FirstExpensive = minif(RequestReceivedTime, Expensive and isnotnull(latency)) by Client\n\
         | order by ExpensiveSeconds desc, Client asc",
        lists_prelude(ctx, "")
    )
}

/// The seconds the expensive LISTs of `clients` spent waiting in their APF queue (at most
/// each one's latency), per client. Only LISTs that carry the annotation are read further (the
/// API server writes it for requests that waited).
fn queue_query(ctx: &AuditContext, clients: &[&str]) -> String {
    format!(
        "{GO_MS_FUNCTION}{}\n| where Expensive and Client in ({})\n\
         | summarize QueuedSeconds = sum(latency - max_of(latency - {QUEUE_WAIT_MS}, 0.0)) / 1000.0 by Client",
        lists_prelude(ctx, &format!(" and ({}) and isnotempty({QUEUE_WAIT_TEXT})", agents_of(clients))),
        client_names(clients)
    )
}

/// The KQL list of `clients`' names.
fn client_names(clients: &[&str]) -> String {
    clients.iter().map(|c| crate::kql::string_literal(c)).collect::<Vec<_>>().join(", ")
}

/// A test that keeps the requests whose user agent may fold to one of `clients`. A client's user
/// agents start with its first part (`inventory-exporter`, `kube-controller-manager`): a test on
/// the user agent column, which the Parquet reader runs before it decodes the other columns of
/// the rows that pass (the query runs with its filters there).
fn agents_of(clients: &[&str]) -> String {
    let mut products: Vec<String> = clients
        .iter()
        .map(|c| c.split(['/', ' ']).next().unwrap_or_default())
        .map(|p| format!("UserAgent startswith_cs {}", crate::kql::string_literal(p)))
        .collect();
    products.sort();
    products.dedup();
    products.join(" or ")
}

/// The time in expensive LISTs (queue wait included, as the throttle ranks them) and the LISTs
/// of each identity of `clients`, busiest first: the identities a finding names. `make_set` in
/// [`query`] keeps five of them in no useful order (review s46, item 4: nine users with one
/// short LIST each were named, the one with 300 expensive LISTs was not).
fn identities_query(ctx: &AuditContext, clients: &[&str]) -> String {
    format!(
        "{}\n| where Client in ({})\n\
         | summarize ExpensiveMs = sum(iff(Expensive, latency, 0.0)), Lists = count() by Client, UserName\n\
         | order by Client asc, ExpensiveMs desc, Lists desc, UserName asc",
        lists_prelude(ctx, &format!(" and ({})", agents_of(clients))),
        client_names(clients)
    )
}

/// The LISTs per client (their counts; the seconds include queue wait), for the throttle
/// remedy: the check's first query, which the memo then answers.
pub fn lists(ctx: &AuditContext, runner: &dyn QueryRunner) -> Result<Vec<ClientLists>, CheckError> {
    let (_, rows) = run(runner, gross_query(ctx))?;
    read(&rows)
}

/// Runs the check.
pub fn run_check(ctx: &AuditContext, runner: &dyn QueryRunner) -> Result<CheckOutput, CheckError> {
    let mut clients = lists(ctx, runner)?;
    let warn = ctx.thresholds.get(th::EXPENSIVE_LIST_CONCURRENCY_WARNING).value;
    let window = ctx.window_seconds();
    // Only a client over the warning level with its queue wait counted can be over it without;
    // the five the finding's table shows get their queue wait taken out too.
    let candidates: Vec<&str> = clients
        .iter()
        .filter(|c| c.expensive > 0.0)
        .enumerate()
        .filter(|(i, c)| *i < 5 || c.expensive_seconds / window >= warn)
        .map(|(_, c)| c.client.as_str())
        .collect();
    if !candidates.is_empty() {
        let (_, rows) = run_few(runner, queue_query(ctx, &candidates))?;
        let r = rows.reader();
        let (client, queued) = (r.column("Client")?, r.column("QueuedSeconds")?);
        let queued: std::collections::HashMap<String, f64> =
            rows.rows.iter().map(|row| (client.text(row).to_owned(), queued.num(row))).collect();
        for c in &mut clients {
            if let Some(q) = queued.get(&c.client) {
                c.expensive_seconds = (c.expensive_seconds - q).max(0.0);
            }
        }
        clients.sort_by(|a, b| {
            b.expensive_seconds.total_cmp(&a.expensive_seconds).then_with(|| a.client.cmp(&b.client))
        });
    }
    // The clients flagged with several identities are named with their busiest.
    let shared: Vec<&str> = clients
        .iter()
        .filter(|c| c.expensive > 0.0 && c.user_count > 1.0)
        .filter(|c| c.expensive_seconds / in_flight_seconds(ctx, c) >= warn)
        .map(|c| c.client.as_str())
        .collect();
    if !shared.is_empty() {
        let (_, rows) = run_few(runner, identities_query(ctx, &shared))?;
        let r = rows.reader();
        let (client, user) = (r.column("Client")?, r.column("UserName")?);
        for c in &mut clients {
            let busiest: Vec<String> = rows
                .rows
                .iter()
                .filter(|row| client.text(row) == c.client)
                .take(5)
                .map(|row| user.text(row).to_owned())
                .collect();
            if !busiest.is_empty() {
                c.users = busiest;
            }
        }
    }
    evaluate_clients(ctx, &query(ctx), &clients)
}

/// One client's LISTs, as read from the result (also used to tune the throttle remedy).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientLists {
    /// The folded client.
    pub client: String,
    /// LISTs in the window.
    pub lists: f64,
    /// LISTs rejected with 429 (API Priority and Fairness): they never ran.
    pub rejected: f64,
    /// LISTs across namespaces.
    pub cluster_scope: f64,
    /// LISTs without `resourceVersion` that ran (not rejected with 429).
    pub from_etcd: f64,
    /// LISTs without `limit`.
    pub unpaginated: f64,
    /// Expensive LISTs.
    pub expensive: f64,
    /// Seconds spent in expensive LISTs.
    pub expensive_seconds: f64,
    /// Seconds spent in all LISTs.
    pub total_seconds: f64,
    /// P99 LIST latency, ms.
    pub p99_ms: f64,
    /// Resources listed.
    pub resources: Vec<String>,
    /// Identities (five at most).
    pub users: Vec<String>,
    /// How many identities there were.
    pub user_count: f64,
    /// When the first expensive LIST of the window with a usable latency was received (it may
    /// be before the window, by at most the day [`LATENCY_MS`] allows).
    pub first_expensive: Option<chrono::DateTime<chrono::Utc>>,
}

/// Reads the result rows.
pub fn read(rows: &ResultTable) -> Result<Vec<ClientLists>, CheckError> {
    let r = rows.reader();
    let cols = (
        r.column("Client")?,
        r.column("Lists")?,
        r.column("RejectedLists")?,
        r.column("ClusterScopeLists")?,
        r.column("NoResourceVersionLists")?,
        r.column("UnpaginatedLists")?,
        r.column("ExpensiveLists")?,
        r.column("ExpensiveSeconds")?,
        r.column("TotalSeconds")?,
        r.column("P99Ms")?,
        r.column("Resources")?,
        r.column("Users")?,
    );
    let c_user_count = r.column("UserCount").ok();
    let c_first = r.column("FirstExpensive").ok();
    Ok(rows
        .rows
        .iter()
        .map(|row| ClientLists {
            client: cols.0.text(row).to_owned(),
            lists: cols.1.num(row),
            rejected: cols.2.num(row),
            cluster_scope: cols.3.num(row),
            from_etcd: cols.4.num(row),
            unpaginated: cols.5.num(row),
            expensive: cols.6.num(row),
            expensive_seconds: cols.7.num(row),
            total_seconds: cols.8.num(row),
            p99_ms: cols.9.num(row),
            resources: cols.10.texts(row),
            users: cols.11.texts(row),
            user_count: c_user_count.as_ref().map_or(0.0, |c| c.num(row)),
            first_expensive: c_first.as_ref().and_then(|c| c.time(row)),
        })
        .collect())
}

/// The seconds a client's LISTs in flight are averaged over: the window's
/// ([`AuditContext::window_seconds`]), or longer when its first expensive LIST was received
/// before the window began. Their whole time is counted, so it is averaged over the whole time
/// they ran; else a short window held more LISTs in flight than it had LISTs (review 27, html
/// §4: `--since 3s` gave "3.2 expensive LISTs in flight: 2 LISTs", and critical).
fn in_flight_seconds(ctx: &AuditContext, c: &ClientLists) -> f64 {
    let window = ctx.window_seconds();
    let end = ctx.covered().unwrap_or(ctx.window).end;
    let ran = c.first_expensive.map_or(0.0, |first| (end - first).num_milliseconds() as f64 / 1000.0);
    window.max(ran)
}

/// The average number of expensive LISTs in flight as the text says it: one decimal, or two
/// significant digits below 0.1, so a client flagged under a lowered threshold is not said to
/// keep "0.0" in flight (review s46, item 6: 0.012 against a threshold of 0.005).
fn in_flight_text(n: f64) -> String {
    if !(n > 0.0 && n < 0.095) {
        return format!("{n:.1}");
    }
    let decimals = (1 - n.log10().floor() as i32).max(0) as usize;
    format!("{n:.decimals$}")
}

/// Turns the per-client LIST costs into findings.
pub fn evaluate(ctx: &AuditContext, query: &str, rows: &ResultTable) -> Result<CheckOutput, CheckError> {
    evaluate_clients(ctx, query, &read(rows)?)
}

/// Turns the per-client LIST costs into findings; `query` is the one the findings show.
fn evaluate_clients(
    ctx: &AuditContext,
    query: &str,
    clients: &[ClientLists],
) -> Result<CheckOutput, CheckError> {
    let warn = ctx.thresholds.get(th::EXPENSIVE_LIST_CONCURRENCY_WARNING);
    let crit = ctx.thresholds.get(th::EXPENSIVE_LIST_CONCURRENCY_CRITICAL);
    let window = ctx.window_seconds();
    let mut out = CheckOutput::default();
    for c in clients {
        let concurrency = c.expensive_seconds / in_flight_seconds(ctx, c);
        if concurrency < warn.value || c.expensive <= 0.0 {
            continue;
        }
        let severity = if concurrency >= crit.value { Severity::Critical } else { Severity::Warning };
        let name = display_client(&c.client);
        let mut how = Vec::new();
        if c.from_etcd > 0.0 {
            how.push(format!("{} {FROM_ETCD_WORDS}", percent(c.from_etcd / c.lists)));
        }
        if c.unpaginated > 0.0 {
            how.push(format!("{} unpaginated", percent(c.unpaginated / c.lists)));
        }
        if c.cluster_scope > 0.0 {
            how.push(format!("{} across all namespaces", percent(c.cluster_scope / c.lists)));
        }
        // A LIST without `objectRef` (a hand-written or converted log) names no resource.
        let named: Vec<&str> = c.resources.iter().map(String::as_str).filter(|r| !r.is_empty()).collect();
        let resources = if named.is_empty() { "unnamed resources".to_owned() } else { named.join(", ") };
        let lists = counted(c.lists, "LIST", "LISTs");
        let mut f = finding(
            INFO.code,
            severity,
            Subject::new("client", name),
            format!(
                "{name} keeps {} expensive LISTs in flight: {lists} of {resources} ({})",
                in_flight_text(concurrency),
                how.join(", ")
            ),
            format!(
                "{name} ({}) sent {lists} ({}) of {resources}; {} of them were expensive and ran for {} \
                 in all (time waiting in an API Priority and Fairness queue left out), so on average {} \
                 were running at any moment.{} P99 LIST latency: {}.",
                crate::audit::and_more(&c.users, c.user_count),
                // Events within one second give no rate (a single LIST was "1.0 per second").
                if ctx.within_a_second() {
                    "within one second".to_owned()
                } else {
                    per_time(c.lists / window)
                },
                count(c.expensive),
                duration_ms(c.expensive_seconds * 1000.0),
                in_flight_text(concurrency),
                if c.rejected > 0.0 {
                    format!(" {} were rejected with 429 and are not counted.", count(c.rejected))
                } else {
                    String::new()
                },
                duration_ms(c.p99_ms)
            ),
            ctx,
        );
        f.evidence.measures = vec![measure("LISTs", c.lists, "count")];
        if !ctx.within_a_second() {
            f.evidence.measures.push(measure("LISTs per second", c.lists / window, "per-second"));
        }
        f.evidence.measures.extend([
            measure("expensive LISTs", c.expensive, "count"),
            measure("LISTs rejected (429)", c.rejected, "count"),
            measure(FROM_ETCD_MEASURE, c.from_etcd, "count"),
            measure("LISTs without limit", c.unpaginated, "count"),
            measure("cluster-scope LISTs", c.cluster_scope, "count"),
            measure("time in expensive LISTs", c.expensive_seconds, "s"),
            measure("expensive LISTs in flight", concurrency, "requests"),
            measure("P99 LIST latency", c.p99_ms, "ms"),
        ]);
        f.evidence.query = Some(query.to_owned());
        f.evidence.table = Some(Table {
            columns: [
                "client",
                "LISTs",
                FROM_ETCD_COLUMN,
                "unpaginated",
                "cluster-scope",
                "expensive time",
                "P99",
            ]
            .map(str::to_owned)
            .to_vec(),
            rows: clients
                .iter()
                .filter(|o| o.expensive > 0.0)
                .take(5)
                .map(|o| {
                    vec![
                        display_client(&o.client).to_owned(),
                        count(o.lists),
                        count(o.from_etcd),
                        count(o.unpaginated),
                        count(o.cluster_scope),
                        duration_ms(o.expensive_seconds * 1000.0),
                        duration_ms(o.p99_ms),
                    ]
                })
                .collect(),
        });
        f.thresholds = vec![ThresholdUsed::from(if severity == Severity::Critical { crit } else { warn })];
        out.findings.push(f);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Cell;
    use crate::testutil::{ctx_hour, list, text};

    fn rows(data: &[(&str, f64, f64, f64)]) -> ResultTable {
        // (client, lists, expensive lists, expensive seconds); expensive ones are from etcd,
        // unpaginated and cluster-scope.
        ResultTable::new(
            &[
                "Client",
                "Lists",
                "RejectedLists",
                "ClusterScopeLists",
                "NoResourceVersionLists",
                "UnpaginatedLists",
                "ExpensiveLists",
                "TotalSeconds",
                "ExpensiveSeconds",
                "P99Ms",
                "Resources",
                "Users",
            ],
            data.iter()
                .map(|(c, n, e, s)| {
                    vec![
                        text(c),
                        Cell::Real(*n),
                        Cell::Real(0.0),
                        Cell::Real(*e),
                        Cell::Real(*e),
                        Cell::Real(*e),
                        Cell::Real(*e),
                        Cell::Real(*s),
                        Cell::Real(*s),
                        Cell::Real(4000.0),
                        list(&["pods"]),
                        list(&["system:serviceaccount:inv:pod-inventory"]),
                    ]
                })
                .collect(),
        )
    }

    #[test]
    fn a_finding_under_a_lowered_threshold_said_0_0_expensive_lists_in_flight() {
        // Review s46, item 6: 0.012 in flight, flagged against a threshold of 0.005, was "keeps
        // 0.0 expensive LISTs in flight".
        let mut ctx = ctx_hour();
        ctx.thresholds.set(th::EXPENSIVE_LIST_CONCURRENCY_WARNING, 0.005).expect("threshold");
        let out = evaluate(&ctx, "q", &rows(&[("lister", 12.0, 12.0, 43.2)])).expect("evaluates");
        let f = &out.findings[0];
        assert!(f.title.starts_with("lister keeps 0.012 expensive LISTs in flight"), "{}", f.title);
        assert!(f.summary.contains("so on average 0.012 were running"), "{}", f.summary);
        let shown: Vec<String> =
            [0.0123, 0.05, 0.0949, 0.095, 0.788, 1.498, 12.0].map(in_flight_text).to_vec();
        assert_eq!(shown, ["0.012", "0.050", "0.095", "0.1", "0.8", "1.5", "12.0"]);
    }

    #[test]
    fn a_client_keeping_lists_in_flight_is_critical() {
        let ctx = ctx_hour();
        // 1,800 LISTs of 4 s each in an hour: 2 in flight on average.
        let out = evaluate(
            &ctx,
            "q",
            &rows(&[("pod-inventory", 1800.0, 1800.0, 7200.0), ("kubectl", 20.0, 20.0, 10.0)]),
        )
        .expect("evaluates");
        assert_eq!(out.findings.len(), 1);
        let f = &out.findings[0];
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!(f.subject, Subject::new("client", "pod-inventory"));
        assert!(f.title.starts_with("pod-inventory keeps 2.0 expensive LISTs in flight"), "{}", f.title);
        assert!(f.title.contains("100% from etcd"), "{}", f.title);
    }

    /// Review 27 (html §4): LISTs received before a short window ran mostly outside it, yet their
    /// whole time was divided by the window: `--since 3s` gave "3.2 expensive LISTs in flight: 2
    /// LISTs" and a critical finding. Their time is now averaged over the time they ran.
    #[test]
    fn lists_in_flight_are_averaged_over_the_time_they_ran_not_a_shorter_window() {
        let mut ctx = ctx_hour();
        ctx.window.start = ctx.window.end - chrono::Duration::seconds(3);
        // Two LISTs of about 5 s each, received 6 s before the window's end.
        let mut table = rows(&[("inventory-exporter", 2.0, 2.0, 9.6)]);
        table.columns.push("FirstExpensive".to_owned());
        table.rows[0].push(Cell::Time(ctx.window.end - chrono::Duration::seconds(6)));
        let out = evaluate(&ctx, "q", &table).expect("evaluates");
        let f = &out.findings[0];
        assert!(
            f.title.starts_with("inventory-exporter keeps 1.6 expensive LISTs in flight: 2 LISTs"),
            "{}",
            f.title
        );
        assert_eq!(f.severity, Severity::Warning);
        // Without the time the first was received, the window is all there is (as before).
        let out = evaluate(&ctx, "q", &rows(&[("inventory-exporter", 2.0, 2.0, 9.6)])).expect("evaluates");
        assert!(out.findings[0].title.contains("keeps 3.2 expensive"), "{}", out.findings[0].title);
    }

    /// Re-review s26 item 7: a client with six identities was said to be "(u1, u2, u3, u4, u5)".
    #[test]
    fn the_summary_says_how_many_identities_it_does_not_name() {
        let mut table = rows(&[("kubectl", 1800.0, 1800.0, 7200.0)]);
        let five: Vec<String> = (1..=5).map(|i| format!("u{i}@x.com")).collect();
        let at = table.columns.iter().position(|c| c == "Users").expect("column");
        table.rows[0][at] = list(&five.iter().map(String::as_str).collect::<Vec<_>>());
        table.columns.push("UserCount".to_owned());
        table.rows[0].push(Cell::Int(6));
        let out = evaluate(&ctx_hour(), "q", &table).expect("evaluates");
        assert!(
            out.findings[0]
                .summary
                .starts_with("kubectl (u1@x.com, u2@x.com, u3@x.com, u4@x.com, u5@x.com and 1 more) sent"),
            "{}",
            out.findings[0].summary
        );
        table.rows[0][at + 1] = Cell::Int(5);
        let out = evaluate(&ctx_hour(), "q", &table).expect("evaluates");
        assert!(
            out.findings[0]
                .summary
                .starts_with("kubectl (u1@x.com, u2@x.com, u3@x.com, u4@x.com, u5@x.com) sent")
        );
    }

    /// Diagnose review item 8: with Kubernetes 1.33 in the data, the finding still called the
    /// LISTs without resourceVersion "from etcd", which 1.31+ serves from the watch cache.
    #[test]
    fn lists_without_resource_version_are_not_called_etcd_reads_on_1_31_and_later() {
        // A client and resource named like the words replaced stay as they are.
        let mut table = rows(&[("x 5% from etcd", 1800.0, 1800.0, 7200.0)]);
        let at = table.columns.iter().position(|c| c == "Resources").expect("column");
        table.rows[0][at] = list(&["a (1% from etcd"]);
        let out = evaluate(&ctx_hour(), "q", &table).expect("evaluates");
        let before = out.findings.clone();
        let mut findings = out.findings;
        word_for_version(&mut findings, remedy::KubernetesVersion::new(1, 33), true);
        let f = &findings[0];
        assert_eq!(
            f.title,
            "x 5% from etcd keeps 2.0 expensive LISTs in flight: 1,800 LISTs of a (1% from etcd (100% without \
             resourceVersion, 100% unpaginated, 100% across all namespaces)"
        );
        assert!(
            f.summary.ends_with(
                " On Kubernetes 1.33, the 1,800 LISTs without resourceVersion are consistent reads that the API server \
                 serves from its watch cache when ConsistentListFromCache is on (the default since 1.31, with etcd \
                 3.4.31+ or 3.5.13+), not quorum reads of etcd; each still makes the API server select and serialise \
                 every object it returns."
            ),
            "{}",
            f.summary
        );
        assert!(
            f.evidence.measures.iter().any(|m| m.label == CONSISTENT_MEASURE),
            "{:?}",
            f.evidence.measures
        );
        assert!(f.evidence.table.as_ref().is_some_and(|t| t.columns.contains(&CONSISTENT_COLUMN.to_owned())));
        // On-call review 52, item 2: on 1.31 and 1.32 a paginated consistent LIST is still read
        // from etcd, which the finding says.
        let mut findings = before.clone();
        word_for_version(&mut findings, remedy::KubernetesVersion::new(1, 32), true);
        assert!(
            findings[0].summary.ends_with(
                " On 1.31 and 1.32 this holds only for those without `limit` and `continue`: a paginated one is still a \
                 quorum read of etcd (the watch cache serves pages from 1.33)."
            ),
            "{}",
            findings[0].summary
        );
        // Before 1.31, or when the version is only assumed, they are quorum reads of etcd.
        for (version, known) in [((1, 30), true), ((1, 33), false)] {
            let mut findings = before.clone();
            word_for_version(&mut findings, remedy::KubernetesVersion::new(version.0, version.1), known);
            assert_eq!(findings, before, "{version:?} {known}");
        }
    }

    #[test]
    fn occasional_expensive_lists_warn_and_cheap_ones_do_not() {
        let ctx = ctx_hour();
        let out =
            evaluate(&ctx, "q", &rows(&[("operator", 900.0, 900.0, 1800.0), ("informer", 5000.0, 0.0, 0.0)]))
                .expect("evaluates");
        assert_eq!(out.findings.len(), 1);
        assert_eq!(out.findings[0].severity, Severity::Warning);
        assert_eq!(out.findings[0].thresholds[0].name, "expensive_list_concurrency_warning");
    }

    #[test]
    fn one_list_of_no_named_resource_reads_as_such() {
        let ctx = ctx_hour();
        let mut table = rows(&[("lister", 1.0, 1.0, 3600.0)]);
        let at = table.columns.iter().position(|c| c == "Resources").expect("column");
        table.rows[0][at] = list(&[""]);
        let out = evaluate(&ctx, "q", &table).expect("evaluates");
        let f = &out.findings[0];
        assert!(
            f.title.ends_with(
                ": 1 LIST of unnamed resources (100% from etcd, 100% unpaginated, 100% across all namespaces)"
            ),
            "{}",
            f.title
        );
        assert!(f.summary.contains(" sent 1 LIST (1.0 per hour) of unnamed resources; "), "{}", f.summary);
    }
}
