//! The reference conversion from [`Event`]s to canonical Arrow rows.
//!
//! Fast readers may fill the builders directly, but they must give the same rows as this.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Int32Builder, ListBuilder, MapBuilder, MapFieldNames, RecordBatch, StringBuilder,
    TimestampNanosecondBuilder,
};
use arrow::error::ArrowError;
use chrono::{DateTime, Utc};

use crate::InputFormat;
use crate::event::{Event, UserInfo};
use crate::schema::canonical_schema;

/// Where an event came from, beyond the event itself (Azure columns, envelope fields).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// Azure's `TimeGenerated` (or the envelope's `time`).
    pub time_generated: Option<DateTime<Utc>>,
    /// `kube-audit` or `kube-audit-admin`.
    pub azure_category: Option<String>,
    /// The cluster's Azure resource ID.
    pub cluster_resource_id: Option<String>,
    /// The apiserver pod that wrote the event.
    pub apiserver_pod: Option<String>,
}

/// Column builders for the canonical schema; append events, then [`CanonicalBuilder::finish`].
pub struct CanonicalBuilder {
    pub(crate) request_received: TimestampNanosecondBuilder,
    pub(crate) stage_ts: TimestampNanosecondBuilder,
    pub(crate) time_generated: TimestampNanosecondBuilder,
    pub(crate) audit_id: StringBuilder,
    pub(crate) stage: StringBuilder,
    pub(crate) level: StringBuilder,
    pub(crate) verb: StringBuilder,
    pub(crate) request_uri: StringBuilder,
    pub(crate) user_username: StringBuilder,
    pub(crate) user_uid: StringBuilder,
    pub(crate) user_groups: ListBuilder<StringBuilder>,
    pub(crate) user_extra: StringBuilder,
    pub(crate) imp_username: StringBuilder,
    pub(crate) imp_uid: StringBuilder,
    pub(crate) imp_groups: ListBuilder<StringBuilder>,
    pub(crate) source_ips: ListBuilder<StringBuilder>,
    pub(crate) user_agent: StringBuilder,
    pub(crate) obj_resource: StringBuilder,
    pub(crate) obj_namespace: StringBuilder,
    pub(crate) obj_name: StringBuilder,
    pub(crate) obj_uid: StringBuilder,
    pub(crate) obj_api_group: StringBuilder,
    pub(crate) obj_api_version: StringBuilder,
    pub(crate) obj_resource_version: StringBuilder,
    pub(crate) obj_subresource: StringBuilder,
    pub(crate) response_code: Int32Builder,
    pub(crate) response_status: StringBuilder,
    pub(crate) response_reason: StringBuilder,
    pub(crate) response_message: StringBuilder,
    pub(crate) annotations: MapBuilder<StringBuilder, StringBuilder>,
    pub(crate) request_object: StringBuilder,
    pub(crate) response_object: StringBuilder,
    pub(crate) event_api_version: StringBuilder,
    pub(crate) source_format: StringBuilder,
    pub(crate) azure_category: StringBuilder,
    pub(crate) cluster_resource_id: StringBuilder,
    pub(crate) apiserver_pod: StringBuilder,
    pub(crate) len: usize,
}

impl Default for CanonicalBuilder {
    fn default() -> Self {
        Self::new()
    }
}

/// Nanoseconds since the epoch, or `None` outside Arrow's nanosecond range (1677–2262).
pub fn timestamp_nanos(t: &DateTime<Utc>) -> Option<i64> {
    t.timestamp_nanos_opt()
}

fn opt_str(b: &mut StringBuilder, v: Option<&str>) {
    b.append_option(v);
}

fn non_empty(v: &str) -> Option<&str> {
    (!v.is_empty()).then_some(v)
}

fn append_list(b: &mut ListBuilder<StringBuilder>, items: &[String]) {
    for item in items {
        b.values().append_value(item);
    }
    b.append(true);
}

