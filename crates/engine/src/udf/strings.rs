//! String operators and functions with Kusto's semantics: `has` is a whole-term match and,
//! like `contains`, `startswith`, `endswith` and `=~`, ignores case; indexes are 0-based and
//! count characters.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanBuilder, Int64Builder, ListBuilder, StringBuilder};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::ColumnarValue;
use regex::{Regex, RegexBuilder};

use super::{StrCol, arg_array, finish, rows_for, scalar_str, str_at};

/// Per-needle matcher, built once when the needle is a constant.
trait Matcher: Sized {
    fn build(needle: &str) -> Result<Self>;
    fn test(&self, hay: &str) -> bool;
}

/// Evaluates a `hay OP needle` predicate; a null haystack reads as "" (Kusto strings are never null).
fn predicate<M: Matcher>(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    if args.len() != 2 {
        return exec_err!("string operator needs two operands");
    }
    let n = rows_for(args, rows);
    let hay = arg_array(&args[0], n)?;
    let mut out = BooleanBuilder::with_capacity(n);
    if let Some(needle) = scalar_str(&args[1]) {
        let m = M::build(needle)?;
        let hay = StrCol::new(&hay);
        for i in 0..n {
            out.append_value(m.test(hay.get(i).unwrap_or("")));
        }
    } else {
        let needles = arg_array(&args[1], n)?;
        for i in 0..n {
            let m = M::build(str_at(&needles, i).unwrap_or(""))?;
            out.append_value(m.test(str_at(&hay, i).unwrap_or("")));
        }
    }
    finish(Arc::new(out.finish()), args)
}

/// `hay OP any of needles…` (needles are the 2nd.. arguments, usually constants).
fn predicate_any<M: Matcher>(args: &[ColumnarValue], rows: usize, all: bool) -> Result<ColumnarValue> {
    let Some((first, rest)) = args.split_first() else {
        return exec_err!("string operator needs operands");
    };
    let n = rows_for(args, rows);
    let hay = arg_array(first, n)?;
    let mut consts = Vec::new();
    let mut arrays = Vec::new();
    for a in rest {
        match a {
            // The terms of a tabular expression, gathered into one list.
            ColumnarValue::Scalar(ScalarValue::List(l)) => {
                if l.len() == 1 && !l.is_null(0) {
                    let terms = l.value(0);
                    for i in 0..terms.len() {
                        if let Some(s) = str_at(&terms, i) {
                            consts.push(M::build(s)?);
                        }
                    }
                }
            }
            _ => match scalar_str(a) {
                Some(s) => consts.push(M::build(s)?),
                None => arrays.push(arg_array(a, n)?),
            },
        }
    }
    let mut out = BooleanBuilder::with_capacity(n);
    for i in 0..n {
        let h = str_at(&hay, i).unwrap_or("");
        let mut results = consts.iter().map(|m| m.test(h)).collect::<Vec<_>>();
        for a in &arrays {
            if let Some(s) = str_at(a, i) {
                results.push(M::build(s)?.test(h));
            }
        }
        let v =
            if all { !results.is_empty() && results.iter().all(|b| *b) } else { results.iter().any(|b| *b) };
        out.append_value(v);
    }
    finish(Arc::new(out.finish()), args)
}

fn ci_literal(needle: &str) -> Result<Regex> {
    cached_regex(&regex::escape(needle), true)
        .map_err(|e| datafusion::error::DataFusionError::Execution(e.to_string()))
}

/// Compiled regexes by pattern and case-insensitivity: a query's functions run once per
/// batch, and compiling their constant pattern each time took a fortieth of `diagnose`.
/// Cleared when it reaches [`REGEX_CACHE_SIZE`] patterns, so no input can grow it unbounded.
static REGEX_CACHE: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<(String, bool), Regex>>> =
    std::sync::LazyLock::new(Default::default);

/// Patterns [`REGEX_CACHE`] holds at most.
const REGEX_CACHE_SIZE: usize = 256;

/// `pattern` compiled (case-insensitively when `ci`), from [`REGEX_CACHE`] when it is there.
fn cached_regex(pattern: &str, ci: bool) -> std::result::Result<Regex, regex::Error> {
    let key = (pattern.to_owned(), ci);
    // A poisoned lock only means another thread panicked mid-insert: the map is still whole.
    if let Some(re) = REGEX_CACHE.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(re.clone());
    }
    let re = RegexBuilder::new(pattern).case_insensitive(ci).build()?;
    let mut cache = REGEX_CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() >= REGEX_CACHE_SIZE {
        cache.clear();
    }
    cache.insert(key, re.clone());
    Ok(re)
}

fn is_term_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// Whole-term match: the needle's alphanumeric edges must sit at term boundaries.
struct Term {
    re: Regex,
    check_start: bool,
    check_end: bool,
    empty: bool,
}

impl Term {
    fn with_edges(needle: &str, start: bool, end: bool, cs: bool) -> Result<Term> {
        let re = cached_regex(&regex::escape(needle), !cs)
            .map_err(|e| datafusion::error::DataFusionError::Execution(e.to_string()))?;
        Ok(Term {
            re,
            check_start: start && needle.chars().next().is_some_and(is_term_char),
            check_end: end && needle.chars().next_back().is_some_and(is_term_char),
            empty: needle.is_empty(),
        })
    }

    fn find(&self, hay: &str) -> bool {
        if self.empty {
            return true;
        }
        let mut from = 0;
        while from <= hay.len() {
            let Some(m) = self.re.find_at(hay, from) else { return false };
            let start_ok =
                !self.check_start || !hay[..m.start()].chars().next_back().is_some_and(is_term_char);
            let end_ok = !self.check_end || !hay[m.end()..].chars().next().is_some_and(is_term_char);
            if start_ok && end_ok {
                return true;
            }
            // Try the next occurrence, which may overlap this one.
            let step = hay[m.start()..].chars().next().map_or(1, char::len_utf8);
            from = m.start() + step;
        }
        false
    }
}

struct Has(Term);
impl Matcher for Has {
    fn build(needle: &str) -> Result<Self> {
        Term::with_edges(needle, true, true, false).map(Has)
    }
    fn test(&self, hay: &str) -> bool {
        self.0.find(hay)
    }
}

struct HasCs(Term);
impl Matcher for HasCs {
    fn build(needle: &str) -> Result<Self> {
        Term::with_edges(needle, true, true, true).map(HasCs)
    }
    fn test(&self, hay: &str) -> bool {
        self.0.find(hay)
    }
}

struct HasPrefix(Term);
impl Matcher for HasPrefix {
    fn build(needle: &str) -> Result<Self> {
        Term::with_edges(needle, true, false, false).map(HasPrefix)
    }
    fn test(&self, hay: &str) -> bool {
        self.0.find(hay)
    }
}

