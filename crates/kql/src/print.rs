//! Prints a syntax tree back as KQL text.
//!
//! The output parses back to the same tree (spans aside): parentheses are added where
//! precedence needs them, names that could read as keywords are quoted (`['by']`), and
//! literals are written in a form the lexer reads back to the same value. Checks use it to
//! show the query that reproduces a finding; tests use it for round trips.

use std::fmt::{self, Write};

use crate::ast::*;
use crate::time::{format_datetime, format_timespan};

/// Names printed quoted (`['and']`) because bare they could read as an operator, a keyword,
/// a tabular source (`union`, `print`) or an operator parameter (`kind=`).
const KEYWORDS: &[&str] = &[
    "FALSE",
    "False",
    "TRUE",
    "True",
    "and",
    "asc",
    "bagexpansion",
    "between",
    "by",
    "contains",
    "contains_cs",
    "datatable",
    "date",
    "datetime",
    "default",
    "desc",
    "dynamic",
    "endswith",
    "endswith_cs",
    "evaluate",
    "externaldata",
    "false",
    "find",
    "first",
    "flags",
    "from",
    "guid",
    "has",
    "has_all",
    "has_any",
    "has_cs",
    "hasprefix",
    "hasprefix_cs",
    "hassuffix",
    "hassuffix_cs",
    "hint",
    "in",
    "isfuzzy",
    "kind",
    "last",
    "let",
    "limit",
    "matches",
    "nulls",
    "on",
    "or",
    "print",
    "range",
    "search",
    "startswith",
    "startswith_cs",
    "step",
    "time",
    "timespan",
    "to",
    "true",
    "union",
    "with",
    "with_itemindex",
    "withsource",
];

fn is_plain_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    let Some(first) = bytes.next() else { return false };
    (first.is_ascii_alphabetic() || first == b'_' || first == b'$')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && name != "$"
        && !KEYWORDS.contains(&name)
}

fn write_string(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_name(out: &mut String, name: &str) {
    if is_plain_identifier(name) {
        out.push_str(name);
    } else {
        out.push('[');
        write_string(out, name);
        out.push(']');
    }
}

/// A name that may hold `*` wildcards (`project-away`, `search in`, `union` legs).
fn write_pattern(out: &mut String, name: &str) {
    // Bare only if it lexes back as identifiers and `*`s; a quoted name with a `*` among
    // other characters (`['#*x']`) stays quoted.
    let glues = name.split('*').all(|part| {
        part.is_empty()
            || (part.bytes().next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b'$')
                && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$')
                && !part[1..].contains('$')
                && part != "$")
    });
    if name.contains('*') && glues {
        out.push_str(name);
    } else {
        write_name(out, name);
    }
}

fn write_real(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("real(nan)");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "real(+inf)" } else { "real(-inf)" });
    } else if v.is_sign_negative() {
        let _ = write!(out, "real({v:?})");
    } else {
        // `{:?}` always shows a decimal point or an exponent, so it reads back as a real.
        let _ = write!(out, "{v:?}");
    }
}

fn write_dynamic(out: &mut String, value: &Dynamic) {
    match value {
        Dynamic::Null => out.push_str("null"),
        Dynamic::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Dynamic::Long(v) => {
            let _ = write!(out, "{v}");
        }
        Dynamic::Real(v) if v.is_finite() => {
            let _ = write!(out, "{v:?}");
        }
        Dynamic::Real(_) => out.push_str("null"),
        Dynamic::String(s) => write_string(out, s),
        Dynamic::DateTime(v) => {
            let _ = write!(out, "datetime({})", format_datetime(*v));
        }
        Dynamic::Timespan(v) => {
            let text = format_timespan(*v);
            if text.starts_with("timespan(") {
                out.push_str(&text);
            } else {
                let _ = write!(out, "timespan({text})");
            }
        }
        Dynamic::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_dynamic(out, item);
            }
            out.push(']');
        }
        Dynamic::Object(entries) => {
            out.push('{');
            for (i, (key, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_string(out, key);
                out.push_str(": ");
                write_dynamic(out, item);
            }
            out.push('}');
        }
    }
}