impl CanonicalBuilder {
    /// Empty builders.
    pub fn new() -> Self {
        let map_names =
            MapFieldNames { entry: "entries".to_owned(), key: "key".to_owned(), value: "value".to_owned() };
        CanonicalBuilder {
            request_received: TimestampNanosecondBuilder::new().with_timezone("UTC"),
            stage_ts: TimestampNanosecondBuilder::new().with_timezone("UTC"),
            time_generated: TimestampNanosecondBuilder::new().with_timezone("UTC"),
            audit_id: StringBuilder::new(),
            stage: StringBuilder::new(),
            level: StringBuilder::new(),
            verb: StringBuilder::new(),
            request_uri: StringBuilder::new(),
            user_username: StringBuilder::new(),
            user_uid: StringBuilder::new(),
            user_groups: ListBuilder::new(StringBuilder::new()),
            user_extra: StringBuilder::new(),
            imp_username: StringBuilder::new(),
            imp_uid: StringBuilder::new(),
            imp_groups: ListBuilder::new(StringBuilder::new()),
            source_ips: ListBuilder::new(StringBuilder::new()),
            user_agent: StringBuilder::new(),
            obj_resource: StringBuilder::new(),
            obj_namespace: StringBuilder::new(),
            obj_name: StringBuilder::new(),
            obj_uid: StringBuilder::new(),
            obj_api_group: StringBuilder::new(),
            obj_api_version: StringBuilder::new(),
            obj_resource_version: StringBuilder::new(),
            obj_subresource: StringBuilder::new(),
            response_code: Int32Builder::new(),
            response_status: StringBuilder::new(),
            response_reason: StringBuilder::new(),
            response_message: StringBuilder::new(),
            annotations: MapBuilder::new(Some(map_names), StringBuilder::new(), StringBuilder::new()),
            request_object: StringBuilder::new(),
            response_object: StringBuilder::new(),
            event_api_version: StringBuilder::new(),
            source_format: StringBuilder::new(),
            azure_category: StringBuilder::new(),
            cluster_resource_id: StringBuilder::new(),
            apiserver_pod: StringBuilder::new(),
            len: 0,
        }
    }

    /// Rows appended so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no row was appended.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends one event. Bodies are kept only when `keep_bodies`.
    pub fn append(&mut self, event: &Event, format: InputFormat, origin: &Origin, keep_bodies: bool) {
        let ts = |t: &Option<DateTime<Utc>>| t.as_ref().and_then(timestamp_nanos);
        self.request_received.append_option(ts(&event.request_received_timestamp));
        self.stage_ts.append_option(ts(&event.stage_timestamp));
        self.time_generated.append_option(ts(&origin.time_generated));
        opt_str(&mut self.audit_id, non_empty(&event.audit_id));
        opt_str(&mut self.stage, non_empty(&event.stage));
        opt_str(&mut self.level, non_empty(&event.level));
        opt_str(&mut self.verb, non_empty(&event.verb));
        opt_str(&mut self.request_uri, non_empty(&event.request_uri));
        self.append_user(&event.user);
        match &event.impersonated_user {
            Some(u) => {
                opt_str(&mut self.imp_username, non_empty(&u.username));
                opt_str(&mut self.imp_uid, u.uid.as_deref());
                append_list(&mut self.imp_groups, &u.groups);
            }
            None => {
                self.imp_username.append_null();
                self.imp_uid.append_null();
                self.imp_groups.append(false);
            }
        }
        append_list(&mut self.source_ips, &event.source_ips);
        opt_str(&mut self.user_agent, event.user_agent.as_deref());
        let o = event.object_ref.clone().unwrap_or_default();
        opt_str(&mut self.obj_resource, o.resource.as_deref());
        opt_str(&mut self.obj_namespace, o.namespace.as_deref());
        opt_str(&mut self.obj_name, o.name.as_deref());
        opt_str(&mut self.obj_uid, o.uid.as_deref());
        opt_str(&mut self.obj_api_group, o.api_group.as_deref());
        opt_str(&mut self.obj_api_version, o.api_version.as_deref());
        opt_str(&mut self.obj_resource_version, o.resource_version.as_deref());
        opt_str(&mut self.obj_subresource, o.subresource.as_deref());
        let s = event.response_status.clone().unwrap_or_default();
        self.response_code.append_option(s.code);
        opt_str(&mut self.response_status, s.status.as_deref());
        opt_str(&mut self.response_reason, s.reason.as_deref());
        opt_str(&mut self.response_message, s.message.as_deref());
        if event.annotations.is_empty() {
            // An absent map and an empty one read the same in every query; store null.
            self.annotations.append(false).ok();
        } else {
            for (k, v) in &event.annotations {
                self.annotations.keys().append_value(k);
                self.annotations.values().append_value(v);
            }
            self.annotations.append(true).ok();
        }
        let body = |v: &Option<serde_json::Value>| {
            if keep_bodies { v.as_ref().map(|v| v.to_string()) } else { None }
        };
        self.request_object.append_option(body(&event.request_object));
        self.response_object.append_option(body(&event.response_object));
        opt_str(&mut self.event_api_version, non_empty(&event.api_version));
        self.source_format.append_value(format.name());
        opt_str(&mut self.azure_category, origin.azure_category.as_deref());
        opt_str(&mut self.cluster_resource_id, origin.cluster_resource_id.as_deref());
        opt_str(&mut self.apiserver_pod, origin.apiserver_pod.as_deref());
        self.len += 1;
    }