struct HasSuffix(Term);
impl Matcher for HasSuffix {
    fn build(needle: &str) -> Result<Self> {
        Term::with_edges(needle, false, true, false).map(HasSuffix)
    }
    fn test(&self, hay: &str) -> bool {
        self.0.find(hay)
    }
}

struct HasPrefixCs(Term);
impl Matcher for HasPrefixCs {
    fn build(needle: &str) -> Result<Self> {
        Term::with_edges(needle, true, false, true).map(HasPrefixCs)
    }
    fn test(&self, hay: &str) -> bool {
        self.0.find(hay)
    }
}

struct HasSuffixCs(Term);
impl Matcher for HasSuffixCs {
    fn build(needle: &str) -> Result<Self> {
        Term::with_edges(needle, false, true, true).map(HasSuffixCs)
    }
    fn test(&self, hay: &str) -> bool {
        self.0.find(hay)
    }
}

struct Contains(Option<Regex>, String);
impl Matcher for Contains {
    fn build(needle: &str) -> Result<Self> {
        if needle.bytes().any(|b| b.is_ascii_alphabetic() || !b.is_ascii()) {
            Ok(Contains(Some(ci_literal(needle)?), String::new()))
        } else {
            // No letters: case does not matter, a plain substring search is faster.
            Ok(Contains(None, needle.to_owned()))
        }
    }
    fn test(&self, hay: &str) -> bool {
        match &self.0 {
            Some(re) => re.is_match(hay),
            None => hay.contains(self.1.as_str()),
        }
    }
}

struct ContainsCs(String);
impl Matcher for ContainsCs {
    fn build(needle: &str) -> Result<Self> {
        Ok(ContainsCs(needle.to_owned()))
    }
    fn test(&self, hay: &str) -> bool {
        hay.contains(self.0.as_str())
    }
}

fn eq_ignore_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

struct StartsWith(String);
impl Matcher for StartsWith {
    fn build(needle: &str) -> Result<Self> {
        Ok(StartsWith(needle.to_owned()))
    }
    fn test(&self, hay: &str) -> bool {
        let n = self.0.len();
        if hay.len() >= n && hay.is_char_boundary(n) && eq_ignore_case(&hay[..n], &self.0) {
            return true;
        }
        !hay.is_ascii() && hay.to_lowercase().starts_with(&self.0.to_lowercase())
    }
}

struct EndsWith(String);
impl Matcher for EndsWith {
    fn build(needle: &str) -> Result<Self> {
        Ok(EndsWith(needle.to_owned()))
    }
    fn test(&self, hay: &str) -> bool {
        let n = self.0.len();
        if hay.len() >= n
            && hay.is_char_boundary(hay.len() - n)
            && eq_ignore_case(&hay[hay.len() - n..], &self.0)
        {
            return true;
        }
        !hay.is_ascii() && hay.to_lowercase().ends_with(&self.0.to_lowercase())
    }
}

struct StartsWithCs(String);
impl Matcher for StartsWithCs {
    fn build(needle: &str) -> Result<Self> {
        Ok(StartsWithCs(needle.to_owned()))
    }
    fn test(&self, hay: &str) -> bool {
        hay.starts_with(self.0.as_str())
    }
}

struct EndsWithCs(String);
impl Matcher for EndsWithCs {
    fn build(needle: &str) -> Result<Self> {
        Ok(EndsWithCs(needle.to_owned()))
    }
    fn test(&self, hay: &str) -> bool {
        hay.ends_with(self.0.as_str())
    }
}

struct EqCi(String);
impl Matcher for EqCi {
    fn build(needle: &str) -> Result<Self> {
        Ok(EqCi(needle.to_owned()))
    }
    fn test(&self, hay: &str) -> bool {
        eq_ignore_case(hay, &self.0)
    }
}

struct MatchesRegex(Regex);
impl Matcher for MatchesRegex {
    fn build(needle: &str) -> Result<Self> {
        cached_regex(needle, false).map(MatchesRegex).map_err(|e| {
            datafusion::error::DataFusionError::Execution(format!("invalid regex {needle:?}: {e}"))
        })
    }
    fn test(&self, hay: &str) -> bool {
        self.0.is_match(hay)
    }
}

/// `hay has needle`.
pub fn has(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    predicate::<Has>(args, rows)
}
/// `hay has_cs needle`.
pub fn has_cs(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    predicate::<HasCs>(args, rows)
}
/// `hay has_any (n1, n2, …)`.
pub fn has_any(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    predicate_any::<Has>(args, rows, false)
}
/// `hay has_all (n1, n2, …)`.
pub fn has_all(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    predicate_any::<Has>(args, rows, true)
}
/// `hay hasprefix needle`.
pub fn hasprefix(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    predicate::<HasPrefix>(args, rows)
}
/// `hay hassuffix needle`.
pub fn hassuffix(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    predicate::<HasSuffix>(args, rows)
}
/// `hay hasprefix_cs needle`: as `hasprefix`, case-sensitive.
pub fn hasprefix_cs(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    predicate::<HasPrefixCs>(args, rows)
}
/// `hay hassuffix_cs needle`: as `hassuffix`, case-sensitive.
pub fn hassuffix_cs(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    predicate::<HasSuffixCs>(args, rows)
}
/// `hay contains needle` (case-insensitive).
pub fn contains(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    predicate::<Contains>(args, rows)
}
/// `hay contains_cs needle`.
pub fn contains_cs(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    predicate::<ContainsCs>(args, rows)
}
/// `hay startswith needle` (case-insensitive).
pub fn startswith(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    predicate::<StartsWith>(args, rows)
}
/// `hay startswith_cs needle`.
pub fn startswith_cs(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    if let (Some(ColumnarValue::Array(a)), Some(needle)) = (args.first(), args.get(1).and_then(scalar_str))
        && let Some(views) = a.as_string_view_opt()
    {
        return Ok(ColumnarValue::Array(Arc::new(super::compare::views_start_with(views, needle))));
    }
    predicate::<StartsWithCs>(args, rows)
}

/// `hay endswith needle` (case-insensitive).
pub fn endswith(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    predicate::<EndsWith>(args, rows)
}
/// `hay endswith_cs needle`.
pub fn endswith_cs(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    predicate::<EndsWithCs>(args, rows)
}
/// `a =~ b`.
pub fn eq_ci(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    predicate::<EqCi>(args, rows)
}
/// `a in~ (b, c, …)`.
pub fn in_ci(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    predicate_any::<EqCi>(args, rows, false)
}
/// `a matches regex re`.
pub fn matches_regex(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    predicate::<MatchesRegex>(args, rows)
}

