//! `mv-apply items on (subquery)`: the subquery run on the expanded items of each input row on
//! their own, its results put together with the row's other columns.
//!
//! Planned in one pass over every row rather than one subquery per row: the rows are numbered
//! (a hidden column, [`ROW`]), expanded as `mv-expand` expands them, and each operator of the
//! subquery is planned so that it works within one input row's items:
//!
//! - `where`, `extend`, `project` (which keeps the row number), `project-away`,
//!   `project-rename`, `parse`, `parse-where` and `parse-kv` work row by row as they are;
//! - `summarize … by k` groups by the row number and `k`; `count` counts each row's items;
//!   `distinct c` is distinct per row;
//! - `top n by k` and `take n` keep the first `n` items of each row (numbered within the row);
//!   `sort by k` sorts by the row number first.
//!
//! The input row's columns that were not expanded and that the subquery's result does not
//! have are then joined back on the row number, in front, as Kusto adds them.

use arrow::datatypes::DataType;
use datafusion::functions_window::expr_fn::row_number;
use datafusion::logical_expr::{ExprFunctionExt, LogicalPlanBuilder, cast, lit};
use kql::{Expr, ExprKind, Ident, NamedExpr, OperatorKind, Summarize};

use super::{Planner, R, err, texpr};
use crate::plan::naming;
use crate::plan::ops::{self, JoinKind, SortKey};
use crate::plan::value::Value;
use crate::plan::{Rel, column, internal};
use crate::types::KType;

/// The hidden number of the input row an expanded item came from.
const ROW: &str = "__mva_row";

/// The row number on the right of the join that brings the row's columns back.
const ROW_RIGHT: &str = "__mva_row_right";

