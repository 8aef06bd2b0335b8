//! Kubernetes label selectors (`matchLabels`, `matchExpressions`) and their evaluation.

use std::collections::BTreeMap;

use serde_json::Value;

/// An operator of a `matchExpressions` requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// The label is present with one of the values.
    In,
    /// The label is absent, or present with none of the values.
    NotIn,
    /// The label is present.
    Exists,
    /// The label is absent.
    DoesNotExist,
}

impl Operator {
    /// As Kubernetes spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::In => "In",
            Operator::NotIn => "NotIn",
            Operator::Exists => "Exists",
            Operator::DoesNotExist => "DoesNotExist",
        }
    }
}

/// One requirement of `matchExpressions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The label key.
    pub key: String,
    /// The operator.
    pub operator: Operator,
    /// The values (for `In` and `NotIn`).
    pub values: Vec<String>,
}

/// A label selector. The empty selector matches everything, which is also what a webhook
/// without `namespaceSelector` or `objectSelector` gets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    /// `matchLabels`: every pair must be present.
    pub match_labels: BTreeMap<String, String>,
    /// `matchExpressions`: every requirement must hold.
    pub match_expressions: Vec<Requirement>,
}

impl LabelSelector {
    /// Reads a selector; `Err` names the field (relative to the selector) and what was wrong.
    pub fn from_value(v: &Value) -> Result<LabelSelector, String> {
        let mut out = LabelSelector::default();
        let obj = match v {
            Value::Null => return Ok(out),
            Value::Object(o) => o,
            other => return Err(format!("expected a label selector (an object), got {}", kind_of(other))),
        };
        match obj.get("matchLabels") {
            None | Some(Value::Null) => {}
            Some(Value::Object(labels)) => {
                for (k, v) in labels {
                    let Some(s) = label_value(v) else {
                        return Err(format!("matchLabels.{k}: expected a string, got {}", kind_of(v)));
                    };
                    out.match_labels.insert(k.clone(), s);
                }
            }
            Some(other) => return Err(format!("matchLabels: expected an object, got {}", kind_of(other))),
        }
        match obj.get("matchExpressions") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let at = |m: String| format!("matchExpressions[{i}]{m}");
                    let key = item
                        .get("key")
                        .and_then(Value::as_str)
                        .ok_or_else(|| at(".key: expected a string".to_owned()))?;
                    let op = match item.get("operator").and_then(Value::as_str) {
                        Some("In") => Operator::In,
                        Some("NotIn") => Operator::NotIn,
                        Some("Exists") => Operator::Exists,
                        Some("DoesNotExist") => Operator::DoesNotExist,
                        Some(other) => {
                            return Err(at(format!(
                                ".operator: {other:?} is not In, NotIn, Exists or DoesNotExist"
                            )));
                        }
                        None => return Err(at(".operator: expected a string".to_owned())),
                    };
                    let values = match item.get("values") {
                        None | Some(Value::Null) => Vec::new(),
                        Some(Value::Array(vs)) => {
                            let mut out = Vec::with_capacity(vs.len());
                            for (j, v) in vs.iter().enumerate() {
                                out.push(label_value(v).ok_or_else(|| {
                                    at(format!(".values[{j}]: expected a string, got {}", kind_of(v)))
                                })?);
                            }
                            out
                        }
                        Some(other) => {
                            return Err(at(format!(".values: expected a list, got {}", kind_of(other))));
                        }
                    };
                    out.match_expressions.push(Requirement { key: key.to_owned(), operator: op, values });
                }
            }
            Some(other) => return Err(format!("matchExpressions: expected a list, got {}", kind_of(other))),
        }
        Ok(out)
    }

    /// Whether an object (or namespace) with these labels is selected.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels.iter().all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|r| {
                let value = labels.get(&r.key);
                match r.operator {
                    Operator::In => value.is_some_and(|v| r.values.contains(v)),
                    Operator::NotIn => value.is_none_or(|v| !r.values.contains(v)),
                    Operator::Exists => value.is_some(),
                    Operator::DoesNotExist => value.is_none(),
                }
            })
    }

    /// Whether it selects everything.
    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.match_expressions.is_empty()
    }

    /// The labels that would take a namespace out of the selector although it is selected
    /// now: `key=value` for each value of a `NotIn`, `key` (any value) for a `DoesNotExist`.
    /// `kubernetes.io/metadata.name` is left out: no one can set it.
    pub fn opt_outs(&self) -> Vec<String> {
        let mut out = Vec::new();
        for r in &self.match_expressions {
            if r.key == NAME_LABEL {
                continue;
            }
            match r.operator {
                Operator::NotIn => out.extend(r.values.iter().map(|v| format!("{}={v}", r.key))),
                Operator::DoesNotExist => out.push(r.key.clone()),
                Operator::In | Operator::Exists => {}
            }
        }
        out
    }

    /// The namespaces the selector is limited to by name (`matchLabels` or `In` on
    /// `kubernetes.io/metadata.name`, every such constraint together); `None` when it names
    /// none, and so takes in namespaces of any name.
    pub fn only_names(&self) -> Option<Vec<String>> {
        let mut only: Option<Vec<String>> = self.match_labels.get(NAME_LABEL).map(|v| vec![v.clone()]);
        for r in self.match_expressions.iter().filter(|r| r.key == NAME_LABEL && r.operator == Operator::In) {
            only = Some(match only {
                Some(names) => names.into_iter().filter(|n| r.values.contains(n)).collect(),
                None => r.values.clone(),
            });
        }
        only
    }

    /// This selector with a requirement added that leaves out the namespaces `names` (by
    /// `kubernetes.io/metadata.name`), as JSON: an existing `NotIn` on that label is extended,
    /// every other part kept.
    pub fn excluding(&self, names: &[&str]) -> Value {
        let mut exprs: Vec<Requirement> = self.match_expressions.clone();
        match exprs.iter_mut().find(|r| r.key == NAME_LABEL && r.operator == Operator::NotIn) {
            Some(r) => {
                for n in names {
                    if !r.values.iter().any(|v| v == n) {
                        r.values.push((*n).to_owned());
                    }
                }
            }
            None => exprs.push(Requirement {
                key: NAME_LABEL.to_owned(),
                operator: Operator::NotIn,
                values: names.iter().map(|n| (*n).to_owned()).collect(),
            }),
        }
        let mut out = serde_json::Map::new();
        if !self.match_labels.is_empty() {
            out.insert("matchLabels".into(), serde_json::json!(self.match_labels));
        }
        let exprs: Vec<Value> = exprs
            .iter()
            .map(|r| {
                let mut e = serde_json::json!({"key": r.key, "operator": r.operator.as_str()});
                if matches!(r.operator, Operator::In | Operator::NotIn) {
                    e["values"] = serde_json::json!(r.values);
                }
                e
            })
            .collect();
        out.insert("matchExpressions".into(), Value::Array(exprs));
        Value::Object(out)
    }
}

