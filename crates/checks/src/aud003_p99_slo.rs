//! AUD003 p99-slo: P99 latency by verb, resource and scope against the Kubernetes API call
//! latency SLOs, with the clients behind each breach.

use findings::{
    CheckInfo, EvidenceKind, Severity, Subject, Table, Threshold, ThresholdUsed, threshold_names as th,
};

use crate::audit::{
    AuditContext, CheckError, CheckOutput, QueryRunner, count, duration_above_ms, duration_ms, finding,
    measure, run,
};
use crate::client::{CLIENT_KQL, display_client};
use crate::kql::{
    GO_MS_FUNCTION, LATENCY_MS, METRICS_API_GROUPS, NOT_LONG_RUNNING, QUALIFIED_RESOURCE, SCOPE,
    qualified_resource_of, string_literal,
};
use crate::table::{Column, ResultTable};

/// The check's description.
pub const INFO: CheckInfo = CheckInfo {
    code: "AUD003",
    name: "p99-slo",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::Audit,
    thresholds: &[
        th::P99_MUTATING_SECONDS,
        th::P99_NAMESPACE_LIST_SECONDS,
        th::P99_CLUSTER_LIST_SECONDS,
        th::MIN_REQUESTS,
    ],
    doc: r#"## What it detects

P99 latency by verb, resource and scope against the Kubernetes API call latency SLOs.

The 99th percentile latency of API calls grouped by verb, resource (named with its API group,
as `jobs.batch` or `pods.metrics.k8s.io`, and its subresource) and scope, compared with the
Kubernetes API call latency SLOs — the AKS guide's third step, for every client at once:

| calls | scope | P99 |
|---|---|---|
| mutating (`create`, `update`, `patch`, `delete`) and `get` | one object (`resource`) | ≤ `p99_mutating_seconds` (1 s) |
| `list` | `namespace` | ≤ `p99_namespace_list_seconds` (5 s) |
| `list` | `cluster` | ≤ `p99_cluster_list_seconds` (30 s) |

Each is the SLO SIG-scalability publishes (1 s; 5 s for `scope=namespace`; 30 s for
`scope=cluster`), and a P99 above it is a warning, whatever the scope. The design table
(DESIGN.md, "Thresholds") gave namespace-scope LISTs a 5 s warning level and a 30 s SLO; the
published SLO text is the authority, and the table was corrected: 5 s is the SLO, and there is
no second level. `deletecollection` is not judged: it is neither a call for a single object
(the 1 s SLO) nor a read-only call (the LIST SLOs), and no SLO covers it; the namespace
controller sends one per resource when a namespace is deleted, and with many objects it takes
seconds (MET001 leaves it out too).

The scope comes from the request URI as the API server parses it (`ObjectRef` is filled from
that parse): a named object or a create is `resource`, a collection in one namespace is
`namespace`, a collection across namespaces or of a cluster-scoped type is `cluster`. Groups
with fewer than `min_requests` requests are not judged. Long-running requests (watch; the
`exec`, `attach`, `portforward`, `proxy` and `log` subresources) are excluded, as the SLOs
exclude them; the guide's raw query includes them.

The SLO covers built-in resources only: it excludes aggregated resources (those an extension
API server serves, such as metrics-server's `metrics.k8s.io`, `custom.metrics.k8s.io` and
`external.metrics.k8s.io`), virtual resources (the `*reviews` of `authentication.k8s.io` and
`authorization.k8s.io`, computed per request and never stored) and custom resources (any group
kube-apiserver does not serve itself, including custom groups that end in `k8s.io` such as Gateway
API's `gateway.networking.k8s.io` or Cluster API's `cluster.x-k8s.io`). Those are still judged against the same numbers, so a slow
metrics-server or operator shows, but the finding says "above 1 s (not covered by the SLO:
aggregated resource)" and explains that its latency is not a breach of the SLO and may be the
extension server's own; they stay warnings.

Each breach lists the clients whose own P99 for that verb, resource and scope is highest.
The query in its evidence computes the P99 its title states: that verb, resource and scope,
every client, long-running requests excluded, in the window analysed.

The P99 is of the whole time each request took by its timestamps, admission webhooks and APF
queue wait included, which the SLO leaves out (it is defined on the metric
apiserver_request_sli_duration_seconds, the request's time less those). For each breach the
check also computes the P99 without them, from the requests' `apiserver.latency.k8s.io`
annotations (`mutating-webhook` and `validating-webhook`, written since Kubernetes 1.27 on every
request slower than 500 ms; `apf-queue-wait` since 1.31, so on 1.27–1.30 queue time is not
taken away), and gives it when it is at most 95% of the P99 or within the SLO. Requests without
the annotations (faster than 500 ms) count whole: they are below every SLO, so they cannot
change the verdict. When that P99 is within the SLO, the finding is informational and its title
says so: the requests were slow waiting on webhooks (whose findings name the cause, and whose
victims the clients are) or in APF queues (a full priority level: its load or its share is the
cause). The query in the evidence computes both P99s.

## Why it matters

The SLOs are what "the API server is slow" means in numbers; a breach tells which calls are
slow, which narrows the cause to a resource (many objects), a verb (expensive LISTs), or a
client.

## Example

```text
warning  AUD003  P99 of list pods (cluster) is 41.3 s, above the 30 s SLO
```

## Remedy

Follow the clients named in the breach: AUD004 (expensive LISTs) and AUD005 (where the time
went) usually say why; reduce object counts if the resource holds too many (see the metrics
checks), and tune or throttle the clients.

## References

- Kubernetes API call latency SLO: https://github.com/kubernetes/community/blob/master/sig-scalability/slos/api_call_latency.md
- AKS guide, step 3 (P99 by verb and resource for a user agent):
  https://learn.microsoft.com/troubleshoot/azure/azure-kubernetes/create-upgrade-delete/troubleshoot-apiserver-etcd
"#,
};

