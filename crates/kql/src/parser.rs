//! Recursive-descent parser for statements and tabular operators, with a precedence-climbing
//! (Pratt) loop for scalar expressions.
//!
//! Every recursion goes through `Parser::enter`, and every link of a left-deep chain
//! (`a or b or c …`, `a.b.c …`) counts too, so no input can build a tree deeper than
//! [`MAX_DEPTH`]: neither the parser nor anything walking the tree later can overflow the
//! stack.

use crate::ast::*;
use crate::error::{ParseError, ParseErrorKind};
use crate::lexer::{Token, TokenKind, tokenize};
use crate::names::{
    RENDER_KINDS, SUPPORTED_OPERATORS, UNSUPPORTED_OPERATORS, did_you_mean, is_known_function,
    known_functions, unsupported_operator_hint,
};
use crate::time::{parse_datetime, parse_timespan_text};

/// The deepest nesting a query may have, in levels: a link of an operator chain
/// (`a or b or …`, `a.b.c…`, `- -x`) is one level, a nested expression (parentheses, call
/// arguments) five. Real queries stay well below 60.
pub const MAX_DEPTH: usize = 256;

/// Operators in one flat chain from which a too-deep error says that the chain is the depth.
const FLAT_CHAIN_HINT: usize = 64;

/// Levels of [`MAX_DEPTH`] one nested expression costs (about 50 nested parentheses or calls
/// fit; real queries nest fewer than 10).
const EXPR_WEIGHT: usize = 4;

/// Bytes of stack the parser's recursion may use. Frames are several times larger in
/// unoptimised and sanitizer builds than in release, so besides counting levels the parser
/// measures how far the stack has grown; 512 KiB leaves most of a 2 MiB thread stack (the
/// smallest Rust gives a spawned thread by default) to the caller.
const STACK_BUDGET: usize = 512 * 1024;

/// An address on the current stack: the distance between two calls is the stack used.
#[inline(never)]
fn stack_position() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

/// How to parse.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// Reject calls of functions that KQL does not have (and no `let` defines), with a
    /// "did you mean" hint. On by default.
    pub check_functions: bool,
    /// Function names to accept besides KQL's own (e.g. functions the engine adds).
    pub extra_functions: Vec<String>,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions { check_functions: true, extra_functions: Vec::new() }
    }
}

/// Parses a whole query with the default options.
pub fn parse(source: &str) -> Result<Query, ParseError> {
    parse_with(source, &ParseOptions::default())
}

/// Parses a whole query.
pub fn parse_with(source: &str, options: &ParseOptions) -> Result<Query, ParseError> {
    let tokens = tokenize(source)?;
    let mut parser = Parser::new(source, tokens, options);
    parser.query()
}

/// Parses a single scalar expression (the whole input must be one expression).
pub fn parse_expression(source: &str) -> Result<Expr, ParseError> {
    let tokens = tokenize(source)?;
    let options = ParseOptions::default();
    let mut parser = Parser::new(source, tokens, &options);
    let expr = parser.expr()?;
    if !parser.at(&TokenKind::Eof) {
        return Err(parser.unexpected("after the expression"));
    }
    Ok(expr)
}

/// One binary-level operator found at the current position.
#[derive(Debug, Clone, Copy)]
enum InfixOp {
    Binary(BinaryOp),
    List(ListOp),
    Between { negated: bool },
}

impl InfixOp {
    fn precedence(self) -> u8 {
        match self {
            InfixOp::Binary(op) => op.precedence(),
            InfixOp::List(_) | InfixOp::Between { .. } => 3,
        }
    }
}

struct Parser<'a> {
    src: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
    options: &'a ParseOptions,
    /// Names bound by `let` so far: calls of them are not unknown functions.
    let_names: std::collections::BTreeSet<String>,
    /// [`stack_position`] when parsing started.
    stack_base: usize,
}

type PResult<T> = Result<T, ParseError>;

fn string_operator(name: &str) -> Option<BinaryOp> {
    use BinaryOp::*;
    Some(match name {
        "has" => Has,
        "has_cs" => HasCs,
        "hasprefix" => HasPrefix,
        "hasprefix_cs" => HasPrefixCs,
        "hassuffix" => HasSuffix,
        "hassuffix_cs" => HasSuffixCs,
        "contains" => Contains,
        "contains_cs" => ContainsCs,
        "startswith" => StartsWith,
        "startswith_cs" => StartsWithCs,
        "endswith" => EndsWith,
        "endswith_cs" => EndsWithCs,
        _ => return None,
    })
}

fn negated_string_operator(name: &str) -> Option<BinaryOp> {
    use BinaryOp::*;
    Some(match name {
        "has" => NotHas,
        "has_cs" => NotHasCs,
        "hasprefix" => NotHasPrefix,
        "hasprefix_cs" => NotHasPrefixCs,
        "hassuffix" => NotHasSuffix,
        "hassuffix_cs" => NotHasSuffixCs,
        "contains" => NotContains,
        "contains_cs" => NotContainsCs,
        "startswith" => NotStartsWith,
        "startswith_cs" => NotStartsWithCs,
        "endswith" => NotEndsWith,
        "endswith_cs" => NotEndsWithCs,
        _ => return None,
    })
}

impl<'a> Parser<'a> {
    fn new(src: &'a str, tokens: Vec<Token>, options: &'a ParseOptions) -> Self {
        Parser {
            src,
            tokens,
            pos: 0,
            depth: 0,
            options,
            let_names: std::collections::BTreeSet::new(),
            stack_base: stack_position(),
        }
    }

    // ---- token helpers ----

    fn peek(&self) -> &Token {
        let last = self.tokens.len().saturating_sub(1);
        &self.tokens[self.pos.min(last)]
    }

    fn peek_at(&self, n: usize) -> &TokenKind {
        let last = self.tokens.len().saturating_sub(1);
        &self.tokens[(self.pos + n).min(last)].kind
    }

    fn span_at(&self, n: usize) -> Span {
        let last = self.tokens.len().saturating_sub(1);
        self.tokens[(self.pos + n).min(last)].span
    }

    fn at(&self, kind: &TokenKind) -> bool {
        &self.peek().kind == kind
    }

    /// Consumes the current token (never past the end) and returns its span.
    fn bump(&mut self) -> Span {
        let span = self.peek().span;
        if !matches!(self.peek().kind, TokenKind::Eof) {
            self.pos += 1;
        }
        span
    }

    /// Consumes the current token and moves it out: the parser never looks back at a
    /// consumed token's kind, only at spans, so nothing is cloned.
    fn take(&mut self) -> Token {
        let last = self.tokens.len().saturating_sub(1);
        let index = self.pos.min(last);
        if index == last {
            return self.tokens[index].clone();
        }
        self.pos += 1;
        let slot = &mut self.tokens[index];
        Token { kind: std::mem::replace(&mut slot.kind, TokenKind::Eof), span: slot.span }
    }

    /// The end of the last consumed token.
    fn prev_end(&self) -> usize {
        if self.pos == 0 { 0 } else { self.tokens[self.pos - 1].span.end }
    }

    fn eat(&mut self, kind: &TokenKind) -> Option<Span> {
        if self.at(kind) { Some(self.bump()) } else { None }
    }

    fn expect(&mut self, kind: &TokenKind, context: &str) -> PResult<Span> {
        match self.eat(kind) {
            Some(span) => Ok(span),
            None => Err(self.expected(&format!("`{}` {context}", kind.symbol()))),
        }
    }

    fn ident_at(&self, n: usize) -> Option<&str> {
        match self.peek_at(n) {
            TokenKind::Ident(name) => Some(name),
            _ => None,
        }
    }

    fn at_ident(&self, name: &str) -> bool {
        self.ident_at(0) == Some(name)
    }

    fn eat_ident(&mut self, name: &str) -> Option<Span> {
        if self.at_ident(name) { Some(self.bump()) } else { None }
    }

    fn expect_keyword(&mut self, name: &str, context: &str) -> PResult<Span> {
        match self.eat_ident(name) {
            Some(span) => Ok(span),
            None => Err(self.expected(&format!("`{name}` {context}"))),
        }
    }

    /// Whether token `n` ends exactly where token `n + 1` starts.
    fn adjacent(&self, n: usize) -> bool {
        self.span_at(n).end == self.span_at(n + 1).start
    }

    fn enter(&mut self) -> PResult<()> {
        self.enter_weighted(1)
    }

    /// Counts `weight` levels of nesting; fails past [`MAX_DEPTH`] or when the parser's own
    /// recursion has used [`STACK_BUDGET`] bytes of stack.
    fn enter_weighted(&mut self, weight: usize) -> PResult<()> {
        self.depth += weight;
        if self.depth > MAX_DEPTH || stack_position().abs_diff(self.stack_base) > STACK_BUDGET {
            return Err(ParseError::new(
                ParseErrorKind::TooDeep,
                format!("the query is nested too deeply (more than {MAX_DEPTH} levels)"),
                self.peek().span,
            )
            .with_help("split the expression, e.g. with `let` statements"));
        }
        Ok(())
    }

    fn leave(&mut self, levels: usize) {
        self.depth = self.depth.saturating_sub(levels);
    }

    // ---- errors ----

    /// "expected X, found Y" at the current token.
    fn expected(&self, what: &str) -> ParseError {
        if let Some(err) = self.workbook_parameter_error() {
            return err;
        }
        let token = self.peek();
        self.with_token_hint(ParseError::syntax(
            format!("expected {what}, found {}", token.kind.describe()),
            token.span,
        ))
    }

