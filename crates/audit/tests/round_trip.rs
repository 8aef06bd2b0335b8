//! Round trip: one set of real events written by `audit::write` in every format, container,
//! dynamic-column encoding and compression reads back to the same canonical rows.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use arrow::array::{Array, RecordBatch};
use arrow::compute::concat_batches;
use audit::batch::{Origin, events_to_batch};
use audit::read::{ReadOptions, SinkError, read_bytes};
use audit::write::{
    AuditWriter, CloudWatchShape, Compressed, Compression, Container, DynamicColumns, EnvelopeLog, Format,
    LogStoreShape,
};
use audit::{Event, InputFormat, canonical_schema, col};

fn fixture(rel: &str) -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
        .join("tests/fixtures")
        .join(rel)
}

/// The real events of two published logs: audit2rbac's demo (v1 events with the v1beta1-era
/// `metadata`/`timestamp` fields) and Panther's EKS rule tests (events under `log`); a few are
/// turned into `audit.k8s.io/v1beta1` so that version is written and read too.
fn real_events() -> Vec<Event> {
    let mut events = Vec::new();
    let demo = std::fs::read_to_string(fixture("audit/audit2rbac_demo.log")).expect("fixture");
    for line in demo.lines().filter(|l| !l.trim().is_empty()) {
        events.push(serde_json::from_str::<Event>(line).expect("audit2rbac lines are events"));
    }
    let panther =
        std::fs::read_to_string(fixture("audit/panther_eks_audit_rule_test_events.jsonl")).expect("fixture");
    for line in panther.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).expect("panther lines are JSON");
        if let Some(mut log) = v.get("log").cloned()
            && log.get("kind").and_then(|k| k.as_str()) == Some("Event")
        {
            // Panther normalises timestamps to `2022-11-29 00:09:04.38`; the owned model wants
            // RFC 3339 (ingest reads both, see read_formats.rs).
            for key in ["requestReceivedTimestamp", "stageTimestamp"] {
                if let Some(t) =
                    log.get(key).and_then(|t| t.as_str()).map(|t| format!("{}Z", t.replace(' ', "T")))
                {
                    log[key] = serde_json::Value::String(t);
                }
            }
            events.push(serde_json::from_value::<Event>(log).expect("panther logs are events"));
        }
    }
    for e in events.iter_mut().step_by(5) {
        e.api_version = "audit.k8s.io/v1beta1".to_owned();
    }
    // Bodies are dropped on ingest by default, and the comparison is of canonical rows.
    assert!(events.len() > 40, "{} events", events.len());
    events
}

fn origin() -> Origin {
    Origin {
        time_generated: chrono::DateTime::parse_from_rfc3339("2024-03-01T10:00:12.3456789Z")
            .ok()
            .map(|t| t.to_utc()),
        azure_category: Some("kube-audit".to_owned()),
        cluster_resource_id: Some(
            "/SUBSCRIPTIONS/1D2E3F4A-0000-4000-8000-00000000ABCD/RESOURCEGROUPS/RG-PROD/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/PROD-WEU"
                .to_owned(),
        ),
        apiserver_pod: Some("kube-apiserver-6df5497d6d-g2vd7".to_owned()),
    }
}

/// Every format the writers produce, with the input format ingest must detect for it.
fn formats() -> Vec<(Format, InputFormat)> {
    let mut out = vec![
        (Format::K8sLog, InputFormat::K8sLog),
        (Format::EventListLines { batch: 7 }, InputFormat::EventList),
        (Format::EventListPretty, InputFormat::EventList),
    ];
    for container in [Container::Ndjson, Container::JsonArray, Container::Csv] {
        let csv = container == Container::Csv;
        out.push((
            Format::AzureDiagnostics { container },
            if csv { InputFormat::AzureDiagnosticsCsv } else { InputFormat::AzureDiagnostics },
        ));
        for dynamic in [DynamicColumns::Nested, DynamicColumns::JsonStrings] {
            out.push((
                Format::AksAudit { container, dynamic },
                if csv { InputFormat::AksAuditCsv } else { InputFormat::AksAudit },
            ));
        }
    }
    for log in [EnvelopeLog::String, EnvelopeLog::Object] {
        out.push((Format::DiagnosticEnvelope { log, batch: 10 }, InputFormat::DiagnosticEnvelope));
    }
    for shape in [
        CloudWatchShape::FilterLogEvents,
        CloudWatchShape::Subscription { batch: 9 },
        CloudWatchShape::QueryResults,
    ] {
        out.push((Format::CloudWatch { shape }, InputFormat::CloudWatch));
    }
    for shape in [
        LogStoreShape::LokiText,
        LogStoreShape::LokiJsonl,
        LogStoreShape::SplunkJson,
        LogStoreShape::SplunkCsv,
        LogStoreShape::ElasticDump,
        LogStoreShape::ElasticSearch,
        LogStoreShape::Filebeat,
    ] {
        out.push((Format::LogStore { shape }, InputFormat::K8sLog));
    }
    out
}

fn write(format: Format, compression: Compression, events: &[Event], origin: &Origin) -> Vec<u8> {
    let out = Compressed::new(Vec::new(), compression).expect("compressor");
    let mut w = AuditWriter::new(out, format);
    for e in events {
        w.write_event(e, origin).expect("write to memory");
    }
    w.finish().expect("finish").finish().expect("finish compression")
}

fn read(name: &str, bytes: &[u8]) -> (audit::read::FileSummary, RecordBatch) {
    let mut batches = Vec::new();
    let mut sink = |_: &str, b: RecordBatch| -> Result<(), SinkError> {
        batches.push(b);
        Ok(())
    };
    let summary = read_bytes(name, bytes, &ReadOptions::default(), &mut sink).expect("read");
    let batch = concat_batches(&canonical_schema(), &batches).expect("concat");
    (summary, batch)
}

