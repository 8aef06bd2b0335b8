//! KQL (Kusto) front end: lexer, parser, AST with source spans, error messages; no engine.
//!
//! ```
//! let query = kql::parse("AKSAudit | where Verb == 'get' | summarize count() by UserAgent")
//!     .expect("valid KQL");
//! let result = query.result().expect("a tabular statement");
//! assert_eq!(result.operators.len(), 2);
//! assert_eq!(result.operators[1].kind.name(), "summarize");
//! ```
//!
//! Errors carry a span and render with the source line and a caret:
//!
//! ```
//! let source = "AKSAudit | wher Verb == 'get'";
//! let err = kql::parse(source).unwrap_err();
//! assert_eq!(err.help.as_deref(), Some("did you mean `where`?"));
//! assert!(err.render(source, "<query>").contains("<query>:1:12"));
//! ```

pub mod ast;
pub mod error;
pub mod lexer;
pub mod names;
pub mod params;
pub mod parser;
pub mod time;

pub use ast::*;
pub use error::{ParseError, ParseErrorKind, line_col, render_diagnostic};
pub use names::{
    AGGREGATE_FUNCTIONS, RENDER_KINDS, SCALAR_FUNCTIONS, SUPPORTED_OPERATORS, UNSUPPORTED_OPERATORS,
    did_you_mean, is_known_function, known_functions,
};
pub use params::{sentinel_workbook_defaults, substitute_parameters};
pub use parser::{MAX_DEPTH, ParseOptions, parse, parse_expression, parse_with};
