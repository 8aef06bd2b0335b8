//! URLs, base64 and digests: `parse_url`, `parse_urlquery`, `base64_encode_tostring`,
//! `base64_decode_tostring`, `base64_decode_toarray`, `base64_encode_fromarray`,
//! `hash_sha256`, `hash_sha1`.
//!
//! URLs are read with the `url` crate (the WHATWG URL standard) and query strings with its
//! `form_urlencoded` (`+` is a space, `%XX` escapes decoded); base64 with the `base64` crate
//! (the standard alphabet, with padding); digests with `ring`, which the probe's TLS already
//! builds.

use std::fmt::Write as _;
use std::sync::Arc;

use arrow::array::{Array, AsArray, StringBuilder};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use datafusion::common::Result;
use datafusion::logical_expr::ColumnarValue;
use serde_json::Value;

use super::dynamic::parse_text;
use super::strings::map_strings;
use super::{StrCol, arg_array, finish, rows_for};

/// `s` as a JSON string literal.
fn quoted(out: &mut String, s: &str) {
    // A `&str` always serializes, so the fallback is never taken.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

/// The pairs of a query string (`k1=v1&k2=v2`, a leading `?` skipped) as a JSON object, keys in
/// the order they first appear; a key given more than once keeps every value, joined by `,`.
fn query_object(out: &mut String, query: &str) {
    let query = query.strip_prefix('?').unwrap_or(query);
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match pairs.iter_mut().find(|(key, _)| *key == k) {
            Some((_, value)) => {
                value.push(',');
                value.push_str(&v);
            }
            None => pairs.push((k.into_owned(), v.into_owned())),
        }
    }
    out.push('{');
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        quoted(out, k);
        out.push(':');
        quoted(out, v);
    }
    out.push('}');
}

/// `parse_url(url)` of one text: a bag of `Scheme`, `Host`, `Port`, `Path`, `Username`,
/// `Password`, `Query Parameters` and `Fragment`, in Kusto's order. Text that is not an absolute
/// URL (`scheme://…`) gives every part empty.
pub fn parse_url_text(text: &str) -> String {
    let parsed = text.contains("://").then(|| url::Url::parse(text.trim()).ok()).flatten();
    let mut out = String::with_capacity(160 + text.len());
    let port = parsed.as_ref().and_then(url::Url::port).map(|p| p.to_string()).unwrap_or_default();
    let parts: [(&str, &str); 6] = match &parsed {
        Some(u) => [
            ("Scheme", u.scheme()),
            ("Host", u.host_str().unwrap_or("")),
            ("Port", &port),
            ("Path", u.path()),
            ("Username", u.username()),
            ("Password", u.password().unwrap_or("")),
        ],
        None => {
            [("Scheme", ""), ("Host", ""), ("Port", ""), ("Path", ""), ("Username", ""), ("Password", "")]
        }
    };
    out.push('{');
    for (name, value) in parts {
        quoted(&mut out, name);
        out.push(':');
        quoted(&mut out, value);
        out.push(',');
    }
    out.push_str("\"Query Parameters\":");
    query_object(&mut out, parsed.as_ref().and_then(url::Url::query).unwrap_or(""));
    out.push_str(",\"Fragment\":");
    quoted(&mut out, parsed.as_ref().and_then(url::Url::fragment).unwrap_or(""));
    out.push('}');
    out
}

/// `parse_urlquery(query)` of one text: `{"Query Parameters": {…}}`.
pub fn parse_urlquery_text(text: &str) -> String {
    let mut out = String::from("{\"Query Parameters\":");
    query_object(&mut out, text.trim());
    out.push('}');
    out
}

