//! `dynamic` values held as JSON text: member access, conversions, packing, and Kusto's
//! `tostring()` of any value.
//!
//! These are the fallback path: a member access on the audit event itself is planned as a
//! column read and never reaches here. Text that is not valid JSON reads as a JSON string (as
//! Kusto's `parse_json` of a non-JSON string gives the string).

use std::fmt::Write as _;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, BooleanBuilder, DurationNanosecondArray, Float64Array,
    Int64Array, ListBuilder, StringBuilder, TimestampNanosecondArray,
};
use arrow::datatypes::{
    DataType, DurationNanosecondType, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    TimeUnit, TimestampNanosecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::ColumnarValue;
use serde_json::Value;

use super::{StrCol, arg_array, finish, rows_for, scalar_i64, scalar_str, str_at};
use crate::kvalue;

/// Parses JSON text; text that is not JSON is a JSON string of itself.
pub fn parse_text(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_owned()))
}

/// Kusto's `tostring()` of a dynamic value: strings unquoted, null empty, the rest compact JSON.
pub fn value_to_string(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The JSON value of row `i` of any Arrow array (`None` when null), as it is held inside a
/// `dynamic` value: a datetime with Kusto's seven fractional digits
/// (`"2017-01-01T00:00:00.0000000Z"`).
pub fn json_at(a: &dyn Array, i: usize) -> Option<Value> {
    if a.is_null(i) {
        return None;
    }
    Some(match a.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Value::String(str_at(a, i)?.to_owned()),
        DataType::Boolean => Value::Bool(a.as_boolean().value(i)),
        DataType::Int8 => Value::from(a.as_primitive::<Int8Type>().value(i)),
        DataType::Int16 => Value::from(a.as_primitive::<Int16Type>().value(i)),
        DataType::Int32 => Value::from(a.as_primitive::<Int32Type>().value(i)),
        DataType::Int64 => Value::from(a.as_primitive::<Int64Type>().value(i)),
        DataType::UInt8 => Value::from(a.as_primitive::<UInt8Type>().value(i)),
        DataType::UInt16 => Value::from(a.as_primitive::<UInt16Type>().value(i)),
        DataType::UInt32 => Value::from(a.as_primitive::<UInt32Type>().value(i)),
        DataType::UInt64 => Value::from(a.as_primitive::<UInt64Type>().value(i)),
        DataType::Float32 => Value::from(f64::from(a.as_primitive::<Float32Type>().value(i))),
        DataType::Float64 => Value::from(a.as_primitive::<Float64Type>().value(i)),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => Value::String(kvalue::format_datetime_in_dynamic(
            a.as_primitive::<TimestampNanosecondType>().value(i),
        )),
        DataType::Duration(TimeUnit::Nanosecond) => {
            Value::String(kvalue::format_timespan(a.as_primitive::<DurationNanosecondType>().value(i)))
        }
        DataType::List(_) => {
            let l = a.as_list::<i32>();
            let inner = l.value(i);
            Value::Array(
                (0..inner.len()).map(|j| json_at(inner.as_ref(), j).unwrap_or(Value::Null)).collect(),
            )
        }
        DataType::Map(..) => {
            let m = a.as_map();
            let entries = m.value(i);
            let keys = entries.column(0);
            let values = entries.column(1);
            let mut obj = serde_json::Map::new();
            for j in 0..entries.len() {
                if let Some(k) = str_at(keys.as_ref(), j) {
                    obj.insert(k.to_owned(), json_at(values.as_ref(), j).unwrap_or(Value::Null));
                }
            }
            Value::Object(obj)
        }
        DataType::Struct(fields) => {
            let s = a.as_struct();
            let mut obj = serde_json::Map::new();
            for (f, c) in fields.iter().zip(s.columns()) {
                if let Some(v) = json_at(c.as_ref(), i) {
                    obj.insert(f.name().clone(), v);
                }
            }
            Value::Object(obj)
        }
        _ => Value::Null,
    })
}

