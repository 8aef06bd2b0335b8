//! Helpers the tests of documents and YAML streams share (`documents.rs`, `yaml.rs`): the
//! demo log's events parsed, and audit IDs of events and rows.

use arrow::array::{AsArray, RecordBatch};
use audit::col;
use serde_json::Value;

/// The demo log's events (`super::reading::demo_lines`), parsed.
pub fn demo_events() -> Vec<Value> {
    super::reading::demo_lines().iter().map(|l| serde_json::from_str(l).expect("a JSON event")).collect()
}

/// The audit IDs of the rows, in order.
pub fn audit_ids(batch: &RecordBatch) -> Vec<String> {
    let ids = batch.column_by_name(col::AUDIT_ID).expect("audit id");
    ids.as_string::<i32>().iter().map(|v| v.unwrap_or_default().to_owned()).collect()
}

/// An event's audit ID.
pub fn audit_id(event: &Value) -> String {
    event["auditID"].as_str().expect("an audit ID").to_owned()
}
