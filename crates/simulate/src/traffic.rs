//! The traffic of one time slice: every client's requests, written as audit events into the
//! slice's buffer and counted into its [`Stats`].
//!
//! Each slice draws from its own RNG seeded from (seed, slice index), and periodic work
//! (lease renewals, watches) is placed on a grid fixed by the seed, so a slice's bytes do not
//! depend on which thread makes it or on any other slice.

use crate::cluster::{Cluster, Identity, Node, Resource, push_generated, res, service_account, user};
use crate::emit::{
    Breakdown, EventParts, Failure, Micros, ObjRef, Stage, push_event, push_go_duration, push_u64,
};
use crate::rng::{Rng, hash};
use crate::scenario::{Scenarios, track};
use crate::stats::{SeriesKey, Stats};

const SEC: Micros = 1_000_000;
const MS: Micros = 1_000;

/// Kubernetes verbs as the audit log names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// get
    Get,
    /// list
    List,
    /// watch
    Watch,
    /// create
    Create,
    /// update
    Update,
    /// patch
    Patch,
    /// delete
    Delete,
}

impl Verb {
    /// The audit log's name.
    pub fn name(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Watch => "watch",
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Patch => "patch",
            Verb::Delete => "delete",
        }
    }

    /// The `verb` label of `apiserver_request_*` metrics.
    pub fn metric(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::List => "LIST",
            Verb::Watch => "WATCH",
            Verb::Create => "POST",
            Verb::Update => "PUT",
            Verb::Patch => "PATCH",
            Verb::Delete => "DELETE",
        }
    }

    fn is_write(self) -> bool {
        matches!(self, Verb::Create | Verb::Update | Verb::Patch | Verb::Delete)
    }
}

/// Which stages of a long-running request this slice writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stages {
    /// A short request: one ResponseComplete.
    Complete,
    /// Long-running: ResponseStarted and ResponseComplete, both from this slice.
    Both,
    /// Long-running, only the start (its end belongs to another slice).
    StartedOnly,
    /// Long-running, only the end.
    CompleteOnly,
}

/// One request, from which the emitter writes its event(s).
#[derive(Debug, Clone, Copy)]
struct Req<'a> {
    id: &'a Identity,
    user_json: Option<&'a str>,
    ip: Option<&'a str>,
    verb: Verb,
    res: Option<Resource>,
    /// Non-resource path (with `res` None).
    path: &'static str,
    namespace: Option<&'a str>,
    name: Option<&'a str>,
    sub: Option<&'static str>,
    query: &'a str,
    received: Micros,
    latency: Micros,
    code: u16,
    failure: Option<Failure<'a>>,
    breakdown: Option<Breakdown>,
    uid: Option<u128>,
    rv: Option<u64>,
    audit_id: u128,
    stages: Stages,
    extra: &'a [(&'static str, &'a str)],
    track: u8,
    /// Webhook called: (name, operation, call duration, failed).
    webhook: Option<(&'static str, &'static str, Micros, bool)>,
    /// APF queue wait, for the flow's wait histogram.
    apf_wait: Micros,
}

fn req<'a>(
    id: &'a Identity,
    verb: Verb,
    res: Resource,
    received: Micros,
    latency: Micros,
    audit_id: u128,
) -> Req<'a> {
    Req {
        id,
        user_json: None,
        ip: None,
        verb,
        res: Some(res),
        path: "",
        namespace: None,
        name: None,
        sub: None,
        query: "",
        received,
        latency,
        code: match verb {
            Verb::Create => 201,
            _ => 200,
        },
        failure: None,
        breakdown: None,
        uid: None,
        rv: None,
        audit_id,
        stages: Stages::Complete,
        extra: &[],
        track: 0,
        webhook: None,
        apf_wait: 0,
    }
}

/// A watch lane's schedule: watch `k` starts at `start + phase + k * period`.
#[derive(Debug, Clone, Copy)]
struct Lane {
    period: Micros,
    phase: Micros,
    /// The watches' `timeoutSeconds`, in microseconds.
    timeout: Micros,
}

fn lane(seed: u64, key: &[u64]) -> Lane {
    let mut words = vec![seed, 0x1A];
    words.extend_from_slice(key);
    let h = hash(&words);
    // client-go reflectors ask for a timeout between 5 and 10 minutes.
    let timeout = (300 + (h % 300) as Micros) * SEC;
    let phase = ((h >> 20) % timeout as u64) as Micros;
    // The server ends the watch at its timeout (up to 40 ms later, see `watch_events`) and the
    // reflector opens the next one at once: 50 ms after the timeout, the next watch begins.
    Lane { period: timeout + WATCH_RECONNECT, phase, timeout }
}

/// From one watch's start to the next one's on a lane, beyond the timeout.
const WATCH_RECONNECT: Micros = 50 * MS;

