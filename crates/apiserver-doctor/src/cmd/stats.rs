//! `apiserver-doctor stats`: what the store holds, from its manifest, and the top clients
//! (one query over the store's user-agent column).

use std::io::Write;
use std::process::ExitCode;

use audit::InputFormat;
use audit::store::{Counts, FileCheck, IngestedInput, Store};

use super::{StoreArg, count};

/// Arguments of `apiserver-doctor stats`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub store: StoreArg,
    /// Output format: text, or json (the same counts as one JSON object, for scripts).
    #[arg(short = 'o', long, value_enum, ignore_case = true, default_value = "text")]
    pub output: Output,
}

/// How `stats` prints.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// Lines for a person.
    Text,
    /// One JSON object (`"schema": "apiserver-doctor/stats/v1"`).
    Json,
}

/// Runs `apiserver-doctor stats`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // A missing path is said to be missing (and whether it is the default), as `query` says.
    // The files are checked against the manifest read: one a commit replaced meanwhile (small
    // files merged) sends it to the new manifest, rather than calling the store damaged.
    let (store, damaged) = Store::open_checked(&args.store.existing_dir()?, FileCheck::Footer)?;
    if super::ingest_cache::ingest_is_writing(&args.store.dir()) {
        eprintln!(
            "note: {}: what follows is what it held at its last commit {}",
            args.store.named(),
            super::diagnose::WRITING
        );
    }
    let mut out = super::stdout();
    if args.output == Output::Json {
        // Damaged or not, the JSON says what the manifest holds; a damaged store is exit 2.
        let damaged = damaged.err();
        let clients = match (&damaged, store.manifest().totals().events) {
            (None, 1..) => client_counts(&args.store.dir())?,
            _ => Vec::new(),
        };
        let doc = json(&store, &clients, damaged.as_ref().map(|d| d.to_string()));
        super::unless_closed_pipe(
            serde_json::to_writer_pretty(&mut out, &doc)
                .map_err(std::io::Error::from)
                .and_then(|()| writeln!(out)),
        )?;
        if let Some(damaged) = damaged {
            eprintln!("error: {damaged}");
            return Ok(ExitCode::from(2));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = super::Shown(out);
    render(&mut out, &store)?;
    // The summary is the manifest's: check that the files it lists are there and are Parquet
    // (their footers; pages are not read), so that a damaged store is not reported as whole.
    if let Err(damaged) = damaged {
        out.flush()?;
        eprintln!("error: {damaged}");
        let which = if matches!(damaged, audit::store::StoreError::Unreadable { .. }) {
            "unreadable"
        } else {
            "damaged"
        };
        eprintln!("(the counts above are the manifest's: they include the events of the {which} files)");
        return Ok(ExitCode::from(2));
    }
    if store.manifest().totals().events > 0 {
        clients(&mut out, &client_counts(&args.store.dir())?)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `stats -o json`: what [`render`] and [`clients`] print, as one object.
fn json(store: &Store, clients: &[(String, u64)], damaged: Option<String>) -> serde_json::Value {
    use serde_json::{Value, json};
    let manifest = store.manifest();
    let t: Counts = manifest.totals();
    // Every digit stored (review s44: cut to microseconds, `last` fell before the last event
    // of a log with 7-digit times, and a query up to it missed that event).
    let at = |ns: Option<i64>| {
        ns.map_or(Value::Null, |ns| {
            Value::String(
                chrono::DateTime::from_timestamp_nanos(ns)
                    .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            )
        })
    };
    let range = |min: Option<i64>, max: Option<i64>| json!({"first": at(min), "last": at(max)});
    let times = store.time_ranges();
    let (time_range, received, without_event_time) = match &times {
        Ok((event, received)) => {
            (range(event.min, event.max), range(received.min, received.max), Value::from(event.missing))
        }
        Err(_) => (range(t.min_time, t.max_time), Value::Null, Value::Null),
    };
    let total: u64 = clients.iter().map(|(_, n)| n).sum();
    let clients: Vec<Value> = clients
        .iter()
        .map(|(client, n)| json!({"client": client, "requests": n, "share": *n as f64 / total.max(1) as f64}))
        .collect();
    let (verbs_key, verbs) = match manifest.requests_per_verb() {
        Some(verbs) => ("requests_per_verb", verbs),
        None => ("events_per_verb", t.verbs.clone()),
    };
    let categories = manifest.azure_categories();
    let mut doc = json!({
        "schema": "apiserver-doctor/stats/v1",
        "events": t.events,
        // By event time (what diagnose windows on); by stage or request-received time when the
        // event times of an older store could not be read (`event_times`: false).
        "time_range": time_range,
        "event_times": times.is_ok(),
        // Some event time is impossible (see `impossible_times`).
        "impossible_times": times.as_ref().is_ok_and(|(event, _)| impossible_times(event).is_some()),
        "requests_received": received,
        "without_event_time": without_event_time,
        "data_files": manifest.files.len(),
        "data_bytes": manifest.files.iter().map(|f| f.bytes).sum::<u64>(),
        "inputs": manifest.inputs.len(),
        "input_files": manifest.inputs.iter().map(input_json).collect::<Vec<_>>(),
        "duplicates_dropped": manifest.duplicates_dropped,
        "earlier_contents": manifest.earlier_contents,
        "formats": t.formats,
        "stages": t.stages,
        "levels": t.levels,
        verbs_key: verbs,
        "azure_categories": categories,
        "skipped": {
            "total": manifest.skipped.by_kind.values().sum::<u64>(),
            "by_kind": manifest.skipped.by_kind.iter().map(|(k, n)| (k.name().to_owned(), Value::from(*n))).collect::<serde_json::Map<_, _>>(),
            "examples": manifest.skipped.examples.iter().take(10).map(|e| e.to_string()).collect::<Vec<_>>(),
        },
        "files_not_read": manifest.inputs.iter().filter_map(|i| i.not_audit.as_ref().map(|why| json!({"file": i.file, "why": why}))).collect::<Vec<_>>(),
        "only_kube_audit_admin": only_kube_audit_admin(&t, &categories),
        "gke_without_reads": gke_without_reads(&t),
        "clients": clients,
    });
    if let (Some(d), Some(obj)) = (damaged, doc.as_object_mut()) {
        obj.insert("damaged".to_owned(), Value::String(d));
    }
    doc
}

/// The requests per client (user agents with versions folded, as `diagnose`'s AUD001 folds
/// them), most first.
fn client_counts(store: &std::path::Path) -> anyhow::Result<Vec<(String, u64)>> {
    let engine = engine::Engine::open_store(store)?;
    let q = format!(
        "AKSAudit\n| where Stage !in (\"RequestReceived\", \"ResponseStarted\")\n\
         | summarize Requests = count() by Client = {}\n| order by Requests desc, Client asc",
        checks::client::CLIENT_KQL
    );
    let result = engine.query(&q, &engine::QueryOptions::default())?;
    let mut rows: Vec<(String, u64)> = Vec::new();
    for b in &result.batches {
        for i in 0..b.num_rows() {
            let client = engine::format::cell_text(b.column(0).as_ref(), i);
            let n = engine::format::cell_text(b.column(1).as_ref(), i).parse::<u64>().unwrap_or(0);
            rows.push((checks::client::display_client(&client).to_owned(), n));
        }
    }
    Ok(rows)
}

/// The clients sending the most requests, with their share.
fn clients(out: &mut dyn Write, rows: &[(String, u64)]) -> anyhow::Result<()> {
    let total: u64 = rows.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return Ok(());
    }
    writeln!(
        out,
        "clients (requests, user-agent versions folded; {}):",
        plural(rows.len() as u64, "client", "clients")
    )?;
    const SHOWN: usize = 15;
    const WIDEST: usize = 90;
    let width = rows.iter().take(SHOWN).map(|(c, _)| c.chars().count()).max().unwrap_or(0).min(WIDEST);
    let rest: u64 = rows.iter().skip(SHOWN).map(|(_, n)| n).sum();
    let digits = rows
        .iter()
        .take(SHOWN)
        .map(|(_, n)| *n)
        .chain([rest])
        .map(|n| count(n).len())
        .max()
        .unwrap_or(0)
        .max(10);
    for (client, n) in rows.iter().take(SHOWN) {
        let shown: String = if client.chars().count() > width {
            client.chars().take(width - 1).chain(std::iter::once('…')).collect()
        } else {
            client.clone()
        };
        writeln!(
            out,
            "  {shown:<width$}  {:>digits$}  {:>5.1}%",
            count(*n),
            *n as f64 * 100.0 / total as f64
        )?;
    }
    if rows.len() > SHOWN {
        writeln!(
            out,
            "  {:<width$}  {:>digits$}  {:>5.1}%",
            format!("({} more)", rows.len() - SHOWN),
            count(rest),
            rest as f64 * 100.0 / total as f64
        )?;
    }
    Ok(())
}

/// Inputs listed one per line by the text output; `-o json` lists every one.
const INPUTS_SHOWN: usize = 50;

/// The inputs the store was made from, as the manifest recorded them (in the order ingested):
/// what to ingest again into a new store when this one is damaged.
fn inputs(out: &mut dyn Write, store: &Store) -> std::io::Result<()> {
    let inputs = &store.manifest().inputs;
    if inputs.is_empty() {
        return Ok(());
    }
    writeln!(out, "inputs (as named when ingested, in that order; format detected, events read):")?;
    for i in inputs.iter().take(INPUTS_SHOWN) {
        writeln!(out, "  {}", input_line(i))?;
    }
    if inputs.len() > INPUTS_SHOWN {
        writeln!(
            out,
            "  … and {} more: `apiserver-doctor stats --store {} -o json` lists every one (`input_files`)",
            inputs.len() - INPUTS_SHOWN,
            findings::text::shell_quote(&store.dir().display().to_string())
        )?;
    }
    Ok(())
}

/// One input: `file: format, N events read[, K skipped][, only partly read: why]`, or
/// `file: why it is not an audit log`.
fn input_line(i: &IngestedInput) -> String {
    let file = if i.file == "-" { "- (stdin)" } else { i.file.as_str() };
    if let Some(why) = &i.not_audit {
        return format!("{file}: {why}");
    }
    let mut line = match (i.format.as_deref(), i.events) {
        // `no events` says it once, not `no events, 0 events read`.
        (None, 0) => format!("{file}: no events"),
        (format, n) => {
            format!("{file}: {}, {} read", format.unwrap_or("no events"), plural(n, "event", "events"))
        }
    };
    if i.skipped > 0 {
        line.push_str(&format!(", {} skipped", count(i.skipped)));
    }
    if let Some(why) = &i.incomplete {
        line.push_str(&format!(", only partly read ({why})"));
    }
    line
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", count(n), if n == 1 { one } else { many })
}

/// `input_files` of `stats -o json`: one object per input, every one.
fn input_json(i: &IngestedInput) -> serde_json::Value {
    serde_json::json!({
        "file": i.file,
        "path": i.path,
        "format": i.format,
        "events": i.events,
        "skipped": i.skipped,
        "skipped_by_kind": i.skipped_by_kind.iter().map(|(k, n)| (k.name().to_owned(), serde_json::Value::from(*n))).collect::<serde_json::Map<_, _>>(),
        "not_audit": i.not_audit,
        "incomplete": i.incomplete,
        "bytes": i.size,
        "modified": i.mtime.and_then(|s| chrono::DateTime::from_timestamp(s, 0)).map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
    })
}

/// A warning when the first or the last event time is one no audit event can carry (before
/// Kubernetes began, or more than a day from now): `diagnose` leaves such events out of its
/// default window, and AUD009 counts them.
fn impossible_times(event: &audit::store::TimeRange) -> Option<String> {
    let (min, max) = (event.min?, event.max?);
    let range = findings::TimeRange {
        start: chrono::DateTime::from_timestamp_nanos(min),
        end: chrono::DateTime::from_timestamp_nanos(max),
    };
    if checks::aud009_evidence::all_possible(&range) {
        return None;
    }
    Some(
        "warning: some events are stamped before 2014-06-06 (Kubernetes' first commit) or more than a day from \
         now: a wrong clock or a broken export; diagnose leaves them out of its default window and counts them \
         (AUD009)"
            .to_owned(),
    )
}

fn time(ns: Option<i64>) -> String {
    match ns {
        Some(ns) => chrono::DateTime::from_timestamp_nanos(ns).format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        None => "-".to_owned(),
    }
}

fn table(
    out: &mut dyn Write,
    title: &str,
    counts: &std::collections::BTreeMap<String, u64>,
) -> std::io::Result<()> {
    if counts.is_empty() {
        return Ok(());
    }
    writeln!(out, "{title}:")?;
    let mut rows: Vec<(&String, &u64)> = counts.iter().collect();
    // Largest first; ties by name so the output never changes between runs.
    rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let width = rows.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
    let digits = rows.iter().map(|(_, n)| count(**n).len()).max().unwrap_or(0).max(10);
    for (k, n) in rows {
        writeln!(out, "  {k:<width$}  {:>digits$}", count(*n))?;
    }
    Ok(())
}

/// Writes the summary of `store`, from its manifest (and, for files written by a build that
/// did not count their times, from their time columns).
pub fn render(out: &mut dyn Write, store: &Store) -> std::io::Result<()> {
    let manifest = store.manifest();
    let t: Counts = manifest.totals();
    writeln!(out, "events:      {}", count(t.events))?;
    // What diagnose windows on: the event's own time. When the time columns of an older
    // store cannot be read, the range over both times it did record, labelled as such.
    let times = store.time_ranges();
    match &times {
        Ok((event, received)) => {
            writeln!(
                out,
                "time range:  {} .. {}  (event times: what diagnose windows on)",
                time(event.min),
                time(event.max)
            )?;
            if let Some(warning) = impossible_times(event) {
                writeln!(out, "{warning}")?;
            }
            if received.min.is_some() && (received.min, received.max) != (event.min, event.max) {
                writeln!(
                    out,
                    "requests received: {} .. {}  (requestReceivedTimestamp; earlier when a request, such as a \
                     watch, began before the log)",
                    time(received.min),
                    time(received.max)
                )?;
            }
        }
        Err(e) => writeln!(
            out,
            "time range:  {} .. {}  (stage or request-received times: the event times of this store could not \
             be read: {e})",
            time(t.min_time),
            time(t.max_time)
        )?,
    }
    writeln!(
        out,
        "data files:  {} ({} bytes)",
        count(manifest.files.len() as u64),
        count(manifest.files.iter().map(|f| f.bytes).sum::<u64>())
    )?;
    writeln!(out, "inputs:      {}", count(manifest.inputs.len() as u64))?;
    writeln!(out, "duplicates dropped: {}", count(manifest.duplicates_dropped))?;
    if manifest.earlier_contents > 0 {
        writeln!(
            out,
            "from earlier contents: {}  (events stored from files read again since, which no longer hold them: a \
             file that shrank or was rewritten; the inputs below count what they hold now)",
            count(manifest.earlier_contents)
        )?;
    }
    match &times {
        Ok((event, _)) if event.missing > 0 => writeln!(
            out,
            "without an event time: {}  (no stageTimestamp or TimeGenerated: diagnose leaves them out)",
            count(event.missing)
        )?,
        Ok(_) => {}
        Err(_) if t.without_timestamps > 0 => writeln!(
            out,
            "without timestamps: {}  (no stageTimestamp or requestReceivedTimestamp)",
            count(t.without_timestamps)
        )?,
        Err(_) => {}
    }
    table(out, "formats", &t.formats)?;
    table(out, "stages", &t.stages)?;
    table(out, "levels", &t.levels)?;
    match manifest.requests_per_verb() {
        Some(verbs) => table(out, "requests per verb (as diagnose and clients count them)", &verbs)?,
        None => {
            table(out, "events per verb (a request counts once per stage logged: a watch twice)", &t.verbs)?
        }
    }
    let categories = manifest.azure_categories();
    table(out, "azure categories (events read)", &categories)?;
    let skipped: u64 = manifest.skipped.by_kind.values().sum();
    if skipped > 0 {
        writeln!(out, "skipped records: {}", count(skipped))?;
        for (kind, n) in &manifest.skipped.by_kind {
            writeln!(out, "  {:<18}  {:>10}", kind.name(), count(*n))?;
        }
        writeln!(out, "  first examples:")?;
        for ex in manifest.skipped.examples.iter().take(10) {
            writeln!(out, "    {ex}")?;
        }
    }
    inputs(out, store)?;
    let not_audit: Vec<_> = manifest.inputs.iter().filter(|i| i.not_audit.is_some()).collect();
    if !not_audit.is_empty() {
        writeln!(out, "files not read: {}", not_audit.len())?;
        for i in not_audit.iter().take(10) {
            writeln!(out, "  {}: {}", i.file, i.not_audit.as_deref().unwrap_or_default())?;
        }
    }
    if only_kube_audit_admin(&t, &categories) {
        writeln!(
            out,
            "warning: only kube-audit-admin events: Azure leaves get and list out of that category, so read load \
             cannot be analysed; export the kube-audit category (or AKSAudit) as well"
        )?;
    }
    if gke_without_reads(&t) {
        writeln!(
            out,
            "warning: GKE entries without one get or list: GKE logs reads in its Data Access audit log, which is \
             off until enabled, so read load cannot be analysed; enable Data Access audit logs for the Kubernetes \
             API and export cloudaudit.googleapis.com/data_access as well"
        )?;
    }
    Ok(())
}

/// Whether every event is a GKE Cloud Logging entry and none a `get` or `list`: the Admin
/// Activity log alone, without the Data Access log where GKE puts reads.
fn gke_without_reads(stored: &Counts) -> bool {
    let gke = stored.formats.get(InputFormat::Gke.name()).copied().unwrap_or(0);
    let reads: u64 = ["get", "list"].iter().map(|v| stored.verbs.get(*v).copied().unwrap_or(0)).sum();
    gke > 0 && gke == stored.events && reads == 0
}

/// Whether every event came in the `kube-audit-admin` category alone: neither a `kube-audit`
/// row nor an event of no category (a native log) was read.
fn only_kube_audit_admin(stored: &Counts, read: &std::collections::BTreeMap<String, u64>) -> bool {
    let stored_categorized: u64 = stored.categories.values().sum();
    read.get("kube-audit-admin").is_some_and(|n| *n > 0)
        && read.get("kube-audit").is_none_or(|n| *n == 0)
        && stored_categorized == stored.events
}
