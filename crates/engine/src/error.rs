//! Errors of the engine: one variant per phase, each a person can act on.

use std::ops::Range;

/// A planning error at a place in the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    /// What is wrong, in one line.
    pub message: String,
    /// Byte range in the query text, when known.
    pub span: Option<Range<usize>>,
    /// A hint, e.g. `did you mean 'UserAgent'?`.
    pub help: Option<String>,
}

impl PlanError {
    /// An error at a span.
    pub fn at(span: Option<Range<usize>>, message: impl Into<String>) -> PlanError {
        PlanError { message: message.into(), span, help: None }
    }

    /// Adds a hint.
    pub fn with_help(mut self, help: impl Into<String>) -> PlanError {
        self.help = Some(help.into());
        self
    }
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if let Some(h) = &self.help {
            write!(f, " ({h})")?;
        }
        Ok(())
    }
}

impl std::error::Error for PlanError {}

/// Everything that can go wrong opening data or running a query.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The query is not valid KQL.
    #[error("{message}")]
    Parse {
        /// The parser's message.
        message: String,
        /// Where, in the query text.
        span: Option<Range<usize>>,
        /// A hint, e.g. `did you mean `where`?`.
        help: Option<String>,
    },
    /// The query is valid KQL but names something unknown or mixes types.
    #[error("{0}")]
    Plan(PlanError),
    /// Valid KQL that this engine does not run yet (`mv-apply`, `evaluate`, …).
    #[error("not supported yet: {what}")]
    Unsupported {
        /// The construct.
        what: String,
        /// Where, in the query text.
        span: Option<Range<usize>>,
        /// What to write instead, where something close runs.
        help: Option<String>,
    },
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] audit::store::StoreError),
    /// Input files could not be read.
    #[error("{0}")]
    Input(String),
    /// DataFusion failed while running the plan.
    #[error("query failed: {0}")]
    Execution(String),
    /// A bug: the planner built something DataFusion rejects.
    #[error("internal error (please report it): {0}")]
    Internal(String),
}

impl EngineError {
    /// The span in the query text the error points at, if any.
    pub fn span(&self) -> Option<Range<usize>> {
        match self {
            EngineError::Parse { span, .. } | EngineError::Unsupported { span, .. } => span.clone(),
            EngineError::Plan(p) => p.span.clone(),
            _ => None,
        }
    }

    /// The hint, if any.
    pub fn help(&self) -> Option<&str> {
        match self {
            EngineError::Plan(p) => p.help.as_deref(),
            EngineError::Parse { help, .. } | EngineError::Unsupported { help, .. } => help.as_deref(),
            _ => None,
        }
    }

    /// The error as a person reads it: message, `origin:line:col`, the query line and a caret
    /// under the spot, and the hint (the kql crate's diagnostic format). `origin` names the
    /// query's file, or e.g. `<query>`.
    pub fn render(&self, query: &str, origin: &str) -> String {
        let message = match self {
            EngineError::Plan(p) => p.message.clone(),
            other => other.to_string(),
        };
        match self.span() {
            Some(span) => kql::render_diagnostic(
                query,
                origin,
                kql::Span::new(span.start, span.end),
                &message,
                self.help(),
            ),
            None => match self.help() {
                Some(h) => format!("error: {message}\n  = help: {h}\n"),
                None => format!("error: {message}\n"),
            },
        }
    }
}

impl From<PlanError> for EngineError {
    fn from(e: PlanError) -> Self {
        EngineError::Plan(e)
    }
}