    /// Adds a hint for common slips at the current token: `=` for `==`, `AND` for `and`.
    fn with_token_hint(&self, err: ParseError) -> ParseError {
        match &self.peek().kind {
            TokenKind::Assign => err.with_help("to compare, write `==`; `=` only names a column"),
            TokenKind::Ident(name) => {
                let lower = name.to_ascii_lowercase();
                let keyword = lower != *name
                    && (matches!(lower.as_str(), "and" | "or" | "by" | "in" | "between" | "asc" | "desc")
                        || string_operator(&lower).is_some());
                if keyword {
                    return err.with_help(format!("KQL keywords are lower-case: `{lower}`"));
                }
                // A misspelt keyword (`decs`, `adn`); short names are more likely columns.
                const KEYWORDS: &[&str] = &[
                    "and",
                    "or",
                    "asc",
                    "desc",
                    "nulls",
                    "first",
                    "last",
                    "between",
                    "contains",
                    "startswith",
                    "endswith",
                    "has_any",
                    "has_all",
                    "matches",
                ];
                match did_you_mean(name, KEYWORDS.iter().copied()) {
                    Some(k) if name.len() >= 3 => err.with_help(format!("did you mean `{k}`?")),
                    _ => err,
                }
            }
            _ => err,
        }
    }

    fn unexpected(&self, context: &str) -> ParseError {
        if let Some(err) = self.workbook_parameter_error() {
            return err;
        }
        let token = self.peek();
        self.with_token_hint(ParseError::syntax(
            format!("unexpected {} {context}", token.kind.describe()),
            token.span,
        ))
    }

    /// `{name}` or `{name:format}` left in the query: a workbook parameter not substituted.
    fn workbook_parameter_error(&self) -> Option<ParseError> {
        if !self.at(&TokenKind::LBrace) {
            return None;
        }
        let name = self.ident_at(1)?;
        let mut n = 2;
        if matches!(self.peek_at(n), TokenKind::Colon) && self.ident_at(n + 1).is_some() {
            n += 2;
        }
        if !matches!(self.peek_at(n), TokenKind::RBrace) {
            return None;
        }
        let span = self.peek().span.to(self.span_at(n));
        Some(
            ParseError::syntax(
                format!("workbook parameter `{}` was not substituted", span.text(self.src)),
                span,
            )
            .with_help(format!(
                "replace `{{{name}}}` with a value first (Azure workbooks do this before running the query)"
            )),
        )
    }

    // ---- statements ----

    fn query(&mut self) -> PResult<Query> {
        let mut statements = Vec::new();
        loop {
            while self.eat(&TokenKind::Semi).is_some() {}
            if self.at(&TokenKind::Eof) {
                break;
            }
            let statement = self.statement()?;
            let is_let = matches!(statement, Statement::Let(_));
            statements.push(statement);
            if self.at(&TokenKind::Eof) {
                break;
            }
            if self.eat(&TokenKind::Semi).is_none() {
                return Err(self.statement_end_error(is_let));
            }
        }
        let span = Span::new(0, self.src.len());
        if statements.is_empty() {
            return Err(ParseError::syntax("the query is empty", span)
                .with_help("start with a table name, e.g. `AKSAudit | take 10`"));
        }
        if !statements.iter().any(|s| matches!(s, Statement::Tabular(_))) {
            let end = self.src.len();
            return Err(ParseError::syntax(
                "the query has only `let` statements and returns nothing",
                Span::new(end, end),
            )
            .with_help("end it with a tabular expression, e.g. a table name or a pipeline"));
        }
        Ok(Query { statements, span })
    }

    fn statement_end_error(&self, after_let: bool) -> ParseError {
        if let Some(err) = self.workbook_parameter_error() {
            return err;
        }
        let token = self.peek();
        if after_let {
            return ParseError::syntax(
                format!("expected `;` after the `let` statement, found {}", token.kind.describe()),
                token.span,
            );
        }
        let err =
            ParseError::syntax(format!("expected `|` or `;`, found {}", token.kind.describe()), token.span);
        if self.at_tabular_keyword() || self.at_ident("let") {
            return err.with_help(
                "a new statement starts here: separate statements with `;` (a query editor's blank line is not a separator)",
            );
        }
        match &token.kind {
            TokenKind::Ident(name)
                if SUPPORTED_OPERATORS.contains(&name.as_str())
                    || UNSUPPORTED_OPERATORS.contains(&name.as_str()) =>
            {
                err.with_help(format!("tabular operators follow a pipe: `| {name} …`"))
            }
            _ => self.with_token_hint(err),
        }
    }

    fn statement(&mut self) -> PResult<Statement> {
        if self.at_ident("let") && matches!(self.peek_at(1), TokenKind::Ident(_) | TokenKind::LBracket) {
            return Ok(Statement::Let(self.let_statement()?));
        }
        let expr = self.expr_or_tabular()?;
        let tabular = self.to_tabular(expr)?;
        Ok(Statement::Tabular(tabular))
    }

    fn let_statement(&mut self) -> PResult<LetStatement> {
        let let_span = self.bump();
        let name = self.ident("a name after `let`")?;
        self.expect(&TokenKind::Assign, "after the `let` name")?;
        let value = self.let_value()?;
        self.let_names.insert(name.name.clone());
        Ok(LetStatement { name, value, span: Span::new(let_span.start, self.prev_end()) })
    }

    fn let_value(&mut self) -> PResult<LetValue> {
        if self.at(&TokenKind::LParen) && self.looks_like_function_def() {
            return Ok(LetValue::Function(self.function_def()?));
        }
        if self.at_ident("materialize") && matches!(self.peek_at(1), TokenKind::LParen) {
            let start = self.bump().start;
            self.bump();
            self.enter()?;
            let inner = self.expr_or_tabular()?;
            let inner = self.to_tabular(inner)?;
            self.leave(1);
            self.expect(&TokenKind::RParen, "to close `materialize(`")?;
            let span = Span::new(start, self.prev_end());
            if self.at(&TokenKind::Pipe) {
                let call = Expr::new(
                    ExprKind::Call {
                        name: Ident::new("materialize", Span::new(start, start + 11)),
                        args: vec![Expr::new(ExprKind::Tabular(Box::new(inner)), span)],
                    },
                    span,
                );
                return Ok(LetValue::Tabular(self.pipeline(Source::Call(call), start)?));
            }
            return Ok(LetValue::Materialize(inner, span));
        }
        let expr = self.expr_or_tabular()?;
        Ok(match expr.kind {
            ExprKind::Tabular(t) => LetValue::Tabular(*t),
            kind => LetValue::Expr(Expr::new(kind, expr.span)),
        })
    }

    fn looks_like_function_def(&self) -> bool {
        match self.peek_at(1) {
            TokenKind::RParen => matches!(self.peek_at(2), TokenKind::LBrace),
            // `(x: type …`, or parameters without their types (`(x) {`, `(x, y) {`), which
            // `function_def` then reports.
            TokenKind::Ident(_) => match self.peek_at(2) {
                TokenKind::Colon => true,
                TokenKind::RParen => matches!(self.peek_at(3), TokenKind::LBrace),
                TokenKind::Comma => matches!(self.peek_at(3), TokenKind::Ident(_)),
                _ => false,
            },
            _ => false,
        }
    }

    fn function_def(&mut self) -> PResult<FunctionDef> {
        let start = self.bump().start;
        let mut params = Vec::new();
        if !self.at(&TokenKind::RParen) {
            loop {
                let name = self.ident("a parameter name")?;
                if !self.at(&TokenKind::Colon) {
                    return Err(ParseError::syntax(
                        format!("parameter `{}` has no type", name.name),
                        name.span,
                    )
                    .with_help(format!(
                        "write its type after it: `{}: string`, `{}: long`, …",
                        name.name, name.name
                    )));
                }
                self.bump();
                let ty = if self.at(&TokenKind::LParen) {
                    // A tabular parameter: `(*)` or `(col: type, …)`; the schema is not kept.
                    self.skip_balanced_parens()?;
                    None
                } else {
                    Some(self.ident("a parameter type")?)
                };
                let default = if self.eat(&TokenKind::Assign).is_some() { Some(self.expr()?) } else { None };
                let span = Span::new(name.span.start, self.prev_end());
                params.push(FunctionParam { name, ty, default, span });
                if self.eat(&TokenKind::Comma).is_none() {
                    break;
                }
            }
        }
        self.expect(&TokenKind::RParen, "to close the parameter list")?;
        self.expect(&TokenKind::LBrace, "to start the function body")?;
        self.enter()?;
        let mut lets = Vec::new();
        while self.at_ident("let") {
            lets.push(self.let_statement()?);
            self.expect(&TokenKind::Semi, "after the `let` statement")?;
        }
        let body = self.let_value()?;
        while self.eat(&TokenKind::Semi).is_some() {}
        self.leave(1);
        self.expect(&TokenKind::RBrace, "to close the function body")?;
        Ok(FunctionDef { params, lets, body: Box::new(body), span: Span::new(start, self.prev_end()) })
    }

    fn skip_balanced_parens(&mut self) -> PResult<()> {
        let open = self.expect(&TokenKind::LParen, "")?;
        let mut level = 1usize;
        while level > 0 {
            match self.take().kind {
                TokenKind::LParen => level += 1,
                TokenKind::RParen => level -= 1,
                TokenKind::Eof => {
                    return Err(ParseError::syntax("`(` is not closed", open));
                }
                _ => {}
            }
        }
        Ok(())
    }

    // ---- tabular expressions ----

    /// Whether the current identifier starts a tabular expression that is not a plain name.
    fn at_tabular_keyword(&self) -> bool {
        let Some(name) = self.ident_at(0) else {
            return false;
        };
        let next = self.peek_at(1);
        let ends_name = matches!(
            next,
            TokenKind::Pipe
                | TokenKind::Semi
                | TokenKind::RParen
                | TokenKind::Comma
                | TokenKind::Eof
                | TokenKind::Dot
                | TokenKind::Assign
                | TokenKind::EqEq
                | TokenKind::NotEq
        );
        match name {
            "union" | "search" | "print" | "evaluate" | "find" | "externaldata" => !ends_name,
            "datatable" => matches!(next, TokenKind::LParen),
            "range" => matches!(next, TokenKind::Ident(_)),
            _ => false,
        }
    }