/// Kusto's `tostring()` of row `i` of any Arrow array: null is "", datetimes and timespans in
/// Kusto's forms, lists and maps as JSON.
pub fn string_at(a: &dyn Array, i: usize) -> String {
    if a.is_null(i) {
        return String::new();
    }
    match a.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => str_at(a, i).unwrap_or("").to_owned(),
        DataType::Float64 => kvalue::format_real(a.as_primitive::<Float64Type>().value(i)),
        DataType::Float32 => kvalue::format_real(f64::from(a.as_primitive::<Float32Type>().value(i))),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            kvalue::format_datetime(a.as_primitive::<TimestampNanosecondType>().value(i))
        }
        _ => match json_at(a, i) {
            Some(v) => value_to_string(&v),
            None => String::new(),
        },
    }
}

/// `tostring(x)` of a non-dynamic (or native dynamic) value.
pub fn tostring(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let n = rows_for(args, rows);
    let a = arg_array(&args[0], n)?;
    let mut out = StringBuilder::with_capacity(n, n * 8);
    for i in 0..n {
        out.append_value(string_at(a.as_ref(), i));
    }
    finish(Arc::new(out.finish()), args)
}

/// Any value to JSON text (null stays null): how a typed value becomes `dynamic`.
pub fn to_json(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let n = rows_for(args, rows);
    let a = arg_array(&args[0], n)?;
    let mut out = StringBuilder::with_capacity(n, n * 8);
    match a.data_type() {
        // The common cases (`make_set(UserName)` over millions of rows) written straight into
        // the output, without a `Value` and a `String` per row.
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let texts = StrCol::new(a.as_ref());
            for i in 0..n {
                match texts.get(i) {
                    Some(v) => push_json_string(&mut out, v),
                    None => out.append_null(),
                }
            }
        }
        DataType::Int64 => {
            let ints = a.as_primitive::<Int64Type>();
            for i in 0..n {
                if ints.is_null(i) {
                    out.append_null();
                } else {
                    // Writing into a builder cannot fail; the empty value ends the row.
                    let _ = write!(out, "{}", ints.value(i));
                    out.append_value("");
                }
            }
        }
        _ => {
            for i in 0..n {
                match json_at(a.as_ref(), i) {
                    Some(v) => out.append_value(v.to_string()),
                    None => out.append_null(),
                }
            }
        }
    }
    finish(Arc::new(out.finish()), args)
}

/// Appends `v` as a JSON string literal: quoted as it is when nothing in it needs escaping,
/// else escaped by serde_json.
fn push_json_string(out: &mut StringBuilder, v: &str) {
    if v.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.append_value(Value::String(v.to_owned()).to_string());
    } else {
        // Writing into a builder cannot fail; the empty value ends the row.
        let _ = write!(out, "\"{v}\"");
        out.append_value("");
    }
}

/// A step of a member path: a key or an index.
enum Step {
    Key(String),
    Index(i64),
}

fn steps(args: &[ColumnarValue]) -> Result<Vec<Step>> {
    args.iter()
        .map(|a| match a {
            ColumnarValue::Scalar(ScalarValue::Utf8(Some(s))) => Ok(Step::Key(s.clone())),
            ColumnarValue::Scalar(ScalarValue::Int64(Some(n))) => Ok(Step::Index(*n)),
            ColumnarValue::Scalar(ScalarValue::Int32(Some(n))) => Ok(Step::Index(i64::from(*n))),
            _ => exec_err!("member access needs constant keys and indexes"),
        })
        .collect()
}

