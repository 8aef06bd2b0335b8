//! Parse errors and their rendering with `line:col`, the source line and a caret.

use std::fmt;

use crate::ast::Span;

/// What kind of problem a [`ParseError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The text is not KQL (or not KQL this parser knows).
    Syntax,
    /// Valid KQL that this tool does not run yet (`mv-apply`, `evaluate`, …).
    Unsupported,
    /// A literal whose text is malformed (`datetime(2024-13-01)`, an integer too large).
    InvalidLiteral,
    /// A call of a function that KQL does not have.
    UnknownFunction,
    /// Nesting deeper than [`crate::MAX_DEPTH`].
    TooDeep,
}

/// An error in a query, with the span it is about and an optional hint.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    /// The kind of problem.
    pub kind: ParseErrorKind,
    /// One line saying what is wrong.
    pub message: String,
    /// Where in the source (byte offsets).
    pub span: Span,
    /// What to do about it, e.g. "did you mean `where`?".
    pub help: Option<String>,
}

impl ParseError {
    /// A syntax error.
    pub fn syntax(message: impl Into<String>, span: Span) -> Self {
        ParseError { kind: ParseErrorKind::Syntax, message: message.into(), span, help: None }
    }

    /// An error of the given kind.
    pub fn new(kind: ParseErrorKind, message: impl Into<String>, span: Span) -> Self {
        ParseError { kind, message: message.into(), span, help: None }
    }

    /// "not supported yet: `what`".
    pub fn unsupported(what: &str, span: Span) -> Self {
        ParseError::new(ParseErrorKind::Unsupported, format!("not supported yet: {what}"), span)
    }

    /// The same error with a hint.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The error as a person reads it: message, `origin:line:col`, the source line and a
    /// caret under the spot. `origin` names the query's file (or e.g. `<query>`).
    pub fn render(&self, source: &str, origin: &str) -> String {
        render_diagnostic(source, origin, self.span, &self.message, self.help.as_deref())
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some(help) = &self.help {
            write!(f, " ({help})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}

/// 1-based line and column (in characters) of byte `offset` in `source`.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(source, offset);
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = source[line_start..offset].chars().count() + 1;
    (line, col)
}

fn floor_char_boundary(source: &str, offset: usize) -> usize {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// Renders a message about `span` of `source` in the project's diagnostic format:
///
/// ```text
/// error: unknown operator `wher`
///  --> query.kql:2:3
///   |
/// 2 | | wher x > 1
///   |   ^^^^
///   = help: did you mean `where`?
/// ```
///
/// The engine uses it for its own errors (unknown columns, tables) so that every message
/// about a query looks the same.
pub fn render_diagnostic(
    source: &str,
    origin: &str,
    span: Span,
    message: &str,
    help: Option<&str>,
) -> String {
    let start = floor_char_boundary(source, span.start);
    let end = floor_char_boundary(source, span.end.max(span.start));
    let (line, col) = line_col(source, start);
    let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = source[start..].find('\n').map_or(source.len(), |i| start + i);
    let line_text = source[line_start..line_end].trim_end_matches('\r');
    // The caret runs to the end of the span or of the line, whichever comes first, and is at
    // least one character wide so an error at the end of input still points somewhere.
    let caret_end = end.min(line_start + line_text.len()).max(start);
    let width = source[start..caret_end].chars().count().max(1);
    let gutter = line.to_string().len();
    let pad = " ".repeat(gutter);
    // Tabs before the spot are kept as tabs so the caret lines up in any terminal.
    let lead: String =
        source[line_start..start].chars().map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
    let mut out = String::new();
    out.push_str(&format!("error: {message}\n"));
    out.push_str(&format!("{pad}--> {origin}:{line}:{col}\n"));
    out.push_str(&format!("{pad} |\n"));
    out.push_str(&format!("{line} | {line_text}\n"));
    out.push_str(&format!("{pad} | {lead}{}\n", "^".repeat(width)));
    if let Some(help) = help {
        out.push_str(&format!("{pad} = help: {help}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_not_bytes() {
        let src = "ab\nçd|x";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 3), (2, 1));
        // 'ç' is two bytes: offset 5 is the 'd', the second character of line 2.
        assert_eq!(line_col(src, 5), (2, 2));
        assert_eq!(line_col(src, 100), (2, 5));
    }

    #[test]
    fn render_points_at_end_of_input() {
        let src = "T | where";
        let text = render_diagnostic(src, "<query>", Span::new(9, 9), "expected an expression", None);
        assert_eq!(
            text,
            "error: expected an expression\n --> <query>:1:10\n  |\n1 | T | where\n  |          ^\n"
        );
    }
}