    /// A scalar expression, or a tabular one where the text shows it is tabular (a pipe, a
    /// tabular keyword). The caller decides what it accepts.
    fn expr_or_tabular(&mut self) -> PResult<Expr> {
        // Kept tiny: it recurses for every parenthesis and argument; the tabular cases are
        // built in their own functions.
        if self.at_tabular_keyword() {
            return self.keyword_tabular();
        }
        let start = self.peek().span.start;
        let expr = self.expr()?;
        if !self.at(&TokenKind::Pipe) {
            return Ok(expr);
        }
        self.piped(expr, start)
    }

    /// A tabular expression starting with a keyword, as an expression.
    fn keyword_tabular(&mut self) -> PResult<Expr> {
        self.enter()?;
        let tabular = self.tabular_start();
        self.leave(1);
        let tabular = tabular?;
        let span = tabular.span;
        Ok(Expr::new(ExprKind::Tabular(Box::new(tabular)), span))
    }

    /// `expr | operators…`: `expr` must be able to start a pipeline.
    fn piped(&mut self, expr: Expr, start: usize) -> PResult<Expr> {
        let source = match expr.kind {
            ExprKind::Name(ident) => Source::Name(ident),
            ExprKind::Call { .. } => Source::Call(expr),
            ExprKind::Tabular(t) => Source::Paren(t),
            _ => {
                return Err(ParseError::syntax(
                    "the left side of `|` must be a table or a tabular expression",
                    expr.span,
                ));
            }
        };
        self.enter()?;
        let tabular = self.pipeline(source, start);
        self.leave(1);
        let tabular = tabular?;
        let span = tabular.span;
        Ok(Expr::new(ExprKind::Tabular(Box::new(tabular)), span))
    }

    /// Turns an expression parsed where a tabular expression is required into one.
    fn to_tabular(&self, expr: Expr) -> PResult<TabularExpr> {
        let span = expr.span;
        match expr.kind {
            ExprKind::Tabular(t) => Ok(*t),
            ExprKind::Name(ident) => {
                Ok(TabularExpr { source: Source::Name(ident), operators: Vec::new(), span })
            }
            ExprKind::Call { .. } => {
                Ok(TabularExpr { source: Source::Call(expr), operators: Vec::new(), span })
            }
            _ => Err(ParseError::syntax(
                "expected a tabular expression (a table name, a pipeline or `(…)`), found a scalar expression",
                span,
            )),
        }
    }

    /// A tabular expression starting with a keyword (`union`, `search`, `print`, …).
    fn tabular_start(&mut self) -> PResult<TabularExpr> {
        let token = self.take();
        let start = token.span.start;
        let name = match &token.kind {
            TokenKind::Ident(n) => n.clone(),
            _ => return Err(ParseError::syntax("expected a tabular expression", token.span)),
        };
        let source = match name.as_str() {
            "union" => Source::Union(self.union_body()?),
            "search" => Source::Search(self.search_body()?),
            "print" => Source::Print(self.named_list("an expression after `print`")?),
            "datatable" => Source::Datatable(self.datatable_body()?),
            "range" => Source::Range(self.range_body()?),
            other => return Err(ParseError::unsupported(other, token.span)),
        };
        self.pipeline(source, start)
    }

    fn pipeline(&mut self, source: Source, start: usize) -> PResult<TabularExpr> {
        let mut operators = Vec::new();
        while self.eat(&TokenKind::Pipe).is_some() {
            operators.push(self.operator()?);
        }
        Ok(TabularExpr { source, operators, span: Span::new(start, self.prev_end()) })
    }

    /// The operator name after `|`, with dashed names (`project-away`) glued together.
    fn operator_name(&mut self) -> PResult<Ident> {
        let TokenKind::Ident(first) = self.peek().kind.clone() else {
            return Err(self.expected("an operator after `|` (where, extend, summarize, …)"));
        };
        let mut span = self.bump();
        let mut name = first;
        while matches!(self.peek().kind, TokenKind::Minus)
            && span.end == self.peek().span.start
            && self.adjacent(0)
        {
            let Some(part) = self.ident_at(1).map(str::to_string) else {
                break;
            };
            self.bump();
            span = span.to(self.bump());
            name.push('-');
            name.push_str(&part);
        }
        Ok(Ident::new(name, span))
    }

    fn operator(&mut self) -> PResult<Operator> {
        let name = self.operator_name()?;
        let start = name.span.start;
        let kind = match name.name.as_str() {
            "where" | "filter" => OperatorKind::Where(self.expr()?),
            "extend" => OperatorKind::Extend(self.named_list("a column to extend")?),
            "project" => OperatorKind::Project(self.named_list("a column to project")?),
            "serialize" if self.at_expression_end() => OperatorKind::Serialize(Vec::new()),
            "serialize" => OperatorKind::Serialize(self.named_list("a column to serialize")?),
            "project-away" => OperatorKind::ProjectAway(self.name_patterns()?),
            "project-keep" => OperatorKind::ProjectKeep(self.name_patterns()?),
            "project-reorder" => OperatorKind::ProjectReorder(self.reorder_keys()?),
            "project-rename" => OperatorKind::ProjectRename(self.renames()?),
            "summarize" => OperatorKind::Summarize(self.summarize_body()?),
            "top" => {
                let count = self.expr()?;
                self.expect_keyword("by", "after the number of rows of `top`")?;
                let by = self.sort_key()?;
                OperatorKind::Top(Top { count, by })
            }
            "top-nested" => OperatorKind::TopNested(self.top_nested_levels()?),
            "top-hitters" => {
                let count = self.expr()?;
                self.expect_keyword("of", "after the number of values of `top-hitters`")?;
                let of = self.expr()?;
                let by = if self.eat_ident("by").is_some() { Some(self.expr()?) } else { None };
                OperatorKind::TopHitters(TopHitters { count, of, by })
            }
            "sort" | "order" => {
                let context = if name.name == "sort" { "after `sort`" } else { "after `order`" };
                self.expect_keyword("by", context)?;
                let mut keys = vec![self.sort_key()?];
                while self.eat(&TokenKind::Comma).is_some() {
                    keys.push(self.sort_key()?);
                }
                OperatorKind::Sort(keys)
            }
            "take" | "limit" => OperatorKind::Take(self.expr()?),
            "sample" => OperatorKind::Sample(self.expr()?),
            "sample-distinct" => {
                let count = self.expr()?;
                self.expect_keyword("of", "after the number of values of `sample-distinct`")?;
                OperatorKind::SampleDistinct { count, of: self.expr()? }
            }
            "count" => OperatorKind::Count,
            "getschema" => OperatorKind::GetSchema,
            "as" => {
                self.operator_params(&[])?;
                OperatorKind::As(self.ident("a name after `as`")?)
            }
            "distinct" => {
                if self.eat(&TokenKind::Star).is_some() {
                    OperatorKind::Distinct(Vec::new())
                } else {
                    let mut cols = vec![self.expr()?];
                    loop {
                        if let Some(at) = self.eat(&TokenKind::Assign) {
                            return Err(ParseError::syntax(
                                "`distinct` takes column names, not `name = expression`",
                                at,
                            )
                            .with_help("compute the column first: `| extend Name = … | distinct Name, …`"));
                        }
                        if self.eat(&TokenKind::Comma).is_none() {
                            break;
                        }
                        cols.push(self.expr()?);
                    }
                    OperatorKind::Distinct(cols)
                }
            }
            "render" => OperatorKind::Render(self.render_body()?),
            "union" => OperatorKind::Union(self.union_body()?),
            "join" => OperatorKind::Join(self.join_body("join")?),
            "lookup" => OperatorKind::Lookup(self.join_body("lookup")?),
            "mv-expand" | "mvexpand" => OperatorKind::MvExpand(self.mv_expand_body()?),
            "parse" => OperatorKind::Parse(self.parse_body(false)?),
            "parse-where" => OperatorKind::Parse(self.parse_body(true)?),
            "parse-kv" => OperatorKind::ParseKv(self.parse_kv_body()?),
            "evaluate" => {
                let params = self.operator_params(&[])?;
                let plugin = self.ident("a plugin name, as in `evaluate pivot(Verb)`")?;
                self.expect(&TokenKind::LParen, "after the plugin's name")?;
                let mut args = Vec::new();
                if !self.at(&TokenKind::RParen) {
                    loop {
                        args.push(self.expr()?);
                        if self.eat(&TokenKind::Comma).is_none() {
                            break;
                        }
                    }
                }
                self.expect(&TokenKind::RParen, "to close the plugin's arguments")?;
                OperatorKind::Evaluate(Evaluate { params, plugin, args })
            }
            "mv-apply" | "mvapply" => {
                let expand = self.mv_expand_body()?;
                self.expect_keyword("on", "after the columns of `mv-apply`")?;
                self.expect(&TokenKind::LParen, "to open the subquery of `mv-apply … on (`")?;
                let mut operators = vec![self.operator()?];
                while self.eat(&TokenKind::Pipe).is_some() {
                    operators.push(self.operator()?);
                }
                self.expect(&TokenKind::RParen, "to close the subquery of `mv-apply`")?;
                OperatorKind::MvApply(MvApply { expand, operators })
            }
            "partition" => {
                let params = self.operator_params(&[])?;
                self.expect_keyword("by", "after `partition`")?;
                // A bare column name: `Verb (…)` is not a call.
                let column = self.ident("the column to partition by")?;
                let by = Expr::new(ExprKind::Name(column.clone()), column.span);
                if self.at(&TokenKind::LBrace) {
                    return Err(ParseError::unsupported("partition with a `{ … }` subquery", self.peek().span)
                        .with_help("write the subquery's operators in parentheses: `partition by Verb (top 3 by Latency)`"));
                }
                self.expect(
                    &TokenKind::LParen,
                    "to open the subquery run on each part, as in `partition by Verb (top 3 by Latency)`",
                )?;
                let mut operators = vec![self.operator()?];
                while self.eat(&TokenKind::Pipe).is_some() {
                    operators.push(self.operator()?);
                }
                self.expect(&TokenKind::RParen, "to close the subquery of `partition`")?;
                OperatorKind::Partition(Partition { params, by, operators })
            }
            "search" => OperatorKind::Search(self.search_body()?),
            "make-series" => OperatorKind::MakeSeries(self.make_series_body()?),
            other if UNSUPPORTED_OPERATORS.contains(&other) => {
                let err = ParseError::unsupported(other, name.span);
                return Err(match unsupported_operator_hint(other) {
                    Some(hint) => err.with_help(hint),
                    None => err,
                });
            }
            other => {
                let mut err = ParseError::syntax(format!("unknown operator `{other}`"), name.span);
                let candidates = SUPPORTED_OPERATORS.iter().chain(UNSUPPORTED_OPERATORS);
                if let Some(suggestion) = did_you_mean(other, candidates.copied()) {
                    let case_note = if suggestion.eq_ignore_ascii_case(other) {
                        " (KQL operators are lower-case)"
                    } else {
                        ""
                    };
                    err = err.with_help(format!("did you mean `{suggestion}`?{case_note}"));
                }
                return Err(err);
            }
        };
        Ok(Operator { kind, span: Span::new(start, self.prev_end()) })
    }

