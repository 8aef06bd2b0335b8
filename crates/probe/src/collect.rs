//! The probe itself: every step timed, every failure kept with its reason.

use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};

use crate::http::{ClientCertificateAsked, Request, Tls, Tunnel};
use crate::{Dns, HttpAttempt, ProbeEvidence, Target, TcpAttempt, TlsProblem};

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
    /// The name the certificate must be for, and SNI, when not the URL's host (kubeconfig
    /// `tls-server-name`).
    pub tls_server_name: Option<String>,
    /// Skip certificate verification (kubeconfig `insecure-skip-tls-verify`).
    pub insecure: bool,
    /// Accept a URL with a path (a kubeconfig's server behind a proxy such as Rancher's
    /// `/k8s/clusters/ID`): the health endpoints are asked under it.
    pub allow_path: bool,
    /// The proxy kubectl reaches the server through (the cluster's `proxy-url`, else
    /// [`crate::proxy::from_environment`]); `None`: direct.
    pub proxy: Option<crate::ProxySetting>,
    /// The addresses to take for the host instead of resolving it (as curl's `--resolve`);
    /// empty: resolve it.
    pub addresses: Vec<IpAddr>,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            url: String::new(),
            cacert: None,
            attempts: 3,
            timeout: Duration::from_secs(5),
            tls_server_name: None,
            insecure: false,
            allow_path: false,
            proxy: None,
            addresses: Vec::new(),
        }
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
    /// The proxy setting is not a proxy URL kubectl takes.
    #[error("the proxy of {from} is not usable: {message}")]
    Proxy {
        /// Where the setting came from (`HTTPS_PROXY`, `proxy-url of cluster k in FILE`).
        from: String,
        /// What is wrong with it (never the password).
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

/// Splits the URL into a target; a path only when `allow_path`.
pub fn target(url: &str, allow_path: bool) -> Result<Target, ProbeError> {
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
    // `port_u16()` is `None` both without a port and with one that does not fit: tell them apart.
    let port = match uri.port() {
        None => {
            if scheme == "https" {
                443
            } else {
                80
            }
        }
        Some(p) => match p.as_u16() {
            0 => return Err(bad("port 0 is not a port: give 1 to 65535")),
            n => n,
        },
    };
    if uri.port().is_none() && uri.authority().is_some_and(|a| a.as_str().ends_with(':')) {
        return Err(bad("no port after ':'"));
    }
    let path = uri.path().trim_end_matches('/').to_owned();
    if !path.is_empty() && !allow_path {
        return Err(bad("give the server's address only: the probe asks for /readyz and /livez itself"));
    }
    if uri.query().is_some() {
        return Err(bad("a query has no place in the server's address"));
    }
    Ok(Target { url: url.to_owned(), scheme, host, port, path })
}

/// A port in a URL that `http::Uri` refused or mapped: say which.
fn port_in_range(url: &str) -> Result<(), ProbeError> {
    // `http::Uri` refuses ports over 65535 itself on recent versions; older ones kept them and
    // `port_u16()` hid them. Check the text, so the message names the port either way.
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = after_scheme.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let port_text = if let Some(rest) = host_port.strip_prefix('[') {
        rest.split_once("]:").map(|(_, p)| p)
    } else {
        host_port.split_once(':').map(|(_, p)| p)
    };
    if let Some(p) = port_text
        && !p.is_empty()
        && p.bytes().all(|b| b.is_ascii_digit())
        && p.parse::<u16>().is_err()
    {
        return Err(ProbeError::Url {
            url: url.to_owned(),
            message: format!("port {p} is out of range: a port is 1 to 65535"),
        });
    }
    Ok(())
}

/// The system's CA bundle, where the usual Linux and BSD layouts keep it (as OpenSSL, curl
/// and Go find it); `SSL_CERT_FILE` first.
fn system_bundle() -> Option<(String, Vec<CertificateDer<'static>>)> {
    let mut candidates: Vec<(std::path::PathBuf, &str)> = std::env::var_os("SSL_CERT_FILE")
        .filter(|v| !v.is_empty())
        .map(|v| (v.into(), ", from SSL_CERT_FILE"))
        .into_iter()
        .collect();
    candidates.extend(
        [
            "/etc/ssl/certs/ca-certificates.crt",
            "/etc/pki/tls/certs/ca-bundle.crt",
            "/etc/ssl/ca-bundle.pem",
            "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
            "/etc/pki/tls/cacert.pem",
            "/etc/ssl/cert.pem",
        ]
        .iter()
        .map(|p| (p.into(), "")),
    );
    candidates.into_iter().find_map(|(path, how)| {
        let pem = std::fs::read(&path).ok()?;
        let certs: Vec<_> = CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok).collect();
        (!certs.is_empty()).then(|| (format!("{}{how}", path.display()), certs))
    })
}

