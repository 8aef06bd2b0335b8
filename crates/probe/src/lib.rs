//! The network path from here to a Kubernetes API server, step by step: DNS, TCP to every
//! address, TLS, then `/readyz?verbose` and `/livez?verbose`; and the connectivity checks
//! (codes `NET…`) that judge what was seen. [`collect`] does the I/O; the checks read its
//! [`ProbeEvidence`] only.

mod certificate;
pub mod checks;
mod collect;
mod http;
pub mod kubeconfig;
pub mod proxy;

pub use collect::{ProbeError, ProbeOptions, collect, collect_with_progress};
/// A rustls error in plain words, for `etcd`'s TLS errors too.
pub use http::tls_error_words;
pub use kubeconfig::Ca;
pub use proxy::{Proxy, ProxySetting};

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
    /// The path the server is reached under, without a trailing `/` (empty for a plain
    /// API server; `/k8s/clusters/ID` behind a Rancher-style proxy, from a kubeconfig).
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub path: String,
}

impl Target {
    /// `host:port`, an IPv6 address in brackets (`[::1]:6443`) as in a URL: without them the
    /// address and the port ran together (review s42: `at ::1:1`).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
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
    /// The addresses were given (`ProbeOptions::addresses`), not resolved.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub given: bool,
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
    /// It failed at once because this host has no route to the address's network, or no
    /// local address of its family (`ENETUNREACH`, `EADDRNOTAVAIL`): typically an IPv6
    /// address on a host without IPv6, which Go clients skip for the IPv4 one.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub no_route: bool,
}

/// What kind of failure an HTTP(S) request met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HttpFailure {
    /// The TLS step: the handshake or the server's certificate (the problem is in
    /// [`HttpAttempt::tls_problem`]).
    Tls,
    /// No (complete) answer in time after the handshake.
    Timeout,
    /// Anything else on the way (connection, protocol, an answer cut short).
    Transport,
    /// The proxy did not open the tunnel: it refused `CONNECT` (the status is in
    /// [`HttpAttempt::proxy_status`]), or did not answer it.
    Proxy,
}

/// Why a TLS handshake failed, told from the error's type (not its text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsProblem {
    /// The certificate is not signed by a CA trusted here.
    UnknownIssuer,
    /// The certificate has expired.
    Expired,
    /// The certificate is not valid yet.
    NotYetValid,
    /// The certificate is for other names.
    WrongName,
    /// The server presents a CA certificate (basic constraints `CA:TRUE`) as its own.
    CaAsServerCertificate,
    /// Another certificate problem.
    OtherCertificate,
    /// The server wants a client certificate (mutual TLS): it said so with an alert
    /// (`certificate_required`, or another certificate or handshake alert after it asked for
    /// one). Asking alone is not wanting: a kube-apiserver asks on every handshake.
    ClientCertificateRequired,
    /// No TLS version or cipher in common.
    Incompatible,
    /// The server did not speak TLS (plain HTTP on the port, another protocol).
    NotTls,
    /// The connection was closed or reset during the handshake.
    Reset,
    /// The handshake did not finish in time.
    Timeout,
    /// The server ended the handshake with another alert, or another failure.
    Other,
}

impl TlsProblem {
    /// Problems that another attempt will meet again: not retried.
    pub fn is_lasting(self) -> bool {
        !matches!(self, TlsProblem::Reset | TlsProblem::Timeout | TlsProblem::Other)
    }

    /// A problem with the certificate itself.
    pub fn is_certificate(self) -> bool {
        matches!(
            self,
            TlsProblem::UnknownIssuer
                | TlsProblem::Expired
                | TlsProblem::NotYetValid
                | TlsProblem::WrongName
                | TlsProblem::CaAsServerCertificate
                | TlsProblem::OtherCertificate
        )
    }
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
    /// The failure, when no (complete) answer came. A status with a failure is an answer
    /// cut short.
    pub failure: Option<(HttpFailure, String)>,
    /// The address connected to (the ones resolved once, in turn).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub address: Option<SocketAddr>,
    /// Seconds the TLS handshake took (https, when it finished).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tls_seconds: Option<f64>,
    /// Why the TLS step failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tls_problem: Option<TlsProblem>,
    /// The `Location` header of a redirect (never followed).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub location: Option<String>,
    /// The `Retry-After` header (HTTP 429, 503).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub retry_after: Option<String>,
    /// The status the proxy answered `CONNECT` with, when it refused it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub proxy_status: Option<u16>,
    /// The proxy refused the tunnel in a way another attempt would meet again (a 4xx, a SOCKS5
    /// refusal of its rules or credentials): not retried.
    #[serde(skip)]
    pub proxy_refusal_lasting: bool,
}

impl HttpAttempt {
    /// A request to `path` not made yet.
    pub fn new(path: &str) -> HttpAttempt {
        HttpAttempt {
            path: path.to_owned(),
            seconds: 0.0,
            status: None,
            body: String::new(),
            failure: None,
            address: None,
            tls_seconds: None,
            tls_problem: None,
            location: None,
            retry_after: None,
            proxy_status: None,
            proxy_refusal_lasting: false,
        }
    }

