//! Reports from one model ([`findings::Report`]): terminal text, JSON, Markdown for incident
//! tickets, and a self-contained HTML page with inline SVG charts.
//!
//! Every renderer writes to a `&mut dyn Write` and never prints. Every renderer shows the
//! findings worst first ([`findings::sort_findings`] order), shows only what the model holds,
//! escapes it for its format, and replaces anything shaped like a credential (JWT, `Bearer`
//! value, bootstrap token) with `[REDACTED]` first. Output is deterministic: the same report
//! gives the same bytes (no clock, no hash order, no paths added).
//!
//! ```
//! use findings::{Report, REPORT_SCHEMA_VERSION};
//! let report = Report {
//!     schema_version: REPORT_SCHEMA_VERSION,
//!     tool_version: "0.1.0".into(),
//!     window: None,
//!     inputs: vec![],
//!     overview: Default::default(),
//!     findings: vec![],
//!     checks_run: vec!["AUD001".into()],
//! };
//! let mut out = Vec::new();
//! report::render(&report, report::Format::Markdown, &mut out, &report::TextOptions::default())?;
//! assert!(String::from_utf8_lossy(&out).contains("no findings"));
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io::{self, Write};
use std::str::FromStr;

use findings::{Finding, Report};

pub mod format;
mod html;
mod json;
mod markdown;
mod redact;
mod text;

pub use html::escape as escape_html;
pub use json::JSON_SCHEMA_DOC;
pub use markdown::escape as escape_markdown;
pub use redact::{REDACTED, redact, redact_report};

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Plain words for a terminal (`-o text`).
    Text,
    /// The versioned JSON document of `docs/report-schema.md` (`-o json`).
    Json,
    /// Markdown for incident tickets (`-o markdown`).
    Markdown,
    /// The self-contained HTML report (`--report FILE.html`).
    Html,
}

impl Format {
    /// The name as `-o` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Markdown => "markdown",
            Format::Html => "html",
        }
    }
}

/// An unknown `-o` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown report format {0:?}: expected text, json, markdown (or md) or html")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" | "txt" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            "markdown" | "md" => Ok(Format::Markdown),
            "html" | "htm" => Ok(Format::Html),
            _ => Err(UnknownFormat(s.to_owned())),
        }
    }
}

/// How the terminal text looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextOptions {
    /// Use ANSI colours (see [`use_color`]).
    pub color: bool,
    /// Width in columns for wrapping, tables and charts (40 to 240).
    pub width: usize,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions { color: false, width: 100 }
    }
}

/// Whether to colour: only on a terminal, not when `NO_COLOR` is set to a non-empty value
/// (<https://no-color.org>), and not when `TERM` is `dumb` (a terminal that shows escape
/// sequences as text). Pass `std::env::var_os("NO_COLOR")` as `no_color`; `TERM` is read here.
pub fn use_color(is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    color_for(is_terminal, no_color, std::env::var_os("TERM").as_deref())
}

/// [`use_color`] with `TERM` given.
fn color_for(is_terminal: bool, no_color: Option<&std::ffi::OsStr>, term: Option<&std::ffi::OsStr>) -> bool {
    is_terminal && no_color.is_none_or(|v| v.is_empty()) && term.is_none_or(|t| t != "dumb")
}

#[cfg(test)]
mod color_tests {
    use super::color_for;
    use std::ffi::OsStr;

    #[test]
    fn term_dumb_turns_colour_off() {
        // Colour stayed on with TERM=dumb (ux review item 15).
        assert!(!color_for(true, None, Some(OsStr::new("dumb"))));
        assert!(color_for(true, None, Some(OsStr::new("xterm-256color"))));
        assert!(color_for(true, None, None));
        assert!(!color_for(true, Some(OsStr::new("1")), None));
        assert!(color_for(true, Some(OsStr::new("")), None));
        assert!(!color_for(false, None, None));
    }
}

