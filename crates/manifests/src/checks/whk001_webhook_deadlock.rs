//! WHK001 webhook-deadlock: webhooks that fail closed on what the cluster needs to recover.

use std::collections::{BTreeMap, BTreeSet};

use findings::{
    CheckInfo, Draft, EvidenceKind, Finding, Measure, Remedy, RemedyKind, Safety, Severity, Subject, Table,
};
use remedy::{
    KnownWebhook, fail_open_patch, known_webhook_remedies, namespace_selector_patch, one_line, shell_quote,
};

use super::Context;
use crate::Manifests;
use crate::selector::{LabelSelector, NAME_LABEL, Operator};
use crate::webhook::{FailurePolicy, Webhook, WebhookConfiguration};

/// WHK001.
pub const INFO: CheckInfo = CheckInfo {
    code: "WHK001",
    name: "webhook-deadlock",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::Manifests,
    thresholds: &[],
    doc: r#"## What it detects
Admission webhooks with `failurePolicy: Fail` (the default of `admissionregistration.k8s.io/v1`)
whose rules, `namespaceSelector` and `objectSelector` take in what the cluster needs to
recover when the webhook is down.

That is any of:

- built-in objects in `kube-system` (pods, configmaps, secrets, leases, deployments…); the
  finding names, for each resource, the operations its rules cover there (creates, updates,
  deletes), and a resource its rules list under an API group that does not serve it (`leases`
  under the core group `""` matches nothing: leases are `coordination.k8s.io`'s);
- the pods' subresources every pod goes through, in `kube-system`: `pods/binding` (the
  scheduler places a pod by creating its binding) and `pods/status` (the kubelet reports a
  pod's readiness by updating it);
- leases in `kube-node-lease`, the nodes' heartbeats;
- Node objects, which a `namespaceSelector` cannot leave out;
- pods in the webhook's own namespace (the namespace of the service it is called through):
  its own replacement pods, created or bound to a node.

A warning; information only when all it takes in is deletes in `kube-system` (system
components can still be created and updated, and recover); critical when the audit log (AUD007) or the metrics (MET009) show the same webhook
failing now. Webhook names are unique only within one configuration: when several
fail-closed configurations hold a webhook of the failing name, the host in the failure
messages (`Post "https://SERVICE.NAMESPACE.svc:443/…"`) picks the ones called there; when it
cannot, each is critical and its finding says the name is ambiguous and names every candidate. Namespaces are matched with the labels given for them in the manifests
(`kubectl get namespace -o yaml`); without them, with the label every namespace carries
(`kubernetes.io/metadata.name`) alone. For `kube-system` the labels AKS sets
(`control-plane=true`, `kubernetes.azure.com/managedby=aks`) are assumed only when the
manifests show AKS (an AKS label or annotation, or the expression its admissions enforcer
adds); the finding says what was assumed, and when AKS's labels would change it. An
`objectSelector` is matched against an object without labels, for Node objects against the
labels every Node carries (`kubernetes.io/hostname`, `kubernetes.io/os`,
`kubernetes.io/arch`; when it compares their values, the finding says it was not checked), and
for the webhook's own pods against the pod labels of the Deployments, DaemonSets and
StatefulSets given in its namespace (when none is given, the finding says it was not checked);
CEL `matchConditions` are not evaluated and are named in the finding.

## Why it matters
A webhook that fails closed is called for every request it covers. When its backend is down
(a bad rollout, a node drain, an expired certificate) those requests are rejected after
waiting up to `timeoutSeconds`. If that covers `kube-system`, system components cannot be
created or updated; if it covers node leases, nodes go NotReady; if it covers its own pods,
it cannot come back by itself: a deadlock only an administrator can break.

## Example
`mutate.kyverno.svc-fail` (MutatingWebhookConfiguration
`kyverno-resource-mutating-webhook-cfg`) fails closed on pods in kube-system and on its own
pods in `kyverno`.

## Remedy
Exclude the namespaces with a `namespaceSelector` on `kubernetes.io/metadata.name` (the
patch given keeps the selector's other expressions), or label the namespaces when the
selector already has an opt-out label. Narrow rules with `*` resources, which also catch Node
objects. When the webhook is failing now, make it fail open (`failurePolicy: Ignore`) until
its backend is back. A webhook managed by an operator (Kyverno, Gatekeeper, Istio…) must be
changed in that operator's settings, or the operator undoes the patch.

## References
- Kubernetes: dynamic admission control, avoiding deadlocks in self-hosted webhooks and avoiding operating on the kube-system namespace: https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/
- Kubernetes: admission webhook good practices: https://kubernetes.io/docs/concepts/cluster-administration/admission-webhooks-good-practices/
- GKE: ensure control plane stability when using webhooks (webhooks unsafe because they operate on system-critical resources and namespaces): https://cloud.google.com/kubernetes-engine/docs/how-to/optimize-webhooks
- AKS FAQ: can admission controller webhooks impact kube-system and internal AKS namespaces: https://learn.microsoft.com/azure/aks/faq
"#,
};

/// Built-in namespaced resources the control plane writes in `kube-system`, by group. The
/// subresources are those every pod goes through: the scheduler's binding (a create) and the
/// kubelet's status reports (updates).
const SYSTEM_RESOURCES: [(&str, &str); 14] = [
    ("", "pods"),
    ("", "pods/binding"),
    ("", "pods/status"),
    ("", "configmaps"),
    ("", "secrets"),
    ("", "serviceaccounts"),
    ("", "services"),
    ("", "endpoints"),
    ("coordination.k8s.io", "leases"),
    ("discovery.k8s.io", "endpointslices"),
    ("apps", "deployments"),
    ("apps", "daemonsets"),
    ("apps", "replicasets"),
    ("rbac.authorization.k8s.io", "roles"),
];

/// A built-in resource of kube-system that a webhook's rules cover, with the operations they
/// cover on it. Rules are matched per API group (`leases` listed under the core group `""`
/// matches no lease: leases are `coordination.k8s.io`'s), and each resource keeps its own
/// operations: merged, a webhook on updates of leases and on every write of pods was said to
/// reject creates and deletes of leases too.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SystemResource {
    /// Its API group (`""` is the core group).
    group: &'static str,
    /// Its name, `resource` or `resource/subresource`.
    resource: &'static str,
    /// `CREATE`, `UPDATE`, `DELETE`, in that order; never empty.
    ops: Vec<&'static str>,
    /// Its name alone is ambiguous (the webhook's rules list it under another group too): the
    /// text names its group.
    qualified: bool,
}

impl SystemResource {
    /// `pods`, or `leases (coordination.k8s.io)` when qualified.
    fn shown(&self) -> String {
        match (self.qualified, self.group) {
            (false, _) => self.resource.to_owned(),
            (true, "") => format!("{} (core group)", self.resource),
            (true, group) => format!("{} ({group})", self.resource),
        }
    }
}

/// The resources of `rs` grouped by the operations covered on them, each group with its
/// operations, in the order of [`SYSTEM_RESOURCES`].
fn by_operations(rs: &[SystemResource]) -> Vec<(&[&'static str], Vec<&SystemResource>)> {
    let mut out: Vec<(&[&'static str], Vec<&SystemResource>)> = Vec::new();
    for r in rs {
        match out.iter_mut().find(|(ops, _)| *ops == r.ops.as_slice()) {
            Some((_, same)) => same.push(r),
            None => out.push((r.ops.as_slice(), vec![r])),
        }
    }
    out
}

/// Every operation covered on any of `rs` (`CREATE`, `UPDATE`, `DELETE`, in that order).
fn all_operations(rs: &[SystemResource]) -> Vec<&'static str> {
    ["CREATE", "UPDATE", "DELETE"].into_iter().filter(|op| rs.iter().any(|r| r.ops.contains(op))).collect()
}

/// `pods, configmaps and leases (coordination.k8s.io)`.
fn resources_phrase(rs: &[&SystemResource]) -> String {
    join_and(&rs.iter().map(|r| r.shown()).collect::<Vec<_>>())
}

/// Which writes of Node objects a webhook's rules cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct NodeWrites {
    /// Creates of nodes: new nodes registering.
    register: bool,
    /// Updates of nodes (labels, taints, the kubelet's own updates of them).
    update: bool,
    /// Updates of `nodes/status`, which `*` does not match (it matches no subresource).
    status: bool,
}

impl NodeWrites {
    fn of(w: &Webhook) -> Self {
        let covered =
            |resource: &str, op: &str| w.rules.iter().any(|r| r.covers("", resource, false, Some(op)));
        NodeWrites {
            register: covered("nodes", "CREATE"),
            update: covered("nodes", "UPDATE"),
            status: covered("nodes/status", "UPDATE"),
        }
    }

    fn any(self) -> bool {
        self.register || self.update || self.status
    }

    /// What it stops, for the summary (no final period).
    fn effect(self) -> String {
        let mut stopped: Vec<String> = Vec::new();
        if self.update && self.status {
            stopped.push("kubelets cannot update their Node objects or report their status".to_owned());
        } else if self.update {
            stopped.push(
                "Node objects cannot be updated (labels, taints, the kubelet's own updates of them)"
                    .to_owned(),
            );
        } else if self.status {
            stopped.push("kubelets cannot report their nodes' status (`nodes/status`)".to_owned());
        }
        if self.register {
            let at = if self.update && self.status { stopped.len() } else { 0 };
            stopped.insert(at, "new nodes cannot register".to_owned());
        }
        let mut still: Vec<String> = Vec::new();
        if !self.register {
            still.push("new nodes can still register (its rules do not cover creates of nodes)".to_owned());
        }
        if !self.update {
            still.push(
                "Node objects can still be updated (its rules do not cover updates of nodes)".to_owned(),
            );
        }
        if !self.status {
            still.push(
                "their status (`nodes/status`, which its rules do not cover) is still reported".to_owned(),
            );
        }
        let mut out = capitalised(&join_and(&stopped));
        if !still.is_empty() {
            out.push_str("; ");
            out.push_str(&join_and(&still));
        }
        out
    }

    /// `nodes, nodes/status`: what its rules cover.
    fn resources(self) -> String {
        let mut out = Vec::new();
        if self.register || self.update {
            out.push("nodes");
        }
        if self.status {
            out.push("nodes/status");
        }
        out.join(", ")
    }

    /// What it stops, for the table.
    fn row_effect(self) -> String {
        let verbs: Vec<String> = [(self.register, "register"), (self.update, "be updated")]
            .into_iter()
            .filter(|(covered, _)| *covered)
            .map(|(_, verb)| verb.to_owned())
            .collect();
        match (verbs.is_empty(), self.status) {
            (true, _) => "kubelets cannot report their nodes' status".to_owned(),
            (false, true) => format!("nodes cannot {}, nor report their status", join_or(&verbs)),
            (false, false) if self.update => {
                format!("nodes cannot {} (their status still can)", join_or(&verbs))
            }
            (false, false) => format!("nodes cannot {} (their status is still reported)", join_or(&verbs)),
        }
    }
}

/// What a webhook would block when down.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Exposure {
    /// Built-in objects in kube-system, each with the operations covered on it.
    KubeSystem(Vec<SystemResource>),
    /// Leases in kube-node-lease.
    NodeLeases,
    /// Node objects (or their status): every one, or, when it depends on the values of the
    /// labels every Node carries (an `In` or `NotIn` on `kubernetes.io/os`), those label keys;
    /// and which of their writes are covered.
    Nodes(Vec<String>, NodeWrites),
    /// Its own pods, in this namespace.
    OwnPods(String),
}

impl Exposure {
    fn short(&self) -> String {
        match self {
            Exposure::KubeSystem(rs) if !blocks_creates_or_updates(&all_operations(rs)) => {
                format!("{} in kube-system", operations_phrase(&all_operations(rs), false))
            }
            Exposure::KubeSystem(..) => "kube-system".to_owned(),
            Exposure::NodeLeases => "node heartbeats (leases in kube-node-lease)".to_owned(),
            Exposure::Nodes(..) => "Node objects".to_owned(),
            Exposure::OwnPods(ns) => format!("its own pods in {ns}"),
        }
    }

    /// Its rows of the table: for kube-system, one per set of operations.
    fn rows(&self) -> Vec<Vec<String>> {
        let row = |what: &str, resources: String, effect: String| vec![what.to_owned(), resources, effect];
        match self {
            Exposure::KubeSystem(rs) => by_operations(rs)
                .into_iter()
                .map(|(ops, same)| {
                    let names = same.iter().map(|r| r.shown()).collect::<Vec<_>>().join(", ");
                    let effect = if !blocks_creates_or_updates(ops) {
                        "their deletes are refused; creates and updates still work".to_owned()
                    } else {
                        let written = if ops.contains(&"CREATE") && ops.contains(&"UPDATE") {
                            "system components cannot be written".to_owned()
                        } else {
                            format!("{} are refused", operations_phrase(ops, false))
                        };
                        let binds =
                            same.iter().any(|r| r.resource == "pods/binding" && r.ops.contains(&"CREATE"));
                        if binds { format!("{written}; their pods cannot be scheduled") } else { written }
                    };
                    row("kube-system", names, effect)
                })
                .collect(),
            Exposure::NodeLeases => {
                vec![row("kube-node-lease", "leases".to_owned(), "nodes go NotReady".to_owned())]
            }
            // On-call review 52, item 11: `*` matches no subresource, so a rule of `*` leaves
            // `nodes/status` out: the nodes' conditions are still reported.
            Exposure::Nodes(depends_on, writes) if depends_on.is_empty() => {
                vec![row("Node objects", writes.resources(), writes.row_effect())]
            }
            Exposure::Nodes(_, writes) => vec![row(
                "Node objects",
                writes.resources(),
                format!("{}, for the nodes its objectSelector takes in (not checked)", writes.row_effect()),
            )],
            Exposure::OwnPods(ns) => vec![vec![
                format!("{ns} (its own pods)"),
                "pods".to_owned(),
                "it cannot restart itself".to_owned(),
            ]],
        }
    }
}

/// What a webhook on the pods' subresources in kube-system stops beyond writes: the
/// scheduler's bindings and the kubelets' status reports. Empty when its rules cover neither.
fn pod_subresources_effect(rs: &[SystemResource]) -> String {
    let covered = |sub: &str, op: &str| {
        rs.iter().any(|r| r.group.is_empty() && r.resource == sub && r.ops.contains(&op))
    };
    let mut out = String::new();
    if covered("pods/binding", "CREATE") {
        out.push_str(
            " The scheduler cannot bind pods there to nodes (pods/binding), so no system pod is scheduled.",
        );
    }
    if covered("pods/status", "UPDATE") {
        out.push_str(
            " Kubelets cannot report the status of pods there (pods/status), so none turns Ready (CoreDNS among them).",
        );
    }
    out
}

/// What the webhook's rules cover of kube-system's built-in resources, per resource: the
/// sentences of the summary.
fn kube_system_effect(w: &Webhook, rs: &[SystemResource]) -> String {
    let groups = by_operations(rs);
    let mut out = match groups.as_slice() {
        [(ops, same)] if !blocks_creates_or_updates(ops) => format!(
            " {} of {} in kube-system are rejected; its rules do not cover creates or updates, so system \
             components can still be created and updated.",
            operations_phrase(ops, true),
            resources_phrase(same)
        ),
        [(ops, same)] => {
            format!(
                " {} of {} in kube-system are rejected.",
                operations_phrase(ops, true),
                resources_phrase(same)
            )
        }
        [(ops, same), rest @ ..] => format!(
            " In kube-system, {} of {} are rejected, as are {}.",
            operations_phrase(ops, false),
            resources_phrase(same),
            join_and(
                &rest
                    .iter()
                    .map(|(ops, same)| format!(
                        "{} of {}",
                        operations_phrase(ops, false),
                        resources_phrase(same)
                    ))
                    .collect::<Vec<_>>()
            )
        ),
        [] => String::new(),
    };
    out.push_str(&pod_subresources_effect(rs));
    out.push_str(&misplaced_resources(w));
    out
}

/// The API groups that serve `resource` (a main resource of [`SYSTEM_RESOURCES`]), among those
/// of that list: built-in groups, whose resources are all known, so a name of the list under
/// one of them that does not serve it matches nothing. Empty for a name not in the list.
fn served_by(resource: &str) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for (g, r) in SYSTEM_RESOURCES {
        if r.split('/').next() == Some(resource) && !out.contains(&g) {
            out.push(g);
        }
    }
    out
}

