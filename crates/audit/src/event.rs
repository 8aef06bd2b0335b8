//! The audit event as the Kubernetes API server writes it (`audit.k8s.io/v1` `Event`).
//!
//! This owned model is what writers and the simulator produce and what tests compare; the
//! hot ingest path may parse into borrowed structs of its own, but it must yield the same
//! canonical rows as converting an [`Event`] would.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One audit event, with the apiserver's own field names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Always `Event`.
    #[serde(default = "event_kind")]
    pub kind: String,
    /// `audit.k8s.io/v1` or `audit.k8s.io/v1beta1`.
    #[serde(default = "event_api_version")]
    pub api_version: String,
    /// None, Metadata, Request, RequestResponse.
    #[serde(default)]
    pub level: String,
    /// Unique per request; shared by the stages of one request.
    #[serde(rename = "auditID", default)]
    pub audit_id: String,
    /// RequestReceived, ResponseStarted, ResponseComplete, Panic.
    #[serde(default)]
    pub stage: String,
    /// The request URI with its query string.
    #[serde(rename = "requestURI", default)]
    pub request_uri: String,
    /// The Kubernetes verb (not the HTTP method).
    #[serde(default)]
    pub verb: String,
    /// The authenticated user.
    #[serde(default)]
    pub user: UserInfo,
    /// The user impersonated, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impersonated_user: Option<UserInfo>,
    /// Client and intermediate proxy IPs.
    /// Absent (or null) stays `None`, stored as a null list: Kusto reads it as null, and an
    /// explicit `[]` as an empty array (`mv-expand` keeps the first, drops the second).
    #[serde(rename = "sourceIPs", default, skip_serializing_if = "Option::is_none")]
    pub source_ips: Option<Vec<String>>,
    /// The client's user agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The object the request is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_ref: Option<ObjectRef>,
    /// The response status (for Metadata level: code, status, reason, message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_status: Option<ResponseStatus>,
    /// The request body (Request and RequestResponse levels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_object: Option<serde_json::Value>,
    /// The response body (RequestResponse level).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_object: Option<serde_json::Value>,
    /// When the apiserver received the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_received_timestamp: Option<DateTime<Utc>>,
    /// When the request reached this stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage_timestamp: Option<DateTime<Utc>>,
    /// The event's only time in the first audit API (Kubernetes 1.7); stored as the stage
    /// timestamp when that is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
    /// Annotations such as `authorization.k8s.io/decision` and `apiserver.latency.k8s.io/*`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

fn event_kind() -> String {
    "Event".to_owned()
}

fn event_api_version() -> String {
    "audit.k8s.io/v1".to_owned()
}

/// `authentication.k8s.io/v1` `UserInfo`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserInfo {
    /// The user name, e.g. `system:serviceaccount:kube-system:job-controller`.
    #[serde(default)]
    pub username: String,
    /// The user's UID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Groups the user belongs to.
    /// Absent (or null) stays `None`, as `sourceIPs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// Extra attributes from the authenticator.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, Vec<String>>,
}

/// `objectRef`: what the request was about.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// Plural resource name, e.g. `pods`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Namespace, absent for cluster-scoped objects and cluster-wide requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Object name, absent for collection requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Object UID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// API group, empty for the core group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_group: Option<String>,
    /// API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Resource version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    /// Subresource, e.g. `status`, `binding`, `log`, `exec`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subresource: Option<String>,
}

/// `responseStatus`, a `metav1.Status` reduced to what the audit log carries at Metadata level.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResponseStatus {
    /// Always `{}` in real events; kept so written events look like the apiserver's.
    #[serde(default)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// `Success` or `Failure`, present on failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Human-readable message, e.g. `Internal error occurred: failed calling webhook "…"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Machine-readable reason, e.g. `Forbidden`, `Conflict`, `TooManyRequests`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// HTTP status code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
}
