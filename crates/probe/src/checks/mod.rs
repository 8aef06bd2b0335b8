//! The connectivity checks (codes `NET…`), one file each, in a stable order. Each reads
//! [`ProbeEvidence`] only: no I/O, no printing.

use findings::{CheckInfo, Finding, Remedy, RemedyKind, Safety, Subject, Thresholds, remedy};

use crate::ProbeEvidence;

mod net001_dns;
mod net002_tcp;
mod net003_tls;
mod net004_health;
mod net005_certificate;

const INFOS: [CheckInfo; 5] =
    [net001_dns::INFO, net002_tcp::INFO, net003_tls::INFO, net004_health::INFO, net005_certificate::INFO];

/// Every connectivity check, in registry order.
pub fn infos() -> &'static [CheckInfo] {
    &INFOS
}

/// Runs every connectivity check; findings come in registry order.
pub fn run(ev: &ProbeEvidence, t: &Thresholds) -> Vec<Finding> {
    let mut out = Vec::new();
    net001_dns::run(ev, t, &mut out);
    net002_tcp::run(ev, t, &mut out);
    net003_tls::run(ev, t, &mut out);
    net004_health::run(ev, t, &mut out);
    net005_certificate::run(ev, t, &mut out);
    out
}

/// What the findings are about: the API server's address.
fn subject(ev: &ProbeEvidence) -> Subject {
    Subject::new("apiserver", ev.target.authority())
}

fn command(title: &str, body: String) -> Remedy {
    remedy(title, RemedyKind::Command, Safety::Safe, body)
}

fn advice(title: &str, body: &str) -> Remedy {
    remedy(title, RemedyKind::Advice, Safety::Safe, body)
}

#[cfg(test)]
pub(crate) mod testutil {
    use std::net::SocketAddr;

    use crate::{Dns, HttpAttempt, HttpFailure, ProbeEvidence, Target, TcpAttempt, TlsProblem};

    /// A probe of `https://api.example.com:443` that went well all the way.
    pub fn healthy() -> ProbeEvidence {
        let address: SocketAddr = "10.0.0.1:443".parse().expect("address");
        let ok = |path: &str| HttpAttempt {
            seconds: 0.02,
            status: Some(200),
            body: "[+]ping ok\n[+]etcd ok\nreadyz check passed\n".to_owned(),
            address: Some(address),
            tls_seconds: Some(0.01),
            ..HttpAttempt::new(path)
        };
        ProbeEvidence {
            target: Target {
                url: "https://api.example.com".to_owned(),
                scheme: "https".to_owned(),
                host: "api.example.com".to_owned(),
                port: 443,
                path: String::new(),
            },
            dns: Some(Dns { addresses: vec![address], seconds: 0.003, error: None, given: false }),
            tcp: vec![TcpAttempt { address, seconds: 0.004, error: None, no_route: false }; 3],
            http: vec![
                ok("/readyz?verbose"),
                ok("/readyz?verbose"),
                ok("/readyz?verbose"),
                ok("/livez?verbose"),
            ],
            certificate_error: None,
            certificate: Some(crate::Certificate {
                subject: "CN=kube-apiserver".to_owned(),
                issuer: "CN=kubernetes".to_owned(),
                not_after_unix: 1_900_000_000,
                not_after: "2030-03-17".to_owned(),
                days_left: 300.0,
                issuer_der: Vec::new(),
                address: None,
            }),
            certificates: Vec::new(),
            proxy: None,
            trust: "the system's roots (/etc/ssl/certs/ca-certificates.crt)".to_owned(),
            ca_given: false,
            ca_served_as_leaf: false,
            insecure: false,
            kubeconfig_ca_and_insecure: None,
            server_name: None,
            timeout_seconds: 5.0,
        }
    }

    pub fn failure(kind: HttpFailure, message: &str) -> HttpAttempt {
        HttpAttempt {
            seconds: 0.1,
            failure: Some((kind, message.to_owned())),
            ..HttpAttempt::new("/readyz?verbose")
        }
    }

    pub fn tls_failure(problem: TlsProblem, message: &str) -> HttpAttempt {
        HttpAttempt { tls_problem: Some(problem), ..failure(HttpFailure::Tls, message) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_has_the_fixed_doc_headings_and_a_healthy_probe_gives_nothing() {
        for info in infos() {
            assert!(info.code.starts_with("NET"), "{}", info.code);
            assert_eq!(info.missing_doc_heading(), None, "{}", info.code);
        }
        assert_eq!(run(&testutil::healthy(), &Thresholds::default()), Vec::new());
    }
}
