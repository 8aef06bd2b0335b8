//! A fast, lenient parser for the timestamps audit logs carry.
//!
//! Accepted: `YYYY-MM-DD` then `T`, `t` or a space, `HH:MM:SS`, 0 to 9 fractional digits
//! (more are truncated), then `Z`, `z`, `±HH:MM`, `±HHMM` or nothing (read as UTC: Panther
//! and some CSV exports drop the zone). Azure writes 7 fractional digits, the apiserver 6.
//!
//! Also accepted, as UTC, by [`parse_nanos_or_display`] alone: the Azure portal's display form
//! `M/D/YYYY, h:mm:ss[.fff] AM`, which its CSV export writes in columns named like
//! `TimeGenerated [UTC]`. Only the US order with AM/PM is read; a day-first date cannot be told
//! apart from it when both numbers are 12 or less, so the CSV reader reads none of a file's
//! display dates once a row proves the file day-first (`read::text`, `DisplayDates`). No other
//! reader judges the order, so every other field refuses the form (a day-first date was read
//! month-first from JSON: ingest review 50, item 3).

/// The first and last whole seconds a stored timestamp holds (nanoseconds since 1970 in 64
/// bits): 1677-09-21T00:12:44Z and 2262-04-11T23:47:16Z, seconds since 1970. A time outside
/// them is stored null.
pub const HELD_SECONDS: (i64, i64) = (-9_223_372_036, 9_223_372_036);

/// [`HELD_SECONDS`] as a user types them.
pub fn held_times() -> (String, String) {
    let shown = |secs: i64| {
        chrono::DateTime::from_timestamp(secs, 0)
            .map_or_else(|| format!("{secs} s since 1970"), |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
    };
    (shown(HELD_SECONDS.0), shown(HELD_SECONDS.1))
}

/// Why a timestamp string could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadTimestamp;

/// Parses `s` into nanoseconds since the Unix epoch, UTC.
///
/// `Ok(None)` means a valid date outside Arrow's nanosecond range (years 1677–2262), stored
/// as null like the reference conversion does.
pub fn parse_nanos(s: &str) -> Result<Option<i64>, BadTimestamp> {
    let b = s.trim().as_bytes();
    if b.len() < 19 || b[4] != b'-' {
        return Err(BadTimestamp);
    }
    let year = digits(b, 0, 4)? as i64;
    expect(b, 4, b'-')?;
    let month = digits(b, 5, 2)?;
    expect(b, 7, b'-')?;
    let day = digits(b, 8, 2)?;
    if !matches!(b[10], b'T' | b't' | b' ') {
        return Err(BadTimestamp);
    }
    let hour = digits(b, 11, 2)?;
    expect(b, 13, b':')?;
    let minute = digits(b, 14, 2)?;
    expect(b, 16, b':')?;
    let second = digits(b, 17, 2)?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(BadTimestamp);
    }
    // A leap second (`23:59:60`, which RFC 3339 allows) is the next second's start, as chrono
    // reads it for the reference conversion: the whole record was skipped for it (ingest
    // review s38, item 9).
    if hour > 23 || minute > 59 || second > 60 {
        return Err(BadTimestamp);
    }
    let mut i = 19;
    let mut nanos: i64 = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let start = i;
        let mut scale = 100_000_000i64;
        while i < b.len() && b[i].is_ascii_digit() {
            if scale > 0 {
                nanos += i64::from(b[i] - b'0') * scale;
                scale /= 10;
            }
            i += 1;
        }
        if i == start {
            return Err(BadTimestamp);
        }
    }
    let offset_seconds: i64 = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') => {
            i += 1;
            0
        }
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(b, i + 1, 2)? as i64;
            let (om, used) = if b.get(i + 3) == Some(&b':') {
                (digits(b, i + 4, 2)? as i64, 6)
            } else {
                (digits(b, i + 3, 2)? as i64, 5)
            };
            if oh > 23 || om > 59 {
                return Err(BadTimestamp);
            }
            i += used;
            let off = oh * 3600 + om * 60;
            if sign == b'-' { -off } else { off }
        }
        Some(_) => return Err(BadTimestamp),
    };
    if i != b.len() {
        return Err(BadTimestamp);
    }
    let days = days_from_civil(year, month, day);
    let secs =
        days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second) - offset_seconds;
    Ok(secs.checked_mul(1_000_000_000).and_then(|n| n.checked_add(nanos)))
}

