//! Window functions (`row_number()`, `prev()`, `next()`, `row_cumsum()`) and the `serialize`
//! operator, over the serialized rows of [`crate::plan::serial`].
//!
//! A window function reads the rows around the current one in the serialized order, so it
//! needs serialized rows (Kusto refuses it elsewhere, and so does this planner, pointing at
//! the call), and it is planned only where a row-by-row expression of the rows it reads is:
//! `extend`, `project`, `serialize` and `where`. Each becomes a DataFusion window expression
//! ordered by the hidden index:
//!
//! - `prev(x, n, d)` / `next(x, n, d)`: `lag` / `lead` of `x` by `n`; out of range, `d` (a
//!   row that is there is told from one that is not by the index's own `lag`, never null), or
//!   null (`""` for a string, which is never null in Kusto).
//! - `row_number(s, r)`: the running count of rows, from `s`; with `r`, within runs of rows
//!   that start where `r` is true (a running group number: the count of rows so far where `r`
//!   holds).
//! - `row_cumsum(x, r)`: the running sum of `x`, restarting where `r` is true (the same groups).
//! - `row_rank_dense(x, r)` / `row_rank_min(x, r)`: over the same groups, a row "changes" where
//!   it is its group's first or `x` differs from the row before; the dense rank is the running
//!   count of changes, the min rank the running maximum of the row numbers where they happen.
//! - `row_window_session(t, first, neighbors, r)`: a window UDF of its own
//!   ([`crate::udf::session`]), since each session depends on where the one before started.
//!
//! Marking rows serialized costs a numbering of the rows, so it is done only for queries that
//! name a window function or `serialize` ([`State::new`]): other queries plan as before.

use arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::functions_aggregate::min_max::max_udaf;
use datafusion::functions_aggregate::sum::sum_udaf;
use datafusion::functions_window::expr_fn::{lag, lead, row_number};
use datafusion::logical_expr::expr::WindowFunction;
use datafusion::logical_expr::{
    Expr as DfExpr, ExprFunctionExt, Operator as DfOp, SortExpr, WindowFrame, WindowFrameBound,
    WindowFrameUnits, WindowFunctionDefinition, binary_expr, cast, lit, when,
};
use kql::{Expr, NamedExpr, OperatorKind, Source};

use super::{NumericInput, Planner, R, as_bool, err, lit_num, texpr};
use crate::plan::serial::{self, INDEX};
use crate::plan::value::{self, Value, convert};
use crate::plan::{Rel, column, internal};
use crate::types::{KType, Native};
use crate::udf::empty_if_null;

/// The window functions.
const WINDOW_FUNCTIONS: &[&str] =
    &["next", "prev", "row_cumsum", "row_number", "row_rank_dense", "row_rank_min", "row_window_session"];

/// The aggregates whose result follows the order of serialized rows: a query naming one
/// numbers its rows where they become serialized, as one naming a window function does.
const ORDERED_AGGREGATES: &[&str] = &["make_list", "make_list_if", "makelist"];

/// Where the planner is, for window functions.
pub(super) struct State {
    /// Whether the query names a window function, `serialize` or an aggregate that lists rows
    /// in order ([`ORDERED_AGGREGATES`]): only then are rows numbered where they become
    /// serialized.
    track: bool,
    /// Whether the operator being planned may hold window functions.
    allowed: bool,
}

impl State {
    /// The state for planning `source`.
    pub(super) fn new(source: &str) -> State {
        let track = match kql::lexer::tokenize(source) {
            Ok(tokens) => tokens.iter().any(|t| {
                matches!(&t.kind, kql::lexer::TokenKind::Ident(n)
                    if n == "serialize"
                        || WINDOW_FUNCTIONS.contains(&n.as_str())
                        || ORDERED_AGGREGATES.contains(&n.as_str()))
            }),
            // The query parsed, so this does not happen; numbering costs only time.
            Err(_) => true,
        };
        State { track, allowed: false }
    }
}

