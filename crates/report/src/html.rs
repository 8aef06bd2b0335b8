//! The self-contained HTML report: one file, inline CSS, inline SVG charts, a few lines of
//! inline script for copy buttons, and a Content-Security-Policy that forbids every
//! network fetch, so the file can be mailed, attached to a ticket or opened offline.

use std::io::{self, Write};

use findings::{Chart, Finding, RemedyKind, Report, Safety, Severity, Table};

use crate::format;
use crate::sorted_findings;

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters, BiDi controls and U+2028/U+2029 (findings::text).
            c if findings::text::is_hidden(c) => out.push(findings::text::REPLACEMENT),
            c => out.push(c),
        }
    }
    out
}

/// Prose with its `code` spans as `<code>` and everything escaped.
fn prose(s: &str) -> String {
    format::code_spans(s)
        .into_iter()
        .map(|(is_code, p)| if is_code { format!("<code>{}</code>", escape(&p)) } else { escape(&p) })
        .collect()
}

const CSS: &str = r#"
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #ffffff; --panel: #f6f8fa;
  --critical: #c62828; --warning: #b35900; --info: #1f5fa8; --safe: #1a7f37; --review: #9a6700; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: var(--bg); line-height: 1.45;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
header, main, footer { max-width: 1080px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 24px; border-bottom: 1px solid var(--line); padding-bottom: 12px; }
h1 { font-size: 24px; margin: 0 0 8px; }
h2 { font-size: 20px; margin: 28px 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 17px; margin: 0 0 6px; }
h4 { font-size: 15px; margin: 16px 0 6px; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px; }
code { background: var(--panel); padding: 1px 4px; border-radius: 4px; overflow-wrap: anywhere; }
pre { margin: 0; padding: 10px 12px; overflow-x: auto; background: var(--panel); }
pre code { padding: 0; background: none; }
.badge { display: inline-block; font-size: 12px; font-weight: 700; padding: 2px 8px; border-radius: 10px;
  color: #fff; letter-spacing: .03em; vertical-align: middle; }
.badge.critical { background: var(--critical); } .badge.warning { background: var(--warning); }
.badge.info { background: var(--info); } .badge.none { background: var(--safe); }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 10px 0; }
.facts dt { color: var(--muted); } .facts dd { margin: 0; }
table { border-collapse: collapse; margin: 6px 0 10px; font-size: 14px; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; overflow-wrap: break-word; }
td.long { overflow-wrap: anywhere; }
th { background: var(--panel); overflow-wrap: normal; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.over td { background: #fdecea; }
nav.toc ol { padding-left: 22px; } nav.toc li { margin: 2px 0; }
nav.toc a { color: inherit; overflow-wrap: anywhere; }
main, header { overflow-wrap: anywhere; }
figure { margin: 10px 0 16px; } figcaption { color: var(--muted); font-size: 13px; }
svg.chart { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
article.finding { border: 1px solid var(--line); border-left: 6px solid var(--info); border-radius: 6px;
  padding: 14px 16px; margin: 14px 0; }
article.finding.critical { border-left-color: var(--critical); }
article.finding.warning { border-left-color: var(--warning); }
.subject { color: var(--muted); margin: 0 0 8px; }
.code-block { border: 1px solid var(--line); border-radius: 6px; overflow: hidden; margin: 6px 0 12px; }
.code-head { display: flex; justify-content: space-between; align-items: center; padding: 4px 8px 4px 12px;
  font-size: 13px; color: var(--muted); border-bottom: 1px solid var(--line); }
button.copy { font: inherit; font-size: 12px; padding: 2px 10px; border: 1px solid var(--line);
  border-radius: 4px; background: var(--bg); cursor: pointer; }
.safety { font-size: 12px; font-weight: 700; padding: 1px 6px; border-radius: 4px; border: 1px solid; }
.safety.safe { color: var(--safe); } .safety.review-first { color: var(--review); }
.remedy h5 { font-size: 14px; margin: 12px 0 4px; }
footer { color: var(--muted); font-size: 13px; border-top: 1px solid var(--line); margin-top: 32px; padding-top: 10px; padding-bottom: 32px; }
@media print { button.copy { display: none; }
  pre { white-space: pre-wrap; overflow: visible; overflow-wrap: anywhere; }
  td:first-child { overflow-wrap: normal; } h2, h3, h4 { break-after: avoid; } }
"#;

/// Copy buttons: the clipboard API where the page is a secure context, else a textarea.
const SCRIPT: &str = r#"
(function () {
  'use strict';
  function fallbackCopy(text) {
    var area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'absolute';
    area.style.left = '-9999px';
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }
  function show(button, ok) {
    button.textContent = ok ? 'Copied' : 'Select and copy';
    setTimeout(function () { button.textContent = 'Copy'; }, 1500);
  }
  var buttons = document.querySelectorAll('button.copy');
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].addEventListener('click', function (event) {
      var button = event.currentTarget;
      var pre = button.closest('.code-block').querySelector('pre');
      var text = pre ? pre.textContent : '';
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { show(button, true); },
          function () { show(button, fallbackCopy(text)); });
      } else {
        show(button, fallbackCopy(text));
      }
    });
  }
  document.documentElement.setAttribute('data-ready', 'true');
})();
"#;