/// Applies `f` to every row of Utf8 argument 0, producing strings.
pub(super) fn map_strings(
    args: &[ColumnarValue],
    rows: usize,
    mut f: impl FnMut(&str, usize) -> Option<String>,
) -> Result<ColumnarValue> {
    let n = rows_for(args, rows);
    let a = arg_array(&args[0], n)?;
    let a = StrCol::new(&a);
    let mut out = StringBuilder::with_capacity(n, n * 8);
    for i in 0..n {
        let s = a.get(i).unwrap_or("");
        match f(s, i) {
            Some(v) => out.append_value(v),
            None => out.append_null(),
        }
    }
    finish(Arc::new(out.finish()), args)
}

/// As [`map_strings`] for a pure function of the text, remembering each distinct text's result
/// within the batch: a column such as `UserAgent` holds a few hundred distinct values in
/// millions of rows, and a regex match costs far more than a hash lookup. Up to `MEMO_MAX`
/// distinct texts are remembered; the rest are computed each time.
fn map_strings_memo(
    args: &[ColumnarValue],
    rows: usize,
    mut f: impl FnMut(&str) -> Option<String>,
) -> Result<ColumnarValue> {
    const MEMO_MAX: usize = 4096;
    let n = rows_for(args, rows);
    let a = arg_array(&args[0], n)?;
    let a = StrCol::new(&a);
    let mut out = StringBuilder::with_capacity(n, n * 8);
    let mut memo: datafusion::common::HashMap<&str, Option<String>> = datafusion::common::HashMap::new();
    for i in 0..n {
        let s = a.get(i).unwrap_or("");
        let computed;
        let v = match memo.get(s) {
            Some(v) => v,
            None => {
                computed = f(s);
                if memo.len() < MEMO_MAX { memo.entry(s).or_insert(computed) } else { &computed }
            }
        };
        match v {
            Some(v) => out.append_value(v),
            None => out.append_null(),
        }
    }
    finish(Arc::new(out.finish()), args)
}

fn int_arg(args: &[ColumnarValue], idx: usize, n: usize) -> Result<Option<ArrayRef>> {
    match args.get(idx) {
        Some(a) => Ok(Some(arg_array(a, n)?)),
        None => Ok(None),
    }
}

fn int_at(a: &Option<ArrayRef>, i: usize) -> Option<i64> {
    let a = a.as_ref()?;
    if a.is_null(i) {
        return None;
    }
    use arrow::array::AsArray;
    use arrow::datatypes::{Int32Type, Int64Type};
    match a.data_type() {
        arrow::datatypes::DataType::Int64 => Some(a.as_primitive::<Int64Type>().value(i)),
        arrow::datatypes::DataType::Int32 => Some(i64::from(a.as_primitive::<Int32Type>().value(i))),
        _ => None,
    }
}

/// `substring(s, start [, length])`: 0-based, in characters; a negative start counts from the end.
pub fn substring(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let n = rows_for(args, rows);
    let starts = int_arg(args, 1, n)?;
    let lens = int_arg(args, 2, n)?;
    map_strings(args, rows, |s, i| {
        let count = s.chars().count() as i64;
        let mut start = int_at(&starts, i).unwrap_or(0);
        if start < 0 {
            start = (count + start).max(0);
        }
        if start >= count {
            return Some(String::new());
        }
        let len = match (lens.is_some(), int_at(&lens, i)) {
            (true, Some(l)) if l < 0 => return Some(String::new()),
            (true, Some(l)) => l,
            _ => count - start,
        };
        Some(s.chars().skip(start as usize).take(len.max(0) as usize).collect())
    })
}

fn compile(pattern: &str) -> Result<Regex> {
    cached_regex(pattern, false)
        .map_err(|e| datafusion::error::DataFusionError::Execution(format!("invalid regex {pattern:?}: {e}")))
}

/// `extract(regex, group, text)` with the text first: `kql_extract(text, regex, group)`.
pub fn extract(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let Some(pattern) = args.get(1).and_then(scalar_str) else {
        return exec_err!("extract() needs a constant regex");
    };
    let re = compile(pattern)?;
    let group = args.get(2).and_then(super::scalar_i64).unwrap_or(0).max(0) as usize;
    // One set of capture slots for every row, not a `Captures` allocated per row.
    let mut slots = re.capture_locations();
    map_strings_memo(args, rows, |s| {
        let found = re.captures_read(&mut slots, s).and_then(|_| slots.get(group));
        Some(found.and_then(|(from, to)| s.get(from..to)).unwrap_or_default().to_owned())
    })
}

/// `extractall(regex, text)` as `kql_extractall(text, regex)`: a JSON array of the captures.
pub fn extractall(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let Some(pattern) = args.get(1).and_then(scalar_str) else {
        return exec_err!("extractall() needs a constant regex");
    };
    let re = compile(pattern)?;
    let groups = re.captures_len() - 1;
    // `extract_all(regex, dynamic([g, …]), text)`: the groups to pick, as "g,g,…".
    let picks: Option<Vec<usize>> = args
        .get(2)
        .and_then(scalar_str)
        .map(|list| list.split(',').filter_map(|g| g.trim().parse().ok()).collect());
    map_strings(args, rows, |s, _| {
        let mut items = Vec::new();
        for c in re.captures_iter(s) {
            let text =
                |g: usize| serde_json::Value::String(c.get(g).map(|m| m.as_str()).unwrap_or("").to_owned());
            if let Some(picks) = &picks {
                items.push(match picks.as_slice() {
                    [one] => text(*one),
                    many => serde_json::Value::Array(many.iter().map(|g| text(*g)).collect()),
                });
            } else if groups <= 1 {
                let m = c.get(if groups == 1 { 1 } else { 0 }).map(|m| m.as_str()).unwrap_or("");
                items.push(serde_json::Value::String(m.to_owned()));
            } else {
                let row = (1..=groups)
                    .map(|g| serde_json::Value::String(c.get(g).map(|m| m.as_str()).unwrap_or("").to_owned()))
                    .collect();
                items.push(serde_json::Value::Array(row));
            }
        }
        if items.is_empty() { None } else { Some(serde_json::Value::Array(items).to_string()) }
    })
}

/// Converts Kusto's `\1` group references in a rewrite to the regex crate's `${1}`.
fn rewrite_template(rewrite: &str) -> String {
    let mut out = String::with_capacity(rewrite.len());
    let mut chars = rewrite.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek().is_some_and(|d| d.is_ascii_digit()) => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                out.push_str(&format!("${{{digits}}}"));
            }
            '$' => out.push_str("$$"),
            _ => out.push(c),
        }
    }
    out
}

/// `replace_regex(text, regex, rewrite)`.
pub fn replace_regex(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let (Some(pattern), Some(rewrite)) = (args.get(1).and_then(scalar_str), args.get(2).and_then(scalar_str))
    else {
        return exec_err!("replace_regex() needs a constant regex and rewrite");
    };
    let re = compile(pattern)?;
    let template = rewrite_template(rewrite);
    map_strings(args, rows, |s, _| Some(re.replace_all(s, template.as_str()).into_owned()))
}

