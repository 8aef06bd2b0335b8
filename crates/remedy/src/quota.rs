//! ResourceQuota object-count quotas: a ceiling on how many objects of a type a namespace holds.

use findings::{Remedy, RemedyKind, Safety};

use crate::RemedyError;
use crate::yaml::{self, Node};

/// The object-count quota key of a resource: `count/jobs.batch`, `count/pods` for the core group.
pub fn quota_key(resource: &str, api_group: &str) -> String {
    if api_group.is_empty() { format!("count/{resource}") } else { format!("count/{resource}.{api_group}") }
}

/// A ResourceQuota named `name` capping `resource` (of `api_group`) at `hard` objects in
/// `namespace`. Its callers name it with `metrics::checks::remedies::object_count_quota_name`,
/// which every object-count quota shares (MET002's YAML is written in the metrics crate, which
/// cannot depend on this one).
///
/// Existing objects are not deleted by a quota; creates beyond it fail with 403, which stops a
/// leak from filling etcd while its owner fixes the client.
pub fn object_count_quota(
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
