//! The canonical schema: one flat Arrow row per audit event, whatever format it came in.
//!
//! Every reader produces batches of [`canonical_schema`]; the store writes them to Parquet
//! (strings dictionary-encoded there); the query engine builds the `KubeAudit`, `AKSAudit`,
//! `AKSAuditAdmin` and `AzureDiagnostics` tables as views over it. Column names are the
//! constants in [`col`]; `docs/schema.md` documents each and its source in every format.

use std::sync::{Arc, LazyLock};

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

/// Column names of the canonical schema.
pub mod col {
    /// `requestReceivedTimestamp` (Azure: `RequestReceivedTime`).
    pub const REQUEST_RECEIVED_TIMESTAMP: &str = "request_received_timestamp";
    /// `stageTimestamp` (Azure: `StageReceivedTime`).
    pub const STAGE_TIMESTAMP: &str = "stage_timestamp";
    /// Azure's `TimeGenerated` / envelope `time`, when the input carries one; null otherwise.
    pub const TIME_GENERATED: &str = "time_generated";
    /// `auditID`.
    pub const AUDIT_ID: &str = "audit_id";
    /// `stage`: RequestReceived, ResponseStarted, ResponseComplete, Panic.
    pub const STAGE: &str = "stage";
    /// `level`: None, Metadata, Request, RequestResponse.
    pub const LEVEL: &str = "level";
    /// `verb`: get, list, watch, create, update, patch, delete, deletecollection, …
    pub const VERB: &str = "verb";
    /// `requestURI`, with its query string.
    pub const REQUEST_URI: &str = "request_uri";
    /// `user.username`.
    pub const USER_USERNAME: &str = "user_username";
    /// `user.uid`.
    pub const USER_UID: &str = "user_uid";
    /// `user.groups`.
    pub const USER_GROUPS: &str = "user_groups";
    /// `user.extra` as compact JSON (rarely needed; kept so nothing of the identity is lost).
    pub const USER_EXTRA: &str = "user_extra";
    /// `impersonatedUser.username`.
    pub const IMPERSONATED_USERNAME: &str = "impersonated_username";
    /// `impersonatedUser.uid`.
    pub const IMPERSONATED_UID: &str = "impersonated_uid";
    /// `impersonatedUser.groups`.
    pub const IMPERSONATED_GROUPS: &str = "impersonated_groups";
    /// `sourceIPs`.
    pub const SOURCE_IPS: &str = "source_ips";
    /// `userAgent`.
    pub const USER_AGENT: &str = "user_agent";
    /// `objectRef.resource`.
    pub const OBJECT_RESOURCE: &str = "object_resource";
    /// `objectRef.namespace`.
    pub const OBJECT_NAMESPACE: &str = "object_namespace";
    /// `objectRef.name`.
    pub const OBJECT_NAME: &str = "object_name";
    /// `objectRef.uid`.
    pub const OBJECT_UID: &str = "object_uid";
    /// `objectRef.apiGroup`.
    pub const OBJECT_API_GROUP: &str = "object_api_group";
    /// `objectRef.apiVersion`.
    pub const OBJECT_API_VERSION: &str = "object_api_version";
    /// `objectRef.resourceVersion`.
    pub const OBJECT_RESOURCE_VERSION: &str = "object_resource_version";
    /// `objectRef.subresource`.
    pub const OBJECT_SUBRESOURCE: &str = "object_subresource";
    /// `responseStatus.code`.
    pub const RESPONSE_CODE: &str = "response_code";
    /// `responseStatus.status` (Success / Failure).
    pub const RESPONSE_STATUS: &str = "response_status";
    /// `responseStatus.reason`.
    pub const RESPONSE_REASON: &str = "response_reason";
    /// `responseStatus.message`.
    pub const RESPONSE_MESSAGE: &str = "response_message";
    /// `annotations`, a map from key to value.
    pub const ANNOTATIONS: &str = "annotations";
    /// `requestObject` as compact JSON; null unless ingested with `--keep-bodies`.
    pub const REQUEST_OBJECT: &str = "request_object";
    /// `responseObject` as compact JSON; null unless ingested with `--keep-bodies`.
    pub const RESPONSE_OBJECT: &str = "response_object";
    /// The event's own `apiVersion` (`audit.k8s.io/v1`, `audit.k8s.io/v1beta1`).
    pub const EVENT_API_VERSION: &str = "event_api_version";
    /// The input format it was read from (see [`crate::InputFormat::name`]).
    pub const SOURCE_FORMAT: &str = "source_format";
    /// Azure category: `kube-audit` or `kube-audit-admin` (AKSAudit rows: `kube-audit`,
    /// AKSAuditAdmin rows: `kube-audit-admin`); null for native logs.
    pub const AZURE_CATEGORY: &str = "azure_category";
    /// The cluster's Azure resource ID (`ResourceId`, `_ResourceId`, `resourceId`), when given.
    pub const CLUSTER_RESOURCE_ID: &str = "cluster_resource_id";
    /// The apiserver pod that wrote the event (`pod_s`, `PodName`, `properties.pod`), when given.
    pub const APISERVER_POD: &str = "apiserver_pod";
}