/// The label every namespace carries with its own name (Kubernetes 1.21 and later).
pub const NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// A label value: YAML writes `true` or `1` unquoted, and Kubernetes reads them as strings.
fn label_value(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `metadata.name`, or why not: missing or empty.
pub(crate) fn metadata_name(v: &Value) -> Result<String, String> {
    v.pointer("/metadata/name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| "metadata.name: missing".to_owned())
}

/// The string entries of the object at `pointer` (labels, annotations), added to `into`.
pub(crate) fn string_entries(v: &Value, pointer: &str, into: &mut BTreeMap<String, String>) {
    if let Some(Value::Object(m)) = v.pointer(pointer) {
        for (k, val) in m {
            if let Some(s) = val.as_str() {
                into.insert(k.clone(), s.to_owned());
            }
        }
    }
}

/// `a string`, `a number`… for messages.
pub(crate) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn selectors_match_as_kubernetes_defines_them() {
        let kube_system = labels(&[(NAME_LABEL, "kube-system")]);
        let sel = |v: serde_json::Value| LabelSelector::from_value(&v).expect("valid");
        assert!(sel(json!({})).matches(&kube_system));
        assert!(sel(json!(null)).matches(&kube_system));
        assert!(!sel(json!({"matchLabels": {"istio-injection": "enabled"}})).matches(&kube_system));
        let not_in = sel(
            json!({"matchExpressions": [{"key": NAME_LABEL, "operator": "NotIn", "values": ["kube-system"]}]}),
        );
        assert!(!not_in.matches(&kube_system));
        assert!(not_in.matches(&labels(&[(NAME_LABEL, "default")])));
        let opt_out = sel(
            json!({"matchExpressions": [{"key": "admission", "operator": "NotIn", "values": ["disabled"]}]}),
        );
        assert!(opt_out.matches(&kube_system), "absent label: NotIn holds");
        assert!(!opt_out.matches(&labels(&[("admission", "disabled")])));
        let exists = sel(json!({"matchExpressions": [{"key": "team", "operator": "Exists"}]}));
        assert!(!exists.matches(&kube_system));
        let absent = sel(json!({"matchExpressions": [{"key": "control-plane", "operator": "DoesNotExist"}]}));
        assert!(absent.matches(&kube_system));
        assert!(!absent.matches(&labels(&[("control-plane", "true")])));
        // matchLabels and expressions are ANDed.
        let both = sel(
            json!({"matchLabels": {"a": "1"}, "matchExpressions": [{"key": "b", "operator": "In", "values": ["2"]}]}),
        );
        assert!(both.matches(&labels(&[("a", "1"), ("b", "2")])));
        assert!(!both.matches(&labels(&[("a", "1")])));
        // YAML's unquoted true is the string "true".
        let yes = sel(json!({"matchLabels": {"enabled": true}}));
        assert!(yes.matches(&labels(&[("enabled", "true")])));
    }

    #[test]
    fn bad_selectors_name_the_field() {
        let err = |v: serde_json::Value| LabelSelector::from_value(&v).expect_err("invalid");
        assert_eq!(err(json!("x")), "expected a label selector (an object), got a string");
        assert_eq!(err(json!({"matchLabels": {"a": []}})), "matchLabels.a: expected a string, got a list");
        assert_eq!(
            err(json!({"matchExpressions": [{"key": "a", "operator": "Maybe"}]})),
            "matchExpressions[0].operator: \"Maybe\" is not In, NotIn, Exists or DoesNotExist"
        );
        assert_eq!(
            err(json!({"matchExpressions": [{"operator": "In"}]})),
            "matchExpressions[0].key: expected a string"
        );
    }

    #[test]
    fn excluding_keeps_every_part_and_extends_an_existing_not_in() {
        let sel = LabelSelector::from_value(&json!({
            "matchLabels": {"team": "a"},
            "matchExpressions": [
                {"key": "x", "operator": "Exists"},
                {"key": NAME_LABEL, "operator": "NotIn", "values": ["kyverno"]}
            ]
        }))
        .expect("valid");
        let out = sel.excluding(&["kube-system", "kyverno"]);
        assert_eq!(
            out,
            json!({
                "matchLabels": {"team": "a"},
                "matchExpressions": [
                    {"key": "x", "operator": "Exists"},
                    {"key": NAME_LABEL, "operator": "NotIn", "values": ["kyverno", "kube-system"]}
                ]
            })
        );
        let back = LabelSelector::from_value(&out).expect("valid");
        assert!(!back.matches(&labels(&[(NAME_LABEL, "kube-system"), ("team", "a"), ("x", "")])));
        assert!(back.matches(&labels(&[(NAME_LABEL, "apps"), ("team", "a"), ("x", "")])));
        let fresh = LabelSelector::default().excluding(&["kube-system"]);
        assert_eq!(
            fresh,
            json!({"matchExpressions": [{"key": NAME_LABEL, "operator": "NotIn", "values": ["kube-system"]}]})
        );
        assert_eq!(sel.opt_outs(), Vec::<String>::new());
        let linkerd = LabelSelector::from_value(&json!({"matchExpressions": [
            {"key": "config.linkerd.io/admission-webhooks", "operator": "NotIn", "values": ["disabled"]},
            {"key": "control-plane", "operator": "DoesNotExist"}
        ]}))
        .expect("valid");
        assert_eq!(
            linkerd.opt_outs(),
            vec!["config.linkerd.io/admission-webhooks=disabled", "control-plane"]
        );
    }
}
