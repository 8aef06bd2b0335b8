//! The network path from here to a Kubernetes API server, step by step: DNS, TCP to every
//! address, TLS, then `/readyz?verbose` and `/livez?verbose`; and the connectivity checks
//! (codes `NET…`) that judge what was seen. [`collect`] does the I/O; the checks read its
//! [`ProbeEvidence`] only.

mod certificate;
pub mod checks;
mod collect;
pub mod kubeconfig;

pub use collect::{ProbeError, ProbeOptions, collect};
pub use kubeconfig::Ca;

use std::net::SocketAddr;

/// The URL probed, split.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Target {
    /// The URL as given.
    pub url: String,
    /// `https` or `http`.
    pub scheme: String,
    /// Host name or address.
    pub host: String,
    /// Port (443 or 80 when the URL names none).
    pub port: u16,
}

/// Name resolution.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Dns {
    /// The addresses found (none when it failed).
    pub addresses: Vec<SocketAddr>,
    /// Seconds it took.
    pub seconds: f64,
    /// Why it failed.
    pub error: Option<String>,
}

/// One TCP connection attempt.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TcpAttempt {
    /// The address tried.
    pub address: SocketAddr,
    /// Seconds to connect, or to fail.
    pub seconds: f64,
    /// Why it failed (refused, timed out, unreachable).
    pub error: Option<String>,
}

/// What kind of failure an HTTP(S) request met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HttpFailure {
    /// The TLS handshake or the server's certificate.
    Tls,
    /// No answer in time.
    Timeout,
    /// Anything else on the way (connection, protocol).
    Transport,
}

/// One request to a health endpoint.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HttpAttempt {
    /// `/readyz?verbose` or `/livez?verbose`.
    pub path: String,
    /// Seconds to the answer (or to the failure).
    pub seconds: f64,
    /// The HTTP status, when an answer came.
    pub status: Option<u16>,
    /// The answer's text (at most 16 KiB).
    pub body: String,
    /// The failure, when no answer came.
    pub failure: Option<(HttpFailure, String)>,
}

/// The steps as lines for a terminal: what was resolved, connected and answered, with times.
pub fn render_steps(ev: &ProbeEvidence) -> String {
    let ms = |s: f64| format!("{:.1} ms", s * 1000.0);
    let mut out = format!(
        "Probe of {}
",
        ev.target.url
    );
    match &ev.dns {
        None => out.push_str(&format!("  DNS   {} is an address\n", ev.target.host)),
        Some(d) => match &d.error {
            Some(e) => out.push_str(&format!(
                "  DNS   {} did not resolve in {}: {e}\n",
                ev.target.host,
                ms(d.seconds)
            )),
            None => out.push_str(&format!(
                "  DNS   {} -> {} in {}\n",
                ev.target.host,
                d.addresses.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>().join(", "),
                ms(d.seconds)
            )),
        },
    }
    for a in &ev.tcp {
        match &a.error {
            None => out.push_str(&format!("  TCP   {} connected in {}\n", a.address, ms(a.seconds))),
            Some(e) => out.push_str(&format!("  TCP   {} failed after {}: {e}\n", a.address, ms(a.seconds))),
        }
    }
    match (&ev.certificate, &ev.certificate_error) {
        (Some(c), _) => out.push_str(&format!(
            "  CERT  {} issued by {}, valid until {} ({:.0} days left)\n",
            c.subject, c.issuer, c.not_after, c.days_left
        )),
        (None, Some(e)) => out.push_str(&format!("  CERT  not read: {e}\n")),
        (None, None) => {}
    }
    for a in &ev.http {
        let what = if ev.target.scheme == "https" { "TLS+HTTP" } else { "HTTP" };
        match (&a.status, &a.failure) {
            (Some(status), _) => {
                let failed = failed_checks(&a.body);
                let note = if failed.is_empty() {
                    String::new()
                } else {
                    format!(" (failing: {})", failed.join(", "))
                };
                out.push_str(&format!("  {what} {} -> {status} in {}{note}\n", a.path, ms(a.seconds)));
            }
            (None, Some((_, e))) => {
                out.push_str(&format!("  {what} {} failed after {}: {e}\n", a.path, ms(a.seconds)))
            }
            (None, None) => {}
        }
    }
    out
}

/// The certificate the API server presented.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Certificate {
    /// Its subject (RFC 4514).
    pub subject: String,
    /// Its issuer (RFC 4514).
    pub issuer: String,
    /// Its `notAfter`, in seconds since the epoch.
    pub not_after_unix: i64,
    /// Its `notAfter` as a date, `YYYY-MM-DD` (UTC).
    pub not_after: String,
    /// Days from the probe to `notAfter` (negative once expired).
    pub days_left: f64,
}

/// Everything seen on the way to the API server.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ProbeEvidence {
    /// What was probed.
    pub target: Target,
    /// Name resolution (`None` when the host is an address).
    pub dns: Option<Dns>,
    /// TCP connections, every address `attempts` times.
    pub tcp: Vec<TcpAttempt>,
    /// Health requests: `/readyz?verbose` `attempts` times, then `/livez?verbose` once.
    pub http: Vec<HttpAttempt>,
    /// The certificate presented (https only, when a TCP connection succeeded).
    pub certificate: Option<Certificate>,
    /// Why the certificate could not be read, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_error: Option<String>,
}

impl ProbeEvidence {
    /// `probe:URL`, the evidence source every finding names.
    pub fn source(&self) -> String {
        format!("probe:{}", self.target.url)
    }
}

/// The checks of `readyz?verbose` that failed: the names of its `[-]NAME failed…` lines.
pub fn failed_checks(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|l| l.trim().strip_prefix("[-]"))
        .map(|rest| rest.split_whitespace().next().unwrap_or(rest).to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_readyz_checks_are_named() {
        let body = "[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\n[+]poststarthook/start-kube-aggregator-informers ok\n[-]poststarthook/crd-informer-synced failed: not finished\nreadyz check failed\n";
        assert_eq!(failed_checks(body), vec!["etcd", "poststarthook/crd-informer-synced"]);
        assert!(failed_checks("ok").is_empty());
    }
}