/// The report's findings in report order ([`findings::report_order`]: worst first, causes
/// before symptoms, then code and subject); the model may arrive unsorted.
pub fn sorted_findings(report: &Report) -> Vec<&Finding> {
    let mut v: Vec<&Finding> = report.findings.iter().collect();
    v.sort_by(|a, b| findings::report_order(a, b));
    v
}

/// The report as every format shows it: credentials redacted ([`redact_report`]), and a note
/// for each overview chart or table the checks did not draw ([`missing_overview_notes`]).
fn prepared(report: &Report) -> Report {
    let mut r = redact_report(report);
    let notes = missing_overview_notes(&r);
    r.overview.notes.extend(notes);
    r
}

/// Why the overview has no latency chart or no P99 table although the log has requests (its
/// top-clients chart is there) and AUD002 or AUD003 ran: no request has a latency that counts
/// (every one is long-running, or has no usable timestamps), or no group has enough of them.
/// Without it the overview ended after the top clients without a word.
fn missing_overview_notes(r: &Report) -> Vec<String> {
    const WHY: &str = "no request in the window has a latency that counts. Long-running requests (watch; the \
                       exec, attach, portforward, proxy and log subresources) are left out, as the SLOs define, \
                       and a request without usable timestamps has no latency (AUD009 counts them).";
    let o = &r.overview;
    let ran = |code: &str| r.checks_run.iter().any(|c| c == code);
    if o.top_clients.is_none() {
        return Vec::new();
    }
    match (o.latency_over_time.is_none() && ran("AUD002"), o.p99_table.is_none() && ran("AUD003")) {
        (true, true) => vec![format!("No latency chart and no P99 table: {WHY}")],
        (true, false) => vec![format!("No latency chart: {WHY}")],
        (false, true) => vec![
            "No P99 table: no verb, resource and scope had enough requests with a latency (the min_requests \
             threshold) to judge against the SLOs; long-running requests are left out, as the SLOs define."
                .to_owned(),
        ],
        (false, false) => Vec::new(),
    }
}

/// Renders `report` in `format`. `text` applies to [`Format::Text`] only.
pub fn render(report: &Report, format: Format, out: &mut dyn Write, text: &TextOptions) -> io::Result<()> {
    match format {
        Format::Text => render_text(report, out, text),
        Format::Json => render_json(report, out),
        Format::Markdown => render_markdown(report, out),
        Format::Html => render_html(report, out),
    }
}

/// The terminal report.
pub fn render_text(report: &Report, out: &mut dyn Write, options: &TextOptions) -> io::Result<()> {
    text::render(&prepared(report), out, options)
}

/// The JSON report (`docs/report-schema.md`), pretty-printed, ending with a newline.
pub fn render_json(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    json::render(&prepared(report), out)
}

/// The JSON report as a value, the same as [`render_json`] writes (summary included, redacted),
/// for `etcd` and `probe`, which print it beside their evidence.
pub fn json_value(report: &Report) -> serde_json::Value {
    json::value(&prepared(report))
}

/// The Markdown report.
pub fn render_markdown(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    markdown::render(&prepared(report), out)
}

/// The self-contained HTML report.
pub fn render_html(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    html::render(&prepared(report), out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_with_aliases_and_reject_others() {
        assert_eq!("md".parse::<Format>(), Ok(Format::Markdown));
        assert_eq!("JSON".parse::<Format>(), Ok(Format::Json));
        assert!("yaml".parse::<Format>().is_err());
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        use std::ffi::OsStr;
        // `TERM` as a colour terminal sets it, whatever the test runner's is.
        let term = Some(OsStr::new("xterm"));
        assert!(color_for(true, None, term));
        assert!(!color_for(false, None, term));
        assert!(!color_for(true, Some(OsStr::new("1")), term));
        // An empty NO_COLOR does not disable colour (no-color.org).
        assert!(color_for(true, Some(OsStr::new("")), term));
    }
}
