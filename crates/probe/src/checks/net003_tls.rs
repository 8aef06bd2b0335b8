//! NET003 api-tls: the TLS handshake with the API server fails.

use findings::{CheckInfo, Draft, EvidenceKind, Finding, Measure, Severity, Thresholds};

use super::{advice, command, subject};
use crate::{ProbeEvidence, TlsProblem};

/// NET003.
pub const INFO: CheckInfo = CheckInfo {
    code: "NET003",
    name: "api-tls",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::Network,
    thresholds: &[],
    doc: r#"## What it detects
A TLS handshake with the API server that fails, told from the error's type, with what to do:
a certificate signed by an authority not given (`--cacert`, the kubeconfig's CA) or trusted
(the system's roots), an expired or not yet valid certificate, a certificate for another name,
a CA certificate served as the server's own (kubectl accepts it, stricter clients do not;
when no root trusted vouches for its issuer, it is told first as an unknown authority, as
kubectl would, with the CA-as-leaf noted);
a server that requires a client certificate (warning: something in front of the API server),
no TLS version in common, plain HTTP on the TLS port, a handshake reset or that never
finishes (a firewall, a TLS-inspecting proxy, a path MTU black hole). Critical when every
handshake fails, a warning when only some do. With the kubeconfig's `insecure-skip-tls-verify`,
an info finding says that the certificate was not verified; a kubeconfig that sets it beside a
CA, which kubectl refuses, is a warning (the certificate is verified with the CA).
When the name has several addresses and some fail every handshake while others work (one
control-plane node with an expired certificate), the finding names them (warning); an
address with a lasting failure is not asked again, the others are.

## Why it matters
Every client verifies the API server's certificate. A certificate that expired, or that a
proxy replaced, stops kubectl and the nodes alike; after a certificate rotation, clients with
the old CA bundle fail the same way.

## Example
"the server's certificate is not signed by a trusted authority (unknown issuer)" without
`--cacert`: give the cluster's CA (kubeconfig's `certificate-authority-data`, base64-decoded).

## Remedy
Give the cluster's CA with `--cacert`; look at the certificate the server presents (`openssl
s_client -connect HOST:443 -servername HOST`); on AKS, rotate expired cluster certificates
with `az aks rotate-certs`; exempt the API server from TLS inspection.

## References
- AKS: certificate rotation: https://learn.microsoft.com/azure/aks/certificate-rotation
- Kubernetes: PKI certificates and requirements: https://kubernetes.io/docs/setup/best-practices/certificates/
"#,
};

/// Why the handshake failed, and what to do, for `problem`; `said` is the failure's own words,
/// so that what they name already (the name a certificate is not for) is not named again.
fn explain(ev: &ProbeEvidence, problem: TlsProblem, said: &str) -> (String, String) {
    let name = ev.server_name.as_deref().unwrap_or(&ev.target.host);
    let issuer = ev.certificate.as_ref().map(|c| format!(" (issuer {})", c.issuer)).unwrap_or_default();
    let trust = &ev.trust;
    match problem {
        TlsProblem::UnknownIssuer if ev.ca_given => (
            format!(
                "The certificate{issuer} is not signed by {trust}: the cluster's CA may have been rotated (get the current one from the cluster or its provider), the file may be another cluster's, or something on the path (a TLS-inspecting proxy) re-signs the certificate."
            ),
            "Compare the issuer above with the CA given (`openssl x509 -noout -subject -in CA.crt`). After a CA rotation, refresh the kubeconfig (AKS: `az aks get-credentials`). Exempt the API server from TLS inspection on proxies.".to_owned(),
        ),
        TlsProblem::UnknownIssuer => {
            // A CA certificate served as the server's own, that no root vouches for: first of
            // all untrusted (kubectl says "x509: certificate signed by unknown authority" too).
            let also = if ev.ca_served_as_leaf {
                " It is also a CA certificate (basic constraints CA:TRUE) served as the server's own: once its CA is given, clients built on Go (kubectl) accept it, but this probe and other strict clients (rustls, webpki, some proxies and service meshes) still refuse it."
            } else {
                ""
            };
            (
                format!(
                    "The certificate{issuer} is not signed by an authority in {trust}: give the cluster's CA with --cacert (kubeconfig's certificate-authority-data, base64-decoded).{also}"
                ),
                format!(
                    "Give the cluster's CA with --cacert (kubeconfig's certificate-authority-data, base64-decoded), or probe without a URL to use the kubeconfig's. Exempt the API server from TLS inspection on proxies.{}",
                    if ev.ca_served_as_leaf {
                        " For the strict clients, give the API server a serving certificate signed by its CA (CA:FALSE, extended key usage serverAuth, its names in subjectAltName)."
                    } else {
                        ""
                    }
                ),
            )
        }
        TlsProblem::Expired => (
            "The server's certificate has expired (unless this host's clock is far ahead: check `date -u`).".to_owned(),
            "Renew it: kubeadm `kubeadm certs renew all` on each control-plane node; AKS `az aks rotate-certs`.".to_owned(),
        ),
        TlsProblem::NotYetValid => (
            "The certificate is not valid yet: this host's clock is probably behind (check `date -u` and NTP), or the certificate was just issued by a machine whose clock is ahead.".to_owned(),
            "Fix the clock (`timedatectl`, chrony/NTP) on this host, or on the machine that issued the certificate; then try again.".to_owned(),
        ),
        TlsProblem::WrongName => (
            format!(
                "{}s this the right address, or is a proxy in the way? When the server is reached by an address or another name, the kubeconfig's tls-server-name names what the certificate is for.",
                if said.contains(name) {
                    "I".to_owned()
                } else {
                    format!("The certificate is not for the name {name}: i")
                }
            ),
            "Compare the certificate's names (`openssl x509 -noout -ext subjectAltName`) with the address used; set tls-server-name in the kubeconfig, or use a name the certificate holds.".to_owned(),
        ),
        TlsProblem::CaAsServerCertificate => (
            "The server presents a CA certificate (basic constraints CA:TRUE) as its own serving certificate. TLS clients that check this (this probe, tools built on rustls or webpki, some proxies and service meshes) refuse it; clients built on Go's crypto/x509, kubectl among them, do not check it, so kubectl may work while this fails. It is usually a self-signed certificate used both as the CA and as the server's certificate.".to_owned(),
            "Give the API server a serving certificate signed by its CA (basic constraints CA:FALSE, extended key usage serverAuth, the server's names in subjectAltName), and keep the CA as the trust anchor (`openssl x509 -noout -text` on the certificate above shows `CA:TRUE`).".to_owned(),
        ),
        TlsProblem::OtherCertificate => (
            "The server's certificate is refused.".to_owned(),
            "Look at the certificate the server presents (command above).".to_owned(),
        ),
        TlsProblem::ClientCertificateRequired => (
            "The server wants a client certificate (mutual TLS) before it answers, and the probe sends none. A kube-apiserver asks for one but never requires it for /readyz: something in front of it (an mTLS gateway, a proxy) does. The network path up to it works; clients with the kubeconfig's client certificate may still get through.".to_owned(),
            "Find what terminates TLS in front of the API server (`openssl s_client` shows who asks, under 'Acceptable client certificate CA names'); probe the API server's own address if there is one.".to_owned(),
        ),
        TlsProblem::Incompatible => (
            "The server and the probe have no TLS version or cipher in common (the probe speaks TLS 1.2 and 1.3): the server, or a device in front of it, offers only an old version (TLS 1.0 or 1.1) or old ciphers.".to_owned(),
            format!(
                "See what it offers: `openssl s_client -connect {} -tls1_2` and `-tls1`. A kube-apiserver speaks TLS 1.2 and 1.3: an old device in front of it answers.",
                ev.target.authority()
            ),
        ),
        TlsProblem::NotTls => (
            "The server did not answer in TLS: something else listens on this port (plain HTTP: try http://; or another service: check the port).".to_owned(),
            format!(
                "Look at what answers: `curl -sv http://{}/readyz`. The API server's port is usually 443 or 6443.",
                ev.target.authority()
            ),
        ),
        TlsProblem::Reset => (
            "The connection was closed or reset during the handshake, before any answer: a firewall, proxy or SNI filter on the path cuts it, or the server is not a TLS server.".to_owned(),
            "Try the handshake by hand (command above) from here and from a host next to the API server; check firewalls and proxies that filter by server name (SNI).".to_owned(),
        ),
        TlsProblem::Timeout => (
            format!(
                "TCP connects, but the handshake did not finish within {} s: large packets (the certificate) lost on the path (a path MTU black hole: check the MTU of VPNs and tunnels), a TLS-inspecting middlebox that hangs, or an overloaded server.",
                ev.timeout_seconds
            ),
            "Try the handshake by hand (command above); test the path MTU (`ping -M do -s 1400 HOST`, then smaller sizes); check middleboxes on the path.".to_owned(),
        ),
        TlsProblem::Other => (
            String::new(),
            "Try the handshake by hand (command above), from here and from a host next to the API server.".to_owned(),
        ),
    }
}