/// [`parse_nanos`], or the Azure portal's display form (`M/D/YYYY, h:mm:ss[.fff] AM`), read
/// month-first: for the time columns of a CSV export only, whose reader judges the order.
pub fn parse_nanos_or_display(s: &str) -> Result<Option<i64>, BadTimestamp> {
    parse_nanos(s).or_else(|_| parse_portal(s.trim().as_bytes()))
}

/// Why the timestamp `value` of `field` is refused, in words: a display date is named as one.
pub(crate) fn unreadable(field: &str, value: &str) -> String {
    let shown: String = value.chars().take(60).collect();
    if parse_portal(value.trim().as_bytes()).is_ok() {
        format!(
            "field `{field}`: display date {shown:?} is read only in a time column of the Azure portal's CSV \
             export (whether its month or its day comes first cannot be told here): give ISO 8601 times"
        )
    } else {
        format!("field `{field}`: unreadable timestamp {shown:?}")
    }
}

/// [`parse_nanos`] remembering the date, hour and minute of the last timestamp it read:
/// consecutive audit timestamps share them (both of an event's, and the next event's), so a
/// timestamp of the usual shape, `YYYY-MM-DDTHH:MM:SS[.fff…]Z`, whose first 17 bytes are the
/// last one's only has its seconds and fraction read. Anything else is read by
/// [`parse_nanos`]; the answer is the same either way.
#[derive(Debug, Default, Clone)]
pub struct MinuteCache {
    /// `YYYY-MM-DDTHH:MM:` of the last timestamp of the usual shape.
    key: [u8; 17],
    /// That minute's start, in nanoseconds since the epoch (`None`: nothing remembered).
    start: Option<i64>,
}

impl MinuteCache {
    /// As [`parse_nanos`].
    pub fn parse(&mut self, s: &str) -> Result<Option<i64>, BadTimestamp> {
        let b = s.as_bytes();
        let tail = if b.len() > 17 { seconds_z(&b[17..]) } else { None };
        if let (Some(start), Some(t)) = (self.start, tail)
            && b[..17] == self.key
        {
            return Ok(start.checked_add(t));
        }
        let parsed = parse_nanos(s)?;
        // The text had the usual shape (whole, a `Z`, no blanks around it): remember its minute.
        if let (Some(n), Some(t)) = (parsed, tail)
            && b[0].is_ascii_digit()
        {
            self.key.copy_from_slice(&b[..17]);
            self.start = n.checked_sub(t);
        }
        Ok(parsed)
    }
}

/// Powers of ten, `TENS[k]` = 10^k, for `k` up to 9.
const TENS: [i64; 10] =
    [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000];

/// `SS[.fff…]Z` (at least one fractional digit after a dot; digits past the ninth ignored, as
/// [`parse_nanos`] does): its nanoseconds into the minute, or `None` for any other text.
fn seconds_z(t: &[u8]) -> Option<i64> {
    let [s1, s2, ..] = *t else { return None };
    let rest = &t[2..];
    if !s1.is_ascii_digit() || !s2.is_ascii_digit() {
        return None;
    }
    let seconds = i64::from(s1 - b'0') * 10 + i64::from(s2 - b'0');
    if seconds > 59 {
        return None;
    }
    let mut nanos = 0i64;
    let mut rest = rest;
    if let Some((b'.', digits)) = rest.split_first() {
        // One pass: the first nine digits make the nanoseconds, scaled once at the end.
        let mut n = 0;
        while let Some(d) = digits.get(n).filter(|d| d.is_ascii_digit()) {
            if n < 9 {
                nanos = nanos * 10 + i64::from(d - b'0');
            }
            n += 1;
        }
        if n == 0 {
            return None;
        }
        nanos *= TENS[9 - n.min(9)];
        rest = &digits[n..];
    }
    (rest == b"Z").then_some(seconds * 1_000_000_000 + nanos)
}

