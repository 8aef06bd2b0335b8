//! Summaries computed once per engine. Queries often start the same way: `diagnose` asks the
//! requests per user agent and user for its top clients, its top users and the control
//! plane's version, each over millions of events. The innermost `summarize` of a query (an
//! aggregate whose input holds no other) is run on its own, and its rows are kept; a later
//! query whose innermost aggregate is the same plan (same table, filters, groups and
//! aggregates, `now()` included, as planned from its text) reads those rows instead of the
//! events. A query running beside the first waits for its rows rather than computing them
//! twice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use arrow::array::{RecordBatch, RecordBatchOptions};
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DataFusionError};
use datafusion::dataframe::DataFrame;
use datafusion::datasource::{MemTable, provider_as_source};
use datafusion::error::Result;
use datafusion::execution::SessionState;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder};

/// Kept rows larger than this are used by their own query only (a summary by request or by
/// audit ID is as big as the events and unlikely to be asked twice).
const KEEP_BYTES: usize = 64 * 1024 * 1024;

/// All the summaries an engine keeps hold at most this much; past it, new ones serve the
/// queries that asked for them only.
const KEEP_ALL_BYTES: usize = 256 * 1024 * 1024;

/// The summaries an engine has computed, by their plan.
#[derive(Default)]
pub(crate) struct Summaries {
    slots: Mutex<HashMap<LogicalPlan, Arc<Slot>>>,
    next_name: std::sync::atomic::AtomicUsize,
    /// Bytes of the rows kept.
    kept_bytes: std::sync::atomic::AtomicUsize,
}

/// One summary's rows, filled by the first query that needs them.
type Slot = OnceLock<std::result::Result<Rows, String>>;

/// A summary's rows, with the table they are read from.
#[derive(Clone)]
struct Rows {
    table: Arc<MemTable>,
    name: String,
}