/// The Arrow type of every timestamp column: nanoseconds, UTC.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
}

fn string_list() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

fn string_map() -> DataType {
    let entries = Field::new(
        "entries",
        DataType::Struct(Fields::from(vec![
            Field::new("key", DataType::Utf8, false),
            Field::new("value", DataType::Utf8, true),
        ])),
        false,
    );
    DataType::Map(Arc::new(entries), false)
}

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    use col::*;
    let utf8 = |name: &str| Field::new(name, DataType::Utf8, true);
    Arc::new(Schema::new(vec![
        Field::new(REQUEST_RECEIVED_TIMESTAMP, timestamp_type(), true),
        Field::new(STAGE_TIMESTAMP, timestamp_type(), true),
        Field::new(TIME_GENERATED, timestamp_type(), true),
        utf8(AUDIT_ID),
        utf8(STAGE),
        utf8(LEVEL),
        utf8(VERB),
        utf8(REQUEST_URI),
        utf8(USER_USERNAME),
        utf8(USER_UID),
        Field::new(USER_GROUPS, string_list(), true),
        utf8(USER_EXTRA),
        utf8(IMPERSONATED_USERNAME),
        utf8(IMPERSONATED_UID),
        Field::new(IMPERSONATED_GROUPS, string_list(), true),
        Field::new(SOURCE_IPS, string_list(), true),
        utf8(USER_AGENT),
        utf8(OBJECT_RESOURCE),
        utf8(OBJECT_NAMESPACE),
        utf8(OBJECT_NAME),
        utf8(OBJECT_UID),
        utf8(OBJECT_API_GROUP),
        utf8(OBJECT_API_VERSION),
        utf8(OBJECT_RESOURCE_VERSION),
        utf8(OBJECT_SUBRESOURCE),
        Field::new(RESPONSE_CODE, DataType::Int32, true),
        utf8(RESPONSE_STATUS),
        utf8(RESPONSE_REASON),
        utf8(RESPONSE_MESSAGE),
        Field::new(ANNOTATIONS, string_map(), true),
        utf8(REQUEST_OBJECT),
        utf8(RESPONSE_OBJECT),
        utf8(EVENT_API_VERSION),
        Field::new(SOURCE_FORMAT, DataType::Utf8, false),
        utf8(AZURE_CATEGORY),
        utf8(CLUSTER_RESOURCE_ID),
        utf8(APISERVER_POD),
    ]))
});

/// The canonical schema every reader produces and the store holds.
pub fn canonical_schema() -> SchemaRef {
    SCHEMA.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_are_unique_and_snake_case() {
        let schema = canonical_schema();
        let mut names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert!(names.iter().all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
        let before = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), before);
    }
}
