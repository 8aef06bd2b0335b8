//! Typed expressions of the planner and the KQL type rules over them.
//!
//! A [`Value`] is either a DataFusion expression with its KQL type ([`TExpr`]), or a virtual
//! sub-object of the audit event ([`Value::Event`]) that has no column of its own: member
//! access on it resolves to canonical columns (see [`crate::event`]).

use arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Expr, ExprSchemable, Operator, binary_expr, cast, lit, when};
use datafusion::prelude::coalesce;

use crate::error::PlanError;
use crate::event;
use crate::types::{KType, Native};
use crate::udf::{call, empty_if_null, udfs};

/// One step of a member path: `.name` / `["name"]`, or `[index]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Seg {
    /// A property name.
    Key(String),
    /// An array index (negative counts from the end).
    Index(i64),
}

impl Seg {
    /// The step as a literal argument of `kql_dyn_get`.
    pub fn to_lit(&self) -> Expr {
        match self {
            Seg::Key(k) => lit(k.clone()),
            Seg::Index(i) => lit(*i),
        }
    }
}

/// A DataFusion expression and its KQL type.
#[derive(Debug, Clone)]
pub struct TExpr {
    /// The expression, over the current plan's columns.
    pub expr: Expr,
    /// Its KQL type.
    pub ty: KType,
    /// When this string (or dynamic) is the JSON text of an event object, which one: so that
    /// `parse_json` of it is that object again, without parsing.
    pub json_of: Option<Vec<Seg>>,
}

impl TExpr {
    /// A typed expression.
    pub fn new(expr: Expr, ty: KType) -> TExpr {
        TExpr { expr, ty, json_of: None }
    }
}

/// A planner value: an expression, or a virtual sub-object of the event.
#[derive(Debug, Clone)]
pub enum Value {
    /// An expression.
    Expr(TExpr),
    /// The event object at a path (`[]` is the whole event).
    Event(Vec<Seg>),
}

impl Value {
    /// The KQL type (`dynamic` for event objects).
    pub fn ty(&self) -> KType {
        match self {
            Value::Expr(t) => t.ty,
            Value::Event(_) => KType::Dynamic,
        }
    }

    /// A typed expression.
    pub fn expr(expr: Expr, ty: KType) -> Value {
        Value::Expr(TExpr::new(expr, ty))
    }
}

/// A null of a KQL type.
pub fn null_of(ty: KType) -> Expr {
    match ScalarValue::try_from(&ty.arrow()) {
        Ok(s) => lit(s),
        Err(_) => lit(ScalarValue::Utf8(None)),
    }
}

/// `v.seg`.
pub fn member(v: Value, seg: Seg) -> Result<Value, String> {
    match v {
        Value::Event(mut path) => {
            path.push(seg);
            Ok(event::resolve(&path))
        }
        Value::Expr(t) => match t.ty {
            KType::Dynamic => {
                // Extend an existing JSON read rather than nesting two.
                if let Expr::ScalarFunction(f) = &t.expr
                    && f.func.name() == udfs().dyn_get.name()
                {
                    let mut args = f.args.clone();
                    args.push(seg.to_lit());
                    return Ok(Value::expr(call(&udfs().dyn_get, args), KType::Dynamic));
                }
                Ok(Value::expr(call(&udfs().dyn_get, vec![t.expr, seg.to_lit()]), KType::Dynamic))
            }
            KType::DynNative(Native::StrList) => match seg {
                Seg::Index(i) => Ok(Value::expr(
                    call(&udfs().list_get, vec![t.expr, lit(i)]),
                    KType::DynNative(Native::Str),
                )),
                Seg::Key(_) => Ok(Value::expr(null_of(KType::Dynamic), KType::Dynamic)),
            },
            KType::DynNative(Native::StrMap) => match seg {
                Seg::Key(k) => Ok(Value::expr(
                    call(&udfs().map_get, vec![t.expr, lit(k)]),
                    KType::DynNative(Native::Str),
                )),
                Seg::Index(_) => Ok(Value::expr(null_of(KType::Dynamic), KType::Dynamic)),
            },
            KType::DynNative(_) => Ok(Value::expr(null_of(KType::Dynamic), KType::Dynamic)),
            other => {
                Err(format!("member access on a value of type {other}; only dynamic values have members"))
            }
        },
    }
}

