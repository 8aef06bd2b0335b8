//! The terminal report: worst finding first, each with its numbers, the query that
//! reproduces it and its remedies. Colour only when asked (a terminal without `NO_COLOR`).

use std::io::{self, Write};

use charts::{TextOptions as ChartOptions, display_width};
use findings::{Chart, Finding, Overview, RemedyKind, Report, Safety, Severity, Table};

use crate::format::{self, Paragraph};
use crate::{TextOptions, sorted_findings};

struct Style {
    color: bool,
}

impl Style {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.color { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_owned() }
    }
    fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
    fn severity(&self, s: Severity) -> String {
        let label = format!("{:<8}", format::severity_label(s));
        match s {
            Severity::Critical => self.wrap("1;31", &label),
            Severity::Warning => self.wrap("1;33", &label),
            Severity::Info => self.wrap("1;34", &label),
        }
    }
    fn safety(&self, s: Safety) -> String {
        let label = format!("[{}]", format::safety(s));
        match s {
            Safety::Safe => self.wrap("32", &label),
            Safety::ReviewFirst => self.wrap("33", &label),
        }
    }
}

/// Wraps prose to `width` columns, each line starting with `indent`.
fn wrap(text: &str, width: usize, indent: &str) -> Vec<String> {
    let max = width.saturating_sub(display_width(indent)).max(20);
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            if !line.is_empty() && display_width(&line) + 1 + display_width(word) > max {
                lines.push(format!("{indent}{line}"));
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(format!("{indent}{line}").trim_end().to_owned());
    }
    lines
}

/// Replaces control characters (other than line feed and tab), BiDi controls and U+2028/U+2029
/// ([`findings::text::multi_line`]) so that model text cannot move the cursor, change colours
/// or reverse a line on the reader's terminal.
fn clean(s: &str) -> String {
    findings::text::multi_line(s)
}

/// [`clean`], on one line ([`findings::text::one_line`]).
fn one_line(s: &str) -> String {
    findings::text::one_line(s)
}

/// Renders the report for a terminal.
pub(crate) fn render(report: &Report, out: &mut dyn Write, options: &TextOptions) -> io::Result<()> {
    let width = options.width.clamp(40, 240);
    let st = Style { color: options.color };
    writeln!(
        out,
        "{} {} — {}",
        st.bold("apiserver-doctor"),
        one_line(&report.tool_version),
        st.bold(&format::counts_line(report))
    )?;
    if let Some(w) = &report.window {
        writeln!(out, "Window:  {}", format::range(w))?;
    }
    // Every input with skipped records or none read (a file dropped whole is the one the
    // reader most needs to see: reports review s55, item 6), and the first few others; the
    // rest in one line (the JSON and HTML reports list them all).
    const SHOWN: usize = 6;
    let mut hidden = (0usize, 0u64);
    let mut shown = 0;
    for input in &report.inputs {
        let always = input.skipped > 0 || input.records == 0;
        if !always && shown >= SHOWN {
            hidden = (hidden.0 + 1, hidden.1 + input.records);
            continue;
        }
        if !always {
            shown += 1;
        }
        let skipped = if input.skipped > 0 {
            format!(", {} skipped", format::thousands(input.skipped))
        } else {
            String::new()
        };
        let detected = input.detected.as_deref().map(|d| format!(" [{}]", one_line(d))).unwrap_or_default();
        writeln!(
            out,
            "Input:   {} {}: {} record{}{skipped}{detected}",
            one_line(&input.kind),
            one_line(&input.source),
            format::thousands(input.records),
            if input.records == 1 { "" } else { "s" }
        )?;
    }
    if hidden.0 > 0 {
        writeln!(
            out,
            "Input:   … and {} more input{} with {} record{} (-o json lists every input)",
            hidden.0,
            if hidden.0 == 1 { "" } else { "s" },
            format::thousands(hidden.1),
            if hidden.1 == 1 { "" } else { "s" }
        )?;
    }
    if !report.checks_run.is_empty() {
        let checks: Vec<String> = report.checks_run.iter().map(|c| one_line(c)).collect();
        for line in wrap(&format!("Checks:  {}", checks.join(" ")), width, "") {
            writeln!(out, "{line}")?;
        }
    }
    for note in &report.overview.notes {
        for (i, line) in wrap(&format!("Note: {}", one_line(note)), width, "      ").into_iter().enumerate() {
            // The first line carries its own `Note:` lead; the rest hang under the text.
            writeln!(out, "{}", if i == 0 { line.trim_start().to_owned() } else { line })?;
        }
    }
    let findings = sorted_findings(report);
    if findings.is_empty() {
        writeln!(out)?;
        if report.checks_run.is_empty() && !report.overview.notes.is_empty() {
            writeln!(out, "Nothing found, and no check had anything to read: see the notes above.")?;
        } else if !report.overview.notes.is_empty() {
            // Not "every number was within its threshold": something was left out.
            writeln!(
                out,
                "Nothing found at any severity by the checks above; the notes above say what was left out."
            )?;
        } else {
            writeln!(
                out,
                "Nothing found at any severity: the checks above ran and every number was within its threshold."
            )?;
        }
    }
    if findings.len() > 1 {
        overview(out, &st, &findings, width)?;
    }
    report_overview(out, &st, &report.overview, width)?;
    for (i, f) in findings.iter().enumerate() {
        writeln!(out)?;
        finding(out, &st, f, i + 1, width)?;
    }
    Ok(())
}

