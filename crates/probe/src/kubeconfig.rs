//! The API server's address and CA from a kubeconfig, as kubectl would pick them.

use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::Value;

/// Where a kubeconfig says the API server is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// The context used.
    pub context: String,
    /// The cluster it names.
    pub cluster: String,
    /// `clusters[].cluster.server`.
    pub url: String,
    /// The CA: `certificate-authority-data` decoded, or the file `certificate-authority` names
    /// (relative to the kubeconfig that names it), read.
    pub ca: Option<Ca>,
    /// `insecure-skip-tls-verify: true`, without a CA. Beside a CA it is not applied: kubectl
    /// refuses the two together ("specifying a root certificates file with the insecure flag
    /// is not allowed"), so the probe verifies with the CA and says so (the CA's
    /// `insecure_too`, NET003).
    pub insecure: bool,
    /// `tls-server-name`: the name the certificate is checked for, and SNI.
    pub tls_server_name: Option<String>,
    /// `proxy-url`: the proxy kubectl reaches the server through (it then ignores
    /// `HTTPS_PROXY` and `NO_PROXY`), with where it came from.
    pub proxy: Option<crate::ProxySetting>,
    /// The file(s) read, for messages (`a.yaml` or `a.yaml, b.yaml`).
    pub files: String,
}

/// A CA bundle, from a file or from the kubeconfig itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ca {
    /// A PEM file.
    File(PathBuf),
    /// PEM bytes, with where they came from for messages.
    Pem {
        /// `cluster NAME in KUBECONFIG (field)`.
        origin: String,
        /// The PEM text.
        bytes: Vec<u8>,
        /// The cluster's name, when it also sets `insecure-skip-tls-verify: true`, which
        /// kubectl refuses beside a CA: the probe verifies with the CA, and says that kubectl
        /// refuses this kubeconfig.
        insecure_too: Option<String>,
    },
}

/// One kubeconfig file, parsed.
struct File {
    path: PathBuf,
    v: Value,
}

/// Reads `path` and picks the cluster of `context` (the current context when `None`).
pub fn server(path: &Path, context: Option<&str>) -> Result<Server, String> {
    server_from(&[path.to_path_buf()], context, false)
}

