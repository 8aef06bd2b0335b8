//! A real etcd for tests (Debian's `etcd-server`, which `scripts/test` installs): found on
//! PATH, started on loopback with a temporary data directory, killed when dropped. Each test
//! file that needs one includes this file with `#[path]`, and waits for it to answer in its own
//! way (through the library's client, or through the command line).
#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

/// A running etcd member, killed when dropped.
pub struct Etcd {
    pub child: Child,
    pub endpoint: String,
    _dir: tempfile::TempDir,
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// The `etcd` binary on PATH. Without one the caller skips: `None` and a line saying so,
/// unless `CI` or `APISERVER_DOCTOR_REQUIRE_REAL` is set, where the test fails.
pub fn etcd_binary() -> Option<String> {
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

/// One etcd member named `name`, serving clients at `endpoint` (`http://` or `https://`) and
/// peers on port `peer`, its cluster `initial_cluster`, with `extra` arguments; started, not
/// yet waited for.
pub fn spawn_member(
    binary: &str,
    name: &str,
    endpoint: String,
    peer: u16,
    initial_cluster: &str,
    extra: &[&str],
) -> Etcd {
    let dir = tempfile::tempdir().expect("temp dir");
    let peer_url = format!("http://127.0.0.1:{peer}");
    let child = Command::new(binary)
        .args(["--name", name, "--data-dir", &dir.path().join("data").display().to_string()])
        .args(["--listen-client-urls", &endpoint, "--advertise-client-urls", &endpoint])
        .args(["--listen-peer-urls", &peer_url, "--initial-advertise-peer-urls", &peer_url])
        .args(["--initial-cluster", initial_cluster, "--log-level", "error"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start etcd");
    Etcd { child, endpoint, _dir: dir }
}

/// A one-member etcd named `name` on free ports with `extra` arguments, started, not yet
/// waited for; `None` (skip) as [`etcd_binary`] says.
pub fn spawn_one(name: &str, extra: &[&str]) -> Option<Etcd> {
    let binary = etcd_binary()?;
    let (client, peer) = (free_port(), free_port());
    let endpoint = format!("http://127.0.0.1:{client}");
    Some(spawn_member(&binary, name, endpoint, peer, &format!("{name}=http://127.0.0.1:{peer}"), extra))
}
