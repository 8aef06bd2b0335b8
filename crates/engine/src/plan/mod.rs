//! KQL → DataFusion logical plans.
//!
//! A [`Rel`] is a DataFusion plan plus the KQL columns visible at that point of the pipe, each
//! an expression over the plan's columns (or a virtual event object). Operators that only
//! rename or reorder (`project`, `project-rename`, …) change the bindings, not the plan;
//! operators that compute build plan nodes. The canonical columns travel under hidden names
//! until an operator (`summarize`, `join`, …) ends the rows' identity with their event.

pub mod naming;
pub mod ops;
pub mod serial;
pub mod value;
pub mod walk;

use datafusion::common::Column;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder};

use crate::error::PlanError;
use crate::event::is_hidden;
use value::{TExpr, Value, to_dynamic};

/// A visible KQL column: its name and value.
#[derive(Debug, Clone)]
pub struct Binding {
    /// The KQL column name.
    pub name: String,
    /// Its value over the plan.
    pub value: Value,
}

/// A tabular expression being planned.
#[derive(Debug, Clone)]
pub struct Rel {
    /// The DataFusion plan.
    pub plan: LogicalPlan,
    /// The visible columns, in KQL order.
    pub cols: Vec<Binding>,
    /// Whether the plan still carries the hidden canonical columns of each row's event.
    pub has_event: bool,
}

/// A plain column reference by exact name (no parsing of dots or quotes).
pub fn column(name: &str) -> Expr {
    Expr::Column(Column::from_name(name))
}

impl Rel {
    /// The visible column named `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.cols.iter().find(|b| b.name == name).map(|b| &b.value)
    }

    /// The visible column names.
    pub fn names(&self) -> Vec<String> {
        self.cols.iter().map(|b| b.name.clone()).collect()
    }

    /// A plan column name not yet used, close to `wanted`.
    pub fn fresh_name(&self, wanted: &str) -> String {
        let taken = |n: &str| self.plan.schema().fields().iter().any(|f| f.name() == n);
        if !taken(wanted) && !is_hidden(wanted) {
            return wanted.to_owned();
        }
        (2..).map(|i| format!("{wanted}__{i}")).find(|n| !taken(n)).unwrap_or_else(|| wanted.to_owned())
    }

    /// Every column of the plan as a column expression.
    pub fn plan_columns(&self) -> Vec<Expr> {
        self.plan.schema().columns().into_iter().map(Expr::Column).collect()
    }

    /// Computes the given values as new plan columns (keeping every existing one), returning
    /// the rebound values. Cheap expressions (column reads, literals) stay as they are.
    pub fn compute(&mut self, values: Vec<(String, Value)>) -> Result<Vec<Value>, PlanError> {
        let mut exprs = self.plan_columns();
        let mut out = Vec::with_capacity(values.len());
        let mut added = Vec::new();
        for (name, v) in values {
            match v {
                Value::Expr(t) if !is_cheap(&t.expr) => {
                    let mut phys = self.fresh_name(&name);
                    while added.contains(&phys) {
                        phys.push('_');
                    }
                    exprs.push(t.expr.clone().alias(phys.clone()));
                    added.push(phys.clone());
                    out.push(Value::Expr(TExpr { expr: column(&phys), ty: t.ty, json_of: t.json_of }));
                }
                other => out.push(other),
            }
        }
        if !added.is_empty() {
            // Window functions (`prev()`, `row_number()`, …) are computed first.
            let (plan, exprs) = serial::windows(self.plan.clone(), exprs)?;
            self.plan =
                LogicalPlanBuilder::from(plan).project(exprs).map_err(internal)?.build().map_err(internal)?;
        }
        Ok(out)
    }

    /// Replaces the plan by one holding exactly the visible columns, under unique plan names,
    /// with event objects built as JSON. The hidden columns are dropped unless `keep_event`.
    pub fn materialize(self, keep_event: bool) -> Result<Rel, PlanError> {
        let mut exprs = Vec::new();
        let mut cols = Vec::new();
        let mut used: Vec<String> = Vec::new();
        for b in &self.cols {
            let t = match &b.value {
                Value::Event(_) => to_dynamic(b.value.clone()),
                Value::Expr(t) => t.clone(),
            };
            let mut phys = b.name.clone();
            let mut i = 2;
            while used.contains(&phys) || is_hidden(&phys) {
                phys = format!("{}__{i}", b.name);
                i += 1;
            }
            used.push(phys.clone());
            exprs.push(t.expr.clone().alias(phys.clone()));
            let json_of = if keep_event { t.json_of.clone() } else { None };
            cols.push(Binding {
                name: b.name.clone(),
                value: Value::Expr(TExpr { expr: column(&phys), ty: t.ty, json_of }),
            });
        }
        let keep = keep_event && self.has_event;
        if keep {
            for c in self.plan.schema().columns() {
                if is_hidden(&c.name) {
                    exprs.push(Expr::Column(c));
                }
            }
        }
        let plan = LogicalPlanBuilder::from(self.plan)
            .project(exprs)
            .map_err(internal)?
            .build()
            .map_err(internal)?;
        Ok(Rel { plan, cols, has_event: keep })
    }
}

/// True for expressions worth recomputing rather than storing: column reads and constants.
pub fn is_cheap(e: &Expr) -> bool {
    match e {
        Expr::Column(_) | Expr::Literal(..) => true,
        Expr::Alias(a) => is_cheap(&a.expr),
        Expr::Cast(c) => is_cheap(&c.expr),
        Expr::ScalarFunction(f)
            if matches!(f.func.name(), "coalesce" | "kql_empty_if_null" | "kql_first_present") =>
        {
            f.args.iter().all(is_cheap)
        }
        _ => false,
    }
}

/// A DataFusion error while building a plan: a bug of ours, reported as such.
pub fn internal(e: impl std::fmt::Display) -> PlanError {
    PlanError::at(None, format!("internal planner error (please report it): {e}"))
}
