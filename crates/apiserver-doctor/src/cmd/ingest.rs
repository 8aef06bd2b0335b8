//! `apiserver-doctor ingest`: audit logs in any format into the store.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use audit::read::{FileSummary, ReadError, ReadOptions, SinkError, list_inputs, read_paths};
use audit::store::IngestedInput;
use audit::store::writer::{StoreWriter, WriterOptions};

use super::StoreArg;

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

/// Files shown one per line before the rest are summarised.
const MAX_FILE_LINES: usize = 50;
/// Commit at least this often so a killed run keeps most of its work.
const COMMIT_EVERY: Duration = Duration::from_secs(20);

/// Runs `apiserver-doctor ingest`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let store_dir = args.store.store.clone();
    let inputs = list_inputs(&args.paths)?;
    let mut writer = StoreWriter::open(&store_dir, WriterOptions::default())?;

    let total_bytes: u64 = inputs.iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
    let progress_bytes = Arc::new(AtomicU64::new(0));
    let progress_events = Arc::new(AtomicU64::new(0));
    let show_progress = !args.quiet && std::io::stderr().is_terminal();
    let ticker =
        show_progress.then(|| Ticker::start(total_bytes, progress_bytes.clone(), progress_events.clone()));

    let opts = ReadOptions {
        keep_bodies: args.keep_bodies,
        strict: args.strict,
        progress: Some(progress_bytes.clone()),
        ..ReadOptions::default()
    };
    let mut files: Vec<FileSummary> = Vec::new();
    let mut already: Vec<String> = Vec::new();
    let mut kept = 0u64;
    let mut duplicates = 0u64;
    let mut last_commit = Instant::now();
    let mut failure: Option<anyhow::Error> = None;
    for input in &inputs {
        let identity = identify(input);
        if !args.force && is_ingested(writer.manifest(), &identity) {
            progress_bytes.fetch_add(identity.size.unwrap_or(0), Ordering::Relaxed);
            already.push(identity.file);
            continue;
        }
        let mut sink = |_file: &str, batch: arrow::array::RecordBatch| -> Result<(), SinkError> {
            let outcome = writer.write(&batch)?;
            kept += outcome.kept;
            duplicates += outcome.duplicates;
            progress_events.fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
            Ok(())
        };
        match read_paths(std::slice::from_ref(input), &opts, &mut sink) {
            Ok(summary) => {
                for f in summary.files {
                    let input = IngestedInput {
                        format: f.format().map(|x| x.name().to_owned()),
                        events: f.events,
                        skipped: f.skipped,
                        not_audit: f.not_audit.clone(),
                        ..identity.clone()
                    };
                    writer.input_done(input, f.skipped_by_kind.clone(), f.examples.clone());
                    files.push(f);
                }
            }
            Err(e) => {
                failure = Some(match e {
                    ReadError::Strict(rec) => anyhow::anyhow!(
                        "--strict: {rec}\nnothing of this run was written to {}",
                        store_dir.display()
                    ),
                    other => anyhow::Error::new(other),
                });
                break;
            }
        }
        if !args.strict && (last_commit.elapsed() >= COMMIT_EVERY || writer.uncommitted_files() >= 64) {
            writer.commit()?;
            last_commit = Instant::now();
        }
    }
    if let Some(t) = ticker {
        t.finish();
    }
    if let Some(err) = failure {
        if args.strict {
            writer.abort().context("removing the files of the refused run")?;
            eprintln!("error: {err:#}");
            return Ok(ExitCode::from(2));
        }
        // Keep what was read before the error: it is complete and deduplicated.
        writer.commit()?;
        return Err(err);
    }
    writer.commit()?;
    drop(writer);

    let mut out = std::io::stdout().lock();
    report(&mut out, &args, &store_dir, &files, &already, kept, duplicates, started.elapsed())?;
    let mut err = std::io::stderr().lock();
    warnings(&mut err, &files)?;
    Ok(ExitCode::SUCCESS)
}

/// Size, mtime and a hash of the first MiB: enough to recognise a file ingested before.
fn identify(path: &std::path::Path) -> IngestedInput {
    let file = path.display().to_string();
    let mut id = IngestedInput {
        file,
        size: None,
        mtime: None,
        head_hash: None,
        format: None,
        events: 0,
        skipped: 0,
        not_audit: None,
    };
    if path.as_os_str() == "-" {
        return id;
    }
    if let Ok(meta) = std::fs::metadata(path) {
        id.size = Some(meta.len());
        id.mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .and_then(|d| i64::try_from(d.as_secs()).ok());
    }
    if let Ok(f) = std::fs::File::open(path) {
        use std::io::Read;
        let mut head = Vec::with_capacity(1 << 20);
        if f.take(1 << 20).read_to_end(&mut head).is_ok() {
            id.head_hash = Some(format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&head)));
        }
    }
    id
}

