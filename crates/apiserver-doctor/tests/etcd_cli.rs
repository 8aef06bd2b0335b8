//! `apiserver-doctor etcd` from the command line, against a real etcd (Debian's `etcd-server`,
//! which `scripts/test` installs; without it the tests skip, except under `CI`).

use std::net::TcpListener;
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

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

/// A one-member etcd on free ports, answering; `None` (skip) when etcd is not installed.
fn start() -> Option<Etcd> {
    let binary = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("etcd"))
        .find(|p| p.is_file());
    let Some(binary) = binary else {
        assert!(
            std::env::var_os("CI").is_none(),
            "etcd is not on PATH (apt-get install etcd-server) under CI"
        );
        eprintln!("skipping: etcd is not on PATH (apt-get install etcd-server)");
        return None;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let (client, peer) = (free_port(), free_port());
    let endpoint = format!("http://127.0.0.1:{client}");
    let peer_url = format!("http://127.0.0.1:{peer}");
    let child = Command::new(binary)
        .args(["--name", "cli", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(["--listen-client-urls", &endpoint, "--advertise-client-urls", &endpoint])
        .args(["--listen-peer-urls", &peer_url, "--initial-advertise-peer-urls", &peer_url])
        .args(["--initial-cluster", &format!("cli={peer_url}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start etcd");
    let etcd = Etcd { child, endpoint, _dir: dir };
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        // Listening is not yet serving: the status request must answer too.
        let status = doctor(&["etcd", "--endpoints", &etcd.endpoint, "--no-keys", "-o", "json"]);
        if status.status.code() == Some(0) {
            return Some(etcd);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("etcd did not answer on {} within 30 s", etcd.endpoint);
}

fn doctor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_apiserver-doctor"))
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("run apiserver-doctor")
}

/// Docs review s21 item 2: the report inside `etcd -o json` had no `summary`, which
/// docs/report-schema.md promises and CI gates read (`.report.summary.worst`).
#[test]
fn etcd_json_holds_the_documented_report_with_its_summary() {
    let Some(etcd) = start() else { return };
    let out = doctor(&["etcd", "--endpoints", &etcd.endpoint, "--no-keys", "-o", "json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    let report = &v["report"];
    for key in ["schema_version", "tool_version", "summary", "inputs", "overview", "findings", "checks_run"] {
        assert!(report.get(key).is_some(), "report.{key} missing: {report}");
    }
    let summary = &report["summary"];
    let findings = report["findings"].as_array().map_or(0, Vec::len);
    let counted: u64 = ["critical", "warning", "info"].iter().filter_map(|k| summary[*k].as_u64()).sum();
    assert_eq!(counted as usize, findings, "{summary}");
    assert!(v["etcd"]["members"].is_array(), "{}", v["etcd"]);
}

/// Docs review s21 item 12: `--prefix ""` printed "Keys under  at revision …".
#[test]
fn etcd_whole_key_space_is_named_in_the_text_report() {
    let Some(etcd) = start() else { return };
    let out = doctor(&["etcd", "--endpoints", &etcd.endpoint, "--prefix", ""]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("Keys under \"\" (the whole key space) at revision"), "{stdout}");
}
