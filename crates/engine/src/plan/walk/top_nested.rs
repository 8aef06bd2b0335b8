//! `top-nested`: the top values of an expression by an aggregate, then, within each of them,
//! the top values of the next expression, and so on. One row per value of the innermost level,
//! with every level's value and aggregate (`State, aggregated_State, Source, aggregated_Source`).
//!
//! Planned level by level. Level `i` is a `summarize` of its aggregate by the first `i` keys;
//! its rows are numbered within the values of the level above (`row_number()` partitioned by
//! the keys above, largest aggregate first unless `asc`, ties by key), the first `N` kept, and
//! joined to the rows kept at the level above: that carries their aggregates and drops the
//! values whose parent did not make it. Keys are matched null to null.

use datafusion::functions_window::expr_fn::row_number;
use datafusion::logical_expr::{
    BinaryExpr, Expr as DfExpr, ExprFunctionExt, JoinType, LogicalPlanBuilder, Operator, SortExpr, lit,
};
use kql::{Expr, ExprKind, Ident, NamedExpr, SortOrder, TopHitters, TopNestedLevel};

use super::{Planner, R, err};
use crate::plan::naming;
use crate::plan::ops;
use crate::plan::value::Value;
use crate::plan::{Binding, Rel, column, internal};

/// The row number column while a level is ranked.
const RANK: &str = "__top_nested_rank";

