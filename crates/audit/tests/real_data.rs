//! Every real published file under the shared `audit/` and `azure/` folders, with its event
//! count (or its "not an audit format" message) pinned.

use std::path::{Path, PathBuf};

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{Int32Type, TimestampNanosecondType};
use audit::read::{Container, FileSummary, ReadOptions, SinkError, SkipKind, read_paths};
use audit::{InputFormat, col};

/// The shared data folder: `APISERVER_DOCTOR_SHARED_DATA`, else `../shared/data` next to the
/// workspace, else `/work/shared/data`. `None` (test skipped) unless `CI` is set.
fn shared_data() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("APISERVER_DOCTOR_SHARED_DATA").map(PathBuf::from),
        Some(
            Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
                .join("../../../shared/data"),
        ),
        Some(PathBuf::from("/work/shared/data")),
    ];
    let found = candidates.into_iter().flatten().find(|p| p.join("real").is_dir());
    if found.is_none() {
        assert!(std::env::var_os("CI").is_none(), "CI is set but the shared data folder is missing");
        eprintln!("skipped: shared data folder not found (set APISERVER_DOCTOR_SHARED_DATA)");
    }
    found
}

fn fixtures() -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
        .join("tests/fixtures")
}

fn read(path: &Path) -> (Vec<FileSummary>, usize) {
    let mut rows = 0usize;
    let mut sink = |_: &str, b: RecordBatch| -> Result<(), SinkError> {
        rows += b.num_rows();
        Ok(())
    };
    let summary = read_paths(&[path.to_path_buf()], &ReadOptions::default(), &mut sink).expect("read");
    (summary.files, rows)
}

/// (file under the real-data folder, format, events, skipped, `not_audit` message part).
type Expect = (&'static str, Option<InputFormat>, u64, u64, Option<&'static str>);

const FILES: &[Expect] = &[
    ("audit/audit2rbac_demo.log", Some(InputFormat::K8sLog), 37, 0, None),
    // 3 native events, 1 AKS diagnostic record with `properties.log` as an object and 1 GKE
    // Cloud Logging entry (protoPayload); see tests/gke.rs for the GKE row.
    ("audit/elastic_integrations_test-audit_mixed.log", Some(InputFormat::K8sLog), 5, 0, None),
    ("audit/hkerma_perfspec_audit-logs.csv", None, 0, 0, Some("CSV without a header line")),
    ("audit/joonghyunlee_k8s-audit-webhook_EventList.json", Some(InputFormat::EventList), 2, 0, None),
    ("audit/khi_oss_test-log_single-event.yaml", Some(InputFormat::K8sLog), 1, 0, None),
    ("audit/panther_eks_audit_rule_test_events.jsonl", Some(InputFormat::K8sLog), 188, 0, None),
    (
        "audit/sysdig-aks-audit-log_sample_KubeAuditLog_event_RequestResponse.json",
        Some(InputFormat::K8sLog),
        1,
        0,
        None,
    ),
    ("azure/AKSAuditAdmin_table_reference.md", None, 0, 0, Some("YAML with no audit Event")),
    ("azure/AKSAudit_table_reference.md", None, 0, 0, Some("YAML with no audit Event")),
    ("azure/AKSAudit_columns.tsv", None, 0, 0, Some("neither JSON, YAML, nor CSV")),
    (
        "azure/elastic_integrations_test-kube-audit_aks-diagnostic-envelope.log",
        Some(InputFormat::DiagnosticEnvelope),
        1,
        0,
        None,
    ),
    (
        "azure/panther_aks_kube-audit_rule_test_events.jsonl",
        Some(InputFormat::DiagnosticEnvelope),
        34,
        0,
        None,
    ),
    (
        "azure/sysdig-aks-audit-log_eventhub_records_event.json",
        Some(InputFormat::DiagnosticEnvelope),
        22,
        0,
        None,
    ),
    (
        "azure/sysdig-aks-audit-log_sample_EventHubs_event.json",
        Some(InputFormat::DiagnosticEnvelope),
        1,
        0,
        None,
    ),
];

fn check(base: &Path, expect: &Expect) {
    let (name, format, events, skipped, not_audit) = *expect;
    let path = base.join(name);
    let (files, rows) = read(&path);
    assert_eq!(files.len(), 1, "{name}");
    let f = &files[0];
    assert_eq!(f.format(), format, "{name}: format");
    assert_eq!(f.events, events, "{name}: events; {f:#?}");
    assert_eq!(rows as u64, events, "{name}: rows handed to the sink");
    assert_eq!(f.skipped, skipped, "{name}: skipped; {:#?}", f.examples);
    match not_audit {
        Some(part) => {
            let msg = f.not_audit.as_deref().unwrap_or_default();
            assert!(msg.contains(part), "{name}: not_audit {msg:?} lacks {part:?}");
        }
        None => assert_eq!(f.not_audit, None, "{name}"),
    }
}

#[test]
fn every_real_audit_and_azure_file_has_its_pinned_event_count() {
    let Some(shared) = shared_data() else { return };
    let real = shared.join("real");
    for e in FILES {
        check(&real, e);
    }
    // Nothing in those folders escapes the table above.
    let mut listed: Vec<String> = FILES.iter().map(|e| e.0.to_owned()).collect();
    listed.push("audit/falco_k8s_audit_trace_files".to_owned());
    for dir in ["audit", "azure"] {
        for entry in std::fs::read_dir(real.join(dir)).expect("list") {
            let name = format!("{dir}/{}", entry.expect("entry").file_name().to_string_lossy());
            assert!(listed.contains(&name), "{name} has no pinned count");
        }
    }
}

