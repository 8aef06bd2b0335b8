//! Which of a store's files a filter can skip, from the stages and verbs its manifest counts
//! per file.
//!
//! The store writes the events of a request's first stages, watches, lists, creates and
//! deletes, and all other events to files of their own (`audit::store::writer::FileClass`). A `where` whose terms
//! compare `Stage` or `Verb` with a literal, as every check query's `where Stage !in
//! ("RequestReceived", "ResponseStarted")` or `where Verb == "list"` does, then needs only the
//! files where some row can pass: the others are left out of the scan, and a term every row of
//! the files kept passes is not run at all. Nothing else changes: a term is dropped only when
//! the counts prove it true for every row read, and a file only when they prove it false for
//! every row of the file. Stores written before the classes existed hold every class in each
//! file: nothing is skipped there, and the query runs as written.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Mutex;

use datafusion::common::ScalarValue;
use datafusion::common::tree_node::TreeNode;
use datafusion::logical_expr::utils::{conjunction, split_conjunction};
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder};

use audit::col;

/// The values one column takes in a file, from the manifest's counts.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Values {
    texts: BTreeSet<String>,
    nulls: bool,
}

impl Values {
    /// From a manifest count map, where `(none)` counts the nulls (or, who knows, rows whose
    /// value is that text: both are assumed).
    fn of(counts: &std::collections::BTreeMap<String, u64>) -> Values {
        let mut texts = BTreeSet::new();
        let mut nulls = false;
        for (k, n) in counts {
            if *n == 0 {
                continue;
            }
            if k == audit::store::NONE_KEY {
                nulls = true;
            }
            texts.insert(k.clone());
        }
        Values { texts, nulls }
    }
}

/// One data file of the store.
#[derive(Debug, Clone)]
pub(crate) struct StoreFile {
    pub(crate) path: PathBuf,
    stages: Values,
    verbs: Values,
    /// Its events' times, from its Parquet footer (none known when it has no statistics).
    pub(crate) times: crate::bounds::TimeBounds,
}

impl StoreFile {
    pub(crate) fn new(path: PathBuf, counts: &audit::store::Counts) -> StoreFile {
        let times = crate::bounds::TimeBounds::of_parquet_files(std::slice::from_ref(&path));
        StoreFile { path, stages: Values::of(&counts.stages), verbs: Values::of(&counts.verbs), times }
    }
}

/// What a term is for every row of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Truth {
    /// True for every row.
    Always,
    /// False or null for every row: no row passes.
    Never,
    /// Depends on the row.
    Maybe,
}

/// The store's files, and the scans over parts of them planned so far.
pub(crate) struct StoreFiles {
    files: Vec<StoreFile>,
    /// The scans planned so far; the first reads every file.
    bases: Mutex<Vec<Base>>,
    /// Plans the base of a part of the files, as a table of the name given.
    plan_base: Box<PlanBase>,
}

/// A scan of some of the files: plans are told apart by their table names.
struct Base {
    /// The files read (indices, ascending).
    files: Vec<usize>,
    table: String,
    plan: LogicalPlan,
}

/// Plans the base scan of some files as a table of the name given.
type PlanBase = dyn Fn(&[&StoreFile], &str) -> datafusion::error::Result<LogicalPlan> + Send + Sync;

impl std::fmt::Debug for StoreFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreFiles").field("files", &self.files.len()).finish_non_exhaustive()
    }
}

impl StoreFiles {
    /// `base` scans every file as `table`; `plan_base(files, name)` plans a scan of `files` as
    /// a table of that name.
    pub(crate) fn new(
        files: Vec<StoreFile>,
        table: &str,
        base: LogicalPlan,
        plan_base: impl Fn(&[&StoreFile], &str) -> datafusion::error::Result<LogicalPlan> + Send + Sync + 'static,
    ) -> StoreFiles {
        let all = Base { files: (0..files.len()).collect(), table: table.to_owned(), plan: base };
        StoreFiles { files, bases: Mutex::new(vec![all]), plan_base: Box::new(plan_base) }
    }

    /// `plan` filtered by `pred`, reading only the files where some row can pass `pred` and
    /// without the terms of `pred` every row of those files passes. `None` when `plan` is not
    /// a scan of files (with filters on it) or nothing can be skipped.
    pub(crate) fn prune(
        &self,
        plan: &LogicalPlan,
        pred: &Expr,
    ) -> datafusion::error::Result<Option<(LogicalPlan, Option<Expr>)>> {
        // The filters over the scan, outermost first, and the scan.
        let mut filters = Vec::new();
        let mut leaf = plan;
        while let LogicalPlan::Filter(f) = leaf {
            filters.push(f.predicate.clone());
            leaf = f.input.as_ref();
        }
        let mut bases = self.bases.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(current) = bases.iter().find(|b| b.plan == *leaf) else {
            return Ok(None);
        };
        let terms = split_conjunction(pred);
        let kept: Vec<usize> =
            current.files.iter().copied().filter(|&i| can_pass(&terms, &self.files[i])).collect();
        // No file would be read: leave the query as it is (it finds no row either way).
        if kept.is_empty() {
            return Ok(None);
        }
        let remaining: Vec<Expr> = terms
            .iter()
            .filter(|t| !kept.iter().all(|&i| truth(t, &self.files[i]) == Truth::Always))
            .map(|t| (*t).clone())
            .collect();
        if kept.len() == current.files.len() && remaining.len() == terms.len() {
            return Ok(None);
        }
        let base = match bases.iter().find(|b| b.files == kept) {
            Some(b) => b.plan.clone(),
            None => {
                let table = format!("{}_{}", bases[0].table, bases.len());
                let files: Vec<&StoreFile> = kept.iter().map(|&i| &self.files[i]).collect();
                let plan = (self.plan_base)(&files, &table)?;
                bases.push(Base { files: kept, table, plan: plan.clone() });
                plan
            }
        };
        let mut out = base;
        for f in filters.into_iter().rev() {
            out = LogicalPlanBuilder::from(out).filter(f)?.build()?;
        }
        Ok(Some((out, conjunction(remaining))))
    }

