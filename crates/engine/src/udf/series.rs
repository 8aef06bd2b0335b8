//! The arrays `make-series` builds.

use arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::ColumnarValue;
use std::sync::Arc;

use super::{finish, rows_for, str_at};
use crate::plan::walk::series::MAX_BINS;

fn ints(v: &ColumnarValue, rows: usize) -> Result<ArrayRef> {
    let a = v.to_array(rows)?;
    Ok(arrow::compute::cast(&a, &DataType::Int64)?)
}

fn bins(n: i64) -> Result<usize> {
    if !(0..=MAX_BINS).contains(&n) {
        return exec_err!(
            "make-series would make {n} bins; at most {MAX_BINS} are allowed (use a larger step)"
        );
    }
    Ok(usize::try_from(n).unwrap_or(0))
}

/// `kql_series_fill(pairs, n, default)`: `pairs` is a JSON array of `[bin, value]`; the result a
/// JSON array of `n` values, `default` (JSON text) where no pair names the bin.
pub fn series_fill(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let [pairs, n, default] = args else { return exec_err!("kql_series_fill takes 3 arguments") };
    let rows = rows_for(args, rows);
    let pairs = pairs.to_array(rows)?;
    let n = ints(n, rows)?;
    let n = n.as_primitive::<Int64Type>();
    let default = default.to_array(rows)?;
    let mut out = StringBuilder::new();
    for i in 0..rows {
        if n.is_null(i) {
            out.append_null();
            continue;
        }
        let d = str_at(default.as_ref(), i).unwrap_or("0");
        let mut items: Vec<String> = vec![d.to_owned(); bins(n.value(i))?];
        if let Some(text) = str_at(pairs.as_ref(), i) {
            let parsed: Vec<(i64, serde_json::Value)> = match serde_json::from_str(text) {
                Ok(p) => p,
                Err(e) => return exec_err!("make-series: bad bin pairs: {e}"),
            };
            for (bin, v) in parsed {
                if let Some(slot) = usize::try_from(bin).ok().and_then(|b| items.get_mut(b)) {
                    *slot = v.to_string();
                }
            }
        }
        out.append_value(format!("[{}]", items.join(",")));
    }
    finish(Arc::new(out.finish()), args)
}

/// `kql_series_axis(start, step, n, is_datetime)`: the bins' starts as a JSON array.
pub fn series_axis(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let [start, step, n, time] = args else { return exec_err!("kql_series_axis takes 4 arguments") };
    let rows = rows_for(args, rows);
    let (start, step, n) = (ints(start, rows)?, ints(step, rows)?, ints(n, rows)?);
    let (start, step, n) =
        (start.as_primitive::<Int64Type>(), step.as_primitive::<Int64Type>(), n.as_primitive::<Int64Type>());
    let time = time.to_array(rows)?;
    let time = time.as_boolean();
    let mut out = StringBuilder::new();
    for i in 0..rows {
        if start.is_null(i) || step.is_null(i) || n.is_null(i) {
            out.append_null();
            continue;
        }
        let is_time = !time.is_null(i) && time.value(i);
        let items: Vec<String> = (0..bins(n.value(i))? as i64)
            .map(|k| {
                let x = start.value(i).saturating_add(k.saturating_mul(step.value(i)));
                if is_time {
                    format!("\"{}\"", crate::kvalue::format_datetime_in_dynamic(x))
                } else {
                    x.to_string()
                }
            })
            .collect();
        out.append_value(format!("[{}]", items.join(",")));
    }
    finish(Arc::new(out.finish()), args)
}