/// Reads the kubeconfig files `paths`, merged as kubectl merges a `KUBECONFIG` list (the
/// first file to set `current-context` or to name a cluster, context or user wins; files that
/// do not exist are skipped when `skip_missing`), and picks the cluster of `context` (the
/// current context when `None`).
pub fn server_from(paths: &[PathBuf], context: Option<&str>, skip_missing: bool) -> Result<Server, String> {
    let mut files = Vec::new();
    for path in paths {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if skip_missing && e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(format!(
                    "{}: {}",
                    path.display(),
                    findings::text::io_error_words(&e, "a kubeconfig file")
                ));
            }
        };
        let v = parse(&text).map_err(|e| format!("{}: not a kubeconfig: {e}", path.display()))?;
        files.push(File { path: path.clone(), v });
    }
    let names = paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
    if files.is_empty() {
        return Err(format!("none of the kubeconfig files exists ({names})"));
    }
    let at = |m: String| format!("{names}: {m}");
    let context = match context {
        Some(c) => c.to_owned(),
        None => files
            .iter()
            .find_map(|f| f.v.get("current-context").and_then(Value::as_str).filter(|c| !c.is_empty()))
            .ok_or_else(|| at("no current-context: name one with --context".to_owned()))?
            .to_owned(),
    };
    // The first file that names it wins, as kubectl merges.
    let named = |list: &str, name: &str| {
        files.iter().find_map(|f| {
            f.v.get(list)
                .and_then(Value::as_array)
                .and_then(|items| items.iter().find(|i| i.get("name").and_then(Value::as_str) == Some(name)))
                .map(|item| (f, item.clone()))
        })
    };
    let (ctx_file, ctx) =
        named("contexts", &context).ok_or_else(|| at(format!("no context named {context}")))?;
    let cluster_name = ctx
        .pointer("/context/cluster")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            format!("{}: context {context} names no cluster (field context.cluster)", ctx_file.path.display())
        })?
        .to_owned();
    let (file, cluster) =
        named("clusters", &cluster_name).ok_or_else(|| at(format!("no cluster named {cluster_name}")))?;
    let path = &file.path;
    let at = |field: &str, m: String| format!("{}: cluster {cluster_name}: {field}: {m}", path.display());
    let url = cluster
        .pointer("/cluster/server")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{}: cluster {cluster_name} has no server", path.display()))?
        .to_owned();
    // An empty value is unset, as kubectl reads it (review M4: "" was "no PEM certificate").
    let field = |name: &str| {
        cluster.pointer(&format!("/cluster/{name}")).and_then(Value::as_str).filter(|v| !v.trim().is_empty())
    };
    let ca = if let Some(data) = field("certificate-authority-data") {
        // Go's base64 decoder, which kubectl uses, skips line breaks: so does this.
        let compact: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(compact)
            .map_err(|e| at("certificate-authority-data", format!("not base64: {e}")))?;
        Some(Ca::Pem {
            origin: format!("cluster {cluster_name} in {} (certificate-authority-data)", path.display()),
            bytes,
            insecure_too: None,
        })
    } else if let Some(f) = field("certificate-authority") {
        let p = PathBuf::from(f);
        let full = if p.is_absolute() { p } else { path.parent().unwrap_or(Path::new(".")).join(p) };
        let bytes = std::fs::read(&full).map_err(|e| {
            at(
                "certificate-authority",
                format!(
                    "{f} (read as {}): {}",
                    full.display(),
                    findings::text::io_error_words(&e, "a PEM file")
                ),
            )
        })?;
        Some(Ca::Pem {
            origin: format!(
                "cluster {cluster_name} in {} (certificate-authority {})",
                path.display(),
                full.display()
            ),
            bytes,
            insecure_too: None,
        })
    } else {
        None
    };
    let insecure = match cluster.pointer("/cluster/insecure-skip-tls-verify") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(at("insecure-skip-tls-verify", format!("{other} is not true or false"))),
    };
    // Both a CA and insecure-skip-tls-verify: kubectl refuses the kubeconfig. Verify with the
    // CA (review M3: the probe skipped verification and found a healthy path), and say so.
    let (ca, insecure) = match ca {
        Some(Ca::Pem { origin, bytes, .. }) if insecure => {
            (Some(Ca::Pem { origin, bytes, insecure_too: Some(cluster_name.clone()) }), false)
        }
        ca => (ca, insecure),
    };
    let tls_server_name = cluster
        .pointer("/cluster/tls-server-name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    let proxy = field("proxy-url").map(|url| crate::ProxySetting {
        url: url.trim().to_owned(),
        from: format!("proxy-url of cluster {cluster_name} in {}", path.display()),
    });
    // kubectl refuses a proxy-url it cannot use: so does the probe, naming the field (never
    // the password).
    if let Some(setting) = &proxy {
        crate::proxy::parse(setting).map_err(|e| at("proxy-url", e))?;
    }
    let files = files.iter().map(|f| f.path.display().to_string()).collect::<Vec<_>>().join(", ");
    Ok(Server { context, cluster: cluster_name, url, ca, insecure, tls_server_name, proxy, files })
}

/// A kubeconfig's YAML, its `<<: *anchor` merge keys resolved as kubectl's YAML reader
/// resolves them (review L2: a cluster written `<<: *base` had "no server").
fn parse(text: &str) -> Result<Value, String> {
    let mut yaml: yaml_serde::Value = yaml_serde::from_str(text).map_err(|e| e.to_string())?;
    if text.contains("<<") {
        yaml.apply_merge().map_err(|e| format!("a YAML merge key (`<<`): {e}"))?;
    }
    yaml_serde::from_value(yaml).map_err(|e| e.to_string())
}

/// The kubeconfig files kubectl reads: every file of `KUBECONFIG` (merged), else
/// `~/.kube/config`; and whether missing ones are skipped (they are in a `KUBECONFIG` list).
pub fn default_paths() -> Option<(Vec<PathBuf>, bool)> {
    if let Some(list) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        let paths: Vec<PathBuf> =
            std::env::split_paths(&list).filter(|p| !p.as_os_str().is_empty()).collect();
        if !paths.is_empty() {
            return Some((paths, true));
        }
    }
    std::env::var_os("HOME").map(|h| (vec![PathBuf::from(h).join(".kube/config")], false))
}