    /// `name = value` parameters before an operator's arguments. `allowed` lists plain names;
    /// dotted `hint.…` names are always accepted.
    fn operator_params(&mut self, allowed: &[&str]) -> PResult<Vec<OperatorParam>> {
        let mut params = Vec::new();
        while let Some(first) = self.ident_at(0) {
            let mut n = 1;
            if first == "hint" {
                while matches!(self.peek_at(n), TokenKind::Dot) && self.ident_at(n + 1).is_some() {
                    n += 2;
                }
                if n == 1 {
                    break;
                }
            } else if !allowed.contains(&first) {
                break;
            }
            if !matches!(self.peek_at(n), TokenKind::Assign) {
                break;
            }
            let start = self.peek().span.start;
            let mut name = String::new();
            for _ in 0..n {
                let token = self.take();
                match token.kind {
                    TokenKind::Ident(part) => name.push_str(&part),
                    _ => name.push('.'),
                }
            }
            let name = Ident::new(name, Span::new(start, self.prev_end()));
            self.bump();
            // A value is a single name or literal: a bare name is never a call (`(` starts
            // the operator's arguments, `join kind=inner (T)`), and nothing after it is
            // indexing (`parse kind=['x'] ['col'] with …`).
            let value = match self.peek().kind.clone() {
                TokenKind::Ident(v) => {
                    let span = self.bump();
                    Expr::new(ExprKind::Name(Ident::new(v, span)), span)
                }
                TokenKind::Minus | TokenKind::Plus => {
                    let op = if matches!(self.peek().kind, TokenKind::Minus) {
                        UnaryOp::Neg
                    } else {
                        UnaryOp::Plus
                    };
                    let sign = self.bump();
                    let operand = self.primary()?;
                    let span = sign.to(operand.span);
                    Expr::new(ExprKind::Unary { op, operand: Box::new(operand) }, span)
                }
                _ => self.primary()?,
            };
            let span = Span::new(start, self.prev_end());
            if params.iter().any(|p: &OperatorParam| p.name.name == name.name) {
                return Err(ParseError::syntax(format!("`{}` is given twice", name.name), span));
            }
            params.push(OperatorParam { name, value, span });
        }
        Ok(params)
    }

    /// A name: identifier or `['quoted']` / `["quoted"]`.
    fn ident(&mut self, what: &str) -> PResult<Ident> {
        match self.peek().kind.clone() {
            TokenKind::Ident(name) => {
                let span = self.bump();
                Ok(Ident::new(name, span))
            }
            TokenKind::LBracket => {
                if let (TokenKind::String(name), TokenKind::RBracket) =
                    (self.peek_at(1).clone(), self.peek_at(2))
                {
                    let start = self.bump().start;
                    self.bump();
                    let end = self.bump().end;
                    Ok(Ident::new(name, Span::new(start, end)))
                } else {
                    Err(self.expected(what))
                }
            }
            _ => Err(self.expected(what)),
        }
    }

    /// Whether a `name =` starts at the current token (plain or bracket-quoted name).
    fn at_assignment(&self) -> bool {
        self.assignment_at(0)
    }

    /// Whether a `name =` starts `n` tokens ahead.
    fn assignment_at(&self, n: usize) -> bool {
        match self.peek_at(n) {
            TokenKind::Ident(_) => matches!(self.peek_at(n + 1), TokenKind::Assign),
            TokenKind::LBracket => {
                matches!(self.peek_at(n + 1), TokenKind::String(_))
                    && matches!(self.peek_at(n + 2), TokenKind::RBracket)
                    && matches!(self.peek_at(n + 3), TokenKind::Assign)
            }
            _ => false,
        }
    }

    fn named_expr(&mut self, what: &str) -> PResult<NamedExpr> {
        let start = self.peek().span.start;
        let name = if self.at_assignment() {
            let name = self.ident(what)?;
            self.bump();
            Some(name)
        } else {
            None
        };
        if name.is_none() && self.at(&TokenKind::LParen) && self.looks_like_tuple_assignment() {
            return Err(ParseError::unsupported(
                "naming several results at once `(a, b) = …`",
                self.peek().span,
            ));
        }
        let expr = self.expr_for(what)?;
        Ok(NamedExpr { name, expr, span: Span::new(start, self.prev_end()) })
    }

    fn looks_like_tuple_assignment(&self) -> bool {
        let mut n = 1;
        loop {
            if self.ident_at(n).is_none() {
                return false;
            }
            match self.peek_at(n + 1) {
                TokenKind::Comma => n += 2,
                TokenKind::RParen => return matches!(self.peek_at(n + 2), TokenKind::Assign),
                _ => return false,
            }
        }
    }

    /// An expression; `what` names it in the error when none is there.
    fn expr_for(&mut self, what: &str) -> PResult<Expr> {
        if self.at_expression_end() {
            return Err(self.expected(what));
        }
        self.expr()
    }

    fn at_expression_end(&self) -> bool {
        matches!(
            self.peek().kind,
            TokenKind::Eof | TokenKind::Pipe | TokenKind::Semi | TokenKind::RParen | TokenKind::Comma
        )
    }

    fn named_list(&mut self, what: &str) -> PResult<Vec<NamedExpr>> {
        let mut items = vec![self.named_expr(what)?];
        while self.eat(&TokenKind::Comma).is_some() {
            items.push(self.named_expr(what)?);
        }
        Ok(items)
    }

    /// Column names for `project-away`, with `*` wildcards glued (`col*`, `*_s`).
    fn name_patterns(&mut self) -> PResult<Vec<Ident>> {
        let mut names = vec![self.name_pattern("a column name")?];
        while self.eat(&TokenKind::Comma).is_some() {
            names.push(self.name_pattern("a column name")?);
        }
        Ok(names)
    }

    /// `project-reorder` items: names or patterns, each with an optional `asc` or `desc`.
    fn reorder_keys(&mut self) -> PResult<Vec<ReorderKey>> {
        let mut keys = Vec::new();
        loop {
            let name = self.name_pattern("a column name")?;
            let order = if self.eat_ident("asc").is_some() {
                Some(SortOrder::Asc)
            } else if self.eat_ident("desc").is_some() {
                Some(SortOrder::Desc)
            } else if let Some(at) = self.eat_ident("granny") {
                return Err(ParseError::new(
                    ParseErrorKind::Unsupported,
                    "not supported yet: `granny-asc` / `granny-desc` in `project-reorder`",
                    at,
                )
                .with_help("`asc` or `desc` sorts the matched columns by name"));
            } else {
                None
            };
            keys.push(ReorderKey { name, order });
            if self.eat(&TokenKind::Comma).is_none() {
                return Ok(keys);
            }
        }
    }

    fn name_pattern(&mut self, what: &str) -> PResult<Ident> {
        if !matches!(self.peek().kind, TokenKind::Star | TokenKind::Ident(_)) {
            return self.ident(what);
        }
        let mut span = self.peek().span;
        let mut name = String::new();
        loop {
            match &self.peek().kind {
                TokenKind::Star => name.push('*'),
                TokenKind::Ident(part) => name.push_str(part),
                _ => break,
            }
            span = span.to(self.bump());
            let next_glues = span.end == self.peek().span.start
                && matches!(self.peek().kind, TokenKind::Star | TokenKind::Ident(_));
            if !next_glues {
                break;
            }
        }
        Ok(Ident::new(name, span))
    }

    fn renames(&mut self) -> PResult<Vec<Rename>> {
        let mut items = Vec::new();
        loop {
            let new = self.ident("the new column name")?;
            self.expect(&TokenKind::Assign, "after the new name (`new = old`)")?;
            let old = self.ident("the column to rename")?;
            let span = new.span.to(old.span);
            items.push(Rename { new, old, span });
            if self.eat(&TokenKind::Comma).is_none() {
                break;
            }
        }
        Ok(items)
    }