/// `the core API group ("")`, `API group apps`.
fn group_phrase(group: &str) -> String {
    if group.is_empty() { r#"the core API group ("")"#.to_owned() } else { format!("API group {group}") }
}

/// Sentences naming the system resources the webhook's rules list under a built-in group that
/// does not serve them (`leases` under `""`): such an entry matches nothing, which is why the
/// summary does not name them there.
fn misplaced_resources(w: &Webhook) -> String {
    let known: Vec<&str> = SYSTEM_RESOURCES.iter().map(|(g, _)| *g).collect();
    let mut seen: Vec<(&str, &str)> = Vec::new();
    let mut out = String::new();
    for rule in &w.rules {
        for group in rule.api_groups.iter().filter(|g| known.contains(&g.as_str())) {
            for listed in &rule.resources {
                let name = listed.split('/').next().unwrap_or(listed);
                let serving = served_by(name);
                if serving.is_empty() || serving.contains(&group.as_str()) || seen.contains(&(group, name)) {
                    continue;
                }
                seen.push((group, name));
                let owners: Vec<String> = serving
                    .iter()
                    .map(|g| if g.is_empty() { "the core group".to_owned() } else { (*g).to_owned() })
                    .collect();
                out.push_str(&format!(
                    " Its rules list {name} under {}, which serves none: {name} are served by {}, so that entry \
                     matches nothing.",
                    group_phrase(group),
                    join_and(&owners)
                ));
            }
        }
    }
    out
}

/// Whether `ops` hold a create or an update: what system components need to recover.
fn blocks_creates_or_updates(ops: &[&str]) -> bool {
    ops.iter().any(|op| *op == "CREATE" || *op == "UPDATE")
}

/// `Creates, updates and deletes`, `Deletes`, … (`capital` for the start of a sentence).
fn operations_phrase(ops: &[&str], capital: bool) -> String {
    let words: Vec<String> = ops
        .iter()
        .map(|op| match *op {
            "CREATE" => "creates",
            "UPDATE" => "updates",
            "DELETE" => "deletes",
            other => other,
        })
        .map(str::to_owned)
        .collect();
    let phrase = if words.is_empty() { "writes".to_owned() } else { join_and(&words) };
    if capital { capitalised(&phrase) } else { phrase }
}

/// `text` with its first letter upper-case, to start a sentence.
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// The labels AKS sets on kube-system (its admissions enforcer adds `control-plane` and
/// `kubernetes.azure.com/managedby` expressions to webhooks that leave it out).
const AKS_KUBE_SYSTEM_LABELS: [(&str, &str); 2] =
    [("control-plane", "true"), ("kubernetes.azure.com/managedby", "aks")];

/// Why the manifests look like an AKS cluster's, if they do: a Namespace or webhook
/// configuration with an AKS label or annotation, or a webhook with the expression AKS's
/// admissions enforcer adds to namespace selectors.
fn aks_evidence(m: &Manifests) -> Option<String> {
    #[cfg(test)]
    AKS_SCANS.with(|n| n.set(n.get() + 1));
    let aks_key = |k: &str| k.starts_with("kubernetes.azure.com/") || k.starts_with("admissions.enforcer/");
    if let Some((ns, _)) = m.namespace_labels.iter().find(|(_, l)| l.keys().any(|k| aks_key(k))) {
        return Some(format!("Namespace {ns} carries an AKS label"));
    }
    for c in &m.webhook_configurations {
        if c.labels.keys().any(|k| aks_key(k)) {
            return Some(format!("{} carries an AKS label or annotation", c.display_name()));
        }
        for w in &c.webhooks {
            if w.namespace_selector
                .match_expressions
                .iter()
                .any(|r| r.key == "kubernetes.azure.com/managedby")
            {
                return Some(format!(
                    "webhook {} has the kubernetes.azure.com/managedby expression AKS's admissions enforcer adds",
                    w.name
                ));
            }
        }
    }
    None
}

/// The labels of namespace `name`: as given in the manifests, else the one every namespace
/// carries, plus for kube-system the labels AKS sets when `aks`. The second value says whether
/// they were given.
fn namespace_labels(m: &Manifests, name: &str, aks: bool) -> (BTreeMap<String, String>, bool) {
    if let Some(l) = m.namespace_labels.get(name) {
        return (l.clone(), true);
    }
    let mut l = BTreeMap::from([(NAME_LABEL.to_owned(), name.to_owned())]);
    if name == "kube-system" && aks {
        for (k, v) in AKS_KUBE_SYSTEM_LABELS {
            l.insert(k.to_owned(), v.to_owned());
        }
    }
    (l, false)
}

/// What was assumed, or checked, to judge a webhook.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Judged {
    /// The labels of every namespace found exposed were given.
    labels_given: bool,
    /// kube-system's labels were not given and were assumed: `Some(evidence)` of AKS when its
    /// labels were taken, `Some("")` for the plain label alone.
    kube_system_assumed: Option<String>,
    /// kube-system is exposed with its plain labels, and would not be on AKS.
    aks_would_exclude: bool,
    /// The workloads whose pod labels were matched against the objectSelector for the
    /// webhook's own pods (`Deployment ns/name`); empty when none was given.
    own_pods_checked: Vec<String>,
}

