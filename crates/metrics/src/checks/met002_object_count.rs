//! MET002 object-count: objects of one resource type stored in etcd against the thresholds.

use findings::{
    CheckInfo, EvidenceKind, Finding, Measure, Severity, Subject, Thresholds, threshold_names as n,
};

use super::{Draft, format_count, watch};
use crate::MetricsEvidence;

/// MET002.
pub const INFO: CheckInfo = CheckInfo {
    code: "MET002",
    name: "object-count",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::ApiserverMetrics,
    thresholds: &[n::OBJECTS_PER_TYPE_WARNING, n::EVENTS_CRITICAL, n::OBJECTS_PER_TYPE_CRITICAL],
    doc: r#"## What it detects
Resource types with more objects in etcd than the thresholds: over 10,000 of one type is a
warning (AKS guide), over 150,000 is critical (SIG-scalability thresholds), and for events
1,000,000. The count is read from whichever metric the API server version has:
`apiserver_resource_objects` (1.34+), `apiserver_storage_objects` (1.21+) or
`etcd_object_counts` (older).

Scrapes of several API server processes are read as one control plane (one etcd, its counts
judged once, across them) only when they are at most one minor version apart (the version
skew policy's limit between the API servers of one control plane) and their database size
metric names the same etcd storage (the same `endpoint` or `storage_cluster_id` values, where
both use the same label; kubeadm's `https://127.0.0.1:2379` and `etcd-0` are the same in every
cluster, so this tells only different layouts apart). Otherwise each process is judged on its
own latest scrape and no growth is computed across them; a note names the control planes.

## Why it matters
Every LIST of the type reads every object, the watch cache holds them all in memory, and
the etcd database grows toward its quota. Leaked objects (finished Jobs, old ReplicaSets,
Events, custom resources nobody deletes) are the second cause of a slow API server in the
AKS guide.

## Example
`jobs.batch`: 48,210 objects (warning above 10,000).

## Remedy
Delete what is no longer needed (the Jobs that completed: those whose
`status.completionTime` is set, listed with a go-template into a file to read first, then deleted
after a server-side dry run; not the field selector `status.successful=1`, which counts succeeded
pods and so takes running Jobs that need several completions; a CronJob's Jobs are left out, and
kube-system's unless the namespace is known: `diagnose` writes it for the namespace AUD008 sees
leak), set `ttlSecondsAfterFinished` on Jobs and
`revisionHistoryLimit` on Deployments, and cap the count per namespace with a ResourceQuota
(`count/jobs.batch`). For cluster-scoped types (nodes, PersistentVolumes, CRDs and the other
well-known ones) there is no namespace to count nor a ResourceQuota to cap them: the remedies
name the controller that writes them (the field manager), the oldest, their owners and labels;
for a custom resource whose scope the metrics do not say, the namespace steps read "if
namespaced". `apiserver-doctor diagnose` over the audit log writes the ResourceQuota
for a resource it sees leak (AUD008).

## References
- AKS: troubleshoot API server and etcd problems (object counts): https://learn.microsoft.com/troubleshoot/azure/azure-kubernetes/create-upgrade-delete/troubleshoot-apiserver-etcd
- SIG-scalability thresholds: https://github.com/kubernetes/community/blob/master/sig-scalability/configs-and-limits/thresholds.md
"#,
};

/// Whether objects of a resource type live in namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// In namespaces (`kubectl get -A` has a NAMESPACE column; a ResourceQuota can cap them).
    Namespaced,
    /// Cluster-scoped: no namespace column, no namespaced ResourceQuota.
    Cluster,
    /// Not known (a custom resource named only by a metric).
    Unknown,
}