    fn summarize_body(&mut self) -> PResult<Summarize> {
        let params = self.operator_params(&[])?;
        let aggregates = if self.at_ident("by") || self.at_expression_end() {
            Vec::new()
        } else {
            self.named_list("an aggregate, e.g. count()")?
        };
        let by = if self.eat_ident("by").is_some() {
            self.named_list("a column to group by")?
        } else {
            Vec::new()
        };
        if aggregates.is_empty() && by.is_empty() {
            return Err(self.expected("an aggregate or `by` after `summarize`"));
        }
        Ok(Summarize { params, aggregates, by })
    }

    /// The levels of `top-nested`, each after the first introduced by `, top-nested`.
    fn top_nested_levels(&mut self) -> PResult<Vec<TopNestedLevel>> {
        let mut levels = vec![self.top_nested_level()?];
        while self.eat(&TokenKind::Comma).is_some() {
            let name = self.operator_name()?;
            if name.name != "top-nested" {
                return Err(ParseError::syntax(
                    format!("expected `top-nested` after `,` in `top-nested`, found `{}`", name.name),
                    name.span,
                )
                .with_help("each level is written `top-nested [N] of Expr by Aggregation`, levels separated by commas"));
            }
            levels.push(self.top_nested_level()?);
        }
        Ok(levels)
    }

    fn top_nested_level(&mut self) -> PResult<TopNestedLevel> {
        let start = self.peek().span.start;
        let count = if self.at_ident("of") { None } else { Some(self.expr()?) };
        self.expect_keyword("of", "after `top-nested` and its number of values")?;
        let of = self.named_expr("a column name")?;
        let others = if self.eat_ident("with").is_some() {
            self.expect_keyword("others", "after `with` in `top-nested`")?;
            self.expect(&TokenKind::Assign, "after `with others`")?;
            Some(self.expr()?)
        } else {
            None
        };
        self.expect_keyword("by", "after `top-nested … of …`")?;
        let by = self.named_expr("an aggregation name")?;
        let order = self.sort_order();
        Ok(TopNestedLevel { count, of, others, by, order, span: Span::new(start, self.prev_end()) })
    }

    /// `asc` or `desc`, if next.
    fn sort_order(&mut self) -> Option<SortOrder> {
        if self.eat_ident("asc").is_some() {
            Some(SortOrder::Asc)
        } else if self.eat_ident("desc").is_some() {
            Some(SortOrder::Desc)
        } else {
            None
        }
    }

    fn sort_key(&mut self) -> PResult<SortKey> {
        let expr = self.expr_for("an expression to sort by")?;
        let start = expr.span.start;
        let order = self.sort_order();
        let nulls = if self.eat_ident("nulls").is_some() {
            if self.eat_ident("first").is_some() {
                Some(NullsOrder::First)
            } else if self.eat_ident("last").is_some() {
                Some(NullsOrder::Last)
            } else {
                return Err(self.expected("`first` or `last` after `nulls`"));
            }
        } else {
            None
        };
        Ok(SortKey { expr, order, nulls, span: Span::new(start, self.prev_end()) })
    }

    fn render_body(&mut self) -> PResult<Render> {
        let kind = self.ident("a chart kind after `render` (timechart, table, …)")?;
        if !RENDER_KINDS.contains(&kind.name.as_str()) {
            let mut err = ParseError::syntax(format!("unknown chart kind `{}`", kind.name), kind.span);
            if let Some(s) = did_you_mean(&kind.name, RENDER_KINDS.iter().copied()) {
                err = err.with_help(format!("did you mean `{s}`?"));
            }
            return Err(err);
        }
        let mut properties = Vec::new();
        if self.eat_ident("with").is_some() {
            self.expect(&TokenKind::LParen, "after `with`")?;
            if !self.at(&TokenKind::RParen) {
                loop {
                    let name = self.ident("a render property name")?;
                    self.expect(&TokenKind::Assign, "after the property name")?;
                    let mut values = vec![self.expr()?];
                    // `ycolumns = a, b`: a comma not followed by `name =` continues the list.
                    while matches!(self.peek().kind, TokenKind::Comma) && !self.assignment_at(1) {
                        self.bump();
                        values.push(self.expr()?);
                    }
                    let span = Span::new(name.span.start, self.prev_end());
                    properties.push(RenderProperty { name, values, span });
                    if self.eat(&TokenKind::Comma).is_none() {
                        break;
                    }
                }
            }
            self.expect(&TokenKind::RParen, "to close `with (`")?;
        }
        Ok(Render { kind, properties })
    }

    fn union_body(&mut self) -> PResult<Union> {
        let mut params = self.operator_params(&["kind", "withsource", "isfuzzy"])?;
        let mut withsource = None;
        if let Some(i) = params.iter().position(|p| p.name.name == "withsource") {
            let param = params.remove(i);
            match param.value.kind {
                ExprKind::Name(ident) => withsource = Some(ident),
                _ => {
                    return Err(ParseError::syntax("`withsource=` takes a column name", param.value.span));
                }
            }
        }
        let mut tables = vec![self.union_leg()?];
        while self.eat(&TokenKind::Comma).is_some() {
            tables.push(self.union_leg()?);
        }
        Ok(Union { params, withsource, tables })
    }

    fn union_leg(&mut self) -> PResult<TabularExpr> {
        match &self.peek().kind {
            TokenKind::Star => {
                let pattern = self.name_pattern("a table")?;
                let span = pattern.span;
                Ok(TabularExpr { source: Source::Pattern(pattern), operators: Vec::new(), span })
            }
            TokenKind::Ident(_) if matches!(self.peek_at(1), TokenKind::Star) && self.adjacent(0) => {
                let pattern = self.name_pattern("a table")?;
                let span = pattern.span;
                Ok(TabularExpr { source: Source::Pattern(pattern), operators: Vec::new(), span })
            }
            TokenKind::LParen => {
                self.bump();
                self.enter()?;
                let inner = self.expr_or_tabular()?;
                let tabular = self.to_tabular(inner)?;
                self.leave(1);
                self.expect(&TokenKind::RParen, "to close the `union` leg")?;
                Ok(tabular)
            }
            TokenKind::Ident(_) | TokenKind::LBracket => {
                let expr = self.postfix()?;
                self.to_tabular(expr)
            }
            _ => Err(self.expected("a table, `*` or `(…)` in `union`")),
        }
    }

    /// The body of `join` or `lookup` (`op`, for the messages).
    fn join_body(&mut self, op: &str) -> PResult<Join> {
        let mut params = self.operator_params(&["kind"])?;
        let mut kind = None;
        if let Some(i) = params.iter().position(|p| p.name.name == "kind") {
            let param = params.remove(i);
            let text = match &param.value.kind {
                ExprKind::Name(ident) => ident.name.clone(),
                _ => String::new(),
            };
            match JoinKind::SPELLINGS.iter().find(|(s, _)| *s == text) {
                Some((_, k)) => kind = Some((*k, param.value.span)),
                None => {
                    let mut err = ParseError::syntax(
                        format!("unknown {op} kind `{}`", param.value.span.text(self.src)),
                        param.value.span,
                    );
                    let spellings = JoinKind::SPELLINGS.iter().map(|(s, _)| *s);
                    if let Some(s) = did_you_mean(&text, spellings) {
                        err = err.with_help(format!("did you mean `{s}`?"));
                    }
                    return Err(err);
                }
            }
        }
        let right = if self.eat(&TokenKind::LParen).is_some() {
            self.enter()?;
            let inner = self.expr_or_tabular()?;
            let tabular = self.to_tabular(inner)?;
            self.leave(1);
            self.expect(&TokenKind::RParen, &format!("to close the right side of `{op}`"))?;
            tabular
        } else {
            let expr = self.postfix()?;
            self.to_tabular(expr)?
        };
        self.expect_keyword("on", &format!("after the right side of `{op}`"))?;
        let mut on = Vec::new();
        loop {
            let expr = self.expr_for("a join key (`col` or `$left.a == $right.b`)")?;
            self.join_keys(expr, &mut on)?;
            if self.eat(&TokenKind::Comma).is_none() {
                break;
            }
        }
        Ok(Join { kind, params, right, on })
    }

    fn join_keys(&self, expr: Expr, out: &mut Vec<JoinKey>) -> PResult<()> {
        fn side(expr: &Expr) -> Option<(&str, Ident)> {
            if let ExprKind::Member { base, member } = &expr.kind
                && let ExprKind::Name(n) = &base.kind
                && (n.name == "$left" || n.name == "$right")
            {
                return Some((n.name.as_str(), member.clone()));
            }
            None
        }
        match expr.kind {
            ExprKind::Name(ident) => {
                out.push(JoinKey::Same(ident));
                Ok(())
            }
            ExprKind::Binary { op: BinaryOp::And, left, right } => {
                self.join_keys(*left, out)?;
                self.join_keys(*right, out)
            }
            ExprKind::Binary { op: BinaryOp::Eq, ref left, ref right } => match (side(left), side(right)) {
                (Some(("$left", l)), Some(("$right", r))) | (Some(("$right", r)), Some(("$left", l))) => {
                    out.push(JoinKey::Pair { left: l, right: r, span: expr.span });
                    Ok(())
                }
                _ => Err(ParseError::syntax(
                    "a join condition compares `$left.column == $right.column`",
                    expr.span,
                )),
            },
            _ => Err(ParseError::syntax(
                "a join key is a column name or `$left.column == $right.column`",
                expr.span,
            )),
        }
    }

