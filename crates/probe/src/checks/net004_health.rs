//! NET004 api-health: the API server's `/readyz` or `/livez` says it is not well, does not
//! answer, or answers slowly.

use findings::{
    CheckInfo, Draft, EvidenceKind, Finding, Measure, Severity, Thresholds, format_seconds,
    threshold_names as n,
};

use super::{advice, command, subject};
use crate::{HttpAttempt, HttpFailure, ProbeEvidence, failed_checks, is_health_answer};

/// NET004.
pub const INFO: CheckInfo = CheckInfo {
    code: "NET004",
    name: "api-health",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::Network,
    thresholds: &[n::PROBE_LATENCY_WARNING_SECONDS],
    doc: r#"## What it detects
What the API server says of itself at `/readyz?verbose` (three times) and `/livez?verbose`:
failing checks, named from their `[-]NAME failed` lines (critical: `etcd`,
`poststarthook/…`; a warning when other `/readyz` answers were 200: one replica or backend
behind the address is unhealthy; a `/livez` 200 says nothing of readiness, so every `/readyz`
failing while `/livez` answers 200 is critical, "live but not ready"); no answer in time or a broken connection after the handshake
(critical when no request got a complete answer, a warning when only some did: an answer cut
short counts as none; a reset after the server merely asked for a client certificate, as a
kube-apiserver always does, is one of these); an answer slower than
`probe_latency_warning_seconds` (1 s, warning), a 401, 403 or 429 included (the API server
gives them itself);
HTTP 401 or 403, when anonymous access to the health endpoints is disabled (info: the network
path works; requests without an answer beside them still count: a warning, critical when most
got none); HTTP 400 or 403 from a TLS proxy that wants a client certificate (nginx's "No
required SSL certificate was sent": warning); HTTP 404, or a 200 whose body is not a Kubernetes
health answer, when the address is not a Kubernetes API server (warning); a redirect, never followed (critical: something else
answers); HTTP 429, rate limiting by API Priority and Fairness or a proxy (warning); HTTP 400
"Client sent an HTTP request to an HTTPS server" (critical: use https://); plain `http://`
requests all cut off (reset or closed) before any answer, what a TLS proxy or load balancer does
with plain HTTP (critical: it probably serves https on this port; try https://). The title says
"not ready" for `/readyz` and "not live" for `/livez`.

## Why it matters
`/readyz` is what load balancers and clients trust: an API server whose `etcd` check fails
answers every request slowly or not at all. When the network path is fine but `/readyz` is
slow, the API server itself is overloaded: the audit checks name who loads it.

## Example
`/readyz?verbose` answered HTTP 500: `[-]etcd failed: reason withheld`.

## Remedy
Read the failing checks (`kubectl get --raw='/readyz?verbose'`); for `etcd`, look at etcd
(`apiserver-doctor etcd`, `--metrics` of etcd); for an overloaded API server, run
`apiserver-doctor diagnose` on its audit log.

## References
- Kubernetes: API endpoints for health: https://kubernetes.io/docs/reference/using-api/health-checks/
"#,
};

/// The `message` of a Kubernetes `Status` body, else its first line; at most 200 characters.
fn said(body: &str) -> String {
    let text = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_else(|| body.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_owned());
    if text.chars().count() > 200 {
        format!("{}…", text.chars().take(200).collect::<String>())
    } else {
        text
    }
}

/// The distinct reasons of failed requests, at most three.
fn reasons(failed: &[&HttpAttempt]) -> String {
    let mut r: Vec<&str> = Vec::new();
    for a in failed {
        if let Some((_, m)) = &a.failure
            && !r.contains(&m.as_str())
        {
            r.push(m);
        }
    }
    let more = r.len().saturating_sub(3);
    let mut text = r.into_iter().take(3).collect::<Vec<_>>().join("; ");
    if more > 0 {
        text.push_str(&format!("; and {more} other reason(s)"));
    }
    if text.is_empty() { "no reason given".to_owned() } else { text }
}

/// What an HTTP answer says when a TLS proxy wanted a client certificate and got none
/// (nginx: "400 No required SSL certificate was sent", "400 The SSL certificate error").
fn client_certificate_demand(body: &str) -> Option<&'static str> {
    let lower = body.to_ascii_lowercase();
    ["No required SSL certificate was sent", "The SSL certificate error", "client certificate required"]
        .into_iter()
        .find(|phrase| lower.contains(&phrase.to_ascii_lowercase()))
}

/// Runs NET004.
pub fn run(ev: &ProbeEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    // Requests that failed in the TLS step are NET003's; those the proxy did not open a
    // tunnel for, NET002's.
    let judged: Vec<&HttpAttempt> =
        ev.http.iter().filter(|a| !a.failed_in_tls() && !a.failed_at_proxy()).collect();
    if judged.is_empty() {
        return;
    }
    let host = &ev.target.host;
    let base = ev.base_url();
    let timeout = ev.timeout_seconds;
    let credentials = || {
        vec![command(
            "Read the checks with your credentials",
            "kubectl get --raw='/readyz?verbose'\nkubectl get --raw='/livez?verbose'".to_owned(),
        )]
    };
    let inspect = || {
        vec![
            command(
                "Read what the API server says of itself",
                format!(
                    "kubectl get --raw='/readyz?verbose'\nkubectl get --raw='/livez?verbose'\ncurl -sk --max-time {timeout} '{base}/readyz?verbose'"
                ),
            ),
            advice(
                "Follow the failing check",
                "For `etcd`, look at etcd itself (`apiserver-doctor etcd --endpoints …`, or `diagnose --metrics` with an etcd scrape). For an overloaded API server, `apiserver-doctor diagnose` on its audit log names who loads it.",
            ),
        ]
    };
    let look = |what: &str| {
        vec![
            command(
                "Look at what answers",
                format!("curl -skv --max-time {timeout} '{base}/readyz?verbose' 2>&1 | head -40"),
            ),
            advice("What to check", what),
        ]
    };
    // A request fails when no complete answer came: no answer, a timeout, an answer cut short.
    let failed: Vec<&HttpAttempt> = judged.iter().copied().filter(|a| a.failure.is_some()).collect();
    let answered: Vec<&HttpAttempt> =
        judged.iter().copied().filter(|a| a.failure.is_none() && a.status.is_some()).collect();
    let slowest = answered.iter().map(|a| a.seconds).fold(0.0_f64, f64::max);
    let longest_failed = failed.iter().map(|a| a.seconds).fold(0.0_f64, f64::max);
    let measures = |bad: usize| {
        let mut m = vec![
            Measure::new("requests", judged.len() as f64, "count"),
            Measure::new("requests without a healthy answer", bad as f64, "count"),
        ];
        if !answered.is_empty() {
            m.push(Measure::new("slowest answer", slowest, "s"));
        }
        if !failed.is_empty() {
            m.push(Measure::new("longest failed request", longest_failed, "s"));
        }
        m
    };
    let handshakes = if ev.target.scheme == "https" {
        "TCP connections and TLS handshakes succeed"
    } else {
        "TCP connections succeed"
    };
    let push = |out: &mut Vec<Finding>,
                severity,
                title: String,
                summary: String,
                bad: usize,
                thresholds,
                remedies| {
        out.push(
            Draft {
                severity,
                title,
                subject: subject(ev),
                summary,
                source: ev.source(),
                measures: measures(bad),
                table: None,
                thresholds,
                remedies,
            }
            .into_finding(&INFO, t),
        );
    };
    let https =
        format!("https://{}", ev.target.url.split_once("://").map_or(ev.target.url.as_str(), |(_, r)| r));
    // No complete answer at all.
    if answered.is_empty() {
        // Plain HTTP to a TLS port: Go answers 400 (below), but a TLS proxy or load balancer,
        // or a server of another stack, closes or resets the connection instead.
        let closed = |m: &str| {
            let m = m.to_ascii_lowercase();
            [
                "connection reset",
                "peer disconnected",
                "broken pipe",
                "unexpected end of file",
                "closed the connection",
                "connection closed",
                "unexpectedeof",
            ]
            .iter()
            .any(|s| m.contains(s))
        };
        if ev.target.scheme == "http"
            && failed.iter().all(|a| {
                matches!(&a.failure, Some((HttpFailure::Transport, m)) if closed(m)) && a.status.is_none()
            })
        {
            push(
                out,
                Severity::Critical,
                format!(
                    "The API server at {host} does not answer /readyz over http: it probably serves https on this port"
                ),
                format!(
                    "{handshakes}, but {} sent in plain HTTP was cut off before any answer: {}. That is what a TLS server, proxy or load balancer does with plain HTTP on its port: it probably serves https on this port; try {https}.",
                    if judged.len() == 1 {
                        "the one health request".to_owned()
                    } else {
                        format!("each of the {} health requests", judged.len())
                    },
                    reasons(&failed)
                ),
                judged.len(),
                Vec::new(),
                vec![command("Probe it with https", format!("apiserver-doctor probe {https}"))],
            );
            return;
        }
        push(
            out,
            Severity::Critical,
            format!("The API server at {host} does not answer /readyz"),
            format!(
                "{handshakes}, but {} got a complete answer ({}): {}.",
                if judged.len() == 1 {
                    "the one health request never".to_owned()
                } else {
                    format!("none of the {} health requests", judged.len())
                },
                if judged.len() == 1 {
                    format!("{timeout} s allowed")
                } else {
                    format!("each allowed {timeout} s")
                },
                reasons(&failed)
            ),
            judged.len(),
            Vec::new(),
            inspect(),
        );
        return;
    }
    let besides = if failed.is_empty() {
        String::new()
    } else {
        format!(
            " Besides, {} of {} requests got no complete answer: {}.",
            failed.len(),
            judged.len(),
            reasons(&failed)
        )
    };
    let limit = t.value(n::PROBE_LATENCY_WARNING_SECONDS);
    // Refusals: 401 and 403 (authentication and authorization) and 429 (API Priority and
    // Fairness) are given by the API server itself, as a 200 is: their time is its time too
    // (review M1: a slow 401 was never judged). They say nothing of its health.
    let refusal = |a: &HttpAttempt| matches!(a.status, Some(401 | 403 | 429));
    let timed_slowest = answered
        .iter()
        .filter(|a| a.status == Some(200) || refusal(a))
        .map(|a| a.seconds)
        .fold(0.0_f64, f64::max);
    let slow = (timed_slowest > limit).then(|| {
        format!(
            " The answers took up to {} (TLS handshake included; the name was resolved once, before), above the {} threshold: the API server, or the proxy in front that answered, is slow to answer even this.",
            format_seconds(timed_slowest),
            format_seconds(limit)
        )
    });
    // Requests with no complete answer count as much as the answers (review M1: one 401
    // hid three timeouts): some failing is a warning; most failing, and the others refused,
    // is as good as no answer (critical).
    let failure_severity = if failed.is_empty() {
        None
    } else if failed.len() > answered.len() && answered.iter().all(|a| refusal(a)) {
        Some(Severity::Critical)
    } else {
        Some(Severity::Warning)
    };
    // The 200s that vouch for an endpoint: a /readyz 200 for /readyz (review 1: a /livez 200
    // made a server whose every /readyz failed "one replica unhealthy", a warning), any 200 for
    // /livez (a server ready is live). A /livez 200 says nothing of readiness.
    let ready_for = |endpoint: &str| {
        answered
            .iter()
            .filter(|a| a.status == Some(200) && (endpoint == "livez" || a.endpoint() == endpoint))
            .count()
    };
    let others_ok = answered.len() - answered.iter().filter(|a| a.status != Some(200)).count();
    let unhealthy: Vec<&HttpAttempt> = answered.iter().copied().filter(|a| a.status != Some(200)).collect();
    if let Some(first) = unhealthy.first() {
        let status = first.status.unwrap_or(0);
        let path = format!("{}{}", ev.target.path, first.path);
        let bad = unhealthy.len() + failed.len();
        let counted = format!(
            "{} of {} health requests were answered with a status other than 200; the first, {path}, with HTTP {status}",
            unhealthy.len(),
            judged.len()
        );
        let (severity, title, summary, remedies) = match status {
            300..=399 => {
                let location = first.location.as_deref().unwrap_or("(no Location header)");
                (
                    Severity::Critical,
                    format!(
                        "{path} at {host} is redirected to {location}: this is not the API server, or a proxy or SSO sits in front"
                    ),
                    format!(
                        "{counted}, redirecting to {location}. A Kubernetes API server never redirects its health endpoints; the probe does not follow redirects. Something else answers at {}: a login page (SSO, an authenticating proxy), an ingress, or a wrong address.",
                        ev.target.url
                    ),
                    look(
                        "Find what answers at this address (a proxy, an ingress, an SSO gateway) and probe the API server's own address; check the kubeconfig's server.",
                    ),
                )
            }
            429 => {
                let retry =
                    first.retry_after.as_deref().map(|r| format!(", retry after {r} s")).unwrap_or_default();
                (
                    Severity::Warning,
                    format!("The API server at {host} throttles requests (HTTP 429{retry})"),
                    format!(
                        "{counted}: Too Many Requests, which is rate limiting, not a failing check: the API server's API Priority and Fairness rejects requests of this priority level now, or a proxy or load balancer in front limits them. It said: \"{}\"{}. The health checks could not be read; clients here are throttled the same way.",
                        said(&first.body),
                        first.retry_after.as_deref().map(|r| format!(" (Retry-After: {r})")).unwrap_or_default()
                    ),
                    vec![
                        command(
                            "See which priority levels reject requests",
                            "kubectl get --raw /metrics | grep -E 'apiserver_flowcontrol_(rejected_requests_total|current_inqueue_requests)'\nkubectl get flowschemas,prioritylevelconfigurations".to_owned(),
                        ),
                        advice(
                            "Find who loads the API server",
                            "`apiserver-doctor diagnose` on the audit log names the clients that load it; a proxy or load balancer in front may have its own rate limit.",
                        ),
                    ],
                )
            }
            400 if first.body.contains("Client sent an HTTP request to an HTTPS server") => (
                Severity::Critical,
                format!("The server at {host}:{} speaks HTTPS: use {https}", ev.target.port),
                format!(
                    "{counted}: \"Client sent an HTTP request to an HTTPS server\", what a Go TLS server (the kube-apiserver is one) answers to plain HTTP. Probe {https} instead."
                ),
                vec![command("Probe it with https", format!("apiserver-doctor probe {https}"))],
            ),
            400 | 403 if client_certificate_demand(&first.body).is_some() => (
                Severity::Warning,
                format!("The server at {host} requires a client certificate (mutual TLS): HTTP {status}"),
                format!(
                    "{counted}: \"{}\". A TLS proxy in front of the API server (nginx says it this way) refuses requests without a client certificate; a kube-apiserver itself answers /readyz without one. The network path up to it works; clients with the kubeconfig's client certificate may still get through.",
                    client_certificate_demand(&first.body).unwrap_or_default()
                ),
                vec![advice(
                    "What to do",
                    "Find what terminates TLS in front of the API server (`openssl s_client` shows who asks, under 'Acceptable client certificate CA names'); probe the API server's own address if there is one.",
                )],
            ),
            401 => (
                Severity::Info,
                format!(
                    "The API server at {host} answers, but its health endpoints need credentials (HTTP 401)"
                ),
                format!(
                    "{counted}: Unauthorized. Anonymous requests are turned off here (kube-apiserver --anonymous-auth=false, or an authenticating proxy in front), so the probe cannot read the checks; the network path and TLS work. Read them with credentials."
                ),
                credentials(),
            ),
            403 => (
                Severity::Info,
                format!(
                    "The API server at {host} answers, but does not let anonymous requests read its health endpoints (HTTP 403)"
                ),
                format!(
                    "{counted}: Forbidden. The API server authenticated the request as system:anonymous and its RBAC refused it: by default the ClusterRoleBinding system:public-info-viewer lets everyone read /readyz, /livez and /healthz, so here it was changed or removed (as some hardening guides advise). The network path and TLS work. Read the checks with credentials."
                ),
                {
                    let mut r = credentials();
                    r.push(command(
                        "See whether anonymous health reads are still bound",
                        "kubectl get clusterrolebinding system:public-info-viewer -o yaml
kubectl auth can-i get /readyz --as=system:anonymous"
                            .to_owned(),
                    ));
                    r
                },
            ),
            404 => (
                Severity::Warning,
                format!("{host} answers HTTP 404 for {path}: is it a Kubernetes API server?"),
                format!(
                    "The server at {} answered HTTP 404 for {path}, which every Kubernetes API server serves.",
                    ev.target.url
                ),
                look("Check the address and port: a Kubernetes API server serves /readyz and /livez."),
            ),
            _ => {
                let failed_checks = failed_checks(&first.body);
                let which = if failed_checks.is_empty() {
                    "no check named".to_owned()
                } else {
                    failed_checks.join(", ")
                };
                let live = first.endpoint() == "livez";
                let state = if live { "not live" } else { "not ready" };
                let meaning = if live {
                    " /livez failing means the API server should be restarted (kubelet or the provider does it)."
                } else {
                    ""
                };
                let live_answers =
                    answered.iter().filter(|a| a.endpoint() == "livez" && a.status == Some(200)).count();
                if ready_for(first.endpoint()) > 0 {
                    // Some answers ready, others not (review M5): the requests go to one
                    // address after another, through whatever balances them behind it.
                    let what = if failed_checks.is_empty() {
                        format!("HTTP {status}")
                    } else {
                        format!("{which} failed")
                    };
                    (
                        Severity::Warning,
                        format!(
                            "{} of {} answers from the API server at {host} were {state} ({what}): one replica or backend is unhealthy",
                            unhealthy.len(),
                            answered.len()
                        ),
                        format!(
                            "{counted} ({which} failing); {}. Each request has a connection of its own: one API server replica or load-balancer backend behind this address is unhealthy while the others are well (or a check fails on and off). Clients here fail the same way, now and then.{meaning}",
                            if others_ok == 1 {
                                "the other one was answered 200".to_owned()
                            } else {
                                format!("the other {others_ok} were answered 200")
                            }
                        ),
                        inspect(),
                    )
                } else if !live && live_answers > 0 {
                    // Live but never ready: one server (or every one) that runs and cannot
                    // serve: etcd out of reach, shutting down, informers not synced.
                    (
                        Severity::Critical,
                        if failed_checks.is_empty() {
                            format!(
                                "The API server at {host} is live but not ready: {path} answered HTTP {status}"
                            )
                        } else {
                            format!("The API server at {host} is live but not ready: {which} failed")
                        },
                        format!(
                            "{counted} ({which} failing); no /readyz request was answered 200, while /livez was. The API server runs, but does not serve: every request that needs {} fails or waits. This is not one unhealthy replica among well ones: no /readyz answer was ready.",
                            if failed_checks.is_empty() {
                                "what /readyz checks".to_owned()
                            } else {
                                which.clone()
                            }
                        ),
                        inspect(),
                    )
                } else {
                    (
                        Severity::Critical,
                        if failed_checks.is_empty() {
                            format!("The API server at {host} is not healthy: {path} answered HTTP {status}")
                        } else {
                            format!("The API server at {host} is {state}: {which} failed")
                        },
                        format!("{counted} ({which} failing).{meaning}"),
                        inspect(),
                    )
                }
            }
        };
        let (mut severity, mut title, mut summary, mut remedies) = (severity, title, summary, remedies);
        match failure_severity {
            // The requests that got no answer say worse than the answers did.
            Some(worse) if worse > severity => {
                let statuses = {
                    let mut s: Vec<String> = Vec::new();
                    for a in &answered {
                        let text = a.status.map(|c| c.to_string()).unwrap_or_default();
                        if !s.contains(&text) {
                            s.push(text);
                        }
                    }
                    s.join(", ")
                };
                let (prefix, new_title) = if worse == Severity::Critical {
                    (
                        format!(
                            "{handshakes}, but {} of {} health requests got no complete answer (each allowed {timeout} s): {}. The other {} answered HTTP {statuses}, a refusal that says nothing of the API server's health: with most requests unanswered, that is as good as no answer.",
                            failed.len(),
                            judged.len(),
                            reasons(&failed),
                            if answered.len() == 1 {
                                "one was".to_owned()
                            } else {
                                format!("{} were", answered.len())
                            }
                        ),
                        format!(
                            "The API server at {host} does not answer /readyz ({} of {} requests; {} refused with HTTP {statuses})",
                            failed.len(),
                            judged.len(),
                            if answered.len() == 1 { "the other was" } else { "the others were" }
                        ),
                    )
                } else {
                    (
                        format!(
                            "{} of {} health requests got no complete answer: {}. Clients here fail the same way, now and then: a load-balancer backend down, SNAT port exhaustion, one of several API server replicas broken, or an overloaded API server.",
                            failed.len(),
                            judged.len(),
                            reasons(&failed)
                        ),
                        format!(
                            "{} of {} health requests to the API server at {host} failed",
                            failed.len(),
                            judged.len()
                        ),
                    )
                };
                severity = worse;
                title = new_title;
                summary = format!("{prefix} {summary}");
                remedies = inspect().into_iter().chain(remedies).collect();
            }
            _ => summary.push_str(&besides),
        }
        let mut thresholds = Vec::new();
        if let Some(slow) = &slow {
            summary.push_str(slow);
            thresholds.push(n::PROBE_LATENCY_WARNING_SECONDS);
            if severity < Severity::Warning {
                severity = Severity::Warning;
                title = format!(
                    "The API server at {host} is slow to answer /readyz: up to {} for HTTP {status}",
                    format_seconds(timed_slowest)
                );
            }
        }
        push(out, severity, title, summary, bad, thresholds, remedies);
        return;
    }
    // Every answer was 200, but some requests failed: intermittent.
    if !failed.is_empty() {
        push(
            out,
            Severity::Warning,
            format!(
                "{} of {} health requests to the API server at {host} failed",
                failed.len(),
                judged.len()
            ),
            format!(
                "{} of {} requests got no complete answer ({}); the others were answered 200. Clients here fail the same way, now and then: a load-balancer backend down, SNAT port exhaustion, one of several API server replicas broken, or an overloaded API server.{}",
                failed.len(),
                judged.len(),
                reasons(&failed),
                slow.as_deref().unwrap_or("")
            ),
            failed.len(),
            if slow.is_some() { vec![n::PROBE_LATENCY_WARNING_SECONDS] } else { Vec::new() },
            inspect(),
        );
        return;
    }
    // A 200 that is not what a Kubernetes API server says.
    let strange: Vec<&HttpAttempt> =
        answered.iter().copied().filter(|a| !is_health_answer(&a.body)).collect();
    if let Some(first) = strange.first() {
        push(
            out,
            Severity::Warning,
            format!("The server at {host} answers 200 for /readyz, but not as a Kubernetes API server does"),
            format!(
                "{} of {} answers were 200 with a body that is neither \"ok\" nor a list of [+]/[-] checks: \"{}\". Something else answers at {} (a web server, a proxy, a captive portal): this is not the API server, or not only it.",
                strange.len(),
                answered.len(),
                said(&first.body),
                ev.target.url
            ),
            strange.len(),
            Vec::new(),
            look("Check the address and port, and what sits in front of the API server."),
        );
        return;
    }
    if slowest > limit {
        push(
            out,
            Severity::Warning,
            format!("The API server at {host} answers /readyz in up to {}", format_seconds(slowest)),
            format!(
                "Every health request was answered 200, the slowest in {} (TLS handshake included; the name was resolved once, before), above the {} threshold: the network is fine up to the API server, which is slow to answer even its health endpoint.",
                format_seconds(slowest),
                format_seconds(t.value(n::PROBE_LATENCY_WARNING_SECONDS))
            ),
            0,
            vec![n::PROBE_LATENCY_WARNING_SECONDS],
            inspect(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::checks::testutil::{failure, healthy};

    fn judge(ev: &ProbeEvidence) -> Vec<Finding> {
        let mut out = Vec::new();
        run(ev, &Thresholds::default(), &mut out);
        out
    }

    fn titles(ev: &ProbeEvidence) -> Vec<(Severity, String)> {
        judge(ev).into_iter().map(|f| (f.severity, f.title)).collect()
    }

    #[test]
    fn intermittent_failures_among_healthy_answers_are_a_warning_not_no_findings() {
        let mut ev = healthy();
        for i in [0, 2] {
            ev.http[i] = failure(
                HttpFailure::Transport,
                "reading the answer: Connection reset by peer (os error 104)",
            );
        }
        let out = judge(&ev);
        assert_eq!(
            (out[0].severity, out[0].title.as_str()),
            (Severity::Warning, "2 of 4 health requests to the API server at api.example.com failed")
        );
        assert!(out[0].summary.contains("Connection reset by peer"), "{}", out[0].summary);
        // One slow request that timed out, the others fast: still told.
        let mut ev = healthy();
        ev.http[0] = failure(HttpFailure::Timeout, "reading the answer: no answer within 5 s");
        ev.http[0].seconds = 5.2;
        assert_eq!(titles(&ev)[0].1, "1 of 4 health requests to the API server at api.example.com failed");
    }

    #[test]
    fn a_redirect_is_a_finding_naming_where_it_goes() {
        let mut ev = healthy();
        for a in &mut ev.http {
            a.status = Some(302);
            a.body.clear();
            a.location = Some("/login?next=/readyz".to_owned());
        }
        let out = judge(&ev);
        assert_eq!(out[0].severity, Severity::Critical);
        assert_eq!(
            out[0].title,
            "/readyz?verbose at api.example.com is redirected to /login?next=/readyz: this is not the API server, or a proxy or SSO sits in front"
        );
    }

    #[test]
    fn a_200_that_is_not_a_kubernetes_health_answer_is_suspicious() {
        let mut ev = healthy();
        for a in &mut ev.http {
            a.body = "<html><body>Welcome to nginx!</body></html>".to_owned();
        }
        let out = judge(&ev);
        assert_eq!(out[0].severity, Severity::Warning);
        assert!(out[0].title.contains("not as a Kubernetes API server does"), "{}", out[0].title);
        assert!(out[0].summary.contains("Welcome to nginx!"), "{}", out[0].summary);
        let mut ev = healthy();
        for a in &mut ev.http {
            a.body = "ok".to_owned();
        }
        assert!(judge(&ev).is_empty());
    }

    #[test]
    fn a_429_is_rate_limiting_and_a_go_https_400_says_use_https() {
        let mut ev = healthy();
        for a in &mut ev.http {
            a.status = Some(429);
            a.retry_after = Some("1".to_owned());
            a.body = r#"{"kind":"Status","message":"Too many requests, please try again later.","reason":"TooManyRequests","code":429}"#.to_owned();
        }
        let out = judge(&ev);
        assert_eq!(
            (out[0].severity, out[0].title.as_str()),
            (
                Severity::Warning,
                "The API server at api.example.com throttles requests (HTTP 429, retry after 1 s)"
            )
        );
        assert!(out[0].summary.contains("API Priority and Fairness"), "{}", out[0].summary);
        assert!(
            out[0].summary.contains("\"Too many requests, please try again later.\""),
            "{}",
            out[0].summary
        );
        let mut ev = healthy();
        ev.target.url = "http://api.example.com:6443".to_owned();
        ev.target.scheme = "http".to_owned();
        ev.target.port = 6443;
        for a in &mut ev.http {
            a.status = Some(400);
            a.body = "Client sent an HTTP request to an HTTPS server.\n".to_owned();
        }
        assert_eq!(
            titles(&ev),
            vec![(
                Severity::Critical,
                "The server at api.example.com:6443 speaks HTTPS: use https://api.example.com:6443"
                    .to_owned()
            )]
        );
    }

    #[test]
    fn a_failing_livez_with_a_ready_readyz_says_not_live() {
        let mut ev = healthy();
        ev.http[3].status = Some(500);
        ev.http[3].body = "[+]ping ok\n[-]etcd failed: reason withheld\nlivez check failed\n".to_owned();
        let out = judge(&ev);
        // Three /readyz answers ready: one backend (or a check on and off), a warning (M5).
        assert_eq!(
            (out[0].severity, out[0].title.as_str()),
            (
                Severity::Warning,
                "1 of 4 answers from the API server at api.example.com were not live (etcd failed): one replica or backend is unhealthy"
            )
        );
        assert!(out[0].summary.contains("the first, /livez?verbose"), "{}", out[0].summary);
        assert!(out[0].summary.contains("/livez failing means"), "{}", out[0].summary);
    }

    /// Review H1 (the optional part): the HTTP answer of a TLS proxy that wanted a client
    /// certificate says so.
    #[test]
    fn a_400_saying_no_required_ssl_certificate_was_sent_is_mutual_tls() {
        let mut ev = healthy();
        for a in &mut ev.http {
            a.status = Some(400);
            a.body = "<html>\r\n<head><title>400 No required SSL certificate was sent</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>No required SSL certificate was sent</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n".to_owned();
        }
        let out = judge(&ev);
        assert_eq!(
            (out[0].severity, out[0].title.as_str()),
            (
                Severity::Warning,
                "The server at api.example.com requires a client certificate (mutual TLS): HTTP 400"
            )
        );
        assert!(out[0].summary.contains("\"No required SSL certificate was sent\""), "{}", out[0].summary);
        assert!(out[0].remedies.iter().all(|r| !r.body.contains("etcd")), "{:?}", out[0].remedies);
    }

    /// Review M5: 200, 500 `[-]etcd failed`, 200, 200 was critical "not ready", though three
    /// of four answers were ready.
    #[test]
    fn a_mix_of_ready_and_not_ready_answers_was_critical() {
        let not_ready = "[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed\n";
        let mut ev = healthy();
        ev.http[1].status = Some(500);
        ev.http[1].body = not_ready.to_owned();
        let out = judge(&ev);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(
            (out[0].severity, out[0].title.as_str()),
            (
                Severity::Warning,
                "1 of 4 answers from the API server at api.example.com were not ready (etcd failed): one replica or backend is unhealthy"
            )
        );
        assert!(out[0].summary.contains("the other 3 were answered 200"), "{}", out[0].summary);
        // None ready: critical, as before.
        for a in &mut ev.http {
            a.status = Some(500);
            a.body = not_ready.to_owned();
        }
        assert_eq!(
            titles(&ev),
            vec![(
                Severity::Critical,
                "The API server at api.example.com is not ready: etcd failed".to_owned()
            )]
        );
    }

    /// Review 1 (etcd review): every /readyz answered 500 `[-]etcd failed` and /livez 200, and
    /// the /livez 200 made it "3 of 4 answers … were not ready: one replica or backend is
    /// unhealthy", a warning (exit 0): only a /readyz 200 softens failing /readyz answers.
    #[test]
    fn a_livez_200_made_a_server_never_ready_one_unhealthy_replica() {
        let not_ready = "[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed\n";
        let mut ev = healthy();
        for a in ev.http.iter_mut().filter(|a| a.endpoint() == "readyz") {
            a.status = Some(500);
            a.body = not_ready.to_owned();
        }
        assert_eq!(ev.http[3].status, Some(200), "/livez stays 200");
        let out = judge(&ev);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(
            (out[0].severity, out[0].title.as_str()),
            (Severity::Critical, "The API server at api.example.com is live but not ready: etcd failed")
        );
        assert!(!out[0].summary.contains("one API server replica"), "{}", out[0].summary);
        assert!(out[0].summary.contains("no /readyz request was answered 200"), "{}", out[0].summary);
        // The same without a named check.
        for a in ev.http.iter_mut().filter(|a| a.endpoint() == "readyz") {
            a.body = "internal error".to_owned();
        }
        assert_eq!(
            titles(&ev),
            vec![(
                Severity::Critical,
                "The API server at api.example.com is live but not ready: /readyz?verbose answered HTTP 500"
                    .to_owned()
            )]
        );
        // One /readyz 200 among them: one replica, a warning; "the other 1 were" is said right.
        ev.http[0].status = Some(200);
        ev.http[0].body = "ok".to_owned();
        ev.http[3].status = Some(500);
        ev.http[3].body = "[-]etcd failed: reason withheld\nlivez check failed\n".to_owned();
        let out = judge(&ev);
        assert_eq!(out[0].severity, Severity::Warning, "{}", out[0].title);
        assert!(out[0].summary.contains("; the other one was answered 200."), "{}", out[0].summary);
        assert!(!out[0].summary.contains("the other 1 were"), "{}", out[0].summary);
    }

    /// Review M1: the first 401 alone decided: one 401 and three timeouts was info (exit 0),
    /// and a slow 401 was never judged.
    #[test]
    fn a_401_hid_timeouts_and_slowness() {
        let timeout = || {
            let mut a = failure(HttpFailure::Timeout, "reading the answer: no answer within 5 s");
            a.seconds = 5.0;
            a
        };
        // One 401, three timeouts: as good as no answer.
        let mut ev = healthy();
        ev.http[0].status = Some(401);
        for i in 1..4 {
            ev.http[i] = timeout();
        }
        let out = judge(&ev);
        assert_eq!(
            (out[0].severity, out[0].title.as_str()),
            (
                Severity::Critical,
                "The API server at api.example.com does not answer /readyz (3 of 4 requests; the other was refused with HTTP 401)"
            )
        );
        assert!(out[0].summary.contains("no answer within 5 s"), "{}", out[0].summary);
        assert!(out[0].summary.contains("Anonymous requests are turned off"), "{}", out[0].summary);
        // The same with a 429.
        ev.http[0].status = Some(429);
        assert_eq!(judge(&ev)[0].severity, Severity::Critical);
        // Two 401s, two timeouts; three 403s, one timeout: some requests failing is a warning.
        let mut ev = healthy();
        for a in &mut ev.http {
            a.status = Some(401);
        }
        ev.http[0] = timeout();
        ev.http[3] = timeout();
        assert_eq!(judge(&ev)[0].severity, Severity::Warning);
        let mut ev = healthy();
        for a in &mut ev.http {
            a.status = Some(403);
        }
        ev.http[2] = timeout();
        assert_eq!(
            titles(&ev),
            vec![(
                Severity::Warning,
                "1 of 4 health requests to the API server at api.example.com failed".to_owned()
            )]
        );
        // Slow 401s: the API server authenticates, so it is the API server that is slow.
        let mut ev = healthy();
        for a in &mut ev.http {
            a.status = Some(401);
        }
        ev.http[1].seconds = 2.0;
        let out = judge(&ev);
        assert_eq!(
            (out[0].severity, out[0].title.as_str()),
            (
                Severity::Warning,
                "The API server at api.example.com is slow to answer /readyz: up to 2.00 s for HTTP 401"
            )
        );
        assert!(out[0].summary.contains("The answers took up to 2.00 s"), "{}", out[0].summary);
        assert_eq!(out[0].thresholds.len(), 1, "{:?}", out[0].thresholds);
        // Fast 401s stay an info.
        ev.http[1].seconds = 0.02;
        assert_eq!(judge(&ev)[0].severity, Severity::Info);
    }

    #[test]
    fn requests_that_all_timed_out_do_not_show_a_slowest_answer_of_zero() {
        let mut ev = healthy();
        ev.http = vec![failure(HttpFailure::Timeout, "reading the answer: no answer within 5 s"); 4];
        for a in &mut ev.http {
            a.seconds = 5.1;
        }
        let out = judge(&ev);
        let names: Vec<(&str, f64)> =
            out[0].evidence.measures.iter().map(|m| (m.label.as_str(), m.value)).collect();
        assert!(!names.iter().any(|(n, _)| *n == "slowest answer"), "{names:?}");
        assert!(names.contains(&("longest failed request", 5.1)), "{names:?}");
    }

    /// Docs review 27 (§10): one health request that timed out read "none of the 1 health
    /// requests got a complete answer (each allowed 5 s)".
    #[test]
    fn one_health_request_without_answer_is_not_called_none_of_the_1_requests() {
        let mut ev = healthy();
        ev.http = vec![failure(HttpFailure::Timeout, "reading the answer: no answer within 5 s")];
        let out = judge(&ev);
        assert!(
            out[0].summary.contains("but the one health request never got a complete answer ("),
            "{}",
            out[0].summary
        );
        assert!(!out[0].summary.contains("of the 1 "), "{}", out[0].summary);
        ev.http = vec![failure(HttpFailure::Timeout, "reading the answer: no answer within 5 s"); 2];
        let out = judge(&ev);
        assert!(
            out[0].summary.contains("but none of the 2 health requests got a complete answer (each allowed"),
            "{}",
            out[0].summary
        );
    }

    #[test]
    fn a_200_cut_short_is_not_a_healthy_answer() {
        let mut ev = healthy();
        for a in &mut ev.http {
            a.body = "[+]ping ok\n[-]etcd fa".to_owned();
            a.failure = Some((
                HttpFailure::Transport,
                "the HTTP 200 answer was cut after 21 bytes of its body (reading the answer: Connection reset by peer)".to_owned(),
            ));
        }
        let out = judge(&ev);
        assert_eq!(
            (out[0].severity, out[0].title.as_str()),
            (Severity::Critical, "The API server at api.example.com does not answer /readyz")
        );
        assert!(out[0].summary.contains("cut after 21 bytes"), "{}", out[0].summary);
    }

    #[test]
    fn failing_checks_no_answer_credentials_and_slowness_are_told_apart() {
        let judge = titles;
        let mut ev = healthy();
        for a in &mut ev.http {
            a.status = Some(500);
            a.body = "[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed\n".to_owned();
        }
        assert_eq!(
            judge(&ev),
            vec![(
                Severity::Critical,
                "The API server at api.example.com is not ready: etcd failed".to_owned()
            )]
        );
        let mut ev = healthy();
        ev.http = vec![failure(HttpFailure::Timeout, "timeout: global"); 2];
        assert_eq!(judge(&ev)[0].1, "The API server at api.example.com does not answer /readyz");
        let mut ev = healthy();
        for a in &mut ev.http {
            a.status = Some(403);
        }
        assert_eq!(judge(&ev)[0].0, Severity::Info);
        let mut ev = healthy();
        ev.http[3].seconds = 2.0;
        assert_eq!(judge(&ev)[0].1, "The API server at api.example.com answers /readyz in up to 2.00 s");
        let mut ev = healthy();
        ev.http[0].status = Some(404);
        assert_eq!(judge(&ev)[0].0, Severity::Warning);
    }

    #[test]
    fn unauthorized_and_forbidden_health_reads_get_their_own_explanations() {
        let mut ev = healthy();
        for a in &mut ev.http {
            a.status = Some(401);
        }
        let out = judge(&ev);
        assert_eq!(out[0].severity, Severity::Info);
        assert!(out[0].summary.contains("Anonymous requests are turned off"), "{}", out[0].summary);
        assert!(!out[0].summary.contains("RBAC"), "{}", out[0].summary);
        let mut ev = healthy();
        for a in &mut ev.http {
            a.status = Some(403);
        }
        let out = judge(&ev);
        assert!(out[0].title.contains("does not let anonymous requests read"), "{}", out[0].title);
        assert!(out[0].summary.contains("system:public-info-viewer"), "{}", out[0].summary);
        // Neither is a failing check: no advice to follow one (etcd) is attached.
        for status in [401, 403] {
            let mut ev = healthy();
            for a in &mut ev.http {
                a.status = Some(status);
            }
            let out = judge(&ev);
            assert!(
                out[0].remedies.iter().all(|r| !r.body.contains("etcd")),
                "HTTP {status}: {:?}",
                out[0].remedies
            );
        }
    }
}