fn write_literal(out: &mut String, lit: &Literal) {
    match lit {
        Literal::String(s) => write_string(out, s),
        Literal::Long(v) if *v < 0 => {
            let _ = write!(out, "long({v})");
        }
        Literal::Long(v) => {
            let _ = write!(out, "{v}");
        }
        Literal::Int(v) => {
            let _ = write!(out, "int({v})");
        }
        Literal::Real(v) => write_real(out, *v),
        Literal::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Literal::DateTime(v) => {
            let _ = write!(out, "datetime({})", format_datetime(*v));
        }
        Literal::Timespan(v) => out.push_str(&format_timespan(*v)),
        Literal::Dynamic(d) => {
            out.push_str("dynamic(");
            write_dynamic(out, d);
            out.push(')');
        }
        Literal::Null(ty) => {
            let _ = write!(out, "{}(null)", ty.as_str());
        }
    }
}

/// The binding strength of an expression as an operand (postfix and primaries bind tightest).
fn expr_precedence(expr: &Expr) -> u8 {
    match &expr.kind {
        ExprKind::Binary { op, .. } => op.precedence(),
        ExprKind::Between { .. } | ExprKind::List { .. } => 3,
        ExprKind::Unary { .. } => 6,
        _ => 7,
    }
}

fn write_operand(out: &mut String, expr: &Expr, min_prec: u8) {
    if expr_precedence(expr) < min_prec {
        out.push('(');
        write_expr(out, expr);
        out.push(')');
    } else {
        write_expr(out, expr);
    }
}

fn write_list(out: &mut String, items: &[Expr]) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_expr(out, item);
    }
}

fn write_expr(out: &mut String, expr: &Expr) {
    match &expr.kind {
        ExprKind::Literal(lit) => write_literal(out, lit),
        ExprKind::Name(ident) => write_name(out, &ident.name),
        ExprKind::Wildcard => out.push('*'),
        ExprKind::Member { base, member } => {
            write_postfix_base(out, base);
            if is_plain_identifier(&member.name) || KEYWORDS.contains(&member.name.as_str()) {
                out.push('.');
                out.push_str(&member.name);
            } else {
                out.push('[');
                write_string(out, &member.name);
                out.push(']');
            }
        }
        ExprKind::Index { base, index } => {
            write_postfix_base(out, base);
            out.push('[');
            write_expr(out, index);
            out.push(']');
        }
        ExprKind::Call { name, args } => {
            out.push_str(&name.name);
            out.push('(');
            write_list(out, args);
            out.push(')');
        }
        ExprKind::Unary { op, operand } => {
            out.push(match op {
                UnaryOp::Neg => '-',
                UnaryOp::Plus => '+',
            });
            // `- -x` must not print as `--x`; a space keeps two signs apart.
            if matches!(operand.kind, ExprKind::Unary { .. }) {
                out.push(' ');
            }
            write_operand(out, operand, 6);
        }
        ExprKind::Binary { op, left, right } => {
            let prec = op.precedence();
            write_operand(out, left, prec);
            out.push(' ');
            out.push_str(op.as_str());
            out.push(' ');
            write_operand(out, right, prec + 1);
        }
        ExprKind::Between { expr: tested, low, high, negated } => {
            write_operand(out, tested, 3);
            out.push_str(if *negated { " !between (" } else { " between (" });
            write_expr(out, low);
            out.push_str(" .. ");
            write_expr(out, high);
            out.push(')');
        }
        ExprKind::List { op, expr: tested, items } => {
            write_operand(out, tested, 3);
            out.push(' ');
            out.push_str(op.as_str());
            out.push_str(" (");
            write_list(out, items);
            out.push(')');
        }
        ExprKind::Tabular(t) => {
            out.push('(');
            write_tabular(out, t, true);
            out.push(')');
        }
    }
}

