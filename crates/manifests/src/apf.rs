//! API Priority and Fairness objects: FlowSchemas and PriorityLevelConfigurations, the fields
//! the checks read, in every `flowcontrol.apiserver.k8s.io` version.

use serde_json::Value;

use crate::selector::kind_of;

/// Priority levels every API server creates (mandatory: `exempt`, `catch-all`; suggested: the
/// others), so a FlowSchema naming them is never dangling even when they are not listed.
pub const BOOTSTRAP_PRIORITY_LEVELS: [&str; 8] = [
    "exempt",
    "catch-all",
    "system",
    "node-high",
    "leader-election",
    "workload-high",
    "workload-low",
    "global-default",
];

/// Who a FlowSchema rule is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowSubject {
    /// A user name (`*` for every user).
    User(String),
    /// A group name.
    Group(String),
    /// A service account (`*` as the name for every one of the namespace).
    ServiceAccount {
        /// Its namespace.
        namespace: String,
        /// Its name, or `*`.
        name: String,
    },
}

impl FlowSubject {
    /// `group system:authenticated`, `service account ns/*`, `user alice`.
    pub fn describe(&self) -> String {
        match self {
            FlowSubject::User(n) => format!("user {n}"),
            FlowSubject::Group(n) => format!("group {n}"),
            FlowSubject::ServiceAccount { namespace, name } => format!("service account {namespace}/{name}"),
        }
    }

    /// Whether it stands for many identities: a group, every user, every service account of a
    /// namespace.
    pub fn is_broad(&self) -> bool {
        match self {
            FlowSubject::User(n) => n == "*",
            FlowSubject::Group(_) => true,
            FlowSubject::ServiceAccount { name, .. } => name == "*",
        }
    }
}

/// One `rules` item of a FlowSchema.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowRule {
    /// Its subjects.
    pub subjects: Vec<FlowSubject>,
    /// The resources of its `resourceRules`, over all of them (`*` for every resource).
    pub resources: Vec<String>,
    /// Whether it has `nonResourceRules`.
    pub non_resource: bool,
}

/// A `FlowSchema`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowSchema {
    /// `metadata.name`.
    pub name: String,
    /// `spec.matchingPrecedence` (1000 when absent).
    pub matching_precedence: u32,
    /// `spec.priorityLevelConfiguration.name`.
    pub priority_level: String,
    /// `spec.rules`.
    pub rules: Vec<FlowRule>,
    /// The file it came from.
    pub file: String,
    /// The line its object starts at.
    pub line: usize,
}

/// A `PriorityLevelConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorityLevel {
    /// `metadata.name`.
    pub name: String,
    /// `spec.type` is `Exempt`: its requests are never queued or rejected.
    pub exempt: bool,
    /// The file it came from.
    pub file: String,
    /// The line its object starts at.
    pub line: usize,
}

fn name_of(v: &Value) -> Result<String, String> {
    v.pointer("/metadata/name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| "metadata.name: missing".to_owned())
}

/// Reads a FlowSchema object; `Err` names the field.
pub fn parse_flow_schema(v: &Value, file: &str, line: usize) -> Result<FlowSchema, String> {
    let name = name_of(v)?;
    let spec = v.get("spec").ok_or("spec: missing")?;
    let matching_precedence = match spec.get("matchingPrecedence") {
        None | Some(Value::Null) => 1000,
        Some(p) => p
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| format!("spec.matchingPrecedence: expected a whole number, got {p}"))?,
    };
    let priority_level = spec
        .pointer("/priorityLevelConfiguration/name")
        .and_then(Value::as_str)
        .ok_or("spec.priorityLevelConfiguration.name: missing")?
        .to_owned();
    let mut rules = Vec::new();
    match spec.get("rules") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, r) in items.iter().enumerate() {
                rules.push(parse_rule(r).map_err(|e| format!("spec.rules[{i}].{e}"))?);
            }
        }
        Some(other) => return Err(format!("spec.rules: expected a list, got {}", kind_of(other))),
    }
    Ok(FlowSchema { name, matching_precedence, priority_level, rules, file: file.to_owned(), line })
}

