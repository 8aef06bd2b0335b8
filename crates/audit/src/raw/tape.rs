//! The hot path of JSON records. A line that is one audit event (the log backend's, and the
//! event inside an Azure row) is read first by [`super::scan`] in one pass; anything else, and
//! anything the scan does not expect, goes through simd-json's tape (a SIMD scan of its
//! structure, which also checks its UTF-8), then is walked into [`RawEvent`]s without serde:
//! one event, the items of an `EventList`, or the event an `AKSAudit` row spreads over its
//! columns.
//!
//! The walk accepts only the shape the apiserver writes: strings where strings belong, an
//! `i32` code, arrays of strings, each field once. Anything else (a number where a string
//! belongs, a duplicate field, a second value on the line, a body kept) makes it give up, and
//! the caller reads the line with serde_json as before, which keeps or names it. So the rows
//! and messages are those of the serde path; tests compare the two on every fixture.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::de::IgnoredAny;
use simd_json::{Buffers, Node, StaticNode, Tape};

use super::{RawEvent, RawObjectRef, RawStatus, RawUser, Str, once, put, sorted_last_wins};

/// The most levels of nesting serde_json reads (its recursion limit of 128 refuses the
/// 128th), so that a line deeper than that goes the serde way, which names it.
const MAX_DEPTH: usize = 127;

/// Reusable buffers: the line's padded copy (simd-json unescapes strings in place, and the
/// caller still needs the line as it was if the walk gives up), the parser's and the tape.
pub(crate) struct TapeReader {
    buffers: Buffers,
    tape: Option<Tape<'static>>,
    scratch: Vec<u8>,
    /// For the JSON-encoded columns of an `AKSAudit` row.
    columns: ColumnTapes,
    /// The lists of events read before, emptied, for the next ones.
    spare: Spare,
    /// Whether a line is first read by [`super::scan`] (always, but in the tests of the tape
    /// walk itself).
    scan: bool,
}

/// Lists and decoded strings of events already handed on, emptied, for the next events'
/// groups, source IPs, annotations and escaped strings: built in these, an event's lists and
/// the strings the scan decodes cost no allocation.
#[derive(Default)]
pub(super) struct Spare {
    strs: Vec<Vec<Str<'static>>>,
    pairs: Vec<Vec<(Str<'static>, Str<'static>)>>,
    /// Taken by the scan's cursor while it reads a line (see [`super::scan`]).
    pub(super) texts: Vec<String>,
}

/// Lists kept of each kind: an event has at most three of strings and one of pairs.
const SPARE_LISTS: usize = 4;

/// Strings kept: more than an event decodes in all but rare lines.
const SPARE_TEXTS: usize = 16;

impl Spare {
    pub(super) fn strs<'a>(&mut self) -> Vec<Str<'a>> {
        self.strs.pop().map(relabel).unwrap_or_default()
    }

    pub(super) fn pairs<'a>(&mut self) -> Vec<(Str<'a>, Str<'a>)> {
        self.pairs.pop().map(relabel).unwrap_or_default()
    }

    /// Takes back the lists of `e` and the strings decoded for it, emptied; `e` is left
    /// without them.
    pub(super) fn recycle(&mut self, e: &mut RawEvent<'_, IgnoredAny>) {
        self.reclaim_texts(e);
        self.recycle_lists(e);
    }

    /// Takes back the strings decoded for `e` (those it owns), emptied, while fewer than
    /// [`SPARE_TEXTS`] are kept; borrowed ones are left as they are.
    fn reclaim_texts(&mut self, e: &mut RawEvent<'_, IgnoredAny>) {
        let texts = &mut self.texts;
        for s in [&mut e.kind, &mut e.api_version, &mut e.level, &mut e.audit_id, &mut e.stage] {
            reclaim(texts, s);
        }
        for s in [&mut e.request_uri, &mut e.verb, &mut e.user_agent] {
            reclaim(texts, s);
        }
        reclaim(texts, &mut e.request_received_timestamp);
        reclaim(texts, &mut e.stage_timestamp);
        reclaim(texts, &mut e.timestamp);
        if let Some(o) = &mut e.object_ref {
            for s in [&mut o.resource, &mut o.namespace, &mut o.name, &mut o.uid, &mut o.api_group] {
                reclaim(texts, s);
            }
            for s in [&mut o.api_version, &mut o.resource_version, &mut o.subresource] {
                reclaim(texts, s);
            }
        }
        if let Some(st) = &mut e.response_status {
            for s in [&mut st.status, &mut st.reason, &mut st.message] {
                reclaim(texts, s);
            }
        }
        for u in [&mut e.user, &mut e.impersonated_user].into_iter().flatten() {
            reclaim(texts, &mut u.username);
            reclaim(texts, &mut u.uid);
            for s in u.groups.iter_mut().flatten() {
                reclaim_item(texts, s);
            }
        }
        for s in e.source_ips.iter_mut().flatten() {
            reclaim_item(texts, s);
        }
        for (k, v) in e.annotations.iter_mut().flatten() {
            reclaim_item(texts, k);
            reclaim_item(texts, v);
        }
    }

    /// Takes back the lists of `e` (groups, source IPs, annotations), emptied, while fewer
    /// than [`SPARE_LISTS`] of each kind are kept. On its own for an event none of whose
    /// strings was decoded (the scan says so): looking through its thirty strings for one
    /// to keep took 3% of ingest.
    pub(super) fn recycle_lists(&mut self, e: &mut RawEvent<'_, IgnoredAny>) {
        for u in [e.user.as_mut(), e.impersonated_user.as_mut()].into_iter().flatten() {
            if let Some(v) = u.groups.take() {
                self.keep_strs(v);
            }
        }
        if let Some(v) = e.source_ips.take() {
            self.keep_strs(v);
        }
        if let Some(mut v) = e.annotations.take()
            && self.pairs.len() < SPARE_LISTS
        {
            v.clear();
            self.pairs.push(relabel(v));
        }
    }

    fn keep_strs(&mut self, mut v: Vec<Str<'_>>) {
        if self.strs.len() < SPARE_LISTS {
            v.clear();
            self.strs.push(relabel(v));
        }
    }
}

