//! MET001 request-latency-slo: P99 request latency per verb, resource and scope against the SLOs.

use findings::{
    CheckInfo, EvidenceKind, Finding, Measure, RemedyKind, Safety, Severity, Subject, Thresholds,
    threshold_names as n,
};

use super::{Draft, format_count, format_seconds, remedy, watch, window_phrase};

use crate::MetricsEvidence;

/// MET001.
pub const INFO: CheckInfo = CheckInfo {
    code: "MET001",
    name: "request-latency-slo",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::ApiserverMetrics,
    doc: r#"## What it detects
Kinds of API request (verb, resource, scope) whose P99 latency, computed from
`apiserver_request_duration_seconds` as Prometheus' `histogram_quantile(0.99, …)` does, is
above the Kubernetes API call latency SLO: 1 s for mutating calls and single-object reads,
5 s (warning) and 30 s (critical) for namespace-scope LISTs, 30 s for cluster-scope LISTs.
WATCH, CONNECT and the long-running subresources (exec, attach, portforward, proxy, log) are
excluded, as in clusterloader2. With two scrapes the P99 covers only the requests between
them; with one, everything since the API server started.

## Why it matters
Controllers and kubectl time out, retry and pile more load on a slow API server. A slow
LIST of a large resource is the most common cause of an API server that times out.

## Example
`LIST pods (cluster)`: P99 42 s over 3,120 requests, SLO 30 s.

## Remedy
Find the clients that send these requests (`apiserver-doctor diagnose` on the audit log names
them), make them paginate (`limit`/`continue`) and read from the watch cache
(`resourceVersion="0"`), or throttle them with API Priority and Fairness
(`apiserver-doctor diagnose` over the audit log writes the FlowSchema and
PriorityLevelConfiguration for its top offender).

## References
- SIG-scalability API call latency SLO: https://github.com/kubernetes/community/blob/master/sig-scalability/slos/api_call_latency.md
- kubernetes-mixin API server latency alerts.
"#,
};

const MUTATING: &[&str] = &["POST", "PUT", "PATCH", "DELETE", "DELETECOLLECTION", "APPLY"];

/// Runs MET001.
pub fn run(ev: &MetricsEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    let min_observations = t.value(n::LATENCY_MIN_OBSERVATIONS);
    for api in &ev.apiservers {
        for l in &api.latency {
            if l.count < min_observations {
                continue;
            }
            let (warn, crit, names): (f64, Option<f64>, Vec<&'static str>) = if l.verb == "LIST" {
                match l.scope.as_str() {
                    "cluster" => {
                        (t.value(n::P99_CLUSTER_LIST_SECONDS), None, vec![n::P99_CLUSTER_LIST_SECONDS])
                    }
                    _ => (
                        t.value(n::P99_NAMESPACE_LIST_WARNING_SECONDS),
                        Some(t.value(n::P99_NAMESPACE_LIST_SECONDS)),
                        vec![n::P99_NAMESPACE_LIST_WARNING_SECONDS, n::P99_NAMESPACE_LIST_SECONDS],
                    ),
                }
            } else if l.verb == "GET" || MUTATING.contains(&l.verb.as_str()) {
                (t.value(n::P99_MUTATING_SECONDS), None, vec![n::P99_MUTATING_SECONDS])
            } else {
                continue;
            };
            if l.p99_seconds <= warn {
                continue;
            }
            let severity =
                if crit.is_some_and(|c| l.p99_seconds > c) { Severity::Critical } else { Severity::Warning };
            let slo = crit.unwrap_or(warn);
            let subject = format!("{} {} ({})", l.verb, l.resource, l.scope);
            // histogram_quantile's value is a linear interpolation inside a bucket: say which
            // bucket, so it is not read as a measured latency.
            let bucket = match l.p99_bucket {
                // Bounds as Prometheus writes `le` (`10`, `0.5`): f64's own display.
                Some((lower, upper)) if upper.is_finite() => format!(
                    " The P99 lies in the ({lower}, {upper}] s bucket of apiserver_request_duration_seconds; {} is \
                     histogram_quantile's linear interpolation within it, not a measured request.",
                    format_seconds(l.p99_seconds)
                ),
                Some((lower, _)) => format!(
                    " The P99 lies above {lower} s, the histogram's largest finite bucket, which bounds it no further."
                ),
                None => String::new(),
            };
            out.push(
                Draft {
                    severity,
                    title: format!("{subject}: P99 latency ≈{} is above the {} SLO", format_seconds(l.p99_seconds), format_seconds(slo)),
                    subject: Subject::new("resource", subject.clone()),
                    summary: format!(
                        "The API server answered {} {} requests with a P99 latency of about {} {}. The SLO for this kind of request is {}; clients time out and retry above it.{bucket}",
                        format_count(l.count),
                        subject,
                        format_seconds(l.p99_seconds),
                        window_phrase(api.window_seconds),
                        format_seconds(slo),
                    ),
                    source: format!("metrics:{}", api.source),
                    measures: {
                        let mut m = vec![Measure::new(
                            "P99 latency (linear interpolation, as histogram_quantile)",
                            l.p99_seconds,
                            "s",
                        )];
                        if let Some((lower, upper)) = l.p99_bucket {
                            m.push(Measure::new("P99 above (its bucket's lower bound)", lower, "s"));
                            if upper.is_finite() {
                                m.push(Measure::new("P99 at most (its bucket's upper bound)", upper, "s"));
                            }
                        }
                        m.push(Measure::new("requests", l.count, "count"));
                        m
                    },
                    table: None,
                    thresholds: names,
                    remedies: vec![
                        remedy(
                            "Name the clients that send these requests",
                            RemedyKind::Command,
                            Safety::Safe,
                            format!("apiserver-doctor query 'KubeAudit | where verb == \"{}\" and objectRef.resource == \"{}\" | summarize count() by userAgent | top 10 by count_' <audit logs>", l.verb.to_lowercase(), l.resource.split(['.', '/']).next().unwrap_or_default()),
                        ),
                        remedy(
                            "Make the client paginate and read from the watch cache, or throttle it",
                            RemedyKind::Advice,
                            Safety::Safe,
                            "LISTs should use `limit` and `continue`, and `resourceVersion=\"0\"` where stale reads are acceptable (informers do this). A client that cannot be fixed can be throttled with API Priority and Fairness: `apiserver-doctor diagnose` over the audit log names the client and writes the FlowSchema for it.",
                        ),
                        watch(&format!(
                            "histogram_quantile(0.99, sum by (le) (rate(apiserver_request_duration_seconds_bucket{{verb=\"{}\",resource=\"{}\",scope=\"{}\"}}[5m])))",
                            l.verb, l.resource.split(['.', '/']).next().unwrap_or_default(), l.scope
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
                ("LIST pods (namespace)".to_owned(), Severity::Critical),
                ("LIST pods (namespace)".to_owned(), Severity::Warning),
                ("POST pods (namespace)".to_owned(), Severity::Warning),
            ]
        );
        assert_eq!(out[0].thresholds[0].name, "p99_cluster_list_seconds");
        assert!(out[0].title.contains("42.00 s"), "{}", out[0].title);
    }
}