/// The value as JSON text (Utf8), how it reads as `dynamic`.
pub fn to_json(v: &Value) -> Expr {
    match v {
        Value::Event(path) => event::object_json(path),
        Value::Expr(t) => match t.ty {
            KType::Dynamic => t.expr.clone(),
            _ => call(&udfs().to_json, vec![t.expr.clone()]),
        },
    }
}

/// The value as `dynamic` JSON text, keeping track of the event object it was built from.
pub fn to_dynamic(v: Value) -> TExpr {
    match v {
        Value::Event(path) => {
            TExpr { expr: event::object_json(&path), ty: KType::Dynamic, json_of: Some(path) }
        }
        Value::Expr(t) if t.ty == KType::Dynamic => t,
        // `log_s`'s text is escaped as Go escapes (`\u0026`); its dynamic is the event itself.
        Value::Expr(TExpr { ty: KType::String, json_of: Some(path), .. }) => {
            TExpr { expr: event::object_json(&path), ty: KType::Dynamic, json_of: Some(path) }
        }
        Value::Expr(t) if t.json_of.is_some() => {
            TExpr { expr: t.expr, ty: KType::Dynamic, json_of: t.json_of }
        }
        Value::Expr(t) => TExpr::new(call(&udfs().to_json, vec![t.expr]), KType::Dynamic),
    }
}

/// Kusto's `tostring(v)`: never null.
pub fn to_string(v: Value) -> TExpr {
    match v {
        Value::Event(path) => {
            TExpr { expr: empty_if_null(event::object_json(&path)), ty: KType::String, json_of: Some(path) }
        }
        Value::Expr(t) => {
            let json_of = t.json_of.clone();
            let expr = match t.ty {
                KType::String | KType::Guid => t.expr,
                KType::Dynamic => call(&udfs().dyn_to_string, vec![t.expr]),
                KType::DynNative(Native::Str) => empty_if_null(t.expr),
                _ => call(&udfs().tostring, vec![t.expr]),
            };
            TExpr { expr, ty: KType::String, json_of }
        }
    }
}

/// `parse_json(v)` / `todynamic(v)`.
pub fn parse_json(v: Value) -> Value {
    match v {
        Value::Expr(TExpr { json_of: Some(path), .. }) => Value::Event(path),
        Value::Expr(t) if t.ty.is_stringy() => Value::expr(t.expr, KType::Dynamic),
        other => other,
    }
}

/// Converts a value to `target` as the `to*()` functions do (null when it does not convert).
pub fn convert(v: Value, target: KType) -> TExpr {
    if target == KType::String {
        return to_string(v);
    }
    if target == KType::Guid {
        // As toguid() reads it: the text (a `parse … with g: guid` column was null before).
        return TExpr::new(to_string(v).expr, KType::Guid);
    }
    if target.is_dynamic() {
        return to_dynamic(v);
    }
    let t = match v {
        Value::Event(path) => TExpr::new(event::object_json(&path), KType::Dynamic),
        Value::Expr(t) => t,
    };
    if t.ty == target {
        return t;
    }
    let u = udfs();
    let expr = match (t.ty, target) {
        (KType::Dynamic, KType::Int) => long_to_int(call(&u.dyn_to_long, vec![t.expr])),
        (KType::Dynamic, KType::Long) => call(&u.dyn_to_long, vec![t.expr]),
        (KType::Dynamic, KType::Real) => call(&u.dyn_to_real, vec![t.expr]),
        (KType::Dynamic, KType::Bool) => call(&u.dyn_to_bool, vec![t.expr]),
        (KType::Dynamic, KType::DateTime) => call(&u.dyn_to_datetime, vec![t.expr]),
        (KType::Dynamic, KType::TimeSpan) => call(&u.dyn_to_timespan, vec![t.expr]),
        (KType::DynNative(Native::DateTime), KType::DateTime) => t.expr,
        (KType::String | KType::Guid | KType::DynNative(Native::Str), KType::DateTime) => {
            call(&u.to_datetime, vec![t.expr])
        }
        (KType::String | KType::Guid | KType::DynNative(Native::Str), KType::TimeSpan) => {
            call(&u.to_timespan, vec![t.expr])
        }
        (_, KType::Long) => call(&u.to_long, vec![int_input(t)]),
        (_, KType::Int) => long_to_int(call(&u.to_long, vec![int_input(t)])),
        (_, KType::Real) => call(&u.to_real, vec![int_input(t)]),
        (_, KType::Bool) => call(&u.to_bool, vec![int_input(t)]),
        (KType::Long | KType::Int, KType::TimeSpan) => {
            call(&u.to_timespan, vec![cast(t.expr, DataType::Int64)])
        }
        (KType::Long | KType::Int, KType::DateTime) => {
            call(&u.to_datetime, vec![cast(t.expr, DataType::Int64)])
        }
        _ => null_of(target),
    };
    TExpr::new(expr, target)
}

