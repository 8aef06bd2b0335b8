//! The API server's address and CA from a kubeconfig, as kubectl would pick them.

use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::Value;

/// Where a kubeconfig says the API server is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// The context used.
    pub context: String,
    /// `clusters[].cluster.server`.
    pub url: String,
    /// The CA: `certificate-authority-data` decoded, or the file `certificate-authority` names
    /// (relative to the kubeconfig's directory).
    pub ca: Option<Ca>,
}

/// A CA bundle, from a file or from the kubeconfig itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ca {
    /// A PEM file.
    File(PathBuf),
    /// PEM bytes, with where they came from for messages.
    Pem {
        /// `KUBECONFIG (context NAME)`.
        origin: String,
        /// The PEM text.
        bytes: Vec<u8>,
    },
}

/// Reads `path` and picks the cluster of `context` (the current context when `None`).
pub fn server(path: &Path, context: Option<&str>) -> Result<Server, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: Value =
        yaml_serde::from_str(&text).map_err(|e| format!("{}: not a kubeconfig: {e}", path.display()))?;
    let at = |m: String| format!("{}: {m}", path.display());
    let context = match context {
        Some(c) => c.to_owned(),
        None => v
            .get("current-context")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| at("no current-context: name one with --context".to_owned()))?
            .to_owned(),
    };
    let named = |list: &str, name: &str| {
        v.get(list)
            .and_then(Value::as_array)
            .and_then(|items| items.iter().find(|i| i.get("name").and_then(Value::as_str) == Some(name)))
            .cloned()
    };
    let ctx = named("contexts", &context).ok_or_else(|| at(format!("no context named {context}")))?;
    let cluster_name = ctx
        .pointer("/context/cluster")
        .and_then(Value::as_str)
        .ok_or_else(|| at(format!("context {context} names no cluster")))?;
    let cluster =
        named("clusters", cluster_name).ok_or_else(|| at(format!("no cluster named {cluster_name}")))?;
    let url = cluster
        .pointer("/cluster/server")
        .and_then(Value::as_str)
        .ok_or_else(|| at(format!("cluster {cluster_name} has no server")))?
        .to_owned();
    let ca =
        if let Some(data) = cluster.pointer("/cluster/certificate-authority-data").and_then(Value::as_str) {
            let bytes = base64::engine::general_purpose::STANDARD.decode(data.trim()).map_err(|e| {
                at(format!("cluster {cluster_name}: certificate-authority-data is not base64: {e}"))
            })?;
            Some(Ca::Pem { origin: format!("{} (cluster {cluster_name})", path.display()), bytes })
        } else {
            cluster.pointer("/cluster/certificate-authority").and_then(Value::as_str).map(|f| {
                let p = PathBuf::from(f);
                Ca::File(if p.is_absolute() { p } else { path.parent().unwrap_or(Path::new(".")).join(p) })
            })
        };
    Ok(Server { context, url, ca })
}

/// The kubeconfig kubectl reads: the first file of `KUBECONFIG`, else `~/.kube/config`.
pub fn default_path() -> Option<PathBuf> {
    if let Some(list) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        return std::env::split_paths(&list).next();
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".kube/config"))
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
        let s = server(&p, Some("dev")).expect("dev");
        assert_eq!(s.url, "https://10.0.0.4:6443");
        assert_eq!(s.ca, Some(Ca::File(dir.path().join("certs/dev-ca.crt"))));
        let err = server(&p, Some("staging")).expect_err("no such context");
        assert!(err.ends_with("no context named staging"), "{err}");
    }
}
