//! MET001 request-latency-slo: P99 request latency per verb, resource and scope against the SLOs.

use findings::{
    CheckInfo, EvidenceKind, Finding, Measure, RemedyKind, Safety, Severity, Subject, Thresholds,
    threshold_names as n,
};

use super::{Draft, format_count, format_seconds, remedy, watch, window_phrase};

use crate::MetricsEvidence;
use crate::apiserver::SliLatency;

/// MET001.
pub const INFO: CheckInfo = CheckInfo {
    code: "MET001",
    name: "request-latency-slo",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::ApiserverMetrics,
    thresholds: &[
        n::LATENCY_MIN_OBSERVATIONS,
        n::P99_CLUSTER_LIST_SECONDS,
        n::P99_NAMESPACE_LIST_SECONDS,
        n::P99_MUTATING_SECONDS,
    ],
    doc: r#"## What it detects
Kinds of API request (verb, resource, scope) whose P99 latency, computed as Prometheus'
`histogram_quantile(0.99, …)` does, is above the Kubernetes API call latency SLO
SIG-scalability publishes: 1 s for mutating calls and single-object reads, 5 s for
namespace-scope LISTs, 30 s for cluster-scope LISTs. A P99 above its SLO is a warning,
whatever the scope. The design table (DESIGN.md, "Thresholds") gave namespace-scope LISTs a
5 s warning and a 30 s SLO (and this check a 30 s critical level); the published SLO text is
the authority, and the table was corrected: 5 s is the SLO, and there is no second level.
WATCH, CONNECT and the long-running subresources (exec, attach, portforward, proxy, log) are
excluded, as in clusterloader2; so is DELETECOLLECTION, which no SLO covers (the 1 s one is
for calls on single objects, the LIST ones for reads; AUD003 leaves it out too). With two
scrapes the P99 covers only the requests between them; with one, everything since the API
server started.

The SLO is defined on `apiserver_request_sli_duration_seconds` (1.26+;
`apiserver_request_slo_duration_seconds` in 1.23–1.27), which leaves out the time spent in
admission webhooks and APF queues. When the scrape has it, the SLO is judged on it; a request
kind slow only with that time (`apiserver_request_duration_seconds`) is reported as
information that says where the time went (MET008, MET007). Without it, the finding is
judged on `apiserver_request_duration_seconds` and says that it includes webhook and queue
time.

## Why it matters
Controllers and kubectl time out, retry and pile more load on a slow API server. A slow
LIST of a large resource is the most common cause of an API server that times out.

## Example
`LIST pods (cluster)`: P99 ≈42 s over 3,120 requests, above the 30 s SLO.

## Remedy
Find the clients that send these requests: the finding prints the
`apiserver-doctor query --input "$AUDIT_LOGS" '…'` that names them from the audit log, after
an `AUDIT_LOGS=…` line to fill in with where the audit log is (audit verbs: POST is
`create`, PUT `update`, PATCH `patch`, DELETE `delete` or `deletecollection`; subresources
only when the metric row has one). Make LIST clients
paginate (`limit`/`continue`) and read from the watch cache (`resourceVersion="0"`); for
writes look first at webhooks, APF queues and etcd (MET008, MET007, MET011). A client that
cannot be fixed can be throttled with API Priority and Fairness (`apiserver-doctor diagnose`
over the audit log writes the FlowSchema and PriorityLevelConfiguration for its top
offender).

## References
- SIG-scalability API call latency SLO: https://github.com/kubernetes/community/blob/master/sig-scalability/slos/api_call_latency.md
- kubernetes-mixin API server latency alerts.
"#,
};

/// The mutating verbs the 1 s SLO covers: calls for single objects. DELETECOLLECTION is not one
/// (the namespace controller sends one per resource when a namespace is deleted, and with many
/// objects it takes seconds) and no SLO covers it: it is not judged (review s47: "above the 1 s
/// SLO").
const MUTATING: &[&str] = &["POST", "PUT", "PATCH", "DELETE", "APPLY"];