/// A value as `mv-expand … to typeof(target)` types it: a cast, never parsing or converting, so
/// an element that is not of the type is null ("" for a string) — `"1"` and `3.5` are no
/// long (the operator's page: "cast-only and doesn't include parsing or type-conversion").
/// A whole number is a real too. A dynamic holds datetimes, timespans and guids as their
/// text, so those are still read from a string.
pub fn cast_element(v: Value, target: KType) -> TExpr {
    let plain = matches!(target, KType::Long | KType::Int | KType::Real | KType::Bool | KType::String);
    match v.ty() {
        KType::Dynamic if plain => {}
        KType::DynNative(Native::Str) if plain && target != KType::String => {
            return TExpr::new(null_of(target), target);
        }
        _ => return convert(v, target),
    }
    let u = udfs();
    let json = to_json(&v);
    let expr = match target {
        KType::Long => call(&u.dyn_cast_long, vec![json]),
        KType::Int => long_to_int(call(&u.dyn_cast_long, vec![json])),
        KType::Real => call(&u.dyn_number, vec![json]),
        KType::Bool => call(&u.dyn_cast_bool, vec![json]),
        _ => call(&u.dyn_cast_string, vec![json]),
    };
    TExpr::new(expr, target)
}

/// A long as an int, null when it is out of the int's range. A plain cast fails the whole
/// query on one such value (`toint(2147483648)`: "Can't cast value 2147483648 to type
/// Int32", with no place to point at), where every `to*()` function gives null for a value
/// that does not convert.
fn long_to_int(e: Expr) -> Expr {
    Expr::TryCast(datafusion::logical_expr::TryCast::new(Box::new(e), DataType::Int32))
}

fn int_input(t: TExpr) -> Expr {
    match t.ty {
        KType::Int => cast(t.expr, DataType::Int64),
        KType::DynNative(Native::Long) => cast(t.expr, DataType::Int64),
        _ => t.expr,
    }
}

/// Whether values of this type can be null (Kusto strings cannot).
pub fn nullable(ty: KType) -> bool {
    !ty.is_stringy()
}

/// The plain (non-dynamic) type a native dynamic reads as in comparisons and arithmetic.
fn plain(ty: KType) -> KType {
    match ty {
        KType::DynNative(Native::Str) => KType::String,
        KType::DynNative(Native::Long) => KType::Long,
        KType::DynNative(Native::Real) => KType::Real,
        KType::DynNative(Native::Bool) => KType::Bool,
        KType::DynNative(Native::DateTime) => KType::DateTime,
        other => other,
    }
}

