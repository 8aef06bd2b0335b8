//! Datetime functions with Kusto's semantics.
//!
//! `datetime_diff` counts unit boundaries crossed (weeks start on Sunday), as Kusto documents:
//! `datetime_diff('week', datetime(2017-10-29 00:00), datetime(2017-09-30 23:59))` is 5.
//! `bin` floors, aligned (as Kusto's ticks are) to 0001-01-01 for datetimes.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, DurationNanosecondArray, Int64Array, Int64Builder, StringBuilder,
    TimestampNanosecondArray,
};
use arrow::datatypes::{DataType, Float64Type, Int32Type, Int64Type, TimeUnit};
use chrono::{Datelike, NaiveDate, TimeZone, Timelike, Utc};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::ColumnarValue;

use super::{arg_array, finish, rows_for, scalar_i64, scalar_str, str_at};
use crate::kvalue;

const NS_PER_DAY: i64 = 86_400_000_000_000;
/// Ticks (100 ns) from 0001-01-01, Kusto's datetime origin, to 1970-01-01.
pub(super) const TICKS_TO_EPOCH: i64 = 621_355_968_000_000_000;

/// Nanoseconds from 1970-01-01 back to 0001-01-01 (Kusto's tick origin), as i128.
const TICK_ORIGIN_NS: i128 = -(TICKS_TO_EPOCH as i128) * 100;

/// A datetime (nanoseconds since 1970) as Kusto's number for it: its ticks since 0001-01-01,
/// what `tolong(datetime(2020-01-01))` gives (637134336000000000).
pub fn datetime_ticks(ns: i64) -> i64 {
    ns.div_euclid(100) + TICKS_TO_EPOCH
}

/// The datetime (nanoseconds since 1970) of `ticks` since 0001-01-01, as `todatetime(long)`
/// reads a number; `None` past what nanoseconds since 1970 hold (before 1677 or after 2262).
pub fn ticks_datetime(ticks: i64) -> Option<i64> {
    ticks.checked_sub(TICKS_TO_EPOCH)?.checked_mul(100)
}

/// A datetime (or long, or null) argument as nanoseconds, without copying it: whole-column
/// functions read it as it is, the others one option at a time through [`timestamps`].
fn longs(v: &ColumnarValue, n: usize) -> Result<Int64Array> {
    let a = arg_array(v, n)?;
    Ok(match a.data_type() {
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            let t = a.as_primitive::<arrow::datatypes::TimestampNanosecondType>();
            Int64Array::new(t.values().clone(), t.nulls().cloned())
        }
        DataType::Int64 => a.as_primitive::<Int64Type>().clone(),
        DataType::Null => Int64Array::new_null(n),
        other => return exec_err!("expected a datetime, got {other}"),
    })
}

fn timestamps(v: &ColumnarValue, n: usize) -> Result<Vec<Option<i64>>> {
    Ok(longs(v, n)?.iter().collect())
}

fn ts_result(values: impl Iterator<Item = Option<i64>>, args: &[ColumnarValue]) -> Result<ColumnarValue> {
    let arr: TimestampNanosecondArray = values.collect::<TimestampNanosecondArray>().with_timezone("UTC");
    finish(Arc::new(arr), args)
}

fn civil(ns: i64) -> chrono::DateTime<Utc> {
    Utc.timestamp_nanos(ns)
}

/// Weeks since the epoch, each starting on Sunday (1970-01-01 was a Thursday).
fn week_index(ns: i64) -> i64 {
    (ns.div_euclid(NS_PER_DAY) + 4).div_euclid(7)
}

/// The number of `part` boundaries between `b` and `a` (a - b).
pub fn diff_parts(part: &str, a: i64, b: i64) -> Option<i64> {
    Some(period(part)?.diff(a, b))
}

/// A `datetime_diff` period, resolved once per call rather than once per row.
#[derive(Debug, Clone, Copy)]
enum Period {
    Year,
    Quarter,
    Month,
    Week,
    /// Boundaries of this many nanoseconds.
    Fixed(i64),
}

