//! Datetime and timespan literal text: parsing to nanoseconds and formatting back.
//!
//! Written here rather than with a date library because the front end needs only ISO 8601
//! dates and KQL's timespan notations, and the crate must build in seconds.

/// Nanoseconds per second.
const NANOS_PER_SEC: i128 = 1_000_000_000;

/// The nanoseconds one unit of a timespan suffix stands for (`d`, `h`, `m`, `s`, `ms`,
/// `microsecond`, `tick`, and their long spellings), or `None` for an unknown unit.
pub fn timespan_unit_nanos(unit: &str) -> Option<i128> {
    Some(match unit {
        "d" | "day" | "days" => 86_400 * NANOS_PER_SEC,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3_600 * NANOS_PER_SEC,
        "m" | "min" | "minute" | "minutes" => 60 * NANOS_PER_SEC,
        "s" | "sec" | "second" | "seconds" => NANOS_PER_SEC,
        "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1_000_000,
        "microsecond" | "microseconds" => 1_000,
        "tick" | "ticks" => 100,
        "nanosecond" | "nanoseconds" => 1,
        _ => return None,
    })
}

/// `digits[.digits] * unit` exactly, in nanoseconds; `None` on overflow or bad digits.
pub fn scale_decimal(number: &str, unit_nanos: i128) -> Option<i64> {
    let (int_part, frac_part) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit()) || !frac_part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int_value: i128 = if int_part.is_empty() { 0 } else { int_part.parse().ok()? };
    let mut total = int_value.checked_mul(unit_nanos)?;
    // Digits beyond nanosecond precision cannot change the result; 30 keeps 10^n in range.
    let frac = &frac_part[..frac_part.len().min(30)];
    if !frac.is_empty() {
        let frac_value: i128 = frac.parse().ok()?;
        let scale = 10i128.checked_pow(u32::try_from(frac.len()).ok()?)?;
        total = total.checked_add(frac_value.checked_mul(unit_nanos)? / scale)?;
    }
    i64::try_from(total).ok()
}

/// The inside of `timespan(…)`/`time(…)`: `1.5h`, `2` (days), `15 seconds`,
/// `[d.]hh:mm[:ss[.fffffff]]`. Returns nanoseconds.
pub fn parse_timespan_text(text: &str) -> Option<i64> {
    let text = text.trim();
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, text),
    };
    let value = if body.contains(':') {
        parse_clock_timespan(body)?
    } else {
        let split = body.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(body.len());
        let (number, unit) = body.split_at(split);
        let unit = unit.trim();
        let unit_nanos = if unit.is_empty() { timespan_unit_nanos("d")? } else { timespan_unit_nanos(unit)? };
        scale_decimal(number, unit_nanos)?
    };
    if negative { value.checked_neg() } else { Some(value) }
}

