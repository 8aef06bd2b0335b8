//! GKE's Cloud Logging entries met as JSON values (a `gcloud logging read` array or YAML
//! document, a line the fast path in `records.rs` could not read): read into the borrowed
//! entry of [`crate::raw::gke`], which turns them back into the events they describe.

use serde_json::{Map, Value};

/// Whether a record is a Cloud Logging entry with an audit payload.
pub(super) fn is_entry(map: &Map<String, Value>) -> bool {
    map.contains_key("protoPayload")
}
