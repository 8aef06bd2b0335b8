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
    doc: r#"## What it detects
Endpoints given with `--endpoints` that did not answer a status request or whose `/metrics`
could not be read (connection refused, TLS error, timeout), with the error.

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
    for error in &ev.collection_errors {
        let subject = error.split(": ").next().unwrap_or(error).to_owned();
        out.push(
            Draft {
                severity: Severity::Warning,
                title: format!("etcd did not answer: {error}"),
                subject: Subject::new("etcd-member", subject),
                summary: format!(
                    "A request to etcd failed: {error}. This member's numbers are missing from the report."
                ),
                source: "etcd".to_owned(),
                measures: vec![],
                table: None,
                thresholds: vec![],
                remedies: vec![],
            }
            .into_finding(&INFO, t),
        );
    }
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
        assert_eq!(out[0].subject.name, "https://10.0.0.7:2379/v3/maintenance/status");
    }
}