    fn mv_expand_body(&mut self) -> PResult<MvExpand> {
        let params = self.operator_params(&["bagexpansion", "with_itemindex", "kind"])?;
        let mut items = Vec::new();
        loop {
            let named = self.named_expr("a column to expand")?;
            let to_type = if self.eat_ident("to").is_some() {
                self.expect_keyword("typeof", "after `to`")?;
                self.expect(&TokenKind::LParen, "after `typeof`")?;
                let ty = self.ident("a type name")?;
                self.expect(&TokenKind::RParen, "to close `typeof(`")?;
                Some(ty)
            } else {
                None
            };
            items.push(MvExpandItem {
                name: named.name,
                expr: named.expr,
                to_type,
                span: Span::new(named.span.start, self.prev_end()),
            });
            if self.eat(&TokenKind::Comma).is_none() {
                break;
            }
        }
        let limit = if self.eat_ident("limit").is_some() { Some(self.expr()?) } else { None };
        Ok(MvExpand { params, items, limit })
    }

    fn parse_body(&mut self, filter: bool) -> PResult<Parse> {
        let params = self.operator_params(&["kind", "flags"])?;
        let expr = self.expr_for("the expression to parse")?;
        self.expect_keyword("with", "after the expression of `parse`")?;
        let mut pattern = Vec::new();
        loop {
            match self.peek().kind.clone() {
                TokenKind::Star => pattern.push(ParsePart::Wildcard(self.bump())),
                TokenKind::String(s) => pattern.push(ParsePart::Literal(s, self.bump())),
                TokenKind::Ident(_) | TokenKind::LBracket => {
                    let name = self.ident("a column name")?;
                    let ty = if self.eat(&TokenKind::Colon).is_some() {
                        Some(self.ident("a type name after `:`")?)
                    } else {
                        None
                    };
                    pattern.push(ParsePart::Column { name, ty });
                }
                _ => break,
            }
        }
        if pattern.is_empty() {
            return Err(self.expected("a pattern after `with` (strings, column names, `*`)"));
        }
        Ok(Parse { filter, params, expr, pattern })
    }

    fn parse_kv_body(&mut self) -> PResult<ParseKv> {
        let expr = self.expr_for("the expression to parse")?;
        self.expect_keyword("as", "after the expression of `parse-kv`")?;
        self.expect(&TokenKind::LParen, "to open the keys of `parse-kv … as (`")?;
        let mut keys = Vec::new();
        loop {
            let name = self.ident("a key name")?;
            let ty = if self.eat(&TokenKind::Colon).is_some() {
                Some(self.ident("a type name after `:`")?)
            } else {
                None
            };
            keys.push((name, ty));
            if self.eat(&TokenKind::Comma).is_none() {
                break;
            }
        }
        self.expect(&TokenKind::RParen, "to close the keys of `parse-kv`")?;
        self.expect_keyword("with", "after the keys of `parse-kv`")?;
        self.expect(&TokenKind::LParen, "to open the options of `parse-kv … with (`")?;
        let mut options = Vec::new();
        if !matches!(self.peek().kind, TokenKind::RParen) {
            loop {
                let start = self.peek().span.start;
                let name = self
                    .ident("an option name (pair_delimiter, kv_delimiter, quote, escape, greedy, regex)")?;
                self.expect(&TokenKind::Assign, "after the option name")?;
                let value = self.expr_for("the option's value")?;
                options.push(OperatorParam { name, value, span: Span::new(start, self.prev_end()) });
                if self.eat(&TokenKind::Comma).is_none() {
                    break;
                }
            }
        }
        self.expect(&TokenKind::RParen, "to close the options of `parse-kv`")?;
        Ok(ParseKv { expr, keys, options })
    }

    fn search_body(&mut self) -> PResult<Search> {
        let params = self.operator_params(&["kind"])?;
        let mut tables = Vec::new();
        if self.at_ident("in") && matches!(self.peek_at(1), TokenKind::LParen) {
            self.bump();
            self.bump();
            loop {
                tables.push(self.name_pattern("a table name")?);
                if self.eat(&TokenKind::Comma).is_none() {
                    break;
                }
            }
            self.expect(&TokenKind::RParen, "to close `in (`")?;
        }
        let predicate = self.expr_for("what to search for (`*`, a string or a predicate)")?;
        Ok(Search { params, tables, predicate })
    }

    fn make_series_body(&mut self) -> PResult<MakeSeries> {
        let params = self.operator_params(&["kind"])?;
        let mut aggregates = Vec::new();
        loop {
            let agg = self.named_expr("an aggregate, e.g. count()")?;
            let default = if self.at_ident("default") && matches!(self.peek_at(1), TokenKind::Assign) {
                self.bump();
                self.bump();
                Some(self.expr()?)
            } else {
                None
            };
            aggregates.push(MakeSeriesAgg { agg, default });
            if self.eat(&TokenKind::Comma).is_none() {
                break;
            }
        }
        self.expect_keyword("on", "after the aggregates of `make-series`")?;
        let on = self.expr()?;
        let (mut from, mut to, step);
        if self.eat_ident("in").is_some() {
            // `in range(start, stop, step)`
            let call = self.postfix()?;
            match call.kind {
                ExprKind::Call { name, args } if name.name == "range" && args.len() == 3 => {
                    let mut args = args.into_iter();
                    from = args.next();
                    to = args.next();
                    step = args.next();
                }
                _ => {
                    return Err(ParseError::syntax(
                        "expected `range(start, stop, step)` after `in`",
                        call.span,
                    ));
                }
            }
        } else {
            from = None;
            to = None;
            if self.eat_ident("from").is_some() {
                from = Some(self.expr()?);
            }
            if self.eat_ident("to").is_some() {
                to = Some(self.expr()?);
            }
            self.expect_keyword("step", "in `make-series` (e.g. `step 1h`)")?;
            step = Some(self.expr()?);
        }
        let by = if self.eat_ident("by").is_some() {
            self.named_list("a column to group by")?
        } else {
            Vec::new()
        };
        let Some(step) = step else {
            return Err(self.expected("`step`"));
        };
        Ok(MakeSeries { params, aggregates, on, from, to, step, by })
    }

    fn datatable_body(&mut self) -> PResult<Datatable> {
        self.expect(&TokenKind::LParen, "after `datatable`")?;
        let mut columns = Vec::new();
        loop {
            let name = self.ident("a column name")?;
            self.expect(&TokenKind::Colon, "after the column name")?;
            let ty = self.ident("a column type")?;
            columns.push((name, ty));
            if self.eat(&TokenKind::Comma).is_none() {
                break;
            }
        }
        self.expect(&TokenKind::RParen, "to close the column list")?;
        self.expect(&TokenKind::LBracket, "to start the values of `datatable`")?;
        let mut values = Vec::new();
        while !self.at(&TokenKind::RBracket) {
            values.push(self.expr()?);
            if self.eat(&TokenKind::Comma).is_none() {
                break;
            }
        }
        self.expect(&TokenKind::RBracket, "to close the values of `datatable`")?;
        Ok(Datatable { columns, values })
    }

    fn range_body(&mut self) -> PResult<Range> {
        let column = self.ident("a column name after `range`")?;
        self.expect_keyword("from", "in `range`")?;
        let from = self.expr()?;
        self.expect_keyword("to", "in `range`")?;
        let to = self.expr()?;
        self.expect_keyword("step", "in `range`")?;
        let step = self.expr()?;
        Ok(Range { column, from, to, step })
    }

    // ---- scalar expressions ----

    fn expr(&mut self) -> PResult<Expr> {
        // A nested expression (in parentheses, arguments, lists) costs several levels: its
        // recursion through binary/unary/postfix/primary takes far more stack than one link
        // of an `or` chain, and the limit must hold in unoptimised builds on small stacks.
        self.enter_weighted(EXPR_WEIGHT)?;
        let result = self.binary(1);
        self.leave(EXPR_WEIGHT);
        result
    }

    /// The infix operator at the current position and how many tokens it spans.
    fn peek_infix(&self) -> Option<(InfixOp, usize)> {
        use BinaryOp::*;
        let op = match &self.peek().kind {
            TokenKind::EqEq => (InfixOp::Binary(Eq), 1),
            TokenKind::NotEq => (InfixOp::Binary(NotEq), 1),
            TokenKind::EqTilde => (InfixOp::Binary(EqCi), 1),
            TokenKind::BangTilde => (InfixOp::Binary(NotEqCi), 1),
            TokenKind::Lt => (InfixOp::Binary(Lt), 1),
            TokenKind::LtEq => (InfixOp::Binary(LtEq), 1),
            TokenKind::Gt => (InfixOp::Binary(Gt), 1),
            TokenKind::GtEq => (InfixOp::Binary(GtEq), 1),
            TokenKind::Plus => (InfixOp::Binary(Add), 1),
            TokenKind::Minus => (InfixOp::Binary(Sub), 1),
            TokenKind::Star => (InfixOp::Binary(Mul), 1),
            TokenKind::Slash => (InfixOp::Binary(Div), 1),
            TokenKind::Percent => (InfixOp::Binary(Mod), 1),
            TokenKind::Ident(name) => match name.as_str() {
                "and" => (InfixOp::Binary(And), 1),
                "or" => (InfixOp::Binary(Or), 1),
                "matches" if self.ident_at(1) == Some("regex") => (InfixOp::Binary(MatchesRegex), 2),
                "in" if matches!(self.peek_at(1), TokenKind::Tilde) && self.adjacent(0) => {
                    (InfixOp::List(ListOp::InCi), 2)
                }
                // `make-series … on t in range(a, b, c)`: not a list (those take `(…)`).
                "in" if self.ident_at(1) == Some("range") => return None,
                "in" => (InfixOp::List(ListOp::In), 1),
                "has_any" => (InfixOp::List(ListOp::HasAny), 1),
                "has_all" => (InfixOp::List(ListOp::HasAll), 1),
                "between" => (InfixOp::Between { negated: false }, 1),
                other => (InfixOp::Binary(string_operator(other)?), 1),
            },
            TokenKind::Bang if self.adjacent(0) => {
                let name = self.ident_at(1)?;
                match name {
                    "in" if matches!(self.peek_at(2), TokenKind::Tilde) && self.adjacent(1) => {
                        (InfixOp::List(ListOp::NotInCi), 3)
                    }
                    "in" => (InfixOp::List(ListOp::NotIn), 2),
                    "between" => (InfixOp::Between { negated: true }, 2),
                    other => (InfixOp::Binary(negated_string_operator(other)?), 2),
                }
            }
            _ => return None,
        };
        Some(op)
    }

