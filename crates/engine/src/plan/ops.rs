//! Tabular operators over [`Rel`]s: each turns already-planned expressions into plan nodes.

use std::collections::HashSet;

use arrow::datatypes::DataType;
use datafusion::common::{JoinType, NullHandling, ScalarValue, UnnestOptions};
use datafusion::functions_aggregate::expr_fn::count;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, SortExpr, cast, lit, when};
use datafusion::prelude::isnan;

use super::value::{TExpr, Value, to_dynamic, to_json, unify};
use super::{Binding, Rel, column, internal};
use crate::error::PlanError;
use crate::event::is_hidden;
use crate::types::{KType, Native};
use crate::udf::{call, empty_if_null, udfs};

type R<T> = Result<T, PlanError>;

fn build(b: datafusion::common::Result<LogicalPlanBuilder>) -> R<datafusion::logical_expr::LogicalPlan> {
    b.and_then(|b| b.build()).map_err(internal)
}

/// `where pred`.
pub fn filter(mut rel: Rel, pred: Expr) -> R<Rel> {
    if super::serial::has_window(&pred) {
        return super::serial::filter(rel, pred);
    }
    rel.plan = build(LogicalPlanBuilder::from(rel.plan).filter(pred))?;
    Ok(rel)
}

/// `extend name = value, …`: as in Kusto, a column the input already has is removed and
/// appended with its new value; new columns are appended.
pub fn extend(mut rel: Rel, items: Vec<(String, Value)>) -> R<Rel> {
    let names: Vec<String> = items.iter().map(|(n, _)| n.clone()).collect();
    rel.cols.retain(|b| !names.contains(&b.name));
    set_columns(rel, items)
}

/// Computes `items` and replaces the columns of the same names where they stand, or appends
/// them (`parse`, the typed columns of `mv-expand`).
pub fn set_columns(mut rel: Rel, items: Vec<(String, Value)>) -> R<Rel> {
    let names: Vec<String> = items.iter().map(|(n, _)| n.clone()).collect();
    let values = rel.compute(items)?;
    for (name, value) in names.into_iter().zip(values) {
        match rel.cols.iter_mut().find(|b| b.name == name) {
            Some(b) => b.value = value,
            None => rel.cols.push(Binding { name, value }),
        }
    }
    Ok(rel)
}

/// `project name = value, …`: exactly these columns, in this order.
pub fn project(mut rel: Rel, items: Vec<(String, Value)>) -> R<Rel> {
    let names: Vec<String> = items.iter().map(|(n, _)| n.clone()).collect();
    let values = rel.compute(items)?;
    rel.cols = names.into_iter().zip(values).map(|(name, value)| Binding { name, value }).collect();
    Ok(rel)
}