/// Keeps the string `s` owns (one the scan decoded), emptied, while fewer than [`SPARE_TEXTS`]
/// are kept.
#[inline(always)]
fn reclaim(texts: &mut Vec<String>, s: &mut Option<Str<'_>>) {
    if let Some(s) = s {
        reclaim_item(texts, s);
    }
}

/// [`reclaim`] for a list's item, left empty when its string is kept.
#[inline(always)]
fn reclaim_item(texts: &mut Vec<String>, s: &mut Str<'_>) {
    if let Str(Cow::Owned(t)) = s
        && texts.len() < SPARE_TEXTS
    {
        let mut t = std::mem::take(t);
        t.clear();
        texts.push(t);
    }
}

/// An emptied list's allocation, for items of another lifetime. Collecting a vector's own
/// iterator into a vector of items of the same size and alignment reuses its allocation (the
/// standard library's in-place collection), and with no item nothing is converted.
fn relabel<T, U>(v: Vec<T>) -> Vec<U> {
    debug_assert!(v.is_empty());
    v.into_iter().filter_map(|_| None).collect()
}

/// A padded copy and a tape for each dynamic column of an `AKSAudit` row that holds JSON text.
struct ColumnTapes {
    /// One nesting level less than a line's: the serde path puts the column's value inside
    /// the event object before it reads it.
    buffers: Buffers,
    scratch: [Vec<u8>; AKS_DYNAMIC],
    spare: Vec<Tape<'static>>,
}

impl Default for TapeReader {
    fn default() -> Self {
        TapeReader {
            buffers: Buffers::with_max_depth(4096, MAX_DEPTH),
            tape: None,
            scratch: Vec::new(),
            columns: ColumnTapes {
                buffers: Buffers::with_max_depth(4096, MAX_DEPTH - 1),
                scratch: Default::default(),
                spare: Vec::new(),
            },
            spare: Spare::default(),
            scan: true,
        }
    }
}

/// Where the event handed to the caller came from.
pub(crate) enum Via<'x> {
    /// The line (or the text) itself.
    Line,
    /// An item of an `EventList`, with the list's `apiVersion`.
    ListItem(Option<&'x str>),
    /// An `AKSAudit` / `AKSAuditAdmin` row, with its columns that are not the event's.
    Aks(&'x AksOrigin<'x>),
}

/// The columns of an `AKSAudit` row beside the event, as the serde path reads them: each the
/// first of its names that holds a string, `None` when that string is empty.
#[derive(Debug, Default)]
pub(crate) struct AksOrigin<'a> {
    /// `Type`, else `Category`.
    pub(crate) category: Option<&'a str>,
    pub(crate) time_generated: Option<&'a str>,
    /// `_ResourceId`, else `ResourceId`.
    pub(crate) resource_id: Option<&'a str>,
    /// `PodName`.
    pub(crate) pod: Option<&'a str>,
}

/// What reading one line gave.
pub(crate) enum Read<R> {
    /// An audit event (the line's, or an `AKSAudit` row's), and what `f` returned for it.
    Event(R),
    /// An `EventList` (the webhook backend's batch): what `f` returned for each item, in order.
    List(Vec<R>),
    /// An `AzureDiagnostics` row (read only with `rows`), its event not yet read.
    Azure(AzureRow),
    /// Valid JSON that is not an audit event (a row of another table, say).
    NotEvent,
    /// Anything else: read it the serde way.
    GaveUp,
}

