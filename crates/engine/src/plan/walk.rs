//! Walks the KQL syntax tree and builds the plan: statements, sources, operators, scalar
//! expressions and aggregates.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::DataType;
use chrono::{DateTime, Utc};
use datafusion::common::ScalarValue;
use datafusion::functions_aggregate::expr_fn::{
    avg, count, count_distinct, first_value, max, min, stddev, sum, var_sample,
};
use datafusion::logical_expr::{
    Expr as DfExpr, ExprFunctionExt, LogicalPlan, LogicalPlanBuilder, Operator as DfOp, cast, lit, not,
};
use datafusion::prelude::{coalesce, concat, greatest, least, lower, upper};
use kql::{
    BinaryOp, Expr, ExprKind, ListOp, Literal, NamedExpr, OperatorKind, Source, Span, Statement, TabularExpr,
};

use super::naming;
use super::ops::{self, AggOut, JoinKind, SortKey};
use super::value::{self, Seg, TExpr, Value, compare, convert, member, to_json, to_string};
use super::{Binding, Rel, column, internal};
use crate::error::{EngineError, PlanError};
use crate::types::{KType, Native};
use crate::udf::{aggregates, call, udfs};
use crate::{Engine, Now, QueryOptions, QueryResult, RenderSpec, ResultColumn, tables};

mod evaluate;
mod mv_apply;
pub(crate) mod series;
mod top_nested;
mod window;

type R<T> = Result<T, PlanError>;

fn span(s: Span) -> Option<std::ops::Range<usize>> {
    Some(s.start..s.end)
}

fn err(s: Span, msg: impl Into<String>) -> PlanError {
    PlanError::at(span(s), msg)
}

/// What a `let` name is bound to.
#[derive(Clone)]
enum Bound {
    Scalar(Value),
    Tabular(Rel),
}

/// The state of planning one query.
pub struct Planner<'e> {
    engine: &'e Engine,
    now_ns: i64,
    lets: HashMap<String, Bound>,
    /// The expression each scalar `let` was bound to, so `x in (names)` can use a
    /// `dynamic([...])` list's elements.
    let_exprs: HashMap<String, Expr>,
    render: Option<RenderSpec>,
    /// Set when an expression read `now()` or `ago()`: an empty result may then be the time
    /// filter's doing.
    pub uses_now: bool,
    /// The `where`s whose own terms read now() or ago(), each as the rows it was given and
    /// those its time terms alone keep: whether a time filter removed every row, when the
    /// result alone cannot tell (`| count` gives one row of 0), and without blaming it for
    /// what another filter removed.
    time_filtered: Vec<TimeProbe>,
    /// The scalar `let`s whose value reads now() or ago(): a `where` that reads one reads now().
    now_lets: HashSet<String>,
    unnamed: usize,
    /// The user-defined scalar functions (`let f = (t: string) { … }`), by name.
    functions: HashMap<String, Arc<kql::FunctionDef>>,
    /// User-defined function calls being planned inside one another (a bound on recursion).
    call_depth: usize,
    /// User-defined function calls planned so far (each call plans its body anew).
    calls_planned: usize,
    /// Set while a `where` predicate is planned: `x in (T)` there is a DataFusion `IN`
    /// subquery (a semi join); elsewhere DataFusion cannot run one.
    in_where: bool,
    /// The `by` keys of the `summarize` being planned: `arg_max(x, *)` returns them once, as
    /// keys, not again among the other columns.
    summarize_keys: Vec<String>,
    /// Serialized rows and window functions (see `window`).
    window: window::State,
}

/// How deeply user-defined functions may call one another: each level plans the body again
/// on the stack.
const MAX_CALL_DEPTH: usize = 8;

/// How many user-defined function calls one query may plan (bodies calling several functions
/// that call several more multiply).
const MAX_CALLS_PLANNED: usize = 10_000;

/// An expression found where a scalar was expected but that is an aggregate.
fn is_aggregate(name: &str) -> bool {
    kql::AGGREGATE_FUNCTIONS.binary_search(&name).is_ok()
}

fn parse_error(e: kql::ParseError) -> EngineError {
    if e.kind == kql::ParseErrorKind::Unsupported {
        let what = e.message.trim_start_matches("not supported yet: ").to_owned();
        return EngineError::Unsupported { what, span: span(e.span), help: e.help };
    }
    EngineError::Parse { message: e.message, span: span(e.span), help: e.help }
}

/// Resolves `--now` against the data, with a notice when `latest` passed over events.
pub fn resolve_now(engine: &Engine, now: Now) -> Result<(DateTime<Utc>, Option<String>), EngineError> {
    Ok(match now {
        Now::Wall => (Utc::now(), None),
        Now::At(t) => (t, None),
        Now::Latest => match time_range(engine)? {
            Some((_, newest)) => latest_possible(engine, newest)?,
            None => (Utc::now(), None),
        },
    })
}

/// `--now latest`: the newest event at a possible time ([`crate::possible_times`]), as
/// `diagnose`'s window ends there. Review s42: one event stamped 2099 by a clock set wrong
/// pinned now() to 2099, and every `ago()` window of the query missed the real events. When
/// every event is at an impossible time, the newest of them.
fn latest_possible(
    engine: &Engine,
    newest: DateTime<Utc>,
) -> Result<(DateTime<Utc>, Option<String>), EngineError> {
    let (began, end) = crate::possible_times();
    if newest <= end {
        return Ok((newest, None));
    }
    let nanos = |t: DateTime<Utc>| t.timestamp_nanos_opt().unwrap_or(i64::MAX);
    let t = coalesce(vec![
        crate::event::hcol(audit::col::TIME_GENERATED),
        crate::event::hcol(audit::col::STAGE_TIMESTAMP),
        crate::event::hcol(audit::col::REQUEST_RECEIVED_TIMESTAMP),
    ]);
    let possible = t.clone().gt_eq(ts_lit(nanos(began))).and(t.clone().lt_eq(ts_lit(nanos(end))));
    let plan = LogicalPlanBuilder::from(engine.base().clone())
        .aggregate(
            Vec::<DfExpr>::new(),
            vec![
                max(t.clone()).filter(possible).build()?.alias("newest"),
                count(lit(1)).filter(t.gt(ts_lit(nanos(end)))).build()?.alias("after"),
            ],
        )?
        .project(vec![cast(column("newest"), DataType::Int64), cast(column("after"), DataType::Int64)])?
        .build()?;
    let batches =
        engine.block_on(async { engine.ctx().execute_logical_plan(plan).await?.collect().await })?;
    use arrow::array::{Array, AsArray};
    let fmt = |t: DateTime<Utc>| crate::kvalue::format_datetime(nanos(t));
    let Some(b) = batches.first().filter(|b| b.num_rows() > 0) else { return Ok((newest, None)) };
    let (possible_newest, after) = (
        b.column(0).as_primitive::<arrow::datatypes::Int64Type>(),
        b.column(1).as_primitive::<arrow::datatypes::Int64Type>(),
    );
    let after = if after.is_null(0) { 0 } else { after.value(0) };
    if possible_newest.is_null(0) {
        return Ok((
            newest,
            Some(format!(
                "--now latest: no event has a possible time (from {} to a day after the wall clock); now() is the \
                 newest event, {}",
                crate::kvalue::format_datetime(nanos(began)),
                fmt(newest)
            )),
        ));
    }
    let pinned = DateTime::from_timestamp_nanos(possible_newest.value(0));
    Ok((
        pinned,
        Some(format!(
            "--now latest: {after} event{} stamped more than a day after the wall clock (the newest {}), an impossible \
             time, {} passed over; now() is the newest event at a possible time, {}",
            if after == 1 { " is" } else { "s are" },
            fmt(newest),
            if after == 1 { "is" } else { "are" },
            fmt(pinned)
        )),
    ))
}

/// A planned query: the plan, its KQL columns, its `render`, and whether it reads `now()`.
/// A planned query.
pub struct Planned {
    /// The plan.
    pub plan: datafusion::logical_expr::LogicalPlan,
    /// The result's KQL columns.
    pub cols: Vec<(String, KType)>,
    /// The `render` request.
    pub render: Option<RenderSpec>,
    /// Whether the query read now() or ago().
    pub uses_now: bool,
    /// The time filters (see [`Planner`]).
    pub time_filtered: Vec<TimeProbe>,
}

/// One `where` that reads now(): the rows it was given, and those its terms that read now()
/// keep on their own (`TimeGenerated > ago(1h)` of `UserAgent == "x" and TimeGenerated >
/// ago(1h)`). The time filter removed every row when the first holds rows and the second
/// none; when no row reached the `where`, or another term removed them, it is not to blame.
pub struct TimeProbe {
    /// The rows the `where` was given.
    pub given: datafusion::logical_expr::LogicalPlan,
    /// Those rows filtered by the time terms alone.
    pub kept: datafusion::logical_expr::LogicalPlan,
    /// A window of fixed dates (`datetime(2023-02-23)`), not of now(), that no event's time
    /// falls in: the note says so instead of pointing at `--now`.
    pub fixed: bool,
}

/// At most this many time filters are checked (each check reads up to two rows).
const MAX_TIME_PROBES: usize = 4;

/// The terms of a predicate joined by `and` at its top level, left to right.
fn conjuncts<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
    match &e.kind {
        ExprKind::Binary { op: BinaryOp::And, left, right } => {
            conjuncts(left, out);
            conjuncts(right, out);
        }
        _ => out.push(e),
    }
}

/// An aggregate's numeric input: the expression, its type, and how to convert the result back.
type NumericInput = (DfExpr, KType, Option<fn(DfExpr) -> DfExpr>);

/// The first and last `TimeGenerated` of the events.
pub fn time_range(engine: &Engine) -> Result<Option<crate::TimeRange>, EngineError> {
    // Every event has a TimeGenerated: the store's footers (or the batches) already hold its
    // range, and `--now latest` needs no pass over the events.
    if let Some((lo, hi)) = engine.time_bounds().time_generated() {
        return Ok(Some((DateTime::from_timestamp_nanos(lo), DateTime::from_timestamp_nanos(hi))));
    }
    let t = coalesce(vec![
        crate::event::hcol(audit::col::TIME_GENERATED),
        crate::event::hcol(audit::col::STAGE_TIMESTAMP),
        crate::event::hcol(audit::col::REQUEST_RECEIVED_TIMESTAMP),
    ]);
    let plan = LogicalPlanBuilder::from(engine.base().clone())
        .aggregate(Vec::<DfExpr>::new(), vec![min(t.clone()).alias("lo"), max(t).alias("hi")])?
        .project(vec![cast(column("lo"), DataType::Int64), cast(column("hi"), DataType::Int64)])?
        .build()?;
    let batches =
        engine.block_on(async { engine.ctx().execute_logical_plan(plan).await?.collect().await })?;
    let Some(b) = batches.first().filter(|b| b.num_rows() > 0) else { return Ok(None) };
    use arrow::array::{Array, AsArray};
    let lo = b.column(0).as_primitive::<arrow::datatypes::Int64Type>();
    let hi = b.column(1).as_primitive::<arrow::datatypes::Int64Type>();
    if lo.is_null(0) || hi.is_null(0) {
        return Ok(None);
    }
    Ok(Some((DateTime::from_timestamp_nanos(lo.value(0)), DateTime::from_timestamp_nanos(hi.value(0)))))
}

/// Plans a query: the final plan, its KQL columns, the render request and whether it read now().
pub fn plan(engine: &Engine, source: &str, now: DateTime<Utc>) -> Result<Planned, EngineError> {
    let query = kql::parse(source).map_err(parse_error)?;
    let mut p = Planner {
        engine,
        now_ns: now.timestamp_nanos_opt().unwrap_or(0),
        lets: HashMap::new(),
        let_exprs: HashMap::new(),
        render: None,
        uses_now: false,
        time_filtered: Vec::new(),
        now_lets: HashSet::new(),
        unnamed: 0,
        functions: HashMap::new(),
        call_depth: 0,
        calls_planned: 0,
        in_where: false,
        summarize_keys: Vec::new(),
        window: window::State::new(source),
    };
    let mut result = None;
    for st in &query.statements {
        match st {
            Statement::Let(l) => {
                let bound = match &l.value {
                    kql::LetValue::Expr(e) => {
                        // A bare name may be a table or a tabular let.
                        if let ExprKind::Name(id) = &e.kind
                            && let Some(rel) = p.tabular_name(id)?
                        {
                            Bound::Tabular(rel)
                        } else {
                            p.let_exprs.insert(l.name.name.clone(), e.clone());
                            let before = std::mem::replace(&mut p.uses_now, false);
                            let v = p.scalar(&empty_rel(engine)?, e)?;
                            if p.uses_now {
                                p.now_lets.insert(l.name.name.clone());
                            } else {
                                p.now_lets.remove(&l.name.name);
                            }
                            p.uses_now |= before;
                            Bound::Scalar(v)
                        }
                    }
                    kql::LetValue::Tabular(t) | kql::LetValue::Materialize(t, _) => {
                        Bound::Tabular(p.tabular(t)?)
                    }
                    kql::LetValue::Function(f) => {
                        p.now_lets.remove(&l.name.name);
                        p.define_function(&l.name.name, f)?;
                        continue;
                    }
                };
                if matches!(bound, Bound::Tabular(_)) {
                    p.now_lets.remove(&l.name.name);
                }
                if matches!(bound, Bound::Tabular(_)) {
                    p.let_exprs.remove(&l.name.name);
                }
                p.functions.remove(&l.name.name);
                p.lets.insert(l.name.name.clone(), bound);
            }
            Statement::Tabular(t) => {
                p.render = None;
                result = Some(p.tabular(t)?);
            }
        }
    }
    let Some(rel) = result else {
        return Err(EngineError::Plan(PlanError::at(
            span(query.span),
            "the query has no tabular expression to run",
        )));
    };
    let (plan, cols) = ops::finish(rel)?;
    Ok(Planned { plan, cols, render: p.render.take(), uses_now: p.uses_now, time_filtered: p.time_filtered })
}

/// Runs a query.
pub fn run(engine: &Engine, source: &str, options: &QueryOptions) -> Result<QueryResult, EngineError> {
    run_to(engine, source, options, None)
}

/// A sink for the rows of [`run_streamed`]: each batch with the result's columns, as it comes.
pub type BatchSink<'s> = &'s mut dyn FnMut(&[ResultColumn], &RecordBatch) -> Result<(), EngineError>;

/// As [`run`], with the rows handed to `sink` a batch at a time as the plan yields them instead
/// of held (review s56: a query returning every event held them all, 1.5 GB for one file's
/// hour, beyond the memory limit, which governs the operators only). The result's `batches`
/// are then only those of a result of at most one row (what the notes read); its notes and
/// columns are as [`run`]'s.
pub fn run_streamed(
    engine: &Engine,
    source: &str,
    options: &QueryOptions,
    sink: BatchSink<'_>,
) -> Result<QueryResult, EngineError> {
    run_to(engine, source, options, Some(sink))
}

fn run_to(
    engine: &Engine,
    source: &str,
    options: &QueryOptions,
    sink: Option<BatchSink<'_>>,
) -> Result<QueryResult, EngineError> {
    let (now, now_notice) = resolve_now(engine, options.now)?;
    let Planned { plan, cols, render, uses_now, time_filtered } = plan(engine, source, now)?;
    let state = session_for(engine, options.few_rows || limit_over_filtered_scan(&plan));
    let collect = |df: datafusion::dataframe::DataFrame| engine.block_on(df.collect());
    let plan = engine.summaries().reuse(plan, &state, &collect)?;
    let df = datafusion::dataframe::DataFrame::new(state, plan);
    let columns: Vec<ResultColumn> =
        cols.iter().map(|(name, ty)| ResultColumn { name: name.clone(), ty: *ty }).collect();
    let (batches, rows, first_schema) = match sink {
        None => {
            let batches = collect(df)?;
            let rows = batches.iter().map(|b| b.num_rows()).sum();
            let schema = batches.first().map(|b| b.schema());
            (batches, rows, schema)
        }
        Some(sink) => stream_to(engine, df, &columns, sink)?,
    };
    let schema = match first_schema {
        Some(s) => s,
        None => std::sync::Arc::new(arrow::datatypes::Schema::new(
            cols.iter().map(|(n, t)| arrow::datatypes::Field::new(n, t.arrow(), true)).collect::<Vec<_>>(),
        )),
    };
    // Did the time filter remove every row? When nothing came out, or one row (`| count`,
    // `summarize count()`), ask the rows just after that filter: another filter (a user agent
    // that is not there) may have removed them instead, and then the window is not to blame.
    // Without that filter's plan, nothing out is all there is to go on.
    let mut filtered_out = false;
    let mut fixed_window = false;
    // Nothing out: no row, or one count of 0 (`| count`, `summarize count()`).
    let nothing = rows == 0 || nothing_counted(&batches);
    // now() read elsewhere than in a `where`'s own terms (`extend age = now() - TimeGenerated
    // | where age < 1h`): which filter removed the rows is not known, so the note only says
    // where now() lies, and only when it lies outside the data. Also when the query ends in
    // `| count` (review s56: the note was missing there).
    let unattributed = nothing && uses_now && time_filtered.iter().all(|t| t.fixed);
    if rows <= 1 && (uses_now || time_filtered.iter().any(|t| t.fixed)) {
        let has_rows = |plan: datafusion::logical_expr::LogicalPlan| -> Result<bool, EngineError> {
            let probe =
                LogicalPlanBuilder::from(plan).limit(0, Some(1)).and_then(|b| b.build()).map_err(internal)?;
            // A limit over filters: the filters run inside the Parquet reader, so the other
            // columns are decoded only for a row that passes (see `limit_over_filtered_scan`).
            let got = engine.block_on(
                datafusion::dataframe::DataFrame::new(session_for(engine, true), probe).collect(),
            )?;
            Ok(got.iter().any(|b| b.num_rows() > 0))
        };
        for tf in time_filtered {
            let fixed = tf.fixed;
            if !has_rows(tf.kept)? && has_rows(tf.given)? {
                filtered_out = true;
                fixed_window = fixed;
                break;
            }
        }
    }
    let mut notices: Vec<String> = Vec::new();
    if uses_now {
        notices.extend(now_notice);
    }
    if filtered_out && fixed_window {
        // Review s56: `let starttime = datetime("2023-02-23") … | where TimeGenerated > starttime`
        // over other days gave 0 rows without a word.
        let what = if rows == 0 { "no rows" } else { "no event passed the time filter" };
        let fmt = |t: DateTime<Utc>| crate::kvalue::format_datetime(t.timestamp_nanos_opt().unwrap_or(0));
        match time_range(engine)? {
            Some((lo, hi)) => notices.push(format!(
                "{what}: the query's time window (a `where` on fixed dates) lies wholly outside the data, \
                 which covers {} to {}; change its dates to fall in that range",
                fmt(lo),
                fmt(hi),
            )),
            None => notices.push(format!("{what}: there are no events")),
        }
    } else if filtered_out {
        let what = if rows == 0 { "no rows" } else { "no event passed the time filter" };
        let fmt = |t: DateTime<Utc>| crate::kvalue::format_datetime(t.timestamp_nanos_opt().unwrap_or(0));
        match time_range(engine)? {
            Some((lo, hi)) if options.now == Now::Latest => notices.push(format!(
                "{what}: now() is pinned to the newest event ({}), and the data covers {} to {}; widen the query's time window",
                fmt(now),
                fmt(lo),
                fmt(hi),
            )),
            Some((lo, hi)) => notices.push(format!(
                "{what}: the query filters on now() ({}), but the data covers {} to {}; pass --now latest (or --now {}) to pin now() to the data",
                fmt(now),
                fmt(lo),
                fmt(hi),
                fmt(hi),
            )),
            None => notices.push(format!("{what}: there are no events")),
        }
    } else if unattributed
        && options.now != Now::Latest
        && let Some((lo, hi)) = time_range(engine)?
        && (now < lo || now > hi)
    {
        let fmt = |t: DateTime<Utc>| crate::kvalue::format_datetime(t.timestamp_nanos_opt().unwrap_or(0));
        notices.push(format!(
            "{}: the query reads now() ({}), which is outside the data ({} to {}); if it filters on a window around now(), pass --now latest (or --now {}) to pin now() to the data",
            if rows == 0 { "no rows" } else { "nothing counted" },
            fmt(now),
            fmt(lo),
            fmt(hi),
            fmt(hi),
        ));
    }
    // `--now latest` over events none of which has a time: now() fell back to the wall clock
    // without a word (review s42).
    if uses_now && options.now == Now::Latest && time_range(engine)?.is_none() {
        notices.push(format!(
            "--now latest: no event has a time, so now() is the wall clock ({})",
            crate::kvalue::format_datetime(now.timestamp_nanos_opt().unwrap_or(0))
        ));
    }
    if nothing && let Some(note) = category_note(source, engine.categories()) {
        notices.push(note);
    }
    if reads_bodies(source) && !holds_bodies(engine)? {
        notices.push(
            "the query reads request or response bodies (RequestObject, ResponseObject, requestObject, \
             responseObject), which these events do not hold: bodies are dropped unless kept with \
             `ingest --keep-bodies` or `query --input … --keep-bodies` (they can hold Secrets), so \
             what they would have matched is not in the result. A store keeps each event as first \
             stored: to have the bodies of events it holds without them, ingest their logs with \
             --keep-bodies into a new store"
                .to_owned(),
        );
    }
    Ok(QueryResult { schema, batches, columns, render, notices, now })
}