/// `ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW`: a running total.
fn running_frame() -> WindowFrame {
    WindowFrame::new_bounds(
        WindowFrameUnits::Rows,
        WindowFrameBound::Preceding(ScalarValue::UInt64(None)),
        WindowFrameBound::CurrentRow,
    )
}

/// A running sum of `x` over the serialized rows, within `partition`.
fn running_sum(x: DfExpr, partition: Vec<DfExpr>) -> R<DfExpr> {
    running(sum_udaf(), x, partition)
}

/// A running aggregate (`sum`, `max`) of `x` over the serialized rows, within `partition`.
fn running(
    f: std::sync::Arc<datafusion::logical_expr::AggregateUDF>,
    x: DfExpr,
    partition: Vec<DfExpr>,
) -> R<DfExpr> {
    DfExpr::from(WindowFunction::new(WindowFunctionDefinition::AggregateUDF(f), vec![x]))
        .partition_by(partition)
        .order_by(serial::by_index())
        .window_frame(running_frame())
        .build()
        .map_err(internal)
}

impl Planner<'_> {
    /// Plans one `| operator`, with what serialized rows need around it: whether window
    /// functions may be used in it, and the numbering of the rows it serializes.
    pub(super) fn serial_operator(&mut self, rel: Rel, op: &kql::Operator) -> R<Rel> {
        let allowed = matches!(
            op.kind,
            OperatorKind::Extend(_)
                | OperatorKind::Project(_)
                | OperatorKind::Serialize(_)
                | OperatorKind::Where(_)
        );
        let saved = std::mem::replace(&mut self.window.allowed, allowed);
        let out = self.operator(rel, op);
        self.window.allowed = saved;
        let out = out?;
        if !self.window.track {
            return Ok(out);
        }
        match &op.kind {
            OperatorKind::Sort(_) | OperatorKind::Top(_) | OperatorKind::TopHitters(_) => {
                serial::number_sorted(out)
            }
            OperatorKind::GetSchema => {
                let order = match out.get("ColumnOrdinal") {
                    Some(v) => vec![SortExpr::new(texpr(v.clone()).expr, true, false)],
                    None => Vec::new(),
                };
                serial::number(out, order)
            }
            _ => Ok(out),
        }
    }

    /// The rows of a source, numbered when it serializes them (`range`, in its order); a
    /// `datatable`'s rows keep their position for `serialize`.
    pub(super) fn serial_source(&mut self, rel: Rel, source: &Source) -> R<Rel> {
        if !self.window.track {
            return Ok(rel);
        }
        let r = match source {
            Source::Range(r) => r,
            Source::Datatable(_) => return serial::with_position(rel),
            _ => return Ok(rel),
        };
        // `range` unnests its values into the plan column `__range`, in the order of the step.
        if !rel.plan.schema().has_column_with_unqualified_name("__range") {
            return serial::number(rel, Vec::new());
        }
        let step = self.scalar(&super::empty_rel(self.engine)?, &r.step)?;
        let step = match step.ty() {
            KType::DateTime | KType::TimeSpan => value::nanos(texpr(step).expr),
            _ => cast(texpr(step).expr, DataType::Int64),
        };
        let descending = step.lt(lit(0i64));
        let key =
            when(descending, lit(0i64) - column("__range")).otherwise(column("__range")).map_err(internal)?;
        serial::number(rel, vec![SortExpr::new(key, true, false)])
    }

    /// `serialize [name = expr, …]`: the rows marked serialized (see [`serial::serialize`]),
    /// then extended.
    pub(super) fn serialize(&mut self, rel: Rel, items: &[NamedExpr], at: kql::Span) -> R<Rel> {
        let rel = serial::serialize(rel)?;
        if items.is_empty() {
            return Ok(rel);
        }
        let extend = kql::Operator { kind: OperatorKind::Extend(items.to_vec()), span: at };
        self.operator(rel, &extend)
    }

    /// A call of a window function: `row_number`, `prev`, `next` or `row_cumsum`.
    pub(super) fn window_function(&mut self, rel: &Rel, e: &Expr, f: &str, args: &[Expr]) -> R<Value> {
        if !self.window.allowed {
            return Err(err(
                e.span,
                format!("{f}() is a window function: it can be used in extend, project, serialize or where"),
            ));
        }
        if !serial::is_serialized(rel) {
            return Err(err(
                e.span,
                format!("{f}() needs serialized rows, and the rows here are not serialized"),
            )
            .with_help(
                "serialize them first with `| serialize` (any order) or `| order by …`; \
                     summarize, join, union, distinct and count do not keep an order",
            ));
        }
        match f {
            "prev" | "next" => self.shifted(rel, e, f, args),
            "row_number" => {
                self.arity(e, f, args, 0, 2)?;
                let start = match args.first() {
                    Some(a) => constant_integer(a, "row_number()'s starting index")?,
                    None => 1,
                };
                let numbered = row_number()
                    .partition_by(self.restart_groups(rel, args.get(1))?)
                    .order_by(serial::by_index())
                    .build()
                    .map_err(internal)?;
                Ok(Value::expr(cast(numbered, DataType::Int64) + lit(start - 1), KType::Long))
            }
            "row_cumsum" => {
                self.arity(e, f, args, 1, 2)?;
                let term = self.scalar(rel, &args[0])?;
                let (x, ty, back): NumericInput = match term.ty() {
                    KType::Int | KType::Long | KType::DynNative(Native::Long) => {
                        (cast(texpr(term).expr, DataType::Int64), KType::Long, None)
                    }
                    KType::Real | KType::DynNative(Native::Real) => {
                        (cast(texpr(term).expr, DataType::Float64), KType::Real, None)
                    }
                    KType::TimeSpan => (
                        value::nanos(texpr(term).expr),
                        KType::TimeSpan,
                        Some(value::timespan_from_nanos as fn(DfExpr) -> DfExpr),
                    ),
                    KType::Dynamic => (convert(term, KType::Real).expr, KType::Real, None),
                    other => {
                        return Err(err(
                            args[0].span,
                            format!("row_cumsum() sums an int, long, real or timespan, not a {other}"),
                        ));
                    }
                };
                let sum = running_sum(x, self.restart_groups(rel, args.get(1))?)?;
                Ok(Value::expr(back.map_or(sum.clone(), |f| f(sum)), ty))
            }
            "row_rank_dense" | "row_rank_min" => {
                self.arity(e, f, args, 1, 2)?;
                let term = texpr(self.scalar(rel, &args[0])?).expr;
                let groups = self.restart_groups(rel, args.get(1))?;
                let before = |x: DfExpr| -> R<DfExpr> {
                    lag(x, Some(1), None)
                        .partition_by(groups.clone())
                        .order_by(serial::by_index())
                        .build()
                        .map_err(internal)
                };
                // The index is never null: where its lag is, the row is its group's first.
                let first = before(column(INDEX))?.is_null();
                let differs = binary_expr(term.clone(), DfOp::IsDistinctFrom, before(term)?);
                let change = first.or(differs);
                let rank = if f == "row_rank_dense" {
                    let one = when(change, lit(1i64)).otherwise(lit(0i64)).map_err(internal)?;
                    running_sum(one, groups)?
                } else {
                    let n = row_number()
                        .partition_by(groups.clone())
                        .order_by(serial::by_index())
                        .build()
                        .map_err(internal)?;
                    let at = when(change, cast(n, DataType::Int64)).otherwise(lit(0i64)).map_err(internal)?;
                    running(max_udaf(), at, groups)?
                };
                Ok(Value::expr(cast(rank, DataType::Int64), KType::Long))
            }
            "row_window_session" => {
                self.arity(e, f, args, 3, 4)?;
                let t = self.scalar(rel, &args[0])?;
                if !matches!(t.ty(), KType::DateTime | KType::Dynamic | KType::DynNative(_)) {
                    return Err(err(
                        args[0].span,
                        format!("row_window_session() groups datetimes, not a {}", t.ty()),
                    ));
                }
                let mut a = vec![convert(t, KType::DateTime).expr];
                for (i, what) in [(1, "the longest session"), (2, "the longest gap between neighbours")] {
                    let d = self.scalar(rel, &args[i])?;
                    if d.ty() != KType::TimeSpan {
                        return Err(err(
                            args[i].span,
                            format!("{what} must be a timespan, not a {}", d.ty()),
                        ));
                    }
                    a.push(texpr(d).expr);
                }
                a.push(match args.get(3) {
                    Some(r) => as_bool(self.scalar(rel, r)?, r.span)?,
                    None => lit(false),
                });
                let session = DfExpr::from(WindowFunction::new(
                    WindowFunctionDefinition::WindowUDF(crate::udf::session::window_session()),
                    a,
                ))
                .order_by(serial::by_index())
                .build()
                .map_err(internal)?;
                Ok(Value::expr(session, KType::DateTime))
            }
            _ => Err(err(e.span, format!("not a window function: {f}()"))),
        }
    }

    /// The window partition of rows restarted where the bool `restart` holds (`row_number`'s
    /// and `row_cumsum`'s second argument): its running count of restarts; none without it.
    fn restart_groups(&mut self, rel: &Rel, restart: Option<&Expr>) -> R<Vec<DfExpr>> {
        let Some(r) = restart else { return Ok(Vec::new()) };
        let r = as_bool(self.scalar(rel, r)?, r.span)?;
        let one = when(r, lit(1i64)).otherwise(lit(0i64)).map_err(internal)?;
        Ok(vec![running_sum(one, Vec::new())?])
    }

    /// `prev(x [, offset [, default]])` and `next(…)`.
    fn shifted(&mut self, rel: &Rel, e: &Expr, f: &str, args: &[Expr]) -> R<Value> {
        self.arity(e, f, args, 1, 3)?;
        let v = texpr(self.scalar(rel, &args[0])?);
        let offset = match args.get(1) {
            Some(a) => constant_integer(a, &format!("{f}()'s offset"))?,
            None => 1,
        };
        // A negative offset looks the other way.
        let (back, n) = ((f == "prev") == (offset >= 0), offset.abs());
        let shift = |x: DfExpr| -> R<DfExpr> {
            let w = if back { lag(x, Some(n), None) } else { lead(x, Some(n), None) };
            w.order_by(serial::by_index()).build().map_err(internal)
        };
        let shifted = shift(v.expr.clone())?;
        let out = match args.get(2) {
            Some(d) => {
                let dv = self.scalar(rel, d)?;
                if !value::same_kind(v.ty, dv.ty()) {
                    return Err(err(
                        d.span,
                        format!("{f}()'s default value is a {}, and the column a {}", dv.ty(), v.ty),
                    ));
                }
                let dv = if dv.ty() == v.ty { texpr(dv).expr } else { convert(dv, v.ty).expr };
                // The index is never null: where its shift is, the row is not there.
                let missing = shift(column(INDEX))?.is_null();
                when(missing, dv).otherwise(shifted).map_err(internal)?
            }
            None if v.ty.is_stringy() => empty_if_null(shifted),
            None => shifted,
        };
        Ok(Value::expr(out, v.ty))
    }
}

/// An integer written as a constant (`2`, `-1`).
fn constant_integer(a: &Expr, what: &str) -> R<i64> {
    match lit_num(a) {
        Some(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => Ok(n as i64),
        _ => Err(err(a.span, format!("{what} must be a constant integer"))),
    }
}