/// The CA bundle given, read: where it came from, and its certificates.
fn given_ca(ca: &crate::Ca) -> Result<(String, Vec<CertificateDer<'static>>), ProbeError> {
    let (origin, described, pem) = match ca {
        crate::Ca::File(path) => {
            let origin = path.display().to_string();
            let pem = std::fs::read(path).map_err(|e| ProbeError::CaFile {
                path: origin.clone(),
                message: findings::text::io_error_words(&e, "a PEM file"),
            })?;
            (origin.clone(), format!("the CA given ({origin})"), pem)
        }
        crate::Ca::Pem { origin, bytes, insecure_too } => (
            origin.clone(),
            match insecure_too {
                None => format!("the CA of {origin}"),
                Some(_) => format!(
                    "the CA of {origin}; the kubeconfig's insecure-skip-tls-verify is not applied beside it (kubectl refuses the two together)"
                ),
            },
            bytes.clone(),
        ),
    };
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok).collect();
    if certs.is_empty() {
        return Err(ProbeError::CaFile { path: origin, message: "no PEM certificate in it".to_owned() });
    }
    Ok((described, certs))
}

/// The subjects of the trusted roots (DER), to tell whether a certificate's issuer is among
/// them; `None` when nothing is verified.
type Anchors = Option<Vec<Vec<u8>>>;

/// Whether the DER name `issuer` (a full `Name`) is `subject`, which webpki keeps as the
/// name's contents (without its SEQUENCE tag and length) or whole.
fn same_name(subject: &[u8], issuer: &[u8]) -> bool {
    subject == issuer
        || (issuer.first() == Some(&0x30)
            && issuer.len() > subject.len()
            && issuer.len() - subject.len() <= 5
            && issuer.ends_with(subject))
}

/// The verifying TLS configuration, what it trusts in words, and the roots' subjects.
fn tls_config(
    options: &ProbeOptions,
    asked: Arc<ClientCertificateAsked>,
) -> Result<(Arc<rustls::ClientConfig>, String, Anchors), ProbeError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ProbeError::CaFile { path: "(TLS setup)".to_owned(), message: e.to_string() })?;
    let given = options.cacert.as_ref().map(given_ca).transpose()?;
    if options.insecure {
        let config = builder
            .dangerous()
            .with_custom_certificate_verifier(crate::certificate::accept_any(provider))
            .with_client_cert_resolver(asked);
        return Ok((
            Arc::new(config),
            "nothing: the kubeconfig sets insecure-skip-tls-verify, so the certificate is not verified (insecure: anyone on the path can impersonate the API server)".to_owned(),
            None,
        ));
    }
    let (trust, certs, bundled) = match given {
        Some((described, certs)) => (described, certs, false),
        None => match system_bundle() {
            Some((path, certs)) => (format!("the system's roots ({path})"), certs, false),
            None => (
                "the Mozilla roots bundled with the tool (no system CA bundle found)".to_owned(),
                Vec::new(),
                true,
            ),
        },
    };
    let mut roots = rustls::RootCertStore::empty();
    if bundled {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    } else {
        let (_, ignored) = roots.add_parsable_certificates(certs);
        if roots.is_empty() {
            return Err(ProbeError::CaFile {
                path: trust,
                message: format!("none of its certificates is a usable CA ({ignored} refused)"),
            });
        }
    }
    let anchors = roots.roots.iter().map(|ta| ta.subject.as_ref().to_vec()).collect();
    let config = builder.with_root_certificates(roots).with_client_cert_resolver(asked);
    Ok((Arc::new(config), trust, Some(anchors)))
}

