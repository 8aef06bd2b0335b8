//! The JSON report: the model in a fixed key order, findings worst first, and a summary.
//! The schema is documented in `docs/report-schema.md`; bump
//! [`findings::REPORT_SCHEMA_VERSION`] on any incompatible change.

use std::io::{self, Write};

use findings::{Finding, InputSummary, Overview, RemedyKind, Report, Severity, TimeRange};
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
    overview: Overview,
    findings: Vec<Finding>,
    checks_run: &'a [String],
}

pub(crate) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    // Keep the kind of a write error (a closed pipe is not a failure to the caller).
    serde_json::to_writer_pretty(&mut *out, &document(report))
        .map_err(|e| io::Error::new(e.io_error_kind().unwrap_or(io::ErrorKind::Other), e))?;
    writeln!(out)
}

/// The report as a JSON value, for commands that print it inside a document of their own.
pub(crate) fn value(report: &Report) -> serde_json::Value {
    // Serializing plain data into a `Value` cannot fail: no map key is anything but a string.
    serde_json::to_value(document(report)).unwrap_or(serde_json::Value::Null)
}

fn document(report: &Report) -> Document<'_> {
    let (critical, warning, info) = format::counts(report);
    Document {
        schema_version: report.schema_version,
        tool_version: &report.tool_version,
        window: report.window.as_ref(),
        summary: Summary { critical, warning, info, worst: report.worst() },
        inputs: &report.inputs,
        overview: with_gaps(&report.overview),
        findings: sorted_findings(report).into_iter().map(readable).collect(),
        checks_run: &report.checks_run,
    }
}

/// The overview with a `null` point in every empty bin of its lines ([`charts::with_gaps`]),
/// as the charts draw them.
fn with_gaps(o: &Overview) -> Overview {
    let mut o = o.clone();
    o.top_clients = o.top_clients.as_ref().map(charts::with_gaps);
    o.latency_over_time = o.latency_over_time.as_ref().map(charts::with_gaps);
    o
}

/// The parts of a finding people read, as `docs/report-schema.md` promises them: the title on
/// one line (a line feed from the log as `␤`, as every other format shows it), the subject and
/// the remedies' titles on one plain line, the summary and advice without hidden characters
/// ([`findings::text`]: control characters, BiDi controls, U+2028/U+2029 become U+FFFD). The
/// evidence (measures, query, table, chart) and the YAML and command bodies stay as the checks
/// wrote them: they are data for scripts and `kubectl apply`.
fn readable(f: &Finding) -> Finding {
    use findings::text::{multi_line, one_line};
    let mut f = f.clone();
    f.evidence.chart = f.evidence.chart.as_ref().map(charts::with_gaps);
    // A line feed from the log shows as `␤`, as the text, Markdown and HTML titles show it.
    f.title = findings::text::one_paragraph(&f.title);
    f.subject.kind = one_line(&f.subject.kind);
    f.subject.name = one_line(&f.subject.name);
    // The value's own backticks as they are in the log (findings::text::literal_backticks).
    f.summary = multi_line(&findings::text::unescape_backticks(&f.summary));
    for r in &mut f.remedies {
        r.title = one_line(&r.title);
        if r.kind == RemedyKind::Advice {
            r.body = multi_line(&r.body);
        }
    }
    f
}
