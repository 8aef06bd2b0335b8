//! Numbers, times and severities in words, the same way in every renderer.

use chrono::{DateTime, Utc};
use findings::{Report, Safety, Severity, TimeRange};

/// An integer with thousands separators: `1234567` → `1,234,567`.
pub fn thousands(v: u64) -> String {
    findings::thousands(i128::from(v))
}

pub use findings::units::{bytes, measure_value, number, threshold_value};

/// A time as `2024-05-01 10:00:00 UTC` (fractions kept only when present).
pub fn time(t: &DateTime<Utc>) -> String {
    if t.timestamp_subsec_millis() == 0 {
        t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string()
    }
}

pub use findings::duration;

/// A time range: `2024-05-01 10:00:00 → 11:00:00 UTC (1h)`; the date is repeated only when it changes.
pub fn range(r: &TimeRange) -> String {
    let same_day = r.start.date_naive() == r.end.date_naive();
    let end = if same_day {
        r.end
            .format(if r.end.timestamp_subsec_millis() == 0 { "%H:%M:%S UTC" } else { "%H:%M:%S%.3f UTC" })
            .to_string()
    } else {
        time(&r.end)
    };
    let start = time(&r.start);
    let start = start.trim_end_matches(" UTC");
    format!("{start} → {end} ({})", findings::duration_between(r.start, r.end))
}

/// Upper-case severity, as a label: `CRITICAL`, `WARNING`, `INFO`.
pub fn severity_label(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "CRITICAL",
        Severity::Warning => "WARNING",
        Severity::Info => "INFO",
    }
}

/// How safe a remedy is, in the words the reports use.
pub fn safety(s: Safety) -> &'static str {
    match s {
        Safety::Safe => "safe to apply",
        Safety::ReviewFirst => "review first",
    }
}

/// Whether a `status` cell of a table says its row is over its limit (starts with `over`,
/// `above` or `breach`, docs/report-schema.md): the HTML report marks such a row of the P99
/// table, the text report shows it first.
pub fn over_slo(status: &str) -> bool {
    let v = status.trim().to_ascii_lowercase();
    v.starts_with("over") || v.starts_with("above") || v.starts_with("breach")
}

/// Findings per severity: (critical, warning, info).
pub fn counts(report: &Report) -> (usize, usize, usize) {
    let count = |s| report.findings.iter().filter(|f| f.severity == s).count();
    (count(Severity::Critical), count(Severity::Warning), count(Severity::Info))
}

/// `3 critical, 2 warnings, 1 info`, or `no findings`.
pub fn counts_line(report: &Report) -> String {
    let (c, w, i) = counts(report);
    if c + w + i == 0 {
        return "no findings".into();
    }
    let mut parts = Vec::new();
    if c > 0 {
        parts.push(format!("{c} critical"));
    }
    if w > 0 {
        parts.push(format!("{w} warning{}", if w == 1 { "" } else { "s" }));
    }
    if i > 0 {
        parts.push(format!("{i} info"));
    }
    parts.join(", ")
}

/// Splits prose into plain and `code` parts at paired backticks; `true` marks code. With an
/// unpaired backtick the whole text is plain. A backtick written `` \` `` is a value's own
/// ([`findings::text::literal_backticks`]: the audit checks write every name from the log so):
/// it marks nothing and shows as `` ` `` in whichever part it is.
pub fn code_spans(s: &str) -> Vec<(bool, String)> {
    // Split at the backticks that mark code: those not escaped.
    let mut parts: Vec<String> = vec![String::new()];
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'`') => {
                chars.next();
                if let Some(p) = parts.last_mut() {
                    p.push('`');
                }
            }
            '`' => parts.push(String::new()),
            c => {
                if let Some(p) = parts.last_mut() {
                    p.push(c);
                }
            }
        }
    }
    if parts.len().is_multiple_of(2) {
        return vec![(false, findings::text::unescape_backticks(s))];
    }
    parts
        .into_iter()
        .enumerate()
        .filter(|(i, p)| !p.is_empty() || i % 2 == 1)
        .map(|(i, p)| (i % 2 == 1, p))
        .collect()
}

/// A paragraph of an advice body (paragraphs are separated by a blank line), as every
/// renderer shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paragraph<'a> {
    /// Prose: wrapped to the width, with its `code` spans.
    Prose(&'a str),
    /// A list: every line starts with `- `; its items (prose each) without the marker.
    List(Vec<&'a str>),
    /// A snippet (YAML, commands): its lines and indentation kept exactly, as code. `lang` is
    /// `yaml` when every line reads as YAML (`key:`, `key: value`, `- item`), else empty.
    Verbatim {
        /// The snippet's language for Markdown fences and HTML classes, or empty.
        lang: &'static str,
        /// Its lines.
        text: &'a str,
    },
}

/// The paragraphs of an advice body. A paragraph with an indented line is a snippet (prose is
/// never indented, and a YAML snippet is nothing without its indentation): the renderers keep its
/// lines as they are instead of wrapping or joining them.
pub fn paragraphs(body: &str) -> Vec<Paragraph<'_>> {
    body.split("\n\n")
        .map(|p| p.trim_matches('\n'))
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            if p.lines().any(|l| l.starts_with([' ', '\t']) && !l.trim().is_empty()) {
                Paragraph::Verbatim { lang: if looks_like_yaml(p) { "yaml" } else { "" }, text: p }
            } else if p.lines().all(|l| l.starts_with("- ")) {
                // Review s54 item 5: Markdown and HTML joined such lines into one paragraph, so
                // the tuning advice read as one run-on sentence of "- " fragments.
                Paragraph::List(p.lines().map(|l| l["- ".len()..].trim()).collect())
            } else {
                Paragraph::Prose(p)
            }
        })
        .collect()
}

