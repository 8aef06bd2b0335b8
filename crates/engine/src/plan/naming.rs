//! KQL's names for result columns written without a name.
//!
//! A column reference keeps its name; a member path joins its steps with `_`
//! (`logs.verb` → `logs_verb`, `Annotations["a"]` → `Annotations_a`, `d[i]` → `d_`), a step
//! of an unnamed value is named alone (`parse_json(s).c` is `s_c`, `parse_json("…").c` is `c`;
//! see [`path`]); a built-in function is
//! named as Kusto's declaration of it says (its `ResultNameKind`, see [`result_name`]):
//! a conversion, `bin` or `round` of a column keeps the column's name (`tostring(userAgent)` →
//! `userAgent`, `bin(start_time, 5m)` → `start_time`), `strlen(x)` is `strlen_x`,
//! `gettype(x)` `type_x`, and `tolower(x)`, `startofweek(t)` and the rest get no name; an
//! aggregate is `<prefix>_<argument>` (`count_`, `count_y`, `avg_latency`,
//! `percentile_latency_99`, `set_name`); `column_ifexists("c", …)` is `c` when the input has a
//! column `c` (see [`derived_in`]); anything else is `Column1`, `Column2`, … (`print_0`, … in
//! `print`).

use kql::{Expr, ExprKind, Literal};

/// How Kusto names the unnamed result of a built-in scalar function: the `ResultNameKind`
/// each declares in microsoft/Kusto-Query-Language (`src/Kusto.Language/Functions.cs`),
/// applied as its binder does (`GetFunctionResultName`). A function not listed here is
/// `None` there (Kusto's default): `ColumnN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResultName {
    /// `FirstArgument`: the first argument's name (`ColumnN` when it has none).
    FirstArgument,
    /// `OnlyArgument`: the argument's name when there is exactly one argument.
    OnlyArgument,
    /// `NameAndFirstArgument` / `PrefixAndFirstArgument`: `<prefix>_<first argument's name>`,
    /// with nothing after the `_` when the argument has no name (`strlen_`).
    Prefixed(&'static str),
}

/// The naming rule of the built-in scalar functions this engine supports (checked against
/// each one's declaration; the ones that are `None` there, such as `tolower`, `toupper`,
/// `trim`, `trim_start`, `trim_end`, `startofweek`, `startofmonth`, `startofyear`,
/// `substring` and `strcat`, are left out).
fn result_name(function: &str) -> Option<ResultName> {
    use ResultName::*;
    Some(match function {
        "bin" | "bin_at" | "floor" | "round" | "ceiling" | "startofday" | "tostring" | "toint" | "tolong"
        | "todouble" | "toreal" | "todecimal" | "tobool" | "toboolean" | "todatetime" | "totimespan"
        | "totime" | "toguid" | "todynamic" | "toobject" | "parse_json" | "tohex" | "split"
        | "format_datetime" | "format_timespan" | "abs" | "sqrt" | "exp" | "log" | "log10" | "log2"
        | "pow" => FirstArgument,
        "make_timespan" => OnlyArgument,
        "strlen" => Prefixed("strlen"),
        "dcount_hll" => Prefixed("dcount_hll"),
        "percentile_tdigest" => Prefixed("percentile_tdigest"),
        "gettype" => Prefixed("type"),
        "repeat" => Prefixed("repeat"),
        _ => return None,
    })
}

/// The name KQL derives from an expression, or `None` (then `ColumnN`).
pub fn derived(e: &Expr) -> Option<String> {
    match &e.kind {
        ExprKind::Name(id) => Some(id.name.clone()),
        ExprKind::Member { base, member } => path(derived(base), Some(member.name.clone())),
        ExprKind::Index { base, index } => {
            // Only a string, `long` or `int` literal names the step: `-1` is a minus applied to
            // a literal, not a literal, in Kusto's grammar, so `l[-1]` is `l_`.
            let key = match &index.kind {
                ExprKind::Literal(Literal::String(s)) => Some(s.clone()),
                ExprKind::Literal(Literal::Long(n)) => Some(n.to_string()),
                ExprKind::Literal(Literal::Int(n)) => Some(n.to_string()),
                _ => None,
            };
            path(derived(base), key)
        }
        ExprKind::Call { name, args } => match result_name(&name.name)? {
            ResultName::FirstArgument => args.first().and_then(derived),
            ResultName::OnlyArgument => match args.as_slice() {
                [only] => derived(only),
                _ => None,
            },
            ResultName::Prefixed(prefix) => {
                Some(format!("{prefix}_{}", args.first().and_then(derived).unwrap_or_default()))
            }
        },
        _ => None,
    }
}

