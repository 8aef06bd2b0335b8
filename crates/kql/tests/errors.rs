//! Errors a person can act on: every message rendered with `line:col`, the source line, a
//! caret under the spot and, where one helps, a hint. One snapshot holds them all so a
//! reviewer reads them together.

use kql::ParseErrorKind;

const CASES: &[(&str, &str)] = &[
    ("misspelt operator", "AKSAudit\n| wher Verb == 'get'"),
    ("operator in the wrong case", "AKSAudit | Where Verb == 'get'"),
    ("misspelt dashed operator", "AKSAudit | project-awya UserAgent"),
    ("misspelt function", "AKSAudit | extend u = tostrin(User)"),
    ("function in the wrong case", "AKSAudit | summarize Count() by UserAgent"),
    ("unsupported facet", "AKSAudit | facet by Verb"),
    ("evaluate without a plugin call", "AKSAudit\n| evaluate bag_unpack"),
    ("unsupported partition subquery", "AKSAudit | partition by Verb { take 1 }"),
    ("partition without its subquery", "AKSAudit | partition by Verb"),
    ("top-hitters without of", "AKSAudit | top-hitters 3 Verb"),
    ("top-nested level without top-nested", "AKSAudit | top-nested 3 of Verb by count(), take 2"),
    ("unsupported fork", "AKSAudit | fork (take 1)"),
    ("mv-apply without on", "AKSAudit | mv-apply SourceIps | take 1"),
    ("sample-distinct without of", "AKSAudit | sample-distinct 10 Verb"),
    ("unsupported evaluate as source", "evaluate pivot(x)"),
    ("expression missing at the end", "AKSAudit | where"),
    ("operand missing", "AKSAudit | where Verb == | take 1"),
    ("string not closed", "AKSAudit | where Verb == \"get"),
    ("parenthesis not closed", "AKSAudit | where (Verb == 'get'"),
    ("invalid datetime", "AKSAudit | where TimeGenerated > datetime(2024-13-01)"),
    ("invalid timespan unit", "AKSAudit | where TimeGenerated > ago(5x)"),
    ("workbook parameter left in", "AzureDiagnostics\n| where TimeGenerated {timeframe}"),
    ("workbook parameter in a list", "AzureDiagnostics | where tolower(ResourceId) in ({clustername})"),
    ("pipe missing", "AKSAudit where Verb == 'get'"),
    ("semicolon missing after let", "let n = 10\nAKSAudit | take n"),
    ("function parameter without a type", "let f = (x) { x + 1 };\nAKSAudit | extend y = f(1)"),
    ("empty query", "// nothing but a comment\n"),
    ("only let statements", "let n = 10;"),
    ("unknown chart", "AKSAudit | render timechar"),
    ("unknown join kind", "AKSAudit | join kind=leftoutr (AKSAuditAdmin) on UserAgent"),
    ("join condition not equality", "AKSAudit | join (AKSAuditAdmin) on $left.a > $right.b"),
    ("between with a comma", "AKSAudit | where TimeGenerated between (ago(1h), now())"),
    ("sort without by", "AKSAudit | sort TimeGenerated desc"),
    ("top without by", "AKSAudit | top 10 count_"),
    ("summarize without aggregates", "AKSAudit | summarize"),
    ("integer too large", "AKSAudit | take 99999999999999999999"),
    ("unknown escape", "AKSAudit | where RequestUri == \"\\q\""),
    ("typographic quotes", "AKSAudit | where Verb == \u{201c}get\u{201d}"),
    ("tab before the error", "AKSAudit\n|\twhere\tVerb ==="),
    ("error on a later line", "AKSAudit\n| where Verb == 'get'\n| summarize count() by\n| take 1"),
    ("literal call with a column", "AKSAudit | extend n = long(Count)"),
    ("pipe after a scalar", "let x = 1 + 2 | count; x"),
    ("assignment instead of comparison", "AKSAudit | where Verb = 'get'"),
    ("parameter given twice", "union withsource=A kind=outer withsource=B AKSAudit"),
    ("misspelt keyword", "AKSAudit | sort by TimeGenerated decs"),
    ("upper-case keyword", "AKSAudit | where Verb == 'get' AND Code == 200"),
    ("slip in a nested pipeline", "AKSAudit | where User in (AKSAuditAdmin | where a = 1 | project User)"),
    (
        "nested too deeply",
        "AKSAudit | where ((((((((((((((((((((((((((((((((((((((((((((((((((((((1))))))))))))))))))))))))))))))))))))))))))))))))))))))",
    ),
];

#[test]
fn error_messages() {
    let mut out = String::new();
    for (name, source) in CASES {
        let err = match kql::parse(source) {
            Ok(q) => panic!("{name}: parsed as {q}"),
            Err(e) => e,
        };
        out.push_str(&format!("## {name} ({:?})\n", err.kind));
        out.push_str(&err.render(source, "query.kql"));
        out.push('\n');
    }
    insta::assert_snapshot!(out);
}

#[test]
fn unsupported_operators_are_their_own_kind() {
    for op in kql::UNSUPPORTED_OPERATORS {
        let source = format!("AKSAudit | {op} x");
        let err = kql::parse(&source).expect_err(op);
        assert_eq!(err.kind, ParseErrorKind::Unsupported, "{op}");
        assert_eq!(err.message, format!("not supported yet: {op}"));
        assert_eq!(err.span.text(&source), *op);
    }
}
