//! What the parser accepts and the trees it builds, operator by operator.

mod common;

use common::{expr_ok, parse_ok, same_expr, same_query};
use kql::*;

/// Each query, printed and parsed again, is the same query.
fn assert_prints_back(sources: &[&str]) {
    for source in sources {
        let printed = parse_ok(source).to_string();
        assert!(same_query(source, &printed), "{source}\nprinted as\n{printed}");
    }
}

fn only_pipeline(source: &str) -> TabularExpr {
    parse_ok(source).result().expect("tabular statement").clone()
}

fn only_operator(source: &str) -> OperatorKind {
    let t = only_pipeline(source);
    assert_eq!(t.operators.len(), 1, "{source}");
    t.operators[0].kind.clone()
}

fn lit(e: &Expr) -> &Literal {
    match &e.kind {
        ExprKind::Literal(l) => l,
        other => panic!("not a literal: {other:?}"),
    }
}

#[test]
fn precedence_follows_kql() {
    assert!(same_expr("a or b and c", "a or (b and c)"));
    assert!(same_expr("a and b == c", "a and (b == c)"));
    assert!(same_expr("a == b + c * d", "a == (b + (c * d))"));
    assert!(same_expr("a - b - c", "(a - b) - c"));
    assert!(same_expr("a / b * c % d", "((a / b) * c) % d"));
    assert!(same_expr("-a.b * c", "(-(a.b)) * c"));
    assert!(same_expr(
        "x has 'a' or y contains 'b' and z in (1)",
        "(x has 'a') or ((y contains 'b') and (z in (1)))"
    ));
    assert!(same_expr("a + 1 between (b .. c)", "(a + 1) between (b .. c)"));
    assert!(!same_expr("a or b and c", "(a or b) and c"));
}

#[test]
fn string_operators_and_their_negations() {
    let cases = [
        ("a == b", BinaryOp::Eq),
        ("a != b", BinaryOp::NotEq),
        ("a <> b", BinaryOp::NotEq),
        ("a =~ b", BinaryOp::EqCi),
        ("a !~ b", BinaryOp::NotEqCi),
        ("a has b", BinaryOp::Has),
        ("a !has b", BinaryOp::NotHas),
        ("a has_cs b", BinaryOp::HasCs),
        ("a !has_cs b", BinaryOp::NotHasCs),
        ("a contains b", BinaryOp::Contains),
        ("a !contains b", BinaryOp::NotContains),
        ("a contains_cs b", BinaryOp::ContainsCs),
        ("a !contains_cs b", BinaryOp::NotContainsCs),
        ("a startswith b", BinaryOp::StartsWith),
        ("a !startswith b", BinaryOp::NotStartsWith),
        ("a startswith_cs b", BinaryOp::StartsWithCs),
        ("a endswith b", BinaryOp::EndsWith),
        ("a !endswith b", BinaryOp::NotEndsWith),
        ("a hasprefix b", BinaryOp::HasPrefix),
        ("a hassuffix b", BinaryOp::HasSuffix),
        ("a matches regex b", BinaryOp::MatchesRegex),
        ("a <= b", BinaryOp::LtEq),
        ("a >= b", BinaryOp::GtEq),
    ];
    for (source, expected) in cases {
        match expr_ok(source).kind {
            ExprKind::Binary { op, .. } => assert_eq!(op, expected, "{source}"),
            other => panic!("{source}: {other:?}"),
        }
    }
}

#[test]
fn list_operators() {
    for (source, expected, n) in [
        ("a in ('x', 'y')", ListOp::In, 2),
        ("a !in ('x')", ListOp::NotIn, 1),
        ("a in~ ('x', 'y', 'z')", ListOp::InCi, 3),
        ("a !in~ ('x')", ListOp::NotInCi, 1),
        ("a has_any ('x', 'y')", ListOp::HasAny, 2),
        ("a has_all ('x')", ListOp::HasAll, 1),
    ] {
        match expr_ok(source).kind {
            ExprKind::List { op, items, .. } => {
                assert_eq!(op, expected, "{source}");
                assert_eq!(items.len(), n, "{source}");
            }
            other => panic!("{source}: {other:?}"),
        }
    }
}

