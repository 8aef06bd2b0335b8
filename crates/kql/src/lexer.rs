//! Turns query text into tokens with byte spans.
//!
//! The lexer knows no keywords: `where`, `and`, `has` are identifiers, and the parser decides
//! by position (KQL has few reserved words and column names such as `Type` or `source` are
//! common). Operators with dashes (`project-away`) are glued by the parser from adjacent
//! tokens, because `a-b` is a subtraction everywhere else.

use crate::ast::Span;
use crate::error::{ParseError, ParseErrorKind};
use crate::time::{scale_decimal, timespan_unit_nanos};

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// Where it was written.
    pub span: Span,
}

/// The kinds of token.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenKind {
    /// An identifier (`where`, `UserAgent`, `$left`).
    Ident(String),
    /// A string literal, decoded; adjacent literals are separate tokens.
    String(String),
    /// An integer literal.
    Long(i64),
    /// A real literal (`1.5`, `1e3`).
    Real(f64),
    /// A timespan literal (`5m`, `1.5h`), in nanoseconds.
    Timespan(i64),
    /// `datetime(…)`, `timespan(…)`, `time(…)`, `guid(…)`: the type name and the raw text
    /// between the parentheses (with its span), since that text is not made of KQL tokens.
    TypedLiteral {
        /// The type name as written.
        ty: String,
        /// The text between the parentheses.
        raw: String,
        /// Where that text is.
        raw_span: Span,
    },
    /// `|`
    Pipe,
    /// `,`
    Comma,
    /// `;`
    Semi,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `{`
    LBrace,
    /// `}`
    RBrace,
    /// `.`
    Dot,
    /// `..`
    DotDot,
    /// `:`
    Colon,
    /// `=`
    Assign,
    /// `==`
    EqEq,
    /// `!=` or `<>`
    NotEq,
    /// `=~`
    EqTilde,
    /// `!~`
    BangTilde,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
    /// `+`
    Plus,
    /// `-`
    Minus,
    /// `*`
    Star,
    /// `/`
    Slash,
    /// `%`
    Percent,
    /// `!`
    Bang,
    /// `~`
    Tilde,
    /// End of input.
    Eof,
}

impl TokenKind {
    /// How the token is named in messages.
    pub fn describe(&self) -> String {
        match self {
            TokenKind::Ident(name) => format!("`{name}`"),
            TokenKind::String(_) => "a string".to_string(),
            TokenKind::Long(_) | TokenKind::Real(_) => "a number".to_string(),
            TokenKind::Timespan(_) => "a timespan".to_string(),
            TokenKind::TypedLiteral { ty, .. } => format!("a {ty} literal"),
            TokenKind::Eof => "the end of the query".to_string(),
            other => format!("`{}`", other.symbol()),
        }
    }

    /// The text of a punctuation token.
    pub fn symbol(&self) -> &'static str {
        match self {
            TokenKind::Pipe => "|",
            TokenKind::Comma => ",",
            TokenKind::Semi => ";",
            TokenKind::LParen => "(",
            TokenKind::RParen => ")",
            TokenKind::LBracket => "[",
            TokenKind::RBracket => "]",
            TokenKind::LBrace => "{",
            TokenKind::RBrace => "}",
            TokenKind::Dot => ".",
            TokenKind::DotDot => "..",
            TokenKind::Colon => ":",
            TokenKind::Assign => "=",
            TokenKind::EqEq => "==",
            TokenKind::NotEq => "!=",
            TokenKind::EqTilde => "=~",
            TokenKind::BangTilde => "!~",
            TokenKind::Lt => "<",
            TokenKind::LtEq => "<=",
            TokenKind::Gt => ">",
            TokenKind::GtEq => ">=",
            TokenKind::Plus => "+",
            TokenKind::Minus => "-",
            TokenKind::Star => "*",
            TokenKind::Slash => "/",
            TokenKind::Percent => "%",
            TokenKind::Bang => "!",
            TokenKind::Tilde => "~",
            _ => "",
        }
    }
}

/// Type names whose literal text is taken raw from between the parentheses.
const RAW_LITERAL_TYPES: &[&str] = &["datetime", "date", "timespan", "time", "guid"];

/// Splits `source` into tokens, ending with [`TokenKind::Eof`]. Comments (`// …`) and
/// whitespace are skipped.
pub fn tokenize(source: &str) -> Result<Vec<Token>, ParseError> {
    let mut lexer = Lexer { src: source, bytes: source.as_bytes(), pos: 0, tokens: Vec::new() };
    lexer.run()?;
    Ok(lexer.tokens)
}

struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    tokens: Vec<Token>,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b'$'
}

fn is_ident_continue(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl Lexer<'_> {
    fn peek_at(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.pos + offset).copied()
    }

    fn push(&mut self, kind: TokenKind, start: usize) {
        self.tokens.push(Token { kind, span: Span::new(start, self.pos) });
    }

    fn run(&mut self) -> Result<(), ParseError> {
        while let Some(b) = self.peek_at(0) {
            let start = self.pos;
            match b {
                b' ' | b'\t' | b'\r' | b'\n' | 0x0c => self.pos += 1,
                b'/' if self.peek_at(1) == Some(b'/') => {
                    while let Some(c) = self.peek_at(0) {
                        if c == b'\n' {
                            break;
                        }
                        self.pos += 1;
                    }
                }
                b'"' | b'\'' => {
                    let value = self.quoted_string(b)?;
                    self.push(TokenKind::String(value), start);
                }
                b'@' if matches!(self.peek_at(1), Some(b'"' | b'\'')) => {
                    self.pos += 1;
                    let value = self.verbatim_string()?;
                    self.push(TokenKind::String(value), start);
                }
                b'`' if self.src[self.pos..].starts_with("```") => {
                    let value = self.multiline_string()?;
                    self.push(TokenKind::String(value), start);
                }
                b'h' | b'H' if matches!(self.peek_at(1), Some(b'"' | b'\'')) => {
                    // h"…": an obfuscated string (hidden from logs); its value is the string.
                    self.pos += 1;
                    let quote = self.bytes[self.pos];
                    let value = self.quoted_string(quote)?;
                    self.push(TokenKind::String(value), start);
                }
                b'h' | b'H'
                    if self.peek_at(1) == Some(b'@') && matches!(self.peek_at(2), Some(b'"' | b'\'')) =>
                {
                    self.pos += 2;
                    let value = self.verbatim_string()?;
                    self.push(TokenKind::String(value), start);
                }
                b'0'..=b'9' => self.number()?,
                b'.' if matches!(self.peek_at(1), Some(b'0'..=b'9'))
                    && !matches!(self.tokens.last(), Some(t) if t.span.end == start && matches!(t.kind, TokenKind::Ident(_) | TokenKind::RParen | TokenKind::RBracket)) =>
                {
                    self.number()?
                }
                _ if is_ident_start(b) => self.ident()?,
                _ => self.punct(b)?,
            }
        }
        let end = self.src.len();
        self.tokens.push(Token { kind: TokenKind::Eof, span: Span::new(end, end) });
        Ok(())
    }

    fn punct(&mut self, b: u8) -> Result<(), ParseError> {
        let start = self.pos;
        let two = self.peek_at(1);
        let (kind, len) = match (b, two) {
            (b'=', Some(b'=')) => (TokenKind::EqEq, 2),
            (b'=', Some(b'~')) => (TokenKind::EqTilde, 2),
            (b'=', _) => (TokenKind::Assign, 1),
            (b'!', Some(b'=')) => (TokenKind::NotEq, 2),
            (b'!', Some(b'~')) => (TokenKind::BangTilde, 2),
            (b'!', _) => (TokenKind::Bang, 1),
            (b'<', Some(b'=')) => (TokenKind::LtEq, 2),
            (b'<', Some(b'>')) => (TokenKind::NotEq, 2),
            (b'<', _) => (TokenKind::Lt, 1),
            (b'>', Some(b'=')) => (TokenKind::GtEq, 2),
            (b'>', _) => (TokenKind::Gt, 1),
            (b'.', Some(b'.')) => (TokenKind::DotDot, 2),
            (b'.', _) => (TokenKind::Dot, 1),
            (b'|', _) => (TokenKind::Pipe, 1),
            (b',', _) => (TokenKind::Comma, 1),
            (b';', _) => (TokenKind::Semi, 1),
            (b'(', _) => (TokenKind::LParen, 1),
            (b')', _) => (TokenKind::RParen, 1),
            (b'[', _) => (TokenKind::LBracket, 1),
            (b']', _) => (TokenKind::RBracket, 1),
            (b'{', _) => (TokenKind::LBrace, 1),
            (b'}', _) => (TokenKind::RBrace, 1),
            (b':', _) => (TokenKind::Colon, 1),
            (b'+', _) => (TokenKind::Plus, 1),
            (b'-', _) => (TokenKind::Minus, 1),
            (b'*', _) => (TokenKind::Star, 1),
            (b'/', _) => (TokenKind::Slash, 1),
            (b'%', _) => (TokenKind::Percent, 1),
            (b'~', _) => (TokenKind::Tilde, 1),
            _ => {
                let ch = self.src[start..].chars().next().unwrap_or('?');
                // Queries pasted from web pages carry non-breaking and other Unicode spaces,
                // and files saved on Windows a byte-order mark: both are only whitespace.
                if ch.is_whitespace() || ch == '\u{feff}' {
                    self.pos += ch.len_utf8();
                    return Ok(());
                }
                let span = Span::new(start, start + ch.len_utf8());
                let err = ParseError::syntax(format!("unexpected character `{ch}`"), span);
                return Err(match ch {
                    '\u{2018}' | '\u{2019}' | '\u{201c}' | '\u{201d}' => {
                        err.with_help("typographic quotes are not KQL quotes: use \" or '")
                    }
                    _ => err,
                });
            }
        };
        self.pos += len;
        self.push(kind, start);
        Ok(())
    }

    fn ident(&mut self) -> Result<(), ParseError> {
        let start = self.pos;
        self.pos += 1;
        while matches!(self.peek_at(0), Some(b) if is_ident_continue(b)) {
            self.pos += 1;
        }
        let name = &self.src[start..self.pos];
        if name == "$" {
            return Err(ParseError::syntax(
                "`$` must be followed by a name, as in `$left.col`",
                Span::new(start, self.pos),
            ));
        }
        if RAW_LITERAL_TYPES.contains(&name) {
            // Only a literal if `(` follows (spaces allowed); otherwise a plain name.
            let mut look = self.pos;
            while matches!(self.bytes.get(look), Some(b' ' | b'\t' | b'\r' | b'\n')) {
                look += 1;
            }
            if self.bytes.get(look) == Some(&b'(') {
                let raw_start = look + 1;
                let raw_end = self.raw_literal_end(raw_start, Span::new(start, look + 1))?;
                self.pos = raw_end + 1;
                let ty = name.to_string();
                let raw = self.src[raw_start..raw_end].to_string();
                self.push(
                    TokenKind::TypedLiteral { ty, raw, raw_span: Span::new(raw_start, raw_end) },
                    start,
                );
                return Ok(());
            }
        }
        let name = name.to_string();
        self.push(TokenKind::Ident(name), start);
        Ok(())
    }

    /// The offset of the `)` closing a raw literal, skipping quoted text.
    fn raw_literal_end(&self, from: usize, open: Span) -> Result<usize, ParseError> {
        let mut i = from;
        let mut quote: Option<u8> = None;
        while let Some(&b) = self.bytes.get(i) {
            match quote {
                Some(_) if b == b'\\' => i += 1,
                Some(q) if b == q => quote = None,
                Some(_) => {}
                None if b == b'"' || b == b'\'' => quote = Some(b),
                None if b == b')' => return Ok(i),
                None if b == b'\n' || b == b'|' || b == b'(' => break,
                None => {}
            }
            i += 1;
        }
        Err(ParseError::syntax("this literal has no closing `)`", open))
    }

    fn quoted_string(&mut self, quote: u8) -> Result<String, ParseError> {
        let open = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(b) = self.peek_at(0) else {
                return Err(ParseError::syntax("string is not closed", Span::new(open, self.pos))
                    .with_help(format!("add the closing {}", quote as char)));
            };
            match b {
                b'\n' => {
                    return Err(ParseError::syntax(
                        "string is not closed before the end of the line",
                        Span::new(open, self.pos),
                    )
                    .with_help(format!(
                        "add the closing {}; a string spanning lines is written ```…```",
                        quote as char
                    )));
                }
                _ if b == quote => {
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' => {
                    let esc_start = self.pos;
                    self.pos += 1;
                    let Some(e) = self.peek_at(0) else { continue };
                    self.pos += 1;
                    match e {
                        b'n' => out.push('\n'),
                        b't' => out.push('\t'),
                        b'r' => out.push('\r'),
                        b'0' => out.push('\0'),
                        b'\\' => out.push('\\'),
                        b'"' => out.push('"'),
                        b'\'' => out.push('\''),
                        b'u' => {
                            let hex = self.src.get(self.pos..self.pos + 4).unwrap_or("");
                            let ch = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32);
                            match ch {
                                Some(c) if hex.len() == 4 => {
                                    out.push(c);
                                    self.pos += 4;
                                }
                                _ => {
                                    return Err(ParseError::syntax(
                                        "`\\u` must be followed by four hex digits",
                                        Span::new(esc_start, self.pos),
                                    ));
                                }
                            }
                        }
                        _ => {
                            let ch = self.src[esc_start + 1..].chars().next().unwrap_or('?');
                            self.pos = esc_start + 1 + ch.len_utf8();
                            return Err(ParseError::syntax(
                                format!("unknown escape `\\{ch}` in string"),
                                Span::new(esc_start, self.pos),
                            )
                            .with_help(
                                "write `\\\\` for a backslash, or use a verbatim string @\"…\" where \\ is literal",
                            ));
                        }
                    }
                }
                _ => {
                    let ch = self.src[self.pos..].chars().next().unwrap_or('?');
                    out.push(ch);
                    self.pos += ch.len_utf8();
                }
            }
        }
    }

    /// `@"…"`: backslashes are literal; a doubled quote stands for one quote.
    fn verbatim_string(&mut self) -> Result<String, ParseError> {
        let quote = self.bytes[self.pos];
        let open = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(b) = self.peek_at(0) else {
                return Err(ParseError::syntax("string is not closed", Span::new(open, self.pos)));
            };
            if b == b'\n' {
                return Err(ParseError::syntax(
                    "string is not closed before the end of the line",
                    Span::new(open, self.pos),
                ));
            }
            if b == quote {
                if self.peek_at(1) == Some(quote) {
                    out.push(quote as char);
                    self.pos += 2;
                    continue;
                }
                self.pos += 1;
                return Ok(out);
            }
            let ch = self.src[self.pos..].chars().next().unwrap_or('?');
            out.push(ch);
            self.pos += ch.len_utf8();
        }
    }

    /// ```` ```…``` ````: a multi-line verbatim string.
    fn multiline_string(&mut self) -> Result<String, ParseError> {
        let open = self.pos;
        self.pos += 3;
        match self.src[self.pos..].find("```") {
            Some(len) => {
                let value = self.src[self.pos..self.pos + len].to_string();
                self.pos += len + 3;
                Ok(value)
            }
            None => {
                Err(ParseError::syntax("multi-line string is not closed with ```", Span::new(open, open + 3)))
            }
        }
    }

    fn number(&mut self) -> Result<(), ParseError> {
        let start = self.pos;
        if self.peek_at(0) == Some(b'0') && matches!(self.peek_at(1), Some(b'x' | b'X')) {
            self.pos += 2;
            let digits_start = self.pos;
            while matches!(self.peek_at(0), Some(b) if b.is_ascii_hexdigit()) {
                self.pos += 1;
            }
            let digits = &self.src[digits_start..self.pos];
            let value = i64::from_str_radix(digits, 16).map_err(|_| {
                ParseError::new(
                    ParseErrorKind::InvalidLiteral,
                    "invalid hexadecimal number",
                    Span::new(start, self.pos),
                )
            })?;
            self.push(TokenKind::Long(value), start);
            return Ok(());
        }
        while matches!(self.peek_at(0), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        let mut is_real = false;
        // `1..5` is a range, not the real `1.` followed by `.5`.
        if self.peek_at(0) == Some(b'.') && self.peek_at(1) != Some(b'.') {
            is_real = true;
            self.pos += 1;
            while matches!(self.peek_at(0), Some(b'0'..=b'9')) {
                self.pos += 1;
            }
        }
        let mantissa_end = self.pos;
        if matches!(self.peek_at(0), Some(b'e' | b'E')) {
            let mut look = 1;
            if matches!(self.peek_at(1), Some(b'+' | b'-')) {
                look = 2;
            }
            if matches!(self.peek_at(look), Some(b'0'..=b'9')) {
                is_real = true;
                self.pos += look;
                while matches!(self.peek_at(0), Some(b'0'..=b'9')) {
                    self.pos += 1;
                }
            }
        }
        let number = &self.src[start..self.pos];
        // A unit glued to the number makes a timespan: 5m, 1.5h, 100ms.
        if matches!(self.peek_at(0), Some(b) if b.is_ascii_alphabetic()) {
            let unit_start = self.pos;
            while matches!(self.peek_at(0), Some(b) if is_ident_continue(b)) {
                self.pos += 1;
            }
            let unit = &self.src[unit_start..self.pos];
            let span = Span::new(start, self.pos);
            let Some(unit_nanos) = timespan_unit_nanos(unit) else {
                return Err(ParseError::new(
                    ParseErrorKind::InvalidLiteral,
                    format!("`{unit}` is not a timespan unit"),
                    span,
                )
                .with_help("timespan units are d, h, m, s, ms, microsecond and tick, as in 5m or 100ms"));
            };
            if mantissa_end != self.pos - unit.len() {
                return Err(ParseError::new(
                    ParseErrorKind::InvalidLiteral,
                    "a timespan cannot have an exponent",
                    span,
                ));
            }
            let value = scale_decimal(&self.src[start..mantissa_end], unit_nanos).ok_or_else(|| {
                ParseError::new(ParseErrorKind::InvalidLiteral, "timespan is too large", span)
            })?;
            self.push(TokenKind::Timespan(value), start);
            return Ok(());
        }
        let span = Span::new(start, self.pos);
        if is_real {
            let value: f64 = number
                .parse()
                .map_err(|_| ParseError::new(ParseErrorKind::InvalidLiteral, "invalid number", span))?;
            if !value.is_finite() {
                return Err(ParseError::new(
                    ParseErrorKind::InvalidLiteral,
                    "real literal is too large",
                    span,
                )
                .with_help("write real(+inf) for infinity"));
            }
            self.push(TokenKind::Real(value), start);
        } else {
            let value: i64 = number.parse().map_err(|_| {
                ParseError::new(
                    ParseErrorKind::InvalidLiteral,
                    "integer literal is too large for a long",
                    span,
                )
                .with_help("write it as a real, e.g. 1e20")
            })?;
            self.push(TokenKind::Long(value), start);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokenKind> {
        tokenize(src).expect("tokenizes").into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn strings_of_every_kind() {
        assert_eq!(
            kinds(r#""a\"b" 'c\\d' @"e\f" @'g''h' h"i" h@'j\'"#),
            vec![
                TokenKind::String("a\"b".into()),
                TokenKind::String("c\\d".into()),
                TokenKind::String("e\\f".into()),
                TokenKind::String("g'h".into()),
                TokenKind::String("i".into()),
                TokenKind::String("j\\".into()),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn numbers_and_timespans() {
        assert_eq!(
            kinds("10 1.5 1e3 5m 1.5h 100ms 1d 0x1F"),
            vec![
                TokenKind::Long(10),
                TokenKind::Real(1.5),
                TokenKind::Real(1000.0),
                TokenKind::Timespan(300_000_000_000),
                TokenKind::Timespan(5_400_000_000_000),
                TokenKind::Timespan(100_000_000),
                TokenKind::Timespan(86_400_000_000_000),
                TokenKind::Long(31),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn range_dots_are_not_a_decimal_point() {
        assert_eq!(
            kinds("(1..5)"),
            vec![
                TokenKind::LParen,
                TokenKind::Long(1),
                TokenKind::DotDot,
                TokenKind::Long(5),
                TokenKind::RParen,
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn typed_literal_keeps_raw_text() {
        let toks = tokenize("datetime(2022-05-19T09:32:52Z)").expect("tokenizes");
        assert_eq!(
            toks[0].kind,
            TokenKind::TypedLiteral {
                ty: "datetime".into(),
                raw: "2022-05-19T09:32:52Z".into(),
                raw_span: Span::new(9, 29)
            }
        );
        assert_eq!(toks[0].span, Span::new(0, 30));
    }

    #[test]
    fn comments_are_skipped() {
        assert_eq!(
            kinds("a // b | c\n| d"),
            vec![TokenKind::Ident("a".into()), TokenKind::Pipe, TokenKind::Ident("d".into()), TokenKind::Eof]
        );
    }

    #[test]
    fn unicode_spaces_and_byte_order_mark_are_whitespace() {
        assert_eq!(
            kinds("\u{feff}T\u{a0}|\u{2009}count"),
            vec![
                TokenKind::Ident("T".into()),
                TokenKind::Pipe,
                TokenKind::Ident("count".into()),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn real_overflow_is_an_error() {
        let err = tokenize("1e999").expect_err("infinite");
        assert_eq!(err.kind, ParseErrorKind::InvalidLiteral);
        assert_eq!(err.span, Span::new(0, 5));
    }

    #[test]
    fn bad_unit_is_an_error() {
        let err = tokenize("5x").expect_err("5x is not a timespan");
        assert_eq!(err.span, Span::new(0, 2));
    }

    #[test]
    fn unclosed_string_is_an_error() {
        let err = tokenize("where a == \"abc").expect_err("unclosed");
        assert_eq!(err.span.start, 11);
    }
}