impl TapeReader {
    /// Parses `line` and hands each event to `f`, with where it came from. With `rows`, the
    /// line may also be an `EventList` (the webhook backend's batch), an `AzureDiagnostics`
    /// row or an `AKSAudit` row; without, only an event is read.
    pub(crate) fn read<R>(
        &mut self,
        line: &[u8],
        rows: bool,
        mut f: impl FnMut(&RawEvent<'_, IgnoredAny>, Via<'_>) -> R,
    ) -> Read<R> {
        let TapeReader { buffers, tape: slot, scratch, columns, spare, scan } = self;
        // CloudWatch's payloads hold their events as text: nothing here reads them, and
        // building their tape cost a fifth of reading them.
        if rows && !line.starts_with(br#"{"kind":"Event","#) && super::scan::is_cloudwatch_payload(line) {
            return Read::NotEvent;
        }
        // An event, the usual line, in one pass without a tape; anything else goes on.
        if *scan
            && super::scan::may_be_event(line)
            && let Ok(text) = simdutf8::basic::from_utf8(line)
            && let Some(out) = super::scan::event(text, spare, |e| f(e, Via::Line))
        {
            return Read::Event(out);
        }
        scratch.clear();
        scratch.extend_from_slice(line);
        scratch.resize(line.len() + simd_json::INPUT_PADDING, b' ');
        let mut tape = slot.take().unwrap_or_else(Tape::null).reset();
        let parsed = simd_json::fill_tape_padded(scratch, line.len(), buffers, &mut tape);
        // The event first, as the serde path decides (a list without `kind` but with an
        // audit `apiVersion` is read as an event there too); then what else the line is.
        let out = match parsed.ok().and_then(|()| event(&tape.0, spare)) {
            None => Read::GaveUp,
            Some(mut e) if e.looks_like_event() => {
                let out = f(&e, Via::Line);
                spare.recycle(&mut e);
                Read::Event(out)
            }
            Some(_) if !rows => Read::NotEvent,
            Some(_) => match list(&tape.0, spare) {
                None => Read::GaveUp,
                Some(List::Items(version, items)) => {
                    Read::List(items.iter().map(|e| f(e, Via::ListItem(version))).collect())
                }
                Some(List::No) => match azure_row(&tape.0) {
                    Some(row) => Read::Azure(row),
                    None => match aks_columns(&tape.0) {
                        None => Read::NotEvent,
                        Some(row) => columns
                            .event(&row, spare, |e, origin| f(e, Via::Aks(origin)))
                            .map_or(Read::GaveUp, Read::Event),
                    },
                },
            },
        };
        *slot = Some(tape.reset());
        out
    }
}

/// Nodes a value takes on the tape, itself included.
fn span(n: &Node<'_>) -> usize {
    match n {
        Node::Object { count, .. } | Node::Array { count, .. } => count + 1,
        _ => 1,
    }
}

/// Calls `f` with each (key, value) of the object at `t[0]`; `None` when it is not an object
/// or `f` gives up.
fn each_field<'t, 'a>(
    t: &'t [Node<'a>],
    mut f: impl FnMut(&'a str, &'t [Node<'a>]) -> Option<()>,
) -> Option<usize> {
    let Node::Object { len, count } = *t.first()? else { return None };
    let mut i = 1;
    for _ in 0..len {
        let Node::String(key) = *t.get(i)? else { return None };
        let n = span(t.get(i + 1)?);
        f(key, t.get(i + 1..i + 1 + n)?)?;
        i += 1 + n;
    }
    (i == count + 1).then_some(i)
}

/// A string field, once.
fn set<'a>(seen: &mut u32, bit: u32, slot: &mut Option<Str<'a>>, v: &[Node<'a>]) -> Option<()> {
    put(seen, bit, slot, string(v))
}

/// `Option<Str>`: null or a string.
fn string<'a>(v: &[Node<'a>]) -> Option<Option<Str<'a>>> {
    match v.first()? {
        Node::String(s) => Some(Some(Str(Cow::Borrowed(s)))),
        Node::Static(StaticNode::Null) => Some(None),
        _ => None,
    }
}

/// `Option<Vec<Str>>`: null or an array of strings.
fn strings<'a>(v: &[Node<'a>], spare: &mut Spare) -> Option<Option<Vec<Str<'a>>>> {
    match *v.first()? {
        Node::Static(StaticNode::Null) => Some(None),
        Node::Array { len, count } if count == len => {
            let mut out = spare.strs();
            out.reserve(len);
            for n in v.get(1..=len)? {
                let Node::String(s) = *n else { return None };
                out.push(Str(Cow::Borrowed(s)));
            }
            Some(Some(out))
        }
        _ => None,
    }
}