/// Characters a word may have before its cell may break it anywhere: a user agent or a URI
/// breaks where it must, so it cannot widen the page, while the verbs, scopes and client
/// names of the other cells keep whole (reports review s55, item 2: every cell breaking
/// anywhere let the table squeeze "update" into `updat`/`e`).
const LONG_WORD_CHARS: usize = 30;

/// Whether `v` holds a word (a run without spaces) longer than [`LONG_WORD_CHARS`].
fn has_long_word(v: &str) -> bool {
    v.split_whitespace().any(|w| w.chars().count() > LONG_WORD_CHARS)
}

fn severity_class(s: Severity) -> &'static str {
    s.as_str()
}

fn safety_class(s: Safety) -> &'static str {
    match s {
        Safety::Safe => "safe",
        Safety::ReviewFirst => "review-first",
    }
}

/// Renders the report as one HTML document.
pub(crate) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let findings = sorted_findings(report);
    let counts = format::counts_line(report);
    writeln!(out, "<!DOCTYPE html>")?;
    writeln!(out, "<html lang=\"en\">")?;
    writeln!(out, "<head>")?;
    writeln!(out, "<meta charset=\"utf-8\">")?;
    writeln!(out, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")?;
    // No network at all: every resource is inline.
    writeln!(
        out,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
    )?;
    writeln!(out, "<meta name=\"generator\" content=\"apiserver-doctor {}\">", escape(&report.tool_version))?;
    writeln!(out, "<meta name=\"report-schema-version\" content=\"{}\">", report.schema_version)?;
    writeln!(out, "<link rel=\"icon\" href=\"data:,\">")?;
    writeln!(out, "<title>apiserver-doctor report — {}</title>", escape(&counts))?;
    writeln!(out, "<style>{CSS}</style>")?;
    writeln!(out, "</head>")?;
    writeln!(out, "<body>")?;
    header(out, report, &counts)?;
    writeln!(out, "<main>")?;
    if !findings.is_empty() {
        writeln!(out, "<nav class=\"toc\" aria-label=\"Findings\">")?;
        writeln!(out, "<h2>Findings, worst first</h2>")?;
        writeln!(out, "<ol>")?;
        for (i, f) in findings.iter().enumerate() {
            writeln!(
                out,
                "<li><span class=\"badge {}\">{}</span> <a href=\"#finding-{}\"><code>{}</code> {}</a></li>",
                severity_class(f.severity),
                format::severity_label(f.severity),
                i + 1,
                escape(&f.code),
                escape(&findings::text::one_paragraph(&f.title))
            )?;
        }
        writeln!(out, "</ol>")?;
        writeln!(out, "</nav>")?;
    }
    overview(out, report)?;
    writeln!(out, "<section id=\"findings\">")?;
    writeln!(out, "<h2>Findings</h2>")?;
    if findings.is_empty() {
        writeln!(
            out,
            "<p class=\"no-findings\">{}</p>",
            if report.checks_run.is_empty() && !report.overview.notes.is_empty() {
                "Nothing found, and no check had anything to read: see the notes above."
            } else if !report.overview.notes.is_empty() {
                "Nothing found at any severity by the checks that ran; the notes above say what was left out."
            } else {
                "Nothing found at any severity: every check that ran stayed within its thresholds."
            }
        )?;
    }
    for (i, f) in findings.iter().enumerate() {
        finding(out, f, i + 1)?;
    }
    writeln!(out, "</section>")?;
    writeln!(out, "</main>")?;
    writeln!(out, "<footer>")?;
    if !report.checks_run.is_empty() {
        let codes: Vec<String> =
            report.checks_run.iter().map(|c| format!("<code>{}</code>", escape(c))).collect();
        writeln!(out, "<p>Checks run: {}</p>", codes.join(" "))?;
    }
    writeln!(
        out,
        "<p>Written by apiserver-doctor {} (report schema {}). This file is self-contained: it loads nothing from the network.</p>",
        escape(&report.tool_version),
        report.schema_version
    )?;
    writeln!(out, "</footer>")?;
    writeln!(out, "<script>{SCRIPT}</script>")?;
    writeln!(out, "</body>")?;
    writeln!(out, "</html>")
}

