//! ResourceQuota object-count quotas: a ceiling on how many objects of a type a namespace holds.

use findings::{Remedy, RemedyKind, Safety};
use serde::Serialize;

use crate::RemedyError;

/// The object-count quota key of a resource: `count/jobs.batch`, `count/pods` for the core group.
pub fn quota_key(resource: &str, api_group: &str) -> String {
    if api_group.is_empty() { format!("count/{resource}") } else { format!("count/{resource}.{api_group}") }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResourceQuota {
    api_version: &'static str,
    kind: &'static str,
    metadata: QuotaMetadata,
    spec: QuotaSpec,
}

#[derive(Serialize)]
struct QuotaMetadata {
    name: String,
    namespace: String,
}

#[derive(Serialize)]
struct QuotaSpec {
    hard: std::collections::BTreeMap<String, String>,
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
    let key = quota_key(resource, api_group);
    let quota = ResourceQuota {
        api_version: "v1",
        kind: "ResourceQuota",
        metadata: QuotaMetadata {
            name: format!("{}-count", crate::dns_label(resource, 50)),
            namespace: namespace.to_owned(),
        },
        // Quantities are strings in the API; a bare number would also parse, but kubectl
        // writes them quoted and so do we.
        spec: QuotaSpec { hard: std::iter::once((key.clone(), hard.to_string())).collect() },
    };
    Ok(Remedy {
        title: format!(
            "Cap {resource} in namespace {namespace} at {hard} objects with a ResourceQuota ({key})"
        ),
        kind: RemedyKind::Yaml,
        body: yaml_serde::to_string(&quota)?,
        safety: Safety::ReviewFirst,
    })
}