/// Brings two operands to one comparable type (Kusto converts a dynamic to the other side's
/// type; numbers widen to long or real; anything else compares as strings).
pub fn unify(a: Value, b: Value) -> (TExpr, TExpr, KType) {
    let (ta, tb) = (plain(a.ty()), plain(b.ty()));
    let target = match (ta, tb) {
        (x, y) if x == y && !x.is_dynamic() => x,
        (x, y) if x.is_numeric() && y.is_numeric() => {
            if x == KType::Real || y == KType::Real {
                KType::Real
            } else {
                KType::Long
            }
        }
        (KType::Dynamic, y) if !y.is_dynamic() => numeric_widen(y),
        (x, KType::Dynamic) if !x.is_dynamic() => numeric_widen(x),
        (KType::Guid, KType::String) | (KType::String, KType::Guid) => KType::String,
        (KType::Dynamic, KType::Dynamic) => KType::Dynamic,
        _ => KType::String,
    };
    let conv = |v: Value| -> TExpr {
        let mut t = match (&v, target) {
            (Value::Expr(t), KType::Long) if matches!(plain(t.ty), KType::Int | KType::Long) => {
                TExpr::new(cast(t.expr.clone(), DataType::Int64), KType::Long)
            }
            (Value::Expr(t), KType::Real) if plain(t.ty).is_numeric() => {
                TExpr::new(cast(t.expr.clone(), DataType::Float64), KType::Real)
            }
            (Value::Expr(t), _) if plain(t.ty) == target && !target.is_dynamic() => t.clone(),
            _ => convert(v, target),
        };
        if t.ty.is_dynamic() && target.is_dynamic() {
            t.expr = to_json(&Value::Expr(t.clone()));
        }
        t
    };
    let (ea, eb) = (conv(a), conv(b));
    (ea, eb, target)
}

fn numeric_widen(t: KType) -> KType {
    match t {
        KType::Int => KType::Long,
        other => other,
    }
}

/// Integer nanoseconds of a datetime or timespan expression.
pub fn nanos(e: Expr) -> Expr {
    cast(e, DataType::Int64)
}

/// A datetime from integer nanoseconds.
pub fn datetime_from_nanos(e: Expr) -> Expr {
    cast(e, crate::types::timestamp())
}

/// `a op b` (`+`, `-` or `*`) of nanosecond counts, null where it overflows: a datetime or
/// timespan past the 64 bits that hold it is no value, never one wrapped around to another.
pub fn checked_nanos(a: Expr, op: Operator, b: Expr) -> Expr {
    let op = match op {
        Operator::Plus => "+",
        Operator::Minus => "-",
        _ => "*",
    };
    call(&udfs().checked_nanos, vec![a, lit(op), b])
}

/// A timespan from integer nanoseconds.
pub fn timespan_from_nanos(e: Expr) -> Expr {
    cast(e, DataType::Duration(TimeUnit::Nanosecond))
}

/// The operand of a comparison that a type error points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operand {
    /// The left-hand side.
    Left,
    /// The right-hand side.
    Right,
    /// The comparison as a whole.
    Both,
}

/// A comparison refused at plan time: which operand to point at, and why.
#[derive(Debug)]
pub struct Mismatch {
    /// The operand the caret goes under.
    pub at: Operand,
    /// The message.
    pub message: String,
}

/// True when values of the two types may meet in one comparison or one result column
/// without a conversion the user did not ask for: the same type, two numbers, two strings,
/// or a dynamic (which Kusto converts to the other side's type).
pub fn same_kind(a: KType, b: KType) -> bool {
    if a.is_dynamic() || b.is_dynamic() {
        return true;
    }
    a == b || (a.is_numeric() && b.is_numeric()) || (a.is_stringy() && b.is_stringy())
}

