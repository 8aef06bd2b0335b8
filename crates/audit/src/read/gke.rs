//! GKE's Kubernetes audit logs, as Cloud Logging holds them: a `LogEntry` whose `protoPayload`
//! is a Cloud Audit Logs `AuditLog` of service `k8s.io`. GKE does not hand on the API server's
//! own `Event`; each entry is turned back into one, with what the entry says and nothing
//! guessed:
//!
//! | Event field | from the entry |
//! |---|---|
//! | `auditID` | `insertId` |
//! | `stage` | `ResponseComplete` (one entry per request) |
//! | `level` | `RequestResponse` with a `protoPayload.response`, `Request` with a `request`, else `Metadata` |
//! | `verb` | the last part of `protoPayload.methodName` (`io.k8s.core.v1.pods.list`) |
//! | `objectRef` | `protoPayload.resourceName` (`core/v1/namespaces/NS/pods/NAME/SUB`; group `core` is the empty group) |
//! | `requestURI` | `/` and the `resourceName` of a request to a path (`readyz`); none for a resource, whose query string GKE does not keep |
//! | `user.username` | `protoPayload.authenticationInfo.principalEmail` |
//! | `sourceIPs` | `protoPayload.requestMetadata.callerIp` |
//! | `userAgent` | `protoPayload.requestMetadata.callerSuppliedUserAgent` |
//! | `responseStatus.code` | `protoPayload.response.code` when the response is a `Status`, else `protoPayload.status.code` (a gRPC code) as HTTP |
//! | `responseStatus.message` | `protoPayload.status.message` |
//! | `stageTimestamp` | `timestamp` |
//! | `requestReceivedTimestamp` | none: the entry has one time, so latency is unknown |
//! | `annotations` | the entry's `labels` (`authorization.k8s.io/decision`, …) |
//! | `requestObject`, `responseObject` | `protoPayload.request`, `protoPayload.response` |
//!
//! The cluster is named `projects/P/locations/L/clusters/C` from `resource.labels`.

use serde_json::{Map, Value, json};

use super::summary::SkipKind;

/// Whether a record is a Cloud Logging entry with an audit payload.
pub(super) fn is_entry(map: &Map<String, Value>) -> bool {
    map.contains_key("protoPayload")
}

/// The audit `Event` an entry describes, and the cluster it names; or why it is not one.
pub(super) fn event_of_entry(
    map: &Map<String, Value>,
) -> Result<(Value, Option<String>), (SkipKind, String)> {
    let payload = match map.get("protoPayload") {
        Some(Value::Object(p)) => p,
        Some(other) => {
            return Err((
                SkipKind::InvalidField,
                format!("field `protoPayload`: {}, expected an object", kind_of(other)),
            ));
        }
        None => {
            return Err((SkipKind::NotAuditRecord, "a Cloud Logging entry without `protoPayload`".into()));
        }
    };
    let service = text(payload.get("serviceName"));
    let method = text(payload.get("methodName"));
    if service != Some("k8s.io") {
        // The GKE API's own calls (container.googleapis.com: clusters, node pools) share the
        // audit logs: they are not requests to the Kubernetes API server.
        let service =
            service.map_or_else(|| "without a `serviceName`".to_owned(), |s| format!("of service {s}"));
        let method = method.map(|m| format!(" ({})", short(m))).unwrap_or_default();
        return Err((
            SkipKind::NotAuditRecord,
            format!(
                "a Cloud Audit Logs entry {service}{method}, not a request to the Kubernetes API (k8s.io)"
            ),
        ));
    }
    let Some(method) = method else {
        return Err((SkipKind::InvalidField, "field `protoPayload.methodName`: missing or empty".into()));
    };
    let verb = method.rsplit('.').next().unwrap_or(method);
    let resource_name = text(payload.get("resourceName"));
    let object_ref = resource_name.and_then(object_ref);
    let mut event = Map::new();
    event.insert("kind".into(), json!("Event"));
    event.insert("apiVersion".into(), json!("audit.k8s.io/v1"));
    let level = if payload.get("response").is_some_and(|v| !v.is_null()) {
        "RequestResponse"
    } else if payload.get("request").is_some_and(|v| !v.is_null()) {
        "Request"
    } else {
        "Metadata"
    };
    event.insert("level".into(), json!(level));
    if let Some(id) = map.get("insertId") {
        event.insert("auditID".into(), id.clone());
    }
    event.insert("stage".into(), json!("ResponseComplete"));
    event.insert("verb".into(), json!(verb));
    // A path that is no resource (`readyz`, `metrics`) is its own request URI; a resource's
    // URI had a query string (`limit`, `resourceVersion`) that the entry does not keep.
    if let (Some(name), None) = (resource_name, &object_ref) {
        event.insert("requestURI".into(), json!(format!("/{}", name.trim_start_matches('/'))));
    }
    if let Some(r) = object_ref {
        event.insert("objectRef".into(), r);
    }
    let auth = payload.get("authenticationInfo").and_then(Value::as_object);
    if let Some(user) = auth.and_then(|a| a.get("principalEmail")) {
        event.insert("user".into(), json!({ "username": user }));
    }
    let meta = payload.get("requestMetadata").and_then(Value::as_object);
    if let Some(ip) = meta.and_then(|m| m.get("callerIp")) {
        event.insert("sourceIPs".into(), json!([ip]));
    }
    if let Some(agent) = meta.and_then(|m| m.get("callerSuppliedUserAgent")) {
        event.insert("userAgent".into(), agent.clone());
    }
    if let Some(status) = response_status(payload)? {
        event.insert("responseStatus".into(), status);
    }
    if let Some(t) = map.get("timestamp") {
        // Read as the event's `timestamp`, so that a bad one is named as the entry names it.
        event.insert("timestamp".into(), t.clone());
    }
    if let Some(labels) = map.get("labels").and_then(Value::as_object) {
        let strings: Map<String, Value> =
            labels.iter().filter(|(_, v)| v.is_string()).map(|(k, v)| (k.clone(), v.clone())).collect();
        if !strings.is_empty() {
            event.insert("annotations".into(), Value::Object(strings));
        }
    }
    for (from, to) in [("request", "requestObject"), ("response", "responseObject")] {
        if let Some(body) = payload.get(from).filter(|v| !v.is_null()) {
            event.insert(to.into(), body.clone());
        }
    }
    Ok((Value::Object(event), cluster_of(map)))
}

