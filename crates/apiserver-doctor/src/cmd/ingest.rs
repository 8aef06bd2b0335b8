//! `apiserver-doctor ingest`: audit logs in any format into the store.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use audit::ingest::{IngestError, IngestOptions, IngestReport, ingest};
use audit::read::{FileSummary, ReadOptions, find_inputs};

use super::{StoreArg, count};

/// Arguments of `apiserver-doctor ingest`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Audit log files or directories (read recursively); `-` reads stdin. Formats are detected
    /// from content; `.gz` and `.zst` are decompressed transparently.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub store: StoreArg,
    /// Any malformed record fails the run (exit code 2) and nothing of it is written.
    #[arg(long)]
    pub strict: bool,
    /// Keep request and response bodies (they can hold Secrets).
    #[arg(long)]
    pub keep_bodies: bool,
    /// No progress bar and no per-file lines; warnings and the final line only.
    #[arg(long, short)]
    pub quiet: bool,
    /// Read files again even when the manifest says they were ingested unchanged.
    #[arg(long)]
    pub force: bool,
}

/// Files shown one per line before the rest are summarised (by format, in one line).
const MAX_FILE_LINES: usize = 50;

/// Runs `apiserver-doctor ingest`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let store_dir = args.store.dir();
    let opts = IngestOptions {
        read: ReadOptions { keep_bodies: args.keep_bodies, strict: args.strict, ..ReadOptions::default() },
        force: args.force,
        ..IngestOptions::default()
    };
    // Stdin, a pipe or a device has no size: the bar then shows bytes and rates without a
    // total or ETA.
    let total = || {
        let inputs = find_inputs(&args.paths, std::slice::from_ref(&store_dir)).ok()?.files;
        if inputs.iter().any(|p| !std::fs::metadata(p).is_ok_and(|m| m.is_file())) {
            return None;
        }
        Some(super::progress::bytes_of(&inputs))
    };
    let result = super::progress::ingest_with_bar(!args.quiet, total, opts, |opts| {
        ingest(&store_dir, &args.paths, opts)
    });
    let report = match result {
        Ok(r) => r,
        Err(e @ IngestError::Strict { .. }) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e.into()),
    };
    // The ingest is done and committed: a summary that cannot be written says so (review
    // s20r item 11, /dev/full), and a closed pipe (`| head`) is not an error.
    let mut out = super::Shown(super::stdout());
    super::unless_closed_pipe(render(&mut out, &args, &store_dir, &report, started.elapsed()))
        .map_err(|e| super::summary_not_written(e, &report, &store_dir))?;
    let mut err = super::Shown(std::io::stderr().lock());
    warnings(&mut err, &report.files)?;
    bodies_warnings(&mut err, &report, &store_dir)?;
    for (file, events) in &report.kept_earlier {
        writeln!(
            err,
            "warning: {file} gave no event this time: the {} stored from it by an earlier run are kept, and so is its record of where they came from",
            plural(*events, "event", "events")
        )?;
    }
    if events_in_all(&report) == 0 {
        // Not one event in any input (this run's, or the ones already ingested): a wrong
        // path, not a success (docs/ingest.md, exit codes).
        writeln!(
            err,
            "error: no audit event in {}: nothing was ingested{} (`apiserver-doctor ingest --help` lists the formats read)",
            args.paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
            if report.new_store_removed {
                format!(", and no store was made at {}", store_dir.display())
            } else if report.manifest_written {
                // A file that is not an audit log is recorded, so that `stats` says why it was
                // not read (docs/ingest.md): the events are as they were, the list of inputs not.
                format!(
                    "; the store {} holds the events it held, and lists the files not read (see `stats`)",
                    store_dir.display()
                )
            } else {
                // Inputs without events are not recorded (docs/ingest.md): the store is as it was.
                format!(", and the store {} is unchanged", store_dir.display())
            }
        )?;
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

/// Events read from every input given: read by this run, or by an earlier one for the inputs
/// it skipped as already ingested (as the manifest recorded them).
fn events_in_all(report: &IngestReport) -> u64 {
    report.events() + report.unchanged_events
}

fn render(
    out: &mut dyn Write,
    args: &Args,
    store: &std::path::Path,
    report: &IngestReport,
    elapsed: Duration,
) -> std::io::Result<()> {
    let files = &report.files;
    if !args.quiet {
        for f in files.iter().take(MAX_FILE_LINES) {
            writeln!(out, "{}", file_line(f))?;
        }
        if files.len() > MAX_FILE_LINES {
            writeln!(out, "{}", rest_line(&files[MAX_FILE_LINES..], store))?;
        }
        for a in report.unchanged.iter().take(MAX_FILE_LINES) {
            writeln!(out, "{a}: already ingested, unchanged (use --force to read it again)")?;
        }
        if report.unchanged.len() > MAX_FILE_LINES {
            writeln!(
                out,
                "… and {} more files already ingested, unchanged",
                report.unchanged.len() - MAX_FILE_LINES
            )?;
        }
        for (again, first) in report.named_twice.iter().take(MAX_FILE_LINES) {
            if again == first {
                writeln!(out, "{again}: named twice; read once")?;
            } else {
                writeln!(out, "{again}: the same file as {first}; read once")?;
            }
        }
        if report.named_twice.len() > MAX_FILE_LINES {
            writeln!(
                out,
                "… and {} more files named twice, read once",
                report.named_twice.len() - MAX_FILE_LINES
            )?;
        }
    }
    if report.new_store_removed {
        // Nothing was read and no store is left: "ingested 0 events into STORE" would name a
        // store that does not exist (the error line follows).
        return Ok(());
    }
    let secs = elapsed.as_secs_f64().max(1e-9);
    // Entries of a directory that could not be read (a broken link, a loop) were not read.
    let read = files.len().saturating_sub(report.entries_not_read);
    // "58 read from 4 of 7 files" when some held no event: "from 7 files" beside "3 files not
    // read" contradicted itself (UX review s55, item 5).
    let with_events = files.iter().filter(|f| f.events > 0).count();
    let from = if with_events < read && report.events() > 0 {
        format!("{} of {}", count(with_events as u64), count(read as u64))
    } else {
        count(read as u64)
    };
    writeln!(
        out,
        "ingested {} {} into {} ({} read from {} {}, {} {} dropped) in {:.1} s, {:.0} MB/s{}",
        count(report.kept),
        if report.kept == 1 { "event" } else { "events" },
        store.display(),
        count(report.events()),
        from,
        if read == 1 { "file" } else { "files" },
        count(report.duplicates),
        if report.duplicates == 1 { "duplicate" } else { "duplicates" },
        elapsed.as_secs_f64(),
        report.bytes() as f64 / 1e6 / secs,
        // Bytes as read from disk: for gzip or zstd files, the compressed ones (review s40).
        if files.iter().any(|f| f.compression != audit::read::Compression::None) {
            ", compressed files counted at their compressed size"
        } else {
            ""
        }
    )
}

/// `--keep-bodies` over events the store holds without bodies: it adds none (a store keeps
/// each event as first stored), which the run says, with what to do (review s51, item 2).
fn bodies_warnings(
    err: &mut dyn Write,
    report: &IngestReport,
    store: &std::path::Path,
) -> std::io::Result<()> {
    let skipped = &report.unchanged_without_bodies;
    if skipped.is_empty() && !report.bodies_not_added {
        return Ok(());
    }
    let store = findings::text::shell_quote(&store.display().to_string());
    if !skipped.is_empty() {
        writeln!(
            err,
            "warning: --keep-bodies: {} already ingested into {store} without bodies (by an ingest without              --keep-bodies, or by a build that did not record it), so not read again:",
            plural(skipped.len() as u64, "file was", "files were")
        )?;
        for f in skipped.iter().take(MAX_FILE_LINES) {
            writeln!(err, "  {f}")?;
        }
        if skipped.len() > MAX_FILE_LINES {
            writeln!(err, "  … and {} more", skipped.len() - MAX_FILE_LINES)?;
        }
    }
    if report.bodies_not_added {
        writeln!(
            err,
            "warning: --keep-bodies: {} dropped as duplicates of events {store} already holds, some stored              without bodies: their bodies were not added",
            plural(report.duplicates, "event was", "events were")
        )?;
    }
    writeln!(
        err,
        "  A store keeps each event as first stored: reading it again with --keep-bodies (or --force) adds no          bodies. To query bodies, ingest these logs with --keep-bodies into a new store (another --store)"
    )
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", count(n), if n == 1 { one } else { many })
}

/// The formats detected in `f`, as its line names them (`no events` when none).
fn formats(f: &FileSummary) -> String {
    let mut formats: Vec<&str> = f.formats.keys().map(|k| k.name()).collect();
    if formats.is_empty() {
        formats.push("no events");
    }
    formats.join(" + ")
}

/// The line standing for the files past [`MAX_FILE_LINES`]: how many, their formats with
/// the number of files in each (most first), and where each one's format is listed.
fn rest_line(rest: &[FileSummary], store: &std::path::Path) -> String {
    let mut by_format: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    for f in rest {
        let label = if f.not_audit.is_some() { "not read".to_owned() } else { formats(f) };
        *by_format.entry(label).or_default() += 1;
    }
    let mut counts: Vec<(String, u64)> = by_format.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    format!(
        "… and {} more {}: {} (`apiserver-doctor stats --store {} -o json` lists every input with its format)",
        rest.len(),
        if rest.len() == 1 { "file" } else { "files" },
        counts.iter().map(|(label, n)| format!("{n} {label}")).collect::<Vec<_>>().join(", "),
        findings::text::shell_quote(&store.display().to_string())
    )
}

fn file_line(f: &FileSummary) -> String {
    if let Some(why) = &f.not_audit {
        // In short: the warning after the summary gives the whole reason (UX review s55, item
        // 5: each reason was printed twice in full).
        let short = why.split(" (").next().unwrap_or(why);
        return format!("{}: {short}", f.file);
    }
    let mut line = format!("{}: {}", f.file, formats(f));
    let no_events = f.formats.is_empty();
    if let Some(c) = f.container {
        line.push_str(&format!(" ({}", c.name()));
        if let Some(compression) = f.compression_label() {
            line.push_str(&format!(", {compression}"));
        }
        line.push(')');
    }
    // `no events` already says it: not `no events, 0 events`.
    if !(no_events && f.events == 0) {
        line.push_str(&format!(", {}", plural(f.events, "event", "events")));
    }
    if f.skipped > 0 {
        line.push_str(&format!(", {} skipped", count(f.skipped)));
    }
    if f.nul_bytes > 0 {
        line.push_str(&format!(", {} read past", plural(f.nul_bytes, "NUL byte", "NUL bytes")));
    }
    if f.trailing_commas > 0 {
        line.push_str(&format!(
            ", {} read without the comma after the record (copied out of a JSON array?)",
            plural(f.trailing_commas, "line", "lines")
        ));
    }
    if f.incomplete.is_some() {
        line.push_str(", only partly read");
    }
    line
}

fn warnings(err: &mut dyn Write, files: &[FileSummary]) -> std::io::Result<()> {
    // A file read only in part: on its own line each, whatever the cap on examples.
    let partial: Vec<&FileSummary> = files.iter().filter(|f| f.incomplete.is_some()).collect();
    if !partial.is_empty() {
        writeln!(
            err,
            "warning: {} only partly read (the events before the damage were ingested):",
            plural(partial.len() as u64, "file", "files")
        )?;
        for r in partial.iter().filter_map(|f| f.incomplete.as_ref()) {
            writeln!(err, "  {}: {}", r.file, r.message)?;
        }
    }
    let skipped: u64 = files.iter().map(|f| f.skipped).sum();
    if skipped > 0 {
        let events: u64 = files.iter().map(|f| f.events).sum();
        let rest = match (events, partial.len()) {
            (0, _) => "no event was read".to_owned(),
            (_, 0) => "the rest was ingested".to_owned(),
            (_, n) => format!(
                "the other records read were ingested; {} only partly read",
                plural(n as u64, "file", "files")
            ),
        };
        writeln!(err, "warning: {} skipped ({rest}):", plural(skipped, "record", "records"))?;
        for f in files.iter().filter(|f| f.skipped > 0) {
            for ex in &f.examples {
                writeln!(err, "  {ex}")?;
            }
            let shown = f.examples.len() as u64;
            if f.skipped > shown {
                writeln!(err, "  {}: … and {} more", f.file, count(f.skipped - shown))?;
            }
        }
    }
    let not_audit: Vec<&FileSummary> = files.iter().filter(|f| f.not_audit.is_some()).collect();
    if !not_audit.is_empty() {
        writeln!(err, "warning: {} not read:", plural(not_audit.len() as u64, "file", "files"))?;
        for f in not_audit {
            writeln!(err, "  {}: {}", f.file, f.not_audit.as_deref().unwrap_or_default())?;
        }
    }
    // Runs of NUL bytes before lines: the lines after them were read; said, since they mean
    // the log was truncated while written (events before the truncation are not in it).
    let with_nuls: Vec<&FileSummary> = files.iter().filter(|f| f.nul_bytes > 0).collect();
    if !with_nuls.is_empty() {
        writeln!(
            err,
            "warning: NUL bytes read past in {} (what a log truncated in place while still written leaves, as \
             logrotate's copytruncate does, or zeros a crash left); the lines after them were read:",
            plural(with_nuls.len() as u64, "file", "files")
        )?;
        for f in with_nuls {
            writeln!(err, "  {}: {}", f.file, plural(f.nul_bytes, "NUL byte", "NUL bytes"))?;
        }
    }
    let without: u64 = files.iter().map(|f| f.without_timestamps).sum();
    if without > 0 {
        writeln!(
            err,
            "warning: {} without timestamps (or with times outside the years 1677-2262) read, kept with null times \
             (unless duplicates of stored ones)",
            plural(without, "event", "events")
        )?;
    }
    Ok(())
}
