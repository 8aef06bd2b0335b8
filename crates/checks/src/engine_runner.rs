//! The [`QueryRunner`] over the query engine: KQL in, [`ResultTable`] out.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{
    DataType, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, TimeUnit,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
    UInt32Type, UInt64Type,
};
use chrono::{DateTime, Utc};
use engine::{Engine, Now, QueryOptions};

use crate::audit::QueryRunner;
use crate::table::{Cell, ResultTable};

/// Runs checks' KQL on an [`Engine`], with `now()` pinned so a query means the same thing
/// whenever it runs.
pub struct EngineRunner<'e> {
    engine: &'e Engine,
    options: QueryOptions,
}

impl<'e> EngineRunner<'e> {
    /// A runner over `engine` with `now()` pinned to `now`.
    pub fn new(engine: &'e Engine, now: DateTime<Utc>) -> Self {
        EngineRunner { engine, options: QueryOptions { now: Now::At(now), few_rows: false } }
    }
}

impl QueryRunner for EngineRunner<'_> {
    fn expect_window_fraction(&self, fraction: f64) {
        self.engine.set_filter_pushdown(fraction < crate::audit::NARROW_WINDOW);
    }

    fn run(&self, kql: &str) -> Result<ResultTable, String> {
        self.answer(kql, &self.options)
    }

    fn run_few(&self, kql: &str) -> Result<ResultTable, String> {
        self.answer(kql, &QueryOptions { few_rows: true, ..self.options.clone() })
    }

    fn store_totals(&self) -> Option<audit::store::Counts> {
        self.engine.store_totals().cloned()
    }
}

impl EngineRunner<'_> {
    fn answer(&self, kql: &str, options: &QueryOptions) -> Result<ResultTable, String> {
        let started = std::time::Instant::now();
        let result = self.engine.query(kql, options).map_err(|e| e.to_string())?;
        // APISERVER_DOCTOR_TIMINGS=1: each check query's time on stderr, to find the slow ones
        // (`=full`: with the whole query, to run it alone with `apiserver-doctor query`).
        let timings = std::env::var("APISERVER_DOCTOR_TIMINGS").unwrap_or_default();
        if !timings.is_empty() && timings != "0" {
            // The window filter every check starts with says little: show the rest.
            let flat = kql.split_whitespace().collect::<Vec<_>>().join(" ");
            let keep = if timings == "full" { usize::MAX } else { 240 };
            let shape: String = flat.chars().skip(flat.chars().count().saturating_sub(keep)).collect();
            // Not `eprintln!`, which panics when standard error is a closed pipe.
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "timing: {:>8.3} s  {} rows  {shape}",
                started.elapsed().as_secs_f64(),
                result.num_rows()
            );
        }
        let mut table = ResultTable {
            columns: result.columns.iter().map(|c| c.name.clone()).collect(),
            rows: Vec::with_capacity(result.num_rows()),
        };
        for batch in &result.batches {
            let columns: Vec<(ArrayRef, bool)> = (0..batch.num_columns())
                .map(|i| {
                    let dynamic = result.columns.get(i).is_some_and(|c| c.ty == engine::KType::Dynamic);
                    (batch.column(i).clone(), dynamic)
                })
                .collect();
            for row in 0..batch.num_rows() {
                table.rows.push(
                    columns.iter().map(|(array, dynamic)| cell(array.as_ref(), row, *dynamic)).collect(),
                );
            }
        }
        Ok(table)
    }
}

/// One Arrow value as a [`Cell`]; `dynamic` text columns are JSON and parsed.
fn cell(array: &dyn Array, row: usize, dynamic: bool) -> Cell {
    if array.is_null(row) {
        return Cell::Null;
    }
    match array.data_type() {
        DataType::Boolean => Cell::Bool(array.as_boolean().value(row)),
        DataType::Int8 => Cell::Int(i64::from(array.as_primitive::<Int8Type>().value(row))),
        DataType::Int16 => Cell::Int(i64::from(array.as_primitive::<Int16Type>().value(row))),
        DataType::Int32 => Cell::Int(i64::from(array.as_primitive::<Int32Type>().value(row))),
        DataType::Int64 => Cell::Int(array.as_primitive::<Int64Type>().value(row)),
        DataType::UInt32 => Cell::Int(i64::from(array.as_primitive::<UInt32Type>().value(row))),
        DataType::UInt64 => {
            Cell::Int(i64::try_from(array.as_primitive::<UInt64Type>().value(row)).unwrap_or(i64::MAX))
        }
        DataType::Float32 => Cell::Real(f64::from(array.as_primitive::<Float32Type>().value(row))),
        DataType::Float64 => Cell::Real(array.as_primitive::<Float64Type>().value(row)),
        DataType::Utf8 => text(array.as_string::<i32>().value(row), dynamic),
        DataType::LargeUtf8 => text(array.as_string::<i64>().value(row), dynamic),
        DataType::Utf8View => text(array.as_string_view().value(row), dynamic),
        DataType::Timestamp(unit, _) => {
            let nanos = match unit {
                TimeUnit::Second => {
                    array.as_primitive::<TimestampSecondType>().value(row).saturating_mul(1_000_000_000)
                }
                TimeUnit::Millisecond => {
                    array.as_primitive::<TimestampMillisecondType>().value(row).saturating_mul(1_000_000)
                }
                TimeUnit::Microsecond => {
                    array.as_primitive::<TimestampMicrosecondType>().value(row).saturating_mul(1_000)
                }
                TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().value(row),
            };
            Cell::Time(DateTime::from_timestamp_nanos(nanos))
        }
        DataType::List(_) => {
            let list = array.as_list::<i32>().value(row);
            Cell::List((0..list.len()).map(|i| cell(list.as_ref(), i, false)).collect())
        }
        DataType::LargeList(_) => {
            let list = array.as_list::<i64>().value(row);
            Cell::List((0..list.len()).map(|i| cell(list.as_ref(), i, false)).collect())
        }
        DataType::Dictionary(_, _) => match arrow::compute::cast(&array.slice(row, 1), &DataType::Utf8) {
            Ok(values) => cell(values.as_ref(), 0, dynamic),
            Err(_) => Cell::Null,
        },
        _ => match arrow::util::display::array_value_to_string(array, row) {
            Ok(s) => Cell::Text(s),
            Err(_) => Cell::Null,
        },
    }
}

fn text(s: &str, dynamic: bool) -> Cell {
    if dynamic && let Ok(value) = serde_json::from_str::<serde_json::Value>(s) {
        return json(&value);
    }
    Cell::Text(s.to_owned())
}

fn json(value: &serde_json::Value) -> Cell {
    match value {
        serde_json::Value::Null => Cell::Null,
        serde_json::Value::Bool(b) => Cell::Bool(*b),
        serde_json::Value::Number(n) => {
            n.as_i64().map(Cell::Int).or_else(|| n.as_f64().map(Cell::Real)).unwrap_or(Cell::Null)
        }
        serde_json::Value::String(s) => Cell::Text(s.clone()),
        serde_json::Value::Array(items) => Cell::List(items.iter().map(json).collect()),
        serde_json::Value::Object(_) => Cell::Text(value.to_string()),
    }
}
