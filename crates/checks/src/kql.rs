//! Pieces of the KQL every audit check writes, so the checks agree on what a request, a client,
//! a latency and a scope are — and so a query in a finding runs unchanged in Log Analytics.

use chrono::{DateTime, SecondsFormat, Utc};
use findings::TimeRange;

pub use crate::client::CLIENT_KQL;

/// A KQL `datetime(…)` literal for `t` (RFC 3339, UTC, only the fractional digits needed).
pub fn datetime_literal(t: DateTime<Utc>) -> String {
    format!("datetime({})", t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// The first lines of a query over every event of the window analysed (all stages): the table
/// and the window, as explicit `datetime(…)` bounds, so the query gives the same numbers
/// whenever and wherever it runs.
pub fn events(table: &str, window: &TimeRange) -> String {
    format!(
        "{table}\n| where TimeGenerated between ({} .. {})",
        datetime_literal(window.start),
        datetime_literal(window.end)
    )
}

/// The first lines of every check's query: the table, the window ([`events`]), and one row per
/// request. A request is logged at up to three stages; only its last (`ResponseComplete`, or
/// `Panic`) is kept, so `RequestReceived` and `ResponseStarted` events do not count it again.
/// Events without a stage (hand-written or converted logs) are kept as requests.
pub fn requests(table: &str, window: &TimeRange) -> String {
    format!("{}\n| where {NOT_EARLY_STAGE}", events(table, window))
}

/// True for the event that stands for a request: its last stage (see [`requests`]).
pub const NOT_EARLY_STAGE: &str = r#"Stage !in ("RequestReceived", "ResponseStarted")"#;

/// A request's latency in milliseconds, as the AKS guide computes it; null when its two times
/// cannot both be right: the response stamped before the request, or more than a day after it
/// (every request this is used on is short-running: the API server times those out after a
/// minute by default). Such times came from a stepped clock or a broken export, and drove
/// P99s of 10,262,019,649 s (review s40, item 3); AUD009 counts them ([`IMPOSSIBLE_LATENCY`]).
/// The difference is written twice, and computed once: the engine eliminates the common
/// subexpression (0.25 s for AUD003's P99 over the 8.7 million demo events, as without the
/// bound; bounding the times themselves cost 0.27 s).
pub const LATENCY_MS: &str = "iff(datetime_diff('millisecond', StageReceivedTime, RequestReceivedTime) between (0 .. 86400000), \
     datetime_diff('millisecond', StageReceivedTime, RequestReceivedTime), long(null))";

/// True for a request whose two times are both present and [`LATENCY_MS`] refuses.
pub const IMPOSSIBLE_LATENCY: &str =
    "isnotnull(StageReceivedTime) and isnotnull(RequestReceivedTime) and isnull(latency)";

/// True for requests that count toward latency SLOs: not watches, not the long-running
/// `exec`, `attach`, `portforward`, `proxy` and `log` subresources.
pub const NOT_LONG_RUNNING: &str = r#"Verb != "watch" and tostring(ObjectRef.subresource) !in ("exec", "attach", "portforward", "proxy", "log")"#;

/// The SLO scope from `ObjectRef`, which the API server fills from the request URI:
/// `resource` (a named object, or a create), `namespace`, `cluster`, or empty for
/// non-resource requests.
pub const SCOPE: &str = r#"case(isempty(tostring(ObjectRef.resource)), "", Verb == "create" or isnotempty(tostring(ObjectRef.name)), "resource", isnotempty(tostring(ObjectRef.namespace)), "namespace", "cluster")"#;

/// `resource` or `resource/subresource`.
pub const RESOURCE: &str = r#"strcat(tostring(ObjectRef.resource), iff(isempty(tostring(ObjectRef.subresource)), "", strcat("/", tostring(ObjectRef.subresource))))"#;

/// The resource as findings show and group it: `resource`, or `resource.group` for one of a
/// named API group (`jobs.batch`, `pods.metrics.k8s.io`: the names kubectl and the API server's
/// metrics use), then `/subresource`. LISTs of `pods.metrics.k8s.io`, which metrics-server
/// answers, are not LISTs of `pods`. ([`RESOURCE`], without the group, is what a FlowSchema's
/// `resources` takes.)
pub const QUALIFIED_RESOURCE: &str = r#"strcat(tostring(ObjectRef.resource), iff(isempty(tostring(ObjectRef.apiGroup)), "", strcat(".", tostring(ObjectRef.apiGroup))), iff(isempty(tostring(ObjectRef.subresource)), "", strcat("/", tostring(ObjectRef.subresource))))"#;

/// The API groups of the resource metrics APIs, which an extension API server (metrics-server, a
/// metrics adapter) serves through the aggregation layer, from memory: their requests touch
/// neither etcd nor the watch cache, and the API call latency SLO does not cover them.
pub const METRICS_API_GROUPS: [&str; 3] =
    ["metrics.k8s.io", "custom.metrics.k8s.io", "external.metrics.k8s.io"];

/// True for a request to one of the [`METRICS_API_GROUPS`].
pub fn in_metrics_apis() -> String {
    let groups: Vec<String> = METRICS_API_GROUPS.iter().map(|g| string_literal(g)).collect();
    format!("tostring(ObjectRef.apiGroup) in ({})", groups.join(", "))
}

/// [`QUALIFIED_RESOURCE`] from three columns holding the resource, its API group and the
/// subresource, for a query that groups by them and names the group afterwards.
pub fn qualified_resource_of(resource: &str, group: &str, subresource: &str) -> String {
    format!(
        r#"strcat({resource}, iff(isempty({group}), "", strcat(".", {group})), iff(isempty({subresource}), "", strcat("/", {subresource})))"#
    )
}

/// [`RESOURCE`] from two columns holding the resource and the subresource, for a query that
/// groups by them and names the group afterwards: building the name once per group instead
/// of once per request. A resource name holds no `/`, so the groups are the same.
pub fn resource_of(resource: &str, subresource: &str) -> String {
    format!(r#"strcat({resource}, iff(isempty({subresource}), "", strcat("/", {subresource})))"#)
}

/// The identity a request is charged to: the impersonated user when there is one (`kubectl
/// --as`, a proxy such as Rancher's or Teleport's acting for its users), else the authenticated
/// user. API Priority and Fairness classifies a request after impersonation (kube-apiserver's
/// handler chain runs `WithImpersonation` before `WithPriorityAndFairness`), so a FlowSchema
/// must name this identity: one naming the impersonator matches none of the requests it sent as
/// others (diagnose review s46, item 1). The impersonated user is the store's
/// `ImpersonatedUser` column, which Azure's `AKSAudit` lacks: there `column_ifexists` gives
/// null, and the query still runs.
pub const USER_NAME: &str = r#"coalesce(tostring(column_ifexists("ImpersonatedUser", dynamic(null)).username), tostring(User.username))"#;

/// The groups (a JSON array) of the identity [`USER_NAME`] names.
pub const USER_GROUPS: &str = r#"iff(isnotempty(tostring(column_ifexists("ImpersonatedUser", dynamic(null)).username)), tostring(column_ifexists("ImpersonatedUser", dynamic(null)).groups), tostring(User.groups))"#;

/// The authenticated user of a request sent impersonating another, empty for every other
/// request.
pub const IMPERSONATOR: &str = r#"iff(isnotempty(tostring(column_ifexists("ImpersonatedUser", dynamic(null)).username)), tostring(User.username), "")"#;

/// The text of the status message of a request an admission webhook failed.
pub const WEBHOOK_FAILURE: &str = "failed calling webhook";

/// The requests per user agent and identity, with how they were answered: the table the top
/// clients and identities (AUD001), the control plane's version and the errors (AUD006) all
/// start from. Written once, the engine counts it once for all four (over millions of events,
/// each count is a second of CPU).
///
/// `ErrorResource` is the resource of a request answered 429, 5xx or 409 (on an update or a
/// patch), empty for every other request: AUD006 names the resources of a client's errors, and
/// the groups stay about one per user agent and identity. Grouped by every request's resource
/// the demo's 7.7 million requests made 50,149 groups instead of 5,043, and the count took 1.7 s
/// of CPU instead of 1.1 s.
pub fn answers_by_agent(ctx: &crate::audit::AuditContext) -> String {
    format!(
        "{}\n| extend Code = toint(ResponseStatus.code), Message = tostring(ResponseStatus.message)\n\
         | summarize Requests = count(), Throttled = countif(Code == 429), \
         ServerErrors = countif(Code >= 500 and Message !contains \"{WEBHOOK_FAILURE}\"), \
         WebhookFailures = countif(Code >= 500 and Message contains \"{WEBHOOK_FAILURE}\"), \
         Writes = countif(Verb in (\"update\", \"patch\")), Reads = countif(Verb in (\"get\", \"list\", \"watch\")), \
         Conflicts = countif(Code == 409 and Verb in (\"update\", \"patch\")) \
         by UserAgent, UserName = {USER_NAME}, \
         ErrorResource = iff(Code == 429 or Code >= 500 or (Code == 409 and Verb in (\"update\", \"patch\")), \
         tostring(ObjectRef.resource), \"\")",
        ctx.requests()
    )
}

/// The KQL function `go_ms(t)`, a `let` statement to put before a query: it turns a Go
/// duration string (`850.2ms`, `1.5s`, `12µs`, `1m2.5s`, as the `apiserver.latency.k8s.io/*`
/// annotations write them) into milliseconds, null when it is not one. Log Analytics runs it
/// as it is; the engine plans each call in place and evaluates the repeated `extract`s once.
pub const GO_MS_FUNCTION: &str = "let go_ms = (t: string) {\n\
    \x20   let unit = extract(@'^[0-9.]+(ms|s|µs|us|ns)$', 1, t);\n\
    \x20   let number = todouble(extract(@'^([0-9.]+)(ms|s|µs|us|ns)$', 1, t));\n\
    \x20   let minutes = todouble(extract(@'^([0-9.]+)m([0-9.]+)s$', 1, t));\n\
    \x20   let seconds = todouble(extract(@'^([0-9.]+)m([0-9.]+)s$', 2, t));\n\
    \x20   coalesce(case(unit == \"ms\", number, unit == \"s\", number * 1000.0, unit == \"µs\" or unit == \"us\", \
    number / 1000.0, unit == \"ns\", number / 1000000.0, real(null)), minutes * 60000.0 + seconds * 1000.0)\n\
    };\n";

/// A Go duration string in milliseconds, the way [`GO_MS_FUNCTION`] reads it in KQL (for tests
/// and for rows that carry the raw annotation).
pub fn parse_go_duration_ms(text: &str) -> Option<f64> {
    let text = text.trim();
    let number = |s: &str| -> Option<f64> {
        if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return None;
        }
        s.parse::<f64>().ok()
    };
    if let Some(v) = text.strip_suffix("ms") {
        return number(v);
    }
    if let Some(v) = text.strip_suffix("µs").or_else(|| text.strip_suffix("us")) {
        return number(v).map(|x| x / 1000.0);
    }
    if let Some(v) = text.strip_suffix("ns") {
        return number(v).map(|x| x / 1_000_000.0);
    }
    let v = text.strip_suffix('s')?;
    if let Some((m, s)) = v.split_once('m') {
        return Some(number(m)? * 60_000.0 + number(s)? * 1000.0);
    }
    number(v).map(|x| x * 1000.0)
}

/// A KQL string literal (double quotes, escapes for `\` and `"`).
pub fn string_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resource_of_two_columns_is_the_per_request_resource() {
        assert_eq!(resource_of("tostring(ObjectRef.resource)", "tostring(ObjectRef.subresource)"), RESOURCE);
        assert_eq!(
            qualified_resource_of(
                "tostring(ObjectRef.resource)",
                "tostring(ObjectRef.apiGroup)",
                "tostring(ObjectRef.subresource)"
            ),
            QUALIFIED_RESOURCE
        );
    }

    #[test]
    fn the_metrics_apis_test_names_each_group_once() {
        assert_eq!(
            in_metrics_apis(),
            r#"tostring(ObjectRef.apiGroup) in ("metrics.k8s.io", "custom.metrics.k8s.io", "external.metrics.k8s.io")"#
        );
    }

    #[test]
    fn go_durations_in_every_unit() {
        assert_eq!(parse_go_duration_ms("850ms"), Some(850.0));
        assert_eq!(parse_go_duration_ms("1.5s"), Some(1500.0));
        assert_eq!(parse_go_duration_ms("12µs"), Some(0.012));
        assert_eq!(parse_go_duration_ms("12us"), Some(0.012));
        assert_eq!(parse_go_duration_ms("250ns"), Some(0.00025));
        assert_eq!(parse_go_duration_ms("1m2.5s"), Some(62_500.0));
        for bad in ["", "s", "ms", "-1s", "1h", "abc", "1.5"] {
            assert_eq!(parse_go_duration_ms(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn literals() {
        let t = DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z").expect("time").with_timezone(&Utc);
        assert_eq!(datetime_literal(t), "datetime(2024-05-01T10:00:00Z)");
        let t =
            DateTime::parse_from_rfc3339("2024-05-01T10:00:00.1234567Z").expect("time").with_timezone(&Utc);
        assert_eq!(datetime_literal(t), "datetime(2024-05-01T10:00:00.123456700Z)");
        assert_eq!(string_literal(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