    /// How many of the files the scans of `plan` read, and how many there are.
    pub(crate) fn files_read(&self, plan: &LogicalPlan) -> (usize, usize) {
        let bases = self.bases.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut read = BTreeSet::new();
        let _ = plan.apply(|node| {
            if let LogicalPlan::TableScan(scan) = node
                && let Some(base) = bases.iter().find(|b| b.table == scan.table_name.table())
            {
                read.extend(base.files.iter().copied());
            }
            Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
        });
        (read.len(), self.files.len())
    }
}

/// Whether some row of `file` can pass every term: some stage of the file passes all the
/// terms on the stage, and some verb all the terms on the verb (the counts do not say which
/// stage goes with which verb, so any pair is taken as possible).
fn can_pass(terms: &[&Expr], file: &StoreFile) -> bool {
    // A time term no event of the file meets (the file's times wholly outside the window).
    if terms.iter().any(|t| file.times.term_truth(t) == Some(false)) {
        return false;
    }
    let tests: Vec<(String, Test)> = terms.iter().filter_map(|t| comparison(t)).collect();
    [(col::STAGE, &file.stages), (col::VERB, &file.verbs)].into_iter().all(|(name, values)| {
        let hidden = crate::event::hidden(name);
        let on: Vec<&Test> = tests.iter().filter(|(c, _)| *c == hidden).map(|(_, t)| t).collect();
        let passes = |v: Option<&str>| on.iter().all(|t| t(v));
        values.texts.iter().any(|v| passes(Some(v))) || (values.nulls && passes(None))
    })
}

/// What `term` is for every row of `file`: a comparison of the stage or the verb with text
/// literals (`kql_str_eq`, `kql_str_ne`, `in`), as the planner writes `Stage != "x"`,
/// `Verb == "list"` or `Verb in (…)`; any other term may be true or false.
fn truth(term: &Expr, file: &StoreFile) -> Truth {
    match file.times.term_truth(term) {
        Some(true) => return Truth::Always,
        Some(false) => return Truth::Never,
        None => {}
    }
    let Some((column, test)) = comparison(term) else { return Truth::Maybe };
    let values = if column == crate::event::hidden(col::STAGE) {
        &file.stages
    } else if column == crate::event::hidden(col::VERB) {
        &file.verbs
    } else {
        return Truth::Maybe;
    };
    let mut seen = BTreeSet::new();
    for v in &values.texts {
        seen.insert(test(Some(v)));
    }
    if values.nulls {
        seen.insert(test(None));
    }
    match (seen.contains(&true), seen.contains(&false)) {
        (true, false) => Truth::Always,
        (false, _) => Truth::Never,
        (true, true) => Truth::Maybe,
    }
}

/// The test a row's value (`None` for null) passes: `true`, or `false` for false and null.
type Test = Box<dyn Fn(Option<&str>) -> bool>;

/// The hidden column a term compares and its test, when the term is one this module reads.
fn comparison(term: &Expr) -> Option<(String, Test)> {
    match term {
        Expr::ScalarFunction(f) => {
            let name = f.func.name();
            let equal = if name == crate::udf::udfs().str_eq.name() {
                true
            } else if name == crate::udf::udfs().str_ne.name() {
                false
            } else {
                return None;
            };
            let [Expr::Column(c), lit, Expr::Literal(ScalarValue::Boolean(Some(nulls_empty)), _)] =
                f.args.as_slice()
            else {
                return None;
            };
            let text = text(lit)?;
            let nulls_empty = *nulls_empty;
            let test: Test = Box::new(move |v: Option<&str>| match v {
                Some(v) => (v == text) == equal,
                // Null is the empty string when `nulls_empty`, else the answer is null.
                None => nulls_empty && (text.is_empty() == equal),
            });
            Some((c.name.clone(), test))
        }
        Expr::InList(list) => {
            // `kql_empty_if_null(column)`: null is the empty string.
            let (column, nulls_empty) = match list.expr.as_ref() {
                Expr::Column(c) => (c.name.clone(), false),
                Expr::ScalarFunction(f) if f.func.name() == crate::udf::udfs().empty_if_null.name() => {
                    match f.args.as_slice() {
                        [Expr::Column(c)] => (c.name.clone(), true),
                        _ => return None,
                    }
                }
                _ => return None,
            };
            let items: Vec<String> = list.list.iter().map(text).collect::<Option<_>>()?;
            let negated = list.negated;
            let test: Test = Box::new(move |v: Option<&str>| {
                let v = match v {
                    Some(v) => v,
                    None if nulls_empty => "",
                    None => return false,
                };
                items.iter().any(|i| i == v) != negated
            });
            Some((column, test))
        }
        _ => None,
    }
}

