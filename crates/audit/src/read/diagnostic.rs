//! Azure diagnostic-settings records read borrowed, in one pass: the `{"records": […]}` batch
//! that an Event Hub message (and Event Hubs Capture's `Body`) holds, and one record alone (a
//! line of a storage account's `PT1H.json`). Each record's `properties.log` is the audit event
//! as escaped JSON text; it is unescaped once here and read by the event fast path.
//!
//! What is read here gives exactly what `Collector::diagnostic_record` gives from a
//! `serde_json::Value`, which reads every other shape. Anything that could read differently
//! there is refused (`None`), and the caller takes the `Value` path for the whole record: a key
//! twice (the `Value` keeps the last), a key that is one of the read ones but for its case
//! (`Category`, `Time`, `TimeGenerated`: the `Value` path looks them up so), `properties` or
//! `properties.log` that is not what this reads (a string, an object), a value of another type
//! than a string.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

/// A string value, borrowed when it has no escapes; any other type of value is an error (the
/// `Value` path's `as_str` would read it as absent, not as text).
pub(super) struct Text<'a>(pub(super) Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A value read only to be checked as a `serde_json::Value` is (its strings' UTF-8 and
/// escapes, its numbers' range) and dropped. `IgnoredAny` skips strings and numbers unchecked,
/// so a record with a stray byte or a lone surrogate in a key read no further was taken here
/// and refused as a `Value` (found by mutating documents, session 36).
pub(super) struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Checked;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
                while seq.next_element::<Checked>()?.is_some() {}
                Ok(Checked)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
                while map.next_key::<Checked>()?.is_some() {
                    map.next_value::<Checked>()?;
                }
                Ok(Checked)
            }
        }
        d.deserialize_any(V)
    }
}

/// Sets `slot` to the next value, or refuses a key seen before.
pub(super) fn once<'de, A: MapAccess<'de>, T: Deserialize<'de>>(
    map: &mut A,
    slot: &mut Option<T>,
) -> Result<(), A::Error> {
    if slot.is_some() {
        return Err(de::Error::custom("a key twice"));
    }
    *slot = Some(map.next_value()?);
    Ok(())
}

/// Keys that make a line read as something else before its `records` or `properties` are
/// looked at: an event (`kind`, or the fields of one without it) or an `EventList`.
fn before_records(key: &str) -> bool {
    matches!(key, "kind" | "apiVersion" | "auditID" | "requestURI" | "verb" | "items")
}

/// A line holding `records`: what `records` holds, when every record reads here.
pub(super) struct Batch<'a> {
    pub(super) records: Vec<Record<'a>>,
}

impl<'de> Deserialize<'de> for Batch<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Batch<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object holding `records`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut records: Option<Many<Record<'de>>> = None;
                while let Some(key) = map.next_key::<&'de str>()? {
                    match key {
                        "records" => once(&mut map, &mut records)?,
                        k if before_records(k) => return Err(de::Error::custom("not a records batch")),
                        _ => {
                            map.next_value::<Checked>()?;
                        }
                    }
                }
                match records {
                    Some(r) => Ok(Batch { records: r.0 }),
                    None => Err(de::Error::custom("no `records`")),
                }
            }
        }
        d.deserialize_map(V)
    }
}

/// An array of `T`s (`records`, CloudWatch's `logEvents`).
pub(super) struct Many<T>(pub(super) Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Many<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Many<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                while let Some(r) = seq.next_element()? {
                    out.push(r);
                }
                Ok(Many(out))
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
}

/// Whether a line's first key may start a diagnostic record alone (a line of a storage
/// account's `PT1H.json`, `{"time"…` as Azure writes it).
pub(super) fn is_record_key(key: &[u8]) -> bool {
    matches!(key, b"time" | b"category" | b"resourceId" | b"operationName" | b"properties")
}

/// One diagnostic record, the fields `Collector::diagnostic_record` reads. Keys are read
/// borrowed: a key with an escape is refused (the `Value` path reads it).
#[derive(Default)]
pub(super) struct Record<'a> {
    pub(super) category: Option<Text<'a>>,
    pub(super) time: Option<Text<'a>>,
    pub(super) resource_id: Option<Text<'a>>,
    pub(super) properties: Option<Properties<'a>>,
}