/// `responseStatus` from the payload: the Kubernetes `Status` GKE keeps as the response of a
/// failed request (its HTTP code, reason and message), else the payload's gRPC `status` as the
/// HTTP code it stands for. `None` without either.
fn response_status(payload: &Map<String, Value>) -> Result<Option<Value>, (SkipKind, String)> {
    let mut status = Map::new();
    let grpc = payload.get("status").and_then(Value::as_object);
    if let Some(message) =
        grpc.and_then(|s| s.get("message")).filter(|m| m.as_str().is_some_and(|m| !m.is_empty()))
    {
        status.insert("message".into(), message.clone());
    }
    let response = payload.get("response").and_then(Value::as_object);
    let is_status = response.is_some_and(|r| {
        r.get("kind").and_then(Value::as_str) == Some("Status")
            || r.get("@type").and_then(Value::as_str).is_some_and(|t| t.ends_with(".Status"))
    });
    if let Some(r) = response.filter(|_| is_status) {
        if let Some(code) = r.get("code").and_then(Value::as_i64).filter(|c| (100..600).contains(c)) {
            status.insert("code".into(), json!(code));
        }
        for key in ["reason", "status"] {
            if let Some(v) = r.get(key).filter(|v| v.is_string()) {
                status.insert(key.into(), v.clone());
            }
        }
        if !status.contains_key("message")
            && let Some(m) = r.get("message").filter(|v| v.is_string())
        {
            status.insert("message".into(), m.clone());
        }
    }
    if !status.contains_key("code")
        && let Some(g) = grpc
    {
        let code = match g.get("code") {
            // proto3 leaves a zero out: `{}` is OK.
            None | Some(Value::Null) => 0,
            Some(Value::Number(n)) => match n.as_i64() {
                Some(c) => c,
                None => return Err(bad_code(&n.to_string())),
            },
            Some(other) => return Err(bad_code(&other.to_string())),
        };
        let Some(http) = http_of_grpc(code) else { return Err(bad_code(&code.to_string())) };
        status.insert("code".into(), json!(http));
    }
    Ok((!status.is_empty()).then_some(Value::Object(status)))
}