/// Well-known cluster-scoped resources, group-qualified as `apiserver_storage_objects` names them.
const CLUSTER_SCOPED: &[&str] = &[
    "nodes",
    "namespaces",
    "persistentvolumes",
    "componentstatuses",
    "customresourcedefinitions.apiextensions.k8s.io",
    "apiservices.apiregistration.k8s.io",
    "clusterroles.rbac.authorization.k8s.io",
    "clusterrolebindings.rbac.authorization.k8s.io",
    "storageclasses.storage.k8s.io",
    "volumeattachments.storage.k8s.io",
    "volumeattributesclasses.storage.k8s.io",
    "csinodes.storage.k8s.io",
    "csidrivers.storage.k8s.io",
    "priorityclasses.scheduling.k8s.io",
    "runtimeclasses.node.k8s.io",
    "mutatingwebhookconfigurations.admissionregistration.k8s.io",
    "validatingwebhookconfigurations.admissionregistration.k8s.io",
    "validatingadmissionpolicies.admissionregistration.k8s.io",
    "validatingadmissionpolicybindings.admissionregistration.k8s.io",
    "mutatingadmissionpolicies.admissionregistration.k8s.io",
    "mutatingadmissionpolicybindings.admissionregistration.k8s.io",
    "certificatesigningrequests.certificates.k8s.io",
    "clustertrustbundles.certificates.k8s.io",
    "flowschemas.flowcontrol.apiserver.k8s.io",
    "prioritylevelconfigurations.flowcontrol.apiserver.k8s.io",
    "ingressclasses.networking.k8s.io",
    "ipaddresses.networking.k8s.io",
    "servicecidrs.networking.k8s.io",
    "podsecuritypolicies.policy",
    "deviceclasses.resource.k8s.io",
    "resourceslices.resource.k8s.io",
    "storageversions.internal.apiserver.k8s.io",
    "storageversionmigrations.storagemigration.k8s.io",
];

/// The scope of a resource named only by a metric: cluster-scoped for the well-known
/// cluster-scoped types, namespaced for the other built-in types (no dot, or one of
/// [`BUILT_IN_GROUPS`]), unknown for custom resources.
pub fn scope_of(resource: &str) -> Scope {
    if CLUSTER_SCOPED.contains(&resource) {
        return Scope::Cluster;
    }
    match resource.split_once('.') {
        None => Scope::Namespaced,
        Some((_, group)) if is_built_in_group(group) => Scope::Namespaced,
        Some(_) => Scope::Unknown,
    }
}

/// The API groups kube-apiserver itself serves (the Kubernetes API reference, v1.22 to v1.34;
/// `extensions` until v1.22), besides the core group. A group ending in `k8s.io` is not enough:
/// `gateway.networking.k8s.io`, `snapshot.storage.k8s.io` and every `*.x-k8s.io` group belong to
/// custom resources, and `metrics.k8s.io` to an extension API server.
pub const BUILT_IN_GROUPS: &[&str] = &[
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "apps",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "events.k8s.io",
    "extensions",
    "flowcontrol.apiserver.k8s.io",
    "internal.apiserver.k8s.io",
    "networking.k8s.io",
    "node.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "resource.k8s.io",
    "scheduling.k8s.io",
    "storage.k8s.io",
    "storagemigration.k8s.io",
];

/// Whether kube-apiserver itself serves `group` (the core group is `""`).
pub fn is_built_in_group(group: &str) -> bool {
    group.is_empty() || BUILT_IN_GROUPS.contains(&group)
}

/// The cleanup remedies for a resource type named by a metric: its scope from the well-known
/// types ([`scope_of`]), nothing known of where the objects are.
pub fn cleanup_remedies(resource: &str) -> Vec<findings::Remedy> {
    cleanup_remedies_scoped(resource, scope_of(resource), &Held::default())
}

/// What a check knows of where the objects are (the etcd key statistics know it from the
/// keys; a metric does not).
#[derive(Debug, Default, Clone, Copy)]
pub struct Held<'a> {
    /// The finding already shows the objects per namespace: no command to count them.
    pub namespaces_shown: bool,
    /// Every object is in this namespace, this many of them: the commands and the quota are
    /// written for it.
    pub only_namespace: Option<(&'a str, u64)>,
}