/// `replace_string(text, lookup, rewrite)`.
pub fn replace_string(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let (Some(lookup), Some(rewrite)) = (args.get(1).and_then(scalar_str), args.get(2).and_then(scalar_str))
    else {
        return exec_err!("replace_string() needs constant lookup and rewrite strings");
    };
    if lookup.is_empty() {
        return map_strings(args, rows, |s, _| Some(s.to_owned()));
    }
    map_strings(args, rows, |s, _| Some(s.replace(lookup, rewrite)))
}

/// `split(text, delimiter [, index])`: a JSON array of strings.
pub fn split(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let n = rows_for(args, rows);
    let delims = arg_array(&args[1], n)?;
    let index = args.get(2).and_then(super::scalar_i64);
    map_strings(args, rows, |s, i| {
        let d = str_at(&delims, i).unwrap_or("");
        let parts: Vec<&str> = if d.is_empty() { vec![s] } else { s.split(d).collect() };
        let parts: Vec<serde_json::Value> = match index {
            Some(ix) => {
                let ix = if ix < 0 { parts.len() as i64 + ix } else { ix };
                match usize::try_from(ix).ok().and_then(|ix| parts.get(ix)) {
                    Some(p) => vec![serde_json::Value::String((*p).to_owned())],
                    None => vec![],
                }
            }
            None => parts.into_iter().map(|p| serde_json::Value::String(p.to_owned())).collect(),
        };
        Some(serde_json::Value::Array(parts).to_string())
    })
}

/// `url_decode(text)`: `%XX` escapes decoded; invalid UTF-8 is replaced, never an error.
pub fn url_decode(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    map_strings(args, rows, |s, _| {
        Some(percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned())
    })
}

/// JSON text with `&`, `<`, `>`, U+2028 and U+2029 written as `\u0026`, `\u003c`, `\u003e`,
/// `\u2028` and `\u2029`, as Go's `encoding/json` writes them: the kube-apiserver's audit
/// lines (and so Azure's `log_s`) hold them so. In JSON text these characters occur only
/// inside strings, where the escape means the same character.
pub fn go_escape_json(text: &str) -> std::borrow::Cow<'_, str> {
    let special = |c: char| matches!(c, '&' | '<' | '>' | '\u{2028}' | '\u{2029}');
    if !text.contains(special) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("\\u0026"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            other => out.push(other),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// `kql_go_escape_json(json)`: [`go_escape_json`] of each row (null stays null).
pub fn go_escape_json_udf(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let n = rows_for(args, rows);
    let a = arg_array(&args[0], n)?;
    let a = StrCol::new(&a);
    let mut out = StringBuilder::with_capacity(n, n * 64);
    for i in 0..n {
        match a.get(i) {
            Some(text) => out.append_value(go_escape_json(text)),
            None => out.append_null(),
        }
    }
    finish(Arc::new(out.finish()), args)
}

/// `text` percent-encoded as Kusto's `url_encode` (`space` `"+"`) and `url_encode_component`
/// (`space` `"%20"`) encode it: each UTF-8 byte but an ASCII letter, a digit, `-`, `_`, `.`,
/// `!`, `*`, `(` and `)` as `%xx` with lower-case hex.
///
/// The url_encode() and url_encode_component() pages of the Kusto documentation
/// (learn.microsoft.com, `kusto/query/url-encode-function`, `url-encode-component-function`)
/// give `https%3a%2f%2fwww.bing.com%2fhello+world` and `…%2fhello%20world`: lower-case hex,
/// `.` left as is, a space `+` in `url_encode` ("application/x-www-form-urlencoded") and `%20`
/// in the component form. That is the output of .NET's `HttpUtility.UrlEncode`, whose safe set
/// (`HttpEncoderUtility.IsUrlSafeChar`, dotnet/runtime) is the one above: `~` is encoded.
pub fn kusto_url_encode(text: &str, space: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'!' | b'*' | b'(' | b')' => {
                out.push(char::from(b))
            }
            b' ' => out.push_str(space),
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0x0f)]));
            }
        }
    }
    out
}

/// `url_encode(text)`: [`kusto_url_encode`] with a space as `+`.
pub fn url_encode(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    map_strings(args, rows, |s, _| Some(kusto_url_encode(s, "+")))
}

/// `url_encode_component(text)`: [`kusto_url_encode`] with a space as `%20`.
pub fn url_encode_component(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    map_strings(args, rows, |s, _| Some(kusto_url_encode(s, "%20")))
}

/// `kql_countof(text, search, regex)`: `countof(text, search [, kind])`. A plain search counts
/// every match, overlapping ones too (`countof("aaaa", "aa")` is 3); a regex (`regex` true,
/// the search a constant) counts matches that do not overlap. An empty search counts 0.
pub fn countof(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let regex = matches!(args.get(2), Some(ColumnarValue::Scalar(ScalarValue::Boolean(Some(true)))));
    let n = rows_for(args, rows);
    let text = arg_array(&args[0], n)?;
    let text = StrCol::new(&text);
    let mut out = Int64Builder::with_capacity(n);
    if regex {
        let Some(pattern) = args.get(1).and_then(scalar_str) else {
            return exec_err!("countof() needs a constant regex");
        };
        let re = compile(pattern)?;
        for i in 0..n {
            out.append_value(re.find_iter(text.get(i).unwrap_or("")).filter(|m| !m.is_empty()).count() as i64);
        }
    } else {
        let search = arg_array(&args[1], n)?;
        let search = StrCol::new(&search);
        for i in 0..n {
            let (hay, needle) = (text.get(i).unwrap_or(""), search.get(i).unwrap_or(""));
            out.append_value(overlapping_count(hay, needle));
        }
    }
    finish(Arc::new(out.finish()), args)
}

/// How many times `needle` occurs in `hay`, overlapping occurrences included; 0 for "".
fn overlapping_count(hay: &str, needle: &str) -> i64 {
    let Some(first) = needle.chars().next() else { return 0 };
    let mut count = 0;
    let mut from = 0;
    while let Some(at) = hay.get(from..).and_then(|rest| rest.find(needle)) {
        count += 1;
        // The next search starts one character after this match's start.
        from += at + first.len_utf8();
    }
    count
}

/// The most times `strrep()` repeats its value, as Kusto caps it.
pub const STRREP_MAX: i64 = 1024;

