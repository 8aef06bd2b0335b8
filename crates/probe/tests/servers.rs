//! The probe against small local servers (127.0.0.1, port 0) that misbehave as the review
//! found: TLS failures that are not certificate errors, intermittent resets, redirects,
//! answers cut short, and names resolved once.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use findings::{Severity, Thresholds};
use probe::{HttpFailure, ProbeEvidence, ProbeOptions, TlsProblem};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ServerConnection, StreamOwned};

/// A test CA and a serving certificate it signed, for 127.0.0.1, ::1 and localhost
/// (fixtures/README.md).
const CA: &[u8] = include_bytes!("fixtures/ca.crt");
const SERVER_CERTIFICATE: &[u8] = include_bytes!("fixtures/server.crt");
const SERVER_KEY: &[u8] = include_bytes!("fixtures/server.key");

/// A server on a free local port running `handle` for every connection (the connection's
/// number from 0); its port.
fn serve(handle: impl Fn(TcpStream, usize) + Send + Sync + 'static) -> u16 {
    serve_on(TcpListener::bind("127.0.0.1:0").expect("bind"), handle)
}

/// [`serve`] on `listener`.
fn serve_on(listener: TcpListener, handle: impl Fn(TcpStream, usize) + Send + Sync + 'static) -> u16 {
    let port = listener.local_addr().expect("addr").port();
    let handle = Arc::new(handle);
    let count = Arc::new(AtomicUsize::new(0));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(s) = stream else { continue };
            let n = count.fetch_add(1, Ordering::SeqCst);
            let handle = handle.clone();
            std::thread::spawn(move || handle(s, n));
        }
    });
    port
}

/// Reads a request's head (or whatever comes first, for a TLS ClientHello).
fn read_head(s: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
        // A TLS ClientHello has no blank line: one read is enough.
        if seen.first() == Some(&0x16) {
            break;
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

fn answer(s: &mut TcpStream, status: &str, headers: &str, body: &str) {
    let _ = write!(
        s,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n{body}",
        body.len()
    );
}

/// Closes with a reset, as a firewall or a dying backend does: Linux resets a connection
/// closed with unread data, so read one byte of what came and close.
fn reset(mut s: TcpStream) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let mut one = [0u8; 1];
    let _ = s.read(&mut one);
    // Let the rest of the request arrive, unread.
    std::thread::sleep(Duration::from_millis(50));
    drop(s);
}

/// What a test server does with a connection.
type Handler = dyn Fn(TcpStream, usize) + Send + Sync;

const HEALTHY: &str = "[+]ping ok\n[+]etcd ok\nreadyz check passed\n";

fn probe(url: &str, timeout: u64) -> ProbeEvidence {
    probe::collect(&ProbeOptions {
        url: url.to_owned(),
        attempts: 3,
        timeout: Duration::from_secs(timeout),
        ..ProbeOptions::default()
    })
    .expect("probe starts")
}

fn findings(ev: &ProbeEvidence) -> Vec<(String, Severity, String, String)> {
    probe::checks::run(ev, &Thresholds::default())
        .into_iter()
        .map(|f| (f.code, f.severity, f.title, f.summary))
        .collect()
}

/// A TLS alert record (plaintext, before any key exchange), sent after the ClientHello.
fn alert(description: u8) -> impl Fn(TcpStream, usize) {
    move |mut s, _| {
        read_head(&mut s);
        let _ = s.write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, description]);
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn tls_failures_other_than_certificate_errors_are_net003_with_their_reason_not_a_readyz_failure() {
    let cases: Vec<(Box<Handler>, TlsProblem, &str)> = vec![
        // TLS 1.0 only: protocol_version.
        (Box::new(alert(70)), TlsProblem::Incompatible, "no TLS version or cipher in common"),
        // TLS 1.3 server wanting a client certificate: certificate_required.
        (Box::new(alert(116)), TlsProblem::ClientCertificateRequired, "wants a client certificate"),
        // Plain HTTP on the TLS port.
        (
            Box::new(|mut s: TcpStream, _| {
                read_head(&mut s);
                answer(&mut s, "400 Bad Request", "", "plain");
            }),
            TlsProblem::NotTls,
            "did not answer in TLS",
        ),
        // A firewall resetting the handshake.
        (Box::new(|s: TcpStream, _| reset(s)), TlsProblem::Reset, "closed or reset during the handshake"),
    ];
    for (handler, problem, says) in cases {
        let port = serve(handler);
        let ev = probe(&format!("https://127.0.0.1:{port}"), 2);
        assert_eq!(ev.http[0].tls_problem, Some(problem), "{:?}", ev.http);
        assert!(ev.http[0].failed_in_tls(), "{:?}", ev.http[0]);
        let found = findings(&ev);
        assert_eq!(found.len(), 1, "{problem:?}: {found:?}");
        assert_eq!(found[0].0, "NET003", "{found:?}");
        assert!(found[0].3.contains(says), "{problem:?}: {}", found[0].3);
        assert!(!found[0].3.contains("etcd") && !found[0].2.contains("/readyz"), "{found:?}");
    }
}

#[test]
fn a_handshake_that_hangs_is_a_tls_timeout_not_eagain() {
    let port = serve(|mut s, _| {
        read_head(&mut s);
        std::thread::sleep(Duration::from_secs(4));
    });
    let mut ev = probe::collect(&ProbeOptions {
        url: format!("https://127.0.0.1:{port}"),
        attempts: 1,
        timeout: Duration::from_secs(1),
        ..ProbeOptions::default()
    })
    .expect("probe starts");
    assert_eq!(ev.http[0].tls_problem, Some(TlsProblem::Timeout), "{:?}", ev.http);
    let error = ev.certificate_error.take().unwrap_or_default();
    assert_eq!(error, "TLS handshake: not finished within 1 s");
    let found = findings(&ev);
    assert_eq!(found[0].0, "NET003", "{found:?}");
    assert!(found[0].3.contains("handshake did not finish within 1 s"), "{}", found[0].3);
    assert!(!found.iter().any(|f| f.3.contains("os error 11")), "{found:?}");
}

#[test]
fn every_other_connection_reset_is_a_warning_counting_the_failed_requests() {
    let port = serve(|mut s, n| {
        if n % 2 == 0 {
            reset(s);
        } else {
            read_head(&mut s);
            answer(&mut s, "200 OK", "", HEALTHY);
        }
    });
    let ev = probe(&format!("http://127.0.0.1:{port}"), 2);
    let failed = ev.http.iter().filter(|a| a.failure.is_some()).count();
    assert!(failed >= 1 && failed < ev.http.len(), "{:?}", ev.http);
    let found = findings(&ev);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].1, Severity::Warning);
    assert_eq!(found[0].2, format!("{failed} of 4 health requests to the API server at 127.0.0.1 failed"));
}