/// The name of one step of a path (`base.step`, `base[step]`), as Kusto's binder gives it
/// (microsoft/Kusto-Query-Language, `Binder_Projection.cs`, `GetExpressionResultName`, its
/// `PathExpression` and `ElementExpression` cases): `<base>_<step>` when the base has a name
/// that is not blank, `<base>_` when the step has none (`d[i]`), else the step's name alone, so
/// a member of an unnamed value is named after the member (`todynamic('{"c":1}').c` → `c`).
fn path(base: Option<String>, step: Option<String>) -> Option<String> {
    match base {
        Some(base) if !base.trim().is_empty() => Some(format!("{base}_{}", step.unwrap_or_default())),
        _ => step,
    }
}

/// The name KQL gives an unnamed item of `project`, `extend`, `distinct` or the `by` of
/// `summarize` and `make-series`, over input rows that have the columns `has_column` accepts:
/// [`derived`], except that `column_ifexists("c", default)` is named `c` when the input has a
/// column `c`, and gets no name (`ColumnN`) when it has none, whatever `default` is.
///
/// Kusto declares `column_ifexists` with `ResultNameKind.FirstArgumentValueIfColumn`
/// (microsoft/Kusto-Query-Language, `src/Kusto.Language/Functions.cs`), and its binder
/// (`Binder_Projection.cs`, `GetFunctionResultName`) names the call after its constant first
/// argument only when the row scope has that column (`row.TryGetColumn(name, …)`, by exact
/// name), else by the default name. The binder passes the row scope only for the item's own,
/// outermost, call: inside another function (`tostring(column_ifexists("c", ""))`) the call
/// has no name, as [`derived`] gives.
pub fn derived_in(e: &Expr, has_column: impl Fn(&str) -> bool) -> Option<String> {
    if let ExprKind::Call { name, args } = &e.kind
        && name.name == "column_ifexists"
    {
        return match args.first().map(|a| &a.kind) {
            Some(ExprKind::Literal(Literal::String(c))) if has_column(c) => Some(c.clone()),
            _ => None,
        };
    }
    derived(e)
}

/// A number as it appears in a column name (`99` → `99`, `99.9` → `99_9`).
pub fn number_part(v: f64) -> String {
    let s = if v.fract() == 0.0 { format!("{}", v as i64) } else { format!("{v}") };
    s.replace(['.', '-'], "_")
}