/// Runs `df`, handing each batch to `sink` as it comes: the batches of a result of at most one
/// row (kept for the notes), the rows, and the first batch's schema.
fn stream_to(
    engine: &Engine,
    df: datafusion::dataframe::DataFrame,
    columns: &[ResultColumn],
    sink: BatchSink<'_>,
) -> Result<(Vec<RecordBatch>, usize, Option<arrow::datatypes::SchemaRef>), EngineError> {
    use futures::StreamExt;
    engine.block_on(async {
        let mut stream = df.execute_stream().await?;
        let (mut kept, mut rows, mut schema) = (Vec::new(), 0usize, None);
        while let Some(b) = stream.next().await {
            let b = b?;
            schema.get_or_insert_with(|| b.schema());
            rows += b.num_rows();
            if rows > 1 {
                kept.clear();
            } else if b.num_rows() > 0 {
                kept.push(b.clone());
            }
            sink(columns, &b)?;
        }
        Ok((kept, rows, schema))
    })
}

/// Whether `term`, a `where`'s term without now(), keeps no event by the store's time bounds:
/// a comparison of a time with a fixed date, or several joined by `and`, or `between` two
/// fixed dates, wholly before or after the data.
fn outside_the_data(bounds: &crate::bounds::TimeBounds, term: &DfExpr) -> bool {
    use datafusion::logical_expr::Between;
    let never = DfExpr::Literal(datafusion::scalar::ScalarValue::Boolean(Some(false)), None);
    if bounds.simplify(term.clone()).is_some_and(|t| t == never) {
        return true;
    }
    match term {
        DfExpr::Between(Between { expr, negated: false, low, high }) => {
            let from = (**expr).clone().gt_eq((**low).clone());
            let to = (**expr).clone().lt_eq((**high).clone());
            bounds.term_truth(&from) == Some(false) || bounds.term_truth(&to) == Some(false)
        }
        _ => false,
    }
}

/// Whether the result is one row of counts that are all 0 (`| count`, `summarize count()`,
/// `countif(…)`): nothing counted, as telling as no row.
fn nothing_counted(batches: &[arrow::array::RecordBatch]) -> bool {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{DataType, Int64Type, UInt64Type};
    let mut rows = batches.iter().filter(|b| b.num_rows() > 0);
    let (Some(b), None) = (rows.next(), rows.next()) else { return false };
    b.num_rows() == 1
        && b.num_columns() > 0
        && b.columns().iter().all(|c| match c.data_type() {
            DataType::Int64 => c.as_primitive::<Int64Type>().iter().all(|v| v == Some(0)),
            DataType::UInt64 => c.as_primitive::<UInt64Type>().iter().all(|v| v == Some(0)),
            _ => false,
        })
}

/// The Azure diagnostic categories of AKS's other resource logs: the components' own logs,
/// not audit events, which Log Analytics keeps in `AzureDiagnostics` beside them
/// (learn.microsoft.com, "Monitor AKS: resource logs").
const OTHER_AKS_CATEGORIES: [&str; 9] = [
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "cluster-autoscaler",
    "cloud-controller-manager",
    "guard",
    "csi-azuredisk-controller",
    "csi-azurefile-controller",
    "csi-snapshot-controller",
];

/// The note for a query with no result that selects a `Category` the events cannot have
/// (review s56: `Category == "kube-apiserver"`, in four published queries, and a misspelled
/// `"kube-audt"` gave 0 rows without a word, where an empty table reads as "nothing wrong").
/// Read from the text (`Category == "x"`, `=~`, `in ("x", …)`); `None` when every category
/// named is one the events are under.
fn category_note(source: &str, categories: crate::tables::Categories) -> Option<String> {
    static NAMED: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"\bCategory\s*(?:==|=~|in~?\s*\(([^)]*)\))\s*(?:"([^"]*)"|'([^']*)')?"#).ok()
    });
    // The strings of an `in (…)` list.
    static QUOTED: std::sync::LazyLock<Option<regex::Regex>> =
        std::sync::LazyLock::new(|| regex::Regex::new(r#""([^"]*)"|'([^']*)'"#).ok());
    let mut named: Vec<String> = Vec::new();
    for m in NAMED.as_ref()?.captures_iter(source) {
        if let (Some(list), Some(quoted)) = (m.get(1), QUOTED.as_ref()) {
            named.extend(
                quoted
                    .captures_iter(list.as_str())
                    .filter_map(|q| q.get(1).or(q.get(2)))
                    .map(|q| q.as_str().to_owned()),
            );
        }
        named.extend(m.get(2).or(m.get(3)).map(|q| q.as_str().to_owned()));
    }
    let present: Vec<&str> = [("kube-audit", categories.audit), ("kube-audit-admin", categories.admin)]
        .iter()
        .filter(|(_, on)| *on)
        .map(|(c, _)| *c)
        .collect();
    let missing: Vec<&String> =
        named.iter().filter(|c| !present.iter().any(|p| p.eq_ignore_ascii_case(c))).collect();
    if missing.is_empty() || missing.len() < named.len() {
        return None;
    }
    let under = present.join(" and ");
    let first = missing[0];
    if OTHER_AKS_CATEGORIES.iter().any(|c| c.eq_ignore_ascii_case(first)) {
        return Some(format!(
            "the query selects Category \"{first}\": AKS's {first} resource logs, the component's own log \
             lines, not audit events. These events are audit events only (under {under}), so no row can \
             match: run this query in Log Analytics, where those logs are"
        ));
    }
    let hint = findings::spelling::nearest(first, present.iter().copied(), 3)
        .map(|c| format!(" (did you mean \"{c}\"?)"))
        .unwrap_or_default();
    Some(format!("no event is under Category \"{first}\": the events are under {under}{hint}"))
}

/// This query's own copy of the session, so queries running beside it keep theirs; with
/// `pushdown`, filters run inside the Parquet reader.
/// Whether a query names the request or response body, as a column (`RequestObject`,
/// `KubeAudit`'s `requestObject`) or inside the JSON of `log_s` (`parse_json(log_s).requestObject`).
/// Read from the text: a mention in a string or a comment only costs the check below.
fn reads_bodies(source: &str) -> bool {
    ["RequestObject", "ResponseObject", "requestObject", "responseObject"]
        .iter()
        .any(|name| source.contains(name))
}

/// Whether any event holds a request or response body (one row is enough; the body columns of
/// events ingested without them are all null, which Parquet stores in a few bytes per page).
fn holds_bodies(engine: &Engine) -> Result<bool, EngineError> {
    use audit::schema::col;
    let held = column(&crate::event::hidden(col::REQUEST_OBJECT))
        .is_not_null()
        .or(column(&crate::event::hidden(col::RESPONSE_OBJECT)).is_not_null());
    let probe = LogicalPlanBuilder::from(engine.base().clone())
        .filter(held)
        .and_then(|b| b.limit(0, Some(1)))
        .and_then(|b| b.build())
        .map_err(internal)?;
    let got =
        engine.block_on(datafusion::dataframe::DataFrame::new(session_for(engine, true), probe).collect())?;
    Ok(got.iter().any(|b| b.num_rows() > 0))
}

fn session_for(engine: &Engine, pushdown: bool) -> datafusion::execution::SessionState {
    let mut state = engine.ctx().state();
    if pushdown {
        state.config_mut().options_mut().execution.parquet.pushdown_filters = true;
    }
    state
}

/// Whether `plan` ends in a limit over filters over a scan (`where … | take 10`): then the
/// filters are better run inside the Parquet reader, which decodes the other columns only for
/// the rows that pass, where after the reader every column of every row is decoded first.
/// Over a store of 8.8 M events, `where` with a window that holds no event `| take 1` read all
/// 31 columns of every file (1.85 s) where `| count` took 0.09 s (docs/performance.md, session 22).
fn limit_over_filtered_scan(plan: &LogicalPlan) -> bool {
    let (mut node, mut limited, mut filtered) = (plan, false, false);
    loop {
        node = match node {
            LogicalPlan::Projection(p) => p.input.as_ref(),
            LogicalPlan::SubqueryAlias(a) => a.input.as_ref(),
            LogicalPlan::Limit(l) if !limited => {
                limited = true;
                l.input.as_ref()
            }
            LogicalPlan::Filter(f) if limited => {
                filtered = true;
                f.input.as_ref()
            }
            LogicalPlan::TableScan(_) => return limited && filtered,
            _ => return false,
        };
    }
}

/// The optimised plan of a query, as text.
pub fn explain(engine: &Engine, source: &str, options: &QueryOptions) -> Result<String, EngineError> {
    let (now, _) = resolve_now(engine, options.now)?;
    let plan = plan(engine, source, now)?.plan;
    let state = engine.ctx().state();
    let optimized = state.optimize(&plan)?;
    let mut out = optimized.display_indent().to_string();
    if let Some((read, all)) = engine.files_read(&optimized) {
        out.push_str(&format!("\nStore files read: {read} of {all}"));
        if limit_over_filtered_scan(&plan) {
            out.push_str("\nFilters run inside the Parquet reader (a limit over filters): other columns are decoded only for rows that pass");
        }
    }
    Ok(out)
}

fn empty_rel(engine: &Engine) -> R<Rel> {
    let _ = engine;
    let plan = LogicalPlanBuilder::empty(true).build().map_err(internal)?;
    Ok(Rel { plan, cols: vec![], has_event: false })
}

fn lit_str(e: &Expr) -> Option<&str> {
    match &e.kind {
        ExprKind::Literal(Literal::String(s)) => Some(s),
        _ => None,
    }
}

/// Gives the columns of one `project` distinct names, as Kusto does: a name derived from an
/// expression that an earlier column already has gets the first free numeric suffix
/// (`project SourceIps, tostring(SourceIps)` gives `SourceIps` and `SourceIps1`); a name
/// given twice is an error. (Two equal names made DataFusion fail with an internal error.)
fn distinct_project_names(items: &[NamedExpr], planned: &mut [(String, Value)]) -> R<()> {
    let explicit: Vec<&str> =
        items.iter().filter_map(|ne| ne.name.as_ref().map(|n| n.name.as_str())).collect();
    let mut used: Vec<String> = Vec::new();
    for (ne, (name, _)) in items.iter().zip(planned.iter_mut()) {
        if used.contains(name) {
            match &ne.name {
                Some(id) => {
                    return Err(err(
                        id.span,
                        format!("column '{}' is projected twice; give one of them another name", id.name),
                    ));
                }
                None => {
                    let base = name.clone();
                    let mut i = 1;
                    while used.contains(&format!("{base}{i}"))
                        || explicit.contains(&format!("{base}{i}").as_str())
                    {
                        i += 1;
                    }
                    *name = format!("{base}{i}");
                }
            }
        }
        used.push(name.clone());
    }
    Ok(())
}

/// The functions of one text argument planned as one UDF call: the UDF and the result's type.
fn text_function<'a>(
    u: &'a crate::udf::Udfs,
    f: &str,
) -> Option<(&'a Arc<datafusion::logical_expr::ScalarUDF>, KType)> {
    Some(match f {
        "parse_ipv4" => (&u.parse_ipv4, KType::Long),
        "ipv4_is_private" => (&u.ipv4_is_private, KType::Bool),
        "ipv4_netmask_suffix" => (&u.ipv4_netmask_suffix, KType::Long),
        "parse_url" | "parseurl" => (&u.parse_url, KType::Dynamic),
        "parse_urlquery" | "parseurlquery" => (&u.parse_urlquery, KType::Dynamic),
        "parse_path" => (&u.parse_path, KType::Dynamic),
        "base64_encode_tostring" | "base64_encodestring" => (&u.base64_encode, KType::String),
        "base64_decode_tostring" | "base64_decodestring" => (&u.base64_decode, KType::String),
        "base64_decode_toarray" => (&u.base64_decode_toarray, KType::Dynamic),
        "base64_encode_fromguid" => (&u.base64_encode_fromguid, KType::String),
        "base64_decode_toguid" => (&u.base64_decode_toguid, KType::Guid),
        _ => return None,
    })
}

/// The largest row count a query operator is given (`take`, `top`, `sample`): 2^62, more rows
/// than any store holds, and within what DataFusion's limits add without overflow.
const MAX_ROW_COUNT: usize = 1 << 62;

fn lit_num(e: &Expr) -> Option<f64> {
    match &e.kind {
        ExprKind::Literal(Literal::Long(n)) => Some(*n as f64),
        ExprKind::Literal(Literal::Int(n)) => Some(f64::from(*n)),
        ExprKind::Literal(Literal::Real(f)) => Some(*f),
        ExprKind::Unary { op: kql::UnaryOp::Neg, operand } => lit_num(operand).map(|v| -v),
        _ => None,
    }
}

fn texpr(v: Value) -> TExpr {
    match v {
        Value::Expr(t) => t,
        Value::Event(p) => value::to_dynamic(Value::Event(p)),
    }
}

/// A boolean expression from a value (dynamic values convert, others must be bool).
fn as_bool(v: Value, s: Span) -> R<DfExpr> {
    match v.ty() {
        KType::Bool | KType::DynNative(Native::Bool) => Ok(texpr(v).expr),
        KType::Dynamic => Ok(convert(v, KType::Bool).expr),
        other => Err(err(s, format!("expected a bool, got a {other}"))),
    }
}

fn dynamic_literal_json(d: &kql::Dynamic) -> serde_json::Value {
    use serde_json::Value as J;
    match d {
        kql::Dynamic::Null => J::Null,
        kql::Dynamic::Bool(b) => J::Bool(*b),
        kql::Dynamic::Long(n) => J::from(*n),
        kql::Dynamic::Real(f) => J::from(*f),
        kql::Dynamic::String(s) => J::String(s.clone()),
        kql::Dynamic::DateTime(n) => J::String(crate::kvalue::format_datetime_in_dynamic(*n)),
        kql::Dynamic::Timespan(n) => J::String(crate::kvalue::format_timespan(*n)),
        kql::Dynamic::Array(items) => J::Array(items.iter().map(dynamic_literal_json).collect()),
        kql::Dynamic::Object(kv) => {
            J::Object(kv.iter().map(|(k, v)| (k.clone(), dynamic_literal_json(v))).collect())
        }
    }
}

fn literal(l: &Literal) -> Value {
    match l {
        Literal::String(s) => Value::expr(lit(s.clone()), KType::String),
        Literal::Long(n) => Value::expr(lit(*n), KType::Long),
        Literal::Int(n) => Value::expr(lit(*n), KType::Int),
        Literal::Real(f) => Value::expr(lit(*f), KType::Real),
        Literal::Bool(b) => Value::expr(lit(*b), KType::Bool),
        Literal::DateTime(n) => Value::expr(ts_lit(*n), KType::DateTime),
        Literal::Timespan(n) => Value::expr(lit(ScalarValue::DurationNanosecond(Some(*n))), KType::TimeSpan),
        Literal::Dynamic(d) => {
            let j = dynamic_literal_json(d);
            if j.is_null() {
                Value::expr(lit(ScalarValue::Utf8(None)), KType::Dynamic)
            } else {
                Value::expr(lit(j.to_string()), KType::Dynamic)
            }
        }
        Literal::Null(t) => {
            let ty = scalar_type(*t);
            Value::expr(value::null_of(ty), ty)
        }
    }
}

fn scalar_type(t: kql::ScalarType) -> KType {
    match t {
        kql::ScalarType::Bool => KType::Bool,
        kql::ScalarType::DateTime => KType::DateTime,
        kql::ScalarType::Dynamic => KType::Dynamic,
        kql::ScalarType::Guid => KType::Guid,
        kql::ScalarType::Int => KType::Int,
        kql::ScalarType::Long => KType::Long,
        kql::ScalarType::Real | kql::ScalarType::Decimal => KType::Real,
        kql::ScalarType::String => KType::String,
        kql::ScalarType::Timespan => KType::TimeSpan,
    }
}

/// Refuses two values of `f` (the branches of `iff`, the values of `case`, the arguments of
/// `coalesce`) that cannot share a result column: Kusto rejects them, and unifying them
/// turned `iff(p, 1, "a")` into text, or `coalesce(1, "a")` into a silent null.
fn same_result_type(f: &str, first: &Value, other: &Value, at: Span) -> R<()> {
    if value::same_kind(first.ty(), other.ty()) {
        return Ok(());
    }
    Err(err(at, format!("{f}() has values of different types: {} and {}", first.ty(), other.ty())))
}

/// The operands of a comparison as [`value::comparable`] accepts them, with the caret of a
/// refusal under the operand it is about.
fn comparable(l: Value, r: Value, left: Span, right: Span, whole: Span) -> R<(Value, Value)> {
    value::comparable(l, r).map_err(|m| {
        let at = match m.at {
            value::Operand::Left => left,
            value::Operand::Right => right,
            value::Operand::Both => whole,
        };
        err(at, m.message)
    })
}

fn ts_lit(n: i64) -> DfExpr {
    lit(ScalarValue::TimestampNanosecond(Some(n), Some("UTC".into())))
}

/// Names a table-shaped thing can be looked up as, for "did you mean".
fn table_candidates(lets: &HashMap<String, Bound>) -> Vec<String> {
    let mut c: Vec<String> = tables::TABLES.iter().map(|s| (*s).to_owned()).collect();
    c.extend(lets.iter().filter(|(_, b)| matches!(b, Bound::Tabular(_))).map(|(k, _)| k.clone()));
    c.sort();
    c
}