#[test]
fn a_redirect_is_not_followed_and_is_a_finding() {
    let port = serve(|mut s, _| {
        let head = read_head(&mut s);
        if head.starts_with("GET /login") {
            answer(&mut s, "200 OK", "", "<html>Sign in to Corp SSO</html>");
        } else {
            answer(&mut s, "302 Found", "Location: /login?next=/readyz\r\n", "");
        }
    });
    let ev = probe(&format!("http://127.0.0.1:{port}"), 2);
    assert!(ev.http.iter().all(|a| a.status == Some(302)), "{:?}", ev.http);
    assert_eq!(ev.http[0].location.as_deref(), Some("/login?next=/readyz"));
    let found = findings(&ev);
    assert_eq!(found[0].1, Severity::Critical);
    assert!(found[0].2.contains("is redirected to /login?next=/readyz"), "{found:?}");
}

#[test]
fn a_200_cut_short_with_a_failing_check_is_not_answered_200() {
    let port = serve(|mut s, _| {
        read_head(&mut s);
        let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n[+]ping ok\n[-]etcd fa");
    });
    let ev = probe(&format!("http://127.0.0.1:{port}"), 2);
    let a = &ev.http[0];
    assert_eq!(a.status, Some(200));
    let (kind, message) = a.failure.clone().expect("a cut answer is a failure");
    assert_eq!(kind, HttpFailure::Transport);
    assert!(message.starts_with("the HTTP 200 answer was cut after 21 bytes of its body"), "{message}");
    let found = findings(&ev);
    assert_eq!(found[0].2, "The API server at 127.0.0.1 does not answer /readyz", "{found:?}");
    let steps = probe::render_steps(&ev);
    assert!(steps.contains("-> 200, but the answer failed after"), "{steps}");
}

#[test]
fn http_requests_go_to_the_addresses_resolved_once() {
    let port = serve(|mut s, _| {
        read_head(&mut s);
        answer(&mut s, "200 OK", "", HEALTHY);
    });
    // `localhost` may resolve to ::1 too, where nothing listens: the requests go only to the
    // addresses that connected, and carry the name in `Host`.
    let ev = probe(&format!("http://localhost:{port}"), 2);
    let resolved = ev.dns.as_ref().map(|d| d.addresses.clone()).unwrap_or_default();
    assert!(!resolved.is_empty());
    for a in &ev.http {
        let address = a.address.expect("each request names its address");
        assert!(resolved.contains(&address), "{address} not among {resolved:?}");
        assert_eq!(a.status, Some(200), "{a:?}");
    }
}

#[test]
fn a_server_url_with_a_path_from_a_kubeconfig_is_probed_under_it() {
    let port = serve(|mut s, _| {
        let head = read_head(&mut s);
        if head.starts_with("GET /k8s/clusters/c-m-abc123/readyz?verbose ")
            || head.starts_with("GET /k8s/clusters/c-m-abc123/livez?verbose ")
        {
            answer(&mut s, "200 OK", "", HEALTHY);
        } else {
            answer(&mut s, "404 Not Found", "", "404 page not found");
        }
    });
    let url = format!("http://127.0.0.1:{port}/k8s/clusters/c-m-abc123/");
    let ev = probe::collect(&ProbeOptions { url, allow_path: true, ..ProbeOptions::default() })
        .expect("a path is accepted from a kubeconfig");
    assert_eq!(ev.target.path, "/k8s/clusters/c-m-abc123");
    assert!(ev.http.iter().all(|a| a.status == Some(200)), "{:?}", ev.http);
    assert_eq!(findings(&ev), vec![]);
}

#[test]
fn a_chunked_answer_with_chunk_extensions_is_read_whole() {
    // The API server behind some proxies answers chunked; the body is what the checks read.
    let port = serve(|mut s, _| {
        read_head(&mut s);
        let _ = write!(
            s,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
             b;ext=1\r\n[+]ping ok\n\r\n1f\r\n[+]etcd ok\nreadyz check passed\n\r\n0\r\n\r\n"
        );
    });
    let ev = probe(&format!("http://127.0.0.1:{port}"), 2);
    let a = &ev.http[0];
    assert_eq!(a.status, Some(200));
    assert!(a.failure.is_none(), "{:?}", a.failure);
    assert_eq!(a.body, HEALTHY);
}

#[test]
fn an_answer_that_is_not_http_is_named_as_such() {
    let port = serve(|mut s, _| {
        read_head(&mut s);
        let _ = s.write_all(b"SSH-2.0-OpenSSH_9.6\r\n");
    });
    let ev = probe(&format!("http://127.0.0.1:{port}"), 2);
    let (kind, message) = ev.http[0].failure.clone().expect("a failure");
    assert_eq!(kind, HttpFailure::Transport);
    assert!(message.starts_with("not an HTTP answer"), "{message}");
    assert!(message.contains("SSH-2.0"), "{message}");
}

/// How a TLS test server treats client certificates.
#[derive(Clone, Copy, PartialEq)]
enum ClientCertificates {
    /// Asked for, optional: what a kube-apiserver does whenever --client-ca-file is set
    /// (Go's `tls.RequestClientCert`).
    Asked,
    /// Required, as an mTLS gateway does: a handshake without one ends with an alert.
    Required,
}