impl Planner<'_> {
    pub(super) fn top_nested(&mut self, rel: Rel, levels: &[TopNestedLevel]) -> R<Rel> {
        let mut keys: Vec<NamedExpr> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        let mut kept: Option<Rel> = None;
        // The `with others` rows of each level, with the columns of the levels above.
        let mut others: Vec<Rel> = Vec::new();
        for (i, level) in levels.iter().enumerate() {
            let key = match &level.of.name {
                Some(n) => n.name.clone(),
                None => naming::derived(&level.of.expr).unwrap_or_else(|| self.column_n()),
            };
            let agg = match &level.by.name {
                Some(n) => n.name.clone(),
                None => format!("aggregated_{key}"),
            };
            for name in [&key, &agg] {
                if names.contains(name) {
                    return Err(err(
                        level.span,
                        format!(
                            "`top-nested` would name two columns `{name}`: name this level's (`of Name = …`, `by Name = …`)"
                        ),
                    ));
                }
                names.push(name.clone());
            }
            keys.push(NamedExpr {
                name: Some(Ident::new(key.clone(), level.of.span)),
                expr: level.of.expr.clone(),
                span: level.of.span,
            });
            let aggregate = NamedExpr {
                name: Some(Ident::new(agg.clone(), level.by.span)),
                expr: level.by.expr.clone(),
                span: level.by.span,
            };
            let summary = self.summarize(rel.clone(), std::slice::from_ref(&aggregate), &keys)?;
            if summary.cols.len() != i + 2 {
                return Err(err(
                    level.by.span,
                    "`top-nested` ranks by one aggregate (`by count()`, `by sum(x)`, …)",
                ));
            }
            let ranked = match &level.count {
                Some(n) => {
                    let n = self.count_arg(&rel, n)?;
                    rank(summary, i, n, level.order == Some(SortOrder::Asc))?
                }
                None => summary,
            };
            // Without a count every value is kept: no others.
            if let (Some(value), Some(_)) = (&level.others, &level.count) {
                let rows = self.others_rows(&rel, &keys, &ranked, &aggregate, value)?;
                others.push(match &kept {
                    None => rows,
                    Some(above) => within(above.clone(), rows, i)?,
                });
            }
            kept = Some(match kept {
                None => ranked,
                Some(above) => within(above, ranked, i)?,
            });
        }
        let kept = kept.ok_or_else(|| internal("top-nested without a level"))?;
        if others.is_empty() {
            return Ok(kept);
        }
        // The others rows have no values for the levels below theirs: nulls there.
        let legs = std::iter::once(kept).chain(others).map(|r| (String::new(), r)).collect();
        ops::union(legs, None)
    }

    /// `top-hitters N of expr [by s]`: Kusto estimates; this counts (or sums) exactly, then keeps
    /// the `N` largest, in columns `expr` and `approximate_count_expr` (`approximate_sum_s`).
    pub(super) fn top_hitters(&mut self, rel: Rel, t: &TopHitters) -> R<Rel> {
        let n = self.count_arg(&rel, &t.count)?;
        let key = naming::derived(&t.of).unwrap_or_else(|| self.column_n());
        let at = t.of.span;
        let (agg, call) = match &t.by {
            None => (format!("approximate_count_{key}"), ("count", Vec::new())),
            Some(b) => {
                let summed = naming::derived(b).unwrap_or_else(|| self.column_n());
                (format!("approximate_sum_{summed}"), ("sum", vec![b.clone()]))
            }
        };
        let aggregate = NamedExpr {
            name: Some(Ident::new(agg.clone(), at)),
            expr: Expr::new(ExprKind::Call { name: Ident::new(call.0, at), args: call.1 }, at),
            span: at,
        };
        let by = NamedExpr { name: Some(Ident::new(key, at)), expr: t.of.clone(), span: at };
        let summary = self.summarize(rel, &[aggregate], &[by])?;
        let largest = ops::SortKey { value: summary.cols[1].value.clone(), asc: false, nulls_first: false };
        ops::top(summary, n, vec![largest])
    }

    /// The `with others = value` rows of the level whose keys are `keys` (the last one its
    /// own): per value of the keys above, `aggregate` over the rows whose keys are not among
    /// `top`'s, under `value` as the key. None where no row was left out.
    fn others_rows(
        &mut self,
        rel: &Rel,
        keys: &[NamedExpr],
        top: &Rel,
        aggregate: &NamedExpr,
        value: &Expr,
    ) -> R<Rel> {
        let own = keys.len() - 1;
        let key_col = |j: usize| format!("__top_nested_key{j}");
        let top_col = |j: usize| format!("__top_nested_top{j}");
        // Every row with its keys computed, less the rows of the top values.
        let mut items = Vec::new();
        for (j, k) in keys.iter().enumerate() {
            let v = self.scalar(rel, &k.expr)?;
            items.push((key_col(j), Value::Expr(ops::key_value(v))));
        }
        let with_keys = ops::extend(rel.clone(), items)?.materialize(true)?;
        let top_keys = top.cols[..=own]
            .iter()
            .enumerate()
            .map(|(j, b)| expr_of(b).map(|e| e.alias(top_col(j))))
            .collect::<R<Vec<_>>>()?;
        let top_plan = LogicalPlanBuilder::from(top.plan.clone())
            .project(top_keys)
            .and_then(|b| b.build())
            .map_err(internal)?;
        let mut on = Vec::new();
        for j in 0..=own {
            let key = with_keys.get(&key_col(j)).ok_or_else(|| internal("a top-nested key went missing"))?;
            on.push(null_safe_eq(
                expr_of(&Binding { name: key_col(j), value: key.clone() })?,
                column(&top_col(j)),
            ));
        }
        let rest_plan = LogicalPlanBuilder::from(with_keys.plan)
            .join_on(top_plan, JoinType::LeftAnti, on)
            .and_then(|b| b.build())
            .map_err(internal)?;
        let rest = Rel { plan: rest_plan, cols: with_keys.cols, has_event: with_keys.has_event };
        // Summarized by the keys above, counting the rows so that a level that left nothing
        // out gives no row.
        let at = aggregate.span;
        let name = |n: &str| Expr::new(ExprKind::Name(Ident::new(n, at)), at);
        let parents: Vec<NamedExpr> = keys[..own]
            .iter()
            .enumerate()
            .map(|(j, k)| NamedExpr { name: k.name.clone(), expr: name(&key_col(j)), span: k.span })
            .collect();
        let count = Expr::new(ExprKind::Call { name: Ident::new("count", at), args: Vec::new() }, at);
        let rows = NamedExpr { name: Some(Ident::new("__top_nested_rows", at)), expr: count, span: at };
        let summary = self.summarize(rest, &[aggregate.clone(), rows], &parents)?;
        let summary = ops::filter(summary, column("__top_nested_rows").gt(lit(0i64)))?;
        let key_ty = top.cols[own].value.ty();
        let others = self.scalar(&summary, value)?;
        if others.ty() != key_ty {
            return Err(err(
                value.span,
                format!(
                    "`with others` needs a {} here, like the values of `{}`",
                    key_ty.name(),
                    top.cols[own].name
                ),
            ));
        }
        let mut out: Vec<(String, Value)> =
            summary.cols[..own].iter().map(|b| (b.name.clone(), b.value.clone())).collect();
        out.push((top.cols[own].name.clone(), others));
        out.push((top.cols[own + 1].name.clone(), summary.cols[own].value.clone()));
        ops::project(summary, out)
    }
}

