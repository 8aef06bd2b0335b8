//! The manifests' part of a report: one input per file, the webhook findings.

use findings::{InputSummary, Report};

use crate::Manifests;
use crate::checks::{Context, infos, run};

/// One input summary per file read: objects used, documents skipped, what was found.
pub fn inputs(m: &Manifests) -> Vec<InputSummary> {
    m.files
        .iter()
        .map(|f| {
            let webhooks: usize =
                m.webhook_configurations.iter().filter(|c| c.file == f.path).map(|c| c.webhooks.len()).sum();
            let mut parts = Vec::new();
            if f.webhook_configurations > 0 {
                parts.push(format!(
                    "{} webhook configuration{} ({webhooks} webhook{})",
                    f.webhook_configurations,
                    plural(f.webhook_configurations),
                    plural(webhooks as u64)
                ));
            }
            if f.flow_schemas > 0 || f.priority_levels > 0 {
                parts.push(format!(
                    "{} flow schema{}, {} priority level{}",
                    f.flow_schemas,
                    plural(f.flow_schemas),
                    f.priority_levels,
                    plural(f.priority_levels)
                ));
            }
            if f.namespaces > 0 {
                parts.push(format!("{} namespace{}", f.namespaces, plural(f.namespaces)));
            }
            if f.duplicates > 0 {
                parts.push(format!(
                    "{} cop{} of objects read before left out",
                    f.duplicates,
                    if f.duplicates == 1 { "y" } else { "ies" }
                ));
            }
            if f.other_objects > 0 {
                parts.push(format!("{} other object{} left out", f.other_objects, plural(f.other_objects)));
            }
            if parts.is_empty() {
                parts.push("nothing the checks read".to_owned());
            }
            InputSummary {
                kind: "manifests".to_owned(),
                source: f.path.clone(),
                records: f.records(),
                skipped: f.problems.len() as u64,
                detected: Some(parts.join(", ")),
            }
        })
        .collect()
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The report of the manifests alone: inputs, findings, and the webhook checks as run.
pub fn manifests_report(m: &Manifests, ctx: &Context) -> Report {
    let (ran, not_run) = coverage(m);
    let mut notes = m.notes.clone();
    notes.extend(not_run);
    Report {
        schema_version: findings::REPORT_SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        window: None,
        inputs: inputs(m),
        overview: findings::Overview { notes, ..Default::default() },
        findings: run(m, ctx),
        checks_run: ran,
    }
}

/// The checks that had something to read in `m`, and a note for each that had not (on-call
/// review 52, item 13: APF001 was listed as run with no PriorityLevelConfiguration given, and
/// "no findings" read as "every FlowSchema's level exists").
fn coverage(m: &Manifests) -> (Vec<String>, Vec<String>) {
    let mut ran = Vec::new();
    let mut notes: Vec<(Vec<&str>, &str)> = Vec::new();
    for info in infos() {
        let missing = match info.code {
            "WHK001" if m.webhook_configurations.is_empty() => Some(
                "no webhook configuration was given (`kubectl get mutatingwebhookconfigurations,validatingwebhookconfigurations -o yaml`)",
            ),
            "APF001" if m.flow_schemas.is_empty() => {
                Some("no FlowSchema was given (`kubectl get flowschemas -o yaml`)")
            }
            "APF001" if m.priority_levels.is_empty() => Some(
                "no PriorityLevelConfiguration was given, so whether each FlowSchema's level exists cannot be told (`kubectl get prioritylevelconfigurations -o yaml`)",
            ),
            "APF002" if m.flow_schemas.is_empty() => {
                Some("no FlowSchema was given (`kubectl get flowschemas -o yaml`)")
            }
            _ => None,
        };
        match missing {
            Some(why) => match notes.iter_mut().find(|(_, w)| *w == why) {
                Some((codes, _)) => codes.push(info.code),
                None => notes.push((vec![info.code], why)),
            },
            None => ran.push(info.code.to_owned()),
        }
    }
    let notes = notes
        .into_iter()
        .map(|(codes, why)| format!("{} did not run: {why}.", codes.join(" and ")))
        .collect();
    (ran, notes)
}
