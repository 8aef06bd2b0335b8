//! `apiserver-doctor probe` and `diagnose --probe` against real sockets: a closed port, a name
//! that cannot resolve, small HTTP servers answering /readyz as a healthy and a broken API
//! server would, and a real TLS server (`openssl s_server`) with and without its CA.

#[path = "../../../test-support/certs.rs"]
mod certs;
mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};

use common::{doctor, doctor_env, stderr, stdout};

/// Codes and severities of a JSON report's findings.
fn codes(out: &std::process::Output, key: Option<&str>) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(&stdout(out)).expect("json");
    let report = match key {
        Some(k) => &v[k],
        None => &v,
    };
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            format!(
                "{} {} {}",
                f["code"].as_str().unwrap_or(""),
                f["severity"].as_str().unwrap_or(""),
                f["title"].as_str().unwrap_or("")
            )
        })
        .collect()
}

/// An HTTP server on a free local port that answers every request with `status` and `body`.
fn http_server(status: u16, body: &'static str) -> String {
    http_server_by_request(move |_| (status, body))
}

/// An HTTP server on a free local port that answers each request with what `answer` gives for
/// its request line and headers: a status and a body.
fn http_server_by_request(answer: impl Fn(&[u8]) -> (u16, &'static str) + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let mut seen = Vec::new();
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
            let (status, body) = answer(&seen);
            let reason = if status == 200 { "OK" } else { "Internal Server Error" };
            let _ = write!(
                s,
                "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://127.0.0.1:{port}")
}

#[test]
fn a_closed_port_is_critical_with_the_reason() {
    let cache = tempfile::tempdir().expect("tempdir");
    // Bind then drop: a port nothing listens on.
    let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let url = format!("https://127.0.0.1:{port}");
    let out = doctor(&["probe", &url, "--attempts", "2", "-o", "json"], cache.path());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let found = codes(&out, Some("report"));
    assert_eq!(found, vec![format!("NET002 critical Cannot connect to the API server at 127.0.0.1:{port}")]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(v["probe"]["tcp"].as_array().map(Vec::len), Some(2));
    // The embedded report is the documented one (docs/report-schema.md), summary included:
    // a CI gate reads `.report.summary.worst` (docs review s21, item 2).
    assert_eq!(v["report"]["summary"]["worst"], "critical", "{}", v["report"]);
    assert_eq!(v["report"]["summary"]["critical"], 1, "{}", v["report"]);
    assert!(
        v["probe"]["tcp"][0]["error"].as_str().unwrap_or("").contains("refused"),
        "{}",
        v["probe"]["tcp"]
    );
}

#[test]
fn a_name_that_cannot_resolve_is_critical() {
    let cache = tempfile::tempdir().expect("tempdir");
    // `.invalid` never resolves (RFC 6761).
    let out = doctor(&["probe", "https://apiserver.does-not-exist.invalid", "-o", "json"], cache.path());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        codes(&out, Some("report")),
        vec!["NET001 critical The API server's name apiserver.does-not-exist.invalid does not resolve"]
    );
}

/// Review 6 (etcd review): a closed port said `Connection refused (os error 111)` (in NET002's
/// summary too) and an unknown name `failed to lookup address information: Name or service not
/// known`.
#[test]
fn a_closed_port_and_an_unknown_name_were_said_with_the_system_s_error_text() {
    let cache = tempfile::tempdir().expect("tempdir");
    let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let out = doctor(&["probe", &format!("https://127.0.0.1:{port}"), "--attempts", "1"], cache.path());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let refused = "connection refused: nothing listens on that port";
    assert!(text.contains("failed after") && text.contains(refused), "{text}");
    assert!(!text.contains("os error") && !text.contains("Connection refused"), "{text}");
    let out = doctor(&["probe", "https://apiserver.does-not-exist.invalid", "-o", "json"], cache.path());
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let error = v["probe"]["dns"]["error"].as_str().unwrap_or("");
    assert!(error.starts_with("the name apiserver.does-not-exist.invalid "), "{error}");
    assert!(!error.contains("failed to lookup address information"), "{error}");
}

/// Review 1 (etcd review): every /readyz answered 500 `[-]etcd failed` and /livez 200; the
/// tool said "one replica or backend is unhealthy", a warning, and exited 0.
#[test]
fn a_live_server_that_is_never_ready_exited_0_as_one_unhealthy_replica() {
    let url = http_server_by_request(|request| {
        if request.starts_with(b"GET /livez") {
            (200, "[+]ping ok\nlivez check passed\n")
        } else {
            (500, "[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed\n")
        }
    });
    let cache = tempfile::tempdir().expect("tempdir");
    let out = doctor(&["probe", &url, "-o", "json"], cache.path());
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_eq!(
        codes(&out, Some("report")),
        vec!["NET004 critical The API server at 127.0.0.1 is live but not ready: etcd failed"]
    );
}

#[test]
fn readyz_failures_are_named_and_a_healthy_server_gives_nothing() {
    let cache = tempfile::tempdir().expect("tempdir");
    let broken =
        http_server(500, "[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\nreadyz check failed\n");
    let out = doctor(&["probe", &broken, "-o", "json"], cache.path());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        codes(&out, Some("report")),
        vec!["NET004 critical The API server at 127.0.0.1 is not ready: etcd failed"]
    );
    let healthy = http_server(200, "[+]ping ok\n[+]etcd ok\nreadyz check passed\n");
    let out = doctor(&["probe", &healthy], cache.path());
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("HTTP /readyz?verbose -> 200 in"), "{text}");
    assert!(text.contains("— no findings"), "{text}");
}