/// One line per finding, worst first, before the details: what to read first, on one screen.
fn overview(out: &mut dyn Write, st: &Style, findings: &[&Finding], width: usize) -> io::Result<()> {
    writeln!(out)?;
    writeln!(out, "{}", st.bold("Findings (details below):"))?;
    let digits = findings.len().to_string().len();
    for (i, f) in findings.iter().enumerate() {
        let lead = format!(
            "  {:>digits$}. {:<8} {}  ",
            i + 1,
            format::severity_label(f.severity),
            one_line(&f.code)
        );
        let title = truncate(
            &findings::text::one_paragraph(&f.title),
            width.saturating_sub(display_width(&lead)).max(20),
        );
        writeln!(out, "  {:>digits$}. {} {}  {title}", i + 1, st.severity(f.severity), one_line(&f.code))?;
    }
    Ok(())
}

/// The report's overview, after the one-line findings and before their details, as the HTML
/// and Markdown reports show it: the top clients, the latency per client and the P99 table
/// against the SLOs, so that a reader of the terminal sees who sends what and which calls are
/// slow before reading findings one by one. Nothing when the checks drew none of them.
fn report_overview(out: &mut dyn Write, st: &Style, o: &Overview, width: usize) -> io::Result<()> {
    if o.top_clients.is_none() && o.latency_over_time.is_none() && o.p99_table.is_none() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "{}", st.bold("Overview"))?;
    // The heights the Markdown report gives the same charts; a blank line between two parts.
    let charts = [o.top_clients.as_ref().map(|c| (c, 16)), o.latency_over_time.as_ref().map(|c| (c, 18))];
    for (i, (c, rows)) in charts.into_iter().flatten().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        chart(out, st, c, "", width, rows)?;
    }
    if let Some(t) = &o.p99_table {
        if o.top_clients.is_some() || o.latency_over_time.is_some() {
            writeln!(out)?;
        }
        p99_table(out, st, t, width)?;
    }
    Ok(())
}

/// The overview's P99 table against the SLOs: the rows over their SLO first, then the others
/// in the table's order (AUD003's order, worst ratio to the SLO first, already puts them so),
/// so that the [`MAX_TABLE_ROWS`] shown hold every breach; the rest are counted.
fn p99_table(out: &mut dyn Write, st: &Style, t: &Table, width: usize) -> io::Result<()> {
    writeln!(out, "  {}", st.bold("P99 latency against the SLOs"))?;
    let status = t.columns.iter().position(|c| c.eq_ignore_ascii_case("status"));
    let over = |row: &Vec<String>| status.and_then(|s| row.get(s)).is_some_and(|v| format::over_slo(v));
    let (mut rows, rest): (Vec<Vec<String>>, Vec<Vec<String>>) = t.rows.iter().cloned().partition(over);
    rows.extend(rest);
    let ordered = Table { columns: t.columns.clone(), rows };
    table(out, &ordered, "", width, "-o html, -o markdown and -o json show them all")?;
    for line in wrap(P99_EXCLUDED, width, "  ") {
        writeln!(out, "{}", st.dim(&line))?;
    }
    Ok(())
}

