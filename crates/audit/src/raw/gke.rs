//! GKE's Kubernetes audit logs, as Cloud Logging holds them: a `LogEntry` whose `protoPayload`
//! is a Cloud Audit Logs `AuditLog` of service `k8s.io`, read borrowed and turned back into
//! the [`RawEvent`] it describes, with what the entry says and nothing guessed:
//!
//! | Event field | from the entry |
//! |---|---|
//! | `auditID` | `insertId` |
//! | `stage` | `ResponseComplete` (one entry per request) |
//! | `level` | `RequestResponse` with a `protoPayload.response`, `Request` with a `request`, else `Metadata` |
//! | `verb` | the last part of `protoPayload.methodName` (`io.k8s.core.v1.pods.list`) |
//! | `objectRef` | `protoPayload.resourceName` (`core/v1/namespaces/NS/pods/NAME/SUB`; group `core` is the empty group; a Namespace object's namespace is its name) |
//! | `requestURI` | `/` and the `resourceName` of a request to a path (`readyz`); none for a resource, whose query string GKE does not keep |
//! | `user.username` | `protoPayload.authenticationInfo.principalEmail` |
//! | `sourceIPs` | `protoPayload.requestMetadata.callerIp` |
//! | `userAgent` | `protoPayload.requestMetadata.callerSuppliedUserAgent` |
//! | `responseStatus.code` | `protoPayload.response.code` when the response is a `Status`, else `protoPayload.status.code` (a gRPC code) as HTTP |
//! | `responseStatus.message` | `protoPayload.status.message` (else the `Status`'s) |
//! | `stageTimestamp` | `timestamp` (read as the event's `timestamp`, so a bad one is named as the entry names it) |
//! | `requestReceivedTimestamp` | none: the entry has one time, so latency is unknown |
//! | `annotations` | the entry's `labels` (`authorization.k8s.io/decision`, …) |
//! | `requestObject`, `responseObject` | `protoPayload.request`, `protoPayload.response` |
//!
//! The cluster is named `projects/P/locations/L/clusters/C` from `resource.labels`.

use std::borrow::Cow;
use std::ops::Range;

use serde::Deserialize;
use serde_json::Value;

use super::{Body, RawEvent, RawObjectRef, RawStatus, RawUser, Str, annotations, object, optional_object};
use crate::read::summary::SkipKind;

/// A Cloud Logging entry, borrowed; `B` decides whether the request body is skipped or kept.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "B: Deserialize<'de>"))]
pub(crate) struct Entry<'a, B> {
    #[serde(borrow, default)]
    insert_id: Option<Str<'a>>,
    #[serde(borrow, default)]
    timestamp: Option<Str<'a>>,
    #[serde(borrow, default, deserialize_with = "annotations")]
    labels: Option<Vec<(Str<'a>, Str<'a>)>>,
    #[serde(borrow, default, deserialize_with = "optional_object")]
    resource: Option<MonitoredResource<'a>>,
    #[serde(borrow, deserialize_with = "object")]
    proto_payload: Payload<'a, B>,
}

#[derive(Debug, Deserialize)]
struct MonitoredResource<'a> {
    #[serde(borrow, default, deserialize_with = "optional_object")]
    labels: Option<ResourceLabels<'a>>,
}

#[derive(Debug, Deserialize)]
struct ResourceLabels<'a> {
    #[serde(borrow, default)]
    project_id: Option<Str<'a>>,
    #[serde(borrow, default)]
    location: Option<Str<'a>>,
    #[serde(borrow, default)]
    cluster_name: Option<Str<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "B: Deserialize<'de>"))]
struct Payload<'a, B> {
    #[serde(borrow, default)]
    service_name: Option<Str<'a>>,
    #[serde(borrow, default)]
    method_name: Option<Str<'a>>,
    #[serde(borrow, default)]
    resource_name: Option<Str<'a>>,
    #[serde(borrow, default, deserialize_with = "optional_object")]
    authentication_info: Option<Principal<'a>>,
    #[serde(borrow, default, deserialize_with = "optional_object")]
    request_metadata: Option<Caller<'a>>,
    #[serde(borrow, default, deserialize_with = "optional_object")]
    status: Option<GrpcStatus<'a>>,
    #[serde(default = "none")]
    request: Option<B>,
    /// Read whole: a failure's is the Kubernetes `Status`, whose code is the request's.
    #[serde(default)]
    response: Option<Value>,
}