impl Planner<'_> {
    fn tabular_name(&self, id: &kql::Ident) -> R<Option<Rel>> {
        if let Some(Bound::Tabular(rel)) = self.lets.get(&id.name) {
            return Ok(Some(rel.clone()));
        }
        if tables::TABLES.contains(&id.name.as_str()) {
            self.events_available()?;
        }
        tables::table(&id.name, self.engine.base(), self.engine.categories()).map_err(internal)
    }

    /// An error when the engine has no events to read (see `Engine::without_events`). It points
    /// at no place in the query: the store or the input files are what is wrong, and a caret
    /// under the table's name read as a KQL syntax error (UX review: `--store nosuch`).
    fn events_available(&self) -> R<()> {
        match self.engine.no_events() {
            Some(why) => Err(PlanError::at(None, why)),
            None => Ok(()),
        }
    }

    fn table(&self, id: &kql::Ident) -> R<Rel> {
        if let Some(rel) = self.tabular_name(id)? {
            return Ok(rel);
        }
        let candidates = table_candidates(&self.lets);
        let mut e = err(id.span, format!("unknown table '{}'", id.name));
        match kql::did_you_mean(&id.name, candidates.iter().map(String::as_str)) {
            Some(s) => e = e.with_help(format!("did you mean '{s}'?")),
            None => e = e.with_help(format!("the tables are {}", tables::TABLES.join(", "))),
        }
        Err(e)
    }

    fn all_tables(&self) -> R<Vec<(String, Rel)>> {
        self.events_available()?;
        let mut out = Vec::new();
        for t in tables::TABLES {
            if let Some(rel) =
                tables::table(t, self.engine.base(), self.engine.categories()).map_err(internal)?
            {
                out.push(((*t).to_owned(), rel));
            }
        }
        Ok(out)
    }

    /// Plans a tabular expression.
    pub fn tabular(&mut self, t: &TabularExpr) -> R<Rel> {
        let rel = self.source(&t.source)?;
        let mut rel = self.serial_source(rel, &t.source)?;
        for op in &t.operators {
            rel = self.serial_operator(rel, op)?;
        }
        Ok(rel)
    }

    /// The legs of a `union`, each with what its `withsource` column holds: a table's name, or
    /// for any other leg `union_arg<N>`, `N` its place among the union's arguments, counted from
    /// `first` (1 after a piped input, which is `union_arg0`). Kusto's own sources do not show
    /// these values (its binder only types the column as a string); the numbering is what the
    /// piped input's `union_arg0` implies, and what a third-party KQL engine's tests (duckdb_kql)
    /// record as measured on Kusto: `union withsource=Src UT1, (UT2 | where …)` labels the
    /// second leg `union_arg1`.
    fn legs(&mut self, tables: &[TabularExpr], first: usize) -> R<Vec<(String, Rel)>> {
        let mut out = Vec::new();
        for (i, t) in tables.iter().enumerate() {
            match &t.source {
                Source::Pattern(p) if t.operators.is_empty() => {
                    for (name, rel) in self.all_tables()? {
                        if ops::wildcard_match(&p.name, &name) {
                            out.push((name, rel));
                        }
                    }
                }
                Source::Name(id) if t.operators.is_empty() => out.push((id.name.clone(), self.table(id)?)),
                _ => out.push((format!("union_arg{}", first + i), self.tabular(t)?)),
            }
        }
        Ok(out)
    }

    fn source(&mut self, s: &Source) -> R<Rel> {
        match s {
            Source::Name(id) => self.table(id),
            Source::Pattern(p) => {
                let legs: Vec<(String, Rel)> =
                    self.all_tables()?.into_iter().filter(|(n, _)| ops::wildcard_match(&p.name, n)).collect();
                if legs.is_empty() {
                    return Err(err(p.span, format!("no table matches '{}'", p.name)));
                }
                ops::union(legs, None)
            }
            Source::Paren(t) => self.tabular(t),
            Source::Union(u) => {
                let inner = union_is_inner(u)?;
                let legs = self.legs(&u.tables, 0)?;
                ops::union_of(legs, u.withsource.as_ref().map(|w| w.name.as_str()), inner)
            }
            Source::Search(search) => {
                let legs = if search.tables.is_empty() {
                    self.all_tables()?
                } else {
                    search
                        .tables
                        .iter()
                        .map(|t| Ok((t.name.clone(), self.table(t)?)))
                        .collect::<R<Vec<_>>>()?
                };
                let rel = ops::union(legs, Some("$table"))?;
                self.search_filter(rel, &search.predicate)
            }
            Source::Call(e) => match &e.kind {
                ExprKind::Call { name, args } if name.name == "table" => match args.first().and_then(lit_str)
                {
                    Some(t) => self.table(&kql::Ident::new(t, e.span)),
                    None => Err(err(e.span, "table() needs a constant table name")),
                },
                _ => Err(err(e.span, "not supported yet: tabular function calls")),
            },
            Source::Print(items) => {
                let rel = empty_rel(self.engine)?;
                let mut out = Vec::new();
                for (i, ne) in items.iter().enumerate() {
                    let v = self.scalar(&rel, &ne.expr)?;
                    let name =
                        ne.name.as_ref().map(|n| n.name.clone()).unwrap_or_else(|| format!("print_{i}"));
                    out.push((name, v));
                }
                ops::project(rel, out)
            }
            Source::Datatable(d) => self.datatable(d),
            Source::Range(r) => self.range(r),
        }
    }

    fn datatable(&mut self, d: &kql::Datatable) -> R<Rel> {
        let ncols = d.columns.len();
        if ncols == 0 || !d.values.len().is_multiple_of(ncols) {
            return Err(PlanError::at(
                None,
                "datatable: the number of values is not a multiple of the number of columns",
            ));
        }
        let empty = empty_rel(self.engine)?;
        let types: Vec<KType> = d
            .columns
            .iter()
            .map(|(_, t)| {
                KType::parse(&t.name).ok_or_else(|| err(t.span, format!("unknown type '{}'", t.name)))
            })
            .collect::<R<_>>()?;
        let mut rows = Vec::new();
        for row in d.values.chunks(ncols) {
            let mut out = Vec::new();
            for (v, ty) in row.iter().zip(&types) {
                let val = self.scalar(&empty, v)?;
                let e = if val.ty() == *ty { texpr(val).expr } else { convert(val, *ty).expr };
                out.push(cast(e, ty.arrow()));
            }
            rows.push(out);
        }
        let plan = if rows.is_empty() {
            let exprs: Vec<DfExpr> = d
                .columns
                .iter()
                .zip(&types)
                .map(|((n, _), t)| cast(value::null_of(*t), t.arrow()).alias(n.name.clone()))
                .collect();
            LogicalPlanBuilder::empty(true)
                .project(exprs)
                .and_then(|b| b.limit(0, Some(0)))
                .and_then(|b| b.build())
        } else {
            LogicalPlanBuilder::values(rows).and_then(|b| b.build())
        }
        .map_err(internal)?;
        let schema_names: Vec<String> = plan.schema().fields().iter().map(|f| f.name().clone()).collect();
        let cols = d
            .columns
            .iter()
            .zip(&types)
            .zip(&schema_names)
            .map(|(((n, _), t), phys)| Binding { name: n.name.clone(), value: Value::expr(column(phys), *t) })
            .collect();
        Ok(Rel { plan, cols, has_event: false })
    }

    fn range(&mut self, r: &kql::Range) -> R<Rel> {
        // A step of 0 never reaches the end: said at the step (DataFusion's own "step can't
        // be 0" named no place; review s42, item 6).
        if lit_num(&r.step) == Some(0.0) {
            return Err(err(r.step.span, "range: the step must not be 0"));
        }
        let empty = empty_rel(self.engine)?;
        let from = self.scalar(&empty, &r.from)?;
        let to = self.scalar(&empty, &r.to)?;
        let step = self.scalar(&empty, &r.step)?;
        let ty = from.ty();
        let plan = |list: DfExpr| {
            LogicalPlanBuilder::empty(true)
                .project(vec![list.alias("__range")])
                .and_then(|b| b.unnest_column("__range"))
                .and_then(|b| b.build())
                .map_err(internal)
        };
        // Real bounds or step (`range x from 0 to 1 step 0.25`, `from 1.5 to 3 step 1`): the
        // values from + i × step for i from 0 while they stay within the end (they were cast to
        // long, so 0.25 became 0 and 1.5 became 1). The number of steps is computed in doubles.
        if [&from, &to, &step].iter().any(|v| v.ty() == KType::Real) {
            let real = |v: Value| cast(texpr(v).expr, DataType::Float64);
            let (f, t, s) = (real(from), real(to), real(step));
            let steps = cast(
                datafusion::functions::math::expr_fn::floor((t - f.clone()) / s.clone()),
                DataType::Int64,
            );
            let list = datafusion::functions_nested::expr_fn::gen_series(lit(0i64), steps, lit(1i64));
            let e = f + cast(column("__range"), DataType::Float64) * s;
            let rel = Rel { plan: plan(list)?, cols: vec![], has_event: false };
            return ops::project(rel, vec![(r.column.name.clone(), Value::expr(e, KType::Real))]);
        }
        let as_i64 = |v: Value| match v.ty() {
            KType::DateTime | KType::TimeSpan => value::nanos(texpr(v).expr),
            _ => cast(texpr(v).expr, DataType::Int64),
        };
        let (f, t, s) = (as_i64(from), as_i64(to), as_i64(step));
        // KQL's range includes its end, as generate_series does (range() leaves it out; its
        // end moved one past overflowed for an end of 2^63 - 1, and gave no row).
        let list = datafusion::functions_nested::expr_fn::gen_series(f, t, s);
        let e = match ty {
            KType::DateTime => value::datetime_from_nanos(column("__range")),
            KType::TimeSpan => value::timespan_from_nanos(column("__range")),
            _ => column("__range"),
        };
        let out_ty = if matches!(ty, KType::DateTime | KType::TimeSpan) { ty } else { KType::Long };
        let rel = Rel { plan: plan(list)?, cols: vec![], has_event: false };
        ops::project(rel, vec![(r.column.name.clone(), Value::expr(e, out_ty))])
    }

    fn search_filter(&mut self, rel: Rel, pred: &Expr) -> R<Rel> {
        match &pred.kind {
            ExprKind::Wildcard => Ok(rel),
            ExprKind::Literal(Literal::String(term)) => {
                // `search "term"`: the term in any column (as `has`).
                let mut any: Option<DfExpr> = None;
                for b in &rel.cols {
                    if b.name == "$table" {
                        continue;
                    }
                    let s = to_string(b.value.clone()).expr;
                    let e = call(&udfs().has, vec![s, lit(term.clone())]);
                    any = Some(match any {
                        Some(a) => a.or(e),
                        None => e,
                    });
                }
                match any {
                    Some(e) => ops::filter(rel, e),
                    None => Ok(rel),
                }
            }
            _ => {
                let v = self.scalar(&rel, pred)?;
                let e = as_bool(v, pred.span)?;
                ops::filter(rel, e)
            }
        }
    }

    fn operator(&mut self, rel: Rel, op: &kql::Operator) -> R<Rel> {
        match &op.kind {
            OperatorKind::Where(e) => {
                // Each term joined by `and` is planned on its own, to know which read now():
                // those alone tell whether the time filter kept anything.
                let mut terms = Vec::new();
                conjuncts(e, &mut terms);
                let before = self.uses_now;
                let in_where = std::mem::replace(&mut self.in_where, true);
                let planned = (|| {
                    let mut all: Option<DfExpr> = None;
                    let mut timed: Option<DfExpr> = None;
                    let mut outside = false;
                    for t in terms {
                        self.uses_now = false;
                        let b = as_bool(self.scalar(&rel, t)?, t.span)?;
                        if self.uses_now {
                            timed = Some(match timed {
                                Some(x) => x.and(b.clone()),
                                None => b.clone(),
                            });
                        } else if outside_the_data(self.engine.time_bounds(), &b) {
                            outside = true;
                        }
                        all = Some(match all {
                            Some(x) => x.and(b),
                            None => b,
                        });
                    }
                    Ok((all, timed, outside))
                })();
                self.in_where = in_where;
                let (pred, timed, outside) = planned?;
                let pred = pred.ok_or_else(|| err(e.span, "where needs a predicate"))?;
                self.uses_now = before || timed.is_some();
                if let Some(t) = timed
                    && self.time_filtered.len() < MAX_TIME_PROBES
                {
                    // Simplified as the query's own filter is below: a window wholly outside
                    // the events is `false`, and the probe reads nothing.
                    let kept = match self.engine.time_bounds().simplify(t) {
                        Some(t) => ops::filter(rel.clone(), t)?.plan,
                        None => rel.plan.clone(),
                    };
                    self.time_filtered.push(TimeProbe { given: rel.plan.clone(), kept, fixed: false });
                } else if outside && self.time_filtered.len() < MAX_TIME_PROBES {
                    // A window of fixed dates wholly outside the events: it keeps nothing, by
                    // the bounds, so only whether rows reached it is asked.
                    let none = DfExpr::Literal(datafusion::scalar::ScalarValue::Boolean(Some(false)), None);
                    let kept = ops::filter(rel.clone(), none)?.plan;
                    self.time_filtered.push(TimeProbe { given: rel.plan.clone(), kept, fixed: true });
                }
                // A window around every event keeps every row: its terms need not run.
                let mut rel = rel;
                let mut pred = self.engine.time_bounds().simplify(pred);
                // Nor need the terms on the stage or verb every row of the files read passes,
                // and files where no row passes are not read.
                if let Some(p) = &pred
                    && let Some((plan, rest)) = self.engine.prune_files(&rel.plan, p).map_err(internal)?
                {
                    rel.plan = plan;
                    pred = rest;
                }
                match pred {
                    Some(pred) => ops::filter(rel, pred),
                    None => Ok(rel),
                }
            }
            OperatorKind::Extend(items) => {
                // Each expression sees the columns the ones before it defined, as in Kusto
                // (`extend a = …, b = a * 2`): they are bound here as expressions, and the
                // whole `extend` is still computed in one projection.
                let mut scope = rel.clone();
                let mut planned = Vec::new();
                for ne in items {
                    let value = self.scalar(&scope, &ne.expr)?;
                    let name = match &ne.name {
                        Some(n) => n.name.clone(),
                        None => match naming::derived_in(&ne.expr, |c| scope.get(c).is_some()) {
                            Some(name) => name,
                            // Not a name of the input's (see `column_n_besides`).
                            None => self.column_n_besides(Some(&rel)),
                        },
                    };
                    match scope.cols.iter_mut().find(|b| b.name == name) {
                        Some(b) => b.value = value.clone(),
                        None => scope.cols.push(Binding { name: name.clone(), value: value.clone() }),
                    }
                    planned.push((name, value));
                }
                ops::extend(rel, planned)
            }
            OperatorKind::Project(items) => {
                let mut planned = self.named(&rel, items)?;
                distinct_project_names(items, &mut planned)?;
                ops::project(rel, planned)
            }
            OperatorKind::ProjectAway(ids) => {
                let pats = self.patterns(&rel, ids.iter())?;
                Ok(ops::project_away(rel, &pats))
            }
            OperatorKind::ProjectKeep(ids) => {
                let pats = self.patterns(&rel, ids.iter())?;
                Ok(ops::project_keep(rel, &pats))
            }
            OperatorKind::ProjectReorder(keys) => {
                self.patterns(&rel, keys.iter().map(|k| &k.name))?;
                let keys: Vec<(String, Option<bool>)> = keys
                    .iter()
                    .map(|k| (k.name.name.clone(), k.order.map(|o| o == kql::SortOrder::Desc)))
                    .collect();
                Ok(ops::project_reorder(rel, &keys))
            }
            OperatorKind::ProjectRename(renames) => {
                let mut pairs = Vec::new();
                for r in renames {
                    if rel.get(&r.old.name).is_none() {
                        return Err(self.unknown_column(&rel, &r.old));
                    }
                    pairs.push((r.new.name.clone(), r.old.name.clone()));
                }
                Ok(ops::project_rename(rel, &pairs))
            }
            OperatorKind::Summarize(s) => self.summarize(rel, &s.aggregates, &s.by),
            OperatorKind::Top(t) => {
                let n = self.count_arg(&rel, &t.count)?;
                let key = self.sort_key(&rel, &t.by)?;
                ops::top(rel, n, vec![key])
            }
            OperatorKind::TopNested(levels) => self.top_nested(rel, levels),
            OperatorKind::TopHitters(t) => self.top_hitters(rel, t),
            OperatorKind::Sort(keys) => {
                let keys = keys.iter().map(|k| self.sort_key(&rel, k)).collect::<R<Vec<_>>>()?;
                ops::sort(rel, keys)
            }
            OperatorKind::Take(n) => {
                let n = self.count_arg(&rel, n)?;
                ops::take(rel, n)
            }
            OperatorKind::Sample(n) => {
                let n = self.count_arg(&rel, n)?;
                ops::sample(rel, n)
            }
            OperatorKind::SampleDistinct { count, of } => {
                // The distinct values of `of`, then `count` of them at random.
                let n = self.count_arg(&rel, count)?;
                let v = self.scalar(&rel, of)?;
                let name = naming::derived(of).unwrap_or_else(|| self.column_n());
                ops::sample(ops::distinct(rel, vec![(name, v)])?, n)
            }
            OperatorKind::Count => ops::count_rows(rel),
            OperatorKind::As(name) => {
                self.let_exprs.remove(&name.name);
                self.now_lets.remove(&name.name);
                self.functions.remove(&name.name);
                self.lets.insert(name.name.clone(), Bound::Tabular(rel.clone()));
                Ok(rel)
            }
            OperatorKind::GetSchema => {
                // One row per column, as a `datatable` of literals.
                let at = Span::new(0, 0);
                let text = |s: &str| Expr::new(ExprKind::Literal(Literal::String(s.to_owned())), at);
                let mut values = Vec::new();
                for (i, b) in rel.cols.iter().enumerate() {
                    let ty = b.value.ty();
                    let ordinal =
                        Expr::new(ExprKind::Literal(Literal::Int(i32::try_from(i).unwrap_or(i32::MAX))), at);
                    values.extend([text(&b.name), ordinal, text(ty.dotnet_name()), text(ty.name())]);
                }
                let columns = [
                    ("ColumnName", "string"),
                    ("ColumnOrdinal", "int"),
                    ("DataType", "string"),
                    ("ColumnType", "string"),
                ]
                .iter()
                .map(|(n, t)| (kql::Ident::new(*n, at), kql::Ident::new(*t, at)))
                .collect();
                self.datatable(&kql::Datatable { columns, values })
            }
            OperatorKind::Distinct(exprs) => {
                let items = if exprs.is_empty() || exprs.iter().any(|e| matches!(e.kind, ExprKind::Wildcard))
                {
                    rel.cols.iter().map(|b| (b.name.clone(), b.value.clone())).collect()
                } else {
                    let mut out = Vec::new();
                    for e in exprs {
                        let v = self.scalar(&rel, e)?;
                        let name = self.unnamed_item(&rel, e);
                        out.push((name, v));
                    }
                    out
                };
                ops::distinct(rel, items)
            }
            OperatorKind::Render(r) => {
                self.render = Some(self.render_spec(r)?);
                Ok(rel)
            }
            OperatorKind::Union(u) => {
                let inner = union_is_inner(u)?;
                let mut legs = vec![("union_arg0".to_owned(), rel)];
                legs.extend(self.legs(&u.tables, 1)?);
                ops::union_of(legs, u.withsource.as_ref().map(|w| w.name.as_str()), inner)
            }
            OperatorKind::Join(j) => {
                let kind = match j.kind {
                    None => JoinKind::InnerUnique,
                    Some((k, _)) => JoinKind::parse(k.as_str()).unwrap_or(JoinKind::InnerUnique),
                };
                let (right, keys) = self.join_sides(&rel, j)?;
                ops::join(rel, right, kind, &keys)
            }
            OperatorKind::Lookup(j) => {
                let kind = match j.kind {
                    None | Some((kql::JoinKind::LeftOuter, _)) => JoinKind::LeftOuter,
                    Some((kql::JoinKind::Inner, _)) => JoinKind::Inner,
                    Some((other, at)) => {
                        return Err(err(
                            at,
                            format!(
                                "`lookup` takes kind=leftouter (the default) or kind=inner, not {}",
                                other.as_str()
                            ),
                        ));
                    }
                };
                let (right, keys) = self.join_sides(&rel, j)?;
                ops::lookup(rel, right, kind, &keys)
            }
            OperatorKind::MvExpand(m) => {
                let mut with_itemindex = None;
                let mut bag_pairs = false;
                for p in &m.params {
                    if p.name.name == "with_itemindex"
                        && let ExprKind::Name(id) = &p.value.kind
                    {
                        with_itemindex = Some(id.name.clone());
                    }
                    if matches!(p.name.name.as_str(), "kind" | "bagexpansion") {
                        // `kind=array` expands a property bag into `[key, value]` arrays; it was
                        // read as the default, single-property bags (review s50).
                        bag_pairs = match &p.value.kind {
                            ExprKind::Name(id) if id.name == "array" => true,
                            ExprKind::Name(id) if id.name == "bag" => false,
                            _ => {
                                return Err(err(
                                    p.value.span,
                                    format!("{} of mv-expand is bag or array", p.name.name),
                                ));
                            }
                        };
                    }
                }
                let mut items = Vec::new();
                let mut typed = Vec::new();
                for it in &m.items {
                    let v = self.scalar(&rel, &it.expr)?;
                    let name = match &it.name {
                        Some(n) => n.name.clone(),
                        None => naming::derived(&it.expr).unwrap_or_else(|| self.column_n()),
                    };
                    if let Some(t) = &it.to_type {
                        let ty = KType::parse(&t.name)
                            .ok_or_else(|| err(t.span, format!("unknown type '{}'", t.name)))?;
                        typed.push((name.clone(), ty));
                    }
                    let v = match v {
                        Value::Expr(t) if bag_pairs && t.ty != KType::DynNative(Native::StrList) => {
                            let json = to_json(&Value::Expr(t));
                            Value::expr(call(&udfs().bag_pairs, vec![json]), KType::Dynamic)
                        }
                        Value::Event(_) if bag_pairs => {
                            Value::expr(call(&udfs().bag_pairs, vec![to_json(&v)]), KType::Dynamic)
                        }
                        other => other,
                    };
                    items.push((name, v));
                }
                let mut rel = ops::mv_expand(rel, items, with_itemindex)?;
                if !typed.is_empty() {
                    let conv: Vec<(String, Value)> = typed
                        .into_iter()
                        .filter_map(|(n, ty)| {
                            rel.get(&n).cloned().map(|v| (n, Value::Expr(value::cast_element(v, ty))))
                        })
                        .collect();
                    rel = ops::set_columns(rel, conv)?;
                }
                Ok(rel)
            }
            OperatorKind::Parse(p) => self.parse_op(rel, p),
            OperatorKind::ParseKv(p) => self.parse_kv(rel, p),
            OperatorKind::Evaluate(ev) => self.evaluate(rel, ev),
            OperatorKind::Partition(pt) => self.partition(rel, pt),
            OperatorKind::MvApply(m) => self.mv_apply(rel, m, op.span),
            OperatorKind::Search(s) => {
                if !s.tables.is_empty() {
                    return Err(err(op.span, "search in (…) after a pipe is not valid; put search first"));
                }
                self.search_filter(rel, &s.predicate)
            }
            OperatorKind::MakeSeries(ms) => self.make_series(rel, ms),
            OperatorKind::Serialize(items) => self.serialize(rel, items, op.span),
        }
    }

    /// The next default name, `ColumnN`, for an item Kusto names nothing else.
    fn column_n(&mut self) -> String {
        self.column_n_besides(None)
    }

    /// The next `ColumnN` that names nothing in scope: Kusto's binder (microsoft/Kusto-Query-
    /// Language, `Binder_Projection.cs`, `GetDefaultColumnName`) counts on across the query and
    /// passes over any `ColumnN` that already binds to something (`CanBindName`): a `let`, a
    /// function, its parameters, a table, and, for `extend` alone (`includeRowScope`), a
    /// column of the input, which `extend Column1 + 1` would otherwise overwrite. `project`,
    /// `summarize` and `distinct` keep no input column they do not name, so theirs do not
    /// count; an earlier column of the same operator is told apart by a suffix afterwards.
    fn column_n_besides(&mut self, input: Option<&Rel>) -> String {
        loop {
            self.unnamed += 1;
            let name = format!("Column{}", self.unnamed);
            let taken = input.is_some_and(|rel| rel.get(&name).is_some())
                || self.lets.contains_key(&name)
                || self.functions.contains_key(&name)
                || tables::TABLES.contains(&name.as_str());
            if !taken {
                return name;
            }
        }
    }

    /// The name of an unnamed item over `rel`'s rows ([`naming::derived_in`]), else `ColumnN`.
    fn unnamed_item(&mut self, rel: &Rel, e: &Expr) -> String {
        naming::derived_in(e, |c| rel.get(c).is_some()).unwrap_or_else(|| self.column_n())
    }

    fn count_arg(&mut self, rel: &Rel, e: &Expr) -> R<usize> {
        let _ = rel;
        match lit_num(e) {
            // More rows than any table holds (`take 1e20`, `take 9223372036854775807`) is every
            // row: bounded, since DataFusion's limit overflowed past 2^63 (review s42, item 5).
            Some(n) if n >= 0.0 => Ok((n as usize).min(MAX_ROW_COUNT)),
            _ => match &e.kind {
                ExprKind::Name(id) => match self.lets.get(&id.name) {
                    Some(Bound::Scalar(Value::Expr(TExpr {
                        expr: DfExpr::Literal(ScalarValue::Int64(Some(n)), _),
                        ..
                    }))) if *n >= 0 => Ok((*n as usize).min(MAX_ROW_COUNT)),
                    _ => Err(err(e.span, "expected a constant row count")),
                },
                _ => Err(err(e.span, "expected a constant row count")),
            },
        }
    }

    fn sort_key(&mut self, rel: &Rel, k: &kql::SortKey) -> R<SortKey> {
        let v = self.scalar(rel, &k.expr)?;
        let asc = matches!(k.order, Some(kql::SortOrder::Asc));
        // KQL: descending puts nulls last, ascending puts them first, unless told.
        let nulls_first = match k.nulls {
            Some(kql::NullsOrder::First) => true,
            Some(kql::NullsOrder::Last) => false,
            None => asc,
        };
        Ok(SortKey { value: v, asc, nulls_first })
    }

    fn render_spec(&mut self, r: &kql::Render) -> R<RenderSpec> {
        let mut spec = RenderSpec {
            kind: r.kind.name.clone(),
            title: None,
            xtitle: None,
            ytitle: None,
            ycolumns: vec![],
            series: vec![],
            xcolumn: None,
        };
        for p in &r.properties {
            let strings: Vec<String> = p
                .values
                .iter()
                .filter_map(|v| match &v.kind {
                    ExprKind::Literal(Literal::String(s)) => Some(s.clone()),
                    ExprKind::Name(id) => Some(id.name.clone()),
                    _ => None,
                })
                .collect();
            match p.name.name.as_str() {
                "title" => spec.title = strings.into_iter().next(),
                "xtitle" => spec.xtitle = strings.into_iter().next(),
                "ytitle" => spec.ytitle = strings.into_iter().next(),
                "ycolumns" => spec.ycolumns = strings,
                "series" => spec.series = strings,
                "xcolumn" => spec.xcolumn = strings.into_iter().next(),
                _ => {}
            }
        }
        Ok(spec)
    }

    /// The names of `project-away`/`-keep`/`-reorder`; a name without `*` must be a column.
    fn patterns<'a>(&self, rel: &Rel, ids: impl Iterator<Item = &'a kql::Ident>) -> R<Vec<String>> {
        let mut out = Vec::new();
        for id in ids {
            if !id.name.contains('*') && rel.get(&id.name).is_none() {
                return Err(self.unknown_column(rel, id));
            }
            out.push(id.name.clone());
        }
        Ok(out)
    }

    /// The right side of a `join` or `lookup`, and its keys as (left, right) column names.
    fn join_sides(&mut self, rel: &Rel, j: &kql::Join) -> R<(Rel, Vec<(String, String)>)> {
        let right = self.tabular(&j.right)?;
        let mut keys = Vec::new();
        for k in &j.on {
            match k {
                kql::JoinKey::Same(id) => {
                    if rel.get(&id.name).is_none() {
                        return Err(self.unknown_column(rel, id));
                    }
                    if right.get(&id.name).is_none() {
                        return Err(self.unknown_column(&right, id));
                    }
                    keys.push((id.name.clone(), id.name.clone()));
                }
                kql::JoinKey::Pair { left, right: r, .. } => {
                    if rel.get(&left.name).is_none() {
                        return Err(self.unknown_column(rel, left));
                    }
                    if right.get(&r.name).is_none() {
                        return Err(self.unknown_column(&right, r));
                    }
                    keys.push((left.name.clone(), r.name.clone()));
                }
            }
        }
        Ok((right, keys))
    }

    fn named(&mut self, rel: &Rel, items: &[NamedExpr]) -> R<Vec<(String, Value)>> {
        let mut out = Vec::new();
        for ne in items {
            let v = self.scalar(rel, &ne.expr)?;
            let name = match &ne.name {
                Some(n) => n.name.clone(),
                None => self.unnamed_item(rel, &ne.expr),
            };
            out.push((name, v));
        }
        Ok(out)
    }

    fn unknown_column(&self, rel: &Rel, id: &kql::Ident) -> PlanError {
        let names = rel.names();
        let mut candidates: Vec<&str> = names.iter().map(String::as_str).collect();
        let lets: Vec<String> = self.lets.keys().cloned().collect();
        candidates.extend(lets.iter().map(String::as_str));
        let e = err(id.span, format!("unknown column '{}'", id.name));
        match kql::did_you_mean(&id.name, candidates.iter().copied()) {
            Some(s) => e.with_help(format!("did you mean '{s}'?")),
            None if names.is_empty() => e,
            None => e.with_help(format!("the columns here are {}", preview(&names))),
        }
    }

    /// Plans a scalar expression over `rel`.
    pub fn scalar(&mut self, rel: &Rel, e: &Expr) -> R<Value> {
        match &e.kind {
            ExprKind::Literal(l) => Ok(literal(l)),
            ExprKind::Name(id) => {
                if let Some(v) = rel.get(&id.name) {
                    return Ok(v.clone());
                }
                match self.lets.get(&id.name) {
                    Some(Bound::Scalar(v)) => {
                        if self.now_lets.contains(&id.name) {
                            self.uses_now = true;
                        }
                        Ok(v.clone())
                    }
                    Some(Bound::Tabular(_)) => {
                        Err(err(id.span, format!("'{}' is a table, not a scalar value", id.name)))
                    }
                    None => Err(self.unknown_column(rel, id)),
                }
            }
            ExprKind::Wildcard => Err(err(e.span, "'*' is not allowed here")),
            ExprKind::Member { base, member: m } => {
                let b = self.scalar(rel, base)?;
                member(b, Seg::Key(m.name.clone())).map_err(|msg| err(e.span, msg))
            }
            ExprKind::Index { base, index } => {
                let b = self.scalar(rel, base)?;
                let seg = match (&index.kind, lit_num(index)) {
                    (ExprKind::Literal(Literal::String(s)), _) => Seg::Key(s.clone()),
                    (_, Some(n)) if n.fract() == 0.0 => Seg::Index(n as i64),
                    _ => return self.computed_index(rel, b, index),
                };
                member(b, seg).map_err(|msg| err(e.span, msg))
            }
            ExprKind::Call { name, args } => self.call(rel, e, name, args),
            ExprKind::Unary { op, operand } => {
                let v = self.scalar(rel, operand)?;
                match op {
                    kql::UnaryOp::Plus => Ok(v),
                    kql::UnaryOp::Neg => {
                        let zero = match v.ty() {
                            KType::TimeSpan => {
                                Value::expr(lit(ScalarValue::DurationNanosecond(Some(0))), KType::TimeSpan)
                            }
                            KType::Real => Value::expr(lit(0.0), KType::Real),
                            _ => Value::expr(lit(0i64), KType::Long),
                        };
                        value::arith(zero, DfOp::Minus, v).map(Value::Expr).map_err(|m| err(e.span, m))
                    }
                }
            }
            ExprKind::Binary { op, left, right } => self.binary(rel, e.span, *op, left, right),
            ExprKind::Between { expr, low, high, negated } => {
                let x = self.scalar(rel, expr)?;
                let lo = self.scalar(rel, low)?;
                let (x, lo) = comparable(x, lo, expr.span, low.span, e.span)?;
                let mut hi = self.scalar(rel, high)?;
                if x.ty() == KType::DateTime && hi.ty() == KType::TimeSpan {
                    hi =
                        Value::Expr(value::arith(lo.clone(), DfOp::Plus, hi).map_err(|m| err(high.span, m))?);
                }
                let (x, hi) = comparable(x, hi, expr.span, high.span, e.span)?;
                let a = compare(x.clone(), DfOp::GtEq, lo)?;
                let b = compare(x, DfOp::LtEq, hi)?;
                let both = a.expr.and(b.expr);
                Ok(Value::expr(if *negated { not(both) } else { both }, KType::Bool))
            }
            ExprKind::List { op, expr, items } => self.list_op(rel, *op, expr, items),
            ExprKind::Tabular(_) => {
                Err(err(e.span, "not supported yet: tabular expressions inside scalar expressions"))
            }
        }
    }

    /// indexof(string, match[, start[, length[, occurrence]]]) (review 52b: the optional
    /// arguments were refused).
    #[inline(never)]
    fn indexof_from(&mut self, rel: &Rel, e: &Expr, args: &[Expr]) -> R<Value> {
        self.arity(e, "indexof", args, 3, 5)?;
        let v = self.args(rel, args)?;
        let mut call_args = vec![to_string(v[0].clone()).expr, to_string(v[1].clone()).expr];
        for x in &v[2..] {
            call_args.push(convert(x.clone(), KType::Long).expr);
        }
        Ok(Value::expr(call(&udfs().indexof, call_args), KType::Long))
    }

    /// `where * has "term"`: the term in any column, as `search "term"` (the where page's
    /// syntax; review 52b: refused). Kept out of `binary` so that the recursive planner's
    /// frames stay small.
    #[inline(never)]
    fn any_column_has(&mut self, rel: &Rel, case_sensitive: bool, right: &Expr) -> R<Value> {
        let r = to_string(self.scalar(rel, right)?).expr;
        let u = udfs();
        let f = if case_sensitive { &u.has_cs } else { &u.has };
        let mut any: Option<DfExpr> = None;
        for b in &rel.cols {
            if b.name == "$table" || crate::event::is_hidden(&b.name) {
                continue;
            }
            let e = call(f, vec![to_string(b.value.clone()).expr, r.clone()]);
            any = Some(match any {
                Some(a) => a.or(e),
                None => e,
            });
        }
        Ok(Value::expr(any.unwrap_or(lit(false)), KType::Bool))
    }

    fn binary(&mut self, rel: &Rel, s: Span, op: BinaryOp, left: &Expr, right: &Expr) -> R<Value> {
        use BinaryOp::*;
        if matches!(left.kind, ExprKind::Wildcard) && matches!(op, Has | HasCs) {
            return self.any_column_has(rel, op == HasCs, right);
        }
        let l = self.scalar(rel, left)?;
        let r = self.scalar(rel, right)?;
        let cmp = |o: DfOp| -> R<Value> {
            let (a, b) = comparable(l.clone(), r.clone(), left.span, right.span, s)?;
            compare(a, o, b).map(Value::Expr)
        };
        let strop = |f: &std::sync::Arc<datafusion::logical_expr::ScalarUDF>, negate: bool| -> R<Value> {
            let e = call(f, vec![to_string(l.clone()).expr, to_string(r.clone()).expr]);
            Ok(Value::expr(if negate { not(e) } else { e }, KType::Bool))
        };
        let u = udfs();
        match op {
            Or | And => {
                let a = as_bool(l, left.span)?;
                let b = as_bool(r, right.span)?;
                Ok(Value::expr(if op == Or { a.or(b) } else { a.and(b) }, KType::Bool))
            }
            Eq => cmp(DfOp::Eq),
            NotEq => cmp(DfOp::NotEq),
            Lt => cmp(DfOp::Lt),
            LtEq => cmp(DfOp::LtEq),
            Gt => cmp(DfOp::Gt),
            GtEq => cmp(DfOp::GtEq),
            EqCi => strop(&u.eq_ci, false),
            NotEqCi => strop(&u.eq_ci, true),
            Add | Sub | Mul | Div | Mod => {
                let o = match op {
                    Add => DfOp::Plus,
                    Sub => DfOp::Minus,
                    Mul => DfOp::Multiply,
                    Div => DfOp::Divide,
                    _ => DfOp::Modulo,
                };
                value::arith(l, o, r).map(Value::Expr).map_err(|m| err(s, m))
            }
            Has => strop(&u.has, false),
            NotHas => strop(&u.has, true),
            HasCs => strop(&u.has_cs, false),
            NotHasCs => strop(&u.has_cs, true),
            HasPrefix => strop(&u.hasprefix, false),
            NotHasPrefix => strop(&u.hasprefix, true),
            HasPrefixCs => strop(&u.hasprefix_cs, false),
            NotHasPrefixCs => strop(&u.hasprefix_cs, true),
            HasSuffix => strop(&u.hassuffix, false),
            NotHasSuffix => strop(&u.hassuffix, true),
            HasSuffixCs => strop(&u.hassuffix_cs, false),
            NotHasSuffixCs => strop(&u.hassuffix_cs, true),
            Contains => strop(&u.contains, false),
            NotContains => strop(&u.contains, true),
            ContainsCs => strop(&u.contains_cs, false),
            NotContainsCs => strop(&u.contains_cs, true),
            StartsWith => strop(&u.startswith, false),
            NotStartsWith => strop(&u.startswith, true),
            StartsWithCs => strop(&u.startswith_cs, false),
            NotStartsWithCs => strop(&u.startswith_cs, true),
            EndsWith => strop(&u.endswith, false),
            NotEndsWith => strop(&u.endswith, true),
            EndsWithCs => strop(&u.endswith_cs, false),
            NotEndsWithCs => strop(&u.endswith_cs, true),
            MatchesRegex => {
                if lit_str(right).is_none() {
                    return Err(err(right.span, "matches regex needs a constant pattern"));
                }
                if let Some(p) = lit_str(right)
                    && let Err(e) = regex::Regex::new(p)
                {
                    return Err(err(right.span, format!("invalid regex: {e}")));
                }
                strop(&u.matches_regex, false)
            }
        }
    }

    fn list_op(&mut self, rel: &Rel, op: ListOp, expr: &Expr, items: &[Expr]) -> R<Value> {
        let x = self.scalar(rel, expr)?;
        if let [only] = items
            && let Some(t) = self.tabular_item(rel, only)
        {
            return self.in_tabular(op, x, &t, only.span);
        }
        // Dynamic array literals in the list contribute their elements.
        let mut values = Vec::new();
        for it in items {
            // A name bound by `let xs = dynamic([...])` stands for the array's elements.
            let it = match &it.kind {
                ExprKind::Name(id) => match self.let_exprs.get(&id.name) {
                    Some(bound) if matches!(bound.kind, ExprKind::Literal(Literal::Dynamic(_))) => {
                        bound.clone()
                    }
                    _ => it.clone(),
                },
                _ => it.clone(),
            };
            let it = &it;
            if let ExprKind::Literal(Literal::Dynamic(kql::Dynamic::Array(elems))) = &it.kind {
                for el in elems {
                    values.push(match el {
                        kql::Dynamic::String(s) => Value::expr(lit(s.clone()), KType::String),
                        kql::Dynamic::Long(n) => Value::expr(lit(*n), KType::Long),
                        kql::Dynamic::Real(f) => Value::expr(lit(*f), KType::Real),
                        kql::Dynamic::Bool(b) => Value::expr(lit(*b), KType::Bool),
                        other => Value::expr(lit(dynamic_literal_json(other).to_string()), KType::Dynamic),
                    });
                }
                continue;
            }
            if self.tabular_item(rel, it).is_some() {
                return Err(err(it.span, "not supported yet: a table among other values after 'in'"));
            }
            values.push(self.scalar(rel, it)?);
        }
        let u = udfs();
        match op {
            ListOp::In | ListOp::NotIn | ListOp::InCi | ListOp::NotInCi => {
                // A dynamic value of the row (`User.groups`, an `extend`ed array) contributes
                // its elements, as Kusto flattens it (review s44: `"system:masters" in
                // (User.groups)` was false on every row); a dynamic that is no array, itself.
                // `in~` does the same with both sides lower-cased (review s50: it compared the
                // array's text and never matched).
                let fold = matches!(op, ListOp::InCi | ListOp::NotInCi);
                let negated = matches!(op, ListOp::NotIn | ListOp::NotInCi);
                let folded = |e: DfExpr| if fold { lower(e) } else { e };
                let (arrays, values): (Vec<Value>, Vec<Value>) =
                    values.into_iter().partition(|v| v.ty().is_dynamic());
                let x_json = folded(to_json(&x));
                let x_text = folded(to_string(x.clone()).expr);
                let mut found: Option<DfExpr> = None;
                for a in &arrays {
                    let has = convert(
                        Value::expr(
                            call(&u.dyn_op, vec![lit("set_has_element"), folded(to_json(a)), x_json.clone()]),
                            KType::Dynamic,
                        ),
                        KType::Bool,
                    )
                    .expr;
                    let same = folded(to_string(a.clone()).expr).eq(x_text.clone());
                    let term = coalesce(vec![has, lit(false)]).or(coalesce(vec![same, lit(false)]));
                    found = Some(match found {
                        Some(f) => f.or(term),
                        None => term,
                    });
                }
                let in_values = |x: Value, values: Vec<Value>, negated: bool| -> R<DfExpr> {
                    if !fold {
                        return in_scalars(x, values, negated);
                    }
                    if values.is_empty() {
                        return Ok(lit(negated));
                    }
                    let mut args = vec![to_string(x).expr];
                    args.extend(values.into_iter().map(|v| to_string(v).expr));
                    let e = call(&u.in_ci, args);
                    Ok(if negated { not(e) } else { e })
                };
                let e = match found {
                    Some(in_arrays) => {
                        let e = in_arrays.or(coalesce(vec![in_values(x, values, false)?, lit(false)]));
                        if negated { not(e) } else { e }
                    }
                    None => in_values(x, values, negated)?,
                };
                Ok(Value::expr(e, KType::Bool))
            }
            ListOp::HasAny | ListOp::HasAll => {
                let mut args = vec![to_string(x).expr];
                args.extend(values.into_iter().map(|v| to_string(v).expr));
                let f = if op == ListOp::HasAny { &u.has_any } else { &u.has_all };
                Ok(Value::expr(call(f, args), KType::Bool))
            }
        }
    }

    /// Plans a tabular expression inside a scalar one (`toscalar`, `in`): its time filter and
    /// render are not the query's, and its operators are not in the outer `where`.
    fn subquery(&mut self, t: &TabularExpr) -> R<Rel> {
        let saved = (
            std::mem::take(&mut self.time_filtered),
            self.render.take(),
            std::mem::replace(&mut self.in_where, false),
        );
        let sub = self.tabular(t);
        (self.time_filtered, self.render, self.in_where) = saved;
        sub
    }

    /// The tabular expression an item after `in` is, if it is one: `(T | …)`, or the name of
    /// a tabular `let` or a table that is not a column here.
    fn tabular_item(&self, rel: &Rel, it: &Expr) -> Option<TabularExpr> {
        match &it.kind {
            ExprKind::Tabular(t) => Some((**t).clone()),
            ExprKind::Name(id)
                if rel.get(&id.name).is_none()
                    && (matches!(self.lets.get(&id.name), Some(Bound::Tabular(_)))
                        || (!self.lets.contains_key(&id.name)
                            && tables::TABLES.contains(&id.name.as_str()))) =>
            {
                Some(TabularExpr { source: Source::Name(id.clone()), operators: Vec::new(), span: it.span })
            }
            _ => None,
        }
    }

    /// `x in (T | …)` and its negated and case-insensitive forms, over `T`'s first column
    /// (nulls there match nothing). In a `where` it is a DataFusion `IN` subquery (a semi
    /// join); elsewhere (`extend`, `countif`) the column's distinct values are collected once
    /// into an array, and each row looks itself up in it.
    fn in_tabular(&mut self, op: ListOp, x: Value, t: &TabularExpr, at: Span) -> R<Value> {
        let (negated, fold_case) = match op {
            ListOp::In => (false, false),
            ListOp::NotIn => (true, false),
            ListOp::InCi => (false, true),
            ListOp::NotInCi => (true, true),
            ListOp::HasAny | ListOp::HasAll => (false, false),
        };
        let sub = self.subquery(t);
        let sub = sub?.materialize(false)?;
        let Some(first) = sub.cols.first() else {
            return Err(err(at, "the tabular expression after 'in' has no columns"));
        };
        if matches!(op, ListOp::HasAny | ListOp::HasAll) {
            // The terms: the first column's distinct values, as text, gathered once.
            let terms = LogicalPlanBuilder::from(sub.plan.clone())
                .project(vec![to_string(first.value.clone()).expr.alias("term")])
                .and_then(|b| b.filter(column("term").is_not_null()))
                .and_then(|b| {
                    let all = datafusion::functions_aggregate::expr_fn::array_agg(column("term"))
                        .distinct()
                        .build()?;
                    b.aggregate(Vec::<DfExpr>::new(), vec![all.alias("terms")])
                })
                .and_then(|b| b.build())
                .map_err(internal)?;
            let list = datafusion::logical_expr::expr_fn::scalar_subquery(Arc::new(terms));
            let f = if op == ListOp::HasAny { &udfs().has_any } else { &udfs().has_all };
            return Ok(Value::expr(call(f, vec![to_string(x).expr, list]), KType::Bool));
        }
        let (xt, vt) = (x.ty(), first.value.ty());
        let target = if fold_case {
            KType::String
        } else if xt == vt && !xt.is_dynamic() {
            xt
        } else if xt.is_numeric() && vt.is_numeric() {
            if xt == KType::Real || vt == KType::Real { KType::Real } else { KType::Long }
        } else {
            KType::String
        };
        let side = |v: Value| {
            let e = convert(v, target).expr;
            if fold_case { lower(e) } else { e }
        };
        let value = side(first.value.clone());
        let values = LogicalPlanBuilder::from(sub.plan.clone())
            .project(vec![value.alias("in_value")])
            .and_then(|b| b.filter(column("in_value").is_not_null()));
        let x = side(x);
        // SQL's `NOT IN` is null for a null `x`, and a `where` dropped the row; Kusto keeps it
        // (`!in` is `!=` with each value, true for a null): such `!in` looks itself up in the
        // collected values below, as an `extend` does.
        let keeps_nulls = negated && value::nullable(target);
        if self.in_where && !keeps_nulls {
            let plan = Arc::new(values.and_then(|b| b.build()).map_err(internal)?);
            let e = if negated {
                datafusion::logical_expr::expr_fn::not_in_subquery(x, plan)
            } else if value::nullable(target) {
                // SQL's `IN` is null for a null `x`, so `not(x in (T))` dropped the row; in
                // Kusto a null is in no table (false), and `not()` of it keeps the row. The
                // `IS NOT NULL` term is a plain filter beside the semi join, which stays one.
                x.clone().is_not_null().and(datafusion::logical_expr::expr_fn::in_subquery(x, plan))
            } else {
                datafusion::logical_expr::expr_fn::in_subquery(x, plan)
            };
            return Ok(Value::expr(e, KType::Bool));
        }
        let all = datafusion::functions_aggregate::expr_fn::array_agg(column("in_value"))
            .distinct()
            .build()
            .map_err(internal)?;
        let plan = values
            .and_then(|b| b.aggregate(Vec::<DfExpr>::new(), vec![all.alias("in_values")]))
            .and_then(|b| b.build())
            .map_err(internal)?;
        let list = datafusion::logical_expr::expr_fn::scalar_subquery(Arc::new(plan));
        let found = coalesce(vec![call(&udfs().in_set, vec![list, x]), lit(false)]);
        Ok(Value::expr(if negated { not(found) } else { found }, KType::Bool))
    }

    fn args(&mut self, rel: &Rel, args: &[Expr]) -> R<Vec<Value>> {
        args.iter().map(|a| self.scalar(rel, a)).collect()
    }

    /// `toscalar(T)`: the first column of the first row of `T` (when `T` has no rows, null, or
    /// "" for a string), as a scalar subquery that DataFusion runs once.
    fn toscalar(&mut self, e: &Expr, args: &[Expr]) -> R<Value> {
        self.arity(e, "toscalar", args, 1, 1)?;
        let arg = &args[0];
        let t = match &arg.kind {
            ExprKind::Tabular(t) => (**t).clone(),
            ExprKind::Name(id) => {
                TabularExpr { source: Source::Name(id.clone()), operators: Vec::new(), span: arg.span }
            }
            _ => return Err(err(arg.span, "toscalar() takes a tabular expression (`toscalar(T | count)`)")),
        };
        let sub = self.subquery(&t);
        let sub = sub?.materialize(false)?;
        let Some(first) = sub.cols.first() else {
            return Err(err(arg.span, "toscalar(): the tabular expression has no columns"));
        };
        let ty = first.value.ty();
        let plan = LogicalPlanBuilder::from(sub.plan.clone())
            .project(vec![texpr(first.value.clone()).expr.alias("toscalar")])
            .and_then(|b| b.limit(0, Some(1)))
            .and_then(|b| b.build())
            .map_err(internal)?;
        let sub = datafusion::logical_expr::expr_fn::scalar_subquery(Arc::new(plan));
        // A Kusto string is never null: no row gives "".
        let sub = if ty == KType::String { coalesce(vec![sub, lit("")]) } else { sub };
        Ok(Value::expr(sub, ty))
    }

    fn arity(&self, e: &Expr, fname: &str, args: &[Expr], min: usize, max: usize) -> R<()> {
        if args.len() < min || args.len() > max {
            let want = if min == max { format!("{min}") } else { format!("{min} to {max}") };
            return Err(err(e.span, format!("{fname}() takes {want} argument(s), got {}", args.len())));
        }
        Ok(())
    }

    /// Keeps a user-defined function for its calls. Only scalar functions are planned: their
    /// parameters are scalars, their body a scalar expression after scalar `let`s.
    fn define_function(&mut self, name: &str, f: &kql::FunctionDef) -> Result<(), EngineError> {
        let unsupported = |what: &str, at: kql::Span| EngineError::Unsupported {
            what: what.into(),
            span: span(at),
            help: None,
        };
        if let Some(p) = f.params.iter().find(|p| p.ty.is_none()) {
            return Err(unsupported("user-defined functions with a tabular parameter", p.span));
        }
        if let Some(l) = f.lets.iter().find(|l| !matches!(l.value, kql::LetValue::Expr(_))) {
            return Err(unsupported("a tabular or function `let` inside a user-defined function", l.span));
        }
        match &*f.body {
            kql::LetValue::Expr(e) if !matches!(e.kind, ExprKind::Tabular(_)) => {}
            _ => return Err(unsupported("user-defined functions that return a table", f.span)),
        }
        self.lets.remove(name);
        self.let_exprs.remove(name);
        self.functions.insert(name.to_owned(), Arc::new(f.clone()));
        Ok(())
    }

    /// Plans a call of a user-defined scalar function: its arguments over `rel`, then its body
    /// with the parameters (and the body's own `let`s) bound to them, in place of any column
    /// or `let` of the same name.
    fn call_function(&mut self, rel: &Rel, e: &Expr, f: &kql::FunctionDef, args: &[Expr]) -> R<Value> {
        let name = match &e.kind {
            ExprKind::Call { name, .. } => name.name.as_str(),
            _ => "function",
        };
        let required = f.params.iter().filter(|p| p.default.is_none()).count();
        if args.len() < required || args.len() > f.params.len() {
            let takes = if required == f.params.len() {
                format!("{required}")
            } else {
                format!("{required} to {}", f.params.len())
            };
            return Err(err(e.span, format!("{name}() takes {takes} argument(s), got {}", args.len())));
        }
        if self.call_depth >= MAX_CALL_DEPTH {
            return Err(err(
                e.span,
                format!("{name}() calls functions more than {MAX_CALL_DEPTH} deep (recursion?)"),
            ));
        }
        self.calls_planned += 1;
        if self.calls_planned > MAX_CALLS_PLANNED {
            return Err(err(
                e.span,
                format!("the query calls user-defined functions more than {MAX_CALLS_PLANNED} times"),
            ));
        }
        let mut bound = Vec::new();
        for (i, p) in f.params.iter().enumerate() {
            let arg = args.get(i).or(p.default.as_ref()).ok_or_else(|| err(e.span, "missing argument"))?;
            bound.push((p.name.name.clone(), self.scalar(rel, arg)?));
        }
        // The parameters hide the row's columns of the same name.
        let mut scope = rel.clone();
        scope.cols.retain(|c| !bound.iter().any(|(n, _)| *n == c.name));
        let mut saved = Vec::new();
        // A parameter's argument was planned above: reading the parameter reads no more.
        let mut shadowed_now = Vec::new();
        for (n, v) in bound {
            if self.now_lets.remove(&n) {
                shadowed_now.push(n.clone());
            }
            saved.push((n.clone(), self.lets.insert(n.clone(), Bound::Scalar(v)), self.let_exprs.remove(&n)));
        }
        self.call_depth += 1;
        let result = (|| {
            for l in &f.lets {
                if let kql::LetValue::Expr(x) = &l.value {
                    let v = self.scalar(&scope, x)?;
                    let n = l.name.name.clone();
                    scope.cols.retain(|c| c.name != n);
                    saved.push((
                        n.clone(),
                        self.lets.insert(n.clone(), Bound::Scalar(v)),
                        self.let_exprs.remove(&n),
                    ));
                }
            }
            match &*f.body {
                kql::LetValue::Expr(body) => self.scalar(&scope, body),
                _ => Err(err(f.span, "not supported yet: user-defined functions that return a table")),
            }
        })();
        self.call_depth -= 1;
        self.now_lets.extend(shadowed_now);
        for (n, old, old_expr) in saved.into_iter().rev() {
            match old {
                Some(b) => self.lets.insert(n.clone(), b),
                None => self.lets.remove(&n),
            };
            if let Some(x) = old_expr {
                self.let_exprs.insert(n, x);
            }
        }
        result
    }

    /// `base[index]` where the index is not written as a constant: a constant after all (a
    /// function's parameter bound to one) reads as one; otherwise the key or position is read
    /// from each row (a string is a property, a whole number an array position).
    #[inline(never)]
    fn computed_index(&mut self, rel: &Rel, base: Value, index: &Expr) -> R<Value> {
        let i = self.scalar(rel, index)?;
        let seg = match &i {
            Value::Expr(t) => match &t.expr {
                DfExpr::Literal(ScalarValue::Utf8(Some(k)) | ScalarValue::Utf8View(Some(k)), _) => {
                    Some(Seg::Key(k.clone()))
                }
                DfExpr::Literal(ScalarValue::Int64(Some(n)), _) => Some(Seg::Index(*n)),
                DfExpr::Literal(ScalarValue::Int32(Some(n)), _) => Some(Seg::Index(i64::from(*n))),
                _ => None,
            },
            Value::Event(_) => None,
        };
        if let Some(seg) = seg {
            return member(base, seg).map_err(|msg| err(index.span, msg));
        }
        let key = match i.ty() {
            KType::Int | KType::Long => convert(i, KType::Long).expr,
            KType::String | KType::DynNative(Native::Str) => to_string(i).expr,
            t => {
                return Err(err(
                    index.span,
                    format!(
                        "an index must be a string (a property) or a whole number (a position), not a {t}"
                    ),
                ));
            }
        };
        if !base.ty().is_dynamic() {
            return Err(err(
                index.span,
                format!("indexing a value of type {}; only dynamic values have members", base.ty()),
            ));
        }
        Ok(Value::expr(call(&udfs().dyn_get_at, vec![to_json(&base), key]), KType::Dynamic))
    }

    /// Scalar functions planned out of [`Planner::call`], so that their locals do not enlarge
    /// that function's frame (see [`Planner::conditional`]).
    #[inline(never)]
    fn more_functions(&mut self, rel: &Rel, e: &Expr, name: &kql::Ident, args: &[Expr]) -> R<Value> {
        let (s, f, u) = (e.span, name.name.as_str(), udfs());
        let one = |p: &mut Self| -> R<Value> {
            p.arity(e, f, args, 1, 1)?;
            p.scalar(rel, &args[0])
        };
        // The array, set and bag functions (`udf::arrays`): their JSON arguments in, JSON out.
        if let Some((lo, hi)) = crate::udf::arrays::arity(f) {
            let op = if f == "array_iif" { "array_iff" } else { f };
            if matches!(op, "array_sort_asc" | "array_sort_desc")
                && let Some(second) = args.get(1)
                && !matches!(second.kind, ExprKind::Literal(Literal::Bool(_)))
            {
                return Err(err(second.span, format!("not supported yet: {f}() of several arrays")));
            }
            self.arity(e, f, args, lo, hi)?;
            let v = self.args(rel, args)?;
            let mut a = vec![lit(op)];
            a.extend(v.iter().map(to_json));
            let result = Value::expr(call(&u.dyn_op, a), KType::Dynamic);
            return Ok(match op {
                "set_has_element" | "bag_has_key" => Value::Expr(convert(result, KType::Bool)),
                "array_index_of" => Value::Expr(convert(result, KType::Long)),
                "array_sum" | "jaccard_index" => Value::Expr(convert(result, KType::Real)),
                _ => result,
            });
        }
        if let Some((udf, ty)) = text_function(u, f) {
            let v = one(self)?;
            return Ok(Value::expr(call(udf, vec![to_string(v).expr]), ty));
        }
        match f {
            "format_timespan" => {
                self.arity(e, f, args, 1, 2)?;
                let v = self.scalar(rel, &args[0])?;
                let mut a = vec![convert(v, KType::TimeSpan).expr];
                if let Some(fmt) = args.get(1) {
                    let Some(fmt) = lit_str(fmt) else {
                        return Err(err(fmt.span, "format_timespan() needs a constant format"));
                    };
                    a.push(lit(fmt));
                }
                Ok(Value::expr(call(&u.format_timespan, a), KType::String))
            }
            "bin_at" => {
                // bin_at(v, size, fixed) is bin(v - fixed, size) + fixed: the bins are aligned
                // so that one starts at `fixed`.
                self.arity(e, f, args, 3, 3)?;
                let binary = |op, left: &Expr, right: &Expr| {
                    Expr::new(
                        ExprKind::Binary { op, left: Box::new(left.clone()), right: Box::new(right.clone()) },
                        s,
                    )
                };
                let shifted = binary(kql::BinaryOp::Sub, &args[0], &args[2]);
                let binned = Expr::new(
                    ExprKind::Call {
                        name: kql::Ident::new("bin", name.span),
                        args: vec![shifted, args[1].clone()],
                    },
                    s,
                );
                self.scalar(rel, &binary(kql::BinaryOp::Add, &binned, &args[2]))
            }
            "countof" => {
                self.arity(e, f, args, 2, 3)?;
                let regex = match args.get(2).map(|k| lit_str(k).map(str::to_ascii_lowercase)) {
                    None => false,
                    Some(Some(k)) if k == "normal" => false,
                    Some(Some(k)) if k == "regex" => true,
                    Some(_) => {
                        return Err(err(args[2].span, "countof() kind must be \"normal\" or \"regex\""));
                    }
                };
                if regex {
                    let Some(re) = lit_str(&args[1]) else {
                        return Err(err(args[1].span, "countof() needs a constant regex"));
                    };
                    regex::Regex::new(re).map_err(|x| err(args[1].span, format!("invalid regex: {x}")))?;
                }
                let text = self.scalar(rel, &args[0])?;
                let search = self.scalar(rel, &args[1])?;
                Ok(Value::expr(
                    call(&u.countof, vec![to_string(text).expr, to_string(search).expr, lit(regex)]),
                    KType::Long,
                ))
            }
            "strrep" => {
                self.arity(e, f, args, 2, 3)?;
                let v = self.args(rel, args)?;
                let delim = v.get(2).map_or_else(|| lit(""), |d| to_string(d.clone()).expr);
                Ok(Value::expr(
                    call(
                        &u.strrep,
                        vec![to_string(v[0].clone()).expr, convert(v[1].clone(), KType::Long).expr, delim],
                    ),
                    KType::String,
                ))
            }
            "tohex" => {
                self.arity(e, f, args, 1, 2)?;
                let v = self.args(rel, args)?;
                let value = match v[0].ty() {
                    KType::Int => convert(v[0].clone(), KType::Int).expr,
                    KType::Long | KType::Dynamic | KType::DynNative(_) => {
                        convert(v[0].clone(), KType::Long).expr
                    }
                    t => return Err(err(args[0].span, format!("tohex() takes an int or a long, not a {t}"))),
                };
                let width = v.get(1).map_or_else(|| lit(0i64), |w| convert(w.clone(), KType::Long).expr);
                Ok(Value::expr(call(&u.tohex, vec![value, width]), KType::String))
            }
            "unixtime_seconds_todatetime"
            | "unixtime_milliseconds_todatetime"
            | "unixtime_microseconds_todatetime"
            | "unixtime_nanoseconds_todatetime" => {
                let v = one(self)?;
                let scale: i64 = match f {
                    "unixtime_seconds_todatetime" => 1_000_000_000,
                    "unixtime_milliseconds_todatetime" => 1_000_000,
                    "unixtime_microseconds_todatetime" => 1_000,
                    _ => 1,
                };
                let ty = if v.ty() == KType::Real || v.ty().is_dynamic() { KType::Real } else { KType::Long };
                Ok(Value::expr(call(&u.unixtime, vec![convert(v, ty).expr, lit(scale)]), KType::DateTime))
            }
            "ipv4_is_in_range" | "ipv4_is_in_any_range" | "ipv6_is_in_range" | "ipv6_is_in_any_range" => {
                // One range, or several (as arguments or one dynamic array, which arrives as its
                // JSON text).
                let max = if f.ends_with("_any_range") { 64 } else { 2 };
                self.arity(e, f, args, 2, max)?;
                let udf =
                    if f.starts_with("ipv4") { &u.ipv4_is_in_any_range } else { &u.ipv6_is_in_any_range };
                let v = self.args(rel, args)?;
                let a =
                    v.into_iter().map(|x| if x.ty().is_dynamic() { to_json(&x) } else { to_string(x).expr });
                Ok(Value::expr(call(udf, a.collect()), KType::Bool))
            }
            "base64_encode_fromarray" => {
                let v = one(self)?;
                Ok(Value::expr(call(&u.base64_encode_fromarray, vec![to_json(&v)]), KType::String))
            }
            "hash_sha256" | "hash_sha1" | "hash_md5" => {
                // The digest of the value's text (a datetime's with all seven fractional digits:
                // Kusto's documented hash_sha256(datetime(2020-01-01)) is the SHA-256 of
                // "2020-01-01T00:00:00.0000000Z").
                let v = one(self)?;
                let algorithm = f.trim_start_matches("hash_");
                let text = if v.ty() == KType::DateTime { texpr(v).expr } else { to_string(v).expr };
                Ok(Value::expr(call(&u.digest, vec![text, lit(algorithm)]), KType::String))
            }
            "hash" | "hash_xxhash64" => {
                self.arity(e, f, args, 1, 2)?;
                let v = self.args(rel, args)?;
                let value = match v[0].ty() {
                    KType::String | KType::Guid | KType::DynNative(Native::Str) => {
                        to_string(v[0].clone()).expr
                    }
                    KType::DateTime => convert(v[0].clone(), KType::DateTime).expr,
                    t => {
                        return Err(err(
                            args[0].span,
                            format!(
                                "not supported yet: {f}() of a {t} (strings and datetimes hash as Kusto documents; \
                                 for other values hash tostring(value))"
                            ),
                        ));
                    }
                };
                let modulo = v.get(1).map_or_else(|| lit(0i64), |m| convert(m.clone(), KType::Long).expr);
                Ok(Value::expr(call(&u.xxhash64, vec![value, modulo]), KType::Long))
            }
            "percentile_tdigest" => {
                self.arity(e, f, args, 2, 3)?;
                let d = self.scalar(rel, &args[0])?;
                let p = self.scalar(rel, &args[1])?;
                let real = Value::expr(
                    call(&u.percentile_tdigest, vec![to_json(&d), convert(p, KType::Real).expr]),
                    KType::Real,
                );
                match args.get(2) {
                    Some(t) => {
                        let ty = self.typeof_arg(t)?;
                        Ok(Value::Expr(convert(real, ty)))
                    }
                    None => Ok(real),
                }
            }
            "datetime_utc_to_local" | "datetime_local_to_utc" => {
                self.arity(e, f, args, 2, 2)?;
                if let Some(zone) = lit_str(&args[1])
                    && zone.trim().parse::<chrono_tz::Tz>().is_err()
                {
                    return Err(err(
                        args[1].span,
                        format!(
                            "unknown time zone '{zone}': give an IANA name such as \"Europe/Paris\" or \"US/Pacific\""
                        ),
                    ));
                }
                let v = self.args(rel, args)?;
                let t = convert(v[0].clone(), KType::DateTime).expr;
                let to_local = lit(f == "datetime_utc_to_local");
                Ok(Value::expr(
                    call(&u.tz_convert, vec![t, to_string(v[1].clone()).expr, to_local]),
                    KType::DateTime,
                ))
            }
            "dcount_hll" => {
                // The size of an exact hll() set.
                let v = one(self)?;
                Ok(Value::expr(call(&u.dyn_array_length, vec![to_json(&v)]), KType::Long))
            }
            "bag_pack_columns" => {
                let mut a = Vec::new();
                for arg in args {
                    let ExprKind::Name(id) = &arg.kind else {
                        return Err(err(arg.span, "bag_pack_columns() takes column names"));
                    };
                    a.push(lit(id.name.clone()));
                    a.push(to_json(&self.scalar(rel, arg)?));
                }
                Ok(Value::expr(call(&u.pack, a), KType::Dynamic))
            }
            "isnan" | "isinf" | "isfinite" => {
                let v = one(self)?;
                if !matches!(
                    v.ty(),
                    KType::Int | KType::Long | KType::Real | KType::Dynamic | KType::DynNative(_)
                ) {
                    return Err(err(args[0].span, format!("{f}() takes a number, not a {}", v.ty())));
                }
                let kind = &f[2..];
                Ok(Value::expr(
                    call(&u.float_class, vec![convert(v, KType::Real).expr, lit(kind)]),
                    KType::Bool,
                ))
            }
            "make_timespan" => {
                // (hours, minutes), (hours, minutes, seconds) or (days, hours, minutes, seconds).
                self.arity(e, f, args, 2, 4)?;
                let v = self.args(rel, args)?;
                let mut parts: Vec<DfExpr> = v.into_iter().map(|x| convert(x, KType::Real).expr).collect();
                while parts.len() < 3 {
                    parts.push(lit(0.0));
                }
                if parts.len() == 3 {
                    parts.insert(0, lit(0.0));
                }
                Ok(Value::expr(call(&u.make_timespan, parts), KType::TimeSpan))
            }
            "ipv4_compare" | "ipv4_is_match" | "format_ipv4" | "format_ipv4_mask" => {
                // An address is text or a long (as parse_ipv4 gives it); the prefix a long.
                let two = matches!(f, "ipv4_compare" | "ipv4_is_match");
                let (lo, hi) = if two { (2, 3) } else { (1, 2) };
                self.arity(e, f, args, lo, hi)?;
                let v = self.args(rel, args)?;
                let address = |x: &Value| match x.ty() {
                    KType::Int | KType::Long | KType::DynNative(Native::Long) => {
                        convert(x.clone(), KType::Long).expr
                    }
                    _ => to_string(x.clone()).expr,
                };
                let prefix = v.get(lo).map_or_else(|| lit(32i64), |p| convert(p.clone(), KType::Long).expr);
                if two {
                    let cmp = call(&u.ipv4_compare, vec![address(&v[0]), address(&v[1]), prefix]);
                    return Ok(if f == "ipv4_is_match" {
                        Value::expr(cmp.eq(lit(0i64)), KType::Bool)
                    } else {
                        Value::expr(cmp, KType::Long)
                    });
                }
                let suffix = lit(f == "format_ipv4_mask");
                Ok(Value::expr(call(&u.format_ipv4, vec![address(&v[0]), prefix, suffix]), KType::String))
            }
            "ipv6_compare" | "ipv6_is_match" => {
                self.arity(e, f, args, 2, 3)?;
                let v = self.args(rel, args)?;
                let prefix = v.get(2).map_or_else(|| lit(128i64), |p| convert(p.clone(), KType::Long).expr);
                let cmp = call(
                    &u.ipv6_compare,
                    vec![to_string(v[0].clone()).expr, to_string(v[1].clone()).expr, prefix],
                );
                Ok(if f == "ipv6_is_match" {
                    Value::expr(cmp.eq(lit(0i64)), KType::Bool)
                } else {
                    Value::expr(cmp, KType::Long)
                })
            }
            "parse_ipv6" | "parse_ipv6_mask" => {
                let (lo, hi) = if f == "parse_ipv6" { (1, 1) } else { (2, 2) };
                self.arity(e, f, args, lo, hi)?;
                let v = self.args(rel, args)?;
                let prefix = v.get(1).map_or_else(|| lit(128i64), |p| convert(p.clone(), KType::Long).expr);
                Ok(Value::expr(
                    call(&u.parse_ipv6, vec![to_string(v[0].clone()).expr, prefix]),
                    KType::String,
                ))
            }
            "extract_all" if args.len() == 3 => {
                // extract_all(regex, dynamic([g, …]), text): the capture groups to pick, by
                // number (0 is the whole match).
                let Some(re) = lit_str(&args[0]) else {
                    return Err(err(args[0].span, "extract_all() needs a constant regex"));
                };
                let re =
                    regex::Regex::new(re).map_err(|x| err(args[0].span, format!("invalid regex: {x}")))?;
                let ExprKind::Literal(Literal::Dynamic(kql::Dynamic::Array(items))) = &args[1].kind else {
                    return Err(err(
                        args[1].span,
                        "extract_all()'s groups are a dynamic array of group numbers",
                    ));
                };
                let mut picks = Vec::new();
                for item in items {
                    match item {
                        kql::Dynamic::Long(g) if (0..re.captures_len() as i64).contains(g) => {
                            picks.push(g.to_string())
                        }
                        kql::Dynamic::Long(g) => {
                            return Err(err(
                                args[1].span,
                                format!("extract_all(): the regex has no group {g}"),
                            ));
                        }
                        _ => {
                            return Err(err(
                                args[1].span,
                                "not supported yet: extract_all() with groups named rather than numbered",
                            ));
                        }
                    }
                }
                if picks.is_empty() {
                    return Err(err(args[1].span, "extract_all() needs at least one group to pick"));
                }
                let text = self.scalar(rel, &args[2])?;
                Ok(Value::expr(
                    call(&u.extractall, vec![to_string(text).expr, lit(re.as_str()), lit(picks.join(","))]),
                    KType::Dynamic,
                ))
            }
            "extract_all" => {
                // extract_all(regex, text), the current name of extractall.
                let renamed = Expr::new(
                    ExprKind::Call { name: kql::Ident::new("extractall", name.span), args: args.to_vec() },
                    s,
                );
                self.scalar(rel, &renamed)
            }
            _ => Err(err(name.span, format!("not supported yet: function {f}()"))),
        }
    }

    /// `iff`, `case` and `coalesce`: values chosen per row, which must share one type. Out of
    /// [`Planner::call`] so that its locals do not enlarge that function's frame, which every
    /// level of a nested call (a user-defined function calling another) puts on the stack.
    #[inline(never)]
    fn conditional(&mut self, rel: &Rel, e: &Expr, f: &str, args: &[Expr]) -> R<Value> {
        let s = e.span;
        match f {
            "iff" | "iif" => {
                self.arity(e, f, args, 3, 3)?;
                let c = self.scalar(rel, &args[0])?;
                let c = as_bool(c, args[0].span)?;
                let a = self.scalar(rel, &args[1])?;
                let b = self.scalar(rel, &args[2])?;
                same_result_type(f, &a, &b, args[2].span)?;
                value::iff(c, a, b).map(Value::Expr).map_err(|m| err(s, m))
            }
            "case" => {
                if args.len() < 3 || args.len().is_multiple_of(2) {
                    return Err(err(s, "case() takes predicate/value pairs and an else value"));
                }
                // Fold from the else value backwards: case(p1, v1, p2, v2, e) = iff(p1, v1, iff(p2, v2, e)).
                let mut acc = self.scalar(rel, &args[args.len() - 1])?;
                let first = self.scalar(rel, &args[1])?;
                same_result_type(f, &first, &acc, args[args.len() - 1].span)?;
                for pair in args[..args.len() - 1].chunks(2).rev() {
                    let c = self.scalar(rel, &pair[0])?;
                    let c = as_bool(c, pair[0].span)?;
                    let v = self.scalar(rel, &pair[1])?;
                    same_result_type(f, &first, &v, pair[1].span)?;
                    acc = Value::Expr(value::iff(c, v, acc).map_err(|m| err(s, m))?);
                }
                Ok(acc)
            }
            "coalesce" => {
                if args.is_empty() {
                    return Err(err(s, "coalesce() needs arguments"));
                }
                let v = self.args(rel, args)?;
                for (x, a) in v.iter().zip(args).skip(1) {
                    same_result_type(f, &v[0], x, a.span)?;
                }
                let ty = v[0].ty();
                if ty.is_stringy() {
                    // Kusto's coalesce of strings skips empty strings too.
                    let mut acc = to_string(v[v.len() - 1].clone()).expr;
                    for x in v[..v.len() - 1].iter().rev() {
                        let sx = to_string(x.clone()).expr;
                        acc = datafusion::logical_expr::when(sx.clone().not_eq(lit("")), sx)
                            .otherwise(acc)
                            .map_err(internal)?;
                    }
                    return Ok(Value::expr(acc, KType::String));
                }
                let exprs: Vec<DfExpr> = v
                    .into_iter()
                    .map(|x| if x.ty() == ty { texpr(x).expr } else { convert(x, ty).expr })
                    .collect();
                Ok(Value::expr(coalesce(exprs), ty))
            }
            _ => Err(err(s, format!("not a conditional function: {f}()"))),
        }
    }

    fn call(&mut self, rel: &Rel, e: &Expr, name: &kql::Ident, args: &[Expr]) -> R<Value> {
        if let Some(f) = self.functions.get(&name.name).cloned() {
            return self.call_function(rel, e, &f, args);
        }
        let f = name.name.as_str();
        let u = udfs();
        let s = e.span;
        let one = |p: &mut Self| -> R<Value> {
            p.arity(e, f, args, 1, 1)?;
            p.scalar(rel, &args[0])
        };
        let str_fn = |p: &mut Self, udf: &std::sync::Arc<datafusion::logical_expr::ScalarUDF>| -> R<Value> {
            let v = one(p)?;
            Ok(Value::expr(call(udf, vec![to_string(v).expr]), KType::String))
        };
        match f {
            "toscalar" => self.toscalar(e, args),
            "row_number" | "prev" | "next" | "row_cumsum" | "row_rank_dense" | "row_rank_min"
            | "row_window_session" => self.window_function(rel, e, f, args),
            "now" => {
                self.uses_now = true;
                let offset = match args.first() {
                    Some(a) => {
                        let v = self.scalar(rel, a)?;
                        if v.ty() != KType::TimeSpan {
                            return Err(err(a.span, "now() takes a timespan offset"));
                        }
                        Some(v)
                    }
                    None => None,
                };
                let now = Value::expr(ts_lit(self.now_ns), KType::DateTime);
                match offset {
                    Some(o) => value::arith(now, DfOp::Plus, o).map(Value::Expr).map_err(|m| err(s, m)),
                    None => Ok(now),
                }
            }
            "ago" => {
                self.uses_now = true;
                let v = one(self)?;
                if v.ty() != KType::TimeSpan {
                    return Err(err(args[0].span, format!("ago() takes a timespan, got a {}", v.ty())));
                }
                value::arith(Value::expr(ts_lit(self.now_ns), KType::DateTime), DfOp::Minus, v)
                    .map(Value::Expr)
                    .map_err(|m| err(s, m))
            }
            "datetime_diff" => {
                self.arity(e, f, args, 3, 3)?;
                let Some(part) = lit_str(&args[0]) else {
                    return Err(err(
                        args[0].span,
                        "datetime_diff() needs a constant period such as 'millisecond'",
                    ));
                };
                if crate::udf::time::diff_parts(part, 0, 0).is_none() {
                    return Err(err(args[0].span, format!("unknown period '{part}'"))
                        .with_help("periods are year, quarter, month, week, day, hour, minute, second, millisecond, microsecond, nanosecond"));
                }
                let a = convert(self.scalar(rel, &args[1])?, KType::DateTime).expr;
                let b = convert(self.scalar(rel, &args[2])?, KType::DateTime).expr;
                Ok(Value::expr(
                    call(&u.datetime_diff, vec![lit(part.to_ascii_lowercase()), a, b]),
                    KType::Long,
                ))
            }
            "bin" | "floor" => {
                self.arity(e, f, args, 2, 2)?;
                let v = self.scalar(rel, &args[0])?;
                let size = self.scalar(rel, &args[1])?;
                self.bin(v, size, s)
            }
            "todatetime" => Ok(Value::Expr(convert(one(self)?, KType::DateTime))),
            "totimespan" | "totime" => Ok(Value::Expr(convert(one(self)?, KType::TimeSpan))),
            "tostring" => Ok(Value::Expr(to_string(one(self)?))),
            "toint" => Ok(Value::Expr(convert(one(self)?, KType::Int))),
            "tolong" => Ok(Value::Expr(convert(one(self)?, KType::Long))),
            "todouble" | "toreal" | "todecimal" => Ok(Value::Expr(convert(one(self)?, KType::Real))),
            "tobool" | "toboolean" => Ok(Value::Expr(convert(one(self)?, KType::Bool))),
            "toguid" => Ok(Value::Expr(TExpr::new(to_string(one(self)?).expr, KType::Guid))),
            "parse_json" | "todynamic" | "toobject" => Ok(value::parse_json(one(self)?)),
            "tolower" => {
                let v = one(self)?;
                Ok(Value::expr(lower(to_string(v).expr), KType::String))
            }
            "toupper" => {
                let v = one(self)?;
                Ok(Value::expr(upper(to_string(v).expr), KType::String))
            }
            "strlen" => {
                let v = one(self)?;
                Ok(Value::expr(call(&u.strlen, vec![to_string(v).expr]), KType::Long))
            }
            "substring" => {
                self.arity(e, f, args, 2, 3)?;
                let v = self.args(rel, args)?;
                let mut a = vec![to_string(v[0].clone()).expr];
                for x in &v[1..] {
                    a.push(convert(x.clone(), KType::Long).expr);
                }
                Ok(Value::expr(call(&u.substring, a), KType::String))
            }
            "strcat" => {
                if args.is_empty() {
                    return Err(err(s, "strcat() needs at least one argument"));
                }
                let v = self.args(rel, args)?;
                Ok(Value::expr(concat(v.into_iter().map(|x| to_string(x).expr).collect()), KType::String))
            }
            "strcat_delim" => {
                self.arity(e, f, args, 2, 64)?;
                let v = self.args(rel, args)?;
                let delim = to_string(v[0].clone()).expr;
                let mut parts = Vec::new();
                for (i, x) in v[1..].iter().enumerate() {
                    if i > 0 {
                        parts.push(delim.clone());
                    }
                    parts.push(to_string(x.clone()).expr);
                }
                Ok(Value::expr(concat(parts), KType::String))
            }
            "split" => {
                self.arity(e, f, args, 2, 3)?;
                let v = self.args(rel, args)?;
                let mut a = vec![to_string(v[0].clone()).expr, to_string(v[1].clone()).expr];
                if let Some(ix) = v.get(2) {
                    a.push(convert(ix.clone(), KType::Long).expr);
                }
                Ok(Value::expr(call(&u.split, a), KType::Dynamic))
            }
            "extract" => {
                self.arity(e, f, args, 3, 4)?;
                let Some(re) = lit_str(&args[0]) else {
                    return Err(err(args[0].span, "extract() needs a constant regex"));
                };
                regex::Regex::new(re).map_err(|x| err(args[0].span, format!("invalid regex: {x}")))?;
                let Some(group) = lit_num(&args[1]) else {
                    return Err(err(args[1].span, "extract() needs a constant group"));
                };
                let text = self.scalar(rel, &args[2])?;
                let out = Value::expr(
                    call(&u.extract, vec![to_string(text).expr, lit(re), lit(group as i64)]),
                    KType::String,
                );
                match args.get(3) {
                    Some(t) => {
                        let ty = self.typeof_arg(t)?;
                        Ok(Value::Expr(convert(out, ty)))
                    }
                    None => Ok(out),
                }
            }
            "extractall" => {
                self.arity(e, f, args, 2, 2)?;
                let Some(re) = lit_str(&args[0]) else {
                    return Err(err(args[0].span, "extractall() needs a constant regex"));
                };
                regex::Regex::new(re).map_err(|x| err(args[0].span, format!("invalid regex: {x}")))?;
                let text = self.scalar(rel, &args[1])?;
                Ok(Value::expr(call(&u.extractall, vec![to_string(text).expr, lit(re)]), KType::Dynamic))
            }
            "replace" | "replace_regex" => {
                self.arity(e, f, args, 3, 3)?;
                // replace(regex, rewrite, text); replace_regex(text, regex, rewrite).
                let (ti, ri, wi) = if f == "replace" { (2, 0, 1) } else { (0, 1, 2) };
                let (Some(re), Some(rw)) = (lit_str(&args[ri]), lit_str(&args[wi])) else {
                    return Err(err(s, format!("{f}() needs a constant regex and rewrite")));
                };
                regex::Regex::new(re).map_err(|x| err(args[ri].span, format!("invalid regex: {x}")))?;
                let text = self.scalar(rel, &args[ti])?;
                Ok(Value::expr(
                    call(&u.replace_regex, vec![to_string(text).expr, lit(re), lit(rw)]),
                    KType::String,
                ))
            }
            "replace_string" => {
                self.arity(e, f, args, 3, 3)?;
                let (Some(look), Some(rw)) = (lit_str(&args[1]), lit_str(&args[2])) else {
                    return Err(err(s, "replace_string() needs constant lookup and rewrite strings"));
                };
                let text = self.scalar(rel, &args[0])?;
                Ok(Value::expr(
                    call(&u.replace_string, vec![to_string(text).expr, lit(look), lit(rw)]),
                    KType::String,
                ))
            }
            "url_decode" => str_fn(self, &u.url_decode),
            "url_encode" => str_fn(self, &u.url_encode),
            "url_encode_component" => str_fn(self, &u.url_encode_component),
            "strcat_array" => {
                self.arity(e, f, args, 2, 2)?;
                let v = self.args(rel, args)?;
                let arr = match v[0].ty() {
                    KType::DynNative(Native::StrList) => texpr(v[0].clone()).expr,
                    _ => to_json(&v[0]),
                };
                Ok(Value::expr(call(&u.strcat_array, vec![arr, to_string(v[1].clone()).expr]), KType::String))
            }
            "array_length" => {
                let v = one(self)?;
                let arr = match v.ty() {
                    KType::DynNative(Native::StrList) => texpr(v).expr,
                    _ => to_json(&v),
                };
                Ok(Value::expr(call(&u.dyn_array_length, vec![arr]), KType::Long))
            }
            "bag_keys" => {
                let v = one(self)?;
                Ok(Value::expr(call(&u.bag_keys, vec![to_json(&v)]), KType::Dynamic))
            }
            "pack" | "bag_pack" | "pack_dictionary" => {
                if !args.len().is_multiple_of(2) {
                    return Err(err(s, format!("{f}() takes key/value pairs")));
                }
                let mut a = Vec::new();
                for pair in args.chunks(2) {
                    // A key may be computed (`bag_pack(Verb, n)`): its text at each row.
                    let key = match lit_str(&pair[0]) {
                        Some(k) => lit(k),
                        None => to_string(self.scalar(rel, &pair[0])?).expr,
                    };
                    let v = self.scalar(rel, &pair[1])?;
                    a.push(key);
                    a.push(to_json(&v));
                }
                Ok(Value::expr(call(&u.pack, a), KType::Dynamic))
            }
            "pack_array" => {
                let v = self.args(rel, args)?;
                Ok(Value::expr(call(&u.pack_array, v.iter().map(to_json).collect()), KType::Dynamic))
            }
            "iff" | "iif" | "case" | "coalesce" => self.conditional(rel, e, f, args),
            "isempty" | "isnotempty" => {
                let v = one(self)?;
                // Null-safe: a null string (which Kusto does not have) is empty, not null.
                let e = match v.ty() {
                    t if t.is_stringy() => value::is_empty_string(texpr(v).expr),
                    KType::DynNative(Native::Str) => value::is_empty_string(texpr(v).expr),
                    KType::Dynamic => value::is_empty_string(to_string(v).expr),
                    _ => texpr(v).expr.is_null(),
                };
                Ok(Value::expr(if f == "isnotempty" { not(e) } else { e }, KType::Bool))
            }
            "isnull" | "isnotnull" => {
                let v = one(self)?;
                let e = match v.ty() {
                    t if t.is_stringy() => lit(false),
                    _ => texpr(v).expr.is_null(),
                };
                Ok(Value::expr(if f == "isnotnull" { not(e) } else { e }, KType::Bool))
            }
            "not" => {
                let v = one(self)?;
                Ok(Value::expr(not(as_bool(v, args[0].span)?), KType::Bool))
            }
            "column_ifexists" => {
                self.arity(e, f, args, 2, 2)?;
                let Some(col) = lit_str(&args[0]) else {
                    return Err(err(args[0].span, "column_ifexists() needs a constant column name"));
                };
                match rel.get(col) {
                    Some(v) => Ok(v.clone()),
                    None => self.scalar(rel, &args[1]),
                }
            }
            "format_datetime" => {
                self.arity(e, f, args, 2, 2)?;
                let v = self.scalar(rel, &args[0])?;
                let Some(fmt) = lit_str(&args[1]) else {
                    return Err(err(args[1].span, "format_datetime() needs a constant format"));
                };
                Ok(Value::expr(
                    call(&u.format_datetime, vec![convert(v, KType::DateTime).expr, lit(fmt)]),
                    KType::String,
                ))
            }
            "startofday" | "startofweek" | "startofmonth" | "startofyear" | "endofday" | "endofweek"
            | "endofmonth" | "endofyear" => {
                self.arity(e, f, args, 1, 2)?;
                let v = self.scalar(rel, &args[0])?;
                let offset = match args.get(1) {
                    Some(a) => lit_num(a).ok_or_else(|| err(a.span, "the offset must be a constant"))? as i64,
                    None => 0,
                };
                let unit = f.trim_start_matches("startof").trim_start_matches("endof");
                let dt = convert(v, KType::DateTime).expr;
                if f.starts_with("start") {
                    Ok(Value::expr(call(&u.start_of, vec![dt, lit(unit), lit(offset)]), KType::DateTime))
                } else {
                    // The last tick (100 ns) of the period.
                    let next = call(&u.start_of, vec![dt, lit(unit), lit(offset.saturating_add(1))]);
                    Ok(Value::expr(
                        value::datetime_from_nanos(value::nanos(next) - lit(100i64)),
                        KType::DateTime,
                    ))
                }
            }
            "datetime_part" => {
                self.arity(e, f, args, 2, 2)?;
                let Some(part) = lit_str(&args[0]) else {
                    return Err(err(args[0].span, "datetime_part() needs a constant part"));
                };
                let v = self.scalar(rel, &args[1])?;
                Ok(Value::expr(
                    call(&u.datetime_part, vec![lit(part), convert(v, KType::DateTime).expr]),
                    KType::Int,
                ))
                .map(|v| Value::Expr(convert(v, KType::Int)))
            }
            "getyear" | "getmonth" | "dayofmonth" | "dayofyear" | "hourofday" | "weekofyear"
            | "week_of_year" => {
                let v = one(self)?;
                let part = match f {
                    "getyear" => "year",
                    "getmonth" => "month",
                    "dayofmonth" => "day",
                    "dayofyear" => "dayofyear",
                    "hourofday" => "hour",
                    _ => "week_of_year",
                };
                let e2 = call(&u.datetime_part, vec![lit(part), convert(v, KType::DateTime).expr]);
                Ok(Value::expr(cast(e2, DataType::Int32), KType::Int))
            }
            "dayofweek" => {
                let v = one(self)?;
                let days = call(&u.datetime_part, vec![lit("dayofweek"), convert(v, KType::DateTime).expr]);
                Ok(Value::expr(
                    value::timespan_from_nanos(days * lit(86_400_000_000_000i64)),
                    KType::TimeSpan,
                ))
            }
            "datetime_add" => {
                self.arity(e, f, args, 3, 3)?;
                let Some(part) = lit_str(&args[0]) else {
                    return Err(err(args[0].span, "datetime_add() needs a constant period"));
                };
                let unit: i64 = match part.to_ascii_lowercase().as_str() {
                    "week" => 7 * 86_400_000_000_000,
                    "day" => 86_400_000_000_000,
                    "hour" => 3_600_000_000_000,
                    "minute" => 60_000_000_000,
                    "second" => 1_000_000_000,
                    "millisecond" => 1_000_000,
                    "microsecond" => 1_000,
                    "nanosecond" => 1,
                    _ => {
                        return Err(err(
                            args[0].span,
                            format!("not supported yet: datetime_add with period '{part}'"),
                        ));
                    }
                };
                let n = convert(self.scalar(rel, &args[1])?, KType::Long).expr;
                let dt = convert(self.scalar(rel, &args[2])?, KType::DateTime).expr;
                let offset = value::checked_nanos(n, DfOp::Multiply, lit(unit));
                Ok(Value::expr(
                    value::datetime_from_nanos(value::checked_nanos(value::nanos(dt), DfOp::Plus, offset)),
                    KType::DateTime,
                ))
            }
            "abs" | "sqrt" | "exp" | "log" | "log10" | "log2" | "ceiling" => {
                let v = one(self)?;
                let real = convert(v.clone(), KType::Real).expr;
                use datafusion::prelude as p;
                Ok(match f {
                    // The one long (or int) without an absolute value is null, not an error
                    // that stops the query (review s44).
                    "abs" if matches!(v.ty(), KType::Long | KType::Int) => {
                        let x = texpr(v.clone()).expr;
                        let min = if v.ty() == KType::Long { lit(i64::MIN) } else { lit(i32::MIN) };
                        let e = datafusion::logical_expr::when(x.clone().eq(min), value::null_of(v.ty()))
                            .otherwise(p::abs(x))
                            .map_err(internal)?;
                        Value::expr(e, v.ty())
                    }
                    "abs" if v.ty().is_numeric() => Value::expr(p::abs(texpr(v.clone()).expr), v.ty()),
                    // abs() of a timespan is a timespan (the abs() page; review 52b: a real
                    // number of ticks), null for the one without an absolute value.
                    // abs() of a timespan is a timespan (the abs() page; review 52b: a real
                    // number of ticks).
                    "abs" if v.ty() == KType::TimeSpan => abs_timespan(v.clone())?,
                    // DataFusion's sqrt fails the whole query on a negative number; Kusto
                    // (and IEEE 754, and this engine's log()) give NaN.
                    "sqrt" => Value::expr(
                        p::sqrt(
                            datafusion::logical_expr::when(real.clone().lt(lit(0.0)), lit(f64::NAN))
                                .otherwise(real)
                                .map_err(internal)?,
                        ),
                        KType::Real,
                    ),
                    "exp" => Value::expr(p::exp(real), KType::Real),
                    "log" => Value::expr(p::ln(real), KType::Real),
                    "log10" => Value::expr(p::log10(real), KType::Real),
                    "log2" => Value::expr(p::log2(real), KType::Real),
                    _ => Value::expr(p::ceil(real), KType::Real),
                })
            }
            "round" => {
                self.arity(e, f, args, 1, 2)?;
                let v = self.scalar(rel, &args[0])?;
                let digits = match args.get(1) {
                    Some(a) => lit_num(a).ok_or_else(|| err(a.span, "round() needs constant digits"))? as i64,
                    None => 0,
                };
                Ok(Value::expr(
                    datafusion::prelude::round(vec![convert(v, KType::Real).expr, lit(digits)]),
                    KType::Real,
                ))
            }
            "pow" => {
                self.arity(e, f, args, 2, 2)?;
                let v = self.args(rel, args)?;
                Ok(Value::expr(
                    datafusion::prelude::power(
                        convert(v[0].clone(), KType::Real).expr,
                        convert(v[1].clone(), KType::Real).expr,
                    ),
                    KType::Real,
                ))
            }
            "min_of" | "max_of" => {
                if args.len() < 2 {
                    return Err(err(s, format!("{f}() needs at least two arguments")));
                }
                let v = self.args(rel, args)?;
                let ty = v.iter().skip(1).fold(v[0].ty(), |a, x| {
                    let t = x.ty();
                    if a == t {
                        a
                    } else if a.is_numeric() && t.is_numeric() {
                        KType::Real
                    } else {
                        KType::String
                    }
                });
                let exprs: Vec<DfExpr> = v.into_iter().map(|x| convert(x, ty).expr).collect();
                Ok(Value::expr(if f == "min_of" { least(exprs) } else { greatest(exprs) }, ty))
            }
            "indexof" if args.len() > 2 => self.indexof_from(rel, e, args),
            "indexof" => {
                self.arity(e, f, args, 2, 2)?;
                let v = self.args(rel, args)?;
                let pos =
                    datafusion::prelude::strpos(to_string(v[0].clone()).expr, to_string(v[1].clone()).expr);
                Ok(Value::expr(cast(pos, DataType::Int64) - lit(1i64), KType::Long))
            }
            "reverse" => {
                let v = one(self)?;
                Ok(Value::expr(datafusion::prelude::reverse(to_string(v).expr), KType::String))
            }
            "trim" | "trim_start" | "trim_end" => {
                self.arity(e, f, args, 2, 2)?;
                let Some(re) = lit_str(&args[0]) else {
                    return Err(err(args[0].span, format!("{f}() needs a constant regex")));
                };
                let text = self.scalar(rel, &args[1])?;
                let pattern = match f {
                    "trim" => format!("^(?:{re})+|(?:{re})+$"),
                    "trim_start" => format!("^(?:{re})+"),
                    _ => format!("(?:{re})+$"),
                };
                regex::Regex::new(&pattern).map_err(|x| err(args[0].span, format!("invalid regex: {x}")))?;
                Ok(Value::expr(
                    call(&u.replace_regex, vec![to_string(text).expr, lit(pattern), lit("")]),
                    KType::String,
                ))
            }
            "gettype" => {
                let v = one(self)?;
                let name = match v.ty() {
                    KType::DynNative(Native::StrList) => "array",
                    KType::DynNative(Native::StrMap) => "dictionary",
                    KType::Dynamic => "dynamic",
                    t => t.name(),
                };
                Ok(Value::expr(lit(name), KType::String))
            }
            _ if is_aggregate(f) => Err(err(s, format!("{f}() is an aggregate: use it in summarize"))),
            // The rest of the known functions: planned there, or "not supported yet".
            _ if kql::is_known_function(f) => self.more_functions(rel, e, name, args),
            _ => {
                let mut e2 = err(name.span, format!("unknown function '{f}'"));
                if let Some(h) = kql::did_you_mean(f, kql::known_functions()) {
                    e2 = e2.with_help(format!("did you mean '{h}'?"));
                }
                Err(e2)
            }
        }
    }

    fn typeof_arg(&self, e: &Expr) -> R<KType> {
        if let ExprKind::Call { name, args } = &e.kind
            && name.name == "typeof"
            && let Some(ExprKind::Name(id)) = args.first().map(|a| &a.kind)
        {
            return KType::parse(&id.name).ok_or_else(|| err(id.span, format!("unknown type '{}'", id.name)));
        }
        Err(err(e.span, "expected typeof(type)"))
    }

    fn bin(&mut self, v: Value, size: Value, s: Span) -> R<Value> {
        let u = udfs();
        match (v.ty(), size.ty()) {
            (KType::DateTime | KType::DynNative(Native::DateTime), KType::TimeSpan) => {
                let e = call(&u.bin_datetime, vec![texpr(v).expr, value::nanos(texpr(size).expr)]);
                Ok(Value::expr(e, KType::DateTime))
            }
            (KType::TimeSpan, KType::TimeSpan) => {
                let e =
                    call(&u.bin_number, vec![value::nanos(texpr(v).expr), value::nanos(texpr(size).expr)]);
                Ok(Value::expr(value::timespan_from_nanos(e), KType::TimeSpan))
            }
            (a, b) if (a.is_numeric() || a.is_dynamic()) && b.is_numeric() => {
                let real = a == KType::Real || b == KType::Real || a.is_dynamic();
                let ty = if real { KType::Real } else { KType::Long };
                let e = call(&u.bin_number, vec![convert(v, ty).expr, convert(size, ty).expr]);
                Ok(Value::expr(e, ty))
            }
            (a, b) => Err(err(s, format!("bin() of a {a} by a {b} is not supported"))),
        }
    }

    fn parse_op(&mut self, rel: Rel, p: &kql::Parse) -> R<Rel> {
        let mut kind = "simple".to_owned();
        let mut flags: Option<(String, Span)> = None;
        for prm in &p.params {
            match (prm.name.name.as_str(), &prm.value.kind) {
                ("kind", ExprKind::Name(id)) => kind = id.name.to_ascii_lowercase(),
                ("flags", ExprKind::Name(id)) => flags = Some((id.name.clone(), prm.value.span)),
                ("flags", ExprKind::Literal(Literal::String(f))) => flags = Some((f.clone(), prm.value.span)),
                _ => {}
            }
        }
        if p.filter && kind == "relaxed" {
            return Err(err(p.expr.span, "parse-where takes kind=simple or kind=regex, not kind=relaxed"));
        }
        let regex_mode = kind == "regex";
        // Regex mode takes RE2's flags (`U` ungreedy, `i`, `m`, `s`), as the parse page says
        // (review 52b: they were ignored); `.` matches a newline only with `s`, as in RE2.
        let mut pattern = match (&flags, regex_mode) {
            (Some((f, span)), true) => {
                if f.is_empty() || !f.chars().all(|c| matches!(c, 'U' | 'i' | 'm' | 's')) {
                    return Err(err(*span, format!("parse flags are U, i, m and s, not '{f}'")));
                }
                format!("(?{f})^")
            }
            (None, true) => String::from("^"),
            // Kusto reads flags only in regex mode.
            (_, false) => String::from("(?s)^"),
        };
        let mut cols = Vec::new();
        for part in &p.pattern {
            match part {
                kql::ParsePart::Wildcard(_) => pattern.push_str(".*?"),
                kql::ParsePart::Literal(s, _) => {
                    if regex_mode {
                        pattern.push_str(s);
                    } else {
                        pattern.push_str(&regex::escape(s));
                    }
                }
                kql::ParsePart::Column { name, ty } => {
                    let ty = match ty {
                        Some(t) => KType::parse(&t.name)
                            .ok_or_else(|| err(t.span, format!("unknown type '{}'", t.name)))?,
                        None => KType::String,
                    };
                    // A number or a bool is matched by what can be one, as Kusto's parse
                    // translates it (`long` to digits), so `n:long *` takes the whole number,
                    // not the empty text a lazy group would (review s44: `parse RequestUri with *
                    // "limit=" lim:long *` gave null on every row).
                    // Relaxed lets a column that is not of its type match anything (and be null).
                    let typed = match ty {
                        KType::Long | KType::Int => Some(r"-?\d+"),
                        KType::Real => Some(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"),
                        KType::Bool => Some(r"(?i:true|false)"),
                        _ => None,
                    };
                    // Each column is a named group, so that groups in a regex literal do not
                    // shift the columns (review 52b); in regex mode a string is greedy, as the
                    // parse page's examples show (`U` makes it lazy).
                    let g = format!("__c{}", cols.len());
                    match typed {
                        Some(t) if kind == "relaxed" => pattern.push_str(&format!("(?P<{g}>{t}|.*?)")),
                        Some(t) => pattern.push_str(&format!("(?P<{g}>{t})")),
                        None if regex_mode => pattern.push_str(&format!("(?P<{g}>.*)")),
                        None => pattern.push_str(&format!("(?P<{g}>.*?)")),
                    }
                    cols.push((name.name.clone(), ty));
                }
            }
        }
        // Relaxed: the pattern need not reach the end of the text.
        if kind != "relaxed" {
            pattern.push('$');
        }
        let compiled = regex::Regex::new(&pattern)
            .map_err(|x| err(p.expr.span, format!("invalid parse pattern: {x}")))?;
        // The place of each column's group in the list of every group (the first is 0).
        let places: Vec<i64> = (0..cols.len())
            .map(|i| {
                let g = format!("__c{i}");
                compiled
                    .capture_names()
                    .position(|n| n == Some(g.as_str()))
                    .map(|at| at as i64 - 1)
                    .ok_or_else(|| internal("parse group"))
            })
            .collect::<R<_>>()?;
        let text = self.scalar(&rel, &p.expr)?;
        let groups = call(&udfs().parse_with, vec![to_string(text).expr, lit(pattern)]);
        let mut rel = rel;
        let computed = rel
            .compute(vec![("__parse".to_owned(), Value::expr(groups, KType::DynNative(Native::StrList)))])?;
        let list = texpr(computed.into_iter().next().ok_or_else(|| internal("parse"))?).expr;
        let mut items = Vec::new();
        let mut matched = list.clone().is_not_null();
        for ((name, ty), place) in cols.into_iter().zip(places) {
            let elem = Value::expr(
                call(&udfs().list_get, vec![list.clone(), lit(place)]),
                KType::DynNative(Native::Str),
            );
            let value = convert(elem, ty);
            // parse-where's strict match: a typed value must convert (a string always does).
            if ty != KType::String {
                matched = matched.and(value.expr.clone().is_not_null());
            }
            items.push((name, Value::Expr(value)));
        }
        if p.filter {
            rel = ops::filter(rel, matched)?;
        } else if kind != "relaxed" {
            // simple and regex match strictly: unless every typed column converts, none is set
            // (review s44: `b=xx` for a long left the other columns filled, as relaxed does).
            items = items
                .into_iter()
                .map(|(name, v)| {
                    let Value::Expr(te) = v else { return Ok((name, v)) };
                    let e = datafusion::logical_expr::when(matched.clone(), te.expr)
                        .otherwise(value::null_of(te.ty))
                        .map_err(internal)?;
                    Ok((name, Value::expr(e, te.ty)))
                })
                .collect::<R<Vec<_>>>()?;
        }
        ops::set_columns(rel, items)
    }

    /// `parse-kv expr as (key: type, …) with (…)`: by delimiters (`pair_delimiter`,
    /// `kv_delimiter`, `quote`) or by a `regex` of two groups; each key a new column, null (or
    /// `""` for a string) where the text does not hold it, its first value where it holds more.
    fn parse_kv(&mut self, rel: Rel, p: &kql::ParseKv) -> R<Rel> {
        let (mut pair, mut kv, mut quotes, mut regex) = (None, None, String::new(), String::new());
        for o in &p.options {
            let name = o.name.name.to_ascii_lowercase();
            let text = || {
                lit_str(&o.value)
                    .ok_or_else(|| err(o.value.span, format!("parse-kv's {name} must be a string constant")))
            };
            match name.as_str() {
                "pair_delimiter" => pair = Some(text()?.to_owned()),
                "kv_delimiter" => kv = Some(text()?.to_owned()),
                "quote" => {
                    let q: Vec<char> = text()?.chars().collect();
                    match q.as_slice() {
                        [c] => quotes.extend([*c, *c]),
                        [open, close] => quotes.extend([*open, *close]),
                        _ => {
                            return Err(err(
                                o.value.span,
                                "a quote is one character, or an opening and a closing one",
                            ));
                        }
                    }
                }
                "regex" => {
                    let r = text()?;
                    let re =
                        regex::Regex::new(r).map_err(|x| err(o.value.span, format!("invalid regex: {x}")))?;
                    if re.captures_len() != 3 {
                        return Err(err(
                            o.value.span,
                            "parse-kv's regex needs exactly two groups: the key and the value",
                        ));
                    }
                    regex = r.to_owned();
                }
                "escape" | "greedy" => {
                    return Err(err(o.name.span, format!("not supported yet: parse-kv's {name} option")));
                }
                _ => return Err(err(o.name.span, format!("unknown parse-kv option '{}'", o.name.name))),
            }
        }
        let (pair, kv) = match (pair, kv, regex.is_empty()) {
            (Some(pair), Some(kv), _) if !pair.is_empty() && !kv.is_empty() => (pair, kv),
            (None, None, false) => (String::new(), String::new()),
            (None, None, true) => {
                return Err(err(
                    p.expr.span,
                    "not supported yet: parse-kv without delimiters; give pair_delimiter and kv_delimiter, or a regex",
                ));
            }
            _ => {
                return Err(err(
                    p.expr.span,
                    "parse-kv needs both pair_delimiter and kv_delimiter, neither empty",
                ));
            }
        };
        let mut cols = Vec::new();
        for (name, ty) in &p.keys {
            let ty = match ty {
                Some(t) => {
                    KType::parse(&t.name).ok_or_else(|| err(t.span, format!("unknown type '{}'", t.name)))?
                }
                None => KType::String,
            };
            cols.push((name.name.clone(), ty));
        }
        let text = self.scalar(&rel, &p.expr)?;
        let mut a = vec![to_string(text).expr, lit(pair), lit(kv), lit(quotes), lit(regex)];
        a.extend(cols.iter().map(|(n, _)| lit(n.clone())));
        let mut rel = rel;
        let computed = rel.compute(vec![(
            "__parse_kv".to_owned(),
            Value::expr(call(&udfs().parse_kv, a), KType::DynNative(Native::StrList)),
        )])?;
        let list = texpr(computed.into_iter().next().ok_or_else(|| internal("parse-kv"))?).expr;
        let items = cols
            .into_iter()
            .enumerate()
            .map(|(i, (name, ty))| {
                let elem = Value::expr(
                    call(&udfs().list_get, vec![list.clone(), lit(i as i64)]),
                    KType::DynNative(Native::Str),
                );
                (name, Value::Expr(convert(elem, ty)))
            })
            .collect();
        ops::set_columns(rel, items)
    }

    /// The `by` keys of `summarize` or `make-series`, named as Kusto names them.
    fn group_keys(&mut self, rel: &Rel, by: &[NamedExpr]) -> R<Vec<(String, Value)>> {
        let mut keys = Vec::new();
        for ne in by {
            let v = self.scalar(rel, &ne.expr)?;
            let name = match &ne.name {
                Some(n) => n.name.clone(),
                None => self.unnamed_item(rel, &ne.expr),
            };
            keys.push((name, v));
        }
        Ok(keys)
    }

    fn summarize(&mut self, rel: Rel, aggregates: &[NamedExpr], by: &[NamedExpr]) -> R<Rel> {
        let keys = self.group_keys(&rel, by)?;
        let key_names: Vec<String> = keys.iter().map(|(n, _)| n.clone()).collect();
        let saved = std::mem::replace(&mut self.summarize_keys, key_names.clone());
        let out = self.summarize_by(rel, aggregates, keys, key_names);
        self.summarize_keys = saved;
        out
    }

    fn summarize_by(
        &mut self,
        rel: Rel,
        aggregates: &[NamedExpr],
        keys: Vec<(String, Value)>,
        key_names: Vec<String>,
    ) -> R<Rel> {
        let mut outs = Vec::new();
        // Aggregates inside larger expressions are computed under internal names first.
        let mut composite: Vec<(String, Expr)> = Vec::new();
        let mut final_order: Vec<String> = Vec::new();
        for ne in aggregates {
            match &ne.expr.kind {
                ExprKind::Call { name, args } if is_aggregate(&name.name) => {
                    let produced = self.aggregate(
                        &rel,
                        &ne.expr,
                        &name.name,
                        args,
                        ne.name.as_ref().map(|n| n.name.clone()),
                    )?;
                    final_order.extend(produced.iter().map(|a| a.name.clone()));
                    outs.extend(produced);
                }
                _ => {
                    let mut inner = Vec::new();
                    let rewritten = self.lift_aggregates(&rel, &ne.expr, &mut inner, &mut outs)?;
                    if inner.is_empty() {
                        // A known function this engine lacks (`percentile_tdigest`), or an
                        // unknown one, says so rather than that an aggregate is missing.
                        self.scalar(&rel, &ne.expr)?;
                        return Err(err(
                            ne.expr.span,
                            "summarize needs an aggregate function here (count(), avg(…), …)",
                        ));
                    }
                    let name = match &ne.name {
                        Some(n) => n.name.clone(),
                        None => self.column_n(),
                    };
                    final_order.push(name.clone());
                    composite.push((name, rewritten));
                }
            }
        }
        let out = ops::summarize(rel, keys, outs)?;
        if composite.is_empty() {
            return Ok(out);
        }
        let mut items: Vec<(String, Value)> = Vec::new();
        for k in &key_names {
            if let Some(v) = out.get(k) {
                items.push((k.clone(), v.clone()));
            }
        }
        for name in final_order {
            if let Some((_, e)) = composite.iter().find(|(n, _)| *n == name) {
                let v = self.scalar(&out, e)?;
                items.push((name, v));
            } else if let Some(v) = out.get(&name) {
                items.push((name, v.clone()));
            }
        }
        ops::project(out, items)
    }

    /// Replaces each aggregate call inside `e` by a reference to a new internal aggregate column.
    fn lift_aggregates(
        &mut self,
        rel: &Rel,
        e: &Expr,
        inner: &mut Vec<String>,
        outs: &mut Vec<AggOut>,
    ) -> R<Expr> {
        let mut e2 = e.clone();
        match &mut e2.kind {
            ExprKind::Call { name, args } if is_aggregate(&name.name) => {
                let internal = format!("__agg{}", outs.len());
                let mut produced = self.aggregate(rel, e, &name.name, args, Some(internal.clone()))?;
                produced.truncate(1);
                outs.extend(produced);
                inner.push(internal.clone());
                return Ok(Expr::new(ExprKind::Name(kql::Ident::new(internal, e.span)), e.span));
            }
            ExprKind::Call { args, .. } => {
                for a in args.iter_mut() {
                    *a = self.lift_aggregates(rel, a, inner, outs)?;
                }
            }
            ExprKind::Binary { left, right, .. } => {
                **left = self.lift_aggregates(rel, left, inner, outs)?;
                **right = self.lift_aggregates(rel, right, inner, outs)?;
            }
            ExprKind::Unary { operand, .. } => **operand = self.lift_aggregates(rel, operand, inner, outs)?,
            ExprKind::Between { expr, low, high, .. } => {
                **expr = self.lift_aggregates(rel, expr, inner, outs)?;
                **low = self.lift_aggregates(rel, low, inner, outs)?;
                **high = self.lift_aggregates(rel, high, inner, outs)?;
            }
            ExprKind::Member { base, .. } | ExprKind::Index { base, .. } => {
                **base = self.lift_aggregates(rel, base, inner, outs)?
            }
            _ => {}
        }
        Ok(e2)
    }

    fn aggregate(
        &mut self,
        rel: &Rel,
        e: &Expr,
        f: &str,
        args: &[Expr],
        explicit: Option<String>,
    ) -> R<Vec<AggOut>> {
        let s = e.span;
        let name = |default: String| explicit.clone().unwrap_or(default);
        let first = args.first();
        let arg = |p: &mut Self, i: usize| -> R<Value> {
            match args.get(i) {
                Some(a) => p.scalar(rel, a),
                None => Err(err(s, format!("{f}() needs more arguments"))),
            }
        };
        let pred = |p: &mut Self, i: usize| -> R<DfExpr> {
            let v = arg(p, i)?;
            as_bool(v, args[i].span)
        };
        // `avg(Verb)` converted each string to a number, giving a silent null; Kusto refuses it.
        let numeric_arg = |p: &mut Self, i: usize| -> R<Value> {
            let v = arg(p, i)?;
            match v.ty() {
                KType::String | KType::Guid | KType::Bool => Err(err(
                    args[i].span,
                    format!("{f}() needs a number, a datetime or a timespan, not a {}", v.ty()),
                )),
                _ => Ok(v),
            }
        };
        let numeric_input = |v: Value| -> NumericInput {
            match v.ty() {
                KType::DateTime | KType::DynNative(Native::DateTime) => (
                    value::nanos(texpr(v).expr),
                    KType::DateTime,
                    Some(value::datetime_from_nanos as fn(DfExpr) -> DfExpr),
                ),
                KType::TimeSpan => (
                    value::nanos(texpr(v).expr),
                    KType::TimeSpan,
                    Some(value::timespan_from_nanos as fn(DfExpr) -> DfExpr),
                ),
                KType::Real | KType::DynNative(Native::Real) => (texpr(v).expr, KType::Real, None),
                KType::Int | KType::Long | KType::DynNative(Native::Long) => {
                    (cast(texpr(v).expr, DataType::Int64), KType::Long, None)
                }
                _ => (convert(v, KType::Real).expr, KType::Real, None),
            }
        };
        let out = |n: String, expr: DfExpr, ty: KType, post: Option<fn(DfExpr) -> DfExpr>| AggOut {
            name: n,
            expr,
            ty,
            post,
            empty: None,
            empty_input: None,
        };
        // Kusto's "default values of aggregations": what `sum()` and its kin give when they
        // saw no value (review 52b: an empty input gave null).
        let zero_of = |ty: KType| -> Option<DfExpr> {
            match ty {
                KType::Long => Some(lit(0i64)),
                KType::Int => Some(lit(0i32)),
                KType::Real => Some(lit(0.0f64)),
                KType::TimeSpan => Some(value::timespan_from_nanos(lit(0i64))),
                _ => None,
            }
        };
        Ok(match f {
            "count" => {
                // `count(expr)` counts every row, nulls included, and is named `count_expr`
                // (the summarize page's examples; review 52b: it counted the non-null values).
                self.arity(e, f, args, 0, 1)?;
                if let Some(a) = first
                    && !matches!(a.kind, ExprKind::Wildcard)
                {
                    arg(self, 0)?;
                }
                vec![out(name(naming::aggregate(f, first)), count(lit(1i64)), KType::Long, None)]
            }
            "countif" => {
                self.arity(e, f, args, 1, 1)?;
                let p = pred(self, 0)?;
                let e2 = count(lit(1i64)).filter(p).build().map_err(internal)?;
                vec![out(name(naming::aggregate(f, first)), e2, KType::Long, None)]
            }
            "dcount" | "dcountif" | "count_distinct" | "count_distinctif" => {
                let v = ops::key_value(arg(self, 0)?);
                // The predicate masks the value (`CASE WHEN p THEN x END`, which count_distinct
                // skips as null) rather than filtering the aggregate: DataFusion's
                // `count_distinct(x) FILTER (WHERE p)` lost the DISTINCT and counted the rows.
                let x = if f.ends_with("if") {
                    let p = pred(self, 1)?;
                    datafusion::logical_expr::when(p, v.expr).end().map_err(internal)?
                } else {
                    v.expr
                };
                vec![out(name(naming::aggregate(f, first)), count_distinct(x), KType::Long, None)]
            }
            "sum" | "sumif" | "avg" | "avgif" => {
                let v = numeric_arg(self, 0)?;
                let (x, ty, post) = numeric_input(v);
                let is_avg = f.starts_with("avg");
                let base = if is_avg { avg(cast(x, DataType::Float64)) } else { sum(x) };
                let e2 = if f.ends_with("if") {
                    base.filter(pred(self, 1)?).build().map_err(internal)?
                } else {
                    base
                };
                let (rty, rpost) = match (is_avg, ty) {
                    (true, KType::DateTime | KType::TimeSpan) => (
                        ty,
                        post.map(|_| match ty {
                            KType::DateTime => {
                                (|e: DfExpr| value::datetime_from_nanos(cast(e, DataType::Int64)))
                                    as fn(DfExpr) -> DfExpr
                            }
                            _ => {
                                (|e: DfExpr| value::timespan_from_nanos(cast(e, DataType::Int64)))
                                    as fn(DfExpr) -> DfExpr
                            }
                        }),
                    ),
                    (true, _) => (KType::Real, None),
                    (false, _) => (ty, post),
                };
                let mut o = out(name(naming::aggregate(f, first)), e2, rty, rpost);
                // avg of an empty input divides 0 by 0: NaN, as the summarize page's example
                // shows; a group with no value keeps null (the page's table of defaults).
                if is_avg {
                    o.empty_input = (rty == KType::Real).then(|| lit(f64::NAN));
                } else {
                    o.empty = zero_of(rty);
                }
                vec![o]
            }
            "min" | "max" | "minif" | "maxif" => {
                let v = arg(self, 0)?;
                let t = texpr(ops::key_value(v).into_value());
                let ty = match t.ty {
                    KType::DynNative(Native::Str) => KType::String,
                    KType::DynNative(Native::Long) => KType::Long,
                    KType::DynNative(Native::DateTime) => KType::DateTime,
                    other => other,
                };
                let is_min = f.starts_with("min");
                let is_if = f.ends_with("if");
                let e2 = if t.ty == KType::Dynamic {
                    // The first value in Kusto's order of dynamics (numbers by value): `max()`
                    // of JSON texts compared `9.5` above `10`. The predicate masks the value
                    // (null sorts last) rather than filtering: DataFusion's ordered
                    // `first_value` with a FILTER ignored the order.
                    let t = match is_if {
                        true => {
                            let masked = datafusion::logical_expr::when(pred(self, 1)?, t.expr)
                                .end()
                                .map_err(internal)?;
                            TExpr::new(masked, t.ty)
                        }
                        false => t,
                    };
                    let order = ops::order_by(&t, is_min, false);
                    first_value(t.expr, order)
                } else {
                    let base = if is_min { min(t.expr) } else { max(t.expr) };
                    if is_if { base.filter(pred(self, 1)?).build().map_err(internal)? } else { base }
                };
                vec![out(name(naming::aggregate(f, first)), e2, ty, None)]
            }
            "stdev" | "variance" | "stdevif" | "varianceif" => {
                let v = numeric_arg(self, 0)?;
                let x = convert(v, KType::Real).expr;
                let base = if f.starts_with("stdev") { stddev(x) } else { var_sample(x) };
                let e2 = if f.ends_with("if") {
                    base.filter(pred(self, 1)?).build().map_err(internal)?
                } else {
                    base
                };
                let mut o = out(name(naming::aggregate(f, first)), e2, KType::Real, None);
                o.empty = Some(lit(0.0f64));
                vec![o]
            }
            "percentile" | "percentiles" => {
                if args.len() < 2 {
                    return Err(err(s, format!("{f}() needs a value and at least one percentile")));
                }
                let v = numeric_arg(self, 0)?;
                let (x, ty, post) = numeric_input(v);
                let mut outs = Vec::new();
                for a in &args[1..] {
                    let Some(pct) = lit_num(a) else {
                        return Err(err(a.span, "the percentile must be a constant"));
                    };
                    if !(0.0..=100.0).contains(&pct) {
                        return Err(err(a.span, "the percentile must be between 0 and 100"));
                    }
                    let default = format!(
                        "percentile_{}_{}",
                        first.and_then(naming::derived).unwrap_or_default(),
                        naming::number_part(pct)
                    );
                    let default = default.replace("percentile__", "percentile_");
                    let n = if f == "percentile" { name(default) } else { default };
                    outs.push(out(n, aggregates::percentile(pct).call(vec![x.clone()]), ty, post));
                }
                outs
            }
            "make_set" | "make_list" | "make_set_if" | "make_list_if" | "makeset" | "makelist" => {
                let v = arg(self, 0)?;
                let json = to_json(&v);
                let is_if = f.ends_with("_if");
                let max_ix = if is_if { 2 } else { 1 };
                let max_items = match args.get(max_ix) {
                    Some(a) => {
                        lit_num(a).ok_or_else(|| err(a.span, "the size limit must be a constant"))? as usize
                    }
                    None => 1_048_576,
                };
                let distinct = f.contains("set");
                let base = if distinct && matches!(v.ty(), KType::Dynamic | KType::DynNative(Native::StrList))
                {
                    // An array contributes its elements, as Kusto's "set from array column"
                    // example shows (review s50: a set of whole arrays came out).
                    aggregates::make_set_of_elements(max_items).call(vec![json])
                } else if !distinct && super::serial::is_serialized(rel) {
                    // The list keeps the serialized order (`sort by … | summarize make_list(…)`).
                    let position = cast(column(super::serial::INDEX), DataType::Int64);
                    aggregates::make_list_ordered(max_items).call(vec![json, position])
                } else {
                    aggregates::make_list(distinct, max_items).call(vec![json])
                };
                let e2 = if is_if { base.filter(pred(self, 1)?).build().map_err(internal)? } else { base };
                vec![out(name(naming::aggregate(f, first)), e2, KType::Dynamic, None)]
            }
            "tdigest" | "tdigest_merge" | "merge_tdigest" => {
                // Exact: the digest is the values with their counts (see udf::tdigest).
                let v = arg(self, 0)?;
                let merge = f != "tdigest";
                let input = if merge {
                    to_json(&v)
                } else {
                    if !matches!(
                        v.ty(),
                        KType::Int | KType::Long | KType::Real | KType::Dynamic | KType::DynNative(_)
                    ) {
                        return Err(err(
                            args[0].span,
                            format!("tdigest() takes numbers here, not a {}", v.ty()),
                        ));
                    }
                    convert(v, KType::Real).expr
                };
                let fname = if merge { "tdigest_merge" } else { "tdigest" };
                vec![out(
                    name(naming::aggregate(fname, first)),
                    crate::udf::tdigest::digest(merge).call(vec![input]),
                    KType::Dynamic,
                    Some(null_if_empty_array),
                )]
            }
            "hll" | "hll_if" | "hll_merge" => {
                // Exact: a sketch is the set of distinct values (a JSON array), and merging
                // sketches is their union; dcount_hll() counts it. The accuracy is ignored.
                let v = arg(self, 0)?;
                let json = to_json(&v);
                let base = if f == "hll_merge" {
                    aggregates::set_union(1_048_576).call(vec![json])
                } else {
                    aggregates::make_list(true, 1_048_576).call(vec![json])
                };
                let e2 =
                    if f == "hll_if" { base.filter(pred(self, 1)?).build().map_err(internal)? } else { base };
                vec![out(name(naming::aggregate(f, first)), e2, KType::Dynamic, Some(null_if_empty_array))]
            }
            "make_bag" | "make_bag_if" => {
                // make_bag(bag [, max]), make_bag_if(bag, predicate [, max]).
                let v = arg(self, 0)?;
                let json = to_json(&v);
                let is_if = f == "make_bag_if";
                let max_keys = match args.get(if is_if { 2 } else { 1 }) {
                    Some(a) => {
                        lit_num(a).ok_or_else(|| err(a.span, "the size limit must be a constant"))? as usize
                    }
                    None => 1_048_576,
                };
                let base = aggregates::make_bag(max_keys).call(vec![json]);
                let e2 = if is_if { base.filter(pred(self, 1)?).build().map_err(internal)? } else { base };
                vec![out(name(naming::aggregate(f, first)), e2, KType::Dynamic, None)]
            }
            "arg_max" | "arg_min" => {
                if args.len() < 2 {
                    return Err(err(
                        s,
                        format!("{f}() needs the expression to maximise and the columns to return"),
                    ));
                }
                let key = ops::key_value(arg(self, 0)?);
                let asc = f == "arg_min";
                // Kusto's order of the key's type (dynamic numbers by value, NaN beside nulls),
                // the key's own column the value of the row chosen.
                let order = ops::order_by(&key, asc, false);
                // Aggregates.cs: an unnamed expression is `max_` (`min_`) in first place,
                // `max_<key>_argN` after it.
                let short = if asc { "min" } else { "max" };
                let primary = naming::derived(&args[0]);
                let key_name = explicit
                    .clone()
                    .unwrap_or_else(|| primary.clone().unwrap_or_else(|| format!("{short}_")));
                let best = match key.ty {
                    KType::Dynamic | KType::Real | KType::DynNative(Native::Real) => {
                        first_value(key.expr.clone(), order.clone())
                    }
                    _ if asc => min(key.expr.clone()),
                    _ => max(key.expr.clone()),
                };
                let mut outs = vec![out(key_name.clone(), best, key.ty, None)];
                // `*` leaves out the column maximised, under its own name as well when the
                // result is named (`arg_max_x = arg_max(x, *)` has no `x` column in Kusto).
                let key_column = match &args[0].kind {
                    ExprKind::Name(id) => Some(id.name.as_str()),
                    _ => None,
                };
                let mut cols: Vec<(String, Value)> = Vec::new();
                for (i, a) in args.iter().enumerate().skip(1) {
                    if matches!(a.kind, ExprKind::Wildcard) {
                        for b in &rel.cols {
                            if b.name != key_name
                                && Some(b.name.as_str()) != key_column
                                && !self.summarize_keys.contains(&b.name)
                                && !cols.iter().any(|(n, _)| *n == b.name)
                            {
                                cols.push((b.name.clone(), b.value.clone()));
                            }
                        }
                    } else {
                        let v = self.scalar(rel, a)?;
                        let n = naming::derived(a).unwrap_or_else(|| {
                            format!("{short}_{}_arg{i}", primary.as_deref().unwrap_or_default())
                        });
                        cols.push((n, v));
                    }
                }
                for (n, v) in cols {
                    let t = ops::key_value(v);
                    outs.push(out(n, first_value(t.expr, order.clone()), t.ty, None));
                }
                outs
            }
            "anyif" | "take_anyif" => {
                self.arity(e, f, args, 2, 2)?;
                let t = ops::key_value(arg(self, 0)?);
                let e2 = first_value(t.expr, vec![]).filter(pred(self, 1)?).build().map_err(internal)?;
                // Kusto names `take_anyif(x, p)` after `x`, the deprecated `anyif` `anyif_x`.
                let default = match f {
                    "anyif" => naming::aggregate(f, first),
                    _ => naming::derived(&args[0]).unwrap_or_else(|| self.column_n()),
                };
                vec![out(name(default), e2, t.ty, None)]
            }
            "any" | "take_any" => {
                if args.is_empty() {
                    return Err(err(s, format!("{f}() needs at least one argument")));
                }
                let star = args.iter().any(|a| matches!(a.kind, ExprKind::Wildcard));
                // One column reference: a non-null, non-empty value when the group has one
                // (the take_any() page). Several expressions, or `*`: the values of one row.
                if args.len() == 1 && !star {
                    let t = ops::key_value(arg(self, 0)?);
                    let empty_last = match t.ty {
                        KType::String | KType::DynNative(Native::Str) => datafusion::logical_expr::when(
                            t.expr.clone().is_null().or(t.expr.clone().eq(lit(""))),
                            lit(1i64),
                        )
                        .otherwise(lit(0i64))
                        .map_err(internal)?,
                        _ => cast(t.expr.clone().is_null(), DataType::Int64),
                    };
                    let e2 = first_value(t.expr, vec![empty_last.sort(true, false)]);
                    // take_any(x) is named `x` (`any_arg0` for an expression without a name);
                    // the deprecated any(x) `any_x`.
                    let default = match f {
                        "any" => naming::aggregate(f, first),
                        _ => naming::derived(&args[0]).unwrap_or_else(|| "any_arg0".to_owned()),
                    };
                    return Ok(vec![out(name(default), e2, t.ty, None)]);
                }
                let prefix = if f == "take_any" { "any_" } else { "" };
                let mut cols: Vec<(String, Value)> = Vec::new();
                for (i, a) in args.iter().enumerate() {
                    if matches!(a.kind, ExprKind::Wildcard) {
                        // Every input column but the `by` keys and those already taken.
                        for b in &rel.cols {
                            if !self.summarize_keys.contains(&b.name)
                                && !cols.iter().any(|(n, _)| *n == b.name)
                            {
                                cols.push((b.name.clone(), b.value.clone()));
                            }
                        }
                    } else {
                        let v = self.scalar(rel, a)?;
                        let n = naming::derived(a).unwrap_or_else(|| format!("{prefix}arg{i}"));
                        if star && cols.iter().any(|(c, _)| *c == n) {
                            continue;
                        }
                        cols.push((n, v));
                    }
                }
                // An unordered first_value of each column, over the same rows in the same
                // order, takes every value from one row.
                let mut outs = Vec::new();
                for (i, (n, v)) in cols.into_iter().enumerate() {
                    let t = ops::key_value(v);
                    let n = match (i, &explicit) {
                        (0, Some(given)) => given.clone(),
                        _ => n,
                    };
                    outs.push(out(n, first_value(t.expr, vec![]), t.ty, None));
                }
                outs
            }
            other => return Err(err(s, format!("not supported yet: aggregate {other}()"))),
        })
    }
}