/// What the manifests say about every webhook alike, found once per run (finding it for each
/// webhook made the run quadratic in the number of webhooks).
struct Cluster<'a> {
    /// Why the manifests look like AKS's ([`aks_evidence`]).
    aks: Option<String>,
    /// The workloads given, by namespace.
    workloads: BTreeMap<&'a str, Vec<&'a crate::Workload>>,
}

impl<'a> Cluster<'a> {
    fn new(m: &'a Manifests) -> Self {
        let mut workloads: BTreeMap<&str, Vec<&crate::Workload>> = BTreeMap::new();
        for wl in &m.workloads {
            if let Some(ns) = &wl.namespace {
                workloads.entry(ns.as_str()).or_default().push(wl);
            }
        }
        Cluster { aks: aks_evidence(m), workloads }
    }
}

/// The labels the kubelet sets on every Node, with placeholder values: a selector whose outcome
/// depends on their values is not decided by them (see [`nodes_seen`]).
const NODE_LABELS: [(&str, &str); 3] =
    [("kubernetes.io/hostname", "node"), ("kubernetes.io/os", "os"), ("kubernetes.io/arch", "arch")];

/// Whether an objectSelector takes in Node objects, matched against the labels every Node
/// carries: `None` when it leaves every one out, `Some` of no key when it takes in every one,
/// and `Some` of the label keys its outcome depends on when it compares their values (`In`,
/// `NotIn` or `matchLabels` on `kubernetes.io/os`…), which are not known.
fn nodes_seen(selector: &LabelSelector) -> Option<Vec<String>> {
    let is_node_label = |key: &str| NODE_LABELS.iter().any(|(k, _)| *k == key);
    let mut depends_on: Vec<String> = Vec::new();
    let mut presence_only = selector.clone();
    presence_only.match_labels.retain(|k, _| {
        let compared = is_node_label(k);
        if compared {
            depends_on.push(k.clone());
        }
        !compared
    });
    presence_only.match_expressions.retain(|r| {
        let compared = is_node_label(&r.key) && matches!(r.operator, Operator::In | Operator::NotIn);
        if compared {
            depends_on.push(r.key.clone());
        }
        !compared
    });
    let labels: BTreeMap<String, String> =
        NODE_LABELS.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    if !presence_only.matches(&labels) {
        return None;
    }
    depends_on.sort();
    depends_on.dedup();
    Some(depends_on)
}

/// Whether the name of `resource` (of `group`) alone would be ambiguous: another system
/// resource has that name in another group, or the webhook's rules list it under another group
/// (as a webhook listing `leases` under `""` and under `coordination.k8s.io` does).
fn listed_under_another_group(w: &Webhook, group: &str, resource: &str) -> bool {
    let name = resource.split('/').next().unwrap_or(resource);
    served_by(name).iter().any(|g| *g != group)
        || w.rules.iter().any(|rule| {
            rule.resources.iter().any(|r| r.split('/').next() == Some(name))
                && rule.api_groups.iter().any(|g| g != "*" && g != group)
        })
}

/// What `w` takes in that the cluster needs to recover, and what was assumed to say so.
fn exposures(m: &Manifests, cluster: &Cluster<'_>, w: &Webhook) -> (Vec<Exposure>, Judged) {
    let mut out = Vec::new();
    let aks = &cluster.aks;
    let mut judged = Judged { labels_given: true, ..Judged::default() };
    // Objects without labels: most of what the control plane writes in kube-system.
    let unlabelled_seen = w.object_selector.matches(&BTreeMap::new());
    let namespace_seen = |name: &str, judged: &mut Judged| {
        let (labels, given) = namespace_labels(m, name, aks.is_some());
        let seen = w.namespace_selector.matches(&labels);
        if seen && !given {
            judged.labels_given = false;
        }
        if name == "kube-system" && !given {
            judged.kube_system_assumed = Some(aks.clone().unwrap_or_default());
            if seen && aks.is_none() {
                let (aks_labels, _) = namespace_labels(m, name, true);
                judged.aks_would_exclude = !w.namespace_selector.matches(&aks_labels);
            }
        }
        seen
    };
    if unlabelled_seen && namespace_seen("kube-system", &mut judged) {
        let rs: Vec<SystemResource> = SYSTEM_RESOURCES
            .iter()
            .filter_map(|&(group, resource)| {
                let ops: Vec<&'static str> = ["CREATE", "UPDATE", "DELETE"]
                    .into_iter()
                    .filter(|op| w.rules.iter().any(|rule| rule.covers(group, resource, true, Some(op))))
                    .collect();
                let qualified = listed_under_another_group(w, group, resource);
                (!ops.is_empty()).then_some(SystemResource { group, resource, ops, qualified })
            })
            .collect();
        if !rs.is_empty() {
            out.push(Exposure::KubeSystem(rs));
        }
    }
    if !out.iter().any(|e| matches!(e, Exposure::KubeSystem(..))) {
        // Nothing in kube-system is exposed: the assumption did not matter.
        judged.kube_system_assumed = None;
        judged.aks_would_exclude = false;
    }
    if unlabelled_seen
        && w.rules.iter().any(|r| r.covers("coordination.k8s.io", "leases", true, Some("UPDATE")))
        && namespace_seen("kube-node-lease", &mut judged)
    {
        out.push(Exposure::NodeLeases);
    }
    // A namespaceSelector never leaves out a cluster-scoped object; an objectSelector leaves
    // Node objects out only by the labels they carry (review 47 #5: `DoesNotExist` on a key no
    // node carries takes in every one).
    let node_writes = NodeWrites::of(w);
    if node_writes.any()
        && let Some(depends_on) = nodes_seen(&w.object_selector)
    {
        out.push(Exposure::Nodes(depends_on, node_writes));
    }
    if let Some(svc) = &w.service
        && w.rules.iter().any(|r| {
            r.covers("", "pods", true, Some("CREATE")) || r.covers("", "pods/binding", true, Some("CREATE"))
        })
    {
        // Its own pods: those of the workloads given in its service's namespace, matched by
        // their labels; without any, a pod without labels.
        let own: &[&crate::Workload] =
            cluster.workloads.get(svc.namespace.as_str()).map_or(&[], Vec::as_slice);
        let own_seen = if w.object_selector.is_empty() {
            true
        } else if own.is_empty() {
            unlabelled_seen
        } else {
            judged.own_pods_checked =
                own.iter().map(|wl| format!("{} {}/{}", wl.kind, svc.namespace, wl.name)).collect();
            own.iter().any(|wl| w.object_selector.matches(&wl.pod_labels))
        };
        if own_seen && namespace_seen(&svc.namespace, &mut judged) {
            out.push(Exposure::OwnPods(svc.namespace.clone()));
        }
    }
    (out, judged)
}

