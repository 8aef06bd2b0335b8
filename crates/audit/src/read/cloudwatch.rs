//! A CloudWatch Logs subscription payload read borrowed, in one pass: what a subscription
//! sends to Firehose, Kinesis or a Lambda (`{"messageType", "owner", "logGroup", "logStream",
//! "subscriptionFilters", "logEvents": [{"id", "timestamp", "message"}]}`), which EKS's audit
//! log archived through Firehose to S3 is made of. Each log event's `message` is the audit
//! event as escaped JSON text; it is unescaped once here and read by the event fast path.
//!
//! Only a payload of exactly those keys, each once, whose log events have exactly theirs with
//! `message` a string, is read here; anything else (a key of another record, `@message`, a
//! message that is an object, a key twice) is refused (`None`), and the caller takes the
//! `serde_json::Value` path, which reads every shape.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::diagnostic::{Many, Text, once};

/// Marks `bit` of `seen`, or refuses a key seen before.
fn mark<E: de::Error>(seen: &mut u8, bit: u8) -> Result<(), E> {
    if *seen & (1 << bit) != 0 {
        return Err(E::custom("a key twice"));
    }
    *seen |= 1 << bit;
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
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut events: Option<Many<LogEvent<'de>>> = None;
                let mut seen = 0u8;
                while let Some(key) = map.next_key::<&'de str>()? {
                    let bit = match key {
                        "logEvents" => {
                            once(&mut map, &mut events)?;
                            continue;
                        }
                        "messageType" => 0,
                        "owner" => 1,
                        "logGroup" => 2,
                        "logStream" => 3,
                        "subscriptionFilters" => 4,
                        _ => return Err(de::Error::custom("a key of another record")),
                    };
                    mark(&mut seen, bit)?;
                    map.next_value::<IgnoredAny>()?;
                }
                match events {
                    Some(e) => Ok(Payload { events: e.0 }),
                    None => Err(de::Error::custom("no `logEvents`")),
                }
            }
        }
        d.deserialize_map(V)
    }
}

/// One log event: its `message`.
pub(super) struct LogEvent<'a> {
    pub(super) message: Text<'a>,
}

impl<'de> Deserialize<'de> for LogEvent<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LogEvent<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a CloudWatch log event")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut message: Option<Text<'de>> = None;
                let mut seen = 0u8;
                while let Some(key) = map.next_key::<&'de str>()? {
                    let bit = match key {
                        "message" => {
                            once(&mut map, &mut message)?;
                            continue;
                        }
                        "id" => 0,
                        "timestamp" => 1,
                        _ => return Err(de::Error::custom("a key of another record")),
                    };
                    mark(&mut seen, bit)?;
                    map.next_value::<IgnoredAny>()?;
                }
                match message {
                    Some(message) => Ok(LogEvent { message }),
                    None => Err(de::Error::custom("no `message`")),
                }
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
            r#"{"logEvents":[{"id":"1","logStreamName":"s","message":"text"}]}"#.to_owned(),
            r#"{"logEvents":[{"id":"1","id":"2","message":"{}"}]}"#.to_owned(),
            r#"{"logEvents":["text"]}"#.to_owned(),
            r#"{"logEvents":{}}"#.to_owned(),
            r#"{"messageType":"DATA_MESSAGE"}"#.to_owned(),
        ] {
            assert!(serde_json::from_str::<Payload<'_>>(&odd).is_err(), "{odd}");
        }
    }
}