/// The absolute value of a timespan, null for the one without an absolute value.
#[inline(never)]
fn abs_timespan(v: Value) -> R<Value> {
    let n = value::nanos(texpr(v).expr);
    let e = datafusion::logical_expr::when(n.clone().eq(lit(i64::MIN)), value::null_of(KType::TimeSpan))
        .otherwise(value::timespan_from_nanos(datafusion::prelude::abs(n)))
        .map_err(internal)?;
    Ok(Value::expr(e, KType::TimeSpan))
}

/// A sketch (`hll()`, `tdigest()`) of no value is null in Kusto ("all others" of the summarize
/// page's default values), not an empty array.
fn null_if_empty_array(e: DfExpr) -> DfExpr {
    datafusion::prelude::nullif(e, lit("[]"))
}

trait IntoValue {
    fn into_value(self) -> Value;
}

impl IntoValue for TExpr {
    fn into_value(self) -> Value {
        Value::Expr(self)
    }
}

/// Whether a `union` is `kind=inner` (only the columns every leg has) rather than the default
/// `outer`. It was read as `outer` whatever it said (review s50). `isfuzzy`
/// changes nothing here: a leg this engine cannot plan is an error either way.
fn union_is_inner(u: &kql::Union) -> R<bool> {
    let mut inner = false;
    for p in &u.params {
        if p.name.name != "kind" {
            continue;
        }
        inner = match &p.value.kind {
            ExprKind::Name(id) if id.name == "inner" => true,
            ExprKind::Name(id) if id.name == "outer" => false,
            _ => return Err(err(p.value.span, "kind of union is inner or outer")),
        };
    }
    Ok(inner)
}

