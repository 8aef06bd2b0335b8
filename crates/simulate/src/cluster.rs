//! The simulated cluster: Kubernetes version, nodes, namespaces, workloads, and the clients
//! that talk to the API server, with the identities and user agents real ones present.

use crate::emit::escape;
use crate::rng::{Rng, hash};

/// A Kubernetes release the simulator can imitate, with its real build identity (taken from
/// `kubernetes_build_info` in the metric dumps under `../shared/data/real/metrics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KubeVersion {
    /// Minor version (`29` for 1.29).
    pub minor: u32,
    /// `v1.29.5`.
    pub git_version: &'static str,
    /// Full commit hash.
    pub git_commit: &'static str,
    /// Build date.
    pub build_date: &'static str,
    /// Go version it was built with.
    pub go_version: &'static str,
}

/// Versions with a known build identity.
pub const KUBE_VERSIONS: &[KubeVersion] = &[
    KubeVersion {
        minor: 16,
        git_version: "v1.16.15",
        git_commit: "2adc8d7091e89b6e3ca8d048140618ec89b39369",
        build_date: "2020-09-02T11:31:21Z",
        go_version: "go1.13.15",
    },
    KubeVersion {
        minor: 19,
        git_version: "v1.19.16",
        git_commit: "e37e4ab4cc8dcda84f1344dda47a97bb1927d074",
        build_date: "2021-10-27T16:20:18Z",
        go_version: "go1.15.15",
    },
    KubeVersion {
        minor: 20,
        git_version: "v1.20.15",
        git_commit: "8f1e5bf0b9729a899b8df86249b56e2c74aebc55",
        build_date: "2022-01-19T17:23:01Z",
        go_version: "go1.15.15",
    },
    KubeVersion {
        minor: 21,
        git_version: "v1.21.14",
        git_commit: "0f77da5bd4809927e15d1658fb4aa8f13ad890a5",
        build_date: "2022-06-15T14:11:36Z",
        go_version: "go1.16.15",
    },
    KubeVersion {
        minor: 22,
        git_version: "v1.22.17",
        git_commit: "a7736eaf34d823d7652415337ac0ad06db9167fc",
        build_date: "2022-12-08T11:42:04Z",
        go_version: "go1.16.15",
    },
    KubeVersion {
        minor: 23,
        git_version: "v1.23.17",
        git_commit: "953be8927218ec8067e1af2641e540238ffd7576",
        build_date: "2023-02-22T13:27:46Z",
        go_version: "go1.19.6",
    },
    KubeVersion {
        minor: 24,
        git_version: "v1.24.17",
        git_commit: "22a9682c8fe855c321be75c5faacde343f909b04",
        build_date: "2023-08-23T23:37:25Z",
        go_version: "go1.20.7",
    },
    KubeVersion {
        minor: 25,
        git_version: "v1.25.13",
        git_commit: "5244794d27b4cc68290bc496b00e248857ac8b47",
        build_date: "2023-08-23T23:54:36Z",
        go_version: "go1.20.7",
    },
    KubeVersion {
        minor: 26,
        git_version: "v1.26.8",
        git_commit: "395f0a2fdc940aeb9ab88849e8fa4321decbf6e1",
        build_date: "2023-08-24T00:43:07Z",
        go_version: "go1.20.7",
    },
    KubeVersion {
        minor: 27,
        git_version: "v1.27.5",
        git_commit: "93e0d7146fb9c3e9f68aa41b2b4265b2fcdb0a4c",
        build_date: "2023-08-24T00:42:11Z",
        go_version: "go1.20.7",
    },
    KubeVersion {
        minor: 28,
        git_version: "v1.28.3",
        git_commit: "a8a1abc25cad87333840cd7d54be2efaf31a3177",
        build_date: "2023-10-18T11:33:18Z",
        go_version: "go1.20.10",
    },
    KubeVersion {
        minor: 29,
        git_version: "v1.29.5",
        git_commit: "59755ff595fa4526236b0cc03aa2242d941a5171",
        build_date: "2024-05-14T10:39:39Z",
        go_version: "go1.21.9",
    },
    KubeVersion {
        minor: 30,
        git_version: "v1.30.0",
        git_commit: "7c48c2bd72b9bf5c44d21d7338cc7bea77d0ad2a",
        build_date: "2024-04-17T17:27:03Z",
        go_version: "go1.22.2",
    },
    KubeVersion {
        minor: 31,
        git_version: "v1.31.0",
        git_commit: "9edcffcde5595e8a5b1a35f88c421764e575afce",
        build_date: "2024-08-13T07:28:49Z",
        go_version: "go1.22.5",
    },
    KubeVersion {
        minor: 32,
        git_version: "v1.32.0",
        git_commit: "70d3cc986aa8221cd1dfb1121852688902d3bf53",
        build_date: "2024-12-11T17:59:15Z",
        go_version: "go1.23.3",
    },
    KubeVersion {
        minor: 33,
        git_version: "v1.33.0",
        git_commit: "60a317eadfcb839692a68eab88b2096f4d708f4f",
        build_date: "2025-04-23T13:00:14Z",
        go_version: "go1.24.2",
    },
    KubeVersion {
        minor: 34,
        git_version: "v1.34.0",
        git_commit: "f28b4c9efbca5c5c0af716d9f2d5702667ee8a45",
        build_date: "2025-08-27T10:09:04Z",
        go_version: "go1.24.6",
    },
    KubeVersion {
        minor: 35,
        git_version: "v1.35.0",
        git_commit: "66452049f3d692768c39c797b21b793dce80314e",
        build_date: "2025-12-17T12:32:07Z",
        go_version: "go1.25.5",
    },
];

