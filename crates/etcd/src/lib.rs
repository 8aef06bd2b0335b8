//! etcd through its v3 JSON gateway: status, alarms, key statistics per Kubernetes resource, and the etcd checks.