fn header(out: &mut dyn Write, report: &Report, counts: &str) -> io::Result<()> {
    writeln!(out, "<header>")?;
    writeln!(out, "<h1>apiserver-doctor report</h1>")?;
    let (c, w, i) = format::counts(report);
    let mut badges = Vec::new();
    if c > 0 {
        badges.push(format!("<span class=\"badge critical\">{c} critical</span>"));
    }
    if w > 0 {
        badges.push(format!(
            "<span class=\"badge warning\">{w} warning{}</span>",
            if w == 1 { "" } else { "s" }
        ));
    }
    if i > 0 {
        badges.push(format!("<span class=\"badge info\">{i} info</span>"));
    }
    if badges.is_empty() {
        badges.push(format!("<span class=\"badge none\">{}</span>", escape(counts)));
    }
    writeln!(out, "<p class=\"summary\">{}</p>", badges.join(" "))?;
    writeln!(out, "<dl class=\"facts\">")?;
    if let Some(w) = &report.window {
        writeln!(out, "<dt>Window</dt><dd>{}</dd>", escape(&format::range(w)))?;
    }
    writeln!(out, "<dt>Tool</dt><dd>apiserver-doctor {}</dd>", escape(&report.tool_version))?;
    writeln!(out, "</dl>")?;
    if !report.inputs.is_empty() {
        writeln!(out, "<table class=\"inputs\">")?;
        writeln!(
            out,
            "<tr><th>input</th><th>source</th><th>records</th><th>skipped</th><th>detected</th></tr>"
        )?;
        for input in &report.inputs {
            writeln!(
                out,
                "<tr><td>{}</td><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                escape(&input.kind),
                escape(&input.source),
                format::thousands(input.records),
                format::thousands(input.skipped),
                escape(input.detected.as_deref().unwrap_or(""))
            )?;
        }
        writeln!(out, "</table>")?;
    }
    if !report.overview.notes.is_empty() {
        writeln!(out, "<ul class=\"notes\">")?;
        for note in &report.overview.notes {
            writeln!(out, "<li>{}</li>", escape(note))?;
        }
        writeln!(out, "</ul>")?;
    }
    writeln!(out, "</header>")
}

fn figure(
    out: &mut dyn Write,
    id: &str,
    chart: &Chart,
    width: u32,
    height: u32,
    caption: &str,
) -> io::Result<()> {
    writeln!(out, "<figure class=\"chart-figure\" id=\"{}\">", escape(id))?;
    // The SVG escapes its own text (charts::svg).
    out.write_all(charts::svg(chart, width, height).as_bytes())?;
    if !caption.is_empty() {
        writeln!(out, "<figcaption>{}</figcaption>", escape(caption))?;
    }
    writeln!(out, "</figure>")
}

fn overview(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    let o = &report.overview;
    if o.top_clients.is_none() && o.latency_over_time.is_none() && o.p99_table.is_none() {
        return Ok(());
    }
    writeln!(out, "<section id=\"overview\">")?;
    writeln!(out, "<h2>Overview</h2>")?;
    if let Some(c) = &o.top_clients {
        figure(
            out,
            "top-clients",
            c,
            1000,
            380,
            "Requests per client over the window (top clients by request count).",
        )?;
    }
    if let Some(c) = &o.latency_over_time {
        figure(
            out,
            "latency-over-time",
            c,
            1000,
            400,
            "Average latency in 5-minute bins of the clients the title names (not every client: the \
             JSON report's AUD002 findings and the query in the AKS guide cover them all), as the AKS guide's \
             second query draws it.",
        )?;
    }
    if let Some(t) = &o.p99_table {
        writeln!(out, "<h3 id=\"p99\">P99 latency against the SLOs</h3>")?;
        table(out, t, "data p99")?;
        writeln!(
            out,
            "<p class=\"note\">Long-running requests (watch; exec, attach, portforward, proxy, log) are excluded, as the SLOs define; the AKS guide's raw query includes them.</p>"
        )?;
    }
    writeln!(out, "</section>")
}

