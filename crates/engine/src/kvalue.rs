//! Kusto's text forms of datetimes and timespans, and parsing them back.
//!
//! `tostring()` and every output format use these, so a value prints the same everywhere:
//! datetimes as `2024-01-01T10:00:00Z` (seven fractional digits when there is a fraction,
//! as Kusto prints them), timespans as `[-][d.]hh:mm:ss[.fffffff]`. A datetime inside a
//! `dynamic` value (`make_list(t)`, `pack_array(t)`, make-series' axis) always has the seven
//! digits, as Kusto serializes it: `2017-01-01T00:00:00.0000000Z`. Values are held in
//! nanoseconds but shown to Kusto's 100 ns tick.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// Nanoseconds in one second.
const NANOS_PER_SEC: i64 = 1_000_000_000;

/// Nanoseconds in one tick, Kusto's resolution for datetimes and timespans.
const NANOS_PER_TICK: u64 = 100;

/// Formats nanoseconds since the epoch as Kusto prints a datetime: to its 100 ns tick
/// (Kusto keeps no finer part), so at most seven fractional digits.
pub fn format_datetime(nanos: i64) -> String {
    let dt = Utc.timestamp_nanos(nanos);
    // The tick the instant falls in (earlier instants first, before 1970 too).
    let ticks = nanos.rem_euclid(NANOS_PER_SEC) as u64 / NANOS_PER_TICK;
    if ticks == 0 {
        dt.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        format!("{}.{:07}Z", dt.format("%Y-%m-%dT%H:%M:%S"), ticks)
    }
}

/// Formats nanoseconds since the epoch as Kusto writes a datetime inside a `dynamic` value:
/// always seven fractional digits (`2017-01-01T00:00:00.0000000Z`, the make-series page's
/// example output).
pub fn format_datetime_in_dynamic(nanos: i64) -> String {
    let dt = Utc.timestamp_nanos(nanos);
    let ticks = nanos.rem_euclid(NANOS_PER_SEC) as u64 / NANOS_PER_TICK;
    format!("{}.{:07}Z", dt.format("%Y-%m-%dT%H:%M:%S"), ticks)
}

/// Formats a duration in nanoseconds as Kusto prints a timespan: in whole 100 ns ticks
/// (the part below a tick is dropped, towards zero, as Kusto's integer ticks are), so at
/// most seven fractional digits: `1d / 7` is `03:25:42.8571428`.
pub fn format_timespan(nanos: i64) -> String {
    let neg = nanos < 0;
    let n = nanos.unsigned_abs();
    let secs = n / 1_000_000_000;
    let ticks = (n % 1_000_000_000) / NANOS_PER_TICK;
    let days = secs / 86_400;
    let h = (secs / 3600) % 24;
    let m = (secs / 60) % 60;
    let s = secs % 60;
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if days > 0 {
        out.push_str(&format!("{days}."));
    }
    out.push_str(&format!("{h:02}:{m:02}:{s:02}"));
    if ticks != 0 {
        out.push_str(&format!(".{ticks:07}"));
    }
    out
}

/// Formats a real as Kusto does: no trailing `.0` on whole numbers.
pub fn format_real(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity".to_owned() } else { "-Infinity".to_owned() }
    } else {
        format!("{v}")
    }
}