/// The cleanup remedies for a resource type of a known scope (shared with the etcd key
/// statistics check, which knows it from the keys).
pub fn cleanup_remedies_scoped(resource: &str, scope: Scope, held: &Held<'_>) -> Vec<findings::Remedy> {
    use super::remedy;
    use findings::{RemedyKind, Safety};
    let plain = resource.split('.').next().unwrap_or(resource);
    let quoted = findings::text::shell_quote(resource);
    let only_ns = held.only_namespace.map(|(ns, _)| ns);
    let scope_flag =
        only_ns.map_or_else(|| "-A".to_owned(), |ns| format!("-n {}", findings::text::shell_quote(ns)));
    // Each command below reads every object of the type through the API server (kubectl
    // pages it, 500 at a time): on a server already struggling that is load, so none is
    // marked safe, and the key-only count in etcd is named first.
    let full_list = findings::text::FULL_LIST_NOTE;
    let by_namespace = format!(
        "{full_list}kubectl get {quoted} -A --no-headers | awk '{{print $1}}' | sort | uniq -c | sort -rn | head"
    );
    // Which controller writes them, and the oldest: what works whatever the scope.
    let by_writer = format!(
        "{full_list}# Which controller or tool writes them (the first field manager), most first:\n\
kubectl get {quoted} {scope_flag} -o jsonpath='{{range .items[*]}}{{.metadata.managedFields[0].manager}}{{\"\\n\"}}{{end}}' | sort | uniq -c | sort -rn | head\n\
# The oldest, with their owner and labels:\n\
kubectl get {quoted} {scope_flag} --sort-by=.metadata.creationTimestamp \\\n  \
-o custom-columns=NAME:.metadata.name,CREATED:.metadata.creationTimestamp,OWNER:.metadata.ownerReferences[0].kind,OWNER-NAME:.metadata.ownerReferences[0].name,LABELS:.metadata.labels | head -20"
    );
    let mut out = match scope {
        Scope::Namespaced if held.namespaces_shown => vec![remedy(
            "See which controller creates them, and the oldest",
            RemedyKind::Command,
            Safety::ReviewFirst,
            by_writer,
        )],
        Scope::Namespaced => {
            vec![remedy(
                "See which namespaces hold them",
                RemedyKind::Command,
                Safety::ReviewFirst,
                by_namespace,
            )]
        }
        Scope::Cluster => vec![
            remedy(
                "See which controller creates them, and the oldest",
                RemedyKind::Command,
                Safety::ReviewFirst,
                by_writer,
            ),
            remedy(
                "Stop the controller that leaks them",
                RemedyKind::Advice,
                Safety::ReviewFirst,
                format!(
                    "{resource} are cluster-scoped: they have no namespace, and a ResourceQuota (namespaced) cannot cap them. \
                     Find the controller or operator that creates them (the field manager, owner references and labels above), \
                     fix or configure its cleanup, then delete the leaked ones by label (`kubectl delete {quoted} -l KEY=VALUE`) \
                     after checking what the selector matches."
                ),
            ),
        ],
        Scope::Unknown => vec![
            remedy(
                "If namespaced: see which namespaces hold them",
                RemedyKind::Command,
                Safety::ReviewFirst,
                format!(
                    "# Only for a namespaced resource (`kubectl api-resources --namespaced=false` lists the cluster-scoped\n\
# ones): a cluster-scoped one has no NAMESPACE column, and this would count names.\n{by_namespace}"
                ),
            ),
            remedy(
                "See which controller creates them, and the oldest",
                RemedyKind::Command,
                Safety::ReviewFirst,
                by_writer,
            ),
        ],
    };
    match plain {
        "jobs" => {
            // Listed first, dry-run, then deleted; outside kube-system and CronJobs' Jobs; in
            // the one namespace when it is known (reviewer item 2: every succeeded Job in the
            // cluster, unseen). `diagnose` scopes it to the namespace AUD008 sees leak
            // (`etcd::overlap::finished_jobs_where_they_leak`).
            let title = match only_ns {
                Some(ns) => format!("Delete finished Jobs in namespace {ns}: list them, dry-run, then delete"),
                None => "Delete finished Jobs outside kube-system: list them, dry-run, then delete".to_owned(),
            };
            out.push(remedy(
                &title,
                RemedyKind::Command,
                Safety::ReviewFirst,
                findings::text::delete_finished_jobs(only_ns),
            ));
            // It makes the TTL controller delete Jobs (and their Pods, with their logs): review
            // first, as AUD008 and `quota` mark it (docs review 51, item 1.2).
            out.push(remedy(
                "Let Kubernetes delete finished Jobs",
                RemedyKind::Advice,
                Safety::ReviewFirst,
                "Set `spec.ttlSecondsAfterFinished` (e.g. 3600) on Jobs, and `successfulJobsHistoryLimit` / `failedJobsHistoryLimit` on CronJobs.",
            ));
        }
        "pods" => out.push(remedy(
            "Delete completed and failed Pods",
            RemedyKind::Command,
            Safety::ReviewFirst,
            format!(
                "kubectl delete pods {scope_flag} --field-selector status.phase=Succeeded\n\
                 kubectl delete pods {scope_flag} --field-selector status.phase=Failed"
            ),
        )),
        "events" => out.push(remedy(
            "Shorten how long events are kept",
            RemedyKind::Advice,
            Safety::ReviewFirst,
            "Events expire after the API server's `--event-ttl` (default 1h). Find the component that writes them in bursts (`kubectl get events -A --sort-by=.lastTimestamp | tail`) and fix it; lower `--event-ttl` where the platform allows it.",
        )),
        "replicasets" => out.push(remedy(
            "Keep fewer old ReplicaSets",
            RemedyKind::Advice,
            Safety::Safe,
            "Set `spec.revisionHistoryLimit` on Deployments (default 10) to 2 or 3.",
        )),
        _ => {}
    }
    // The resource comes from a metric's label: written as it is only when it is a plain name.
    let plain_name =
        |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-./".contains(c));
    let quota_key = format!("count/{resource}");
    let quota_key =
        if plain_name(&quota_key) { quota_key } else { findings::text::double_quoted_literal(&quota_key) };
    let name = {
        let (resource, group) = resource.split_once('.').unwrap_or((resource, ""));
        super::remedies::object_count_quota_name(resource, group)
    };
    if scope == Scope::Cluster {
        return out;
    }
    // Where every object is in one namespace, the quota is written for it: the count there now
    // plus a tenth, in hundreds, which stops the growth without refusing creates today (a cap
    // below the objects there would refuse every new one at once).
    let known = held.only_namespace.filter(|_| scope == Scope::Namespaced);
    let (title, note, namespace, hard) = match known {
        _ if scope == Scope::Unknown => (
            "If namespaced: cap the count per namespace with a ResourceQuota".to_owned(),
            "# Only for a namespaced resource: a ResourceQuota cannot cap cluster-scoped objects.\n\
# Set NAMESPACE to the namespace that holds them, and 1000 to more than the objects there now:\n\
# a cap below them refuses every new one at once. Lower it as the cleanup removes them.\n"
                .to_owned(),
            "NAMESPACE".to_owned(),
            1000,
        ),
        Some((ns, count)) => {
            let hard = count.saturating_mul(11).div_ceil(10).div_ceil(100).saturating_mul(100).max(100);
            // Quoted whatever it is: a namespace named `123` or `yes` would read as a number or
            // a boolean in YAML, and kubectl would refuse the quota.
            let namespace = findings::text::double_quoted_literal(ns);
            (
                format!("Cap the count in namespace {ns} with a ResourceQuota"),
                format!(
                    "# {} of them are in {ns} now: this cap ({}) stops their growth without refusing creates today.\n\
# Lower it as the cleanup removes them; a cap below the objects there refuses every new one at once.\n",
                    format_count(count as f64),
                    format_count(hard as f64)
                ),
                namespace,
                hard,
            )
        }
        None => (
            "Cap the count per namespace with a ResourceQuota".to_owned(),
            "# Set NAMESPACE to the namespace that holds them, and 1000 to more than the objects there now:\n\
# a cap below them refuses every new one at once. Lower it as the cleanup removes them.\n"
                .to_owned(),
            "NAMESPACE".to_owned(),
            1000,
        ),
    };
    out.push(remedy(
        &title,
        findings::RemedyKind::Yaml,
        Safety::ReviewFirst,
        format!(
            "{note}apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n  hard:\n    {quota_key}: \"{hard}\"\n"
        ),
    ));
    out
}