/// `kql_strrep(text, times, delimiter)`: `strrep(value, multiplier [, delimiter])`, the text
/// `times` times with the delimiter between; `times` is capped at [`STRREP_MAX`], and below 1
/// gives "".
pub fn strrep(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let n = rows_for(args, rows);
    let text = arg_array(&args[0], n)?;
    let text = StrCol::new(&text);
    let times = arg_array(&args[1], n)?;
    let Some(times) = times.as_primitive_opt::<arrow::datatypes::Int64Type>() else {
        return exec_err!("strrep() needs a whole number of times");
    };
    let delim = arg_array(&args[2], n)?;
    let delim = StrCol::new(&delim);
    let mut out = StringBuilder::with_capacity(n, n * 8);
    for i in 0..n {
        if times.is_null(i) {
            out.append_null();
            continue;
        }
        let k = times.value(i).clamp(0, STRREP_MAX) as usize;
        let parts = vec![text.get(i).unwrap_or(""); k];
        out.append_value(parts.join(delim.get(i).unwrap_or("")));
    }
    finish(Arc::new(out.finish()), args)
}

/// `kql_tohex(value, min_length)`: `tohex(value [, minLength])`, lower-case hexadecimal of an
/// int or long, a negative value in two's complement of its width (`tohex(-546)` is
/// `fffffffffffffdde`), padded with zeros to `min_length`.
pub fn tohex(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    use arrow::datatypes::{Int32Type, Int64Type};
    let n = rows_for(args, rows);
    let v = arg_array(&args[0], n)?;
    let width = arg_array(&args[1], n)?;
    let Some(width) = width.as_primitive_opt::<Int64Type>() else {
        return exec_err!("tohex() needs a whole-number length");
    };
    let digits: Vec<Option<String>> = match v.data_type() {
        arrow::datatypes::DataType::Int64 => {
            v.as_primitive::<Int64Type>().iter().map(|x| x.map(|x| format!("{x:x}"))).collect()
        }
        arrow::datatypes::DataType::Int32 => {
            v.as_primitive::<Int32Type>().iter().map(|x| x.map(|x| format!("{x:x}"))).collect()
        }
        arrow::datatypes::DataType::Null => vec![None; n],
        t => return exec_err!("tohex() of a {t} is not supported"),
    };
    let mut out = StringBuilder::with_capacity(n, n * 8);
    for (i, d) in digits.into_iter().enumerate() {
        match d {
            Some(d) => {
                let w = if width.is_null(i) { 0 } else { width.value(i).clamp(0, 64) as usize };
                out.append_value(format!("{d:0>w$}"));
            }
            None => out.append_null(),
        }
    }
    finish(Arc::new(out.finish()), args)
}

/// `kql_indexof(text, match, start, length, occurrence)`: `indexof()` with its optional
/// arguments, as the indexof() page gives them. Positions count characters; a negative `start`
/// counts from the end; `length` (-1: to the end) bounds the characters examined, which the
/// page's examples show to be `start` through `start + length` (`indexof("abcdefgabcdefg",
/// "cde", 1, 10, 2)` is 9); null when `start` is still negative, `occurrence` is negative or
/// `length` is below -1; -1 when not found.
pub fn indexof(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let n = rows_for(args, rows);
    let text = arg_array(&args[0], n)?;
    let needle = arg_array(&args[1], n)?;
    let (start, length, occurrence) = (int_arg(args, 2, n)?, int_arg(args, 3, n)?, int_arg(args, 4, n)?);
    let mut out = Int64Builder::with_capacity(n);
    for i in 0..n {
        let chars: Vec<char> = str_at(&text, i).unwrap_or("").chars().collect();
        let want: Vec<char> = str_at(&needle, i).unwrap_or("").chars().collect();
        let (st, len, occ) = (
            int_at(&start, i).unwrap_or(0),
            int_at(&length, i).unwrap_or(-1),
            int_at(&occurrence, i).unwrap_or(1),
        );
        let st = if st < 0 { chars.len() as i64 + st } else { st };
        if st < 0 || occ < 0 || len < -1 {
            out.append_null();
            continue;
        }
        let from = (st as usize).min(chars.len());
        let to = if len == -1 { chars.len() } else { from.saturating_add(len as usize + 1).min(chars.len()) };
        let window = &chars[from..to];
        let found = if want.is_empty() {
            (occ <= 1).then_some(from)
        } else if occ == 0 || want.len() > window.len() {
            None
        } else {
            (0..=window.len() - want.len())
                .filter(|&k| window[k..k + want.len()] == want[..])
                .nth(occ as usize - 1)
                .map(|k| from + k)
        };
        out.append_value(found.map_or(-1, |k| k as i64));
    }
    finish(Arc::new(out.finish()), args)
}

/// `strlen(text)`: characters, not bytes.
pub fn strlen(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let n = rows_for(args, rows);
    let a = arg_array(&args[0], n)?;
    let mut out = Int64Builder::with_capacity(n);
    for i in 0..n {
        out.append_value(str_at(&a, i).unwrap_or("").chars().count() as i64);
    }
    finish(Arc::new(out.finish()), args)
}

/// `kql_parse_with(text, regex)`: the capture groups of the first match as a list, null when
/// the text does not match (the `parse` operator's engine).
pub fn parse_with(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let Some(pattern) = args.get(1).and_then(scalar_str) else {
        return exec_err!("parse needs a constant pattern");
    };
    let re = compile(pattern)?;
    let n = rows_for(args, rows);
    let a = arg_array(&args[0], n)?;
    let mut out = ListBuilder::new(StringBuilder::new());
    for i in 0..n {
        let s = str_at(&a, i).unwrap_or("");
        match re.captures(s) {
            Some(c) => {
                for g in 1..c.len() {
                    match c.get(g) {
                        Some(m) => out.values().append_value(m.as_str()),
                        None => out.values().append_null(),
                    }
                }
                out.append(true);
            }
            None => out.append(false),
        }
    }
    finish(Arc::new(out.finish()), args)
}

/// `s`, its nulls read as empty strings: Kusto's strings are never null. The planner wraps every
/// string column in it. When no null slot holds bytes (Arrow's builders and the Parquet reader
/// leave them empty), the result shares the input's buffers instead of copying every string, as
/// `coalesce(s, "")` would.
pub fn empty_if_null(args: &[ColumnarValue], _rows: usize) -> Result<ColumnarValue> {
    use arrow::array::AsArray;
    use datafusion::common::ScalarValue;
    let [arg] = args else { return exec_err!("empty_if_null takes one argument") };
    match arg {
        ColumnarValue::Scalar(s) if s.is_null() => Ok(ColumnarValue::Scalar(match s {
            ScalarValue::LargeUtf8(_) => ScalarValue::LargeUtf8(Some(String::new())),
            ScalarValue::Utf8View(_) => ScalarValue::Utf8View(Some(String::new())),
            _ => ScalarValue::Utf8(Some(String::new())),
        })),
        ColumnarValue::Scalar(_) => Ok(arg.clone()),
        ColumnarValue::Array(a) if a.null_count() == 0 => Ok(arg.clone()),
        ColumnarValue::Array(a) => {
            let out: ArrayRef = match a.data_type() {
                arrow::datatypes::DataType::Utf8 => Arc::new(strings_without_nulls(a.as_string::<i32>())),
                arrow::datatypes::DataType::LargeUtf8 => {
                    Arc::new(strings_without_nulls(a.as_string::<i64>()))
                }
                arrow::datatypes::DataType::Utf8View => Arc::new(views_without_nulls(a.as_string_view())),
                arrow::datatypes::DataType::Null => {
                    Arc::new(arrow::array::StringArray::from_iter_values(std::iter::repeat_n("", a.len())))
                }
                _ => Arc::new(
                    (0..a.len())
                        .map(|i| Some(str_at(a, i).unwrap_or("")))
                        .collect::<arrow::array::StringArray>(),
                ),
            };
            Ok(ColumnarValue::Array(out))
        }
    }
}