/// Rows of the overview P99 table.
const OVERVIEW_ROWS: usize = 30;
/// Clients listed per breach.
const CLIENTS_PER_BREACH: usize = 5;

/// P99 per verb, resource and scope, for all clients together. Non-resource requests (an
/// empty scope) are left out first, and the resource's name is built per group, not per
/// request: over the demo's 8.8 million events 1.0 s instead of 1.5 s, with the same rows.
pub fn query(ctx: &AuditContext) -> String {
    format!(
        "{}\n| where {NOT_LONG_RUNNING} and isnotempty(tostring(ObjectRef.resource))\n\
         | extend Scope = {SCOPE}, latency = {LATENCY_MS}\n\
         | summarize Requests = count(), P99Ms = percentile(latency, 99) \
         by Verb, ObjectResource = tostring(ObjectRef.resource), ApiGroup = tostring(ObjectRef.apiGroup), \
         Subresource = tostring(ObjectRef.subresource), Scope\n\
         | project Verb, Resource = {}, Scope, Requests, P99Ms\n\
         | order by P99Ms desc, Verb asc, Resource asc, Scope asc",
        ctx.requests(),
        qualified_resource_of("ObjectResource", "ApiGroup", "Subresource")
    )
}

/// P99 per client of the given verb, resource and scope groups (the breaches: the per-client
/// rows of the others are never shown, and over millions of requests they cost seconds).
pub fn client_query(ctx: &AuditContext, groups: &[(String, String, String)]) -> String {
    format!(
        "{}\n| where {NOT_LONG_RUNNING}\n| where Verb in ({})\n\
         | extend Client = {CLIENT_KQL}, Resource = {QUALIFIED_RESOURCE}, Scope = {SCOPE}, latency = {LATENCY_MS}\n\
         | where {}\n\
         | summarize Requests = count(), P99Ms = percentile(latency, 99) by Client, Verb, Resource, Scope\n\
         | order by P99Ms desc, Client asc, Verb asc, Resource asc, Scope asc",
        ctx.requests(),
        verbs_of(groups),
        only(groups)
    )
}

/// The verbs of `groups`, as the list of an `in`: a plain column the store filters cheaply,
/// before the computed ones.
fn verbs_of(groups: &[(String, String, String)]) -> String {
    let mut verbs: Vec<String> = groups.iter().map(|(verb, _, _)| string_literal(verb)).collect();
    verbs.sort();
    verbs.dedup();
    verbs.join(", ")
}

