//! Markdown for incident tickets (GitHub, GitLab, Jira's Markdown): a summary table, then
//! each finding with its evidence, query and remedies in fenced blocks ready to copy.

use std::io::{self, Write};

use findings::{Finding, RemedyKind, Report, Severity, Table};

use crate::format;
use crate::sorted_findings;

/// Escapes prose: Markdown punctuation and HTML (ticket systems render inline HTML).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '|' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\t' => out.push(' '),
            // Control characters, BiDi controls and U+2028/U+2029 (findings::text).
            c if findings::text::is_hidden(c) => out.push(findings::text::REPLACEMENT),
            c => out.push(c),
        }
    }
    out
}

/// Prose with its `code` spans kept as code and everything else escaped. An empty span (two
/// backticks in a row, from a log value such as a user agent "````evil") is two literal
/// backticks: rendered as code spans of their own, they came out as a run of backticks that
/// opened a fenced block at the start of a line and swallowed the rest of the finding.
fn prose(s: &str) -> String {
    crate::format::code_spans(s)
        .into_iter()
        .map(|(is_code, p)| match (is_code, p.is_empty()) {
            (true, true) => "\\`\\`".to_owned(),
            (true, false) => code(&p),
            (false, _) => escape(&p),
        })
        .collect()
}

/// A line of prose that starts a Markdown block, made to start as literal text. [`escape`]
/// already escapes `#`, `>`, `*`, `|` and `<`, but a log value at the start of a line can also
/// begin with the other block markers: `-` or `+` (a bullet item), `1.` or `1)` (a numbered
/// item: the forged `1. CRITICAL …` line) or four spaces (an indented code block). Each gets the
/// escape CommonMark gives it: `\-`, `\+`, `1\.`, `1\)`, and the first space as `&#32;`,
/// which shows a space but is not indentation.
fn line_start(line: String) -> String {
    if line.starts_with(['-', '+']) {
        return format!("\\{line}");
    }
    if let Some(rest) = line.strip_prefix(' ') {
        return format!("&#32;{rest}");
    }
    // CommonMark's ordered-list marker: one to nine digits, then `.` or `)`.
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    if (1..=9).contains(&digits) && line[digits..].starts_with(['.', ')']) {
        return format!("{}\\{}", &line[..digits], &line[digits..]);
    }
    line
}

/// A table cell: prose escaping, and a line feed as `␤` (U+2424), as titles and summaries show
/// it: a `<br>` broke a row of the overview table over two lines at a line feed from the log.
fn cell(s: &str) -> String {
    escape(&findings::text::one_paragraph(s))
}

