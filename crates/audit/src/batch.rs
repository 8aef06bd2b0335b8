//! The reference conversion from [`Event`]s to canonical Arrow rows.
//!
//! Fast readers may fill the builders directly, but they must give the same rows as this.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow::array::{
    ArrayBuilder, ArrayRef, Int32Builder, ListBuilder, MapBuilder, MapFieldNames, RecordBatch, StringArray,
    StringBuilder, TimestampNanosecondBuilder,
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
    pub(crate) audit_id: StrCol,
    pub(crate) stage: StrCol,
    pub(crate) level: StrCol,
    pub(crate) verb: StrCol,
    pub(crate) request_uri: StrCol,
    pub(crate) user_username: StrCol,
    pub(crate) user_uid: StrCol,
    pub(crate) user_groups: ListBuilder<StringBuilder>,
    pub(crate) user_extra: StrCol,
    pub(crate) imp_username: StrCol,
    pub(crate) imp_uid: StrCol,
    pub(crate) imp_groups: ListBuilder<StringBuilder>,
    pub(crate) source_ips: ListBuilder<StringBuilder>,
    pub(crate) user_agent: StrCol,
    pub(crate) obj_resource: StrCol,
    pub(crate) obj_namespace: StrCol,
    pub(crate) obj_name: StrCol,
    pub(crate) obj_uid: StrCol,
    pub(crate) obj_api_group: StrCol,
    pub(crate) obj_api_version: StrCol,
    pub(crate) obj_resource_version: StrCol,
    pub(crate) obj_subresource: StrCol,
    pub(crate) response_code: Int32Builder,
    pub(crate) response_status: StrCol,
    pub(crate) response_reason: StrCol,
    pub(crate) response_message: StrCol,
    pub(crate) annotations: MapBuilder<StringBuilder, StringBuilder>,
    pub(crate) request_object: StrCol,
    pub(crate) response_object: StrCol,
    pub(crate) event_api_version: StrCol,
    pub(crate) source_format: StrCol,
    pub(crate) azure_category: StrCol,
    pub(crate) cluster_resource_id: StrCol,
    pub(crate) apiserver_pod: StrCol,
    pub(crate) len: usize,
    /// Where this builder's sizes are kept for the next builder of its kind, if anywhere.
    hint: Option<Arc<SizeHint>>,
    /// The minute of the last timestamp read, for the next (see
    /// [`MinuteCache`](crate::timestamp::MinuteCache)).
    pub(crate) minutes: crate::timestamp::MinuteCache,
}

impl CanonicalBuilder {
    /// Whether the last row appended holds neither a request-received nor a stage time.
    pub(crate) fn last_row_has_no_time(&self) -> bool {
        fn last_is_null(b: &TimestampNanosecondBuilder) -> bool {
            let Some(i) = b.len().checked_sub(1) else { return false };
            b.validity_slice().is_some_and(|v| v.get(i / 8).is_some_and(|byte| byte & (1 << (i % 8)) == 0))
        }
        // An Azure row's TimeGenerated is a time too: such an event is in every window
        // (review s40: "1 event without timestamps" at ingest, 0 in `stats`).
        last_is_null(&self.request_received)
            && last_is_null(&self.stage_ts)
            && last_is_null(&self.time_generated)
    }
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

fn opt_str(b: &mut StrCol, v: Option<&str>) {
    b.append_option(v);
}

/// A string column's builder. A null is only counted until the next value (or the end)
/// appends the whole run at once: most optional columns are null in most rows, and one call
/// per null cost more than the values did.
#[derive(Default)]
pub(crate) struct StrCol {
    b: StringBuilder,
    nulls: usize,
}

impl StrCol {
    #[inline]
    pub(crate) fn append_value(&mut self, v: &str) {
        self.fill();
        self.b.append_value(v);
    }

    #[inline]
    pub(crate) fn append_null(&mut self) {
        self.nulls += 1;
    }

    #[inline]
    pub(crate) fn append_option(&mut self, v: Option<impl AsRef<str>>) {
        match v {
            Some(v) => self.append_value(v.as_ref()),
            None => self.append_null(),
        }
    }

    /// The builder, with the nulls counted so far appended.
    fn filled(&mut self) -> &mut StringBuilder {
        self.fill();
        &mut self.b
    }

    /// Inlined, the test is all a value pays when no null came before it (a call per value
    /// took 2.5% of ingest); the nulls are appended out of line.
    #[inline(always)]
    fn fill(&mut self) {
        if self.nulls > 0 {
            self.append_counted_nulls();
        }
    }

