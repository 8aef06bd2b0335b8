//! How Kubernetes lays out its keys in etcd, and statistics per resource and namespace.
//!
//! Layout (kube-apiserver's storage, `--etcd-prefix=/registry`):
//! - namespaced built-in resources: `/registry/<resource>/<namespace>/<name>`;
//! - cluster-scoped built-in resources: `/registry/<resource>/<name>` (nodes are `minions`);
//! - services and endpoints: `/registry/services/specs/<namespace>/<name>`,
//!   `/registry/services/endpoints/<namespace>/<name>`;
//! - custom and aggregated resources: `/registry/<group>/<resource>/<namespace>/<name>` or
//!   `/registry/<group>/<resource>/<name>`; a group always holds a dot, a built-in storage
//!   name never does.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use serde::Serialize;

/// A key read as a Kubernetes object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLayout {
    /// Group-qualified resource as `apiserver_storage_objects` names it: `pods`, `nodes`,
    /// `jobs.batch`, `widgets.example.com`.
    pub resource: String,
    /// The namespace, for namespaced objects.
    pub namespace: Option<String>,
    /// The object's name.
    pub name: String,
}

/// Built-in storage names that differ from the resource name, or whose group the key does not
/// say: storage name → group-qualified resource (Kubernetes' storage registry).
const BUILTIN: &[(&str, &str)] = &[
    ("minions", "nodes"),
    ("controllers", "replicationcontrollers"),
    ("ingress", "ingresses.networking.k8s.io"),
    ("ingressclasses", "ingressclasses.networking.k8s.io"),
    ("networkpolicies", "networkpolicies.networking.k8s.io"),
    ("podsecuritypolicy", "podsecuritypolicies.policy"),
    ("poddisruptionbudgets", "poddisruptionbudgets.policy"),
    ("jobs", "jobs.batch"),
    ("cronjobs", "cronjobs.batch"),
    ("deployments", "deployments.apps"),
    ("replicasets", "replicasets.apps"),
    ("statefulsets", "statefulsets.apps"),
    ("daemonsets", "daemonsets.apps"),
    ("controllerrevisions", "controllerrevisions.apps"),
    ("leases", "leases.coordination.k8s.io"),
    ("roles", "roles.rbac.authorization.k8s.io"),
    ("rolebindings", "rolebindings.rbac.authorization.k8s.io"),
    ("clusterroles", "clusterroles.rbac.authorization.k8s.io"),
    ("clusterrolebindings", "clusterrolebindings.rbac.authorization.k8s.io"),
    ("horizontalpodautoscalers", "horizontalpodautoscalers.autoscaling"),
    ("priorityclasses", "priorityclasses.scheduling.k8s.io"),
    ("storageclasses", "storageclasses.storage.k8s.io"),
    ("volumeattachments", "volumeattachments.storage.k8s.io"),
    ("csinodes", "csinodes.storage.k8s.io"),
    ("csidrivers", "csidrivers.storage.k8s.io"),
    ("csistoragecapacities", "csistoragecapacities.storage.k8s.io"),
    ("endpointslices", "endpointslices.discovery.k8s.io"),
    ("flowschemas", "flowschemas.flowcontrol.apiserver.k8s.io"),
    ("prioritylevelconfigurations", "prioritylevelconfigurations.flowcontrol.apiserver.k8s.io"),
    ("mutatingwebhookconfigurations", "mutatingwebhookconfigurations.admissionregistration.k8s.io"),
    ("validatingwebhookconfigurations", "validatingwebhookconfigurations.admissionregistration.k8s.io"),
    ("certificatesigningrequests", "certificatesigningrequests.certificates.k8s.io"),
    ("runtimeclasses", "runtimeclasses.node.k8s.io"),
    // Newer built-ins, stored under their resource name alone as the ones above (Kubernetes'
    // test/integration/etcd/data.go, ExpectedEtcdPath; review s47: they were named without
    // their group, unlike apiserver_storage_objects).
    ("clustertrustbundles", "clustertrustbundles.certificates.k8s.io"),
    ("podcertificaterequests", "podcertificaterequests.certificates.k8s.io"),
    ("leasecandidates", "leasecandidates.coordination.k8s.io"),
    ("ipaddresses", "ipaddresses.networking.k8s.io"),
    ("servicecidrs", "servicecidrs.networking.k8s.io"),
    ("storageversionmigrations", "storageversionmigrations.storagemigration.k8s.io"),
    ("volumeattributesclasses", "volumeattributesclasses.storage.k8s.io"),
    ("validatingadmissionpolicies", "validatingadmissionpolicies.admissionregistration.k8s.io"),
    ("validatingadmissionpolicybindings", "validatingadmissionpolicybindings.admissionregistration.k8s.io"),
    ("mutatingadmissionpolicies", "mutatingadmissionpolicies.admissionregistration.k8s.io"),
    ("mutatingadmissionpolicybindings", "mutatingadmissionpolicybindings.admissionregistration.k8s.io"),
    // resource.k8s.io (DRA): every kind it stores, 1.33's devicetaintrules included (review 50,
    // item 5: it was named without its group).
    ("deviceclasses", "deviceclasses.resource.k8s.io"),
    ("devicetaintrules", "devicetaintrules.resource.k8s.io"),
    ("resourceclaims", "resourceclaims.resource.k8s.io"),
    ("resourceclaimtemplates", "resourceclaimtemplates.resource.k8s.io"),
    ("podschedulingcontexts", "podschedulingcontexts.resource.k8s.io"),
    ("resourceslices", "resourceslices.resource.k8s.io"),
    ("storageversions", "storageversions.internal.apiserver.k8s.io"),
];