fn period(part: &str) -> Option<Period> {
    Some(match part.to_ascii_lowercase().as_str() {
        "year" => Period::Year,
        "quarter" => Period::Quarter,
        "month" => Period::Month,
        "week" => Period::Week,
        "day" => Period::Fixed(NS_PER_DAY),
        "hour" => Period::Fixed(3_600_000_000_000),
        "minute" => Period::Fixed(60_000_000_000),
        "second" => Period::Fixed(1_000_000_000),
        "millisecond" => Period::Fixed(1_000_000),
        "microsecond" => Period::Fixed(1_000),
        "nanosecond" => Period::Fixed(1),
        _ => return None,
    })
}

impl Period {
    /// The number of period boundaries between `b` and `a` (nanoseconds since the epoch).
    fn diff(self, a: i64, b: i64) -> i64 {
        match self {
            Period::Year => i64::from(civil(a).year() - civil(b).year()),
            Period::Quarter => {
                let q = |ns: i64| {
                    let d = civil(ns);
                    i64::from(d.year()) * 4 + i64::from(d.month0() / 3)
                };
                q(a) - q(b)
            }
            Period::Month => {
                let m = |ns: i64| {
                    let d = civil(ns);
                    i64::from(d.year()) * 12 + i64::from(d.month0())
                };
                m(a) - m(b)
            }
            Period::Week => week_index(a) - week_index(b),
            Period::Fixed(unit) => a.div_euclid(unit).wrapping_sub(b.div_euclid(unit)),
        }
    }
}

/// `datetime_diff(part, a, b)`.
pub fn datetime_diff(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let Some(part) = args.first().and_then(scalar_str) else {
        return exec_err!("datetime_diff() needs a constant period");
    };
    let Some(period) = period(part) else {
        return exec_err!("datetime_diff(): unknown period '{part}'");
    };
    let n = rows_for(args, rows);
    let (a, b) = (longs(&args[1], n)?, longs(&args[2], n)?);
    // A null row's value is left unread (its result is null whatever it holds).
    let out: Int64Array = match period {
        Period::Fixed(unit) => {
            arrow::compute::binary(&a, &b, |a, b| a.div_euclid(unit).wrapping_sub(b.div_euclid(unit)))?
        }
        period => arrow::compute::binary(&a, &b, |a, b| period.diff(a, b))?,
    };
    finish(Arc::new(out), args)
}

/// Floors `ns` to a multiple of `size` counted from 0001-01-01, as Kusto's `bin` does.
pub fn bin_ns(ns: i64, size: i64) -> Option<i64> {
    if size <= 0 {
        return None;
    }
    let rel = i128::from(ns) - TICK_ORIGIN_NS;
    let size = i128::from(size);
    let floored = rel.div_euclid(size) * size + TICK_ORIGIN_NS;
    i64::try_from(floored).ok()
}

/// [`bin_ns`] in 64-bit arithmetic for one `size` (positive): `shift` is `-origin mod size`,
/// from [`bin_shift`]. `ns` floors to `ns - r`, `r` being `(ns - origin) mod size`.
fn bin_ns_by(ns: i64, size: i64, shift: i64) -> Option<i64> {
    let r0 = ns.rem_euclid(size);
    let r = if r0 >= size - shift { r0 - (size - shift) } else { r0 + shift };
    ns.checked_sub(r)
}

/// The `shift` of [`bin_ns_by`] for `size` (positive).
fn bin_shift(size: i64) -> i64 {
    // In [0, size): fits an i64.
    (-TICK_ORIGIN_NS).rem_euclid(i128::from(size)) as i64
}

/// `bin(datetime, timespan)`: `kql_bin_datetime(ts, size_ns)`.
pub fn bin_datetime(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let n = rows_for(args, rows);
    let ts = longs(&args[0], n)?;
    if let Some(size) = scalar_i64(&args[1]) {
        // A size of zero or less bins nothing: every row is null, as `bin_ns` says.
        let shift = (size > 0).then(|| bin_shift(size));
        let out =
            ts.unary_opt::<_, arrow::datatypes::TimestampNanosecondType>(|t| bin_ns_by(t, size, shift?));
        return finish(Arc::new(out.with_timezone("UTC")), args);
    }
    let sizes = timestamps_or_durations(&args[1], n)?;
    ts_result(ts.iter().zip(sizes).map(|(t, s)| bin_ns(t?, s?)), args)
}