/// What the P99 table leaves out, in the words of the HTML and Markdown reports.
const P99_EXCLUDED: &str = "Long-running requests (watch; exec, attach, portforward, proxy, log) are excluded, as \
                            the SLOs define; the AKS guide's raw query includes them.";

/// `s` cut to `max` columns, with `…` where it was cut.
fn truncate(s: &str, max: usize) -> String {
    if display_width(s) <= max {
        return s.to_owned();
    }
    let (mut out, mut used) = (String::new(), 0);
    for c in s.chars() {
        let w = display_width(c.encode_utf8(&mut [0; 4]));
        if used + w + 1 > max {
            break;
        }
        out.push(c);
        used += w;
    }
    out.trim_end().to_owned() + "…"
}

fn finding(out: &mut dyn Write, st: &Style, f: &Finding, n: usize, width: usize) -> io::Result<()> {
    // The title wraps under itself, after `N. SEVERITY CODE  `.
    let lead = format!("{n}. {:<8} {}  ", format::severity_label(f.severity), one_line(&f.code));
    let hang = " ".repeat(display_width(&lead));
    let title = wrap(&findings::text::one_paragraph(&f.title), width, &hang);
    for (i, line) in title.iter().enumerate() {
        let line = line.trim_start();
        if i == 0 {
            writeln!(
                out,
                "{n}. {} {}  {}",
                st.severity(f.severity),
                st.bold(&one_line(&f.code)),
                st.bold(line)
            )?;
        } else {
            writeln!(out, "{hang}{}", st.bold(line))?;
        }
    }
    let indent = "   ";
    for line in wrap(&format!("{}: {}", one_line(&f.subject.kind), one_line(&f.subject.name)), width, indent)
    {
        writeln!(out, "{line}")?;
    }
    if let Some(r) = &f.time_range {
        writeln!(out, "{indent}time: {}", format::range(r))?;
    }
    if !f.summary.is_empty() {
        // One paragraph: a line feed from the log must not start a line of the report.
        // A value's own backticks are escaped in the summary (findings::text::literal_backticks).
        let summary = findings::text::unescape_backticks(&f.summary);
        for line in wrap(&findings::text::one_paragraph(&summary), width, indent) {
            writeln!(out, "{line}")?;
        }
    }
    let e = &f.evidence;
    if !e.measures.is_empty() {
        writeln!(out, "{indent}{}", st.bold(&format!("Evidence ({})", one_line(&e.source))))?;
        let lw = e.measures.iter().map(|m| display_width(&one_line(&m.label))).max().unwrap_or(0);
        for m in &e.measures {
            let label = one_line(&m.label);
            let pad = lw - display_width(&label);
            writeln!(out, "{indent}  {label}{}  {}", " ".repeat(pad), format::measure_value(m))?;
        }
    }
    for t in &f.thresholds {
        let line = format!(
            "threshold: {} = {} ({})",
            one_line(&t.name),
            format::threshold_value(t.value, &t.unit),
            one_line(&t.source)
        );
        for (i, l) in wrap(&line, width, &format!("{indent}  ")).iter().enumerate() {
            writeln!(out, "{}", if i == 0 { &l[2..] } else { l })?;
        }
    }
    if let Some(t) = &e.table {
        table(out, t, indent, width, "all in -o json and the HTML report")?;
    }
    if let Some(c) = &e.chart {
        chart(out, st, c, indent, width, 14)?;
    }
    if let Some(q) = &e.query {
        writeln!(out, "{indent}{}", st.bold("Reproduce (apiserver-doctor query, Log Analytics):"))?;
        for line in clean(q).lines() {
            writeln!(out, "{indent}  {}", st.dim(line))?;
        }
    }
    if !f.remedies.is_empty() {
        writeln!(out, "{indent}{}", st.bold("Remedies:"))?;
    }
    for (i, r) in f.remedies.iter().enumerate() {
        let label = format!("[{}]", format::safety(r.safety));
        let lead = format!("{indent}  {}. ", i + 1);
        let hang = " ".repeat(display_width(&lead));
        let lines = wrap(&format!("{} {label}", one_line(&r.title)), width, &hang);
        let last = lines.len().saturating_sub(1);
        for (j, line) in lines.iter().enumerate() {
            let line = if j == last { line.replace(&label, &st.safety(r.safety)) } else { line.clone() };
            if j == 0 {
                writeln!(out, "{lead}{}", line.trim_start())?;
            } else {
                writeln!(out, "{line}")?;
            }
        }
        match r.kind {
            RemedyKind::Advice => {
                let hang = format!("{indent}     ");
                for (k, paragraph) in format::paragraphs(&r.body).into_iter().enumerate() {
                    if k > 0 {
                        writeln!(out)?;
                    }
                    match paragraph {
                        Paragraph::Prose(p) => {
                            for line in wrap(&clean(p), width, &hang) {
                                writeln!(out, "{line}")?;
                            }
                        }
                        // Each item's lines after the first hang under its text, not its dash.
                        Paragraph::List(items) => {
                            for item in items {
                                let lines = wrap(&one_line(item), width.saturating_sub(2), &hang);
                                for (j, line) in lines.iter().enumerate() {
                                    let text = line.strip_prefix(hang.as_str()).unwrap_or(line);
                                    writeln!(out, "{hang}{}{text}", if j == 0 { "- " } else { "  " })?;
                                }
                            }
                        }
                        // A snippet is copied: its lines and indentation as they are.
                        Paragraph::Verbatim { text, .. } => {
                            for line in clean(text).lines() {
                                writeln!(out, "{hang}{line}")?;
                            }
                        }
                    }
                }
            }
            RemedyKind::Yaml | RemedyKind::Command => copyable(out, st, r.kind, &r.body)?,
        }
    }
    Ok(())
}

