//! JSON documents and arrays, streamed by `serde_json`: the elements of a top-level array or
//! of an `items` / `records` list (or CloudWatch's `events`, `logEvents`, `results`, or a
//! search response's `hits.hits`) are read one at a time, so a large export never sits in
//! memory whole. Several documents may follow each other (concatenated pretty-printed files).
//!
//! Documents are read by the scan of [`super::lists`] in parallel; this reader takes over,
//! from the document on to the end of the file, where that scan meets what it does not read
//! (a search response, a scalar, an escaped key, keys before a list that are not JSON, a long
//! document with no list).

use std::cell::Cell;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read};
use std::rc::Rc;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::input::Peeked;
use super::records::{BOM, Collector};
use super::summary::{FileSummary, Location, SkipKind};
use super::{BatchSink, ReadError, ReadOptions, flush};
use crate::InputFormat;
use crate::raw::RowOrigin;

/// Counts non-whitespace bytes handed to the parser since the last completed document, so a
/// clean end of input can be told from a truncated document; drops a byte order mark between
/// documents.
struct Tracking<R> {
    inner: R,
    pending: Rc<Cell<u64>>,
    /// Set after each document, until the next one starts.
    between: Rc<Cell<bool>>,
}

impl<R: BufRead> Read for Tracking<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.between.get() {
            // White space goes on to the parser; a byte order mark (files that each began with
            // one, joined by `cat`) is dropped; anything else starts the next document. A mark
            // cut by the end of the buffer (once per MiB read, at most) is left to the parser.
            let head = self.inner.fill_buf()?;
            if head.starts_with(BOM) {
                self.inner.consume(BOM.len());
            } else if head.first().is_some_and(|b| !b.is_ascii_whitespace()) {
                self.between.set(false);
            }
        }
        let n = self.inner.read(buf)?;
        let seen = buf[..n].iter().filter(|b| !b.is_ascii_whitespace()).count() as u64;
        self.pending.set(self.pending.get() + seen);
        Ok(n)
    }
}

struct State<'s> {
    c: Collector,
    file: &'s mut FileSummary,
    sink: &'s mut dyn BatchSink,
    opts: &'s ReadOptions,
    item: u64,
    /// The `apiVersion` of the `EventList` being streamed, for items that carry none.
    list_api_version: Option<String>,
    /// A sink or strict-mode error that stopped the parse.
    stop: Option<ReadError>,
}

impl State<'_> {
    fn after_record(&mut self) -> Result<(), ()> {
        if (self.c.rows() >= self.opts.batch_rows || (self.opts.strict && self.c.skipped > 0))
            && let Err(e) = flush(&mut self.c, self.file, self.opts, self.sink)
        {
            self.stop = Some(e);
            return Err(());
        }
        Ok(())
    }

    fn element(&mut self, v: Value, list: List) -> Result<(), ()> {
        self.item += 1;
        let result = match list {
            List::TopArray | List::Hits => self.c.value_record(v),
            List::Items => {
                let origin =
                    RowOrigin { list_api_version: self.list_api_version.as_deref(), ..RowOrigin::default() };
                self.c.event_value(&v, InputFormat::EventList, &origin)
            }
            List::Records => match &v {
                Value::Object(m) => self.c.diagnostic_record(m),
                _ => Err((SkipKind::InvalidField, "expected a diagnostic record object".to_owned())),
            },
            List::LogEvents => self.c.log_event_value(&v),
            List::InsightsRows => self.c.insights_row(&v),
        };
        if let Err((kind, message)) = result {
            self.c.skip(Location::Item(self.item), kind, message);
        }
        self.after_record()
    }
}

#[derive(Clone, Copy)]
enum List {
    TopArray,
    Items,
    Records,
    /// CloudWatch Logs events: `events` (`aws logs filter-log-events`, `get-log-events`) or
    /// `logEvents` (a subscription payload).
    LogEvents,
    /// Logs Insights result rows (`aws logs get-query-results`).
    InsightsRows,
    /// An Elasticsearch or OpenSearch search response's `hits` object, whose own `hits` array
    /// is streamed as top-level records (each hit's `_source` unwrapped).
    Hits,
}

const STOPPED: &str = "\u{0}stopped";

/// The visits of a seed whose value turned out not to be what it streams: a scalar is kept as
/// an ordinary field.
macro_rules! keep_scalars {
    () => {
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(Value::String(v.to_owned())))
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(Value::Bool(v)))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(Value::from(v)))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(Value::from(v)))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(Value::from(v)))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Some(Value::Null))
        }
    };
}

struct ListSeed<'a, 's>(&'a mut State<'s>, List);

impl<'de> DeserializeSeed<'de> for ListSeed<'_, '_> {
    type Value = Option<Value>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ListSeed<'_, '_> {
    type Value = Option<Value>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        if let List::Hits = self.1 {
            // `hits` is an object in a search response: an array is an ordinary field.
            return serde::Deserialize::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Some);
        }
        while let Some(v) = seq.next_element::<Value>()? {
            self.0.element(v, self.1).map_err(|()| de::Error::custom(STOPPED))?;
        }
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let List::Hits = self.1 else {
            // Not a list after all: keep the value as an ordinary field.
            return <Value as FromMap>::from_map(map).map(Some);
        };
        // A search response's `hits`: its own `hits` array streamed as top-level records;
        // `total` and `max_score` dropped once it was.
        let mut rest = Map::new();
        let mut streamed = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "hits" && !streamed {
                match map.next_value_seed(ListSeed(&mut *self.0, List::TopArray))? {
                    Some(v) => {
                        rest.insert(key, v);
                    }
                    None => streamed = true,
                }
            } else {
                rest.insert(key, map.next_value()?);
            }
        }
        Ok((!streamed).then_some(Value::Object(rest)))
    }
    keep_scalars!();
}