/// Matches a column name against a `project-away` pattern with `*` wildcards.
pub fn wildcard_match(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

/// `project-away a, b*`.
pub fn project_away(mut rel: Rel, patterns: &[String]) -> Rel {
    rel.cols.retain(|b| !patterns.iter().any(|p| wildcard_match(p, &b.name)));
    rel
}

/// `project-keep a, b*`.
pub fn project_keep(mut rel: Rel, patterns: &[String]) -> Rel {
    rel.cols.retain(|b| patterns.iter().any(|p| wildcard_match(p, &b.name)));
    rel
}

/// `project-rename new = old, …`.
pub fn project_rename(mut rel: Rel, pairs: &[(String, String)]) -> Rel {
    for (new, old) in pairs {
        if let Some(b) = rel.cols.iter_mut().find(|b| &b.name == old) {
            b.name = new.clone();
        }
    }
    rel
}

/// `project-reorder a, b* [asc|desc], …`: the named columns first, the rest after in their
/// order. The columns a pattern matches keep their order, or are sorted by name when the
/// pattern has `asc` (`Some(false)`) or `desc` (`Some(true)`).
pub fn project_reorder(mut rel: Rel, keys: &[(String, Option<bool>)]) -> Rel {
    let mut first = Vec::new();
    for (p, descending) in keys {
        let (mut matched, rest): (Vec<Binding>, Vec<Binding>) =
            rel.cols.into_iter().partition(|b| wildcard_match(p, &b.name));
        if let Some(desc) = descending {
            matched.sort_by(|a, b| if *desc { b.name.cmp(&a.name) } else { a.name.cmp(&b.name) });
        }
        first.extend(matched);
        rel.cols = rest;
    }
    first.append(&mut rel.cols);
    rel.cols = first;
    rel
}

/// A value usable as a grouping or sort key: event objects and lists become JSON text.
pub fn key_value(v: Value) -> TExpr {
    match v {
        Value::Event(_) => to_dynamic(v),
        Value::Expr(t) if matches!(t.ty, KType::DynNative(Native::StrList | Native::StrMap)) => {
            TExpr::new(to_json(&Value::Expr(t)), KType::Dynamic)
        }
        Value::Expr(t) => t,
    }
}

/// One output column of an aggregation.
pub struct AggOut {
    /// Its KQL name.
    pub name: String,
    /// The aggregate expression.
    pub expr: Expr,
    /// The KQL type of its result.
    pub ty: KType,
    /// A conversion applied to the aggregate's result (e.g. integer nanoseconds back to a
    /// datetime), as a function of the result column.
    pub post: Option<fn(Expr) -> Expr>,
    /// The value when the aggregate saw no value (an empty input, or a group whose values are
    /// all null or fail the `if` predicate): Kusto's "default values of aggregations", `0` for
    /// `sum`/`stdev`/`variance` (and their `if`). `None` leaves it null.
    pub empty: Option<Expr>,
    /// The value over an empty input without `by` keys only, where it differs from
    /// [`AggOut::empty`]: NaN for `avg`, as the summarize page's worked example prints (its
    /// table of defaults gives null, which a group with no value keeps: checks read an average
    /// of nothing as unknown, not as NaN).
    pub empty_input: Option<Expr>,
}

fn unique(name: &str, used: &mut Vec<String>) -> String {
    let mut n = name.to_owned();
    let mut i = 1;
    while used.contains(&n) || is_hidden(&n) {
        n = format!("{name}{i}");
        i += 1;
    }
    used.push(n.clone());
    n
}

/// `summarize aggs by keys`: key columns first, then the aggregates.
pub fn summarize(rel: Rel, keys: Vec<(String, Value)>, aggs: Vec<AggOut>) -> R<Rel> {
    let mut used = Vec::new();
    let mut group = Vec::new();
    let mut cols = Vec::new();
    let mut post = Vec::new();
    for (name, v) in keys {
        let t = key_value(v);
        let phys = unique(&name, &mut used);
        group.push(t.expr.alias(phys.clone()));
        cols.push(Binding { name: phys.clone(), value: Value::expr(column(&phys), t.ty) });
        post.push(column(&phys));
    }
    let mut aggr = Vec::new();
    let mut needs_post = false;
    for a in aggs {
        let phys = unique(&a.name, &mut used);
        aggr.push(a.expr.alias(phys.clone()));
        cols.push(Binding { name: phys.clone(), value: Value::expr(column(&phys), a.ty) });
        let converted = match a.post {
            Some(f) => {
                needs_post = true;
                f(column(&phys))
            }
            None => column(&phys),
        };
        let default = if group.is_empty() { a.empty_input.or(a.empty) } else { a.empty };
        match default {
            Some(d) => {
                needs_post = true;
                post.push(datafusion::prelude::coalesce(vec![converted, d]).alias(phys.clone()));
            }
            None if a.post.is_some() => post.push(converted.alias(phys.clone())),
            None => post.push(converted),
        }
    }
    let mut b = LogicalPlanBuilder::from(rel.plan).aggregate(group, aggr).map_err(internal)?;
    if needs_post {
        b = b.project(post).map_err(internal)?;
    }
    Ok(Rel { plan: b.build().map_err(internal)?, cols, has_event: false })
}

/// `distinct a, b` (`distinct *` passes every column).
pub fn distinct(rel: Rel, items: Vec<(String, Value)>) -> R<Rel> {
    summarize(rel, items, vec![])
}

/// `count`: one row, column `Count`.
pub fn count_rows(rel: Rel) -> R<Rel> {
    let agg = AggOut {
        name: "Count".into(),
        expr: count(lit(1)),
        ty: KType::Long,
        post: None,
        empty: None,
        empty_input: None,
    };
    summarize(rel, vec![], vec![agg])
}

/// One sort key.
pub struct SortKey {
    /// The value sorted by.
    pub value: Value,
    /// Ascending?
    pub asc: bool,
    /// Nulls first?
    pub nulls_first: bool,
}

pub(crate) fn sort_exprs(keys: Vec<SortKey>) -> Vec<SortExpr> {
    keys.into_iter().flat_map(|k| order_by(&key_value(k.value), k.asc, k.nulls_first)).collect()
}

/// The sort expressions that order rows by `t` as Kusto orders its values. A dynamic's
/// numbers compare by value, other values after them by their text (review s50: dynamic
/// numbers sorted as JSON text, `9.5` above `10`). A real's NaN sorts with the nulls (just
/// before them when descending, just after them when ascending), as Kusto groups the two:
/// Arrow orders NaN by its sign bit, so `sqrt(-1)` came first in `sort by x desc`.
pub(crate) fn order_by(t: &TExpr, asc: bool, nulls_first: bool) -> Vec<SortExpr> {
    let first = match t.ty {
        KType::Dynamic => Some(call(&udfs().dyn_number, vec![t.expr.clone()])),
        KType::Real | KType::DynNative(Native::Real) => Some(
            // Both branches are reals: building the CASE cannot fail.
            when(isnan(t.expr.clone()), lit(ScalarValue::Float64(None)))
                .otherwise(t.expr.clone())
                .unwrap_or_else(|_| t.expr.clone()),
        ),
        _ => None,
    };
    let mut out: Vec<SortExpr> = first.into_iter().map(|e| SortExpr::new(e, asc, nulls_first)).collect();
    out.push(SortExpr::new(t.expr.clone(), asc, nulls_first));
    out
}

/// A builder over `plan` that a sort can be added to. DataFusion's builder rewrites sort keys
/// in terms of its input's expressions, and for a Sort input it takes that Sort's own keys
/// for projected columns: the second sort of `top 20 by TimeGenerated | order by
/// TimeGenerated asc` became a reference to a column named
/// `kql_first_present(__ev_time_generated,…)`, which does not exist ("internal planner
/// error"). An identity projection in between leaves it nothing to rewrite; the optimizer
/// removes it again.
fn sort_input(plan: LogicalPlan) -> R<LogicalPlanBuilder> {
    if !matches!(plan, LogicalPlan::Sort(_)) {
        return Ok(LogicalPlanBuilder::from(plan));
    }
    let columns: Vec<Expr> = plan.schema().columns().into_iter().map(Expr::Column).collect();
    LogicalPlanBuilder::from(plan).project(columns).map_err(internal)
}

/// `sort by …`.
pub fn sort(mut rel: Rel, keys: Vec<SortKey>) -> R<Rel> {
    rel.plan = build(sort_input(rel.plan)?.sort(sort_exprs(keys)))?;
    Ok(rel)
}

/// `top n by …`. `top 0` is no rows: DataFusion's top-k operator asserts a count above zero
/// (the query panicked).
pub fn top(mut rel: Rel, n: usize, keys: Vec<SortKey>) -> R<Rel> {
    rel.plan = match n {
        0 => build(LogicalPlanBuilder::from(rel.plan).limit(0, Some(0)))?,
        n => build(sort_input(rel.plan)?.sort_with_limit(sort_exprs(keys), Some(n)))?,
    };
    Ok(rel)
}

/// `sample n`: `n` rows drawn at random (all of them, in a random order, when there are no
/// more than `n`): the top `n` by a random number drawn for each row.
pub fn sample(mut rel: Rel, n: usize) -> R<Rel> {
    // The number is a column of the plan (not a binding, so it is not shown): sorted on the
    // expression alone, a query that reads no column after it (`sample 5 | count`) left the
    // sort rows without columns, which Arrow refuses.
    let drawn =
        rel.compute(vec![("__sample".to_owned(), Value::expr(datafusion::prelude::random(), KType::Real))])?;
    let Some(value) = drawn.into_iter().next() else {
        return Err(internal("sample: no random column"));
    };
    top(rel, n, vec![SortKey { value, asc: true, nulls_first: false }])
}

/// `take n` / `limit n`: the first `n` rows of serialized rows, any `n` rows of others.
pub fn take(rel: Rel, n: usize) -> R<Rel> {
    let mut rel = super::serial::in_order(rel)?;
    rel.plan = build(LogicalPlanBuilder::from(rel.plan).limit(0, Some(n)))?;
    Ok(rel)
}

/// `mv-expand name = array, …`: one row per element. As in Kusto, a row whose value is null
/// gives one row with a null value, and a row whose array or property bag is empty gives no
/// row. Expanding several columns pairs their elements (shorter arrays give nulls).
/// Serialized rows stay serialized, each row's elements in their order.
pub fn mv_expand(rel: Rel, items: Vec<(String, Value)>, with_itemindex: Option<String>) -> R<Rel> {
    if super::serial::is_serialized(&rel) {
        return super::serial::mv_expand(rel, items, with_itemindex);
    }
    expand(rel, items, with_itemindex)
}

/// [`mv_expand`] of rows in no set order.
pub(super) fn expand(rel: Rel, items: Vec<(String, Value)>, with_itemindex: Option<String>) -> R<Rel> {
    let mut rel = rel;
    let mut lists = Vec::new();
    for (name, v) in items {
        let (list, elem_ty) = match v {
            Value::Expr(t) if t.ty == KType::DynNative(Native::StrList) => {
                (t.expr, KType::DynNative(Native::Str))
            }
            other => {
                let json = to_json(&other);
                (call(&udfs().dyn_elements, vec![json]), KType::Dynamic)
            }
        };
        lists.push((name, list, elem_ty));
    }
    if let Some(ix) = &with_itemindex
        && let Some((_, first, _)) = lists.first()
    {
        // The index is a list 0..len-1 expanded alongside the values.
        let len = cast(call(&udfs().dyn_array_length, vec![first.clone()]), DataType::Int64);
        let range = datafusion::functions_nested::expr_fn::range(lit(0i64), len, lit(1i64));
        lists.push((ix.clone(), range, KType::Long));
    }
    let mut exprs = rel.plan_columns();
    let mut unnest_cols = Vec::new();
    let mut new_bindings = Vec::new();
    for (name, list, ty) in &lists {
        let phys = rel.fresh_name(&format!("{name}__list"));
        exprs.push(list.clone().alias(phys.clone()));
        unnest_cols.push(datafusion::common::Column::from_name(phys.clone()));
        new_bindings.push((name.clone(), phys, *ty));
    }
    let opts = UnnestOptions { null_handling: NullHandling::Preserve, recursions: vec![] };
    rel.plan = build(
        LogicalPlanBuilder::from(rel.plan)
            .project(exprs)
            .and_then(|b| b.unnest_columns_with_options(unnest_cols, opts)),
    )?;
    for (name, phys, ty) in new_bindings {
        let value = Value::expr(column(&phys), ty);
        match rel.cols.iter_mut().find(|b| b.name == name) {
            Some(b) => b.value = value,
            None => rel.cols.push(Binding { name, value }),
        }
    }
    Ok(rel)
}

/// The join kinds we run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    /// Kusto's default: inner join with the left side deduplicated on the keys.
    InnerUnique,
    /// `kind=inner`.
    Inner,
    /// `kind=leftouter`.
    LeftOuter,
    /// `kind=rightouter`.
    RightOuter,
    /// `kind=fullouter`.
    FullOuter,
    /// `kind=leftanti`.
    LeftAnti,
    /// `kind=leftsemi`.
    LeftSemi,
    /// `kind=rightanti`.
    RightAnti,
    /// `kind=rightsemi`.
    RightSemi,
}

