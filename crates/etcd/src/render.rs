//! Text and Markdown sections for what `apiserver-doctor etcd` read: members and key statistics.

use std::io::{self, Write};

use metrics::checks::{format_bytes, format_count};

use crate::EtcdEvidence;

/// A titled table: title, column names, rows.
type Section = (String, Vec<&'static str>, Vec<Vec<String>>);

/// Writes the members and the key statistics as text (`markdown` false) or Markdown tables.
pub fn render_evidence(ev: &EtcdEvidence, markdown: bool, w: &mut dyn Write) -> io::Result<()> {
    let mut tables: Vec<Section> = Vec::new();
    let members: Vec<Vec<String>> = ev
        .members
        .iter()
        .filter_map(|m| {
            let s = m.status.as_ref()?;
            Some(vec![
                s.endpoint.clone(),
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
    let alarms: Vec<Vec<String>> =
        ev.alarms.iter().map(|a| vec![a.member_id.clone(), a.alarm.clone()]).collect();
    tables.push(("Alarms".into(), vec!["member", "alarm"], alarms));
    if let Some(k) = &ev.keys {
        let bytes = |b: u64| if k.values_read { format_bytes(b as f64) } else { "-".to_owned() };
        tables.push((
            format!(
                "Keys under {} at revision {}: {} keys, {} ({} outside the Kubernetes layout)",
                k.prefix,
                k.revision,
                format_count(k.keys as f64),
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
    for (title, columns, rows) in tables {
        if markdown {
            writeln!(w, "## {title}\n")?;
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
                    row.iter().map(|c| c.replace('|', "\\|")).collect::<Vec<_>>().join(" | ")
                )?;
            }
            writeln!(w)?;
        } else {
            writeln!(w, "{title}")?;
            if rows.is_empty() {
                writeln!(w, "  none\n")?;
                continue;
            }
            let mut widths: Vec<usize> = columns.iter().map(|c| c.len()).collect();
            for row in &rows {
                for (i, c) in row.iter().enumerate() {
                    widths[i] = widths[i].max(c.chars().count());
                }
            }
            let line = |cells: Vec<String>| {
                let parts: Vec<String> = cells
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!("{c:<width$}", width = widths[i]))
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
    Ok(())
}