/// `parse_path(path)` of one text: a bag of `Scheme`, `RootPath`, `DirectoryPath`,
/// `DirectoryName`, `Filename`, `Extension` and `AlternateDataStreamName`, in Kusto's order,
/// for Windows and Unix paths alike (either slash separates; `C:` is a root; `name:stream` an
/// alternate data stream; `scheme://` is read off the front).
pub fn parse_path_text(path: &str) -> String {
    let mut rest = path.trim();
    let mut scheme = "";
    if let Some(i) = rest.find("://") {
        let s = &rest[..i];
        let valid = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'));
        if valid {
            scheme = s;
            rest = &rest[i + 3..];
        }
    }
    let (dir, file) = match rest.rfind(['/', '\\']) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => ("", rest),
    };
    let (file, stream) = file.split_once(':').unwrap_or((file, ""));
    let body = rest.strip_prefix("\\\\?\\").unwrap_or(rest);
    let b = body.as_bytes();
    let root = if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' { &body[..2] } else { "" };
    let dir_name = dir.rsplit(['/', '\\']).next().unwrap_or("");
    let extension = file.rfind('.').map_or("", |i| &file[i + 1..]);
    let parts = [
        ("Scheme", scheme),
        ("RootPath", root),
        ("DirectoryPath", dir),
        ("DirectoryName", dir_name),
        ("Filename", file),
        ("Extension", extension),
        ("AlternateDataStreamName", stream),
    ];
    let mut out = String::with_capacity(160 + 2 * path.len());
    out.push('{');
    for (i, (name, value)) in parts.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        quoted(&mut out, name);
        out.push(':');
        quoted(&mut out, value);
    }
    out.push('}');
    out
}

/// `parse_path(path)`.
pub fn parse_path(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    map_strings(args, rows, |s, _| Some(parse_path_text(s)))
}

/// `parse_url(url)`.
pub fn parse_url(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    map_strings(args, rows, |s, _| Some(parse_url_text(s)))
}

/// `parse_urlquery(query)`.
pub fn parse_urlquery(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    map_strings(args, rows, |s, _| Some(parse_urlquery_text(s)))
}

/// `base64_encode_tostring(text)`: the text's UTF-8 bytes in base64.
pub fn base64_encode(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    map_strings(args, rows, |s, _| Some(STANDARD.encode(s)))
}

/// `base64_decode_tostring(text)`: null when the text is not base64 or its bytes are not UTF-8.
pub fn base64_decode(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    map_strings(args, rows, |s, _| STANDARD.decode(s.trim()).ok().and_then(|b| String::from_utf8(b).ok()))
}

/// `base64_decode_toarray(text)`: the decoded bytes as a JSON array of numbers; null when the
/// text is not base64.
pub fn base64_decode_toarray(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    map_strings(args, rows, |s, _| {
        let bytes = STANDARD.decode(s.trim()).ok()?;
        let mut out = String::with_capacity(bytes.len() * 4 + 2);
        out.push('[');
        for (i, b) in bytes.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            // Writing to a String cannot fail.
            let _ = write!(out, "{b}");
        }
        out.push(']');
        Some(out)
    })
}

/// `base64_encode_fromarray(array)`: an array of byte values (0 to 255) in base64; null when
/// the value is not such an array.
pub fn base64_encode_fromarray(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    map_strings(args, rows, |s, _| {
        let Value::Array(items) = parse_text(s) else {
            return None;
        };
        let bytes: Option<Vec<u8>> =
            items.iter().map(|v| v.as_u64().and_then(|n| u8::try_from(n).ok())).collect();
        bytes.map(|b| STANDARD.encode(b))
    })
}