/// A TLS server (the test certificate) speaking `versions`, treating client certificates as
/// `client`; runs `handle` on every connection whose handshake finished.
fn serve_tls(
    client: ClientCertificates,
    versions: &[&'static rustls::SupportedProtocolVersion],
    handle: impl Fn(StreamOwned<ServerConnection, TcpStream>) + Send + Sync + 'static,
) -> u16 {
    serve(tls_handler(client, versions, handle))
}

/// What [`serve_tls`] runs on each connection.
fn tls_handler(
    client: ClientCertificates,
    versions: &[&'static rustls::SupportedProtocolVersion],
    handle: impl Fn(StreamOwned<ServerConnection, TcpStream>) + Send + Sync + 'static,
) -> impl Fn(TcpStream, usize) + Send + Sync + 'static {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_slice_iter(CA) {
        roots.add(ca.expect("the test CA")).expect("a root");
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
    let verifier = match client {
        ClientCertificates::Asked => verifier.allow_unauthenticated(),
        ClientCertificates::Required => verifier,
    }
    .build()
    .expect("a client verifier");
    let chain: Vec<_> = CertificateDer::pem_slice_iter(SERVER_CERTIFICATE)
        .collect::<Result<_, _>>()
        .expect("the test certificate");
    let key = PrivateKeyDer::from_pem_slice(SERVER_KEY).expect("the test key");
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .expect("versions")
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .expect("a server configuration"),
    );
    move |mut tcp, _| {
        let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
        let Ok(mut conn) = ServerConnection::new(config.clone()) else { return };
        while conn.is_handshaking() {
            // The probe's bare TCP connections end here, and handshakes refused.
            if conn.complete_io(&mut tcp).is_err() {
                return;
            }
        }
        handle(StreamOwned::new(conn, tcp));
    }
}

/// Reads a request's head over TLS; empty when none came (the probe's certificate read
/// sends nothing but close_notify).
fn read_tls_head(s: &mut StreamOwned<ServerConnection, TcpStream>) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

fn answer_tls(s: &mut StreamOwned<ServerConnection, TcpStream>, status: &str, body: &str) {
    let _ = write!(
        s,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.conn.send_close_notify();
    let _ = s.flush();
}

/// A probe of `https://127.0.0.1:PORT` that trusts the test CA.
fn probe_tls(port: u16) -> ProbeEvidence {
    probe::collect(&ProbeOptions {
        url: format!("https://127.0.0.1:{port}"),
        cacert: Some(probe::Ca::Pem {
            origin: "the test CA".to_owned(),
            bytes: CA.to_vec(),
            insecure_too: None,
        }),
        attempts: 3,
        timeout: Duration::from_secs(3),
        ..ProbeOptions::default()
    })
    .expect("probe starts")
}

/// Review H1: a kube-apiserver asks every client for a certificate; a connection closed after
/// the handshake (a backend dying behind a load balancer, a restart) was then called mutual
/// TLS, a warning, and the probe stopped without retrying.
#[test]
fn a_reset_after_the_handshake_was_read_as_mutual_tls() {
    let requests = Arc::new(AtomicUsize::new(0));
    let seen = requests.clone();
    let port = serve_tls(ClientCertificates::Asked, rustls::ALL_VERSIONS, move |mut s| {
        if read_tls_head(&mut s).is_empty() {
            return;
        }
        if seen.fetch_add(1, Ordering::SeqCst) == 0 {
            // Closed without an answer (and without close_notify), as a dying backend does.
            return;
        }
        answer_tls(&mut s, "200 OK", HEALTHY);
    });
    let ev = probe_tls(port);
    assert_eq!(ev.http.len(), 4, "retried: {:?}", ev.http);
    let first = &ev.http[0];
    assert_eq!(first.tls_problem, None, "{first:?}");
    assert!(matches!(first.failure, Some((HttpFailure::Transport, _))), "{first:?}");
    assert!(ev.http[1..].iter().all(|a| a.status == Some(200) && a.failure.is_none()), "{:?}", ev.http);
    let found = findings(&ev);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].0.as_str(), found[0].1, found[0].2.as_str()),
        ("NET004", Severity::Warning, "1 of 4 health requests to the API server at 127.0.0.1 failed")
    );
    assert!(!found[0].3.contains("client certificate"), "{}", found[0].3);
}

/// Review H1: every request reset after a handshake in which the server asked for a client
/// certificate is a server that does not answer (critical), not mutual TLS (a warning).
#[test]
fn every_request_reset_after_the_server_asked_for_a_client_certificate_is_no_answer_not_mutual_tls() {
    let port = serve_tls(ClientCertificates::Asked, rustls::ALL_VERSIONS, |s| {
        // Let the request arrive, unread, and close: a reset (or a close, when the request
        // came with the handshake's last message).
        std::thread::sleep(Duration::from_millis(100));
        drop(s);
    });
    let ev = probe_tls(port);
    assert_eq!(ev.http.len(), 4, "retried: {:?}", ev.http);
    assert!(
        ev.http.iter().all(|a| a.tls_problem.is_none() && !a.failed_in_tls() && a.failure.is_some()),
        "{:?}",
        ev.http
    );
    let found = findings(&ev);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].0.as_str(), found[0].1, found[0].2.as_str()),
        ("NET004", Severity::Critical, "The API server at 127.0.0.1 does not answer /readyz")
    );
}

