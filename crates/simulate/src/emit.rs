//! The fast event emitter: audit events as the apiserver writes them, from precomputed
//! fragments, without building an [`audit::Event`] first.
//!
//! The bytes must be exactly what `audit::write::write_event_json` writes for the same event
//! (a test checks it); only the way there is faster: every string the simulator generates is
//! known to need no JSON escaping, so it is copied as is, numbers and timestamps are formatted
//! by hand, and constant parts are single `extend_from_slice` calls.

/// Microseconds since the Unix epoch.
pub type Micros = i64;

/// Appends `v` in decimal.
pub fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

fn push_2(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&[b'0' + (v / 10) as u8, b'0' + (v % 10) as u8]);
}

/// Civil date from days since 1970-01-01 (proleptic Gregorian; H. Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Appends `t` as `YYYY-MM-DDTHH:MM:SS`, then `.` and `digits` fractional digits (0, 6 or 7),
/// then `Z`. Years outside 0..=9999 are not produced by the simulator.
pub fn push_time(out: &mut Vec<u8>, t: Micros, digits: u32) {
    let secs = t.div_euclid(1_000_000);
    let micros = t.rem_euclid(1_000_000) as u32;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u32;
    let (y, m, d) = civil_from_days(days);
    let y = y.clamp(0, 9999) as u32;
    push_2(out, y / 100);
    push_2(out, y % 100);
    out.push(b'-');
    push_2(out, m);
    out.push(b'-');
    push_2(out, d);
    out.push(b'T');
    push_2(out, sod / 3600);
    out.push(b':');
    push_2(out, sod / 60 % 60);
    out.push(b':');
    push_2(out, sod % 60);
    if digits > 0 {
        out.push(b'.');
        push_2(out, micros / 10_000);
        push_2(out, micros / 100 % 100);
        push_2(out, micros % 100);
        if digits > 6 {
            out.push(b'0');
        }
    }
    out.push(b'Z');
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends a version-4 UUID made from 128 random bits (`xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`).
pub fn push_uuid(out: &mut Vec<u8>, bits: u128) {
    let v = (bits & !(0xF000u128 << 64) | (0x4000u128 << 64)) & !(0xC000u128 << 48) | (0x8000u128 << 48);
    for (i, shift) in (0..32).rev().map(|i| i * 4).enumerate() {
        if matches!(i, 8 | 12 | 16 | 20) {
            out.push(b'-');
        }
        out.push(HEX[((v >> shift) & 0xf) as usize]);
    }
}

/// Appends a duration the way Go's `time.Duration.String` prints it (`1.5s`, `12.345ms`,
/// `850µs`, `2m3.5s`), which is how the apiserver writes its latency annotations.
pub fn push_go_duration(out: &mut Vec<u8>, nanos: u64) {
    fn frac(out: &mut Vec<u8>, whole: u64, rem: u64, rem_digits: u32) {
        push_u64(out, whole);
        if rem > 0 {
            let mut digits = [0u8; 9];
            let mut r = rem;
            for slot in digits[..rem_digits as usize].iter_mut().rev() {
                *slot = b'0' + (r % 10) as u8;
                r /= 10;
            }
            let mut len = rem_digits as usize;
            while len > 0 && digits[len - 1] == b'0' {
                len -= 1;
            }
            out.push(b'.');
            out.extend_from_slice(&digits[..len]);
        }
    }
    if nanos == 0 {
        out.extend_from_slice(b"0s");
    } else if nanos < 1_000 {
        push_u64(out, nanos);
        out.extend_from_slice(b"ns");
    } else if nanos < 1_000_000 {
        frac(out, nanos / 1_000, nanos % 1_000, 3);
        out.extend_from_slice("µs".as_bytes());
    } else if nanos < 1_000_000_000 {
        frac(out, nanos / 1_000_000, nanos % 1_000_000, 6);
        out.extend_from_slice(b"ms");
    } else {
        let secs = nanos / 1_000_000_000;
        let rem = nanos % 1_000_000_000;
        if secs >= 3600 {
            push_u64(out, secs / 3600);
            out.push(b'h');
        }
        if secs >= 60 {
            push_u64(out, secs / 60 % 60);
            out.push(b'm');
        }
        frac(out, secs % 60, rem, 9);
        out.push(b's');
    }
}

/// The stage of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Long-running requests (watch, exec) log this when the response starts.
    ResponseStarted,
    /// Every request logs this when it ends.
    ResponseComplete,
}