    #[inline(never)]
    fn append_counted_nulls(&mut self) {
        self.b.append_nulls(self.nulls);
        self.nulls = 0;
    }

    fn finish(&mut self) -> StringArray {
        self.fill();
        self.b.finish()
    }
}

fn non_empty(v: &str) -> Option<&str> {
    (!v.is_empty()).then_some(v)
}

/// `items`, or a null list when the event had none (absent or null, not `[]`).
fn append_list(b: &mut ListBuilder<StringBuilder>, items: Option<&[String]>) {
    let Some(items) = items else {
        b.append(false);
        return;
    };
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
            audit_id: StrCol::default(),
            stage: StrCol::default(),
            level: StrCol::default(),
            verb: StrCol::default(),
            request_uri: StrCol::default(),
            user_username: StrCol::default(),
            user_uid: StrCol::default(),
            user_groups: ListBuilder::new(StringBuilder::new()),
            user_extra: StrCol::default(),
            imp_username: StrCol::default(),
            imp_uid: StrCol::default(),
            imp_groups: ListBuilder::new(StringBuilder::new()),
            source_ips: ListBuilder::new(StringBuilder::new()),
            user_agent: StrCol::default(),
            obj_resource: StrCol::default(),
            obj_namespace: StrCol::default(),
            obj_name: StrCol::default(),
            obj_uid: StrCol::default(),
            obj_api_group: StrCol::default(),
            obj_api_version: StrCol::default(),
            obj_resource_version: StrCol::default(),
            obj_subresource: StrCol::default(),
            response_code: Int32Builder::new(),
            response_status: StrCol::default(),
            response_reason: StrCol::default(),
            response_message: StrCol::default(),
            annotations: MapBuilder::new(Some(map_names), StringBuilder::new(), StringBuilder::new()),
            request_object: StrCol::default(),
            response_object: StrCol::default(),
            event_api_version: StrCol::default(),
            source_format: StrCol::default(),
            azure_category: StrCol::default(),
            cluster_resource_id: StrCol::default(),
            apiserver_pod: StrCol::default(),
            len: 0,
            hint: None,
            minutes: crate::timestamp::MinuteCache::default(),
        }
    }

    /// Empty builders as big as the last builder that finished with `hint` was (plus an
    /// eighth), which finish into `hint` in their turn. Builders that grow by doubling copy
    /// every value about once more; chunks of one input are alike, so the last chunk's sizes
    /// are a good guess for the next.
    pub(crate) fn with_hint(hint: Arc<SizeHint>) -> Self {
        let mut b = Self::new();
        let rows = grown(hint.rows.load(Ordering::Relaxed));
        if rows > 0 {
            for t in [&mut b.request_received, &mut b.stage_ts, &mut b.time_generated] {
                *t = TimestampNanosecondBuilder::with_capacity(rows).with_timezone("UTC");
            }
            b.response_code = Int32Builder::with_capacity(rows);
            for (i, col) in b.byte_builders().into_iter().enumerate() {
                let items = grown(hint.items[i].load(Ordering::Relaxed));
                let bytes = grown(hint.bytes[i].load(Ordering::Relaxed));
                *col = StringBuilder::with_capacity(items, bytes);
            }
        }
        b.hint = Some(hint);
        b
    }

    /// The string builders, in a fixed order: each column's own, then the items of the lists
    /// and the annotations' keys and values. Nulls still counted are appended first.
    fn byte_builders(&mut self) -> [&mut StringBuilder; BYTE_BUILDERS] {
        let (keys, values) = self.annotations.entries();
        [
            self.audit_id.filled(),
            self.stage.filled(),
            self.level.filled(),
            self.verb.filled(),
            self.request_uri.filled(),
            self.user_username.filled(),
            self.user_uid.filled(),
            self.user_extra.filled(),
            self.imp_username.filled(),
            self.imp_uid.filled(),
            self.user_agent.filled(),
            self.obj_resource.filled(),
            self.obj_namespace.filled(),
            self.obj_name.filled(),
            self.obj_uid.filled(),
            self.obj_api_group.filled(),
            self.obj_api_version.filled(),
            self.obj_resource_version.filled(),
            self.obj_subresource.filled(),
            self.response_status.filled(),
            self.response_reason.filled(),
            self.response_message.filled(),
            self.request_object.filled(),
            self.response_object.filled(),
            self.event_api_version.filled(),
            self.source_format.filled(),
            self.azure_category.filled(),
            self.cluster_resource_id.filled(),
            self.apiserver_pod.filled(),
            self.user_groups.values(),
            self.imp_groups.values(),
            self.source_ips.values(),
            keys,
            values,
        ]
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
        self.stage_ts.append_option(ts(&event.stage_timestamp.or(event.timestamp)));
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
                append_list(&mut self.imp_groups, u.groups.as_deref());
            }
            None => {
                self.imp_username.append_null();
                self.imp_uid.append_null();
                self.imp_groups.append(false);
            }
        }
        append_list(&mut self.source_ips, event.source_ips.as_deref());
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
        append_list(&mut self.user_groups, u.groups.as_deref());
        if u.extra.is_empty() {
            self.user_extra.append_null();
        } else {
            self.user_extra.append_option(serde_json::to_string(&u.extra).ok());
        }
    }

    /// Builds the batch and resets the builders.
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        if let Some(hint) = self.hint.clone() {
            hint.rows.store(self.len, Ordering::Relaxed);
            for (i, col) in self.byte_builders().into_iter().enumerate() {
                hint.items[i].store(col.len(), Ordering::Relaxed);
                hint.bytes[i].store(col.values_slice().len(), Ordering::Relaxed);
            }
        }
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

