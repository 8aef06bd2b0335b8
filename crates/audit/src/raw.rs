//! The hot path: an audit event parsed into borrowed structs and appended straight to the
//! canonical builders, with the same rows as [`crate::batch::CanonicalBuilder::append`] gives
//! for the owned [`crate::Event`] (checked by tests on every real fixture).
//!
//! Strings borrow from the input unless they hold escapes; bodies are skipped without being
//! built unless kept.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Unexpected, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::InputFormat;
use crate::batch::CanonicalBuilder;
use crate::timestamp::MinuteCache;

pub(crate) mod gke;
pub(crate) mod scan;
pub(crate) mod tape;

/// A JSON string that borrows from the input when it has no escapes. A number or boolean
/// found where a string belongs is refused (`"verb":5` was stored as "5"), except in a
/// YAML document, where it is read as its text (see [`scalars_as_text`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Str<'a>(pub(crate) Cow<'a, str>);

impl Str<'_> {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

thread_local! {
    /// Whether the records being read on this thread are YAML's (see [`scalars_as_text`]).
    static SCALARS_AS_TEXT: Cell<bool> = const { Cell::new(false) };
}

/// Runs `read` with a number or boolean found where a string belongs read as its text, as
/// YAML writes `name: 1234` and `resourceVersion: 42` unquoted (a plain scalar is text to
/// YAML's writers; docs/schema.md tells what is stored). Everywhere else such a value is
/// refused, the field named. The mode is the thread's for the call (serde hands a
/// `Deserialize` impl no context of its own, and a YAML document's records reach [`Str`]
/// through every record shape), and is undone when `read` returns or unwinds.
pub(crate) fn scalars_as_text<R>(read: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            SCALARS_AS_TEXT.with(|mode| mode.set(self.0));
        }
    }
    let _restore = Restore(SCALARS_AS_TEXT.with(|mode| mode.replace(true)));
    read()
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl V {
            /// `text` (a number's or boolean's) in a YAML document, else refused as `what`.
            fn scalar<'de, E: de::Error>(self, text: String, what: &str) -> Result<Str<'de>, E> {
                if SCALARS_AS_TEXT.with(Cell::get) {
                    return Ok(Str(Cow::Owned(text)));
                }
                Err(E::invalid_type(Unexpected::Other(&format!("{what} {text}")), &self))
            }
        }
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                self.scalar(v.to_string(), "a number")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                self.scalar(v.to_string(), "a number")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                self.scalar(v.to_string(), "a number")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                self.scalar(v.to_string(), "a boolean")
            }
        }
        d.deserialize_any(V)
    }
}

/// A struct field read from an object only: a derived reader also takes a list, its items as
/// the fields in order (`"objectRef":["secrets","kube-system","admin-token"]` was stored as
/// resource, namespace and name; `"user":["mallory"]` as username mallory). A list is refused,
/// the field named: `field \`objectRef\`: a list, expected an object`.
pub(crate) fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    d.deserialize_map(ObjectOf(PhantomData))
}

/// [`object`], or null (or absent, with `default`).
pub(crate) fn optional_object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    struct Object<T>(T);
    impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            object(d).map(Object)
        }
    }
    Option::<Object<T>>::deserialize(d).map(|o| o.map(|Object(t)| t))
}

/// The visitor of [`object`]: a map handed to `T`'s own reader; any other value refused.
struct ObjectOf<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectOf<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<M: MapAccess<'de>>(self, m: M) -> Result<Self::Value, M::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(m))
    }
}

impl Serialize for Str<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// A request or response body: skipped, or kept as compact JSON.
pub(crate) trait Body {
    /// The body as stored, or `None` when bodies are dropped.
    fn stored(&self) -> Option<String>;
    /// A body read whole first (a GKE entry's response, whose status the entry needs) as this
    /// kind keeps it.
    fn from_value(v: &serde_json::Value) -> Self;
}

impl Body for IgnoredAny {
    fn stored(&self) -> Option<String> {
        None
    }
    fn from_value(_: &serde_json::Value) -> Self {
        IgnoredAny
    }
}

impl Body for serde_json::Value {
    fn stored(&self) -> Option<String> {
        Some(self.to_string())
    }
    fn from_value(v: &serde_json::Value) -> Self {
        v.clone()
    }
}