fn write_postfix_base(out: &mut String, base: &Expr) {
    let needs_parens = !matches!(
        &base.kind,
        ExprKind::Name(_)
            | ExprKind::Member { .. }
            | ExprKind::Index { .. }
            | ExprKind::Call { .. }
            | ExprKind::Tabular(_)
            | ExprKind::Literal(Literal::Dynamic(_))
    );
    if needs_parens {
        out.push('(');
        write_expr(out, base);
        out.push(')');
    } else {
        write_expr(out, base);
    }
}

fn write_named(out: &mut String, items: &[NamedExpr]) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        if let Some(name) = &item.name {
            write_name(out, &name.name);
            out.push_str(" = ");
        }
        write_expr(out, &item.expr);
    }
}

fn write_params(out: &mut String, params: &[OperatorParam]) {
    for param in params {
        out.push(' ');
        out.push_str(&param.name.name);
        out.push('=');
        write_expr(out, &param.value);
    }
}

fn write_sort_key(out: &mut String, key: &SortKey) {
    write_expr(out, &key.expr);
    match key.order {
        Some(SortOrder::Asc) => out.push_str(" asc"),
        Some(SortOrder::Desc) => out.push_str(" desc"),
        None => {}
    }
    match key.nulls {
        Some(NullsOrder::First) => out.push_str(" nulls first"),
        Some(NullsOrder::Last) => out.push_str(" nulls last"),
        None => {}
    }
}

/// A leg of `union` or the right side of `join`: a bare name or pattern, else `(…)`.
fn write_leg(out: &mut String, t: &TabularExpr) {
    match (&t.source, t.operators.is_empty()) {
        (Source::Name(n), true) => write_name(out, &n.name),
        // A pattern was glued from adjacent names and `*`s, so it prints back as it was.
        (Source::Pattern(p), true) => out.push_str(&p.name),
        _ => {
            out.push('(');
            write_tabular(out, t, true);
            out.push(')');
        }
    }
}

fn write_union(out: &mut String, u: &Union) {
    out.push_str("union");
    write_params(out, &u.params);
    if let Some(ws) = &u.withsource {
        out.push_str(" withsource=");
        write_name(out, &ws.name);
    }
    for (i, leg) in u.tables.iter().enumerate() {
        out.push_str(if i == 0 { " " } else { ", " });
        write_leg(out, leg);
    }
}

fn write_search(out: &mut String, s: &Search) {
    out.push_str("search");
    write_params(out, &s.params);
    if !s.tables.is_empty() {
        out.push_str(" in (");
        for (i, t) in s.tables.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            write_pattern(out, &t.name);
        }
        out.push(')');
    }
    out.push(' ');
    write_expr(out, &s.predicate);
}

fn write_source(out: &mut String, source: &Source) {
    match source {
        Source::Name(n) => write_name(out, &n.name),
        Source::Pattern(p) => out.push_str(&p.name),
        Source::Call(e) => write_expr(out, e),
        Source::Paren(t) => {
            out.push('(');
            write_tabular(out, t, true);
            out.push(')');
        }
        Source::Union(u) => write_union(out, u),
        Source::Search(s) => write_search(out, s),
        Source::Datatable(d) => {
            out.push_str("datatable(");
            for (i, (name, ty)) in d.columns.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_name(out, &name.name);
                out.push(':');
                write_name(out, &ty.name);
            }
            out.push_str(") [");
            write_list(out, &d.values);
            out.push(']');
        }
        Source::Print(items) => {
            out.push_str("print ");
            write_named(out, items);
        }
        Source::Range(r) => {
            out.push_str("range ");
            write_name(out, &r.column.name);
            out.push_str(" from ");
            write_expr(out, &r.from);
            out.push_str(" to ");
            write_expr(out, &r.to);
            out.push_str(" step ");
            write_expr(out, &r.step);
        }
    }
}

