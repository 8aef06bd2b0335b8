//! NET004 api-health: the API server's `/readyz` or `/livez` says it is not well, does not
//! answer, or answers slowly.

use findings::{
    CheckInfo, Draft, EvidenceKind, Finding, Measure, Severity, Thresholds, format_seconds,
    threshold_names as n,
};

use super::{advice, command, subject};
use crate::{HttpFailure, ProbeEvidence, failed_checks};

/// NET004.
pub const INFO: CheckInfo = CheckInfo {
    code: "NET004",
    name: "api-health",
    default_severity: Severity::Critical,
    evidence: EvidenceKind::Network,
    doc: r#"## What it detects
What the API server says of itself at `/readyz?verbose` (three times) and `/livez?verbose`:
failing checks, named from their `[-]NAME failed` lines (critical: `etcd`,
`poststarthook/…`); no answer in time or a broken connection after the handshake
(critical); an answer slower than `probe_latency_warning_seconds` (1 s, warning); HTTP 401 or
403, when anonymous access to the health endpoints is disabled (info: the network path works);
HTTP 404, when the address is not a Kubernetes API server (warning).

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

/// Runs NET004.
pub fn run(ev: &ProbeEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    if ev.http.is_empty() || ev.http.iter().any(|a| matches!(a.failure, Some((HttpFailure::Tls, _)))) {
        return;
    }
    let host = &ev.target.host;
    let inspect = || {
        vec![
            command(
                "Read what the API server says of itself",
                format!(
                    "kubectl get --raw='/readyz?verbose'\nkubectl get --raw='/livez?verbose'\ncurl -sk {}/readyz?verbose",
                    ev.target.url
                ),
            ),
            advice(
                "Follow the failing check",
                "For `etcd`, look at etcd itself (`apiserver-doctor etcd --endpoints …`, or `diagnose --metrics` with an etcd scrape). For an overloaded API server, `apiserver-doctor diagnose` on its audit log names who loads it.",
            ),
        ]
    };
    let answered: Vec<_> = ev.http.iter().filter(|a| a.status.is_some()).collect();
    let slowest = answered.iter().map(|a| a.seconds).fold(0.0_f64, f64::max);
    let measures = |failed: usize| {
        vec![
            Measure::new("requests", ev.http.len() as f64, "count"),
            Measure::new("requests without a healthy answer", failed as f64, "count"),
            Measure::new("slowest answer", slowest, "s"),
        ]
    };
    // No answer at all.
    if answered.is_empty() {
        let reasons: Vec<String> =
            ev.http.iter().filter_map(|a| a.failure.as_ref().map(|f| f.1.clone())).collect();
        out.push(
            Draft {
                severity: Severity::Critical,
                title: format!("The API server at {host} does not answer /readyz"),
                subject: subject(ev),
                summary: format!(
                    "TCP connections succeed, but {} health requests got no answer: {}.",
                    ev.http.len(),
                    reasons.first().map(String::as_str).unwrap_or("no reason given")
                ),
                source: ev.source(),
                measures: measures(ev.http.len()),
                table: None,
                thresholds: Vec::new(),
                remedies: inspect(),
            }
            .into_finding(&INFO, t),
        );
        return;
    }
    let unhealthy: Vec<_> = answered.iter().filter(|a| a.status != Some(200)).collect();
    if let Some(first) = unhealthy.first() {
        let status = first.status.unwrap_or(0);
        let (severity, title, summary) = match status {
            401 | 403 => (
                Severity::Info,
                format!("The API server at {host} answers, but its health endpoints need credentials (HTTP {status})"),
                "Anonymous access to /readyz and /livez is disabled here, so the probe cannot read the checks; the network path and TLS work. Read them with credentials: kubectl get --raw='/readyz?verbose'.".to_owned(),
            ),
            404 => (
                Severity::Warning,
                format!("{host} answers HTTP 404 for {}: is it a Kubernetes API server?", first.path),
                format!("The server at {} answered HTTP 404 for {}, which every Kubernetes API server serves.", ev.target.url, first.path),
            ),
            _ => {
                let failed = failed_checks(&first.body);
                let which = if failed.is_empty() { "no check named".to_owned() } else { failed.join(", ") };
                (
                    Severity::Critical,
                    if failed.is_empty() {
                        format!("The API server at {host} is not healthy: {} answered HTTP {status}", first.path)
                    } else {
                        format!("The API server at {host} is not ready: {which} failed")
                    },
                    format!(
                        "{} of {} health requests were answered with a status other than 200; the first, {}, with HTTP {status} ({which} failing).",
                        unhealthy.len(),
                        answered.len(),
                        first.path
                    ),
                )
            }
        };
        out.push(
            Draft {
                severity,
                title,
                subject: subject(ev),
                summary,
                source: ev.source(),
                measures: measures(unhealthy.len()),
                table: None,
                thresholds: Vec::new(),
                remedies: inspect(),
            }
            .into_finding(&INFO, t),
        );
        return;
    }
    if slowest > t.value(n::PROBE_LATENCY_WARNING_SECONDS) {
        out.push(Draft {
            severity: Severity::Warning,
            title: format!("The API server at {host} answers /readyz in up to {}", format_seconds(slowest)),
            subject: subject(ev),
            summary: format!(
                "Every health request was answered 200, the slowest in {} (TLS handshake included), above the {} threshold: the network is fine up to the API server, which is slow to answer even its health endpoint.",
                format_seconds(slowest),
                format_seconds(t.value(n::PROBE_LATENCY_WARNING_SECONDS))
            ),
            source: ev.source(),
            measures: measures(0),
            table: None,
            thresholds: vec![n::PROBE_LATENCY_WARNING_SECONDS],
            remedies: inspect(),
        }
        .into_finding(&INFO, t));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testutil::{failure, healthy};

    #[test]
    fn failing_checks_no_answer_credentials_and_slowness_are_told_apart() {
        let t = Thresholds::default();
        let judge = |ev: &ProbeEvidence| {
            let mut out = Vec::new();
            run(ev, &t, &mut out);
            out.into_iter().map(|f| (f.severity, f.title)).collect::<Vec<_>>()
        };
        let mut ev = healthy();
        ev.http[0].status = Some(500);
        ev.http[0].body = "[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed\n".to_owned();
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
}