    /// Whether it failed at the proxy, before reaching the API server.
    pub fn failed_at_proxy(&self) -> bool {
        matches!(self.failure, Some((HttpFailure::Proxy, _)))
    }

    /// Whether it failed in the TLS step.
    pub fn failed_in_tls(&self) -> bool {
        matches!(self.failure, Some((HttpFailure::Tls, _)))
    }

    /// `/readyz` or `/livez`, without the query.
    pub fn endpoint(&self) -> &str {
        let path = self.path.split('?').next().unwrap_or(&self.path);
        path.rsplit_once('/').map_or(path, |(_, last)| last).trim_start_matches('/')
    }
}

/// Whole days left, as NET005 and the CERT line both say them.
pub fn whole_days(days_left: f64) -> i64 {
    days_left.floor() as i64
}

/// The steps as lines for a terminal: what was resolved, connected and answered, with times.
pub fn render_steps(ev: &ProbeEvidence) -> String {
    let ms = |s: f64| format!("{:.1} ms", s * 1000.0);
    let mut out = format!(
        "Probe of {}
",
        ev.target.url
    );
    if let Some(p) = &ev.proxy {
        if p.used {
            out.push_str(&format!(
                "  PROXY {} (from {}): {} to {}; the proxy resolves {}\n",
                p.url,
                p.from,
                if p.scheme == "socks5" { "SOCKS5 CONNECT" } else { "CONNECT" },
                ev.target.authority(),
                ev.target.host
            ));
        } else {
            out.push_str(&format!(
                "  PROXY kubectl reaches this server through {} (from {}); this probe does not support that proxy kind{} and tests the direct path\n",
                p.url,
                p.from,
                p.not_used.as_deref().map(|w| format!(" ({w})")).unwrap_or_default()
            ));
        }
    }
    let name = match ev.proxy_used() {
        Some(p) => format!("{} (the proxy)", p.host),
        None => ev.target.host.clone(),
    };
    let host = ev.proxy_used().map_or(ev.target.host.as_str(), |p| p.host.as_str());
    let whose = if ev.proxy_used().is_some() { "the proxy's name, " } else { "" };
    match &ev.dns {
        None => out.push_str(&format!("  DNS   {name} is an address\n")),
        Some(d) if d.given => out.push_str(&format!(
            "  DNS   {name} not resolved: the addresses given, {}\n",
            d.addresses.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>().join(", ")
        )),
        Some(d) => match &d.error {
            // The resolver's words name the host already (`the name X does not resolve`).
            Some(e) if e.contains(host) => {
                out.push_str(&format!("  DNS   {e} ({whose}after {})\n", ms(d.seconds)))
            }
            Some(e) => out.push_str(&format!("  DNS   {name} did not resolve in {}: {e}\n", ms(d.seconds))),
            None => out.push_str(&format!(
                "  DNS   {name} -> {} in {}\n",
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
    let describe = |c: &Certificate| {
        format!(
            "{} issued by {}, valid until {} ({})",
            c.subject,
            c.issuer,
            c.not_after,
            match whole_days(c.days_left) {
                _ if c.days_left <= 0.0 => "expired".to_owned(),
                0 => "less than a day left".to_owned(),
                1 => "1 day left".to_owned(),
                d => format!("{d} days left"),
            }
        )
    };
    if ev.certificates.is_empty() {
        match (&ev.certificate, &ev.certificate_error) {
            (Some(c), note) => out.push_str(&format!(
                "  CERT  {}{}\n",
                describe(c),
                note.as_deref().map(|e| format!("; the handshake then failed: {e}")).unwrap_or_default()
            )),
            (None, Some(e)) => out.push_str(&format!("  CERT  not read: {e}\n")),
            (None, None) => {}
        }
    } else {
        for c in &ev.certificates {
            let at = c.address.map(|a| format!("{a}: ")).unwrap_or_default();
            out.push_str(&format!("  CERT  {at}{}\n", describe(c)));
        }
    }
    out.push_str(&format!("  TRUST {}\n", ev.trust));
    let many = ev.http.iter().filter_map(|a| a.address).collect::<std::collections::BTreeSet<_>>().len() > 1;
    for a in &ev.http {
        let what = if ev.target.scheme == "https" { "TLS+HTTP" } else { "HTTP" };
        let path = format!("{}{}", ev.target.path, a.path);
        let to = match a.address {
            Some(address) if many => format!(" to {address}"),
            _ => String::new(),
        };
        let tls = a.tls_seconds.map(|s| format!(" (TLS {})", ms(s))).unwrap_or_default();
        match (&a.status, &a.failure) {
            (Some(status), None) => {
                let failed = failed_checks(&a.body);
                let mut note = if failed.is_empty() {
                    String::new()
                } else {
                    format!(" (failing: {})", failed.join(", "))
                };
                if let Some(location) = &a.location {
                    note.push_str(&format!(" redirect to {location}, not followed"));
                }
                out.push_str(&format!("  {what} {path}{to} -> {status} in {}{tls}{note}\n", ms(a.seconds)));
            }
            (Some(status), Some((_, e))) => out.push_str(&format!(
                "  {what} {path}{to} -> {status}, but the answer failed after {}{tls}: {e}\n",
                ms(a.seconds)
            )),
            (None, Some((crate::HttpFailure::Proxy, e))) => out.push_str(&format!(
                "  {what} {path}{to} failed after {}: the proxy did not open the tunnel: {e}\n",
                ms(a.seconds)
            )),
            (None, Some((_, e))) => {
                out.push_str(&format!("  {what} {path}{to} failed after {}{tls}: {e}\n", ms(a.seconds)))
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
    /// Its issuer as DER, to look for among the trusted roots.
    #[serde(skip)]
    pub issuer_der: Vec<u8>,
    /// The address that presented it (the proxy's, through a proxy).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub address: Option<SocketAddr>,
}

/// Everything seen on the way to the API server.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ProbeEvidence {
    /// What was probed.
    pub target: Target,
    /// The proxy kubectl reaches the server through (the cluster's `proxy-url`, `HTTPS_PROXY`).
    /// When it is `used`, `dns` and `tcp` are the proxy's (the proxy resolves the API server's
    /// name) and every request goes through a tunnel it opens.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub proxy: Option<Proxy>,
    /// Name resolution (`None` when the host is an address): the API server's, or the
    /// proxy's when one is used.
    pub dns: Option<Dns>,
    /// TCP connections, every address `attempts` times (the proxy's, when one is used).
    pub tcp: Vec<TcpAttempt>,
    /// Health requests: `/readyz?verbose` `attempts` times, then `/livez?verbose` once.
    pub http: Vec<HttpAttempt>,
    /// The certificate presented (https only, when a TCP connection succeeded); of several
    /// addresses, the one that expires first.
    pub certificate: Option<Certificate>,
    /// Every address's certificate, when more than one address presented one.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub certificates: Vec<Certificate>,
    /// Why the certificate could not be read, when it could not; beside a certificate, why
    /// the handshake that brought it failed afterwards (a server that wants a client
    /// certificate ends a TLS 1.2 handshake after sending its own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_error: Option<String>,
    /// What the server's certificate is verified against, in words (https only).
    pub trust: String,
    /// Whether a CA was given (`--cacert` or the kubeconfig's), rather than default roots.
    pub ca_given: bool,
    /// The server presents a CA certificate (`CA:TRUE`) as its own and its issuer is not among
    /// the roots trusted: the handshakes' problem is then told as an unknown issuer (what
    /// kubectl would say too), and this is noted beside it.
    #[serde(default)]
    pub ca_served_as_leaf: bool,
    /// Whether verification was skipped (kubeconfig `insecure-skip-tls-verify`).
    pub insecure: bool,
    /// The kubeconfig's cluster, when it sets both a CA and `insecure-skip-tls-verify`: kubectl
    /// refuses it; the probe verified with the CA (NET003 says so).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub kubeconfig_ca_and_insecure: Option<String>,
    /// The name the certificate must be for, when not the host (kubeconfig `tls-server-name`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub server_name: Option<String>,
    /// Seconds allowed for each step (`--timeout`).
    pub timeout_seconds: f64,
}

impl ProbeEvidence {
    /// The proxy the probe went through, when it did.
    pub fn proxy_used(&self) -> Option<&Proxy> {
        self.proxy.as_ref().filter(|p| p.used)
    }

    /// A proxy kubectl would go through, which the probe did not (it tested the direct path).
    pub fn proxy_not_used(&self) -> Option<&Proxy> {
        self.proxy.as_ref().filter(|p| !p.used)
    }

    /// `probe:URL`, the evidence source every finding names.
    pub fn source(&self) -> String {
        format!("probe:{}", self.target.url)
    }

    /// `SCHEME://HOST:PORT[PATH]`, to which `/readyz?verbose` is appended.
    pub fn base_url(&self) -> String {
        let t = &self.target;
        let host = if t.host.contains(':') { format!("[{}]", t.host) } else { t.host.clone() };
        format!("{}://{host}:{}{}", t.scheme, t.port, t.path)
    }
}

/// Whether a `200` body reads as a Kubernetes health answer: `ok`, or the verbose list of
/// `[+]`/`[-]` checks.
pub fn is_health_answer(body: &str) -> bool {
    body.trim() == "ok"
        || body.lines().any(|l| {
            let l = l.trim_start();
            l.starts_with("[+]") || l.starts_with("[-]")
        })
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

    #[test]
    fn the_cert_line_and_the_net005_title_say_the_same_days_left() {
        let mut ev = checks::testutil::healthy();
        if let Some(c) = ev.certificate.as_mut() {
            c.days_left = 4.6;
            c.not_after = "2026-12-05".to_owned();
        }
        let steps = render_steps(&ev);
        assert!(steps.contains("valid until 2026-12-05 (4 days left)"), "{steps}");
        let findings = checks::run(&ev, &findings::Thresholds::default());
        assert_eq!(findings[0].title, "The API server's certificate expires in 4 days (2026-12-05)");
    }
}
