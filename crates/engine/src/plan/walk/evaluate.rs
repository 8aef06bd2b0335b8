//! `evaluate pivot(…)`, `evaluate bag_unpack(…)` and `partition by …`: operators whose plan
//! depends on the data (the pivot column's values, the bags' keys, the parts).
//!
//! The planner reads those first, by running the input once for its distinct values (up to
//! [`MAX_COLUMNS`]), and then plans the plugin as the KQL it stands for:
//!
//! - `pivot(col [, agg(x) [, k1, k2, …]])` is `summarize ['v1'] = aggif(x, tostring(col) ==
//!   'v1'), … by k1, k2, …`, one column per distinct non-empty value of `col` in ascending
//!   order, the keys being every other column (but `col` and the aggregate's columns) unless
//!   named; `agg` is `count()` (the default), `sum`, `avg`, `min`, `max`, `dcount` or `take_any`.
//! - `bag_unpack(col [, prefix])` is `extend ['prefix' + key] = col['key'], … | project-away
//!   col`, one `dynamic` column per distinct key of the bags, in ascending order.
//! - `partition by col (ops)` is the `union` of `where tostring(col) == 'v' | ops` for each
//!   distinct value `v` of `col` (up to [`MAX_PARTS`]).

use datafusion::logical_expr::{Expr as DfExpr, LogicalPlanBuilder};
use kql::{Expr, ExprKind, Ident, Literal, NamedExpr, OperatorKind, Span, Summarize};

use super::{Planner, R, err, session_for, texpr};
use crate::plan::value::{to_json, to_string};
use crate::plan::{Rel, internal};
use crate::udf::{StrCol, call, udfs};

/// The most columns a plugin may add.
const MAX_COLUMNS: usize = 1000;

/// The most parts `partition` runs its subquery on.
const MAX_PARTS: usize = 256;

impl Planner<'_> {
    pub(super) fn evaluate(&mut self, rel: Rel, ev: &kql::Evaluate) -> R<Rel> {
        match ev.plugin.name.as_str() {
            "pivot" => self.pivot(rel, ev),
            "bag_unpack" => self.bag_unpack(rel, ev),
            other => Err(err(ev.plugin.span, format!("not supported yet: evaluate {other}()"))),
        }
    }

    /// The distinct values of `e` over the rows of `rel` (null left out), sorted; an error
    /// naming `what` past [`MAX_COLUMNS`] of them.
    fn distinct_texts(&self, rel: &Rel, e: DfExpr, what: &str, at: Span) -> R<Vec<String>> {
        let plan = LogicalPlanBuilder::from(rel.plan.clone())
            .project(vec![e.alias("__evaluate_value")])
            .and_then(|b| b.distinct())
            .and_then(|b| b.limit(0, Some(MAX_COLUMNS * 8 + 1)))
            .and_then(|b| b.build())
            .map_err(internal)?;
        let df = datafusion::dataframe::DataFrame::new(session_for(self.engine, false), plan);
        let batches = self.engine.block_on(df.collect()).map_err(internal)?;
        let mut out = Vec::new();
        for b in &batches {
            let col = StrCol::new(b.column(0).as_ref());
            out.extend((0..b.num_rows()).filter_map(|i| col.get(i).map(str::to_owned)));
        }
        out.sort();
        out.dedup();
        if out.len() > MAX_COLUMNS * 8 {
            return Err(err(at, format!("{what}: more than {} distinct values to read", MAX_COLUMNS * 8)));
        }
        Ok(out)
    }

    /// `pivot(col [, agg [, keys…]])`.
    fn pivot(&mut self, rel: Rel, ev: &kql::Evaluate) -> R<Rel> {
        let at = ev.plugin.span;
        let Some(ExprKind::Name(col)) = ev.args.first().map(|a| &a.kind) else {
            return Err(err(at, "pivot() takes the column to pivot first: `evaluate pivot(Verb)`"));
        };
        let v = self.scalar(&rel, &ev.args[0])?;
        let values: Vec<String> = self
            .distinct_texts(&rel, to_string(v).expr, "pivot()", at)?
            .into_iter()
            .filter(|v| !v.is_empty())
            .collect();
        if values.len() > MAX_COLUMNS {
            return Err(err(
                at,
                format!(
                    "pivot(): {} values of {} would be as many columns (at most {MAX_COLUMNS})",
                    values.len(),
                    col.name
                ),
            ));
        }
        // The aggregate, as its `if` form over one value.
        let (agg_name, agg_args): (String, Vec<Expr>) = match ev.args.get(1).map(|a| &a.kind) {
            None => ("count".into(), Vec::new()),
            Some(ExprKind::Call { name, args }) => (name.name.clone(), args.clone()),
            Some(_) => {
                return Err(err(ev.args[1].span, "pivot()'s aggregation is a call: count(), sum(x), …"));
            }
        };
        let if_name = match agg_name.as_str() {
            "count" => "countif",
            "sum" => "sumif",
            "avg" => "avgif",
            "min" => "minif",
            "max" => "maxif",
            "dcount" => "dcountif",
            "take_any" | "any" => "take_anyif",
            other => {
                let span = ev.args.get(1).map_or(at, |a| a.span);
                return Err(err(span, format!("not supported yet: pivot() with {other}()")));
            }
        };
        let mut used = vec![col.name.clone()];
        for a in &agg_args {
            names_in(a, &mut used);
        }
        let by: Vec<NamedExpr> = if ev.args.len() > 2 {
            ev.args[2..].iter().map(|e| NamedExpr { name: None, expr: e.clone(), span: e.span }).collect()
        } else {
            rel.cols
                .iter()
                .filter(|b| !used.contains(&b.name))
                .map(|b| {
                    let e = Expr::new(ExprKind::Name(Ident::new(b.name.clone(), at)), at);
                    NamedExpr { name: None, expr: e, span: at }
                })
                .collect()
        };
        let text = |s: &str| Expr::new(ExprKind::Literal(Literal::String(s.to_owned())), at);
        let tostring = Expr::new(
            ExprKind::Call { name: Ident::new("tostring", at), args: vec![ev.args[0].clone()] },
            at,
        );
        let aggregates = values
            .iter()
            .map(|value| {
                let pred = Expr::new(
                    ExprKind::Binary {
                        op: kql::BinaryOp::Eq,
                        left: Box::new(tostring.clone()),
                        right: Box::new(text(value)),
                    },
                    at,
                );
                let mut args = agg_args.clone();
                args.push(pred);
                let call = Expr::new(ExprKind::Call { name: Ident::new(if_name, at), args }, at);
                NamedExpr { name: Some(Ident::new(value.clone(), at)), expr: call, span: at }
            })
            .collect();
        let op = kql::Operator {
            kind: OperatorKind::Summarize(Summarize { params: Vec::new(), aggregates, by }),
            span: at,
        };
        self.operator(rel, &op)
    }

    /// `bag_unpack(col [, prefix])`.
    fn bag_unpack(&mut self, rel: Rel, ev: &kql::Evaluate) -> R<Rel> {
        let at = ev.plugin.span;
        let Some(ExprKind::Name(col)) = ev.args.first().map(|a| &a.kind) else {
            return Err(err(at, "bag_unpack() takes the column of bags first: `evaluate bag_unpack(Bag)`"));
        };
        let prefix = match ev.args.get(1) {
            None => String::new(),
            Some(p) => match &p.kind {
                ExprKind::Literal(Literal::String(s)) => s.clone(),
                _ => return Err(err(p.span, "bag_unpack()'s prefix must be a string constant")),
            },
        };
        if ev.args.len() > 2 {
            return Err(err(
                ev.args[2].span,
                "not supported yet: bag_unpack() with columnsConflict or ignoredProperties",
            ));
        }
        let v = self.scalar(&rel, &ev.args[0])?;
        let key_lists =
            self.distinct_texts(&rel, call(&udfs().bag_keys, vec![to_json(&v)]), "bag_unpack()", at)?;
        let mut keys = std::collections::BTreeSet::new();
        for list in &key_lists {
            if let Ok(serde_json::Value::Array(items)) = serde_json::from_str::<serde_json::Value>(list) {
                keys.extend(items.into_iter().filter_map(|k| k.as_str().map(str::to_owned)));
            }
        }
        if keys.len() > MAX_COLUMNS {
            return Err(err(
                at,
                format!("bag_unpack(): {} keys would be as many columns (at most {MAX_COLUMNS})", keys.len()),
            ));
        }
        let mut items = Vec::new();
        for k in keys {
            let name = format!("{prefix}{k}");
            if name != col.name && rel.cols.iter().any(|b| b.name == name) {
                return Err(err(
                    at,
                    format!(
                        "bag_unpack(): the key '{k}' is already a column; give a prefix, as in bag_unpack({}, 'p_')",
                        col.name
                    ),
                ));
            }
            let index = Expr::new(ExprKind::Literal(Literal::String(k.clone())), at);
            let member =
                Expr::new(ExprKind::Index { base: Box::new(ev.args[0].clone()), index: Box::new(index) }, at);
            items.push((name, texpr(self.scalar(&rel, &member)?)));
        }
        let mut rel = crate::plan::ops::project_away(rel, std::slice::from_ref(&col.name));
        let values = items.into_iter().map(|(n, t)| (n, crate::plan::value::Value::Expr(t))).collect();
        rel = crate::plan::ops::set_columns(rel, values)?;
        Ok(rel)
    }
}