/// A server that really requires a client certificate says so with an alert (TLS 1.3 after
/// the handshake, TLS 1.2 during it): still mutual TLS, not retried.
#[test]
fn a_server_that_requires_a_client_certificate_is_still_told_as_mutual_tls() {
    for versions in [&[&rustls::version::TLS13][..], &[&rustls::version::TLS12][..]] {
        let port = serve_tls(ClientCertificates::Required, versions, |mut s| {
            answer_tls(&mut s, "200 OK", HEALTHY);
        });
        let ev = probe_tls(port);
        assert_eq!(ev.http.len(), 1, "not retried: {:?}", ev.http);
        assert_eq!(ev.http[0].tls_problem, Some(TlsProblem::ClientCertificateRequired), "{:?}", ev.http);
        let found = findings(&ev);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].0.as_str(), found[0].1, found[0].2.as_str()),
            (
                "NET003",
                Severity::Warning,
                "The server at 127.0.0.1 requires a client certificate (mutual TLS)"
            )
        );
    }
}

/// Review M3: a kubeconfig with both a CA and insecure-skip-tls-verify, which kubectl refuses,
/// was probed unverified and reported as a healthy path (an info finding at most).
#[test]
fn a_ca_with_insecure_skip_tls_verify_was_reported_as_a_healthy_unverified_path() {
    use base64::Engine;
    let port = serve_tls(ClientCertificates::Asked, rustls::ALL_VERSIONS, |mut s| {
        if !read_tls_head(&mut s).is_empty() {
            answer_tls(&mut s, "200 OK", HEALTHY);
        }
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config");
    std::fs::write(
        &path,
        format!(
            "current-context: c\ncontexts:\n- name: c\n  context:\n    cluster: k\nclusters:\n- name: k\n  cluster:\n    server: https://127.0.0.1:{port}\n    insecure-skip-tls-verify: true\n    certificate-authority-data: {}\n",
            base64::engine::general_purpose::STANDARD.encode(CA)
        ),
    )
    .expect("write");
    let server = probe::kubeconfig::server(&path, None).expect("a usable kubeconfig");
    // As `apiserver-doctor probe --kubeconfig` builds its options.
    let ev = probe::collect(&ProbeOptions {
        url: server.url.clone(),
        cacert: server.ca.clone(),
        insecure: server.insecure,
        tls_server_name: server.tls_server_name.clone(),
        allow_path: true,
        timeout: Duration::from_secs(3),
        ..ProbeOptions::default()
    })
    .expect("probe starts");
    assert!(!ev.insecure, "verified with the CA");
    assert!(ev.trust.starts_with("the CA of cluster k in "), "{}", ev.trust);
    assert!(ev.trust.contains("insecure-skip-tls-verify is not applied"), "{}", ev.trust);
    assert!(ev.http.iter().all(|a| a.status == Some(200) && a.failure.is_none()), "{:?}", ev.http);
    let found = findings(&ev);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].0.as_str(), found[0].1, found[0].2.as_str()),
        (
            "NET003",
            Severity::Warning,
            "kubectl refuses the kubeconfig's cluster k: it sets both a CA and insecure-skip-tls-verify"
        )
    );
    assert!(found[0].3.contains("specifying a root certificates file with the insecure flag is not allowed"));
}

/// Review L3: a TLS 1.2 server that wants a client certificate ends the handshake after it
/// sent its own; the certificate read was then thrown away ("CERT not read"), and its expiry
/// could not be told.
#[test]
fn a_certificate_received_before_the_handshake_failed_was_discarded() {
    let port = serve_tls(ClientCertificates::Required, &[&rustls::version::TLS12], |_| {});
    let ev = probe_tls(port);
    let certificate = ev.certificate.as_ref().expect("the certificate received is described");
    assert_eq!(
        (certificate.subject.as_str(), certificate.issuer.as_str()),
        ("CN=kube-apiserver", "CN=probe-test-ca")
    );
    assert_eq!(certificate.not_after, "2120-01-01");
    let note = ev.certificate_error.as_deref().unwrap_or_default();
    assert!(
        note.starts_with("TLS handshake: ")
            && note.contains("wants a client certificate (TLS alert certificate_required)"),
        "{note}"
    );
    let steps = probe::render_steps(&ev);
    assert!(
        steps.contains("  CERT  CN=kube-apiserver issued by CN=probe-test-ca, valid until 2120-01-01 (")
            && steps.contains("; the handshake then failed: TLS handshake: "),
        "{steps}"
    );
}

/// Copies both ways between `a` and `b` until either side closes.
fn pipe(a: TcpStream, b: TcpStream) {
    let (Ok(mut a2), Ok(mut b2)) = (a.try_clone(), b.try_clone()) else { return };
    let (mut a, mut b) = (a, b);
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut a, &mut b2);
        let _ = b2.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut b, &mut a2);
    let _ = a2.shutdown(std::net::Shutdown::Write);
    let _ = up.join();
}