fn walk<'a>(mut v: &'a Value, path: &[Step]) -> Option<&'a Value> {
    for s in path {
        v = match (s, v) {
            (Step::Key(k), Value::Object(m)) => m.get(k)?,
            (Step::Index(ix), Value::Array(items)) => {
                let ix = if *ix < 0 { items.len() as i64 + ix } else { *ix };
                items.get(usize::try_from(ix).ok()?)?
            }
            (Step::Index(ix), Value::Object(m)) => m.get(&ix.to_string())?,
            _ => return None,
        };
    }
    Some(v)
}

/// `json.a.b[0]`: `kql_dyn_get(json, 'a', 'b', 0)` → JSON text or null.
pub fn dyn_get(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let Some((first, rest)) = args.split_first() else {
        return exec_err!("member access needs a value");
    };
    let path = steps(rest)?;
    let n = rows_for(args, rows);
    let a = arg_array(first, n)?;
    let mut out = StringBuilder::with_capacity(n, n * 8);
    for i in 0..n {
        let v = str_at(&a, i).map(parse_text);
        match v.as_ref().and_then(|v| walk(v, &path)) {
            Some(Value::Null) | None => out.append_null(),
            Some(v) => out.append_value(v.to_string()),
        }
    }
    finish(Arc::new(out.finish()), args)
}

/// `json[key]` with a key that changes from row to row: `kql_dyn_get_at(json, key)`, the key a
/// string (a property) or a whole number (an array index, negative from the end) → JSON text or
/// null.
pub fn dyn_get_at(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let n = rows_for(args, rows);
    let a = arg_array(&args[0], n)?;
    let k = arg_array(&args[1], n)?;
    let keys = super::StrCol::new(&k);
    let mut out = StringBuilder::with_capacity(n, n * 8);
    for i in 0..n {
        let step = match k.data_type() {
            DataType::Int64 => (!k.is_null(i)).then(|| Step::Index(k.as_primitive::<Int64Type>().value(i))),
            _ => keys.get(i).map(|s| Step::Key(s.to_owned())),
        };
        let v = str_at(&a, i).map(parse_text);
        match (v.as_ref(), step) {
            (Some(v), Some(step)) => match walk(v, std::slice::from_ref(&step)) {
                Some(Value::Null) | None => out.append_null(),
                Some(v) => out.append_value(v.to_string()),
            },
            _ => out.append_null(),
        }
    }
    finish(Arc::new(out.finish()), args)
}

/// `tostring(dynamic)` of JSON text.
pub fn dyn_to_string(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let n = rows_for(args, rows);
    let a = arg_array(&args[0], n)?;
    let mut out = StringBuilder::with_capacity(n, n * 8);
    for i in 0..n {
        match str_at(&a, i) {
            None => out.append_value(""),
            Some(s) => match s.as_bytes().first() {
                // Only a JSON string needs parsing; every other JSON text is its own string.
                Some(b'"') => out.append_value(value_to_string(&parse_text(s))),
                _ if s == "null" => out.append_value(""),
                _ => out.append_value(s),
            },
        }
    }
    finish(Arc::new(out.finish()), args)
}

fn value_to_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

/// A real as a long, its fraction dropped; null when it is out of the long's range (or NaN,
/// or infinite). Rust's `as` clamps instead, so `tolong(1e30)` read 9223372036854775807, a
/// number that looks like data in `max()` or `sum()`.
fn real_to_long(f: f64) -> Option<i64> {
    // 2^63 is exact as an f64; every finite f64 below it and at or above -2^63 fits.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    (f.is_finite() && (-LIMIT..LIMIT).contains(&f)).then_some(f as i64)
}

fn value_to_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().and_then(real_to_long)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>().ok().or_else(|| s.parse::<f64>().ok().and_then(real_to_long))
        }
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

fn value_to_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        Value::String(s) => parse_bool(s),
        _ => None,
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        other => other.parse::<f64>().ok().map(|f| f != 0.0),
    }
}