/// The audit-log verbs (`verb` of an audit event) of a metric's `verb` label: the metric
/// names HTTP methods (`POST`), the audit log the Kubernetes verbs (`create`). A `GET` of a
/// collection is counted as `LIST` by the metric; `DELETE` covers `deletecollection` in
/// versions that do not split it.
pub(crate) fn audit_verbs(metric_verb: &str, scope: &str) -> Vec<&'static str> {
    match metric_verb {
        "POST" => vec!["create"],
        "PUT" => vec!["update"],
        "PATCH" | "APPLY" => vec!["patch"],
        "DELETE" => vec!["delete", "deletecollection"],
        "DELETECOLLECTION" => vec!["deletecollection"],
        "GET" if scope == "resource" => vec!["get"],
        "GET" => vec!["get", "list"],
        "LIST" => vec!["list"],
        "WATCH" | "WATCHLIST" => vec!["watch"],
        _ => vec![],
    }
}

/// `jobs.batch/status` → (`jobs`, `batch`, `status`). Plural resource names have no dot, so
/// the first dot separates the group.
fn split_resource(qualified: &str) -> (&str, &str, &str) {
    let (name, subresource) = qualified.split_once('/').unwrap_or((qualified, ""));
    let (resource, group) = name.split_once('.').unwrap_or((name, ""));
    (resource, group, subresource)
}

/// A KQL string literal.
fn kql_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The KQL over the audit log that names the clients sending this kind of request: its audit
/// verbs, resource, API group, subresource (none unless the metric row has one) and, for a
/// LIST, its scope.
pub(crate) fn clients_query(verb: &str, qualified_resource: &str, scope: &str) -> String {
    let (resource, group, subresource) = split_resource(qualified_resource);
    let verbs = audit_verbs(verb, scope);
    let mut conditions = vec![match verbs.as_slice() {
        [one] => format!("verb == {}", kql_string(one)),
        many => format!("verb in ({})", many.iter().map(|v| kql_string(v)).collect::<Vec<_>>().join(", ")),
    }];
    conditions.push(format!("objectRef.resource == {}", kql_string(resource)));
    conditions.push(if group.is_empty() {
        "isempty(objectRef.apiGroup)".to_owned()
    } else {
        format!("objectRef.apiGroup == {}", kql_string(group))
    });
    conditions.push(if subresource.is_empty() {
        "isempty(objectRef.subresource)".to_owned()
    } else {
        format!("objectRef.subresource == {}", kql_string(subresource))
    });
    if verb == "LIST" || verb == "DELETECOLLECTION" {
        match scope {
            "cluster" => conditions.push("isempty(objectRef.namespace)".to_owned()),
            "namespace" => conditions.push("isnotempty(objectRef.namespace)".to_owned()),
            _ => {}
        }
    }
    format!(
        "KubeAudit | where {} | summarize count() by userAgent, user.username | top 10 by count_",
        conditions.join(" and ")
    )
}

/// What a command over the audit log starts with: `AUDIT_LOGS` set, with what to fill in, as
/// the etcd commands' `ENDPOINT=…` ([`super::remedies`]' `FILL_IN`). Docs review 51: it was
/// only named in a comment, and pasted as printed the query read `--input ""`.
const AUDIT_LOGS_FILL_IN: &str = "# Fill in first: the API server's audit log, one file or a directory of them (for several\n\
# paths repeat --input); the path below is the directory the Kubernetes auditing docs give\n\
# --audit-log-path on a control-plane node:\n\
AUDIT_LOGS=/var/log/kubernetes/audit\n";

/// The command that runs `kql` over the audit logs, after the line that sets `AUDIT_LOGS` to
/// fill in: valid shell as it stands.
pub(crate) fn query_command(kql: &str) -> String {
    format!(
        "{AUDIT_LOGS_FILL_IN}apiserver-doctor query --input \"$AUDIT_LOGS\" '{}'",
        kql.replace('\'', "'\\''")
    )
}

/// Where a P99 lies, for the summary: its bucket and what the interpolated value is.
fn bucket_sentence(metric: &str, p99: f64, bucket: Option<(f64, f64)>) -> String {
    match bucket {
        // Bounds as Prometheus writes `le` (`10`, `0.5`): f64's own display.
        Some((lower, upper)) if upper.is_finite() => format!(
            " The P99 lies in the ({lower}, {upper}] s bucket of {metric}; {} is histogram_quantile's linear \
             interpolation within it, not a measured request.",
            format_seconds(p99)
        ),
        Some((lower, _)) => format!(
            " The P99 of {metric} lies above {lower} s, the histogram's largest finite bucket, which bounds it no further."
        ),
        None => String::new(),
    }
}