/// Names or `*` patterns, `, `-separated, each with its `asc`/`desc` if it has one.
fn write_patterns(out: &mut String, names: &[(&Ident, Option<SortOrder>)]) {
    for (i, (n, order)) in names.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_pattern(out, &n.name);
        match order {
            Some(SortOrder::Asc) => out.push_str(" asc"),
            Some(SortOrder::Desc) => out.push_str(" desc"),
            None => {}
        }
    }
}

fn write_operator(out: &mut String, op: &OperatorKind) {
    match op {
        OperatorKind::Where(e) => {
            out.push_str("where ");
            write_expr(out, e);
        }
        OperatorKind::Extend(items) => {
            out.push_str("extend ");
            write_named(out, items);
        }
        OperatorKind::Project(items) => {
            out.push_str("project ");
            write_named(out, items);
        }
        OperatorKind::Serialize(items) => {
            out.push_str("serialize");
            if !items.is_empty() {
                out.push(' ');
                write_named(out, items);
            }
        }
        OperatorKind::ProjectAway(names) | OperatorKind::ProjectKeep(names) => {
            out.push_str(op.name());
            out.push(' ');
            let names: Vec<(&Ident, Option<SortOrder>)> = names.iter().map(|n| (n, None)).collect();
            write_patterns(out, &names);
        }
        OperatorKind::ProjectReorder(keys) => {
            out.push_str("project-reorder ");
            let keys: Vec<(&Ident, Option<SortOrder>)> = keys.iter().map(|k| (&k.name, k.order)).collect();
            write_patterns(out, &keys);
        }
        OperatorKind::ProjectRename(items) => {
            out.push_str("project-rename ");
            for (i, r) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_name(out, &r.new.name);
                out.push_str(" = ");
                write_name(out, &r.old.name);
            }
        }
        OperatorKind::Summarize(s) => {
            out.push_str("summarize");
            write_params(out, &s.params);
            if !s.aggregates.is_empty() {
                out.push(' ');
                write_named(out, &s.aggregates);
            }
            if !s.by.is_empty() {
                out.push_str(" by ");
                write_named(out, &s.by);
            }
        }
        OperatorKind::Top(t) => {
            out.push_str("top ");
            write_expr(out, &t.count);
            out.push_str(" by ");
            write_sort_key(out, &t.by);
        }
        OperatorKind::TopHitters(t) => {
            out.push_str("top-hitters ");
            write_expr(out, &t.count);
            out.push_str(" of ");
            write_expr(out, &t.of);
            if let Some(b) = &t.by {
                out.push_str(" by ");
                write_expr(out, b);
            }
        }
        OperatorKind::TopNested(levels) => {
            for (i, l) in levels.iter().enumerate() {
                out.push_str(if i == 0 { "top-nested " } else { ", top-nested " });
                if let Some(n) = &l.count {
                    write_expr(out, n);
                    out.push(' ');
                }
                out.push_str("of ");
                write_named(out, std::slice::from_ref(&l.of));
                if let Some(o) = &l.others {
                    out.push_str(" with others = ");
                    write_expr(out, o);
                }
                out.push_str(" by ");
                write_named(out, std::slice::from_ref(&l.by));
                match l.order {
                    Some(SortOrder::Asc) => out.push_str(" asc"),
                    Some(SortOrder::Desc) => out.push_str(" desc"),
                    None => {}
                }
            }
        }
        OperatorKind::Sort(keys) => {
            out.push_str("sort by ");
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_sort_key(out, k);
            }
        }
        OperatorKind::Take(e) => {
            out.push_str("take ");
            write_expr(out, e);
        }
        OperatorKind::Sample(e) => {
            out.push_str("sample ");
            write_expr(out, e);
        }
        OperatorKind::SampleDistinct { count, of } => {
            out.push_str("sample-distinct ");
            write_expr(out, count);
            out.push_str(" of ");
            write_expr(out, of);
        }
        OperatorKind::Count => out.push_str("count"),
        OperatorKind::GetSchema => out.push_str("getschema"),
        OperatorKind::As(name) => {
            out.push_str("as ");
            write_name(out, &name.name);
        }
        OperatorKind::Distinct(cols) => {
            out.push_str("distinct ");
            if cols.is_empty() {
                out.push('*');
            } else {
                write_list(out, cols);
            }
        }
        OperatorKind::Render(r) => {
            out.push_str("render ");
            out.push_str(&r.kind.name);
            if !r.properties.is_empty() {
                out.push_str(" with (");
                for (i, p) in r.properties.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_name(out, &p.name.name);
                    out.push('=');
                    write_list(out, &p.values);
                }
                out.push(')');
            }
        }
        OperatorKind::Union(u) => write_union(out, u),
        OperatorKind::Join(j) | OperatorKind::Lookup(j) => {
            out.push_str(if matches!(op, OperatorKind::Lookup(_)) { "lookup" } else { "join" });
            if let Some((kind, _)) = j.kind {
                out.push_str(" kind=");
                out.push_str(kind.as_str());
            }
            write_params(out, &j.params);
            out.push_str(" (");
            write_tabular(out, &j.right, true);
            out.push_str(") on ");
            for (i, key) in j.on.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                match key {
                    JoinKey::Same(n) => write_name(out, &n.name),
                    JoinKey::Pair { left, right, .. } => {
                        out.push_str("$left.");
                        out.push_str(&left.name);
                        out.push_str(" == $right.");
                        out.push_str(&right.name);
                    }
                }
            }
        }
        OperatorKind::MvExpand(m) => write_expansion(out, "mv-expand", m),
        OperatorKind::MvApply(m) => {
            write_expansion(out, "mv-apply", &m.expand);
            out.push_str(" on (");
            write_pipeline(out, &m.operators);
            out.push(')');
        }
        OperatorKind::Partition(pt) => {
            out.push_str("partition");
            write_params(out, &pt.params);
            out.push_str(" by ");
            write_expr(out, &pt.by);
            out.push_str(" (");
            write_pipeline(out, &pt.operators);
            out.push(')');
        }
        OperatorKind::Evaluate(ev) => {
            out.push_str("evaluate");
            write_params(out, &ev.params);
            out.push(' ');
            write_name(out, &ev.plugin.name);
            out.push('(');
            for (i, a) in ev.args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_expr(out, a);
            }
            out.push(')');
        }
        OperatorKind::ParseKv(p) => {
            out.push_str("parse-kv ");
            write_expr(out, &p.expr);
            out.push_str(" as (");
            for (i, (name, ty)) in p.keys.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_name(out, &name.name);
                if let Some(ty) = ty {
                    out.push(':');
                    write_name(out, &ty.name);
                }
            }
            out.push_str(") with (");
            for (i, o) in p.options.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_name(out, &o.name.name);
                out.push('=');
                write_expr(out, &o.value);
            }
            out.push(')');
        }
        OperatorKind::Parse(p) => {
            out.push_str(if p.filter { "parse-where" } else { "parse" });
            write_params(out, &p.params);
            out.push(' ');
            write_expr(out, &p.expr);
            out.push_str(" with");
            for part in &p.pattern {
                out.push(' ');
                match part {
                    ParsePart::Wildcard(_) => out.push('*'),
                    ParsePart::Literal(s, _) => write_string(out, s),
                    ParsePart::Column { name, ty } => {
                        write_name(out, &name.name);
                        if let Some(ty) = ty {
                            out.push(':');
                            write_name(out, &ty.name);
                        }
                    }
                }
            }
        }
        OperatorKind::Search(s) => write_search(out, s),
        OperatorKind::MakeSeries(m) => {
            out.push_str("make-series");
            write_params(out, &m.params);
            for (i, agg) in m.aggregates.iter().enumerate() {
                out.push_str(if i == 0 { " " } else { ", " });
                write_named(out, std::slice::from_ref(&agg.agg));
                if let Some(default) = &agg.default {
                    out.push_str(" default=");
                    write_expr(out, default);
                }
            }
            out.push_str(" on ");
            write_expr(out, &m.on);
            if let Some(from) = &m.from {
                out.push_str(" from ");
                write_expr(out, from);
            }
            if let Some(to) = &m.to {
                out.push_str(" to ");
                write_expr(out, to);
            }
            out.push_str(" step ");
            write_expr(out, &m.step);
            if !m.by.is_empty() {
                out.push_str(" by ");
                write_named(out, &m.by);
            }
        }
    }
}