/// Whether `empty(i)` holds for every null slot `i` of `a`. Only the null slots are visited
/// (the valid bits inverted, then their set bits: a word of 64 valid rows is skipped at once).
/// Testing every row's bit instead, AUD003's P99 query over the demo's store spent 5.7% of its
/// CPU samples in `empty_if_null`; visiting the null slots only, 2.6%.
fn null_slots_all(a: &dyn Array, empty: impl Fn(usize) -> bool) -> bool {
    a.nulls().is_none_or(|n| (!n.inner()).set_indices().all(empty))
}

/// `a` with its nulls as empty strings, sharing `a`'s buffers when every null slot is empty.
fn strings_without_nulls<O: arrow::array::OffsetSizeTrait>(
    a: &arrow::array::GenericStringArray<O>,
) -> arrow::array::GenericStringArray<O> {
    let offsets = a.value_offsets();
    if !null_slots_all(a, |i| offsets[i] == offsets[i + 1]) {
        return a.iter().map(|v| Some(v.unwrap_or(""))).collect();
    }
    let (offsets, values, _) = a.clone().into_parts();
    // SAFETY: `offsets` and `values` come from a valid `GenericStringArray`, so the offsets are
    // monotonic, in bounds and on character boundaries of UTF-8 `values`, for null slots too
    // (Arrow checks every offset, not only the valid ones). Dropping the null buffer only makes
    // the null slots readable, and each of them was just checked to be empty: "".
    #[allow(unsafe_code)]
    unsafe {
        arrow::array::GenericStringArray::new_unchecked(offsets, values, None)
    }
}

/// `a` with its nulls as empty strings, sharing `a`'s string buffers. The views are shared too
/// when every null view is all zeros (the inline empty string, which is what Arrow and the
/// Parquet reader write); otherwise (a struct field under a null struct keeps its value behind
/// the null) they are copied with the null slots' views zeroed, 16 bytes a row, where copying
/// every string cost a tenth of a query.
fn views_without_nulls(a: &arrow::array::StringViewArray) -> arrow::array::StringViewArray {
    let (views, buffers, nulls) = a.clone().into_parts();
    let views = match &nulls {
        Some(n) if !null_slots_all(a, |i| views[i] == 0) => {
            let mut zeroed = views.to_vec();
            for i in (!n.inner()).set_indices() {
                if let Some(v) = zeroed.get_mut(i) {
                    *v = 0;
                }
            }
            arrow::buffer::ScalarBuffer::from(zeroed)
        }
        _ => views,
    };
    // SAFETY: every view is one of a valid `StringViewArray`'s views over these same `buffers`
    // (inline, or pointing at UTF-8 bytes inside them) or all zeros, the inline empty string "".
    // The only views this makes readable are the null slots', each of which is all zeros.
    #[allow(unsafe_code)]
    unsafe {
        arrow::array::StringViewArray::new_unchecked(views, buffers, None)
    }
}