/// `a` equals `b`, or both are null.
fn null_safe_eq(a: DfExpr, b: DfExpr) -> DfExpr {
    DfExpr::BinaryExpr(BinaryExpr::new(Box::new(a), Operator::IsNotDistinctFrom, Box::new(b)))
}

/// The expression of a summary's column.
fn expr_of(b: &Binding) -> R<DfExpr> {
    match &b.value {
        Value::Expr(t) => Ok(t.expr.clone()),
        Value::Event(_) => Err(internal("top-nested over a whole event")),
    }
}

/// `summary` (keys `0..=parents`, then the aggregate) cut to its first `n` rows per value of
/// the keys before `parents`.
fn rank(summary: Rel, parents: usize, n: usize, ascending: bool) -> R<Rel> {
    let cols = &summary.cols;
    let partition = cols[..parents].iter().map(expr_of).collect::<R<Vec<_>>>()?;
    let order = vec![
        SortExpr::new(expr_of(&cols[parents + 1])?, ascending, false),
        SortExpr::new(expr_of(&cols[parents])?, true, false),
    ];
    let numbered = row_number().partition_by(partition).order_by(order).build().map_err(internal)?;
    let keep = cols.iter().map(|b| expr_of(b).map(|e| e.alias(b.name.clone()))).collect::<R<Vec<_>>>()?;
    let plan = LogicalPlanBuilder::from(summary.plan)
        .window(vec![numbered.alias(RANK)])
        .and_then(|b| b.filter(column(RANK).lt_eq(lit(n as u64))))
        .and_then(|b| b.project(keep))
        .and_then(|b| b.build())
        .map_err(internal)?;
    let cols = summary.cols.iter().map(|b| rebind(b, &b.name)).collect();
    Ok(Rel { plan, cols, has_event: false })
}

/// `b` read back from a plain column `name`.
fn rebind(b: &Binding, name: &str) -> Binding {
    let ty = match &b.value {
        Value::Expr(t) => t.ty,
        Value::Event(_) => crate::types::KType::Dynamic,
    };
    Binding { name: b.name.clone(), value: Value::expr(column(name), ty) }
}

/// The rows of `level` (keys `0..=parents`, then its aggregate) whose first `parents` keys are
/// a row of `above`, with `above`'s columns first.
fn within(above: Rel, level: Rel, parents: usize) -> R<Rel> {
    // The level's parent keys under names of their own, to join on.
    let parent_name = |j: usize| format!("__top_nested_parent{j}");
    let mut renamed = Vec::new();
    for (j, b) in level.cols.iter().enumerate() {
        let name = if j < parents { parent_name(j) } else { b.name.clone() };
        renamed.push(expr_of(b)?.alias(name));
    }
    let right =
        LogicalPlanBuilder::from(level.plan).project(renamed).and_then(|b| b.build()).map_err(internal)?;
    let above_keys: Vec<&Binding> = above.cols.iter().step_by(2).collect();
    let mut on = Vec::new();
    for (j, b) in above_keys.iter().enumerate().take(parents) {
        on.push(null_safe_eq(expr_of(b)?, column(&parent_name(j))));
    }
    let mut out = Vec::new();
    let mut cols = Vec::new();
    for b in &above.cols {
        out.push(expr_of(b)?.alias(b.name.clone()));
        cols.push(rebind(b, &b.name));
    }
    for b in &level.cols[parents..] {
        out.push(column(&b.name));
        cols.push(rebind(b, &b.name));
    }
    let plan = LogicalPlanBuilder::from(above.plan)
        .join_on(right, JoinType::Inner, on)
        .and_then(|b| b.project(out))
        .and_then(|b| b.build())
        .map_err(internal)?;
    Ok(Rel { plan, cols, has_event: false })
}