/// `authentication.k8s.io/v1` `UserInfo`, borrowed.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawUser<'a> {
    #[serde(borrow, default)]
    username: Option<Str<'a>>,
    #[serde(borrow, default)]
    uid: Option<Str<'a>>,
    #[serde(borrow, default)]
    groups: Option<Vec<Str<'a>>>,
    #[serde(borrow, default)]
    extra: Option<BTreeMap<Str<'a>, Vec<Str<'a>>>>,
}

/// `objectRef`, borrowed.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawObjectRef<'a> {
    #[serde(borrow, default)]
    resource: Option<Str<'a>>,
    #[serde(borrow, default)]
    namespace: Option<Str<'a>>,
    #[serde(borrow, default)]
    name: Option<Str<'a>>,
    #[serde(borrow, default)]
    uid: Option<Str<'a>>,
    #[serde(borrow, default)]
    api_group: Option<Str<'a>>,
    #[serde(borrow, default)]
    api_version: Option<Str<'a>>,
    #[serde(borrow, default)]
    resource_version: Option<Str<'a>>,
    #[serde(borrow, default)]
    subresource: Option<Str<'a>>,
}

/// `responseStatus`, borrowed.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawStatus<'a> {
    #[serde(default, deserialize_with = "code_or_numeric_string")]
    code: Option<i32>,
    #[serde(borrow, default)]
    status: Option<Str<'a>>,
    #[serde(borrow, default)]
    reason: Option<Str<'a>>,
    #[serde(borrow, default)]
    message: Option<Str<'a>>,
}

/// `responseStatus.code`: a number, or one written as a string (`"200"`, as some converters
/// write it), read as the number: such an event was skipped while a verb written as a number
/// was kept (review s40). Anything else (`"OK"`, `200.5`) is refused as before.
fn code_or_numeric_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
    use serde::de::{Error, Unexpected, Visitor};
    struct Code;
    impl<'de> Visitor<'de> for Code {
        type Value = Option<i32>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a 32-bit integer")
        }
        fn visit_i64<E: Error>(self, v: i64) -> Result<Self::Value, E> {
            i32::try_from(v).map(Some).map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
        }
        fn visit_u64<E: Error>(self, v: u64) -> Result<Self::Value, E> {
            i32::try_from(v).map(Some).map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
        }
        fn visit_str<E: Error>(self, v: &str) -> Result<Self::Value, E> {
            let digits = v.strip_prefix('-').unwrap_or(v);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(E::invalid_type(Unexpected::Str(v), &self));
            }
            v.parse::<i32>().map(Some).map_err(|_| E::invalid_value(Unexpected::Str(v), &self))
        }
        fn visit_none<E: Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: serde::Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(self)
        }
    }
    d.deserialize_any(Code)
}

/// One audit `Event`, borrowed; `B` decides whether bodies are skipped or kept.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "B: Deserialize<'de>"))]
pub(crate) struct RawEvent<'a, B> {
    #[serde(borrow, default)]
    pub(crate) kind: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub(crate) api_version: Option<Str<'a>>,
    #[serde(borrow, default)]
    level: Option<Str<'a>>,
    #[serde(borrow, default, rename = "auditID")]
    audit_id: Option<Str<'a>>,
    #[serde(borrow, default)]
    stage: Option<Str<'a>>,
    #[serde(borrow, default, rename = "requestURI")]
    request_uri: Option<Str<'a>>,
    #[serde(borrow, default)]
    verb: Option<Str<'a>>,
    #[serde(borrow, default, deserialize_with = "optional_object")]
    user: Option<RawUser<'a>>,
    #[serde(borrow, default, deserialize_with = "optional_object")]
    impersonated_user: Option<RawUser<'a>>,
    #[serde(borrow, default, rename = "sourceIPs")]
    source_ips: Option<Vec<Str<'a>>>,
    #[serde(borrow, default)]
    user_agent: Option<Str<'a>>,
    #[serde(borrow, default, deserialize_with = "optional_object")]
    object_ref: Option<RawObjectRef<'a>>,
    #[serde(borrow, default, deserialize_with = "optional_object")]
    response_status: Option<RawStatus<'a>>,
    #[serde(default = "none")]
    request_object: Option<B>,
    #[serde(default = "none")]
    response_object: Option<B>,
    #[serde(borrow, default)]
    request_received_timestamp: Option<Str<'a>>,
    #[serde(borrow, default)]
    stage_timestamp: Option<Str<'a>>,
    /// The event's time in the first audit API (Kubernetes 1.7, `audit.k8s.io/v1alpha1` and
    /// early `v1beta1`), before the two timestamps above: read as the stage timestamp when that
    /// is missing.
    #[serde(borrow, default)]
    timestamp: Option<Str<'a>>,
    #[serde(borrow, default, deserialize_with = "annotations")]
    annotations: Option<Vec<(Str<'a>, Str<'a>)>>,
}