/// Reads an HTTP head a byte at a time (what follows it is the tunnel's).
fn read_head_exactly(s: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    let mut one = [0u8; 1];
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    while !seen.ends_with(b"\r\n\r\n") {
        match s.read(&mut one) {
            Ok(0) | Err(_) => break,
            Ok(_) => seen.push(one[0]),
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

/// A tiny HTTP CONNECT proxy: it records every request head in `heads`, and answers with
/// `status`; on `200 …` it "resolves" any name to 127.0.0.1 and tunnels to `upstream_port`.
fn connect_proxy(status: &'static str, upstream_port: u16, heads: Arc<std::sync::Mutex<Vec<String>>>) -> u16 {
    serve(move |mut s, _| {
        let head = read_head_exactly(&mut s);
        // The probe's bare TCP connections send nothing.
        if head.is_empty() {
            return;
        }
        if let Ok(mut h) = heads.lock() {
            h.push(head);
        }
        if !status.starts_with("200") {
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nProxy-Authenticate: Basic realm=\"corp\"\r\nContent-Length: 0\r\n\r\n"
            );
            return;
        }
        let Ok(upstream) = TcpStream::connect(("127.0.0.1", upstream_port)) else {
            let _ = write!(s, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
            return;
        };
        let _ = write!(s, "HTTP/1.1 200 Connection established\r\n\r\n");
        let _ = s.set_read_timeout(None);
        pipe(s, upstream);
    })
}

/// A healthy TLS API server (the test certificate, for 127.0.0.1 and localhost).
fn healthy_tls() -> u16 {
    serve_tls(ClientCertificates::Asked, rustls::ALL_VERSIONS, |mut s| {
        if !read_tls_head(&mut s).is_empty() {
            answer_tls(&mut s, "200 OK", HEALTHY);
        }
    })
}

/// A probe of `https://NAME:PORT` (a name only the proxy "resolves"), the certificate checked
/// for localhost, through `proxy`.
fn probe_through(name: &str, port: u16, proxy: &str, from: &str) -> ProbeEvidence {
    probe::collect(&ProbeOptions {
        url: format!("https://{name}:{port}"),
        cacert: Some(probe::Ca::Pem {
            origin: "the test CA".to_owned(),
            bytes: CA.to_vec(),
            insecure_too: None,
        }),
        tls_server_name: Some("localhost".to_owned()),
        attempts: 3,
        timeout: Duration::from_secs(3),
        proxy: Some(probe::ProxySetting { url: proxy.to_owned(), from: from.to_owned() }),
        ..ProbeOptions::default()
    })
    .expect("probe starts")
}

/// Review H2: a healthy API server reached through an HTTP proxy (HTTPS_PROXY, a cluster's
/// proxy-url) was reported CRITICAL "does not resolve": the probe resolved the name itself and
/// connected directly, never through the proxy.
#[test]
fn a_healthy_api_server_behind_an_http_proxy_was_reported_as_not_resolving() {
    let server = healthy_tls();
    let heads = Arc::new(std::sync::Mutex::new(Vec::new()));
    let proxy = connect_proxy("200 Connection established", server, heads.clone());
    let ev =
        probe_through("api.private.invalid", server, &format!("http://127.0.0.1:{proxy}"), "HTTPS_PROXY");
    assert_eq!(findings(&ev), vec![], "{}", probe::render_steps(&ev));
    assert!(ev.http.iter().all(|a| a.status == Some(200) && a.failure.is_none()), "{:?}", ev.http);
    assert_eq!(ev.certificate.as_ref().map(|c| c.subject.as_str()), Some("CN=kube-apiserver"));
    // The proxy's name and TCP steps, not the API server's: its name is the proxy's to resolve.
    assert!(ev.dns.is_none(), "the proxy is an address: {:?}", ev.dns);
    assert!(ev.tcp.iter().all(|a| a.address.port() == proxy), "{:?}", ev.tcp);
    let heads = heads.lock().map(|h| h.clone()).unwrap_or_default();
    assert_eq!(heads.len(), 5, "the certificate read and 4 requests, each through a tunnel: {heads:?}");
    for head in &heads {
        assert!(head.starts_with(&format!("CONNECT api.private.invalid:{server} HTTP/1.1\r\n")), "{head}");
        assert!(head.contains(&format!("\r\nHost: api.private.invalid:{server}\r\n")), "{head}");
        assert!(!head.contains("Proxy-Authorization"), "{head}");
    }
    let steps = probe::render_steps(&ev);
    let second = steps.lines().nth(1).unwrap_or_default();
    assert_eq!(
        second,
        format!(
            "  PROXY http://127.0.0.1:{proxy} (from HTTPS_PROXY): CONNECT to api.private.invalid:{server}; the proxy resolves api.private.invalid"
        ),
        "{steps}"
    );
    let json = serde_json::to_value(&ev).expect("json");
    assert_eq!(json["proxy"]["url"], format!("http://127.0.0.1:{proxy}"));
    assert_eq!(json["proxy"]["from"], "HTTPS_PROXY");
    assert_eq!(json["proxy"]["used"], true);
}

/// Review H2: a proxy that refuses CONNECT is a finding naming the proxy and its answer, not
/// "does not resolve"; the password of the proxy URL is sent, never printed.
#[test]
fn a_proxy_refusing_connect_was_reported_as_a_name_that_does_not_resolve() {
    let heads = Arc::new(std::sync::Mutex::new(Vec::new()));
    let proxy = connect_proxy("407 Proxy Authentication Required", 1, heads.clone());
    let url = format!("http://alice:s3cret@127.0.0.1:{proxy}");
    let ev = probe_through("api.private.invalid", 443, &url, "proxy-url of cluster k in kc.yaml");
    assert_eq!(ev.http.len(), 1, "a refusal is not retried: {:?}", ev.http);
    assert_eq!(ev.http[0].proxy_status, Some(407));
    let found = findings(&ev);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].0.as_str(), found[0].1, found[0].2.as_str()),
        (
            "NET002",
            Severity::Critical,
            format!(
                "The proxy http://alice:***@127.0.0.1:{proxy} refused CONNECT to api.private.invalid:443: 407 Proxy Authentication Required"
            )
            .as_str()
        )
    );
    assert!(found[0].3.contains("refused the user name and password"), "{}", found[0].3);
    let heads = heads.lock().map(|h| h.clone()).unwrap_or_default();
    assert!(
        heads.iter().all(|h| h.contains("\r\nProxy-Authorization: Basic YWxpY2U6czNjcmV0\r\n")),
        "{heads:?}"
    );
    let everything = format!(
        "{found:?}{}{}{ev:?}",
        probe::render_steps(&ev),
        serde_json::to_string(&ev).unwrap_or_default()
    );
    assert!(!everything.contains("s3cret"), "the password is never printed");
    assert!(!found.iter().any(|f| f.0 == "NET001" || f.0 == "NET004"), "{found:?}");
    assert!(ev.certificate_error.as_deref().unwrap_or("").contains("407"), "{:?}", ev.certificate_error);
    let steps = probe::render_steps(&ev);
    assert!(
        steps.contains(": the proxy did not open the tunnel: 407 Proxy Authentication Required\n"),
        "{steps}"
    );
}