/// The API server's default `--etcd-prefix`: the root of the Kubernetes key layout.
pub const DEFAULT_ROOT: &str = "/registry";

/// The root keys scanned under `prefix` are read against (`<root>/<resource>/…`): `/registry`
/// for `""` or `/` (the whole key space) and for any prefix under `/registry/` (such as
/// `/registry/pods`: its keys are read by their full path, so namespaces never pass for
/// resources); any other prefix is taken as the root itself (a custom `--etcd-prefix`, such as
/// OpenShift's `/kubernetes.io`).
pub fn layout_root(prefix: &str) -> &str {
    let p = prefix.trim_end_matches('/');
    if p.is_empty() || p.starts_with("/registry/") { DEFAULT_ROOT } else { prefix }
}

/// Reads `key` (with `prefix`, e.g. `/registry`, in front) as a Kubernetes object; `None`
/// for keys outside the prefix or of another shape.
pub fn parse_key(key: &str, prefix: &str) -> Option<KeyLayout> {
    let rest = key.strip_prefix(prefix.trim_end_matches('/'))?.strip_prefix('/')?;
    let parts: Vec<&str> = rest.split('/').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let builtin = |storage: &str| -> String {
        BUILTIN
            .iter()
            .find(|(s, _)| *s == storage)
            .map_or_else(|| storage.to_owned(), |(_, r)| (*r).to_owned())
    };
    let layout = |resource: String, namespace: Option<&str>, name: &str| KeyLayout {
        resource,
        namespace: namespace.map(str::to_owned),
        name: name.to_owned(),
    };
    match parts.as_slice() {
        [group, resource, namespace, name] if group.contains('.') => {
            Some(layout(format!("{resource}.{group}"), Some(namespace), name))
        }
        [group, resource, name] if group.contains('.') => {
            Some(layout(format!("{resource}.{group}"), None, name))
        }
        ["services", "specs", namespace, name] => Some(layout("services".to_owned(), Some(namespace), name)),
        ["services", "endpoints", namespace, name] => {
            Some(layout("endpoints".to_owned(), Some(namespace), name))
        }
        [storage, namespace, name] => Some(layout(builtin(storage), Some(namespace), name)),
        [storage, name] => Some(layout(builtin(storage), None, name)),
        _ => None,
    }
}

/// A key's bytes as text: valid UTF-8 as it is, every byte of an invalid sequence as `\xNN`
/// (as `printf '%b'` and bash's `$'…'` read it back).
pub fn escape_key(key: &[u8]) -> String {
    let mut out = String::with_capacity(key.len());
    for chunk in key.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// Keys and value bytes of one resource type.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ResourceStats {
    /// Group-qualified resource.
    pub resource: String,
    /// Keys (objects).
    pub keys: u64,
    /// Sum of value sizes in bytes.
    pub value_bytes: u64,
    /// Namespaces holding objects of it (0 for cluster-scoped resources).
    pub namespaces: u64,
    /// The namespace with the most objects of it, and how many.
    pub top_namespace: Option<(String, u64)>,
    /// The namespaces with the most objects of it (at most [`TOP_NAMESPACES`]), most first.
    pub top_namespaces: Vec<(String, u64)>,
}

/// How many namespaces [`ResourceStats::top_namespaces`] keeps.
pub const TOP_NAMESPACES: usize = 5;

