//! What a request URI asks for, parsed the way the API server's `RequestInfo` does: API group,
//! namespace, resource, name, subresource, and the query parameters that make a LIST cheap or
//! expensive. Its [`Scope`] is the `scope` label of the SLOs: `resource` (one object),
//! `namespace` or `cluster`.
//!
//! The checks' KQL derives the same scope from `ObjectRef`, which the API server fills from
//! this very parse; a test holds the two together on real events.

use std::fmt;

/// The SLO scope of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// One named object (and every create).
    Resource,
    /// Many objects of one namespace.
    Namespace,
    /// Many objects across the cluster (all namespaces, or a cluster-scoped type).
    Cluster,
    /// Not a resource request (`/healthz`, `/metrics`, `/version`, discovery roots).
    NonResource,
}

impl Scope {
    /// The label: `resource`, `namespace`, `cluster`, or `` for non-resource requests.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Resource => "resource",
            Scope::Namespace => "namespace",
            Scope::Cluster => "cluster",
            Scope::NonResource => "",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed request URI.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// True for `/api/...` and `/apis/...` resource requests.
    pub is_resource_request: bool,
    /// API group (`""` for the core group).
    pub api_group: String,
    /// API version.
    pub api_version: String,
    /// Namespace, if the path names one.
    pub namespace: Option<String>,
    /// Resource (plural), e.g. `pods`.
    pub resource: String,
    /// Object name, if the path names one.
    pub name: Option<String>,
    /// Subresource, e.g. `status`, `log`, `exec`.
    pub subresource: Option<String>,
    /// The legacy `/watch/` path prefix or `watch=true|1`.
    pub watch: bool,
    /// `limit=N` with N > 0.
    pub limit: Option<u64>,
    /// `resourceVersion=…`, when present (possibly empty).
    pub resource_version: Option<String>,
}

/// Subresources of a Namespace object (`/api/v1/namespaces/{name}/status`): not namespaced
/// resources, as in the API server's `namespaceSubresources`.
const NAMESPACE_SUBRESOURCES: [&str; 2] = ["status", "finalize"];

impl RequestInfo {
    /// Parses a request URI (path and query string; percent-encoding in the query is decoded
    /// only where it matters for the values read here).
    pub fn parse(uri: &str) -> RequestInfo {
        let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
        let mut info = RequestInfo::default();
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "limit" => info.limit = value.parse::<u64>().ok().filter(|n| *n > 0),
                "resourceVersion" => info.resource_version = Some(value.to_owned()),
                "watch" => info.watch |= value == "true" || value == "1",
                _ => {}
            }
        }
        let parts: Vec<&str> = path.trim_matches('/').split('/').filter(|p| !p.is_empty()).collect();
        let rest: &[&str] = match parts.as_slice() {
            ["api", version, rest @ ..] => {
                info.api_version = (*version).to_owned();
                rest
            }
            ["apis", group, version, rest @ ..] => {
                info.api_group = (*group).to_owned();
                info.api_version = (*version).to_owned();
                rest
            }
            _ => return info,
        };
        let rest = match rest {
            ["watch", tail @ ..] => {
                info.watch = true;
                tail
            }
            other => other,
        };
        if rest.is_empty() {
            return info;
        }
        info.is_resource_request = true;
        let rest = match rest {
            ["namespaces", namespace, tail @ ..]
                if !tail.is_empty() && !NAMESPACE_SUBRESOURCES.contains(&tail[0]) =>
            {
                info.namespace = Some((*namespace).to_owned());
                tail
            }
            ["namespaces", name, tail @ ..] => {
                // The Namespace object itself, or its status/finalize subresource.
                info.namespace = Some((*name).to_owned());
                info.resource = "namespaces".to_owned();
                info.name = Some((*name).to_owned());
                info.subresource = tail.first().map(|s| (*s).to_owned());
                return info;
            }
            other => other,
        };
        info.resource = rest[0].to_owned();
        info.name = rest.get(1).map(|s| (*s).to_owned());
        info.subresource = rest.get(2).map(|s| (*s).to_owned());
        info
    }

    /// The SLO scope of a request with this URI and `verb` (`create` is always `resource`).
    pub fn scope(&self, verb: &str) -> Scope {
        if !self.is_resource_request {
            Scope::NonResource
        } else if self.name.is_some() || verb == "create" {
            Scope::Resource
        } else if self.namespace.is_some() {
            Scope::Namespace
        } else {
            Scope::Cluster
        }
    }
}

