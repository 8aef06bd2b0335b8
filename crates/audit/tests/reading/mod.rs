//! Helpers the format tests share (`cloudwatch.rs`, `gke.rs`, `log_stores.rs`): the real events
//! of audit2rbac's demo log, and a read of bytes into one batch with its summary.

use std::path::Path;

use arrow::array::RecordBatch;
use arrow::compute::concat_batches;
use audit::canonical_schema;
use audit::read::{FileSummary, ReadOptions, SinkError, read_bytes};

/// The lines of audit2rbac's demo log (`tests/fixtures/audit/audit2rbac_demo.log`), each one
/// real audit event.
pub fn demo_lines() -> Vec<String> {
    let path = Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
        .join("tests/fixtures/audit/audit2rbac_demo.log");
    let text = std::fs::read_to_string(path).expect("fixture");
    text.lines().filter(|l| !l.trim().is_empty()).map(str::to_owned).collect()
}

/// `bytes` read as the file `name` with `opts`: its summary and every row in one batch.
pub fn read_with(name: &str, bytes: &[u8], opts: &ReadOptions) -> (FileSummary, RecordBatch) {
    let mut batches = Vec::new();
    let mut sink = |_: &str, b: RecordBatch| -> Result<(), SinkError> {
        batches.push(b);
        Ok(())
    };
    let f = read_bytes(name, bytes, opts, &mut sink).expect("read");
    (f, concat_batches(&canonical_schema(), &batches).expect("concat"))
}

/// [`read_with`] the default options.
pub fn read(name: &str, bytes: &[u8]) -> (FileSummary, RecordBatch) {
    read_with(name, bytes, &ReadOptions::default())
}

/// The skip examples as `line N message`.
pub fn messages(f: &FileSummary) -> Vec<String> {
    f.examples.iter().map(|e| format!("{} {}", e.location, e.message)).collect()
}