/// What a per-node watch lane watches.
#[derive(Debug, Clone, Copy)]
struct NodeWatch {
    client: NodeClient,
    res: Resource,
    /// `fieldSelector` on the node's own name (`metadata.name` or `spec.nodeName`).
    node_field: Option<&'static str>,
    /// Escaped `labelSelector`.
    label_selector: Option<&'static str>,
    /// For per-object watches (kubelet's ConfigMaps/Secrets): the object's name.
    object: Option<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NodeClient {
    Kubelet,
    KubeProxy,
    Cilium,
}

const PROXY_SELECTOR: &str =
    "%21service.kubernetes.io%2Fheadless%2C%21service.kubernetes.io%2Fservice-proxy-name";

const NODE_WATCHES: &[NodeWatch] = &[
    NodeWatch {
        client: NodeClient::Kubelet,
        res: res::NODES,
        node_field: Some("metadata.name"),
        label_selector: None,
        object: None,
    },
    NodeWatch {
        client: NodeClient::Kubelet,
        res: res::PODS,
        node_field: Some("spec.nodeName"),
        label_selector: None,
        object: None,
    },
    NodeWatch {
        client: NodeClient::Kubelet,
        res: res::SERVICES,
        node_field: None,
        label_selector: None,
        object: None,
    },
    NodeWatch {
        client: NodeClient::Kubelet,
        res: res::CSIDRIVERS,
        node_field: None,
        label_selector: None,
        object: None,
    },
    NodeWatch {
        client: NodeClient::Kubelet,
        res: res::RUNTIMECLASSES,
        node_field: None,
        label_selector: None,
        object: None,
    },
    NodeWatch {
        client: NodeClient::Kubelet,
        res: res::CONFIGMAPS,
        node_field: None,
        label_selector: None,
        object: Some("kube-root-ca.crt"),
    },
    NodeWatch {
        client: NodeClient::Kubelet,
        res: res::CONFIGMAPS,
        node_field: None,
        label_selector: None,
        object: Some("kube-root-ca.crt"),
    },
    NodeWatch {
        client: NodeClient::Kubelet,
        res: res::CONFIGMAPS,
        node_field: None,
        label_selector: None,
        object: Some("kube-root-ca.crt"),
    },
    NodeWatch {
        client: NodeClient::Kubelet,
        res: res::SECRETS,
        node_field: None,
        label_selector: None,
        object: Some("app-tls"),
    },
    NodeWatch {
        client: NodeClient::Kubelet,
        res: res::SECRETS,
        node_field: None,
        label_selector: None,
        object: Some("app-credentials"),
    },
    NodeWatch {
        client: NodeClient::Kubelet,
        res: res::CONFIGMAPS,
        node_field: None,
        label_selector: None,
        object: Some("app-config"),
    },
    NodeWatch {
        client: NodeClient::KubeProxy,
        res: res::SERVICES,
        node_field: None,
        label_selector: Some(PROXY_SELECTOR),
        object: None,
    },
    NodeWatch {
        client: NodeClient::KubeProxy,
        res: res::ENDPOINTSLICES,
        node_field: None,
        label_selector: Some(PROXY_SELECTOR),
        object: None,
    },
    NodeWatch {
        client: NodeClient::KubeProxy,
        res: res::NODES,
        node_field: Some("metadata.name"),
        label_selector: None,
        object: None,
    },
    NodeWatch {
        client: NodeClient::Cilium,
        res: res::CILIUMNODES,
        node_field: None,
        label_selector: None,
        object: None,
    },
    NodeWatch {
        client: NodeClient::Cilium,
        res: res::CILIUMENDPOINTS,
        node_field: None,
        label_selector: None,
        object: None,
    },
    NodeWatch {
        client: NodeClient::Cilium,
        res: res::CILIUMIDENTITIES,
        node_field: None,
        label_selector: None,
        object: None,
    },
    NodeWatch {
        client: NodeClient::Cilium,
        res: res::CILIUMNETWORKPOLICIES,
        node_field: None,
        label_selector: None,
        object: None,
    },
    NodeWatch {
        client: NodeClient::Cilium,
        res: res::CILIUMCLUSTERWIDENETWORKPOLICIES,
        node_field: None,
        label_selector: None,
        object: None,
    },
    NodeWatch {
        client: NodeClient::Cilium,
        res: res::SERVICES,
        node_field: None,
        label_selector: None,
        object: None,
    },
    NodeWatch {
        client: NodeClient::Cilium,
        res: res::ENDPOINTSLICES,
        node_field: None,
        label_selector: None,
        object: None,
    },
    NodeWatch {
        client: NodeClient::Cilium,
        res: res::NAMESPACES,
        node_field: None,
        label_selector: None,
        object: None,
    },
    NodeWatch {
        client: NodeClient::Cilium,
        res: res::PODS,
        node_field: Some("spec.nodeName"),
        label_selector: None,
        object: None,
    },
    NodeWatch {
        client: NodeClient::Cilium,
        res: res::NETWORKPOLICIES,
        node_field: None,
        label_selector: None,
        object: None,
    },
    NodeWatch {
        client: NodeClient::Cilium,
        res: res::NODES,
        node_field: Some("metadata.name"),
        label_selector: None,
        object: None,
    },
];

/// A cluster-wide watch of a controller or add-on.
#[derive(Debug, Clone, Copy)]
struct ClusterWatch {
    client: usize,
    res: Resource,
    namespace: Option<&'static str>,
}

/// Identities of the cluster's own components and add-ons.
#[derive(Debug, Clone)]
pub struct Identities {
    kubelet: Identity,
    kube_proxy: Identity,
    cilium: Identity,
    ama_logs: Identity,
    kcm_informers: Identity,
    kcm_leader: Identity,
    scheduler: Identity,
    scheduler_leader: Identity,
    apiserver: Identity,
    aks_service: Identity,
    controllers: Vec<Identity>,
    addons: Vec<Identity>,
    humans: Vec<Identity>,
}

/// Controller indices in `Identities::controllers`.
mod ctl {
    pub const REPLICASET: usize = 0;
    pub const DEPLOYMENT: usize = 1;
    pub const ENDPOINTSLICE: usize = 2;
    pub const ENDPOINT: usize = 3;
    pub const JOB: usize = 4;
    pub const CRONJOB: usize = 5;
    pub const TTL_AFTER_FINISHED: usize = 6;
    pub const GARBAGE_COLLECTOR: usize = 7;
    pub const HPA: usize = 8;
    pub const RESOURCEQUOTA: usize = 9;
    pub const POD_GC: usize = 10;
    pub const NAMES: [&str; 11] = [
        "replicaset-controller",
        "deployment-controller",
        "endpointslice-controller",
        "endpoint-controller",
        "job-controller",
        "cronjob-controller",
        "ttl-after-finished-controller",
        "generic-garbage-collector",
        "horizontal-pod-autoscaler",
        "resourcequota-controller",
        "pod-garbage-collector",
    ];
}

/// Add-on indices in `Identities::addons`.
mod addon {
    pub const COREDNS: usize = 0;
    pub const KUBE_STATE_METRICS: usize = 1;
    pub const PROMETHEUS: usize = 2;
    pub const METRICS_SERVER: usize = 3;
    pub const INGRESS_NGINX: usize = 4;
    pub const CERT_MANAGER: usize = 5;
    pub const CLUSTER_AUTOSCALER: usize = 6;
    pub const ARGOCD: usize = 7;
}

impl Identities {
    fn new(seed: u64, cluster: &Cluster) -> Identities {
        let v = &cluster.version;
        let node_flow = ("system-nodes", "system");
        let kubelet = user("system:node:", &[], v.component_agent("kubelet"), String::new(), "", node_flow);
        let kcm = |name: &str| {
            let mut id = service_account(
                seed,
                "kube-system",
                name,
                format!(
                    "{}/system:serviceaccount:kube-system:{name}",
                    v.component_agent("kube-controller-manager")
                ),
                "172.31.22.15".to_owned(),
                &format!("system:controller:{name}"),
            );
            id.flow = ("kube-system-service-accounts", "workload-high");
            if name == "endpointslice-controller" || name == "endpoint-controller" {
                id.flow = ("endpoint-controller", "workload-high");
            }
            id
        };
        let addon = |ns: &str, name: &str, ua: &str, ip: &str| {
            service_account(seed, ns, name, ua.to_owned(), ip.to_owned(), name)
        };
        let human = |name: &str, ua: String, ip: &str| {
            user(
                name,
                &["platform-admins", "system:authenticated"],
                ua,
                ip.to_owned(),
                "RBAC: allowed by ClusterRoleBinding \"platform-admins\" of ClusterRole \"cluster-admin\" to Group \"platform-admins\"",
                ("global-default", "global-default"),
            )
        };
        Identities {
            kubelet,
            kube_proxy: {
                let mut id = addon("kube-system", "kube-proxy", &v.component_agent("kube-proxy"), "");
                id.flow = ("system-nodes", "system");
                id
            },
            cilium: addon(
                "kube-system",
                "cilium",
                "cilium-agent/v0.0.0 (linux/amd64) kubernetes/$Format",
                "",
            ),
            ama_logs: addon(
                "kube-system",
                "ama-logs",
                "ama-logs/v0.0.0 (linux/amd64) kubernetes/$Format",
                "",
            ),
            kcm_informers: user(
                "system:kube-controller-manager",
                &["system:authenticated"],
                format!("{}/shared-informers", v.component_agent("kube-controller-manager")),
                "172.31.22.15".to_owned(),
                "RBAC: allowed by ClusterRoleBinding \"system:kube-controller-manager\" of ClusterRole \"system:kube-controller-manager\" to User \"system:kube-controller-manager\"",
                ("kube-controller-manager", "workload-high"),
            ),
            kcm_leader: user(
                "system:kube-controller-manager",
                &["system:authenticated"],
                format!("{}/leader-election", v.component_agent("kube-controller-manager")),
                "172.31.22.15".to_owned(),
                "RBAC: allowed by ClusterRoleBinding \"system:kube-controller-manager\" of ClusterRole \"system:kube-controller-manager\" to User \"system:kube-controller-manager\"",
                ("system-leader-election", "leader-election"),
            ),
            scheduler: user(
                "system:kube-scheduler",
                &["system:authenticated"],
                format!("{}/scheduler", v.component_agent("kube-scheduler")),
                "172.31.22.16".to_owned(),
                "RBAC: allowed by ClusterRoleBinding \"system:kube-scheduler\" of ClusterRole \"system:kube-scheduler\" to User \"system:kube-scheduler\"",
                ("kube-scheduler", "workload-high"),
            ),
            scheduler_leader: user(
                "system:kube-scheduler",
                &["system:authenticated"],
                format!("{}/leader-election", v.component_agent("kube-scheduler")),
                "172.31.22.16".to_owned(),
                "RBAC: allowed by ClusterRoleBinding \"system:kube-scheduler\" of ClusterRole \"system:kube-scheduler\" to User \"system:kube-scheduler\"",
                ("system-leader-election", "leader-election"),
            ),
            apiserver: user(
                "system:apiserver",
                &["system:authenticated"],
                v.component_agent("kube-apiserver"),
                "::1".to_owned(),
                "",
                ("exempt", "exempt"),
            ),
            aks_service: user(
                "aksService",
                &["system:masters", "system:authenticated"],
                "approver/v0.0.0 (linux/amd64) kubernetes/$Format/leader-election".to_owned(),
                "172.31.51.172".to_owned(),
                "",
                ("exempt", "exempt"),
            ),
            controllers: ctl::NAMES.iter().map(|n| kcm(n)).collect(),
            addons: vec![
                addon(
                    "kube-system",
                    "coredns",
                    "coredns/v0.0.0 (linux/amd64) kubernetes/$Format",
                    "10.244.0.12",
                ),
                addon(
                    "kube-system",
                    "kube-state-metrics",
                    "kube-state-metrics/v2.10.1 (linux/amd64) kubernetes/$Format",
                    "10.244.1.30",
                ),
                addon("monitoring", "prometheus-k8s", "Prometheus/2.48.1", "10.244.2.7"),
                addon(
                    "kube-system",
                    "metrics-server",
                    "metrics-server/v0.6.4 (linux/amd64) kubernetes/$Format",
                    "10.244.0.40",
                ),
                addon(
                    "ingress-nginx",
                    "ingress-nginx",
                    "nginx-ingress-controller/v1.9.5 (linux/amd64) ingress-nginx/f503c4bb5fa7d857ad29e94970eb550c2bc00b7c",
                    "10.244.4.18",
                ),
                addon(
                    "cert-manager",
                    "cert-manager",
                    "cert-manager-certificates-trigger/v1.13.3 (linux/amd64) cert-manager/3d3ee2a9c8d5e4bfb1bb2d4bd2d3d6b8c1c2a9e1",
                    "10.244.5.6",
                ),
                addon(
                    "kube-system",
                    "cluster-autoscaler",
                    "cluster-autoscaler/v1.29.0 (linux/amd64) kubernetes/$Format",
                    "172.31.22.17",
                ),
                addon(
                    "argocd",
                    "argocd-application-controller",
                    "argocd-application-controller/v2.9.3 (linux/amd64) kubernetes/$Format",
                    "10.244.6.25",
                ),
            ],
            humans: vec![
                human(
                    "alice@contoso.com",
                    "kubectl/v1.29.5 (darwin/arm64) kubernetes/59755ff".to_owned(),
                    "203.0.113.24",
                ),
                human(
                    "bob@contoso.com",
                    "kubectl/v1.28.3 (linux/amd64) kubernetes/a8a1abc".to_owned(),
                    "203.0.113.71",
                ),
                human(
                    "carol@contoso.com",
                    "kubectl/v1.30.0 (windows/amd64) kubernetes/7c48c2b".to_owned(),
                    "198.51.100.9",
                ),
                human(
                    "dave@contoso.com",
                    "k9s/v0.31.7 (darwin/arm64) kubernetes/$Format".to_owned(),
                    "198.51.100.33",
                ),
                human("erin@contoso.com", "Lens/6.5.2".to_owned(), "203.0.113.102"),
            ],
        }
    }
}

/// Everything the slice generators share (read-only).
#[derive(Debug)]
pub struct Ctx {
    /// The run's seed.
    pub seed: u64,
    /// The cluster.
    pub cluster: Cluster,
    /// First microsecond of the window.
    pub start: Micros,
    /// End of the window (exclusive).
    pub end: Micros,
    /// The two metric snapshots.
    pub snaps: [Micros; 2],
    /// Slice length.
    pub slice_len: Micros,
    /// Scenario parameters.
    pub scenarios: Scenarios,
    /// `apiserver_request_duration_seconds` bucket bounds of the version.
    pub buckets: &'static [f64],
    ids: Identities,
    node_lanes: Vec<Lane>,
    cluster_watches: Vec<ClusterWatch>,
    cluster_lanes: Vec<Lane>,
    /// Pre-escaped failure messages.
    messages: Messages,
    node_scale: f64,
}

#[derive(Debug)]
struct Messages {
    webhook: String,
    put_conflict: String,
    etcd_timeout: String,
    too_many: String,
    not_found_pod: String,
    metrics_unavailable: String,
    forbidden_secrets: String,
    conflict_generic: String,
}

/// `apiserver_request_duration_seconds` buckets before 1.23, 1.23–1.24, and from 1.25.
pub fn request_buckets(minor: u32) -> &'static [f64] {
    const OLD: &[f64] = &[
        0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 1.75, 2.0,
        2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0, 50.0, 60.0,
    ];
    const MID: &[f64] = &[
        0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0, 30.0,
        45.0, 60.0,
    ];
    const NEW: &[f64] = &[
        0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0,
        15.0, 20.0, 30.0, 45.0, 60.0,
    ];
    match minor {
        0..=22 => OLD,
        23..=24 => MID,
        _ => NEW,
    }
}

