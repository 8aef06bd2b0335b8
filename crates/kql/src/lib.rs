//! KQL (Kusto) front end: lexer, parser, AST with source spans, error messages; no engine.
//!
//! - [`parse`] turns query text into a [`Query`]: `let` statements and tabular expressions
//!   ([`TabularExpr`]: a [`Source`] and `| operator` stages, [`OperatorKind`]), scalar
//!   expressions ([`Expr`], [`ExprKind`]) with literals decoded. Every node has a byte
//!   [`Span`]. The tree is syntax only: names, types and result column names are the
//!   engine's to resolve.
//! - Errors are [`ParseError`]s (kind, message, span, help); [`ParseError::render`] and
//!   [`render_diagnostic`] print them with `line:col`, the line and a caret. Valid KQL this
//!   tool does not run is [`ParseErrorKind::Unsupported`] ("not supported yet: mv-apply").
//! - Calls of functions KQL does not have are rejected with "did you mean"; the lists are
//!   [`SCALAR_FUNCTIONS`] and [`AGGREGATE_FUNCTIONS`], extended with
//!   [`ParseOptions::extra_functions`].
//! - No input panics or overflows the stack: nesting is limited ([`MAX_DEPTH`]) and the
//!   parser bounds its own stack use; a fuzz target (`crates/kql/fuzz`) checks it.
//! - [`substitute_parameters`] fills Azure workbook parameters (`{timeframe}`) first.
//!
//! ```
//! let query = kql::parse("AKSAudit | where Verb == 'get' | summarize count() by UserAgent")
//!     .expect("valid KQL");
//! let result = query.result().expect("a tabular statement");
//! assert_eq!(result.operators.len(), 2);
//! assert_eq!(result.operators[1].kind.name(), "summarize");
//! ```
//!
//! A tree prints back as KQL (`Display`), which parses to the same tree:
//!
//! ```
//! let query = kql::parse("T|where a>1 and (b or c)|top 5 by x").expect("valid KQL");
//! assert_eq!(query.to_string(), "T\n| where a > 1 and (b or c)\n| top 5 by x");
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
pub mod print;
pub mod time;

pub use ast::*;
pub use error::{ParseError, ParseErrorKind, line_col, render_diagnostic};
pub use names::{
    AGGREGATE_FUNCTIONS, RENDER_KINDS, SCALAR_FUNCTIONS, SUPPORTED_OPERATORS, UNSUPPORTED_OPERATORS,
    did_you_mean, is_known_function, known_functions, unsupported_operator_hint,
};
pub use params::{sentinel_workbook_defaults, substitute_parameters};
pub use parser::{MAX_DEPTH, ParseOptions, parse, parse_expression, parse_with};