impl KubeVersion {
    /// Parses `1.29`, `v1.29` or `1.29.4` (the patch level is the one known for that minor).
    pub fn parse(s: &str) -> Option<KubeVersion> {
        let s = s.trim().trim_start_matches('v');
        let mut parts = s.split('.');
        let major: u32 = parts.next()?.parse().ok()?;
        let minor: u32 = parts.next()?.parse().ok()?;
        if major != 1 {
            return None;
        }
        KUBE_VERSIONS.iter().copied().find(|v| v.minor == minor)
    }

    /// `1.29`.
    pub fn short(&self) -> String {
        format!("1.{}", self.minor)
    }

    /// The 7-character commit the components put in their user agents.
    pub fn short_commit(&self) -> &'static str {
        &self.git_commit[..7]
    }

    /// A Kubernetes component's user agent: `kubelet/v1.29.5 (linux/amd64) kubernetes/59755ff`.
    pub fn component_agent(&self, binary: &str) -> String {
        format!("{binary}/{} (linux/amd64) kubernetes/{}", self.git_version, self.short_commit())
    }
}

/// An API resource the simulated clients touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource {
    /// Plural name.
    pub name: &'static str,
    /// API group (`None`: core).
    pub group: Option<&'static str>,
    /// Version served.
    pub version: &'static str,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
}

impl Resource {
    const fn core(name: &'static str, namespaced: bool) -> Resource {
        Resource { name, group: None, version: "v1", namespaced }
    }

    const fn grouped(
        name: &'static str,
        group: &'static str,
        version: &'static str,
        namespaced: bool,
    ) -> Resource {
        Resource { name, group: Some(group), version, namespaced }
    }

    /// `pods` or `jobs.batch`: the name object-count metrics use.
    pub fn qualified(&self) -> String {
        match self.group {
            Some(g) => format!("{}.{g}", self.name),
            None => self.name.to_owned(),
        }
    }

    /// Appends the URI path prefix: `/api/v1` or `/apis/<group>/<version>`.
    pub fn push_prefix(&self, out: &mut String) {
        match self.group {
            None => out.push_str("/api/v1"),
            Some(g) => {
                out.push_str("/apis/");
                out.push_str(g);
                out.push('/');
                out.push_str(self.version);
            }
        }
    }
}

