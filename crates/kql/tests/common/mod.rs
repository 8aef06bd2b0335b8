//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod property;

pub use property::without_spans;

/// Parses or fails the test with the rendered error.
pub fn parse_ok(source: &str) -> kql::Query {
    kql::parse(source).unwrap_or_else(|e| panic!("{}", e.render(source, "<query>")))
}

/// Parses or fails the test with the rendered error.
pub fn expr_ok(source: &str) -> kql::Expr {
    kql::parse_expression(source).unwrap_or_else(|e| panic!("{}", e.render(source, "<expr>")))
}

/// Whether two expressions parse to the same tree (spans aside).
pub fn same_expr(a: &str, b: &str) -> bool {
    without_spans(&format!("{:?}", expr_ok(a))) == without_spans(&format!("{:?}", expr_ok(b)))
}

/// Whether two queries parse to the same tree (spans aside).
pub fn same_query(a: &str, b: &str) -> bool {
    without_spans(&format!("{:?}", parse_ok(a))) == without_spans(&format!("{:?}", parse_ok(b)))
}