/// `keyword [params] item, item … [limit N]`: what `mv-expand` and `mv-apply` share.
fn write_expansion(out: &mut String, keyword: &str, m: &MvExpand) {
    out.push_str(keyword);
    write_params(out, &m.params);
    for (i, item) in m.items.iter().enumerate() {
        out.push_str(if i == 0 { " " } else { ", " });
        if let Some(name) = &item.name {
            write_name(out, &name.name);
            out.push_str(" = ");
        }
        write_expr(out, &item.expr);
        if let Some(ty) = &item.to_type {
            out.push_str(" to typeof(");
            write_name(out, &ty.name);
            out.push(')');
        }
    }
    if let Some(limit) = &m.limit {
        out.push_str(" limit ");
        write_expr(out, limit);
    }
}

/// Operators joined by ` | ` (the subqueries of `mv-apply` and `partition`).
fn write_pipeline(out: &mut String, operators: &[Operator]) {
    for (i, op) in operators.iter().enumerate() {
        if i > 0 {
            out.push_str(" | ");
        }
        write_operator(out, &op.kind);
    }
}

fn write_tabular(out: &mut String, t: &TabularExpr, nested: bool) {
    write_source(out, &t.source);
    for op in &t.operators {
        out.push_str(if nested { " | " } else { "\n| " });
        write_operator(out, &op.kind);
    }
}

