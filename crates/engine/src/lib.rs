//! KQL on Apache DataFusion over audit events: the `KubeAudit`, `AKSAudit`, `AKSAuditAdmin`
//! and `AzureDiagnostics` tables, KQL → logical plans, KQL functions, `render` chart data.
//!
//! ```no_run
//! use engine::{Engine, QueryOptions, Now};
//! let engine = Engine::open_store(std::path::Path::new("store"))?;
//! let result = engine.query(
//!     "AKSAudit | summarize count() by UserAgent | top 10 by count_",
//!     &QueryOptions { now: Now::Latest, ..Default::default() },
//! )?;
//! for batch in &result.batches {
//!     println!("{} rows", batch.num_rows());
//! }
//! # Ok::<(), engine::EngineError>(())
//! ```
//!
//! The engine is synchronous: it runs DataFusion on its own small Tokio runtime, so it must
//! not be called from inside another Tokio runtime's worker thread.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use chrono::{DateTime, Utc};
use datafusion::catalog::TableProvider;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::datasource::{MemTable, provider_as_source};
use datafusion::execution::context::SessionContext;
use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::{LogicalPlan, LogicalPlanBuilder};
use datafusion::prelude::SessionConfig;

pub mod bounds;
pub mod chart;
pub mod error;
pub mod event;
mod files;
pub mod format;
pub mod input;
pub mod kvalue;
pub mod memory;
pub mod plan;
mod reuse;
pub mod tables;
pub mod types;
pub mod udf;

pub use error::{EngineError, PlanError};
pub use types::KType;

/// The oldest and newest event times.
pub type TimeRange = (DateTime<Utc>, DateTime<Utc>);

/// The times an audit event can carry: from Kubernetes' first commit (2014-06-06) to a day
/// after the wall clock, in whole seconds (a clock a little ahead is possible; a year ahead is
/// not). `diagnose`'s default window and `--now latest` leave the others out.
pub fn possible_times() -> TimeRange {
    use chrono::SubsecRound;
    let began = DateTime::<Utc>::from_timestamp(1_402_012_800, 0).unwrap_or(DateTime::<Utc>::MIN_UTC);
    (began, (Utc::now() + chrono::Duration::days(1)).trunc_subsecs(0))
}

/// What `now()` means in a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Now {
    /// The wall clock when the query starts.
    #[default]
    Wall,
    /// A fixed instant (`--now 2024-01-01T10:00:00Z`).
    At(DateTime<Utc>),
    /// The newest event's time in the data (`--now latest`), at a possible time (see
    /// [`possible_times`]) when any event has one.
    Latest,
}

impl Now {
    /// Parses `--now`: `latest`, `wall` or a datetime that starts with its four-digit year
    /// (RFC 3339 or ISO 8601; one without a zone is UTC). KQL's `datetime()` also reads
    /// `11/03/2025`, month first as Kusto does; on the command line that silently took a
    /// day-first date for another month (docs review 51, item 1.3), so such forms are refused.
    pub fn parse(s: &str) -> Option<Now> {
        match s.trim() {
            "latest" => Some(Now::Latest),
            "wall" | "now" => Some(Now::Wall),
            other => {
                let year_first = other.len() > 5
                    && other.as_bytes()[..4].iter().all(u8::is_ascii_digit)
                    && other.as_bytes()[4] == b'-';
                if !year_first {
                    return None;
                }
                kvalue::parse_datetime(other).map(|n| Now::At(DateTime::from_timestamp_nanos(n)))
            }
        }
    }
}

/// Options of one query.
#[derive(Debug, Clone, Default)]
pub struct QueryOptions {
    /// What `now()` is.
    pub now: Now,
    /// The query's filters keep a small part of the events it reads (the slow requests, one
    /// client's, the failures): they run inside the Parquet reader, which then decodes the
    /// other columns only for the rows that pass. The answer is the same either way; a filter
    /// that keeps most rows costs more there than it saves (docs/performance.md).
    pub few_rows: bool,
}

