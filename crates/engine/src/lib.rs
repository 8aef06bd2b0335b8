//! DataFusion session over the audit store: the KubeAudit/AKSAudit/AKSAuditAdmin/AzureDiagnostics tables, KQL to logical plans, KQL functions.