/// The start and end lines of a YAML or command remedy in the text report ([`copyable`]).
/// Comments in YAML and in the shell alike, so that a block copied with them still applies.
fn copy_markers(kind: RemedyKind, body: &str) -> (String, String) {
    match kind {
        RemedyKind::Yaml => {
            let file = findings::text::yaml_file_name(body);
            (format!("# --- YAML: save as {file} (to the end line) ---"), format!("# --- end of {file} ---"))
        }
        _ => ("# --- commands (to the end line) ---".to_owned(), "# --- end of commands ---".to_owned()),
    }
}

/// A YAML or command remedy as it is pasted: flush left between a start and an end line,
/// each line as the body holds it (reviewer item 3: indented by 8 columns, the `---` between
/// two objects no longer split the documents and `kubectl apply -f -` refused the paste).
/// Only the marker lines are dimmed, and only in colour: no escape code is inside the body.
fn copyable(out: &mut dyn Write, st: &Style, kind: RemedyKind, body: &str) -> io::Result<()> {
    let (start, end) = copy_markers(kind, body);
    writeln!(out, "{}", st.dim(&start))?;
    for line in clean(body).lines() {
        writeln!(out, "{line}")?;
    }
    writeln!(out, "{}", st.dim(&end))
}

/// Draws `c` with the terminal chart renderer, about `rows` lines high, two columns in from
/// `indent`, every line within `width`: a finding's chart and the overview's are drawn the same
/// way, in colour only when the report is.
fn chart(
    out: &mut dyn Write,
    st: &Style,
    c: &Chart,
    indent: &str,
    width: usize,
    rows: usize,
) -> io::Result<()> {
    let text = charts::text_with(
        c,
        &ChartOptions { cols: width.saturating_sub(indent.len() + 2), rows, color: st.color },
    );
    for line in text.lines() {
        writeln!(out, "{indent}  {}", clean_chart(line, st.color))?;
    }
    Ok(())
}

/// Chart text comes from our own renderer; without colour it must hold no escape at all.
fn clean_chart(line: &str, color: bool) -> String {
    if color { line.to_owned() } else { clean(line) }
}

/// At most this many rows of an evidence table or the overview's P99 table in the terminal; the
/// rest is counted.
const MAX_TABLE_ROWS: usize = 15;