/// The SLO scope of `verb` on `uri`.
pub fn request_scope(verb: &str, uri: &str) -> Scope {
    RequestInfo::parse(uri).scope(verb)
}

/// True for requests that are long-running by design and excluded from latency SLOs: watches,
/// and the `exec`, `attach`, `portforward`, `proxy` and `log` subresources (clusterloader2's
/// exclusions).
pub fn is_long_running(verb: &str, subresource: &str) -> bool {
    verb == "watch" || LONG_RUNNING_SUBRESOURCES.contains(&subresource)
}

/// Subresources whose requests stream for as long as the client wants.
pub const LONG_RUNNING_SUBRESOURCES: [&str; 5] = ["exec", "attach", "portforward", "proxy", "log"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_follow_the_request_info_rules() {
        let cases = [
            ("list", "/api/v1/pods?limit=500", Scope::Cluster),
            ("list", "/api/v1/namespaces/default/pods", Scope::Namespace),
            ("get", "/api/v1/namespaces/default/pods/web-0", Scope::Resource),
            ("update", "/apis/apps/v1/namespaces/x/deployments/web/status", Scope::Resource),
            ("create", "/api/v1/namespaces/default/pods", Scope::Resource),
            ("get", "/api/v1/namespaces/default", Scope::Resource),
            ("update", "/api/v1/namespaces/gone/finalize", Scope::Resource),
            ("list", "/api/v1/namespaces", Scope::Cluster),
            ("get", "/api/v1/nodes/node-1", Scope::Resource),
            ("list", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", Scope::Namespace),
            ("watch", "/api/v1/watch/namespaces/default/pods", Scope::Namespace),
            ("get", "/healthz", Scope::NonResource),
            ("get", "/apis", Scope::NonResource),
            ("get", "/apis/apps/v1", Scope::NonResource),
            ("get", "", Scope::NonResource),
        ];
        for (verb, uri, scope) in cases {
            assert_eq!(request_scope(verb, uri), scope, "{verb} {uri}");
        }
    }

    #[test]
    fn query_parameters_that_make_lists_expensive() {
        let storm = RequestInfo::parse("/api/v1/pods");
        assert_eq!((storm.limit, storm.resource_version.as_deref()), (None, None));
        let cheap = RequestInfo::parse("/api/v1/pods?limit=500&resourceVersion=0");
        assert_eq!((cheap.limit, cheap.resource_version.as_deref()), (Some(500), Some("0")));
        let zero = RequestInfo::parse("/api/v1/pods?limit=0&resourceVersionMatch=NotOlderThan");
        assert_eq!((zero.limit, zero.resource_version), (None, None));
        let watch = RequestInfo::parse("/api/v1/namespaces/a/configmaps?watch=true&resourceVersion=6577334");
        assert!(watch.watch);
        assert_eq!(watch.resource, "configmaps");
        assert_eq!(watch.namespace.as_deref(), Some("a"));
    }

    #[test]
    fn subresources_and_groups() {
        let log = RequestInfo::parse("/api/v1/namespaces/a/pods/web-0/log?follow=true");
        assert_eq!(log.subresource.as_deref(), Some("log"));
        assert!(is_long_running("get", "log"));
        assert!(is_long_running("watch", ""));
        assert!(!is_long_running("list", ""));
        let job = RequestInfo::parse("/apis/batch/v1/namespaces/ci/jobs/build-1");
        assert_eq!((job.api_group.as_str(), job.api_version.as_str()), ("batch", "v1"));
        assert_eq!((job.resource.as_str(), job.name.as_deref()), ("jobs", Some("build-1")));
    }
}