fn none<B>() -> Option<B> {
    None
}

/// Reads the annotations map into key order, the last of duplicate keys winning (as a
/// `BTreeMap` would), so rows match the owned model's.
fn annotations<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<(Str<'a>, Str<'a>)>>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<Vec<(Str<'de>, Str<'de>)>>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a map of strings to strings")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
        fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Self::Value, M::Error> {
            let mut out: Vec<(Str<'de>, Str<'de>)> = Vec::with_capacity(m.size_hint().unwrap_or(4));
            while let Some((k, v)) = m.next_entry::<Str<'de>, Str<'de>>()? {
                out.push((k, v));
            }
            Ok(Some(sorted_last_wins(out)))
        }
    }
    d.deserialize_option(V)
}

/// Marks field `bit` of an object being read by a fast path seen; `None` (give up) the
/// second time, as serde's "duplicate field".
fn once(seen: &mut u32, bit: u32) -> Option<()> {
    let mask = 1 << bit;
    if *seen & mask != 0 {
        return None;
    }
    *seen |= mask;
    Some(())
}

/// A field, once: what its reader made of it (`None`: give up).
fn put<T>(seen: &mut u32, bit: u32, slot: &mut Option<T>, read: Option<Option<T>>) -> Option<()> {
    once(seen, bit)?;
    *slot = read?;
    Some(())
}

/// Annotations in key order, the last of duplicate keys winning. In place; the usual map, its
/// keys already in order and distinct (the apiserver writes them so), is returned as it is.
fn sorted_last_wins<'a>(mut out: Vec<(Str<'a>, Str<'a>)>) -> Vec<(Str<'a>, Str<'a>)> {
    if out.windows(2).all(|w| w[0].0 < w[1].0) {
        return out;
    }
    // Reversed, the last of equal keys comes first; the stable sort keeps it first, and
    // `dedup_by` keeps the first of each run.
    out.reverse();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.dedup_by(|later, kept| later.0 == kept.0);
    out
}

/// Where a row came from beyond the event: Azure columns and envelope fields.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RowOrigin<'a> {
    /// `TimeGenerated` (or the envelope's `time`), nanoseconds.
    pub(crate) time_generated: Option<i64>,
    pub(crate) azure_category: Option<&'a str>,
    pub(crate) cluster_resource_id: Option<&'a str>,
    pub(crate) apiserver_pod: Option<&'a str>,
    /// The enclosing `EventList`'s `apiVersion`, for items that carry none (the webhook
    /// backend writes it once, on the list).
    pub(crate) list_api_version: Option<&'a str>,
}

/// Why one event could not be turned into a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EventError {
    /// A timestamp field is present but unreadable.
    BadTimestamp { field: &'static str, value: String },
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventError::BadTimestamp { field, value } => {
                f.write_str(&crate::timestamp::unreadable(field, value))
            }
        }
    }
}