/// The condition keeping the rows of `groups` (verb, resource, scope).
fn only(groups: &[(String, String, String)]) -> String {
    groups
        .iter()
        .map(|(verb, resource, scope)| {
            format!(
                "(Verb == {} and Resource == {} and Scope == {})",
                string_literal(verb),
                string_literal(resource),
                string_literal(scope)
            )
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

/// The latency annotations of the time the SLO leaves out: its latency is measured on
/// apiserver_request_sli_duration_seconds, the request's time less its admission webhooks' and
/// its APF queue wait.
const EXCLUDED_ANNOTATIONS: [&str; 3] = ["mutating-webhook", "validating-webhook", "apf-queue-wait"];

/// A request's latency without the time the SLO leaves out, in milliseconds, from its
/// `apiserver.latency.k8s.io` annotations ([`EXCLUDED_ANNOTATIONS`]; a request without them
/// counts whole), never below 0 (the annotations and the timestamps are measured apart).
fn sli_latency_ms() -> String {
    let excluded: Vec<String> = EXCLUDED_ANNOTATIONS
        .iter()
        .map(|key| format!("coalesce(go_ms(tostring(Annotations[\"apiserver.latency.k8s.io/{key}\"])), 0.0)"))
        .collect();
    format!("max_of(latency - ({}), 0.0)", excluded.join(" + "))
}

/// The P99 of each breached group without the time the SLO leaves out (on-call review 52,
/// item 5: a failing webhook made "P99 of create pods is 10.0 s, above the 1 s SLO", where the
/// API server's own part, what the SLO measures, was near 0).
pub fn sli_query(ctx: &AuditContext, groups: &[(String, String, String)]) -> String {
    format!(
        "{GO_MS_FUNCTION}{}\n| where {NOT_LONG_RUNNING}\n| where Verb in ({})\n\
         | extend Resource = {QUALIFIED_RESOURCE}, Scope = {SCOPE}, latency = {LATENCY_MS}\n\
         | where {}\n\
         | extend sli = {}\n\
         | summarize Requests = count(), SliP99Ms = percentile(sli, 99) by Verb, Resource, Scope",
        ctx.requests(),
        verbs_of(groups),
        only(groups),
        sli_latency_ms()
    )
}

/// The query reproducing one breach's headline figure: the P99 of that verb, resource and
/// scope over every client, long-running requests excluded, in the window — the row of
/// [`query`] the finding states — and the same P99 without the time the SLO leaves out
/// ([`sli_query`]). (The clients' own P99s in the finding's table come from [`client_query`].)
fn breach_query(ctx: &AuditContext, verb: &str, resource: &str, scope: &str) -> String {
    format!(
        "{GO_MS_FUNCTION}{}\n| where {NOT_LONG_RUNNING}\n| where Verb == {}\n\
         | extend Resource = {QUALIFIED_RESOURCE}, Scope = {SCOPE}, latency = {LATENCY_MS}\n\
         | where Resource == {} and Scope == {}\n\
         | extend sli = {}\n\
         | summarize Requests = count(), P99Ms = percentile(latency, 99), SliP99Ms = percentile(sli, 99) \
         by Verb, Resource, Scope",
        ctx.requests(),
        string_literal(verb),
        string_literal(resource),
        string_literal(scope),
        sli_latency_ms()
    )
}

/// A breach whose P99 without the time the SLO leaves out is at most this share of its P99
/// says so; closer, the difference is not worth a word.
const SLI_SHARE_WORTH_SAYING: f64 = 0.95;

/// What a breach's summary says of its P99 without the time the SLO leaves out, `within` the
/// SLO or not.
fn without_excluded_time(sli_ms: f64, within: bool) -> String {
    let p99 = duration_ms(sli_ms);
    let measured = "Without the time in admission webhooks and APF queues, which the SLO leaves out (it is \
                    measured on apiserver_request_sli_duration_seconds, the request's time less those; here from \
                    the requests' apiserver.latency.k8s.io annotations)";
    if within {
        format!(
            " {measured}, the P99 is {p99}, within the SLO: these requests were slow waiting on admission \
             webhooks or in APF queues (AUD005 says which, per client), not in the API server's handling of \
             them. Webhook time is the webhooks' (AUD007, AUD010, MET008): the clients above are their victims. \
             Queue time means the request's priority level was full: its load or its share is the cause (MET006, \
             MET007, MET010, and AUD001 for who sends the most)."
        )
    } else {
        format!(" {measured}, the P99 is {p99}: still above it.")
    }
}

/// Why the API call latency SLO does not cover `resource` (as [`QUALIFIED_RESOURCE`] names it:
/// `resource.group/subresource`), if it does not: the SLO is "for every (resource, verb) pair,
/// excluding virtual and aggregated resources and Custom Resource Definitions" (review 48,
/// item 5: `get pods.metrics.k8s.io` was "above the 1 s SLO", a breach of metrics-server).
pub fn not_covered(resource: &str) -> Option<NotCovered> {
    let resource = resource.split_once('/').map_or(resource, |(r, _)| r);
    let (name, group) = resource.split_once('.').unwrap_or((resource, ""));
    if METRICS_API_GROUPS.contains(&group) {
        return Some(NotCovered::Aggregated);
    }
    if ["authentication.k8s.io", "authorization.k8s.io"].contains(&group) && name.ends_with("reviews") {
        return Some(NotCovered::Virtual);
    }
    // Built-in types as the object-count check tells them (the core group or one of the groups
    // kube-apiserver serves); any other group is a custom resource's.
    (metrics::checks::scope_of(resource) == metrics::checks::Scope::Unknown).then_some(NotCovered::Custom)
}

/// Why the API call latency SLO does not cover a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotCovered {
    /// Served by an extension API server through the aggregation layer (the metrics APIs).
    Aggregated,
    /// Computed per request and never stored (`tokenreviews`, `subjectaccessreviews`, …).
    Virtual,
    /// A custom resource (a CustomResourceDefinition's).
    Custom,
}

impl NotCovered {
    /// The kind of resource, as the title says it: "aggregated resource".
    fn kind(self) -> &'static str {
        match self {
            NotCovered::Aggregated => "aggregated resource",
            NotCovered::Virtual => "virtual resource",
            NotCovered::Custom => "custom resource",
        }
    }

    /// What the summary says of it.
    fn explained(self) -> &'static str {
        match self {
            NotCovered::Aggregated => {
                "It is an aggregated resource: an extension API server (metrics-server or a metrics adapter) \
                 answers it through the kube-apiserver, so the time is mostly that server's, and the API call \
                 latency SLO, which excludes aggregated resources, does not cover it; look at that server first."
            }
            NotCovered::Virtual => {
                "It is a virtual resource: computed per request (often by an authentication or authorization \
                 webhook) and never stored, and the API call latency SLO, which excludes virtual resources, does \
                 not cover it; look at the webhooks it calls first."
            }
            NotCovered::Custom => {
                "It is a custom resource (its API group is not a built-in one), and the API call latency SLO, which \
                 excludes Custom Resource Definitions, does not cover it: the number it sets for built-in \
                 resources is used as a yardstick, not as a breach."
            }
        }
    }
}

/// The SLO a verb and scope are judged against (SIG-scalability's API call latency SLO: 1 s
/// for calls on one object, 5 s for namespace-scope LISTs, 30 s for cluster-scope ones).
/// `deletecollection` has none: it is neither a call for a single object nor a read (docs
/// review 51, item 1.1: AUD003 held it to the LIST SLOs, MET001 to none).
pub fn slo<'t>(ctx: &'t AuditContext, verb: &str, scope: &str) -> Option<&'t Threshold> {
    let t = &ctx.thresholds;
    match (verb, scope) {
        ("get" | "create" | "update" | "patch" | "delete", "resource") => {
            Some(t.get(th::P99_MUTATING_SECONDS))
        }
        ("list", "namespace") => Some(t.get(th::P99_NAMESPACE_LIST_SECONDS)),
        ("list", "cluster") => Some(t.get(th::P99_CLUSTER_LIST_SECONDS)),
        _ => None,
    }
}