/// `kql_xxhash64(value, mod)`: `hash(value [, mod])`, XXH64 with seed 0 of a string's UTF-8
/// bytes or of a datetime's ticks since 0001-01-01 (8 bytes, little-endian), which gives Kusto's
/// documented values (`hash("World")` is 1846988464401551951, `hash(datetime(2015-01-01))`
/// 1380966698541616202). With a positive `mod`, the hash's remainder, from 0 to `mod - 1`.
pub fn xxhash64(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    use arrow::array::Int64Builder;
    use arrow::datatypes::{DataType, TimestampNanosecondType};
    use xxhash_rust::xxh64::xxh64;
    let n = rows_for(args, rows);
    let a = arg_array(&args[0], n)?;
    let m = arg_array(&args[1], n)?;
    let m = m.as_primitive::<arrow::datatypes::Int64Type>();
    let mut out = Int64Builder::with_capacity(n);
    let strings = StrCol::new(&a);
    for i in 0..n {
        let h = match a.data_type() {
            DataType::Timestamp(..) => (!a.is_null(i)).then(|| {
                let ns = a.as_primitive::<TimestampNanosecondType>().value(i);
                let ticks = ns.div_euclid(100) + super::time::TICKS_TO_EPOCH;
                xxh64(&ticks.to_le_bytes(), 0)
            }),
            _ => Some(xxh64(strings.get(i).unwrap_or("").as_bytes(), 0)),
        };
        // The hash is a long: its 64 bits read as signed.
        let h = h.map(|h| h as i64);
        let modulo = (!m.is_null(i)).then(|| m.value(i)).filter(|v| *v > 0);
        out.append_option(match modulo {
            Some(md) => h.map(|h| h.rem_euclid(md)),
            None => h,
        });
    }
    finish(Arc::new(out.finish()), args)
}

/// A GUID's 16 bytes in .NET's order (the first three groups little-endian), as Kusto's
/// `base64_encode_fromguid` writes them; `None` when the text is not a GUID.
fn guid_bytes(text: &str) -> Option<[u8; 16]> {
    let hex: String =
        text.trim().trim_matches(|c| c == '{' || c == '}').chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 {
        return None;
    }
    let mut b = [0u8; 16];
    for (i, byte) in b.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    b[0..4].reverse();
    b[4..6].reverse();
    b[6..8].reverse();
    Some(b)
}

/// `base64_encode_fromguid(guid)`: null when the value is not a GUID.
pub fn base64_encode_fromguid(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    map_strings(args, rows, |s, _| guid_bytes(s).map(|b| STANDARD.encode(b)))
}

/// `base64_decode_toguid(text)`: the GUID of 16 base64-decoded bytes; null otherwise.
pub fn base64_decode_toguid(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    map_strings(args, rows, |s, _| {
        let mut b: [u8; 16] = STANDARD.decode(s.trim()).ok()?.try_into().ok()?;
        b[0..4].reverse();
        b[4..6].reverse();
        b[6..8].reverse();
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        Some(format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]))
    })
}