fn table(out: &mut dyn Write, t: &Table, class: &str) -> io::Result<()> {
    let cols = t.columns.len().max(t.rows.iter().map(Vec::len).max().unwrap_or(0));
    if cols == 0 {
        return Ok(());
    }
    // A `status` column whose cell says over/above/breach marks the row (docs/report-schema.md).
    let status = t.columns.iter().position(|c| c.eq_ignore_ascii_case("status"));
    writeln!(out, "<table class=\"{class}\">")?;
    let head: Vec<String> = (0..cols)
        .map(|c| format!("<th>{}</th>", escape(t.columns.get(c).map_or("", String::as_str))))
        .collect();
    writeln!(out, "<thead><tr>{}</tr></thead>", head.join(""))?;
    writeln!(out, "<tbody>")?;
    for row in &t.rows {
        let over = status.and_then(|s| row.get(s)).is_some_and(|v| format::over_slo(v));
        let cells: Vec<String> = (0..cols)
            .map(|c| {
                let v = row.get(c).map_or("", String::as_str);
                let class = if crate::text::looks_numeric(v) {
                    " class=\"num\""
                } else if has_long_word(v) {
                    " class=\"long\""
                } else {
                    ""
                };
                format!("<td{class}>{}</td>", escape(v))
            })
            .collect();
        let class = if over { " class=\"over\"" } else { "" };
        writeln!(out, "<tr{class}>{}</tr>", cells.join(""))?;
    }
    writeln!(out, "</tbody>")?;
    writeln!(out, "</table>")
}

fn code_block(out: &mut dyn Write, title: &str, lang: &str, body: &str) -> io::Result<()> {
    writeln!(out, "<div class=\"code-block\">")?;
    writeln!(
        out,
        "<div class=\"code-head\"><span>{}</span><button class=\"copy\" type=\"button\">Copy</button></div>",
        escape(title)
    )?;
    writeln!(
        out,
        "<pre><code class=\"language-{}\">{}</code></pre>",
        escape(lang),
        escape(body.trim_end_matches('\n'))
    )?;
    writeln!(out, "</div>")
}