impl Planner<'_> {
    pub(super) fn mv_apply(&mut self, rel: Rel, m: &kql::MvApply, at: kql::Span) -> R<Rel> {
        // Number the input rows.
        let mut rows = rel;
        rows.plan = LogicalPlanBuilder::from(rows.plan)
            .window(vec![row_number().alias("__mva_n")])
            .and_then(|b| b.build())
            .map_err(internal)?;
        let number = Value::expr(cast(column("__mva_n"), DataType::Int64), KType::Long);
        let rows = ops::set_columns(rows, vec![(ROW.to_owned(), number)])?;
        let source: Vec<String> = rows.cols.iter().map(|b| b.name.clone()).filter(|n| n != ROW).collect();
        let expanded_names: Vec<String> = m
            .expand
            .items
            .iter()
            .filter_map(|i| i.name.as_ref().map(|n| n.name.clone()).or_else(|| naming::derived(&i.expr)))
            .collect();

        let expand = kql::Operator { kind: OperatorKind::MvExpand(m.expand.clone()), span: at };
        let mut sub = self.operator(rows.clone(), &expand)?;
        for op in &m.operators {
            sub = self.per_row(sub, op)?;
        }
        if sub.get(ROW).is_none() {
            return Err(err(
                at,
                "mv-apply: the subquery dropped the column that ties its rows to the input rows",
            ));
        }

        // The input row's other columns, in front.
        let present: Vec<String> = sub.cols.iter().map(|b| b.name.clone()).collect();
        let missing: Vec<String> =
            source.into_iter().filter(|n| !expanded_names.contains(n) && !present.contains(n)).collect();
        let joined = if missing.is_empty() {
            sub
        } else {
            let mut right_items = Vec::new();
            for name in std::iter::once(ROW.to_owned()).chain(missing.iter().cloned()) {
                let v = rows.get(&name).cloned().ok_or_else(|| internal("mv-apply: a source column"))?;
                let out = if name == ROW { ROW_RIGHT.to_owned() } else { name };
                right_items.push((out, v));
            }
            let right = ops::project(rows, right_items)?;
            ops::join(sub, right, JoinKind::Inner, &[(ROW.to_owned(), ROW_RIGHT.to_owned())])?
        };
        let order: Vec<String> =
            missing.iter().cloned().chain(present.into_iter().filter(|n| n != ROW)).collect();
        let items = order
            .into_iter()
            .map(|n| {
                let v = joined.get(&n).cloned().ok_or_else(|| internal("mv-apply: an output column"))?;
                Ok((n, v))
            })
            .collect::<R<Vec<_>>>()?;
        ops::project(joined, items)
    }

    /// One operator of an `mv-apply` subquery, planned within each input row's items.
    fn per_row(&mut self, rel: Rel, op: &kql::Operator) -> R<Rel> {
        let at = op.span;
        let row = || Expr::new(ExprKind::Name(Ident::new(ROW, at)), at);
        let named_row = || NamedExpr { name: None, expr: row(), span: at };
        let plain = |kind: OperatorKind| kql::Operator { kind, span: at };
        match &op.kind {
            OperatorKind::Where(_)
            | OperatorKind::Extend(_)
            | OperatorKind::ProjectAway(_)
            | OperatorKind::ProjectRename(_)
            | OperatorKind::Parse(_)
            | OperatorKind::ParseKv(_) => self.operator(rel, op),
            OperatorKind::Project(items) => {
                let mut items = items.clone();
                items.push(named_row());
                self.operator(rel, &plain(OperatorKind::Project(items)))
            }
            OperatorKind::Summarize(s) => {
                let by = std::iter::once(named_row()).chain(s.by.iter().cloned()).collect();
                let s = Summarize { params: s.params.clone(), aggregates: s.aggregates.clone(), by };
                self.operator(rel, &plain(OperatorKind::Summarize(s)))
            }
            OperatorKind::Count => {
                let count = Expr::new(ExprKind::Call { name: Ident::new("count", at), args: Vec::new() }, at);
                let s = Summarize {
                    params: Vec::new(),
                    aggregates: vec![NamedExpr {
                        name: Some(Ident::new("Count", at)),
                        expr: count,
                        span: at,
                    }],
                    by: vec![named_row()],
                };
                self.operator(rel, &plain(OperatorKind::Summarize(s)))
            }
            OperatorKind::Distinct(exprs)
                if !exprs.is_empty() && !exprs.iter().any(|e| matches!(e.kind, ExprKind::Wildcard)) =>
            {
                let exprs = std::iter::once(row()).chain(exprs.iter().cloned()).collect();
                self.operator(rel, &plain(OperatorKind::Distinct(exprs)))
            }
            OperatorKind::Distinct(_) => self.operator(rel, op),
            OperatorKind::Sort(keys) => {
                let mut sorted = vec![self.row_key(&rel)?];
                for k in keys {
                    sorted.push(self.sort_key(&rel, k)?);
                }
                ops::sort(rel, sorted)
            }
            OperatorKind::Top(t) => {
                let n = self.count_arg(&rel, &t.count)?;
                let key = self.sort_key(&rel, &t.by)?;
                self.first_of_each_row(rel, n, vec![key])
            }
            OperatorKind::Take(n) => {
                let n = self.count_arg(&rel, n)?;
                self.first_of_each_row(rel, n, Vec::new())
            }
            other => Err(err(at, format!("not supported yet: {} inside mv-apply", other.name()))),
        }
    }

    /// The row number as an ascending sort key.
    fn row_key(&self, rel: &Rel) -> R<SortKey> {
        let value = rel.get(ROW).cloned().ok_or_else(|| internal("mv-apply: the row number"))?;
        Ok(SortKey { value, asc: true, nulls_first: false })
    }

    /// The first `n` items of each input row, by `keys` (in no set order without them).
    fn first_of_each_row(&mut self, mut rel: Rel, n: usize, keys: Vec<SortKey>) -> R<Rel> {
        let row = texpr(rel.get(ROW).cloned().ok_or_else(|| internal("mv-apply: the row number"))?).expr;
        let numbered = row_number().partition_by(vec![row]);
        let numbered =
            if keys.is_empty() { numbered.build() } else { numbered.order_by(ops::sort_exprs(keys)).build() }
                .map_err(internal)?;
        let rank = rel.compute(vec![(
            "__mva_rank".to_owned(),
            Value::expr(cast(numbered, DataType::Int64), KType::Long),
        )])?;
        let rank = texpr(rank.into_iter().next().ok_or_else(|| internal("mv-apply: the rank"))?).expr;
        ops::filter(rel, rank.lt_eq(lit(n as i64)))
    }
}