#[test]
fn the_html_report_of_a_probe_shows_its_steps_and_their_times() {
    let cache = tempfile::tempdir().expect("tempdir");
    let healthy = http_server(200, "[+]ping ok\n[+]etcd ok\nreadyz check passed\n");
    let out = doctor(&["probe", &healthy, "-o", "html"], cache.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let html = stdout(&out);
    assert!(html.contains("<li>TCP 127.0.0.1:"), "{html}");
    assert!(html.contains("<li>HTTP /readyz?verbose -&gt; 200 in"), "{html}");
}

#[test]
fn diagnose_adds_the_probe_to_the_audit_findings() {
    let cache = tempfile::tempdir().expect("tempdir");
    let broken = http_server(500, "[-]etcd failed: reason withheld\n");
    let out = doctor(
        &[
            "diagnose",
            "crates/audit/tests/fixtures/audit",
            "--probe",
            &broken,
            "-o",
            "json",
            "--fail-on",
            "critical",
        ],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let found = codes(&out, None);
    assert!(found.iter().any(|c| c.starts_with("NET004 critical")), "{found:?}");
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let kinds: Vec<&str> =
        v["inputs"].as_array().expect("inputs").iter().filter_map(|i| i["kind"].as_str()).collect();
    assert!(kinds.contains(&"audit") && kinds.contains(&"probe"), "{kinds:?}");
}

/// Kills the TLS server when the test ends, however it ends.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A test CA and two server certificates for 127.0.0.1 signed by it: `long.crt`, valid a
/// year, and `short.crt`, valid 5 days. `false` when openssl cannot make them.
/// [`make_certs`], or false when openssl cannot make them: said and skipped on a developer's
/// machine, a failure under CI.
fn certs_or_skip(d: &std::path::Path) -> bool {
    if make_certs(d) {
        return true;
    }
    assert!(std::env::var_os("CI").is_none(), "openssl could not make test certificates");
    eprintln!("skipping: openssl could not make test certificates");
    false
}

fn make_certs(d: &std::path::Path) -> bool {
    certs::ca(d, "probe-test-ca", "400")
        && certs::request(d, "server", "127.0.0.1")
        && std::fs::write(d.join("ext.cnf"), "subjectAltName=IP:127.0.0.1\n").is_ok()
        && certs::sign(d, "server.csr", "long.crt", "365", "ext.cnf")
        && certs::sign(d, "server.csr", "short.crt", "5", "ext.cnf")
}

/// `openssl s_server` with `cert` on a free port, listening, answering /readyz and /livez as a
/// healthy API server does; its URL.
fn tls_server(d: &std::path::Path, cert: &str) -> (Server, String) {
    tls_server_with(d, cert, &[])
}

/// [`tls_server`] with more `openssl s_server` arguments.
fn tls_server_with(d: &std::path::Path, cert: &str, more: &[&str]) -> (Server, String) {
    // `-HTTP` answers `GET /PATH` with the file ./PATH, a whole HTTP answer: a healthy API
    // server's.
    for (file, body) in [
        ("readyz?verbose", "[+]ping ok\n[+]etcd ok\nreadyz check passed\n"),
        ("livez?verbose", "[+]ping ok\nlivez check passed\n"),
    ] {
        let answer = format!(
            "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        std::fs::write(d.join(file), answer).expect("write");
    }
    let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let child = Command::new("openssl")
        .args([
            "s_server",
            "-accept",
            &port.to_string(),
            "-cert",
            cert,
            "-key",
            "server.key",
            "-HTTP",
            "-quiet",
        ])
        .args(more)
        .current_dir(d)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl s_server starts");
    let server = Server(child);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "openssl s_server did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    (server, format!("https://127.0.0.1:{port}"))
}

#[test]
fn tls_is_verified_against_the_ca_given_and_an_expiring_certificate_is_told() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    if !certs_or_skip(d) {
        return;
    }
    let (_server, url) = tls_server(d, "long.crt");
    let cache = tempfile::tempdir().expect("tempdir");
    let out = doctor(&["probe", &url, "--attempts", "1", "-o", "json"], cache.path());
    let found = codes(&out, Some("report"));
    assert_eq!(found, vec!["NET003 critical TLS with the API server at 127.0.0.1 fails"], "{}", stdout(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let summary = v["report"]["findings"][0]["summary"].as_str().unwrap_or("");
    assert!(
        summary.contains("the server's certificate is not signed by a trusted authority (unknown issuer)")
            && summary.contains("--cacert"),
        "{summary}"
    );
    assert!(!summary.contains("UnknownIssuer"), "{summary}");
    // The certificate is read even when it is not trusted.
    assert_eq!(v["probe"]["certificate"]["issuer"], "CN=probe-test-ca", "{}", v["probe"]["certificate"]);
    let ca = d.join("ca.crt");
    let ca = ca.to_str().expect("utf-8");
    let out = doctor(&["probe", &url, "--attempts", "1", "--cacert", ca, "-o", "json"], cache.path());
    assert_eq!(codes(&out, Some("report")), Vec::<String>::new(), "{}", stdout(&out));
    assert_eq!(out.status.code(), Some(0));
    // The same server and CA, as a kubeconfig names them (the CA file relative to it).
    let kubeconfig = d.join("config");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: test\ncontexts:\n- name: test\n  context:\n    cluster: local\n    user: nobody\nclusters:\n- name: local\n  cluster:\n    server: {url}\n    certificate-authority: ca.crt\nusers:\n- name: nobody\n  user: {{}}\n"
        ),
    )
    .expect("write");
    let k = kubeconfig.to_str().expect("utf-8");
    let out = doctor(&["probe", "--kubeconfig", k, "--attempts", "1"], cache.path());
    let text = stdout(&out);
    assert!(text.starts_with("Server and CA of context test (cluster local) in "), "{text}");
    assert!(text.contains("CERT  CN=127.0.0.1 issued by CN=probe-test-ca, valid until "), "{text}");
    assert!(text.contains("— no findings"), "{text}");
    assert_eq!(out.status.code(), Some(0));
    let out = doctor(&["probe", "--kubeconfig", k, "--context", "prod"], cache.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no context named prod"), "{}", stderr(&out));
    // A certificate that expires in 5 days: critical, trusted or not.
    let (_short, url) = tls_server(d, "short.crt");
    let out = doctor(&["probe", &url, "--attempts", "1", "--cacert", ca, "-o", "json"], cache.path());
    let found = codes(&out, Some("report"));
    assert_eq!(found.len(), 1, "{found:?}");
    // 5 days from its creation: exactly 5 when the probe runs within the second the certificate
    // was made (both times are whole seconds), else 4 and some hours.
    let title = found[0].as_str();
    assert!(
        ["4 days (", "5 days ("]
            .iter()
            .any(|d| title
                .starts_with(&format!("NET005 critical The API server's certificate expires in {d}"))),
        "{found:?}"
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_bad_url_or_ca_file_is_a_usage_error_naming_it() {
    let cache = tempfile::tempdir().expect("tempdir");
    let out = doctor(&["probe", "myaks.example.com"], cache.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("myaks.example.com: no scheme"), "{}", stderr(&out));
    let out = doctor(&["probe", "https://127.0.0.1:1", "--cacert", "no/such/ca.crt"], cache.path());
    assert_eq!(out.status.code(), Some(2));
    // Named by its option, and why in words (review: `--cacert some_dir` said "Is a directory
    // (os error 21)").
    assert!(stderr(&out).contains("--cacert no/such/ca.crt: does not exist"), "{}", stderr(&out));
}

/// Review: `probe --cacert DIR` said `CA bundle DIR: Is a directory (os error 21)`, naming no
/// option and giving the OS's error number; an empty file said the same without `--cacert`.
#[test]
fn a_cacert_that_is_a_directory_was_said_with_the_os_error_number() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_dir = dir.path().join("some_dir");
    std::fs::create_dir(&ca_dir).expect("mkdir");
    let empty = dir.path().join("empty.log");
    std::fs::write(&empty, "").expect("write");
    for (ca, says) in [(&ca_dir, "is a directory, not a PEM file"), (&empty, "no PEM certificate in it")] {
        let ca = ca.to_str().expect("utf-8");
        let out = doctor(&["probe", "https://127.0.0.1:1", "--cacert", ca], dir.path());
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains(&format!("error: --cacert {ca}: {says}")), "{}", stderr(&out));
        assert!(!stderr(&out).contains("os error"), "{}", stderr(&out));
        assert!(stdout(&out).is_empty());
    }
}

/// Review: `probe --timeout 0.5` said only "invalid digit found in string", and neither
/// `--timeout`'s range (1 to 120) nor `--attempts`' (1 to 20) was in the help.
#[test]
fn a_fractional_timeout_said_only_invalid_digit_found_in_string() {
    let cache = tempfile::tempdir().expect("tempdir");
    for (option, value, says) in [
        ("--timeout", "0.5", "`0.5` is not whole seconds from 1 to 120, e.g. 5"),
        ("--timeout", "0", "from 1 to 120"),
        ("--timeout", "121", "from 1 to 120"),
        ("--attempts", "2.5", "`2.5` is not a whole number from 1 to 20, e.g. 3"),
        ("--attempts", "21", "from 1 to 20"),
    ] {
        let out = doctor(&["probe", "https://127.0.0.1:1", option, value], cache.path());
        assert_eq!(out.status.code(), Some(2), "{option} {value}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{option} {value}: {}", stderr(&out));
        assert!(!stderr(&out).contains("invalid digit"), "{option} {value}: {}", stderr(&out));
    }
    // `5s` is read as 5 seconds: a closed port, one attempt, answered at once.
    let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let url = format!("https://127.0.0.1:{port}");
    let out = doctor(&["probe", &url, "--timeout", "5s", "--attempts", "1"], cache.path());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let help = stdout(&doctor(&["probe", "--help"], cache.path()));
    assert!(help.contains("whole seconds from 1 to 120"), "{help}");
    assert!(help.contains("a whole number from 1 to 20"), "{help}");
}

#[test]
fn a_port_out_of_range_is_a_usage_error_not_port_443() {
    let cache = tempfile::tempdir().expect("tempdir");
    let out = doctor(&["probe", "https://127.0.0.1:99999"], cache.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("https://127.0.0.1:99999: port 99999 is out of range"), "{}", stderr(&out));
}

#[test]
fn the_exit_code_survives_a_closed_pipe() {
    // A closed port: a critical finding, exit 1, even when the reader has gone (`| head -2`).
    let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_apiserver-doctor"))
        .args(["probe", &format!("https://127.0.0.1:{port}"), "--attempts", "1"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("runs");
    drop(child.stdout.take());
    let status = child.wait().expect("waits");
    assert_eq!(status.code(), Some(1));
}

/// A CA, and server certificates signed by it: `long.crt` for 127.0.0.1 (see [`make_certs`])
/// and `named.crt` only for kubernetes.default.svc.
fn make_named_cert(d: &std::path::Path) -> bool {
    make_certs(d)
        && std::fs::write(d.join("named.cnf"), "subjectAltName=DNS:kubernetes.default.svc\n").is_ok()
        && certs::sign(d, "server.csr", "named.crt", "365", "named.cnf")
}

fn kubeconfig(d: &std::path::Path, name: &str, cluster: &str) -> String {
    let path = d.join(name);
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: test\ncontexts:\n- name: test\n  context:\n    cluster: local\n    user: nobody\nclusters:\n- name: local\n  cluster:\n{cluster}users:\n- name: nobody\n  user: {{}}\n"
        ),
    )
    .expect("write");
    path.to_str().expect("utf-8").to_owned()
}

#[test]
fn kubeconfig_tls_settings_are_honoured_and_a_list_is_merged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    if !make_named_cert(d) {
        assert!(std::env::var_os("CI").is_none(), "openssl could not make test certificates");
        eprintln!("skipping: openssl could not make test certificates");
        return;
    }
    let cache = tempfile::tempdir().expect("tempdir");
    let (_server, url) = tls_server(d, "long.crt");
    // insecure-skip-tls-verify: no CA, yet no TLS failure; said to be insecure.
    let k =
        kubeconfig(d, "insecure.yaml", &format!("    server: {url}\n    insecure-skip-tls-verify: true\n"));
    let out = doctor(&["probe", "--kubeconfig", &k, "--attempts", "1"], cache.path());
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("The kubeconfig sets insecure-skip-tls-verify"), "{text}");
    assert!(text.contains("INFO     NET003") || text.contains("INFO NET003"), "{text}");
    assert!(!text.contains("CRITICAL"), "{text}");
    // tls-server-name: the certificate is for kubernetes.default.svc, the server an address.
    let (_named, url) = tls_server(d, "named.crt");
    let cluster = format!(
        "    server: {url}\n    tls-server-name: kubernetes.default.svc\n    certificate-authority: ca.crt\n"
    );
    let k = kubeconfig(d, "named.yaml", &cluster);
    let out = doctor(&["probe", "--kubeconfig", &k, "--attempts", "1"], cache.path());
    assert!(stdout(&out).contains("— no findings"), "{}", stdout(&out));
    // The same without tls-server-name: the name check fails, and says so.
    let k = kubeconfig(d, "unnamed.yaml", &format!("    server: {url}\n    certificate-authority: ca.crt\n"));
    let out = doctor(&["probe", "--kubeconfig", &k, "--attempts", "1", "-o", "json"], cache.path());
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let summary = v["report"]["findings"][0]["summary"].as_str().unwrap_or("");
    // The name once: the certificate's words name it (review: it was said twice).
    assert!(
        summary.contains("certificate is not for 127.0.0.1") && summary.contains("tls-server-name"),
        "{summary}"
    );
    assert_eq!(summary.matches("127.0.0.1").count(), 1, "{summary}");
    // KUBECONFIG=a:b, current-context in the second: merged.
    let part1 = kubeconfig(
        d,
        "part1.yaml",
        &format!(
            "    server: {url}\n    tls-server-name: kubernetes.default.svc\n    certificate-authority: ca.crt\n"
        ),
    );
    let text1 = std::fs::read_to_string(&part1).expect("read").replace("current-context: test\n", "");
    std::fs::write(&part1, text1).expect("write");
    let part2 = d.join("part2.yaml");
    std::fs::write(&part2, "apiVersion: v1\nkind: Config\ncurrent-context: test\n").expect("write");
    let list = std::env::join_paths([std::path::PathBuf::from(&part1), part2]).expect("join");
    let out = doctor_env(&["probe", "--attempts", "1"], cache.path(), &[("KUBECONFIG", list.as_os_str())]);
    assert!(stdout(&out).contains("— no findings"), "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn without_cacert_the_system_roots_are_used_and_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    if !certs_or_skip(d) {
        return;
    }
    let cache = tempfile::tempdir().expect("tempdir");
    let (_server, url) = tls_server(d, "long.crt");
    let ca = d.join("ca.crt");
    let out =
        doctor_env(&["probe", &url, "--attempts", "1"], cache.path(), &[("SSL_CERT_FILE", ca.as_os_str())]);
    let text = stdout(&out);
    assert!(
        text.contains(&format!("TRUST the system's roots ({}, from SSL_CERT_FILE)", ca.display())),
        "{text}"
    );
    assert!(text.contains("— no findings"), "{text}");
}

#[test]
fn a_server_requiring_a_client_certificate_is_a_tls_finding_not_a_readyz_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    if !certs_or_skip(d) {
        return;
    }
    let cache = tempfile::tempdir().expect("tempdir");
    let (_server, url) = tls_server_with(d, "long.crt", &["-Verify", "1", "-CAfile", "ca.crt"]);
    let ca = d.join("ca.crt");
    let ca = ca.to_str().expect("utf-8");
    let out = doctor(&["probe", &url, "--attempts", "2", "--cacert", ca, "-o", "json"], cache.path());
    let found = codes(&out, Some("report"));
    assert_eq!(
        found,
        vec!["NET003 warning The server at 127.0.0.1 requires a client certificate (mutual TLS)"],
        "{}",
        stdout(&out)
    );
}