#[test]
fn in_accepts_a_tabular_subquery() {
    let e = expr_ok("User in (Admins | project Name)");
    let ExprKind::List { items, .. } = e.kind else { panic!() };
    let ExprKind::Tabular(t) = &items[0].kind else { panic!("{items:?}") };
    assert!(matches!(&t.source, Source::Name(n) if n.name == "Admins"));
    assert_eq!(t.operators.len(), 1);
}

#[test]
fn between_and_not_between() {
    let e = expr_ok("x !between (1 .. 10)");
    let ExprKind::Between { negated, low, high, .. } = e.kind else { panic!() };
    assert!(negated);
    assert_eq!(lit(&low), &Literal::Long(1));
    assert_eq!(lit(&high), &Literal::Long(10));
    // No spaces around `..`, as the guide writes it.
    let e = expr_ok("TimeGenerated between(ago(1h)..now())");
    assert!(matches!(e.kind, ExprKind::Between { negated: false, .. }));
}

#[test]
fn member_access_and_indexing() {
    assert!(same_expr("a.b.c", "(a.b).c"));
    let e = expr_ok("a[\"k\"]");
    let ExprKind::Index { index, .. } = e.kind else { panic!() };
    assert_eq!(lit(&index), &Literal::String("k".into()));
    // `a.["k"]` is the same as `a["k"]`.
    assert!(same_expr("a.[\"k\"]", "a[\"k\"]"));
    assert!(same_expr("e.sourceIPs[0]", "(e.sourceIPs)[0]"));
    let e = expr_ok("parse_json(log_s).user.username");
    let ExprKind::Member { base, member } = e.kind else { panic!() };
    assert_eq!(member.name, "username");
    assert!(matches!(base.kind, ExprKind::Member { .. }));
}