/// Review H2: an https:// proxy (TLS to the proxy) is not spoken by the probe: it says that
/// kubectl goes through it, tests the direct path, and what the direct path meets is information.
#[test]
fn a_proxy_kind_the_probe_does_not_speak_is_said_and_the_direct_path_is_information() {
    let ev = probe::collect(&ProbeOptions {
        url: "https://api.private.invalid".to_owned(),
        timeout: Duration::from_secs(2),
        proxy: Some(probe::ProxySetting {
            url: "https://proxy.corp:8443".to_owned(),
            from: "proxy-url of cluster k in kc.yaml".to_owned(),
        }),
        ..ProbeOptions::default()
    })
    .expect("probe starts");
    let steps = probe::render_steps(&ev);
    assert!(
        steps.lines().nth(1).unwrap_or_default().starts_with(
            "  PROXY kubectl reaches this server through https://proxy.corp:8443 (from proxy-url of cluster k in kc.yaml); this probe does not support that proxy kind"
        ),
        "{steps}"
    );
    let found = findings(&ev);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "NET001");
    assert_eq!(found[0].1, Severity::Info, "{found:?}");
    assert!(
        found[0].3.contains("reaches the API server through the proxy https://proxy.corp:8443"),
        "{}",
        found[0].3
    );
}

/// A tiny SOCKS5 proxy that wants a user name and password: it records what it was asked
/// (`user:password name:port`) and tunnels any name to 127.0.0.1:`upstream_port`.
fn socks5_proxy(upstream_port: u16, asked: Arc<std::sync::Mutex<Vec<String>>>) -> u16 {
    serve(move |mut s, _| {
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let read = |n: usize, s: &mut TcpStream| {
            let mut b = vec![0u8; n];
            s.read_exact(&mut b).ok().map(|()| b)
        };
        // The probe's bare TCP connections send nothing.
        let Some(greeting) = read(2, &mut s) else { return };
        let Some(methods) = read(greeting[1] as usize, &mut s) else { return };
        if !methods.contains(&0x02) {
            let _ = s.write_all(&[0x05, 0xff]);
            return;
        }
        let _ = s.write_all(&[0x05, 0x02]);
        let Some(head) = read(2, &mut s) else { return };
        let Some(user) = read(head[1] as usize, &mut s) else { return };
        let Some(len) = read(1, &mut s) else { return };
        let Some(password) = read(len[0] as usize, &mut s) else { return };
        let _ = s.write_all(&[0x01, 0x00]);
        let Some(request) = read(4, &mut s) else { return };
        let name = if request[3] == 0x03 {
            let Some(len) = read(1, &mut s) else { return };
            read(len[0] as usize, &mut s)
                .map(|n| String::from_utf8_lossy(&n).into_owned())
                .unwrap_or_default()
        } else {
            format!("(address type {})", request[3])
        };
        let Some(port) = read(2, &mut s) else { return };
        if let Ok(mut a) = asked.lock() {
            a.push(format!(
                "{}:{} {name}:{}",
                String::from_utf8_lossy(&user),
                String::from_utf8_lossy(&password),
                u16::from_be_bytes([port[0], port[1]])
            ));
        }
        let Ok(upstream) = TcpStream::connect(("127.0.0.1", upstream_port)) else {
            let _ = s.write_all(&[0x05, 0x05, 0x00, 0x01, 0, 0, 0, 0, 0, 0]);
            return;
        };
        let _ = s.write_all(&[0x05, 0x00, 0x00, 0x01, 127, 0, 0, 1, 0x1f, 0x90]);
        let _ = s.set_read_timeout(None);
        pipe(s, upstream);
    })
}

/// Review H2: kubectl reaches AKS private clusters through a SOCKS5 jump host (`proxy-url:
/// socks5://…`); the probe resolved the private name itself and reported it CRITICAL.
#[test]
fn a_healthy_api_server_behind_a_socks5_jump_host_was_reported_as_not_resolving() {
    let server = healthy_tls();
    let asked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let proxy = socks5_proxy(server, asked.clone());
    let ev = probe_through(
        "aks-private.privatelink.eastus.azmk8s.io.invalid",
        server,
        &format!("socks5://jump:pa%24s@127.0.0.1:{proxy}"),
        "proxy-url of cluster aks in kc.yaml",
    );
    assert_eq!(findings(&ev), vec![], "{}", probe::render_steps(&ev));
    assert!(ev.http.iter().all(|a| a.status == Some(200)), "{:?}", ev.http);
    let asked = asked.lock().map(|a| a.clone()).unwrap_or_default();
    assert_eq!(asked.len(), 5, "{asked:?}");
    assert!(
        asked
            .iter()
            .all(|a| a == &format!("jump:pa$s aks-private.privatelink.eastus.azmk8s.io.invalid:{server}")),
        "the name is the proxy's to resolve: {asked:?}"
    );
    let steps = probe::render_steps(&ev);
    assert!(steps.contains(&format!("  PROXY socks5://jump:***@127.0.0.1:{proxy} (from proxy-url of cluster aks in kc.yaml): SOCKS5 CONNECT to ")), "{steps}");
}

/// A SOCKS5 proxy that wants credentials, given none: a finding naming the proxy.
#[test]
fn a_socks5_proxy_wanting_credentials_is_named() {
    let proxy = socks5_proxy(1, Arc::default());
    let ev = probe_through("api.private.invalid", 443, &format!("socks5://127.0.0.1:{proxy}"), "HTTPS_PROXY");
    assert_eq!(ev.http.len(), 1, "a refusal is not retried: {:?}", ev.http);
    let found = findings(&ev);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "NET002");
    assert_eq!(
        found[0].2,
        format!(
            "The proxy socks5://127.0.0.1:{proxy} refused SOCKS5 CONNECT to api.private.invalid:443: the SOCKS5 proxy wants authentication, and the proxy URL has no user name and password"
        )
    );
}

/// Two listeners on one port, on 127.0.0.2 and 127.0.0.1: the addresses of one name (DNS round
/// robin over control-plane nodes).
fn two_addresses() -> (TcpListener, TcpListener, u16) {
    for _ in 0..50 {
        let first = TcpListener::bind("127.0.0.2:0").expect("bind 127.0.0.2");
        let port = first.local_addr().expect("addr").port();
        if let Ok(second) = TcpListener::bind(("127.0.0.1", port)) {
            return (first, second, port);
        }
    }
    panic!("no port free on both 127.0.0.2 and 127.0.0.1");
}