/// A server presenting a self-signed CA (basic constraints CA:TRUE) as its own certificate,
/// with the CA's key, the CA written to `d/ca.crt`; `None` (a skip, an error under CI) when
/// openssl cannot make it.
fn ca_served_as_its_own_certificate(d: &std::path::Path) -> Option<(Server, String)> {
    if !certs::ca(d, "127.0.0.1", "30") {
        assert!(std::env::var_os("CI").is_none(), "openssl could not make test certificates");
        eprintln!("skipping: openssl could not make test certificates");
        return None;
    }
    std::fs::copy(d.join("ca.key"), d.join("server.key")).expect("copy key");
    Some(tls_server(d, "ca.crt"))
}

#[test]
fn a_ca_certificate_served_as_the_servers_own_is_explained_not_just_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let Some((_server, url)) = ca_served_as_its_own_certificate(d) else { return };
    let cache = tempfile::tempdir().expect("tempdir");
    let ca = d.join("ca.crt");
    let ca = ca.to_str().expect("utf-8");
    let out = doctor(&["probe", &url, "--attempts", "1", "--cacert", ca, "-o", "json"], cache.path());
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let finding = &v["report"]["findings"][0];
    assert_eq!(finding["code"], "NET003", "{}", stdout(&out));
    let summary = finding["summary"].as_str().unwrap_or("");
    assert!(summary.contains("presents a CA certificate (basic constraints CA:TRUE)"), "{summary}");
    assert!(summary.contains("kubectl may work while this fails"), "{summary}");
    assert_eq!(v["probe"]["http"][0]["tls_problem"], "ca-as-server-certificate", "{}", v["probe"]["http"][0]);
}