/// What leaving `namespaces` out of a `namespaceSelector` that picks namespaces by name takes
/// from it. Such a selector picks them on purpose: the patch would take those away, and with
/// them maybe all the webhook does (review s44).
struct NamesCut {
    /// The namespaces it picks that would be left out.
    taken: Vec<String>,
    /// The namespaces it would still pick: none when it would cover no namespace at all.
    left: Vec<String>,
}

/// [`NamesCut`] of `selector` for `namespaces`; `None` when it picks namespaces of any name, or
/// none of `namespaces` (leaving them out then takes nothing from it).
fn names_cut(selector: &LabelSelector, namespaces: &[&str]) -> Option<NamesCut> {
    let (taken, left): (Vec<String>, Vec<String>) =
        selector.only_names()?.into_iter().partition(|n| namespaces.contains(&n.as_str()));
    (!taken.is_empty()).then_some(NamesCut { taken, left })
}

/// Who manages the configuration, from its labels and annotations.
fn manager(c: &WebhookConfiguration) -> Option<String> {
    for key in ["app.kubernetes.io/managed-by", "webhook.kyverno.io/managed-by", "app.kubernetes.io/part-of"]
    {
        if let Some(v) = c.labels.get(key).filter(|v| !v.is_empty() && v.as_str() != "Helm") {
            return Some(v.clone());
        }
    }
    None
}

/// Every webhook of the manifests, by name: names are unique only within one configuration
/// (cert-manager's MutatingWebhookConfiguration and ValidatingWebhookConfiguration both hold
/// `webhook.cert-manager.io`).
type ByName<'a> = BTreeMap<&'a str, Vec<(&'a WebhookConfiguration, &'a Webhook)>>;

fn by_name(m: &Manifests) -> ByName<'_> {
    let mut out: ByName<'_> = BTreeMap::new();
    for c in &m.webhook_configurations {
        for w in &c.webhooks {
            out.entry(w.name.as_str()).or_default().push((c, w));
        }
    }
    out
}

/// Which webhooks of the manifests a failure of webhook `name` (`failed calling webhook
/// "NAME"`) can come from.
struct FailingMatch<'a> {
    /// The webhooks it comes from, or may come from when `ambiguous`: those that fail closed
    /// (one that fails open has its failures ignored, and rejects nothing), narrowed to those
    /// called at a host the failure messages name when any is.
    failing: Vec<(&'a WebhookConfiguration, &'a Webhook)>,
    /// More than one configuration may be the one, and the messages do not tell which.
    ambiguous: bool,
    /// The hosts the failure messages name.
    hosts: Vec<String>,
    /// Fail-closed webhooks of that name left out because they are called elsewhere.
    elsewhere: Vec<&'a WebhookConfiguration>,
    /// Webhooks of that name that fail open.
    fail_open: Vec<&'a WebhookConfiguration>,
}

impl<'a> FailingMatch<'a> {
    fn new(all: &ByName<'a>, name: &str, hosts: &BTreeSet<String>) -> Self {
        let same: &[(&WebhookConfiguration, &Webhook)] = all.get(name).map_or(&[], Vec::as_slice);
        let fail_open =
            same.iter().filter(|(_, w)| w.failure_policy != FailurePolicy::Fail).map(|(c, _)| *c).collect();
        let closed: Vec<_> =
            same.iter().copied().filter(|(_, w)| w.failure_policy == FailurePolicy::Fail).collect();
        let called = |w: &Webhook| w.call_host().is_some_and(|h| hosts.contains(&h));
        let (failing, elsewhere): (Vec<_>, Vec<_>) = closed.iter().copied().partition(|(_, w)| called(w));
        let mut out = FailingMatch {
            failing,
            ambiguous: false,
            hosts: hosts.iter().cloned().collect(),
            elsewhere: elsewhere.iter().map(|(c, _)| *c).collect(),
            fail_open,
        };
        if out.failing.is_empty() {
            // No host named, or none of theirs: the name is all there is to go by.
            out.failing = closed;
            out.elsewhere.clear();
            out.ambiguous = out.failing.len() > 1;
        }
        out
    }

    fn includes(&self, c: &WebhookConfiguration, w: &Webhook) -> bool {
        self.failing.iter().any(|(fc, fw)| std::ptr::eq(*fc, c) && std::ptr::eq(*fw, w))
    }

    /// The candidates when ambiguous: `MutatingWebhookConfiguration/a (called at h)`, ….
    fn candidates(&self) -> String {
        join_and(
            &self
                .failing
                .iter()
                .map(|(c, w)| match w.call_host() {
                    Some(h) => format!("{} (called at {h})", c.display_name()),
                    None => c.display_name(),
                })
                .collect::<Vec<_>>(),
        )
    }

    /// What the failure messages say, for the ambiguity note.
    fn hosts_said(&self) -> String {
        if self.hosts.is_empty() {
            "the failure messages name no URL".to_owned()
        } else {
            format!("the failure messages call {}, the host of none of them", join_and(&self.hosts))
        }
    }

    /// Sentences for the failing-webhook finding's summary: which configurations were left out,
    /// and why, and when the name is ambiguous.
    fn note(&self, name: &str) -> String {
        let mut out = String::new();
        if self.ambiguous {
            out.push_str(&format!(
                " The name {name} is ambiguous: webhook names are unique only within one configuration, and {} \
                 fail-closed configurations hold one ({}); {}, so which one fails is not known: compare the URL \
                 of the failures with each one's clientConfig before patching.",
                self.failing.len(),
                self.candidates(),
                self.hosts_said()
            ));
        } else if !self.elsewhere.is_empty() {
            let names: Vec<String> = self.elsewhere.iter().map(|c| c.display_name()).collect();
            out.push_str(&format!(
                " The failures call {}, which is {}'s; {} also hold{} a webhook of this name but {} called elsewhere.",
                join_and(&self.hosts),
                join_and(&self.failing.iter().map(|(c, _)| c.display_name()).collect::<Vec<_>>()),
                join_and(&names),
                if names.len() == 1 { "s" } else { "" },
                if names.len() == 1 { "it is" } else { "they are" }
            ));
        }
        if !self.fail_open.is_empty() {
            let names: Vec<String> = self.fail_open.iter().map(|c| c.display_name()).collect();
            out.push_str(&format!(
                " {} also hold{} a webhook of this name, but it fails open (failurePolicy: Ignore): its failures are \
                 ignored and cannot be these rejections.",
                join_and(&names),
                if names.len() == 1 { "s" } else { "" }
            ));
        }
        if self.failing.is_empty() && !self.fail_open.is_empty() {
            out.push_str(" The webhook that fails closed is not in the manifests given.");
        }
        out
    }
}