impl JoinKind {
    /// Parses `kind=…`.
    pub fn parse(s: &str) -> Option<JoinKind> {
        Some(match s.to_ascii_lowercase().as_str() {
            "innerunique" => JoinKind::InnerUnique,
            "inner" => JoinKind::Inner,
            "leftouter" => JoinKind::LeftOuter,
            "rightouter" => JoinKind::RightOuter,
            "fullouter" => JoinKind::FullOuter,
            "leftanti" | "anti" | "leftantisemi" => JoinKind::LeftAnti,
            "leftsemi" => JoinKind::LeftSemi,
            "rightanti" | "rightantisemi" => JoinKind::RightAnti,
            "rightsemi" => JoinKind::RightSemi,
            _ => return None,
        })
    }
}

/// `left | join kind=… (right) on keys`: left columns, then right columns with a `1` suffix on
/// names the left already has (as Kusto names them).
pub fn join(left: Rel, right: Rel, kind: JoinKind, keys: &[(String, String)]) -> R<Rel> {
    join_keeping(left, right, kind, keys, true)
}

/// `left | lookup kind=… (right) on keys`: a join whose result leaves out the right side's key
/// columns (Kusto's `lookup`); the other right columns are named as `join` names them.
pub fn lookup(left: Rel, right: Rel, kind: JoinKind, keys: &[(String, String)]) -> R<Rel> {
    join_keeping(left, right, kind, keys, false)
}