/// `[d.]hh:mm[:ss[.fffffff]]`.
fn parse_clock_timespan(text: &str) -> Option<i64> {
    let mut parts = text.split(':');
    let first = parts.next()?;
    let minutes = parts.next()?;
    let seconds = parts.next().unwrap_or("0");
    if parts.next().is_some() {
        return None;
    }
    let (days, hours) = match first.split_once('.') {
        Some((d, h)) => (d, h),
        None => ("0", first),
    };
    let day_nanos = scale_decimal(days, 86_400 * NANOS_PER_SEC)?;
    let hour_nanos = scale_decimal(hours, 3_600 * NANOS_PER_SEC)?;
    let minute_nanos = scale_decimal(minutes, 60 * NANOS_PER_SEC)?;
    let second_nanos = scale_decimal(seconds, NANOS_PER_SEC)?;
    day_nanos.checked_add(hour_nanos)?.checked_add(minute_nanos)?.checked_add(second_nanos)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// A fixed-width run of ASCII digits at the start of `s`.
fn take_digits(s: &str, width: usize) -> Option<(u32, &str)> {
    let head = s.get(..width)?;
    if !head.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((head.parse().ok()?, &s[width..]))
}

/// An ISO 8601 datetime as KQL's `datetime(…)` accepts it: `2024-01-01`,
/// `2024-01-01T10:00`, `2024-01-01 10:00:00.123`, with an optional `Z` or `±hh:mm` offset
/// (no offset means UTC). Returns nanoseconds since the epoch.
pub fn parse_datetime(text: &str) -> Option<i64> {
    let s = text.trim();
    let year_len = s.find('-')?;
    if !(4..=5).contains(&year_len) {
        return None;
    }
    let (year, rest) = take_digits(s, year_len)?;
    let rest = rest.strip_prefix('-')?;
    let (month, rest) = take_digits(rest, 2)?;
    let rest = rest.strip_prefix('-')?;
    let (day, mut rest) = take_digits(rest, 2)?;
    let year = i64::from(year);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let mut nanos: i128 = 0;
    if let Some(time) = rest.strip_prefix(['T', ' ']) {
        let (hour, r) = take_digits(time, 2)?;
        let r = r.strip_prefix(':')?;
        let (minute, mut r) = take_digits(r, 2)?;
        let mut second = 0;
        if let Some(sec) = r.strip_prefix(':') {
            let (s2, r2) = take_digits(sec, 2)?;
            second = s2;
            r = r2;
            if let Some(frac) = r.strip_prefix('.') {
                let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
                if digits == 0 {
                    return None;
                }
                let kept = &frac[..digits.min(9)];
                let value: i128 = kept.parse().ok()?;
                nanos += value * 10i128.pow(9 - kept.len() as u32);
                r = &frac[digits..];
            }
        }
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        nanos += (i128::from(hour) * 3_600 + i128::from(minute) * 60 + i128::from(second)) * NANOS_PER_SEC;
        rest = r;
    }
    let rest = rest.trim();
    let offset_nanos: i128 = if rest.is_empty() || rest == "Z" || rest == "z" {
        0
    } else {
        let (sign, r) = match rest.as_bytes().first()? {
            b'+' => (1, &rest[1..]),
            b'-' => (-1, &rest[1..]),
            _ => return None,
        };
        let (oh, r) = take_digits(r, 2)?;
        let r = r.strip_prefix(':').unwrap_or(r);
        let (om, r) = take_digits(r, 2)?;
        if !r.is_empty() || oh > 23 || om > 59 {
            return None;
        }
        sign * (i128::from(oh) * 3_600 + i128::from(om) * 60) * NANOS_PER_SEC
    };
    let days = i128::from(days_from_civil(year, month, day));
    let total = days * 86_400 * NANOS_PER_SEC + nanos - offset_nanos;
    i64::try_from(total).ok()
}

/// `datetime` nanoseconds as ISO 8601 text, e.g. `2024-01-01T10:00:00.5Z`.
pub fn format_datetime(nanos: i64) -> String {
    let days = nanos.div_euclid(86_400 * 1_000_000_000);
    let in_day = nanos.rem_euclid(86_400 * 1_000_000_000);
    let (y, m, d) = civil_from_days(days);
    let secs = in_day / 1_000_000_000;
    let frac = in_day % 1_000_000_000;
    let mut out = format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", secs / 3600, (secs / 60) % 60, secs % 60);
    if frac != 0 {
        let digits = format!("{frac:09}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Timespan nanoseconds as a KQL literal: the largest unit that divides it exactly
/// (`1d`, `5m`, `100ms`, `3tick`); a non-multiple of 100 ns uses `timespan(…)` syntax.
pub fn format_timespan(nanos: i64) -> String {
    const UNITS: &[(&str, i64)] = &[
        ("d", 86_400_000_000_000),
        ("h", 3_600_000_000_000),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("microsecond", 1_000),
        ("tick", 100),
        ("nanosecond", 1),
    ];
    if nanos == 0 {
        return "0s".to_string();
    }
    let magnitude = nanos.unsigned_abs();
    let sign = if nanos < 0 { "-" } else { "" };
    for (unit, size) in UNITS {
        let size = size.unsigned_abs();
        if magnitude.is_multiple_of(size) {
            let count = magnitude / size;
            return if sign.is_empty() {
                format!("{count}{unit}")
            } else {
                format!("timespan(-{count}{unit})")
            };
        }
    }
    format!("timespan({sign}{magnitude}nanosecond)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_forms() {
        assert_eq!(parse_datetime("1970-01-01"), Some(0));
        assert_eq!(parse_datetime("2024-01-01"), Some(1_704_067_200_000_000_000));
        assert_eq!(parse_datetime("2023-02-23T01:16:12.374Z"), Some(1_677_114_972_374_000_000));
        assert_eq!(parse_datetime("2022-05-19T09:32:52Z"), Some(1_652_952_772_000_000_000));
        assert_eq!(parse_datetime("2024-01-01 01:00"), Some(1_704_067_200_000_000_000 + 3_600_000_000_000));
        assert_eq!(
            parse_datetime("2024-01-01T02:00:00+01:00"),
            Some(1_704_067_200_000_000_000 + 3_600_000_000_000)
        );
        assert_eq!(parse_datetime("2024-02-30"), None);
        assert_eq!(parse_datetime("2024-13-01"), None);
        assert_eq!(parse_datetime("yesterday"), None);
        assert_eq!(parse_datetime("2024-01-01T25:00"), None);
    }

    #[test]
    fn datetime_round_trips_through_text() {
        for text in [
            "2024-01-01T00:00:00Z",
            "1969-12-31T23:59:59.999Z",
            "2000-02-29T12:34:56.000000001Z",
            "1700-01-01T00:00:00Z",
        ] {
            let nanos = parse_datetime(text).expect(text);
            assert_eq!(format_datetime(nanos), text);
        }
    }

    #[test]
    fn timespan_text_forms() {
        assert_eq!(parse_timespan_text("1h"), Some(3_600_000_000_000));
        assert_eq!(parse_timespan_text("1.5h"), Some(5_400_000_000_000));
        assert_eq!(parse_timespan_text("2"), Some(2 * 86_400_000_000_000));
        assert_eq!(parse_timespan_text("15 seconds"), Some(15_000_000_000));
        assert_eq!(parse_timespan_text("00:10:00"), Some(600_000_000_000));
        assert_eq!(
            parse_timespan_text("1.02:03:04.5"),
            Some(((86_400 + 2 * 3_600 + 3 * 60 + 4) * 1_000_000_000) + 500_000_000)
        );
        assert_eq!(parse_timespan_text("-5m"), Some(-300_000_000_000));
        assert_eq!(parse_timespan_text("5 parsecs"), None);
        assert_eq!(parse_timespan_text("99999999999999999999d"), None);
    }

    #[test]
    fn timespan_formatting_picks_the_largest_exact_unit() {
        assert_eq!(format_timespan(300_000_000_000), "5m");
        assert_eq!(format_timespan(5_400_000_000_000), "90m");
        assert_eq!(format_timespan(100_000_000), "100ms");
        assert_eq!(format_timespan(-3_600_000_000_000), "timespan(-1h)");
        assert_eq!(format_timespan(150), "150nanosecond");
        assert_eq!(format_timespan(0), "0s");
    }
}