/// Runs the check.
pub fn run_check(ctx: &AuditContext, runner: &dyn QueryRunner) -> Result<CheckOutput, CheckError> {
    let (_, groups) = run(runner, query(ctx))?;
    let breached = breaches(ctx, &groups)?;
    if breached.is_empty() {
        return evaluate(ctx, &groups, &no_clients(), &no_sli());
    }
    let clients = run(runner, client_query(ctx, &breached))?.1;
    // Without the P99s less the time the SLO leaves out, the breaches are still said, as
    // measured: the finding says the query failed.
    let sli = run(runner, sli_query(ctx, &breached));
    let mut out = evaluate(ctx, &groups, &clients, sli.as_ref().map_or(&no_sli(), |(_, t)| t))?;
    if let Err(err) = sli {
        for f in &mut out.findings {
            f.summary.push_str(&format!(
                " (Its P99 without admission webhook and APF queue time could not be computed: {err}.)"
            ));
        }
    }
    Ok(out)
}

/// An empty answer of [`client_query`].
fn no_clients() -> ResultTable {
    ResultTable::new(&["Client", "Verb", "Resource", "Scope", "Requests", "P99Ms"], vec![])
}

/// An empty answer of [`sli_query`].
fn no_sli() -> ResultTable {
    ResultTable::new(&["Verb", "Resource", "Scope", "Requests", "SliP99Ms"], vec![])
}

/// The SLO a group is judged against, if it is judged: its verb and scope have an SLO and it
/// has enough requests.
fn judge<'t>(ctx: &'t AuditContext, verb: &str, scope: &str, requests: f64) -> Option<&'t Threshold> {
    (requests >= ctx.thresholds.get(th::MIN_REQUESTS).value).then(|| slo(ctx, verb, scope)).flatten()
}

/// The columns of [`query`]'s result: verb, resource, scope, requests, P99.
fn group_columns(groups: &ResultTable) -> Result<(Column, Column, Column, Column, Column), CheckError> {
    group_columns_named(groups, "P99Ms")
}

/// The columns of a P99 table by verb, resource and scope whose P99 column is `p99`.
fn group_columns_named(
    groups: &ResultTable,
    p99: &str,
) -> Result<(Column, Column, Column, Column, Column), CheckError> {
    let r = groups.reader();
    Ok((r.column("Verb")?, r.column("Resource")?, r.column("Scope")?, r.column("Requests")?, r.column(p99)?))
}

/// The verb, resource and scope groups whose P99 is above their SLO.
fn breaches(ctx: &AuditContext, groups: &ResultTable) -> Result<Vec<(String, String, String)>, CheckError> {
    let (verb, resource, scope, requests, p99) = group_columns(groups)?;
    Ok(groups
        .rows
        .iter()
        .filter(|row| {
            let Some(p99_ms) = p99.opt_num(row) else { return false };
            judge(ctx, verb.text(row), scope.text(row), requests.num(row))
                .is_some_and(|slo| p99_ms / 1000.0 > slo.value)
        })
        .map(|row| (verb.text(row).to_owned(), resource.text(row).to_owned(), scope.text(row).to_owned()))
        .collect())
}

fn seconds(s: f64) -> String {
    if s.fract() == 0.0 { format!("{s:.0} s") } else { format!("{s} s") }
}

