//! Chart data from a `render` result, laid out as Kusto lays it out.
//!
//! - `timechart`, `linechart`, `areachart`, `scatterchart`: x is the `xcolumn` (default: the
//!   first datetime column, else the first column); y are the `ycolumns` (default: every
//!   numeric column); every other string-like column splits the rows into series, named by
//!   their values joined with `, ` (with several y columns, `value, ycolumn`).
//! - `columnchart`, `barchart`: x is the first string column (the category), one series per y
//!   column (or per series value, as above).
//! - `piechart`: the first string column labels the slices, the first numeric column sizes them.
//! - `table`, `card` and the rest draw nothing.
//!
//! Points are in x order: datetimes by time (as RFC 3339 text), numbers by value, labels as
//! they come.

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float64Type, Int32Type, Int64Type, TimestampNanosecondType};
use findings::{Chart, Point, Series};

use crate::types::{KType, Native};
use crate::udf::dynamic::string_at;
use crate::{QueryResult, RenderSpec};

/// The chart kinds drawn as lines over a continuous x.
const LINE_KINDS: &[&str] =
    &["timechart", "linechart", "areachart", "stackedareachart", "scatterchart", "anomalychart"];

/// The kinds of bars [`chart`] draws, its x axis a label.
const BAR_KINDS: &[&str] = &["columnchart", "barchart", "piechart", "stackedcolumnchart"];

/// Whether [`chart`] draws `render KIND` at all (given a number column): `timepivot`,
/// `ladderchart`, `treemap`… are Kusto's, not drawn here.
pub fn draws(kind: &str) -> bool {
    LINE_KINDS.contains(&kind) || BAR_KINDS.contains(&kind)
}

/// The kinds [`chart`] draws, for a message.
pub fn drawn_kinds() -> String {
    LINE_KINDS.iter().chain(BAR_KINDS).copied().collect::<Vec<_>>().join(", ")
}

fn numeric(a: &dyn Array, i: usize) -> Option<f64> {
    if a.is_null(i) {
        return None;
    }
    Some(match a.data_type() {
        DataType::Int64 => a.as_primitive::<Int64Type>().value(i) as f64,
        DataType::Int32 => f64::from(a.as_primitive::<Int32Type>().value(i)),
        DataType::Float64 => a.as_primitive::<Float64Type>().value(i),
        DataType::Duration(_) => {
            a.as_primitive::<arrow::datatypes::DurationNanosecondType>().value(i) as f64 / 1e9
        }
        _ => return None,
    })
}

fn is_numeric(ty: KType) -> bool {
    ty.is_numeric() || ty == KType::TimeSpan || ty == KType::DynNative(Native::Long)
}

fn is_label(ty: KType) -> bool {
    ty.is_stringy() || ty.is_dynamic() || ty == KType::Bool
}

/// The x sort key of a cell: time, number, or original position for labels.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum XKey {
    Num(f64),
    Pos(usize),
}

/// The chart a `render` asks for, or `None` for `table`/`card` or when no column fits.
pub fn chart(result: &QueryResult, spec: &RenderSpec) -> Option<Chart> {
    let kind = spec.kind.as_str();
    let cols = &result.columns;
    let find = |name: &str| cols.iter().position(|c| c.name == name);
    let is_line = LINE_KINDS.contains(&kind);
    if is_line
        && !cols.iter().any(|c| c.ty == KType::DateTime)
        && cols.iter().any(|c| c.ty == KType::Dynamic)
        && let Some(chart) = series_chart(result, spec)
    {
        return Some(chart);
    }
    let x = match &spec.xcolumn {
        Some(n) => find(n)?,
        None if is_line => cols.iter().position(|c| c.ty == KType::DateTime).unwrap_or(0),
        None if BAR_KINDS.contains(&kind) => cols.iter().position(|c| is_label(c.ty)).unwrap_or(0),
        None => return None,
    };
    let ys: Vec<usize> = if spec.ycolumns.is_empty() {
        (0..cols.len()).filter(|&c| c != x && is_numeric(cols[c].ty)).collect()
    } else {
        spec.ycolumns.iter().filter_map(|n| find(n)).collect()
    };
    if ys.is_empty() {
        return None;
    }
    let ys = if kind == "piechart" { vec![ys[0]] } else { ys };
    let series_cols: Vec<usize> = if spec.series.is_empty() {
        (0..cols.len()).filter(|&c| c != x && !ys.contains(&c) && is_label(cols[c].ty)).collect()
    } else {
        spec.series.iter().filter_map(|n| find(n)).collect()
    };
    let x_is_time = cols[x].ty == KType::DateTime;
    let mut series: BTreeMap<String, Vec<(XKey, Point)>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut pos = 0usize;
    for b in &result.batches {
        for i in 0..b.num_rows() {
            let xa = b.column(x);
            let xkey = if x_is_time || is_numeric(cols[x].ty) {
                let n = if x_is_time && !xa.is_null(i) {
                    Some(xa.as_primitive::<TimestampNanosecondType>().value(i) as f64)
                } else {
                    numeric(xa.as_ref(), i)
                };
                match n {
                    Some(n) => XKey::Num(n),
                    None => continue,
                }
            } else {
                XKey::Pos(pos)
            };
            pos += 1;
            let xtext = string_at(xa.as_ref(), i);
            let key: Vec<String> = series_cols.iter().map(|&c| string_at(b.column(c).as_ref(), i)).collect();
            let key = key.join(", ");
            for &y in &ys {
                let Some(v) = numeric(b.column(y).as_ref(), i) else { continue };
                let name = match (key.is_empty(), ys.len() > 1) {
                    (true, _) => cols[y].name.clone(),
                    (false, false) => key.clone(),
                    (false, true) => format!("{key}, {}", cols[y].name),
                };
                if !series.contains_key(&name) {
                    order.push(name.clone());
                }
                series.entry(name).or_default().push((xkey.clone(), Point { x: xtext.clone(), y: v }));
            }
        }
    }
    // Rows come in no particular order from a parallel plan: name order keeps charts stable.
    order.sort();
    let series = order
        .into_iter()
        .filter_map(|name| {
            let mut pts = series.remove(&name)?;
            pts.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
            Some(Series { name, points: pts.into_iter().map(|(_, p)| p).collect() })
        })
        .collect();
    let y_label = spec
        .ytitle
        .clone()
        .unwrap_or_else(|| ys.iter().map(|&y| cols[y].name.clone()).collect::<Vec<_>>().join(", "));
    let x_label = spec.xtitle.clone().unwrap_or_else(|| cols[x].name.clone());
    Some(Chart {
        kind: spec.kind.clone(),
        title: spec.title.clone().unwrap_or_default(),
        x_label,
        y_label,
        series,
    })
}