/// Keys and value bytes of one namespace.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NamespaceStats {
    /// The namespace.
    pub namespace: String,
    /// Keys.
    pub keys: u64,
    /// Sum of value sizes in bytes.
    pub value_bytes: u64,
}

/// One of the largest objects.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct LargeObject {
    /// Value size in bytes.
    pub value_bytes: u64,
    /// The full key.
    pub key: String,
}

/// Statistics of one scan of the keys under a prefix. In JSON, a keys-only scan
/// (`values_read` false) has `null` for every byte count and no `largest` list: unknown, not 0.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyStats {
    /// The prefix scanned.
    pub prefix: String,
    /// The revision the scan read at (one consistent snapshot).
    pub revision: i64,
    /// Keys scanned.
    pub keys: u64,
    /// Sum of value sizes in bytes.
    pub value_bytes: u64,
    /// False when only keys were read (`--no-values`): every byte count is then 0 here, and
    /// `null` in JSON: unknown.
    pub values_read: bool,
    /// Keys that did not fit the Kubernetes layout.
    pub other_keys: u64,
    /// Per resource, most keys first (ties by name).
    pub resources: Vec<ResourceStats>,
    /// Per namespace, most keys first (ties by name).
    pub namespaces: Vec<NamespaceStats>,
    /// The largest objects, largest first.
    pub largest: Vec<LargeObject>,
}

impl Serialize for KeyStats {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Resource<'a> {
            resource: &'a str,
            keys: u64,
            value_bytes: Option<u64>,
            namespaces: u64,
            top_namespace: &'a Option<(String, u64)>,
            top_namespaces: &'a [(String, u64)],
        }
        #[derive(Serialize)]
        struct Namespace<'a> {
            namespace: &'a str,
            keys: u64,
            value_bytes: Option<u64>,
        }
        #[derive(Serialize)]
        struct View<'a> {
            prefix: &'a str,
            revision: i64,
            keys: u64,
            value_bytes: Option<u64>,
            values_read: bool,
            other_keys: u64,
            resources: Vec<Resource<'a>>,
            namespaces: Vec<Namespace<'a>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            largest: Option<&'a [LargeObject]>,
        }
        let bytes = |b: u64| self.values_read.then_some(b);
        View {
            prefix: &self.prefix,
            revision: self.revision,
            keys: self.keys,
            value_bytes: bytes(self.value_bytes),
            values_read: self.values_read,
            other_keys: self.other_keys,
            resources: self
                .resources
                .iter()
                .map(|r| Resource {
                    resource: &r.resource,
                    keys: r.keys,
                    value_bytes: bytes(r.value_bytes),
                    namespaces: r.namespaces,
                    top_namespace: &r.top_namespace,
                    top_namespaces: &r.top_namespaces,
                })
                .collect(),
            namespaces: self
                .namespaces
                .iter()
                .map(|n| Namespace {
                    namespace: &n.namespace,
                    keys: n.keys,
                    value_bytes: bytes(n.value_bytes),
                })
                .collect(),
            largest: self.values_read.then_some(self.largest.as_slice()),
        }
        .serialize(serializer)
    }
}

/// Accumulates [`KeyStats`] key by key in memory bounded by the number of resource types and
/// namespaces (not of keys).
#[derive(Debug)]
pub struct KeyStatsBuilder {
    prefix: String,
    /// What keys are read against ([`layout_root`]).
    root: String,
    keys: u64,
    value_bytes: u64,
    other_keys: u64,
    resources: BTreeMap<String, (u64, u64, BTreeMap<String, u64>)>,
    namespaces: BTreeMap<String, (u64, u64)>,
    largest: BinaryHeap<Reverse<LargeObject>>,
    keep_largest: usize,
}

impl KeyStatsBuilder {
    /// A builder for keys under `prefix`, keeping the `keep_largest` largest objects.
    pub fn new(prefix: &str, keep_largest: usize) -> KeyStatsBuilder {
        KeyStatsBuilder {
            prefix: prefix.to_owned(),
            root: layout_root(prefix).to_owned(),
            keys: 0,
            value_bytes: 0,
            other_keys: 0,
            resources: BTreeMap::new(),
            namespaces: BTreeMap::new(),
            largest: BinaryHeap::new(),
            keep_largest,
        }
    }