/// Checks the operands of a comparison before [`compare`] unifies them. Kusto refuses to
/// compare values of different types ("Cannot compare values of types datetime and
/// string"); the fallback of [`unify`] compared their text instead, so
/// `TimeGenerated > "2025-03-11 09:05:00"` kept every row and `latency > 1000` (meaning
/// milliseconds) kept none, silently. What the user meant is clear in one case: a string
/// literal compared with a datetime (or timespan) is read as the datetime it spells, with
/// the rules of `todatetime()` (`totimespan()`); a dynamic string is converted the same way.
/// Every other mix of types is an error.
pub fn comparable(a: Value, b: Value) -> Result<(Value, Value), Mismatch> {
    let (ta, tb) = (plain(a.ty()), plain(b.ty()));
    let is_time = |t: KType| matches!(t, KType::DateTime | KType::TimeSpan);
    let dyn_str = |v: &Value| v.ty() == KType::DynNative(Native::Str);
    match (ta, tb) {
        (t, _) if is_time(t) && dyn_str(&b) => Ok((a, Value::Expr(convert(b, t)))),
        (_, t) if is_time(t) && dyn_str(&a) => Ok((Value::Expr(convert(a, t)), b)),
        _ if same_kind(a.ty(), b.ty()) => Ok((a, b)),
        (t, KType::String) if is_time(t) => {
            let b = time_from_string(b, t).map_err(|message| Mismatch { at: Operand::Right, message })?;
            Ok((a, b))
        }
        (KType::String, t) if is_time(t) => {
            let a = time_from_string(a, t).map_err(|message| Mismatch { at: Operand::Left, message })?;
            Ok((a, b))
        }
        (KType::TimeSpan, n) if n.is_numeric() => {
            Err(Mismatch { at: Operand::Right, message: timespan_number(n) })
        }
        (n, KType::TimeSpan) if n.is_numeric() => {
            Err(Mismatch { at: Operand::Left, message: timespan_number(n) })
        }
        (x, y) => Err(Mismatch {
            at: Operand::Both,
            message: format!("cannot compare values of types {x} and {y}"),
        }),
    }
}

fn timespan_number(n: KType) -> String {
    format!(
        "cannot compare values of types timespan and {n}: write the number as a timespan \
         (1s, 1000ms, 2m) or convert it with totimespan(…)"
    )
}

/// A string compared with a datetime or timespan `target`: its literal text read as a value
/// of that type, or why not.
fn time_from_string(v: Value, target: KType) -> Result<Value, String> {
    let text = match &v {
        Value::Expr(TExpr {
            expr:
                Expr::Literal(
                    ScalarValue::Utf8(Some(s))
                    | ScalarValue::Utf8View(Some(s))
                    | ScalarValue::LargeUtf8(Some(s)),
                    _,
                ),
            ..
        }) => s.clone(),
        _ => {
            let f = if target == KType::DateTime { "todatetime" } else { "totimespan" };
            return Err(format!(
                "cannot compare values of types {target} and string: convert the string with {f}(…)"
            ));
        }
    };
    if target == KType::DateTime {
        match crate::kvalue::parse_datetime(&text) {
            Some(n) => {
                Ok(Value::expr(lit(ScalarValue::TimestampNanosecond(Some(n), Some("UTC".into()))), target))
            }
            None => Err(format!(
                "cannot compare a datetime with the string \"{text}\", which is not a date and time \
                 (write it as datetime(2024-05-01T10:00:00Z))"
            )),
        }
    } else {
        match crate::kvalue::parse_timespan(&text) {
            Some(n) => Ok(Value::expr(lit(ScalarValue::DurationNanosecond(Some(n))), target)),
            None => Err(format!(
                "cannot compare a timespan with the string \"{text}\", which is not a timespan \
                 (write it as 1s, 1000ms or 00:00:01)"
            )),
        }
    }
}

/// A comparison `a op b` with Kusto's null rules: `==` of a null and a value is false and
/// `!=` true; of two nulls, both are null.
pub fn compare(a: Value, op: Operator, b: Value) -> Result<TExpr, PlanError> {
    let (ea, eb, ty) = unify(a, b);
    let (l, r) = match ty {
        KType::DateTime | KType::TimeSpan => (nanos(ea.expr), nanos(eb.expr)),
        _ => (ea.expr, eb.expr),
    };
    if matches!(op, Operator::Eq | Operator::NotEq) && (nullable(ea.ty) || nullable(eb.ty)) {
        return Ok(TExpr::new(null_aware_equality(l, op == Operator::NotEq, r)?, KType::Bool));
    }
    if ty == KType::String && matches!(op, Operator::Eq | Operator::NotEq) {
        let negated = op == Operator::NotEq;
        if let Some(e) =
            string_literal_compare(&l, &r, negated).or_else(|| string_literal_compare(&r, &l, negated))
        {
            return Ok(TExpr::new(e, KType::Bool));
        }
    }
    Ok(TExpr::new(binary_expr(l, op, r), KType::Bool))
}