impl Ctx {
    /// Prepares the shared state of a run.
    pub fn new(seed: u64, cluster: Cluster, start: Micros, end: Micros, scenarios: Scenarios) -> Ctx {
        let ids = Identities::new(seed, &cluster);
        let mut node_lanes = Vec::with_capacity(cluster.nodes.len() * NODE_WATCHES.len());
        for n in 0..cluster.nodes.len() {
            for w in 0..NODE_WATCHES.len() {
                node_lanes.push(lane(seed, &[n as u64, w as u64]));
            }
        }
        let mut cluster_watches = Vec::new();
        let kcm_resources = [
            res::PODS,
            res::NODES,
            res::SERVICES,
            res::ENDPOINTS,
            res::ENDPOINTSLICES,
            res::DEPLOYMENTS,
            res::REPLICASETS,
            res::DAEMONSETS,
            res::STATEFULSETS,
            res::JOBS,
            res::CRONJOBS,
            res::NAMESPACES,
            res::SERVICEACCOUNTS,
            res::SECRETS,
            res::CONFIGMAPS,
            res::PVCS,
            res::PVS,
            res::HPAS,
            res::CSINODES,
            res::LEASES,
        ];
        // Client indices: 0 KCM informers, 1 scheduler, 2.. add-ons.
        for r in kcm_resources {
            cluster_watches.push(ClusterWatch { client: 0, res: r, namespace: None });
        }
        for r in [
            res::PODS,
            res::NODES,
            res::PVS,
            res::PVCS,
            res::CSINODES,
            res::SERVICES,
            res::REPLICASETS,
            res::STATEFULSETS,
        ] {
            cluster_watches.push(ClusterWatch { client: 1, res: r, namespace: None });
        }
        let addon_watches: [(usize, &[Resource], usize); 8] = [
            (addon::COREDNS, &[res::SERVICES, res::ENDPOINTSLICES, res::NAMESPACES], 12),
            (addon::KUBE_STATE_METRICS, &kcm_resources, 1),
            (addon::PROMETHEUS, &[res::PODS, res::SERVICES, res::ENDPOINTS, res::NODES], 2),
            (addon::METRICS_SERVER, &[res::NODES, res::PODS], 2),
            (
                addon::INGRESS_NGINX,
                &[res::INGRESSES, res::SERVICES, res::ENDPOINTSLICES, res::SECRETS, res::CONFIGMAPS],
                3,
            ),
            (addon::CERT_MANAGER, &[res::CERTIFICATES, res::SECRETS, res::INGRESSES], 1),
            (
                addon::CLUSTER_AUTOSCALER,
                &[
                    res::PODS,
                    res::NODES,
                    res::PVCS,
                    res::PVS,
                    res::REPLICASETS,
                    res::STATEFULSETS,
                    res::JOBS,
                    res::DAEMONSETS,
                ],
                1,
            ),
            (
                addon::ARGOCD,
                &[
                    res::DEPLOYMENTS,
                    res::SERVICES,
                    res::CONFIGMAPS,
                    res::SECRETS,
                    res::INGRESSES,
                    res::HPAS,
                    res::CRONJOBS,
                ],
                1,
            ),
        ];
        for (client, resources, replicas) in addon_watches {
            for _ in 0..replicas {
                for r in resources {
                    cluster_watches.push(ClusterWatch { client: client + 2, res: *r, namespace: None });
                }
            }
        }
        let cluster_lanes = (0..cluster_watches.len()).map(|i| lane(seed, &[u64::MAX, i as u64])).collect();
        let esc = crate::emit::escape;
        let messages = Messages {
            webhook: String::new(),
            put_conflict: String::new(),
            etcd_timeout: esc("etcdserver: request timed out"),
            too_many: esc("Too many requests, please try again later."),
            not_found_pod: String::new(),
            metrics_unavailable: esc(
                "the server is currently unable to handle the request (get pods.metrics.k8s.io)",
            ),
            forbidden_secrets: String::new(),
            conflict_generic: String::new(),
        };
        let buckets = request_buckets(cluster.version.minor);
        let node_scale = cluster.nodes.len() as f64 / 5000.0;
        let window = end - start;
        let gap = (15 * 60 * SEC).min(window / 2);
        let mut ctx = Ctx {
            seed,
            cluster,
            start,
            end,
            snaps: [end - gap, end],
            slice_len: 10 * SEC,
            scenarios,
            buckets,
            ids,
            node_lanes,
            cluster_watches,
            cluster_lanes,
            messages,
            node_scale,
        };
        if let Some(w) = &ctx.scenarios.webhook_outage {
            ctx.messages.webhook = esc(&format!(
                "Internal error occurred: failed calling webhook \"{}\": failed to call webhook: Post \"{}\": context deadline exceeded",
                w.webhook, w.url
            ));
        }
        if let Some(p) = &ctx.scenarios.put_storm {
            ctx.messages.put_conflict = esc(&format!(
                "Operation cannot be fulfilled on configmaps \"{}\": the object has been modified; please apply your changes to the latest version and try again",
                p.name
            ));
        }
        ctx.messages.not_found_pod = esc("pods \"web-7c9d8f6b5-x2x4q\" not found");
        ctx.messages.forbidden_secrets = esc(
            "secrets is forbidden: User \"erin@contoso.com\" cannot list resource \"secrets\" in API group \"\" in the namespace \"payments\"",
        );
        ctx.messages.conflict_generic = esc(
            "Operation cannot be fulfilled on endpointslices.discovery.k8s.io \"checkout-api-7xk2p\": the object has been modified; please apply your changes to the latest version and try again",
        );
        ctx
    }

    /// Number of slices in the window.
    pub fn slices(&self) -> usize {
        ((self.end - self.start + self.slice_len - 1) / self.slice_len).max(0) as usize
    }

    /// The apiserver pod that serves a client IP (clients keep one HTTP/2 connection).
    pub fn apiserver_of(&self, ip: &str) -> u8 {
        (crate::cluster::str_hash(ip) % self.cluster.apiserver_pods.len().max(1) as u64) as u8
    }
}

/// One event of a slice, for sorting.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// Stage timestamp (the order the log is written in).
    pub time: Micros,
    /// Emission order, to break ties deterministically.
    pub seq: u32,
    /// Offset in the slice buffer.
    pub offset: u32,
    /// Length (without newline).
    pub len: u32,
    /// Which apiserver wrote it.
    pub apiserver: u8,
}

/// A generated slice: event bytes, their order, and what they add up to.
#[derive(Debug, Default)]
pub struct SliceOut {
    /// Concatenated event JSON (unordered).
    pub buf: Vec<u8>,
    /// Events, sorted by time.
    pub entries: Vec<Entry>,
    /// Counters.
    pub stats: Stats,
}

struct Gen<'c> {
    ctx: &'c Ctx,
    rng: Rng,
    a: Micros,
    b: Micros,
    out: SliceOut,
    uri: String,
    scratch: String,
    seq: u32,
}

fn ms(rng: &mut Rng, median_ms: f64, sigma: f64) -> Micros {
    (rng.lognormal(median_ms * 1000.0, sigma) as Micros).max(120)
}

/// Generates slice `index` of the run.
pub fn generate_slice(ctx: &Ctx, index: usize) -> SliceOut {
    let a = ctx.start + index as Micros * ctx.slice_len;
    let b = (a + ctx.slice_len).min(ctx.end);
    let mut g = Gen {
        ctx,
        rng: Rng::new(hash(&[ctx.seed, 0x51, index as u64])),
        a,
        b,
        out: SliceOut {
            buf: Vec::with_capacity(
                ((b - a) / SEC) as usize * 2_600_000 / 1_000 * ctx.cluster.nodes.len().max(200) / 5,
            ),
            ..SliceOut::default()
        },
        uri: String::with_capacity(256),
        scratch: String::with_capacity(128),
        seq: 0,
    };
    g.node_periodic();
    g.node_watches();
    g.cluster_watches();
    g.node_poisson();
    g.controllers();
    g.addons_and_humans();
    g.scenarios();
    let mut out = g.out;
    out.entries.sort_unstable_by_key(|e| (e.time, e.seq));
    out
}

impl<'c> Gen<'c> {
    /// Occurrences of a periodic task with `period` and `phase` inside this slice.
    fn grid(&self, period: Micros, phase: Micros) -> impl Iterator<Item = (i64, Micros)> + use<> {
        let base = self.ctx.start + phase;
        let first = (self.a - base + period - 1).div_euclid(period);
        let last = (self.b - base + period - 1).div_euclid(period);
        (first..last).map(move |k| (k, base + k * period))
    }

    fn poisson_times(&mut self, per_hour: f64) -> Vec<Micros> {
        let span = (self.b - self.a) as f64 / SEC as f64;
        let n = self.rng.poisson(per_hour / 3600.0 * span);
        (0..n).map(|_| self.a + self.rng.below((self.b - self.a) as u64) as Micros).collect()
    }

    fn id(&mut self) -> u128 {
        self.rng.u128()
    }

    /// Writes the request's events and counts it.
    fn emit(&mut self, r: &Req<'_>) {
        let mut uri = std::mem::take(&mut self.uri);
        self.emit_with(r, &mut uri);
        self.uri = uri;
    }

    fn emit_with(&mut self, r: &Req<'_>, uri: &mut String) {
        let ctx = self.ctx;
        uri.clear();
        if let Some(res) = &r.res {
            res.push_prefix(uri);
            if let (true, Some(ns)) = (res.namespaced, r.namespace) {
                uri.push_str("/namespaces/");
                uri.push_str(ns);
            }
            uri.push('/');
            uri.push_str(res.name);
            // The API server takes a create on the collection, the name in the body (objectRef keeps
            // it); only a subresource's create (`pods/NAME/binding`, `…/exec`, `…/token`) names the
            // object in its path.
            let creates_into_collection = r.verb == Verb::Create && r.sub.is_none();
            if let (Some(name), false) = (r.name, creates_into_collection) {
                uri.push('/');
                uri.push_str(name);
            }
            if let Some(sub) = r.sub {
                uri.push('/');
                uri.push_str(sub);
            }
        } else {
            uri.push_str(r.path);
        }
        uri.push_str(r.query);
        let ip = r.ip.unwrap_or(&r.id.source_ip);
        let complete = r.received + r.latency;
        let total_nanos = r.latency as u64 * 1000;
        let from_cache = lists_from_watch_cache(ctx.cluster.version.minor, r);
        let breakdown = r
            .breakdown
            .or_else(|| {
                (r.latency > 500 * MS && r.stages == Stages::Complete)
                    .then(|| default_breakdown(r, total_nanos))
            })
            .map(|b| if from_cache { served_from_watch_cache(b) } else { b });
        let mut parts = EventParts {
            audit_id: r.audit_id,
            level: "Metadata",
            stage: Stage::ResponseComplete,
            uri,
            verb: r.verb.name(),
            user_json: r.user_json.unwrap_or(&r.id.user_json),
            source_ip: ip,
            user_agent: Some(&r.id.user_agent),
            object_ref: r.res.map(|res| ObjRef {
                resource: res.name,
                namespace: if res.namespaced { r.namespace } else { None },
                name: r.name,
                uid: r.uid,
                api_group: res.group,
                api_version: res.version,
                resource_version: r.rv,
                subresource: r.sub,
            }),
            code: r.code,
            failure: r.failure,
            received: r.received,
            stage_time: complete,
            breakdown,
            total_nanos,
            decision: if r.code == 403 { "forbid" } else { "allow" },
            reason_escaped: &r.id.reason_escaped,
            extra_annotations: r.extra,
        };
        let apiserver = ctx.apiserver_of(ip);
        let (started, completed) = match r.stages {
            Stages::Complete => (false, true),
            Stages::Both => (true, true),
            Stages::StartedOnly => (true, false),
            Stages::CompleteOnly => (false, true),
        };
        if started {
            let t = r.received + (2 * MS).min(r.latency);
            if t >= ctx.start && t < ctx.end {
                parts.stage = Stage::ResponseStarted;
                parts.stage_time = t;
                parts.breakdown = None;
                self.push(&parts, t, apiserver);
            }
        }
        if completed && complete >= ctx.start && complete < ctx.end {
            parts.stage = Stage::ResponseComplete;
            parts.stage_time = complete;
            parts.breakdown = breakdown;
            self.push(&parts, complete, apiserver);
            self.count(r, complete);
        }
    }

    fn push(&mut self, parts: &EventParts<'_>, time: Micros, apiserver: u8) {
        let offset = self.out.buf.len();
        push_event(&mut self.out.buf, parts);
        let len = self.out.buf.len() - offset;
        self.out.entries.push(Entry {
            time,
            seq: self.seq,
            offset: offset as u32,
            len: len as u32,
            apiserver,
        });
        self.seq += 1;
        self.out.stats.events += 1;
    }