/// Parses the datetime forms Kusto accepts: ISO 8601 / RFC 3339 with 0 to 9 fractional digits,
/// with or without `T`, `Z` or an offset, a date alone, month first (`02/17/2016 08:40:00`, as
/// .NET's invariant culture reads it), and RFC 822 (`Sat, 8 Nov 2014 15:05:02 GMT`).
/// Returns nanoseconds since the epoch.
pub fn parse_datetime(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return dt.with_timezone(&Utc).timestamp_nanos_opt();
    }
    let (body, offset_secs) = split_offset(s);
    let body = body.trim_end_matches('Z').trim_end_matches('z');
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%Y/%m/%d %H:%M:%S%.f",
        // Month first, as .NET's invariant culture (Kusto's) reads `02/17/2016 08:40:00`:
        // Kusto's own parse example relies on it (review s44).
        "%m/%d/%Y %H:%M:%S%.f",
        "%m/%d/%Y %H:%M",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(body, fmt) {
            return dt.and_utc().timestamp_nanos_opt().map(|n| n - offset_secs * NANOS_PER_SEC);
        }
    }
    for fmt in ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%m/%d/%Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(body, fmt) {
            return d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_nanos_opt();
        }
    }
    if let Ok(dt) = DateTime::parse_from_rfc2822(s) {
        return dt.with_timezone(&Utc).timestamp_nanos_opt();
    }
    None
}

/// Splits a trailing `+hh:mm` / `-hh:mm` offset (after a time) from a datetime string.
fn split_offset(s: &str) -> (&str, i64) {
    if let Some(t) = s.find(['T', ' ']) {
        let tail = &s[t..];
        if let Some(p) = tail.rfind(['+', '-']) {
            let off = &tail[p + 1..];
            let parts: Vec<&str> = off.split(':').collect();
            if parts.len() == 2 && parts.iter().all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()))
            {
                let h: i64 = parts[0].parse().unwrap_or(0);
                let m: i64 = parts[1].parse().unwrap_or(0);
                // An offset is at most 23:59 (RFC 3339); `+99:00` is no offset, and left on
                // the text it makes the parse fail instead of moving the time by four days.
                if h > 23 || m > 59 {
                    return (s, 0);
                }
                let sign = if tail.as_bytes()[p] == b'-' { -1 } else { 1 };
                return (&s[..t + p], sign * (h * 3600 + m * 60));
            }
        }
    }
    (s, 0)
}

/// Parses a timespan literal body: `5m`, `1h`, `100ms`, `1.5d`, `10s`, `2tick`, `30microseconds`.
/// Returns nanoseconds.
pub fn parse_timespan_literal(s: &str) -> Option<i64> {
    let s = s.trim();
    let split = s.find(|c: char| c.is_ascii_alphabetic())?;
    let (num, unit) = s.split_at(split);
    let value: f64 = num.parse().ok()?;
    let unit_nanos: f64 = match unit.to_ascii_lowercase().as_str() {
        "d" | "day" | "days" => 86_400e9,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3_600e9,
        "m" | "min" | "minute" | "minutes" => 60e9,
        "s" | "sec" | "second" | "seconds" => 1e9,
        "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1e6,
        "microsecond" | "microseconds" => 1e3,
        "tick" | "ticks" => 100.0,
        "nanosecond" | "nanoseconds" => 1.0,
        _ => return None,
    };
    let n = value * unit_nanos;
    (n.is_finite() && n.abs() < 9.2e18).then_some(n.round() as i64)
}

