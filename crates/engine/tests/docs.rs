//! Keeps `docs/kql.md` true: every ```kusto example runs on the test cluster's events, and
//! every operator and function the tables list is exercised by a golden file.

mod common;

use std::path::PathBuf;

fn doc() -> String {
    std::fs::read_to_string(
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
            .join("../../docs/kql.md"),
    )
    .expect("docs/kql.md")
}

fn examples(doc: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in doc.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```kusto") => current = Some(String::new()),
            (Some(q), "```") => {
                out.push(q.trim_end().to_owned());
                current = None;
            }
            (Some(q), l) => {
                q.push_str(l);
                q.push('\n');
            }
            (None, _) => {}
        }
    }
    out
}

#[test]
fn every_documented_example_runs() {
    let doc = doc();
    let examples = examples(&doc);
    assert!(examples.len() >= 10, "docs/kql.md has only {} examples", examples.len());
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = common::engine_for_format(dir.path(), "azure-diagnostics", &common::cluster_events(500));
    for q in &examples {
        let r = engine
            .query(q, &common::opts())
            .unwrap_or_else(|e| panic!("docs/kql.md example fails:\n{q}\n{}", e.render(q, "<doc>")));
        assert!(r.num_rows() > 0, "docs/kql.md example returns no rows:\n{q}");
    }
}

/// Backticked names in the first column of the docs' operator and function tables.
fn documented_names(doc: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_section = false;
    for line in doc.lines() {
        if line.starts_with("## ") {
            in_section = matches!(
                line,
                "## Tabular operators" | "## Scalar functions and operators" | "## Aggregates"
            );
        }
        if !in_section || !line.starts_with("| `") {
            continue;
        }
        let first = line.split(" | ").next().unwrap_or("");
        for piece in first.split('`').skip(1).step_by(2) {
            let word: String = piece
                .chars()
                .take_while(|c| {
                    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '!' | '=' | '~' | '<' | '>')
                })
                .collect();
            if word.len() >= 2 && word.chars().any(|c| c.is_ascii_alphabetic()) {
                names.push(word);
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

#[test]
fn every_documented_name_has_a_golden_file() {
    let doc = doc();
    let names = documented_names(&doc);
    assert!(names.len() > 80, "found only {} documented names", names.len());
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
        .join("tests/golden");
    let mut corpus = String::new();
    for e in std::fs::read_dir(&dir).expect("tests/golden").flatten() {
        if e.path().extension().is_some_and(|x| x == "kql") {
            corpus.push_str(&std::fs::read_to_string(e.path()).expect("readable"));
            corpus.push('\n');
        }
    }
    let missing: Vec<&String> = names.iter().filter(|n| !corpus.contains(n.as_str())).collect();
    assert!(missing.is_empty(), "documented but not in any golden file: {missing:?}");
}