    fn binary(&mut self, min_prec: u8) -> PResult<Expr> {
        let mut left = self.unary()?;
        let mut chain = 0;
        // The loop keeps one `Result` alive at a time and builds nodes in `infix`, so this
        // frame, which recursion repeats for every nested expression, stays small.
        let result = loop {
            let Some((op, len)) = self.peek_infix() else { break Ok(left) };
            if op.precedence() < min_prec {
                break Ok(left);
            }
            chain += 1;
            match self.infix(left, op, len) {
                Ok(built) => left = built,
                // A flat chain (`a == 1 or a == 2 or …`) is as deep as it is long: say so, and
                // what reads the same without the chain (review 27, kql §9: the help said only
                // to split "the expression", which has no nesting to split).
                Err(e) if e.kind == ParseErrorKind::TooDeep && chain >= FLAT_CHAIN_HINT => {
                    break Err(e.with_help(format!(
                        "{chain} operators in a row count as {chain} levels: split the chain with `let` \
                         statements, and write a comparison of one column with many values as \
                         `Column in (…)`"
                    )));
                }
                Err(e) => break Err(e),
            }
        };
        self.leave(chain);
        result
    }

    /// Consumes the infix operator (`len` tokens) and its right side, building the node.
    fn infix(&mut self, left: Expr, op: InfixOp, len: usize) -> PResult<Expr> {
        let op_start = self.peek().span.start;
        for _ in 0..len {
            self.bump();
        }
        self.enter()?;
        match op {
            InfixOp::Binary(op) => {
                if self.at_expression_end() {
                    let written = Span::new(op_start, self.prev_end()).text(self.src).to_string();
                    return Err(self.expected(&format!("an expression after `{written}`")));
                }
                let right = self.binary(op.precedence() + 1)?;
                let span = left.span.to(right.span);
                Ok(Expr::new(ExprKind::Binary { op, left: Box::new(left), right: Box::new(right) }, span))
            }
            InfixOp::List(op) => {
                let items = self.list_items(op)?;
                let span = Span::new(left.span.start, self.prev_end());
                Ok(Expr::new(ExprKind::List { op, expr: Box::new(left), items }, span))
            }
            InfixOp::Between { negated } => {
                let (low, high) = self.between_bounds()?;
                let span = Span::new(left.span.start, self.prev_end());
                let kind = ExprKind::Between {
                    expr: Box::new(left),
                    low: Box::new(low),
                    high: Box::new(high),
                    negated,
                };
                Ok(Expr::new(kind, span))
            }
        }
    }

    fn list_items(&mut self, op: ListOp) -> PResult<Vec<Expr>> {
        if self.eat(&TokenKind::LParen).is_none() {
            return Err(self.expected(&format!("`(` after `{}`", op.as_str())));
        }
        let mut items = Vec::new();
        if !self.at(&TokenKind::RParen) {
            loop {
                items.push(self.expr_or_tabular()?);
                if self.eat(&TokenKind::Comma).is_none() {
                    break;
                }
            }
        }
        self.expect(&TokenKind::RParen, "to close the list")?;
        Ok(items)
    }

    fn between_bounds(&mut self) -> PResult<(Expr, Expr)> {
        self.expect(&TokenKind::LParen, "after `between` (as in `between (a .. b)`)")?;
        let low = self.expr_for("the lower bound of `between`")?;
        self.expect(&TokenKind::DotDot, "between the bounds (as in `between (a .. b)`)")?;
        let high = self.expr_for("the upper bound of `between`")?;
        self.expect(&TokenKind::RParen, "to close `between (`")?;
        Ok((low, high))
    }

    fn unary(&mut self) -> PResult<Expr> {
        let op = match self.peek().kind {
            TokenKind::Minus => UnaryOp::Neg,
            TokenKind::Plus => UnaryOp::Plus,
            _ => return self.postfix(),
        };
        let start = self.bump().start;
        self.enter()?;
        let operand = self.unary();
        self.leave(1);
        let operand = operand?;
        let span = Span::new(start, operand.span.end);
        Ok(Expr::new(ExprKind::Unary { op, operand: Box::new(operand) }, span))
    }

    fn postfix(&mut self) -> PResult<Expr> {
        let mut expr = self.primary()?;
        let mut chain = 0;
        let result = loop {
            if !matches!(self.peek().kind, TokenKind::Dot | TokenKind::LBracket) {
                break Ok(expr);
            }
            chain += 1;
            match self.postfix_step(expr) {
                Ok(next) => expr = next,
                Err(e) => break Err(e),
            }
        };
        self.leave(chain);
        result
    }

    /// One `.member`, `.[key]` or `[index]` applied to `base`.
    fn postfix_step(&mut self, base: Expr) -> PResult<Expr> {
        self.enter()?;
        if matches!(self.peek().kind, TokenKind::Dot) {
            self.bump();
            if !matches!(self.peek().kind, TokenKind::LBracket) {
                let member = self.member_name()?;
                let span = Span::new(base.span.start, member.span.end);
                return Ok(Expr::new(ExprKind::Member { base: Box::new(base), member }, span));
            }
        }
        self.index(base)
    }

    fn member_name(&mut self) -> PResult<Ident> {
        match self.peek().kind.clone() {
            TokenKind::Ident(name) => {
                let span = self.bump();
                Ok(Ident::new(name, span))
            }
            _ => Err(self.expected("a property name after `.`")),
        }
    }

    fn index(&mut self, base: Expr) -> PResult<Expr> {
        self.expect(&TokenKind::LBracket, "")?;
        let index = self.expr_for("an index or key inside `[…]`")?;
        self.expect(&TokenKind::RBracket, "to close `[`")?;
        let span = Span::new(base.span.start, self.prev_end());
        Ok(Expr::new(ExprKind::Index { base: Box::new(base), index: Box::new(index) }, span))
    }

    fn primary(&mut self) -> PResult<Expr> {
        // Each kind of primary is built in its own function: this one recurses for every
        // nested expression, so its frame must not hold every arm's temporaries.
        match &self.peek().kind {
            TokenKind::LParen => self.parenthesized(),
            TokenKind::Ident(_) if matches!(self.peek_at(1), TokenKind::LParen) => self.call(),
            TokenKind::Ident(_) => Ok(self.name_or_bool()),
            TokenKind::String(_) => Ok(self.string_literal()),
            TokenKind::Long(_)
            | TokenKind::Real(_)
            | TokenKind::Timespan(_)
            | TokenKind::TypedLiteral { .. } => self.token_literal(),
            TokenKind::LBracket
                if matches!(self.peek_at(1), TokenKind::String(_))
                    && matches!(self.peek_at(2), TokenKind::RBracket) =>
            {
                let ident = self.ident("a name")?;
                let span = ident.span;
                Ok(Expr::new(ExprKind::Name(ident), span))
            }
            TokenKind::Star => {
                let span = self.bump();
                Ok(Expr::new(ExprKind::Wildcard, span))
            }
            _ => Err(self.expected("an expression")),
        }
    }

    fn parenthesized(&mut self) -> PResult<Expr> {
        self.bump();
        self.enter()?;
        let inner = self.expr_or_tabular();
        self.leave(1);
        let inner = inner?;
        if self.at(&TokenKind::Comma) {
            return Err(ParseError::syntax("a parenthesised expression holds one value", self.peek().span)
                .with_help("lists are written after `in`, `has_any`, or as dynamic([…])"));
        }
        self.expect(&TokenKind::RParen, "to close `(`")?;
        Ok(inner)
    }

    fn name_or_bool(&mut self) -> Expr {
        let token = self.take();
        let TokenKind::Ident(name) = token.kind else {
            return Expr::new(ExprKind::Wildcard, token.span);
        };
        let kind = match name.as_str() {
            "true" | "True" | "TRUE" => ExprKind::Literal(Literal::Bool(true)),
            "false" | "False" | "FALSE" => ExprKind::Literal(Literal::Bool(false)),
            _ => ExprKind::Name(Ident::new(name, token.span)),
        };
        Expr::new(kind, token.span)
    }

    /// A string literal; adjacent string literals are one string in KQL.
    fn string_literal(&mut self) -> Expr {
        let mut value = String::new();
        let mut span = self.peek().span;
        while let TokenKind::String(next) = &self.peek().kind {
            value.push_str(next);
            span = span.to(self.bump());
        }
        Expr::new(ExprKind::Literal(Literal::String(value)), span)
    }

    fn token_literal(&mut self) -> PResult<Expr> {
        let token = self.take();
        let literal = match token.kind {
            TokenKind::Long(v) => Literal::Long(v),
            TokenKind::Real(v) => Literal::Real(v),
            TokenKind::Timespan(v) => Literal::Timespan(v),
            TokenKind::TypedLiteral { ty, raw, raw_span } => {
                self.typed_literal(&ty, &raw, raw_span, token.span)?
            }
            _ => return Err(ParseError::syntax("expected a literal", token.span)),
        };
        Ok(Expr::new(ExprKind::Literal(literal), token.span))
    }

