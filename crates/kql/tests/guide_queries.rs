//! The six queries of Microsoft's AKS API server troubleshooting guide (issue 3) parse into
//! the tree the engine plans from.

use kql::*;

fn load(name: &str) -> String {
    let path = format!(
        "{}/tests/queries/{name}.kql",
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into())
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn pipeline(source: &str) -> TabularExpr {
    let query = parse(source).unwrap_or_else(|e| panic!("{}", e.render(source, "query")));
    assert_eq!(query.statements.len(), 1);
    query.result().expect("a tabular statement").clone()
}

fn op_names(t: &TabularExpr) -> Vec<&'static str> {
    t.operators.iter().map(|o| o.kind.name()).collect()
}

/// `TimeGenerated between(now(-1h)..now())`, as every guide query starts.
fn assert_last_hour_filter(source: &str, op: &Operator) {
    let OperatorKind::Where(pred) = &op.kind else { panic!("not a where: {op:?}") };
    let ExprKind::Between { expr, low, high, negated } = &pred.kind else {
        panic!("not a between: {pred:?}")
    };
    assert!(!negated);
    assert!(matches!(&expr.kind, ExprKind::Name(n) if n.name == "TimeGenerated"));
    let ExprKind::Call { name, args } = &low.kind else { panic!("low bound: {low:?}") };
    assert_eq!(name.name, "now");
    assert_eq!(args.len(), 1);
    let ExprKind::Unary { op: UnaryOp::Neg, operand } = &args[0].kind else { panic!("{args:?}") };
    assert_eq!(operand.kind, ExprKind::Literal(Literal::Timespan(3_600_000_000_000)));
    assert!(matches!(&high.kind, ExprKind::Call { name, args } if name.name == "now" && args.is_empty()));
    assert_eq!(pred.span.text(source), "TimeGenerated between(now(-1h)..now())");
}

#[test]
fn top_useragents_aksaudit_tree() {
    let source = load("supportdocs__troubleshoot-apiserver-etcd-top-useragents-aksaudit");
    let query = parse(&source).expect("parses");
    insta::assert_debug_snapshot!(query);
}

#[test]
fn top_useragents_aksaudit() {
    let source = load("supportdocs__troubleshoot-apiserver-etcd-top-useragents-aksaudit");
    let t = pipeline(&source);
    assert!(matches!(&t.source, Source::Name(n) if n.name == "AKSAudit"));
    assert_eq!(op_names(&t), ["where", "summarize", "top", "project"]);
    assert_last_hour_filter(&source, &t.operators[0]);
    let OperatorKind::Summarize(s) = &t.operators[1].kind else { panic!() };
    assert_eq!(s.aggregates.len(), 1);
    assert!(s.aggregates[0].name.is_none());
    assert_eq!(s.aggregates[0].expr.span.text(&source), "count()");
    assert_eq!(s.by.len(), 1);
    assert_eq!(s.by[0].expr.span.text(&source), "UserAgent");
    let OperatorKind::Top(top) = &t.operators[2].kind else { panic!() };
    assert_eq!(top.count.kind, ExprKind::Literal(Literal::Long(10)));
    assert_eq!(top.by.expr.span.text(&source), "count_");
    assert_eq!(top.by.order, None);
    assert_eq!(t.operators[2].span.text(&source), "top 10 by count_");
    let OperatorKind::Project(cols) = &t.operators[3].kind else { panic!() };
    let names: Vec<_> = cols.iter().map(|c| c.expr.span.text(&source)).collect();
    assert_eq!(names, ["UserAgent", "count_"]);
}

#[test]
fn top_users_azurediagnostics() {
    let source = load("supportdocs__troubleshoot-apiserver-etcd-top-users-azurediagnostics");
    let t = pipeline(&source);
    assert_eq!(op_names(&t), ["where", "where", "extend", "extend", "summarize", "top", "project"]);
    assert_last_hour_filter(&source, &t.operators[0]);
    let OperatorKind::Extend(ext) = &t.operators[3].kind else { panic!() };
    assert_eq!(ext[0].name.as_ref().map(|n| n.name.as_str()), Some("User"));
    // tostring(event.user.username): a call over two member accesses.
    let ExprKind::Call { name, args } = &ext[0].expr.kind else { panic!() };
    assert_eq!(name.name, "tostring");
    let ExprKind::Member { base, member } = &args[0].kind else { panic!() };
    assert_eq!(member.name, "username");
    assert!(matches!(&base.kind, ExprKind::Member { member, .. } if member.name == "user"));
}

#[test]
fn latency_timecharts() {
    for (name, by0) in [
        ("supportdocs__troubleshoot-apiserver-etcd-latency-by-useragent-timechart-aksaudit", "UserAgent"),
        ("supportdocs__troubleshoot-apiserver-etcd-latency-by-user-timechart-azurediagnostics", "User"),
    ] {
        let source = load(name);
        let t = pipeline(&source);
        let n = t.operators.len();
        let OperatorKind::Summarize(s) = &t.operators[n - 2].kind else { panic!("{name}") };
        assert_eq!(s.aggregates[0].expr.span.text(&source), "avg(latency)");
        assert_eq!(s.by[0].expr.span.text(&source), by0);
        let ExprKind::Call { name: bin, args } = &s.by[1].expr.kind else { panic!() };
        assert_eq!(bin.name, "bin");
        assert_eq!(args[1].kind, ExprKind::Literal(Literal::Timespan(300_000_000_000)));
        let OperatorKind::Render(r) = &t.operators[n - 1].kind else { panic!() };
        assert_eq!(r.kind.name, "timechart");
        // datetime_diff('millisecond', end_time, start_time)
        let OperatorKind::Extend(ext) = &t.operators[n - 3].kind else { panic!() };
        let ExprKind::Call { name: f, args } = &ext[0].expr.kind else { panic!() };
        assert_eq!(f.name, "datetime_diff");
        assert_eq!(args[0].kind, ExprKind::Literal(Literal::String("millisecond".into())));
    }
}

#[test]
fn p99_latency_by_resource() {
    for name in [
        "supportdocs__troubleshoot-apiserver-etcd-p99-latency-by-resource-aksaudit",
        "supportdocs__troubleshoot-apiserver-etcd-p99-latency-by-resource-azurediagnostics",
    ] {
        let source = load(name);
        let t = pipeline(&source);
        let n = t.operators.len();
        let OperatorKind::Summarize(s) = &t.operators[n - 2].kind else { panic!("{name}") };
        assert_eq!(s.aggregates[0].name.as_ref().map(|i| i.name.as_str()), Some("p99latency"));
        let ExprKind::Call { name: f, args } = &s.aggregates[0].expr.kind else { panic!() };
        assert_eq!(f.name, "percentile");
        assert_eq!(args[1].kind, ExprKind::Literal(Literal::Long(99)));
        let by: Vec<_> = s.by.iter().map(|b| b.expr.span.text(&source)).collect();
        assert_eq!(by, ["HttpMethod", "Resource"]);
        let OperatorKind::Render(r) = &t.operators[n - 1].kind else { panic!() };
        assert_eq!(r.kind.name, "table");
        // `where Resource != ""`
        let has_not_empty = t.operators.iter().any(|o| {
            matches!(&o.kind, OperatorKind::Where(e) if matches!(&e.kind,
                ExprKind::Binary { op: BinaryOp::NotEq, right, .. }
                    if right.kind == ExprKind::Literal(Literal::String(String::new()))))
        });
        assert!(has_not_empty, "{name}");
    }
}