fn join_keeping(
    left: Rel,
    right: Rel,
    kind: JoinKind,
    keys: &[(String, String)],
    right_keys: bool,
) -> R<Rel> {
    let left = left.materialize(false)?;
    let right = right.materialize(false)?;
    let mut left = left;
    if kind == JoinKind::InnerUnique {
        let on: Vec<Expr> =
            keys.iter().filter_map(|(l, _)| left.get(l).map(|v| key_value(v.clone()).expr)).collect();
        let select = left.plan_columns();
        left.plan = build(LogicalPlanBuilder::from(left.plan.clone()).distinct_on(on, select, None))?;
    }
    // Rename every right column to a name free on the left, remembering its KQL name.
    let mut used: Vec<String> = left.plan.schema().fields().iter().map(|f| f.name().clone()).collect();
    let mut right_exprs = Vec::new();
    let mut right_cols = Vec::new();
    let mut kql_names: Vec<String> = left.names();
    let mut hidden = Vec::new();
    for b in &right.cols {
        let Value::Expr(t) = &b.value else { continue };
        let phys = unique(&format!("{}__r", b.name), &mut used);
        right_exprs.push(t.expr.clone().alias(phys.clone()));
        if !right_keys && keys.iter().any(|(_, r)| *r == b.name) {
            hidden.push((b.name.clone(), Value::expr(column(&phys), t.ty)));
            continue;
        }
        let mut kql = b.name.clone();
        if kql_names.contains(&kql) {
            let mut i = 1;
            while kql_names.contains(&format!("{}{i}", b.name)) {
                i += 1;
            }
            kql = format!("{}{i}", b.name);
        }
        kql_names.push(kql.clone());
        right_cols.push((b.name.clone(), Binding { name: kql, value: Value::expr(column(&phys), t.ty) }));
    }
    let right_plan = build(LogicalPlanBuilder::from(right.plan).project(right_exprs))?;
    let mut on = Vec::new();
    for (l, r) in keys {
        let lv = left
            .get(l)
            .cloned()
            .ok_or_else(|| PlanError::at(None, format!("join key '{l}' is not a column of the left side")))?;
        let rv = right_cols
            .iter()
            .find(|(orig, _)| orig == r)
            .map(|(_, b)| b.value.clone())
            .or_else(|| hidden.iter().find(|(orig, _)| orig == r).map(|(_, v)| v.clone()))
            .ok_or_else(|| {
                PlanError::at(None, format!("join key '{r}' is not a column of the right side"))
            })?;
        let (a, b, _) = unify(lv, rv);
        on.push(a.expr.eq(b.expr));
    }
    let jt = match kind {
        JoinKind::InnerUnique | JoinKind::Inner => JoinType::Inner,
        JoinKind::LeftOuter => JoinType::Left,
        JoinKind::RightOuter => JoinType::Right,
        JoinKind::FullOuter => JoinType::Full,
        JoinKind::LeftAnti => JoinType::LeftAnti,
        JoinKind::LeftSemi => JoinType::LeftSemi,
        JoinKind::RightAnti => JoinType::RightAnti,
        JoinKind::RightSemi => JoinType::RightSemi,
    };
    let plan = build(LogicalPlanBuilder::from(left.plan).join_on(right_plan, jt, on))?;
    // The side an outer join leaves unmatched reads as null; Kusto's strings are never null,
    // so its string columns read as "" there (numbers, datetimes, bools stay null).
    let mut left_cols = left.cols;
    if matches!(kind, JoinKind::RightOuter | JoinKind::FullOuter) {
        left_cols = left_cols.into_iter().map(strings_never_null).collect();
    }
    if matches!(kind, JoinKind::LeftOuter | JoinKind::FullOuter) {
        right_cols = right_cols.into_iter().map(|(orig, b)| (orig, strings_never_null(b))).collect();
    }
    let cols = match kind {
        JoinKind::LeftAnti | JoinKind::LeftSemi => left_cols,
        JoinKind::RightAnti | JoinKind::RightSemi => right_cols
            .into_iter()
            .map(|(orig, mut b)| {
                b.name = orig;
                b
            })
            .collect(),
        _ => left_cols.into_iter().chain(right_cols.into_iter().map(|(_, b)| b)).collect(),
    };
    Ok(Rel { plan, cols, has_event: false })
}