fn timestamps_or_durations(v: &ColumnarValue, n: usize) -> Result<Vec<Option<i64>>> {
    let a = arg_array(v, n)?;
    match a.data_type() {
        DataType::Duration(TimeUnit::Nanosecond) => {
            let d = a.as_any().downcast_ref::<DurationNanosecondArray>();
            Ok(match d {
                Some(d) => (0..n).map(|i| (!d.is_null(i)).then(|| d.value(i))).collect(),
                None => vec![None; n],
            })
        }
        _ => timestamps(v, n),
    }
}

/// `bin(number, size)` for longs and reals.
pub fn bin_number(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let n = rows_for(args, rows);
    let v = arg_array(&args[0], n)?;
    let s = arg_array(&args[1], n)?;
    let out: ArrayRef = match (v.data_type(), s.data_type()) {
        (DataType::Int64, DataType::Int64) => {
            let v = v.as_primitive::<Int64Type>();
            let s = s.as_primitive::<Int64Type>();
            Arc::new(
                (0..n)
                    .map(|i| {
                        if v.is_null(i) || s.is_null(i) || s.value(i) <= 0 {
                            None
                        } else {
                            Some(v.value(i).div_euclid(s.value(i)) * s.value(i))
                        }
                    })
                    .collect::<Int64Array>(),
            )
        }
        (DataType::Float64, DataType::Float64) => {
            let v = v.as_primitive::<Float64Type>();
            let s = s.as_primitive::<Float64Type>();
            Arc::new(
                (0..n)
                    .map(|i| {
                        if v.is_null(i) || s.is_null(i) || s.value(i) <= 0.0 {
                            None
                        } else {
                            Some((v.value(i) / s.value(i)).floor() * s.value(i))
                        }
                    })
                    .collect::<arrow::array::Float64Array>(),
            )
        }
        (a, b) => return exec_err!("bin() of {a} by {b} is not supported"),
    };
    finish(out, args)
}

/// `todatetime(x)`: a string parsed (null when it is not a datetime), a number read as ticks
/// since 0001-01-01 (the inverse of `tolong(datetime)`, null when out of range).
pub fn to_datetime(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let n = rows_for(args, rows);
    let a = arg_array(&args[0], n)?;
    match a.data_type() {
        DataType::Timestamp(..) => {
            let t = timestamps(&args[0], n)?;
            ts_result(t.into_iter(), args)
        }
        DataType::Int64 => {
            let t = timestamps(&args[0], n)?;
            ts_result(t.into_iter().map(|ticks| ticks.and_then(ticks_datetime)), args)
        }
        _ => ts_result((0..n).map(|i| str_at(&a, i).and_then(kvalue::parse_datetime)), args),
    }
}

/// `totimespan(string)`: null when the text is not a timespan.
pub fn to_timespan(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let n = rows_for(args, rows);
    let a = arg_array(&args[0], n)?;
    let out: DurationNanosecondArray = match a.data_type() {
        DataType::Int64 => {
            let v = a.as_primitive::<Int64Type>();
            (0..n).map(|i| (!v.is_null(i)).then(|| v.value(i) * 100)).collect()
        }
        DataType::Int32 => {
            let v = a.as_primitive::<Int32Type>();
            (0..n).map(|i| (!v.is_null(i)).then(|| i64::from(v.value(i)) * 100)).collect()
        }
        _ => (0..n).map(|i| str_at(&a, i).and_then(kvalue::parse_timespan)).collect(),
    };
    finish(Arc::new(out), args)
}