/// A `render` request: the visualisation and its properties.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderSpec {
    /// `timechart`, `linechart`, `columnchart`, `barchart`, `piechart`, `table`, …
    pub kind: String,
    /// The `with (title = …)` property.
    pub title: Option<String>,
    /// The `with (xtitle = …)` property.
    pub xtitle: Option<String>,
    /// The `with (ytitle = …)` property.
    pub ytitle: Option<String>,
    /// The `with (ycolumns = …)` property.
    pub ycolumns: Vec<String>,
    /// The `with (series = …)` property.
    pub series: Vec<String>,
    /// The `with (xcolumn = …)` property.
    pub xcolumn: Option<String>,
}

/// One result column: its name and KQL type.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultColumn {
    /// The KQL column name.
    pub name: String,
    /// The KQL type.
    pub ty: KType,
}

/// The rows of a query.
#[derive(Debug, Clone)]
pub struct QueryResult {
    /// The Arrow schema of `batches` (field names are the KQL column names).
    pub schema: SchemaRef,
    /// The rows.
    pub batches: Vec<RecordBatch>,
    /// The KQL columns, in order (`dynamic` columns are JSON text in the batches).
    pub columns: Vec<ResultColumn>,
    /// The query's `render`, if it ended with one.
    pub render: Option<RenderSpec>,
    /// Things the user should know about the result (e.g. a time filter removed every row).
    pub notices: Vec<String>,
    /// The `now()` the query used.
    pub now: DateTime<Utc>,
}

impl QueryResult {
    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// The name of the table holding the canonical events.
const EVENTS: &str = "__events";

/// A DataFusion session over a set of audit events.
pub struct Engine {
    ctx: SessionContext,
    runtime: tokio::runtime::Runtime,
    base: LogicalPlan,
    bounds: bounds::TimeBounds,
    /// A store's files, which filters on the stage or verb may skip (see [`files`]).
    files: Option<files::StoreFiles>,
    /// The summaries queries have computed, for the queries that start the same way.
    summaries: reuse::Summaries,
    /// The Azure categories `AzureDiagnostics` shows the events under.
    categories: tables::Categories,
    /// A store's manifest counts of all its events (see [`Engine::store_totals`]).
    totals: Option<audit::store::Counts>,
    /// Why there are no events to read, for an engine made for queries that read none (see
    /// [`Engine::without_events`]).
    no_events: Option<String>,
    /// The store directory, for an engine over a store.
    store_dir: Option<PathBuf>,
    /// The store's damaged data files, once a query failed reading it and every page of its
    /// files was read to find them (see [`Engine::query`]).
    damage: std::sync::Mutex<Option<Vec<audit::store::DamagedFile>>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

fn session() -> Result<SessionContext, EngineError> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut config = SessionConfig::new().with_target_partitions(threads).with_information_schema(false);
    // Read Parquet strings as views (see `view_schema`); every KQL function reads Utf8,
    // LargeUtf8 and Utf8View alike.
    config.options_mut().execution.parquet.schema_force_view_types = true;
    // Filters run after decoding, not inside the Parquet reader: the checks' filters keep most
    // rows, and pushed into the reader they cost more in row selections than they saved in
    // decoding (`diagnose` on the demo store, 8.8 M events: 18–22 s of CPU with them pushed
    // down, 15–18 s without; docs/performance.md). Batches of 16 Ki rows halve the per-batch
    // work of the fourteen check queries against the default 8 Ki at a few MB more.
    config.options_mut().execution.parquet.pushdown_filters = false;
    // No statistics gathered from every file's footer while a query is planned: the queries
    // skip files by time and by the manifest's counts, and nothing read them (they were 6% of
    // the CPU of a `diagnose`; docs/performance.md, session 9).
    config.options_mut().execution.collect_statistics = false;
    let config = config.with_batch_size(16 * 1024);
    // Operators that can spill (aggregations, sorts) do so past the limit, to the system's
    // temporary directory, each keeping an even share of it (a greedy pool let the first take
    // it all, and the next could neither allocate nor spill); the others stop the query with a
    // message saying so. The five largest consumers are named in that message.
    let pool = TrackConsumersPool::new(
        FairSpillPool::new(memory::memory_limit()?),
        NonZeroUsize::MIN.saturating_add(4),
    );
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(pool))
        .build_arc()
        .map_err(|e| EngineError::Internal(format!("cannot set up the query memory pool: {e}")))?;
    Ok(SessionContext::new_with_config_rt(config, runtime))
}