/// Turns the P99 tables into breaches and the overview table.
pub fn evaluate(
    ctx: &AuditContext,
    groups: &ResultTable,
    clients: &ResultTable,
    sli: &ResultTable,
) -> Result<CheckOutput, CheckError> {
    let (g_verb, g_resource, g_scope, g_requests, g_p99) = group_columns(groups)?;
    let (s_verb, s_resource, s_scope, _, s_p99) = group_columns_named(sli, "SliP99Ms")?;
    // The P99 without the time the SLO leaves out, of a breached group, when it is worth saying.
    // Always when it is within the SLO (review s53b, item 3: 995 ms against a P99 of 1.04 s
    // and a 1 s SLO was not said, and the breach stayed a warning).
    let sli_p99 = |verb: &str, resource: &str, scope: &str, p99_ms: f64, slo_s: f64| {
        sli.rows
            .iter()
            .find(|r| s_verb.text(r) == verb && s_resource.text(r) == resource && s_scope.text(r) == scope)
            .and_then(|r| s_p99.opt_num(r))
            .filter(|sli_ms| *sli_ms <= p99_ms * SLI_SHARE_WORTH_SAYING || *sli_ms / 1000.0 <= slo_s)
    };
    let c = clients.reader();
    let (c_client, c_verb, c_resource, c_scope, c_requests, c_p99) = (
        c.column("Client")?,
        c.column("Verb")?,
        c.column("Resource")?,
        c.column("Scope")?,
        c.column("Requests")?,
        c.column("P99Ms")?,
    );
    let min_requests = ctx.thresholds.get(th::MIN_REQUESTS);
    let mut out = CheckOutput::default();
    // (ratio to the SLO, row) for the overview.
    let mut judged: Vec<(f64, Vec<String>)> = Vec::new();
    for row in &groups.rows {
        let (verb, resource, scope) = (g_verb.text(row), g_resource.text(row), g_scope.text(row));
        let (n, Some(p99_ms)) = (g_requests.num(row), g_p99.opt_num(row)) else { continue };
        let Some(slo) = judge(ctx, verb, scope, n) else { continue };
        let p99 = p99_ms / 1000.0;
        let uncovered = not_covered(resource);
        let sli_ms = if p99 > slo.value { sli_p99(verb, resource, scope, p99_ms, slo.value) } else { None };
        // Within the SLO once the time it leaves out is taken away: the webhooks' or the queue's.
        let sli_within = sli_ms.is_some_and(|ms| ms / 1000.0 <= slo.value);
        let status = match (p99 > slo.value, uncovered) {
            (true, _) if sli_within => "ok without webhook/APF time",
            (true, Some(_)) => "over (no SLO)",
            (true, None) => "over SLO",
            (false, _) => "ok",
        };
        judged.push((
            p99 / slo.value,
            vec![
                verb.to_owned(),
                resource.to_owned(),
                scope.to_owned(),
                count(n),
                duration_above_ms(p99_ms, slo.value * 1000.0),
                match uncovered {
                    Some(why) => format!("none ({})", why.kind()),
                    None => seconds(slo.value),
                },
                status.to_owned(),
            ],
        ));
        if p99 <= slo.value {
            continue;
        }
        let name = format!("{verb} {resource} ({scope})");
        let p99_text = duration_above_ms(p99_ms, slo.value * 1000.0);
        let title = match (uncovered, sli_ms.filter(|_| sli_within)) {
            // Within once the time the SLO leaves out is taken away: not said to be "above" it
            // (review s53b, item 8).
            (None, Some(ms)) => format!(
                "P99 of {name} is {p99_text}, but {} without admission webhook and APF queue time: within the {} \
                 SLO, which leaves that time out",
                duration_ms(ms),
                seconds(slo.value)
            ),
            (Some(why), Some(ms)) => format!(
                "P99 of {name} is {p99_text}, but {} without admission webhook and APF queue time: within {} \
                 (not covered by the SLO: {})",
                duration_ms(ms),
                seconds(slo.value),
                why.kind()
            ),
            (Some(why), None) => format!(
                "P99 of {name} is {p99_text}, above {} (not covered by the SLO: {})",
                seconds(slo.value),
                why.kind()
            ),
            (None, None) => format!("P99 of {name} is {p99_text}, above the {} SLO", seconds(slo.value)),
        };
        let mut slow_clients: Vec<&Vec<_>> = clients
            .rows
            .iter()
            .filter(|cr| {
                c_verb.text(cr) == verb && c_resource.text(cr) == resource && c_scope.text(cr) == scope
            })
            .collect();
        slow_clients.sort_by(|a, b| {
            c_p99.num(b).total_cmp(&c_p99.num(a)).then_with(|| c_client.text(a).cmp(c_client.text(b)))
        });
        slow_clients.truncate(CLIENTS_PER_BREACH);
        let names: Vec<&str> = slow_clients.iter().map(|cr| display_client(c_client.text(cr))).collect();
        let mut f = finding(
            INFO.code,
            if sli_within { Severity::Info } else { Severity::Warning },
            Subject::new("resource", name.clone()),
            title,
            format!(
                "{} {verb} calls on {resource} at {scope} scope had a P99 latency of {}. Slowest clients: {}. \
                 Long-running requests (watches; the exec, attach, portforward, proxy and log subresources) are \
                 excluded, as the SLO excludes them; the AKS guide's raw P99 query includes them, so its P99s can \
                 be minutes where a client watches.{}",
                count(n),
                duration_above_ms(p99_ms, slo.value * 1000.0),
                if names.is_empty() { "none with enough requests".to_owned() } else { names.join(", ") },
                uncovered.map_or(String::new(), |why| format!(" {}", why.explained()))
            ),
            ctx,
        );
        f.evidence.measures = vec![
            measure("P99 latency", p99_ms, "ms"),
            measure("requests", n, "count"),
            measure("threshold", slo.value, "s"),
        ];
        if let Some(ms) = sli_ms {
            f.summary.push_str(&without_excluded_time(ms, sli_within));
            f.evidence.measures.push(measure("P99 latency without webhook and APF queue time", ms, "ms"));
        }
        f.evidence.query = Some(breach_query(ctx, verb, resource, scope));
        f.evidence.table = Some(Table {
            columns: ["client", "requests", "P99"].map(str::to_owned).to_vec(),
            rows: slow_clients
                .iter()
                .map(|cr| {
                    vec![
                        display_client(c_client.text(cr)).to_owned(),
                        count(c_requests.num(cr)),
                        duration_ms(c_p99.num(cr)),
                    ]
                })
                .collect(),
        });
        f.thresholds = vec![ThresholdUsed::from(slo), min_requests.into()];
        out.findings.push(f);
    }
    judged.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    if !judged.is_empty() {
        out.overview.p99_table = Some(Table {
            columns: ["verb", "resource", "scope", "requests", "P99", "SLO", "status"]
                .map(str::to_owned)
                .to_vec(),
            rows: judged.into_iter().take(OVERVIEW_ROWS).map(|(_, row)| row).collect(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Cell;
    use crate::testutil::{ctx_hour, text};

    fn groups(rows: &[(&str, &str, &str, i64, f64)]) -> ResultTable {
        ResultTable::new(
            &["Verb", "Resource", "Scope", "Requests", "P99Ms"],
            rows.iter()
                .map(|(v, r, s, n, p)| vec![text(v), text(r), text(s), Cell::Int(*n), Cell::Real(*p)])
                .collect(),
        )
    }

    fn clients(rows: &[(&str, &str, &str, &str, i64, f64)]) -> ResultTable {
        ResultTable::new(
            &["Client", "Verb", "Resource", "Scope", "Requests", "P99Ms"],
            rows.iter()
                .map(|(c, v, r, s, n, p)| {
                    vec![text(c), text(v), text(r), text(s), Cell::Int(*n), Cell::Real(*p)]
                })
                .collect(),
        )
    }

    #[test]
    fn breaches_are_judged_against_the_slo_of_their_verb_and_scope() {
        let ctx = ctx_hour();
        let out = evaluate(
            &ctx,
            &groups(&[
                ("list", "pods", "cluster", 500, 41_300.0),
                ("list", "pods", "namespace", 500, 7_000.0),
                ("list", "configmaps", "namespace", 500, 4_000.0),
                ("update", "leases", "resource", 50_000, 1_200.0),
                ("get", "pods", "resource", 5_000, 900.0),
                ("create", "pods", "resource", 10, 9_000.0),
            ]),
            &clients(&[
                ("pod-inventory", "list", "pods", "cluster", 450, 45_000.0),
                ("kubectl", "list", "pods", "cluster", 50, 2_000.0),
            ]),
            &no_sli(),
        )
        .expect("evaluates");
        let titles: Vec<&str> = out.findings.iter().map(|f| f.title.as_str()).collect();
        assert_eq!(
            titles,
            vec![
                "P99 of list pods (cluster) is 41.3 s, above the 30 s SLO",
                "P99 of list pods (namespace) is 7.0 s, above the 5 s SLO",
                "P99 of update leases (resource) is 1.2 s, above the 1 s SLO",
            ]
        );
        assert!(out.findings.iter().all(|f| f.severity == Severity::Warning));
        let table = out.findings[0].evidence.table.as_ref().expect("clients");
        assert_eq!(table.rows[0][0], "pod-inventory");
        assert_eq!(out.findings[1].thresholds[0].name, "p99_namespace_list_seconds");
        assert_eq!(out.findings[1].thresholds[1].name, "min_requests");
        // The overview lists every judged group, worst ratio first; too-small groups are out.
        let p99 = out.overview.p99_table.expect("table");
        assert_eq!(p99.rows.len(), 5);
        assert_eq!(p99.rows[0][..3], ["list", "pods", "namespace"]);
        assert!(!p99.rows.iter().any(|r| r[0] == "create"));
    }

    fn sli(rows: &[(&str, &str, &str, i64, f64)]) -> ResultTable {
        let mut t = groups(rows);
        t.columns[4] = "SliP99Ms".to_owned();
        t
    }

    /// On-call review 52, item 5: a breach whose slow requests' time was all in a failing
    /// webhook was a warning "P99 of create pods is 10.0 s, above the 1 s SLO" that blamed the
    /// controllers sending them; the SLO leaves webhook and APF time out. Without it the P99 is
    /// within the SLO: the finding says so and is informational. A breach still above the SLO
    /// without that time stays a warning and gives the figure; one of no webhook time is as it
    /// was.
    #[test]
    fn a_breach_of_webhook_time_is_said_to_be_the_webhooks() {
        let out = evaluate(
            &ctx_hour(),
            &groups(&[
                ("create", "pods", "resource", 500, 10_000.0),
                ("list", "pods", "cluster", 500, 60_000.0),
                ("update", "leases", "resource", 500, 1_500.0),
            ]),
            &clients(&[("kube-controller-manager", "create", "pods", "resource", 450, 10_000.0)]),
            &sli(&[
                ("create", "pods", "resource", 500, 12.0),
                ("list", "pods", "cluster", 500, 40_000.0),
                ("update", "leases", "resource", 500, 1_480.0),
            ]),
        )
        .expect("evaluates");
        let f = &out.findings[0];
        assert_eq!(
            f.title,
            "P99 of create pods (resource) is 10.0 s, but 12 ms without admission webhook and APF queue time: \
             within the 1 s SLO, which leaves that time out"
        );
        assert_eq!(f.severity, Severity::Info);
        assert!(
            f.summary
                .contains("the P99 is 12 ms, within the SLO: these requests were slow waiting on admission"),
            "{}",
            f.summary
        );
        let m = f.evidence.measures.iter().find(|m| m.label.contains("without webhook")).expect("measure");
        assert_eq!(m.value, 12.0);
        let q = f.evidence.query.as_deref().expect("query");
        assert!(q.contains("SliP99Ms = percentile(sli, 99)"), "{q}");
        assert!(q.contains(r#"Annotations["apiserver.latency.k8s.io/apf-queue-wait"]"#), "{q}");

        let list = &out.findings[1];
        assert_eq!(list.title, "P99 of list pods (cluster) is 60.0 s, above the 30 s SLO");
        assert_eq!(list.severity, Severity::Warning);
        assert!(list.summary.ends_with("the P99 is 40.0 s: still above it."), "{}", list.summary);

        // 1.48 s of 1.5 s: not worth a word.
        let leases = &out.findings[2];
        assert_eq!(leases.severity, Severity::Warning);
        assert!(!leases.summary.contains("APF queues"), "{}", leases.summary);
        assert_eq!(leases.evidence.measures.len(), 3);

        let status: Vec<&str> =
            out.overview.p99_table.as_ref().expect("table").rows.iter().map(|r| r[6].as_str()).collect();
        assert_eq!(status, ["ok without webhook/APF time", "over SLO", "over SLO"]);
    }

    /// Review s53b, item 3: a P99 of 1.04 s, 995 ms without APF queue time, was over 95% of
    /// the P99 and so not said, and the breach of the 1 s SLO stayed a warning; within the SLO
    /// without that time, it is said and informational, however close.
    #[test]
    fn a_p99_within_the_slo_without_queue_time_was_not_said_when_close_to_the_p99() {
        let out = evaluate(
            &ctx_hour(),
            &groups(&[("get", "secrets", "resource", 100, 1_040.0)]),
            &clients(&[]),
            &sli(&[("get", "secrets", "resource", 100, 995.0)]),
        )
        .expect("evaluates");
        let f = &out.findings[0];
        assert_eq!(f.severity, Severity::Info, "{}", f.title);
        assert_eq!(
            f.title,
            "P99 of get secrets (resource) is 1.04 s, but 995 ms without admission webhook and APF queue time: \
             within the 1 s SLO, which leaves that time out"
        );
    }

    /// Docs review 51, item 1.1: a namespace-scope LIST of 10 s was "above the 5 s warning
    /// level (SLO 30 s)", read as within the SLO; SIG-scalability's SLO for `scope=namespace`
    /// is 5 s. Above it is a warning, as above the 1 s and 30 s SLOs, however far above.
    #[test]
    fn namespace_list_slo_is_five_seconds_as_sig_scalability_publishes() {
        let ctx = ctx_hour();
        let out = evaluate(
            &ctx,
            &groups(&[
                ("list", "pods", "namespace", 40, 10_000.0),
                ("list", "jobs.batch", "namespace", 40, 45_000.0),
                ("list", "configmaps", "namespace", 40, 5_000.0),
            ]),
            &clients(&[]),
            &no_sli(),
        )
        .expect("evaluates");
        let titles: Vec<&str> = out.findings.iter().map(|f| f.title.as_str()).collect();
        assert_eq!(
            titles,
            vec![
                "P99 of list pods (namespace) is 10.0 s, above the 5 s SLO",
                "P99 of list jobs.batch (namespace) is 45.0 s, above the 5 s SLO",
            ]
        );
        assert!(out.findings.iter().all(|f| f.severity == Severity::Warning));
        let slo = &out.findings[0].thresholds[0];
        assert_eq!((slo.name.as_str(), slo.value), ("p99_namespace_list_seconds", 5.0));
        assert_eq!(slo.source, "SIG-scalability API call latency SLO");
        let p99 = out.overview.p99_table.expect("table");
        let ok = p99.rows.iter().find(|r| r[1] == "configmaps").expect("row");
        assert_eq!(ok[5..], ["5 s", "ok"]);
        assert!(INFO.doc.contains("| `list` | `namespace` | ≤ `p99_namespace_list_seconds` (5 s) |"));
        assert!(!INFO.doc.contains("namespace_list_warning"), "{}", INFO.doc);
    }

    /// Docs review 51, item 1.1: AUD003 held `deletecollection` to the LIST SLOs while MET001
    /// said no SLO covers it. It is neither a call for one object nor a read: not judged.
    #[test]
    fn deletecollection_is_judged_by_no_slo_as_in_met001() {
        let ctx = ctx_hour();
        let out = evaluate(
            &ctx,
            &groups(&[
                ("deletecollection", "pods", "namespace", 500, 40_000.0),
                ("deletecollection", "pods", "cluster", 500, 40_000.0),
            ]),
            &clients(&[]),
            &no_sli(),
        )
        .expect("evaluates");
        assert!(out.findings.is_empty(), "{:?}", out.findings);
        assert!(out.overview.p99_table.is_none());
        assert!(slo(&ctx, "deletecollection", "namespace").is_none());
    }

    /// Review 48, item 5: aggregated, virtual and custom resources were "above the 1 s SLO",
    /// which excludes them.
    #[test]
    fn resources_the_slo_does_not_cover_are_not_said_to_breach_it() {
        let ctx = ctx_hour();
        let out = evaluate(
            &ctx,
            &groups(&[
                ("get", "pods.metrics.k8s.io", "resource", 100, 3_000.0),
                ("create", "tokenreviews.authentication.k8s.io", "resource", 100, 2_000.0),
                ("list", "widgets.example.com", "namespace", 100, 6_000.0),
                ("get", "jobs.batch", "resource", 100, 1_500.0),
                ("get", "pods/log", "resource", 100, 100.0),
            ]),
            &clients(&[]),
            &no_sli(),
        )
        .expect("evaluates");
        let titles: Vec<&str> = out.findings.iter().map(|f| f.title.as_str()).collect();
        assert_eq!(
            titles,
            vec![
                "P99 of get pods.metrics.k8s.io (resource) is 3.0 s, above 1 s (not covered by the SLO: aggregated resource)",
                "P99 of create tokenreviews.authentication.k8s.io (resource) is 2.0 s, above 1 s (not covered by the SLO: virtual resource)",
                "P99 of list widgets.example.com (namespace) is 6.0 s, above 5 s (not covered by the SLO: custom resource)",
                "P99 of get jobs.batch (resource) is 1.5 s, above the 1 s SLO",
            ]
        );
        assert!(out.findings.iter().all(|f| f.severity <= Severity::Warning));
        assert!(out.findings[0].summary.contains("metrics-server"), "{}", out.findings[0].summary);
        let p99 = out.overview.p99_table.expect("table");
        let metrics = p99.rows.iter().find(|r| r[1] == "pods.metrics.k8s.io").expect("row");
        assert_eq!(metrics[5..], ["none (aggregated resource)", "over (no SLO)"]);
        assert_eq!(not_covered("deployments.apps/scale"), None);
        assert_eq!(not_covered("pods"), None);
        assert_eq!(not_covered("subjectaccessreviews.authorization.k8s.io"), Some(NotCovered::Virtual));
        assert_eq!(not_covered("certificates.cert-manager.io/status"), Some(NotCovered::Custom));
    }

    /// Custom resources in groups that end in `k8s.io` (Gateway API's
    /// `gateway.networking.k8s.io`, the CSI snapshotter's `snapshot.storage.k8s.io`, Cluster
    /// API's `cluster.x-k8s.io`) were taken for built-in types and called breaches of the SLO,
    /// which excludes custom resources.
    #[test]
    fn aud003_held_custom_resources_in_k8s_io_groups_to_the_api_server_slo() {
        let ctx = ctx_hour();
        let out = evaluate(
            &ctx,
            &groups(&[
                ("list", "httproutes.gateway.networking.k8s.io", "namespace", 100, 6_000.0),
                ("get", "volumesnapshots.snapshot.storage.k8s.io", "resource", 100, 2_000.0),
                ("get", "machines.cluster.x-k8s.io/status", "resource", 100, 2_000.0),
                ("get", "leases.coordination.k8s.io", "resource", 100, 2_000.0),
            ]),
            &clients(&[]),
            &no_sli(),
        )
        .expect("evaluates");
        let titles: Vec<&str> = out.findings.iter().map(|f| f.title.as_str()).collect();
        assert_eq!(
            titles,
            vec![
                "P99 of list httproutes.gateway.networking.k8s.io (namespace) is 6.0 s, above 5 s (not covered by the SLO: custom resource)",
                "P99 of get volumesnapshots.snapshot.storage.k8s.io (resource) is 2.0 s, above 1 s (not covered by the SLO: custom resource)",
                "P99 of get machines.cluster.x-k8s.io/status (resource) is 2.0 s, above 1 s (not covered by the SLO: custom resource)",
                "P99 of get leases.coordination.k8s.io (resource) is 2.0 s, above the 1 s SLO",
            ]
        );
        for built_in in [
            "endpointslices.discovery.k8s.io",
            "leases.coordination.k8s.io",
            "ingresses.extensions",
            "events",
        ] {
            assert_eq!(not_covered(built_in), None, "{built_in}");
        }
        assert_eq!(not_covered("gatewayclasses.gateway.networking.k8s.io"), Some(NotCovered::Custom));
    }

    #[test]
    fn within_slo_nothing_is_flagged() {
        let ctx = ctx_hour();
        let out = evaluate(
            &ctx,
            &groups(&[("list", "pods", "cluster", 500, 2_000.0), ("get", "nodes", "resource", 500, 50.0)]),
            &clients(&[]),
            &no_sli(),
        )
        .expect("evaluates");
        assert!(out.findings.is_empty());
        assert_eq!(out.overview.p99_table.expect("table").rows.len(), 2);
    }

    /// Answers the group query with `groups` and records every query it is asked.
    struct Scripted {
        groups: ResultTable,
        asked: std::sync::Mutex<Vec<String>>,
    }

    impl QueryRunner for Scripted {
        fn run(&self, kql: &str) -> Result<ResultTable, String> {
            self.asked.lock().expect("not poisoned").push(kql.to_owned());
            if kql.contains("by Client") {
                Ok(clients(&[("pod-inventory", "list", "pods", "cluster", 450, 45_000.0)]))
            } else if kql.contains("SliP99Ms") {
                Err("no annotations here".to_owned())
            } else {
                Ok(self.groups.clone())
            }
        }
    }

    #[test]
    fn per_client_p99_is_asked_only_for_the_breached_groups() {
        let ctx = ctx_hour();
        let runner = Scripted {
            groups: groups(&[
                ("list", "pods", "cluster", 500, 41_300.0),
                ("get", "pods", "resource", 5_000, 90.0),
            ]),
            asked: Default::default(),
        };
        let out = run_check(&ctx, &runner).expect("runs");
        assert_eq!(out.findings.len(), 1);
        // The query of the P99s without webhook and APF time failed: the breach is still said.
        assert_eq!(out.findings[0].severity, Severity::Warning);
        assert!(
            out.findings[0].summary.ends_with(
                "(Its P99 without admission webhook and APF queue time could not be computed: query failed: no annotations here.)"
            ),
            "{}",
            out.findings[0].summary
        );
        let asked = runner.asked.lock().expect("not poisoned");
        assert_eq!(asked.len(), 3);
        assert!(
            asked[2].contains(r#"| where (Verb == "list" and Resource == "pods" and Scope == "cluster")"#),
            "{}",
            asked[2]
        );
        assert!(asked[2].contains("by Verb, Resource, Scope"), "{}", asked[2]);
        assert!(
            asked[1].contains(r#"| where (Verb == "list" and Resource == "pods" and Scope == "cluster")"#),
            "{}",
            asked[1]
        );
        assert!(!asked[1].contains(r#"Verb == "get""#), "{}", asked[1]);
        assert!(asked[1].contains("\n| where Verb in (\"list\")\n| extend Client"), "{}", asked[1]);

        let healthy = Scripted {
            groups: groups(&[("get", "pods", "resource", 5_000, 90.0)]),
            asked: Default::default(),
        };
        let out = run_check(&ctx, &healthy).expect("runs");
        assert!(out.findings.is_empty());
        assert_eq!(
            healthy.asked.lock().expect("not poisoned").len(),
            1,
            "no per-client query when nothing breaches"
        );
    }
}