/// Formats one datetime with a Kusto format string (`yyyy-MM-dd HH:mm:ss.fff`, `tt`, …).
pub fn format_with(ns: i64, fmt: &str) -> String {
    let d = civil(ns);
    let frac = ns.rem_euclid(1_000_000_000).unsigned_abs();
    let mut out = String::new();
    for_each_run(fmt, |c, run| {
        let two = |v: u32| if run >= 2 { format!("{v:02}") } else { v.to_string() };
        let piece = match c {
            'y' if run >= 4 => format!("{:04}", d.year()),
            'y' => format!("{:02}", d.year().rem_euclid(100)),
            'M' => two(d.month()),
            'd' => two(d.day()),
            'H' => two(d.hour()),
            'h' => two(match d.hour() % 12 {
                0 => 12,
                h => h,
            }),
            'm' => two(d.minute()),
            's' => two(d.second()),
            'f' | 'F' => fraction(frac, c == 'F', run),
            't' => {
                let ampm = if d.hour() < 12 { "AM" } else { "PM" };
                if run >= 2 { ampm.to_owned() } else { ampm[..1].to_owned() }
            }
            _ => std::iter::repeat_n(c, run).collect(),
        };
        out.push_str(&piece);
    });
    out
}

/// Calls `f` with each run of one repeated character of `fmt` and its length, in order: the
/// elements of Kusto's format strings (`yyyy`, `HH`, `fff`, a `:` between them).
fn for_each_run(fmt: &str, mut f: impl FnMut(char, usize)) {
    let chars: Vec<char> = fmt.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let run = chars[i..].iter().take_while(|&&x| x == c).count();
        f(c, run);
        i += run;
    }
}

/// The first `run` digits (at most 9) of a fraction of a second given in nanoseconds; without
/// their trailing zeros when `trim` (Kusto's `F`, which writes nothing for a zero fraction).
fn fraction(frac_ns: u64, trim: bool, run: usize) -> String {
    let digits = format!("{frac_ns:09}");
    let s = digits.get(..run.min(9)).unwrap_or_default();
    if trim { s.trim_end_matches('0').to_owned() } else { s.to_owned() }
}

/// `format_datetime(ts, format)`.
pub fn format_datetime(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let Some(fmt) = args.get(1).and_then(scalar_str) else {
        return exec_err!("format_datetime() needs a constant format");
    };
    let n = rows_for(args, rows);
    let ts = timestamps(&args[0], n)?;
    let mut out = StringBuilder::new();
    for t in ts {
        match t {
            Some(t) => out.append_value(format_with(t, fmt)),
            None => out.append_value(""),
        }
    }
    finish(Arc::new(out.finish()), args)
}

/// Formats one timespan with a Kusto `format_timespan` format: `d`…`dddddddd` (whole days,
/// zero-padded to the run's length), `h`/`H` and `hh`/`HH` (hours left over from the days),
/// `m`/`mm`, `s`/`ss`, `f`… (the fraction's first digits) and `F`… (the same without trailing
/// zeros, nothing when they are all zero); any other character is written as it is. A
/// negative timespan is formatted as its magnitude after a `-`.
pub fn format_timespan_with(ns: i64, fmt: &str) -> String {
    let a = ns.unsigned_abs();
    let day = NS_PER_DAY.unsigned_abs();
    let (days, rem) = (a / day, a % day);
    let (hours, minutes, seconds) =
        (rem / 3_600_000_000_000, rem / 60_000_000_000 % 60, rem / 1_000_000_000 % 60);
    let frac = rem % 1_000_000_000;
    let mut out = String::new();
    if ns < 0 {
        out.push('-');
    }
    for_each_run(fmt, |c, run| {
        let two = |v: u64| if run >= 2 { format!("{v:02}") } else { v.to_string() };
        let piece = match c {
            'd' => format!("{days:0width$}", width = run.min(8)),
            'h' | 'H' => two(hours),
            'm' => two(minutes),
            's' => two(seconds),
            'f' | 'F' => fraction(frac, c == 'F', run),
            _ => std::iter::repeat_n(c, run).collect(),
        };
        out.push_str(&piece);
    });
    out
}