/// Whether every line of `text` reads as a YAML mapping entry or list item.
fn looks_like_yaml(text: &str) -> bool {
    text.lines().filter(|l| !l.trim().is_empty()).all(|line| {
        let line = line.trim_start();
        let line = line.strip_prefix("- ").unwrap_or(line);
        let key = line.split_once(": ").map_or(line.strip_suffix(':').unwrap_or(""), |(k, _)| k);
        !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn advice_paragraphs_with_an_indented_line_are_snippets() {
        use super::Paragraph::{List, Prose, Verbatim};
        let body = "Set it, for example:\n\nspec:\n  ttlSecondsAfterFinished: 3600\n\n- one\n- two\n\n  kubectl get x\n";
        assert_eq!(
            super::paragraphs(body),
            vec![
                Prose("Set it, for example:"),
                Verbatim { lang: "yaml", text: "spec:\n  ttlSecondsAfterFinished: 3600" },
                List(vec!["one", "two"]),
                Verbatim { lang: "", text: "  kubectl get x" },
            ]
        );
    }

    /// Expected spans, as `code_spans` returns them.
    fn owned(v: &[(bool, &str)]) -> Vec<(bool, String)> {
        v.iter().map(|(c, p)| (*c, (*p).to_owned())).collect()
    }

    #[test]
    fn code_spans_pair_backticks() {
        let spans = |s: &str| -> Vec<(bool, String)> { super::code_spans(s) };
        assert_eq!(spans("a `b` c"), owned(&[(false, "a "), (true, "b"), (false, " c")]));
        assert_eq!(spans("a `b c"), owned(&[(false, "a `b c")]));
        assert_eq!(spans("`x`"), owned(&[(true, "x")]));
    }

    /// Review 27 (html, item 12): the user `fence```user` showed as `fence<code></code>…` in
    /// the HTML summary and the webhook `…evil|`w`[wh]…` lost its backticks.
    #[test]
    fn backticks_of_a_log_value_in_a_summary_stay_literal_and_check_code_stays_code() {
        let summary = format!(
            "{} sent 5 LISTs; run `kubectl get {}`",
            findings::text::literal_backticks("fence```user"),
            findings::text::literal_backticks("p`o")
        );
        assert_eq!(
            super::code_spans(&summary),
            owned(&[(false, "fence```user sent 5 LISTs; run "), (true, "kubectl get p`o")])
        );
        // A value with an odd number of backticks does not turn the rest of the text into code.
        let odd = format!("{} and `x`", findings::text::literal_backticks("a`b"));
        assert_eq!(super::code_spans(&odd), owned(&[(false, "a`b and "), (true, "x")]));
    }

    use super::*;
    use findings::Measure;

    #[test]
    fn numbers_group_thousands_and_trim_zeros() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(number(1234.50, 2), "1,234.5");
        assert_eq!(number(-0.001, 2), "0");
        assert_eq!(number(-12.25, 1), "-12.2");
        assert_eq!(number(f64::NAN, 1), "n/a");
    }

    #[test]
    fn measures_read_with_their_units() {
        assert_eq!(measure_value(&Measure::new("x", 41.234, "percent")), "41.2%");
        assert_eq!(measure_value(&Measure::new("x", 1_610_612_736.0, "bytes")), "1.5 GiB");
        assert_eq!(measure_value(&Measure::new("x", 12_000.0, "count")), "12,000");
        assert_eq!(measure_value(&Measure::new("x", 2.5, "per-second")), "2.5/s");
        assert_eq!(measure_value(&Measure::new("x", 0.1, "per-second")), "0.1/s");
        assert_eq!(measure_value(&Measure::new("x", 0.0, "per-second")), "0/s");
        assert_eq!(measure_value(&Measure::new("x", 3.0, "objects")), "3 objects");
    }

    #[test]
    fn per_hour_rates_read_as_words_not_as_the_unit_name() {
        // Not `1,080 per-hour` (ux review item 10).
        assert_eq!(measure_value(&Measure::new("x", 1080.0, "per-hour")), "1,080 an hour");
    }

    #[test]
    fn ranges_show_the_date_once_and_the_length() {
        let start = DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z").map(|t| t.with_timezone(&Utc));
        let end = DateTime::parse_from_rfc3339("2024-05-01T11:05:00Z").map(|t| t.with_timezone(&Utc));
        let (Ok(start), Ok(end)) = (start, end) else { panic!("fixture times parse") };
        assert_eq!(range(&TimeRange { start, end }), "2024-05-01 10:00:00 → 11:05:00 UTC (1h 5m)");
    }

    /// Review s26 (diagnose, item 11): the real events' AUD001 title said "0.027 per day" and
    /// its evidence "requests per second 0/s".
    #[test]
    fn a_low_rate_per_second_is_written_per_minute_hour_or_day_never_as_zero() {
        let rate = |v: f64| measure_value(&Measure::new("x", v, "per-second"));
        assert_eq!(rate(0.05), "3/min");
        assert_eq!(rate(0.0005), "1.8/h");
        assert_eq!(rate(0.027 / 86_400.0), "0.027/day");
        assert_eq!(rate(0.5 / 86_400.0), "0.5/day");
        assert_eq!(rate(1e-9), "0.000086/day");
    }
}