impl Stage {
    /// The name as written.
    pub fn name(self) -> &'static str {
        match self {
            Stage::ResponseStarted => "ResponseStarted",
            Stage::ResponseComplete => "ResponseComplete",
        }
    }
}

/// `objectRef` of a request, from parts the simulator keeps.
#[derive(Debug, Clone, Copy, Default)]
pub struct ObjRef<'a> {
    /// Plural resource.
    pub resource: &'static str,
    /// Namespace, for namespaced requests.
    pub namespace: Option<&'a str>,
    /// Object name, for single-object requests.
    pub name: Option<&'a str>,
    /// Object UID (updates and deletes carry one).
    pub uid: Option<u128>,
    /// API group, `None` for the core group.
    pub api_group: Option<&'static str>,
    /// API version.
    pub api_version: &'static str,
    /// Resource version (updates carry one).
    pub resource_version: Option<u64>,
    /// Subresource.
    pub subresource: Option<&'static str>,
}

/// A failure's `responseStatus` fields besides the code.
#[derive(Debug, Clone, Copy)]
pub struct Failure<'a> {
    /// JSON-escaped message text (without quotes).
    pub message_escaped: &'a str,
    /// Machine-readable reason (empty: none written).
    pub reason: &'static str,
}

/// Where the time of a slow request went, in nanoseconds (the `apiserver.latency.k8s.io/*`
/// annotations; zero parts are left out, as the apiserver does).
#[derive(Debug, Clone, Copy, Default)]
pub struct Breakdown {
    /// Time in APF queues.
    pub apf_queue_wait: u64,
    /// Time in etcd.
    pub etcd: u64,
    /// Time in mutating webhooks.
    pub mutating_webhook: u64,
    /// Time in validating webhooks.
    pub validating_webhook: u64,
    /// Serializing the response.
    pub serialize_response_object: u64,
    /// Writing the response.
    pub response_write: u64,
}

/// One event to write; every `&str` is free of characters JSON must escape (checked in debug
/// builds), except `Failure::message_escaped`, which is escaped already.
#[derive(Debug, Clone, Copy)]
pub struct EventParts<'a> {
    /// The request's audit ID (shared by its stages).
    pub audit_id: u128,
    /// `Metadata` mostly.
    pub level: &'static str,
    /// Stage of this event.
    pub stage: Stage,
    /// Request URI with its query.
    pub uri: &'a str,
    /// Kubernetes verb.
    pub verb: &'static str,
    /// The `user` object's JSON text.
    pub user_json: &'a str,
    /// Client IP.
    pub source_ip: &'a str,
    /// User agent, if the client sent one.
    pub user_agent: Option<&'a str>,
    /// The object, for resource requests.
    pub object_ref: Option<ObjRef<'a>>,
    /// HTTP status code.
    pub code: u16,
    /// Failure details, for failures.
    pub failure: Option<Failure<'a>>,
    /// When the request was received.
    pub received: Micros,
    /// When this stage was reached.
    pub stage_time: Micros,
    /// Latency split, for slow requests.
    pub breakdown: Option<Breakdown>,
    /// Total latency for `apiserver.latency.k8s.io/total` (written with the breakdown).
    pub total_nanos: u64,
    /// `authorization.k8s.io/decision`.
    pub decision: &'static str,
    /// `authorization.k8s.io/reason`, JSON-escaped.
    pub reason_escaped: &'a str,
    /// Further annotations as (key, JSON-escaped value), keys sorting after `authorization.`.
    pub extra_annotations: &'a [(&'static str, &'a str)],
}