/// `format_timespan(ts [, format])`: Kusto's default form (`[-][d.]hh:mm:ss[.fffffff]`)
/// without a format, else [`format_timespan_with`].
pub fn format_timespan(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let fmt = match args.get(1) {
        None => None,
        Some(f) => match scalar_str(f) {
            Some(f) => Some(f),
            None => return exec_err!("format_timespan() needs a constant format"),
        },
    };
    let n = rows_for(args, rows);
    let d = timestamps_or_durations(&args[0], n)?;
    let mut out = StringBuilder::new();
    for v in d {
        match (v, fmt) {
            (Some(v), Some(f)) => out.append_value(format_timespan_with(v, f)),
            (Some(v), None) => out.append_value(kvalue::format_timespan(v)),
            (None, _) => out.append_value(""),
        }
    }
    finish(Arc::new(out.finish()), args)
}

/// `kql_unixtime(x, ns_per_unit)`: `unixtime_seconds_todatetime(x)` and its milliseconds,
/// microseconds and nanoseconds forms. A whole number is scaled exactly; a real is rounded to
/// the nearest tick (100 ns, Kusto's resolution). Null when out of what a datetime holds.
pub fn unixtime(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let Some(scale) = args.get(1).and_then(scalar_i64) else {
        return exec_err!("kql_unixtime needs a constant scale");
    };
    let n = rows_for(args, rows);
    let a = arg_array(&args[0], n)?;
    let out: Vec<Option<i64>> = match a.data_type() {
        DataType::Int64 => a.as_primitive::<Int64Type>().iter().map(|v| v?.checked_mul(scale)).collect(),
        DataType::Int32 => {
            a.as_primitive::<Int32Type>().iter().map(|v| i64::from(v?).checked_mul(scale)).collect()
        }
        DataType::Float64 => a
            .as_primitive::<Float64Type>()
            .iter()
            .map(|v| {
                let ticks = (v? * scale as f64 / 100.0).round();
                // Under 9.2e16 ticks the nanoseconds fit in an i64 (its maximum is 9.22e18).
                (ticks.is_finite() && ticks.abs() < 9.2e16).then(|| ticks as i64 * 100)
            })
            .collect(),
        DataType::Null => vec![None; n],
        t => return exec_err!("unixtime_*_todatetime() of a {t} is not supported"),
    };
    ts_result(out.into_iter(), args)
}

fn start_of_unit(ns: i64, unit: &str, offset: i64) -> Option<i64> {
    let d = civil(ns);
    let midnight =
        |date: NaiveDate| date.and_hms_opt(0, 0, 0).and_then(|t| t.and_utc().timestamp_nanos_opt());
    // Checked: a start before the first time a datetime holds (or an end after the last) is
    // null, never wrapped around to the other end of the range (review s44:
    // `startofweek(datetime(1677-09-22))` gave 2262-04-09, and panicked in a debug build).
    let floor = |unit_ns: i64| ns.div_euclid(unit_ns).checked_add(offset)?.checked_mul(unit_ns);
    match unit {
        "day" => floor(NS_PER_DAY),
        "hour" => floor(3_600_000_000_000),
        "week" => {
            let day = ns.div_euclid(NS_PER_DAY);
            let sunday = day - (day + 4).rem_euclid(7);
            sunday.checked_add(offset.checked_mul(7)?)?.checked_mul(NS_PER_DAY)
        }
        "month" => {
            let total = i64::from(d.year()) * 12 + i64::from(d.month0()) + offset;
            let date = NaiveDate::from_ymd_opt(
                i32::try_from(total.div_euclid(12)).ok()?,
                u32::try_from(total.rem_euclid(12)).ok()? + 1,
                1,
            )?;
            midnight(date)
        }
        "year" => {
            let date = NaiveDate::from_ymd_opt(d.year() + i32::try_from(offset).ok()?, 1, 1)?;
            midnight(date)
        }
        _ => None,
    }
}

