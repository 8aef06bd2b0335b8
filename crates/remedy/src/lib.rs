//! Remedies as Kubernetes YAML and commands: FlowSchema and PriorityLevelConfiguration, ResourceQuota, cleanup, webhook patches.
