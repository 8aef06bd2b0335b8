//! APF001 flow-schema-dangling: FlowSchemas whose priority level does not exist.

use findings::{
    CheckInfo, Draft, EvidenceKind, Finding, Measure, Remedy, RemedyKind, Safety, Severity, Subject,
};

use super::Context;
use crate::Manifests;
use crate::apf::level_exists;

/// APF001.
pub const INFO: CheckInfo = CheckInfo {
    code: "APF001",
    name: "flow-schema-dangling",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::Manifests,
    thresholds: &[],
    doc: r#"## What it detects
FlowSchemas whose `priorityLevelConfiguration` names a priority level that is neither among
the PriorityLevelConfigurations given nor one the API server always creates (`exempt`,
`catch-all`, `system`, `node-high`, `leader-election`, `workload-high`, `workload-low`,
`global-default`).

It runs only when the manifests hold at least one PriorityLevelConfiguration, so that a file
with FlowSchemas alone is not judged incomplete.

## Why it matters
The API server ignores a FlowSchema whose priority level it cannot find (its status says
`Dangling`): the requests it was written for fall through to the next FlowSchema, often
`service-accounts`, `global-default` or `catch-all`. A throttle applied with a typo in the
level's name throttles nothing, and a client meant to get its own seats shares everyone's.

## Example
FlowSchema `throttle-sa-observability.inventory-exporter` names priority level
`throttle-sa-observability.inventory-exporter`,
which was never created.

## Remedy
Create the priority level (apply the PriorityLevelConfiguration that came with the
FlowSchema) or point the FlowSchema at an existing one; then check `kubectl get flowschema
NAME -o jsonpath='{.status.conditions}'` no longer says `Dangling`.

## References
- Kubernetes: API Priority and Fairness, FlowSchema (a reference that cannot be resolved makes the FlowSchema ignored): https://kubernetes.io/docs/concepts/cluster-administration/flow-control/
- Kubernetes API reference, FlowSchemaSpec.priorityLevelConfiguration: https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/flow-schema-v1/
"#,
};

/// Runs APF001.
pub fn run(m: &Manifests, ctx: &Context, out: &mut Vec<Finding>) {
    if m.priority_levels.is_empty() {
        return;
    }
    for fs in &m.flow_schemas {
        // The rule the classification and the throttle's check use too.
        if level_exists(fs, &m.priority_levels) {
            continue;
        }
        let mut levels: Vec<&str> = m.priority_levels.iter().map(|pl| pl.name.as_str()).collect();
        levels.sort_unstable();
        levels.dedup();
        let shown =
            if levels.len() > 12 { format!("{}, …", levels[..12].join(", ")) } else { levels.join(", ") };
        out.push(Draft {
            severity: Severity::Warning,
            title: format!(
                "FlowSchema {} is ignored: its priority level {} does not exist",
                fs.name, fs.priority_level
            ),
            subject: Subject::new("flow-schema", fs.name.clone()),
            summary: format!(
                "FlowSchema `{}` (matchingPrecedence {}) sends its requests to priority level `{}`, which is not among the {} priority levels given ({}) nor one the API server creates. The API server ignores the FlowSchema: the requests it was written for are classified by the next FlowSchema that matches them.",
                findings::text::literal_backticks(&fs.name),
                fs.matching_precedence,
                findings::text::literal_backticks(&fs.priority_level),
                levels.len(),
                shown
            ),
            source: format!("manifests:{}:{}", fs.file, fs.line),
            measures: vec![
                Measure::new("matchingPrecedence", f64::from(fs.matching_precedence), "count"),
                Measure::new("priority levels given", levels.len() as f64, "count"),
            ],
            table: None,
            thresholds: Vec::new(),
            remedies: vec![
                Remedy {
                    title: format!("Check whether the cluster marks {} dangling", fs.name),
                    kind: RemedyKind::Command,
                    body: format!(
                        "kubectl get flowschema {} -o jsonpath='{{range .status.conditions[*]}}{{.type}}={{.status}}: {{.message}}{{\"\\n\"}}{{end}}'\nkubectl get prioritylevelconfigurations",
                        remedy::shell_quote(&fs.name)
                    ),
                    safety: Safety::Safe,
                },
                Remedy {
                    title: format!("Create priority level {} or point the FlowSchema at an existing one", fs.priority_level),
                    kind: RemedyKind::Advice,
                    body: format!(
                        "Apply the PriorityLevelConfiguration named {} that belongs with this FlowSchema (apiserver-doctor writes both together in its throttling remedies), or fix the name: kubectl patch flowschema {} --type=merge -p '{{\"spec\":{{\"priorityLevelConfiguration\":{{\"name\":\"LEVEL\"}}}}}}'.",
                        remedy::one_line(&fs.priority_level),
                        remedy::shell_quote(&fs.name)
                    ),
                    safety: Safety::ReviewFirst,
                },
            ],
        }
        .into_finding(&INFO, &ctx.thresholds));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::parse_text;

    const OBJECTS: &str = "apiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: PriorityLevelConfiguration\nmetadata:\n  name: mine\nspec:\n  type: Limited\n---\napiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: FlowSchema\nmetadata:\n  name: uses-mine\nspec:\n  priorityLevelConfiguration:\n    name: mine\n---\napiVersion: flowcontrol.apiserver.k8s.io/v1beta3\nkind: FlowSchema\nmetadata:\n  name: uses-builtin\nspec:\n  priorityLevelConfiguration:\n    name: workload-low\n---\napiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: FlowSchema\nmetadata:\n  name: typo\nspec:\n  matchingPrecedence: 90\n  priorityLevelConfiguration:\n    name: mnie\n";

    fn findings(text: &str) -> Vec<Finding> {
        let mut m = Manifests::default();
        parse_text("apf.yaml", text, &mut m);
        let mut out = Vec::new();
        run(&m, &Context::default(), &mut out);
        out
    }

    #[test]
    fn a_flow_schema_naming_a_missing_level_is_reported_and_the_others_are_not() {
        let out = findings(OBJECTS);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].title, "FlowSchema typo is ignored: its priority level mnie does not exist");
        assert_eq!(out[0].evidence.source, "manifests:apf.yaml:24");
        assert!(out[0].summary.contains("(matchingPrecedence 90)"));
    }

    #[test]
    fn flow_schemas_alone_are_not_judged() {
        let only_schemas: String = OBJECTS.split("---\n").skip(1).collect::<Vec<_>>().join("---\n");
        assert!(findings(&only_schemas).is_empty());
    }
}