/// The canonical schema with its top-level strings as views: read from Parquet, a view points
/// into the page or dictionary it came from instead of copying the string.
fn view_schema() -> arrow::datatypes::SchemaRef {
    let schema = audit::canonical_schema();
    let fields: Vec<arrow::datatypes::FieldRef> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            arrow::datatypes::DataType::Utf8 => {
                Arc::new(f.as_ref().clone().with_data_type(arrow::datatypes::DataType::Utf8View))
            }
            _ => f.clone(),
        })
        .collect();
    Arc::new(arrow::datatypes::Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// A Parquet table over some of the store's files.
fn listing_table(files: &[&files::StoreFile]) -> Result<Arc<dyn TableProvider>, EngineError> {
    let mut urls = Vec::with_capacity(files.len());
    for f in files {
        let url = ListingTableUrl::parse(f.path.to_string_lossy().as_ref())
            .map_err(|e| EngineError::Internal(format!("{}: {e}", f.path.display())))?;
        urls.push(url);
    }
    let options = ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .with_schema(view_schema());
    Ok(Arc::new(ListingTable::try_new(config)?))
}

/// The scan every table starts from: `table` as `name`, its columns renamed to their hidden
/// names.
fn base_plan(name: &str, table: Arc<dyn TableProvider>) -> datafusion::error::Result<LogicalPlan> {
    let scan = LogicalPlanBuilder::scan(name, provider_as_source(table), None)?.build()?;
    let exprs: Vec<_> = scan
        .schema()
        .columns()
        .into_iter()
        .map(|c| {
            let hidden = event::hidden(&c.name);
            datafusion::logical_expr::Expr::Column(c).alias(hidden)
        })
        .collect();
    LogicalPlanBuilder::from(scan).project(exprs)?.build()
}

fn runtime() -> Result<tokio::runtime::Runtime, EngineError> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("engine")
        // The main thread's 8 MiB rather than tokio's 2 MiB: DataFusion evaluates and plans
        // expressions recursively on these threads, and a long KQL expression that the parser
        // accepts (it stops at its own stack budget, measured on the main thread) must not
        // overflow here. Only address space is reserved; pages are used as touched.
        .thread_stack_size(8 << 20)
        .build()
        .map_err(|e| EngineError::Internal(format!("cannot start the query runtime: {e}")))
}