/// Review 26 §10: `probe http://` to a TLS proxy's port that drops plain HTTP (closes or
/// resets the connection without an answer) said only "does not answer /readyz"; Go's 400
/// and `etcd` already told to use https.
#[test]
fn plain_http_to_a_port_that_cuts_it_off_suggests_https() {
    let cache = tempfile::tempdir().expect("tempdir");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            // Read the plain-HTTP request, then hang up without a byte: what a TLS listener does.
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
        }
    });
    let url = format!("http://127.0.0.1:{port}");
    let out = doctor(&["probe", &url, "--attempts", "1", "-o", "json"], cache.path());
    let found = codes(&out, Some("report"));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("NET004 critical"), "{found:?}");
    assert!(found[0].contains("it probably serves https on this port"), "{found:?}");
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let summary = report["report"]["findings"][0]["summary"].as_str().expect("summary");
    assert!(summary.contains(&format!("try https://127.0.0.1:{port}")), "{summary}");
    let bodies = report["report"]["findings"][0]["remedies"].to_string();
    assert!(bodies.contains(&format!("apiserver-doctor probe https://127.0.0.1:{port}")), "{bodies}");
}

/// Review 26 §3: without --cacert, a self-signed CA served as the server's own certificate
/// was reported as CA-as-leaf only ("kubectl may work while this fails", re-issue the
/// certificate), hiding that no root trusts it: kubectl would say "certificate signed by
/// unknown authority". It is now an unknown issuer (pass --cacert), with the CA-as-leaf noted.
#[test]
fn an_untrusted_ca_served_as_the_leaf_is_an_unknown_authority_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let Some((_server, url)) = ca_served_as_its_own_certificate(d) else { return };
    let cache = tempfile::tempdir().expect("tempdir");
    let out = doctor(&["probe", &url, "--attempts", "1", "-o", "json"], cache.path());
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let finding = &v["report"]["findings"][0];
    assert_eq!(finding["code"], "NET003", "{}", stdout(&out));
    assert_eq!(finding["severity"], "critical", "{finding}");
    let summary = finding["summary"].as_str().unwrap_or("");
    assert!(summary.contains("is not signed by an authority in the"), "{summary}");
    assert!(summary.contains("give the cluster's CA with --cacert"), "{summary}");
    assert!(summary.contains("It is also a CA certificate (basic constraints CA:TRUE)"), "{summary}");
    assert!(!summary.contains("kubectl may work while this fails"), "{summary}");
    assert_eq!(v["probe"]["http"][0]["tls_problem"], "unknown-issuer", "{}", v["probe"]["http"][0]);
    assert_eq!(v["probe"]["ca_served_as_leaf"], true);
}