impl From<datafusion::error::DataFusionError> for EngineError {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        use datafusion::error::DataFusionError as D;
        // Also when a summary computed for several queries (crate::reuse) carried it as text.
        let exhausted = matches!(e.find_root(), D::ResourcesExhausted(_))
            || e.to_string().contains("Resources exhausted");
        if exhausted {
            return EngineError::Execution(format!(
                "out of memory: the query needed more than the engine's memory limit even after \
                 spilling what it could to disk: narrow it (a shorter time range, fewer or coarser \
                 groups) or raise {} (e.g. 8G). {}",
                crate::memory::MEMORY_LIMIT_ENV,
                strip_context(&e)
            ));
        }
        match e {
            D::Plan(m) => EngineError::Internal(m),
            D::SchemaError(..) => EngineError::Internal(e.to_string()),
            other => EngineError::Execution(strip_context(&other)),
        }
    }
}

/// DataFusion's message without its "Execution error: " style prefixes, each said once: an
/// error carried through several layers (an engine error inside DataFusion's, Parquet's inside
/// DataFusion's) repeats them ("query failed: query failed: Parquet error: Parquet error: …").
/// A file path DataFusion's object store wrote without its leading `/` gets it back.
fn strip_context(e: &datafusion::error::DataFusionError) -> String {
    tidy_message(&e.to_string())
}

fn tidy_message(text: &str) -> String {
    const PREFIXES: [&str; 4] = ["Execution error: ", "External error: ", "Arrow error: ", "query failed: "];
    let mut rest = text;
    while let Some(r) = PREFIXES.iter().find_map(|p| rest.strip_prefix(p)) {
        rest = r;
    }
    let mut out = rest.to_owned();
    for repeated in ["Parquet error: ", "External error: ", "Execution error: ", "Arrow error: "] {
        let twice = repeated.repeat(2);
        while out.contains(&twice) {
            out = out.replace(&twice, repeated);
        }
    }
    absolute_paths(&out)
}

/// `for file dev/shm/s/data/…` (object store paths have no leading `/`) as
/// `for file /dev/shm/s/data/…`, when that file exists.
fn absolute_paths(text: &str) -> String {
    const AT: &str = "for file ";
    let mut out = String::with_capacity(text.len() + 2);
    let mut rest = text;
    while let Some(i) = rest.find(AT) {
        let (head, tail) = rest.split_at(i + AT.len());
        out.push_str(head);
        let end = tail.find([':', ' ', ',']).unwrap_or(tail.len());
        let path = &tail[..end];
        if cfg!(unix)
            && !path.is_empty()
            && !path.starts_with('/')
            && std::path::Path::new(&format!("/{path}")).exists()
        {
            out.push('/');
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_store_error_says_each_prefix_once_and_names_the_file_by_its_full_path() {
        let dir = std::env::temp_dir().canonicalize().expect("temp dir");
        let file = dir.join(format!("engine-error-test-{}.parquet", std::process::id()));
        std::fs::write(&file, b"x").expect("write");
        let rel = file.display().to_string().trim_start_matches('/').to_owned();
        let raw = format!(
            "External error: query failed: Parquet error: Parquet error: Failed to fetch metadata for file {rel}: \
             Parquet error: Parquet error: Invalid Parquet file. Corrupt footer"
        );
        let tidy = tidy_message(&raw);
        let _ = std::fs::remove_file(&file);
        assert_eq!(
            tidy,
            format!(
                "Parquet error: Failed to fetch metadata for file {}: Parquet error: Invalid Parquet file. Corrupt footer",
                file.display()
            )
        );
        let e = EngineError::Execution(tidy);
        assert!(!e.to_string().contains("query failed: query failed"), "{e}");
    }

    #[test]
    fn plan_errors_render_with_a_caret_and_help() {
        let q = "AKSAudit\n| where Usr == 1";
        let start = q.find("Usr").expect("present");
        let e = EngineError::Plan(
            PlanError::at(Some(start..start + 3), "unknown column 'Usr'").with_help("did you mean 'User'?"),
        );
        let out = e.render(q, "<query>");
        assert!(out.starts_with("error: unknown column 'Usr'\n"), "{out}");
        assert!(out.contains("<query>:2:9"), "{out}");
        assert!(out.contains("  |         ^^^\n"), "{out}");
        assert!(out.contains("= help: did you mean 'User'?"), "{out}");
    }
}