/// `M/D/YYYY, h:mm:ss[.fff] AM|PM` (comma optional), UTC.
fn parse_portal(b: &[u8]) -> Result<Option<i64>, BadTimestamp> {
    let mut i = 0;
    let month = var_digits(b, &mut i, 1, 2)?;
    expect(b, i, b'/')?;
    i += 1;
    let day = var_digits(b, &mut i, 1, 2)?;
    expect(b, i, b'/')?;
    i += 1;
    let year = i64::from(var_digits(b, &mut i, 4, 4)?);
    if b.get(i) == Some(&b',') {
        i += 1;
    }
    let spaces = i;
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    if i == spaces {
        return Err(BadTimestamp);
    }
    let hour12 = var_digits(b, &mut i, 1, 2)?;
    expect(b, i, b':')?;
    i += 1;
    let minute = var_digits(b, &mut i, 2, 2)?;
    expect(b, i, b':')?;
    i += 1;
    let second = var_digits(b, &mut i, 2, 2)?;
    let mut nanos: i64 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        let mut scale = 100_000_000i64;
        while i < b.len() && b[i].is_ascii_digit() {
            nanos += i64::from(b[i] - b'0') * scale;
            scale /= 10;
            i += 1;
        }
        if i == start || i - start > 9 {
            return Err(BadTimestamp);
        }
    }
    let spaces = i;
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    let pm = match b.get(i..) {
        Some(x) if i > spaces && x.eq_ignore_ascii_case(b"AM") => false,
        Some(x) if i > spaces && x.eq_ignore_ascii_case(b"PM") => true,
        _ => return Err(BadTimestamp),
    };
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(BadTimestamp);
    }
    if !(1..=12).contains(&hour12) || minute > 59 || second > 59 {
        return Err(BadTimestamp);
    }
    let hour = hour12 % 12 + if pm { 12 } else { 0 };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
    Ok(secs.checked_mul(1_000_000_000).and_then(|n| n.checked_add(nanos)))
}

/// Reads `min..=max` ASCII digits at `*i`, advancing it.
fn var_digits(b: &[u8], i: &mut usize, min: usize, max: usize) -> Result<u32, BadTimestamp> {
    let start = *i;
    let mut v = 0u32;
    while *i < b.len() && *i - start < max && b[*i].is_ascii_digit() {
        v = v * 10 + u32::from(b[*i] - b'0');
        *i += 1;
    }
    if *i - start < min || b.get(*i).is_some_and(u8::is_ascii_digit) {
        return Err(BadTimestamp);
    }
    Ok(v)
}

fn expect(b: &[u8], i: usize, c: u8) -> Result<(), BadTimestamp> {
    if b.get(i) == Some(&c) { Ok(()) } else { Err(BadTimestamp) }
}