/// Inline code that survives any content: a fence longer than the longest backtick run, so
/// the text inside is literal (CommonMark); hidden characters as in [`escape`]. Outside a
/// table only: a `|` here is the name's own (see [`code_in_cell`]).
fn code(s: &str) -> String {
    let s = findings::text::one_line(s);
    let fence = "`".repeat(longest_run(&s, '`') + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// [`code`] inside a table cell: a `|` would end the cell even inside code, so it is escaped
/// as `\|` (GFM removes that backslash in table cells, and only there).
fn code_in_cell(s: &str) -> String {
    code(&s.replace('|', "\\|"))
}

fn longest_run(s: &str, ch: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for c in s.chars() {
        run = if c == ch { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

/// A fenced block that no line of `body` can close early.
fn fenced(out: &mut dyn Write, lang: &str, body: &str) -> io::Result<()> {
    let fence = "`".repeat(longest_run(body, '`').max(2) + 1);
    writeln!(out, "{fence}{lang}")?;
    for line in body.lines() {
        // Control characters, BiDi controls and U+2028/U+2029 (findings::text); tabs stay.
        writeln!(out, "{}", findings::text::multi_line(line))?;
    }
    writeln!(out, "{fence}")
}

fn severity_badge(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "🔴 critical",
        Severity::Warning => "🟠 warning",
        Severity::Info => "🔵 info",
    }
}

fn table(out: &mut dyn Write, t: &Table) -> io::Result<()> {
    let cols = t.columns.len().max(t.rows.iter().map(Vec::len).max().unwrap_or(0));
    if cols == 0 {
        return Ok(());
    }
    let row = |r: &Vec<String>| -> String {
        let cells: Vec<String> = (0..cols).map(|c| cell(r.get(c).map_or("", String::as_str))).collect();
        format!("| {} |", cells.join(" | "))
    };
    writeln!(out, "{}", row(&t.columns))?;
    writeln!(out, "|{}", "---|".repeat(cols))?;
    for r in &t.rows {
        writeln!(out, "{}", row(r))?;
    }
    writeln!(out)
}

/// Renders the report as Markdown.
pub(crate) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "# apiserver-doctor report")?;
    writeln!(out)?;
    let mut facts = vec![format!("**{}**", format::counts_line(report))];
    if let Some(w) = &report.window {
        facts.push(format!("window {}", escape(&format::range(w))));
    }
    facts.push(format!("apiserver-doctor {}", escape(&report.tool_version)));
    writeln!(out, "{}", facts.join(" · "))?;
    writeln!(out)?;
    let findings = sorted_findings(report);
    if !findings.is_empty() {
        writeln!(out, "| # | Severity | Code | Finding | Subject |")?;
        writeln!(out, "|---|---|---|---|---|")?;
        for (i, f) in findings.iter().enumerate() {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} {} |",
                i + 1,
                severity_badge(f.severity),
                cell(&f.code),
                cell(&findings::text::one_paragraph(&f.title)),
                cell(&f.subject.kind),
                code_in_cell(&f.subject.name)
            )?;
        }
        writeln!(out)?;
    }
    if !report.inputs.is_empty() {
        writeln!(out, "## Inputs")?;
        writeln!(out)?;
        let rows = report
            .inputs
            .iter()
            .map(|i| {
                vec![
                    i.kind.clone(),
                    i.source.clone(),
                    format::thousands(i.records),
                    format::thousands(i.skipped),
                    i.detected.clone().unwrap_or_default(),
                ]
            })
            .collect();
        let t = Table {
            columns: ["kind", "source", "records", "skipped", "detected"].map(String::from).to_vec(),
            rows,
        };
        table(out, &t)?;
    }
    if !report.overview.notes.is_empty() {
        writeln!(out, "## Notes")?;
        writeln!(out)?;
        for note in &report.overview.notes {
            writeln!(out, "- {}", line_start(escape(note)))?;
        }
        writeln!(out)?;
    }
    if let Some(t) = &report.overview.p99_table {
        writeln!(out, "## P99 latency against the SLOs")?;
        writeln!(out)?;
        table(out, t)?;
        writeln!(
            out,
            "Long-running requests (watch; exec, attach, portforward, proxy, log) are excluded, as the SLOs define; \
             the AKS guide's raw query includes them."
        )?;
        writeln!(out)?;
    }
    if let Some(c) = &report.overview.top_clients {
        writeln!(out, "## {}", escape(if c.title.is_empty() { "Top clients" } else { &c.title }))?;
        writeln!(out)?;
        fenced(out, "text", &charts::text(c, 100, 16))?;
        writeln!(out)?;
    }
    if let Some(c) = &report.overview.latency_over_time {
        writeln!(out, "## {}", escape(if c.title.is_empty() { "Latency per client" } else { &c.title }))?;
        writeln!(out)?;
        fenced(out, "text", &charts::text(c, 100, 18))?;
        writeln!(out)?;
    }
    if !findings.is_empty() {
        writeln!(out, "## Findings")?;
        writeln!(out)?;
    }
    for (i, f) in findings.iter().enumerate() {
        finding(out, f, i + 1)?;
    }
    if !report.checks_run.is_empty() {
        let codes: Vec<String> = report.checks_run.iter().map(|c| code(c)).collect();
        writeln!(out, "Checks run: {}", codes.join(", "))?;
    }
    Ok(())
}

