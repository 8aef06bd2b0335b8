//! Helpers shared by the integration tests.
#![allow(dead_code)]

/// The `Debug` text of a tree without its spans, to compare trees parsed from different text.
pub fn without_spans(debug: &str) -> String {
    let mut out = String::with_capacity(debug.len());
    let mut rest = debug;
    while let Some(i) = rest.find("Span { start: ") {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let end = tail.find('}').map_or(tail.len(), |e| e + 1);
        out.push_str("Span");
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

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
