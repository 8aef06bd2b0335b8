//! Serialized row sets: rows in an order that window functions (`prev()`, `next()`,
//! `row_number()`, `row_cumsum()`) read.
//!
//! The order is carried in the plan as a hidden column, [`INDEX`]: each row's position, numbered
//! (`row_number()` over the sort keys) where the rows become serialized: after `sort`, `top`,
//! `top-hitters`, `getschema`, a `range` source and `serialize` (which, over rows in no set
//! order, numbers them in the order they arrive: any order will do in Kusto, as long as every
//! window function of the query reads the same one). A plan that holds the column is
//! serialized. Operators that keep the plan's columns (`extend`, `project` and its kin, `where`,
//! `take`, `parse`, `mv-expand`, `as`) keep it, so the rows stay serialized; those that build a
//! new plan (`summarize`, `count`, `distinct`, `join`, `lookup`, `union`, `make-series`,
//! `top-nested`) drop it, as Kusto's serialization rules say. The column is not one of the
//! event's hidden columns: [`super::Rel::materialize`] never carries it.
//!
//! Window functions are DataFusion window expressions ordered by the index; they are planned
//! inside ordinary scalar expressions, and [`windows`] computes them as plan columns (innermost
//! first: `row_number(1, prev(a) != a)` reads a `lag` inside a running sum) before the
//! projection or filter that reads them. The result comes out in the index's order, and so do
//! the rows `take` keeps ([`in_order`]).

use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::functions_window::expr_fn::row_number;
use datafusion::logical_expr::{Expr, ExprFunctionExt, LogicalPlan, LogicalPlanBuilder, SortExpr, lit};

use super::ops::{self, SortKey};
use super::value::Value;
use super::{Rel, column, internal};
use crate::error::PlanError;
use crate::types::KType;

type R<T> = Result<T, PlanError>;

/// The hidden column holding each serialized row's position.
pub const INDEX: &str = "__serial_index";

/// The index while it is renumbered.
const NEXT: &str = "__serial_index_next";

/// The position of each element in its array while serialized rows are expanded.
const ITEM: &str = "__serial_item";

/// The position of each row of a `datatable`, the order `serialize` gives its rows.
const POSITION: &str = "__serial_position";

/// Whether the rows of `rel` are serialized.
pub fn is_serialized(rel: &Rel) -> bool {
    rel.plan.schema().has_column_with_unqualified_name(INDEX)
}

/// The serialized order: by the index, first row first.
pub fn by_index() -> Vec<SortExpr> {
    vec![SortExpr::new(column(INDEX), true, false)]
}

/// Numbers the rows of `rel` by `order` (in the order they arrive when `order` is empty) as
/// the index, replacing any index they had.
pub fn number(mut rel: Rel, order: Vec<SortExpr>) -> R<Rel> {
    // `OVER ()`: DataFusion refuses an empty `ORDER BY`.
    let numbered = match order.is_empty() {
        true => row_number(),
        false => row_number().order_by(order).build().map_err(internal)?,
    }
    .alias(NEXT);
    let plan = LogicalPlanBuilder::from(rel.plan)
        .window(vec![numbered])
        .and_then(|b| b.build())
        .map_err(internal)?;
    rel.plan = reproject(plan, |_, c| match c.name.as_str() {
        INDEX => None,
        NEXT => Some(Expr::Column(c).alias(INDEX)),
        _ => Some(Expr::Column(c)),
    })?;
    Ok(rel)
}

/// `plan` projected on what `f` makes of each of its columns (with its position), in order:
/// the column as it is, renamed, or left out (`None`).
fn reproject(
    plan: LogicalPlan,
    mut f: impl FnMut(usize, datafusion::common::Column) -> Option<Expr>,
) -> R<LogicalPlan> {
    let exprs: Vec<Expr> =
        plan.schema().columns().into_iter().enumerate().filter_map(|(i, c)| f(i, c)).collect();
    LogicalPlanBuilder::from(plan).project(exprs).and_then(|b| b.build()).map_err(internal)
}

/// `serialize`: rows not yet serialized are numbered in their source's order where it has one
/// (a `datatable`'s, as written), else in the order they arrive.
pub fn serialize(rel: Rel) -> R<Rel> {
    if is_serialized(&rel) {
        return Ok(rel);
    }
    let order = if rel.plan.schema().has_column_with_unqualified_name(POSITION) {
        vec![SortExpr::new(column(POSITION), true, false)]
    } else {
        Vec::new()
    };
    number(rel, order)
}

/// The rows of a `datatable` with their position, for [`serialize`] (the plan of an empty one
/// has none to number).
pub fn with_position(mut rel: Rel) -> R<Rel> {
    let LogicalPlan::Values(v) = &rel.plan else { return Ok(rel) };
    let rows: Vec<Vec<Expr>> =
        v.values.iter().zip(0i64..).map(|(row, i)| row.iter().cloned().chain([lit(i)]).collect()).collect();
    let plan = LogicalPlanBuilder::values(rows).and_then(|b| b.build()).map_err(internal)?;
    let last = plan.schema().fields().len().saturating_sub(1);
    rel.plan = reproject(plan, |i, c| {
        Some(if i == last { Expr::Column(c).alias(POSITION) } else { Expr::Column(c) })
    })?;
    Ok(rel)
}

/// Numbers the rows of a `sort`, `top` or `top-hitters` by the sort keys of the plan's last
/// node (`top 0` has none, and no rows).
pub fn number_sorted(rel: Rel) -> R<Rel> {
    let order = match &rel.plan {
        LogicalPlan::Sort(s) => s.expr.clone(),
        _ => Vec::new(),
    };
    number(rel, order)
}