    /// Counts one key given as the bytes etcd holds: bytes that are not UTF-8 are written
    /// `\xNN` ([`escape_key`]), so the key shown can be typed back (`printf`, `etcdctl get`),
    /// where a lossy conversion would show U+FFFD and lose them.
    pub fn add_bytes(&mut self, key: &[u8], value_bytes: u64) {
        self.add(&escape_key(key), value_bytes);
    }

    /// Counts one key and its value size.
    pub fn add(&mut self, key: &str, value_bytes: u64) {
        self.keys += 1;
        self.value_bytes += value_bytes;
        // Every key may be among the largest, in the Kubernetes layout or not: the list shows
        // what takes the space.
        self.keep(value_bytes, key);
        let Some(layout) = parse_key(key, &self.root) else {
            self.other_keys += 1;
            return;
        };
        let entry = self.resources.entry(layout.resource).or_default();
        entry.0 += 1;
        entry.1 += value_bytes;
        if let Some(ns) = layout.namespace {
            *entry.2.entry(ns.clone()).or_default() += 1;
            let n = self.namespaces.entry(ns).or_default();
            n.0 += 1;
            n.1 += value_bytes;
        }
    }

    /// Keeps `key` if it is among the `keep_largest` largest so far (by size, then key, so the
    /// result does not depend on the order keys arrive in).
    fn keep(&mut self, value_bytes: u64, key: &str) {
        if self.keep_largest == 0 {
            return;
        }
        if self.largest.len() >= self.keep_largest {
            let Some(Reverse(min)) = self.largest.peek() else { return };
            if (value_bytes, key) <= (min.value_bytes, min.key.as_str()) {
                return;
            }
        }
        self.largest.push(Reverse(LargeObject { value_bytes, key: key.to_owned() }));
        if self.largest.len() > self.keep_largest {
            self.largest.pop();
        }
    }

    /// Adds what `other` counted (a scan of a disjoint set of keys).
    pub fn merge(&mut self, other: KeyStatsBuilder) {
        self.keys += other.keys;
        self.value_bytes += other.value_bytes;
        self.other_keys += other.other_keys;
        for (resource, (keys, value_bytes, namespaces)) in other.resources {
            let entry = self.resources.entry(resource).or_default();
            entry.0 += keys;
            entry.1 += value_bytes;
            for (ns, n) in namespaces {
                *entry.2.entry(ns).or_default() += n;
            }
        }
        for (ns, (keys, value_bytes)) in other.namespaces {
            let entry = self.namespaces.entry(ns).or_default();
            entry.0 += keys;
            entry.1 += value_bytes;
        }
        for Reverse(object) in other.largest {
            self.keep(object.value_bytes, &object.key);
        }
    }

