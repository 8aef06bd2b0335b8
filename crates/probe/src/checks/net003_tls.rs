//! NET003 api-tls: the TLS handshake with the API server fails.

use findings::{CheckInfo, Draft, EvidenceKind, Finding, Measure, Severity, Thresholds};

use super::{advice, command, subject};
use crate::{HttpFailure, ProbeEvidence};

/// NET003.
pub const INFO: CheckInfo = CheckInfo {
    code: "NET003",
    name: "api-tls",
    default_severity: Severity::Critical,
    evidence: EvidenceKind::Network,
    doc: r#"## What it detects
A TLS handshake with the API server that fails, with the reason: a certificate signed by an
authority not given (`--cacert`) or trusted, an expired certificate, a certificate for
another name, or a handshake cut by something on the path (a TLS-inspecting proxy).

## Why it matters
Every client verifies the API server's certificate. A certificate that expired, or that a
proxy replaced, stops kubectl and the nodes alike; after a certificate rotation, clients with
the old CA bundle fail the same way.

## Example
`invalid peer certificate: UnknownIssuer` without `--cacert`: give the cluster's CA
(kubeconfig's `certificate-authority-data`, base64-decoded).

## Remedy
Give the cluster's CA with `--cacert`; look at the certificate the server presents (`openssl
s_client -connect HOST:443 -servername HOST`); on AKS, rotate expired cluster certificates
with `az aks rotate-certs`; exempt the API server from TLS inspection.

## References
- AKS: certificate rotation: https://learn.microsoft.com/azure/aks/certificate-rotation
- Kubernetes: PKI certificates and requirements: https://kubernetes.io/docs/setup/best-practices/certificates/
"#,
};

/// Runs NET003.
pub fn run(ev: &ProbeEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    let Some((_, message)) =
        ev.http.iter().filter_map(|a| a.failure.as_ref()).find(|(kind, _)| *kind == HttpFailure::Tls)
    else {
        return;
    };
    let host = &ev.target.host;
    let why = if message.contains("UnknownIssuer") {
        " The certificate is signed by an authority not trusted here: give the cluster's CA with --cacert (kubeconfig's certificate-authority-data, base64-decoded)."
    } else if message.contains("Expired") || message.contains("expired") {
        " The server's certificate has expired."
    } else if message.contains("NotValidForName") {
        " The certificate is for another name: is a proxy in the way, or is this the right address?"
    } else {
        ""
    };
    out.push(Draft {
            severity: Severity::Critical,
            title: format!("TLS with the API server at {host} fails"),
            subject: subject(ev),
            summary: format!("The TLS handshake with {}:{} failed: {message}.{why}", host, ev.target.port),
            source: ev.source(),
            measures: vec![Measure::new("failed handshakes", 1.0, "count")],
            table: None,
            thresholds: Vec::new(),
            remedies: vec![
            command(
                "Look at the certificate the server presents",
                format!(
                    "openssl s_client -connect {host}:{} -servername {host} </dev/null 2>/dev/null | openssl x509 -noout -subject -issuer -dates",
                    ev.target.port
                ),
            ),
            advice(
                "Trust the cluster's CA, renew an expired certificate",
                "Give the cluster's CA with --cacert (kubeconfig's certificate-authority-data, base64-decoded). On AKS, rotate expired cluster certificates with `az aks rotate-certs`. Exempt the API server from TLS inspection on proxies.",
            ),
        ],
        }
        .into_finding(&INFO, t));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testutil::{failure, healthy};

    #[test]
    fn a_failed_handshake_is_critical_with_its_reason_explained() {
        let mut ev = healthy();
        ev.http = vec![failure(HttpFailure::Tls, "invalid peer certificate: UnknownIssuer")];
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        assert_eq!(out[0].severity, Severity::Critical);
        assert!(out[0].summary.contains("give the cluster's CA with --cacert"), "{}", out[0].summary);
        let mut ev = healthy();
        ev.http = vec![failure(HttpFailure::Timeout, "timeout")];
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        assert!(out.is_empty(), "a timeout is not a TLS failure");
    }
}