fn map_json<T>(
    args: &[ColumnarValue],
    rows: usize,
    f: impl Fn(&Value) -> Option<T>,
) -> Result<(Vec<Option<T>>, usize)> {
    let n = rows_for(args, rows);
    let a = arg_array(&args[0], n)?;
    Ok(((0..n).map(|i| str_at(&a, i).map(parse_text).and_then(|v| f(&v))).collect(), n))
}

/// `tolong(dynamic)`.
pub fn dyn_to_long(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let (v, _) = map_json(args, rows, value_to_i64)?;
    finish(Arc::new(Int64Array::from(v)), args)
}

/// `todouble(dynamic)`.
pub fn dyn_to_real(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let (v, _) = map_json(args, rows, value_to_f64)?;
    finish(Arc::new(Float64Array::from(v)), args)
}

/// The number a dynamic holds, null for any other value (a string of digits included): the
/// first key a dynamic sorts by, so that numbers compare by value, never as text (`10` above
/// `9.5`).
pub fn dyn_number(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let (v, _) = map_json(args, rows, |v| match v {
        Value::Number(n) => n.as_f64(),
        _ => None,
    })?;
    finish(Arc::new(Float64Array::from(v)), args)
}

/// The whole number a dynamic holds, null for any other value (a real, a string of digits):
/// `mv-expand … to typeof(long)`, which casts and never parses or converts.
pub fn dyn_cast_long(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let (v, _) = map_json(args, rows, |v| match v {
        Value::Number(n) => n.as_i64(),
        _ => None,
    })?;
    finish(Arc::new(Int64Array::from(v)), args)
}

/// The bool a dynamic holds, null for any other value: `mv-expand … to typeof(bool)`.
pub fn dyn_cast_bool(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let (v, _) = map_json(args, rows, |v| match v {
        Value::Bool(b) => Some(*b),
        _ => None,
    })?;
    finish(Arc::new(BooleanArray::from(v)), args)
}

/// The string a dynamic holds, "" (a string's null) for any other value:
/// `mv-expand … to typeof(string)`.
pub fn dyn_cast_string(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let n = rows_for(args, rows);
    let a = arg_array(&args[0], n)?;
    let mut out = StringBuilder::with_capacity(n, n * 8);
    for i in 0..n {
        match str_at(&a, i).map(parse_text) {
            Some(Value::String(s)) => out.append_value(s),
            _ => out.append_value(""),
        }
    }
    finish(Arc::new(out.finish()), args)
}

/// `tobool(dynamic)`.
pub fn dyn_to_bool(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let (v, _) = map_json(args, rows, value_to_bool)?;
    finish(Arc::new(BooleanArray::from(v)), args)
}

/// `todatetime(dynamic)`.
pub fn dyn_to_datetime(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let (v, _) = map_json(args, rows, |v| match v {
        Value::String(s) => kvalue::parse_datetime(s),
        _ => None,
    })?;
    finish(Arc::new(TimestampNanosecondArray::from(v).with_timezone("UTC")), args)
}

/// `totimespan(dynamic)`.
pub fn dyn_to_timespan(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let (v, _) = map_json(args, rows, |v| match v {
        Value::String(s) => kvalue::parse_timespan(s),
        Value::Number(n) => n.as_i64().map(|t| t * 100),
        _ => None,
    })?;
    finish(Arc::new(DurationNanosecondArray::from(v)), args)
}

/// Elements of a JSON array as JSON texts (a non-array value is its own single element), for
/// `mv-expand`.
pub fn dyn_elements(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let n = rows_for(args, rows);
    let a = arg_array(&args[0], n)?;
    let mut out = ListBuilder::new(StringBuilder::new());
    for i in 0..n {
        match str_at(&a, i).map(parse_text) {
            None | Some(Value::Null) => out.append(false),
            Some(Value::Array(items)) => {
                for item in items {
                    out.values().append_value(item.to_string());
                }
                out.append(true);
            }
            Some(Value::Object(map)) => {
                // Kusto expands a property bag into one single-property bag per key.
                for (k, v) in map {
                    let mut one = serde_json::Map::new();
                    one.insert(k, v);
                    out.values().append_value(Value::Object(one).to_string());
                }
                out.append(true);
            }
            Some(v) => {
                out.values().append_value(v.to_string());
                out.append(true);
            }
        }
    }
    finish(Arc::new(out.finish()), args)
}

