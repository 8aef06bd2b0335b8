//! Names of API Priority and Fairness objects that tell who made them: the ones every API server
//! creates, and the throttles apiserver-doctor writes.
//!
//! Source: the bootstrap configuration of kube-apiserver
//! (`k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap`), as listed in
//! `../shared/data/real/apf/k8s-bootstrap-apf-summary_v1.28-v1.33.tsv` and `…_v1.34plus.tsv`.

/// Priority levels every API server creates (mandatory: `exempt`, `catch-all`; suggested: the
/// others).
pub const BOOTSTRAP_PRIORITY_LEVELS: [&str; 8] = [
    "exempt",
    "catch-all",
    "system",
    "node-high",
    "leader-election",
    "workload-high",
    "workload-low",
    "global-default",
];

/// Flow schemas every API server creates, in any version from 1.28 on (`endpoint-controller`
/// and `workload-leader-election` were dropped in 1.34).
pub const BOOTSTRAP_FLOW_SCHEMAS: [&str; 13] = [
    "exempt",
    "probes",
    "system-leader-election",
    "workload-leader-election",
    "endpoint-controller",
    "system-node-high",
    "system-nodes",
    "kube-controller-manager",
    "kube-scheduler",
    "kube-system-service-accounts",
    "service-accounts",
    "global-default",
    "catch-all",
];

/// How the names of the FlowSchema and PriorityLevelConfiguration apiserver-doctor writes for a
/// throttle begin (`throttle-sa-NS.NAME`, `throttle-user-NAME`, …).
pub const THROTTLE_PREFIX: &str = "throttle-";

/// Who made a flow schema or priority level, as far as its name tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Maker {
    /// One of the objects every API server creates.
    Kubernetes,
    /// A throttle apiserver-doctor wrote for one client.
    ApiserverDoctor,
    /// Anyone else: the platform, an operator, the cluster's owners.
    Other,
}

/// Who made the flow schema named `name`.
pub fn flow_schema_maker(name: &str) -> Maker {
    maker(name, &BOOTSTRAP_FLOW_SCHEMAS)
}

/// Who made the priority level named `name`.
pub fn priority_level_maker(name: &str) -> Maker {
    maker(name, &BOOTSTRAP_PRIORITY_LEVELS)
}

fn maker(name: &str, bootstrap: &[&str]) -> Maker {
    if bootstrap.contains(&name) {
        Maker::Kubernetes
    } else if name.starts_with(THROTTLE_PREFIX) {
        Maker::ApiserverDoctor
    } else {
        Maker::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttles_and_other_rules_are_told_apart_from_kubernetes_own() {
        assert_eq!(flow_schema_maker("throttle-sa-ci.runner"), Maker::ApiserverDoctor);
        assert_eq!(priority_level_maker("throttle-user-alice"), Maker::ApiserverDoctor);
        assert_eq!(flow_schema_maker("openshift-apiserver-sar"), Maker::Other);
        assert_eq!(priority_level_maker("service-accounts"), Maker::Other);
        assert_eq!(flow_schema_maker("service-accounts"), Maker::Kubernetes);
    }
}