/// A text literal.
fn text(e: &Expr) -> Option<String> {
    match e {
        Expr::Literal(
            ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)) | ScalarValue::LargeUtf8(Some(s)),
            _,
        ) => Some(s.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::logical_expr::{in_list, lit};

    use crate::event::hcol;
    use crate::udf::{call, empty_if_null, udfs};

    fn file(stages: &[&str], verbs: &[&str]) -> StoreFile {
        let mut counts = audit::store::Counts::default();
        for s in stages {
            counts.stages.insert((*s).to_owned(), 1);
        }
        for v in verbs {
            counts.verbs.insert((*v).to_owned(), 1);
        }
        StoreFile::new(PathBuf::from("f"), &counts)
    }

    fn ne(column: &str, text: &str, nulls_empty: bool) -> Expr {
        call(&udfs().str_ne, vec![hcol(column), lit(text), lit(nulls_empty)])
    }

    fn eq(column: &str, text: &str, nulls_empty: bool) -> Expr {
        call(&udfs().str_eq, vec![hcol(column), lit(text), lit(nulls_empty)])
    }

    /// A file from before the classes holds every stage and verb: it is read whenever any of
    /// its rows can pass, and a file can be left out only when no stage (or no verb) of it
    /// passes all the terms on that column together.
    #[test]
    fn a_file_is_left_out_only_when_no_value_passes_every_term_on_its_column() {
        let first = file(&["RequestReceived", "ResponseStarted"], &["get", "watch"]);
        let mixed = file(&["ResponseStarted", "ResponseComplete"], &["get", "watch"]);
        let lists = file(&["ResponseComplete"], &["list"]);
        let not_first = [ne(col::STAGE, "RequestReceived", true), ne(col::STAGE, "ResponseStarted", true)];
        let terms: Vec<&Expr> = not_first.iter().collect();
        // Each term alone passes some row of `first`; together, none.
        assert_eq!(truth(terms[0], &first), Truth::Maybe);
        assert_eq!(truth(terms[1], &first), Truth::Maybe);
        assert!(!can_pass(&terms, &first));
        assert!(can_pass(&terms, &mixed));
        assert!(can_pass(&terms, &lists));
        let list = eq(col::VERB, "list", true);
        let with_list: Vec<&Expr> = not_first.iter().chain([&list]).collect();
        assert!(!can_pass(&with_list, &mixed));
        assert!(can_pass(&with_list, &lists));
        // A term on another column never leaves a file out.
        let other = eq(col::USER_AGENT, "nobody", true);
        assert!(can_pass(&[&other], &lists));
    }

    #[test]
    fn a_term_is_proven_only_by_every_value_of_the_file_nulls_included() {
        let complete = file(&["ResponseComplete"], &["get", "update"]);
        let started = file(&["ResponseStarted"], &["watch"]);
        let with_nulls = file(&["ResponseComplete", audit::store::NONE_KEY], &["get"]);
        let not_started = ne(col::STAGE, "ResponseStarted", true);
        assert_eq!(truth(&not_started, &complete), Truth::Always);
        assert_eq!(truth(&not_started, &started), Truth::Never);
        // A null stage is "" to KQL: not "ResponseStarted".
        assert_eq!(truth(&not_started, &with_nulls), Truth::Always);
        // Without that rule a null answers null, which no filter keeps.
        assert_eq!(truth(&ne(col::STAGE, "ResponseStarted", false), &with_nulls), Truth::Maybe);
        assert_eq!(truth(&eq(col::STAGE, "", true), &with_nulls), Truth::Maybe);
        assert_eq!(truth(&eq(col::STAGE, "", true), &complete), Truth::Never);
        assert_eq!(truth(&eq(col::VERB, "get", true), &complete), Truth::Maybe);
        assert_eq!(truth(&eq(col::VERB, "watch", true), &started), Truth::Always);
        // Another column proves nothing.
        assert_eq!(truth(&eq(col::USER_AGENT, "x", true), &started), Truth::Maybe);
        // `in` over the column, or over the column with nulls as "".
        let writes = in_list(empty_if_null(hcol(col::VERB)), vec![lit("get"), lit("update")], false);
        assert_eq!(truth(&writes, &complete), Truth::Always);
        assert_eq!(truth(&writes, &started), Truth::Never);
        let not_reads = in_list(hcol(col::VERB), vec![lit("get"), lit("list"), lit("watch")], true);
        assert_eq!(truth(&not_reads, &started), Truth::Never);
        assert_eq!(truth(&not_reads, &complete), Truth::Maybe);
    }
}