impl<B> RawEvent<'_, B> {
    /// Whether the event holds nothing but its `kind` and `apiVersion`: no ID, stage, verb,
    /// URI, user, client, object, status, time, body or annotation. `{"kind":"Event"}` was
    /// stored as an event of nulls and counted under verb `(none)` (ingest review s54, item 8),
    /// where `{}` was refused.
    pub(crate) fn holds_nothing(&self) -> bool {
        self.level.is_none()
            && self.audit_id.is_none()
            && self.stage.is_none()
            && self.request_uri.is_none()
            && self.verb.is_none()
            && self.user.is_none()
            && self.impersonated_user.is_none()
            && self.source_ips.is_none()
            && self.user_agent.is_none()
            && self.object_ref.is_none()
            && self.response_status.is_none()
            && self.request_object.is_none()
            && self.response_object.is_none()
            && self.request_received_timestamp.is_none()
            && self.stage_timestamp.is_none()
            && self.timestamp.is_none()
            && self.annotations.is_none()
    }

    /// An event with no field set, for the fast paths to fill.
    pub(crate) fn empty() -> Self {
        RawEvent {
            kind: None,
            api_version: None,
            level: None,
            audit_id: None,
            stage: None,
            request_uri: None,
            verb: None,
            user: None,
            impersonated_user: None,
            source_ips: None,
            user_agent: None,
            object_ref: None,
            response_status: None,
            request_object: None,
            response_object: None,
            request_received_timestamp: None,
            stage_timestamp: None,
            timestamp: None,
            annotations: None,
        }
    }

    /// The class of file the store keeps this event in.
    pub(crate) fn file_class(&self) -> crate::store::writer::FileClass {
        crate::store::writer::FileClass::of_row(non_empty(&self.stage), non_empty(&self.verb))
    }

    /// True when this object is an audit `Event` (not an `EventList` or a wrapper). A
    /// Kubernetes `Event` of another API (core `v1`, `events.k8s.io/v1`) is not one, nor is
    /// an object with a lone `verb` (kube-apiserver's own JSON log line): ingest review 50,
    /// item 2. Comparisons of what was read, no more work per event.
    pub(crate) fn looks_like_event(&self) -> bool {
        match self.kind.as_ref().map(Str::as_str) {
            Some("Event") => self.api_version.as_ref().is_none_or(|v| audit_api_version(v.as_str())),
            Some(_) => false,
            None => {
                self.api_version.as_ref().is_some_and(|v| v.as_str().starts_with("audit.k8s.io/"))
                    || self.audit_id.is_some()
                    || (self.request_uri.is_some() && self.verb.is_some())
            }
        }
    }
}

/// Whether an `Event`'s `apiVersion` is the audit API's: `audit.k8s.io/…`, or empty (as an
/// export with null columns writes a missing one).
pub(crate) fn audit_api_version(v: &str) -> bool {
    v.is_empty() || v.starts_with("audit.k8s.io/")
}

/// Whether a timestamp field holds a time: present, and not empty or blank (an `AKSAudit`
/// export writes `""` for a missing one, and some tools do the same in events).
fn time_given(v: &Option<Str<'_>>) -> bool {
    v.as_ref().is_some_and(|s| !s.as_str().trim().is_empty())
}

fn ts(
    minutes: &mut MinuteCache,
    field: &'static str,
    v: &Option<Str<'_>>,
) -> Result<Option<i64>, EventError> {
    match v {
        None => Ok(None),
        Some(s) if s.as_str().trim().is_empty() => Ok(None),
        Some(s) => minutes
            .parse(s.as_str())
            .map_err(|_| EventError::BadTimestamp { field, value: s.as_str().to_owned() }),
    }
}

fn non_empty<'s>(v: &'s Option<Str<'_>>) -> Option<&'s str> {
    v.as_ref().map(Str::as_str).filter(|s| !s.is_empty())
}

fn opt<'s>(v: &'s Option<Str<'_>>) -> Option<&'s str> {
    v.as_ref().map(Str::as_str)
}