    fn append_user(&mut self, u: &UserInfo) {
        opt_str(&mut self.user_username, non_empty(&u.username));
        opt_str(&mut self.user_uid, u.uid.as_deref());
        append_list(&mut self.user_groups, &u.groups);
        if u.extra.is_empty() {
            self.user_extra.append_null();
        } else {
            self.user_extra.append_option(serde_json::to_string(&u.extra).ok());
        }
    }

    /// Builds the batch and resets the builders.
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.request_received.finish()),
            Arc::new(self.stage_ts.finish()),
            Arc::new(self.time_generated.finish()),
            Arc::new(self.audit_id.finish()),
            Arc::new(self.stage.finish()),
            Arc::new(self.level.finish()),
            Arc::new(self.verb.finish()),
            Arc::new(self.request_uri.finish()),
            Arc::new(self.user_username.finish()),
            Arc::new(self.user_uid.finish()),
            Arc::new(self.user_groups.finish()),
            Arc::new(self.user_extra.finish()),
            Arc::new(self.imp_username.finish()),
            Arc::new(self.imp_uid.finish()),
            Arc::new(self.imp_groups.finish()),
            Arc::new(self.source_ips.finish()),
            Arc::new(self.user_agent.finish()),
            Arc::new(self.obj_resource.finish()),
            Arc::new(self.obj_namespace.finish()),
            Arc::new(self.obj_name.finish()),
            Arc::new(self.obj_uid.finish()),
            Arc::new(self.obj_api_group.finish()),
            Arc::new(self.obj_api_version.finish()),
            Arc::new(self.obj_resource_version.finish()),
            Arc::new(self.obj_subresource.finish()),
            Arc::new(self.response_code.finish()),
            Arc::new(self.response_status.finish()),
            Arc::new(self.response_reason.finish()),
            Arc::new(self.response_message.finish()),
            Arc::new(self.annotations.finish()),
            Arc::new(self.request_object.finish()),
            Arc::new(self.response_object.finish()),
            Arc::new(self.event_api_version.finish()),
            Arc::new(self.source_format.finish()),
            Arc::new(self.azure_category.finish()),
            Arc::new(self.cluster_resource_id.finish()),
            Arc::new(self.apiserver_pod.finish()),
        ];
        self.len = 0;
        RecordBatch::try_new(canonical_schema(), columns)
    }
}

/// Converts events read from one format into one canonical batch.
pub fn events_to_batch(
    events: &[Event],
    format: InputFormat,
    origin: &Origin,
    keep_bodies: bool,
) -> Result<RecordBatch, ArrowError> {
    let mut b = CanonicalBuilder::new();
    for e in events {
        b.append(e, format, origin, keep_bodies);
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::col;
    use arrow::array::{Array, AsArray};

    #[test]
    fn event_becomes_one_canonical_row_with_bodies_dropped_by_default() {
        let line = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"a1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods?limit=500","verb":"list","user":{"username":"alice","groups":["system:authenticated"]},"sourceIPs":["10.0.0.1"],"userAgent":"kubectl/v1.29.4","objectRef":{"resource":"pods","namespace":"default","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestObject":{"secret":"x"},"requestReceivedTimestamp":"2024-01-01T10:00:00.1234567Z","stageTimestamp":"2024-01-01T10:00:01Z","annotations":{"authorization.k8s.io/decision":"allow"}}"#;
        let event: Event = serde_json::from_str(line).expect("valid event");
        let batch = events_to_batch(&[event], InputFormat::K8sLog, &Origin::default(), false)
            .expect("schema matches");
        assert_eq!(batch.num_rows(), 1);
        let verb = batch.column_by_name(col::VERB).expect("verb column").as_string::<i32>();
        assert_eq!(verb.value(0), "list");
        let rr = batch
            .column_by_name(col::REQUEST_RECEIVED_TIMESTAMP)
            .expect("ts")
            .as_primitive::<arrow::datatypes::TimestampNanosecondType>();
        assert_eq!(rr.value(0) % 1_000_000_000, 123_456_700);
        let body = batch.column_by_name(col::REQUEST_OBJECT).expect("body column");
        assert!(body.is_null(0), "bodies are dropped unless asked for");
        let code = batch
            .column_by_name(col::RESPONSE_CODE)
            .expect("code")
            .as_primitive::<arrow::datatypes::Int32Type>();
        assert_eq!(code.value(0), 200);
        assert!(batch.column_by_name(col::IMPERSONATED_GROUPS).expect("imp").is_null(0));
    }
}