fn user<'a>(v: &[Node<'a>], spare: &mut Spare) -> Option<Option<RawUser<'a>>> {
    if matches!(v.first()?, Node::Static(StaticNode::Null)) {
        return Some(None);
    }
    let mut u = RawUser::default();
    let mut seen = 0;
    each_field(v, |k, v| {
        match k {
            "username" => set(&mut seen, 0, &mut u.username, v)?,
            "uid" => set(&mut seen, 1, &mut u.uid, v)?,
            "groups" => put(&mut seen, 2, &mut u.groups, strings(v, spare))?,
            "extra" => put(&mut seen, 3, &mut u.extra, extra(v, spare))?,
            _ => {}
        }
        Some(())
    })?;
    Some(Some(u))
}

/// `Option<BTreeMap<Str, Vec<Str>>>`: the last of duplicate keys wins, as in serde's map.
#[allow(clippy::type_complexity)]
fn extra<'a>(v: &[Node<'a>], spare: &mut Spare) -> Option<Option<BTreeMap<Str<'a>, Vec<Str<'a>>>>> {
    if matches!(v.first()?, Node::Static(StaticNode::Null)) {
        return Some(None);
    }
    let mut out = BTreeMap::new();
    each_field(v, |k, v| {
        out.insert(Str(Cow::Borrowed(k)), strings(v, spare)??);
        Some(())
    })?;
    Some(Some(out))
}

fn object_ref<'a>(v: &[Node<'a>]) -> Option<Option<RawObjectRef<'a>>> {
    if matches!(v.first()?, Node::Static(StaticNode::Null)) {
        return Some(None);
    }
    let mut o = RawObjectRef::default();
    let mut seen = 0;
    each_field(v, |k, v| {
        let (bit, slot) = match k {
            "resource" => (0, &mut o.resource),
            "namespace" => (1, &mut o.namespace),
            "name" => (2, &mut o.name),
            "uid" => (3, &mut o.uid),
            "apiGroup" => (4, &mut o.api_group),
            "apiVersion" => (5, &mut o.api_version),
            "resourceVersion" => (6, &mut o.resource_version),
            "subresource" => (7, &mut o.subresource),
            _ => return Some(()),
        };
        once(&mut seen, bit)?;
        *slot = string(v)?;
        Some(())
    })?;
    Some(Some(o))
}

fn status<'a>(v: &[Node<'a>]) -> Option<Option<RawStatus<'a>>> {
    if matches!(v.first()?, Node::Static(StaticNode::Null)) {
        return Some(None);
    }
    let mut s = RawStatus::default();
    let mut seen = 0;
    each_field(v, |k, v| {
        let (bit, slot) = match k {
            "code" => {
                once(&mut seen, 0)?;
                s.code = match *v.first()? {
                    Node::Static(StaticNode::Null) => None,
                    // Not 0: the tape reads `-0` as 0, where serde_json reads it as a float
                    // (and refuses it); either is rare enough to leave to serde.
                    Node::Static(StaticNode::I64(c)) if c != 0 => Some(i32::try_from(c).ok()?),
                    Node::Static(StaticNode::U64(c)) if c != 0 => Some(i32::try_from(c).ok()?),
                    _ => return None,
                };
                return Some(());
            }
            "status" => (1, &mut s.status),
            "reason" => (2, &mut s.reason),
            "message" => (3, &mut s.message),
            _ => return Some(()),
        };
        once(&mut seen, bit)?;
        *slot = string(v)?;
        Some(())
    })?;
    Some(Some(s))
}

#[allow(clippy::type_complexity)]
fn annotations<'a>(v: &[Node<'a>], spare: &mut Spare) -> Option<Option<Vec<(Str<'a>, Str<'a>)>>> {
    if matches!(v.first()?, Node::Static(StaticNode::Null)) {
        return Some(None);
    }
    let mut out = spare.pairs();
    each_field(v, |k, v| {
        out.push((Str(Cow::Borrowed(k)), string(v)??));
        Some(())
    })?;
    Some(Some(sorted_last_wins(out)))
}