/// `≈1.38 s`, or `> 60 s` when the P99 lies in the `+Inf` bucket: the histogram bounds it no
/// further, so no interpolated value is given, as MET008 and ETC003 do (review of the metrics
/// command, item 5: "P99 latency ≈60.00 s" for 110 of 200 requests above 60 s).
fn p99_words(p99: f64, bucket: Option<(f64, f64)>) -> String {
    match bucket {
        Some((lower, upper)) if upper.is_infinite() => format!("> {lower} s"),
        _ => format!("≈{}", format_seconds(p99)),
    }
}

/// The SLI histogram's P99 as [`p99_words`] gives it, capped at `total`'s as [`sli_bucket_sentence`] says.
fn sli_words(s: &SliLatency, total: f64) -> String {
    if s.p99.unbounded() && s.p99.lower <= total {
        format!("> {} s", s.p99.lower)
    } else {
        format!("≈{}", format_seconds(s.p99.interpolated.min(total)))
    }
}

/// [`bucket_sentence`] of the SLI histogram's P99, and when its interpolation says more than
/// `total` (the P99 with webhooks and APF queues, which it cannot exceed), that it is shown
/// capped there.
fn sli_bucket_sentence(s: &SliLatency, total: f64) -> String {
    let sentence = bucket_sentence(&s.metric, s.p99.interpolated, Some((s.p99.lower, s.p99.upper)));
    if s.p99.interpolated <= total {
        return sentence;
    }
    format!(
        "{sentence} That is more than the P99 with webhooks and APF queues ({}), which the SLI cannot exceed (it \
         leaves time out of each request): its buckets are coarser, so it is shown as {}.",
        format_seconds(total),
        format_seconds(total)
    )
}

/// The SLO a kind of request is judged against, by its metric verb and scope, if one covers it
/// (docs review 51, item 1.1: namespace-scope LISTs had a 5 s warning and a 30 s critical
/// level; SIG-scalability's SLO for them is 5 s, and above an SLO is a warning, as for the
/// other scopes).
fn slo(verb: &str, scope: &str) -> Option<&'static str> {
    match (verb, scope) {
        ("LIST", "cluster") => Some(n::P99_CLUSTER_LIST_SECONDS),
        ("LIST", _) => Some(n::P99_NAMESPACE_LIST_SECONDS),
        ("GET", _) => Some(n::P99_MUTATING_SECONDS),
        (verb, _) if MUTATING.contains(&verb) => Some(n::P99_MUTATING_SECONDS),
        _ => None,
    }
}