/// `coalesce(a, b)` of two arrays of the same type, returning `a` or `b` as they are when `a`
/// has no nulls or only nulls (the usual cases: `TimeGenerated` from Azure's column or from the
/// event's own time).
pub fn first_present(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let [a, b] = args else { return exec_err!("first_present takes two arguments") };
    let n = rows_for(args, rows);
    let a = arg_array(a, n)?;
    if a.null_count() == 0 {
        return finish(a, args);
    }
    let b = arg_array(b, n)?;
    if a.null_count() == a.len() {
        return finish(b, args);
    }
    let present = arrow::compute::is_not_null(&a)?;
    finish(arrow::compute::kernels::zip::zip(&present, &a, &b)?, args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn startswith_cs_on_views_agrees_with_the_row_by_row_predicate() {
        let values = [
            Some("kubelet/v1.29.4 (linux/amd64) kubernetes/55b6b33"),
            Some("kubelet/v"),
            Some("kubelet"),
            Some("kube"),
            Some("Kubelet/v1.29"),
            None,
            Some(""),
            Some("kube-controller-manager/v1.29.4"),
            Some("kube-scheduler/v1.29.4 (linux/amd64)"),
            Some("kubectl/v1.28.0 (linux/amd64) kubernetes/12345"),
        ];
        let views: ArrayRef = Arc::new(arrow::array::StringViewArray::from(values.to_vec()));
        let plain: ArrayRef = Arc::new(arrow::array::StringArray::from(values.to_vec()));
        for needle in [
            "kubelet/v",
            "kube",
            "k",
            "",
            "kube-controller-manager/v",
            "kubelet/v1.29.4 (linux/amd64) kubernetes/55b6b33x",
        ] {
            let args = |a: &ArrayRef| {
                [
                    ColumnarValue::Array(a.clone()),
                    ColumnarValue::Scalar(datafusion::common::ScalarValue::Utf8(Some(needle.into()))),
                ]
            };
            let run = |args: &[ColumnarValue]| match startswith_cs(args, values.len()).expect("runs") {
                ColumnarValue::Array(a) => a.as_boolean().iter().collect::<Vec<_>>(),
                ColumnarValue::Scalar(_) => panic!("an array"),
            };
            let expected: Vec<Option<bool>> =
                values.iter().map(|v| Some(v.unwrap_or("").starts_with(needle))).collect();
            assert_eq!(run(&args(&views)), expected, "views, {needle:?}");
            assert_eq!(run(&args(&plain)), expected, "plain, {needle:?}");
        }
    }

    fn has_term(hay: &str, needle: &str) -> bool {
        Has::build(needle).expect("builds").test(hay)
    }

    #[test]
    fn has_matches_whole_terms_ignoring_case() {
        assert!(has_term("failed calling webhook \"x\"", "failed calling webhook"));
        assert!(has_term("Internal error: FAILED calling webhook", "failed calling webhook"));
        assert!(!has_term("prefailed calling webhook", "failed calling webhook"));
        assert!(has_term("kube-system", "kube"));
        assert!(!has_term("kubernetes", "kube"));
        assert!(has_term(r#"{"verb":"patch"}"#, r#""verb":"patch""#));
        assert!(has_term("aaa bbb", "bbb"));
        assert!(has_term("xbbb bbb", "bbb"), "a later occurrence at a boundary counts");
    }

    #[test]
    fn contains_and_prefix_ignore_case() {
        assert!(Contains::build("NGINX").expect("b").test("pods/nginx-1"));
        assert!(!ContainsCs::build("NGINX").expect("b").test("pods/nginx-1"));
        assert!(StartsWith::build("KUBE-").expect("b").test("kube-scheduler/v1.23.12"));
        assert!(EndsWith::build("/PODS").expect("b").test("/api/v1/namespaces/a/pods"));
        assert!(EqCi::build("Kube-Audit").expect("b").test("kube-audit"));
    }

    #[test]
    fn rewrite_groups_become_regex_crate_syntax() {
        assert_eq!(rewrite_template(r"\1-\2$"), "${1}-${2}$$");
    }

    /// `empty_if_null` of an array.
    fn nulls_emptied(input: ArrayRef) -> ArrayRef {
        match empty_if_null(&[ColumnarValue::Array(input)], 0).expect("runs") {
            ColumnarValue::Array(out) => out,
            ColumnarValue::Scalar(_) => panic!("an array in, an array out"),
        }
    }

    #[test]
    fn empty_if_null_shares_the_strings_and_reads_nulls_as_empty() {
        use arrow::array::{AsArray, StringArray};
        let input: ArrayRef = Arc::new(StringArray::from(vec![Some("get"), None, Some("list"), None]));
        let out = nulls_emptied(input.clone());
        let out = out.as_string::<i32>();
        assert_eq!(out.null_count(), 0);
        assert_eq!(out.iter().map(|v| v.unwrap_or("NULL")).collect::<Vec<_>>(), ["get", "", "list", ""]);
        assert_eq!(
            out.values().as_ptr(),
            input.as_string::<i32>().values().as_ptr(),
            "values are not copied"
        );
    }

    #[test]
    fn empty_if_null_copies_when_a_null_slot_holds_bytes() {
        use arrow::array::{AsArray, StringArray};
        use arrow::buffer::NullBuffer;
        // A null slot that still holds "xx" (Arrow allows it): it must read as "", not "xx".
        let (offsets, values, _) = StringArray::from(vec!["a", "xx", "b"]).into_parts();
        let input = StringArray::new(offsets, values, Some(NullBuffer::from(vec![true, false, true])));
        let out = nulls_emptied(Arc::new(input));
        let out = out.as_string::<i32>();
        assert_eq!(out.iter().map(|v| v.unwrap_or("NULL")).collect::<Vec<_>>(), ["a", "", "b"]);
    }

    #[test]
    fn empty_if_null_on_views_shares_the_buffers_unless_a_null_view_holds_a_string() {
        use arrow::array::{AsArray, StringViewArray};
        use arrow::buffer::NullBuffer;
        let long = "kube-controller-manager/v1.29.4 (linux/amd64) kubernetes/55b6b33";
        let input: ArrayRef = Arc::new(StringViewArray::from(vec![Some(long), None, Some("get"), None]));
        let out = nulls_emptied(input.clone());
        let out = out.as_string_view();
        assert_eq!(out.null_count(), 0);
        assert_eq!(out.iter().map(|v| v.unwrap_or("NULL")).collect::<Vec<_>>(), [long, "", "get", ""]);
        assert_eq!(
            out.data_buffers()[0].as_ptr(),
            input.as_string_view().data_buffers()[0].as_ptr(),
            "the long string is not copied"
        );
        // A null slot whose view still points at "get": it must read as "".
        let (views, buffers, _) = StringViewArray::from(vec!["a", "get", "b"]).into_parts();
        let masked = StringViewArray::new(views, buffers, Some(NullBuffer::from(vec![true, false, true])));
        let out = nulls_emptied(Arc::new(masked));
        let out = out.as_string_view();
        assert_eq!(out.iter().map(|v| v.unwrap_or("NULL")).collect::<Vec<_>>(), ["a", "", "b"]);
        // The same with a long string behind the null: the views are copied, the strings not.
        let (views, buffers, _) = StringViewArray::from(vec![long, long, "b"]).into_parts();
        let masked = StringViewArray::new(views, buffers, Some(NullBuffer::from(vec![true, false, true])));
        let shared = masked.data_buffers()[0].as_ptr();
        let out = nulls_emptied(Arc::new(masked));
        let out = out.as_string_view();
        assert_eq!(out.null_count(), 0);
        assert_eq!(out.iter().map(|v| v.unwrap_or("NULL")).collect::<Vec<_>>(), [long, "", "b"]);
        assert_eq!(out.data_buffers()[0].as_ptr(), shared, "the long string is not copied");
    }

    #[test]
    fn empty_if_null_on_views_reads_every_null_as_empty_across_64_row_words_and_offsets() {
        use arrow::array::{AsArray, StringViewArray};
        use arrow::buffer::NullBuffer;
        // 200 rows, each null slot's view still pointing at its string (as a struct field
        // under a null struct is read), nulls at positions that straddle 64-row words.
        let values: Vec<String> = (0..200).map(|i| format!("value-number-{i}-longer-than-twelve")).collect();
        let valid: Vec<bool> = (0..200).map(|i| i % 7 != 3 && !(60..70).contains(&i) && i != 199).collect();
        let (views, buffers, _) = StringViewArray::from_iter_values(&values).into_parts();
        let masked = StringViewArray::new(views, buffers, Some(NullBuffer::from(valid.clone())));
        for (offset, len) in [(0, 200), (5, 130), (64, 64), (63, 2), (130, 70)] {
            let input: ArrayRef = Arc::new(masked.slice(offset, len));
            let out = nulls_emptied(input);
            let out = out.as_string_view();
            assert_eq!(out.null_count(), 0);
            let expected: Vec<&str> =
                (offset..offset + len).map(|i| if valid[i] { values[i].as_str() } else { "" }).collect();
            assert_eq!(
                out.iter().map(|v| v.unwrap_or("NULL")).collect::<Vec<_>>(),
                expected,
                "slice {offset}+{len}"
            );
        }
        // Null views already all zeros (as Arrow writes them) are shared, not copied.
        let built =
            StringViewArray::from((0..200).map(|i| valid[i].then(|| values[i].clone())).collect::<Vec<_>>());
        let views_before = built.views().as_ptr();
        let out = nulls_emptied(Arc::new(built));
        assert_eq!(out.as_string_view().views().as_ptr(), views_before, "the views are shared");
    }

    #[test]
    fn cached_regexes_keep_case_apart_and_the_cache_stays_bounded() {
        let ci = cached_regex("get+", true).expect("compiles");
        let cs = cached_regex("get+", false).expect("compiles");
        assert!(ci.is_match("GETT") && !cs.is_match("GETT") && cs.is_match("gett"));
        // From the cache the second time, the same answers.
        assert!(cached_regex("get+", true).expect("cached").is_match("GETT"));
        assert!(!cached_regex("get+", false).expect("cached").is_match("GETT"));
        assert!(cached_regex("(", false).is_err(), "an invalid pattern is still an error");
        for i in 0..REGEX_CACHE_SIZE + 10 {
            cached_regex(&format!("p{i}"), false).expect("compiles");
        }
        assert!(REGEX_CACHE.lock().unwrap_or_else(|e| e.into_inner()).len() <= REGEX_CACHE_SIZE);
    }

    #[test]
    fn first_present_takes_the_second_only_where_the_first_is_null() {
        use arrow::array::{AsArray, Int64Array};
        let a: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), None, Some(3)]));
        let b: ArrayRef = Arc::new(Int64Array::from(vec![Some(10), Some(20), None]));
        let run = |a: &ArrayRef, b: &ArrayRef| -> Vec<Option<i64>> {
            let out = first_present(&[ColumnarValue::Array(a.clone()), ColumnarValue::Array(b.clone())], 3)
                .expect("runs")
                .to_array(3)
                .expect("array");
            out.as_primitive::<arrow::datatypes::Int64Type>().iter().collect()
        };
        assert_eq!(run(&a, &b), [Some(1), Some(20), Some(3)]);
        let none: ArrayRef = Arc::new(Int64Array::from(vec![None, None, None]));
        assert_eq!(run(&none, &b), [Some(10), Some(20), None]);
        assert_eq!(run(&b, &none), [Some(10), Some(20), None]);
    }

    /// Review 52 item 10: `log_s` escapes as Go's encoder, which wrote the original line.
    #[test]
    fn go_escapes_html_characters_and_line_separators() {
        assert_eq!(
            go_escape_json("{\"requestURI\":\"/a?watch=1&x=<y>\",\"m\":\"\u{2028}\u{2029}\"}"),
            r#"{"requestURI":"/a?watch=1\u0026x=\u003cy\u003e","m":"\u2028\u2029"}"#
        );
        let plain = r#"{"verb":"get"}"#;
        assert!(matches!(go_escape_json(plain), std::borrow::Cow::Borrowed(_)));
        let parsed: serde_json::Value =
            serde_json::from_str(&go_escape_json(r#"{"a":"x&y"}"#)).expect("still JSON");
        assert_eq!(parsed["a"], "x&y");
    }
}

/// How `parse-kv` reads its text: by delimiters (with optional quotes) or by a regex.
#[derive(Debug, Clone, PartialEq)]
pub struct KvSpec {
    /// The keys to extract, in the order of the columns.
    pub keys: Vec<String>,
    /// Between pairs (`,`), with `kv`: the delimited mode.
    pub pair: String,
    /// Between a key and its value (`:`).
    pub kv: String,
    /// Opening and closing quote characters a key or value may be wrapped in.
    pub quotes: Vec<(char, char)>,
    /// The regex mode: two capture groups, the key and the value.
    pub regex: Option<String>,
}

impl KvSpec {
    /// The value of each key found in `text` (the first time it appears), in `keys`' order.
    pub fn extract(&self, text: &str, re: Option<&regex::Regex>) -> Vec<Option<String>> {
        let mut found: Vec<Option<String>> = vec![None; self.keys.len()];
        let mut put = |k: &str, v: &str| {
            if let Some(i) = self.keys.iter().position(|key| key == k.trim())
                && found[i].is_none()
            {
                found[i] = Some(v.trim().to_owned());
            }
        };
        if let Some(re) = re {
            for c in re.captures_iter(text) {
                if let (Some(k), Some(v)) = (c.get(1), c.get(2)) {
                    put(k.as_str(), v.as_str());
                }
            }
            return found;
        }
        let mut rest = text;
        while !rest.trim().is_empty() {
            let (key, after_key) = self.token(rest, &[&self.kv, &self.pair]);
            let (value, after) = match after_key.strip_prefix(self.kv.as_str()) {
                Some(v) => self.token(v, &[&self.pair]),
                None => ("", after_key),
            };
            put(key, value);
            match after.strip_prefix(self.pair.as_str()) {
                Some(next) => rest = next,
                None => break,
            }
        }
        found
    }

    /// One key or value at the start of `s`: quoted (up to its closing quote) or up to the
    /// first of `stops`; and what follows it, from that stop on.
    fn token<'a>(&self, s: &'a str, stops: &[&str]) -> (&'a str, &'a str) {
        let trimmed = s.trim_start();
        if let Some(first) = trimmed.chars().next()
            && let Some((open, close)) = self.quotes.iter().find(|(o, _)| *o == first)
        {
            let inner = &trimmed[open.len_utf8()..];
            if let Some(end) = inner.find(*close) {
                let after = &inner[end + close.len_utf8()..];
                // Whatever lies between the closing quote and the next stop is dropped.
                let stop = stops.iter().filter_map(|d| after.find(d)).min().unwrap_or(after.len());
                return (&inner[..end], &after[stop..]);
            }
        }
        let stop = stops.iter().filter(|d| !d.is_empty()).filter_map(|d| s.find(*d)).min().unwrap_or(s.len());
        (&s[..stop], &s[stop..])
    }
}

