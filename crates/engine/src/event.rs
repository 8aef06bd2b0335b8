//! The audit event as a `dynamic` value whose members are canonical columns.
//!
//! `parse_json(log_s).user.username`, `event.objectRef.resource`, `ObjectRef.resource` and
//! `Annotations["apiserver.latency.k8s.io/etcd"]` all resolve here to reads of the canonical
//! columns that every plan over the store carries (under hidden names, see [`hidden`]). Only
//! when a whole object is needed (projected, compared as text, expanded) is JSON built from
//! those columns, and only a path into a JSON body (`requestObject.spec…`) parses JSON.

use audit::col;
use datafusion::common::{Column, ScalarValue};
use datafusion::logical_expr::{Expr, cast, lit};
use datafusion::prelude::nullif;

use crate::plan::value::{Seg, TExpr, Value};
use crate::types::{KType, Native};
use crate::udf::{call, udfs};

/// The name under which a canonical column travels through a plan, out of the user's sight.
pub fn hidden(canonical: &str) -> String {
    format!("__ev_{canonical}")
}

/// True for the names [`hidden`] makes.
pub fn is_hidden(name: &str) -> bool {
    name.starts_with("__ev_")
}

/// An expression reading a hidden canonical column.
pub fn hcol(canonical: &str) -> Expr {
    Expr::Column(Column::from_name(hidden(canonical)))
}

/// What a node of the event is.
enum Node {
    /// An object whose members are other nodes.
    Object(&'static [(&'static str, Node)]),
    /// A canonical column holding a native value.
    Leaf(&'static str, Native),
    /// A canonical column holding JSON text (a body, `user.extra`).
    Json(&'static str),
    /// A constant string.
    Const(&'static str),
}

use Native::*;
use Node::*;

const USER: &[(&str, Node)] = &[
    ("username", Leaf(col::USER_USERNAME, Str)),
    ("uid", Leaf(col::USER_UID, Str)),
    ("groups", Leaf(col::USER_GROUPS, StrList)),
    ("extra", Json(col::USER_EXTRA)),
];

const IMPERSONATED: &[(&str, Node)] = &[
    ("username", Leaf(col::IMPERSONATED_USERNAME, Str)),
    ("uid", Leaf(col::IMPERSONATED_UID, Str)),
    ("groups", Leaf(col::IMPERSONATED_GROUPS, StrList)),
];

const OBJECT_REF: &[(&str, Node)] = &[
    ("resource", Leaf(col::OBJECT_RESOURCE, Str)),
    ("namespace", Leaf(col::OBJECT_NAMESPACE, Str)),
    ("name", Leaf(col::OBJECT_NAME, Str)),
    ("uid", Leaf(col::OBJECT_UID, Str)),
    ("apiGroup", Leaf(col::OBJECT_API_GROUP, Str)),
    ("apiVersion", Leaf(col::OBJECT_API_VERSION, Str)),
    ("resourceVersion", Leaf(col::OBJECT_RESOURCE_VERSION, Str)),
    ("subresource", Leaf(col::OBJECT_SUBRESOURCE, Str)),
];

const RESPONSE_STATUS: &[(&str, Node)] = &[
    ("status", Leaf(col::RESPONSE_STATUS, Str)),
    ("message", Leaf(col::RESPONSE_MESSAGE, Str)),
    ("reason", Leaf(col::RESPONSE_REASON, Str)),
    ("code", Leaf(col::RESPONSE_CODE, Long)),
];

/// The event, in the API server's field order.
const EVENT: &[(&str, Node)] = &[
    ("kind", Const("Event")),
    ("apiVersion", Leaf(col::EVENT_API_VERSION, Str)),
    ("level", Leaf(col::LEVEL, Str)),
    ("auditID", Leaf(col::AUDIT_ID, Str)),
    ("stage", Leaf(col::STAGE, Str)),
    ("requestURI", Leaf(col::REQUEST_URI, Str)),
    ("verb", Leaf(col::VERB, Str)),
    ("user", Object(USER)),
    ("impersonatedUser", Object(IMPERSONATED)),
    ("sourceIPs", Leaf(col::SOURCE_IPS, StrList)),
    ("userAgent", Leaf(col::USER_AGENT, Str)),
    ("objectRef", Object(OBJECT_REF)),
    ("responseStatus", Object(RESPONSE_STATUS)),
    ("requestObject", Json(col::REQUEST_OBJECT)),
    ("responseObject", Json(col::RESPONSE_OBJECT)),
    ("requestReceivedTimestamp", Leaf(col::REQUEST_RECEIVED_TIMESTAMP, DateTime)),
    ("stageTimestamp", Leaf(col::STAGE_TIMESTAMP, DateTime)),
    ("annotations", Leaf(col::ANNOTATIONS, StrMap)),
];

static ROOT: Node = Object(EVENT);

fn child<'a>(node: &'a Node, seg: &Seg) -> Option<&'a Node> {
    match (node, seg) {
        (Object(members), Seg::Key(k)) => members.iter().find(|(name, _)| name == k).map(|(_, n)| n),
        _ => None,
    }
}

fn null_dynamic() -> Value {
    Value::Expr(TExpr::new(lit(ScalarValue::Utf8(None)), KType::Dynamic))
}

fn leaf_expr(canonical: &'static str, native: Native) -> TExpr {
    let e = hcol(canonical);
    let e = if native == Long { cast(e, arrow::datatypes::DataType::Int64) } else { e };
    TExpr::new(e, KType::DynNative(native))
}