/// `kql_digest(value, algorithm)`: the lowercase hex digest of the text's UTF-8 bytes (a
/// datetime's text is `yyyy-MM-ddTHH:mm:ss.fffffffZ`); `algorithm` is the constant `sha256`,
/// `sha1` or `md5`.
pub fn digest(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let name = args.get(1).and_then(super::scalar_str);
    let algorithm = match name {
        Some("sha1") => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        _ => &ring::digest::SHA256,
    };
    let n = rows_for(&args[..1], rows);
    let a = arg_array(&args[0], n)?;
    let strings = StrCol::new(&a);
    let mut out = StringBuilder::with_capacity(n, n * algorithm.output_len() * 2);
    let mut hex = String::with_capacity(algorithm.output_len() * 2);
    let mut time = String::new();
    for i in 0..n {
        hex.clear();
        let text = match a.data_type() {
            arrow::datatypes::DataType::Timestamp(..) => {
                if a.is_null(i) {
                    out.append_null();
                    continue;
                }
                let ns = a.as_primitive::<arrow::datatypes::TimestampNanosecondType>().value(i);
                time.clear();
                let t = chrono::DateTime::from_timestamp_nanos(ns);
                // Seven fractional digits (ticks); chrono's `%.Nf` has no 7. Writing to a String
                // cannot fail.
                let ticks = ns.rem_euclid(1_000_000_000) / 100;
                let _ = write!(time, "{}.{ticks:07}Z", t.format("%Y-%m-%dT%H:%M:%S"));
                time.as_str()
            }
            _ => strings.get(i).unwrap_or(""),
        };
        // Each digest kept where it is made, read in place (no copy per row).
        let (md5_sum, ring_sum);
        let sum: &[u8] = if name == Some("md5") {
            use md5::Digest as _;
            md5_sum = md5::Md5::digest(text.as_bytes());
            md5_sum.as_slice()
        } else {
            ring_sum = ring::digest::digest(algorithm, text.as_bytes());
            ring_sum.as_ref()
        };
        for b in sum {
            // Writing to a String cannot fail.
            let _ = write!(hex, "{b:02x}");
        }
        out.append_value(&hex);
    }
    finish(Arc::new(out.finish()), &args[..1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_url_follows_kustos_documented_example() {
        let got = parse_url_text("scheme://username:password@host:1234/this/is/a/path?k1=v1&k2=v2#fragment");
        let v: Value = serde_json::from_str(&got).expect("valid JSON");
        assert_eq!(v["Scheme"], "scheme");
        assert_eq!(v["Host"], "host");
        assert_eq!(v["Port"], "1234");
        assert_eq!(v["Path"], "/this/is/a/path");
        assert_eq!(v["Username"], "username");
        assert_eq!(v["Password"], "password");
        assert_eq!(v["Query Parameters"]["k1"], "v1");
        assert_eq!(v["Query Parameters"]["k2"], "v2");
        assert_eq!(v["Fragment"], "fragment");
        // Kusto's order of the parts is kept in the text.
        assert!(got.starts_with("{\"Scheme\":\"scheme\",\"Host\":\"host\",\"Port\":\"1234\""), "{got}");
    }

    #[test]
    fn parse_path_follows_kustos_documented_examples() {
        let part = |path: &str, name: &str| -> String {
            let v: Value = serde_json::from_str(&parse_path_text(path)).expect("JSON");
            v[name].as_str().unwrap_or("?").to_owned()
        };
        let cases: [(&str, [&str; 7]); 5] = [
            (r"C:\temp\file.txt", ["", "C:", r"C:\temp", "temp", "file.txt", "txt", ""]),
            (r"temp\file.txt", ["", "", "temp", "temp", "file.txt", "txt", ""]),
            (
                "file://C:/temp/file.txt:some.exe",
                ["file", "C:", "C:/temp", "temp", "file.txt", "txt", "some.exe"],
            ),
            (
                r"\\shared\users\temp\file.txt.gz",
                ["", "", r"\\shared\users\temp", "temp", "file.txt.gz", "gz", ""],
            ),
            ("/usr/lib/temp/file.txt", ["", "", "/usr/lib/temp", "temp", "file.txt", "txt", ""]),
        ];
        let names = [
            "Scheme",
            "RootPath",
            "DirectoryPath",
            "DirectoryName",
            "Filename",
            "Extension",
            "AlternateDataStreamName",
        ];
        for (path, want) in cases {
            for (name, w) in names.iter().zip(want) {
                assert_eq!(part(path, name), w, "{path}: {name}");
            }
        }
    }

    #[test]
    fn parse_url_of_a_relative_uri_is_all_empty() {
        let v: Value = serde_json::from_str(&parse_url_text("/api/v1/pods?limit=500")).expect("JSON");
        assert_eq!(v["Path"], "");
        assert_eq!(v["Query Parameters"], serde_json::json!({}));
    }

    #[test]
    fn query_values_are_decoded_and_repeated_keys_joined() {
        let v: Value = serde_json::from_str(&parse_urlquery_text(
            "?labelSelector=app%3Dweb&command=sh&command=-c&q=a+b",
        ))
        .expect("JSON");
        let q = &v["Query Parameters"];
        assert_eq!(q["labelSelector"], "app=web");
        assert_eq!(q["command"], "sh,-c");
        assert_eq!(q["q"], "a b");
    }

    #[test]
    fn digests_match_the_published_test_vectors() {
        let args = [
            ColumnarValue::Scalar(datafusion::common::ScalarValue::Utf8(Some("abc".into()))),
            ColumnarValue::Scalar(datafusion::common::ScalarValue::Utf8(Some("sha256".into()))),
        ];
        let ColumnarValue::Scalar(v) = digest(&args, 1).expect("digest") else { panic!("not a scalar") };
        // FIPS 180-2, appendix B.1.
        assert_eq!(v.to_string(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