/// Where Kubernetes mounts a pod's service account: its CA (`ca.crt`) and token (`token`).
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The variable that puts the service account elsewhere, for tests only: in a pod the
/// directory is always [`SERVICE_ACCOUNT_DIR`].
pub const SERVICE_ACCOUNT_DIR_FOR_TESTS: &str = "APISERVER_DOCTOR_TEST_SERVICE_ACCOUNT_DIR";

/// The API server as a pod sees it without a kubeconfig, from its environment and service
/// account, as client-go's `rest.InClusterConfig` finds it (kubectl's fallback when no
/// kubeconfig is found).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InCluster {
    /// `https://HOST:PORT`, an IPv6 host in brackets (as Go's `net.JoinHostPort` writes it).
    pub url: String,
    /// `KUBERNETES_SERVICE_HOST`.
    pub host: String,
    /// `KUBERNETES_SERVICE_PORT`.
    pub port: String,
    /// The service account's CA, read, or why it could not be.
    pub ca: Result<Ca, String>,
    /// The service account's token file.
    pub token: PathBuf,
    /// Whether the token file is there (a file, as kubectl checks it): kubectl uses the
    /// in-cluster configuration only then. The probe never sends it.
    pub token_found: bool,
}

/// The in-cluster configuration from the values of `KUBERNETES_SERVICE_HOST` and
/// `KUBERNETES_SERVICE_PORT` (an empty value is unset, as client-go reads them) and the service
/// account in `dir`: `None` when neither variable is set; an error when only one is.
pub fn in_cluster(host: Option<&str>, port: Option<&str>, dir: &Path) -> Result<Option<InCluster>, String> {
    let (host, port) = match (host.filter(|h| !h.is_empty()), port.filter(|p| !p.is_empty())) {
        (None, None) => return Ok(None),
        (Some(host), Some(port)) => (host, port),
        (Some(host), None) => {
            return Err(format!(
                "KUBERNETES_SERVICE_HOST is set ({host}) but KUBERNETES_SERVICE_PORT is not: the in-cluster configuration needs both"
            ));
        }
        (None, Some(port)) => {
            return Err(format!(
                "KUBERNETES_SERVICE_PORT is set ({port}) but KUBERNETES_SERVICE_HOST is not: the in-cluster configuration needs both"
            ));
        }
    };
    // As Go's net.JoinHostPort: a host with a colon (an IPv6 address) goes in brackets.
    let url = if host.contains(':') {
        format!("https://[{host}]:{port}")
    } else {
        format!("https://{host}:{port}")
    };
    let ca_file = dir.join("ca.crt");
    let ca = match std::fs::read(&ca_file) {
        Ok(bytes) => Ok(Ca::Pem {
            origin: format!("the service account ({})", ca_file.display()),
            bytes,
            insecure_too: None,
        }),
        Err(e) => Err(format!(
            "the service account's CA {} cannot be read: {}",
            ca_file.display(),
            findings::text::io_error_words(&e, "a PEM file")
        )),
    };
    let token = dir.join("token");
    let token_found = token.is_file();
    Ok(Some(InCluster { url, host: host.to_owned(), port: port.to_owned(), ca, token, token_found }))
}