impl Summaries {
    /// How many summaries are kept.
    pub(crate) fn kept(&self) -> usize {
        self.lock().values().filter(|s| matches!(s.get(), Some(Ok(_)))).count()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<LogicalPlan, Arc<Slot>>> {
        // A panic while the lock was held left a map of whole entries: still good.
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `plan` with each innermost aggregate read from its kept rows, computing them first
    /// when no query has. `run` executes a plan to its batches.
    pub(crate) fn reuse(
        &self,
        plan: LogicalPlan,
        state: &SessionState,
        run: &dyn Fn(DataFrame) -> Result<Vec<RecordBatch>>,
    ) -> Result<LogicalPlan> {
        let out = plan.transform_down(|node| {
            let LogicalPlan::Aggregate(agg) = &node else { return Ok(Transformed::no(node)) };
            if !innermost(&agg.input) || !reusable(&node) {
                // Not this one: an aggregate below it may still be.
                return Ok(Transformed::no(node));
            }
            let rows = self.rows(&node, state, run)?;
            // The nodes above read the same columns, of the same types, from the kept rows.
            Ok(Transformed::new(read_rows(&node, &rows)?, true, TreeNodeRecursion::Jump))
        })?;
        Ok(out.data)
    }

    /// The rows of the aggregate `node`, computed now unless kept.
    fn rows(
        &self,
        node: &LogicalPlan,
        state: &SessionState,
        run: &dyn Fn(DataFrame) -> Result<Vec<RecordBatch>>,
    ) -> Result<Rows> {
        let slot = self.lock().entry(node.clone()).or_default().clone();
        let rows = slot.get_or_init(|| {
            let schema = Arc::new(node.schema().as_arrow().clone());
            let batches = run(DataFrame::new(state.clone(), node.clone())).map_err(|e| e.to_string())?;
            // The kept rows carry the schema the plan above was built against. A column may
            // come out of the executed plan in another string layout than that schema says:
            // `iff(c, "", tostring(ObjectRef.namespace))` is typed by its literal (Utf8) when
            // planned, and computed as the coerced type of both branches (the Parquet column's
            // Utf8View); it is cast back (review s46: AUD008 failed with "expected Utf8 but
            // found Utf8View").
            let batches = batches
                .into_iter()
                .map(|b| {
                    let columns = b
                        .columns()
                        .iter()
                        .zip(schema.fields())
                        .map(|(c, f)| {
                            if c.data_type() == f.data_type() {
                                Ok(c.clone())
                            } else {
                                arrow::compute::cast(c, f.data_type())
                            }
                        })
                        .collect::<std::result::Result<Vec<_>, _>>()?;
                    RecordBatch::try_new_with_options(
                        schema.clone(),
                        columns,
                        &RecordBatchOptions::new().with_row_count(Some(b.num_rows())),
                    )
                })
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())?;
            let bytes = batches.iter().map(RecordBatch::get_array_memory_size).sum();
            let table = MemTable::try_new(schema, vec![batches]).map_err(|e| e.to_string())?;
            let n = self.next_name.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let rows = Rows { table: Arc::new(table), name: format!("__summary_{n}") };
            let kept = self.kept_bytes.fetch_add(bytes, std::sync::atomic::Ordering::Relaxed) + bytes;
            if bytes > KEEP_BYTES || kept > KEEP_ALL_BYTES {
                // Read by the queries waiting on them, then let go.
                self.kept_bytes.fetch_sub(bytes, std::sync::atomic::Ordering::Relaxed);
                self.lock().remove(node);
            }
            Ok(rows)
        });
        match rows {
            Ok(rows) => Ok(rows.clone()),
            Err(message) => {
                // The next query asks again rather than inheriting this failure.
                self.lock().remove(node);
                Err(DataFusionError::Execution(message.clone()))
            }
        }
    }
}

/// Whether `input` holds no aggregate, window or other summary of its own.
fn innermost(input: &LogicalPlan) -> bool {
    let summary = input.exists(|n| {
        Ok(matches!(
            n,
            LogicalPlan::Aggregate(_)
                | LogicalPlan::Window(_)
                | LogicalPlan::Limit(_)
                | LogicalPlan::Sort(_)
                | LogicalPlan::Distinct(_)
                | LogicalPlan::Join(_)
                | LogicalPlan::Union(_)
                | LogicalPlan::Extension(_)
                | LogicalPlan::RecursiveQuery(_)
                | LogicalPlan::Subquery(_)
        ))
    });
    matches!(summary, Ok(false))
}

/// Whether the same plan always gives the same rows (no `rand()`, no subquery) and its
/// columns are named without a table, as a summary's are.
fn reusable(node: &LogicalPlan) -> bool {
    if node.schema().iter().any(|(qualifier, _)| qualifier.is_some()) {
        return false;
    }
    let changing = |e: &Expr| {
        e.exists(|x| {
            Ok(x.is_volatile_node()
                || matches!(x, Expr::ScalarSubquery(_) | Expr::Exists(_) | Expr::InSubquery(_)))
        })
    };
    let varies = node.exists(|n| {
        let mut found = false;
        n.apply_expressions(|e| {
            found = changing(e)?;
            Ok(if found { TreeNodeRecursion::Stop } else { TreeNodeRecursion::Continue })
        })?;
        Ok(found)
    });
    matches!(varies, Ok(false))
}

/// A scan of `rows` with the columns of the aggregate `node`, named as it names them.
fn read_rows(node: &LogicalPlan, rows: &Rows) -> Result<LogicalPlan> {
    let scan = LogicalPlanBuilder::scan(rows.name.clone(), provider_as_source(rows.table.clone()), None)?;
    let exprs: Vec<Expr> = node
        .schema()
        .fields()
        .iter()
        .map(|f| Expr::Column(Column::new(Some(rows.name.clone()), f.name())).alias(f.name()))
        .collect();
    scan.project(exprs)?.build()
}
