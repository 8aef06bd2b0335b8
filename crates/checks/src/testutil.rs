//! Helpers for the checks' unit tests.

use chrono::{DateTime, Duration, Utc};
use findings::TimeRange;

use crate::audit::AuditContext;
use crate::table::Cell;

/// The start of the test window.
pub fn time_at(offset_seconds: i64) -> DateTime<Utc> {
    let start = DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z").expect("valid time").with_timezone(&Utc);
    start + Duration::seconds(offset_seconds)
}

/// A context over one hour, default thresholds.
pub fn ctx_hour() -> AuditContext {
    AuditContext::new(TimeRange { start: time_at(0), end: time_at(3600) })
}

/// A text cell.
pub fn text(s: &str) -> Cell {
    Cell::Text(s.to_owned())
}

/// A list-of-text cell.
pub fn list(items: &[&str]) -> Cell {
    Cell::List(items.iter().map(|s| text(s)).collect())
}