fn preview(names: &[String]) -> String {
    let shown: Vec<&str> = names.iter().take(12).map(String::as_str).collect();
    let more = names.len().saturating_sub(shown.len());
    if more > 0 { format!("{}, … ({more} more)", shown.join(", ")) } else { shown.join(", ") }
}

/// `x in (a, b, …)` (`!in` when `negated`) of values that are not dynamic, compared at their
/// common type.
fn in_scalars(x: Value, values: Vec<Value>, negated: bool) -> R<DfExpr> {
    if values.is_empty() {
        return Ok(lit(negated));
    }
    let target = values.iter().fold(None, |acc: Option<KType>, v| {
        let t = v.ty();
        Some(match acc {
            None => t,
            Some(a) if a == t => a,
            Some(a) if a.is_numeric() && t.is_numeric() => {
                if a == KType::Real || t == KType::Real {
                    KType::Real
                } else {
                    KType::Long
                }
            }
            Some(_) => KType::String,
        })
    });
    let target = match target {
        Some(t) if t.is_dynamic() => KType::String,
        Some(KType::Int) => KType::Long,
        Some(t) => t,
        None => KType::String,
    };
    let x = convert(x, target).expr;
    let list: Vec<DfExpr> = values.into_iter().map(|v| convert(v, target).expr).collect();
    let (x, list) = if matches!(target, KType::DateTime | KType::TimeSpan) {
        (value::nanos(x), list.into_iter().map(value::nanos).collect())
    } else {
        (x, list)
    };
    if value::nullable(target) {
        return value::in_list_of_nullable(x, list, negated);
    }
    Ok(value::in_list(x, list, negated))
}