/// [`in_cluster`] from this process's environment and [`SERVICE_ACCOUNT_DIR`].
pub fn in_cluster_from_environment() -> Result<Option<InCluster>, String> {
    let var = |name: &str| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
    let dir = var(SERVICE_ACCOUNT_DIR_FOR_TESTS)
        .filter(|d| !d.is_empty())
        .map_or_else(|| PathBuf::from(SERVICE_ACCOUNT_DIR), PathBuf::from);
    in_cluster(var("KUBERNETES_SERVICE_HOST").as_deref(), var("KUBERNETES_SERVICE_PORT").as_deref(), &dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "apiVersion: v1\nkind: Config\ncurrent-context: prod\ncontexts:\n- name: prod\n  context:\n    cluster: aks-prod\n    user: u\n- name: dev\n  context:\n    cluster: dev\n    user: u\nclusters:\n- name: aks-prod\n  cluster:\n    server: https://aks-prod-dns-1a2b.hcp.eastus.azmk8s.io:443\n    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==\n- name: dev\n  cluster:\n    server: https://10.0.0.4:6443\n    certificate-authority: certs/dev-ca.crt\nusers:\n- name: u\n  user:\n    token: secret\n";

    #[test]
    fn the_current_or_named_context_gives_the_server_and_its_ca() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("config");
        std::fs::write(&p, CONFIG).expect("write");
        let s = server(&p, None).expect("current context");
        assert_eq!(s.url, "https://aks-prod-dns-1a2b.hcp.eastus.azmk8s.io:443");
        match s.ca {
            Some(Ca::Pem { bytes, .. }) => assert_eq!(bytes, b"-----BEGIN CERTIFICATE-----\n"),
            other => panic!("{other:?}"),
        }
        let err = server(&p, Some("dev")).expect_err("the CA file is missing");
        assert!(
            err.starts_with(&format!(
                "{}: cluster dev: certificate-authority: certs/dev-ca.crt (read as ",
                p.display()
            )),
            "{err}"
        );
        std::fs::create_dir(dir.path().join("certs")).expect("mkdir");
        std::fs::write(dir.path().join("certs/dev-ca.crt"), "PEM").expect("write");
        let s = server(&p, Some("dev")).expect("dev");
        assert_eq!(s.url, "https://10.0.0.4:6443");
        assert!(matches!(s.ca, Some(Ca::Pem { ref bytes, .. }) if bytes == b"PEM"), "{:?}", s.ca);
        let err = server(&p, Some("staging")).expect_err("no such context");
        assert!(err.ends_with("no context named staging"), "{err}");
    }

    #[test]
    fn insecure_skip_tls_verify_tls_server_name_and_wrapped_ca_data_are_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("config");
        std::fs::write(
            &p,
            "current-context: c\ncontexts:\n- name: c\n  context:\n    cluster: k\nclusters:\n- name: k\n  cluster:\n    server: https://127.0.0.1:6443/k8s/clusters/c-1\n    insecure-skip-tls-verify: true\n    tls-server-name: kubernetes.default.svc\n    certificate-authority-data: |\n      LS0tLS1CRUdJTiBDRVJU\n      SUZJQ0FURS0tLS0tCg==\n",
        )
        .expect("write");
        let s = server(&p, None).expect("read");
        // Beside a CA, insecure-skip-tls-verify is not applied (kubectl refuses the two).
        assert!(!s.insecure);
        assert!(matches!(s.ca, Some(Ca::Pem { insecure_too: Some(ref k), .. }) if k == "k"), "{:?}", s.ca);
        assert_eq!(s.tls_server_name.as_deref(), Some("kubernetes.default.svc"));
        assert_eq!(s.url, "https://127.0.0.1:6443/k8s/clusters/c-1");
        assert!(
            matches!(s.ca, Some(Ca::Pem { ref bytes, .. }) if bytes == b"-----BEGIN CERTIFICATE-----\n"),
            "{:?}",
            s.ca
        );
    }

    #[test]
    fn a_kubeconfig_list_is_merged_as_kubectl_merges_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let part1 = dir.path().join("part1.yaml");
        let part2 = dir.path().join("part2.yaml");
        std::fs::write(
            &part1,
            "clusters:\n- name: k1\n  cluster:\n    server: https://first:443\ncontexts:\n- name: c1\n  context:\n    cluster: k1\n",
        )
        .expect("write");
        std::fs::write(
            &part2,
            "current-context: c1\nclusters:\n- name: k1\n  cluster:\n    server: https://second:443\n",
        )
        .expect("write");
        let missing = dir.path().join("missing.yaml");
        let s = server_from(&[missing.clone(), part1.clone(), part2.clone()], None, true).expect("merged");
        assert_eq!((s.context.as_str(), s.url.as_str()), ("c1", "https://first:443"));
        assert_eq!(s.files, format!("{}, {}", part1.display(), part2.display()));
        let err = server_from(std::slice::from_ref(&part1), None, true).expect_err("no current-context");
        assert_eq!(err, format!("{}: no current-context: name one with --context", part1.display()));
    }

    /// Review M4: `certificate-authority-data: ""` was a hard error ("no PEM certificate in
    /// it"), even with insecure-skip-tls-verify; kubectl takes an empty value as unset.
    #[test]
    fn an_empty_certificate_authority_was_a_hard_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("config");
        for fields in [
            "    certificate-authority-data: \"\"\n    insecure-skip-tls-verify: true\n",
            "    certificate-authority-data: \"  \"\n",
            "    certificate-authority: \"\"\n    insecure-skip-tls-verify: true\n",
            "    certificate-authority-data: \"\"\n    certificate-authority: \" \"\n",
        ] {
            std::fs::write(
                &p,
                format!(
                    "current-context: c\ncontexts:\n- name: c\n  context:\n    cluster: k\nclusters:\n- name: k\n  cluster:\n    server: https://x\n{fields}"
                ),
            )
            .expect("write");
            let s = server(&p, None).unwrap_or_else(|e| panic!("{fields}: {e}"));
            assert_eq!(s.ca, None, "{fields}");
        }
        // An empty certificate-authority-data beside a certificate-authority file: the file.
        std::fs::write(dir.path().join("ca.crt"), "PEM").expect("write");
        std::fs::write(
            &p,
            "current-context: c\ncontexts:\n- name: c\n  context:\n    cluster: k\nclusters:\n- name: k\n  cluster:\n    server: https://x\n    certificate-authority-data: \"\"\n    certificate-authority: ca.crt\n",
        )
        .expect("write");
        let s = server(&p, None).expect("the file");
        assert!(matches!(s.ca, Some(Ca::Pem { ref bytes, .. }) if bytes == b"PEM"), "{:?}", s.ca);
    }

    /// Review L2: YAML merge keys (`<<: *base`) were not resolved: kubectl answered, the probe
    /// said "cluster b has no server".
    #[test]
    fn a_cluster_made_with_a_yaml_merge_key_had_no_server() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("config");
        std::fs::write(
            &p,
            "current-context: b\ncontexts:\n- name: b\n  context:\n    cluster: b\nclusters:\n- name: a\n  cluster: &base\n    server: https://api.example.com:6443\n    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==\n    proxy-url: http://proxy.corp:3128\n- name: b\n  cluster:\n    <<: *base\n    tls-server-name: kubernetes\n",
        )
        .expect("write");
        let s = server(&p, None).expect("the merged cluster");
        assert_eq!(s.url, "https://api.example.com:6443");
        assert_eq!(s.tls_server_name.as_deref(), Some("kubernetes"));
        assert!(matches!(s.ca, Some(Ca::Pem { ref bytes, .. }) if bytes == b"-----BEGIN CERTIFICATE-----\n"));
        assert_eq!(
            s.proxy.map(|p| (p.url, p.from)),
            Some(("http://proxy.corp:3128".to_owned(), format!("proxy-url of cluster b in {}", p.display())))
        );
        // A merge key that is not a mapping is a YAML error naming the file.
        std::fs::write(&p, "clusters:\n- name: b\n  cluster:\n    <<: 3\n").expect("write");
        let err = server(&p, None).expect_err("a bad merge key");
        assert!(err.starts_with(&format!("{}: not a kubeconfig: a YAML merge key", p.display())), "{err}");
    }

    #[test]
    fn a_proxy_url_kubectl_refuses_is_named_without_its_password() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("config");
        std::fs::write(
            &p,
            "current-context: c\ncontexts:\n- name: c\n  context:\n    cluster: k\nclusters:\n- name: k\n  cluster:\n    server: https://x\n    proxy-url: ftp://u:hunter2@p\n",
        )
        .expect("write");
        let err = server(&p, None).expect_err("ftp");
        assert!(err.starts_with(&format!("{}: cluster k: proxy-url: scheme ftp", p.display())), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn bad_fields_are_named_with_their_kubeconfig() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("config");
        std::fs::write(
            &p,
            "current-context: c\ncontexts:\n- name: c\n  context:\n    cluster: k\nclusters:\n- name: k\n  cluster:\n    server: https://x\n    certificate-authority-data: not*base64\n",
        )
        .expect("write");
        let err = server(&p, None).expect_err("bad base64");
        assert!(
            err.starts_with(&format!("{}: cluster k: certificate-authority-data: not base64", p.display())),
            "{err}"
        );
    }

    /// Review L5: without a kubeconfig, inside a pod, the probe failed with "~/.kube/config: No
    /// such file" where kubectl uses the service account and KUBERNETES_SERVICE_HOST/PORT.
    /// Earlier review: a kubeconfig's `certificate-authority` that could not be read said
    /// `No such file or directory (os error 2)`; the service account's CA the same.
    #[test]
    fn a_certificate_authority_file_that_cannot_be_read_said_its_os_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let kc = dir.path().join("config");
        let write = |ca: &str| {
            std::fs::write(
                &kc,
                format!(
                    "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: k\n  cluster:\n    server: https://127.0.0.1:6443\n    certificate-authority: {ca}\ncontexts:\n- name: c\n  context:\n    cluster: k\n"
                ),
            )
            .expect("write");
        };
        write("missing.crt");
        let err = server(&kc, None).expect_err("no CA file");
        assert!(err.contains("missing.crt (read as ") && err.ends_with("): does not exist"), "{err}");
        write(&dir.path().display().to_string());
        let err = server(&kc, None).expect_err("a directory");
        assert!(err.ends_with("): is a directory, not a PEM file"), "{err}");
        assert!(!err.contains("os error"), "{err}");
        // The service account's CA: a directory where the file should be.
        let sa = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(sa.path().join("ca.crt")).expect("mkdir");
        let c = in_cluster(Some("10.96.0.1"), Some("443"), sa.path()).expect("both set").expect("in a pod");
        let err = c.ca.expect_err("a directory");
        assert!(err.ends_with("cannot be read: is a directory, not a PEM file"), "{err}");
    }

    #[test]
    fn no_kubeconfig_inside_a_pod_gives_the_in_cluster_server_and_the_service_account_ca() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sa = dir.path();
        std::fs::write(sa.join("ca.crt"), "PEM").expect("write");
        std::fs::write(sa.join("token"), "jwt").expect("write");
        let c = in_cluster(Some("10.96.0.1"), Some("443"), sa).expect("both set").expect("in a pod");
        assert_eq!(c.url, "https://10.96.0.1:443");
        assert!(matches!(c.ca, Ok(Ca::Pem { ref bytes, .. }) if bytes == b"PEM"), "{:?}", c.ca);
        assert!(c.token_found);
        // An IPv6 service address in brackets, as Go's net.JoinHostPort writes it.
        let c = in_cluster(Some("fd00:10:96::1"), Some("443"), sa).expect("both set").expect("in a pod");
        assert_eq!(c.url, "https://[fd00:10:96::1]:443");
        // Neither (or empty, as client-go reads them): not in a pod.
        assert_eq!(in_cluster(None, None, sa), Ok(None));
        assert_eq!(in_cluster(Some(""), Some(""), sa), Ok(None));
        // One of the two: said.
        let err = in_cluster(Some("10.96.0.1"), None, sa).expect_err("no port");
        assert!(
            err.starts_with("KUBERNETES_SERVICE_HOST is set (10.96.0.1) but KUBERNETES_SERVICE_PORT is not"),
            "{err}"
        );
        let err = in_cluster(Some(""), Some("443"), sa).expect_err("no host");
        assert!(
            err.starts_with("KUBERNETES_SERVICE_PORT is set (443) but KUBERNETES_SERVICE_HOST is not"),
            "{err}"
        );
        // No CA, no token: said, the CA file named.
        let empty = tempfile::tempdir().expect("tempdir");
        let c =
            in_cluster(Some("10.96.0.1"), Some("443"), empty.path()).expect("both set").expect("in a pod");
        let err = c.ca.expect_err("no CA");
        assert!(
            err.starts_with(&format!(
                "the service account's CA {} cannot be read: ",
                empty.path().join("ca.crt").display()
            )),
            "{err}"
        );
        assert!(!c.token_found);
    }
}
