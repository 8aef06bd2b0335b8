//! A small renderer of [`findings::Report`] as text, JSON or Markdown for the `metrics` and
//! `etcd` subcommands, until the `report` crate's renderers replace it.

use std::io::{self, Write};

use findings::{Finding, Report, Table};

/// Output formats of `metrics` and `etcd`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Plain text for a terminal.
    Text,
    /// The report as JSON.
    Json,
    /// Markdown.
    Markdown,
}

/// Writes the inputs and the findings of `report`.
pub fn render(report: &Report, format: OutputFormat, w: &mut dyn Write) -> io::Result<()> {
    match format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *w, report).map_err(io::Error::other)?;
            writeln!(w)
        }
        OutputFormat::Text => render_text(report, w),
        OutputFormat::Markdown => render_markdown(report, w),
    }
}

fn render_text(report: &Report, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, "Inputs")?;
    for i in &report.inputs {
        let skipped =
            if i.skipped > 0 { format!(", {} bad lines skipped", i.skipped) } else { String::new() };
        writeln!(
            w,
            "  {}: {} ({} {}{skipped})",
            i.source,
            i.detected.as_deref().unwrap_or("unknown"),
            i.records,
            if i.kind == "etcd" { "keys" } else { "samples" }
        )?;
    }
    writeln!(w)?;
    if report.findings.is_empty() {
        writeln!(w, "No findings: {} checks ran.", report.checks_run.len())?;
        return Ok(());
    }
    writeln!(w, "Findings ({})", report.findings.len())?;
    for f in &report.findings {
        writeln!(w)?;
        writeln!(w, "{} {} {}", f.severity.as_str().to_uppercase(), f.code, f.title)?;
        writeln!(w, "  {}", f.summary)?;
        for m in &f.evidence.measures {
            writeln!(w, "  - {}: {}", m.label, format_measure(m.value, &m.unit))?;
        }
        if let Some(t) = &f.evidence.table {
            write_text_table(t, w)?;
        }
        for t in &f.thresholds {
            writeln!(w, "  threshold {} = {} {} ({})", t.name, t.value, t.unit, t.source)?;
        }
        for r in &f.remedies {
            writeln!(w, "  fix ({}): {}", safety(r), r.title)?;
            for line in r.body.lines() {
                writeln!(w, "      {line}")?;
            }
        }
    }
    Ok(())
}

fn write_text_table(t: &Table, w: &mut dyn Write) -> io::Result<()> {
    let mut widths: Vec<usize> = t.columns.iter().map(|c| c.chars().count()).collect();
    for row in &t.rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(i) {
                *width = (*width).max(cell.chars().count());
            }
        }
    }
    let line = |cells: &[String]| -> String {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<width$}", width = widths.get(i).copied().unwrap_or(0)))
            .collect();
        format!("    {}", parts.join("  ").trim_end())
    };
    writeln!(w, "{}", line(&t.columns))?;
    for row in &t.rows {
        writeln!(w, "{}", line(row))?;
    }
    Ok(())
}

fn safety(r: &findings::Remedy) -> &'static str {
    match r.safety {
        findings::Safety::Safe => "safe",
        findings::Safety::ReviewFirst => "review first",
    }
}

/// A measure's value in its unit, for people.
pub fn format_measure(value: f64, unit: &str) -> String {
    use crate::checks::{format_bytes, format_count, format_seconds};
    match unit {
        "bytes" => format_bytes(value),
        "bytes-per-hour" => format!("{}/h", format_bytes(value)),
        "s" => format_seconds(value),
        "count" => format_count(value),
        "percent" => format!("{value:.1}%"),
        "ratio" => format!("{value:.2}"),
        "h" => format!("{value:.1} h"),
        "per-hour" => format!("{}/h", format_count(value)),
        other => format!("{value} {other}"),
    }
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn render_markdown(report: &Report, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, "## Inputs\n")?;
    writeln!(w, "| source | detected | samples | bad lines |")?;
    writeln!(w, "|---|---|---:|---:|")?;
    for i in &report.inputs {
        writeln!(
            w,
            "| {} | {} | {} | {} |",
            md_cell(&i.source),
            md_cell(i.detected.as_deref().unwrap_or("unknown")),
            i.records,
            i.skipped
        )?;
    }
    writeln!(w)?;
    writeln!(w, "## Findings\n")?;
    if report.findings.is_empty() {
        writeln!(w, "No findings: {} checks ran.", report.checks_run.len())?;
        return Ok(());
    }
    for f in &report.findings {
        write_markdown_finding(f, w)?;
    }
    Ok(())
}

fn write_markdown_finding(f: &Finding, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, "### {} {}: {}\n", f.severity.as_str(), f.code, md_cell(&f.title))?;
    writeln!(w, "{}\n", f.summary)?;
    for m in &f.evidence.measures {
        writeln!(w, "- {}: {}", m.label, format_measure(m.value, &m.unit))?;
    }
    if let Some(t) = &f.evidence.table {
        writeln!(w)?;
        writeln!(w, "| {} |", t.columns.iter().map(|c| md_cell(c)).collect::<Vec<_>>().join(" | "))?;
        writeln!(w, "|{}", "---|".repeat(t.columns.len()))?;
        for row in &t.rows {
            writeln!(w, "| {} |", row.iter().map(|c| md_cell(c)).collect::<Vec<_>>().join(" | "))?;
        }
    }
    for t in &f.thresholds {
        writeln!(w, "- threshold `{}` = {} {} ({})", t.name, t.value, t.unit, t.source)?;
    }
    writeln!(w)?;
    for r in &f.remedies {
        writeln!(w, "**Fix ({}):** {}\n", safety(r), r.title)?;
        match r.kind {
            findings::RemedyKind::Advice => writeln!(w, "{}\n", r.body)?,
            findings::RemedyKind::Yaml => writeln!(w, "```yaml\n{}\n```\n", r.body.trim_end())?,
            findings::RemedyKind::Command => writeln!(w, "```sh\n{}\n```\n", r.body.trim_end())?,
        }
    }
    Ok(())
}
