//! ETC010 etcd-member-unreachable: an endpoint did not answer.

use findings::{CheckInfo, EvidenceKind, Finding, Severity, Subject, Thresholds};
use metrics::checks::Draft;

use crate::EtcdEvidence;

/// ETC010.
pub const INFO: CheckInfo = CheckInfo {
    code: "ETC010",
    name: "etcd-member-unreachable",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::Etcd,
    thresholds: &[],
    doc: r#"## What it detects
Endpoints given with `--endpoints` that did not answer a status request or whose `/metrics`
could not be read (connection refused, TLS error, timeout), with the error. A warning while
another member answered; critical when none did (etcd is down or cut off from here). An
endpoint that did not answer and is none of the member list's client URLs (a mistake in
`--endpoints`) is said not to be a member of this cluster, as a warning.

## Why it matters
A member that does not answer is down or cut off; the others keep quorum only while a
majority answers. Its numbers are also missing from this report.

## Example
`https://10.0.0.7:2379/v3/maintenance/status: connection refused`.

## Remedy
Check the member's process and logs, its certificates (a TLS error names them), and the
network path; `etcdctl endpoint health` checks every member.

## References
- etcd failure modes: https://etcd.io/docs/v3.5/op-guide/failures/
"#,
};

/// Runs ETC010.
pub fn run(ev: &EtcdEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    let access = super::access(ev);
    for error in &ev.collection_errors {
        let url = error.split(": ").next().unwrap_or(error);
        // The member, not the request: `http://10.0.0.7:2379`, not `…/v3/maintenance/status`.
        let subject = member_endpoint(url);
        // A member that answered but reports an error about itself ("no leader") is not a
        // member that did not answer.
        // Nor is one that answered a key scan or the alarm list with an error (authentication,
        // compactions, no leader): their remedies are not about a dead process.
        let answered = if error.contains(REPORTS) {
            Some(("etcd member reports a problem", "The member answered and reports a problem"))
        } else if error.contains("/v3/kv/range:") {
            Some(("etcd key scan failed", "The member answered, but the key scan failed"))
        } else if error.contains("/v3/maintenance/alarm:") {
            Some((
                "etcd alarms could not be read",
                "The member answered, but its alarm list could not be read",
            ))
        } else {
            None
        };
        if let Some((what, said)) = answered {
            // The plain explanation, not the request and etcd's words (etcd review item 7).
            let title = match plain_failure(error) {
                Some(plain) => format!("{what}: {plain}"),
                None => format!("{what}: {error}"),
            };
            out.push(
                Draft {
                    severity: Severity::Warning,
                    title,
                    subject: Subject::new("etcd-member", subject.clone()),
                    summary: format!("{said}: {error}."),
                    source: "etcd".to_owned(),
                    measures: vec![],
                    table: None,
                    thresholds: vec![],
                    remedies: if error.contains(REPORTS) { remedies_for(&subject, &access) } else { vec![] },
                }
                .into_finding(&INFO, t),
            );
            continue;
        }
        let (severity, title, summary) = if error.contains(crate::NOT_A_MEMBER) {
            (
                Severity::Warning,
                format!("etcd endpoint {subject} is not a member of this cluster"),
                format!(
                    "{error}. The members that answered are in this report; this endpoint is not one of them: check \
                     --endpoints."
                ),
            )
        } else if ev.none_answered {
            (
                Severity::Critical,
                format!("No etcd member answered: {error}"),
                format!(
                    "A request to etcd failed: {error}. No endpoint given answered, so etcd is down or cut off from \
                     here: the API server cannot read or write anything while it cannot reach a quorum of members \
                     either. Nothing of etcd is in this report."
                ),
            )
        } else {
            (
                Severity::Warning,
                format!("etcd did not answer: {error}"),
                format!(
                    "A request to etcd failed: {error}. This member's numbers are missing from the report."
                ),
            )
        };
        out.push(
            Draft {
                severity,
                title,
                subject: Subject::new("etcd-member", subject.clone()),
                summary,
                source: "etcd".to_owned(),
                measures: vec![],
                table: None,
                thresholds: vec![],
                remedies: if error.contains(crate::NOT_A_MEMBER) {
                    vec![member_list(&access)]
                } else {
                    remedies_for(&subject, &access)
                },
            }
            .into_finding(&INFO, t),
        );
    }
}