/// `startofday/week/month/year(ts [, offset])` as `kql_start_of(ts, unit [, offset])`.
pub fn start_of(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let Some(unit) = args.get(1).and_then(scalar_str) else {
        return exec_err!("start_of needs a unit");
    };
    let offset = args.get(2).and_then(scalar_i64).unwrap_or(0);
    let n = rows_for(args, rows);
    let ts = timestamps(&args[0], n)?;
    ts_result(ts.into_iter().map(|t| t.and_then(|t| start_of_unit(t, unit, offset))), args)
}

/// `datetime_part(part, ts)` and the `getyear`, `hourofday`, … family.
pub fn datetime_part(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let Some(part) = args.first().and_then(scalar_str).map(str::to_ascii_lowercase) else {
        return exec_err!("datetime_part() needs a constant part");
    };
    let n = rows_for(args, rows);
    let ts = timestamps(&args[1], n)?;
    let mut out = Int64Builder::with_capacity(n);
    for t in ts {
        let v = t.and_then(|t| {
            let d = civil(t);
            Some(match part.as_str() {
                "year" => i64::from(d.year()),
                "quarter" => i64::from(d.month0() / 3 + 1),
                "month" => i64::from(d.month()),
                "week_of_year" | "weekofyear" => i64::from(d.iso_week().week()),
                "day" => i64::from(d.day()),
                "dayofyear" => i64::from(d.ordinal()),
                "dayofweek" => i64::from(d.weekday().num_days_from_sunday()),
                "hour" => i64::from(d.hour()),
                "minute" => i64::from(d.minute()),
                "second" => i64::from(d.second()),
                "millisecond" => t.rem_euclid(1_000_000_000) / 1_000_000,
                "microsecond" => t.rem_euclid(1_000_000_000) / 1_000,
                "nanosecond" => t.rem_euclid(1_000_000_000),
                _ => return None,
            })
        });
        out.append_option(v);
    }
    finish(Arc::new(out.finish()), args)
}

