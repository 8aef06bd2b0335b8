//! What the events' own times let a query assume: when every event's `TimeGenerated` lies in
//! a window's bounds, a `where TimeGenerated between (…)` over that window keeps every row and
//! need not run. Every `diagnose` query starts with such a filter over the whole log, and it
//! cost each one a pass over two timestamp columns.
//!
//! The bounds come from the Parquet footers of a store (the writer keeps statistics for the
//! timestamps) or from the batches of an in-memory engine, never from a scan. A term is dropped
//! only when the bounds prove it true for every row; anything unproven stays.

use std::path::Path;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::TimestampNanosecondType;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::utils::{conjunction, split_conjunction};
use datafusion::logical_expr::{BinaryExpr, Expr, Operator};
use datafusion::parquet::file::metadata::ParquetMetaDataReader;
use datafusion::parquet::file::statistics::Statistics;

use audit::col;

/// The earliest and latest value of one timestamp column, and whether some row lacks it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Column {
    range: Option<(i64, i64)>,
    has_nulls: bool,
}

impl Column {
    fn merge(self, other: Column) -> Column {
        let range = match (self.range, other.range) {
            (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
            (a, b) => a.or(b),
        };
        Column { range, has_nulls: self.has_nulls || other.has_nulls }
    }
}

/// Bounds of the expressions a time filter compares, over every event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeBounds {
    /// `stage_timestamp`, when every event has one.
    stage: Option<(i64, i64)>,
    /// `TimeGenerated` (`time_generated`, else `stage_timestamp`), when every event has one.
    time_generated: Option<(i64, i64)>,
}

/// One part of the events (a file, a batch): its two columns.
#[derive(Debug, Clone, Copy, Default)]
struct Part {
    stage: Column,
    generated: Column,
}

impl TimeBounds {
    /// Combines the parts; `None` parts (statistics missing) prove nothing.
    fn of_parts(parts: impl IntoIterator<Item = Option<Part>>) -> TimeBounds {
        let mut stage = Column::default();
        let mut generated = Column::default();
        let mut every_row_timed = true;
        for part in parts {
            let Some(part) = part else { return TimeBounds::default() };
            // A row has a TimeGenerated when it has either time; known for the whole part only
            // when one of the two columns has no null in it.
            every_row_timed &= !part.stage.has_nulls || !part.generated.has_nulls;
            stage = stage.merge(part.stage);
            generated = generated.merge(part.generated);
        }
        let either = stage.merge(Column { has_nulls: false, ..generated }).range;
        TimeBounds {
            stage: if stage.has_nulls { None } else { stage.range },
            time_generated: if every_row_timed { either } else { None },
        }
    }

    /// From batches of the canonical schema.
    pub fn of_batches(batches: &[RecordBatch]) -> TimeBounds {
        let column = |b: &RecordBatch, name: &str| -> Option<Column> {
            let a = b.column_by_name(name)?.as_primitive_opt::<TimestampNanosecondType>()?;
            let range = arrow::compute::min(a).zip(arrow::compute::max(a));
            Some(Column { range, has_nulls: a.null_count() > 0 })
        };
        TimeBounds::of_parts(batches.iter().map(|b| {
            Some(Part { stage: column(b, col::STAGE_TIMESTAMP)?, generated: column(b, col::TIME_GENERATED)? })
        }))
    }

    /// The bounds of all the events of `parts`, each the bounds of some of them: what
    /// [`TimeBounds::of_parquet_files`] gives for all their files at once.
    pub fn merged(parts: impl IntoIterator<Item = TimeBounds>) -> TimeBounds {
        let both = |a: Option<(i64, i64)>, b: Option<(i64, i64)>| Some((a?.0.min(b?.0), a?.1.max(b?.1)));
        let mut parts = parts.into_iter();
        let Some(first) = parts.next() else { return TimeBounds::default() };
        parts.fold(first, |acc, p| TimeBounds {
            stage: both(acc.stage, p.stage),
            time_generated: both(acc.time_generated, p.time_generated),
        })
    }