fn none<B>() -> Option<B> {
    None
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Principal<'a> {
    #[serde(borrow, default)]
    principal_email: Option<Str<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Caller<'a> {
    #[serde(borrow, default)]
    caller_ip: Option<Str<'a>>,
    #[serde(borrow, default)]
    caller_supplied_user_agent: Option<Str<'a>>,
}

#[derive(Debug, Deserialize)]
struct GrpcStatus<'a> {
    /// proto3 leaves a zero out: absent is OK.
    #[serde(default)]
    code: Option<i64>,
    #[serde(borrow, default)]
    message: Option<Str<'a>>,
}

fn text<'s>(s: &'s Option<Str<'_>>) -> Option<&'s str> {
    s.as_ref().map(Str::as_str).filter(|s| !s.is_empty())
}

impl<'a, B: Body> Entry<'a, B> {
    /// The audit event the entry describes and the cluster it names; or why it is none.
    pub(crate) fn event(self) -> Result<(RawEvent<'a, B>, Option<String>), (SkipKind, String)> {
        let p = self.proto_payload;
        let service = text(&p.service_name);
        let method = text(&p.method_name);
        if service != Some("k8s.io") {
            // The GKE API's own calls (container.googleapis.com: clusters, node pools) share
            // the audit logs: they are not requests to the Kubernetes API server.
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
        let verb = match &p.method_name {
            Some(Str(Cow::Borrowed(m))) => Str(Cow::Borrowed(&m[m.len() - verb.len()..])),
            _ => Str(Cow::Owned(verb.to_owned())),
        };
        let mut e = RawEvent::empty();
        e.kind = Some(Str(Cow::Borrowed("Event")));
        e.api_version = Some(Str(Cow::Borrowed("audit.k8s.io/v1")));
        let level = if p.response.as_ref().is_some_and(|v| !v.is_null()) {
            "RequestResponse"
        } else if p.request.is_some() {
            "Request"
        } else {
            "Metadata"
        };
        e.level = Some(Str(Cow::Borrowed(level)));
        e.audit_id = self.insert_id;
        e.stage = Some(Str(Cow::Borrowed("ResponseComplete")));
        e.verb = Some(verb);
        if let Some(name) = p.resource_name.filter(|n| !n.as_str().is_empty()) {
            match object_ref(name.as_str()) {
                Some(parts) => {
                    let part = |r: Option<Range<usize>>| r.map(|r| sub(&name, r));
                    e.object_ref = Some(RawObjectRef {
                        resource: part(Some(parts.resource)),
                        namespace: part(parts.namespace),
                        name: part(parts.name),
                        subresource: part(parts.subresource),
                        api_group: Some(if parts.core {
                            Str(Cow::Borrowed(""))
                        } else {
                            sub(&name, parts.group)
                        }),
                        api_version: part(Some(parts.version)),
                        ..RawObjectRef::default()
                    });
                }
                // A path that is no resource (`readyz`, `metrics`) is its own request URI; a
                // resource's URI had a query string (`limit`, `resourceVersion`) that the entry
                // does not keep.
                None => {
                    e.request_uri =
                        Some(Str(Cow::Owned(format!("/{}", name.as_str().trim_start_matches('/')))));
                }
            }
        }
        e.user = p
            .authentication_info
            .and_then(|a| a.principal_email)
            .map(|u| RawUser { username: Some(u), ..RawUser::default() });
        if let Some(caller) = p.request_metadata {
            e.source_ips = caller.caller_ip.map(|ip| vec![ip]);
            e.user_agent = caller.caller_supplied_user_agent;
        }
        e.response_status = response_status(p.status, p.response.as_ref())?;
        e.timestamp = self.timestamp;
        e.annotations = self.labels.filter(|l| !l.is_empty());
        e.request_object = p.request;
        e.response_object = p.response.as_ref().filter(|v| !v.is_null()).map(B::from_value);
        let cluster = self.resource.and_then(|r| r.labels).and_then(|l| {
            Some(format!(
                "projects/{}/locations/{}/clusters/{}",
                text(&l.project_id)?,
                text(&l.location)?,
                text(&l.cluster_name)?
            ))
        });
        Ok((e, cluster))
    }
}

/// `responseStatus`: the Kubernetes `Status` GKE keeps as the response of a failed request (its
/// HTTP code, reason and message), else the payload's gRPC `status` as the HTTP code it stands
/// for. `None` without either.
fn response_status<'a>(
    grpc: Option<GrpcStatus<'a>>,
    response: Option<&Value>,
) -> Result<Option<RawStatus<'a>>, (SkipKind, String)> {
    let mut s = RawStatus::default();
    let is_status = response.is_some_and(|r| {
        r.get("kind").and_then(Value::as_str) == Some("Status")
            || r.get("@type").and_then(Value::as_str).is_some_and(|t| t.ends_with(".Status"))
    });
    let owned = |v: Option<&Value>| v.and_then(Value::as_str).map(|t| Str(Cow::Owned(t.to_owned())));
    if let Some(r) = response.filter(|_| is_status) {
        s.code = r.get("code").and_then(Value::as_i64).filter(|c| (100..600).contains(c)).map(|c| c as i32);
        s.reason = owned(r.get("reason"));
        s.status = owned(r.get("status"));
        s.message = owned(r.get("message"));
    }
    if let Some(g) = grpc {
        if let Some(m) = g.message.filter(|m| !m.as_str().is_empty()) {
            s.message = Some(m);
        }
        if s.code.is_none() {
            let code = g.code.unwrap_or(0);
            let Some(http) = http_of_grpc(code) else {
                return Err((
                    SkipKind::InvalidField,
                    format!(
                        "field `protoPayload.status.code`: {code}, expected a gRPC status code (0 to 16)"
                    ),
                ));
            };
            s.code = Some(http);
        }
    }
    let empty = s.code.is_none() && s.message.is_none() && s.reason.is_none() && s.status.is_none();
    Ok((!empty).then_some(s))
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