/// The resources the traffic uses, by name.
pub mod res {
    use super::Resource;
    pub const PODS: Resource = Resource::core("pods", true);
    pub const NODES: Resource = Resource::core("nodes", false);
    pub const SERVICES: Resource = Resource::core("services", true);
    pub const ENDPOINTS: Resource = Resource::core("endpoints", true);
    pub const CONFIGMAPS: Resource = Resource::core("configmaps", true);
    pub const SECRETS: Resource = Resource::core("secrets", true);
    pub const EVENTS: Resource = Resource::core("events", true);
    pub const NAMESPACES: Resource = Resource::core("namespaces", false);
    pub const SERVICEACCOUNTS: Resource = Resource::core("serviceaccounts", true);
    pub const PVCS: Resource = Resource::core("persistentvolumeclaims", true);
    pub const PVS: Resource = Resource::core("persistentvolumes", false);
    pub const LEASES: Resource = Resource::grouped("leases", "coordination.k8s.io", "v1", true);
    pub const ENDPOINTSLICES: Resource = Resource::grouped("endpointslices", "discovery.k8s.io", "v1", true);
    pub const DEPLOYMENTS: Resource = Resource::grouped("deployments", "apps", "v1", true);
    pub const REPLICASETS: Resource = Resource::grouped("replicasets", "apps", "v1", true);
    pub const DAEMONSETS: Resource = Resource::grouped("daemonsets", "apps", "v1", true);
    pub const STATEFULSETS: Resource = Resource::grouped("statefulsets", "apps", "v1", true);
    pub const JOBS: Resource = Resource::grouped("jobs", "batch", "v1", true);
    pub const CRONJOBS: Resource = Resource::grouped("cronjobs", "batch", "v1", true);
    pub const HPAS: Resource = Resource::grouped("horizontalpodautoscalers", "autoscaling", "v2", true);
    pub const CSIDRIVERS: Resource = Resource::grouped("csidrivers", "storage.k8s.io", "v1", false);
    pub const CSINODES: Resource = Resource::grouped("csinodes", "storage.k8s.io", "v1", false);
    pub const RUNTIMECLASSES: Resource = Resource::grouped("runtimeclasses", "node.k8s.io", "v1", false);
    pub const NETWORKPOLICIES: Resource =
        Resource::grouped("networkpolicies", "networking.k8s.io", "v1", true);
    pub const INGRESSES: Resource = Resource::grouped("ingresses", "networking.k8s.io", "v1", true);
    pub const PODMETRICS: Resource = Resource::grouped("pods", "metrics.k8s.io", "v1beta1", true);
    pub const CILIUMNODES: Resource = Resource::grouped("ciliumnodes", "cilium.io", "v2", false);
    pub const CILIUMENDPOINTS: Resource = Resource::grouped("ciliumendpoints", "cilium.io", "v2", true);
    pub const CILIUMIDENTITIES: Resource = Resource::grouped("ciliumidentities", "cilium.io", "v2", false);
    pub const CILIUMNETWORKPOLICIES: Resource =
        Resource::grouped("ciliumnetworkpolicies", "cilium.io", "v2", true);
    pub const CILIUMCLUSTERWIDENETWORKPOLICIES: Resource =
        Resource::grouped("ciliumclusterwidenetworkpolicies", "cilium.io", "v2", false);
    pub const CERTIFICATES: Resource = Resource::grouped("certificates", "cert-manager.io", "v1", true);
    pub const VALIDATINGWEBHOOKS: Resource =
        Resource::grouped("validatingwebhookconfigurations", "admissionregistration.k8s.io", "v1", false);
    pub const MUTATINGWEBHOOKS: Resource =
        Resource::grouped("mutatingwebhookconfigurations", "admissionregistration.k8s.io", "v1", false);
    pub const PRIORITYLEVELS: Resource =
        Resource::grouped("prioritylevelconfigurations", "flowcontrol.apiserver.k8s.io", "v1", false);
    pub const FLOWSCHEMAS: Resource =
        Resource::grouped("flowschemas", "flowcontrol.apiserver.k8s.io", "v1", false);
}

/// Who a client is: its identity as the audit log shows it.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The user name.
    pub username: String,
    /// The `user` object as JSON text.
    pub user_json: String,
    /// User agent.
    pub user_agent: String,
    /// The client's source IP (per-node clients use the node's instead).
    pub source_ip: String,
    /// `authorization.k8s.io/reason`, JSON-escaped.
    pub reason_escaped: String,
    /// The APF flow schema and priority level its requests are classified into.
    pub flow: (&'static str, &'static str),
}

fn user_json(username: &str, uid: Option<u128>, groups: &[&str]) -> String {
    let mut out = Vec::new();
    out.extend_from_slice(b"{\"username\":");
    audit::write::write_str(&mut out, username);
    if let Some(uid) = uid {
        out.extend_from_slice(b",\"uid\":\"");
        crate::emit::push_uuid(&mut out, uid);
        out.push(b'"');
    }
    if !groups.is_empty() {
        out.extend_from_slice(b",\"groups\":[");
        for (i, g) in groups.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            audit::write::write_str(&mut out, g);
        }
        out.push(b']');
    }
    out.push(b'}');
    String::from_utf8_lossy(&out).into_owned()
}