/// A row's dynamic cells parsed as JSON arrays (None where a cell is not an array).
fn arrays_of(b: &arrow::array::RecordBatch, i: usize, cols: &[usize]) -> Vec<Option<Vec<serde_json::Value>>> {
    cols.iter()
        .map(|&c| match serde_json::from_str::<serde_json::Value>(&string_at(b.column(c).as_ref(), i)) {
            Ok(serde_json::Value::Array(a)) => Some(a),
            _ => None,
        })
        .collect()
}

fn as_time(v: &serde_json::Value) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(v.as_str()?).ok()?.timestamp_nanos_opt()
}

/// The chart of a `make-series` result: the axis and the values are arrays, one row per
/// series; each array element is a point. `None` when the rows are not of that shape.
fn series_chart(result: &QueryResult, spec: &RenderSpec) -> Option<Chart> {
    let cols = &result.columns;
    let dynamic: Vec<usize> = (0..cols.len()).filter(|&c| cols[c].ty == KType::Dynamic).collect();
    let first = result.batches.iter().find(|b| b.num_rows() > 0)?;
    let sample = arrays_of(first, 0, &dynamic);
    let is_axis = |k: usize| {
        sample[k].as_ref().is_some_and(|a| !a.is_empty() && a.iter().all(|v| as_time(v).is_some()))
    };
    let axis = match &spec.xcolumn {
        Some(n) => dynamic.iter().position(|&c| cols[c].name == *n)?,
        None => (0..dynamic.len()).find(|&k| is_axis(k))?,
    };
    let ys: Vec<usize> = (0..dynamic.len())
        .filter(|&k| k != axis)
        .filter(|&k| spec.ycolumns.is_empty() || spec.ycolumns.contains(&cols[dynamic[k]].name))
        .filter(|&k| sample[k].as_ref().is_some_and(|a| a.iter().all(|v| v.is_number() || v.is_null())))
        .collect();
    if ys.is_empty() {
        return None;
    }
    let labels: Vec<usize> =
        (0..cols.len()).filter(|&c| cols[c].ty != KType::Dynamic && is_label(cols[c].ty)).collect();
    let mut series: Vec<Series> = Vec::new();
    for b in &result.batches {
        for i in 0..b.num_rows() {
            let arrays = arrays_of(b, i, &dynamic);
            let Some(xs) = &arrays[axis] else { continue };
            let key =
                labels.iter().map(|&c| string_at(b.column(c).as_ref(), i)).collect::<Vec<_>>().join(", ");
            for &k in &ys {
                let Some(vals) = &arrays[k] else { continue };
                let y_name = &cols[dynamic[k]].name;
                let name = match (key.is_empty(), ys.len() > 1) {
                    (true, _) => y_name.clone(),
                    (false, false) => key.clone(),
                    (false, true) => format!("{key}, {y_name}"),
                };
                let mut pts: Vec<(i64, Point)> = xs
                    .iter()
                    .zip(vals)
                    .filter_map(|(x, y)| {
                        Some((as_time(x)?, Point { x: x.as_str()?.to_owned(), y: y.as_f64()? }))
                    })
                    .collect();
                pts.sort_by_key(|(t, _)| *t);
                series.push(Series { name, points: pts.into_iter().map(|(_, p)| p).collect() });
            }
        }
    }
    series.sort_by(|a, b| a.name.cmp(&b.name));
    let y_label = spec
        .ytitle
        .clone()
        .unwrap_or_else(|| ys.iter().map(|&k| cols[dynamic[k]].name.clone()).collect::<Vec<_>>().join(", "));
    Some(Chart {
        kind: spec.kind.clone(),
        title: spec.title.clone().unwrap_or_default(),
        x_label: spec.xtitle.clone().unwrap_or_else(|| cols[dynamic[axis]].name.clone()),
        y_label,
        series,
    })
}