/// The parts of a `resourceName`, as byte ranges of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parts {
    group: Range<usize>,
    /// The group is `core`, the empty group.
    core: bool,
    version: Range<usize>,
    namespace: Option<Range<usize>>,
    resource: Range<usize>,
    name: Option<Range<usize>>,
    subresource: Option<Range<usize>>,
}

/// The object reference of a `resourceName`: `GROUP/VERSION/RESOURCE[/NAME[/SUB]]`, or with
/// `namespaces/NS/` after the version. `None` for a name that is no resource (`readyz`).
pub(crate) fn object_ref(name: &str) -> Option<Parts> {
    let mut segments: Vec<Range<usize>> = Vec::new();
    let mut start = 0;
    for (i, b) in name.bytes().enumerate() {
        if b == b'/' {
            segments.push(start..i);
            start = i + 1;
        }
    }
    segments.push(start..name.len());
    let segments: Vec<Range<usize>> = segments.into_iter().filter(|r| !r.is_empty()).collect();
    let at = |i: usize| segments.get(i).map(|r| &name[r.clone()]);
    if segments.len() < 3 || !at(1).is_some_and(is_version) {
        return None;
    }
    let mut rest = &segments[2..];
    // `namespaces/NS/RESOURCE…` is a namespaced resource; `namespaces`, `namespaces/NS` and
    // `namespaces/NS/status|finalize` are the namespace itself, whose namespace is its name as
    // kube-apiserver's own event has it (its RequestInfo reads `/namespaces/NS` so): ingest
    // review 50, item 4.
    let mut namespace = None;
    if rest.len() >= 2 && &name[rest[0].clone()] == "namespaces" {
        namespace = Some(rest[1].clone());
        if rest.len() > 3 || (rest.len() == 3 && !matches!(&name[rest[2].clone()], "status" | "finalize")) {
            rest = &rest[2..];
        }
    }
    let subresource = match rest {
        [_, _, tail @ ..] if !tail.is_empty() => Some(tail[0].start..tail[tail.len() - 1].end),
        _ => None,
    };
    Some(Parts {
        group: segments[0].clone(),
        core: at(0) == Some("core"),
        version: segments[1].clone(),
        namespace,
        resource: rest[0].clone(),
        name: rest.get(1).cloned(),
        subresource,
    })
}