/// Runs MET002.
pub fn run(ev: &MetricsEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    for api in &ev.apiservers {
        let metric = api.object_metric.as_deref().unwrap_or("apiserver_storage_objects");
        for o in &api.objects {
            let events = o.resource == "events" || o.resource == "events.events.k8s.io";
            let warn = t.value(n::OBJECTS_PER_TYPE_WARNING);
            let (crit, crit_name) = if events {
                (t.value(n::EVENTS_CRITICAL), n::EVENTS_CRITICAL)
            } else {
                (t.value(n::OBJECTS_PER_TYPE_CRITICAL), n::OBJECTS_PER_TYPE_CRITICAL)
            };
            if o.count <= warn {
                continue;
            }
            let severity = if o.count > crit { Severity::Critical } else { Severity::Warning };
            let limit = if severity == Severity::Critical { crit } else { warn };
            let mut measures = vec![Measure::new("objects", o.count, "count")];
            if let Some(first) = o.first_count {
                measures.push(Measure::new("objects at the first scrape", first, "count"));
            }
            out.push(
                Draft {
                    severity,
                    title: format!("{} {} objects are stored in etcd (over {})", format_count(o.count), o.resource, format_count(limit)),
                    subject: Subject::new("resource", o.resource.clone()),
                    summary: format!(
                        "`{metric}` counts {} objects of {}. Above {} objects of one type every LIST of it, the watch cache and the etcd database suffer; {}.",
                        format_count(o.count),
                        o.resource,
                        format_count(warn),
                        super::critical_phrase(t, crit_name, crit)
                    ),
                    source: format!("metrics:{}", api.source),
                    measures,
                    table: None,
                    thresholds: vec![n::OBJECTS_PER_TYPE_WARNING, crit_name],
                    remedies: {
                        let mut r = cleanup_remedies(&o.resource);
                        r.push(watch(&format!("{metric}{}", object_selector(metric, &o.resource))));
                        r
                    },
                }
                .into_finding(&INFO, t),
            );
        }
    }
}