    /// The statistics, sorted.
    pub fn finish(self, revision: i64) -> KeyStats {
        let mut resources: Vec<ResourceStats> = self
            .resources
            .into_iter()
            .map(|(resource, (keys, value_bytes, namespaces))| {
                // Most keys first, then by name: the same order whatever order keys came in.
                let mut ranked: Vec<(&String, &u64)> = namespaces.iter().collect();
                ranked.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
                let top_namespaces: Vec<(String, u64)> =
                    ranked.iter().take(TOP_NAMESPACES).map(|(ns, n)| ((*ns).clone(), **n)).collect();
                ResourceStats {
                    resource,
                    keys,
                    value_bytes,
                    namespaces: namespaces.len() as u64,
                    top_namespace: top_namespaces.first().cloned(),
                    top_namespaces,
                }
            })
            .collect();
        resources.sort_by(|a, b| b.keys.cmp(&a.keys).then_with(|| a.resource.cmp(&b.resource)));
        let mut namespaces: Vec<NamespaceStats> = self
            .namespaces
            .into_iter()
            .map(|(namespace, (keys, value_bytes))| NamespaceStats { namespace, keys, value_bytes })
            .collect();
        namespaces.sort_by(|a, b| b.keys.cmp(&a.keys).then_with(|| a.namespace.cmp(&b.namespace)));
        let mut largest: Vec<LargeObject> = self.largest.into_iter().map(|Reverse(o)| o).collect();
        largest.sort_by(|a, b| b.value_bytes.cmp(&a.value_bytes).then_with(|| a.key.cmp(&b.key)));
        KeyStats {
            prefix: self.prefix,
            revision,
            keys: self.keys,
            value_bytes: self.value_bytes,
            values_read: true,
            other_keys: self.other_keys,
            resources,
            namespaces,
            largest,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(resource: &str, namespace: Option<&str>, name: &str) -> Option<KeyLayout> {
        Some(KeyLayout { resource: resource.into(), namespace: namespace.map(Into::into), name: name.into() })
    }

    #[test]
    fn reads_every_kubernetes_key_shape() {
        let p = "/registry";
        assert_eq!(parse_key("/registry/pods/default/web-1", p), l("pods", Some("default"), "web-1"));
        assert_eq!(parse_key("/registry/minions/node-1", p), l("nodes", None, "node-1"));
        assert_eq!(parse_key("/registry/jobs/ci/build-7", p), l("jobs.batch", Some("ci"), "build-7"));
        assert_eq!(
            parse_key("/registry/services/specs/default/kubernetes", p),
            l("services", Some("default"), "kubernetes")
        );
        assert_eq!(
            parse_key("/registry/services/endpoints/default/kubernetes", p),
            l("endpoints", Some("default"), "kubernetes")
        );
        assert_eq!(
            parse_key("/registry/example.com/widgets/team-a/w1", p),
            l("widgets.example.com", Some("team-a"), "w1")
        );
        assert_eq!(
            parse_key("/registry/apiextensions.k8s.io/customresourcedefinitions/widgets.example.com", p),
            l("customresourcedefinitions.apiextensions.k8s.io", None, "widgets.example.com")
        );
        assert_eq!(
            parse_key("/registry/events/kube-system/x.17a", p),
            l("events", Some("kube-system"), "x.17a")
        );
        assert_eq!(parse_key("/registry/namespaces/default", p), l("namespaces", None, "default"));
        assert_eq!(parse_key("/other/pods/a/b", p), None);
        assert_eq!(parse_key("/registry/ranges/serviceips", p), l("ranges", None, "serviceips"));
        assert_eq!(parse_key("/registry//a", p), None);
        assert_eq!(parse_key("/registry/a/b/c/d/e", p), None);
        assert_eq!(parse_key("/custom/pods/a/b", "/custom/"), l("pods", Some("a"), "b"));
    }

    #[test]
    fn newer_built_ins_were_named_without_their_group() {
        let p = "/registry";
        assert_eq!(
            parse_key("/registry/resourceclaims/ml/gpu-claim", p),
            l("resourceclaims.resource.k8s.io", Some("ml"), "gpu-claim")
        );
        assert_eq!(
            parse_key("/registry/validatingadmissionpolicies/deny-label", p),
            l("validatingadmissionpolicies.admissionregistration.k8s.io", None, "deny-label")
        );
        assert_eq!(
            parse_key("/registry/ipaddresses/10.96.0.1", p),
            l("ipaddresses.networking.k8s.io", None, "10.96.0.1")
        );
        assert_eq!(
            parse_key("/registry/volumeattributesclasses/fast", p),
            l("volumeattributesclasses.storage.k8s.io", None, "fast")
        );
    }

    /// Review 50, item 5: `/registry/devicetaintrules/r1` was resource `devicetaintrules`,
    /// where apiserver_storage_objects (MET002) says `devicetaintrules.resource.k8s.io`.
    #[test]
    fn devicetaintrules_was_not_group_qualified() {
        let p = "/registry";
        assert_eq!(
            parse_key("/registry/devicetaintrules/r1", p),
            l("devicetaintrules.resource.k8s.io", None, "r1")
        );
        for kind in [
            "deviceclasses",
            "resourceclaims",
            "resourceclaimtemplates",
            "podschedulingcontexts",
            "resourceslices",
        ] {
            let parsed = parse_key(&format!("/registry/{kind}/x"), p).map(|k| k.resource);
            assert_eq!(parsed.as_deref(), Some(format!("{kind}.resource.k8s.io").as_str()));
        }
    }

    #[test]
    fn counts_per_resource_and_namespace_and_keeps_the_largest() {
        let mut b = KeyStatsBuilder::new("/registry", 2);
        b.add("/registry/pods/a/p1", 100);
        b.add("/registry/pods/a/p2", 300);
        b.add("/registry/pods/b/p3", 50);
        b.add("/registry/minions/n1", 1000);
        b.add("/registry/a/b/c/d/e", 7);
        let s = b.finish(42);
        assert_eq!((s.keys, s.value_bytes, s.other_keys, s.revision), (5, 1457, 1, 42));
        assert_eq!(s.resources[0].resource, "pods");
        assert_eq!((s.resources[0].keys, s.resources[0].value_bytes, s.resources[0].namespaces), (3, 450, 2));
        assert_eq!(s.resources[0].top_namespace, Some(("a".to_owned(), 2)));
        assert_eq!(s.resources[1].resource, "nodes");
        assert_eq!(
            s.namespaces.iter().map(|n| (n.namespace.as_str(), n.keys, n.value_bytes)).collect::<Vec<_>>(),
            [("a", 2, 400), ("b", 1, 50)]
        );
        assert_eq!(s.largest.iter().map(|o| o.value_bytes).collect::<Vec<_>>(), [1000, 300]);
    }

    /// etcd review item 13: a key that is not UTF-8 was shown with U+FFFD
    /// (`/registry/configmaps/odd/bin��`), which cannot be used to find or delete it.
    #[test]
    fn keys_that_are_not_utf8_are_shown_with_their_bytes_escaped() {
        assert_eq!(
            escape_key(b"/registry/configmaps/odd/bin\xff\xfe"),
            r"/registry/configmaps/odd/bin\xff\xfe"
        );
        assert_eq!(escape_key("/registry/pods/ns/日本".as_bytes()), "/registry/pods/ns/日本");
        let mut b = KeyStatsBuilder::new("/registry", 1);
        b.add_bytes(b"/registry/configmaps/odd/bin\xff", 10);
        assert_eq!(b.finish(1).largest[0].key, r"/registry/configmaps/odd/bin\xff");
    }

    /// etcd review item 16: `--no-values -o json` gave `value_bytes: 0` everywhere and a
    /// "largest" list of arbitrary keys of size 0.
    #[test]
    fn a_keys_only_scan_has_null_sizes_and_no_largest_list_in_json() {
        let mut b = KeyStatsBuilder::new("/registry", 3);
        b.add("/registry/pods/ns-1/p", 0);
        let keys_only = KeyStats { values_read: false, ..b.finish(5) };
        let json = serde_json::to_value(&keys_only).expect("json");
        assert!(json.get("largest").is_none(), "{json}");
        assert!(json["value_bytes"].is_null(), "{json}");
        assert!(json["resources"][0]["value_bytes"].is_null(), "{json}");
        assert!(json["namespaces"][0]["value_bytes"].is_null(), "{json}");
        assert_eq!(json["resources"][0]["keys"], 1);
        let mut b = KeyStatsBuilder::new("/registry", 3);
        b.add("/registry/pods/ns-1/p", 7);
        let json = serde_json::to_value(b.finish(5)).expect("json");
        assert_eq!(json["value_bytes"], 7);
        assert_eq!(json["largest"][0]["value_bytes"], 7);
    }

    /// etcd review item 17: a 1.4 MB value under `/registry/a/b/c/d/e` (or any key outside the
    /// Kubernetes layout) counted in the bytes but never appeared in the largest objects.
    #[test]
    fn keys_outside_the_kubernetes_layout_can_be_among_the_largest() {
        let mut b = KeyStatsBuilder::new("/registry", 2);
        b.add("/registry/pods/a/p1", 100);
        b.add("/registry/a/b/c/d/e", 1_400_000);
        b.add("/registry//x", 5);
        let s = b.finish(1);
        assert_eq!(s.other_keys, 2);
        assert_eq!(
            s.largest.iter().map(|o| (o.key.as_str(), o.value_bytes)).collect::<Vec<_>>(),
            [("/registry/a/b/c/d/e", 1_400_000), ("/registry/pods/a/p1", 100)]
        );
    }

    #[test]
    fn merging_disjoint_scans_gives_what_one_scan_gives() {
        let keys: Vec<(String, u64)> = (0..200)
            .map(|i| {
                (
                    format!("/registry/{}/ns-{}/o-{i}", ["pods", "jobs", "events"][i % 3], i % 7),
                    (i as u64 * 37) % 50,
                )
            })
            .collect();
        let mut one = KeyStatsBuilder::new("/registry", 4);
        for (k, b) in &keys {
            one.add(k, *b);
        }
        // Three workers taking keys in an interleaved order: ties in size must not change
        // which of the largest are kept.
        let mut parts: Vec<KeyStatsBuilder> = (0..3).map(|_| KeyStatsBuilder::new("/registry", 4)).collect();
        for (i, (k, b)) in keys.iter().enumerate().rev() {
            parts[(i * 7) % 3].add(k, *b);
        }
        let mut merged = KeyStatsBuilder::new("/registry", 4);
        for p in parts {
            merged.merge(p);
        }
        assert_eq!(merged.finish(9), one.finish(9));
    }
}