/// Appends a request URI: Go escapes `&` (and `<`, `>`, which URIs here never hold) as
/// `\u0026`, as real audit logs show in every query string.
fn push_uri(out: &mut Vec<u8>, uri: &str) {
    let mut rest = uri.as_bytes();
    while let Some(i) = rest.iter().position(|&b| b == b'&') {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(b"\\u0026");
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
}

fn debug_check_plain(s: &str) {
    debug_assert!(
        !s.bytes().any(|b| b < 0x20 || matches!(b, b'"' | b'\\' | b'<' | b'>' | b'&')),
        "string needs escaping: {s}"
    );
}

/// Appends one event line (without newline) for `p`.
pub fn push_event(out: &mut Vec<u8>, p: &EventParts<'_>) {
    debug_assert!(!p.uri.bytes().any(|b| b < 0x20 || matches!(b, b'"' | b'\\' | b'<' | b'>')), "{}", p.uri);
    out.extend_from_slice(b"{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"");
    out.extend_from_slice(p.level.as_bytes());
    out.extend_from_slice(b"\",\"auditID\":\"");
    push_uuid(out, p.audit_id);
    out.extend_from_slice(b"\",\"stage\":\"");
    out.extend_from_slice(p.stage.name().as_bytes());
    out.extend_from_slice(b"\",\"requestURI\":\"");
    push_uri(out, p.uri);
    out.extend_from_slice(b"\",\"verb\":\"");
    out.extend_from_slice(p.verb.as_bytes());
    out.extend_from_slice(b"\",\"user\":");
    out.extend_from_slice(p.user_json.as_bytes());
    out.extend_from_slice(b",\"sourceIPs\":[\"");
    out.extend_from_slice(p.source_ip.as_bytes());
    out.extend_from_slice(b"\"]");
    if let Some(ua) = p.user_agent {
        debug_check_plain(ua);
        out.extend_from_slice(b",\"userAgent\":\"");
        out.extend_from_slice(ua.as_bytes());
        out.push(b'"');
    }
    if let Some(o) = &p.object_ref {
        out.extend_from_slice(b",\"objectRef\":{\"resource\":\"");
        out.extend_from_slice(o.resource.as_bytes());
        out.push(b'"');
        if let Some(ns) = o.namespace {
            out.extend_from_slice(b",\"namespace\":\"");
            out.extend_from_slice(ns.as_bytes());
            out.push(b'"');
        }
        if let Some(name) = o.name {
            out.extend_from_slice(b",\"name\":\"");
            out.extend_from_slice(name.as_bytes());
            out.push(b'"');
        }
        if let Some(uid) = o.uid {
            out.extend_from_slice(b",\"uid\":\"");
            push_uuid(out, uid);
            out.push(b'"');
        }
        if let Some(g) = o.api_group {
            out.extend_from_slice(b",\"apiGroup\":\"");
            out.extend_from_slice(g.as_bytes());
            out.push(b'"');
        }
        out.extend_from_slice(b",\"apiVersion\":\"");
        out.extend_from_slice(o.api_version.as_bytes());
        out.push(b'"');
        if let Some(rv) = o.resource_version {
            out.extend_from_slice(b",\"resourceVersion\":\"");
            push_u64(out, rv);
            out.push(b'"');
        }
        if let Some(sub) = o.subresource {
            out.extend_from_slice(b",\"subresource\":\"");
            out.extend_from_slice(sub.as_bytes());
            out.push(b'"');
        }
        out.push(b'}');
    }
    out.extend_from_slice(b",\"responseStatus\":{\"metadata\":{}");
    if let Some(f) = &p.failure {
        out.extend_from_slice(b",\"status\":\"Failure\",\"message\":\"");
        out.extend_from_slice(f.message_escaped.as_bytes());
        out.push(b'"');
        if !f.reason.is_empty() {
            out.extend_from_slice(b",\"reason\":\"");
            out.extend_from_slice(f.reason.as_bytes());
            out.push(b'"');
        }
    }
    out.extend_from_slice(b",\"code\":");
    push_u64(out, u64::from(p.code));
    out.extend_from_slice(b"},\"requestReceivedTimestamp\":\"");
    push_time(out, p.received, 6);
    out.extend_from_slice(b"\",\"stageTimestamp\":\"");
    push_time(out, p.stage_time, 6);
    out.extend_from_slice(b"\",\"annotations\":{");
    if let Some(b) = &p.breakdown {
        // Keys in sorted order, as Go writes maps.
        let parts: [(&[u8], u64); 7] = [
            (b"apf-queue-wait", b.apf_queue_wait),
            (b"etcd", b.etcd),
            (b"mutating-webhook", b.mutating_webhook),
            (b"response-write", b.response_write),
            (b"serialize-response-object", b.serialize_response_object),
            (b"total", p.total_nanos),
            (b"validating-webhook", b.validating_webhook),
        ];
        for (key, nanos) in parts {
            if nanos == 0 {
                continue;
            }
            out.extend_from_slice(b"\"apiserver.latency.k8s.io/");
            out.extend_from_slice(key);
            out.extend_from_slice(b"\":\"");
            push_go_duration(out, nanos);
            out.extend_from_slice(b"\",");
        }
    }
    out.extend_from_slice(b"\"authorization.k8s.io/decision\":\"");
    out.extend_from_slice(p.decision.as_bytes());
    out.extend_from_slice(b"\",\"authorization.k8s.io/reason\":\"");
    out.extend_from_slice(p.reason_escaped.as_bytes());
    out.push(b'"');
    for (key, value) in p.extra_annotations {
        out.extend_from_slice(b",\"");
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":\"");
        out.extend_from_slice(value.as_bytes());
        out.push(b'"');
    }
    out.extend_from_slice(b"}}");
}

/// Appends `s` JSON-escaped the way Go does (for texts built once, not per event).
pub fn escape(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len() + 8);
    audit::write::write_str(&mut out, s);
    // `write_str` adds quotes; the emitter writes its own.
    String::from_utf8_lossy(&out[1..out.len() - 1]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl Fn(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn times_match_chrono() {
        use chrono::{TimeZone, Utc};
        for t in [0i64, 1_709_287_200_123_456, 951_782_400_000_001, 4_102_444_799_999_999, 1_234_567] {
            let dt = Utc.timestamp_micros(t).single().expect("in range");
            assert_eq!(s(|o| push_time(o, t, 6)), dt.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string());
            assert_eq!(s(|o| push_time(o, t, 0)), dt.format("%Y-%m-%dT%H:%M:%SZ").to_string());
            assert_eq!(s(|o| push_time(o, t, 7)), dt.format("%Y-%m-%dT%H:%M:%S%.6f0Z").to_string());
        }
    }

    #[test]
    fn go_durations_print_like_go() {
        for (nanos, want) in [
            (0, "0s"),
            (850, "850ns"),
            (1_500, "1.5µs"),
            (12_345_678, "12.345678ms"),
            (500_000_000, "500ms"),
            (1_000_000_000, "1s"),
            (1_204_000_000, "1.204s"),
            (123_500_000_000, "2m3.5s"),
            (3_600_000_000_000, "1h0m0s"),
        ] {
            assert_eq!(s(|o| push_go_duration(o, nanos)), want);
        }
    }

    #[test]
    fn uuids_are_version_4() {
        let u = s(|o| push_uuid(o, u128::MAX));
        assert_eq!(u, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        let z = s(|o| push_uuid(o, 0));
        assert_eq!(z, "00000000-0000-4000-8000-000000000000");
    }
}