/// The member list, to compare with `--endpoints` when an endpoint is not a member.
fn member_list(access: &metrics::checks::remedies::EtcdAccess) -> findings::Remedy {
    metrics::checks::remedy(
        "Compare --endpoints with the member list's client URLs",
        findings::RemedyKind::Command,
        findings::Safety::Safe,
        format!("{}{} member list --write-out=table", access.preamble(), access.etcdctl()),
    )
}

/// Why a member that answered refused a request, in plain words, when etcd's words say it.
fn plain_failure(error: &str) -> Option<&'static str> {
    if error.contains("user name is empty") || error.contains("invalid auth token") {
        Some("it needs an etcd user (authentication is on): pass --user")
    } else if error.contains("permission denied") {
        Some("the etcd user may not read these keys")
    } else if error.contains("authentication failed") {
        Some("wrong etcd user or password")
    } else {
        None
    }
}

/// What collection writes before an error a member reports about itself in its status.
const REPORTS: &str = "/v3/maintenance/status: the member reports ";

/// The member's client URL in a request's URL: scheme, host and port, without the path.
fn member_endpoint(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split('/').next().unwrap_or(rest);
            format!("{scheme}://{host}")
        }
        None => url.to_owned(),
    }
}

/// What the documentation's Remedy section lists: the process and its logs, the
/// certificates, the network path, and `etcdctl endpoint health` over the members.
fn remedies_for(endpoint: &str, access: &metrics::checks::remedies::EtcdAccess) -> Vec<findings::Remedy> {
    use findings::{RemedyKind, Safety};
    use metrics::checks::remedy;
    let mut health = access.clone();
    if health.known() && !health.endpoints.iter().any(|e| e == endpoint) {
        health.endpoints.push(endpoint.to_owned());
    }
    vec![
        remedy(
            "Check every member's health",
            RemedyKind::Command,
            Safety::Safe,
            format!("{}{} endpoint health", health.preamble(), health.etcdctl()),
        ),
        remedy(
            "Check the member's process, logs, certificates and network path",
            RemedyKind::Advice,
            Safety::Safe,
            format!(
                "On the host of {}: is etcd running (`systemctl status etcd`, or `crictl ps -a --name etcd` for a static pod) and what do its last log lines say (`journalctl -u etcd -n 100`, `crictl logs`)? A TLS error names the certificate: check its expiry and SAN (`openssl x509 -noout -dates -ext subjectAltName -in FILE`). A timeout or refused connection: check the port is open from here (`nc -vz HOST PORT`) and the firewall.",
                findings::text::one_line(endpoint)
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_collection_error_is_a_finding() {
        let ev = EtcdEvidence {
            collection_errors: vec!["https://10.0.0.7:2379/v3/maintenance/status: connection refused".into()],
            ..EtcdEvidence::default()
        };
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].subject.name, "https://10.0.0.7:2379");
    }

    /// A member that answered its status with an error about itself ("no leader") was titled
    /// "etcd did not answer", which says the opposite of what happened.
    #[test]
    fn a_member_reporting_no_leader_is_not_said_to_have_not_answered() {
        let ev = EtcdEvidence {
            collection_errors: vec![format!("http://127.0.0.1:2379{REPORTS}\"etcdserver: no leader\"")],
            ..EtcdEvidence::default()
        };
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        assert_eq!(out.len(), 1);
        assert!(out[0].title.starts_with("etcd member reports a problem: "), "{}", out[0].title);
        assert!(!out[0].title.contains("did not answer"), "{}", out[0].title);
        assert_eq!(out[0].subject.name, "http://127.0.0.1:2379");
    }

    /// Regression review s20 N1: a key scan refused ("user name is empty"), cut short by
    /// compactions, or an alarm list without a leader were titled "etcd did not answer" with
    /// "is etcd running" remedies, though the member answered.
    #[test]
    fn a_failed_key_scan_or_alarm_read_is_not_said_to_be_a_member_that_did_not_answer() {
        let ev = EtcdEvidence {
            collection_errors: vec![
                "http://127.0.0.1:2379/v3/kv/range: HTTP 400: etcdserver: user name is empty: authentication is enabled".into(),
                "http://127.0.0.1:2379/v3/maintenance/alarm: HTTP 500: context deadline exceeded: the alarms were not read".into(),
            ],
            ..EtcdEvidence::default()
        };
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        let titles: Vec<&str> = out.iter().map(|f| f.title.as_str()).collect();
        assert!(titles[0].starts_with("etcd key scan failed: "), "{titles:?}");
        assert!(titles[1].starts_with("etcd alarms could not be read: "), "{titles:?}");
        assert!(
            out.iter().all(|f| f.remedies.is_empty() && !f.summary.contains("numbers are missing")),
            "{out:#?}"
        );
    }

    /// etcd review item 7: the key scan's title was `etcd key scan failed: …/v3/kv/range: HTTP
    /// 400: {"error":…`, cut off in the list before its explanation.
    #[test]
    fn raw_etcd_json_error_bodies_are_not_the_title() {
        let ev = EtcdEvidence {
            collection_errors: vec![
                "http://127.0.0.1:2379/v3/kv/range: HTTP 400: etcd said \"user name is empty\": authentication is enabled".into(),
                "http://127.0.0.1:2379/v3/kv/range: HTTP 400: etcd said \"permission denied\": the etcd user has no read permission".into(),
            ],
            ..EtcdEvidence::default()
        };
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        let titles: Vec<&str> = out.iter().map(|f| f.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "etcd key scan failed: it needs an etcd user (authentication is on): pass --user",
                "etcd key scan failed: the etcd user may not read these keys"
            ]
        );
        assert!(out[0].summary.contains("etcd said \"user name is empty\""), "{}", out[0].summary);
    }

    /// etcd review item 9: a mistyped endpoint, not in the member list, was "etcd did not
    /// answer … This member's numbers are missing from the report".
    #[test]
    fn an_endpoint_not_in_the_member_list_is_not_reported_as_a_dead_member() {
        let ev = EtcdEvidence {
            collection_errors: vec![format!(
                "http://127.0.0.1:23799/v3/maintenance/status: connection refused{}: none of the member list's client \
                 URLs (http://127.0.0.1:23790)",
                crate::NOT_A_MEMBER
            )],
            ..EtcdEvidence::default()
        };
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        assert_eq!(out[0].title, "etcd endpoint http://127.0.0.1:23799 is not a member of this cluster");
        assert!(!out[0].summary.contains("This member's numbers"), "{}", out[0].summary);
        assert!(out[0].summary.contains("check --endpoints"), "{}", out[0].summary);
    }

    /// etcd review item 18: ETC010's subject was the request URL with its API path, and its
    /// documented remedies (process, certificates, `etcdctl endpoint health`) were missing.
    #[test]
    fn an_unreachable_member_is_named_by_its_endpoint_and_gets_the_documented_remedies() {
        let ev = EtcdEvidence {
            collection_errors: vec![
                "http://127.0.0.1:23794/v3/maintenance/status: io: Connection refused".into(),
            ],
            ..EtcdEvidence::default()
        };
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        assert_eq!(out[0].subject.name, "http://127.0.0.1:23794");
        let text: String = out[0].remedies.iter().map(|r| format!("{}\n", r.body)).collect();
        assert!(text.contains("endpoint health"), "{text}");
        assert!(text.contains("certificate"), "{text}");
        assert!(text.contains("logs") || text.contains("log lines"), "{text}");
    }
}