/// Resolves `host` on a thread of its own, so that `timeout` bounds it.
fn resolve(host: &str, port: u16, timeout: Duration) -> Result<Vec<SocketAddr>, String> {
    let name = host.to_owned();
    resolve_with(
        move || {
            (name.as_str(), port)
                .to_socket_addrs()
                .map(|a| a.collect::<Vec<_>>())
                .map_err(|e| resolve_error_words(&e, &name))
        },
        timeout,
    )
}

/// Why `host` did not resolve, in plain words (review 6: `failed to lookup address
/// information: Name or service not known`, the C library's text): `the name
/// no-such-host.invalid does not resolve`. The resolver's error has no kind of its own: its
/// text (glibc's, musl's or macOS's `gai_strerror`) tells a name that does not exist from a
/// resolver that failed.
fn resolve_error_words(e: &std::io::Error, host: &str) -> String {
    let text = e.to_string();
    let detail = text.strip_prefix("failed to lookup address information: ").unwrap_or(&text);
    let lower = detail.to_ascii_lowercase();
    if ["name or service not known", "no address associated", "name does not resolve", "nor servname"]
        .iter()
        .any(|s| lower.contains(s))
    {
        format!("the name {host} does not resolve: the DNS has no address for it")
    } else if lower.contains("temporary failure") || lower.contains("try again") {
        format!("the name {host} could not be resolved now: the DNS server did not answer, or failed")
    } else {
        let words = findings::text::io_error_words(e, "a name");
        let words = words.strip_prefix("failed to lookup address information: ").unwrap_or(&words);
        // The C library's text starts a sentence (`System error`); here it follows a colon.
        let mut chars = words.chars();
        let words: String = chars.next().map(|c| c.to_lowercase().chain(chars).collect()).unwrap_or_default();
        format!("the name {host} could not be resolved: {words}")
    }
}

/// Runs the resolver `lookup` on a thread of its own and waits for it `timeout` at most (the
/// thread is left behind when it does not answer: `getaddrinfo` cannot be cancelled).
fn resolve_with(
    lookup: impl FnOnce() -> Result<Vec<SocketAddr>, String> + Send + 'static,
    timeout: Duration,
) -> Result<Vec<SocketAddr>, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(lookup());
    });
    match rx.recv_timeout(timeout) {
        Ok(result) => result,
        Err(_) => Err(format!("no answer from the resolver within {} s (--timeout)", timeout.as_secs_f64())),
    }
}

/// Probes the API server: never fails once started; every failure is evidence.
pub fn collect(options: &ProbeOptions) -> Result<ProbeEvidence, ProbeError> {
    collect_with_progress(options, &mut std::io::sink())
}

