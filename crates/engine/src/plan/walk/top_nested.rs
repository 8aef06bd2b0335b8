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
use kql::{Ident, NamedExpr, SortOrder, TopNestedLevel};

use super::{Planner, R, err};
use crate::plan::naming;
use crate::plan::value::Value;
use crate::plan::{Binding, Rel, column, internal};

/// The row number column while a level is ranked.
const RANK: &str = "__top_nested_rank";

impl Planner<'_> {
    pub(super) fn top_nested(&mut self, rel: Rel, levels: &[TopNestedLevel]) -> R<Rel> {
        let mut keys: Vec<NamedExpr> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        let mut kept: Option<Rel> = None;
        for (i, level) in levels.iter().enumerate() {
            if let Some(o) = &level.others {
                return Err(err(o.span, "not supported yet: `with others` in `top-nested`"));
            }
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
            kept = Some(match kept {
                None => ranked,
                Some(above) => within(above, ranked, i)?,
            });
        }
        kept.ok_or_else(|| internal("top-nested without a level"))
    }
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
        on.push(DfExpr::BinaryExpr(BinaryExpr::new(
            Box::new(expr_of(b)?),
            Operator::IsNotDistinctFrom,
            Box::new(column(&parent_name(j))),
        )));
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
