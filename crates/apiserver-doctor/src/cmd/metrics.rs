//! `apiserver-doctor metrics`: identify each scrape, then report the metrics and etcd findings.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use findings::{Report, Severity};
use metrics::Snapshot;

/// Output format of `metrics` and `etcd`.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Output {
    /// Plain text.
    Text,
    /// JSON: the report, summary included (`etcd` and `probe` print it under `report`, beside
    /// what they read).
    Json,
    /// Markdown (also `md`).
    #[value(alias = "md")]
    Markdown,
    /// The self-contained HTML report.
    Html,
}

impl From<Output> for report::Format {
    fn from(o: Output) -> report::Format {
        match o {
            Output::Text => report::Format::Text,
            Output::Json => report::Format::Json,
            Output::Markdown => report::Format::Markdown,
            Output::Html => report::Format::Html,
        }
    }
}

/// Renders a report with the `report` crate's renderers (see [`text_options`]).
pub fn render(report: &findings::Report, output: Output, out: &mut dyn Write) -> std::io::Result<()> {
    report::render(report, output.into(), out, &text_options())
}

/// How the text report is drawn on standard output: colour only on a terminal (and not with
/// `NO_COLOR`), and as wide as the terminal (40 to 240 columns); 100 columns when it is not a
/// terminal (reports review s55, item 5: always 100, so a narrower terminal broke every
/// hanging indent, though docs/diagnose.md said titles are cut to the terminal's width).
pub fn text_options() -> report::TextOptions {
    use std::io::IsTerminal;
    let stdout = std::io::stdout();
    let terminal = stdout.is_terminal();
    let width = terminal
        .then(|| terminal_size::terminal_size_of(&stdout))
        .flatten()
        .map_or(report::TextOptions::default().width, |(w, _)| usize::from(w.0).clamp(40, 240));
    report::TextOptions { color: report::use_color(terminal, std::env::var_os("NO_COLOR").as_deref()), width }
}

/// The lowest severity that makes the exit code 1.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum FailOn {
    /// Any finding.
    Info,
    /// Warnings and critical findings.
    Warning,
    /// Critical findings only.
    Critical,
    /// Never.
    Never,
}

impl FailOn {
    /// The exit code for a report's findings.
    pub fn exit_code(self, report: &Report) -> ExitCode {
        let limit = match self {
            FailOn::Info => Severity::Info,
            FailOn::Warning => Severity::Warning,
            FailOn::Critical => Severity::Critical,
            FailOn::Never => return ExitCode::SUCCESS,
        };
        if report.worst().is_some_and(|w| w >= limit) { ExitCode::from(1) } else { ExitCode::SUCCESS }
    }
}

/// Arguments of `apiserver-doctor metrics`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  kubectl get --raw /metrics > apiserver-1.prom
  sleep 300
  kubectl get --raw /metrics > apiserver-2.prom
  apiserver-doctor metrics apiserver-1.prom apiserver-2.prom etcd.prom
  kubectl get --raw /metrics | apiserver-doctor metrics -

Two scrapes of the same process (same component, version and process start time) give rates \
and growth between them. They are ordered by their samples' timestamps, else by their counters \
(which only grow), else as given when --interval is given, else by the files' modification \
times; the report says which. A file that cannot be read is reported and skipped.")]
pub struct Args {
    /// Scrapes: files (plain, gzip or zstd), directories and tar archives of them (every file
    /// in them, by name, an archive's as ARCHIVE!MEMBER; a file there that holds no metric
    /// sample is skipped with a warning), `-` for standard input, or http(s):// URLs.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, ignore_case = true, default_value = "text")]
    pub output: Output,
    /// Seconds between two scrapes of one target, used only when their samples carry no
    /// timestamps (the samples' own timestamps always win). With it, scrapes whose counters do
    /// not tell their order are taken in the order given; without it the files' modification
    /// times give the time between them, when they are at least 1 s apart (copies made with
    /// cp, git or kubectl cp are milliseconds apart whenever they were scraped: no rate then).
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    pub interval: Option<f64>,
    /// Exit with 1 when a finding is at or above this severity.
    #[arg(long, value_name = "SEVERITY", value_enum, ignore_case = true, default_value = "critical")]
    pub fail_on: FailOn,
    /// YAML file overriding thresholds by name, as `diagnose --config` reads it (`apiserver-doctor
    /// checks --markdown` lists every threshold and the file's format).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// A file that could not be used, and why; or an archive read only in part (`in_part`).
#[derive(Debug, Clone)]
pub struct Unusable {
    /// The file as given, or `ARCHIVE!MEMBER` for a member of a tar archive.
    pub source: String,
    /// Why, in a few words (its bad lines were already reported).
    pub reason: String,
    /// A tar archive damaged after some of its members, which were read: not a file skipped.
    pub in_part: bool,
}

impl Unusable {
    fn skipped(source: String, reason: String) -> Unusable {
        Unusable { source, reason, in_part: false }
    }

