//! `make-series`: per group, one array per aggregate over the fixed bins of an axis (missing
//! bins hold the default: `default=`, else 0 of the aggregate's type, `0.0` in a real series), and
//! the axis itself as an array.
//!
//! Planned as two aggregations: the aggregates by group and bin index, then, per group, each
//! aggregate's `[bin, value]` pairs collected and laid out into an array of the series' length
//! (`kql_series_fill`). Without `from` / `to`, the bounds are the binned minimum and maximum of
//! the axis over the whole input (a one-row aggregate joined to every row), as in Kusto.

use arrow::datatypes::DataType;
use datafusion::functions_aggregate::expr_fn::{max, min};
use datafusion::logical_expr::{Expr as DfExpr, LogicalPlanBuilder, cast, lit};
use datafusion::prelude::concat;
use kql::{ExprKind, MakeSeries};

use super::{Planner, R, empty_rel, err, is_aggregate, texpr};
use crate::plan::naming;
use crate::plan::ops::{self, AggOut};
use crate::plan::value::{self, Value, convert, to_json};
use crate::plan::{Rel, column, internal};
use crate::types::{KType, Native};
use crate::udf::{aggregates, call, udfs};

/// The most bins one series may have.
pub const MAX_BINS: i64 = 100_000;

impl Planner<'_> {
    pub(super) fn make_series(&mut self, rel: Rel, ms: &MakeSeries) -> R<Rel> {
        let axis = self.scalar(&rel, &ms.on)?;
        let axis_name = naming::derived(&ms.on).unwrap_or_else(|| self.column_n());
        let time = match axis.ty() {
            KType::DateTime | KType::DynNative(Native::DateTime) => true,
            KType::Long | KType::Int | KType::DynNative(Native::Long) => false,
            other => {
                return Err(err(
                    ms.on.span,
                    format!("make-series on a {other} axis is not supported yet; use a datetime or a long"),
                ));
            }
        };
        // The axis, bounds and step as integers (nanoseconds for datetimes).
        let as_int = |v: Value, what: &str, s: kql::Span| -> R<DfExpr> {
            match (time, v.ty()) {
                (true, KType::DateTime | KType::DynNative(Native::DateTime)) if what != "step" => {
                    Ok(value::nanos(texpr(v).expr))
                }
                (true, KType::TimeSpan) if what == "step" => Ok(value::nanos(texpr(v).expr)),
                (false, t) if t.is_numeric() => Ok(convert(v, KType::Long).expr),
                (_, t) => Err(err(
                    s,
                    format!(
                        "make-series {what}: a {t} does not fit a {} axis",
                        if time { "datetime" } else { "long" }
                    ),
                )),
            }
        };
        let axis_i = as_int(axis, "on", ms.on.span)?;
        let non_positive = match &ms.step.kind {
            ExprKind::Literal(kql::Literal::Timespan(n) | kql::Literal::Long(n)) => *n <= 0,
            ExprKind::Literal(kql::Literal::Int(n)) => *n <= 0,
            ExprKind::Unary { op: kql::UnaryOp::Neg, .. } => true,
            _ => false,
        };
        if non_positive {
            return Err(err(ms.step.span, "make-series step must be positive (e.g. `step 5m`)"));
        }
        let step_v = self.scalar(&rel, &ms.step)?;
        let step = as_int(step_v, "step", ms.step.span)?;
        let from = match &ms.from {
            Some(f) => Some(as_int(self.scalar(&rel, f)?, "from", f.span)?),
            None => None,
        };
        let to = match &ms.to {
            Some(t) => Some(as_int(self.scalar(&rel, t)?, "to", t.span)?),
            None => None,
        };

        let keys = self.group_keys(&rel, &ms.by)?;
        // Each aggregate and its default (JSON text).
        let mut aggs: Vec<(AggOut, DfExpr)> = Vec::new();
        for a in &ms.aggregates {
            let ExprKind::Call { name, args } = &a.agg.expr.kind else {
                return Err(err(
                    a.agg.expr.span,
                    "make-series needs an aggregate function here (count(), avg(…), …)",
                ));
            };
            if !is_aggregate(&name.name) {
                return Err(err(
                    a.agg.expr.span,
                    "make-series needs an aggregate function here (count(), avg(…), …)",
                ));
            }
            let mut produced = self.aggregate(
                &rel,
                &a.agg.expr,
                &name.name,
                args,
                a.agg.name.as_ref().map(|n| n.name.clone()),
            )?;
            if produced.len() != 1 {
                return Err(err(
                    a.agg.expr.span,
                    format!("{}() gives several columns; make-series takes one per aggregate", name.name),
                ));
            }
            let default = match &a.default {
                Some(d) => {
                    let empty = empty_rel(self.engine)?;
                    Some(to_json(
                        &self.scalar(&empty, d).map_err(|_| err(d.span, "default= must be a constant"))?,
                    ))
                }
                None => None,
            };
            aggs.extend(produced.drain(..).map(|o| {
                let d = default.clone().unwrap_or_else(|| lit(zero_json(o.ty)));
                (o, d)
            }));
        }

        // The axis as a column, and the bounds: given, or from the whole input's min and max.
        let mut rel = rel;
        let computed = rel.compute(vec![("__ms_axis".to_owned(), Value::expr(axis_i, KType::Long))])?;
        let axis_col = texpr(computed.into_iter().next().ok_or_else(|| internal("make-series axis"))?).expr;
        let bin_of = |x: DfExpr| -> DfExpr {
            if time {
                value::nanos(call(&udfs().bin_datetime, vec![value::datetime_from_nanos(x), step.clone()]))
            } else {
                call(&udfs().bin_number, vec![x, step.clone()])
            }
        };
        if from.is_none() || to.is_none() {
            let bounds = LogicalPlanBuilder::from(rel.plan.clone())
                .aggregate(
                    Vec::<DfExpr>::new(),
                    vec![min(axis_col.clone()).alias("__ms_lo"), max(axis_col.clone()).alias("__ms_hi")],
                )
                .and_then(|b| b.build())
                .map_err(internal)?;
            rel.plan = LogicalPlanBuilder::from(rel.plan)
                .cross_join(bounds)
                .and_then(|b| b.build())
                .map_err(internal)?;
        }
        let start = from.unwrap_or_else(|| bin_of(column("__ms_lo")));
        let end = to.unwrap_or_else(|| bin_of(column("__ms_hi")) + step.clone());
        let rel = ops::filter(
            rel,
            axis_col
                .clone()
                .is_not_null()
                .and(axis_col.clone().gt_eq(start.clone()))
                .and(axis_col.clone().lt(end.clone())),
        )?;
        let n = (end - start.clone() + step.clone() - lit(1i64)) / step.clone();
        let bin = (axis_col - start.clone()) / step.clone();

        // First aggregation: by group and bin.
        let mut first_keys = keys.clone();
        first_keys.push(("__ms_bin".to_owned(), Value::expr(bin, KType::Long)));
        first_keys.push(("__ms_start".to_owned(), Value::expr(start, KType::Long)));
        first_keys.push(("__ms_n".to_owned(), Value::expr(n, KType::Long)));
        let names: Vec<String> = aggs.iter().map(|(a, _)| a.name.clone()).collect();
        let defaults: Vec<DfExpr> = aggs.iter().map(|(_, d)| d.clone()).collect();
        let binned = ops::summarize(rel, first_keys, aggs.into_iter().map(|(a, _)| a).collect())?;

        // Second: per group, every aggregate's `[bin, value]` pairs.
        let mut second_keys: Vec<(String, Value)> = Vec::new();
        for (k, _) in &keys {
            let v = binned.get(k).cloned().ok_or_else(|| internal("make-series key"))?;
            second_keys.push((k.clone(), v));
        }
        for k in ["__ms_start", "__ms_n"] {
            second_keys.push((k.to_owned(), Value::expr(column(k), KType::Long)));
        }
        let mut pairs = Vec::new();
        for name in &names {
            let v = binned.get(name).cloned().ok_or_else(|| internal("make-series aggregate"))?;
            let pair = concat(vec![
                lit("["),
                cast(column("__ms_bin"), DataType::Utf8),
                lit(","),
                to_json(&v),
                lit("]"),
            ]);
            let list = aggregates::make_list(false, usize::MAX).call(vec![pair]);
            pairs.push(AggOut {
                name: format!("__ms_pairs_{}", pairs.len()),
                expr: list,
                ty: KType::Dynamic,
                post: None,
                empty: None,
                empty_input: None,
            });
        }
        let grouped = ops::summarize(binned, second_keys, pairs)?;

        // The arrays: group keys, aggregates, then the axis.
        let u = udfs();
        let mut items: Vec<(String, Value)> = Vec::new();
        for (k, _) in &keys {
            items.push((k.clone(), grouped.get(k).cloned().ok_or_else(|| internal("make-series key"))?));
        }
        for (i, (name, default)) in names.iter().zip(defaults).enumerate() {
            let filled =
                call(&u.series_fill, vec![column(&format!("__ms_pairs_{i}")), column("__ms_n"), default]);
            items.push((name.clone(), Value::expr(filled, KType::Dynamic)));
        }
        let axis_arr = call(&u.series_axis, vec![column("__ms_start"), step, column("__ms_n"), lit(time)]);
        items.push((axis_name, Value::expr(axis_arr, KType::Dynamic)));
        ops::project(grouped, items)
    }
}

/// The default of a bin without a value when `default=` is not given: 0 of the aggregate's
/// type, so a real series holds `0.0` (`avg`, `stdev`, …) and a long one `0` (`count()`), as
/// the make-series page's example output shows (review 52 item 9).
fn zero_json(ty: KType) -> &'static str {
    match ty {
        KType::Real | KType::DynNative(Native::Real) => "0.0",
        _ => "0",
    }
}