/// Columns a format has no place for: `AKSAudit` rows carry no impersonated user and no event
/// `apiVersion` (see `docs/schema.md`); origin columns depend on the format by design.
fn not_carried(format: InputFormat) -> BTreeSet<&'static str> {
    let mut cols = BTreeSet::from([
        col::SOURCE_FORMAT,
        col::TIME_GENERATED,
        col::AZURE_CATEGORY,
        col::CLUSTER_RESOURCE_ID,
        col::APISERVER_POD,
    ]);
    if matches!(format, InputFormat::AksAudit | InputFormat::AksAuditCsv) {
        cols.extend([
            col::IMPERSONATED_USERNAME,
            col::IMPERSONATED_UID,
            col::IMPERSONATED_GROUPS,
            col::EVENT_API_VERSION,
        ]);
    }
    cols
}

fn assert_same_rows(what: &str, got: &RecordBatch, want: &RecordBatch, skip: &BTreeSet<&str>) {
    assert_eq!(got.num_rows(), want.num_rows(), "{what}: rows");
    for field in canonical_schema().fields() {
        let name = field.name().as_str();
        if skip.contains(name) {
            continue;
        }
        let (g, w) = (got.column_by_name(name).expect("column"), want.column_by_name(name).expect("column"));
        for i in 0..want.num_rows() {
            assert_eq!(
                g.slice(i, 1).to_data(),
                w.slice(i, 1).to_data(),
                "{what}: column {name}, row {i}: got {:?}, want {:?}",
                g.slice(i, 1),
                w.slice(i, 1)
            );
        }
    }
}

#[test]
fn events_written_in_every_format_and_compression_ingest_to_identical_canonical_rows() {
    let events = real_events();
    let origin = origin();
    let want =
        events_to_batch(&events, InputFormat::K8sLog, &Origin::default(), false).expect("reference rows");
    let mut checked = 0;
    for (format, detected) in formats() {
        for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let what = format!("{format:?} {compression:?}");
            let bytes = write(format, compression, &events, &origin);
            let (summary, got) = read(&what, &bytes);
            assert_eq!(summary.skipped, 0, "{what}: {:?}", summary.examples);
            assert_eq!(summary.not_audit, None, "{what}");
            assert_eq!(summary.formats.keys().copied().collect::<Vec<_>>(), [detected], "{what}");
            assert_same_rows(&what, &got, &want, &not_carried(detected));
            // Origin columns: the format's name, and Azure's columns where the format has them.
            let fmt = got.column_by_name(col::SOURCE_FORMAT).expect("format");
            let fmt = fmt.as_any().downcast_ref::<arrow::array::StringArray>().expect("utf8");
            assert!(fmt.iter().all(|f| f == Some(detected.name())), "{what}: source_format");
            if ![InputFormat::K8sLog, InputFormat::EventList, InputFormat::CloudWatch].contains(&detected) {
                let cat = got.column_by_name(col::AZURE_CATEGORY).expect("category");
                let cat = cat.as_any().downcast_ref::<arrow::array::StringArray>().expect("utf8");
                assert!(cat.iter().all(|c| c == Some("kube-audit")), "{what}: azure_category");
                let rid = got.column_by_name(col::CLUSTER_RESOURCE_ID).expect("resource id");
                assert_eq!(rid.null_count(), 0, "{what}: cluster_resource_id");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 24 * 3);
}

#[test]
fn a_round_trip_through_files_on_disk_ingests_to_one_copy_of_each_event() {
    // The same events in three formats in one directory: a store keeps one row per event.
    // Only events with an audit ID and a timestamp, as every real apiserver event has: without
    // them, Azure's TimeGenerated (which a native log does not have) places and keys the row
    // (docs/schema.md, "Deduplication").
    let events: Vec<Event> = real_events()
        .into_iter()
        .filter(|e| {
            !e.audit_id.is_empty() && (e.stage_timestamp.is_some() || e.request_received_timestamp.is_some())
        })
        .collect();
    let origin = origin();
    let dir = tempfile::tempdir().expect("tmp");
    let inputs = dir.path().join("in");
    std::fs::create_dir(&inputs).expect("mkdir");
    for (i, (format, compression)) in [
        (Format::K8sLog, Compression::Gzip),
        (Format::AzureDiagnostics { container: Container::Csv }, Compression::None),
        (Format::DiagnosticEnvelope { log: EnvelopeLog::String, batch: 3 }, Compression::Zstd),
    ]
    .into_iter()
    .enumerate()
    {
        std::fs::write(inputs.join(format!("{i}.log")), write(format, compression, &events, &origin))
            .expect("write");
    }
    // What the first file alone gives: the other two, the same events, must add nothing.
    let alone = audit::ingest::ingest_paths(
        &[inputs.join("0.log")],
        &dir.path().join("alone"),
        &audit::ingest::IngestOptions::default(),
    )
    .expect("ingest one");
    assert!(alone.kept >= 10 && alone.kept <= events.len() as u64, "{}", alone.kept);
    let store = dir.path().join("store");
    let r = audit::ingest::ingest_paths(&[inputs], &store, &audit::ingest::IngestOptions::default())
        .expect("ingest");
    assert_eq!(r.events(), 3 * events.len() as u64);
    assert_eq!((r.kept, r.duplicates), (alone.kept, 3 * events.len() as u64 - alone.kept));
    let s = audit::store::Store::open(&store).expect("store");
    assert_eq!(s.manifest().totals().events, alone.kept);
}