/// A string that is not empty.
fn text(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn bad_code(shown: &str) -> (SkipKind, String) {
    (
        SkipKind::InvalidField,
        format!("field `protoPayload.status.code`: {}, expected a gRPC status code (0 to 16)", short(shown)),
    )
}

/// The HTTP status a gRPC status code stands for, as `google.rpc.Code` documents each.
pub(crate) fn http_of_grpc(code: i64) -> Option<i32> {
    Some(match code {
        0 => 200,           // OK
        1 => 499,           // CANCELLED
        2 | 13 | 15 => 500, // UNKNOWN, INTERNAL, DATA_LOSS
        3 | 9 | 11 => 400,  // INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE
        4 => 504,           // DEADLINE_EXCEEDED
        5 => 404,           // NOT_FOUND
        6 | 10 => 409,      // ALREADY_EXISTS, ABORTED
        7 => 403,           // PERMISSION_DENIED
        8 => 429,           // RESOURCE_EXHAUSTED
        12 => 501,          // UNIMPLEMENTED
        14 => 503,          // UNAVAILABLE
        16 => 401,          // UNAUTHENTICATED
        _ => return None,
    })
}

/// The `objectRef` of a `resourceName`: `GROUP/VERSION/RESOURCE[/NAME[/SUB]]`, or with
/// `namespaces/NS/` after the version. `None` for a name that is no resource (`readyz`).
pub(crate) fn object_ref(name: &str) -> Option<Value> {
    let parts: Vec<&str> = name.trim_matches('/').split('/').collect();
    let (group, version) = match parts.as_slice() {
        [g, v, _, ..] if !g.is_empty() && is_version(v) => (*g, *v),
        _ => return None,
    };
    let rest = &parts[2..];
    // `namespaces/NS/RESOURCE…` is a namespaced resource; `namespaces`, `namespaces/NS` and
    // `namespaces/NS/status|finalize` are the namespace itself.
    let (namespace, rest) = match rest {
        ["namespaces", ns, resource, tail @ ..]
            if !matches!(*resource, "status" | "finalize") || !tail.is_empty() =>
        {
            (Some(*ns), &rest[2..])
        }
        _ => (None, rest),
    };
    let mut r = Map::new();
    let text = |s: &str| Value::String(s.to_owned());
    r.insert("resource".into(), text(rest.first().copied().unwrap_or_default()));
    if let Some(ns) = namespace {
        r.insert("namespace".into(), text(ns));
    }
    if let Some(n) = rest.get(1) {
        r.insert("name".into(), text(n));
    }
    if rest.len() > 2 {
        r.insert("subresource".into(), text(&rest[2..].join("/")));
    }
    r.insert("apiGroup".into(), text(if group == "core" { "" } else { group }));
    r.insert("apiVersion".into(), text(version));
    Some(Value::Object(r))
}

/// Whether a path segment is an API version (`v1`, `v1beta1`, `v2alpha3`), not a group.
fn is_version(s: &str) -> bool {
    s.strip_prefix('v').is_some_and(|rest| {
        rest.starts_with(|c: char| c.is_ascii_digit()) && rest.chars().all(|c| c.is_ascii_alphanumeric())
    })
}

/// `projects/P/locations/L/clusters/C`, GKE's name of the cluster, from `resource.labels`.
fn cluster_of(map: &Map<String, Value>) -> Option<String> {
    let labels = map.get("resource")?.get("labels")?.as_object()?;
    let get = |k: &str| labels.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    Some(format!(
        "projects/{}/locations/{}/clusters/{}",
        get("project_id")?,
        get("location")?,
        get("cluster_name")?
    ))
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn short(s: &str) -> String {
    if s.chars().count() <= 80 { s.to_owned() } else { s.chars().take(80).chain(['…']).collect() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_names_give_the_object_reference_the_api_server_would_log() {
        let r = object_ref;
        assert_eq!(
            r("core/v1/namespaces/default/pods/web-1/exec"),
            Some(json!({"apiGroup": "", "apiVersion": "v1", "name": "web-1", "namespace": "default",
                        "resource": "pods", "subresource": "exec"}))
        );
        assert_eq!(
            r("apps/v1/namespaces/prod/deployments"),
            Some(
                json!({"apiGroup": "apps", "apiVersion": "v1", "namespace": "prod", "resource": "deployments"})
            )
        );
        assert_eq!(r("core/v1/pods"), Some(json!({"apiGroup": "", "apiVersion": "v1", "resource": "pods"})));
        assert_eq!(
            r("core/v1/nodes/gke-pool-1/status"),
            Some(json!({"apiGroup": "", "apiVersion": "v1", "name": "gke-pool-1", "resource": "nodes",
                        "subresource": "status"}))
        );
        // The namespace itself, not a resource in it.
        assert_eq!(
            r("core/v1/namespaces/team-a"),
            Some(json!({"apiGroup": "", "apiVersion": "v1", "name": "team-a", "resource": "namespaces"}))
        );
        assert_eq!(
            r("core/v1/namespaces/team-a/finalize"),
            Some(json!({"apiGroup": "", "apiVersion": "v1", "name": "team-a", "resource": "namespaces",
                        "subresource": "finalize"}))
        );
        assert_eq!(
            r("rbac.authorization.k8s.io/v1/clusterroles/admin"),
            Some(json!({"apiGroup": "rbac.authorization.k8s.io", "apiVersion": "v1", "name": "admin",
                        "resource": "clusterroles"}))
        );
        // Paths that are no resource.
        assert_eq!(r("readyz"), None);
        assert_eq!(r("apis/metrics.k8s.io"), None);
        assert_eq!(r("apis/apps/v1"), None);
        assert_eq!(r("apis/velero.io/v1"), None);
        assert_eq!(
            r("velero.io/v1/namespaces/velero/backups"),
            Some(
                json!({"apiGroup": "velero.io", "apiVersion": "v1", "namespace": "velero", "resource": "backups"})
            )
        );
        assert_eq!(r(""), None);
    }

    #[test]
    fn grpc_codes_become_the_http_status_they_stand_for() {
        let codes: Vec<Option<i32>> = (0..=17).map(http_of_grpc).collect();
        assert_eq!(
            codes,
            [
                Some(200),
                Some(499),
                Some(500),
                Some(400),
                Some(504),
                Some(404),
                Some(409),
                Some(403),
                Some(429),
                Some(400),
                Some(409),
                Some(400),
                Some(501),
                Some(500),
                Some(503),
                Some(500),
                Some(401),
                None
            ]
        );
    }
}