/// `kql_tz_convert(t, zone, to_local)`: `datetime_utc_to_local(t, zone)` (`to_local` true) or
/// `datetime_local_to_utc(t, zone)`, the zone an IANA name (`Europe/Paris`, `US/Pacific`). A
/// local time the clock skipped (spring forward) reads with the offset before the change, one it
/// showed twice (fall back) as the first of them; null for a zone that is not known.
pub fn tz_convert(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    use arrow::array::TimestampNanosecondBuilder;
    use arrow::datatypes::TimestampNanosecondType;
    use chrono::Offset;
    use datafusion::common::ScalarValue;
    let to_local = matches!(args.get(2), Some(ColumnarValue::Scalar(ScalarValue::Boolean(Some(true)))));
    let n = rows_for(&args[..2], rows);
    let t = arg_array(&args[0], n)?;
    let Some(t) = t.as_primitive_opt::<TimestampNanosecondType>() else {
        return exec_err!("datetime_utc_to_local() needs a datetime");
    };
    let zones = arg_array(&args[1], n)?;
    let zones = super::StrCol::new(&zones);
    let mut out = TimestampNanosecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut last: Option<(&str, Option<chrono_tz::Tz>)> = None;
    for i in 0..n {
        let (true, Some(name)) = (t.is_valid(i), zones.get(i)) else {
            out.append_null();
            continue;
        };
        if last.is_none_or(|(z, _)| z != name) {
            last = Some((name, name.trim().parse::<chrono_tz::Tz>().ok()));
        }
        let Some(Some(zone)) = last.map(|(_, z)| z) else {
            out.append_null();
            continue;
        };
        let ns = t.value(i);
        let naive = chrono::DateTime::from_timestamp_nanos(ns).naive_utc();
        let offset_s = if to_local {
            zone.offset_from_utc_datetime(&naive).fix().local_minus_utc()
        } else {
            match zone.offset_from_local_datetime(&naive) {
                chrono::LocalResult::Single(o) | chrono::LocalResult::Ambiguous(o, _) => {
                    o.fix().local_minus_utc()
                }
                // In the gap: the offset just before it.
                chrono::LocalResult::None => zone
                    .offset_from_utc_datetime(&(naive - chrono::Duration::hours(3)))
                    .fix()
                    .local_minus_utc(),
            }
        };
        let shift = i64::from(offset_s) * 1_000_000_000;
        out.append_option(if to_local { ns.checked_add(shift) } else { ns.checked_sub(shift) });
    }
    finish(Arc::new(out.finish()), &args[..2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_are_ticks_since_0001_and_back() {
        assert_eq!(TICK_ORIGIN_NS, -62_135_596_800_000_000_000, "0001-01-01 in nanoseconds since 1970");
        // 2020-01-01 and 1970-01-01, as Kusto numbers them.
        assert_eq!(datetime_ticks(1_577_836_800_000_000_000), 637_134_336_000_000_000);
        assert_eq!(datetime_ticks(0), TICKS_TO_EPOCH);
        // Before 1970, with nanoseconds below a tick: floored to the tick, as a datetime is.
        assert_eq!(datetime_ticks(-150), TICKS_TO_EPOCH - 2);
        for ns in [0, 1_714_557_600_123_456_700, -86_400_000_000_000, i64::MAX / 100 * 100] {
            assert_eq!(ticks_datetime(datetime_ticks(ns)), Some(ns), "{ns}");
        }
        // Ticks of years before 1677 or after 2262 have no datetime here.
        assert_eq!(ticks_datetime(0), None);
        assert_eq!(ticks_datetime(i64::MAX), None);
        assert_eq!(ticks_datetime(i64::MIN), None);
    }

    fn t(s: &str) -> i64 {
        kvalue::parse_datetime(s).expect("valid datetime")
    }

    /// Values around zero, the bounds of i64 and ordinary times, before and after 1970.
    fn awkward_times() -> Vec<i64> {
        let mut v = vec![i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX - 1, i64::MAX];
        // 2024-05-01T10:04:59.9999999Z, 1969-12-31T23:59:59.5Z and a day of 1684.
        v.extend([1_714_557_899_999_999_900, -500_000_000, -9_000_000_000_000_000_000]);
        let mut x: i64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..2000 {
            // xorshift: spread over the whole range and near the origins.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v.push(x);
            v.push(x >> 20);
        }
        v
    }

    #[test]
    fn bin_in_64_bits_floors_as_the_128_bit_reference_does() {
        for size in [1, 7, 1_000_000, 60_000_000_000, 300_000_000_000, NS_PER_DAY, 7 * NS_PER_DAY, i64::MAX] {
            let shift = bin_shift(size);
            for ns in awkward_times() {
                assert_eq!(bin_ns_by(ns, size, shift), bin_ns(ns, size), "bin({ns}, {size})");
            }
        }
    }

    #[test]
    fn datetime_diff_and_bin_over_whole_columns_match_row_by_row() {
        use arrow::array::TimestampNanosecondArray;
        let times = awkward_times();
        let a: Vec<Option<i64>> = times.iter().enumerate().map(|(i, t)| (i % 7 != 3).then_some(*t)).collect();
        let b: Vec<Option<i64>> =
            times.iter().rev().enumerate().map(|(i, t)| (i % 5 != 1).then_some(*t)).collect();
        let col = |v: &[Option<i64>]| {
            ColumnarValue::Array(Arc::new(TimestampNanosecondArray::from(v.to_vec()).with_timezone("UTC")))
        };
        let n = a.len();
        for part in ["millisecond", "second", "day", "week", "month", "year", "nanosecond"] {
            let args = [ColumnarValue::Scalar(part.into()), col(&a), col(&b)];
            let out = datetime_diff(&args, n).expect("runs").to_array(n).expect("array");
            let out = out.as_primitive::<Int64Type>();
            for (i, (x, y)) in a.iter().zip(&b).enumerate() {
                let want = x.zip(*y).map(|(x, y)| period(part).expect("period").diff(x, y));
                assert_eq!((!out.is_null(i)).then(|| out.value(i)), want, "{part} row {i}");
            }
        }
        let size = 300_000_000_000;
        let args = [col(&a), ColumnarValue::Scalar(datafusion::common::ScalarValue::Int64(Some(size)))];
        let out = bin_datetime(&args, n).expect("runs").to_array(n).expect("array");
        let out = out.as_primitive::<arrow::datatypes::TimestampNanosecondType>();
        for (i, x) in a.iter().enumerate() {
            assert_eq!(
                (!out.is_null(i)).then(|| out.value(i)),
                x.and_then(|x| bin_ns(x, size)),
                "bin row {i}"
            );
        }
    }

    /// The examples of Kusto's datetime_diff documentation, with its published results.
    #[test]
    fn datetime_diff_matches_kusto_documentation() {
        assert_eq!(diff_parts("year", t("2017-01-01"), t("2000-12-31")), Some(17));
        assert_eq!(diff_parts("quarter", t("2017-07-01"), t("2017-03-30")), Some(2));
        assert_eq!(diff_parts("month", t("2017-01-01"), t("2015-12-30")), Some(13));
        assert_eq!(diff_parts("week", t("2017-10-29 00:00"), t("2017-09-30 23:59")), Some(5));
        assert_eq!(diff_parts("day", t("2017-10-29 00:00"), t("2017-09-30 23:59")), Some(29));
        assert_eq!(diff_parts("hour", t("2017-10-31 01:00"), t("2017-10-30 23:59")), Some(2));
        assert_eq!(diff_parts("minute", t("2017-10-30 23:05:01"), t("2017-10-30 23:00:59")), Some(5));
        assert_eq!(
            diff_parts("second", t("2017-10-30 23:00:10.100"), t("2017-10-30 23:00:00.900")),
            Some(10)
        );
        assert_eq!(
            diff_parts("millisecond", t("2017-10-30 23:00:00.200100"), t("2017-10-30 23:00:00.100900")),
            Some(100)
        );
        assert_eq!(
            diff_parts("microsecond", t("2017-10-30 23:00:00.1009001"), t("2017-10-30 23:00:00.1008009")),
            Some(100)
        );
        assert_eq!(
            diff_parts("nanosecond", t("2017-10-30 23:00:00.0000000"), t("2017-10-30 23:00:00.0000007")),
            Some(-700)
        );
        assert_eq!(diff_parts("Millisecond", 1_999_999, 1_000_000), Some(0), "period names ignore case");
    }

    #[test]
    fn bin_floors_datetimes_and_numbers() {
        let five_min = 300_000_000_000;
        assert_eq!(bin_ns(t("2024-01-01T10:04:59.999Z"), five_min), Some(t("2024-01-01T10:00:00Z")));
        assert_eq!(bin_ns(t("2024-01-01T10:05:00Z"), five_min), Some(t("2024-01-01T10:05:00Z")));
        assert_eq!(bin_ns(t("1969-12-31T23:59:59Z"), NS_PER_DAY), Some(t("1969-12-31T00:00:00Z")));
        // Kusto's ticks start on Monday 0001-01-01, so 7-day bins start on Mondays.
        assert_eq!(bin_ns(t("2024-01-03T12:00:00Z"), 7 * NS_PER_DAY), Some(t("2024-01-01T00:00:00Z")));
    }

    #[test]
    fn format_datetime_uses_kusto_specifiers() {
        let v = t("2024-03-05T07:08:09.1234567Z");
        assert_eq!(format_with(v, "yyyy-MM-dd HH:mm:ss.fff"), "2024-03-05 07:08:09.123");
        assert_eq!(format_with(v, "M/d/yy h:mm tt"), "3/5/24 7:08 AM");
    }

    #[test]
    fn start_of_week_is_sunday() {
        assert_eq!(start_of_unit(t("2024-01-03T12:00:00Z"), "week", 0), Some(t("2023-12-31")));
        assert_eq!(start_of_unit(t("2024-01-03T12:00:00Z"), "month", 1), Some(t("2024-02-01")));
        assert_eq!(start_of_unit(t("2024-01-03T12:00:00Z"), "day", 0), Some(t("2024-01-03")));
    }
}
