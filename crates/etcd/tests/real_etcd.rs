//! Tests against a real etcd (Debian's `etcd-server`) started on loopback with a temporary
//! data directory. They skip when `etcd` is not on PATH, except when `CI` or
//! `APISERVER_DOCTOR_REQUIRE_REAL` is set, where they fail.

#[path = "../../../test-support/certs.rs"]
mod certs;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use etcd::{CollectOptions, TlsFiles};
use findings::{Severity, Thresholds};

/// A running etcd, killed when dropped.
struct Etcd {
    child: Child,
    endpoint: String,
    _dir: tempfile::TempDir,
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

fn etcd_binary() -> Option<String> {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("etcd"))
        .find(|p| p.is_file());
    if found.is_none() {
        let required =
            std::env::var_os("CI").is_some() || std::env::var_os("APISERVER_DOCTOR_REQUIRE_REAL").is_some();
        assert!(
            !required,
            "etcd is not on PATH (apt-get install etcd-server) and CI or APISERVER_DOCTOR_REQUIRE_REAL is set"
        );
        eprintln!("skipping: etcd is not on PATH (apt-get install etcd-server)");
    }
    found.map(|p| p.display().to_string())
}

fn start(quota_bytes: Option<u64>) -> Option<Etcd> {
    let binary = etcd_binary()?;
    let dir = tempfile::tempdir().expect("temp dir");
    let (client, peer) = (free_port(), free_port());
    let endpoint = format!("http://127.0.0.1:{client}");
    let mut cmd = Command::new(binary);
    cmd.args([
        "--name",
        "test",
        "--data-dir",
        &dir.path().join("data").display().to_string(),
        "--listen-client-urls",
        &endpoint,
        "--advertise-client-urls",
        &endpoint,
        "--listen-peer-urls",
        &format!("http://127.0.0.1:{peer}"),
        "--initial-advertise-peer-urls",
        &format!("http://127.0.0.1:{peer}"),
        "--initial-cluster",
        &format!("test=http://127.0.0.1:{peer}"),
        "--log-level",
        "error",
    ]);
    if let Some(q) = quota_bytes {
        cmd.args(["--quota-backend-bytes", &q.to_string()]);
    }
    let child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("start etcd");
    let etcd = Etcd { child, endpoint, _dir: dir };
    let client = etcd::Client::new(&etcd.endpoint, &TlsFiles::default(), 5).expect("client");
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.status().is_err() {
        assert!(Instant::now() < deadline, "etcd did not start within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(etcd)
}

/// Writes keys through the gateway's `/v3/kv/txn` (the tests write; the tool never does).
/// Returns the error text of the first failed transaction.
fn put_all(endpoint: &str, kvs: &[(String, Vec<u8>)]) -> Result<(), String> {
    for chunk in kvs.chunks(100) {
        let ops: Vec<serde_json::Value> = chunk
            .iter()
            .map(|(k, v)| serde_json::json!({"request_put": {"key": STANDARD.encode(k), "value": STANDARD.encode(v)}}))
            .collect();
        let mut response = ureq::post(&format!("{endpoint}/v3/kv/txn"))
            .config()
            .http_status_as_error(false)
            .build()
            .send_json(serde_json::json!({"success": ops}))
            .map_err(|e| e.to_string())?;
        if response.status().as_u16() != 200 {
            return Err(response.body_mut().read_to_string().unwrap_or_default());
        }
    }
    Ok(())
}

/// A deterministic value of `size` bytes shaped like a JSON object.
fn value(name: &str, size: usize) -> Vec<u8> {
    let head = format!("{{\"kind\":\"Object\",\"metadata\":{{\"name\":\"{name}\"}},\"data\":\"");
    let mut v = head.into_bytes();
    while v.len() + 2 < size {
        v.push(b'x');
    }
    v.extend_from_slice(b"\"}");
    v.truncate(size);
    v
}

/// Kubernetes-shaped keys with realistic value sizes: pods (2–6 KiB) and jobs in three
/// namespaces, events, a CRD and its objects, cluster-scoped nodes (~12 KiB), services.
fn kubernetes_keys() -> Vec<(String, Vec<u8>)> {
    let mut kvs = Vec::new();
    for (ns, pods, jobs) in [("default", 40, 5), ("ci", 25, 120), ("kube-system", 30, 0)] {
        for i in 0..pods {
            let name = format!("pod-{i}");
            kvs.push((format!("/registry/pods/{ns}/{name}"), value(&name, 2048 + (i * 97) % 4096)));
        }
        for i in 0..jobs {
            let name = format!("job-{i}");
            kvs.push((format!("/registry/jobs/{ns}/{name}"), value(&name, 1500 + i % 300)));
        }
        for i in 0..15 {
            let name = format!("pod-{i}.17a{i:04x}");
            kvs.push((format!("/registry/events/{ns}/{name}"), value(&name, 700 + i * 3)));
        }
        kvs.push((format!("/registry/services/specs/{ns}/svc"), value("svc", 900)));
        kvs.push((format!("/registry/services/endpoints/{ns}/svc"), value("svc", 600)));
    }
    kvs.push((
        "/registry/apiextensions.k8s.io/customresourcedefinitions/widgets.example.com".to_owned(),
        value("widgets.example.com", 9000),
    ));
    for i in 0..33 {
        let name = format!("w-{i}");
        kvs.push((format!("/registry/example.com/widgets/team-a/{name}"), value(&name, 3000 + i)));
    }
    for i in 0..12 {
        let name = format!("node-{i}");
        kvs.push((format!("/registry/minions/{name}"), value(&name, 12_000 + i * 10)));
    }
    kvs.push(("/registry/namespaces/ci".to_owned(), value("ci", 400)));
    // not a Kubernetes object layout: counted apart
    kvs.push(("/registry/a/b/c/d/e".to_owned(), value("odd", 10)));
    // outside the prefix: not scanned
    kvs.push(("/other/pods/default/x".to_owned(), value("x", 10)));
    kvs
}

#[test]
fn scan_counts_keys_and_bytes_per_resource_and_namespace_exactly() {
    let Some(server) = start(None) else { return };
    let kvs = kubernetes_keys();
    put_all(&server.endpoint, &kvs).expect("load keys");

    // What the scan must find, computed from what was written.
    let mut per_resource: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut per_namespace: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let (mut keys, mut bytes, mut other) = (0u64, 0u64, 0u64);
    for (k, v) in &kvs {
        if !k.starts_with("/registry/") {
            continue;
        }
        keys += 1;
        bytes += v.len() as u64;
        match etcd::parse_key(k, "/registry") {
            Some(l) => {
                let r = per_resource.entry(l.resource).or_default();
                r.0 += 1;
                r.1 += v.len() as u64;
                if let Some(ns) = l.namespace {
                    let n = per_namespace.entry(ns).or_default();
                    n.0 += 1;
                    n.1 += v.len() as u64;
                }
            }
            None => other += 1,
        }
    }

    let options = CollectOptions {
        endpoints: vec![server.endpoint.clone()],
        page_size: 7, // many pages: pagination must neither skip nor repeat a key
        largest: 3,
        ..CollectOptions::default()
    };
    let ev = etcd::collect(&options).expect("collect");
    let stats = ev.keys.as_ref().expect("keys scanned");
    assert_eq!((stats.keys, stats.value_bytes, stats.other_keys), (keys, bytes, other));
    let got: BTreeMap<String, (u64, u64)> =
        stats.resources.iter().map(|r| (r.resource.clone(), (r.keys, r.value_bytes))).collect();
    assert_eq!(got, per_resource);
    assert_eq!(got["pods"].0, 95);
    assert_eq!(got["jobs.batch"].0, 125);
    assert_eq!(got["events"].0, 45);
    assert_eq!(got["widgets.example.com"].0, 33);
    assert_eq!(got["customresourcedefinitions.apiextensions.k8s.io"].0, 1);
    assert_eq!(got["nodes"].0, 12);
    assert_eq!(got["services"].0, 3);
    assert_eq!(got["endpoints"].0, 3);
    let got_ns: BTreeMap<String, (u64, u64)> =
        stats.namespaces.iter().map(|n| (n.namespace.clone(), (n.keys, n.value_bytes))).collect();
    assert_eq!(got_ns, per_namespace);
    let jobs = stats.resources.iter().find(|r| r.resource == "jobs.batch").expect("jobs");
    assert_eq!(jobs.top_namespace, Some(("ci".to_owned(), 120)));
    assert_eq!(stats.largest.len(), 3);
    assert!(stats.largest.iter().all(|o| o.key.starts_with("/registry/minions/")), "{:?}", stats.largest);

    // status, members, metrics and alarms of the one member
    let member = &ev.members[0];
    let status = member.status.as_ref().expect("status");
    assert!(status.version.starts_with("3."), "{}", status.version);
    assert!(status.is_leader);
    assert_eq!(status.name.as_deref(), Some("test"));
    assert!(status.db_size > 0 && status.raft_index > 0 && status.raft_term > 0);
    assert!(ev.alarms.is_empty());
    let m = member.metrics.as_ref().expect("metrics");
    assert_eq!(m.quota_bytes, Some(2_147_483_648.0), "etcd's default quota");
    assert_eq!(m.has_leader, Some(1.0));

    // a healthy etcd: nothing at warning or above
    let findings = etcd::checks::run(&ev, &Thresholds::default());
    let bad: Vec<_> = findings.iter().filter(|f| f.severity >= Severity::Warning).map(|f| &f.title).collect();
    assert!(bad.is_empty(), "{bad:?}");
}

/// Metrics review item 13: a key `/registryX/pods/a/b` next to the Kubernetes keys was
/// counted in the scan of `/registry` ("12,887 keys (3 outside the Kubernetes layout)" for
/// 12,886 keys, 2 outside it): a second API server or kine tenant under `/registry-b` would be
/// counted too.
#[test]
fn a_scan_of_registry_does_not_count_keys_under_registryx() {
    let Some(server) = start(None) else { return };
    let mut kvs = kubernetes_keys();
    let inside = kvs.iter().filter(|(k, _)| k.starts_with("/registry/")).count() as u64;
    for k in ["/registryX/pods/a/b", "/registry-b/pods/ns/x", "/registry"] {
        kvs.push((k.to_owned(), value(k, 100)));
    }
    put_all(&server.endpoint, &kvs).expect("load keys");
    let client = etcd::Client::new(&server.endpoint, &TlsFiles::default(), 5).expect("client");
    for prefix in ["/registry", "/registry/"] {
        let stats = client.scan_with(prefix, &etcd::ScanOptions::default()).expect("scan");
        assert_eq!(stats.keys, inside, "{prefix}");
        assert!(
            stats.largest.iter().all(|o| o.key.starts_with("/registry/")),
            "{prefix}: {:?}",
            stats.largest
        );
    }
}

#[test]
fn parallel_sliced_and_keys_only_scans_agree_with_one_sequential_scan() {
    let Some(server) = start(None) else { return };
    let mut kvs = kubernetes_keys();
    // Keys that are prefixes of other keys, and the prefix itself, at the edges of slices.
    for k in ["/registry", "/registry/zz", "/registry/zz/a", "/registry/zz/a/b/c/d/e/f", "/registry/zz0"] {
        kvs.push((k.to_owned(), value(k, 100)));
    }
    put_all(&server.endpoint, &kvs).expect("load keys");
    let client = etcd::Client::new(&server.endpoint, &TlsFiles::default(), 5).expect("client");
    let sequential = etcd::ScanOptions { page_size: 10_000, parallel: 1, values: true, keep_largest: 5 };
    let one = client.scan_with("/registry", &sequential).expect("sequential scan");
    assert_eq!(one.keys, kvs.iter().filter(|(k, _)| k.starts_with("/registry/")).count() as u64);
    // Small pages and three workers: the key space is cut into many slices.
    let sliced = etcd::ScanOptions { page_size: 5, parallel: 3, ..sequential.clone() };
    assert_eq!(client.scan_with("/registry", &sliced).expect("sliced scan"), one);
    let keys_only =
        client.scan_with("/registry", &etcd::ScanOptions { values: false, ..sliced }).expect("keys only");
    assert!(!keys_only.values_read && one.values_read);
    assert_eq!((keys_only.keys, keys_only.value_bytes, keys_only.other_keys), (one.keys, 0, one.other_keys));
    let counts =
        |s: &etcd::KeyStats| s.resources.iter().map(|r| (r.resource.clone(), r.keys)).collect::<Vec<_>>();
    assert_eq!(counts(&keys_only), counts(&one));
    // An empty prefix scans to nothing, at a revision.
    let empty = client.scan_with("/nothing-here", &etcd::ScanOptions::default()).expect("empty scan");
    assert_eq!((empty.keys, empty.resources.len()), (0, 0));
    assert!(empty.revision > 0);
}

#[test]
fn filling_a_small_quota_raises_nospace_and_the_report_is_critical() {
    let quota: u64 = 16 * 1024 * 1024;
    let Some(server) = start(Some(quota)) else { return };
    // 100 KiB values until etcd refuses the write with NOSPACE.
    let mut refused = None;
    for batch in 0..100 {
        let kvs: Vec<(String, Vec<u8>)> = (0..8)
            .map(|i| (format!("/registry/configmaps/fill/cm-{batch}-{i}"), value("cm", 100 * 1024)))
            .collect();
        if let Err(e) = put_all(&server.endpoint, &kvs) {
            refused = Some(e);
            break;
        }
    }
    let refused = refused.expect("etcd refused a write before 80 MiB were written");
    assert!(refused.contains("space exceeded"), "{refused}");

    let options = CollectOptions { endpoints: vec![server.endpoint.clone()], ..CollectOptions::default() };
    let ev = etcd::collect(&options).expect("reads still work under NOSPACE");
    assert_eq!(ev.alarms.len(), 1);
    assert_eq!(ev.alarms[0].alarm, "NOSPACE");
    assert_eq!(ev.members[0].metrics.as_ref().and_then(|m| m.quota_bytes), Some(quota as f64));
    let configmaps = ev
        .keys
        .as_ref()
        .and_then(|k| k.resources.iter().find(|r| r.resource == "configmaps"))
        .expect("scanned");
    assert!(configmaps.keys >= 100, "{}", configmaps.keys);

    let findings = etcd::checks::run(&ev, &Thresholds::default());
    let alarm = findings.iter().find(|f| f.code == "ETC007").expect("ETC007 finding");
    assert_eq!(alarm.severity, Severity::Critical);
    assert!(alarm.title.contains("NOSPACE"), "{}", alarm.title);
    let recover = alarm.remedies.iter().find(|r| r.title.contains("NOSPACE")).expect("recovery remedy");
    for step in ["compact", "defrag", "alarm disarm"] {
        assert!(recover.body.contains(step), "{step} missing: {}", recover.body);
    }
    let quota_finding = findings.iter().find(|f| f.code == "ETC001").expect("ETC001 finding");
    assert_eq!(quota_finding.severity, Severity::Critical);
}

#[test]
fn an_endpoint_that_does_not_answer_is_an_error_naming_it() {
    let port = free_port();
    let options = CollectOptions {
        endpoints: vec![format!("http://127.0.0.1:{port}")],
        timeout_seconds: 2,
        ..CollectOptions::default()
    };
    let err = etcd::collect(&options).expect_err("nothing listens there");
    assert!(err.to_string().contains(&format!("127.0.0.1:{port}")), "{err}");
}

#[test]
fn an_endpoint_that_is_not_an_etcd_gateway_says_so() {
    // A server that answers every request with 404, as the API server or a metrics port would.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut reader = std::io::BufReader::new(stream.try_clone().expect("clone"));
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if std::io::BufRead::read_line(&mut reader, &mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            std::io::Read::read_exact(&mut reader, &mut body).ok();
            let answer = "HTTP/1.1 404 Not Found\r\ncontent-length: 9\r\nconnection: close\r\n\r\nnot found";
            std::io::Write::write_all(&mut stream, answer.as_bytes()).ok();
        }
    });
    let options = CollectOptions {
        endpoints: vec![format!("http://127.0.0.1:{port}")],
        timeout_seconds: 5,
        ..CollectOptions::default()
    };
    let err = etcd::collect(&options).expect_err("not an etcd").to_string();
    assert!(err.contains(&format!("http://127.0.0.1:{port}/v3beta/maintenance/status")), "{err}");
    assert!(
        err.contains("HTTP 404 under both /v3/ and /v3beta/: this is not an etcd v3 JSON gateway"),
        "{err}"
    );
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, made with `openssl`.
fn make_certs(dir: &std::path::Path) -> bool {
    std::fs::write(
        dir.join("san.cnf"),
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n",
    )
    .expect("write");
    certs::ca(dir, "test-ca", "2")
        && ["server", "client"].iter().all(|name| {
            certs::request(dir, name, name)
                && certs::sign(dir, &format!("{name}.csr"), &format!("{name}.crt"), "2", "san.cnf")
        })
}

#[test]
fn tls_is_verified_and_client_certificates_are_sent() {
    let Some(binary) = etcd_binary() else { return };
    let certs = tempfile::tempdir().expect("temp dir");
    if !make_certs(certs.path()) {
        let required =
            std::env::var_os("CI").is_some() || std::env::var_os("APISERVER_DOCTOR_REQUIRE_REAL").is_some();
        assert!(!required, "openssl could not make test certificates");
        eprintln!("skipping: openssl could not make test certificates");
        return;
    }
    let c = |f: &str| certs.path().join(f).display().to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let (client, peer) = (free_port(), free_port());
    let endpoint = format!("https://127.0.0.1:{client}");
    let child = Command::new(binary)
        .args([
            "--name",
            "tls",
            "--data-dir",
            &dir.path().join("data").display().to_string(),
            "--listen-client-urls",
            &endpoint,
            "--advertise-client-urls",
            &endpoint,
            "--listen-peer-urls",
            &format!("http://127.0.0.1:{peer}"),
            "--initial-advertise-peer-urls",
            &format!("http://127.0.0.1:{peer}"),
            "--initial-cluster",
            &format!("tls=http://127.0.0.1:{peer}"),
            "--cert-file",
            &c("server.crt"),
            "--key-file",
            &c("server.key"),
            "--client-cert-auth",
            "--trusted-ca-file",
            &c("ca.crt"),
            "--log-level",
            "error",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start etcd");
    let server = Etcd { child, endpoint: endpoint.clone(), _dir: dir };
    let tls = TlsFiles {
        cacert: Some(c("ca.crt").into()),
        cert: Some(c("client.crt").into()),
        key: Some(c("client.key").into()),
    };
    let client = etcd::Client::new(&server.endpoint, &tls, 5).expect("client");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        match client.status() {
            Ok(s) => break s,
            Err(e) => assert!(Instant::now() < deadline, "etcd over TLS did not answer within 30 s: {e}"),
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(status.is_leader);
    let ev = etcd::collect(&CollectOptions {
        endpoints: vec![endpoint.clone()],
        tls,
        ..CollectOptions::default()
    })
    .expect("collect over TLS");
    assert_eq!(ev.members[0].metrics.as_ref().and_then(|m| m.has_leader), Some(1.0));

    // Without the CA the server's certificate is not trusted: TLS is verified by default.
    let no_ca =
        TlsFiles { cacert: None, cert: Some(c("client.crt").into()), key: Some(c("client.key").into()) };
    let err =
        etcd::Client::new(&endpoint, &no_ca, 5).expect("client").status().expect_err("untrusted server");
    assert!(err.to_string().to_lowercase().contains("certificate"), "{err}");
    // Without a client certificate the server refuses us.
    let no_cert = TlsFiles { cacert: Some(c("ca.crt").into()), cert: None, key: None };
    assert!(etcd::Client::new(&endpoint, &no_cert, 5).expect("client").status().is_err());
}