/// `l == r` (`!=` when `negated`) of values that can be null, by Kusto's rules: a null and a
/// value are unequal (`==` false, `!=` true), two nulls compare to null. SQL's `=` gave null
/// for a null and a value, so `not(x == 5)` dropped the rows without `x` that `x != 5` kept.
fn null_aware_equality(l: Expr, negated: bool, r: Expr) -> Result<Expr, PlanError> {
    let op = if negated { Operator::IsDistinctFrom } else { Operator::IsNotDistinctFrom };
    // Against a constant that is no null, two nulls cannot meet: the plain form is enough.
    if is_present_constant(&l) || is_present_constant(&r) {
        return Ok(binary_expr(l, op, r));
    }
    let both_null = l.clone().is_null().and(r.clone().is_null());
    when(both_null, lit(ScalarValue::Boolean(None))).otherwise(binary_expr(l, op, r)).map_err(super::internal)
}

/// True for a literal that is no null, under casts.
fn is_present_constant(e: &Expr) -> bool {
    match e {
        Expr::Literal(v, _) => !v.is_null(),
        Expr::Cast(c) => is_present_constant(&c.expr),
        Expr::TryCast(c) => is_present_constant(&c.expr),
        Expr::Alias(a) => is_present_constant(&a.expr),
        _ => false,
    }
}

/// `x == "s"` (`!=` when `negated`) as the view-reading comparison (`crate::udf::compare`),
/// when `item` is a string literal; the same answers as `=` and `!=`, nulls included. A
/// column read through `kql_empty_if_null` is compared directly, its nulls read as "".
fn string_literal_compare(x: &Expr, item: &Expr, negated: bool) -> Option<Expr> {
    let s = match item {
        Expr::Literal(
            ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)) | ScalarValue::LargeUtf8(Some(s)),
            _,
        ) => s,
        _ => return None,
    };
    let (x, nulls_empty) = match x {
        Expr::ScalarFunction(f) if f.func.name() == udfs().empty_if_null.name() && f.args.len() == 1 => {
            (f.args[0].clone(), true)
        }
        Expr::Literal(..) => return None,
        other => (other.clone(), false),
    };
    let udf = if negated { &udfs().str_ne } else { &udfs().str_eq };
    Some(call(udf, vec![x, lit(s.clone()), lit(nulls_empty)]))
}

/// `isempty(x)` of a string: true for "" and for null (never null itself), as the
/// view-reading comparison with nulls read as "" (`x` read through `kql_empty_if_null` is
/// compared directly).
pub fn is_empty_string(x: Expr) -> Expr {
    let x = match x {
        Expr::ScalarFunction(f) if f.func.name() == udfs().empty_if_null.name() && f.args.len() == 1 => {
            f.args[0].clone()
        }
        other => other,
    };
    call(&udfs().str_eq, vec![x, lit(""), lit(true)])
}