/// The default name of an aggregate call: `count_`, `avg_x`, `percentile_x_99`, …
pub fn aggregate(func: &str, first_arg: Option<&Expr>) -> String {
    let prefix = match func {
        "make_set" | "make_set_if" | "makeset" => "set",
        "make_list" | "make_list_if" | "makelist" => "list",
        "make_bag" | "make_bag_if" => "bag",
        // Aggregates.cs: both names of the merge are `merge_tdigests_d`.
        "tdigest_merge" | "merge_tdigest" => "merge_tdigests",
        other => other,
    };
    // Kusto's PrefixAndFirstArgument: `count(y)` is `count_y`, `countif(IsOk)` `countif_IsOk`,
    // `countif(x > 0)` `countif_` (review 52b: count and countif always gave `…_`).
    match first_arg.and_then(derived) {
        Some(arg) => format!("{prefix}_{arg}"),
        None => format!("{prefix}_"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name_of(src: &str) -> Option<String> {
        derived(&kql::parse_expression(src).expect("valid expression"))
    }

    #[test]
    fn names_follow_kusto() {
        assert_eq!(name_of("UserAgent").as_deref(), Some("UserAgent"));
        assert_eq!(name_of("logs.verb").as_deref(), Some("logs_verb"));
        assert_eq!(name_of("logs.user.username").as_deref(), Some("logs_user_username"));
        assert_eq!(name_of("tostring(userAgent)").as_deref(), Some("userAgent"));
        assert_eq!(name_of("bin(start_time, 5m)").as_deref(), Some("start_time"));
        assert_eq!(name_of("parse_json(log_s)").as_deref(), Some("log_s"));
        assert_eq!(
            name_of(r#"logs.annotations["authorization.k8s.io/decision"]"#).as_deref(),
            Some("logs_annotations_authorization.k8s.io/decision")
        );
        assert_eq!(name_of("substring(pod_s, 0, 14)"), None);
        assert_eq!(name_of("a + 1"), None);
    }

    /// Binder_Projection.cs, `GetExpressionResultName`: a path step of a value without a name
    /// is named after the step alone; a key that is not a string, `long` or `int` literal adds
    /// an empty step.
    #[test]
    fn path_steps_follow_kusto() {
        assert_eq!(name_of(r#"todynamic('{"c":1}').c"#).as_deref(), Some("c"));
        assert_eq!(name_of(r#"tostring(todynamic('{"c":1}').c)"#).as_deref(), Some("c"));
        assert_eq!(name_of(r#"parse_json('{"c":1}')['c']"#).as_deref(), Some("c"));
        assert_eq!(name_of(r#"parse_json('[[1]]')[0]"#).as_deref(), Some("0"));
        assert_eq!(name_of(r#"parse_json('{"c":[1]}').c[0]"#).as_deref(), Some("c_0"));
        assert_eq!(name_of("todynamic(s).c").as_deref(), Some("s_c"));
        assert_eq!(name_of("(a + b).c").as_deref(), Some("c"));
        assert_eq!(name_of("d[int(2)]").as_deref(), Some("d_2"));
        assert_eq!(name_of("d[-1]").as_deref(), Some("d_"));
        assert_eq!(name_of("d[i]").as_deref(), Some("d_"));
        assert_eq!(name_of("d[1.5]").as_deref(), Some("d_"));
        assert_eq!(name_of("todynamic('[1]')[i]"), None);
        assert_eq!(name_of("tolower(x).c").as_deref(), Some("c"));
        assert_eq!(name_of("strlen(x).c").as_deref(), Some("strlen_x_c"));
    }

    /// Review 52 item 8: each built-in is named by its declared `ResultNameKind`.
    #[test]
    fn function_result_names_follow_kusto_declarations() {
        // `None`: no name, so `ColumnN`.
        for f in [
            "tolower(ResourceId)",
            "toupper(x)",
            "trim(\" \", x)",
            "trim_start(\" \", x)",
            "trim_end(\" \", x)",
            "startofweek(t)",
            "startofmonth(t)",
            "startofyear(t)",
            "make_timespan(1, 2)",
        ] {
            assert_eq!(name_of(f), None, "{f}");
        }
        // `FirstArgument`.
        for f in [
            "startofday(t)",
            "split(t, \"b\")",
            "format_datetime(t, \"yyyy\")",
            "format_timespan(t, \"hh\")",
            "tohex(t)",
            "totime(t)",
            "abs(t)",
            "round(t, 2)",
            "pow(t, 2)",
            "make_timespan(t)",
        ] {
            assert_eq!(name_of(f).as_deref(), Some("t"), "{f}");
        }
        assert_eq!(name_of("split(a + b, \"b\")"), None);
        // `NameAndFirstArgument` and `PrefixAndFirstArgument`.
        assert_eq!(name_of("strlen(x)").as_deref(), Some("strlen_x"));
        assert_eq!(name_of("strlen(a + b)").as_deref(), Some("strlen_"));
        assert_eq!(name_of("gettype(x)").as_deref(), Some("type_x"));
        assert_eq!(name_of("dcount_hll(h)").as_deref(), Some("dcount_hll_h"));
        assert_eq!(name_of("percentile_tdigest(d, 95)").as_deref(), Some("percentile_tdigest_d"));
        // Nested: the outer function takes the inner one's name.
        assert_eq!(name_of("tostring(strlen(x))").as_deref(), Some("strlen_x"));
        assert_eq!(name_of("tostring(tolower(x))"), None);
        let t = kql::parse_expression("tolower(x)").expect("valid");
        assert_eq!(aggregate("count", Some(&t)), "count_");
        let d = kql::parse_expression("d").expect("valid");
        assert_eq!(aggregate("tdigest_merge", Some(&d)), "merge_tdigests_d");
        assert_eq!(aggregate("merge_tdigest", Some(&d)), "merge_tdigests_d");
    }

    /// `column_ifexists` is `FirstArgumentValueIfColumn`: named after an existing column only,
    /// and only as the item's own call.
    #[test]
    fn column_ifexists_is_named_after_the_column_only_when_it_exists() {
        let e = |src: &str| kql::parse_expression(src).expect("valid expression");
        let has = |c: &str| c == "verb";
        assert_eq!(derived_in(&e(r#"column_ifexists("verb", "")"#), has).as_deref(), Some("verb"));
        assert_eq!(derived_in(&e(r#"column_ifexists("nope", 0)"#), has), None);
        assert_eq!(derived_in(&e(r#"column_ifexists("nope", verb)"#), has), None);
        // Exact, case-sensitive name, as Kusto's columns are.
        assert_eq!(derived_in(&e(r#"column_ifexists("Verb", "")"#), has), None);
        assert_eq!(derived_in(&e(r#"tostring(column_ifexists("verb", ""))"#), has), None);
        assert_eq!(derived_in(&e("tostring(verb)"), has).as_deref(), Some("verb"));
    }

    #[test]
    fn aggregate_names_follow_kusto() {
        let x = kql::parse_expression("latency").expect("valid");
        assert_eq!(aggregate("count", None), "count_");
        // review 52b: Kusto names count(y) `count_y`, countif(IsOk) `countif_IsOk`.
        assert_eq!(aggregate("count", Some(&x)), "count_latency");
        assert_eq!(aggregate("countif", Some(&x)), "countif_latency");
        let p = kql::parse_expression("latency > 5").expect("valid");
        assert_eq!(aggregate("countif", Some(&p)), "countif_");
        assert_eq!(aggregate("avg", Some(&x)), "avg_latency");
        assert_eq!(aggregate("make_set", Some(&x)), "set_latency");
        assert_eq!(
            format!("{}_{}", aggregate("percentile", Some(&x)), number_part(99.0)),
            "percentile_latency_99"
        );
        assert_eq!(number_part(99.5), "99_5");
    }
}