/// A body: present (and skipped) unless null.
fn body(v: &[Node<'_>]) -> Option<Option<IgnoredAny>> {
    Some((!matches!(v.first()?, Node::Static(StaticNode::Null))).then_some(IgnoredAny))
}

/// The columns of an `AzureDiagnostics` row that make a row, as the serde path reads them
/// (`log_s` unescaped).
#[derive(Debug, Default)]
pub(crate) struct AzureRow {
    /// `Category`, or the one key that is `category` in another case.
    pub(crate) category: Option<String>,
    pub(crate) time_generated: Option<String>,
    /// The first of `ResourceId`, `_ResourceId`, `resourceId` that is a string.
    pub(crate) resource_id: Option<String>,
    /// The first of `pod_s`, `Pod_s`, `PodName` that is a string.
    pub(crate) pod: Option<String>,
    pub(crate) log: Vec<u8>,
}

/// An `AzureDiagnostics` row: an object with `log_s` as a string and none of the keys that
/// make the serde path read it as something else (`kind`, `items`, `records`,
/// `properties`); `None` for any other object, or one with a duplicate of a key read here.
fn azure_row(t: &[Node<'_>]) -> Option<AzureRow> {
    const KEYS: [&str; 8] =
        ["Category", "TimeGenerated", "ResourceId", "_ResourceId", "resourceId", "pod_s", "Pod_s", "PodName"];
    let mut found: [Option<Node<'_>>; 8] = [None; 8];
    let (mut log, mut other_case_category) = (None, None);
    let mut seen = 0;
    each_field(t, |k, v| {
        if matches!(k, "kind" | "items" | "records" | "properties") {
            return None;
        }
        if k == "log_s" {
            once(&mut seen, 9)?;
            let Node::String(s) = *v.first()? else { return None };
            log = Some(s);
        } else if let Some(i) = KEYS.iter().position(|c| *c == k) {
            once(&mut seen, i as u32)?;
            found[i] = Some(*v.first()?);
        } else if k.eq_ignore_ascii_case("category") {
            // Two other spellings: which one the serde path takes depends on key order.
            once(&mut seen, 10)?;
            other_case_category = Some(*v.first()?);
        }
        Some(())
    })?;
    // A time of another type than text is the serde path's to name.
    if !text_or_null(found[1]) {
        return None;
    }
    let text = |n: Option<Node<'_>>| match n {
        Some(Node::String(s)) => Some(s.to_owned()),
        _ => None,
    };
    let first_text = |range: std::ops::Range<usize>| found[range].iter().find_map(|n| text(*n));
    Some(AzureRow {
        category: text(found[0].or(other_case_category)),
        time_generated: text(found[1]),
        resource_id: first_text(2..5),
        pod: first_text(5..8),
        log: log?.as_bytes().to_vec(),
    })
}

/// Whether a column read as text is text, null or absent: anything else (`"TimeGenerated":12`)
/// is refused by the serde path, which names it.
fn text_or_null(n: Option<Node<'_>>) -> bool {
    matches!(n, None | Some(Node::String(_) | Node::Static(StaticNode::Null)))
}

/// The dynamic columns of an `AKSAudit` row, in the order of the event fields they fill.
const AKS_DYNAMIC: usize = 8;

/// A dynamic column of an `AKSAudit` row.
#[derive(Clone, Copy)]
enum Dynamic<'t, 'a> {
    /// Absent, null, or a string of nothing but white space.
    Absent,
    /// Nested JSON.
    Nested(&'t [Node<'a>]),
    /// A JSON-encoded string.
    Text(&'a str),
}

/// An `AKSAudit` row's columns, not yet made into an event.
struct AksColumns<'t, 'a> {
    /// `Level`, `AuditId`, `Stage`, `RequestUri`, `Verb`, `UserAgent`, `RequestReceivedTime`,
    /// `StageReceivedTime`: `None` when null or empty.
    strings: [Option<&'a str>; 8],
    /// `User`, `ImpersonatedUser`, `SourceIps`, `ObjectRef`, `ResponseStatus`,
    /// `RequestObject`, `ResponseObject`, `Annotations`.
    dynamic: [Dynamic<'t, 'a>; AKS_DYNAMIC],
    origin: AksOrigin<'a>,
}

/// An `AKSAudit` row as the serde path recognises one (`AuditId`; `Verb` with `RequestUri`
/// or `ObjectRef`; `Type` naming the table), and none of the keys that make that path read
/// the object as something else first (`kind`, `items`, `records`, `properties`, `log_s`).
/// `None` for any other object, and for a row with a duplicate column or a string column that
/// holds no string: the serde path keeps or names those.
fn aks_columns<'t, 'a>(t: &'t [Node<'a>]) -> Option<AksColumns<'t, 'a>> {
    enum Slot {
        String(usize),
        Dynamic(usize),
        Origin(usize),
    }
    let mut row = AksColumns {
        strings: [None; 8],
        dynamic: [Dynamic::Absent; AKS_DYNAMIC],
        origin: AksOrigin::default(),
    };
    // `Type`, `Category`, `TimeGenerated`, `_ResourceId`, `ResourceId`, `PodName`.
    let mut origin: [Option<Node<'a>>; 6] = [None; 6];
    let mut seen = 0;
    each_field(t, |k, v| {
        let slot = match k {
            "kind" | "items" | "records" | "properties" | "log_s" => return None,
            "Level" => Slot::String(0),
            "AuditId" => Slot::String(1),
            "Stage" => Slot::String(2),
            "RequestUri" => Slot::String(3),
            "Verb" => Slot::String(4),
            "UserAgent" => Slot::String(5),
            "RequestReceivedTime" => Slot::String(6),
            "StageReceivedTime" => Slot::String(7),
            "User" => Slot::Dynamic(0),
            "ImpersonatedUser" => Slot::Dynamic(1),
            "SourceIps" => Slot::Dynamic(2),
            "ObjectRef" => Slot::Dynamic(3),
            "ResponseStatus" => Slot::Dynamic(4),
            "RequestObject" => Slot::Dynamic(5),
            "ResponseObject" => Slot::Dynamic(6),
            "Annotations" => Slot::Dynamic(7),
            "Type" => Slot::Origin(0),
            "Category" => Slot::Origin(1),
            "TimeGenerated" => Slot::Origin(2),
            "_ResourceId" => Slot::Origin(3),
            "ResourceId" => Slot::Origin(4),
            "PodName" => Slot::Origin(5),
            _ => return Some(()),
        };
        match slot {
            Slot::String(i) => {
                once(&mut seen, i as u32)?;
                row.strings[i] = match *v.first()? {
                    Node::String(s) => (!s.is_empty()).then_some(s),
                    Node::Static(StaticNode::Null) => None,
                    _ => return None,
                };
            }
            Slot::Dynamic(i) => {
                once(&mut seen, 8 + i as u32)?;
                row.dynamic[i] = match *v.first()? {
                    Node::Static(StaticNode::Null) => Dynamic::Absent,
                    Node::String(s) if s.trim().is_empty() => Dynamic::Absent,
                    Node::String(s) => Dynamic::Text(s),
                    _ => Dynamic::Nested(v),
                };
            }
            Slot::Origin(i) => {
                once(&mut seen, 16 + i as u32)?;
                origin[i] = Some(*v.first()?);
            }
        }
        Some(())
    })?;
    // A time of another type than text is the serde path's to name.
    if !text_or_null(origin[2]) {
        return None;
    }
    let has = |bit: u32| seen & (1 << bit) != 0;
    let names_table = matches!(origin[0], Some(Node::String("AKSAudit" | "AKSAuditAdmin")));
    if !(has(1) || (has(4) && (has(3) || has(8 + 3))) || names_table) {
        return None;
    }
    let first_string = |nodes: &[Option<Node<'a>>]| {
        nodes
            .iter()
            .find_map(|n| match n {
                Some(Node::String(s)) => Some(*s),
                _ => None,
            })
            .filter(|s| !s.is_empty())
    };
    row.origin = AksOrigin {
        category: first_string(&origin[0..2]),
        time_generated: first_string(&origin[2..3]),
        resource_id: first_string(&origin[3..5]),
        pod: first_string(&origin[5..6]),
    };
    Some(row)
}

impl ColumnTapes {
    /// The event of an `AKSAudit` row, its JSON-encoded columns parsed each on its own tape,
    /// handed to `f`; `None` (give up) when a column is not JSON, holds more than one value,
    /// or is not of the shape its field takes.
    fn event<R>(
        &mut self,
        row: &AksColumns<'_, '_>,
        lists: &mut Spare,
        f: impl FnOnce(&RawEvent<'_, IgnoredAny>, &AksOrigin<'_>) -> R,
    ) -> Option<R> {
        let ColumnTapes { buffers, scratch, spare } = self;
        let mut tapes: [Option<Tape<'_>>; AKS_DYNAMIC] = Default::default();
        let mut parsed = true;
        for ((buf, column), tape) in scratch.iter_mut().zip(&row.dynamic).zip(&mut tapes) {
            let Dynamic::Text(text) = *column else { continue };
            buf.clear();
            buf.extend_from_slice(text.as_bytes());
            buf.resize(text.len() + simd_json::INPUT_PADDING, b' ');
            let mut t = spare.pop().unwrap_or_else(Tape::null).reset();
            // One value, nothing after it, as `serde_json::from_str` reads it.
            parsed &= simd_json::fill_tape_padded(buf, text.len(), buffers, &mut t).is_ok()
                && t.0.first().is_some_and(|n| span(n) == t.0.len());
            *tape = Some(t);
            if !parsed {
                break;
            }
        }
        let out = match parsed.then(|| aks_event(row, &tapes, lists)).flatten() {
            Some(mut e) => {
                let out = f(&e, &row.origin);
                lists.recycle(&mut e);
                Some(out)
            }
            None => None,
        };
        spare.extend(tapes.into_iter().flatten().map(Tape::reset));
        out
    }
}

/// The event of an `AKSAudit` row whose JSON-encoded columns are on `tapes`, as the serde
/// path builds it: `kind` `Event`, the string columns, then the dynamic ones (a JSON `null`
/// in one is absent).
fn aks_event<'a>(
    row: &AksColumns<'_, 'a>,
    tapes: &'a [Option<Tape<'a>>; AKS_DYNAMIC],
    spare: &mut Spare,
) -> Option<RawEvent<'a, IgnoredAny>> {
    let text = |i: usize| row.strings[i].map(|s| Str(Cow::Borrowed(s)));
    let mut nodes: [&[Node<'a>]; AKS_DYNAMIC] = [&[Node::Static(StaticNode::Null)]; AKS_DYNAMIC];
    for (i, column) in row.dynamic.iter().enumerate() {
        match column {
            Dynamic::Absent => {}
            Dynamic::Nested(v) => nodes[i] = v,
            Dynamic::Text(_) => nodes[i] = &tapes[i].as_ref()?.0,
        }
    }
    Some(RawEvent {
        kind: Some(Str(Cow::Borrowed("Event"))),
        api_version: None,
        level: text(0),
        audit_id: text(1),
        stage: text(2),
        request_uri: text(3),
        verb: text(4),
        user: user(nodes[0], spare)?,
        impersonated_user: user(nodes[1], spare)?,
        source_ips: strings(nodes[2], spare)?,
        user_agent: text(5),
        object_ref: object_ref(nodes[3])?,
        response_status: status(nodes[4])?,
        request_object: body(nodes[5])?,
        response_object: body(nodes[6])?,
        request_received_timestamp: text(6),
        stage_timestamp: text(7),
        timestamp: None,
        annotations: annotations(nodes[7], spare)?,
    })
}

/// Whether the object on the tape is an `EventList`, with its items.
enum List<'a> {
    No,
    /// The list's `apiVersion` (for items that carry none), and its items.
    Items(Option<&'a str>, Vec<RawEvent<'a, IgnoredAny>>),
}

/// An `EventList` is an object of kind `EventList`, or without a kind and with an `items`
/// array (as the serde path decides). `None` when it is one whose items are not all events
/// of the expected shape: the serde path then reads (and names) each item.
fn list<'a>(t: &[Node<'a>], spare: &mut Spare) -> Option<List<'a>> {
    let (mut kind, mut version, mut items) = (None, None, None);
    let mut seen = 0;
    each_field(t, |k, v| {
        let bit = match k {
            "kind" => 0,
            "apiVersion" => 1,
            "items" => 2,
            _ => return Some(()),
        };
        once(&mut seen, bit)?;
        match bit {
            0 => kind = Some(*v.first()?),
            1 => version = Some(*v.first()?),
            _ => items = Some(v),
        }
        Some(())
    })?;
    let is_list = matches!(
        (kind, items.and_then(<[_]>::first)),
        (Some(Node::String("EventList")), _) | (None, Some(Node::Array { .. }))
    );
    if !is_list {
        return Some(List::No);
    }
    let mut events = Vec::new();
    match items.and_then(<[_]>::first) {
        None | Some(Node::Static(StaticNode::Null)) => {}
        Some(&Node::Array { len, .. }) => {
            let items = items?;
            let mut i = 1;
            for _ in 0..len {
                let n = span(items.get(i)?);
                let e = event(items.get(i..i + n)?, spare)?;
                if !e.looks_like_event() {
                    return None;
                }
                events.push(e);
                i += n;
            }
        }
        Some(_) => return None,
    }
    let version = match version {
        Some(Node::String(v)) if !v.is_empty() => Some(v),
        _ => None,
    };
    Some(List::Items(version, events))
}