/// A string column read with its nulls as "" (other columns, `guid` included, as they are:
/// Kusto's other types have nulls).
fn strings_never_null(mut b: Binding) -> Binding {
    if let Value::Expr(t) = &mut b.value
        && t.ty == KType::String
    {
        t.expr = empty_if_null(t.expr.clone());
    }
    b
}

/// `union` of relations by column name (a column missing from one side is null there, or ""
/// for a string, as Kusto's strings are never null), with
/// an optional `withsource=` column naming each row's source first. For the engine's own
/// unions of parts of one result (`partition`, `top-nested`, the tables of `search`): a
/// column whose parts disagree on its type takes the wider number, or is a string.
pub fn union(rels: Vec<(String, Rel)>, withsource: Option<&str>) -> R<Rel> {
    union_with(rels, withsource, Columns::Merged)
}

/// The `union` operator: `kind=outer` (`inner` false) keeps every column, one per name and
/// type as Kusto does; `kind=inner` only the columns, by name and type, every leg has.
pub fn union_of(rels: Vec<(String, Rel)>, withsource: Option<&str>, inner: bool) -> R<Rel> {
    union_with(rels, withsource, if inner { Columns::Inner } else { Columns::PerType })
}

/// How a union makes its columns out of its legs'.
#[derive(Clone, PartialEq, Eq)]
enum Columns {
    /// One column per name; differing types widen (numbers) or make a string.
    Merged,
    /// One column per name and (Kusto) type: a name the legs give several types becomes one
    /// column per type, named `name_type` (`x_long`, `x_int`), and such a name that another
    /// column already has gets a number (`x_long1`), as the union operator's page documents
    /// ("Source columns types mismatch").
    PerType,
    /// Only the columns every leg has with the same type: a name the legs give different types
    /// is left out, as no one of its per-type columns is common to every leg.
    ///
    /// The union operator's page (learn.microsoft.com, `kusto/query/union-operator`): "`inner`
    /// causes the result to have the subset of columns that are common to all of the input
    /// tables", where a union's column is one "for each name and type" (`x_long`, `x_string`
    /// under `outer`). The page has no example of `inner` over differing types, and
    /// Kusto.Language's binder does not model `kind=inner` (it types every union as outer), so
    /// this reading of the page is not checked against a cluster.
    Inner,
}

