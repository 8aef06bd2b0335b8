//! ResourceQuota object-count quotas: a ceiling on how many objects of a type a namespace holds.

use findings::{Remedy, RemedyKind, Safety};

use crate::RemedyError;
use crate::yaml::{self, Node};

/// The object-count quota key of a resource: `count/jobs.batch`, `count/pods` for the core group.
pub fn quota_key(resource: &str, api_group: &str) -> String {
    if api_group.is_empty() { format!("count/{resource}") } else { format!("count/{resource}.{api_group}") }
}

/// The name of the ResourceQuota [`object_count_quota`] writes for `resource`.
pub fn quota_name(resource: &str) -> String {
    format!("{}-count", crate::dns_label(resource, 50))
}

/// The name [`quota_name`] gives, with the API group in it (`jobs-example-com-count`): for
/// two resources of one name in different groups capped together, whose quotas would
/// otherwise share a name, so that applying the second would replace the first.
pub fn quota_name_with_group(resource: &str, api_group: &str) -> String {
    if api_group.is_empty() {
        return quota_name(resource);
    }
    format!("{}-count", crate::dns_label(&format!("{resource}-{}", api_group.replace('.', "-")), 50))
}

/// A ResourceQuota capping `resource` (of `api_group`) at `hard` objects in `namespace`.
///
/// Existing objects are not deleted by a quota; creates beyond it fail with 403, which stops a
/// leak from filling etcd while its owner fixes the client.
pub fn object_count_quota(
    namespace: &str,
    resource: &str,
    api_group: &str,
    hard: u64,
) -> Result<Remedy, RemedyError> {
    object_count_quota_named(&quota_name(resource), namespace, resource, api_group, hard)
}

/// [`object_count_quota`] with the ResourceQuota's name given.
pub fn object_count_quota_named(
    name: &str,
    namespace: &str,
    resource: &str,
    api_group: &str,
    hard: u64,
) -> Result<Remedy, RemedyError> {
    let key = quota_key(resource, api_group);
    // The namespace and the resource come from input: `Node::str` quotes them whenever YAML
    // 1.1 (kubectl's) would read them as anything but a string (`yes`, `on`, ...).
    let quota = Node::map([
        ("apiVersion", Node::str("v1")),
        ("kind", Node::str("ResourceQuota")),
        ("metadata", Node::map([("name", Node::str(name)), ("namespace", Node::str(namespace))])),
        // Quantities are strings in the API; a bare number would also parse, but kubectl
        // writes them quoted and so do we.
        ("spec", Node::map([("hard", Node::map([(key.clone(), Node::IntString(hard))]))])),
    ]);
    Ok(Remedy {
        title: format!(
            "Cap {resource} in namespace {namespace} at {} objects with a ResourceQuota ({key})",
            findings::thousands(i128::from(hard))
        ),
        kind: RemedyKind::Yaml,
        body: yaml::to_string(&quota),
        safety: Safety::ReviewFirst,
    })
}
