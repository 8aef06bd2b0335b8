//! Golden files: each `tests/golden/*.kql` runs over the test cluster's events (300 of them,
//! `now()` pinned to 2024-05-01T11:30:00Z) and its output (a table, or the error as rendered)
//! must equal the `.out` file beside it. `UPDATE_GOLDEN=1 cargo test -p engine --test golden`
//! rewrites the `.out` files; review the diff before committing.
//!
//! Rows are sorted before comparing unless the query orders them itself (`sort`, `order`,
//! `top`), because a parallel plan returns unordered rows in no fixed order.

mod common;

use std::path::PathBuf;

use engine::format::OutputFormat;

fn golden_dir() -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
        .join("tests/golden")
}

/// The output a golden file holds for a query.
pub fn output_of(engine: &engine::Engine, query: &str) -> String {
    match engine.query(query, &common::opts()) {
        Err(e) => e.render(query, "<query>"),
        Ok(r) => {
            let mut buf = Vec::new();
            engine::format::write(&r, OutputFormat::Table, &mut buf).expect("writes");
            let text = String::from_utf8(buf).expect("utf-8");
            let ordered = ["sort by", "order by", "top "].iter().any(|k| query.contains(k));
            let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
            if !ordered && lines.len() > 2 {
                let mut body = lines.split_off(2);
                body.sort();
                lines.extend(body);
            }
            let mut out = lines.join("\n") + "\n";
            for n in &r.notices {
                out.push_str(&format!("note: {n}\n"));
            }
            if let Some(spec) = &r.render
                && let Some(chart) = engine::chart::chart(&r, spec)
            {
                out.push_str(&format!("chart: {} ({} series)\n", chart.kind, chart.series.len()));
                for s in &chart.series {
                    let pts: Vec<String> = s.points.iter().map(|p| format!("{}={}", p.x, p.y)).collect();
                    out.push_str(&format!("  {}: {}\n", s.name, pts.join(" ")));
                }
            }
            out
        }
    }
}

#[test]
fn golden_files() {
    let engine = common::engine_for(&common::cluster_events(300));
    let mut paths: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .expect("tests/golden exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "kql"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 20, "the golden suite has only {} files", paths.len());
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for p in &paths {
        let query = std::fs::read_to_string(p).expect("readable");
        let actual = output_of(&engine, query.trim_end());
        let out = p.with_extension("out");
        if update {
            std::fs::write(&out, &actual).expect("writable");
            continue;
        }
        match std::fs::read_to_string(&out) {
            Ok(want) if want == actual => {}
            Ok(want) => failures.push(format!("{}:\n--- expected\n{want}--- actual\n{actual}", p.display())),
            Err(_) => failures.push(format!("{}: no .out file (run with UPDATE_GOLDEN=1)", p.display())),
        }
    }
    assert!(failures.is_empty(), "{} golden file(s) differ:\n{}", failures.len(), failures.join("\n"));
}

/// Every form of "sort twice on one table column" the review found stopped with "internal
/// planner error" (the second sort's key was rewritten into a column that does not exist).
#[test]
fn sorting_twice_on_the_same_column_is_not_an_internal_error() {
    let engine = common::engine_for(&common::cluster_events(50));
    let queries = [
        "AKSAudit | top 20 by TimeGenerated | order by TimeGenerated asc",
        "AKSAudit | top 5 by Verb | order by Verb asc",
        "AKSAudit | top 3 by AuditId | order by AuditId asc",
        "AKSAudit | top 5 by UserAgent | order by UserAgent",
        "AKSAudit | sort by Verb asc | top 3 by Verb desc",
        "AKSAudit | take 5 | order by Verb asc | order by Verb desc",
        "AKSAudit | top 3 by TimeGenerated | top 2 by TimeGenerated asc",
        "AKSAudit | top 3 by TimeGenerated | project TimeGenerated | order by TimeGenerated asc",
        "AKSAudit | project-rename V = Verb | top 3 by V | order by V asc",
        "AzureDiagnostics | top 3 by TimeGenerated | order by TimeGenerated asc",
        "KubeAudit | top 5 by verb | order by verb",
    ];
    for q in queries {
        let out = output_of(&engine, q);
        assert!(!out.starts_with("error"), "{q}\n{out}");
    }
}