/// A kubeconfig that sets both a CA and `insecure-skip-tls-verify`: kubectl refuses it.
fn ca_and_insecure(ev: &ProbeEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    let Some(cluster) = &ev.kubeconfig_ca_and_insecure else { return };
    out.push(
        Draft {
            severity: Severity::Warning,
            title: format!(
                "kubectl refuses the kubeconfig's cluster {cluster}: it sets both a CA and insecure-skip-tls-verify"
            ),
            subject: subject(ev),
            summary: format!(
                "The kubeconfig's cluster {cluster} sets insecure-skip-tls-verify: true beside its CA (certificate-authority-data or certificate-authority). kubectl refuses the two together (\"specifying a root certificates file with the insecure flag is not allowed\") before it connects, so kubectl with this kubeconfig fails whatever the network and the API server do. The probe verified the server's certificate with the CA, as kubectl will once insecure-skip-tls-verify is removed: unless another NET003 finding says otherwise, the CA is right and removing insecure-skip-tls-verify is the fix."
            ),
            source: ev.source(),
            measures: Vec::new(),
            table: None,
            thresholds: Vec::new(),
            remedies: vec![
                command(
                    "Keep the CA, stop skipping verification",
                    format!("kubectl config unset clusters.{cluster}.insecure-skip-tls-verify"),
                ),
                advice(
                    "Remove one of the two",
                    "Keep the CA and remove insecure-skip-tls-verify (the certificate is then verified; if the probe finds it trusted, that is all). Only if the CA is stale and cannot be refreshed, remove certificate-authority-data (or certificate-authority) instead, which leaves the connection unverified. Add --kubeconfig FILE to the command for a file other than the default.",
                ),
            ],
        }
        .into_finding(&INFO, t),
    );
}