    fn typed_literal(&self, ty: &str, raw: &str, raw_span: Span, span: Span) -> PResult<Literal> {
        let text = raw.trim();
        let unquoted = match text.as_bytes().first() {
            Some(q @ (b'"' | b'\'')) if text.len() >= 2 && text.as_bytes()[text.len() - 1] == *q => {
                &text[1..text.len() - 1]
            }
            _ => text,
        };
        let invalid = |example: &str| {
            ParseError::new(
                ParseErrorKind::InvalidLiteral,
                format!("`{text}` is not a valid {ty}"),
                if text.is_empty() { span } else { raw_span },
            )
            .with_help(format!("write it as {example}"))
        };
        match ty {
            "datetime" | "date" => {
                if text == "null" {
                    return Ok(Literal::Null(ScalarType::DateTime));
                }
                parse_datetime(unquoted).map(Literal::DateTime).ok_or_else(|| {
                    invalid(
                        "datetime(2024-01-31) or datetime(2024-01-31T10:00:00Z), a date from 1678 to 2261",
                    )
                })
            }
            "timespan" | "time" => {
                if text == "null" {
                    return Ok(Literal::Null(ScalarType::Timespan));
                }
                parse_timespan_text(unquoted)
                    .map(Literal::Timespan)
                    .ok_or_else(|| invalid("timespan(1h), timespan(1.5d) or timespan(00:10:00)"))
            }
            _ => Err(ParseError::unsupported(&format!("{ty} literals"), span)),
        }
    }

    fn call(&mut self) -> PResult<Expr> {
        let name_span = self.peek().span;
        let name = match &self.peek().kind {
            TokenKind::Ident(name) => name.clone(),
            _ => return Err(self.expected("a function name")),
        };
        match name.as_str() {
            "dynamic" => return self.dynamic_literal(name_span),
            "int" | "long" | "real" | "double" | "bool" | "boolean" | "decimal" => {
                return self.scalar_typed_literal(&name, name_span);
            }
            _ => {}
        }
        self.check_function(&name, name_span)?;
        self.bump();
        self.bump();
        self.enter()?;
        let args = self.call_args(&name);
        self.leave(1);
        let args = args?;
        let span = Span::new(name_span.start, self.prev_end());
        Ok(Expr::new(ExprKind::Call { name: Ident::new(name, name_span), args }, span))
    }

    /// Fails for a function KQL does not have and no `let` or option defines.
    fn check_function(&self, name: &str, name_span: Span) -> PResult<()> {
        if !self.options.check_functions
            || is_known_function(name)
            || self.let_names.contains(name)
            || self.options.extra_functions.iter().any(|n| n == name)
        {
            return Ok(());
        }
        let mut err =
            ParseError::new(ParseErrorKind::UnknownFunction, format!("unknown function `{name}`"), name_span);
        let extra = self.options.extra_functions.iter().map(String::as_str);
        let lets = self.let_names.iter().map(String::as_str);
        let candidates = known_functions().into_iter().chain(extra).chain(lets);
        if let Some(s) = did_you_mean(name, candidates) {
            err = err.with_help(format!("did you mean `{s}`?"));
        }
        Err(err)
    }

    fn call_args(&mut self, name: &str) -> PResult<Vec<Expr>> {
        let mut args = Vec::new();
        if !self.at(&TokenKind::RParen) {
            loop {
                if self.at_expression_end() {
                    return Err(self.expected(&format!("an argument of `{name}`")));
                }
                args.push(self.expr_or_tabular()?);
                if self.eat(&TokenKind::Comma).is_none() {
                    break;
                }
            }
        }
        if self.eat(&TokenKind::RParen).is_none() {
            return Err(self.expected(&format!("`)` to close the arguments of `{name}`")));
        }
        Ok(args)
    }

    /// `long(5)`, `int(-1)`, `real(nan)`, `bool(true)`, `long(null)`: literals written as
    /// calls; anything else inside is an error pointing to the conversion function.
    fn scalar_typed_literal(&mut self, ty: &str, name_span: Span) -> PResult<Expr> {
        let mut n = 2;
        let negative = match self.peek_at(n) {
            TokenKind::Minus => {
                n += 1;
                true
            }
            TokenKind::Plus => {
                n += 1;
                false
            }
            _ => false,
        };
        if !matches!(self.peek_at(n + 1), TokenKind::RParen) {
            return Err(self.not_a_literal(ty, name_span));
        }
        let scalar = ScalarType::from_name(ty).unwrap_or(ScalarType::Real);
        let value = self.peek_at(n).clone();
        let arg_span = self.span_at(n);
        let bad = || {
            ParseError::new(
                ParseErrorKind::InvalidLiteral,
                format!("`{}` is not a valid {ty} literal", arg_span.text(self.src)),
                arg_span,
            )
        };
        let literal = match (&value, scalar) {
            (TokenKind::Ident(v), _) if v == "null" && !negative => Literal::Null(scalar),
            (_, ScalarType::Decimal) => {
                return Err(ParseError::unsupported("decimal literals", name_span));
            }
            (TokenKind::Long(v), ScalarType::Int) => {
                let v = if negative { -*v } else { *v };
                Literal::Int(i32::try_from(v).map_err(|_| bad())?)
            }
            (TokenKind::Long(v), ScalarType::Long) => Literal::Long(if negative { -*v } else { *v }),
            (TokenKind::Long(v), ScalarType::Real) => {
                let v = *v as f64;
                Literal::Real(if negative { -v } else { v })
            }
            (TokenKind::Real(v), ScalarType::Real) => Literal::Real(if negative { -*v } else { *v }),
            (TokenKind::Ident(v), ScalarType::Real) if v == "nan" && !negative => Literal::Real(f64::NAN),
            (TokenKind::Ident(v), ScalarType::Real) if v == "inf" => {
                Literal::Real(if negative { f64::NEG_INFINITY } else { f64::INFINITY })
            }
            (TokenKind::Ident(v), ScalarType::Bool) if !negative && (v == "true" || v == "false") => {
                Literal::Bool(v == "true")
            }
            (TokenKind::Long(v), ScalarType::Bool) if !negative && (*v == 0 || *v == 1) => {
                Literal::Bool(*v == 1)
            }
            (TokenKind::Ident(_), _) => return Err(self.not_a_literal(ty, name_span)),
            _ => return Err(bad()),
        };
        for _ in 0..=n + 1 {
            self.bump();
        }
        let span = Span::new(name_span.start, self.prev_end());
        Ok(Expr::new(ExprKind::Literal(literal), span))
    }

    fn not_a_literal(&self, ty: &str, name_span: Span) -> ParseError {
        let converter = match ty {
            "int" => "toint",
            "long" => "tolong",
            "bool" | "boolean" => "tobool",
            "decimal" => "todecimal",
            _ => "todouble",
        };
        ParseError::syntax(format!("`{ty}(…)` writes a literal, as in {ty}(5) or {ty}(null)"), name_span)
            .with_help(format!("to convert a value, use {converter}()"))
    }

    fn dynamic_literal(&mut self, name_span: Span) -> PResult<Expr> {
        self.bump();
        self.bump();
        let value = self.dynamic_value()?;
        self.expect(&TokenKind::RParen, "to close `dynamic(`")?;
        let span = Span::new(name_span.start, self.prev_end());
        Ok(Expr::new(ExprKind::Literal(Literal::Dynamic(value)), span))
    }

    fn dynamic_value(&mut self) -> PResult<Dynamic> {
        self.enter()?;
        let result = self.dynamic_value_inner();
        self.leave(1);
        result
    }

    fn dynamic_value_inner(&mut self) -> PResult<Dynamic> {
        let token = self.peek().clone();
        let negative = matches!(token.kind, TokenKind::Minus);
        if negative {
            self.bump();
        }
        let token = self.peek().clone();
        let value = match token.kind {
            TokenKind::Long(v) => Dynamic::Long(if negative { -v } else { v }),
            TokenKind::Real(v) => Dynamic::Real(if negative { -v } else { v }),
            TokenKind::Timespan(v) => Dynamic::Timespan(if negative { -v } else { v }),
            _ if negative => return Err(self.expected("a number after `-`")),
            TokenKind::String(s) => Dynamic::String(s),
            TokenKind::Ident(ref name) => match name.as_str() {
                "null" => Dynamic::Null,
                "true" => Dynamic::Bool(true),
                "false" => Dynamic::Bool(false),
                _ => return Err(self.expected("a value (number, string, true, false, null, […] or {…})")),
            },
            TokenKind::TypedLiteral { ty, raw, raw_span } => {
                match self.typed_literal(&ty, &raw, raw_span, token.span)? {
                    Literal::DateTime(v) => Dynamic::DateTime(v),
                    Literal::Timespan(v) => Dynamic::Timespan(v),
                    _ => Dynamic::Null,
                }
            }
            TokenKind::LBracket => {
                self.bump();
                let mut items = Vec::new();
                while !self.at(&TokenKind::RBracket) {
                    items.push(self.dynamic_value()?);
                    if self.eat(&TokenKind::Comma).is_none() {
                        break;
                    }
                }
                self.expect(&TokenKind::RBracket, "to close the array")?;
                return Ok(Dynamic::Array(items));
            }
            TokenKind::LBrace => {
                self.bump();
                let mut entries = Vec::new();
                while !self.at(&TokenKind::RBrace) {
                    let key = match self.peek().kind.clone() {
                        TokenKind::String(s) | TokenKind::Ident(s) => {
                            self.bump();
                            s
                        }
                        _ => return Err(self.expected("a property name")),
                    };
                    self.expect(&TokenKind::Colon, "after the property name")?;
                    let value = self.dynamic_value()?;
                    entries.push((key, value));
                    if self.eat(&TokenKind::Comma).is_none() {
                        break;
                    }
                }
                self.expect(&TokenKind::RBrace, "to close the property bag")?;
                return Ok(Dynamic::Object(entries));
            }
            _ => return Err(self.expected("a value (number, string, true, false, null, […] or {…})")),
        };
        self.bump();
        Ok(value)
    }
}
