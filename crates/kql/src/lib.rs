//! KQL (Kusto) front end: lexer, parser, AST with source spans, error messages; no engine.