/// An HTTP proxy on a free local port that answers every CONNECT with `407 Proxy
/// Authentication Required`; its `127.0.0.1:PORT`.
fn refusing_proxy() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let mut seen = Vec::new();
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
            let _ = s.write_all(
                b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"corp\"\r\nContent-Length: 0\r\n\r\n",
            );
        }
    });
    format!("127.0.0.1:{port}")
}

/// Review H2: the cluster's proxy-url was ignored: a server reached through a proxy was
/// reported CRITICAL "does not resolve"; now the proxy is on the first lines and in JSON, and
/// its refusal is the finding, its password never printed.
#[test]
fn a_kubeconfig_proxy_url_was_ignored_and_the_name_reported_as_not_resolving() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = tempfile::tempdir().expect("tempdir");
    let proxy = refusing_proxy();
    let k = kubeconfig(
        dir.path(),
        "proxied.yaml",
        &format!("    server: https://api.private.invalid\n    proxy-url: http://alice:s3cret@{proxy}\n"),
    );
    let out = doctor(&["probe", "--kubeconfig", &k, "--attempts", "1", "-o", "json"], cache.path());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        codes(&out, Some("report")),
        vec![format!(
            "NET002 critical The proxy http://alice:***@{proxy} refused CONNECT to api.private.invalid:443: 407 Proxy Authentication Required"
        )]
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(v["probe"]["proxy"]["url"], format!("http://alice:***@{proxy}"));
    assert_eq!(v["probe"]["proxy"]["from"], format!("proxy-url of cluster local in {k}"));
    assert_eq!(v["probe"]["proxy"]["used"], true);
    assert!(!stdout(&out).contains("s3cret"));
    let out = doctor(&["probe", "--kubeconfig", &k, "--attempts", "1"], cache.path());
    let text = stdout(&out);
    // No NET001 finding (the "Checks:" line names every check run, NET001 among them).
    assert!(!text.contains("s3cret") && !text.contains("NET001  "), "{text}");
    assert!(
        text.contains(&format!(
            "\n  PROXY http://alice:***@{proxy} (from proxy-url of cluster local in {k}): CONNECT to api.private.invalid:443; the proxy resolves api.private.invalid\n"
        )),
        "{text}"
    );
}