    /// Counts a completed request into the slice's stats.
    fn count(&mut self, r: &Req<'_>, at: Micros) {
        let ctx = self.ctx;
        let s = &mut self.out.stats;
        s.requests += 1;
        *s.verbs.entry(r.verb.name()).or_insert(0) += 1;
        if r.track != 0 {
            let t = s.trackers.entry(r.track).or_default();
            t.requests += 1;
            *t.codes.entry((r.verb.name(), r.code)).or_insert(0) += 1;
            t.latencies.push(r.latency);
            if at > ctx.snaps[0] && at <= ctx.snaps[1] {
                t.between_snapshots += 1;
            }
            if r.code == 201 {
                t.created[usize::from(at > ctx.snaps[0])] += 1;
            }
        }
        if at > ctx.snaps[1] {
            return;
        }
        let w = usize::from(at > ctx.snaps[0]);
        let key = match &r.res {
            Some(res) => SeriesKey {
                verb: if r.verb == Verb::Create && r.sub.is_some() { "POST" } else { r.verb.metric() },
                group: res.group.unwrap_or(""),
                version: res.version,
                resource: res.name,
                subresource: r.sub.unwrap_or(""),
                scope: if r.name.is_some() {
                    "resource"
                } else if res.namespaced && r.namespace.is_some() {
                    "namespace"
                } else {
                    "cluster"
                },
            },
            None => SeriesKey {
                verb: "GET",
                group: "",
                version: "",
                resource: "",
                subresource: r.path,
                scope: "",
            },
        };
        // The SLI leaves out admission webhook and APF queue time, and long-running requests.
        let sli = (r.verb != Verb::Watch).then(|| {
            let webhook = r.webhook.map_or(0, |(_, _, dur, _)| dur);
            (r.latency - webhook - r.apf_wait).max(0)
        });
        s.record_latency(w, key, ctx.buckets, r.latency, r.code, sli);
        if let Some(res) = &r.res {
            let delta = match (r.verb, r.code, r.sub) {
                (Verb::Create, 201, None) => 1,
                (Verb::Delete, 200, None) => -1,
                _ => 0,
            };
            if delta != 0 {
                *s.objects[w].entry(res.qualified()).or_insert(0) += delta;
            }
        }
        let flow = s.flows[w].entry(r.id.flow).or_default();
        if r.code == 429 {
            flow.rejected += 1;
        } else {
            flow.dispatched += 1;
            flow.wait.add(APF_WAIT_BOUNDS, r.apf_wait);
        }
        if let Some((name, op, dur, failed)) = r.webhook {
            let h = s.webhooks[w].entry(name).or_default();
            h.calls.entry((op, failed)).or_default().add(WEBHOOK_BOUNDS, dur);
            if failed {
                *h.rejections.entry(op).or_insert(0) += 1;
            }
        }
    }
}

/// `apiserver_flowcontrol_request_wait_duration_seconds` buckets.
pub const APF_WAIT_BOUNDS: &[f64] = &[0.0, 0.005, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0];
/// `apiserver_admission_webhook_admission_duration_seconds` buckets.
pub const WEBHOOK_BOUNDS: &[f64] = &[0.005, 0.025, 0.1, 0.5, 1.0, 2.5, 10.0, 25.0];

/// Where a slow request's time went when nothing more specific is known: reads spend it in
/// etcd and serialization, writes in etcd.
fn default_breakdown(r: &Req<'_>, total: u64) -> Breakdown {
    let part = |f: f64| (total as f64 * f) as u64;
    if r.verb.is_write() {
        Breakdown {
            etcd: part(0.86),
            apf_queue_wait: part(0.004),
            serialize_response_object: part(0.01),
            response_write: part(0.002),
            ..Breakdown::default()
        }
    } else {
        Breakdown {
            etcd: part(0.55),
            serialize_response_object: part(0.28),
            response_write: part(0.12),
            apf_queue_wait: part(0.003),
            ..Breakdown::default()
        }
    }
}

/// Whether the API server of Kubernetes 1.`minor` serves LIST `r` from its watch cache as a
/// consistent read: a LIST without `resourceVersion` from 1.31, where ConsistentListFromCache is
/// beta and on by default (KEP-2340). Before, such a LIST is a quorum read of etcd.
fn lists_from_watch_cache(minor: u32, r: &Req<'_>) -> bool {
    minor >= 31 && r.verb == Verb::List && !r.query.contains("resourceVersion=")
}

/// `b` for a consistent LIST served from the watch cache: etcd only confirms the current
/// revision (a few milliseconds at most), and the time `b` gave etcd goes to selecting and
/// serialising the objects; queue wait and webhooks stay (re-review s26: the simulator put 58% of
/// such LISTs' time in etcd on 1.33, and the report then contradicted itself).
fn served_from_watch_cache(mut b: Breakdown) -> Breakdown {
    let etcd = b.etcd.min(3_000_000);
    b.serialize_response_object += b.etcd - etcd;
    b.etcd = etcd;
    b
}

/// Appends a watch query: `?allowWatchBookmarks=true&…&timeout=…&timeoutSeconds=…&watch=true`.
fn watch_query(
    out: &mut String,
    field: Option<(&str, &str)>,
    label: Option<&str>,
    rv: u64,
    timeout_secs: u64,
) {
    out.push_str("?allowWatchBookmarks=true");
    if let Some((key, value)) = field {
        out.push_str("&fieldSelector=");
        out.push_str(key);
        out.push_str("%3D");
        out.push_str(value);
    }
    if let Some(l) = label {
        out.push_str("&labelSelector=");
        out.push_str(l);
    }
    out.push_str("&resourceVersion=");
    let mut digits = Vec::new();
    push_u64(&mut digits, rv);
    out.push_str(std::str::from_utf8(&digits).unwrap_or("0"));
    out.push_str("&timeout=");
    let mut d = Vec::new();
    push_go_duration(&mut d, timeout_secs * 1_000_000_000);
    out.push_str(std::str::from_utf8(&d).unwrap_or("0s"));
    out.push_str("&timeoutSeconds=");
    let mut t = Vec::new();
    push_u64(&mut t, timeout_secs);
    out.push_str(std::str::from_utf8(&t).unwrap_or("0"));
    out.push_str("&watch=true");
}

/// How long etcd takes to answer `etcdserver: request timed out`: its request timeout, 5 s plus twice
/// the election timeout (`ServerConfig::ReqTimeout` in etcd's `server/config/config.go`: "5s for
/// queue waiting, computation and disk IO delay + 2 * election timeout for possible leader
/// election"), 7 s with the default `--election-timeout` of 1,000 ms. The error is the answer to a
/// write that waited that long, never a quick one.
const ETCD_REQUEST_TIMEOUT: Micros = 7 * SEC;

/// A resource version that grows with time, as etcd's revision does.
fn revision(ctx: &Ctx, at: Micros) -> u64 {
    let base = 1_800_000_000u64 + (hash(&[ctx.seed, 0x7E]) % 100_000_000);
    base + ((at - ctx.start).max(0) as u64 / 1_000) * 3
}