/// Resolves a member path of the event to a value: a sub-object stays virtual, a leaf is a
/// column read, a path into a JSON column is a JSON read, and a path the schema lacks is null.
pub fn resolve(path: &[Seg]) -> Value {
    let mut node = &ROOT;
    for (i, seg) in path.iter().enumerate() {
        match node {
            Object(_) => match child(node, seg) {
                Some(n) => node = n,
                None => return null_dynamic(),
            },
            Leaf(c, StrList) => {
                return match (seg, path.len() - i) {
                    (Seg::Index(ix), 1) => Value::Expr(TExpr::new(
                        call(&udfs().list_get, vec![hcol(c), lit(*ix)]),
                        KType::DynNative(Str),
                    )),
                    _ => null_dynamic(),
                };
            }
            Leaf(c, StrMap) => {
                return match (seg, path.len() - i) {
                    (Seg::Key(k), 1) => Value::Expr(TExpr::new(
                        call(&udfs().map_get, vec![hcol(c), lit(k.clone())]),
                        KType::DynNative(Str),
                    )),
                    _ => null_dynamic(),
                };
            }
            Json(c) => {
                let mut args = vec![hcol(c)];
                args.extend(path[i..].iter().map(Seg::to_lit));
                return Value::Expr(TExpr::new(call(&udfs().dyn_get, args), KType::Dynamic));
            }
            Leaf(..) | Const(_) => return null_dynamic(),
        }
    }
    match node {
        Object(_) => Value::Event(path.to_vec()),
        Leaf(c, native) => Value::Expr(leaf_expr(c, *native)),
        Json(c) => Value::Expr(TExpr::new(hcol(c), KType::Dynamic)),
        Const(s) => Value::Expr(TExpr::new(lit(*s), KType::DynNative(Str))),
    }
}

fn node_json(node: &Node, top: bool) -> Expr {
    match node {
        Object(members) => {
            let mut args = Vec::with_capacity(members.len() * 2);
            for (name, n) in members.iter() {
                args.push(lit(*name));
                args.push(node_json(n, false));
            }
            let packed = call(&udfs().pack, args);
            // An object with no member present is absent, as the API server writes it.
            if top { packed } else { nullif(packed, lit("{}")) }
        }
        // A timestamp as the API server writes one (Go's `metav1.MicroTime`: always six
        // fractional digits, `2020-05-05T16:16:37.655912Z`), the text Azure's `log_s` holds.
        Leaf(c, DateTime) => {
            let text = call(&udfs().format_datetime, vec![hcol(c), lit(GO_MICRO_TIME)]);
            call(&udfs().to_json, vec![nullif(text, lit(""))])
        }
        Leaf(c, native) => call(&udfs().to_json, vec![leaf_expr(c, *native).expr]),
        Json(c) => hcol(c),
        Const(s) => lit(serde_json::Value::String((*s).to_owned()).to_string()),
    }
}

/// Go's RFC3339Micro in `format_datetime`'s terms (the API server writes UTC).
const GO_MICRO_TIME: &str = "yyyy-MM-ddTHH:mm:ss.ffffffZ";

/// The event as the line the API server wrote, which is what Azure stores as `log_s`: its JSON
/// with `&`, `<`, `>`, U+2028 and U+2029 escaped as Go's `encoding/json` escapes them
/// (`agentconfig\u0026resourceVersion=750`). What still differs from the original line: the
/// fields the schema drops, and the order of the keys inside request and response bodies,
/// which the store keeps sorted.
pub fn log_line_json() -> Expr {
    call(&udfs().go_escape_json, vec![object_json(&[])])
}

/// JSON text of the object at `path` (the whole event for an empty path), built from columns.
pub fn object_json(path: &[Seg]) -> Expr {
    let mut node = &ROOT;
    for seg in path {
        match child(node, seg) {
            Some(n) => node = n,
            None => return lit(ScalarValue::Utf8(None)),
        }
    }
    node_json(node, path.is_empty())
}

/// The canonical columns an event value needs: all of them (a plan carries them all and the
/// optimizer drops the ones no expression reads).
pub fn canonical_columns() -> Vec<String> {
    audit::canonical_schema().fields().iter().map(|f| f.name().clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Seg {
        Seg::Key(k.to_owned())
    }

    #[test]
    fn leaves_resolve_to_columns() {
        let Value::Expr(t) = resolve(&[key("user"), key("username")]) else { panic!("not a column") };
        assert_eq!(t.expr, hcol(col::USER_USERNAME));
        assert_eq!(t.ty, KType::DynNative(Str));
        let Value::Expr(t) = resolve(&[key("objectRef"), key("resource")]) else { panic!("not a column") };
        assert_eq!(t.expr, hcol(col::OBJECT_RESOURCE));
    }

    #[test]
    fn objects_stay_virtual_and_unknown_paths_are_null() {
        assert!(matches!(resolve(&[key("objectRef")]), Value::Event(p) if p.len() == 1));
        let Value::Expr(t) = resolve(&[key("ojbectRef"), key("resource")]) else { panic!("not null") };
        assert_eq!(t.ty, KType::Dynamic);
        assert!(matches!(t.expr, Expr::Literal(ScalarValue::Utf8(None), _)));
    }

    #[test]
    fn body_paths_read_json() {
        let Value::Expr(t) = resolve(&[key("requestObject"), key("spec"), key("containers")]) else {
            panic!("not an expression")
        };
        assert_eq!(t.ty, KType::Dynamic);
        assert!(matches!(t.expr, Expr::ScalarFunction(_)));
    }
}