/// The PromQL selector of a group-qualified resource in `metric`: `apiserver_resource_objects`
/// (1.34+) labels the group and the plural apart (`{group="batch",resource="jobs"}`); the
/// older metrics name the qualified resource (`{resource="jobs.batch"}`).
pub(crate) fn object_selector(metric: &str, qualified: &str) -> String {
    if metric == "apiserver_resource_objects" {
        let (resource, group) = qualified.split_once('.').unwrap_or((qualified, ""));
        format!(
            "{{group={},resource={}}}",
            findings::text::double_quoted_literal(group),
            findings::text::double_quoted_literal(resource)
        )
    } else {
        format!("{{resource={}}}", findings::text::double_quoted_literal(qualified))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::ObjectCount;
    use crate::test_support::apiserver;

    #[test]
    fn warns_above_ten_thousand_and_is_critical_above_the_sig_limits() {
        let mut api = apiserver();
        api.objects = [
            ("pods", 9_000.0),
            ("jobs.batch", 48_210.0),
            ("configmaps", 200_000.0),
            ("events", 500_000.0),
            ("events", 1_500_000.0),
        ]
        .iter()
        .map(|&(r, c)| ObjectCount { resource: r.into(), count: c, first_count: None })
        .collect();
        let ev = MetricsEvidence { apiservers: vec![api], ..Default::default() };
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        let got: Vec<(&str, Severity)> = out.iter().map(|f| (f.subject.name.as_str(), f.severity)).collect();
        assert_eq!(
            got,
            [
                ("jobs.batch", Severity::Warning),
                ("configmaps", Severity::Critical),
                ("events", Severity::Warning),
                ("events", Severity::Critical)
            ]
        );
        let jobs = &out[0];
        assert!(jobs.remedies.iter().any(|r| r.body.contains("{{if and .status.completionTime")));
        assert!(!jobs.remedies.iter().any(|r| r.body.contains("status.successful")));
        assert!(jobs.remedies.iter().any(|r| r.body.contains("count/jobs.batch")));
    }

    /// etcd review item 8: for cluster-scoped resources the remedies counted namespaces with
    /// `kubectl get -A | awk '{print $1}'` (the object names: every count 1) and offered a
    /// namespaced ResourceQuota, which cannot cap them.
    #[test]
    fn cluster_scoped_resources_get_no_namespace_count_and_no_resource_quota() {
        let bodies = |r: Vec<findings::Remedy>| {
            r.iter().map(|r| format!("{}\n{}", r.title, r.body)).collect::<Vec<_>>().join("\n")
        };
        for cluster in [
            cleanup_remedies("persistentvolumes"),
            cleanup_remedies_scoped("clusterwidgets.example.com", Scope::Cluster, &Held::default()),
        ] {
            let text = bodies(cluster);
            assert!(!text.contains("awk '{print $1}'"), "{text}");
            assert!(
                !text.contains("ResourceQuota\nmetadata") && !text.contains("kind: ResourceQuota"),
                "{text}"
            );
            assert!(text.contains("managedFields[0].manager"), "{text}");
            assert!(text.contains("cluster-scoped"), "{text}");
        }
        let namespaced = bodies(cleanup_remedies("jobs.batch"));
        assert!(
            namespaced.contains("awk '{print $1}'") && namespaced.contains("kind: ResourceQuota"),
            "{namespaced}"
        );
        assert!(!namespaced.contains("If namespaced"), "{namespaced}");
        // Review s44: counting them per namespace lists every object through the API server:
        // not marked safe, and the key-only count in etcd named.
        let by_ns = cleanup_remedies("events");
        let by_ns = by_ns.iter().find(|r| r.title == "See which namespaces hold them").expect("count");
        assert_eq!(by_ns.safety, findings::Safety::ReviewFirst);
        assert!(by_ns.body.contains("apiserver-doctor etcd --endpoints URL"), "{}", by_ns.body);
        assert!(
            cleanup_remedies("persistentvolumes")
                .iter()
                .filter(|r| r.kind == findings::RemedyKind::Command)
                .all(|r| r.safety == findings::Safety::ReviewFirst)
        );
        // A custom resource named only by a metric: scope unknown, said so.
        let unknown = bodies(cleanup_remedies("widgets.example.com"));
        assert!(unknown.contains("If namespaced: see which namespaces hold them"), "{unknown}");
        assert!(unknown.contains("If namespaced: cap the count"), "{unknown}");
        assert_eq!(scope_of("nodes"), Scope::Cluster);
        assert_eq!(scope_of("customresourcedefinitions.apiextensions.k8s.io"), Scope::Cluster);
        assert_eq!(scope_of("leases.coordination.k8s.io"), Scope::Namespaced);
    }

    /// Any group ending in `k8s.io` was a built-in one: Gateway API's cluster-scoped
    /// `gatewayclasses.gateway.networking.k8s.io` was "namespaced", and the cleanup counted it
    /// per namespace and capped it with a ResourceQuota.
    #[test]
    fn custom_resources_in_k8s_io_groups_were_taken_for_namespaced_built_ins() {
        for custom in [
            "gatewayclasses.gateway.networking.k8s.io",
            "volumesnapshots.snapshot.storage.k8s.io",
            "machines.cluster.x-k8s.io",
        ] {
            assert_eq!(scope_of(custom), Scope::Unknown, "{custom}");
        }
        for built_in in ["endpointslices.discovery.k8s.io", "jobs.batch", "ingresses.extensions", "pods"] {
            assert_eq!(scope_of(built_in), Scope::Namespaced, "{built_in}");
        }
        assert!(is_built_in_group("") && !is_built_in_group("metrics.k8s.io"));
    }

    /// Metrics review (minor): on 1.34+ the PromQL `apiserver_resource_objects{resource="jobs.batch"}`
    /// matched nothing: that metric labels `group="batch"` and `resource="jobs"`.
    #[test]
    fn promql_for_apiserver_resource_objects_selects_group_and_resource_apart() {
        assert_eq!(
            object_selector("apiserver_resource_objects", "jobs.batch"),
            r#"{group="batch",resource="jobs"}"#
        );
        assert_eq!(object_selector("apiserver_resource_objects", "pods"), r#"{group="",resource="pods"}"#);
        assert_eq!(
            object_selector("apiserver_resource_objects", "widgets.example.com"),
            r#"{group="example.com",resource="widgets"}"#
        );
        assert_eq!(object_selector("apiserver_storage_objects", "jobs.batch"), r#"{resource="jobs.batch"}"#);
    }
}