impl Gen<'_> {
    /// A node's agent calling `verb` on the object named after the node, every period at a
    /// phase (`(period, phase)`), latencies log-normal around `median_ms`; `edit` adds what
    /// else the request carries at time `t`.
    #[allow(clippy::too_many_arguments)]
    fn node_object_calls(
        &mut self,
        node: &Node,
        who: &Identity,
        verb: Verb,
        resource: Resource,
        (period, phase): (Micros, Micros),
        median_ms: f64,
        edit: impl Fn(&mut Req<'_>, Micros),
    ) {
        for (_, t) in self.grid(period, phase) {
            let lat = ms(&mut self.rng, median_ms, 0.5);
            let id = self.id();
            let mut r = req(who, verb, resource, t, lat, id);
            r.ip = Some(&node.ip);
            r.name = Some(&node.name);
            edit(&mut r, t);
            self.emit(&r);
        }
    }

    fn node_periodic(&mut self) {
        let ctx = self.ctx;
        let seed = ctx.seed;
        let etcd_slow = ctx.scenarios.etcd_slow_disk.clone();
        let mut q = String::with_capacity(96);
        for (n, node) in ctx.cluster.nodes.iter().enumerate() {
            let nh = hash(&[seed, 0x2B, n as u64]);
            // Lease renewal every 10 s.
            for (k, t) in self.grid(10 * SEC, (nh % 10_000_000) as Micros) {
                let jitter = self.rng.below(40_000) as Micros;
                let mut lat = ms(&mut self.rng, 4.0, 0.45);
                let mut code = 200;
                let mut failure = None;
                let mut breakdown = None;
                if let Some(e) = &etcd_slow {
                    lat = (lat as f64 * e.write_factor * self.rng.lognormal(1.0, 0.4)) as Micros;
                    if self.rng.chance(e.timeout_ratio) {
                        code = 500;
                        failure = Some(Failure { message_escaped: &ctx.messages.etcd_timeout, reason: "" });
                        let etcd = ETCD_REQUEST_TIMEOUT + self.rng.below(20_000) as Micros;
                        lat = etcd + ms(&mut self.rng, 0.4, 0.3);
                        breakdown = Some(Breakdown {
                            etcd: etcd as u64 * 1000,
                            apf_queue_wait: 6_000,
                            response_write: 20_000,
                            ..Breakdown::default()
                        });
                    }
                }
                let id = self.id();
                let mut r = req(&ctx.ids.kubelet, Verb::Update, res::LEASES, t + jitter, lat, id);
                r.user_json = Some(&node.kubelet_user_json);
                r.ip = Some(&node.ip);
                r.namespace = Some("kube-node-lease");
                r.name = Some(&node.name);
                r.query = "?timeout=10s";
                r.uid = Some(u128::from(nh) << 64 | u128::from(hash(&[nh, 1])));
                r.rv = Some(revision(ctx, t) + (k as u64 % 7));
                r.code = code;
                r.failure = failure;
                r.breakdown = breakdown;
                if etcd_slow.is_some() {
                    r.track = track::ETCD_WRITES;
                }
                self.emit(&r);
            }
            // Node status GET from the watch cache every 10 s.
            for (_, t) in self.grid(10 * SEC, ((nh >> 24) % 10_000_000) as Micros) {
                let lat = ms(&mut self.rng, 1.2, 0.5);
                let id = self.id();
                let mut r = req(
                    &ctx.ids.kubelet,
                    Verb::Get,
                    res::NODES,
                    t + self.rng.below(30_000) as Micros,
                    lat,
                    id,
                );
                r.user_json = Some(&node.kubelet_user_json);
                r.ip = Some(&node.ip);
                r.name = Some(&node.name);
                r.query = "?resourceVersion=0&timeout=10s";
                self.emit(&r);
            }
            // Node status patch every 5 minutes.
            for (_, t) in self.grid(300 * SEC, ((nh >> 8) % 300_000_000) as Micros) {
                let mut lat = ms(&mut self.rng, 9.0, 0.5);
                if let Some(e) = &etcd_slow {
                    lat = (lat as f64 * e.write_factor) as Micros;
                }
                let id = self.id();
                let mut r = req(&ctx.ids.kubelet, Verb::Patch, res::NODES, t, lat, id);
                r.user_json = Some(&node.kubelet_user_json);
                r.ip = Some(&node.ip);
                r.name = Some(&node.name);
                r.sub = Some("status");
                r.query = "?timeout=10s";
                r.uid = Some(u128::from(nh) << 64 | 0x77);
                self.emit(&r);
            }
            // The monitoring agent lists its node's pods every 30 s and reads the node every 60 s.
            q.clear();
            q.push_str("?fieldSelector=spec.nodeName%3D");
            q.push_str(&node.name);
            q.push_str("&resourceVersion=0");
            for (_, t) in self.grid(30 * SEC, ((nh >> 12) % 30_000_000) as Micros) {
                let lat = ms(&mut self.rng, 28.0, 0.4);
                let id = self.id();
                let mut r = req(&ctx.ids.ama_logs, Verb::List, res::PODS, t, lat, id);
                r.ip = Some(&node.ip);
                r.query = &q;
                self.emit(&r);
            }
            let every = |period_s: i64, shift: u32| {
                (period_s * SEC, ((nh >> shift) % (period_s * SEC) as u64) as Micros)
            };
            self.node_object_calls(
                node,
                &ctx.ids.ama_logs,
                Verb::Get,
                res::NODES,
                every(60, 16),
                2.5,
                |_, _| {},
            );
            // Cilium reads its CiliumNode every 60 s and updates its status every 5 minutes.
            self.node_object_calls(
                node,
                &ctx.ids.cilium,
                Verb::Get,
                res::CILIUMNODES,
                every(60, 28),
                2.8,
                |_, _| {},
            );
            self.node_object_calls(
                node,
                &ctx.ids.cilium,
                Verb::Update,
                res::CILIUMNODES,
                every(300, 32),
                8.0,
                |r, t| {
                    r.sub = Some("status");
                    r.uid = Some(u128::from(nh) << 64 | 0xC1);
                    r.rv = Some(revision(ctx, t));
                },
            );
        }
    }

    fn watch_identity(ctx: &Ctx, client: NodeClient) -> &Identity {
        match client {
            NodeClient::Kubelet => &ctx.ids.kubelet,
            NodeClient::KubeProxy => &ctx.ids.kube_proxy,
            NodeClient::Cilium => &ctx.ids.cilium,
        }
    }

    /// Emits the watch `k` of a lane: its start and/or its end when they fall in this slice.
    fn watch_events(&mut self, ln: Lane, key: u64, k: i64) -> Option<(Micros, Micros, Stages, u128, u64)> {
        let ctx = self.ctx;
        let begin = ctx.start + ln.phase + k * ln.period;
        let h = hash(&[ctx.seed, 0x3C, key, k as u64]);
        // The server ends a watch when its timeout has passed, never before (the watch's timer
        // fires, then the response ends); the client reconnects a few ms later.
        let latency = ln.timeout + (h % 40_000) as Micros;
        let end = begin + latency;
        let started_here = begin >= self.a && begin < self.b;
        let ended_here = end >= self.a && end < self.b;
        let stages = match (started_here, ended_here) {
            (true, true) => Stages::Both,
            (true, false) => Stages::StartedOnly,
            (false, true) => Stages::CompleteOnly,
            (false, false) => return None,
        };
        let audit_id = u128::from(h) << 64 | u128::from(hash(&[h, 2]));
        Some((begin, latency, stages, audit_id, (ln.timeout / SEC) as u64))
    }

    fn node_watches(&mut self) {
        let ctx = self.ctx;
        let mut q = String::with_capacity(160);
        let mut ns_buf = String::with_capacity(32);
        for (n, node) in ctx.cluster.nodes.iter().enumerate() {
            for (w, nw) in NODE_WATCHES.iter().enumerate() {
                let ln = ctx.node_lanes[n * NODE_WATCHES.len() + w];
                let key = (n * NODE_WATCHES.len() + w) as u64;
                // A lane's watches end in this slice or start in it: k is one of two values.
                let k_start = (self.a - ctx.start - ln.phase).div_euclid(ln.period);
                for k in [k_start - 1, k_start, k_start + 1] {
                    let Some((begin, latency, stages, audit_id, timeout)) = self.watch_events(ln, key, k)
                    else {
                        continue;
                    };
                    q.clear();
                    let field = nw
                        .node_field
                        .map(|f| (f, node.name.as_str()))
                        .or(nw.object.map(|o| ("metadata.name", o)));
                    watch_query(&mut q, field, nw.label_selector, revision(ctx, begin), timeout);
                    let id = Self::watch_identity(ctx, nw.client);
                    let mut r = req(id, Verb::Watch, nw.res, begin, latency, audit_id);
                    r.stages = stages;
                    r.ip = Some(&node.ip);
                    if nw.client == NodeClient::Kubelet {
                        r.user_json = Some(&node.kubelet_user_json);
                    }
                    if nw.object.is_some() {
                        ns_buf.clear();
                        let app = &ctx.cluster.apps[(hash(&[ctx.seed, n as u64, w as u64])
                            % ctx.cluster.apps.len() as u64)
                            as usize];
                        ns_buf.push_str(&app.namespace);
                        r.namespace = Some(&ns_buf);
                    }
                    r.query = &q;
                    self.emit(&r);
                }
            }
        }
    }

    fn cluster_watches(&mut self) {
        let ctx = self.ctx;
        let mut q = String::with_capacity(160);
        for (i, cw) in ctx.cluster_watches.iter().enumerate() {
            let ln = ctx.cluster_lanes[i];
            let key = (1u64 << 40) + i as u64;
            let k_start = (self.a - ctx.start - ln.phase).div_euclid(ln.period);
            for k in [k_start - 1, k_start, k_start + 1] {
                let Some((begin, latency, stages, audit_id, timeout)) = self.watch_events(ln, key, k) else {
                    continue;
                };
                q.clear();
                watch_query(&mut q, None, None, revision(ctx, begin), timeout);
                let id = match cw.client {
                    0 => &ctx.ids.kcm_informers,
                    1 => &ctx.ids.scheduler,
                    c => &ctx.ids.addons[c - 2],
                };
                let mut r = req(id, Verb::Watch, cw.res, begin, latency, audit_id);
                r.stages = stages;
                r.namespace = cw.namespace;
                r.query = &q;
                self.emit(&r);
            }
        }
    }

    /// Per-node work that comes with pods: status patches, token requests, events.
    fn node_poisson(&mut self) {
        let ctx = self.ctx;
        let nodes = ctx.cluster.nodes.len();
        if nodes == 0 {
            return;
        }
        let n = nodes as f64;
        let etcd_factor = ctx.scenarios.etcd_slow_disk.as_ref().map_or(1.0, |e| e.write_factor);
        let mut pod = String::with_capacity(64);
        // kubelet: pod status patches.
        for t in self.poisson_times(110.0 * n) {
            let (node, slot) = self.pick_pod_slot(nodes);
            pod.clear();
            let app = ctx.cluster.pod(ctx.seed, node, slot, &mut pod);
            let lat = (ms(&mut self.rng, 7.0, 0.5) as f64 * etcd_factor) as Micros;
            let id = self.id();
            let nd = &ctx.cluster.nodes[node];
            let mut r = req(&ctx.ids.kubelet, Verb::Patch, res::PODS, t, lat, id);
            r.user_json = Some(&nd.kubelet_user_json);
            r.ip = Some(&nd.ip);
            r.namespace = Some(&app.namespace);
            r.name = Some(&pod);
            r.sub = Some("status");
            r.uid = Some(self.rng.u128());
            self.emit(&r);
        }
        // kubelet: pod GETs (sync after a change); a few are already gone.
        for t in self.poisson_times(40.0 * n) {
            let (node, slot) = self.pick_pod_slot(nodes);
            pod.clear();
            let app = ctx.cluster.pod(ctx.seed, node, slot, &mut pod);
            let lat = ms(&mut self.rng, 2.5, 0.5);
            let id = self.id();
            let nd = &ctx.cluster.nodes[node];
            let mut r = req(&ctx.ids.kubelet, Verb::Get, res::PODS, t, lat, id);
            r.user_json = Some(&nd.kubelet_user_json);
            r.ip = Some(&nd.ip);
            r.namespace = Some(&app.namespace);
            r.name = Some(&pod);
            if self.rng.chance(0.01) {
                r.code = 404;
                r.failure =
                    Some(Failure { message_escaped: &ctx.messages.not_found_pod, reason: "NotFound" });
            }
            self.emit(&r);
        }
        // kubelet: projected service account tokens, renewed at 80% of their hour.
        for t in self.poisson_times(45.0 * n) {
            let (node, slot) = self.pick_pod_slot(nodes);
            pod.clear();
            let app = ctx.cluster.pod(ctx.seed, node, slot, &mut pod);
            let lat = ms(&mut self.rng, 3.5, 0.4);
            let id = self.id();
            let nd = &ctx.cluster.nodes[node];
            let mut r = req(&ctx.ids.kubelet, Verb::Create, res::SERVICEACCOUNTS, t, lat, id);
            r.user_json = Some(&nd.kubelet_user_json);
            r.ip = Some(&nd.ip);
            r.namespace = Some(&app.namespace);
            r.name = Some("default");
            r.sub = Some("token");
            self.emit(&r);
        }
        // kubelet: events.
        for t in self.poisson_times(20.0 * n) {
            let (node, slot) = self.pick_pod_slot(nodes);
            pod.clear();
            let app = ctx.cluster.pod(ctx.seed, node, slot, &mut pod);
            let lat = (ms(&mut self.rng, 4.0, 0.4) as f64 * etcd_factor.sqrt()) as Micros;
            let id = self.id();
            let nd = &ctx.cluster.nodes[node];
            let mut r = req(&ctx.ids.kubelet, Verb::Create, res::EVENTS, t, lat, id);
            r.user_json = Some(&nd.kubelet_user_json);
            r.ip = Some(&nd.ip);
            r.namespace = Some(&app.namespace);
            self.emit(&r);
        }
        // cilium: CiliumEndpoint updates as pods change.
        for t in self.poisson_times(30.0 * n) {
            let (node, slot) = self.pick_pod_slot(nodes);
            pod.clear();
            let app = ctx.cluster.pod(ctx.seed, node, slot, &mut pod);
            let lat = (ms(&mut self.rng, 6.0, 0.4) as f64 * etcd_factor) as Micros;
            let id = self.id();
            let nd = &ctx.cluster.nodes[node];
            let mut r = req(&ctx.ids.cilium, Verb::Update, res::CILIUMENDPOINTS, t, lat, id);
            r.ip = Some(&nd.ip);
            r.namespace = Some(&app.namespace);
            r.name = Some(&pod);
            r.sub = Some("status");
            r.uid = Some(self.rng.u128());
            r.rv = Some(revision(ctx, t));
            self.emit(&r);
        }
    }

    fn pick_pod_slot(&mut self, nodes: usize) -> (usize, u32) {
        let node = self.rng.below(nodes as u64) as usize;
        let slot = self.rng.below(u64::from(self.ctx.cluster.pods_per_node)) as u32;
        (node, slot)
    }

    /// A new pod name for an app: `<app>-<rs hash>-<5 random>`.
    fn new_pod_name(&mut self, out: &mut String) -> usize {
        let apps = &self.ctx.cluster.apps;
        let i = self.rng.below(apps.len() as u64) as usize;
        out.push_str(&apps[i].name);
        out.push('-');
        out.push_str(&apps[i].rs_hash);
        out.push('-');
        push_generated(out, self.rng.next_u64(), 5);
        i
    }

    fn controllers(&mut self) {
        let ctx = self.ctx;
        let s = ctx.node_scale;
        let etcd = ctx.scenarios.etcd_slow_disk.clone();
        let write_lat = |g: &mut Gen<'_>, median: f64| -> Micros {
            let l = ms(&mut g.rng, median, 0.5);
            match &etcd {
                Some(e) => (l as f64 * e.write_factor * g.rng.lognormal(1.0, 0.4)) as Micros,
                None => l,
            }
        };
        let ids = &ctx.ids;
        let mut pod = String::with_capacity(64);
        let outage = ctx.scenarios.webhook_outage.clone();
        let outage_start =
            outage.as_ref().map(|w| ctx.start + ((ctx.end - ctx.start) as f64 * w.starts_at) as Micros);
        let kyverno_extra: Vec<(&'static str, String)> = match &outage {
            Some(w) => vec![(
                "mutation.webhook.admission.k8s.io/round_0_index_0",
                crate::emit::escape(&format!(
                    "{{\"configuration\":\"{}\",\"webhook\":\"{}\",\"mutated\":false}}",
                    w.configuration, w.webhook
                )),
            )],
            None => Vec::new(),
        };
        let pod_security = [("pod-security.kubernetes.io/enforce-policy", "privileged:latest")];
        let kyverno_pairs: Vec<(&'static str, &str)> =
            kyverno_extra.iter().map(|(k, v)| (*k, v.as_str())).chain(pod_security.iter().copied()).collect();
        // ReplicaSet controller: pod creates (retried more often while the webhook fails).
        let create_rate = 15_000.0 * s;
        let creates = {
            let mut v = self.poisson_times(create_rate);
            if let (Some(w), Some(os)) = (&outage, outage_start) {
                let extra = self.poisson_times(create_rate * (w.retry_factor - 1.0));
                v.extend(extra.into_iter().filter(|t| *t >= os));
            }
            v
        };
        let mut pod_creates = Vec::with_capacity(creates.len());
        for t in creates {
            pod_creates.push((t, ctl::REPLICASET));
        }
        for t in self.poisson_times(700.0 * s) {
            pod_creates.push((t, ctl::JOB));
        }
        for (t, who) in pod_creates {
            pod.clear();
            let app = self.new_pod_name(&mut pod);
            let ns = ctx.cluster.apps[app].namespace.as_str();
            let id = self.id();
            let mut r = req(&ids.controllers[who], Verb::Create, res::PODS, t, 0, id);
            r.namespace = Some(ns);
            r.name = Some(&pod);
            let failing = matches!(outage_start, Some(os) if t >= os);
            if let (Some(w), true) = (&outage, failing) {
                let timeout = i64::from(w.timeout_seconds) * SEC;
                let call = timeout + self.rng.below(25_000) as Micros;
                r.latency = call + ms(&mut self.rng, 2.0, 0.3);
                r.code = 500;
                r.failure = Some(Failure { message_escaped: &ctx.messages.webhook, reason: "InternalError" });
                r.breakdown = Some(Breakdown {
                    mutating_webhook: call as u64 * 1000,
                    apf_queue_wait: 9_000,
                    ..Breakdown::default()
                });
                r.track = track::WEBHOOK;
                r.webhook = Some((w.webhook, "CREATE", call, true));
            } else if let Some(w) = &outage {
                let call = ms(&mut self.rng, 6.0, 0.4);
                r.latency = write_lat(self, 14.0) + call;
                r.extra = &kyverno_pairs;
                r.webhook = Some((w.webhook, "CREATE", call, false));
            } else {
                r.latency = write_lat(self, 14.0);
                r.extra = &pod_security;
            }
            self.emit(&r);
            if r.code == 201 {
                // The scheduler binds the new pod a little later.
                let id = self.id();
                let lat = write_lat(self, 6.0);
                let mut b = req(
                    &ids.scheduler,
                    Verb::Create,
                    res::PODS,
                    r.received + r.latency + ms(&mut self.rng, 40.0, 0.6),
                    lat,
                    id,
                );
                b.namespace = Some(ns);
                b.name = Some(&pod);
                b.sub = Some("binding");
                self.emit(&b);
            }
        }
        // ReplicaSet controller: pod deletes (scale-down, rollouts).
        for t in self.poisson_times(14_500.0 * s) {
            pod.clear();
            let app = self.new_pod_name(&mut pod);
            let lat = write_lat(self, 11.0);
            let id = self.id();
            let mut r = req(&ids.controllers[ctl::REPLICASET], Verb::Delete, res::PODS, t, lat, id);
            r.namespace = Some(&ctx.cluster.apps[app].namespace);
            r.name = Some(&pod);
            r.uid = Some(self.rng.u128());
            self.emit(&r);
        }
        // Status updates of workloads, with a few conflicts.
        let status_updates: [(usize, Resource, f64, f64); 6] = [
            (ctl::REPLICASET, res::REPLICASETS, 20_000.0, 0.01),
            (ctl::DEPLOYMENT, res::DEPLOYMENTS, 8_000.0, 0.02),
            (ctl::ENDPOINTSLICE, res::ENDPOINTSLICES, 62_000.0, 0.03),
            (ctl::ENDPOINT, res::ENDPOINTS, 30_000.0, 0.01),
            (ctl::JOB, res::JOBS, 2_000.0, 0.01),
            (ctl::CRONJOB, res::CRONJOBS, 600.0, 0.0),
        ];
        for (who, resource, rate, conflict) in status_updates {
            for t in self.poisson_times(rate * s) {
                let app = self.rng.below(ctx.cluster.apps.len() as u64) as usize;
                let a = &ctx.cluster.apps[app];
                pod.clear();
                pod.push_str(&a.name);
                if resource == res::REPLICASETS {
                    pod.push('-');
                    pod.push_str(&a.rs_hash);
                } else if resource == res::ENDPOINTSLICES {
                    pod.push('-');
                    push_generated(&mut pod, hash(&[ctx.seed, app as u64, 0xE5]), 5);
                }
                let lat = write_lat(self, 8.0);
                let id = self.id();
                let mut r = req(&ids.controllers[who], Verb::Update, resource, t, lat, id);
                r.namespace = Some(&a.namespace);
                r.name = Some(&pod);
                if matches!(resource, res::REPLICASETS | res::DEPLOYMENTS | res::JOBS | res::CRONJOBS) {
                    r.sub = Some("status");
                }
                r.uid = Some(u128::from(hash(&[ctx.seed, app as u64, who as u64])) << 64 | 0xAB);
                r.rv = Some(revision(ctx, t));
                if self.rng.chance(conflict) {
                    r.code = 409;
                    r.latency = ms(&mut self.rng, 3.0, 0.4);
                    r.failure =
                        Some(Failure { message_escaped: &ctx.messages.conflict_generic, reason: "Conflict" });
                }
                self.emit(&r);
            }
        }
        // CronJobs start Jobs; finished Jobs are cleaned up by TTL.
        for t in self.poisson_times(650.0 * s) {
            pod.clear();
            let app = self.new_pod_name(&mut pod);
            let lat = write_lat(self, 12.0);
            let id = self.id();
            let mut r = req(&ids.controllers[ctl::CRONJOB], Verb::Create, res::JOBS, t, lat, id);
            r.namespace = Some(&ctx.cluster.apps[app].namespace);
            r.name = Some(&pod);
            self.emit(&r);
        }
        for t in self.poisson_times(650.0 * s) {
            pod.clear();
            let app = self.new_pod_name(&mut pod);
            let lat = write_lat(self, 10.0);
            let id = self.id();
            let mut r = req(&ids.controllers[ctl::TTL_AFTER_FINISHED], Verb::Delete, res::JOBS, t, lat, id);
            r.namespace = Some(&ctx.cluster.apps[app].namespace);
            r.name = Some(&pod);
            r.uid = Some(self.rng.u128());
            self.emit(&r);
        }
        // The garbage collector deletes the finished Jobs' pods, and reads discovery.
        for t in self.poisson_times(700.0 * s) {
            pod.clear();
            let app = self.new_pod_name(&mut pod);
            let lat = write_lat(self, 10.0);
            let id = self.id();
            let mut r = req(&ids.controllers[ctl::GARBAGE_COLLECTOR], Verb::Delete, res::PODS, t, lat, id);
            r.namespace = Some(&ctx.cluster.apps[app].namespace);
            r.name = Some(&pod);
            if self.rng.chance(0.04) {
                r.code = 404;
                r.failure =
                    Some(Failure { message_escaped: &ctx.messages.not_found_pod, reason: "NotFound" });
            }
            self.emit(&r);
        }
        const DISCOVERY: [&str; 6] = [
            "/api",
            "/apis",
            "/apis/apps/v1",
            "/apis/batch/v1",
            "/apis/metrics.k8s.io/v1beta1",
            "/apis/cilium.io/v2",
        ];
        for t in self.poisson_times(1_500.0) {
            let path = DISCOVERY[self.rng.below(DISCOVERY.len() as u64) as usize];
            let lat = ms(&mut self.rng, 1.0, 0.5);
            let id = self.id();
            let mut r = req(&ids.controllers[ctl::GARBAGE_COLLECTOR], Verb::Get, res::PODS, t, lat, id);
            r.res = None;
            r.path = path;
            r.query = "?timeout=32s";
            self.emit(&r);
        }
        // The HPA reads pod metrics and scales every 15 s per autoscaler.
        for t in self.poisson_times(120_000.0 * s) {
            let app = self.rng.below(ctx.cluster.apps.len() as u64) as usize;
            let a = &ctx.cluster.apps[app];
            self.scratch.clear();
            self.scratch.push_str("?labelSelector=app%3D");
            self.scratch.push_str(&a.name);
            let lat = ms(&mut self.rng, 35.0, 0.5);
            let id = self.id();
            let scratch = std::mem::take(&mut self.scratch);
            let mut r = req(&ids.controllers[ctl::HPA], Verb::List, res::PODMETRICS, t, lat, id);
            r.namespace = Some(&a.namespace);
            r.query = &scratch;
            if self.rng.chance(0.00004) {
                r.code = 503;
                r.latency = ms(&mut self.rng, 30.0, 0.3);
                r.failure = Some(Failure {
                    message_escaped: &ctx.messages.metrics_unavailable,
                    reason: "ServiceUnavailable",
                });
            }
            self.emit(&r);
            let list_latency = r.latency;
            self.scratch = scratch;
            let lat = ms(&mut self.rng, 2.0, 0.5);
            let id = self.id();
            let mut g =
                req(&ids.controllers[ctl::HPA], Verb::Get, res::DEPLOYMENTS, t + list_latency + 300, lat, id);
            g.namespace = Some(&a.namespace);
            g.name = Some(&a.name);
            g.sub = Some("scale");
            self.emit(&g);
        }
        for t in self.poisson_times(9_000.0 * s) {
            let app = self.rng.below(ctx.cluster.apps.len() as u64) as usize;
            let a = &ctx.cluster.apps[app];
            let lat = write_lat(self, 7.0);
            let id = self.id();
            let mut r = req(&ids.controllers[ctl::HPA], Verb::Update, res::HPAS, t, lat, id);
            r.namespace = Some(&a.namespace);
            r.name = Some(&a.name);
            r.sub = Some("status");
            r.uid = Some(u128::from(hash(&[ctx.seed, app as u64, 0x4B])) << 64 | 0x4B);
            r.rv = Some(revision(ctx, t));
            self.emit(&r);
        }
        for t in self.poisson_times(2_400.0 * s.max(0.1)) {
            let app = self.rng.below(ctx.cluster.apps.len() as u64) as usize;
            let lat = write_lat(self, 7.0);
            let id = self.id();
            let mut r = req(
                &ids.controllers[ctl::RESOURCEQUOTA],
                Verb::Update,
                Resource { name: "resourcequotas", group: None, version: "v1", namespaced: true },
                t,
                lat,
                id,
            );
            r.namespace = Some(&ctx.cluster.apps[app].namespace);
            r.name = Some("compute-quota");
            r.sub = Some("status");
            r.rv = Some(revision(ctx, t));
            self.emit(&r);
        }
        // Scheduler events.
        for t in self.poisson_times(15_000.0 * s) {
            let app = self.rng.below(ctx.cluster.apps.len() as u64) as usize;
            let lat = write_lat(self, 4.0);
            let id = self.id();
            let mut r = req(
                &ids.scheduler,
                Verb::Create,
                Resource { name: "events", group: Some("events.k8s.io"), version: "v1", namespaced: true },
                t,
                lat,
                id,
            );
            r.namespace = Some(&ctx.cluster.apps[app].namespace);
            self.emit(&r);
        }
        // Leader election: every 2 s, whatever the cluster size.
        let leaders: [(&Identity, &str); 5] = [
            (&ids.kcm_leader, "kube-controller-manager"),
            (&ids.scheduler_leader, "kube-scheduler"),
            (&ids.aks_service, "kubelet-serving-csr-approver"),
            (&ids.aks_service, "cloud-controller-manager"),
            (&ids.addons[addon::CLUSTER_AUTOSCALER], "cluster-autoscaler"),
        ];
        for (i, (id, name)) in leaders.iter().enumerate() {
            let phase = (hash(&[ctx.seed, 0x1E, i as u64]) % 2_000_000) as Micros;
            for (_, t) in self.grid(2 * SEC, phase) {
                let lat = write_lat(self, 3.5);
                let aid = self.id();
                let mut r = req(id, Verb::Update, res::LEASES, t, lat, aid);
                r.namespace = Some("kube-system");
                r.name = Some(name);
                r.query = "?timeout=5s";
                r.uid = Some(u128::from(hash(&[ctx.seed, 0x1F, i as u64])) << 64 | 0x1F);
                r.rv = Some(revision(ctx, t));
                self.emit(&r);
            }
        }
        // Each apiserver renews its identity lease every 10 s.
        for (i, pod_name) in ctx.cluster.apiserver_pods.iter().enumerate() {
            let phase = (hash(&[ctx.seed, 0xA1, i as u64]) % 10_000_000) as Micros;
            self.scratch.clear();
            self.scratch.push_str("apiserver-");
            push_generated(&mut self.scratch, hash(&[ctx.seed, 0xA2, i as u64]), 26);
            let name = std::mem::take(&mut self.scratch);
            let _ = pod_name;
            for (_, t) in self.grid(10 * SEC, phase) {
                let lat = write_lat(self, 3.0);
                let aid = self.id();
                let mut r = req(&ids.apiserver, Verb::Update, res::LEASES, t, lat, aid);
                r.namespace = Some("kube-system");
                r.name = Some(&name);
                r.query = "?timeout=10s";
                r.rv = Some(revision(ctx, t));
                self.emit(&r);
            }
            self.scratch = name;
        }
    }

    fn addons_and_humans(&mut self) {
        let ctx = self.ctx;
        let ids = &ctx.ids;
        let s = ctx.node_scale.max(0.05);
        // Prometheus scrapes each apiserver's /metrics every 30 s.
        for t in self.poisson_times(360.0) {
            let lat = ms(&mut self.rng, 45.0, 0.3);
            let id = self.id();
            let mut r = req(&ids.addons[addon::PROMETHEUS], Verb::Get, res::PODS, t, lat, id);
            r.res = None;
            r.path = "/metrics";
            self.emit(&r);
        }
        // The cluster autoscaler lists pods and nodes from the cache every 10 s.
        for (_, t) in self.grid(10 * SEC, 3_300_000) {
            for (i, resource) in [res::PODS, res::NODES].into_iter().enumerate() {
                let lat = ms(&mut self.rng, 60.0 * (1.0 + ctx.node_scale), 0.3);
                let id = self.id();
                let mut r = req(
                    &ids.addons[addon::CLUSTER_AUTOSCALER],
                    Verb::List,
                    resource,
                    t + i as Micros * 1000,
                    lat,
                    id,
                );
                r.query = "?resourceVersion=0";
                self.emit(&r);
            }
        }
        // Argo CD reconciles applications.
        for t in self.poisson_times(4_000.0 * s) {
            let app = self.rng.below(ctx.cluster.apps.len() as u64) as usize;
            let a = &ctx.cluster.apps[app];
            let patch = self.rng.chance(0.08);
            let lat = if patch { ms(&mut self.rng, 12.0, 0.5) } else { ms(&mut self.rng, 2.0, 0.5) };
            let id = self.id();
            let mut r = req(
                &ids.addons[addon::ARGOCD],
                if patch { Verb::Patch } else { Verb::Get },
                res::DEPLOYMENTS,
                t,
                lat,
                id,
            );
            r.namespace = Some(&a.namespace);
            r.name = Some(&a.name);
            if patch {
                r.query = "?fieldManager=argocd-controller&force=true";
                r.uid = Some(u128::from(hash(&[ctx.seed, app as u64, 0xD1])) << 64 | 0xD1);
            }
            self.emit(&r);
        }
        // ingress-nginx and cert-manager leader leases.
        for (i, (who, name, ns)) in [
            (addon::INGRESS_NGINX, "ingress-nginx-leader", "ingress-nginx"),
            (addon::CERT_MANAGER, "cert-manager-controller", "kube-system"),
        ]
        .into_iter()
        .enumerate()
        {
            for (_, t) in self.grid(5 * SEC, 700_000 + i as Micros * 1_300_000) {
                let lat = ms(&mut self.rng, 3.5, 0.4);
                let id = self.id();
                let mut r = req(&ids.addons[who], Verb::Update, res::LEASES, t, lat, id);
                r.namespace = Some(ns);
                r.name = Some(name);
                r.rv = Some(revision(ctx, t));
                self.emit(&r);
            }
        }
        // People with kubectl, k9s and Lens.
        let mut pod = String::with_capacity(64);
        let mut q = String::with_capacity(96);
        for t in self.poisson_times(2_500.0) {
            let who = self.rng.below(ids.humans.len() as u64) as usize;
            let id_ref = &ids.humans[who];
            pod.clear();
            let app = self.new_pod_name(&mut pod);
            let a = &ctx.cluster.apps[app];
            let roll = self.rng.f64();
            let aid = self.id();
            q.clear();
            let mut r = req(id_ref, Verb::Get, res::PODS, t, ms(&mut self.rng, 3.0, 0.6), aid);
            r.namespace = Some(&a.namespace);
            if roll < 0.3 {
                r.name = Some(&pod);
                if self.rng.chance(0.12) {
                    r.code = 404;
                    r.failure =
                        Some(Failure { message_escaped: &ctx.messages.not_found_pod, reason: "NotFound" });
                }
            } else if roll < 0.5 {
                r.verb = Verb::List;
                q.push_str("?limit=500");
                r.latency = ms(&mut self.rng, 12.0, 0.6);
            } else if roll < 0.58 {
                r.verb = Verb::List;
                q.push_str("?labelSelector=app%3D");
                q.push_str(&a.name);
                q.push_str("&limit=500");
            } else if roll < 0.66 {
                r.verb = Verb::List;
                r.res = Some(res::EVENTS);
                q.push_str("?fieldSelector=involvedObject.name%3D");
                q.push_str(&pod);
                q.push_str("%2CinvolvedObject.namespace%3D");
                q.push_str(&a.namespace);
                q.push_str("&limit=500");
            } else if roll < 0.74 {
                r.name = Some(&pod);
                r.sub = Some("log");
                q.push_str("?container=app&tailLines=200");
                r.latency = ms(&mut self.rng, 40.0, 0.8);
            } else if roll < 0.77 {
                r.verb = Verb::Create;
                r.code = 101;
                r.name = Some(&pod);
                r.sub = Some("exec");
                q.push_str("?command=%2Fbin%2Fsh&container=app&stdin=true&stdout=true&tty=true");
                r.latency = (self.rng.range(20.0, 900.0) * SEC as f64) as Micros;
                r.stages = Stages::Both;
            } else if roll < 0.92 {
                r.res = None;
                r.path = if roll < 0.85 { "/api" } else { "/apis" };
                q.push_str("?timeout=32s");
                r.latency = ms(&mut self.rng, 0.8, 0.5);
            } else if roll < 0.97 {
                r.verb = Verb::Get;
                r.res = Some(res::DEPLOYMENTS);
                r.name = Some(&a.name);
            } else {
                r.verb = Verb::List;
                r.res = Some(res::SECRETS);
                r.namespace = Some("payments");
                q.push_str("?limit=500");
                if id_ref.username.starts_with("erin") {
                    r.code = 403;
                    r.failure = Some(Failure {
                        message_escaped: &ctx.messages.forbidden_secrets,
                        reason: "Forbidden",
                    });
                }
            }
            r.query = &q;
            self.emit(&r);
        }
    }

    fn scenarios(&mut self) {
        let ctx = self.ctx;
        let sc = &ctx.scenarios;
        if let Some(ls) = &sc.list_storm {
            for t in self.poisson_times(ls.rate * 3600.0) {
                let lat = ((self.rng.lognormal(ls.median_seconds, ls.sigma)) * SEC as f64) as Micros;
                let total = lat as u64 * 1000;
                let part = |f: f64| (total as f64 * f) as u64;
                let id = self.id();
                let mut r = req(&ls.who, Verb::List, res::PODS, t, lat, id);
                r.track = track::LIST_STORM;
                r.breakdown = Some(Breakdown {
                    etcd: part(0.58),
                    serialize_response_object: part(0.27),
                    response_write: part(0.11),
                    apf_queue_wait: part(0.002),
                    ..Breakdown::default()
                });
                self.emit(&r);
            }
        }
        if let Some(ps) = &sc.put_storm {
            for t in self.poisson_times(ps.rate * 3600.0) {
                let conflict = self.rng.chance(ps.conflict_ratio);
                let id = self.id();
                let lat = if conflict { ms(&mut self.rng, 4.0, 0.4) } else { ms(&mut self.rng, 9.0, 0.5) };
                let mut r = req(&ps.who, Verb::Update, res::CONFIGMAPS, t, lat, id);
                r.namespace = Some(ps.namespace);
                r.name = Some(ps.name);
                r.uid = Some(u128::from(hash(&[ctx.seed, 0xCF])) << 64 | 0xCF);
                r.rv = Some(revision(ctx, t));
                r.track = track::PUT_STORM;
                if conflict {
                    r.code = 409;
                    r.failure =
                        Some(Failure { message_escaped: &ctx.messages.put_conflict, reason: "Conflict" });
                }
                self.emit(&r);
                if conflict {
                    // It re-reads the object and tries again.
                    let id = self.id();
                    let lat = ms(&mut self.rng, 1.5, 0.4);
                    let mut g = req(&ps.who, Verb::Get, res::CONFIGMAPS, t + r.latency + 200, lat, id);
                    g.namespace = Some(ps.namespace);
                    g.name = Some(ps.name);
                    g.track = track::PUT_STORM;
                    self.emit(&g);
                }
            }
        }
        if let Some(leak) = &sc.object_leak {
            let mut name = String::with_capacity(40);
            for t in self.poisson_times(leak.rate * 3600.0) {
                name.clear();
                name.push_str(leak.prefix);
                push_generated(&mut name, self.rng.next_u64(), 5);
                let id = self.id();
                let lat = ms(&mut self.rng, 12.0, 0.4);
                let mut r = req(&leak.who, Verb::Create, res::JOBS, t, lat, id);
                r.namespace = Some(leak.namespace);
                r.name = Some(&name);
                r.track = track::OBJECT_LEAK;
                self.emit(&r);
                // The Job controller starts its pod.
                let id = self.id();
                let lat = ms(&mut self.rng, 14.0, 0.4);
                let mut p = req(
                    &ctx.ids.controllers[ctl::JOB],
                    Verb::Create,
                    res::PODS,
                    t + r.latency + ms(&mut self.rng, 30.0, 0.5),
                    lat,
                    id,
                );
                p.namespace = Some(leak.namespace);
                name.push('-');
                push_generated(&mut name, self.rng.next_u64(), 5);
                p.name = Some(&name);
                self.emit(&p);
                // Pod GC removes an older finished pod beyond its threshold; the Jobs stay.
                let id = self.id();
                let lat = ms(&mut self.rng, 9.0, 0.4);
                let mut d = req(
                    &ctx.ids.controllers[ctl::POD_GC],
                    Verb::Delete,
                    res::PODS,
                    p.received + (self.rng.range(1.0, 3.0) * SEC as f64) as Micros,
                    lat,
                    id,
                );
                d.namespace = Some(leak.namespace);
                name.truncate(name.len() - 11);
                push_generated(&mut name, self.rng.next_u64(), 5);
                name.push('-');
                push_generated(&mut name, self.rng.next_u64(), 5);
                d.name = Some(&name);
                d.uid = Some(self.rng.u128());
                self.emit(&d);
            }
        }
        if let Some(apf) = &sc.apf_throttled {
            let mut q = String::with_capacity(64);
            for t in self.poisson_times(apf.rate * 3600.0) {
                let ns =
                    &ctx.cluster.namespaces[self.rng.below(ctx.cluster.namespaces.len() as u64) as usize];
                q.clear();
                q.push_str("?labelSelector=tekton.dev%2FpipelineRun&limit=500");
                let id = self.id();
                let rejected = self.rng.chance(apf.rejected_ratio);
                let mut r = req(&apf.who, Verb::List, res::PODS, t, 0, id);
                r.namespace = Some(ns);
                r.query = &q;
                r.track = track::APF;
                if rejected {
                    r.latency = ms(&mut self.rng, 0.6, 0.3);
                    r.code = 429;
                    r.failure =
                        Some(Failure { message_escaped: &ctx.messages.too_many, reason: "TooManyRequests" });
                } else {
                    let wait = (self.rng.lognormal(apf.wait_median_seconds, 0.5) * SEC as f64) as Micros;
                    let work = ms(&mut self.rng, 15.0, 0.4);
                    r.latency = wait + work;
                    r.apf_wait = wait;
                    if r.latency > 500 * MS {
                        r.breakdown = Some(Breakdown {
                            apf_queue_wait: wait as u64 * 1000,
                            etcd: work as u64 * 400,
                            serialize_response_object: work as u64 * 350,
                            response_write: work as u64 * 100,
                            ..Breakdown::default()
                        });
                    }
                }
                self.emit(&r);
            }
        }
    }
}