/// A property bag as an array of `[key, value]` arrays, anything else as it is: what
/// `mv-expand kind=array` expands.
pub fn bag_pairs(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let n = rows_for(args, rows);
    let a = arg_array(&args[0], n)?;
    let mut out = StringBuilder::new();
    for i in 0..n {
        match str_at(&a, i) {
            None => out.append_null(),
            Some(text) => match parse_text(text) {
                Value::Object(map) => {
                    let pairs: Vec<Value> =
                        map.into_iter().map(|(k, v)| Value::Array(vec![Value::String(k), v])).collect();
                    out.append_value(Value::Array(pairs).to_string());
                }
                _ => out.append_value(text),
            },
        }
    }
    finish(Arc::new(out.finish()), args)
}

/// `array_length(x)` of JSON text or a list: null when not an array.
pub fn array_length(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let n = rows_for(args, rows);
    let a = arg_array(&args[0], n)?;
    let out: Int64Array = match a.data_type() {
        DataType::List(_) => {
            let l = a.as_list::<i32>();
            (0..n).map(|i| (!l.is_null(i)).then(|| l.value_length(i) as i64)).collect()
        }
        _ => (0..n)
            .map(|i| match str_at(&a, i).map(parse_text) {
                Some(Value::Array(items)) => Some(items.len() as i64),
                _ => None,
            })
            .collect(),
    };
    finish(Arc::new(out), args)
}

/// `strcat_array(array, delimiter)`.
pub fn strcat_array(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let n = rows_for(args, rows);
    let a = arg_array(&args[0], n)?;
    let d = arg_array(&args[1], n)?;
    let mut out = StringBuilder::with_capacity(n, n * 8);
    for i in 0..n {
        let delim = str_at(&d, i).unwrap_or("");
        let items: Vec<String> = match a.data_type() {
            DataType::List(_) => match json_at(a.as_ref(), i) {
                Some(Value::Array(items)) => items.iter().map(value_to_string).collect(),
                _ => vec![],
            },
            _ => match str_at(&a, i).map(parse_text) {
                Some(Value::Array(items)) => items.iter().map(value_to_string).collect(),
                _ => vec![],
            },
        };
        out.append_value(items.join(delim));
    }
    finish(Arc::new(out.finish()), args)
}

/// `kql_pack(key1, json1, key2, json2, …)`: a JSON object from constant keys and JSON-text
/// values; null values are left out (as the API server leaves out empty fields).
pub fn pack(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    if !args.len().is_multiple_of(2) {
        return exec_err!("pack needs key/value pairs");
    }
    let n = rows_for(args, rows);
    // A key written as a constant is quoted once; a key read from each row, at each row.
    let mut keys: Vec<Result<String, ArrayRef>> = Vec::new();
    let mut values = Vec::new();
    for pair in args.chunks(2) {
        keys.push(match scalar_str(&pair[0]) {
            Some(k) => Ok(Value::String(k.to_owned()).to_string()),
            None => Err(arg_array(&pair[0], n)?),
        });
        values.push(arg_array(&pair[1], n)?);
    }
    let mut out = StringBuilder::with_capacity(n, n * 64);
    let mut buf = String::new();
    for i in 0..n {
        buf.clear();
        buf.push('{');
        let mut first = true;
        for (k, v) in keys.iter().zip(&values) {
            let key = match k {
                Ok(k) => std::borrow::Cow::Borrowed(k.as_str()),
                // A row without a key (null) leaves its pair out.
                Err(a) => match str_at(a, i) {
                    Some(k) => std::borrow::Cow::Owned(Value::String(k.to_owned()).to_string()),
                    None => continue,
                },
            };
            if let Some(text) = str_at(v, i) {
                if !first {
                    buf.push(',');
                }
                first = false;
                buf.push_str(&key);
                buf.push(':');
                buf.push_str(text);
            }
        }
        buf.push('}');
        out.append_value(&buf);
    }
    finish(Arc::new(out.finish()), args)
}