#[test]
fn literals() {
    assert_eq!(lit(&expr_ok("'it''s'")), &Literal::String("its".into()));
    assert_eq!(lit(&expr_ok(r#"@"C:\dir""#)), &Literal::String(r"C:\dir".into()));
    assert_eq!(lit(&expr_ok(r#"h"secret""#)), &Literal::String("secret".into()));
    assert_eq!(lit(&expr_ok("\"a\" 'b'")), &Literal::String("ab".into()));
    assert_eq!(lit(&expr_ok("```multi\nline```")), &Literal::String("multi\nline".into()));
    assert_eq!(lit(&expr_ok("42")), &Literal::Long(42));
    assert_eq!(lit(&expr_ok("int(42)")), &Literal::Int(42));
    assert_eq!(lit(&expr_ok("long(-3)")), &Literal::Long(-3));
    assert_eq!(lit(&expr_ok("2.5")), &Literal::Real(2.5));
    assert_eq!(lit(&expr_ok("real(2)")), &Literal::Real(2.0));
    assert!(matches!(lit(&expr_ok("real(nan)")), Literal::Real(v) if v.is_nan()));
    assert_eq!(lit(&expr_ok("true")), &Literal::Bool(true));
    assert_eq!(lit(&expr_ok("bool(false)")), &Literal::Bool(false));
    assert_eq!(lit(&expr_ok("datetime(2024-01-01)")), &Literal::DateTime(1_704_067_200_000_000_000));
    assert_eq!(lit(&expr_ok("datetime(\"2024-01-01\")")), &Literal::DateTime(1_704_067_200_000_000_000));
    assert_eq!(lit(&expr_ok("datetime(null)")), &Literal::Null(ScalarType::DateTime));
    assert_eq!(lit(&expr_ok("long(null)")), &Literal::Null(ScalarType::Long));
    for (text, nanos) in [
        ("5m", 300_000_000_000i64),
        ("1h", 3_600_000_000_000),
        ("100ms", 100_000_000),
        ("1d", 86_400_000_000_000),
        ("30s", 30_000_000_000),
        ("0.5h", 1_800_000_000_000),
        ("10microsecond", 10_000),
        ("3tick", 300),
        ("timespan(2h)", 7_200_000_000_000),
        ("time(00:01:00)", 60_000_000_000),
    ] {
        assert_eq!(lit(&expr_ok(text)), &Literal::Timespan(nanos), "{text}");
    }
}

#[test]
fn dynamic_literals() {
    assert_eq!(
        lit(&expr_ok("dynamic([1, 'a', -2.5, null, true, {\"k\": [2]}])")),
        &Literal::Dynamic(Dynamic::Array(vec![
            Dynamic::Long(1),
            Dynamic::String("a".into()),
            Dynamic::Real(-2.5),
            Dynamic::Null,
            Dynamic::Bool(true),
            Dynamic::Object(vec![("k".into(), Dynamic::Array(vec![Dynamic::Long(2)]))]),
        ]))
    );
    assert_eq!(lit(&expr_ok("dynamic(null)")), &Literal::Dynamic(Dynamic::Null));
    assert!(same_expr("dynamic({\"a\":1}).a", "(dynamic({\"a\": 1})).a"));
}

#[test]
fn quoted_identifiers() {
    let e = expr_ok("['number of clusters']");
    assert!(matches!(&e.kind, ExprKind::Name(n) if n.name == "number of clusters"));
    let OperatorKind::Extend(items) = only_operator("T | extend [\"a b\"] = 1, ['c'] = ['a b'] + 1") else {
        panic!()
    };
    assert_eq!(items[0].name.as_ref().map(|n| n.name.as_str()), Some("a b"));
    assert_eq!(items[1].name.as_ref().map(|n| n.name.as_str()), Some("c"));
}

#[test]
fn comments_multiline_and_trailing_semicolon() {
    assert!(same_query(
        "// heading\nT // the table\n| where a == 1 // filter\n\n| count;\n",
        "T | where a == 1 | count"
    ));
}

#[test]
fn let_statements() {
    let q = parse_ok(
        "let n = 5;\nlet t = T | where x > n;\nlet c = materialize(t | take 1);\nlet f = (a: long, b: string = 'x') { a + 1 };\nlet u = t;\nc | extend y = f(1)",
    );
    let lets: Vec<_> = q.lets().collect();
    assert_eq!(lets.len(), 5);
    assert!(matches!(&lets[0].value, LetValue::Expr(e) if lit(e) == &Literal::Long(5)));
    assert!(matches!(&lets[1].value, LetValue::Tabular(t) if t.operators.len() == 1));
    assert!(matches!(&lets[2].value, LetValue::Materialize(t, _) if t.operators.len() == 1));
    let LetValue::Function(f) = &lets[3].value else { panic!() };
    assert_eq!(f.params.len(), 2);
    assert_eq!(f.params[1].ty.as_ref().map(|t| t.name.as_str()), Some("string"));
    assert!(f.params[1].default.is_some());
    // A bare name may be a table or a scalar: left to the engine.
    assert!(matches!(&lets[4].value, LetValue::Expr(Expr { kind: ExprKind::Name(_), .. })));
    assert!(matches!(&q.result().expect("result").source, Source::Name(n) if n.name == "c"));
}

#[test]
fn where_and_filter_are_the_same() {
    assert!(same_query("T | where a > 1", "T | filter a > 1"));
    assert!(same_query("T | take 5", "T | limit 5"));
    assert!(same_query("T | sort by a desc", "T | order by a desc"));
    assert!(same_query("T | mv-expand a", "T | mvexpand a"));
}

#[test]
fn project_family() {
    let OperatorKind::Project(items) = only_operator("T | project a, b = c + 1, tostring(d.e)") else {
        panic!()
    };
    assert_eq!(items.len(), 3);
    assert!(items[0].name.is_none());
    assert_eq!(items[1].name.as_ref().map(|n| n.name.as_str()), Some("b"));
    let OperatorKind::ProjectAway(names) = only_operator("T | project-away a, b*, *_s, ['c d']") else {
        panic!()
    };
    let names: Vec<_> = names.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["a", "b*", "*_s", "c d"]);
    let OperatorKind::ProjectRename(r) = only_operator("T | project-rename new1 = old1, new2 = old2") else {
        panic!()
    };
    assert_eq!((r[1].new.name.as_str(), r[1].old.name.as_str()), ("new2", "old2"));
    let OperatorKind::ProjectKeep(names) = only_operator("T | project-keep a, b*, ['c d']") else { panic!() };
    let names: Vec<_> = names.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["a", "b*", "c d"]);
    let OperatorKind::ProjectReorder(keys) = only_operator("T | project-reorder a, b* desc, *_s asc") else {
        panic!()
    };
    let keys: Vec<_> = keys.iter().map(|k| (k.name.name.as_str(), k.order)).collect();
    assert_eq!(keys, [("a", None), ("b*", Some(SortOrder::Desc)), ("*_s", Some(SortOrder::Asc))]);
}

#[test]
fn serialize_with_and_without_columns() {
    assert_eq!(only_operator("T | serialize"), OperatorKind::Serialize(Vec::new()));
    let t = only_pipeline("T | serialize | take 1");
    assert_eq!(t.operators[0].kind, OperatorKind::Serialize(Vec::new()));
    assert_eq!(t.operators[1].kind.name(), "take");
    let OperatorKind::Serialize(items) = only_operator("T | serialize n = row_number(), prev(a, 2)") else {
        panic!()
    };
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].name.as_ref().map(|n| n.name.as_str()), Some("n"));
    assert!(items[1].name.is_none());
    assert_prints_back(&[
        "T | serialize",
        "T | serialize | extend p = prev(a, 1, 0), q = next(a)",
        "T | serialize n = row_number(1, a != prev(a)), s = row_cumsum(x, b)",
        "(T | serialize) | take 1",
    ]);
}

#[test]
fn project_keep_reorder_lookup_and_getschema_print_back() {
    assert_prints_back(&[
        "T | project-keep a, b*, ['c d']",
        "T | project-reorder a, b* desc, *_s asc, ['c d']",
        "T | lookup (D) on k",
        "T | project a | getschema",
        "T | as ['my rows'] | join (['my rows'] | take 1) on a",
        "T | as hint.materialized=true X | union X",
        "T | lookup kind=inner (D | where x > 1) on k, $left.a == $right.b",
    ]);
}

#[test]
fn top_nested_levels_parse_and_print_back() {
    assert_prints_back(&[
        "T | top-nested 3 of a by count()",
        "T | top-nested of a by n = sum(x) asc",
        "T | top-nested 2 of k = tolower(a) with others = \"other\" by avg(x) desc, top-nested 1 of b by count()",
        "T | top-nested 5 of a by count(), top-nested of b by max(x), top-nested 2 of c by dcount(u)",
        "T | top-hitters 3 of a",
        "T | top-hitters 10 of tolower(a) by bytes * 2",
    ]);
    let OperatorKind::TopNested(levels) =
        only_operator("T | top-nested 2 of State by total = sum(x), top-nested of Source by count() asc")
    else {
        panic!()
    };
    assert_eq!(levels.len(), 2);
    assert!(levels[0].count.is_some() && levels[1].count.is_none());
    assert_eq!(levels[0].by.name.as_ref().map(|n| n.name.as_str()), Some("total"));
    assert_eq!((levels[0].order, levels[1].order), (None, Some(SortOrder::Asc)));
    // A level must be introduced by `top-nested`, and needs `of` and `by`.
    for bad in
        ["T | top-nested 2 of a by count(), take 3", "T | top-nested 2 a by count()", "T | top-nested 2 of a"]
    {
        assert!(kql::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn dashed_names_only_glue_when_adjacent() {
    // `a-b` in an expression stays a subtraction.
    assert!(same_expr("a-b", "a - b"));
    let OperatorKind::Extend(items) = only_operator("T | extend d = project-away") else { panic!() };
    assert!(matches!(items[0].expr.kind, ExprKind::Binary { op: BinaryOp::Sub, .. }));
}

#[test]
fn summarize_shapes() {
    let OperatorKind::Summarize(s) = only_operator(
        "T | summarize count(), p99 = percentile(l, 99), dcount(u) by bin(t, 5m), k = tostring(x)",
    ) else {
        panic!()
    };
    assert_eq!(s.aggregates.len(), 3);
    assert_eq!(s.by.len(), 2);
    assert_eq!(s.by[1].name.as_ref().map(|n| n.name.as_str()), Some("k"));
    let OperatorKind::Summarize(s) = only_operator("T | summarize by a, b") else { panic!() };
    assert!(s.aggregates.is_empty());
    assert_eq!(s.by.len(), 2);
    let OperatorKind::Summarize(s) = only_operator("T | summarize hint.strategy=shuffle count() by a") else {
        panic!()
    };
    assert_eq!(s.params[0].name.name, "hint.strategy");
    let OperatorKind::Summarize(s) = only_operator("T | summarize arg_max(TimeGenerated, *) by a") else {
        panic!()
    };
    let ExprKind::Call { args, .. } = &s.aggregates[0].expr.kind else { panic!() };
    assert_eq!(args[1].kind, ExprKind::Wildcard);
}

#[test]
fn sorting_and_top() {
    let OperatorKind::Sort(keys) = only_operator("T | sort by a asc nulls first, b desc, c") else {
        panic!()
    };
    assert_eq!(keys[0].order, Some(SortOrder::Asc));
    assert_eq!(keys[0].nulls, Some(NullsOrder::First));
    assert_eq!(keys[1].order, Some(SortOrder::Desc));
    assert_eq!(keys[2].order, None);
    let OperatorKind::Top(top) = only_operator("T | top 3 by x desc nulls last") else { panic!() };
    assert_eq!(lit(&top.count), &Literal::Long(3));
    assert_eq!(top.by.nulls, Some(NullsOrder::Last));
}

#[test]
fn count_distinct_take() {
    assert_eq!(only_operator("T | count"), OperatorKind::Count);
    assert!(matches!(only_operator("T | distinct a, b"), OperatorKind::Distinct(c) if c.len() == 2));
    assert!(matches!(only_operator("T | distinct *"), OperatorKind::Distinct(c) if c.is_empty()));
    assert!(matches!(only_operator("T | take 10"), OperatorKind::Take(_)));
}

#[test]
fn render_with_properties() {
    let OperatorKind::Render(r) =
        only_operator("T | render timechart with (title='Latency', ycolumns=a, b, xtitle=\"t\")")
    else {
        panic!()
    };
    assert_eq!(r.kind.name, "timechart");
    let props: Vec<_> = r.properties.iter().map(|p| (p.name.name.as_str(), p.values.len())).collect();
    assert_eq!(props, [("title", 1), ("ycolumns", 2), ("xtitle", 1)]);
}

#[test]
fn union_forms() {
    let q = only_pipeline("union withsource=_TableName * | where _TableName == 'AzureDiagnostics'");
    let Source::Union(u) = &q.source else { panic!() };
    assert_eq!(u.withsource.as_ref().map(|w| w.name.as_str()), Some("_TableName"));
    assert!(matches!(&u.tables[0].source, Source::Pattern(p) if p.name == "*"));
    assert_eq!(q.operators.len(), 1);
    let q = only_pipeline("union kind=outer A, Azure*, (B | where x)");
    let Source::Union(u) = &q.source else { panic!() };
    assert_eq!(u.params[0].name.name, "kind");
    assert!(matches!(&u.tables[1].source, Source::Pattern(p) if p.name == "Azure*"));
    assert_eq!(u.tables[2].operators.len(), 1);
    let OperatorKind::Union(u) = only_operator("T | union (U | project a)") else { panic!() };
    assert_eq!(u.tables.len(), 1);
}

#[test]
fn join_forms() {
    let OperatorKind::Join(j) =
        only_operator("T | join kind=leftouter (U | where x) on a, $left.b == $right.c, $right.e == $left.d")
    else {
        panic!()
    };
    assert_eq!(j.kind.map(|k| k.0), Some(JoinKind::LeftOuter));
    assert_eq!(j.right.operators.len(), 1);
    assert!(matches!(&j.on[0], JoinKey::Same(n) if n.name == "a"));
    assert!(matches!(&j.on[1], JoinKey::Pair { left, right, .. } if left.name == "b" && right.name == "c"));
    // Written right-to-left, still normalised so `left` is the left side's column.
    assert!(matches!(&j.on[2], JoinKey::Pair { left, right, .. } if left.name == "d" && right.name == "e"));
    let OperatorKind::Join(j) = only_operator("T | join U on id") else { panic!() };
    assert_eq!(j.kind, None);
    assert!(matches!(&j.right.source, Source::Name(n) if n.name == "U"));
}

#[test]
fn mv_expand_forms() {
    let OperatorKind::MvExpand(m) =
        only_operator("T | mv-expand with_itemindex=i c = x.items to typeof(string), d limit 100")
    else {
        panic!()
    };
    assert_eq!(m.params[0].name.name, "with_itemindex");
    assert_eq!(m.items[0].name.as_ref().map(|n| n.name.as_str()), Some("c"));
    assert_eq!(m.items[0].to_type.as_ref().map(|n| n.name.as_str()), Some("string"));
    assert!(m.items[1].name.is_none());
    assert_eq!(lit(m.limit.as_ref().expect("limit")), &Literal::Long(100));
}

#[test]
fn parse_operator() {
    let OperatorKind::Parse(p) =
        only_operator("T | parse kind=relaxed url with * \"?command=\" command \"&n=\" n:long \"&\" *")
    else {
        panic!()
    };
    assert_eq!(p.params[0].name.name, "kind");
    let shape: Vec<String> = p
        .pattern
        .iter()
        .map(|part| match part {
            ParsePart::Wildcard(_) => "*".to_string(),
            ParsePart::Literal(s, _) => format!("'{s}'"),
            ParsePart::Column { name, ty } => match ty {
                Some(t) => format!("{}:{}", name.name, t.name),
                None => name.name.clone(),
            },
        })
        .collect();
    assert_eq!(shape, ["*", "'?command='", "command", "'&n='", "n:long", "'&'", "*"]);
}

#[test]
fn search_forms() {
    let q = only_pipeline("search * | where Type == 'X'");
    let Source::Search(s) = &q.source else { panic!() };
    assert_eq!(s.predicate.kind, ExprKind::Wildcard);
    let q = only_pipeline("search in (A, B*) \"error\"");
    let Source::Search(s) = &q.source else { panic!() };
    assert_eq!(s.tables.len(), 2);
    assert_eq!(lit(&s.predicate), &Literal::String("error".into()));
    assert!(matches!(only_operator("T | search kind=case_sensitive x == 1"), OperatorKind::Search(_)));
}

#[test]
fn make_series_forms() {
    let OperatorKind::MakeSeries(m) = only_operator(
        "T | make-series n = count() default=0, avg(x) on t from ago(1d) to now() step 1h by k",
    ) else {
        panic!()
    };
    assert_eq!(m.aggregates.len(), 2);
    assert!(m.aggregates[0].default.is_some());
    assert!(m.from.is_some() && m.to.is_some());
    assert_eq!(lit(&m.step), &Literal::Timespan(3_600_000_000_000));
    assert_eq!(m.by.len(), 1);
    let OperatorKind::MakeSeries(m) = only_operator("T | make-series count() on t in range(a, b, 5m)") else {
        panic!()
    };
    assert!(m.from.is_some() && m.to.is_some());
}

#[test]
fn tabular_sources() {
    let q = only_pipeline("datatable(a: string, b: long) ['x', 1, 'y', 2] | where b > 1");
    let Source::Datatable(d) = &q.source else { panic!() };
    assert_eq!(d.columns.len(), 2);
    assert_eq!(d.values.len(), 4);
    assert!(
        matches!(&only_pipeline("print x = 1, y = 'a'").source, Source::Print(items) if items.len() == 2)
    );
    assert!(
        matches!(&only_pipeline("range i from 1 to 10 step 2").source, Source::Range(r) if r.column.name == "i")
    );
    assert!(matches!(&only_pipeline("(T | take 5) | count").source, Source::Paren(_)));
}

#[test]
fn several_statements() {
    let q = parse_ok("T | count; U | take 1");
    assert_eq!(q.statements.len(), 2);
    assert!(matches!(&q.result().expect("result").source, Source::Name(n) if n.name == "U"));
}

#[test]
fn spans_point_at_the_source_text() {
    let source = "AKSAudit\n| where Verb == 'get'\n| project-away   UserAgent";
    let t = only_pipeline(source);
    assert_eq!(t.span.text(source), source);
    assert_eq!(t.operators[0].span.text(source), "where Verb == 'get'");
    assert_eq!(t.operators[1].span.text(source), "project-away   UserAgent");
    let OperatorKind::Where(e) = &t.operators[0].kind else { panic!() };
    let ExprKind::Binary { right, .. } = &e.kind else { panic!() };
    assert_eq!(right.span.text(source), "'get'");
}

#[test]
fn extra_functions_are_accepted_when_configured() {
    let options = ParseOptions { extra_functions: vec!["my_udf".into()], ..ParseOptions::default() };
    assert!(parse_with("T | extend x = my_udf(1)", &options).is_ok());
    assert!(parse("T | extend x = my_udf(1)").is_err());
    let unchecked = ParseOptions { check_functions: false, ..ParseOptions::default() };
    assert!(parse_with("T | extend x = anything(1)", &unchecked).is_ok());
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    for depth in [MAX_DEPTH + 1, 10_000] {
        let source = format!("T | where {}1{}", "(".repeat(depth), ")".repeat(depth));
        let err = parse(&source).expect_err("too deep");
        assert_eq!(err.kind, ParseErrorKind::TooDeep);
        let chain = format!("T | where {}", vec!["a"; depth].join(" or "));
        let err = parse(&chain).expect_err("too deep");
        assert_eq!(err.kind, ParseErrorKind::TooDeep);
        // Review 27 (kql §9): a flat chain is told as one, with what reads the same.
        let help = err.help.as_deref().unwrap_or_default();
        assert!(help.contains("operators in a row") && help.contains("`Column in (…)`"), "{help}");
        let members = format!("T | where a{}", ".b".repeat(depth));
        assert_eq!(parse(&members).expect_err("too deep").kind, ParseErrorKind::TooDeep);
        let unary = format!("T | where {}1", "-".repeat(depth));
        assert_eq!(parse(&unary).expect_err("too deep").kind, ParseErrorKind::TooDeep);
        let dynamic = format!("T | where dynamic({}1{})", "[".repeat(depth), "]".repeat(depth));
        assert_eq!(parse(&dynamic).expect_err("too deep").kind, ParseErrorKind::TooDeep);
    }
    // Realistic depth is fine.
    let source = format!("T | where {}1{}", "(".repeat(50), ")".repeat(50));
    assert!(parse(&source).is_ok());
}

#[test]
fn huge_unknown_names_are_not_compared_for_suggestions() {
    // Edit distance over a megabyte-long name would take minutes; it is no misspelling.
    let name = "x".repeat(1 << 20);
    let err = parse(&format!("T | extend y = {name}(1)")).expect_err("unknown function");
    assert_eq!(err.kind, ParseErrorKind::UnknownFunction);
    assert_eq!(err.help, None);
    let err = parse(&format!("T | {name}")).expect_err("unknown operator");
    assert_eq!(err.help, None);
}

#[test]
fn union_of_a_quoted_table_name() {
    let q = only_pipeline("union ['My Table'], [\"with\"]");
    let Source::Union(u) = &q.source else { panic!("{q:?}") };
    assert!(matches!(&u.tables[0].source, Source::Name(n) if n.name == "My Table"));
    assert!(matches!(&u.tables[1].source, Source::Name(n) if n.name == "with"));
}

#[test]
fn names_that_read_as_keywords_print_quoted() {
    assert_prints_back(&[
        "T | extend ['union'] = 1 | where ['union'] + 1 > 2",
        "T | mv-expand ['with_itemindex'] = a",
        "T | project ['by'], ['print'], x = ['kind']",
        "union ['with'], ['search'] | take 1",
    ]);
}

#[test]
fn quoted_table_names_in_search_print_back() {
    assert_prints_back(&["search in (['a b'], C*) 'x'"]);
}

#[test]
fn quoted_names_everywhere_print_back() {
    assert_prints_back(&[
        "datatable(['a b']: ['string']) ['x']",
        "T | render table with (['my prop'] = 1, ['b'] = a, c)",
        "T | mv-expand x to typeof(['string'])",
        "T | parse x with a: ['long'] '-' *",
        "let f = (x: ['long']) { x }; T | extend y = f(1)",
    ]);
}

#[test]
fn render_property_with_a_quoted_name_starts_a_new_property() {
    let OperatorKind::Render(r) = only_operator("T | render table with (ycolumns = a, b, ['x title'] = 'n')")
    else {
        panic!()
    };
    let props: Vec<_> = r.properties.iter().map(|p| (p.name.name.as_str(), p.values.len())).collect();
    assert_eq!(props, [("ycolumns", 2), ("x title", 1)]);
}

#[test]
fn a_parameter_value_is_one_name_or_literal() {
    let OperatorKind::Parse(p) = only_operator("T | parse kind=['relaxed'] ['col'] with * 'x' y") else {
        panic!()
    };
    assert!(matches!(&p.params[0].value.kind, ExprKind::Name(n) if n.name == "relaxed"));
    assert!(matches!(&p.expr.kind, ExprKind::Name(n) if n.name == "col"));
    let OperatorKind::Summarize(s) = only_operator("T | summarize hint.num_partitions=-4 count()") else {
        panic!()
    };
    assert!(matches!(&s.params[0].value.kind, ExprKind::Unary { op: UnaryOp::Neg, .. }));
}
