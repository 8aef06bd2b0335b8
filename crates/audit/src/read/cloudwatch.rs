//! A CloudWatch Logs subscription payload read borrowed, in one pass: what a subscription
//! sends to Firehose, Kinesis or a Lambda (`{"messageType", "owner", "logGroup", "logStream",
//! "subscriptionFilters", "logEvents": [{"id", "timestamp", "message"}]}`), which EKS's audit
//! log archived through Firehose to S3 is made of. Each log event's `message` is the audit
//! event as escaped JSON text; it is unescaped once here and read by the event fast path.
//!
//! Only a payload of exactly those keys, each once, whose log events have only theirs or
//! those `aws logs filter-log-events` prints (`logStreamName`, `ingestionTime`, `eventId`)
//! with `message` a string, is read here; anything else (a key of another record, `@message`,
//! a message that is an object, a key twice) is refused (`None`), and the caller takes the
//! `serde_json::Value` path, which reads every shape. The log events of a pretty-printed
//! document's list ([`super::lists`]) are read here one by one.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use super::diagnostic::{Checked, Many, Text, once};

/// Reads a map whose keys are those `take` takes (reading their values and saying `true`) and
/// `others` (values ignored), each once; any other key refuses the map.
fn members<'de, A: MapAccess<'de>>(
    mut map: A,
    others: &[&str],
    mut take: impl FnMut(&'de str, &mut A) -> Result<bool, A::Error>,
) -> Result<(), A::Error> {
    let mut seen = 0u32;
    while let Some(k) = map.next_key::<&'de str>()? {
        if take(k, &mut map)? {
            continue;
        }
        match others.iter().position(|o| *o == k) {
            Some(i) if seen & (1 << i) == 0 => seen |= 1 << i,
            Some(_) => return Err(de::Error::custom("a key twice")),
            None => return Err(de::Error::custom("a key of another record")),
        }
        map.next_value::<Checked>()?;
    }
    Ok(())
}

/// A subscription payload: its log events.
pub(super) struct Payload<'a> {
    pub(super) events: Vec<LogEvent<'a>>,
}

impl<'de> Deserialize<'de> for Payload<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Payload<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a CloudWatch Logs subscription payload")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let others = ["messageType", "owner", "logGroup", "logStream", "subscriptionFilters"];
                let mut events: Option<Many<LogEvent<'de>>> = None;
                members(map, &others, |k, map| match k {
                    "logEvents" => once(map, &mut events).map(|()| true),
                    _ => Ok(false),
                })?;
                let events = events.ok_or_else(|| de::Error::custom("no `logEvents`"))?;
                Ok(Payload { events: events.0 })
            }
        }
        d.deserialize_map(V)
    }
}

/// One log event: its `message` and the log stream it names. A subscription payload's events
/// hold `id`, `timestamp` and `message`; those `aws logs filter-log-events` prints hold
/// `logStreamName`, `timestamp`, `message`, `ingestionTime` and `eventId`.
pub(super) struct LogEvent<'a> {
    pub(super) message: Text<'a>,
    pub(super) stream: Option<Text<'a>>,
}

impl<'de> Deserialize<'de> for LogEvent<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LogEvent<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a CloudWatch log event")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let (mut message, mut stream) = (None, None);
                members(map, &["id", "timestamp", "eventId", "ingestionTime"], |k, map| match k {
                    "message" => once(map, &mut message).map(|()| true),
                    "logStreamName" => once(map, &mut stream).map(|()| true),
                    _ => Ok(false),
                })?;
                let message = message.ok_or_else(|| de::Error::custom("no `message`"))?;
                Ok(LogEvent { message, stream })
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = r#"{"id":"1","timestamp":1741683600519,"message":"{\"kind\":\"Event\"}"}"#;

    #[test]
    fn a_subscription_payload_is_read_here() {
        let line = format!(
            r#"{{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"/aws/eks/c/cluster","logStream":"kube-apiserver-audit-1","subscriptionFilters":["f"],"logEvents":[{EVENT},{EVENT}]}}"#
        );
        let p: Payload<'_> = serde_json::from_str(&line).expect("payload");
        assert_eq!(p.events.len(), 2);
        assert_eq!(p.events[0].message.0, r#"{"kind":"Event"}"#);
    }

    /// Each of these could read otherwise as a `serde_json::Value`: refused.
    #[test]
    fn what_could_read_otherwise_is_refused() {
        for odd in [
            format!(r#"{{"owner":"1","owner":"2","logEvents":[{EVENT}]}}"#),
            format!(r#"{{"messageType":"DATA_MESSAGE","kind":"Event","logEvents":[{EVENT}]}}"#),
            format!(r#"{{"logEvents":[{EVENT}],"logEvents":[]}}"#),
            r#"{"logEvents":[{"id":"1","message":{"kind":"Event"}}]}"#.to_owned(),
            r#"{"logEvents":[{"id":"1","@message":"{}"}]}"#.to_owned(),
            r#"{"logEvents":[{"id":"1","logStream":"s","message":"text"}]}"#.to_owned(),
            r#"{"logEvents":[{"id":"1","logStreamName":7,"message":"text"}]}"#.to_owned(),
            r#"{"logEvents":[{"id":"1","id":"2","message":"{}"}]}"#.to_owned(),
            r#"{"logEvents":["text"]}"#.to_owned(),
            r#"{"logEvents":{}}"#.to_owned(),
            r#"{"messageType":"DATA_MESSAGE"}"#.to_owned(),
        ] {
            assert!(serde_json::from_str::<Payload<'_>>(&odd).is_err(), "{odd}");
        }
    }
}
