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
    Report {
        schema_version: findings::REPORT_SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        window: None,
        inputs: inputs(m),
        overview: findings::Overview { notes: m.notes.clone(), ..Default::default() },
        findings: run(m, ctx),
        checks_run: infos().iter().map(|i| i.code.to_owned()).collect(),
    }
}
