//! `row_window_session(expr, max_from_first, max_between_neighbors [, restart])`: a window
//! function over serialized rows that gives each row the value its session started with.
//!
//! Kusto's model, read in the serialized order: a row starts a new session when there is no
//! session yet (or the value before it was null), when its value is at or past the session's
//! first value plus `max_from_first`, when it is at or past the previous value plus
//! `max_between_neighbors`, or when `restart` is true on it. A null value gives null and ends
//! the session. Each session depends on where the one before it started, so this is not a
//! composition of DataFusion's window functions: it is a window UDF that walks the rows.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, TimestampNanosecondBuilder};
use arrow::datatypes::{DurationNanosecondType, Field, FieldRef, TimestampNanosecondType};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{PartitionEvaluator, Signature, Volatility, WindowUDF, WindowUDFImpl};

/// The window UDF `kql_row_window_session(value, max_from_first, max_between_neighbors,
/// restart)`: a timestamp, two durations and a bool per row.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct WindowSession {
    signature: Signature,
}

/// The `row_window_session` window UDF.
pub fn window_session() -> Arc<WindowUDF> {
    Arc::new(WindowUDF::from(WindowSession { signature: Signature::any(4, Volatility::Immutable) }))
}

impl WindowUDFImpl for WindowSession {
    fn name(&self) -> &str {
        "kql_row_window_session"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn partition_evaluator(&self, _: PartitionEvaluatorArgs) -> Result<Box<dyn PartitionEvaluator>> {
        Ok(Box::new(Sessions::default()))
    }
    fn field(&self, args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(args.name(), crate::types::timestamp(), true)))
    }
}

/// The walk over the rows: the open session's first value and the previous row's value (none
/// when no session is open).
#[derive(Debug, Default)]
struct Sessions {
    open: Option<(i64, i64)>,
}

/// The four arguments, typed.
type Args<'a> = (
    &'a arrow::array::TimestampNanosecondArray,
    &'a arrow::array::DurationNanosecondArray,
    &'a arrow::array::DurationNanosecondArray,
    &'a arrow::array::BooleanArray,
);

fn typed(values: &[ArrayRef]) -> Result<Args<'_>> {
    let [value, first, neighbors, restart] = values else {
        return exec_err!("row_window_session() takes four arguments here, got {}", values.len());
    };
    match (
        value.as_primitive_opt::<TimestampNanosecondType>(),
        first.as_primitive_opt::<DurationNanosecondType>(),
        neighbors.as_primitive_opt::<DurationNanosecondType>(),
        restart.as_boolean_opt(),
    ) {
        (Some(v), Some(f), Some(n), Some(r)) => Ok((v, f, n, r)),
        _ => exec_err!("row_window_session() needs a datetime, two timespans and a bool"),
    }
}

impl Sessions {
    /// Row `i`'s session start (null for a null value), the rows before it already walked.
    fn step(&mut self, (value, first, neighbors, restart): Args<'_>, i: usize) -> Option<i64> {
        if value.is_null(i) {
            self.open = None;
            return None;
        }
        let v = value.value(i);
        let reached = |base: i64, arr: &arrow::array::DurationNanosecondArray| {
            !arr.is_null(i) && v >= base.saturating_add(arr.value(i))
        };
        let restarts = restart.is_valid(i) && restart.value(i);
        let start = match self.open {
            Some((start, prev)) if !(restarts || reached(start, first) || reached(prev, neighbors)) => start,
            _ => v,
        };
        self.open = Some((start, v));
        Some(start)
    }
}

impl PartitionEvaluator for Sessions {
    /// Each row's session depends only on the rows before it: DataFusion can stream the rows
    /// through [`Self::evaluate`] (a bounded window) instead of holding them all.
    fn supports_bounded_execution(&self) -> bool {
        true
    }

    fn is_causal(&self) -> bool {
        true
    }

    fn evaluate(&mut self, values: &[ArrayRef], range: &std::ops::Range<usize>) -> Result<ScalarValue> {
        let start = self.step(typed(values)?, range.start);
        Ok(ScalarValue::TimestampNanosecond(start, Some("UTC".into())))
    }

    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> Result<ArrayRef> {
        let args = typed(values)?;
        let mut out = TimestampNanosecondBuilder::with_capacity(num_rows).with_timezone("UTC");
        for i in 0..num_rows {
            out.append_option(self.step(args, i));
        }
        Ok(Arc::new(out.finish()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{BooleanArray, DurationNanosecondArray, TimestampNanosecondArray};

    const MIN: i64 = 60_000_000_000;

    /// The same rows through the bounded path, one `evaluate` per row, as DataFusion streams
    /// them.
    fn run_bounded(minutes: &[Option<i64>], restart: &[bool]) -> Vec<Option<i64>> {
        let n = minutes.len();
        let values = arrays(minutes, restart);
        let mut sessions = Sessions::default();
        (0..n)
            .map(|i| match sessions.evaluate(&values, &(i..i + 1)).expect("evaluates") {
                ScalarValue::TimestampNanosecond(v, _) => v.map(|v| v / MIN),
                other => panic!("not a timestamp: {other:?}"),
            })
            .collect()
    }

    fn arrays(minutes: &[Option<i64>], restart: &[bool]) -> Vec<ArrayRef> {
        let n = minutes.len();
        vec![
            Arc::new(TimestampNanosecondArray::from(
                minutes.iter().map(|m| m.map(|m| m * MIN)).collect::<Vec<_>>(),
            )),
            Arc::new(DurationNanosecondArray::from(vec![60 * MIN; n])),
            Arc::new(DurationNanosecondArray::from(vec![5 * MIN; n])),
            Arc::new(BooleanArray::from(restart.to_vec())),
        ]
    }

    fn run(minutes: &[Option<i64>], restart: &[bool]) -> Vec<Option<i64>> {
        let n = minutes.len();
        let out = Sessions::default().evaluate_all(&arrays(minutes, restart), n).expect("evaluates");
        let out = out.as_primitive::<TimestampNanosecondType>();
        (0..n).map(|i| out.is_valid(i).then(|| out.value(i) / MIN)).collect()
    }

    #[test]
    fn a_gap_a_long_session_a_restart_and_a_null_each_start_a_new_session() {
        // 0, 4, 8 (gaps under 5 minutes), 13 (a 5-minute gap: new), 15, restart at 16, null,
        // 17 (after a null: new); then every 4 minutes from 20 to 84, still the session of 17
        // until its hour ends at 77: 80 starts the next.
        let mut minutes = vec![Some(0), Some(4), Some(8), Some(13), Some(15), Some(16), None, Some(17)];
        let mut restart = vec![false, false, false, false, false, true, false, false];
        for m in (20..=84).step_by(4) {
            minutes.push(Some(m));
            restart.push(false);
        }
        let got = run(&minutes, &restart);
        let mut want = vec![Some(0), Some(0), Some(0), Some(13), Some(13), Some(16), None, Some(17)];
        for m in (20..=84).step_by(4) {
            want.push(Some(if m < 77 { 17 } else { 80 }));
        }
        assert_eq!(got, want);
        assert_eq!(run_bounded(&minutes, &restart), want);
    }
}