    /// From the footers of the store's Parquet files; no bounds when a file cannot be read or
    /// lacks the statistics.
    pub fn of_parquet_files(files: &[impl AsRef<Path>]) -> TimeBounds {
        let mut parts = Vec::new();
        for f in files {
            match parquet_parts(f.as_ref()) {
                Some(p) => parts.extend(p.into_iter().map(Some)),
                None => return TimeBounds::default(),
            }
        }
        TimeBounds::of_parts(parts)
    }

    /// The earliest and latest `TimeGenerated`, when every event has one: then also the range
    /// of the first time present among `TimeGenerated`, `stageTimestamp` and
    /// `requestReceivedTimestamp` (nanoseconds).
    pub fn time_generated(&self) -> Option<(i64, i64)> {
        self.time_generated
    }

    /// `pred` without the terms the bounds prove true for every event; `None` when none is left.
    /// When a term is proven false for every event (a window wholly before or after the data,
    /// as a Kusto query's `ago(1h)` is over an old log), `pred` is `false`: the query reads
    /// nothing, where it read every file to find no row.
    pub fn simplify(&self, pred: Expr) -> Option<Expr> {
        if *self == TimeBounds::default() {
            return Some(pred);
        }
        let terms = split_conjunction(&pred);
        if terms.iter().any(|t| self.term_truth(t) == Some(false)) {
            return Some(Expr::Literal(ScalarValue::Boolean(Some(false)), None));
        }
        let kept: Vec<Expr> =
            terms.into_iter().filter(|t| self.term_truth(t) != Some(true)).cloned().collect();
        conjunction(kept)
    }

    /// What `term`, a comparison of a bounded time with a timestamp literal, is for every
    /// event: `Some(true)` when the bounds satisfy it, `Some(false)` when no event can,
    /// `None` when it depends on the event (or is not such a comparison).
    pub(crate) fn term_truth(&self, term: &Expr) -> Option<bool> {
        let Expr::BinaryExpr(BinaryExpr { left, op, right }) = term else { return None };
        let (left, right) = (as_nanos(left), as_nanos(right));
        let ((lo, hi), op, value) =
            match (self.range_of(left), timestamp(right), self.range_of(right), timestamp(left)) {
                (Some(range), Some(v), _, _) => (range, *op, v),
                (_, _, Some(range), Some(v)) => (range, op.swap()?, v),
                _ => return None,
            };
        let (always, never) = match op {
            Operator::GtEq => (lo >= value, hi < value),
            Operator::Gt => (lo > value, hi <= value),
            Operator::LtEq => (hi <= value, lo > value),
            Operator::Lt => (hi < value, lo >= value),
            _ => (false, false),
        };
        if always {
            Some(true)
        } else if never {
            Some(false)
        } else {
            None
        }
    }

