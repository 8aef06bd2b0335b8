//! The probe itself: every step timed, every failure kept with its reason.

use std::io::Read;
use std::net::{IpAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::{Dns, HttpAttempt, HttpFailure, ProbeEvidence, Target, TcpAttempt};

/// What to probe and how.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// `https://HOST[:PORT]` (or `http://`), the API server's address as kubeconfig names it.
    pub url: String,
    /// CA bundle (PEM) to verify the server's certificate; the system's roots when absent.
    pub cacert: Option<crate::Ca>,
    /// Connections to each address, and `/readyz` requests.
    pub attempts: u32,
    /// Time allowed for each step.
    pub timeout: Duration,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions { url: String::new(), cacert: None, attempts: 3, timeout: Duration::from_secs(5) }
    }
}

/// A probe that could not start: a bad URL or an unreadable CA file.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The URL is not `http(s)://HOST[:PORT][/]`.
    #[error("{url}: {message}")]
    Url {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        message: String,
    },
    /// The CA file cannot be read or holds no certificate.
    #[error("CA bundle {path}: {message}")]
    CaFile {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// Splits the URL into a target.
pub fn target(url: &str) -> Result<Target, ProbeError> {
    let bad = |m: &str| ProbeError::Url { url: url.to_owned(), message: m.to_owned() };
    let uri: ureq::http::Uri = url.parse().map_err(|e| bad(&format!("not a URL ({e})")))?;
    let scheme =
        uri.scheme_str().ok_or_else(|| bad("no scheme: write https://HOST[:PORT]"))?.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return Err(bad(&format!("scheme {scheme}: only https and http")));
    }
    // Never echo credentials: the URL is printed and written to reports.
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err(ProbeError::Url {
            url: "(the URL given)".to_owned(),
            message: "it holds credentials (USER:PASSWORD@): the probe sends none; give https://HOST[:PORT]"
                .to_owned(),
        });
    }
    let host = uri.host().filter(|h| !h.is_empty()).ok_or_else(|| bad("no host"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
    let port = uri.port_u16().unwrap_or(if scheme == "https" { 443 } else { 80 });
    if !matches!(uri.path(), "" | "/") {
        return Err(bad("give the server's address only: the probe asks for /readyz and /livez itself"));
    }
    Ok(Target { url: url.to_owned(), scheme, host, port })
}

fn tls_config(cacert: &Option<crate::Ca>) -> Result<ureq::tls::TlsConfig, ProbeError> {
    use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};
    let mut builder = TlsConfig::builder();
    if let Some(ca) = cacert {
        let (origin, pem) = match ca {
            crate::Ca::File(path) => {
                let origin = path.display().to_string();
                let pem = std::fs::read(path)
                    .map_err(|e| ProbeError::CaFile { path: origin.clone(), message: e.to_string() })?;
                (origin, pem)
            }
            crate::Ca::Pem { origin, bytes } => (origin.clone(), bytes.clone()),
        };
        let err = |m: String| ProbeError::CaFile { path: origin.clone(), message: m };
        let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(PemItem::Certificate(c)) => Some(c.to_owned()),
                _ => None,
            })
            .collect();
        if certs.is_empty() {
            return Err(err("no PEM certificate in it".to_owned()));
        }
        builder = builder.root_certs(RootCerts::new_with_certs(&certs));
    }
    Ok(builder.build())
}

