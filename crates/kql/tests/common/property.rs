//! The property the fuzzer checks on every input, shared with the corpus replay test:
//! parsing never panics; an error's span lies inside the input and renders; a parsed query
//! prints as KQL that parses back to the same tree.

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

/// Checks the property on one input; panics when it does not hold.
pub fn check(data: &[u8]) {
    let Ok(source) = std::str::from_utf8(data) else { return };
    match kql::parse(source) {
        Err(err) => {
            assert!(err.span.start <= err.span.end, "span backwards: {err:?}");
            assert!(err.span.end <= source.len(), "span past the end: {err:?}");
            let rendered = err.render(source, "fuzz");
            assert!(rendered.starts_with("error: "));
        }
        Ok(query) => {
            let printed = query.to_string();
            let again = match kql::parse(&printed) {
                Ok(q) => q,
                Err(e) => panic!(
                    "printed query does not parse\n--- source\n{source}\n--- printed\n{printed}\n{}",
                    e.render(&printed, "printed")
                ),
            };
            let (a, b) = (format!("{query:?}"), format!("{again:?}"));
            assert!(
                without_spans(&a) == without_spans(&b),
                "printed query parses differently\n--- source\n{source}\n--- printed\n{printed}\n--- first\n{a}\n--- second\n{b}"
            );
        }
    }
    if let Ok(expr) = kql::parse_expression(source) {
        let printed = expr.to_string();
        assert!(kql::parse_expression(&printed).is_ok(), "printed expression does not parse: {printed}");
    }
}