fn write_let_value(out: &mut String, value: &LetValue) {
    match value {
        // A call of `materialize` kept as an expression (it was parenthesised) must stay one:
        // bare, `let x = materialize(…)` reads as the `materialize` statement form.
        LetValue::Expr(e) if matches!(&e.kind, ExprKind::Call { name, .. } if name.name == "materialize") => {
            out.push('(');
            write_expr(out, e);
            out.push(')');
        }
        LetValue::Expr(e) => write_expr(out, e),
        LetValue::Tabular(t) => write_tabular(out, t, false),
        LetValue::Materialize(t, _) => {
            out.push_str("materialize(");
            write_tabular(out, t, true);
            out.push(')');
        }
        LetValue::Function(f) => {
            out.push('(');
            for (i, p) in f.params.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_name(out, &p.name.name);
                out.push(':');
                match &p.ty {
                    Some(ty) => write_name(out, &ty.name),
                    None => out.push_str("(*)"),
                }
                if let Some(d) = &p.default {
                    out.push_str(" = ");
                    write_expr(out, d);
                }
            }
            out.push_str(") { ");
            for l in &f.lets {
                write_let(out, l);
                out.push_str("; ");
            }
            write_let_value(out, &f.body);
            out.push_str(" }");
        }
    }
}

fn write_let(out: &mut String, l: &LetStatement) {
    out.push_str("let ");
    write_name(out, &l.name.name);
    out.push_str(" = ");
    write_let_value(out, &l.value);
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        for (i, statement) in self.statements.iter().enumerate() {
            if i > 0 {
                out.push_str(";\n");
            }
            match statement {
                Statement::Let(l) => write_let(&mut out, l),
                Statement::Tabular(t) => write_tabular(&mut out, t, false),
            }
        }
        f.write_str(&out)
    }
}

impl fmt::Display for TabularExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        write_tabular(&mut out, self, false);
        f.write_str(&out)
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        write_expr(&mut out, self);
        f.write_str(&out)
    }
}
