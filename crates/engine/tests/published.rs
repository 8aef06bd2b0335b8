//! The 71 published queries run on the test cluster's events (read from an AzureDiagnostics
//! export, so `ResourceId` and the categories are set). The Microsoft-published ones are in
//! `crates/kql/tests/queries/`; the community ones are read from the shared data directory
//! (this test skips them with a message when it is absent, and fails when `CI` is set).
//!
//! Every query runs except those in [`NOT_RUNNING`], each with its reason; the list is checked
//! both ways (a listed query must fail) and must equal the list in `docs/kql.md`
//! (`UPDATE_DOCS=1` rewrites that section).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Published queries that do not run, and why.
const NOT_RUNNING: &[(&str, &str)] = &[
    (
        "aksdocs__monitor-aks-akscontrolplane-kube-apiserver.kql",
        "reads `AKSControlPlane`, the control plane's own logs (kube-apiserver output), not audit events",
    ),
    (
        "azmonref__akscontrolplane-akscontrolplane-kube-apiserver-project.kql",
        "reads `AKSControlPlane`, the control plane's own logs, not audit events",
    ),
    (
        "supportdocs__troubleshoot-apiserver-etcd-webhook-failing-closed-aks-controlplane.kql",
        "reads `AKSControlPlane`, the control plane's own logs, not audit events",
    ),
    (
        "aksdocs__pci-dss-continuous-security-monitoring-let-signinlogs-contains-azure-kubernetes-ser.kql",
        "two queries parted only by a blank line, as Log Analytics' editor runs them (here it stops at the second, `union`, saying to separate statements with `;`); with `;` it still reads `SigninLogs`, `AzureActivity` and `KubeAuditLogs`: Entra ID and Azure activity logs, and a table that does not exist",
    ),
    (
        "azmondocs__control-plane-transformations-aksaudit-transform.kql",
        "a data-collection-rule transformation: `source` is the ingestion stream, not a table",
    ),
    (
        "azmondocs__control-plane-transformations-aksaudit-validate.kql",
        "groups by `OperationName`, which the AKSAudit table does not have",
    ),
    (
        "blog-dfir-forge-work__aksaudit-collection.kql",
        "uses `UserUsername`, `RequestURI`, `ObjectRefResource`, `ResponseStatusCode`, which the AKSAudit table does not have",
    ),
    (
        "blog-dfir-forge-work__aksauditadmin-collection.kql",
        "uses `UserUsername`, `RequestURI`, `ResponseStatusCode`, which the AKSAuditAdmin table does not have",
    ),
];

fn shared_data() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("APISERVER_DOCTOR_SHARED_DATA") {
        return Some(PathBuf::from(p));
    }
    let beside =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
            .join("../../../shared/data");
    if beside.is_dir() {
        return Some(beside);
    }
    let fixed = PathBuf::from("/work/shared/data");
    fixed.is_dir().then_some(fixed)
}

fn kql_files(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "kql")
                && let (Some(name), Ok(text)) = (p.file_name(), std::fs::read_to_string(&p))
            {
                out.insert(name.to_string_lossy().into_owned(), text);
            }
        }
    }
    out
}

fn queries() -> BTreeMap<String, String> {
    let mut all = kql_files(
        &PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
            .join("../kql/tests/queries"),
    );
    match shared_data() {
        Some(d) => {
            for (k, v) in kql_files(&d.join("kql")) {
                all.entry(k).or_insert(v);
            }
        }
        None if std::env::var_os("CI").is_some() => panic!("the shared data directory is missing"),
        None => eprintln!("skipping the community queries: the shared data directory is missing"),
    }
    all
}

/// The query as it runs: without its `// source:` line, workbook parameters substituted.
fn prepare(text: &str) -> String {
    let body: String =
        text.lines().skip_while(|l| l.starts_with("// source:")).collect::<Vec<_>>().join("\n");
    kql::substitute_parameters(&body, &kql::sentinel_workbook_defaults())
}

fn docs_section() -> String {
    let mut s = String::from("| query | why it does not run |\n|---|---|\n");
    for (f, why) in NOT_RUNNING {
        s.push_str(&format!("| `{f}` | {why} |\n"));
    }
    s
}

#[test]
fn published_queries_run() {
    let all = queries();
    let events = common::cluster_events(2000);
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = common::engine_for_format(dir.path(), "azure-diagnostics", &events);
    let mut ran = 0;
    let mut failures = Vec::new();
    for (name, text) in &all {
        let q = prepare(text);
        let expected_failure = NOT_RUNNING.iter().find(|(f, _)| f == name);
        match (engine.query(&q, &common::opts()), expected_failure) {
            (Ok(_), None) => ran += 1,
            (Ok(_), Some(_)) => failures.push(format!("{name}: listed as not running, but it runs")),
            (Err(e), None) => failures.push(format!("{name}:\n{}", e.render(&q, name))),
            (Err(_), Some(_)) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    if all.len() == 71 {
        let valid = 71 - NOT_RUNNING.len();
        eprintln!("{ran} of 71 published queries run ({valid} are over tables and columns we have)");
        assert_eq!(ran, valid);
    }
}

#[test]
fn not_running_list_is_in_the_docs() {
    let path =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
            .join("../../docs/kql.md");
    let doc = std::fs::read_to_string(&path).expect("docs/kql.md");
    let (start, end) = ("<!-- published-queries:start -->\n", "<!-- published-queries:end -->");
    let (Some(a), Some(b)) = (doc.find(start), doc.find(end)) else {
        panic!("docs/kql.md lacks the published-queries markers")
    };
    let current = &doc[a + start.len()..b];
    let want = docs_section();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        let new = format!("{}{want}{}", &doc[..a + start.len()], &doc[b..]);
        std::fs::write(&path, new).expect("writable");
        return;
    }
    assert_eq!(
        current, want,
        "docs/kql.md's list of queries that do not run is stale (UPDATE_DOCS=1 rewrites it)"
    );
}