/// The apiserver pod that wrote an entry, by index.
pub fn apiserver_pod<'a>(ctx: &'a Ctx, e: &Entry) -> &'a str {
    ctx.cluster.apiserver_pods.get(usize::from(e.apiserver)).map_or("", String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::KubeVersion;
    use crate::scenario::{ALL, Scenario};

    fn ctx(nodes: usize, scenarios: &[Scenario]) -> Ctx {
        let v = KubeVersion::parse("1.29").expect("known");
        let cluster = Cluster::new(3, nodes, v);
        let start = 1_709_287_200_000_000;
        Ctx::new(3, cluster, start, start + 600 * SEC, Scenarios::new(3, scenarios, nodes))
    }

    #[test]
    fn every_event_is_an_audit_event_with_ordered_timestamps() {
        let c = ctx(20, &ALL);
        for i in [0, 7, c.slices() - 1] {
            let out = generate_slice(&c, i);
            assert!(!out.entries.is_empty());
            let mut last = i64::MIN;
            for e in &out.entries {
                let line = &out.buf[e.offset as usize..(e.offset + e.len) as usize];
                let event: audit::Event = serde_json::from_slice(line).expect("a valid audit event");
                let stage = event.stage_timestamp.expect("stage time").timestamp_micros();
                assert_eq!(stage, e.time);
                assert!(e.time >= last);
                last = e.time;
                assert!(e.time >= c.start && e.time < c.end);
            }
        }
    }

    /// The slice's events, parsed as plain JSON.
    fn json_events(out: &SliceOut) -> Vec<serde_json::Value> {
        out.entries
            .iter()
            .map(|e| {
                let line = &out.buf[e.offset as usize..(e.offset + e.len) as usize];
                serde_json::from_slice(line).expect("valid JSON")
            })
            .collect()
    }

    fn micros_of(e: &serde_json::Value, field: &str) -> i64 {
        let text = e[field].as_str().expect("timestamp");
        chrono::DateTime::parse_from_rfc3339(text).expect("RFC 3339").timestamp_micros()
    }

    /// Review 50, item 1: pod and Job creates were written as `POST …/pods/NAME`, a path the API
    /// server never serves: it takes a create on the collection, the name only in `objectRef`.
    #[test]
    fn creates_were_posted_to_the_objects_own_uri() {
        let c = ctx(20, &ALL);
        let (mut named, mut on_subresource) = (0, 0);
        for i in [0, 30, c.slices() - 1] {
            for e in json_events(&generate_slice(&c, i)) {
                if e["verb"] != "create" || e["objectRef"].is_null() {
                    continue;
                }
                let uri = e["requestURI"].as_str().expect("requestURI");
                let path = uri.split('?').next().unwrap_or(uri);
                let resource = e["objectRef"]["resource"].as_str().expect("resource");
                let name = e["objectRef"]["name"].as_str();
                match e["objectRef"]["subresource"].as_str() {
                    None => {
                        assert!(path.ends_with(&format!("/{resource}")), "a create on its collection: {uri}");
                        named += usize::from(name.is_some());
                    }
                    Some(sub) => {
                        let name = name.expect("a subresource names its object");
                        assert!(path.ends_with(&format!("/{resource}/{name}/{sub}")), "{uri}");
                        on_subresource += 1;
                    }
                }
            }
        }
        assert!(named > 0, "creates keep the object's name in objectRef");
        assert!(on_subresource > 0, "bindings and tokens name their object in the path");
    }

    /// Review 50, item 2: under `etcd-slow-disk`, the lease updates etcd answered with `etcdserver:
    /// request timed out` took as long as the others (0.1 s), not etcd's request timeout.
    #[test]
    fn etcd_request_timeouts_came_back_as_fast_as_successes() {
        let c = ctx(50, &[Scenario::EtcdSlowDisk]);
        let mut timed_out = 0;
        for i in 0..c.slices() {
            for e in json_events(&generate_slice(&c, i)) {
                if e["responseStatus"]["message"] != "etcdserver: request timed out" {
                    continue;
                }
                timed_out += 1;
                let latency = micros_of(&e, "stageTimestamp") - micros_of(&e, "requestReceivedTimestamp");
                assert!(
                    (ETCD_REQUEST_TIMEOUT..ETCD_REQUEST_TIMEOUT + 100 * MS).contains(&latency),
                    "{latency}"
                );
                let etcd = e["annotations"]["apiserver.latency.k8s.io/etcd"].as_str().expect("etcd time");
                let seconds: f64 = etcd.strip_suffix('s').and_then(|s| s.parse().ok()).expect("seconds");
                assert!((7.0..7.1).contains(&seconds), "the wait was etcd's: {etcd}");
            }
        }
        assert!(timed_out > 0);
    }

    /// Review 50, item 5: watches ended 5–45 ms before their `timeoutSeconds`; the API server ends
    /// a watch when its timeout has passed.
    #[test]
    fn watches_ended_before_their_timeout() {
        let c = ctx(10, &[]);
        let mut seen = 0;
        for i in 0..c.slices() {
            for e in json_events(&generate_slice(&c, i)) {
                if e["verb"] != "watch" || e["stage"] != "ResponseComplete" {
                    continue;
                }
                let uri = e["requestURI"].as_str().expect("requestURI");
                let timeout: i64 = uri
                    .split(['?', '&'])
                    .find_map(|p| p.strip_prefix("timeoutSeconds="))
                    .and_then(|t| t.parse().ok())
                    .expect("timeoutSeconds");
                let latency = micros_of(&e, "stageTimestamp") - micros_of(&e, "requestReceivedTimestamp");
                assert!(
                    (timeout * SEC..timeout * SEC + WATCH_RECONNECT).contains(&latency),
                    "{latency} {uri}"
                );
                seen += 1;
            }
        }
        assert!(seen > 0);
    }

    #[test]
    fn a_slice_is_the_same_whenever_it_is_made() {
        let c = ctx(10, &[Scenario::ListStorm]);
        let a = generate_slice(&c, 5);
        let _ = generate_slice(&c, 2);
        let b = generate_slice(&c, 5);
        assert_eq!(a.buf, b.buf);
        assert_eq!(a.entries.len(), b.entries.len());
    }

    #[test]
    fn emitter_bytes_equal_the_audit_writer_for_the_same_event() {
        let c = ctx(5, &ALL);
        let out = generate_slice(&c, 3);
        for e in out.entries.iter().take(2000) {
            let line = &out.buf[e.offset as usize..(e.offset + e.len) as usize];
            let event: audit::Event = serde_json::from_slice(line).expect("valid");
            let mut again = Vec::new();
            audit::write::write_event_json(&mut again, &event);
            assert_eq!(String::from_utf8_lossy(&again), String::from_utf8_lossy(line));
        }
    }
}