/// One result column of a union: the legs' column `source` of type `kind` (a Kusto type name),
/// read as `ty`, named `name`.
struct UnionColumn {
    source: String,
    kind: &'static str,
    ty: KType,
    name: String,
}

/// The result columns of a union of `legs`, in the order they first appear.
fn union_columns(legs: &[&Rel], shape: &Columns) -> R<Vec<UnionColumn>> {
    let mut out: Vec<UnionColumn> = Vec::new();
    for r in legs {
        for b in &r.cols {
            let ty = b.value.ty();
            let same = |c: &&mut UnionColumn| {
                c.source == b.name && (*shape == Columns::Merged || c.kind == ty.name())
            };
            match out.iter_mut().find(same) {
                // Per type, only dynamics held differently (JSON text, a native value) meet.
                Some(c) if c.ty != ty && *shape != Columns::Merged => c.ty = KType::Dynamic,
                Some(c) if c.ty != ty => {
                    c.ty = match (plain_number(c.ty), plain_number(ty)) {
                        (Some(a), Some(b)) if a == KType::Real || b == KType::Real => KType::Real,
                        (Some(_), Some(_)) => KType::Long,
                        _ if c.ty.is_dynamic() && ty.is_dynamic() => KType::Dynamic,
                        _ => KType::String,
                    };
                    c.kind = c.ty.name();
                }
                Some(_) => {}
                None => out.push(UnionColumn {
                    source: b.name.clone(),
                    kind: ty.name(),
                    ty,
                    name: b.name.clone(),
                }),
            }
        }
    }
    let typed_twice =
        |source: &str, cols: &[UnionColumn]| cols.iter().filter(|c| c.source == source).count() > 1;
    match shape {
        Columns::Merged => {}
        Columns::Inner => {
            out.retain(|c| legs.iter().all(|r| r.get(&c.source).is_some_and(|v| v.ty().name() == c.kind)));
        }
        Columns::PerType => {
            // The names no suffix is added to are taken first; the suffixed ones then take the
            // next free `name_type`, `name_type1`, `name_type2`, ….
            let split: Vec<bool> = out.iter().map(|c| typed_twice(&c.source, &out)).collect();
            let mut taken: HashSet<String> =
                out.iter().zip(&split).filter(|(_, s)| !**s).map(|(c, _)| c.name.clone()).collect();
            for (c, split) in out.iter_mut().zip(split) {
                if !split {
                    continue;
                }
                let base = format!("{}_{}", c.source, c.kind);
                let mut name = base.clone();
                let mut n = 0usize;
                while taken.contains(&name) {
                    n += 1;
                    name = format!("{base}{n}");
                }
                taken.insert(name.clone());
                c.name = name;
            }
        }
    }
    Ok(out)
}

