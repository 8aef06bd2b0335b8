//! The 71 published KQL queries about AKS audit logs (issue 3): every one parses except the
//! ones listed with their reason in `tests/queries/PARSE_EXCEPTIONS.md`.
//!
//! The Microsoft-published queries are copied in `tests/queries/`; the community ones are
//! read from the shared data directory (`$APISERVER_DOCTOR_SHARED_DATA`, else
//! `../shared/data` next to the workspace, else `/work/shared/data`). When that is absent
//! the community queries are skipped with a message, except under `CI`, where it fails.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const CORPUS_SIZE: usize = 71;

fn manifest_dir() -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
}

fn shared_kql_dir() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Ok(dir) = std::env::var("APISERVER_DOCTOR_SHARED_DATA") {
        candidates.push(PathBuf::from(dir));
    }
    candidates.push(manifest_dir().join("../../../shared/data"));
    candidates.push(PathBuf::from("/work/shared/data"));
    candidates.into_iter().map(|d| d.join("kql")).find(|d| d.join("INDEX.md").is_file())
}

fn kql_files(dir: &Path) -> BTreeMap<String, PathBuf> {
    let mut files = BTreeMap::new();
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.extension().is_some_and(|e| e == "kql") {
            let name = path.file_name().expect("file name").to_string_lossy().into_owned();
            files.insert(name, path);
        }
    }
    files
}

/// The whole corpus: copied queries, plus the shared directory's when it is there.
fn corpus() -> (BTreeMap<String, PathBuf>, bool) {
    let mut files = kql_files(&manifest_dir().join("tests/queries"));
    let complete = match shared_kql_dir() {
        Some(dir) => {
            for (name, path) in kql_files(&dir) {
                files.entry(name).or_insert(path);
            }
            true
        }
        None if std::env::var_os("CI").is_some() => {
            panic!("the shared data directory with kql/INDEX.md is missing, and CI is set")
        }
        None => {
            eprintln!(
                "published_queries: shared data directory not found; community queries skipped \
                 (set APISERVER_DOCTOR_SHARED_DATA)"
            );
            false
        }
    };
    (files, complete)
}

/// `file -> (reason, error message)` from the Markdown table.
fn exceptions() -> BTreeMap<String, (String, String)> {
    let path = manifest_dir().join("tests/queries/PARSE_EXCEPTIONS.md");
    let text = std::fs::read_to_string(&path).expect("PARSE_EXCEPTIONS.md");
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("| ") && l.contains(".kql")) {
        // Cells are separated by `|` not preceded by a backslash.
        let mut cells = Vec::new();
        let mut cell = String::new();
        let mut chars = line.trim().trim_matches('|').chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&'|') => {
                    cell.push('|');
                    chars.next();
                }
                '|' => cells.push(std::mem::take(&mut cell).trim().to_string()),
                _ => cell.push(c),
            }
        }
        cells.push(cell.trim().to_string());
        assert_eq!(cells.len(), 3, "bad row in PARSE_EXCEPTIONS.md: {line}");
        out.insert(cells[0].clone(), (cells[1].clone(), cells[2].clone()));
    }
    out
}

fn load(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    kql::substitute_parameters(&text, &kql::sentinel_workbook_defaults())
}

#[test]
fn published_queries_parse_except_the_listed_ones() {
    let (files, complete) = corpus();
    let exceptions = exceptions();
    let mut problems = Vec::new();
    let mut parsed = 0;
    for (name, path) in &files {
        let source = load(path);
        match (kql::parse(&source), exceptions.get(name)) {
            (Ok(_), None) => parsed += 1,
            (Ok(_), Some(_)) => problems.push(format!("{name}: parses but is listed as an exception")),
            (Err(e), None) => problems.push(e.render(&source, name)),
            (Err(e), Some((_, expected))) if e.message != *expected => problems
                .push(format!("{name}: listed error `{expected}` but got:\n{}", e.render(&source, name))),
            (Err(_), Some(_)) => {}
        }
    }
    for name in exceptions.keys() {
        if complete && !files.contains_key(name) {
            problems.push(format!("{name}: listed in PARSE_EXCEPTIONS.md but not in the corpus"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    if complete {
        assert_eq!(files.len(), CORPUS_SIZE);
        // The target: at least 90% of the published queries parse.
        assert!(parsed * 10 >= CORPUS_SIZE * 9, "only {parsed} of {CORPUS_SIZE} parse");
    }
}

#[test]
fn every_copied_query_names_its_source() {
    let dir = manifest_dir().join("tests/queries");
    let sources = std::fs::read_to_string(dir.join("SOURCES.md")).expect("SOURCES.md");
    for (name, path) in kql_files(&dir) {
        let text = std::fs::read_to_string(&path).expect("query file");
        assert!(text.starts_with("// source: "), "{name} lacks its source line");
        assert!(sources.contains(&format!("| {name} |")), "{name} is not in SOURCES.md");
    }
}

#[test]
fn published_queries_print_back_to_the_same_tree() {
    let (files, _) = corpus();
    let exceptions = exceptions();
    for (name, path) in &files {
        if exceptions.contains_key(name) {
            continue;
        }
        let source = load(path);
        let query = kql::parse(&source).expect("parses (checked by the other test)");
        let printed = query.to_string();
        let reparsed = kql::parse(&printed)
            .unwrap_or_else(|e| panic!("{name}: printed text does not parse:\n{}", e.render(&printed, name)));
        assert_eq!(
            common::without_spans(&format!("{reparsed:?}")),
            common::without_spans(&format!("{query:?}")),
            "{name}: printed as\n{printed}"
        );
    }
}