/// Arithmetic `a op b` with Kusto's datetime and timespan rules.
pub fn arith(a: Value, op: Operator, b: Value) -> Result<TExpr, String> {
    let (ta, tb) = (plain(a.ty()), plain(b.ty()));
    let ex = |v: Value| match v {
        Value::Expr(t) => t.expr,
        Value::Event(p) => event::object_json(&p),
    };
    use KType::*;
    use Operator::*;
    let out = match (ta, op, tb) {
        // Null where the nanoseconds overflow, never wrapped around (see `checked_nanos`).
        (DateTime, Minus, DateTime) => {
            TExpr::new(timespan_from_nanos(checked_nanos(nanos(ex(a)), Minus, nanos(ex(b)))), TimeSpan)
        }
        (DateTime, Plus | Minus, TimeSpan) => {
            TExpr::new(datetime_from_nanos(checked_nanos(nanos(ex(a)), op, nanos(ex(b)))), DateTime)
        }
        (TimeSpan, Plus, DateTime) => {
            TExpr::new(datetime_from_nanos(checked_nanos(nanos(ex(a)), Plus, nanos(ex(b)))), DateTime)
        }
        (TimeSpan, Plus | Minus, TimeSpan) => {
            TExpr::new(timespan_from_nanos(checked_nanos(nanos(ex(a)), op, nanos(ex(b)))), TimeSpan)
        }
        (TimeSpan, Modulo, TimeSpan) => TExpr::new(
            timespan_from_nanos(binary_expr(nanos(ex(a)), op, nonzero(nanos(ex(b)), &DataType::Int64))),
            TimeSpan,
        ),
        (TimeSpan, Divide, TimeSpan) => TExpr::new(
            binary_expr(cast(nanos(ex(a)), DataType::Float64), Divide, cast(nanos(ex(b)), DataType::Float64)),
            Real,
        ),
        (TimeSpan, Multiply, Int | Long) => TExpr::new(
            timespan_from_nanos(checked_nanos(nanos(ex(a)), op, cast(ex(b), DataType::Int64))),
            TimeSpan,
        ),
        (TimeSpan, Divide, Int | Long) => TExpr::new(
            timespan_from_nanos(binary_expr(
                nanos(ex(a)),
                op,
                nonzero(cast(ex(b), DataType::Int64), &DataType::Int64),
            )),
            TimeSpan,
        ),
        // The product as `tolong` converts a real: null out of range (review s44: a cast
        // stopped the whole query, `1h * 1e20` in the optimizer's constant folding).
        (TimeSpan, Multiply | Divide, Real) => TExpr::new(
            timespan_from_nanos(call(
                &udfs().to_long,
                vec![binary_expr(cast(nanos(ex(a)), DataType::Float64), op, ex(b))],
            )),
            TimeSpan,
        ),
        (Int | Long | Real, Multiply, TimeSpan) => return arith(b, op, a),
        // Kusto: a real operand makes a real; two integers (int or long) make a long, so
        // `int(7) / int(2)` is a long, never an int.
        (x, _, y) if x.is_numeric() && y.is_numeric() => {
            let (dt, ty) =
                if x == Real || y == Real { (DataType::Float64, Real) } else { (DataType::Int64, Long) };
            TExpr::new(numeric_op(cast(ex(a), dt.clone()), op, cast(ex(b), dt.clone()), dt)?, ty)
        }
        (Dynamic, _, _) | (_, _, Dynamic) => {
            let to_num = |v: Value| {
                if plain(v.ty()).is_numeric() {
                    TExpr::new(cast(ex(v), DataType::Float64), Real)
                } else {
                    convert(v, Real)
                }
            };
            let (l, r) = (to_num(a), to_num(b));
            TExpr::new(numeric_op(l.expr, op, r.expr, DataType::Float64)?, Real)
        }
        (x, _, y) => return Err(format!("operator {op} is not defined for {x} and {y}")),
    };
    Ok(out)
}

/// `a op b` on two numbers of Arrow type `dt`; `%` is Kusto's modulo, never negative.
fn numeric_op(a: Expr, op: Operator, b: Expr, dt: DataType) -> Result<Expr, String> {
    // An integer divided by zero is null rather than an error: DataFusion's error stops the
    // whole query ("Divide by zero error", with no place to point at), so one group whose
    // denominator is 0 (`errors / lists` for a client that sent no LIST) lost every row.
    // A real divided by zero stays ±inf (or NaN), as IEEE arithmetic gives it.
    let b = match (&op, &dt) {
        (Operator::Divide | Operator::Modulo, DataType::Int32 | DataType::Int64) => nonzero(b, &dt),
        _ => b,
    };
    match op {
        Operator::Modulo => modulo(a, b, dt),
        op => Ok(binary_expr(a, op, b)),
    }
}

/// `b`, or null where it is 0: the divisor of an integer `/` or `%`.
fn nonzero(b: Expr, dt: &DataType) -> Expr {
    datafusion::functions::expr_fn::nullif(b, cast(lit(0i64), dt.clone()))
}