fn finding(out: &mut dyn Write, f: &Finding, n: usize) -> io::Result<()> {
    writeln!(
        out,
        "### {n}. {} {} — {}",
        format::severity_label(f.severity),
        escape(&f.code),
        escape(&findings::text::one_paragraph(&f.title))
    )?;
    writeln!(out)?;
    let mut facts = vec![format!("**{}:** {}", escape(&f.subject.kind), code(&f.subject.name))];
    if let Some(r) = &f.time_range {
        facts.push(format!("**time:** {}", escape(&format::range(r))));
    }
    writeln!(out, "{}", facts.join(" · "))?;
    writeln!(out)?;
    if !f.summary.is_empty() {
        // One paragraph: a line feed from the log must not start a paragraph, list item or
        // heading of the report.
        writeln!(out, "{}", line_start(prose(&findings::text::one_paragraph(&f.summary))))?;
        writeln!(out)?;
    }
    let e = &f.evidence;
    if !e.measures.is_empty() {
        writeln!(out, "**Evidence** ({})", escape(&e.source))?;
        writeln!(out)?;
        let rows = e.measures.iter().map(|m| vec![m.label.clone(), format::measure_value(m)]).collect();
        table(out, &Table { columns: vec!["measure".into(), "value".into()], rows })?;
    }
    if !f.thresholds.is_empty() {
        for t in &f.thresholds {
            writeln!(
                out,
                "- threshold {} = {} ({})",
                code(&t.name),
                escape(&format::threshold_value(t.value, &t.unit)),
                escape(&t.source)
            )?;
        }
        writeln!(out)?;
    }
    if let Some(t) = &e.table {
        table(out, t)?;
    }
    if let Some(c) = &e.chart {
        fenced(out, "text", &charts::text(c, 100, 14))?;
        writeln!(out)?;
    }
    if let Some(q) = &e.query {
        writeln!(out, "Reproduce with `apiserver-doctor query` or in Log Analytics:")?;
        writeln!(out)?;
        fenced(out, "kusto", q)?;
        writeln!(out)?;
    }
    if !f.remedies.is_empty() {
        writeln!(out, "**Remedies**")?;
        writeln!(out)?;
    }
    for (i, r) in f.remedies.iter().enumerate() {
        writeln!(out, "{}. {} — *{}*", i + 1, line_start(escape(&r.title)), format::safety(r.safety))?;
        writeln!(out)?;
        match r.kind {
            RemedyKind::Yaml => fenced(out, "yaml", &r.body)?,
            RemedyKind::Command => fenced(out, "sh", &r.body)?,
            RemedyKind::Advice => {
                for (k, paragraph) in format::paragraphs(&r.body).into_iter().enumerate() {
                    if k > 0 {
                        writeln!(out)?;
                    }
                    match paragraph {
                        format::Paragraph::Prose(p) => writeln!(out, "{}", prose(p))?,
                        format::Paragraph::List(items) => {
                            for item in items {
                                writeln!(out, "- {}", prose(item))?;
                            }
                        }
                        format::Paragraph::Verbatim { lang, text } => fenced(out, lang, text)?,
                    }
                }
            }
        }
        writeln!(out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_escape_pipes_and_markup() {
        assert_eq!(cell("a|b <script>x</script>"), "a\\|b &lt;script&gt;x&lt;/script&gt;");
        assert_eq!(cell("two\nlines"), "two␤lines");
    }

    /// Review 27 (html, item 14): a client name with a line feed showed as `fence<br>…` in the
    /// overview table, a line break that the JSON, HTML and text reports do not have.
    #[test]
    fn a_line_feed_in_a_markdown_table_cell_shows_as_the_newline_symbol_not_a_br() {
        assert_eq!(cell("fence```\n![pixel](http:"), "fence\\`\\`\\`␤\\!\\[pixel\\](http:");
        assert!(!cell("a\r\nb").contains("<br>"));
    }

    #[test]
    fn inline_code_outgrows_backticks_inside() {
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
        // A pipe is escaped only inside a table cell.
        assert_eq!(code("a|b"), "`a|b`");
        assert_eq!(code_in_cell("a|b"), "`a\\|b`");
    }

    #[test]
    fn fences_are_longer_than_any_run_in_the_body() {
        let mut out = Vec::new();
        let Ok(()) = fenced(&mut out, "sh", "echo ```") else { panic!("write to a Vec") };
        assert_eq!(String::from_utf8_lossy(&out), "````sh\necho ```\n````\n");
    }

    /// Re-review s26 (diagnose, item 1): a user agent starting with four backticks came out as
    /// "````evil" at the start of the summary line and opened a fenced block that swallowed the
    /// evidence, query and remedies.
    #[test]
    fn backtick_runs_from_a_log_value_never_start_a_fence() {
        for ua in ["````evil/v1", "`````evil", "```evil", "``x", "inv````x`````y"] {
            let out = prose(&format!("{ua} (u@x.com) sent 240 LISTs; see `kubectl get pods`"));
            assert!(!out.starts_with("``"), "{ua}: {out}");
            assert!(!out.contains("```"), "{ua}: {out}");
            assert!(out.contains("`kubectl get pods`") || ua.matches('`').count() % 2 == 1, "{ua}: {out}");
        }
        assert_eq!(prose("````evil"), "\\`\\`\\`\\`evil");
    }

    /// Review 27 (html, item 2): a user agent `1.<TAB>FAKE-ITEM/v1`, `-<TAB>…`, `+<TAB>…` or
    /// `1)<TAB>…` at the start of a summary made a list item of the ticket (the forged
    /// `1. CRITICAL …` line); four spaces made a code block.
    #[test]
    fn a_list_marker_at_the_start_of_a_summary_is_escaped_in_markdown() {
        let summary =
            |ua: &str| line_start(prose(&findings::text::one_paragraph(&format!("{ua} (u:i) sent 5 LISTs"))));
        assert_eq!(summary("1.\tFAKE-ITEM/v1"), "1\\. FAKE-ITEM/v1 (u:i) sent 5 LISTs");
        assert_eq!(summary("1)\tPAREN-ITEM/v1"), "1\\) PAREN-ITEM/v1 (u:i) sent 5 LISTs");
        assert_eq!(summary("-\tDASH-ITEM/v1"), "\\- DASH-ITEM/v1 (u:i) sent 5 LISTs");
        assert_eq!(summary("+\tPLUS-ITEM/v1"), "\\+ PLUS-ITEM/v1 (u:i) sent 5 LISTs");
        assert_eq!(summary("*\tSTAR/v1"), "\\* STAR/v1 (u:i) sent 5 LISTs");
        assert_eq!(summary("    indented"), "&#32;   indented (u:i) sent 5 LISTs");
        // Ten digits are no list marker; text that starts with a word is left alone.
        assert_eq!(summary("1234567890. x"), "1234567890. x (u:i) sent 5 LISTs");
        assert_eq!(summary("kubectl/v1.30"), "kubectl/v1.30 (u:i) sent 5 LISTs");
    }
}