fn union_with(rels: Vec<(String, Rel)>, withsource: Option<&str>, shape: Columns) -> R<Rel> {
    let keep_event = rels.iter().all(|(_, r)| r.has_event);
    let mut mats = Vec::new();
    for (name, r) in rels {
        mats.push((name, r.materialize(keep_event)?));
    }
    let legs: Vec<&Rel> = mats.iter().map(|(_, r)| r).collect();
    let order = union_columns(&legs, &shape)?;
    let hidden: Vec<String> = if keep_event {
        mats.first()
            .map(|(_, r)| {
                r.plan.schema().fields().iter().map(|f| f.name().clone()).filter(|n| is_hidden(n)).collect()
            })
            .unwrap_or_default()
    } else {
        vec![]
    };
    let mut plans = Vec::new();
    for (source, r) in mats {
        let mut exprs = Vec::new();
        if let Some(ws) = withsource {
            exprs.push(lit(source.clone()).alias(ws.to_owned()));
        }
        for (i, c) in order.iter().enumerate() {
            let ty = &c.ty;
            let own = r.get(&c.source).filter(|v| shape == Columns::Merged || v.ty().name() == c.kind);
            let e = match own {
                Some(v) => {
                    let v = v.clone();
                    if v.ty() == *ty {
                        match v {
                            Value::Expr(t) => t.expr,
                            other => to_json(&other),
                        }
                    } else {
                        super::value::convert(v, *ty).expr
                    }
                }
                None if *ty == KType::String => cast(lit(""), ty.arrow()),
                None => cast(super::value::null_of(*ty), ty.arrow()),
            };
            exprs.push(e.alias(format!("c{i}")));
        }
        for h in &hidden {
            exprs.push(column(h));
        }
        plans.push(build(LogicalPlanBuilder::from(r.plan).project(exprs))?);
    }
    let mut iter = plans.into_iter();
    let Some(first) = iter.next() else {
        return Err(PlanError::at(None, "union needs at least one table"));
    };
    let mut b = LogicalPlanBuilder::from(first);
    for p in iter {
        b = b.union(p).map_err(internal)?;
    }
    let plan = b.build().map_err(internal)?;
    let mut cols = Vec::new();
    if let Some(ws) = withsource {
        cols.push(Binding { name: ws.to_owned(), value: Value::expr(column(ws), KType::String) });
    }
    for (i, c) in order.into_iter().enumerate() {
        cols.push(Binding { name: c.name, value: Value::expr(column(&format!("c{i}")), c.ty) });
    }
    Ok(Rel { plan, cols, has_event: keep_event })
}