/// The rows of `rel` sorted by the index when they are serialized (before `take` and at the
/// end of the query), as they are otherwise.
pub fn in_order(rel: Rel) -> R<Rel> {
    if !is_serialized(&rel) {
        return Ok(rel);
    }
    let key = SortKey { value: Value::expr(column(INDEX), KType::Long), asc: true, nulls_first: false };
    ops::sort(rel, vec![key])
}

/// `mv-expand` of serialized rows: the rows of one input row take its place, in the order of
/// their elements, and the rows are numbered again.
pub fn mv_expand(rel: Rel, items: Vec<(String, Value)>, with_itemindex: Option<String>) -> R<Rel> {
    let item = with_itemindex.clone().unwrap_or_else(|| ITEM.to_owned());
    let mut rel = ops::expand(rel, items, Some(item.clone()))?;
    let position = match rel.get(&item) {
        Some(Value::Expr(t)) => t.expr.clone(),
        _ => return Err(internal("mv-expand lost its item index")),
    };
    if with_itemindex.is_none() {
        rel.cols.retain(|b| b.name != ITEM);
    }
    let mut order = by_index();
    order.push(SortExpr::new(position, true, true));
    number(rel, order)
}

/// Whether `e` holds a window function.
pub fn has_window(e: &Expr) -> bool {
    e.exists(|x| Ok(matches!(x, Expr::WindowFunction(_)))).unwrap_or(true)
}

/// The window functions inside `e` that hold no other window function, added to `out` once.
fn innermost(e: &Expr, out: &mut Vec<Expr>) -> R<()> {
    e.apply(|x| {
        if matches!(x, Expr::WindowFunction(_)) && !out.contains(x) {
            let mut nested = false;
            x.apply_children(|c| {
                nested = has_window(c);
                Ok(if nested { TreeNodeRecursion::Stop } else { TreeNodeRecursion::Continue })
            })?;
            if !nested {
                out.push(x.clone());
            }
        }
        Ok(TreeNodeRecursion::Continue)
    })
    .map_err(internal)?;
    Ok(())
}

/// Computes the window functions inside `exprs` as new columns of `plan`, innermost first,
/// and returns the plan with the expressions reading those columns instead. Without window
/// functions, both come back as they are.
///
/// Each level of nesting is a window node (one per partitioning and order) followed by a
/// projection that renames its results. Without the projection, DataFusion's
/// `common_sub_expression_eliminate` takes consecutive window nodes as one, and moved an
/// expression that reads an inner window's result below that window ("No field named
/// __window_2").
pub fn windows(plan: LogicalPlan, exprs: Vec<Expr>) -> R<(LogicalPlan, Vec<Expr>)> {
    let (mut plan, mut exprs) = (plan, exprs);
    let mut made = 0usize;
    loop {
        let mut found = Vec::new();
        for e in &exprs {
            innermost(e, &mut found)?;
        }
        if found.is_empty() {
            return Ok((plan, exprs));
        }
        let taken = |n: &str| plan.schema().has_column_with_unqualified_name(n);
        // Each result under two names: the window node's, then the projection's.
        let mut names = Vec::with_capacity(found.len());
        for _ in &found {
            let (mut inner, mut outer);
            loop {
                (inner, outer) = (format!("__window_{made}"), format!("__windowed_{made}"));
                made += 1;
                if !taken(&inner) && !taken(&outer) {
                    break;
                }
            }
            names.push((inner, outer));
        }
        // One window node per partitioning and order, as DataFusion plans them.
        let mut groups: Vec<(&Expr, Vec<Expr>)> = Vec::new();
        for (w, (name, _)) in found.iter().zip(&names) {
            let aliased = w.clone().alias(name.clone());
            match groups.iter_mut().find(|(first, _)| same_window(first, w)) {
                Some((_, members)) => members.push(aliased),
                None => groups.push((w, vec![aliased])),
            }
        }
        for (_, members) in groups {
            plan =
                LogicalPlanBuilder::from(plan).window(members).and_then(|b| b.build()).map_err(internal)?;
        }
        plan = reproject(plan, |_, c| {
            Some(match names.iter().find(|(inner, _)| *inner == c.name) {
                Some((_, outer)) => Expr::Column(c).alias(outer.clone()),
                None => Expr::Column(c),
            })
        })?;
        exprs = exprs
            .into_iter()
            .map(|e| {
                e.transform_down(|x| match found.iter().position(|w| *w == x) {
                    Some(i) => Ok(Transformed::new(column(&names[i].1), true, TreeNodeRecursion::Jump)),
                    None => Ok(Transformed::no(x)),
                })
                .map(|t| t.data)
                .map_err(internal)
            })
            .collect::<R<Vec<_>>>()?;
    }
}

/// Whether two window functions have the same partitioning and order.
fn same_window(a: &Expr, b: &Expr) -> bool {
    match (a, b) {
        (Expr::WindowFunction(a), Expr::WindowFunction(b)) => {
            a.params.partition_by == b.params.partition_by && a.params.order_by == b.params.order_by
        }
        _ => false,
    }
}

/// `where pred` where `pred` reads window functions: they are computed first, over the rows
/// before the filter, and dropped after it.
pub fn filter(mut rel: Rel, pred: Expr) -> R<Rel> {
    let keep = rel.plan_columns();
    let (plan, mut preds) = windows(rel.plan, vec![pred])?;
    let pred = preds.pop().ok_or_else(|| internal("a filter lost its predicate"))?;
    rel.plan = LogicalPlanBuilder::from(plan)
        .filter(pred)
        .and_then(|b| b.project(keep))
        .and_then(|b| b.build())
        .map_err(internal)?;
    Ok(rel)
}