impl Engine {
    /// An engine over the committed Parquet files of the store at `dir`.
    pub fn open_store(dir: &Path) -> Result<Engine, EngineError> {
        // A missing or cut data file is named here, with the store, rather than by DataFusion
        // in the middle of a query (one small read per file). A commit that replaced files
        // since the manifest was read is not damage: the new manifest is read (review s51).
        let (store, checked) = audit::store::Store::open_checked(dir, audit::store::FileCheck::Tail)?;
        if checked.is_err() {
            // Damaged: every damaged file named, the footers too.
            store.verify(audit::store::FileCheck::Footer)?;
        }
        let mut files = Vec::with_capacity(store.manifest().files.len());
        for f in &store.manifest().files {
            let path = dir.join(&f.path);
            let abs = std::fs::canonicalize(&path)
                .map_err(|source| audit::store::StoreError::Io { path: path.clone(), source })?;
            files.push(files::StoreFile::new(abs, &f.counts));
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        if files.is_empty() {
            return Engine::from_batches(vec![]);
        }
        let all: Vec<&files::StoreFile> = files.iter().collect();
        let table = listing_table(&all)?;
        // Each file's own bounds were read with it (for skipping the files a time filter
        // excludes); the store's are theirs merged.
        let bounds = bounds::TimeBounds::merged(files.iter().map(|f| f.times));
        if bounds == bounds::TimeBounds::default() {
            // The footers were read for the bounds and one may not have parsed: name it.
            store.verify(audit::store::FileCheck::Footer)?;
        }
        let mut engine = Engine::with_table(table, bounds)?;
        engine.store_dir = Some(dir.to_path_buf());
        let totals = store.manifest().totals();
        engine.categories =
            tables::Categories::of(totals.events, &totals.categories, &store.manifest().azure_categories());
        engine.totals = Some(totals);
        let plan_base = |part: &[&files::StoreFile], name: &str| -> datafusion::error::Result<LogicalPlan> {
            let table =
                listing_table(part).map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
            base_plan(name, table)
        };
        engine.files = Some(files::StoreFiles::new(files, EVENTS, engine.base.clone(), plan_base));
        Ok(engine)
    }

    /// An engine with no events, for queries that read none (`print`, `datatable`, `range`):
    /// a query that names a table of events fails there, with `why` (the store that does not
    /// exist) as its message.
    pub fn without_events(why: impl Into<String>) -> Result<Engine, EngineError> {
        let mut engine = Engine::from_batches(vec![])?;
        engine.no_events = Some(why.into());
        Ok(engine)
    }

    /// Why this engine has no events, when it was made [`Engine::without_events`].
    pub(crate) fn no_events(&self) -> Option<&str> {
        self.no_events.as_deref()
    }

    /// An engine over canonical batches held in memory (`--input` files, tests, checks).
    pub fn from_batches(batches: Vec<RecordBatch>) -> Result<Engine, EngineError> {
        let schema = audit::canonical_schema();
        for b in &batches {
            if b.schema().fields() != schema.fields() {
                return Err(EngineError::Internal("a batch does not have the canonical schema".into()));
            }
        }
        let bounds = bounds::TimeBounds::of_batches(&batches);
        let categories = tables::Categories::of_batches(&batches);
        // Strings as views, as a store is read: one plan shape whatever the events came from.
        let views = view_schema();
        // Spread the rows over partitions so aggregation uses every core.
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let mut partitions: Vec<Vec<RecordBatch>> = vec![vec![]; threads.max(1)];
        for (i, b) in batches.into_iter().enumerate() {
            let columns = b
                .columns()
                .iter()
                .zip(views.fields())
                .map(|(c, f)| arrow::compute::cast(c, f.data_type()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| EngineError::Internal(format!("cannot view the strings of a batch: {e}")))?;
            let b = RecordBatch::try_new(views.clone(), columns)
                .map_err(|e| EngineError::Internal(format!("cannot view the strings of a batch: {e}")))?;
            partitions[i % threads.max(1)].push(b);
        }
        let table = MemTable::try_new(views, partitions)?;
        let mut engine = Engine::with_table(Arc::new(table), bounds)?;
        engine.categories = categories;
        Ok(engine)
    }

    fn with_table(table: Arc<dyn TableProvider>, bounds: bounds::TimeBounds) -> Result<Engine, EngineError> {
        let ctx = session()?;
        let runtime = runtime()?;
        let base = base_plan(EVENTS, table)?;
        Ok(Engine {
            ctx,
            runtime,
            base,
            bounds,
            files: None,
            summaries: reuse::Summaries::default(),
            categories: tables::Categories::BOTH,
            totals: None,
            no_events: None,
            store_dir: None,
            damage: std::sync::Mutex::new(None),
        })
    }

    /// The time range of the events (by `TimeGenerated`), or `None` when there are none.
    pub fn time_range(&self) -> Result<Option<TimeRange>, EngineError> {
        plan::walk::time_range(self)
    }

    /// What the store's manifest counts of every event of `AKSAudit` (events, stages, verbs,
    /// the range of `TimeGenerated` and the events without one), for an engine over a store:
    /// answers that would otherwise read every file. `None` over events held in memory.
    pub fn store_totals(&self) -> Option<&audit::store::Counts> {
        self.totals.as_ref()
    }

    /// Whether filters run inside the Parquet reader, which then decodes the other columns
    /// only for the rows that pass (off by default, see `session`): worth it when the queries
    /// that follow keep a small part of the events, such as a one-hour window over a day.
    pub fn set_filter_pushdown(&self, on: bool) {
        self.ctx.state_ref().write().config_mut().options_mut().execution.parquet.pushdown_filters = on;
    }

    /// Runs a KQL query.
    ///
    /// A query over a store that fails reading a data file (a page damaged on disk, whose file
    /// has the size and footer the store wrote, so opening it did not tell) fails with
    /// [`audit::store::StoreError::Damaged`] naming the file: every page of the store's files
    /// is read once to find it (review s53, item 1: every check "could not run" with a Parquet
    /// message and no file named).
    pub fn query(&self, kql: &str, options: &QueryOptions) -> Result<QueryResult, EngineError> {
        plan::walk::run(self, kql, options).map_err(|e| self.with_damage_named(e))
    }

    /// As [`Engine::query`], the rows handed to `sink` batch by batch as they come, never held
    /// (see [`plan::walk::run_streamed`]): for output written row by row.
    pub fn query_streamed(
        &self,
        kql: &str,
        options: &QueryOptions,
        sink: plan::walk::BatchSink<'_>,
    ) -> Result<QueryResult, EngineError> {
        plan::walk::run_streamed(self, kql, options, sink).map_err(|e| self.with_damage_named(e))
    }

    /// `e`, or the store's damage when `e` is a failure to read it and a data file is damaged.
    fn with_damage_named(&self, e: EngineError) -> EngineError {
        let (EngineError::Execution(text), Some(dir)) = (&e, &self.store_dir) else { return e };
        let reading =
            ["arquet", "decompress", "buffer", "zstd", "Zstd", "snappy", "Snappy", "thrift", "page"];
        if !reading.iter().any(|w| text.contains(w)) {
            return e;
        }
        match self.store_damage_of(dir) {
            Some(damage) => EngineError::Store(damage),
            None => e,
        }
    }

    /// The store's damage, as [`audit::store::StoreError::Damaged`], found by reading every
    /// page of its files the first time it is asked after a failed read.
    fn store_damage_of(&self, dir: &Path) -> Option<audit::store::StoreError> {
        let mut damage = self.damage.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let store = audit::store::Store::open(dir).ok()?;
        let files = damage.get_or_insert_with(|| store.check_files(audit::store::FileCheck::Pages));
        (!files.is_empty()).then(|| audit::store::StoreError::Damaged {
            dir: dir.to_path_buf(),
            files: files.clone(),
            total: store.manifest().files.len(),
        })
    }

    /// The damage a failed query found in the store's data files (see [`Engine::query`]), if
    /// any: a run that turned query failures into findings (`diagnose`) fails with it instead.
    pub fn store_damage(&self) -> Option<audit::store::StoreError> {
        let found = self.damage.lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_some();
        if !found {
            return None;
        }
        self.store_damage_of(self.store_dir.as_deref()?)
    }

    /// The optimised DataFusion plan of a query, as text (for tests and `--explain`).
    pub fn explain(&self, kql: &str, options: &QueryOptions) -> Result<String, EngineError> {
        plan::walk::explain(self, kql, options)
    }

    pub(crate) fn ctx(&self) -> &SessionContext {
        &self.ctx
    }

    pub(crate) fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    pub(crate) fn summaries(&self) -> &reuse::Summaries {
        &self.summaries
    }

    /// How many summaries this engine keeps for the queries that start the same way.
    pub fn summaries_kept(&self) -> usize {
        self.summaries.kept()
    }

    pub(crate) fn base(&self) -> &LogicalPlan {
        &self.base
    }

    /// Also shows the events under the categories `read` counts (events per Azure category
    /// as read, before duplicates were dropped: see [`input::Input::categories`]).
    pub fn with_categories_read(mut self, read: &std::collections::BTreeMap<String, u64>) -> Engine {
        let has = |c: &str| read.get(c).is_some_and(|n| *n > 0);
        self.categories.audit |= has("kube-audit");
        self.categories.admin |= has("kube-audit-admin");
        self
    }

    /// The Azure categories `AzureDiagnostics` shows the events under.
    pub(crate) fn categories(&self) -> tables::Categories {
        self.categories
    }

    /// `plan` filtered by `pred` over fewer of the store's files, and `pred` without the terms
    /// every row of those passes (see [`files`]); `None` when nothing can be skipped.
    pub(crate) fn prune_files(
        &self,
        plan: &LogicalPlan,
        pred: &datafusion::logical_expr::Expr,
    ) -> datafusion::error::Result<Option<(LogicalPlan, Option<datafusion::logical_expr::Expr>)>> {
        match &self.files {
            Some(files) => files.prune(plan, pred),
            None => Ok(None),
        }
    }

    /// How many of the store's files the scans of `plan` read, and how many there are; `None`
    /// for an engine over batches.
    pub(crate) fn files_read(&self, plan: &LogicalPlan) -> Option<(usize, usize)> {
        self.files.as_ref().map(|f| f.files_read(plan))
    }

    /// What the events' times let a time filter assume (see [`bounds`]).
    pub(crate) fn time_bounds(&self) -> &bounds::TimeBounds {
        &self.bounds
    }
}
