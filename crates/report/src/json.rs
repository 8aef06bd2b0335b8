//! The JSON report: the model in a fixed key order, findings worst first, and a summary.
//! The schema is documented in `docs/report-schema.md`; bump
//! [`findings::REPORT_SCHEMA_VERSION`] on any incompatible change.

use std::io::{self, Write};

use findings::{Finding, InputSummary, Overview, Report, Severity, TimeRange};
use serde::Serialize;

use crate::{format, sorted_findings};

/// Where the schema is documented.
pub const JSON_SCHEMA_DOC: &str = "docs/report-schema.md";

#[derive(Serialize)]
struct Summary {
    critical: usize,
    warning: usize,
    info: usize,
    worst: Option<Severity>,
}

#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    tool_version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    window: Option<&'a TimeRange>,
    summary: Summary,
    inputs: &'a [InputSummary],
    overview: &'a Overview,
    findings: Vec<&'a Finding>,
    checks_run: &'a [String],
}

pub(crate) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let (critical, warning, info) = format::counts(report);
    let doc = Document {
        schema_version: report.schema_version,
        tool_version: &report.tool_version,
        window: report.window.as_ref(),
        summary: Summary { critical, warning, info, worst: report.worst() },
        inputs: &report.inputs,
        overview: &report.overview,
        findings: sorted_findings(report),
        checks_run: &report.checks_run,
    };
    // Keep the kind of a write error (a closed pipe is not a failure to the caller).
    serde_json::to_writer_pretty(&mut *out, &doc)
        .map_err(|e| io::Error::new(e.io_error_kind().unwrap_or(io::ErrorKind::Other), e))?;
    writeln!(out)
}