/// [`collect`], saying each step on `progress` as it starts and ends, one short line each (for
/// a terminal: a probe of black-holed addresses takes `--attempts` × `--timeout`).
pub fn collect_with_progress(
    options: &ProbeOptions,
    progress: &mut (dyn Write + Send),
) -> Result<ProbeEvidence, ProbeError> {
    let progress = Progress(std::sync::Mutex::new(progress));
    port_in_range(&options.url)?;
    let target = target(&options.url, options.allow_path)?;
    let asked = Arc::new(ClientCertificateAsked::default());
    let (tls_config, trust, anchors) = tls_config(options, asked.clone())?;
    let server_name_text = options.tls_server_name.clone().unwrap_or_else(|| target.host.clone());
    let server_name = ServerName::try_from(server_name_text.clone()).map_err(|e| ProbeError::Url {
        url: options.url.clone(),
        message: format!("{server_name_text} is not a name a certificate can be for: {e}"),
    })?;
    let attempts = options.attempts.max(1);
    let https = target.scheme == "https";
    let mut evidence = ProbeEvidence {
        target: target.clone(),
        proxy: None,
        dns: None,
        tcp: Vec::new(),
        http: Vec::new(),
        certificate: None,
        certificates: Vec::new(),
        certificate_error: None,
        trust: if https { trust } else { "nothing: plain HTTP, no TLS".to_owned() },
        ca_given: options.cacert.is_some(),
        ca_served_as_leaf: false,
        insecure: options.insecure && https,
        kubeconfig_ca_and_insecure: match &options.cacert {
            Some(crate::Ca::Pem { insecure_too: Some(cluster), .. }) if https && !options.insecure => {
                Some(cluster.clone())
            }
            _ => None,
        },
        server_name: options.tls_server_name.clone(),
        timeout_seconds: options.timeout.as_secs_f64(),
    };

    // The proxy kubectl would go through: the probe goes through it too, when it speaks it.
    let proxy = match &options.proxy {
        None => None,
        Some(setting) => {
            let mut p = crate::proxy::parse(setting)
                .map_err(|message| ProbeError::Proxy { from: setting.from.clone(), message })?;
            p.not_used = if !https {
                Some("plain http through a proxy".to_owned())
            } else if p.scheme == "https" {
                Some("TLS to the proxy itself, an https:// proxy".to_owned())
            } else {
                None
            };
            p.used = p.not_used.is_none();
            Some(p)
        }
    };
    evidence.proxy = proxy.clone();
    let through = proxy.filter(|p| p.used);
    // The first hop: the proxy (which resolves the API server's name), or the API server.
    let (hop_host, hop_port) = match &through {
        Some(p) => (p.host.clone(), p.port),
        None => (target.host.clone(), target.port),
    };

    // DNS, once (skipped for an address); every later step connects to what it found.
    let addresses = match hop_host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, hop_port)],
        Err(_) if through.is_none() && !options.addresses.is_empty() => {
            let mut given: Vec<SocketAddr> =
                options.addresses.iter().map(|ip| SocketAddr::new(*ip, hop_port)).collect();
            let mut seen = std::collections::HashSet::new();
            given.retain(|x| seen.insert(*x));
            evidence.dns = Some(Dns { addresses: given.clone(), seconds: 0.0, error: None, given: true });
            given
        }
        Err(_) => {
            progress.say(format_args!("resolving {hop_host}…"));
            let started = Instant::now();
            let resolved = resolve(&hop_host, hop_port, options.timeout);
            let seconds = started.elapsed().as_secs_f64();
            let (addresses, error) = match resolved {
                Ok(mut a) => {
                    let mut seen = std::collections::HashSet::new();
                    a.retain(|x| seen.insert(*x));
                    let none = a.is_empty().then(|| "no address".to_owned());
                    (a, none)
                }
                Err(e) => (Vec::new(), Some(e)),
            };
            match &error {
                None => progress.say(format_args!(
                    "{hop_host} -> {} in {}",
                    addresses.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>().join(", "),
                    took(seconds)
                )),
                // The resolver's words name the host already (`the name X does not resolve`).
                Some(e) if e.contains(hop_host.as_str()) => {
                    progress.say(format_args!("{e} (after {})", took(seconds)))
                }
                Some(e) => progress.say(format_args!("{hop_host} did not resolve in {}: {e}", took(seconds))),
            }
            evidence.dns = Some(Dns { addresses: addresses.clone(), seconds, error, given: false });
            addresses
        }
    };
    if addresses.is_empty() {
        return Ok(evidence);
    }

    // TCP to every address (at most 8), the addresses at once and each one's attempts in turn:
    // one after another, black-holed addresses cost 8 × --attempts × --timeout (review L6: two
    // minutes with the defaults, and nothing said meanwhile). Kept in address order.
    let tried: Vec<SocketAddr> = addresses.iter().take(8).copied().collect();
    if tried.len() > 1 {
        progress.say(format_args!(
            "connecting to {} addresses at once ({attempts} attempt{} each, at most {} s per attempt)…",
            tried.len(),
            if attempts == 1 { "" } else { "s" },
            options.timeout.as_secs_f64()
        ));
    }
    let per_address: Vec<Vec<TcpAttempt>> = std::thread::scope(|scope| {
        let handles: Vec<_> = tried
            .iter()
            .map(|address| scope.spawn(|| connect(*address, attempts, options.timeout, &progress)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });
    evidence.tcp = per_address.into_iter().flatten().collect();
    let reachable: Vec<SocketAddr> = addresses
        .iter()
        .take(8)
        .filter(|a| evidence.tcp.iter().any(|t| t.address == **a && t.error.is_none()))
        .copied()
        .collect();
    if reachable.is_empty() {
        return Ok(evidence);
    }
    let tunnel = through.as_ref().map(|p| Tunnel { proxy: p, host: &target.host, port: target.port });
    let timeout = options.timeout;
    let open = |address: SocketAddr| -> Result<TcpStream, String> {
        let mut tcp = TcpStream::connect_timeout(&address, timeout)
            .map_err(|e| format!("{address}: {}", crate::http::connect_error_words(&e, timeout)))?;
        if let Some(t) = &tunnel {
            t.open(&mut tcp, Instant::now() + timeout)
                .map_err(|r| format!("the proxy did not open the tunnel: {}", r.message))?;
        }
        Ok(tcp)
    };

    // The certificate each address presents (through a proxy, the one behind it); the one
    // that expires first is the certificate judged.
    if https {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let read_from = if tunnel.is_some() { &reachable[..1] } else { &reachable[..] };
        let mut read = Vec::new();
        let mut first_error = None;
        for address in read_from {
            progress.say(format_args!("reading the certificate of {address}…"));
            match crate::certificate::read(|| open(*address), &server_name_text, timeout, now) {
                (Some(mut c), note) => {
                    c.address = Some(*address);
                    read.push((c, note));
                }
                (None, e) => first_error = first_error.or(e),
            }
        }
        match read.iter().min_by_key(|(c, _)| c.not_after_unix) {
            Some((c, note)) => {
                evidence.certificate = Some(c.clone());
                evidence.certificate_error = note.clone();
            }
            None => evidence.certificate_error = first_error,
        }
        if read.len() > 1 {
            evidence.certificates = read.into_iter().map(|(c, _)| c).collect();
        }
    }

    // TLS and HTTP: a new connection per request, so each one pays the handshake; the
    // addresses that connected, in turn, each at least once (review M2: a lasting failure on
    // the first of several stopped the probe). An address with a lasting failure is not tried
    // again; the others are.
    let tls = https.then(|| Tls { config: tls_config, server_name, asked_for_client_certificate: asked });
    let default_port = if https { 443 } else { 80 };
    let host = if target.host.contains(':') { format!("[{}]", target.host) } else { target.host.clone() };
    let host_header = if target.port == default_port { host } else { format!("{host}:{}", target.port) };
    let readyz = (attempts as usize).max(reachable.len());
    let paths = std::iter::repeat_n("/readyz?verbose", readyz).chain(std::iter::once("/livez?verbose"));
    let mut live = reachable.clone();
    let mut next = 0usize;
    for path in paths {
        if live.is_empty() {
            break;
        }
        let address = live[next % live.len()];
        let mut attempt = HttpAttempt::new(path);
        let full = format!("{}{path}", target.path);
        progress.say(format_args!("GET {full} from {address}…"));
        let request = Request { address, host_header: &host_header, path: &full, timeout, tunnel };
        crate::http::request(&request, tls.as_ref(), &mut attempt);
        match (&attempt.status, &attempt.failure) {
            (Some(status), None) => {
                progress.say(format_args!("GET {full} from {address}: {status} in {}", took(attempt.seconds)))
            }
            (_, Some((_, e))) => progress
                .say(format_args!("GET {full} from {address}: failed after {}: {e}", took(attempt.seconds))),
            (None, None) => {}
        }
        // The certificate (or the server's TLS settings, or the proxy's refusal) will not
        // change between attempts.
        let lasting = (attempt.failed_in_tls() && attempt.tls_problem.is_none_or(|p| p.is_lasting()))
            || (attempt.failed_at_proxy() && attempt.proxy_refusal_lasting);
        evidence.http.push(attempt);
        if lasting {
            live.retain(|a| *a != address);
        } else {
            next += 1;
        }
    }
    untrusted_ca_as_leaf(&mut evidence, anchors.as_deref());
    Ok(evidence)
}

/// Where the steps are said as they run ([`collect_with_progress`]), shared by the threads that
/// connect; a line that cannot be written is dropped (it is only progress).
struct Progress<'a>(std::sync::Mutex<&'a mut (dyn Write + Send)>);