    /// The bounds of `e` when it is one of the bounded times.
    fn range_of(&self, e: &Expr) -> Option<(i64, i64)> {
        match e {
            Expr::Column(c) if c.name == crate::event::hidden(col::STAGE_TIMESTAMP) => self.stage,
            Expr::ScalarFunction(f) if f.func.name() == crate::udf::udfs().first_present.name() => {
                match f.args.as_slice() {
                    [Expr::Column(g), Expr::Column(s)]
                        if g.name == crate::event::hidden(col::TIME_GENERATED)
                            && s.name == crate::event::hidden(col::STAGE_TIMESTAMP) =>
                    {
                        self.time_generated
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

/// `e` without a cast to Int64, which the planner puts around both sides of a time
/// comparison: nanoseconds as integers keep their order.
fn as_nanos(e: &Expr) -> &Expr {
    match e {
        Expr::Cast(c) if c.field.data_type() == &arrow::datatypes::DataType::Int64 => c.expr.as_ref(),
        other => other,
    }
}

/// A timestamp literal in nanoseconds, or a constant expression that folds to one: `ago(1h)`
/// and `now(-1d)` are planned as the query's now (a literal) minus a timespan, and the window a
/// query pasted from Log Analytics (`where TimeGenerated > ago(1h)` over an older log) read every
/// file to find no row (docs review s54 item 3).
fn timestamp(e: &Expr) -> Option<i64> {
    match e {
        Expr::Literal(ScalarValue::TimestampNanosecond(Some(v), _), _) => Some(*v),
        Expr::Literal(..) | Expr::Column(_) => None,
        e if e.column_refs().is_empty() => {
            use datafusion::optimizer::simplify_expressions::{ExprSimplifier, SimplifyContext};
            match ExprSimplifier::new(SimplifyContext::default()).simplify(e.clone()) {
                Ok(Expr::Literal(ScalarValue::TimestampNanosecond(Some(v), _), _)) => Some(v),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The two time columns of each row group of one Parquet file, from its statistics.
fn parquet_parts(path: &Path) -> Option<Vec<Part>> {
    let file = std::fs::File::open(path).ok()?;
    let meta = ParquetMetaDataReader::new().parse_and_finish(&file).ok()?;
    let schema = meta.file_metadata().schema_descr();
    let index = |name: &str| (0..schema.num_columns()).find(|&i| schema.column(i).path().string() == name);
    let (st, tg) = (index(col::STAGE_TIMESTAMP)?, index(col::TIME_GENERATED)?);
    meta.row_groups()
        .iter()
        .map(|rg| {
            let column = |i: usize| -> Option<Column> {
                let stats = rg.column(i).statistics()?;
                let nulls = stats.null_count_opt()?;
                let range = match stats {
                    Statistics::Int64(s) => s.min_opt().copied().zip(s.max_opt().copied()),
                    _ => return None,
                };
                // No range is known only when every value is null.
                if range.is_none() && nulls < u64::try_from(rg.num_rows()).ok()? {
                    return None;
                }
                Some(Column { range, has_nulls: nulls > 0 })
            };
            Some(Part { stage: column(st)?, generated: column(tg)? })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::logical_expr::{col as df_col, lit};

    fn ts(v: i64) -> Expr {
        lit(ScalarValue::TimestampNanosecond(Some(v), Some("UTC".into())))
    }

    fn stage() -> Expr {
        crate::event::hcol(col::STAGE_TIMESTAMP)
    }

    fn generated() -> Expr {
        crate::udf::call(
            &crate::udf::udfs().first_present,
            vec![crate::event::hcol(col::TIME_GENERATED), stage()],
        )
    }

    fn part(
        stage: Option<(i64, i64)>,
        stage_nulls: bool,
        generated: Option<(i64, i64)>,
        generated_nulls: bool,
    ) -> Option<Part> {
        Some(Part {
            stage: Column { range: stage, has_nulls: stage_nulls },
            generated: Column { range: generated, has_nulls: generated_nulls },
        })
    }

    #[test]
    fn a_window_around_every_event_drops_its_terms_and_keeps_the_rest() {
        // Log-backend events: no TimeGenerated column values, every stage time from 100 to 200.
        let b = TimeBounds::of_parts([
            part(Some((100, 150)), false, None, true),
            part(Some((120, 200)), false, None, true),
        ]);
        assert_eq!(b, TimeBounds { stage: Some((100, 200)), time_generated: Some((100, 200)) });
        let other = df_col("verb").eq(lit("list"));
        let window = generated().gt_eq(ts(100)).and(generated().lt_eq(ts(200)));
        assert_eq!(b.simplify(window.clone().and(other.clone())), Some(other.clone()));
        assert_eq!(b.simplify(window), None);
        // As the planner writes a comparison: both sides cast to nanoseconds.
        let cast = |e: Expr| datafusion::logical_expr::cast(e, arrow::datatypes::DataType::Int64);
        assert_eq!(
            b.simplify(cast(generated()).gt_eq(cast(ts(100))).and(other.clone())),
            Some(other.clone())
        );
        // Literal on the left, strict comparisons, the bare stage column.
        assert_eq!(b.simplify(ts(99).lt(generated()).and(stage().lt(ts(201)))), None);
    }

    #[test]
    fn a_window_that_cuts_the_events_is_kept() {
        let b = TimeBounds::of_parts([part(Some((100, 200)), false, None, true)]);
        for pred in [
            generated().gt_eq(ts(101)),
            generated().gt(ts(100)),
            generated().lt_eq(ts(199)),
            generated().lt(ts(200)),
            generated().eq(ts(150)),
            df_col("other_time").gt_eq(ts(0)),
        ] {
            assert_eq!(b.simplify(pred.clone()), Some(pred));
        }
    }

    #[test]
    fn a_window_wholly_outside_the_events_is_false_whatever_else_the_filter_says() {
        let b = TimeBounds::of_parts([part(Some((100, 200)), false, None, true)]);
        let never = Some(lit(false));
        let other = df_col("verb").eq(lit("list"));
        // After the last event, before the first, and a window between two that holds none.
        assert_eq!(b.simplify(generated().gt_eq(ts(201)).and(other.clone())), never);
        assert_eq!(b.simplify(generated().gt(ts(200))), never);
        assert_eq!(b.simplify(other.clone().and(generated().lt(ts(100)))), never);
        assert_eq!(b.simplify(generated().lt_eq(ts(99))), never);
        assert_eq!(b.simplify(ts(201).lt_eq(generated())), never, "literal on the left");
        assert_eq!(b.simplify(stage().gt(ts(250)).and(stage().lt(ts(300)))), never);
        // Touching the first or the last event is not outside.
        for pred in [generated().gt_eq(ts(200)), generated().lt_eq(ts(100))] {
            assert_eq!(b.simplify(pred.clone()), Some(pred));
        }
        // Without bounds (a part lacked statistics) nothing is proven false either.
        let unknown = TimeBounds::of_parts([part(Some((100, 200)), false, None, true), None]);
        let pred = generated().gt_eq(ts(201));
        assert_eq!(unknown.simplify(pred.clone()), Some(pred));
    }

    #[test]
    fn bounds_merged_file_by_file_are_those_of_all_the_files_at_once() {
        let cases = [
            vec![part(Some((100, 150)), false, None, true), part(Some((120, 200)), false, None, true)],
            vec![
                part(Some((100, 150)), true, Some((90, 160)), false),
                part(Some((120, 200)), false, None, true),
            ],
            vec![
                part(Some((100, 150)), true, Some((90, 160)), true),
                part(Some((120, 200)), false, None, true),
            ],
            vec![part(None, true, Some((5, 6)), false), part(Some((1, 2)), false, Some((3, 4)), false)],
            vec![part(Some((1, 2)), false, None, true), None],
        ];
        for parts in cases {
            let each = parts.iter().map(|p| TimeBounds::of_parts([*p]));
            assert_eq!(TimeBounds::merged(each), TimeBounds::of_parts(parts.clone()), "{parts:?}");
        }
        assert_eq!(TimeBounds::merged([]), TimeBounds::default());
    }

    #[test]
    fn rows_without_either_time_keep_the_filter_which_drops_them() {
        // A part where both columns have nulls: some row may have neither time.
        let b = TimeBounds::of_parts([part(Some((100, 200)), true, Some((100, 200)), true)]);
        assert_eq!(b, TimeBounds::default());
        let pred = generated().gt_eq(ts(0));
        assert_eq!(b.simplify(pred.clone()), Some(pred));
        // Azure rows: TimeGenerated on every row, stage times missing on some.
        let b = TimeBounds::of_parts([part(Some((100, 200)), true, Some((90, 210)), false)]);
        assert_eq!(b, TimeBounds { stage: None, time_generated: Some((90, 210)) });
        assert_eq!(b.simplify(generated().gt_eq(ts(90))), None);
        let pred = stage().gt_eq(ts(0));
        assert_eq!(b.simplify(pred.clone()), Some(pred));
        // A part without statistics proves nothing.
        assert_eq!(
            TimeBounds::of_parts([part(Some((1, 2)), false, None, true), None]),
            TimeBounds::default()
        );
    }

    #[test]
    fn batches_give_the_same_bounds_as_their_values() {
        let events = (0..5)
            .map(|i| audit::Event {
                audit_id: format!("id-{i}"),
                stage_timestamp: chrono::DateTime::from_timestamp(1_000 + i, 0),
                ..Default::default()
            })
            .collect::<Vec<_>>();
        let mut builder = audit::batch::CanonicalBuilder::new();
        for e in &events {
            builder.append(e, audit::InputFormat::K8sLog, &audit::batch::Origin::default(), false);
        }
        let batch = builder.finish().expect("batch");
        let s = 1_000_000_000_000;
        assert_eq!(
            TimeBounds::of_batches(&[batch]),
            TimeBounds { stage: Some((s, s + 4_000_000_000)), time_generated: Some((s, s + 4_000_000_000)) }
        );
    }
}