    /// What the report's inputs say of it.
    pub fn detected(&self) -> String {
        if self.in_part {
            format!("read in part: {}", self.reason)
        } else {
            format!("not used: {}", self.reason)
        }
    }

    /// The warning on standard error when other inputs are read (`others`: what they are).
    pub fn warning(&self, others: &str) -> String {
        if self.in_part {
            format!("warning: {}: {}", self.source, self.reason)
        } else {
            format!("warning: {}: {}; skipped, the other {others} are read", self.source, self.reason)
        }
    }
}

/// Why a scrape could not be read, without its source (the line that reports it names it).
fn load_error_reason(source: &str, e: &metrics::load::LoadError) -> String {
    match e {
        metrics::load::LoadError::Io { error, .. } => format!("cannot read it: {error}"),
        other => {
            let text = other.to_string();
            text.strip_prefix(&format!("{source}: ")).map_or(text.clone(), str::to_owned)
        }
    }
}

/// Loads every scrape, warning on standard error about bad lines (file:line: message). Files
/// that cannot be used (unreadable, an empty directory, no metric sample in them) are returned
/// apart, for [`usable_or_error`] to report. A tar archive stands for its members, each read
/// as a file found in a directory is (`ARCHIVE!MEMBER`).
pub fn load_usable(sources: &[String]) -> (Vec<Snapshot>, Vec<Unusable>) {
    let mut out = Vec::new();
    let mut unusable = Vec::new();
    // A file named twice (or by two spellings) is one scrape, not two taken at the same time
    // (review s40: it was read twice and paired with itself).
    let mut seen: Vec<(std::path::PathBuf, String)> = Vec::new();
    for (source, in_directory) in expand_directories(sources, &mut unusable) {
        if let Ok(canonical) = std::fs::canonicalize(&source)
            && canonical.is_file()
        {
            if let Some((_, first)) = seen.iter().find(|(c, _)| *c == canonical) {
                eprintln!("warning: {source}: the same file as {first}, read once");
                continue;
            }
            seen.push((canonical, source.clone()));
        }
        let loaded = match metrics::load::load_input(&source) {
            Ok(loaded) => loaded,
            Err(e) => {
                let reason = load_error_reason(&source, &e);
                unusable.push(Unusable::skipped(source, reason));
                continue;
            }
        };
        for part in loaded {
            match part {
                metrics::load::Loaded::Scrape { snapshot, json, in_archive } => {
                    use_scrape(*snapshot, json, in_directory || in_archive, &mut out, &mut unusable);
                }
                metrics::load::Loaded::Skipped(e) => {
                    let name = e.source_name().to_owned();
                    let reason = load_error_reason(&name, &e);
                    unusable.push(Unusable::skipped(name, reason));
                }
                metrics::load::Loaded::Damaged { archive, message } => {
                    unusable.push(Unusable { source: archive, reason: message, in_part: true });
                }
                _ => {}
            }
        }
    }
    (out, unusable)
}

/// Judges one text read as a scrape (`json`: its first character when it is JSON), and adds
/// it to `out`, or to `unusable` when it holds no sample. `in_directory`: found in a directory
/// or an archive, where a file holding no sample is skipped in one line.
fn use_scrape(
    s: Snapshot,
    json: Option<char>,
    in_directory: bool,
    out: &mut Vec<Snapshot>,
    unusable: &mut Vec<Unusable>,
) {
    let source = s.source.clone();
    let e = &s.exposition;
    // A text that is no scrape at all (an HTML page, kubectl's `Error from server`) is said
    // so in one line quoting its start (review s53, item 12: a one-line HTML page was said
    // to be a scrape whose last sample was cut in the middle of its value).
    if e.samples.is_empty()
        && let Some(why) = &e.not_a_scrape
        && json.is_none()
    {
        unusable.push(Unusable::skipped(source, format!("no metric samples in it; {why}")));
        return;
    }
    // JSON is not the Prometheus text format: one line says what it is, without a warning
    // for each of its lines (an audit log given as a scrape gave ten, then "is it a /metrics
    // scrape?"). Found in a directory too (docs review 51, section 2: `metrics DIR` of audit
    // logs said only "not a /metrics scrape", without what reads them).
    if e.samples.is_empty()
        && let Some(first) = json
    {
        unusable.push(Unusable::skipped(source, json_not_a_scrape(first)));
        return;
    }
    // A file found in a directory that holds no sample at all (a README, a script beside
    // the scrapes) is skipped in one line, not with a warning for each of its lines.
    if in_directory && e.samples.is_empty() {
        let reason = match e.errors.first() {
            Some(err) => {
                format!("no metric samples in it (line {}: {}): not a /metrics scrape", err.line, err.message)
            }
            None => "no metric samples in it (it is empty)".to_owned(),
        };
        unusable.push(Unusable::skipped(source, reason));
        return;
    }
    // In a directory, a file is taken for a scrape only when it reads as one: a text of
    // another kind that holds a `name number` line or two (a store's `lock` file: `pid 1234`,
    // then its command) is skipped in one line, not read as a scrape of unknown kind with a
    // warning for each of its other lines (UX review).
    if in_directory
        && s.target.kind == metrics::TargetKind::Unknown
        && let Some(err) = e.errors.first()
    {
        let reason = format!(
            "not a /metrics scrape: {} of its lines {} not Prometheus samples (line {}: {}), and it is neither a \
             kube-apiserver nor an etcd scrape",
            findings::thousands(e.error_count as i128),
            if e.error_count == 1 { "is" } else { "are" },
            err.line,
            err.message
        );
        unusable.push(Unusable::skipped(source, reason));
        return;
    }
    for note in &e.notes {
        eprintln!("note: {source}:{}: {}", note.line, note.message);
    }
    for err in e.errors.iter().take(10) {
        eprintln!("warning: {source}:{}: {}", err.line, err.message);
    }
    if e.error_count > 10 {
        eprintln!("warning: {source}: {} more bad lines skipped", e.error_count - 10);
    }
    if e.samples.is_empty() {
        let reason = match e.errors.first() {
            Some(err) => format!(
                "no metric samples in it (line {}: {}); is it a /metrics scrape?",
                err.line, err.message
            ),
            None => "no metric samples in it (it is empty); is it a /metrics scrape?".to_owned(),
        };
        unusable.push(Unusable::skipped(source, reason));
        return;
    }
    // A file holding several scrapes one after the other (`cat a b`, `>>`) is read as one
    // snapshot per scrape (review s53, item 2), and one holding several targets
    // (`/federate` output, scrapes concatenated) as one per target, each with its own input
    // line (review s51, items 1 and 2).
    if let [.., last] = &e.scrapes[..] {
        eprintln!(
            "note: {source}: this file holds {} scrapes one after the other (the last from line {}): each \
             is read as a scrape of its own",
            e.scrapes.len(),
            last.first_line
        );
    }
    out.extend(s.split_targets());
}

/// Why a file that starts as JSON (`first`: its first character) is no scrape, and what reads
/// an audit log instead.
fn json_not_a_scrape(first: char) -> String {
    format!(
        "no metric samples in it: it is JSON (`{first}` at its start), not the Prometheus text format of \
         /metrics. An audit log is read by `apiserver-doctor diagnose PATH` or `ingest`; save a scrape \
         with `kubectl get --raw /metrics > apiserver.prom`"
    )
}

/// The sources with each directory replaced by the files under it (recursively, sorted by
/// path, names starting with `.` left out), each marked `true`; a directory holding no file is
/// reported in `unusable`. URLs and `-` are kept as they are.
fn expand_directories(sources: &[String], unusable: &mut Vec<Unusable>) -> Vec<(String, bool)> {
    /// `ancestors`: the directories being walked, canonical, so that a symbolic link to one of
    /// them (`ln -s . loop`) is not walked into again.
    fn walk(dir: &Path, ancestors: &mut Vec<PathBuf>, out: &mut Vec<PathBuf>, unusable: &mut Vec<Unusable>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        let mut entries: Vec<PathBuf> = entries
            .flatten()
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .map(|e| e.path())
            .collect();
        entries.sort();
        for path in entries {
            // Symbolic links are followed, to directories too, as `--manifests` and audit
            // directories are (review s53, item 12: a linked directory was "Is a directory").
            match std::fs::metadata(&path) {
                Ok(m) if m.is_dir() => {
                    let Ok(canonical) = std::fs::canonicalize(&path) else { continue };
                    if ancestors.contains(&canonical) {
                        // A link back up the tree: its files are being read already.
                        continue;
                    }
                    ancestors.push(canonical);
                    walk(&path, ancestors, out, unusable);
                    ancestors.pop();
                }
                // A named pipe, socket or device is not opened: a FIFO would wait for a writer
                // for ever (review s53, item 3). Named on the command line, a FIFO is read.
                Ok(m) if !m.is_file() => unusable.push(Unusable::skipped(
                    path.display().to_string(),
                    format!("{}, not read in a directory walk", findings::text::special_kind(&m)),
                )),
                // Files, and dangling links (reported as files that cannot be read).
                _ => out.push(path),
            }
        }
    }
    let mut out = Vec::new();
    for source in sources {
        let path = Path::new(source);
        if source.contains("://") || source == "-" || !path.is_dir() {
            out.push((source.clone(), false));
            continue;
        }
        let mut files = Vec::new();
        let mut ancestors: Vec<PathBuf> = std::fs::canonicalize(path).into_iter().collect();
        let skipped = unusable.len();
        walk(path, &mut ancestors, &mut files, unusable);
        if files.is_empty() && unusable.len() == skipped {
            let reason = "a directory holding no file".to_owned();
            unusable.push(Unusable::skipped(source.clone(), reason));
        }
        out.extend(files.into_iter().map(|f| (f.display().to_string(), true)));
    }
    out
}

/// Loads every usable scrape (see [`load_usable`]); an error only when none is usable.
pub fn load_all(sources: &[String]) -> anyhow::Result<Vec<Snapshot>> {
    let (snapshots, unusable) = load_usable(sources);
    usable_or_error(snapshots, &unusable)
}

/// The usable scrapes, after a warning on standard error for each file skipped; an error
/// naming the files when none is usable.
pub fn usable_or_error(snapshots: Vec<Snapshot>, unusable: &[Unusable]) -> anyhow::Result<Vec<Snapshot>> {
    match unusable {
        _ if !snapshots.is_empty() => {
            for u in unusable {
                eprintln!("{}", u.warning("files"));
            }
            Ok(snapshots)
        }
        [one] => Err(anyhow::anyhow!("{}: {}", one.source, one.reason)),
        _ => {
            let each: Vec<String> = unusable.iter().map(|u| format!("{}: {}", u.source, u.reason)).collect();
            Err(anyhow::anyhow!("no file holds a usable metrics scrape:\n  {}", each.join("\n  ")))
        }
    }
}

/// When scrapes were given and none is a kube-apiserver's or etcd's `/metrics` (only
/// `/metrics/slis`, say): a sentence naming them. No check reads them.
pub fn none_of_known_kind(snapshots: &[Snapshot]) -> Option<String> {
    if snapshots.is_empty() || snapshots.iter().any(|s| s.target.kind != metrics::target::TargetKind::Unknown)
    {
        return None;
    }
    Some(format!(
        "{} {} neither a kube-apiserver nor an etcd /metrics scrape",
        snapshots.iter().map(|s| s.source.as_str()).collect::<Vec<_>>().join(", "),
        if snapshots.len() == 1 { "is" } else { "are" }
    ))
}

/// The longest `--interval`: 366 days.
const MAX_INTERVAL_SECONDS: f64 = 366.0 * 86_400.0;

/// Checks the time between two scrapes given as `option` (`--interval`, or `diagnose
/// --metrics-interval`, which is the same option): more than 0 and at most a year. Scrapes a
/// year apart say nothing of a rate now, and 1e308 made every rate zero (review s40) and
/// notes 300 digits long in `diagnose`, which did not check it (review s51, item 12).
pub fn check_interval(option: &str, interval: Option<f64>) -> anyhow::Result<()> {
    if let Some(i) = interval {
        anyhow::ensure!(i.is_finite() && i > 0.0, "{option} must be a positive number of seconds, got {i}");
        anyhow::ensure!(
            i <= MAX_INTERVAL_SECONDS,
            "{option} must be at most {MAX_INTERVAL_SECONDS} seconds (a year), got {i:e}"
        );
    }
    Ok(())
}

/// Runs `apiserver-doctor metrics`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    check_interval("--interval", args.interval)?;
    let thresholds = super::read_config(args.config.as_deref())?.thresholds;
    let (snapshots, unusable) = load_usable(&args.files);
    let snapshots = usable_or_error(snapshots, &unusable)?;
    if let Some(why) = none_of_known_kind(&snapshots) {
        anyhow::bail!("nothing to check: {why} (a /metrics/slis or another program's scrape?)");
    }
    let mut report = etcd::report::scrapes_report(&snapshots, args.interval, &thresholds);
    for u in unusable {
        report.inputs.push(findings::InputSummary {
            kind: "metrics".to_owned(),
            detected: Some(u.detected()),
            source: u.source,
            records: 0,
            skipped: 0,
        });
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    super::unless_closed_pipe(render(&report, args.output, &mut out).and_then(|()| out.flush()))?;
    Ok(args.fail_on.exit_code(&report))
}