impl CanonicalBuilder {
    /// Appends one borrowed event; on error nothing is appended.
    pub(crate) fn append_raw<B: Body>(
        &mut self,
        e: &RawEvent<'_, B>,
        format: InputFormat,
        origin: &RowOrigin<'_>,
    ) -> Result<(), EventError> {
        let rr = ts(&mut self.minutes, "requestReceivedTimestamp", &e.request_received_timestamp)?;
        let st = if time_given(&e.stage_timestamp) {
            ts(&mut self.minutes, "stageTimestamp", &e.stage_timestamp)?
        } else {
            ts(&mut self.minutes, "timestamp", &e.timestamp)?
        };
        self.request_received.append_option(rr);
        self.stage_ts.append_option(st);
        self.time_generated.append_option(origin.time_generated);
        self.audit_id.append_option(non_empty(&e.audit_id));
        self.stage.append_option(non_empty(&e.stage));
        self.level.append_option(non_empty(&e.level));
        self.verb.append_option(non_empty(&e.verb));
        self.request_uri.append_option(non_empty(&e.request_uri));
        let default_user = RawUser::default();
        let user = e.user.as_ref().unwrap_or(&default_user);
        self.user_username.append_option(non_empty(&user.username));
        self.user_uid.append_option(opt(&user.uid));
        append_strs(&mut self.user_groups, user.groups.as_deref());
        match user.extra.as_ref().filter(|x| !x.is_empty()) {
            Some(extra) => self.user_extra.append_option(serde_json::to_string(extra).ok()),
            None => self.user_extra.append_null(),
        }
        match &e.impersonated_user {
            Some(u) => {
                self.imp_username.append_option(non_empty(&u.username));
                self.imp_uid.append_option(opt(&u.uid));
                append_strs(&mut self.imp_groups, u.groups.as_deref());
            }
            None => {
                self.imp_username.append_null();
                self.imp_uid.append_null();
                self.imp_groups.append(false);
            }
        }
        append_strs(&mut self.source_ips, e.source_ips.as_deref());
        self.user_agent.append_option(opt(&e.user_agent));
        let default_ref = RawObjectRef::default();
        let o = e.object_ref.as_ref().unwrap_or(&default_ref);
        self.obj_resource.append_option(opt(&o.resource));
        self.obj_namespace.append_option(opt(&o.namespace));
        self.obj_name.append_option(opt(&o.name));
        self.obj_uid.append_option(opt(&o.uid));
        self.obj_api_group.append_option(opt(&o.api_group));
        self.obj_api_version.append_option(opt(&o.api_version));
        self.obj_resource_version.append_option(opt(&o.resource_version));
        self.obj_subresource.append_option(opt(&o.subresource));
        let default_status = RawStatus::default();
        let s = e.response_status.as_ref().unwrap_or(&default_status);
        self.response_code.append_option(s.code);
        self.response_status.append_option(opt(&s.status));
        self.response_reason.append_option(opt(&s.reason));
        self.response_message.append_option(opt(&s.message));
        match e.annotations.as_ref().filter(|a| !a.is_empty()) {
            Some(anns) => {
                for (k, v) in anns {
                    self.annotations.keys().append_value(k.as_str());
                    self.annotations.values().append_value(v.as_str());
                }
                self.annotations.append(true).ok();
            }
            None => {
                self.annotations.append(false).ok();
            }
        }
        self.request_object.append_option(e.request_object.as_ref().and_then(Body::stored));
        self.response_object.append_option(e.response_object.as_ref().and_then(Body::stored));
        // The owned model defaults a missing apiVersion to v1; do the same so rows match.
        match e.api_version.as_ref().map(Str::as_str).or(origin.list_api_version) {
            None => self.event_api_version.append_value("audit.k8s.io/v1"),
            Some("") => self.event_api_version.append_null(),
            Some(v) => self.event_api_version.append_value(v),
        }
        self.source_format.append_value(format.name());
        self.azure_category.append_option(origin.azure_category);
        self.cluster_resource_id.append_option(origin.cluster_resource_id);
        self.apiserver_pod.append_option(origin.apiserver_pod);
        self.len += 1;
        Ok(())
    }
}

/// `items`, or a null list when the event had none (absent or null, not `[]`), as
/// `CanonicalBuilder` stores them.
fn append_strs(b: &mut arrow::array::ListBuilder<arrow::array::StringBuilder>, items: Option<&[Str<'_>]>) {
    let Some(items) = items else {
        b.append(false);
        return;
    };
    for item in items {
        b.values().append_value(item.as_str());
    }
    b.append(true);
}

/// Lines that both fast paths, the event scan and the tape walk, must read as serde_json
/// reads them.
#[cfg(test)]
pub(crate) const READ_AS_SERDE: &[&str] = &[
    r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a","stage":"ResponseComplete","requestURI":"/api/v1/pods?limit=500\u0026x=1","verb":"list","user":{"username":"u","uid":"9","groups":["g1","g2"],"extra":{"b":["2"],"a":["1","x"],"b":["3"]}},"impersonatedUser":null,"sourceIPs":["10.0.0.1"],"userAgent":"kubectl/v1.29 \"q\"","objectRef":{"resource":"pods","namespace":"n","name":"p","uid":"u1","apiGroup":"","apiVersion":"v1","resourceVersion":"5","subresource":"log"},"responseStatus":{"metadata":{},"code":409,"status":"Failure","reason":"Conflict","message":"m \\ é","details":{"x":[1,2]}},"requestObject":{"a":[{"b":null}]},"responseObject":null,"requestReceivedTimestamp":"2024-01-01T00:00:00.1234567Z","stageTimestamp":"2024-01-01T00:00:01Z","annotations":{"z":"1","a":"2","z":"3"},"unknown":[1,{"x":true}]}"#,
    r#"{"verb":"get","requestURI":"/"}"#,
    r#"  {"auditID":"b","annotations":null,"user":{},"sourceIPs":[]}  "#,
    r#"{"kind":"Event","responseStatus":{"code":null}}"#,
];