/// Runs MET001.
pub fn run(ev: &MetricsEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    let min_observations = t.value(n::LATENCY_MIN_OBSERVATIONS);
    for api in &ev.apiservers {
        for l in &api.latency {
            if l.count < min_observations {
                continue;
            }
            let Some(slo_name) = slo(&l.verb, &l.scope) else { continue };
            let slo = t.value(slo_name);
            // The SLO is defined on the SLI histogram (no webhook or APF queue time): judged
            // on it when the scrape has it with enough requests.
            let sli = l.sli.as_ref().filter(|s| s.count >= min_observations);
            // Why the SLO is not judged on the SLI histogram: the scrape has none, or too few
            // of these requests in it (review of the metrics command, item 6: a scrape with the
            // histogram was said not to give it).
            let no_sli = match &l.sli {
                Some(s) => format!(
                    "; this scrape gives `{}`, but with {} of these requests, fewer than the {} a P99 needs \
                     (latency_min_observations), so it is not used",
                    s.metric,
                    format_count(s.count),
                    format_count(min_observations)
                ),
                None => ", which this scrape does not give".to_owned(),
            };
            let total_words = p99_words(l.p99_seconds, l.p99_bucket);
            // The SLI leaves time out of each request, so its P99 is at most the total's; the
            // interpolation in its coarser buckets (the first ends at 0.05 s) can say more (a
            // SLI P99 of 50 ms shown above a total of 24 ms: review s40, item 6). Capped there.
            let sli_p99 = |s: &SliLatency| s.p99.interpolated.min(l.p99_seconds);
            let judged = sli.map_or(l.p99_seconds, sli_p99);
            if l.p99_seconds <= slo && judged <= slo {
                continue;
            }
            let subject = format!("{} {} ({})", l.verb, l.resource, l.scope);
            let severity = if judged <= slo { Severity::Info } else { Severity::Warning };
            let above = format!("the {} SLO", format_seconds(slo));
            let thresholds = vec![slo_name];
            let (title, judgement) = match (sli, severity) {
                (Some(s), Severity::Info) => (
                    format!(
                        "{subject}: P99 {total_words} with webhooks and APF queues, {} without them, within the {} SLO",
                        sli_words(s, l.p99_seconds),
                        format_seconds(slo)
                    ),
                    format!(
                        " Without the time spent in admission webhooks and APF queues (`{}`, on which the SLO is \
                         defined) the P99 is about {}, within the {} SLO: the rest is spent waiting for webhooks \
                         (MET008) or in APF queues (MET007).{}",
                        s.metric,
                        format_seconds(sli_p99(s)),
                        format_seconds(slo),
                        sli_bucket_sentence(s, l.p99_seconds)
                    ),
                ),
                (Some(s), _) => (
                    format!(
                        "{subject}: P99 latency {} without webhooks and APF queues is above {above}",
                        sli_words(s, l.p99_seconds)
                    ),
                    format!(
                        " Without the time spent in admission webhooks and APF queues (`{}`, on which the SLO is \
                         defined) the P99 is {}, above {above}.{}",
                        s.metric,
                        if s.p99.unbounded() && s.p99.lower <= l.p99_seconds {
                            format!("above {} s", s.p99.lower)
                        } else {
                            format!("about {}", format_seconds(sli_p99(s)))
                        },
                        sli_bucket_sentence(s, l.p99_seconds)
                    ),
                ),
                (None, _) => (
                    format!("{subject}: P99 latency {total_words} is above {above}"),
                    format!(
                        " That is above {above} for this kind of request. It includes the time spent in admission \
                         webhooks and APF queues, which the SLO leaves out (the SLO is defined on \
                         apiserver_request_sli_duration_seconds, 1.26+{no_sli}): a slow webhook (MET008) or a long \
                         queue wait (MET007) shows here too."
                    ),
                ),
            };
            // No interpolation in the `+Inf` bucket: its lower bound is all the histogram shows.
            let unbounded = l.p99_bucket.is_some_and(|(_, upper)| upper.is_infinite());
            let mut measures = Vec::new();
            if !unbounded {
                measures.push(Measure::new(
                    "P99 latency (linear interpolation, as histogram_quantile)",
                    l.p99_seconds,
                    "s",
                ));
            }
            if let Some((lower, upper)) = l.p99_bucket {
                measures.push(Measure::new("P99 above (its bucket's lower bound)", lower, "s"));
                if upper.is_finite() {
                    measures.push(Measure::new("P99 at most (its bucket's upper bound)", upper, "s"));
                }
            }
            measures.push(Measure::new("requests", l.count, "count"));
            if let Some(s) = sli {
                if !(s.p99.unbounded() && s.p99.lower <= l.p99_seconds) {
                    measures.push(Measure::new(
                        "SLI P99, without webhooks and APF queues (linear interpolation)",
                        sli_p99(s),
                        "s",
                    ));
                }
                measures.push(Measure::new("SLI P99 above (its bucket's lower bound)", s.p99.lower, "s"));
                if !s.p99.unbounded() {
                    measures.push(Measure::new(
                        "SLI P99 at most (its bucket's upper bound)",
                        s.p99.upper,
                        "s",
                    ));
                }
            }
            let advice = if l.verb == "LIST" {
                remedy(
                    "Make the client paginate and read from the watch cache, or throttle it",
                    RemedyKind::Advice,
                    Safety::Safe,
                    "LISTs should use `limit` and `continue`, and `resourceVersion=\"0\"` where stale reads are acceptable (informers do this). A client that cannot be fixed can be throttled with API Priority and Fairness: `apiserver-doctor diagnose` over the audit log names the client and writes the FlowSchema for it.",
                )
            } else if l.verb == "GET" {
                remedy(
                    "Find where the time goes: APF queues, etcd, object size",
                    RemedyKind::Advice,
                    Safety::Safe,
                    "A single-object read waits in APF queues (MET007, MET010), and for etcd when it asks for the latest version (MET011); a large object takes long to serialize. Look at those findings first. A client that sends too many requests can be throttled with API Priority and Fairness: `apiserver-doctor diagnose` over the audit log names the client and writes the FlowSchema for it.",
                )
            } else {
                remedy(
                    "Find where the time goes: admission webhooks, APF queues, etcd",
                    RemedyKind::Advice,
                    Safety::Safe,
                    "A write waits for every admission webhook that matches it (MET008, MET009: a webhook that times out adds its whole timeoutSeconds), for APF queues (MET007, MET010) and for etcd (MET011). Look at those findings first: narrow a slow webhook's rules and lower its timeoutSeconds. A client that sends too many writes can be throttled with API Priority and Fairness: `apiserver-doctor diagnose` over the audit log names the client and writes the FlowSchema for it.",
                )
            };
            let (resource, group, subresource) = split_resource(&l.resource);
            let q = findings::text::double_quoted_literal;
            let metric = sli.map_or("apiserver_request_duration_seconds", |s| s.metric.as_str());
            out.push(
                Draft {
                    severity,
                    title,
                    subject: Subject::new("resource", subject.clone()),
                    summary: format!(
                        "The API server answered {} {} requests {} with a P99 latency {} \
                         (apiserver_request_duration_seconds).{judgement}{}",
                        format_count(l.count),
                        subject,
                        window_phrase(api.window_seconds),
                        match l.p99_bucket {
                            Some((lower, upper)) if upper.is_infinite() => format!("above {lower} s"),
                            _ => format!("of about {}", format_seconds(l.p99_seconds)),
                        },
                        if sli.is_some() && severity != Severity::Info {
                            String::new()
                        } else {
                            bucket_sentence("apiserver_request_duration_seconds", l.p99_seconds, l.p99_bucket)
                        },
                    ),
                    source: format!("metrics:{}", api.source),
                    measures,
                    table: None,
                    thresholds,
                    remedies: vec![
                        remedy(
                            "Name the clients that send these requests",
                            RemedyKind::Command,
                            Safety::Safe,
                            query_command(&clients_query(&l.verb, &l.resource, &l.scope)),
                        ),
                        advice,
                        watch(&format!(
                            "histogram_quantile(0.99, sum by (le) (rate({metric}_bucket{{verb={},group={},resource={},subresource={},scope={}}}[5m])))",
                            q(&l.verb), q(group), q(resource), q(subresource), q(&l.scope)
                        )),
                    ],
                }
                .into_finding(&INFO, t),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::RequestLatency;
    use crate::test_support::apiserver;

    fn latency(verb: &str, scope: &str, p99: f64) -> RequestLatency {
        RequestLatency {
            verb: verb.into(),
            resource: "pods".into(),
            scope: scope.into(),
            count: 500.0,
            p99_seconds: p99,
            p99_bucket: None,
            sli: None,
        }
    }

    /// Review of issue 5: MET001 stated "P99 latency 14.95 s" for webhook-bound creates whose
    /// every call ended at the 10 s timeout: histogram_quantile's interpolation in the (10, 15]
    /// bucket, read as a measurement beside the audit log's 10.0 s.
    #[test]
    fn the_p99_says_it_is_interpolated_and_names_its_bucket() {
        let one = |l: RequestLatency| {
            let mut api = apiserver();
            api.latency = vec![l];
            let mut out = Vec::new();
            run(
                &MetricsEvidence { apiservers: vec![api], ..Default::default() },
                &Thresholds::default(),
                &mut out,
            );
            out
        };
        let mut l = latency("POST", "resource", 14.95);
        l.p99_bucket = Some((10.0, 15.0));
        let out = one(l);
        let f = &out[0];
        assert!(f.title.contains("P99 latency ≈14.95 s"), "{}", f.title);
        assert!(
            f.summary.contains("The P99 lies in the (10, 15] s bucket of apiserver_request_duration_seconds; 14.95 s is histogram_quantile's linear interpolation within it"),
            "{}",
            f.summary
        );
        let lower = f.evidence.measures.iter().find(|m| m.label == "P99 above (its bucket's lower bound)");
        assert_eq!(lower.map(|m| m.value), Some(10.0));
        let mut l = latency("POST", "resource", 60.0);
        l.p99_bucket = Some((60.0, f64::INFINITY));
        let out = one(l);
        assert!(
            out[0].summary.contains("lies above 60 s, the histogram's largest finite bucket"),
            "{}",
            out[0].summary
        );
    }

    #[test]
    fn flags_each_kind_against_its_own_slo() {
        let mut api = apiserver();
        api.latency = vec![
            latency("LIST", "cluster", 42.0),
            latency("LIST", "namespace", 40.0),
            latency("LIST", "namespace", 6.0),
            latency("LIST", "namespace", 4.0),
            latency("POST", "namespace", 1.5),
            latency("GET", "resource", 0.9),
        ];
        let ev = MetricsEvidence { apiservers: vec![api], ..Default::default() };
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        let got: Vec<(String, Severity)> = out.iter().map(|f| (f.subject.name.clone(), f.severity)).collect();
        assert_eq!(
            got,
            [
                ("LIST pods (cluster)".to_owned(), Severity::Warning),
                ("LIST pods (namespace)".to_owned(), Severity::Warning),
                ("LIST pods (namespace)".to_owned(), Severity::Warning),
                ("POST pods (namespace)".to_owned(), Severity::Warning),
            ]
        );
        assert_eq!(out[0].thresholds[0].name, "p99_cluster_list_seconds");
        assert!(out[0].title.contains("42.00 s"), "{}", out[0].title);
    }

    /// Docs review 51, item 1.1: a namespace-scope LIST of 6 s was "above the 5.00 s warning
    /// threshold (the SLO is 30.00 s)", and one of 40 s critical; SIG-scalability's SLO for
    /// `scope=namespace` is 5 s, and above an SLO is a warning, as for the other scopes.
    #[test]
    fn namespace_list_slo_is_five_seconds_as_sig_scalability_publishes() {
        let mut api = apiserver();
        api.latency = vec![
            latency("LIST", "namespace", 6.0),
            latency("LIST", "namespace", 40.0),
            latency("LIST", "namespace", 5.0),
        ];
        let mut out = Vec::new();
        run(
            &MetricsEvidence { apiservers: vec![api], ..Default::default() },
            &Thresholds::default(),
            &mut out,
        );
        let titles: Vec<&str> = out.iter().map(|f| f.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "LIST pods (namespace): P99 latency ≈6.00 s is above the 5.00 s SLO",
                "LIST pods (namespace): P99 latency ≈40.00 s is above the 5.00 s SLO",
            ]
        );
        assert!(out.iter().all(|f| f.severity == Severity::Warning));
        for f in &out {
            let names: Vec<&str> = f.thresholds.iter().map(|t| t.name.as_str()).collect();
            assert_eq!(names, ["p99_namespace_list_seconds"]);
            assert_eq!(f.thresholds[0].source, "SIG-scalability API call latency SLO");
        }
        assert!(INFO.doc.contains("5 s for\nnamespace-scope LISTs"), "{}", INFO.doc);
        assert!(!INFO.doc.contains("30 s (critical)"), "{}", INFO.doc);
    }

    /// Docs review 51: `apiserver-doctor query --input "$AUDIT_LOGS"` named the variable only
    /// in a comment (`# AUDIT_LOGS: the API server's audit log files…`), so pasted as printed
    /// it ran with an empty input; it is set first now, as the etcd commands set `ENDPOINT`.
    #[test]
    fn met001_query_sets_audit_logs_before_it_uses_it() {
        let mut api = apiserver();
        api.latency = vec![latency("LIST", "cluster", 42.0)];
        let mut out = Vec::new();
        run(
            &MetricsEvidence { apiservers: vec![api], ..Default::default() },
            &Thresholds::default(),
            &mut out,
        );
        let command = out[0].remedies.iter().find(|r| r.kind == RemedyKind::Command).expect("the query");
        assert!(command.body.starts_with("# Fill in first: the API server's audit log"), "{}", command.body);
        assert!(
            command.body.contains(
                "\nAUDIT_LOGS=/var/log/kubernetes/audit\napiserver-doctor query --input \"$AUDIT_LOGS\" '"
            ),
            "{}",
            command.body
        );
        assert_eq!(super::super::remedies::unset_shell_variables(&command.body), Vec::<String>::new());
    }

    /// MET001 and AUD003 agree that no SLO covers DELETECOLLECTION (docs review 51, item 1.1).
    #[test]
    fn deletecollection_is_judged_by_no_slo_as_in_aud003() {
        assert_eq!(slo("DELETECOLLECTION", "namespace"), None);
        assert_eq!(slo("LIST", "namespace"), Some(n::P99_NAMESPACE_LIST_SECONDS));
        assert!(INFO.doc.contains("so is DELETECOLLECTION, which no SLO covers"));
    }
}