fn finding(out: &mut dyn Write, f: &Finding, n: usize) -> io::Result<()> {
    let sev = severity_class(f.severity);
    writeln!(
        out,
        "<article class=\"finding {sev}\" id=\"finding-{n}\" data-code=\"{}\" data-severity=\"{sev}\">",
        escape(&f.code)
    )?;
    writeln!(
        out,
        "<h3><span class=\"badge {sev}\">{}</span> <code>{}</code> {}</h3>",
        format::severity_label(f.severity),
        escape(&f.code),
        escape(&findings::text::one_paragraph(&f.title))
    )?;
    let mut facts = vec![format!("{} <code>{}</code>", escape(&f.subject.kind), escape(&f.subject.name))];
    if let Some(r) = &f.time_range {
        facts.push(escape(&format::range(r)));
    }
    writeln!(out, "<p class=\"subject\">{}</p>", facts.join(" · "))?;
    if !f.summary.trim().is_empty() {
        // One paragraph, as in text and Markdown: a line feed from the log shows as `␤`.
        writeln!(out, "<p class=\"summary\">{}</p>", prose(&findings::text::one_paragraph(&f.summary)))?;
    }
    let e = &f.evidence;
    writeln!(out, "<h4>Evidence <small>({})</small></h4>", escape(&e.source))?;
    if !e.measures.is_empty() {
        writeln!(out, "<table class=\"measures\">")?;
        for m in &e.measures {
            writeln!(
                out,
                "<tr><th>{}</th><td class=\"num\">{}</td></tr>",
                escape(&m.label),
                escape(&format::measure_value(m))
            )?;
        }
        writeln!(out, "</table>")?;
    }
    if !f.thresholds.is_empty() {
        writeln!(out, "<ul class=\"thresholds\">")?;
        for t in &f.thresholds {
            writeln!(
                out,
                "<li>threshold <code>{}</code> = {} <small>({})</small></li>",
                escape(&t.name),
                escape(&format::threshold_value(t.value, &t.unit)),
                escape(&t.source)
            )?;
        }
        writeln!(out, "</ul>")?;
    }
    if let Some(t) = &e.table {
        table(out, t, "data")?;
    }
    if let Some(c) = &e.chart {
        figure(out, &format!("finding-{n}-chart"), c, 900, 320, "")?;
    }
    if let Some(q) = &e.query {
        code_block(out, "Reproduce: apiserver-doctor query, or Log Analytics (KQL)", "kusto", q)?;
    }
    if !f.remedies.is_empty() {
        writeln!(out, "<h4>Remedies</h4>")?;
    }
    for (i, r) in f.remedies.iter().enumerate() {
        let class = safety_class(r.safety);
        writeln!(out, "<div class=\"remedy {class}\">")?;
        writeln!(
            out,
            "<h5>{}. {} <span class=\"safety {class}\">{}</span></h5>",
            i + 1,
            escape(&r.title),
            format::safety(r.safety)
        )?;
        match r.kind {
            RemedyKind::Yaml => code_block(out, "YAML — kubectl apply -f -", "yaml", &r.body)?,
            RemedyKind::Command => code_block(out, "Commands", "sh", &r.body)?,
            RemedyKind::Advice => {
                for paragraph in format::paragraphs(&r.body) {
                    match paragraph {
                        format::Paragraph::Prose(p) => writeln!(out, "<p>{}</p>", prose(p))?,
                        format::Paragraph::List(items) => {
                            writeln!(out, "<ul>")?;
                            for item in items {
                                writeln!(out, "<li>{}</li>", prose(item))?;
                            }
                            writeln!(out, "</ul>")?;
                        }
                        format::Paragraph::Verbatim { lang: "yaml", text } => {
                            code_block(out, "YAML", "yaml", text)?
                        }
                        format::Paragraph::Verbatim { text, .. } => code_block(out, "Example", "text", text)?,
                    }
                }
            }
        }
        writeln!(out, "</div>")?;
    }
    writeln!(out, "</article>")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reports review s55, item 2: every table cell could break anywhere, so a table beside a
    /// long user agent squeezed short words (`updat`/`e`, `kubele`/`t`). Only a cell with a
    /// long word breaks anywhere now.
    #[test]
    fn html_tables_broke_short_words_in_the_middle() {
        let ua = "kube-controller-manager/v1.29.5(linux/amd64)kubernetes/59755ff/system:serviceaccount";
        let t = Table {
            columns: vec!["verb".into(), "client".into(), "p99".into()],
            rows: vec![vec!["update".into(), ua.into(), "1.2".into()]],
        };
        let mut out = Vec::new();
        table(&mut out, &t, "p99").expect("rendered");
        let html = String::from_utf8(out).expect("utf-8");
        assert!(html.contains("<td>update</td>"), "{html}");
        assert!(html.contains(&format!("<td class=\"long\">{ua}</td>")), "{html}");
        assert!(CSS.contains("overflow-wrap: break-word; }\ntd.long { overflow-wrap: anywhere; }"), "{CSS}");
    }

    /// Review 27 (html, item 8): a 10 kB user agent in a finding's title made the table of
    /// contents, and so the page, 131,811 px wide.
    #[test]
    fn a_long_word_in_a_finding_title_wraps_in_the_table_of_contents() {
        assert!(CSS.contains("nav.toc a { color: inherit; overflow-wrap: anywhere; }"));
    }

    /// Review 27 (html, item 7): printed or saved as PDF, every query, command and YAML was cut
    /// at the right margin with a printed scrollbar.
    #[test]
    fn code_blocks_wrap_when_printed() {
        let print = CSS.split("@media print").nth(1).unwrap_or("");
        assert!(print.contains("pre { white-space: pre-wrap; overflow: visible;"), "{print}");
    }

    #[test]
    fn escape_neutralises_markup_and_attributes() {
        assert_eq!(
            escape("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
    }
}