/// Helper so a map can be turned into a `Value` from inside a visitor.
trait FromMap {
    fn from_map<'de, A: MapAccess<'de>>(map: A) -> Result<Value, A::Error>;
}

impl FromMap for Value {
    fn from_map<'de, A: MapAccess<'de>>(map: A) -> Result<Value, A::Error> {
        serde::Deserialize::deserialize(de::value::MapAccessDeserializer::new(map))
    }
}

/// What a top-level value turned out to be.
enum Top {
    /// An array, streamed.
    Array,
    /// An object; `streamed` when its `items` / `records` were handed on already.
    Object { rest: Map<String, Value>, streamed: bool },
    /// A scalar: not an audit record.
    Scalar(&'static str),
}

struct TopSeed<'a, 's>(&'a mut State<'s>);

impl<'de> DeserializeSeed<'de> for TopSeed<'_, '_> {
    type Value = Top;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_, '_> {
    type Value = Top;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object or array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Top, A::Error> {
        while let Some(v) = seq.next_element::<Value>()? {
            self.0.element(v, List::TopArray).map_err(|()| de::Error::custom(STOPPED))?;
        }
        Ok(Top::Array)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        let mut rest = Map::new();
        let mut streamed = false;
        while let Some(key) = map.next_key::<String>()? {
            let list = match key.as_str() {
                "items" => Some(List::Items),
                "records" => Some(List::Records),
                "events" | "logEvents" => Some(List::LogEvents),
                "results" => Some(List::InsightsRows),
                "hits" => Some(List::Hits),
                _ => None,
            };
            match list {
                Some(list) => {
                    if let Some(v) = map.next_value_seed(ListSeed(self.0, list))? {
                        rest.insert(key, v);
                    } else {
                        streamed = true;
                    }
                }
                None => {
                    let v: Value = map.next_value()?;
                    if key == "apiVersion" {
                        self.0.list_api_version = v.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
                    }
                    rest.insert(key, v);
                }
            }
        }
        Ok(Top::Object { rest, streamed })
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Top, E> {
        Ok(Top::Scalar("a string"))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Top, E> {
        Ok(Top::Scalar("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Top, E> {
        Ok(Top::Scalar("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Top, E> {
        Ok(Top::Scalar("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Top, E> {
        Ok(Top::Scalar("a number"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Top, E> {
        Ok(Top::Scalar("null"))
    }
}

/// Reads documents from `stream`, which follows `before` records and lines of the file
/// (read by [`super::lists`], which hands on where its scan gives up).
pub(super) fn read_document(
    stream: Peeked<'_>,
    before: (u64, u64),
    opts: &ReadOptions,
    sink: &mut dyn BatchSink,
    file: &mut FileSummary,
) -> Result<(), ReadError> {
    let pending = Rc::new(Cell::new(0u64));
    let between = Rc::new(Cell::new(true));
    let tracking = Tracking {
        inner: BufReader::with_capacity(1 << 20, stream),
        pending: pending.clone(),
        between: between.clone(),
    };
    let mut state = State {
        c: Collector::new(opts),
        file,
        sink,
        opts,
        item: before.0,
        list_api_version: None,
        stop: None,
    };
    let line = |e: &serde_json::Error| before.1 + e.line() as u64;
    let mut de = serde_json::Deserializer::from_reader(tracking);
    loop {
        state.list_api_version = None;
        let result = TopSeed(&mut state).deserialize(&mut de);
        match result {
            Ok(top) => {
                match top {
                    Top::Array => {}
                    Top::Object { rest, streamed } => {
                        // The EventList or envelope itself is not a record; a lone object is.
                        if !streamed && !rest.is_empty() {
                            state.item += 1;
                            if let Err((kind, message)) = state.c.value_record(Value::Object(rest)) {
                                state.c.skip(Location::Item(state.item), kind, message);
                            }
                            if state.after_record().is_err() {
                                break;
                            }
                        }
                    }
                    Top::Scalar(what) => {
                        state.item += 1;
                        state.c.skip(
                            Location::Item(state.item),
                            SkipKind::NotAuditRecord,
                            format!("expected a JSON object or array, found {what}"),
                        );
                    }
                }
                pending.set(0);
                between.set(true);
            }
            Err(e) => {
                if state.stop.is_some() {
                    break;
                }
                if e.is_eof() && pending.get() == 0 {
                    break;
                }
                if e.is_io() {
                    // A corrupt or cut compressed stream: the file is read only in part.
                    let io = io::Error::other(e.to_string());
                    super::input::read_failed(state.file, Location::Line(line(&e)), &io);
                    break;
                }
                let what = if e.is_eof() { "truncated JSON" } else { "invalid JSON" };
                // serde's place is of the stream, which starts `before.1` lines into the file.
                let text = e.to_string();
                let bare = text.rsplit_once(" at line ").map_or(text.as_str(), |(bare, _)| bare);
                let message = format!(
                    "{what}, rest of file skipped: {bare} at line {} column {}",
                    line(&e),
                    e.column()
                );
                state.c.skip(Location::Line(line(&e)), SkipKind::Malformed, message);
                break;
            }
        }
    }
    if let Some(stop) = state.stop.take() {
        return Err(stop);
    }
    let State { mut c, file, sink, .. } = state;
    flush(&mut c, file, opts, sink)
}