impl Planner<'_> {
    /// `partition by col (operators)`.
    pub(super) fn partition(&mut self, rel: Rel, p: &kql::Partition) -> R<Rel> {
        let at = p.by.span;
        if !matches!(p.by.kind, ExprKind::Name(_)) {
            return Err(err(at, "partition by takes a column name"));
        }
        let v = self.scalar(&rel, &p.by)?;
        let text = to_string(v).expr;
        let values = self.distinct_texts(&rel, text.clone(), "partition", at)?;
        if values.len() > MAX_PARTS {
            return Err(err(
                at,
                format!(
                    "partition: {} values would be as many parts (at most {MAX_PARTS}); summarize, top-nested or arg_max may do it in one pass",
                    values.len()
                ),
            ));
        }
        let mut parts = Vec::new();
        for value in values {
            let mut part =
                crate::plan::ops::filter(rel.clone(), text.clone().eq(datafusion::logical_expr::lit(value)))?;
            for op in &p.operators {
                part = self.serial_operator(part, op)?;
            }
            parts.push(("partition".to_owned(), part));
        }
        if parts.is_empty() {
            // No rows: the subquery's columns over no rows.
            let mut part = crate::plan::ops::filter(rel, datafusion::logical_expr::lit(false))?;
            for op in &p.operators {
                part = self.serial_operator(part, op)?;
            }
            return Ok(part);
        }
        crate::plan::ops::union(parts, None)
    }
}

/// The column names an expression reads.
fn names_in(e: &Expr, out: &mut Vec<String>) {
    match &e.kind {
        ExprKind::Name(id) => out.push(id.name.clone()),
        ExprKind::Call { args, .. } => args.iter().for_each(|a| names_in(a, out)),
        ExprKind::Binary { left, right, .. } => {
            names_in(left, out);
            names_in(right, out);
        }
        ExprKind::Unary { operand, .. } => names_in(operand, out),
        ExprKind::Member { base, .. } | ExprKind::Index { base, .. } => names_in(base, out),
        _ => {}
    }
}
