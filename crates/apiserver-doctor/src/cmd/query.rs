//! `apiserver-doctor query`: run a KQL query over the store or over files.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use engine::format::{self, OutputFormat};
use engine::{Engine, Now, QueryOptions};

use super::StoreArg;

/// Arguments of `apiserver-doctor query`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  apiserver-doctor query --now latest \\
    'AKSAudit | summarize count() by UserAgent | top 10 by count_'
  apiserver-doctor query --input audit.log -f latency.kql --chart latency.svg
  echo 'KubeAudit | count' | apiserver-doctor query --input audit.log

Tables: KubeAudit, AKSAudit, AKSAuditAdmin, AzureDiagnostics. \
`apiserver-doctor query --kql-reference` prints the KQL supported.

Memory: a query's operators hold up to APISERVER_DOCTOR_MEMORY_LIMIT (bytes, or a number with K, M, G or \
T, 1024-based, e.g. 4G; default half the memory the process may use, at least 1 GiB). Past it, aggregations \
and sorts spill to temporary files and go on; a query that still needs more stops with a message saying so.")]
pub struct Args {
    /// The query (else -f FILE, else standard input).
    #[arg(value_name = "KQL")]
    pub query: Option<String>,

    /// Print the reference of the KQL supported (tables, columns, operators, functions) as
    /// Markdown, and exit.
    #[arg(long, conflicts_with_all = ["query", "file"])]
    pub kql_reference: bool,

    /// Read the query from a file.
    #[arg(short = 'f', long = "file", value_name = "FILE", conflicts_with = "query")]
    pub file: Option<PathBuf>,

    #[command(flatten)]
    pub store: StoreArg,

    /// Query audit log files directly instead of the store (any input format; directories are
    /// read recursively). Repeat it for several paths: `--input a.log --input b.log`; one
    /// value per flag, so the query after it is never taken for a path. Up to 256 MiB is held in
    /// memory; more is read through the cached store `diagnose` uses (bounded memory, reused by
    /// the next query over the same files; APISERVER_DOCTOR_IN_MEMORY_MAX sets the limit in bytes).
    /// Formats: those `apiserver-doctor ingest --help` lists.
    #[arg(long, value_name = "PATH", action = clap::ArgAction::Append)]
    pub input: Vec<PathBuf>,

    /// With --input: keep the request and response bodies (`RequestObject`, `ResponseObject`),
    /// which are dropped otherwise, as `ingest` drops them; they can hold Secrets. Input over
    /// the in-memory limit is then read into a private temporary store removed when the query
    /// ends, never into the cache.
    #[arg(long, requires = "input")]
    pub keep_bodies: bool,

    /// What now() is: `latest` (the newest event, passing over any stamped more than a day
    /// after the wall clock), a datetime (year first, e.g. 2025-03-11T09:30:00Z; one without
    /// a zone is UTC), or the wall clock (the default). Unlike `diagnose`, whose window ends at the newest event unless --now is given.
    #[arg(long, value_name = "TIME|latest", allow_hyphen_values = true)]
    pub now: Option<String>,

    /// Output format.
    #[arg(short = 'o', long = "output", value_name = "FORMAT", default_value = "table", value_parser = ["table", "csv", "json", "ndjson"])]
    pub output: String,

    /// Write the chart of a `render` to this file: `.svg` or `.png`.
    #[arg(long, value_name = "FILE")]
    pub chart: Option<PathBuf>,

    /// Print the optimised DataFusion plan instead of running the query (over a store, with the
    /// number of its data files the query reads).
    #[arg(long)]
    pub explain: bool,
}