fn parse_rule(r: &Value) -> Result<FlowRule, String> {
    let mut out = FlowRule::default();
    match r.get("subjects") {
        None | Some(Value::Null) => {}
        Some(Value::Array(subjects)) => {
            for (i, s) in subjects.iter().enumerate() {
                let at = |f: &str| format!("subjects[{i}].{f}");
                let field = |path: &str| s.pointer(path).and_then(Value::as_str).map(str::to_owned);
                let subject = match s.get("kind").and_then(Value::as_str) {
                    Some("User") => {
                        FlowSubject::User(field("/user/name").ok_or_else(|| at("user.name: missing"))?)
                    }
                    Some("Group") => {
                        FlowSubject::Group(field("/group/name").ok_or_else(|| at("group.name: missing"))?)
                    }
                    Some("ServiceAccount") => FlowSubject::ServiceAccount {
                        namespace: field("/serviceAccount/namespace")
                            .ok_or_else(|| at("serviceAccount.namespace: missing"))?,
                        name: field("/serviceAccount/name")
                            .ok_or_else(|| at("serviceAccount.name: missing"))?,
                    },
                    Some(other) => {
                        return Err(at(&format!("kind: {other:?} is not User, Group or ServiceAccount")));
                    }
                    None => return Err(at("kind: missing")),
                };
                out.subjects.push(subject);
            }
        }
        Some(other) => return Err(format!("subjects: expected a list, got {}", kind_of(other))),
    }
    if let Some(Value::Array(rrs)) = r.get("resourceRules") {
        for rr in rrs {
            if let Some(Value::Array(rs)) = rr.get("resources") {
                out.resources.extend(rs.iter().filter_map(Value::as_str).map(str::to_owned));
            }
        }
    }
    out.non_resource = matches!(r.get("nonResourceRules"), Some(Value::Array(a)) if !a.is_empty());
    Ok(out)
}

/// Reads a PriorityLevelConfiguration object; `Err` names the field.
pub fn parse_priority_level(v: &Value, file: &str, line: usize) -> Result<PriorityLevel, String> {
    let name = name_of(v)?;
    let exempt = match v.pointer("/spec/type") {
        Some(Value::String(t)) if t == "Exempt" => true,
        Some(Value::String(t)) if t == "Limited" => false,
        Some(other) => return Err(format!("spec.type: expected Exempt or Limited, got {other}")),
        None => return Err("spec.type: missing".to_owned()),
    };
    Ok(PriorityLevel { name, exempt, file: file.to_owned(), line })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flow_schemas_read_their_subjects_rules_and_defaults() {
        let v = json!({"metadata": {"name": "fs"}, "spec": {
            "priorityLevelConfiguration": {"name": "pl"},
            "rules": [{"subjects": [
                {"kind": "Group", "group": {"name": "system:authenticated"}},
                {"kind": "ServiceAccount", "serviceAccount": {"namespace": "ns", "name": "*"}},
                {"kind": "User", "user": {"name": "alice"}}
            ], "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["pods", "*"]}],
               "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}]}]}});
        let fs = parse_flow_schema(&v, "f", 1).expect("valid");
        assert_eq!(fs.matching_precedence, 1000);
        assert_eq!(fs.priority_level, "pl");
        let broad: Vec<bool> = fs.rules[0].subjects.iter().map(FlowSubject::is_broad).collect();
        assert_eq!(broad, vec![true, true, false]);
        assert_eq!(fs.rules[0].resources, vec!["pods", "*"]);
        assert!(fs.rules[0].non_resource);
        let bad = json!({"metadata": {"name": "fs"}, "spec": {"priorityLevelConfiguration": {"name": "pl"},
            "rules": [{"subjects": [{"kind": "Robot"}]}]}});
        assert_eq!(
            parse_flow_schema(&bad, "f", 1).expect_err("bad"),
            "spec.rules[0].subjects[0].kind: \"Robot\" is not User, Group or ServiceAccount"
        );
        let pl =
            parse_priority_level(&json!({"metadata": {"name": "e"}, "spec": {"type": "Exempt"}}), "f", 1);
        assert!(pl.expect("valid").exempt);
        assert!(
            parse_priority_level(&json!({"metadata": {"name": "e"}, "spec": {"type": 3}}), "f", 1).is_err()
        );
    }
}
