//! The per-verb and per-client mix of audit logs, read with `audit::read` (every format ingest
//! reads): what docs/simulate.md shows for a simulated hour beside the real published events.
//!
//! `cargo run --release -p simulate --example mix -- PATH... [--top N]`
//!
//! A request is a `ResponseComplete` event; files without any (e.g. single-stage samples) count
//! every event, and the output says so. The client is the user agent's product (the part before
//! the first `/`), or the username when there is no user agent.

use std::collections::BTreeMap;
use std::path::PathBuf;

use arrow::array::{Array, AsArray, RecordBatch};
use audit::col;
use audit::read::{ReadOptions, SinkError, read_paths};

#[derive(Default)]
struct Mix {
    all: u64,
    complete: u64,
    verbs: [BTreeMap<String, u64>; 2],
    clients: [BTreeMap<String, u64>; 2],
}

fn client(agent: Option<&str>, user: Option<&str>) -> String {
    match agent.filter(|a| !a.is_empty()) {
        Some(a) => a.split('/').next().unwrap_or(a).trim().to_owned(),
        None => user.filter(|u| !u.is_empty()).map_or_else(|| "(none)".to_owned(), |u| format!("user {u}")),
    }
}

fn table(title: &str, counts: &BTreeMap<String, u64>, total: u64, top: usize) {
    let mut rows: Vec<(&String, &u64)> = counts.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    println!("| {title} | requests | share |");
    println!("|---|---:|---:|");
    let mut shown = 0;
    for (name, n) in rows.iter().take(top) {
        println!("| {name} | {n} | {:.1} % |", **n as f64 * 100.0 / total.max(1) as f64);
        shown += **n;
    }
    if rows.len() > top {
        let rest = total - shown;
        println!(
            "| ({} others) | {rest} | {:.1} % |",
            rows.len() - top,
            rest as f64 * 100.0 / total.max(1) as f64
        );
    }
    println!();
}

/// The value at `i`, or `None` when null.
fn get(a: &arrow::array::StringArray, i: usize) -> Option<&str> {
    (!a.is_null(i)).then(|| a.value(i))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut paths = Vec::new();
    let mut top = 12;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--top" {
            top = args.next().ok_or("--top needs a number")?.parse()?;
        } else {
            paths.push(PathBuf::from(a));
        }
    }
    if paths.is_empty() {
        return Err("usage: mix PATH... [--top N]".into());
    }
    let mut mix = Mix::default();
    let mut sink = |_file: &str, batch: RecordBatch| -> Result<(), SinkError> {
        let column = |name: &str| batch.column_by_name(name).and_then(|c| c.as_string_opt::<i32>());
        let (Some(stage), Some(verb), Some(agent), Some(user)) =
            (column(col::STAGE), column(col::VERB), column(col::USER_AGENT), column(col::USER_USERNAME))
        else {
            return Err("batch without the canonical string columns".into());
        };
        for i in 0..batch.num_rows() {
            let complete = get(stage, i) == Some("ResponseComplete");
            let verb_name = get(verb, i).unwrap_or("(none)").to_owned();
            let who = client(get(agent, i), get(user, i));
            mix.all += 1;
            for (k, counted) in [(0, true), (1, complete)] {
                if counted {
                    *mix.verbs[k].entry(verb_name.clone()).or_default() += 1;
                    *mix.clients[k].entry(who.clone()).or_default() += 1;
                }
            }
            mix.complete += u64::from(complete);
        }
        Ok(())
    };
    let summary = read_paths(&paths, &ReadOptions::default(), &mut sink)?;
    let k = usize::from(mix.complete > 0);
    let total = if k == 1 { mix.complete } else { mix.all };
    let files = summary.files.iter().filter(|f| f.not_audit.is_none()).count();
    println!(
        "{} events in {files} audit files ({} skipped records); counting {} ({total})",
        summary.events(),
        summary.skipped(),
        if k == 1 { "requests (ResponseComplete events)" } else { "every event (no ResponseComplete stage)" }
    );
    println!();
    table("verb", &mix.verbs[k], total, top);
    table("client (user agent product)", &mix.clients[k], total, top);
    Ok(())
}
