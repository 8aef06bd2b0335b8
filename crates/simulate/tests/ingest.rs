//! Every audit format the simulator writes is read back by `audit::read` (the reader ingest
//! uses) with zero skipped records and exactly the events the simulator says it wrote.

use std::path::Path;

use arrow::array::RecordBatch;
use audit::read::{ReadOptions, read_paths};
use audit::write::Compression;
use simulate::{Config, OutputFormat, Scenario};

fn config(format: OutputFormat, compression: Compression) -> Config {
    let mut cfg = Config::new(simulate::parse_time(simulate::DEFAULT_START).expect("valid default"));
    cfg.nodes = 8;
    cfg.duration_seconds = 90;
    cfg.seed = 7;
    cfg.scenarios = vec![Scenario::ListStorm, Scenario::WebhookOutage, Scenario::ApfThrottled];
    cfg.format = format;
    cfg.compression = compression;
    cfg.threads = 2;
    // Several files per run, so that file openings and closings are read too.
    cfg.max_file_bytes = 1 << 20;
    cfg
}

/// Reads `dir/audit` and returns (rows handed to the sink, the read's summary).
fn ingest(dir: &Path) -> (u64, audit::read::ReadSummary) {
    let mut rows = 0u64;
    let mut sink = |_file: &str, batch: RecordBatch| -> Result<(), audit::read::SinkError> {
        rows += batch.num_rows() as u64;
        Ok(())
    };
    let summary =
        read_paths(&[dir.join("audit")], &ReadOptions::default(), &mut sink).expect("audit files read");
    (rows, summary)
}

#[test]
fn every_format_ingests_with_zero_skipped_records() {
    for (format, name) in simulate::output::FORMATS {
        let compressions: &[Compression] = if matches!(format, OutputFormat::K8s | OutputFormat::AksAuditCsv)
        {
            &[Compression::None, Compression::Gzip, Compression::Zstd]
        } else {
            &[Compression::None]
        };
        for &compression in compressions {
            let dir = tempfile::tempdir().expect("tempdir");
            let summary = simulate::run(&config(format, compression), dir.path()).expect("simulation runs");
            let (rows, read) = ingest(dir.path());
            let audit_files = summary.files.iter().filter(|f| f.starts_with("audit/")).count();
            assert_eq!(read.files.len(), audit_files, "{name} {compression:?}: every audit file read");
            for f in &read.files {
                assert!(
                    f.not_audit.is_none(),
                    "{name} {compression:?}: {} not recognised: {:?}",
                    f.file,
                    f.not_audit
                );
                assert_eq!(f.skipped, 0, "{name} {compression:?}: {}: skipped {:?}", f.file, f.examples);
                assert_eq!(f.without_timestamps, 0, "{name} {compression:?}: {}", f.file);
            }
            assert_eq!(read.events(), summary.events, "{name} {compression:?}: events read");
            assert_eq!(rows, summary.events, "{name} {compression:?}: rows handed on");
        }
    }
}