/// A service account identity (`system:serviceaccount:<ns>:<name>`).
pub fn service_account(
    seed: u64,
    namespace: &str,
    name: &str,
    user_agent: String,
    source_ip: String,
    binding: &str,
) -> Identity {
    let username = format!("system:serviceaccount:{namespace}:{name}");
    let uid = u128::from(hash(&[seed, 0x5A, str_hash(&username)])) << 64
        | u128::from(hash(&[seed, 0x5B, str_hash(&username)]));
    let groups = [
        "system:serviceaccounts".to_owned(),
        format!("system:serviceaccounts:{namespace}"),
        "system:authenticated".to_owned(),
    ];
    let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
    let reason = format!(
        "RBAC: allowed by ClusterRoleBinding \"{binding}\" of ClusterRole \"{binding}\" to ServiceAccount \"{name}/{namespace}\""
    );
    let flow = if namespace == "kube-system" {
        ("kube-system-service-accounts", "workload-high")
    } else {
        ("service-accounts", "workload-low")
    };
    Identity {
        user_json: user_json(&username, Some(uid), &groups),
        username,
        user_agent,
        source_ip,
        reason_escaped: escape(&reason),
        flow,
    }
}

/// A user identity outside service accounts (`system:kube-scheduler`, humans).
pub fn user(
    username: &str,
    groups: &[&str],
    user_agent: String,
    source_ip: String,
    reason: &str,
    flow: (&'static str, &'static str),
) -> Identity {
    Identity {
        username: username.to_owned(),
        user_json: user_json(username, None, groups),
        user_agent,
        source_ip,
        reason_escaped: escape(reason),
        flow,
    }
}

/// A stable 64-bit hash of a string (FNV-1a), for seeds derived from names.
pub fn str_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// One node.
#[derive(Debug, Clone)]
pub struct Node {
    /// `aks-nodepool1-12345678-vmss00000a`.
    pub name: String,
    /// The node's IP (kubelet and DaemonSet pods with host networking use it).
    pub ip: String,
    /// The kubelet's `user` JSON (`system:node:<name>`).
    pub kubelet_user_json: String,
    /// A pod CIDR address for pods on this node.
    pub pod_ip_prefix: String,
}

/// An application whose pods run in the cluster.
#[derive(Debug, Clone)]
pub struct App {
    /// Deployment name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// The ReplicaSet's pod-template hash.
    pub rs_hash: String,
}

const POD_NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// Appends `n` characters of the alphabet Kubernetes uses for generated names.
pub fn push_generated(out: &mut String, mut bits: u64, n: usize) {
    for _ in 0..n {
        out.push(POD_NAME_ALPHABET[(bits % POD_NAME_ALPHABET.len() as u64) as usize] as char);
        bits /= POD_NAME_ALPHABET.len() as u64;
    }
}

/// Namespaces of a typical large shared cluster.
const TEAM_WORDS: &[&str] = &[
    "payments",
    "checkout",
    "search",
    "catalog",
    "identity",
    "billing",
    "ledger",
    "notifications",
    "recommendations",
    "pricing",
    "inventory",
    "shipping",
    "analytics",
    "ml-serving",
    "feature-store",
    "media",
    "chat",
    "gateway",
    "profile",
    "orders",
    "fraud",
    "risk",
    "reporting-api",
    "web",
    "mobile-bff",
    "partners",
    "support",
    "data-ingest",
    "etl",
    "experiments",
];

const APP_WORDS: &[&str] = &[
    "api",
    "worker",
    "frontend",
    "consumer",
    "scheduler",
    "cache",
    "indexer",
    "gateway",
    "processor",
    "exporter",
    "webhook",
    "sync",
    "reader",
    "writer",
    "aggregator",
];

/// The cluster model shared by every slice generator (read-only once built).
#[derive(Debug, Clone)]
pub struct Cluster {
    /// Kubernetes version.
    pub version: KubeVersion,
    /// Nodes.
    pub nodes: Vec<Node>,
    /// Application namespaces.
    pub namespaces: Vec<String>,
    /// Applications (deployments) and their pods' naming.
    pub apps: Vec<App>,
    /// Pods per node.
    pub pods_per_node: u32,
    /// The apiserver pod names (Azure formats name the one that wrote an event).
    pub apiserver_pods: Vec<String>,
    /// The cluster's Azure resource ID.
    pub resource_id: String,
}