/// Runs NET003.
pub fn run(ev: &ProbeEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    ca_and_insecure(ev, t, out);
    let failed: Vec<_> = ev.http.iter().filter(|a| a.failed_in_tls()).collect();
    let Some(first) = failed.first() else {
        if ev.insecure && !ev.http.is_empty() {
            let host = &ev.target.host;
            out.push(
                Draft {
                    severity: Severity::Info,
                    title: format!("The certificate of the API server at {host} is not verified (insecure-skip-tls-verify)"),
                    subject: subject(ev),
                    summary: "The kubeconfig sets insecure-skip-tls-verify, so the probe, like kubectl, did not verify the server's certificate: the handshakes worked, but anyone on the path could impersonate the API server. A rotated CA is not seen this way (an expired certificate is: NET005).".to_owned(),
                    source: ev.source(),
                    measures: vec![Measure::new("handshakes tried", ev.http.len() as f64, "count")],
                    table: None,
                    thresholds: Vec::new(),
                    remedies: vec![advice(
                        "Verify the certificate",
                        "Put the cluster's CA in the kubeconfig (certificate-authority-data) and remove insecure-skip-tls-verify; or probe with --cacert CA.crt, which verifies whatever the kubeconfig says.",
                    )],
                }
                .into_finding(&INFO, t),
            );
        }
        return;
    };
    // Several addresses, some failing every handshake while others work (review M2: one
    // control-plane node with an expired certificate): name them.
    let mut addresses: Vec<std::net::SocketAddr> = ev.http.iter().filter_map(|a| a.address).collect();
    addresses.sort();
    addresses.dedup();
    let bad: Vec<std::net::SocketAddr> = addresses
        .iter()
        .copied()
        .filter(|addr| ev.http.iter().filter(|a| a.address == Some(*addr)).all(|a| a.failed_in_tls()))
        .collect();
    let by_address =
        ev.proxy_used().is_none() && addresses.len() > 1 && !bad.is_empty() && bad.len() < addresses.len();
    let first = if by_address {
        failed.iter().find(|a| a.address.is_some_and(|x| bad.contains(&x))).unwrap_or(first)
    } else {
        first
    };
    // Without the step's own `TLS handshake: ` (the summary says it is the handshake).
    let message = first.failure.as_ref().map(|f| f.1.as_str()).unwrap_or("");
    let message =
        ["TLS handshake: ", "TLS: "].iter().find_map(|p| message.strip_prefix(p)).unwrap_or(message);
    let problem = first.tls_problem.unwrap_or(TlsProblem::Other);
    let host = &ev.target.host;
    let (why, what) = explain(ev, problem, message);
    let tried = ev.http.len();
    let all = failed.len() == tried;
    let (severity, title) = match (all, problem) {
        _ if by_address => {
            let does = match problem {
                TlsProblem::Expired => "presents an expired certificate",
                TlsProblem::NotYetValid => "presents a certificate not valid yet",
                TlsProblem::UnknownIssuer => "presents a certificate not signed by the CA trusted",
                TlsProblem::WrongName => "presents a certificate for another name",
                TlsProblem::CaAsServerCertificate => "presents a CA certificate as its own",
                TlsProblem::ClientCertificateRequired => "requires a client certificate",
                _ => "fails every TLS handshake",
            };
            let does = if bad.len() == 1 {
                does.to_owned()
            } else {
                let (verb, rest) = does.split_once(' ').unwrap_or((does, ""));
                format!("{} {rest}", verb.trim_end_matches('s'))
            };
            (
                Severity::Warning,
                format!(
                    "{} of {} API server addresses {does}: {}",
                    bad.len(),
                    addresses.len(),
                    bad.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                ),
            )
        }
        (true, TlsProblem::ClientCertificateRequired) => {
            (Severity::Warning, format!("The server at {host} requires a client certificate (mutual TLS)"))
        }
        (true, _) => (Severity::Critical, format!("TLS with the API server at {host} fails")),
        (false, _) => (
            Severity::Warning,
            format!("{} of {tried} TLS handshakes with the API server at {host} failed", failed.len()),
        ),
    };
    let retried = if all && problem.is_lasting() && tried == 1 {
        "Not retried: another attempt would meet the same.".to_owned()
    } else if all && problem.is_lasting() && tried == addresses.len() {
        format!(
            "Each of the {tried} addresses was tried once, not again: another attempt would meet the same."
        )
    } else if by_address {
        let others = failed.iter().filter(|a| a.address.is_none_or(|x| !bad.contains(&x))).count();
        format!(
            "The handshakes with the other {} worked: a client that picks {} fails every time, one that picks another works.{}",
            if addresses.len() - bad.len() == 1 {
                "address".to_owned()
            } else {
                format!("{} addresses", addresses.len() - bad.len())
            },
            // The title names the addresses.
            if bad.len() == 1 { "the failing one" } else { "one of the failing ones" },
            if others > 0 {
                format!(" Besides, {others} handshake(s) with the other addresses failed.")
            } else {
                String::new()
            }
        )
    } else {
        String::new()
    };
    // `[::1]:6443`, not `::1:6443` (review L1); no -servername for an address: openssl
    // refuses an IPv6 one, and a client sends no SNI for an address anyway.
    let authority = match first.address {
        Some(a) if by_address => a.to_string(),
        _ => ev.target.authority(),
    };
    let sni = ev.server_name.as_deref().unwrap_or(host);
    let servername =
        if sni.parse::<std::net::IpAddr>().is_ok() { String::new() } else { format!(" -servername {sni}") };
    out.push(Draft {
        severity,
        title,
        subject: subject(ev),
        summary: [
            // The title names the server, or the one address failing: its address is not said
            // again (review: `TLS with the API server at 10.0.0.1 fails`, then `The TLS
            // handshake with 10.0.0.1:443 failed: TLS handshake: …`).
            if by_address && bad.len() > 1 {
                format!("The TLS handshake with {authority} failed: {message}.")
            } else {
                format!("The TLS handshake failed: {message}.")
            },
            why,
            retried,
            if problem.is_certificate() && problem != TlsProblem::UnknownIssuer {
                format!("The certificate is verified against {}.", ev.trust)
            } else {
                String::new()
            },
        ]
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" "),
        source: ev.source(),
        measures: vec![
            Measure::new("handshakes tried", tried as f64, "count"),
            Measure::new("failed handshakes", failed.len() as f64, "count"),
        ],
        table: None,
        thresholds: Vec::new(),
        remedies: vec![
            command(
                "Look at the handshake and the certificate the server presents",
                format!(
                    "openssl s_client -connect {authority}{servername} </dev/null 2>/dev/null | openssl x509 -noout -subject -issuer -dates"
                ),
            ),
            advice("What to do", &what),
        ],
    }
    .into_finding(&INFO, t));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HttpFailure;
    use crate::checks::testutil::{failure, healthy, tls_failure};

    fn judge(ev: &ProbeEvidence) -> Vec<Finding> {
        let mut out = Vec::new();
        run(ev, &Thresholds::default(), &mut out);
        out
    }

    #[test]
    fn a_failed_handshake_is_critical_with_its_reason_explained() {
        let mut ev = healthy();
        ev.http = vec![tls_failure(TlsProblem::UnknownIssuer, "invalid peer certificate: UnknownIssuer")];
        let out = judge(&ev);
        assert_eq!(out[0].severity, Severity::Critical);
        assert!(out[0].summary.contains("give the cluster's CA with --cacert"), "{}", out[0].summary);
        assert!(
            out[0].summary.contains("not signed by an authority in the system's roots ("),
            "{}",
            out[0].summary
        );
        let mut ev = healthy();
        ev.http = vec![failure(HttpFailure::Timeout, "timeout")];
        assert!(judge(&ev).is_empty(), "a timeout after the handshake is not a TLS failure");
    }

    #[test]
    fn an_insecure_kubeconfig_is_said_to_be_insecure() {
        let mut ev = healthy();
        ev.insecure = true;
        let out = judge(&ev);
        assert_eq!(out[0].severity, Severity::Info);
        assert!(out[0].title.contains("is not verified (insecure-skip-tls-verify)"), "{}", out[0].title);
    }

    #[test]
    fn a_given_ca_that_does_not_verify_the_chain_is_not_asked_for_again() {
        let mut ev = healthy();
        ev.ca_given = true;
        ev.trust = "the CA of cluster k1 in kc/rotated.yaml (certificate-authority-data)".to_owned();
        ev.http = vec![tls_failure(TlsProblem::UnknownIssuer, "invalid peer certificate: UnknownIssuer")];
        let out = judge(&ev);
        let s = &out[0].summary;
        assert!(!s.contains("give the cluster's CA"), "{s}");
        assert!(
            s.contains("The certificate (issuer CN=kubernetes) is not signed by the CA of cluster k1 in kc/rotated.yaml (certificate-authority-data): the cluster's CA may have been rotated"),
            "{s}"
        );
    }

    /// Review L1: `https://[::1]:18504` read "The TLS handshake with ::1:18504" and gave
    /// `openssl s_client -connect ::1:18504 -servername ::1`, which fails. (The summary names
    /// no address since the title names the server: see `net_findings_named_the_address_twice`.)
    #[test]
    fn an_ipv6_address_was_run_together_with_its_port_and_sent_as_servername() {
        let mut ev = healthy();
        ev.target.url = "https://[::1]:18504".to_owned();
        ev.target.host = "::1".to_owned();
        ev.target.port = 18504;
        ev.http = vec![tls_failure(TlsProblem::Reset, "TLS handshake: the connection was closed or reset")];
        let out = judge(&ev);
        assert!(out[0].summary.starts_with("The TLS handshake failed: the connection"), "{}", out[0].summary);
        assert!(!out[0].summary.contains("::1:18504"), "{}", out[0].summary);
        let openssl = &out[0].remedies[0].body;
        assert!(openssl.starts_with("openssl s_client -connect [::1]:18504 </dev/null"), "{openssl}");
        // An IPv4 address: no -servername either; a name, or tls-server-name: sent.
        ev.target.host = "10.0.0.1".to_owned();
        assert!(!judge(&ev)[0].remedies[0].body.contains("-servername"));
        ev.server_name = Some("kubernetes.default.svc".to_owned());
        assert!(
            judge(&ev)[0].remedies[0]
                .body
                .starts_with("openssl s_client -connect 10.0.0.1:18504 -servername kubernetes.default.svc "),
            "{}",
            judge(&ev)[0].remedies[0].body
        );
        let ev = {
            let mut ev = healthy();
            ev.http = vec![tls_failure(TlsProblem::Reset, "x")];
            ev
        };
        assert!(
            judge(&ev)[0].remedies[0]
                .body
                .starts_with("openssl s_client -connect api.example.com:443 -servername api.example.com "),
            "{}",
            judge(&ev)[0].remedies[0].body
        );
    }

    #[test]
    fn wrong_name_and_not_yet_valid_certificates_get_their_hints_from_the_error_kind() {
        let mut ev = healthy();
        ev.http = vec![tls_failure(
            TlsProblem::WrongName,
            "certificate not valid for name \"127.0.0.1\"; certificate is only valid for DnsName(\"x\")",
        )];
        let out = judge(&ev);
        assert!(out[0].summary.contains("is not for the name api.example.com"), "{}", out[0].summary);
        assert!(out[0].summary.contains("tls-server-name"), "{}", out[0].summary);
        ev.http = vec![tls_failure(TlsProblem::NotYetValid, "certificate not valid yet")];
        let out = judge(&ev);
        assert!(out[0].summary.contains("clock is probably behind"), "{}", out[0].summary);
    }

    #[test]
    fn tls_failures_that_are_not_certificate_errors_are_told_apart() {
        for (problem, says) in [
            (TlsProblem::ClientCertificateRequired, "wants a client certificate"),
            (TlsProblem::Incompatible, "no TLS version or cipher in common"),
            (TlsProblem::NotTls, "did not answer in TLS"),
            (TlsProblem::Reset, "closed or reset during the handshake"),
            (TlsProblem::Timeout, "did not finish within 5 s"),
        ] {
            let mut ev = healthy();
            ev.http = vec![tls_failure(problem, "x"); 4];
            let out = judge(&ev);
            assert_eq!(out.len(), 1, "{problem:?}");
            assert!(out[0].summary.contains(says), "{problem:?}: {}", out[0].summary);
            assert!(!out[0].summary.contains("etcd"), "{}", out[0].summary);
        }
        // Some handshakes failing, others not: a warning counting them.
        let mut ev = healthy();
        ev.http[1] = tls_failure(TlsProblem::Reset, "TLS handshake: the connection was closed or reset");
        let out = judge(&ev);
        assert_eq!(
            (out[0].severity, out[0].title.as_str()),
            (Severity::Warning, "1 of 4 TLS handshakes with the API server at api.example.com failed")
        );
    }
}