/// `pack_array(json1, json2, …)`: a JSON array of JSON-text values (null becomes `null`).
pub fn pack_array(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let n = rows_for(args, rows);
    let arrays: Vec<ArrayRef> = args.iter().map(|a| arg_array(a, n)).collect::<Result<_>>()?;
    let mut out = StringBuilder::with_capacity(n, n * 16);
    for i in 0..n {
        let items: Vec<&str> = arrays.iter().map(|a| str_at(a, i).unwrap_or("null")).collect();
        out.append_value(format!("[{}]", items.join(",")));
    }
    finish(Arc::new(out.finish()), args)
}

/// `annotations["key"]` on a native map: the value string, or null.
pub fn map_get(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let Some(key) = args.get(1).and_then(scalar_str) else {
        return exec_err!("map lookup needs a constant key");
    };
    let n = rows_for(args, rows);
    let a = arg_array(&args[0], n)?;
    let mut out = StringBuilder::with_capacity(n, n * 8);
    let DataType::Map(..) = a.data_type() else {
        return exec_err!("map lookup of a {}", a.data_type());
    };
    let m = a.as_map();
    // The entries of every row at once, each row's by its offsets: no array sliced per row.
    let (keys, values) = (StrCol::new(m.keys().as_ref()), StrCol::new(m.values().as_ref()));
    let offsets = m.value_offsets();
    for i in 0..n {
        if m.is_null(i) {
            out.append_null();
            continue;
        }
        let (from, to) = (offsets[i] as usize, offsets[i + 1] as usize);
        match (from..to).find(|&j| keys.get(j) == Some(key)) {
            Some(j) => out.append_option(values.get(j)),
            None => out.append_null(),
        }
    }
    finish(Arc::new(out.finish()), args)
}

/// `list[i]` on a native string list (negative indexes count from the end).
pub fn list_get(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let Some(ix) = args.get(1).and_then(scalar_i64) else {
        return exec_err!("array index must be a constant");
    };
    let n = rows_for(args, rows);
    let a = arg_array(&args[0], n)?;
    let DataType::List(_) = a.data_type() else {
        return exec_err!("array index of a {}", a.data_type());
    };
    let l = a.as_list::<i32>();
    let mut out = StringBuilder::with_capacity(n, n * 8);
    for i in 0..n {
        if l.is_null(i) {
            out.append_null();
            continue;
        }
        let inner = l.value(i);
        let len = inner.len() as i64;
        let j = if ix < 0 { len + ix } else { ix };
        if j < 0 || j >= len {
            out.append_null();
        } else {
            out.append_option(str_at(inner.as_ref(), j as usize));
        }
    }
    finish(Arc::new(out.finish()), args)
}

/// `bag_keys(bag)`: a JSON array of the keys.
pub fn bag_keys(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let n = rows_for(args, rows);
    let a = arg_array(&args[0], n)?;
    let mut out = StringBuilder::new();
    for i in 0..n {
        match str_at(&a, i).map(parse_text) {
            Some(Value::Object(m)) => out
                .append_value(Value::Array(m.keys().map(|k| Value::String(k.clone())).collect()).to_string()),
            _ => out.append_null(),
        }
    }
    finish(Arc::new(out.finish()), args)
}