/// The string builders [`CanonicalBuilder::byte_builders`] lists.
const BYTE_BUILDERS: usize = 34;

/// The sizes a [`CanonicalBuilder`] finished with, for the next one to start with (see
/// [`CanonicalBuilder::with_hint`]); shared by the threads that parse one input's chunks.
pub(crate) struct SizeHint {
    rows: AtomicUsize,
    items: [AtomicUsize; BYTE_BUILDERS],
    bytes: [AtomicUsize; BYTE_BUILDERS],
}

impl Default for SizeHint {
    fn default() -> Self {
        SizeHint {
            rows: AtomicUsize::new(0),
            items: std::array::from_fn(|_| AtomicUsize::new(0)),
            bytes: std::array::from_fn(|_| AtomicUsize::new(0)),
        }
    }
}

/// A size and an eighth more, so that a chunk a little bigger than the last still fits.
fn grown(n: usize) -> usize {
    n.saturating_add(n / 8)
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
    fn deferred_nulls_give_the_rows_a_plain_string_builder_gives() {
        // Runs of nulls at the start, between values and at the end, and a column of nulls only.
        let patterns: [&[Option<&str>]; 4] = [
            &[None, None, Some("a"), None, Some(""), Some("bc"), None, None, None],
            &[Some("x"), None],
            &[None, None, None],
            &[],
        ];
        for pattern in patterns {
            let mut plain = StringBuilder::new();
            let mut col = StrCol::default();
            for v in pattern {
                plain.append_option(*v);
                col.append_option(*v);
            }
            assert_eq!(col.finish(), plain.finish(), "{pattern:?}");
            // Finishing resets: the next batch starts empty, with no null left over.
            col.append_value("z");
            assert_eq!(col.finish().iter().collect::<Vec<_>>(), vec![Some("z")]);
        }
    }

    #[test]
    fn a_builder_started_from_a_hint_records_its_sizes_and_gives_the_same_rows() {
        let line = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"id-1","stage":"ResponseComplete","verb":"get","user":{"username":"u","groups":["g1","g2"]},"sourceIPs":["10.0.0.1"],"annotations":{"k":"v"},"requestReceivedTimestamp":"2024-01-01T10:00:00Z"}"#;
        let event: Event = serde_json::from_str(line).expect("valid event");
        let events = vec![event; 3];
        let expected =
            events_to_batch(&events, InputFormat::K8sLog, &Origin::default(), false).expect("batch");
        let hint = Arc::new(SizeHint::default());
        for round in 0..2 {
            let mut b = CanonicalBuilder::with_hint(Arc::clone(&hint));
            for e in &events {
                b.append(e, InputFormat::K8sLog, &Origin::default(), false);
            }
            assert_eq!(b.finish().expect("batch"), expected, "round {round}");
            assert_eq!(hint.rows.load(Ordering::Relaxed), 3);
            // audit_id is the first string builder, the groups' items the 30th.
            assert_eq!(hint.items[0].load(Ordering::Relaxed), 3);
            assert_eq!(hint.bytes[0].load(Ordering::Relaxed), "id-1".len() * 3);
            assert_eq!(hint.items[29].load(Ordering::Relaxed), 6);
            assert_eq!(hint.bytes[29].load(Ordering::Relaxed), 12);
        }
    }

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