fn is_ingested(manifest: &audit::store::Manifest, id: &IngestedInput) -> bool {
    id.size.is_some()
        && manifest.inputs.iter().any(|m| {
            m.file == id.file && m.size == id.size && m.mtime == id.mtime && m.head_hash == id.head_hash
        })
}

#[allow(clippy::too_many_arguments)]
fn report(
    out: &mut dyn Write,
    args: &Args,
    store: &std::path::Path,
    files: &[FileSummary],
    already: &[String],
    kept: u64,
    duplicates: u64,
    elapsed: Duration,
) -> std::io::Result<()> {
    if !args.quiet {
        for f in files.iter().take(MAX_FILE_LINES) {
            writeln!(out, "{}", file_line(f))?;
        }
        if files.len() > MAX_FILE_LINES {
            writeln!(out, "… and {} more files", files.len() - MAX_FILE_LINES)?;
        }
        for a in already.iter().take(MAX_FILE_LINES) {
            writeln!(out, "{a}: already ingested, unchanged (use --force to read it again)")?;
        }
    }
    let read: u64 = files.iter().map(|f| f.events).sum();
    let bytes: u64 = files.iter().map(|f| f.bytes).sum();
    let secs = elapsed.as_secs_f64().max(1e-9);
    writeln!(
        out,
        "ingested {kept} events into {} ({read} read from {} files, {duplicates} duplicates dropped) in {:.1} s, {:.0} MB/s",
        store.display(),
        files.len(),
        elapsed.as_secs_f64(),
        bytes as f64 / 1e6 / secs
    )
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn file_line(f: &FileSummary) -> String {
    if let Some(why) = &f.not_audit {
        return format!("{}: {why}", f.file);
    }
    let mut formats: Vec<String> = f.formats.keys().map(|k| k.name().to_owned()).collect();
    if formats.is_empty() {
        formats.push("no events".to_owned());
    }
    let mut line = format!("{}: {}", f.file, formats.join(" + "));
    if let Some(c) = f.container {
        line.push_str(&format!(" ({}", c.name()));
        if f.compression != audit::read::Compression::None {
            line.push_str(&format!(", {:?}", f.compression).to_lowercase());
        }
        line.push(')');
    }
    line.push_str(&format!(", {}", plural(f.events, "event", "events")));
    if f.skipped > 0 {
        line.push_str(&format!(", {} skipped", f.skipped));
    }
    line
}

fn warnings(err: &mut dyn Write, files: &[FileSummary]) -> std::io::Result<()> {
    let skipped: u64 = files.iter().map(|f| f.skipped).sum();
    if skipped > 0 {
        writeln!(err, "warning: {} skipped (the rest was ingested):", plural(skipped, "record", "records"))?;
        for f in files.iter().filter(|f| f.skipped > 0) {
            for ex in &f.examples {
                writeln!(err, "  {ex}")?;
            }
            let shown = f.examples.len() as u64;
            if f.skipped > shown {
                writeln!(err, "  {}: … and {} more", f.file, f.skipped - shown)?;
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
    let without: u64 = files.iter().map(|f| f.without_timestamps).sum();
    if without > 0 {
        writeln!(
            err,
            "warning: {} without timestamps, kept with null times",
            plural(without, "event", "events")
        )?;
    }
    Ok(())
}

/// The progress bar, redrawn from the shared counters by its own thread.
struct Ticker {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<()>,
}

impl Ticker {
    fn start(total: u64, bytes: Arc<AtomicU64>, events: Arc<AtomicU64>) -> Ticker {
        let bar =
            indicatif::ProgressBar::with_draw_target(Some(total), indicatif::ProgressDrawTarget::stderr());
        let style = indicatif::ProgressStyle::with_template(
            "{bar:30} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} {msg} ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        bar.set_style(style);
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let handle = std::thread::spawn(move || {
            let start = Instant::now();
            while !stop2.load(Ordering::Relaxed) {
                let e = events.load(Ordering::Relaxed);
                bar.set_position(bytes.load(Ordering::Relaxed));
                let rate = e as f64 / start.elapsed().as_secs_f64().max(1e-3);
                bar.set_message(format!("{e} events, {rate:.0} events/s"));
                std::thread::sleep(Duration::from_millis(100));
            }
            bar.finish_and_clear();
        });
        Ticker { stop, handle }
    }

    fn finish(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.handle.join();
    }
}