fn digits(b: &[u8], start: usize, n: usize) -> Result<u32, BadTimestamp> {
    let mut v = 0u32;
    for k in 0..n {
        let c = *b.get(start + k).ok_or(BadTimestamp)?;
        if !c.is_ascii_digit() {
            return Err(BadTimestamp);
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Ok(v)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the civil-from-days inverse).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    #[test]
    fn the_held_times_are_the_last_whole_seconds_the_parser_stores() {
        let (first, last) = held_times();
        assert_eq!((first.as_str(), last.as_str()), ("1677-09-21T00:12:44Z", "2262-04-11T23:47:16Z"));
        assert_eq!(parse_nanos(&first), Ok(Some(HELD_SECONDS.0 * 1_000_000_000)));
        assert_eq!(parse_nanos(&last), Ok(Some(HELD_SECONDS.1 * 1_000_000_000)));
        assert_eq!(parse_nanos("2262-04-11T23:47:17Z"), Ok(None));
        assert_eq!(parse_nanos("1677-09-21T00:12:43Z"), Ok(None));
    }

    fn chrono_nanos(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).expect("valid rfc3339").timestamp_nanos_opt().expect("in range")
    }

    #[test]
    fn a_leap_second_reads_as_chrono_reads_it() {
        for s in ["2016-12-31T23:59:60Z", "2016-12-31T23:59:60.123456Z", "2016-12-31T23:59:60.5+01:00"] {
            assert_eq!(parse_nanos(s), Ok(Some(chrono_nanos(s))), "{s}");
            assert_eq!(MinuteCache::default().parse(s), Ok(Some(chrono_nanos(s))), "{s}");
        }
        assert_eq!(parse_nanos("2016-12-31T23:59:61Z"), Err(BadTimestamp));
    }

    #[test]
    fn agrees_with_chrono_on_every_fraction_length_and_offset() {
        for s in [
            "2024-01-01T10:00:00Z",
            "2024-01-01T10:00:00.1Z",
            "2024-01-01T10:00:00.12Z",
            "2024-01-01T10:00:00.123456Z",
            "2024-01-01T10:00:00.1234567Z",
            "2024-01-01T10:00:00.123456789Z",
            "2024-02-29T23:59:59.999999999+02:00",
            "1999-12-31T23:00:00-05:30",
            "1970-01-01T00:00:00Z",
            "1969-12-31T23:59:59.5Z",
            "2262-04-11T23:47:16Z",
        ] {
            assert_eq!(parse_nanos(s), Ok(Some(chrono_nanos(s))), "{s}");
        }
    }

    #[test]
    fn zone_less_and_space_separated_forms_read_as_utc() {
        assert_eq!(parse_nanos("2022-11-29 00:09:04.38"), Ok(Some(chrono_nanos("2022-11-29T00:09:04.38Z"))));
        assert_eq!(
            parse_nanos("2022-11-29T00:09:04+0100"),
            Ok(Some(chrono_nanos("2022-11-29T00:09:04+01:00")))
        );
    }

    #[test]
    fn more_than_nine_fraction_digits_are_truncated() {
        assert_eq!(parse_nanos("2024-01-01T00:00:00.1234567891Z"), Ok(Some(1_704_067_200_123_456_789)));
    }

    #[test]
    fn rejects_malformed_and_impossible_dates() {
        for s in [
            "",
            "garbage",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00Zjunk",
            "2024-01-01T00:00:00+25:00",
            "２０２４-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_nanos(s), Err(BadTimestamp), "{s}");
        }
    }

    #[test]
    fn azure_portal_display_form_reads_as_utc() {
        for (portal, iso) in [
            ("1/2/2024, 10:00:00.000 AM", "2024-01-02T10:00:00Z"),
            ("1/2/2024, 12:00:00.000 AM", "2024-01-02T00:00:00Z"),
            ("1/2/2024, 12:30:05.123 PM", "2024-01-02T12:30:05.123Z"),
            ("12/31/2023, 11:59:59.999 PM", "2023-12-31T23:59:59.999Z"),
            ("2/29/2024 1:02:03 pm", "2024-02-29T13:02:03Z"),
            ("11/29/2022, 9:09:04.3812345 AM", "2022-11-29T09:09:04.3812345Z"),
        ] {
            assert_eq!(parse_nanos_or_display(portal), Ok(Some(chrono_nanos(iso))), "{portal}");
            // Only a CSV export's time columns are read so (ingest review 50, item 3).
            assert_eq!(parse_nanos(portal), Err(BadTimestamp), "{portal}");
        }
        for bad in [
            "13/2/2024, 10:00:00.000 AM",
            "2/30/2024, 10:00:00 AM",
            "1/2/2024, 13:00:00 PM",
            "1/2/2024, 0:00:00 AM",
            "1/2/2024, 10:00:00",
            "1/2/24, 10:00:00 AM",
            "1/2/2024,10:00:00 AM",
            "1/2/2024, 10:00:00 AMX",
            "1/2/2024, 10:00:00.1234567890 AM",
            "01/002/2024, 10:00:00 AM",
        ] {
            assert_eq!(parse_nanos_or_display(bad), Err(BadTimestamp), "{bad}");
        }
    }

    #[test]
    fn out_of_nanosecond_range_is_null_not_an_error() {
        assert_eq!(parse_nanos("1600-01-01T00:00:00Z"), Ok(None));
        assert_eq!(parse_nanos("9999-12-31T23:59:59Z"), Ok(None));
    }

    #[test]
    fn the_minute_cache_reads_every_text_as_parse_nanos_does() {
        // In this order, one cache: a minute remembered, then texts that share its first 17
        // bytes but not its shape, or its shape but not its minute, and malformed ones.
        let texts = [
            "2024-03-01T10:00:00.234253Z",
            "2024-03-01T10:00:00.234254Z",
            "2024-03-01T10:00:59Z",
            "2024-03-01T10:00:07.1234567Z",
            "2024-03-01T10:00:07.123456789123Z",
            "2024-03-01T10:00:60Z",
            "2024-03-01T10:00:5Z",
            "2024-03-01T10:00:07.Z",
            "2024-03-01T10:00:07.5+02:00",
            "2024-03-01T10:00:07.5z",
            "2024-03-01T10:00:07.5Z ",
            " 2024-03-01T10:00:07.5Z",
            "2024-03-01T10:00:07",
            "2024-03-01T10:00:ab.5Z",
            "2024-03-01T10:01:00.000001Z",
            "2024-03-01T10:00:00.000001Z",
            "2024-03-01 10:00:00.5Z",
            "2024-03-01 10:00:00.6Z",
            "2024-02-29T23:59:59.999999999Z",
            "2023-02-29T23:59:59Z",
            "9999-12-31T23:59:59Z",
            "9999-12-31T23:59:58Z",
            "1677-09-21T00:12:43.145224192Z",
            "3/1/2024, 10:00:00 AM",
            "2024-03-01T10:00:00.234253Z",
            "",
            "Z",
        ];
        let mut cache = MinuteCache::default();
        for round in 0..2 {
            for t in texts {
                assert_eq!(cache.parse(t), parse_nanos(t), "{t:?}, round {round}");
            }
        }
        // A text of the usual shape after its minute was remembered is read from the cache.
        let mut cache = MinuteCache::default();
        assert!(cache.parse("2024-03-01T10:00:00Z").is_ok());
        assert_eq!(cache.start, Some(chrono_nanos("2024-03-01T10:00:00Z")));
        assert_eq!(cache.parse("2024-03-01T10:00:42.5Z"), Ok(Some(chrono_nanos("2024-03-01T10:00:42.5Z"))));
    }

    #[test]
    fn the_minute_cache_agrees_with_parse_nanos_on_mutated_texts() {
        // 50,000 texts, each the last one with a byte changed, dropped or added (from a small
        // alphabet of what timestamps are made of), read by one cache and by parse_nanos.
        let alphabet = b"0123456789-:.TZz +";
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize % n.max(1)
        };
        let seeds = ["2024-03-01T10:00:00.234253Z", "2025-12-31T23:59:59.9999999Z", "2024-02-29T00:00:00Z"];
        let mut cache = MinuteCache::default();
        let mut text = seeds[0].as_bytes().to_vec();
        let mut cached = 0;
        for i in 0..50_000 {
            if i % 500 == 0 {
                text = seeds[next(seeds.len())].as_bytes().to_vec();
            }
            let at = next(text.len() + 1);
            match next(4) {
                0 if at < text.len() => {
                    text.remove(at);
                }
                1 => text.insert(at, alphabet[next(alphabet.len())]),
                _ if at < text.len() => text[at] = alphabet[next(alphabet.len())],
                _ => {}
            }
            let Ok(t) = std::str::from_utf8(&text) else { continue };
            let before = cache.start;
            assert_eq!(cache.parse(t), parse_nanos(t), "{t:?}");
            cached += usize::from(before.is_some() && cache.start == before);
        }
        assert!(cached > 1000, "the cache was used ({cached} times)");
    }
}