/// The event on the tape, or `None` for any shape the serde path should judge.
fn event<'a>(t: &[Node<'a>], spare: &mut Spare) -> Option<RawEvent<'a, IgnoredAny>> {
    let mut e = RawEvent::empty();
    let mut seen = 0;
    let used = each_field(t, |k, v| {
        match k {
            "kind" => set(&mut seen, 0, &mut e.kind, v)?,
            "apiVersion" => set(&mut seen, 1, &mut e.api_version, v)?,
            "level" => set(&mut seen, 2, &mut e.level, v)?,
            "auditID" => set(&mut seen, 3, &mut e.audit_id, v)?,
            "stage" => set(&mut seen, 4, &mut e.stage, v)?,
            "requestURI" => set(&mut seen, 5, &mut e.request_uri, v)?,
            "verb" => set(&mut seen, 6, &mut e.verb, v)?,
            "userAgent" => set(&mut seen, 7, &mut e.user_agent, v)?,
            "requestReceivedTimestamp" => set(&mut seen, 8, &mut e.request_received_timestamp, v)?,
            "stageTimestamp" => set(&mut seen, 9, &mut e.stage_timestamp, v)?,
            "timestamp" => set(&mut seen, 18, &mut e.timestamp, v)?,
            "user" => put(&mut seen, 10, &mut e.user, user(v, spare))?,
            "impersonatedUser" => put(&mut seen, 11, &mut e.impersonated_user, user(v, spare))?,
            "sourceIPs" => put(&mut seen, 12, &mut e.source_ips, strings(v, spare))?,
            "objectRef" => put(&mut seen, 13, &mut e.object_ref, object_ref(v))?,
            "responseStatus" => put(&mut seen, 14, &mut e.response_status, status(v))?,
            "requestObject" => put(&mut seen, 15, &mut e.request_object, body(v))?,
            "responseObject" => put(&mut seen, 16, &mut e.response_object, body(v))?,
            "annotations" => put(&mut seen, 17, &mut e.annotations, annotations(v, spare))?,
            _ => {}
        }
        Some(())
    })?;
    // One value on the line, nothing after it.
    (used == t.len()).then_some(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that takes every line to the tape, past the scan.
    fn tape_only() -> TapeReader {
        TapeReader { scan: false, ..TapeReader::default() }
    }

    fn rows_of(line: &str) -> Option<String> {
        let mut r = tape_only();
        match r.read(line.as_bytes(), true, |e, _| format!("{e:?}")) {
            Read::Event(s) => Some(s),
            _ => None,
        }
    }

    fn serde_of(line: &str) -> Option<String> {
        let e: RawEvent<'_, IgnoredAny> = serde_json::from_str(line).ok()?;
        e.looks_like_event().then(|| format!("{e:?}"))
    }

    #[test]
    fn the_tape_walk_reads_an_event_as_serde_does() {
        for &line in crate::raw::READ_AS_SERDE {
            let tape = rows_of(line);
            assert!(tape.is_some(), "{line}");
            assert_eq!(tape, serde_of(line), "{line}");
        }
    }

    #[test]
    fn the_tape_walk_gives_up_where_serde_would_judge() {
        for &line in crate::raw::LEFT_TO_SERDE {
            let mut r = tape_only();
            assert!(matches!(r.read(line.as_bytes(), true, |_, _| ()), Read::GaveUp), "{line}");
        }
        let mut r = tape_only();
        assert!(matches!(r.read(br#"{"kind":"Pod","items":[]}"#, true, |_, _| ()), Read::NotEvent));
        assert!(matches!(r.read(b"{\"verb\":\"\xff\"}", true, |_, _| ()), Read::GaveUp));
    }

    /// Lists are built in the emptied lists of earlier events: whatever those held, each
    /// event reads as serde reads it on its own.
    #[test]
    fn lists_reused_from_earlier_events_hold_only_their_own_items() {
        let lines = [
            r#"{"auditID":"a","verb":"get","user":{"groups":["a","b","c","d","e"]},"sourceIPs":["1","2","3"],"annotations":{"z":"1","y":"2","x":"3","w":"4","v":"5"}}"#,
            r#"{"auditID":"a","verb":"get","user":{"groups":["f"]},"impersonatedUser":{"groups":["g","h"]},"sourceIPs":[],"annotations":{"a":"1"}}"#,
            r#"{"auditID":"a","verb":"get","user":{"groups":[]},"annotations":{}}"#,
            r#"{"auditID":"a","verb":"get","user":{"username":"u"},"sourceIPs":["9"]}"#,
            r#"{"auditID":"a","verb":"get","user":{"groups":["a","b","c","d","e","f","g","h","i"]},"annotations":{"b":"1","a":"2","b":"3"}}"#,
            r#"{"auditID":"a","verb":"get"}"#,
        ];
        for mut r in [tape_only(), TapeReader::default()] {
            for round in 0..3 {
                for line in lines {
                    let got = match r.read(line.as_bytes(), true, |e, _| format!("{e:?}")) {
                        Read::Event(s) => Some(s),
                        _ => None,
                    };
                    assert!(got.is_some(), "{line}");
                    assert_eq!(got, serde_of(line), "{line}, round {round}");
                }
            }
            assert!(!r.spare.strs.is_empty() && !r.spare.pairs.is_empty(), "lists were kept for reuse");
        }
    }
}
