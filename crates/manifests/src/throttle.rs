//! The throttles other checks propose (a FlowSchema and PriorityLevelConfiguration for an
//! offending client), checked against the cluster's own FlowSchemas: which schema classifies
//! the client's requests today, and whether one the API server consults first would still
//! catch them, so that the throttle would never apply.

use findings::{Finding, Remedy, RemedyKind, Safety};

use crate::Manifests;
use crate::apf::{FlowSchema, Request, classify};
use crate::load::parse_text;

/// The requests a throttle's FlowSchema stands for, one per subject, verb, group, resource and
/// scope (`*` namespace for "any namespace").
fn requests_of(throttle: &FlowSchema) -> Vec<Request> {
    let mut out = Vec::new();
    for rule in &throttle.rules {
        for subject in &rule.subjects {
            let Some((user, groups)) = Request::identity(subject) else { continue };
            for rr in &rule.resource_rules {
                let mut scopes: Vec<Option<String>> = rr.namespaces.iter().map(|n| Some(n.clone())).collect();
                if rr.cluster_scope {
                    scopes.push(None);
                }
                for verb in &rr.verbs {
                    for group in &rr.api_groups {
                        for resource in &rr.resources {
                            for ns in &scopes {
                                out.push(Request {
                                    user: user.clone(),
                                    groups: groups.clone(),
                                    verb: verb.clone(),
                                    api_group: group.clone(),
                                    resource: resource.clone(),
                                    namespace: ns.clone(),
                                });
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

/// What the cluster's FlowSchemas say of one proposed throttle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The throttle's FlowSchema name and precedence.
    pub throttle: (String, u32),
    /// The schema that classifies the client's first request today, with its priority level.
    pub today: Option<(String, u32, String)>,
    /// Schemas consulted before the throttle that match some of its requests: name,
    /// precedence, priority level.
    pub preempted_by: Vec<(String, u32, String)>,
    /// A FlowSchema of the throttle's name exists already.
    pub already_applied: bool,
}

/// Judges the throttle whose YAML (a FlowSchema, with or without its priority level) is
/// `yaml`, against `m`'s FlowSchemas. `None` when the YAML holds no FlowSchema.
pub fn judge(yaml: &str, m: &Manifests) -> Option<Verdict> {
    let mut proposed = Manifests::default();
    parse_text("remedy", yaml, &mut proposed);
    let throttle = proposed.flow_schemas.first()?;
    let existing: Vec<FlowSchema> =
        m.flow_schemas.iter().filter(|fs| fs.name != throttle.name).cloned().collect();
    let requests = requests_of(throttle);
    // Today, a FlowSchema of the throttle's own name (the user's, or one applied before) counts
    // like any other; after applying, the throttle replaces it.
    let today = requests
        .first()
        .and_then(|r| classify(&m.flow_schemas, &m.priority_levels, r))
        .map(|fs| (fs.name.clone(), fs.matching_precedence, fs.priority_level.clone()));
    let mut preempted_by: Vec<(String, u32, String)> = existing
        .iter()
        .filter(|fs| fs.comes_before(throttle) && requests.iter().any(|r| fs.matches(r)))
        .map(|fs| (fs.name.clone(), fs.matching_precedence, fs.priority_level.clone()))
        .collect();
    preempted_by.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    Some(Verdict {
        throttle: (throttle.name.clone(), throttle.matching_precedence),
        today,
        preempted_by,
        already_applied: m.flow_schemas.iter().any(|fs| fs.name == throttle.name),
    })
}

/// The remedy that says what [`judge`] found.
pub fn verdict_remedy(v: &Verdict) -> Remedy {
    let (name, precedence) = &v.throttle;
    let mut body = String::new();
    if let Some((fs, p, pl)) = &v.today {
        body.push_str(&format!(
            "Today these requests are classified by FlowSchema `{fs}` (matchingPrecedence {p}) into priority level `{pl}`. "
        ));
    }
    if v.already_applied {
        body.push_str(&format!(
            "A FlowSchema named `{name}` exists already: applying the YAML replaces its rules, and those of its priority \
             level, with these. Compare them first (`kubectl get flowschema,prioritylevelconfiguration {name} -o yaml`); \
             if it is not an earlier throttle of this client, rename the proposed objects. "
        ));
    }
    let (title, safety) = if let Some((first, p, pl)) = v.preempted_by.first() {
        let others = v.preempted_by.len() - 1;
        body.push_str(&format!(
            "FlowSchema `{first}` (matchingPrecedence {p}, priority level `{pl}`) also matches them and the API server consults it before the throttle's `{name}` (matchingPrecedence {precedence}), so the throttle would not apply{}. Set the throttle's matchingPrecedence below {p} (above 2, the bootstrap `probes`), or narrow `{first}`.",
            if others > 0 { format!(" ({others} more FlowSchemas come first too)") } else { String::new() }
        ));
        (
            format!("The cluster's FlowSchema {first} would catch these requests before the throttle"),
            Safety::ReviewFirst,
        )
    } else {
        body.push_str(&format!(
            "The throttle's FlowSchema `{name}` (matchingPrecedence {precedence}) comes before every FlowSchema given that matches these requests: it takes effect."
        ));
        let safety = if v.already_applied { Safety::ReviewFirst } else { Safety::Safe };
        ("Checked against the cluster's FlowSchemas: the throttle takes effect".to_owned(), safety)
    };
    Remedy { title, kind: RemedyKind::Advice, body, safety }
}

/// Adds, after each throttle remedy of `findings`, what the FlowSchemas of `m` say of it.
/// Nothing is added when `m` holds no FlowSchema.
pub fn verify_throttles(findings: &mut [Finding], m: &Manifests) {
    if m.flow_schemas.is_empty() {
        return;
    }
    for f in findings {
        let mut i = 0;
        while i < f.remedies.len() {
            let r = &f.remedies[i];
            if r.kind == RemedyKind::Yaml
                && r.body.contains("kind: FlowSchema")
                && let Some(v) = judge(&r.body, m)
            {
                f.remedies.insert(i + 1, verdict_remedy(&v));
                i += 1;
            }
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use remedy::{ApfSubject, FlowControlApi, ResourceRule as Rule, ThrottlePlan, throttle_manifests};

    fn bootstrap() -> Manifests {
        let mut m = Manifests::default();
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/apf/k8s-bootstrap-apf-objects_v1.34plus.yaml"
        ))
        .expect("fixture");
        parse_text("apf.yaml", &text, &mut m);
        m
    }

    fn throttle_yaml() -> String {
        let plan = ThrottlePlan::new(
            "inventory-exporter",
            vec![ApfSubject::from_username("system:serviceaccount:observability:inventory-exporter")],
            vec![Rule {
                verbs: ["list".to_owned()].into(),
                api_groups: ["".to_owned()].into(),
                resources: ["pods".to_owned()].into(),
                cluster_scope: true,
                namespaces: ["*".to_owned()].into(),
            }],
        );
        throttle_manifests(&plan, FlowControlApi::V1).expect("yaml")
    }

    #[test]
    fn the_generated_throttle_comes_before_the_bootstrap_schemas() {
        let v = judge(&throttle_yaml(), &bootstrap()).expect("a FlowSchema");
        assert_eq!(v.throttle, ("throttle-inventory-exporter".to_owned(), 90));
        assert_eq!(v.today, Some(("service-accounts".to_owned(), 9000, "workload-low".to_owned())));
        assert!(v.preempted_by.is_empty());
        assert!(!v.already_applied);
        let r = verdict_remedy(&v);
        assert_eq!(r.safety, Safety::Safe);
        assert!(r.body.starts_with("Today these requests are classified by FlowSchema `service-accounts`"));
    }

    #[test]
    fn a_schema_consulted_first_that_exempts_the_client_is_named() {
        let mut m = bootstrap();
        parse_text(
            "exempt.yaml",
            "apiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: FlowSchema\nmetadata:\n  name: observability-exempt\nspec:\n  matchingPrecedence: 50\n  priorityLevelConfiguration:\n    name: exempt\n  rules:\n  - subjects:\n    - kind: Group\n      group:\n        name: system:serviceaccounts:observability\n    resourceRules:\n    - verbs: ['*']\n      apiGroups: ['*']\n      resources: ['*']\n      clusterScope: true\n      namespaces: ['*']\n",
            &mut m,
        );
        let v = judge(&throttle_yaml(), &m).expect("a FlowSchema");
        assert_eq!(v.today, Some(("observability-exempt".to_owned(), 50, "exempt".to_owned())));
        assert_eq!(v.preempted_by, vec![("observability-exempt".to_owned(), 50, "exempt".to_owned())]);
        let r = verdict_remedy(&v);
        assert_eq!(r.safety, Safety::ReviewFirst);
        assert_eq!(
            r.title,
            "The cluster's FlowSchema observability-exempt would catch these requests before the throttle"
        );
        assert!(r.body.contains("Set the throttle's matchingPrecedence below 50"), "{}", r.body);
    }

    #[test]
    fn the_verdict_follows_each_throttle_remedy_and_nothing_else_changes() {
        let mut findings = vec![Finding {
            code: "AUD004".into(),
            severity: findings::Severity::Warning,
            title: "t".into(),
            subject: findings::Subject::new("client", "inventory-exporter"),
            time_range: None,
            summary: String::new(),
            evidence: findings::Evidence::default(),
            thresholds: Vec::new(),
            remedies: vec![
                Remedy {
                    title: "throttle".into(),
                    kind: RemedyKind::Yaml,
                    body: throttle_yaml(),
                    safety: Safety::ReviewFirst,
                },
                Remedy {
                    title: "advice".into(),
                    kind: RemedyKind::Advice,
                    body: "paginate".into(),
                    safety: Safety::Safe,
                },
            ],
        }];
        verify_throttles(&mut findings, &Manifests::default());
        assert_eq!(findings[0].remedies.len(), 2, "no FlowSchemas given: nothing added");
        verify_throttles(&mut findings, &bootstrap());
        let titles: Vec<&str> = findings[0].remedies.iter().map(|r| r.title.as_str()).collect();
        assert_eq!(
            titles,
            vec![
                "throttle",
                "Checked against the cluster's FlowSchemas: the throttle takes effect",
                "advice"
            ]
        );
    }
}
