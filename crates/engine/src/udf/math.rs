//! Numbers: `isnan`, `isinf`, `isfinite`, `make_timespan`, and the arithmetic of datetimes
//! and timespans in nanoseconds, null where it overflows.

use std::sync::Arc;

use arrow::array::Int64Array;
use arrow::array::{Array, AsArray, BooleanBuilder, DurationNanosecondBuilder};
use arrow::datatypes::{Float64Type, Int64Type};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::ColumnarValue;

use super::{arg_array, finish, rows_for};

/// `kql_float_class(x, kind)`: `isnan(x)` (`kind` "nan"), `isinf(x)` ("inf") or `isfinite(x)`
/// ("finite") of a real; null for a null.
pub fn float_class(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let test: fn(f64) -> bool = match args.get(1) {
        Some(ColumnarValue::Scalar(ScalarValue::Utf8(Some(k)))) if k == "nan" => f64::is_nan,
        Some(ColumnarValue::Scalar(ScalarValue::Utf8(Some(k)))) if k == "inf" => f64::is_infinite,
        Some(ColumnarValue::Scalar(ScalarValue::Utf8(Some(k)))) if k == "finite" => f64::is_finite,
        _ => return exec_err!("kql_float_class needs the kind nan, inf or finite"),
    };
    let n = rows_for(&args[..1], rows);
    let a = arg_array(&args[0], n)?;
    let Some(x) = a.as_primitive_opt::<Float64Type>() else {
        return exec_err!("kql_float_class needs a real, got {}", a.data_type());
    };
    let mut out = BooleanBuilder::with_capacity(n);
    for i in 0..n {
        out.append_option(x.is_valid(i).then(|| test(x.value(i))));
    }
    finish(Arc::new(out.finish()), &args[..1])
}

/// Ticks (100 ns) per second, the precision of a timespan.
const TICKS_PER_SECOND: f64 = 10_000_000.0;

/// `kql_make_timespan(days, hours, minutes, seconds)`, reals: the timespan, rounded to the
/// nearest tick; null when any part is null or the sum is out of range.
pub fn make_timespan(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    if args.len() != 4 {
        return exec_err!("kql_make_timespan takes days, hours, minutes and seconds");
    }
    let n = rows_for(args, rows);
    let parts = args.iter().map(|a| arg_array(a, n)).collect::<Result<Vec<_>>>()?;
    let Some(parts) = parts.iter().map(|a| a.as_primitive_opt::<Float64Type>()).collect::<Option<Vec<_>>>()
    else {
        return exec_err!("kql_make_timespan needs reals");
    };
    let mut out = DurationNanosecondBuilder::with_capacity(n);
    for i in 0..n {
        if parts.iter().any(|p| p.is_null(i)) {
            out.append_null();
            continue;
        }
        let seconds = parts[0].value(i) * 86_400.0
            + parts[1].value(i) * 3_600.0
            + parts[2].value(i) * 60.0
            + parts[3].value(i);
        let ticks = (seconds * TICKS_PER_SECOND).round();
        // i64::MAX nanoseconds is about 292 years; past it (or NaN) there is no timespan.
        let in_range = ticks.is_finite() && ticks.abs() < (i64::MAX / 100) as f64;
        out.append_option(in_range.then(|| ticks as i64 * 100));
    }
    finish(Arc::new(out.finish()), args)
}

/// `kql_checked_nanos(a, op, b)`: `a + b`, `a - b` or `a * b` (`op` "+", "-" or "*") of
/// nanosecond counts (datetimes since 1970, timespans, their factors), null where the result
/// leaves the 64 bits that hold it (1677-09-21 to 2262-04-11 for a datetime, 292 years for a
/// timespan): Kusto gives null outside its range; plain `+` wrapped around, and
/// `datetime(2261-12-31) + 1000d` was a time in 1680 (review s40, item 4).
pub fn checked_nanos(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let op: fn(i64, i64) -> Option<i64> = match args.get(1) {
        Some(ColumnarValue::Scalar(ScalarValue::Utf8(Some(k)))) if k == "+" => i64::checked_add,
        Some(ColumnarValue::Scalar(ScalarValue::Utf8(Some(k)))) if k == "-" => i64::checked_sub,
        Some(ColumnarValue::Scalar(ScalarValue::Utf8(Some(k)))) if k == "*" => i64::checked_mul,
        _ => return exec_err!("kql_checked_nanos needs the operator +, - or *"),
    };
    let [a, _, b] = args else { return exec_err!("kql_checked_nanos takes two numbers and an operator") };
    let operands = [a.clone(), b.clone()];
    let n = rows_for(&operands, rows);
    let left = arg_array(a, n)?;
    let Some(left) = left.as_primitive_opt::<Int64Type>() else {
        return exec_err!("kql_checked_nanos needs 64-bit integers, got {}", left.data_type());
    };
    // A constant on the right (`+ 1d`, `* 1000000`) is read once, not made into a column.
    let out: Int64Array = match b {
        ColumnarValue::Scalar(ScalarValue::Int64(v)) => {
            left.iter().map(|x| x.zip(*v).and_then(|(x, y)| op(x, y))).collect()
        }
        _ => {
            let right = arg_array(b, n)?;
            let Some(right) = right.as_primitive_opt::<Int64Type>() else {
                return exec_err!("kql_checked_nanos needs 64-bit integers, got {}", right.data_type());
            };
            left.iter().zip(right.iter()).map(|(x, y)| x.zip(y).and_then(|(x, y)| op(x, y))).collect()
        }
    };
    finish(Arc::new(out), &operands)
}