/// Parses a timespan as `totimespan()` does: `[-][d.]hh:mm[:ss[.fffffff]]` or a literal (`5m`).
pub fn parse_timespan(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(n) = parse_timespan_literal(s) {
        return Some(n);
    }
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let parts: Vec<&str> = body.split(':').collect();
    if parts.len() < 2 || parts.len() > 3 {
        return None;
    }
    let (days, hours) = match parts[0].split_once('.') {
        Some((d, h)) => (d.parse::<i64>().ok()?, h.parse::<i64>().ok()?),
        None => (0, parts[0].parse::<i64>().ok()?),
    };
    let minutes: i64 = parts[1].parse().ok()?;
    let (secs, frac_nanos) = match parts.get(2) {
        None => (0, 0),
        Some(sec) => match sec.split_once('.') {
            Some((w, f)) => {
                let digits: String = f.chars().take(9).collect();
                let scale = 10i64.pow(9 - digits.len() as u32);
                (w.parse::<i64>().ok()?, digits.parse::<i64>().ok()? * scale)
            }
            None => (sec.parse::<i64>().ok()?, 0),
        },
    };
    let total = ((days * 24 + hours) * 60 + minutes) * 60 + secs;
    let n = total.checked_mul(NANOS_PER_SEC)?.checked_add(frac_nanos)?;
    Some(if neg { -n } else { n })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// QA, session 40: `--now 2017-09-11T20:00:00+99:00` was read as 2017-09-07T17:00Z.
    #[test]
    fn an_offset_beyond_23_59_is_refused_not_applied() {
        assert_eq!(parse_datetime("2017-09-11T20:00:00+99:00"), None);
        assert_eq!(parse_datetime("2017-09-11T20:00:00+05:60"), None);
        let utc = parse_datetime("2017-09-11T20:00:00Z").expect("utc");
        assert_eq!(parse_datetime("2017-09-11T22:30:00+02:30"), Some(utc));
        assert_eq!(parse_datetime("2017-09-11T00:01:00-19:59"), Some(utc));
    }

    #[test]
    fn datetimes_print_as_kusto_does() {
        let n = parse_datetime("2024-01-01T10:00:00Z").expect("parses");
        assert_eq!(format_datetime(n), "2024-01-01T10:00:00Z");
        let n = parse_datetime("2024-01-01T10:00:00.1234567Z").expect("parses");
        assert_eq!(format_datetime(n), "2024-01-01T10:00:00.1234567Z");
        let n = parse_datetime("2024-01-01T10:00:00.5Z").expect("parses");
        assert_eq!(format_datetime(n), "2024-01-01T10:00:00.5000000Z");
    }

    /// Review 52 item 9: inside a dynamic value a datetime keeps its seven zero digits.
    #[test]
    fn datetimes_in_dynamic_values_have_seven_fraction_digits() {
        let n = parse_datetime("2017-01-01T00:00:00Z").expect("parses");
        assert_eq!(format_datetime_in_dynamic(n), "2017-01-01T00:00:00.0000000Z");
        let n = parse_datetime("2017-01-01T00:00:00.1234567Z").expect("parses");
        assert_eq!(format_datetime_in_dynamic(n), "2017-01-01T00:00:00.1234567Z");
        let n = parse_datetime("1969-12-31T23:59:59.9Z").expect("parses");
        assert_eq!(format_datetime_in_dynamic(n), "1969-12-31T23:59:59.9000000Z");
    }

    #[test]
    fn datetime_forms_parse() {
        let base = parse_datetime("2023-02-23T00:00:00Z").expect("parses");
        assert_eq!(parse_datetime("2023-02-23"), Some(base));
        assert_eq!(parse_datetime("2023-02-23 00:00"), Some(base));
        assert_eq!(parse_datetime("2023-02-23T02:00:00+02:00"), Some(base));
        assert_eq!(parse_datetime("2023-02-23T01:16:12.374Z"), Some(base + 4_572_374_000_000));
        assert_eq!(parse_datetime("not a date"), None);
    }

    #[test]
    fn timespans_print_and_parse() {
        assert_eq!(format_timespan(3_600 * NANOS_PER_SEC), "01:00:00");
        assert_eq!(format_timespan(100_000_000), "00:00:00.1000000");
        assert_eq!(format_timespan(-(86_400 + 61) * NANOS_PER_SEC), "-1.00:01:01");
        assert_eq!(parse_timespan("1.00:01:01"), Some((86_400 + 61) * NANOS_PER_SEC));
        assert_eq!(parse_timespan("00:00:00.5"), Some(500_000_000));
        assert_eq!(parse_timespan_literal("5m"), Some(300 * NANOS_PER_SEC));
        assert_eq!(parse_timespan_literal("100ms"), Some(100_000_000));
        assert_eq!(parse_timespan_literal("1.5h"), Some(5_400 * NANOS_PER_SEC));
        assert_eq!(parse_timespan_literal("5x"), None);
    }
}