/// Review M2: with several addresses, a lasting TLS failure on the first stopped the probe: the
/// others were never tried, the certificate came from the first only, and NET003 said "Not
/// retried: another attempt would meet the same" while the other address was fine.
#[test]
fn a_lasting_tls_failure_on_one_address_stopped_the_probe_before_the_others() {
    let (broken, good, port) = two_addresses();
    // 127.0.0.2: plain HTTP on the TLS port (a lasting failure); 127.0.0.1: a healthy server.
    serve_on(broken, |mut s, _| {
        read_head(&mut s);
        answer(&mut s, "400 Bad Request", "", "plain");
    });
    serve_on(
        good,
        tls_handler(ClientCertificates::Asked, rustls::ALL_VERSIONS, |mut s| {
            if !read_tls_head(&mut s).is_empty() {
                answer_tls(&mut s, "200 OK", HEALTHY);
            }
        }),
    );
    let first: std::net::IpAddr = "127.0.0.2".parse().expect("ip");
    let second: std::net::IpAddr = "127.0.0.1".parse().expect("ip");
    let ev = probe::collect(&ProbeOptions {
        url: format!("https://localhost:{port}"),
        cacert: Some(probe::Ca::Pem {
            origin: "the test CA".to_owned(),
            bytes: CA.to_vec(),
            insecure_too: None,
        }),
        attempts: 3,
        timeout: Duration::from_secs(3),
        addresses: vec![first, second],
        ..ProbeOptions::default()
    })
    .expect("probe starts");
    let to = |ip: std::net::IpAddr| ev.http.iter().filter(|a| a.address.map(|x| x.ip()) == Some(ip)).count();
    assert_eq!(to(first), 1, "the address with a lasting failure, once: {:?}", ev.http);
    assert_eq!(to(second), 3, "the other address, every other request: {:?}", ev.http);
    assert!(
        ev.http.iter().filter(|a| a.address.map(|x| x.ip()) == Some(second)).all(|a| a.status == Some(200)),
        "{:?}",
        ev.http
    );
    // The certificate of every address that presents one, named by address.
    assert_eq!(ev.certificate.as_ref().and_then(|c| c.address).map(|a| a.ip()), Some(second));
    let found = findings(&ev);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].0.as_str(), found[0].1, found[0].2.as_str()),
        (
            "NET003",
            Severity::Warning,
            format!("1 of 2 API server addresses fails every TLS handshake: 127.0.0.2:{port}").as_str()
        )
    );
    // The title names the address; the summary does not again (see
    // `net_findings_named_the_address_twice`).
    assert!(found[0].3.starts_with("The TLS handshake failed"), "{}", found[0].3);
    assert!(!found[0].3.contains(&format!("127.0.0.2:{port}")), "{}", found[0].3);
    assert!(!found[0].3.contains("Not retried"), "{}", found[0].3);
    assert!(
        found[0].3.contains("The handshakes with the other address worked: a client that picks the failing one fails every time"),
        "{}",
        found[0].3
    );
    let steps = probe::render_steps(&ev);
    assert!(
        steps.contains("  DNS   localhost not resolved: the addresses given, 127.0.0.2, 127.0.0.1\n"),
        "{steps}"
    );
}

/// Review M2: the certificate was read from the first address only; every address's is read,
/// and the one that expires first is judged, named by its address.
#[test]
fn the_certificate_was_read_from_the_first_address_only() {
    let (a, b, port) = two_addresses();
    for listener in [a, b] {
        serve_on(
            listener,
            tls_handler(ClientCertificates::Asked, rustls::ALL_VERSIONS, |mut s| {
                if !read_tls_head(&mut s).is_empty() {
                    answer_tls(&mut s, "200 OK", HEALTHY);
                }
            }),
        );
    }
    let ev = probe::collect(&ProbeOptions {
        url: format!("https://localhost:{port}"),
        cacert: Some(probe::Ca::Pem {
            origin: "the test CA".to_owned(),
            bytes: CA.to_vec(),
            insecure_too: None,
        }),
        attempts: 1,
        timeout: Duration::from_secs(3),
        addresses: vec!["127.0.0.2".parse().expect("ip"), "127.0.0.1".parse().expect("ip")],
        ..ProbeOptions::default()
    })
    .expect("probe starts");
    let read: Vec<String> =
        ev.certificates.iter().map(|c| c.address.map(|a| a.to_string()).unwrap_or_default()).collect();
    assert_eq!(read, vec![format!("127.0.0.2:{port}"), format!("127.0.0.1:{port}")]);
    // Every address is asked at least once, even with --attempts 1.
    let asked: std::collections::BTreeSet<_> = ev.http.iter().filter_map(|a| a.address).collect();
    assert_eq!(asked.len(), 2, "{:?}", ev.http);
    assert_eq!(findings(&ev), vec![]);
    let steps = probe::render_steps(&ev);
    assert!(
        steps.contains(&format!("  CERT  127.0.0.2:{port}: CN=kube-apiserver issued by CN=probe-test-ca")),
        "{steps}"
    );
}

/// A listener on `ip:port` that never accepts, its queue of connections filled: a connection to
/// it hangs as one to a black-holed address does (Linux drops a SYN to a full queue). The
/// listener and the connections that fill it, to keep.
fn black_hole(ip: &str, port: u16) -> Option<(TcpListener, Vec<TcpStream>)> {
    let listener = TcpListener::bind((ip, port)).ok()?;
    let address = listener.local_addr().ok()?;
    let mut queued = Vec::new();
    // The standard library listens with a backlog of 128: 129 connections fill the queue.
    while queued.len() < 1000 {
        match TcpStream::connect_timeout(&address, Duration::from_millis(200)) {
            Ok(s) => queued.push(s),
            Err(_) => return Some((listener, queued)),
        }
    }
    None
}