fn map_any<T>(
    args: &[ColumnarValue],
    rows: usize,
    from_str: impl Fn(&str) -> Option<T>,
    from_f64: impl Fn(f64) -> Option<T>,
) -> Result<Vec<Option<T>>> {
    let n = rows_for(args, rows);
    let a = arg_array(&args[0], n)?;
    Ok((0..n)
        .map(|i| {
            if a.is_null(i) {
                return None;
            }
            match a.data_type() {
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                    str_at(&a, i).and_then(&from_str)
                }
                DataType::Boolean => from_f64(if a.as_boolean().value(i) { 1.0 } else { 0.0 }),
                DataType::Int64 => from_f64(a.as_primitive::<Int64Type>().value(i) as f64),
                DataType::Int32 => from_f64(f64::from(a.as_primitive::<Int32Type>().value(i))),
                DataType::Float64 => from_f64(a.as_primitive::<Float64Type>().value(i)),
                DataType::Timestamp(..) => from_f64(super::time::datetime_ticks(
                    a.as_primitive::<TimestampNanosecondType>().value(i),
                ) as f64),
                DataType::Duration(..) => {
                    from_f64(a.as_primitive::<DurationNanosecondType>().value(i) as f64 / 100.0)
                }
                _ => None,
            }
        })
        .collect())
}

/// `tolong(x)` of a string or number (null when not a number; reals truncate).
pub fn str_to_long(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let n = rows_for(args, rows);
    let a = arg_array(&args[0], n)?;
    if a.data_type() == &DataType::Int64 {
        return finish(a, args);
    }
    // A datetime's ticks exactly (through a real they would lose their last digits).
    if let Some(t) = a.as_primitive_opt::<TimestampNanosecondType>() {
        let ticks: Int64Array = t.iter().map(|ns| ns.map(super::time::datetime_ticks)).collect();
        return finish(Arc::new(ticks), args);
    }
    let v = map_any(
        args,
        rows,
        |s| {
            let s = s.trim();
            s.parse::<i64>().ok().or_else(|| s.parse::<f64>().ok().and_then(real_to_long))
        },
        real_to_long,
    )?;
    finish(Arc::new(Int64Array::from(v)), args)
}

/// `todouble(x)` of a string or number.
pub fn str_to_real(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let v = map_any(args, rows, |s| s.trim().parse::<f64>().ok(), Some)?;
    finish(Arc::new(Float64Array::from(v)), args)
}

