//! Text, Markdown and HTML sections for what `apiserver-doctor etcd` read: members and key
//! statistics.
//!
//! Keys and namespaces are whatever bytes were written into etcd: every cell goes through
//! [`findings::text::one_line`] (line breaks, control and BiDi characters neutralised), and
//! Markdown and HTML cells are escaped besides, so a key cannot end a row, start a heading or
//! carry markup into a ticket.

use std::io::{self, Write};

use metrics::checks::{format_bytes, format_count};

use crate::EtcdEvidence;

/// A titled table: title, column names, rows.
type Section = (String, Vec<&'static str>, Vec<Vec<String>>);

/// The formats of [`render_evidence_as`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidenceFormat {
    /// Aligned plain-text tables.
    Text,
    /// Markdown tables.
    Markdown,
    /// An HTML `<section>` of tables, to place inside the HTML report.
    Html,
}

/// A Markdown table cell or heading: one line, Markdown punctuation and HTML escaped (the
/// report's escaping).
fn markdown_cell(s: &str) -> String {
    report::escape_markdown(s)
}

/// HTML content: one line, markup escaped (the report's escaping).
fn html_text(s: &str) -> String {
    report::escape_html(&findings::text::one_line(s))
}

/// Writes the members and the key statistics as text (`markdown` false) or Markdown tables.
pub fn render_evidence(ev: &EtcdEvidence, markdown: bool, w: &mut dyn Write) -> io::Result<()> {
    render_evidence_as(ev, if markdown { EvidenceFormat::Markdown } else { EvidenceFormat::Text }, w)
}