/// Review L6: the addresses were connected to one after another: 8 black-holed addresses took
/// 8 × --attempts × --timeout (two minutes with the defaults), and nothing was said meanwhile.
/// Now they are connected to at once, each step said as it starts and ends.
#[test]
fn black_holed_addresses_were_probed_one_after_another() {
    let ips = ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"];
    let (holes, port) = (0..50)
        .find_map(|_| {
            let port = TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
            let holes: Option<Vec<_>> = ips.iter().map(|ip| black_hole(ip, port)).collect();
            holes.map(|h| (h, port))
        })
        .expect("four black holes on one port");
    let mut said = Vec::new();
    let started = std::time::Instant::now();
    let ev = probe::collect_with_progress(
        &ProbeOptions {
            url: format!("https://apiserver.test:{port}"),
            attempts: 1,
            timeout: Duration::from_secs(1),
            addresses: ips.iter().map(|ip| ip.parse().expect("ip")).collect(),
            ..ProbeOptions::default()
        },
        &mut said,
    )
    .expect("probe starts");
    let elapsed = started.elapsed();
    drop(holes);
    // Every address tried, in address order, every attempt timed out.
    let tried: Vec<String> = ev.tcp.iter().map(|a| a.address.ip().to_string()).collect();
    assert_eq!(tried, ips);
    assert!(ev.tcp.iter().all(|a| a.error.is_some() && a.seconds >= 0.9), "{:?}", ev.tcp);
    // At once: every connection started before the first one ended.
    let said = String::from_utf8(said).expect("utf-8");
    let lines: Vec<&str> = said.lines().collect();
    assert_eq!(
        lines[0], "connecting to 4 addresses at once (1 attempt each, at most 1 s per attempt)…",
        "{said}"
    );
    let first_end = lines.iter().position(|l| l.contains("failed after")).expect("an end");
    let starts: Vec<&&str> = lines[..first_end].iter().filter(|l| l.starts_with("probing ")).collect();
    assert_eq!(starts.len(), 4, "{said}");
    assert!(said.contains(&format!("probing 127.0.0.3:{port} (attempt 1/1)…\n")), "{said}");
    assert!(said.contains(&format!("127.0.0.3:{port} (attempt 1/1): failed after 1.0 s: ")), "{said}");
    // Four timeouts of 1 s one after another take 4 s.
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

/// How many times `needle` occurs in `text`.
fn times(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

/// Review: NET002 named the address twice, `Cannot connect to the API server at
/// 127.0.0.1:PORT`, then `(127.0.0.1:PORT: connection refused: nothing listens on
/// 127.0.0.1:PORT)`; NET001 `Resolving NAME failed after …: the name NAME does not resolve`;
/// NET003 `The TLS handshake with ADDRESS failed: TLS handshake: … not for NAME … The
/// certificate is not for the name NAME`. Each address or name is said once, where it reads
/// naturally: in the title when the title names it, else beside its failure.
#[test]
fn net_findings_named_the_address_twice() {
    // A port nothing listens on, by its address: the title names it, the summary says why.
    let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let address = format!("127.0.0.1:{port}");
    let ev = probe(&format!("https://{address}"), 2);
    let found = findings(&ev);
    assert_eq!(found.len(), 1, "{found:?}");
    let (code, _, title, summary) = &found[0];
    assert_eq!(code, "NET002");
    assert_eq!(times(&format!("{title} {summary}"), &address), 1, "{title} / {summary}");
    assert_eq!(
        summary,
        "3 of 3 connections failed (connection refused: nothing listens on that port). Nothing here reaches the API server."
    );
    assert!(
        ev.tcp.iter().all(|a| a.error.as_deref() == Some("connection refused: nothing listens on that port"))
    );
    // By a name: the title names the name, the summary the address, once.
    let ev = probe::collect(&ProbeOptions {
        url: format!("https://api.test:{port}"),
        addresses: vec!["127.0.0.1".parse().expect("an address")],
        attempts: 2,
        timeout: Duration::from_secs(2),
        ..ProbeOptions::default()
    })
    .expect("probe starts");
    let found = findings(&ev);
    let (_, _, title, summary) = &found[0];
    assert_eq!(title, &format!("Cannot connect to the API server at api.test:{port}"));
    assert_eq!(times(summary, &address), 1, "{summary}");
    assert!(
        summary.contains(&format!("({address}: connection refused: nothing listens on that port)")),
        "{summary}"
    );

    // A certificate for another name than the one asked: the name once in the summary, and
    // `TLS handshake` once.
    let port = healthy_tls();
    let ev = probe::collect(&ProbeOptions {
        url: format!("https://127.0.0.1:{port}"),
        cacert: Some(probe::Ca::Pem {
            origin: "the test CA".to_owned(),
            bytes: CA.to_vec(),
            insecure_too: None,
        }),
        tls_server_name: Some("wrong.example".to_owned()),
        attempts: 1,
        timeout: Duration::from_secs(3),
        ..ProbeOptions::default()
    })
    .expect("probe starts");
    let found = findings(&ev);
    let net003 = found.iter().find(|f| f.0 == "NET003").expect("NET003");
    let summary = &net003.3;
    assert!(
        summary.starts_with("The TLS handshake failed: the server's certificate is not for wrong.example"),
        "{summary}"
    );
    assert_eq!(times(summary, "wrong.example"), 1, "{summary}");
    assert_eq!(times(summary, "TLS handshake"), 1, "{summary}");
    assert_eq!(times(summary, &format!("127.0.0.1:{port}")), 0, "{summary}");

    // A name that does not resolve: named once in the summary, whatever the resolver says.
    let ev = probe("https://apiserver.does-not-exist.invalid", 2);
    let found = findings(&ev);
    let net001 = found.iter().find(|f| f.0 == "NET001").expect("NET001");
    assert_eq!(times(&net001.3, "apiserver.does-not-exist.invalid"), 1, "{}", net001.3);
}
