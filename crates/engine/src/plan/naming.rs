//! KQL's names for result columns written without a name.
//!
//! A column reference keeps its name; a member path joins its steps with `_`
//! (`logs.verb` → `logs_verb`, `Annotations["a"]` → `Annotations_a`); a conversion or `bin`
//! of a column keeps the column's name (`tostring(userAgent)` → `userAgent`,
//! `bin(start_time, 5m)` → `start_time`); an aggregate is `<prefix>_<argument>`
//! (`count_`, `count_y`, `avg_latency`, `percentile_latency_99`, `set_name`); anything else is
//! `Column1`, `Column2`, … (`print_0`, … in `print`).

use kql::{Expr, ExprKind, Literal, UnaryOp};

/// Functions whose unnamed result takes the name of their first argument.
const FIRST_ARG_NAMED: &[&str] = &[
    "bin",
    "bin_at",
    "floor",
    "tostring",
    "toint",
    "tolong",
    "todouble",
    "toreal",
    "todecimal",
    "tobool",
    "toboolean",
    "todatetime",
    "totimespan",
    "toguid",
    "todynamic",
    "toobject",
    "parse_json",
    "tolower",
    "toupper",
    "trim",
    "trim_start",
    "trim_end",
    "startofday",
    "startofweek",
    "startofmonth",
    "startofyear",
    "round",
    "ceiling",
];

/// The name KQL derives from an expression, or `None` (then `ColumnN`).
pub fn derived(e: &Expr) -> Option<String> {
    match &e.kind {
        ExprKind::Name(id) => Some(id.name.clone()),
        ExprKind::Member { base, member } => Some(format!("{}_{}", derived(base)?, member.name)),
        ExprKind::Index { base, index } => {
            let base = derived(base)?;
            match &index.kind {
                ExprKind::Literal(Literal::String(s)) => Some(format!("{base}_{s}")),
                ExprKind::Literal(Literal::Long(n)) => Some(format!("{base}_{n}")),
                ExprKind::Unary { op: UnaryOp::Neg, operand } => match &operand.kind {
                    ExprKind::Literal(Literal::Long(n)) => Some(format!("{base}__{n}")),
                    _ => None,
                },
                _ => None,
            }
        }
        ExprKind::Call { name, args } if FIRST_ARG_NAMED.contains(&name.name.as_str()) => {
            args.first().and_then(derived)
        }
        _ => None,
    }
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