/// `tobool(x)` of a string or number.
pub fn str_to_bool(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let v = map_any(args, rows, parse_bool, |f| Some(f != 0.0))?;
    let mut b = BooleanBuilder::with_capacity(v.len());
    for x in v {
        b.append_option(x);
    }
    finish(Arc::new(b.finish()), args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_lookup_reads_each_rows_own_entries_in_a_slice_too() {
        use arrow::array::{MapBuilder, StringBuilder as SB};
        let mut b = MapBuilder::new(None, SB::new(), SB::new());
        let rows: [&[(&str, &str)]; 5] = [
            &[("a", "1"), ("k", "first")],
            &[],
            &[("k", "third"), ("a", "3")],
            &[("b", "4")],
            &[("a", "5"), ("b", "6"), ("k", "fifth")],
        ];
        for (i, entries) in rows.iter().enumerate() {
            for (k, v) in *entries {
                b.keys().append_value(k);
                b.values().append_value(v);
            }
            b.append(i != 1).expect("row");
        }
        let map: ArrayRef = Arc::new(b.finish());
        let key = ColumnarValue::Scalar("k".into());
        let get = |m: &ArrayRef| -> Vec<Option<String>> {
            let n = m.len();
            let out = map_get(&[ColumnarValue::Array(m.clone()), key.clone()], n).expect("runs");
            let out = out.to_array(n).expect("array");
            (0..n).map(|i| str_at(&out, i).map(str::to_owned)).collect()
        };
        let some = |s: &str| Some(s.to_owned());
        assert_eq!(get(&map), [some("first"), None, some("third"), None, some("fifth")]);
        assert_eq!(get(&map.slice(2, 3)), [some("third"), None, some("fifth")]);
    }

    fn run(f: super::super::InvokeFn, args: Vec<ColumnarValue>) -> ArrayRef {
        match f(&args, 1).expect("runs") {
            ColumnarValue::Array(a) => a,
            ColumnarValue::Scalar(s) => s.to_array().expect("array"),
        }
    }

    fn s(v: &str) -> ColumnarValue {
        ColumnarValue::Scalar(ScalarValue::Utf8(Some(v.to_owned())))
    }

    /// The fast path for strings and longs writes what serde_json writes, escapes included.
    #[test]
    fn to_json_of_strings_and_longs_matches_serde_json() {
        let texts = ["plain", "", "quote \" and back\\slash", "tab\tnew\nline \u{1}", "ünïcødé ✓"];
        let strings: ArrayRef = Arc::new(arrow::array::StringArray::from(
            texts.iter().map(|t| Some(*t)).chain([None]).collect::<Vec<_>>(),
        ));
        let rows = strings.len();
        let out =
            to_json(&[ColumnarValue::Array(strings)], rows).expect("runs").to_array(rows).expect("array");
        let out = out.as_string::<i32>();
        for (i, t) in texts.iter().enumerate() {
            assert_eq!(out.value(i), serde_json::to_string(t).expect("json"), "{t:?}");
        }
        assert!(out.is_null(texts.len()));
        let longs: ArrayRef = Arc::new(Int64Array::from(vec![Some(-42), None, Some(i64::MAX)]));
        let out = to_json(&[ColumnarValue::Array(longs)], 3).expect("runs").to_array(3).expect("array");
        let out = out.as_string::<i32>();
        assert_eq!((out.value(0), out.is_null(1), out.value(2)), ("-42", true, "9223372036854775807"));
    }

    #[test]
    fn member_access_walks_json() {
        let out = run(
            dyn_get,
            vec![s(r#"{"user":{"username":"alice","groups":["a","b"]}}"#), s("user"), s("username")],
        );
        assert_eq!(str_at(&out, 0), Some("\"alice\""));
        let out = run(
            dyn_get,
            vec![
                s(r#"{"user":{"groups":["a","b"]}}"#),
                s("user"),
                s("groups"),
                ColumnarValue::Scalar(ScalarValue::Int64(Some(-1))),
            ],
        );
        assert_eq!(str_at(&out, 0), Some("\"b\""));
        let out = run(dyn_get, vec![s("not json"), s("x")]);
        assert!(out.is_null(0));
    }

    #[test]
    fn tostring_of_dynamic_unquotes_strings_only() {
        assert_eq!(str_at(&run(dyn_to_string, vec![s("\"x\\\"y\"")]), 0), Some("x\"y"));
        assert_eq!(str_at(&run(dyn_to_string, vec![s("200")]), 0), Some("200"));
        assert_eq!(str_at(&run(dyn_to_string, vec![s("null")]), 0), Some(""));
        assert_eq!(str_at(&run(dyn_to_string, vec![s(r#"{"a":1}"#)]), 0), Some(r#"{"a":1}"#));
    }

    #[test]
    fn pack_skips_nulls_and_keeps_order() {
        let out = run(
            pack,
            vec![s("b"), s("1"), s("a"), ColumnarValue::Scalar(ScalarValue::Utf8(None)), s("c"), s("\"x\"")],
        );
        assert_eq!(str_at(&out, 0), Some(r#"{"b":1,"c":"x"}"#));
    }

    #[test]
    fn conversions_follow_kusto() {
        let out = run(dyn_to_long, vec![s("\"12\"")]);
        assert_eq!(out.as_primitive::<Int64Type>().value(0), 12);
        let out = run(str_to_long, vec![s("1.9")]);
        assert_eq!(out.as_primitive::<Int64Type>().value(0), 1);
        let out = run(str_to_bool, vec![s("True")]);
        assert!(out.as_boolean().value(0));
    }
}