/// Writes the members and the key statistics in `format`.
pub fn render_evidence_as(ev: &EtcdEvidence, format: EvidenceFormat, w: &mut dyn Write) -> io::Result<()> {
    let mut tables: Vec<Section> = Vec::new();
    // One row per member: one given under two URLs (review s44: a three-member cluster read
    // through two URLs of one member showed four rows) is shown once, with both URLs.
    let mut also: Vec<(&str, Vec<&str>)> = Vec::new();
    for s in ev.members.iter().filter_map(|m| m.status.as_ref()) {
        match also.iter_mut().find(|(id, _)| *id == s.id) {
            Some((_, urls)) => urls.push(&s.endpoint),
            None => also.push((&s.id, Vec::new())),
        }
    }
    let mut shown: Vec<&str> = Vec::new();
    let members: Vec<Vec<String>> = ev
        .members
        .iter()
        .filter_map(|m| {
            let s = m.status.as_ref()?;
            if shown.contains(&s.id.as_str()) {
                return None;
            }
            shown.push(&s.id);
            let others =
                also.iter().find(|(id, _)| *id == s.id).map(|(_, urls)| urls.as_slice()).unwrap_or(&[]);
            let endpoint = if others.is_empty() {
                s.endpoint.clone()
            } else {
                format!("{} (also {})", s.endpoint, others.join(", "))
            };
            Some(vec![
                endpoint,
                s.name.clone().unwrap_or_default(),
                s.id.clone(),
                s.version.clone(),
                format_bytes(s.db_size as f64),
                s.db_size_in_use.map(|v| format_bytes(v as f64)).unwrap_or_else(|| "-".into()),
                m.quota_bytes().map(format_bytes).unwrap_or_else(|| "-".into()),
                if s.is_leader { "yes".into() } else { "no".into() },
                s.raft_term.to_string(),
                s.raft_index.to_string(),
            ])
        })
        .collect();
    if !members.is_empty() {
        tables.push((
            "Members".into(),
            vec![
                "endpoint",
                "name",
                "id",
                "version",
                "db size",
                "in use",
                "quota",
                "leader",
                "raft term",
                "raft index",
            ],
            members,
        ));
    }
    let mut alarms: Vec<Vec<String>> =
        ev.alarms.iter().map(|a| vec![a.member_id.clone(), a.alarm.clone()]).collect();
    if ev.alarms_unread {
        // Not "none": nothing is known of them.
        let why = if ev.none_answered { "no member answered" } else { "the alarm request failed" };
        alarms.push(vec!["-".to_owned(), format!("not read: {why} (see ETC010)")]);
    }
    tables.push(("Alarms".into(), vec!["member", "alarm"], alarms));
    if let Some(k) = &ev.keys {
        let bytes = |b: u64| if k.values_read { format_bytes(b as f64) } else { "-".to_owned() };
        tables.push((
            format!(
                "Keys under {} at revision {}: {} {}, {} ({} outside the Kubernetes layout)",
                if k.prefix.is_empty() { "\"\" (the whole key space)" } else { k.prefix.as_str() },
                k.revision,
                format_count(k.keys as f64),
                if k.keys == 1 { "key" } else { "keys" },
                if k.values_read {
                    format!("{} of values", format_bytes(k.value_bytes as f64))
                } else {
                    "value sizes not read".to_owned()
                },
                format_count(k.other_keys as f64)
            ),
            vec!["resource", "keys", "value bytes", "namespaces", "top namespace"],
            k.resources
                .iter()
                .map(|r| {
                    vec![
                        r.resource.clone(),
                        format_count(r.keys as f64),
                        bytes(r.value_bytes),
                        r.namespaces.to_string(),
                        r.top_namespace
                            .as_ref()
                            .map(|(ns, n)| format!("{ns} ({})", format_count(*n as f64)))
                            .unwrap_or_default(),
                    ]
                })
                .collect(),
        ));
        tables.push((
            "Namespaces (most keys first, top 20)".into(),
            vec!["namespace", "keys", "value bytes"],
            k.namespaces
                .iter()
                .take(20)
                .map(|n| vec![n.namespace.clone(), format_count(n.keys as f64), bytes(n.value_bytes)])
                .collect(),
        ));
        if k.values_read {
            tables.push((
                "Largest objects".into(),
                vec!["key", "value bytes"],
                k.largest.iter().map(|o| vec![o.key.clone(), format_bytes(o.value_bytes as f64)]).collect(),
            ));
        }
    }
    if format == EvidenceFormat::Html {
        writeln!(w, "<section id=\"etcd\">")?;
        writeln!(w, "<h2>What etcd holds</h2>")?;
    }
    for (title, columns, rows) in tables {
        match format {
            EvidenceFormat::Html => {
                writeln!(w, "<h3>{}</h3>", html_text(&title))?;
                if rows.is_empty() {
                    writeln!(w, "<p>None.</p>")?;
                    continue;
                }
                writeln!(w, "<table class=\"etcd\">")?;
                let head: String = columns.iter().map(|c| format!("<th>{}</th>", html_text(c))).collect();
                writeln!(w, "<thead><tr>{head}</tr></thead>")?;
                writeln!(w, "<tbody>")?;
                for row in rows {
                    let cells: String = row.iter().map(|c| format!("<td>{}</td>", html_text(c))).collect();
                    writeln!(w, "<tr>{cells}</tr>")?;
                }
                writeln!(w, "</tbody>\n</table>")?;
            }
            EvidenceFormat::Markdown => {
                writeln!(w, "## {}\n", markdown_cell(&title))?;
                if rows.is_empty() {
                    writeln!(w, "None.\n")?;
                    continue;
                }
                writeln!(w, "| {} |", columns.join(" | "))?;
                writeln!(w, "|{}", "---|".repeat(columns.len()))?;
                for row in rows {
                    writeln!(
                        w,
                        "| {} |",
                        row.iter().map(|c| markdown_cell(c)).collect::<Vec<_>>().join(" | ")
                    )?;
                }
                writeln!(w)?;
            }
            EvidenceFormat::Text => {
                writeln!(w, "{}", findings::text::one_line(&title))?;
                if rows.is_empty() {
                    writeln!(w, "  none\n")?;
                    continue;
                }
                let rows: Vec<Vec<String>> =
                    rows.iter().map(|r| r.iter().map(|c| findings::text::one_line(c)).collect()).collect();
                let mut widths: Vec<usize> = columns.iter().map(|c| c.len()).collect();
                for row in &rows {
                    for (i, c) in row.iter().enumerate() {
                        if let Some(width) = widths.get_mut(i) {
                            *width = (*width).max(c.chars().count());
                        }
                    }
                }
                let line = |cells: Vec<String>| {
                    let parts: Vec<String> = cells
                        .iter()
                        .enumerate()
                        .map(|(i, c)| format!("{c:<width$}", width = widths.get(i).copied().unwrap_or(0)))
                        .collect();
                    format!("  {}", parts.join("  ").trim_end())
                };
                writeln!(w, "{}", line(columns.iter().map(|c| (*c).to_owned()).collect()))?;
                for row in rows {
                    writeln!(w, "{}", line(row))?;
                }
                writeln!(w)?;
            }
        }
    }
    if format == EvidenceFormat::Html {
        writeln!(w, "</section>")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyStatsBuilder;

    fn odd() -> EtcdEvidence {
        let mut b = KeyStatsBuilder::new("/registry", 3);
        for i in 0..3 {
            b.add(&format!("/registry/pods/a|b\n# Injected <img src=x onerror=alert(1)>\u{202E}/p-{i}"), 100);
        }
        EtcdEvidence { keys: Some(b.finish(7)), ..EtcdEvidence::default() }
    }

    fn rendered(format: EvidenceFormat) -> String {
        let mut out = Vec::new();
        render_evidence_as(&odd(), format, &mut out).expect("render");
        String::from_utf8(out).expect("utf-8")
    }

    /// Review s44: one member given under two URLs was two rows of the Members table, next
    /// to the note that it was read once.
    #[test]
    fn a_member_given_under_two_urls_is_one_row_naming_both() {
        let member = |endpoint: &str, id: &str| crate::Member {
            name: endpoint.to_owned(),
            status: Some(crate::MemberStatus {
                endpoint: endpoint.to_owned(),
                id: id.to_owned(),
                name: None,
                version: "3.5.16".to_owned(),
                db_size: 1 << 20,
                db_size_in_use: None,
                leader: "0".to_owned(),
                is_leader: false,
                raft_term: 2,
                raft_index: 9,
                raft_applied_index: None,
                errors: Vec::new(),
            }),
            metrics: None,
        };
        let ev = EtcdEvidence {
            members: vec![
                member("http://127.0.0.1:23792", "734e2cb8fefb31c2"),
                member("http://127.0.0.1:23791", "8e9e05c52164694d"),
                member("http://localhost:23792", "734e2cb8fefb31c2"),
            ],
            ..EtcdEvidence::default()
        };
        let mut out = Vec::new();
        render_evidence_as(&ev, EvidenceFormat::Text, &mut out).expect("render");
        let text = String::from_utf8(out).expect("utf-8");
        assert_eq!(text.matches("734e2cb8fefb31c2").count(), 1, "{text}");
        assert_eq!(text.matches("8e9e05c52164694d").count(), 1, "{text}");
        assert!(text.contains("http://127.0.0.1:23792 (also http://localhost:23792)"), "{text}");
    }

    /// Regression review s20 N2: alarms that could not be read (no leader) were shown as
    /// "none", as if no NOSPACE alarm could be raised.
    #[test]
    fn alarms_that_could_not_be_read_are_not_shown_as_none() {
        let ev = EtcdEvidence { alarms_unread: true, ..EtcdEvidence::default() };
        let mut out = Vec::new();
        render_evidence_as(&ev, EvidenceFormat::Text, &mut out).expect("render");
        let text = String::from_utf8(out).expect("utf-8");
        let alarms = text.split("Alarms").nth(1).expect("an Alarms table");
        assert!(alarms.contains("not read: the alarm request failed"), "{text}");
        assert!(!alarms.trim_start().starts_with("none"), "{text}");
    }

    /// etcd review item 13: a namespace holding `|`, a newline and HTML broke the Markdown row
    /// into a live heading and raw HTML, and the text table the same way.
    #[test]
    fn keys_and_namespaces_with_newlines_html_and_bidi_cannot_break_the_evidence_tables() {
        let md = rendered(EvidenceFormat::Markdown);
        assert!(!md.contains("<img"), "{md}");
        assert!(!md.lines().any(|l| l.starts_with("# Injected")), "{md}");
        assert!(md.contains("a\\|b \\# Injected &lt;img src=x onerror=alert(1)&gt;\u{FFFD}"), "{md}");
        assert!(!md.contains('\u{202E}'), "{md}");
        let text = rendered(EvidenceFormat::Text);
        assert!(!text.lines().any(|l| l.starts_with("# Injected")), "{text}");
        assert!(text.contains("a|b # Injected <img src=x onerror=alert(1)>\u{FFFD}"), "{text}");
        assert!(!text.contains('\u{202E}'), "{text}");
        // Every row of a table is one line: header, rule, rows.
        let pods_rows = md.lines().filter(|l| l.starts_with("| pods |")).count();
        assert_eq!(pods_rows, 1, "{md}");
    }

    /// Docs review s21 item 12: `--prefix ""` printed "Keys under  at revision …", nothing
    /// where the prefix goes.
    #[test]
    fn the_whole_key_space_is_named_as_such_not_an_empty_prefix() {
        let mut b = KeyStatsBuilder::new("", 3);
        b.add("/registry/pods/default/p", 100);
        let ev = EtcdEvidence { keys: Some(b.finish(9)), ..EtcdEvidence::default() };
        let mut out = Vec::new();
        render_evidence_as(&ev, EvidenceFormat::Text, &mut out).expect("render");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.contains("Keys under \"\" (the whole key space) at revision 9: 1 key,"), "{text}");
    }

    /// etcd review item 11: `-o html` left out the members, alarms, keys per resource,
    /// namespaces and largest objects that text and Markdown show.
    #[test]
    fn the_html_evidence_has_every_table_text_shows_escaped() {
        let html = rendered(EvidenceFormat::Html);
        for title in
            ["Alarms", "Keys under /registry at revision 7", "Namespaces (most keys first", "Largest objects"]
        {
            assert!(html.contains(title), "{title} missing:\n{html}");
        }
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"), "{html}");
    }
}