/// Part `r` of `whole`, borrowed when `whole` is.
fn sub<'a>(whole: &Str<'a>, r: Range<usize>) -> Str<'a> {
    match &whole.0 {
        Cow::Borrowed(b) => Str(Cow::Borrowed(&b[r])),
        Cow::Owned(o) => Str(Cow::Owned(o[r].to_owned())),
    }
}

/// Whether a path segment is an API version (`v1`, `v1beta1`, `v2alpha3`), not a group.
fn is_version(s: &str) -> bool {
    s.strip_prefix('v').is_some_and(|rest| {
        rest.starts_with(|c: char| c.is_ascii_digit()) && rest.chars().all(|c| c.is_ascii_alphanumeric())
    })
}

fn short(s: &str) -> String {
    if s.chars().count() <= 80 { s.to_owned() } else { s.chars().take(80).chain(['…']).collect() }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The object reference of a name, as (group, version, namespace, resource, name, sub).
    fn parts(name: &str) -> Option<[Option<&str>; 6]> {
        let p = object_ref(name)?;
        let s = |r: Option<Range<usize>>| r.map(|r| &name[r]);
        let group = if p.core { Some("") } else { s(Some(p.group)) };
        Some([group, s(Some(p.version)), s(p.namespace), s(Some(p.resource)), s(p.name), s(p.subresource)])
    }

    #[test]
    fn resource_names_give_the_object_reference_the_api_server_would_log() {
        let r = parts;
        assert_eq!(
            r("core/v1/namespaces/default/pods/web-1/exec"),
            Some([Some(""), Some("v1"), Some("default"), Some("pods"), Some("web-1"), Some("exec")])
        );
        assert_eq!(
            r("apps/v1/namespaces/prod/deployments"),
            Some([Some("apps"), Some("v1"), Some("prod"), Some("deployments"), None, None])
        );
        assert_eq!(r("core/v1/pods"), Some([Some(""), Some("v1"), None, Some("pods"), None, None]));
        assert_eq!(
            r("core/v1/nodes/gke-pool-1/status"),
            Some([Some(""), Some("v1"), None, Some("nodes"), Some("gke-pool-1"), Some("status")])
        );
        // The namespace itself, not a resource in it: its namespace is its name.
        assert_eq!(
            r("core/v1/namespaces/team-a"),
            Some([Some(""), Some("v1"), Some("team-a"), Some("namespaces"), Some("team-a"), None])
        );
        assert_eq!(
            r("core/v1/namespaces/team-a/finalize"),
            Some([
                Some(""),
                Some("v1"),
                Some("team-a"),
                Some("namespaces"),
                Some("team-a"),
                Some("finalize")
            ])
        );
        assert_eq!(
            r("core/v1/namespaces"),
            Some([Some(""), Some("v1"), None, Some("namespaces"), None, None])
        );
        assert_eq!(
            r("rbac.authorization.k8s.io/v1/clusterroles/admin"),
            Some([
                Some("rbac.authorization.k8s.io"),
                Some("v1"),
                None,
                Some("clusterroles"),
                Some("admin"),
                None
            ])
        );
        assert_eq!(
            r("velero.io/v1/namespaces/velero/backups"),
            Some([Some("velero.io"), Some("v1"), Some("velero"), Some("backups"), None, None])
        );
        // Paths that are no resource.
        for path in ["readyz", "apis/metrics.k8s.io", "apis/apps/v1", "apis/velero.io/v1", ""] {
            assert_eq!(r(path), None, "{path}");
        }
    }

    #[test]
    fn grpc_codes_become_the_http_status_they_stand_for() {
        let codes: Vec<Option<i32>> = (0..=17).map(http_of_grpc).collect();
        let want = [200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401];
        let want: Vec<Option<i32>> = want.into_iter().map(Some).chain([None]).collect();
        assert_eq!(codes, want);
    }
}