/// Rewrites the remedies of each failing-webhook finding (AUD007 from the audit log, MET009
/// from the metrics) whose webhook the manifests hold: the patch names its configuration, keeps
/// its namespaceSelector's expressions and adds kube-system and its own namespace to them (as
/// WHK001's patch does), and says when a controller manages the configuration and will revert
/// the patch. When the selector picks namespaces by name, those among them, the patch only
/// makes the webhook fail open and says why (leaving them out could turn the webhook off).
/// MET009 keeps its advice to follow the failures live in Prometheus.
pub fn refine_failing_webhooks(findings: &mut [Finding], m: &Manifests) {
    let all = by_name(m);
    let failing = |f: &Finding| (f.code == "AUD007" || f.code == "MET009") && f.subject.kind == "webhook";
    for f in findings.iter_mut().filter(|f| failing(f)) {
        let found = FailingMatch::new(&all, &f.subject.name, &super::failure_hosts(f));
        let note = found.note(&f.subject.name);
        let mut remedies = Vec::new();
        if found.ambiguous {
            remedies.push(Remedy {
                title: format!(
                    "Find which configuration's webhook {} fails: {} fail-closed configurations hold one",
                    f.subject.name,
                    found.failing.len()
                ),
                kind: RemedyKind::Command,
                body: found
                    .failing
                    .iter()
                    .map(|(c, w)| {
                        format!(
                            "kubectl get {} {} -o jsonpath={}",
                            c.kind.resource(),
                            shell_quote(&c.name),
                            shell_quote(&format!("{{.webhooks[{}].clientConfig}}", w.index))
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
                    + "\n# Compare each clientConfig with the URL in the failure messages; patch only the one that fails.",
                safety: Safety::Safe,
            });
        }
        for (c, w) in &found.failing {
            let mut excluded = vec!["kube-system"];
            if let Some(svc) = &w.service
                && svc.namespace != "kube-system"
            {
                excluded.push(svc.namespace.as_str());
            }
            let managed = manager(c);
            // A selector that picks namespaces by name, kube-system or its own among them: the
            // patch would take those away, maybe all it covers (review 47 #3). Failing open
            // unblocks the cluster without that.
            let cut = names_cut(&w.namespace_selector, &excluded);
            let mut these = known_webhook_remedies(
                &KnownWebhook {
                    kind: c.kind,
                    configuration: &c.name,
                    webhook: &w.name,
                    namespace_selector: match cut {
                        Some(_) => serde_json::Value::Null,
                        None => w.namespace_selector.excluding(&excluded),
                    },
                },
                &excluded,
                w.service.as_ref().map(|s| (s.namespace.as_str(), s.name.as_str())),
                managed.as_deref(),
            );
            if let (Some(cut), Some(patch)) = (&cut, these.first_mut()) {
                // One comment line: the names come from the manifests.
                let caution = match cut.left.as_slice() {
                    [] => format!(
                        "CAUTION: its namespaceSelector picks only {} by name: leaving {} out would make it \
                         cover no namespace at all, which turns the webhook off. It exists for {}: this patch only \
                         makes it fail open (failurePolicy: Ignore) while its backend is down; make its backend \
                         highly available, and set failurePolicy back to Fail once it is back.",
                        join_and(&cut.taken),
                        if cut.taken.len() == 1 { "it" } else { "them" },
                        if cut.taken.len() == 1 { "that namespace" } else { "those namespaces" }
                    ),
                    left => format!(
                        "CAUTION: its namespaceSelector picks namespaces by name; leaving {} out of it would make \
                         it cover only {}, taking away namespaces it exists for: this patch only makes it fail open \
                         (failurePolicy: Ignore) while its backend is down; make its backend highly available, and \
                         set failurePolicy back to Fail once it is back.",
                        join_and(&cut.taken),
                        join_and(left)
                    ),
                };
                patch.body.push_str(&format!("\n# {}", one_line(&caution)));
            }
            if w.service.is_none()
                && let (Some(url), Some(advice)) = (&w.url, these.get_mut(1))
            {
                // Called at a URL: there is no service to check.
                advice.title = "Check the webhook's backend".to_owned();
                advice.body = format!(
                    "A webhook with failurePolicy: Fail that cannot be reached blocks every request it covers. It is \
                     called at {url} (clientConfig.url), not through a service of the cluster: check that the API \
                     server can reach it (DNS, network, TLS certificate), and keep its timeoutSeconds short (the \
                     default is 10 s)."
                );
            }
            if found.ambiguous {
                for r in &mut these {
                    r.title = format!("If it is {}'s: {}", c.display_name(), r.title);
                }
            }
            remedies.extend(these);
        }
        if !remedies.is_empty() {
            // MET009's PromQL to follow the failures stays: the patch does not replace it.
            let live: Vec<Remedy> = std::mem::take(&mut f.remedies)
                .into_iter()
                .filter(|r| {
                    f.code == "MET009" && r.kind == RemedyKind::Advice && r.title.contains("Prometheus")
                })
                .collect();
            f.remedies = remedies;
            f.remedies.extend(live);
        }
        f.summary.push_str(&note);
    }
}

/// Runs WHK001.
pub fn run(m: &Manifests, ctx: &Context, out: &mut Vec<Finding>) {
    let cluster = Cluster::new(m);
    let all = by_name(m);
    let no_hosts = BTreeSet::new();
    // Which webhooks each failing name is, once per name.
    let matches: BTreeMap<&str, FailingMatch<'_>> = ctx
        .failing
        .keys()
        .map(|name| {
            let hosts = ctx.failing_hosts.get(name).unwrap_or(&no_hosts);
            (name.as_str(), FailingMatch::new(&all, name, hosts))
        })
        .collect();
    for c in &m.webhook_configurations {
        for w in &c.webhooks {
            if w.failure_policy != FailurePolicy::Fail {
                continue;
            }
            let (exp, judged) = exposures(m, &cluster, w);
            if exp.is_empty() {
                continue;
            }
            let failing = ctx
                .failing
                .get(&w.name)
                .zip(matches.get(w.name.as_str()))
                .filter(|(_, found)| found.includes(c, w));
            out.push(finding(c, w, &exp, &judged, failing, ctx));
        }
    }
}

fn finding(
    c: &WebhookConfiguration,
    w: &Webhook,
    exp: &[Exposure],
    judged: &Judged,
    failing_now: Option<(&BTreeSet<String>, &FailingMatch<'_>)>,
    ctx: &Context,
) -> Finding {
    let failing = failing_now.map(|(codes, _)| codes);
    let ambiguous = failing_now.filter(|(_, found)| found.ambiguous).map(|(_, found)| found);
    let what = join_and(&exp.iter().map(Exposure::short).collect::<Vec<_>>());
    let (severity, title) = if ambiguous.is_some() {
        (Severity::Critical, format!("Webhook {} may be the one failing, and fails closed on {what}", w.name))
    } else if failing.is_some() {
        (Severity::Critical, format!("Webhook {} is failing and fails closed on {what}", w.name))
    } else if exp
        .iter()
        .all(|e| matches!(e, Exposure::KubeSystem(rs) if !blocks_creates_or_updates(&all_operations(rs))))
    {
        // Only deletes in kube-system: components can still be created and updated, and
        // recover; worth knowing, not a deadlock.
        (Severity::Info, format!("Webhook {} fails closed on {what}", w.name))
    } else {
        (Severity::Warning, format!("Webhook {} fails closed on {what}", w.name))
    };
    let mut summary = format!(
        "{} `{}` has `failurePolicy: Fail`, and its rules and selectors take in {what}. When its backend is down, every such request is rejected after waiting up to {} s.",
        c.display_name(),
        findings::text::literal_backticks(&w.name),
        w.timeout_seconds,
    );
    if let Some(codes) = failing {
        let codes: Vec<String> = codes.iter().cloned().collect();
        match ambiguous {
            Some(found) => summary.push_str(&format!(
                " A webhook named {} is failing now ({}), but webhook names are unique only within one \
                 configuration and {} fail-closed configurations hold one ({}); {}, so this one may not be it: \
                 compare the URL of the failures with its clientConfig. If it is, the cluster cannot heal until it \
                 is fixed or fails open.",
                w.name,
                join_and(&codes),
                found.failing.len(),
                found.candidates(),
                found.hosts_said()
            )),
            None => summary.push_str(&format!(
                " It is failing now ({}): the cluster cannot heal until it is fixed or fails open.",
                join_and(&codes)
            )),
        }
    }
    for e in exp {
        summary.push_str(&match e {
            Exposure::KubeSystem(rs) => kube_system_effect(w, rs),
            Exposure::NodeLeases => " Kubelets cannot renew their leases, so nodes go NotReady.".to_owned(),
            Exposure::Nodes(_, writes) if w.object_selector.is_empty() => {
                format!(" {}, and a namespaceSelector cannot leave those out.", writes.effect())
            }
            Exposure::Nodes(depends_on, writes) if depends_on.is_empty() => format!(
                " {}: a namespaceSelector cannot leave those out, and its objectSelector takes in every Node (it was \
                 matched against the labels every Node carries: {}).",
                writes.effect(),
                node_label_keys()
            ),
            Exposure::Nodes(depends_on, writes) => format!(
                " {}, unless its objectSelector leaves them out: it was not checked, as that depends on the values \
                 of their {} label{} (a namespaceSelector cannot leave Node objects out).",
                writes.effect(),
                join_and(depends_on),
                if depends_on.len() == 1 { "" } else { "s" }
            ),
            Exposure::OwnPods(_) if w.object_selector.is_empty() => {
                " Its own pods cannot be recreated: once they are gone it cannot come back by itself.".to_owned()
            }
            Exposure::OwnPods(ns) if judged.own_pods_checked.is_empty() => format!(
                " Its own pods cannot be recreated, unless its objectSelector leaves them out: it was not checked \
                 against their labels, as no Deployment, DaemonSet or StatefulSet of {ns} was given (add the \
                 webhook's install manifest to check it)."
            ),
            Exposure::OwnPods(_) => format!(
                " Its own pods ({}) cannot be recreated, as its objectSelector takes them in: once they are gone it \
                 cannot come back by itself.",
                join_and(&judged.own_pods_checked)
            ),
        });
    }
    match &judged.kube_system_assumed {
        Some(evidence) if evidence.is_empty() => {
            summary.push_str(
                " No Namespace object was given for kube-system: it is taken to carry only \
                 kubernetes.io/metadata.name=kube-system, as on kubeadm, EKS and GKE clusters",
            );
            if judged.aks_would_exclude {
                summary.push_str(
                    "; on AKS, where kube-system carries control-plane=true and kubernetes.azure.com/managedby=aks, \
                     this webhook's namespaceSelector would leave it out",
                );
            }
            summary.push_str(
                " (add `kubectl get namespace kube-system -o yaml` to the manifests to use its real labels).",
            );
        }
        Some(evidence) => summary.push_str(&format!(
            " No Namespace object was given for kube-system: it is taken to carry the labels AKS sets \
             (control-plane=true, kubernetes.azure.com/managedby=aks), since {evidence}."
        )),
        None => {}
    }
    if !w.match_conditions.is_empty() {
        summary.push_str(&format!(
            " Its matchConditions ({}) are not evaluated here and may leave some of these requests out: review them.",
            w.match_conditions.join(", ")
        ));
    }
    let opt_outs = w.namespace_selector.opt_outs();
    if !judged.labels_given && !opt_outs.is_empty() {
        summary.push_str(&format!(
            " Its namespaceSelector leaves out namespaces labelled {}; no labels were given for the namespaces above, so they are taken to carry only kubernetes.io/metadata.name (add `kubectl get namespace -o yaml` to the manifests to use their real labels).",
            join_or(&opt_outs)
        ));
    }
    let managed = manager(c);
    if let Some(by) = &managed {
        summary.push_str(&format!(
            " The configuration is managed by {by}, which may undo a patch: make the change in its settings."
        ));
    }
    let mut remedies = Vec::new();
    if failing.is_some() {
        remedies.push(Remedy {
            title: if ambiguous.is_some() {
                format!(
                    "If it is the one failing, unblock the cluster now: make {} of {} fail open until its backend is back",
                    w.name,
                    c.display_name()
                )
            } else {
                format!("Unblock the cluster now: make {} fail open until its backend is back", w.name)
            },
            kind: RemedyKind::Command,
            body: fail_open_patch(c.kind, &c.name, &w.name),
            safety: Safety::ReviewFirst,
        });
    }
    // Each namespace once, in the order of the exposures (a webhook served from kube-system
    // covers kube-system twice over).
    let mut namespaces: Vec<&str> = Vec::new();
    for e in exp {
        let ns = match e {
            Exposure::KubeSystem(..) => "kube-system",
            Exposure::NodeLeases => "kube-node-lease",
            Exposure::OwnPods(ns) => ns.as_str(),
            Exposure::Nodes(..) => continue,
        };
        if !namespaces.contains(&ns) {
            namespaces.push(ns);
        }
    }
    if !namespaces.is_empty() {
        let left = names_cut(&w.namespace_selector, &namespaces).map(|cut| cut.left);
        let purpose = match &left {
            Some(left) if left.is_empty() => format!(
                "\n# CAUTION: its namespaceSelector picks only {} by name: after this patch it covers no namespace at \
                 all, which turns the webhook off. It exists for those namespaces: rather than this patch, make it \
                 fail open (failurePolicy: Ignore) while its backend is down, and make its backend highly available.",
                join_and(&namespaces.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            ),
            Some(left) => format!(
                "\n# CAUTION: its namespaceSelector picks namespaces by name; after this patch it covers only {}. Check \
                 that the webhook is not meant for the namespaces taken out.",
                join_and(left)
            ),
            None => String::new(),
        };
        remedies.push(Remedy {
            title: format!("Stop {} covering {}", w.name, join_and(&namespaces.iter().map(|s| s.to_string()).collect::<Vec<_>>())),
            kind: RemedyKind::Command,
            body: format!(
                "{}\n# The selector above is the webhook's current one with the namespaces added to a NotIn on {NAME_LABEL}.{purpose}",
                namespace_selector_patch(&KnownWebhook {
                    kind: c.kind,
                    configuration: &c.name,
                    webhook: &w.name,
                    namespace_selector: w.namespace_selector.excluding(&namespaces),
                })
            ),
            safety: Safety::ReviewFirst,
        });
        if let Some(label) = opt_outs.first() {
            let label = if label.contains('=') { label.clone() } else { format!("{label}=true") };
            remedies.push(Remedy {
                title: format!(
                    "Or label the namespaces so the webhook's own selector leaves them out ({label})"
                ),
                kind: RemedyKind::Command,
                body: namespaces
                    .iter()
                    .map(|ns| {
                        format!(
                            "kubectl label namespace {} {} --overwrite",
                            shell_quote(ns),
                            shell_quote(&label)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
                safety: Safety::ReviewFirst,
            });
        }
    }
    if exp.iter().any(|e| matches!(e, Exposure::Nodes(..))) {
        remedies.push(Remedy {
            title: format!("Narrow the rules of {} to the resources it needs", w.name),
            kind: RemedyKind::Advice,
            body: "Its rules cover Node objects (through `*` or `nodes`), and a namespaceSelector never leaves out a cluster-scoped object. List the resources the webhook needs instead of `*`, or scope the rule to `Namespaced`.".to_owned(),
            safety: Safety::Safe,
        });
    }
    remedies.push(Remedy {
        title: "Read the configuration as the cluster has it now".to_owned(),
        kind: RemedyKind::Command,
        body: format!("kubectl get {} {} -o yaml", c.kind.resource(), shell_quote(&c.name)),
        safety: Safety::Safe,
    });
    Draft {
        severity,
        title,
        subject: Subject::new("webhook", w.name.clone()),
        summary,
        source: format!("manifests:{}:{}", c.file, c.line),
        measures: vec![
            Measure::new("timeoutSeconds", f64::from(w.timeout_seconds), "s"),
            Measure::new("rules", w.rules.len() as f64, "count"),
        ],
        table: Some(Table {
            columns: vec!["takes in".into(), "resources".into(), "when it is down".into()],
            rows: exp.iter().flat_map(Exposure::rows).collect(),
        }),
        thresholds: Vec::new(),
        remedies,
    }
    .into_finding(&INFO, &ctx.thresholds)
}

/// `kubernetes.io/hostname, kubernetes.io/os and kubernetes.io/arch`.
fn node_label_keys() -> String {
    join_and(&NODE_LABELS.iter().map(|(k, _)| (*k).to_owned()).collect::<Vec<_>>())
}

/// `a`, `a and b`, `a, b and c`.
pub(crate) fn join_and(items: &[String]) -> String {
    join_with(items, "and")
}

/// `a`, `a or b`, `a, b or c`.
pub(crate) fn join_or(items: &[String]) -> String {
    join_with(items, "or")
}

fn join_with(items: &[String], word: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} {word} {last}", rest.join(", ")),
    }
}

#[cfg(test)]
thread_local! {
    /// How many times [`aks_evidence`] walked the manifests, for the test that it is once a run.
    static AKS_SCANS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Webhook names whose configuration selector leaves out kube-system, for tests.
#[cfg(test)]
pub(crate) fn covers_kube_system(m: &Manifests, w: &Webhook) -> bool {
    exposures(m, &Cluster::new(m), w).0.iter().any(|e| matches!(e, Exposure::KubeSystem(..)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::parse_text;

    fn manifests(yaml: &str) -> Manifests {
        let mut m = Manifests::default();
        parse_text("w.yaml", yaml, &mut m);
        assert!(m.files[0].problems.is_empty(), "{:?}", m.files[0].problems);
        m
    }

    fn hook(extra: &str) -> String {
        format!(
            "apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nmetadata:\n  name: cfg\nwebhooks:\n- name: w.example.com\n  clientConfig:\n    service:\n      namespace: policy\n      name: svc\n  rules:\n  - apiGroups: ['']\n    apiVersions: [v1]\n    operations: [CREATE, UPDATE]\n    resources: [pods]\n{extra}"
        )
    }

    /// Review s20 item 11: every webhook walked every configuration again for AKS's labels, so
    /// a run took time quadratic in the number of webhooks (8,000 configurations: 3.6 s).
    #[test]
    fn the_manifests_are_searched_for_aks_once_per_run_not_once_per_webhook() {
        let yaml: String =
            (0..40).map(|i| hook("").replace("name: cfg", &format!("name: cfg-{i}")) + "---\n").collect();
        let m = manifests(&yaml);
        AKS_SCANS.with(|n| n.set(0));
        let mut out = Vec::new();
        run(&m, &Context::default(), &mut out);
        assert_eq!(out.len(), 40);
        assert_eq!(AKS_SCANS.with(std::cell::Cell::get), 1);
    }

    #[test]
    fn a_fail_closed_pod_webhook_without_selectors_covers_kube_system_and_its_own_pods() {
        let m = manifests(&hook(""));
        let mut out = Vec::new();
        run(&m, &Context::default(), &mut out);
        assert_eq!(out.len(), 1);
        let f = &out[0];
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(f.title, "Webhook w.example.com fails closed on kube-system and its own pods in policy");
        assert_eq!(f.evidence.source, "manifests:w.yaml:1");
        let patch = &f.remedies[0].body;
        assert!(patch.contains(r#""values":["kube-system","policy"]"#), "{patch}");
        // Failing now: critical, and the first remedy unblocks.
        let ctx = Context {
            failing: [("w.example.com".to_owned(), ["AUD007".to_owned()].into())].into(),
            ..Context::default()
        };
        let mut out = Vec::new();
        run(&m, &ctx, &mut out);
        assert_eq!(out[0].severity, Severity::Critical);
        assert!(out[0].summary.contains("It is failing now (AUD007)"), "{}", out[0].summary);
        assert!(out[0].remedies[0].body.contains(r#""failurePolicy":"Ignore""#));
    }

    /// Review s44: a fail-closed webhook on `pods/binding` (every scheduler bind) or on
    /// `pods/status` (every kubelet's readiness report) gave no finding.
    #[test]
    fn webhooks_on_pod_bindings_and_pod_status_are_found_and_say_what_stops() {
        let only = |ops: &str, resources: &str| {
            hook("").replace("operations: [CREATE, UPDATE]", ops).replace("resources: [pods]", resources)
        };
        let m = manifests(&only("operations: [CREATE]", "resources: [pods/binding]"));
        let mut out = Vec::new();
        run(&m, &Context::default(), &mut out);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(
            out[0].title,
            "Webhook w.example.com fails closed on kube-system and its own pods in policy"
        );
        assert!(
            out[0].summary.contains("Creates of pods/binding in kube-system are rejected."),
            "{}",
            out[0].summary
        );
        assert!(
            out[0].summary.contains("The scheduler cannot bind pods there to nodes"),
            "{}",
            out[0].summary
        );
        assert!(!out[0].summary.contains("pods/status"), "{}", out[0].summary);
        let table = out[0].evidence.table.as_ref().expect("table");
        assert!(table.rows.iter().any(|r| r[2].contains("cannot be scheduled")), "{table:?}");

        let m = manifests(&only("operations: [UPDATE]", "resources: [pods/status]"));
        let mut out = Vec::new();
        run(&m, &Context::default(), &mut out);
        assert_eq!(out.len(), 1, "{out:#?}");
        // A status update is no pod creation: its own pods are not said to be stuck.
        assert_eq!(out[0].title, "Webhook w.example.com fails closed on kube-system");
        assert!(
            out[0].summary.contains("Kubelets cannot report the status of pods there"),
            "{}",
            out[0].summary
        );
        assert!(!out[0].summary.contains("scheduler"), "{}", out[0].summary);

        // `pods/*` takes in both; `pods` alone takes in neither subresource.
        let m = manifests(&only("operations: ['*']", "resources: ['pods/*']"));
        let mut out = Vec::new();
        run(&m, &Context::default(), &mut out);
        assert!(out[0].summary.contains("pods/binding and pods/status in kube-system"), "{}", out[0].summary);
        let m = manifests(&hook(""));
        let mut out = Vec::new();
        run(&m, &Context::default(), &mut out);
        assert!(!out[0].summary.contains("pods/binding"), "{}", out[0].summary);
    }

    #[test]
    fn selectors_policies_and_scopes_that_leave_the_system_out_give_no_finding() {
        for extra in [
            "  failurePolicy: Ignore\n",
            "  namespaceSelector:\n    matchExpressions:\n    - {key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system, policy]}\n",
            "  namespaceSelector:\n    matchLabels: {istio-injection: enabled}\n",
            "  objectSelector:\n    matchLabels: {inject: 'true'}\n",
            // What AKS's admissions enforcer adds: the manifests show AKS, so kube-system has its labels.
            "  namespaceSelector:\n    matchExpressions:\n    - {key: control-plane, operator: DoesNotExist}\n    - {key: kubernetes.azure.com/managedby, operator: NotIn, values: [aks]}\n    - {key: kubernetes.io/metadata.name, operator: NotIn, values: [policy]}\n",
        ] {
            let m = manifests(&hook(extra));
            let mut out = Vec::new();
            run(&m, &Context::default(), &mut out);
            assert!(out.is_empty(), "{extra}: {:?}", out.first().map(|f| &f.title));
        }
        let custom = hook("").replace("apiGroups: ['']", "apiGroups: [cert-manager.io]");
        let mut out = Vec::new();
        run(&manifests(&custom), &Context::default(), &mut out);
        assert!(out.is_empty(), "a custom group's resources are not the system's");
    }

    #[test]
    fn namespace_labels_given_in_the_manifests_decide_opt_outs() {
        let extra = "  namespaceSelector:\n    matchExpressions:\n    - {key: config.linkerd.io/admission-webhooks, operator: NotIn, values: [disabled]}\n";
        let m = manifests(&hook(extra));
        let mut out = Vec::new();
        run(&m, &Context::default(), &mut out);
        assert_eq!(out.len(), 1);
        assert!(
            out[0].summary.contains("labelled config.linkerd.io/admission-webhooks=disabled"),
            "{}",
            out[0].summary
        );
        assert!(out[0].remedies.iter().any(|r| r.body.contains(
            "kubectl label namespace kube-system config.linkerd.io/admission-webhooks=disabled --overwrite"
        )));
        let labelled = format!(
            "{}---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: kube-system\n  labels:\n    config.linkerd.io/admission-webhooks: disabled\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: policy\n  labels:\n    config.linkerd.io/admission-webhooks: disabled\n",
            hook(extra)
        );
        let m = manifests(&labelled);
        let w = &m.webhook_configurations[0].webhooks[0];
        assert!(!covers_kube_system(&m, w));
        let mut out = Vec::new();
        run(&m, &Context::default(), &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn a_webhook_served_from_kube_system_names_each_namespace_once_in_its_patch() {
        let yaml = hook("").replace("namespace: policy", "namespace: kube-system").replace(
            "resources: [pods]",
            "resources: [pods, leases]\n  - apiGroups: [coordination.k8s.io]\n    apiVersions: [v1]\n    operations: [UPDATE]\n    resources: [leases]",
        );
        let m = manifests(&yaml);
        let mut out = Vec::new();
        run(&m, &Context::default(), &mut out);
        assert_eq!(
            out[0].title,
            "Webhook w.example.com fails closed on kube-system, node heartbeats (leases in kube-node-lease) and its own pods in kube-system"
        );
        let patch = &out[0].remedies[0].body;
        assert!(patch.contains(r#""values":["kube-system","kube-node-lease"]"#), "{patch}");
    }

    #[test]
    fn a_catch_all_rule_covers_leases_and_nodes_whatever_the_namespace_selector() {
        let yaml = "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata:\n  name: all\nwebhooks:\n- name: all.example.com\n  namespaceSelector:\n    matchExpressions:\n    - {key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system]}\n  rules:\n  - apiGroups: ['*']\n    apiVersions: ['*']\n    operations: ['*']\n    resources: ['*/*']\n  matchConditions:\n  - name: not-system\n    expression: 'true'\n";
        let m = manifests(yaml);
        let mut out = Vec::new();
        run(&m, &Context::default(), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].title,
            "Webhook all.example.com fails closed on node heartbeats (leases in kube-node-lease) and Node objects"
        );
        assert!(out[0].summary.contains("matchConditions (not-system)"));
        assert!(out[0].remedies.iter().any(|r| r.title.starts_with("Narrow the rules")));
        assert!(out[0].remedies[0].body.contains(r#""values":["kube-system","kube-node-lease"]"#));
    }

    /// Remedy review item 5: without Namespace objects kube-system was given AKS's labels on
    /// every cluster, so a webhook whose only exclusion is `control-plane` was not reported for
    /// kube-system, and the summary said the namespaces were taken not to carry the labels.
    #[test]
    fn kube_system_is_taken_to_carry_plain_labels_unless_the_manifests_show_aks() {
        let extra = "  namespaceSelector:\n    matchExpressions:\n    - {key: control-plane, operator: DoesNotExist}\n";
        let m = manifests(&hook(extra));
        let mut out = Vec::new();
        run(&m, &Context::default(), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].title,
            "Webhook w.example.com fails closed on kube-system and its own pods in policy"
        );
        let summary = &out[0].summary;
        assert!(summary.contains("No Namespace object was given for kube-system: it is taken to carry only kubernetes.io/metadata.name=kube-system, as on kubeadm, EKS and GKE clusters; on AKS, where kube-system carries control-plane=true and kubernetes.azure.com/managedby=aks, this webhook's namespaceSelector would leave it out"), "{summary}");
        assert!(!summary.contains("taken not to carry them"), "{summary}");
        // Evidence of AKS in the manifests: kube-system gets its labels, and the summary says why.
        let aks = hook(extra).replace(
            "metadata:\n  name: cfg\n",
            "metadata:\n  name: cfg\n  annotations:\n    admissions.enforcer/disabled: 'false'\n",
        );
        let m = manifests(&aks);
        let mut out = Vec::new();
        run(&m, &Context::default(), &mut out);
        assert_eq!(out[0].title, "Webhook w.example.com fails closed on its own pods in policy");
        // Its real labels, given: they decide.
        let with_ns =
            format!("{}---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: kube-system\n", hook(extra));
        let mut out = Vec::new();
        run(&manifests(&with_ns), &Context::default(), &mut out);
        assert!(
            !out[0].summary.contains("No Namespace object was given for kube-system"),
            "{}",
            out[0].summary
        );
        assert!(out[0].title.contains("kube-system"));
    }

    /// Review s44 item 7: the patch that stops a webhook covering kube-system added a NotIn to a
    /// selector that picks kube-system by name, turning the webhook off without a word.
    #[test]
    fn a_webhook_that_picks_kube_system_by_name_is_not_quietly_turned_off() {
        let cases = [
            (
                "  namespaceSelector:\n    matchLabels: {kubernetes.io/metadata.name: kube-system}\n",
                "# CAUTION: its namespaceSelector picks only kube-system by name: after this patch it covers no namespace at all",
            ),
            (
                "  namespaceSelector:\n    matchExpressions:\n    - {key: kubernetes.io/metadata.name, operator: In, values: [kube-system, apps]}\n",
                "# CAUTION: its namespaceSelector picks namespaces by name; after this patch it covers only apps.",
            ),
        ];
        for (extra, caution) in cases {
            let mut out = Vec::new();
            run(&manifests(&hook(extra)), &Context::default(), &mut out);
            let patch = out[0]
                .remedies
                .iter()
                .find(|r| r.title.starts_with("Stop w.example.com covering"))
                .expect("patch");
            assert!(patch.body.contains(caution), "{}", patch.body);
        }
        // A selector that names no namespace gets no caution.
        let mut out = Vec::new();
        run(&manifests(&hook("")), &Context::default(), &mut out);
        assert!(out[0].remedies.iter().all(|r| !r.body.contains("CAUTION")));
    }

    /// Remedy review item 7: a webhook whose objectSelector leaves out its own pods' label was
    /// said to deadlock on its own pods; the pod labels were in the manifests (its Deployment).
    #[test]
    fn an_object_selector_is_matched_against_the_webhooks_own_pod_labels() {
        let extra = "  namespaceSelector:\n    matchExpressions:\n    - {key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system, kube-node-lease]}\n  objectSelector:\n    matchExpressions:\n    - {key: app.kubernetes.io/name, operator: NotIn, values: [my-webhook]}\n";
        let deployment = |labels: &str| {
            format!(
                "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: my-webhook, namespace: policy}}\nspec:\n  template:\n    metadata: {{labels: {{{labels}}}}}\n"
            )
        };
        // Its pods carry the excluded label: no deadlock, no finding.
        let m = manifests(&format!("{}{}", hook(extra), deployment("app.kubernetes.io/name: my-webhook")));
        let mut out = Vec::new();
        run(&m, &Context::default(), &mut out);
        assert!(out.is_empty(), "{:?}", out.first().map(|f| &f.summary));
        // Its pods do not: the finding names the workload checked.
        let m = manifests(&format!("{}{}", hook(extra), deployment("app: other")));
        let mut out = Vec::new();
        run(&m, &Context::default(), &mut out);
        assert!(out[0].summary.contains("Its own pods (Deployment policy/my-webhook) cannot be recreated, as its objectSelector takes them in"), "{}", out[0].summary);
        // No workload given: said to be unchecked, not asserted.
        let mut out = Vec::new();
        run(&manifests(&hook(extra)), &Context::default(), &mut out);
        assert!(
            out[0].summary.contains(
                "unless its objectSelector leaves them out: it was not checked against their labels"
            ),
            "{}",
            out[0].summary
        );
    }

    /// Remedy review item 8: AUD007's patch used a CONFIGURATION placeholder and replaced the
    /// webhook's whole matchExpressions, although the manifests named the configuration and
    /// held its selector; it left the webhook's own namespace in and did not say kyverno would
    /// revert it.
    #[test]
    fn a_failing_webhooks_patch_is_written_from_its_configuration() {
        let extra = "  namespaceSelector:\n    matchExpressions:\n    - {key: istio-injection, operator: In, values: [enabled]}\n";
        let yaml = hook(extra).replace(
            "metadata:\n  name: cfg\n",
            "metadata:\n  name: cfg\n  labels:\n    webhook.kyverno.io/managed-by: kyverno\n",
        );
        let m = manifests(&yaml);
        let remedy = |title: &str, body: &str| Remedy {
            title: title.into(),
            kind: RemedyKind::Command,
            body: body.into(),
            safety: Safety::ReviewFirst,
        };
        let failing = |name: &str| Finding {
            code: "AUD007".into(),
            severity: Severity::Critical,
            title: String::new(),
            subject: Subject::new("webhook", name),
            time_range: None,
            summary: String::new(),
            evidence: findings::Evidence::default(),
            thresholds: Vec::new(),
            remedies: vec![
                remedy("Find the configuration", "kubectl get …"),
                remedy("patch", "CONFIGURATION"),
            ],
        };
        let mut found = vec![failing("w.example.com"), failing("not-in-the-manifests.example.com")];
        refine_failing_webhooks(&mut found, &m);
        let patch = &found[0].remedies[0];
        assert_eq!(
            patch.title,
            "Make webhook w.example.com fail open (failurePolicy: Ignore) and stop it covering kube-system and policy"
        );
        assert!(
            patch.body.starts_with(r#"kubectl patch mutatingwebhookconfigurations cfg --type=strategic -p '{"webhooks":[{"failurePolicy":"Ignore","name":"w.example.com","namespaceSelector":{"matchExpressions":[{"key":"istio-injection","operator":"In","values":["enabled"]},{"key":"kubernetes.io/metadata.name","operator":"NotIn","values":["kube-system","policy"]}]}}]}'"#),
            "{}",
            patch.body
        );
        assert!(
            patch.body.contains("cfg is managed by kyverno, which will put its own settings back"),
            "{}",
            patch.body
        );
        assert!(!found[0].remedies.iter().any(|r| r.body.contains("CONFIGURATION")));
        assert!(
            found[0].remedies[1].body.contains("kubectl get endpoints -n policy svc"),
            "{}",
            found[0].remedies[1].body
        );
        // A webhook the manifests do not hold keeps its remedies.
        assert_eq!(found[1].remedies[1].body, "CONFIGURATION");
    }

    /// Review s26 (diagnose, item 11): MET009's "unblock writes" remedy said to find
    /// CONFIGURATION and INDEX by hand, while AUD007 and WHK001 in the same report printed the
    /// patch written from the manifests.
    #[test]
    fn met009_gets_the_patch_written_from_the_manifests_and_keeps_its_prometheus_query() {
        let m = manifests(&hook(""));
        let remedy = |title: &str, kind: RemedyKind, body: &str| Remedy {
            title: title.into(),
            kind,
            body: body.into(),
            safety: Safety::ReviewFirst,
        };
        let mut found = vec![Finding {
            code: "MET009".into(),
            severity: Severity::Critical,
            title: String::new(),
            subject: Subject::new("webhook", "w.example.com"),
            time_range: None,
            summary: String::new(),
            evidence: findings::Evidence::default(),
            thresholds: Vec::new(),
            remedies: vec![
                remedy("Check the webhook's backend", RemedyKind::Command, "kubectl get … NAMESPACE"),
                remedy("Unblock writes now", RemedyKind::Command, "kubectl patch … CONFIGURATION … INDEX"),
                remedy("Follow it live in Prometheus", RemedyKind::Advice, "sum by (name, error_type) (…)"),
            ],
        }];
        refine_failing_webhooks(&mut found, &m);
        let bodies: Vec<&str> = found[0].remedies.iter().map(|r| r.body.as_str()).collect();
        assert!(
            bodies[0].starts_with("kubectl patch mutatingwebhookconfigurations cfg --type=strategic"),
            "{bodies:?}"
        );
        assert!(!bodies.iter().any(|b| b.contains("CONFIGURATION") || b.contains("INDEX")), "{bodies:?}");
        let last = found[0].remedies.last().expect("remedies");
        assert_eq!(last.title, "Follow it live in Prometheus");
        assert_eq!(found[0].remedies.iter().filter(|r| r.title.contains("Prometheus")).count(), 1);
    }
}