/// Review H2: HTTPS_PROXY was ignored; NO_PROXY excluding the server means direct, as kubectl
/// connects, and is said.
#[test]
fn https_proxy_was_ignored_and_no_proxy_is_honoured() {
    let cache = tempfile::tempdir().expect("tempdir");
    let proxy = refusing_proxy();
    let url = "https://apiserver.does-not-exist.invalid";
    let env = |extra: &[(&'static str, &'static str)]| {
        let mut e: Vec<(&str, std::ffi::OsString)> = vec![("HTTPS_PROXY", proxy.clone().into())];
        e.extend(extra.iter().map(|(k, v)| (*k, std::ffi::OsString::from(*v))));
        e
    };
    let vars = env(&[("NO_PROXY", ""), ("no_proxy", "")]);
    let vars: Vec<(&str, &std::ffi::OsStr)> = vars.iter().map(|(k, v)| (*k, v.as_os_str())).collect();
    let out = doctor_env(&["probe", url, "--attempts", "1", "-o", "json"], cache.path(), &vars);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        codes(&out, Some("report")),
        vec![format!(
            "NET002 critical The proxy http://{proxy} refused CONNECT to apiserver.does-not-exist.invalid:443: 407 Proxy Authentication Required"
        )]
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(v["probe"]["proxy"]["from"], "HTTPS_PROXY");
    // NO_PROXY names the server's domain: direct, as kubectl connects; the name does not resolve.
    let vars = env(&[("NO_PROXY", "localhost,.invalid")]);
    let vars: Vec<(&str, &std::ffi::OsStr)> = vars.iter().map(|(k, v)| (*k, v.as_os_str())).collect();
    let out = doctor_env(&["probe", url, "--attempts", "1"], cache.path(), &vars);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.starts_with(
            "HTTPS_PROXY is set, but NO_PROXY excludes apiserver.does-not-exist.invalid (entry .invalid): probed directly, as kubectl connects.\n"
        ),
        "{text}"
    );
    assert!(text.contains("NET001") && !text.contains("  PROXY "), "{text}");
}