/// Lines that both fast paths must leave to serde_json, which judges them.
#[cfg(test)]
pub(crate) const LEFT_TO_SERDE: &[&str] = &[
    r#"{"verb":"get","verb":"list"}"#,
    r#"{"verb":7}"#,
    r#"{"verb":"get","user":{"groups":["a",null]}}"#,
    r#"{"verb":"get","responseStatus":{"code":3000000000}}"#,
    r#"{"verb":"get","responseStatus":{"code":200.5}}"#,
    r#"{"verb":"get","annotations":{"a":1}}"#,
    r#"{"verb":"get","user":"me"}"#,
    // Lists where objects belong, which serde's derived readers took by position.
    r#"{"kind":"Event","objectRef":["secrets","kube-system","admin-token","uid1","","v1"]}"#,
    r#"{"kind":"Event","user":["mallory","u1",["system:masters"]]}"#,
    r#"{"kind":"Event","impersonatedUser":["mallory"]}"#,
    r#"{"kind":"Event","responseStatus":[200,"Success"]}"#,
    r#"[null,null,null,"id",null,"/api","get"]"#,
    r#"{"kind":"Event","verb":5}"#,
    r#"{"kind":"Event","objectRef":{"name":7}}"#,
    r#"{"verb":"get"} {"verb":"list"}"#,
    r#"{"verb":"get""#,
    r#"[{"verb":"get"}]"#,
    "{\"verb\":\"g\u{0}\"}",
];

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::collections::BTreeMap;

    use super::{Str, scalars_as_text, sorted_last_wins};

    /// A number where a string belongs reads as its text only inside [`scalars_as_text`] (a
    /// YAML document), and the mode ends with it, also when the read panics.
    #[test]
    fn scalars_read_as_text_only_while_a_yaml_document_is_read() {
        let read = || serde_json::from_str::<Str<'_>>("5").map(|s| s.as_str().to_owned());
        assert!(read().is_err_and(|e| e.to_string().contains("a number 5, expected a string")));
        assert_eq!(scalars_as_text(read).ok().as_deref(), Some("5"));
        assert!(read().is_err());
        let unwound = std::panic::catch_unwind(|| scalars_as_text(|| panic!("a reader's bug")));
        assert!(unwound.is_err());
        assert!(read().is_err(), "the mode outlived a panic");
    }

    #[test]
    fn annotations_come_out_in_key_order_the_last_of_equal_keys_winning() {
        // Small keys and values, so that duplicates and orders of every kind come up; against a
        // BTreeMap filled in input order (the owned model's reading).
        let mut state: u64 = 7;
        let mut next = |n: u64| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (state >> 33) % n
        };
        for _ in 0..2_000 {
            let len = next(7) as usize;
            let pairs: Vec<(String, String)> =
                (0..len).map(|_| (format!("k{}", next(4)), format!("v{}", next(100)))).collect();
            let want: BTreeMap<&str, &str> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let input = pairs
                .iter()
                .map(|(k, v)| (Str(Cow::Borrowed(k.as_str())), Str(Cow::Borrowed(v.as_str()))))
                .collect();
            let sorted = sorted_last_wins(input);
            let got: Vec<(&str, &str)> = sorted.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            assert_eq!(got, want.into_iter().collect::<Vec<_>>(), "{pairs:?}");
        }
    }
}