/// Kusto's `a % b`: "a small non-negative number", `0 <= a % b < abs(b)` (`-14 % 12` is 10,
/// `14 % -12` is 2), where DataFusion's `%` keeps the dividend's sign. A negative remainder
/// `r` is moved into range by `abs(b)`, written as `r - b` or `r + b` so that nothing can
/// overflow (`abs(i64::MIN)` would).
fn modulo(a: Expr, b: Expr, dt: DataType) -> Result<Expr, String> {
    let zero = cast(lit(0i64), dt);
    let r = binary_expr(a, Operator::Modulo, b.clone());
    let r_negative = r.clone().lt(zero.clone());
    when(r_negative.clone().and(b.clone().lt(zero)), binary_expr(r.clone(), Operator::Minus, b.clone()))
        .when(r_negative, binary_expr(r.clone(), Operator::Plus, b))
        .otherwise(r)
        .map_err(|e| e.to_string())
}

/// Lists of at most this many items are compared item by item.
const SHORT_IN_LIST: usize = 4;

/// `x in (list)`, or `x !in (list)` when `negated`. A short list becomes a chain of
/// comparisons (`x == a or x == b`; `x != a and x != b`), the same under nulls as SQL's
/// `IN`/`NOT IN`, and vectorised where DataFusion's `IN` hashes every row: the check queries'
/// `Stage !in ("RequestReceived", "ResponseStarted")` took twice as long as the chain.
pub fn in_list(x: Expr, list: Vec<Expr>, negated: bool) -> Expr {
    if list.len() > SHORT_IN_LIST {
        return x.in_list(list, negated);
    }
    let compare = |item: Expr| match string_literal_compare(&x, &item, negated) {
        Some(e) => e,
        None if negated => x.clone().not_eq(item),
        None => x.clone().eq(item),
    };
    let mut items = list.into_iter();
    let Some(first) = items.next() else { return lit(negated) };
    items.fold(
        compare(first),
        |acc, item| if negated { acc.and(compare(item)) } else { acc.or(compare(item)) },
    )
}

/// `x in (list)` (`!in` when `negated`) of values that can be null, by Kusto's rules: `in`
/// is `==` with each item or-ed, `!in` is `!=` with each item and-ed, so a null `x` is in no
/// list of values (`in` false, `!in` true). SQL's `IN` gave null, and `where x !in (1)` lost
/// the rows without `x` that `where x != 1` kept.
pub fn in_list_of_nullable(x: Expr, list: Vec<Expr>, negated: bool) -> Result<Expr, PlanError> {
    if list.len() > SHORT_IN_LIST {
        return Ok(coalesce(vec![x.in_list(list, negated), lit(negated)]));
    }
    let mut items = list.into_iter();
    let Some(first) = items.next() else { return Ok(lit(negated)) };
    let mut e = null_aware_equality(x.clone(), negated, first)?;
    for item in items {
        let term = null_aware_equality(x.clone(), negated, item)?;
        e = if negated { e.and(term) } else { e.or(term) };
    }
    Ok(e)
}

/// `iff(cond, a, b)`: the branches unified to one type.
pub fn iff(cond: Expr, a: Value, b: Value) -> Result<TExpr, String> {
    let (ea, eb, ty) = branch_types(a, b);
    let e = when(cond, ea).otherwise(eb).map_err(|e| e.to_string())?;
    Ok(TExpr::new(e, ty))
}

/// Unifies result branches (of `iff`, `case`, `coalesce`) to one type.
pub fn branch_types(a: Value, b: Value) -> (Expr, Expr, KType) {
    let (ta, tb) = (a.ty(), b.ty());
    if ta == tb {
        let ex = |v: Value| match v {
            Value::Expr(t) => t.expr,
            Value::Event(p) => event::object_json(&p),
        };
        return (ex(a), ex(b), ta);
    }
    let (ea, eb, ty) = unify(a, b);
    (ea.expr, eb.expr, ty)
}

/// True when the expression's Arrow type in `schema` is what `ty` says (used by tests and
/// debug checks of the planner).
pub fn type_matches(e: &Expr, ty: KType, schema: &datafusion::common::DFSchema) -> bool {
    match e.get_type(schema) {
        Ok(dt) => dt == ty.arrow() || dt == DataType::Null,
        Err(_) => false,
    }
}