impl Progress<'_> {
    fn say(&self, line: std::fmt::Arguments) {
        let mut out = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

/// A time as the progress lines say it: milliseconds below a second, else seconds.
fn took(seconds: f64) -> String {
    if seconds < 1.0 { format!("{:.1} ms", seconds * 1000.0) } else { format!("{seconds:.1} s") }
}

/// `attempts` connections to `address`, one after another, each within `timeout`.
fn connect(address: SocketAddr, attempts: u32, timeout: Duration, progress: &Progress) -> Vec<TcpAttempt> {
    (1..=attempts)
        .map(|n| {
            progress.say(format_args!("probing {address} (attempt {n}/{attempts})…"));
            let started = Instant::now();
            let result = TcpStream::connect_timeout(&address, timeout);
            let seconds = started.elapsed().as_secs_f64();
            let no_route = result.as_ref().is_err_and(|e| {
                matches!(
                    e.kind(),
                    std::io::ErrorKind::NetworkUnreachable | std::io::ErrorKind::AddrNotAvailable
                )
            });
            let error = result.err().map(|e| crate::http::connect_error_words(&e, timeout));
            match &error {
                None => progress
                    .say(format_args!("{address} (attempt {n}/{attempts}): connected in {}", took(seconds))),
                Some(e) => progress.say(format_args!(
                    "{address} (attempt {n}/{attempts}): failed after {}: {e}",
                    took(seconds)
                )),
            }
            TcpAttempt { address, seconds, error, no_route }
        })
        .collect()
}

/// webpki refuses a CA certificate served as the server's own before it looks for its issuer
/// among the roots; a client built on Go's crypto/x509 (kubectl) looks only at the issuer. A
/// self-signed CA no root vouches for is then, first of all, an unknown authority: pass
/// --cacert. The CA-as-leaf problem is kept when its issuer is trusted (the right CA given).
fn untrusted_ca_as_leaf(evidence: &mut ProbeEvidence, anchors: Option<&[Vec<u8>]>) {
    let (Some(anchors), Some(cert)) = (anchors, evidence.certificate.as_ref()) else { return };
    if cert.issuer_der.is_empty() || anchors.iter().any(|subject| same_name(subject, &cert.issuer_der)) {
        return;
    }
    for attempt in &mut evidence.http {
        if attempt.tls_problem == Some(TlsProblem::CaAsServerCertificate) {
            attempt.tls_problem = Some(TlsProblem::UnknownIssuer);
            evidence.ca_served_as_leaf = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_split_and_bad_ones_explained() {
        let t = target("https://myaks-dns-1a2b.hcp.eastus.azmk8s.io", false).expect("valid");
        assert_eq!(
            (t.scheme.as_str(), t.host.as_str(), t.port),
            ("https", "myaks-dns-1a2b.hcp.eastus.azmk8s.io", 443)
        );
        let t = target("http://[::1]:8080/", false).expect("valid");
        assert_eq!((t.host.as_str(), t.port), ("::1", 8080));
        // Review s42: findings named it `::1:8080`.
        assert_eq!(t.authority(), "[::1]:8080");
        assert_eq!(target("https://10.0.0.1:6443", false).expect("valid").authority(), "10.0.0.1:6443");
        for (url, says) in [
            ("myaks.example.com", "no scheme"),
            ("ftp://x", "only https and http"),
            ("https://x/api/v1", "address only"),
            ("https://admin:s3cret@x", "holds credentials"),
        ] {
            let err = target(url, false).expect_err(url).to_string();
            assert!(err.contains(says), "{url}: {err}");
            assert!(!err.contains("s3cret"), "{err}");
        }
    }

    #[test]
    fn a_port_out_of_range_is_a_usage_error_naming_the_url_not_443() {
        for url in ["https://127.0.0.1:99999", "https://127.0.0.1:65536", "https://[::1]:70000/"] {
            let err = collect(&ProbeOptions { url: url.to_owned(), ..ProbeOptions::default() })
                .expect_err(url)
                .to_string();
            assert!(err.starts_with(&format!("{url}: port ")) && err.contains("out of range"), "{err}");
        }
        assert_eq!(target("https://127.0.0.1:65535", false).map(|t| t.port).ok(), Some(65535));
    }

    #[test]
    fn a_resolver_that_does_not_answer_is_bounded_by_the_timeout() {
        let started = Instant::now();
        let result = resolve_with(
            || {
                std::thread::sleep(Duration::from_secs(3));
                Ok(Vec::new())
            },
            Duration::from_millis(200),
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(result, Err("no answer from the resolver within 0.2 s (--timeout)".to_owned()));
    }

    #[test]
    fn a_path_is_accepted_only_from_a_kubeconfig() {
        let url = "https://127.0.0.1:18443/k8s/clusters/c-m-abc123";
        assert!(target(url, false).is_err());
        assert_eq!(target(url, true).map(|t| t.path).ok().as_deref(), Some("/k8s/clusters/c-m-abc123"));
    }

    #[test]
    fn without_a_ca_the_trust_named_is_the_system_store_or_the_bundled_roots() {
        let (_, trust, _) = tls_config(&ProbeOptions::default(), Arc::default()).expect("config");
        assert!(
            trust.starts_with("the system's roots (")
                || trust.starts_with("the Mozilla roots bundled with the tool"),
            "{trust}"
        );
        let insecure = ProbeOptions { insecure: true, ..ProbeOptions::default() };
        let (_, trust, _) = tls_config(&insecure, Arc::default()).expect("config");
        assert!(trust.contains("insecure-skip-tls-verify") && trust.contains("insecure"), "{trust}");
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("ca.crt");
        std::fs::write(&p, "not a certificate").expect("write");
        let options = ProbeOptions { cacert: Some(crate::Ca::File(p.clone())), ..ProbeOptions::default() };
        let err = tls_config(&options, Arc::default()).expect_err("no certificate").to_string();
        assert!(err.starts_with(&format!("CA bundle {}", p.display())), "{err}");
    }

    /// Review 6 (etcd review): an unknown name said `failed to lookup address information: Name
    /// or service not known`, the C library's text.
    #[test]
    fn an_unresolvable_name_was_said_in_the_resolver_s_words() {
        let gai = |text: &str| std::io::Error::other(format!("failed to lookup address information: {text}"));
        for text in
            ["Name or service not known", "No address associated with hostname", "Name does not resolve"]
        {
            assert_eq!(
                resolve_error_words(&gai(text), "no-such-host.invalid"),
                "the name no-such-host.invalid does not resolve: the DNS has no address for it"
            );
        }
        assert_eq!(
            resolve_error_words(&gai("Temporary failure in name resolution"), "api.example.com"),
            "the name api.example.com could not be resolved now: the DNS server did not answer, or failed"
        );
        let other = resolve_error_words(&gai("System error"), "api.example.com");
        assert_eq!(other, "the name api.example.com could not be resolved: system error");
    }

    /// Review: `probe --cacert some_dir` said `some_dir: Is a directory (os error 21)`.
    #[test]
    fn a_ca_file_that_is_a_directory_was_said_with_the_os_error_number() {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = ProbeOptions {
            cacert: Some(crate::Ca::File(dir.path().to_path_buf())),
            ..ProbeOptions::default()
        };
        let err = tls_config(&options, Arc::default()).expect_err("a directory").to_string();
        assert!(err.ends_with(": is a directory, not a PEM file"), "{err}");
        assert!(!err.contains("os error"), "{err}");
    }
}