/// `t` as aligned columns two columns in from `indent`, within `width`: its first
/// [`MAX_TABLE_ROWS`] rows, then a line counting the others and saying where they are (`where_all`).
fn table(out: &mut dyn Write, t: &Table, indent: &str, width: usize, where_all: &str) -> io::Result<()> {
    let cols = t.columns.len().max(t.rows.iter().map(Vec::len).max().unwrap_or(0));
    if cols == 0 {
        return Ok(());
    }
    let cell = |row: &Vec<String>, c: usize| one_line(row.get(c).map_or("", String::as_str));
    let header: Vec<String> = (0..cols).map(|c| cell(&t.columns, c)).collect();
    let rows: Vec<Vec<String>> =
        t.rows.iter().take(MAX_TABLE_ROWS).map(|r| (0..cols).map(|c| cell(r, c)).collect()).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| display_width(h)).collect();
    for r in &rows {
        for (c, v) in r.iter().enumerate() {
            widths[c] = widths[c].max(display_width(v));
        }
    }
    // Shrink the widest columns until the table fits.
    let avail = width.saturating_sub(indent.len() + 2 + 2 * cols.saturating_sub(1));
    while widths.iter().sum::<usize>() > avail {
        let Some((i, w)) = widths.iter().copied().enumerate().max_by_key(|&(_, w)| w) else { break };
        if w <= 6 {
            break;
        }
        widths[i] = w - 1;
    }
    // Names that share a long start (`kube-controller-manager/system:serviceaccount:…`) differ
    // at their end: text is cut in its middle so the end stays, and the names of one column
    // together, so that two that share their end too (`…:pv-protection-controller`,
    // `…:pvc-protection-controller`) still read apart; numbers are cut at their end.
    let fitted: Vec<Vec<String>> = {
        let mut fitted = rows.clone();
        for (c, &w) in widths.iter().enumerate() {
            let names: Vec<String> =
                rows.iter().map(|r| r[c].clone()).filter(|v| !looks_numeric(v)).collect();
            let mut labels = charts::distinct_labels(&names, w).into_iter();
            for r in &mut fitted {
                r[c] = if looks_numeric(&r[c]) {
                    charts::truncate(&r[c], w)
                } else {
                    labels.next().unwrap_or_default()
                };
            }
        }
        fitted
    };
    let line = |cells: &[String]| -> String {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(v, &w)| {
                let v = if looks_numeric(v) { charts::truncate(v, w) } else { charts::truncate_middle(v, w) };
                let pad = w.saturating_sub(display_width(&v));
                // Numbers line up on the right.
                if looks_numeric(&v) {
                    format!("{}{v}", " ".repeat(pad))
                } else {
                    format!("{v}{}", " ".repeat(pad))
                }
            })
            .collect();
        format!("{indent}  {}", parts.join("  ")).trim_end().to_owned()
    };
    writeln!(out, "{}", line(&header))?;
    let rule: Vec<String> = widths.iter().map(|&w| "─".repeat(w)).collect();
    writeln!(out, "{indent}  {}", rule.join("  "))?;
    for r in &fitted {
        writeln!(out, "{}", line(r))?;
    }
    if t.rows.len() > MAX_TABLE_ROWS {
        let more = format!("… {} more rows ({where_all})", t.rows.len() - MAX_TABLE_ROWS);
        for line in wrap(&more, width, &format!("{indent}  ")) {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

pub(crate) fn looks_numeric(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty()
        && s.chars().next().is_some_and(|c| c.is_ascii_digit() || c == '-')
        && s.chars().all(|c| {
            c.is_ascii_digit()
                || matches!(c, ',' | '.' | '-' | '%' | ' ' | 'm' | 's' | 'k' | 'M' | 'G' | 'i' | 'B')
        })
}

#[cfg(test)]
mod tests {
    use super::truncate;

    #[test]
    fn truncate_counts_columns_not_bytes_and_marks_the_cut() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("exactly10!", 10), "exactly10!");
        assert_eq!(truncate("eleven chars", 10), "eleven ch…");
        // Wide characters take two columns each: four of them and the mark fill nine.
        assert_eq!(truncate("日本語のタイトル", 10), "日本語の…");
        assert_eq!(charts::display_width(&truncate("日本語のタイトル", 10)), 9);
    }
}