/// Review L5: inside a pod without a kubeconfig, kubectl takes the in-cluster configuration
/// (KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT and the service account's CA); the probe
/// failed with "~/.kube/config: No such file". It now probes that server with that CA and says
/// so, and says which part is missing when it cannot.
#[test]
fn no_kubeconfig_inside_a_pod_failed_instead_of_probing_the_in_cluster_api_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    if !certs_or_skip(d) {
        return;
    }
    let (_server, url) = tls_server(d, "long.crt");
    let port = url.rsplit(':').next().expect("port").to_owned();
    let home = d.join("home");
    let sa = d.join("serviceaccount");
    std::fs::create_dir_all(&home).expect("mkdir");
    std::fs::create_dir_all(&sa).expect("mkdir");
    std::fs::copy(d.join("ca.crt"), sa.join("ca.crt")).expect("copy the CA");
    std::fs::write(sa.join("token"), "not sent").expect("write");
    let cache = tempfile::tempdir().expect("tempdir");
    let run = |host: &str, port: &str, sa: &std::path::Path, args: &[&str]| {
        let vars: [(&str, &std::ffi::OsStr); 5] = [
            ("HOME", home.as_os_str()),
            ("KUBECONFIG", "".as_ref()),
            ("KUBERNETES_SERVICE_HOST", host.as_ref()),
            ("KUBERNETES_SERVICE_PORT", port.as_ref()),
            ("APISERVER_DOCTOR_TEST_SERVICE_ACCOUNT_DIR", sa.as_os_str()),
        ];
        doctor_env(&[&["probe", "--attempts", "1"], args].concat(), cache.path(), &vars)
    };
    let out = run("127.0.0.1", &port, &sa, &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(
        text.starts_with(&format!(
            "No kubeconfig ({} does not exist); in-cluster service account configuration used (KUBERNETES_SERVICE_HOST=127.0.0.1, KUBERNETES_SERVICE_PORT={port}), as kubectl in a pod does.",
            home.join(".kube/config").display()
        )),
        "{text}"
    );
    assert!(text.contains(&format!("Probe of {url}\n")), "{text}");
    assert!(
        text.contains(&format!("TRUST the CA of the service account ({})", sa.join("ca.crt").display())),
        "{text}"
    );
    assert!(text.contains("— no findings"), "{text}");
    // No progress lines: standard error is not a terminal.
    assert_eq!(stderr(&out), "");
    let out = run("127.0.0.1", &port, &sa, &["-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(v["probe"]["target"]["url"], url.as_str());
    let from = v["from"].as_str().unwrap_or("");
    assert!(
        from.contains("in-cluster service account configuration used (KUBERNETES_SERVICE_HOST=127.0.0.1"),
        "{from}"
    );
    // One variable of the two: said, exit 2.
    let out = run("127.0.0.1", "", &sa, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out)
            .contains("KUBERNETES_SERVICE_HOST is set (127.0.0.1) but KUBERNETES_SERVICE_PORT is not"),
        "{}",
        stderr(&out)
    );
    // No CA (nor token) in the service account directory: said, naming the file.
    let empty = d.join("empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let out = run("127.0.0.1", &port, &empty, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("the service account's CA {} cannot be read", empty.join("ca.crt").display())),
        "{err}"
    );
    assert!(err.contains("no service account token at") && err.contains("--cacert"), "{err}");
    // Neither variable: the kubeconfig's error, as before.
    let out = run("", "", &sa, &[]);
    assert_eq!(out.status.code(), Some(2));
    // In words, without `(os error 2)`.
    assert!(stderr(&out).contains(".kube/config: does not exist"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("os error"), "{}", stderr(&out));
}

/// Review L6: nothing was said until the end of a probe that can take minutes. On a terminal,
/// each step is said on standard error as it runs; on a pipe, nothing is.
#[test]
fn a_long_probe_said_nothing_until_the_end_on_a_terminal() {
    let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let url = format!("https://127.0.0.1:{port}");
    let cache = tempfile::tempdir().expect("tempdir");
    let out = doctor(&["probe", &url, "--attempts", "2", "-o", "json"], cache.path());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "", "no progress on a pipe");
    // `script` runs the command on a terminal of its own (util-linux); standard output is sent
    // away, so what is left is standard error.
    let terminal = Command::new("script").args(["-qec", "true", "/dev/null"]).stdin(Stdio::null()).output();
    if !terminal.is_ok_and(|o| o.status.success()) {
        eprintln!("skipping: no `script` to give the probe a terminal");
        return;
    }
    let command =
        format!("'{}' probe {url} --attempts 2 -o json >/dev/null", env!("CARGO_BIN_EXE_apiserver-doctor"));
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("XDG_CACHE_HOME", cache.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("script runs");
    let said = stdout(&out).replace("\r\n", "\n");
    assert!(said.contains(&format!("probing 127.0.0.1:{port} (attempt 1/2)…\n")), "{said}");
    assert!(said.contains(&format!("127.0.0.1:{port} (attempt 2/2): failed after ")), "{said}");
}

/// Review: `probe --timeout -1` and `--attempts -1` were clap's "unexpected argument '-1'
/// found", whose tip (`-- -1`) would have made the value the URL. Each is now refused with exit
/// 2, naming the option and its range, before any connection.
#[test]
fn a_negative_timeout_or_attempts_was_taken_for_an_unexpected_argument() {
    let cache = tempfile::tempdir().expect("tempdir");
    for (option, value, says) in [
        ("--timeout", "-1", "`-1` is not whole seconds from 1 to 120, e.g. 5"),
        ("--timeout", "-5s", "`-5s` is not whole seconds from 1 to 120, e.g. 5"),
        ("--attempts", "-1", "`-1` is not a whole number from 1 to 20, e.g. 3"),
    ] {
        let out = doctor(&["probe", "https://127.0.0.1:1", option, value], cache.path());
        assert_eq!(out.status.code(), Some(2), "{option} {value}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("invalid value '{value}' for '{option} <")),
            "{}",
            stderr(&out)
        );
        assert!(stderr(&out).contains(says), "{option} {value}: {}", stderr(&out));
        assert!(!stderr(&out).contains("unexpected argument"), "{}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{option} {value}: {}", stdout(&out));
    }
}