#[test]
fn falco_trace_files_hold_51_events_and_the_malformed_one_is_reported() {
    let (files, rows) = read(&fixtures().join("audit/falco_k8s_audit_trace_files"));
    assert_eq!(files.len(), 47);
    assert_eq!(rows, 51);
    let bad: Vec<&FileSummary> = files.iter().filter(|f| f.skipped > 0).collect();
    assert_eq!(bad.len(), 1);
    assert!(bad[0].file.ends_with("fal_01_003.json"));
    let ex = &bad[0].examples[0];
    assert_eq!(ex.kind, SkipKind::NotAuditRecord);
    assert_eq!(
        ex.to_string(),
        format!("{}: line 1: not an audit record: `kind` is a number 0, expected \"Event\"", bad[0].file)
    );
    let six =
        files.iter().find(|f| f.file.ends_with("create_configmap_sensitive_values.json")).expect("file");
    assert_eq!(six.events, 6);
    let v1beta1 = files.iter().filter(|f| f.events > 0 && f.container == Some(Container::JsonLines)).count();
    assert_eq!(v1beta1, 46);
}

#[test]
fn copied_fixtures_read_as_in_the_shared_folder() {
    let base = fixtures();
    for e in FILES {
        if base.join(e.0).exists() {
            check(&base, e);
        }
    }
}

#[test]
fn bom_files_are_read_as_documents() {
    let (files, _) = read(&fixtures().join("azure/sysdig-aks-audit-log_sample_EventHubs_event.json"));
    assert_eq!(files[0].container, Some(Container::JsonDocument));
    let (files, _) =
        read(&fixtures().join("audit/sysdig-aks-audit-log_sample_KubeAuditLog_event_RequestResponse.json"));
    assert_eq!(files[0].container, Some(Container::JsonDocument));
    assert_eq!(files[0].events, 1);
}

/// The GKE Cloud Logging entry of Elastic's test log, the one real GKE entry in the shared
/// data (`tests/gke.rs` covers the shapes built by hand).
#[test]
fn the_real_gke_entry_of_elastics_test_log_reads_as_a_readyz_probe() {
    let Some(shared) = shared_data() else { return };
    let path = shared.join("real/audit/elastic_integrations_test-audit_mixed.log");
    let mut batches = Vec::new();
    let mut sink = |_: &str, b: RecordBatch| -> Result<(), SinkError> {
        batches.push(b);
        Ok(())
    };
    let summary = read_paths(&[path], &ReadOptions::default(), &mut sink).expect("read");
    let f = &summary.files[0];
    assert_eq!(f.skipped, 0, "{:?}", f.examples);
    assert_eq!(f.formats.get(&InputFormat::Gke), Some(&1));
    let batch = arrow::compute::concat_batches(&audit::canonical_schema(), &batches).expect("concat");
    let strings = |name: &str| -> Vec<Option<String>> {
        let a = batch.column_by_name(name).expect("column");
        a.as_string::<i32>().iter().map(|v| v.map(str::to_owned)).collect()
    };
    let formats = strings(col::SOURCE_FORMAT);
    let row = formats.iter().position(|f| f.as_deref() == Some("gke")).expect("the GKE row");
    let at = |c: &str| strings(c)[row].clone();
    assert_eq!(at(col::AUDIT_ID).as_deref(), Some("1234abcd"));
    assert_eq!(at(col::VERB).as_deref(), Some("get"));
    assert_eq!(at(col::REQUEST_URI).as_deref(), Some("/readyz"));
    assert_eq!(at(col::OBJECT_RESOURCE), None);
    assert_eq!(at(col::USER_USERNAME).as_deref(), Some("system:gke-master-healthcheck"));
    assert_eq!(at(col::USER_AGENT).as_deref(), Some("gke-master-healthcheck"));
    assert_eq!(at(col::LEVEL).as_deref(), Some("Metadata"));
    assert_eq!(
        at(col::CLUSTER_RESOURCE_ID).as_deref(),
        Some("projects/elastic-siem/locations/us-central1/clusters/test-cluster")
    );
    let codes = batch.column_by_name(col::RESPONSE_CODE).expect("code");
    assert_eq!(codes.as_primitive::<Int32Type>().value(row), 200);
    let stage = batch.column_by_name(col::STAGE_TIMESTAMP).expect("stage");
    let want = chrono::DateTime::parse_from_rfc3339("2025-07-13T08:38:39.127266Z").expect("time");
    assert_eq!(
        stage.as_primitive::<TimestampNanosecondType>().value(row),
        want.timestamp_nanos_opt().expect("nanos")
    );
    // The decision GKE keeps as a label is the event's annotation.
    let anns = batch.column_by_name(col::ANNOTATIONS).expect("annotations");
    let map = anns.as_map().value(row);
    let keys = map.column(0).as_string::<i32>();
    assert!(keys.iter().any(|k| k == Some("authorization.k8s.io/decision")));
}