/// The number type a column of type `t` holds, if it holds numbers.
fn plain_number(t: KType) -> Option<KType> {
    match t {
        KType::Int | KType::Long | KType::DynNative(Native::Long) => Some(KType::Long),
        KType::Real | KType::DynNative(Native::Real) => Some(KType::Real),
        _ => None,
    }
}

/// The final plan: the visible columns under their KQL names, in order (and serialized rows in
/// their order).
pub fn finish(rel: Rel) -> R<(datafusion::logical_expr::LogicalPlan, Vec<(String, KType)>)> {
    let rel = super::serial::in_order(rel)?.materialize(false)?;
    let mut exprs = Vec::new();
    let mut out: Vec<(String, KType)> = Vec::new();
    for b in &rel.cols {
        let Value::Expr(t) = &b.value else { continue };
        // Two result columns of one name (`print a = 1, a = 2`): the query's mistake, said
        // plainly rather than as DataFusion's internal error.
        if out.iter().any(|(n, _)| *n == b.name) {
            return Err(PlanError::at(
                None,
                format!("two result columns are named '{}'; give one of them another name", b.name),
            ));
        }
        exprs.push(t.expr.clone().alias(b.name.clone()));
        out.push((b.name.clone(), t.ty));
    }
    let plan = build(LogicalPlanBuilder::from(rel.plan).project(exprs))?;
    Ok((plan, out))
}
