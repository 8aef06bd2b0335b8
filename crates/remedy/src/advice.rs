//! Tuning advice for a client that loads the API server: what to change in the client itself.

use findings::{Remedy, RemedyKind, Safety};

/// What the evidence says about how a client reads and writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientPattern {
    /// It LISTs without `limit` (no pagination).
    pub lists_without_limit: bool,
    /// It LISTs without `resourceVersion` (consistent reads: quorum reads of etcd before
    /// Kubernetes 1.31, served from the watch cache from 1.31 on; see
    /// [`ClientPattern::consistent_lists_from_cache`]).
    pub lists_without_resource_version: bool,
    /// The cluster serves consistent LISTs from its watch cache: Kubernetes 1.31 and later, where
    /// `ConsistentListFromCache` (KEP-2340) is beta and on by default, so `resourceVersion=0`
    /// no longer saves an etcd read.
    pub consistent_lists_from_cache: bool,
    /// The cluster serves consistent LISTs from its watch cache only unpaginated: Kubernetes
    /// 1.31 and 1.32, where one with `limit` or `continue` is still a quorum read of etcd (the
    /// cache serves pages from 1.33, KEP-4988's snapshots).
    pub paginated_consistent_lists_from_etcd: bool,
    /// It LISTs across all namespaces.
    pub cluster_scope_lists: bool,
    /// It polls with many GETs or LISTs instead of watching.
    pub polls: bool,
    /// It gets many 409 conflicts on updates.
    pub update_conflicts: bool,
}

/// One advice remedy for `client` covering what `pattern` shows (always at least the general
/// advice to use informers).
pub fn tuning_advice(client: &str, pattern: &ClientPattern) -> Remedy {
    let mut points = Vec::new();
    // On-call review 52, item 2: on 1.31 and 1.32 the advice said `resourceVersion=0` saves no
    // etcd read and to paginate, and a paginated consistent LIST is read from etcd there.
    if pattern.lists_without_resource_version && pattern.paginated_consistent_lists_from_etcd {
        points.push(
            "LIST less often: on Kubernetes 1.31 and 1.32 a LIST without `resourceVersion` is served from the API \
             server's watch cache (`ConsistentListFromCache`, with etcd 3.4.31+ or 3.5.13+) only when it has no \
             `limit` and no `continue`; a paginated one is still a quorum read of etcd (the cache serves pages \
             from 1.33). On these versions, do not add `limit` to these LISTs: it moves them to etcd.",
        );
    } else if pattern.lists_without_resource_version && pattern.consistent_lists_from_cache {
        points.push(
            "LIST less often: from Kubernetes 1.31 a LIST without `resourceVersion` is served from the API \
             server's watch cache when `ConsistentListFromCache` is on (the default, with etcd 3.4.31+ or 3.5.13+), \
             so `resourceVersion=0` no longer saves an etcd read and only gives up consistency; every LIST still \
             makes the API server select and serialise each object it returns.",
        );
    } else if pattern.lists_without_resource_version {
        points.push(
            "Set `resourceVersion=0` on LISTs (or use an informer, which does): without it every LIST is a \
             quorum read served from etcd instead of the API server's watch cache.",
        );
    }
    if pattern.lists_without_limit
        && !(pattern.lists_without_resource_version && pattern.paginated_consistent_lists_from_etcd)
    {
        points.push(
            "Paginate LISTs with `limit` (for example 500) and `continue`, so no single response holds every \
             object in memory on the API server and the client.",
        );
    }
    if pattern.cluster_scope_lists {
        points.push(
            "LIST only the namespaces and objects needed: a namespace, a `labelSelector` or a `fieldSelector` \
             instead of every object of the cluster.",
        );
    }
    if pattern.update_conflicts {
        points.push(
            "On 409 Conflict, re-read from the informer cache and retry with backoff (client-go's \
             `retry.RetryOnConflict`), or use server-side apply or a patch instead of full updates.",
        );
    }
    points.push(
        "Use shared informers (client-go `SharedInformerFactory`, controller-runtime's cache): one LIST, then a \
         WATCH, and reads from a local cache instead of polling the API server.",
    );
    if pattern.polls {
        points.push("Replace polling loops with watches, and back off exponentially on errors and 429s.");
    }
    let body = points.iter().map(|p| format!("- {p}")).collect::<Vec<_>>().join("\n");
    Remedy {
        title: format!("Tune {client}: fewer, cheaper requests"),
        kind: RemedyKind::Advice,
        body,
        safety: Safety::Safe,
    }
}
