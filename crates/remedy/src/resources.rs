//! The built-in Kubernetes resources a remedy names most, with their API groups and scope, so
//! that `jobs` written without its group (`count/jobs`, which counts nothing: Jobs are
//! `count/jobs.batch`) or `nodes` in a namespace quota (cluster-scoped: never counted) is caught
//! before the YAML is applied (ops review s38, item 5). Resources not listed (custom ones,
//! rarer built-ins) pass as written.

/// Built-in resources outside the core group, with their group.
const GROUPED: [(&str, &str); 20] = [
    ("jobs", "batch"),
    ("cronjobs", "batch"),
    ("deployments", "apps"),
    ("replicasets", "apps"),
    ("statefulsets", "apps"),
    ("daemonsets", "apps"),
    ("controllerrevisions", "apps"),
    ("ingresses", "networking.k8s.io"),
    ("networkpolicies", "networking.k8s.io"),
    ("horizontalpodautoscalers", "autoscaling"),
    ("poddisruptionbudgets", "policy"),
    ("leases", "coordination.k8s.io"),
    ("roles", "rbac.authorization.k8s.io"),
    ("rolebindings", "rbac.authorization.k8s.io"),
    ("endpointslices", "discovery.k8s.io"),
    ("csistoragecapacities", "storage.k8s.io"),
    ("clusterroles", "rbac.authorization.k8s.io"),
    ("clusterrolebindings", "rbac.authorization.k8s.io"),
    ("storageclasses", "storage.k8s.io"),
    ("priorityclasses", "scheduling.k8s.io"),
];

/// Built-in cluster-scoped resources (group, resource).
const CLUSTER_SCOPED: [(&str, &str); 14] = [
    ("", "nodes"),
    ("", "namespaces"),
    ("", "persistentvolumes"),
    ("", "componentstatuses"),
    ("rbac.authorization.k8s.io", "clusterroles"),
    ("rbac.authorization.k8s.io", "clusterrolebindings"),
    ("storage.k8s.io", "storageclasses"),
    ("storage.k8s.io", "volumeattachments"),
    ("storage.k8s.io", "csidrivers"),
    ("storage.k8s.io", "csinodes"),
    ("scheduling.k8s.io", "priorityclasses"),
    ("apiextensions.k8s.io", "customresourcedefinitions"),
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations"),
    ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"),
];

/// The core group's namespaced resources.
const CORE: [&str; 12] = [
    "pods",
    "services",
    "configmaps",
    "secrets",
    "persistentvolumeclaims",
    "replicationcontrollers",
    "serviceaccounts",
    "events",
    "endpoints",
    "limitranges",
    "podtemplates",
    "resourcequotas",
];

/// What is wrong with `resource` in `group` as a remedy names it, in words with the fix; `None`
/// when nothing is known to be: a built-in resource written without its group, the core
/// group written `core`, a singular where Kubernetes names the plural.
pub fn resource_mistake(resource: &str, group: &str) -> Option<String> {
    if group == "core" {
        return Some(format!(
            "the core group is written without a name: `{resource}`, not `{resource}.core`"
        ));
    }
    // `pods.v1`, `deployments.v1.apps` (kubectl's RESOURCE.VERSION.GROUP): a rule or quota
    // names the group alone, and `v1` taken for one names nothing (review s42).
    if let Some((version, rest)) =
        group.split_once('.').map_or(Some((group, "")), Some).filter(|(v, _)| is_version(v))
    {
        let fixed = if rest.is_empty() { resource.to_owned() } else { format!("{resource}.{rest}") };
        return Some(format!(
            "`{version}` is an API version, not a group: write `{fixed}`, without the version"
        ));
    }
    if group.is_empty() {
        if let Some((_, g)) = GROUPED.iter().find(|(r, _)| *r == resource) {
            return Some(format!(
                "{resource} are in API group {g}: write `{resource}.{g}` (without it, it names nothing)"
            ));
        }
        let plural = format!("{resource}s");
        if CORE.contains(&plural.as_str()) || GROUPED.iter().any(|(r, _)| *r == plural) {
            return Some(format!("resources are named in the plural: `{plural}`, not `{resource}`"));
        }
    }
    None
}

/// Whether `part` is a Kubernetes API version: `v1`, `v2beta3`, `v1alpha1`.
fn is_version(part: &str) -> bool {
    let Some(rest) = part.strip_prefix('v') else { return false };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || rest.starts_with('0') {
        return false;
    }
    let tail = &rest[digits..];
    tail.is_empty()
        || ["alpha", "beta"].iter().any(|stage| {
            tail.strip_prefix(stage).is_some_and(|n| {
                !n.is_empty() && !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit())
            })
        })
}

/// Whether `resource` of `group` is a built-in cluster-scoped one (no namespace holds it).
pub fn is_cluster_scoped(resource: &str, group: &str) -> bool {
    CLUSTER_SCOPED.contains(&(group, resource))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouped_resources_without_their_group_and_singulars_are_named() {
        assert!(resource_mistake("jobs", "").is_some_and(|m| m.contains("`jobs.batch`")));
        assert!(resource_mistake("deployments", "").is_some_and(|m| m.contains("`deployments.apps`")));
        assert!(resource_mistake("pods", "core").is_some_and(|m| m.contains("`pods`, not `pods.core`")));
        assert!(resource_mistake("pod", "").is_some_and(|m| m.contains("`pods`")));
        assert_eq!(resource_mistake("jobs", "batch"), None);
        assert_eq!(resource_mistake("pods", ""), None);
        assert_eq!(resource_mistake("widgets", "example.com"), None);
        assert!(is_cluster_scoped("nodes", "") && !is_cluster_scoped("pods", ""));
        // Review s42: a version taken for a group.
        assert!(
            resource_mistake("pods", "v1")
                .is_some_and(|m| m.contains("`v1` is an API version") && m.contains("`pods`,"))
        );
        assert!(resource_mistake("deployments", "v1.apps").is_some_and(|m| m.contains("`deployments.apps`")));
        assert!(resource_mistake("cronjobs", "v2beta1.batch").is_some_and(|m| m.contains("`v2beta1`")));
        assert_eq!(resource_mistake("widgets", "v1x.example.com"), None);
        assert_eq!(resource_mistake("widgets", "vendor.example.com"), None);
        assert!(is_version("v1") && is_version("v1alpha1") && is_version("v10beta2"));
        assert!(
            !is_version("v")
                && !is_version("v0")
                && !is_version("v1beta")
                && !is_version("v1gamma1")
                && !is_version("ve1")
        );
    }
}