impl<'de> Deserialize<'de> for Record<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Record<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a diagnostic record")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut r = Record::default();
                while let Some(key) = map.next_key::<&'de str>()? {
                    match key {
                        "category" => once(&mut map, &mut r.category)?,
                        "time" => once(&mut map, &mut r.time)?,
                        "resourceId" => once(&mut map, &mut r.resource_id)?,
                        "properties" => once(&mut map, &mut r.properties)?,
                        k if before_records(k) || k == "records" => {
                            return Err(de::Error::custom("not a record"));
                        }
                        k if ["category", "time", "timegenerated", "resourceid"]
                            .iter()
                            .any(|read| k.eq_ignore_ascii_case(read)) =>
                        {
                            return Err(de::Error::custom("a read key in another case"));
                        }
                        _ => {
                            map.next_value::<Checked>()?;
                        }
                    }
                }
                Ok(r)
            }
        }
        d.deserialize_map(V)
    }
}

/// A record's `properties`: the event as text and the API server's pod.
#[derive(Default)]
pub(super) struct Properties<'a> {
    pub(super) log: Option<Text<'a>>,
    pub(super) pod: Option<Text<'a>>,
}

impl<'de> Deserialize<'de> for Properties<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Properties<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut p = Properties::default();
                while let Some(key) = map.next_key::<&'de str>()? {
                    match key {
                        "log" => once(&mut map, &mut p.log)?,
                        "pod" => once(&mut map, &mut p.pod)?,
                        _ => {
                            map.next_value::<Checked>()?;
                        }
                    }
                }
                Ok(p)
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = r#""{\"kind\":\"Event\",\"verb\":\"get\"}""#;

    fn record(extra: &str) -> String {
        format!(
            r#"{{"time":"2024-01-01T10:00:02Z","resourceId":"/S/C","category":"kube-audit","operationName":"Read","properties":{{"log":{LOG},"pod":"p","stream":"stdout"}}{extra}}}"#
        )
    }

    #[test]
    fn azures_records_are_read_here() {
        let line = record("");
        let r: Record<'_> = serde_json::from_str(&line).expect("record");
        assert_eq!(r.category.map(|t| t.0), Some("kube-audit".into()));
        assert_eq!(r.time.map(|t| t.0), Some("2024-01-01T10:00:02Z".into()));
        assert_eq!(r.resource_id.map(|t| t.0), Some("/S/C".into()));
        let p = r.properties.expect("properties");
        assert_eq!(p.log.map(|t| t.0), Some(r#"{"kind":"Event","verb":"get"}"#.into()));
        assert_eq!(p.pod.map(|t| t.0), Some("p".into()));
        let batch = format!(r#"{{"records":[{},{}]}}"#, record(""), record(r#","level":"Information""#));
        let b: Batch<'_> = serde_json::from_str(&batch).expect("batch");
        assert_eq!(b.records.len(), 2);
    }

    /// Each of these could read otherwise as a `serde_json::Value`: refused, so the caller
    /// takes that path.
    #[test]
    fn what_could_read_otherwise_is_refused() {
        for extra in [
            r#","category":"kube-audit-admin""#,
            r#","Category":"guard""#,
            r#","TimeGenerated":"2024-01-01T10:00:03Z""#,
            r#","RESOURCEID":"/x""#,
            r#","kind":"Event""#,
            r#","apiVersion":"audit.k8s.io/v1""#,
            r#","verb":"get""#,
            r#","records":[]"#,
        ] {
            assert!(serde_json::from_str::<Record<'_>>(&record(extra)).is_err(), "{extra}");
        }
        for odd in [
            r#"{"category":5,"properties":{}}"#,
            r#"{"category":"kube-audit","properties":"{}"}"#,
            r#"{"category":"kube-audit","properties":{"log":{"kind":"Event"}}}"#,
            r#"{"category":"kube-audit","properties":{"log":"a","log":"b"}}"#,
            r#"{"category":"kube-audit","properties":{"pod":7}}"#,
            r#"{"cat\u0065gory":"kube-audit","properties":{}}"#,
        ] {
            assert!(serde_json::from_str::<Record<'_>>(odd).is_err(), "{odd}");
        }
        for odd in [
            r#"{"records":{}}"#.to_owned(),
            r#"{"records":["text"]}"#.to_owned(),
            format!(r#"{{"records":[{}],"records":[]}}"#, record("")),
            format!(r#"{{"kind":"EventList","records":[{}]}}"#, record("")),
            r#"{"items":[],"records":[]}"#.to_owned(),
            r#"{"other":1}"#.to_owned(),
        ] {
            assert!(serde_json::from_str::<Batch<'_>>(&odd).is_err(), "{odd}");
        }
    }
}