/// Probes the API server: never fails once started; every failure is evidence.
pub fn collect(options: &ProbeOptions) -> Result<ProbeEvidence, ProbeError> {
    let target = target(&options.url)?;
    let tls = tls_config(&options.cacert)?;
    let attempts = options.attempts.max(1);
    let mut evidence = ProbeEvidence {
        target: target.clone(),
        dns: None,
        tcp: Vec::new(),
        http: Vec::new(),
        certificate: None,
        certificate_error: None,
    };

    // DNS (skipped for an address).
    let addresses = match target.host.parse::<IpAddr>() {
        Ok(ip) => vec![std::net::SocketAddr::new(ip, target.port)],
        Err(_) => {
            let started = Instant::now();
            let resolved = (target.host.as_str(), target.port).to_socket_addrs();
            let seconds = started.elapsed().as_secs_f64();
            let (addresses, error) = match resolved {
                Ok(a) => {
                    let mut a: Vec<_> = a.collect();
                    a.dedup();
                    let none = a.is_empty().then(|| "no address".to_owned());
                    (a, none)
                }
                Err(e) => (Vec::new(), Some(e.to_string())),
            };
            evidence.dns = Some(Dns { addresses: addresses.clone(), seconds, error });
            addresses
        }
    };
    if addresses.is_empty() {
        return Ok(evidence);
    }

    // TCP to every address (at most 8).
    for address in addresses.iter().take(8) {
        for _ in 0..attempts {
            let started = Instant::now();
            let result = TcpStream::connect_timeout(address, options.timeout);
            evidence.tcp.push(TcpAttempt {
                address: *address,
                seconds: started.elapsed().as_secs_f64(),
                error: result.err().map(|e| e.to_string()),
            });
        }
    }
    if evidence.tcp.iter().all(|a| a.error.is_some()) {
        return Ok(evidence);
    }

    // The certificate presented, from the first address that connected.
    if target.scheme == "https"
        && let Some(reached) = evidence.tcp.iter().find(|a| a.error.is_none())
    {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        match crate::certificate::read(reached.address, &target.host, options.timeout, now) {
            Ok(c) => evidence.certificate = Some(c),
            Err(e) => evidence.certificate_error = Some(e),
        }
    }

    // TLS and HTTP: a new connection per request, so each one pays the handshake.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(options.timeout))
        .http_status_as_error(false)
        .max_idle_connections(0)
        .tls_config(tls)
        .build()
        .into();
    let base = format!(
        "{}://{}:{}",
        target.scheme,
        if target.host.contains(':') { format!("[{}]", target.host) } else { target.host.clone() },
        target.port
    );
    let paths =
        std::iter::repeat_n("/readyz?verbose", attempts as usize).chain(std::iter::once("/livez?verbose"));
    for path in paths {
        let started = Instant::now();
        let result = agent.get(&format!("{base}{path}")).call();
        let mut attempt = HttpAttempt {
            path: path.to_owned(),
            seconds: 0.0,
            status: None,
            body: String::new(),
            failure: None,
        };
        match result {
            Ok(mut response) => {
                attempt.status = Some(response.status().as_u16());
                let mut body = Vec::new();
                let _ = response.body_mut().as_reader().take(16 * 1024).read_to_end(&mut body);
                attempt.body = String::from_utf8_lossy(&body).into_owned();
            }
            Err(e) => attempt.failure = Some(classify(&e)),
        }
        attempt.seconds = started.elapsed().as_secs_f64();
        let tls_failed = matches!(attempt.failure, Some((HttpFailure::Tls, _)));
        evidence.http.push(attempt);
        if tls_failed {
            // The certificate will not change between attempts.
            break;
        }
    }
    Ok(evidence)
}

fn classify(e: &ureq::Error) -> (HttpFailure, String) {
    let text = e.to_string();
    let kind = match e {
        ureq::Error::Timeout(_) => HttpFailure::Timeout,
        ureq::Error::Tls(_) => HttpFailure::Tls,
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => HttpFailure::Timeout,
        _ if text.contains("certificate") || text.contains("TLS") || text.contains("tls") => HttpFailure::Tls,
        _ => HttpFailure::Transport,
    };
    (kind, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_split_and_bad_ones_explained() {
        let t = target("https://myaks-dns-1a2b.hcp.eastus.azmk8s.io").expect("valid");
        assert_eq!(
            (t.scheme.as_str(), t.host.as_str(), t.port),
            ("https", "myaks-dns-1a2b.hcp.eastus.azmk8s.io", 443)
        );
        let t = target("http://[::1]:8080/").expect("valid");
        assert_eq!((t.host.as_str(), t.port), ("::1", 8080));
        for (url, says) in [
            ("myaks.example.com", "no scheme"),
            ("ftp://x", "only https and http"),
            ("https://x/api/v1", "address only"),
            ("https://admin:s3cret@x", "holds credentials"),
        ] {
            let err = target(url).expect_err(url).to_string();
            assert!(err.contains(says), "{url}: {err}");
            assert!(!err.contains("s3cret"), "{err}");
        }
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("ca.crt");
        std::fs::write(&p, "not a certificate").expect("write");
        let err = tls_config(&Some(crate::Ca::File(p.clone()))).expect_err("no certificate").to_string();
        assert!(err.starts_with(&format!("CA bundle {}", p.display())), "{err}");
    }
}