/// `kql_parse_kv(text, pair, kv, quotes, regex, key…)`: `parse-kv`'s engine, its options as
/// constant strings (`quotes` holds each quote's opening and closing characters, one after the
/// other; `regex` is empty in the delimited mode). A list of the keys' values (null where a key
/// is not in the text).
pub fn parse_kv(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let Some(options) = args.get(1..5).and_then(|o| o.iter().map(scalar_str).collect::<Option<Vec<&str>>>())
    else {
        return exec_err!("parse-kv needs its options as constants");
    };
    let Some(keys) =
        args[5..].iter().map(|k| scalar_str(k).map(str::to_owned)).collect::<Option<Vec<String>>>()
    else {
        return exec_err!("parse-kv needs its keys as constants");
    };
    let quote_chars: Vec<char> = options[2].chars().collect();
    let spec = KvSpec {
        keys,
        pair: options[0].to_owned(),
        kv: options[1].to_owned(),
        quotes: quote_chars.chunks(2).filter_map(|q| Some((*q.first()?, *q.get(1)?))).collect(),
        regex: (!options[3].is_empty()).then(|| options[3].to_owned()),
    };
    let re = match &spec.regex {
        Some(p) => Some(compile(p)?),
        None => None,
    };
    let n = rows_for(&args[..1], rows);
    let a = arg_array(&args[0], n)?;
    let a = StrCol::new(&a);
    let mut out = ListBuilder::new(StringBuilder::new());
    for i in 0..n {
        for v in spec.extract(a.get(i).unwrap_or(""), re.as_ref()) {
            out.values().append_option(v);
        }
        out.append(true);
    }
    finish(Arc::new(out.finish()), &args[..1])
}