/// Runs `apiserver-doctor query`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.kql_reference {
        let mut out = super::stdout();
        out.write_all(KQL_REFERENCE.as_bytes())?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(path) = &args.chart {
        chart_format(path)?;
    }
    let (query, origin) = match (&args.query, &args.file) {
        (Some(q), _) => (q.clone(), "<query>".to_owned()),
        (None, Some(f)) => {
            let q = std::fs::read_to_string(f)
                .with_context(|| format!("{}: cannot read the query", f.display()))?;
            (q, f.display().to_string())
        }
        (None, None) => {
            // Standard input is read once: as the events or as the query, not both (review s40:
            // `echo Q | query --input -` read the query, then no events from the empty stream).
            if args.input.iter().any(|p| p.as_os_str() == "-") {
                anyhow::bail!(
                    "no query: --input - reads the events from standard input, so the query cannot come from it \
                     too; pass the query as an argument or with -f FILE"
                );
            }
            if std::io::stdin().is_terminal() {
                anyhow::bail!("no query: pass it as an argument, with -f FILE, or on standard input");
            }
            let mut q = String::new();
            std::io::stdin().read_to_string(&mut q).context("reading the query from standard input")?;
            (q, "<stdin>".to_owned())
        }
    };
    let now = match &args.now {
        None => Now::Wall,
        Some(s) => Now::parse(s).with_context(|| {
            format!(
                "--now {s}: expected `latest` or a datetime such as 2024-01-01T10:00:00Z (year first; a \
                 time without a zone is UTC)"
            )
        })?,
    };
    let format = OutputFormat::parse(&args.output).unwrap_or(OutputFormat::Table);
    let engine = open(&args)?;
    let options = QueryOptions { now, ..Default::default() };
    if args.explain {
        return match engine.explain(&query, &options) {
            Ok(plan) => {
                let mut out = super::stdout();
                writeln!(out, "{plan}")?;
                out.flush()?;
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprint!("{}", e.render(&query, &origin));
                Ok(ExitCode::from(2))
            }
        };
    }
    // CSV and JSON into a file or a pipe are written as the rows come, never held: a query
    // returning every event held them all (review s56: 1.5 GB for one file's hour). A table
    // (aligned on all its rows), a chart, and a terminal (which draws a `render` under the rows)
    // take the whole result.
    if engine::format::streams(format) && args.chart.is_none() && !std::io::stdout().is_terminal() {
        return streamed(&engine, &query, &origin, &options, format);
    }
    let result = match engine.query(&query, &options) {
        Ok(r) => r,
        Err(e) => {
            eprint!("{}", e.render(&query, &origin));
            return Ok(ExitCode::from(2));
        }
    };
    for notice in &result.notices {
        eprintln!("note: {notice}");
    }
    let chart = result.render.as_ref().and_then(|spec| engine::chart::chart(&result, spec));
    if let Some(c) = &chart
        && (args.chart.is_some() || std::io::stdout().is_terminal())
        && let Some(note) = charts::ChartKind::drawn_instead(&c.kind)
    {
        eprintln!("note: {note}");
    }
    // The file asked for is written before the rows: a reader of standard output that stops
    // early (`| head`) must not cost it (review 27, kql §8: the chart was never written).
    if let (Some(path), Some(chart)) = (&args.chart, &chart) {
        charts_file(chart, path)?;
        eprintln!("wrote {}", path.display());
    }
    let mut out = super::stdout();
    format::write(&result, format, &mut out)?;
    out.flush()?;
    match (&args.chart, chart, &result.render) {
        (Some(_), Some(_), _) => {}
        (Some(path), None, Some(spec)) => {
            // The user asked for a file and gets none: a failure, whatever the table says
            // (docs review 27 §10: this exited 0, and a script went on without its chart).
            // Review s56: `render timepivot` was told it needed a number column it had.
            let why = match spec.kind.as_str() {
                "table" | "card" => "`table` and `card` are not charts".to_owned(),
                k if !engine::chart::draws(k) => {
                    format!("this tool does not draw `{k}`; it draws {}", engine::chart::drawn_kinds())
                }
                _ => "a chart needs a number column to draw, and the result has none".to_owned(),
            };
            anyhow::bail!(
                "--chart {}: `render {}` gives no chart here ({why}); nothing written",
                path.display(),
                spec.kind
            );
        }
        (Some(path), None, None) => {
            anyhow::bail!(
                "--chart {}: the query has no `render` (end it with `| render timechart`, say), so there is no \
                 chart to write; nothing written",
                path.display()
            );
        }
        (None, Some(chart), _) if std::io::stdout().is_terminal() => {
            // On a terminal the chart is drawn under the table, as Kusto shows it.
            writeln!(out, "\n{}", charts::text(&chart, 100, 20))?;
        }
        (None, _, _) => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs the query with its rows written to standard output in `format` as they come; the notes
/// follow them. A failure to write (a closed pipe: `| head`) stops the query and is returned as
/// the I/O error it is, so that it is told apart from the query's own failure.
fn streamed(
    engine: &Engine,
    query: &str,
    origin: &str,
    options: &QueryOptions,
    format: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let mut stdout = super::stdout();
    // Standard output is line-buffered: a write (a system call) per row, each a switch away
    // from the threads running the query, cost a fifth more time than holding the rows.
    let mut out = std::io::BufWriter::with_capacity(1 << 16, &mut stdout);
    let mut write_error: Option<std::io::Error> = None;
    let result = {
        let mut writer = engine::format::RowWriter::new(format, &mut out);
        let mut sink = |columns: &[engine::ResultColumn], b: &arrow::array::RecordBatch| {
            writer.batch(columns, b).map_err(|e| {
                let stop = engine::EngineError::Execution(format!("writing the rows: {e}"));
                write_error = Some(e);
                stop
            })
        };
        let result = engine.query_streamed(query, options, &mut sink);
        match result {
            Ok(r) => writer.finish(&r.columns).map(|()| Ok(r)),
            Err(e) => Ok(Err(e)),
        }
    };
    if let Some(e) = write_error {
        return Err(e.into());
    }
    match result? {
        Ok(r) => {
            out.flush()?;
            for notice in &r.notices {
                eprintln!("note: {notice}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            out.flush()?;
            eprint!("{}", e.render(query, origin));
            Ok(ExitCode::from(2))
        }
    }
}

/// `--input` files bigger than this (gzip and zstd files count 8 times their size) are read
/// through the cached store `diagnose` uses — bounded memory, and a second query over the same
/// files skips the reading — instead of being held in memory. `APISERVER_DOCTOR_IN_MEMORY_MAX`
/// (bytes) overrides it. Held in memory, input takes about 1.2 times its size (a 1.07 GB file
/// peaked at 1.28 GB of RSS), while the cached store reads a 268 MB file as fast (0.53 s against
/// 0.55 s) in 250 MB instead of 351 MB, and the next query over it starts at once.
const IN_MEMORY_MAX_BYTES: u64 = 256 << 20;

/// The estimated uncompressed size of the `--input` files (stdin counts as 0).
fn input_bytes(paths: &[std::path::PathBuf]) -> u64 {
    let files = audit::read::list_inputs(paths).unwrap_or_default();
    files
        .iter()
        .filter_map(|f| {
            let len = std::fs::metadata(f).ok()?.len();
            let compressed = f.extension().is_some_and(|e| e == "gz" || e == "zst");
            Some(if compressed { len.saturating_mul(8) } else { len })
        })
        .sum()
}

/// The input size above which `--input` is read through a temporary store, from the value of
/// `APISERVER_DOCTOR_IN_MEMORY_MAX` (bytes). A value that is not a number is said, not silently
/// replaced by the default (docs review 27 §10: `=abc` read as if unset).
fn in_memory_max(value: Option<&str>) -> u64 {
    let Some(v) = value else { return IN_MEMORY_MAX_BYTES };
    // Bytes, or a size with K, M, G or T as APISERVER_DOCTOR_MEMORY_LIMIT takes it (review s40:
    // `1K` was refused here and taken there); 0 reads every input through a store.
    if v.trim() == "0" {
        return 0;
    }
    match engine::memory::parse_size(v) {
        Some(n) => n as u64,
        None => {
            eprintln!(
                "warning: APISERVER_DOCTOR_IN_MEMORY_MAX={v:?} is not a size (bytes, or a number with K, M, G or T, \
                 1024-based); using the default, {IN_MEMORY_MAX_BYTES}"
            );
            IN_MEMORY_MAX_BYTES
        }
    }
}

fn open(args: &Args) -> anyhow::Result<Engine> {
    if args.input.is_empty() {
        let dir = args.store.dir();
        return match super::check_store_dir(&dir, &args.store.named()) {
            Ok(()) => Engine::open_store(&dir).map_err(anyhow::Error::from),
            // No store: a query that reads no table (`print`, `datatable`, `range`) still runs;
            // one that names a table fails there, saying the store does not exist.
            Err(e)
                if std::fs::symlink_metadata(&dir)
                    .is_err_and(|m| m.kind() == std::io::ErrorKind::NotFound) =>
            {
                Engine::without_events(e.to_string()).map_err(anyhow::Error::from)
            }
            Err(e) => Err(e),
        };
    }
    let limit = in_memory_max(std::env::var("APISERVER_DOCTOR_IN_MEMORY_MAX").ok().as_deref());
    let from_stdin = args.input.iter().any(|p| p.as_os_str() == "-");
    let size = input_bytes(&args.input);
    if !from_stdin && size > limit && args.keep_bodies {
        eprintln!(
            "note: {:.1} GB of input with bodies: reading it through a temporary store (bounded memory; \
             removed when the query ends)",
            size as f64 / 1e9
        );
        let store = super::ingest_cache::temporary_with_bodies(&args.input)?;
        return Engine::open_store(&store).map_err(anyhow::Error::from);
    }
    if !from_stdin && size > limit {
        eprintln!(
            "note: {:.1} GB of input: reading it through a cached store (bounded memory; the next query \
             over the same files starts at once)",
            size as f64 / 1e9
        );
        let (store, _) = super::ingest_cache::ingest(&args.input)?;
        // As the in-memory read says it below: the cache's store dropped them the same way.
        let dropped = audit::store::Store::open(&store).map(|s| s.manifest().duplicates_dropped).unwrap_or(0);
        if dropped > 0 {
            eprintln!("{}", duplicates_note(dropped));
        }
        return Engine::open_store(&store).map_err(anyhow::Error::from);
    }
    let options =
        audit::read::ReadOptions { keep_bodies: args.keep_bodies, ..audit::read::ReadOptions::default() };
    let batches = engine::input::read_paths_with(&args.input, &options)?;
    for warning in &batches.warnings {
        eprintln!("warning: {warning}");
    }
    // Every input unusable (not audit logs, empty, every record bad): a query that reads the
    // events fails (exit 2), as `ingest` and `diagnose` refuse such inputs, rather than answer
    // 0 (bad-input review s53, item 9: a script asking how many 5xx got 0 and success from a
    // metrics scrape given as the log); one that reads none (`print`) still runs (review s53b).
    if batches.batches.iter().all(|b| b.num_rows() == 0) {
        return Ok(Engine::without_events(no_events_message(&args.input, &batches.warnings))?);
    }
    if batches.duplicates > 0 {
        eprintln!("{}", duplicates_note(batches.duplicates));
    }
    Ok(Engine::from_batches(batches.batches)?.with_categories_read(&batches.categories))
}

/// Why `--input` gave no event to query. "Said above" only when a warning was printed above
/// (UX review: an empty directory printed nothing, yet the error pointed above); with no
/// warning and no file found, the directories held no file, as `ingest` says of them.
fn no_events_message(inputs: &[PathBuf], warnings: &[String]) -> String {
    let named = inputs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
    if !warnings.is_empty() {
        let why =
            if warnings.len() == 1 { "the warning above says why" } else { "the warnings above say why" };
        return format!("no audit event in {named}: nothing to query ({why})");
    }
    if audit::read::list_inputs(inputs).is_ok_and(|files| files.is_empty()) {
        return format!(
            "no files under {named}: nothing to query (give audit log files or a directory holding them)"
        );
    }
    format!("no audit event in {named}: nothing to query")
}

/// What `--input` says of the events it dropped as read before.
fn duplicates_note(n: u64) -> String {
    format!(
        "note: {} duplicate event{} dropped (read before: the same audit ID, stage and time), as ingest drops them",
        super::count(n),
        if n == 1 { "" } else { "s" }
    )
}

/// docs/kql.md, for `--kql-reference`: someone holding only the binary has no docs directory.
const KQL_REFERENCE: &str = include_str!("../../../../docs/kql.md");

/// Whether `--chart` names a PNG (else an SVG); an error for any other extension, rather than
/// an SVG written into `chart.jpg`.
fn chart_format(path: &std::path::Path) -> anyhow::Result<bool> {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("png") => Ok(true),
        Some("svg") => Ok(false),
        _ => anyhow::bail!(
            "--chart {}: the chart is written as SVG or PNG: name a .svg or .png file",
            path.display()
        ),
    }
}

/// Writes the chart with the charts crate: PNG for a `.png` path, SVG for `.svg`.
fn charts_file(chart: &findings::Chart, path: &std::path::Path) -> anyhow::Result<()> {
    let is_png = chart_format(path)?;
    let bytes = if is_png {
        charts::png(chart, 1000, 500).with_context(|| format!("{}: cannot draw the chart", path.display()))?
    } else {
        charts::svg(chart, 1000, 500).into_bytes()
    };
    std::fs::write(path, bytes).with_context(|| format!("{}: cannot write the chart", path.display()))
}