impl Cluster {
    /// Builds the cluster for `nodes` nodes from `seed`.
    pub fn new(seed: u64, nodes: usize, version: KubeVersion) -> Cluster {
        let mut rng = Rng::new(hash(&[seed, 0xC1]));
        let vmss_id = 10_000_000 + rng.below(89_999_999);
        let nodes: Vec<Node> = (0..nodes)
            .map(|i| {
                let pool = i / 1000 + 1;
                let index = i % 1000;
                let name = format!("aks-nodepool{pool}-{vmss_id}-vmss{index:06x}");
                let host = i + 4;
                let ip = format!("10.224.{}.{}", host / 250, host % 250 + 4);
                let username = format!("system:node:{name}");
                let kubelet_user_json = user_json(&username, None, &["system:nodes", "system:authenticated"]);
                let pod_ip_prefix = format!("10.{}.{}.", 244 + i / 65_536, (i / 256) % 256);
                Node { name, ip, kubelet_user_json, pod_ip_prefix }
            })
            .collect();
        let mut namespaces: Vec<String> = TEAM_WORDS.iter().map(|w| (*w).to_owned()).collect();
        for w in TEAM_WORDS {
            namespaces.push(format!("{w}-staging"));
        }
        let mut apps = Vec::new();
        for (ni, ns) in namespaces.iter().enumerate() {
            for (ai, word) in APP_WORDS.iter().enumerate() {
                if (ni + ai) % 3 == 0 {
                    continue;
                }
                let name = format!("{}-{word}", ns.trim_end_matches("-staging"));
                let mut rs_hash = String::new();
                push_generated(&mut rs_hash, hash(&[seed, ni as u64, ai as u64]), 10);
                apps.push(App { name, namespace: ns.clone(), rs_hash });
            }
        }
        let apiserver_pods = (0..3)
            .map(|i| {
                let mut s = String::from("kube-apiserver-");
                push_generated(&mut s, hash(&[seed, 0xA9]), 10);
                s.push('-');
                push_generated(&mut s, hash(&[seed, 0xAA, i]), 5);
                s
            })
            .collect();
        let sub = hash(&[seed, 0x5B]);
        let resource_id = format!(
            "/SUBSCRIPTIONS/{:08X}-{:04X}-4{:03X}-8{:03X}-{:012X}/RESOURCEGROUPS/RG-PROD-PLATFORM/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/PROD-PLATFORM-01",
            sub >> 32,
            (sub >> 16) & 0xffff,
            sub & 0xfff,
            (sub >> 20) & 0xfff,
            hash(&[seed, 0x5C]) & 0xffff_ffff_ffff
        );
        Cluster { version, nodes, namespaces, apps, pods_per_node: 30, apiserver_pods, resource_id }
    }

    /// The name of the pod in `slot` on node `node` (stable for the run).
    pub fn pod(&self, seed: u64, node: usize, slot: u32, out: &mut String) -> &App {
        let h = hash(&[seed, 0x9D, node as u64, u64::from(slot)]);
        let app = &self.apps[(h % self.apps.len() as u64) as usize];
        out.push_str(&app.name);
        out.push('-');
        out.push_str(&app.rs_hash);
        out.push('-');
        push_generated(out, h >> 20, 5);
        app
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_name_components_like_real_user_agents() {
        let v = KubeVersion::parse("1.29").expect("known");
        assert_eq!(v.git_version, "v1.29.5");
        assert_eq!(v.component_agent("kubelet"), "kubelet/v1.29.5 (linux/amd64) kubernetes/59755ff");
        assert_eq!(KubeVersion::parse("v1.35.2").map(|v| v.minor), Some(35));
        assert!(KubeVersion::parse("1.17").is_none());
        assert!(KubeVersion::parse("2.1").is_none());
    }

    #[test]
    fn cluster_is_deterministic_and_names_are_unique() {
        let v = KubeVersion::parse("1.29").expect("known");
        let a = Cluster::new(7, 2500, v);
        let b = Cluster::new(7, 2500, v);
        assert_eq!(a.nodes[1234].name, b.nodes[1234].name);
        let mut names: Vec<&str> = a.nodes.iter().map(|n| n.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 2500);
        let mut ips: Vec<&str> = a.nodes.iter().map(|n| n.ip.as_str()).collect();
        ips.sort_unstable();
        ips.dedup();
        assert_eq!(ips.len(), 2500);
        assert!(a.resource_id.starts_with("/SUBSCRIPTIONS/"));
        assert_eq!(a.apiserver_pods.len(), 3);
    }
}
